// bench_tbb.cpp: the oneTBB peers of the benchmarks (impl "tbb"), behind the plain C
// interface of bench_tbb.h. Built only when bench/CMakeLists.txt found TBB, with the
// same optimisation flags as the C files.
//
// Each workload is written the way a TBB user who knows TBB writes it:
//  - recursive forks (fib, nqueens, uts): a tbb::task_group per node, one run() per
//    child but the last, which runs inline through run_and_wait (the task_group
//    example of the oneTBB documentation, less one task); no cutoff where the C rows
//    have none, the C rows' cutoff where they have one;
//  - loops: tbb::parallel_for / parallel_reduce over a blocked_range with the
//    partitioner the caller names (static for uniform loops, auto for irregular
//    ones), calling the C file's own kernel once per chunk;
//  - scan: tbb::parallel_scan's lambda form (pre-scan and final scan through one
//    body, + as the combine), calling the C file's kernel once per sub-range;
//  - sort: tbb::parallel_sort.
// Invariants: the thread count is honoured exactly (a task_arena of `threads`, inside a
// global_control limit of `threads`, which also lifts TBB's default cap at the core
// count); the arena's workers are started before the clock; no exception crosses the
// C boundary (every entry point catches and returns false).
#include "bench_tbb.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_scan.h>
#include <tbb/parallel_sort.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace {

// Make an arena of `threads`, start its workers, then time run(arena): *seconds = its
// time.
template <class Run>
bool in_arena(int threads, double *seconds, Run &&run) noexcept
{
    try {
        if (threads < 1)
            return false;
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                  static_cast<size_t>(threads));
        tbb::task_arena arena(threads);
        // Warm-up: enough small chunks that every worker joins the arena.
        arena.execute([&] {
            tbb::parallel_for(0, threads * 64, [](int) {}, tbb::simple_partitioner());
        });
        auto t0 = std::chrono::steady_clock::now();
        run(arena);
        std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
        *seconds = d.count();
        return true;
    } catch (...) {
        return false;
    }
}

// Run work() in an arena of `threads`, started before the clock; *seconds = its time.
template <class Work>
bool timed(int threads, double *seconds, Work &&work) noexcept
{
    return in_arena(threads, seconds, [&](tbb::task_arena &arena) { arena.execute(work); });
}

// `calls` times call(), each time entering the arena anew from the calling thread
// (task_arena::execute per call, as a C caller enters a weft pool per
// weft_pool_execute): what each call from outside the arena pays is timed with it.
template <class Call>
bool timed_calls(int threads, uint64_t calls, double *seconds, Call &&call) noexcept
{
    return in_arena(threads, seconds, [&](tbb::task_arena &arena) {
        for (uint64_t i = 0; i < calls; i++)
            arena.execute(call);
    });
}

// One tbb::parallel_for over `range` with the partitioner `part` names.
template <class Body>
void parallel_for_with(const tbb::blocked_range<size_t> &range, const Body &body,
                       bench_tbb_partitioner part)
{
    if (part == BENCH_TBB_STATIC)
        tbb::parallel_for(range, body, tbb::static_partitioner());
    else
        tbb::parallel_for(range, body, tbb::auto_partitioner());
}

// The sum over [0, n) of fold's double accumulators (0.0 each), by tbb::parallel_reduce
// with its default (auto) partitioner.
double reduce_sum(size_t n, int (*fold)(void *ctx, size_t lo, size_t hi, void *acc), void *ctx)
{
    return tbb::parallel_reduce(
        tbb::blocked_range<size_t>(0, n), 0.0,
        [fold, ctx](const tbb::blocked_range<size_t> &r, double acc) {
            fold(ctx, r.begin(), r.end(), &acc);
            return acc;
        },
        std::plus<double>());
}

// ---------------------------------------------------------------------------------
// fib

uint64_t fib(int n)
{
    if (n < 2)
        return static_cast<uint64_t>(n);
    uint64_t x, y;
    tbb::task_group g;
    g.run([&] { x = fib(n - 1); });
    g.run_and_wait([&] { y = fib(n - 2); });
    return x + y;
}

// ---------------------------------------------------------------------------------
// nqueens (the bitmask backtracking of bench_runtime.c)

struct nq_node {
    int n, row;
    uint32_t cols, diag_l, diag_r;
};

inline nq_node nq_child(const nq_node &s, uint32_t bit)
{
    return {s.n, s.row + 1, s.cols | bit, (s.diag_l | bit) << 1, (s.diag_r | bit) >> 1};
}

