/* weft/sync.h: the shared-state primitives, built on Linux futexes and C11 atomics.
 *
 * Every type here is a small struct that lives wherever the user puts it (stack,
 * heap, static); none allocates. The primitives (mutex, rwlock, condvar, barrier,
 * latch) are opaque storage of a fixed size and alignment, `opaque_`: declared here
 * only so that they can be stack-allocated, embedded and statically initialised;
 * libweft keeps their real layout private and static-asserts that it fits. Never
 * touch `opaque_` (nor weft_once's `state_`) directly. Each primitive has a static
 * initialiser, init/destroy, a blocking call and its non-blocking (`try_`) and timed
 * (`_timeout`, relative nanoseconds on the monotonic clock) twins. Errors are negative
 * errno values (see weft/common.h).
 *
 * All of these are process-private (FUTEX_PRIVATE_FLAG): do not place them in memory
 * shared between processes.
 *
 * Thread-safety: every call here may be made from any thread, concurrently on the
 * same object, except: init and destroy (no other call on the object at the same
 * time); unlock by a holder only; a weft_backoff belongs to one loop of one thread.
 *
 * Contents: time, spin hints and padding, futex, mutex, rwlock, condvar, barrier,
 * once, latch, arc. */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <weft/common.h>
#include <limits.h>
#ifndef __cplusplus
#include <stdatomic.h>
#endif
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------
 * Time */

/* Nanoseconds on CLOCK_MONOTONIC. The base of every deadline in weft. Thread-safe. */
WEFT_API uint64_t weft_time_now_ns(void);

/* A deadline that never comes. */
#define WEFT_NO_DEADLINE UINT64_MAX

/* now + timeout_ns, saturating at WEFT_NO_DEADLINE. Thread-safe. */
WEFT_API uint64_t weft_deadline_after(uint64_t timeout_ns);

/* Has the absolute deadline (on weft_time_now_ns's clock) passed? Always false for
 * WEFT_NO_DEADLINE, which it answers without reading the clock. Thread-safe. */
WEFT_API bool weft_deadline_passed(uint64_t deadline_ns);

/* ------------------------------------------------------------------------------
 * Padding and spin hints (what C11 lacks) */

/* The unit of false sharing. 128, not 64: on x86-64 the adjacent-line prefetcher
 * pulls 64-byte lines in pairs (crossbeam's CachePadded makes the same choice). */
#define WEFT_CACHE_LINE 128
/* Put before a member or variable to give it a cache line of its own, e.g.
 * `WEFT_CACHE_ALIGNED _Atomic size_t head;`. */
#define WEFT_CACHE_ALIGNED WEFT__ALIGNAS(WEFT_CACHE_LINE)

/* Tell the CPU we are spinning (x86 `pause`): saves power, yields to the sibling
 * hyper-thread. */
static inline void weft_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Exponential backoff for spin loops, like crossbeam's Backoff. Stack-allocate one
 * per loop; not shared between threads.
 *   spin():   spins 2^step times (step capped at WEFT_BACKOFF_SPIN_LIMIT): use after a
 *             failed CAS, where the other thread is making progress.
 *   snooze(): spins like spin() up to the limit, then yields the CPU: use while
 *             waiting for another thread to do something.
 *   is_completed(): snooze() has reached its yield limit: time to block on a futex. */
typedef struct weft_backoff {
    uint32_t step;
} weft_backoff;
#define WEFT_BACKOFF_INIT {0}
#define WEFT_BACKOFF_SPIN_LIMIT 6
#define WEFT_BACKOFF_YIELD_LIMIT 10

static inline void weft_backoff_reset(weft_backoff *b) { b->step = 0; }
static inline void weft_backoff_spin(weft_backoff *b)
{
    uint32_t step = b->step < WEFT_BACKOFF_SPIN_LIMIT ? b->step : WEFT_BACKOFF_SPIN_LIMIT;
    for (uint32_t i = 0; i < (1u << step); i++)
        weft_cpu_relax();
    if (b->step <= WEFT_BACKOFF_SPIN_LIMIT)
        b->step++;
}
WEFT_API void weft_backoff_snooze(weft_backoff *b);
static inline bool weft_backoff_is_completed(const weft_backoff *b)
{
    return b->step > WEFT_BACKOFF_YIELD_LIMIT;
}

