/* for_init.c: weft_par_for_init, a 1-D loop whose bodies get a state made at most
 * once per worker (rayon's for_each_init, oneTBB's enumerable_thread_specific, the
 * private scratch of an OpenMP parallel region): a scratch buffer, an RNG, a partial
 * result that fini merges.
 *
 * It is weft_par_for with a body that looks up the running thread's slot: the
 * calling thread's is slot 0 throughout the call (while it probes on its own and
 * after it has entered the pool, where its worker index may be anything), any other
 * thread's is its worker index + 1. Bodies that run at the same time are on distinct
 * threads with distinct worker indices (par.h), so they are on distinct slots.
 *
 * A slot holds a list of states: the first is made by init when the slot's first
 * body runs; another only if a body finds every state of its slot in use, which
 * happens only when a body of this loop runs on a thread below another one of its
 * bodies — a body that makes a parallel call and, while it waits, runs a chunk of
 * this loop. A state is never given to two bodies at once.
 *
 * Invariants: a slot is touched only by the thread that holds its index (a caller
 * slot that changes hands during the loop is handed over by the pool with release
 * and acquire, caller.c); fini runs on the calling thread after the loop has
 * returned (every body has returned: its joins' latches order their writes before),
 * once for each state init made, also when the loop stopped early. */
#include "splitter_internal.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Slots for pools up to this many threads live in the call's frame. */
#define SLOTS_INLINE 16u

typedef struct init_state {
    void *state;
    bool busy;               /* a body is using it */
    struct init_state *next; /* more states of the slot (nesting only), malloc'd */
} init_state;

/* One per thread that may run a body; a cache line each, as each is written per
 * chunk by its own thread. */
typedef struct init_slot {
    alignas(WEFT_CACHE_LINE) init_state first;
    bool made; /* first.state holds a state */
} init_slot;

typedef struct for_init {
    weft_state_init_fn init;
    weft_state_range_fn body;
    weft_state_fini_fn fini;
    void *ctx;
    pthread_t caller;
    init_slot *slots;
    size_t nslots;
} for_init;

/* A free state of `slot`, made by init if needed, marked busy; NULL with *rc set when
 * init failed (its status) or a further state could not be had (-ENOMEM). */
static init_state *state_take(const for_init *fi, init_slot *slot, int *rc)
{
    init_state *s = &slot->first;
    if (!slot->made) {
        *rc = fi->init(fi->ctx, &s->state);
        if (*rc != 0)
            return NULL;
        slot->made = true;
    }
    while (s->busy) {
        if (!s->next) {
            init_state *more = calloc(1, sizeof *more);
            if (!more) {
                *rc = -ENOMEM;
                return NULL;
            }
            *rc = fi->init(fi->ctx, &more->state);
            if (*rc != 0) {
                free(more);
                return NULL;
            }
            s->next = more;
        }
        s = s->next;
    }
    s->busy = true;
    return s;
}

static int init_body(void *arg, size_t b, size_t e)
{
    const for_init *fi = arg;
    size_t i = pthread_equal(pthread_self(), fi->caller) ? 0 : (size_t)(weft_current_worker_index() + 1);
    if (i >= fi->nslots)
        abort(); /* par.h's bound on worker indices broken: a weft bug, not the caller's */
    int rc = 0;
    init_state *s = state_take(fi, &fi->slots[i], &rc);
    if (!s)
        return rc;
    rc = fi->body(fi->ctx, s->state, b, e);
    s->busy = false;
    return rc;
}

/* fini on every state made, in slot order; frees the extra ones. */
static void finish(const for_init *fi)
{
    for (size_t i = 0; i < fi->nslots; i++) {
        init_slot *slot = &fi->slots[i];
        if (!slot->made)
            continue;
        for (init_state *s = &slot->first, *next; s; s = next) {
            next = s->next;
            if (fi->fini)
                fi->fini(fi->ctx, s->state);
            if (s != &slot->first)
                free(s);
        }
    }
}

int weft_par_for_init(size_t lo, size_t hi, size_t grain, weft_state_init_fn init, weft_state_range_fn body,
                      weft_state_fini_fn fini, void *ctx)
{
    if (lo > hi || !init || !body)
        return -EINVAL;
    if (lo == hi)
        return 0;
    int threads = weft_pool_num_threads(NULL);
    if (threads < 0)
        return threads;
    init_slot inline_slots[SLOTS_INLINE];
    for_init fi = {init, body, fini, ctx, pthread_self(), inline_slots,
                   (size_t)threads + WEFT_POOL_CALLER_SLOTS + 1};
    if (fi.nslots > SLOTS_INLINE) {
        fi.slots = aligned_alloc(alignof(init_slot), fi.nslots * sizeof(init_slot));
        if (!fi.slots)
            return -ENOMEM;
    }
    memset(fi.slots, 0, fi.nslots * sizeof(init_slot));
    int rc = weft_par_for(lo, hi, grain, init_body, &fi);
    finish(&fi);
    if (fi.slots != inline_slots)
        free(fi.slots);
    return rc;
}
