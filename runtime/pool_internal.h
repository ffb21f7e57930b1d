/* pool_internal.h: the scheduler's shared types — jobs, job latches, workers, pools —
 * and the calls its files make to one another. Not installed.
 *
 * Invariants:
 *  - A job is executed exactly once, by the worker that popped, stole or dequeued it.
 *    (A task's function runs once too, but maybe on its joiner: spawn.c's claim; the
 *    job then still executes, as a no-op that only drops its references.)
 *  - A job latch goes UNSET -> SET once. After the SET, the setter touches only the
 *    waiter worker it copied before (workers live as long as their pool), and at most
 *    one futex_wake on the latch's address (harmless if the memory was reused).
 *  - Sleeping and waking are sleep.c's (sleep_internal.h, runtime/sleep.md): only it
 *    reads or writes pool->idle and the workers' sleep states. */
#ifndef WEFT_POOL_INTERNAL_H
#define WEFT_POOL_INTERNAL_H

#include <weft/inline.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "deque_internal.h"
#include "topology_internal.h"

typedef struct weft_worker weft_worker;
typedef struct weft_job weft_job;
typedef struct weft_bcast weft_bcast;

/* A unit of work (struct weft_job, defined in weft/inline.h: inline forks build
 * jobs). `execute` runs it and signals whatever completion it has; the job's memory
 * may be gone when execute returns. `isolation` is the isolation tag of the code that
 * created it (0: none); `next` links it in the injector queue. */

/* ---- job latch (job_latch.c) */
typedef struct weft_job_latch {
    _Atomic uint32_t state;
    _Atomic(void *) waiter;
} weft_job_latch;
enum { LATCH_UNSET = 0, LATCH_SET = 1, LATCH_SLEEPER = 2 /* unset; an outside thread sleeps */ };

static inline void weft__job_latch_init(weft_job_latch *l, weft_worker *waiter)
{
    atomic_init(&l->state, LATCH_UNSET);
    atomic_init(&l->waiter, waiter);
}
static inline bool weft__job_latch_probe(weft_job_latch *l)
{
    /* Acquire: pairs with the seq_cst exchange in job_latch.c's set_state, so the job's
     * writes are visible to the waiter. */
    return atomic_load_explicit(&l->state, memory_order_acquire) == LATCH_SET;
}
/* For latches whose waiter is fixed at init: copies it before setting. */
void weft__job_latch_set(weft_job_latch *l);
/* For latches whose waiter registers late (tasks): takes it after setting, so the
 * caller must keep l alive across the call. A waiter of another pool than the
 * setter's registers with weft__job_latch_register(l, w, true). */
void weft__job_latch_set_registered(weft_job_latch *l);
/* Register w (a worker, a caller slot, or NULL for an outside thread) as the waiter
 * of a late-registering latch. `cross`: w's pool is not the one whose thread will set
 * the latch; w's pool then counts the setter as a cross waker (its destroy waits for
 * it) until the setter has woken w or weft__job_latch_unregister took w back. */
void weft__job_latch_register(weft_job_latch *l, weft_worker *w, bool cross);
/* Take the registration back (a timed-out wait; `cross` as registered): after it, no
 * setter touches the waiter. */
void weft__job_latch_unregister(weft_job_latch *l, bool cross);
/* Block a thread that is not a worker until set or the deadline. 0 or -ETIMEDOUT. */
int weft__job_latch_wait_external(weft_job_latch *l, uint64_t deadline_ns);

/* ---- workers and pools */
/* Sleep states. SLEEPING is counted in pool->idle's sleepers and may be woken for any
 * new work; the other two are not counted and are woken only on purpose: ISOLATED by
 * the latch of an isolated waiter or of a caller slot, BENCHED by the caller whose
 * leaving gives the worker its turn back (caller.c). */
enum { WORKER_AWAKE = 0, WORKER_SLEEPING = 1, WORKER_SLEEPING_ISOLATED = 2, WORKER_SLEEPING_BENCHED = 3 };

/* Heap job block kinds (block_cache_internal.h): the three sizes a worker caches, and
 * a malloc of a job's own size (never cached). */
enum {
    WEFT_BLOCK_TINY = 0,
    WEFT_BLOCK_SMALL = 1,
    WEFT_BLOCK_LARGE = 2,
    WEFT_BLOCK_CACHED_KINDS = 3,
    WEFT_BLOCK_HEAP = 3
};

