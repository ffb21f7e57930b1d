/* Criterion suite for weft_latch: the semantics and the errors of every call
 * (many counters and waiters at once are in stress_latch.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <weft/sync.h>

#define MS 1000000ull

Test(latch, init_errors)
{
    weft_latch l;
    cr_assert_eq(weft_latch_init(NULL, 1), -EINVAL);
    cr_assert_eq(weft_latch_init(&l, WEFT_LATCH_MAX + 1), -EINVAL);
    cr_assert_eq(weft_latch_init(&l, UINT32_MAX), -EINVAL);
    cr_assert_eq(weft_latch_init(&l, WEFT_LATCH_MAX), 0);
    cr_assert_eq(weft_latch_try_wait(&l), -EAGAIN);
    cr_assert_eq(weft_latch_count_down(&l, WEFT_LATCH_MAX), 0);
    cr_assert_eq(weft_latch_try_wait(&l), 0);
}

Test(latch, null_is_einval)
{
    cr_assert_eq(weft_latch_count_down(NULL, 1), -EINVAL);
    cr_assert_eq(weft_latch_wait(NULL), -EINVAL);
    cr_assert_eq(weft_latch_try_wait(NULL), -EINVAL);
    cr_assert_eq(weft_latch_wait_timeout(NULL, MS), -EINVAL);
}

Test(latch, zero_is_open_at_once)
{
    weft_latch l = WEFT_LATCH_INIT(0);
    cr_assert_eq(weft_latch_try_wait(&l), 0);
    cr_assert_eq(weft_latch_wait(&l), 0);
    cr_assert_eq(weft_latch_wait_timeout(&l, 0), 0);
    cr_assert_eq(weft_latch_count_down(&l, 0), 0);
    cr_assert_eq(weft_latch_count_down(&l, 1), -EINVAL);
    cr_assert_eq(weft_latch_init(&l, 0), 0);
    cr_assert_eq(weft_latch_try_wait(&l), 0);
}

Test(latch, count_down_too_far_subtracts_nothing)
{
    weft_latch l;
    cr_assert_eq(weft_latch_init(&l, 3), 0);
    cr_assert_eq(weft_latch_count_down(&l, 4), -EINVAL);
    cr_assert_eq(weft_latch_count_down(&l, 2), 0);
    cr_assert_eq(weft_latch_try_wait(&l), -EAGAIN);
    cr_assert_eq(weft_latch_count_down(&l, 2), -EINVAL);
    cr_assert_eq(weft_latch_count_down(&l, 0), 0);
    cr_assert_eq(weft_latch_try_wait(&l), -EAGAIN);
    cr_assert_eq(weft_latch_count_down(&l, 1), 0);
    cr_assert_eq(weft_latch_try_wait(&l), 0);
    cr_assert_eq(weft_latch_wait(&l), 0);
}

Test(latch, wait_timeout_expires)
{
    weft_latch l = WEFT_LATCH_INIT(1);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_latch_wait_timeout(&l, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    cr_assert_eq(weft_latch_wait_timeout(&l, 0), -ETIMEDOUT);
    cr_assert_eq(weft_latch_try_wait(&l), -EAGAIN);
    /* A timed-out sleeper leaves the latch fully usable. */
    cr_assert_eq(weft_latch_count_down(&l, 2), -EINVAL);
    cr_assert_eq(weft_latch_count_down(&l, 1), 0);
    cr_assert_eq(weft_latch_wait_timeout(&l, 20 * MS), 0);
}

struct latch_waiter {
    weft_latch *l;
    int timed;
    int rc;
    const int *data;
    int seen;
};

static void *latch_waiter_thread(void *p)
{
    struct latch_waiter *w = p;
    w->rc = w->timed ? weft_latch_wait_timeout(w->l, 60000 * MS) : weft_latch_wait(w->l);
    w->seen = *w->data;
    return NULL;
}

Test(latch, count_down_wakes_sleeping_waiters)
{
    weft_latch l = WEFT_LATCH_INIT(2);
    int data = 0;
    struct latch_waiter w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct latch_waiter){&l, i % 2, -1, &data, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, latch_waiter_thread, &w[i]), 0);
    }
    /* Give the waiters time to get past their spin and sleep (not required for
     * correctness: only makes the sleeping path likely). */
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(weft_latch_count_down(&l, 1), 0);
    cr_assert_eq(weft_latch_count_down(&l, 2), -EINVAL, "the sleeper bit is not part of the count");
    data = 7;
    cr_assert_eq(weft_latch_count_down(&l, 1), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(w[i].rc, 0);
        cr_assert_eq(w[i].seen, 7, "writes before count_down are visible to waiters");
    }
    cr_assert_eq(weft_latch_try_wait(&l), 0);
}
