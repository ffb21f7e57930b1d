/* test_pool_hooks.c: Criterion suite `pool_hooks` — weft_pool_config's on_start,
 * on_exit and thread_name: each worker runs on_start once, on its own thread, with
 * its index, before any job of the pool runs there, and on_exit once, last, by the
 * time weft_pool_destroy returns; thread_name renames the workers (their default
 * name given, long names cut); ctx reaches every hook; the global pool takes hooks
 * from weft_pool_global_init; a zeroed config has none. A failed creation's started
 * workers run both: tests/reliability/fault_thread.c. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_testlib.h"

enum { N = 4 };

typedef struct hooks {
    _Atomic int starts[N], exits[N], jobs_before_start;
    _Atomic int bad_index, bad_thread;
    pthread_t start_thread[N], exit_thread[N];
    char start_name[N][WEFT_THREAD_NAME_MAX + 1];
    _Atomic int names_called;
    char default_name[N][WEFT_THREAD_NAME_MAX + 1];
} hooks;

/* A hook ran on worker i: count it in `counts`, note its thread; false if i or the
 * thread is wrong. */
static bool hook_ran(hooks *h, unsigned i, _Atomic int *counts, pthread_t *threads)
{
    if (i >= N) {
        atomic_fetch_add(&h->bad_index, 1);
        return false;
    }
    if (weft_current_worker_index() != (int)i)
        atomic_fetch_add(&h->bad_thread, 1);
    threads[i] = pthread_self();
    atomic_fetch_add(&counts[i], 1);
    return true;
}

static void on_start(void *ctx, unsigned i)
{
    hooks *h = ctx;
    if (hook_ran(h, i, h->starts, h->start_thread))
        snprintf(h->start_name[i], sizeof h->start_name[i], "%s", weft_thread_name());
}

static void on_exit_hook(void *ctx, unsigned i)
{
    hooks *h = ctx;
    hook_ran(h, i, h->exits, h->exit_thread);
}

static void rename_worker(void *ctx, unsigned i, char *name, size_t size)
{
    hooks *h = ctx;
    cr_assert_eq(size, WEFT_THREAD_NAME_MAX + 1);
    if (i < N)
        snprintf(h->default_name[i], sizeof h->default_name[i], "%s", name);
    atomic_fetch_add(&h->names_called, 1);
    snprintf(name, size, "calc/%u", i);
}

/* A job checks that its worker ran on_start before it. */
typedef struct job_arg {
    hooks *h;
    pthread_t thread[N];
} job_arg;

static void check_started(void *ctx, unsigned i, unsigned n)
{
    (void)n;
    job_arg *j = ctx;
    if (atomic_load(&j->h->starts[i]) != 1)
        atomic_fetch_add(&j->h->jobs_before_start, 1);
    j->thread[i] = pthread_self();
}

static weft_pool_config hooked_config(hooks *h)
{
    weft_pool_config cfg = test_pool_config(N);
    cfg.name_prefix = "hk";
    cfg.ctx = h;
    cfg.on_start = on_start;
    cfg.on_exit = on_exit_hook;
    cfg.thread_name = rename_worker;
    return cfg;
}

Test(pool_hooks, every_worker_starts_and_exits_once_on_its_thread)
{
    static hooks h;
    memset(&h, 0, sizeof h);
    weft_pool_config cfg = hooked_config(&h);
    weft_pool *p;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    cr_assert_eq(atomic_load(&h.names_called), N, "thread_name runs during create, once per worker");
    job_arg j = {.h = &h};
    cr_assert_eq(weft_broadcast(p, check_started, &j), 0); /* a job on every worker */
    cr_assert_eq(atomic_load(&h.jobs_before_start), 0, "a worker ran a job before on_start");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(atomic_load(&h.starts[i]), 1, "worker %d started %d times", i, atomic_load(&h.starts[i]));
        cr_assert_eq(atomic_load(&h.exits[i]), 0, "worker %d exited before destroy", i);
        cr_assert(pthread_equal(h.start_thread[i], j.thread[i]), "on_start ran off worker %d's thread", i);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(atomic_load(&h.exits[i]), 1, "worker %d exited %d times", i, atomic_load(&h.exits[i]));
        cr_assert(pthread_equal(h.exit_thread[i], j.thread[i]), "on_exit ran off worker %d's thread", i);
    }
    cr_assert_eq(atomic_load(&h.bad_index), 0);
    cr_assert_eq(atomic_load(&h.bad_thread), 0);
}

Test(pool_hooks, thread_name_gets_the_default_and_renames)
{
    static hooks h;
    memset(&h, 0, sizeof h);
    weft_pool_config cfg = hooked_config(&h);
    weft_pool *p;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    job_arg j = {.h = &h};
    cr_assert_eq(weft_broadcast(p, check_started, &j), 0); /* every on_start has run */
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "hk-%d", i);
        cr_assert_str_eq(h.default_name[i], want);
        snprintf(want, sizeof want, "calc/%d", i);
        cr_assert_str_eq(h.start_name[i], want, "worker %d is named %s", i, h.start_name[i]);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A name that fills the whole buffer without a NUL is cut to WEFT_THREAD_NAME_MAX. */
static void long_name(void *ctx, unsigned i, char *name, size_t size)
{
    (void)ctx, (void)i;
    memset(name, 'x', size);
}

static void record_name(void *ctx, unsigned i, unsigned n)
{
    (void)n;
    snprintf(((char(*)[WEFT_THREAD_NAME_MAX + 1])ctx)[i], WEFT_THREAD_NAME_MAX + 1, "%s", weft_thread_name());
}

Test(pool_hooks, a_long_name_is_cut)
{
    weft_pool_config cfg = test_pool_config(2);
    cfg.thread_name = long_name;
    weft_pool *p = make_pool_from(&cfg);
    static char names[2][WEFT_THREAD_NAME_MAX + 1];
    cr_assert_eq(weft_broadcast(p, record_name, names), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(strlen(names[i]), WEFT_THREAD_NAME_MAX);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A zeroed config: defaults, no hook. */
Test(pool_hooks, a_zeroed_config_has_no_hooks)
{
    weft_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_threads = 2;
    weft_pool *p;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    static char names[2][WEFT_THREAD_NAME_MAX + 1];
    cr_assert_eq(weft_broadcast(p, record_name, names), 0);
    cr_assert_str_eq(names[0], "weft-0");
    cr_assert_str_eq(names[1], "weft-1");
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The global pool (each Criterion test runs in a process of its own). */
static _Atomic int global_starts;

static void count_start(void *ctx, unsigned i)
{
    (void)i;
    atomic_fetch_add((_Atomic int *)ctx, 1);
}

static void nop_call(void *ctx, unsigned i, unsigned n) { (void)ctx, (void)i, (void)n; }

Test(pool_hooks, global_init_takes_hooks)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.ctx = &global_starts;
    cfg.on_start = count_start;
    cr_assert_eq(weft_pool_global_init(&cfg), 0);
    cr_assert_eq(weft_broadcast(NULL, nop_call, NULL), 0); /* every worker past on_start */
    cr_assert_eq(atomic_load(&global_starts), 3);
}
