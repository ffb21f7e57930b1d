/* timer.c: timer channels, receivers whose messages the clock makes (crossbeam's
 * after, tick and never flavors): weft_chan_after (one message, due after a delay),
 * weft_chan_tick (one per period, missed ones dropped) and weft_chan_never (none).
 *
 * A timer is one word, `due`: the time (weft_time_now_ns base) from which its next
 * message may be taken, WEFT_NO_DEADLINE when none will come. No thread and no
 * waiter list: whoever asks (recv, try_recv, select, a snapshot) reads the clock, and
 * a blocked call sleeps until the earliest due time it cares about, then looks again.
 *
 * Invariants:
 *  - The message is the due time D itself, and it is taken by one CAS of `due` from
 *    D to the next due time (after: D -> never; tick: a later deadline). Of the
 *    receivers (clones share the word) racing for one D, exactly one wins.
 *  - `due` only grows, strictly (a tick's period is at least 1 ns, and after's step
 *    is to never), so a CAS from D never succeeds on a D put back later (no ABA), and
 *    a due time seen after a deadline stays after it: a timed recv may sleep to its
 *    deadline and give up without looking again.
 *  - Relaxed atomics throughout: the word is the whole message, nothing else is
 *    published with it, and its modification order alone decides who takes what.
 *  - A timer has no sender and never disconnects: its sender count is a fixed 1 (the
 *    clock, never closed) and `destroy` starts set, so the last receiver's close frees
 *    it through the usual path (chan.c). */
#include "chan_internal.h"
#include <stdlib.h>

#define NEVER WEFT_NO_DEADLINE

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return b >= NEVER - a ? NEVER : a + b;
}

static int timer_open(uint64_t due, uint64_t period, size_t capacity, weft_receiver **rx)
{
    if (!rx)
        return -EINVAL;
    weft_chan *c = aligned_alloc(WEFT_CACHE_LINE, sizeof *c);
    if (!c)
        return -ENOMEM;
    memset(c, 0, sizeof *c);
    c->flavor = CHAN_TIMER;
    c->elem_size = sizeof(uint64_t);
    c->capacity = capacity;
    atomic_init(&c->senders, 1);
    atomic_init(&c->receivers, 1);
    atomic_init(&c->destroy, true);
    atomic_init(&c->u.timer.due, due);
    c->u.timer.period = period;
    weft_receiver *v = weft__chan_receiver_new(c);
    if (!v) {
        free(c);
        return -ENOMEM;
    }
    *rx = v;
    return 0;
}

int weft_chan_after(uint64_t delay_ns, weft_receiver **rx)
{
    return timer_open(weft_deadline_after(delay_ns), 0, 1, rx);
}

int weft_chan_tick(uint64_t period_ns, weft_receiver **rx)
{
    if (period_ns == 0)
        return -EINVAL;
    return timer_open(weft_deadline_after(period_ns), period_ns, 1, rx);
}

int weft_chan_never(weft_receiver **rx)
{
    return timer_open(NEVER, 0, 0, rx);
}

/* The due time after taking the message due at `due`, at time now (>= due). A tick
 * keeps its schedule (due + period) unless that time has come already: the receiver
 * is a whole period or more late, so the ticks it missed are dropped and the
 * schedule restarts one period from now (crossbeam's tick). */
static uint64_t next_due(const chan_timer *t, uint64_t due, uint64_t now)
{
    if (t->period == 0)
        return NEVER;
    uint64_t next = add_saturating(due, t->period);
    return next > now ? next : add_saturating(now, t->period);
}

int weft__chan_timer_try_recv(weft_chan *c, void *out)
{
    chan_timer *t = &c->u.timer;
    /* Relaxed: see the top of the file (the word is the whole message). */
    uint64_t due = atomic_load_explicit(&t->due, memory_order_relaxed);
    for (;;) {
        if (due == NEVER)
            return -EAGAIN;
        uint64_t now = weft_time_now_ns();
        if (now < due)
            return -EAGAIN;
        /* Relaxed: as above; a failed CAS reloads due (a clone took it). */
        if (atomic_compare_exchange_weak_explicit(&t->due, &due, next_due(t, due, now),
                                                  memory_order_relaxed, memory_order_relaxed)) {
            memcpy(out, &due, sizeof due);
            return 0;
        }
    }
}

/* Sleep until the absolute time `until` (NEVER: for ever), on a waiting context that
 * is registered nowhere, so only its deadline ends the wait. */
static void sleep_until(uint64_t until)
{
    chan_ctx cx;
    weft__chan_ctx_init(&cx);
    weft__chan_ctx_wait_until(&cx, until);
}

int weft__chan_timer_recv(weft_chan *c, void *out, uint64_t deadline)
{
    for (;;) {
        int r = weft__chan_timer_try_recv(c, out);
        if (r != -EAGAIN)
            return r;
        uint64_t due = weft__chan_timer_due(c);
        if (deadline < due) {
            /* due only grows: nothing comes before the deadline. Sleep it out, as a
             * timed recv on an empty channel does. */
            sleep_until(deadline);
            return -ETIMEDOUT;
        }
        /* Then race the clones for it (or find the next one). due NEVER with no
         * deadline: for ever, as crossbeam's recv on a spent after or a never. */
        sleep_until(due);
    }
}

bool weft__chan_timer_ready(const weft_chan *c)
{
    uint64_t due = weft__chan_timer_due(c);
    return due != NEVER && weft_time_now_ns() >= due;
}

uint64_t weft__chan_timer_due(const weft_chan *c)
{
    /* Relaxed: see the top of the file. */
    return atomic_load_explicit(&c->u.timer.due, memory_order_relaxed);
}
