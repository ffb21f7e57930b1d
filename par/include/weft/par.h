/* weft/par.h: loop parallelism — par_for (1-D and 2-D, and with a state per worker),
 * par_map, par_reduce (and a deterministic variant), par_scan, ordered searches
 * (par_find_first / _last), sorts (comparator, stable, typed keys, records by a key)
 * — built on the runtime's join — and pipelines (weft_pipeline_run), built on its
 * scopes.
 *
 * Every call may be made from any thread: from a pool worker it nests (forks in
 * place); from any other thread it runs on the global pool and blocks until done.
 * Ranges are half-open [lo, hi). Bodies work on whole sub-ranges, so the per-index
 * call cost vanishes; each index is visited exactly once.
 *
 * grain: the minimum chunk. With grain > 0 every sub-range a body gets has a length
 * in [grain, 2 x grain), unless the whole range is shorter than grain (then it is one
 * chunk): OpenMP's schedule(dynamic, chunk), rayon's with_min_len; how a range is cut
 * then depends only on (lo, hi, grain). 0 = adaptive: weft runs short loops (a few
 * µs, measured) inline on the caller, and divides longer ones only when a thread
 * arrives to share them: a thief takes half of what is not yet started (1-D loops)
 * or a tile cut for it (2-D); chunk lengths are then not bounded either way (a 1-D
 * body gets blocks of about half a microsecond by the probe's measure), and a pool
 * of one thread runs the loop as one chunk. Rule of thumb: a
 * loop called from outside a pool is worth parallelising from a few µs of work, as
 * the caller works on it at once; give an explicit grain when you know the per-index
 * cost (grain indices should take ~2-10 µs, as a chunk is one to two grains) or when
 * a body needs a minimum length (vector width, whole cache lines, per-chunk setup).
 *
 * Per-thread scratch (omp_get_thread_num()): bodies of one loop that run at the same
 * time see distinct weft_current_worker_index() + 1 values, below
 * weft_pool_num_threads(NULL) + WEFT_POOL_CALLER_SLOTS + 1 (0 is the caller while
 * it runs short chunks inline, before it enters the pool).
 *
 * Early exit: a body that returns non-zero stops the loop: chunks not yet started are
 * skipped, the call returns that status once every running chunk has returned, and no
 * body runs after the call returns. Use positive statuses to tell them from weft's
 * own negative errors. */
#ifndef WEFT_PAR_H
#define WEFT_PAR_H

#include <weft/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A loop body: process [begin, end). Return 0 to go on, non-zero to stop the loop. */
typedef int (*weft_range_fn)(void *ctx, size_t begin, size_t end);

/* Call body(ctx, b, e) on disjoint sub-ranges that cover [lo, hi) exactly once.
 * Returns 0; the first non-zero status a body returned; -EINVAL (lo > hi, body NULL);
 * or an error starting the global pool. lo == hi is a no-op. */
WEFT_API int weft_par_for(size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx);

/* Per-worker state for weft_par_for_init: init makes one state (*state = it; return
 * 0, or non-zero to stop the loop with that status); a body processes [begin, end)
 * with it; fini undoes one. */
typedef int (*weft_state_init_fn)(void *ctx, void **state);
typedef int (*weft_state_range_fn)(void *ctx, void *state, size_t begin, size_t end);
typedef void (*weft_state_fini_fn)(void *ctx, void *state);

/* weft_par_for whose bodies get a state made at most once per worker per call: a
 * scratch buffer, an RNG, a partial result (rayon's for_each_init, oneTBB's
 * enumerable_thread_specific, OpenMP's private + lastprivate). A state is made by
 * init when the first body runs on a worker (the calling thread counts as one, before
 * and after it enters the pool), and is never given to two bodies at once; each body
 * may update it without locks. After the loop, on the calling thread, fini(ctx, state)
 * sees every state made exactly once (also when the loop stopped early), in no
 * promised order: merge partial results there. fini may be NULL. One exception to
 * "once per worker": a body that makes a parallel call may, while it waits, run
 * another chunk of this loop on its thread; that chunk gets a state of its own.
 * grain as weft_par_for's. Returns 0; the first non-zero status of a body or init;
 * -EINVAL (lo > hi, init or body NULL); -ENOMEM (the per-worker table for more than a
 * few threads, or a nested state's record); an error starting the global pool.
 * lo == hi is a no-op (init is not called). */
