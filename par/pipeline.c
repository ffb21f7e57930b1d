/* pipeline.c: weft_pipeline_run, oneTBB's parallel_pipeline on a weft scope.
 *
 * Tokens. An item travels in a token (its pointer, its sequence number, the stage it
 * is about to enter). The tokens are allocated once, max_tokens of them, so `alive`
 * (tokens in use, plus the one the producer holds while it makes an item) never
 * exceeds max_tokens: that is the bound on items alive.
 *
 * Who runs what. Every piece of work is a task of one scope owned by the caller; no
 * thread ever blocks inside the pipeline (only the caller, in the scope's wait).
 *  - The producer: at most one task at a time is the producer (producer_active). It
 *    holds a token, calls the first stage, and if there is room for another item it
 *    spawns the next producer before carrying its own item on, so making items and
 *    working on them overlap. With no room left it stops; the task that finishes an
 *    item (frees a token) then becomes the producer.
 *  - A task carries its item through the stages as far as it can: a parallel stage it
 *    just runs; a serial stage it enters if the stage is free (and, in order, if the
 *    item is the next one), else it leaves the item in the stage's waiting ring and
 *    ends. The task that leaves a serial stage takes the next waiting item (the next
 *    sequence number, in order; the oldest arrival, out of order), marks the stage
 *    busy for it and spawns a task that carries it on. So a serial stage runs one item
 *    at a time, and an in-order stage runs them in sequence order.
 *  - Ring sizes: an item waiting at an in-order stage has a sequence number in
 *    [next, next + max_tokens): every item from `next` on has not passed the stage,
 *    so is alive. Slot seq % max_tokens is therefore its own. An out-of-order stage
 *    holds at most max_tokens waiting items in a FIFO ring.
 *
 * Ending. The first stage's NULL item stops production: the items made finish
 * normally. A stage's non-zero status records the scope's status (first wins), sets
 * `failed` and stops production; from then on an item about to enter stage k goes to
 * stage k's cleanup instead, and the failing task empties every serial stage's ring
 * into that stage's cleanup. A task that queues an item reads `failed` under the
 * stage's lock and the failing task sets it before it takes each lock to empty the
 * rings, so an item is either queued before the emptying (and cleaned by it) or sees
 * the failure: none is stranded (an in-order stage could otherwise wait for ever for
 * the failed item's sequence number). Every item is thus finished or cleaned exactly
 * once, and the scope's wait returns after all of it.
 *
 * Running out of memory while spawning (a producer or a released item): the task
 * carries the item itself afterwards (a list of its own), or, for the producer, gives
 * the role up; the next finished item takes it. */
#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct token token;
struct token {
    void *item;
    uint64_t seq;
    size_t stage;      /* the stage it is about to enter */
    bool holds;        /* it already holds that (serial) stage */
    token *next;       /* free list / a task's own list */
    struct pipeline *p;
};

typedef struct serial_stage {
    weft_mutex lock;
    bool busy;
    uint64_t next_seq; /* in order: the sequence number it runs next */
    token **ring;      /* max_tokens waiting items */
    size_t head, count; /* out of order: the FIFO's oldest slot and size */
} serial_stage;

typedef struct pipeline {
    const weft_pipeline_stage *stages;
    size_t nstages, max_tokens;
    void *ctx;
    weft_scope scope;
    weft_mutex lock;       /* alive, producer_active, stopped, free */
    size_t alive;
    bool producer_active, stopped;
    token *free;
    uint64_t next_seq;     /* the producer's */
    _Atomic bool failed;
    serial_stage *serial;  /* per stage (used by the serial ones) */
    token *tokens;
} pipeline;

static bool is_serial(const pipeline *p, size_t k)
{
    return p->stages[k].kind != WEFT_PIPELINE_PARALLEL;
}

static bool has_failed(pipeline *p)
{
    /* Acquire: pairs with the release store in pipeline_fail (an advisory read; the
     * decisive one is under a stage's lock). */
    return atomic_load_explicit(&p->failed, memory_order_acquire);
}

static void cleanup(pipeline *p, size_t k, token *t)
{
    if (k < p->nstages && p->stages[k].cleanup)
        p->stages[k].cleanup(p->ctx, t->item);
}

/* A token is done with (its item finished or cleaned, or kept by a failed stage):
 * give it back. Returns true if the caller must now act as the producer. */
static bool token_release(pipeline *p, token *t)
{
    weft_mutex_lock(&p->lock);
    t->next = p->free;
    p->free = t;
    p->alive--;
    bool produce = !p->stopped && !p->producer_active;
    if (produce) {
        p->producer_active = true;
        p->alive++; /* the producer's token, reserved */
    }
    weft_mutex_unlock(&p->lock);
    return produce;
}

