/* test_uv_io.c: read buffers and writes of framealloc::uv over real libuv
 * streams. An echo over loopback TCP: the client sends 1 MB in writes whose
 * bytes live in their task, the server reads into pool buffers of
 * fa_uv_alloc_cb, checks every byte and echoes it, the client checks the
 * echo; nothing is left in pools, heap or tasks afterwards, and a buffer
 * kept past fa_uv_loop_unbind is still freed. Memory faults at each
 * memory-source request in turn, over a pipe pair: errors come as libuv
 * status codes (UV_ENOMEM, a NULL write, UV_ENOBUFS in the read callback)
 * and nothing leaks. The registry of bindings is used by four threads at
 * once. Bad arguments give an error code; a foreign buffer at the start of
 * a mapping is refused without a read before it. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/uv.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HEAD 16 /* the library's header before each read buffer */

/* Byte i of every stream the tests send. */
static unsigned char pattern(size_t i) {
  return (unsigned char)(test_mix64(i >> 3) >> ((i & 7) * 8));
}

static void fill_pattern(unsigned char *p, size_t n, size_t from) {
  for (size_t i = 0; i < n; i++)
    p[i] = pattern(from + i);
}

/* Whether n bytes at p are the stream's bytes from `from` on. */
static int check_pattern(const unsigned char *p, size_t n, size_t from) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(from + i))
      return 0;
  return 1;
}

static void expect_nothing_held(fa_allocator_t *a) {
  fa_stats_t st = test_stats(a);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.heap_count, 0);
  ASSERT_EQ(st.task_bytes, 0);
}

/* ---- Echo over loopback TCP ------------------------------------------- */

#define ECHO_CHUNKS 48
#define ECHO_CHUNK_MAX 40000

typedef struct echo_s {
  uv_loop_t loop;
  fa_allocator_t *a;
  uv_tcp_t listener, server, client;
  uv_connect_t connect;
  size_t buf_len;    /* what every read buffer must hold */
  size_t total;      /* bytes the client sends */
  size_t server_got; /* bytes the server read and checked */
  size_t client_got; /* bytes of echo the client read and checked */
  int writes, writes_done;
  int bad;       /* anything not as expected, by the loop thread */
  uv_buf_t kept; /* the server's first buffer, freed after unbind */
} echo_t;

static void echo_wrote(fa_uv_write_t *wr, int status) {
  echo_t *e = fa_uv_write_data(wr);
  if (status != 0 || fa_task_current() != fa_uv_write_task(wr))
    e->bad++;
  e->writes_done++;
}

/* Sends n bytes of the stream from `from` on, copied into the task of a new
 * write, as two buffers. */
static void echo_send(echo_t *e, uv_stream_t *s, const unsigned char *src,
                      size_t n, size_t from) {
  fa_uv_write_t *wr = fa_uv_write_create(e->a);
  unsigned char *p = fa_task_alloc(fa_uv_write_task(wr), n, 1);
  uv_buf_t bufs[2];
  if (!wr || !p) {
    e->bad++;
    return;
  }
  if (src)
    memcpy(p, src, n);
  else
    fill_pattern(p, n, from);
  bufs[0] = uv_buf_init((char *)p, (unsigned int)(n / 3));
  bufs[1] = uv_buf_init((char *)p + n / 3, (unsigned int)(n - n / 3));
  fa_uv_write_set_data(wr, e);
  if (fa_uv_write(wr, s, bufs, 2, echo_wrote) != 0) {
    e->bad++;
    fa_uv_write_destroy(wr);
    return;
  }
  e->writes++;
  /* In flight: libuv's until the callback, which destroys it. */
  if (e->writes == 1 && (fa_uv_write(wr, s, bufs, 2, echo_wrote) != UV_EBUSY ||
                         fa_uv_write_destroy(wr) != UV_EBUSY))
    e->bad++;
}

static int buf_ok(echo_t *e, const uv_buf_t *buf) {
  return buf->base != NULL && buf->len == e->buf_len &&
         test_aligned(buf->base, 16);
}

