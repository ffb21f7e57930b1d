/* Criterion suite for weft_pool_wait_idle / _timeout: it returns once every spawned
 * and scope task of the pool has run (detached ones, and those they spawn), leaves
 * the pool usable, times out with the work still running, and refuses to wait from
 * a worker of the pool it waits for. The wake-up race is in stress_wait_idle.c. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

#define MS 1000000ull

static void *sleep_10ms_then_count(void *p)
{
    weft_thread_sleep(10 * MS);
    atomic_fetch_add((_Atomic int *)p, 1);
    return NULL;
}

/* A program that once lost work: 20 detached 10 ms tasks on the global pool, then
 * main would return. wait_idle(NULL) is what main calls first: all 20 have run. */
Test(wait_idle, detached_tasks_on_the_global_pool_all_run)
{
    static _Atomic int ran; /* static: nothing may outlive the test's frame */
    for (int i = 0; i < 20; i++)
        cr_assert_eq(weft_spawn(NULL, sleep_10ms_then_count, (void *)&ran, NULL), 0);
    cr_assert_eq(weft_pool_wait_idle(NULL), 0);
    cr_assert_eq(atomic_load(&ran), 20);
}

typedef struct tree {
    _Atomic int nodes;
    int results[64]; /* plain writes, read by the waiter after wait_idle */
} tree;

typedef struct node {
    tree *t;
    int depth, index;
} node;

static node nodes[64];

/* A detached task that spawns two detached children (a binary tree of 63 tasks). */
static void *spawn_children(void *p)
{
    node *n = p;
    n->t->results[n->index] = n->index + 1;
    atomic_fetch_add_explicit(&n->t->nodes, 1, memory_order_relaxed);
    if (n->depth < 5)
        for (int k = 1; k <= 2; k++) {
            node *c = &nodes[2 * n->index + k];
            *c = (node){n->t, n->depth + 1, 2 * n->index + k};
            cr_assert_eq(weft_spawn(NULL, spawn_children, c, NULL), 0);
        }
    return NULL;
}

Test(wait_idle, waits_for_tasks_spawned_by_tasks_and_leaves_the_pool_usable)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 3; round++) {
        static tree t;
        atomic_store(&t.nodes, 0);
        for (int i = 0; i < 64; i++)
            t.results[i] = 0;
        nodes[0] = (node){&t, 0, 0};
        cr_assert_eq(weft_spawn(p, spawn_children, &nodes[0], NULL), 0);
        cr_assert_eq(weft_pool_wait_idle(p), 0);
        cr_assert_eq(atomic_load(&t.nodes), 63);
        for (int i = 0; i < 63; i++)
            cr_assert_eq(t.results[i], i + 1, "task %d's write is visible", i);
    }
    cr_assert_eq(weft_pool_wait_idle(p), 0); /* idle already: at once */
    cr_assert_eq(weft_pool_wait_idle_timeout(p, 0), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

static int scope_task(weft_scope *s, void *p)
{
    (void)s;
    weft_thread_sleep(MS);
    atomic_fetch_add((_Atomic int *)p, 1);
    return 0;
}

/* Scope tasks count too, and so do tasks with a handle nobody joined yet. */
Test(wait_idle, waits_for_scope_tasks_and_unjoined_tasks)
{
    weft_pool *p = make_pool(2);
    _Atomic int ran = 0;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(weft_scope_spawn(&s, scope_task, (void *)&ran), 0);
    weft_task *t;
    cr_assert_eq(weft_spawn(p, sleep_10ms_then_count, (void *)&ran, &t), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(atomic_load(&ran), 9);
    cr_assert_eq(weft_task_try_join(t, NULL), 0, "finished, so try_join succeeds");
    cr_assert_eq(weft_scope_try_wait(&s), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

static void *wait_gate(void *p)
{
    weft_latch_wait(p);
    return NULL;
}

static void *wait_idle_on(void *p)
{
    return (void *)(intptr_t)weft_pool_wait_idle(p);
}

Test(wait_idle, timeout_returns_etimedout_while_a_task_runs)
{
    weft_pool *p = make_pool(2);
    weft_latch gate = WEFT_LATCH_INIT(1);
    cr_assert_eq(weft_spawn(p, wait_gate, &gate, NULL), 0);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_pool_wait_idle_timeout(p, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    cr_assert_eq(weft_pool_wait_idle_timeout(p, 0), -ETIMEDOUT);
    /* two more waiters, on other threads: the last task's end wakes all of them */
    weft_thread *w[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(weft_thread_spawn(NULL, wait_idle_on, p, &w[i]), 0);
    weft_thread_sleep(5 * MS);
    cr_assert_eq(weft_latch_count_down(&gate, 1), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    for (int i = 0; i < 2; i++) {
        void *rc = (void *)1;
        cr_assert_eq(weft_thread_join(w[i], &rc), 0);
        cr_assert_eq((intptr_t)rc, 0);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

typedef struct from_worker {
    weft_pool *own, *other;
    int own_rc, null_rc, timed_rc, other_rc;
} from_worker;

static void wait_from_worker(void *p)
{
    from_worker *f = p;
    f->own_rc = weft_pool_wait_idle(f->own);
    f->null_rc = weft_pool_wait_idle(NULL);
    f->timed_rc = weft_pool_wait_idle_timeout(f->own, 1000 * MS);
    f->other_rc = weft_pool_wait_idle(f->other); /* another pool: allowed */
}

static void *wait_from_task(void *p)
{
    (void)p;
    return (void *)(intptr_t)weft_pool_wait_idle(NULL);
}

/* A worker waiting for its own pool would wait for the task it runs: -EDEADLK at
 * once, whether it names the pool or passes NULL. */
Test(wait_idle, from_a_worker_of_the_pool_is_edeadlk)
{
    from_worker f = {make_pool(2), make_pool(1), 1, 1, 1, 1};
    cr_assert_eq(weft_pool_run(f.own, wait_from_worker, &f), 0);
    cr_assert_eq(f.own_rc, -EDEADLK);
    cr_assert_eq(f.null_rc, -EDEADLK);
    cr_assert_eq(f.timed_rc, -EDEADLK);
    cr_assert_eq(f.other_rc, 0);

    weft_task *t; /* a task on the global pool, passing NULL */
    void *rc = NULL;
    cr_assert_eq(weft_spawn(NULL, wait_from_task, NULL, &t), 0);
    cr_assert_eq(weft_task_join(t, &rc), 0);
    cr_assert_eq((intptr_t)rc, -EDEADLK);
    cr_assert_eq(weft_pool_destroy(f.own), 0);
    cr_assert_eq(weft_pool_destroy(f.other), 0);
}

/* Before the global pool starts there is nothing to wait for: 0 at once (it does not
 * start the pool to find that out). */
Test(wait_idle, null_before_the_global_pool_starts_returns_at_once)
{
    cr_assert_eq(weft_pool_wait_idle(NULL), 0);
    cr_assert_eq(weft_pool_wait_idle_timeout(NULL, 0), 0);
}
