/* waiters.c: waiting contexts and waiter lists for blocked channel operations, and
 * one sleep of an operation that waits on one waker (see waiters_internal.h for the
 * protocol).
 *
 * Invariants:
 *  - ctx->selected is chosen (leaves WAITING / SLEEPING) exactly once (a CAS), and the
 *    winner wakes the futex, if needed, while still holding the mutex of the list in
 *    which it found the ctx (or, for ABORTED, is the owner itself): the owner
 *    unregisters under that mutex before returning, so the ctx is alive whenever
 *    someone touches it. The rendezvous hand-off wakes outside the mutex instead,
 *    before its release of `ready`, which its owner waits
 *    for (waiters_internal.h).
 *  - No lost wake-up: the owner sleeps only after its own CAS WAITING -> SLEEPING, and
 *    only with futex_wait(selected, SLEEPING); a winner that replaced WAITING needs no
 *    wake (that CAS then fails and the owner sees the choice), and one that replaced
 *    SLEEPING wakes: before the owner's futex_wait, the wait returns at once (the word
 *    differs); after, the wake ends it.
 *  - chan_waker.is_empty equals "list empty" whenever its mutex is free; it is
 *    written under the mutex with seq_cst stores so that a notifier's seq_cst load,
 *    ordered after the seq_cst RMW that made the channel ready, either sees a
 *    registered waiter or the waiter's own seq_cst re-check sees the change
 *    (the store-buffering pattern, both sides sequentially consistent). */
#include "waiters_internal.h"

#include <sched.h>

#define CHAN_SPIN_ROUNDS 6
#define CHAN_PARTNER_YIELDS 4

void weft__chan_ctx_init(chan_ctx *cx)
{
    atomic_store_explicit(&cx->selected, CHAN_WAITING, memory_order_relaxed);
    cx->thread = pthread_self();
}

chan_claim weft__chan_ctx_claim(chan_ctx *cx, uint32_t sel)
{
    /* Relaxed: a first guess for the CAS, which decides (a chosen value is final). */
    uint32_t s = atomic_load_explicit(&cx->selected, memory_order_relaxed);
    while (s <= CHAN_SLEEPING) {
        /* AcqRel: release pairs with the owner's acquire loads in ctx_wait (what the
         * selector did before, e.g. publishing a message, is visible to the woken
         * owner); acquire orders our later use of the owner's entry after its claim.
         * A failure reloads s (relaxed: the loop's test decides again). */
        if (atomic_compare_exchange_weak_explicit(&cx->selected, &s, sel, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return s == CHAN_SLEEPING ? CHAN_CLAIM_ASLEEP : CHAN_CLAIM_AWAKE;
    }
    return CHAN_CLAIM_LOST;
}

void weft__chan_ctx_wake(chan_ctx *cx)
{
    weft_futex_wake(&cx->selected, 1);
}

bool weft__chan_ctx_select_wake(chan_ctx *cx, uint32_t sel)
{
    chan_claim c = weft__chan_ctx_claim(cx, sel);
    if (c == CHAN_CLAIM_ASLEEP)
        weft__chan_ctx_wake(cx);
    return c != CHAN_CLAIM_LOST;
}

bool weft__chan_ctx_try_select(chan_ctx *cx, uint32_t sel)
{
    return weft__chan_ctx_claim(cx, sel) != CHAN_CLAIM_LOST;
}

/* The owner's wait: a spin, then sleep on the futex until chosen or past the
 * deadline. looks == 0: the short exponential pause-spin of callers that already spun
 * before registering. looks > 0 (a rendezvous party): a look after every pause, that
 * many times (the word is on the owner's own stack, so looking often costs nobody
 * anything, while a look only every 2^k pauses would see the choice up to 2^k pauses
 * late), then CHAN_PARTNER_YIELDS yields with a look after each (a partner preempted
 * on this CPU gets to run), then the futex. *seen: the look that saw the choice, or
 * UINT32_MAX if none did (seen while yielding, or after sleeping). */
static uint32_t ctx_wait(chan_ctx *cx, uint64_t deadline_ns, uint32_t looks, uint32_t *seen)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    uint32_t spins = looks ? looks + CHAN_PARTNER_YIELDS : CHAN_SPIN_ROUNDS;
    *seen = UINT32_MAX;
    for (uint32_t i = 0;; i++) {
        /* Acquire: pairs with the selector's CAS (weft__chan_ctx_claim). */
        uint32_t s = atomic_load_explicit(&cx->selected, memory_order_acquire);
        if (s > CHAN_SLEEPING) {
            if (looks && i < looks)
                *seen = i;
            return s;
        }
        if (i < spins) {
            if (!looks)
                weft_backoff_spin(&b);
            else if (i < looks)
                weft_cpu_relax();
            else
                sched_yield();
            continue;
        }
        if (weft_deadline_passed(deadline_ns)) {
            if (weft__chan_ctx_try_select(cx, CHAN_ABORTED))
                return CHAN_ABORTED;
            continue; /* someone chose first: report their choice */
        }
        /* Announce the sleep, so that a selector wakes us. Relaxed: it publishes
         * nothing; the selector's CAS reads it, and on failure (chosen meanwhile) the
         * acquire load above reads the choice. */
        if (s == CHAN_WAITING &&
            !atomic_compare_exchange_strong_explicit(&cx->selected, &s, CHAN_SLEEPING,
                                                     memory_order_relaxed, memory_order_relaxed))
            continue;
        weft_futex_wait(&cx->selected, CHAN_SLEEPING, deadline_ns);
    }
}

uint32_t weft__chan_ctx_wait_until(chan_ctx *cx, uint64_t deadline_ns)
{
    uint32_t seen;
    return ctx_wait(cx, deadline_ns, 0, &seen);
}

uint32_t weft__chan_ctx_wait_partner(chan_ctx *cx, uint64_t deadline_ns, uint32_t looks,
                               uint32_t *seen)
{
    return ctx_wait(cx, deadline_ns, looks ? looks : 1, seen);
}

void weft__chan_waiter_init(chan_waiter *w, chan_ctx *cx, size_t index, void *buf)
{
    w->next = w->prev = NULL;
    w->ctx = cx;
    w->oper = CHAN_OPER(index);
    w->linked = false;
    w->buf = buf;
    w->observer = false;
    w->claimer_cpu = -1;
    atomic_store_explicit(&w->ready, 0, memory_order_relaxed);
}

void weft__chan_waiter_wait_ready(chan_waiter *w)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    /* Acquire: pairs with the partner's release store of ready after its copy
     * through w->buf (zero.c). */
    while (!atomic_load_explicit(&w->ready, memory_order_acquire))
        weft_backoff_snooze(&b);
}

