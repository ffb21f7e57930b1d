/* pipeline_testlib.h: a checked pipeline for weft_pipeline_run's tests (Criterion and
 * stress). The first stage mallocs items numbered 0, 1, ...; every stage checks what
 * its kind promises (a serial stage is never entered twice at once, an in-order stage
 * sees strictly increasing numbers, each stage sees an item once, in stage order);
 * the last stage frees the item, each cleanup frees what it is given. Counters: items
 * made, finished, cleaned, and the most alive at once (made and not yet freed).
 * Header-only (static functions): each program gets its own copy. */
#ifndef WEFT_TESTS_PIPELINE_TESTLIB_H
#define WEFT_TESTS_PIPELINE_TESTLIB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft/par.h>

enum { PT_MAX_STAGES = 6 };

typedef struct pt_item {
    uint64_t seq;
    uint32_t stages_done; /* how many stages it went through */
} pt_item;

typedef struct pt {
    weft_pipeline_stage stages[PT_MAX_STAGES];
    size_t nstages;
    uint64_t limit;            /* items to make */
    _Atomic uint64_t stop_at;  /* the first stage stops once this many are made... */
    _Atomic bool stop_now;     /* ...or once this is set (by a later stage) */
    uint64_t stop_signal_at;   /* the last stage sets stop_now at this item (0: never) */
    uint64_t fail_at;          /* this item fails in fail_stage (UINT64_MAX: none) */
    size_t fail_stage;
    int fail_status;
    /* counters */
    uint64_t made;             /* the first stage's own (it is serial) */
    _Atomic uint64_t finished, cleaned, failed_items, alive, max_alive, seq_sum;
    _Atomic int errors;        /* broken promises seen */
    _Atomic int busy[PT_MAX_STAGES]; /* serial stages: entered and not yet left */
    uint64_t last_seq[PT_MAX_STAGES]; /* in-order stages: the last number seen (+1) */
} pt;

static inline void pt_error(pt *t) { atomic_fetch_add(&t->errors, 1); }

static inline void pt_alive(pt *t, int delta)
{
    uint64_t n = atomic_fetch_add(&t->alive, (uint64_t)(int64_t)delta) + (uint64_t)(int64_t)delta;
    uint64_t m = atomic_load(&t->max_alive);
    while (delta > 0 && n > m && !atomic_compare_exchange_weak(&t->max_alive, &m, n)) {
    }
}

static inline int pt_make(void *ctx, void **item)
{
    pt *t = ctx;
    if (*item != NULL)
        pt_error(t);
    if (t->made >= t->limit || t->made >= atomic_load(&t->stop_at) || atomic_load(&t->stop_now))
        return 0;
    if (t->fail_stage == 0 && t->made == t->fail_at)
        return t->fail_status;
    pt_item *it = malloc(sizeof *it);
    it->seq = t->made++;
    it->stages_done = 1;
    pt_alive(t, 1);
    *item = it;
    return 0;
}

/* Stage k's checks and work (k >= 1). */
static inline int pt_stage(pt *t, size_t k, void **item)
{
    pt_item *it = *item;
    bool serial = t->stages[k].kind != WEFT_PIPELINE_PARALLEL;
    if (serial && atomic_fetch_add(&t->busy[k], 1) != 0)
        pt_error(t);
    if (it->stages_done != k)
        pt_error(t);
    if (t->stages[k].kind == WEFT_PIPELINE_SERIAL_IN_ORDER) {
        if (it->seq + 1 <= t->last_seq[k])
            pt_error(t);
        t->last_seq[k] = it->seq + 1;
    }
    int rc = 0;
    if (k == t->fail_stage && it->seq == t->fail_at) {
        rc = t->fail_status; /* the failing stage keeps its item: free it */
        atomic_fetch_add(&t->failed_items, 1);
    } else {
        it->stages_done++;
    }
    if (serial)
        atomic_fetch_sub(&t->busy[k], 1);
    if (rc == 0 && k == t->nstages - 1) {
        atomic_fetch_add(&t->finished, 1);
        atomic_fetch_add(&t->seq_sum, it->seq);
        if (t->stop_signal_at && it->seq == t->stop_signal_at)
            atomic_store(&t->stop_now, true);
    }
    if (rc != 0 || k == t->nstages - 1) {
        pt_alive(t, -1);
        free(it);
    }
    return rc;
}

#define PT_STAGE_FN(K)                                                                       \
    static inline int pt_stage_##K(void *ctx, void **item) { return pt_stage(ctx, K, item); }
PT_STAGE_FN(1)
PT_STAGE_FN(2)
PT_STAGE_FN(3)
PT_STAGE_FN(4)
PT_STAGE_FN(5)

static inline void pt_cleanup(void *ctx, void *item)
{
    pt *t = ctx;
    atomic_fetch_add(&t->cleaned, 1);
    pt_alive(t, -1);
    free(item);
}

/* A pipeline making `limit` items, whose stages after the first have the given kinds. */
static inline void pt_init(pt *t, uint64_t limit, const weft_pipeline_kind *kinds, size_t nkinds)
{
    static weft_pipeline_fn const fns[] = {pt_make, pt_stage_1, pt_stage_2, pt_stage_3, pt_stage_4, pt_stage_5};
    *t = (pt){.limit = limit, .fail_at = UINT64_MAX, .fail_stage = PT_MAX_STAGES};
    atomic_store(&t->stop_at, UINT64_MAX);
    t->nstages = nkinds + 1;
    t->stages[0] = (weft_pipeline_stage){WEFT_PIPELINE_SERIAL_IN_ORDER, pt_make, NULL};
    for (size_t k = 1; k <= nkinds; k++)
        t->stages[k] = (weft_pipeline_stage){kinds[k - 1], fns[k], pt_cleanup};
}

/* Run it: the status; the counters say the rest. */
static inline int pt_run(pt *t, size_t max_tokens)
{
    return weft_pipeline_run(t->stages, t->nstages, max_tokens, t);
}

/* Every item made is accounted for exactly once and nothing is alive; no broken
 * promise; never more than max_tokens alive. */
static inline bool pt_balanced(pt *t, size_t max_tokens)
{
    return atomic_load(&t->errors) == 0 && atomic_load(&t->alive) == 0 &&
           atomic_load(&t->max_alive) <= max_tokens &&
           atomic_load(&t->finished) + atomic_load(&t->cleaned) + atomic_load(&t->failed_items) == t->made;
}

#endif /* WEFT_TESTS_PIPELINE_TESTLIB_H */
