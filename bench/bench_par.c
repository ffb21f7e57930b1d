/* bench_par.c: the loop benchmarks of par/, weft beside serial C and OpenMP (gcc's
 * libgomp) in the same run: triad, reduce, reduce_det, mandel, small_loop, and the
 * per-call sweeps loop_sweep and reduce_sweep, and loop_pause (a call after a pause).
 *
 * Fairness invariants:
 *  - The same kernel (one static function per workload) runs in every impl; only the
 *    way the range is cut differs: weft's adaptive splitter (grain 0, what a user
 *    writes first) versus OpenMP's schedule(static) — and for mandel also
 *    schedule(dynamic, 1), its best case for irregular rows.
 *  - Parallel rows time only the work: the weft pool (or the OpenMP team) is made and
 *    warmed before the clock starts; the timed part of weft is one weft_pool_run per
 *    run, of OpenMP one `parallel` region — except in the sweeps, which time calls
 *    made one by one from the calling thread (see their section). Allocation and
 *    initialisation are untimed.
 *  - With oneTBB (WEFT_BENCH_HAVE_TBB), impl "tbb" runs the same kernels through
 *    tbb::parallel_for / parallel_reduce (bench_tbb.cpp): static_partitioner for triad
 *    and the mandel "static" rows, auto_partitioner for reduce and "dynamic,1".
 *  - Every result is checked: triad element by element, the sqrt sums against their
 *    asymptotic expansion (rel. 1e-9), mandel's total iteration count against the
 *    serial kernel's known value, small_loop's array contents, reduce_sweep's sums
 *    against the exact sum.
 *
 * reduce_det puts the deterministic weft reduce in the "weft" row and the plain weft
 * reduce beside it as impl "weft-plain", so weft/peer there is det / plain. */
#include "bench.h"
#include "bench_tbb.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------
 * Helpers */

/* ------------------------------------------------------------------------------
 * triad: a[i] = b[i] + s * c[i] over n doubles, `passes` times (STREAM's triad:
 * 24 bytes moved per element). */

/* OpenMP's schedule(static) without a chunk size, by hand: the calling thread's one
 * contiguous block of [0, n) (the first n % threads blocks one longer). The OpenMP
 * rows run the same kernel functions as the serial and weft rows on these blocks,
 * so they compare schedules, not two compilations of one loop: an inline copy in an
 * OpenMP region ran 10-15% faster or slower than the shared kernel depending on the
 * build (code layout), which showed up as a false weft/peer ratio. */
static void omp_static_block(size_t n, size_t *b, size_t *e)
{
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    size_t per = n / nt, extra = n % nt;
    *b = t * per + (t < extra ? t : extra);
    *e = *b + per + (t < extra);
}

typedef struct triad_param {
    size_t n;
    unsigned passes;
} triad_param;

typedef struct triad {
    double *a, *b, *c;
    double s;
    size_t n;
    unsigned passes;
    int rc;
} triad;

static __attribute__((noinline)) void triad_kernel(triad *t, size_t b, size_t e)
{
    double *restrict a = t->a;
    const double *restrict bb = t->b, *restrict c = t->c;
    double s = t->s;
    for (size_t i = b; i < e; i++)
        a[i] = bb[i] + s * c[i];
}

static bool triad_setup(triad *t, const triad_param *p)
{
    t->n = p->n;
    t->passes = p->passes;
    t->s = 3.0;
    t->rc = 0;
    t->a = malloc(p->n * sizeof(double));
    t->b = malloc(p->n * sizeof(double));
    t->c = malloc(p->n * sizeof(double));
    if (!t->a || !t->b || !t->c)
        return false;
    /* Not 0.0: gcc turns malloc + zeroing into calloc, which would leave the pages
     * of `a` untouched and make the first timed pass pay their page faults. */
    for (size_t i = 0; i < p->n; i++) {
        t->a[i] = -1.0;
        t->b[i] = (double)(i % 1000);
        t->c[i] = (double)(i % 7);
    }
    return true;
}

/* Check every element of a (and rc), then free the arrays. */
static bool triad_check_free(triad *t)
{
    bool ok = t->a && t->b && t->c && t->rc == 0;
    for (size_t i = 0; ok && i < t->n; i++)
        ok = t->a[i] == (double)(i % 1000) + 3.0 * (double)(i % 7);
    free(t->a);
    free(t->b);
    free(t->c);
    return ok;
}

static bool triad_finish(triad *t, bench_result *res)
{
    res->ops = (uint64_t)t->n * t->passes * 24;
    return triad_check_free(t);
}

static bench_result triad_serial_run(const bench_args *a)
{
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, a->arg);
    if (ok) {
        double t0 = bench_now_s();
        for (unsigned p = 0; p < t.passes; p++)
            triad_kernel(&t, 0, t.n);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = triad_finish(&t, &res) && ok;
    return res;
}

static int triad_body(void *ctx, size_t b, size_t e)
{
    triad_kernel(ctx, b, e);
    return 0;
}

