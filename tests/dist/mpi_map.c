/* mpi_map.c: weft_dist_par_map gathers out[i] = fn(in[i]) on the root (each rank in
 * turn) and on every rank (WEFT_DIST_ALL), with different element sizes and in
 * place; a rank that receives nothing has its out untouched (and may pass NULL). */
#include "mpi_testlib.h"

#include <stdlib.h>
#include <string.h>

static void widen(void *ctx, const void *in, void *out)
{
    (void)ctx;
    uint32_t x = *(const uint32_t *)in;
    *(uint64_t *)out = (uint64_t)x * x + 1;
}

static void negate(void *ctx, const void *in, void *out)
{
    (void)ctx;
    *(int32_t *)out = -*(const int32_t *)in;
}

static void check_map(weft_dist *d, int rank, int size, size_t n, int root)
{
    uint32_t *in = malloc((n + 1) * sizeof *in);
    uint64_t *out = malloc((n + 1) * sizeof *out);
    CHECK(in && out, "malloc");
    for (size_t i = 0; i < n; i++)
        in[i] = (uint32_t)(i * 40503u);
    memset(out, 0xA5, (n + 1) * sizeof *out);
    bool receives = root == WEFT_DIST_ALL || root == rank;
    /* A non-receiving rank passes NULL every other time. */
    void *dst = receives || (n % 2) ? (void *)out : NULL;
    int rc = weft_dist_par_map(d, in, dst, n, sizeof *in, sizeof *out, widen, NULL, root);
    CHECK(rc == 0, "map n %zu root %d: %d", n, root, rc);
    for (size_t i = 0; i < n + 1; i++) {
        uint64_t want = receives && i < n ? (uint64_t)in[i] * in[i] + 1 : 0xA5A5A5A5A5A5A5A5u;
        CHECK(out[i] == want, "map n %zu root %d rank %d/%d: out[%zu]", n, root, rank, size, i);
    }
    /* In place on the receivers. */
    int32_t *v = malloc((n + 1) * sizeof *v);
    CHECK(v, "malloc");
    for (size_t i = 0; i < n; i++)
        v[i] = (int32_t)i;
    rc = weft_dist_par_map(d, v, v, n, sizeof *v, sizeof *v, negate, NULL, root);
    CHECK(rc == 0, "in-place map: %d", rc);
    for (size_t i = 0; i < n; i++)
        CHECK(v[i] == (receives ? -(int32_t)i : (int32_t)i), "in place: v[%zu] = %d", i, v[i]);
    free(v);
    free(in);
    free(out);
}

int main(int argc, char **argv)
{
    int rank, size;
    weft_dist *d = mpi_test_init(&argc, &argv, &rank, &size);
    static const size_t ns[] = {0, 1, 2, 17, 1000, 123457};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (int root = 0; root < size; root++)
            check_map(d, rank, size, ns[i], root);
        check_map(d, rank, size, ns[i], WEFT_DIST_ALL);
    }
    mpi_test_finish(d, "mpi_map", rank);
    return 0;
}
