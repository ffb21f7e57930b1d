/* sleep.c: how idle workers go to sleep and who wakes them. The protocol, its
 * invariants and the memory-order argument are in runtime/sleep.md; in short:
 *  - a worker sleeps on its own futex word, sleep_state (AWAKE / SLEEPING /
 *    SLEEPING_ISOLATED); only the worker moves it AWAKE -> SLEEPING*, and whoever
 *    wins the CAS back to AWAKE (the worker itself or one waker) owns the wake-up;
 *  - pool->idle counts workers in SLEEPING (those that may take any work), its
 *    `sleepers` half, and awake idle workers still looking for work, its
 *    `searching` half;
 *  - new work wakes at most one sleeper, and only when nobody is searching: a
 *    searcher will find it, and a thief that leaves work behind wakes the next one;
 *  - no lost wake-up (Dekker): the sleeper stores SLEEPING, fences, then re-checks
 *    for work and its latch; a publisher stores the work or the latch, fences, then
 *    reads the sleeper state. With both fences seq_cst, one of them sees the other. */
#include "pool_internal.h"

bool weft_pool_has_work(weft_worker *w)
{
    weft_pool *pool = w->pool;
    /* An isolated worker takes only its own region's jobs from its own deque, and
     * nobody else pushes there: what is left in it is foreign (dig_isolated put it
     * back and published it for thieves), so only its latch may wake it. Counting
     * those jobs as work kept a waiter from ever sleeping (a busy spin for as long
     * as its region ran elsewhere). */
    if (w->isolation != 0)
        return false;
    /* Relaxed: a hint re-validated by actually taking the work; ordered against the
     * sleeper's sleep_state store by the seq_cst fence in weft_sleep_idle. */
    if (atomic_load_explicit(&pool->injected, memory_order_relaxed) > 0)
        return true;
    /* Our own deque whole; the others' public parts only: private items are their
     * owners' to run or to share when asked (deque.md, sleep.md "Split deques"). */
    if (weft_deque_len(&w->deque) > 0)
        return true;
    for (unsigned i = 0; i < pool->num_threads; i++)
        if (weft_deque_len_public(&pool->workers[i].deque) > 0)
            return true;
    return false;
}

void weft_sleep_wake_worker(weft_worker *w)
{
    /* seq_cst: the load half of the Dekker pairs (latch SET or new work, then this
     * load; the sleeper's SLEEPING store, then its re-check). */
    uint32_t s = atomic_load_explicit(&w->sleep_state, memory_order_seq_cst);
    while (s != WORKER_AWAKE) {
        if (atomic_compare_exchange_weak_explicit(&w->sleep_state, &s, WORKER_AWAKE,
                                                  memory_order_seq_cst, memory_order_seq_cst)) {
            if (s == WORKER_SLEEPING) /* we own the wake-up: undo its announcement */
                atomic_fetch_sub_explicit(&w->pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
            weft_futex_wake(&w->sleep_state, 1);
            return;
        }
    }
}

/* Starts the scan at a random worker, so wake-ups spread over the pool. */
void weft_sleep_wake_one(weft_pool *pool)
{
    weft_worker *self = weft_worker_current();
    uint64_t seed = self ? weft_next_random(&self->rng) : (uint64_t)(uintptr_t)&seed;
    unsigned n = pool->num_threads, start = (unsigned)(seed % n);
    for (unsigned k = 0; k < n; k++) {
        weft_worker *w = &pool->workers[(start + k) % n];
        uint32_t s = WORKER_SLEEPING;
        /* seq_cst: as in weft_sleep_wake_worker. */
        if (atomic_load_explicit(&w->sleep_state, memory_order_seq_cst) == WORKER_SLEEPING &&
            atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_AWAKE,
                                                    memory_order_seq_cst, memory_order_seq_cst)) {
            atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
            weft_futex_wake(&w->sleep_state, 1);
            return;
        }
    }
}

/* noinline: GCC's TSan refuses a fence once it is inlined into another function. */
__attribute__((noinline)) void weft_sleep_new_work(weft_pool *pool)
{
    atomic_thread_fence(memory_order_seq_cst); /* the publisher's fence of the Dekker pair */
    weft_sleep_new_local_work(pool);
}

/* A searcher that found a job stops searching. A publisher that saw it searching
 * woke nobody, trusting it to take the job; but it may have taken another one. So the
 * last searcher to leave passes the duty on: if work is still visible and someone
 * sleeps, wake one (sleep.md, "Leaving the search"). */
void weft_sleep_leave_search(weft_worker *w, bool found)
{
    weft_pool *pool = w->pool;
    /* seq_cst, then the fence: the searcher half of a Dekker pair with a publisher
     * (queue the job, fence, load pool->idle): either it sees us gone and wakes a
     * sleeper itself, or our loads below see its job. */
    uint64_t idle = atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SEARCHER, memory_order_seq_cst);
    if (weft_idle_searching(idle) != 1 || !found)
        return; /* another searcher keeps the duty; or we go to sleep, which re-checks */
    atomic_thread_fence(memory_order_seq_cst);
    /* Relaxed: ordered by the fence above. */
    if (weft_idle_sleepers(atomic_load_explicit(&pool->idle, memory_order_relaxed)) == 0)
        return;
    bool visible = atomic_load_explicit(&pool->injected, memory_order_relaxed) > 0;
    for (unsigned i = 0; !visible && i < pool->num_threads; i++)
        visible = weft_deque_len_public(&pool->workers[i].deque) > 0;
    if (visible)
        weft_sleep_wake_one(pool);
}

void weft_sleep_before_block(void *worker)
{
    weft_worker *w = worker;
    /* Owner-only reads of its own deque: exact. Nothing private: nothing to do (the
     * common case, e.g. the worker's own idle sleep). */
    if (weft_deque_len(&w->deque) == weft_deque_len_public(&w->deque))
        return;
    weft_deque_publish(&w->deque);
    weft_sleep_new_work(w->pool); /* fence, then wake a sleeper if nobody searches */
}

void weft_sleep_idle(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns)
{
    weft_pool *pool = w->pool;
    bool isolated = w->isolation != 0;
    uint32_t mode = isolated ? WORKER_SLEEPING_ISOLATED : WORKER_SLEEPING;

    /* Announce. seq_cst store + fence: the sleeper half of the Dekker pairs. */
    atomic_store_explicit(&w->sleep_state, mode, memory_order_seq_cst);
    if (!isolated)
        atomic_fetch_add_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);

    if (!weft_latch_job_probe(l) && !weft_pool_has_work(w)) {
        weft_counter_inc(&w->stats.sleeps);
        /* seq_cst: pairs with the waker's CAS to AWAKE. */
        while (atomic_load_explicit(&w->sleep_state, memory_order_seq_cst) == mode) {
            if (weft_futex_wait(&w->sleep_state, mode, deadline_ns) == -ETIMEDOUT)
                break;
        }
    }
    /* Leave: if we still hold the announcement, withdraw it; if a waker took it, it
     * already adjusted the counter. */
    uint32_t s = mode;
    if (atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_AWAKE,
                                                memory_order_seq_cst, memory_order_seq_cst)) {
        if (!isolated)
            atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
    } else {
        weft_counter_inc(&w->stats.wakeups);
    }
}
