/* futex.c: weft_futex_wait / weft_futex_wake, the one place weft calls futex(2),
 * and weft__futex_wait_until, the spin-then-sleep loop the latches and the barrier
 * wait with.
 *
 * Invariants:
 *  - every futex is process-private (FUTEX_PRIVATE_FLAG);
 *  - waits use FUTEX_WAIT_BITSET with an ABSOLUTE CLOCK_MONOTONIC deadline (the
 *    weft_time_now_ns() base), so a wait that is interrupted or woken spuriously and
 *    retried by its caller never extends the caller's total wait;
 *  - the only results a caller sees are 0 (woken, value differed, spurious, signal),
 *    -ETIMEDOUT and -EINVAL: callers always re-check their condition in a loop.
 *
 * Memory ordering: futex(2) itself orders nothing for the C11 model (and TSan does
 * not see it); every caller publishes and observes its state with atomics on the
 * word, and the kernel only guarantees "no lost wake-up": the compare of *word with
 * `expected` and the enqueue of the waiter are atomic w.r.t. a FUTEX_WAKE. */
#include <weft/sync.h>
#include <weft/trace.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The calling thread's block and unblock hooks (weft_futex_set_block_hook,
 * weft_futex_set_unblock_hook): thread-local, so no synchronisation. initial-exec,
 * as runtime's weft__current_worker: one load from the thread pointer, not a call to
 * __tls_get_addr (a caller sets and clears both hooks on every parallel call). */
#define HOOK_TLS _Thread_local __attribute__((tls_model("initial-exec")))
static HOOK_TLS void (*block_hook)(void *);
static HOOK_TLS void *block_hook_arg;
static HOOK_TLS void (*unblock_hook)(void *);
static HOOK_TLS void *unblock_hook_arg;

void weft_futex_set_block_hook(void (*hook)(void *arg), void *arg)
{
    block_hook = hook;
    block_hook_arg = arg;
}

void weft_futex_set_unblock_hook(void (*hook)(void *arg), void *arg)
{
    unblock_hook = hook;
    unblock_hook_arg = arg;
}

static long futex_wait_syscall(_Atomic uint32_t *word, uint32_t expected, const struct timespec *tsp)
{
    /* Without FUTEX_CLOCK_REALTIME, FUTEX_WAIT_BITSET measures an absolute timeout on
     * CLOCK_MONOTONIC: the clock weft_time_now_ns reads. */
    return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, NULL,
                   FUTEX_BITSET_MATCH_ANY);
}

int weft_futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
    if (!word)
        return -EINVAL;
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != WEFT_NO_DEADLINE) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
        tsp = &ts;
    }
    long r;
    uint64_t t0 = weft__trace_begin(); /* a "park" span: every weft wait parks here */
    if (block_hook) {
        void (*after)(void *) = unblock_hook;
        void *after_arg = unblock_hook_arg;
        block_hook(block_hook_arg);
        r = futex_wait_syscall(word, expected, tsp);
        int saved = errno; /* the hook may make system calls */
        if (after)
            after(after_arg);
        errno = saved;
    } else {
        r = futex_wait_syscall(word, expected, tsp);
    }
    int err = r == 0 ? 0 : errno;
    weft__trace_end(WEFT__TRACE_PARK, t0, (uint64_t)(uintptr_t)word, 0);
    if (r == 0)
        return 0;
    switch (err) {
    case EAGAIN: /* *word != expected */
    case EINTR:  /* a signal: the caller re-checks and waits again */
        return 0;
    case ETIMEDOUT:
        return -ETIMEDOUT;
    default:
        return -err;
    }
}

int weft_futex_wake(_Atomic uint32_t *word, int count)
{
    if (!word || count < 1)
        return -EINVAL;
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

int weft__futex_wait_until(_Atomic uint32_t *word, uint32_t sleeper,
                           bool (*done)(uint32_t value, const void *arg), const void *arg,
                           uint64_t deadline_ns)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    for (;;) {
        /* Acquire: pairs with the caller's release (or stronger) write that makes
         * done() true, so the waiter sees what was written before it. */
        uint32_t s = atomic_load_explicit(word, memory_order_acquire);
        if (done(s, arg))
            return 0;
        if (!weft_backoff_is_completed(&b)) {
            weft_backoff_snooze(&b);
            continue;
        }
        if (weft_deadline_passed(deadline_ns))
            return -ETIMEDOUT;
        if ((s & sleeper) != sleeper) {
            /* Relaxed: the bits publish nothing; the waker's RMW that makes done()
             * true reads them (one modification order); on failure we look again. */
            if (!atomic_compare_exchange_weak_explicit(word, &s, s | sleeper, memory_order_relaxed,
                                                       memory_order_relaxed))
                continue;
            s |= sleeper;
        }
        /* Woken, spurious, or the word moved on: look again; a timeout is caught by
         * the deadline check after that last look. */
        weft_futex_wait(word, s, deadline_ns);
    }
}
