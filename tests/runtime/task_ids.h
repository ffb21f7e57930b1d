/* task_ids.h: exactly-once bookkeeping for the stress tests that spawn many tasks
 * (stress_fifo.c, stress_yield.c): each task takes a fresh id, marks it when it runs
 * (twice is a failure) and writes a plain payload; whoever waited for the task reads
 * it back (under TSan a missing happens-before is a race); at the end every id handed
 * out must have run once. And their driver: spawner threads on pools of 1, 2, 3 and 8
 * workers. Header-only (static), one set per test program. */
#ifndef WEFT_TESTS_TASK_IDS_H
#define WEFT_TESTS_TASK_IDS_H
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <weft/runtime.h>
#include "check.h"

enum { TASK_IDS_MAX = 1 << 18 };

static _Atomic uint8_t task_ids_ran[TASK_IDS_MAX];
static uint32_t task_ids_payload[TASK_IDS_MAX]; /* plain: the task writes, a waiter reads */
static _Atomic uint32_t task_ids_next;

static inline uint32_t task_id_new(void)
{
    uint32_t id = atomic_fetch_add_explicit(&task_ids_next, 1, memory_order_relaxed);
    CHECK(id < TASK_IDS_MAX, "too many tasks");
    return id;
}

/* The task with this id runs now. */
static inline void task_id_mark(uint32_t id)
{
    CHECK(atomic_fetch_add_explicit(&task_ids_ran[id], 1, memory_order_relaxed) == 0, "task %u ran twice", id);
    task_ids_payload[id] = id * 7u + 1u;
}

/* After a wait that covers the task: it ran once and its write is visible. */
static inline void task_id_check(uint32_t id)
{
    CHECK(atomic_load_explicit(&task_ids_ran[id], memory_order_relaxed) == 1, "task %u ran %u times", id,
          (unsigned)atomic_load_explicit(&task_ids_ran[id], memory_order_relaxed));
    CHECK(task_ids_payload[id] == id * 7u + 1u, "task %u's write is not visible", id);
}

/* Once the pool is idle: every id handed out ran once; then start afresh. */
static inline void task_ids_check_all_and_reset(void)
{
    uint32_t n = atomic_load_explicit(&task_ids_next, memory_order_relaxed);
    for (uint32_t id = 0; id < n; id++)
        task_id_check(id);
    memset((void *)task_ids_ran, 0, sizeof task_ids_ran);
    memset(task_ids_payload, 0, sizeof task_ids_payload);
    atomic_store_explicit(&task_ids_next, 0, memory_order_relaxed);
}

/* One spawner thread of task_ids_drive. */
typedef struct task_ids_spawner {
    weft_pool *pool;
    unsigned pool_size;
    int id;     /* distinct per thread and pool: a seed */
    long rounds;
} task_ids_spawner;

enum { TASK_IDS_MAX_THREADS = 8 };

/* For pools of 1, 2, 3 and 8 unpinned workers (with on_task_error as their error
 * hook, NULL: none): run fn on `threads` spawner threads (1 on the pool of one worker
 * if `alone_on_one`) sharing `rounds`, then wait until the pool is idle, call
 * after_idle (if not NULL: checks of its own, while the ids stand), check every id
 * and destroy the pool. */
static inline void task_ids_drive(long rounds, int threads, bool alone_on_one, void *(*fn)(void *),
                                  weft_task_error_fn on_task_error, void (*after_idle)(void))
{
    static const unsigned sizes[] = {1, 2, 3, 8};
    CHECK(threads >= 1 && threads <= TASK_IDS_MAX_THREADS, "threads");
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = sizes[s];
        cfg.pin = WEFT_PIN_NONE;
        cfg.on_task_error = on_task_error;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0, "pool_create");
        int n = sizes[s] == 1 && alone_on_one ? 1 : threads;
        task_ids_spawner sp[TASK_IDS_MAX_THREADS];
        pthread_t t[TASK_IDS_MAX_THREADS];
        for (int i = 0; i < n; i++) {
            sp[i] = (task_ids_spawner){pool, sizes[s], i + 10 * (int)s, rounds / n};
            CHECK(pthread_create(&t[i], NULL, fn, &sp[i]) == 0, "pthread_create");
        }
        for (int i = 0; i < n; i++)
            CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
        CHECK(weft_pool_wait_idle(pool) == 0, "wait_idle");
        if (after_idle)
            after_idle();
        task_ids_check_all_and_reset();
        CHECK(weft_pool_destroy(pool) == 0, "destroy");
    }
}

#endif
