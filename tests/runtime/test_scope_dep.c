/* test_scope_dep.c: Criterion suite `scope_dep` — tasks with dependencies by address:
 * argument errors, write-after-write chains in spawn order, the order ready tasks start
 * in on one thread, readers that run together,
 * a writer after readers, random DAGs and a blocked Cholesky equal to their serial
 * runs (owner outside the pool and on a worker), tasks spawned from tasks, and
 * cancellation. Several spawning threads and TSan: stress_scope_dep.c. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "dep_testlib.h"
#include "pool_testlib.h"

static _Atomic int ran;

static int count_task(weft_scope *s, void *arg)
{
    (void)s;
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return 0;
}

Test(scope_dep, bad_arguments)
{
    weft_scope s;
    int x;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    atomic_store(&ran, 0);
    weft_dep ok = {&x, WEFT_DEP_IN};
    weft_dep bad[2] = {{&x, WEFT_DEP_OUT}, {&x, (weft_dep_mode)0}};
    weft_dep bad4 = {&x, (weft_dep_mode)4};
    cr_assert_eq(weft_scope_spawn_dep(NULL, count_task, NULL, &ok, 1), -EINVAL);
    cr_assert_eq(weft_scope_spawn_dep(&s, NULL, NULL, &ok, 1), -EINVAL);
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, NULL, 1), -EINVAL);
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, bad, 2), -EINVAL);
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, &bad4, 1), -EINVAL);
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, NULL, 0), 0, "no deps: a plain spawn");
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, &ok, 1), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(atomic_load(&ran), 2, "nothing queued by a failed spawn");
    cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, &ok, 1), -EINVAL, "after wait");
}

typedef struct chain {
    uint32_t log[4000];
    uint32_t n;
} chain;

typedef struct chain_arg {
    chain *c;
    uint32_t id;
} chain_arg;

static int chain_task(weft_scope *s, void *arg)
{
    (void)s;
    chain_arg *a = arg;
    a->c->log[a->c->n++] = a->id;
    return 0;
}

/* Writers of one address (OUT, INOUT, and both listed for one task) run in spawn order. */
Test(scope_dep, writers_run_in_spawn_order)
{
    weft_pool *p = make_pool(3);
    static chain c;
    static chain_arg args[4000];
    c.n = 0;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    for (uint32_t i = 0; i < 4000; i++) {
        args[i] = (chain_arg){&c, i};
        weft_dep d[2] = {{&c, i % 2 ? WEFT_DEP_OUT : WEFT_DEP_INOUT}, {&c, WEFT_DEP_IN}};
        cr_assert_eq(weft_scope_spawn_dep(&s, chain_task, &args[i], d, i % 3 ? 1 : 2), 0);
    }
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(c.n, 4000);
    for (uint32_t i = 0; i < 4000; i++)
        cr_assert_eq(c.log[i], i);
    weft_pool_destroy(p);
}

/* One worker, which spawns them all before it waits: the ready tasks start earliest
 * spawned first (the deques alone ran them newest first), except that a task a
 * finishing task makes ready goes next on the same thread. */
