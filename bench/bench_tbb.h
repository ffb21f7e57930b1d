/* bench_tbb.h: the oneTBB peers of the benchmarks, implemented in C++ in bench_tbb.cpp
 * and called from the C benchmark files as impl "tbb". Everything here exists only
 * when the build found TBB (WEFT_BENCH_HAVE_TBB, set by bench/CMakeLists.txt); the
 * suite builds and runs without it.
 *
 * Contract of every function: it runs the workload on `threads` threads (a
 * tbb::task_arena of that concurrency, under a tbb::global_control limit of the same
 * value), with the arena's workers started before the clock; *seconds gets the time
 * of the workload alone. It returns false if TBB failed (an exception: out of memory,
 * thread creation), true otherwise; the result itself is checked by the caller or, where
 * noted, against the expected value it is given. No exception crosses into C.
 *
 * Loop bodies and kernels are the C files' own (passed as function pointers, called
 * once per chunk as weft_par_for calls them), so weft and TBB run the same kernel code. */
#ifndef WEFT_BENCH_TBB_H
#define WEFT_BENCH_TBB_H

/* A table row that exists only with TBB: BENCH_TBB_ROW(name, param, "tbb", ...) expands
 * to `{...},` (trailing comma included, so it can sit between rows, also inside a
 * row-list macro) or to nothing. */
#ifdef WEFT_BENCH_HAVE_TBB
#define BENCH_TBB_ROW(...) {__VA_ARGS__},
#else
#define BENCH_TBB_ROW(...)
#endif

#ifdef WEFT_BENCH_HAVE_TBB

#include "bench_uts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How tbb::parallel_for / parallel_reduce cut the range. */
typedef enum bench_tbb_partitioner {
    BENCH_TBB_AUTO,   /* tbb::auto_partitioner (the default), with grain `grain` */
    BENCH_TBB_STATIC, /* tbb::static_partitioner: one contiguous block per thread */
} bench_tbb_partitioner;

/* `runs` times fib(n), forking at every level with a tbb::task_group (one child run,
 * the other inline); true only if every result equals `value`. */
bool bench_tbb_fib(int threads, int n, uint64_t runs, uint64_t value, double *seconds);

/* `size` joins of half(ctx) and half(ctx) (join_overhead), each a tbb::task_group that
 * runs one half as a task and the other inline, as fib forks (tbb::parallel_invoke
 * builds the same group). */
bool bench_tbb_join(int threads, uint64_t size, void (*half)(void *ctx), void *ctx, double *seconds);

/* `runs` boards of n queens: one task per free column of a row (tbb::task_group, the
 * last column inline), serial in the last `cutoff` rows (the C rows' NQ_CUTOFF); true
 * only if every board has `solutions` solutions. */
bool bench_tbb_nqueens(int threads, int n, int cutoff, uint64_t runs, uint64_t solutions,
                       double *seconds);

/* One task runs `n` empty tasks through one tbb::task_group (run each, then wait);
 * each adds 1 to its thread's own counter, and *ran gets their sum. */
bool bench_tbb_empty_tasks(int threads, uint64_t n, uint64_t *ran, double *seconds);

/* `passes` times tbb::parallel_for over [0, n) calling body(ctx, lo, hi) per chunk
 * (its return value is ignored: the C bodies return 0). */
bool bench_tbb_for(int threads, size_t n, size_t grain, bench_tbb_partitioner part,
                   unsigned passes, int (*body)(void *ctx, size_t lo, size_t hi), void *ctx,
                   double *seconds);

/* `calls` calls from the calling thread, back to back, each one task_arena::execute of
 * one tbb::parallel_for over [0, n) (grain 1) calling body(ctx, lo, hi) per chunk: the
 * arena is entered anew by every call, so its entry is timed with it. */
bool bench_tbb_for_calls(int threads, size_t n, bench_tbb_partitioner part, uint64_t calls,
                         int (*body)(void *ctx, size_t lo, size_t hi), void *ctx,
                         double *seconds);

/* *sum = tbb::parallel_reduce (auto_partitioner) over [0, n) of fold(ctx, lo, hi, &acc)
 * on double accumulators starting at 0.0, combined with +. */
bool bench_tbb_reduce_sum(int threads, size_t n,
                          int (*fold)(void *ctx, size_t lo, size_t hi, void *acc), void *ctx,
                          double *sum, double *seconds);

/* `calls` calls of bench_tbb_reduce_sum's reduce from the calling thread, back to back,
 * each its own task_arena::execute (as bench_tbb_for_calls); *bad = how many calls' sums
 * were not `want`. */
bool bench_tbb_reduce_sum_calls(int threads, size_t n,
                                int (*fold)(void *ctx, size_t lo, size_t hi, void *acc),
                                void *ctx, uint64_t calls, double want, uint64_t *bad,
                                double *seconds);

/* `passes` times tbb::parallel_scan (auto_partitioner) over [0, n) with uint64_t sums
 * starting at 0 and +: its body calls kernel(ctx, lo, hi, sum, is_final) once per
 * pass over a sub-range (the C file's scan kernel: it returns the new sum and writes
 * the outputs when is_final). */
bool bench_tbb_scan_u64(int threads, size_t n, unsigned passes,
                        uint64_t (*kernel)(void *ctx, size_t lo, size_t hi, uint64_t sum, bool is_final),
                        void *ctx, double *seconds);

/* tbb::parallel_sort of n keys: with cmp (a qsort comparator, called through the
 * pointer) or, cmp NULL, with std::less<uint64_t>. */
bool bench_tbb_sort_u64(int threads, uint64_t *keys, size_t n,
                        int (*cmp)(const void *a, const void *b), double *seconds);

/* `walks` walks of the uts tree (bench_uts.h), one tbb::task_group per node (a task
 * per child, the last inline). *good = walks whose count equalled p->nodes, *count =
 * the last walk's count. */
bool bench_tbb_uts(int threads, const uts_param *p, uint64_t walks, uint64_t *good,
                   uint64_t *count, double *seconds);

/* tbb::parallel_pipeline of `tokens` tokens over three filters: read (serial in
 * order: an item, or NULL to stop), transform (parallel), write (serial in order). */
bool bench_tbb_pipeline(int threads, size_t tokens, void *(*read)(void *ctx),
                        void (*transform)(void *ctx, void *item), void (*write)(void *ctx, void *item),
                        void *ctx, double *seconds);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_HAVE_TBB */
#endif /* WEFT_BENCH_TBB_H */
