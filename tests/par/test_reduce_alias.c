/* test_reduce_alias.c: Criterion tests of weft_par_reduce and
 * weft_par_reduce_deterministic when `identity` and `result` share memory. The
 * natural C spelling, `long acc = 0; weft_par_reduce(..., &acc, ..., &acc, ...)`,
 * passes the same object as both, and par.h allows any overlap: the identity is read
 * before anything writes the result. Checked on pools of 1, 2, 3, 8 workers and from
 * the main thread, with an explicit and an adaptive grain, a small (stack) and a
 * large (heap) accumulator, and an identity that overlaps only part of the result.
 * Integer sums, so every result is exact. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Σ i over [b, e), with a spin so that a range goes to the pool instead of the probe. */
static int alias_fold_sum(void *ctx, size_t b, size_t e, void *acc)
{
    unsigned spin = *(const unsigned *)ctx;
    long s = *(long *)acc;
    for (size_t i = b; i < e; i++) {
        s += (long)i;
        loops_spin(spin);
    }
    *(long *)acc = s;
    return 0;
}

static void alias_combine_sum(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(long *)acc += *(const long *)other;
}

typedef struct alias_sum {
    size_t n, grain;
    bool det;
    unsigned spin;
    long acc; /* identity and result */
    int rc;
} alias_sum;

static void alias_sum_call(void *arg)
{
    alias_sum *a = arg;
    a->acc = 0;
    a->rc = (a->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, a->n, a->grain, &a->acc, alias_fold_sum, alias_combine_sum, &a->spin, &a->acc,
        sizeof a->acc);
}

/* The case that once failed: Σ i < 10^5 with grain 1000 came out as garbage (the
 * right halves' accumulators copied the half-folded result instead of 0). */
Test(reduce_alias, identity_is_result)
{
    const size_t grains[] = {1000, 1, 0};
    for (size_t t = 0; t < N_COUNTS; t++)
        for (int det = 0; det < 2; det++)
            for (size_t g = 0; g < 3; g++)
                for (unsigned spin = 0; spin <= 50; spin += 50) {
                    alias_sum a = {100000, grains[g], det, spin, -1, -1};
                    loops_run_on(loop_thread_counts[t], alias_sum_call, &a);
                    cr_assert_eq(a.rc, 0);
                    cr_assert_eq(a.acc, 4999950000L, "threads %d det %d grain %zu spin %u: %ld",
                                 loop_thread_counts[t], det, grains[g], spin, a.acc);
                }
}

/* A 512-byte accumulator (the heap path): a count of i % 64. */
typedef struct alias_histo {
    uint64_t bin[64];
} alias_histo;

static int alias_fold_histo(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    alias_histo *h = acc;
    for (size_t i = b; i < e; i++) {
        h->bin[i % 64]++;
        loops_spin(20);
    }
    return 0;
}

static void alias_combine_histo(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    alias_histo *a = acc;
    const alias_histo *o = other;
    for (int i = 0; i < 64; i++)
        a->bin[i] += o->bin[i];
}

typedef struct alias_big {
    bool det;
    alias_histo acc; /* identity and result */
    int rc;
} alias_big;

static void alias_big_call(void *arg)
{
    alias_big *a = arg;
    memset(&a->acc, 0, sizeof a->acc);
    a->rc = (a->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, 50003, 500, &a->acc, alias_fold_histo, alias_combine_histo, NULL, &a->acc, sizeof a->acc);
}

Test(reduce_alias, identity_is_large_result)
{
    for (size_t t = 0; t < N_COUNTS; t++)
        for (int det = 0; det < 2; det++) {
            alias_big a = {det, {{0}}, -1};
            loops_run_on(loop_thread_counts[t], alias_big_call, &a);
            cr_assert_eq(a.rc, 0);
            for (size_t i = 0; i < 64; i++)
                cr_assert_eq(a.acc.bin[i], 50003 / 64 + (i < 50003 % 64), "threads %d det %d bin %zu",
                             loop_thread_counts[t], det, i);
        }
}

/* Partial overlap: an accumulator of two longs (sum, count) whose identity is
 * words [0, 2) of an array and whose result is words [1, 3). */
static int alias_fold_pair(void *ctx, size_t b, size_t e, void *acc)
{
    unsigned spin = *(const unsigned *)ctx;
    long *p = acc;
    for (size_t i = b; i < e; i++) {
        p[0] += (long)i;
        p[1]++;
        loops_spin(spin);
    }
    return 0;
}

static void alias_combine_pair(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    long *a = acc;
    const long *o = other;
    a[0] += o[0];
    a[1] += o[1];
}

typedef struct alias_pair {
    bool det;
    unsigned spin;
    long words[3];
    int rc;
} alias_pair;

static void alias_pair_call(void *arg)
{
    alias_pair *a = arg;
    memset(a->words, 0, sizeof a->words);
    a->rc = (a->det ? weft_par_reduce_deterministic : weft_par_reduce)(
        0, 100000, 1000, &a->words[0], alias_fold_pair, alias_combine_pair, &a->spin, &a->words[1],
        2 * sizeof(long));
}

Test(reduce_alias, identity_overlaps_part_of_result)
{
    for (size_t t = 0; t < N_COUNTS; t++)
        for (int det = 0; det < 2; det++)
            for (unsigned spin = 0; spin <= 50; spin += 50) {
                alias_pair a = {det, spin, {-1, -1, -1}, -1};
                loops_run_on(loop_thread_counts[t], alias_pair_call, &a);
                cr_assert_eq(a.rc, 0);
                cr_assert_eq(a.words[1], 4999950000L, "threads %d det %d spin %u: sum %ld",
                             loop_thread_counts[t], det, spin, a.words[1]);
                cr_assert_eq(a.words[2], 100000L, "threads %d det %d spin %u: count %ld",
                             loop_thread_counts[t], det, spin, a.words[2]);
            }
}
