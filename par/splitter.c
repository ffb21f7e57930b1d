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
 * this call confirmed it within PROBE_RECALL_RATIO (probe_recall). For that loop, at
 * one length and an estimate under OUTCOME_MAX_NS, a way (inline or the pool) whose
 * whole calls were timed clearly faster than the other's is taken (outcomes, below);
 * the way not taken is timed again now and then, so a choice that stopped being
 * right is undone. */
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
    /* Outcomes, for calls of `len` indices (0: none kept): a moving mean of a whole
     * call's time each way (WAY_INLINE, WAY_POOL) over `n` counted calls; the way the
     * previous call went; the way chosen (WAY_ANY: the check decides; WAY_NONE: to be
     * set again); the way being tried, for `trying` more calls; the calls until it
     * is tried again; the calls so far. */
    size_t len;
    double ns[2];
    unsigned n[2];
    int last, choice, retry_way;
    unsigned until_retry, trying, calls;
    uint64_t retry_at; /* and not before then (weft_time_now_ns) */
} recall;

/* A call on its way to the pool, timed until weft__par_probe_report (fn NULL: none). */
typedef struct probe_pending {
    void (*fn)(void);
    const void *ctx;
    size_t len;
    uint64_t t0;
    bool counts; /* it went the way the call before it did */
} probe_pending;
static _Thread_local probe_pending pending;

/* Outcomes. The estimate cannot tell which way a call of a few microseconds runs
 * faster: a loop of 4096 indices may gain from a second thread (a sum) or lose (a
 * triad, whose indices take a third of a sum's time), and the cost of handing half a
 * loop to another core moves several-fold with where the two cores sit (the same two
 * virtual CPUs from one minute to the next, or two sockets) — a few hundred
 * nanoseconds, or a few microseconds. So a remembered loop whose estimate is under
 * OUTCOME_MAX_NS has its calls timed whole, each way, per length (one call in
 * OUTCOME_SAMPLE_EVERY, every call while a way has no time yet). A way whose mean is
 * below OUTCOME_CLEAR of the other's is taken; between the two, the check decides,
 * as before: ways that close are not told apart by samples taken at different
 * moments of a machine whose speed moves by more than that, and switching on noise
 * cost more than it won. The way not taken is tried again (two calls) after
 * OUTCOME_RETRY calls, or more when it was slower by far (its cost then stays near
 * OUTCOME_RETRY_COST of the calls' time), and after OUTCOME_RETRY_NS at the soonest
 * (a pool call leaves the workers searching; tried every 64 calls of a microsecond,
 * they would never sleep). The first call after a change of way is not counted: it
 * pays for waking workers, or for the lines the other way left in another cache. A
 * sample counts for at most OUTCOME_CLIP times the mean (a call preempted for
 * milliseconds would outweigh a thousand). */
#define OUTCOME_MAX_NS (8 * PROBE_INLINE_NS)
#define OUTCOME_CLEAR 0.67
#define OUTCOME_RETRY 64u
#define OUTCOME_RETRY_MAX 4096u
#define OUTCOME_RETRY_COST 0.005
#define OUTCOME_RETRY_NS 4000000u
#define OUTCOME_CLIP 4.0
/* One call in this many is timed (two clock reads are a few percent of a call of a
 * microsecond), and a pool call chosen by outcomes checks the estimate (probe_recall)
 * only then: the check runs before the offer, and a loop that changed is caught soon
 * enough. */
#define OUTCOME_SAMPLE_EVERY 8u
enum { WAY_NONE = -2, WAY_ANY = -1, WAY_INLINE = 0, WAY_POOL = 1 };

/* The way this call of the remembered loop goes: WAY_ANY lets the check decide.
 * *now: the time when this call is timed (a first call at a new length, one a way
 * has no time yet, a retry, one in OUTCOME_SAMPLE_EVERY), else 0. */
static int outcome_way(size_t len, uint64_t *now)
{
    *now = 0;
    if (recall.per_index * (double)len >= OUTCOME_MAX_NS) {
        recall.len = 0; /* long: the pool, as the estimate says; nothing kept */
        return WAY_ANY;
    }
    if (recall.len != len) {
        recall.len = len;
        recall.n[WAY_INLINE] = recall.n[WAY_POOL] = 0;
        recall.last = WAY_ANY;
        recall.choice = WAY_NONE;
        recall.trying = 0;
        recall.retry_at = 0;
        *now = weft_time_now_ns();
        return WAY_ANY;
    }
    recall.calls++;
    if (recall.n[WAY_INLINE] == 0 || recall.n[WAY_POOL] == 0) { /* time the way not timed yet */
        *now = weft_time_now_ns();
        return recall.n[WAY_INLINE] + recall.n[WAY_POOL] == 0 ? WAY_ANY
               : recall.n[WAY_INLINE] == 0                     ? WAY_INLINE
                                                               : WAY_POOL;
    }
    if (recall.trying) {
        recall.trying--;
        *now = weft_time_now_ns();
        return recall.retry_way;
    }
    double inl = recall.ns[WAY_INLINE], pool = recall.ns[WAY_POOL];
    int choice = inl < OUTCOME_CLEAR * pool ? WAY_INLINE : pool < OUTCOME_CLEAR * inl ? WAY_POOL : WAY_ANY;
    if (choice != recall.choice) {
        /* Retry after enough calls that two calls the slower way cost the share. */
        double extra = (inl > pool ? inl / pool : pool / inl) - 1.0;
        double calls = 2.0 * extra / OUTCOME_RETRY_COST;
        recall.until_retry = calls < OUTCOME_RETRY       ? OUTCOME_RETRY
                             : calls > OUTCOME_RETRY_MAX ? OUTCOME_RETRY_MAX
                                                         : (unsigned)calls;
        recall.choice = choice;
    }
    if (recall.until_retry > 1)
        recall.until_retry--;
    if (recall.calls % OUTCOME_SAMPLE_EVERY != 0)
        return choice;
    *now = weft_time_now_ns();
    if (recall.until_retry <= 1 && *now >= recall.retry_at) {
        /* The way not taken: the other one, or, where the check decides, the one it
         * did not take last. */
        int taken = choice != WAY_ANY ? choice : recall.last;
        recall.retry_way = taken == WAY_INLINE ? WAY_POOL : WAY_INLINE;
        recall.until_retry = OUTCOME_RETRY;
        recall.retry_at = *now + OUTCOME_RETRY_NS;
        recall.trying = 1;        /* this call and the next: the first is not counted */
        recall.choice = WAY_NONE; /* the interval is set again from the new means */
        return recall.retry_way;
    }
    return choice;
}