static void server_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  echo_t *e = s->data;
  if (nread > 0) {
    if (!buf_ok(e, buf) || !check_pattern((unsigned char *)buf->base,
                                          (size_t)nread, e->server_got))
      e->bad++;
    echo_send(e, s, (unsigned char *)buf->base, (size_t)nread, 0);
    e->server_got += (size_t)nread;
    if (!e->kept.base)
      e->kept = *buf;
    else if (fa_uv_buf_free((uv_handle_t *)s, buf) != 0)
      e->bad++;
    return;
  }
  /* The client closed once it had everything back. */
  if (nread != UV_EOF && nread != UV_ECONNRESET)
    e->bad++;
  if (fa_uv_buf_free((uv_handle_t *)s, buf) != 0)
    e->bad++;
  uv_close((uv_handle_t *)s, NULL);
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  echo_t *e = s->data;
  if (nread > 0) {
    if (!buf_ok(e, buf) || !check_pattern((unsigned char *)buf->base,
                                          (size_t)nread, e->client_got))
      e->bad++;
    e->client_got += (size_t)nread;
  } else if (nread < 0) {
    e->bad++; /* the server never closes first */
  }
  if (fa_uv_buf_free((uv_handle_t *)s, buf) != 0)
    e->bad++;
  if (nread < 0 || e->client_got == e->total)
    uv_close((uv_handle_t *)s, NULL);
}

static void server_accept(uv_stream_t *listener, int status) {
  echo_t *e = listener->data;
  if (status != 0 || uv_tcp_init(&e->loop, &e->server) != 0) {
    e->bad++;
    return;
  }
  e->server.data = e;
  if (uv_accept(listener, (uv_stream_t *)&e->server) != 0 ||
      uv_read_start((uv_stream_t *)&e->server, fa_uv_alloc_cb, server_read))
    e->bad++;
  uv_close((uv_handle_t *)listener, NULL);
}

static void client_connected(uv_connect_t *req, int status) {
  echo_t *e = req->data;
  uv_stream_t *s = (uv_stream_t *)&e->client;
  size_t from = 0;
  if (status != 0 || uv_read_start(s, fa_uv_alloc_cb, client_read) != 0) {
    e->bad++;
    uv_close((uv_handle_t *)s, NULL);
    return;
  }
  for (int i = 0; i < ECHO_CHUNKS; i++) {
    size_t n = 1 + (size_t)(test_mix64((uint64_t)i) % ECHO_CHUNK_MAX);
    echo_send(e, s, NULL, n, from);
    from += n;
  }
}

/* A run of the echo with buffers of bind_size bytes (expect: their
 * length) on an allocator with this pool_max_size. */
