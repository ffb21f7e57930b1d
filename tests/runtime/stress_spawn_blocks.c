/* stress_spawn_blocks: task blocks move between threads without loss or leak. Outside
 * threads and workers spawn joinable and detached tasks and scope tasks; handles are
 * joined by the spawner, by another worker (handed over through a task) or by an
 * outside thread, so a block is often freed by another thread than the one that
 * allocated it, and joiners race the workers to claim unstarted tasks. Checks: every
 * task runs exactly once (counts) and returns its own argument; after the pools are
 * destroyed, LeakSanitizer (ASan build) finds no block left, cached or not. */
#include <stdatomic.h>
#include <stdio.h>
#include <weft/runtime.h>
#include "check.h"

#define FANOUT 8

typedef struct ctx {
    _Atomic uint64_t runs;
    weft_pool *pool;
} ctx;

static void *leaf(void *p)
{
    ctx *c = p;
    atomic_fetch_add_explicit(&c->runs, 1, memory_order_relaxed);
    return p;
}

static int scope_leaf(weft_scope *s, void *p)
{
    (void)s;
    leaf(p);
    return 0;
}

typedef struct join_job {
    weft_task *t;
    ctx *c;
} join_job;

static void *joiner(void *p) /* joins a task spawned by someone else */
{
    join_job *j = p;
    void *r = NULL;
    CHECK(weft_task_join(j->t, &r) == 0 && r == j->c, "join handed-over task");
    return NULL;
}

/* On a worker: spawn FANOUT tasks, join half here, hand the other half to tasks. */
static void *fan(void *p)
{
    ctx *c = p;
    leaf(c);
    weft_task *ts[FANOUT], *js[FANOUT];
    join_job jj[FANOUT];
    for (int i = 0; i < FANOUT; i++)
        CHECK(weft_spawn(NULL, leaf, c, &ts[i]) == 0, "spawn");
    CHECK(weft_spawn(NULL, leaf, c, NULL) == 0, "spawn detached");
    for (int i = 0; i < FANOUT; i++) {
        jj[i] = (join_job){ts[i], c};
        if (i % 2)
            CHECK(weft_spawn(NULL, joiner, &jj[i], &js[i]) == 0, "spawn joiner");
        else
            joiner(&jj[i]);
    }
    for (int i = 1; i < FANOUT; i += 2)
        CHECK(weft_task_join(js[i], NULL) == 0, "join joiner");
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0, "scope");
    for (int i = 0; i < 4; i++)
        CHECK(weft_scope_spawn(&s, scope_leaf, c) == 0, "scope spawn");
    CHECK(weft_scope_wait(&s) == 0, "scope wait");
    return p;
}
/* leaf runs per fan: itself, FANOUT joined tasks, 1 detached, 4 scope tasks */
#define RUNS_PER_FAN (1 + FANOUT + 1 + 4)

static void *outside(void *p) /* an outside thread: spawn fans, join some, detach some */
{
    ctx *c = p;
    long n = stress_iters(400);
    for (long i = 0; i < n; i++) {
        weft_task *t;
        CHECK(weft_spawn(c->pool, fan, c, i % 3 ? &t : NULL) == 0, "outside spawn");
        void *r = NULL;
        if (i % 3)
            CHECK(weft_task_join(t, &r) == 0 && r == c, "outside join");
    }
    return NULL;
}

int main(void)
{
    long n = stress_iters(400);
    for (unsigned threads = 1; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        ctx c = {0};
        CHECK(weft_pool_create(&cfg, &c.pool) == 0, "pool");
        weft_thread *th[2];
        for (int k = 0; k < 2; k++)
            CHECK(weft_thread_spawn(NULL, outside, &c, &th[k]) == 0, "thread");
        for (int k = 0; k < 2; k++)
            CHECK(weft_thread_join(th[k], NULL) == 0, "thread join");
        CHECK(weft_pool_destroy(c.pool) == 0, "destroy"); /* detached fans finish first */
        uint64_t runs = atomic_load_explicit(&c.runs, memory_order_relaxed);
        CHECK(runs == 2 * (uint64_t)n * RUNS_PER_FAN, "%llu runs, want %llu", (unsigned long long)runs,
              (unsigned long long)(2 * (uint64_t)n * RUNS_PER_FAN));
    }
    printf("stress_spawn_blocks: %ld fans from 2 outside threads on 1-3 workers, all ran, pools freed\n", n);
    return 0;
}
