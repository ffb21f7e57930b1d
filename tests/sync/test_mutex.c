/* Criterion suite for weft_mutex: every call's result and error, the static
 * initialiser, timeouts, contended hand-over, and (debug builds, NDEBUG undefined,
 * same as the library) the owner checks. */
#include <criterion/criterion.h>
#include "lock_waiter.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <weft/sync.h>

#define MS 1000000ull

static void mutex_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

/* Run fn(arg) on another thread and return its int result. */
typedef struct {
    int (*fn)(weft_mutex *);
    weft_mutex *m;
    int result;
    uint64_t elapsed_ns;
} mutex_call;
static void *mutex_call_thread(void *p)
{
    mutex_call *c = p;
    uint64_t t0 = weft_time_now_ns();
    c->result = c->fn(c->m);
    c->elapsed_ns = weft_time_now_ns() - t0;
    return NULL;
}
static mutex_call mutex_run_on_other_thread(int (*fn)(weft_mutex *), weft_mutex *m)
{
    mutex_call c = {fn, m, 12345, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, mutex_call_thread, &c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    return c;
}
static int mutex_on_other_thread(int (*fn)(weft_mutex *), weft_mutex *m)
{
    return mutex_run_on_other_thread(fn, m).result;
}
static int mutex_timeout_30ms(weft_mutex *m) { return weft_mutex_lock_timeout(m, 30 * MS); }
static int mutex_timeout_0(weft_mutex *m) { return weft_mutex_lock_timeout(m, 0); }

Test(mutex, rejects_null)
{
    cr_assert_eq(weft_mutex_init(NULL), -EINVAL);
    cr_assert_eq(weft_mutex_destroy(NULL), -EINVAL);
    cr_assert_eq(weft_mutex_lock(NULL), -EINVAL);
    cr_assert_eq(weft_mutex_try_lock(NULL), -EINVAL);
    cr_assert_eq(weft_mutex_lock_timeout(NULL, MS), -EINVAL);
    cr_assert_eq(weft_mutex_unlock(NULL), -EINVAL);
}

Test(mutex, static_initialiser_and_init_give_an_unlocked_mutex)
{
    weft_mutex a = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&a), 0);
    cr_assert_eq(weft_mutex_unlock(&a), 0);
    cr_assert_eq(weft_mutex_destroy(&a), 0);

    weft_mutex b;
    memset(&b, 0xab, sizeof b);
    cr_assert_eq(weft_mutex_init(&b), 0);
    cr_assert_eq(weft_mutex_try_lock(&b), 0);
    cr_assert_eq(weft_mutex_unlock(&b), 0);
    cr_assert_eq(weft_mutex_destroy(&b), 0);
    cr_assert_eq(sizeof(weft_mutex), 8);
}

Test(mutex, try_lock_is_busy_while_held_by_anyone)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_try_lock(&m), 0);
    cr_assert_eq(weft_mutex_try_lock(&m), -EBUSY); /* the caller itself */
    cr_assert_eq(mutex_on_other_thread(weft_mutex_try_lock, &m), -EBUSY);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_eq(weft_mutex_try_lock(&m), 0);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
}

Test(mutex, destroy_of_a_held_mutex_is_busy)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    cr_assert_eq(weft_mutex_destroy(&m), -EBUSY);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_eq(weft_mutex_destroy(&m), 0);
}

Test(mutex, lock_timeout_times_out_after_at_least_the_timeout)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    mutex_call c = mutex_run_on_other_thread(mutex_timeout_30ms, &m);
    cr_assert_eq(c.result, -ETIMEDOUT);
    cr_assert_geq(c.elapsed_ns, 30 * MS);
    /* The timed-out waiter left no trace that breaks the mutex. */
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_eq(weft_mutex_destroy(&m), 0);
}

Test(mutex, lock_timeout_zero_times_out_when_held_and_locks_when_free)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    cr_assert_eq(mutex_on_other_thread(mutex_timeout_0, &m), -ETIMEDOUT);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_eq(weft_mutex_lock_timeout(&m, 0), 0);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
}

