/* framealloc/uv.h: framealloc on libuv, the async runtime of C.
 *
 * The only framealloc header that includes <uv.h>; it comes with the
 * framealloc_uv library (CMake framealloc::uv, pkg-config framealloc-uv).
 *
 *   work items   fa_uv_queue_work runs work on libuv's thread pool and after
 *                on the loop thread. The item owns a task created for it;
 *                both callbacks receive it and run inside its task scope
 *                (a frame allocation there raises FA701). The task is
 *                destroyed after `after` returns, also when the work was
 *                cancelled.
 *   read buffers fa_uv_alloc_cb is a uv_alloc_cb serving buffers from the
 *                pools of the allocator bound to the handle's loop;
 *                fa_uv_buf_free gives them back, from the read callback or
 *                later, on any thread.
 *   writes       a fa_uv_write_t owns a task holding its buffers; it is
 *                destroyed when the write completes, after its callback.
 *
 * uv_replace_allocator is never used: it is process-wide, and frame or task
 * memory must not back libuv's own long-lived structures.
 *
 * Errors are libuv's negative status codes (UV_EINVAL, UV_ENOMEM, ...).
 *
 * <uv.h> needs POSIX declarations that a strict -std=c11 hides: C code that
 * includes this header is compiled with _POSIX_C_SOURCE=200809L or more
 * (the CMake target and the pkg-config flags define it). */
#ifndef FRAMEALLOC_UV_H
#define FRAMEALLOC_UV_H

#include <uv.h>

#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Work items ------------------------------------------------------- */

typedef struct fa_uv_work_s fa_uv_work_t;

/* Runs on a thread-pool thread, inside t's scope. */
typedef void (*fa_uv_work_cb)(fa_uv_work_t *w, fa_task_t *t);
/* Runs on the loop thread, inside t's scope; status is 0, or UV_ECANCELED
 * when the work was cancelled before it started (work did not run). t is
 * destroyed when after returns; after may free w, or queue it again. */
typedef void (*fa_uv_after_cb)(fa_uv_work_t *w, fa_task_t *t, int status);

/* Storage for one work item, owned by the caller (any memory but frame
 * memory, which the checker reports as FA703) until after runs. */
struct fa_uv_work_s {
  void *data; /* free for the caller */
  /* Private. */
  uv_work_t fa__req;
  fa_task_t *fa__task;
  fa_uv_work_cb fa__work;
  fa_uv_after_cb fa__after;
};

/* Creates a task on a for w and queues work on loop's thread pool; call it
 * on loop's thread, with a w that is not queued already. 0, or UV_EINVAL
 * (loop, a, w or work NULL) or UV_ENOMEM; on error nothing was queued, no
 * callback will run and no memory is held. after may be NULL. */
FA_EXTERN int fa_uv_queue_work(uv_loop_t *loop, fa_allocator_t *a,
                               fa_uv_work_t *w, fa_uv_work_cb work,
                               fa_uv_after_cb after);

/* Cancels w, on loop's thread, if its work has not started: after then
 * runs with UV_ECANCELED. 0, UV_EBUSY (running or done) or UV_EINVAL (w
 * NULL, or a zeroed w that was never queued). */
FA_EXTERN int fa_uv_cancel(fa_uv_work_t *w);

/* ---- Read buffers ----------------------------------------------------- */

/* Binds loop to a for read buffers: fa_uv_alloc_cb on any handle of loop
 * serves buffers of buf_size bytes from a's pools (0: the largest size
 * whose block, with its 16-byte header, stays in the pools, given a's
 * fa_pool_max_size; larger buffers come from the heap path). The binding
 * holds a reference to a until it is removed. Binding again replaces the
 * binding. Any thread may bind and unbind, but not while handles of loop
 * are reading. 0, UV_EINVAL (loop or a NULL, buf_size too large) or
 * UV_ENOMEM (the binding's record is heap memory of a). */
FA_EXTERN int fa_uv_loop_bind(uv_loop_t *loop, fa_allocator_t *a,
                              size_t buf_size);
/* Removes loop's binding; call it before uv_loop_close. Buffers still out
 * stay valid until fa_uv_buf_free, which must come before the allocator's
 * last fa_release. 0, UV_EINVAL (loop NULL) or UV_ENOENT (not bound). */
FA_EXTERN int fa_uv_loop_unbind(uv_loop_t *loop);

/* A uv_alloc_cb for uv_read_start / uv_udp_recv_start (suggested_size is
 * not used: the binding says the size). An unbound loop or short memory
 * gives a null buffer, which libuv reports to the read callback as
 * UV_ENOBUFS. */
FA_EXTERN void fa_uv_alloc_cb(uv_handle_t *handle, size_t suggested_size,
                              uv_buf_t *buf);
/* Frees a buffer of fa_uv_alloc_cb, from the read callback or later, on
 * any thread, whatever the binding of its loop is by then; handle is not
 * used and may be NULL. 0, also for a null buffer (nread <= 0 reads may
 * carry one), or UV_EINVAL: buf NULL or not from fa_uv_alloc_cb (left
 * alone). A foreign buffer is recognised without reading memory that no
 * live allocator owns (the buffer's 16-byte header is read only once it
 * is known to lie in one of an allocator's pages or live blocks), so one
 * at the start of a mapping gives UV_EINVAL, never a fault. The check
 * takes two short process-wide locks. */
FA_EXTERN int fa_uv_buf_free(uv_handle_t *handle, const uv_buf_t *buf);

/* ---- Writes ----------------------------------------------------------- */

typedef struct fa_uv_write_s fa_uv_write_t;

/* Runs on the loop thread, inside the request's task scope, when the write
 * is done (status 0 or a libuv error); the write and its task are
 * destroyed when it returns. */
typedef void (*fa_uv_write_cb)(fa_uv_write_t *wr, int status);

/* A write request living in a task of its own, on a. NULL when a is NULL or
 * memory is short. */
FA_EXTERN fa_uv_write_t *fa_uv_write_create(fa_allocator_t *a);
/* The request's task: allocate the buffers to send from it. NULL for
 * NULL. */
FA_EXTERN fa_task_t *fa_uv_write_task(fa_uv_write_t *wr);
/* Per-request user pointer (NULL until set). */
FA_EXTERN void fa_uv_write_set_data(fa_uv_write_t *wr, void *data);
FA_EXTERN void *fa_uv_write_data(const fa_uv_write_t *wr);
/* Sends bufs on stream, on its loop's thread; on completion cb (may be
 * NULL) runs, then wr is destroyed. 0 or a libuv error: UV_EINVAL (wr or
 * stream NULL, no buffer), UV_EBUSY (wr sent already) or uv_write's own;
 * on error nothing was sent and wr is still the caller's, to send again or
 * to destroy. */
FA_EXTERN int fa_uv_write(fa_uv_write_t *wr, uv_stream_t *stream,
                          const uv_buf_t bufs[], unsigned int nbufs,
                          fa_uv_write_cb cb);
/* Destroys a request that was not sent: 0 (NULL is a no-op), or UV_EBUSY
 * for a request in flight, which is left alone. */
FA_EXTERN int fa_uv_write_destroy(fa_uv_write_t *wr);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEALLOC_UV_H */
