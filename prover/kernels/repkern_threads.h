/* Part of repkern.c (one translation unit, included once): threads: rk_parallel on OpenMP. */
#ifndef RK_THREADS_H
#define RK_THREADS_H

/* ---------------------------------------------------------------- threads */
/* The kernels run on the process's OpenMP runtime: the library links libgomp.so.1, and in a
 * process that imported torch that soname is already loaded (torch/lib/libgomp.so.1), so our
 * parallel regions use the very thread team torch's own ops use. A pool of our own (the
 * previous design) added a third busy thread on a 2-core machine: while our worker ran, torch's
 * OpenMP workers were still spin-waiting after the last torch op, and the two fought for the
 * cores (2-thread step 0.92x the 1-thread step). One team, handed from torch's ops to ours and
 * back while its threads still spin, wakes in well under a microsecond.
 * Without torch (rawcheck), the system's libgomp.so.1 is loaded instead. */
#include <omp.h>

typedef void (*rk_task_fn)(void *ctx, int64_t begin, int64_t end);
#define RK_MAXT 64

/* Runs fn over [0, n) split into `threads` contiguous parts, part t = [n*t/T, n*(t+1)/T); the
 * split never changes results because every part writes outputs that no other part touches,
 * computed the same way. A team smaller than asked (a thread limit, a nested call) runs the
 * parts round-robin: the same parts, so the same bits. */
static void rk_parallel(int threads, int64_t n, rk_task_fn fn, void *ctx) {
    if (threads < 1) threads = 1;
    if (threads > n) threads = (int)(n > 0 ? n : 1);
    if (threads > RK_MAXT) threads = RK_MAXT;
    if (threads == 1) { if (n > 0) fn(ctx, 0, n); return; }
    const int parts = threads;
#pragma omp parallel num_threads(parts)
    {
        const int size = omp_get_num_threads();
        for (int t = omp_get_thread_num(); t < parts; t += size) {
            int64_t begin = n * t / parts, end = n * (t + 1) / parts;
            if (end > begin) fn(ctx, begin, end);
        }
    }
}

/* Threads rk_parallel would use for a job of `work` units when the caller allows `threads`:
 * one per `grain` units at least, so a small op is not split into parts that cost more to hand
 * out than to run (the split never changes results). */
static inline int rk_threads_for(int threads, int64_t work, int64_t grain) {
    int64_t most = work / grain;
    if (most < 1) most = 1;
    return threads < most ? threads : (int)most;
}
#endif
