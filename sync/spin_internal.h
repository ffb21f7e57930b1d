/* spin_internal.h: the bounded "rare-look" spin a futex lock does before it sleeps
 * (weft_mutex, weft_rwlock). Internal to sync/.
 *
 * A waiter looks at the lock word after one pause, then only once every
 * WEFT_SPIN_PAUSES pauses, at most WEFT_SPIN_LOOKS looks per budget, and never past
 * its deadline; then the caller sleeps. This pair is "the spin budget" the rest of
 * weft refers to: WEFT_SPIN_LOOKS x WEFT_SPIN_PAUSES pauses (some microseconds),
 * sized to cost less than one futex sleep + wake, so that spinning first is never
 * much dearer than sleeping at once, and each look far enough from the last that
 * the running holder keeps its cache lines in between (durations measured:
 * docs/perf-log.md, "mutex spin design measurements").
 * Invariants:
 *  - the spin is bounded whether or not the holder runs: a budget of looks is spent
 *    at most once per sleep (the caller refills it after each wake-up; a race lost on
 *    a free word goes on spinning within the same budget);
 *  - plain relaxed loads only, and rare ones: between two looks the running holder
 *    keeps the word's cache line (and its data's) to itself, so it may run several
 *    sections before the lock moves to another CPU; the early first look still hands
 *    over at once when the holder was just leaving.
 * Why this shape: sync/mutex.c's file comment. */
#ifndef WEFT_SYNC_SPIN_INTERNAL_H
#define WEFT_SYNC_SPIN_INTERNAL_H

#include <stdbool.h>
#include <weft/sync.h>

#define WEFT_SPIN_PAUSES 20 /* pauses between two looks: the holder keeps its lines meanwhile */
#define WEFT_SPIN_LOOKS 24  /* looks per budget: the whole spin costs less than a sleep + wake */

/* Wait while busy(word) holds: look at *word after one pause when *looks is a full
 * budget (WEFT_SPIN_LOOKS), else after WEFT_SPIN_PAUSES pauses, then once every
 * WEFT_SPIN_PAUSES pauses; each look counts *looks down. Returns the last value seen:
 * not busy, or still busy when the looks or the time ran out (*looks is then 0).
 * Relaxed loads: the caller's acquiring RMW on the value seen orders what matters.
 * Static inline so that busy, a constant at every call, inlines. */
static inline uint32_t weft__spin_while(_Atomic uint32_t *word, bool (*busy)(uint32_t),
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
