/* mutex.c: weft_mutex, a futex mutex in one 32-bit word that counts its waiters
 * (the design of Go's sync.Mutex in normal mode: a locked bit, a "woken" bit and a
 * waiter count, with a futex in place of Go's semaphore).
 *
 * state: bit 0 LOCKED, bit 1 WOKEN, bits 2..31 the number of registered waiters
 * (threads in the sleeping loop of lock_contended: asleep, or awake and about to
 * re-check). 0 = unlocked and idle, 1 = locked, nobody waiting.
 * Invariants:
 *  - the uncontended path is one CAS 0 -> LOCKED to lock and one fetch_sub of LOCKED
 *    to unlock, and never a syscall;
 *  - unlock issues FUTEX_WAKE (one thread) only if, after clearing LOCKED, waiters
 *    are registered and WOKEN is clear, and it sets WOKEN (CAS) first. So an unlock
 *    with no registered waiter, or while a woken waiter or a spinner is still on its
 *    way to the lock, never makes a syscall (mutex3 re-marks the word "contended"
 *    after every wake, so each later unlock paid a FUTEX_WAKE even with nobody
 *    asleep);
 *  - waiters count themselves: +1 before their first sleep, -1 when they take the
 *    lock or time out. (Go's unlocker decrements on the woken waiter's behalf, since
 *    a semaphore tells that waiter it was the one released; a futex return does not
 *    say who was woken, so here the count only ever changes by its own thread.)
 *  - a waiter sleeps only by futex-waiting for a value with LOCKED set and WOKEN
 *    clear that already includes it in the count: the holder's unlock then sees the
 *    count (RMWs on one word are totally ordered) and WOKEN clear, so it wakes
 *    someone; any change of the word before the kernel queues us returns at once;
 *  - WOKEN set means some thread is awake and will look at the word again before it
 *    sleeps or leaves: the woken waiter (or, if the wake found nobody in the kernel,
 *    a registered waiter whose futex_wait then fails, since WOKEN changed the word),
 *    or a spinner that set it. Every registered waiter, and a spinner that set it,
 *    clears WOKEN in the same CAS that takes the lock, that sleeps (see above) or that
 *    gives up on a timeout. WOKEN is only ever cleared while LOCKED is set, so the
 *    holder's later unlock re-checks the count: clearing it early costs at most an
 *    extra wake, never a lost one;
 *  - a timed lock gives up only with a CAS on a word with LOCKED set (removing itself
 *    from the count and clearing WOKEN): the holder's unlock then wakes one of those
 *    that remain, so a wake the leaver consumed is never lost. If the word is
 *    unlocked at the deadline it takes the lock instead;
 *  - owner (debug builds only, NDEBUG undefined) is the holder's thread id while the
 *    mutex is held and 0 otherwise; only the holder writes it. Release builds never
 *    read or write it.
 *
 * Why more than three states (the issue asked for 0/1/2; still one word, same size
 * and initialiser): MEASURED_HERE
 *
 * Spinning: before sleeping, spin up to WEFT_MUTEX_SPIN times while the word is
 * locked, and, if others are registered, set WOKEN (Go's mutexWoken) so that the
 * holder's unlock does not wake a sleeper while we are about to take the lock. The
 * spin count is short for the reason measured on mutex3: a spinner keeps the lock's
 * line shared, so every lock and unlock of the running holder misses; a short spin
 * keeps the cheap hand-off to a waiter that arrives just before the release. Barging
 * is allowed (a running thread may take a free lock ahead of a woken waiter), as in
 * mutex3, glibc and Go's normal mode. */
#include <weft/sync.h>

#ifndef NDEBUG
#include <sys/syscall.h>
#include <unistd.h>
#endif

enum { LOCKED = 1u, WOKEN = 2u, WAITER = 4u /* one registered waiter */ };
#ifndef WEFT_MUTEX_SPIN
#define WEFT_MUTEX_SPIN 10
#endif
#ifndef WEFT_MUTEX_SPIN_AWAKE
#define WEFT_MUTEX_SPIN_AWAKE 10
#endif

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

/* The slow path: returns 0 once locked, or -ETIMEDOUT. s is the word the fast path
 * saw. */
