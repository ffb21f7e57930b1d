/* stress_wake_at_sleep: work published just as the pool's other workers go to sleep
 * is run by one of them. Each round, a spawner publishes one task and then waits for
 * it outside weft (spinning on a flag, so it never runs the task itself): only
 * another worker, which must be awake or woken, can run it. The spawn comes at a
 * random moment from 0 to 1.5 times the idle workers' search (their spin before
 * sleeping, 50 us by default) after the previous round's task ran, so that it often
 * meets a worker announcing its sleep: the window where a publisher that saw nobody
 * idle skips its fence and the sleeper's heavy barrier must cover it (runtime/sleep.md,
 * "The skip"). Spawners: a scope's owner on a worker (weft_scope_spawn), a worker's
 * detached task (weft_spawn) and an outside thread (weft_spawn into the pool: the
 * injector). Pools of 2 and 3 workers. A lost wake-up shows as a round whose task does
 * not run within ROUND_TIMEOUT_NS: reported by its round, not a hang. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

#define ROUND_TIMEOUT_NS 2000000000ull
#define SEARCH_NS 50000u /* the default policy's search before sleeping */

enum { SCOPE_OWNER, WORKER_SPAWN, OUTSIDE_SPAWN, SPAWNERS };

typedef struct round_state {
    _Atomic int ran;
    long rounds;
    int spawner;
    uint64_t rng;
} round_state;

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void busy_wait_ns(uint64_t ns)
{
    uint64_t end = weft_time_now_ns() + ns;
    while (weft_time_now_ns() < end) {
    }
}

static void *mark(void *p)
{
    atomic_store_explicit(&((round_state *)p)->ran, 1, memory_order_release);
    return NULL;
}

static int mark_scope_task(weft_scope *s, void *p)
{
    (void)s;
    mark(p);
    return 0;
}

/* Wait, outside weft, for the round's task; the round's number names a lost one. */
static void wait_for_task(round_state *r, long round)
{
    uint64_t deadline = weft_time_now_ns() + ROUND_TIMEOUT_NS;
    while (!atomic_load_explicit(&r->ran, memory_order_acquire))
        CHECK(weft_time_now_ns() < deadline, "spawner %d, round %ld: the task did not run (a lost wake-up)",
              r->spawner, round);
}

static void run_rounds(void *p)
{
    round_state *r = p;
    for (long i = 0; i < r->rounds; i++) {
        busy_wait_ns(next_random(&r->rng) % (SEARCH_NS * 3 / 2));
        atomic_store_explicit(&r->ran, 0, memory_order_relaxed);
        if (r->spawner == SCOPE_OWNER) {
            weft_scope s;
            CHECK(weft_scope_init(&s, NULL) == 0);
            CHECK(weft_scope_spawn(&s, mark_scope_task, r) == 0);
            wait_for_task(r, i);
            CHECK(weft_scope_wait(&s) == 0);
        } else {
            CHECK(weft_spawn(NULL, mark, r, NULL) == 0);
            wait_for_task(r, i);
        }
    }
}

int main(void)
{
    long rounds = stress_iters(3000);
    for (unsigned threads = 2; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        for (int spawner = 0; spawner < SPAWNERS; spawner++) {
            round_state r = {.rounds = rounds, .spawner = spawner, .rng = 0x9E3779B97F4A7C15ull + threads};
            if (spawner == OUTSIDE_SPAWN) {
                for (long i = 0; i < rounds; i++) {
                    busy_wait_ns(next_random(&r.rng) % (SEARCH_NS * 3 / 2));
                    atomic_store_explicit(&r.ran, 0, memory_order_relaxed);
                    CHECK(weft_spawn(pool, mark, &r, NULL) == 0);
                    wait_for_task(&r, i);
                }
            } else {
                CHECK(weft_pool_run(pool, run_rounds, &r) == 0);
            }
        }
        CHECK(weft_pool_destroy(pool) == 0);
    }
    printf("stress_wake_at_sleep: %ld rounds per spawner (scope owner, worker spawn, outside spawn) on 2 and 3 "
           "workers, every task run by another thread\n",
           rounds);
    return 0;
}
