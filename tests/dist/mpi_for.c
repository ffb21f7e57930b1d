/* mpi_for.c: weft_dist_par_for and weft_dist_par_for_static cover [lo, hi) exactly
 * once across the ranks, for many (n, grain) and offsets; an explicit grain bounds
 * every body's range to [grain, 2 x grain) (static: below 2 x grain, as a rank's block
 * may be shorter than grain); the static split gives rank r exactly its
 * block. Then a run of back-to-back calls (the counter carries over between calls). */
#include "mpi_testlib.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct cover {
    size_t lo, n, grain;
    bool stat; /* static blocks may be shorter than grain: only the upper bound holds */
    atomic_int *hits;   /* per index, this rank's count */
    atomic_int bad_len; /* a body range outside [grain, 2 x grain) */
} cover;

static int cover_body(void *ctx, size_t b, size_t e)
{
    cover *c = ctx;
    if (b < c->lo || e > c->lo + c->n || b >= e)
        atomic_fetch_add_explicit(&c->bad_len, 1, memory_order_relaxed);
    if (c->grain && c->n >= c->grain && ((!c->stat && e - b < c->grain) || e - b >= 2 * c->grain))
        atomic_fetch_add_explicit(&c->bad_len, 1, memory_order_relaxed);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&c->hits[i - c->lo], 1, memory_order_relaxed);
    return 0;
}

static void check_cover(weft_dist *d, int rank, int size, size_t lo, size_t n, size_t grain, bool stat)
{
    cover c = {lo, n, grain, stat, calloc(n + 1, sizeof(atomic_int)), 0};
    CHECK(c.hits, "calloc");
    int rc = (stat ? weft_dist_par_for_static : weft_dist_par_for)(d, lo, lo + n, grain, cover_body, &c);
    CHECK(rc == 0, "par_for%s(%zu, %zu, grain %zu): %d", stat ? "_static" : "", lo, lo + n, grain, rc);
    CHECK(atomic_load(&c.bad_len) == 0, "n %zu grain %zu: a body got a range it should not", n, grain);
    int *mine = malloc((n + 1) * sizeof(int)), *all = malloc((n + 1) * sizeof(int));
    CHECK(mine && all, "malloc");
    for (size_t i = 0; i < n; i++)
        mine[i] = atomic_load(&c.hits[i]);
    if (n)
        CHECK(MPI_Allreduce(mine, all, (int)n, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS, "allreduce");
    for (size_t i = 0; i < n; i++)
        CHECK(all[i] == 1, "%s n %zu grain %zu: index %zu ran %d times", stat ? "static" : "dynamic", n,
              grain, i, all[i]);
    if (stat) {
        /* Rank r's block: n / size indices, the first n % size ranks one more. */
        size_t q = n / (size_t)size, r = n % (size_t)size, me = (size_t)rank;
        size_t b = me * q + (me < r ? me : r), e = b + q + (me < r);
        for (size_t i = 0; i < n; i++)
            CHECK((mine[i] == 1) == (i >= b && i < e), "static: rank %d ran index %zu of [%zu, %zu)", rank,
                  i, b, e);
    }
    free(mine);
    free(all);
    free(c.hits);
}

int main(int argc, char **argv)
{
    int rank, size;
    weft_dist *d = mpi_test_init(&argc, &argv, &rank, &size);
    static const size_t ns[] = {0, 1, 2, 3, 7, 64, 1000, 4097, 100000};
    static const size_t grains[] = {0, 1, 3, 100, 5000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++)
            for (int stat = 0; stat < 2; stat++)
                check_cover(d, rank, size, i * 7, ns[i], grains[g], stat);
    /* Back to back: many short calls, each must start from the counter's new base. */
    for (int k = 0; k < 200; k++)
        check_cover(d, rank, size, (size_t)k, 50 + (size_t)k, (size_t)(k % 4), false);
    mpi_test_finish(d, "mpi_for", rank);
    return 0;
}