static void echo_run(size_t pool_max, size_t bind_size, size_t expect) {
  test_env_t env;
  fa_config_t cfg = {0};
  echo_t *e = calloc(1, sizeof(*e));
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = (int)sizeof(bound);
  ASSERT_NOT_NULL(e);
  cfg.pool_max_size = pool_max;
  test_env_open(&env, &cfg);
  e->a = env.a;
  e->buf_len = expect;
  for (int i = 0; i < ECHO_CHUNKS; i++)
    e->total += 1 + (size_t)(test_mix64((uint64_t)i) % ECHO_CHUNK_MAX);
  ASSERT_EQ(uv_loop_init(&e->loop), 0);
  ASSERT_EQ(fa_uv_loop_bind(&e->loop, env.a, bind_size), 0);
  ASSERT_EQ(test_stats(env.a).heap_count, 1); /* the binding's record */

  ASSERT_EQ(uv_tcp_init(&e->loop, &e->listener), 0);
  e->listener.data = e;
  ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  ASSERT_EQ(uv_tcp_bind(&e->listener, (struct sockaddr *)&addr, 0), 0);
  ASSERT_EQ(uv_listen((uv_stream_t *)&e->listener, 1, server_accept), 0);
  ASSERT_EQ(uv_tcp_getsockname(&e->listener, (struct sockaddr *)&bound, &len),
            0);
  ASSERT_EQ(uv_tcp_init(&e->loop, &e->client), 0);
  e->client.data = e;
  e->connect.data = e;
  ASSERT_EQ(uv_tcp_connect(&e->connect, &e->client, (struct sockaddr *)&bound,
                           client_connected),
            0);
  ASSERT_EQ(uv_run(&e->loop, UV_RUN_DEFAULT), 0);

  ASSERT_EQ(e->bad, 0);
  ASSERT_EQ(e->server_got, e->total);
  ASSERT_EQ(e->client_got, e->total);
  ASSERT_EQ(e->writes, e->writes_done);
  ASSERT_GT(e->writes, ECHO_CHUNKS);
  ASSERT_EQ(test_stats(env.a).task_bytes, 0);
  /* The kept buffer outlives the binding and goes back all the same. */
  ASSERT_NOT_NULL(e->kept.base);
  ASSERT_EQ(test_stats(env.a).pool_count, 1);
  ASSERT_EQ(fa_uv_loop_unbind(&e->loop), 0);
  ASSERT_EQ(fa_uv_buf_free(NULL, &e->kept), 0);
  expect_nothing_held(env.a);
  ASSERT_EQ(uv_loop_close(&e->loop), 0);
  test_env_close_quiet(&env);
  free(e);
}

TEST(io_tcp_echo_default_buffers) { echo_run(0, 0, 1024 - HEAD); }

/* Size 0 follows the allocator's own pool_max_size. */
TEST(io_tcp_echo_default_buffers_big_pools) { echo_run(4096, 0, 4096 - HEAD); }

TEST(io_tcp_echo_large_buffers) { echo_run(8192, 4096, 4096); }

/* Buffers larger than pool_max_size come from the heap path and work the
 * same. */
TEST(io_tcp_echo_heap_buffers) { echo_run(256, 3000, 3000); }

/* ---- Memory faults over a pipe pair ----------------------------------- */

#define PIPE_BYTES 3000

typedef struct pipe_run_s {
  uv_pipe_t reader, writer;
  size_t sent, got;
  int enobufs, eof, bad;
} pipe_run_t;

static int pipe_pair(uv_loop_t *loop, pipe_run_t *p) {
  uv_file fds[2];
  if (uv_pipe(fds, 0, 0) != 0)
    return -1;
  if (uv_pipe_init(loop, &p->reader, 0) != 0 ||
      uv_pipe_init(loop, &p->writer, 0) != 0 ||
      uv_pipe_open(&p->reader, fds[0]) != 0 ||
      uv_pipe_open(&p->writer, fds[1]) != 0)
    return -1;
  p->reader.data = p;
  p->writer.data = p;
  return 0;
}

static void pipe_wrote(fa_uv_write_t *wr, int status) {
  pipe_run_t *p = fa_uv_write_data(wr);
  if (status != 0)
    p->bad++;
  /* The reader then sees EOF, unless it has closed both already. */
  if (!uv_is_closing((uv_handle_t *)&p->writer))
    uv_close((uv_handle_t *)&p->writer, NULL);
}

static void pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  pipe_run_t *p = s->data;
  if (nread > 0) {
    if (!check_pattern((unsigned char *)buf->base, (size_t)nread, p->got))
      p->bad++;
    p->got += (size_t)nread;
  } else if (nread == UV_ENOBUFS) {
    if (buf->base != NULL)
      p->bad++;
    p->enobufs++;
  } else if (nread == UV_EOF) {
    p->eof++;
  } else if (nread < 0) {
    p->bad++;
  }
  if (fa_uv_buf_free((uv_handle_t *)s, buf) != 0)
    p->bad++;
  if (nread < 0) {
    uv_read_stop(s);
    uv_close((uv_handle_t *)s, NULL);
    if (!uv_is_closing((uv_handle_t *)&p->writer))
      uv_close((uv_handle_t *)&p->writer, NULL);
  }
}

