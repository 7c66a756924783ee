# The public headers in MSVC mode, checked with clang (tests/msvc/check.sh);
# skipped when clang is missing.
find_program(FA_CLANG NAMES clang clang-14)
add_test(NAME test_msvc_headers
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh ${FA_CLANG})
set_tests_properties(test_msvc_headers PROPERTIES SKIP_RETURN_CODE 77
  TIMEOUT ${FA_TEST_TIMEOUT})
