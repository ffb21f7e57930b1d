/* stress_rendezvous_slot.c: the rendezvous channel's lone-waiter slot (chan/zero.c)
 * against everything that can happen to a waiter sitting in it (standalone, runs
 * under ThreadSanitizer too).
 *
 * A lone waiter publishes itself in the channel's slot without the mutex; a partner
 * takes it out with a CAS on the slot, which the waiter's own timeout races for (its
 * withdrawal); a second waiter, a select, an observer or a disconnection freezes the
 * slot instead, sending the waiter to the mutex-guarded lists. Messages of 8 and 16
 * bytes travel inside the slot's line, larger ones through the waiter's buffer, so every
 * part runs with 8-, 16- and 40-byte messages, each word of which carries the value
 * (a torn or stale copy shows).
 *
 * Parts:
 *  - withdraw: one sender, one receiver, both with timeouts about as long as the
 *    waiter's spin (and some try calls), so that a waiter gives up exactly while a
 *    partner is claiming it, over and over. Values must arrive in order, each once:
 *    a message delivered although its send timed out, or a lost one, breaks the
 *    sequence at once.
 *  - close: a waiter in the slot (and sometimes a second one of its side, which sends
 *    it to a list) while the other side's last handle closes: each gets -EPIPE.
 *  - select: a plain waiter in the slot while the other side selects (blocking,
 *    try, timed, or weft_select_ready first), arriving before or after it.
 *  - many: 4 senders and 4 receivers with blocking and timed calls; every message
 *    received exactly once.
 * A watchdog (SIGALRM) fails the test instead of letting a lost wake-up hang it. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <weft/chan.h>
#include <weft/sync.h>
#include "test_rng.h"
#include "watchdog.h"
#include "rendezvous_msg.h"

#define WATCHDOG_S 300
#define SHORT_TIMEOUT_NS 8000 /* about a waiter's spin: it gives up as partners arrive */

/* A random delay: none, 1 to 2^(max_log2 - 1) pauses (across a waiter's spin and
 * its deadline), or a yield. */
static void delay_upto(uint64_t *rng, unsigned max_log2)
{
    uint64_t r = test_next_rand(rng);
    switch (r % 8) {
    case 0:
    case 1:
    case 2:
        return;
    case 7:
        sched_yield();
        return;
    default: {
        uint32_t n = 1u << ((r >> 8) % max_log2);
        for (uint32_t i = 0; i < n; i++)
            weft_cpu_relax();
        return;
    }
    }
}

static void delay(uint64_t *rng) { delay_upto(rng, 12); }

/* ------------------------------------------------------------------------------
 * withdraw: timeouts racing claims */

typedef struct wd {
    weft_sender *tx;
    weft_receiver *rx;
    size_t size;
    long n;
} wd;

static void *wd_sender(void *p)
{
    wd *s = p;
    uint64_t rng = 0x51f15eedu ^ s->size;
    msg m;
    for (long i = 0; i < s->n; i++) {
        fill(&m, (uint64_t)i, s->size);
        for (;;) {
            delay_upto(&rng, 15);
            uint64_t r3 = test_next_rand(&rng) % 8;
            int r = r3 == 0   ? weft_chan_try_send(s->tx, &m)
                    : r3 == 1 ? weft_chan_send(s->tx, &m)
                              : weft_chan_send_timeout(s->tx, &m, test_next_rand(&rng) % SHORT_TIMEOUT_NS);
            if (r == 0)
                break;
            CHECK(r == -ETIMEDOUT || r == -EAGAIN, "send: %d", r);
        }
    }
    return NULL;
}