void weft__chan_waitlist_push(chan_waitlist *l, chan_waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    w->linked = true;
}

void weft__chan_waitlist_remove(chan_waitlist *l, chan_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->next = w->prev = NULL;
    w->linked = false;
}

chan_waiter *weft__chan_waitlist_try_select(chan_waitlist *l, bool *wake)
{
    pthread_t self = pthread_self();
    for (chan_waiter *w = l->head; w; w = w->next) {
        if (pthread_equal(w->ctx->thread, self))
            continue;
        chan_claim c = weft__chan_ctx_claim(w->ctx, w->oper);
        if (c != CHAN_CLAIM_LOST) {
            weft__chan_waitlist_remove(l, w);
            *wake = c == CHAN_CLAIM_ASLEEP;
            return w;
        }
    }
    return NULL;
}

bool weft__chan_waitlist_can_select(const chan_waitlist *l)
{
    pthread_t self = pthread_self();
    for (const chan_waiter *w = l->head; w; w = w->next) {
        /* Relaxed: a hint under the list's mutex; the CAS in try_select decides. */
        if (!pthread_equal(w->ctx->thread, self) &&
            atomic_load_explicit(&w->ctx->selected, memory_order_relaxed) <= CHAN_SLEEPING)
            return true;
    }
    return false;
}

void weft__chan_waitlist_disconnect(chan_waitlist *l)
{
    for (chan_waiter *w = l->head; w; w = w->next)
        weft__chan_ctx_select_wake(w->ctx, CHAN_DISCONNECTED);
}

void weft__chan_waker_init(chan_waker *wk)
{
    weft_mutex_init(&wk->lock);
    wk->list.head = wk->list.tail = NULL;
    atomic_init(&wk->is_empty, true);
}

void weft__chan_waker_register(chan_waker *wk, chan_waiter *w)
{
    weft_mutex_lock(&wk->lock);
    weft__chan_waitlist_push(&wk->list, w);
    /* Seq_cst: pairs with the seq_cst load in weft__chan_waker_notify (see the header). */
    atomic_store_explicit(&wk->is_empty, false, memory_order_seq_cst);
    weft_mutex_unlock(&wk->lock);
}

void weft__chan_waker_unregister(chan_waker *wk, chan_waiter *w)
{
    weft_mutex_lock(&wk->lock);
    weft__chan_waitlist_remove(&wk->list, w);
    /* Seq_cst: as in register. */
    atomic_store_explicit(&wk->is_empty, wk->list.head == NULL, memory_order_seq_cst);
    weft_mutex_unlock(&wk->lock);
}

void weft__chan_waker_sleep(chan_waker *wk, bool (*ready)(struct weft_chan *c),
                            struct weft_chan *c, uint64_t deadline_ns)
{
    chan_ctx cx;
    chan_waiter w;
    weft__chan_ctx_init(&cx);
    weft__chan_waiter_init(&w, &cx, 0, NULL);
    weft__chan_waker_register(wk, &w);
    if (ready(c))
        weft__chan_ctx_try_select(&cx, CHAN_ABORTED);
    weft__chan_ctx_wait_until(&cx, deadline_ns);
    weft__chan_waker_unregister(wk, &w);
}

void weft__chan_waker_notify(chan_waker *wk)
{
    /* Seq_cst: pairs with the seq_cst stores in register/unregister; ordered after
     * the caller's seq_cst RMW that made the operation possible. */
    if (atomic_load_explicit(&wk->is_empty, memory_order_seq_cst))
        return;
    weft_mutex_lock(&wk->lock);
    if (!atomic_load_explicit(&wk->is_empty, memory_order_relaxed)) {
        /* Unlike a rendezvous partner, any thread may be woken here (a sender
         * waking its own select in another op is impossible: it is not waiting).
         * Observers (weft_select_ready) are woken on the way but do not count:
         * they need not take the op, so a real waiter is woken too. */
        for (chan_waiter *w = wk->list.head, *next; w; w = next) {
            next = w->next;
            if (weft__chan_ctx_select_wake(w->ctx, w->oper)) {
                weft__chan_waitlist_remove(&wk->list, w);
                if (!w->observer)
                    break;
            }
        }
        /* Seq_cst: as in register. */
        atomic_store_explicit(&wk->is_empty, wk->list.head == NULL, memory_order_seq_cst);
    }
    weft_mutex_unlock(&wk->lock);
}

void weft__chan_waker_disconnect(chan_waker *wk)
{
    weft_mutex_lock(&wk->lock);
    weft__chan_waitlist_disconnect(&wk->list);
    weft_mutex_unlock(&wk->lock);
}
