# The C++ layer: <framealloc.hpp> is installed beside the C headers, and,
# when this build has a C++ compiler, framealloc::cpp is the core library
# plus the C++17 its header needs
# (target_link_libraries(app PRIVATE framealloc::cpp)).
include(GNUInstallDirs)
install(FILES ${PROJECT_SOURCE_DIR}/include/framealloc.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(CMAKE_CXX_COMPILER)
  add_library(framealloc_cpp INTERFACE)
  target_link_libraries(framealloc_cpp INTERFACE framealloc)
  target_compile_features(framealloc_cpp INTERFACE cxx_std_17)
  set_target_properties(framealloc_cpp PROPERTIES EXPORT_NAME cpp)
  add_library(framealloc::cpp ALIAS framealloc_cpp)
  install(TARGETS framealloc_cpp EXPORT framealloc-targets)
endif()
