/* mpi_reduce.c: weft_dist_par_reduce equals the serial fold (exact integer sums and a
 * 40-byte histogram, many (n, grain), identity and result one object);
 * weft_dist_par_reduce_deterministic is bit-identical to
 * weft_par_reduce_deterministic on one process (a floating-point sum whose bits
 * depend on the order of additions), so equal on every ranks x threads that ctest
 * runs, and only needs associativity (a non-commutative combine that checks the
 * order of the ranges it joins). Rank 0 prints the bits, for the log. */
#include "mpi_testlib.h"

#include <inttypes.h>
#include <string.h>

static int sq_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    uint64_t s = *(uint64_t *)acc;
    for (size_t i = b; i < e; i++)
        s += (uint64_t)i * i;
    *(uint64_t *)acc = s;
    return 0;
}

static void u64_add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

#define BUCKETS 5
typedef struct hist {
    uint64_t count[BUCKETS];
} hist;

static int hist_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    hist *h = acc;
    for (size_t i = b; i < e; i++)
        h->count[(i * 2654435761u) % BUCKETS]++;
    return 0;
}

static void hist_add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    for (int k = 0; k < BUCKETS; k++)
        ((hist *)acc)->count[k] += ((const hist *)other)->count[k];
}

/* sum of 1 / (i + 1) in double: its bits depend on how the additions are grouped. */
static int harm_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    double s = *(double *)acc;
    for (size_t i = b; i < e; i++)
        s += 1.0 / (double)(i + 1);
    *(double *)acc = s;
    return 0;
}

static void dbl_add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

/* A range [b, e) as a value: combining [a, b) with [b, c) gives [a, c); anything else
 * (right before left, a gap) marks it broken. Associative, not commutative. */
typedef struct span {
    uint64_t b, e, broken;
} span;

static int span_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    span *s = acc;
    if (s->e == UINT64_MAX) { /* the identity */
        s->b = b;
        s->e = e;
    } else if (s->e == b) {
        s->e = e;
    } else {
        s->broken = 1;
    }
    return 0;
}

static void span_join(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    span *a = acc;
    const span *o = other;
    if (o->e == UINT64_MAX)
        return;
    if (a->e == UINT64_MAX)
        *a = *o;
    else if (a->e == o->b)
        a->e = o->e, a->broken |= o->broken;
    else
        a->broken = 1;
}

int main(int argc, char **argv)
{
    int rank, size;
    weft_dist *d = mpi_test_init(&argc, &argv, &rank, &size);
    static const size_t ns[] = {0, 1, 5, 1000, 65537, 300000};
    static const size_t grains[] = {0, 1, 7, 4096};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            size_t lo = 3 * i, hi = lo + ns[i];
            uint64_t want = 0, got = 0;
            sq_fold(NULL, lo, hi, &want);
            int rc = weft_dist_par_reduce(d, lo, hi, grains[g], &got, sq_fold, u64_add, NULL, &got, sizeof got);
            CHECK(rc == 0 && got == want, "reduce n %zu grain %zu: %d, %" PRIu64 " != %" PRIu64, ns[i],
                  grains[g], rc, got, want);
            hist hz = {{0}}, hw = hz, hg = hz;
            hist_fold(NULL, lo, hi, &hw);
            rc = weft_dist_par_reduce(d, lo, hi, grains[g], &hz, hist_fold, hist_add, NULL, &hg, sizeof hg);
            CHECK(rc == 0 && memcmp(&hg, &hw, sizeof hw) == 0, "histogram n %zu grain %zu: %d", ns[i],
                  grains[g], rc);
            /* Deterministic: the one-process result, bit for bit. */
            double zero = 0.0, ref = -1.0, det = -2.0;
            CHECK(weft_par_reduce_deterministic(lo, hi, grains[g], &zero, harm_fold, dbl_add, NULL, &ref,
                                                sizeof ref) == 0, "local deterministic reduce");
            rc = weft_dist_par_reduce_deterministic(d, lo, hi, grains[g], &zero, harm_fold, dbl_add, NULL, &det,
                                                    sizeof det);
            CHECK(rc == 0 && memcmp(&det, &ref, sizeof det) == 0, "det n %zu grain %zu: %d, %a != %a", ns[i],
                  grains[g], rc, det, ref);
            long long bits;
            memcpy(&bits, &det, sizeof bits);
            CHECK(mpi_test_same(bits), "ranks got different bits");
            span id = {0, UINT64_MAX, 0}, sp;
            rc = weft_dist_par_reduce_deterministic(d, lo, hi, grains[g], &id, span_fold, span_join, NULL, &sp,
                                                    sizeof sp);
            CHECK(rc == 0 && !sp.broken && (hi == lo ? sp.e == UINT64_MAX : sp.b == lo && sp.e == hi),
                  "det span n %zu grain %zu: %d [%" PRIu64 ", %" PRIu64 ") broken %" PRIu64, ns[i], grains[g],
                  rc, sp.b, sp.e, sp.broken);
        }
    /* The figure the ctest log shows, the same on every configuration. */
    double zero = 0.0, big = 0.0;
    CHECK(weft_dist_par_reduce_deterministic(d, 0, 1000000, 0, &zero, harm_fold, dbl_add, NULL, &big,
                                             sizeof big) == 0, "det 1e6");
    if (rank == 0)
        printf("deterministic harmonic sum of 1e6 terms on %d rank(s) x %d thread(s): %a\n", size,
               weft_pool_num_threads(NULL), big);
    mpi_test_finish(d, "mpi_reduce", rank);
    return 0;
}
