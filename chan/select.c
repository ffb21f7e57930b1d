/* select.c: weft_select and its try / timed / biased forms: complete exactly one of
 * several channel operations.
 *
 * Each round: try every operation once with the flavors' non-blocking calls, in a
 * uniformly random order (biased forms: in order); the first that is ready
 * completes (a disconnected one is ready with -EPIPE). If none is, register
 * one chan_ctx on every operation's channel (one chan_waiter each, in the same
 * random order, so that duplicate channels in one list stay fair), re-check
 * readiness (seq_cst, after registering: the pair of the notifiers' seq_cst flag
 * load, see waiters.c), abort the ctx if any is ready, and sleep on the ctx.
 * A timer (timer.c) has no list and no notifier: its op is ready once the clock
 * reaches its due time, so the sleep ends by then at the latest (the earliest due
 * time of the timer ops bounds the deadline), and the next round takes it.
 * Invariants:
 *  - Exactly one operation completes: on a rendezvous channel the partner completes
 *    the hand-off only after claiming our ctx with a CAS (so only one partner can);
 *    on the other flavors we only complete an operation ourselves.
 *  - A wake for operation i (a notifier picked us for it) is honoured by trying i
 *    first, before any other: the message it announced is taken by us or by someone
 *    else, never left behind with another receiver asleep.
 *  - Every entry is unregistered under its list's mutex before we return, so the ctx
 *    and waiters (on our stack, or malloc'ed beyond SELECT_STACK_OPS) outlive every
 *    party's use of them. */
#include "chan_internal.h"
#include <limits.h>
#include <stdlib.h>

#define SELECT_STACK_OPS 16

static weft_chan *op_chan(const weft_select_op *op)
{
    if (op->kind == WEFT_SELECT_SEND)
        return weft__chan_of_sender(op->tx);
    if (op->kind == WEFT_SELECT_RECV)
        return weft__chan_of_receiver(op->rx);
    return NULL;
}

static int op_try(weft_select_op *op)
{
    weft_chan *c = op_chan(op);
    bool send = op->kind == WEFT_SELECT_SEND;
    switch (c->flavor) {
    case CHAN_ARRAY:
        return send ? weft__chan_array_try_send(c, op->buf) : weft__chan_array_try_recv(c, op->buf);
    case CHAN_LIST:
        return send ? weft__chan_list_send(c, op->buf) : weft__chan_list_try_recv(c, op->buf);
    case CHAN_ZERO:
        return send ? weft__chan_zero_try_send(c, op->buf) : weft__chan_zero_try_recv(c, op->buf);
    case CHAN_TIMER:
        return weft__chan_timer_try_recv(c, op->buf); /* a timer has receivers only */
    }
    return -EINVAL;
}

/* weft_select_ready: is op possible now? 0 if so, -EAGAIN if not (op_try's results,
 * without performing it). A disconnected op is possible (it would fail at once). */
static int op_peek(weft_select_op *op)
{
    weft_chan *c = op_chan(op);
    bool send = op->kind == WEFT_SELECT_SEND;
    bool ready = true;
    switch (c->flavor) {
    case CHAN_ARRAY:
        ready = send ? weft__chan_array_send_ready(c) : weft__chan_array_recv_ready(c);
        break;
    case CHAN_LIST:
        ready = send || weft__chan_list_recv_ready(c);
        break;
    case CHAN_ZERO:
        ready = weft__chan_zero_ready(c, send);
        break;
    case CHAN_TIMER:
        ready = weft__chan_timer_ready(c);
        break;
    }
    return ready ? 0 : -EAGAIN;
}

/* Register w for op (peek: as an observer, see weft_select_ready); true if the op is
 * ready now. A timer registers nothing: it lowers *wake, the time the sleep must end
 * by, to its due time instead. */
static bool op_register(weft_select_op *op, chan_waiter *w, bool peek, uint64_t *wake)
{
    weft_chan *c = op_chan(op);
    bool send = op->kind == WEFT_SELECT_SEND;
    w->observer = peek;
    switch (c->flavor) {
    case CHAN_ARRAY:
        weft__chan_waker_register(send ? &c->u.array.senders : &c->u.array.receivers, w);
        return false;
    case CHAN_LIST:
        if (send)
            return true; /* an unbounded send is always possible */
        weft__chan_waker_register(&c->u.list.receivers, w);
        return false;
    case CHAN_ZERO:
        return peek ? weft__chan_zero_watch(c, send, w) : weft__chan_zero_register(c, send, w);
    case CHAN_TIMER: {
        uint64_t due = weft__chan_timer_due(c);
        if (due < *wake)
            *wake = due;
        return weft__chan_timer_ready(c);
    }
    }
    return true;
}

