/* array.c: the bounded channel flavor, a ring of `cap` slots with per-slot sequence
 * stamps (Vyukov's bounded MPMC queue, as crossbeam-channel's array flavor).
 *
 * head and tail are {lap, index} words: index in the low bits (below mark_bit), the
 * lap in multiples of one_lap = 2 * mark_bit; tail also carries mark_bit once the
 * channel is disconnected. Slot i's stamp says whose turn it is:
 *  - stamp == tail: free for the sender that moves tail past it (CAS on tail);
 *  - stamp == tail + 1 (as the sender left it) == head + 1: full, for the receiver
 *    that moves head past it; the receiver leaves head + one_lap (free next lap).
 * Memory orders: the sender's release store of stamp after writing the message pairs
 * with the receiver's acquire load of stamp before reading it; the receiver's release
 * store after reading pairs with the next sender's acquire load before overwriting.
 * head and tail move by seq_cst CAS, and the "is it empty / full" checks load the
 * other index after a seq_cst fence (crossbeam's order): the CAS is also what a
 * sleeper's re-check reads, pairing with weft__chan_waker_notify's seq_cst flag load, so a
 * sleeper either sees the change or is seen by the notifier (no lost wake-up).
 * Blocking calls spin a little before sleeping (weft__chan_block_wait); while they
 * spin they poll only the next slot's stamp, not the other side's index
 * (array_may_proceed). Nor do their tries before the spin ends (array_send_step /
 * array_recv_step with exact = false): a slot whose stamp says full (for a sender)
 * or empty (for a receiver) is reported as -EAGAIN without the fence and the load
 * of the other side's index, which would pull that index's line away from the side
 * that writes it on every message of a nearly full or nearly empty channel. Such a
 * verdict may be early by one operation in flight (a receiver between its head CAS
 * and its stamp store, say) and does not see a disconnection when the receiver's
 * slot is empty; the exact try that ends the spin, and the seq_cst re-check before
 * every sleep, see both. */
#include "chan_internal.h"
#include <stdlib.h>
#include <string.h>

static inline _Atomic size_t *stamp_at(const chan_array *a, size_t i)
{
    return (_Atomic size_t *)(void *)(a->slots + i * a->stride);
}
static inline unsigned char *msg_at(const chan_array *a, size_t i)
{
    return a->slots + i * a->stride + sizeof(size_t);
}

int weft__chan_array_init(weft_chan *c)
{
    chan_array *a = &c->u.array;
    size_t stride = sizeof(size_t) + c->elem_size;
    stride = (stride + sizeof(size_t) - 1) / sizeof(size_t) * sizeof(size_t);
    if (stride < c->elem_size || c->capacity > SIZE_MAX / 4 || c->capacity > SIZE_MAX / stride)
        return -EINVAL;
    size_t mark = 1;
    while (mark < c->capacity + 1)
        mark <<= 1;
    a->cap = c->capacity;
    a->mark_bit = mark;
    a->one_lap = mark * 2;
    a->stride = stride;
    a->slots = malloc(a->cap * stride);
    if (!a->slots)
        return -ENOMEM;
    for (size_t i = 0; i < a->cap; i++)
        atomic_init(stamp_at(a, i), i);
    atomic_init(&a->head, 0);
    atomic_init(&a->tail, 0);
    weft__chan_waker_init(&a->senders);
    weft__chan_waker_init(&a->receivers);
    return 0;
}

size_t weft__chan_array_len(const weft_chan *c)
{
    const chan_array *a = &c->u.array;
    for (;;) {
        /* SeqCst: a consistent snapshot of the two indices (advisory). */
        size_t tail = atomic_load_explicit((_Atomic size_t *)&a->tail, memory_order_seq_cst);
        size_t head = atomic_load_explicit((_Atomic size_t *)&a->head, memory_order_seq_cst);
        if (atomic_load_explicit((_Atomic size_t *)&a->tail, memory_order_seq_cst) != tail)
            continue;
        size_t hix = head & (a->mark_bit - 1), tix = tail & (a->mark_bit - 1);
        if (hix < tix)
            return tix - hix;
        if (hix > tix)
            return a->cap - hix + tix;
        return (tail & ~a->mark_bit) == head ? 0 : a->cap;
    }
}

void weft__chan_array_destroy(weft_chan *c)
{
    chan_array *a = &c->u.array;
    if (c->drop) {
        size_t n = weft__chan_array_len(c);
        size_t hix = atomic_load_explicit(&a->head, memory_order_relaxed) & (a->mark_bit - 1);
        for (size_t i = 0; i < n; i++) {
            size_t ix = hix + i < a->cap ? hix + i : hix + i - a->cap;
            c->drop(c->drop_ctx, msg_at(a, ix));
        }
    }
    free(a->slots);
}

