/* bench_runtime.c: the scheduler benchmarks, weft beside serial C, OpenMP tasks (gcc's
 * libgomp) and pthreads: fib, nqueens, nqueens_scope, join_overhead, spawn_overhead,
 * broadcast, scope_task, spawn_copy, wake_latency, idle_cpu.
 *
 * Fairness invariants:
 *  - weft and OpenMP versions of a workload fork at the same places: fib at every level
 *    (no cutoff on either side), nqueens once per candidate column down to the same
 *    serial cutoff (NQ_CUTOFF rows); both are written as their users write them (weft:
 *    weft_join; OpenMP: one `task` per child and `taskwait`, the smaller branch inline).
 *  - Parallel rows time only the work: the weft pool (or the OpenMP team) is created
 *    and warmed before the clock starts and destroyed after it stops; the timed part of
 *    weft is one weft_pool_run per workload run, of OpenMP one `parallel` region.
 *  - Every result is checked (fib values, 14200 solutions of 12 queens, task results,
 *    task counts); every weft/libc call's return value is checked.
 *  - fib also runs as impl "weft-inline": the inline fork-join of weft/inline.h (a
 *    typed task forked and joined by code compiled into fib, no call into libweft
 *    unless a thief took the task). It forks fib(n - 1) and calls fib(n - 2), as
 *    Lace's fib does (bench/README.md, "Lace comparison"); the weft row forks the
 *    smaller half, as weft_join users write it (a runs first). Same calls either way.
 *  - With oneTBB (WEFT_BENCH_HAVE_TBB), fib and nqueens also run as impl "tbb"
 *    (bench_tbb.cpp: a tbb::task_group per fork, the same fork points and cutoff).
 *  - With a C++ compiler (WEFT_BENCH_HAVE_CPP), join_overhead also runs as impl
 *    "weft-cpp": the same joins through weft.hpp's weft::join (bench_cpp.cpp); with
 *    oneTBB, as impl "tbb": a tbb::task_group per join of the same count_fn halves.
 *
 * Rows that report a measured quantity rather than a work rate (wake_latency in "us",
 * idle_cpu in "cpu%") return it in bench_result.value (see bench_def.unit); their
 * seconds are just the run's duration, timed by the driver.
 *
 * --quick uses smaller problems with their own (honest) params, through
 * bench_registry_quick. */
#include "bench.h"
#include "bench_cpp.h"
#include "bench_tbb.h"

#include <weft/inline.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ------------------------------------------------------------------------------
 * Helpers */


/* An empty function the compiler cannot remove or inline (the asm is a side effect). */
__attribute__((noinline)) static void empty_fn(void *ctx)
{
    __asm__ volatile("" : : "r"(ctx) : "memory");
}

/* The join_overhead halves: count the call (so the result can be checked) and
 * nothing else; out of line, like empty_fn. The asm makes the count a store the
 * compiler cannot drop or merge, and touches no other memory (a "memory" clobber
 * would also force the C++ rows' lambda objects onto the stack). */
__attribute__((noinline)) static void count_fn(void *ctx)
{
    ++*(uint64_t *)ctx;
    __asm__ volatile("" : "+m"(*(uint64_t *)ctx));
}

