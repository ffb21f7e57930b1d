/* list.c: the unbounded channel flavor, a linked list of blocks of BLOCK_CAP slots
 * (crossbeam-channel's list flavor), with lock-free send and receive.
 *
 * Positions (head and tail) are {index, block}: index counts slots << SHIFT, with
 * LAP = BLOCK_CAP + 1 indices per block (the extra one, offset BLOCK_CAP, means "the
 * next block is being installed: wait"). Low bit MARK_BIT: in tail, disconnected; in
 * head, "the head block has a successor" (so a receiver need not look at tail).
 * Invariants:
 *  - A sender owns slot (tail >> SHIFT) once its seq_cst CAS on tail.index succeeds;
 *    it writes the message, then stores the slot's `written` byte (release; it is
 *    that byte's only writer, so no read-modify-write). The sender that takes a
 *    block's last slot installs the next block (allocated beforehand) in tail.block,
 *    tail.index and block->next (release), in that order.
 *  - A receiver owns slot (head >> SHIFT) once its seq_cst CAS on head.index
 *    succeeds; it waits for `written` (acquire, pairs with the sender's release),
 *    copies the message, then sets READ in the slot's `state` byte (fetch_or). The
 *    receiver of a block's last slot moves head to the next block (waiting for
 *    block->next, acquire).
 *  - Block reclamation (crossbeam's DESTROY protocol): the receiver of the last slot
 *    starts destroying the block; it walks the other slots and, for a slot whose
 *    READ bit is not yet set, sets DESTROY and stops: that slot's receiver, seeing
 *    DESTROY in its fetch_or (acq_rel), continues the walk from the next slot. So
 *    exactly one thread frees each block, after every reader of it is done.
 *  - Blocks come from malloc until the channel's live blocks reach SLAB_AFTER_BYTES,
 *    then from the channel's slabs (slab.c: 2 MiB huge pages, so a burst does not
 *    page-fault every 4 KiB). block_release decides where a block goes: a slab block
 *    back to its slab (which hands it out again before carving a fresh one, so a
 *    steady backlog maps no new slab), a malloc block to the one-block spare cache
 *    (CAS on `spare`) or to free(). After a burst drains, at most the current block
 *    and one spare stay allocated, in at most one (trimmed) slab.
 *  - A receiver never touches a block before its CAS claims a slot in it (other
 *    receivers could free it), except a lone receiver (one receiver handle: no
 *    other receiving thread), which first looks at its slot's `written`: if set,
 *    the slot's sender moved tail past it, so it skips the empty check. A lone
 *    receiver also sets READ with a plain release store: no destroyer can run on
 *    its block before it claims the block's last slot itself; and while it spins
 *    before sleeping it polls that `written` instead of tail (list_lone_may_proceed).
 *  - Empty checks load tail after a seq_cst fence (receivers) and the head/tail
 *    CASes are seq_cst, which pairs with the waiters' seq_cst re-checks and the
 *    seq_cst flag load in weft__chan_waker_notify: no lost wake-up (see waiters.c). */
#include "chan_internal.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SHIFT 1u
#define MARK_BIT 1u
#define LAP 32u
#define BLOCK_CAP (LAP - 1u)

#define READ 1u
#define DESTROY 2u

/* Live blocks worth this much memory switch allocation to slabs: a small channel
 * never maps a 2 MiB slab. */
#define SLAB_AFTER_BYTES ((size_t)256 << 10)

/* A block: BLOCK_CAP slots, each with two state bytes and a message. The state bytes
 * sit in two arrays rather than beside each message (10 bytes per size_t message
 * instead of 16: a burst into an unbounded channel touches, and page-faults, that
 * much less fresh memory). `written[i]` has one writer (slot i's sender), so a plain
 * release store sets it; `state[i]` (READ, DESTROY) is raced by slot i's receiver
 * and the block's destroyer, so both use fetch_or. `written` shares the first line
 * with `next`; `state` follows the messages (receivers only touch it). */
