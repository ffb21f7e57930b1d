/* join.c: fork-join — weft_join, weft_pool_run and weft_pool_execute (run inside a
 * pool: on a worker, or on the caller in a caller slot, caller.c) and weft_isolate.
 *
 * join on a worker: b goes on the worker's own deque as a *stack* job (no malloc), in
 * its private part (shared when a thief asks, or at once if workers are idle), a
 * runs inline, then b is popped back and run inline unless a thief took it — with
 * no fence and no atomic read-modify-write while b stayed private; if it was
 * taken, the worker runs other work until b's latch is set (weft__worker_wait_until),
 * so nested joins never block a core and never deadlock.
 * Invariant: a stack job's frame outlives the job: join returns only after b ran
 * inline or its latch was set. */
#include "pool_internal.h"

#include <weft/trace.h>

/* One of the two function forms a join runs: plain, or told whether it migrated.
 * Which one is fixed per public entry point (the `context` flag, a constant after
 * inlining), so the form costs neither a field nor a test on the fast path. */
typedef struct join_fn {
    void (*fn)(void); /* weft_fn or weft_context_fn, as `context` says */
    void *ctx;
} join_fn;

static inline __attribute__((always_inline)) void join_fn_call(join_fn f, bool context, bool migrated)
{
    if (context)
        ((weft_context_fn)f.fn)(f.ctx, migrated);
    else
        ((weft_fn)f.fn)(f.ctx);
}

typedef struct stack_job {
    weft_job job;
    join_fn fn;
    weft_job_latch done;
} stack_job;

/* Run by a thief or by the waiter's wait loop. Migrated = run by another worker than
 * the one waiting for it. Relaxed load of the waiter: fixed before the job was
 * published. */
static inline __attribute__((always_inline)) void stack_job_run(weft_job *job, weft_worker *w, bool context)
{
    stack_job *sj = (stack_job *)job;
    weft__trace_job_fn((void *)sj->fn.fn);
    join_fn_call(sj->fn, context, w != atomic_load_explicit(&sj->done.waiter, memory_order_relaxed));
    weft__trace_job_done(job);
    weft__job_latch_set(&sj->done); /* last touch of *sj */
}

static void stack_job_execute(weft_job *job, weft_worker *w)
{
    stack_job_run(job, w, false);
}

static void stack_job_execute_context(weft_job *job, weft_worker *w)
{
    stack_job_run(job, w, true);
}

static inline __attribute__((always_inline)) void stack_job_init(stack_job *sj, join_fn fn, bool context,
                                                                 weft_worker *waiter, uint64_t isolation)
{
    sj->job.execute = context ? stack_job_execute_context : stack_job_execute;
    sj->job.isolation = isolation;
    /* job.next is left unset: only the injector links jobs (and sets it there), and
     * dig_isolated (pool.c), which sets it before use. */
    sj->fn = fn;
    weft__job_latch_init(&sj->done, waiter);
}

/* Run fn(ctx) on a worker of `pool` and wait (a "join wait" span: the job runs on
 * another thread). From one of its workers: inline. */
static void run_in_pool(weft_pool *pool, weft_fn fn, void *ctx)
{
    weft_worker *w = weft__worker_current();
    if (w && w->pool == pool) {
        fn(ctx);
        return;
    }
    stack_job sj;
    stack_job_init(&sj, (join_fn){(void (*)(void))fn, ctx}, false, w, 0);
    weft__pool_inject(pool, &sj.job);
    uint64_t t0 = weft__trace_begin();
    weft__pool_wait_latch(&sj.done, WEFT_NO_DEADLINE);
    weft__trace_end(WEFT__TRACE_JOIN_WAIT, t0, (uint64_t)(uintptr_t)&sj.job, 0);
}

typedef struct join_args {
    join_fn a, b;
} join_args;

/* b was stolen: run other work until its thief is done (a "join wait" span). */
static __attribute__((noinline)) void join_wait(weft_worker *w, stack_job *sj)
{
    uint64_t t0 = weft__trace_begin();
    weft__worker_wait_until(w, &sj->done, WEFT_NO_DEADLINE);
    weft__trace_end(WEFT__TRACE_JOIN_WAIT, t0, (uint64_t)(uintptr_t)&sj->job, 0);
}

/* After a ran: take b back and run it inline, or wait for the thief that took it. */
static inline __attribute__((always_inline)) void join_finish(weft_worker *w, stack_job *sj, bool context,
                                                              bool a_migrated)
{
    if (__builtin_expect(weft__deque_pop_if(&w->deque, &sj->job), 1)) { /* not stolen: run b inline */
        weft__counter_inc(&w->stats.jobs_run);
        join_fn_call(sj->fn, context, a_migrated);
        return;
    }
    /* b was stolen (what is left on the deque, if anything, is older work, or tasks a
     * spawned: the wait loop runs it) */
    join_wait(w, sj);
}

