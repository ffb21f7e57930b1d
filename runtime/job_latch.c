/* job_latch.c: job latches — the completion flag a waiter (a worker, or an outside
 * thread) waits on while a job runs elsewhere.
 *
 * state: LATCH_UNSET -> LATCH_SET, once. An outside thread that wants to sleep moves
 * UNSET -> LATCH_SLEEPER first and futex-waits on the word; the setter's exchange
 * sees SLEEPER and wakes it. A worker waiter never sleeps on the latch word: it sleeps
 * on its own sleep_state (so that new work can wake it too), and the setter wakes it
 * with weft__sleep_wake_worker after the SET (Dekker pair with sleep.c's sleep_idle, both
 * seq_cst: either the setter sees the worker asleep, or the worker's last check before
 * sleeping sees SET).
 *
 * Lifetime: once the exchange to SET is visible, the waiter may return and free the
 * latch. So weft__job_latch_set copies the waiter first and afterwards touches only
 * the waiter worker and at most one futex_wake on the latch address (a wake on
 * reused memory is a spurious wake-up, which every futex user tolerates). The
 * waiter's pool may be destroyed as soon as the waiter returns: a setter that is not
 * a thread of that pool counts itself in the pool's cross_wakers across its wake
 * (before the SET for a fixed waiter; from the registration for a task's joiner),
 * and weft_pool_destroy frees nothing while the count is above 0. */
#include "pool_internal.h"

/* The pool of a waiter that a thread outside it is about to wake, or NULL. Once the
 * latch is SET the waiter may return and its pool be destroyed, so such a setter
 * counts itself in the pool's cross_wakers before the SET (the waiter is still
 * waiting then, so the pool is alive) and leaves after its wake; destroy waits for
 * the count to drain (rayon's cross-registry latch holds its registry the same way).
 * The same-pool case costs one compare: a pool cannot be destroyed while one of its
 * own threads runs. */
static weft_pool *cross_guard(weft_worker *waiter)
{
    weft_worker *self = weft__worker_current();
    if (!waiter || (self && self->pool == waiter->pool))
        return NULL;
    /* Relaxed: destroy reads it after the waiter returned, which follows our SET. */
    atomic_fetch_add_explicit(&waiter->pool->cross_wakers, 1, memory_order_relaxed);
    return waiter->pool;
}

static void cross_release(weft_pool *guard)
{
    /* Release: our last touch of the pool; pairs with destroy's acquire load. */
    if (guard)
        atomic_fetch_sub_explicit(&guard->cross_wakers, 1, memory_order_release);
}

/* seq_cst exchange: release for the job's writes (pairs with probe's acquire), and the
 * store half of the Dekker pair with sleep.c's sleep_idle's sleep_state store. */
static void set_and_wake_sleeper(weft_job_latch *l)
{
    if (atomic_exchange_explicit(&l->state, LATCH_SET, memory_order_seq_cst) == LATCH_SLEEPER)
        weft_futex_wake(&l->state, WEFT_FUTEX_WAKE_ALL);
}

void weft__job_latch_set(weft_job_latch *l)
{
    /* Relaxed: the waiter was fixed at init, before the job was published. */
    weft_worker *waiter = atomic_load_explicit(&l->waiter, memory_order_relaxed);
    weft_pool *guard = cross_guard(waiter);
    set_and_wake_sleeper(l);
    if (waiter)
        weft__sleep_wake_worker(waiter);
    cross_release(guard);
}

/* A late-registering latch's waiter field is taken by exchange, by the setter after
 * its SET or by the waiter giving up, so exactly one of them owns the registration
 * (and, for a waiter of another pool, the cross_wakers count it took). */
#define WAITER_TAKEN ((weft_worker *)(uintptr_t)1)

void weft__job_latch_set_registered(weft_job_latch *l)
{
    set_and_wake_sleeper(l);
    /* seq_cst: pairs with the waiter's registration store (Dekker: it stores, then
     * reads the state; we SET, then read it). */
    weft_worker *waiter = atomic_exchange_explicit(&l->waiter, WAITER_TAKEN, memory_order_seq_cst);
    if (waiter == WAITER_TAKEN || !waiter)
        return;
    weft__sleep_wake_worker(waiter);
    weft_worker *self = weft__worker_current();
    if (!self || self->pool != waiter->pool) /* it registered as cross: count it out */
        cross_release(waiter->pool);
}

void weft__job_latch_register(weft_job_latch *l, weft_worker *w, bool cross)
{
    cross = cross && w;
    if (cross) /* relaxed: as in cross_guard */
        atomic_fetch_add_explicit(&w->pool->cross_wakers, 1, memory_order_relaxed);
    /* seq_cst: registration half of the Dekker pair with set_registered (we store,
     * then read the state; it SETs, then takes the waiter). */
    weft_worker *prev = atomic_exchange_explicit(&l->waiter, w, memory_order_seq_cst);
    if (prev == WAITER_TAKEN && cross) /* the setter came and went: nobody takes w */
        cross_release(w->pool);
}

void weft__job_latch_unregister(weft_job_latch *l, bool cross)
{
    /* seq_cst: as in register. Whoever takes the worker owns its count. */
    weft_worker *w = atomic_exchange_explicit(&l->waiter, NULL, memory_order_seq_cst);
    if (cross && w && w != WAITER_TAKEN)
        cross_release(w->pool);
}

static bool latch_is_set(uint32_t s, const void *arg)
{
    (void)arg;
    return s == LATCH_SET;
}

int weft__job_latch_wait_external(weft_job_latch *l, uint64_t deadline_ns)
{
    /* The sleeper mark moves UNSET (0) to SLEEPER, which the setter's exchange sees.
     * Acquire (inside the wait): as in probe. */
    return weft__futex_wait_until(&l->state, LATCH_SLEEPER, latch_is_set, NULL, deadline_ns);
}
