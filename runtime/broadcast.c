/* broadcast.c: weft_broadcast — one call of a function on every worker of a pool
 * (rayon's broadcast), each made by that worker when it next looks for work.
 *
 * A broadcast is a record on its caller's stack (weft_bcast): the function, a count of
 * the calls still to finish and a job latch its caller waits on. It is linked into the
 * pool's list of broadcasts in progress, in the order of their sequence numbers, which
 * bcast_lock hands out (pool->bcast_seq: the newest). Each worker keeps the number of
 * the last broadcast it ran or passed (bcast_seen), and while the pool's number is
 * ahead of its own, find_work hands out the worker's bcast_job, whose execute takes
 * the oldest broadcast newer than bcast_seen (under the lock), advances bcast_seen to
 * it and makes the call. So each worker runs each broadcast once, in sequence order.
 * The caller, when it is a worker of the pool, makes its own call inline at once and
 * names itself in the record (inline_index): that worker passes the record instead of
 * running it. The last call to finish sets the latch; the caller then unlinks its
 * record, under the lock.
 *
 * Invariants:
 *  - a record stays in the list from its publication until every worker has made its
 *    call (its count reached 0), so a worker that has not yet run it finds it there,
 *    and one that passes a number it does not find there has run it, or was its
 *    inline caller;
 *  - bcast_seen only grows, and past a number only when its worker ran that broadcast,
 *    was its inline caller, or found it finished (gone from the list, which needs this
 *    worker's call): exactly once per worker;
 *  - the record lives on the caller's stack until the caller has unlinked it, after
 *    its latch: a worker reads it under the lock, or after taking it and before its
 *    own count-down, and after that touches only the latch's waiter (job_latch.c);
 *  - every worker makes its calls wherever it looks for work: benched for a caller or
 *    waiting in an isolated region too (pool.c's find_work says why);
 *  - a worker that sleeps is woken for a broadcast, whatever kind of sleep it is in
 *    (weft__sleep_new_worker_jobs): the Dekker pair of the publisher's fence after the
 *    new number and the sleeper's re-check of weft__broadcast_pending after its fence
 *    (weft__pool_has_work, which counts a broadcast before anything else). */
#include "pool_internal.h"

#include <limits.h>
#include <weft/trace.h>

struct weft_bcast {
    weft_broadcast_fn fn;
    void *ctx;
    uint64_t seq;            /* its sequence number (set under bcast_lock) */
    unsigned inline_index;   /* the worker whose call its caller made inline, or UINT_MAX */
    _Atomic uint32_t remaining; /* calls not yet finished */
    weft_job_latch done;     /* set by the last call to finish; its waiter is the caller */
    weft_bcast *next;        /* in the pool's list (under bcast_lock) */
};

/* A call finished: the last one lets the caller go. */
static void bcast_count_down(weft_bcast *b)
{
    /* acq_rel: every call's writes reach the last decrementer, and from it the
     * caller, through the latch's seq_cst exchange. */
    if (atomic_fetch_sub_explicit(&b->remaining, 1, memory_order_acq_rel) == 1)
        weft__job_latch_set(&b->done); /* copies the waiter first: b may die after */
}

/* Under bcast_lock: the oldest broadcast that w has neither run nor passed, advancing
 * bcast_seen to it; w passes the ones whose call it made inline. NULL if none is left
 * (bcast_seen then catches up with the pool's newest number: every broadcast up to it
 * that is gone from the list had w's call). */
static weft_bcast *bcast_take(weft_worker *w)
{
    weft_pool *pool = w->pool;
    weft_bcast *b = pool->bcast_head;
    for (; b; b = b->next) {
        if (b->seq <= w->bcast_seen)
            continue;
        w->bcast_seen = b->seq;
        if (b->inline_index != w->index)
            return b;
    }
    /* Relaxed: written under the lock we hold. */
    w->bcast_seen = atomic_load_explicit(&pool->bcast_seq, memory_order_relaxed);
    return NULL;
}

void weft__broadcast_execute(weft_job *job, weft_worker *w)
{
    (void)job;
    weft_pool *pool = w->pool;
    weft_mutex_lock(&pool->bcast_lock);
    weft_bcast *b = bcast_take(w);
    weft_mutex_unlock(&pool->bcast_lock);
    if (!b) { /* only passed its own inline calls: no job ran, uncount it (-1) */
        weft__counter_add(&w->stats.jobs_run, UINT64_MAX);
        return;
    }
    weft__trace_job_fn((void *)b->fn);
    b->fn(b->ctx, w->index, pool->num_threads);
    weft__trace_job_done(job); /* before the count-down that may let the caller go */
    bcast_count_down(b);
}

int weft_broadcast(weft_pool *pool, weft_broadcast_fn fn, void *ctx)
{
    if (!fn)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    weft_worker *w = weft__worker_current();
    bool mine = w && w->pool == pool && !w->caller; /* a worker of pool: its call inline */
    unsigned n = pool->num_threads;
    weft_bcast b;
    b.fn = fn;
    b.ctx = ctx;
    b.inline_index = mine ? w->index : UINT_MAX;
    b.next = NULL;
    atomic_init(&b.remaining, n);
    weft__job_latch_init(&b.done, w); /* a worker (of any pool) helps while it waits */

    weft_mutex_lock(&pool->bcast_lock);
    /* Relaxed: written under the lock only; the workers' reads are hints (the lock
     * orders the list), and the wake-up below is ordered by its fence. */
    b.seq = atomic_load_explicit(&pool->bcast_seq, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool->bcast_seq, b.seq, memory_order_relaxed);
    if (pool->bcast_tail)
        pool->bcast_tail->next = &b;
    else
        pool->bcast_head = &b;
    pool->bcast_tail = &b;
    weft_mutex_unlock(&pool->bcast_lock);
    weft__sleep_new_worker_jobs(pool); /* fence, then wake every sleeper that may take it */

    if (mine) {
        fn(ctx, w->index, n);
        bcast_count_down(&b);
    }
    weft__pool_wait_latch(&b.done, WEFT_NO_DEADLINE);

    /* Every worker made its call: none reads b any more but under the lock. */
    weft_mutex_lock(&pool->bcast_lock);
    weft_bcast **link = &pool->bcast_head, *prev = NULL;
    while (*link != &b) {
        prev = *link;
        link = &(*link)->next;
    }
    *link = b.next;
    if (pool->bcast_tail == &b)
        pool->bcast_tail = prev;
    weft_mutex_unlock(&pool->bcast_lock);
    return 0;
}
