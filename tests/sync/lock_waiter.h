/* lock_waiter.h: threads that wait on a lock another thread holds for a long time,
 * each measuring the CPU time its lock call used (test_mutex.c, test_rwlock.c: a
 * blocked caller spins a bounded time, then sleeps). Criterion tests only. */
#ifndef WEFT_TESTS_LOCK_WAITER_H
#define WEFT_TESTS_LOCK_WAITER_H

#include "cpu_time.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct lock_waiter lock_waiter;
struct lock_waiter {
    int (*lock)(lock_waiter *w);   /* the call under test; 0 once locked */
    int (*unlock)(lock_waiter *w); /* called once locked */
    void *lock_obj;                /* what lock and unlock act on */
    void *ctx;                     /* the test's own, for lock and unlock */
    bool timed;                    /* set by lock_waiters_start: every other waiter */
    _Atomic int *started;
    int result;   /* lock's return value */
    double cpu_s; /* CPU time this thread used inside the lock call */
};

static void *lock_waiter_thread(void *p)
{
    lock_waiter *w = p;
    /* Relaxed: only counts arrivals for the test's pacing. */
    atomic_fetch_add_explicit(w->started, 1, memory_order_relaxed);
    double c0 = test_cpu_s(RUSAGE_THREAD);
    w->result = w->lock(w);
    w->cpu_s = test_cpu_s(RUSAGE_THREAD) - c0;
    if (w->result == 0)
        cr_assert_eq(w->unlock(w), 0);
    return NULL;
}

/* Start n waiters, copies of proto (every other one timed), and return once all of
 * them are about to call lock. */
static void lock_waiters_start(lock_waiter *w, pthread_t *t, int n, lock_waiter proto,
                               _Atomic int *started)
{
    for (int i = 0; i < n; i++) {
        w[i] = proto;
        w[i].timed = i % 2;
        w[i].started = started;
        w[i].result = 12345;
        cr_assert_eq(pthread_create(&t[i], NULL, lock_waiter_thread, &w[i]), 0);
    }
    while (atomic_load_explicit(started, memory_order_relaxed) < n)
        sched_yield();
}

/* Join the waiters; each got the lock. Returns the CPU they used waiting, in all. */
static double lock_waiters_join(lock_waiter *w, pthread_t *t, int n)
{
    double cpu_s = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(w[i].result, 0, "waiter %d", i);
        cpu_s += w[i].cpu_s;
    }
    return cpu_s;
}

/* Spinning through a hold of hold_ms would cost the waiters together ~hold_ms per CPU
 * they got; a bounded spin (the spin budget, sync/spin_internal.h) then a futex sleep
 * costs ~nothing. */
#define LOCK_WAITERS_SLEPT(cpu_s, hold_ms)                                                 \
    cr_assert_lt((cpu_s), 0.2 * (hold_ms) / 1000.0, "waiters used %.3f s of CPU in %d ms", \
                 (cpu_s), (int)(hold_ms))

#endif
