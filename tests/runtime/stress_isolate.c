/* stress_isolate: a task holding a weft_mutex across a parallel loop inside
 * weft_isolate never deadlocks. Without isolation, a worker waiting inside the loop
 * may steal another task that wants the same mutex — on the same thread, under the
 * lock it already holds — and deadlock (try it: build with -DNO_ISOLATION and the
 * test hangs, or returns -EDEADLK from a debug build's lock). The loop is a
 * recursive-halving join, as par_for does. One task in four takes the lock; the
 * others run the same loop unlocked, so there are free thieves to steal the lock
 * holder's halves (which is what makes it wait, and so what could deadlock it).
 * Pools of 2, 4 and 8 workers. */
#include <stdio.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"

typedef struct range {
    unsigned lo, hi;
    uint64_t sum;
} range;

static void loop(void *p) /* sum of i*i over [lo, hi), split down to 8 */
{
    range *r = p;
    if (r->hi - r->lo <= 64) {
        r->sum = 0;
        for (unsigned i = r->lo; i < r->hi; i++)
            r->sum += (uint64_t)i * i;
        return;
    }
    unsigned mid = r->lo + (r->hi - r->lo) / 2;
    range a = {r->lo, mid, 0}, b = {mid, r->hi, 0};
    CHECK(weft_join(loop, &a, loop, &b) == 0, "join");
    r->sum = a.sum + b.sum;
}

typedef struct shared {
    weft_mutex lock;
    uint64_t total; /* guarded by lock */
    _Atomic uint64_t unlocked_total;
} shared;

#define LOOP_N 4096u

static int unlocked_task(weft_scope *s, void *p)
{
    (void)s;
    range r = {0, LOOP_N, 0};
    loop(&r);
    atomic_fetch_add_explicit((_Atomic uint64_t *)p, r.sum, memory_order_relaxed);
    return 0;
}

static int locked_task(weft_scope *s, void *p)
{
    (void)s;
    shared *sh = p;
    CHECK(weft_mutex_lock(&sh->lock) == 0, "lock (a debug build says -EDEADLK if isolation failed)");
    range r = {0, LOOP_N, 0};
#ifdef NO_ISOLATION
    loop(&r);
#else
    CHECK(weft_isolate(loop, &r) == 0, "isolate");
#endif
    sh->total += r.sum;
    CHECK(weft_mutex_unlock(&sh->lock) == 0, "unlock");
    return 0;
}

static void one_round(void *p)
{
    shared *sh = p;
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0, "scope init");
    for (int i = 0; i < 64; i++)
        CHECK(weft_scope_spawn(&s, i % 4 == 0 ? locked_task : unlocked_task,
                               i % 4 == 0 ? (void *)sh : (void *)&sh->unlocked_total) == 0, "spawn");
    CHECK(weft_scope_wait(&s) == 0, "scope wait");
}

int main(void)
{
    const uint64_t per_loop = (uint64_t)(LOOP_N - 1) * LOOP_N * (2 * LOOP_N - 1) / 6; /* sum of i^2 */
    const long rounds = stress_iters(80);
    const unsigned sizes[] = {2, 4, 8};
    long runs = 0;
    for (int k = 0; k < 3; k++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = sizes[k];
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0, "pool");
        shared sh = {WEFT_MUTEX_INIT, 0, 0};
        for (long r = 0; r < rounds; r++)
            CHECK(weft_pool_run(pool, one_round, &sh) == 0, "run");
        CHECK(sh.total == (uint64_t)rounds * 16 * per_loop, "total %llu", (unsigned long long)sh.total);
        CHECK(atomic_load(&sh.unlocked_total) == (uint64_t)rounds * 48 * per_loop, "unlocked total");
        runs += rounds * 16;
        CHECK(weft_pool_destroy(pool) == 0, "destroy");
    }
    printf("stress_isolate: %ld locked parallel loops, no deadlock\n", runs);
    return 0;
}
