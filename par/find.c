/* find.c: weft_par_find_first and weft_par_find_last, ordered searches — the smallest
 * (largest) index whose predicate holds, on the loop with a moving limit of for.c.
 *
 * Both search positions [0, n): find_first's position p is index lo + p, find_last's
 * is hi - 1 - p, so in both the answer is the smallest matching position, and the
 * ordered loop over positions runs the most promising indices first (every thread
 * claims the next positions in order). The limit is the best position found so far:
 * a chunk at or above it cannot hold a better answer and is not run.
 *
 * Invariants: the limit only moves down (a CAS loop that stores only smaller
 * values); every position below the final limit was searched by some chunk (the loop
 * skips only chunks at or above the limit of the moment, which is never below the
 * final one), so the final limit is the smallest matching position whatever the
 * schedule: the answer does not depend on the thread count. */
#include "splitter_internal.h"

#include <weft/par.h>

typedef struct find_state {
    weft_find_fn find;
    void *ctx;
    size_t lo, hi;
    bool last;            /* positions count down from hi - 1 */
    _Atomic size_t best;  /* the smallest matching position so far; SIZE_MAX: none */
} find_state;

/* Positions [pb, pe) as a range of indices. */
static void find_range(const find_state *f, size_t pb, size_t pe, size_t *b, size_t *e)
{
    if (f->last) {
        *b = f->hi - pe;
        *e = f->hi - pb;
    } else {
        *b = f->lo + pb;
        *e = f->lo + pe;
    }
}

static int find_body(void *arg, size_t pb, size_t pe)
{
    find_state *f = arg;
    /* Relaxed: a hint (see for.c's limit); the caller reads the final value after the
     * loop's joins. Checked here too because the probe (splitter.c) runs chunks
     * without the loop's own limit test. */
    size_t best = atomic_load_explicit(&f->best, memory_order_relaxed);
    if (pb >= best)
        return 0;
    size_t b, e;
    find_range(f, pb, pe, &b, &e);
    size_t at = f->find(f->ctx, b, e);
    if (at == WEFT_NOT_FOUND)
        return 0;
    if (at < b || at >= e)
        return -ERANGE;
    size_t pos = f->last ? f->hi - 1 - at : at - f->lo;
    /* Relaxed: the value is the whole message (see above). */
    while (pos < best && !atomic_compare_exchange_weak_explicit(&f->best, &best, pos, memory_order_relaxed,
                                                                memory_order_relaxed)) {
    }
    return 0;
}

static int find(size_t lo, size_t hi, size_t grain, weft_find_fn fn, void *ctx, size_t *index, bool last)
{
    if (!index)
        return -EINVAL;
    *index = WEFT_NOT_FOUND;
    if (lo > hi || !fn)
        return -EINVAL;
    if (lo == hi)
        return 0;
    find_state f = {fn, ctx, lo, hi, last, SIZE_MAX};
    int rc = weft__par_for_below(0, hi - lo, grain, find_body, &f, &f.best);
    if (rc != 0)
        return rc;
    /* Relaxed: every chunk finished before the loop returned (its joins' latches). */
    size_t pos = atomic_load_explicit(&f.best, memory_order_relaxed);
    if (pos != SIZE_MAX)
        *index = last ? hi - 1 - pos : lo + pos;
    return 0;
}

int weft_par_find_first(size_t lo, size_t hi, size_t grain, weft_find_fn find_fn, void *ctx, size_t *index)
{
    return find(lo, hi, grain, find_fn, ctx, index, false);
}

int weft_par_find_last(size_t lo, size_t hi, size_t grain, weft_find_fn find_fn, void *ctx, size_t *index)
{
    return find(lo, hi, grain, find_fn, ctx, index, true);
}
