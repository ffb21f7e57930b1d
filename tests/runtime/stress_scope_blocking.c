/* stress_scope_blocking: scope tasks may block on what their spawner does after
 * spawning them, and they still all finish. A spawner queues TASKS tasks that each
 * block at once (weft_chan_recv on a channel, or weft_latch_wait on a latch) and only
 * after its last spawn fills the channel (one message per task; its capacity is TASKS,
 * so no send blocks) or counts the latch down; then the scope's owner waits. A spawn
 * that ran its task inside the call (task throttling, libgomp's undeferred tasks, once
 * a worker has dozens of jobs queued) would block that task on a message its own
 * spawner has not sent yet, under the spawner: a deadlock.
 *
 * Spawners (shapes): the scope's owner itself; a task of the owner's scope spawning
 * siblings into it; a task of the owner's scope spawning into a scope of its own and
 * waiting for it there. Owners: a worker (a task spawned from main), a caller slot
 * (weft_pool_execute from a plain thread) and main itself, outside every pool. Pools
 * of 1, 2 and 4 workers.
 *
 * Checks: every round finishes within ROUND_TIMEOUT_NS (main waits with a timeout, so
 * a regression fails with the round named instead of hanging the test); every task
 * ran exactly once and received exactly one message (the messages' sum); every scope
 * wait returns 0. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft/chan.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

enum { TASKS = 200 };
#define ROUND_TIMEOUT_NS (60ull * 1000000000ull)

typedef enum { BLOCK_CHAN, BLOCK_LATCH, BLOCK_KINDS } block_kind;
typedef enum { SHAPE_OWNER, SHAPE_SIBLINGS, SHAPE_INNER, SHAPES } shape_kind;
typedef enum { OWNER_WORKER, OWNER_CALLER, OWNER_MAIN, OWNERS } owner_kind;

static const char *const block_names[] = {"chan recv", "latch wait"};
static const char *const shape_names[] = {"owner spawns", "task spawns siblings", "task spawns in its own scope"};
static const char *const owner_names[] = {"worker", "caller slot", "main"};

typedef struct round {
    weft_pool *pool;
    block_kind block;
    shape_kind shape;
    weft_sender *tx;
    weft_receiver *rx;
    weft_latch gate;        /* BLOCK_LATCH: counted down once, after the last spawn */
    _Atomic int ran;        /* tasks that returned */
    _Atomic uint64_t sum;   /* of the messages received (1 + index each) */
    int status;             /* the owner's scope wait */
    weft_latch done;        /* the round finished (main waits on it, timed) */
} round;

