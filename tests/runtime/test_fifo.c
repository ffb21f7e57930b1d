/* test_fifo.c: Criterion suite `fifo` — the order of spawned tasks. The _fifo spawns
 * (weft_spawn_fifo, weft_scope_spawn_fifo) start one thread's tasks oldest first: on
 * one worker with no thief they run in spawn order, from a worker and through the
 * injector from outside, a breadth-first traversal visits level by level, isolated
 * regions keep their own order, a handle joined early runs its task at the join.
 * The LIFO order of weft_spawn / weft_scope_spawn that runtime.h documents: newest
 * first on the spawning worker, oldest first through the injector. With thieves,
 * every task runs exactly once (stress_fifo.c, which also runs under TSan). */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

enum { N_TASKS = 200 };

/* The order tasks ran in: each appends its id. */
typedef struct order {
    _Atomic int next;
    int ids[4 * N_TASKS];
} order;

typedef struct item {
    order *o;
    int id;
} item;

static void append(order *o, int id)
{
    int k = atomic_fetch_add(&o->next, 1);
    cr_assert(k < 4 * N_TASKS);
    o->ids[k] = id;
}

static void *task_append(void *p)
{
    item *it = p;
    append(it->o, it->id);
    return p;
}

static int scope_task_append(weft_scope *s, void *p)
{
    (void)s;
    task_append(p);
    return 0;
}

static void check_order(order *o, int n, bool ascending)
{
    cr_assert_eq(atomic_load(&o->next), n, "%d tasks ran, not %d", atomic_load(&o->next), n);
    for (int k = 0; k < n; k++)
        cr_assert_eq(o->ids[k], ascending ? k : n - 1 - k, "position %d ran task %d", k, o->ids[k]);
}

static item items[N_TASKS];
static order ord;

static void reset(void)
{
    memset(&ord, 0, sizeof ord);
    for (int i = 0; i < N_TASKS; i++)
        items[i] = (item){&ord, i};
}

typedef int (*spawn_fn)(weft_pool *, weft_task_fn, void *, weft_task **);

static void spawn_all_fifo(void *p)
{
    (void)p;
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq(weft_spawn_fifo(NULL, task_append, &items[i], NULL), 0);
}

static void spawn_all_lifo(void *p)
{
    (void)p;
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq(weft_spawn(NULL, task_append, &items[i], NULL), 0);
}

Test(fifo, spawn_rejects_a_null_fn)
{
    cr_assert_eq(weft_spawn_fifo(NULL, NULL, NULL, NULL), -EINVAL);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn_fifo(&s, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_scope_spawn_fifo(NULL, scope_task_append, NULL), -EINVAL);
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(weft_scope_spawn_fifo(&s, scope_task_append, NULL), -EINVAL, "the scope was waited on");
}

/* One worker, no thief: detached tasks queued from a job of that worker run in spawn
 * order (fifo) or newest first (lifo), once the job returns. */
