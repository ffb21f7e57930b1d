/* stress_scheduler: the scheduler under every interleaving we can provoke, checked
 * against serial results — fib by join, nqueens by scope, a random tree mixing join,
 * spawn and scope — on pools of 1, 2, 3 and 8 workers (8 oversubscribes on purpose),
 * from several outside threads at once, and nested across two pools. Standalone
 * (plain main) so that it also runs under ThreadSanitizer. */
#include <pthread.h>
#include <stdio.h>
#include <weft/runtime.h>
#include "check.h"
#include "workloads.h"

typedef struct outside_arg {
    weft_pool *pool;
    unsigned fib_n;
    int tree_depth;
    uint64_t seed;
    int ok;
} outside_arg;

static void run_fib(void *p) { fib_join(p); }

static void run_tree(void *p) { tree_walk(p); }

static void *outside_thread(void *p)
{
    outside_arg *o = p;
    fib_arg f = {o->fib_n, 0};
    CHECK(weft_pool_run(o->pool, run_fib, &f) == 0);
    tree_arg t = {o->seed, o->tree_depth, 0};
    CHECK(weft_pool_run(o->pool, run_tree, &t) == 0);
    o->ok = f.r == fib_serial(o->fib_n) && t.r == tree_serial(o->seed, o->tree_depth);
    return NULL;
}

typedef struct nested_arg {
    weft_pool *inner;
    uint64_t r;
} nested_arg;

static void nested_outer(void *p)
{
    nested_arg *n = p;
    fib_arg f = {16, 0};
    /* from a worker of the outer pool into the inner pool, and join there */
    CHECK(weft_pool_run(n->inner, run_fib, &f) == 0);
    n->r = f.r;
}

int main(void)
{
    const unsigned sizes[] = {1, 2, 3, 8};
    const unsigned fib_n = WEFT_TSAN_OR(20, 27);
    const int depth = WEFT_TSAN_OR(10, 14);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = sizes[i];
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        CHECK(weft_pool_num_threads(pool) == (int)sizes[i]);

        fib_arg f = {fib_n, 0};
        CHECK(weft_pool_run(pool, run_fib, &f) == 0);
        CHECK(f.r == fib_serial(fib_n), "fib(%u) = %llu on %u threads", fib_n, (unsigned long long)f.r, sizes[i]);

        for (uint64_t seed = 1; seed <= 6; seed++) {
            tree_arg t = {tree_hash(seed * 7919), depth, 0};
            CHECK(weft_pool_run(pool, run_tree, &t) == 0);
            CHECK(t.r == tree_serial(t.seed, depth), "tree seed %llu", (unsigned long long)seed);
        }

        outside_arg o[4];
        pthread_t th[4];
        for (int k = 0; k < 4; k++) {
            o[k] = (outside_arg){pool, fib_n - 4, depth - 2, tree_hash((uint64_t)k + 100), 0};
            CHECK(pthread_create(&th[k], NULL, outside_thread, &o[k]) == 0);
        }
        for (int k = 0; k < 4; k++) {
            CHECK(pthread_join(th[k], NULL) == 0);
            CHECK(o[k].ok, "outside thread %d", k);
        }

        weft_pool *inner;
        weft_pool_config icfg = WEFT_POOL_CONFIG_INIT;
        icfg.num_threads = 2;
        icfg.name_prefix = "inner";
        CHECK(weft_pool_create(&icfg, &inner) == 0);
        nested_arg n = {inner, 0};
        CHECK(weft_pool_run(pool, nested_outer, &n) == 0);
        CHECK(n.r == fib_serial(16));
        CHECK(weft_pool_destroy(inner) == 0);
        CHECK(weft_pool_destroy(pool) == 0);
    }
    printf("stress_scheduler: ok\n");
    return 0;
}
