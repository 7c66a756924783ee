/* task_jobs.c: a game loop that hands work to a worker thread, with task
 * memory for each job and a pool guard for a batch filled in parallel.
 *
 * Every frame, the main thread plans in frame memory (scratch that is gone
 * at fa_end_frame) and submits a few "path-finding" jobs. Each job owns an
 * fa_task_t: created on the main thread, filled and run on the worker
 * inside a task scope, and destroyed back on the main thread once its
 * result has been read, frames later. Results travel in pool memory. Every
 * 100 frames, four threads build a navigation batch into one pool guard at
 * once, and the main thread frees the batch with one call.
 *
 * The program prints a summary per simulated second and exits nonzero if
 * memory is still live at the end or if the library raised a diagnostic. */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>
#include <framealloc/task.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

enum { FRAMES = 300, FPS = 60, JOBS_PER_FRAME = 3, QUEUE = 64, NODES = 48 };

typedef struct result_s {
  int job;
  int steps; /* length of the path found */
} result_t;

/* A job: its task holds everything the worker builds for it. */
typedef struct job_s {
  fa_task_t *task;
  int id, from, to;
  result_t *result; /* pool memory, read by the main thread */
  int done;         /* under the queue lock */
} job_t;

/* A fixed ring of jobs shared by the main thread and the worker. */
typedef struct queue_s {
  pthread_mutex_t lock;
  pthread_cond_t ready;
  job_t *slots[QUEUE];
  unsigned head, tail; /* head: next to run; tail: next free */
  int quit;
} queue_t;

static fa_allocator_t *alloc;
static int diagnostics;

static void on_diag(const fa_diag_t *d, void *user) {
  (void)user;
  diagnostics++;
  fprintf(stderr, "%s: %s\n", fa_diag_name(d->code), d->message);
}

static void free_result(void *arg) { fa_pool_free(alloc, arg); }

/* Breadth-first search on a ring of NODES nodes with shortcuts, all of its
 * bookkeeping in task memory: no cleanup per allocation. */
static int find_path(fa_task_t *t, int from, int to) {
  int *dist = fa_task_array(t, int, NODES);
  int *queue = fa_task_array(t, int, NODES);
  int qh = 0, qt = 0;
  if (!dist || !queue)
    return -1;
  for (int i = 0; i < NODES; i++)
    dist[i] = -1;
  dist[from] = 0;
  queue[qt++] = from;
  while (qh < qt) {
    int n = queue[qh++];
    int next[3] = {(n + 1) % NODES, (n + NODES - 1) % NODES, (n * 7) % NODES};
    for (int k = 0; k < 3; k++) {
      if (dist[next[k]] < 0) {
        dist[next[k]] = dist[n] + 1;
        queue[qt++] = next[k];
      }
    }
  }
  return dist[to];
}

static void run_job(job_t *j) {
  fa_task_enter(j->task); /* a frame allocation here would raise FA701 */
  result_t *r = fa_pool_new(alloc, result_t);
  if (r && fa_task_defer(j->task, free_result, r) != 0) {
    fa_pool_free(alloc, r); /* no cleanup registered: no result */
    r = NULL;
  }
  if (r) {
    r->job = j->id;
    r->steps = find_path(j->task, j->from, j->to);
  }
  j->result = r;
  fa_task_leave(j->task);
}

static void *worker(void *arg) {
  queue_t *q = arg;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    while (q->head == q->tail && !q->quit)
      pthread_cond_wait(&q->ready, &q->lock);
    if (q->head == q->tail)
      break;
    job_t *j = q->slots[q->head % QUEUE];
    q->head++;
    pthread_mutex_unlock(&q->lock);
    run_job(j);
    pthread_mutex_lock(&q->lock);
    j->done = 1;
  }
  pthread_mutex_unlock(&q->lock);
  return NULL;
}

/* ---- The pool guard: a batch four threads build at once ---------------- */

typedef struct nav_s {
  fa_pool_guard_t *guard;
  int part;
  long sum;
} nav_t;

static void *build_nav(void *arg) {
  nav_t *n = arg;
  for (int i = 0; i < 500; i++) {
    int *cell = fa_pool_guard_box(n->guard, int, {n->part * 1000 + i});
    n->sum += cell ? *cell : 0;
  }
  return NULL;
}

