/* stress_spawn_blocks: task blocks move between threads without loss or leak. Outside
 * threads and workers spawn joinable and detached tasks and scope tasks; handles are
 * joined by the spawner, by another worker (handed over through a task) or by an
 * outside thread, so a block is often freed by another thread than the one that
 * allocated it, and joiners race the workers to claim unstarted tasks. Checks: every
 * task runs exactly once (counts) and returns its own argument; after the pools are
 * destroyed, LeakSanitizer (ASan build) finds no block left, cached or not.
 * A second phase streams: one task spawns many scope tasks with copied arguments of
 * both cached block sizes while the other workers run them, so the blocks go round
 * from the workers that free them to the spawner through the pool's depot
 * (block_cache_internal.h); each task checks its copy word for word. */
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

/* The stream phase: task i's copy is STREAM_WORDS words (a large block) for odd i, 2
 * (a small one) for even i: i, then words that are a function of i. */
#define STREAM_WORDS 16
typedef struct stream_arg {
    uint64_t w[STREAM_WORDS];
} stream_arg;

static _Atomic uint64_t stream_runs;

static uint64_t stream_word(uint64_t i, unsigned k) { return i * 0x9E3779B97F4A7C15ULL + k; }
static unsigned stream_words(uint64_t i) { return i % 2 ? STREAM_WORDS : 2; }

static int stream_leaf(weft_scope *s, void *p)
{
    (void)s;
    const stream_arg *a = p;
    atomic_fetch_add_explicit(&stream_runs, 1, memory_order_relaxed);
    for (unsigned k = 1; k < stream_words(a->w[0]); k++)
        if (a->w[k] != stream_word(a->w[0], k))
            return 1; /* cancels the scope: its wait reports it */
    return 0;
}

static void stream(void *p)
{
    long n = *(long *)p;
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0, "stream scope");
    for (long i = 0; i < n; i++) {
        stream_arg a = {.w = {(uint64_t)i}};
        for (unsigned k = 1; k < stream_words((uint64_t)i); k++)
            a.w[k] = stream_word((uint64_t)i, k);
        CHECK(weft_scope_spawn_copy(&s, stream_leaf, &a, stream_words((uint64_t)i) * sizeof(uint64_t)) == 0,
              "stream spawn");
    }
    CHECK(weft_scope_wait(&s) == 0, "a stream task's copy was wrong");
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
    long streamed = stress_iters(40000);
    for (unsigned threads = 2; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0, "pool");
        atomic_store_explicit(&stream_runs, 0, memory_order_relaxed);
        for (int round = 0; round < 3; round++)
            CHECK(weft_pool_run(pool, stream, &streamed) == 0, "stream");
        CHECK(weft_pool_destroy(pool) == 0, "destroy");
        uint64_t runs = atomic_load_explicit(&stream_runs, memory_order_relaxed);
        CHECK(runs == 3 * (uint64_t)streamed, "%llu stream runs, want %llu", (unsigned long long)runs,
              (unsigned long long)(3 * (uint64_t)streamed));
    }
    printf("stress_spawn_blocks: %ld fans from 2 outside threads on 1-3 workers, %ld streamed tasks x 3 on 2-3, "
           "all ran, pools freed\n", n, streamed);
    return 0;
}
