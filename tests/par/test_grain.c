/* test_grain.c: Criterion tests of what an explicit grain guarantees (par.h): every
 * chunk a body or fold gets has a length in [grain, 2 * grain), unless the whole
 * range is shorter than grain (then it is one chunk) — OpenMP's
 * schedule(dynamic, chunk) and rayon's with_min_len ported code relies on the
 * minimum (vector width, cache lines, per-chunk setup). Checked for weft_par_for,
 * each explicit side of weft_par_for_2d's tiles (also when the other grain is 0), and
 * both reduces, over n < grain, n == grain, 2 * grain - 1, 2 * grain, large n,
 * grain 1 and random pairs, on pools of 1, 2, 3, 8 workers and from the main thread;
 * every index (cell) is also counted exactly once. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Is a chunk of `len` out of a range of `n` what `grain` promises? */
static bool grain_ok(size_t len, size_t n, size_t grain)
{
    if (n < grain)
        return len == n;
    return len >= grain && len / 2 < grain; /* len < 2 * grain, without overflow */
}

enum { GRAIN_MAXN = 20000, GRAIN_PAIRS = 96 };

/* The (n, grain) pairs of a 1-D check: the edges around grain and 2 * grain, grain 1,
 * a large n, then random ones. */
typedef struct grain_pair {
    size_t n, grain;
} grain_pair;

static size_t grain_pairs(grain_pair *out, size_t max, uint64_t seed)
{
    static const size_t grains[] = {1, 2, 3, 7, 64, 1000};
    size_t k = 0;
    for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        size_t gr = grains[g];
        const size_t ns[] = {1, gr > 1 ? gr - 1 : 1, gr, gr + 1, 2 * gr - 1, 2 * gr, 2 * gr + 1,
                             3 * gr, 4 * gr - 1, 10 * gr + 3, GRAIN_MAXN};
        for (size_t i = 0; i < sizeof ns / sizeof ns[0] && k < max; i++)
            out[k++] = (grain_pair){ns[i], gr};
    }
    while (k < max) {
        size_t gr = 1 + (size_t)(test_next_rand(&seed) % 500);
        out[k++] = (grain_pair){1 + (size_t)(test_next_rand(&seed) % GRAIN_MAXN), gr};
    }
    return k;
}

/* ------------------------------------------------------------------------------
 * 1-D */

typedef struct chunks {
    size_t lo, n, grain;
    unsigned spin;
    _Atomic unsigned char *count;
    _Atomic size_t bad_len; /* a chunk length grain does not allow, + 1 (0: none) */
    int rc;
} chunks;

static void chunks_record(chunks *c, size_t b, size_t e)
{
    if (b >= e || b < c->lo || e > c->lo + c->n)
        abort();
    if (!grain_ok(e - b, c->n, c->grain))
        atomic_store_explicit(&c->bad_len, e - b + 1, memory_order_relaxed);
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&c->count[i - c->lo], 1, memory_order_relaxed);
        loops_spin(c->spin);
    }
}

static int chunks_body(void *ctx, size_t b, size_t e)
{
    chunks_record(ctx, b, e);
    return 0;
}

static void chunks_for_call(void *arg)
{
    chunks *c = arg;
    c->rc = weft_par_for(c->lo, c->lo + c->n, c->grain, chunks_body, c);
}

static void chunks_check(const chunks *c, const char *what, int threads)
{
    cr_assert_eq(c->rc, 0);
    size_t bad = atomic_load_explicit(&c->bad_len, memory_order_relaxed);
    cr_assert_eq(bad, 0, "%s threads %d n %zu grain %zu: a chunk of %zu", what, threads, c->n,
                 c->grain, bad - 1);
    for (size_t i = 0; i < c->n; i++)
        cr_assert_eq(c->count[i], 1, "%s threads %d n %zu grain %zu: index %zu ran %u times", what,
                     threads, c->n, c->grain, i, (unsigned)c->count[i]);
}