static long nav_batch(void) {
  fa_pool_guard_t *g = fa_pool_guard_create(alloc);
  nav_t parts[4];
  pthread_t th[4];
  long sum = 0;
  if (!g)
    return -1;
  for (int p = 0; p < 4; p++) {
    parts[p] = (nav_t){g, p, 0};
    pthread_create(&th[p], NULL, build_nav, &parts[p]);
  }
  for (int p = 0; p < 4; p++) {
    pthread_join(th[p], NULL);
    sum += parts[p].sum;
  }
  fa_pool_guard_destroy(g); /* the whole batch at once */
  return sum;
}

/* ---- The main loop ----------------------------------------------------- */

int main(void) {
  fa_config_t cfg = {0};
  cfg.on_diagnostic = on_diag;
  alloc = fa_create(&cfg);
  queue_t q = {.head = 0, .tail = 0, .quit = 0};
  pthread_t th;
  job_t jobs[QUEUE];
  unsigned next_job = 0, collected = 0, submitted = 0;
  long total_steps = 0, nav_sum = 0;
  if (!alloc)
    return 1;
  pthread_mutex_init(&q.lock, NULL);
  pthread_cond_init(&q.ready, NULL);
  pthread_create(&th, NULL, worker, &q);

  for (int frame = 0; frame < FRAMES; frame++) {
    fa_begin_frame(alloc);
    /* Planning scratch: frame memory, used only by this synchronous code. */
    int *targets = fa_frame_array(alloc, int, JOBS_PER_FRAME);
    for (int i = 0; targets && i < JOBS_PER_FRAME; i++)
      targets[i] = (frame * 5 + i * 11) % NODES;

    pthread_mutex_lock(&q.lock);
    /* Collect finished jobs in submission order; destroy their tasks here,
     * on a thread other than the one that ran them. */
    while (collected < submitted && jobs[collected % QUEUE].done) {
      job_t *j = &jobs[collected % QUEUE];
      pthread_mutex_unlock(&q.lock);
      if (j->result)
        total_steps += j->result->steps;
      fa_task_destroy(j->task); /* runs free_result */
      pthread_mutex_lock(&q.lock);
      collected++;
    }
    /* Submit this frame's jobs, copying what they need out of the frame. */
    for (int i = 0; targets && i < JOBS_PER_FRAME; i++) {
      if (submitted - collected == QUEUE)
        break;
      job_t *j = &jobs[submitted % QUEUE];
      *j = (job_t){fa_task_create(alloc),
                   (int)next_job++,
                   frame % NODES,
                   targets[i],
                   NULL,
                   0};
      if (!j->task)
        break;
      q.slots[q.tail % QUEUE] = j;
      q.tail++;
      submitted++;
    }
    pthread_cond_signal(&q.ready);
    pthread_mutex_unlock(&q.lock);

    if (frame % 100 == 99)
      nav_sum += nav_batch();
    fa_end_frame(alloc);
    nanosleep(&(struct timespec){0, 1000000}, NULL); /* the rest of the frame */

    if ((frame + 1) % FPS == 0) {
      fa_stats_t st;
      fa_get_stats(alloc, &st);
      printf("second %d: jobs %u submitted, %u done, task bytes %llu, "
             "pool blocks %llu\n",
             (frame + 1) / FPS, submitted, collected,
             (unsigned long long)st.task_bytes,
             (unsigned long long)st.pool_count);
    }
  }

  pthread_mutex_lock(&q.lock);
  q.quit = 1;
  pthread_cond_signal(&q.ready);
  pthread_mutex_unlock(&q.lock);
  pthread_join(th, NULL);
  for (; collected < submitted; collected++) {
    job_t *j = &jobs[collected % QUEUE];
    if (j->result)
      total_steps += j->result->steps;
    fa_task_destroy(j->task);
  }

  fa_stats_t st;
  fa_get_stats(alloc, &st);
  printf("done: %u jobs, %ld path steps, nav batch sum %ld, task bytes %llu, "
         "pool blocks %llu\n",
         collected, total_steps, nav_sum, (unsigned long long)st.task_bytes,
         (unsigned long long)st.pool_count);
  int ok = st.task_bytes == 0 && st.pool_count == 0 && diagnostics == 0;
  fa_release(alloc);
  pthread_cond_destroy(&q.ready);
  pthread_mutex_destroy(&q.lock);
  return ok ? 0 : 1;
}