inline uint32_t nq_free(const nq_node &s)
{
    uint32_t all = s.n == 32 ? UINT32_MAX : (1u << s.n) - 1;
    return all & ~(s.cols | s.diag_l | s.diag_r);
}

uint64_t nq_serial(const nq_node &s)
{
    if (s.row == s.n)
        return 1;
    uint64_t count = 0;
    for (uint32_t avail = nq_free(s); avail; avail &= avail - 1)
        count += nq_serial(nq_child(s, avail & (0u - avail)));
    return count;
}

uint64_t nq_tbb(const nq_node &s, int cutoff)
{
    if (s.row >= s.n - cutoff)
        return nq_serial(s);
    uint32_t bits[32];
    uint64_t counts[32];
    int k = 0;
    for (uint32_t avail = nq_free(s); avail; avail &= avail - 1)
        bits[k++] = avail & (0u - avail);
    if (k == 0)
        return 0;
    tbb::task_group g;
    for (int i = 0; i + 1 < k; i++)
        g.run([&, i] { counts[i] = nq_tbb(nq_child(s, bits[i]), cutoff); });
    g.run_and_wait([&] { counts[k - 1] = nq_tbb(nq_child(s, bits[k - 1]), cutoff); });
    uint64_t count = 0;
    for (int i = 0; i < k; i++)
        count += counts[i];
    return count;
}

// ---------------------------------------------------------------------------------
// uts: a node's count of nodes; `counts` has room for its k children.

uint64_t uts_tbb(const uts_param *p, uint64_t id, uint32_t k);

uint64_t uts_tbb_children(const uts_param *p, uint64_t id, uint32_t k, uint64_t *counts)
{
    auto visit = [p, id, counts](uint32_t i) {
        uint64_t c = uts_child(id, i);
        counts[i] = uts_tbb(p, c, uts_num_children(p, c));
    };
    tbb::task_group g;
    for (uint32_t i = 0; i + 1 < k; i++)
        g.run([&visit, i] { visit(i); });
    g.run_and_wait([&visit, k] { visit(k - 1); });
    uint64_t count = 1;
    for (uint32_t i = 0; i < k; i++)
        count += counts[i];
    return count;
}

uint64_t uts_tbb(const uts_param *p, uint64_t id, uint32_t k)
{
    if (k == 0)
        return 1;
    uint64_t counts[UTS_MAX_M];
    return uts_tbb_children(p, id, k, counts);
}

} // namespace

