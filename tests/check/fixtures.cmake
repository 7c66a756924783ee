# The fixture corpus of fa-check's analysis: one CTest test per fixture
# file or fixture group (a directory analysed in one run). Each compares
# the findings of every family (--all) with the `// expect: FA7xx` and
# `// expect: FA6xx` comments of the fixture.
set(FC_FIXTURE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fixtures)
file(GLOB FC_FIXTURES RELATIVE ${FC_FIXTURE_DIR}
  CONFIGURE_DEPENDS ${FC_FIXTURE_DIR}/*)
foreach(fixture IN LISTS FC_FIXTURES)
  if(NOT fixture MATCHES "\\.(c|cpp)$" AND NOT IS_DIRECTORY
      ${FC_FIXTURE_DIR}/${fixture})
    continue()
  endif()
  string(REGEX REPLACE "\\.(c|cpp)$" "" name ${fixture})
  add_test(NAME fc_fixture_${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/run_fixtures.py
      --fa-check ${FC_BIN} --include ${FC_FRAMEALLOC_INCLUDE}
      --fixtures ${FC_FIXTURE_DIR} ${fixture})
  set_tests_properties(fc_fixture_${name} PROPERTIES LABELS check
    TIMEOUT ${FA_TEST_TIMEOUT} FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
endforeach()
