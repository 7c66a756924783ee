/* uv_game_loop.c: a headless game loop on libuv that streams its assets.
 *
 * The game-engine loop of the async guide, in C. Every frame:
 *
 *   1. fa_begin_frame;
 *   2. sync phase: the input record and the physics scratch (accelerations)
 *      are frame memory;
 *   3. render: a draw list in frame memory, sorted by depth and "drawn"
 *      into a checksum of the image;
 *   4. asset streaming: sprite loads go to libuv's thread pool through
 *      fa_uv_queue_work. A load reads its file with uv_fs_* calls on the
 *      pool thread, keeps its path, request and file bytes in the work
 *      item's task memory, and decodes the sprite into pool memory, which
 *      the main loop adopts one frame later;
 *   5. uv_run(loop, UV_RUN_NOWAIT): finished loads run their after callback
 *      here, on the loop thread, and queue their sprite for the next frame;
 *   6. fa_end_frame.
 *
 * The sprite files are written at start into a fresh temporary directory
 * (uv_fs_mkdtemp) and removed at the end. A fixed number of loads is made,
 * every sprite is compared with what was written, and the program exits
 * nonzero unless every load completed, pool, heap and task memory are all
 * back to zero and the library raised no diagnostic. */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/uv.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  FRAMES = 300,       /* five simulated seconds */
  FPS = 60,           /* frames per simulated second */
  FRAME_MS = 4,       /* what a frame waits for, rendering headless */
  DRAIN_FRAMES = 750, /* extra frames allowed for the last loads */
  SPRITES = 12,       /* sprite files on disk */
  LOADS = 48,         /* loads made: every sprite, four times over */
  LOAD_EVERY = 15,    /* frames between two requests */
  LOADS_AT_ONCE = 3,  /* loads per request: a chunk of the level */
  PARTICLES = 192,    /* things on screen, each drawn with a sprite */
  PATH_CAP = 512,     /* room for the directory's path */
};

#define DT (1.0f / (float)FPS)

/* A decoded sprite: pool memory, made on a pool thread, adopted and freed
 * by the main loop. */
typedef struct sprite_s {
  struct sprite_s *next; /* in the list of finished loads */
  int id;
  unsigned w, h;
  uint32_t checksum; /* of the decoded pixels */
  unsigned char *pixels;
} sprite_t;

struct game_s;

/* One load in flight: pool memory from submission to its after callback,
 * which frees it. */
typedef struct load_s {
  fa_uv_work_t work;
  struct game_s *game;
  int sprite;
  int error;      /* a libuv error of the load, or 0 */
  sprite_t *done; /* the work's result */
} load_t;

typedef struct particle_s {
  float x, y, vx, vy, depth;
  int sprite;
} particle_t;

/* What the player "did" this frame: frame memory. */
typedef struct input_s {
  float wind;
  int request_loads; /* sprites to stream in this frame */
} input_t;

/* One entry of the draw list: frame memory. */
typedef struct draw_s {
  float depth;
  int x, y;
  const sprite_t *sprite;
} draw_t;

typedef fa_frame_vec(draw_t) draw_vec_t;

typedef struct game_s {
  fa_allocator_t *a;
  uv_loop_t *loop;
  char dir[PATH_CAP];           /* written before any load is queued */
  uint32_t expected[SPRITES];   /* checksums of the files written */
  particle_t *particles;        /* heap memory, the whole run */
  sprite_t *cache[SPRITES];     /* the current copy of each sprite */
  sprite_t *ready, **ready_end; /* finished loads, loop thread only */
  unsigned submitted, in_flight, completed, failed, mismatched;
  uint64_t drawn;
  uint32_t image; /* checksum of everything drawn */
  uint32_t rng;
} game_t;

static atomic_int diagnostics; /* raised on any thread */

static void on_diagnostic(const fa_diag_t *d, void *user) {
  (void)user;
  atomic_fetch_add(&diagnostics, 1);
  fprintf(stderr, "uv_game_loop: %s %s: %s\n", fa_diag_name(d->code),
          d->level == FA_LEVEL_ERROR ? "error" : "warning", d->message);
}

