/* stress_spawn_copy: copied arguments cross threads intact. Two outside threads (main
 * and one more) and workers spawn scope tasks and tasks with weft_scope_spawn_copy /
 * weft_spawn_copy from one variable they rewrite after every call, in sizes that live
 * in the task's block and sizes beyond it; tasks spawn more the same way. The copy is
 * written by the spawner and read (and overwritten) by whichever worker runs the
 * task, and its block is freed there, often into another thread's cache than the one
 * it came from: under TSan this checks that the copy is published with the job.
 * Checks: every copy holds what its spawner wrote (every byte checked), every task
 * runs once, and after the pools are destroyed LeakSanitizer (ASan build) finds no
 * block. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <weft/runtime.h>
#include "check.h"

enum { MAX_BYTES = 600 }; /* the largest copy: beyond WEFT_SPAWN_COPY_INLINE */

typedef struct ctx {
    _Atomic uint64_t runs, spawned;
    weft_pool *pool;
} ctx;

/* A copy: who spawned it, its size, then bytes derived from both. */
typedef struct msg {
    ctx *c;
    uint32_t size, seed, depth;
    unsigned char bytes[MAX_BYTES];
} msg;

static unsigned char byte_at(uint32_t seed, uint32_t k) { return (unsigned char)(seed * 2654435761u >> (k % 24) ^ k); }

/* Fill m for (seed, size): only the first `size` bytes of the struct are copied. */
static void msg_fill(msg *m, ctx *c, uint32_t seed, uint32_t size, uint32_t depth)
{
    m->c = c;
    m->size = size;
    m->seed = seed;
    m->depth = depth;
    for (uint32_t k = 0; k + offsetof(msg, bytes) < size; k++)
        m->bytes[k] = byte_at(seed, k);
}

static void msg_check(msg *m)
{
    CHECK(m->size >= offsetof(msg, bytes) && m->size <= sizeof *m, "size %u", m->size);
    for (uint32_t k = 0; k + offsetof(msg, bytes) < m->size; k++)
        CHECK(m->bytes[k] == byte_at(m->seed, k), "seed %u size %u: byte %u", m->seed, m->size, k);
    memset(m->bytes, 0, m->size - offsetof(msg, bytes)); /* the task's own copy */
    atomic_fetch_add_explicit(&m->c->runs, 1, memory_order_relaxed);
}

static const uint32_t msg_sizes[] = {offsetof(msg, bytes), 64, WEFT_SPAWN_COPY_INLINE, 200, sizeof(msg)};
#define NSIZES (sizeof msg_sizes / sizeof msg_sizes[0])

static int scope_task(weft_scope *s, void *arg)
{
    msg *m = arg;
    ctx *c = m->c;
    uint32_t seed = m->seed, depth = m->depth;
    msg_check(m);
    if (depth < 2) { /* two children from one variable, rewritten between the calls */
        msg child;
        for (uint32_t i = 0; i < 2; i++) {
            msg_fill(&child, c, seed * 3 + i, msg_sizes[(seed + i) % NSIZES], depth + 1);
            CHECK(weft_scope_spawn_copy(s, scope_task, &child, child.size) == 0, "nested spawn_copy");
            atomic_fetch_add_explicit(&c->spawned, 1, memory_order_relaxed);
        }
    }
    return 0;
}

static void *task(void *arg)
{
    msg *m = arg;
    uint32_t seed = m->seed;
    msg_check(m);
    return (void *)(uintptr_t)seed;
}

enum { BATCH = 16 };

/* One round: a scope of copied tasks and a batch of copied tasks joined here, plus a
 * detached one; all from the variable m. Runs on an outside thread and on workers. */
static void round_of_spawns(ctx *c, uint32_t base)
{
    weft_scope s;
    CHECK(weft_scope_init(&s, c->pool) == 0, "scope init");
    msg m;
    weft_task *ts[BATCH];
    for (uint32_t i = 0; i < BATCH; i++) {
        msg_fill(&m, c, base + i, msg_sizes[i % NSIZES], 0);
        CHECK(weft_scope_spawn_copy(&s, scope_task, &m, m.size) == 0, "spawn_copy");
        msg_fill(&m, c, base + BATCH + i, msg_sizes[(i + 2) % NSIZES], 0);
        CHECK(weft_spawn_copy(c->pool, task, &m, m.size, &ts[i]) == 0, "task spawn_copy");
        atomic_fetch_add_explicit(&c->spawned, 2, memory_order_relaxed);
    }
    msg_fill(&m, c, base + 2 * BATCH, sizeof m, 0);
    CHECK(weft_spawn_copy(c->pool, task, &m, m.size, NULL) == 0, "detached spawn_copy");
    atomic_fetch_add_explicit(&c->spawned, 1, memory_order_relaxed);
    for (uint32_t i = 0; i < BATCH; i++) {
        void *r = NULL;
        CHECK(weft_task_join(ts[i], &r) == 0 && (uintptr_t)r == base + BATCH + i, "join");
    }
    CHECK(weft_scope_wait(&s) == 0, "scope wait");
}

typedef struct round_arg {
    ctx *c;
    uint32_t base;
} round_arg;

static void *round_task(void *arg) /* the same from a worker */
{
    round_arg *r = arg;
    round_of_spawns(r->c, r->base);
    return NULL;
}

static void *outside(void *p)
{
    ctx *c = p;
    long n = stress_iters(1000);
    for (long i = 0; i < n; i++) {
        round_arg r = {c, (uint32_t)i * 1000};
        if (i % 2) {
            round_of_spawns(c, r.base);
        } else { /* a round on a worker, its argument copied too */
            weft_task *t;
            CHECK(weft_spawn_copy(c->pool, round_task, &r, sizeof r, &t) == 0, "spawn round");
            CHECK(weft_task_join(t, NULL) == 0, "join round");
        }
    }
    return NULL;
}

int main(void)
{
    long rounds = 0;
    for (unsigned threads = 1; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        ctx c = {0};
        CHECK(weft_pool_create(&cfg, &c.pool) == 0, "pool");
        weft_thread *th; /* main and one more thread spawn at once */
        CHECK(weft_thread_spawn(NULL, outside, &c, &th) == 0, "thread");
        outside(&c);
        CHECK(weft_thread_join(th, NULL) == 0, "thread join");
        CHECK(weft_pool_destroy(c.pool) == 0, "destroy"); /* detached tasks finish first */
        uint64_t runs = atomic_load_explicit(&c.runs, memory_order_relaxed);
        uint64_t spawned = atomic_load_explicit(&c.spawned, memory_order_relaxed);
        CHECK(runs == spawned, "%llu runs of %llu tasks", (unsigned long long)runs, (unsigned long long)spawned);
        rounds += 2 * stress_iters(1000);
    }
    printf("stress_spawn_copy: %ld rounds of copied spawns from main, another thread and workers on 1-3 "
           "workers, every copy intact, pools freed\n",
           rounds);
    return 0;
}
