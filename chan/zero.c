/* zero.c: the rendezvous channel flavor (capacity 0, crossbeam-channel's zero
 * flavor). Nothing is stored: a send completes only by handing its message to a
 * receiver.
 *
 * One mutex guards both waiter lists and the disconnected flag. An operation first
 * looks, under the mutex, for a waiting partner on the other side and claims it with
 * weft__chan_waitlist_try_select (a CAS on the partner's ctx) and unlinks it; then, outside
 * the mutex, it wakes the partner only if the partner had gone to sleep, copies
 * through the partner's buf and sets the partner's `ready` (release) last. A claimed
 * waiter returns only after seeing `ready` (acquire), so its stack ctx and buffer
 * outlive the claimer's wake and copy. Otherwise it registers itself and waits: first
 * a bounded spin (looks one pause apart, then a few yields), since the partner is
 * usually about to arrive and then hands off without a syscall on either side; then
 * the futex. The spin's length adapts per thread (zero_adapt): spinning only helps
 * while the partner runs on another CPU, and burns the partner's time when both
 * share one (one CPU, or other load on the rest). Since finding a partner and
 * registering happen under the same mutex, two parties cannot both register without
 * one seeing the other: no lost wake-up. Disconnection selects CHAN_DISCONNECTED on
 * every waiter, also under the mutex. */
#include "chan_internal.h"
#include <sched.h>
#include <string.h>

/* Bounds and start of a thread's rendezvous spin, in looks one pause apart. */
#define ZERO_LOOKS_MIN 8u
#define ZERO_LOOKS_MAX 256u
#define ZERO_LOOKS_START 64u

/* Per thread: how many looks its next rendezvous wait spins for (only this thread
 * touches it). */
static _Thread_local uint32_t zero_looks = ZERO_LOOKS_START;

/* After a wait that a partner completed: seen, the look that saw it (UINT32_MAX: the
 * spin did not); claimer_cpu, the CPU the partner ran on. Seen by the spin: aim at
 * twice that look (room for jitter), moving a quarter of the way. Not seen, and the
 * partner ran on our CPU: it could only run once we yielded, so the spin was time
 * taken from it: halve. Not seen, partner elsewhere: it was running but came late,
 * and a longer spin would have saved the yields or the sleep: double. */
static void zero_adapt(uint32_t seen, int claimer_cpu)
{
    uint32_t n = zero_looks;
    if (seen != UINT32_MAX) {
        n = (3 * n + 2 * seen + ZERO_LOOKS_MIN) / 4;
    } else {
        int cpu = sched_getcpu();
        if (cpu < 0 || claimer_cpu < 0)
            return;
        n = cpu == claimer_cpu ? n / 2 : 2 * n;
    }
    zero_looks = n < ZERO_LOOKS_MIN ? ZERO_LOOKS_MIN : n > ZERO_LOOKS_MAX ? ZERO_LOOKS_MAX : n;
}

int weft__chan_zero_init(weft_chan *c)
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

void weft__chan_zero_destroy(weft_chan *c) { weft_mutex_destroy(&c->u.zero.lock); }

/* A party starts waiting on the send side (send) or receive side: wake every
 * observer of the opposite op, which can now complete. Under the mutex. */
static void zero_wake_watchers(chan_zero *z, bool send)
{
    chan_waitlist *l = send ? &z->watch_recv : &z->watch_send;
    for (chan_waiter *w = l->head, *next; w; w = next) {
        next = w->next;
        if (weft__chan_ctx_select_wake(w->ctx, w->oper))
            weft__chan_waitlist_remove(l, w);
    }
}

/* Shared body of send and recv. try: never block. */
static int zero_op(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    bool wake = false;
    chan_waiter *p = weft__chan_waitlist_try_select(send ? &z->receivers : &z->senders, &wake);
    if (p) {
        weft_mutex_unlock(&z->lock);
        /* The partner waits for `ready`, so its ctx is alive until our store below;
         * waking first lets its wake-up overlap the copy. */
        if (wake)
            weft__chan_ctx_wake(p->ctx);
        if (send)
            chan_copy_msg(p->buf, buf, c->elem_size);
        else
            chan_copy_msg(buf, p->buf, c->elem_size);
        p->claimer_cpu = sched_getcpu();
        /* Release: pairs with the partner's acquire in weft__chan_waiter_wait_ready; our
         * last touch of its entry, ctx and buffer. */
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
    weft__chan_ctx_init(&cx);
    weft__chan_waiter_init(&w, &cx, 0, buf);
    weft__chan_waitlist_push(send ? &z->senders : &z->receivers, &w);
    zero_wake_watchers(z, send);
    weft_mutex_unlock(&z->lock);
    uint32_t seen;
    uint32_t s = weft__chan_ctx_wait_partner(&cx, deadline, zero_looks, &seen);
    if (s == CHAN_OPER(0)) {
        /* The partner unlinked us, and its wake and copy come before `ready`. */
        weft__chan_waiter_wait_ready(&w);
        zero_adapt(seen, w.claimer_cpu);
        return 0;
    }
    weft_mutex_lock(&z->lock);
    weft__chan_waitlist_remove(send ? &z->senders : &z->receivers, &w);
    weft_mutex_unlock(&z->lock);
    return s == CHAN_DISCONNECTED ? -EPIPE : -ETIMEDOUT;
}

int weft__chan_zero_send(weft_chan *c, const void *msg, uint64_t deadline)
{
    return zero_op(c, true, (void *)msg, false, deadline);
}
int weft__chan_zero_try_send(weft_chan *c, const void *msg)
{
    return zero_op(c, true, (void *)msg, true, WEFT_NO_DEADLINE);
}
int weft__chan_zero_recv(weft_chan *c, void *out, uint64_t deadline)
{
    return zero_op(c, false, out, false, deadline);
}
int weft__chan_zero_try_recv(weft_chan *c, void *out)
{
    return zero_op(c, false, out, true, WEFT_NO_DEADLINE);
}

void weft__chan_zero_disconnect(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    if (!z->disconnected) {
        z->disconnected = true;
        weft__chan_waitlist_disconnect(&z->senders);
        weft__chan_waitlist_disconnect(&z->receivers);
        weft__chan_waitlist_disconnect(&z->watch_send);
        weft__chan_waitlist_disconnect(&z->watch_recv);
    }
    weft_mutex_unlock(&z->lock);
}

bool weft__chan_zero_register(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    weft__chan_waitlist_push(send ? &z->senders : &z->receivers, w);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    zero_wake_watchers(z, send);
    weft_mutex_unlock(&z->lock);
    return ready;
}

void weft__chan_zero_unregister(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    weft__chan_waitlist_remove(send ? &z->senders : &z->receivers, w);
    weft_mutex_unlock(&z->lock);
}

bool weft__chan_zero_ready(weft_chan *c, bool send)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    weft_mutex_unlock(&z->lock);
    return ready;
}

bool weft__chan_zero_watch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    weft__chan_waitlist_push(send ? &z->watch_send : &z->watch_recv, w);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    weft_mutex_unlock(&z->lock);
    return ready;
}

void weft__chan_zero_unwatch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    weft_mutex_lock(&z->lock);
    weft__chan_waitlist_remove(send ? &z->watch_send : &z->watch_recv, w);
    weft_mutex_unlock(&z->lock);
}
