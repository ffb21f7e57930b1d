/* test_scan.c: Criterion suite for weft_par_scan: inclusive and exclusive prefix sums
 * equal a serial loop's, in place and out of place, on pools of 1, 2, 3, 8 threads and
 * from the main thread, for lengths around the leaf boundaries and with grains; the
 * total; a floating-point scan bit-identical on every thread count and run to run;
 * a non-commutative combine (leaf order kept); a scan long enough for many tiles;
 * large accumulators; early exit and argument errors. No timing is asserted. */
#include "loops_testlib.h"

#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <weft/sync.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct u64_scan {
    const uint64_t *in;
    uint64_t *out;
    bool inclusive;
    unsigned spin;
} u64_scan;

static int scan_u64(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    const u64_scan *s = ctx;
    uint64_t a = *(uint64_t *)acc;
    for (size_t i = b; i < e; i++) {
        uint64_t x = s->in[i]; /* before out[i] is written: they may be one array */
        if (final && !s->inclusive)
            s->out[i] = a;
        a += x;
        if (final && s->inclusive)
            s->out[i] = a;
        loops_spin(s->spin);
    }
    *(uint64_t *)acc = a;
    return 0;
}

static void add_u64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

typedef struct scan_call {
    u64_scan s;
    size_t n, grain;
    uint64_t total;
    int rc;
} scan_call;

static void call_scan(void *arg)
{
    scan_call *c = arg;
    const uint64_t zero = 0;
    c->rc = weft_par_scan(0, c->n, c->grain, &zero, scan_u64, add_u64, &c->s, &c->total, sizeof c->total);
}

Test(scan, inclusive_and_exclusive_match_serial)
{
    enum { MAXN = 70000 };
    uint64_t *in = malloc(MAXN * sizeof *in), *out = malloc(MAXN * sizeof *out),
             *copy = malloc(MAXN * sizeof *copy);
    cr_assert(in && out && copy);
    uint64_t seed = 0x5ca9u;
    for (size_t i = 0; i < MAXN; i++)
        in[i] = test_next_rand(&seed) % 1000;
    const size_t lengths[] = {1, 2, 4095, 4096, 4097, 8192, 12289, 65537, MAXN};
    const size_t grains[] = {0, 1, 100, 4096};
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                size_t n = lengths[l];
                if (grains[g] == 1 && n > 5000)
                    continue; /* a leaf per index: slow, and tested on the short ones */
                for (int incl = 0; incl < 2; incl++) {
                    for (int in_place = 0; in_place < 2; in_place++) {
                        uint64_t *dst = out;
                        if (in_place) {
                            memcpy(copy, in, n * sizeof *in);
                            dst = copy;
                        }
                        scan_call c = {{in_place ? copy : in, dst, incl, (unsigned)(l % 3) * 20}, n, grains[g],
                                       12345, -1};
                        loops_run_on(loop_thread_counts[t], call_scan, &c);
                        cr_assert_eq(c.rc, 0);
                        uint64_t a = 0;
                        for (size_t i = 0; i < n; i++) {
                            uint64_t want = incl ? a + in[i] : a;
                            a += in[i];
                            cr_assert_eq(dst[i], want, "threads %d n %zu grain %zu %s%s: out[%zu] %llu, serial %llu",
                                         loop_thread_counts[t], n, grains[g], incl ? "inclusive" : "exclusive",
                                         in_place ? " in place" : "", i, (unsigned long long)dst[i],
                                         (unsigned long long)want);
                        }
                        cr_assert_eq(c.total, a);
                    }
                }
            }
        }
    }
    free(in);
    free(out);
    free(copy);
}

/* ---- a scan long enough for several tiles: the leaves go in tiles, each folded,
 * then final-scanned; the next tile's folds come after the last one's final scans ---- */

typedef struct tiled_scan {
    u64_scan s;
    atomic_bool final_seen, fold_after_final;
} tiled_scan;

static int scan_tiled(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    tiled_scan *t = ctx;
    if (final && b > 0) /* leaf 0 is final-scanned first, before any tile */
        atomic_store(&t->final_seen, true);
    else if (atomic_load(&t->final_seen))
        atomic_store(&t->fold_after_final, true);
    for (size_t i = b; i < e; i++) {
        /* A clock-timed index: the scan's own estimate of its length cannot come out
         * shorter than this, so the call is sure to span many tiles. */
        uint64_t until = weft_time_now_ns() + 200;
        while (weft_time_now_ns() < until)
            ;
        int rc = scan_u64(&t->s, i, i + 1, acc, final);
        if (rc != 0)
            return rc;
    }
    return 0;
}

