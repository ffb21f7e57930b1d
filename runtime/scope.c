/* scope.c: scopes — spawn any number of tasks that may borrow the caller's stack,
 * wait for all; the first non-zero status wins and cancels the scope.
 *
 * Counting. pending_ = own_ + the tasks spawned and not yet finished, where own_ is
 * the owner's share, held until it waits (own_'s top bit, SCOPE_POOL_COUNTED, is a
 * flag beside the share, never part of a count). own_ is at least 1 while held, so pending_
 * reaches 0 exactly once, after the wait began and every task (including tasks
 * spawned by tasks: a task spawns before it finishes) is done. The task that brings
 * it to 0 sets done_, whose waiter (the owner's worker, or NULL for an outside
 * thread) was fixed at init.
 *
 * Local counting, so that the common case makes no atomic read-modify-write: when the
 * owner is a worker of the scope's pool (not a caller slot: its thread is fixed), its
 * share starts at SCOPE_HOLD and holder_ names that worker while it holds the share.
 * A task the owner spawns while it holds is paid for from the share (own_ - 1: pending_
 * unchanged), and a task of the scope that finishes on the owner's thread while it
 * holds gives its count back to the share (own_ + 1). Both are plain accesses of own_,
 * which only the owner's thread touches. Every other spawn (a task on another worker,
 * an outside thread, the owner once it waits) adds 1 to pending_, every other finish
 * subtracts 1 (acq_rel). The wait first runs the scope's tasks still on top of its own
 * deque (still holding, until the share is whole again: scope_run_own), then
 * subtracts its whole share at once. SCOPE_HOLD is far beyond any number of spawns,
 * so own_ never drops to 0 while held.
 *
 * The pool's pending (what weft_pool_destroy and weft_pool_wait_idle wait for) counts
 * each task that was not paid from a held share, from spawn to finish; a scope whose
 * owner paid for tasks from its share is covered instead, from that first spawn until
 * its wait finished, by one count its worker holds for all such scopes it owns
 * (scope_pool_holds: nested scopes, a scope per node of a recursion, cost the pool's
 * line nothing). The owner is a worker of the pool inside the pool's work, so the pool
 * cannot be destroyed meanwhile.
 *
 * Every spawn queues its task; none runs inside the spawn (no task throttling as
 * libgomp's undeferred tasks): a task may wait for what its spawner does after the
 * spawn (a channel it fills, a latch it counts down), so running it there could wait
 * for ever. On a pool of two or more workers a queued task is public at once (a
 * spawner that goes on without pushing or popping, or blocks outside weft, still
 * shares it); a pool of one worker has no thief (a caller slot benches that worker),
 * so there it stays private and costs no fence (and before blocking in a weft wait a
 * worker publishes what it holds). weft_scope_spawn_fifo queues the task through the
 * spawner's fifo (fifo.c: a ticket goes on the deque in its place, and whichever
 * ticket runs first runs the oldest task); the counting is the same.
 *
 * Tasks are heap jobs in job blocks (block_cache_internal.h). A task spawned with a
 * copy of its argument (weft_scope_spawn_copy) carries the copy after its job (a
 * scope_copy_job), in the same block (a larger block kind, or a malloc of its own size
 * beyond WEFT_SPAWN_COPY_INLINE); the job records the block's kind, and the block,
 * copy included, is freed only after fn returned. */
#include "pool_internal.h"
#include "scope_dep_internal.h"
#include <weft/trace.h>

#include <pthread.h>

/* The owner's share while it counts locally: more than it can ever spawn. */
#define SCOPE_HOLD ((uint64_t)1 << 62)
/* In own_, beside the share (which stays below it): the scope holds one of the pool's
 * pending through its owner's worker (scope_pool_holds). Owner only, as own_. */
#define SCOPE_POOL_COUNTED ((uint64_t)1 << 63)

