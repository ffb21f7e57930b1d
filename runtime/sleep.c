/* sleep.c: how idle workers go to sleep and who wakes them — the only file that
 * reads or writes pool->idle and moves workers between sleep states (its interface,
 * sleep_internal.h, says what the rest of the scheduler tells it). The protocol, its
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
 *    reads the sleeper state. With both fences seq_cst, one of them sees the other.
 *    Where the system allows it (membarrier), a counted sleeper also makes a heavy
 *    barrier (every running thread of the process passes a full barrier) before its
 *    re-check, so that new work published while no worker is idle costs its
 *    publisher one load and no fence (sleep.md, "Publishers"). */
#include "pool_internal.h"

#include <weft/trace.h>

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

static long membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0u, 0); }

bool weft__sleep_heavy_available(uint64_t spin_ns)
{
    /* Registering is per process and idempotent; a fork's child inherits it, and an
     * exec'd program starts unregistered (and creates its pools anew). */
    return spin_ns >= WEFT_SLEEP_HEAVY_MIN_SPIN_NS && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* The heavy barrier of a sleeper on a sleep_heavy pool: true once every thread of the
 * process that was running has passed a full memory barrier (or been switched out,
 * which is one). */
static bool heavy_barrier(void) { return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0; }

void weft__sleep_wake_worker(weft_worker *w)
{
    /* seq_cst: the load half of the Dekker pairs (latch SET or new work, then this
     * load; the sleeper's SLEEPING store, then its re-check). */
    uint32_t s = atomic_load_explicit(&w->sleep_state, memory_order_seq_cst);
    while (s != WORKER_AWAKE) {
        if (atomic_compare_exchange_weak_explicit(&w->sleep_state, &s, WORKER_AWAKE,
                                                  memory_order_seq_cst, memory_order_seq_cst)) {
            if (s == WORKER_SLEEPING) /* we own the wake-up: undo its announcement */
                atomic_fetch_sub_explicit(&w->pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
            else if (s == WORKER_SLEEPING_BENCHED)
                atomic_fetch_sub_explicit(&w->pool->idle, WEFT_IDLE_BENCHED, memory_order_relaxed);
            weft__trace_instant(WEFT__TRACE_WAKE, w->index, 0);
            weft_futex_wake(&w->sleep_state, 1);
            return;
        }
    }
}

/* Starts the scan at a random worker, so wake-ups spread over the pool. */
void weft__sleep_wake_one(weft_pool *pool)
{
    weft_worker *self = weft__worker_current();
    uint64_t seed = self ? weft__next_random(&self->rng) : (uint64_t)(uintptr_t)&seed;
    unsigned n = pool->num_threads, start = (unsigned)(seed % n);
    for (unsigned k = 0; k < n; k++) {
        weft_worker *w = &pool->workers[(start + k) % n];
        uint32_t s = WORKER_SLEEPING;
        /* seq_cst: as in weft__sleep_wake_worker. */
        if (atomic_load_explicit(&w->sleep_state, memory_order_seq_cst) == WORKER_SLEEPING &&
            atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_AWAKE,
                                                    memory_order_seq_cst, memory_order_seq_cst)) {
            atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SLEEPER, memory_order_relaxed);
            weft_futex_wake(&w->sleep_state, 1);
            weft__trace_instant(WEFT__TRACE_WAKE, w->index, 0);
            return;
        }
    }
}

/* noinline: GCC's TSan refuses a fence once it is inlined into another function. */
__attribute__((noinline)) void weft__sleep_new_injected_jobs(weft_pool *pool)
{
    if (pool->sleep_heavy) {
        /* The compiler keeps the publication before this load; the hardware may not,
         * but a sleeper's heavy barrier falls before the publication (the sleeper's
         * re-check sees the work) or after this load (which then sees the sleeper
         * counted): sleep.md, "Publishers". seq_cst: a plain load on x86. */
        atomic_signal_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&pool->idle, memory_order_seq_cst) == 0)
            return; /* nobody idle, asleep or searching: whoever idles next finds it */
    }
    atomic_thread_fence(memory_order_seq_cst); /* the publisher's fence of the Dekker pair */
    weft__sleep_new_internal_jobs(pool);
}

