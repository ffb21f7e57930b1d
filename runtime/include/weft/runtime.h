/* weft/runtime.h: threads, and the work-stealing scheduler: pools, join, spawn,
 * scopes, isolation.
 *
 * Section 1, threads: 1:1 OS threads with a name, a stack size and an optional CPU,
 * joined for their result (std::thread in C).
 * Section 2, the scheduler. A pool is a set of worker threads, each with a
 * work-stealing deque. The global pool starts on first use (size: WEFT_NUM_THREADS,
 * else the cores this process may run on), or earlier, configured from code, by
 * weft_pool_global_init. Every entry point may be called from any
 * thread: from a pool's worker it forks in place; from any other thread it hands the
 * work to the pool and blocks until it is done. Waiting inside a worker runs other
 * work meanwhile, so nesting never deadlocks.
 *
 * Thread-safety: every call may be made from any thread, concurrently, except where
 * its comment names one thread: a thread or task handle is joined (or detached) by
 * one thread, once; a scope is waited on by the thread that initialised it; a pool is
 * destroyed once, when no other thread calls into it.
 *
 * Handles: a successful join (or detach) frees the handle. Joining, try-joining or
 * detaching it again is undefined behaviour, not an -EINVAL: the memory may hold
 * another handle by then. Debug builds of libweft (NDEBUG not defined) keep the set
 * of live handles and return -EINVAL for one that is not in it (unless its memory
 * was already reused for a new handle). */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <weft/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------
 * Threads */

/* An OS thread started by weft_thread_spawn. Opaque; freed by a successful join or
 * by detach (using it afterwards is undefined: see "Handles" above). */
typedef struct weft_thread weft_thread;

typedef void *(*weft_thread_fn)(void *arg);

/* Longest name kept (bytes, without the terminating NUL); longer names are cut.
 * The OS (ps, top, gdb) sees only the first 15 bytes. */
#define WEFT_THREAD_NAME_MAX 63

typedef struct weft_thread_options {
    const char *name;  /* NULL: unnamed; copied, need not outlive the call */
    size_t stack_size; /* 0: the system default; else at least PTHREAD_STACK_MIN */
    int pin_cpu;       /* -1: not pinned; else the OS index of the CPU to run on */
} weft_thread_options;
#define WEFT_THREAD_OPTIONS_INIT {NULL, 0, -1}

/* Start fn(arg) on a new thread; *out is its handle. opts NULL means defaults.
 * Returns 0; -EINVAL (fn or out NULL, stack_size too small, pin_cpu not a CPU this
 * process may use); -EAGAIN (a system limit on threads or memory); -ENOMEM. On error
 * no thread was started and *out is untouched. Thread-safe. */
WEFT_API int weft_thread_spawn(const weft_thread_options *opts, weft_thread_fn fn, void *arg,
                               weft_thread **out);

/* Wait for the thread to finish, store fn's return value in *result (if result is
 * not NULL) and free the handle. Returns 0; -EINVAL (NULL; debug builds: a handle
 * already joined or detached); -EDEADLK (a thread joining itself). Call once per
 * handle: a second join is undefined in release builds. */
WEFT_API int weft_thread_join(weft_thread *t, void **result);
/* Like join, giving up after timeout_ns: on -ETIMEDOUT the handle stays valid. */
WEFT_API int weft_thread_join_timeout(weft_thread *t, uint64_t timeout_ns, void **result);
/* Join if finished, else -EAGAIN (the handle stays valid). Never blocks. Also
 * -EINVAL (as join), -EDEADLK (the thread itself). */
WEFT_API int weft_thread_try_join(weft_thread *t, void **result);
/* Let the thread run on unjoined; its resources go when it ends. Frees the handle.
 * Returns 0 or -EINVAL (as join). */
WEFT_API int weft_thread_detach(weft_thread *t);

/* Sleep at least ns nanoseconds (resumed after signals). Returns 0. */
WEFT_API int weft_thread_sleep(uint64_t ns);
/* Offer the CPU to another runnable thread. */
WEFT_API void weft_thread_yield(void);
/* The calling thread's name: as given to spawn or set_name, "main" for the process's
 * initial thread, "" for other unnamed threads. Valid until the thread renames
 * itself or exits. */
WEFT_API const char *weft_thread_name(void);
/* Rename the calling thread (cut to WEFT_THREAD_NAME_MAX bytes; the OS sees 15).
 * Returns 0 or -EINVAL (NULL). */
WEFT_API int weft_thread_set_name(const char *name);

/* ------------------------------------------------------------------------------
 * Pools */

typedef struct weft_pool weft_pool;

