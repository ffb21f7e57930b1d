/* Criterion suite for weft_condvar: argument errors, the static initialiser,
 * timeouts (result, at least the timeout elapsed, mutex held again), notify_one /
 * notify_all waking waiters, and (debug builds) waiting without the mutex. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <weft/sync.h>

#define MS 1000000ull

static void cv_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

/* Is m held (by anyone)? Asked from another thread, so the caller's own try_lock
 * semantics do not matter. */
static void *cv_try_lock_thread(void *p)
{
    weft_mutex *m = p;
    int r = weft_mutex_try_lock(m);
    if (r == 0)
        weft_mutex_unlock(m);
    return (void *)(intptr_t)r;
}
static bool cv_mutex_is_held(weft_mutex *m)
{
    pthread_t t;
    void *r;
    cr_assert_eq(pthread_create(&t, NULL, cv_try_lock_thread, m), 0);
    cr_assert_eq(pthread_join(t, &r), 0);
    return (intptr_t)r == -EBUSY;
}

Test(condvar, rejects_null)
{
    weft_condvar cv = WEFT_CONDVAR_INIT;
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_condvar_init(NULL), -EINVAL);
    cr_assert_eq(weft_condvar_destroy(NULL), -EINVAL);
    cr_assert_eq(weft_condvar_wait(NULL, &m), -EINVAL);
    cr_assert_eq(weft_condvar_wait(&cv, NULL), -EINVAL);
    cr_assert_eq(weft_condvar_wait_timeout(NULL, &m, MS), -EINVAL);
    cr_assert_eq(weft_condvar_wait_timeout(&cv, NULL, MS), -EINVAL);
    cr_assert_eq(weft_condvar_wait_until(NULL, &m, 0), -EINVAL);
    cr_assert_eq(weft_condvar_wait_until(&cv, NULL, 0), -EINVAL);
    cr_assert_eq(weft_condvar_notify_one(NULL), -EINVAL);
    cr_assert_eq(weft_condvar_notify_all(NULL), -EINVAL);
}

Test(condvar, init_destroy_and_notify_without_waiters)
{
    weft_condvar a = WEFT_CONDVAR_INIT, b;
    cr_assert_eq(weft_condvar_init(&b), 0);
    cr_assert_eq(weft_condvar_notify_one(&a), 0);
    cr_assert_eq(weft_condvar_notify_all(&a), 0);
    cr_assert_eq(weft_condvar_notify_one(&b), 0);
    cr_assert_eq(weft_condvar_destroy(&a), 0);
    cr_assert_eq(weft_condvar_destroy(&b), 0);
    cr_assert_eq(sizeof(weft_condvar), 4);
}

Test(condvar, wait_timeout_times_out_and_keeps_the_mutex_held)
{
    weft_condvar cv = WEFT_CONDVAR_INIT;
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_condvar_wait_timeout(&cv, &m, 30 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 30 * MS);
    cr_assert(cv_mutex_is_held(&m), "the mutex must be held again after a timeout");
    cr_assert_eq(weft_mutex_unlock(&m), 0);
    cr_assert_not(cv_mutex_is_held(&m));
}

Test(condvar, wait_until_a_past_deadline_times_out_held)
{
    weft_condvar cv = WEFT_CONDVAR_INIT;
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_mutex_lock(&m), 0);
    cr_assert_eq(weft_condvar_wait_until(&cv, &m, weft_time_now_ns()), -ETIMEDOUT);
    cr_assert_eq(weft_condvar_wait_until(&cv, &m, 0), -ETIMEDOUT);
    cr_assert_eq(weft_condvar_wait_timeout(&cv, &m, 0), -ETIMEDOUT);
    cr_assert(cv_mutex_is_held(&m));
    uint64_t deadline = weft_deadline_after(20 * MS);
    cr_assert_eq(weft_condvar_wait_until(&cv, &m, deadline), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns(), deadline);
    cr_assert(cv_mutex_is_held(&m));
    cr_assert_eq(weft_mutex_unlock(&m), 0);
}