static void pipeline_fail(pipeline *p, int status)
{
    weft_scope_cancel(&p->scope, status);
    /* Release: pairs with the acquire in has_failed; the stage locks below order it
     * for the decisive reads. */
    atomic_store_explicit(&p->failed, true, memory_order_release);
    weft_mutex_lock(&p->lock);
    p->stopped = true;
    weft_mutex_unlock(&p->lock);
    for (size_t k = 1; k < p->nstages; k++) {
        if (!is_serial(p, k))
            continue;
        serial_stage *st = &p->serial[k];
        token *waiting = NULL;
        weft_mutex_lock(&st->lock);
        for (size_t i = 0; i < p->max_tokens; i++)
            if (st->ring[i]) {
                st->ring[i]->next = waiting;
                waiting = st->ring[i];
                st->ring[i] = NULL;
            }
        st->count = 0;
        weft_mutex_unlock(&st->lock);
        while (waiting) {
            token *t = waiting;
            waiting = t->next;
            cleanup(p, k, t);
            token_release(p, t); /* stopped: never asks for a producer */
        }
    }
}

static int carry_task(weft_scope *s, void *arg);
static int producer_task(weft_scope *s, void *arg);

/* Leave serial stage k: the next waiting item, if any, now holds it. */
static token *serial_leave(pipeline *p, size_t k, uint64_t seq)
{
    serial_stage *st = &p->serial[k];
    token *next = NULL;
    weft_mutex_lock(&st->lock);
    if (p->stages[k].kind == WEFT_PIPELINE_SERIAL_IN_ORDER) {
        st->next_seq = seq + 1;
        size_t slot = (size_t)(st->next_seq % p->max_tokens);
        if (st->ring[slot] && st->ring[slot]->seq == st->next_seq) {
            next = st->ring[slot];
            st->ring[slot] = NULL;
        }
    } else if (st->count > 0) {
        next = st->ring[st->head];
        st->ring[st->head] = NULL;
        st->head = (st->head + 1) % p->max_tokens;
        st->count--;
    }
    st->busy = next != NULL;
    weft_mutex_unlock(&st->lock);
    if (next)
        next->holds = true;
    return next;
}

/* Try to enter serial stage k: true if t now holds it; false if t was queued or, the
 * pipeline failing, cleaned up and released (*released says which). */
static bool serial_enter(pipeline *p, size_t k, token *t, bool *released)
{
    serial_stage *st = &p->serial[k];
    *released = false;
    weft_mutex_lock(&st->lock);
    /* Relaxed: under the stage's lock, which pipeline_fail takes after setting it. */
    if (atomic_load_explicit(&p->failed, memory_order_relaxed)) {
        weft_mutex_unlock(&st->lock);
        *released = true;
        return false;
    }
    bool in_order = p->stages[k].kind == WEFT_PIPELINE_SERIAL_IN_ORDER;
    if (!st->busy && (!in_order || t->seq == st->next_seq)) {
        st->busy = true;
        weft_mutex_unlock(&st->lock);
        return true;
    }
    if (in_order) {
        st->ring[t->seq % p->max_tokens] = t;
    } else {
        st->ring[(st->head + st->count) % p->max_tokens] = t;
        st->count++;
    }
    weft_mutex_unlock(&st->lock);
    return false;
}

/* Hand a token to a new task; if that cannot be done, to the caller's own list. */
static void hand_off(weft_scope *s, token *t, token **own)
{
    if (weft_scope_spawn(s, carry_task, t) != 0) {
        t->next = *own;
        *own = t;
    }
}

/* Carry t through the stages from t->stage on; then whatever lands on this task's own
 * list. Returns true if the task must then act as the producer. */
static bool carry(pipeline *p, token *t)
{
    token *own = NULL;
    bool produce = false;
    while (t) {
        size_t k = t->stage;
        bool done = false;
        if (k == p->nstages) {
            done = true; /* through every stage */
        } else if (!is_serial(p, k)) {
            if (has_failed(p)) {
                cleanup(p, k, t);
                done = true;
            } else {
                int rc = p->stages[k].fn(p->ctx, &t->item);
                if (rc != 0) {
                    pipeline_fail(p, rc);
                    done = true; /* the stage kept the item */
                } else {
                    t->stage++;
                }
            }
        } else {
            bool released = false;
            if (!t->holds && !serial_enter(p, k, t, &released)) {
                if (released) {
                    cleanup(p, k, t);
                    done = true;
                } else {
                    t = NULL; /* queued: the stage's next leaver carries it */
                }
            } else {
                t->holds = false;
                int rc = 0;
                bool cleaned = has_failed(p);
                if (cleaned)
                    cleanup(p, k, t);
                else
                    rc = p->stages[k].fn(p->ctx, &t->item);
                if (rc != 0)
                    pipeline_fail(p, rc);
                token *next = serial_leave(p, k, t->seq);
                if (next)
                    hand_off(&p->scope, next, &own);
                if (cleaned || rc != 0)
                    done = true; /* cleaned, or kept by the failed stage */
                else
                    t->stage++;
            }
        }
        if (done) {
            produce |= token_release(p, t);
            t = NULL;
        }
        if (!t && own) {
            t = own;
            own = own->next;
        }
    }
    return produce;
}