/* One write and its read, with every memory-source request from the n-th
 * on failing: bind, write creation, the write's bytes and the read buffers
 * may each fail, and each failure shows as documented. Returns whether the
 * source failed any request. */
static int pipe_round(int64_t n) {
  test_env_t env;
  uv_loop_t loop;
  pipe_run_t p;
  fa_uv_write_t *wr;
  int bound, failed;
  memset(&p, 0, sizeof(p));
  test_env_open(&env, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(pipe_pair(&loop, &p), 0);
  test_source_arm(&env.src, (int64_t)test_source_reserves(&env.src) + n,
                  UINT64_MAX);

  bound = fa_uv_loop_bind(&loop, env.a, 0);
  if (bound != UV_ENOMEM)
    ASSERT_EQ(bound, 0);
  wr = fa_uv_write_create(env.a);
  if (wr) {
    unsigned char *b = fa_task_alloc(fa_uv_write_task(wr), PIPE_BYTES, 1);
    if (b) {
      uv_buf_t buf = uv_buf_init((char *)b, PIPE_BYTES);
      fill_pattern(b, PIPE_BYTES, 0);
      fa_uv_write_set_data(wr, &p);
      ASSERT_EQ(fa_uv_write(wr, (uv_stream_t *)&p.writer, &buf, 1, pipe_wrote),
                0);
      p.sent = PIPE_BYTES;
    } else {
      ASSERT_EQ(fa_uv_write_destroy(wr), 0);
      wr = NULL;
    }
  }
  if (!wr)
    uv_close((uv_handle_t *)&p.writer, NULL);
  ASSERT_EQ(uv_read_start((uv_stream_t *)&p.reader, fa_uv_alloc_cb, pipe_read),
            0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

  failed = test_source_failures(&env.src) != 0;
  test_source_arm(&env.src, -1, 0);
  ASSERT_EQ(p.bad, 0);
  ASSERT_EQ(p.enobufs + p.eof, 1); /* the read ended one way or the other */
  if (bound != 0)
    ASSERT_EQ(p.enobufs, 1); /* an unbound loop gives null buffers */
  if (p.enobufs == 0)
    ASSERT_EQ(p.got, p.sent); /* everything sent arrived */
  if (!failed) {
    ASSERT_EQ(p.got, PIPE_BYTES);
    ASSERT_EQ(p.eof, 1);
  }
  ASSERT_EQ(fa_uv_loop_unbind(&loop), bound == 0 ? 0 : UV_ENOENT);
  expect_nothing_held(env.a);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close(&env);
  return failed;
}

TEST(io_memory_faults) {
  int64_t n = 0;
  while (pipe_round(n)) {
    n++;
    ASSERT_LT(n, 200);
  }
  ASSERT_GT(n, 0); /* at least the first round failed something */
}

/* Each failure on its own, named. */
static void count_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  pipe_run_t *p = s->data;
  if (nread == UV_ENOBUFS && buf->base == NULL && buf->len == 0)
    p->enobufs++;
  else
    p->bad++;
  if (nread > 0)
    fa_uv_buf_free((uv_handle_t *)s, buf);
  uv_read_stop(s);
  uv_close((uv_handle_t *)s, NULL);
  uv_close((uv_handle_t *)&p->writer, NULL);
}

TEST(io_read_buffer_alloc_fails) {
  test_env_t env;
  uv_loop_t loop;
  pipe_run_t p;
  uv_buf_t data = uv_buf_init((char *)"hello", 5);
  memset(&p, 0, sizeof(p));
  test_env_open(&env, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(pipe_pair(&loop, &p), 0);
  ASSERT_EQ(fa_uv_loop_bind(&loop, env.a, 0), 0);
  ASSERT_EQ(uv_try_write((uv_stream_t *)&p.writer, &data, 1), 5);
  test_source_arm(&env.src, (int64_t)test_source_reserves(&env.src),
                  UINT64_MAX);
  ASSERT_EQ(uv_read_start((uv_stream_t *)&p.reader, fa_uv_alloc_cb, count_read),
            0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_GT(test_source_failures(&env.src), 0);
  test_source_arm(&env.src, -1, 0);
  ASSERT_EQ(p.enobufs, 1);
  ASSERT_EQ(p.bad, 0);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), 0);
  expect_nothing_held(env.a);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close(&env);
}

TEST(io_write_create_fails) {
  test_env_t env;
  test_env_open(&env, NULL);
  test_source_arm(&env.src, (int64_t)test_source_reserves(&env.src),
                  UINT64_MAX);
  ASSERT_NULL(fa_uv_write_create(env.a));
  ASSERT_GT(test_source_failures(&env.src), 0);
  test_source_arm(&env.src, -1, 0);
  expect_nothing_held(env.a);
  test_env_close(&env);
}

TEST(io_bind_fails) {
  test_env_t env;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_buf_t buf;
  test_env_open(&env, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_idle_init(&loop, &idle), 0);
  test_source_arm(&env.src, (int64_t)test_source_reserves(&env.src),
                  UINT64_MAX);
  ASSERT_EQ(fa_uv_loop_bind(&loop, env.a, 0), UV_ENOMEM);
  test_source_arm(&env.src, -1, 0);
  fa_uv_alloc_cb((uv_handle_t *)&idle, 65536, &buf); /* still unbound */
  ASSERT_NULL(buf.base);
  ASSERT_EQ(buf.len, 0);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), UV_ENOENT);
  expect_nothing_held(env.a);
  uv_close((uv_handle_t *)&idle, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close(&env);
}

