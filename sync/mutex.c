/* mutex.c: weft_mutex, a futex mutex with one three-state word (Drepper, "Futexes
 * Are Tricky", mutex3; the same design as Rust std's futex Mutex), with a bounded
 * spin that looks at the word rarely.
 *
 * state: 0 = unlocked, 1 = locked with no sleeper, 2 = locked and maybe a sleeper.
 * Invariants:
 *  - a thread only sleeps by futex-waiting for state == 2, so whenever anyone sleeps
 *    the word was 2 at that moment, and the holder's unlock will see 2 and wake one
 *    (or a new locker swaps 2 in again before it can be lost);
 *  - unlock stores 0 with a swap and issues FUTEX_WAKE (one thread) only if the old
 *    value was 2, so the uncontended path is one CAS to lock and one swap to unlock,
 *    and never a syscall;
 *  - a woken thread takes the lock with swap(2) (not CAS 0->1), since it cannot know
 *    whether other sleepers remain: a spurious extra wake is the price, never a lost
 *    one;
 *  - a thread that has not slept yet may take a free word with CAS 0->1 (the fast
 *    path's CAS, taken later): it consumed no wake, and sleepers stay covered, since
 *    the unlock that stored 0 over 2 woke one of them and a woken thread re-marks 2;
 *  - a timed lock gives up only right after a swap(2) returned "held": the word is
 *    then 2, so the holder's unlock wakes someone else. A wake it consumed is thus
 *    never lost.
 *  - a locker spins at most one spin budget (sync/spin_internal.h) per sleep: never
 *    longer, whether or not the holder is running, and never past its deadline;
 *  - owner (debug builds only, NDEBUG undefined) is the holder's thread id while the
 *    mutex is held and 0 otherwise; only the holder writes it. Release builds never
 *    read or write it.
 *
 * Spinning: before sleeping, a locker waits while the word is 1 (held, nobody
 * sleeping: the holder is probably running), with the rare-look spin of
 * sync/spin_internal.h: one look after one pause, then one every WEFT_SPIN_PAUSES
 * pauses, at most WEFT_SPIN_LOOKS looks, then it sleeps; a race lost on a free word
 * spins on within the same budget. It stops at once on 2: others already sleep, so
 * queueing behind them is fairer. The same spin follows every wake-up.
 *
 * Why rare looks: a section that moves the lock to another CPU also moves the lock's
 * and its data's cache lines. A waiter that looked at every pause would take the lock
 * at its first free moment and make most sections pay that move; looking rarely lets
 * the running holder do several sections between hand-offs with its lines hot, while
 * the early first look still hands over at once when the holder was just leaving.
 * The measurements behind this, and the variants tried and not adopted (denser looks,
 * yields, a counted-waiter word): docs/perf-log.md, "mutex spin design
 * measurements". */
#include <weft/sync.h>

#include "layout_internal.h"
#include "spin_internal.h"

#ifndef NDEBUG
#include <sys/syscall.h>
#include <unistd.h>
#endif

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };

#ifndef NDEBUG
/* A nonzero id of the calling thread, unique among live threads: the kernel thread
 * id, cached per thread (gettid is a syscall). */
static uint32_t self_id(void)
{
    static _Thread_local uint32_t tid;
    if (tid == 0)
        tid = (uint32_t)syscall(SYS_gettid);
    return tid;
}
#endif

/* Record the new holder (debug builds). Relaxed: owner is only compared against the
 * caller's own id; a thread always sees its own last store to it (coherence), so it
 * can never mistake a stale value for its own id. */
static inline void set_owner(mutex_impl *m)
{
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, self_id(), memory_order_relaxed);
#else
    (void)m;
#endif
}

/* The spin waits while the mutex is held with no sleeper; it stops on UNLOCKED (free
 * now) and on CONTENDED (others sleep: queue behind them). */
static bool held_without_sleepers(uint32_t s) { return s == LOCKED; }

