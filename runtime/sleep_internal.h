/* sleep_internal.h: the sleep protocol's interface (sleep.c; the argument is in
 * runtime/sleep.md). The rest of the scheduler says what happened — a worker starts
 * looking for work, found some, found none; jobs were published; a caller took or gave
 * back a turn — and sleep.c decides who sleeps and whom to wake.
 *
 * Invariants:
 *  - only sleep.c and the inline functions below read or write pool->idle (the inline
 *    fork of weft/inline.h reads it too, through the worker's `idle` pointer, as
 *    weft__sleep_any_idle does);
 *  - a worker's sleep_state is written AWAKE -> SLEEPING* only by the worker itself,
 *    SLEEPING* -> AWAKE by whoever wins the CAS (the worker or a waker), and the
 *    winner adjusts its count in pool->idle (a caller's bench and unbench move a
 *    sleeper between SLEEPING and BENCHED and its count between the two fields, in
 *    one read-modify-write);
 *  - every wake-up that may not be lost is one side of a Dekker pair of seq_cst
 *    fences or operations (sleep.md, "No lost wake-up").
 * Included by pool_internal.h after the types it uses. */
#ifndef WEFT_SLEEP_INTERNAL_H
#define WEFT_SLEEP_INTERNAL_H

/* pool->idle packs three counts, so that one load sees them together: bits 0-20
 * searching (awake idle workers looking for work), bits 21-41 sleepers (workers in
 * WORKER_SLEEPING), bits 42-63 benched sleepers (workers in WORKER_SLEEPING_BENCHED:
 * asleep, woken for no new work, but counted so that the word is 0 only when no worker
 * is idle at all; sleep.md, "Publishers"). Each count is at most WEFT_POOL_MAX_THREADS.
 * A count may dip below 0 for an instant (a waker that wins the CAS back to AWAKE
 * subtracts before the sleeper's own add lands): it borrows from the field above (the
 * top one wraps modulo 2^64), which reads as a large count meanwhile, never as 0. */
#define WEFT_IDLE_SEARCHER ((uint64_t)1)
#define WEFT_IDLE_SLEEPER ((uint64_t)1 << 21)
#define WEFT_IDLE_BENCHED ((uint64_t)1 << 42)
#define WEFT__IDLE_FIELD ((uint64_t)(1u << 21) - 1)
static inline uint32_t weft__idle_sleepers(uint64_t idle) { return (uint32_t)((idle >> 21) & WEFT__IDLE_FIELD); }
static inline uint32_t weft__idle_searching(uint64_t idle) { return (uint32_t)(idle & WEFT__IDLE_FIELD); }

/* ---- an idle period: start_looking, then no_work_found after each look that found
 * nothing, then work_found (with a job in hand) or stop_looking (latch set, deadline
 * passed). The state is the caller's, on its stack. */
typedef struct weft_idle_state {
    uint32_t mode;       /* how it sleeps now: a WORKER_SLEEPING* state */
    bool searching;      /* counted in pool->idle's searching half */
    unsigned looks;      /* looks since the last yield or sleep */
    uint64_t spin_until; /* search until then, then sleep */
} weft_idle_state;

/* Worker w begins to look for work (now: weft_time_now_ns()). A worker that may take
 * any work counts itself as searching, so publishers need not wake anyone. */
void weft__sleep_start_looking(weft_worker *w, weft_idle_state *st, uint64_t now);
/* A look found nothing (now: its time): pause briefly while the search lasts, else
 * sleep until woken, the latch is set, work w may take appears or the deadline
 * passes. The caller then looks again. */
void weft__sleep_no_work_found(weft_worker *w, weft_idle_state *st, weft_job_latch *l, uint64_t now,
                              uint64_t deadline_ns);
/* The look found a job: w stops searching; if it was the last searcher and work is
 * still visible, it wakes a sleeper (the duty it held, sleep.md "Leaving the
 * search"). */
void weft__sleep_work_found(weft_worker *w, weft_idle_state *st);
/* The idle period ends without a job (latch set, deadline passed). */
void weft__sleep_stop_looking(weft_worker *w, weft_idle_state *st);

