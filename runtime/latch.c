/* latch.c: job latches — the completion flag a waiter (a worker, or an outside
 * thread) waits on while a job runs elsewhere.
 *
 * state: LATCH_UNSET -> LATCH_SET, once. An outside thread that wants to sleep moves
 * UNSET -> LATCH_SLEEPER first and futex-waits on the word; the setter's exchange
 * sees SLEEPER and wakes it. A worker waiter never sleeps on the latch word: it sleeps
 * on its own sleep_state (so that new work can wake it too), and the setter wakes it
 * with weft_sleep_wake_worker after the SET (Dekker pair with weft_sleep_idle, both
 * seq_cst: either the setter sees the worker asleep, or the worker's last check before
 * sleeping sees SET).
 *
 * Lifetime: once the exchange to SET is visible, the waiter may return and free the
 * latch. So weft_latch_job_set copies the waiter first and afterwards touches only
 * the worker (alive as long as its pool) and at most one futex_wake on the latch
 * address (a wake on reused memory is a spurious wake-up, which every futex user
 * tolerates). */
#include "pool_internal.h"

static void set_state(weft_job_latch *l, weft_worker *waiter, bool reread_waiter)
{
    /* seq_cst: release for the job's writes (pairs with probe's acquire), and the
     * store half of the Dekker pair with weft_sleep_idle's sleep_state store. */
    uint32_t old = atomic_exchange_explicit(&l->state, LATCH_SET, memory_order_seq_cst);
    if (old == LATCH_SLEEPER)
        weft_futex_wake(&l->state, WEFT_FUTEX_WAKE_ALL);
    if (reread_waiter) /* seq_cst: pairs with the waiter's registration store */
        waiter = atomic_load_explicit(&l->waiter, memory_order_seq_cst);
    if (waiter)
        weft_sleep_wake_worker(waiter);
}

void weft_latch_job_set(weft_job_latch *l)
{
    /* Relaxed: the waiter was fixed at init, before the job was published. */
    set_state(l, atomic_load_explicit(&l->waiter, memory_order_relaxed), false);
}

void weft_latch_job_set_registered(weft_job_latch *l)
{
    set_state(l, NULL, true);
}

int weft_latch_job_wait_external(weft_job_latch *l, uint64_t deadline_ns)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    while (!weft_backoff_is_completed(&b)) {
        if (weft_latch_job_probe(l))
            return 0;
        weft_backoff_snooze(&b);
    }
    for (;;) {
        /* Acquire: as in probe. */
        uint32_t s = atomic_load_explicit(&l->state, memory_order_acquire);
        if (s == LATCH_SET)
            return 0;
        if (s == LATCH_UNSET) {
            /* Relaxed on success is enough: the futex syscall re-reads the word, and
             * the setter's exchange will see SLEEPER (single modification order). */
            uint32_t expected = LATCH_UNSET;
            if (!atomic_compare_exchange_strong_explicit(&l->state, &expected, LATCH_SLEEPER,
                                                         memory_order_relaxed, memory_order_relaxed))
                continue;
        }
        if (weft_futex_wait(&l->state, LATCH_SLEEPER, deadline_ns) == -ETIMEDOUT)
            return weft_latch_job_probe(l) ? 0 : -ETIMEDOUT;
    }
}
