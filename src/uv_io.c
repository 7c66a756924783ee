/* uv_io.c: read buffers from pools and write requests in task memory.
 *
 * Read buffers. fa_uv_loop_bind records (loop -> allocator, buffer length)
 * in a process-wide list under a mutex; every change bumps a generation
 * counter. fa_uv_alloc_cb runs on the loop thread, read after read, so each
 * thread keeps the binding it looked up last and trusts it while the
 * generation is unchanged: one atomic load and two compares per read, and
 * the mutex only after a change or on another loop.
 *
 * Each buffer is one pool block that starts with a small header naming its
 * allocator, so fa_uv_buf_free needs neither the loop nor its binding: a
 * buffer freed after its loop was unbound or bound elsewhere goes back to
 * the allocator it came from. The header also holds a check word, which
 * lets fa_uv_buf_free refuse a pointer that is not such a buffer; the
 * header is read only once the core has said that its bytes belong to a
 * live allocator (fa__read_owned), so a foreign buffer at the start of a
 * mapping is refused, not read before.
 *
 * Writes. A fa_uv_write_t and its uv_write_t are the first allocation of a
 * task of their own; the caller allocates the bytes to send from the same
 * task, so one fa_task_destroy, after the write callback, frees it all. */
#include <framealloc/uv.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- Bindings --------------------------------------------------------- */

typedef struct binding_s {
  uv_loop_t *loop;
  fa_allocator_t *a; /* a reference held by the binding */
  size_t len;        /* bytes of each buffer, header not included */
  struct binding_s *next;
} binding_t;

/* The list, its lock, and the generation of its contents (atomic; only
 * changed under the lock). */
static uv_once_t registry_once = UV_ONCE_INIT;
static uv_mutex_t registry_lock;
static binding_t *registry;
static uint64_t registry_gen = 1;

/* The binding this thread looked up last; gen 0 never matches. */
static _Thread_local struct {
  uv_loop_t *loop;
  fa_allocator_t *a;
  size_t len;
  uint64_t gen;
} last;

/* Held across fork(), so that a child never starts with it locked by a
 * thread it does not have. */
static void registry_fork_prepare(void) { uv_mutex_lock(&registry_lock); }
static void registry_fork_done(void) { uv_mutex_unlock(&registry_lock); }

static void registry_init(void) {
  /* Fails only when the system is out of resources, at the first call;
   * libuv aborts then, as it does for its own mutexes. */
  if (uv_mutex_init(&registry_lock) != 0 ||
      pthread_atfork(registry_fork_prepare, registry_fork_done,
                     registry_fork_done) != 0)
    abort();
}

static void registry_enter(void) {
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
}

/* Under the lock. */
static binding_t **registry_find(uv_loop_t *loop) {
  binding_t **pp = &registry;
  while (*pp && (*pp)->loop != loop)
    pp = &(*pp)->next;
  return pp;
}

/* Under the lock. The generation is written only there; binding_get reads
 * it without the lock, to trust its thread's cached binding. Release here
 * and acquire there: a thread that sees a generation also sees the
 * registry as it was when that generation was made (it takes the lock
 * before reading the registry all the same). */
static void registry_changed(void) {
  __atomic_store_n(&registry_gen, registry_gen + 1, __ATOMIC_RELEASE);
}

/* The allocator and buffer length loop is bound to: 1, or 0 if unbound. */
static int binding_get(uv_loop_t *loop, fa_allocator_t **a, size_t *len) {
  uint64_t gen = __atomic_load_n(&registry_gen, __ATOMIC_ACQUIRE);
  binding_t *b;
  if (FA_LIKELY(last.loop == loop && last.gen == gen)) {
    *a = last.a;
    *len = last.len;
    return 1;
  }
  registry_enter();
  b = *registry_find(loop);
  if (b) {
    last.loop = loop;
    last.a = *a = b->a;
    last.len = *len = b->len;
    last.gen = registry_gen;
  }
  uv_mutex_unlock(&registry_lock);
  return b != NULL;
}

/* ---- Read buffers ----------------------------------------------------- */

/* The header before each buffer: 16 bytes, so that the buffer keeps the
 * pool block's alignment. */
#define HEAD 16
#define HEAD_CHECK ((uintptr_t)0x66615f7576627566u) /* "fa_uvbuf" */
#define BUF_MAX ((size_t)INT32_MAX - HEAD) /* fits every uv_buf_t.len */

typedef struct buf_head_s {
  fa_allocator_t *a;
  uintptr_t check; /* HEAD_CHECK ^ a while the buffer is live */
} buf_head_t;

_Static_assert(sizeof(buf_head_t) <= HEAD, "header fits");

