/* stress_task_error: a pool's on_task_error hook sees every failing detached task and
 * every failing scope task exactly once, and its writes are visible once the wait
 * that covers the task returns (weft_pool_wait_idle, the scope's wait): on pools of 1,
 * 2, 3 and 8 workers, three threads spawn plain, fifo and copied tasks from outside,
 * from workers and from caller slots, a random third of them failing; tasks with a
 * handle fail too and must never be reported. The hook writes a plain per-task flag
 * that the waiter reads (under TSan a missing happens-before is a race). */
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

enum { THREADS = 3, BATCH = 8 };

static uint8_t reported[TASK_IDS_MAX]; /* plain: the hook writes, a waiter reads */
static _Atomic uint8_t report_count[TASK_IDS_MAX];
static _Atomic uint8_t must_fail[TASK_IDS_MAX];
static _Atomic uint8_t has_handle[TASK_IDS_MAX];

static void on_error(void *ctx, const weft_task_failure *f)
{
    (void)ctx;
    CHECK(f->arg != NULL, "a failure without its argument");
    uint32_t id = *(uint32_t *)f->arg;
    CHECK((f->task_fn != NULL) != (f->scope_fn != NULL), "a failure of neither or both kinds");
    CHECK(atomic_fetch_add_explicit(&report_count[id], 1, memory_order_relaxed) == 0, "task %u reported twice", id);
    reported[id] = 1;
}

static void *task(void *arg)
{
    uint32_t id = *(uint32_t *)arg;
    task_id_mark(id);
    return atomic_load_explicit(&must_fail[id], memory_order_relaxed) ? arg : NULL;
}

static int scope_task(weft_scope *s, void *arg)
{
    (void)s;
    return task(arg) ? 1 : 0;
}

static uint32_t new_task(uint64_t seed)
{
    uint32_t id = task_id_new();
    atomic_store_explicit(&must_fail[id], seed % 3 == 0, memory_order_relaxed);
    return id;
}

/* After a wait that covers it: reported exactly when it failed, unless it had a
 * handle (never reported). */
static void check_report(uint32_t id)
{
    task_id_check(id);
    bool want = !atomic_load_explicit(&has_handle[id], memory_order_relaxed) &&
                atomic_load_explicit(&must_fail[id], memory_order_relaxed);
    CHECK(atomic_load_explicit(&report_count[id], memory_order_relaxed) == want, "task %u reported %u times", id,
          (unsigned)atomic_load_explicit(&report_count[id], memory_order_relaxed));
    CHECK(reported[id] == want, "task %u: the hook's write is not visible", id);
}

/* The pool is idle: every task's report, detached ones included; then afresh. */
static void check_all_reports(void)
{
    uint32_t n = atomic_load_explicit(&task_ids_next, memory_order_relaxed);
    for (uint32_t id = 0; id < n; id++)
        check_report(id);
    memset((void *)report_count, 0, sizeof report_count);
    memset(reported, 0, sizeof reported);
    memset((void *)has_handle, 0, sizeof has_handle);
}

static uint32_t ids_heap[TASK_IDS_MAX]; /* the tasks' arguments: ids_heap[id] == id */

typedef struct round {
    weft_pool *pool;
    uint64_t seed;
} round;

static void spawn_round(void *p)
{
    round *r = p;
    uint32_t ids[BATCH];
    weft_task *t[BATCH];
    weft_scope s;
    CHECK(weft_scope_init(&s, r->pool) == 0, "scope_init");
    for (int i = 0; i < BATCH; i++) {
        uint64_t seed = tree_hash(r->seed + (uint64_t)i);
        ids[i] = new_task(seed);
        ids_heap[ids[i]] = ids[i];
        void *arg = &ids_heap[ids[i]];
        switch ((seed >> 8) % 5) {
        case 0:
            CHECK(weft_spawn(r->pool, task, arg, NULL) == 0, "spawn");
            break;
        case 1:
            CHECK(weft_spawn_fifo(r->pool, task, arg, NULL) == 0, "spawn_fifo");
            break;
        case 2:
            CHECK(weft_spawn_copy(r->pool, task, arg, sizeof(uint32_t), NULL) == 0, "spawn_copy");
            break;
        case 3:
            CHECK(((seed >> 16) & 1 ? weft_scope_spawn_fifo : weft_scope_spawn)(&s, scope_task, arg) == 0, "scope");
            break;
        default:
            atomic_store_explicit(&has_handle[ids[i]], 1, memory_order_relaxed);
            CHECK(weft_spawn(r->pool, task, arg, &t[i]) == 0, "spawn with a handle");
        }
    }
    weft_scope_wait(&s); /* status: the first failure, if any */
    for (int i = 0; i < BATCH; i++) {
        uint64_t seed = tree_hash(r->seed + (uint64_t)i);
        if ((seed >> 8) % 5 == 3)
            check_report(ids[i]);
        else if ((seed >> 8) % 5 == 4) {
            CHECK(weft_task_join(t[i], NULL) == 0, "join");
            check_report(ids[i]);
        }
    }
}

static void *spawner_main(void *p)
{
    task_ids_spawner *sp = p;
    uint64_t rng = 0xD1B54A32D192ED03ull * (uint64_t)(sp->id + 3);
    for (long k = 0; k < sp->rounds; k++) {
        rng = tree_hash(rng);
        round r = {sp->pool, rng};
        switch (rng % 3) {
        case 0:
            spawn_round(&r);
            break;
        case 1:
            CHECK(weft_pool_run(sp->pool, spawn_round, &r) == 0, "run");
            break;
        default:
            CHECK(weft_pool_execute(sp->pool, spawn_round, &r) == 0, "execute");
        }
    }
    return NULL;
}

int main(void)
{
    task_ids_drive(stress_iters(20000), THREADS, false, spawner_main, on_error, check_all_reports);
    return 0;
}
