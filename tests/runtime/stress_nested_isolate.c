/* stress_nested_isolate: work of an isolated region is never hidden from that
 * region's own waits by jobs that a region nested inside it left on the worker's deque
 * (a detached task, a task joined only later). Before the fix, on one worker, the
 * outer wait popped the nested region's job, could not run it (another isolation
 * tag), and never saw its own job below it: a hang. Three waits are checked — task
 * join, scope wait and weft_join — on pools of 1 and 2 workers, thousands of rounds.
 * A watchdog turns a regression into a failure instead of a hang: the rounds run on a
 * thread that main joins with a timeout. */
#include <stdatomic.h>
#include <stdio.h>
#include <weft/runtime.h>
#include "check.h"

typedef struct round_ctx {
    _Atomic uint64_t count; /* +1 per task run; checked after the pool is destroyed */
    weft_task *later;       /* a nested task joined after the outer region */
    int mode;
} round_ctx;

static void *count_task(void *p)
{
    round_ctx *c = p;
    atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
    return p;
}

static int count_scope_task(weft_scope *s, void *p)
{
    (void)s;
    count_task(p);
    return 0;
}

/* The nested region: leaves a detached task and an unjoined task on the deque. */
static void inner_region(void *p)
{
    round_ctx *c = p;
    CHECK(weft_spawn(NULL, count_task, c, NULL) == 0, "spawn detached");
    CHECK(weft_spawn(NULL, count_task, c, &c->later) == 0, "spawn later");
}

static void join_left(void *p)
{
    CHECK(weft_isolate(inner_region, p) == 0, "isolate inner");
}

static void join_right(void *p)
{
    count_task(p);
}

static void outer_region(void *p)
{
    round_ctx *c = p;
    if (c->mode == 0) { /* task join */
        weft_task *t;
        void *r = NULL;
        CHECK(weft_spawn(NULL, count_task, c, &t) == 0, "spawn");
        CHECK(weft_isolate(inner_region, c) == 0, "isolate inner");
        CHECK(weft_task_join(t, &r) == 0 && r == c, "join");
    } else if (c->mode == 1) { /* scope wait */
        weft_scope s;
        CHECK(weft_scope_init(&s, NULL) == 0, "scope init");
        for (int i = 0; i < 3; i++)
            CHECK(weft_scope_spawn(&s, count_scope_task, c) == 0, "scope spawn");
        CHECK(weft_isolate(inner_region, c) == 0, "isolate inner");
        CHECK(weft_scope_wait(&s) == 0, "scope wait");
    } else { /* weft_join: the left half leaves the nested jobs above the right half */
        CHECK(weft_join(join_left, c, join_right, c) == 0, "join");
    }
}

static void one_round(void *p)
{
    round_ctx *c = p;
    CHECK(weft_isolate(outer_region, c) == 0, "isolate outer");
    void *r = NULL;
    CHECK(weft_task_join(c->later, &r) == 0 && r == c, "join later");
}

/* Tasks per round: mode 0: 1 + 2, mode 1: 3 + 2, mode 2: 1 + 2. */
static const uint64_t per_round[3] = {3, 5, 3};

typedef struct batch {
    unsigned threads;
    long rounds;
} batch;

static void *run_batch(void *p)
{
    batch *b = p;
    for (int mode = 0; mode < 3; mode++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = b->threads;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0, "pool");
        round_ctx c = {.mode = mode};
        for (long r = 0; r < b->rounds; r++)
            CHECK(weft_pool_run(pool, one_round, &c) == 0, "run");
        CHECK(weft_pool_destroy(pool) == 0, "destroy");
        uint64_t got = atomic_load_explicit(&c.count, memory_order_relaxed);
        CHECK(got == per_round[mode] * (uint64_t)b->rounds, "mode %d on %u threads: %llu tasks ran, want %llu",
              mode, b->threads, (unsigned long long)got, (unsigned long long)(per_round[mode] * b->rounds));
    }
    return NULL;
}

int main(void)
{
    long rounds = stress_iters(4000);
    for (unsigned threads = 1; threads <= 2; threads++) {
        batch b = {threads, rounds};
        weft_thread *th;
        CHECK(weft_thread_spawn(NULL, run_batch, &b, &th) == 0, "thread");
        /* Generous: a few seconds in the default build; a hang is what this catches. */
        int rc = weft_thread_join_timeout(th, 120ull * 1000000000ull, NULL);
        CHECK(rc == 0, "nested-isolation rounds on %u threads did not finish: hang (rc %d)", threads, rc);
    }
    printf("stress_nested_isolate: %ld rounds x 3 waits on 1 and 2 workers, no hang\n", rounds);
    return 0;
}
