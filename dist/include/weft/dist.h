/* weft/dist.h: past one machine — weft's loops over the ranks of an MPI communicator,
 * each rank running its share on its own weft pool (libweft_dist, weft::weft_dist;
 * built when MPI is found).
 *
 * MPI is the transport; weft adds none of its own. A program is started by mpirun (or
 * the cluster's launcher) as N processes, the ranks; each makes the same sequence of
 * weft_dist calls with the same arguments (they are collective: every rank of the
 * communicator takes part, as in MPI_Allreduce). Inside a rank, each piece of the
 * iteration space it takes runs as a weft_par_for (weft_par_reduce, weft_par_map) on
 * the pool of the calling thread: the global pool when called from main.
 *
 * Scheduling. weft_dist_par_for shares one iteration space among all ranks: ranks take
 * chunks from a shared counter held by rank 0 (one MPI-3 one-sided atomic,
 * MPI_Fetch_and_op, per chunk), chunks shrinking as the range runs out (factoring
 * self-scheduling: rounds of one chunk per rank, each chunk half the rest divided by
 * the ranks, at most an eighth of a rank's share), so a rank that finishes early takes more and none is left idle on
 * uneven work. weft_dist_par_for_static gives each rank one fixed block instead, for
 * bodies that must touch rank-local data.
 *
 * Threads and MPI. Only the thread that calls weft_dist makes MPI calls, never a
 * pool worker: MPI_THREAD_FUNNELED is enough (weft_dist_init asks for it). With
 * exactly that level, call weft_dist from the thread that initialised MPI.
 *
 * Errors, as everywhere in weft: 0 or a negative errno, and every rank returns the
 * same value from a collective call (a body's status, a bad argument on any rank, a
 * disagreement between ranks). A call whose MPI library reported an error returns
 * -EIO, and weft_dist_mpi_error_class() then gives the MPI error class. The errors a
 * rank finds before it can reach the others (d NULL, the wrong thread) return on that
 * rank alone: the others then wait for it in their call, as in any collective that a
 * rank does not make.
 *
 * There are no try_ or _timeout twins: a collective cannot be left by one rank
 * alone (the others would wait for it); a rank's failure is reported to all instead. */
#ifndef WEFT_DIST_H
#define WEFT_DIST_H

#include <weft/common.h>
#include <weft/par.h>
#include <mpi.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A communicator set up for weft's loops: a private duplicate of the caller's (weft's
 * messages never meet the program's), the shared chunk counter's window, rank and
 * size. Made by weft_dist_init or weft_dist_attach, freed by weft_dist_finalize. */
typedef struct weft_dist weft_dist;

/* weft_dist_par_map's root: every rank receives the whole result. */
#define WEFT_DIST_ALL (-1)

/* Initialise MPI (MPI_Init_thread, asking for MPI_THREAD_FUNNELED) and set up
 * MPI_COMM_WORLD for weft; argc and argv as main's (either may be NULL). When the
 * global pool has not started yet, starts it sized for this rank: WEFT_NUM_THREADS
 * if set; else the CPUs this process may use, divided among the ranks sharing the
 * node when the launcher bound none of them (then unpinned, since the ranks cannot
 * share out the cores). Collective over MPI_COMM_WORLD. *out is NULL on error.
 * Returns 0; -EINVAL (out NULL); -EALREADY (MPI was initialised already: use
 * weft_dist_attach); -ENOTSUP (the MPI library cannot give MPI_THREAD_FUNNELED; MPI
 * is finalised again); -ENOMEM; -EIO (an MPI call failed:
 * weft_dist_mpi_error_class()). */
WEFT_API int weft_dist_init(int *argc, char ***argv, weft_dist **out);

/* Set up weft on `comm` in a program that initialised MPI itself (its thread level
 * at least MPI_THREAD_FUNNELED). Sizes the global pool as weft_dist_init does.
 * Collective over comm. weft_dist_finalize then leaves MPI initialised.
 * Returns 0; -EINVAL (out NULL, comm MPI_COMM_NULL, MPI not initialised or already
 * finalised); -ENOTSUP (thread level below MPI_THREAD_FUNNELED); -ENOMEM; -EIO. */
WEFT_API int weft_dist_attach(MPI_Comm comm, weft_dist **out);

/* Free d (collective over its communicator); if weft_dist_init made it, finalise MPI
 * too. d NULL is a no-op. Returns 0, -EPERM (see weft_dist_par_for), -EIO (d is
 * freed all the same). */
WEFT_API int weft_dist_finalize(weft_dist *d);

/* This process's rank in d's communicator, in [0, size); -EINVAL if d is NULL. */
WEFT_API int weft_dist_rank(const weft_dist *d);
/* The number of ranks (>= 1); -EINVAL if d is NULL. */
WEFT_API int weft_dist_size(const weft_dist *d);

/* The MPI error class (MPI_ERR_*) of the first failed MPI call of the calling
 * thread's last weft_dist call, MPI_SUCCESS if none failed. */
WEFT_API int weft_dist_mpi_error_class(void);

