/* A consumer of the installed framealloc::uv: a work item on libuv's thread
 * pool and a write read back through a pipe pair into a pool buffer, with
 * nothing left held at the end. Built by run.sh against the shared and the
 * static library of the CMake package, and with the flags of pkg-config
 * framealloc-uv, when the installation has the libuv integration. */
#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/uv.h>

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static const char message[] = "hello through a pipe";

typedef struct state_s {
  uv_pipe_t reader, writer;
  int sum, after_status, got;
  char received[sizeof(message)];
} state_t;

static void work(fa_uv_work_t *w, fa_task_t *t) {
  state_t *s = w->data;
  int *v = fa_task_array(t, int, 100);
  for (int i = 0; v && i < 100; i++)
    v[i] = i;
  for (int i = 0; v && i < 100; i++)
    s->sum += v[i];
}

static void after(fa_uv_work_t *w, fa_task_t *t, int status) {
  state_t *s = w->data;
  (void)t;
  s->after_status = status;
}

static void wrote(fa_uv_write_t *wr, int status) {
  state_t *s = fa_uv_write_data(wr);
  (void)status;
  uv_close((uv_handle_t *)&s->writer, NULL);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  state_t *s = stream->data;
  if (nread > 0 && s->got + (size_t)nread <= sizeof(s->received)) {
    memcpy(s->received + s->got, buf->base, (size_t)nread);
    s->got += (int)nread;
  }
  fa_uv_buf_free((uv_handle_t *)stream, buf);
  if (nread < 0)
    uv_close((uv_handle_t *)stream, NULL);
}

int main(void) {
  fa_allocator_t *a = fa_create(NULL);
  uv_loop_t loop;
  fa_uv_work_t w;
  state_t s;
  uv_file fds[2];
  fa_uv_write_t *wr;
  char *bytes;
  uv_buf_t buf;
  fa_stats_t st;

  CHECK(a != NULL);
  memset(&s, 0, sizeof(s));
  memset(&w, 0, sizeof(w));
  s.after_status = -1;
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(fa_uv_loop_bind(&loop, a, 0) == 0);

  w.data = &s;
  CHECK(fa_uv_queue_work(&loop, a, &w, work, after) == 0);

  CHECK(uv_pipe(fds, 0, 0) == 0);
  CHECK(uv_pipe_init(&loop, &s.reader, 0) == 0);
  CHECK(uv_pipe_init(&loop, &s.writer, 0) == 0);
  CHECK(uv_pipe_open(&s.reader, fds[0]) == 0);
  CHECK(uv_pipe_open(&s.writer, fds[1]) == 0);
  s.reader.data = &s;
  wr = fa_uv_write_create(a);
  CHECK(wr != NULL);
  bytes = fa_task_alloc(fa_uv_write_task(wr), sizeof(message), 1);
  CHECK(bytes != NULL);
  memcpy(bytes, message, sizeof(message));
  buf = uv_buf_init(bytes, sizeof(message));
  fa_uv_write_set_data(wr, &s);
  CHECK(fa_uv_write(wr, (uv_stream_t *)&s.writer, &buf, 1, wrote) == 0);
  CHECK(uv_read_start((uv_stream_t *)&s.reader, fa_uv_alloc_cb, on_read) == 0);

  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(s.sum == 4950 && s.after_status == 0);
  CHECK(s.got == (int)sizeof(message));
  CHECK(memcmp(s.received, message, sizeof(message)) == 0);
  CHECK(fa_uv_loop_unbind(&loop) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(fa_get_stats(a, &st) == 0);
  CHECK(st.pool_count == 0 && st.heap_count == 0 && st.task_bytes == 0);
  fa_release(a);
  printf("uv consumer (libuv %s): ok\n", uv_version_string());
  return 0;
}
