/* test_uv_echo.c: the load test of the uv_echo example server.
 *
 *   test_uv_echo [TEST...]          the server is FA_UV_ECHO_SERVER
 *
 * Each test starts the server on an ephemeral port of 127.0.0.1, reads the
 * port from its first line of output, connects clients, then stops it and
 * checks that it exited with status 0 after printing statistics with pool
 * and task bytes back to zero (the server checks its own memory too).
 *
 * Every client sends a seeded stream of messages of log-uniform sizes
 * (1 B to 64 KiB, so that tiny and large messages are both common while
 * the volume stays moderate) and checks every byte that comes back. TCP is
 * a stream: the check compares byte streams, whatever the boundaries of
 * reads and writes. Byte k of client i's stream is a function of (seed, i,
 * k), so a mismatch names the client, the stream offset, the message it
 * belongs to and the byte within it. The seed is printed; FA_ECHO_SEED sets
 * another one. The test has its own timeout, after which it prints how far
 * every unfinished client got.
 *
 * All of it runs on one libuv loop in one thread: the clients, the
 * server's process handle and its output pipe. */
#define _POSIX_C_SOURCE 200809L

#include <uv.h>

#include "test.h"
#include "testutil.h"

#include <math.h>
#include <signal.h>

#ifndef FA_UV_ECHO_SERVER
#error "FA_UV_ECHO_SERVER must name the uv_echo executable"
#endif

enum {
  MAX_SIZE = 64 * 1024, /* the largest message */
  WINDOW = 4,           /* writes in flight per client */
  TIMEOUT_MS = 100000,  /* hang guard, below CTest's own timeout */
};

typedef enum stop_mode_e { STOP_QUIT, STOP_SIGTERM, STOP_SIGINT } stop_mode_t;

typedef struct run_s run_t;

/* One client connection and the state of its two streams. */
typedef struct client_s {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  run_t *run;
  int index;
  uint64_t key;       /* selects the stream's contents */
  uint32_t rng;       /* message sizes */
  unsigned messages;  /* messages queued so far */
  unsigned in_flight; /* writes not yet completed */
  uint64_t sent;      /* bytes queued */
  uint64_t received;  /* bytes received, all checked */
  uint64_t *ends;     /* end offset of every message queued */
  int connected, finished, closed;
} client_t;

/* One write of a client: the request and its bytes. */
typedef struct out_s {
  uv_write_t req;
  client_t *client;
  size_t len;
  unsigned char data[];
} out_t;

struct run_s {
  uv_loop_t loop;
  uv_process_t server;
  uv_pipe_t server_in, server_out;
  uv_write_t quit_req;
  uv_timer_t timer;
  stop_mode_t stop;
  uint64_t seed;
  int nclients;
  unsigned nmessages;
  unsigned stop_after; /* >0: stop the server once every client has got
                          this many bytes back, clients still sending */
  client_t *clients;
  uint64_t total_sent; /* over all clients, when the run is over */
  int port;
  char out[4096]; /* the server's output, one line at a time */
  size_t out_len;
  int stats_seen, pool_zero, task_zero;
  int exited, failed, stopping, timed_out, finished;
  int64_t exit_status;
  int term_signal;
};

/* ---- The streams -------------------------------------------------------- */

/* Stream bytes come eight at a time: word w of a stream is a mix of its
 * key and w, and byte off is byte (off % 8) of word (off / 8), least
 * significant first. Whole words are stored and compared with one 8-byte
 * access, which keeps the sanitizer builds fast. */
static uint64_t stream_word(uint64_t key, uint64_t w) {
  uint64_t x = test_mix64(key ^ w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap64(x); /* the same bytes in memory on every host */
#endif
  return x;
}

static unsigned char stream_byte(uint64_t key, uint64_t off) {
  return (unsigned char)(test_mix64(key ^ (off >> 3)) >> (8 * (off & 7)));
}

static void stream_fill(uint64_t key, uint64_t off, unsigned char *p,
                        size_t n) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7) != 0; i++)
    p[i] = stream_byte(key, off + i);
  for (; n - i >= 8; i += 8) {
    uint64_t w = stream_word(key, (off + i) >> 3);
    memcpy(p + i, &w, 8);
  }
  for (; i < n; i++)
    p[i] = stream_byte(key, off + i);
}

