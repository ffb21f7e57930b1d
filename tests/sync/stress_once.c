/* stress_once: THREADS threads race through ROUNDS fresh weft_once objects.
 * Invariants checked: fn runs exactly once per once object; every caller, once
 * weft_once_call has returned, sees fn's (plain) write; weft_once_is_done agrees.
 * Some fns are slow, so that callers go to sleep (RUNNING_WITH_WAITERS) too. */
#include <pthread.h>
#include <sched.h>
#include <weft/sync.h>
#include "check.h"
#include "pace.h"

#define THREADS 6

struct slot {
    weft_once once;
    _Atomic int runs;
    long value; /* plain: written by fn only */
    int runner;  /* plain: written by fn only, the pace id of the thread that ran it */
    long round;
};

struct shared {
    struct slot *slots;
    long rounds;
    _Atomic long go;
    _Atomic long waited;
    pace pace;
};

struct arg {
    struct shared *s;
    int id;
};

static _Thread_local int self_id; /* a test's thread-local, not library state */

static void init_fn(void *p)
{
    struct slot *sl = p;
    sl->runner = self_id;
    atomic_fetch_add_explicit(&sl->runs, 1, memory_order_relaxed);
    if (sl->round % 97 == 0) {
        /* Slow: let the others give up spinning and sleep. */
        for (int i = 0; i < 50; i++)
            sched_yield();
    }
    sl->value = sl->round * 3 + 1;
}

static void *worker(void *p)
{
    struct arg *a = p;
    struct shared *s = a->s;
    self_id = a->id;
    /* Acquire: pairs with main's release store; start together for more contention. */
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        sched_yield();
    long waited = 0;
    for (long r = 0; r < s->rounds; r++) {
        pace_round(&s->pace, a->id, r);
        struct slot *sl = &s->slots[r];
        bool done_before = weft_once_is_done(&sl->once);
        CHECK(weft_once_call(&sl->once, init_fn, sl) == 0, "once");
        if (!done_before && sl->runner != a->id)
            waited++; /* took the slow path and lost the race: a real meeting */
        CHECK(sl->value == r * 3 + 1, "round %ld: value %ld", r, sl->value);
        CHECK(weft_once_is_done(&sl->once), "once");
    }
    pace_done(&s->pace, a->id);
    atomic_fetch_add_explicit(&s->waited, waited, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    struct shared s;
    s.rounds = stress_iters(40000);
    s.slots = calloc((size_t)s.rounds, sizeof *s.slots);
    CHECK(s.slots, "out of memory");
    for (long r = 0; r < s.rounds; r++) {
        s.slots[r].once = (weft_once)WEFT_ONCE_INIT;
        s.slots[r].round = r;
    }
    atomic_init(&s.go, 0);
    atomic_init(&s.waited, 0);
    pace_init(&s.pace, THREADS);
    pthread_t th[THREADS];
    struct arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct arg){&s, i};
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "thread start");
    }
    /* Release: publishes the initialised slots to the workers. */
    atomic_store_explicit(&s.go, 1, memory_order_release);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "thread join");
    for (long r = 0; r < s.rounds; r++)
        CHECK(atomic_load_explicit(&s.slots[r].runs, memory_order_relaxed) == 1, "round %ld ran %d times",
              r, atomic_load_explicit(&s.slots[r].runs, memory_order_relaxed));
    printf("stress_once: %d threads x %ld onces, %ld calls lost the race to run fn: ok\n", THREADS,
           s.rounds, atomic_load_explicit(&s.waited, memory_order_relaxed));
    free(s.slots);
    return 0;
}
