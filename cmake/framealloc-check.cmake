# framealloc_check(<target> [DENY_WARNINGS] [CONFIG <file>])
#
# Runs fa-check over the C sources of <target> as a step of its build: after
# its sources are compiled and before it is linked (a PRE_LINK command), all
# of them in one run, so that helpers in one file are followed into the
# callers in another. An error-level finding fails the build of the target;
# with DENY_WARNINGS a warning does too. Findings are printed in the
# compiler's format (FILE:LINE:COL: error: MESSAGE [FA702]) with absolute
# paths, so IDEs and editors link them to the line.
#
# CONFIG names the fa-check.toml to use; without it, the nearest one above
# the calling directory is used (fa-check runs in the build tree, where it
# would not find it). The check reruns whenever the target is linked again:
# when one of its sources or of the headers they include changes, and when
# that configuration file changes. Call it in the directory that creates
# the target. The compile commands come from the compile database, which this
# turns on for the target (Makefile and Ninja generators). Sources given
# through generator expressions are not checked.
#
# FRAMEALLOC_CHECK_EXECUTABLE names the checker: the package's own by
# default, else fa-check on the PATH. framealloc::fa-check is the same as
# an imported executable, for add_custom_command or CMAKE_C_CLANG_TIDY.

if(NOT FRAMEALLOC_CHECK_EXECUTABLE)
  find_program(FRAMEALLOC_CHECK_EXECUTABLE fa-check
    HINTS "${_framealloc_check_bindir}" NO_DEFAULT_PATH)
endif()
if(NOT FRAMEALLOC_CHECK_EXECUTABLE)
  find_program(FRAMEALLOC_CHECK_EXECUTABLE fa-check)
endif()
if(FRAMEALLOC_CHECK_EXECUTABLE AND NOT TARGET framealloc::fa-check)
  add_executable(framealloc::fa-check IMPORTED)
  set_target_properties(framealloc::fa-check PROPERTIES
    IMPORTED_LOCATION "${FRAMEALLOC_CHECK_EXECUTABLE}")
endif()

function(framealloc_check target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "DENY_WARNINGS" "CONFIG" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "framealloc_check: unknown arguments "
      "'${arg_UNPARSED_ARGUMENTS}' (usage: framealloc_check(<target> "
      "[DENY_WARNINGS] [CONFIG <file>]))")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "framealloc_check: '${target}' is not a target")
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.20)
    message(FATAL_ERROR "framealloc_check needs CMake 3.20 or newer")
  endif()
  if(NOT FRAMEALLOC_CHECK_EXECUTABLE)
    message(FATAL_ERROR "framealloc_check: fa-check not found (install "
      "framealloc with the checker, or set FRAMEALLOC_CHECK_EXECUTABLE)")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|STATIC_LIBRARY|MODULE_LIBRARY)$")
    message(FATAL_ERROR "framealloc_check: ${target} is a ${type}; only "
      "executables and libraries are linked, which is when the check runs")
  endif()
  if(NOT CMAKE_GENERATOR MATCHES "Makefiles|Ninja")
    message(FATAL_ERROR "framealloc_check needs a compile database, which "
      "the ${CMAKE_GENERATOR} generator does not write; use "
      "CMAKE_C_CLANG_TIDY with fa-check instead")
  endif()
  set_property(TARGET ${target} PROPERTY EXPORT_COMPILE_COMMANDS ON)
  set(args --format compact)
  if(arg_DENY_WARNINGS)
    list(APPEND args --deny-warnings)
  endif()
  if(arg_CONFIG)
    get_filename_component(cfg "${arg_CONFIG}" ABSOLUTE
      BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${cfg}")
      message(FATAL_ERROR "framealloc_check: no config file ${cfg}")
    endif()
  else()
    # The check runs in the build tree, where fa-check would not find the
    # project's fa-check.toml: the nearest one above this directory.
    set(cfg "")
    set(dir "${CMAKE_CURRENT_SOURCE_DIR}")
    while(NOT cfg)
      if(EXISTS "${dir}/fa-check.toml")
        set(cfg "${dir}/fa-check.toml")
      endif()
      get_filename_component(up "${dir}" DIRECTORY)
      if(up STREQUAL dir)
        break()
      endif()
      set(dir "${up}")
    endwhile()
  endif()
  if(cfg)
    list(APPEND args --config "${cfg}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${cfg}")
  endif()
  # Sources may still be added after this call: the list is read at the
  # end of the directory. A deferred call expands its arguments when it
  # runs, so they are quoted now.
  set(quoted "[==[${target}]==]")
  foreach(a IN LISTS args)
    string(APPEND quoted " [==[${a}]==]")
  endforeach()
  cmake_language(EVAL CODE
    "cmake_language(DEFER CALL _framealloc_check_attach ${quoted})")
endfunction()

function(_framealloc_check_attach target)
  get_target_property(srcs ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  set(files)
  foreach(src IN LISTS srcs)
    if(src MATCHES "\\$<" OR NOT src MATCHES "\\.c$")
      continue()
    endif()
    get_filename_component(abs "${src}" ABSOLUTE BASE_DIR "${dir}")
    list(APPEND files "${abs}")
  endforeach()
  if(NOT files)
    message(WARNING "framealloc_check: ${target} has no C source to check")
    return()
  endif()
  add_custom_command(TARGET ${target} PRE_LINK
    COMMAND "${FRAMEALLOC_CHECK_EXECUTABLE}" ${ARGN} -p "${CMAKE_BINARY_DIR}"
            ${files}
    COMMENT "fa-check ${target}"
    VERBATIM)
endfunction()
