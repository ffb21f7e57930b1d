/* scan.c: weft_par_scan, a prefix scan — inclusive or exclusive, as the scan function
 * writes it — whose result depends only on (lo, hi, grain), never on the thread
 * count or the schedule.
 *
 * The range is cut into leaves of g indices (g = grain, or one derived from the
 * length alone; the last leaf shorter): leaf k is [lo + k g, min(lo + (k + 1) g, hi)).
 * The result is defined leaf by leaf, with (+) the combine:
 *   leaf 0 is scanned (final) from the identity, and P_1 is the accumulator it ends
 *   with; for k >= 1, S_k is the fold of leaf k from the identity (scan, not final),
 *   leaf k is scanned (final) from P_k, and P_{k+1} = P_k (+) S_k; the total is the
 *   accumulator the last leaf's final scan ends with (an inclusive scan's last
 *   output, bit for bit, where P_L could differ from it in its last bits).
 * Every output and the total is thus one fixed expression of the inputs, whoever
 * evaluates it: bit-identical on any thread count (the scan function folds its range
 * in index order, and the combines run left to right: only associativity is needed).
 *
 * Evaluation (oneTBB's parallel_scan keeps the pre-scan off the leftmost part the same
 * way, but cuts by scheduling): a *front* walks the leaves in order from leaf 0 —
 * folds S_k, final-scans leaf k from P_k while it is in cache, forms P_{k+1} — so
 * what it takes is read from memory once. The leaf numbers [1, L) are a span
 * (span_internal.h): the front claims from below, one leaf at a time; helpers (the
 * thief of the front's offer, and thieves of each helper's own offer) claim from
 * above, one leaf at a time, and only fold them (S_k into sums[k]). When the front's
 * join returns every leaf is claimed and done: the front stopped at m, where it met
 * the helpers; P_m .. P_{L-1} follow from the front's P_m and the helpers' sums (L - m
 * combines on one thread), then leaves [m, L) are final-scanned in parallel
 * (weft_par_for over leaf numbers). On two threads the front covers about a third of
 * a memory-bound scan (a fold only reads a leaf; a scan also writes one) while the
 * helper folds the rest, and both then scan the rest.
 *
 * Small scans: leaf 0 is scanned on the caller first and timed; when the whole looks
 * short, or the pool has one thread, the front runs alone on the caller without the
 * pool — the same expressions.
 *
 * Invariants: the front and the helpers claim disjoint leaves (one span word); the
 * front's accumulators are its own until its join returns, the helpers' sums reach it
 * through that join; no leaf is final-scanned twice; the identity is copied before
 * the total is first written, so the two may be one object. */
#include "span_internal.h"
#include "splitter_internal.h"

#include <weft/par.h>
#include <weft/sync.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Accumulators up to this size live in the call's frame (four of them). */
#define SCAN_ACC_INLINE 256u
/* Grain 0: leaves of ceil(n / SCAN_LEAVES) indices, within [SCAN_LEAF_MIN,
 * SCAN_LEAF_MAX]. A leaf costs a few calls and a claim (a leaf of SCAN_LEAF_MIN
 * cheap indices a few times that), and the front's scan-then-fold wants what a leaf
 * reads and writes to stay in a core's cache between its two passes: SCAN_LEAF_MAX
 * 8-byte elements in and as many out are 256 KiB. */
#define SCAN_LEAVES 256u
#define SCAN_LEAF_MIN 1024u
#define SCAN_LEAF_MAX 16384u
/* Run the front alone on the caller when the whole scan looks shorter than this. */
#define SCAN_INLINE_NS 20000.0

typedef struct scan_shared {
    weft_scan_fn scan;
    weft_combine_fn combine;
    void *ctx;
    const void *identity; /* the call's private copy */
    size_t size;
    size_t lo, hi, grain, leaves;
    weft_par_span span;   /* leaf numbers [1, leaves) not yet claimed */
    size_t front_end;     /* the front has done leaves [0, front_end) */
    void *prefix;         /* the front's P_k; the total at the end (scan_total) */
    void *fold, *run;     /* the front's S_k and its final-scan accumulator */
    unsigned char *sums;  /* leaves x size: a helper's S_k, then P_k */
    _Atomic int status;
} scan_shared;