static void run_withdraw(size_t size, long n)
{
    wd s = {.size = size, .n = n};
    CHECK(weft_chan_open(size, 0, NULL, &s.tx, &s.rx) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wd_sender, &s) == 0);
    uint64_t rng = 0xfeedbeefu ^ size;
    long timeouts = 0;
    for (long i = 0; i < n; i++) {
        msg m;
        for (;;) {
            delay_upto(&rng, 15);
            memset(&m, 0x5a, sizeof m);
            /* No try here: two try loops could never meet, and the sender's blocking
             * calls need a receiver that eventually waits. */
            int r = test_next_rand(&rng) % 8 == 0
                        ? weft_chan_recv(s.rx, &m)
                        : weft_chan_recv_timeout(s.rx, &m, test_next_rand(&rng) % SHORT_TIMEOUT_NS);
            if (r == 0)
                break;
            CHECK(r == -ETIMEDOUT, "recv: %d", r);
            timeouts++;
        }
        uint64_t v = value_of(&m, size);
        CHECK(v == (uint64_t)i, "got %llu, expected %ld (a lost or duplicated message)",
              (unsigned long long)v, i);
    }
    CHECK(pthread_join(t, NULL) == 0);
    msg m;
    CHECK(weft_chan_try_recv(s.rx, &m) == -EAGAIN);
    CHECK(weft_sender_close(s.tx) == 0);
    CHECK(weft_receiver_close(s.rx) == 0);
    printf("withdraw: %zu-byte messages, %ld ok (%ld receive timeouts)\n", size, n, timeouts);
}

/* ------------------------------------------------------------------------------
 * close: disconnection reaching a waiter in the slot (or moved into a list) */

typedef struct cl {
    weft_sender *tx;
    weft_receiver *rx;
    bool recv; /* the waiters receive (the closer drops the sender) */
    bool timed;
    size_t size;
} cl;

static void *cl_waiter(void *p)
{
    cl *c = p;
    msg m;
    fill(&m, 1, c->size);
    int r;
    if (c->recv)
        r = c->timed ? weft_chan_recv_timeout(c->rx, &m, 10000000000u) : weft_chan_recv(c->rx, &m);
    else
        r = c->timed ? weft_chan_send_timeout(c->tx, &m, 10000000000u) : weft_chan_send(c->tx, &m);
    CHECK(r == -EPIPE, "waiter: %d, expected -EPIPE", r);
    return NULL;
}

