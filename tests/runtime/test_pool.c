/* test_pool.c: Criterion suite `pool` — pools: config and its errors, sizes and names,
 * pinning, the environment (bad values fall back, good ones are used silently),
 * WEFT_STATS, run and destroy from inside and outside, and the idle pool's CPU use.
 * Race-heavy checks live in the stress_*.c programs, which also run under TSan. */
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

Test(pool, bad_arguments)
{
    weft_pool *p;
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cr_assert_eq(weft_pool_create(NULL, NULL), -EINVAL);
    cfg.num_threads = WEFT_POOL_MAX_THREADS + 1;
    cr_assert_eq(weft_pool_create(&cfg, &p), -EINVAL);
    cfg.num_threads = 1;
    cfg.pin = (weft_pin_policy)42;
    cr_assert_eq(weft_pool_create(&cfg, &p), -EINVAL);
    cr_assert_eq(weft_pool_destroy(NULL), -EINVAL);
    weft_pool *g;
    cr_assert_eq(weft_pool_global(&g), 0);
    cr_assert_eq(weft_pool_destroy(g), -EINVAL, "the global pool lives until exit");
    cr_assert_eq(weft_pool_global(NULL), -EINVAL);
    cr_assert_eq(weft_join(NULL, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_spawn(NULL, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_task_join(NULL, NULL), -EINVAL);
    cr_assert_eq(weft_scope_init(NULL, NULL), -EINVAL);
    cr_assert_eq(weft_isolate(NULL, NULL), -EINVAL);
    cr_assert_eq(weft_pool_run(NULL, NULL, NULL), -EINVAL);
    weft_worker_stats st;
    cr_assert_eq(weft_pool_stats(g, 100000, &st), -EINVAL);
    cr_assert_eq(weft_pool_stats(g, 0, NULL), -EINVAL);
}

Test(pool, sizes_and_names)
{
    for (unsigned n = 1; n <= 8; n *= 2) {
        weft_pool *p = make_pool(n);
        cr_assert_eq(weft_pool_num_threads(p), (int)n);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
    cr_assert_eq(weft_current_worker_index(), -1);
}

static void record_affinity(void *p)
{
    CPU_ZERO((cpu_set_t *)p);
    sched_getaffinity(0, sizeof(cpu_set_t), p);
}

/* The CPUs the single worker of a new pinned pool is bound to. */
static weft_pool *pinned_pool(cpu_set_t *where)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 1;
    cfg.pin = WEFT_PIN_PU;
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    cr_assert_eq(weft_pool_run(p, record_affinity, where), 0);
    return p;
}

/* Two pools that fit in the machine together share no CPU (before, every pool put
 * its worker 0 on the first CPU, so two 1-thread pools fought over it while the
 * other CPUs idled); a pool created after one is destroyed takes the freed place. */
Test(pool, pinned_pools_that_fit_share_no_cpu)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    if (CPU_COUNT(&allowed) < 2)
        cr_skip_test("needs 2 CPUs");
    cpu_set_t a, b, c, both;
    weft_pool *pa = pinned_pool(&a), *pb = pinned_pool(&b);
    cr_assert_eq(CPU_COUNT(&a), 1);
    cr_assert_eq(CPU_COUNT(&b), 1);
    CPU_AND(&both, &a, &b);
    cr_assert_eq(CPU_COUNT(&both), 0, "two 1-thread pools pinned to the same CPU");
    cr_assert_eq(weft_pool_destroy(pa), 0);
    weft_pool *pc = pinned_pool(&c);
    cr_assert(CPU_EQUAL(&c, &a), "the new pool takes the place the destroyed one left");
    cr_assert_eq(weft_pool_destroy(pb), 0);
    cr_assert_eq(weft_pool_destroy(pc), 0);
}

Test(pool, bad_environment_values_fall_back_to_defaults)
{
    weft_pool *g, *p;
    setenv("WEFT_NUM_THREADS", "abc", 1);
    setenv("WEFT_PIN", "bogus", 1);
    setenv("WEFT_WAIT_POLICY", "sometimes", 1);
    cr_assert_eq(weft_pool_create(NULL, &p), 0);
    unsetenv("WEFT_NUM_THREADS");
    cr_assert_eq(weft_pool_create(NULL, &g), 0);
    cr_assert_eq(weft_pool_num_threads(p), weft_pool_num_threads(g), "abc: the default count");
    weft_pool_destroy(p);
    const char *bad[] = {"0", "-3", "99999", "", "4x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_NUM_THREADS", bad[i], 1);
        cr_assert_eq(weft_pool_create(NULL, &p), 0);
        cr_assert_eq(weft_pool_num_threads(p), weft_pool_num_threads(g), "WEFT_NUM_THREADS=%s", bad[i]);
        weft_pool_destroy(p);
    }
    setenv("WEFT_NUM_THREADS", "3", 1);
    cr_assert_eq(weft_pool_create(NULL, &p), 0);
    cr_assert_eq(weft_pool_num_threads(p), 3);
    weft_pool_destroy(p);
    weft_pool_destroy(g);
}