/* "Consecutive" places follow hwloc's logical order (lstopo's L# indexes: package by
 * package, cache by cache, whatever the OS numbers the CPUs), among the places that
 * hold a CPU this process may use. */
typedef enum weft_pin_policy {
    WEFT_PIN_DEFAULT = 0, /* WEFT_PIN, else `core` when threads <= cores, else `none` */
    WEFT_PIN_NONE,        /* let the OS place the workers */
    WEFT_PIN_CORE,        /* workers on consecutive cores (any of their hyper-threads) */
    WEFT_PIN_PU,          /* workers on consecutive processing units (hyper-threads) */
} weft_pin_policy;
/* Pinned pools start on the places the pinned workers of the live pools leave
 * freest (the first core when a pool is alone): pools that fit together share none. */

typedef enum weft_wait_policy {
    WEFT_WAIT_DEFAULT = 0, /* WEFT_WAIT_POLICY, else a short spin (tens of microseconds) */
    WEFT_WAIT_PASSIVE,     /* sleep as soon as no work is found: lowest CPU use */
    WEFT_WAIT_ACTIVE,      /* spin for milliseconds before sleeping: lowest latency */
} weft_wait_policy;

/* A pool's worker hook (weft_pool_config's on_start, on_exit): ctx is the config's
 * ctx, index the worker's index in [0, num_threads). */
typedef void (*weft_worker_hook)(void *ctx, unsigned index);
/* A pool's thread-name hook (weft_pool_config's thread_name): name holds worker
 * index's default name, "<name_prefix>-<index>", NUL-terminated, in a buffer of size
 * bytes (WEFT_THREAD_NAME_MAX + 1); rewrite it in place to rename the worker (what is
 * there at the return is used, cut to size - 1 bytes). */
typedef void (*weft_thread_name_fn)(void *ctx, unsigned index, char *name, size_t size);

/* A pool's error hook (weft_pool_config's on_task_error); weft_task_failure is with
 * the spawns, below. */
struct weft_task_failure;
typedef void (*weft_task_error_fn)(void *ctx, const struct weft_task_failure *failure);

/* A pool's configuration. Zero (or NULL) in a field means its default, so a config
 * that is zeroed, or starts as WEFT_POOL_CONFIG_INIT, needs only the fields it sets.
 * Fields are only ever added at the end, each with a zero meaning "as before": the
 * source of a program that zero-initialises the struct keeps compiling and behaving
 * the same; the struct's size is part of the binary interface (WEFT_ABI_VERSION). */
typedef struct weft_pool_config {
    unsigned num_threads;    /* 0: WEFT_NUM_THREADS, else the cores allowed to us */
    weft_pin_policy pin;
    weft_wait_policy wait;
    size_t stack_size;       /* worker stack; 0: the system default */
    const char *name_prefix; /* workers are named "<prefix>-<i>"; NULL: "weft" */
    /* Hooks (rayon's start_handler, exit_handler, thread_name), each optional (NULL:
     * none), each given ctx. Every worker thread that starts runs on_start once,
     * first, and on_exit once, last:
     *  - on_start(ctx, i): on worker i's own thread, before it takes any work (after
     *    it pinned itself); weft_current_worker_index() is i there. The pool's
     *    creation does not wait for it: work queued meanwhile waits (or runs on the
     *    callers that work in the pool). It may call into weft as any job may.
     *  - on_exit(ctx, i): on worker i's own thread, after its last job, when the pool
     *    is destroyed (never for the global pool, which is not), or when its creation
     *    failed after the worker started. The pool is going: it must not queue work
     *    in it nor wait on its other workers.
     *  - thread_name(ctx, i, name, size): on the thread creating the pool, once per
     *    worker, in index order, before the worker starts (a global pool that starts
     *    again with fewer workers calls it again). */
    void *ctx;
    weft_worker_hook on_start;
    weft_worker_hook on_exit;
    weft_thread_name_fn thread_name;
    /* on_task_error(ctx, failure) (rayon's panic_handler): called for every task of
     * the pool that fails with nobody to tell — a detached task returning non-NULL
     * (its result is dropped otherwise), a scope task returning non-zero, one with
     * dependencies (weft_scope_spawn_dep) included (its status also cancels the scope
     * as always; only the first one reaches the scope's wait, the hook sees each) — on
     * the thread that ran the task, right after it returned
     * and before it counts as finished: weft_pool_wait_idle, weft_pool_destroy and the
     * scope's wait return only after the calls for the tasks they cover. Several
     * threads may call it at once. A task with a handle is its joiner's business and
     * is never reported. NULL (the default): failures are ignored. */
    weft_task_error_fn on_task_error;
} weft_pool_config;
#define WEFT_POOL_CONFIG_INIT {0, WEFT_PIN_DEFAULT, WEFT_WAIT_DEFAULT, 0, NULL, NULL, NULL, NULL, NULL, NULL}
#define WEFT_POOL_MAX_THREADS 4096

