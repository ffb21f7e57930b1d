/* test_scope.c: Criterion suite `scope` — scopes: results against serial, the first
 * error wins and cancels, cancellation seen by tasks, try_wait, and wait_timeout
 * leaving the scope open (from outside and on a worker). Race-heavy checks live in the
 * stress_*.c programs, which also run under TSan. */
#include <criterion/criterion.h>
#include "capture_stderr.h"
#include "cpu_time.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "workloads.h"
#include "pool_testlib.h"

Test(scope, nqueens_matches_serial)
{
    cr_assert_eq(nq_parallel(10), 724);
    cr_assert_eq(nq_parallel(8), nq_serial(8, 0, 0, 0, 0));
}

Test(scope, random_trees_match_serial)
{
    weft_pool *p = make_pool(3);
    for (uint64_t seed = 1; seed < 10; seed++) {
        tree_arg t = {tree_hash(seed), 11, 0};
        cr_assert_eq(weft_pool_run(p, (weft_fn)tree_walk, &t), 0);
        cr_assert_eq(t.r, tree_serial(t.seed, 11));
    }
    weft_pool_destroy(p);
}

static int fail_or_check(weft_scope *s, void *p)
{
    (void)s;
    uintptr_t i = (uintptr_t)p;
    if (i == 5)
        return 7;
    if (i > 5)
        weft_thread_sleep(1000000); /* give the failure time to land */
    return 0;
}

Test(scope, first_error_wins_and_cancels)
{
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert(!weft_scope_is_cancelled(&s));
    for (uintptr_t i = 0; i < 20; i++)
        cr_assert_eq(weft_scope_spawn(&s, fail_or_check, (void *)i), 0);
    cr_assert_eq(weft_scope_wait(&s), 7);
    cr_assert(weft_scope_is_cancelled(&s));
    cr_assert_eq(weft_scope_spawn(&s, fail_or_check, NULL), -EINVAL, "spawn after wait");
    cr_assert_eq(weft_scope_wait(&s), -EINVAL, "wait twice");
}

static int count_unless_cancelled(weft_scope *s, void *p)
{
    if (!weft_scope_is_cancelled(s))
        atomic_fetch_add((_Atomic int *)p, 1);
    return 0;
}

Test(scope, tasks_see_cancellation)
{
    _Atomic int ran = 0;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_cancel(&s, 0), -EINVAL);
    cr_assert_eq(weft_scope_cancel(&s, -ECANCELED), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(weft_scope_spawn(&s, count_unless_cancelled, &ran), 0);
    cr_assert_eq(weft_scope_wait(&s), -ECANCELED);
    cr_assert_eq(atomic_load(&ran), 0);
}

static int wait_gate(weft_scope *s, void *p)
{
    (void)s;
    weft_latch_wait(p);
    return 0;
}

Test(scope, try_wait)
{
    weft_latch gate = WEFT_LATCH_INIT(1);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&s, wait_gate, &gate), 0);
    cr_assert_eq(weft_scope_try_wait(&s), -EAGAIN);
    weft_latch_count_down(&gate, 1);
    int rc;
    while ((rc = weft_scope_try_wait(&s)) == -EAGAIN)
        weft_thread_yield();
    cr_assert_eq(rc, 0);
    cr_assert_eq(weft_scope_try_wait(&s), -EINVAL, "already finished");
}

Test(scope, wait_timeout_leaves_the_scope_open)
{
    weft_latch gate = WEFT_LATCH_INIT(1);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&s, wait_gate, &gate), 0);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_scope_wait_timeout(&s, 20000000), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20000000);
    cr_assert_eq(weft_scope_wait_timeout(&s, 0), -ETIMEDOUT, "still open, still running");
    cr_assert_eq(weft_scope_spawn(&s, fail_or_check, (void *)(uintptr_t)5), 0, "spawn after a timeout");
    weft_latch_count_down(&gate, 1);
    cr_assert_eq(weft_scope_wait(&s), 7);
    cr_assert_eq(weft_scope_wait_timeout(&s, 0), -EINVAL, "finished");
}

/* A scope wait on a worker times out at the deadline and the scope stays open. The
 * waited-on task is started on the other worker first, so the wait cannot run it
 * inline. */
typedef struct gated_scope {
    weft_latch gate;
    _Atomic int started;
    int scope_timeout, scope_wait;
} gated_scope;

static int scope_started_then_gate(weft_scope *s, void *p)
{
    (void)s;
    gated_scope *wt = p;
    atomic_store(&wt->started, 1);
    weft_latch_wait(&wt->gate);
    return 0;
}

