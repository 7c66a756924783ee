/* uv_echo.c: a TCP echo server on libuv whose memory comes from framealloc.
 *
 *   uv_echo [PORT [ADDRESS]]
 *
 * Listens on ADDRESS (default 127.0.0.1) at PORT (default 0: a port the
 * system picks) and sends back every byte each client sends. The first line
 * of standard output is "port N", N the port bound, written at once so that
 * a script can read it and connect.
 *
 * Memory:
 *   read buffers  the loop is bound to the allocator (fa_uv_loop_bind):
 *                 fa_uv_alloc_cb serves each read from the pools (8 KiB
 *                 blocks), and the read callback gives the buffer back with
 *                 fa_uv_buf_free;
 *   writes        each echo is a fa_uv_write_t whose task holds the copy of
 *                 the bytes; the write and its task go away when it is done
 *                 (also when the connection closes first: UV_ECANCELED);
 *   connections   pool memory, freed by their close callback.
 * A connection with too many writes in flight stops reading until the
 * client has taken some of them (back pressure), so memory stays bounded.
 *
 * It stops on SIGINT or SIGTERM, or on the control message: the line "quit"
 * on standard input, when that is a pipe or a terminal (the end of standard
 * input alone does not stop it). It then closes the listener and every
 * connection, prints one line of statistics and exits with status 0 only
 * if pool, task and heap memory are all back to zero and the library raised
 * no diagnostic. */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/uv.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  BACKLOG = 128,
  MAX_WRITES = 4, /* writes in flight before a connection stops reading */
  LINE_CAP = 64,  /* longest control line */
};

typedef struct server_s server_t;

/* One client: pool memory from accept to its close callback. */
typedef struct conn_s {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  server_t *server;
  struct conn_s *prev, *next; /* the server's live connections */
  unsigned writes;            /* echoes in flight */
  int reading;                /* uv_read_start is in effect */
  int eof;                    /* the client has finished sending */
  unsigned long long bytes;   /* bytes echoed */
} conn_t;

struct server_s {
  fa_allocator_t *a;
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_signal_t sigint, sigterm;
  union { /* standard input, when it can carry control messages */
    uv_handle_t handle;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } control;
  int has_control;
  char line[LINE_CAP];
  size_t line_len;
  conn_t *conns;
  int stopping;
  unsigned long long accepted, bytes, errors;
};

static int diagnostics;

static void on_diagnostic(const fa_diag_t *d, void *user) {
  (void)user;
  diagnostics++;
  fprintf(stderr, "uv_echo: %s %s: %s\n", fa_diag_name(d->code),
          d->level == FA_LEVEL_ERROR ? "error" : "warning", d->message);
}

/* ---- Connections -------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  server_t *sv = c->server;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    sv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  sv->bytes += c->bytes;
  fa_pool_free(sv->a, c);
}

static void close_conn(conn_t *c) {
  uv_handle_t *h = (uv_handle_t *)&c->tcp;
  if (!uv_is_closing(h))
    uv_close(h, on_conn_closed); /* pending writes end with UV_ECANCELED */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(fa_uv_write_t *wr, int status) {
  conn_t *c = fa_uv_write_data(wr);
  c->writes--;
  if (status < 0) {
    if (status != UV_ECANCELED) {
      c->server->errors++;
      close_conn(c);
    }
    return;
  }
  /* Below half the limit again: take more from the client. */
  if (!c->reading && !c->eof && !c->server->stopping &&
      !uv_is_closing((uv_handle_t *)&c->tcp) && c->writes <= MAX_WRITES / 2) {
    if (uv_read_start((uv_stream_t *)&c->tcp, fa_uv_alloc_cb, on_read) == 0)
      c->reading = 1;
    else
      close_conn(c);
  }
}