static void run_close(long rounds)
{
    uint64_t rng = 0xc105edu;
    for (long i = 0; i < rounds; i++) {
        cl c = {.recv = i % 2 == 0, .timed = test_next_rand(&rng) % 2, .size = sizes[i % 3]};
        CHECK(weft_chan_open(c.size, 0, NULL, &c.tx, &c.rx) == 0);
        /* Two waiters on one side: each needs a handle of its own (one thread a
         * handle); the extra one is closed by the waiters' side after they end. */
        bool two = test_next_rand(&rng) % 2;
        cl c2 = c;
        if (two) {
            if (c.recv)
                CHECK(weft_receiver_clone(c.rx, &c2.rx) == 0);
            else
                CHECK(weft_sender_clone(c.tx, &c2.tx) == 0);
        }
        pthread_t t, t2;
        CHECK(pthread_create(&t, NULL, cl_waiter, &c) == 0);
        if (two)
            CHECK(pthread_create(&t2, NULL, cl_waiter, &c2) == 0);
        delay(&rng);
        if (test_next_rand(&rng) % 2) { /* let them reach the slot, the list, or the futex */
            struct timespec ts = {0, (long)(test_next_rand(&rng) % 200000)};
            nanosleep(&ts, NULL);
        }
        if (c.recv)
            CHECK(weft_sender_close(c.tx) == 0);
        else
            CHECK(weft_receiver_close(c.rx) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        if (two)
            CHECK(pthread_join(t2, NULL) == 0);
        if (c.recv) {
            CHECK(weft_receiver_close(c.rx) == 0);
            if (two)
                CHECK(weft_receiver_close(c2.rx) == 0);
        } else {
            CHECK(weft_sender_close(c.tx) == 0);
            if (two)
                CHECK(weft_sender_close(c2.tx) == 0);
        }
    }
    printf("close: %ld rounds ok\n", rounds);
}

/* ------------------------------------------------------------------------------
 * select: against a plain waiter in the slot */

typedef struct sel {
    weft_sender *tx;
    weft_receiver *rx;
    bool plain_recv; /* the plain waiter receives; the selector sends */
    size_t size;
    uint64_t value, seed;
} sel;

static void *sel_plain(void *p)
{
    sel *s = p;
    uint64_t rng = s->seed;
    delay(&rng);
    msg m;
    if (s->plain_recv) {
        memset(&m, 0x5a, sizeof m);
        CHECK(weft_chan_recv(s->rx, &m) == 0);
        uint64_t v = value_of(&m, s->size);
        CHECK(v == s->value, "plain recv got %llu, sent %llu", (unsigned long long)v,
              (unsigned long long)s->value);
    } else {
        fill(&m, s->value, s->size);
        CHECK(weft_chan_send(s->tx, &m) == 0);
    }
    return NULL;
}

static void run_select(long rounds)
{
    uint64_t rng = 0x5e1ec7u;
    for (long i = 0; i < rounds; i++) {
        sel s = {.plain_recv = i % 2 == 0, .size = sizes[(i / 2) % 3], .value = (uint64_t)i,
                 .seed = test_next_rand(&rng)};
        CHECK(weft_chan_open(s.size, 0, NULL, &s.tx, &s.rx) == 0);
        /* An idle rendezvous channel beside it in the select: nobody on its other side. */
        weft_sender *itx;
        weft_receiver *irx;
        CHECK(weft_chan_open(s.size, 0, NULL, &itx, &irx) == 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, sel_plain, &s) == 0);
        delay(&rng);
        msg m, idle;
        if (s.plain_recv)
            fill(&m, s.value, s.size);
        else
            memset(&m, 0x5a, sizeof m);
        fill(&idle, 0, s.size);
        weft_select_op ops[2];
        if (s.plain_recv) {
            ops[0] = (weft_select_op){WEFT_SELECT_SEND, s.tx, NULL, &m, 0};
            ops[1] = (weft_select_op){WEFT_SELECT_SEND, itx, NULL, &idle, 0};
        } else {
            ops[0] = (weft_select_op){WEFT_SELECT_RECV, NULL, s.rx, &m, 0};
            ops[1] = (weft_select_op){WEFT_SELECT_RECV, NULL, irx, &idle, 0};
        }
        int r;
        switch (test_next_rand(&rng) % 4) {
        case 0:
            r = weft_select(ops, 2);
            break;
        case 1: /* try until the plain waiter is there */
            while ((r = weft_try_select(ops, 2)) == -EAGAIN)
                sched_yield();
            break;
        case 2:
            while ((r = weft_select_timeout(ops, 2, test_next_rand(&rng) % SHORT_TIMEOUT_NS)) == -ETIMEDOUT)
                ;
            break;
        default: /* an observer first: it must see the waiter, then the op completes */
            CHECK(weft_select_ready(ops, 2) == 0, "select_ready picked the idle channel");
            r = weft_try_select(ops, 2); /* the waiter is there and stays: it must meet it */
            break;
        }
        CHECK(r == 0 && ops[0].result == 0, "select: %d (result %d)", r, ops[0].result);
        if (!s.plain_recv) {
            uint64_t v = value_of(&m, s.size);
            CHECK(v == s.value, "select recv got %llu, sent %llu", (unsigned long long)v,
                  (unsigned long long)s.value);
        }
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(weft_sender_close(s.tx) == 0);
        CHECK(weft_receiver_close(s.rx) == 0);
        CHECK(weft_sender_close(itx) == 0);
        CHECK(weft_receiver_close(irx) == 0);
    }
    printf("select: %ld rounds ok\n", rounds);
}

/* ------------------------------------------------------------------------------
 * many: 4 senders, 4 receivers, every message exactly once */

#define MANY_SIDE 4

typedef struct many {
    weft_sender *tx[MANY_SIDE];
    weft_receiver *rx[MANY_SIDE];
    size_t size;
    long per_sender;
    _Atomic uint8_t *seen;
} many;

typedef struct many_arg {
    many *m;
    int id;
} many_arg;