/* ------------------------------------------------------------------------------
 * Futex: the one place weft talks to futex(2). Process-private futexes. */

#define WEFT_FUTEX_WAKE_ALL INT_MAX

/* Block while *word == expected, until a wake, a spurious wake-up, or the deadline
 * (absolute, weft_time_now_ns() base; WEFT_NO_DEADLINE waits forever). Returns at
 * once if *word != expected. Callers must re-check their condition in a loop.
 * Returns 0 (woken, value differed, spurious, or interrupted by a signal),
 * -ETIMEDOUT (the deadline passed), -EINVAL (word is NULL); any other error is the
 * kernel's (-EFAULT: word is not mapped memory). Thread-safe. */
WEFT_API int weft_futex_wait(WEFT__ATOMIC(uint32_t) *word, uint32_t expected, uint64_t deadline_ns);

/* Set the calling thread's block hook: weft_futex_wait calls hook(arg) on this thread
 * just before it parks (every weft lock, condvar, barrier, latch, once and channel
 * wait parks there). A scheduler sets it on its worker threads so that work a worker
 * holds privately is shared before the worker blocks; weft's pools do this for their
 * workers (do not replace it on a pool worker). The hook must not block. NULL removes
 * it. Affects only the calling thread; no error. */
WEFT_API void weft_futex_set_block_hook(void (*hook)(void *arg), void *arg);
/* Set the calling thread's unblock hook: weft_futex_wait calls hook(arg) on this
 * thread just after it parked, whatever the wait returns (weft's caller slots use the
 * pair to lend their turn while parked). Called only after a block hook ran. Same
 * rules as the block hook: must not block; NULL removes it; thread-local; no error. */
WEFT_API void weft_futex_set_unblock_hook(void (*hook)(void *arg), void *arg);

/* Wake up to `count` threads blocked in weft_futex_wait on `word`
 * (WEFT_FUTEX_WAKE_ALL for all). Returns how many were woken (>= 0), or -EINVAL
 * (word NULL or count < 1). Thread-safe. */
WEFT_API int weft_futex_wake(WEFT__ATOMIC(uint32_t) *word, int count);

/* Internal, not API: the wait loop weft's latches and barrier share (sync's and the
 * runtime's). Wait until done(value, arg) for a value of *word loaded with acquire
 * (pairing with the release, or stronger, write that made it true): a short spin
 * (weft_backoff snoozes), then futex sleeps, each on a value that has the bits
 * `sleeper` set (set first with a relaxed CAS, so that whoever makes done() true
 * sees them and wakes; 0: the word changes anyway when it becomes done). Returns 0
 * once done, -ETIMEDOUT once the absolute deadline passed (after a last look). */
WEFT_API int weft__futex_wait_until(WEFT__ATOMIC(uint32_t) *word, uint32_t sleeper,
                                    bool (*done)(uint32_t value, const void *arg),
                                    const void *arg, uint64_t deadline_ns);

/* ------------------------------------------------------------------------------
 * Mutex: one 32-bit state word (0 unlocked, 1 locked, 2 locked with waiters), a
 * bounded spin (looking at the word rarely), then a futex sleep (Drepper,
 * "Futexes Are Tricky"). Not fair: a running thread may take it again before a
 * sleeping waiter does. Not recursive. Stack-allocatable, 8 bytes.
 *
 * Debug builds of libweft (NDEBUG not defined) record the owner and catch misuse:
 * lock by the owner returns -EDEADLK, unlock by a non-owner returns -EPERM. Release
 * builds do not check: that misuse is then undefined behaviour.
 * Opaque: 8 bytes, 4-aligned (sync/mutex.c holds the layout). */