/* The scope behind weft_scope's opaque storage (weft/runtime.h). may_alias: the
 * storage is declared as weft_scope and accessed only as this.
 *
 * Field order is about cache lines. While the owner spawns and the other workers run
 * its tasks, the owner reads holder_ and writes own_ (whose top bit says whether the
 * scope is counted in the pool: one word, not a field of its own) per spawn, and a
 * thief decrements pending_ per task (and reads nothing else of the scope: it skips
 * holder_ when it holds no scope, and reads pool_ only for a task counted in the
 * pool). So own_ is first and pending_ last, 64 bytes apart: on different lines
 * wherever the 8-byte-aligned storage lies; holder_ is next to own_, on pending_'s
 * line in 1 of the 8 placements (the storage 8 bytes short of a line's end). And
 * pending_ at the end, not the start: a scope is most often a local of the function
 * that spawns into it, and the stack below that function's frame is written by every
 * call it makes (return addresses, saved registers): a line the spawner writes per
 * spawn, the first bytes of the storage's line when the storage does not start one.
 * The bytes above the storage are the spawner's own frame, written far less often. */
typedef struct __attribute__((may_alias)) scope_state {
    uint64_t own_;             /* owner only: the owner's share of pending_, | SCOPE_POOL_COUNTED */
    _Atomic(void *) holder_;   /* the owner's worker while it counts locally, else NULL */
    weft_pool *pool_;
    unsigned long owner_;      /* pthread_self() of the thread that called init */
    _Atomic(void *) deps_;     /* scope_dep.c's table, NULL until a task has dependencies */
    _Atomic int status_;       /* first non-zero status, 0 while none */
    weft_job_latch done_;      /* set when pending_ drops to 0 */
    _Atomic uint64_t pending_; /* tasks not yet finished, + own_ until the owner waits */
} scope_state;
_Static_assert(sizeof(scope_state) <= sizeof(weft_scope), "fits weft_scope's storage");
_Static_assert(offsetof(scope_state, holder_) == 8, "holder_ is on own_'s line, on pending_'s in 1 placement of 8");
_Static_assert(offsetof(scope_state, own_) == 0 && offsetof(scope_state, pending_) == 64,
               "pending_ and own_ are on different cache lines wherever the storage lies");
_Static_assert(_Alignof(scope_state) <= _Alignof(weft_scope), "weft_scope's storage is aligned");
static inline scope_state *scope_of(weft_scope *s) { return (scope_state *)(void *)s; }
static inline weft_scope *scope_public(scope_state *s) { return (weft_scope *)(void *)s; }

typedef struct scope_job {
    weft_job job;
    scope_state *scope;
    weft_scope_fn fn;
    void *arg;                /* the caller's, or the copy after the job */
    uint8_t kind;             /* the block's kind (WEFT_BLOCK_*), for its free */
    bool pool_counted;        /* counted in the pool's pending by itself */
} scope_job;
_Static_assert(sizeof(scope_job) <= WEFT_JOB_BLOCK_TINY_SIZE, "scope_job must fit a tiny job block");

/* A job of weft_scope_spawn_copy: the job, then the argument's bytes (aligned for any
 * type). A type of its own, so that a plain job's block need not hold the padding up
 * to the copy's alignment. */
typedef struct scope_copy_job {
    scope_job sj;
    max_align_t copy[];
} scope_copy_job;
_Static_assert(offsetof(scope_copy_job, copy) + WEFT_SPAWN_COPY_INLINE <= WEFT_JOB_BLOCK_LARGE_SIZE,
               "a copy of WEFT_SPAWN_COPY_INLINE bytes must fit a large block");

/* Fill cj (its copy made) as a job of fn on its copy, in a block of kind `kind`; its
 * job, for the submit. */
static inline scope_job *scope_copy_job_fill(scope_copy_job *cj, weft_scope_fn fn, uint8_t kind)
{
    cj->sj.fn = fn;
    cj->sj.arg = cj->copy;
    cj->sj.kind = kind;
    return &cj->sj;
}

/* The owner's share: own_ without its flag. Owner only. */
static inline uint64_t scope_share(const scope_state *s) { return s->own_ & ~SCOPE_POOL_COUNTED; }

/* Is w the owner, holding its share? Relaxed: holder_ is stored only by the owner's
 * thread, which reads its own store; any other thread reads a worker not its own (or
 * NULL), whichever value it sees. */
