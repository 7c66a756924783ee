# Every example that is built, run with FA_TRACE; its traces are checked
# by tests/trace/run.py (included from examples/CMakeLists.txt, where the
# example targets exist).
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR WIN32)
  return()
endif()
set(fa_trace_dir ${PROJECT_BINARY_DIR}/tests/traces)
set(fa_trace_run ${PROJECT_SOURCE_DIR}/tests/trace/run.py)
set(fa_trace_report "ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:")
foreach(ex game_loop task_jobs cpp_game_loop uv_game_loop)
  if(TARGET ${ex})
    set(fa_min)
    if(ex STREQUAL "game_loop")
      set(fa_min --min-frames 600)
    endif()
    add_test(NAME trace_example_${ex} COMMAND ${Python3_EXECUTABLE}
      ${fa_trace_run} example $<TARGET_FILE:${ex}> ${fa_trace_dir} ${fa_min})
    set_tests_properties(trace_example_${ex} PROPERTIES LABELS threads
      TIMEOUT 120 FAIL_REGULAR_EXPRESSION "${fa_trace_report}")
  endif()
endforeach()
