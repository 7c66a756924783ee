# fa-check's command line, configuration and inputs: usage errors, broken
# compile databases, files that do not parse, malformed fa-check.toml (and a
# mutation test of its parser), init/explain/list, -j determinism, levels
# and suppression comments, and the examples of docs/fa-check.md and
# docs/async.md giving the findings they claim. One CTest test per group of test_cli.py.
set(fc_cli_dir ${CMAKE_CURRENT_SOURCE_DIR}/cli)
set(fc_cli_tests)
foreach(group usage inputs parallel config config_fuzz levels docs
    baseline cache fixes)
  add_test(NAME fc_cli_${group} COMMAND ${Python3_EXECUTABLE}
    ${fc_cli_dir}/test_cli.py --bin ${FC_BIN}
    --include ${FC_FRAMEALLOC_INCLUDE}
    --docs ${PROJECT_SOURCE_DIR}/docs/fa-check.md ${group})
  list(APPEND fc_cli_tests fc_cli_${group})
endforeach()
# The async guide's examples obey the same convention.
add_test(NAME fc_cli_docs_async COMMAND ${Python3_EXECUTABLE}
  ${fc_cli_dir}/test_cli.py --bin ${FC_BIN} --include ${FC_FRAMEALLOC_INCLUDE}
  --docs ${PROJECT_SOURCE_DIR}/docs/async.md docs)
list(APPEND fc_cli_tests fc_cli_docs_async)
# The CI jobs of docs/ci.md: YAML, and their fa-check commands run.
add_test(NAME fc_cli_docs_ci COMMAND ${Python3_EXECUTABLE}
  ${fc_cli_dir}/test_cli.py --bin ${FC_BIN} --include ${FC_FRAMEALLOC_INCLUDE}
  --docs ${PROJECT_SOURCE_DIR}/docs/ci.md docs_ci)
list(APPEND fc_cli_tests fc_cli_docs_ci)
set_tests_properties(${fc_cli_tests} PROPERTIES LABELS check
  TIMEOUT ${FA_TEST_TIMEOUT} FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
