/* stress_barrier: THREADS threads x ROUNDS rounds through one weft_barrier.
 * Invariants checked:
 *  - exactly one leader per round (per-round leader counters);
 *  - nobody passes early: each thread publishes its round number before the wait;
 *    after the wait every thread's number is >= the current round;
 *  - the barrier orders memory: each thread writes a plain slot of a double buffer
 *    before the wait and everyone reads all slots after it (TSan flags a missing
 *    happens-before; the values catch an early pass);
 *  - half of the threads use wait_timeout with tiny timeouts and retry on -ETIMEDOUT,
 *    exercising the withdrawal (a withdrawn arrival must be fully undone, or rounds
 *    complete early / get extra leaders). */
#include <pthread.h>
#include <weft/sync.h>
#include "check.h"

#define THREADS 6

struct shared {
    weft_barrier barrier;
    long rounds;
    _Atomic long round_of[THREADS];
    _Atomic int *leaders; /* [rounds] */
    long slot[2][THREADS]; /* plain, double-buffered by round parity */
    _Atomic long timeouts;
};

struct arg {
    struct shared *s;
    int id;
};

static void *worker(void *p)
{
    struct arg *a = p;
    struct shared *s = a->s;
    const int id = a->id;
    const int timed = id % 2;
    long timeouts = 0;
    for (long r = 0; r < s->rounds; r++) {
        /* Relaxed: the barrier itself must order this before the others' checks. */
        atomic_store_explicit(&s->round_of[id], r, memory_order_relaxed);
        s->slot[r % 2][id] = r;
        int rc;
        if (timed) {
            /* 0 ns to ~20 us: lots of withdrawals, some in the completing window. */
            uint64_t t = (uint64_t)((r * 7 + id) % 5) * 5000;
            while ((rc = weft_barrier_wait_timeout(&s->barrier, t)) == -ETIMEDOUT)
                timeouts++;
        } else {
            rc = weft_barrier_wait(&s->barrier);
        }
        CHECK(rc == 0 || rc == WEFT_BARRIER_LEADER, "round %ld: rc %d", r, rc);
        if (rc == WEFT_BARRIER_LEADER)
            atomic_fetch_add_explicit(&s->leaders[r], 1, memory_order_relaxed);
        for (int t = 0; t < THREADS; t++) {
            long o = atomic_load_explicit(&s->round_of[t], memory_order_relaxed);
            CHECK(o >= r, "round %ld: thread %d passed while thread %d is at %ld", r, id, t, o);
            CHECK(s->slot[r % 2][t] == r, "round %ld: slot of %d is %ld", r, t, s->slot[r % 2][t]);
        }
    }
    atomic_fetch_add_explicit(&s->timeouts, timeouts, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    static struct shared s; /* big: keep it off the stack */
    s.rounds = stress_iters(10000);
    CHECK(weft_barrier_init(&s.barrier, THREADS) == 0, "init");
    s.leaders = calloc((size_t)s.rounds, sizeof *s.leaders);
    CHECK(s.leaders, "out of memory");
    pthread_t th[THREADS];
    struct arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct arg){&s, i};
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "thread start");
    }
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "thread join");
    for (long r = 0; r < s.rounds; r++)
        CHECK(atomic_load_explicit(&s.leaders[r], memory_order_relaxed) == 1,
              "round %ld had %d leaders", r, atomic_load_explicit(&s.leaders[r], memory_order_relaxed));
    CHECK(weft_barrier_destroy(&s.barrier) == 0, "barrier still busy");
    printf("stress_barrier: %d threads x %ld rounds, %ld timed-out waits withdrawn: ok\n", THREADS,
           s.rounds, atomic_load_explicit(&s.timeouts, memory_order_relaxed));
    free(s.leaders);
    return 0;
}
