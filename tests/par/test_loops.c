/* test_loops.c: Criterion suite for par/'s loops — weft_par_for, weft_par_for_2d,
 * weft_par_map, weft_par_reduce and weft_par_reduce_deterministic: coverage (every
 * index exactly once, on pools of 1, 2, 3, 8 threads and from the main thread),
 * argument errors, early exit, reduce results (integer exact, deterministic double
 * bit-identical across thread counts), nesting. No timing is asserted. */
#include "loops_testlib.h"
#include "splitter_internal.h" /* the splitter budget test */

#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------
 * 1-D coverage */

typedef struct cover {
    size_t lo, hi, grain;
    unsigned spin;
    _Atomic unsigned char *count; /* hi - lo entries */
    int rc;
} cover;

static int cover_body(void *ctx, size_t b, size_t e)
{
    cover *c = ctx;
    if (b >= e || b < c->lo || e > c->hi)
        abort();
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&c->count[i - c->lo], 1, memory_order_relaxed);
        loops_spin(c->spin);
    }
    return 0;
}

static void cover_call(void *arg)
{
    cover *c = arg;
    c->rc = weft_par_for(c->lo, c->hi, c->grain, cover_body, c);
}

Test(loops, for_coverage)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;
    enum { MAXN = 6000 };
    _Atomic unsigned char *count = calloc(MAXN, 1);
    cr_assert_not_null(count);
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (int k = 0; k < 24; k++) {
            size_t n;
            switch (k % 6) {
            case 0: n = 0; break;
            case 1: n = 1; break;
            default: n = (size_t)(test_next_rand(&seed) % MAXN); break;
            }
            size_t lo;
            switch (k % 3) {
            case 0: lo = 0; break;
            case 1: lo = (size_t)(test_next_rand(&seed) % 100000); break;
            default: lo = SIZE_MAX - n - (size_t)(test_next_rand(&seed) % 2); break;
            }
            if (k == 5) { /* the very top of size_t */
                lo = SIZE_MAX - 1000;
                n = 1000;
            }
            size_t grain;
            switch (test_next_rand(&seed) % 4) {
            case 0: grain = 0; break;
            case 1: grain = 1; break;
            case 2: grain = 1 + (size_t)(test_next_rand(&seed) % 300); break;
            default: grain = SIZE_MAX; break;
            }
            memset((void *)count, 0, MAXN);
            cover c = {lo, lo + n, grain, (k & 1) ? 200u : 0u, count, -1};
            loops_run_on(loop_thread_counts[t], cover_call, &c);
            cr_assert_eq(c.rc, 0);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(count[i], 1, "threads %d lo %zu n %zu grain %zu: index %zu ran %u times",
                             loop_thread_counts[t], lo, n, grain, i, (unsigned)count[i]);
        }
    }
    free((void *)count);
}

static int loops_nop_body(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    (void)b;
    (void)e;
    return 0;
}

/* Parallel slack: an adaptive loop whose indices are expensive reaches its body in
 * small blocks (half the probe's ~1 µs piece: single indices here), so a worker that
 * runs out can always take half of what another has not started when the cost is
 * uneven — at least 8 x P body calls on P workers. (With rayon's P-based budget, 4
 * leaves on 2 workers, a Mandelbrot zoom balanced no better than OpenMP's
 * schedule(static).) */
typedef struct slack {
    _Atomic unsigned calls;
    int rc;
} slack;

static int slack_body(void *ctx, size_t b, size_t e)
{
    slack *s = ctx;
    atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
    for (size_t i = b; i < e; i++)
        loops_spin(2000);
    return 0;
}

static void slack_call(void *arg)
{
    slack *s = arg;
    s->rc = weft_par_for(0, 4096, 0, slack_body, s);
}

Test(loops, adaptive_for_leaves_feed_thieves)
{
    for (int threads = 2; threads <= 3; threads++) {
        slack s = {0, -1};
        loops_run_on(threads, slack_call, &s);
        cr_assert_eq(s.rc, 0);
        unsigned calls = atomic_load_explicit(&s.calls, memory_order_relaxed);
        cr_assert_geq(calls, 8u * (unsigned)threads, "%u workers: %u leaves", threads, calls);
    }
}

/* The splitter alone (adaptive 2-D loops), with no steals (the schedule of a loaded
 * machine): the leaves an adaptive range of n makes on P threads. At least 8 x P for every P: the bound above
 * without help from thieves (12 splits on 3 threads used to give 16 leaves). */
static size_t leaves_without_steals(weft_splitter sp, size_t len)
{
    if (!weft__splitter_try(&sp, len, false))
        return 1;
    return leaves_without_steals(sp, len / 2) + leaves_without_steals(sp, len - len / 2);
}

