/* barrier.c: a reusable N-thread barrier on one futex word.
 *
 * state = generation (high 8 bits) | arrivals in the current round (low 24 bits);
 * b->count = N, fixed between init and destroy.
 *
 * Invariants:
 *  - arrivals < N whenever a thread can observe it, except in the short window where
 *    the completing arrival has made it N and not yet published the next generation;
 *    nobody arrives for the next round in that window (nobody has left this one).
 *  - The completing arrival (the leader) is the only writer of the generation: it
 *    stores (gen + 1) << 24, which also resets the arrivals to 0.
 *  - A waiter leaves only once the generation differs from the one it arrived in.
 *    The generation can advance at most once while a thread waits (the next round
 *    cannot complete without that thread), so 8 bits never alias.
 *  - A timed-out waiter withdraws its arrival (CAS, arrivals - 1) only while the
 *    generation is unchanged and the round is not complete; otherwise the round has
 *    completed with it and it returns 0 like any other waiter. */
#include "layout_internal.h"

#define GEN_SHIFT 24
#define ARRIVED_MASK ((1u << GEN_SHIFT) - 1)

static inline uint32_t gen_of(uint32_t s) { return s >> GEN_SHIFT; }
static inline uint32_t arrived_of(uint32_t s) { return s & ARRIVED_MASK; }

int weft_barrier_init(weft_barrier *barrier, uint32_t count)
{
    barrier_impl *b = barrier_of(barrier);
    if (!b || count == 0 || count > WEFT_BARRIER_MAX)
        return -EINVAL;
    atomic_store_explicit(&b->state, 0, memory_order_relaxed);
    b->count = count;
    return 0;
}

int weft_barrier_destroy(weft_barrier *barrier)
{
    barrier_impl *b = barrier_of(barrier);
    if (!b)
        return -EINVAL;
    if (arrived_of(atomic_load_explicit(&b->state, memory_order_relaxed)) != 0)
        return -EBUSY;
    return 0;
}

/* The last arrival of round `gen`: publish the next generation and wake everyone. */
static int complete_round(barrier_impl *b, uint32_t gen, uint32_t count)
{
    /* Release: pairs with the acquire loads of the waiters (wait_round). Our acq_rel
     * fetch_add already acquired every earlier arrival's writes (their fetch_adds
     * form one release sequence), so waiters see every arrival's writes. */
    atomic_store_explicit(&b->state, ((gen + 1) & 0xffu) << GEN_SHIFT, memory_order_release);
    /* From here on a woken (or spinning) waiter may return and free the barrier: do
     * not read *b again. Waking a private futex word that was freed is harmless (the
     * kernel only hashes the address; at worst a spurious wake-up elsewhere). */
    if (count > 1)
        weft_futex_wake(&b->state, WEFT_FUTEX_WAKE_ALL);
    return WEFT_BARRIER_LEADER;
}

static bool round_over(uint32_t s, const void *gen)
{
    return gen_of(s) != *(const uint32_t *)gen;
}

/* Wait until the generation moves on from `gen`, or the deadline passes. The word
 * also changes as others arrive: a sleep then ends at once and the wait looks again
 * (no sleeper bits: the leader always wakes all). Acquire (inside the wait): pairs
 * with the leader's release store in complete_round. */
static int wait_round(barrier_impl *b, uint32_t gen, uint64_t deadline)
{
    return weft__futex_wait_until(&b->state, 0, round_over, &gen, deadline);
}

/* Our deadline passed in round `gen`: take our arrival back, unless the round has
 * completed (or is completing) with it. */
static int withdraw(barrier_impl *b, uint32_t gen, uint32_t count)
{
    /* Acquire: if we see the round complete, we return 0 as a passer and must see
     * every arrival's writes (pairs with their release fetch_adds / the leader's
     * release store). */
    uint32_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    for (;;) {
        if (gen_of(s) != gen)
            return 0;
        if (arrived_of(s) == count) {
            /* Complete, but the leader has not published the next generation yet.
             * We must not leave before it has (a re-arrival would be overwritten by
             * its store): wait, without deadline, for a few instructions' worth. */
            wait_round(b, gen, WEFT_NO_DEADLINE);
            return 0;
        }
        /* Acquire on failure: as the load above (C11 then wants at least acquire on
         * success too; withdrawing itself needs no ordering). */
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, s - 1, memory_order_acquire,
                                                  memory_order_acquire))
            return -ETIMEDOUT;
    }
}

static int barrier_wait(barrier_impl *b, uint64_t deadline)
{
    if (!b)
        return -EINVAL;
    uint32_t count = b->count;
    if (count == 0 || count > WEFT_BARRIER_MAX)
        return -EINVAL;
    /* acq_rel: release publishes our writes before the barrier to the leader (and,
     * through it, to everyone); acquire lets the leader see all earlier arrivals'. */
    uint32_t old = atomic_fetch_add_explicit(&b->state, 1, memory_order_acq_rel);
    uint32_t gen = gen_of(old);
    if (arrived_of(old) + 1 == count)
        return complete_round(b, gen, count);
    int r = wait_round(b, gen, deadline);
    if (r == -ETIMEDOUT)
        return withdraw(b, gen, count);
    return r;
}

int weft_barrier_wait(weft_barrier *barrier)
{
    barrier_impl *b = barrier_of(barrier);
    return barrier_wait(b, WEFT_NO_DEADLINE);
}

int weft_barrier_wait_timeout(weft_barrier *barrier, uint64_t timeout_ns)
{
    barrier_impl *b = barrier_of(barrier);
    return barrier_wait(b, weft_deadline_after(timeout_ns));
}