/* A per-worker counter: written only by its worker (load + store, no RMW), read by
 * anyone (relaxed: a statistic, ordered with nothing). */
typedef _Atomic uint64_t weft_counter;

/* The deque and the two fields after it are what inline forks read and write
 * (weft/inline.h's struct weft__worker_view, part of WEFT_ABI_VERSION; inline.c
 * checks each offset at compile time): move none of them without bumping it. */
struct weft_worker {
    weft_deque deque;
    uint64_t isolation; /* tag of the innermost isolated region running here; written
                         * only by weft__worker_set_isolation (thieves read it) */
    const _Atomic uint64_t *idle; /* &pool->idle, for inline forks */
    weft_pool *pool;
    unsigned index;     /* workers: [0, num_threads); caller slots: num_threads + slot */
    bool caller;        /* a caller slot (caller.c): run by an outside thread for a call */
    uint64_t rng;
    unsigned *victims;      /* other workers, nearest first */
    unsigned level_end[4];  /* victims[level_end[k-1] .. level_end[k]) share level k */
    unsigned num_levels;
    weft_job_latch terminate;
    weft_thread *thread;
    struct {
        weft_counter jobs_run, steals, failed_steals, sleeps, wakeups;
        weft_counter idle_ns; /* time in idle(): searching or asleep (for WEFT_STATS) */
    } stats;
    uint64_t cpu_ns; /* the thread's CPU time, stored when it leaves its loop (WEFT_STATS) */
    /* free job blocks, a list per cached kind (block_cache_internal.h); this worker only */
    void *block_cache[WEFT_BLOCK_CACHED_KINDS];
    unsigned block_cache_len[WEFT_BLOCK_CACHED_KINDS];
    unsigned scope_pool_holds;   /* scopes owned here counted in pool->pending as one (scope.c) */
    /* Broadcasts (broadcast.c), workers only: the sequence number of the last one this
     * worker ran or passed (this worker only), and the job find_work hands out while
     * one is pending for it (its execute runs the next call; immutable). */
    uint64_t bcast_seen;
    weft_job bcast_job;
    /* The _fifo spawns' queue (fifo.c): tasks this worker (or caller slot) queued with
     * weft_spawn_fifo / weft_scope_spawn_fifo, oldest first, linked through `next`;
     * tickets on its deque take them. On a line of its own: thieves' tickets lock it. */
    WEFT_CACHE_ALIGNED weft_mutex fifo_lock;
    weft_job *fifo_head, *fifo_tail;
    WEFT_CACHE_ALIGNED _Atomic uint32_t sleep_state; /* futex word; WORKER_* */
    /* 1 while this worker's search is counted in pool->idle (sleep.c): whoever moves
     * it to 0 — the worker leaving its search, or the caller that benches it —
     * subtracts the count, so a worker benched while it cannot run (its CPU taken by
     * that caller) does not hold the count for ever. */
    _Atomic uint32_t search_counted;
};