static void *many_sender(void *p)
{
    many_arg *a = p;
    many *m = a->m;
    uint64_t rng = 0xabcdefu + (uint64_t)a->id * 0x9e3779b9u;
    msg x;
    for (long i = 0; i < m->per_sender; i++) {
        fill(&x, (uint64_t)a->id * (uint64_t)m->per_sender + (uint64_t)i, m->size);
        int r;
        do {
            if (test_next_rand(&rng) % 64 == 0)
                delay(&rng);
            r = test_next_rand(&rng) % 4 == 0
                    ? weft_chan_send_timeout(m->tx[a->id], &x, test_next_rand(&rng) % SHORT_TIMEOUT_NS)
                    : weft_chan_send(m->tx[a->id], &x);
            CHECK(r == 0 || r == -ETIMEDOUT, "send: %d", r);
        } while (r != 0);
    }
    CHECK(weft_sender_close(m->tx[a->id]) == 0);
    return NULL;
}

static void *many_receiver(void *p)
{
    many_arg *a = p;
    many *m = a->m;
    uint64_t rng = 0x123457u + (uint64_t)a->id * 0x85ebca6bu;
    long total = MANY_SIDE * m->per_sender;
    for (;;) {
        msg x;
        if (test_next_rand(&rng) % 64 == 0)
            delay(&rng);
        int r = test_next_rand(&rng) % 4 == 0
                    ? weft_chan_recv_timeout(m->rx[a->id], &x, test_next_rand(&rng) % SHORT_TIMEOUT_NS)
                    : weft_chan_recv(m->rx[a->id], &x);
        if (r == -EPIPE)
            break;
        if (r == -ETIMEDOUT)
            continue;
        CHECK(r == 0, "recv: %d", r);
        uint64_t v = value_of(&x, m->size);
        CHECK(v < (uint64_t)total, "value %llu out of range", (unsigned long long)v);
        /* Relaxed: a count, read after the threads are joined. */
        uint8_t before = atomic_fetch_add_explicit(&m->seen[v], 1, memory_order_relaxed);
        CHECK(before == 0, "message %llu received twice", (unsigned long long)v);
    }
    CHECK(weft_receiver_close(m->rx[a->id]) == 0);
    return NULL;
}

static void run_many(size_t size, long per_sender)
{
    many m = {.size = size, .per_sender = per_sender};
    long total = MANY_SIDE * per_sender;
    m.seen = calloc((size_t)total, sizeof *m.seen);
    CHECK(m.seen);
    CHECK(weft_chan_open(size, 0, NULL, &m.tx[0], &m.rx[0]) == 0);
    for (int i = 1; i < MANY_SIDE; i++) {
        CHECK(weft_sender_clone(m.tx[0], &m.tx[i]) == 0);
        CHECK(weft_receiver_clone(m.rx[0], &m.rx[i]) == 0);
    }
    pthread_t t[2 * MANY_SIDE];
    many_arg args[2 * MANY_SIDE];
    for (int i = 0; i < MANY_SIDE; i++) {
        args[i] = (many_arg){&m, i};
        args[MANY_SIDE + i] = (many_arg){&m, i};
        CHECK(pthread_create(&t[i], NULL, many_sender, &args[i]) == 0);
        CHECK(pthread_create(&t[MANY_SIDE + i], NULL, many_receiver, &args[MANY_SIDE + i]) == 0);
    }
    for (int i = 0; i < 2 * MANY_SIDE; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (long v = 0; v < total; v++)
        CHECK(atomic_load_explicit(&m.seen[v], memory_order_relaxed) == 1, "message %ld lost", v);
    free(m.seen);
    printf("many: %d x %d, %zu-byte messages, %ld each ok\n", MANY_SIDE, MANY_SIDE, size,
           per_sender);
}

int main(void)
{
    test_watchdog_arm("stress_rendezvous_slot", WATCHDOG_S);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        run_withdraw(sizes[k], stress_iters(30000));
    run_close(stress_iters(3000));
    run_select(stress_iters(6000));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        run_many(sizes[k], stress_iters(20000));
    return 0;
}
