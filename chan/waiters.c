/* waiters.c: waiting contexts and waiter lists for blocked channel operations (see
 * waiters_internal.h for the protocol).
 *
 * Invariants:
 *  - ctx->selected leaves CHAN_WAITING exactly once (a CAS), and the winner wakes the
 *    futex while still holding the mutex of the list in which it found the ctx (or,
 *    for ABORTED, is the owner itself): the owner unregisters under that mutex before
 *    returning, so the ctx is alive whenever someone touches it.
 *  - No lost wake-up: a waiter sleeps only with futex_wait(selected, WAITING), so a
 *    CAS that happened before it slept makes the wait return at once, and one after
 *    is followed by a wake.
 *  - chan_waker.is_empty equals "list empty" whenever its mutex is free; it is
 *    written under the mutex with seq_cst stores so that a notifier's seq_cst load,
 *    ordered after the seq_cst RMW that made the channel ready, either sees a
 *    registered waiter or the waiter's own seq_cst re-check sees the change
 *    (the store-buffering pattern, both sides sequentially consistent). */
#include "waiters_internal.h"

#define CHAN_SPIN_ROUNDS 6

void chan_ctx_init(chan_ctx *cx)
{
    atomic_store_explicit(&cx->selected, CHAN_WAITING, memory_order_relaxed);
    cx->thread = pthread_self();
}

bool chan_ctx_try_select(chan_ctx *cx, uint32_t sel)
{
    uint32_t expect = CHAN_WAITING;
    /* AcqRel: release pairs with the owner's acquire load in chan_ctx_wait_until (what
     * the selector did before, e.g. publishing a message, is visible to the woken
     * owner); acquire orders our later use of the owner's entry after its claim. */
    return atomic_compare_exchange_strong_explicit(&cx->selected, &expect, sel,
                                                   memory_order_acq_rel, memory_order_acquire);
}

uint32_t chan_ctx_wait_until(chan_ctx *cx, uint64_t deadline_ns)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    for (int i = 0; i < CHAN_SPIN_ROUNDS; i++) {
        /* Acquire: pairs with the selector's CAS (chan_ctx_try_select). */
        uint32_t s = atomic_load_explicit(&cx->selected, memory_order_acquire);
        if (s != CHAN_WAITING)
            return s;
        weft_backoff_spin(&b);
    }
    for (;;) {
        /* Acquire: as above. */
        uint32_t s = atomic_load_explicit(&cx->selected, memory_order_acquire);
        if (s != CHAN_WAITING)
            return s;
        if (weft_deadline_passed(deadline_ns)) {
            if (chan_ctx_try_select(cx, CHAN_ABORTED))
                return CHAN_ABORTED;
            continue; /* someone chose first: report their choice */
        }
        weft_futex_wait(&cx->selected, CHAN_WAITING, deadline_ns);
    }
}

void chan_waiter_init(chan_waiter *w, chan_ctx *cx, size_t index, void *buf)
{
    w->next = w->prev = NULL;
    w->ctx = cx;
    w->oper = CHAN_OPER(index);
    w->linked = false;
    w->buf = buf;
    w->observer = false;
    atomic_store_explicit(&w->ready, 0, memory_order_relaxed);
}

void chan_waiter_wait_ready(chan_waiter *w)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    /* Acquire: pairs with the partner's release store of ready after its copy
     * through w->buf (zero.c). */
    while (!atomic_load_explicit(&w->ready, memory_order_acquire))
        weft_backoff_snooze(&b);
}

void chan_waitlist_push(chan_waitlist *l, chan_waiter *w)
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

void chan_waitlist_remove(chan_waitlist *l, chan_waiter *w)
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

chan_waiter *chan_waitlist_try_select(chan_waitlist *l)
{
    pthread_t self = pthread_self();
    for (chan_waiter *w = l->head; w; w = w->next) {
        if (pthread_equal(w->ctx->thread, self))
            continue;
        if (chan_ctx_try_select(w->ctx, w->oper)) {
            chan_waitlist_remove(l, w);
            weft_futex_wake(&w->ctx->selected, 1);
            return w;
        }
    }
    return NULL;
}

bool chan_waitlist_can_select(const chan_waitlist *l)
{
    pthread_t self = pthread_self();
    for (const chan_waiter *w = l->head; w; w = w->next) {
        /* Relaxed: a hint under the list's mutex; the CAS in try_select decides. */
        if (!pthread_equal(w->ctx->thread, self) &&
            atomic_load_explicit(&w->ctx->selected, memory_order_relaxed) == CHAN_WAITING)
            return true;
    }
    return false;
}

void chan_waitlist_disconnect(chan_waitlist *l)
{
    for (chan_waiter *w = l->head; w; w = w->next)
        if (chan_ctx_try_select(w->ctx, CHAN_DISCONNECTED))
            weft_futex_wake(&w->ctx->selected, 1);
}

void chan_waker_init(chan_waker *wk)
{
    weft_mutex_init(&wk->lock);
    wk->list.head = wk->list.tail = NULL;
    atomic_init(&wk->is_empty, true);
}

void chan_waker_register(chan_waker *wk, chan_waiter *w)
{
    weft_mutex_lock(&wk->lock);
    chan_waitlist_push(&wk->list, w);
    /* Seq_cst: pairs with the seq_cst load in chan_waker_notify (see the header). */
    atomic_store_explicit(&wk->is_empty, false, memory_order_seq_cst);
    weft_mutex_unlock(&wk->lock);
}

void chan_waker_unregister(chan_waker *wk, chan_waiter *w)
{
    weft_mutex_lock(&wk->lock);
    chan_waitlist_remove(&wk->list, w);
    /* Seq_cst: as in register. */
    atomic_store_explicit(&wk->is_empty, wk->list.head == NULL, memory_order_seq_cst);
    weft_mutex_unlock(&wk->lock);
}

void chan_waker_notify(chan_waker *wk)
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
            if (chan_ctx_try_select(w->ctx, w->oper)) {
                chan_waitlist_remove(&wk->list, w);
                weft_futex_wake(&w->ctx->selected, 1);
                if (!w->observer)
                    break;
            }
        }
        /* Seq_cst: as in register. */
        atomic_store_explicit(&wk->is_empty, wk->list.head == NULL, memory_order_seq_cst);
    }
    weft_mutex_unlock(&wk->lock);
}

void chan_waker_disconnect(chan_waker *wk)
{
    weft_mutex_lock(&wk->lock);
    chan_waitlist_disconnect(&wk->list);
    weft_mutex_unlock(&wk->lock);
}