struct weft_pool {
    weft_worker *workers; /* num_threads workers, then WEFT_POOL_CALLER_SLOTS caller slots */
    unsigned num_threads;
    uint64_t spin_ns; /* how long an idle worker searches before sleeping */
    bool print_stats;
    /* Its counted sleepers make a heavy barrier before their re-check, so a publisher
     * that sees no worker idle skips its fence (sleep.c). Immutable, and read by every
     * publish: here with the other immutable fields, not on a line others write. */
    bool sleep_heavy;
    weft_topology topo;
    weft_pin_policy pin;
    weft_place_claim places; /* pinned: worker i on place places.base + i */
    _Atomic uint32_t pin_warned; /* the "cannot pin" warning is printed once per pool */
    /* 0 while pool creation starts the worker threads, then 1 (a futex word): a worker
     * places itself only after, since loading hwloc (dlopen; when sysfs cannot describe
     * the machine) in one worker would hold up the creation of the next thread (the
     * loader's lock; pool.c: worker_place). */
    _Atomic uint32_t spawned;
    /* injector: work from threads that are not workers of this pool */
    weft_mutex inject_lock;
    weft_job *inject_head, *inject_tail;
    WEFT_CACHE_ALIGNED _Atomic size_t injected;
    /* sleep accounting (sleep.c): three counters in one word (sleep_internal.h), so
     * that "is anyone idle?" is one load (weft__sleep_any_idle, on the join's fast
     * path): searching, awake idle workers looking for work; sleepers, workers in
     * WORKER_SLEEPING; benched sleepers, in WORKER_SLEEPING_BENCHED. Add/subtract
     * WEFT_IDLE_SEARCHER / WEFT_IDLE_SLEEPER / WEFT_IDLE_BENCHED. searching never
     * drops below 0 (only the worker itself counts itself in and out); the others
     * may, for an instant (sleep_internal.h). */
    WEFT_CACHE_ALIGNED _Atomic uint64_t idle;
    /* Caller slots taken (caller.c): bit s set while an outside thread works in slot s
     * (claimed by its CAS, cleared by its owner); thieves and sleepers look at these
     * slots' deques. */
    WEFT_CACHE_ALIGNED _Atomic uint32_t callers;
    /* Turns held (caller.c), one word so that a bench decision is one load. Low half:
     * bit s set while slot s's caller is inside and not parked (a parked caller lends
     * its turn). High half: `first`, the worker benched first; with k bits set, the k
     * workers first, first - 1, ... (modulo num_threads) are benched: they take no
     * new work (weft__turns_bench). `first` changes only while no turn is held. */
    _Atomic uint64_t turns;
    /* worker_on_cpu[c]: 1 + the index of the worker that runs on CPU c (0: none
     * known); num_cpus entries. Written by that worker: a pinned one when it binds
     * itself (all the CPUs of its place), any one when it goes to sleep (sleep.c:
     * where the kernel will wake it). Read by a caller taking the first turn, to bench
     * the worker that shares its CPU. A hint: relaxed, and any value is safe. */
    _Atomic uint32_t *worker_on_cpu;
    unsigned num_cpus;
    /* heap jobs (tasks, scope jobs) not yet finished; weft_pool_destroy and
     * weft_pool_wait_idle wait for 0 */
    WEFT_CACHE_ALIGNED _Atomic uint32_t pending;
    _Atomic uint32_t idle_waiters; /* threads waiting for pending to reach 0 */
    /* Threads of other pools about to wake, or waking, one of this pool's workers
     * through a job latch (job_latch.c): weft_pool_destroy frees nothing until it is 0. */
    _Atomic uint32_t cross_wakers;
    weft_pool *forked_from; /* a global pool: the one a fork left unusable (pool.c) */
    /* The config's hooks (immutable; NULL: none), given hook_ctx. */
    void *hook_ctx;
    weft_worker_hook on_start, on_exit;
    weft_task_error_fn on_task_error;
    /* Broadcasts in progress (broadcast.c): their list, oldest first, under bcast_lock,
     * and the sequence number of the newest (0: none yet), written under the lock and
     * read by every worker's find_work (relaxed: a hint, see weft__broadcast_pending). */
    WEFT_CACHE_ALIGNED _Atomic uint64_t bcast_seq;
    weft_mutex bcast_lock;
    weft_bcast *bcast_head, *bcast_tail;
    /* Free job blocks on their way from the workers that free them to the ones that
     * allocate (block_cache_internal.h, "The depot"): per cached kind, a stack of full
     * lists (under block_depot_lock; the head also read relaxed as a hint) and the
     * blocks the stack may hold at most (the blocks the workers malloc'd; added to
     * relaxed). On a line of its own: touched once per list and
     * per malloc'd block. */
    WEFT_CACHE_ALIGNED weft_mutex block_depot_lock;
    _Atomic(void *) block_depot[WEFT_BLOCK_CACHED_KINDS];
    _Atomic size_t block_depot_room[WEFT_BLOCK_CACHED_KINDS];
    /* lists on the stack: written under the lock, also read relaxed as a hint */
    _Atomic size_t block_depot_len[WEFT_BLOCK_CACHED_KINDS];
};

/* The worker running on this thread, or NULL: weft__current_worker, declared in
 * weft/inline.h (inline forks read it too), defined in pool.c. initial-exec TLS: one
 * load from the thread pointer, inlined into the join fast path. */
static inline weft_worker *weft__worker_current(void) { return weft__current_worker; }
/* ---- caller slots (caller.c) */
/* Take a free caller slot of `pool` for the calling thread (not a worker of any pool)
 * and make it the thread's current worker; NULL when every slot is taken. */
