/* stress_fifo: every task queued with weft_spawn_fifo / weft_scope_spawn_fifo runs
 * exactly once, with thieves taking tickets, whoever spawns: workers (detached tasks,
 * handles joined in a random order, scopes whose tasks spawn fifo siblings, inside and
 * outside weft_isolate), caller slots (weft_pool_execute) and outside threads, fifo
 * and lifo spawns mixed. On pools of 1, 2, 3 and 8 workers, four threads at once (one
 * on the pool of one worker). Checks: each task id runs once; a task's plain write is
 * read back after the wait that covers it (under TSan a missing happens-before is a
 * race); on the pool of one worker, the top-level fifo tasks of a scope its worker owns
 * start in spawn order; the pool ends idle. A lost ticket or task shows as a hang or a
 * count. */
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

enum { THREADS = 4, FANOUT = 6 };

/* ---- scope tasks: a task may queue fifo siblings (depth > 0) */
typedef struct sarg {
    uint32_t id, depth;
    uint32_t *order;       /* one worker: where the scope's top-level tasks log their start */
    _Atomic uint32_t *pos;
} sarg;

static int scope_task(weft_scope *s, void *p)
{
    sarg a = *(sarg *)p;
    if (a.order)
        a.order[atomic_fetch_add_explicit(a.pos, 1, memory_order_relaxed)] = a.id;
    task_id_mark(a.id);
    for (uint32_t k = 0; a.depth > 0 && k < 2; k++) {
        sarg c = {task_id_new(), a.depth - 1, NULL, NULL};
        CHECK(weft_scope_spawn_copy(s, scope_task, &c, sizeof c) == 0, "spawn");
    }
    return 0;
}

static int fifo_copy(weft_scope *s, weft_scope_fn fn, sarg *a)
{
    sarg *heap = malloc(sizeof *heap);
    CHECK(heap != NULL, "malloc");
    *heap = *a;
    return weft_scope_spawn_fifo(s, fn, heap);
}

static int scope_task_heap(weft_scope *s, void *p)
{
    sarg a = *(sarg *)p;
    free(p);
    if (a.order)
        a.order[atomic_fetch_add_explicit(a.pos, 1, memory_order_relaxed)] = a.id;
    task_id_mark(a.id);
    for (uint32_t k = 0; a.depth > 0 && k < 2; k++) {
        sarg c = {task_id_new(), a.depth - 1, NULL, NULL};
        CHECK(fifo_copy(s, scope_task_heap, &c) == 0, "spawn_fifo");
    }
    return 0;
}

/* A scope with FANOUT fifo tasks (some with fifo children) and a lifo one between. */
static void scope_round(uint64_t seed, bool log_order)
{
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0, "scope_init");
    uint32_t ids[FANOUT], order[FANOUT];
    _Atomic uint32_t pos = 0;
    for (int i = 0; i < FANOUT; i++) {
        ids[i] = task_id_new();
        sarg a = {ids[i], (uint32_t)((seed >> i) % 3), log_order ? order : NULL, &pos};
        CHECK(fifo_copy(&s, scope_task_heap, &a) == 0, "spawn_fifo");
        if (i == FANOUT / 2) {
            sarg b = {task_id_new(), 1, NULL, NULL};
            CHECK(weft_scope_spawn_copy(&s, scope_task, &b, sizeof b) == 0, "spawn");
        }
    }
    CHECK(weft_scope_wait(&s) == 0, "scope_wait");
    for (int i = 0; i < FANOUT; i++)
        task_id_check(ids[i]);
    if (log_order) { /* only the scope's own top-level tasks: they started in spawn order */
        CHECK(atomic_load_explicit(&pos, memory_order_relaxed) == FANOUT, "logged %u", (unsigned)pos);
        for (int i = 0; i < FANOUT; i++)
            CHECK(order[i] == ids[i], "fifo task %d of a one-worker scope started at %u", i, order[i]);
    }
}

/* ---- tasks with handles and detached ones */
static void *task_fn(void *p)
{
    uint32_t id = (uint32_t)(uintptr_t)p;
    task_id_mark(id);
    return p;
}

static void handles_round(uint64_t seed)
{
    enum { K = 8 };
    weft_task *t[K];
    uint32_t ids[K];
    for (int i = 0; i < K; i++) {
        ids[i] = task_id_new();
        CHECK((i % 3 ? weft_spawn_fifo : weft_spawn)(NULL, task_fn, (void *)(uintptr_t)ids[i], &t[i]) == 0, "spawn");
    }
    for (int k = 0; k < K; k++) { /* joined in a random order */
        int i = (int)((seed + (uint64_t)k * 5) % K);
        void *r;
        CHECK(weft_task_join(t[i], &r) == 0 && (uint32_t)(uintptr_t)r == ids[i], "join");
        task_id_check(ids[i]);
    }
}

static void detached_round(weft_pool *pool)
{
    for (int i = 0; i < 4; i++)
        CHECK(weft_spawn_fifo(pool, task_fn, (void *)(uintptr_t)task_id_new(), NULL) == 0, "spawn_fifo");
}

typedef struct job {
    weft_pool *pool;
    uint64_t seed;
    bool one_worker;
} job;

static void worker_round(void *p)
{
    job *j = p;
    switch (j->seed % 4) {
    case 0:
        scope_round(j->seed >> 2, j->one_worker);
        break;
    case 1:
        handles_round(j->seed >> 2);
        break;
    case 2:
        detached_round(NULL);
        scope_round(j->seed >> 2, false);
        break;
    default: { /* the same inside an isolated region */
        job inner = {j->pool, j->seed >> 2, false};
        CHECK(weft_isolate(worker_round, &inner) == 0, "isolate");
    }
    }
}


static void *spawner_main(void *p)
{
    task_ids_spawner *sp = p;
    uint64_t rng = 0x2545F4914F6CDD1Dull * (uint64_t)(sp->id + 1);
    for (long r = 0; r < sp->rounds; r++) {
        rng = tree_hash(rng);
        job j = {sp->pool, rng >> 3, sp->pool_size == 1};
        switch (rng % 4) {
        case 0: /* from a worker */
            CHECK(weft_pool_run(sp->pool, worker_round, &j) == 0, "run");
            break;
        case 1: /* from a caller slot */
            j.one_worker = false;
            CHECK(weft_pool_execute(sp->pool, worker_round, &j) == 0, "execute");
            break;
        case 2: /* from outside: the injector */
            detached_round(sp->pool);
            break;
        default: { /* a scope owned by this outside thread, on the pool */
            weft_scope s;
            CHECK(weft_scope_init(&s, sp->pool) == 0, "scope_init");
            uint32_t ids[FANOUT];
            for (int i = 0; i < FANOUT; i++) {
                ids[i] = task_id_new();
                sarg a = {ids[i], 1, NULL, NULL};
                CHECK(fifo_copy(&s, scope_task_heap, &a) == 0, "spawn_fifo");
            }
            CHECK(weft_scope_wait(&s) == 0, "scope_wait");
            for (int i = 0; i < FANOUT; i++)
                task_id_check(ids[i]);
        }
        }
    }
    return NULL;
}

int main(void)
{
    task_ids_drive(stress_iters(6000), THREADS, true, spawner_main, NULL, NULL);
    return 0;
}
