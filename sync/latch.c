/* latch.c: a one-shot count-down latch on one futex word (C++ std::latch).
 *
 * state = remaining count (low 31 bits) | SLEEPER (bit 31: someone may sleep on it).
 *
 * Invariants:
 *  - The count only decreases, never below zero (a count_down larger than what
 *    remains is refused whole); once zero it stays zero.
 *  - SLEEPER is set (CAS) only while the count is non-zero, and never cleared: the
 *    count_down that reaches zero sees it in the value it replaced and wakes all.
 *    A waiter sleeps only on a value with SLEEPER set and a non-zero count, so it is
 *    either woken by that count_down or sees the word changed: no lost wake-up.
 *  - Every count_down is a release RMW and every successful wait an acquire load of a
 *    zero count, so a waiter sees everything written before every count_down. */
#include "layout_internal.h"

#define SLEEPER 0x80000000u
#define COUNT_MASK WEFT_LATCH_MAX

int weft_latch_init(weft_latch *latch, uint32_t count)
{
    latch_impl *l = latch_of(latch);
    if (!l || count > WEFT_LATCH_MAX)
        return -EINVAL;
    atomic_store_explicit(&l->state, count, memory_order_relaxed);
    return 0;
}

int weft_latch_count_down(weft_latch *latch, uint32_t n)
{
    latch_impl *l = latch_of(latch);
    if (!l)
        return -EINVAL;
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    for (;;) {
        uint32_t c = s & COUNT_MASK;
        if (n > c)
            return -EINVAL;
        if (n == 0)
            return 0;
        /* Release: pairs with the waiters' acquire loads (latch_wait, try_wait). All
         * count_downs are RMWs on one word, so the one that reaches zero continues the
         * release sequence of every earlier one: a waiter that reads zero
         * synchronises with all of them. */
        if (atomic_compare_exchange_weak_explicit(&l->state, &s, s - n, memory_order_release,
                                                  memory_order_relaxed)) {
            /* The latch may be freed by a waiter from here on: a wake on a freed
             * private futex word is harmless (the kernel only hashes the address). */
            if (c == n && (s & SLEEPER))
                weft_futex_wake(&l->state, WEFT_FUTEX_WAKE_ALL);
            return 0;
        }
    }
}

int weft_latch_try_wait(weft_latch *latch)
{
    latch_impl *l = latch_of(latch);
    if (!l)
        return -EINVAL;
    /* Acquire: pairs with the release count_downs. */
    return (atomic_load_explicit(&l->state, memory_order_acquire) & COUNT_MASK) ? -EAGAIN : 0;
}

static bool latch_open(uint32_t s, const void *arg)
{
    (void)arg;
    return (s & COUNT_MASK) == 0;
}

static int latch_wait(latch_impl *l, uint64_t deadline)
{
    if (!l)
        return -EINVAL;
    /* Acquire (inside): pairs with the release count_downs. */
    return weft__futex_wait_until(&l->state, SLEEPER, latch_open, NULL, deadline);
}

int weft_latch_wait(weft_latch *latch)
{
    latch_impl *l = latch_of(latch);
    return latch_wait(l, WEFT_NO_DEADLINE);
}

int weft_latch_wait_timeout(weft_latch *latch, uint64_t timeout_ns)
{
    latch_impl *l = latch_of(latch);
    return latch_wait(l, weft_deadline_after(timeout_ns));
}