/* Sends back n bytes: a copy in the task of a new write. 0 or an error. */
static int echo(conn_t *c, const char *data, size_t n) {
  fa_uv_write_t *wr = fa_uv_write_create(c->server->a);
  if (wr == NULL)
    return UV_ENOMEM;
  char *copy = fa_task_alloc(fa_uv_write_task(wr), n, 1);
  if (copy == NULL) {
    fa_uv_write_destroy(wr);
    return UV_ENOMEM;
  }
  memcpy(copy, data, n);
  fa_uv_write_set_data(wr, c);
  uv_buf_t out = uv_buf_init(copy, (unsigned)n);
  int rc = fa_uv_write(wr, (uv_stream_t *)&c->tcp, &out, 1, on_written);
  if (rc < 0) {
    fa_uv_write_destroy(wr);
    return rc;
  }
  c->writes++;
  c->bytes += n;
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status; /* every echo has been sent, or the connection is gone */
  close_conn(req->data);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  int rc = 0;
  if (nread > 0)
    rc = echo(c, buf->base, (size_t)nread);
  fa_uv_buf_free((uv_handle_t *)s, buf); /* the echo has its own copy */
  if (nread == UV_EOF) {
    /* The client is done: end our side once every echo has gone out. */
    c->eof = 1;
    c->reading = 0;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, s, on_shutdown) < 0)
      close_conn(c);
  } else if (nread < 0 || rc < 0) {
    fprintf(stderr, "uv_echo: connection: %s\n",
            uv_strerror(nread < 0 ? (int)nread : rc));
    c->server->errors++;
    close_conn(c);
  } else if (c->writes >= MAX_WRITES && c->reading) {
    uv_read_stop(s); /* back pressure: on_written starts it again */
    c->reading = 0;
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  server_t *sv = listener->data;
  if (status < 0) {
    fprintf(stderr, "uv_echo: accept: %s\n", uv_strerror(status));
    sv->errors++;
    return;
  }
  conn_t *c = fa_pool_new(sv->a, conn_t);
  if (c == NULL || uv_tcp_init(sv->loop, &c->tcp) != 0) {
    fprintf(stderr, "uv_echo: no memory for a connection\n");
    fa_pool_free(sv->a, c);
    sv->errors++;
    return;
  }
  c->server = sv;
  c->tcp.data = c;
  c->next = sv->conns;
  if (sv->conns != NULL)
    sv->conns->prev = c;
  sv->conns = c;
  sv->accepted++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, fa_uv_alloc_cb, on_read) != 0) {
    close_conn(c);
    return;
  }
  c->reading = 1;
}

/* ---- Stopping ----------------------------------------------------------- */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Closes every handle; uv_run returns once their callbacks have run. */
static void stop(server_t *sv, const char *why) {
  if (sv->stopping)
    return;
  sv->stopping = 1;
  printf("stopping: %s\n", why);
  fflush(stdout);
  close_if_open((uv_handle_t *)&sv->listener);
  close_if_open((uv_handle_t *)&sv->sigint);
  close_if_open((uv_handle_t *)&sv->sigterm);
  if (sv->has_control)
    close_if_open(&sv->control.handle);
  for (conn_t *c = sv->conns; c != NULL; c = c->next)
    close_conn(c);
}

static void on_signal(uv_signal_t *h, int signum) {
  stop(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* Standard input: lines of control messages; "quit" is the only one. */
static void on_control(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  server_t *sv = s->data;
  for (ssize_t i = 0; i < nread; i++) {
    char ch = buf->base[i];
    if (ch != '\n') {
      if (sv->line_len < LINE_CAP - 1)
        sv->line[sv->line_len++] = ch;
      continue;
    }
    sv->line[sv->line_len] = '\0';
    sv->line_len = 0;
    if (strcmp(sv->line, "quit") == 0 || strcmp(sv->line, "quit\r") == 0) {
      stop(sv, "quit");
      break;
    }
    fprintf(stderr, "uv_echo: unknown control message \"%s\"\n", sv->line);
  }
  fa_uv_buf_free((uv_handle_t *)s, buf);
  if (nread < 0 && !sv->stopping)
    close_if_open((uv_handle_t *)s); /* the end of input alone: go on */
}

/* Reads control messages from standard input if it is a pipe or a terminal;
 * a file or nothing at all is left alone. */
static void open_control(server_t *sv) {
  uv_handle_type type = uv_guess_handle(0);
  int rc = -1;
  if (type == UV_NAMED_PIPE) {
    rc = uv_pipe_init(sv->loop, &sv->control.pipe, 0);
    if (rc == 0 && (rc = uv_pipe_open(&sv->control.pipe, 0)) != 0)
      uv_close(&sv->control.handle, NULL);
  } else if (type == UV_TTY) {
    rc = uv_tty_init(sv->loop, &sv->control.tty, 0, 1);
  }
  if (rc != 0)
    return;
  sv->control.handle.data = sv;
  sv->has_control = 1;
  if (uv_read_start((uv_stream_t *)&sv->control.handle, fa_uv_alloc_cb,
                    on_control) != 0)
    close_if_open(&sv->control.handle);
}

/* ---- Set-up ------------------------------------------------------------- */

/* Binds and listens, prints the port and opens the signal and control
 * handles. 0 or an error; on error the handles opened are closed. */
static int start(server_t *sv, const char *address, int port) {
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(address, port, (struct sockaddr_in *)&addr);
  if (rc != 0)
    rc = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&addr);
  if (rc != 0 || (rc = uv_tcp_init(sv->loop, &sv->listener)) != 0)
    return rc;
  sv->listener.data = sv;
  rc = uv_tcp_bind(&sv->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&sv->listener, BACKLOG, on_connection);
  int len = (int)sizeof(addr);
  if (rc == 0)
    rc = uv_tcp_getsockname(&sv->listener, (struct sockaddr *)&addr, &len);
  if (rc == 0 && (rc = uv_signal_init(sv->loop, &sv->sigint)) == 0 &&
      (rc = uv_signal_init(sv->loop, &sv->sigterm)) != 0)
    uv_close((uv_handle_t *)&sv->sigint, NULL);
  if (rc != 0) {
    uv_close((uv_handle_t *)&sv->listener, NULL);
    return rc;
  }
  sv->sigint.data = sv->sigterm.data = sv;
  uv_signal_start(&sv->sigint, on_signal, SIGINT);
  uv_signal_start(&sv->sigterm, on_signal, SIGTERM);
  open_control(sv);

  int bound = addr.ss_family == AF_INET6
                  ? ((struct sockaddr_in6 *)&addr)->sin6_port
                  : ((struct sockaddr_in *)&addr)->sin_port;
  printf("port %d\n", (int)ntohs((uint16_t)bound));
  fflush(stdout);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: uv_echo [PORT [ADDRESS]]\n"
                  "  PORT     0 to 65535; 0 (the default): any free port\n"
                  "  ADDRESS  the address to listen on (default 127.0.0.1)\n"
                  "Stops on SIGINT, SIGTERM or the line \"quit\" on "
                  "standard input.\n");
  return 2;
}

