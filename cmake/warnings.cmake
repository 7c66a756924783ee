# Warnings and sanitizer flags shared by every target of the project.
# (The prototype warnings are C's; C++ builds the tests and examples of
# <framealloc.hpp>.)
set(FA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow
                $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes>
                $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes>)
if(FA_WERROR)
  list(APPEND FA_WARNINGS -Werror)
endif()
add_compile_options(${FA_WARNINGS})

if(FA_SANITIZE STREQUAL "address")
  set(FA_SAN_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
                   -fno-sanitize-recover=undefined)
elseif(FA_SANITIZE STREQUAL "thread")
  set(FA_SAN_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT FA_SANITIZE STREQUAL "")
  message(FATAL_ERROR "FA_SANITIZE must be '', 'address' or 'thread'")
endif()
if(FA_SAN_FLAGS)
  add_compile_options(${FA_SAN_FLAGS})
  add_link_options(${FA_SAN_FLAGS})
endif()