/* noinline: the fence (GCC's TSan refuses an inlined one). */
__attribute__((noinline)) void weft__sleep_new_worker_jobs(weft_pool *pool)
{
    atomic_thread_fence(memory_order_seq_cst); /* the publisher's fence of the Dekker pair */
    weft_worker *self = weft__worker_current();
    for (unsigned i = 0; i < pool->num_threads; i++)
        if (&pool->workers[i] != self)
            weft__sleep_wake_worker(&pool->workers[i]); /* any kind of sleep */
}

/* Take w's search count (search_counted 1 -> 0): true if this thread now owns its
 * subtraction. Acquire: pairs with begin_search's release store, so the count it
 * subtracts was added before. */
static bool take_search_count(weft_worker *w)
{
    uint32_t counted = 1;
    return atomic_compare_exchange_strong_explicit(&w->search_counted, &counted, 0, memory_order_acquire,
                                                   memory_order_relaxed);
}

/* A searcher that found a job stops searching. A publisher that saw it searching
 * woke nobody, trusting it to take the job; but it may have taken another one. So the
 * last searcher to leave passes the duty on: if work is still visible and someone
 * sleeps, wake one (sleep.md, "Leaving the search"). Done by the worker, or for it by
 * the caller that benched it, whoever takes its count. */
__attribute__((noinline)) static void leave_search(weft_worker *w, bool found)
{
    weft_pool *pool = w->pool;
    if (!take_search_count(w))
        return; /* a caller that benched us ended our search, and passed the duty on */
    /* seq_cst, then the fence: the searcher half of a Dekker pair with a publisher
     * (queue the job, fence, load pool->idle): either it sees us gone and wakes a
     * sleeper itself, or our loads below see its job. */
    uint64_t idle = atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SEARCHER, memory_order_seq_cst);
    if (weft__idle_searching(idle) != 1 || !found)
        return; /* another searcher keeps the duty; or we go to sleep, which re-checks */
    atomic_thread_fence(memory_order_seq_cst);
    /* Relaxed: ordered by the fence above. */
    if (weft__idle_sleepers(atomic_load_explicit(&pool->idle, memory_order_relaxed)) == 0)
        return;
    if (weft__pool_work_visible(pool))
        weft__sleep_wake_one(pool);
}

void weft__sleep_bench(weft_worker *w)
{
    /* An awake worker may be searching: end its search for it. It would leave the
     * search itself at its next look, but it may not get one soon: its CPU may be the
     * caller's, and a count left standing stops every publisher from waking a sleeper
     * (under a real-time policy, for ever). */
    leave_search(w, true);
    uint32_t s = WORKER_SLEEPING;
    /* seq_cst: as the wakers' CASes; whoever moves a worker out of SLEEPING owns the
     * sleepers count it held. */
    if (!atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_SLEEPING_BENCHED,
                                                 memory_order_seq_cst, memory_order_seq_cst))
        return;
    /* Its count moves from sleepers to benched in one step: the word never reads 0
     * while it sleeps (a publisher's skip relies on it). Relaxed: as the wakers'. */
    atomic_fetch_add_explicit(&w->pool->idle, WEFT_IDLE_BENCHED - WEFT_IDLE_SLEEPER, memory_order_relaxed);
    /* Another caller may have given a turn back since ours was taken (leaving, or
     * asleep in a wait), its unbench finding this worker still SLEEPING (before our
     * CAS): look again, after
     * the CAS (seq_cst load: ordered after it in the single total order, so either
     * we see that caller's fetch_and, or its unbench CAS comes after ours and sees
     * BENCHED). A worker left BENCHED with its turn back would sleep uncounted. */
    if (!weft__turns_bench(w->pool, atomic_load_explicit(&w->pool->turns, memory_order_seq_cst), w->index))
        weft__sleep_unbench(w);
}