typedef struct weft_mutex {
    uint32_t opaque_[2];
} weft_mutex;
#define WEFT_MUTEX_INIT {{0, 0}}

/* Initialise an unlocked mutex (same as WEFT_MUTEX_INIT). -EINVAL if m is NULL. */
WEFT_API int weft_mutex_init(weft_mutex *m);
/* Check that the mutex is unlocked; it needs no other clean-up.
 * Returns 0, -EBUSY (locked), -EINVAL (NULL). */
WEFT_API int weft_mutex_destroy(weft_mutex *m);
/* Block until the mutex is ours. Returns 0, -EINVAL (NULL), -EDEADLK (debug builds:
 * the caller already holds it). */
WEFT_API int weft_mutex_lock(weft_mutex *m);
/* Take the mutex if it is free. Returns 0, -EBUSY (held by anyone, the caller
 * included), -EINVAL (NULL). Never blocks. */
WEFT_API int weft_mutex_try_lock(weft_mutex *m);
/* Like lock, but give up after timeout_ns nanoseconds. Returns 0, -ETIMEDOUT,
 * -EINVAL, -EDEADLK (debug builds). */
WEFT_API int weft_mutex_lock_timeout(weft_mutex *m, uint64_t timeout_ns);
/* Release the mutex, waking one waiter if there are any. Returns 0, -EINVAL (NULL),
 * -EPERM (debug builds: the caller does not hold it). */
WEFT_API int weft_mutex_unlock(weft_mutex *m);

/* ------------------------------------------------------------------------------
 * RwLock: many readers or one writer, one state word (reader count + writer and
 * waiter bits) plus a writer wake-up word; a blocked caller spins like the mutex
 * (bounded, looking at the word rarely), then sleeps. Writers are not starved: once
 * a writer waits, new readers queue behind it. Not recursive (a reader that
 * read-locks again while a writer waits deadlocks). Stack-allocatable.
 * Opaque: 8 bytes, 4-aligned (sync/rwlock.c holds the layout). */
typedef struct weft_rwlock {
    uint32_t opaque_[2];
} weft_rwlock;
#define WEFT_RWLOCK_INIT {{0, 0}}

/* Initialise an unlocked rwlock. -EINVAL if NULL. */
WEFT_API int weft_rwlock_init(weft_rwlock *l);
/* Check the lock is free. Returns 0, -EBUSY (held), -EINVAL (NULL). */
WEFT_API int weft_rwlock_destroy(weft_rwlock *l);
/* Shared lock. Returns 0, -EINVAL (NULL), -EAGAIN (reader count would overflow). */
WEFT_API int weft_rwlock_read_lock(weft_rwlock *l);
/* Returns 0, -EBUSY (write-locked or a writer waiting), -EAGAIN, -EINVAL. */
WEFT_API int weft_rwlock_try_read_lock(weft_rwlock *l);
/* Returns 0, -ETIMEDOUT, -EAGAIN, -EINVAL. */
WEFT_API int weft_rwlock_read_lock_timeout(weft_rwlock *l, uint64_t timeout_ns);
/* Exclusive lock. Returns 0, -EINVAL. */
WEFT_API int weft_rwlock_write_lock(weft_rwlock *l);
/* Returns 0, -EBUSY (held by anyone), -EINVAL. */
WEFT_API int weft_rwlock_try_write_lock(weft_rwlock *l);
/* Returns 0, -ETIMEDOUT, -EINVAL. */
WEFT_API int weft_rwlock_write_lock_timeout(weft_rwlock *l, uint64_t timeout_ns);
/* Release a read or a write lock held by the caller (the state tells which).
 * Returns 0, -EINVAL (NULL), -EPERM (the lock is not held at all). */
WEFT_API int weft_rwlock_unlock(weft_rwlock *l);

/* ------------------------------------------------------------------------------
 * Condvar: a futex sequence counter, used with a weft_mutex. Spurious wake-ups can
 * happen: always wait in a loop on your predicate. No lost wake-ups: a notify after
 * the waiter released the mutex in wait() wakes it. Stack-allocatable.
 * Opaque: 4 bytes, 4-aligned (sync/condvar.c holds the layout). */
