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
 * Evaluation. Leaf 0 is scanned on the caller first, and timed. On one thread (a
 * one-thread pool, or a scan that looks short) the caller walks the leaves in order:
 * folds S_k, final-scans leaf k from P_k while it is in cache, forms P_{k+1}, so
 * each leaf is read from memory once. On the pool, the leaves [1, L) go in *tiles*
 * of consecutive leaves, one after another: a weft_par_for folds the tile's leaves
 * (S_k into sums[k]), the root forms their P_k in order (one combine per leaf), and
 * a second weft_par_for final-scans them. A tile is about SCAN_TILE_NS of work, so
 * what the fold read is still in the caches (a core's, or the shared last level)
 * when the final scan reads it again: the scan streams its input from memory once,
 * where a fold of the whole range before any final scan streams it twice. (oneTBB's
 * parallel_scan does the whole range in one pre-scan and one final pass.)
 *
 * Invariants: a leaf's S_k, P_k and final accumulator share its slot of sums, in that
 * order, each written by the one thread that runs that leaf in that phase and read
 * after the weft_par_for that wrote it has returned (its join orders them); no leaf
 * is final-scanned twice; the identity is copied before the total is first written,
 * so the two may be one object. */
#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Accumulators up to this size live in the call's frame (four of them). */
#define SCAN_ACC_INLINE 256u
/* Grain 0: leaves of ceil(n / SCAN_LEAVES) indices, within [SCAN_LEAF_MIN,
 * SCAN_LEAF_MAX]. A leaf costs a few calls and a claim (a leaf of SCAN_LEAF_MIN
 * cheap indices a few times that), and the one-thread walk's fold-then-scan wants
 * what a leaf reads and writes to stay in a core's cache between its two passes:
 * SCAN_LEAF_MAX 8-byte elements in and as many out are 256 KiB. */
#define SCAN_LEAVES 256u
#define SCAN_LEAF_MIN 1024u
#define SCAN_LEAF_MAX 16384u
/* Run the leaves on the caller alone when the whole scan looks shorter than this. */
#define SCAN_INLINE_NS 20000.0
/* A tile's work on one thread. Long enough that the two loops a tile costs are a
 * small part of it; short enough that a tile's inputs (a memory-bound scan of
 * 8-byte elements reads a few MiB in this time) stay in the last-level cache from
 * the fold to the final scan (a single tile of a long range reads it twice from
 * memory). */
#define SCAN_TILE_NS 1000000.0

typedef struct scan_shared {
    weft_scan_fn scan;
    weft_combine_fn combine;
    void *ctx;
    const void *identity; /* the call's private copy */
    size_t size;
    size_t lo, hi, grain, leaves;
    size_t tile;          /* leaves per tile, in the pool */
    void *prefix;         /* P_k as the leaves go; the total at the end */
    void *fold, *run;     /* S_k, and the caller's final-scan accumulator */
    unsigned char *sums;  /* leaves x size: S_k, then P_k, then the final accumulator */
    int status;           /* scan_root's, read after its pool_execute returns */
} scan_shared;

static void leaf_range(const scan_shared *sh, size_t k, size_t *b, size_t *e)
{
    *b = sh->lo + k * sh->grain;
    *e = sh->hi - *b > sh->grain ? *b + sh->grain : sh->hi;
}

/* The one-thread walk on leaf k >= 1: S_k, then the final scan from P_k (the fold
 * first: the outputs may be the inputs), then P_{k+1}. */
static int walk_leaf(scan_shared *sh, size_t k)
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
    return 0;
}

/* Leaves [b, e) folded from the identity into their slots of sums (S_k). */
static int fold_body(void *arg, size_t b, size_t e)
{
    scan_shared *sh = arg;
    for (size_t k = b; k < e; k++) {
        void *acc = sh->sums + k * sh->size;
        memcpy(acc, sh->identity, sh->size);
        size_t lb, le;
        leaf_range(sh, k, &lb, &le);
        int rc = sh->scan(sh->ctx, lb, le, acc, false);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Leaves [b, e) final-scanned from their prefixes in sums (P_k). */
static int final_body(void *arg, size_t b, size_t e)
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

/* On a member of the pool: tile after tile, its leaves folded in parallel, their
 * prefixes formed in order on this thread, then its leaves final-scanned in parallel
 * while what the fold read is still in cache. The last leaf's final-scan accumulator
 * (its slot of sums) is the total. */
static void scan_root(void *arg)
{
    scan_shared *sh = arg;
    for (size_t tb = 1; tb < sh->leaves; tb += sh->tile) {
        size_t te = sh->leaves - tb > sh->tile ? tb + sh->tile : sh->leaves;
        int rc = weft_par_for(tb, te, 1, fold_body, sh);
        for (size_t k = tb; rc == 0 && k < te; k++) {
            unsigned char *p = sh->sums + k * sh->size;
            memcpy(sh->fold, p, sh->size);              /* S_k */
            memcpy(p, sh->prefix, sh->size);            /* P_k */
            sh->combine(sh->ctx, sh->prefix, sh->fold); /* P_{k+1} */
        }
        if (rc == 0)
            rc = weft_par_for(tb, te, 1, final_body, sh);
        if (rc != 0) {
            sh->status = rc;
            return;
        }
    }
    memcpy(sh->prefix, sh->sums + (sh->leaves - 1) * sh->size, sh->size);
}

/* Leaves 1 .. L - 1 of the non-empty range, leaf 0 done (sh->prefix = P_1) in t0_ns. */
static int scan_rest(scan_shared *sh, uint64_t t0_ns)
{
    size_t n = sh->hi - sh->lo, len0 = sh->grain < n ? sh->grain : n;
    int threads = weft_pool_num_threads(NULL);
    if (threads < 0)
        return threads;
    /* fold and final scan: about twice leaf 0's final scan per index */
    double ns_per_index = 2.0 * (double)t0_ns / (double)len0;
    if (threads == 1 || ns_per_index * (double)n < SCAN_INLINE_NS) {
        for (size_t k = 1; k < sh->leaves; k++) {
            int rc = walk_leaf(sh, k);
            if (rc != 0)
                return rc;
        }
        memcpy(sh->prefix, sh->run, sh->size);
        return 0;
    }
    double tile = SCAN_TILE_NS / (ns_per_index * (double)sh->grain);
    sh->tile = tile < 2.0 * threads ? 2 * (size_t)threads : tile > (double)sh->leaves ? sh->leaves : (size_t)tile;
    if (sh->leaves > SIZE_MAX / sh->size)
        return -ENOMEM;
    sh->sums = malloc(sh->leaves * sh->size);
    if (!sh->sums)
        return -ENOMEM;
    int rc = weft_pool_execute(NULL, scan_root, sh);
    free(sh->sums);
    return rc != 0 ? rc : sh->status;
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
                      n / grain + (n % grain != 0), 0, bufs[1], bufs[2], bufs[3], NULL, 0};
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