struct chan_list_block {
    _Atomic(chan_list_block *) next;
    _Atomic unsigned char written[BLOCK_CAP];
    unsigned char in_slab; /* from weft__chan_slab_alloc (set before the block is published) */
    /* BLOCK_CAP messages of stride bytes, then BLOCK_CAP state bytes. */
    _Alignas(sizeof(size_t)) unsigned char data[];
};
_Static_assert(offsetof(chan_list_block, data) == sizeof(void *) + BLOCK_CAP + 1,
               "in_slab takes the padding before data: the block does not grow");

static size_t block_bytes(size_t stride)
{
    return sizeof(chan_list_block) + BLOCK_CAP * (stride + 1);
}

static inline _Atomic unsigned char *written_at(chan_list_block *b, size_t i)
{
    return &b->written[i];
}
static inline _Atomic unsigned char *state_at(const chan_list *l, chan_list_block *b, size_t i)
{
    return (_Atomic unsigned char *)(void *)(b->data + BLOCK_CAP * l->stride + i);
}
static inline unsigned char *msg_at(const chan_list *l, chan_list_block *b, size_t i)
{
    return b->data + i * l->stride;
}

static chan_list_block *block_new(chan_list *l)
{
    /* Acquire: pairs with the release CAS that put the block in the spare slot, so
     * the previous owners' accesses happened before our reuse. Looked at first (relaxed:
     * a hint) so that, once blocks come from slabs and the spare stays empty, block_new
     * makes no locked write to the line the receivers' frees write too. */
    chan_list_block *b = NULL;
    if (atomic_load_explicit(&l->spare, memory_order_relaxed))
        b = atomic_exchange_explicit(&l->spare, NULL, memory_order_acquire);
    if (!b) {
        /* Relaxed: a size estimate; a race moves the switch to slabs by a block. */
        if (atomic_load_explicit(&l->live_blocks, memory_order_relaxed) >= l->slab_after_blocks)
            b = weft__chan_slab_alloc(&l->slabs);
        if (b) {
            b->in_slab = 1;
        } else {
            b = malloc(block_bytes(l->stride));
            if (!b)
                return NULL;
            b->in_slab = 0;
        }
        atomic_fetch_add_explicit(&l->live_blocks, 1, memory_order_relaxed);
    }
    /* Not published yet: plain zeroing of both byte arrays (two short memsets, not a
     * loop of byte stores). */
    atomic_init(&b->next, NULL);
    memset((void *)written_at(b, 0), 0, BLOCK_CAP);
    memset((void *)state_at(l, b, 0), 0, BLOCK_CAP);
    return b;
}

