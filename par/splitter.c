/* splitter.c: the part of par/'s range splitting that is not inline — the probe
 * that runs short adaptive loops on the caller without touching the pool.
 *
 * Invariants: the probe runs chunks strictly left to right on the calling thread and
 * never more than [*lo, hi); it decides "inline" only from measured time, so it can
 * only err towards parallelism for a tiny loop whose first chunks were slowed down
 * (e.g. by a page fault), never run a long loop serially beyond ~1 µs of probing plus
 * a rest it estimated at under PROBE_INLINE_NS; and it sets min_len only from two
 * chunks in a row of the same length that each passed the trust rules (below), or,
 * for the loop this thread last sent to the pool, from that estimate once a chunk of
 * this call confirmed it within PROBE_RECALL_RATIO (probe_recall). */
#include "splitter_internal.h"

#include <weft/sync.h>

/* Run the rest inline when its extrapolated time is below this. A parallel call costs
 * the caller little (it runs its share at once; the workers that are still
 * searching steal the rest within a microsecond or so, and sleeping ones are woken
 * while it works), but not nothing: below a few microseconds, inline wins. */
#define PROBE_INLINE_NS 2000.0
/* The shortest piece worth a steal, by the probe's estimate (a span's min_len; its
 * blocks are up to half that): pieces much shorter than a steal's round trip only
 * add steals, and blocks much shorter than this add claims. */
#define PROBE_LEAF_NS 1000.0
/* Trust a chunk's per-index time (and go parallel) once one chunk of at least
 * PROBE_TRUST_MIN indices took PROBE_TRUST_NS: below it, the clock's own cost
 * dominates the measure, and a single index may have met a page fault or an
 * interrupt. A short chunk (under PROBE_TRUST_MANY indices) must also have taken
 * PROBE_TRUST_LONG_NS: its few cache lines may all have been written last by another
 * core (the previous loop's thief), and one such miss costs a few hundred ns between
 * distant cores — enough to pass PROBE_TRUST_NS and make a cheap loop look 10-100
 * times dearer than it is, cut into tiny blocks. A chunk long in time or in lines is
 * not fooled by one miss. */
#define PROBE_TRUST_NS 50u
#define PROBE_TRUST_MIN 4u
#define PROBE_TRUST_MANY 64u
#define PROBE_TRUST_LONG_NS 1000u
/* A chunk that passed is confirmed by one more of the same length, and the cheaper of
 * the two sets the estimate. One slow chunk is common — the thread preempted, or
 * delayed by the pool's workers starting on its CPU, for microseconds to
 * milliseconds — and trusted it made a cheap loop look thousands of times dearer,
 * cut into blocks of one index (a CAS and a call each: a loop ten times slower than
 * serial). When the second chunk does not pass, the first was such a one-off: the
 * probe goes on growing. The price is one chunk more on the caller. */
/* Each probe chunk is this many times the previous one. */
#define PROBE_GROWTH 4u
/* Recall (below): the checking chunk's length by the remembered estimate and its
 * largest share of the range, and how far (a factor either way) its time may stray
 * from the estimate before the full probe runs. A loop whose rest the estimate puts
 * under PROBE_RECALL_LONG_BELOW_NS gets a check of PROBE_RECALL_LONG_NS instead: the
 * first lines of a call come from farther than L1, before the prefetcher's streams
 * start, so a short first chunk of a cheap loop takes several times the loop's mean
 * per index and would send to the pool a loop that runs faster inline. The bound is
 * several times PROBE_INLINE_NS because the estimate is biased the same way (it came
 * from chunks of 64 indices or fewer, the clock's cost in them): a loop that runs in
 * PROBE_INLINE_NS may be estimated at a few times that. */
#define PROBE_RECALL_NS 100.0
#define PROBE_RECALL_LONG_NS 400.0
#define PROBE_RECALL_LONG_BELOW_NS (8 * PROBE_INLINE_NS)
#define PROBE_RECALL_RATIO 4.0
#define PROBE_RECALL_SHARE 16u

/* The clock's own cost, part of every chunk's time: the least of a few back-to-back
 * reads, measured by the first probe (stored + 1: 0 is not yet). Relaxed: any
 * thread's measure is as good as another's. */
static _Atomic uint32_t clock_cost_plus_1;

static uint64_t clock_cost(void)
{
    uint32_t c = atomic_load_explicit(&clock_cost_plus_1, memory_order_relaxed);
    if (c != 0)
        return c - 1;
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 8; i++) {
        uint64_t a = weft_time_now_ns(), b = weft_time_now_ns();
        best = b - a < best ? b - a : best;
    }
    best = best < UINT32_MAX - 1 ? best : UINT32_MAX - 1;
    atomic_store_explicit(&clock_cost_plus_1, (uint32_t)best + 1, memory_order_relaxed);
    return best;
}

/* A piece worth a steal, by a per-index estimate: PROBE_LEAF_NS of it, within [1, left]. */
static size_t leaf_len(double per_index, size_t left)
{
    double len = PROBE_LEAF_NS / per_index;
    return len < 1.0 ? 1 : len > (double)left ? left : (size_t)len;
}