/* Seq_cst re-check after every registration (array and list; rendezvous checked
 * under its mutex in op_register; a timer by the clock). */
static bool op_ready(weft_select_op *op)
{
    weft_chan *c = op_chan(op);
    bool send = op->kind == WEFT_SELECT_SEND;
    switch (c->flavor) {
    case CHAN_ARRAY:
        return send ? weft__chan_array_send_ready(c) : weft__chan_array_recv_ready(c);
    case CHAN_LIST:
        return send || weft__chan_list_recv_ready(c);
    case CHAN_ZERO:
        return false;
    case CHAN_TIMER:
        return weft__chan_timer_ready(c);
    }
    return true;
}

static void op_unregister(weft_select_op *op, chan_waiter *w, bool peek)
{
    weft_chan *c = op_chan(op);
    bool send = op->kind == WEFT_SELECT_SEND;
    switch (c->flavor) {
    case CHAN_ARRAY:
        weft__chan_waker_unregister(send ? &c->u.array.senders : &c->u.array.receivers, w);
        break;
    case CHAN_LIST:
        if (!send)
            weft__chan_waker_unregister(&c->u.list.receivers, w);
        break;
    case CHAN_ZERO:
        if (peek)
            weft__chan_zero_unwatch(c, send, w);
        else
            weft__chan_zero_unregister(c, send, w);
        break;
    case CHAN_TIMER:
        break; /* registered nowhere */
    }
}

/* True if two ops name the same channel on the same side (quadratic: only computed
 * before going to sleep, and op lists are short). */
static bool has_duplicate(const weft_select_op *ops, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (ops[i].kind == ops[j].kind && op_chan(&ops[i]) == op_chan(&ops[j]))
                return true;
    return false;
}