Test(loops, splitter_budget_gives_8_leaves_per_thread)
{
    for (size_t p = 1; p <= 64; p++) {
        weft_splitter sp;
        weft__splitter_init(&sp, 0, p);
        size_t leaves = leaves_without_steals(sp, (size_t)1 << 20);
        cr_assert_geq(leaves, 8 * p, "%zu threads: %zu leaves", p, leaves);
        cr_assert_leq(leaves, 16 * p, "%zu threads: %zu leaves (too many joins)", p, leaves);
    }
}

Test(loops, for_errors)
{
    cr_assert_eq(weft_par_for(5, 4, 0, loops_nop_body, NULL), -EINVAL);
    cr_assert_eq(weft_par_for(0, 10, 0, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_par_for(0, 0, 0, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_par_for(7, 7, 0, loops_nop_body, NULL), 0);
    cr_assert_eq(weft_par_for(SIZE_MAX, SIZE_MAX, 3, loops_nop_body, NULL), 0);
    cr_assert_eq(weft_par_for_2d(3, 3, 0, 0, NULL, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------------
 * Early exit */

typedef struct stopper {
    size_t stop_at;
    _Atomic uint64_t ran;
    size_t grain;
    int rc;
} stopper;

static int stopper_body(void *ctx, size_t b, size_t e)
{
    stopper *s = ctx;
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&s->ran, 1, memory_order_relaxed);
        loops_spin(100);
        if (i == s->stop_at)
            return 7;
    }
    return 0;
}

static void stopper_call(void *arg)
{
    stopper *s = arg;
    s->rc = weft_par_for(0, 200000, s->grain, stopper_body, s);
}

Test(loops, for_early_exit)
{
    const size_t grains[] = {0, 1, 64, 5000};
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (size_t g = 0; g < 4; g++) {
            stopper s = {150000 - 977 * g, 0, grains[g], -1};
            loops_run_on(loop_thread_counts[t], stopper_call, &s);
            cr_assert_eq(s.rc, 7);
            uint64_t snap = atomic_load_explicit(&s.ran, memory_order_relaxed);
            weft_thread_sleep(3000000);
            cr_assert_eq(atomic_load_explicit(&s.ran, memory_order_relaxed), snap,
                         "a body ran after the call returned");
        }
    }
}

/* ------------------------------------------------------------------------------
 * Nesting */

typedef struct nest {
    _Atomic unsigned char *count; /* outer * inner */
    size_t inner;
    int rc;
} nest;

typedef struct nest_row {
    nest *n;
    size_t row;
} nest_row;

static int nest_inner(void *ctx, size_t b, size_t e)
{
    nest_row *r = ctx;
    for (size_t j = b; j < e; j++) {
        atomic_fetch_add_explicit(&r->n->count[r->row * r->n->inner + j], 1, memory_order_relaxed);
        loops_spin(50);
    }
    return 0;
}

static int nest_outer(void *ctx, size_t b, size_t e)
{
    nest *n = ctx;
    for (size_t i = b; i < e; i++) {
        nest_row r = {n, i};
        int rc = weft_par_for(0, n->inner, (i % 2) ? 0 : 7, nest_inner, &r);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void nest_call(void *arg)
{
    nest *n = arg;
    n->rc = weft_par_for(0, 64, 0, nest_outer, n);
}

Test(loops, nested_for)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        nest n = {calloc(64 * 300, 1), 300, -1};
        cr_assert_not_null(n.count);
        loops_run_on(loop_thread_counts[t], nest_call, &n);
        cr_assert_eq(n.rc, 0);
        for (size_t i = 0; i < 64 * 300; i++)
            cr_assert_eq(n.count[i], 1);
        free((void *)n.count);
    }
}

/* ------------------------------------------------------------------------------
 * 2-D */

typedef struct cover2d {
    size_t rows, cols, rg, cg;
    _Atomic unsigned char *count;
    int rc;
} cover2d;

static int cover2d_body(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    cover2d *c = ctx;
    if (r0 >= r1 || c0 >= c1 || r1 > c->rows || c1 > c->cols)
        abort();
    for (size_t r = r0; r < r1; r++)
        for (size_t k = c0; k < c1; k++) {
            atomic_fetch_add_explicit(&c->count[r * c->cols + k], 1, memory_order_relaxed);
            loops_spin(20);
        }
    return 0;
}

static void cover2d_call(void *arg)
{
    cover2d *c = arg;
    c->rc = weft_par_for_2d(c->rows, c->cols, c->rg, c->cg, cover2d_body, c);
}

Test(loops, for2d_coverage)
{
    uint64_t seed = 12345;
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (int k = 0; k < 12; k++) {
            size_t rows = (size_t)(test_next_rand(&seed) % 200), cols = (size_t)(test_next_rand(&seed) % 400);
            if (k == 0)
                rows = 0;
            if (k == 1)
                rows = 1, cols = 5000;
            if (k == 2)
                rows = 3000, cols = 1;
            size_t rg = (k % 3 == 0) ? 0 : 1 + (size_t)(test_next_rand(&seed) % 20);
            size_t cg = (k % 4 == 0) ? 0 : 1 + (size_t)(test_next_rand(&seed) % 50);
            cover2d c = {rows, cols, rg, cg, calloc(rows * cols + 1, 1), -1};
            cr_assert_not_null(c.count);
            loops_run_on(loop_thread_counts[t], cover2d_call, &c);
            cr_assert_eq(c.rc, 0);
            for (size_t i = 0; i < rows * cols; i++)
                cr_assert_eq(c.count[i], 1, "%zux%zu grains %zu,%zu: cell %zu", rows, cols, rg, cg, i);
            free((void *)c.count);
        }
    }
}

/* ------------------------------------------------------------------------------
 * map */

static void map_i32_to_f64(void *ctx, const void *in, void *out)
{
    double scale = *(const double *)ctx;
    int32_t v;
    memcpy(&v, in, sizeof v);
    double d = v * scale;
    memcpy(out, &d, sizeof d);
}

static void map_square_u64(void *ctx, const void *in, void *out)
{
    (void)ctx;
    uint64_t v = *(const uint64_t *)in;
    *(uint64_t *)out = v * v;
}

typedef struct map_case {
    size_t n;
    int32_t *in;
    double *out;
    uint64_t *inplace;
    int rc1, rc2;
} map_case;

static void map_call(void *arg)
{
    map_case *m = arg;
    double scale = 0.5;
    m->rc1 = weft_par_map(m->in, m->out, m->n, sizeof *m->in, sizeof *m->out, map_i32_to_f64, &scale);
    m->rc2 = weft_par_map(m->inplace, m->inplace, m->n, 8, 8, map_square_u64, NULL);
}

Test(loops, map)
{
    const size_t sizes[] = {0, 1, 1000, 300000};
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (size_t s = 0; s < 4; s++) {
            size_t n = sizes[s];
            map_case m = {n, malloc(n * 4 + 4), malloc(n * 8 + 8), malloc(n * 8 + 8), -1, -1};
            for (size_t i = 0; i < n; i++) {
                m.in[i] = (int32_t)i - 500;
                m.out[i] = -1.0;
                m.inplace[i] = i;
            }
            loops_run_on(loop_thread_counts[t], map_call, &m);
            cr_assert_eq(m.rc1, 0);
            cr_assert_eq(m.rc2, 0);
            for (size_t i = 0; i < n; i++) {
                cr_assert_eq(m.out[i], ((int32_t)i - 500) * 0.5);
                cr_assert_eq(m.inplace[i], (uint64_t)i * i);
            }
            free(m.in);
            free(m.out);
            free(m.inplace);
        }
    }
}