static inline bool scope_held_by(scope_state *s, weft_worker *w)
{
    return w && atomic_load_explicit(&s->holder_, memory_order_relaxed) == w;
}

/* Drop one count; the last one sets the latch (waiter copied by set before the SET). */
static void scope_release(scope_state *s)
{
    /* acq_rel: every task's writes happen-before the final decrement's reader, and on
     * to the owner through the latch (set_state is seq_cst). */
    if (atomic_fetch_sub_explicit(&s->pending_, 1, memory_order_acq_rel) == 1)
        weft__job_latch_set(&s->done_);
}

void weft__scope_task_failed(weft_scope *scope, weft_scope_fn fn, void *arg, int status)
{
    weft_scope_cancel(scope, status);
    weft__pool_task_failed(scope_of(scope)->pool_, &(weft_task_failure){.scope_fn = fn, .scope = scope,
                                                                        .status = status, .arg = arg});
}

/* Run a task of a scope on w, the calling thread's worker. `traced`: tracing was on
 * when the task started, so the job span its runner may have opened gets the task's
 * name and is closed here, before the block's free (a trace started or stopped while
 * the task runs has no span of it either way). */
static inline __attribute__((always_inline)) void scope_job_run(weft_job *job, weft_worker *w, bool traced)
{
    scope_job *sj = (scope_job *)job;
    scope_state *s = sj->scope;
    bool counted = sj->pool_counted;
    weft_pool *pool = counted ? s->pool_ : NULL; /* read now: s may be dead at the end */
    if (__builtin_expect(traced, 0))
        weft__trace_job_fn_slow((void *)sj->fn, scope_public(s));
    int status = sj->fn(scope_public(s), sj->arg);
    if (__builtin_expect(status != 0, 0))
        weft__scope_task_failed(scope_public(s), sj->fn, sj->arg, status);
    if (__builtin_expect(traced, 0))
        weft__trace_job_done_slow(job);
    weft__block_free_on(w, sj, sj->kind); /* the copy too: fn has returned */
    /* A worker that holds no counted scope (a thief, as a rule) takes the release path
     * without reading holder_: either path keeps pending_ = own_ + unfinished tasks, and
     * the owner holding s with none counted pays for no task (own_ stays whole). */
    if (w->scope_pool_holds != 0 && scope_held_by(s, w))
        s->own_++; /* on the owner's thread, which holds its share: back into it */
    else
        scope_release(s); /* may let the owner return: s is dead after this */
    if (counted)
        weft__pool_pending_done(pool);
}

/* A scope task's job: tracing is looked at once. */
static void scope_job_execute(weft_job *job, weft_worker *w)
{
    scope_job_run(job, w, weft__trace_on());
}

/* scope_job_execute, called by the owner's run step (scope_run_own) only after it
 * found tracing off: no job span is open for the task, so there is none to name. */
static void scope_job_execute_untraced(weft_job *job, weft_worker *w)
{
    scope_job_run(job, w, false);
}

/* May the scope's owner, on worker w (or none), count locally? */
static bool scope_local_owner(const scope_state *s, const weft_worker *w)
{
    return w && w->pool == s->pool_ && !w->caller;
}

int weft_scope_init(weft_scope *scope, weft_pool *pool)
{
    scope_state *s = scope_of(scope);
    if (!s)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    weft_worker *w = weft__worker_current();
    s->pool_ = pool;
    bool local = scope_local_owner(s, w);
    s->own_ = local ? SCOPE_HOLD : 1; /* not counted in the pool yet */
    atomic_init(&s->pending_, s->own_);
    atomic_init(&s->holder_, local ? w : NULL);
    atomic_init(&s->status_, 0);
    atomic_init(&s->deps_, NULL);
    weft__job_latch_init(&s->done_, w);
    s->owner_ = (unsigned long)pthread_self(); /* pthread_t is unsigned long on Linux */
    return 0;
}

/* Misuse detection only (a finished scope has pending_ == 0): relaxed. The owner
 * holding its share knows without looking. */