extern "C" {

bool bench_tbb_fib(int threads, int n, uint64_t runs, uint64_t value, double *seconds)
{
    bool ok = true;
    return timed(threads, seconds,
                 [&] {
                     for (uint64_t i = 0; i < runs; i++)
                         ok = fib(n) == value && ok;
                 }) &&
           ok;
}

bool bench_tbb_join(int threads, uint64_t size, void (*half)(void *ctx), void *ctx, double *seconds)
{
    return timed(threads, seconds, [&] {
        for (uint64_t i = 0; i < size; i++) {
            tbb::task_group g;
            g.run([half, ctx] { half(ctx); });
            g.run_and_wait([half, ctx] { half(ctx); });
        }
    });
}

bool bench_tbb_nqueens(int threads, int n, int cutoff, uint64_t runs, uint64_t solutions,
                       double *seconds)
{
    if (n < 1 || n > 32)
        return false;
    bool ok = true;
    return timed(threads, seconds,
                 [&] {
                     for (uint64_t i = 0; i < runs; i++)
                         ok = nq_tbb(nq_node{n, 0, 0, 0, 0}, cutoff) == solutions && ok;
                 }) &&
           ok;
}

bool bench_tbb_empty_tasks(int threads, uint64_t n, uint64_t *ran, double *seconds)
{
    struct alignas(128) slot {
        uint64_t n = 0;
    };
    std::vector<slot> slots(static_cast<size_t>(threads) + 1);
    bool ok = timed(threads, seconds, [&] {
        tbb::task_group g;
        for (uint64_t i = 0; i < n; i++)
            g.run([&slots] {
                int k = tbb::this_task_arena::current_thread_index();
                slots[k >= 0 ? static_cast<size_t>(k) + 1 : 0].n++;
            });
        g.wait();
    });
    uint64_t sum = 0;
    for (const slot &x : slots)
        sum += x.n;
    *ran = sum;
    return ok;
}

bool bench_tbb_for(int threads, size_t n, size_t grain, bench_tbb_partitioner part,
                   unsigned passes, int (*body)(void *ctx, size_t lo, size_t hi), void *ctx,
                   double *seconds)
{
    auto chunk = [body, ctx](const tbb::blocked_range<size_t> &r) {
        body(ctx, r.begin(), r.end());
    };
    tbb::blocked_range<size_t> range(0, n, grain ? grain : 1);
    return timed(threads, seconds, [&] {
        for (unsigned i = 0; i < passes; i++)
            parallel_for_with(range, chunk, part);
    });
}

bool bench_tbb_for_calls(int threads, size_t n, bench_tbb_partitioner part, uint64_t calls,
                         int (*body)(void *ctx, size_t lo, size_t hi), void *ctx,
                         double *seconds)
{
    auto chunk = [body, ctx](const tbb::blocked_range<size_t> &r) {
        body(ctx, r.begin(), r.end());
    };
    tbb::blocked_range<size_t> range(0, n, 1);
    return timed_calls(threads, calls, seconds, [&] { parallel_for_with(range, chunk, part); });
}

bool bench_tbb_reduce_sum(int threads, size_t n,
                          int (*fold)(void *ctx, size_t lo, size_t hi, void *acc), void *ctx,
                          double *sum, double *seconds)
{
    return timed(threads, seconds, [&] { *sum = reduce_sum(n, fold, ctx); });
}

bool bench_tbb_reduce_sum_calls(int threads, size_t n,
                                int (*fold)(void *ctx, size_t lo, size_t hi, void *acc),
                                void *ctx, uint64_t calls, double want, uint64_t *bad,
                                double *seconds)
{
    *bad = 0;
    return timed_calls(threads, calls, seconds,
                       [&] { *bad += reduce_sum(n, fold, ctx) != want; });
}

bool bench_tbb_scan_u64(int threads, size_t n, unsigned passes,
                        uint64_t (*kernel)(void *ctx, size_t lo, size_t hi, uint64_t sum, bool is_final),
                        void *ctx, double *seconds)
{
    return timed(threads, seconds, [&] {
        for (unsigned p = 0; p < passes; p++)
            tbb::parallel_scan(
                tbb::blocked_range<size_t>(0, n), uint64_t(0),
                [kernel, ctx](const tbb::blocked_range<size_t> &r, uint64_t sum, bool is_final) {
                    return kernel(ctx, r.begin(), r.end(), sum, is_final);
                },
                std::plus<uint64_t>());
    });
}

bool bench_tbb_sort_u64(int threads, uint64_t *keys, size_t n,
                        int (*cmp)(const void *a, const void *b), double *seconds)
{
    return timed(threads, seconds, [&] {
        if (cmp)
            tbb::parallel_sort(keys, keys + n,
                               [cmp](const uint64_t &a, const uint64_t &b) { return cmp(&a, &b) < 0; });
        else
            tbb::parallel_sort(keys, keys + n);
    });
}

bool bench_tbb_uts(int threads, const uts_param *p, uint64_t walks, uint64_t *good,
                   uint64_t *count, double *seconds)
{
    *good = 0;
    *count = 0;
    if (p->m > UTS_MAX_M)
        return false;
    std::vector<uint64_t> root_counts;
    try {
        root_counts.resize(p->root_children ? p->root_children : 1);
    } catch (...) {
        return false;
    }
    return timed(threads, seconds, [&] {
        for (uint64_t w = 0; w < walks; w++) {
            *count = p->root_children
                         ? uts_tbb_children(p, uts_root(p), p->root_children, root_counts.data())
                         : 1;
            *good += *count == p->nodes;
        }
    });
}

} // extern "C"

bool bench_tbb_pipeline(int threads, size_t tokens, void *(*read)(void *ctx),
                        void (*transform)(void *ctx, void *item), void (*write)(void *ctx, void *item),
                        void *ctx, double *seconds)
{
    return timed(threads, seconds, [&] {
        tbb::parallel_pipeline(
            tokens,
            tbb::make_filter<void, void *>(tbb::filter_mode::serial_in_order,
                                           [&](tbb::flow_control &fc) -> void * {
                                               void *item = read(ctx);
                                               if (!item)
                                                   fc.stop();
                                               return item;
                                           }) &
                tbb::make_filter<void *, void *>(tbb::filter_mode::parallel,
                                                 [&](void *item) -> void * {
                                                     transform(ctx, item);
                                                     return item;
                                                 }) &
                tbb::make_filter<void *, void>(tbb::filter_mode::serial_in_order,
                                               [&](void *item) { write(ctx, item); }));
    });
}
