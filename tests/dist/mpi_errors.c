/* mpi_errors.c: every rank returns the same error, and none hangs, when
 *  - a body fails (one index anywhere; in the static split, one rank's block): every
 *    rank returns its status, and a rank that has not run the failing index stops
 *    taking chunks (the range is long: a run to the end would show as a slow test);
 *  - a fold fails; map's fn cannot fail, so map's errors are its arguments';
 *  - one rank passes a bad argument: -EINVAL on all;
 *  - ranks disagree on lo, hi, grain, sizes, the root, or make different calls:
 *    -EPROTO on all;
 * and the handle works normally after each. Also the local errors: NULL handles,
 * MPI already initialised, a null communicator; a second handle by attach; a failed
 * MPI call (attach to an intercommunicator): -EIO and the MPI error class. */
#include "mpi_testlib.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

typedef struct failing {
    size_t fail_at;          /* the index whose range fails */
    int status;
    atomic_ulong ran;        /* indices this rank ran */
} failing;

static int fail_body(void *ctx, size_t b, size_t e)
{
    failing *f = ctx;
    atomic_fetch_add_explicit(&f->ran, e - b, memory_order_relaxed);
    return b <= f->fail_at && f->fail_at < e ? f->status : 0;
}

static int fail_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)acc;
    return fail_body(ctx, b, e);
}

static void add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(long *)acc += *(const long *)other;
}

static int nop(void *ctx, size_t b, size_t e)
{
    (void)ctx, (void)b, (void)e;
    return 0;
}

static void copy(void *ctx, const void *in, void *out)
{
    (void)ctx;
    memcpy(out, in, sizeof(int));
}

static void works(weft_dist *d)
{
    long zero = 0, sum = -1;
    CHECK(weft_dist_par_for(d, 0, 1000, 0, nop, NULL) == 0, "par_for after an error");
    CHECK(weft_dist_par_reduce(d, 0, 10, 1, &zero, fail_fold, add, &(failing){SIZE_MAX, 0, 0}, &sum,
                               sizeof sum) == 0, "reduce after an error");
}

