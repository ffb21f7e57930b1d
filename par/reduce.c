/* reduce.c: weft_par_reduce and weft_par_reduce_deterministic — fold leaves into
 * accumulators, combine left (+) right up the join tree.
 *
 * Invariants: the identity is read once, into a private copy, before anything writes
 * the result, so the two may overlap (`acc = 0; reduce(..., &acc, ..., &acc)` is the
 * natural way to write a reduce); every accumulator starts as a copy of that copy,
 * never of the caller's bytes, which writes to the result may have changed. A cut
 * node's left half keeps folding into the node's own accumulator and its right half
 * into a fresh one, and after the join the node does acc = acc (+) right — left and
 * right are never swapped, so only associativity is needed. The deterministic variant cuts with a
 * fixed grain (explicit, or derived from the length alone) and no probe, so its tree
 * — and hence a floating-point result — depends only on (lo, hi, grain). Accumulators
 * of up to ACC_INLINE bytes live in the node's stack frame (the identity's copy in
 * the call's); larger ones are malloc'd and freed by the node (or call) that made
 * them (-ENOMEM stops the loop, nothing leaks).
 * The deterministic variant keeps small reduces off the pool without changing the
 * tree: it folds the tree's leftmost leaf first on the caller (that leaf folds into
 * the result in every evaluation order), times it, and if the whole tree looks short
 * evaluates the same tree serially (left, then right, then combine) on the caller;
 * either way the leftmost leaf is marked done and not folded twice. */
#include "span_internal.h"
#include "splitter_internal.h"

#include <weft/par.h>
#include <weft/sync.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Accumulators up to this size sit on the stack (one per cut, ~log2(n) deep). */
#define ACC_INLINE 256u
/* Deterministic grain 0: a grain of ceil(len / DET_LEAVES) indices, so at most
 * DET_LEAVES leaves (a leaf holds at least a grain) and, on a long range, more than
 * about DET_LEAVES / 2 (a leaf holds under two grains). */
#define DET_LEAVES 2048u
/* Deterministic: evaluate the tree on the caller when its estimate is below this. */
#define DET_INLINE_NS 20000.0

typedef struct red_shared {
    const void *identity;
    weft_fold_fn fold;
    weft_combine_fn combine;
    void *ctx;
    size_t size;
    bool serial; /* evaluate the tree on the calling thread: no joins */
    _Atomic int status;
} red_shared;

/* A fresh accumulator holding the identity: buf (ACC_INLINE bytes, the caller's frame)
 * when it fits, else malloc'd (free it when != buf). NULL, with the loop stopped by
 * -ENOMEM, when the allocation fails. */
static void *acc_fresh(red_shared *sh, unsigned char *buf)
{
    void *acc = sh->size <= ACC_INLINE ? buf : malloc(sh->size);
    if (!acc) {
        weft__par_fail(&sh->status, -ENOMEM);
        return NULL;
    }
    memcpy(acc, sh->identity, sh->size);
    return acc;
}

typedef struct red_job {
    red_shared *sh;
    weft_splitter sp;
    size_t lo, hi;
    void *acc;
    bool first_done; /* on the leftmost path, whose leaf was folded already */
} red_job;

