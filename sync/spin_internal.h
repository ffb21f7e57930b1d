/* spin_internal.h: the bounded "rare-look" spin a futex lock does before it sleeps
 * (weft_mutex, weft_rwlock). Internal to sync/.
 *
 * A waiter looks at the lock word after one pause, then only once every
 * WEFT_SPIN_PAUSES pauses (~0.6 us on Zen 3, where a pause takes ~29 ns), at most
 * WEFT_SPIN_LOOKS looks per budget (~14 us, under the 25-35 us one futex sleep + wake
 * costs on the 2-vCPU VM), and never past its deadline; then the caller sleeps.
 * Invariants:
 *  - the spin is bounded whether or not the holder runs: a budget of looks is spent
 *    at most once per sleep (the caller refills it after each wake-up; a race lost on
 *    a free word goes on spinning within the same budget);
 *  - plain relaxed loads only, and rare ones: between two looks the running holder
 *    keeps the word's cache line (and its data's) to itself, so it may run several
 *    sections before the lock moves to another CPU; the early first look still hands
 *    over at once when the holder was just leaving.
 * Why this shape, and what was measured and tried: sync/mutex.c's file comment. */
#ifndef WEFT_SYNC_SPIN_INTERNAL_H
#define WEFT_SYNC_SPIN_INTERNAL_H

#include <stdbool.h>
#include <weft/sync.h>

#define WEFT_SPIN_PAUSES 20 /* pauses between two looks at the word (~0.6 us on Zen 3) */
#define WEFT_SPIN_LOOKS 24  /* looks before sleeping: ~14 us, under one sleep + wake */

/* Wait while busy(word) holds: look at *word after one pause when *looks is a full
 * budget (WEFT_SPIN_LOOKS), else after WEFT_SPIN_PAUSES pauses, then once every
 * WEFT_SPIN_PAUSES pauses; each look counts *looks down. Returns the last value seen:
 * not busy, or still busy when the looks or the time ran out (*looks is then 0).
 * Relaxed loads: the caller's acquiring RMW on the value seen orders what matters.
 * Static inline so that busy, a constant at every call, inlines. */
static inline uint32_t weft_spin_while(_Atomic uint32_t *word, bool (*busy)(uint32_t),
                                       int *looks, uint64_t deadline)
{
    for (;;) {
        int pauses = *looks == WEFT_SPIN_LOOKS ? 1 : WEFT_SPIN_PAUSES;
        for (int p = 0; p < pauses; p++)
            weft_cpu_relax();
        uint32_t s = atomic_load_explicit(word, memory_order_relaxed);
        if (--*looks <= 0 || !busy(s))
            return s;
        if (weft_deadline_passed(deadline)) {
            *looks = 0;
            return s;
        }
    }
}

#endif