static void leaf_range(const scan_shared *sh, size_t k, size_t *b, size_t *e)
{
    *b = sh->lo + k * sh->grain;
    *e = sh->hi - *b > sh->grain ? *b + sh->grain : sh->hi;
}

/* The front on leaf k >= 1: S_k, then the final scan from P_k (the fold first: the
 * outputs may be the inputs), then P_{k+1}. */
static int front_leaf(scan_shared *sh, size_t k)
{
    size_t b, e;
    leaf_range(sh, k, &b, &e);
    memcpy(sh->fold, sh->identity, sh->size);
    int rc = sh->scan(sh->ctx, b, e, sh->fold, false);
    if (rc != 0)
        return rc;
    memcpy(sh->run, sh->prefix, sh->size);
    rc = sh->scan(sh->ctx, b, e, sh->run, true);
    if (rc != 0)
        return rc;
    sh->combine(sh->ctx, sh->prefix, sh->fold);
    sh->front_end = k + 1;
    return 0;
}

static void front_blocks(void *arg, bool migrated)
{
    (void)migrated;
    scan_shared *sh = arg;
    size_t k, end; /* blocks of one leaf: the span's block_max is 1 */
    while (!weft__par_stopped(&sh->status) && weft__par_span_next(&sh->span, &k, &end)) {
        int rc = front_leaf(sh, k);
        if (rc != 0) {
            weft__par_fail(&sh->status, rc);
            return;
        }
    }
}

/* A helper: fold leaves from the top until none is left. */
static void helper_blocks(void *arg, bool migrated)
{
    (void)migrated;
    scan_shared *sh = arg;
    size_t k, end;
    while (!weft__par_stopped(&sh->status) && weft__par_span_pop(&sh->span, 1, &k, &end)) {
        void *acc = sh->sums + k * sh->size;
        memcpy(acc, sh->identity, sh->size);
        size_t b, e;
        leaf_range(sh, k, &b, &e);
        int rc = sh->scan(sh->ctx, b, e, acc, false);
        if (rc != 0) {
            weft__par_fail(&sh->status, rc);
            return;
        }
    }
}

/* An offer of helping: whoever takes it folds from the top and offers again, for a
 * further thread; one popped back by its owner finds nothing left. */
