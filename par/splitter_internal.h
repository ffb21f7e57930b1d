/* splitter_internal.h: what par/'s loops share — the adaptive range splitter, the
 * inline probe that keeps short loops off the pool and the early-exit status word.
 * Not installed. Like the sorts, a loop enters the pool once with the runtime's
 * weft_pool_execute(NULL, ...) and sizes itself by weft_pool_num_threads(NULL) (the
 * same pool: the caller's own on a worker, else the global one).
 *
 * Invariants: a splitter is owned by one job (copied into each half when it splits,
 * never shared), so it needs no atomics; the status word is the only state the halves
 * of one loop share, and it only ever goes from 0 to one non-zero value. */
#ifndef WEFT_PAR_SPLITTER_INTERNAL_H
#define WEFT_PAR_SPLITTER_INTERNAL_H

#include <weft/par.h>
#include <weft/runtime.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Decides whether a range is worth cutting in two (rayon's Splitter + LengthSplitter).
 * grain > 0: split while the length is at least 2 x grain (independent of
 * scheduling). Cuts are at the midpoint, so both halves are at least grain long and a
 * leaf is in [grain, 2 x grain): grain is a minimum chunk, as OpenMP's
 * schedule(dynamic, chunk) and rayon's with_min_len, which users rely on for vector
 * width, whole cache lines or per-chunk setup. (Cutting while longer than grain would
 * give leaves in (grain / 2, grain]: a maximum, not the minimum those users port.)
 * grain == 0 (adaptive; used by 2-D tiles only: adaptive 1-D loops are cut when a
 * thief arrives, span_internal.h): split while `splits` > 0, halving it each time; a
 * half that migrated (was stolen) resets splits to max(base, splits / 2), so stolen
 * work is cut again to feed the thieves. Never cuts a range shorter than 2.
 *
 * base = WEFT_SPLITS_PER_THREAD x threads, rounded up to a power of two (rayon uses
 * 1 x threads). With 1, two workers cut a loop into 4 tiles; a worker that runs out
 * can only steal tiles not yet started, so when the cost is uneven (a Mandelbrot
 * zoom whose first half of rows holds most of the work) the last tile runs alone and
 * the loop is no better balanced than OpenMP's schedule(static). With 4, a loop is
 * cut into 8 x threads tiles, so at most ~1/8 of a worker's share is left for one
 * worker at the end; the price is a few more joins per loop (tens of ns each), on
 * loops that the probe already found long enough to be worth the pool. */
#define WEFT_SPLITS_PER_THREAD 4u
typedef struct weft_splitter {
    size_t splits;
    size_t base; /* the splits budget a loop (or a stolen half) starts with */
    size_t threads;
    size_t grain;
} weft_splitter;

/* base is WEFT_SPLITS_PER_THREAD x threads rounded up to a power of two: halving
 * 2^k reaches 0 after k + 1 cuts, so a loop makes at least 2 x base leaves on any
 * thread count. (Unrounded, 12 on 3 threads halves 12, 6, 3, 1: 16 leaves, not 24,
 * whenever no steal added cuts, as on a loaded machine.) */
static inline void weft__splitter_init(weft_splitter *s, size_t grain, size_t threads)
{
    s->grain = grain;
    s->threads = threads ? threads : 1;
    size_t want = s->threads * WEFT_SPLITS_PER_THREAD;
    s->base = 1;
    while (s->base < want && s->base <= SIZE_MAX / 2)
        s->base *= 2;
    s->splits = s->base;
}

/* Can a range of `len` be cut at its midpoint into halves of at least `grain` (> 0)?
 * len / 2 is the shorter half; no 2 x grain, which could overflow. */
static inline bool weft__par_cuttable(size_t len, size_t grain)
{
    return len / 2 >= grain;
}

/* Should a range of `len` be cut in two? Updates s for the halves (both get a copy). */
static inline bool weft__splitter_try(weft_splitter *s, size_t len, bool migrated)
{
    if (s->grain)
        return weft__par_cuttable(len, s->grain);
    if (len < 2)
        return false;
    if (migrated) {
        size_t half = s->splits / 2;
        s->splits = half > s->base ? half : s->base;
        return true;
    }
    if (s->splits == 0)
        return false;
    s->splits /= 2;
    return true;
}

/* A leaf of a probe: process [b, e) on the calling thread; 0 or a stop status. */
typedef int (*weft_par_leaf_fn)(void *arg, size_t b, size_t e);

/* The small-loop guard of adaptive loops: run leading chunks of [*lo, hi) inline on
 * the caller (1, 4, 16, ... indices), timing them; once the extrapolated time of the
 * rest is short run the rest inline too. Returns the first non-zero status of a leaf
 * (then stops), else 0. *lo is advanced past what ran: *lo == hi means done;
 * otherwise the rest is long enough to be worth the pool, and *min_len is how many
 * indices make a piece worth a steal by the same estimate (>= 1: a span's min_len,
 * span_internal.h). key_fn and key_ctx name the user's loop (its function and context;
 * NULL key_fn: none): when this thread's last probe that went parallel was of the same
 * loop, one short chunk checks its estimate instead of the whole probe, and calls of
 * a few microseconds go the way that ran them faster (splitter.c, outcomes). A keyed
 * call that went to the pool and succeeded calls weft__par_probe_report, with the
 * same key, when it is done. */
int weft__par_probe(size_t *lo, size_t hi, weft_par_leaf_fn leaf, void *arg, void (*key_fn)(void),
                    const void *key_ctx, size_t *min_len);
void weft__par_probe_report(void (*key_fn)(void), const void *key_ctx);

/* weft_par_for, ordered, with a moving upper limit (for.c): every thread claims the
 * next block in index order (with a grain: blocks of the grain; else claims that
 * grow to ORDERED_CLAIM_NS each), a block that starts at or above *limit is not run,
 * and a thread stops at the first such block. The bodies may lower *limit while the
 * loop runs (never raise it). The ordered searches (find.c) run on it: a match makes
 * every later index unable to win. limit NULL: no limit, the plain weft_par_for. */
int weft__par_for_below(size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx,
                        _Atomic size_t *limit);

/* The early-exit word: 0 while all goes well, else the first non-zero status. */
static inline bool weft__par_stopped(_Atomic int *status)
{
    /* Relaxed: a hint only — chunks skip work once some chunk failed. The status
     * carries no data, and the final read after the joins is ordered by the joins'
     * completion (their latches), not by this load. */
    return atomic_load_explicit(status, memory_order_relaxed) != 0;
}

static inline void weft__par_fail(_Atomic int *status, int rc)
{
    int expected = 0;
    /* Relaxed: first non-zero wins; no data is published with it (see above). */
    atomic_compare_exchange_strong_explicit(status, &expected, rc, memory_order_relaxed,
                                            memory_order_relaxed);
}

#endif /* WEFT_PAR_SPLITTER_INTERNAL_H */