static void red_node(void *arg, bool migrated)
{
    const red_job *j = arg;
    red_shared *sh = j->sh;
    if (weft__par_stopped(&sh->status))
        return;
    weft_splitter sp = j->sp;
    if (weft__splitter_try(&sp, j->hi - j->lo, migrated)) {
        alignas(max_align_t) unsigned char buf[ACC_INLINE];
        void *right_acc = acc_fresh(sh, buf);
        if (!right_acc)
            return;
        size_t mid = j->lo + (j->hi - j->lo) / 2;
        red_job left = {sh, sp, j->lo, mid, j->acc, j->first_done};
        red_job right = {sh, sp, mid, j->hi, right_acc, false};
        int rc = 0;
        if (sh->serial) {
            red_node(&left, false);
            red_node(&right, false);
        } else {
            rc = weft_join_context(red_node, &left, red_node, &right);
        }
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        else if (!weft__par_stopped(&sh->status))
            sh->combine(sh->ctx, j->acc, right_acc);
        if (right_acc != buf)
            free(right_acc);
        return;
    }
    if (j->first_done)
        return;
    int rc = sh->fold(sh->ctx, j->lo, j->hi, j->acc);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

/* Adaptive reduces on more than one thread: spans, as weft_par_for's (for.c, offers
 * withdrawn the same way). The owner folds its blocks into its accumulator, in index
 * order; a thief takes the upper half of what is left into the accumulator of the
 * offer it took, and after the join the owner does acc = acc (+) that one. Every block
 * the owner folds after a steal lies below the stolen half, and each later steal lies
 * below the earlier ones (a steal takes the top of what is left), so combining as the
 * joins return keeps index order: only associativity is needed. */
typedef struct red_span {
    red_shared *sh;
    weft_par_span span;
    size_t min_len;
    void *acc;
} red_span;

typedef struct red_offer {
    red_span *s;
    void *acc; /* the thief's: a copy of the identity */
    bool took;
} red_offer;

static void red_span_run(red_shared *sh, size_t lo, size_t hi, size_t min_len, void *acc);
static void red_span_blocks(void *arg, bool migrated);

static void red_span_steal(void *arg, bool migrated)
{
    (void)migrated;
    red_offer *o = arg;
    red_span *s = o->s;
    size_t b, e;
    if (!weft__par_stopped(&s->sh->status) && weft__par_span_steal(&s->span, s->min_len, &b, &e)) {
        o->took = true;
        red_span_run(s->sh, b, e, s->min_len, o->acc);
    }
}

/* Fold s's blocks with a steal offer beside them, then, the offer withdrawn, what is
 * left (below anything a thief took: red_span_blocks withdraws only when none took
 * any); combine what a thief took. */
static void red_span_offer(red_span *s)
{
    red_shared *sh = s->sh;
    alignas(max_align_t) unsigned char buf[ACC_INLINE];
    void *right_acc = acc_fresh(sh, buf);
    if (!right_acc)
        return;
    red_offer o = {s, right_acc, false};
    size_t b, e;
    int rc = weft_join_context(red_span_blocks, s, red_span_steal, &o);
    if (rc == 0 && !weft__par_stopped(&sh->status) && weft__par_span_take_rest(&s->span, &b, &e))
        rc = sh->fold(sh->ctx, b, e, s->acc);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
    else if (o.took && !weft__par_stopped(&sh->status))
        sh->combine(sh->ctx, s->acc, right_acc);
    if (right_acc != buf)
        free(right_acc);
}

static void red_span_blocks(void *arg, bool migrated)
{
    (void)migrated;
    red_span *s = arg;
    red_shared *sh = s->sh;
    size_t b, e, left = weft__par_span_left(&s->span);
    bool taken = false;
    while (!weft__par_stopped(&sh->status) && weft__par_span_next(&s->span, &b, &e)) {
        int rc = sh->fold(sh->ctx, b, e, s->acc);
        if (rc != 0) {
            weft__par_fail(&sh->status, rc);
            return;
        }
        size_t now = weft__par_span_left(&s->span);
        if (now + (e - b) < left) {
            taken = true; /* a thief took the offer: offer again */
            if (weft__par_span_stealable(now, s->min_len)) {
                red_span_offer(s);
                return;
            }
        } else if (!taken && !weft__par_span_stealable(now, s->min_len)) {
            return; /* withdraw the offer: red_span_offer folds the rest */
        }
        left = now;
    }
}

typedef struct red_wide {
    red_shared *sh;
    size_t lo, hi, min_len;
    void *acc;
} red_wide;

static void red_wide_run(void *arg, bool migrated)
{
    (void)migrated;
    const red_wide *w = arg;
    red_span_run(w->sh, w->lo, w->hi, w->min_len, w->acc);
}

static void red_span_run(red_shared *sh, size_t lo, size_t hi, size_t min_len, void *acc)
{
    if (hi - lo > WEFT_PAR_SPAN_MAX) {
        /* Wider than a span's 32-bit offsets: halve it first, as red_node does. */
        alignas(max_align_t) unsigned char buf[ACC_INLINE];
        void *right_acc = acc_fresh(sh, buf);
        if (!right_acc)
            return;
        size_t mid = lo + (hi - lo) / 2;
        red_wide left = {sh, lo, mid, min_len, acc}, right = {sh, mid, hi, min_len, right_acc};
        int rc = weft_join_context(red_wide_run, &left, red_wide_run, &right);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        else if (!weft__par_stopped(&sh->status))
            sh->combine(sh->ctx, acc, right_acc);
        if (right_acc != buf)
            free(right_acc);
        return;
    }
    if (!weft__par_span_stealable(hi - lo, min_len)) {
        int rc = weft__par_stopped(&sh->status) ? 0 : sh->fold(sh->ctx, lo, hi, acc);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        return;
    }
    red_span s = {sh, {0, 0, 0, 0}, min_len, acc};
    weft__par_span_init(&s.span, lo, hi, min_len / 2 ? min_len / 2 : 1);
    red_span_offer(&s);
}

typedef struct red_root {
    red_shared *sh;
    size_t lo, hi, grain;
    size_t min_len; /* adaptive: the probe's shortest leaf */
    void *acc;
    bool first_done;
} red_root;

static void red_root_run(void *arg)
{
    const red_root *r = arg;
    red_job j = {r->sh, {0, 0, 0, 0}, r->lo, r->hi, r->acc, r->first_done};
    weft__splitter_init(&j.sp, r->grain, r->sh->serial ? 1 : (size_t)weft_pool_num_threads(NULL));
    if (j.sp.threads == 1)
        r->sh->serial = true; /* one worker: the same tree without joins */
    if (r->grain == 0 && j.sp.threads == 1) {
        int rc = r->sh->fold(r->sh->ctx, r->lo, r->hi, r->acc);
        if (rc != 0)
            weft__par_fail(&r->sh->status, rc);
        return;
    }
    if (r->grain == 0 && !r->first_done) {
        red_span_run(r->sh, r->lo, r->hi, r->min_len, r->acc);
        return;
    }
    red_node(&j, false);
}

/* Probe leaf: fold a leading chunk into the result. */
typedef struct red_probe {
    const red_shared *sh;
    void *acc;
} red_probe;

static int red_probe_leaf(void *arg, size_t b, size_t e)
{
    const red_probe *p = arg;
    return p->sh->fold(p->sh->ctx, b, e, p->acc);
}

/* Reduce the non-empty [lo, hi) into result, which holds the identity already;
 * identity is the private copy (result may have overwritten the caller's). */
static int reduce_range(size_t lo, size_t hi, size_t grain, bool deterministic, const void *identity,
                        weft_fold_fn fold, weft_combine_fn combine, void *ctx, void *result,
                        size_t result_size)
{
    red_shared sh = {identity, fold, combine, ctx, result_size, false, 0};
    red_root root = {&sh, lo, hi, grain, 1, result, false};
    if (deterministic) {
        size_t n = hi - lo;
        if (grain == 0)
            grain = n / DET_LEAVES + (n % DET_LEAVES != 0);
        root.grain = grain;
        /* The leftmost leaf: the splitter cuts as weft__par_cuttable says, left half
         * len / 2. */
        size_t first = n;
        while (weft__par_cuttable(first, grain))
            first /= 2;
        uint64_t t0 = weft_time_now_ns();
        int rc = fold(ctx, lo, lo + first, result);
        uint64_t t = weft_time_now_ns() - t0;
        if (rc != 0 || first == n)
            return rc;
        root.first_done = true;
        if ((double)t / (double)first * (double)n < DET_INLINE_NS) {
            sh.serial = true;
            red_root_run(&root);
            return atomic_load_explicit(&sh.status, memory_order_relaxed); /* same thread */
        }
    } else if (grain != 0 && !weft__par_cuttable(hi - lo, grain)) {
        return fold(ctx, lo, hi, result); /* one leaf: no need for the pool */
    }
    if (grain == 0) {
        /* One thread: one fold, with no probe to pay for (as the probe's inline run). */
        int threads = weft_pool_num_threads(NULL);
        if (threads <= 1)
            return threads < 0 ? threads : fold(ctx, lo, hi, result);
        red_probe p = {&sh, result};
        int rc = weft__par_probe(&lo, hi, red_probe_leaf, &p, (void (*)(void))fold, ctx, &root.min_len);
        if (rc != 0 || lo == hi)
            return rc;
    }
    root.lo = lo;
    int rc = weft_pool_execute(NULL, red_root_run, &root);
    if (rc != 0)
        return rc;
    if (grain == 0)
        weft__par_probe_report((void (*)(void))fold, ctx);
    /* Relaxed: ordered by the joins' completion (see for.c). */
    return atomic_load_explicit(&sh.status, memory_order_relaxed);
}

static int reduce(size_t lo, size_t hi, size_t grain, bool deterministic, const void *identity,
                  weft_fold_fn fold, weft_combine_fn combine, void *ctx, void *result,
                  size_t result_size)
{
    if (lo > hi || !identity || !fold || !combine || !result || result_size == 0)
        return -EINVAL;
    if (lo == hi) {
        memmove(result, identity, result_size);
        return 0;
    }
    /* Copy the identity before the first write to result: the caller may pass the same
     * object (or overlapping bytes) as both, and the right half of every cut starts
     * from the identity while the left folds into result. */
    alignas(max_align_t) unsigned char id_buf[ACC_INLINE];
    void *id = result_size <= ACC_INLINE ? id_buf : malloc(result_size);
    if (!id)
        return -ENOMEM;
    memcpy(id, identity, result_size);
    memcpy(result, id, result_size);
    int rc = reduce_range(lo, hi, grain, deterministic, id, fold, combine, ctx, result, result_size);
    if (id != id_buf)
        free(id);
    return rc;
}

int weft_par_reduce(size_t lo, size_t hi, size_t grain, const void *identity, weft_fold_fn fold,
                    weft_combine_fn combine, void *ctx, void *result, size_t result_size)
{
    return reduce(lo, hi, grain, false, identity, fold, combine, ctx, result, result_size);
}

int weft_par_reduce_deterministic(size_t lo, size_t hi, size_t grain, const void *identity,
                                  weft_fold_fn fold, weft_combine_fn combine, void *ctx,
                                  void *result, size_t result_size)
{
    return reduce(lo, hi, grain, true, identity, fold, combine, ctx, result, result_size);
}
