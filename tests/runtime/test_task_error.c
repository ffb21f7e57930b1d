/* test_task_error.c: Criterion suite `task_error` — a pool's on_task_error hook
 * (weft_pool_config): called once for each detached task that returns non-NULL (plain,
 * fifo and copied spawns, from a worker and from outside) and for each scope task
 * that returns non-zero, with what failed, on the thread that ran the task, before
 * weft_pool_wait_idle / the scope's wait return; never for a task with a handle nor
 * for a task that succeeded; without a hook, failures are ignored as before. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

enum { MAX_REPORTS = 64 };

typedef struct reports {
    _Atomic int n;
    weft_task_failure f[MAX_REPORTS];
    int arg_value[MAX_REPORTS]; /* *(int *)arg, read during the call (a copy dies after) */
    _Atomic int bad_thread;     /* the hook ran off the pool's threads */
} reports;

static void on_error(void *ctx, const weft_task_failure *f)
{
    reports *r = ctx;
    if (weft_current_worker_index() < 0)
        atomic_fetch_add(&r->bad_thread, 1);
    int k = atomic_fetch_add(&r->n, 1);
    if (k >= MAX_REPORTS)
        return;
    r->f[k] = *f;
    r->arg_value[k] = f->arg ? *(int *)f->arg : -1;
}

static weft_pool *make_reporting_pool(unsigned n, reports *r)
{
    weft_pool_config cfg = test_pool_config(n);
    cfg.ctx = r;
    cfg.on_task_error = on_error;
    return make_pool_from(&cfg);
}

static int failure_code = 77;

/* Returns its argument when it is odd (a failure: non-NULL), NULL when even. */
static void *maybe_fail(void *arg)
{
    return *(int *)arg % 2 ? &failure_code : NULL;
}

static int scope_maybe_fail(weft_scope *s, void *arg)
{
    (void)s;
    return *(int *)arg % 2 ? 40 + *(int *)arg : 0;
}

/* The reports, sorted by their arg_value, must be exactly the odd values in [0, n). */
static void check_odd_reports(reports *r, int n, bool scope)
{
    int want = n / 2;
    cr_assert_eq(atomic_load(&r->n), want, "%d reports, not %d", atomic_load(&r->n), want);
    cr_assert_eq(atomic_load(&r->bad_thread), 0);
    bool seen[MAX_REPORTS] = {false};
    for (int k = 0; k < want; k++) {
        int v = r->arg_value[k];
        cr_assert(v >= 0 && v < n && v % 2 == 1 && !seen[v], "report of value %d", v);
        seen[v] = true;
        if (scope) {
            cr_assert_eq(r->f[k].scope_fn, scope_maybe_fail);
            cr_assert_eq(r->f[k].status, 40 + v);
            cr_assert_null(r->f[k].task_fn);
            cr_assert_null(r->f[k].result);
            cr_assert_not_null(r->f[k].scope);
        } else {
            cr_assert_eq(r->f[k].task_fn, maybe_fail);
            cr_assert_eq(r->f[k].result, &failure_code);
            cr_assert_null(r->f[k].scope_fn);
            cr_assert_null(r->f[k].scope);
            cr_assert_eq(r->f[k].status, 0);
        }
    }
}

enum { TASKS = 20 };
static int values[TASKS];

static void init_values(void)
{
    for (int i = 0; i < TASKS; i++)
        values[i] = i;
}

typedef int (*spawn_fn)(weft_pool *, weft_task_fn, void *, weft_task **);

typedef struct spawner {
    weft_pool *pool;
    int which; /* 0 plain, 1 fifo, 2 copy */
} spawner;

static void spawn_all(void *p)
{
    spawner *sp = p;
    for (int i = 0; i < TASKS; i++) {
        int rc = sp->which == 2 ? weft_spawn_copy(sp->pool, maybe_fail, &values[i], sizeof values[i], NULL)
                                : (sp->which ? weft_spawn_fifo : weft_spawn)(sp->pool, maybe_fail, &values[i], NULL);
        cr_assert_eq(rc, 0);
    }
}

/* Detached tasks: every failure reported by the time wait_idle returns, from a worker
 * (pool_run) and from outside, for the plain, fifo and copied spawns. */
