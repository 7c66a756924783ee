# The tests of framealloc::uv, included from tests/CMakeLists.txt when the
# libuv integration is built. They run libuv's thread pool and real sockets
# and pipes, so they carry the label "threads" for the ThreadSanitizer run.
fa_add_test(test_uv_work LIBRARY framealloc::uv LABELS threads)
fa_add_test(test_uv_io LIBRARY framealloc::uv LABELS threads)