/* A tracked call goes `way`: true when the call before it went the same way (only
 * then is its time counted). */
static bool outcome_taken(int way)
{
    bool same = way == recall.last;
    recall.last = way;
    return same;
}

/* A counted call of the remembered loop of `len` indices went `way` and took ns
 * (outcome_taken said it counts). */
static void outcome_note(int way, size_t len, uint64_t ns)
{
    if (recall.len != len)
        return;
    double *mean = &recall.ns[way], t = (double)ns;
    if (recall.n[way] == 0) {
        *mean = t;
    } else {
        t = t < OUTCOME_CLIP * *mean ? t : OUTCOME_CLIP * *mean;
        *mean += (t - *mean) / 8.0;
    }
    recall.n[way]++;
    if (way == WAY_INLINE && *mean >= OUTCOME_MAX_NS) {
        /* The loop got long: its rate becomes the estimate, which takes it out of
         * outcomes and to the pool (after a check) from the next call on. */
        double per_index = *mean / (double)len;
        recall.per_index = per_index > recall.per_index ? per_index : recall.per_index;
        recall.len = 0;
    }
}

/* A call ran inline, whole: time it if timed (t0 != 0) and counted. */
static void outcome_ran_inline(size_t len, uint64_t t0)
{
    if (outcome_taken(WAY_INLINE) && t0)
        outcome_note(WAY_INLINE, len, weft_time_now_ns() - t0);
}

void weft__par_probe_report(void (*key_fn)(void), const void *key_ctx)
{
    /* A probe in between (a nested loop, which may have replaced the recalled one)
     * cleared pending. */
    if (pending.fn != key_fn || pending.ctx != key_ctx)
        return;
    pending.fn = NULL;
    if (pending.counts)
        outcome_note(WAY_POOL, pending.len, weft_time_now_ns() - pending.t0);
}

/* The remembered loop again: run one chunk of about PROBE_RECALL_NS by the estimate
 * (PROBE_RECALL_LONG_NS for a loop the estimate puts under
 * PROBE_RECALL_LONG_BELOW_NS), but at most a PROBE_RECALL_SHARE-th of the range
 * (should the estimate be stale by far, that bounds what runs here before the pool
 * is asked), timed. When the rest is short by this chunk's rate, it runs inline.
 * (Not when outcomes chose the pool: !may_inline.)
 * Else, within PROBE_RECALL_RATIO of the estimate, the estimate stands (*min_len from
 * it); else *checked is false and the full probe runs on what is left. A loop whose
 * work per index changed under the same function and context is caught here, before
 * its pieces are cut from a stale estimate; after a long check only a loop that got
 * dearer is, since a long chunk measures a cheap loop below its estimate anyway (a
 * loop that got cheaper keeps pieces cut finer than they need be). */
static int probe_recall(size_t *lo, size_t hi, weft_par_leaf_fn leaf, void *arg, uint64_t cost,
                        size_t *min_len, bool *checked, bool may_inline)
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
    if (may_inline && per_index * (double)(hi - *lo) < PROBE_INLINE_NS) {
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
    pending.fn = NULL;
    if (key_fn && recall.fn == key_fn && recall.ctx == key_ctx) {
        size_t len = hi - *lo;
        uint64_t t0; /* != 0: this call is timed */
        int way = outcome_way(len, &t0), rc = 0;
        bool tracked = recall.len == len;
        bool checked = true;
        if (way == WAY_INLINE) {
            rc = leaf(arg, *lo, hi);
            *lo = hi;
        } else if (way == WAY_POOL && !t0) {
            *min_len = leaf_len(recall.per_index, len);
        } else {
            rc = probe_recall(lo, hi, leaf, arg, cost, min_len, &checked, way != WAY_POOL);
        }
        if (rc != 0 || !checked) {
            recall.last = WAY_ANY; /* the loop stopped, or a full probe follows */
            if (rc != 0)
                return rc;
        } else {
            if (tracked && *lo == hi) {
                outcome_ran_inline(len, t0);
            } else if (tracked) { /* to the pool: timed until weft__par_probe_report */
                bool counts = outcome_taken(WAY_POOL);
                if (t0)
                    pending = (probe_pending){key_fn, key_ctx, len, t0, counts};
            }
            return 0;
        }
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
                recall.len = 0;
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