typedef struct weft_condvar {
    uint32_t opaque_[1];
} weft_condvar;
#define WEFT_CONDVAR_INIT {{0}}

/* -EINVAL if NULL. */
WEFT_API int weft_condvar_init(weft_condvar *cv);
/* Nothing to free. -EINVAL if NULL. */
WEFT_API int weft_condvar_destroy(weft_condvar *cv);
/* Atomically release m (held by the caller) and wait for a notify; m is held again
 * when this returns, whatever it returns. Returns 0, -EINVAL (NULL), or m's unlock
 * error (-EPERM, debug builds: m not held). */
WEFT_API int weft_condvar_wait(weft_condvar *cv, weft_mutex *m);
/* Like wait, giving up after timeout_ns. Returns 0, -ETIMEDOUT, -EINVAL, -EPERM. */
WEFT_API int weft_condvar_wait_timeout(weft_condvar *cv, weft_mutex *m, uint64_t timeout_ns);
/* Like wait, giving up at an absolute weft_time_now_ns() deadline (for predicate
 * loops that must not extend their total wait). Returns as wait_timeout. */
WEFT_API int weft_condvar_wait_until(weft_condvar *cv, weft_mutex *m, uint64_t deadline_ns);
/* Wake one / all waiters. Need not hold the mutex. Returns 0 or -EINVAL. */
WEFT_API int weft_condvar_notify_one(weft_condvar *cv);
WEFT_API int weft_condvar_notify_all(weft_condvar *cv);

/* ------------------------------------------------------------------------------
 * Barrier: N threads meet, round after round. One state word packs the arrival
 * count and a generation. Exactly one waiter per round gets WEFT_BARRIER_LEADER.
 * Stack-allocatable. Opaque: 8 bytes, 4-aligned (sync/barrier.c holds the layout;
 * WEFT_BARRIER_INIT(n) puts n in its second word, where init puts the count). */
typedef struct weft_barrier {
    uint32_t opaque_[2];
} weft_barrier;
#define WEFT_BARRIER_LEADER 1
#define WEFT_BARRIER_MAX ((1u << 24) - 1)
#define WEFT_BARRIER_INIT(n) {{0, (n)}}

/* count in [1, WEFT_BARRIER_MAX]. Returns 0 or -EINVAL. */
WEFT_API int weft_barrier_init(weft_barrier *b, uint32_t count);
/* Returns 0, -EBUSY (threads are waiting), -EINVAL. */
WEFT_API int weft_barrier_destroy(weft_barrier *b);
/* Wait for the round's other threads. Returns WEFT_BARRIER_LEADER for exactly one
 * thread per round, 0 for the others, -EINVAL (NULL, or not initialised). */
WEFT_API int weft_barrier_wait(weft_barrier *b);
/* Like wait; on -ETIMEDOUT the caller's arrival is withdrawn, as if it had never
 * come (so the round still needs `count` arrivals). If the round completed just as
 * the time ran out, returns 0 instead. */
WEFT_API int weft_barrier_wait_timeout(weft_barrier *b, uint64_t timeout_ns);

/* ------------------------------------------------------------------------------
 * Once: run an initialiser exactly once; every caller returns after it has run.
 * A call after completion costs one acquire load (inline). Calling weft_once_call on
 * the same once from inside fn deadlocks. Stack-allocatable, 4 bytes, 4-aligned.
 * Opaque but for its one word, `state_`, which the inline fast path below reads
 * (acquire) and compares with WEFT_ONCE_DONE_; only libweft writes it (sync/once.c).
 * The word and that value belong to the binary interface (WEFT_ABI_VERSION). */
typedef struct weft_once {
    WEFT__ATOMIC(uint32_t) state_;
} weft_once;
#define WEFT_ONCE_INIT {0}
#define WEFT_ONCE_DONE_ 3u /* internal: the state once fn has returned */

