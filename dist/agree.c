/* agree.c: how the ranks agree — on a call's arguments before it starts and on its
 * status after it ends — and the record of the MPI error behind an -EIO.
 *
 * Invariants: each agreement is one MPI_Allreduce that every rank makes, whatever it
 * found locally, so a rank with bad arguments or a failed body never leaves another
 * waiting in a collective; all ranks compute the same verdict from the same reduced
 * words. The error record is a thread-local (docs/design.md section 2 lists it): each
 * public call resets it, the first failed MPI call of the call sets it. */
#include "dist_internal.h"

#include <errno.h>

static _Thread_local int weft__dist_error_class = MPI_SUCCESS;

void weft__dist_error_reset(void)
{
    weft__dist_error_class = MPI_SUCCESS;
}

int weft__dist_mpi(int rc)
{
    if (rc == MPI_SUCCESS)
        return 0;
    if (weft__dist_error_class == MPI_SUCCESS) {
        int cls = MPI_ERR_OTHER;
        if (MPI_Error_class(rc, &cls) != MPI_SUCCESS)
            cls = MPI_ERR_OTHER;
        weft__dist_error_class = cls == MPI_SUCCESS ? MPI_ERR_OTHER : cls;
    }
    return -EIO;
}

int weft_dist_mpi_error_class(void)
{
    return weft__dist_error_class;
}

int weft__dist_enter(const weft_dist *d)
{
    weft__dist_error_reset();
    if (!d)
        return -EINVAL;
    if (d->funneled) {
        int main_thread = 0;
        if (MPI_Is_thread_main(&main_thread) != MPI_SUCCESS || !main_thread)
            return -EPERM;
    }
    return 0;
}

/* Agreement words: [0] some rank's arguments were bad, [1] rank 0 could not read the
 * counter, [2] rank 0's counter (0 from the others), then the call's kind and each
 * argument, each followed by its complement: under MPI_MAX a pair (x, ~x) reduces to
 * (max x, ~min x), so the ranks agree on x exactly when the two words complement. */
#define AGREE_MAX_ARGS 6
#define AGREE_WORDS(nargs) (3 + 2 * (1 + (nargs)))

int weft__dist_agree(weft_dist *d, int kind, bool local_bad, const uint64_t *args, size_t nargs,
                     uint64_t *base)
{
    uint64_t mine[AGREE_WORDS(AGREE_MAX_ARGS)] = {0}, all[AGREE_WORDS(AGREE_MAX_ARGS)];
    if (nargs > AGREE_MAX_ARGS)
        return -EINVAL; /* a caller in dist/ passed too many: not reachable from the API */
    int words = AGREE_WORDS((int)nargs);
    mine[0] = local_bad;
    if (d->rank == 0) {
        /* The counter's value now: every fetch of the previous call was completed
         * (flushed) before that call's status agreement, and no rank fetches for this
         * call before this agreement has ended. */
        uint64_t none = 0, counter = 0;
        int rc = weft__dist_mpi(MPI_Fetch_and_op(&none, &counter, MPI_UINT64_T, 0, 0, MPI_NO_OP, d->win));
        if (rc == 0)
            rc = weft__dist_mpi(MPI_Win_flush(0, d->win));
        mine[1] = rc != 0;
        mine[2] = counter;
    }
    mine[3] = (uint64_t)kind;
    mine[4] = ~(uint64_t)kind;
    for (size_t i = 0; i < nargs; i++) {
        mine[5 + 2 * i] = args[i];
        mine[6 + 2 * i] = ~args[i];
    }
    int rc = weft__dist_mpi(MPI_Allreduce(mine, all, words, MPI_UINT64_T, MPI_MAX, d->comm));
    if (rc != 0)
        return rc;
    if (base)
        *base = all[2];
    if (all[1])
        return -EIO; /* rank 0 recorded the MPI error class; the others have none */
    for (int i = 3; i < words; i += 2)
        if (all[i] != ~all[i + 1])
            return -EPROTO;
    return all[0] ? -EINVAL : 0;
}

int weft__dist_agree_status(weft_dist *d, int status)
{
    /* MINLOC over (key, status): the key is the rank for a failure, size otherwise, so
     * the lowest failing rank wins and with no failure every rank reads 0. */
    struct {
        int key, status;
    } mine = {status != 0 ? d->rank : d->size, status}, all = {0, 0};
    int rc = weft__dist_mpi(MPI_Allreduce(&mine, &all, 1, MPI_2INT, MPI_MINLOC, d->comm));
    if (rc != 0)
        return rc;
    return all.key < d->size ? all.status : 0;
}