static void scope_wait_timeout_on_worker(void *p)
{
    gated_scope *wt = p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&s, scope_started_then_gate, wt), 0);
    while (!atomic_load(&wt->started))
        weft_thread_yield();
    wt->scope_timeout = weft_scope_wait_timeout(&s, 1000000);
    weft_latch_count_down(&wt->gate, 1);
    wt->scope_wait = weft_scope_wait(&s);
}

Test(scope, wait_timeout_on_a_worker_leaves_the_scope_open)
{
    weft_pool *p = make_pool(2);
    gated_scope wt = {.gate = WEFT_LATCH_INIT(1)};
    cr_assert_eq(weft_pool_run(p, scope_wait_timeout_on_worker, &wt), 0);
    cr_assert_eq(wt.scope_timeout, -ETIMEDOUT);
    cr_assert_eq(wt.scope_wait, 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A timed wait's deadline counts from the call, also when the owner first runs its
 * own queued tasks: a task of one second queued on the owner, a wait of one second
 * for a task held on the other worker, returns -ETIMEDOUT about a second after the
 * call (the deadline passed while the owner ran its task), not two. The bound below
 * is that semantics' (a deadline counted from the end of the owner's own tasks gives
 * two seconds), with most of a second of slack. */
static int busy_one_second(weft_scope *s, void *p)
{
    (void)s;
    (void)p;
    uint64_t until = weft_time_now_ns() + 1000000000u;
    while (weft_time_now_ns() < until)
        ;
    return 0;
}

typedef struct timed_from_call {
    gated_scope g;
    int timeout;
    uint64_t elapsed_ns;
} timed_from_call;

static void wait_timeout_after_own_task(void *p)
{
    timed_from_call *t = p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&s, scope_started_then_gate, &t->g), 0);
    while (!atomic_load(&t->g.started)) /* the other worker took it */
        weft_thread_yield();
    cr_assert_eq(weft_scope_spawn(&s, busy_one_second, NULL), 0); /* ours to run */
    uint64_t t0 = weft_time_now_ns();
    t->timeout = weft_scope_wait_timeout(&s, 1000000000u);
    t->elapsed_ns = weft_time_now_ns() - t0;
    weft_latch_count_down(&t->g.gate, 1);
    t->g.scope_wait = weft_scope_wait(&s);
}

