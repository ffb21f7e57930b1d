/* test_isolation.c: Criterion suite `isolation` — weft_isolate: a waiter holding
 * foreign jobs sleeps, and a region entered from outside runs on the caller in the
 * global pool. Race-heavy checks live in the stress_*.c programs, which also run under
 * TSan. */
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

/* An isolated waiter whose deque holds only another region's job must sleep, not spin.
 * Region A spawns `slow` (stolen by the other worker, runs 300 ms), then a nested
 * region B leaves a detached task on top of this worker's deque; A's join of `slow`
 * finds only B's job (not its to run) and must sleep until `slow` ends. Before the
 * fix weft__pool_has_work counted B's job as work and the waiter spun: 0.10-0.16 s of
 * CPU in the 300 ms; after, ~0. */
typedef struct isolated_wait {
    _Atomic int slow_started, detached_ran;
    double cpu;
} isolated_wait;

static void *slow_task(void *p)
{
    isolated_wait *iw = p;
    atomic_store(&iw->slow_started, 1);
    weft_thread_sleep(300000000);
    return NULL;
}

static void *note_detached(void *p)
{
    atomic_store(&((isolated_wait *)p)->detached_ran, 1);
    return NULL;
}

static void region_b(void *p)
{
    cr_assert_eq(weft_spawn(NULL, note_detached, p, NULL), 0);
}

static void region_a(void *p)
{
    isolated_wait *iw = p;
    weft_task *slow;
    cr_assert_eq(weft_spawn(NULL, slow_task, iw, &slow), 0);
    while (!atomic_load(&iw->slow_started)) /* the other worker steals it */
        weft_thread_yield();
    cr_assert_eq(weft_isolate(region_b, iw), 0);
    double cpu0 = test_cpu_s(RUSAGE_SELF);
    cr_assert_eq(weft_task_join(slow, NULL), 0);
    iw->cpu = test_cpu_s(RUSAGE_SELF) - cpu0;
}

static void enter_region_a(void *p)
{
    cr_assert_eq(weft_isolate(region_a, p), 0);
}

Test(isolation, waiter_with_foreign_jobs_sleeps)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 2;
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    isolated_wait iw = {0};
    cr_assert_eq(weft_pool_run(p, enter_region_a, &iw), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
    cr_assert_eq(atomic_load(&iw.detached_ran), 1, "the foreign job still ran");
    cr_assert_lt(iw.cpu, 0.1, "an isolated join of a 300 ms task used %.3f s of CPU", iw.cpu);
}

/* weft_isolate from a thread outside every pool runs fn on a worker of the global
 * pool, and parallel calls inside it work. */
typedef struct outside_isolate {
    int index;
    fib_arg fib;
} outside_isolate;

static void isolated_fib(void *p)
{
    outside_isolate *oi = p;
    oi->index = weft_current_worker_index();
    fib_join(&oi->fib);
}

Test(isolation, from_outside_runs_on_the_caller_in_the_global_pool)
{
    outside_isolate oi = {-7, {18, 0}};
    cr_assert_eq(weft_current_worker_index(), -1);
    cr_assert_eq(weft_isolate(isolated_fib, &oi), 0);
    int n = weft_pool_num_threads(NULL);
    cr_assert(oi.index >= n && oi.index < n + WEFT_POOL_CALLER_SLOTS, "index %d: a caller slot", oi.index);
    cr_assert_eq(weft_current_worker_index(), -1, "the slot is given back");
    cr_assert_eq(oi.fib.r, fib_serial(18));
}