/* Hide a value from the optimiser, so a loop of pure calls is not folded. */
static inline int opaque_int(int v)
{
    __asm__ volatile("" : "+r"(v));
    return v;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------------------
 * fib: size runs of fib(n), forking at every level (no cutoff); ops = calls made
 * (2 fib(n+1) - 1 per run), so "ns/call" is the cost of one fork plus its leaf. */

typedef struct fib_param {
    int n;
    uint64_t value; /* fib(n) */
} fib_param;

static uint64_t fib_calls(int n)
{
    uint64_t a = 0, b = 1; /* fib(0), fib(1) */
    for (int i = 0; i < n + 1; i++) {
        uint64_t c = a + b;
        a = b;
        b = c;
    }
    return 2 * a - 1; /* a = fib(n+1) */
}

/* Two serial baselines. "serial" is the plain recursion as gcc -O2 compiles it: gcc
 * inlines the recursion into itself and turns one of the two calls into a loop
 * (tail recursion with an accumulator), so it makes only a fraction of the calls it
 * is credited with (~0.4-0.7 ns per credited call, under 2 cycles). "serial-calls" is
 * the same recursion kept as written, one real call per call, as weft's fib makes it:
 * noinline stops the self-inlining, and the empty asm on the second result stops the
 * accumulator transform. weft/peer against it is the per-call overhead of a fork,
 * the figure work-stealing papers quote ("2.5x serial"); against "serial" it is what
 * a user pays over the best the compiler can do with the plain function. */
static uint64_t fib_serial(int n)
{
    return n < 2 ? (uint64_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

static __attribute__((noinline)) uint64_t fib_serial_calls(int n)
{
    if (n < 2)
        return (uint64_t)n;
    uint64_t a = fib_serial_calls(n - 1);
    uint64_t b = fib_serial_calls(n - 2);
    __asm__ volatile("" : "+r"(b)); /* b is opaque: no accumulator loop */
    return a + b;
}

static bench_result fib_serial_common(const bench_args *a, uint64_t (*fib)(int))
{
    const fib_param *p = a->arg;
    bench_result res = {.ok = true};
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < a->size; i++)
        res.ok = fib(opaque_int(p->n)) == p->value && res.ok;
    res.seconds = bench_now_s() - t0;
    res.ops = a->size * fib_calls(p->n);
    return res;
}

static bench_result fib_serial_run(const bench_args *a)
{
    return fib_serial_common(a, fib_serial);
}

static bench_result fib_serial_calls_run(const bench_args *a)
{
    return fib_serial_common(a, fib_serial_calls);
}

typedef struct fib_frame {
    int n;
    uint64_t value;
} fib_frame;

/* "serial-floor": the floor under any stealable join, for scale (a lower bound,
 * not a runtime). One thread, no pool. Per fork, fib makes only what the fast path of
 * every work-stealing join with a function-pointer interface must make: build the
 * second half as a job on the stack (function, context, completion flag), put its
 * address in a deque slot and raise bottom, check for room and for a thief's request,
 * call the first half through a pointer, lower bottom, check that the job stayed
 * private, call the second half through a pointer. Nothing can steal here, so the
 * checks never fire. weft's join does this and more: it finds its worker (TLS),
 * rejects NULL functions, tags the job with its isolation and waiter, indexes a
 * growable ring, looks for idle workers to wake, answers split requests and counts
 * the job. OpenMP's time over this row's bounds what any such join can reach against
 * it on this machine. */
typedef struct floor_job {
    void (*fn)(void *);
    void *ctx;
    _Atomic int done; /* set by a thief that ran it (none here) */
} floor_job;

#define FLOOR_SLOTS 64 /* deeper than any fib here */

static struct {
    int64_t bottom, split, limit;
    _Atomic(floor_job *) slots[FLOOR_SLOTS];
    _Atomic uint32_t splitreq;
} floor_deque = {.limit = FLOOR_SLOTS};

/* noipa: compiled as a library's join would be, for any a and b (no cloning for
 * fib's constant functions, no inlining into fib). */
__attribute__((noipa)) static void floor_join(void (*a)(void *), void *actx, void (*b)(void *),
                                              void *bctx)
{
    floor_job job = {b, bctx, 0};
    int64_t bot = floor_deque.bottom;
    if (__builtin_expect(bot >= floor_deque.limit ||
                             atomic_load_explicit(&floor_deque.splitreq, memory_order_relaxed),
                         0)) {
        a(actx); /* no room or a request to share: no thief exists, run both here */
        b(bctx);
        return;
    }
    /* Relaxed: one thread; a real deque orders this with its thieves (deque.md). */
    atomic_store_explicit(&floor_deque.slots[bot], &job, memory_order_relaxed);
    floor_deque.bottom = bot + 1;
    a(actx);
    floor_deque.bottom = bot;
    if (__builtin_expect(bot < floor_deque.split, 0))
        (void)atomic_load_explicit(&job.done, memory_order_relaxed); /* a thief's: never */
    b(bctx);
}

static void fib_floor(void *ctx)
{
    fib_frame *f = ctx;
    if (f->n < 2) {
        f->value = (uint64_t)f->n;
        return;
    }
    fib_frame x = {f->n - 1, 0}, y = {f->n - 2, 0};
    floor_join(fib_floor, &x, fib_floor, &y);
    f->value = x.value + y.value;
}

static uint64_t fib_floor_value(int n)
{
    fib_frame f = {n, 0};
    fib_floor(&f);
    return f.value;
}

static bench_result fib_floor_run(const bench_args *a)
{
    return fib_serial_common(a, fib_floor_value);
}

static void fib_weft(void *ctx)
{
    fib_frame *f = ctx;
    if (f->n < 2) {
        f->value = (uint64_t)f->n;
        return;
    }
    fib_frame x = {f->n - 1, 0}, y = {f->n - 2, 0};
    /* weft_join only fails on NULL functions */
    weft_join(fib_weft, &x, fib_weft, &y);
    f->value = x.value + y.value;
}

typedef struct fib_root {
    int n;
    uint64_t size;
    const fib_param *p;
    bool ok;
} fib_root;

static void fib_weft_root(void *ctx)
{
    fib_root *r = ctx;
    for (uint64_t i = 0; i < r->size; i++) {
        fib_frame f = {opaque_int(r->n), 0};
        fib_weft(&f);
        r->ok = f.value == r->p->value && r->ok;
    }
}

/* size runs of fib(n) by `root` (fib_weft_root or fib_inline_root), timed on a pool. */
static bench_result fib_pool_run(const bench_args *a, void (*root)(void *))
{
    const fib_param *p = a->arg;
    bench_result res = {0};
    fib_root r = {p->n, a->size, p, true};
    res.ok = bench_weft_timed(a, root, &r, &res.seconds) && r.ok;
    res.ops = a->size * fib_calls(p->n);
    return res;
}

static bench_result fib_weft_run(const bench_args *a) { return fib_pool_run(a, fib_weft_root); }

/* "weft-inline": fib as a typed inline task (weft/inline.h). */
WEFT_TASK_1(uint64_t, fib_inline, int, n)
{
    if (n < 2)
        return (uint64_t)n;
    WEFT_FRAME(fib_inline) f;
    WEFT_FORK(fib_inline, &f, n - 1);
    uint64_t b = fib_inline(n - 2);
    return WEFT_JOIN(fib_inline, &f) + b;
}

static void fib_inline_root(void *ctx)
{
    fib_root *r = ctx;
    for (uint64_t i = 0; i < r->size; i++)
        r->ok = fib_inline(opaque_int(r->n)) == r->p->value && r->ok;
}

static bench_result fib_inline_run(const bench_args *a) { return fib_pool_run(a, fib_inline_root); }

static uint64_t fib_omp(int n)
{
    if (n < 2)
        return (uint64_t)n;
    uint64_t x, y;
#pragma omp task shared(x) firstprivate(n)
    x = fib_omp(n - 1);
    y = fib_omp(n - 2);
#pragma omp taskwait
    return x + y;
}

static bench_result fib_omp_run(const bench_args *a)
{
    const fib_param *p = a->arg;
    bench_result res = {.ok = true};
    bench_omp_warm(a->threads);
    bool ok = true;
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    for (uint64_t i = 0; i < a->size; i++)
        ok = fib_omp(opaque_int(p->n)) == p->value && ok;
    res.seconds = bench_now_s() - t0;
    res.ok = ok;
    res.ops = a->size * fib_calls(p->n);
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result fib_tbb_run(const bench_args *a)
{
    const fib_param *p = a->arg;
    bench_result res = {0};
    res.ok = bench_tbb_fib(a->threads, opaque_int(p->n), a->size, p->value, &res.seconds);
    res.ops = a->size * fib_calls(p->n);
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * nqueens: size boards of n queens, counting every solution (bitmask backtracking).
 * The parallel versions fork once per free column of a row, except in the last
 * NQ_CUTOFF rows, which run serially (the same cutoff for weft and OpenMP). */

#define NQ_CUTOFF 4
#define NQ_MAX 32

typedef struct nq_param {
    int n;
    uint64_t solutions;
} nq_param;

typedef struct nq_node {
    int n, row;
    uint32_t cols, diag_l, diag_r; /* attacked columns in this row */
} nq_node;

static inline nq_node nq_child(const nq_node *s, uint32_t bit)
{
    return (nq_node){s->n, s->row + 1, s->cols | bit, (s->diag_l | bit) << 1,
                     (s->diag_r | bit) >> 1};
}

static inline uint32_t nq_free(const nq_node *s)
{
    uint32_t all = s->n == 32 ? UINT32_MAX : (1u << s->n) - 1;
    return all & ~(s->cols | s->diag_l | s->diag_r);
}

static uint64_t nq_serial(nq_node s)
{
    if (s.row == s.n)
        return 1;
    uint64_t count = 0;
    for (uint32_t avail = nq_free(&s); avail; avail &= avail - 1)
        count += nq_serial(nq_child(&s, avail & -avail));
    return count;
}

static nq_node nq_root(int n)
{
    return (nq_node){opaque_int(n), 0, 0, 0, 0};
}

static bench_result nq_serial_run(const bench_args *a)
{
    const nq_param *p = a->arg;
    bench_result res = {.ok = true};
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < a->size; i++)
        res.ok = nq_serial(nq_root(p->n)) == p->solutions && res.ok;
    res.seconds = bench_now_s() - t0;
    res.ops = a->size;
    return res;
}

/* weft: the free columns of a row are split in halves with weft_join (rayon's
 * par_iter over them), down to one column per leaf, each solved recursively. */
typedef struct nq_range {
    const nq_node *parent;
    const uint32_t *bits;
    int lo, hi;
    uint64_t count;
} nq_range;

static uint64_t nq_weft(nq_node s);

static void nq_weft_range(void *ctx)
{
    nq_range *r = ctx;
    if (r->hi - r->lo == 1) {
        r->count = nq_weft(nq_child(r->parent, r->bits[r->lo]));
        return;
    }
    int mid = r->lo + (r->hi - r->lo) / 2;
    nq_range x = {r->parent, r->bits, r->lo, mid, 0}, y = {r->parent, r->bits, mid, r->hi, 0};
    weft_join(nq_weft_range, &x, nq_weft_range, &y);
    r->count = x.count + y.count;
}

static uint64_t nq_weft(nq_node s)
{
    if (s.row >= s.n - NQ_CUTOFF)
        return nq_serial(s);
    uint32_t bits[NQ_MAX];
    int k = 0;
    for (uint32_t avail = nq_free(&s); avail; avail &= avail - 1)
        bits[k++] = avail & -avail;
    if (k == 0)
        return 0;
    nq_range r = {&s, bits, 0, k, 0};
    nq_weft_range(&r);
    return r.count;
}

typedef struct nq_root_args {
    const nq_param *p;
    uint64_t (*solve)(nq_node s); /* nq_weft or nq_scope */
    uint64_t size;
    bool ok;
} nq_root_args;

static void nq_weft_root(void *ctx)
{
    nq_root_args *r = ctx;
    for (uint64_t i = 0; i < r->size; i++)
        r->ok = r->solve(nq_root(r->p->n)) == r->p->solutions && r->ok;
}

static bench_result nq_weft_common(const bench_args *a, uint64_t (*solve)(nq_node s))
{
    const nq_param *p = a->arg;
    bench_result res = {0};
    nq_root_args r = {p, solve, a->size, true};
    res.ok = bench_weft_timed(a, nq_weft_root, &r, &res.seconds) && r.ok;
    res.ops = a->size;
    return res;
}

static bench_result nq_weft_run(const bench_args *a)
{
    return nq_weft_common(a, nq_weft);
}

/* OpenMP: one task per free column (the BOTS nqueens shape), taskwait, sum; serial in
 * the last `cutoff` rows. */
static uint64_t nq_omp(nq_node s, int cutoff)
{
    if (s.row >= s.n - cutoff)
        return nq_serial(s);
    uint64_t counts[NQ_MAX];
    int k = 0;
    for (uint32_t avail = nq_free(&s); avail; avail &= avail - 1, k++) {
        uint32_t bit = avail & -avail;
#pragma omp task shared(counts) firstprivate(s, bit, k, cutoff)
        counts[k] = nq_omp(nq_child(&s, bit), cutoff);
    }
#pragma omp taskwait
    uint64_t count = 0;
    for (int i = 0; i < k; i++)
        count += counts[i];
    return count;
}

static bench_result nq_omp_common(const bench_args *a, int cutoff)
{
    const nq_param *p = a->arg;
    bench_result res = {0};
    bench_omp_warm(a->threads);
    bool ok = true;
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    for (uint64_t i = 0; i < a->size; i++)
        ok = nq_omp(nq_root(p->n), cutoff) == p->solutions && ok;
    res.seconds = bench_now_s() - t0;
    res.ok = ok;
    res.ops = a->size;
    return res;
}

static bench_result nq_omp_run(const bench_args *a)
{
    return nq_omp_common(a, NQ_CUTOFF);
}

/* ------------------------------------------------------------------------------
 * nqueens_scope: the same boards, a task per free column at every row (no cutoff: the
 * task-parallel C port of the BOTS shape), each node a scope: weft_scope_spawn_copy of
 * the child's node and the slot for its count, then weft_scope_wait and a sum. Peers:
 * OpenMP's nq_omp with cutoff 0 (a task per column, taskwait), TBB's task_group with
 * cutoff 0. The serial baseline is the nqueens row's. */

typedef struct nq_scope_arg {
    nq_node node;
    uint64_t *count;
} nq_scope_arg;

static uint64_t nq_scope(nq_node s);

static int nq_scope_task(weft_scope *sc, void *arg)
{
    (void)sc;
    const nq_scope_arg *x = arg;
    *x->count = nq_scope(x->node);
    return 0;
}

static uint64_t nq_scope(nq_node s)
{
    if (s.row == s.n)
        return 1;
    uint64_t counts[NQ_MAX];
    int k = 0;
    weft_scope sc;
    bool ok = weft_scope_init(&sc, NULL) == 0;
    for (uint32_t avail = nq_free(&s); avail; avail &= avail - 1, k++) {
        nq_scope_arg x = {nq_child(&s, avail & -avail), &counts[k]};
        ok = weft_scope_spawn_copy(&sc, nq_scope_task, &x, sizeof x) == 0 && ok;
    }
    ok = weft_scope_wait(&sc) == 0 && ok;
    uint64_t count = 0;
    for (int i = 0; i < k; i++)
        count += counts[i];
    return ok ? count : 0; /* a failure shows as a wrong count */
}

static bench_result nq_scope_run(const bench_args *a)
{
    return nq_weft_common(a, nq_scope);
}

static bench_result nq_omp_nocut_run(const bench_args *a)
{
    return nq_omp_common(a, 0);
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result nq_tbb_run(const bench_args *a)
{
    const nq_param *p = a->arg;
    bench_result res = {0};
    res.ok = bench_tbb_nqueens(a->threads, opaque_int(p->n), NQ_CUTOFF, a->size, p->solutions,
                               &res.seconds);
    res.ops = a->size;
    return res;
}

static bench_result nq_tbb_nocut_run(const bench_args *a)
{
    const nq_param *p = a->arg;
    bench_result res = {0};
    res.ok = bench_tbb_nqueens(a->threads, opaque_int(p->n), 0, a->size, p->solutions, &res.seconds);
    res.ops = a->size;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * join_overhead: size weft_joins of two near-empty functions (each counts its call)
 * on a 1-worker pool (the second half is never stolen), against the same two calls
 * made directly; both check that the count is 2 x size. */

/* Run loop(&l) once on a fresh 1-worker pool, for a->size iterations; it checks that
 * the loop counted done_per_op per iteration. */
static bench_result pool_loop_run(const bench_args *a, weft_fn loop, uint64_t done_per_op)
{
    bench_result res = {0};
    weft_pool *pool = bench_pool_new(1);
    if (!pool)
        return res;
    bench_loop l = {.size = a->size};
    int rc = weft_pool_run(pool, loop, &l);
    res.ok = rc == 0 && l.ok && l.done == done_per_op * a->size && weft_pool_destroy(pool) == 0;
    res.seconds = l.seconds;
    res.ops = a->size;
    return res;
}

static void join_loop(void *ctx)
{
    bench_loop *l = ctx;
    double t0 = bench_now_s();
    uint64_t i = 0;
    for (; i < l->size; i++) /* stops at an error, as a user's loop would */
        if (weft_join(count_fn, &l->done, count_fn, &l->done) != 0)
            break;
    l->seconds = bench_now_s() - t0;
    l->ok = i == l->size;
}

static bench_result join_weft_run(const bench_args *a)
{
    return pool_loop_run(a, join_loop, 2);
}

#ifdef WEFT_BENCH_HAVE_CPP
/* The same joins through weft.hpp's weft::join (bench_cpp.cpp), on the same pool. */
static bench_result join_weft_cpp_run(const bench_args *a)
{
    return pool_loop_run(a, bench_cpp_join_loop_run, 2);
}

/* Through weft::join with noexcept halves: its direct path. */
static bench_result join_weft_cpp_noexcept_run(const bench_args *a)
{
    return pool_loop_run(a, bench_cpp_join_noexcept_loop_run, 2);
}
#endif

#ifdef WEFT_BENCH_HAVE_TBB
/* The same two halves joined by a tbb::task_group in a 1-thread arena. */
static bench_result join_tbb_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t done = 0;
    res.ok = bench_tbb_join(1, a->size, count_fn, &done, &res.seconds) && done == 2 * a->size;
    res.ops = a->size;
    return res;
}
#endif

static bench_result join_serial_run(const bench_args *a)
{
    bench_result res = {.ok = true};
    uint64_t dummy = 0;
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < a->size; i++) {
        count_fn(&dummy);
        count_fn(&dummy);
    }
    res.seconds = bench_now_s() - t0;
    res.ok = dummy == 2 * a->size;
    res.ops = a->size;
    return res;
}

/* ------------------------------------------------------------------------------
 * spawn_overhead: size times, spawn one task and join it, from inside a 1-worker pool
 * (weft_spawn + weft_task_join) or a 1-thread OpenMP team (task + taskwait). The task
 * increments a counter; the counter must end at size. */

static void *spawn_task(void *arg)
{
    uint64_t *counter = arg;
    ++*counter;
    return arg;
}

static void spawn_loop(void *ctx)
{
    bench_loop *l = ctx;
    bool ok = true;
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < l->size; i++) {
        weft_task *t;
        void *r = NULL;
        ok = weft_spawn(NULL, spawn_task, &l->done, &t) == 0 && ok;
        ok = weft_task_join(t, &r) == 0 && r == &l->done && ok;
    }
    l->seconds = bench_now_s() - t0;
    l->ok = ok;
}

static bench_result spawn_weft_run(const bench_args *a)
{
    return pool_loop_run(a, spawn_loop, 1);
}

static bench_result spawn_omp_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t counter = 0;
    double seconds = 0;
#pragma omp parallel num_threads(1)
    {
        double t0 = bench_now_s();
        for (uint64_t i = 0; i < a->size; i++) {
#pragma omp task shared(counter)
            ++counter;
#pragma omp taskwait
        }
        seconds = bench_now_s() - t0;
    }
    res.ok = counter == a->size;
    res.seconds = seconds;
    res.ops = a->size;
    return res;
}

/* ------------------------------------------------------------------------------
 * broadcast: `size` broadcasts back to back, each a call on every thread that adds 1
 * to that thread's own counter (no shared line): ns per broadcast, from the start of
 * one to the return of the next. The counters must sum to size x threads. weft:
 * weft_broadcast from the driver's thread, outside the pool (it waits, as any outside
 * thread); weft-inside: from a worker, inside one weft_pool_run (its own call runs
 * inline, and it runs work while it waits); weft-caller: from the driver's thread in a
 * caller slot, inside one weft_pool_execute (it holds a turn, so one worker is benched
 * and sleeps between its calls); openmp: an empty `parallel` region per broadcast, the
 * team started before the clock (what OpenMP code writes for "every thread, once").
 * No rayon peer is built (bench/README.md, "broadcast"). */

enum { BCAST_MAX_THREADS = 256 };

typedef struct bcast_counters {
    struct {
        _Alignas(128) uint64_t n;
    } per[BCAST_MAX_THREADS];
} bcast_counters;

static void bcast_count(void *ctx, unsigned index, unsigned num_threads)
{
    (void)num_threads;
    ((bcast_counters *)ctx)->per[index].n++;
}

static uint64_t bcast_sum(const bcast_counters *c, int threads)
{
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++)
        sum += c->per[i].n;
    return sum;
}

