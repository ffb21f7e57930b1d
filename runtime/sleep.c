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

/* Any public deque items, workers' or caller slots'? The public parts only: private
 * items are their owners' to run or to share when asked (deque.md, sleep.md "Split
 * deques"). Relaxed loads: see weft_pool_work_visible. */
static bool deques_have_work(weft_pool *pool)
{
    for (unsigned i = 0; i < pool->num_threads; i++)
        if (weft_deque_len_public(&pool->workers[i].deque) > 0)
            return true;
    for (uint32_t m = atomic_load_explicit(&pool->callers, memory_order_relaxed); m != 0; m &= m - 1)
        if (weft_deque_len_public(&pool->workers[pool->num_threads + (unsigned)__builtin_ctz(m)].deque) > 0)
            return true;
    return false;
}

bool weft_pool_work_visible(weft_pool *pool)
{
    /* Relaxed: hints re-validated by actually taking the work; where a caller needs
     * them ordered (a sleeper's re-check, leaving the search) it fences first. */
    return atomic_load_explicit(&pool->injected, memory_order_relaxed) > 0 || deques_have_work(pool);
}

bool weft_pool_has_work(weft_worker *w)
{
    /* An isolated worker takes only its own region's jobs from its own deque, and
     * nobody else pushes there: what is left in it is foreign (dig_isolated put it
     * back and published it for thieves), so only its latch may wake it. Counting
     * those jobs as work kept a waiter from ever sleeping (a busy spin for as long
     * as its region ran elsewhere). */
    if (w->isolation != 0)
        return false;
    /* Our own deque whole: its private part is ours to run. */
    if (weft_deque_len(&w->deque) > 0)
        return true;
    /* A benched worker takes nothing else; read after the sleeper's fence, so a
     * caller that gave its turn back before it is seen here (caller.c's fetch_and). */
    if (weft_worker_benched(w))
        return false;
    /* A caller slot never takes injected work (find_work). */
    return w->caller ? deques_have_work(w->pool) : weft_pool_work_visible(w->pool);
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
    if (weft_pool_work_visible(pool))
        weft_sleep_wake_one(pool);
}

void weft_sleep_bench(weft_worker *w)
{
    uint32_t s = WORKER_SLEEPING;
    /* seq_cst: as the wakers' CASes; whoever moves a worker out of SLEEPING owns the
     * sleepers count it held. */
    if (!atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_SLEEPING_BENCHED,
                                                 memory_order_seq_cst, memory_order_seq_cst))
        return;
    atomic_fetch_sub_explicit(&w->pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
    /* Another caller may have given a turn back since ours was taken (leaving, or
     * asleep in a wait), its unbench finding this worker still SLEEPING (before our
     * CAS): look again, after
     * the CAS (seq_cst load: ordered after it in the single total order, so either
     * we see that caller's fetch_and, or its unbench CAS comes after ours and sees
     * BENCHED). A worker left BENCHED with its turn back would sleep uncounted. */
    unsigned k = (unsigned)__builtin_popcount(atomic_load_explicit(&w->pool->turns, memory_order_seq_cst));
    if (w->index + k < w->pool->num_threads)
        weft_sleep_unbench(w);
}

/* noinline: the fence (GCC's TSan refuses an inlined one). */
__attribute__((noinline)) void weft_sleep_unbench(weft_worker *w)
{
    weft_pool *pool = w->pool;
    uint32_t s = WORKER_SLEEPING_BENCHED;
    /* seq_cst: the second half of caller.c's Dekker pair (its fetch_and, then this
     * CAS reads the sleeper's state). */
    if (!atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_SLEEPING, memory_order_seq_cst,
                                                 memory_order_seq_cst))
        return; /* awake: it re-reads turns before it sleeps again */
    /* It is a SLEEPING worker now, counted like one. It went to sleep having looked at
     * its own deque only, so work published meanwhile may have woken nobody: the
     * sleeper half of a Dekker pair with the publishers (count ourselves, fence, look;
     * they publish, fence, read pool->idle), as in weft_sleep_idle. */
    atomic_fetch_add_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (weft_pool_work_visible(pool))
        weft_sleep_new_local_work(pool);
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

bool weft_sleep_idle(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns, uint32_t mode)
{
    weft_pool *pool = w->pool;

    /* Announce. seq_cst store + fence: the sleeper half of the Dekker pairs. */
    atomic_store_explicit(&w->sleep_state, mode, memory_order_seq_cst);
    if (mode == WORKER_SLEEPING)
        atomic_fetch_add_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);

    /* A benched worker whose turn came back before it announced itself (the last
     * caller left and found it awake) must not sleep uncounted: back to the search. */
    bool turn_back = mode == WORKER_SLEEPING_BENCHED && !weft_worker_benched(w);
    if (!weft_latch_job_probe(l) && !turn_back && !weft_pool_has_work(w)) {
        weft_counter_inc(&w->stats.sleeps);
        /* seq_cst: pairs with the waker's CAS to AWAKE. Sleep until AWAKE, whatever
         * sleep the state says meanwhile: a caller may move a sleeper between
         * SLEEPING and BENCHED (weft_sleep_bench / _unbench) without waking it. */
        uint32_t s;
        while ((s = atomic_load_explicit(&w->sleep_state, memory_order_seq_cst)) != WORKER_AWAKE) {
            if (weft_futex_wait(&w->sleep_state, s, deadline_ns) == -ETIMEDOUT)
                break;
        }
    }
    /* Leave: if we still hold a sleep state, withdraw it (and the count it holds); if a
     * waker took it, it already adjusted the counter. */
    uint32_t s = atomic_load_explicit(&w->sleep_state, memory_order_seq_cst);
    while (s != WORKER_AWAKE) {
        /* seq_cst: as the wakers' CASes. */
        if (atomic_compare_exchange_weak_explicit(&w->sleep_state, &s, WORKER_AWAKE, memory_order_seq_cst,
                                                  memory_order_seq_cst)) {
            if (s == WORKER_SLEEPING)
                atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
            return false;
        }
    }
    weft_counter_inc(&w->stats.wakeups);
    return true;
}