/* The index of the first byte of p that differs from the stream, or n. */
static size_t stream_check(uint64_t key, uint64_t off, const unsigned char *p,
                           size_t n) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7) != 0; i++)
    if (p[i] != stream_byte(key, off + i))
      return i;
  for (; n - i >= 8; i += 8) {
    uint64_t w = stream_word(key, (off + i) >> 3), got;
    memcpy(&got, p + i, 8);
    if (got != w)
      break; /* the byte loop below finds which one */
  }
  for (; i < n; i++)
    if (p[i] != stream_byte(key, off + i))
      return i;
  return n;
}

/* A log-uniform size in [1, MAX_SIZE]. */
static size_t message_size(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  double u = (double)(x >> 8) / (double)(1u << 24);
  size_t n = (size_t)exp2(u * log2((double)MAX_SIZE + 1.0));
  return n < 1 ? 1 : n > MAX_SIZE ? MAX_SIZE : n;
}

/* ---- Ending a run ------------------------------------------------------- */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void on_client_closed(uv_handle_t *h) {
  client_t *c = h->data;
  c->closed = 1;
}

static void close_client(client_t *c) {
  if (c->connected && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

/* Fails the run: every client closes and the server is killed. */
static void fail(run_t *r) {
  if (r->failed)
    return;
  r->failed = 1;
  for (int i = 0; i < r->nclients; i++)
    close_client(&r->clients[i]);
  if (!r->exited)
    uv_process_kill(&r->server, SIGKILL);
}

static void on_quit_written(uv_write_t *req, int status) {
  run_t *r = req->data;
  if (status < 0 && !r->exited) {
    printf("  writing \"quit\" to the server: %s\n", uv_strerror(status));
    fail(r);
  }
}

/* Stops the server the way the run asks for. */
static void stop_server(run_t *r) {
  if (r->stopping || r->exited)
    return;
  r->stopping = 1;
  if (r->stop == STOP_QUIT) {
    static char quit[] = "quit\n";
    uv_buf_t b = uv_buf_init(quit, sizeof(quit) - 1);
    r->quit_req.data = r;
    if (uv_write(&r->quit_req, (uv_stream_t *)&r->server_in, &b, 1,
                 on_quit_written) != 0)
      fail(r);
  } else {
    uv_process_kill(&r->server, r->stop == STOP_SIGINT ? SIGINT : SIGTERM);
  }
}

/* A client is done; when all are, the server is stopped. */
static void client_finished(client_t *c) {
  run_t *r = c->run;
  c->finished = 1;
  close_client(c);
  if (++r->finished == r->nclients)
    stop_server(r);
}

/* ---- A client ----------------------------------------------------------- */

static void send_more(client_t *c);

static void on_written(uv_write_t *req, int status) {
  out_t *o = req->data;
  client_t *c = o->client;
  free(o);
  c->in_flight--;
  if (status < 0) {
    if (c->run->stop_after > 0 && c->run->stopping)
      return; /* the server was stopped under us on purpose */
    if (status != UV_ECANCELED) {
      printf("  client %d: write failed after %llu bytes: %s\n", c->index,
             (unsigned long long)c->sent, uv_strerror(status));
      fail(c->run);
    }
    return;
  }
  send_more(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  client_t *c = req->data;
  if (status < 0 && status != UV_ECANCELED && !c->run->stopping) {
    printf("  client %d: shutdown: %s\n", c->index, uv_strerror(status));
    fail(c->run);
  }
}

/* Queues messages up to the window; after the last one, ends the stream. */
static void send_more(client_t *c) {
  run_t *r = c->run;
  if (r->failed || c->finished || uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  while (c->in_flight < WINDOW && c->messages < r->nmessages) {
    size_t n = message_size(&c->rng);
    out_t *o = malloc(sizeof(*o) + n);
    if (o == NULL) {
      printf("  client %d: out of memory\n", c->index);
      fail(r);
      return;
    }
    o->client = c;
    o->len = n;
    o->req.data = o;
    stream_fill(c->key, c->sent, o->data, n);
    uv_buf_t b = uv_buf_init((char *)o->data, (unsigned)n);
    int rc = uv_write(&o->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0) {
      free(o);
      printf("  client %d: write: %s\n", c->index, uv_strerror(rc));
      fail(r);
      return;
    }
    c->sent += n;
    c->ends[c->messages++] = c->sent;
    c->in_flight++;
  }
  if (c->messages == r->nmessages && c->in_flight == 0 &&
      c->shutdown.data == NULL) {
    c->shutdown.data = c;
    int rc = uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
    if (rc != 0) {
      printf("  client %d: shutdown: %s\n", c->index, uv_strerror(rc));
      fail(r);
    }
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  static char space[MAX_SIZE]; /* checked before the next read */
  *buf = uv_buf_init(space, sizeof(space));
}

/* The message that stream offset off belongs to, and where in it. */
static void locate(const client_t *c, uint64_t off, unsigned *msg,
                   uint64_t *at) {
  unsigned lo = 0, hi = c->messages;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (c->ends[mid] <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  *msg = lo;
  *at = off - (lo > 0 ? c->ends[lo - 1] : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = s->data;
  run_t *r = c->run;
  if (nread > 0) {
    size_t n = (size_t)nread;
    if (c->received + n > c->sent) {
      printf("  client %d: %llu bytes back but only %llu sent\n", c->index,
             (unsigned long long)(c->received + n),
             (unsigned long long)c->sent);
      fail(r);
      return;
    }
    size_t bad =
        stream_check(c->key, c->received, (unsigned char *)buf->base, n);
    if (bad < n) {
      uint64_t off = c->received + bad, at;
      unsigned msg;
      locate(c, off, &msg, &at);
      printf("  client %d: wrong byte at stream offset %llu (message %u, "
             "byte %llu): got 0x%02x, expected 0x%02x (seed %llu)\n",
             c->index, (unsigned long long)off, msg, (unsigned long long)at,
             (unsigned char)buf->base[bad], stream_byte(c->key, off),
             (unsigned long long)r->seed);
      fail(r);
      return;
    }
    c->received += n;
    if (r->stop_after > 0 && !r->stopping) {
      int all = 1;
      for (int i = 0; i < r->nclients && all; i++)
        all = r->clients[i].received >= r->stop_after;
      if (all)
        stop_server(r);
    }
    return;
  }
  if (nread == 0)
    return;
  if (r->stop_after > 0 && r->stopping) {
    client_finished(c); /* the server went away as asked */
    return;
  }
  if (nread != UV_EOF) {
    printf("  client %d: read after %llu bytes: %s\n", c->index,
           (unsigned long long)c->received, uv_strerror((int)nread));
    fail(r);
  } else if (c->messages < r->nmessages || c->received != c->sent) {
    printf("  client %d: the server closed after %llu of %llu bytes "
           "(%u of %u messages queued)\n",
           c->index, (unsigned long long)c->received,
           (unsigned long long)c->sent, c->messages, r->nmessages);
    fail(r);
  } else {
    client_finished(c);
  }
}

static void on_connect(uv_connect_t *req, int status) {
  client_t *c = req->data;
  if (status < 0) {
    printf("  client %d: connect: %s\n", c->index, uv_strerror(status));
    fail(c->run);
    return;
  }
  int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc != 0) {
    printf("  client %d: read: %s\n", c->index, uv_strerror(rc));
    fail(c->run);
    return;
  }
  send_more(c);
}

static void start_clients(run_t *r) {
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", r->port, &addr);
  for (int i = 0; i < r->nclients && !r->failed; i++) {
    client_t *c = &r->clients[i];
    c->run = r;
    c->index = i;
    c->key = test_mix64(r->seed * 1000003u + (uint64_t)i);
    c->rng = (uint32_t)(c->key >> 32) | 1u;
    c->tcp.data = c;
    c->connect.data = c;
    if (uv_tcp_init(&r->loop, &c->tcp) != 0) {
      printf("  client %d: uv_tcp_init failed\n", i);
      fail(r);
      return;
    }
    c->connected = 1;
    int rc = uv_tcp_connect(&c->connect, &c->tcp,
                            (const struct sockaddr *)&addr, on_connect);
    if (rc != 0) {
      printf("  client %d: connect: %s\n", i, uv_strerror(rc));
      fail(r);
    }
  }
}

/* ---- The server process ------------------------------------------------- */

/* One line of the server's output: the port first, statistics last. */
static void server_line(run_t *r, char *line) {
  printf("  server: %s\n", line);
  if (r->port == 0) {
    int port;
    if (sscanf(line, "port %d", &port) != 1 || port <= 0 || port > 65535) {
      printf("  the server's first line is not \"port N\"\n");
      fail(r);
      return;
    }
    r->port = port;
    start_clients(r);
    return;
  }
  if (strncmp(line, "stats:", 6) == 0) {
    r->stats_seen = 1;
    r->pool_zero = strstr(line, " pool 0 B in 0 blocks,") != NULL;
    r->task_zero = strstr(line, " task 0 B,") != NULL;
  }
}

static void on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  run_t *r = h->data;
  (void)suggested;
  *buf = uv_buf_init(r->out + r->out_len,
                     (unsigned)(sizeof(r->out) - 1 - r->out_len));
}

static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  run_t *r = s->data;
  (void)buf;
  if (nread < 0) {
    if (r->out_len > 0) { /* a last line without its newline */
      r->out[r->out_len] = '\0';
      server_line(r, r->out);
      r->out_len = 0;
    }
    close_if_open((uv_handle_t *)s);
    return;
  }
  r->out_len += (size_t)nread;
  char *nl;
  while ((nl = memchr(r->out, '\n', r->out_len)) != NULL) {
    *nl = '\0';
    server_line(r, r->out);
    size_t used = (size_t)(nl + 1 - r->out);
    memmove(r->out, nl + 1, r->out_len - used);
    r->out_len -= used;
  }
  if (r->out_len == sizeof(r->out) - 1) { /* a line too long: keep going */
    r->out[r->out_len] = '\0';
    server_line(r, r->out);
    r->out_len = 0;
  }
}

static void on_server_exit(uv_process_t *p, int64_t status, int term_signal) {
  run_t *r = p->data;
  r->exited = 1;
  r->exit_status = status;
  r->term_signal = term_signal;
  if (!r->stopping && !r->failed) {
    printf("  the server exited (status %lld, signal %d) before it was "
           "stopped\n",
           (long long)status, term_signal);
    fail(r);
  }
  close_if_open((uv_handle_t *)p);
  close_if_open((uv_handle_t *)&r->server_in);
  close_if_open((uv_handle_t *)&r->timer);
}

static void on_timeout(uv_timer_t *t) {
  run_t *r = t->data;
  r->timed_out = 1;
  printf("  timeout after %d s; unfinished clients:\n", TIMEOUT_MS / 1000);
  for (int i = 0; i < r->nclients; i++) {
    const client_t *c = &r->clients[i];
    if (!c->finished)
      printf("    client %d: %u of %u messages queued, %llu of %llu bytes "
             "back\n",
             i, c->messages, r->nmessages, (unsigned long long)c->received,
             (unsigned long long)c->sent);
  }
  fail(r);
}

static uint64_t seed_of_env(void) {
  const char *s = getenv("FA_ECHO_SEED");
  return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : 20240611u;
}

/* Runs the server and the clients to the end; the result is in r. */
static void run_echo(run_t *r) {
  ASSERT_EQ(uv_loop_init(&r->loop), 0);
  r->clients = calloc((size_t)r->nclients, sizeof(*r->clients));
  ASSERT_NOT_NULL(r->clients);
  for (int i = 0; i < r->nclients; i++) {
    r->clients[i].ends = calloc(r->nmessages, sizeof(uint64_t));
    ASSERT_NOT_NULL(r->clients[i].ends);
  }
  printf("  %d clients x %u messages of 1 B to 64 KiB, seed %llu "
         "(FA_ECHO_SEED)\n",
         r->nclients, r->nmessages, (unsigned long long)r->seed);

  ASSERT_EQ(uv_pipe_init(&r->loop, &r->server_in, 0), 0);
  ASSERT_EQ(uv_pipe_init(&r->loop, &r->server_out, 0), 0);
  r->server_out.data = r;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&r->server_in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&r->server_out;
  stdio[2].flags = UV_INHERIT_FD; /* sanitizer reports reach CTest */
  stdio[2].data.fd = 2;
  char *args[] = {FA_UV_ECHO_SERVER, "0", NULL};
  uv_process_options_t opt;
  memset(&opt, 0, sizeof(opt));
  opt.file = args[0];
  opt.args = args;
  opt.exit_cb = on_server_exit;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  r->server.data = r;
  int rc = uv_spawn(&r->loop, &r->server, &opt);
  if (rc != 0) {
    printf("  cannot start %s: %s\n", args[0], uv_strerror(rc));
    close_if_open((uv_handle_t *)&r->server);
    close_if_open((uv_handle_t *)&r->server_in);
    close_if_open((uv_handle_t *)&r->server_out);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    r->failed = 1;
    return;
  }
  ASSERT_EQ(
      uv_read_start((uv_stream_t *)&r->server_out, on_out_alloc, on_out_read),
      0);
  ASSERT_EQ(uv_timer_init(&r->loop, &r->timer), 0);
  r->timer.data = r;
  ASSERT_EQ(uv_timer_start(&r->timer, on_timeout, TIMEOUT_MS, 0), 0);

  uv_run(&r->loop, UV_RUN_DEFAULT);
  /* Only the clients of a failed run may still be open here. */
  for (int i = 0; i < r->nclients; i++)
    close_client(&r->clients[i]);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  ASSERT_EQ(uv_loop_close(&r->loop), 0);
  for (int i = 0; i < r->nclients; i++) {
    r->total_sent += r->clients[i].sent;
    free(r->clients[i].ends);
  }
  free(r->clients);
}

/* The checks every run ends with. */
static void expect_clean_end(const run_t *r) {
  ASSERT_EQ(r->failed, 0);
  ASSERT_EQ(r->timed_out, 0);
  ASSERT_EQ(r->finished, r->nclients);
  ASSERT_EQ(r->exited, 1);
  ASSERT_EQ(r->term_signal, 0);
  ASSERT_EQ(r->exit_status, 0);
  ASSERT_EQ(r->stats_seen, 1);
  ASSERT_EQ(r->pool_zero, 1);
  ASSERT_EQ(r->task_zero, 1);
}

/* 64 clients, 1,000 messages each, every byte checked; the server is
 * stopped by the control message once all of them have finished. */
TEST(load) {
  static run_t r;
  memset(&r, 0, sizeof(r));
  r.stop = STOP_QUIT;
  r.seed = seed_of_env();
  r.nclients = 64;
  r.nmessages = 1000;
  run_echo(&r);
  expect_clean_end(&r);
}

/* SIGTERM while 8 clients are still sending: the server closes the live
 * connections, whose pending writes are cancelled, and still ends with all
 * memory returned. */
TEST(sigterm_under_load) {
  static run_t r;
  memset(&r, 0, sizeof(r));
  r.stop = STOP_SIGTERM;
  r.seed = seed_of_env() + 1;
  r.nclients = 8;
  r.nmessages = 20000; /* more than they get to send before the stop */
  r.stop_after = 256 * 1024;
  run_echo(&r);
  expect_clean_end(&r);
  ASSERT_GT(r.total_sent, 0);
}

/* SIGINT stops the server as the control message does. */
TEST(sigint) {
  static run_t r;
  memset(&r, 0, sizeof(r));
  r.stop = STOP_SIGINT;
  r.seed = seed_of_env() + 2;
  r.nclients = 4;
  r.nmessages = 10;
  run_echo(&r);
  expect_clean_end(&r);
}

static const test_case_t tests[] = {
    TEST_ENTRY(load),
    TEST_ENTRY(sigterm_under_load),
    TEST_ENTRY(sigint),
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  return TEST_MAIN(tests, argc, argv);
}