typedef struct bcast_loop {
    weft_pool *pool;
    uint64_t size;
    bcast_counters *c;
    double seconds;
    bool ok;
} bcast_loop;

static void bcast_weft_loop(void *p)
{
    bcast_loop *l = p;
    bool ok = true;
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < l->size; i++)
        ok = weft_broadcast(l->pool, bcast_count, l->c) == 0 && ok;
    l->seconds = bench_now_s() - t0;
    l->ok = ok;
}

/* Where the broadcasts are made from: the driver's thread outside the pool, a worker
 * (inside one weft_pool_run), or the driver's thread in a caller slot (inside one
 * weft_pool_execute). */
typedef enum bcast_from { BCAST_OUTSIDE, BCAST_WORKER, BCAST_CALLER } bcast_from;

static bench_result bcast_weft_common(const bench_args *a, bcast_from from)
{
    bench_result res = {0};
    if (a->threads > BCAST_MAX_THREADS)
        return res;
    bcast_counters *c = calloc(1, sizeof *c);
    weft_pool *pool = c ? bench_pool_new(a->threads) : NULL;
    if (!pool) {
        free(c);
        return res;
    }
    bcast_loop l = {pool, a->size, c, 0, false};
    bool ok = weft_pool_run(pool, empty_fn, NULL) == 0; /* workers up */
    if (from == BCAST_WORKER)
        ok = weft_pool_run(pool, bcast_weft_loop, &l) == 0 && ok;
    else if (from == BCAST_CALLER)
        ok = weft_pool_execute(pool, bcast_weft_loop, &l) == 0 && ok;
    else
        bcast_weft_loop(&l);
    ok = weft_pool_destroy(pool) == 0 && ok && l.ok;
    res.ok = ok && bcast_sum(c, a->threads) == a->size * (uint64_t)a->threads;
    res.seconds = l.seconds;
    res.ops = a->size;
    free(c);
    return res;
}

