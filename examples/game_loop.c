/* game_loop.c: a headless game loop on the frame, pool and heap tiers.
 *
 * Every simulated frame reads its input and runs physics in frame memory:
 * the input record, per-step acceleration arrays and a growable vector of
 * contacts are scratch that disappears at fa_end_frame. Entities live in
 * pool memory: they are spawned and despawned over time, each one freed with
 * fa_pool_free. The table of live entities is heap memory that lives for the
 * whole run.
 *
 * The loop runs a fixed number of frames at a simulated 60 frames per second
 * and prints a summary once per simulated second and at the end. It exits
 * with a nonzero status if pool or heap memory is still live at the end, or
 * if the library raised any diagnostic. */

#include <framealloc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum {
  FRAMES = 600,       /* ten simulated seconds */
  FPS = 60,           /* frames per simulated second */
  SUBSTEPS = 2,       /* physics steps per frame */
  MAX_ENTITIES = 160, /* capacity of the entity table */
};

#define WORLD_SIZE 64.0f
#define DT (1.0f / (float)(FPS * SUBSTEPS))

typedef struct vec2_s {
  float x, y;
} vec2_t;

/* An entity: pool memory, from its spawn to its despawn. */
typedef struct entity_s {
  unsigned id;
  vec2_t pos, vel;
  float radius;
  int ttl; /* frames left to live */
} entity_t;

/* One overlap found by the physics step: frame memory. */
typedef struct contact_s {
  unsigned a, b; /* indices into the entity table */
  float depth;
} contact_t;

typedef fa_frame_vec(contact_t) contact_vec_t;

/* What the player "did" this frame: frame memory. */
typedef struct input_s {
  vec2_t wind;
  int spawn; /* entities to spawn this frame */
} input_t;

typedef struct world_s {
  entity_t **entities; /* heap memory: lives as long as the world */
  size_t count;
  unsigned next_id;
  uint64_t spawned, despawned, contacts;
} world_t;