/* The loop this thread's last probe sent to the pool, and its per-index estimate
 * (fn NULL: none). A program calls the same loop again and again (a time step, a
 * frame, a solver iteration), and the probe's chunks and clock reads delay the
 * offer a thief takes its half from, which a call pays half of. Per thread: no
 * sharing, and a loop's calls come from its thread. */
static _Thread_local struct {
    void (*fn)(void);
    const void *ctx;
    double per_index;
} recall;

/* The remembered loop again: run one chunk of about PROBE_RECALL_NS by the estimate
 * (PROBE_RECALL_LONG_NS for a loop the estimate puts under
 * PROBE_RECALL_LONG_BELOW_NS), but at most a PROBE_RECALL_SHARE-th of the range
 * (should the estimate be stale by far, that bounds what runs here before the pool
 * is asked), timed. When the rest is short by this chunk's rate, it runs inline.
 * Else, within PROBE_RECALL_RATIO of the estimate, the estimate stands (*min_len from
 * it); else *checked is false and the full probe runs on what is left. A loop whose
 * work per index changed under the same function and context is caught here, before
 * its pieces are cut from a stale estimate; after a long check only a loop that got
 * dearer is, since a long chunk measures a cheap loop below its estimate anyway (a
 * loop that got cheaper keeps pieces cut finer than they need be). */
static int probe_recall(size_t *lo, size_t hi, weft_par_leaf_fn leaf, void *arg, uint64_t cost,
                        size_t *min_len, bool *checked)
{
    double est = recall.per_index;
    size_t b = *lo, left = hi - b;
    bool long_check = est * (double)left < PROBE_RECALL_LONG_BELOW_NS;
    double want = (long_check ? PROBE_RECALL_LONG_NS : PROBE_RECALL_NS) / est,
           most = (double)(left / PROBE_RECALL_SHARE);
    size_t n = want > most ? (size_t)most : (size_t)want;
    n = n ? n : 1;
    uint64_t t0 = weft_time_now_ns();
    int rc = leaf(arg, b, b + n);
    uint64_t dt = weft_time_now_ns() - t0;
    *lo = b + n;
    *checked = true;
    if (rc != 0 || *lo == hi)
        return rc;
    double per_index = (double)(dt > 2 * cost ? dt - cost : dt / 2) / (double)n;
    if (per_index * (double)(hi - *lo) < PROBE_INLINE_NS) {
        rc = leaf(arg, *lo, hi);
        *lo = hi;
        return rc;
    }
    if (per_index > est * PROBE_RECALL_RATIO || (!long_check && per_index * PROBE_RECALL_RATIO < est)) {
        *checked = false;
        return 0;
    }
    *min_len = leaf_len(est, hi - *lo);
    return 0;
}

int weft__par_probe(size_t *lo, size_t hi, weft_par_leaf_fn leaf, void *arg, void (*key_fn)(void),
                    const void *key_ctx, size_t *min_len)
{
    uint64_t cost = clock_cost();
    *min_len = 1;
    if (key_fn && recall.fn == key_fn && recall.ctx == key_ctx) {
        bool checked;
        int rc = probe_recall(lo, hi, leaf, arg, cost, min_len, &checked);
        if (rc != 0 || checked)
            return rc;
    }
    recall.fn = NULL;
    size_t b = *lo;
    size_t chunk = 1;
    double passed = 0; /* per-index time of the chunk before, when it passed */
    /* One clock read per chunk: each chunk is timed from the end of the previous. */
    uint64_t t0 = weft_time_now_ns();
    while (b < hi) {
        size_t n = hi - b < chunk ? hi - b : chunk;
        int rc = leaf(arg, b, b + n);
        uint64_t t1 = weft_time_now_ns(), dt = t1 - t0;
        t0 = t1;
        b += n;
        *lo = b;
        if (rc != 0)
            return rc;
        /* The estimate comes from the last chunks alone: the largest so far, so the
         * least skewed by the clock's cost and by whatever slowed an early one. */
        double per_index = (double)dt / (double)n;
        /* Is the rest short? Judged on the chunk's time without the clock's: in a
         * chunk of a cheap loop the clock is half the time, and a loop that runs in a
         * microsecond inline went parallel and took longer. Never below half of dt,
         * so a chunk too short to measure still looks dear. */
        double work = (double)(dt > 2 * cost ? dt - cost : dt / 2);
        if (work / (double)n * (double)(hi - b) < PROBE_INLINE_NS) {
            if (b < hi) {
                rc = leaf(arg, b, hi);
                *lo = hi;
            }
            return rc;
        }
        bool passes = dt >= PROBE_TRUST_NS && n >= PROBE_TRUST_MIN &&
                      (n >= PROBE_TRUST_MANY || dt >= PROBE_TRUST_LONG_NS);
        if (passes && passed > 0) {
            per_index = per_index < passed ? per_index : passed;
            *min_len = leaf_len(per_index, hi - b);
            if (key_fn) {
                recall.fn = key_fn;
                recall.ctx = key_ctx;
                recall.per_index = per_index;
            }
            return 0;
        }
        if (passes) {
            passed = per_index; /* the next chunk, of the same length, confirms it */
            continue;
        }
        passed = 0;
        chunk = chunk > SIZE_MAX / PROBE_GROWTH ? SIZE_MAX : chunk * PROBE_GROWTH;
    }
    return 0;
}
