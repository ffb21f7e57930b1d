/* stress_callers.c: parallel loops called back to back from several threads outside
 * every pool at once (also under ThreadSanitizer), as an application's own threads
 * call them. Each outside thread (main and OTHERS more) runs weft_par_for on every
 * size 2^0 .. 2^20, adaptive and with an explicit grain, into the global pool (a plain
 * call) and into an explicit 2-thread pool (weft_pool_execute): the callers take
 * caller slots, bench the workers they displace, steal from one another's slots and
 * give the slots back, call after call. After each call every index must have been
 * visited exactly once (per-index counters); between sizes, each thread also runs fib
 * by weft_join from outside, in both pools. Repetitions shrink as sizes grow. */
#include "check.h"
#include "runtime/workloads.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { OTHERS = 3, CALLERS = OTHERS + 1, MAX_LOG = 20, POOL_THREADS = 2 };

typedef struct caller {
    int id;
    weft_pool *pool; /* the explicit 2-thread pool */
    weft_barrier *start;
    _Atomic unsigned char *count; /* 2^MAX_LOG counters */
    long calls;
} caller;

static int count_body(void *ctx, size_t b, size_t e)
{
    _Atomic unsigned char *count = ctx;
    CHECK(b < e && e <= (size_t)1 << MAX_LOG, "bad chunk [%zu, %zu)", b, e);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&count[i], 1, memory_order_relaxed);
    return 0;
}

/* Every counter of [0, n) is 1; reset them for the next call. */
static void check_once(caller *c, size_t n, size_t grain, const char *where)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = atomic_load_explicit(&c->count[i], memory_order_relaxed);
        CHECK(v == 1, "caller %d, %s: n %zu grain %zu: index %zu visited %u times", c->id, where, n, grain, i, v);
        atomic_store_explicit(&c->count[i], 0, memory_order_relaxed);
    }
}

typedef struct loop_call {
    caller *c;
    size_t n, grain;
    int rc, index;
} loop_call;

static void loop_in_pool(void *p)
{
    loop_call *l = p;
    l->index = weft_current_worker_index();
    l->rc = weft_par_for(0, l->n, l->grain, count_body, (void *)l->c->count);
}

static void one_size(caller *c, size_t n, size_t grain)
{
    /* the global pool, by a plain call from outside */
    CHECK(weft_par_for(0, n, grain, count_body, (void *)c->count) == 0, "par_for (global)");
    CHECK(weft_current_worker_index() == -1, "caller %d still in a slot", c->id);
    check_once(c, n, grain, "global pool");
    /* the 2-thread pool, in a caller slot of it (CALLERS <= WEFT_POOL_CALLER_SLOTS) */
    loop_call l = {c, n, grain, -7, -7};
    CHECK(weft_pool_execute(c->pool, loop_in_pool, &l) == 0, "execute");
    CHECK(l.rc == 0, "par_for in the pool: %d", l.rc);
    CHECK(l.index >= POOL_THREADS && l.index < POOL_THREADS + WEFT_POOL_CALLER_SLOTS, "index %d", l.index);
    CHECK(weft_current_worker_index() == -1, "caller %d still in a slot", c->id);
    check_once(c, n, grain, "2-thread pool");
    c->calls += 2;
}

static void fib_entry(void *p) { fib_join(p); }

static void fib_both_pools(caller *c)
{
    const unsigned n = WEFT_TSAN_OR(11, 16);
    fib_arg f = {n, 0};
    fib_join(&f); /* its weft_join comes from outside: a caller slot of the global pool */
    CHECK(f.r == fib_serial(n), "fib (global) %llu", (unsigned long long)f.r);
    fib_arg g = {n, 0};
    CHECK(weft_pool_execute(c->pool, fib_entry, &g) == 0, "execute fib");
    CHECK(g.r == fib_serial(n), "fib (pool) %llu", (unsigned long long)g.r);
}

static void *run_caller(void *p)
{
    caller *c = p;
    /* Indices per size: all sizes get at least one call of each kind, small ones
     * many (they stress entering and leaving the pool, not the loop). */
    const long budget = stress_iters(1L << 22), max_reps = stress_iters(128);
    weft_barrier_wait(c->start); /* all callers start together */
    for (int lg = 0; lg <= MAX_LOG; lg++) {
        size_t n = (size_t)1 << lg;
        long reps = budget >> lg;
        reps = reps < 1 ? 1 : reps > max_reps ? max_reps : reps;
        for (long r = 0; r < reps; r++) {
            one_size(c, n, 0);
            /* explicit: from one index per chunk (many joins) on small sizes to ~256
             * chunks on big ones; varied per caller and repetition */
            size_t grain = n <= 4096 ? 1 + (size_t)((r + c->id) % 3) : n >> (7 + (r + c->id) % 3);
            one_size(c, n, grain);
        }
        fib_both_pools(c);
    }
    return NULL;
}

int main(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = POOL_THREADS;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool;
    CHECK(weft_pool_create(&cfg, &pool) == 0, "pool");
    weft_barrier start = WEFT_BARRIER_INIT(CALLERS);
    caller c[CALLERS];
    weft_thread *t[OTHERS];
    for (int i = 0; i < CALLERS; i++) {
        c[i] = (caller){i, pool, &start, calloc((size_t)1 << MAX_LOG, 1), 0};
        CHECK(c[i].count != NULL, "calloc");
    }
    for (int i = 0; i < OTHERS; i++)
        CHECK(weft_thread_spawn(NULL, run_caller, &c[i + 1], &t[i]) == 0, "thread");
    run_caller(&c[0]); /* main is one of the callers */
    long calls = c[0].calls;
    for (int i = 0; i < OTHERS; i++) {
        CHECK(weft_thread_join(t[i], NULL) == 0, "join");
        calls += c[i + 1].calls;
    }
    for (int i = 0; i < CALLERS; i++)
        free((void *)c[i].count);
    CHECK(weft_pool_destroy(pool) == 0, "destroy");
    printf("stress_callers: %ld loops from %d outside threads at once, each index once\n", calls, CALLERS);
    return 0;
}
