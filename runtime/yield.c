/* yield.c: the current thread's pending work, seen from a job — run one pending job
 * (weft_yield_now, weft_yield_local; rayon's yield_now / yield_local) or ask whether
 * any waits on this thread (weft_pool_has_pending; rayon's
 * current_thread_has_pending_tasks). The cure for a long job that would otherwise
 * keep short ones waiting behind it.
 *
 * Invariants:
 *  - a yield takes a job exactly as the thread's wait loop would (pool.c's find_work,
 *    or its own-work half), so it keeps isolation, the bench and a caller slot's
 *    "no injected work", and runs the job nested on the calling job's stack;
 *  - only a pool's own threads (a worker, or a caller working in a pool) have work to
 *    yield to: any other thread gets -EPERM and nothing happens. */
#include "pool_internal.h"

static int yield(bool own)
{
    weft_worker *w = weft__worker_current();
    if (!w)
        return -EPERM;
    weft_job *job = weft__worker_find_work(w, own);
    if (!job)
        return 0;
    weft__worker_run_job(w, job);
    return 1;
}

int weft_yield_now(void)
{
    return yield(false);
}

int weft_yield_local(void)
{
    return yield(true);
}

int weft_pool_has_pending(void)
{
    weft_worker *w = weft__worker_current();
    if (!w)
        return -EPERM;
    /* A snapshot: a thief may take what it counts. */
    return weft__deque_len(&w->deque) > 0 || (!w->caller && weft__broadcast_pending(w));
}
