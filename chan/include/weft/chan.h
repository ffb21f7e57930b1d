/* weft/chan.h: channels — unbounded, bounded and rendezvous, multi-producer and
 * multi-consumer, with select. Messages are `elem_size` bytes, copied in on send and
 * out on receive; each message is received by exactly one receiver, and messages
 * from one sender arrive in the order it sent them. elem_size 0 makes a signal-only
 * channel (Go's chan struct{}): messages are counted, nothing is copied, and the
 * message / out / select buf pointers may be NULL.
 *
 * A channel is reached through handles: senders (weft_sender) and receivers
 * (weft_receiver), each heap-allocated, cloned and closed independently (Rust's
 * Sender/Receiver, crossbeam's MPMC channels). The channel is freed when its last
 * handle is closed; messages still inside are then passed to the drop callback (if
 * any), so nothing leaks. One handle may be used by one thread at a time for each
 * call; different handles of one channel may be used from any threads at once.
 *
 * Disconnection: once every receiver is closed, sends fail with -EPIPE and the
 * message stays with the caller (it was not consumed). Once every sender is closed,
 * receivers still get every message left, then -EPIPE.
 *
 * Errors: 0, -EINVAL (bad arguments, NULL handle), -EAGAIN (try_: would block),
 * -ETIMEDOUT (timed: deadline passed), -EPIPE (disconnected), -ENOMEM. Using a handle
 * after closing it is undefined behaviour (every build of libweft catches it when it
 * can, while the freed handle's memory is not reused, with -EINVAL). */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include <weft/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_sender weft_sender;
typedef struct weft_receiver weft_receiver;

/* capacity for a channel without a bound (Rust's mpsc::channel): send never blocks. */
#define WEFT_UNBOUNDED SIZE_MAX

/* Called once for each message still in the channel when it is freed. */
typedef void (*weft_drop_fn)(void *ctx, void *msg);

typedef struct weft_chan_options {
    weft_drop_fn drop; /* NULL: undelivered messages are simply discarded */
    void *drop_ctx;
} weft_chan_options;
#define WEFT_CHAN_OPTIONS_INIT {NULL, NULL}

/* Open a channel of elem_size-byte messages. capacity: WEFT_UNBOUNDED (a linked list
 * of blocks, freed as they drain), N > 0 (a ring of N slots: send blocks while full),
 * or 0 (rendezvous: a send completes only when a receiver takes the message). opts
 * NULL means no drop callback. elem_size 0: signal-only, on every flavor (see the top
 * of this file). Returns 0; -EINVAL (tx or rx NULL, capacity * elem_size overflowing,
 * elem_size too large for a slot); -ENOMEM. On error *tx and *rx are untouched. */
WEFT_API int weft_chan_open(size_t elem_size, size_t capacity, const weft_chan_options *opts,
                            weft_sender **tx, weft_receiver **rx);

/* Another sender / receiver of the same channel. Returns 0, -EINVAL, -ENOMEM. */
WEFT_API int weft_sender_clone(weft_sender *tx, weft_sender **out);
WEFT_API int weft_receiver_clone(weft_receiver *rx, weft_receiver **out);
/* Close and free the handle. Closing the last sender disconnects the receivers
 * (after they drain); closing the last receiver disconnects the senders. Blocked
 * calls on other handles return -EPIPE as that applies. Returns 0 or -EINVAL. */
WEFT_API int weft_sender_close(weft_sender *tx);
WEFT_API int weft_receiver_close(weft_receiver *rx);

/* Send a copy of *msg. send blocks while the channel is full (bounded) or until a
 * receiver takes it (rendezvous); try_send never blocks (-EAGAIN when it would);
 * send_timeout gives up after timeout_ns (-ETIMEDOUT). -EPIPE: no receiver is left;
 * the message was not sent. -ENOMEM (unbounded channels only: a new block could not
 * be allocated; the message was not sent). -EINVAL (NULL handle, or msg NULL with
 * elem_size > 0).
 * Thread-safe across handles. */
WEFT_API int weft_chan_send(weft_sender *tx, const void *msg);
WEFT_API int weft_chan_try_send(weft_sender *tx, const void *msg);
WEFT_API int weft_chan_send_timeout(weft_sender *tx, const void *msg, uint64_t timeout_ns);

/* Receive one message into *out (elem_size bytes). recv blocks while the channel is
 * empty; try_recv never blocks (-EAGAIN when empty); recv_timeout gives up after
 * timeout_ns (-ETIMEDOUT). -EPIPE: empty and no sender is left (never for a timer).
 * -EINVAL (NULL handle, or out NULL with elem_size > 0). */
