/* stress_chan.c: many producers and consumers on every channel flavor, and select
 * over several channels (standalone, runs under ThreadSanitizer too).
 * Checks: every message is received exactly once (per-producer count and checksum);
 * each consumer sees each producer's messages in order; consumers end with -EPIPE
 * once every sender is closed. Also with short, retried timeouts on both sides
 * (timeouts racing hand-offs must neither lose nor duplicate a message). Select
 * loses nothing (receive side with mixed flavors, one consumer biased and one with
 * short timeouts; send side over mixed flavors) and, with all 4 channels always
 * ready, picks each at least 10% of the time. An unbounded channel whose receivers
 * close part-way until one is left loses nothing across the hand-over; nor one whose
 * backlog lives in slabs (slab.c) while producers and consumers race over them. */
#include "chan_internal.h"
#include "check.h"
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <weft/sync.h>
#include <stdint.h>
#include <string.h>
#include <weft/chan.h>

#define PRODUCERS 8
#define CONSUMERS 8
#define NCHAN 4

typedef struct msg {
    uint32_t producer;
    uint32_t seq;
} msg;

typedef struct totals {
    _Atomic long count[PRODUCERS];
    _Atomic long sum[PRODUCERS];
} totals;

typedef struct prod_arg {
    weft_sender *tx;
    uint32_t id;
    long n;
} prod_arg;

typedef struct cons_arg {
    weft_receiver *rx;
    totals *t;
    bool timed;
    long limit; /* > 0: close the handle after this many messages */
} cons_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        msg m = {a->id, (uint32_t)i};
        int r = weft_chan_send(a->tx, &m);
        CHECK(r == 0, "send: %d", r);
    }
    CHECK(weft_sender_close(a->tx) == 0);
    return NULL;
}

/* Timed variants: tiny timeouts, retried, so that timeouts race with hand-offs. */
static void *producer_timed(void *p)
{
    prod_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        msg m = {a->id, (uint32_t)i};
        int r;
        uint64_t t = (uint64_t)(i % 3) * 1000;
        while ((r = weft_chan_send_timeout(a->tx, &m, t)) == -ETIMEDOUT)
            t = t < 1000000 ? 2 * t + 1000 : t; /* grow: a rendezvous needs overlap */
        CHECK(r == 0, "send_timeout: %d", r);
    }
    CHECK(weft_sender_close(a->tx) == 0);
    return NULL;
}

static void account(totals *t, long *count, long *sum)
{
    for (int p = 0; p < PRODUCERS; p++) {
        atomic_fetch_add_explicit(&t->count[p], count[p], memory_order_relaxed);
        atomic_fetch_add_explicit(&t->sum[p], sum[p], memory_order_relaxed);
    }
}

static int recv_any(cons_arg *a, msg *m, long k)
{
    if (!a->timed)
        return weft_chan_recv(a->rx, m);
    int r;
    uint64_t t = (uint64_t)(k % 3) * 1000;
    while ((r = weft_chan_recv_timeout(a->rx, m, t)) == -ETIMEDOUT)
        t = t < 1000000 ? 2 * t + 1000 : t; /* grow: a rendezvous needs overlap */
    return r;
}

static void *consumer(void *p)
{
    cons_arg *a = p;
    long count[PRODUCERS] = {0}, sum[PRODUCERS] = {0};
    long last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    msg m;
    int r;
    long k = 0;
    while ((a->limit <= 0 || k < a->limit) && (r = recv_any(a, &m, k++)) == 0) {
        CHECK(m.producer < PRODUCERS, "producer %u", m.producer);
        CHECK((long)m.seq > last[m.producer], "order: %u after %ld", m.seq, last[m.producer]);
        last[m.producer] = m.seq;
        count[m.producer]++;
        sum[m.producer] += m.seq;
    }
    CHECK(a->limit > 0 && k >= a->limit ? true : r == -EPIPE, "recv: %d", r);
    account(a->t, count, sum);
    CHECK(weft_receiver_close(a->rx) == 0);
    return NULL;
}

/* Relaxed loads: called after every thread was joined. */
static void check_totals(totals *t, int producers, long n, const char *what)
{
    for (int p = 0; p < producers; p++) {
        long c = atomic_load_explicit(&t->count[p], memory_order_relaxed), s = atomic_load_explicit(&t->sum[p], memory_order_relaxed);
        CHECK(c == n, "%s: producer %d: %ld messages, expected %ld", what, p, c, n);
        CHECK(s == n * (n - 1) / 2, "%s: producer %d: checksum %ld", what, p, s);
    }
}