/* Start a pool. cfg NULL means defaults. Environment values (WEFT_NUM_THREADS 1..4096,
 * WEFT_PIN none|core|pu, WEFT_WAIT_POLICY passive|active) fill what cfg leaves at
 * 0/DEFAULT; a bad value gives one warning on stderr and the default. WEFT_STATS=1
 * (exactly "1") makes weft_pool_destroy print the workers' counters. If a worker
 * cannot be pinned, the pool runs it unpinned (one warning). Returns 0; -EINVAL (out
 * NULL, num_threads > WEFT_POOL_MAX_THREADS, bad enum, stack_size too small);
 * -ENOMEM; -EAGAIN (a worker thread could not be started: every started one is
 * stopped again). Thread-safe. */
WEFT_API int weft_pool_create(const weft_pool_config *cfg, weft_pool **out);
/* Wait until every job the pool holds (detached tasks included) has run, stop the
 * workers and free the pool. Must not be called from one of its own workers or from
 * a caller working in it (weft_pool_execute): -EDEADLK; nor while other threads
 * still call into it. Prints per-worker counters on stderr
 * when WEFT_STATS=1. Returns 0, -EINVAL (NULL or the global pool), -EDEADLK. */
WEFT_API int weft_pool_destroy(weft_pool *pool);
/* Like destroy, giving up after timeout_ns if queued work has not finished by then:
 * on -ETIMEDOUT the pool is untouched and still usable (destroy it again later). */
WEFT_API int weft_pool_destroy_timeout(weft_pool *pool, uint64_t timeout_ns);
/* Wait until `pool` holds no spawned or scope task, queued or running: detached
 * tasks, tasks with a handle (joined or not) and scope tasks, including the tasks
 * they spawn meanwhile. On 0 their count was zero at an instant after the call
 * began, so every task spawned before the call has finished and its writes are
 * visible to the caller. A scope owned by a worker of the pool counts from its
 * owner's first spawn into it until its wait returns (its tasks counted as one).
 * Tasks that other threads keep spawning may keep it waiting.
 * The pool stays as it was (use it on; nothing is stopped). `pool` NULL: the global
 * pool (0 at once if it never started); from a worker, NULL means its own pool.
 * Call weft_pool_wait_idle(NULL) before returning from main when detached tasks
 * must run: the global pool is never destroyed, and at process exit the tasks it
 * still holds are dropped (see weft_spawn). Returns 0; -EDEADLK (called from a worker
 * of that pool, or a caller working in it: it would wait for the work it is doing).
 * Thread-safe. */
WEFT_API int weft_pool_wait_idle(weft_pool *pool);
/* Like wait_idle, giving up after timeout_ns: -ETIMEDOUT (the tasks run on). */
WEFT_API int weft_pool_wait_idle_timeout(weft_pool *pool, uint64_t timeout_ns);
/* The global pool, started on first use (or earlier by weft_pool_global_init). If
 * only some of its worker threads can be started (a system thread limit), it runs
 * with those, after one warning on stderr.
 * Returns 0, -EINVAL (out NULL) or the error of weft_pool_create (then a later call
 * tries again). It lives until the process ends (never destroyed, so WEFT_STATS=1
 * prints nothing for it: read weft_pool_stats); detached tasks it still holds at
 * exit are dropped unless weft_pool_wait_idle(NULL) waited for them. Thread-safe.
 *
 * fork(): a child process may use weft, whichever thread forked (a worker too). In
 * the child the global pool starts afresh on first use (or by a global_init in the
 * child), with its own workers; the parent's is left behind, never run nor freed.
 * Only the forking thread exists in a child (POSIX), so there, do not call into or
 * destroy a pool created before the fork, nor join a thread or task handle from
 * before it (they would wait for threads that are not there); a lock, condvar,
 * barrier or channel that another thread held or waited in at the fork stays as it
 * was, so one held then is held for ever. A child forked inside a task must not return from that task: end it
 * with exit, _exit or exec. */
