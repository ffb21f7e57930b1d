/* stress_latch: COUNTERS threads count down, WAITERS threads wait, on ROUNDS fresh
 * latches. Invariants checked: no waiter returns before the count is zero, and every
 * waiter then sees every counter's plain write made before its count_down (TSan flags
 * a missing happens-before, the values an early return); count_down never fails;
 * waiters mix wait, wait_timeout with tiny timeouts (retried) and try_wait polling. */
#include <pthread.h>
#include <sched.h>
#include <weft/sync.h>
#include "check.h"
#include "pace.h"

#define COUNTERS 4
#define WAITERS 3

struct round {
    weft_latch latch;
    long data[COUNTERS]; /* plain: written by counter i before its count_down */
};

struct shared {
    struct round *rounds;
    long n;
    _Atomic long blocked; /* waits that found the latch still closed */
    pace pace; /* waiters are pace ids 0.., counters WAITERS.. */
};

struct arg {
    struct shared *s;
    int id;
};

static void *counter(void *p)
{
    struct arg *a = p;
    for (long r = 0; r < a->s->n; r++) {
        pace_round(&a->s->pace, WAITERS + a->id, r);
        struct round *rd = &a->s->rounds[r];
        rd->data[a->id] = r + 1;
        /* Each counter owes 2 per round: one count_down(2) or two count_down(1). */
        if ((r + a->id) % 2) {
            CHECK(weft_latch_count_down(&rd->latch, 2) == 0, "count_down refused");
        } else {
            CHECK(weft_latch_count_down(&rd->latch, 1) == 0, "count_down refused");
            CHECK(weft_latch_count_down(&rd->latch, 1) == 0, "count_down refused");
        }
    }
    pace_done(&a->s->pace, WAITERS + a->id);
    return NULL;
}

static void *waiter(void *p)
{
    struct arg *a = p;
    long blocked = 0;
    for (long r = 0; r < a->s->n; r++) {
        pace_round(&a->s->pace, a->id, r);
        struct round *rd = &a->s->rounds[r];
        int rc = weft_latch_try_wait(&rd->latch);
        blocked += rc == -EAGAIN;
        switch ((r + a->id) % 3) {
        case 0:
            rc = weft_latch_wait(&rd->latch);
            break;
        case 1:
            while ((rc = weft_latch_wait_timeout(&rd->latch, (uint64_t)(r % 4) * 3000)) == -ETIMEDOUT)
                ;
            break;
        default:
            while ((rc = weft_latch_try_wait(&rd->latch)) == -EAGAIN)
                sched_yield();
            break;
        }
        CHECK(rc == 0, "round %ld: rc %d", r, rc);
        for (int i = 0; i < COUNTERS; i++)
            CHECK(rd->data[i] == r + 1, "round %ld: counter %d wrote %ld", r, i, rd->data[i]);
    }
    pace_done(&a->s->pace, a->id);
    atomic_fetch_add_explicit(&a->s->blocked, blocked, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    struct shared s;
    s.n = stress_iters(20000);
    s.rounds = calloc((size_t)s.n, sizeof *s.rounds);
    CHECK(s.rounds, "out of memory");
    atomic_init(&s.blocked, 0);
    pace_init(&s.pace, COUNTERS + WAITERS);
    for (long r = 0; r < s.n; r++)
        CHECK(weft_latch_init(&s.rounds[r].latch, 2 * COUNTERS) == 0, "init");
    pthread_t th[COUNTERS + WAITERS];
    struct arg args[COUNTERS + WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        args[i] = (struct arg){&s, i};
        CHECK(pthread_create(&th[i], NULL, waiter, &args[i]) == 0, "thread start");
    }
    for (int i = 0; i < COUNTERS; i++) {
        args[WAITERS + i] = (struct arg){&s, i};
        CHECK(pthread_create(&th[WAITERS + i], NULL, counter, &args[WAITERS + i]) == 0, "thread start");
    }
    for (int i = 0; i < COUNTERS + WAITERS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "thread join");
    for (long r = 0; r < s.n; r++) {
        CHECK(weft_latch_try_wait(&s.rounds[r].latch) == 0, "latch not open");
        CHECK(weft_latch_count_down(&s.rounds[r].latch, 1) == -EINVAL, "count_down past zero accepted");
    }
    printf("stress_latch: %d counters, %d waiters x %ld latches, %ld waits found it closed: ok\n",
           COUNTERS, WAITERS, s.n, atomic_load_explicit(&s.blocked, memory_order_relaxed));
    free(s.rounds);
    return 0;
}
