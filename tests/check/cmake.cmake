# fa-check in a consumer's build (tests/check/cmake/): framealloc_check() of
# the installed package, and fa-check as CMAKE_C_CLANG_TIDY with and without
# -p. Each builds a project with a planted FA702 (must fail at that line),
# then with the fix (must pass). They use the installation that
# install_consumer makes.
if(NOT UNIX)
  return()
endif()
foreach(mode function tidy tidy-p)
  add_test(NAME fc_cmake_${mode}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cmake/run.sh
            ${PROJECT_BINARY_DIR}/integration/prefix ${mode}
            ${CMAKE_CURRENT_BINARY_DIR}/cmake-${mode})
  set_tests_properties(fc_cmake_${mode} PROPERTIES
    ENVIRONMENT "${fa_integration_env}"
    FIXTURES_REQUIRED fa_installed
    RESOURCE_LOCK fa_integration_prefix
    LABELS check
    TIMEOUT 300)
endforeach()