Test(loops, map_errors)
{
    int x = 0;
    cr_assert_eq(weft_par_map(NULL, &x, 1, 4, 4, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, NULL, 1, 4, 4, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, &x, 1, 4, 4, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, &x, 1, 0, 4, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, &x, 1, 4, 0, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, &x, SIZE_MAX / 2, 4, 4, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(&x, &x, SIZE_MAX / 8 + 1, 1, 8, map_square_u64, NULL), -EINVAL);
    cr_assert_eq(weft_par_map(NULL, NULL, 0, 4, 4, NULL, NULL), 0);
}

/* ------------------------------------------------------------------------------
 * reduce */

static int fold_sum_u64(void *ctx, size_t b, size_t e, void *acc)
{
    unsigned spin = ctx ? *(const unsigned *)ctx : 0;
    uint64_t s = *(uint64_t *)acc;
    for (size_t i = b; i < e; i++) {
        s += (uint64_t)i * 3 + 1;
        loops_spin(spin);
    }
    *(uint64_t *)acc = s;
    return 0;
}

static void combine_sum_u64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static int fold_harmonic(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    double s = *(double *)acc;
    for (size_t i = b; i < e; i++)
        s += 1.0 / (double)(i + 1);
    *(double *)acc = s;
    return 0;
}

static void combine_sum_f64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

typedef struct red_case {
    size_t lo, hi, grain;
    unsigned spin;
    bool det;
    uint64_t result;
    int rc;
} red_case;

static void red_call(void *arg)
{
    red_case *r = arg;
    const uint64_t zero = 0;
    r->rc = (r->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        r->lo, r->hi, r->grain, &zero, fold_sum_u64, combine_sum_u64, &r->spin, &r->result,
        sizeof r->result);
}

Test(loops, reduce_int_sum)
{
    uint64_t seed = 777;
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (int k = 0; k < 16; k++) {
            size_t n = (k < 2) ? (size_t)k : (size_t)(test_next_rand(&seed) % 200000);
            size_t lo = (k % 4 == 3) ? SIZE_MAX - n : (size_t)(test_next_rand(&seed) % 1000);
            size_t grain = (k % 3 == 0) ? 0 : 1 + (size_t)(test_next_rand(&seed) % 5000);
            red_case r = {lo, lo + n, grain, (k % 5 == 0) ? 100u : 0u, k & 1, 12345, -1};
            loops_run_on(loop_thread_counts[t], red_call, &r);
            uint64_t want = 0;
            fold_sum_u64(NULL, lo, lo + n, &want);
            cr_assert_eq(r.rc, 0);
            cr_assert_eq(r.result, want, "threads %d n %zu grain %zu det %d", loop_thread_counts[t], n,
                         grain, (int)r.det);
        }
    }
}