/* noinline: the fence (GCC's TSan refuses an inlined one). */
__attribute__((noinline)) void weft__sleep_unbench(weft_worker *w)
{
    weft_pool *pool = w->pool;
    uint32_t s = WORKER_SLEEPING_BENCHED;
    /* seq_cst: the second half of caller.c's Dekker pair (its fetch_and, then this
     * CAS reads the sleeper's state). */
    if (!atomic_compare_exchange_strong_explicit(&w->sleep_state, &s, WORKER_SLEEPING, memory_order_seq_cst,
                                                 memory_order_seq_cst))
        return; /* awake: it re-reads turns before it sleeps again */
    /* It is a SLEEPING worker now, counted like one (its count moves from benched to
     * sleepers in one step). It went to sleep having looked at its own deque only, so
     * work published meanwhile may have woken nobody: the sleeper half of a Dekker
     * pair with the publishers that fenced (count ourselves, fence, look; they
     * publish, fence, read pool->idle), as in sleep_idle. A publisher that skipped its
     * fence saw the word 0 before this worker's own announcement, which the worker's
     * heavy barrier followed: its work is visible here (sleep.md, "Publishers"). */
    atomic_fetch_add_explicit(&pool->idle, WEFT_IDLE_SLEEPER - WEFT_IDLE_BENCHED, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (weft__pool_work_visible(pool))
        weft__sleep_new_internal_jobs(pool);
}

void weft__sleep_before_block(void *worker)
{
    weft_worker *w = worker;
    /* Owner-only reads of its own deque: exact. Nothing private: nothing to do (the
     * common case, e.g. the worker's own idle sleep). */
    if (weft__deque_len(&w->deque) == weft__deque_len_public(&w->deque))
        return;
    weft__deque_publish(&w->deque);
    weft__sleep_new_injected_jobs(w->pool); /* fence, then wake a sleeper if nobody searches */
}

/* Record the CPU w goes to sleep on (pool->worker_on_cpu): the kernel wakes a thread
 * on the CPU it slept on when that CPU is free, so this is where w runs when next
 * woken. Workers only: a caller slot is no worker to bench. */
static void note_cpu(weft_worker *w)
{
    if (!w->caller)
        weft__worker_note_cpu(w, sched_getcpu());
}

/* A sleep whose heavy barrier failed ends this often for a re-check. */
#define HEAVY_FAILED_SLICE_NS 1000000u

/* Idle worker w found no work: sleep in `mode` (a WORKER_SLEEPING* state) until
 * woken, the latch is set, work it may take exists, or the deadline passes. Returns
 * true if another thread woke it. noinline: its fence (GCC's TSan refuses an inlined
 * one). */
__attribute__((noinline)) static bool sleep_idle(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns, uint32_t mode)
{
    weft_pool *pool = w->pool;

    /* Announce. seq_cst store + fence: the sleeper half of the Dekker pairs. A counted
     * sleeper on a sleep_heavy pool then makes the heavy barrier, the sleeper half of
     * the pair with publishers that skip their fence (sleep.md, "Publishers"). Should
     * the system refuse it after all (it accepted the registration), this sleep is in
     * slices of HEAVY_FAILED_SLICE_NS, each ending in a re-check. */
    bool counted = mode != WORKER_SLEEPING_ISOLATED;
    atomic_store_explicit(&w->sleep_state, mode, memory_order_seq_cst);
    if (counted)
        atomic_fetch_add_explicit(&pool->idle, mode == WORKER_SLEEPING ? WEFT_IDLE_SLEEPER : WEFT_IDLE_BENCHED,
                                  memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    bool sliced = counted && pool->sleep_heavy && !heavy_barrier();

    /* A benched worker whose turn came back before it announced itself (the last
     * caller left and found it awake) must not sleep uncounted: back to the search. */
    bool turn_back = mode == WORKER_SLEEPING_BENCHED && !weft__worker_benched(w);
    uint64_t t0 = 0;
    if (!weft__job_latch_probe(l) && !turn_back && !weft__pool_has_work(w)) {
        weft__counter_inc(&w->stats.sleeps);
        note_cpu(w);
        t0 = weft__trace_begin();
        /* seq_cst: pairs with the waker's CAS to AWAKE. Sleep until AWAKE, whatever
         * sleep the state says meanwhile: a caller may move a sleeper between
         * SLEEPING and BENCHED (weft__sleep_bench / _unbench) without waking it. */
        uint32_t s;
        while ((s = atomic_load_explicit(&w->sleep_state, memory_order_seq_cst)) != WORKER_AWAKE) {
            uint64_t until = deadline_ns;
            if (__builtin_expect(sliced, 0)) {
                uint64_t slice = weft_time_now_ns() + HEAVY_FAILED_SLICE_NS;
                until = slice < until ? slice : until;
            }
            if (weft_futex_wait(&w->sleep_state, s, until) == -ETIMEDOUT)
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
            else if (s == WORKER_SLEEPING_BENCHED)
                atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_BENCHED, memory_order_relaxed);
            weft__trace_end(WEFT__TRACE_SLEEP, t0, 0, 0);
            return false;
        }
    }
    weft__counter_inc(&w->stats.wakeups);
    weft__trace_end(WEFT__TRACE_SLEEP, t0, 1, 0);
    return true;
}

/* ---------------------------------------------------------------- an idle period */

/* The search's pace: pauses between looks, and a yield every so many looks. */
#define IDLE_PAUSES 8u
#define IDLE_YIELD_EVERY 16u

/* How w sleeps when idle: isolated waiters and callers wait for their latch only (not
 * counted, never picked for new work); a benched worker waits for its turn; any other
 * worker is a SLEEPING one, and searches (counted) before it sleeps. */
static uint32_t idle_mode(const weft_worker *w)
{
    if (w->isolation != 0 || w->caller)
        return WORKER_SLEEPING_ISOLATED;
    return weft__worker_benched(w) ? WORKER_SLEEPING_BENCHED : WORKER_SLEEPING;
}

/* Count w as searching if its mode says it searches. */
static void begin_search(weft_worker *w, weft_idle_state *st, uint64_t now)
{
    st->mode = idle_mode(w);
    st->searching = st->mode == WORKER_SLEEPING;
    if (st->searching) { /* relaxed: a hint for publishers (see sleep.md) */
        atomic_fetch_add_explicit(&w->pool->idle, WEFT_IDLE_SEARCHER, memory_order_relaxed);
        /* Release: pairs with take_search_count's acquire CAS (the count is added). */
        atomic_store_explicit(&w->search_counted, 1, memory_order_release);
    }
    st->spin_until = now + w->pool->spin_ns;
}

void weft__sleep_start_looking(weft_worker *w, weft_idle_state *st, uint64_t now)
{
    st->looks = 0;
    begin_search(w, st, now);
}

void weft__sleep_no_work_found(weft_worker *w, weft_idle_state *st, weft_job_latch *l, uint64_t now,
                              uint64_t deadline_ns)
{
    weft_pool *pool = w->pool;
    if (st->searching && weft__worker_benched(w)) {
        /* A caller took our turn: stop searching, passing the duty on. A benched
         * worker does not search: it sleeps at once. */
        leave_search(w, true);
        st->searching = false;
        st->mode = WORKER_SLEEPING_BENCHED;
    }
    if (now < st->spin_until && st->mode != WORKER_SLEEPING_BENCHED) {
        /* A short pause between looks: what we wait for (a caller's next loop, the
         * latch of a stolen half) usually comes within a microsecond, and each look
         * waits out its pause first. Every IDLE_YIELD_EVERY looks, yield the CPU, so
         * a runnable thread that needs it is not kept waiting (the active policy
         * searches for milliseconds). Each pause first reads what ends it: our latch
         * and, searching, the first caller slot's public part, where the next loop of
         * a thread calling from outside appears (its offer wakes nobody while we
         * search). Lines that stay in this cache until written: a set or an offer is
         * seen a pause after it lands, not after the pauses left and the next look.
         * Not the other slots: the mask of those in use shares a line with `turns`,
         * which every caller writes as it enters. */
        for (unsigned i = 0; i < IDLE_PAUSES; i++) {
            if (weft__job_latch_probe(l) || (st->searching && weft__pool_first_caller_has_work(pool)))
                return;
            weft_cpu_relax();
        }
        if (++st->looks % IDLE_YIELD_EVERY == 0)
            weft_thread_yield();
        return;
    }
    if (st->searching && take_search_count(w)) /* seq_cst: ordered before the sleep announcement (sleep.md) */
        atomic_fetch_sub_explicit(&pool->idle, WEFT_IDLE_SEARCHER, memory_order_seq_cst);
    uint32_t slept = st->mode;
    bool woken = sleep_idle(w, l, deadline_ns, slept);
    begin_search(w, st, weft_time_now_ns());
    if (!st->searching && woken && slept == WORKER_SLEEPING && st->mode == WORKER_SLEEPING_BENCHED)
        weft__sleep_new_injected_jobs(pool); /* woken for work we may not take: pass it on */
}

void weft__sleep_work_found(weft_worker *w, weft_idle_state *st)
{
    if (st->searching)
        leave_search(w, true);
}

void weft__sleep_stop_looking(weft_worker *w, weft_idle_state *st)
{
    if (st->searching)
        leave_search(w, false);
}
