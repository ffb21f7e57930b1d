/* test_steal.c: Criterion suite `steal` — a worker's steal of several jobs at once
 * (runtime/pool.c, steal_from; the deque's side is test_deque.c and stress_deque.c):
 * the jobs it takes beyond the one it runs stay stealable, so a job that blocks
 * outside weft does not strand the ones taken with it, and each runs exactly once. */
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

/* The oldest task: waits, outside weft (a plain poll and sched_yield), for the second
 * one to run elsewhere. A thief that takes the two together runs this one and must
 * leave the second stealable: nothing of weft runs on its thread meanwhile. */
static int first_task(weft_scope *s, void *p)
{
    (void)s;
    batch *b = p;
    atomic_store(&b->first_started, 1);
    uint64_t deadline = weft_time_now_ns() + STEAL_TEST_DEADLINE_NS;
    while (atomic_load(&b->second_runs) == 0) {
        if (weft_time_now_ns() > deadline) {
            atomic_store(&b->timed_out, 1);
            break;
        }
        sched_yield();
    }
    return 0;
}

static int second_task(weft_scope *s, void *p)
{
    (void)s;
    atomic_fetch_add(&((batch *)p)->second_runs, 1);
    return 0;
}

static int other_task(weft_scope *s, void *p)
{
    (void)s;
    atomic_fetch_add(&((batch *)p)->others_run, 1);
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
    cr_assert_eq(weft_scope_spawn(&b->s, second_task, b), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weft_scope_spawn(&b->s, other_task, b), 0);
    uint64_t deadline = weft_time_now_ns() + STEAL_TEST_DEADLINE_NS;
    while (atomic_load(&b->first_started) == 0 && weft_time_now_ns() < deadline)
        sched_yield(); /* the owner pops nothing meanwhile: the thief steals first */
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