static bench_result bcast_weft_run(const bench_args *a) { return bcast_weft_common(a, BCAST_OUTSIDE); }
static bench_result bcast_weft_inside_run(const bench_args *a) { return bcast_weft_common(a, BCAST_WORKER); }
static bench_result bcast_weft_caller_run(const bench_args *a) { return bcast_weft_common(a, BCAST_CALLER); }

static bench_result bcast_omp_run(const bench_args *a)
{
    bench_result res = {0};
    if (a->threads > BCAST_MAX_THREADS)
        return res;
    bcast_counters *c = calloc(1, sizeof *c);
    if (!c)
        return res;
    bench_omp_warm(a->threads);
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < a->size; i++) {
#pragma omp parallel
        bcast_count(c, (unsigned)omp_get_thread_num(), (unsigned)omp_get_num_threads());
    }
    res.seconds = bench_now_s() - t0;
    res.ok = bcast_sum(c, a->threads) == a->size * (uint64_t)a->threads;
    res.ops = a->size;
    free(c);
    return res;
}

/* ------------------------------------------------------------------------------
 * scope_task: one task spawns `size` empty tasks into one scope, then waits (the shape
 * of an OpenMP `task` loop in a `single`, then `taskwait`): ns per task, spawn, run
 * and wait included. Each task adds 1 to its thread's own counter (no shared line);
 * the counters must sum to size. weft: weft_scope_spawn; openmp: `#pragma omp task`;
 * tbb: tbb::task_group::run, then wait. */

