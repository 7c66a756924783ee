# fa-check's fuzz inputs as CTest tests of every build: the regression
# inputs (tests/fuzz/regress/check_*, each a failure a fuzzer once found)
# and the corpora (tests/fuzz/corpus/check_*), run through the targets'
# entry points by the plain replay driver of tests/fuzz, without libFuzzer.
# The grammar inputs of the source corpus compare fa-check's FA702 and
# FA604 findings with the generator's oracle, so they test the analysis
# too. Included from tests/CMakeLists.txt when fc_core exists.
find_package(Threads REQUIRED)
set(FC_REPLAY_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(FC_REPLAY_FUZZ ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
get_filename_component(FC_REPLAY_ROOT ${CMAKE_CURRENT_LIST_DIR}/../../..
  ABSOLUTE)

add_executable(fc_replay_check_config ${FC_REPLAY_FUZZ}/replay.c
  ${FC_REPLAY_DIR}/fuzz_check_config.c)
add_executable(fc_replay_check_source ${FC_REPLAY_FUZZ}/replay.c
  ${FC_REPLAY_DIR}/fuzz_check_source.c ${FC_REPLAY_DIR}/fc_gen.c)
foreach(t fc_replay_check_config fc_replay_check_source)
  target_compile_definitions(${t} PRIVATE
    FC_FUZZ_INCLUDE="${FC_REPLAY_ROOT}/include")
  target_link_libraries(${t} PRIVATE fc_core Threads::Threads)
endforeach()

foreach(kind config source)
  foreach(set regress corpus)
    set(dir ${FC_REPLAY_FUZZ}/${set}/check_${kind})
    if(NOT IS_DIRECTORY ${dir})
      continue()
    endif()
    add_test(NAME fuzz_check_${kind}_${set}
      COMMAND fc_replay_check_${kind} ${dir})
    set_tests_properties(fuzz_check_${kind}_${set} PROPERTIES
      LABELS "check;fuzz" TIMEOUT 300
      FAIL_REGULAR_EXPRESSION
      "ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:")
  endforeach()
endforeach()