WEFT_API int weft_pool_global(weft_pool **out);
/* Start the global pool now, configured by cfg (rayon's build_global): call it once,
 * early in main, before anything uses the global pool. What cfg leaves at
 * 0/DEFAULT comes from the environment, as in weft_pool_create (cfg NULL: all of
 * it); the rest of weft_pool_global holds (it makes do with the workers it can
 * start; it lives until the process ends). Otherwise the first call that uses the
 * global pool starts it, configured by the environment alone: weft_pool_global, and
 * from a thread outside every pool, any parallel call (weft_join, weft_par_for, ...)
 * and any call given a NULL pool (weft_spawn, weft_scope_init, weft_pool_run,
 * weft_pool_execute, weft_pool_num_threads, weft_pool_stats).
 * Returns 0; -EINVAL (cfg as weft_pool_create refuses it: num_threads >
 * WEFT_POOL_MAX_THREADS, bad enum, stack_size too small; checked first, whether the
 * pool exists or not); -EBUSY (the global pool exists already, started by an earlier
 * use or an earlier weft_pool_global_init: it is left as it is); -ENOMEM, -EAGAIN (as
 * weft_pool_create: no pool was started, a later call may try again). Thread-safe:
 * of concurrent global_init calls and first uses, exactly one starts the pool, and a
 * global_init that did not gets -EBUSY.
 * fork(): a child starts with no global pool (see weft_pool_global), so it may call
 * global_init again; the configuration given in the parent does not carry over. */
WEFT_API int weft_pool_global_init(const weft_pool_config *cfg);
/* Number of workers of `pool` (NULL: the current worker's pool, else the global
 * pool, starting it). Returns >= 1, or a negative error from starting the global pool. */
WEFT_API int weft_pool_num_threads(weft_pool *pool);
/* The calling thread's index in its pool: a worker's in [0, num_threads); a caller
 * working in the pool (weft_pool_execute, and the parallel calls made from outside a
 * pool) gets num_threads + its caller slot, below num_threads +
 * WEFT_POOL_CALLER_SLOTS; -1 for any other thread. */
WEFT_API int weft_current_worker_index(void);

/* Per-worker counters, kept always (each is a plain per-worker store: no shared
 * cache line is written). A snapshot; counters only grow. */
typedef struct weft_worker_stats {
    uint64_t jobs_run;      /* jobs executed by this worker (inline pops included; a
                             * task counts once, wherever it ran) */
    uint64_t steals;        /* jobs taken from other workers or the injector */
    uint64_t failed_steals; /* steal attempts that found nothing */
    uint64_t sleeps;        /* times it went to sleep on its futex */
    uint64_t wakeups;       /* times another thread woke it */
} weft_worker_stats;
/* Counters of worker `index` of `pool` (NULL: as weft_pool_num_threads). Returns 0,
 * -EINVAL (out NULL, index out of range), or an error starting the global pool.
 * Thread-safe. */
WEFT_API int weft_pool_stats(weft_pool *pool, unsigned index, weft_worker_stats *out);

/* ------------------------------------------------------------------------------
 * Fork-join */

typedef void (*weft_fn)(void *ctx);

/* Run a(actx) and b(bctx), potentially in parallel, and return when both are done
 * (rayon::join). On a worker: b is offered to thieves, a runs inline, then b runs
 * inline unless it was stolen; no allocation. From outside every pool: the same, with
 * the caller working in the global pool for the call (weft_pool_execute). Returns 0;
 * -EINVAL (a or b NULL); an error starting the global pool (nothing ran then). */
WEFT_API int weft_join(weft_fn a, void *actx, weft_fn b, void *bctx);

/* A join half that is told whether it migrated: true when it runs on another thread
 * than the one that called weft_join_context (it was stolen, or ran on a worker for
 * an outside caller that found every caller slot taken). Adaptive splitters use it: a stolen half has thieves to feed,
 * so it splits again (rayon's join_context). */
typedef void (*weft_context_fn)(void *ctx, bool migrated);

/* weft_join, with halves that learn whether they migrated. Same contract and errors
 * as weft_join. */
WEFT_API int weft_join_context(weft_context_fn a, void *actx, weft_context_fn b, void *bctx);

/* Run fn(arg) on a worker of `pool` (NULL: the current or global pool) and wait for
 * it (rayon's install): parallel calls inside it use that pool. Returns 0, -EINVAL,
 * or an error starting the global pool. */
WEFT_API int weft_pool_run(weft_pool *pool, weft_fn fn, void *arg);

/* How many threads from outside a pool can work in it at once (weft_pool_execute);
 * a caller beyond that many falls back to weft_pool_run. */