/* A small deterministic generator, so that every run is the same. */
static uint32_t rng_next(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* A float in [0, 1). */
static float rng_unit(uint32_t *s) {
  return (float)(rng_next(s) >> 8) / (float)(1u << 24);
}

/* Counts diagnostics instead of printing them silently past the user. */
static void on_diagnostic(const fa_diag_t *d, void *user) {
  int *count = user;
  ++*count;
  fprintf(stderr, "game_loop: %s %s: %s\n", fa_diag_name(d->code),
          d->level == FA_LEVEL_ERROR ? "error" : "warning", d->message);
}

/* The input of one frame, in frame memory: valid until fa_end_frame. */
static input_t *poll_input(fa_allocator_t *a, uint32_t *rng, size_t live) {
  float t = rng_unit(rng);
  float wx = rng_unit(rng) - 0.5f;
  float wy = rng_unit(rng) - 0.5f;
  int n = live < MAX_ENTITIES && t < 0.6f ? 1 + (t < 0.1f) : 0;
  return fa_frame_box(a, input_t, {.wind = {wx, wy}, .spawn = n});
}

/* Spawns n entities into pool memory; 0, or -1 if memory ran out. */
static int spawn(fa_allocator_t *a, world_t *w, uint32_t *rng, int n) {
  for (int i = 0; i < n && w->count < MAX_ENTITIES; i++) {
    vec2_t pos, vel; /* one draw per statement: the order is fixed */
    pos.x = rng_unit(rng) * WORLD_SIZE;
    pos.y = rng_unit(rng) * WORLD_SIZE;
    vel.x = rng_unit(rng) * 8.0f - 4.0f;
    vel.y = rng_unit(rng) * 8.0f - 4.0f;
    float radius = 0.5f + rng_unit(rng);
    int ttl = 60 + (int)(rng_next(rng) % 240);
    entity_t *e = fa_pool_box(a, entity_t,
                              {.id = w->next_id,
                               .pos = pos,
                               .vel = vel,
                               .radius = radius,
                               .ttl = ttl});
    if (e == NULL)
      return -1;
    w->entities[w->count++] = e;
    w->next_id++;
    w->spawned++;
  }
  return 0;
}

/* Despawns the entities whose time is up; with all set, every entity. */
static void despawn(fa_allocator_t *a, world_t *w, int all) {
  size_t i = 0;
  while (i < w->count) {
    entity_t *e = w->entities[i];
    if (all || --e->ttl <= 0) {
      fa_pool_free(a, e);
      w->entities[i] = w->entities[--w->count];
      w->despawned++;
    } else {
      i++;
    }
  }
}

/* One integration step. The accelerations are scratch that this step alone
 * needs, so the frame is rewound to the mark once the step is done: the
 * memory is reused by the next step of the same frame. */
static int integrate(fa_allocator_t *a, world_t *w, const input_t *in) {
  fa_mark_t mark = fa_frame_mark(a);
  vec2_t *acc = fa_frame_array(a, vec2_t, w->count);
  if (acc == NULL)
    return -1;
  for (size_t i = 0; i < w->count; i++) {
    const entity_t *e = w->entities[i];
    acc[i].x = in->wind.x - 0.1f * e->vel.x;
    acc[i].y = in->wind.y - 9.8f - 0.1f * e->vel.y;
  }
  for (size_t i = 0; i < w->count; i++) {
    entity_t *e = w->entities[i];
    e->vel.x += acc[i].x * DT;
    e->vel.y += acc[i].y * DT;
    e->pos.x += e->vel.x * DT;
    e->pos.y += e->vel.y * DT;
    if (e->pos.y < 0.0f) { /* the floor bounces */
      e->pos.y = 0.0f;
      e->vel.y = -0.8f * e->vel.y;
    }
    if (e->pos.x < 0.0f || e->pos.x > WORLD_SIZE) { /* so do the walls */
      e->pos.x = e->pos.x < 0.0f ? 0.0f : WORLD_SIZE;
      e->vel.x = -e->vel.x;
    }
  }
  fa_frame_rewind(a, mark);
  return 0;
}

/* Finds the overlapping pairs into a frame vector and pushes them apart. */
static int collide(fa_allocator_t *a, world_t *w, contact_vec_t *contacts) {
  for (size_t i = 0; i < w->count; i++) {
    for (size_t j = i + 1; j < w->count; j++) {
      const entity_t *p = w->entities[i], *q = w->entities[j];
      float dx = q->pos.x - p->pos.x, dy = q->pos.y - p->pos.y;
      float r = p->radius + q->radius, d2 = dx * dx + dy * dy;
      if (d2 >= r * r)
        continue;
      /* (r^2 - d^2) / 2r is close to the overlap r - d, without sqrt */
      contact_t c = {(unsigned)i, (unsigned)j, (r * r - d2) / (2.0f * r)};
      if (fa_frame_vec_push(a, contacts, c) != 0)
        return -1;
    }
  }
  for (size_t k = 0; k < contacts->len; k++) {
    const contact_t *c = &contacts->data[k];
    entity_t *p = w->entities[c->a], *q = w->entities[c->b];
    float push = 0.5f * (p->pos.x < q->pos.x ? c->depth : -c->depth);
    p->vel.x -= push;
    q->vel.x += push;
  }
  w->contacts += contacts->len;
  return 0;
}

/* One summary line: entities (spawned/despawned so far), contacts so far,
 * the frame bytes in use now and the peak, the live pool blocks. */
static void print_stats(const char *when, const world_t *w,
                        const fa_stats_t *st) {
  printf("%-5s entities %3zu (+%3llu -%3llu)  contacts %6llu  "
         "frame %5llu B (peak %5llu B)  pool %3llu blocks %5llu B\n",
         when, w->count, (unsigned long long)w->spawned,
         (unsigned long long)w->despawned, (unsigned long long)w->contacts,
         (unsigned long long)st->frame_bytes,
         (unsigned long long)st->frame_peak, (unsigned long long)st->pool_count,
         (unsigned long long)st->pool_bytes);
}

int main(void) {
  int diagnostics = 0;
  fa_config_t cfg = {0}; /* zero means default */
  cfg.frame_budget = 1 << 20;
  cfg.on_diagnostic = on_diagnostic;
  cfg.diagnostic_user = &diagnostics;

  fa_allocator_t *a = fa_create(&cfg);
  if (a == NULL) {
    fprintf(stderr, "game_loop: fa_create failed\n");
    return 1;
  }
  printf("framealloc %s: %d frames at %d frames per second\n",
         fa_version_string(), FRAMES, FPS);

  world_t w = {0};
  w.entities = fa_heap_alloc(a, MAX_ENTITIES * sizeof(*w.entities), 0);
  if (w.entities == NULL) {
    fprintf(stderr, "game_loop: no memory for the entity table\n");
    fa_release(a);
    return 1;
  }

  uint32_t rng = 0x9e3779b9u;
  int ok = 1;
  for (int frame = 1; frame <= FRAMES && ok; frame++) {
    fa_begin_frame(a);

    input_t *in = poll_input(a, &rng, w.count);
    contact_vec_t contacts = {0};
    ok = in != NULL && spawn(a, &w, &rng, in->spawn) == 0;
    for (int s = 0; s < SUBSTEPS && ok; s++)
      ok = integrate(a, &w, in) == 0;
    ok = ok && collide(a, &w, &contacts) == 0;

    if (ok && frame % FPS == 0) {
      fa_stats_t st;
      char when[16];
      fa_get_stats(a, &st); /* before the end: the frame is still in use */
      snprintf(when, sizeof(when), "t=%ds", frame / FPS);
      print_stats(when, &w, &st);
    }

    despawn(a, &w, 0);
    fa_end_frame(a); /* in, contacts and every scratch array are gone */
  }
  if (!ok)
    fprintf(stderr, "game_loop: a frame ran out of memory\n");

  despawn(a, &w, 1);
  fa_heap_free(a, w.entities);

  fa_stats_t st;
  fa_get_stats(a, &st);
  print_stats("end", &w, &st);
  printf("frames %llu, pool bytes %llu, heap bytes %llu, "
         "os bytes %llu in %llu requests, diagnostics %d\n",
         (unsigned long long)st.frames, (unsigned long long)st.pool_bytes,
         (unsigned long long)st.heap_bytes, (unsigned long long)st.os_bytes,
         (unsigned long long)st.os_requests, diagnostics);

  int clean = ok && st.frames == FRAMES && st.frame_bytes == 0 &&
              st.pool_bytes == 0 && st.pool_count == 0 && st.heap_bytes == 0 &&
              st.heap_count == 0 && diagnostics == 0;
  fa_release(a);
  if (!clean) {
    fprintf(stderr, "game_loop: memory still live or diagnostics raised\n");
    return 1;
  }
  printf("all pool and heap memory returned\n");
  return 0;
}
