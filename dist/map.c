/* map.c: weft_dist_par_map — chunks of the element range dealt as weft_dist_par_for
 * deals them, each mapped with weft_par_map on the rank's pool, the results gathered
 * on the root (or on every rank) through a window over the root's output.
 *
 * The results meet in a window the gathering rank allocates for the call
 * (MPI_Win_allocate, n x out_size bytes: the kind of window every MPI library serves
 * on one node through shared memory, where a window over the caller's own `out`
 * may need a single-copy mechanism the node lacks, or more than one process). The
 * gathering rank maps its chunks straight into it; another rank maps a chunk into its
 * scratch buffer (the schedule's largest chunk) and puts it at the chunk's place,
 * flushed before the buffer is reused. Closing the access epoch (MPI_Win_unlock_all)
 * completes every put, and the status agreement after it orders them before the
 * gathering rank copies the window into `out`. For WEFT_DIST_ALL, rank 0 gathers and
 * then broadcasts. Invariant: each element is written once, by the rank that was
 * dealt it, and no rank writes out after the call returns. */
#include "dist_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest piece one MPI call moves (counts are int). */
#define MPI_PIECE ((size_t)1 << 30)

typedef struct map_job {
    weft_dist *d;
    const unsigned char *in;
    unsigned char *out; /* the gathering rank: the window's memory; another: scratch */
    size_t in_size, out_size;
    weft_map_fn fn;
    void *ctx;
    int root;
    MPI_Win win;
} map_job;

static int map_chunk(void *arg, size_t b, size_t e)
{
    map_job *j = arg;
    bool here = j->d->rank == j->root;
    unsigned char *dst = here ? j->out + b * j->out_size : j->out;
    int rc = weft_par_map(j->in + b * j->in_size, dst, e - b, j->in_size, j->out_size, j->fn, j->ctx);
    if (rc != 0 || here)
        return rc;
    size_t bytes = (e - b) * j->out_size;
    for (size_t off = 0; rc == 0 && off < bytes; off += MPI_PIECE) {
        size_t piece = bytes - off < MPI_PIECE ? bytes - off : MPI_PIECE;
        rc = weft__dist_mpi(MPI_Put(dst + off, (int)piece, MPI_BYTE, j->root,
                                    (MPI_Aint)(b * j->out_size + off), (int)piece, MPI_BYTE, j->win));
    }
    return rc ? rc : weft__dist_mpi(MPI_Win_flush(j->root, j->win)); /* scratch reusable */
}

int weft_dist_par_map(weft_dist *d, const void *in, void *out, size_t n, size_t in_size, size_t out_size,
                      weft_map_fn fn, void *ctx, int root)
{
    int rc = weft__dist_enter(d);
    if (rc != 0)
        return rc;
    bool all = root == WEFT_DIST_ALL;
    int gather = all ? 0 : root; /* the rank whose out the window exposes */
    bool receives = all || root == d->rank;
    bool bad = (root < 0 && !all) || root >= d->size || in_size == 0 || out_size == 0 ||
               n > SIZE_MAX / in_size || n > SIZE_MAX / out_size ||
               (n > 0 && (!in || !fn || (receives && !out)));
    uint64_t args[] = {weft__dist_word(n), weft__dist_word(in_size), weft__dist_word(out_size),
                       (uint64_t)(int64_t)root};
    uint64_t base = 0;
    rc = weft__dist_agree(d, WEFT__DIST_MAP, bad, args, 4, &base);
    if (rc != 0)
        return rc;
    weft__dist_sched s;
    weft__dist_sched_init(&s, n, (size_t)d->size, 0);
    size_t b0 = 0, e0 = 0;
    weft__dist_sched_chunk(&s, 0, &b0, &e0); /* the first chunk is the longest */
    bool here = d->rank == gather;
    unsigned char *scratch = NULL;
    int status = 0;
    if (!here && e0 > b0 && !(scratch = malloc((e0 - b0) * out_size)))
        status = -ENOMEM;
    /* The window: n results at the gathering rank, nothing elsewhere. Collective, so
     * made whatever the local status. */
    map_job j = {d, in, scratch, in_size, out_size, fn, ctx, gather, MPI_WIN_NULL};
    MPI_Aint bytes = here ? (MPI_Aint)(n * out_size) : 0;
    unsigned char *staged = NULL;
    int made = weft__dist_mpi(MPI_Win_allocate(bytes, 1, MPI_INFO_NULL, d->comm, &staged, &j.win));
    bool locked = false;
    if (made == 0) {
        if (here)
            j.out = staged;
        int lock = weft__dist_mpi(MPI_Win_set_errhandler(j.win, MPI_ERRORS_RETURN));
        if (lock == 0)
            lock = weft__dist_mpi(MPI_Win_lock_all(MPI_MODE_NOCHECK, j.win));
        locked = lock == 0;
        made = lock;
    }
    if (status == 0)
        status = made;
    if (status == 0)
        status = weft__dist_deal(d, &s, base, map_chunk, &j);
    if (locked) {
        int unlock = weft__dist_mpi(MPI_Win_unlock_all(j.win));
        if (status == 0)
            status = unlock;
    }
    rc = weft__dist_agree_status(d, status);
    if (rc == 0 && here && n > 0)
        memcpy(out, staged, n * out_size);
    if (j.win != MPI_WIN_NULL)
        MPI_Win_free(&j.win);
    free(scratch);
    for (size_t off = 0, total = n * out_size; all && rc == 0 && off < total; off += MPI_PIECE) {
        size_t piece = total - off < MPI_PIECE ? total - off : MPI_PIECE;
        rc = weft__dist_mpi(MPI_Bcast((unsigned char *)out + off, (int)piece, MPI_BYTE, gather, d->comm));
    }
    return rc;
}