#define WEFT_POOL_CALLER_SLOTS 8
/* Run fn(arg) on the calling thread as a member of `pool` (NULL: the current or
 * global pool) and return when it is done (oneTBB's task_arena::execute). From a
 * thread outside every pool, the caller takes one of the pool's caller slots for the
 * length of the call: fn runs inline at once, the halves of its joins go on the
 * slot's own deque where the workers steal them, and while it waits the caller runs
 * work as a worker does, so a parallel call from main starts with no wake-up between
 * it and its work. A caller counts as one of the pool's threads: while k callers
 * work in a pool of N threads, at most N - k of its workers take work (none when
 * k >= N), so WEFT_NUM_THREADS=1 keeps one CPU busy, not a worker and a caller.
 * Inside, weft_current_worker_index() is num_threads + the slot, in [num_threads,
 * num_threads + WEFT_POOL_CALLER_SLOTS). From a worker of `pool`: fn runs inline;
 * from a worker of another pool, or with every caller slot taken: as weft_pool_run.
 * The parallel calls made from outside a pool (join, isolate, the loops and sorts)
 * enter the global pool this way. A caller runs only work that the pool's jobs
 * created (it steals from deques), never other threads' queued tasks (detached
 * spawns, scope tasks spawned from outside: those may wait on what the caller does
 * after it returns). Returns 0, -EINVAL (fn NULL), or an
 * error starting the global pool. */
WEFT_API int weft_pool_execute(weft_pool *pool, weft_fn fn, void *arg);

/* Run fn(arg) isolated: while anything inside it waits (join, scope wait, task join,
 * parallel loops), the waiting thread runs only work created inside this call, never
 * unrelated queued work, but for the calls of weft_broadcast, which every worker makes
 * wherever it waits (do not broadcast a function that takes a lock held across an
 * isolated region). Use it to hold a lock across a parallel call: without
 * isolation a waiting worker may pick up another task that wants the same lock and
 * deadlock (oneTBB's this_task_arena::isolate). Costs a little parallelism: an
 * isolated waiter does not steal. Returns 0, -EINVAL (fn NULL), or an error starting
 * the global pool. */
WEFT_API int weft_isolate(weft_fn fn, void *arg);

/* From a job running on a worker: run one pending job here, now, and return 1, or
 * return 0 if there is none (rayon's yield_now): the cure for a long job that keeps
 * short ones waiting behind it (call it between two steps). It looks where the
 * worker's wait loop looks: a broadcast call for this worker, its own deque (newest
 * first), then other workers' deques (oldest first), then the pool's injector. The job
 * runs on this thread, nested in the caller's frame, and may be any job a wait here
 * would run: do not hold a lock that such a job may want (weft_isolate keeps the
 * yield to the region's own jobs). A worker benched for a caller (weft_pool_execute)
 * takes only its own work; a caller working in a pool (weft_pool_execute, the
 * parallel calls from outside) yields as a worker does but never takes an injected
 * task. Returns 1 (a job ran), 0 (none found), or -EPERM: the calling thread works
 * in no pool (neither a worker nor a caller), so it has no work to yield to. */
WEFT_API int weft_yield_now(void);
/* weft_yield_now, but only this thread's own work (rayon's yield_local): a broadcast
 * call for this worker, else the newest job on its own deque (a task it spawned, the
 * other half of one of its joins that no thief took). Returns 1, 0 or -EPERM, as
 * weft_yield_now. */
WEFT_API int weft_yield_local(void);
/* Does work wait on the calling thread's own deque, or a broadcast call for it
 * (rayon's current_thread_has_pending_tasks)? 1 yes, 0 no: a snapshot, a thief may
 * take the work meanwhile (and inside weft_isolate, jobs of other regions count
 * too, which weft_yield_local does not run there). -EPERM: the calling thread works
 * in no pool (neither a worker nor a caller). */
WEFT_API int weft_pool_has_pending(void);

/* A broadcast call: index is the worker's index in [0, num_threads), num_threads the
 * pool's size (weft_pool_num_threads). */
typedef void (*weft_broadcast_fn)(void *ctx, unsigned index, unsigned num_threads);

/* Run fn(ctx, i, n) exactly once on every worker i of `pool` (NULL: the current or
 * global pool), n its number of workers, and return when every call has returned
 * (rayon's broadcast): per-worker setup (scratch buffers, thread-local RNG seeds,
 * pinning checks). Each worker makes its call the next time it looks for work: between
 * two jobs, or while it waits in a join, a scope or task wait or a broadcast (so a
 * broadcast made from inside a worker never deadlocks: the waiting workers run one
 * another's calls), or at once if it was asleep (it is woken). A worker that runs a
 * long job (a leaf, or fork-join work that no thief takes from it: a join looks for
 * work only when its other half was stolen) or blocks outside weft's waits (I/O, a
 * lock the broadcaster holds) makes its call only once that job returns or waits: the
 * broadcast waits for it. Every worker makes its call, even one benched for a caller
 * (weft_pool_execute) and one waiting inside weft_isolate: a broadcast is addressed to
 * each worker, and an isolated waiter that held it back could wait for ever on a
 * broadcaster waiting for it. A call runs in the isolation of the code where its
 * worker waits (none between jobs), so its own joins and waits keep to that region.
 * From a worker of `pool`: that worker's own call runs first, inline, on the caller
 * (in the caller's isolation), then the caller runs work while it waits. From any other
 * thread (outside every pool, a caller slot, a worker of another pool): no call runs
 * on it; it waits as weft_pool_run does. Calls on different workers run in parallel,
 * in no set order; several broadcasts may be in progress at once, from any threads,
 * and each makes its own call on every worker. Every call's writes are visible to the
 * caller when weft_broadcast returns. No twins: like weft_pool_run it cannot be given
 * up half-way (ctx must outlive every call). Returns 0; -EINVAL (fn NULL); an error
 * starting the global pool (no call made). Thread-safe. */