/* ---- jobs published */
/* Wake one worker in WORKER_SLEEPING (for the inline functions below). */
void weft__sleep_wake_one(weft_pool *pool);
/* Jobs were published that a thief may take, by a thread that runs them itself if
 * nobody does (the thief that left work behind, a join's own half): wake a sleeper if
 * nobody is searching. No fence: a sleeper may miss them, and then their owner runs
 * them (sleep.md). Inline: two loads of a line that only idle workers write. */
static inline void weft__sleep_new_internal_jobs(weft_pool *pool)
{
    /* seq_cst load (a plain load on x86); see sleep.md for why no fence here. */
    uint64_t idle = atomic_load_explicit(&pool->idle, memory_order_seq_cst);
    if (weft__idle_sleepers(idle) != 0 && weft__idle_searching(idle) == 0)
        weft__sleep_wake_one(pool);
}
/* Jobs were published that only a wake-up makes run (the injector, a spawned task, a
 * deque made public before its owner parks): no wake-up is lost. With no worker idle
 * (the idle word 0) on a pool whose sleepers make a heavy barrier (pool->sleep_heavy),
 * one load; else a seq_cst fence orders the publication before the sleeper check
 * (sleep.md, "Publishers"). */
void weft__sleep_new_injected_jobs(weft_pool *pool);
/* Jobs were published that every worker of the pool must take itself (a broadcast's
 * calls, which a worker takes in any kind of sleep: benched, isolated or not): a
 * seq_cst fence orders the publication before the sleeper checks, then every other
 * worker that sleeps is woken. */
void weft__sleep_new_worker_jobs(weft_pool *pool);
/* Are any workers idle that may take new work (searching or asleep, benched ones
 * aside)? weft__sleep_offer_local_work's test, for a caller that wants to take a cold
 * path before calling it. */
static inline bool weft__sleep_any_idle(const weft_pool *pool)
{
    /* seq_cst load (a plain load on x86); see sleep.md for why no fence here. */
    return (atomic_load_explicit(&pool->idle, memory_order_seq_cst) & (WEFT_IDLE_BENCHED - 1)) != 0;
}
/* A join pushed its second half on w's own deque, privately (deque.md). If workers
 * are idle (searching or asleep), make w's deque stealable now rather than at their
 * split request, since w may not push or pop again for a while; then wake a sleeper
 * if nobody is searching. With no idle worker: one load of a line only idle workers
 * write, nothing else. */
static inline void weft__sleep_offer_local_work(weft_worker *w)
{
    if (__builtin_expect(weft__sleep_any_idle(w->pool), 0)) {
        weft__deque_publish(&w->deque);
        weft__sleep_new_internal_jobs(w->pool);
    }
}
/* A worker's block hook (weft_futex_set_block_hook; arg is the worker): before it
 * parks in any weft wait, share its private deque items and wake a sleeper for them,
 * so a job that blocks waiting for its own join's second half cannot hang the pool. */
void weft__sleep_before_block(void *worker);
/* May pool's sleepers make the heavy barrier that lets publishers skip their fence
 * (sleep.md, "Publishers")? Registers the process for it (membarrier) on the first
 * call; false where the system refuses, or for a pool that sleeps at once (spin_ns
 * below WEFT_SLEEP_HEAVY_MIN_SPIN_NS: a barrier per sleep would cost more than the
 * search it ends). */
bool weft__sleep_heavy_available(uint64_t spin_ns);
#define WEFT_SLEEP_HEAVY_MIN_SPIN_NS 10000u

/* ---- turns (caller.c) and latches (job_latch.c) */
/* A caller took a turn and worker w is benched: if it sleeps as a SLEEPING worker,
 * make it BENCHED (counted as benched, not as a sleeper, so that work callers publish
 * does not pick it for a wake-up that it would only pass on). */
void weft__sleep_bench(weft_worker *w);
/* A caller gave a turn back and worker w has its turn: if it sleeps BENCHED, make it a
 * SLEEPING worker, and wake one sleeper if work is visible (w went to sleep having
 * looked only at its own deque). */
void weft__sleep_unbench(weft_worker *w);
/* Wake w if it sleeps (any kind of sleep): a latch it waits on was set. */
void weft__sleep_wake_worker(weft_worker *w);

#endif
