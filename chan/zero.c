/* zero.c: the rendezvous channel flavor (capacity 0, crossbeam-channel's zero
 * flavor). Nothing is stored: a send completes only by handing its message to a
 * receiver.
 *
 * One mutex guards both waiter lists and the disconnected flag. An operation first
 * looks, under the mutex, for a waiting partner on the other side and claims it with
 * chan_waitlist_try_select (CAS on the partner's ctx, then a wake, still under the
 * mutex); it then copies through the partner's buf outside the mutex and sets the
 * partner's `ready` (release). A claimed waiter returns only after seeing `ready`
 * (acquire), so its stack buffer outlives the copy. Otherwise it registers itself
 * and sleeps; since finding a partner and registering happen under the same mutex,
 * two parties cannot both register without one seeing the other: no lost wake-up.
 * Disconnection selects CHAN_DISCONNECTED on every waiter, also under the mutex. */
#include "chan_internal.h"
#include <string.h>

int chan_zero_init(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_init(&z->lock);
    z->senders.head = z->senders.tail = NULL;
    z->receivers.head = z->receivers.tail = NULL;
    z->watch_send.head = z->watch_send.tail = NULL;
    z->watch_recv.head = z->watch_recv.tail = NULL;
    z->disconnected = false;
    return 0;
}

void chan_zero_destroy(weft_chan *c) { weft_mutex_destroy(&c->u.zero.lock); }

/* A party starts waiting on the send side (send) or receive side: wake every
 * observer of the opposite op, which can now complete. Under the mutex. */
static void zero_wake_watchers(chan_zero *z, bool send)
{
    chan_waitlist *l = send ? &z->watch_recv : &z->watch_send;
    for (chan_waiter *w = l->head, *next; w; w = next) {
        next = w->next;
        if (chan_ctx_try_select(w->ctx, w->oper)) {
            chan_waitlist_remove(l, w);
            weft_futex_wake(&w->ctx->selected, 1);
        }
    }
}

/* Shared body of send and recv. try: never block. */
static int zero_op(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    chan_waiter *p = chan_waitlist_try_select(send ? &z->receivers : &z->senders);
    if (p) {
        weft_mutex_unlock(&z->lock);
        if (send)
            chan_copy_msg(p->buf, buf, c->elem_size);
        else
            chan_copy_msg(buf, p->buf, c->elem_size);
        /* Release: pairs with the partner's acquire in chan_waiter_wait_ready. */
        atomic_store_explicit(&p->ready, 1, memory_order_release);
        return 0;
    }
    if (z->disconnected) {
        weft_mutex_unlock(&z->lock);
        return -EPIPE;
    }
    if (try) {
        weft_mutex_unlock(&z->lock);
        return -EAGAIN;
    }
    if (weft_deadline_passed(deadline)) {
        weft_mutex_unlock(&z->lock);
        return -ETIMEDOUT;
    }
    chan_ctx cx;
    chan_waiter w;
    chan_ctx_init(&cx);
    chan_waiter_init(&w, &cx, 0, buf);
    chan_waitlist_push(send ? &z->senders : &z->receivers, &w);
    zero_wake_watchers(z, send);
    weft_mutex_unlock(&z->lock);
    uint32_t s = chan_ctx_wait_until(&cx, deadline);
    if (s == CHAN_OPER(0)) {
        chan_waiter_wait_ready(&w);
        /* The partner woke us under the mutex: pass through it so that its wake is
         * over before cx (on our stack) goes away. */
        weft_mutex_lock(&z->lock);
        weft_mutex_unlock(&z->lock);
        return 0;
    }
    weft_mutex_lock(&z->lock);
    chan_waitlist_remove(send ? &z->senders : &z->receivers, &w);
    weft_mutex_unlock(&z->lock);
    return s == CHAN_DISCONNECTED ? -EPIPE : -ETIMEDOUT;
}

int chan_zero_send(weft_chan *c, const void *msg, uint64_t deadline)
{
    return zero_op(c, true, (void *)msg, false, deadline);
}
int chan_zero_try_send(weft_chan *c, const void *msg)
{
    return zero_op(c, true, (void *)msg, true, WEFT_NO_DEADLINE);
}
int chan_zero_recv(weft_chan *c, void *out, uint64_t deadline)
{
    return zero_op(c, false, out, false, deadline);
}
int chan_zero_try_recv(weft_chan *c, void *out)
{
    return zero_op(c, false, out, true, WEFT_NO_DEADLINE);
}

void chan_zero_disconnect(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    if (!z->disconnected) {
        z->disconnected = true;
        chan_waitlist_disconnect(&z->senders);
        chan_waitlist_disconnect(&z->receivers);
        chan_waitlist_disconnect(&z->watch_send);
        chan_waitlist_disconnect(&z->watch_recv);
    }
    weft_mutex_unlock(&z->lock);
}

bool chan_zero_register(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    chan_waitlist_push(send ? &z->senders : &z->receivers, w);
    bool ready = z->disconnected || chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    zero_wake_watchers(z, send);
    weft_mutex_unlock(&z->lock);
    return ready;
}

void chan_zero_unregister(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    chan_waitlist_remove(send ? &z->senders : &z->receivers, w);
    weft_mutex_unlock(&z->lock);
}

bool chan_zero_ready(weft_chan *c, bool send)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    bool ready = z->disconnected || chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    weft_mutex_unlock(&z->lock);
    return ready;
}

bool chan_zero_watch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    chan_waitlist_push(send ? &z->watch_send : &z->watch_recv, w);
    bool ready = z->disconnected || chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    weft_mutex_unlock(&z->lock);
    return ready;
}

void chan_zero_unwatch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    chan_waitlist_remove(send ? &z->watch_send : &z->watch_recv, w);
    weft_mutex_unlock(&z->lock);
}
