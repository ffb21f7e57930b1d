/* fuzz_chan.c: libFuzzer target for channels (weft/chan.h), also built as a corpus
 * replay test (replay_main.c) in the ordinary builds.
 *
 * The input drives two channels A and B (each of any flavor: bounded N, bounded 1,
 * rendezvous 0, unbounded), 2 producer threads and 1 or 2 consumer threads. Input
 * bytes after a 4-byte header are dealt round-robin to the threads; each thread reads
 * its bytes as a program of channel calls: try_send / send_timeout / send (unbounded
 * only) / select-send over both channels (timed, try, biased) on the producer side;
 * try_recv / recv_timeout / select-recv on the consumer side; clone and close of the
 * thread's own handles and the advisory queries on both. No call can block without a
 * timeout (each at most ~100 us), and each thread runs at most MAX_OPS calls, so no
 * input can hang.
 *
 * Reference model: message = (producer, channel, seq), seq unique per producer. The
 * producer records the outcome of each seq: sent on A, sent on B, or failed (-EPIPE,
 * -EAGAIN, -ETIMEDOUT). Consumers log what they receive, in order; at the end every
 * thread closes its handles, the main thread drains the channels it kept a receiver
 * of (after every sender is gone a try_recv must give a message or -EPIPE, never
 * -EAGAIN), and the drop callback logs what was left when a channel was freed.
 * Checked: every successfully sent message was received or dropped exactly once; no
 * failed send's message appears; each receiver sees each (producer, channel) stream
 * in increasing order; what is drained or dropped comes after everything received
 * from the same stream (FIFO); queries stay within bounds. */
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/chan.h>
#include <weft/runtime.h>

#define NCHAN 2
#define PRODUCERS 2
#define MAX_CONSUMERS 2
#define MAX_OPS 256        /* calls per thread */
#define MAX_HANDLES 4      /* handles per thread and channel */
#define SEQ_MAX (2 * MAX_OPS)

typedef struct fz_msg {
    uint16_t producer;
    uint16_t chan;
    uint32_t seq;
} fz_msg;

enum { OUT_NONE = 0, OUT_SENT_A, OUT_SENT_B, OUT_FAILED };

typedef struct fz_log {
    fz_msg m[SEQ_MAX * PRODUCERS];
    size_t n;
} fz_log;

typedef struct fz_world fz_world;

typedef struct fz_thread {
    fz_world *w;
    int id;           /* producer id, or consumer index */
    const uint8_t *data;
    size_t size;      /* the whole input; this thread reads bytes id, id+stride, ... */
    size_t first, stride;
    weft_sender *tx[NCHAN][MAX_HANDLES];
    weft_receiver *rx[NCHAN][MAX_HANDLES];
    int ntx[NCHAN], nrx[NCHAN];
    uint32_t next_seq;
    uint8_t outcome[SEQ_MAX]; /* producer: OUT_* by seq */
    fz_log log;               /* consumer: what it received, in order */
} fz_thread;

struct fz_world {
    size_t cap[NCHAN];
    fz_thread prod[PRODUCERS];
    fz_thread cons[MAX_CONSUMERS];
    int nconsumers;
    /* Written by the drop callback, which runs in whichever thread frees a channel. */
    _Atomic uint32_t dropped[PRODUCERS][SEQ_MAX];
    _Atomic uint32_t dropped_bad; /* a dropped message no producer could have sent */
};

static void fz_drop(void *ctx, void *msg)
{
    fz_world *w = ctx;
    fz_msg m;
    memcpy(&m, msg, sizeof m);
    if (m.producer >= PRODUCERS || m.seq >= SEQ_MAX || m.chan >= NCHAN) {
        atomic_fetch_add_explicit(&w->dropped_bad, 1, memory_order_relaxed);
        return;
    }
    /* Relaxed: read after the threads are joined (join orders it). */
    atomic_fetch_add_explicit(&w->dropped[m.producer][m.seq], 1u << (8 * m.chan), memory_order_relaxed);
}