/* ---- Bindings --------------------------------------------------------- */

/* Binding again to another allocator: buffers go back to the allocator
 * they came from, whatever the binding is when they are freed. */
TEST(io_rebind) {
  test_env_t e1, e2;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_buf_t b1, b2;
  test_env_open(&e1, NULL);
  test_env_open(&e2, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_idle_init(&loop, &idle), 0);
  ASSERT_EQ(fa_uv_loop_bind(&loop, e1.a, 100), 0);
  fa_uv_alloc_cb((uv_handle_t *)&idle, 65536, &b1);
  ASSERT_NOT_NULL(b1.base);
  ASSERT_EQ(b1.len, 100);
  ASSERT_EQ(fa_uv_loop_bind(&loop, e2.a, 200), 0);
  ASSERT_EQ(test_stats(e1.a).heap_count, 0); /* the old record is gone */
  fa_uv_alloc_cb((uv_handle_t *)&idle, 65536, &b2);
  ASSERT_NOT_NULL(b2.base);
  ASSERT_EQ(b2.len, 200);
  ASSERT_EQ(test_stats(e1.a).pool_count, 1);
  ASSERT_EQ(test_stats(e2.a).pool_count, 1);
  memset(b1.base, 1, b1.len);
  memset(b2.base, 2, b2.len);
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &b1), 0);
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &b2), 0);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), 0);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), UV_ENOENT); /* twice */
  expect_nothing_held(e1.a);
  expect_nothing_held(e2.a);
  uv_close((uv_handle_t *)&idle, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&e2);
  test_env_close_quiet(&e1);
}

/* Four threads, each with a loop of its own, bind, take buffers, rebind
 * and unbind at once on one allocator; the buffers each leaves are freed by
 * the main thread. The registry only keys on the loop's address and
 * fa_uv_alloc_cb only reads handle->loop, so the loops are never started:
 * libuv closes descriptors in ways ThreadSanitizer cannot see, and fresh
 * loops on four threads at once would make it report their reuse. */
#define REG_THREADS 4
#define REG_ROUNDS 300

typedef struct reg_thread_s {
  fa_allocator_t *a;
  uv_loop_t loop; /* a key only */
  uv_buf_t left[REG_ROUNDS / 50];
  int nleft, bad;
} reg_thread_t;

