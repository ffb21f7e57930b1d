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
 *  - a locker spins at most WEFT_SPIN_LOOKS looks (~14 us here) per sleep: never longer,
 *    whether or not the holder is running, and never past its deadline;
 *  - owner (debug builds only, NDEBUG undefined) is the holder's thread id while the
 *    mutex is held and 0 otherwise; only the holder writes it. Release builds never
 *    read or write it.
 *
 * Spinning: before sleeping, a locker waits while the word is 1 (held, nobody
 * sleeping: the holder is probably running). It looks at the word after one pause,
 * then only once every WEFT_SPIN_PAUSES pauses (~0.6 us on Zen 3, where a pause takes
 * ~29 ns), at most WEFT_SPIN_LOOKS times (~14 us, under the 25-35 us one futex sleep +
 * wake costs on the 2-vCPU VM), then sleeps; a race lost on a free word spins on
 * within the same budget. It stops at once on 2: others already sleep, so queueing
 * behind them is fairer. The same spin follows every wake-up.
 *
 * Why (issue 2: cs2lines+work32, 2 threads, 2 vCPUs): a section run by the thread
 * that ran the previous one costs ~66 ns; one that moves the lock to the other CPU
 * also moves the lock's and the data's cache lines (a line round trip between the
 * vCPUs measured 70-450 ns, depending on where the host places them). Looking at the
 * word every pause (10 looks, the previous code), a waiter took the lock at the first
 * free moment (it is free ~80% of the time there): the lock changed CPU on 0.3-0.9 of
 * the sections (pthread: 0.3-0.6), and its futex calls were wasted (99% of its waits
 * returned EAGAIN, under 3% of its wakes found a sleeper). Looking every ~0.6 us lets
 * the running holder do several sections between hand-offs (0.1-0.2 hand-offs per
 * section) with its lines hot. The early first look keeps the case where the holder
 * was just leaving cheap: two threads whose sections rarely collide stay in step
 * (both then run ~30 M sections/s, as pthread and the previous code do; with the
 * first look after 20 pauses too, 21-24 M). Harness with this shape and three more
 * (counter_inc; sections of 64 and 512 xorshift steps with as many outside), 2 free
 * vCPUs, ratio to pthread per interleaved round, median: cs2lines 2.26 / 2.07 at 2 /
 * 4 threads (previous code 1.39 / 1.13), counter_inc 4.2 / 4.2 (1.6 / 1.8), 64 steps
 * 1.45 / 1.45 (1.47 / 1.53), 512 steps 1.44 / 1.51 (1.48 / 1.56). CPU time per
 * section: 0.2-0.9x pthread's (512 steps at 4 threads: 1.03x); with 512-step
 * sections the longer spin costs 7-17% more CPU than the previous code's.
 * weft-bench (8 runs interleaved with the previous code's, quiet VM), weft/pthread
 * median: cs2lines 2.01 / 2.09 (1.26 / 1.25), counter_inc 3.70 / 3.40 (1.44 /
 * 1.38); futex syscalls per cs2lines section (perf, 2 and 4 threads): ~2e-5
 * (previous code ~0.25, pthread ~0.34).
 *
 * What no mutex changes: when other load leaves the two threads one CPU between
 * them, they take turns and sections hardly ever collide; the row then measures the
 * uncontended path diluted by the work, and every variant tried, pinned to one CPU,
 * gave 1.03-1.08x pthread. weft-bench with one busy loop beside it (5 interleaved
 * runs): cs2lines 1.07 / 1.35 (previous code 1.06 / 1.03), counter_inc 2.04 / 1.78
 * (2.04 / 1.88).
 *
 * Tried and not adopted (same harness, quiet VM unless said):
 *  - Looking every pause, 100 times (Rust std's count): 1.5x pthread on cs2lines
 *    (hand-offs 0.55/section); 200 or 2000 times on a loaded VM: 0.64x the 10-look
 *    code.
 *  - Looking every 4 pauses (80 looks): 1.5-1.9x; blind backoff (8, 16, 32 pauses,
 *    doubling after a lost race) then looks one pause apart: 1.15-2.3x, rising with
 *    the first delay (dense looks hand the lock over at once).
 *  - sched_yield between looks (WTF::Lock: 10 or 40 yields): as good on cs2lines and
 *    counter_inc, but 1.0-1.4x instead of ~1.5x with 512-step sections (a yield
 *    overshoots the release); parking_lot's 3 short spins + 7 yields: 1.75x on
 *    cs2lines.
 *  - Spinning on 2 as well before the first sleep: no measurable difference.
 *  - 2 looks one pause apart before the rare ones: as good as one; 4: 0.3-0.9
 *    hand-offs per section again, 8-12 M sections/s instead of ~14 M.
 *  - Go's sync.Mutex word (locked bit, woken bit, waiter count in the upper bits;
 *    unlock wakes only if waiters are counted and none is woken), one 32-bit word:
 *    0.44-0.64x the previous code, and with a fetch_or fast path mixed; a counted
 *    waiter whose futex_wait fails retries and costs the holder a wake each time
 *    (commits f082dcb, 61ddaf9).
 *  - Marking 2 by CAS 1 -> 2 instead of swap(2), and taking the lock as 1 unless a
 *    FUTEX_WAKE really dequeued us: more futex waits, 0.58-1.03x the previous code.
 *  - Looking every 16 pauses, 8 times (~3 us), measured only on a loaded VM (commit
 *    846ac0e): 0.74-1.5x depending on the load, which the ceiling above explains. */
#include <weft/sync.h>

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
static inline void set_owner(weft_mutex *m)
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
static int lock_contended(weft_mutex *m, uint64_t deadline)
{
    /* Until we first sleep, a free word may be taken as 1: we consumed no wake, and
     * sleepers stay covered (the unlock that stored 0 over 2 woke one of them, and a
     * woken thread re-marks 2). A race lost to another locker spins on, within the
     * same budget of looks. */
    int looks = WEFT_SPIN_LOOKS;
    uint32_t s;
    do {
        s = weft_spin_while(&m->state, held_without_sleepers, &looks, deadline);
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
        s = weft_spin_while(&m->state, held_without_sleepers, &looks, deadline);
    }
}

/* lock and lock_timeout: the deadline is computed only on the slow path, so an
 * uncontended lock_timeout costs no clock read. */
static inline int lock_impl(weft_mutex *m, bool timed, uint64_t timeout_ns)
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

int weft_mutex_init(weft_mutex *m)
{
    if (!m)
        return -EINVAL;
    atomic_init(&m->state, UNLOCKED);
    atomic_init(&m->owner, 0);
    return 0;
}

int weft_mutex_destroy(weft_mutex *m)
{
    if (!m)
        return -EINVAL;
    return atomic_load_explicit(&m->state, memory_order_relaxed) != UNLOCKED ? -EBUSY : 0;
}

int weft_mutex_lock(weft_mutex *m)
{
    return lock_impl(m, false, 0);
}

int weft_mutex_lock_timeout(weft_mutex *m, uint64_t timeout_ns)
{
    return lock_impl(m, true, timeout_ns);
}

int weft_mutex_trylock(weft_mutex *m)
{
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

int weft_mutex_unlock(weft_mutex *m)
{
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