WEFT_API int weft_broadcast(weft_pool *pool, weft_broadcast_fn fn, void *ctx);

/* ------------------------------------------------------------------------------
 * Tasks with a join handle (std::thread::spawn / JoinHandle, on the pool) */

typedef struct weft_task weft_task;
typedef void *(*weft_task_fn)(void *arg);

/* Queue fn(arg) on `pool` (NULL: the current or global pool). With out != NULL, *out
 * is a handle to join exactly once; with out == NULL the task is detached (a pool's
 * `execute`): it still runs before weft_pool_destroy or weft_pool_wait_idle returns.
 * DETACHED TASKS DO NOT KEEP THE PROCESS ALIVE: the global pool is never destroyed,
 * and returning from main (or exit) ends the process with its queued tasks never run
 * and its running ones cut off (as rayon's spawn). Wait for them first with
 * weft_pool_wait_idle(NULL). Returns 0; -EINVAL (fn NULL); -ENOMEM (nothing queued);
 * an error starting the global pool.
 * Order (weft_spawn, weft_spawn_copy, and the scope spawns but the _fifo ones): from a
 * worker of `pool` (or a caller working in it, weft_pool_execute), the task goes on
 * that thread's own deque, which it runs newest first (LIFO), while other workers
 * steal its oldest (FIFO); from any other thread (outside the pools, a worker of
 * another pool) it goes to the pool's injector queue, which workers take oldest first
 * (FIFO). Nothing else is promised: tasks run side by side on several workers. */
WEFT_API int weft_spawn(weft_pool *pool, weft_task_fn fn, void *arg, weft_task **out);
/* weft_spawn, but the tasks one thread queues with the _fifo spawns (this one and
 * weft_scope_spawn_fifo) into one pool start in the order they were queued (rayon's
 * spawn_fifo): whenever one of them starts — on the spawning worker, or taken by a
 * thief — it is the oldest not yet started. On one worker with no thief they run one
 * after the other, in spawn order; with thieves they still start in that order but
 * run side by side, so a later one may finish first. Tasks queued inside a weft_isolate
 * region keep that order among themselves, apart from the thread's others. A task whose
 * handle is joined before it started runs at the join (weft_task_join), ahead of its
 * turn. No order is promised against the thread's LIFO spawns and joins, nor against
 * other threads' tasks. From a thread that is no worker of `pool` the injector keeps the
 * order, as for weft_spawn. Returns as weft_spawn: 0; -EINVAL (fn NULL); -ENOMEM
 * (nothing queued); an error starting the global pool. */
WEFT_API int weft_spawn_fifo(weft_pool *pool, weft_task_fn fn, void *arg, weft_task **out);

/* Arguments of up to this many bytes are copied into the block that holds the task
 * itself (weft_spawn_copy, weft_scope_spawn_copy): no allocation beyond the task's
 * own, which a worker takes from its cache. A larger argument makes the task one
 * malloc of its own size (task and copy together), freed when the task is done. */
#define WEFT_SPAWN_COPY_INLINE 128

/* weft_spawn, with fn given a pointer to its own copy of the `size` bytes at `arg`
 * (OpenMP's firstprivate), taken before the call returns: the caller may reuse or
 * release `arg` at once. The copy is aligned for any type (max_align_t), writable,
 * and valid until fn returns (so fn's result must not point into it). size 0: nothing
 * is copied, `arg` is not read (it may be NULL) and fn receives NULL. Returns as
 * weft_spawn: 0; -EINVAL (fn NULL, or arg NULL with size > 0); -ENOMEM (nothing
 * queued, nothing copied); an error starting the global pool. */
WEFT_API int weft_spawn_copy(weft_pool *pool, weft_task_fn fn, const void *arg, size_t size,
                             weft_task **out);
/* Wait for the task, store its result in *result (if not NULL), free the handle. On a
 * worker of the task's pool, a task that has not started yet runs inline on the
 * caller (so a join never waits on a queued task, isolated or not); else, on a
 * worker, runs other work while waiting. Returns 0 or -EINVAL (NULL; debug builds: a
 * handle already joined). Join once: a second join is undefined in release builds. */