Test(fifo, detached_tasks_of_a_worker_run_in_spawn_order)
{
    weft_pool *p = make_pool(1);
    reset();
    cr_assert_eq(weft_pool_run(p, spawn_all_fifo, NULL), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    check_order(&ord, N_TASKS, true);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

Test(fifo, lifo_detached_tasks_of_a_worker_run_newest_first)
{
    weft_pool *p = make_pool(1);
    reset();
    cr_assert_eq(weft_pool_run(p, spawn_all_lifo, NULL), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    check_order(&ord, N_TASKS, false);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* From outside every pool: the injector, oldest first, for both kinds of spawn. */
Test(fifo, tasks_from_outside_run_oldest_first_either_way)
{
    spawn_fn spawns[] = {weft_spawn_fifo, weft_spawn};
    for (int k = 0; k < 2; k++) {
        weft_pool *p = make_pool(1);
        reset();
        for (int i = 0; i < N_TASKS; i++)
            cr_assert_eq(spawns[k](p, task_append, &items[i], NULL), 0);
        cr_assert_eq(weft_pool_wait_idle(p), 0);
        check_order(&ord, N_TASKS, true);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

/* Scope tasks queued by a worker that then waits: in spawn order (fifo) or newest first
 * (lifo), run by the waiting owner. */
typedef struct scope_case {
    bool fifo;
} scope_case;

static void scope_spawn_all(void *p)
{
    scope_case *c = p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq((c->fifo ? weft_scope_spawn_fifo : weft_scope_spawn)(&s, scope_task_append, &items[i]), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(fifo, scope_tasks_of_a_worker_run_in_spawn_order)
{
    weft_pool *p = make_pool(1);
    for (int fifo = 0; fifo < 2; fifo++) {
        reset();
        scope_case c = {fifo != 0};
        cr_assert_eq(weft_pool_run(p, scope_spawn_all, &c), 0);
        check_order(&ord, N_TASKS, fifo != 0);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A scope owned by the thread outside the pool: its fifo tasks go through the injector. */
Test(fifo, scope_fifo_tasks_from_outside_run_in_spawn_order)
{
    weft_pool *p = make_pool(1);
    reset();
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq(weft_scope_spawn_fifo(&s, scope_task_append, &items[i]), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
    check_order(&ord, N_TASKS, true);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Breadth-first: each node of a complete binary tree (ids in level order: the children
 * of i are 2i + 1 and 2i + 2) queues its children with weft_scope_spawn_fifo. On one
 * worker the visit order is the level order, 0, 1, 2, ... */
enum { BFS_NODES = 255 };

typedef struct bfs {
    order *o;
} bfs;

static item bfs_items[BFS_NODES];

static int bfs_visit(weft_scope *s, void *p)
{
    item *it = p;
    append(it->o, it->id);
    for (int c = 2 * it->id + 1; c <= 2 * it->id + 2 && c < BFS_NODES; c++)
        cr_assert_eq(weft_scope_spawn_fifo(s, bfs_visit, &bfs_items[c]), 0);
    return 0;
}

static void bfs_root(void *p)
{
    (void)p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn_fifo(&s, bfs_visit, &bfs_items[0]), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(fifo, a_breadth_first_traversal_visits_level_by_level)
{
    weft_pool *p = make_pool(1);
    memset(&ord, 0, sizeof ord);
    for (int i = 0; i < BFS_NODES; i++)
        bfs_items[i] = (item){&ord, i};
    cr_assert_eq(weft_pool_run(p, bfs_root, NULL), 0);
    check_order(&ord, BFS_NODES, true);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Inside weft_isolate: the region's fifo tasks keep their order among themselves, and
 * the isolated wait runs them (one worker, nobody else could), while the fifo tasks
 * queued before the region wait for it and then run in their own order. */
static item iso_items[2 * N_TASKS];

static void isolated_region(void *p)
{
    (void)p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int i = N_TASKS; i < 2 * N_TASKS; i++)
        cr_assert_eq(weft_scope_spawn_fifo(&s, scope_task_append, &iso_items[i]), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
}

static void outside_then_isolated(void *p)
{
    (void)p;
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq(weft_spawn_fifo(NULL, task_append, &iso_items[i], NULL), 0);
    cr_assert_eq(weft_isolate(isolated_region, NULL), 0);
}

Test(fifo, isolated_regions_keep_their_own_order)
{
    weft_pool *p = make_pool(1);
    memset(&ord, 0, sizeof ord);
    for (int i = 0; i < 2 * N_TASKS; i++)
        iso_items[i] = (item){&ord, i};
    cr_assert_eq(weft_pool_run(p, outside_then_isolated, NULL), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(atomic_load(&ord.next), 2 * N_TASKS);
    /* the region's tasks first (its wait ran them), in order; then the others */
    for (int k = 0; k < 2 * N_TASKS; k++)
        cr_assert_eq(ord.ids[k], k < N_TASKS ? N_TASKS + k : k - N_TASKS, "position %d ran %d", k, ord.ids[k]);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A handle joined before its task started runs the task at the join; the rest keep
 * their order, and every task runs once. */
static void join_out_of_order(void *p)
{
    (void)p;
    weft_task *t[N_TASKS];
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq(weft_spawn_fifo(NULL, task_append, &items[i], &t[i]), 0);
    void *r;
    cr_assert_eq(weft_task_join(t[N_TASKS / 2], &r), 0);
    cr_assert_eq(r, &items[N_TASKS / 2]);
    for (int i = 0; i < N_TASKS; i++)
        if (i != N_TASKS / 2) {
            cr_assert_eq(weft_task_join(t[i], &r), 0);
            cr_assert_eq(r, &items[i]);
        }
}

Test(fifo, a_handle_joined_early_runs_its_task_at_the_join)
{
    weft_pool *p = make_pool(1);
    reset();
    cr_assert_eq(weft_pool_run(p, join_out_of_order, NULL), 0);
    cr_assert_eq(atomic_load(&ord.next), N_TASKS);
    cr_assert_eq(ord.ids[0], N_TASKS / 2, "the joined task ran first, at its join");
    for (int k = 1; k < N_TASKS; k++) /* then task 0 (joined next) and on, in order */
        cr_assert_eq(ord.ids[k], k - 1 < N_TASKS / 2 ? k - 1 : k, "position %d ran %d", k, ord.ids[k]);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* With thieves: every task runs once, fifo and lifo spawns mixed, from a worker. */
static void spawn_mixed(void *p)
{
    (void)p;
    for (int i = 0; i < N_TASKS; i++)
        cr_assert_eq((i % 3 ? weft_spawn_fifo : weft_spawn)(NULL, task_append, &items[i], NULL), 0);
}

Test(fifo, with_thieves_every_task_runs_once)
{
    weft_pool *p = make_pool(4);
    for (int round = 0; round < 20; round++) {
        reset();
        cr_assert_eq(weft_pool_run(p, spawn_mixed, NULL), 0);
        cr_assert_eq(weft_pool_wait_idle(p), 0);
        cr_assert_eq(atomic_load(&ord.next), N_TASKS);
        bool seen[N_TASKS] = {false};
        for (int k = 0; k < N_TASKS; k++) {
            cr_assert(!seen[ord.ids[k]], "task %d ran twice", ord.ids[k]);
            seen[ord.ids[k]] = true;
        }
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}
