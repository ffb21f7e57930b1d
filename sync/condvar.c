/* condvar.c: weft_condvar, a futex sequence counter used with a weft_mutex (the
 * design of Rust std's futex Condvar).
 *
 * seq: a counter that every notify increments (wrapping) before it wakes.
 * Invariants:
 *  - a waiter reads seq while it still holds the mutex, then releases the mutex and
 *    futex-waits on seq with that value: if any notify incremented seq after the
 *    read, the wait returns at once, so a notify that follows our unlock is never
 *    lost (the kernel compares the word and queues the waiter atomically w.r.t. a
 *    FUTEX_WAKE);
 *  - the mutex is held again on every return path (except when the unlock itself
 *    fails: then the caller never held it and nothing was released);
 *  - wrap-around (ABA) of seq: if exactly 2^32 notifies happened between a waiter's
 *    read of seq and its futex call, the waiter would sleep through them. Like Rust
 *    std and glibc's old condvar we accept this: 4 billion notifies within the few
 *    instructions of an unlock is not a practical concern.
 *
 * Why relaxed is enough on seq: the notifier changes the predicate under the mutex.
 * If its critical section came before ours, our caller saw the new predicate and did
 * not wait. If it came after our unlock, then our load of seq happens-before its
 * increment (our load is sequenced before our release-unlock, which synchronizes
 * with its acquire-lock, which precedes its increment), and read-write coherence
 * forbids our load from seeing that increment or anything later: the futex then
 * sees a different value, or we are queued before the wake. The mutex provides all
 * the ordering of user data; seq only has to be a coherent counter. */
#include "layout_internal.h"

int weft_condvar_init(weft_condvar *condvar)
{
    condvar_impl *cv = condvar_of(condvar);
    if (!cv)
        return -EINVAL;
    atomic_init(&cv->seq, 0);
    return 0;
}

int weft_condvar_destroy(weft_condvar *condvar)
{
    condvar_impl *cv = condvar_of(condvar);
    return cv ? 0 : -EINVAL;
}

int weft_condvar_wait_until(weft_condvar *condvar, weft_mutex *m, uint64_t deadline_ns)
{
    condvar_impl *cv = condvar_of(condvar);
    if (!cv || !m)
        return -EINVAL;
    /* Relaxed: see the file comment. */
    uint32_t seq = atomic_load_explicit(&cv->seq, memory_order_relaxed);
    int r = weft_mutex_unlock(m);
    if (r)
        return r; /* not held by the caller (debug builds): nothing released */
    r = weft_futex_wait(&cv->seq, seq, deadline_ns);
    /* The caller held m, so it cannot hold it now: lock cannot fail (-EDEADLK is
     * impossible once we released it). Relock even when timed out. */
    int lr = weft_mutex_lock(m);
    return lr ? lr : r;
}

int weft_condvar_wait(weft_condvar *cv, weft_mutex *m)
{
    return weft_condvar_wait_until(cv, m, WEFT_NO_DEADLINE);
}

int weft_condvar_wait_timeout(weft_condvar *cv, weft_mutex *m, uint64_t timeout_ns)
{
    if (!cv || !m)
        return -EINVAL;
    return weft_condvar_wait_until(cv, m, weft_deadline_after(timeout_ns));
}

static int notify(condvar_impl *cv, int count)
{
    if (!cv)
        return -EINVAL;
    /* Relaxed: see the file comment (the mutex orders the user's data; this counter
     * only has to change before the wake). */
    atomic_fetch_add_explicit(&cv->seq, 1, memory_order_relaxed);
    int r = weft_futex_wake(&cv->seq, count);
    return r < 0 ? r : 0;
}

int weft_condvar_notify_one(weft_condvar *condvar)
{
    condvar_impl *cv = condvar_of(condvar);
    return notify(cv, 1);
}

int weft_condvar_notify_all(weft_condvar *condvar)
{
    condvar_impl *cv = condvar_of(condvar);
    return notify(cv, WEFT_FUTEX_WAKE_ALL);
}