Test(task_error, detached_failures_are_reported_before_wait_idle_returns)
{
    init_values();
    for (int which = 0; which < 3; which++)
        for (int inside = 0; inside < 2; inside++) {
            static reports r;
            memset(&r, 0, sizeof r);
            weft_pool *p = make_reporting_pool(3, &r);
            spawner sp = {p, which};
            if (inside)
                cr_assert_eq(weft_pool_run(p, spawn_all, &sp), 0);
            else
                spawn_all(&sp);
            cr_assert_eq(weft_pool_wait_idle(p), 0);
            check_odd_reports(&r, TASKS, false);
            cr_assert_eq(weft_pool_destroy(p), 0);
        }
}

/* Scope tasks: each failure reported (the wait returns only the first), before the
 * wait returns; fifo and copied spawns too. */
Test(task_error, every_failing_scope_task_is_reported_before_the_wait_returns)
{
    init_values();
    for (int which = 0; which < 3; which++) {
        static reports r;
        memset(&r, 0, sizeof r);
        weft_pool *p = make_reporting_pool(3, &r);
        weft_scope s;
        cr_assert_eq(weft_scope_init(&s, p), 0);
        for (int i = 0; i < TASKS; i++) {
            int rc = which == 2 ? weft_scope_spawn_copy(&s, scope_maybe_fail, &values[i], sizeof values[i])
                                : (which ? weft_scope_spawn_fifo : weft_scope_spawn)(&s, scope_maybe_fail, &values[i]);
            cr_assert_eq(rc, 0);
        }
        int status = weft_scope_wait(&s);
        cr_assert(status > 40 && status < 40 + TASKS && status % 2 == 1, "the scope's wait returned %d", status);
        check_odd_reports(&r, TASKS, true);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

/* A task with a handle gives its result to its joiner: never reported. */
Test(task_error, tasks_with_a_handle_are_not_reported)
{
    init_values();
    static reports r;
    memset(&r, 0, sizeof r);
    weft_pool *p = make_reporting_pool(2, &r);
    weft_task *t[TASKS];
    for (int i = 0; i < TASKS; i++)
        cr_assert_eq((i % 2 ? weft_spawn_fifo : weft_spawn)(p, maybe_fail, &values[i], &t[i]), 0);
    for (int i = 0; i < TASKS; i++) {
        void *res;
        cr_assert_eq(weft_task_join(t[i], &res), 0);
        cr_assert_eq(res, i % 2 ? (void *)&failure_code : NULL);
    }
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(atomic_load(&r.n), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The hook sees the scope still open: it may ask whether it is cancelled. */
static _Atomic int saw_cancelled;

static void check_scope(void *ctx, const weft_task_failure *f)
{
    (void)ctx;
    if (f->scope && weft_scope_is_cancelled(f->scope))
        atomic_fetch_add(&saw_cancelled, 1);
}

Test(task_error, the_hook_sees_its_scope_cancelled)
{
    weft_pool_config cfg = test_pool_config(2);
    cfg.on_task_error = check_scope;
    weft_pool *p = make_pool_from(&cfg);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    int one = 1;
    cr_assert_eq(weft_scope_spawn(&s, scope_maybe_fail, &one), 0);
    cr_assert_eq(weft_scope_wait(&s), 41);
    cr_assert_eq(atomic_load(&saw_cancelled), 1);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* No hook: failures ignored as always (the scope still gets its status). */
Test(task_error, without_a_hook_failures_are_ignored)
{
    init_values();
    weft_pool *p = make_pool(2);
    spawner sp = {p, 0};
    spawn_all(&sp);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    cr_assert_eq(weft_scope_spawn(&s, scope_maybe_fail, &values[3]), 0);
    cr_assert_eq(weft_scope_wait(&s), 43);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Tasks with dependencies (weft_scope_spawn_dep): each failing one is reported as
 * itself (its function and argument), also when it ran right after its predecessor
 * released it. A chain of inout tasks on one address, every odd one failing. */
Test(task_error, dependent_tasks_are_reported_as_themselves)
{
    init_values();
    static reports r;
    memset(&r, 0, sizeof r);
    weft_pool *p = make_reporting_pool(2, &r);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    static int cell;
    weft_dep dep = {&cell, WEFT_DEP_INOUT};
    for (int i = 0; i < TASKS; i++)
        cr_assert_eq(weft_scope_spawn_dep(&s, scope_maybe_fail, &values[i], &dep, 1), 0);
    int status = weft_scope_wait(&s);
    cr_assert(status > 40 && status < 40 + TASKS && status % 2 == 1, "the scope's wait returned %d", status);
    check_odd_reports(&r, TASKS, true);
    cr_assert_eq(weft_pool_destroy(p), 0);
}
