# Run-time and static agreement: each program of agree/ holds one mistake,
# marked `// expect: FA70x` (or FA604) on the line fa-check reports, or
# none (silent_*.c: neither side may report anything).
#
# Static side, in every build: the program is a fixture of the precision
# check (fc_fixture_agree_NAME): the findings are exactly its expect
# comments.
#
# Run-time side, when the library is built with debug checks and ASan: the
# program is built against it and run (fc_agree_NAME); agree/agree.py checks
# that the line fa-check reports is the line AddressSanitizer stops at (use
# after poison, FA702 and FA604) or where the library raises FA701. Other
# builds (no ASan, or FA_DEBUG=0) run the static side only.
set(FC_AGREE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/agree)
file(GLOB FC_AGREE_SOURCES RELATIVE ${FC_AGREE_DIR}
  CONFIGURE_DEPENDS ${FC_AGREE_DIR}/*.c ${FC_AGREE_DIR}/*.cpp)

set(fc_agree_run OFF)
if(FA_SANITIZE STREQUAL "address" AND FA_DEBUG GREATER_EQUAL 1)
  set(fc_agree_run ON)
  find_package(Threads REQUIRED)
endif()

foreach(source IN LISTS FC_AGREE_SOURCES)
  string(REGEX REPLACE "\\.(c|cpp)$" "" name ${source})
  # Programs on libuv (*_uv.c) need framealloc::uv.
  if(name MATCHES "_uv$" AND NOT TARGET framealloc::uv)
    continue()
  endif()
  add_test(NAME fc_fixture_agree_${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/run_fixtures.py
      --fa-check ${FC_BIN} --include ${FC_FRAMEALLOC_INCLUDE}
      --fixtures ${FC_AGREE_DIR} ${source})
  set_tests_properties(fc_fixture_agree_${name} PROPERTIES LABELS check
    TIMEOUT ${FA_TEST_TIMEOUT}
    FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
  if(NOT fc_agree_run)
    continue()
  endif()

  # The code under test: the one `// expect:` of the program, or none for
  # a program without a mistake, on which both sides must stay silent.
  file(STRINGS ${FC_AGREE_DIR}/${source} fc_expect REGEX "// expect: FA[0-9]+")
  list(LENGTH fc_expect fc_count)
  if(fc_count EQUAL 0)
    set(fc_code none)
  elseif(fc_count EQUAL 1)
    string(REGEX MATCH "FA[0-9]+" fc_code "${fc_expect}")
  else()
    message(FATAL_ERROR "agree/${source} has ${fc_count} `// expect:` "
      "lines; an agreement program holds at most one mistake")
  endif()

  if(source MATCHES "\\.cpp$" AND NOT CMAKE_CXX_COMPILER)
    continue()
  endif()
  add_executable(fc_agree_${name} ${FC_AGREE_DIR}/${source})
  target_link_libraries(fc_agree_${name} PRIVATE framealloc::framealloc
    Threads::Threads)
  if(name MATCHES "_uv$")
    target_link_libraries(fc_agree_${name} PRIVATE framealloc::uv)
  endif()
  if(source MATCHES "\\.cpp$") # the C++ programs: coroutines need C++20
    set_target_properties(fc_agree_${name} PROPERTIES CXX_STANDARD 20
      CXX_STANDARD_REQUIRED ON)
  endif()
  add_test(NAME fc_agree_${name}
    COMMAND ${Python3_EXECUTABLE} ${FC_AGREE_DIR}/agree.py
      --fa-check ${FC_BIN} --include ${FC_FRAMEALLOC_INCLUDE}
      --source ${FC_AGREE_DIR}/${source} --code ${fc_code}
      --program $<TARGET_FILE:fc_agree_${name}>)
  # The program dies on purpose with a sanitizer report, and agree.py
  # checks which one: no FAIL_REGULAR_EXPRESSION on sanitizer reports.
  set_tests_properties(fc_agree_${name} PROPERTIES LABELS check
    TIMEOUT ${FA_TEST_TIMEOUT})
endforeach()
