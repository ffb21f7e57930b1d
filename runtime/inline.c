/* inline.c: the library's half of inline fork-join (weft/inline.h) — the slow paths
 * that inline code calls out to, the latch a thief sets, and the ABI check.
 *
 * A frame (weft_frame) is a stack job as join.c builds one: a weft_job followed by a
 * job latch, whose waiter is the worker that forked. The header's inline fork pushes
 * it privately and its inline join pops it back; everything else comes here:
 *  - fork_slow: a push that needs more than two stores (grow, share, keep the oldest
 *    item public) or workers are idle (offer them the frame), as join.c's
 *    join_general; or a fork from a thread outside every pool, which enters a caller
 *    slot of the global pool (and leaves it at the join), or, with every slot taken,
 *    injects the frame and lets the join block for it;
 *  - join_slow: the frame is not the newest private item: pop it if it is still ours
 *    (weft__deque_pop_if, which synchronises with thieves), else wait, helping, for its
 *    latch.
 * Invariant (join.c's): a frame outlives every use, since its join returns only after
 * the task ran inline or its latch was set, and the setter's last touch of the frame
 * is the SET. Frames forked outside every pool have no waiter (NULL): their latch
 * wakes an outside sleeper, and their join leaves the caller slot before it waits. */
#include "pool_internal.h"

#include <weft/trace.h>
#include <stdio.h>

/* The header's view of libweft's layout, checked field by field: the inline fast
 * paths are compiled into programs, so any drift here would corrupt memory. */
typedef struct frame_layout {
    weft_job job;
    weft_job_latch done;
    int64_t index; /* where the fork pushed it: the inline join's hint */
} frame_layout;

_Static_assert(sizeof(weft_frame) == sizeof(frame_layout), "frame size");
_Static_assert(offsetof(weft_frame, job_) == offsetof(frame_layout, job), "frame job");
_Static_assert(offsetof(weft_frame, state_) == offsetof(frame_layout, done.state), "frame latch state");
_Static_assert(offsetof(weft_frame, waiter_) == offsetof(frame_layout, done.waiter), "frame latch waiter");
_Static_assert(offsetof(weft_frame, index_) == offsetof(frame_layout, index), "frame index");
_Static_assert(sizeof(((weft_frame *)0)->state_) == sizeof(((frame_layout *)0)->done.state), "latch state");
#define VIEW(f) offsetof(struct weft__worker_view, f)
#define WORKER(f) offsetof(weft_worker, f)
_Static_assert(VIEW(top) == WORKER(deque.top), "view top");
_Static_assert(VIEW(splitreq) == WORKER(deque.splitreq), "view splitreq");
_Static_assert(VIEW(bottom) == WORKER(deque.bottom), "view bottom");
_Static_assert(VIEW(owner_split) == WORKER(deque.owner_split), "view owner_split");
_Static_assert(VIEW(owner_limit) == WORKER(deque.owner_limit), "view owner_limit");
_Static_assert(VIEW(owner_slots) == WORKER(deque.owner_slots), "view owner_slots");
_Static_assert(VIEW(owner_mask) == WORKER(deque.owner_mask), "view owner_mask");
_Static_assert(VIEW(eager) == WORKER(deque.eager), "view eager");
_Static_assert(VIEW(isolation) == WORKER(isolation), "view isolation");
_Static_assert(VIEW(idle) == WORKER(idle), "view idle");
_Static_assert(sizeof(struct weft__worker_view) <= sizeof(weft_worker), "view size");
_Static_assert(sizeof(((weft_deque *)0)->top) == 8 && sizeof(((weft_deque *)0)->bottom) == 8 &&
                   sizeof(((weft_deque *)0)->splitreq) == 4 && sizeof(((weft_deque *)0)->eager) == 1 &&
                   sizeof(((weft_deque *)0)->owner_mask) == sizeof(size_t),
               "view field sizes");

/* A frame's latch state that no latch takes: the fork could not push it (the deque
 * could not grow, the global pool could not start), so its join runs it. Only the
 * forking thread ever sees such a frame. */
#define FRAME_UNPUSHED 3u

static weft_job_latch *frame_latch(weft_frame *f)
{
    return &((frame_layout *)(void *)f)->done;
}

/* A thread outside every pool forks: work in a caller slot of the global pool until
 * the join (which leaves it), as join.c's join_from_outside does for one join; with
 * every slot taken, a worker runs the frame and the join blocks for it. */