/* A block nobody uses any more: back to its slab, or to the spare cache or free(). */
static void block_release(chan_list *l, chan_list_block *b)
{
    if (!b->in_slab) {
        chan_list_block *expect = NULL;
        /* Release: pairs with the acquire exchange in block_new. */
        if (atomic_compare_exchange_strong_explicit(&l->spare, &expect, b, memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
    /* Relaxed: a count; the slabs use it only to tell a drained channel (trim). */
    size_t left = atomic_fetch_sub_explicit(&l->live_blocks, 1, memory_order_relaxed) - 1;
    if (b->in_slab)
        weft__chan_slab_free(&l->slabs, b, left);
    else
        free(b);
}

int weft__chan_list_init(weft_chan *c)
{
    chan_list *l = &c->u.list;
    /* Messages keep size_t alignment (as the block's data). */
    size_t stride = (c->elem_size + sizeof(size_t) - 1) / sizeof(size_t) * sizeof(size_t);
    if (stride < c->elem_size || stride >= (SIZE_MAX - sizeof(chan_list_block)) / BLOCK_CAP - 1)
        return -EINVAL;
    l->stride = stride;
    atomic_init(&l->head.index, 0);
    atomic_init(&l->head.block, NULL);
    atomic_init(&l->tail.index, 0);
    atomic_init(&l->tail.block, NULL);
    atomic_init(&l->spare, NULL);
    atomic_init(&l->live_blocks, 0);
    weft__chan_slabs_init(&l->slabs, block_bytes(stride));
    l->slab_after_blocks = (SLAB_AFTER_BYTES + block_bytes(stride) - 1) / block_bytes(stride);
    weft__chan_waker_init(&l->receivers);
    return 0;
}

int weft__chan_list_send(weft_chan *c, const void *msg)
{
    chan_list *l = &c->u.list;
    weft_backoff b = WEFT_BACKOFF_INIT;
    /* Acquire (index, block): pairs with the release stores of the sender that
     * installed the current block. */
    size_t tail = atomic_load_explicit(&l->tail.index, memory_order_acquire);
    chan_list_block *block = atomic_load_explicit(&l->tail.block, memory_order_acquire);
    chan_list_block *next_block = NULL;
    for (;;) {
        if (tail & MARK_BIT) {
            if (next_block)
                block_release(l, next_block);
            return -EPIPE;
        }
        size_t offset = (tail >> SHIFT) % LAP;
        if (offset == BLOCK_CAP) { /* the next block is being installed */
            weft_backoff_snooze(&b);
            tail = atomic_load_explicit(&l->tail.index, memory_order_acquire);
            block = atomic_load_explicit(&l->tail.block, memory_order_acquire);
            continue;
        }
        if (offset + 1 == BLOCK_CAP && !next_block) {
            next_block = block_new(l);
            if (!next_block)
                return -ENOMEM;
        }
        if (!block) { /* the very first message: install the first block */
            chan_list_block *nb = next_block ? next_block : block_new(l);
            if (!nb)
                return -ENOMEM;
            next_block = NULL;
            chan_list_block *expect = NULL;
            /* Release: the block's initialisation is visible to whoever loads it. */
            if (atomic_compare_exchange_strong_explicit(&l->tail.block, &expect, nb,
                                                        memory_order_release, memory_order_relaxed)) {
                /* Release: pairs with receivers' acquire load of head.block. */
                atomic_store_explicit(&l->head.block, nb, memory_order_release);
                block = nb;
            } else {
                next_block = nb;
                /* Acquire: as the loads at the top of this function. */
                tail = atomic_load_explicit(&l->tail.index, memory_order_acquire);
                block = atomic_load_explicit(&l->tail.block, memory_order_acquire);
                continue;
            }
        }
        size_t new_tail = tail + (1u << SHIFT);
        /* SeqCst: claims the slot; ordered before notify's flag load (waiters.c).
         * Failure acquire: we reload the block that goes with the new index. */
        if (atomic_compare_exchange_weak_explicit(&l->tail.index, &tail, new_tail,
                                                  memory_order_seq_cst, memory_order_acquire)) {
            if (offset + 1 == BLOCK_CAP) {
                chan_list_block *nb = next_block;
                next_block = NULL;
                size_t next_index = new_tail + (1u << SHIFT);
                /* Release (all three): pair with the acquire loads of senders (tail),
                 * and of the receiver that waits for block->next. */
                atomic_store_explicit(&l->tail.block, nb, memory_order_release);
                atomic_store_explicit(&l->tail.index, next_index, memory_order_release);
                atomic_store_explicit(&block->next, nb, memory_order_release);
            } else if (next_block) {
                block_release(l, next_block);
            }
            chan_copy_msg(msg_at(l, block, offset), msg, c->elem_size);
            /* Release: pairs with the receiver's acquire wait for `written`. A plain
             * store: this sender is the byte's only writer (no locked instruction). */
            atomic_store_explicit(written_at(block, offset), 1, memory_order_release);
            weft__chan_waker_notify(&l->receivers);
            return 0;
        }
        /* Acquire: as the loads at the top of this function. */
        block = atomic_load_explicit(&l->tail.block, memory_order_acquire);
        /* Another sender is sending right now. Back off, and past the spin limit give
         * the CPU away (snooze, not spin): a sender that keeps losing would otherwise
         * burn its time slice in pauses while the winner streams; yielding lets the
         * receiver (or the winner) run. Retrying with the failed CAS's value (not a
         * fresh load) lets the winner finish its streak. Both choices were measured
         * against the alternative: docs/perf-log.md, "chan and par tuning". */
        weft_backoff_snooze(&b);
    }
}

/* Free `block` starting the walk at slot `start` (see the DESTROY invariant). */
static void destroy_block(chan_list *l, chan_list_block *block, size_t start)
{
    for (size_t i = start; i + 1 < BLOCK_CAP; i++) {
        _Atomic unsigned char *st = state_at(l, block, i);
        /* Acquire / AcqRel: pair with the reader's acq_rel fetch_or of READ (or a
         * lone reader's release store; its copy is done) and hand the walk over
         * with our DESTROY. */
        if (!(atomic_load_explicit(st, memory_order_acquire) & READ) &&
            !(atomic_fetch_or_explicit(st, DESTROY, memory_order_acq_rel) & READ))
            return; /* that slot's reader will continue */
    }
    block_release(l, block);
}

int weft__chan_list_try_recv(weft_chan *c, void *out)
{
    chan_list *l = &c->u.list;
    weft_backoff b = WEFT_BACKOFF_INIT;
    /* One receiver handle: we are the only receiving thread for this whole call (a
     * handle serves one thread at a time, and only a handle's own clone can add
     * another). Acquire: pairs with the acq_rel decrement of a closed receiver
     * handle, so its last receive (and its frees) happened before. */
    bool lone = atomic_load_explicit(&c->receivers, memory_order_acquire) == 1;
    /* Acquire: pairs with the release stores that installed the head block. */
    size_t head = atomic_load_explicit(&l->head.index, memory_order_acquire);
    chan_list_block *block = atomic_load_explicit(&l->head.block, memory_order_acquire);
    for (;;) {
        size_t offset = (head >> SHIFT) % LAP;
        if (offset == BLOCK_CAP) {
            weft_backoff_snooze(&b);
            /* Acquire: as the loads at the top of this function. */
            head = atomic_load_explicit(&l->head.index, memory_order_acquire);
            block = atomic_load_explicit(&l->head.block, memory_order_acquire);
            continue;
        }
        size_t new_head = head + (1u << SHIFT);
        /* A lone receiver whose slot's `written` is already set knows it is not
         * empty: it skips the fence and the load of tail (the line every send
         * writes). Only a lone receiver may look into the block before its CAS:
         * with others, they could drain and free it under us. Relaxed: a hint; the
         * copy waits for `written` with acquire after the CAS. */
        bool ready = lone && block &&
                     atomic_load_explicit(written_at(block, offset), memory_order_relaxed);
        if (!(new_head & MARK_BIT) && !ready) {
            /* SeqCst fence: pairs with the senders' seq_cst tail CAS. */
            atomic_thread_fence(memory_order_seq_cst);
            size_t tail = atomic_load_explicit(&l->tail.index, memory_order_relaxed);
            if ((head >> SHIFT) == (tail >> SHIFT))
                return (tail & MARK_BIT) ? -EPIPE : -EAGAIN;
            if ((head >> SHIFT) / LAP != (tail >> SHIFT) / LAP)
                new_head |= MARK_BIT;
        }
        if (!block) { /* the first sender is installing the first block */
            weft_backoff_snooze(&b);
            head = atomic_load_explicit(&l->head.index, memory_order_acquire);
            block = atomic_load_explicit(&l->head.block, memory_order_acquire);
            continue;
        }
        /* SeqCst: claims the slot; ordered before the senders-side checks. */
        if (atomic_compare_exchange_weak_explicit(&l->head.index, &head, new_head,
                                                  memory_order_seq_cst, memory_order_acquire)) {
            if (offset + 1 == BLOCK_CAP) {
                weft_backoff wb = WEFT_BACKOFF_INIT;
                chan_list_block *next;
                /* Acquire: pairs with the release store of block->next. */
                while (!(next = atomic_load_explicit(&block->next, memory_order_acquire)))
                    weft_backoff_snooze(&wb);
                size_t next_index = (new_head & ~(size_t)MARK_BIT) + (1u << SHIFT);
                /* Acquire: a block that already has a successor. */
                if (atomic_load_explicit(&next->next, memory_order_acquire))
                    next_index |= MARK_BIT;
                /* Release: pair with the acquire loads of other receivers. */
                atomic_store_explicit(&l->head.block, next, memory_order_release);
                atomic_store_explicit(&l->head.index, next_index, memory_order_release);
            }
            weft_backoff wb = WEFT_BACKOFF_INIT;
            /* Acquire: pairs with the sender's release store of `written`. */
            while (!atomic_load_explicit(written_at(block, offset), memory_order_acquire))
                weft_backoff_snooze(&wb);
            chan_copy_msg(out, msg_at(l, block, offset), c->elem_size);
            if (offset + 1 == BLOCK_CAP)
                destroy_block(l, block, 0);
            else if (lone)
                /* Release: pairs with the destroyer's acquire load of READ (our copy
                 * happened before the free). A plain store: no destroyer can race
                 * us (the block's last slot is after ours, and its receiver would
                 * be us: there is no other receiving thread during this call). */
                atomic_store_explicit(state_at(l, block, offset), READ, memory_order_release);
            /* AcqRel: publishes our read to the destroyer and sees its DESTROY. */
            else if (atomic_fetch_or_explicit(state_at(l, block, offset), READ,
                                              memory_order_acq_rel) & DESTROY)
                destroy_block(l, block, offset + 1);
            return 0;
        }
        /* Acquire: as the loads at the top of this function. */
        block = atomic_load_explicit(&l->head.block, memory_order_acquire);
        weft_backoff_spin(&b);
    }
}

bool weft__chan_list_recv_ready(weft_chan *c)
{
    chan_list *l = &c->u.list;
    /* SeqCst: the waiter's re-check after registering (see waiters.c). */
    size_t head = atomic_load_explicit(&l->head.index, memory_order_seq_cst);
    size_t tail = atomic_load_explicit(&l->tail.index, memory_order_seq_cst);
    return (tail & MARK_BIT) || (head >> SHIFT) != (tail >> SHIFT);
}

/* While a lone receiver spins before sleeping: is its next slot written? Polls only
 * that slot (the line the sender writes anyway), not tail: a full try_recv would,
 * after its seq_cst fence, pull tail's line away from the senders on every spin.
 * Other receivers may not look into a block before claiming a slot: they have no
 * hint (weft__chan_list_recv passes none). */
static bool list_lone_may_proceed(weft_chan *c)
{
    chan_list *l = &c->u.list;
    /* Relaxed (index, written): a hint; the try_recv that follows decides, and sees a
     * disconnection once the spin phase ends. The block is live: only we free it.
     * Acquire (block): pairs with the release store that installed it, so the
     * block's initialisation happened before our load of its `written` (TSan caught
     * the relaxed form racing with the first block's malloc and atomic_init). */
    size_t head = atomic_load_explicit(&l->head.index, memory_order_relaxed);
    chan_list_block *block = atomic_load_explicit(&l->head.block, memory_order_acquire);
    size_t offset = (head >> SHIFT) % LAP;
    return !block || offset == BLOCK_CAP ||
           atomic_load_explicit(written_at(block, offset), memory_order_relaxed);
}

/* The blocking path (entered after a first try failed), with the lone hint or none. */
static __attribute__((noinline)) int list_recv_wait(weft_chan *c, void *out, uint64_t deadline)
{
    /* Acquire: as in try_recv (one receiver handle: no other receiving thread for
     * the whole call, so the hint may look into the head block). */
    if (atomic_load_explicit(&c->receivers, memory_order_acquire) == 1)
        return weft__chan_block_wait(c, out, deadline, &c->u.list.receivers,
                                     weft__chan_list_try_recv, NULL, list_lone_may_proceed,
                                     weft__chan_list_recv_ready);
    return weft__chan_block_wait(c, out, deadline, &c->u.list.receivers, weft__chan_list_try_recv,
                                 NULL, NULL, weft__chan_list_recv_ready);
}

int weft__chan_list_recv(weft_chan *c, void *out, uint64_t deadline)
{
    int r = weft__chan_list_try_recv(c, out);
    return r != -EAGAIN ? r : list_recv_wait(c, out, deadline);
}

void weft__chan_list_disconnect(weft_chan *c)
{
    chan_list *l = &c->u.list;
    /* SeqCst: as the tail CAS (sleepers' re-checks and try_recv see the mark). */
    size_t tail = atomic_fetch_or_explicit(&l->tail.index, MARK_BIT, memory_order_seq_cst);
    if (!(tail & MARK_BIT))
        weft__chan_waker_disconnect(&l->receivers);
}

size_t weft__chan_list_len(const weft_chan *c)
{
    chan_list *l = (chan_list *)&c->u.list;
    for (;;) {
        /* SeqCst: a consistent snapshot (advisory). */
        size_t tail = atomic_load_explicit(&l->tail.index, memory_order_seq_cst);
        size_t head = atomic_load_explicit(&l->head.index, memory_order_seq_cst);
        if (atomic_load_explicit(&l->tail.index, memory_order_seq_cst) != tail)
            continue;
        tail &= ~(size_t)((1u << SHIFT) - 1);
        head &= ~(size_t)((1u << SHIFT) - 1);
        if (((tail >> SHIFT) & (LAP - 1)) == LAP - 1)
            tail += 1u << SHIFT;
        if (((head >> SHIFT) & (LAP - 1)) == LAP - 1)
            head += 1u << SHIFT;
        size_t lap = (head >> SHIFT) / LAP;
        tail -= (lap * LAP) << SHIFT;
        head -= (lap * LAP) << SHIFT;
        tail >>= SHIFT;
        head >>= SHIFT;
        return tail - tail / LAP - head;
    }
}

void weft__chan_list_destroy(weft_chan *c)
{
    chan_list *l = &c->u.list;
    size_t head = atomic_load_explicit(&l->head.index, memory_order_relaxed) & ~(size_t)MARK_BIT;
    size_t tail = atomic_load_explicit(&l->tail.index, memory_order_relaxed) & ~(size_t)MARK_BIT;
    chan_list_block *block = atomic_load_explicit(&l->head.block, memory_order_relaxed);
    while (head != tail) {
        size_t offset = (head >> SHIFT) % LAP;
        if (offset < BLOCK_CAP) {
            if (c->drop)
                c->drop(c->drop_ctx, msg_at(l, block, offset));
        } else {
            chan_list_block *next = atomic_load_explicit(&block->next, memory_order_relaxed);
            block_release(l, block);
            block = next;
        }
        head += 1u << SHIFT;
    }
    if (block)
        block_release(l, block);
    /* Every slab block is back, so every slab is unmapped; the spare is a malloc one. */
    free(atomic_load_explicit(&l->spare, memory_order_relaxed));
}

size_t weft__chan_list_live_blocks_(const weft_chan *c)
{
    return atomic_load_explicit((_Atomic size_t *)&c->u.list.live_blocks, memory_order_relaxed);
}

size_t weft__chan_list_live_slabs_(const weft_chan *c)
{
    return weft__chan_slabs_mapped(&c->u.list.slabs);
}

size_t weft__chan_list_slab_maps_(const weft_chan *c)
{
    return weft__chan_slabs_maps(&c->u.list.slabs);
}