static uint32_t rng_next(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static float rng_unit(uint32_t *s) {
  return (float)(rng_next(s) >> 8) / (float)(1u << 24);
}

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* ---- The sprite files -------------------------------------------------- */

/* A sprite file: "SPR1", width and height (one byte each), then runs of
 * (count 1..255, value) pairs covering width * height pixels. */
static void sprite_size(int id, unsigned *w, unsigned *h) {
  *w = 16 + (unsigned)(id * 8) % 48;
  *h = 16 + (unsigned)(id * 20) % 48;
}

static unsigned char sprite_pixel(int id, unsigned x, unsigned y) {
  return (unsigned char)((x / 4 + y / 3 + (unsigned)id * 17) & 0xff);
}

static void sprite_path(const game_t *g, int id, char *out, size_t cap) {
  snprintf(out, cap, "%s/sprite-%02d.spr", g->dir, id);
}

/* Writes sprite id to its file and records its checksum; 0 or an error. */
static int write_sprite(game_t *g, int id) {
  unsigned w, h;
  sprite_size(id, &w, &h);
  size_t cap = 6 + 2 * (size_t)w * h; /* the worst case: runs of one */
  unsigned char *file = fa_heap_alloc(g->a, cap, 0);
  if (file == NULL)
    return UV_ENOMEM;
  size_t n = 0;
  memcpy(file, "SPR1", 4);
  file[4] = (unsigned char)w;
  file[5] = (unsigned char)h;
  n = 6;
  uint32_t sum = 2166136261u;
  for (unsigned y = 0; y < h; y++) {
    for (unsigned x = 0; x < w;) {
      unsigned char v = sprite_pixel(id, x, y);
      unsigned run = 0;
      while (x < w && run < 255 && sprite_pixel(id, x, y) == v) {
        sum = fnv1a(sum, &v, 1);
        x++;
        run++;
      }
      file[n++] = (unsigned char)run;
      file[n++] = v;
    }
  }
  g->expected[id] = sum;

  char path[PATH_CAP + 32];
  sprite_path(g, id, path, sizeof(path));
  uv_fs_t req;
  int fd = uv_fs_open(g->loop, &req, path, UV_FS_O_WRONLY | UV_FS_O_CREAT, 0644,
                      NULL);
  uv_fs_req_cleanup(&req);
  int rc = fd;
  if (fd >= 0) {
    uv_buf_t buf = uv_buf_init((char *)file, (unsigned)n);
    rc = uv_fs_write(g->loop, &req, fd, &buf, 1, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (rc >= 0)
      rc = rc == (int)n ? 0 : UV_EIO;
    uv_fs_close(g->loop, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
  }
  fa_heap_free(g->a, file);
  return rc;
}

/* Makes the directory and writes every sprite; 0 or an error. */
static int write_sprites(game_t *g) {
  char tmpl[PATH_CAP];
  size_t len = sizeof(tmpl) - 32;
  int rc = uv_os_tmpdir(tmpl, &len);
  if (rc < 0)
    return rc;
  snprintf(tmpl + len, sizeof(tmpl) - len, "/fa-uv-game-XXXXXX");
  uv_fs_t req;
  rc = uv_fs_mkdtemp(g->loop, &req, tmpl, NULL);
  if (rc == 0)
    snprintf(g->dir, sizeof(g->dir), "%s", req.path);
  uv_fs_req_cleanup(&req);
  for (int id = 0; rc == 0 && id < SPRITES; id++)
    rc = write_sprite(g, id);
  return rc;
}

/* Removes the sprite files and their directory. */
static void remove_sprites(game_t *g) {
  if (g->dir[0] == '\0')
    return;
  uv_fs_t req;
  for (int id = 0; id < SPRITES; id++) {
    char path[PATH_CAP + 32];
    sprite_path(g, id, path, sizeof(path));
    uv_fs_unlink(g->loop, &req, path, NULL);
    uv_fs_req_cleanup(&req);
  }
  if (uv_fs_rmdir(g->loop, &req, g->dir, NULL) < 0)
    fprintf(stderr, "uv_game_loop: cannot remove %s\n", g->dir);
  uv_fs_req_cleanup(&req);
}

/* ---- Loading, on the thread pool ---------------------------------------- */

/* Reads the whole file at path into task memory; its size in *size. */
static unsigned char *read_file(uv_loop_t *loop, fa_task_t *t, const char *path,
                                size_t *size, int *err) {
  uv_fs_t *req = fa_task_new(t, uv_fs_t);
  if (req == NULL) {
    *err = UV_ENOMEM;
    return NULL;
  }
  int fd = uv_fs_open(loop, req, path, UV_FS_O_RDONLY, 0, NULL);
  uv_fs_req_cleanup(req);
  if (fd < 0) {
    *err = fd;
    return NULL;
  }
  unsigned char *data = NULL;
  int rc = uv_fs_fstat(loop, req, fd, NULL);
  size_t n = rc == 0 ? (size_t)req->statbuf.st_size : 0;
  uv_fs_req_cleanup(req);
  if (rc == 0) {
    data = fa_task_alloc(t, n, 1);
    rc = data != NULL ? 0 : UV_ENOMEM;
  }
  for (size_t got = 0; rc == 0 && got < n;) {
    uv_buf_t buf = uv_buf_init((char *)data + got, (unsigned)(n - got));
    rc = uv_fs_read(loop, req, fd, &buf, 1, (int64_t)got, NULL);
    uv_fs_req_cleanup(req);
    if (rc > 0) {
      got += (size_t)rc;
      rc = 0;
    } else if (rc == 0) {
      rc = UV_EIO; /* the file shrank under us */
    }
  }
  uv_fs_close(loop, req, fd, NULL);
  uv_fs_req_cleanup(req);
  *err = rc;
  *size = n;
  return rc == 0 ? data : NULL;
}

/* Decodes a sprite file into pool memory; NULL with *err set on failure. */
static sprite_t *decode_sprite(fa_allocator_t *a, int id,
                               const unsigned char *file, size_t n, int *err) {
  *err = UV_EINVAL;
  if (n < 6 || memcmp(file, "SPR1", 4) != 0)
    return NULL;
  unsigned w = file[4], h = file[5];
  sprite_t *s = fa_pool_new(a, sprite_t);
  unsigned char *px = fa_pool_alloc(a, (size_t)w * h);
  if (s == NULL || px == NULL) {
    fa_pool_free(a, px);
    fa_pool_free(a, s);
    *err = UV_ENOMEM;
    return NULL;
  }
  size_t at = 0, total = (size_t)w * h;
  for (size_t i = 6; i + 1 < n && at < total; i += 2) {
    size_t run = file[i];
    if (run == 0 || run > total - at)
      break;
    memset(px + at, file[i + 1], run);
    at += run;
  }
  if (at != total) {
    fa_pool_free(a, px);
    fa_pool_free(a, s);
    return NULL;
  }
  *s = (sprite_t){NULL, id, w, h, fnv1a(2166136261u, px, total), px};
  *err = 0;
  return s;
}

/* The work callback: a pool thread, inside the load's task scope. The
 * path, the uv_fs_t and the file bytes are task memory, gone when the task
 * is destroyed after load_done; the sprite is pool memory for the loop. */
static void load_work(fa_uv_work_t *w, fa_task_t *t) {
  load_t *ld = w->data;
  const game_t *g = ld->game;
  char *path = fa_task_alloc(t, PATH_CAP + 32, 1);
  if (path == NULL) {
    ld->error = UV_ENOMEM;
    return;
  }
  sprite_path(g, ld->sprite, path, PATH_CAP + 32);
  size_t n = 0;
  unsigned char *file = read_file(g->loop, t, path, &n, &ld->error);
  if (file != NULL)
    ld->done = decode_sprite(g->a, ld->sprite, file, n, &ld->error);
}

/* The after callback: the loop thread, inside uv_run, inside the task's
 * scope. It hands the sprite to the main loop and frees the load. */
static void load_done(fa_uv_work_t *w, fa_task_t *t, int status) {
  load_t *ld = w->data;
  game_t *g = ld->game;
  (void)t;
  if (status == 0 && ld->done != NULL) {
    *g->ready_end = ld->done;
    g->ready_end = &ld->done->next;
    g->completed++;
  } else {
    fprintf(stderr, "uv_game_loop: loading sprite %d failed: %s\n", ld->sprite,
            uv_strerror(status < 0 ? status : ld->error));
    g->failed++;
  }
  g->in_flight--;
  fa_pool_free(g->a, ld);
}

/* Queues a load of sprite id; 0 or an error. */
static int request_load(game_t *g, int id) {
  load_t *ld = fa_pool_new(g->a, load_t);
  if (ld == NULL)
    return UV_ENOMEM;
  ld->game = g;
  ld->sprite = id;
  ld->work.data = ld;
  int rc = fa_uv_queue_work(g->loop, g->a, &ld->work, load_work, load_done);
  if (rc < 0) {
    fa_pool_free(g->a, ld);
    return rc;
  }
  g->submitted++;
  g->in_flight++;
  return 0;
}

/* Adopts the sprites that finished since the last frame: a new copy
 * replaces the old one, which goes back to the pool. */
static void adopt_sprites(game_t *g) {
  while (g->ready != NULL) {
    sprite_t *s = g->ready;
    g->ready = s->next;
    if (s->checksum != g->expected[s->id]) {
      fprintf(stderr, "uv_game_loop: sprite %d: checksum %08x, wrote %08x\n",
              s->id, (unsigned)s->checksum, (unsigned)g->expected[s->id]);
      g->mismatched++;
    }
    sprite_t *old = g->cache[s->id];
    if (old != NULL) {
      fa_pool_free(g->a, old->pixels);
      fa_pool_free(g->a, old);
    }
    g->cache[s->id] = s;
  }
  g->ready_end = &g->ready;
}

/* ---- The sync phase: input, physics, render ----------------------------- */

static input_t *poll_input(game_t *g, int frame) {
  float wind = rng_unit(&g->rng) - 0.5f;
  int loads =
      (frame + 1) % LOAD_EVERY == 0 && g->submitted < LOADS ? LOADS_AT_ONCE : 0;
  return fa_frame_box(g->a, input_t, {.wind = wind, .request_loads = loads});
}

static int physics(game_t *g, const input_t *in) {
  fa_mark_t mark = fa_frame_mark(g->a);
  float *ax = fa_frame_array(g->a, float, PARTICLES);
  float *ay = fa_frame_array(g->a, float, PARTICLES);
  if (ax == NULL || ay == NULL)
    return -1;
  for (int i = 0; i < PARTICLES; i++) {
    const particle_t *p = &g->particles[i];
    ax[i] = in->wind - 0.2f * p->vx;
    ay[i] = -9.8f - 0.2f * p->vy;
  }
  for (int i = 0; i < PARTICLES; i++) {
    particle_t *p = &g->particles[i];
    p->vx += ax[i] * DT;
    p->vy += ay[i] * DT;
    p->x += p->vx * DT;
    p->y += p->vy * DT;
    if (p->y < 0.0f) { /* bounce back up, as if thrown again */
      p->y = 0.0f;
      p->vy = 6.0f + 4.0f * rng_unit(&g->rng);
    }
    if (p->x < 0.0f || p->x > 100.0f)
      p->vx = -p->vx;
  }
  fa_frame_rewind(g->a, mark); /* the accelerations are gone */
  return 0;
}

static int by_depth(const void *l, const void *r) {
  const draw_t *p = l, *q = r;
  return (p->depth > q->depth) - (p->depth < q->depth);
}

/* Builds the draw list of the loaded sprites, sorts it back to front and
 * "draws" it: one pixel of each sprite goes into the image's checksum. */
static int render(game_t *g) {
  draw_vec_t list = {0};
  for (int i = 0; i < PARTICLES; i++) {
    const particle_t *p = &g->particles[i];
    const sprite_t *s = g->cache[p->sprite];
    if (s == NULL)
      continue; /* not streamed in yet */
    draw_t d = {p->depth, (int)p->x, (int)p->y, s};
    if (fa_frame_vec_push(g->a, &list, d) != 0)
      return -1;
  }
  if (list.len > 1)
    qsort(list.data, list.len, sizeof(*list.data), by_depth);
  for (size_t i = 0; i < list.len; i++) {
    const draw_t *d = &list.data[i];
    unsigned at =
        ((unsigned)d->x * 7u + (unsigned)d->y) % (d->sprite->w * d->sprite->h);
    g->image = fnv1a(g->image, &d->sprite->pixels[at], 1);
  }
  g->drawn += list.len;
  return 0;
}

static void print_second(const game_t *g, int frames, const fa_stats_t *st) {
  printf("second %d: frames %3d  frame %5llu B (peak %5llu B)  "
         "pool %6llu B  task %7llu B  loads %2u/%u done, %u in flight\n",
         frames / FPS, frames, (unsigned long long)st->frame_bytes,
         (unsigned long long)st->frame_peak, (unsigned long long)st->pool_bytes,
         (unsigned long long)st->task_bytes, g->completed, (unsigned)LOADS,
         g->in_flight);
}

/* One frame of the loop; 0, or -1 when memory ran out. */
static int run_frame(game_t *g, int frame) {
  fa_begin_frame(g->a);
  int rc = 0;
  adopt_sprites(g);
  input_t *in = poll_input(g, frame);
  if (in == NULL || physics(g, in) != 0 || render(g) != 0)
    rc = -1;
  for (int i = 0; rc == 0 && i < in->request_loads; i++) {
    int id = (int)(g->submitted * 5 % SPRITES); /* 5 and 12: all of them */
    int err = request_load(g, id);
    if (err < 0) {
      fprintf(stderr, "uv_game_loop: cannot queue a load: %s\n",
              uv_strerror(err));
      rc = -1;
    }
  }
  if ((frame + 1) % FPS == 0) {
    fa_stats_t st;
    fa_get_stats(g->a, &st); /* before the end: this frame is still live */
    print_second(g, frame + 1, &st);
  }
  uv_run(g->loop, UV_RUN_NOWAIT); /* finished loads call load_done here */
  fa_end_frame(g->a);
  return rc;
}

/* ---- Set-up and tear-down ----------------------------------------------- */

static int make_particles(game_t *g) {
  g->particles = fa_heap_alloc(g->a, PARTICLES * sizeof(particle_t), 0);
  if (g->particles == NULL)
    return -1;
  for (int i = 0; i < PARTICLES; i++) {
    particle_t p;
    p.x = rng_unit(&g->rng) * 100.0f;
    p.y = rng_unit(&g->rng) * 50.0f;
    p.vx = rng_unit(&g->rng) * 4.0f - 2.0f;
    p.vy = 0.0f;
    p.depth = rng_unit(&g->rng);
    p.sprite = i % SPRITES;
    g->particles[i] = p;
  }
  return 0;
}

static void free_game(game_t *g) {
  adopt_sprites(g);
  for (int id = 0; id < SPRITES; id++) {
    if (g->cache[id] != NULL) {
      fa_pool_free(g->a, g->cache[id]->pixels);
      fa_pool_free(g->a, g->cache[id]);
      g->cache[id] = NULL;
    }
  }
  fa_heap_free(g->a, g->particles);
  g->particles = NULL;
}

int main(void) {
  fa_config_t cfg = {0};
  cfg.frame_budget = 1 << 20;
  cfg.on_diagnostic = on_diagnostic;
  fa_allocator_t *a = fa_create(&cfg);
  uv_loop_t loop;
  if (a == NULL || uv_loop_init(&loop) != 0) {
    fprintf(stderr, "uv_game_loop: cannot create the allocator or loop\n");
    fa_release(a);
    return 1;
  }
  game_t g;
  memset(&g, 0, sizeof(g));
  g.a = a;
  g.loop = &loop;
  g.ready_end = &g.ready;
  g.rng = 0x9e3779b9u;

  int ok = 1;
  int rc = write_sprites(&g);
  if (rc < 0) {
    fprintf(stderr, "uv_game_loop: cannot write the sprites: %s\n",
            uv_strerror(rc));
    ok = 0;
  }
  if (ok && make_particles(&g) != 0)
    ok = 0;
  if (ok)
    printf("framealloc %s on libuv %s: %d frames at %d per simulated "
           "second, %d loads of %d sprites\n",
           fa_version_string(), uv_version_string(), FRAMES, FPS, LOADS,
           SPRITES);

  int frame = 0;
  for (; ok &&
         (frame < FRAMES || (g.in_flight > 0 && frame < FRAMES + DRAIN_FRAMES));
       frame++) {
    ok = run_frame(&g, frame) == 0;
    uv_sleep(FRAME_MS);
  }
  if (g.in_flight > 0) { /* only after an error: wait for the rest */
    fprintf(stderr, "uv_game_loop: %u loads still running\n", g.in_flight);
    uv_run(&loop, UV_RUN_DEFAULT);
    ok = 0;
  }

  free_game(&g);
  remove_sprites(&g);
  int closed = uv_loop_close(&loop);

  fa_stats_t st;
  fa_get_stats(a, &st);
  int diags = atomic_load(&diagnostics);
  printf("end: %d frames, %u loads (%u failed, %u wrong), %llu sprites "
         "drawn; frame %llu B, pool %llu B, heap %llu B, task %llu B, "
         "diagnostics %d\n",
         frame, g.completed, g.failed, g.mismatched,
         (unsigned long long)g.drawn, (unsigned long long)st.frame_bytes,
         (unsigned long long)st.pool_bytes, (unsigned long long)st.heap_bytes,
         (unsigned long long)st.task_bytes, diags);
  int clean = ok && closed == 0 && g.completed == LOADS && g.failed == 0 &&
              g.mismatched == 0 && st.frame_bytes == 0 && st.pool_bytes == 0 &&
              st.pool_count == 0 && st.heap_bytes == 0 && st.task_bytes == 0 &&
              diags == 0;
  fa_release(a);
  if (!clean) {
    fprintf(stderr, "uv_game_loop: loads missing, memory still live or "
                    "diagnostics raised\n");
    return 1;
  }
  printf("every load completed; pool, heap and task memory all returned\n");
  return 0;
}