/* peek: weft_select_ready (find a ready op, perform nothing). */
static int select_impl(weft_select_op *ops, size_t n, bool biased, bool try, uint64_t deadline,
                       bool peek)
{
    if (!ops || n == 0 || n > INT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!op_chan(&ops[i]) || (!peek && !ops[i].buf && op_chan(&ops[i])->elem_size))
            return -EINVAL;
    chan_waiter stack_w[SELECT_STACK_OPS];
    size_t stack_idx[SELECT_STACK_OPS];
    chan_waiter *w = stack_w;
    size_t *idx = stack_idx;
    if (n > SELECT_STACK_OPS) {
        w = malloc(n * (sizeof *w + sizeof *idx));
        if (!w)
            return -ENOMEM;
        idx = (size_t *)(void *)(w + n);
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* The shuffle's random state lives in the first op's handle (a clock read per
     * select is dear in a busy select loop); written back before returning. */
    uint64_t *rng_home = ops[0].kind == WEFT_SELECT_SEND ? weft__chan_sender_rng(ops[0].tx)
                                                         : weft__chan_receiver_rng(ops[0].rx);
    uint64_t rng = *rng_home;
    int result = -EAGAIN;
    size_t first = SIZE_MAX; /* an op we were woken for: try it before the others */
    weft_backoff b = WEFT_BACKOFF_INIT;
    bool second = false; /* the pass before giving up (try, or deadline passed) */
    int dup = -1;        /* does a channel appear in two ops? Found when first needed */
    for (;;) {
        if (first != SIZE_MAX) {
            int r = peek ? op_peek(&ops[first]) : op_try(&ops[first]);
            if (r != -EAGAIN) {
                if (!peek)
                    ops[first].result = r;
                result = (int)first;
                break;
            }
            first = SIZE_MAX;
        }
        /* Try in order (biased) or in a uniformly random order (a Fisher-Yates
         * shuffle drawn as we go): the first ready op is then uniform among the
         * ready ones. The second pass before giving up keeps the order. */
        for (size_t k = 0; k < n && result < 0; k++) {
            if (!biased && !second && k + 1 < n) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                size_t j = k + (size_t)(rng % (n - k));
                size_t t = idx[k];
                idx[k] = idx[j];
                idx[j] = t;
            }
            size_t i = idx[k];
            int r = peek ? op_peek(&ops[i]) : op_try(&ops[i]);
            if (r != -EAGAIN) {
                if (!peek)
                    ops[i].result = r;
                result = (int)i;
            }
        }
        if (result >= 0)
            break;
        if (try || weft_deadline_passed(deadline)) {
            /* Before giving up, a second pass in the same order. One pass is not
             * linearizable: it may find c2 empty, then c1 empty because c1 was
             * drained after c2 was filled, although one of them held a message at
             * every instant. After the second pass every op has been seen not ready
             * after every op had been seen not ready once; so an op that became
             * ready at any point before the second pass began, and stayed ready
             * until that pass looked at it, is taken. That covers a message that
             * moves between the channels while we look, the case above. It is not
             * a snapshot of all the channels at one instant: an op whose readiness
             * comes and goes between our two looks at it can still be missed (it
             * was not ready when we looked, and the caller cannot tell when else).
             * The blocking path needs no such pass: it registers on every channel
             * and re-checks (below), and a notifier then wakes it. */
            if (!second) {
                second = true;
                continue;
            }
            result = try ? -EAGAIN : -ETIMEDOUT;
            break;
        }
        if (!weft_backoff_is_completed(&b)) { /* a short spin-then-yield before sleeping */
            weft_backoff_snooze(&b);
            continue;
        }
        chan_ctx cx;
        weft__chan_ctx_init(&cx);
        bool ready = false;
        /* A partner or notifier takes the first waiter of a channel's list, so
         * with the same channel in several ops, registering in index order would
         * hand most wakes to the lowest index: then register in the order of the
         * last pass (a uniformly random permutation; biased: ops order). With
         * distinct channels the order decides nothing and index order is kept (a
         * random order measured slower in a busy select loop over distinct
         * unbounded channels). */
        if (dup < 0)
            dup = has_duplicate(ops, n);
        uint64_t wake = deadline; /* and no later than the first timer's due time */
        for (size_t k = 0; k < n; k++) {
            size_t i = dup ? idx[k] : k;
            weft__chan_waiter_init(&w[i], &cx, i, ops[i].buf);
            ready |= op_register(&ops[i], &w[i], peek, &wake);
        }
        for (size_t i = 0; i < n && !ready; i++)
            ready = op_ready(&ops[i]);
        if (ready)
            weft__chan_ctx_try_select(&cx, CHAN_ABORTED);
        /* Woken at wake without a choice (ABORTED): the next round finds the timer
         * due, or, past the caller's deadline, gives up after its second pass. */
        uint32_t s = weft__chan_ctx_wait_until(&cx, wake);
        size_t chosen = s >= CHAN_OPER(0) ? CHAN_OPER_INDEX(s) : SIZE_MAX;
        /* An observer is never handed a message: it only learns of readiness. */
        bool handed = !peek && chosen != SIZE_MAX && op_chan(&ops[chosen])->flavor == CHAN_ZERO;
        if (handed)
            weft__chan_waiter_wait_ready(&w[chosen]); /* the partner completed it for us */
        for (size_t i = 0; i < n; i++)
            op_unregister(&ops[i], &w[i], peek);
        if (handed) {
            ops[chosen].result = 0;
            result = (int)chosen;
            break;
        }
        first = chosen;
    }
    if (!biased)
        *rng_home = rng;
    if (w != stack_w)
        free(w);
    return result;
}

int weft_select(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, false, false, WEFT_NO_DEADLINE, false);
}
int weft_try_select(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, false, true, WEFT_NO_DEADLINE, false);
}
int weft_select_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns)
{
    return select_impl(ops, n, false, false, weft_deadline_after(timeout_ns), false);
}
int weft_select_biased(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, true, false, WEFT_NO_DEADLINE, false);
}
int weft_try_select_biased(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, true, true, WEFT_NO_DEADLINE, false);
}
int weft_select_biased_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns)
{
    return select_impl(ops, n, true, false, weft_deadline_after(timeout_ns), false);
}

int weft_select_ready(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, false, false, WEFT_NO_DEADLINE, true);
}
int weft_try_select_ready(weft_select_op *ops, size_t n)
{
    return select_impl(ops, n, false, true, WEFT_NO_DEADLINE, true);
}
int weft_select_ready_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns)
{
    return select_impl(ops, n, false, false, weft_deadline_after(timeout_ns), true);
}