static size_t fz_capacity(uint8_t b)
{
    switch (b & 3) {
    case 0: return 2 + (b >> 2) % 15; /* bounded N, 2..16 */
    case 1: return 1;
    case 2: return 0;
    default: return WEFT_UNBOUNDED;
    }
}

/* 0, 1, 10, 100 microseconds. */
static uint64_t fz_timeout(uint8_t b)
{
    static const uint64_t t[4] = {0, 1000, 10000, 100000};
    return t[b & 3];
}

static void fz_check_queries(fz_thread *t, int c)
{
    size_t cap = t->w->cap[c];
    if (t->ntx[c]) {
        weft_sender *s = t->tx[c][0];
        CHECK(weft_sender_capacity(s) == cap);
        CHECK(weft_sender_count(s) >= 1);
        size_t len = weft_sender_len(s);
        CHECK(cap == WEFT_UNBOUNDED || len <= (cap ? cap : 1), "len %zu cap %zu", len, cap);
    }
    if (t->nrx[c]) {
        weft_receiver *r = t->rx[c][0];
        CHECK(weft_receiver_capacity(r) == cap);
        CHECK(weft_receiver_count(r) >= 1);
        size_t len = weft_receiver_len(r);
        CHECK(cap == WEFT_UNBOUNDED || len <= (cap ? cap : 1), "len %zu cap %zu", len, cap);
    }
}

static void fz_record_send(fz_thread *t, uint32_t seq, int c, int r)
{
    CHECK(r == 0 || r == -EPIPE || r == -EAGAIN || r == -ETIMEDOUT, "send: %d", r);
    t->outcome[seq] = r == 0 ? (uint8_t)(OUT_SENT_A + c) : OUT_FAILED;
}

static void fz_producer_op(fz_thread *t, uint8_t b)
{
    int op = b & 15, c = (b >> 4) & 1;
    uint64_t tmo = fz_timeout((uint8_t)(b >> 5));
    weft_sender *s = t->ntx[c] ? t->tx[c][(b >> 6) % t->ntx[c]] : NULL;
    fz_msg m = {(uint16_t)t->id, (uint16_t)c, t->next_seq};
    switch (op) {
    case 0: case 1: case 2: case 3: /* plain sends: the common case */
        if (!s)
            return;
        t->next_seq++;
        if (op == 0 || op == 1)
            fz_record_send(t, m.seq, c, weft_chan_try_send(s, &m));
        else if (op == 2 && t->w->cap[c] == WEFT_UNBOUNDED)
            fz_record_send(t, m.seq, c, weft_chan_send(s, &m));
        else
            fz_record_send(t, m.seq, c, weft_chan_send_timeout(s, &m, tmo));
        return;
    case 4: case 5: case 6: { /* select-send over both channels: one seq, two copies */
        if (!t->ntx[0] || !t->ntx[1])
            return;
        fz_msg ma = {(uint16_t)t->id, 0, t->next_seq}, mb = {(uint16_t)t->id, 1, t->next_seq};
        t->next_seq++;
        weft_select_op ops[2] = {
            {WEFT_SELECT_SEND, t->tx[0][0], NULL, &ma, 1},
            {WEFT_SELECT_SEND, t->tx[1][t->ntx[1] - 1], NULL, &mb, 1},
        };
        int r = op == 4   ? weft_select_timeout(ops, 2, tmo)
                : op == 5 ? weft_try_select(ops, 2)
                          : weft_select_biased_timeout(ops, 2, tmo);
        if (r >= 0) {
            CHECK(r < 2 && (ops[r].result == 0 || ops[r].result == -EPIPE), "select %d res %d", r, ops[r].result);
            fz_record_send(t, ma.seq, r, ops[r].result);
        } else {
            CHECK(r == -EAGAIN || r == -ETIMEDOUT, "select: %d", r);
            t->outcome[ma.seq] = OUT_FAILED;
        }
        return;
    }
    case 7: case 8: /* clone */
        if (s && t->ntx[c] < MAX_HANDLES) {
            CHECK(weft_sender_clone(s, &t->tx[c][t->ntx[c]]) == 0);
            t->ntx[c]++;
        }
        return;
    case 9: /* close one */
        if (s) {
            int i = (b >> 6) % t->ntx[c];
            CHECK(weft_sender_close(t->tx[c][i]) == 0);
            t->tx[c][i] = t->tx[c][--t->ntx[c]];
        }
        return;
    case 10:
        fz_check_queries(t, c);
        return;
    case 11:
        if (s)
            (void)weft_sender_is_disconnected(s);
        return;
    default:
        if (op == 12)
            sched_yield();
        return;
    }
}

