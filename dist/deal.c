/* deal.c: the shared chunk counter and the loop that deals a schedule's chunks.
 *
 * The counter is one uint64_t in rank 0's window, which every rank keeps locked
 * (MPI_Win_lock_all) for the handle's life. A rank takes chunk k by one atomic
 * fetch-and-add of 1 (MPI_Fetch_and_op, MPI_SUM) followed by a flush, which completes
 * it; k is the fetched value minus the call's base, the value rank 0 read before the
 * argument agreement. The counter is never reset: each call starts where the last one
 * left it, so nothing but the agreement orders one call's fetches after the last's.
 * Invariants: the fetches of one call return distinct values (one atomic location,
 * one op), so each chunk index goes to exactly one rank; a rank stops at the first
 * index past the schedule; a failing rank adds the chunk count, so every fetch after
 * it lands past the end. Only MPI_SUM and MPI_NO_OP touch the counter: the
 * accumulate_ops default ("same_op_no_op") lets an MPI library assume that. */
#include "dist_internal.h"

/* Add `add` to the counter; *old gets its value before. Completed on return. */
static int counter_add(weft_dist *d, uint64_t add, uint64_t *old)
{
    int rc = weft__dist_mpi(MPI_Fetch_and_op(&add, old, MPI_UINT64_T, 0, 0, MPI_SUM, d->win));
    return rc ? rc : weft__dist_mpi(MPI_Win_flush(0, d->win));
}

int weft__dist_deal(weft_dist *d, const weft__dist_sched *s, uint64_t base, weft__dist_chunk_fn run,
                    void *arg)
{
    for (;;) {
        uint64_t got;
        int rc = counter_add(d, 1, &got);
        if (rc != 0)
            return rc;
        size_t b, e;
        if (!weft__dist_sched_chunk(s, got - base, &b, &e))
            return 0;
        int status = run(arg, b, e);
        if (status != 0) {
            /* Push every later fetch past the end: the other ranks stop at their next
             * fetch instead of running the rest of the range for nothing. */
            uint64_t ignored;
            counter_add(d, s->chunks, &ignored);
            return status;
        }
    }
}