WEFT_API int weft_chan_recv(weft_receiver *rx, void *out);
WEFT_API int weft_chan_try_recv(weft_receiver *rx, void *out);
WEFT_API int weft_chan_recv_timeout(weft_receiver *rx, void *out, uint64_t timeout_ns);

/* `for received in rx`: runs the body once per message until the channel is drained
 * and every sender is gone. `var` must be an lvalue of the message type.
 *     int v; WEFT_CHAN_FOREACH(rx, v) { printf("%d\n", v); } */
#define WEFT_CHAN_FOREACH(rx, var) while (weft_chan_recv((rx), &(var)) == 0)

/* Advisory snapshots (they may be stale by the time they return); any handle of the
 * channel. len: messages inside; capacity: as opened (WEFT_UNBOUNDED, N or 0). */
WEFT_API size_t weft_sender_len(const weft_sender *tx);
WEFT_API size_t weft_receiver_len(const weft_receiver *rx);
WEFT_API size_t weft_sender_capacity(const weft_sender *tx);
WEFT_API size_t weft_receiver_capacity(const weft_receiver *rx);
/* is_empty: no message inside (len == 0). is_full: a send would wait for room
 * (len == capacity). A rendezvous channel is both (it holds nothing, and a send waits
 * for a receiver); an unbounded one is never full. Snapshots as len; an invalid
 * handle gives is_empty true, is_full false. Never fail. */
WEFT_API bool weft_sender_is_empty(const weft_sender *tx);
WEFT_API bool weft_receiver_is_empty(const weft_receiver *rx);
WEFT_API bool weft_sender_is_full(const weft_sender *tx);
WEFT_API bool weft_receiver_is_full(const weft_receiver *rx);
/* True once the other side is entirely closed: for a sender, no receiver is left;
 * for a receiver, no sender is left (messages may remain to drain). */
WEFT_API bool weft_sender_is_disconnected(const weft_sender *tx);
WEFT_API bool weft_receiver_is_disconnected(const weft_receiver *rx);
/* Open sender / receiver handles of the channel (snapshot). */
WEFT_API size_t weft_sender_count(const weft_sender *tx);
WEFT_API size_t weft_receiver_count(const weft_receiver *rx);
/* True if both handles are open handles of one channel (a clone, or the same
 * handle); false otherwise, and if either is NULL. Never fail. */
WEFT_API bool weft_sender_same_channel(const weft_sender *a, const weft_sender *b);
WEFT_API bool weft_receiver_same_channel(const weft_receiver *a, const weft_receiver *b);

/* ------------------------------------------------------------------------------
 * Timer channels (crossbeam's after, tick and never): receivers whose messages the
 * clock makes, for timeouts and heartbeats inside a select loop. A message is a
 * uint64_t (elem_size 8): the time, on weft_time_now_ns's clock, at which it was due
 * (never after the moment it is received). There is no sender handle.
 *
 * A timer takes every receiver call: recv / try_recv / recv_timeout (try_recv:
 * -EAGAIN until a message is due), select (a ready arm once due; a blocking select
 * sleeps no later than its arms' earliest due time), clone (clones share the timer:
 * each message goes to one of them), close (the last close frees it), the snapshots
 * (len 1 while a message is due and not yet taken, else 0; capacity 1, never's 0;
 * is_full when len == capacity, so never() is always full; is_disconnected false).
 * A timer never disconnects: no call on it returns -EPIPE, and where no message
 * will come again, recv blocks for ever (recv_timeout: -ETIMEDOUT).
 *
 * No thread per timer and none for all of them: readiness is computed from the clock
 * inside each call, and a timer costs a channel object and its handles, no more, so
 * any number may be alive at once. Thread-safety as for any receiver. */

/* A timer with one message, due delay_ns from now (a delay beyond the clock's range:
 * never). Once one receiver (of any clone) has taken it, none comes again: try_recv
 * -EAGAIN, recv_timeout -ETIMEDOUT, recv blocks for ever (crossbeam's after, which
 * never disconnects either). Returns 0; -EINVAL (rx NULL); -ENOMEM. On error *rx is
 * untouched. */
