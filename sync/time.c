/* time.c: the monotonic clock every deadline in weft is measured on.
 * Invariant: weft_deadline_after saturates at WEFT_NO_DEADLINE, never wraps. */
#include <weft/sync.h>
#include <time.h>

uint64_t weft_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool weft_deadline_passed(uint64_t deadline_ns)
{
    return deadline_ns != WEFT_NO_DEADLINE && weft_time_now_ns() >= deadline_ns;
}

uint64_t weft_deadline_after(uint64_t timeout_ns)
{
    if (timeout_ns == WEFT_NO_DEADLINE) /* every untimed wait: no clock read */
        return WEFT_NO_DEADLINE;
    uint64_t now = weft_time_now_ns();
    return timeout_ns >= WEFT_NO_DEADLINE - now ? WEFT_NO_DEADLINE : now + timeout_ns;
}