static void record_index(void *p) { *(int *)p = weft_current_worker_index(); }

Test(pool, run_executes_on_a_worker)
{
    weft_pool *p = make_pool(3);
    int idx = -7;
    cr_assert_eq(weft_pool_run(p, record_index, &idx), 0);
    cr_assert(idx >= 0 && idx < 3, "index %d", idx);
    weft_pool_destroy(p);
}

static void fib_entry(void *p) { fib_join(p); }

Test(pool, idle_pool_uses_almost_no_cpu)
{
    weft_pool *p = make_pool(4);
    fib_arg f = {20, 0};
    weft_pool_run(p, fib_entry, &f); /* wake everyone once */
    weft_thread_sleep(100000000);    /* 100 ms to settle */
    double cpu0 = test_cpu_s(RUSAGE_SELF);
    weft_thread_sleep(1000000000);
    double cpu = test_cpu_s(RUSAGE_SELF) - cpu0;
    cr_assert_lt(cpu, 0.005, "an idle pool of 4 used %.4f s of CPU in 1 s", cpu);
    weft_pool_destroy(p);
}

typedef struct destroy_ctx {
    weft_pool *pool;
    int rc;
} destroy_ctx;

static void destroy_own_pool(void *p)
{
    destroy_ctx *c = p;
    c->rc = weft_pool_destroy(c->pool);
}

Test(pool, destroy_from_own_worker_is_refused)
{
    destroy_ctx c = {make_pool(1), 0};
    cr_assert_eq(weft_pool_run(c.pool, destroy_own_pool, &c), 0);
    cr_assert_eq(c.rc, -EDEADLK);
    cr_assert_eq(weft_pool_destroy(c.pool), 0);
}

/* weft_pool_run from a worker of that same pool runs fn there, on the caller. */
typedef struct run_nested {
    weft_pool *pool;
    int outer, inner, rc;
} run_nested;

static void record_inner(void *p) { ((run_nested *)p)->inner = weft_current_worker_index(); }

static void run_in_own_pool(void *p)
{
    run_nested *rn = p;
    rn->outer = weft_current_worker_index();
    rn->rc = weft_pool_run(rn->pool, record_inner, rn);
}

Test(pool, run_from_its_own_worker_runs_inline)
{
    run_nested rn = {make_pool(2), -7, -7, -7};
    cr_assert_eq(weft_pool_run(rn.pool, run_in_own_pool, &rn), 0);
    cr_assert_eq(rn.rc, 0);
    cr_assert(rn.outer >= 0);
    cr_assert_eq(rn.inner, rn.outer, "ran on worker %d, called from worker %d", rn.inner, rn.outer);
    cr_assert_eq(weft_pool_destroy(rn.pool), 0);
}

/* Only a pool's own workers are refused: destroying pool A from a worker of pool B
 * is an ordinary destroy. */
Test(pool, destroy_from_another_pools_worker_works)
{
    destroy_ctx c = {make_pool(1), -7};
    weft_pool *other = make_pool(1);
    cr_assert_eq(weft_pool_run(other, destroy_own_pool, &c), 0);
    cr_assert_eq(c.rc, 0);
    cr_assert_eq(weft_pool_destroy(other), 0);
}

