/* loops_testlib.h: what the tests of par/'s loops share, the Criterion suites and the
 * standalone stress programs alike (so it asserts with tests/check.h's CHECK, which
 * also works under ThreadSanitizer): the pool sizes every loop is run on, a helper
 * that runs a function on a fresh pool of one of them, a small PRNG and a spin that
 * makes a range too long for the probe to run it inline. Everything is static: each
 * including file gets its own copy. */
#ifndef WEFT_TESTS_LOOPS_TESTLIB_H
#define WEFT_TESTS_LOOPS_TESTLIB_H

#include "check.h"
#include "test_rng.h"

#include <weft/runtime.h>

#include <stdint.h>

/* 0 = call from the main (non-worker) thread. */
static const int loop_thread_counts[] = {0, 1, 2, 3, 8};
#define N_COUNTS (sizeof loop_thread_counts / sizeof loop_thread_counts[0])

/* Run fn(arg) on a fresh unpinned pool of `threads` workers, or on the caller if 0. */
static inline void loops_run_on(int threads, weft_fn fn, void *arg)
{
    if (threads == 0) {
        fn(arg);
        return;
    }
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = (unsigned)threads;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool = NULL;
    CHECK(weft_pool_create(&cfg, &pool) == 0, "pool_create");
    CHECK(weft_pool_run(pool, fn, arg) == 0, "pool_run");
    CHECK(weft_pool_destroy(pool) == 0, "pool_destroy");
}

/* Spin for about `n` iterations, so the probe does not run a range inline. */
static inline void loops_spin(unsigned n)
{
    for (volatile unsigned i = 0; i < n; i++) {
    }
}

#endif /* WEFT_TESTS_LOOPS_TESTLIB_H */