static void fz_log_recv(fz_thread *t, const fz_msg *m)
{
    CHECK(t->log.n < sizeof t->log.m / sizeof t->log.m[0]);
    t->log.m[t->log.n++] = *m;
}

static void fz_consumer_op(fz_thread *t, uint8_t b)
{
    int op = b & 15, c = (b >> 4) & 1;
    uint64_t tmo = fz_timeout((uint8_t)(b >> 5));
    weft_receiver *r = t->nrx[c] ? t->rx[c][(b >> 6) % t->nrx[c]] : NULL;
    fz_msg m;
    int res;
    switch (op) {
    case 0: case 1: case 2: case 3:
        if (!r)
            return;
        res = op < 2 ? weft_chan_try_recv(r, &m) : weft_chan_recv_timeout(r, &m, tmo);
        CHECK(res == 0 || res == -EPIPE || res == -EAGAIN || res == -ETIMEDOUT, "recv: %d", res);
        if (res == 0) {
            CHECK(m.chan == c, "message of channel %u received on %d", m.chan, c);
            fz_log_recv(t, &m);
        }
        return;
    case 4: case 5: case 6: {
        if (!t->nrx[0] || !t->nrx[1])
            return;
        fz_msg ma, mb;
        weft_select_op ops[2] = {
            {WEFT_SELECT_RECV, NULL, t->rx[0][t->nrx[0] - 1], &ma, 1},
            {WEFT_SELECT_RECV, NULL, t->rx[1][0], &mb, 1},
        };
        res = op == 4   ? weft_select_timeout(ops, 2, tmo)
              : op == 5 ? weft_try_select(ops, 2)
                        : weft_select_biased_timeout(ops, 2, tmo);
        if (res >= 0) {
            CHECK(res < 2 && (ops[res].result == 0 || ops[res].result == -EPIPE));
            if (ops[res].result == 0) {
                const fz_msg *got = res ? &mb : &ma;
                CHECK(got->chan == res, "message of channel %u selected on %d", got->chan, res);
                fz_log_recv(t, got);
            }
        } else {
            CHECK(res == -EAGAIN || res == -ETIMEDOUT, "select: %d", res);
        }
        return;
    }
    case 7:
        if (r && t->nrx[c] < MAX_HANDLES) {
            CHECK(weft_receiver_clone(r, &t->rx[c][t->nrx[c]]) == 0);
            t->nrx[c]++;
        }
        return;
    case 8:
        if (r) {
            int i = (b >> 6) % t->nrx[c];
            CHECK(weft_receiver_close(t->rx[c][i]) == 0);
            t->rx[c][i] = t->rx[c][--t->nrx[c]];
        }
        return;
    case 9:
        fz_check_queries(t, c);
        return;
    case 10:
        if (r)
            (void)weft_receiver_is_disconnected(r);
        return;
    default:
        if (op == 11)
            sched_yield();
        return;
    }
}