Test(grain, for_chunks_within_grain_and_twice_grain)
{
    grain_pair pairs[GRAIN_PAIRS];
    size_t np = grain_pairs(pairs, GRAIN_PAIRS, 0x5eed);
    _Atomic unsigned char *count = calloc(GRAIN_MAXN, 1);
    cr_assert_not_null(count);
    for (size_t t = 0; t < N_COUNTS; t++)
        for (size_t p = 0; p < np; p++) {
            memset((void *)count, 0, GRAIN_MAXN);
            size_t lo = (p % 3 == 2) ? SIZE_MAX - pairs[p].n : p * 1000;
            chunks c = {lo, pairs[p].n, pairs[p].grain, (p & 1) ? 20u : 0u, count, 0, -1};
            loops_run_on(loop_thread_counts[t], chunks_for_call, &c);
            chunks_check(&c, "par_for", loop_thread_counts[t]);
        }
    free((void *)count);
}

/* The cases an earlier splitter got wrong, spelled out: 1500 with grain 1000 is one
 * chunk (it made two of 750), 3 with grain 2 is one chunk (it made 2 + 1). */
typedef struct count_calls {
    _Atomic unsigned calls;
    _Atomic size_t shortest;
} count_calls;

static int count_calls_body(void *ctx, size_t b, size_t e)
{
    count_calls *c = ctx;
    atomic_fetch_add_explicit(&c->calls, 1, memory_order_relaxed);
    size_t s = atomic_load_explicit(&c->shortest, memory_order_relaxed);
    while (e - b < s &&
           !atomic_compare_exchange_weak_explicit(&c->shortest, &s, e - b, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    return 0;
}

Test(grain, for_issue_examples)
{
    count_calls a = {0, SIZE_MAX};
    cr_assert_eq(weft_par_for(0, 1500, 1000, count_calls_body, &a), 0);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.shortest, 1500);
    count_calls b = {0, SIZE_MAX};
    cr_assert_eq(weft_par_for(0, 3, 2, count_calls_body, &b), 0);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(b.shortest, 3);
    count_calls c = {0, SIZE_MAX};
    cr_assert_eq(weft_par_for(0, 4000, 1000, count_calls_body, &c), 0);
    cr_assert_eq(c.calls, 4);
    cr_assert_eq(c.shortest, 1000);
}

/* A grain larger than any range: one chunk, no overflow computing 2 * grain. */
Test(grain, for_huge_grain)
{
    const size_t grains[] = {SIZE_MAX, SIZE_MAX / 2 + 1, SIZE_MAX / 2};
    for (size_t g = 0; g < 3; g++) {
        count_calls a = {0, SIZE_MAX};
        cr_assert_eq(weft_par_for(SIZE_MAX - 5000, SIZE_MAX, grains[g], count_calls_body, &a), 0);
        cr_assert_eq(a.calls, 1);
        cr_assert_eq(a.shortest, 5000);
    }
}

/* ------------------------------------------------------------------------------
 * reduce: the folds get the chunks (the deterministic one too, whose first leaf is
 * folded on the caller before the rest of the tree). */

typedef struct chunks_red {
    chunks c;
    bool det;
    uint64_t result;
} chunks_red;

static int chunks_fold(void *ctx, size_t b, size_t e, void *acc)
{
    chunks_record(ctx, b, e);
    for (size_t i = b; i < e; i++)
        *(uint64_t *)acc += i;
    return 0;
}

static void chunks_combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static void chunks_reduce_call(void *arg)
{
    chunks_red *r = arg;
    const uint64_t zero = 0;
    r->c.rc = (r->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        r->c.lo, r->c.lo + r->c.n, r->c.grain, &zero, chunks_fold, chunks_combine, &r->c, &r->result,
        sizeof r->result);
}

Test(grain, reduce_chunks_within_grain_and_twice_grain)
{
    grain_pair pairs[GRAIN_PAIRS];
    size_t np = grain_pairs(pairs, GRAIN_PAIRS, 0xfeed);
    _Atomic unsigned char *count = calloc(GRAIN_MAXN, 1);
    cr_assert_not_null(count);
    for (size_t t = 0; t < N_COUNTS; t++)
        for (int det = 0; det < 2; det++)
            for (size_t p = 0; p < np; p++) {
                memset((void *)count, 0, GRAIN_MAXN);
                size_t lo = p * 1000;
                chunks_red r = {{lo, pairs[p].n, pairs[p].grain, (p & 1) ? 20u : 0u, count, 0, -1},
                                det, 1};
                loops_run_on(loop_thread_counts[t], chunks_reduce_call, &r);
                chunks_check(&r.c, det ? "reduce_deterministic" : "reduce", loop_thread_counts[t]);
                uint64_t want = 0;
                for (size_t i = lo; i < lo + r.c.n; i++)
                    want += i;
                cr_assert_eq(r.result, want);
            }
    free((void *)count);
}

/* ------------------------------------------------------------------------------
 * 2-D: each side with an explicit grain obeys it; with both explicit a tile side is
 * in [grain, 2 * grain); with the other grain 0 (an adaptive loop) only the minimum is
 * promised. */

typedef struct tiles {
    size_t rows, cols, rg, cg;
    unsigned spin;
    _Atomic unsigned char *count;
    _Atomic size_t bad_rows, bad_cols; /* a tile side the grain does not allow, + 1 */
    int rc;
} tiles;

static bool side_ok(size_t len, size_t n, size_t grain, bool both)
{
    if (grain == 0)
        return true;
    if (!both)
        return len >= (n < grain ? n : grain);
    return grain_ok(len, n, grain);
}

static int tiles_body(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    tiles *t = ctx;
    if (r0 >= r1 || c0 >= c1 || r1 > t->rows || c1 > t->cols)
        abort();
    bool both = t->rg && t->cg;
    if (!side_ok(r1 - r0, t->rows, t->rg, both))
        atomic_store_explicit(&t->bad_rows, r1 - r0 + 1, memory_order_relaxed);
    if (!side_ok(c1 - c0, t->cols, t->cg, both))
        atomic_store_explicit(&t->bad_cols, c1 - c0 + 1, memory_order_relaxed);
    for (size_t r = r0; r < r1; r++)
        for (size_t k = c0; k < c1; k++) {
            atomic_fetch_add_explicit(&t->count[r * t->cols + k], 1, memory_order_relaxed);
            loops_spin(t->spin);
        }
    return 0;
}

static void tiles_call(void *arg)
{
    tiles *t = arg;
    t->rc = weft_par_for_2d(t->rows, t->cols, t->rg, t->cg, tiles_body, t);
}

Test(grain, for2d_tile_sides_within_grains)
{
    /* rows, cols, row grain, col grain */
    static const size_t cases[][4] = {
        {1, 1, 1, 1},     {5, 7, 10, 10},   {10, 10, 10, 10}, {19, 19, 10, 10}, {20, 20, 10, 10},
        {21, 41, 10, 20}, {300, 3, 7, 1},   {3, 300, 1, 7},   {150, 200, 1, 1}, {150, 200, 16, 64},
        {1000, 3, 8, 0},  {3, 1000, 0, 8},  {200, 200, 0, 33}, {200, 200, 9, 0}, {63, 130, 0, 64},
        {127, 129, 64, 64}, {128, 128, 64, 64}, {40, 5000, 3, 100},
    };
    for (size_t t = 0; t < N_COUNTS; t++)
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
            for (unsigned spin = 0; spin <= 20; spin += 20) {
                size_t rows = cases[k][0], cols = cases[k][1];
                tiles c = {rows, cols, cases[k][2], cases[k][3], spin, calloc(rows * cols, 1), 0, 0, -1};
                cr_assert_not_null(c.count);
                loops_run_on(loop_thread_counts[t], tiles_call, &c);
                cr_assert_eq(c.rc, 0);
                size_t br = atomic_load_explicit(&c.bad_rows, memory_order_relaxed);
                size_t bc = atomic_load_explicit(&c.bad_cols, memory_order_relaxed);
                cr_assert_eq(br, 0, "threads %d %zux%zu grains %zu,%zu: a tile of %zu rows",
                             loop_thread_counts[t], rows, cols, c.rg, c.cg, br - 1);
                cr_assert_eq(bc, 0, "threads %d %zux%zu grains %zu,%zu: a tile of %zu columns",
                             loop_thread_counts[t], rows, cols, c.rg, c.cg, bc - 1);
                for (size_t i = 0; i < rows * cols; i++)
                    cr_assert_eq(c.count[i], 1, "threads %d %zux%zu grains %zu,%zu: cell %zu",
                                 loop_thread_counts[t], rows, cols, c.rg, c.cg, i);
                free((void *)c.count);
            }
}