WEFT_API int weft_task_join(weft_task *t, void **result);
/* Like join, giving up after timeout_ns: on -ETIMEDOUT the handle stays valid. A task
 * it runs inline runs to its end, whatever the timeout. */
WEFT_API int weft_task_join_timeout(weft_task *t, uint64_t timeout_ns, void **result);
/* Join if finished, else -EAGAIN (the handle stays valid); -EINVAL (as join). Never
 * blocks. */
WEFT_API int weft_task_try_join(weft_task *t, void **result);

/* ------------------------------------------------------------------------------
 * Scopes: spawn any number of tasks that may borrow the caller's stack; wait for all.
 * A weft_scope is stack-allocatable: declare one, init, spawn, wait. It is opaque
 * storage, 72 bytes, 8-aligned (runtime/scope.c holds the layout and static-asserts
 * that it fits): never touch `opaque_`. A scope is not copied nor moved while in use
 * (its tasks hold its address). */

typedef struct weft_scope {
    uint64_t opaque_[9];
} weft_scope;
/* A scope task: returns 0, or a non-zero status that cancels the scope.
 *
 * Why scope tasks have a type of their own, not weft_fn (join halves, pool_run):
 * a scope task is given its scope, so it can spawn siblings and check for
 * cancellation without carrying the scope in its argument, and its status is the
 * scope's error channel. A join half has no scope and no failure to report (its
 * results go through ctx); a task with a handle returns a value to its joiner
 * (weft_task_fn). One signature would make every join half return an ignored int
 * and take a scope it does not have, or take both from scope tasks; and calling a
 * function through a pointer of another type is undefined in C, so no cast can
 * bridge them. Each type stays (docs/design.md 4.4, "One task signature?"). */
typedef int (*weft_scope_fn)(weft_scope *scope, void *arg);


/* A task that failed with nobody to tell, as its pool's on_task_error sees it
 * (weft_pool_config): a detached task (weft_spawn, weft_spawn_fifo, weft_spawn_copy
 * with out == NULL) that returned non-NULL, or a scope task that returned a non-zero
 * status. libweft fills it (fields are only ever added at the end); its pointers are
 * valid during the call. */
typedef struct weft_task_failure {
    weft_task_fn task_fn;   /* the detached task's function (NULL for a scope task) */
    void *result;           /* its non-NULL result (NULL for a scope task) */
    weft_scope_fn scope_fn; /* the scope task's function (NULL for a detached task) */
    weft_scope *scope;      /* its scope, still open (NULL for a detached task) */
    int status;             /* its non-zero status (0 for a detached task) */
    void *arg;              /* the argument it was given (a _copy spawn's copy) */
} weft_task_failure;

/* Prepare a scope on `pool` (NULL: the current or global pool). The thread that calls
 * init must be the one that waits. Returns 0, -EINVAL, or an error starting the global
 * pool. */
WEFT_API int weft_scope_init(weft_scope *s, weft_pool *pool);
/* Queue fn(s, arg) in the scope. May be called from inside the scope's own tasks.
 * The task always runs (so it can release its arg) even once the scope is cancelled;
 * it can ask weft_scope_is_cancelled to skip its work. Returns 0, -EINVAL (NULL, or
 * the scope already waited on), -ENOMEM (nothing queued).
 * Order: as weft_spawn's (LIFO on the spawning worker's own deque, thieves take the
 * oldest; FIFO through the injector from a thread that is no worker of the scope's
 * pool); nothing else is promised between a scope's tasks. The spawn only queues
 * the task and never runs it before returning, so a task may block on what its
 * spawner does next (fill a channel, count down a latch), if the spawner does it
 * before a wait that runs work (a join, a scope or task wait: a worker waiting there
 * may run the queued task, which then holds the waiter under it). */
WEFT_API int weft_scope_spawn(weft_scope *s, weft_scope_fn fn, void *arg);
/* weft_scope_spawn, in the order of weft_spawn_fifo (rayon's scope_fifo / spawn_fifo):
 * the tasks one thread queues with the _fifo spawns into one pool start oldest first,
 * wherever they run, so on one worker with no thief they run in spawn order (an event
 * loop, a breadth-first traversal). Returns as weft_scope_spawn: 0, -EINVAL (NULL, or
 * the scope already waited on), -ENOMEM (nothing queued). */
