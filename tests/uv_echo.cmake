# The load test of the uv_echo example: test_uv_echo starts the server on an
# ephemeral port, connects its clients, checks every echoed byte and the
# server's final statistics. Included when framealloc::uv is built; without
# the examples, the server is built here from the same source.
if(FA_BUILD_EXAMPLES)
  set(fa_echo_server uv_echo)
else()
  set(fa_echo_server test_uv_echo_server)
  add_executable(${fa_echo_server} ${PROJECT_SOURCE_DIR}/examples/uv_echo.c)
  target_link_libraries(${fa_echo_server} PRIVATE framealloc::uv)
endif()

add_executable(test_uv_echo test_uv_echo.c)
target_link_libraries(test_uv_echo PRIVATE framealloc::uv fa_testutil m)
target_compile_definitions(test_uv_echo PRIVATE
  "FA_UV_ECHO_SERVER=\"$<TARGET_FILE:${fa_echo_server}>\"")
add_dependencies(test_uv_echo ${fa_echo_server})
# One CTest test per case, so that each one reports on its own.
foreach(case load sigterm_under_load sigint)
  add_test(NAME test_uv_echo_${case} COMMAND test_uv_echo ${case})
  set_tests_properties(test_uv_echo_${case} PROPERTIES LABELS threads
    TIMEOUT ${FA_TEST_TIMEOUT} FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
endforeach()