typedef struct tiled_call {
    tiled_scan t;
    size_t n, grain;
    uint64_t total;
    int rc;
} tiled_call;

static void call_tiled(void *arg)
{
    tiled_call *c = arg;
    const uint64_t zero = 0;
    c->rc = weft_par_scan(0, c->n, c->grain, &zero, scan_tiled, add_u64, &c->t, &c->total, sizeof c->total);
}

Test(scan, many_tiles_match_serial)
{
    /* 40,000 indices of >= 200 ns, leaves of 100: the leaves run in tens of tiles */
    enum { N = 40000 };
    uint64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    cr_assert(in && out);
    uint64_t seed = 0x711e5u;
    for (size_t i = 0; i < N; i++)
        in[i] = test_next_rand(&seed) % 1000;
    const int threads[] = {2, 3};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        for (int in_place = 0; in_place < 2; in_place++) {
            if (in_place)
                memcpy(out, in, N * sizeof *in);
            tiled_call c = {.t = {.s = {in_place ? out : in, out, true, 0}}, .n = N, .grain = 100, .rc = -1};
            uint64_t *src = in_place ? malloc(N * sizeof *src) : in;
            cr_assert(src);
            if (in_place)
                memcpy(src, in, N * sizeof *in);
            loops_run_on(threads[t], call_tiled, &c);
            cr_assert_eq(c.rc, 0);
            cr_assert(atomic_load(&c.t.fold_after_final), "threads %d: one tile only", threads[t]);
            uint64_t a = 0;
            for (size_t i = 0; i < N; i++) {
                a += src[i];
                cr_assert_eq(out[i], a, "threads %d%s: out[%zu] %llu, serial %llu", threads[t],
                             in_place ? " in place" : "", i, (unsigned long long)out[i], (unsigned long long)a);
            }
            cr_assert_eq(c.total, a);
            if (in_place)
                free(src);
        }
    }
    free(in);
    free(out);
}

/* ---- floating point: the same bits on every thread count ---- */

typedef struct f64_scan {
    const double *in;
    double *out;
} f64_scan;

static int scan_f64(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    const f64_scan *s = ctx;
    double a = *(double *)acc;
    for (size_t i = b; i < e; i++) {
        a += s->in[i];
        if (final)
            s->out[i] = a;
    }
    *(double *)acc = a;
    loops_spin((unsigned)(e - b) * 3);
    return 0;
}

static void add_f64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

typedef struct f64_call {
    f64_scan s;
    size_t n, grain;
    double total;
    int rc;
} f64_call;

static void call_f64(void *arg)
{
    f64_call *c = arg;
    const double zero = 0;
    c->rc = weft_par_scan(0, c->n, c->grain, &zero, scan_f64, add_f64, &c->s, &c->total, sizeof c->total);
}

Test(scan, floating_point_bit_identical_on_any_thread_count)
{
    enum { N = 300000 };
    double *in = malloc(N * sizeof *in), *first = malloc(N * sizeof *first), *out = malloc(N * sizeof *out);
    cr_assert(in && first && out);
    for (size_t i = 0; i < N; i++)
        in[i] = 1.0 / (double)(i + 1) * (i % 2 ? -1.0 : 1.0) + 1e-3 * (double)(i % 7);
    const size_t grains[] = {0, 777};
    for (size_t g = 0; g < 2; g++) {
        double first_total = 0;
        for (size_t t = 0; t < N_COUNTS; t++) {
            for (int rep = 0; rep < 2; rep++) {
                f64_call c = {{in, t == 0 && rep == 0 ? first : out}, N, grains[g], -1, -1};
                loops_run_on(loop_thread_counts[t], call_f64, &c);
                cr_assert_eq(c.rc, 0);
                if (t == 0 && rep == 0) {
                    first_total = c.total;
                    continue;
                }
                cr_assert(memcmp(first, out, N * sizeof *out) == 0, "threads %d grain %zu: outputs differ",
                          loop_thread_counts[t], grains[g]);
                cr_assert(memcmp(&first_total, &c.total, sizeof c.total) == 0, "threads %d: total %.17g != %.17g",
                          loop_thread_counts[t], c.total, first_total);
            }
        }
    }
    free(in);
    free(first);
    free(out);
}

/* ---- a non-commutative combine: 2x2 integer matrix products, order kept ---- */

typedef struct mat {
    uint64_t a, b, c, d;
} mat;

