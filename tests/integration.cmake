# Integration tests, included by tests/CMakeLists.txt (and the API
# reference's check, just below):
#   install_consumer  installs the build tree into a scratch prefix and builds
#                     consumers of it (CMake package and pkg-config);
#   embed_consumer    builds a consumer project that embeds the source tree
#                     with add_subdirectory and with FetchContent;
#   docs_code         compiles, and runs where they have a main, the C and
#                     C++ blocks of README.md and docs/*.md against that
#                     installation.
# Both need a POSIX shell. When the library is built with sanitizers, their
# flags (FA_SAN_FLAGS) are passed on, since every program linked with an
# instrumented library must be instrumented too.
# docs_api: docs/api.md names every public symbol of the C headers and
# nothing else (tests/docs/check_api.py); docs_api_selftest: that check
# fails, naming the symbol, on each kind of mismatch.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME docs_api COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/docs/check_api.py
    --include ${PROJECT_SOURCE_DIR}/include
    --doc ${PROJECT_SOURCE_DIR}/docs/api.md)
  add_test(NAME docs_api_selftest COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/docs/check_api.py --self-test)
  set_tests_properties(docs_api docs_api_selftest PROPERTIES TIMEOUT 60)
endif()

if(NOT UNIX)
  return()
endif()

set(FA_INTEGRATION_DIR ${PROJECT_BINARY_DIR}/integration)
string(REPLACE ";" " " fa_integration_flags "${FA_SAN_FLAGS}")
set(fa_integration_env
  "CC=${CMAKE_C_COMPILER}"
  "CXX=${CMAKE_CXX_COMPILER}"
  "CMAKE=${CMAKE_COMMAND}"
  "CMAKE_GENERATOR=${CMAKE_GENERATOR}"
  "FA_EXTRA_FLAGS=${fa_integration_flags}")

add_test(NAME install_consumer
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/install/run.sh
          ${FA_INTEGRATION_DIR}/prefix ${PROJECT_BINARY_DIR})
set_tests_properties(install_consumer PROPERTIES
  ENVIRONMENT "${fa_integration_env}"
  FIXTURES_SETUP fa_installed
  RESOURCE_LOCK fa_integration_prefix
  TIMEOUT 600)

add_test(NAME docs_code
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/docs/check_docs.sh
          ${FA_INTEGRATION_DIR}/prefix ${PROJECT_SOURCE_DIR}
          ${FA_INTEGRATION_DIR}/docs)
set_tests_properties(docs_code PROPERTIES
  ENVIRONMENT "${fa_integration_env}"
  FIXTURES_REQUIRED fa_installed
  RESOURCE_LOCK fa_integration_prefix
  TIMEOUT 600)

add_test(NAME embed_consumer
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/embed/run.sh ${PROJECT_SOURCE_DIR}
          ${FA_INTEGRATION_DIR}/embed)
set_tests_properties(embed_consumer PROPERTIES
  ENVIRONMENT "CC=${CMAKE_C_COMPILER};CMAKE=${CMAKE_COMMAND};CMAKE_GENERATOR=${CMAKE_GENERATOR}"
  TIMEOUT 600)

# scripts/apt-source.sh derives deb-src entries from apt's own deb entries.
add_test(NAME apt_source_derive
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/scripts/test_apt_source.sh
          ${PROJECT_SOURCE_DIR})
set_tests_properties(apt_source_derive PROPERTIES TIMEOUT 60)
