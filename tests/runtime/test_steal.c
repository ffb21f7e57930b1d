/* test_steal.c: Criterion suite `steal` — a worker's steal of several jobs at once
 * (runtime/pool.c, steal_from; the deque's side is test_deque.c and stress_deque.c):
 * the jobs it takes beyond the one it runs stay stealable, so a job that blocks
 * outside weft does not strand the ones taken with it, and each runs exactly once;
 * and a worker inside an isolated region, which cannot steal, gives one job per
 * steal, so its region's jobs stay where it can run them. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdatomic.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

#define STEAL_TEST_DEADLINE_NS 10000000000ull /* 10 s: only reached by a stranded job */

typedef struct batch {
    weft_scope s;
    _Atomic int first_started, second_runs, others_run;
    _Atomic int timed_out;
    int wait;
} batch;

/* Set *started, then wait outside weft (a plain poll and sched_yield) until *flag is
 * set; past the deadline set *timed_out instead: a job another one needed was out of
 * reach. */
static void poll_outside_weft(_Atomic int *started, _Atomic int *flag, _Atomic int *timed_out)
{
    atomic_store(started, 1);
    uint64_t deadline = weft_time_now_ns() + STEAL_TEST_DEADLINE_NS;
    while (atomic_load(flag) == 0) {
        if (weft_time_now_ns() > deadline) {
            atomic_store(timed_out, 1);
            return;
        }
        sched_yield();
    }
}

/* Yield until *started is set (or the deadline passes): the owner pops nothing
 * meanwhile, so the other worker steals first. */
static void yield_until_started(_Atomic int *started)
{
    uint64_t deadline = weft_time_now_ns() + STEAL_TEST_DEADLINE_NS;
    while (atomic_load(started) == 0 && weft_time_now_ns() < deadline)
        sched_yield();
}

/* The oldest task: waits, outside weft, for the second one to run elsewhere. A thief
 * that takes the two together runs this one and must leave the second stealable:
 * nothing of weft runs on its thread meanwhile. */
static int first_task(weft_scope *s, void *p)
{
    (void)s;
    batch *b = p;
    poll_outside_weft(&b->first_started, &b->second_runs, &b->timed_out);
    return 0;
}

/* Every other task of these tests: counts its run in the counter it is given. */
static int count_run(weft_scope *s, void *counter)
{
    (void)s;
    atomic_fetch_add((_Atomic int *)counter, 1);
    return 0;
}

/* On a worker: spawn six tasks (public at once), let the other worker steal (it
 * takes the older half, the first three, when it sees all six; of the two it keeps,
 * a plain push would leave the second task private), then wait: the wait runs the
 * owner's own tasks and must then find the second task on the thief's deque. */
static void spawn_then_wait(void *p)
{
    batch *b = p;
    cr_assert_eq(weft_scope_init(&b->s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&b->s, first_task, b), 0);
    cr_assert_eq(weft_scope_spawn(&b->s, count_run, &b->second_runs), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weft_scope_spawn(&b->s, count_run, &b->others_run), 0);
    yield_until_started(&b->first_started);
    b->wait = weft_scope_wait(&b->s);
}

Test(steal, a_job_blocked_outside_weft_leaves_the_jobs_stolen_with_it_stealable)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 20; round++) {
        batch b = {.wait = -1};
        cr_assert_eq(weft_pool_run(p, spawn_then_wait, &b), 0);
        cr_assert_eq(b.wait, 0);
        cr_assert_eq(atomic_load(&b.timed_out), 0, "round %d: the second task was stranded", round);
        cr_assert_eq(atomic_load(&b.second_runs), 1);
        cr_assert_eq(atomic_load(&b.others_run), 4);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* An isolated region's owner cannot steal: its region's jobs must not leave its deque
 * with a job that waits for what the owner does after the region. The owner spawns
 * an outer scope task that waits for a flag set after the region, then, isolated,
 * spawns the region's tasks and gives the other worker time to steal before it waits.
 * A thief that took the outer task and region tasks together would hold the region
 * tasks while it waits in the outer one, and the region could not end. */
typedef struct isolated {
    weft_scope outer;
    _Atomic int after_region, outer_started, region_runs;
    _Atomic int timed_out;
    int region_wait, outer_wait;
} isolated;

static int waits_for_the_region(weft_scope *s, void *p)
{
    (void)s;
    isolated *x = p;
    poll_outside_weft(&x->outer_started, &x->after_region, &x->timed_out);
    return 0;
}

static void region(void *p)
{
    isolated *x = p;
    weft_scope inner;
    cr_assert_eq(weft_scope_init(&inner, NULL), 0);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(weft_scope_spawn(&inner, count_run, &x->region_runs), 0);
    yield_until_started(&x->outer_started); /* the thief takes the outer task: the oldest */
    x->region_wait = weft_scope_wait(&inner);
}

static void outer_then_isolated(void *p)
{
    isolated *x = p;
    cr_assert_eq(weft_scope_init(&x->outer, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&x->outer, waits_for_the_region, x), 0);
    cr_assert_eq(weft_isolate(region, x), 0);
    atomic_store(&x->after_region, 1);
    x->outer_wait = weft_scope_wait(&x->outer);
}

Test(steal, an_isolated_region_keeps_its_jobs_from_a_batch_steal)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 10; round++) {
        isolated x = {.region_wait = -1, .outer_wait = -1};
        cr_assert_eq(weft_pool_run(p, outer_then_isolated, &x), 0);
        cr_assert_eq(x.region_wait, 0);
        cr_assert_eq(x.outer_wait, 0);
        cr_assert_eq(atomic_load(&x.timed_out), 0, "round %d: the region's tasks were out of its reach",
                     round);
        cr_assert_eq(atomic_load(&x.region_runs), 7);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}