/* A shared "ready" flag guarded by the mutex; waiters count themselves in and out. */
typedef struct {
    weft_condvar cv;
    weft_mutex m;
    int ready;   /* guarded by m */
    int waiting; /* guarded by m: waiters inside their wait loop */
    int woken;   /* guarded by m: waiters that saw ready */
    int timed;   /* use wait_timeout (long) instead of wait */
} cv_gate;

static void *cv_gate_waiter(void *p)
{
    cv_gate *g = p;
    cr_assert_eq(weft_mutex_lock(&g->m), 0);
    g->waiting++;
    while (!g->ready) {
        int r = g->timed ? weft_condvar_wait_timeout(&g->cv, &g->m, 10000 * MS)
                         : weft_condvar_wait(&g->cv, &g->m);
        cr_assert_eq(r, 0);
    }
    g->woken++;
    cr_assert_eq(weft_mutex_unlock(&g->m), 0);
    return NULL;
}

/* Start n waiters and wait until all are inside their wait loop (holding m means
 * none can miss the flag: they test it under m). */
static void cv_start(cv_gate *g, pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, cv_gate_waiter, g), 0);
    for (;;) {
        weft_mutex_lock(&g->m);
        int w = g->waiting;
        weft_mutex_unlock(&g->m);
        if (w == n)
            break;
        cv_sleep_ms(1);
    }
    cv_sleep_ms(20); /* most likely asleep in the futex now; correctness does not depend on it */
}

Test(condvar, notify_one_wakes_a_waiter)
{
    for (int timed = 0; timed < 2; timed++) {
        cv_gate g = {WEFT_CONDVAR_INIT, WEFT_MUTEX_INIT, 0, 0, 0, timed};
        pthread_t t[1];
        cv_start(&g, t, 1);
        weft_mutex_lock(&g.m);
        g.ready = 1;
        weft_mutex_unlock(&g.m);
        cr_assert_eq(weft_condvar_notify_one(&g.cv), 0);
        cr_assert_eq(pthread_join(t[0], NULL), 0);
        cr_assert_eq(g.woken, 1);
    }
}

Test(condvar, notify_one_repeated_wakes_each_waiter)
{
    enum { N = 4 };
    cv_gate g = {WEFT_CONDVAR_INIT, WEFT_MUTEX_INIT, 0, 0, 0, 0};
    pthread_t t[N];
    cv_start(&g, t, N);
    weft_mutex_lock(&g.m);
    g.ready = 1;
    weft_mutex_unlock(&g.m);
    /* One notify per waiter, each after the previous one was seen: every notify_one
     * must wake a still-sleeping waiter (or it has already left by a spurious wake). */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(weft_condvar_notify_one(&g.cv), 0);
        for (;;) {
            weft_mutex_lock(&g.m);
            int w = g.woken;
            weft_mutex_unlock(&g.m);
            if (w > i)
                break;
            cv_sleep_ms(1);
        }
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    cr_assert_eq(g.woken, N);
}

Test(condvar, notify_all_wakes_every_waiter)
{
    enum { N = 5 };
    for (int timed = 0; timed < 2; timed++) {
        cv_gate g = {WEFT_CONDVAR_INIT, WEFT_MUTEX_INIT, 0, 0, 0, timed};
        pthread_t t[N];
        cv_start(&g, t, N);
        weft_mutex_lock(&g.m);
        g.ready = 1;
        cr_assert_eq(weft_condvar_notify_all(&g.cv), 0); /* under the mutex: also allowed */
        weft_mutex_unlock(&g.m);
        for (int i = 0; i < N; i++)
            cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(g.woken, N);
    }
}

#ifndef NDEBUG
Test(condvar, debug_wait_without_the_mutex_is_eperm)
{
    weft_condvar cv = WEFT_CONDVAR_INIT;
    weft_mutex m = WEFT_MUTEX_INIT;
    cr_assert_eq(weft_condvar_wait(&cv, &m), -EPERM);
    cr_assert_eq(weft_condvar_wait_timeout(&cv, &m, MS), -EPERM);
    cr_assert_eq(weft_condvar_wait_until(&cv, &m, WEFT_NO_DEADLINE), -EPERM);
    cr_assert_not(cv_mutex_is_held(&m), "a failed wait must not lock the mutex");
}
#endif