static void *reg_main(void *arg) {
  reg_thread_t *r = arg;
  uv_handle_t handle;
  size_t size = 0;
  memset(&handle, 0, sizeof(handle));
  handle.loop = &r->loop;
  for (int i = 0; i < REG_ROUNDS; i++) {
    uv_buf_t b[4];
    if (i % 10 == 0) {
      size = 16 + (size_t)(i / 10) % 7 * 100;
      if (fa_uv_loop_bind(&r->loop, r->a, size) != 0)
        r->bad++;
    }
    for (int k = 0; k < 4; k++) {
      fa_uv_alloc_cb(&handle, 0, &b[k]);
      if (!b[k].base || b[k].len != size)
        r->bad++;
      else
        memset(b[k].base, k, b[k].len);
    }
    for (int k = 0; k < 4; k++) {
      if (i % 50 == 0 && k == 0 && b[k].base)
        r->left[r->nleft++] = b[k];
      else if (fa_uv_buf_free(&handle, &b[k]) != 0)
        r->bad++;
    }
    if (i % 10 == 9 && fa_uv_loop_unbind(&r->loop) != 0)
      r->bad++;
  }
  return NULL;
}

TEST(io_bindings_from_threads) {
  test_env_t env;
  pthread_t th[REG_THREADS];
  reg_thread_t r[REG_THREADS];
  test_env_open(&env, NULL);
  memset(r, 0, sizeof(r));
  for (int i = 0; i < REG_THREADS; i++) {
    r[i].a = env.a;
    ASSERT_EQ(pthread_create(&th[i], NULL, reg_main, &r[i]), 0);
  }
  for (int i = 0; i < REG_THREADS; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < REG_THREADS; i++) {
    ASSERT_EQ(r[i].bad, 0);
    ASSERT_EQ(r[i].nleft, REG_ROUNDS / 50);
    for (int k = 0; k < r[i].nleft; k++)
      ASSERT_EQ(fa_uv_buf_free(NULL, &r[i].left[k]), 0);
  }
  expect_nothing_held(env.a);
  test_env_close_quiet(&env);
}

/* ---- Bad arguments ---------------------------------------------------- */

