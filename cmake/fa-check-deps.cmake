# What fa-check needs: the libclang C API (Debian libclang-14-dev; a newer
# LLVM is taken when present) and Jansson for the JSON and SARIF output.
# Sets FA_CHECK_DEPS_FOUND.
set(fa_llvm_hints)
foreach(v 19 18 17 16 15 14)
  list(APPEND fa_llvm_hints /usr/lib/llvm-${v})
endforeach()
find_program(FA_LLVM_CONFIG NAMES llvm-config llvm-config-14)
if(FA_LLVM_CONFIG)
  execute_process(COMMAND ${FA_LLVM_CONFIG} --prefix
    OUTPUT_VARIABLE fa_llvm_prefix OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(PREPEND fa_llvm_hints ${fa_llvm_prefix})
endif()
find_path(FA_LIBCLANG_INCLUDE_DIR clang-c/Index.h
  HINTS ${fa_llvm_hints} PATH_SUFFIXES include)
find_library(FA_LIBCLANG_LIBRARY NAMES clang clang-14
  HINTS ${fa_llvm_hints} PATH_SUFFIXES lib)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(FA_JANSSON QUIET jansson)
endif()

if(FA_LIBCLANG_INCLUDE_DIR AND FA_LIBCLANG_LIBRARY AND FA_JANSSON_FOUND)
  set(FA_CHECK_DEPS_FOUND ON)
else()
  set(FA_CHECK_DEPS_FOUND OFF)
endif()