static void order_root(void *arg)
{
    chain *c = arg;
    static chain_arg args[1000];
    static int cell[1000];
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (uint32_t i = 0; i < 1000; i++) {
        args[i] = (chain_arg){c, i};
        /* 0 writes cell[0]; 1..998 are independent; 999 reads cell[0] after 0. */
        weft_dep d = {&cell[i == 999 ? 0 : i], i == 999 ? WEFT_DEP_IN : WEFT_DEP_OUT};
        cr_assert_eq(weft_scope_spawn_dep(&s, chain_task, &args[i], &d, 1), 0);
    }
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(scope_dep, ready_tasks_start_earliest_spawned_first)
{
    weft_pool *p = make_pool(1);
    static chain c;
    c.n = 0;
    cr_assert_eq(weft_pool_run(p, order_root, &c), 0);
    cr_assert_eq(c.n, 1000);
    cr_assert_eq(c.log[0], 0);
    cr_assert_eq(c.log[1], 999, "released by task 0: next on its thread");
    for (uint32_t i = 2; i < 1000; i++)
        cr_assert_eq(c.log[i], i - 1, "position %u ran task %u", i, c.log[i]);
    weft_pool_destroy(p);
}

typedef struct meet {
    weft_latch both;   /* each reader counts down, then waits for the other */
    _Atomic int met;   /* readers that saw the other one running */
    int value;         /* written by the writers, read by the readers */
    int seen[2];
    int overlap[2];    /* each reader's wait for the other: 0, or -ETIMEDOUT */
} meet;

static int meet_reader(weft_scope *s, void *arg)
{
    (void)s;
    meet *m = arg;
    int me = atomic_fetch_add(&m->met, 1);
    m->seen[me] = m->value;
    weft_latch_count_down(&m->both, 1);
    /* Both readers run at once, or this times out. */
    m->overlap[me] = weft_latch_wait_timeout(&m->both, 10000000000ull);
    return 0;
}

static int meet_writer(weft_scope *s, void *arg)
{
    (void)s;
    meet *m = arg;
    weft_thread_sleep(2000000); /* give a reader that would not wait the time to run */
    m->value++;
    return 0;
}

/* Readers of one address after a writer run after it, and together; the writer after
 * them waits for both. */
Test(scope_dep, readers_run_together_between_writers)
{
    weft_pool *p = make_pool(3);
    meet m = {.value = 0};
    weft_latch_init(&m.both, 2);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    weft_dep w = {&m.value, WEFT_DEP_OUT}, r = {&m.value, WEFT_DEP_IN};
    cr_assert_eq(weft_scope_spawn_dep(&s, meet_writer, &m, &w, 1), 0);
    cr_assert_eq(weft_scope_spawn_dep(&s, meet_reader, &m, &r, 1), 0);
    cr_assert_eq(weft_scope_spawn_dep(&s, meet_reader, &m, &r, 1), 0);
    cr_assert_eq(weft_scope_spawn_dep(&s, meet_writer, &m, &w, 1), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(m.overlap[0], 0, "the readers did not run together");
    cr_assert_eq(m.overlap[1], 0, "the readers did not run together");
    cr_assert_eq(m.seen[0], 1);
    cr_assert_eq(m.seen[1], 1);
    cr_assert_eq(m.value, 2);
    weft_pool_destroy(p);
}

Test(scope_dep, random_dags_match_serial)
{
    weft_pool *p = make_pool(3);
    for (uint64_t seed = 1; seed <= 4; seed++)
        cr_assert_eq(dag_against_serial(p, 10000, seed), 0, "seed %llu", (unsigned long long)seed);
    weft_pool_destroy(p);
}

typedef struct dag_root {
    uint64_t seed;
    int rc;
} dag_root;

static void dag_on_worker(void *arg)
{
    dag_root *r = arg;
    r->rc = dag_against_serial(NULL, 10000, r->seed);
}

/* The owner a worker of the pool (it counts its scope locally). */
Test(scope_dep, random_dags_from_a_worker)
{
    weft_pool *p = make_pool(2);
    for (uint64_t seed = 10; seed < 12; seed++) {
        dag_root r = {seed, -1};
        cr_assert_eq(weft_pool_run(p, dag_on_worker, &r), 0);
        cr_assert_eq(r.rc, 0, "seed %llu", (unsigned long long)seed);
    }
    weft_pool_destroy(p);
}

typedef struct spawner_arg {
    dag *g;
} spawner_arg;

/* One task spawns the whole DAG into its own scope (the scope owner is elsewhere). */
static int dag_spawner(weft_scope *s, void *arg)
{
    return dag_spawn(((spawner_arg *)arg)->g, s);
}

Test(scope_dep, spawned_from_a_task)
{
    weft_pool *p = make_pool(2);
    static dag par, ser;
    dag_init(&par, 3000, 99);
    dag_init(&ser, 3000, 99);
    dag_serial(&ser);
    weft_scope s;
    spawner_arg a = {&par};
    cr_assert_eq(weft_scope_init(&s, p), 0);
    cr_assert_eq(weft_scope_spawn(&s, dag_spawner, &a), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert(dag_equal(&par, &ser));
    dag_fini(&par);
    dag_fini(&ser);
    weft_pool_destroy(p);
}

Test(scope_dep, cholesky_matches_serial)
{
    weft_pool *p = make_pool(3);
    cr_assert_eq(chol_against_serial(p, 8, 32, 5), 0);
    weft_pool_destroy(p);
}

static int fail_task(weft_scope *s, void *arg)
{
    (void)s;
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return 42;
}

/* A failing task cancels the scope; the tasks after it still run (they can release
 * what they hold) and see the cancellation. */
Test(scope_dep, failure_cancels_and_successors_still_run)
{
    weft_scope s;
    int x;
    atomic_store(&ran, 0);
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    weft_dep d = {&x, WEFT_DEP_INOUT};
    cr_assert_eq(weft_scope_spawn_dep(&s, fail_task, NULL, &d, 1), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(weft_scope_spawn_dep(&s, count_task, NULL, &d, 1), 0);
    cr_assert_eq(weft_scope_wait(&s), 42);
    cr_assert_eq(atomic_load(&ran), 11);
}

/* A scope whose wait timed out keeps its table: later tasks still order after the
 * earlier ones. */
static int slow_chain_task(weft_scope *s, void *arg)
{
    weft_thread_sleep(1000000);
    return chain_task(s, arg);
}

Test(scope_dep, timed_out_wait_keeps_the_order)
{
    weft_pool *p = make_pool(2);
    static chain c;
    static chain_arg args[40];
    c.n = 0;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    weft_dep d = {&c, WEFT_DEP_INOUT};
    for (uint32_t i = 0; i < 20; i++) {
        args[i] = (chain_arg){&c, i};
        cr_assert_eq(weft_scope_spawn_dep(&s, slow_chain_task, &args[i], &d, 1), 0);
    }
    cr_assert_eq(weft_scope_wait_timeout(&s, 1000), -ETIMEDOUT);
    for (uint32_t i = 20; i < 40; i++) {
        args[i] = (chain_arg){&c, i};
        cr_assert_eq(weft_scope_spawn_dep(&s, chain_task, &args[i], &d, 1), 0);
    }
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(c.n, 40);
    for (uint32_t i = 0; i < 40; i++)
        cr_assert_eq(c.log[i], i);
    weft_pool_destroy(p);
}
