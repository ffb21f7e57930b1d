/* caller.c: caller slots — how a thread outside every pool works inside one for the
 * length of a call (weft_pool_execute, and the parallel calls made from outside a
 * pool), as oneTBB's external threads take an arena slot and libgomp's master is
 * thread 0 of its team.
 *
 * A pool has WEFT_POOL_CALLER_SLOTS caller slots after its workers: full weft_worker
 * structs (deque, victims, sleep word) that no thread of the pool runs. A caller
 * claims a free one (a bit of pool->callers), becomes that worker for the call —
 * its joins push on the slot's deque, workers steal from it, and while it waits it
 * runs work as a worker does — and gives it back.
 *
 * Invariants:
 *  - a slot has at most one owner: its bit is set by the CAS that claims it and
 *    cleared by its owner only;
 *  - a pool of N threads runs on N threads in all: a caller inside holds a turn
 *    (a bit of pool->turns), and with k turns held, k workers counted back from
 *    `first` are benched (weft__turns_bench) and take no new work; each turn taken
 *    and each turn given back moves one worker across that line and tells it
 *    (sleep.c: weft__sleep_bench / weft__sleep_unbench, which re-checks the line so
 *    that two callers crossing cannot leave it wrong), so a worker never sleeps
 *    benched once its turn is back;
 *  - the caller that takes the first turn picks `first`: the worker that last slept
 *    on the caller's CPU. The worker a caller's work wakes is then one that waits on
 *    another CPU: one woken onto the caller's own CPU would wait for the caller's
 *    time slice to end, the other CPU idle (with pinned workers, always, whenever
 *    the caller runs on the CPU of a worker that is not benched). `first` changes
 *    only with no turn held, when no worker is benched, so no worker crosses the
 *    line but the one each turn moves;
 *  - a caller parked (asleep in a wait, or blocked in a weft lock, latch or channel)
 *    runs nothing, so it lends its turn for as long as it is parked: otherwise, with
 *    every worker benched, the work it waits for that it does not run itself (tasks
 *    queued from outside the pool, the other half of a join its first half blocks
 *    on) would have no thread at all;
 *  - a slot is given back empty: whatever its owner queued and did not wait for
 *    (detached tasks) goes to the injector first, so no job is stranded in a slot
 *    nobody runs. */
#include "pool_internal.h"

#include <sched.h>

#define ALL_SLOTS ((1u << WEFT_POOL_CALLER_SLOTS) - 1u)
_Static_assert(WEFT_POOL_CALLER_SLOTS >= 1 && WEFT_POOL_CALLER_SLOTS <= 31, "caller slots fit pool->callers");

/* The worker to bench first: the one that last went to sleep on this thread's CPU,
 * or the current choice when there is none. */
static unsigned first_to_bench(weft_pool *pool, uint64_t turns)
{
    int cpu = sched_getcpu();
    /* Relaxed: a hint (pool_internal.h). */
    uint32_t hint = cpu >= 0 && (unsigned)cpu < pool->num_cpus
                        ? atomic_load_explicit(&pool->worker_on_cpu[cpu], memory_order_relaxed)
                        : 0;
    return hint != 0 ? hint - 1 : (unsigned)(turns >> 32);
}

static void take_turn(weft_worker *w)
{
    weft_pool *pool = w->pool;
    unsigned n = pool->num_threads;
    uint64_t bit = 1u << (w->index - n), old = atomic_load_explicit(&pool->turns, memory_order_relaxed), new;
    do /* one worker: it is the one to bench, wherever this thread runs */
        new = (uint32_t)old != 0 || n == 1 ? old | bit : (uint64_t)first_to_bench(pool, old) << 32 | bit;
    /* seq_cst: ordered with weft__sleep_bench's CAS and its re-read of `turns` (two
     * callers crossing, sleep.c). */
    while (!atomic_compare_exchange_weak_explicit(&pool->turns, &old, new, memory_order_seq_cst,
                                                  memory_order_relaxed));
    unsigned k = weft__turns_held(old);
    if (k < n) /* the (k+1)-th worker from `first` is benched from now on */
        weft__sleep_bench(&pool->workers[weft__turns_nth(pool, new, k)]);
}

static void lend_turn(weft_worker *w)
{
    weft_pool *pool = w->pool;
    unsigned n = pool->num_threads;
    /* seq_cst: the first half of the Dekker pair with a benched worker going to sleep
     * (sleep.c's sleep_idle: store sleep_state, fence, read turns): either it sees this bit
     * gone, or weft__sleep_unbench below sees it asleep. */
    uint64_t old = atomic_fetch_and_explicit(&pool->turns, ~(uint64_t)(1u << (w->index - n)), memory_order_seq_cst);
    unsigned k = weft__turns_held(old);
    if (k <= n) /* the k-th worker from `first` has its turn back */
        weft__sleep_unbench(&pool->workers[weft__turns_nth(pool, old, k - 1)]);
}

/* A caller parks (its idle sleep in a wait, or any weft lock, latch or channel wait
 * in its code): it shares its private deque items as a worker does, and lends its
 * turn until it wakes. */
static void before_block(void *worker)
{
    weft__sleep_before_block(worker);
    lend_turn(worker);
}

static void after_block(void *worker) { take_turn(worker); }

weft_worker *weft__caller_enter(weft_pool *pool)
{
    /* Relaxed: the CAS below re-reads it. */
    uint32_t mask = atomic_load_explicit(&pool->callers, memory_order_relaxed), taken;
    unsigned slot;
    do {
        if ((mask & ALL_SLOTS) == ALL_SLOTS)
            return NULL;
        slot = (unsigned)__builtin_ctz(~mask);
        taken = mask | 1u << slot;
        /* Acquire: pairs with the release half of weft__caller_leave's fetch_and, so
         * the slot's previous owner's writes (its deque, its block cache) are seen. */
    } while (!atomic_compare_exchange_weak_explicit(&pool->callers, &mask, taken, memory_order_acquire,
                                                    memory_order_relaxed));
    weft_worker *w = &pool->workers[pool->num_threads + slot];
    take_turn(w);
    weft__worker_set_isolation(w, 0);
    weft__current_worker = w;
    weft_futex_set_block_hook(before_block, w);
    weft_futex_set_unblock_hook(after_block, w);
    return w;
}

void weft__caller_leave(weft_worker *w)
{
    weft_pool *pool = w->pool;
    weft_job *job;
    while ((job = weft__deque_pop(&w->deque)) != NULL)
        weft__pool_inject(pool, job);
    weft_futex_set_block_hook(NULL, NULL);
    weft_futex_set_unblock_hook(NULL, NULL);
    weft__current_worker = NULL;
    lend_turn(w);
    /* Release: for the slot's next owner (pairs with enter's acquire CAS). */
    atomic_fetch_and_explicit(&pool->callers, ~(1u << (w->index - pool->num_threads)), memory_order_release);
}