/* The full / empty verdict's look at the other side's index: a seq_cst fence, then
 * the index (relaxed: ordered by the fence). noinline: the fence (GCC's TSan refuses
 * an inlined one, and the steps that call it are always_inline). */
static __attribute__((noinline)) size_t fenced_load(_Atomic size_t *index)
{
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(index, memory_order_relaxed);
}

/* One try to send: 0, -EPIPE, or -EAGAIN (full; when !exact, also when the slot's
 * stamp says full but a receiver may be taking it: see the file comment). */
static inline __attribute__((always_inline)) int array_send_step(weft_chan *c, const void *msg,
                                                                 bool exact)
{
    chan_array *a = &c->u.array;
    weft_backoff b = WEFT_BACKOFF_INIT;
    size_t tail = atomic_load_explicit(&a->tail, memory_order_relaxed);
    for (;;) {
        if (tail & a->mark_bit)
            return -EPIPE;
        size_t index = tail & (a->mark_bit - 1);
        size_t lap = tail & ~(a->one_lap - 1);
        /* Acquire: pairs with the receiver's release store of this stamp, so its read
         * of the old message happened before we overwrite it. */
        size_t stamp = atomic_load_explicit(stamp_at(a, index), memory_order_acquire);
        if (tail == stamp) {
            size_t next = index + 1 < a->cap ? tail + 1 : lap + a->one_lap;
            /* SeqCst: orders the claim before the is_empty load in notify (and pairs
             * with the waiters' seq_cst re-checks); see the file comment. */
            if (atomic_compare_exchange_weak_explicit(&a->tail, &tail, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                chan_copy_msg(msg_at(a, index), msg, c->elem_size);
                /* Release: pairs with the receiver's acquire load of the stamp. */
                atomic_store_explicit(stamp_at(a, index), tail + 1, memory_order_release);
                weft__chan_waker_notify(&a->receivers);
                return 0;
            }
            weft_backoff_spin(&b);
        } else if (stamp + a->one_lap == tail + 1) {
            if (!exact)
                return -EAGAIN;
            /* The fence pairs with the receivers' head CAS, so a full verdict is
             * not based on a stale head. */
            size_t head = fenced_load(&a->head);
            if (head + a->one_lap == tail)
                return -EAGAIN;
            weft_backoff_spin(&b);
            tail = atomic_load_explicit(&a->tail, memory_order_relaxed);
        } else {
            /* A receiver is between its head CAS and its stamp store. */
            weft_backoff_snooze(&b);
            tail = atomic_load_explicit(&a->tail, memory_order_relaxed);
        }
    }
}

/* One try to receive: 0, -EPIPE, or -EAGAIN (empty; when !exact, also when the
 * slot's stamp says empty but the channel is disconnected, or a sender may be
 * filling it: see the file comment). */
static inline __attribute__((always_inline)) int array_recv_step(weft_chan *c, void *out, bool exact)
{
    chan_array *a = &c->u.array;
    weft_backoff b = WEFT_BACKOFF_INIT;
    size_t head = atomic_load_explicit(&a->head, memory_order_relaxed);
    for (;;) {
        size_t index = head & (a->mark_bit - 1);
        size_t lap = head & ~(a->one_lap - 1);
        /* Acquire: pairs with the sender's release store of the stamp (the message). */
        size_t stamp = atomic_load_explicit(stamp_at(a, index), memory_order_acquire);
        if (head + 1 == stamp) {
            size_t next = index + 1 < a->cap ? head + 1 : lap + a->one_lap;
            /* SeqCst: as the tail CAS in try_send, for the senders' waker. */
            if (atomic_compare_exchange_weak_explicit(&a->head, &head, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                chan_copy_msg(out, msg_at(a, index), c->elem_size);
                /* Release: pairs with the next lap's sender's acquire load. */
                atomic_store_explicit(stamp_at(a, index), head + a->one_lap, memory_order_release);
                weft__chan_waker_notify(&a->senders);
                return 0;
            }
            weft_backoff_spin(&b);
        } else if (stamp == head) {
            if (!exact)
                return -EAGAIN;
            /* The fence pairs with the senders' tail CAS (see array_send_step). */
            size_t tail = fenced_load(&a->tail);
            if ((tail & ~a->mark_bit) == head)
                return (tail & a->mark_bit) ? -EPIPE : -EAGAIN;
            weft_backoff_spin(&b);
            head = atomic_load_explicit(&a->head, memory_order_relaxed);
        } else {
            /* A sender is between its tail CAS and its stamp store. */
            weft_backoff_snooze(&b);
            head = atomic_load_explicit(&a->head, memory_order_relaxed);
        }
    }
}

int weft__chan_array_try_send(weft_chan *c, const void *msg) { return array_send_step(c, msg, true); }
int weft__chan_array_try_recv(weft_chan *c, void *out) { return array_recv_step(c, out, true); }

bool weft__chan_array_send_ready(weft_chan *c)
{
    chan_array *a = &c->u.array;
    /* SeqCst: the waiter's re-check after registering (see waiters.c). */
    size_t tail = atomic_load_explicit(&a->tail, memory_order_seq_cst);
    size_t head = atomic_load_explicit(&a->head, memory_order_seq_cst);
    return (tail & a->mark_bit) || head + a->one_lap != tail;
}

bool weft__chan_array_recv_ready(weft_chan *c)
{
    chan_array *a = &c->u.array;
    /* SeqCst: as in send_ready. */
    size_t head = atomic_load_explicit(&a->head, memory_order_seq_cst);
    size_t tail = atomic_load_explicit(&a->tail, memory_order_seq_cst);
    return (tail & a->mark_bit) || (tail & ~a->mark_bit) != head;
}

/* While spinning before sleeping: may the operation succeed now? Looks only at the
 * next slot's stamp (the line the other side writes anyway), not at the other
 * side's index: a full try call would, after its seq_cst fence, pull that index's
 * line away from the other side on every spin. A hint (relaxed): the try call that
 * follows decides; disconnection is seen by it once the spin phase ends. */
static bool array_may_proceed(chan_array *a, bool send)
{
    /* Relaxed (all three): a hint, see above. */
    size_t pos = atomic_load_explicit(send ? &a->tail : &a->head, memory_order_relaxed);
    if (send && (pos & a->mark_bit))
        return true;
    size_t stamp = atomic_load_explicit(stamp_at(a, pos & (a->mark_bit - 1)), memory_order_relaxed);
    return send ? stamp == pos : stamp == pos + 1;
}

/* The blocking paths (entered after a first try failed). */
static int array_try_send_op(weft_chan *c, void *msg) { return weft__chan_array_try_send(c, msg); }
static int array_spin_send_op(weft_chan *c, void *msg) { return array_send_step(c, msg, false); }
static int array_spin_recv_op(weft_chan *c, void *out) { return array_recv_step(c, out, false); }
static bool array_send_may_proceed(weft_chan *c) { return array_may_proceed(&c->u.array, true); }
static bool array_recv_may_proceed(weft_chan *c) { return array_may_proceed(&c->u.array, false); }

static __attribute__((noinline)) int array_send_wait(weft_chan *c, void *msg, uint64_t deadline)
{
    return weft__chan_block_wait(c, msg, deadline, &c->u.array.senders, array_try_send_op,
                                 array_spin_send_op, array_send_may_proceed,
                                 weft__chan_array_send_ready);
}

static __attribute__((noinline)) int array_recv_wait(weft_chan *c, void *out, uint64_t deadline)
{
    return weft__chan_block_wait(c, out, deadline, &c->u.array.receivers, weft__chan_array_try_recv,
                                 array_spin_recv_op, array_recv_may_proceed,
                                 weft__chan_array_recv_ready);
}

/* The first try is the spin's kind (not exact): the wait's own exact try decides
 * before any timeout or sleep. */
int weft__chan_array_send(weft_chan *c, const void *msg, uint64_t deadline)
{
    int r = array_send_step(c, msg, false);
    return r != -EAGAIN ? r : array_send_wait(c, (void *)msg, deadline);
}

int weft__chan_array_recv(weft_chan *c, void *out, uint64_t deadline)
{
    int r = array_recv_step(c, out, false);
    return r != -EAGAIN ? r : array_recv_wait(c, out, deadline);
}

void weft__chan_array_disconnect(weft_chan *c)
{
    chan_array *a = &c->u.array;
    /* SeqCst: like the tail CAS, so sleepers' re-checks and try_ see the mark. */
    size_t tail = atomic_fetch_or_explicit(&a->tail, a->mark_bit, memory_order_seq_cst);
    if (!(tail & a->mark_bit)) {
        weft__chan_waker_disconnect(&a->senders);
        weft__chan_waker_disconnect(&a->receivers);
    }
}