/* stderr of `fn(arg)` (what it printed), in buf. */
static void capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t cap)
{
    cr_assert(test_capture_stderr(fn, arg, buf, cap), "could not redirect stderr");
}

typedef struct env_pool {
    unsigned threads; /* cfg.num_threads */
    weft_pin_policy pin; /* cfg.pin */
    cpu_set_t where;  /* the CPUs its (first) worker may run on */
    int num_threads;
} env_pool;

static void create_run_destroy(void *p)
{
    env_pool *e = p;
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = e->threads;
    cfg.pin = e->pin;
    weft_pool *pool = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
    cr_assert_eq(weft_pool_run(pool, record_affinity, &e->where), 0);
    e->num_threads = weft_pool_num_threads(pool);
    cr_assert_eq(weft_pool_destroy(pool), 0);
}

/* The valid values of WEFT_PIN and WEFT_WAIT_POLICY are taken without a warning, and
 * take effect (pin: where the worker runs); a config field that is set wins over the
 * environment. */
Test(pool, valid_environment_values_are_used_silently)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    char err[1024];
    env_pool e = {1, WEFT_PIN_DEFAULT, {{0}}, 0};

    setenv("WEFT_PIN", "pu", 1);
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert_str_empty(err);
    cr_assert_eq(CPU_COUNT(&e.where), 1, "WEFT_PIN=pu: the worker runs on one CPU");

    setenv("WEFT_PIN", "core", 1);
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert_str_empty(err);
    cpu_set_t both;
    CPU_AND(&both, &e.where, &allowed);
    cr_assert(CPU_COUNT(&e.where) >= 1 && CPU_EQUAL(&both, &e.where), "WEFT_PIN=core: one of our cores");

    setenv("WEFT_PIN", "none", 1);
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert_str_empty(err);
    cr_assert(CPU_EQUAL(&e.where, &allowed), "WEFT_PIN=none: the worker may run anywhere");

    setenv("WEFT_PIN", "pu", 1);
    e.pin = WEFT_PIN_NONE; /* the config wins */
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert(CPU_EQUAL(&e.where, &allowed), "cfg.pin = NONE overrides WEFT_PIN=pu");
    e.pin = WEFT_PIN_DEFAULT;
    unsetenv("WEFT_PIN");

    setenv("WEFT_NUM_THREADS", "3", 1);
    e.threads = 2; /* the config wins */
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert_eq(e.num_threads, 2, "cfg.num_threads = 2 overrides WEFT_NUM_THREADS=3");
    unsetenv("WEFT_NUM_THREADS");
    e.threads = 1;

    static const char *const waits[] = {"passive", "active"};
    for (size_t i = 0; i < 2; i++) {
        setenv("WEFT_WAIT_POLICY", waits[i], 1);
        capture_stderr(create_run_destroy, &e, err, sizeof err);
        cr_assert_str_empty(err, "WEFT_WAIT_POLICY=%s: %s", waits[i], err);
    }
    unsetenv("WEFT_WAIT_POLICY");
}

/* WEFT_STATS=1 (exactly "1"): destroy prints a header and one row per worker on
 * stderr; any other value prints nothing. */
Test(pool, weft_stats_1_prints_per_worker_counters_at_destroy)
{
    char err[4096];
    env_pool e = {2, WEFT_PIN_NONE, {{0}}, 0};
    setenv("WEFT_STATS", "1", 1);
    capture_stderr(create_run_destroy, &e, err, sizeof err);
    cr_assert(strstr(err, "weft: pool of 2 workers"), "stderr: %s", err);
    cr_assert(strstr(err, "jobs_run") && strstr(err, "steals"), "stderr: %s", err);
    int lines = 0;
    for (const char *c = err; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 2 + 2, "a two-line header and one row per worker: %s", err);
    static const char *const quiet[] = {"0", "yes", "11", ""};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        setenv("WEFT_STATS", quiet[i], 1);
        capture_stderr(create_run_destroy, &e, err, sizeof err);
        cr_assert_str_empty(err, "WEFT_STATS=\"%s\": %s", quiet[i], err);
    }
    unsetenv("WEFT_STATS");
}
