/* rwlock.c: weft_rwlock, a futex reader-writer lock (the design of Rust std's futex
 * RwLock: library/std/src/sys/sync/rwlock/futex.rs).
 *
 * state: bits 0..29 = 0 unlocked, 1..MAX_READERS = that many readers, MASK = write-
 *        locked; bit 30 READERS_WAITING (readers sleep on `state`); bit 31
 *        WRITERS_WAITING (writers sleep on `writer_notify`).
 * writer_notify: a counter bumped before every writer wake-up (a condvar for writers).
 *
 * Invariants:
 *  - readers do not take the lock while either waiting bit is set: once a writer
 *    waits, new readers queue behind it, so writers are not starved. Writers take the
 *    lock whenever it is unlocked, whatever the waiting bits (they keep them);
 *  - nobody sleeps unless the matching waiting bit is set in `state` and the lock was
 *    held when the bit was (re)checked; the thread that brings the lock to "unlocked"
 *    with a waiting bit set (the last reader, or the writer) calls
 *    wake_writer_or_readers, which clears the bits and wakes one writer, or, if no
 *    writer was sleeping, every reader. If the lock is re-locked meanwhile, the new
 *    holder inherits that duty;
 *  - a woken writer retries the lock before anything else; a timed waiter gives up
 *    only where it would otherwise sleep: with the lock held by someone else and its
 *    waiting bit set. That holder's unlock then wakes the next waiter, so a wake-up
 *    a timed-out writer consumed is never lost;
 *  - the reader count never exceeds MAX_READERS: one more read lock gives -EAGAIN;
 *  - a blocked caller spins at most one spin budget (sync/spin_internal.h) per sleep,
 *    whether or not the holder runs, and never past its deadline.
 *
 * Spinning (the mutex's rare-look spin, spin_internal.h): before sleeping, a reader
 * waits while the lock is write-locked and nobody sleeps, a writer while the lock is
 * held (by readers or a writer) and no writer sleeps; each looks at the word after
 * one pause, then once every WEFT_SPIN_PAUSES pauses. A race lost on a lock that
 * looked free spins on within the same budget rather than setting a waiting bit: a
 * writer that sets WRITERS_WAITING turns every new reader away until it has had its
 * turn, so sleeping early costs the readers too. Looking at every pause instead would
 * pull the word's line away from the running holder at each look (readers of a
 * read-mostly lock re-take it from their own cache otherwise) and give up sooner;
 * see sync/mutex.c for the same effect on the mutex, and docs/perf-log.md ("The
 * rwlock's spin") for what it measured.
 *
 * Ordering: acquiring CAS (acquire) pairs with the unlocking RMW (release: the
 * guessing CAS or the fetch_sub); the relaxed RMWs in between (setting or clearing
 * waiting bits) continue the release sequence, so the next holder still
 * synchronises with the previous one(s). */
#include <weft/sync.h>

#include "layout_internal.h"
#include "spin_internal.h"

#define READ_LOCKED 1u
#define MASK ((1u << 30) - 1)
#define WRITE_LOCKED MASK
#define MAX_READERS (MASK - 1)
#define READERS_WAITING (1u << 30)
#define WRITERS_WAITING (1u << 31)

static inline bool is_unlocked(uint32_t s) { return (s & MASK) == 0; }
static inline bool is_write_locked(uint32_t s) { return (s & MASK) == WRITE_LOCKED; }
static inline bool too_many_readers(uint32_t s) { return (s & MASK) == MAX_READERS; }
/* A reader may join: not write-locked, no room problem, nobody waiting. Readers
 * waiting with the lock free happens only just after an unlock, while the unlocker
 * may be waking a writer, which has priority. */
static inline bool is_read_lockable(uint32_t s)
{
    return (s & MASK) < MAX_READERS && !(s & (READERS_WAITING | WRITERS_WAITING));
}

/* What the spins (spin_internal.h: rare looks, bounded) wait through. A reader waits
 * while the lock is write-locked and nobody sleeps (the word is then exactly
 * WRITE_LOCKED): it stops when it may join, or when others already sleep. A writer
 * waits while the lock is held (by readers or a writer) and no writer sleeps: it
 * stops when the lock is free, or when other writers sleep (it queues behind them). */
static bool write_locked_without_sleepers(uint32_t s) { return s == WRITE_LOCKED; }
static bool held_without_sleeping_writers(uint32_t s)
{
    return !is_unlocked(s) && !(s & WRITERS_WAITING);
}

/* Wake one sleeping writer; true if one was blocked in the kernel (if false, a
 * writer may still have been about to sleep: it sees the new counter and retries). */
static bool wake_writer(rwlock_impl *l)
{
    /* Release: pairs with the acquire load of writer_notify in write_contended, so a
     * writer that sees the new count also sees the state change made before it. */
    atomic_fetch_add_explicit(&l->writer_notify, 1, memory_order_release);
    return weft_futex_wake(&l->writer_notify, 1) > 0;
}