static bool scope_open(scope_state *s, weft_worker *w)
{
    return scope_held_by(s, w) || atomic_load_explicit(&s->pending_, memory_order_relaxed) != 0;
}

/* Queue sj (fn, arg and kind filled in) in s, through w's fifo if `fifo`; on failure
 * free it, copy included. Any spawn may come here; scope_submit_held takes the common
 * one without a call. job.next is left unset: only the injector and the fifo link jobs
 * (and set it there), and dig_isolated (pool.c), which sets it before use. */
static __attribute__((noinline)) int scope_submit_any(scope_state *s, weft_worker *w, scope_job *sj, bool fifo)
{
    weft_pool *pool = s->pool_;
    sj->job.execute = scope_job_execute;
    sj->job.isolation = w ? w->isolation : 0;
    sj->scope = s;
    bool paid = scope_held_by(s, w);
    if (paid) {
        if (!(s->own_ & SCOPE_POOL_COUNTED)) {
            if (w->scope_pool_holds++ == 0)
                weft__pool_pending_add(pool);
            s->own_ |= SCOPE_POOL_COUNTED;
        }
        s->own_--; /* from the owner's share: pending_ unchanged */
    } else {
        /* Relaxed: the spawner holds a count (owner or running task), so pending_ > 0. */
        atomic_fetch_add_explicit(&s->pending_, 1, memory_order_relaxed);
        weft__pool_pending_add(pool);
    }
    sj->pool_counted = !paid;
    if (w && w->pool == pool) {
        int rc = fifo ? weft__fifo_push(w, &sj->job) : weft__deque_push(&w->deque, &sj->job);
        if (rc != 0) {
            if (paid)
                s->own_++;
            else {
                weft__pool_pending_done(pool);
                atomic_fetch_sub_explicit(&s->pending_, 1, memory_order_relaxed);
            }
            weft__block_free_kind(sj, sj->kind);
            return rc;
        }
        /* Stealable at once, so a spawner that goes on without pushing or popping
         * (or blocks outside weft) still shares it. A pool of one worker has no thief
         * (a caller benches that worker, which runs its own deque). */
        if (pool->num_threads > 1) {
            weft__deque_publish(&w->deque);
            weft__sleep_new_injected_jobs(pool);
        }
        return 0;
    }
    weft__pool_inject(pool, &sj->job);
    return 0;
}

/* scope_submit_any for a plain (not fifo) spawn by the owner holding its share (w is
 * then a worker of s's pool: scope_local_owner). The common case inline, with no call:
 * w already holds a count in the pool's pending for its scopes, and its deque has room
 * for the push (private on a pool of one worker; public at once on larger pools, by
 * weft__deque_push_public, which does not look at the thieves' line); the counts and
 * the wake-up check are scope_submit_any's. */
static inline __attribute__((always_inline)) int scope_submit_held(scope_state *s, weft_worker *w, scope_job *sj)
{
    /* The scope's first such spawn counts it in w's scope_pool_holds, as
     * scope_submit_any does; inline unless it is w's first. */
    if (!(s->own_ & SCOPE_POOL_COUNTED) && w->scope_pool_holds != 0) {
        w->scope_pool_holds++;
        s->own_ |= SCOPE_POOL_COUNTED;
    }
    if (s->own_ & SCOPE_POOL_COUNTED) {
        sj->job.execute = scope_job_execute;
        sj->job.isolation = w->isolation;
        sj->scope = s;
        sj->pool_counted = false;
        if (w->pool->num_threads == 1) { /* w->pool is s's: not a line of s to read */
            if (__builtin_expect(weft__deque_push_private(&w->deque, &sj->job), 1)) {
                s->own_--; /* from the owner's share: pending_ unchanged */
                return 0;
            }
        } else if (__builtin_expect(weft__deque_push_public(&w->deque, &sj->job), 1)) {
            s->own_--;
            weft__sleep_new_injected_jobs(w->pool); /* as scope_submit_any, after its publish */
            return 0;
        }
    }
    return scope_submit_any(s, w, sj, false);
}

/* Misuse checks of a spawn into s from worker w (or none): 0, or -EINVAL; *held gets
 * scope_held_by(s, w). */
