/* stress_timer.c: timer channels raced by many threads (standalone, runs under
 * ThreadSanitizer too). Clones of one tick, of many after()s and of a bounded data
 * channel are shared by SELECTORS threads, each in a select loop over {its tick
 * clone, its data clone, its clones of every after}, and by one more thread that
 * takes ticks with recv_timeout; two producers fill the data channel and close.
 * Checks: every data message is received exactly once; every after is taken
 * exactly once (by one of its clones, through select); no tick is delivered twice:
 * the tick timestamps taken by all threads together are distinct and at least a
 * period apart (a tick is taken by one CAS of its due time, so two threads taking
 * the same tick would show one timestamp twice). Invariants only, no timings. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft/chan.h>
#include <weft/sync.h>

#define SELECTORS 3
#define PRODUCERS 2
#define AFTERS 64
#define TICK_NS 20000ull       /* 20 us */
#define MAX_TICKS (1L << 20)    /* per thread: far beyond the run's length */

typedef struct shared {
    weft_receiver *tick, *data, *after[AFTERS];
    long per_producer;
    _Atomic long *seen;       /* data message i: times received */
    _Atomic int after_taken[AFTERS];
    _Atomic long afters_done; /* afters taken so far */
    _Atomic int selectors_done;
} shared;

typedef struct worker {
    shared *s;
    weft_sender *tx; /* producers */
    int id;
    uint64_t *ticks; /* timestamps of the ticks this thread took */
    long nticks;
} worker;

static void record_tick(worker *w, uint64_t ts)
{
    CHECK(w->nticks < MAX_TICKS, "tick log full");
    w->ticks[w->nticks++] = ts;
}

static void *producer(void *p)
{
    worker *w = p;
    for (long i = 0; i < w->s->per_producer; i++) {
        uint64_t v = (uint64_t)(w->id * w->s->per_producer + i);
        CHECK(weft_chan_send(w->tx, &v) == 0);
    }
    CHECK(weft_sender_close(w->tx) == 0);
    return NULL;
}

enum { OP_TICK, OP_DATA, OP_AFTER0 };

static void *selector(void *p)
{
    worker *w = p;
    shared *s = w->s;
    weft_receiver *mine[OP_AFTER0 + AFTERS];
    CHECK(weft_receiver_clone(s->tick, &mine[OP_TICK]) == 0);
    CHECK(weft_receiver_clone(s->data, &mine[OP_DATA]) == 0);
    for (int i = 0; i < AFTERS; i++)
        CHECK(weft_receiver_clone(s->after[i], &mine[OP_AFTER0 + i]) == 0);
    uint64_t bufs[OP_AFTER0 + AFTERS];
    weft_select_op ops[OP_AFTER0 + AFTERS];
    int which[OP_AFTER0 + AFTERS]; /* ops[k] is mine[which[k]] */
    size_t n = OP_AFTER0 + AFTERS;
    for (size_t k = 0; k < n; k++) {
        ops[k] = (weft_select_op){.kind = WEFT_SELECT_RECV, .rx = mine[k], .buf = &bufs[k]};
        which[k] = (int)k;
    }
    bool data_done = false;
    /* Relaxed: afters_done only decides when to stop; the counts are checked after
     * pthread_join. */
    while (!data_done || atomic_load_explicit(&s->afters_done, memory_order_relaxed) < AFTERS) {
        int k = w->id % 2 ? weft_select(ops, n) : weft_select_timeout(ops, n, 1000000);
        if (k == -ETIMEDOUT)
            continue;
        CHECK(k >= 0 && (size_t)k < n, "select: %d", k);
        int op = which[k];
        uint64_t v = *(uint64_t *)ops[k].buf;
        if (op == OP_TICK) {
            CHECK(ops[k].result == 0);
            record_tick(w, v);
            continue;
        }
        if (op == OP_DATA) {
            if (ops[k].result == -EPIPE) {
                data_done = true;
            } else {
                CHECK(ops[k].result == 0);
                long m = (long)v;
                CHECK(m >= 0 && m < PRODUCERS * s->per_producer, "message %ld", m);
                atomic_fetch_add_explicit(&s->seen[m], 1, memory_order_relaxed);
                continue;
            }
        } else {
            CHECK(ops[k].result == 0);
            CHECK(v <= weft_time_now_ns(), "an after delivered before due");
            atomic_fetch_add_explicit(&s->after_taken[op - OP_AFTER0], 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->afters_done, 1, memory_order_relaxed);
        }
        /* Done with this op (a disconnected data channel, an after taken): drop it.
         * The afters other clones took stay listed: spent, they are never ready. */
        ops[k] = ops[n - 1];
        which[k] = which[n - 1];
        n--;
    }
    for (int i = 0; i < OP_AFTER0 + AFTERS; i++)
        CHECK(weft_receiver_close(mine[i]) == 0);
    atomic_fetch_add_explicit(&s->selectors_done, 1, memory_order_relaxed);
    return NULL;
}