WEFT_API int weft_par_for_init(size_t lo, size_t hi, size_t grain, weft_state_init_fn init,
                               weft_state_range_fn body, weft_state_fini_fn fini, void *ctx);

/* A 2-D body: process rows [r0, r1) x columns [c0, c1). */
typedef int (*weft_range2d_fn)(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1);

/* Tiles of [0, rows) x [0, cols), split along the longer side (in grains), each cell
 * covered exactly once (image and matrix loops). An explicit grain is the minimum tile
 * side along its dimension (unless the whole side is shorter); with both grains
 * explicit, each side is in [grain, 2 x grain) as in weft_par_for. Either grain 0
 * makes the loop adaptive (the other, if given, stays a minimum). Returns as
 * weft_par_for; -EINVAL if body is NULL. */
WEFT_API int weft_par_for_2d(size_t rows, size_t cols, size_t row_grain, size_t col_grain,
                             weft_range2d_fn body, void *ctx);

/* An element function: read one in_size element at `in`, write one out_size element
 * at `out`. */
typedef void (*weft_map_fn)(void *ctx, const void *in, void *out);

/* out[i] = fn(in[i]) for i < n (elements of in_size and out_size bytes; the arrays
 * must not overlap unless in == out and in_size == out_size). Returns 0; -EINVAL
 * (in/out/fn NULL with n > 0, a size 0, n * size overflowing); an error starting the
 * global pool. n == 0 is a no-op. */
WEFT_API int weft_par_map(const void *in, void *out, size_t n, size_t in_size, size_t out_size,
                          weft_map_fn fn, void *ctx);

/* Fold [begin, end) into acc (which starts as a copy of the identity). Return 0 to
 * go on, non-zero to stop (as a body). */
typedef int (*weft_fold_fn)(void *ctx, size_t begin, size_t end, void *acc);
/* acc = acc (+) other, where (+) is associative and identity is its neutral element.
 * `acc` holds the left part's value, `other` the right part's. */
typedef void (*weft_combine_fn)(void *ctx, void *acc, const void *other);

/* Fold sub-ranges of [lo, hi) into accumulators of result_size bytes and combine them
 * in a tree; *result gets the total (the identity for an empty range). grain is as
 * weft_par_for's: each fold gets [grain, 2 x grain) indices. combine need only be
 * associative: left and right are never swapped, but how the range is cut depends on
 * scheduling, so a floating-point result may differ run to run.
 * identity and result may overlap, or be the same object (`acc = 0; ... &acc, ...,
 * &acc`): the identity is read once, before result is first written.
 * Returns 0; a fold's non-zero status (result then undefined); -EINVAL (lo > hi,
 * NULL identity/fold/combine/result, result_size 0); -ENOMEM; an error starting the
 * global pool. */
WEFT_API int weft_par_reduce(size_t lo, size_t hi, size_t grain, const void *identity, weft_fold_fn fold,
                             weft_combine_fn combine, void *ctx, void *result, size_t result_size);

/* Like weft_par_reduce, but the cut of the range and the combine tree depend only on
 * (lo, hi, grain) — never on scheduling or the number of threads — so a
 * floating-point sum is bit-identical on 1, 2 or 64 threads and run to run (TBB's
 * parallel_deterministic_reduce). grain 0 picks a grain from the range length alone. */
WEFT_API int weft_par_reduce_deterministic(size_t lo, size_t hi, size_t grain, const void *identity,
                                           weft_fold_fn fold, weft_combine_fn combine, void *ctx,
                                           void *result, size_t result_size);

/* A scan function: fold [begin, end) into acc in index order (acc = acc (+) x_begin
 * (+) ... (+) x_(end-1)), the same way whether final or not. When final, acc enters
 * holding the combine of everything before begin, and the function also writes the
 * outputs of [begin, end): an inclusive scan writes out[i] after folding x_i, an
 * exclusive one before. When not final, acc enters as a copy of the identity and no
 * output may be written (the range is scanned again later). Return 0 to go on,
 * non-zero to stop (as a body). */
typedef int (*weft_scan_fn)(void *ctx, size_t begin, size_t end, void *acc, bool final);