static void triad_weft_root(void *arg)
{
    triad *t = arg;
    for (unsigned p = 0; p < t->passes; p++) {
        int rc = weft_par_for(0, t->n, 0, triad_body, t);
        if (rc != 0)
            t->rc = rc;
    }
}

static bench_result triad_weft_run(const bench_args *a)
{
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, a->arg) && bench_weft_timed(a, triad_weft_root, &t, &res.seconds);
    res.ok = triad_finish(&t, &res) && ok;
    return res;
}

static bench_result triad_omp_run(const bench_args *a)
{
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, a->arg);
    if (ok) {
        bench_omp_warm(a->threads);
        double t0 = bench_now_s();
#pragma omp parallel
        {
            size_t b, e;
            omp_static_block(t.n, &b, &e);
            for (unsigned p = 0; p < t.passes; p++) {
                triad_kernel(&t, b, e);
#pragma omp barrier
            }
        }
        res.seconds = bench_now_s() - t0;
    }
    res.ok = triad_finish(&t, &res) && ok;
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
/* TBB: tbb::parallel_for with static_partitioner (one block per thread, as
 * schedule(static)), the same kernel per chunk. */
static bench_result triad_tbb_run(const bench_args *a)
{
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, a->arg) &&
              bench_tbb_for(a->threads, t.n, 0, BENCH_TBB_STATIC, t.passes, triad_body, &t,
                            &res.seconds);
    res.ok = triad_finish(&t, &res) && ok;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * reduce: sum of sqrt(i) for i < n. Checked against the Euler-Maclaurin expansion
 * (2/3) n^1.5 - sqrt(n)/2 + zeta(-1/2) + 1/(24 sqrt(n)), relative error 1e-9. */

typedef struct sum_param {
    size_t n;
} sum_param;

/* The kernel every impl runs (serial, weft, OpenMP, TBB): one out-of-line copy (see
 * omp_static_block). */
static __attribute__((noinline)) double sqrt_sum(size_t b, size_t e, double s)
{
    for (size_t i = b; i < e; i++)
        s += sqrt((double)i);
    return s;
}

static int sqrt_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    *(double *)acc = sqrt_sum(b, e, *(double *)acc);
    return 0;
}

static void sum_combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

static bool sqrt_sum_ok(size_t n, double got)
{
    double x = (double)n;
    double want = 2.0 / 3.0 * x * sqrt(x) - 0.5 * sqrt(x) - 0.2078862250773545 + 1.0 / (24.0 * sqrt(x));
    return fabs(got - want) <= 1e-9 * want;
}

static bench_result reduce_serial_run(const bench_args *a)
{
    const sum_param *p = a->arg;
    bench_result res = {0};
    double s = 0.0;
    double t0 = bench_now_s();
    sqrt_fold(NULL, 0, p->n, &s);
    res.seconds = bench_now_s() - t0;
    res.ok = sqrt_sum_ok(p->n, s);
    res.ops = p->n;
    return res;
}

typedef struct reduce_job {
    size_t n;
    bool det;
    double result;
    int rc;
} reduce_job;

static void reduce_weft_root(void *arg)
{
    reduce_job *j = arg;
    const double zero = 0.0;
    j->rc = (j->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, j->n, 0, &zero, sqrt_fold, sum_combine, NULL, &j->result, sizeof j->result);
}

static bench_result reduce_weft_common(const bench_args *a, bool det)
{
    const sum_param *p = a->arg;
    bench_result res = {0};
    reduce_job j = {p->n, det, 0.0, -1};
    bool ok = bench_weft_timed(a, reduce_weft_root, &j, &res.seconds);
    res.ok = ok && j.rc == 0 && sqrt_sum_ok(p->n, j.result);
    res.ops = p->n;
    return res;
}

static bench_result reduce_weft_run(const bench_args *a)
{
    return reduce_weft_common(a, false);
}

static bench_result reduce_det_weft_run(const bench_args *a)
{
    return reduce_weft_common(a, true);
}

