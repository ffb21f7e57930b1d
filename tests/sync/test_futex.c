/* Criterion suite for weft_futex_wait / weft_futex_wake: argument errors, the
 * "value differs" and deadline paths, and a real wake-up. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <weft/sync.h>

#define MS 1000000ull

Test(futex, rejects_bad_arguments)
{
    _Atomic uint32_t w = 0;
    cr_assert_eq(weft_futex_wait(NULL, 0, WEFT_NO_DEADLINE), -EINVAL);
    cr_assert_eq(weft_futex_wake(NULL, 1), -EINVAL);
    cr_assert_eq(weft_futex_wake(&w, 0), -EINVAL);
    cr_assert_eq(weft_futex_wake(&w, -3), -EINVAL);
}

Test(futex, returns_at_once_when_value_differs)
{
    _Atomic uint32_t w = 5;
    cr_assert_eq(weft_futex_wait(&w, 4, WEFT_NO_DEADLINE), 0);
}

Test(futex, times_out_at_an_absolute_deadline)
{
    _Atomic uint32_t w = 0;
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_futex_wait(&w, 0, t0 + 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    /* A deadline already in the past. */
    cr_assert_eq(weft_futex_wait(&w, 0, 1), -ETIMEDOUT);
}

Test(futex, wake_without_waiters_wakes_nobody)
{
    _Atomic uint32_t w = 0;
    cr_assert_eq(weft_futex_wake(&w, 1), 0);
    cr_assert_eq(weft_futex_wake(&w, WEFT_FUTEX_WAKE_ALL), 0);
}

static void *futex_waiter(void *arg)
{
    _Atomic uint32_t *w = arg;
    /* Acquire: pairs with the release store of 1 in the test. */
    while (atomic_load_explicit(w, memory_order_acquire) == 0)
        weft_futex_wait(w, 0, WEFT_NO_DEADLINE);
    return NULL;
}

Test(futex, wake_releases_a_sleeper)
{
    _Atomic uint32_t w = 0;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, futex_waiter, &w), 0);
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    /* Release: pairs with the waiter's acquire load. */
    atomic_store_explicit(&w, 1, memory_order_release);
    cr_assert_geq(weft_futex_wake(&w, WEFT_FUTEX_WAKE_ALL), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
}

/* Errors the kernel reports come back as they are ("any other error is the
 * kernel's"): -EFAULT for a word that is not mapped memory, -EINVAL for a misaligned
 * one (futex words are 4-byte aligned). weft never dereferences the word itself. */
Test(futex, kernel_errors_come_back_negated)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    cr_assert_eq(munmap(p, (size_t)page), 0);
    cr_assert_eq(weft_futex_wait((_Atomic uint32_t *)p, 0, WEFT_NO_DEADLINE), -EFAULT);
    uint32_t words[2] = {0, 0};
    _Atomic uint32_t *odd = (_Atomic uint32_t *)(void *)((char *)words + 1);
    cr_assert_eq(weft_futex_wait(odd, 0, WEFT_NO_DEADLINE), -EINVAL);
    cr_assert_eq(weft_futex_wake(odd, 1), -EINVAL);
}