/* The producer: holds a reserved token; makes one item, passes the role on if there
 * is room, and carries its item. */
static int producer_task(weft_scope *s, void *arg)
{
    pipeline *p = arg;
    for (;;) {
        weft_mutex_lock(&p->lock);
        token *t = p->free;
        p->free = t->next;
        bool stop = p->stopped;
        weft_mutex_unlock(&p->lock);
        t->item = NULL;
        int rc = stop ? 0 : p->stages[0].fn(p->ctx, &t->item);
        if (rc != 0)
            pipeline_fail(p, rc);
        weft_mutex_lock(&p->lock);
        if (stop || rc != 0 || !t->item) {
            p->stopped = true;
            p->producer_active = false;
            t->next = p->free;
            p->free = t;
            p->alive--;
            weft_mutex_unlock(&p->lock);
            return 0;
        }
        t->seq = p->next_seq++;
        t->stage = 1;
        t->holds = false;
        bool more = !p->stopped && p->alive < p->max_tokens;
        if (more)
            p->alive++; /* the next producer's token */
        else
            p->producer_active = false;
        weft_mutex_unlock(&p->lock);
        if (more && weft_scope_spawn(s, producer_task, p) != 0) {
            weft_mutex_lock(&p->lock); /* no task for it: give the role up */
            p->alive--;
            p->producer_active = false;
            weft_mutex_unlock(&p->lock);
        }
        if (!carry(p, t))
            return 0;
        /* this task finished an item and was handed the role: produce again */
    }
}

static int carry_task(weft_scope *s, void *arg)
{
    token *t = arg;
    if (carry(t->p, t))
        return producer_task(s, t->p);
    return 0;
}

static int check_stages(const weft_pipeline_stage *stages, size_t nstages)
{
    for (size_t k = 0; k < nstages; k++)
        if (!stages[k].fn || (stages[k].kind != WEFT_PIPELINE_SERIAL_IN_ORDER &&
                              stages[k].kind != WEFT_PIPELINE_SERIAL_OUT_OF_ORDER &&
                              stages[k].kind != WEFT_PIPELINE_PARALLEL))
            return -EINVAL;
    return 0;
}

static void pipeline_free(pipeline *p)
{
    for (size_t k = 0; k < p->nstages && p->serial; k++)
        free(p->serial[k].ring);
    free(p->serial);
    free(p->tokens);
}

/* Tokens, free list and rings; -ENOMEM (everything freed) if they cannot be had. */
static int pipeline_alloc(pipeline *p)
{
    p->tokens = calloc(p->max_tokens, sizeof *p->tokens);
    p->serial = calloc(p->nstages, sizeof *p->serial);
    if (!p->tokens || !p->serial) {
        pipeline_free(p);
        return -ENOMEM;
    }
    for (size_t k = 1; k < p->nstages; k++) {
        weft_mutex_init(&p->serial[k].lock);
        if (is_serial(p, k) && !(p->serial[k].ring = calloc(p->max_tokens, sizeof(token *)))) {
            pipeline_free(p);
            return -ENOMEM;
        }
    }
    p->free = NULL;
    for (size_t i = p->max_tokens; i-- > 0;) {
        p->tokens[i].p = p;
        p->tokens[i].next = p->free;
        p->free = &p->tokens[i];
    }
    return 0;
}

int weft_pipeline_run(const weft_pipeline_stage *stages, size_t nstages, size_t max_tokens, void *ctx)
{
    if (!stages || nstages == 0 || max_tokens == 0 || check_stages(stages, nstages) != 0)
        return -EINVAL;
    if (max_tokens > SIZE_MAX / sizeof(token))
        return -ENOMEM;
    pipeline p = {.stages = stages, .nstages = nstages, .max_tokens = max_tokens, .ctx = ctx};
    weft_mutex_init(&p.lock);
    atomic_init(&p.failed, false);
    int rc = pipeline_alloc(&p);
    if (rc != 0)
        return rc;
    rc = weft_scope_init(&p.scope, NULL);
    if (rc != 0) {
        pipeline_free(&p);
        return rc;
    }
    p.producer_active = true;
    p.alive = 1; /* the first producer's token */
    rc = weft_scope_spawn(&p.scope, producer_task, &p);
    if (rc != 0) {
        weft_scope_wait(&p.scope);
        pipeline_free(&p);
        return rc;
    }
    rc = weft_scope_wait(&p.scope);
    pipeline_free(&p);
    return rc;
}