/* Call body(ctx, b, e) on disjoint sub-ranges that cover [lo, hi) exactly once across
 * all ranks; each rank runs the chunks it takes with weft_par_for on its pool. grain
 * is as weft_par_for's (a body gets [grain, 2 x grain) indices, unless the whole
 * range is shorter); 0: each chunk is cut into about 8 pieces per thread of the
 * rank's pool (not adaptive: a chunk starts on every thread at once); a chunk taken from
 * the counter is never shorter than grain nor than (hi - lo) / (64 x ranks), so a
 * rank pays one remote atomic per chunk and takes few. Which rank runs which index
 * depends on timing. Collective.
 * A body that returns non-zero stops the loop on every rank (no rank takes a chunk
 * after it learns of the failure; chunks already running finish), and every rank
 * returns the status of the lowest-ranked rank whose body failed.
 * Returns 0; that status; -EINVAL (d NULL; lo > hi or body NULL on any rank: every
 * rank returns it); -EPROTO (the ranks passed different lo, hi or grain, or made
 * different weft_dist calls); -EPERM (called from a thread other than MPI's main
 * thread while MPI gives only MPI_THREAD_FUNNELED: on this rank alone); -EIO; an
 * error starting the global pool (on every rank). */
WEFT_API int weft_dist_par_for(weft_dist *d, size_t lo, size_t hi, size_t grain, weft_range_fn body,
                               void *ctx);

/* Like weft_dist_par_for, with a static split: rank r runs the r-th of `size` blocks
 * of [lo, hi) as equal as can be (lengths differ by at most one), in index order, with
 * weft_par_for on its pool. Which rank runs an index depends only on (lo, hi, size):
 * for bodies that touch rank-local data. A failing body stops its own rank's loop;
 * the other ranks finish their blocks, then every rank returns its status. Returns
 * as weft_dist_par_for. */
WEFT_API int weft_dist_par_for_static(weft_dist *d, size_t lo, size_t hi, size_t grain,
                                      weft_range_fn body, void *ctx);

/* weft_par_reduce across ranks: each rank folds the chunks it takes (as
 * weft_dist_par_for deals and cuts them, grain included) with weft_par_reduce on its
 * pool into one value,
 * then the ranks' values are combined by an MPI reduction built from `combine`
 * (MPI_Op_create); every rank gets the total in *result. Since chunks are dealt by
 * timing, combine must be commutative as well as associative (use the deterministic
 * variant otherwise) and a floating-point result may differ run to run.
 * identity and result as in weft_par_reduce (they may be the same object).
 * Returns 0; a fold's status (every rank, as weft_dist_par_for; result undefined);
 * -EINVAL (d NULL; on any rank: lo > hi, identity, fold, combine or result NULL,
 * result_size 0 or above INT_MAX); -EPROTO (different lo, hi, grain or result_size);
 * -EPERM, -EIO as weft_dist_par_for; -ENOMEM; an error starting the global pool. */
WEFT_API int weft_dist_par_reduce(weft_dist *d, size_t lo, size_t hi, size_t grain, const void *identity,
                                  weft_fold_fn fold, weft_combine_fn combine, void *ctx, void *result,
                                  size_t result_size);

/* Like weft_dist_par_reduce, but bit-identical for any number of ranks and threads
 * and run to run: the result is exactly weft_par_reduce_deterministic(lo, hi, grain,
 * ...)'s on one process. The range is cut as that call cuts it (grain 0: at most
 * 2048 leaves); the top of its tree, at most 4096 subtrees, is dealt to the ranks,
 * each subtree reduced with weft_par_reduce_deterministic; every rank then combines
 * the subtrees' values in the tree's order. combine need only be associative.
 * Returns as weft_dist_par_reduce (-EINVAL also when 4096 x result_size overflows). */
WEFT_API int weft_dist_par_reduce_deterministic(weft_dist *d, size_t lo, size_t hi, size_t grain,
                                                const void *identity, weft_fold_fn fold,
                                                weft_combine_fn combine, void *ctx, void *result,
                                                size_t result_size);

/* out[i] = fn(in[i]) for i < n across ranks (chunks dealt as by weft_dist_par_for,
 * each run with weft_par_map), gathered on rank `root`, or on every rank with
 * WEFT_DIST_ALL. `in` holds all n elements on every rank; `out` holds n elements on
 * the receiving rank(s) and is not touched on the others (it may be NULL there). On a
 * receiving rank in == out is allowed when in_size == out_size. Collective.
 * Returns 0; -EINVAL (d NULL; on any rank: root out of range, in, fn or a receiver's
 * out NULL with n > 0, a size 0, n x size overflowing); -EPROTO (different n, sizes
 * or root); -EPERM, -EIO as weft_dist_par_for; -ENOMEM; an error starting the global
 * pool. */
WEFT_API int weft_dist_par_map(weft_dist *d, const void *in, void *out, size_t n, size_t in_size,
                               size_t out_size, weft_map_fn fn, void *ctx, int root);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_DIST_H */