typedef struct task_slot {
    _Alignas(128) uint64_t n;
} task_slot;

#define TASK_SLOTS (WEFT_POOL_MAX_THREADS + WEFT_POOL_CALLER_SLOTS + 1)

typedef struct scope_task_args {
    uint64_t size;
    task_slot *slots; /* one per thread (weft: worker index + 1; OpenMP: thread num) */
    bool ok;
} scope_task_args;

static bool task_slots_sum_ok(const task_slot *slots, uint64_t want)
{
    uint64_t sum = 0;
    for (size_t k = 0; k < TASK_SLOTS; k++)
        sum += slots[k].n;
    return sum == want;
}

static int scope_empty_task(weft_scope *s, void *arg)
{
    (void)s;
    task_slot *slots = arg;
    slots[weft_current_worker_index() + 1].n++;
    return 0;
}

static void scope_task_root(void *ctx)
{
    scope_task_args *t = ctx;
    weft_scope s;
    bool ok = weft_scope_init(&s, NULL) == 0;
    for (uint64_t i = 0; i < t->size; i++)
        ok = weft_scope_spawn(&s, scope_empty_task, t->slots) == 0 && ok;
    t->ok = weft_scope_wait(&s) == 0 && ok;
}

static bench_result scope_task_weft_run(const bench_args *a)
{
    bench_result res = {0};
    scope_task_args t = {.size = a->size, .slots = calloc(TASK_SLOTS, sizeof(task_slot))};
    if (!t.slots)
        return res;
    res.ok = bench_weft_timed(a, scope_task_root, &t, &res.seconds) && t.ok &&
             task_slots_sum_ok(t.slots, a->size);
    res.ops = a->size;
    free(t.slots);
    return res;
}

static bench_result scope_task_omp_run(const bench_args *a)
{
    bench_result res = {0};
    task_slot *slots = calloc(TASK_SLOTS, sizeof(task_slot));
    if (!slots)
        return res;
    bench_omp_warm(a->threads);
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    {
        for (uint64_t i = 0; i < a->size; i++) {
#pragma omp task
            slots[omp_get_thread_num()].n++;
        }
#pragma omp taskwait
    }
    res.seconds = bench_now_s() - t0;
    res.ok = task_slots_sum_ok(slots, a->size);
    res.ops = a->size;
    free(slots);
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result scope_task_tbb_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t ran = 0;
    res.ok = bench_tbb_empty_tasks(a->threads, a->size, &ran, &res.seconds) && ran == a->size;
    res.ops = a->size;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * spawn_copy: one task spawns `size` scope tasks into one scope, each with its own copy
 * of a struct that the spawning loop rewrites every iteration, then waits (the port of
 * an OpenMP `task firstprivate(x)` loop); param 16B / 256B is the struct's size, below
 * and beyond WEFT_SPAWN_COPY_INLINE. weft: weft_scope_spawn_copy; weft-array: the
 * same tasks with weft_scope_spawn and a pointer into an array of the structs, kept
 * until the wait (what a loop needs without the copy; the array is allocated before
 * the clock, filled inside the timed loop); openmp: one `task firstprivate(x)` per
 * item in a `single`, then `taskwait`. Each task checks its copy and adds its index
 * to its thread's own counter (no shared line); the sum must be 0 + 1 + ... + size-1.
 * Unlike weft, libgomp runs a task at once (undeferred) while more than 64 per thread
 * are queued, so its tasks never pile up; weft queues every task, so up to `size`
 * blocks (and, for weft-array, the whole array) are live at once, their pages first
 * touched inside the timed loop. */

#define COPY_SLOTS (WEFT_POOL_MAX_THREADS + WEFT_POOL_CALLER_SLOTS + 1)

typedef struct copy_param {
    size_t bytes; /* sizeof the copied struct: 16 (copy_small) or 256 (copy_big) */
} copy_param;

/* The copied structs: an index and its complement, and for 256B a tail whose last
 * byte is tied to the index too. */
typedef struct copy_small {
    uint64_t index, check;
} copy_small;

typedef struct copy_big {
    uint64_t index, check;
    unsigned char tail[240];
} copy_big;

typedef struct copy_slot {
    _Alignas(128) uint64_t sum;
    bool bad;
} copy_slot;

typedef struct copy_args {
    uint64_t size;
    size_t bytes;
    copy_slot *slots; /* one per thread (weft: worker index + 1; OpenMP: thread num) */
    void *array;      /* weft-array: size structs, kept until the wait */
    bool ok;
} copy_args;

static inline void copy_small_set(copy_small *x, uint64_t i)
{
    x->index = i;
    x->check = ~i;
}

static inline void copy_big_set(copy_big *x, uint64_t i)
{
    x->index = i;
    x->check = ~i;
    x->tail[sizeof x->tail - 1] = (unsigned char)i;
}

static inline void copy_slot_add(copy_slot *slot, uint64_t index, uint64_t check, bool tail_ok)
{
    slot->sum += index;
    slot->bad |= check != ~index || !tail_ok;
}

static bool copy_sum_ok(const copy_args *c)
{
    uint64_t sum = 0;
    bool bad = false;
    for (size_t k = 0; k < COPY_SLOTS; k++) {
        sum += c->slots[k].sum;
        bad |= c->slots[k].bad;
    }
    return !bad && sum == c->size * (c->size - 1) / 2;
}

/* The scope tasks find their slots here: the copied struct holds only the item (a
 * run sets it before its pool starts and reads the slots after the pool is gone). */
static copy_slot *copy_run_slots;

static int copy_task_small(weft_scope *s, void *arg)
{
    (void)s;
    const copy_small *x = arg;
    copy_slot_add(&copy_run_slots[weft_current_worker_index() + 1], x->index, x->check, true);
    return 0;
}

static int copy_task_big(weft_scope *s, void *arg)
{
    (void)s;
    const copy_big *x = arg;
    copy_slot_add(&copy_run_slots[weft_current_worker_index() + 1], x->index, x->check,
                  x->tail[sizeof x->tail - 1] == (unsigned char)x->index);
    return 0;
}

static void copy_weft_root(void *ctx)
{
    copy_args *c = ctx;
    weft_scope s;
    bool ok = weft_scope_init(&s, NULL) == 0;
    copy_small small;
    copy_big big;
    for (uint64_t i = 0; i < c->size; i++) {
        if (c->bytes > sizeof small) {
            copy_big *x = c->array ? &((copy_big *)c->array)[i] : &big;
            copy_big_set(x, i);
            ok = (c->array ? weft_scope_spawn(&s, copy_task_big, x)
                           : weft_scope_spawn_copy(&s, copy_task_big, x, sizeof *x)) == 0 && ok;
        } else {
            copy_small *x = c->array ? &((copy_small *)c->array)[i] : &small;
            copy_small_set(x, i);
            ok = (c->array ? weft_scope_spawn(&s, copy_task_small, x)
                           : weft_scope_spawn_copy(&s, copy_task_small, x, sizeof *x)) == 0 && ok;
        }
    }
    c->ok = weft_scope_wait(&s) == 0 && ok;
}

static bench_result copy_weft_common(const bench_args *a, bool array)
{
    const copy_param *p = a->arg;
    bench_result res = {0};
    copy_args c = {.size = a->size, .bytes = p->bytes};
    c.slots = calloc(COPY_SLOTS, sizeof *c.slots);
    c.array = array ? malloc(a->size * p->bytes) : NULL;
    if (c.slots && (c.array || !array)) {
        copy_run_slots = c.slots;
        res.ok = bench_weft_timed(a, copy_weft_root, &c, &res.seconds) && c.ok && copy_sum_ok(&c);
        res.ops = a->size;
    }
    free(c.slots);
    free(c.array);
    return res;
}

static bench_result copy_weft_run(const bench_args *a)
{
    return copy_weft_common(a, false);
}

static bench_result copy_weft_array_run(const bench_args *a)
{
    return copy_weft_common(a, true);
}

static bench_result copy_omp_run(const bench_args *a)
{
    const copy_param *p = a->arg;
    bench_result res = {0};
    copy_args c = {.size = a->size, .bytes = p->bytes};
    c.slots = calloc(COPY_SLOTS, sizeof *c.slots);
    if (!c.slots)
        return res;
    bench_omp_warm(a->threads);
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    {
        copy_small small;
        copy_big big;
        for (uint64_t i = 0; i < c.size; i++) {
            if (c.bytes > sizeof small) {
                copy_big_set(&big, i);
#pragma omp task firstprivate(big)
                copy_slot_add(&c.slots[omp_get_thread_num()], big.index, big.check,
                              big.tail[sizeof big.tail - 1] == (unsigned char)big.index);
            } else {
                copy_small_set(&small, i);
#pragma omp task firstprivate(small)
                copy_slot_add(&c.slots[omp_get_thread_num()], small.index, small.check, true);
            }
        }
#pragma omp taskwait
    }
    res.seconds = bench_now_s() - t0;
    res.ok = copy_sum_ok(&c);
    res.ops = a->size;
    free(c.slots);
    return res;
}

/* ------------------------------------------------------------------------------
 * wake_latency: size times, sleep WAKE_GAP_NS (so the workers go to sleep), then post
 * one task from this (outside) thread and take the time until it starts (the task
 * reads the clock first thing). Param "median" or "p99" of the run's samples. weft:
 * weft_spawn on a pool of `threads`; pthread: `threads` workers waiting on one
 * condition variable, woken by pthread_cond_signal for a one-slot queue. */

#define WAKE_GAP_NS 2000000u

typedef enum wake_stat { WAKE_MEDIAN, WAKE_P99 } wake_stat;

/* Reduce the samples to the row's statistic, in microseconds (ops = samples). */
static bench_result wake_result(uint64_t *lat, uint64_t n, const bench_args *a, bool ok)
{
    bench_result res = {0};
    qsort(lat, n, sizeof *lat, cmp_u64);
    wake_stat st = *(const wake_stat *)a->arg;
    uint64_t idx = st == WAKE_MEDIAN ? n / 2 : (n * 99 + 99) / 100 - 1;
    uint64_t ns = lat[idx < n ? idx : n - 1];
    res.ok = ok;
    res.ops = n;
    res.value = (double)ns * 1e-3;
    return res;
}

static void *wake_task(void *arg)
{
    uint64_t *start = arg;
    *start = weft_time_now_ns();
    return arg;
}

static bench_result wake_weft_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t n = a->size ? a->size : 1;
    uint64_t *lat = calloc(n, sizeof *lat);
    weft_pool *pool = lat ? bench_pool_new(a->threads) : NULL;
    if (!pool) {
        free(lat);
        return res;
    }
    bool ok = weft_pool_run(pool, empty_fn, NULL) == 0;
    for (uint64_t i = 0; i < n && ok; i++) {
        sleep_ns(WAKE_GAP_NS);
        uint64_t start = 0;
        weft_task *t;
        uint64_t t0 = weft_time_now_ns();
        ok = weft_spawn(pool, wake_task, &start, &t) == 0;
        ok = ok && weft_task_join(t, NULL) == 0 && start >= t0;
        lat[i] = start - t0;
    }
    ok = weft_pool_destroy(pool) == 0 && ok;
    res = wake_result(lat, n, a, ok);
    free(lat);
    return res;
}