static void fork_outside(weft_frame *f)
{
    f->job_.isolation = 0;
    weft__job_latch_init(frame_latch(f), NULL); /* no waiter: wake an outside sleeper */
    weft_pool *pool;
    if (weft_pool_global(&pool) != 0) {
        atomic_store_explicit(&frame_latch(f)->state, FRAME_UNPUSHED, memory_order_relaxed);
        return;
    }
    weft_worker *w = weft__caller_enter(pool);
    if (!w) {
        weft__pool_inject(pool, &f->job_);
        return;
    }
    /* A slot's deque is empty when entered, and its ring has room for more than one
     * item: this push cannot fail. */
    (void)weft__deque_push(&w->deque, &f->job_);
    weft__sleep_offer_local_work(w);
}

/* Where a push just put its item (the inline join checks it before use). Relaxed:
 * the owner's own bottom. */
static int64_t pushed_index(weft_worker *w)
{
    return atomic_load_explicit(&w->deque.bottom, memory_order_relaxed) - 1;
}

void weft__frame_fork_slow(weft_frame *f)
{
    weft_worker *w = weft__worker_current();
    if (!w) {
        fork_outside(f);
        return;
    }
    f->job_.isolation = w->isolation;
    weft__job_latch_init(frame_latch(f), w);
    if (weft__deque_push(&w->deque, &f->job_) != 0) {
        /* the deque could not grow: no parallelism, but no failure either */
        atomic_store_explicit(&frame_latch(f)->state, FRAME_UNPUSHED, memory_order_relaxed);
        return;
    }
    f->index_ = pushed_index(w);
    weft__sleep_offer_local_work(w);
}

bool weft__frame_join_slow(weft_frame *f)
{
    weft_job_latch *l = frame_latch(f);
    /* Relaxed: FRAME_UNPUSHED was stored by this thread, and no other thread has the
     * frame then; any other value is only compared with it. */
    if (atomic_load_explicit(&l->state, memory_order_relaxed) == FRAME_UNPUSHED)
        return true;
    weft_worker *w = f->waiter_;
    if (w) {
        if (weft__deque_pop_if(&w->deque, &f->job_))
            return true;
        /* a thief took it (or this worker's own wait loop ran it): help until done */
        uint64_t t0 = weft__trace_begin();
        weft__worker_wait_until(w, l, WEFT_NO_DEADLINE);
        weft__trace_end(WEFT__TRACE_JOIN_WAIT, t0, (uint64_t)(uintptr_t)&f->job_, 0);
        return false;
    }
    /* Forked from outside every pool: in the caller slot the fork entered (the forks
     * made since then were joined: joins come in reverse order), or queued to a
     * worker when no slot was free. */
    weft_worker *slot = weft__worker_current();
    if (slot) {
        bool mine = weft__deque_pop_if(&slot->deque, &f->job_);
        weft__caller_leave(slot);
        if (mine)
            return true;
    }
    weft__job_latch_wait_external(l, WEFT_NO_DEADLINE);
    return false;
}

void weft__frame_done(weft_frame *f)
{
    weft__trace_job_done(&f->job_);
    weft__job_latch_set(frame_latch(f)); /* last touch of *f */
}

int weft_inline_abi_check(unsigned abi, size_t frame_size, size_t view_size, uint64_t layout)
{
    const unsigned lib_abi = WEFT_ABI_VERSION;
    const size_t lib_frame = sizeof(weft_frame), lib_view = sizeof(struct weft__worker_view);
    const uint64_t lib_layout = WEFT__INLINE_LAYOUT;
    if (abi == lib_abi && frame_size == lib_frame && view_size == lib_view && layout == lib_layout)
        return 0;
    fprintf(stderr,
            "weft: inline fork-join ABI mismatch: this program was compiled with <weft/inline.h> "
            "for ABI %u (frame %zu bytes, worker view %zu bytes, layout %#llx), but the libweft it "
            "runs with has ABI %u (frame %zu, view %zu, layout %#llx). Rebuild the program against "
            "the headers of the libweft it links.\n",
            abi, frame_size, view_size, (unsigned long long)layout, lib_abi, lib_frame, lib_view,
            (unsigned long long)lib_layout);
    return -EPROTO;
}
