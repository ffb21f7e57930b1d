/* stress_for_init.c: weft_par_for_init under concurrency (also under
 * ThreadSanitizer): random ranges and grains on pools of 1, 2, 3, 8 threads and from
 * the main thread; bodies that make a nested weft_par_for (so a thread waiting in it
 * may run another chunk of the outer loop with a state of its own); every index once,
 * no state given to two bodies at once, fini once per state made, after the loop, and
 * the per-state sums merged there equal to the serial sum. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

enum { MAXN = 4000 };

typedef struct state {
    _Atomic int busy;
    uint64_t sum;
    bool finied;
    struct state *next_made; /* every state, for the final check */
} state;

typedef struct loop {
    size_t lo, hi, grain;
    bool nest;
    _Atomic unsigned char count[MAXN];
    _Atomic(state *) made;
    _Atomic int inits;
    int finis;
    uint64_t total;
} loop;

static int init_state(void *ctx, void **out)
{
    loop *l = ctx;
    state *s = calloc(1, sizeof *s);
    CHECK(s != NULL, "calloc");
    s->next_made = atomic_load_explicit(&l->made, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&l->made, &s->next_made, s, memory_order_release,
                                                  memory_order_relaxed)) { /* pairs with main's acquire */
    }
    atomic_fetch_add_explicit(&l->inits, 1, memory_order_relaxed);
    *out = s;
    return 0;
}

static int inner(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    loops_spin((unsigned)(e - b) * 20);
    return 0;
}

static int body(void *ctx, void *st, size_t b, size_t e)
{
    loop *l = ctx;
    state *s = st;
    CHECK(b < e && b >= l->lo && e <= l->hi, "chunk [%zu, %zu) outside [%zu, %zu)", b, e, l->lo, l->hi);
    CHECK(atomic_exchange_explicit(&s->busy, 1, memory_order_relaxed) == 0, "a state given to two bodies");
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&l->count[i - l->lo], 1, memory_order_relaxed);
        s->sum += i;
        loops_spin(30);
    }
    if (l->nest) /* while it waits, this thread may run another chunk of this loop */
        CHECK(weft_par_for(0, 64, 0, inner, NULL) == 0, "nested par_for");
    atomic_store_explicit(&s->busy, 0, memory_order_relaxed);
    return 0;
}

static void fini_state(void *ctx, void *st)
{
    loop *l = ctx;
    state *s = st;
    CHECK(!s->finied, "fini twice on one state");
    CHECK(!atomic_load_explicit(&s->busy, memory_order_relaxed), "fini on a state in use");
    s->finied = true;
    l->finis++;
    l->total += s->sum;
}

typedef struct scenario {
    uint64_t seed;
    int rounds;
    bool ok;
} scenario;

static void scenario_run(void *arg)
{
    scenario *sc = arg;
    loop *l = malloc(sizeof *l);
    CHECK(l != NULL, "malloc");
    for (int round = 0; round < sc->rounds; round++) {
        size_t n = round % 5 == 0 ? (size_t)(round % 2) : (size_t)(test_next_rand(&sc->seed) % MAXN);
        l->lo = round % 3 == 2 ? SIZE_MAX - n : (size_t)(test_next_rand(&sc->seed) % 1000000);
        l->hi = l->lo + n;
        l->grain = round % 3 == 0 ? 0 : (size_t)(test_next_rand(&sc->seed) % 200) + 1;
        l->nest = round % 2 == 1;
        for (size_t i = 0; i < MAXN; i++)
            atomic_init(&l->count[i], 0);
        atomic_init(&l->made, NULL);
        atomic_init(&l->inits, 0);
        l->finis = 0;
        l->total = 0;
        CHECK(weft_par_for_init(l->lo, l->hi, l->grain, init_state, body, fini_state, l) == 0, "for_init");
        uint64_t want = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(atomic_load_explicit(&l->count[i], memory_order_relaxed) == 1, "index %zu ran %d times",
                  l->lo + i, atomic_load_explicit(&l->count[i], memory_order_relaxed));
            want += l->lo + i;
        }
        CHECK(l->total == want, "merged sum %llu, serial %llu", (unsigned long long)l->total,
              (unsigned long long)want);
        int inits = atomic_load_explicit(&l->inits, memory_order_relaxed);
        CHECK(l->finis == inits, "%d states, %d finis", inits, l->finis);
        /* Acquire: pairs with init_state's release, so each state's fields are visible. */
        for (state *s = atomic_load_explicit(&l->made, memory_order_acquire), *next; s; s = next) {
            CHECK(s->finied, "a state fini never saw");
            next = s->next_made;
            free(s);
        }
    }
    free(l);
    sc->ok = true;
}

int main(void)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        scenario sc = {0xab1e5eedu + t, (int)stress_iters(120), false};
        loops_run_on(loop_thread_counts[t], scenario_run, &sc);
        CHECK(sc.ok, "scenario did not finish");
    }
    printf("stress_for_init: ok\n");
    return 0;
}