static int lock_contended(weft_mutex *m, uint32_t s, uint64_t deadline)
{
    bool registered = false; /* counted in the waiter field */
    bool owns_woken = false; /* we must clear WOKEN when we take, sleep or leave */
    bool timed_out = false;
    for (;;) {
        /* Spin a little while it is held, claiming WOKEN if others wait. */
        int limit = registered ? WEFT_MUTEX_SPIN_AWAKE : WEFT_MUTEX_SPIN;
        for (int i = 0; (s & LOCKED) && i < limit && !timed_out; i++) {
            if (!owns_woken && !(s & WOKEN) && s >= WAITER &&
                atomic_compare_exchange_weak_explicit(&m->state, &s, s | WOKEN,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                owns_woken = true;
                s |= WOKEN;
            }
            weft_cpu_relax();
            s = atomic_load_explicit(&m->state, memory_order_relaxed);
        }
        uint32_t n = s;
        if (registered)
            n -= WAITER;
        if (owns_woken)
            n &= ~WOKEN;
        if (!(s & LOCKED) && n == s) {
            /* Free, and we have no count or flag to drop: take it as the fast path
             * does. Acquire: as below. */
            s = atomic_fetch_or_explicit(&m->state, LOCKED, memory_order_acquire);
            if (!(s & LOCKED))
                return 0;
            continue;
        }
        if (!(s & LOCKED)) {
            /* Free: take it. Acquire: pairs with the release fetch_sub in
             * weft_mutex_unlock, so the previous holder's writes are visible. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, n | LOCKED,
                                                      memory_order_acquire,
                                                      memory_order_relaxed))
                return 0;
            continue;
        }
        if (timed_out) {
            /* Held: leave the count (and WOKEN) to the holder's unlock. Relaxed: we
             * enter no critical section; the word alone carries the hand-off. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, n, memory_order_relaxed,
                                                      memory_order_relaxed))
                return -ETIMEDOUT;
            continue;
        }
        /* Held: register (once) and clear WOKEN, then sleep on that exact value.
         * Relaxed: the kernel orders the futex check against the holder's wake, and
         * the holder's unlock, an RMW later in this word's order, sees our count. */
        n = registered ? s : s + WAITER;
        if (owns_woken)
            n &= ~WOKEN;
        if (n != s && !atomic_compare_exchange_weak_explicit(&m->state, &s, n,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
            continue;
        registered = true;
        owns_woken = true; /* a registered waiter treats WOKEN as its own from now on */
        int r = weft_futex_wait(&m->state, n, deadline);
        if (r == -ETIMEDOUT || (deadline != WEFT_NO_DEADLINE && weft_time_now_ns() >= deadline))
            timed_out = true; /* one more pass decides: lock if free, else give up */
        s = atomic_load_explicit(&m->state, memory_order_relaxed);
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
    /* One RMW whatever the other bits hold (lock bts on x86): a CAS 0 -> LOCKED would
     * fail whenever waiters are registered, and retrying costs a second RMW on the
     * contended line. Setting LOCKED when it is already set changes nothing. Acquire:
     * pairs with the release fetch_sub in weft_mutex_unlock, so the previous holder's
     * writes are visible to us. */
    uint32_t s = atomic_fetch_or_explicit(&m->state, LOCKED, memory_order_acquire);
    if (s & LOCKED) {
        int r = lock_contended(m, s, timed ? weft_deadline_after(timeout_ns) : WEFT_NO_DEADLINE);
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
    atomic_init(&m->state, 0);
    atomic_init(&m->owner, 0);
    return 0;
}

int weft_mutex_destroy(weft_mutex *m)
{
    if (!m)
        return -EINVAL;
    /* Nonzero: held, or threads still inside lock (waiters, a WOKEN flag pending). */
    return atomic_load_explicit(&m->state, memory_order_relaxed) != 0 ? -EBUSY : 0;
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
    /* Take it whenever LOCKED is clear, even with waiters registered (they may be
     * between a wake and their retry). Acquire: pairs with the release fetch_sub in
     * weft_mutex_unlock. */
    if (atomic_fetch_or_explicit(&m->state, LOCKED, memory_order_acquire) & LOCKED)
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
    /* Release: pairs with the acquire CAS of the next locker, publishing our critical
     * section to it. fetch_sub (lock xadd) rather than fetch_and, which x86 can only
     * do with a CAS loop when the old value is needed; LOCKED is set, so it only
     * clears that bit. */
    uint32_t s = atomic_fetch_sub_explicit(&m->state, LOCKED, memory_order_release) - LOCKED;
    /* Wake one only if waiters are registered and none is awake already (WOKEN), and
     * only while the lock stays free (a new holder's unlock re-checks). Relaxed: the
     * CAS only claims the duty to wake; the data went with the fetch_sub above. */
    while (s >= WAITER && !(s & (LOCKED | WOKEN))) {
        if (atomic_compare_exchange_weak_explicit(&m->state, &s, s | WOKEN, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            weft_futex_wake(&m->state, 1);
            break;
        }
    }
    return 0;
}
