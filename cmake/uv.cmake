# framealloc::uv, the libuv integration: library framealloc_uv (shared, and
# framealloc_uv_static), its pkg-config file framealloc-uv.pc, and its part
# of the CMake package. Included from the root CMakeLists.txt when
# FA_BUILD_UV is on. libuv is found through its own CMake package when it
# ships one (libuv::uv), otherwise through pkg-config (libuv.pc); without
# libuv nothing is defined, and the core library never depends on it.
find_package(libuv CONFIG QUIET)
if(TARGET libuv::uv)
  set(FA_UV_LIB libuv::uv)
  set(FA_UV_FROM "its CMake package")
else()
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(FA_LIBUV QUIET IMPORTED_TARGET libuv)
  endif()
  if(NOT TARGET PkgConfig::FA_LIBUV)
    message(STATUS "framealloc::uv not built: libuv not found "
      "(scripts/deps.sh installs it)")
    return()
  endif()
  set(FA_UV_LIB PkgConfig::FA_LIBUV)
  set(FA_UV_FROM "pkg-config, version ${FA_LIBUV_VERSION}")
endif()
message(STATUS "framealloc::uv: libuv from ${FA_UV_FROM}")

set(FA_UV_SOURCES ${PROJECT_SOURCE_DIR}/src/uv_work.c
                  ${PROJECT_SOURCE_DIR}/src/uv_io.c)

# core: the matching core target (shared or static). <uv.h> needs the POSIX
# types (pthread_rwlock_t, ...), which a strict -std=c11 hides: C users of
# the target get POSIX.1-2008 (a _GNU_SOURCE of theirs still wins).
function(fa_uv_target name type core)
  add_library(${name} ${type} ${FA_UV_SOURCES})
  target_link_libraries(${name} PUBLIC ${core} ${FA_UV_LIB})
  target_compile_definitions(${name} PUBLIC
    $<$<COMPILE_LANGUAGE:C>:_POSIX_C_SOURCE=200809L>)
  set_target_properties(${name} PROPERTIES OUTPUT_NAME framealloc_uv
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
endfunction()

fa_uv_target(framealloc_uv SHARED framealloc)
fa_uv_target(framealloc_uv_static STATIC framealloc_static)
add_library(framealloc::uv ALIAS framealloc_uv)
add_library(framealloc::uv_static ALIAS framealloc_uv_static)

include(GNUInstallDirs)
install(TARGETS framealloc_uv framealloc_uv_static EXPORT framealloc-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The exported names are framealloc::uv and framealloc::uv_static.
set_target_properties(framealloc_uv PROPERTIES EXPORT_NAME uv)
set_target_properties(framealloc_uv_static PROPERTIES EXPORT_NAME uv_static)

# framealloc-config.cmake includes this file, when it is installed, before
# the targets: it finds libuv the way this build did and sets
# framealloc_uv_FOUND (the component `uv` of find_package).
set(fa_uv_deps ${PROJECT_BINARY_DIR}/framealloc-uv-deps.cmake)
if(FA_UV_LIB STREQUAL "libuv::uv")
  file(WRITE ${fa_uv_deps} [=[
# libuv for framealloc::uv, through libuv's CMake package.
if(NOT TARGET libuv::uv)
  find_package(libuv CONFIG QUIET)
endif()
set(framealloc_uv_FOUND FALSE)
if(TARGET libuv::uv)
  set(framealloc_uv_FOUND TRUE)
endif()
]=])
else()
  file(WRITE ${fa_uv_deps} [=[
# libuv for framealloc::uv, through pkg-config (libuv.pc).
if(NOT TARGET PkgConfig::FA_LIBUV)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(FA_LIBUV QUIET IMPORTED_TARGET libuv)
  endif()
endif()
set(framealloc_uv_FOUND FALSE)
if(TARGET PkgConfig::FA_LIBUV)
  set(framealloc_uv_FOUND TRUE)
endif()
]=])
endif()
install(FILES ${fa_uv_deps}
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/framealloc)

# The .pc file finds its prefix from its own place, as framealloc.pc does.
file(RELATIVE_PATH FA_PC_RELPREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig"
  "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" FA_PC_RELPREFIX "${FA_PC_RELPREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/framealloc-uv.pc.in
  ${PROJECT_BINARY_DIR}/framealloc-uv.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/framealloc-uv.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