/* A parallel prefix scan of [lo, hi) (oneTBB's parallel_scan, OpenMP 5's scan
 * directive, std::inclusive_scan / exclusive_scan): the outputs scan writes with
 * `final` and, if total is not NULL, *total = the combine of the whole range as the
 * last index's final scan leaves it (an inclusive scan's last output; the identity
 * for an empty range). Accumulators are acc_size bytes; combine (acc = acc (+)
 * other, acc the left part) need only be associative. The range is cut into leaves
 * of `grain` indices (0: a length derived from hi - lo alone); each output and the
 * total are one fixed expression of the inputs per (lo, hi, grain), so a
 * floating-point scan is bit-identical on 1, 2 or 64 threads and run to run. Every
 * leaf but the first is scanned twice (once not final, once final, the second while
 * the first's reads are still in cache): a scan costs two passes of the scan
 * function where a serial loop makes one. identity and total may overlap (the
 * identity is read once, first); the outputs may be the inputs (a leaf's outputs are
 * written only by its final scan, after its other scan). Returns 0; a scan's non-zero status
 * (outputs and total then undefined); -EINVAL (lo > hi, NULL identity/scan/combine,
 * acc_size 0); -ENOMEM (accumulators over 256 bytes, or one per leaf); an error
 * starting the global pool. */
WEFT_API int weft_par_scan(size_t lo, size_t hi, size_t grain, const void *identity, weft_scan_fn scan,
                           weft_combine_fn combine, void *ctx, void *total, size_t acc_size);

/* Ordered search: what a search function returns when its range holds no match. No
 * index equals it (an index is below hi <= SIZE_MAX). */
#define WEFT_NOT_FOUND SIZE_MAX

/* A search function: the smallest index in [begin, end) that matches (for
 * weft_par_find_first; the largest, for weft_par_find_last), or WEFT_NOT_FOUND. It
 * sees only whole sub-ranges, so the per-index test is the caller's inline code. */
typedef size_t (*weft_find_fn)(void *ctx, size_t begin, size_t end);

/* *index = the smallest index in [lo, hi) that matches, by find called on disjoint
 * sub-ranges (rayon's find_first / position_first), or WEFT_NOT_FOUND if none does.
 * The answer does not depend on scheduling or the thread count. Every thread takes
 * the next sub-range in index order (from lo up), so the lowest indices are searched
 * first on any number of threads; once a match is known no sub-range above it is
 * started, and the call returns when the sub-ranges being searched are done. grain:
 * sub-ranges of [grain, 2 x grain) indices; 0 = adaptive (sub-ranges of a few µs, by
 * measure). Returns 0 (found or not); -EINVAL (lo > hi, find or index NULL); -ERANGE
 * (find returned an index outside the sub-range it was given); an error starting the
 * global pool. On an error *index is WEFT_NOT_FOUND (when index is not NULL).
 * lo == hi: WEFT_NOT_FOUND. */
WEFT_API int weft_par_find_first(size_t lo, size_t hi, size_t grain, weft_find_fn find, void *ctx,
                                 size_t *index);
/* The same from the top: the largest matching index (rayon's find_last /
 * position_last); sub-ranges are taken from hi down, and find returns the largest
 * match of its sub-range. */
WEFT_API int weft_par_find_last(size_t lo, size_t hi, size_t grain, weft_find_fn find, void *ctx,
                                size_t *index);

/* qsort's comparator. */
typedef int (*weft_cmp_fn)(const void *a, const void *b);

/* Scratch memory of the sorts below that use it: a buffer of 4 MiB or more is not
 * freed when its sort returns but kept for the next sort (one buffer at most, in the
 * whole process), its pages marked lazily free (MADV_FREE: the kernel takes them back
 * when it needs memory, and until then the next sort reuses them without faulting
 * them in again). Faulting in fresh scratch can cost as much as the sort, so a program
 * that sorts again and again pays it once; its first large sort pays it in full. */

/* Sort n elements of `size` bytes in place, like qsort (unstable; allocates nothing).
 * Returns 0; -EINVAL (base NULL with n > 0, size 0, cmp NULL, n * size overflowing);
 * an error starting the global pool. */
WEFT_API int weft_par_sort(void *base, size_t n, size_t size, weft_cmp_fn cmp);
/* The same, stable (equal elements keep their order). Uses n * size bytes of scratch
 * memory: -ENOMEM if it cannot be had (the input is then untouched). */