/* PRODUCERS producer threads sending n messages each, on tx and clones of it. */
static void start_producers(weft_sender *tx, long n, bool timed, prod_arg *pa, pthread_t *pt)
{
    for (int i = 0; i < PRODUCERS; i++) {
        pa[i] = (prod_arg){tx, (uint32_t)i, n};
        if (i > 0)
            CHECK(weft_sender_clone(tx, &pa[i].tx) == 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&pt[i], NULL, timed ? producer_timed : producer, &pa[i]);
}

/* quitters: 4 receivers of which 3 close their handle part-way: the last one is
 * then a lone receiver (list.c's path that looks into its slot before claiming it)
 * while messages keep coming. Nothing lost or duplicated across the hand-over. */
static void mpmc(size_t cap, long n, bool timed, bool quitters)
{
    int nc = quitters ? 4 : CONSUMERS;
    weft_sender *tx;
    weft_receiver *rx;
    CHECK(weft_chan_open(sizeof(msg), cap, NULL, &tx, &rx) == 0);
    totals t;
    memset(&t, 0, sizeof t);
    prod_arg pa[PRODUCERS];
    cons_arg ca[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    for (int i = 0; i < nc; i++) {
        ca[i].t = &t;
        ca[i].timed = timed;
        ca[i].limit = quitters && i > 0 ? (long)i * n / 4 + 1 : 0;
        if (i == 0)
            ca[i].rx = rx;
        else
            CHECK(weft_receiver_clone(rx, &ca[i].rx) == 0);
    }
    for (int i = 0; i < nc; i++)
        pthread_create(&ct[i], NULL, consumer, &ca[i]);
    start_producers(tx, n, timed, pa, pt);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < nc; i++)
        pthread_join(ct[i], NULL);
    char what[64];
    snprintf(what, sizeof what, "mpmc cap %zu%s%s", cap, timed ? " timed" : "",
             quitters ? " quitters" : "");
    check_totals(&t, PRODUCERS, n, what);
}

/* A backlog of several slabs: producers race for blocks alone until half their
 * messages are queued (slab.c carves under its lock), then consumers free blocks
 * (and unmap and trim slabs) while producers still allocate. */
static void slab_backlog(long n)
{
    weft_sender *tx;
    weft_receiver *rx;
    CHECK(weft_chan_open(sizeof(msg), WEFT_UNBOUNDED, NULL, &tx, &rx) == 0);
    totals t;
    memset(&t, 0, sizeof t);
    prod_arg pa[PRODUCERS];
    cons_arg ca[2];
    pthread_t pt[PRODUCERS], ct[2];
    start_producers(tx, n, false, pa, pt);
    while (weft_receiver_len(rx) < (size_t)(PRODUCERS * n / 2))
        sched_yield();
    CHECK(weft__chan_live_slabs(rx) >= 1, "a backlog of %zu messages in no slab", weft_receiver_len(rx));
    /* Clone before any consumer runs: a handle is used by one thread at a time. */
    for (int i = 0; i < 2; i++) {
        ca[i] = (cons_arg){rx, &t, false, 0};
        if (i > 0)
            CHECK(weft_receiver_clone(rx, &ca[i].rx) == 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_create(&ct[i], NULL, consumer, &ca[i]);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(ct[i], NULL);
    check_totals(&t, PRODUCERS, n, "slab backlog");
}

/* ---- select, receive side: NCHAN producers (one per channel, mixed flavors), 3
 * consumers selecting over all NCHAN receive ops, dropping an op at -EPIPE. */
static const size_t sel_caps[NCHAN] = {WEFT_UNBOUNDED, 1, 16, 0};

typedef struct sel_cons {
    weft_receiver *rx[NCHAN];
    totals *t;
    bool biased, timed;
} sel_cons;

static void *select_consumer(void *p)
{
    sel_cons *a = p;
    long count[PRODUCERS] = {0}, sum[PRODUCERS] = {0};
    long last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    msg bufs[NCHAN];
    weft_select_op ops[NCHAN];
    size_t n = NCHAN;
    for (size_t i = 0; i < n; i++)
        ops[i] = (weft_select_op){WEFT_SELECT_RECV, NULL, a->rx[i], &bufs[i], 0};
    while (n > 0) {
        int i;
        if (a->timed) {
            while ((i = weft_select_timeout(ops, n, 1000)) == -ETIMEDOUT)
                ;
        } else {
            i = a->biased ? weft_select_biased(ops, n) : weft_select(ops, n);
        }
        CHECK(i >= 0 && (size_t)i < n, "select: %d", i);
        if (ops[i].result == -EPIPE) {
            CHECK(weft_receiver_close(ops[i].rx) == 0);
            ops[i] = ops[n - 1];
            ops[i].buf = &bufs[i];
            n--;
            continue;
        }
        CHECK(ops[i].result == 0, "result %d", ops[i].result);
        msg *m = ops[i].buf;
        CHECK(m->producer < NCHAN);
        CHECK((long)m->seq > last[m->producer], "order");
        last[m->producer] = m->seq;
        count[m->producer]++;
        sum[m->producer] += m->seq;
    }
    account(a->t, count, sum);
    return NULL;
}

static void select_recv(long n)
{
    weft_sender *tx[NCHAN];
    weft_receiver *rx[NCHAN];
    for (int c = 0; c < NCHAN; c++)
        CHECK(weft_chan_open(sizeof(msg), sel_caps[c], NULL, &tx[c], &rx[c]) == 0);
    totals t;
    memset(&t, 0, sizeof t);
    enum { SC = 3 };
    sel_cons sc[SC];
    pthread_t ct[SC], pt[NCHAN];
    prod_arg pa[NCHAN];
    for (int i = 0; i < SC; i++) {
        sc[i].t = &t;
        sc[i].biased = i == SC - 1;
        sc[i].timed = i == 1;
        for (int c = 0; c < NCHAN; c++) {
            if (i == 0)
                sc[i].rx[c] = rx[c];
            else
                CHECK(weft_receiver_clone(rx[c], &sc[i].rx[c]) == 0);
        }
    }
    for (int i = 0; i < SC; i++)
        pthread_create(&ct[i], NULL, select_consumer, &sc[i]);
    for (int c = 0; c < NCHAN; c++) {
        pa[c] = (prod_arg){tx[c], (uint32_t)c, n};
        pthread_create(&pt[c], NULL, producer, &pa[c]);
    }
    for (int c = 0; c < NCHAN; c++)
        pthread_join(pt[c], NULL);
    for (int i = 0; i < SC; i++)
        pthread_join(ct[i], NULL);
    check_totals(&t, NCHAN, n, "select recv");
}

/* ---- select, send side: 2 producers each select-sending over the NCHAN channels;
 * one plain consumer per channel. */
typedef struct sel_prod {
    weft_sender *tx[NCHAN];
    uint32_t id;
    long n;
} sel_prod;

static void *select_producer(void *p)
{
    sel_prod *a = p;
    for (long k = 0; k < a->n; k++) {
        msg m = {a->id, (uint32_t)k};
        weft_select_op ops[NCHAN];
        for (int c = 0; c < NCHAN; c++)
            ops[c] = (weft_select_op){WEFT_SELECT_SEND, a->tx[c], NULL, &m, 0};
        int i = weft_select(ops, NCHAN);
        CHECK(i >= 0 && i < NCHAN && ops[i].result == 0, "select send: %d", i);
    }
    for (int c = 0; c < NCHAN; c++)
        CHECK(weft_sender_close(a->tx[c]) == 0);
    return NULL;
}

static void select_send(long n)
{
    weft_sender *tx[NCHAN];
    weft_receiver *rx[NCHAN];
    for (int c = 0; c < NCHAN; c++)
        CHECK(weft_chan_open(sizeof(msg), sel_caps[c], NULL, &tx[c], &rx[c]) == 0);
    totals t;
    memset(&t, 0, sizeof t);
    enum { SP = 2 };
    sel_prod sp[SP];
    cons_arg ca[NCHAN];
    pthread_t pt[SP], ct[NCHAN];
    for (int i = 0; i < SP; i++) {
        sp[i].id = (uint32_t)i;
        sp[i].n = n;
        for (int c = 0; c < NCHAN; c++) {
            if (i == 0)
                sp[i].tx[c] = tx[c];
            else
                CHECK(weft_sender_clone(tx[c], &sp[i].tx[c]) == 0);
        }
    }
    for (int c = 0; c < NCHAN; c++) {
        ca[c] = (cons_arg){rx[c], &t, false, 0};
        pthread_create(&ct[c], NULL, consumer, &ca[c]);
    }
    for (int i = 0; i < SP; i++)
        pthread_create(&pt[i], NULL, select_producer, &sp[i]);
    for (int i = 0; i < SP; i++)
        pthread_join(pt[i], NULL);
    for (int c = 0; c < NCHAN; c++)
        pthread_join(ct[c], NULL);
    check_totals(&t, SP, n, "select send");
}

/* ---- fairness: all NCHAN channels always ready */
static void select_fair(long rounds)
{
    weft_sender *tx[NCHAN];
    weft_receiver *rx[NCHAN];
    int bufs[NCHAN];
    weft_select_op ops[NCHAN];
    long hits[NCHAN] = {0};
    for (int c = 0; c < NCHAN; c++) {
        CHECK(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &tx[c], &rx[c]) == 0);
        ops[c] = (weft_select_op){WEFT_SELECT_RECV, NULL, rx[c], &bufs[c], 0};
        for (long k = 0; k < rounds; k++) {
            int v = c;
            CHECK(weft_chan_send(tx[c], &v) == 0);
        }
    }
    for (long k = 0; k < rounds; k++) {
        int i = weft_select(ops, NCHAN);
        CHECK(i >= 0 && i < NCHAN && ops[i].result == 0 && bufs[i] == i);
        hits[i]++;
    }
    for (int c = 0; c < NCHAN; c++) {
        CHECK(hits[c] * 10 >= rounds, "channel %d chosen %ld of %ld times", c, hits[c], rounds);
        weft_sender_close(tx[c]);
        weft_receiver_close(rx[c]);
    }
}

/* A lone receiver blocked on a fresh unbounded channel polls the first block the
 * moment a sender installs it (list_may_proceed): that poll must be ordered after
 * the block's initialisation. TSan caught it racing with malloc when the poll loaded
 * head.block relaxed. Each round: a fresh channel, a receiver in recv, and one send
 * a random 0-50 us after the receiver says it is about to block (the race window is
 * the receiver's spin before it sleeps, so some sends must land in it; with the
 * relaxed load, TSan flagged 2 runs of 4). */
typedef struct first_block_arg {
    weft_receiver *rx;
    atomic_int started;
} first_block_arg;

static void *first_block_receiver(void *p)
{
    first_block_arg *a = p;
    long v = -1;
    atomic_store_explicit(&a->started, 1, memory_order_release);
    CHECK(weft_chan_recv(a->rx, &v) == 0 && v == 42, "recv: %ld", v);
    return NULL;
}

static void first_block(long rounds)
{
    uint64_t rng = 0x2545F4914F6CDD1Du;
    for (long i = 0; i < rounds; i++) {
        weft_sender *tx;
        first_block_arg a = {.started = 0};
        CHECK(weft_chan_open(sizeof(long), WEFT_UNBOUNDED, NULL, &tx, &a.rx) == 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, first_block_receiver, &a) == 0);
        while (!atomic_load_explicit(&a.started, memory_order_acquire))
            weft_cpu_relax();
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        for (uint64_t d = rng % 2048; d > 0; d--) /* a varying delay: 0 to ~50 us */
            weft_cpu_relax();
        long v = 42;
        CHECK(weft_chan_send(tx, &v) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(weft_sender_close(tx) == 0 && weft_receiver_close(a.rx) == 0);
    }
}

int main(void)
{
    long n = WEFT_TSAN_OR(40000, stress_iters(100000)); /* TSan: more than /8 */
    static const size_t caps[] = {WEFT_UNBOUNDED, 16, 1, 0};
    bool verbose = getenv("STRESS_VERBOSE") != NULL;
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        mpmc(caps[k], caps[k] == 0 || caps[k] == 1 ? n / 10 : n, false, false); /* slow: a wake per message */
        if (verbose)
            fprintf(stderr, "mpmc cap %zu ok\n", caps[k]);
    }
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        mpmc(caps[k], n / 20, true, false);
        if (verbose)
            fprintf(stderr, "mpmc cap %zu timed ok\n", caps[k]);
    }
    mpmc(WEFT_UNBOUNDED, n / 4, false, true);
    if (verbose)
        fprintf(stderr, "mpmc quitters ok\n");
    slab_backlog(n);
    if (verbose)
        fprintf(stderr, "slab backlog ok\n");
    select_recv(n / 2);
    if (verbose)
        fprintf(stderr, "select recv ok\n");
    select_send(n / 4);
    if (verbose)
        fprintf(stderr, "select send ok\n");
    select_fair(stress_iters(40000));
    first_block(WEFT_TSAN_OR(3000, stress_iters(5000)));
    if (verbose)
        fprintf(stderr, "first block ok\n");
    puts("stress_chan: ok");
    return 0;
}