typedef struct cv_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, done_cv;
    bool posted, done, stop; /* guarded by lock */
    uint64_t start;          /* written by the worker that took the post, before done */
} cv_pool;

static void *cv_worker(void *arg)
{
    cv_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->posted && !p->stop)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        p->posted = false;
        pthread_mutex_unlock(&p->lock);
        uint64_t start = weft_time_now_ns(); /* the task starts */
        pthread_mutex_lock(&p->lock);
        p->start = start;
        p->done = true;
        pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static bench_result wake_pthread_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t n = a->size ? a->size : 1;
    uint64_t *lat = calloc(n, sizeof *lat);
    pthread_t *tids = calloc((size_t)a->threads, sizeof *tids);
    cv_pool p = {.lock = PTHREAD_MUTEX_INITIALIZER,
                 .work = PTHREAD_COND_INITIALIZER,
                 .done_cv = PTHREAD_COND_INITIALIZER};
    int started = 0;
    bool ok = lat && tids;
    for (; ok && started < a->threads; started++)
        ok = pthread_create(&tids[started], NULL, cv_worker, &p) == 0;
    if (!ok && started > 0)
        started--; /* the last create failed */
    for (uint64_t i = 0; i < n && ok; i++) {
        sleep_ns(WAKE_GAP_NS);
        uint64_t t0 = weft_time_now_ns();
        pthread_mutex_lock(&p.lock);
        p.posted = true;
        pthread_cond_signal(&p.work);
        while (!p.done)
            pthread_cond_wait(&p.done_cv, &p.lock);
        p.done = false;
        uint64_t start = p.start;
        pthread_mutex_unlock(&p.lock);
        ok = start >= t0;
        lat[i] = start - t0;
    }
    pthread_mutex_lock(&p.lock);
    p.stop = true;
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.lock);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    if (lat)
        res = wake_result(lat, n, a, ok);
    free(lat);
    return res;
}

/* ------------------------------------------------------------------------------
 * idle_cpu: CPU time of the whole process (getrusage RUSAGE_SELF, user + system) per
 * wall second, in percent, over a window of `size` ms:
 *  - "idle": a pool of `threads` workers (warmed by one run) doing nothing;
 *  - "task_per_ms": an outside thread posting one tiny task per ms to it.
 * OpenMP peer: "idle" is a team of `threads` after a parallel region (libgomp's default
 * wait policy: OMP_WAIT_POLICY / GOMP_SPINCOUNT as the environment says). For
 * "task_per_ms" OpenMP has no way to post from outside a team, so the natural
 * equivalent is one thread of a `threads` team producing an `omp task` per ms inside
 * `single`, the rest of the team idling at the single's barrier (where libgomp runs
 * tasks); the producer is thus one of the team, where weft's is an extra thread. */

