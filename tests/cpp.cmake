# The C++ layer's tests, included by tests/CMakeLists.txt when a C++
# compiler is found:
#   test_cpp           <framealloc.hpp> as C++17 with the project's compiler,
#                      in every build (threaded: TSan runs it too);
#   test_cpp_noexcept  the same header built with -fno-exceptions: failures
#                      print a line and abort;
#   cpp_compilers      (Release builds only, to keep `make test` lean)
#                      test_cpp again as C++20 with the project's compiler
#                      and as C++17 and C++20 with the other of g++ and
#                      clang++, warnings as errors, and the static_asserts
#                      of make_frame and pool_guard::make seen to fire.
fa_add_test(test_cpp SOURCE test_cpp.cpp LABELS threads)
fa_add_test(test_cpp_noexcept SOURCE test_cpp_noexcept.cpp)
set_target_properties(test_cpp test_cpp_noexcept PROPERTIES CXX_STANDARD 17
  CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
target_compile_options(test_cpp_noexcept PRIVATE -fno-exceptions)

if(CMAKE_BUILD_TYPE STREQUAL "Release" AND FA_SANITIZE STREQUAL ""
   AND UNIX)
  set(fa_cpp_werror "")
  if(FA_WERROR)
    set(fa_cpp_werror -Werror)
  endif()
  add_test(NAME cpp_compilers
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cpp_compilers.sh
            ${PROJECT_SOURCE_DIR} $<TARGET_FILE_DIR:framealloc>
            ${CMAKE_CURRENT_BINARY_DIR}/cpp_compilers)
  set_tests_properties(cpp_compilers PROPERTIES TIMEOUT 600
    ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER};FA_CPP_WERROR=${fa_cpp_werror}")
endif()