typedef struct harmonic {
    size_t n, grain;
    bool det;
    double result;
    int rc;
} harmonic;

static void harmonic_call(void *arg)
{
    harmonic *h = arg;
    const double zero = 0.0;
    h->rc = (h->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, h->n, h->grain, &zero, fold_harmonic, combine_sum_f64, NULL, &h->result, sizeof h->result);
}

Test(loops, reduce_deterministic_bit_identical)
{
    const size_t grains[] = {0, 1000, 77777};
    for (size_t g = 0; g < 3; g++) {
        double first = 0.0;
        bool have = false;
        for (int rep = 0; rep < 2; rep++) {
            for (size_t t = 0; t < N_COUNTS; t++) {
                harmonic h = {1000000, grains[g], true, -1.0, -1};
                loops_run_on(loop_thread_counts[t], harmonic_call, &h);
                cr_assert_eq(h.rc, 0);
                if (!have) {
                    first = h.result;
                    have = true;
                }
                cr_assert(memcmp(&first, &h.result, sizeof first) == 0,
                          "grain %zu threads %d: %.17g != %.17g", grains[g], loop_thread_counts[t],
                          h.result, first);
            }
        }
        double serial = 0.0;
        fold_harmonic(NULL, 0, 1000000, &serial);
        cr_assert(fabs(first - serial) <= 1e-9 * serial);
    }
}

Test(loops, reduce_double_close_to_serial)
{
    double serial = 0.0;
    fold_harmonic(NULL, 0, 1000000, &serial);
    for (size_t t = 0; t < N_COUNTS; t++) {
        harmonic h = {1000000, 0, false, -1.0, -1};
        loops_run_on(loop_thread_counts[t], harmonic_call, &h);
        cr_assert_eq(h.rc, 0);
        cr_assert(fabs(h.result - serial) <= 1e-9 * serial, "%.17g vs %.17g", h.result, serial);
    }
}

/* A 512-byte accumulator (heap path): a histogram of i % 64. */
typedef struct histo {
    uint64_t bin[64];
} histo;

static int fold_histo(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    histo *h = acc;
    for (size_t i = b; i < e; i++) {
        h->bin[i % 64]++;
        loops_spin(30);
    }
    return 0;
}

static void combine_histo(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    histo *a = acc;
    const histo *o = other;
    for (int i = 0; i < 64; i++)
        a->bin[i] += o->bin[i];
}

typedef struct histo_case {
    size_t n;
    histo result;
    int rc;
} histo_case;

static void histo_call(void *arg)
{
    histo_case *c = arg;
    static const histo zero;
    c->rc = weft_par_reduce(0, c->n, 0, &zero, fold_histo, combine_histo, NULL, &c->result,
                            sizeof c->result);
}

Test(loops, reduce_large_accumulator)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        histo_case c = {100003, {{0}}, -1};
        loops_run_on(loop_thread_counts[t], histo_call, &c);
        cr_assert_eq(c.rc, 0);
        for (size_t i = 0; i < 64; i++)
            cr_assert_eq(c.result.bin[i], 100003 / 64 + (i < 100003 % 64));
    }
}

static int fold_stop(void *ctx, size_t b, size_t e, void *acc)
{
    _Atomic uint64_t *ran = ctx;
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(ran, 1, memory_order_relaxed);
        loops_spin(100);
        if (i == 31337)
            return 9;
        *(uint64_t *)acc += i;
    }
    return 0;
}

