/* test_for_init.c: Criterion suite for weft_par_for_init: every index exactly once,
 * on pools of 1, 2, 3, 8 threads and from the main thread, adaptive and with grains;
 * at most one state per thread in a loop whose bodies make no parallel call, each
 * state used by one body at a time; fini sees every state once, after the loop, on
 * the calling thread (a sum merged there); init failing, a body stopping the loop,
 * argument errors. No timing is asserted. */
#include "loops_testlib.h"

#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { MAXN = 5000, MAX_STATES = 64 };

typedef struct state {
    pthread_t maker;
    _Atomic int busy;
    uint64_t sum; /* of the indices this state's bodies saw */
    int finied;
} state;

typedef struct loop {
    size_t lo, hi, grain;
    unsigned spin;
    int fail_init_at; /* init number that fails with status 7 (0: none) */
    _Atomic int inits;
    _Atomic unsigned char count[MAXN];
    state *made[MAX_STATES];
    int finis;
    uint64_t total;     /* merged in fini */
    pthread_t caller;
    bool fini_elsewhere; /* fini ran on another thread than the caller */
    int rc;
} loop;

static int init_state(void *ctx, void **out)
{
    loop *l = ctx;
    int k = atomic_fetch_add(&l->inits, 1);
    if (l->fail_init_at && k + 1 == l->fail_init_at)
        return 7;
    if (k >= MAX_STATES)
        abort();
    state *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->maker = pthread_self();
    l->made[k] = s;
    *out = s;
    return 0;
}

static int body(void *ctx, void *st, size_t b, size_t e)
{
    loop *l = ctx;
    state *s = st;
    if (b >= e || b < l->lo || e > l->hi || atomic_exchange(&s->busy, 1) != 0)
        abort(); /* a bad chunk, or a state given to two bodies at once */
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&l->count[i - l->lo], 1, memory_order_relaxed);
        s->sum += i;
        loops_spin(l->spin);
    }
    atomic_store(&s->busy, 0);
    return 0;
}

static void fini_state(void *ctx, void *st)
{
    loop *l = ctx;
    state *s = st;
    if (!pthread_equal(pthread_self(), l->caller))
        l->fini_elsewhere = true;
    s->finied++;
    l->finis++;
    l->total += s->sum;
}

static void loop_call(void *arg)
{
    loop *l = arg;
    l->caller = pthread_self();
    l->rc = weft_par_for_init(l->lo, l->hi, l->grain, init_state, body, fini_state, l);
}

static void free_states(loop *l)
{
    int made = atomic_load(&l->inits);
    for (int k = 0; k < made && k < MAX_STATES; k++)
        free(l->made[k]);
}

Test(for_init, coverage_states_and_fini)
{
    loop *l = calloc(1, sizeof *l);
    cr_assert_not_null(l);
    uint64_t seed = 0x5eed1234u;
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (int k = 0; k < 12; k++) {
            memset(l, 0, sizeof *l);
            size_t n = k == 0 ? 0 : k == 1 ? 1 : (size_t)(test_next_rand(&seed) % MAXN);
            l->lo = (size_t)(test_next_rand(&seed) % 100000);
            l->hi = l->lo + n;
            l->grain = k % 3 == 0 ? 0 : (size_t)(test_next_rand(&seed) % 300) + 1;
            l->spin = k % 2 ? 200 : 0;
            loops_run_on(loop_thread_counts[t], loop_call, l);
            cr_assert_eq(l->rc, 0);
            uint64_t want = 0;
            for (size_t i = 0; i < n; i++) {
                cr_assert_eq(atomic_load(&l->count[i]), 1, "index %zu ran %d times", l->lo + i,
                             atomic_load(&l->count[i]));
                want += l->lo + i;
            }
            int inits = atomic_load(&l->inits);
            cr_assert(n > 0 || inits == 0, "init called for an empty range");
            cr_assert_eq(l->finis, inits, "%d states made, %d finished", inits, l->finis);
            cr_assert(!l->fini_elsewhere, "fini ran on another thread than the caller");
            cr_assert_eq(l->total, want);
            for (int a = 0; a < inits; a++) {
                cr_assert_eq(l->made[a]->finied, 1);
                for (int c = 0; c < a; c++)
                    cr_assert(!pthread_equal(l->made[a]->maker, l->made[c]->maker),
                              "two states made on one thread (threads %d)", loop_thread_counts[t]);
            }
            free_states(l);
        }
    }
    free(l);
}

/* init fails on its second call: the loop stops with its status, and fini sees the
 * state that was made and only it. */
Test(for_init, init_failure_stops_the_loop)
{
    loop *l = calloc(1, sizeof *l);
    cr_assert_not_null(l);
    for (size_t t = 0; t < N_COUNTS; t++) {
        memset(l, 0, sizeof *l);
        l->lo = 0;
        l->hi = MAXN;
        l->spin = 300;
        l->fail_init_at = 2;
        loops_run_on(loop_thread_counts[t], loop_call, l);
        int inits = atomic_load(&l->inits);
        cr_assert(l->rc == 0 || l->rc == 7, "rc %d", l->rc);
        cr_assert(l->rc == 7 || inits <= 1, "%d inits without a failure", inits);
        cr_assert_eq(l->finis, inits >= 2 ? inits - 1 : inits);
        free_states(l);
    }
    free(l);
}

static int stop_body(void *ctx, void *st, size_t b, size_t e)
{
    (void)ctx;
    (void)st;
    return b <= 100 && 100 < e ? 42 : 0;
}

static int counting_init(void *ctx, void **out)
{
    atomic_fetch_add((_Atomic int *)ctx, 1);
    *out = ctx;
    return 0;
}

static void counting_fini(void *ctx, void *st)
{
    (void)st;
    atomic_fetch_sub((_Atomic int *)ctx, 1);
}

Test(for_init, early_exit_and_errors)
{
    _Atomic int live = 0;
    cr_assert_eq(weft_par_for_init(0, 10000, 0, counting_init, stop_body, counting_fini, &live), 42);
    cr_assert_eq(atomic_load(&live), 0, "fini not run for every state");
    cr_assert_eq(weft_par_for_init(0, 10000, 7, counting_init, stop_body, NULL, &live), 42);
    atomic_store(&live, 0);
    cr_assert_eq(weft_par_for_init(5, 4, 0, counting_init, stop_body, counting_fini, &live), -EINVAL);
    cr_assert_eq(weft_par_for_init(0, 4, 0, NULL, stop_body, counting_fini, &live), -EINVAL);
    cr_assert_eq(weft_par_for_init(0, 4, 0, counting_init, NULL, counting_fini, &live), -EINVAL);
    cr_assert_eq(weft_par_for_init(3, 3, 0, counting_init, stop_body, counting_fini, &live), 0);
    cr_assert_eq(atomic_load(&live), 0, "init called for an empty range");
}