static void mat_mul(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    mat *x = acc;
    const mat *y = other;
    mat r = {x->a * y->a + x->b * y->c, x->a * y->b + x->b * y->d, x->c * y->a + x->d * y->c,
             x->c * y->b + x->d * y->d};
    *x = r;
}

static mat mat_of(size_t i)
{
    mat m = {1 + i % 3, i % 5, i % 2, 1 + i % 4};
    return m;
}

static int scan_mat(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    mat *out = ctx;
    for (size_t i = b; i < e; i++) {
        mat m = mat_of(i);
        mat_mul(NULL, acc, &m);
        if (final)
            out[i] = *(mat *)acc;
    }
    return 0;
}

typedef struct mat_call {
    mat *out;
    size_t n;
    mat total;
    int rc;
} mat_call;

static void call_mat(void *arg)
{
    mat_call *c = arg;
    const mat one = {1, 0, 0, 1};
    c->rc = weft_par_scan(0, c->n, 50, &one, scan_mat, mat_mul, c->out, &c->total, sizeof c->total);
}

Test(scan, non_commutative_combine_keeps_order)
{
    enum { N = 20000 };
    mat *out = malloc(N * sizeof *out);
    cr_assert_not_null(out);
    for (size_t t = 0; t < N_COUNTS; t++) {
        mat_call c = {out, N, {0, 0, 0, 0}, -1};
        loops_run_on(loop_thread_counts[t], call_mat, &c);
        cr_assert_eq(c.rc, 0);
        mat a = {1, 0, 0, 1};
        for (size_t i = 0; i < N; i++) {
            mat m = mat_of(i);
            mat_mul(NULL, &a, &m);
            cr_assert(memcmp(&a, &out[i], sizeof a) == 0, "threads %d: prefix %zu differs", loop_thread_counts[t], i);
        }
        cr_assert(memcmp(&a, &c.total, sizeof a) == 0);
    }
    free(out);
}

/* ---- accumulators larger than the inline buffers ---- */

typedef struct big {
    uint64_t v[48]; /* 384 bytes */
} big;

static int scan_big(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    big *out = ctx, *a = acc;
    for (size_t i = b; i < e; i++) {
        a->v[i % 48] += i;
        if (final)
            out[i % 64] = *a; /* overwritten often: only the total is checked */
    }
    return 0;
}

static void add_big(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    big *a = acc;
    const big *o = other;
    for (int k = 0; k < 48; k++)
        a->v[k] += o->v[k];
}

Test(scan, large_accumulators_and_total_aliasing_identity)
{
    static big out[64];
    big acc;
    memset(&acc, 0, sizeof acc);
    /* identity and total one object */
    cr_assert_eq(weft_par_scan(0, 100000, 0, &acc, scan_big, add_big, out, &acc, sizeof acc), 0);
    for (int k = 0; k < 48; k++) {
        uint64_t want = 0;
        for (size_t i = (size_t)k; i < 100000; i += 48)
            want += i;
        cr_assert_eq(acc.v[k], want, "slot %d", k);
    }
}

static int stop_scan(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    (void)ctx;
    (void)acc;
    (void)final;
    return b <= 50000 && 50000 < e ? 9 : 0;
}

Test(scan, early_exit_and_errors)
{
    uint64_t zero = 0, total = 5;
    cr_assert_eq(weft_par_scan(0, 100000, 0, &zero, stop_scan, add_u64, NULL, &total, sizeof total), 9);
    cr_assert_eq(weft_par_scan(0, 100000, 10, &zero, stop_scan, add_u64, NULL, NULL, sizeof total), 9);
    cr_assert_eq(weft_par_scan(5, 4, 0, &zero, scan_u64, add_u64, NULL, &total, sizeof total), -EINVAL);
    cr_assert_eq(weft_par_scan(0, 4, 0, NULL, scan_u64, add_u64, NULL, &total, sizeof total), -EINVAL);
    cr_assert_eq(weft_par_scan(0, 4, 0, &zero, NULL, add_u64, NULL, &total, sizeof total), -EINVAL);
    cr_assert_eq(weft_par_scan(0, 4, 0, &zero, scan_u64, NULL, NULL, &total, sizeof total), -EINVAL);
    cr_assert_eq(weft_par_scan(0, 4, 0, &zero, scan_u64, add_u64, NULL, &total, 0), -EINVAL);
    /* empty: total = identity, no call */
    uint64_t seven = 7;
    cr_assert_eq(weft_par_scan(3, 3, 0, &seven, stop_scan, add_u64, NULL, &total, sizeof total), 0);
    cr_assert_eq(total, 7);
}