typedef struct stop_red {
    bool det;
    size_t grain;
    _Atomic uint64_t ran;
    int rc;
} stop_red;

static void stop_red_call(void *arg)
{
    stop_red *s = arg;
    const uint64_t zero = 0;
    uint64_t out;
    s->rc = (s->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, 100000, s->grain, &zero, fold_stop, combine_sum_u64, &s->ran, &out, sizeof out);
}

Test(loops, reduce_early_exit)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (int k = 0; k < 4; k++) {
            stop_red s = {k & 1, (k & 2) ? 100 : 0, 0, -1};
            loops_run_on(loop_thread_counts[t], stop_red_call, &s);
            cr_assert_eq(s.rc, 9);
            uint64_t snap = atomic_load_explicit(&s.ran, memory_order_relaxed);
            weft_thread_sleep(3000000);
            cr_assert_eq(atomic_load_explicit(&s.ran, memory_order_relaxed), snap);
        }
    }
}

Test(loops, reduce_errors)
{
    const uint64_t zero = 0;
    uint64_t out = 5;
    cr_assert_eq(weft_par_reduce(2, 1, 0, &zero, fold_sum_u64, combine_sum_u64, NULL, &out, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce(0, 9, 0, NULL, fold_sum_u64, combine_sum_u64, NULL, &out, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce(0, 9, 0, &zero, NULL, combine_sum_u64, NULL, &out, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce(0, 9, 0, &zero, fold_sum_u64, NULL, NULL, &out, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce(0, 9, 0, &zero, fold_sum_u64, combine_sum_u64, NULL, NULL, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce(0, 9, 0, &zero, fold_sum_u64, combine_sum_u64, NULL, &out, 0), -EINVAL);
    cr_assert_eq(weft_par_reduce_deterministic(2, 1, 0, &zero, fold_sum_u64, combine_sum_u64, NULL,
                                               &out, 8), -EINVAL);
    cr_assert_eq(weft_par_reduce_deterministic(0, 9, 0, &zero, fold_sum_u64, NULL, NULL, &out, 8),
                 -EINVAL);
    out = 5;
    cr_assert_eq(weft_par_reduce(4, 4, 0, &zero, fold_sum_u64, combine_sum_u64, NULL, &out, 8), 0);
    cr_assert_eq(out, 0, "an empty range gives the identity");
    out = 5;
    cr_assert_eq(weft_par_reduce_deterministic(4, 4, 0, &zero, fold_sum_u64, combine_sum_u64, NULL,
                                               &out, 8), 0);
    cr_assert_eq(out, 0);
}

/* The deterministic reduce evaluates a short tree on the caller and a long one on the
 * pool: the same tree, so the same bits. A spin (which does not change the sum) makes
 * the same range long. */
static int fold_harmonic_spin(void *ctx, size_t b, size_t e, void *acc)
{
    unsigned spin = *(const unsigned *)ctx;
    double s = *(double *)acc;
    for (size_t i = b; i < e; i++) {
        s += 1.0 / (double)(i + 1);
        loops_spin(spin);
    }
    *(double *)acc = s;
    return 0;
}

typedef struct det_path {
    unsigned spin;
    size_t n, grain;
    double result;
    int rc;
} det_path;

static void det_path_call(void *arg)
{
    det_path *d = arg;
    const double zero = 0.0;
    d->rc = weft_par_reduce_deterministic(0, d->n, d->grain, &zero, fold_harmonic_spin,
                                          combine_sum_f64, &d->spin, &d->result, sizeof d->result);
}

Test(loops, reduce_deterministic_inline_equals_parallel)
{
    const size_t ns[] = {2, 3, 1000, 4097};
    const size_t grains[] = {0, 1, 10};
    for (size_t k = 0; k < 4; k++) {
        for (size_t g = 0; g < 3; g++) {
            det_path quick = {0, ns[k], grains[g], -1.0, -1};
            det_path_call(&quick); /* main thread, short: inline */
            cr_assert_eq(quick.rc, 0);
            for (size_t t = 0; t < N_COUNTS; t++) {
                det_path slow = {2000, ns[k], grains[g], -2.0, -1};
                loops_run_on(loop_thread_counts[t], det_path_call, &slow);
                cr_assert_eq(slow.rc, 0);
                cr_assert(memcmp(&quick.result, &slow.result, sizeof quick.result) == 0,
                          "n %zu grain %zu threads %d: %.17g != %.17g", ns[k], grains[g],
                          loop_thread_counts[t], slow.result, quick.result);
            }
        }
    }
}