WEFT_API int weft_once_call_slow_(weft_once *o, void (*fn)(void *arg), void *arg);
/* Run fn(arg) if no call on `o` has yet; otherwise wait until that one has returned.
 * Returns 0, -EINVAL (o NULL; fn NULL while not yet done; o not a valid weft_once).
 * Thread-safe. */
static inline int weft_once_call(weft_once *o, void (*fn)(void *arg), void *arg)
{
    /* Acquire: pairs with the release store of DONE after fn returned, so fn's writes
     * are visible to every caller that sees DONE. */
    if (o && WEFT__LOAD_ACQUIRE(&o->state_) == WEFT_ONCE_DONE_)
        return 0;
    return weft_once_call_slow_(o, fn, arg);
}
/* Non-blocking: has the initialiser run to completion? (The `try` twin.) NULL: false. */
static inline bool weft_once_is_done(const weft_once *o)
{
    /* Acquire: as in weft_once_call. */
    return o && WEFT__LOAD_ACQUIRE(&((weft_once *)o)->state_) == WEFT_ONCE_DONE_;
}

/* ------------------------------------------------------------------------------
 * Latch: a one-shot count-down; waiters block until the count reaches zero (C++
 * std::latch). Stack-allocatable. Opaque: 4 bytes, 4-aligned (sync/latch.c holds
 * the layout; WEFT_LATCH_INIT(n) puts n in its word, as init does). */
typedef struct weft_latch {
    uint32_t opaque_[1];
} weft_latch;
#define WEFT_LATCH_MAX 0x7fffffffu
#define WEFT_LATCH_INIT(n) {{(n)}}

/* count in [0, WEFT_LATCH_MAX]. Returns 0 or -EINVAL. */
WEFT_API int weft_latch_init(weft_latch *l, uint32_t count);
/* Subtract n; at zero, wake every waiter. Returns 0, -EINVAL (NULL, or n greater
 * than the remaining count: nothing is subtracted then). */
WEFT_API int weft_latch_count_down(weft_latch *l, uint32_t n);
/* Block until the count is zero. Returns 0 or -EINVAL. */
WEFT_API int weft_latch_wait(weft_latch *l);
/* Returns 0 if the count is zero, -EAGAIN if not, -EINVAL. Never blocks. */
WEFT_API int weft_latch_try_wait(weft_latch *l);
/* Returns 0, -ETIMEDOUT, -EINVAL. */
WEFT_API int weft_latch_wait_timeout(weft_latch *l, uint64_t timeout_ns);

/* ------------------------------------------------------------------------------
 * Arc: a reference-counted shared allocation with a destructor (Rust's Arc<T>).
 * Opaque; heap-allocated by weft_arc_new. Each clone and the original must be
 * dropped exactly once; the last drop runs `destroy(data)` (if not NULL) and frees
 * the block. */
typedef struct weft_arc weft_arc;

/* Allocate `size` zeroed bytes (aligned for any type) with a count of 1.
 * Returns 0, -EINVAL (out NULL, or size too large to allocate with the header),
 * -ENOMEM. size 0 is allowed. Thread-safe. */
WEFT_API int weft_arc_new(size_t size, void (*destroy)(void *data), weft_arc **out);
/* Add a reference; returns a (NULL for NULL). Aborts the process if the count would
 * pass SIZE_MAX / 2 (leaked clones), as Rust's Arc does. Thread-safe. */
WEFT_API weft_arc *weft_arc_clone(weft_arc *a);
/* Drop a reference. Returns 1 if this was the last one (destroy ran, the block is
 * freed), 0 if other references remain, -EINVAL (NULL). Thread-safe. */
WEFT_API int weft_arc_drop(weft_arc *a);
/* The shared data (NULL for NULL). The Arc synchronises only its count: guard the
 * data itself (a weft_mutex inside it, atomics, or read-only use). */
WEFT_API void *weft_arc_get(const weft_arc *a);
/* A snapshot of the reference count (0 for NULL); advisory only. */
WEFT_API size_t weft_arc_count(const weft_arc *a);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SYNC_H */
