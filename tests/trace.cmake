# Trace tests (see tests/trace/run.py). Python 3 is needed; without it the
# tests are left out with a note.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "framealloc: no python3, the trace tests are left out")
  return()
endif()

add_executable(trace_prog trace_prog.c)
target_link_libraries(trace_prog PRIVATE framealloc::framealloc
  Threads::Threads)
if(WIN32)
  return() # the driver kills with SIGKILL and runs POSIX paths
endif()

set(fa_trace_dir ${CMAKE_CURRENT_BINARY_DIR}/traces)
set(fa_trace_run ${CMAKE_CURRENT_SOURCE_DIR}/trace/run.py)
foreach(mode basic exit killed unwritable)
  add_test(NAME trace_${mode} COMMAND ${Python3_EXECUTABLE} ${fa_trace_run}
    ${mode} $<TARGET_FILE:trace_prog> ${fa_trace_dir})
  set_tests_properties(trace_${mode} PROPERTIES TIMEOUT ${FA_TEST_TIMEOUT}
    FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
endforeach()
set_tests_properties(trace_basic trace_killed PROPERTIES LABELS threads)
# trace_prog exit leaves its allocator to the process's end on purpose.
set_tests_properties(trace_exit PROPERTIES
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")

# The examples' traces are tested in examples/CMakeLists.txt, which
# includes trace_examples.cmake once they are defined.
