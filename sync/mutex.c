/* mutex.c: weft_mutex, a futex mutex with one three-state word (Drepper, "Futexes
 * Are Tricky", mutex3; the same design as Rust std's futex Mutex).
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
 *    whether other sleepers remain: a spurious extra wake is the price, never a lost one;
 *  - a timed lock gives up only right after a swap(2) returned "held": the word is
 *    then 2, so the holder's unlock wakes someone else. A wake it consumed is thus
 *    never lost.
 *  - owner (debug builds only, NDEBUG undefined) is the holder's thread id while the
 *    mutex is held and 0 otherwise; only the holder writes it. Release builds never
 *    read or write it.
 *
 * Spinning: before sleeping, a locker waits while the word is 1 (held, nobody
 * sleeping: the holder is probably running), looking at the word only once every
 * SPIN_PAUSES pauses (~0.6 us on Zen 3), at most SPIN_LOOKS times (~14 us, under the
 * ~25-35 us one sleep + wake costs on the 2-vCPU VM), then sleeps. It stops at once
 * on 2: others already sleep, so queueing behind them is fairer. A free word seen
 * before the first sleep is taken by CAS 0->1 (safe: such a thread consumed no wake,
 * and sleepers stay covered, since the unlock that stored 0 over 2 woke one and a
 * woken thread re-marks 2); a woken thread only ever takes the lock by swap(2).
 * Why looks so rare (issue 2, cs2lines+work32, 2 threads on 2 free CPUs): a section
 * run by the thread that ran the previous one costs ~66 ns; one that moves the lock
 * to the other CPU also moves the lock's and the data's lines (~60-120 ns each).
 * Looking every pause, a waiter takes the lock at the first free moment (it is free
 * ~80% of the time there), so it changed hands on 0.35-0.7 of the sections, as with
 * pthread (0.4), and every futex call it made was wasted (waits all EAGAIN, wakes
 * all finding nobody). Looking every ~0.6 us lets the running holder do a few
 * sections between hand-offs (0.1 hand-offs per section) and keeps its line hot.
 *
 * Tried for issue 2 and not adopted (2-vCPU VM where one futex syscall costs ~1.8 us
 * and a pause ~25 ns; A/B against this code, interleaved; the code is in the history,
 * commits f082dcb, 61ddaf9, 846ac0e). Counted in cs2lines+work32 (2 threads, pinned),
 * this code makes 0.002 to 0.05 futex calls per section depending on the run, and
 * ~60% of its wakes find nobody asleep (the waiter's swap(2) took the lock, or its
 * wait failed).
 *  - Go's sync.Mutex word (locked bit, woken bit, waiter count in the upper bits;
 *    unlock wakes only if waiters are counted and none is woken; spinners claim the
 *    woken bit), one 32-bit word, CAS fast path: 0.44-0.64x this code. A counted
 *    waiter whose futex_wait fails (the holder changes the word every ~50 ns, the
 *    syscall takes ~2 us) clears the woken bit and retries, and each retry costs the
 *    holder a wake, so it made no fewer futex calls, while registering and leaving
 *    added RMWs on the contended line. With a fetch_or fast path (one RMW even with
 *    waiters counted): weft-bench 12 interleaved pairs, weft/pthread median
 *    counter_inc 0.90 / 1.13 (this code 1.17 / 1.22), cs2lines+work32 0.99 / 1.06
 *    (0.97 / 0.87) at 2 / 4 threads: mixed, not better.
 *  - Marking 2 by CAS 1 -> 2 instead of swap(2), and taking the lock as 1 unless a
 *    FUTEX_WAKE really dequeued us (a futex wait telling "woken" from EAGAIN): no
 *    spurious wake from a swap that found the lock free, but more futex waits (the
 *    swap often takes the lock outright): 0.58-1.03x.
 *  - Spinning 200 or 2000 times: 0.64x (the spinner's loads steal the line).
 *  - Looking at the word only every 16 pauses, 8 times (~3 us): with the threads
 *    pinned to the two CPUs, 1.1-1.5x this code at machine load ~3-4 but 0.74-0.80x
 *    at load ~9; weft-bench (unpinned, load ~6): cs2lines+work32 0.83 / 0.89
 *    weft/pthread against 0.97 / 1.00. It depends on the machine's load, so it is
 *    not adopted without a quiet-machine measurement. */
#include <weft/sync.h>

#ifndef NDEBUG
#include <sys/syscall.h>
#include <unistd.h>
#endif

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };
#define SPIN_PAUSES 20 /* pauses between two looks at the word (~0.6 us on Zen 3) */
#define SPIN_LOOKS 24  /* looks before sleeping: ~14 us, under one sleep + wake */

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

/* Wait while the mutex is held with no sleeper: look at the word after one pause,
 * then once every SPIN_PAUSES pauses, at most *looks times in all (each look counts
 * it down), and not past the deadline. Returns the last state seen: UNLOCKED (free
 * now), CONTENDED (others sleep: queue behind them) or LOCKED (still held when the
 * looks or the time ran out; *looks is then 0). Plain loads only, and rare ones:
 * between two looks the holder keeps the word's line to itself. */
static uint32_t spin(weft_mutex *m, int *looks, uint64_t deadline)
{
    for (;;) {
        /* The first look of a budget comes after one pause: a holder that is just
         * leaving hands over at once (what keeps two threads whose sections rarely
         * collide in step). Later looks are rare. */
        int pauses = *looks == SPIN_LOOKS ? 1 : SPIN_PAUSES;
        for (int p = 0; p < pauses; p++)
            weft_cpu_relax();
        uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
        if (--*looks <= 0 || s != LOCKED)
            return s;
        if (deadline != WEFT_NO_DEADLINE && weft_time_now_ns() >= deadline) {
            *looks = 0;
            return s;
        }
    }
}

/* The slow path: returns 0 once locked, or -ETIMEDOUT. */
static int lock_contended(weft_mutex *m, uint64_t deadline)
{
    /* Until we first sleep, a free word may be taken as 1: we consumed no wake, and
     * sleepers stay covered (the unlock that stored 0 over 2 woke one of them, and a
     * woken thread re-marks 2). A race lost to another locker spins on, within the
     * same budget of looks. */
    int looks = SPIN_LOOKS;
    uint32_t s;
    do {
        s = spin(m, &looks, deadline);
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
        if (r == -ETIMEDOUT || (deadline != WEFT_NO_DEADLINE && weft_time_now_ns() >= deadline))
            timed_out = true; /* one last swap above decides: lock or give up */
        looks = SPIN_LOOKS;
        s = spin(m, &looks, deadline);
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
