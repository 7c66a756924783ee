# Windows only: framealloc linked statically into a DLL (fa_plugin.dll)
# that test_dll loads at run time and calls from threads that exit.
add_library(fa_plugin SHARED ${CMAKE_CURRENT_LIST_DIR}/fa_plugin.c)
target_link_libraries(fa_plugin PRIVATE framealloc::framealloc_static)
set_target_properties(fa_plugin PROPERTIES PREFIX "")
fa_add_test(test_dll SOURCE ${CMAKE_CURRENT_LIST_DIR}/test_dll.c
  LABELS threads)
add_dependencies(test_dll fa_plugin)