static inline int scope_spawn_check(scope_state *s, weft_worker *w, weft_scope_fn fn, bool *held)
{
    if (!s || !fn)
        return -EINVAL;
    *held = scope_held_by(s, w);
    /* Relaxed: as in scope_open. */
    if (!*held && atomic_load_explicit(&s->pending_, memory_order_relaxed) == 0)
        return -EINVAL;
    return 0;
}

/* A spawn past its checks (`held`: scope_held_by(s, w)), any spawn (the common one is
 * inline in the spawn calls): a block, then the submit. */
static __attribute__((noinline)) int scope_spawn_any(scope_state *s, weft_worker *w, weft_scope_fn fn, void *arg,
                                                     bool fifo, bool held)
{
    scope_job *sj = weft__block_alloc_tiny();
    if (!sj)
        return -ENOMEM;
    sj->fn = fn;
    sj->arg = arg;
    sj->kind = WEFT_BLOCK_TINY;
    return held && !fifo ? scope_submit_held(s, w, sj) : scope_submit_any(s, w, sj, fifo);
}

int weft_scope_spawn(weft_scope *scope, weft_scope_fn fn, void *arg)
{
    scope_state *s = scope_of(scope);
    weft_worker *w = weft__worker_current();
    bool held;
    if (scope_spawn_check(s, w, fn, &held) != 0)
        return -EINVAL;
    scope_job *sj; /* held: w is this thread's worker */
    if (!held || (sj = weft__block_take(w, WEFT_BLOCK_TINY)) == NULL)
        return scope_spawn_any(s, w, fn, arg, false, held);
    sj->fn = fn;
    sj->arg = arg;
    sj->kind = WEFT_BLOCK_TINY;
    return scope_submit_held(s, w, sj);
}

int weft_scope_spawn_fifo(weft_scope *scope, weft_scope_fn fn, void *arg)
{
    scope_state *s = scope_of(scope);
    weft_worker *w = weft__worker_current();
    bool held;
    if (scope_spawn_check(s, w, fn, &held) != 0)
        return -EINVAL;
    return scope_spawn_any(s, w, fn, arg, true, held);
}

/* A copy that fits a small block after the job. */
#define SCOPE_COPY_SMALL (WEFT_JOB_BLOCK_SIZE - offsetof(scope_copy_job, copy))

/* weft_scope_spawn_copy past its checks (`held`: scope_held_by(s, w)), any copy of
 * size bytes (not 0) at arg: a block of the kind that holds it, then the submit. */
static __attribute__((noinline)) int scope_spawn_copy_any(scope_state *s, weft_worker *w, weft_scope_fn fn,
                                                          const void *arg, size_t size, bool held)
{
    uint8_t kind;
    scope_copy_job *cj = weft__block_alloc_copy(offsetof(scope_copy_job, copy), arg, size, &kind);
    if (!cj)
        return -ENOMEM;
    scope_job *sj = scope_copy_job_fill(cj, fn, kind);
    return held ? scope_submit_held(s, w, sj) : scope_submit_any(s, w, sj, false);
}

int weft_scope_spawn_copy(weft_scope *scope, weft_scope_fn fn, const void *arg, size_t size)
{
    if (size == 0)
        return weft_scope_spawn(scope, fn, NULL);
    scope_state *s = scope_of(scope);
    weft_worker *w = weft__worker_current();
    bool held;
    if (!arg || scope_spawn_check(s, w, fn, &held) != 0)
        return -EINVAL;
    scope_copy_job *cj; /* held: w is this thread's worker */
    if (!held || size > SCOPE_COPY_SMALL || (cj = weft__block_take(w, WEFT_BLOCK_SMALL)) == NULL)
        return scope_spawn_copy_any(s, w, fn, arg, size, held);
    weft__block_copy_arg((unsigned char *)cj->copy, arg, size);
    return scope_submit_held(s, w, scope_copy_job_fill(cj, fn, WEFT_BLOCK_SMALL));
}

bool weft__scope_open(weft_scope *scope)
{
    return scope_open(scope_of(scope), weft__worker_current());
}

