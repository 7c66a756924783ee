# The trace tools: tools/fa_trace.py (reading, checking and summarising a
# trace) and tools/fa-plot (a trace as an SVG), on the recorded fixtures of
# tests/trace/fixtures and on variants made by the test: killed traces,
# each schema violation, the summary against what the fixtures were made to
# show. One CTest test per group of test_trace.py, labelled "trace"; they
# need only python3, and trace_plot also matplotlib (python3-matplotlib,
# installed by scripts/deps.sh): without it the test is skipped.
# They test Python scripts, the same in every build of the library, so
# only the builds without sanitizers or debug levels register them (in
# `make test`: the Release build).
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR FA_SANITIZE OR FA_DEBUG GREATER 0)
  return()
endif()
set(fa_trace_tests)
foreach(group fixtures reader schema summary plot)
  add_test(NAME trace_${group} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/test_trace.py
    --tools ${PROJECT_SOURCE_DIR}/tools
    --fixtures ${CMAKE_CURRENT_LIST_DIR}/fixtures ${group})
  list(APPEND fa_trace_tests trace_${group})
endforeach()
# Each runs Python a few dozen times, trace_plot matplotlib five times: a
# few seconds of CPU, minutes on a busy host.
set_tests_properties(${fa_trace_tests} PROPERTIES LABELS trace
  TIMEOUT 600 SKIP_RETURN_CODE 77)
