/* once.c: the slow path of weft_once_call (the DONE fast path is inline in sync.h).
 *
 * state: 0 INCOMPLETE -> 1 RUNNING -> (2 RUNNING_WITH_WAITERS) -> 3 DONE.
 *
 * Invariants:
 *  - Exactly one caller wins the CAS INCOMPLETE -> RUNNING and runs fn; the state
 *    never goes back, so fn runs at most once per weft_once.
 *  - DONE is stored (release) only after fn has returned; every caller returns only
 *    after it has read DONE (acquire), so it sees fn's writes.
 *  - A caller sleeps only after making the state RUNNING_WITH_WAITERS, and the runner
 *    wakes everyone iff it swapped DONE in over RUNNING_WITH_WAITERS: no lost wake-up. */
#include <weft/sync.h>

enum {
    ONCE_INCOMPLETE = 0,
    ONCE_RUNNING = 1,
    ONCE_RUNNING_WITH_WAITERS = 2,
    ONCE_DONE = WEFT_ONCE_DONE_,
};

int weft_once_call_slow_(weft_once *o, void (*fn)(void *arg), void *arg)
{
    if (!o || !fn)
        return -EINVAL;
    weft_backoff bo = WEFT_BACKOFF_INIT;
    /* Acquire (here and on every reload below): pairs with the release exchange that
     * stores DONE, so a caller that sees DONE sees fn's writes. */
    uint32_t s = atomic_load_explicit(&o->state_, memory_order_acquire);
    for (;;) {
        switch (s) {
        case ONCE_DONE:
            return 0;
        case ONCE_INCOMPLETE:
            /* Acquire on failure: we may read DONE (pairs with the release exchange
             * below). C11 then wants at least acquire on success too; winning itself
             * needs no ordering. */
            if (!atomic_compare_exchange_strong_explicit(&o->state_, &s, ONCE_RUNNING,
                                                         memory_order_acquire,
                                                         memory_order_acquire))
                continue;
            fn(arg);
            /* Release: pairs with the acquire loads of every other caller (here and
             * in the inline weft_once_call), publishing fn's writes. */
            if (atomic_exchange_explicit(&o->state_, ONCE_DONE, memory_order_release) ==
                ONCE_RUNNING_WITH_WAITERS)
                weft_futex_wake(&o->state_, WEFT_FUTEX_WAKE_ALL);
            return 0;
        case ONCE_RUNNING:
            /* A short fn is over before a sleep would even start: spin a little. */
            if (!weft_backoff_is_completed(&bo)) {
                weft_backoff_snooze(&bo);
                s = atomic_load_explicit(&o->state_, memory_order_acquire);
                continue;
            }
            /* Announce a sleeper. Acquire on failure: we may read DONE (as above). */
            if (!atomic_compare_exchange_strong_explicit(&o->state_, &s,
                                                         ONCE_RUNNING_WITH_WAITERS,
                                                         memory_order_acquire,
                                                         memory_order_acquire))
                continue;
            s = ONCE_RUNNING_WITH_WAITERS;
            /* fall through */
        case ONCE_RUNNING_WITH_WAITERS:
            weft_futex_wait(&o->state_, ONCE_RUNNING_WITH_WAITERS, WEFT_NO_DEADLINE);
            s = atomic_load_explicit(&o->state_, memory_order_acquire);
            break;
        default:
            return -EINVAL; /* not a weft_once (never initialised, or overwritten) */
        }
    }
}
