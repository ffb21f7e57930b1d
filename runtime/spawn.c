/* spawn.c: tasks with a join handle (weft_spawn / weft_task_join) and detached tasks.
 *
 * A task is one heap block: job + function + result + completion latch + a reference
 * count (1 for the runner, +1 for a handle). The runner stores the result, sets the
 * latch, then drops its reference; the joiner waits for the latch, then drops its
 * own. Whoever drops last frees. The joiner registers itself as the latch's waiter
 * before waiting, so the runner must read the waiter after setting
 * (weft_latch_job_set_registered): the runner's reference keeps the block alive. */
#include "pool_internal.h"

#include <stdlib.h>

struct weft_task {
    weft_job job;
    weft_task_fn fn;
    void *arg;
    void *result;
    weft_pool *pool;
    weft_job_latch done;
    _Atomic uint32_t refs;
};

static void task_release(weft_task *t)
{
    /* acq_rel: the last dropper must see the other's writes (result, latch use)
     * before freeing; pairs with the other dropper's release half. */
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        free(t);
}

static void task_execute(weft_job *job, weft_worker *w)
{
    (void)w;
    weft_task *t = (weft_task *)job;
    weft_pool *pool = t->pool;
    t->result = t->fn(t->arg);
    weft_latch_job_set_registered(&t->done);
    task_release(t);
    weft_pool_pending_done(pool);
}

int weft_spawn(weft_pool *pool, weft_task_fn fn, void *arg, weft_task **out)
{
    if (!fn)
        return -EINVAL;
    int rc = weft_pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    weft_task *t = malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    weft_worker *w = weft_worker_current();
    t->job.execute = task_execute;
    t->job.isolation = w ? w->isolation : 0;
    t->job.next = NULL;
    t->fn = fn;
    t->arg = arg;
    t->result = NULL;
    t->pool = pool;
    weft_latch_job_init(&t->done, NULL);
    atomic_init(&t->refs, out ? 2 : 1);
    weft_pool_pending_add(pool);
    if ((rc = weft_pool_submit(pool, &t->job)) != 0) {
        weft_pool_pending_done(pool);
        free(t);
        return rc;
    }
    if (out)
        *out = t;
    return 0;
}

static int task_finish(weft_task *t, void **result)
{
    if (result)
        *result = t->result; /* ordered by the latch's acquire */
    task_release(t);
    return 0;
}

int weft_task_join_timeout(weft_task *t, uint64_t timeout_ns, void **result)
{
    if (!t)
        return -EINVAL;
    uint64_t deadline = weft_deadline_after(timeout_ns);
    weft_worker *w = weft_worker_current();
    /* seq_cst: registration half of the Dekker pair with the runner's set-then-read. */
    atomic_store_explicit(&t->done.waiter, w, memory_order_seq_cst);
    if (weft_pool_wait_latch(&t->done, deadline) != 0) {
        /* Deregister, so a late set does not wake a worker that may be gone by then. */
        atomic_store_explicit(&t->done.waiter, NULL, memory_order_seq_cst);
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
    if (!t)
        return -EINVAL;
    if (!weft_latch_job_probe(&t->done))
        return -EAGAIN;
    return task_finish(t, result);
}
