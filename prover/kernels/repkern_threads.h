/* Part of repkern.c (one translation unit, included once): threads: the persistent pool and rk_parallel. */
#ifndef RK_THREADS_H
#define RK_THREADS_H

/* ---------------------------------------------------------------- threads */
typedef void (*rk_task_fn)(void *ctx, int64_t begin, int64_t end);
typedef struct { rk_task_fn fn; void *ctx; int64_t begin, end; } rk_job;

static void *rk_run_job(void *p) { rk_job *j = p; if (j->end > j->begin) j->fn(j->ctx, j->begin, j->end); return NULL; }

/* A persistent pool: workers 1..size sleep on a condition variable between calls, so a call
 * costs a wake-up instead of a thread creation. One call uses the pool at a time (call_mu); a
 * call that finds it busy (another caller thread) starts its own threads as before. Workers
 * are not inherited by a forked child: the child handler empties the pool. */
#define RK_MAXT 64
static struct {
    pthread_mutex_t call_mu, mu;
    pthread_cond_t go, done;
    int size, pending;
    uint64_t gen, start_gen[RK_MAXT];
    rk_job jobs[RK_MAXT];
} rk_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}, {{0}}};
static pthread_once_t rk_pool_once = PTHREAD_ONCE_INIT;

static void rk_pool_after_fork(void) {
    pthread_mutex_init(&rk_pool.call_mu, NULL);
    pthread_mutex_init(&rk_pool.mu, NULL);
    pthread_cond_init(&rk_pool.go, NULL);
    pthread_cond_init(&rk_pool.done, NULL);
    rk_pool.size = 0;
    rk_pool.pending = 0;
}

static void rk_pool_register(void) { pthread_atfork(NULL, NULL, rk_pool_after_fork); }

static void *rk_pool_worker(void *arg) {
    const int id = (int)(intptr_t)arg;
    pthread_mutex_lock(&rk_pool.mu);
    uint64_t seen = rk_pool.start_gen[id];
    for (;;) {
        while (rk_pool.gen == seen) pthread_cond_wait(&rk_pool.go, &rk_pool.mu);
        seen = rk_pool.gen;
        rk_job job = rk_pool.jobs[id];
        pthread_mutex_unlock(&rk_pool.mu);
        rk_run_job(&job);
        pthread_mutex_lock(&rk_pool.mu);
        if (--rk_pool.pending == 0) pthread_cond_signal(&rk_pool.done);
    }
    return NULL;
}

/* Grows the pool to `want` workers (call_mu held); returns how many it has. */
static int rk_pool_grow(int want) {
    pthread_once(&rk_pool_once, rk_pool_register);
    while (rk_pool.size < want) {
        int id = rk_pool.size + 1;
        rk_pool.start_gen[id] = rk_pool.gen; /* gen cannot move before the worker waits */
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&tid, &attr, rk_pool_worker, (void *)(intptr_t)id) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) break;
        rk_pool.size = id;
    }
    return rk_pool.size;
}

static void rk_spawn(int threads, rk_job *jobs) {
    pthread_t tid[RK_MAXT];
    int started[RK_MAXT] = {0};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, rk_run_job, &jobs[t]) == 0;
    rk_run_job(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else rk_run_job(&jobs[t]);
    }
}

/* Runs fn over [0, n) split into `threads` contiguous ranges; the split never changes results
 * because every task writes outputs that no other task touches, computed the same way. */
static void rk_parallel(int threads, int64_t n, rk_task_fn fn, void *ctx) {
    if (threads < 1) threads = 1;
    if (threads > n) threads = (int)(n > 0 ? n : 1);
    if (threads == 1) { if (n > 0) fn(ctx, 0, n); return; }
    if (threads > RK_MAXT - 1) threads = RK_MAXT - 1;
    rk_job jobs[RK_MAXT];
    for (int t = 0; t < threads; t++) {
        jobs[t].fn = fn; jobs[t].ctx = ctx;
        jobs[t].begin = n * t / threads; jobs[t].end = n * (t + 1) / threads;
    }
    if (pthread_mutex_trylock(&rk_pool.call_mu) != 0) { rk_spawn(threads, jobs); return; }
    int size = rk_pool_grow(threads - 1);
    pthread_mutex_lock(&rk_pool.mu);
    for (int id = 1; id <= size; id++) {
        rk_job none = {fn, ctx, 0, 0};
        rk_pool.jobs[id] = id < threads ? jobs[id] : none;
    }
    rk_pool.pending = size;
    rk_pool.gen++;
    pthread_cond_broadcast(&rk_pool.go);
    pthread_mutex_unlock(&rk_pool.mu);
    rk_run_job(&jobs[0]);
    for (int t = size + 1; t < threads; t++) rk_run_job(&jobs[t]); /* workers not started */
    pthread_mutex_lock(&rk_pool.mu);
    while (rk_pool.pending > 0) pthread_cond_wait(&rk_pool.done, &rk_pool.mu);
    pthread_mutex_unlock(&rk_pool.mu);
    pthread_mutex_unlock(&rk_pool.call_mu);
}
#endif
