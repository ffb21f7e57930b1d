/* stress_scope_count: a scope counts every task exactly once, whoever spawns it and
 * wherever it runs (scope.c's local counting and the pool's pending).
 * Scopes owned by a worker (a pool_run root, and tasks that open scopes of their own),
 * by a caller slot (weft_pool_execute from main) and by plain outside threads; into
 * each, the owner spawns a burst of queued tasks, its tasks spawn siblings
 * (fan-out shrinking with depth) and nested scopes, and an outside thread spawns into
 * the owner's scope while the owner is still spawning. The owner waits with timeouts
 * (taking its share back), try_wait and wait, racing with the last completions.
 * Checks: every task id runs exactly once; when a wait returns 0 every task of the
 * scope has run and its writes are visible (a plain per-task write read back by the
 * owner: under TSan a missing happens-before is a race); the first error wins; at
 * the end weft_pool_wait_idle returns and the pool is destroyed with nothing left. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

enum { MAX_TASKS = 1 << 16, BURST = 200, OUTSIDE_SPAWNS = 50 };
#define LIMIT_NS 60000000000ull /* timed waits: a lost count fails here instead of hanging */

typedef struct round {
    weft_scope scope;
    _Atomic uint32_t next_id;      /* ids handed out to spawns */
    _Atomic uint8_t ran[MAX_TASKS]; /* how often each id ran */
    uint32_t payload[MAX_TASKS];    /* plain: written by the task, read by the owner */
    weft_latch outside_done;        /* the outside spawner finished spawning */
    int fail_status;                /* a task with id % 997 == 13 returns it, if non-zero */
} round;

typedef struct task_arg {
    round *r;
    uint32_t id, depth;
} task_arg;

static uint32_t new_id(round *r)
{
    uint32_t id = atomic_fetch_add_explicit(&r->next_id, 1, memory_order_relaxed);
    CHECK(id < MAX_TASKS, "too many tasks");
    return id;
}

static int spawn_one(round *r, uint32_t depth);

/* A nested scope, owned by the task's worker: a few children that count in a round of
 * their own (a plain counter, read after the nested wait). */
static int nested_child(weft_scope *s, void *arg)
{
    (void)s;
    atomic_fetch_add_explicit((_Atomic int *)arg, 1, memory_order_relaxed);
    return 0;
}

static int task(weft_scope *s, void *arg)
{
    task_arg a = *(task_arg *)arg;
    round *r = a.r;
    CHECK(s == &r->scope, "wrong scope");
    uint8_t before = atomic_fetch_add_explicit(&r->ran[a.id], 1, memory_order_relaxed);
    CHECK(before == 0, "task %u ran twice", a.id);
    r->payload[a.id] = a.id * 2654435761u + 1;
    if (a.depth < 3) {
        uint32_t fan = 4 - a.depth;
        for (uint32_t i = 0; i < fan; i++)
            CHECK(spawn_one(r, a.depth + 1) == 0, "sibling spawn");
    }
    if (a.id % 7 == 0) {
        weft_scope inner;
        _Atomic int n = 0;
        CHECK(weft_scope_init(&inner, NULL) == 0);
        for (int i = 0; i < 5; i++)
            CHECK(weft_scope_spawn(&inner, nested_child, (void *)&n) == 0);
        CHECK(weft_scope_wait_timeout(&inner, LIMIT_NS) == 0, "nested scope wait");
        CHECK(atomic_load_explicit(&n, memory_order_relaxed) == 5, "nested scope lost a task");
    }
    return r->fail_status != 0 && a.id % 997 == 13 ? r->fail_status : 0;
}

static int spawn_one(round *r, uint32_t depth)
{
    task_arg a = {r, new_id(r), depth};
    return weft_scope_spawn_copy(&r->scope, task, &a, sizeof a);
}

static void *outside_spawner(void *p)
{
    round *r = p;
    for (int i = 0; i < OUTSIDE_SPAWNS; i++)
        CHECK(spawn_one(r, 2) == 0, "outside spawn");
    weft_latch_count_down(&r->outside_done, 1);
    return NULL;
}

/* One round on the calling thread, which owns the scope (a worker, a caller slot or an
 * outside thread): spawn, let an outside thread spawn too (`outside`), wait in one of
 * three ways. */
