/* reduce.c: weft_par_reduce and weft_par_reduce_deterministic — fold leaves into
 * accumulators, combine left (+) right up the join tree.
 *
 * Invariants: every accumulator starts as a copy of the identity; a cut node's left
 * half keeps folding into the node's own accumulator and its right half into a fresh
 * one, and after the join the node does acc = acc (+) right — left and right are never
 * swapped, so only associativity is needed. The deterministic variant cuts with a
 * fixed grain (explicit, or derived from the length alone) and no probe, so its tree
 * — and hence a floating-point result — depends only on (lo, hi, grain). Accumulators
 * of up to ACC_INLINE bytes live in the node's stack frame; larger ones are malloc'd
 * and freed by the node that made them (-ENOMEM stops the loop, nothing leaks). */
#include "splitter_internal.h"

#include <weft/par.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Accumulators up to this size sit on the stack (one per cut, ~log2(n) deep). */
#define ACC_INLINE 256u
/* Deterministic grain 0: leaves of at most ceil(len / DET_LEAVES_HALF) indices, so
 * (halving cuts, leaves longer than half the grain) at most ~2 * DET_LEAVES_HALF. */
#define DET_LEAVES_HALF 2048u

typedef struct red_shared {
    const void *identity;
    weft_fold_fn fold;
    weft_combine_fn combine;
    void *ctx;
    size_t size;
    _Atomic int status;
} red_shared;

typedef struct red_job {
    red_shared *sh;
    weft_splitter sp;
    size_t lo, hi;
    void *acc;
} red_job;

static void red_node(void *arg, bool migrated)
{
    const red_job *j = arg;
    red_shared *sh = j->sh;
    if (weft_par_stopped(&sh->status))
        return;
    weft_splitter sp = j->sp;
    if (weft_splitter_try(&sp, j->hi - j->lo, migrated)) {
        alignas(max_align_t) unsigned char buf[ACC_INLINE];
        void *right_acc = sh->size <= ACC_INLINE ? buf : malloc(sh->size);
        if (!right_acc) {
            weft_par_fail(&sh->status, -ENOMEM);
            return;
        }
        memcpy(right_acc, sh->identity, sh->size);
        size_t mid = j->lo + (j->hi - j->lo) / 2;
        red_job left = {sh, sp, j->lo, mid, j->acc};
        red_job right = {sh, sp, mid, j->hi, right_acc};
        int rc = weft_join_context(red_node, &left, red_node, &right);
        if (rc != 0)
            weft_par_fail(&sh->status, rc);
        else if (!weft_par_stopped(&sh->status))
            sh->combine(sh->ctx, j->acc, right_acc);
        if (right_acc != buf)
            free(right_acc);
        return;
    }
    int rc = sh->fold(sh->ctx, j->lo, j->hi, j->acc);
    if (rc != 0)
        weft_par_fail(&sh->status, rc);
}

typedef struct red_root {
    red_shared *sh;
    size_t lo, hi, grain;
    void *acc;
} red_root;

static void red_root_run(void *arg)
{
    const red_root *r = arg;
    red_job j = {r->sh, {0, 0, 0}, r->lo, r->hi, r->acc};
    weft_splitter_init(&j.sp, r->grain, weft_par_threads());
    if (r->grain == 0 && j.sp.threads == 1) {
        int rc = r->sh->fold(r->sh->ctx, r->lo, r->hi, r->acc);
        if (rc != 0)
            weft_par_fail(&r->sh->status, rc);
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

static int reduce(size_t lo, size_t hi, size_t grain, bool deterministic, const void *identity,
                  weft_fold_fn fold, weft_combine_fn combine, void *ctx, void *result,
                  size_t result_size)
{
    if (lo > hi || !identity || !fold || !combine || !result || result_size == 0)
        return -EINVAL;
    memmove(result, identity, result_size);
    if (lo == hi)
        return 0;
    red_shared sh = {identity, fold, combine, ctx, result_size, 0};
    if (deterministic && grain == 0) {
        size_t n = hi - lo;
        grain = n / DET_LEAVES_HALF + (n % DET_LEAVES_HALF != 0);
    }
    if (grain != 0 && hi - lo <= grain)
        return fold(ctx, lo, hi, result);
    if (grain == 0) {
        red_probe p = {&sh, result};
        int rc = weft_par_probe(&lo, hi, red_probe_leaf, &p);
        if (rc != 0 || lo == hi)
            return rc;
    }
    red_root root = {&sh, lo, hi, grain, result};
    int rc = weft_par_enter(red_root_run, &root);
    if (rc != 0)
        return rc;
    /* Relaxed: ordered by the joins' completion (see for.c). */
    return atomic_load_explicit(&sh.status, memory_order_relaxed);
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