WEFT_API int weft_par_sort_stable(void *base, size_t n, size_t size, weft_cmp_fn cmp);
/* Typed fast paths: ascending order of unsigned keys. Returns 0, -EINVAL (NULL with
 * n > 0, n * key size overflowing), -ENOMEM (scratch of n keys), or an error starting
 * the global pool. */
WEFT_API int weft_par_sort_u64(uint64_t *keys, size_t n);
WEFT_API int weft_par_sort_u32(uint32_t *keys, size_t n);

/* A key function: the sort key of the element at `elem`. */
typedef uint64_t (*weft_key_u64_fn)(const void *elem);
typedef uint32_t (*weft_key_u32_fn)(const void *elem);

/* Sort n elements of `size` bytes in place, stably, in ascending order of the
 * unsigned key that key returns for each (rayon's par_sort_by_cached_key): key is
 * called exactly once per element, then a radix sort on the keys moves each element
 * twice — where a comparator sort makes ~n log2 n calls. Uses scratch memory of n *
 * size bytes plus 24 bytes per element (32 from 2^32 elements on). Returns 0;
 * -EINVAL (base NULL with n > 0, size 0, key NULL, n * size overflowing); -ENOMEM
 * (the scratch could not be had: the input is then untouched); an error starting the
 * global pool. */
WEFT_API int weft_par_sort_by_u64_key(void *base, size_t n, size_t size, weft_key_u64_fn key);
WEFT_API int weft_par_sort_by_u32_key(void *base, size_t n, size_t size, weft_key_u32_fn key);

/* ------------------------------------------------------------------------------
 * Pipeline (oneTBB's parallel_pipeline): items made one at a time by the first stage
 * flow through the others, each item through every stage in order, different items in
 * different stages at once, on the pool's workers (the current pool, or the global
 * one from outside a pool). */

typedef enum weft_pipeline_kind {
    WEFT_PIPELINE_SERIAL_IN_ORDER = 1,     /* one item at a time, in production order */
    WEFT_PIPELINE_SERIAL_OUT_OF_ORDER = 2, /* one item at a time, any order */
    WEFT_PIPELINE_PARALLEL = 3,            /* any number of items at once */
} weft_pipeline_kind;

/* A stage: given the item (*item), work on it, maybe replace it (*item = another
 * pointer), and return 0, or a non-zero status that ends the pipeline (the stage then
 * keeps the item: release it before returning). The first stage is given *item ==
 * NULL and makes the next item: it sets *item and returns 0, or returns 0 leaving
 * *item NULL to say there are no more (the pipeline then finishes the items already
 * made and ends). */
typedef int (*weft_pipeline_fn)(void *ctx, void **item);
/* What an item that will not enter the stage is given to, once the pipeline is ending
 * on an error (NULL: nothing is called). */
typedef void (*weft_pipeline_cleanup_fn)(void *ctx, void *item);

typedef struct weft_pipeline_stage {
    weft_pipeline_kind kind;          /* the first stage is called one item at a time,
                                         whatever its kind */
    weft_pipeline_fn fn;
    weft_pipeline_cleanup_fn cleanup; /* NULL: none */
} weft_pipeline_stage;

/* Run the pipeline stages[0..nstages) with ctx until the first stage says there are
 * no more items (then every item made goes through every stage) or a stage fails
 * (then no item is made any more, the items in flight finish the stage they are in,
 * and each is given to the cleanup of the next stage it would have entered: every
 * item made is finished or cleaned up, exactly once). At most max_tokens items are
 * alive at once (made and not yet through the last stage or cleaned up): a bound on
 * memory, and on parallelism. Serial in-order stages see the items in the order the
 * first stage made them. No stage runs after the call returns. Returns 0, the first
 * non-zero status a stage returned, -EINVAL (stages NULL, nstages 0, max_tokens 0, a
 * stage with a NULL fn or a kind not in weft_pipeline_kind), -ENOMEM (state for
 * max_tokens items could not be allocated: nothing ran), or an error starting the
 * global pool. */
WEFT_API int weft_pipeline_run(const weft_pipeline_stage *stages, size_t nstages, size_t max_tokens,
                               void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_PAR_H */
