/* scope.c: scopes — spawn any number of tasks that may borrow the caller's stack,
 * wait for all; the first non-zero status wins and cancels the scope.
 *
 * pending_ counts unfinished tasks plus 1 held by the owner until it waits, so it
 * reaches 0 exactly once, after the wait began and every task (including tasks
 * spawned by tasks: a task spawns before it finishes) is done. The task that brings
 * it to 0 sets done_, whose waiter (the owner's worker, or NULL for an outside
 * thread) was fixed at init. Tasks are heap jobs in job blocks (block_cache.c),
 * counted in the pool's pending, so a pool is never destroyed under them.
 *
 * A task spawned with a copy of its argument (weft_scope_spawn_copy) carries the copy
 * after its scope_job, in the same block (a larger block kind, or a malloc of its own
 * size beyond WEFT_SPAWN_COPY_INLINE); the job records the block's kind, and the
 * block, copy included, is freed only after fn returned. */
#include "pool_internal.h"

#include <pthread.h>

typedef struct scope_job {
    weft_job job;
    weft_scope *scope;
    weft_scope_fn fn;
    void *arg;                /* the caller's, or `copy` */
    uint8_t kind;             /* the block's kind (WEFT_BLOCK_*), for its free */
    max_align_t copy[];       /* weft_scope_spawn_copy: the argument's bytes */
} scope_job;
_Static_assert(sizeof(scope_job) <= WEFT_JOB_BLOCK_SIZE, "scope_job must fit a job block");
_Static_assert(offsetof(scope_job, copy) + WEFT_SPAWN_COPY_INLINE <= WEFT_JOB_BLOCK_LARGE_SIZE,
               "a copy of WEFT_SPAWN_COPY_INLINE bytes must fit a large block");

/* Drop one count; the last one sets the latch (waiter copied by set before the SET). */
static void scope_release(weft_scope *s)
{
    /* acq_rel: every task's writes happen-before the final decrement's reader, and on
     * to the owner through the latch (set_state is seq_cst). */
    if (atomic_fetch_sub_explicit(&s->pending_, 1, memory_order_acq_rel) == 1)
        weft_latch_job_set(&s->done_);
}

static void scope_job_execute(weft_job *job, weft_worker *w)
{
    (void)w;
    scope_job *sj = (scope_job *)job;
    weft_scope *s = sj->scope;
    weft_pool *pool = s->pool_;
    int status = sj->fn(s, sj->arg);
    weft_block_free_kind(sj, sj->kind); /* the copy too: fn has returned */
    if (status != 0)
        weft_scope_cancel(s, status);
    scope_release(s); /* may let the owner return: s is dead after this */
    weft_pool_pending_done(pool);
}

int weft_scope_init(weft_scope *s, weft_pool *pool)
{
    if (!s)
        return -EINVAL;
    int rc = weft_pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    atomic_init(&s->pending_, 1);
    atomic_init(&s->status_, 0);
    weft_latch_job_init(&s->done_, weft_worker_current());
    s->pool_ = pool;
    s->owner_ = (unsigned long)pthread_self(); /* pthread_t is unsigned long on Linux */
    return 0;
}

/* Misuse detection only (a finished scope has pending_ == 0): relaxed. */
static bool scope_open(weft_scope *s)
{
    return atomic_load_explicit(&s->pending_, memory_order_relaxed) != 0;
}

/* Queue sj (fn, arg and kind filled in) in s; on failure free it, copy included. */
static inline int scope_submit(weft_scope *s, scope_job *sj)
{
    weft_worker *w = weft_worker_current();
    sj->job.execute = scope_job_execute;
    sj->job.isolation = w ? w->isolation : 0;
    sj->job.next = NULL;
    sj->scope = s;
    /* Relaxed: the spawner holds a count (owner or running task), so pending_ > 0. */
    atomic_fetch_add_explicit(&s->pending_, 1, memory_order_relaxed);
    weft_pool_pending_add(s->pool_);
    int rc = weft_pool_submit(s->pool_, &sj->job);
    if (rc != 0) {
        weft_pool_pending_done(s->pool_);
        atomic_fetch_sub_explicit(&s->pending_, 1, memory_order_relaxed);
        weft_block_free_kind(sj, sj->kind);
    }
    return rc;
}