weft_worker *weft__caller_enter(weft_pool *pool);
/* Give the slot back (its deque must hold only work that may run elsewhere: it is
 * handed to the injector). */
void weft__caller_leave(weft_worker *w);
/* Record that worker w runs on CPU `cpu` (pool->worker_on_cpu; an out-of-range cpu,
 * e.g. sched_getcpu's -1, is ignored). Written only when it changes. */
static inline void weft__worker_note_cpu(weft_worker *w, int cpu)
{
    weft_pool *pool = w->pool;
    if (cpu < 0 || (unsigned)cpu >= pool->num_cpus)
        return;
    /* Relaxed: a hint (pool->worker_on_cpu). */
    if (atomic_load_explicit(&pool->worker_on_cpu[cpu], memory_order_relaxed) != w->index + 1)
        atomic_store_explicit(&pool->worker_on_cpu[cpu], w->index + 1, memory_order_relaxed);
}
/* pool->turns, taken apart: how many turns are held, and which worker is benched
 * j-th (j from 0) under it. */
static inline unsigned weft__turns_held(uint64_t turns)
{
    uint32_t x = (uint32_t)turns;
#ifdef __POPCNT__
    return (unsigned)__builtin_popcount(x);
#else
    /* Without the popcnt instruction, __builtin_popcount is a call into libgcc; this
     * is a dozen inline instructions (a caller counts turns on every entry and exit). */
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
#endif
}
static inline unsigned weft__turns_nth(const weft_pool *pool, uint64_t turns, unsigned j)
{
    unsigned first = (unsigned)(turns >> 32), n = pool->num_threads;
    return (first + n - j % n) % n;
}
/* Is worker `index` benched under `turns`? The k = weft__turns_held ones counted back
 * from `first` are, so a pool of N runs on N threads in all. */
static inline bool weft__turns_bench(const weft_pool *pool, uint64_t turns, unsigned index)
{
    unsigned k = weft__turns_held(turns), first = (unsigned)(turns >> 32), n = pool->num_threads;
    return k != 0 && (first >= index ? first - index : first + n - index) < k;
}
/* Is worker w stepping aside for callers? A caller slot never is. A hint, re-read
 * after the sleep fence (and heavy barrier) in weft__pool_has_work. seq_cst (a plain
 * load on x86): a sleeper's re-check that reads it after its heavy barrier is ordered
 * against a leaving caller's fetch_and (sleep.md, "The skip"). */
static inline bool weft__worker_benched(const weft_worker *w)
{
    return !w->caller &&
           weft__turns_bench(w->pool, atomic_load_explicit(&w->pool->turns, memory_order_seq_cst), w->index);
}

/* ---- broadcasts (broadcast.c) */
/* Is a broadcast call waiting for w, a worker of its pool? Relaxed: a hint that
 * find_work acts on (the call itself is taken under bcast_lock), and re-read after
 * the sleeper's fence in weft__pool_has_work, the other half of the publisher's
 * fence in weft__sleep_new_worker_jobs. Not for caller slots (never targets). */
static inline bool weft__broadcast_pending(const weft_worker *w)
{
    return atomic_load_explicit(&w->pool->bcast_seq, memory_order_relaxed) != w->bcast_seen;
}
/* The execute of every worker's bcast_job: run the oldest broadcast call pending for
 * w, if any is still there. */
void weft__broadcast_execute(weft_job *job, weft_worker *w);

/* The pool to use for `pool` == NULL: the current worker's, else the global one.
 * Inline: every scope's init resolves its pool. */
static inline int weft__pool_resolve(weft_pool *pool, weft_pool **out)
{
    weft_worker *w;
    if (!pool && (w = weft__worker_current()) != NULL)
        pool = w->pool;
    if (pool) {
        *out = pool;
        return 0;
    }
    return weft_pool_global(out);
}
/* Run jobs until the latch is set or the deadline passes: 0 or -ETIMEDOUT. */
int weft__worker_wait_until(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns);
/* Execute one job on w, in the job's isolation (weft__worker_run_job_by, below, with
 * the job's own execute). */
void weft__worker_run_job(weft_worker *w, weft_job *job);
/* Tracing on: execute job on w inside a job span of its own (what run_job does then;
 * no counter, no isolation change). */