Test(scope, wait_timeout_counts_from_the_call)
{
    weft_pool *p = make_pool(2);
    timed_from_call t = {.g = {.gate = WEFT_LATCH_INIT(1)}};
    cr_assert_eq(weft_pool_run(p, wait_timeout_after_own_task, &t), 0);
    cr_assert_eq(t.timeout, -ETIMEDOUT);
    cr_assert_lt(t.elapsed_ns, 1800000000u, "the wait returned %.2f s after its call, with a 1 s timeout",
                 (double)t.elapsed_ns * 1e-9);
    cr_assert_eq(t.g.scope_wait, 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The owner's wait runs the tasks it paid for while its share is not whole. A task it
 * did not pay for (spawned from outside the pool) that it ran while holding fills the
 * share too: here that makes the share whole with a task the owner paid for still on
 * its deque, which the wait then runs through its loop instead. On a pool of one
 * worker, so the owner runs every task. */
typedef struct unpaid_first {
    weft_scope s;
    _Atomic int outside_ran, paid_ran;
    int spawn_outside, spawn_paid, wait;
} unpaid_first;

static int mark_ran(weft_scope *s, void *p)
{
    (void)s;
    atomic_store((_Atomic int *)p, 1);
    return 0;
}

static void *spawn_from_outside(void *p)
{
    unpaid_first *u = p;
    u->spawn_outside = weft_scope_spawn(&u->s, mark_ran, &u->outside_ran);
    return NULL;
}

static void unpaid_then_paid(void *p)
{
    unpaid_first *u = p;
    cr_assert_eq(weft_scope_init(&u->s, NULL), 0);
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, spawn_from_outside, u, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    while (!atomic_load(&u->outside_ran)) /* the injected task, run here (held) */
        cr_assert_geq(weft_yield_now(), 0);
    u->spawn_paid = weft_scope_spawn(&u->s, mark_ran, &u->paid_ran);
    u->wait = weft_scope_wait(&u->s);
}

Test(scope, wait_runs_a_paid_task_left_when_the_share_is_whole)
{
    weft_pool *p = make_pool(1);
    unpaid_first u = {0};
    cr_assert_eq(weft_pool_run(p, unpaid_then_paid, &u), 0);
    cr_assert_eq(u.spawn_outside, 0);
    cr_assert_eq(u.spawn_paid, 0);
    cr_assert_eq(u.wait, 0);
    cr_assert(atomic_load(&u.paid_ran));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A task of a held scope that the owner's thread runs before it paid for any task
 * (another worker spawned it, counting it in pending_): its finish counts once,
 * whichever of the two ways it gives its count back, and the wait returns 0. The
 * spawner spins outside weft until the task ran, so only the owner, waiting for its
 * join, can run it. */
typedef struct held_unpaid {
    weft_scope s;
    int owner;                  /* the owner's worker index */
    _Atomic int second_started, ran_on, done;
    int spawn, wait;
} held_unpaid;

static int held_unpaid_task(weft_scope *s, void *p)
{
    (void)s;
    held_unpaid *h = p;
    atomic_store(&h->ran_on, weft_current_worker_index());
    atomic_store(&h->done, 1);
    return 0;
}

static void held_unpaid_first(void *p) /* on the owner: the second half goes elsewhere */
{
    held_unpaid *h = p;
    while (!atomic_load(&h->second_started))
        weft_thread_yield();
}

static void held_unpaid_second(void *p) /* on the other worker */
{
    held_unpaid *h = p;
    h->spawn = weft_scope_spawn(&h->s, held_unpaid_task, h);
    atomic_store(&h->second_started, 1);
    while (!atomic_load(&h->done))
        weft_thread_yield();
}

static void held_unpaid_owner(void *p)
{
    held_unpaid *h = p;
    h->owner = weft_current_worker_index();
    cr_assert_eq(weft_scope_init(&h->s, NULL), 0);
    weft_join(held_unpaid_first, h, held_unpaid_second, h);
    h->wait = weft_scope_wait(&h->s);
}

Test(scope, a_task_the_holding_owner_runs_unpaid_counts_once)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 20; round++) {
        held_unpaid h = {.ran_on = -2};
        cr_assert_eq(weft_pool_run(p, held_unpaid_owner, &h), 0);
        cr_assert_eq(h.spawn, 0);
        cr_assert_eq(h.wait, 0);
        cr_assert_eq(atomic_load(&h.ran_on), h.owner, "round %d: the task ran on %d, the owner is %d", round,
                     atomic_load(&h.ran_on), h.owner);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Only the thread that called init may wait: a wait from any other thread, or on
 * NULL, is -EINVAL and leaves the scope as it was; the owner's wait then works. Both
 * kinds of owner: an outside thread, and a worker of the scope's pool (which holds its
 * share until it waits), asked by another worker and by an outside thread. */
typedef struct foreign_wait {
    weft_scope *s;
    int wait, wait_timeout, try_wait;
} foreign_wait;

static void foreign_waits(foreign_wait *f)
{
    f->wait = weft_scope_wait(f->s);
    f->wait_timeout = weft_scope_wait_timeout(f->s, 0);
    f->try_wait = weft_scope_try_wait(f->s);
}

static void *foreign_waits_thread(void *p)
{
    foreign_waits(p);
    return NULL;
}

static void check_foreign_waits(weft_scope *s)
{
    foreign_wait f = {.s = s};
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, foreign_waits_thread, &f, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_eq(f.wait, -EINVAL);
    cr_assert_eq(f.wait_timeout, -EINVAL);
    cr_assert_eq(f.try_wait, -EINVAL);
}

typedef struct worker_owner {
    weft_scope s;
    _Atomic int started;
    foreign_wait other;
    int wait;
} worker_owner;

static int foreign_waits_task(weft_scope *s, void *p)
{
    worker_owner *o = p;
    o->other = (foreign_wait){.s = s};
    foreign_waits(&o->other);
    atomic_store(&o->started, 1);
    return 0;
}

static void owner_on_worker(void *p)
{
    worker_owner *o = p;
    cr_assert_eq(weft_scope_init(&o->s, NULL), 0);
    check_foreign_waits(&o->s);
    cr_assert_eq(weft_scope_spawn(&o->s, foreign_waits_task, o), 0);
    while (!atomic_load(&o->started)) /* run by the other worker: the owner never pops */
        weft_thread_yield();
    o->wait = weft_scope_wait(&o->s);
}

Test(scope, only_the_owner_waits)
{
    cr_assert_eq(weft_scope_wait(NULL), -EINVAL);
    cr_assert_eq(weft_scope_wait_timeout(NULL, 0), -EINVAL);
    cr_assert_eq(weft_scope_try_wait(NULL), -EINVAL);

    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn(&s, fail_or_check, (void *)(uintptr_t)1), 0);
    check_foreign_waits(&s);
    cr_assert_eq(weft_scope_wait(&s), 0);

    weft_pool *p = make_pool(2);
    worker_owner o = {0};
    cr_assert_eq(weft_pool_run(p, owner_on_worker, &o), 0);
    cr_assert_eq(o.other.wait, -EINVAL);
    cr_assert_eq(o.other.wait_timeout, -EINVAL);
    cr_assert_eq(o.other.try_wait, -EINVAL);
    cr_assert_eq(o.wait, 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}
