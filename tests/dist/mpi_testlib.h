/* mpi_testlib.h: what the dist/ tests share. Each mpi_*.c is a standalone program
 * (plain main, tests/check.h: it runs under ThreadSanitizer too) that ctest starts
 * through mpirun with 1, 2 and 3 ranks and 1 or 2 threads per rank
 * (tests/dist/CMakeLists.txt). A failed CHECK aborts its rank, and mpirun then ends
 * the job with a non-zero status. */
#ifndef WEFT_TESTS_MPI_TESTLIB_H
#define WEFT_TESTS_MPI_TESTLIB_H

#include "check.h"

#include <weft/dist.h>
#include <weft/runtime.h>

#include <stdint.h>

/* MPI initialised through weft; *rank and *size filled. */
static inline weft_dist *mpi_test_init(int *argc, char ***argv, int *rank, int *size)
{
    weft_dist *d = NULL;
    int rc = weft_dist_init(argc, argv, &d);
    CHECK(rc == 0 && d, "weft_dist_init: %d (MPI error class %d)", rc, weft_dist_mpi_error_class());
    *rank = weft_dist_rank(d);
    *size = weft_dist_size(d);
    CHECK(*size >= 1 && *rank >= 0 && *rank < *size, "rank %d of %d", *rank, *size);
    return d;
}

/* Whether every rank passed the same x. */
static inline int mpi_test_same(long long x)
{
    long long v[2] = {x, -x}, all[2];
    CHECK(MPI_Allreduce(v, all, 2, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS, "allreduce");
    return all[0] == -all[1];
}

static inline void mpi_test_finish(weft_dist *d, const char *name, int rank)
{
    int rc = weft_dist_finalize(d);
    CHECK(rc == 0, "weft_dist_finalize: %d", rc);
    if (rank == 0)
        printf("%s: ok\n", name);
}

#endif