int fa_uv_loop_bind(uv_loop_t *loop, fa_allocator_t *a, size_t buf_size) {
  binding_t *fresh, *old = NULL, **pp;
  if (!loop || !a || buf_size > BUF_MAX)
    return UV_EINVAL;
  /* The largest buffer whose block, header included, stays in the pools;
   * an allocator whose pools stop below one header gets 1 byte. */
  if (buf_size == 0)
    buf_size = fa_pool_max_size(a) > HEAD ? fa_pool_max_size(a) - HEAD : 1;
  /* Allocated before the lock: the allocator may take locks of its own. */
  fresh = fa_heap_alloc(a, sizeof(*fresh), 0);
  if (!fresh)
    return UV_ENOMEM;
  fresh->loop = loop;
  fresh->a = fa_retain(a);
  fresh->len = buf_size;
  registry_enter();
  pp = registry_find(loop);
  old = *pp;
  fresh->next = old ? old->next : NULL;
  *pp = fresh;
  registry_changed();
  uv_mutex_unlock(&registry_lock);
  if (old) {
    fa_allocator_t *oa = old->a;
    fa_heap_free(oa, old);
    fa_release(oa);
  }
  return 0;
}

int fa_uv_loop_unbind(uv_loop_t *loop) {
  binding_t *b, **pp;
  fa_allocator_t *a;
  if (!loop)
    return UV_EINVAL;
  registry_enter();
  pp = registry_find(loop);
  b = *pp;
  if (b) {
    *pp = b->next;
    registry_changed();
  }
  uv_mutex_unlock(&registry_lock);
  if (!b)
    return UV_ENOENT;
  a = b->a;
  fa_heap_free(a, b);
  fa_release(a);
  return 0;
}

void fa_uv_alloc_cb(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf) {
  fa_allocator_t *a;
  size_t len;
  buf_head_t *h;
  (void)suggested_size;
  if (!buf)
    return;
  *buf = uv_buf_init(NULL, 0);
  if (!handle || !binding_get(handle->loop, &a, &len))
    return;
  h = fa_pool_alloc(a, HEAD + len);
  if (!h)
    return;
  h->a = a;
  h->check = HEAD_CHECK ^ (uintptr_t)a;
  *buf = uv_buf_init((char *)h + HEAD, (unsigned int)len);
}

int fa_uv_buf_free(uv_handle_t *handle, const uv_buf_t *buf) {
  buf_head_t head, *h;
  fa_allocator_t *a, *owner = NULL;
  (void)handle;
  if (!buf)
    return UV_EINVAL;
  if (!buf->base)
    return 0;
  /* Buffers of fa_uv_alloc_cb keep the blocks' 16-byte alignment; the
   * test also keeps the header read below aligned. */
  if ((uintptr_t)buf->base % HEAD != 0 || (uintptr_t)buf->base < HEAD)
    return UV_EINVAL;
  /* The header is read only if its bytes are memory of a live allocator:
   * the 16 bytes before a foreign buffer may not be mapped at all. */
  h = (buf_head_t *)(void *)(buf->base - HEAD);
  if (fa__read_owned(h, &head, sizeof(head), &owner) != 0)
    return UV_EINVAL;
  a = head.a;
  if (a != owner || head.check != (HEAD_CHECK ^ (uintptr_t)a))
    return UV_EINVAL;
  h->check = 0; /* a second free of it is refused while the block rests */
  fa_pool_free(a, h);
  return 0;
}

/* ---- Writes ----------------------------------------------------------- */

struct fa_uv_write_s {
  uv_write_t req;
  fa_task_t *task;
  fa_uv_write_cb cb;
  void *data;
  int sent; /* handed to uv_write; the request is libuv's until done */
};

static void on_write(uv_write_t *req, int status) {
  fa_uv_write_t *wr =
      (fa_uv_write_t *)(void *)((char *)req - offsetof(fa_uv_write_t, req));
  fa_task_t *t = wr->task;
  /* wr lives in t: the callback runs in t's scope, and destroying t,
   * which leaves the scope, frees wr with everything else. */
  (void)fa_task_enter(t);
  if (wr->cb)
    wr->cb(wr, status);
  fa_task_destroy(t);
}

fa_uv_write_t *fa_uv_write_create(fa_allocator_t *a) {
  fa_task_t *t;
  fa_uv_write_t *wr;
  if (!a)
    return NULL;
  t = fa_task_create(a);
  if (!t)
    return NULL;
  wr = fa_task_new(t, fa_uv_write_t);
  if (!wr) {
    fa_task_destroy(t);
    return NULL;
  }
  wr->task = t;
  return wr;
}

fa_task_t *fa_uv_write_task(fa_uv_write_t *wr) { return wr ? wr->task : NULL; }

void fa_uv_write_set_data(fa_uv_write_t *wr, void *data) {
  if (wr)
    wr->data = data;
}

void *fa_uv_write_data(const fa_uv_write_t *wr) { return wr ? wr->data : NULL; }

int fa_uv_write(fa_uv_write_t *wr, uv_stream_t *stream, const uv_buf_t bufs[],
                unsigned int nbufs, fa_uv_write_cb cb) {
  int r;
  /* libuv asserts nbufs > 0: refuse it here instead. */
  if (!wr || !stream || !bufs || nbufs == 0)
    return UV_EINVAL;
  if (wr->sent)
    return UV_EBUSY;
  wr->cb = cb;
  r = uv_write(&wr->req, stream, bufs, nbufs, on_write);
  if (r == 0)
    wr->sent = 1;
  return r;
}

int fa_uv_write_destroy(fa_uv_write_t *wr) {
  if (!wr)
    return 0;
  if (wr->sent)
    return UV_EBUSY;
  fa_task_destroy(wr->task);
  return 0;
}
