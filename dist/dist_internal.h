/* dist_internal.h: what the files of dist/ share — the handle's layout, the MPI error
 * record, the collective agreements every call makes (on its arguments at the start,
 * on its status at the end), the factoring schedule and the dealing loop that hands
 * its chunks out through the shared counter.
 *
 * Invariants: every collective call makes exactly the same MPI collectives in the
 * same order on every rank whatever happens locally (a failed body, an allocation
 * failure): a rank with an error still takes part in the agreements, so no rank waits
 * for a collective another skipped. */
#ifndef WEFT_DIST_INTERNAL_H
#define WEFT_DIST_INTERNAL_H

#include <weft/dist.h>
#include <stdbool.h>
#include <stdint.h>

struct weft_dist {
    MPI_Comm comm;     /* a duplicate of the caller's, errors returned (not fatal) */
    MPI_Win win;       /* the chunk counter: one uint64_t at rank 0, under lock_all */
    uint64_t *counter; /* rank 0: the window's memory (others: a zero-byte window) */
    int rank, size;
    bool owns_mpi; /* weft_dist_init initialised MPI: finalize finalises it */
    bool funneled; /* MPI gives exactly FUNNELED: only its main thread may call it */
};

/* Which call a rank is making, part of the argument agreement: ranks that disagree on
 * it made different calls. */
enum {
    WEFT__DIST_FOR = 1,
    WEFT__DIST_FOR_STATIC,
    WEFT__DIST_REDUCE,
    WEFT__DIST_REDUCE_DET,
    WEFT__DIST_MAP,
};

/* An MPI return code: MPI_SUCCESS gives 0; anything else records its class for
 * weft_dist_mpi_error_class (the first failure of the call is kept) and gives -EIO. */
int weft__dist_mpi(int rc);
/* Start a call's error record afresh (every public call begins with it). */
void weft__dist_error_reset(void);

/* Size and start the global pool for a rank sharing its node with others (place.c):
 * 0, or an error of MPI (-EIO) or of weft_pool_global_init (never -EBUSY). */
int weft__dist_size_pool(MPI_Comm comm);

/* The checks a rank makes alone before any MPI call: 0, -EINVAL (d NULL), -EPERM
 * (not MPI's main thread under FUNNELED). Resets the error record. */
int weft__dist_enter(const weft_dist *d);

/* The argument agreement, one MPI_Allreduce of 2 + 2 x nargs words: whether any rank
 * found its arguments bad (local_bad), rank 0's chunk counter (into *base, when base
 * is not NULL), and each of args[] with its complement, whose maxima show whether
 * every rank passed the same values (max(x) == min(x)). Returns 0; -EINVAL (a rank's
 * arguments were bad); -EPROTO (ranks disagree); -EIO. Same result on every rank,
 * MPI errors aside. */
int weft__dist_agree(weft_dist *d, int kind, bool local_bad, const uint64_t *args, size_t nargs,
                     uint64_t *base);

/* The status agreement: every rank learns the status of the lowest-ranked rank whose
 * status is non-zero (0 if none). One MPI_Allreduce (MINLOC); an MPI failure here
 * gives -EIO on the rank that saw it. */
int weft__dist_agree_status(weft_dist *d, int status);

/* The factoring schedule of n indices over `ranks` ranks: rounds of `ranks` chunks,
 * each chunk max(floor, min(cap, ceil(rest / (2 x ranks)))) indices, then chunks of `floor`
 * to the end, where floor = max(grain, ceil(n / (WEFT__DIST_TAIL x ranks)), 1); the
 * last chunk takes a remainder shorter than grain. Chunk k's bounds are a function
 * of (n, ranks, grain, k) alone, so one fetch-and-add of 1 on a shared counter
 * deals them: every rank computes the same chunk from the same k. */
typedef struct weft__dist_sched {
    size_t n, ranks, grain, floor, cap;
    uint64_t chunks; /* how many chunks the schedule has */
} weft__dist_sched;

/* The tail's divisor: a chunk is never under n / (WEFT__DIST_TAIL x ranks) indices,
 * 1/64 of a rank's even share. It bounds the work one rank can be left holding when
 * the others have finished, for uniform indices, to 1/64 of a share, and the remote
 * atomics to a few per rank per round plus 2 x ranks for the tail in all (the cost
 * model, docs/design.md section 8). */
#define WEFT__DIST_TAIL 64u

/* The cap: no chunk is over n / (WEFT__DIST_FIRST x ranks) indices, 1/8 of a rank's
 * even share. Plain factoring's first round deals half the range at once, a chunk of
 * half a share per rank: on a loop whose cost sits in one band (the rows through the
 * Mandelbrot set cost ~100x those outside) one such chunk can hold twice a rank's
 * share of the work, and that rank finishes last whatever the others do. With the
 * cap the replay of docs/design.md section 8 (weft-dist-sim) keeps 99% efficiency on
 * a band ten times dearer than the rest, where halving alone gives 52%, for about 11
 * remote atomics per rank instead of 7. */
#define WEFT__DIST_FIRST 8u

void weft__dist_sched_init(weft__dist_sched *s, size_t n, size_t ranks, size_t grain);
/* Chunk k's offsets [*b, *e) from the range's start; false when k >= chunks. */
bool weft__dist_sched_chunk(const weft__dist_sched *s, uint64_t k, size_t *b, size_t *e);

/* Run one chunk [b, e) (offsets into the call's range) on the rank's pool: 0 or the
 * status that stops the loop. */
typedef int (*weft__dist_chunk_fn)(void *arg, size_t b, size_t e);

/* Deal the chunks of `s` to this rank from the shared counter, whose value at the
 * start of the call was `base` (weft__dist_agree), running each with run(arg, b, e)
 * until the counter passes the last chunk. On a non-zero status the rank pushes the
 * counter past the end, so every rank stops at its next fetch. Returns this rank's
 * status: 0, run's status, or -EIO. */
int weft__dist_deal(weft_dist *d, const weft__dist_sched *s, uint64_t base, weft__dist_chunk_fn run,
                    void *arg);

/* A dealt chunk's pieces inside the rank when the caller's grain is 0: about
 * WEFT__DIST_PIECES per thread of the rank's pool. A chunk is a loop of its own, and
 * weft_par_for's adaptive mode would open each one with its probe (a few indices run
 * on the caller alone, to time them) and close it waiting for its slowest piece: on
 * costly indices, such as the seahorse's rows, a rank of two threads lost a fifth of
 * its time that way. Pieces cut in advance start every thread at once; eight per
 * thread leave the tail of a chunk an eighth of a thread's share of it. */
#define WEFT__DIST_PIECES 8u

/* The grain a chunk of len indices runs with: the caller's, or for 0 the pieces'. */
size_t weft__dist_chunk_grain(size_t grain, size_t len);

/* A size_t as one word of the argument agreement. */
static inline uint64_t weft__dist_word(size_t x)
{
    return (uint64_t)x;
}

#endif /* WEFT_DIST_INTERNAL_H */