WEFT_API int weft_chan_after(uint64_t delay_ns, weft_receiver **rx);
/* A timer with one message per period_ns, the first due period_ns from now. Taking
 * the tick due at D makes the next due at D + period_ns, unless that time has already
 * come (the receiver fell a whole period or more behind): then the ticks it missed
 * are dropped, not queued, and the next is due period_ns after the take. So at most
 * one tick waits at a time, and a slow receiver gets one tick at once, then the next
 * a period later. Returns 0; -EINVAL (rx NULL, period_ns 0); -ENOMEM. On error *rx is
 * untouched. */
WEFT_API int weft_chan_tick(uint64_t period_ns, weft_receiver **rx);
/* A timer that never has a message (crossbeam's never): try_recv -EAGAIN,
 * recv_timeout -ETIMEDOUT, recv blocks for ever; a select arm on it is never chosen
 * (a way to switch an arm off without changing the op list). Returns 0; -EINVAL (rx
 * NULL); -ENOMEM. On error *rx is untouched. */
WEFT_API int weft_chan_never(weft_receiver **rx);

/* ------------------------------------------------------------------------------
 * select: wait on several operations over different channels; exactly one completes.
 * Any receiver can be an arm, timers (above) included. */

typedef enum weft_select_kind {
    WEFT_SELECT_SEND = 1, /* send *buf on .tx */
    WEFT_SELECT_RECV = 2, /* receive into *buf from .rx */
} weft_select_kind;

typedef struct weft_select_op {
    weft_select_kind kind;
    weft_sender *tx;   /* for WEFT_SELECT_SEND */
    weft_receiver *rx; /* for WEFT_SELECT_RECV */
    void *buf;         /* the message to send / where to receive (NULL allowed
                          for a channel of elem_size 0) */
    int result;        /* out: 0, or -EPIPE if this operation found its channel
                          disconnected (a disconnected operation is "ready"), or
                          -ENOMEM (a send on an unbounded channel whose new block
                          could not be allocated: not sent, as weft_chan_send) */
} weft_select_op;

/* Block until one of ops[0..n) can complete, complete exactly that one, and return
 * its index (>= 0); its .result says whether it succeeded (0), found its channel
 * disconnected (-EPIPE) or, a send on an unbounded channel, could not allocate
 * (-ENOMEM: the message was not sent). When several are ready the choice is uniformly
 * random, so no channel starves (also among ops naming the same channel). Returns
 * -EINVAL (ops NULL, n 0 or above INT_MAX, a malformed op: bad kind, NULL handle,
 * NULL buf with elem_size > 0), -ENOMEM (more than 16 ops, whose wait records are
 * then allocated, and that allocation failed). */
WEFT_API int weft_select(weft_select_op *ops, size_t n);
/* Non-blocking: as select, or -EAGAIN if none is ready now. Before giving up it looks
 * at every op twice, the second pass after the first has found none ready: an op
 * that was ready from before that second pass until it was looked at is never
 * missed (e.g. a message moving from one listed channel to another during the call).
 * Errors as select, and -EAGAIN. */
WEFT_API int weft_try_select(weft_select_op *ops, size_t n);
/* As select, giving up after timeout_ns with -ETIMEDOUT (timeout_ns 0: as try_select,
 * with -ETIMEDOUT for -EAGAIN). */
WEFT_API int weft_select_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns);
/* Biased select: when several are ready, the first in ops order wins (priority
 * channels). Blocking, try and timed forms as above. */
WEFT_API int weft_select_biased(weft_select_op *ops, size_t n);
WEFT_API int weft_try_select_biased(weft_select_op *ops, size_t n);
WEFT_API int weft_select_biased_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns);

/* Readiness without completing (crossbeam's Select::ready): block until one of
 * ops[0..n) could complete now, and return its index (>= 0) without performing it
 * (a uniformly random one when several are ready); buf is not used and may be NULL,
 * .result is not written. A disconnected op counts as ready. A rendezvous op is
 * ready while a partner waits in the opposite op. Caveat: it is a snapshot; another
 * thread may take the message (or the room, or the partner) first, so the caller's
 * follow-up try op (weft_chan_try_recv, weft_try_select on ops[i], ...) can still
 * return -EAGAIN: loop. Returns -EINVAL (ops NULL, n 0 or above INT_MAX, bad kind or
 * NULL handle), -ENOMEM (as select). try_select_ready: -EAGAIN if none is ready now
 * (looks twice, as try_select). select_ready_timeout: -ETIMEDOUT after timeout_ns. */
WEFT_API int weft_select_ready(weft_select_op *ops, size_t n);
WEFT_API int weft_try_select_ready(weft_select_op *ops, size_t n);
WEFT_API int weft_select_ready_timeout(weft_select_op *ops, size_t n, uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CHAN_H */