typedef enum idle_mode { IDLE_IDLE, IDLE_TASK_PER_MS } idle_mode;

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static bench_result cpu_result(double cpu, double wall, bool ok)
{
    bench_result res = {0};
    res.ok = ok && wall > 0 && cpu >= 0;
    res.ops = 1;
    res.value = wall > 0 && cpu > 0 ? 100.0 * cpu / wall : 0;
    return res;
}

/* Sleep until the absolute CLOCK_MONOTONIC time `ns`. */
static void sleep_until_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void *tiny_task(void *arg)
{
    /* Relaxed: a counter, read after weft_pool_destroy has waited for every task. */
    atomic_fetch_add_explicit((_Atomic uint64_t *)arg, 1, memory_order_relaxed);
    return NULL;
}

static bench_result idle_weft_run(const bench_args *a)
{
    bench_result res = {0};
    idle_mode mode = *(const idle_mode *)a->arg;
    uint64_t ms = a->size ? a->size : 1;
    weft_pool *pool = bench_pool_new(a->threads);
    if (!pool)
        return res;
    _Atomic uint64_t ran;
    atomic_init(&ran, 0);
    bool ok = weft_pool_run(pool, empty_fn, NULL) == 0;
    uint64_t t0 = weft_time_now_ns();
    double c0 = cpu_seconds();
    if (mode == IDLE_IDLE) {
        sleep_until_ns(t0 + ms * 1000000u);
    } else {
        for (uint64_t i = 1; i <= ms && ok; i++) {
            sleep_until_ns(t0 + i * 1000000u);
            ok = weft_spawn(pool, tiny_task, &ran, NULL) == 0;
        }
    }
    double c1 = cpu_seconds();
    double wall = (double)(weft_time_now_ns() - t0) * 1e-9;
    ok = weft_pool_destroy(pool) == 0 && ok;
    /* Relaxed: destroy waited for every task (it joined the workers). */
    uint64_t want = mode == IDLE_IDLE ? 0 : ms;
    ok = ok && atomic_load_explicit(&ran, memory_order_relaxed) == want;
    return cpu_result(c1 - c0, wall, ok);
}

static bench_result idle_omp_run(const bench_args *a)
{
    idle_mode mode = *(const idle_mode *)a->arg;
    uint64_t ms = a->size ? a->size : 1;
    uint64_t ran = 0;
    double cpu = 0, wall = 0;
    omp_set_num_threads(a->threads);
    if (mode == IDLE_IDLE) {
#pragma omp parallel
        {
        }
        uint64_t t0 = weft_time_now_ns();
        double c0 = cpu_seconds();
        sleep_until_ns(t0 + ms * 1000000u);
        cpu = cpu_seconds() - c0;
        wall = (double)(weft_time_now_ns() - t0) * 1e-9;
        return cpu_result(cpu, wall, true);
    }
#pragma omp parallel
#pragma omp single
    {
        uint64_t t0 = weft_time_now_ns();
        double c0 = cpu_seconds();
        for (uint64_t i = 1; i <= ms; i++) {
            sleep_until_ns(t0 + i * 1000000u);
#pragma omp task shared(ran)
            {
#pragma omp atomic
                ran++;
            }
        }
        cpu = cpu_seconds() - c0;
        wall = (double)(weft_time_now_ns() - t0) * 1e-9;
    }
    return cpu_result(cpu, wall, ran == ms);
}

/* ------------------------------------------------------------------------------
 * The tables. Rows with fixed sizes: fib n=35 (serial: 4 runs of fib(35), ~60 ms;
 * parallel: one), fib n=32 openmp (one run is well over 50 ms; calibrating would only
 * repeat the warm-up), and the latency/CPU rows (size = samples or window ms). The
 * others start from these sizes and are rescaled by the driver to ~50 ms a rep.
 * Note: gcc -O2 turns the serial fib's plain recursion into loops (tail-recursion
 * accumulation plus recursive inlining), so it makes far fewer calls than fib(n)
 * nodes; it is the baseline a C programmer gets, not a call-per-node one. */

#define ONE_THREAD {.min = 1, .max = 1, .defaults = {1}}
#define SCALING {.min = 1}
#define ALL_CPUS {.min = 1, .defaults = {BENCH_NCPUS}}

static const fib_param fib32 = {32, 2178309}, fib35 = {35, 9227465};
static const fib_param fib20 = {20, 6765}, fib24 = {24, 46368};
static const nq_param nq12 = {12, 14200}, nq10 = {10, 724};
static const wake_stat wake_median = WAKE_MEDIAN, wake_p99 = WAKE_P99;
static const copy_param copy16 = {16}, copy256 = {256};
static const idle_mode idle_idle = IDLE_IDLE, idle_task_per_ms = IDLE_TASK_PER_MS;

