/* test_join.c: Criterion suite `join` — join: fib against serial on several pool
 * sizes, the global pool from an outside thread, join_context's migrated flag, a first
 * half that blocks on its second half, and a second half stealable during a long first
 * half. Race-heavy checks live in the stress_*.c programs, which also run under TSan. */
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

static void fib_entry(void *p) { fib_join(p); }

Test(join, fib_matches_serial_on_1_2_3_8_threads)
{
    unsigned sizes[] = {1, 2, 3, 8};
    for (int i = 0; i < 4; i++) {
        weft_pool *p = make_pool(sizes[i]);
        fib_arg f = {25, 0};
        cr_assert_eq(weft_pool_run(p, fib_entry, &f), 0);
        cr_assert_eq(f.r, fib_serial(25));
        weft_worker_stats total = {0}, s;
        for (unsigned k = 0; k < sizes[i]; k++) {
            cr_assert_eq(weft_pool_stats(p, k, &s), 0);
            total.jobs_run += s.jobs_run;
        }
        cr_assert_geq(total.jobs_run, fib_serial(25) / 2, "every join counts a job");
        weft_pool_destroy(p);
    }
}

Test(join, from_an_outside_thread_uses_the_global_pool)
{
    fib_arg f = {20, 0};
    fib_join(&f); /* not a worker: each weft_join goes through the global pool */
    cr_assert_eq(f.r, fib_serial(20));
}

typedef struct ctx_half {
    bool migrated;
    int worker;
    unsigned sleep_us;
} ctx_half;

static void record_half(void *p, bool migrated)
{
    ctx_half *h = p;
    h->migrated = migrated;
    h->worker = weft_current_worker_index();
    if (h->sleep_us)
        weft_thread_sleep(h->sleep_us * 1000ull);
}

typedef struct ctx_pair {
    ctx_half a, b;
} ctx_pair;

static void join_context_pair(void *p)
{
    ctx_pair *c = p;
    cr_assert_eq(weft_join_context(record_half, &c->a, record_half, &c->b), 0);
}

Test(join, context_tells_whether_a_half_migrated)
{
    cr_assert_eq(weft_join_context(NULL, NULL, record_half, NULL), -EINVAL);
    for (unsigned n = 1; n <= 2; n++) {
        weft_pool *p = make_pool(n);
        for (int round = 0; round < 20; round++) {
            ctx_pair c = {{false, -1, n == 2 ? 2000u : 0u}, {false, -1, 0}};
            cr_assert_eq(weft_pool_run(p, join_context_pair, &c), 0);
            cr_assert(!c.a.migrated, "a runs inline on the forking worker");
            cr_assert_eq(c.b.migrated, c.b.worker != c.a.worker, "b migrated iff another worker ran it");
            if (n == 1)
                cr_assert(!c.b.migrated, "one worker: nobody can steal");
        }
        weft_pool_destroy(p);
    }
    /* from outside any pool, the caller works in a caller slot: a runs inline on it,
     * b migrated iff another thread ran it */
    for (int round = 0; round < 20; round++) {
        ctx_pair c = {{false, -1, 2000u}, {false, -1, 0}};
        join_context_pair(&c);
        cr_assert(!c.a.migrated, "a runs inline on the calling thread");
        cr_assert_geq(c.a.worker, weft_pool_num_threads(NULL), "the caller's slot index");
        cr_assert_eq(c.b.migrated, c.b.worker != c.a.worker, "b migrated iff another thread ran it");
    }
}

/* A join's second half sits in the worker's private deque part, invisible to thieves
 * until the owner shares it at its next push or pop (deque.md). If the first half then
 * blocks in a weft primitive waiting for the second half, the owner must share before
 * it parks (weft_futex_set_block_hook), or an idle worker can never take it: a hang
 * that plain Chase-Lev did not have. Set up so the other worker is busy at fork time
 * (so the join does not publish eagerly) and idle right after. */
typedef struct blocked_join {
    _Atomic int busy_started, forked;
    weft_latch handoff;
    int wait_rc;
} blocked_join;

static void *busy_until_forked(void *arg)
{
    blocked_join *bj = arg;
    atomic_store(&bj->busy_started, 1);
    while (!atomic_load(&bj->forked))
        weft_cpu_relax();
    weft_thread_sleep(2 * 1000 * 1000); /* the joiner blocks meanwhile */
    return NULL;
}

static void first_half_waits(void *arg)
{
    blocked_join *bj = arg;
    atomic_store(&bj->forked, 1);
    bj->wait_rc = weft_latch_wait_timeout(&bj->handoff, 20ull * 1000 * 1000 * 1000);
}

static void second_half_signals(void *arg) { weft_latch_count_down(&((blocked_join *)arg)->handoff, 1); }

static void fork_then_block(void *arg)
{
    blocked_join *bj = arg;
    weft_task *busy;
    cr_assert_eq(weft_spawn(NULL, busy_until_forked, bj, &busy), 0);
    while (!atomic_load(&bj->busy_started))
        weft_cpu_relax();
    weft_join(first_half_waits, bj, second_half_signals, bj);
    cr_assert_eq(weft_task_join(busy, NULL), 0);
}

Test(join, first_half_blocking_on_second_half_does_not_hang)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 20; round++) {
        blocked_join bj = {0};
        weft_latch_init(&bj.handoff, 1);
        cr_assert_eq(weft_pool_run(p, fork_then_block, &bj), 0);
        cr_assert_eq(bj.wait_rc, 0, "round %d: the second half never ran while the first blocked", round);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A join's second half must be stealable while the first half runs a long leaf that
 * neither pushes, pops nor blocks in weft: on a fresh pool the other worker may not be
 * idle yet at fork time (still starting), so only an eagerly public oldest item lets
 * it take the half (found by bench mandel: 2 threads ran at 1-thread speed). Both
 * halves spin (no futex wait, so the block hook cannot help) until both started. */
typedef struct spinners {
    _Atomic int started, gave_up;
} spinners;

static void spin_until_both_started(void *arg)
{
    spinners *sp = arg;
    atomic_fetch_add(&sp->started, 1);
    uint64_t deadline = weft_deadline_after(10ull * 1000 * 1000 * 1000);
    while (atomic_load(&sp->started) < 2)
        if (weft_time_now_ns() >= deadline) {
            atomic_fetch_add(&sp->gave_up, 1);
            return;
        }
}

static void fork_two_spinners(void *arg) { weft_join(spin_until_both_started, arg, spin_until_both_started, arg); }

Test(join, second_half_is_stealable_during_a_long_first_half)
{
    for (int round = 0; round < 30; round++) {
        weft_pool *p = make_pool(2);
        spinners sp = {0, 0};
        cr_assert_eq(weft_pool_run(p, fork_two_spinners, &sp), 0);
        cr_assert_eq(weft_pool_destroy(p), 0);
        cr_assert_eq(atomic_load(&sp.gave_up), 0, "round %d: the second half waited for the first", round);
    }
}
