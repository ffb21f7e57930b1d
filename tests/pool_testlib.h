/* pool_testlib.h: the pool the Criterion tests of runtime/ and par/ make — n
 * workers, unpinned (the suites share the machine; where pinned workers run is tested
 * on its own, in runtime/test_pool.c). Static: each including file gets its own
 * copy. */
#ifndef WEFT_TESTS_POOL_TESTLIB_H
#define WEFT_TESTS_POOL_TESTLIB_H

#include <weft/runtime.h>

#include <criterion/criterion.h>

static inline weft_pool *make_pool(unsigned n)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = n;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    return p;
}

#endif /* WEFT_TESTS_POOL_TESTLIB_H */
