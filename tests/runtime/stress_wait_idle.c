/* stress_wait_idle: weft_pool_wait_idle against the last task's wake-up. Each round
 * the main thread spawns a burst of detached tasks (some spawn a child), each writing
 * a plain slot, and waits for the pool to drain; a second thread waits for idle over
 * and over meanwhile. Checks: no wake-up is lost (every wait returns, bounded by a
 * generous timeout that turns a hang into a failure); when the main wait returns,
 * every task of the round has run and its plain write is visible (under TSan, a
 * missing happens-before from the tasks to the waiter is reported as a race). */
#include <stdatomic.h>
#include <stdio.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

#define BURST 24
#define LIMIT_NS 20000000000ull /* a lost wake-up, not a slow machine */

typedef struct slot {
    int round; /* plain: written by its task, read by the main thread after wait_idle */
    int child_round;
} slot;

static slot slots[BURST];
static _Atomic int ran;
static int current_round; /* plain: written before the burst's spawns publish it */

static void *child(void *p)
{
    slot *s = p;
    s->child_round = current_round;
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return NULL;
}

static void *task(void *p)
{
    slot *s = p;
    s->round = current_round;
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    if ((s - slots) % 3 == 0) /* a task that spawns: its child counts before it ends */
        CHECK(weft_spawn(NULL, child, s, NULL) == 0);
    return NULL;
}

typedef struct waiter {
    weft_pool *pool;
    _Atomic bool stop;
    long waits;
} waiter;

static void *wait_repeatedly(void *p)
{
    waiter *w = p;
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        CHECK(weft_pool_wait_idle_timeout(w->pool, LIMIT_NS) == 0, "a waiter was never woken");
        w->waits++;
        weft_thread_yield(); /* an idle pool answers at once: leave the CPUs to the burst */
    }
    return NULL;
}

int main(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool;
    CHECK(weft_pool_create(&cfg, &pool) == 0);
    waiter w = {.pool = pool};
    weft_thread *other;
    CHECK(weft_thread_spawn(NULL, wait_repeatedly, &w, &other) == 0);

    long rounds = stress_iters(4000);
    for (long r = 1; r <= rounds; r++) {
        current_round = (int)r;
        int n = 1 + (int)(r % BURST), expect = n;
        atomic_store_explicit(&ran, 0, memory_order_relaxed);
        for (int i = 0; i < n; i++) {
            expect += i % 3 == 0;
            CHECK(weft_spawn(pool, task, &slots[i], NULL) == 0);
        }
        CHECK(weft_pool_wait_idle_timeout(pool, LIMIT_NS) == 0, "round %ld: never woken", r);
        int got = atomic_load_explicit(&ran, memory_order_relaxed);
        CHECK(got == expect, "round %ld: wait_idle returned after %d of %d tasks", r, got, expect);
        for (int i = 0; i < n; i++) {
            CHECK(slots[i].round == (int)r, "round %ld: task %d's write not seen", r, i);
            if (i % 3 == 0)
                CHECK(slots[i].child_round == (int)r, "round %ld: child %d's write not seen", r, i);
        }
    }
    atomic_store_explicit(&w.stop, true, memory_order_relaxed);
    CHECK(weft_thread_join(other, NULL) == 0);
    CHECK(weft_pool_destroy(pool) == 0);
    printf("stress_wait_idle: %ld rounds, %ld waits by a second thread: ok\n", rounds, w.waits);
    return 0;
}
