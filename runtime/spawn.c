/* spawn.c: tasks with a join handle (weft_spawn / weft_task_join) and detached tasks
 * (weft_spawn_fifo: the same tasks, queued through the spawner's fifo, fifo.c).
 *
 * A task is one job block (block_cache_internal.h): job + function + result +
 * completion latch + a claim word + a reference count (1 for the queue entry, +1 for a
 * handle). A task spawned with a copy of its argument (weft_spawn_copy) carries the
 * copy after those, in the same block (a larger block kind, or a malloc of its own size
 * beyond WEFT_SPAWN_COPY_INLINE); the task records the block's kind for its free,
 * which comes after fn returned (the last reference's drop).
 *
 * Claim: whoever runs fn first moves `claimed` 0 -> 1 — the worker that pops, steals
 * or dequeues the queue entry, or the joiner (a worker of the task's pool) that finds
 * its task not yet started and runs it inline. A joiner that runs its task inline
 * never waits for the queue entry, so a task cannot be hidden from its joiner (behind
 * jobs of another isolated region, say). The queue entry left behind is stale: whoever
 * takes it later sees `claimed`, runs nothing, and only drops the entry's reference
 * and the pool's pending count (so pool destroy still waits for it, and the block
 * outlives every entry that points to it). Fast path: a joiner whose task is on top
 * of its own deque pops it — then it holds both references, no claim is needed, and it
 * frees the block itself.
 *
 * Completion when the entry's runner ran fn: it stores the result, sets the latch,
 * then drops its reference; the joiner waits for the latch, then drops its own. The
 * joiner registers itself as the latch's waiter before waiting, so the runner reads
 * the waiter after setting (weft__job_latch_set_registered): its reference keeps the
 * block alive. Whoever drops the last reference frees the block.
 *
 * Debug builds: a handle is in the live set (handles.c) from spawn until the join
 * that consumes it, which leaves the set before it drops its reference (so the block
 * cannot be reused while still in the set); a join or try_join of a handle not in the
 * set returns -EINVAL without reading it. */
#include "pool_internal.h"
#include "handles_internal.h"

#include <weft/trace.h>

struct weft_task {
    weft_job job;
    weft_task_fn fn;
    void *arg;
    void *result;
    weft_pool *pool;
    weft_job_latch done;
    _Atomic uint32_t refs;
    _Atomic uint32_t claimed; /* 0: not started; 1: fn runs or ran (set once) */
    weft_handle_link live;    /* debug builds: membership of the live set (joinable) */
    bool joinable;            /* a handle exists (immutable) */
    uint8_t kind;             /* the block's kind (WEFT_BLOCK_*), for its free */
    max_align_t copy[];       /* weft_spawn_copy: the argument's bytes */
};
_Static_assert(sizeof(struct weft_task) <= WEFT_JOB_BLOCK_SIZE, "weft_task must fit a job block");
_Static_assert(offsetof(struct weft_task, copy) + WEFT_SPAWN_COPY_INLINE <= WEFT_JOB_BLOCK_LARGE_SIZE,
               "a copy of WEFT_SPAWN_COPY_INLINE bytes must fit a large block");

static void task_free(weft_task *t)
{
    weft__block_free_kind(t, t->kind);
}

static void task_release(weft_task *t)
{
    /* acq_rel: the last dropper must see the other's writes (result, latch use)
     * before freeing; pairs with the other dropper's release half. */
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        task_free(t);
}

/* Take the right to run fn. Relaxed: the claim only decides who runs; the fields
 * fn reads were published to both contenders before (the push's release, or the
 * handle's hand-off), and the result travels by the latch (entry runner) or stays on
 * the joiner's thread (inline runner). */
static bool task_claim(weft_task *t)
{
    return atomic_exchange_explicit(&t->claimed, 1, memory_order_relaxed) == 0;
}

static void task_execute(weft_job *job, weft_worker *w)
{
    weft_task *t = (weft_task *)job;
    weft_pool *pool = t->pool;
    if (!t->joinable || task_claim(t)) {
        weft__trace_job_fn((void *)t->fn);
        t->result = t->fn(t->arg);
        if (__builtin_expect(t->result != NULL, 0) && !t->joinable) /* nobody reads it: report it */
            weft__pool_task_failed(pool, &(weft_task_failure){.task_fn = t->fn, .result = t->result, .arg = t->arg});
        weft__trace_job_done(job);
        weft__job_latch_set_registered(&t->done);
    } else if (w) { /* stale: the joiner ran it inline, and counted it */
        weft__counter_add(&w->stats.jobs_run, UINT64_MAX); /* uncount this entry: -1 */
    }
    task_release(t);
    weft__pool_pending_done(pool);
}

/* Queue t (fn, arg and kind filled in) on pool, through the spawner's fifo if `fifo`;
 * on failure free it, copy included. always_inline: `fifo` is a constant at each
 * call, so the plain spawns pay nothing for the fifo ones. */