/* The rows shared by default and --quick runs. */
#define COMMON_ROWS                                                                          \
    {"join_overhead", "empty", "weft", ONE_THREAD, "ns/join", join_weft_run, 10000000,      \
     1000000, false, NULL},                                                                  \
    BENCH_CPP_ROW("join_overhead", "empty", "weft-cpp", ONE_THREAD, "ns/join",              \
                  join_weft_cpp_run, 10000000, 1000000, false, NULL)                         \
    BENCH_CPP_ROW("join_overhead", "empty", "weft-cpp-noexcept", ONE_THREAD, "ns/join",     \
                  join_weft_cpp_noexcept_run, 10000000, 1000000, false, NULL)                \
    BENCH_TBB_ROW("join_overhead", "empty", "tbb", ONE_THREAD, "ns/join", join_tbb_run,     \
                  1000000, 100000, false, NULL)                                              \
    {"join_overhead", "empty", "serial", ONE_THREAD, "ns/join", join_serial_run, 10000000,  \
     1000000, false, NULL},                                                                  \
    {"spawn_overhead", "empty", "weft", ONE_THREAD, "ns/task", spawn_weft_run, 1000000,     \
     100000, false, NULL},                                                                   \
    {"spawn_overhead", "empty", "openmp", ONE_THREAD, "ns/task", spawn_omp_run, 1000000,    \
     100000, false, NULL},                                                                   \
    {"broadcast", "empty", "weft", SCALING, "ns/broadcast", bcast_weft_run, 100000, 10000,     \
     false, NULL},                                                                           \
    {"broadcast", "empty", "weft-inside", SCALING, "ns/broadcast", bcast_weft_inside_run,   \
     100000, 10000, false, NULL},                                                            \
    {"broadcast", "empty", "weft-caller", SCALING, "ns/broadcast", bcast_weft_caller_run,   \
     100000, 10000, false, NULL},                                                            \
    {"broadcast", "empty", "openmp", SCALING, "ns/broadcast", bcast_omp_run, 100000, 10000, \
     false, NULL},                                                                           \
    {"scope_task", "empty", "weft", SCALING, "ns/task", scope_task_weft_run, 1000000, 100000,  \
     false, NULL},                                                                           \
    {"scope_task", "empty", "openmp", SCALING, "ns/task", scope_task_omp_run, 1000000,      \
     100000, false, NULL},                                                                   \
    BENCH_TBB_ROW("scope_task", "empty", "tbb", SCALING, "ns/task", scope_task_tbb_run,     \
                  1000000, 100000, false, NULL)                                              \
    {"spawn_copy", "16B", "weft", SCALING, "ns/task", copy_weft_run, 1000000, 100000, false, \
     &copy16},                                                                               \
    {"spawn_copy", "16B", "weft-array", SCALING, "ns/task", copy_weft_array_run, 1000000,   \
     100000, false, &copy16},                                                                \
    {"spawn_copy", "16B", "openmp", SCALING, "ns/task", copy_omp_run, 1000000, 100000,      \
     false, &copy16},                                                                        \
    {"spawn_copy", "256B", "weft", SCALING, "ns/task", copy_weft_run, 1000000, 100000,      \
     false, &copy256},                                                                       \
    {"spawn_copy", "256B", "weft-array", SCALING, "ns/task", copy_weft_array_run, 1000000,  \
     100000, false, &copy256},                                                               \
    {"spawn_copy", "256B", "openmp", SCALING, "ns/task", copy_omp_run, 1000000, 100000,     \
     false, &copy256},                                                                       \
    {"wake_latency", "median", "weft", SCALING, "us", wake_weft_run, 100, 10, true,         \
     &wake_median},                                                                          \
    {"wake_latency", "median", "pthread", SCALING, "us", wake_pthread_run, 100, 10,         \
     true, &wake_median},                                                                    \
    {"wake_latency", "p99", "weft", SCALING, "us", wake_weft_run, 100, 10, true,            \
     &wake_p99},                                                                             \
    {"wake_latency", "p99", "pthread", SCALING, "us", wake_pthread_run, 100, 10, true,      \
     &wake_p99},                                                                             \
    {"idle_cpu", "idle", "weft", ALL_CPUS, "cpu%", idle_weft_run, 1000, 100, true,          \
     &idle_idle},                                                                            \
    {"idle_cpu", "idle", "openmp", ALL_CPUS, "cpu%", idle_omp_run, 1000, 100, true,         \
     &idle_idle},                                                                            \
    {"idle_cpu", "task_per_ms", "weft", ALL_CPUS, "cpu%", idle_weft_run, 1000, 100, true,   \
     &idle_task_per_ms},                                                                     \
    {"idle_cpu", "task_per_ms", "openmp", ALL_CPUS, "cpu%", idle_omp_run, 1000, 100, true,  \
     &idle_task_per_ms}

/* The seven fib rows of one size: P the param, F its fib_param, SS / CS the serial and
 * serial-calls (and serial-floor) runs per rep, FIX the fixed_size of the serial and
 * weft rows, OFIX that of the OpenMP and TBB rows. */
#define FIB_ROWS(P, F, SS, CS, FIX, OFIX)                                                    \
    {"fib", P, "serial", ONE_THREAD, "ns/call", fib_serial_run, SS, 1, FIX, &F},            \
    {"fib", P, "serial-calls", ONE_THREAD, "ns/call", fib_serial_calls_run, CS, 1, FIX, &F}, \
    {"fib", P, "serial-floor", ONE_THREAD, "ns/call", fib_floor_run, CS, 1, FIX, &F},       \
    {"fib", P, "weft", SCALING, "ns/call", fib_weft_run, 1, 1, FIX, &F},                    \
    {"fib", P, "weft-inline", SCALING, "ns/call", fib_inline_run, 1, 1, FIX, &F},           \
    {"fib", P, "openmp", SCALING, "ns/call", fib_omp_run, 1, 1, OFIX, &F},                  \
    BENCH_TBB_ROW("fib", P, "tbb", SCALING, "ns/call", fib_tbb_run, 1, 1, OFIX, &F)

static const bench_def runtime_benches[] = {
    FIB_ROWS("n=32", fib32, 16, 4, false, true)
    FIB_ROWS("n=35", fib35, 4, 1, true, true)
    {"nqueens", "n=12", "serial", ONE_THREAD, "boards/s", nq_serial_run, 4, 1, false, &nq12},
    {"nqueens", "n=12", "weft", SCALING, "boards/s", nq_weft_run, 4, 1, false, &nq12},
    {"nqueens", "n=12", "openmp", SCALING, "boards/s", nq_omp_run, 4, 1, false, &nq12},
    BENCH_TBB_ROW("nqueens", "n=12", "tbb", SCALING, "boards/s", nq_tbb_run, 4, 1, false, &nq12)
    {"nqueens_scope", "n=12", "weft", SCALING, "boards/s", nq_scope_run, 4, 1, false, &nq12},
    {"nqueens_scope", "n=12", "openmp", SCALING, "boards/s", nq_omp_nocut_run, 4, 1, false, &nq12},
    BENCH_TBB_ROW("nqueens_scope", "n=12", "tbb", SCALING, "boards/s", nq_tbb_nocut_run, 4, 1, false,
                  &nq12)
    COMMON_ROWS,
};

/* --quick: the same benchmarks on smaller problems, named for what they solve; every
 * fib row is calibrated (one fib(24) takes well under a millisecond). */
static const bench_def runtime_benches_quick[] = {
    FIB_ROWS("n=20", fib20, 1, 1, false, false)
    FIB_ROWS("n=24", fib24, 1, 1, false, false)
    {"nqueens", "n=10", "serial", ONE_THREAD, "boards/s", nq_serial_run, 4, 1, false, &nq10},
    {"nqueens", "n=10", "weft", SCALING, "boards/s", nq_weft_run, 4, 1, false, &nq10},
    {"nqueens", "n=10", "openmp", SCALING, "boards/s", nq_omp_run, 4, 1, false, &nq10},
    BENCH_TBB_ROW("nqueens", "n=10", "tbb", SCALING, "boards/s", nq_tbb_run, 4, 1, false, &nq10)
    {"nqueens_scope", "n=10", "weft", SCALING, "boards/s", nq_scope_run, 4, 1, false, &nq10},
    {"nqueens_scope", "n=10", "openmp", SCALING, "boards/s", nq_omp_nocut_run, 4, 1, false, &nq10},
    BENCH_TBB_ROW("nqueens_scope", "n=10", "tbb", SCALING, "boards/s", nq_tbb_nocut_run, 4, 1, false,
                  &nq10)
    COMMON_ROWS,
};

void bench_register_runtime(bench_registry *r)
{
    if (bench_registry_quick(r))
        bench_registry_add(r, runtime_benches_quick,
                           sizeof runtime_benches_quick / sizeof runtime_benches_quick[0]);
    else
        bench_registry_add(r, runtime_benches, sizeof runtime_benches / sizeof runtime_benches[0]);
}
