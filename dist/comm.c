/* comm.c: the weft_dist handle — set up on a communicator (weft_dist_init,
 * weft_dist_attach), queried (rank, size), freed (weft_dist_finalize).
 *
 * The handle owns a duplicate of the caller's communicator, so weft's collectives
 * never match the program's own messages, with MPI_ERRORS_RETURN so that an MPI
 * failure becomes -EIO instead of aborting the job, and the window of the shared
 * chunk counter (deal.c), allocated on rank 0 only and locked by every rank for the
 * handle's life (passive target: rank 0 computes while the others fetch). Invariant:
 * a handle is either wholly set up or not returned at all; every failure path frees
 * what was made, in the reverse order. */
#include "dist_internal.h"

#include <errno.h>
#include <stdlib.h>

static int setup(MPI_Comm comm, bool owns_mpi, bool funneled, weft_dist **out)
{
    weft_dist *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->owns_mpi = owns_mpi;
    d->funneled = funneled;
    d->win = MPI_WIN_NULL;
    int rc = weft__dist_mpi(MPI_Comm_dup(comm, &d->comm));
    if (rc != 0) {
        free(d);
        return rc;
    }
    rc = weft__dist_mpi(MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN));
    if (rc == 0)
        rc = weft__dist_mpi(MPI_Comm_rank(d->comm, &d->rank));
    if (rc == 0)
        rc = weft__dist_mpi(MPI_Comm_size(d->comm, &d->size));
    if (rc == 0) {
        MPI_Aint bytes = d->rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0;
        rc = weft__dist_mpi(MPI_Win_allocate(bytes, (int)sizeof(uint64_t), MPI_INFO_NULL, d->comm,
                                             &d->counter, &d->win));
    }
    if (rc == 0) {
        if (d->rank == 0)
            *d->counter = 0; /* before any rank can reach it: the lock_all below is after
                                the collective window allocation on every rank */
        rc = weft__dist_mpi(MPI_Win_set_errhandler(d->win, MPI_ERRORS_RETURN));
    }
    if (rc == 0)
        rc = weft__dist_mpi(MPI_Win_lock_all(MPI_MODE_NOCHECK, d->win));
    if (rc == 0)
        rc = weft__dist_size_pool(d->comm);
    /* Every rank learns whether every rank got here: a handle that one rank failed to
     * set up is freed on all. */
    int ok = rc == 0, all_ok = 0;
    int agree = weft__dist_mpi(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, d->comm));
    if (rc == 0 && (agree != 0 || !all_ok))
        rc = agree != 0 ? agree : -EIO;
    if (rc != 0) {
        if (d->win != MPI_WIN_NULL) {
            MPI_Win_unlock_all(d->win);
            MPI_Win_free(&d->win);
        }
        MPI_Comm_free(&d->comm);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int weft_dist_init(int *argc, char ***argv, weft_dist **out)
{
    weft__dist_error_reset();
    if (!out)
        return -EINVAL;
    *out = NULL;
    int initialized = 0;
    if (MPI_Initialized(&initialized) != MPI_SUCCESS || initialized)
        return -EALREADY;
    int provided = MPI_THREAD_SINGLE;
    int rc = weft__dist_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    if (rc != 0)
        return rc;
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        return -ENOTSUP;
    }
    rc = setup(MPI_COMM_WORLD, true, provided == MPI_THREAD_FUNNELED, out);
    if (rc != 0)
        MPI_Finalize();
    return rc;
}

int weft_dist_attach(MPI_Comm comm, weft_dist **out)
{
    weft__dist_error_reset();
    if (!out)
        return -EINVAL;
    *out = NULL;
    int initialized = 0, finalized = 0;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&initialized) != MPI_SUCCESS || !initialized ||
        MPI_Finalized(&finalized) != MPI_SUCCESS || finalized)
        return -EINVAL;
    int provided = MPI_THREAD_SINGLE;
    int rc = weft__dist_mpi(MPI_Query_thread(&provided));
    if (rc != 0)
        return rc;
    if (provided < MPI_THREAD_FUNNELED)
        return -ENOTSUP;
    return setup(comm, false, provided == MPI_THREAD_FUNNELED, out);
}

int weft_dist_finalize(weft_dist *d)
{
    if (!d) {
        weft__dist_error_reset();
        return 0;
    }
    int rc = weft__dist_enter(d);
    if (rc != 0)
        return rc;
    rc = weft__dist_mpi(MPI_Win_unlock_all(d->win));
    int rc2 = weft__dist_mpi(MPI_Win_free(&d->win));
    int rc3 = weft__dist_mpi(MPI_Comm_free(&d->comm));
    int rc4 = d->owns_mpi ? weft__dist_mpi(MPI_Finalize()) : 0;
    free(d);
    return rc ? rc : rc2 ? rc2 : rc3 ? rc3 : rc4;
}

int weft_dist_rank(const weft_dist *d)
{
    return d ? d->rank : -EINVAL;
}

int weft_dist_size(const weft_dist *d)
{
    return d ? d->size : -EINVAL;
}
