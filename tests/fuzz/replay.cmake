# The allocator fuzzer's inputs as CTest tests of every build, through a
# plain driver (no libFuzzer, any compiler): the regression inputs (each a
# crash the fuzzer once found) and the corpus. Included from
# tests/CMakeLists.txt, after the framealloc target exists, and by the fuzz
# build (scripts/fuzz-coverage.sh measures coverage with the driver).
if(TARGET fa_replay_alloc)
  return() # included already (tests/ and the fuzz build both include it)
endif()
set(FA_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
find_package(Threads REQUIRED)
add_executable(fa_replay_alloc ${FA_FUZZ_DIR}/replay.c
  ${FA_FUZZ_DIR}/fuzz_alloc.c ${FA_FUZZ_DIR}/fuzz_source.c)
target_link_libraries(fa_replay_alloc PRIVATE framealloc::framealloc
  Threads::Threads)
target_compile_definitions(fa_replay_alloc PRIVATE FA_DEBUG=${FA_DEBUG})
# The corpus replays some 600 inputs: two and a half test timeouts.
set(fa_replay_timeout 300)
if(DEFINED FA_TEST_TIMEOUT)
  math(EXPR fa_replay_timeout "${FA_TEST_TIMEOUT} * 5 / 2")
endif()
foreach(fa_set regress corpus)
  add_test(NAME fuzz_alloc_${fa_set}
    COMMAND fa_replay_alloc ${FA_FUZZ_DIR}/${fa_set}/alloc)
  # The inputs start threads: the TSan build runs them too (-L threads).
  set_tests_properties(fuzz_alloc_${fa_set} PROPERTIES LABELS "threads;fuzz"
    TIMEOUT ${fa_replay_timeout} FAIL_REGULAR_EXPRESSION
    "ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:")
endforeach()
