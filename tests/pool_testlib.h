/* pool_testlib.h: the pool the Criterion tests of runtime/ and par/ make — n
 * workers, unpinned (the suites share the machine; where pinned workers run is tested
 * on its own, in runtime/test_pool.c). Static: each including file gets its own
 * copy. */
#ifndef WEFT_TESTS_POOL_TESTLIB_H
#define WEFT_TESTS_POOL_TESTLIB_H

#include <weft/runtime.h>
#include <weft/sync.h>

#include <criterion/criterion.h>

/* The config of a pool of n unpinned workers, the rest default. */
static inline weft_pool_config test_pool_config(unsigned n)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = n;
    cfg.pin = WEFT_PIN_NONE;
    return cfg;
}

/* A pool made from cfg (asserting that it could be). */
static inline weft_pool *make_pool_from(const weft_pool_config *cfg)
{
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(cfg, &p), 0);
    return p;
}

/* A pool of n unpinned workers with the given wait policy. */
static inline weft_pool *make_pool_waiting(unsigned n, weft_wait_policy wait)
{
    weft_pool_config cfg = test_pool_config(n);
    cfg.wait = wait;
    return make_pool_from(&cfg);
}

static inline weft_pool *make_pool(unsigned n) { return make_pool_waiting(n, WEFT_WAIT_DEFAULT); }

/* Wait (bounded, as a liveness guard only) until every worker of a fresh, idle pool
 * has gone to sleep at least once; with nothing queued it then stays asleep. */
static inline void wait_until_all_asleep(weft_pool *p)
{
    int n = weft_pool_num_threads(p);
    uint64_t deadline = weft_deadline_after(10000000000ull);
    for (int i = 0; i < n; i++) {
        weft_worker_stats s;
        for (;;) {
            cr_assert_eq(weft_pool_stats(p, (unsigned)i, &s), 0);
            if (s.sleeps >= 1)
                break;
            cr_assert(!weft_deadline_passed(deadline), "worker %d of an idle pool never went to sleep", i);
            weft_thread_sleep(1000000);
        }
    }
}

#endif /* WEFT_TESTS_POOL_TESTLIB_H */