/* Takes ticks with blocking timed receives until the selectors are done. */
static void *ticker(void *p)
{
    worker *w = p;
    weft_receiver *rx;
    CHECK(weft_receiver_clone(w->s->tick, &rx) == 0);
    while (atomic_load_explicit(&w->s->selectors_done, memory_order_relaxed) < SELECTORS) {
        uint64_t ts;
        int r = weft_chan_recv_timeout(rx, &ts, 200000);
        if (r == 0)
            record_tick(w, ts);
        else
            CHECK(r == -ETIMEDOUT, "recv_timeout: %d", r);
    }
    CHECK(weft_receiver_close(rx) == 0);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    shared s = {.per_producer = stress_iters(100000)};
    long total = PRODUCERS * s.per_producer;
    s.seen = calloc((size_t)total, sizeof *s.seen);
    CHECK(s.seen);
    weft_sender *tx;
    CHECK(weft_chan_open(sizeof(uint64_t), 16, NULL, &tx, &s.data) == 0);
    CHECK(weft_chan_tick(TICK_NS, &s.tick) == 0);
    for (int i = 0; i < AFTERS; i++) /* due over the first ~20 ms, a few at once */
        CHECK(weft_chan_after((uint64_t)(i / 4) * 1250000u, &s.after[i]) == 0);
    atomic_init(&s.afters_done, 0);
    atomic_init(&s.selectors_done, 0);
    for (int i = 0; i < AFTERS; i++)
        atomic_init(&s.after_taken[i], 0);

    worker w[PRODUCERS + SELECTORS + 1];
    pthread_t th[PRODUCERS + SELECTORS + 1];
    int nw = 0;
    for (int i = 0; i < PRODUCERS; i++) { /* a sender handle each, before any closes */
        w[i] = (worker){.s = &s, .id = i, .tx = tx};
        if (i > 0)
            CHECK(weft_sender_clone(tx, &w[i].tx) == 0);
    }
    for (; nw < PRODUCERS; nw++)
        CHECK(pthread_create(&th[nw], NULL, producer, &w[nw]) == 0);
    for (int i = 0; i <= SELECTORS; i++, nw++) {
        w[nw] = (worker){.s = &s, .id = i, .ticks = malloc(MAX_TICKS * sizeof(uint64_t))};
        CHECK(w[nw].ticks);
        CHECK(pthread_create(&th[nw], NULL, i < SELECTORS ? selector : ticker, &w[nw]) == 0);
    }
    for (int i = 0; i < nw; i++)
        CHECK(pthread_join(th[i], NULL) == 0);

    for (long m = 0; m < total; m++)
        CHECK(atomic_load_explicit(&s.seen[m], memory_order_relaxed) == 1,
              "message %ld received %ld times", m, atomic_load_explicit(&s.seen[m], memory_order_relaxed));
    for (int i = 0; i < AFTERS; i++)
        CHECK(atomic_load_explicit(&s.after_taken[i], memory_order_relaxed) == 1,
              "after %d taken %d times", i, atomic_load_explicit(&s.after_taken[i], memory_order_relaxed));
    long nticks = 0;
    for (int i = PRODUCERS; i < nw; i++)
        nticks += w[i].nticks;
    uint64_t *all = malloc((size_t)(nticks ? nticks : 1) * sizeof *all);
    CHECK(all);
    long k = 0;
    for (int i = PRODUCERS; i < nw; i++)
        for (long j = 0; j < w[i].nticks; j++)
            all[k++] = w[i].ticks[j];
    qsort(all, (size_t)nticks, sizeof *all, cmp_u64);
    for (long j = 1; j < nticks; j++)
        CHECK(all[j] - all[j - 1] >= TICK_NS, "ticks %llu and %llu: one delivered twice?",
              (unsigned long long)all[j - 1], (unsigned long long)all[j]);

    for (int i = PRODUCERS; i < nw; i++)
        free(w[i].ticks);
    free(all);
    free(s.seen);
    CHECK(weft_receiver_close(s.tick) == 0 && weft_receiver_close(s.data) == 0);
    for (int i = 0; i < AFTERS; i++)
        CHECK(weft_receiver_close(s.after[i]) == 0);
    printf("stress_timer: ok (%ld ticks taken, %ld messages)\n", nticks, total);
    return 0;
}