/* The slow path: returns 0 once locked, or -ETIMEDOUT. */
static int lock_contended(mutex_impl *m, uint64_t deadline)
{
    /* Until we first sleep, a free word may be taken as 1: we consumed no wake, and
     * sleepers stay covered (the unlock that stored 0 over 2 woke one of them, and a
     * woken thread re-marks 2). A race lost to another locker spins on, within the
     * same budget of looks. */
    int looks = WEFT_SPIN_LOOKS;
    uint32_t s;
    do {
        s = weft__spin_while(&m->state, held_without_sleepers, &looks, deadline);
        /* Acquire: pairs with the release swap in weft_mutex_unlock. */
        if (s == UNLOCKED && atomic_compare_exchange_strong_explicit(
                                 &m->state, &s, LOCKED, memory_order_acquire, memory_order_relaxed))
            return 0;
    } while (s == LOCKED && looks > 0); /* a failed CAS left the word's value in s */
    bool timed_out = false;
    for (;;) {
        /* Mark the lock contended; if it was free, it is ours (with the mark: we cannot
         * know whether others sleep). Acquire: pairs with the release swap in unlock. */
        if (s != CONTENDED || timed_out) {
            if (atomic_exchange_explicit(&m->state, CONTENDED, memory_order_acquire) == UNLOCKED)
                return 0;
            /* The word is 2 and someone else holds it: their unlock wakes a sleeper,
             * so we may leave without losing a wake-up. */
            if (timed_out)
                return -ETIMEDOUT;
        }
        int r = weft_futex_wait(&m->state, CONTENDED, deadline);
        if (r == -ETIMEDOUT || weft_deadline_passed(deadline))
            timed_out = true; /* one last swap above decides: lock or give up */
        looks = WEFT_SPIN_LOOKS;
        s = weft__spin_while(&m->state, held_without_sleepers, &looks, deadline);
    }
}

/* lock and lock_timeout: the deadline is computed only on the slow path, so an
 * uncontended lock_timeout costs no clock read. */
static inline int lock_impl(mutex_impl *m, bool timed, uint64_t timeout_ns)
{
    if (!m)
        return -EINVAL;
#ifndef NDEBUG
    if (atomic_load_explicit(&m->owner, memory_order_relaxed) == self_id())
        return -EDEADLK;
#endif
    uint32_t s = UNLOCKED;
    /* Acquire: pairs with the release swap in weft_mutex_unlock, so the previous
     * holder's writes are visible to us. */
    if (!atomic_compare_exchange_strong_explicit(&m->state, &s, LOCKED, memory_order_acquire,
                                                 memory_order_relaxed)) {
        int r = lock_contended(m, timed ? weft_deadline_after(timeout_ns) : WEFT_NO_DEADLINE);
        if (r)
            return r;
    }
    set_owner(m);
    return 0;
}

int weft_mutex_init(weft_mutex *mutex)
{
    mutex_impl *m = mutex_of(mutex);
    if (!m)
        return -EINVAL;
    atomic_init(&m->state, UNLOCKED);
    atomic_init(&m->owner, 0);
    return 0;
}

int weft_mutex_destroy(weft_mutex *mutex)
{
    mutex_impl *m = mutex_of(mutex);
    if (!m)
        return -EINVAL;
    return atomic_load_explicit(&m->state, memory_order_relaxed) != UNLOCKED ? -EBUSY : 0;
}

int weft_mutex_lock(weft_mutex *mutex)
{
    mutex_impl *m = mutex_of(mutex);
    return lock_impl(m, false, 0);
}

int weft_mutex_lock_timeout(weft_mutex *mutex, uint64_t timeout_ns)
{
    mutex_impl *m = mutex_of(mutex);
    return lock_impl(m, true, timeout_ns);
}

int weft_mutex_try_lock(weft_mutex *mutex)
{
    mutex_impl *m = mutex_of(mutex);
    if (!m)
        return -EINVAL;
    uint32_t s = UNLOCKED;
    /* Acquire: pairs with the release swap in weft_mutex_unlock. */
    if (!atomic_compare_exchange_strong_explicit(&m->state, &s, LOCKED, memory_order_acquire,
                                                 memory_order_relaxed))
        return -EBUSY;
    set_owner(m);
    return 0;
}

int weft_mutex_unlock(weft_mutex *mutex)
{
    mutex_impl *m = mutex_of(mutex);
    if (!m)
        return -EINVAL;
#ifndef NDEBUG
    if (atomic_load_explicit(&m->owner, memory_order_relaxed) != self_id())
        return -EPERM;
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
    /* Release: pairs with the acquire CAS/swap of the next locker, publishing our
     * critical section to it. */
    if (atomic_exchange_explicit(&m->state, UNLOCKED, memory_order_release) == CONTENDED)
        weft_futex_wake(&m->state, 1);
    return 0;
}