_Atomic(void *) *weft__scope_deps(weft_scope *scope)
{
    return &scope_of(scope)->deps_;
}

static bool is_owner_thread(scope_state *s)
{
    return pthread_equal((pthread_t)s->owner_, pthread_self());
}

/* The owner, holding its share on worker w, about to wait: run the scope's tasks on
 * top of w's deque here (they give their counts back to the share), up to the first
 * job that is not one of them or not of w's isolation, which goes back on top. It
 * stops looking once the share is whole again (own_ back at SCOPE_HOLD): every task
 * the owner paid for has then given its count back, so none is on its deque, and a
 * pop would only take the job below (its caller's) to put it back. A task the owner
 * did not pay for that finished here gives its count to the share too; if that makes
 * the share whole early, a paid task left on the deque runs in the wait's loop, as
 * any job. */
static void scope_run_own(scope_state *s, weft_worker *w)
{
    weft_job *job;
    while (scope_share(s) < SCOPE_HOLD && (job = weft__deque_pop(&w->deque)) != NULL) {
        if (job->execute != scope_job_execute || ((scope_job *)job)->scope != s ||
            (w->isolation != 0 && job->isolation != w->isolation)) {
            /* Cannot fail (we just made room), but if it did, the injector never fails. */
            if (weft__deque_push(&w->deque, job) != 0)
                weft__pool_inject(w->pool, job);
            else if (w->pool->num_threads > 1) { /* it may have been public */
                weft__deque_publish(&w->deque);
                weft__sleep_new_injected_jobs(w->pool);
            }
            return;
        }
        /* A direct call (a task of s) when not tracing; traced, through job->execute. */
        weft__worker_run_job_by(w, job, scope_job_execute_untraced);
    }
}

/* pending_ reached 0: the scope is finished; give back its part of the pool's count
 * (on the owner's thread, whose worker, w, is the one that took it; w may be NULL only
 * if it took none). Inline: the wait's common path ends here. */
static inline __attribute__((always_inline)) int scope_finish(scope_state *s, weft_worker *w)
{
    /* Relaxed, and a load rather than an exchange: deps_ is written only by init and
     * by scope_dep.c's compare-and-swap that installs the table, which a spawner of a
     * dependent task makes while the scope is open: the owner before its wait, or a
     * thread whose spawn comes before the scope's last count, as every spawn's must
     * (a task of the scope, or a thread ordered before the wait; scope_submit_any's
     * relaxed increment relies on the same). Each of those writes happens-before this
     * point (program order on the owner's thread; else the tasks' queueing, their
     * acq_rel decrements and the latch), and none comes after, so the load reads the
     * last of them (read-write coherence): NULL means the scope has no table. */
    void *deps = atomic_load_explicit(&s->deps_, memory_order_relaxed);
    if (deps) {
        /* Relaxed: by the same argument nobody else touches it now; init resets it. */
        atomic_store_explicit(&s->deps_, NULL, memory_order_relaxed);
        weft__scope_deps_free(deps);
    }
    if (s->own_ & SCOPE_POOL_COUNTED) {
        s->own_ &= ~SCOPE_POOL_COUNTED;
        if (--w->scope_pool_holds == 0)
            weft__pool_pending_done(s->pool_);
    }
    /* Relaxed: ordered by the latch / the acq_rel decrement that reached 0. */
    return atomic_load_explicit(&s->status_, memory_order_relaxed);
}