/* Called by whoever made the lock unlocked while waiting bits were set. */
static void wake_writer_or_readers(rwlock_impl *l, uint32_t s)
{
    /* The bits may change under us (readers add READERS_WAITING at any time); if the
     * lock gets locked meanwhile, its new holder does this job on unlock. Relaxed
     * CASes: they order nothing themselves (the futex wakes are not memory accesses;
     * the woken thread re-reads the state and acquires with its own CAS). */
    if (s == WRITERS_WAITING) {
        if (atomic_compare_exchange_strong_explicit(&l->state, &s, 0, memory_order_relaxed,
                                                    memory_order_relaxed)) {
            wake_writer(l);
            return;
        }
        /* s reloaded: maybe readers now wait too; fall through. */
    }
    if (s == (READERS_WAITING | WRITERS_WAITING)) {
        /* Both wait: leave the readers waiting and wake one writer. */
        if (!atomic_compare_exchange_strong_explicit(&l->state, &s, READERS_WAITING,
                                                     memory_order_relaxed, memory_order_relaxed))
            return; /* locked meanwhile: no longer our job */
        if (wake_writer(l))
            return;
        /* No writer was asleep: we cannot be sure one will take the lock, so wake
         * the readers too. */
        s = READERS_WAITING;
    }
    if (s == READERS_WAITING) {
        if (atomic_compare_exchange_strong_explicit(&l->state, &s, 0, memory_order_relaxed,
                                                    memory_order_relaxed))
            weft_futex_wake(&l->state, WEFT_FUTEX_WAKE_ALL);
    }
}

int weft_rwlock_init(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    if (!l)
        return -EINVAL;
    atomic_init(&l->state, 0);
    atomic_init(&l->writer_notify, 0);
    return 0;
}

int weft_rwlock_destroy(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    if (!l)
        return -EINVAL;
    /* Any bit set means held (or waiters still on their way out of a held lock). */
    return atomic_load_explicit(&l->state, memory_order_relaxed) != 0 ? -EBUSY : 0;
}

/* ------------------------------------------------------------------------------
 * Readers */

static int read_contended(rwlock_impl *l, uint64_t deadline)
{
    bool timed_out = false;
    int looks = WEFT_SPIN_LOOKS;
    uint32_t s = weft__spin_while(&l->state, write_locked_without_sleepers, &looks, deadline);
    for (;;) {
        if (is_read_lockable(s)) {
            /* Acquire: pairs with the release RMW of the last unlock. */
            if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + READ_LOCKED,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
            continue;
        }
        if (too_many_readers(s))
            return -EAGAIN;
        /* A race lost to a writer: spin on within the same budget of looks. */
        if (looks > 0 && write_locked_without_sleepers(s)) {
            s = weft__spin_while(&l->state, write_locked_without_sleepers, &looks, deadline);
            continue;
        }
        /* Readers hold no wake-up duty (they are woken all at once): give up here. */
        if (timed_out)
            return -ETIMEDOUT;
        if (!(s & READERS_WAITING)) {
            if (!atomic_compare_exchange_strong_explicit(&l->state, &s, s | READERS_WAITING,
                                                         memory_order_relaxed, memory_order_relaxed))
                continue;
            s |= READERS_WAITING;
        }
        int r = weft_futex_wait(&l->state, s, deadline);
        if (r == -ETIMEDOUT || weft_deadline_passed(deadline))
            timed_out = true; /* one more look above: lock, or give up */
        looks = WEFT_SPIN_LOOKS;
        s = weft__spin_while(&l->state, write_locked_without_sleepers, &looks, deadline);
    }
}