/* A holder that releases after a delay: the waiter must get the lock. */
typedef struct {
    weft_mutex *m;
    _Atomic int locked;
    long hold_ms;
} mutex_holder;
static void *mutex_hold_then_release(void *p)
{
    mutex_holder *h = p;
    cr_assert_eq(weft_mutex_lock(h->m), 0);
    /* Release: pairs with the acquire load in the test. */
    atomic_store_explicit(&h->locked, 1, memory_order_release);
    mutex_sleep_ms(h->hold_ms);
    cr_assert_eq(weft_mutex_unlock(h->m), 0);
    return NULL;
}

Test(mutex, blocked_lock_and_lock_timeout_get_the_mutex_when_released)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    for (int timed = 0; timed < 2; timed++) {
        mutex_holder h = {&m, 0, 30};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, mutex_hold_then_release, &h), 0);
        /* Acquire: pairs with the holder's release store. */
        while (!atomic_load_explicit(&h.locked, memory_order_acquire))
            mutex_sleep_ms(1);
        cr_assert_eq(weft_mutex_try_lock(&m), -EBUSY);
        int r = timed ? weft_mutex_lock_timeout(&m, 10000 * MS) : weft_mutex_lock(&m);
        cr_assert_eq(r, 0);
        cr_assert_eq(weft_mutex_unlock(&m), 0);
        cr_assert_eq(pthread_join(t, NULL), 0);
        cr_assert_eq(weft_mutex_destroy(&m), 0);
    }
}

/* A waiter's spin is bounded: while the holder keeps the mutex for a long time,
 * waiters (more of them than the machine has CPUs) sleep instead of burning CPU. */
static int mutex_waiter_lock(lock_waiter *w)
{
    return w->timed ? weft_mutex_lock_timeout(w->lock_obj, 60000 * MS) : weft_mutex_lock(w->lock_obj);
}
static int mutex_waiter_unlock(lock_waiter *w)
{
    ++*(int *)w->ctx; /* guarded by the mutex */
    return weft_mutex_unlock(w->lock_obj);
}

Test(mutex, waiters_of_a_long_held_mutex_sleep_instead_of_spinning)
{
    enum { WAITERS = 4, HOLD_MS = 500 };
    weft_mutex m = WEFT_MUTEX_INIT;
    _Atomic int started = 0;
    int inside = 0;
    lock_waiter w[WAITERS];
    pthread_t t[WAITERS];
    cr_assert_eq(weft_mutex_lock(&m), 0);
    lock_waiters_start(w, t, WAITERS,
                       (lock_waiter){.lock = mutex_waiter_lock, .unlock = mutex_waiter_unlock,
                                     .lock_obj = &m, .ctx = &inside},
                       &started);
    mutex_sleep_ms(HOLD_MS);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    double cpu_s = lock_waiters_join(w, t, WAITERS);
    cr_assert_eq(inside, WAITERS);
    LOCK_WAITERS_SLEPT(cpu_s, HOLD_MS);
    cr_assert_eq(weft_mutex_destroy(&m), 0);
}

#ifndef NDEBUG
Test(mutex, debug_relock_by_owner_is_edeadlk)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    cr_assert_eq(weft_mutex_lock(&m), -EDEADLK);
    cr_assert_eq(weft_mutex_lock_timeout(&m, MS), -EDEADLK);
    cr_assert_eq(weft_mutex_try_lock(&m), -EBUSY);
    cr_assert_eq(weft_mutex_unlock(&m), 0);
}

Test(mutex, debug_unlock_by_non_owner_is_eperm)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_unlock(&m), -EPERM); /* not held at all */
    cr_assert_eq(weft_mutex_lock(&m), 0);
    cr_assert_eq(mutex_on_other_thread(weft_mutex_unlock, &m), -EPERM);
    cr_assert_eq(weft_mutex_destroy(&m), -EBUSY); /* still held: the failed unlock did nothing */
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_eq(weft_mutex_unlock(&m), -EPERM); /* twice */
}
#endif
