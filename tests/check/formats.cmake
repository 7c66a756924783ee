# fa-check's output formats: a unit test that writes hand-made findings in
# each format and compares them with goldens, a SARIF 2.1.0 schema check and
# a JSON shape check of what it wrote, and end-to-end goldens of the real
# binary on a small file. FC_UPDATE_GOLDEN=1 in the environment rewrites the
# goldens (formats/golden/) instead of comparing.
set(fc_fmt_dir ${CMAKE_CURRENT_SOURCE_DIR}/formats)
set(fc_fmt_out ${CMAKE_CURRENT_BINARY_DIR}/formats-out)
set(fc_fmt_schema ${CMAKE_CURRENT_SOURCE_DIR}/sarif-schema-2.1.0.json)
set(fc_fmt_check ${Python3_EXECUTABLE} ${fc_fmt_dir}/check_output.py)
file(MAKE_DIRECTORY ${fc_fmt_out})

# The formats and what they use, built straight from fa-check's sources.
set(fc_fmt_sources)
foreach(f out_human.c out_compact.c out_json.c out_sarif.c out_codequality.c
    out_common.c fixes.c diag.c source.c rules.c)
  list(APPEND fc_fmt_sources ${PROJECT_SOURCE_DIR}/tools/fa-check/${f})
endforeach()
add_executable(fc_test_output ${fc_fmt_dir}/test_output.c ${fc_fmt_sources})
target_include_directories(fc_test_output PRIVATE
  ${PROJECT_SOURCE_DIR}/tools/fa-check ${PROJECT_SOURCE_DIR}/include
  ${PROJECT_SOURCE_DIR}/tests ${FA_LIBCLANG_INCLUDE_DIR}
  ${FA_JANSSON_INCLUDE_DIRS})
target_compile_definitions(fc_test_output PRIVATE _GNU_SOURCE
  "FC_FORMATS_DIR=\"${fc_fmt_dir}\"")
target_link_libraries(fc_test_output PRIVATE ${FA_LIBCLANG_LIBRARY}
  ${FA_JANSSON_LINK_LIBRARIES} Threads::Threads)

add_test(NAME fc_formats COMMAND fc_test_output WORKING_DIRECTORY ${fc_fmt_out})
set_tests_properties(fc_formats PROPERTIES FIXTURES_SETUP fc_formats_out)

add_test(NAME fc_formats_sarif_schema COMMAND ${fc_fmt_check} sarif
  ${fc_fmt_schema} ${fc_fmt_out}/sample.sarif ${fc_fmt_out}/empty.sarif)
add_test(NAME fc_formats_json_shape COMMAND ${fc_fmt_check} json
  ${fc_fmt_out}/sample.json ${fc_fmt_out}/empty.json)
# GitLab Code Quality: the schema written from GitLab's documented fields.
set(fc_fmt_cq_schema ${CMAKE_CURRENT_SOURCE_DIR}/codequality-schema.json)
add_test(NAME fc_formats_codequality_schema COMMAND ${fc_fmt_check}
  codequality ${fc_fmt_cq_schema} ${fc_fmt_out}/sample.codequality)
set_tests_properties(fc_formats_sarif_schema fc_formats_json_shape
  fc_formats_codequality_schema PROPERTIES FIXTURES_REQUIRED fc_formats_out)

# The real binary, each format, on a file with one FA701 (exit status 1).
set(fc_fmt_tests fc_formats fc_formats_sarif_schema fc_formats_json_shape
  fc_formats_codequality_schema)
foreach(fmt human compact json sarif codequality)
  set(schema ${fc_fmt_schema})
  if(fmt STREQUAL "codequality")
    set(schema ${fc_fmt_cq_schema})
  endif()
  add_test(NAME fc_formats_e2e_${fmt} COMMAND ${fc_fmt_check} e2e
    --bin ${FC_BIN} --format ${fmt} --golden ${fc_fmt_dir}/golden/e2e.${fmt}
    --schema ${schema} --cwd ${fc_fmt_dir}/e2e --
    async_alloc.c -- -I${FC_FRAMEALLOC_INCLUDE})
  list(APPEND fc_fmt_tests fc_formats_e2e_${fmt})
endforeach()

set_tests_properties(${fc_fmt_tests} PROPERTIES LABELS check
  TIMEOUT ${FA_TEST_TIMEOUT} FAIL_REGULAR_EXPRESSION "${FA_SANITIZER_REPORT}")