/* A task that blocks until its spawner, after spawning every one of them, sends. */
static int blocked_task(weft_scope *s, void *arg)
{
    (void)s;
    round *r = arg;
    if (r->block == BLOCK_CHAN) {
        uint64_t msg = 0;
        CHECK(weft_chan_recv(r->rx, &msg) == 0, "recv");
        atomic_fetch_add_explicit(&r->sum, msg, memory_order_relaxed);
    } else {
        CHECK(weft_latch_wait(&r->gate) == 0, "latch wait");
        atomic_fetch_add_explicit(&r->sum, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&r->ran, 1, memory_order_relaxed);
    return 0;
}

/* Queue TASKS blocked tasks into s, then (only then) release them all. */
static void spawn_then_release(round *r, weft_scope *s)
{
    for (int i = 0; i < TASKS; i++)
        CHECK(weft_scope_spawn(s, blocked_task, r) == 0, "spawn %d", i);
    if (r->block == BLOCK_CHAN) {
        for (uint64_t i = 0; i < TASKS; i++) {
            uint64_t msg = i + 1;
            CHECK(weft_chan_send(r->tx, &msg) == 0, "send");
        }
    } else {
        CHECK(weft_latch_count_down(&r->gate, 1) == 0);
    }
}

static int spawner_siblings(weft_scope *s, void *arg)
{
    spawn_then_release(arg, s);
    return 0;
}

static int spawner_inner(weft_scope *s, void *arg)
{
    (void)s;
    weft_scope inner;
    CHECK(weft_scope_init(&inner, NULL) == 0);
    spawn_then_release(arg, &inner);
    return weft_scope_wait(&inner);
}

/* The owner's part, on whatever thread runs it. */
static void run_round(round *r)
{
    weft_scope s;
    CHECK(weft_scope_init(&s, r->pool) == 0);
    switch (r->shape) {
    case SHAPE_OWNER:
        spawn_then_release(r, &s);
        break;
    case SHAPE_SIBLINGS:
        CHECK(weft_scope_spawn(&s, spawner_siblings, r) == 0);
        break;
    default:
        CHECK(weft_scope_spawn(&s, spawner_inner, r) == 0);
    }
    r->status = weft_scope_wait(&s);
}

static void *round_task(void *arg) /* owner: a worker */
{
    round *r = arg;
    run_round(r);
    weft_latch_count_down(&r->done, 1);
    return NULL;
}

static void round_fn(void *arg)
{
    run_round(arg);
}

static void *round_thread(void *arg) /* owner: a caller slot of a plain thread */
{
    round *r = arg;
    CHECK(weft_pool_execute(r->pool, round_fn, r) == 0);
    weft_latch_count_down(&r->done, 1);
    return NULL;
}

static void one_round(weft_pool *pool, unsigned threads, owner_kind owner, shape_kind shape, block_kind block)
{
    round r = {.pool = pool, .block = block, .shape = shape, .status = -1};
    CHECK(weft_chan_open(sizeof(uint64_t), TASKS, NULL, &r.tx, &r.rx) == 0);
    weft_latch_init(&r.gate, 1);
    weft_latch_init(&r.done, 1);
    weft_thread *t = NULL;
    int rc;
    switch (owner) {
    case OWNER_WORKER:
        CHECK(weft_spawn(pool, round_task, &r, NULL) == 0);
        rc = weft_latch_wait_timeout(&r.done, ROUND_TIMEOUT_NS);
        break;
    case OWNER_CALLER:
        CHECK(weft_thread_spawn(NULL, round_thread, &r, &t) == 0);
        rc = weft_latch_wait_timeout(&r.done, ROUND_TIMEOUT_NS);
        break;
    default: { /* main owns the scope: its own wait is the timed one */
        weft_scope s;
        CHECK(weft_scope_init(&s, pool) == 0);
        if (shape == SHAPE_OWNER)
            spawn_then_release(&r, &s);
        else
            CHECK(weft_scope_spawn(&s, shape == SHAPE_SIBLINGS ? spawner_siblings : spawner_inner, &r) == 0);
        rc = weft_scope_wait_timeout(&s, ROUND_TIMEOUT_NS);
        r.status = rc;
    }
    }
    CHECK(rc == 0, "%u threads, owner %s, %s, tasks block in %s: not done after %llu s (%d of %d tasks ran)",
          threads, owner_names[owner], shape_names[shape], block_names[block],
          (unsigned long long)(ROUND_TIMEOUT_NS / 1000000000ull), atomic_load(&r.ran), TASKS);
    if (t)
        CHECK(weft_thread_join(t, NULL) == 0);
    CHECK(r.status == 0, "scope wait: %d", r.status);
    CHECK(atomic_load(&r.ran) == TASKS, "%d tasks ran, %d spawned", atomic_load(&r.ran), TASKS);
    uint64_t want = block == BLOCK_CHAN ? (uint64_t)TASKS * (TASKS + 1) / 2 : TASKS;
    CHECK(atomic_load(&r.sum) == want, "messages: sum %llu, want %llu", (unsigned long long)atomic_load(&r.sum),
          (unsigned long long)want);
    CHECK(weft_sender_close(r.tx) == 0);
    CHECK(weft_receiver_close(r.rx) == 0);
}

int main(void)
{
    long reps = stress_iters(16);
    for (unsigned threads = 1; threads <= 4; threads *= 2) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        cfg.pin = WEFT_PIN_NONE; /* the tests share the machine */
        weft_pool *pool = NULL;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        for (long rep = 0; rep < reps; rep++)
            for (int owner = 0; owner < OWNERS; owner++)
                for (int shape = 0; shape < SHAPES; shape++)
                    for (int block = 0; block < BLOCK_KINDS; block++)
                        one_round(pool, threads, (owner_kind)owner, (shape_kind)shape, (block_kind)block);
        CHECK(weft_pool_wait_idle(pool) == 0);
        CHECK(weft_pool_destroy(pool) == 0);
    }
    printf("stress_scope_blocking: ok\n");
    return 0;
}