static void run_round(round *r, weft_pool *pool, unsigned variant, bool outside)
{
    memset(r, 0, sizeof *r);
    weft_latch_init(&r->outside_done, 1);
    r->fail_status = variant % 5 == 4 ? -ENOTRECOVERABLE : 0;
    CHECK(weft_scope_init(&r->scope, pool) == 0);
    weft_thread *t = NULL;
    if (outside)
        CHECK(weft_thread_spawn(NULL, outside_spawner, r, &t) == 0);
    else
        weft_latch_count_down(&r->outside_done, 1);
    for (int i = 0; i < BURST; i++) /* queued on the owner's deque when it is a worker */
        CHECK(spawn_one(r, (uint32_t)(i % 4)) == 0, "owner spawn");
    /* its spawns are in before the wait begins */
    CHECK(weft_latch_wait_timeout(&r->outside_done, LIMIT_NS) == 0, "outside spawner never finished");
    int rc;
    switch (variant % 3) {
    case 0: /* short timeouts: the share goes back and forth */
        while ((rc = weft_scope_wait_timeout(&r->scope, 20000)) == -ETIMEDOUT)
            CHECK(spawn_one(r, 3) == 0, "spawn after a timeout");
        break;
    case 1: /* poll a while (only other threads run the tasks meanwhile), then wait */
        for (int k = 0; (rc = weft_scope_try_wait(&r->scope)) == -EAGAIN && k < 200; k++)
            weft_thread_yield();
        if (rc == -EAGAIN)
            rc = weft_scope_wait_timeout(&r->scope, LIMIT_NS);
        break;
    default:
        rc = weft_scope_wait_timeout(&r->scope, LIMIT_NS);
    }
    CHECK(rc != -ETIMEDOUT, "the scope's wait never returned (a task lost from the count)");
    CHECK(!t || weft_thread_join(t, NULL) == 0);
    CHECK(rc == r->fail_status, "wait returned %d, want %d", rc, r->fail_status);
    uint32_t n = atomic_load_explicit(&r->next_id, memory_order_relaxed);
    for (uint32_t id = 0; id < n; id++) {
        CHECK(atomic_load_explicit(&r->ran[id], memory_order_relaxed) == 1, "task %u ran %u times", id,
              (unsigned)atomic_load_explicit(&r->ran[id], memory_order_relaxed));
        CHECK(r->payload[id] == id * 2654435761u + 1, "task %u's write not visible", id);
    }
    CHECK(weft_scope_spawn(&r->scope, task, NULL) == -EINVAL, "spawn after the wait");
}

typedef struct job {
    round *r;
    weft_pool *pool;
    unsigned variant;
    bool outside;
} job;

static void run_round_fn(void *p)
{
    job *j = p;
    run_round(j->r, j->pool, j->variant, j->outside);
}

/* n workers, unpinned (the tests share the machine). */
static weft_pool *unpinned_pool(unsigned n)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = n;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool = NULL;
    CHECK(weft_pool_create(&cfg, &pool) == 0);
    return pool;
}

int main(void)
{
    round *r = malloc(sizeof *r);
    CHECK(r != NULL);
    long rounds = stress_iters(600);
    for (unsigned threads = 1; threads <= 4; threads *= 2) {
        weft_pool *pool = unpinned_pool(threads);
        for (long i = 0; i < rounds; i++) {
            /* A caller takes no injected work and benches a worker: with one thread,
             * nobody would run an outside thread's spawns before the caller returns. */
            job j = {r, pool, (unsigned)i, !(i % 3 == 1 && threads == 1)};
            switch (i % 3) {
            case 0: /* owner: a worker */
                CHECK(weft_pool_run(pool, run_round_fn, &j) == 0);
                break;
            case 1: /* owner: a caller slot */
                CHECK(weft_pool_execute(pool, run_round_fn, &j) == 0);
                break;
            default: /* owner: an outside thread */
                run_round(r, pool, (unsigned)i, true);
            }
        }
        CHECK(weft_pool_wait_idle(pool) == 0);
        CHECK(weft_pool_destroy(pool) == 0);
    }
    free(r);
    printf("stress_scope_count: ok\n");
    return 0;
}