/* The join when its fast path does not apply: the push must grow the ring or share
 * items, or workers are idle (offer them b). `pushed`: sj is on the deque already. */
static __attribute__((noinline, cold)) void join_general(weft_worker *w, stack_job *sj, join_fn a,
                                                         bool pushed, bool context, bool a_migrated)
{
    if (!pushed && weft__deque_push(&w->deque, &sj->job) != 0) {
        /* the deque could not grow: no parallelism, but no failure either */
        join_fn_call(a, context, a_migrated);
        join_fn_call(sj->fn, context, a_migrated);
        return;
    }
    weft__sleep_offer_local_work(w);
    join_fn_call(a, context, a_migrated);
    join_finish(w, sj, context, a_migrated);
}

/* always_inline: each public entry gets its own copy, with its function form folded
 * (the plain weft_join pays nothing for weft_join_context's existence).
 * The fast path makes no call before a's: every slow case goes to join_general, so
 * only w lives in a callee-saved register across a (sj is at a fixed stack offset,
 * b is read back from it). */
static inline __attribute__((always_inline)) void join_on_worker(weft_worker *w, join_fn a, join_fn b,
                                                                 bool context, bool a_migrated)
{
    stack_job sj;
    stack_job_init(&sj, b, context, w, w->isolation);
    bool pushed = weft__deque_push_private(&w->deque, &sj.job);
    if (__builtin_expect(!pushed || weft__sleep_any_idle(w->pool), 0)) {
        join_general(w, &sj, a, pushed, context, a_migrated);
        return;
    }
    join_fn_call(a, context, a_migrated);
    join_finish(w, &sj, context, a_migrated);
}

static void join_trampoline(void *p)
{
    join_args *j = p;
    /* we came here from outside the pool: both halves have migrated */
    join_on_worker(weft__worker_current(), j->a, j->b, false, true);
}

static void join_trampoline_context(void *p)
{
    join_args *j = p;
    join_on_worker(weft__worker_current(), j->a, j->b, true, true);
}

/* A join called from outside the pool: the caller joins the global pool in a caller
 * slot and runs the join there as a worker would (a runs at once, on this thread);
 * with every slot taken, the join runs on a worker. Out of line, so the worker's fast
 * path keeps its registers and frame small. */
static __attribute__((noinline)) int join_from_outside(join_fn a, join_fn b, bool context)
{
    weft_pool *pool;
    int rc = weft_pool_global(&pool);
    if (rc != 0)
        return rc;
    weft_worker *w = weft__caller_enter(pool);
    if (w) {
        join_on_worker(w, a, b, context, false);
        weft__caller_leave(w);
        return 0;
    }
    join_args j = {a, b};
    run_in_pool(pool, context ? join_trampoline_context : join_trampoline, &j);
    return 0;
}

static inline __attribute__((always_inline)) int join_any(join_fn a, join_fn b, bool context)
{
    weft_worker *w = weft__worker_current();
    if (__builtin_expect(w == NULL, 0))
        return join_from_outside(a, b, context);
    join_on_worker(w, a, b, context, false);
    return 0;
}

int weft_join(weft_fn a, void *actx, weft_fn b, void *bctx)
{
    if (!a || !b)
        return -EINVAL;
    return join_any((join_fn){(void (*)(void))a, actx}, (join_fn){(void (*)(void))b, bctx}, false);
}

int weft_join_context(weft_context_fn a, void *actx, weft_context_fn b, void *bctx)
{
    if (!a || !b)
        return -EINVAL;
    return join_any((join_fn){(void (*)(void))a, actx}, (join_fn){(void (*)(void))b, bctx}, true);
}

int weft_pool_run(weft_pool *pool, weft_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    run_in_pool(pool, fn, arg);
    return 0;
}

typedef struct isolate_args {
    weft_fn fn;
    void *arg;
} isolate_args;

static void isolate_on_worker(void *p)
{
    isolate_args *ia = p;
    weft_worker *w = weft__worker_current();
    uint64_t saved = w->isolation;
    /* The tag: the address of this frame, unique among live isolated regions. */
    weft__worker_set_isolation(w, (uint64_t)(uintptr_t)&saved);
    ia->fn(ia->arg);
    weft__worker_set_isolation(w, saved);
}

int weft_isolate(weft_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    isolate_args ia = {fn, arg};
    if (weft__worker_current()) {
        isolate_on_worker(&ia);
        return 0;
    }
    return weft_pool_execute(NULL, isolate_on_worker, &ia);
}

int weft_pool_execute(weft_pool *pool, weft_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    weft_worker *w = weft__worker_current() ? NULL : weft__caller_enter(pool);
    if (!w) { /* a worker (inline if of this pool), or every slot taken */
        run_in_pool(pool, fn, arg);
        return 0;
    }
    fn(arg);
    weft__caller_leave(w);
    return 0;
}
