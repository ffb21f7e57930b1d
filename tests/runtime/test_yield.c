/* test_yield.c: Criterion suite `yield` — weft_yield_now, weft_yield_local and
 * weft_pool_has_pending: -EPERM off the pools; a job running on a worker runs its
 * own pending jobs (newest first, on its own thread, nested) with either yield; only
 * yield_now steals from another worker or takes an injected task; a long job that
 * yields lets the short ones it keeps waiting run; a yield inside weft_isolate keeps
 * to the region; a pending broadcast call is seen and run; a caller in a slot takes
 * no injected task. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

#define SECOND_NS 1000000000ull

static void spin_until(_Atomic int *flag, const char *what)
{
    uint64_t deadline = weft_deadline_after(10 * SECOND_NS);
    while (!atomic_load(flag))
        cr_assert(!weft_deadline_passed(deadline), "%s never happened", what);
}

/* A task that records that it ran, and on which thread. */
typedef struct mark {
    _Atomic int ran;
    pthread_t thread;
    _Atomic int *order; /* optional: appends its id */
    _Atomic int *next;
    int id;
} mark;

static void *mark_task(void *p)
{
    mark *m = p;
    m->thread = pthread_self();
    if (m->order)
        atomic_store(&m->order[atomic_fetch_add(m->next, 1)], m->id);
    atomic_store(&m->ran, 1);
    return NULL;
}

Test(yield, off_the_pools_is_eperm)
{
    cr_assert_eq(weft_yield_now(), -EPERM);
    cr_assert_eq(weft_yield_local(), -EPERM);
    cr_assert_eq(weft_pool_has_pending(), -EPERM);
}

/* One worker: a job spawns tasks and runs them itself, newest first, on its thread. */
typedef struct own {
    mark m[3];
    _Atomic int order[3], next;
    int before, during, after, yields[5];
    bool local;
} own;

static void run_own(void *p)
{
    own *o = p;
    o->before = weft_pool_has_pending();
    for (int i = 0; i < 3; i++) {
        o->m[i].order = o->order;
        o->m[i].next = &o->next;
        o->m[i].id = i;
        cr_assert_eq(weft_spawn(NULL, mark_task, &o->m[i], NULL), 0);
    }
    o->during = weft_pool_has_pending();
    for (int k = 0; k < 5; k++)
        o->yields[k] = o->local ? weft_yield_local() : weft_yield_now();
    o->after = weft_pool_has_pending();
    for (int i = 0; i < 3; i++)
        cr_assert(pthread_equal(o->m[i].thread, pthread_self()), "task %d ran on another thread", i);
}