static int scope_wait(weft_scope *scope, uint64_t timeout_ns)
{
    scope_state *s = scope_of(scope);
    weft_worker *w = weft__worker_current();
    /* From the call, not from when the wait blocks: the owner may first run a long
     * run of its own tasks. An untimed wait makes no call for it. */
    uint64_t deadline = timeout_ns == WEFT_NO_DEADLINE ? WEFT_NO_DEADLINE : weft_deadline_after(timeout_ns);
    if (s && scope_held_by(s, w)) {
        /* Holding proves both checks below: only the owner's worker holds, and its
         * thread is fixed (scope_local_owner); the held share keeps pending_ above 0. */
        scope_run_own(s, w);
        /* Relaxed: read by other threads only as "not mine" (scope_held_by). */
        atomic_store_explicit(&s->holder_, NULL, memory_order_relaxed);
    } else if (!s || !is_owner_thread(s) || atomic_load_explicit(&s->pending_, memory_order_relaxed) == 0) {
        return -EINVAL;
    }
    uint64_t own = scope_share(s);
    /* Only the share left: every task finished, and none can spawn any more (as in
     * try_wait), so 0 needs no read-modify-write. Acquire: pairs with the tasks'
     * acq_rel decrements. */
    if (atomic_load_explicit(&s->pending_, memory_order_acquire) == own) {
        atomic_store_explicit(&s->pending_, 0, memory_order_relaxed);
        return scope_finish(s, w);
    }
    /* acq_rel: if this is the last count, every task's writes are visible to us. */
    if (atomic_fetch_sub_explicit(&s->pending_, own, memory_order_acq_rel) != own &&
        weft__pool_wait_latch(&s->done_, deadline) != 0) {
        /* Timed out: take the owner's share back unless the last task finished in the
         * meantime (0 is final: nothing increments from 0). If we got it back, the
         * count never reached 0, so the latch is still unset and a later wait works. */
        bool local = scope_local_owner(s, w);
        uint64_t hold = local ? SCOPE_HOLD : 1;
        uint64_t p = atomic_load_explicit(&s->pending_, memory_order_relaxed);
        while (p != 0) /* relaxed: only the count matters; tasks order through the latch */
            if (atomic_compare_exchange_weak_explicit(&s->pending_, &p, p + hold, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                s->own_ = hold | (s->own_ & SCOPE_POOL_COUNTED); /* still counted in the pool */
                if (local) /* relaxed: as above */
                    atomic_store_explicit(&s->holder_, w, memory_order_relaxed);
                return -ETIMEDOUT;
            }
        weft__pool_wait_latch(&s->done_, WEFT_NO_DEADLINE); /* set just now: returns at once */
    }
    return scope_finish(s, w);
}

/* A "scope wait" span around the owner's wait (a misuse records none). */
int weft_scope_wait_timeout(weft_scope *s, uint64_t timeout_ns)
{
    uint64_t t0 = weft__trace_begin();
    int rc = scope_wait(s, timeout_ns);
    if (rc != -EINVAL)
        weft__trace_end(WEFT__TRACE_SCOPE_WAIT, t0, (uint64_t)(uintptr_t)s, 0);
    return rc;
}

int weft_scope_wait(weft_scope *s)
{
    return weft_scope_wait_timeout(s, WEFT_NO_DEADLINE);
}

int weft_scope_try_wait(weft_scope *scope)
{
    scope_state *s = scope_of(scope);
    if (!s || !is_owner_thread(s))
        return -EINVAL;
    /* Acquire: pairs with the tasks' acq_rel decrements. Only the owner's share left
     * means every task finished, and none can spawn any more. */
    uint64_t p = atomic_load_explicit(&s->pending_, memory_order_acquire);
    if (p == 0)
        return -EINVAL;
    if (p != scope_share(s))
        return -EAGAIN;
    /* Relaxed: as in wait (holder_); nothing else changes pending_ now. */
    atomic_store_explicit(&s->holder_, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->pending_, 0, memory_order_relaxed);
    return scope_finish(s, weft__worker_current());
}

bool weft_scope_is_cancelled(const weft_scope *scope)
{
    scope_state *s = scope_of((weft_scope *)scope);
    /* Relaxed: advisory. */
    return s && atomic_load_explicit(&s->status_, memory_order_relaxed) != 0;
}

int weft_scope_cancel(weft_scope *scope, int status)
{
    scope_state *s = scope_of(scope);
    if (!s || status == 0)
        return -EINVAL;
    int expected = 0; /* relaxed: the status travels to the owner with pending_/latch */
    atomic_compare_exchange_strong_explicit(&s->status_, &expected, status, memory_order_relaxed,
                                            memory_order_relaxed);
    return 0;
}