static inline __attribute__((always_inline)) int task_submit(weft_pool *pool, weft_task *t, weft_task **out,
                                                             bool fifo)
{
    weft_worker *w = weft__worker_current();
    t->job.execute = task_execute;
    t->job.isolation = w ? w->isolation : 0;
    t->job.next = NULL;
    t->result = NULL;
    t->pool = pool;
    weft__job_latch_init(&t->done, NULL);
    atomic_init(&t->refs, out ? 2 : 1);
    atomic_init(&t->claimed, 0);
    t->joinable = out != NULL;
    weft__pool_pending_add(pool);
    int rc = fifo ? weft__pool_submit_fifo(pool, &t->job) : weft__pool_submit(pool, &t->job);
    if (rc != 0) {
        weft__pool_pending_done(pool);
        task_free(t);
        return rc;
    }
    if (out) {
        weft__handle_register(&t->live);
        *out = t;
    }
    return 0;
}

static inline __attribute__((always_inline)) int spawn(weft_pool *pool, weft_task_fn fn, void *arg,
                                                       weft_task **out, bool fifo)
{
    if (!fn)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    weft_task *t = weft__block_alloc();
    if (!t)
        return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->kind = WEFT_BLOCK_SMALL;
    return task_submit(pool, t, out, fifo);
}

int weft_spawn(weft_pool *pool, weft_task_fn fn, void *arg, weft_task **out)
{
    return spawn(pool, fn, arg, out, false);
}

int weft_spawn_fifo(weft_pool *pool, weft_task_fn fn, void *arg, weft_task **out)
{
    return spawn(pool, fn, arg, out, true);
}

int weft_spawn_copy(weft_pool *pool, weft_task_fn fn, const void *arg, size_t size, weft_task **out)
{
    if (!fn || (!arg && size != 0))
        return -EINVAL;
    if (size == 0)
        return weft_spawn(pool, fn, NULL, out);
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    uint8_t kind;
    weft_task *t = weft__block_alloc_copy(offsetof(weft_task, copy), arg, size, &kind);
    if (!t)
        return -ENOMEM;
    t->fn = fn;
    t->arg = t->copy;
    t->kind = kind;
    return task_submit(pool, t, out, false);
}

/* Run t's function here, on worker w, as the worker that took its entry would. */
static void task_run_inline(weft_worker *w, weft_task *t)
{
    uint64_t saved = w->isolation;
    weft__worker_set_isolation(w, t->job.isolation);
    weft__counter_inc(&w->stats.jobs_run);
    t->result = t->fn(t->arg);
    weft__worker_set_isolation(w, saved);
}

/* On a worker of t's pool: run t inline if nobody started it. Returns true if it ran
 * here (the handle is then consumed), false if someone else runs or ran it. */
static bool task_join_inline(weft_worker *w, weft_task *t, void **result)
{
    if (weft__deque_pop_if(&w->deque, &t->job)) {
        /* The only entry of t, now ours: nobody else can run or claim it. */
        task_run_inline(w, t);
        if (result)
            *result = t->result;
        weft_pool *pool = t->pool;
        weft__handle_unregister(&t->live);
        task_free(t); /* both references were ours */
        weft__pool_pending_done(pool);
        return true;
    }
    if (!task_claim(t))
        return false;
    task_run_inline(w, t);
    if (result)
        *result = t->result;
    weft__handle_unregister(&t->live);
    task_release(t); /* the stale entry's taker drops the other reference */
    return true;
}

static int task_finish(weft_task *t, void **result)
{
    if (result)
        *result = t->result; /* ordered by the latch's acquire */
    weft__handle_unregister(&t->live);
    task_release(t);
    return 0;
}

int weft_task_join_timeout(weft_task *t, uint64_t timeout_ns, void **result)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined already */
        return -EINVAL;
    weft_worker *w = weft__worker_current();
    /* Acquire (probe): a set latch means the result is published. */
    if (w && w->pool == t->pool && !weft__job_latch_probe(&t->done) && task_join_inline(w, t, result))
        return 0;
    uint64_t deadline = weft_deadline_after(timeout_ns);
    /* A joiner of another pool keeps its pool alive for the runner's wake-up. */
    bool cross = w && w->pool != t->pool;
    weft__job_latch_register(&t->done, w, cross);
    uint64_t t0 = weft__trace_begin(); /* a "join wait" span for the task */
    int rc = weft__pool_wait_latch(&t->done, deadline);
    weft__trace_end(WEFT__TRACE_JOIN_WAIT, t0, (uint64_t)(uintptr_t)&t->job, 0);
    if (rc != 0) {
        /* Deregister, so a late set does not wake a worker that may be gone by then. */
        weft__job_latch_unregister(&t->done, cross);
        return -ETIMEDOUT;
    }
    return task_finish(t, result);
}

int weft_task_join(weft_task *t, void **result)
{
    return weft_task_join_timeout(t, WEFT_NO_DEADLINE, result);
}

int weft_task_try_join(weft_task *t, void **result)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined already */
        return -EINVAL;
    if (!weft__job_latch_probe(&t->done))
        return -EAGAIN;
    return task_finish(t, result);
}