static int read_impl(rwlock_impl *l, bool timed, uint64_t timeout_ns)
{
    if (!l)
        return -EINVAL;
    /* Guess the lock is free: one CAS, whose failure also loads the word. Under
     * contention that fetches the word's line once, for writing, where a load first
     * would fetch it shared and the CAS then again. Acquire (both CASes): pairs with
     * the release RMW of the last unlock. */
    uint32_t s = 0;
    if (atomic_compare_exchange_strong_explicit(&l->state, &s, READ_LOCKED, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    if (is_read_lockable(s) &&
        atomic_compare_exchange_weak_explicit(&l->state, &s, s + READ_LOCKED, memory_order_acquire,
                                              memory_order_relaxed))
        return 0;
    return read_contended(l, timed ? weft_deadline_after(timeout_ns) : WEFT_NO_DEADLINE);
}

int weft_rwlock_read_lock(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    return read_impl(l, false, 0);
}

int weft_rwlock_read_lock_timeout(weft_rwlock *lock, uint64_t timeout_ns)
{
    rwlock_impl *l = rwlock_of(lock);
    return read_impl(l, true, timeout_ns);
}

int weft_rwlock_try_read_lock(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    if (!l)
        return -EINVAL;
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    for (;;) {
        if (!is_read_lockable(s))
            return too_many_readers(s) ? -EAGAIN : -EBUSY;
        /* Acquire: pairs with the release RMW of the last unlock. */
        if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + READ_LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return 0;
    }
}

/* ------------------------------------------------------------------------------
 * Writers */

static int write_contended(rwlock_impl *l, uint64_t deadline)
{
    bool timed_out = false;
    /* Once we have slept, other writers may sleep too: keep their bit when we lock. */
    uint32_t other_writers = 0;
    int looks = WEFT_SPIN_LOOKS;
    uint32_t s = weft__spin_while(&l->state, held_without_sleeping_writers, &looks, deadline);
    for (;;) {
        if (is_unlocked(s)) {
            /* Acquire: pairs with the release RMW of the last unlock. */
            if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | WRITE_LOCKED | other_writers,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
            continue;
        }
        /* A race lost to a reader or a writer: spin on within the same budget. */
        if (looks > 0 && held_without_sleeping_writers(s)) {
            s = weft__spin_while(&l->state, held_without_sleeping_writers, &looks, deadline);
            continue;
        }
        if (!(s & WRITERS_WAITING)) {
            if (!atomic_compare_exchange_strong_explicit(&l->state, &s, s | WRITERS_WAITING,
                                                         memory_order_relaxed, memory_order_relaxed))
                continue;
        }
        other_writers = WRITERS_WAITING;
        /* Read the counter BEFORE re-checking the state, so a wake that follows the
         * check changes the counter and our futex wait returns at once. Acquire:
         * pairs with the release fetch_add in wake_writer. */
        uint32_t seq = atomic_load_explicit(&l->writer_notify, memory_order_acquire);
        s = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (is_unlocked(s) || !(s & WRITERS_WAITING))
            continue;
        /* Held by someone else with our bit set: their unlock wakes the next writer
         * (or the readers), so giving up here loses no wake-up. */
        if (timed_out)
            return -ETIMEDOUT;
        int r = weft_futex_wait(&l->writer_notify, seq, deadline);
        if (r == -ETIMEDOUT || weft_deadline_passed(deadline))
            timed_out = true;
        looks = WEFT_SPIN_LOOKS;
        s = weft__spin_while(&l->state, held_without_sleeping_writers, &looks, deadline);
    }
}

static int write_impl(rwlock_impl *l, bool timed, uint64_t timeout_ns)
{
    if (!l)
        return -EINVAL;
    uint32_t s = 0;
    /* Acquire: pairs with the release RMW of the last unlock. */
    if (atomic_compare_exchange_strong_explicit(&l->state, &s, WRITE_LOCKED, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    return write_contended(l, timed ? weft_deadline_after(timeout_ns) : WEFT_NO_DEADLINE);
}

int weft_rwlock_write_lock(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    return write_impl(l, false, 0);
}

int weft_rwlock_write_lock_timeout(weft_rwlock *lock, uint64_t timeout_ns)
{
    rwlock_impl *l = rwlock_of(lock);
    return write_impl(l, true, timeout_ns);
}

int weft_rwlock_try_write_lock(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    if (!l)
        return -EINVAL;
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    for (;;) {
        if (!is_unlocked(s))
            return -EBUSY;
        /* Keep any waiting bits: our unlock then wakes those waiters. Acquire: pairs
         * with the release RMW of the last unlock. */
        if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | WRITE_LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return 0;
    }
}

/* ------------------------------------------------------------------------------
 * Unlock: the caller holds the lock, so the kind (read or write) cannot change
 * under us; the value a failed guess CAS loads tells which. */

int weft_rwlock_unlock(weft_rwlock *lock)
{
    rwlock_impl *l = rwlock_of(lock);
    if (!l)
        return -EINVAL;
    /* Guess we are the only reader and nobody waits: one CAS, whose failure also
     * loads the word (as in read_impl). Release: pairs with the acquire CAS of the
     * next reader or writer. */
    uint32_t s = READ_LOCKED;
    if (atomic_compare_exchange_strong_explicit(&l->state, &s, 0, memory_order_release,
                                                memory_order_relaxed))
        return 0;
    if (is_unlocked(s))
        return -EPERM;
    if (is_write_locked(s)) {
        /* Release: pairs with the acquire CAS of the next reader or writer. */
        s = atomic_fetch_sub_explicit(&l->state, WRITE_LOCKED, memory_order_release) - WRITE_LOCKED;
        if (s & (READERS_WAITING | WRITERS_WAITING))
            wake_writer_or_readers(l, s);
    } else {
        /* Release: pairs with the acquire CAS of the next writer (readers' releases
         * form one release sequence through these RMWs). */
        s = atomic_fetch_sub_explicit(&l->state, READ_LOCKED, memory_order_release) - READ_LOCKED;
        /* Readers only sleep on a read-locked lock when a writer waits too, so the
         * last reader only has to act when a writer waits. */
        if (is_unlocked(s) && (s & WRITERS_WAITING))
            wake_writer_or_readers(l, s);
    }
    return 0;
}
