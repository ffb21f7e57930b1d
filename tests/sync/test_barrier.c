/* Criterion suite for weft_barrier: the semantics and the errors of every call
 * (multi-round races are in stress_barrier.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <weft/sync.h>

#include "layout_internal.h"

#define MS 1000000ull

Test(barrier, init_and_destroy_errors)
{
    weft_barrier b;
    cr_assert_eq(weft_barrier_init(NULL, 2), -EINVAL);
    cr_assert_eq(weft_barrier_init(&b, 0), -EINVAL);
    cr_assert_eq(weft_barrier_init(&b, WEFT_BARRIER_MAX + 1), -EINVAL);
    cr_assert_eq(weft_barrier_init(&b, UINT32_MAX), -EINVAL);
    cr_assert_eq(weft_barrier_init(&b, WEFT_BARRIER_MAX), 0);
    cr_assert_eq(weft_barrier_destroy(&b), 0);
    cr_assert_eq(weft_barrier_init(&b, 1), 0);
    cr_assert_eq(weft_barrier_destroy(&b), 0);
    cr_assert_eq(weft_barrier_destroy(NULL), -EINVAL);
}

Test(barrier, wait_errors)
{
    cr_assert_eq(weft_barrier_wait(NULL), -EINVAL);
    cr_assert_eq(weft_barrier_wait_timeout(NULL, MS), -EINVAL);
    weft_barrier zero = WEFT_BARRIER_INIT(0); /* never validly initialised */
    cr_assert_eq(weft_barrier_wait(&zero), -EINVAL);
    cr_assert_eq(weft_barrier_wait_timeout(&zero, MS), -EINVAL);
    cr_assert_eq(weft_barrier_destroy(&zero), 0, "a refused wait must not count an arrival");
}

Test(barrier, single_thread_barrier_always_leads)
{
    weft_barrier b = WEFT_BARRIER_INIT(1);
    for (int i = 0; i < 600; i++) { /* > 256 rounds: the 8-bit generation wraps */
        cr_assert_eq(weft_barrier_wait(&b), WEFT_BARRIER_LEADER);
        cr_assert_eq(weft_barrier_wait_timeout(&b, 0), WEFT_BARRIER_LEADER);
    }
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}

Test(barrier, timeout_withdraws_the_arrival)
{
    weft_barrier b;
    cr_assert_eq(weft_barrier_init(&b, 2), 0);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_barrier_wait_timeout(&b, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    /* Withdrawn: nothing pending, and a second lone arrival also times out instead of
     * completing the round with a ghost of the first. */
    cr_assert_eq(weft_barrier_destroy(&b), 0);
    cr_assert_eq(weft_barrier_wait_timeout(&b, 0), -ETIMEDOUT);
    cr_assert_eq(weft_barrier_wait_timeout(&b, 5 * MS), -ETIMEDOUT);
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}

struct waiter {
    weft_barrier *b;
    int rounds;
    int leaders;
    int errors;
};

static void *barrier_waiter(void *p)
{
    struct waiter *w = p;
    for (int i = 0; i < w->rounds; i++) {
        int r = weft_barrier_wait(w->b);
        if (r == WEFT_BARRIER_LEADER)
            w->leaders++;
        else if (r != 0)
            w->errors++;
    }
    return NULL;
}

Test(barrier, busy_while_an_arrival_waits)
{
    weft_barrier b;
    cr_assert_eq(weft_barrier_init(&b, 2), 0);
    struct waiter w = {&b, 1, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, barrier_waiter, &w), 0);
    /* The thread arrives at some point: until it does, destroy says 0. */
    uint64_t give_up = weft_deadline_after(10000 * MS);
    int r;
    while ((r = weft_barrier_destroy(&b)) == 0 && weft_time_now_ns() < give_up)
        sched_yield();
    cr_assert_eq(r, -EBUSY);
    int mine = weft_barrier_wait(&b);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(w.errors, 0);
    cr_assert_eq(w.leaders + (mine == WEFT_BARRIER_LEADER), 1, "exactly one leader");
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}

Test(barrier, timed_wait_completes_with_partner)
{
    weft_barrier b;
    cr_assert_eq(weft_barrier_init(&b, 2), 0);
    struct waiter w = {&b, 50, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, barrier_waiter, &w), 0);
    int leaders = 0;
    for (int i = 0; i < 50; i++) {
        int r = weft_barrier_wait_timeout(&b, 60000 * MS);
        cr_assert(r == 0 || r == WEFT_BARRIER_LEADER, "round %d: %d", i, r);
        leaders += r == WEFT_BARRIER_LEADER;
    }
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(w.errors, 0);
    cr_assert_eq(leaders + w.leaders, 50, "one leader per round");
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}

Test(barrier, three_threads_one_leader_per_round)
{
    weft_barrier b = WEFT_BARRIER_INIT(3);
    struct waiter w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct waiter){&b, 300, 0, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, barrier_waiter, &w[i]), 0);
    }
    int leaders = 0;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(w[i].errors, 0);
        leaders += w[i].leaders;
    }
    cr_assert_eq(leaders, 300);
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}

struct timed_arrival {
    weft_barrier *b;
    uint64_t timeout;
    int rc;
    _Atomic int returned;
};

static void *timed_arrival_thread(void *p)
{
    struct timed_arrival *t = p;
    t->rc = weft_barrier_wait_timeout(t->b, t->timeout);
    atomic_store(&t->returned, 1);
    return NULL;
}

/* White-box (touches the state word: sync/layout_internal.h): the round's
 * last arrival has counted itself but not yet published the next generation, and a
 * timed waiter's deadline passes in that window. It must not withdraw (the round is
 * complete) and must not return before the generation moves (a re-arrival would be
 * wiped out by the leader's store). */
Test(barrier, timeout_while_the_round_completes_does_not_withdraw)
{
    weft_barrier b = WEFT_BARRIER_INIT(2);
    barrier_impl *bi = barrier_of(&b);
    struct timed_arrival t = {&b, 20 * MS, -1, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, timed_arrival_thread, &t), 0);
    uint64_t give_up = weft_deadline_after(10000 * MS);
    while (atomic_load(&bi->state) != 1 && weft_time_now_ns() < give_up)
        sched_yield();
    cr_assert_eq(atomic_load(&bi->state), 1, "the timed waiter arrived");
    /* Play the leader, first half: count our arrival... */
    cr_assert_eq(atomic_fetch_add(&bi->state, 1), 1);
    /* ...and stall well past the waiter's deadline. */
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(atomic_load(&bi->state), 2, "the arrival was withdrawn from a complete round");
    cr_assert_eq(atomic_load(&t.returned), 0, "returned before the generation moved");
    /* Second half: publish generation 1 and wake. */
    atomic_store(&bi->state, 1u << 24);
    weft_futex_wake(&bi->state, WEFT_FUTEX_WAKE_ALL);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(t.rc, 0, "the round completed with it");
    cr_assert_eq(weft_barrier_destroy(&b), 0);
}
