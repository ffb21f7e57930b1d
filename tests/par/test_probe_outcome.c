/* test_probe_outcome.c: a loop the probe remembers, called again and again at one
 * length, goes the way its calls ran faster, timed whole (splitter.c, outcomes) — not
 * the way the estimate alone says. The loop here costs ~2 ns per index on the thread
 * that calls it and 100 times that on any other, so its calls are far faster inline,
 * while by the estimate (~4 µs of work, over PROBE_INLINE_NS) they go to the pool.
 * Before outcomes every call went to the pool. And when such a loop gets long (its
 * inline calls past the outcomes' bound), it goes back to the pool, as the estimate
 * says for long loops, without waiting for a retry. What is asserted is which way calls
 * went (a call in the pool runs its range in several blocks, or partly on another
 * thread; inline, in one or two pieces on the caller), never a time. */
#include "spin.h"

#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>

#define LEN 2048u
#define CALLS 200u
/* Calls after which the choice must have settled: a full probe, calls that time each
 * way (the first after a change of way is not counted), with room to spare. */
#define SETTLED 20u

typedef struct outcome_loop {
    pthread_t caller;
    uint64_t caller_ns, other_ns; /* per index */
    unsigned pieces;           /* body calls on the caller, this call */
    _Atomic size_t off_caller; /* indices run by another thread, this call */
} outcome_loop;

static int outcome_body(void *ctx, size_t b, size_t e)
{
    outcome_loop *l = ctx;
    if (pthread_equal(pthread_self(), l->caller)) {
        l->pieces++;
        test_spin_ns(l->caller_ns * (e - b));
    } else {
        atomic_fetch_add_explicit(&l->off_caller, e - b, memory_order_relaxed);
        test_spin_ns(l->other_ns * (e - b));
    }
    return 0;
}

static int warm_body(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    test_spin_ns(100000 * (e - b));
    return 0;
}

typedef struct outcome_run {
    unsigned early_pool, late_pool; /* calls that went to the pool, before / after SETTLED */
    unsigned long_pool;             /* the last LONG_CALLS calls, the loop made long */
    unsigned helped;                /* calls another thread ran part of, before that */
    bool then_long;                 /* after CALLS calls, make the loop long */
    int rc;
} outcome_run;

#define LONG_CALLS 40u

/* One call; true when it went to the pool. */
static bool outcome_call(outcome_run *r, outcome_loop *l, bool *off)
{
    l->pieces = 0;
    atomic_store_explicit(&l->off_caller, 0, memory_order_relaxed);
    r->rc = weft_par_for(0, LEN, 0, outcome_body, l);
    /* Relaxed: the call returned, every body with it (par.h). */
    *off = atomic_load_explicit(&l->off_caller, memory_order_relaxed) != 0;
    return *off || l->pieces > 2;
}

static void outcome_calls(void *arg)
{
    outcome_run *r = arg;
    outcome_loop l = {pthread_self(), 2, 200, 0, 0};
    /* Two pieces of 100 µs: the other worker takes one, and then searches (the pool's
     * active wait) while the calls below run, ready to steal. */
    r->rc = weft_par_for(0, 2, 1, warm_body, NULL);
    bool off;
    for (unsigned k = 0; k < CALLS && r->rc == 0; k++) {
        if (outcome_call(r, &l, &off))
            ++*(k < SETTLED ? &r->early_pool : &r->late_pool);
        r->helped += off;
    }
    if (!r->then_long)
        return;
    /* 20 ns per index on every thread: 40 µs inline, past OUTCOME_MAX_NS. */
    l.caller_ns = l.other_ns = 20;
    for (unsigned k = 0; k < 2 * LONG_CALLS && r->rc == 0; k++)
        if (outcome_call(r, &l, &off) && k >= LONG_CALLS)
            r->long_pool++;
}

/* Run the calls on a fresh 2-worker pool until its second worker took part in at
 * least half of the calls that went to the pool (at most 5 tries): the pool is
 * slower only when it does. On a machine too busy to run it during the calls, both
 * ways take about the same time and either may be chosen: such a run says nothing,
 * and the test is skipped. */
static outcome_run outcome_run_on_pool(bool then_long)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_NONE;
    cfg.wait = WEFT_WAIT_ACTIVE;
    outcome_run r = {0};
    bool valid = false;
    for (int attempt = 0; attempt < 5 && !valid; attempt++) {
        weft_pool *pool = NULL;
        cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
        r = (outcome_run){.then_long = then_long};
        cr_assert_eq(weft_pool_run(pool, outcome_calls, &r), 0);
        cr_assert_eq(weft_pool_destroy(pool), 0);
        cr_assert_eq(r.rc, 0);
        valid = r.helped > 0 && 2 * r.helped >= r.early_pool + r.late_pool;
    }
    if (!valid)
        cr_skip_test("the pool's second worker seldom ran during the calls");
    return r;
}

Test(probe_outcome, a_loop_faster_inline_runs_inline)
{
    outcome_run r = outcome_run_on_pool(false);
    cr_assert_gt(r.early_pool, 0, "no early call went to the pool, the estimate's way");
    /* After that, only the pool's retries (two calls every OUTCOME_RETRY or more); a
     * busy machine that slows the inline calls may bring a few more. */
    cr_assert_leq(r.late_pool, CALLS / 8, "%u of %u settled calls went to the pool, 100x slower",
                  r.late_pool, CALLS - SETTLED);
}

Test(probe_outcome, a_loop_grown_long_goes_back_to_the_pool)
{
    /* Settled inline as above; then every index costs 20 ns on any thread. The pool's
     * way is seen in the pieces on the caller (the span's blocks), whether or not the
     * other worker runs: the last LONG_CALLS calls all go there but for preemptions
     * (a preempted inline call cannot make the loop look short again). */
    outcome_run r = outcome_run_on_pool(true);
    cr_assert_leq(r.late_pool, CALLS / 8);
    cr_assert_geq(r.long_pool, LONG_CALLS - 4, "only %u of the last %u long calls went to the pool",
                  r.long_pool, LONG_CALLS);
}