void weft__worker_execute_traced(weft_worker *w, weft_job *job);
/* A job w may take now, as its wait loop looks for one (own false: a broadcast call
 * for it, its own deque, then stealing and the injector, within its isolation and
 * bench), or only its own (own true: a broadcast call for it, its own deque). NULL
 * if none. */
weft_job *weft__worker_find_work(weft_worker *w, bool own);
/* Queue a job from outside the pool (or for another pool), waking a worker. */
void weft__pool_inject(weft_pool *pool, weft_job *job);
/* Queue a job: on the current worker's deque if it belongs to `pool`, else inject.
 * Returns 0 or -ENOMEM. */
int weft__pool_submit(weft_pool *pool, weft_job *job);
/* The same for a _fifo spawn: on the current worker of `pool`, through its fifo
 * (weft__fifo_push), else injected (the injector is FIFO). 0 or -ENOMEM. */
int weft__pool_submit_fifo(weft_pool *pool, weft_job *job);
/* ---- the _fifo spawns' order (fifo.c) */
/* On w (the current worker or caller slot, of job's pool): queue job at the tail of
 * w's fifo and push a ticket for it on w's deque, not yet published. Returns 0 or
 * -ENOMEM (nothing queued). */
int weft__fifo_push(weft_worker *w, weft_job *job);
/* Wait for latch l from any thread: helps if on a worker, else blocks. */
int weft__pool_wait_latch(weft_job_latch *l, uint64_t deadline_ns);
/* A task of `pool` failed with nobody to tell (a detached task's non-NULL result, a
 * scope task's non-zero status): give it to the pool's on_task_error, if any. Called
 * by the task's runner right after it returned, before it counts as finished. */
static inline void weft__pool_task_failed(weft_pool *pool, const weft_task_failure *f)
{
    if (pool->on_task_error)
        pool->on_task_error(pool->hook_ctx, f);
}
/* Count heap jobs for weft_pool_destroy and weft_pool_wait_idle. */
void weft__pool_pending_add(weft_pool *pool);
void weft__pool_pending_done(weft_pool *pool);

/* ---- the work a worker may take (pool.c), as the sleep protocol re-checks it */
/* Any work this worker could take right now? */
bool weft__pool_has_work(weft_worker *w);
/* Any work in a queue that others may take (injector, public deque parts)? A snapshot. */
bool weft__pool_work_visible(weft_pool *pool);
/* Public items in the first caller slot's deque? A snapshot (relaxed loads). The slot a
 * thread that calls alone from outside takes, call after call (caller.c claims the
 * lowest free slot); given back empty. */
static inline bool weft__pool_first_caller_has_work(weft_pool *pool)
{
    return weft__deque_len_public(&pool->workers[pool->num_threads].deque) > 0;
}

#include "sleep_internal.h"
#include "block_cache_internal.h"

/* xorshift64*: a per-worker pseudo-random stream (victim choice, wake choice). */
static inline uint64_t weft__next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline void weft__counter_add(weft_counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void weft__counter_inc(weft_counter *c) { weft__counter_add(c, 1); }

/* Set w's isolation tag (w's own thread only). A relaxed atomic store, though only
 * w's thread writes it and reads it plainly: a thief reads it after the split of w's
 * deque (steal_from) to take one job, not several, from a worker inside an isolated
 * region — that worker cannot steal, so its region's jobs must stay where it pops. */
static inline void weft__worker_set_isolation(weft_worker *w, uint64_t tag)
{
    __atomic_store_n(&w->isolation, tag, __ATOMIC_RELAXED);
}

#ifdef WEFT_BUILDING /* weft/trace.h declares the trace points to libweft's files only */
#include <weft/trace.h>
/* Execute job on w (the calling thread's worker), in the job's isolation, through
 * `execute`: job->execute, or the function a caller knows it to be, which it then calls
 * directly (a scope's owner running its own tasks: scope.c). */
static inline __attribute__((always_inline)) void weft__worker_run_job_by(weft_worker *w, weft_job *job,
                                                                          void (*execute)(weft_job *, weft_worker *))
{
    uint64_t saved = w->isolation;
    weft__worker_set_isolation(w, job->isolation);
    weft__counter_inc(&w->stats.jobs_run);
    if (weft__trace_on())
        weft__worker_execute_traced(w, job);
    else
        execute(job, w);
    weft__worker_set_isolation(w, saved);
}
#endif

#endif