WEFT_API int weft_scope_spawn_fifo(weft_scope *s, weft_scope_fn fn, void *arg);
/* weft_scope_spawn, with fn given a pointer to its own copy of the `size` bytes at
 * `arg` (OpenMP's `task firstprivate`), taken before the call returns: a loop can
 * spawn a task per item from one variable it changes every iteration, with nothing
 * kept alive until the wait. The copy is aligned for any type (max_align_t),
 * writable, and valid until fn returns; it is freed when the task finishes, whether
 * the scope was cancelled or not. Up to WEFT_SPAWN_COPY_INLINE bytes live in the
 * task's own block. size 0: nothing is copied, `arg` is not read (it may be NULL) and
 * fn receives NULL. May be called from inside the scope's own tasks, and from any
 * thread. Returns as weft_scope_spawn: 0, -EINVAL (s or fn NULL, arg NULL with
 * size > 0, or the scope already waited on), -ENOMEM (nothing queued, nothing
 * copied). */
WEFT_API int weft_scope_spawn_copy(weft_scope *s, weft_scope_fn fn, const void *arg, size_t size);
/* Wait for every task spawned in the scope (including those spawned by its tasks).
 * On a worker, runs other work meanwhile. Returns the first non-zero status a task
 * returned (the scope is then cancelled), 0 if none, -EINVAL (NULL, not the thread
 * that called init, or the scope already waited on). Call once.
 * From outside the pool (a caller), the wait runs the scope's tasks queued on its
 * own thread and those workers leave to it; tasks spawned by other threads outside
 * the pool run on the pool's workers — while the caller sleeps in the wait it lends
 * them its turn, so they run even when callers hold every turn. */
WEFT_API int weft_scope_wait(weft_scope *s);
/* Like wait, giving up after timeout_ns: on -ETIMEDOUT the scope stays open (its
 * tasks keep running; spawn and wait again as before). Returns as wait, or
 * -ETIMEDOUT. */
WEFT_API int weft_scope_wait_timeout(weft_scope *s, uint64_t timeout_ns);
/* The non-blocking twin of wait: if every task has finished, finish the scope as wait
 * would and return its status; otherwise -EAGAIN (the scope stays open). -EINVAL as
 * wait. */
WEFT_API int weft_scope_try_wait(weft_scope *s);
/* Has a task of this scope returned a non-zero status? Any thread. */
WEFT_API bool weft_scope_is_cancelled(const weft_scope *s);
/* Cancel the scope with `status` (non-zero) unless it already failed: what
 * weft_scope_wait will return. Returns 0 or -EINVAL (NULL or status 0). */
WEFT_API int weft_scope_cancel(weft_scope *s, int status);

/* ------------------------------------------------------------------------------
 * Tasks with dependencies by address (OpenMP's `task depend(in/out/inout: x)`): a
 * scope task that starts only after every earlier task of the same scope that
 * conflicts with it on an address has finished. Two tasks conflict on an address
 * when one of them writes it: a reader waits for the writer before it
 * (read-after-write), a writer for the readers and the writer before it
 * (write-after-read, write-after-write). Tasks that do not conflict run in parallel.
 * An address is only a name: weft never reads nor writes through it. */

typedef enum weft_dep_mode {
    WEFT_DEP_IN = 1,    /* the task reads the address */
    WEFT_DEP_OUT = 2,   /* the task writes it */
    WEFT_DEP_INOUT = 3, /* reads and writes it (ordered as OUT) */
} weft_dep_mode;

typedef struct weft_dep {
    const void *addr;
    weft_dep_mode mode;
} weft_dep;

/* weft_scope_spawn, with fn(s, arg) started only once every conflicting task spawned
 * before it into s has finished (deps[0..ndeps): an address may appear more than
 * once; its modes combine). "Before" is the spawn order: one thread's spawns in
 * program order, spawns from several threads (or from the scope's own tasks) in the
 * order the calls took the scope's dependency table. The deps array is read before
 * the call returns. weft_scope_wait waits for every such task, those still waiting
 * for their dependencies included. A task runs even if the scope was cancelled (as
 * weft_scope_spawn; a failed task does not stop the tasks that depend on it: they
 * can ask weft_scope_is_cancelled). ndeps 0: weft_scope_spawn. Never runs fn before
 * returning. Of the scope's ready dependent tasks, a thread looking for work starts
 * the earliest spawned; a thread that finished one goes on with the earliest of those
 * its finish made ready. Returns 0, -EINVAL (s or fn NULL, deps NULL with ndeps > 0, a mode other
 * than WEFT_DEP_IN/OUT/INOUT, or the scope already waited on), -ENOMEM (nothing
 * queued, no dependency recorded). */
WEFT_API int weft_scope_spawn_dep(weft_scope *s, weft_scope_fn fn, void *arg, const weft_dep *deps,
                                  size_t ndeps);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_RUNTIME_H */
