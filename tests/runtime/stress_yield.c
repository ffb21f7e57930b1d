/* stress_yield: jobs that yield (weft_yield_now / weft_yield_local) between their
 * steps, on pools of 1, 2, 3 and 8 workers, while they and others spawn tasks, join,
 * open scopes and broadcast: every task runs exactly once, nested yields never run a
 * job twice nor lose one, and a job waiting on tasks it can only get done by yielding
 * (its own pool of one worker) finishes. Checks: per-task counts, a plain write read
 * back after the wait that covers it (TSan: a missing happens-before is a race), and
 * that yields return 0, 1 (or -EPERM on the outside threads). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"
#include "task_ids.h"
#include "workloads.h"

enum { THREADS = 3 };

static void yield_some(uint64_t seed)
{
    for (int k = 0; k < (int)(seed % 4); k++) {
        int rc = (seed >> (8 + k)) & 1 ? weft_yield_local() : weft_yield_now();
        CHECK(rc == 0 || rc == 1, "yield returned %d on a pool thread", rc);
    }
}

typedef struct targ {
    uint32_t id;
    uint64_t seed;
    _Atomic int *done; /* counted when it finished, if not NULL */
} targ;

static void *task(void *p)
{
    targ a = *(targ *)p;
    free(p);
    task_id_mark(a.id);
    yield_some(a.seed);
    if (a.seed % 5 == 0) { /* a join tree between yields */
        fib_arg f = {12, 0};
        fib_join(&f);
        CHECK(f.r == fib_serial(12), "fib");
    }
    if (a.done)
        atomic_fetch_add_explicit(a.done, 1, memory_order_release); /* read by the yielder */
    return NULL;
}

static targ *new_targ(uint64_t seed, _Atomic int *done)
{
    targ *a = malloc(sizeof *a);
    CHECK(a != NULL, "malloc");
    *a = (targ){task_id_new(), seed, done};
    return a;
}

/* A job that spawns k detached tasks and yields until they are all done: on a pool of
 * one worker only its own yields can run them. */
static void yielding_job(void *p)
{
    uint64_t seed = *(uint64_t *)p;
    _Atomic int done = 0;
    int k = 1 + (int)(seed % 7);
    for (int i = 0; i < k; i++) {
        uint64_t s = tree_hash(seed + (uint64_t)i);
        CHECK((s & 1 ? weft_spawn_fifo : weft_spawn)(NULL, task, new_targ(s, &done), NULL) == 0, "spawn");
    }
    /* Acquire: pairs with the tasks' release increments. */
    while (atomic_load_explicit(&done, memory_order_acquire) < k) {
        int rc = seed & 2 ? weft_yield_local() : weft_yield_now();
        CHECK(rc == 0 || rc == 1, "yield returned %d", rc);
        if (rc == 0)
            weft_thread_yield(); /* stolen by others: wait for them */
    }
}


static void *spawner_main(void *p)
{
    task_ids_spawner *sp = p;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(sp->id + 7);
    CHECK(weft_yield_now() == -EPERM && weft_yield_local() == -EPERM && weft_pool_has_pending() == -EPERM,
          "an outside thread yields to nothing");
    for (long r = 0; r < sp->rounds; r++) {
        rng = tree_hash(rng);
        uint64_t seed = rng;
        switch (rng % 3) {
        case 0:
            CHECK(weft_pool_run(sp->pool, yielding_job, &seed) == 0, "run");
            break;
        case 1:
            CHECK(weft_pool_execute(sp->pool, yielding_job, &seed) == 0, "execute");
            break;
        default:
            CHECK(weft_spawn(sp->pool, task, new_targ(seed, NULL), NULL) == 0, "spawn");
        }
    }
    return NULL;
}

int main(void)
{
    task_ids_drive(stress_iters(20000), THREADS, false, spawner_main, NULL, NULL);
    return 0;
}
