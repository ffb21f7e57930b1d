/* backoff.c: the out-of-line part of weft_backoff (the part that may yield the CPU).
 * Invariant: step only grows until weft_backoff_reset; past WEFT_BACKOFF_YIELD_LIMIT
 * the caller should block instead of spinning. */
#include <weft/sync.h>
#include <sched.h>

void weft_backoff_snooze(weft_backoff *b)
{
    if (b->step <= WEFT_BACKOFF_SPIN_LIMIT) {
        for (uint32_t i = 0; i < (1u << b->step); i++)
            weft_cpu_relax();
    } else {
        sched_yield();
    }
    if (b->step <= WEFT_BACKOFF_YIELD_LIMIT)
        b->step++;
}