Test(yield, a_job_runs_its_own_tasks_newest_first)
{
    weft_pool *p = make_pool(1);
    for (int local = 0; local < 2; local++) {
        own o = {.local = local != 0};
        cr_assert_eq(weft_pool_run(p, run_own, &o), 0);
        cr_assert_eq(o.before, 0);
        cr_assert_eq(o.during, 1);
        cr_assert_eq(o.after, 0);
        int want[5] = {1, 1, 1, 0, 0};
        for (int k = 0; k < 5; k++)
            cr_assert_eq(o.yields[k], want[k], "yield %d returned %d", k, o.yields[k]);
        for (int k = 0; k < 3; k++)
            cr_assert_eq(atomic_load(&o.order[k]), 2 - k, "newest first");
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Two workers: X's job has nothing of its own; Y's job queued tasks and spins without
 * looking for work. yield_local on X finds nothing, yield_now steals Y's tasks; then,
 * with Y's tasks gone, yield_now takes a task injected from outside. */
typedef struct pair {
    _Atomic int x_busy, y_ready, x_stolen, x_done, injected;
    mark y_tasks[4], outside;
    int local_rc, pending_rc, stolen, injected_rc;
    pthread_t x_thread;
} pair;

static void *job_x(void *p)
{
    pair *pr = p;
    pr->x_thread = pthread_self();
    atomic_store(&pr->x_busy, 1);
    spin_until(&pr->y_ready, "y's tasks");
    pr->local_rc = weft_yield_local();
    pr->pending_rc = weft_pool_has_pending();
    while (weft_yield_now() == 1)
        pr->stolen++;
    atomic_store(&pr->x_stolen, 1);
    spin_until(&pr->injected, "the injected task");
    pr->injected_rc = weft_yield_now();
    atomic_store(&pr->x_done, 1);
    return NULL;
}

static void *job_y(void *p)
{
    pair *pr = p;
    spin_until(&pr->x_busy, "x's job");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weft_spawn(NULL, mark_task, &pr->y_tasks[i], NULL), 0);
    atomic_store(&pr->y_ready, 1);
    spin_until(&pr->x_done, "x's yields"); /* never looks for work meanwhile */
    return NULL;
}

Test(yield, yield_now_steals_and_takes_injected_work_yield_local_does_not)
{
    weft_pool *p = make_pool(2);
    pair pr = {0};
    /* x first: while it spins, only the other worker can take y */
    cr_assert_eq(weft_spawn(p, job_x, &pr, NULL), 0);
    spin_until(&pr.x_busy, "x's job");
    cr_assert_eq(weft_spawn(p, job_y, &pr, NULL), 0);
    spin_until(&pr.x_stolen, "x's steals");
    cr_assert_eq(weft_spawn(p, mark_task, &pr.outside, NULL), 0);
    atomic_store(&pr.injected, 1);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(pr.local_rc, 0, "yield_local took another worker's task");
    cr_assert_eq(pr.pending_rc, 0);
    cr_assert_eq(pr.stolen, 4, "yield_now stole %d of 4", pr.stolen);
    for (int i = 0; i < 4; i++)
        cr_assert(pthread_equal(pr.y_tasks[i].thread, pr.x_thread));
    cr_assert_eq(pr.injected_rc, 1);
    cr_assert(pthread_equal(pr.outside.thread, pr.x_thread));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The idiom: a long job on the only worker, waiting for short tasks it spawned, gets
 * them done by yielding between its steps (without the yield it would wait for ever). */
typedef struct longjob {
    _Atomic int done;
    int steps;
} longjob;

static void *short_task(void *p)
{
    atomic_fetch_add(&((longjob *)p)->done, 1);
    return NULL;
}

static void long_job(void *p)
{
    longjob *l = p;
    for (int i = 0; i < 50; i++)
        cr_assert_eq(weft_spawn(NULL, short_task, l, NULL), 0);
    while (atomic_load(&l->done) < 50) {
        l->steps++; /* one step of the long job's own work */
        cr_assert(weft_yield_now() >= 0);
        cr_assert(l->steps < 1000000, "the short tasks never ran");
    }
}

Test(yield, a_long_job_lets_short_ones_run)
{
    weft_pool *p = make_pool(1);
    longjob l = {0};
    cr_assert_eq(weft_pool_run(p, long_job, &l), 0);
    cr_assert_eq(atomic_load(&l.done), 50);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Inside weft_isolate: a task queued before the region is not the region's to run. */
typedef struct iso {
    mark before, inside;
    int rc_first, rc_second;
} iso;

static void isolated_yields(void *p)
{
    iso *s = p;
    cr_assert_eq(weft_spawn(NULL, mark_task, &s->inside, NULL), 0);
    s->rc_first = weft_yield_now();  /* the region's task */
    s->rc_second = weft_yield_now(); /* the one from before: not ours */
}

static void queue_then_isolate(void *p)
{
    iso *s = p;
    cr_assert_eq(weft_spawn(NULL, mark_task, &s->before, NULL), 0);
    cr_assert_eq(weft_isolate(isolated_yields, s), 0);
    cr_assert(!atomic_load(&s->before.ran), "the isolated yield ran an outside task");
}

Test(yield, inside_isolate_only_the_region_s_jobs)
{
    weft_pool *p = make_pool(1);
    iso s = {0};
    cr_assert_eq(weft_pool_run(p, queue_then_isolate, &s), 0);
    cr_assert_eq(s.rc_first, 1);
    cr_assert_eq(s.rc_second, 0);
    cr_assert(atomic_load(&s.inside.ran));
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert(atomic_load(&s.before.ran));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A broadcast waiting for the only worker, busy in a job: the job sees it pending and
 * runs the call with yield_local. */
typedef struct bc {
    weft_pool *pool;
    _Atomic int busy, calls, returned;
    int local_rc;
} bc;

static void count_call(void *ctx, unsigned index, unsigned n)
{
    (void)index, (void)n;
    atomic_fetch_add(&((bc *)ctx)->calls, 1);
}

static void *broadcaster(void *p)
{
    bc *b = p;
    cr_assert_eq(weft_broadcast(b->pool, count_call, b), 0);
    atomic_store(&b->returned, 1);
    return NULL;
}

static void *busy_job(void *p)
{
    bc *b = p;
    atomic_store(&b->busy, 1);
    uint64_t deadline = weft_deadline_after(10 * SECOND_NS);
    while (weft_pool_has_pending() != 1)
        cr_assert(!weft_deadline_passed(deadline), "the broadcast never showed as pending");
    b->local_rc = weft_yield_local();
    return NULL;
}

Test(yield, a_pending_broadcast_call_is_seen_and_run)
{
    weft_pool *p = make_pool(1);
    bc b = {.pool = p};
    cr_assert_eq(weft_spawn(p, busy_job, &b, NULL), 0);
    spin_until(&b.busy, "the busy job");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, broadcaster, &b), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(b.local_rc, 1);
    cr_assert_eq(atomic_load(&b.calls), 1);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A caller in a slot (the only worker benched by it): a task injected from another
 * thread is not its to take; its own spawn is. The worker runs the injected one once
 * the caller has left. */
typedef struct slot {
    weft_pool *pool;
    mark injected, own;
    int rc_injected, rc_own, pending, injected_ran;
} slot;

static void *inject_from_outside(void *p)
{
    slot *s = p;
    cr_assert_eq(weft_spawn(s->pool, mark_task, &s->injected, NULL), 0);
    return NULL;
}

static void in_slot(void *p)
{
    slot *s = p;
    cr_assert(weft_current_worker_index() >= 1, "not in a caller slot");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, inject_from_outside, s), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    s->rc_injected = weft_yield_now();
    s->injected_ran = atomic_load(&s->injected.ran);
    cr_assert_eq(weft_spawn(NULL, mark_task, &s->own, NULL), 0);
    s->pending = weft_pool_has_pending();
    s->rc_own = weft_yield_now();
}

Test(yield, a_caller_takes_no_injected_task)
{
    weft_pool *p = make_pool(1);
    slot s = {.pool = p};
    cr_assert_eq(weft_pool_execute(p, in_slot, &s), 0);
    cr_assert_eq(s.rc_injected, 0, "the caller took the injected task");
    cr_assert_eq(s.injected_ran, 0, "the benched worker took the injected task");
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.rc_own, 1);
    cr_assert(pthread_equal(s.own.thread, pthread_self()));
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert(atomic_load(&s.injected.ran));
    cr_assert_eq(weft_pool_destroy(p), 0);
}
