/* fifo.c: the order of the _fifo spawns (weft_spawn_fifo, weft_scope_spawn_fifo) —
 * the tasks one worker queues that way start oldest first, on that worker or on a
 * thief (rayon's spawn_fifo, with its indirection).
 *
 * A worker's deque is LIFO for its owner, so a fifo task does not go there itself: it
 * goes at the tail of its spawner's fifo (a list under the spawner's fifo_lock, linked
 * through the job's `next`, free while the job is in no injector), and a *ticket* goes
 * on the deque in its place. A ticket is a small job of its own block that names the
 * spawner and carries the task's isolation tag; whoever runs it — the spawner popping
 * its newest ticket, a thief stealing the oldest — frees it, takes the oldest task of
 * that tag from the spawner's fifo and runs it there. So tasks start in spawn order
 * whichever ticket starts them.
 *
 * Invariants:
 *  - for each isolation tag, a spawner's fifo holds at least as many tasks as there
 *    are tickets for it (a ticket is pushed only after its task is appended, and each
 *    ticket takes exactly one task): every ticket finds a task, and every task is run
 *    by a ticket;
 *  - a task runs in its own isolation (the ticket's tag is the task's), so an
 *    isolated waiter that runs its region's tickets runs only its region's tasks;
 *  - a task leaves the fifo only under its lock, to run once; what it counts (a
 *    task's pending and references, a scope's count) is its own job's business, as
 *    for any job;
 *  - a spawner that is no worker of the pool (an outside thread, a worker of another
 *    pool) has no fifo: its tasks go to the injector, which is FIFO already. */
#include "pool_internal.h"

#include <weft/trace.h>

typedef struct fifo_ticket {
    weft_job job;
    weft_worker *spawner; /* whose fifo holds the task (workers live as long as their pool) */
} fifo_ticket;
_Static_assert(sizeof(fifo_ticket) <= WEFT_JOB_BLOCK_TINY_SIZE, "a ticket fits a tiny job block");

/* Under s->fifo_lock: unlink and return the oldest task of tag `isolation`, or
 * `only` itself if it is not NULL. */
static weft_job *fifo_take(weft_worker *s, uint64_t isolation, const weft_job *only)
{
    weft_job **link = &s->fifo_head, *prev = NULL;
    while (*link && (only ? *link != only : (*link)->isolation != isolation)) {
        prev = *link;
        link = &prev->next;
    }
    weft_job *job = *link;
    if (job) {
        *link = job->next;
        if (s->fifo_tail == job)
            s->fifo_tail = prev;
        job->next = NULL;
    }
    return job;
}

static void ticket_execute(weft_job *job, weft_worker *w)
{
    fifo_ticket *t = (fifo_ticket *)job;
    weft_worker *s = t->spawner;
    uint64_t isolation = job->isolation;
    /* Tracing: the ticket's span ends here; the task gets a span of its own below,
     * which its latch's setter ends (weft__trace_job_done names the task). */
    weft__trace_job_done(job);
    weft__block_free_kind(t, WEFT_BLOCK_TINY);
    weft_mutex_lock(&s->fifo_lock);
    weft_job *task = fifo_take(s, isolation, NULL);
    weft_mutex_unlock(&s->fifo_lock);
    /* Never NULL (the first invariant); its isolation is ours already (the ticket's). */
    if (weft__trace_on())
        weft__worker_execute_traced(w, task);
    else
        task->execute(task, w);
}

int weft__fifo_push(weft_worker *w, weft_job *job)
{
    fifo_ticket *t = weft__block_alloc_tiny();
    if (!t)
        return -ENOMEM;
    t->job.execute = ticket_execute;
    t->job.isolation = job->isolation;
    t->job.next = NULL;
    t->spawner = w;
    job->next = NULL;
    weft_mutex_lock(&w->fifo_lock);
    if (w->fifo_tail)
        w->fifo_tail->next = job;
    else
        w->fifo_head = job;
    w->fifo_tail = job;
    weft_mutex_unlock(&w->fifo_lock);
    int rc = weft__deque_push(&w->deque, &t->job);
    if (rc != 0) {
        /* Our task is still there: it is its tag's newest, which the tickets already
         * out (one per older task) never reach. */
        weft_mutex_lock(&w->fifo_lock);
        fifo_take(w, job->isolation, job);
        weft_mutex_unlock(&w->fifo_lock);
        weft__block_free_kind(t, WEFT_BLOCK_TINY);
    }
    return rc;
}