int weft_scope_spawn(weft_scope *s, weft_scope_fn fn, void *arg)
{
    if (!s || !fn || !scope_open(s))
        return -EINVAL;
    scope_job *sj = weft_block_alloc();
    if (!sj)
        return -ENOMEM;
    sj->fn = fn;
    sj->arg = arg;
    sj->kind = WEFT_BLOCK_SMALL;
    return scope_submit(s, sj);
}

int weft_scope_spawn_copy(weft_scope *s, weft_scope_fn fn, const void *arg, size_t size)
{
    if (!s || !fn || (!arg && size != 0) || !scope_open(s))
        return -EINVAL;
    if (size == 0)
        return weft_scope_spawn(s, fn, NULL);
    uint8_t kind;
    scope_job *sj = weft_block_alloc_copy(offsetof(scope_job, copy), arg, size, &kind);
    if (!sj)
        return -ENOMEM;
    sj->fn = fn;
    sj->arg = sj->copy;
    sj->kind = kind;
    return scope_submit(s, sj);
}

static bool is_owner_thread(weft_scope *s)
{
    return pthread_equal((pthread_t)s->owner_, pthread_self());
}

int weft_scope_wait_timeout(weft_scope *s, uint64_t timeout_ns)
{
    if (!s || !is_owner_thread(s) || atomic_load_explicit(&s->pending_, memory_order_relaxed) == 0)
        return -EINVAL;
    uint64_t deadline = weft_deadline_after(timeout_ns);
    /* acq_rel: if this is the last count, every task's writes are visible to us. */
    if (atomic_fetch_sub_explicit(&s->pending_, 1, memory_order_acq_rel) != 1 &&
        weft_pool_wait_latch(&s->done_, deadline) != 0) {
        /* Timed out: take the owner's count back unless the last task finished in the
         * meantime (0 is final: nothing increments from 0). If we got it back, the
         * count never reached 0, so the latch is still unset and a later wait works. */
        uint64_t p = atomic_load_explicit(&s->pending_, memory_order_relaxed);
        while (p != 0) /* relaxed: only the count matters; tasks order through the latch */
            if (atomic_compare_exchange_weak_explicit(&s->pending_, &p, p + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                return -ETIMEDOUT;
        weft_pool_wait_latch(&s->done_, WEFT_NO_DEADLINE); /* set just now: returns at once */
    }
    /* Relaxed: ordered by the latch / the acq_rel decrement above. */
    return atomic_load_explicit(&s->status_, memory_order_relaxed);
}

int weft_scope_wait(weft_scope *s)
{
    return weft_scope_wait_timeout(s, WEFT_NO_DEADLINE);
}

int weft_scope_try_wait(weft_scope *s)
{
    if (!s || !is_owner_thread(s))
        return -EINVAL;
    /* Acquire: pairs with the tasks' acq_rel decrements. Only the owner's count left
     * means every task finished, and none can spawn any more. */
    uint64_t p = atomic_load_explicit(&s->pending_, memory_order_acquire);
    if (p == 0)
        return -EINVAL;
    if (p != 1)
        return -EAGAIN;
    atomic_store_explicit(&s->pending_, 0, memory_order_relaxed);
    return atomic_load_explicit(&s->status_, memory_order_relaxed);
}

bool weft_scope_is_cancelled(const weft_scope *s)
{
    /* Relaxed: advisory. */
    return s && atomic_load_explicit(&((weft_scope *)s)->status_, memory_order_relaxed) != 0;
}

int weft_scope_cancel(weft_scope *s, int status)
{
    if (!s || status == 0)
        return -EINVAL;
    int expected = 0; /* relaxed: the status travels to the owner with pending_/latch */
    atomic_compare_exchange_strong_explicit(&s->status_, &expected, status, memory_order_relaxed,
                                            memory_order_relaxed);
    return 0;
}
