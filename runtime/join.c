/* join.c: fork-join — weft_join, weft_pool_run (run inside a pool) and weft_isolate.
 *
 * join on a worker: b goes on the worker's own deque as a *stack* job (no malloc), a
 * runs inline, then b is popped back and run inline unless a thief took it; if it was
 * taken, the worker runs other work until b's latch is set (weft_worker_wait_until),
 * so nested joins never block a core and never deadlock.
 * Invariant: a stack job's frame outlives the job: join returns only after b ran
 * inline or its latch was set. */
#include "pool_internal.h"

typedef struct stack_job {
    weft_job job;
    weft_fn fn;
    void *ctx;
    weft_job_latch done;
} stack_job;

static void stack_job_execute(weft_job *job, weft_worker *w)
{
    (void)w;
    stack_job *sj = (stack_job *)job;
    sj->fn(sj->ctx);
    weft_latch_job_set(&sj->done); /* last touch of *sj */
}

static void stack_job_init(stack_job *sj, weft_fn fn, void *ctx, weft_worker *waiter, uint64_t isolation)
{
    sj->job.execute = stack_job_execute;
    sj->job.isolation = isolation;
    sj->job.next = NULL;
    sj->fn = fn;
    sj->ctx = ctx;
    weft_latch_job_init(&sj->done, waiter);
}

/* Run fn(ctx) on a worker of `pool` and wait. From one of its workers: inline. */
static void run_in_pool(weft_pool *pool, weft_fn fn, void *ctx)
{
    weft_worker *w = weft_worker_current();
    if (w && w->pool == pool) {
        fn(ctx);
        return;
    }
    stack_job sj;
    stack_job_init(&sj, fn, ctx, w, 0);
    weft_pool_inject(pool, &sj.job);
    weft_pool_wait_latch(&sj.done, WEFT_NO_DEADLINE);
}

typedef struct join_args {
    weft_fn a, b;
    void *actx, *bctx;
} join_args;

static void join_on_worker(weft_worker *w, weft_fn a, void *actx, weft_fn b, void *bctx)
{
    stack_job sj;
    stack_job_init(&sj, b, bctx, w, w->isolation);
    if (weft_deque_push(&w->deque, &sj.job) != 0) {
        /* the deque could not grow: no parallelism, but no failure either */
        a(actx);
        b(bctx);
        return;
    }
    weft_sleep_new_local_work(w->pool);
    a(actx);
    weft_job *top = weft_deque_pop(&w->deque);
    if (top == &sj.job) { /* not stolen: run b inline, no latch needed */
        weft_counter_inc(&w->stats.jobs_run);
        b(bctx);
        return;
    }
    if (top) /* b was stolen; this is older work: leave it for the wait loop */
        weft_deque_push(&w->deque, top);
    weft_worker_wait_until(w, &sj.done, WEFT_NO_DEADLINE);
}

static void join_trampoline(void *p)
{
    join_args *j = p;
    join_on_worker(weft_worker_current(), j->a, j->actx, j->b, j->bctx);
}

int weft_join(weft_fn a, void *actx, weft_fn b, void *bctx)
{
    if (!a || !b)
        return -EINVAL;
    weft_worker *w = weft_worker_current();
    if (w) {
        join_on_worker(w, a, actx, b, bctx);
        return 0;
    }
    weft_pool *pool;
    int rc = weft_pool_global(&pool);
    if (rc != 0)
        return rc;
    join_args j = {a, b, actx, bctx};
    run_in_pool(pool, join_trampoline, &j);
    return 0;
}

int weft_pool_run(weft_pool *pool, weft_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    int rc = weft_pool_resolve(pool, &pool);
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
    weft_worker *w = weft_worker_current();
    uint64_t saved = w->isolation;
    /* The tag: the address of this frame, unique among live isolated regions. */
    w->isolation = (uint64_t)(uintptr_t)&saved;
    ia->fn(ia->arg);
    w->isolation = saved;
}

int weft_isolate(weft_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    isolate_args ia = {fn, arg};
    if (weft_worker_current()) {
        isolate_on_worker(&ia);
        return 0;
    }
    weft_pool *pool;
    int rc = weft_pool_global(&pool);
    if (rc != 0)
        return rc;
    run_in_pool(pool, isolate_on_worker, &ia);
    return 0;
}
