/* Input of the output-format tests, under a path with a space and
 * non-ASCII characters. It is never compiled. */
void spawn_job(fa_allocator_t *a, pthread_t *t) {
  char *msg = fa_frame_alloc(a, 32, 1);
  /* «über» */ pthread_create(t, NULL, worker, msg);
}