TEST(io_bad_arguments) {
  test_env_t env;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_tcp_t tcp;
  uv_buf_t buf;
  fa_uv_write_t *wr;
  unsigned char *bytes;
  _Alignas(16) char foreign[64];
  test_env_open(&env, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_idle_init(&loop, &idle), 0);

  /* Bindings. */
  ASSERT_EQ(fa_uv_loop_bind(NULL, env.a, 0), UV_EINVAL);
  ASSERT_EQ(fa_uv_loop_bind(&loop, NULL, 0), UV_EINVAL);
  ASSERT_EQ(fa_uv_loop_bind(&loop, env.a, SIZE_MAX), UV_EINVAL);
  ASSERT_EQ(fa_uv_loop_unbind(NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), UV_ENOENT); /* never bound */

  /* Read buffers: an unbound loop gives a null buffer. */
  buf = uv_buf_init(foreign, 1);
  fa_uv_alloc_cb((uv_handle_t *)&idle, 65536, &buf);
  ASSERT_NULL(buf.base);
  ASSERT_EQ(buf.len, 0);
  buf = uv_buf_init(foreign, 1);
  fa_uv_alloc_cb(NULL, 65536, &buf);
  ASSERT_NULL(buf.base);
  fa_uv_alloc_cb((uv_handle_t *)&idle, 65536, NULL);
  ASSERT_EQ(fa_uv_buf_free(NULL, NULL), UV_EINVAL);
  buf = uv_buf_init(NULL, 0);
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &buf), 0);
  memset(foreign, 0, sizeof(foreign));
  buf = uv_buf_init(foreign + HEAD, 32); /* not from fa_uv_alloc_cb */
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &buf), UV_EINVAL);
  buf = uv_buf_init(foreign + HEAD + 1, 32); /* misaligned */
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &buf), UV_EINVAL);

  /* Writes. */
  ASSERT_NULL(fa_uv_write_create(NULL));
  ASSERT_NULL(fa_uv_write_task(NULL));
  ASSERT_NULL(fa_uv_write_data(NULL));
  fa_uv_write_set_data(NULL, &loop);
  ASSERT_EQ(fa_uv_write_destroy(NULL), 0);
  buf = uv_buf_init(foreign, 8);
  ASSERT_EQ(fa_uv_write(NULL, (uv_stream_t *)&tcp, &buf, 1, NULL), UV_EINVAL);
  wr = fa_uv_write_create(env.a);
  ASSERT_NOT_NULL(wr);
  ASSERT_NULL(fa_uv_write_data(wr));
  bytes = fa_task_alloc(fa_uv_write_task(wr), 8, 1);
  ASSERT_NOT_NULL(bytes);
  memset(bytes, 'x', 8);
  buf = uv_buf_init((char *)bytes, 8);
  ASSERT_EQ(fa_uv_write(wr, NULL, &buf, 1, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_write(wr, (uv_stream_t *)&tcp, NULL, 1, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_write(wr, (uv_stream_t *)&tcp, &buf, 0, NULL), UV_EINVAL);
  /* A stream that is not connected: libuv's error, and wr stays ours. */
  ASSERT_EQ(uv_tcp_init(&loop, &tcp), 0);
  ASSERT_LT(fa_uv_write(wr, (uv_stream_t *)&tcp, &buf, 1, NULL), 0);
  ASSERT_GT(test_stats(env.a).task_bytes, 0);
  ASSERT_EQ(fa_uv_write_destroy(wr), 0);

  expect_nothing_held(env.a);
  uv_close((uv_handle_t *)&idle, NULL);
  uv_close((uv_handle_t *)&tcp, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&env);
}

/* A foreign buffer at the very start of a mapping (the page before it is
 * not mapped): UV_EINVAL, without reading the 16 bytes before it. */
TEST(io_buf_free_at_mapping_start) {
  long page = sysconf(_SC_PAGESIZE);
  char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  test_env_t env;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_buf_t buf, own;
  ASSERT_PTR_NE(map, MAP_FAILED);
  ASSERT_EQ(munmap(map, (size_t)page), 0); /* the page before is a hole */
  test_env_open(&env, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_idle_init(&loop, &idle), 0);
  ASSERT_EQ(fa_uv_loop_bind(&loop, env.a, 0), 0);
  fa_uv_alloc_cb((uv_handle_t *)&idle, 0, &own); /* one live buffer */
  ASSERT_NOT_NULL(own.base);
  buf = uv_buf_init(map + page, 64);
  ASSERT_EQ(fa_uv_buf_free((uv_handle_t *)&idle, &buf), UV_EINVAL);
  buf = uv_buf_init((char *)(uintptr_t)16, 64); /* the first page */
  ASSERT_EQ(fa_uv_buf_free(NULL, &buf), UV_EINVAL);
  ASSERT_EQ(fa_uv_buf_free(NULL, &own), 0);
  ASSERT_EQ(fa_uv_buf_free(NULL, &own), UV_EINVAL); /* freed already */
  ASSERT_EQ(test_stats(env.a).pool_count, 0);
  ASSERT_EQ(fa_uv_loop_unbind(&loop), 0);
  uv_close((uv_handle_t *)&idle, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  ASSERT_EQ(munmap(map + page, (size_t)page), 0);
  test_env_close_quiet(&env);
}

static const test_case_t tests[] = {
    TEST_ENTRY(io_tcp_echo_default_buffers),
    TEST_ENTRY(io_tcp_echo_default_buffers_big_pools),
    TEST_ENTRY(io_tcp_echo_large_buffers),
    TEST_ENTRY(io_tcp_echo_heap_buffers),
    TEST_ENTRY(io_memory_faults),
    TEST_ENTRY(io_read_buffer_alloc_fails),
    TEST_ENTRY(io_write_create_fails),
    TEST_ENTRY(io_bind_fails),
    TEST_ENTRY(io_rebind),
    TEST_ENTRY(io_bindings_from_threads),
    TEST_ENTRY(io_bad_arguments),
    TEST_ENTRY(io_buf_free_at_mapping_start),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