static void fz_close_all(fz_thread *t)
{
    for (int c = 0; c < NCHAN; c++) {
        while (t->ntx[c])
            CHECK(weft_sender_close(t->tx[c][--t->ntx[c]]) == 0);
        while (t->nrx[c])
            CHECK(weft_receiver_close(t->rx[c][--t->nrx[c]]) == 0);
    }
}

static void *fz_run(void *p)
{
    fz_thread *t = p;
    bool producer = t >= t->w->prod && t < t->w->prod + PRODUCERS;
    int ops = 0;
    for (size_t i = t->first; i < t->size && ops < MAX_OPS; i += t->stride, ops++) {
        if (producer)
            fz_producer_op(t, t->data[i]);
        else
            fz_consumer_op(t, t->data[i]);
    }
    fz_close_all(t);
    return NULL;
}

/* The receiver log `log` sees each (producer, channel) stream in increasing seq order;
 * last[p][c] is updated to the highest seq seen (checking it increases). */
static void fz_check_order(const fz_log *log, int64_t last[PRODUCERS][NCHAN])
{
    for (size_t i = 0; i < log->n; i++) {
        const fz_msg *m = &log->m[i];
        CHECK(m->producer < PRODUCERS && m->chan < NCHAN && m->seq < SEQ_MAX, "garbage message");
        CHECK((int64_t)m->seq > last[m->producer][m->chan], "producer %u chan %u: seq %u after %lld",
              m->producer, m->chan, m->seq, (long long)last[m->producer][m->chan]);
        last[m->producer][m->chan] = m->seq;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    fz_world *w = calloc(1, sizeof *w);
    CHECK(w);
    uint8_t mode = data[2];
    w->nconsumers = 1 + (mode & 1);
    bool keep_rx = mode & 2;  /* main keeps a receiver of each channel and drains */
    bool keep_tx = mode & 4;  /* main keeps a sender until the threads are done */
    weft_chan_options opts = {fz_drop, w};
    weft_sender *tx[NCHAN];
    weft_receiver *rx[NCHAN];
    for (int c = 0; c < NCHAN; c++) {
        w->cap[c] = fz_capacity(data[c]);
        CHECK(weft_chan_open(sizeof(fz_msg), w->cap[c], &opts, &tx[c], &rx[c]) == 0);
    }
    int nthreads = PRODUCERS + w->nconsumers;
    for (int i = 0; i < nthreads; i++) {
        fz_thread *t = i < PRODUCERS ? &w->prod[i] : &w->cons[i - PRODUCERS];
        t->w = w;
        t->id = i < PRODUCERS ? i : i - PRODUCERS;
        t->data = data;
        t->size = size;
        t->first = 4 + (size_t)i;
        t->stride = (size_t)nthreads;
        for (int c = 0; c < NCHAN; c++) {
            if (i < PRODUCERS)
                CHECK(weft_sender_clone(tx[c], &t->tx[c][t->ntx[c]++]) == 0);
            else
                CHECK(weft_receiver_clone(rx[c], &t->rx[c][t->nrx[c]++]) == 0);
        }
    }
    for (int c = 0; c < NCHAN; c++) {
        if (!keep_tx)
            CHECK(weft_sender_close(tx[c]) == 0);
        if (!keep_rx)
            CHECK(weft_receiver_close(rx[c]) == 0);
    }
    pthread_t th[PRODUCERS + MAX_CONSUMERS];
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_create(&th[i], NULL, fz_run, i < PRODUCERS ? &w->prod[i] : &w->cons[i - PRODUCERS]) == 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_join(th[i], NULL) == 0);

    /* Every producer's handle is closed: drain. */
    fz_log *drain = calloc(1, sizeof *drain);
    CHECK(drain);
    for (int c = 0; c < NCHAN; c++) {
        if (keep_tx)
            CHECK(weft_sender_close(tx[c]) == 0);
        if (!keep_rx)
            continue;
        CHECK(weft_receiver_is_disconnected(rx[c]));
        fz_msg m;
        int r;
        while ((r = weft_chan_try_recv(rx[c], &m)) == 0) {
            CHECK(m.chan == c);
            CHECK(drain->n < sizeof drain->m / sizeof drain->m[0]);
            drain->m[drain->n++] = m;
        }
        CHECK(r == -EPIPE, "drain: %d", r);
        CHECK(weft_receiver_len(rx[c]) == 0);
        CHECK(weft_receiver_close(rx[c]) == 0);
    }
    /* Every handle is closed now, so both channels are freed and dropped[] is final. */
    CHECK(atomic_load_explicit(&w->dropped_bad, memory_order_relaxed) == 0);

    /* Order: per receiver; then drained and dropped messages after all received. */
    int64_t last_all[PRODUCERS][NCHAN];
    for (int p = 0; p < PRODUCERS; p++)
        for (int c = 0; c < NCHAN; c++)
            last_all[p][c] = -1;
    static const int64_t unseen[PRODUCERS][NCHAN] = {{-1, -1}, {-1, -1}};
    for (int k = 0; k < w->nconsumers; k++) {
        int64_t last[PRODUCERS][NCHAN];
        memcpy(last, unseen, sizeof last);
        fz_check_order(&w->cons[k].log, last);
        for (int p = 0; p < PRODUCERS; p++)
            for (int c = 0; c < NCHAN; c++)
                last_all[p][c] = last[p][c] > last_all[p][c] ? last[p][c] : last_all[p][c];
    }
    int64_t after[PRODUCERS][NCHAN];
    memcpy(after, last_all, sizeof after);
    fz_check_order(drain, after);
    for (int p = 0; p < PRODUCERS; p++)
        for (uint32_t s = 0; s < SEQ_MAX; s++) {
            uint32_t d = atomic_load_explicit(&w->dropped[p][s], memory_order_relaxed);
            for (int c = 0; c < NCHAN; c++)
                if ((d >> (8 * c)) & 0xff)
                    CHECK((int64_t)s > last_all[p][c], "dropped seq %u of %d/%d is before received %lld", s, p,
                          c, (long long)last_all[p][c]);
        }

    /* Exactly once: received (by a consumer or the drain) or dropped. */
    uint8_t seen[PRODUCERS][SEQ_MAX];
    memset(seen, 0, sizeof seen);
    for (int k = 0; k <= w->nconsumers; k++) {
        const fz_log *log = k < w->nconsumers ? &w->cons[k].log : drain;
        for (size_t i = 0; i < log->n; i++) {
            const fz_msg *m = &log->m[i];
            CHECK(seen[m->producer][m->seq] == 0, "producer %u seq %u received twice", m->producer, m->seq);
            seen[m->producer][m->seq] = 1;
            uint8_t o = w->prod[m->producer].outcome[m->seq];
            CHECK(o == OUT_SENT_A + m->chan, "producer %u seq %u received on %u, send outcome %u", m->producer,
                  m->seq, m->chan, o);
        }
    }
    for (int p = 0; p < PRODUCERS; p++)
        for (uint32_t s = 0; s < SEQ_MAX; s++) {
            uint32_t d = atomic_load_explicit(&w->dropped[p][s], memory_order_relaxed);
            uint8_t o = w->prod[p].outcome[s];
            if (d) {
                CHECK(o == OUT_SENT_A || o == OUT_SENT_B, "dropped message %d/%u was never sent (%u)", p, s, o);
                CHECK(d == 1u << (8 * (o - OUT_SENT_A)), "dropped message %d/%u: %#x", p, s, d);
                CHECK(!seen[p][s], "message %d/%u both received and dropped", p, s);
                seen[p][s] = 1;
            }
            if (o == OUT_SENT_A || o == OUT_SENT_B)
                CHECK(seen[p][s], "message %d/%u sent on %d but lost", p, s, o - OUT_SENT_A);
        }
    free(drain);
    free(w);
    return 0;
}