int main(int argc, char **argv)
{
    int rank, size;
    weft_dist *d = mpi_test_init(&argc, &argv, &rank, &size);
    const size_t n = 2000000;

    /* A body fails at the first index, the middle, the last: same status everywhere,
     * and the rest of the range is not run to its end. The stop is a matter of timing:
     * a rank preempted inside the failing chunk (ranks outnumber CPUs here, under
     * sanitizers too) lets the others take every later chunk before its failure pushes
     * the counter past the end, so the claim is that it stops in a few tries (every
     * rank sees the same sum, so all retry together). */
    size_t where[] = {0, n / 2, n - 1};
    for (int k = 0; k < 3; k++) {
        unsigned long all = n;
        for (int t = 0; t < 5 && all >= n; t++) {
            failing f = {where[k], 40 + k, 0};
            int rc = weft_dist_par_for(d, 0, n, 1000, fail_body, &f);
            CHECK(rc == 40 + k, "par_for failing at %zu: rank %d returned %d", where[k], rank, rc);
            unsigned long ran = atomic_load(&f.ran);
            MPI_Allreduce(&ran, &all, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
            works(d);
            if (k == 2)
                break; /* the last index: nothing comes after it to stop */
        }
        CHECK(k == 2 || all < n, "a failure at %zu did not stop the loop in 5 tries (%lu indices ran)",
              where[k], all);
    }
    /* Two failing indices: whichever ranks hit them, all return one status. */
    {
        failing f = {n / 3, 7, 0};
        int rc = weft_dist_par_for(d, 0, n, 500, fail_body, &f);
        CHECK(rc == 7 && mpi_test_same(rc), "one failing index: %d", rc);
    }
    /* Static: the last rank's block fails; the other ranks run theirs, then return
     * the same status. */
    {
        failing f = {n - 1, 9, 0};
        int rc = weft_dist_par_for_static(d, 0, n, 0, fail_body, &f);
        CHECK(rc == 9, "static failing: rank %d returned %d", rank, rc);
        works(d);
    }
    /* A fold fails. */
    {
        failing f = {n / 2, 11, 0};
        long zero = 0, sum = 0;
        int rc = weft_dist_par_reduce(d, 0, n, 0, &zero, fail_fold, add, &f, &sum, sizeof sum);
        CHECK(rc == 11, "reduce failing: %d", rc);
        rc = weft_dist_par_reduce_deterministic(d, 0, n, 0, &zero, fail_fold, add, &f, &sum, sizeof sum);
        CHECK(rc == 11, "deterministic reduce failing: %d", rc);
        works(d);
    }
    /* One rank's bad argument: -EINVAL on every rank. */
    int last = size - 1;
    CHECK(weft_dist_par_for(d, 0, 10, 0, rank == last ? NULL : nop, NULL) == -EINVAL, "NULL body on one rank");
    CHECK(weft_dist_par_for_static(d, 10, rank == last ? 5 : 10, 0, nop, NULL) == (size > 1 ? -EPROTO : -EINVAL),
          "lo > hi on one rank");
    CHECK(weft_dist_par_for(d, 10, 5, 0, nop, NULL) == -EINVAL, "lo > hi everywhere");
    long zero = 0, sum = 0;
    CHECK(weft_dist_par_reduce(d, 0, 10, 0, &zero, fail_fold, add, NULL, rank == last ? NULL : &sum,
                               sizeof sum) == -EINVAL, "NULL result on one rank");
    CHECK(weft_dist_par_reduce(d, 0, 10, 0, &zero, fail_fold, add, NULL, &sum, 0) == -EINVAL, "result_size 0");
    int in[4] = {1, 2, 3, 4}, out[4];
    CHECK(weft_dist_par_map(d, in, out, 4, sizeof(int), sizeof(int), copy, NULL, size) == -EINVAL, "root >= size");
    CHECK(weft_dist_par_map(d, in, out, 4, sizeof(int), sizeof(int), copy, NULL, -2) == -EINVAL, "root -2");
    CHECK(weft_dist_par_map(d, in, rank == 0 ? NULL : out, 4, sizeof(int), sizeof(int), copy, NULL, 0) == -EINVAL,
          "NULL out on the root");
    works(d);
    /* Disagreements: -EPROTO on every rank (with one rank, nobody disagrees). */
    int proto = size > 1 ? -EPROTO : 0;
    CHECK(weft_dist_par_for(d, 0, rank == last ? 11 : 10, 0, nop, NULL) == proto, "different hi");
    CHECK(weft_dist_par_for(d, rank == last, 10, 0, nop, NULL) == proto, "different lo");
    CHECK(weft_dist_par_for(d, 0, 10, rank == last ? 2 : 1, nop, NULL) == proto, "different grain");
    CHECK((rank == last ? weft_dist_par_for_static : weft_dist_par_for)(d, 0, 10, 0, nop, NULL) == proto,
          "different calls");
    if (size > 1) /* alone, the short size would be used for a long */
        CHECK(weft_dist_par_reduce(d, 0, 10, 0, &zero, fail_fold, add, &(failing){SIZE_MAX, 0, 0}, &sum,
                                   rank == last ? sizeof(int) : sizeof sum) == proto, "different result sizes");
    CHECK(weft_dist_par_map(d, in, out, 4, sizeof(int), sizeof(int), copy, NULL, rank == last ? 0 : WEFT_DIST_ALL) ==
              proto, "different roots");
    works(d);
    CHECK(weft_dist_mpi_error_class() == MPI_SUCCESS, "an MPI error class after a good call");

    /* Local errors. */
    CHECK(weft_dist_par_for(NULL, 0, 1, 0, nop, NULL) == -EINVAL, "NULL handle");
    CHECK(weft_dist_rank(NULL) == -EINVAL && weft_dist_size(NULL) == -EINVAL, "rank/size of NULL");
    CHECK(weft_dist_finalize(NULL) == 0, "finalize NULL");
    weft_dist *again = NULL;
    CHECK(weft_dist_init(&argc, &argv, &again) == -EALREADY && !again, "init twice");
    CHECK(weft_dist_init(NULL, NULL, NULL) == -EINVAL, "init with out NULL");
    CHECK(weft_dist_attach(MPI_COMM_NULL, &again) == -EINVAL && !again, "attach to MPI_COMM_NULL");
    CHECK(weft_dist_attach(MPI_COMM_WORLD, NULL) == -EINVAL, "attach with out NULL");
    /* A second handle on the same ranks, by attach: works, and its finalize leaves
     * MPI up for the first. */
    CHECK(weft_dist_attach(MPI_COMM_WORLD, &again) == 0 && again, "attach");
    CHECK(weft_dist_rank(again) == rank && weft_dist_size(again) == size, "attach: rank and size");
    CHECK(weft_dist_par_for(again, 0, 100, 0, nop, NULL) == 0, "par_for on the attached handle");
    CHECK(weft_dist_finalize(again) == 0, "finalize the attached handle");
    int finalized = 1;
    MPI_Finalized(&finalized);
    CHECK(!finalized, "finalize of an attached handle finalised MPI");
    /* An MPI call that fails: attach to an intercommunicator (two groups of the
     * ranks), on which MPI refuses the counter's window: -EIO on every rank of both
     * groups, none left waiting, no handle, the MPI error class recorded, and the
     * first handle unharmed. */
    if (size > 1) {
        MPI_Comm half, inter;
        int low = rank < size / 2 + size % 2;
        CHECK(MPI_Comm_split(MPI_COMM_WORLD, low, rank, &half) == MPI_SUCCESS, "split");
        int remote_leader = low ? size / 2 + size % 2 : 0;
        CHECK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, remote_leader, 7, &inter) == MPI_SUCCESS, "intercomm");
        MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
        weft_dist *bad = NULL;
        int rc = weft_dist_attach(inter, &bad);
        CHECK(rc == -EIO && !bad, "attach to an intercommunicator: %d", rc);
        CHECK(weft_dist_mpi_error_class() != MPI_SUCCESS, "no MPI error class after -EIO");
        MPI_Comm_free(&inter);
        MPI_Comm_free(&half);
        CHECK(weft_dist_par_for(d, 0, 100, 0, nop, NULL) == 0 && weft_dist_mpi_error_class() == MPI_SUCCESS,
              "the first handle after -EIO");
    }
    works(d);
    mpi_test_finish(d, "mpi_errors", rank);
    return 0;
}