int main(int argc, char **argv) {
  int port = 0;
  const char *address = argc > 2 ? argv[2] : "127.0.0.1";
  if (argc > 3)
    return usage();
  if (argc > 1) {
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || v < 0 || v > 65535)
      return usage();
    port = (int)v;
  }

  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error code */
  fa_config_t cfg = {0};
  cfg.pool_max_size = FA_POOL_MAX_LIMIT; /* 8 KiB blocks for the reads */
  /* Every write in flight holds a 64 KiB task page: keep enough of them
   * cached that a busy server does not map and unmap a page per echo. */
  cfg.cache_max_size = (size_t)32 << 20;
  cfg.on_diagnostic = on_diagnostic;
  server_t sv;
  memset(&sv, 0, sizeof(sv));
  uv_loop_t loop;
  sv.loop = &loop;
  sv.a = fa_create(&cfg);
  if (sv.a == NULL || uv_loop_init(&loop) != 0) {
    fprintf(stderr, "uv_echo: cannot create the allocator or loop\n");
    fa_release(sv.a);
    return 1;
  }
  /* 0: the largest buffers that stay in the pools, here just under 8 KiB */
  int rc = fa_uv_loop_bind(&loop, sv.a, 0);
  if (rc == 0)
    rc = start(&sv, address, port);
  if (rc != 0) {
    fprintf(stderr, "uv_echo: cannot listen on %s port %d: %s\n", address, port,
            uv_strerror(rc));
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  fa_uv_loop_unbind(&loop);
  int closed = uv_loop_close(&loop);

  fa_stats_t st;
  fa_get_stats(sv.a, &st);
  printf("stats: %llu connections, %llu bytes echoed, %llu errors; "
         "pool %llu B in %llu blocks, task %llu B, heap %llu B, "
         "diagnostics %d; %llu memory requests to the OS\n",
         sv.accepted, sv.bytes, sv.errors, (unsigned long long)st.pool_bytes,
         (unsigned long long)st.pool_count, (unsigned long long)st.task_bytes,
         (unsigned long long)st.heap_bytes, diagnostics,
         (unsigned long long)st.os_requests);
  fflush(stdout);
  int clean = rc == 0 && closed == 0 && st.pool_bytes == 0 &&
              st.pool_count == 0 && st.task_bytes == 0 && st.heap_bytes == 0 &&
              diagnostics == 0;
  fa_release(sv.a);
  if (!clean && rc == 0)
    fprintf(stderr, "uv_echo: memory still live, a handle left open or "
                    "diagnostics raised\n");
  return clean ? 0 : 1;
}