static bench_result reduce_omp_run(const bench_args *a)
{
    const sum_param *p = a->arg;
    bench_result res = {0};
    bench_omp_warm(a->threads);
    double s = 0.0;
    size_t n = p->n;
    double t0 = bench_now_s();
#pragma omp parallel reduction(+ : s)
    {
        size_t b, e;
        omp_static_block(n, &b, &e);
        s += sqrt_sum(b, e, 0.0);
    }
    res.seconds = bench_now_s() - t0;
    res.ok = sqrt_sum_ok(n, s);
    res.ops = n;
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
/* TBB: tbb::parallel_reduce (auto_partitioner) folding with the same kernel. */
static bench_result reduce_tbb_run(const bench_args *a)
{
    const sum_param *p = a->arg;
    bench_result res = {0};
    double s = 0.0;
    bool ok = bench_tbb_reduce_sum(a->threads, p->n, sqrt_fold, NULL, &s, &res.seconds);
    res.ok = ok && sqrt_sum_ok(p->n, s);
    res.ops = p->n;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * mandel: the Mandelbrot set on a square window [x0, x0 + span] x [y0, y0 + span],
 * side x side pixels, at most `iters` iterations; a row is the unit of work (rows
 * through the set cost ~100x rows outside it). ops = pixels; checked: the total
 * iteration count.
 *
 * Two scenes. The whole set ([-2, 0.5] x [-1.25, 1.25], the suite's 2048^2 rows) is
 * symmetric about the real axis: its two halves of rows cost the same (49.9% / 50.1%
 * of the iterations), so on 2 threads OpenMP's schedule(static) is already perfectly
 * balanced there and no scheduler can beat it by more than noise. "seahorse" is the
 * classic zoom on Seahorse Valley ([-0.85, -0.65] x [0, 0.2]), like most zooms not
 * symmetric: its first half of rows holds 58% of the iterations, so static on 2
 * threads can reach at most 1/0.58 = 1.72x, while a load-balancing schedule can reach
 * 2x. It is smaller (512^2) because its pixels cost ~3x more on average. */

typedef struct mandel_param {
    unsigned side, iters;
    double x0, y0, span; /* the window */
    uint64_t total;      /* iterations summed over all pixels (serial kernel) */
} mandel_param;

typedef struct mandel {
    const mandel_param *p;
    uint64_t *row_iters; /* per row */
} mandel;

static void mandel_rows(const mandel *m, size_t r0, size_t r1)
{
    unsigned side = m->p->side, iters = m->p->iters;
    double step = m->p->span / side;
    for (size_t r = r0; r < r1; r++) {
        double cy = m->p->y0 + step * (double)r;
        uint64_t sum = 0;
        for (unsigned x = 0; x < side; x++) {
            double cx = m->p->x0 + step * x;
            double zx = 0.0, zy = 0.0;
            unsigned k = 0;
            while (k < iters && zx * zx + zy * zy <= 4.0) {
                double t = zx * zx - zy * zy + cx;
                zy = 2.0 * zx * zy + cy;
                zx = t;
                k++;
            }
            sum += k;
        }
        m->row_iters[r] = sum;
    }
}

static bool mandel_finish(mandel *m, bench_result *res)
{
    uint64_t total = 0;
    for (unsigned r = 0; m->row_iters && r < m->p->side; r++)
        total += m->row_iters[r];
    free(m->row_iters);
    res->ops = (uint64_t)m->p->side * m->p->side;
    return total == m->p->total;
}

static bench_result mandel_serial_run(const bench_args *a)
{
    bench_result res = {0};
    mandel m = {a->arg, calloc(((const mandel_param *)a->arg)->side, sizeof(uint64_t))};
    if (m.row_iters) {
        double t0 = bench_now_s();
        mandel_rows(&m, 0, m.p->side);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = mandel_finish(&m, &res);
    return res;
}

static int mandel_body(void *ctx, size_t b, size_t e)
{
    mandel_rows(ctx, b, e);
    return 0;
}

typedef struct mandel_job {
    mandel *m;
    int rc;
} mandel_job;

static void mandel_weft_root(void *arg)
{
    mandel_job *j = arg;
    j->rc = weft_par_for(0, j->m->p->side, 0, mandel_body, j->m);
}

static bench_result mandel_weft_run(const bench_args *a)
{
    bench_result res = {0};
    mandel m = {a->arg, calloc(((const mandel_param *)a->arg)->side, sizeof(uint64_t))};
    mandel_job j = {&m, -1};
    bool ok = m.row_iters && bench_weft_timed(a, mandel_weft_root, &j, &res.seconds);
    res.ok = mandel_finish(&m, &res) && ok && j.rc == 0;
    return res;
}

static bench_result mandel_omp_static_run(const bench_args *a)
{
    bench_result res = {0};
    mandel m = {a->arg, calloc(((const mandel_param *)a->arg)->side, sizeof(uint64_t))};
    if (m.row_iters) {
        bench_omp_warm(a->threads);
        long side = (long)m.p->side;
        double t0 = bench_now_s();
#pragma omp parallel for schedule(static)
        for (long r = 0; r < side; r++)
            mandel_rows(&m, (size_t)r, (size_t)r + 1);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = mandel_finish(&m, &res);
    return res;
}

static bench_result mandel_omp_dynamic_run(const bench_args *a)
{
    bench_result res = {0};
    mandel m = {a->arg, calloc(((const mandel_param *)a->arg)->side, sizeof(uint64_t))};
    if (m.row_iters) {
        bench_omp_warm(a->threads);
        long side = (long)m.p->side;
        double t0 = bench_now_s();
#pragma omp parallel for schedule(dynamic, 1)
        for (long r = 0; r < side; r++)
            mandel_rows(&m, (size_t)r, (size_t)r + 1);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = mandel_finish(&m, &res);
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
/* TBB over rows: static_partitioner in the "static" rows, auto_partitioner with grain 1
 * (TBB's own dynamic balancing) in the "dynamic,1" rows. */
static bench_result mandel_tbb_common(const bench_args *a, bench_tbb_partitioner part)
{
    bench_result res = {0};
    mandel m = {a->arg, calloc(((const mandel_param *)a->arg)->side, sizeof(uint64_t))};
    bool ok = m.row_iters &&
              bench_tbb_for(a->threads, m.p->side, 1, part, 1, mandel_body, &m, &res.seconds);
    res.ok = mandel_finish(&m, &res) && ok;
    return res;
}

static bench_result mandel_tbb_static_run(const bench_args *a)
{
    return mandel_tbb_common(a, BENCH_TBB_STATIC);
}

static bench_result mandel_tbb_auto_run(const bench_args *a)
{
    return mandel_tbb_common(a, BENCH_TBB_AUTO);
}
#endif

/* ------------------------------------------------------------------------------
 * small_loop: `size` calls of a loop over SMALL_N trivial elements (a[i] += i): what a
 * short loop costs when written with par_for (grain 0) instead of a plain for. */

#define SMALL_N 2000

/* This file is built with -falign-loops=64 (bench/CMakeLists.txt): each row's loop
 * (small_body for serial and weft, OpenMP's outlined copy) then sits in one 64-byte
 * block wherever the linker puts it. Without it, a loop straddling two blocks ran 2x
 * slower (1.39 -> 2.99 us per call, same instructions) after unrelated code moved it. */

typedef struct small {
    uint32_t a[SMALL_N];
    uint64_t calls;
    int rc;
} small;

__attribute__((noinline)) static int small_body(void *ctx, size_t b, size_t e)
{
    small *s = ctx;
    for (size_t i = b; i < e; i++)
        s->a[i] += (uint32_t)i;
    return 0;
}

static bool small_ok(const small *s)
{
    for (size_t i = 0; i < SMALL_N; i++)
        if (s->a[i] != (uint32_t)(i * s->calls))
            return false;
    return s->rc == 0;
}

static bench_result small_serial_run(const bench_args *a)
{
    bench_result res = {0};
    small *s = calloc(1, sizeof *s);
    if (!s)
        return res;
    s->calls = a->size;
    double t0 = bench_now_s();
    for (uint64_t k = 0; k < a->size; k++)
        small_body(s, 0, SMALL_N);
    res.seconds = bench_now_s() - t0;
    res.ok = small_ok(s);
    res.ops = a->size;
    free(s);
    return res;
}

static void small_weft_root(void *arg)
{
    small *s = arg;
    for (uint64_t k = 0; k < s->calls; k++) {
        int rc = weft_par_for(0, SMALL_N, 0, small_body, s);
        if (rc != 0)
            s->rc = rc;
    }
}

static bench_result small_weft_run(const bench_args *a)
{
    bench_result res = {0};
    small *s = calloc(1, sizeof *s);
    if (!s)
        return res;
    s->calls = a->size;
    bool ok = bench_weft_timed(a, small_weft_root, s, &res.seconds);
    res.ok = ok && small_ok(s);
    res.ops = a->size;
    free(s);
    return res;
}

static bench_result small_omp_run(const bench_args *a)
{
    bench_result res = {0};
    small *s = calloc(1, sizeof *s);
    if (!s)
        return res;
    s->calls = a->size;
    bench_omp_warm(a->threads);
    double t0 = bench_now_s();
    for (uint64_t k = 0; k < a->size; k++) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < SMALL_N; i++)
            s->a[i] += (uint32_t)i;
    }
    res.seconds = bench_now_s() - t0;
    res.ok = small_ok(s);
    res.ops = a->size;
    free(s);
    return res;
}

/* ------------------------------------------------------------------------------
 * loop_sweep, reduce_sweep: one parallel loop over n elements, called `size` times
 * back to back from the driver's (main) thread, at n = 2^10 .. 2^24 (us per call).
 * loop_sweep is triad (its kernel, setup and check, one pass per call); reduce_sweep
 * sums an array of n doubles.
 *
 * What differs from triad and reduce: there, weft's passes all run inside one
 * weft_pool_run, so the cost of entering the pool from outside is paid once per run.
 * Here every call enters on its own, as a user's weft_par_for called from main does:
 * weft through weft_pool_execute per call (bench_weft_calls: the calling thread works
 * in the pool for the call), OpenMP one parallel region per call, TBB one
 * task_arena::execute per call. At small n that per-call cost (entry, waking the other
 * threads, the final join) is most of the time; at large n the loop is.
 *
 * Fairness: the same kernel in every impl, on the same blocks as in triad and reduce
 * (OpenMP: omp_static_block, i.e. `parallel for schedule(static)` calling the shared
 * kernel; TBB: static_partitioner for loop_sweep, the default auto_partitioner for
 * reduce_sweep, as the triad and reduce rows). The pool, the team or the arena is made
 * and warmed before the clock; the calls alone are timed.
 *
 * Checks: loop_sweep, every weft call's return value and, after the last call, a
 * element by element (as triad checks its passes: every call writes every element with
 * the same values, so this is the last call's result); reduce_sweep, every call's sum
 * against the exact sum (the elements are small integers, so every partial sum is
 * exact in a double and any order of adding gives exactly the same result). */

/* reduce_sweep's data: x[i] = i % 1000. */
typedef struct sum_array {
    double *x;
    size_t n;
    double want;  /* the exact sum of x */
    uint64_t bad; /* calls whose sum was not `want` */
    int rc;       /* the last failing weft_par_reduce's return value, 0 if none */
} sum_array;

static bool sum_array_setup(sum_array *r, size_t n)
{
    *r = (sum_array){.n = n, .x = malloc(n * sizeof(double))};
    if (!r->x)
        return false;
    for (size_t i = 0; i < n; i++)
        r->x[i] = (double)(i % 1000);
    double whole = (double)(n / 1000), rest = (double)(n % 1000);
    r->want = whole * (999.0 * 1000.0 / 2) + rest * (rest - 1) / 2;
    return true;
}

static bool sum_array_check_free(sum_array *r)
{
    bool ok = r->x && r->bad == 0 && r->rc == 0;
    free(r->x);
    return ok;
}

/* The kernel every impl runs (one out-of-line copy, see omp_static_block). */
static __attribute__((noinline)) double array_sum(const double *x, size_t b, size_t e, double s)
{
    for (size_t i = b; i < e; i++)
        s += x[i];
    return s;
}

static int array_fold(void *ctx, size_t b, size_t e, void *acc)
{
    const sum_array *r = ctx;
    *(double *)acc = array_sum(r->x, b, e, *(double *)acc);
    return 0;
}

static bench_result loop_sweep_serial_run(const bench_args *a)
{
    triad_param p = {*(const size_t *)a->arg, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p);
    if (ok) {
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++)
            triad_kernel(&t, 0, t.n);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

static bench_result loop_sweep_weft_run(const bench_args *a)
{
    triad_param p = {*(const size_t *)a->arg, 1};
    bench_result res = {0};
    triad t;
    /* triad_weft_root with one pass: one weft_par_for per call. */
    bool ok = triad_setup(&t, &p) &&
              bench_weft_calls(a->threads, a->size, triad_weft_root, &t, &res.seconds);
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

/* In the child (bench_run_in_child): weft_par_for straight from main into the global
 * pool, as a user's program calls it; one untimed call first. */
static bench_result loop_sweep_main(const bench_args *a)
{
    triad_param p = {*(const size_t *)a->arg, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p);
    if (ok) {
        triad_weft_root(&t);
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++)
            triad_weft_root(&t);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

static bench_result loop_sweep_main_run(const bench_args *a) { return bench_run_in_child(loop_sweep_main, a); }

static bench_result loop_sweep_omp_run(const bench_args *a)
{
    triad_param p = {*(const size_t *)a->arg, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p);
    if (ok) {
        bench_omp_warm(a->threads);
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++) {
#pragma omp parallel
            {
                size_t b, e;
                omp_static_block(t.n, &b, &e);
                triad_kernel(&t, b, e);
            }
        }
        res.seconds = bench_now_s() - t0;
    }
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result loop_sweep_tbb_run(const bench_args *a)
{
    triad_param p = {*(const size_t *)a->arg, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p) && bench_tbb_for_calls(a->threads, t.n, BENCH_TBB_STATIC,
                                                         a->size, triad_body, &t, &res.seconds);
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * loop_pause: loop_sweep's triad with the calling thread asleep for a while before
 * each call (untimed), as a program's serial part between two loops: the calls alone
 * are timed (us per call). A pause longer than the pool's idle search (WEFT_WAIT_POLICY)
 * finds its workers asleep, so each call pays for waking them: this row measures how
 * much of that reaches the caller (its share starts at once; the others wake meanwhile,
 * on other CPUs than the caller's). OpenMP's threads spin for a while (GOMP_SPINCOUNT)
 * before they sleep, so after a short pause they are still awake. Fixed size: 32
 * calls per run. */
typedef struct pause_param {
    size_t n;
    uint64_t pause_ns;
} pause_param;

/* One row's run: `call` on the whole array after each pause, the calls alone timed. */
static bench_result loop_pause_calls(const bench_args *a, void (*call)(triad *t))
{
    const pause_param *pp = a->arg;
    triad_param p = {pp->n, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p);
    for (uint64_t k = 0; ok && k < a->size; k++) {
        weft_thread_sleep(pp->pause_ns);
        double t0 = bench_now_s();
        call(&t);
        res.seconds += bench_now_s() - t0;
    }
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

static void loop_pause_serial_call(triad *t) { triad_kernel(t, 0, t->n); }

static void loop_pause_omp_call(triad *t)
{
#pragma omp parallel
    {
        size_t b, e;
        omp_static_block(t->n, &b, &e);
        triad_kernel(t, b, e);
    }
}

static bench_result loop_pause_serial_run(const bench_args *a) { return loop_pause_calls(a, loop_pause_serial_call); }

static bench_result loop_pause_omp_run(const bench_args *a)
{
    bench_omp_warm(a->threads);
    return loop_pause_calls(a, loop_pause_omp_call);
}

static bench_result loop_pause_weft_run(const bench_args *a)
{
    const pause_param *pp = a->arg;
    triad_param p = {pp->n, 1};
    bench_result res = {0};
    triad t;
    bool ok = triad_setup(&t, &p) && bench_weft_calls_paused(a->threads, a->size, pp->pause_ns,
                                                            triad_weft_root, &t, &res.seconds);
    res.ok = triad_check_free(&t) && ok;
    res.ops = a->size;
    return res;
}

/* In the child: the triad from main into the global pool after each pause. */
static void loop_pause_main_call(triad *t) { triad_weft_root(t); }

static bench_result loop_pause_main(const bench_args *a) { return loop_pause_calls(a, loop_pause_main_call); }

static bench_result loop_pause_main_run(const bench_args *a) { return bench_run_in_child(loop_pause_main, a); }

static bench_result reduce_sweep_serial_run(const bench_args *a)
{
    bench_result res = {0};
    sum_array r;
    bool ok = sum_array_setup(&r, *(const size_t *)a->arg);
    if (ok) {
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++) {
            /* x may have changed, as far as the compiler knows: without this it may see
             * that array_sum only reads and make one call for all of them. */
            __asm__ volatile("" ::: "memory");
            r.bad += array_sum(r.x, 0, r.n, 0.0) != r.want;
        }
        res.seconds = bench_now_s() - t0;
    }
    res.ok = sum_array_check_free(&r) && ok;
    res.ops = a->size;
    return res;
}

/* One call: one weft_par_reduce, its sum checked. */
static void reduce_sweep_weft_call(void *arg)
{
    sum_array *r = arg;
    const double zero = 0.0;
    double sum = 0.0;
    int rc = weft_par_reduce(0, r->n, 0, &zero, array_fold, sum_combine, r, &sum, sizeof sum);
    if (rc != 0)
        r->rc = rc;
    r->bad += sum != r->want;
}

static bench_result reduce_sweep_weft_run(const bench_args *a)
{
    bench_result res = {0};
    sum_array r;
    bool ok = sum_array_setup(&r, *(const size_t *)a->arg) &&
              bench_weft_calls(a->threads, a->size, reduce_sweep_weft_call, &r, &res.seconds);
    res.ok = sum_array_check_free(&r) && ok;
    res.ops = a->size;
    return res;
}

/* In the child: weft_par_reduce straight from main into the global pool. */
static bench_result reduce_sweep_main(const bench_args *a)
{
    bench_result res = {0};
    sum_array r;
    bool ok = sum_array_setup(&r, *(const size_t *)a->arg);
    if (ok) {
        reduce_sweep_weft_call(&r);
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++)
            reduce_sweep_weft_call(&r);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = sum_array_check_free(&r) && ok;
    res.ops = a->size;
    return res;
}

static bench_result reduce_sweep_main_run(const bench_args *a) { return bench_run_in_child(reduce_sweep_main, a); }

static bench_result reduce_sweep_omp_run(const bench_args *a)
{
    bench_result res = {0};
    sum_array r;
    bool ok = sum_array_setup(&r, *(const size_t *)a->arg);
    if (ok) {
        bench_omp_warm(a->threads);
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < a->size; k++) {
            double s = 0.0;
#pragma omp parallel reduction(+ : s)
            {
                size_t b, e;
                omp_static_block(r.n, &b, &e);
                s += array_sum(r.x, b, e, 0.0);
            }
            r.bad += s != r.want;
        }
        res.seconds = bench_now_s() - t0;
    }
    res.ok = sum_array_check_free(&r) && ok;
    res.ops = a->size;
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result reduce_sweep_tbb_run(const bench_args *a)
{
    bench_result res = {0};
    sum_array r;
    bool ok = sum_array_setup(&r, *(const size_t *)a->arg) &&
              bench_tbb_reduce_sum_calls(a->threads, r.n, array_fold, &r, a->size, r.want,
                                         &r.bad, &res.seconds);
    res.ok = sum_array_check_free(&r) && ok;
    res.ops = a->size;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * Registration */

#define SCALING {.min = 1}
/* Serial rows run once, at 1 thread (the heavy ones: their time does not change). */
#define SERIAL {.min = 1, .max = 1, .defaults = {1}}
#define MANDEL_FULL_TOTAL 1038873211u
#define MANDEL_QUICK_TOTAL 3528784u

static const triad_param triad_full = {(size_t)1 << 24, 10}, triad_quick = {(size_t)1 << 16, 2};
static const sum_param sum_full = {100000000}, sum_quick = {1000000};
#define MANDEL_SEAHORSE_FULL_TOTAL 216828767u
#define MANDEL_SEAHORSE_QUICK_TOTAL 2830728u
#define MANDEL_WHOLE -2.0, -1.25, 2.5
#define MANDEL_SEAHORSE -0.85, 0.0, 0.2
static const mandel_param mandel_full = {2048, 1000, MANDEL_WHOLE, MANDEL_FULL_TOTAL},
                          mandel_quick = {256, 200, MANDEL_WHOLE, MANDEL_QUICK_TOTAL},
                          seahorse_full = {512, 1000, MANDEL_SEAHORSE, MANDEL_SEAHORSE_FULL_TOTAL},
                          seahorse_quick = {128, 200, MANDEL_SEAHORSE, MANDEL_SEAHORSE_QUICK_TOTAL};

#define MANDEL_ROWS(M, MN)                                                                  \
    {"mandel", MN " static", "serial", SERIAL, "px/s", mandel_serial_run, 1, 1, true,       \
     &M},                                                                                   \
    {"mandel", MN " static", "weft", SCALING, "px/s", mandel_weft_run, 1, 1, true, &M},     \
    {"mandel", MN " static", "openmp", SCALING, "px/s", mandel_omp_static_run, 1, 1, true,  \
     &M},                                                                                   \
    BENCH_TBB_ROW("mandel", MN " static", "tbb", SCALING, "px/s", mandel_tbb_static_run, 1, \
                  1, true, &M)                                                              \
    {"mandel", MN " dynamic,1", "weft", SCALING, "px/s", mandel_weft_run, 1, 1, true,       \
     &M},                                                                                   \
    {"mandel", MN " dynamic,1", "openmp", SCALING, "px/s", mandel_omp_dynamic_run, 1, 1,    \
     true, &M},                                                                             \
    BENCH_TBB_ROW("mandel", MN " dynamic,1", "tbb", SCALING, "px/s", mandel_tbb_auto_run, 1, \
                  1, true, &M)                                                              \

#define PAR_ROWS(TRIAD, TP, SUM, SP, MANDEL, MP, SEA, SEAP)                                 \
    {"triad", TP, "serial", SERIAL, "B/s", triad_serial_run, 1, 1, true, &TRIAD},           \
    {"triad", TP, "weft", SCALING, "B/s", triad_weft_run, 1, 1, true, &TRIAD},              \
    {"triad", TP, "openmp", SCALING, "B/s", triad_omp_run, 1, 1, true, &TRIAD},             \
    BENCH_TBB_ROW("triad", TP, "tbb", SCALING, "B/s", triad_tbb_run, 1, 1, true, &TRIAD)    \
    {"reduce", SP, "serial", SERIAL, "elem/s", reduce_serial_run, 1, 1, true, &SUM},        \
    {"reduce", SP, "weft", SCALING, "elem/s", reduce_weft_run, 1, 1, true, &SUM},           \
    {"reduce", SP, "openmp", SCALING, "elem/s", reduce_omp_run, 1, 1, true, &SUM},          \
    BENCH_TBB_ROW("reduce", SP, "tbb", SCALING, "elem/s", reduce_tbb_run, 1, 1, true, &SUM) \
    {"reduce_det", SP, "weft", SCALING, "elem/s", reduce_det_weft_run, 1, 1, true, &SUM},   \
    {"reduce_det", SP, "weft-plain", SCALING, "elem/s", reduce_weft_run, 1, 1, true, &SUM}, \
    {"reduce_det", SP, "serial", SERIAL, "elem/s", reduce_serial_run, 1, 1, true, &SUM},    \
    MANDEL_ROWS(MANDEL, MP) MANDEL_ROWS(SEA, SEAP)                                          \
    {"small_loop", "n=2000", "serial", SERIAL, "ns/call", small_serial_run, 100000, 10000,  \
     false, NULL},                                                                          \
    {"small_loop", "n=2000", "weft", SCALING, "ns/call", small_weft_run, 100000, 10000,     \
     false, NULL},                                                                          \
    {"small_loop", "n=2000", "openmp", SCALING, "ns/call", small_omp_run, 100000, 10000,    \
     false, NULL}

static const bench_def par_benches[] = {
    PAR_ROWS(triad_full, "n=2^24 x10", sum_full, "n=1e8", mandel_full, "2048^2 it=1000",
             seahorse_full, "seahorse 512^2 it=1000"),
};
static const bench_def par_benches_quick[] = {
    PAR_ROWS(triad_quick, "n=2^16 x2", sum_quick, "n=1e6", mandel_quick, "256^2 it=200",
             seahorse_quick, "seahorse 128^2 it=200"),
};

/* The sweeps: n = 2^K for the K listed; 1 and 2 threads (the counts their goals name,
 * bench/README.md) and all CPUs. A row's size is its calls per run, scaled by the
 * driver until a run takes the target time. The first warm-up makes 2^E elements'
 * worth of calls, E chosen so that at about a nanosecond per element it already takes
 * the target time: a rescaled warm-up at the large sizes costs another setup of the
 * arrays, which takes longer than the calls. */
static const size_t sweep_n[] = {
    [10] = (size_t)1 << 10, [12] = (size_t)1 << 12, [14] = (size_t)1 << 14,
    [16] = (size_t)1 << 16, [18] = (size_t)1 << 18, [20] = (size_t)1 << 20,
    [22] = (size_t)1 << 22, [24] = (size_t)1 << 24,
};
#define SWEEP_THREADS {.min = 1, .defaults = {1, 2, BENCH_NCPUS}}
#define SWEEP_ROW(NAME, K, E, IMPL, THREADS, RUN)                                          \
    NAME, "n=2^" #K, IMPL, THREADS, "us/call", RUN, 1u << ((E) - (K)), 1u << ((E) - (K)), \
        false, &sweep_n[K]
#define LOOP_SWEEP(K, E)                                                                   \
    {SWEEP_ROW("loop_sweep", K, E, "serial", SERIAL, loop_sweep_serial_run)},              \
    {SWEEP_ROW("loop_sweep", K, E, "weft", SWEEP_THREADS, loop_sweep_main_run)},           \
    {SWEEP_ROW("loop_sweep", K, E, "weft-execute", SWEEP_THREADS, loop_sweep_weft_run)},   \
    {SWEEP_ROW("loop_sweep", K, E, "openmp", SWEEP_THREADS, loop_sweep_omp_run)},          \
    BENCH_TBB_ROW(SWEEP_ROW("loop_sweep", K, E, "tbb", SWEEP_THREADS, loop_sweep_tbb_run))
#define REDUCE_SWEEP(K, E)                                                                 \
    {SWEEP_ROW("reduce_sweep", K, E, "serial", SERIAL, reduce_sweep_serial_run)},          \
    {SWEEP_ROW("reduce_sweep", K, E, "weft", SWEEP_THREADS, reduce_sweep_main_run)},       \
    {SWEEP_ROW("reduce_sweep", K, E, "weft-execute", SWEEP_THREADS, reduce_sweep_weft_run)}, \
    {SWEEP_ROW("reduce_sweep", K, E, "openmp", SWEEP_THREADS, reduce_sweep_omp_run)},      \
    BENCH_TBB_ROW(SWEEP_ROW("reduce_sweep", K, E, "tbb", SWEEP_THREADS, reduce_sweep_tbb_run))
#define SWEEPS(S, E) S(10, E) S(12, E) S(14, E) S(16, E) S(18, E) S(20, E) S(22, E) S(24, E)

static const pause_param pause_1ms = {(size_t)1 << 16, 1000000}, pause_10ms = {(size_t)1 << 16, 10000000};
#define LOOP_PAUSE(PARAM, ARG)                                                                      \
    {"loop_pause", PARAM, "serial", SERIAL, "us/call", loop_pause_serial_run, 32, 32, true, ARG},  \
    {"loop_pause", PARAM, "weft", SWEEP_THREADS, "us/call", loop_pause_main_run, 32, 32, true, ARG}, \
    {"loop_pause", PARAM, "weft-execute", SWEEP_THREADS, "us/call", loop_pause_weft_run, 32, 32, true, ARG}, \
    {"loop_pause", PARAM, "openmp", SWEEP_THREADS, "us/call", loop_pause_omp_run, 32, 32, true, ARG}

static const bench_def sweep_benches[] = {SWEEPS(LOOP_SWEEP, 26) SWEEPS(REDUCE_SWEEP, 26)
                                          LOOP_PAUSE("n=2^16 pause=1ms", &pause_1ms),
                                          LOOP_PAUSE("n=2^16 pause=10ms", &pause_10ms)};
/* --quick (a target a fifth as long): the smallest size, the one the 2-thread speedup
 * goal starts at, and one beyond the caches; the short pause. */
static const bench_def sweep_benches_quick[] = {
    LOOP_SWEEP(10, 24) LOOP_SWEEP(16, 24) LOOP_SWEEP(20, 24)
    REDUCE_SWEEP(10, 24) REDUCE_SWEEP(16, 24) REDUCE_SWEEP(20, 24)
    LOOP_PAUSE("n=2^16 pause=1ms", &pause_1ms)
};

void bench_register_par(bench_registry *r)
{
    if (bench_registry_quick(r)) {
        bench_registry_add(r, par_benches_quick, sizeof par_benches_quick / sizeof par_benches_quick[0]);
        bench_registry_add(r, sweep_benches_quick,
                           sizeof sweep_benches_quick / sizeof sweep_benches_quick[0]);
    } else {
        bench_registry_add(r, par_benches, sizeof par_benches / sizeof par_benches[0]);
        bench_registry_add(r, sweep_benches, sizeof sweep_benches / sizeof sweep_benches[0]);
    }
}
