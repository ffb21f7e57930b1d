/* stress_bench_turns: callers entering and leaving a pool concurrently must leave
 * every worker with its turn when they are gone. Each caller that enters benches one
 * worker and each that leaves gives one its turn back, by converting a sleeping
 * worker's state; with two callers crossing (one enters while another leaves) the
 * two conversions of the same worker can land in either order, and the wrong one
 * left a worker asleep BENCHED with no caller inside: uncounted, so no new work
 * woke it again.
 *
 * A caller asleep in a wait lends its turn the same way (gives it back, takes it
 * again when it wakes), so its crossings count too.
 *
 * Each round, 4 outside threads enter and leave the pool (weft_pool_execute of a
 * call that sometimes joins, and now and then waits for a half a worker stole) as
 * fast as they can; then, with no caller inside, the
 * main thread spawns one task per worker that waits at a barrier of that many: it
 * completes only if every worker takes a task, so a worker stuck asleep turns into
 * a timeout (reported), not a pass. */
#include <stdatomic.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

#define CALLERS 4
#define LIMIT_NS 5000000000ull /* a worker that never wakes, not a slow machine */

static void leaf(void *p)
{
    (void)p;
}

static void nap(void *p)
{
    (void)p;
    weft_thread_sleep(20000);
}

static void in_pool(void *p)
{
    unsigned long i = (unsigned long)(uintptr_t)p;
    if (i % 4 == 0) /* sometimes a join, so workers steal from the slot */
        CHECK(weft_join(leaf, NULL, leaf, NULL) == 0);
    else if (i % 16 == 1) /* a half that naps: stolen, the caller sleeps and lends its turn */
        CHECK(weft_join(leaf, NULL, nap, NULL) == 0);
}

typedef struct caller {
    weft_pool *pool;
    long calls;
} caller;

static void *enter_and_leave(void *p)
{
    caller *c = p;
    for (long i = 0; i < c->calls; i++)
        CHECK(weft_pool_execute(c->pool, in_pool, (void *)(uintptr_t)i) == 0);
    return NULL;
}

typedef struct meet {
    weft_barrier *barrier;
    _Atomic int met, timed_out;
} meet;

static void *meet_at_barrier(void *p)
{
    meet *m = p;
    int rc = weft_barrier_wait_timeout(m->barrier, LIMIT_NS);
    if (rc == -ETIMEDOUT)
        atomic_fetch_add(&m->timed_out, 1);
    else
        atomic_fetch_add(&m->met, 1);
    return NULL;
}

int main(void)
{
    long rounds = stress_iters(40);
    for (unsigned threads = 2; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        cfg.pin = WEFT_PIN_NONE;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        for (long r = 0; r < rounds; r++) {
            caller c = {pool, stress_iters(4000)};
            weft_thread *t[CALLERS];
            for (int i = 0; i < CALLERS; i++)
                CHECK(weft_thread_spawn(NULL, enter_and_leave, &c, &t[i]) == 0);
            for (int i = 0; i < CALLERS; i++)
                CHECK(weft_thread_join(t[i], NULL) == 0);
            /* No caller inside: every worker must take one of these. */
            weft_barrier barrier;
            CHECK(weft_barrier_init(&barrier, threads) == 0);
            meet m = {&barrier, 0, 0};
            for (unsigned i = 0; i < threads; i++)
                CHECK(weft_spawn(pool, meet_at_barrier, &m, NULL) == 0);
            CHECK(weft_pool_wait_idle_timeout(pool, 2 * LIMIT_NS) == 0, "the tasks never finished");
            CHECK(atomic_load(&m.timed_out) == 0 && atomic_load(&m.met) == (int)threads,
                  "round %ld, %u threads: %d of %u tasks met at the barrier (a worker stayed asleep)", r,
                  threads, atomic_load(&m.met), threads);
        }
        CHECK(weft_pool_destroy(pool) == 0);
    }
    printf("stress_bench_turns: %ld rounds on 2 and 3 threads\n", rounds);
    return 0;
}