static void helper_offer(void *arg, bool migrated)
{
    (void)migrated;
    scan_shared *sh = arg;
    if (weft__par_stopped(&sh->status) || weft__par_span_left(&sh->span) == 0)
        return;
    int rc = weft_join_context(helper_blocks, sh, helper_offer, sh);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

/* Leaves [b, e) final-scanned from their prefixes in sums. */
static int rest_body(void *arg, size_t b, size_t e)
{
    scan_shared *sh = arg;
    for (size_t k = b; k < e; k++) {
        size_t lb, le;
        leaf_range(sh, k, &lb, &le);
        int rc = sh->scan(sh->ctx, lb, le, sh->sums + k * sh->size, true);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The total: the accumulator of the last leaf's final scan, into sh->prefix. */
static void scan_total(scan_shared *sh)
{
    if (sh->front_end == sh->leaves)
        memcpy(sh->prefix, sh->run, sh->size);
    else
        memcpy(sh->prefix, sh->sums + (sh->leaves - 1) * sh->size, sh->size);
}

/* On a member of the pool: the front beside a helper offer, then the rest. */
static void scan_root(void *arg)
{
    scan_shared *sh = arg;
    int rc = weft_join_context(front_blocks, sh, helper_offer, sh);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
    if (weft__par_stopped(&sh->status))
        return;
    size_t m = sh->front_end; /* the helpers folded [m, leaves) */
    for (size_t k = m; k < sh->leaves; k++) {
        unsigned char *p = sh->sums + k * sh->size;
        memcpy(sh->fold, p, sh->size);         /* S_k */
        memcpy(p, sh->prefix, sh->size);       /* P_k */
        sh->combine(sh->ctx, sh->prefix, sh->fold); /* P_{k+1} */
    }
    if (m < sh->leaves) {
        rc = weft_par_for(m, sh->leaves, 0, rest_body, sh);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
    }
    scan_total(sh);
}

/* Leaves 1 .. L - 1 of the non-empty range, leaf 0 done (sh->prefix = P_1) in t0_ns. */
static int scan_rest(scan_shared *sh, uint64_t t0_ns)
{
    size_t n = sh->hi - sh->lo, len0 = sh->grain < n ? sh->grain : n;
    int threads = weft_pool_num_threads(NULL);
    if (threads < 0)
        return threads;
    weft__par_span_init(&sh->span, 1, sh->leaves, 1);
    /* fold and scan: about twice leaf 0's final scan per leaf */
    double estimate = 2.0 * (double)t0_ns / (double)len0 * (double)n;
    if (threads == 1 || estimate < SCAN_INLINE_NS || sh->leaves - 1 > WEFT_PAR_SPAN_MAX) {
        front_blocks(sh, false);
        /* Relaxed: the same thread wrote it. */
        int rc = atomic_load_explicit(&sh->status, memory_order_relaxed);
        if (rc == 0)
            scan_total(sh);
        return rc;
    }
    if (sh->leaves > SIZE_MAX / sh->size)
        return -ENOMEM;
    sh->sums = malloc(sh->leaves * sh->size);
    if (!sh->sums)
        return -ENOMEM;
    int rc = weft_pool_execute(NULL, scan_root, sh);
    free(sh->sums);
    if (rc != 0)
        return rc;
    /* Relaxed: ordered by the joins' completion (see for.c). */
    return atomic_load_explicit(&sh->status, memory_order_relaxed);
}

int weft_par_scan(size_t lo, size_t hi, size_t grain, const void *identity, weft_scan_fn scan,
                  weft_combine_fn combine, void *ctx, void *total, size_t acc_size)
{
    if (lo > hi || !identity || !scan || !combine || acc_size == 0)
        return -EINVAL;
    size_t n = hi - lo;
    if (n == 0) {
        if (total)
            memmove(total, identity, acc_size);
        return 0;
    }
    /* The identity's copy, P_k, S_k and the final-scan accumulator. */
    alignas(max_align_t) unsigned char inline_bufs[4][SCAN_ACC_INLINE];
    unsigned char *bufs[4] = {inline_bufs[0], inline_bufs[1], inline_bufs[2], inline_bufs[3]};
    unsigned char *heap = NULL;
    if (acc_size > SCAN_ACC_INLINE) {
        size_t stride = (acc_size + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
        if (stride > SIZE_MAX / 4 || !(heap = malloc(4 * stride)))
            return -ENOMEM;
        for (int i = 0; i < 4; i++)
            bufs[i] = heap + (size_t)i * stride;
    }
    memcpy(bufs[0], identity, acc_size);
    if (grain == 0) {
        grain = n / SCAN_LEAVES + (n % SCAN_LEAVES != 0);
        grain = grain < SCAN_LEAF_MIN ? SCAN_LEAF_MIN : grain > SCAN_LEAF_MAX ? SCAN_LEAF_MAX : grain;
    }
    scan_shared sh = {scan, combine, ctx, bufs[0], acc_size, lo, hi, grain,
                      n / grain + (n % grain != 0), {0, 0, 0, 0}, 1, bufs[1], bufs[2], bufs[3], NULL, 0};
    /* Leaf 0, on the caller: P_1. */
    memcpy(sh.prefix, sh.identity, acc_size);
    uint64_t t0 = weft_time_now_ns();
    int rc = scan(ctx, lo, grain < n ? lo + grain : hi, sh.prefix, true);
    uint64_t t = weft_time_now_ns() - t0;
    if (rc == 0 && sh.leaves > 1)
        rc = scan_rest(&sh, t);
    if (rc == 0 && total)
        memcpy(total, sh.prefix, acc_size);
    free(heap);
    return rc;
}
