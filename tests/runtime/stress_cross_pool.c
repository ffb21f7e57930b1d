/* stress_cross_pool: a worker of one pool waits for a job that runs in another, and
 * its pool is destroyed the moment the wait returns. The other pool's thread that set
 * the latch may still be waking the waiter then; weft_pool_destroy must not free the
 * waiter's pool under it (under TSan and ASan, a use after free is reported; in the
 * default build it shows as a crash or a hang).
 *
 * Each round makes fresh 1-thread pools and, from a worker of one, runs a job in
 * another (weft_pool_run), joins a task spawned in it (weft_task_join), and waits
 * for a scope of it (weft_scope_wait); with three pools the hops chain a -> b -> c.
 * Right after the outermost call returns, the waiters' pools are destroyed. */
#include <stdatomic.h>
#include <weft/runtime.h>
#include "check.h"

static _Atomic long hops;

static void noop(void *p)
{
    (void)p;
    atomic_fetch_add_explicit(&hops, 1, memory_order_relaxed);
}

static void *task_noop(void *p)
{
    noop(p);
    return p;
}

static int scope_noop(weft_scope *s, void *p)
{
    (void)s;
    noop(p);
    return 0;
}

/* On a worker of one pool: wait, three ways, for work that runs in `next`. */
static void hop(void *arg)
{
    weft_pool **chain = arg; /* NULL-terminated: chain[0] is where the work runs */
    weft_pool *next = chain[0];
    if (chain[1]) { /* go one pool further first: a -> b -> c */
        CHECK(weft_pool_run(next, hop, chain + 1) == 0);
    } else {
        CHECK(weft_pool_run(next, noop, NULL) == 0);
    }
    weft_task *t;
    CHECK(weft_spawn(next, task_noop, chain, &t) == 0);
    void *r = NULL;
    CHECK(weft_task_join(t, &r) == 0 && r == chain);
    weft_scope s;
    CHECK(weft_scope_init(&s, next) == 0);
    CHECK(weft_scope_spawn(&s, scope_noop, NULL) == 0);
    CHECK(weft_scope_wait(&s) == 0);
}

static weft_pool *one_thread_pool(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 1;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *p;
    CHECK(weft_pool_create(&cfg, &p) == 0);
    return p;
}

int main(void)
{
    /* Each round waits across pools 8 times (3 from a worker of a fresh pool into a
     * pool that outlives it, 5 along a fresh a -> fresh b -> c chain). */
    long rounds = stress_iters(1000), expected = 0;
    weft_pool *b_kept = one_thread_pool(), *c_kept = one_thread_pool();
    for (long i = 0; i < rounds; i++) {
        weft_pool *a = one_thread_pool();
        weft_pool *chain2[] = {b_kept, NULL};
        CHECK(weft_pool_run(a, hop, chain2) == 0);
        CHECK(weft_pool_destroy(a) == 0); /* at once: b_kept's thread may still be waking a's */
        expected += 3;
        a = one_thread_pool();
        weft_pool *b = one_thread_pool();
        weft_pool *chain3[] = {b, c_kept, NULL};
        CHECK(weft_pool_run(a, hop, chain3) == 0);
        CHECK(weft_pool_destroy(a) == 0);
        CHECK(weft_pool_destroy(b) == 0);
        expected += 5;
    }
    CHECK(weft_pool_destroy(b_kept) == 0);
    CHECK(weft_pool_destroy(c_kept) == 0);
    CHECK(atomic_load(&hops) == expected, "%ld hops, expected %ld", atomic_load(&hops), expected);
    printf("stress_cross_pool: %ld rounds, %ld cross-pool waits\n", rounds, expected);
    return 0;
}
