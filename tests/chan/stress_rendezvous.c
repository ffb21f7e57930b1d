/* stress_rendezvous.c: the rendezvous hand-off (chan/zero.c) with the partner arriving
 * at every moment of a waiter's wait (standalone, runs under ThreadSanitizer too).
 *
 * A waiter spins, then yields, then announces its sleep (CAS WAITING -> SLEEPING) and
 * sleeps on the futex; its partner claims it with a CAS and calls the futex only if it
 * replaced SLEEPING. The race to get right is the partner arriving just as the waiter
 * decides to sleep: a lost wake-up there is a hang, a double claim a duplicated or lost
 * message. Random delays before every operation, on both sides, from none through a
 * few pauses, about a spin budget's worth of pauses, a yield, to a sleep of tens of
 * microseconds, make the partner arrive in each phase (and at the boundaries between
 * them) many times over.
 *
 * Parts, each checking that every message arrives exactly once:
 *  - ping-pong: A sends i on c1 and B sends it back on c2, in order; each operation
 *    in a random form (blocking, timed with a short timeout and retried, try retried
 *    (A only: two try loops could never meet), select over the channel and an idle
 *    rendezvous channel, timed select). A message delivered although its send timed
 *    out, or taken twice, breaks the sequence at once.
 *  - many to many: 3 senders and 3 receivers on one rendezvous channel, random delays
 *    and forms (re-drawn at every retry, so try loops on both sides still meet); each
 *    (sender, seq) must be received exactly once, and the receivers end with -EPIPE.
 *  - disconnect: a receiver (or sender) waits while the other side's last handle
 *    closes after a random delay: it must get -EPIPE in whatever phase it was.
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

#define WATCHDOG_S 300
#define SHORT_TIMEOUT_NS 20000 /* a timed op's timeout: about as long as a futex trip */

/* A random delay: often none, else pauses (1 to 4096: across the waiter's spin), a
 * yield, or a short sleep (past the spin: the waiter sleeps on the futex). */
static void delay(uint64_t *rng)
{
    uint64_t r = test_next_rand(rng);
    switch (r % 10) {
    case 0:
    case 1:
    case 2:
        return;
    case 3:
    case 4:
    case 5:
    case 6: {
        uint32_t n = 1u << ((r >> 8) % 13);
        for (uint32_t i = 0; i < n; i++)
            weft_cpu_relax();
        return;
    }
    case 7:
    case 8:
        sched_yield();
        return;
    default: {
        struct timespec ts = {0, (long)(1000 + (r >> 16) % 50000)};
        nanosleep(&ts, NULL);
        return;
    }
    }
}

enum form { F_BLOCK, F_TIMED, F_SELECT, F_SELECT_TIMED, F_TRY, F_COUNT };

/* One send of v in form f (retried until it went through); returns 0 or -EPIPE. A
 * form that cannot complete now (try, timeout) retries with a form drawn anew. */
static int send_in_form(weft_sender *tx, weft_sender *idle, uint64_t v, bool allow_try,
                        uint64_t *rng)
{
    for (;;) {
        enum form f = (enum form)(test_next_rand(rng) % (allow_try ? F_COUNT : F_TRY));
        int r;
        if (f == F_BLOCK) {
            r = weft_chan_send(tx, &v);
        } else if (f == F_TIMED) {
            r = weft_chan_send_timeout(tx, &v, test_next_rand(rng) % SHORT_TIMEOUT_NS);
        } else if (f == F_TRY) {
            r = weft_chan_try_send(tx, &v);
        } else {
            uint64_t idle_v = 0;
            weft_select_op ops[2] = {{WEFT_SELECT_SEND, tx, NULL, &v, 0},
                                     {WEFT_SELECT_SEND, idle, NULL, &idle_v, 0}};
            int i = f == F_SELECT ? weft_select(ops, 2)
                                  : weft_select_timeout(ops, 2, test_next_rand(rng) % SHORT_TIMEOUT_NS);
            CHECK(i == 0 || i == -ETIMEDOUT, "select send: %d (the idle channel has no receiver waiting)", i);
            r = i == 0 ? ops[0].result : i;
        }
        if (r == 0 || r == -EPIPE)
            return r;
        CHECK(r == -ETIMEDOUT || r == -EAGAIN, "send form %d: %d", (int)f, r);
        if (r == -EAGAIN)
            sched_yield();
    }
}

/* One receive in a random form (as send_in_form); returns 0 or -EPIPE. */
static int recv_in_form(weft_receiver *rx, weft_receiver *idle, uint64_t *out, bool allow_try,
                        uint64_t *rng)
{
    for (;;) {
        enum form f = (enum form)(test_next_rand(rng) % (allow_try ? F_COUNT : F_TRY));
        int r;
        if (f == F_BLOCK) {
            r = weft_chan_recv(rx, out);
        } else if (f == F_TIMED) {
            r = weft_chan_recv_timeout(rx, out, test_next_rand(rng) % SHORT_TIMEOUT_NS);
        } else if (f == F_TRY) {
            r = weft_chan_try_recv(rx, out);
        } else {
            uint64_t idle_v;
            weft_select_op ops[2] = {{WEFT_SELECT_RECV, NULL, rx, out, 0},
                                     {WEFT_SELECT_RECV, NULL, idle, &idle_v, 0}};
            int i = f == F_SELECT ? weft_select(ops, 2)
                                  : weft_select_timeout(ops, 2, test_next_rand(rng) % SHORT_TIMEOUT_NS);
            CHECK(i == 0 || i == -ETIMEDOUT, "select recv: %d (the idle channel has no sender waiting)", i);
            r = i == 0 ? ops[0].result : i;
        }
        if (r == 0 || r == -EPIPE)
            return r;
        CHECK(r == -ETIMEDOUT || r == -EAGAIN, "recv form %d: %d", (int)f, r);
        if (r == -EAGAIN)
            sched_yield();
    }
}

/* ------------------------------------------------------------------------------
 * Ping-pong */

typedef struct pingpong {
    weft_sender *tx1, *tx2, *idle_tx_a, *idle_tx_b;
    weft_receiver *rx1, *rx2, *idle_rx_a, *idle_rx_b;
    long rounds;
} pingpong;

static void *pingpong_b(void *p)
{
    pingpong *s = p;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (long i = 0; i < s->rounds; i++) {
        uint64_t v = UINT64_MAX;
        delay(&rng);
        CHECK(recv_in_form(s->rx1, s->idle_rx_b, &v, false, &rng) == 0);
        CHECK(v == (uint64_t)i, "B got %llu in round %ld", (unsigned long long)v, i);
        delay(&rng);
        CHECK(send_in_form(s->tx2, s->idle_tx_b, v, false, &rng) == 0);
    }
    return NULL;
}

static void run_pingpong(long rounds)
{
    pingpong s = {.rounds = rounds};
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &s.tx1, &s.rx1) == 0);
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &s.tx2, &s.rx2) == 0);
    /* Idle channels for the selects, one only sent on and one only received from, so
     * nobody is ever on their other side (each thread has its own handles). */
    weft_sender *idle_tx;
    weft_receiver *idle_rx;
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &s.idle_tx_a, &idle_rx) == 0);
    CHECK(weft_sender_clone(s.idle_tx_a, &s.idle_tx_b) == 0);
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &idle_tx, &s.idle_rx_a) == 0);
    CHECK(weft_receiver_clone(s.idle_rx_a, &s.idle_rx_b) == 0);
    pthread_t b;
    CHECK(pthread_create(&b, NULL, pingpong_b, &s) == 0);
    uint64_t rng = 0x2545f4914f6cdd1du;
    for (long i = 0; i < rounds; i++) {
        delay(&rng);
        CHECK(send_in_form(s.tx1, s.idle_tx_a, (uint64_t)i, true, &rng) == 0);
        uint64_t v = UINT64_MAX;
        delay(&rng);
        CHECK(recv_in_form(s.rx2, s.idle_rx_a, &v, true, &rng) == 0);
        CHECK(v == (uint64_t)i, "A got %llu back in round %ld", (unsigned long long)v, i);
    }
    CHECK(pthread_join(b, NULL) == 0);
    weft_sender *txs[] = {s.tx1, s.tx2, s.idle_tx_a, s.idle_tx_b};
    weft_receiver *rxs[] = {s.rx1, s.rx2, s.idle_rx_a, s.idle_rx_b};
    for (int i = 0; i < 4; i++) {
        CHECK(weft_sender_close(txs[i]) == 0);
        CHECK(weft_receiver_close(rxs[i]) == 0);
    }
    CHECK(weft_sender_close(idle_tx) == 0);
    CHECK(weft_receiver_close(idle_rx) == 0);
    printf("ping-pong: %ld rounds ok\n", rounds);
}

/* ------------------------------------------------------------------------------
 * Many to many */

#define MM_SIDE 3

typedef struct many {
    weft_sender *tx[MM_SIDE], *idle_tx[MM_SIDE];
    weft_receiver *rx[MM_SIDE], *idle_rx[MM_SIDE];
    long per_sender;
    _Atomic uint8_t *seen; /* [MM_SIDE * per_sender]: receipts of (sender, seq) */
    _Atomic long received;
} many;

typedef struct many_arg {
    many *m;
    int id;
} many_arg;

static void *many_sender(void *p)
{
    many_arg *a = p;
    many *m = a->m;
    uint64_t rng = 0x1234567u + (uint64_t)a->id * 0x9e3779b9u;
    for (long i = 0; i < m->per_sender; i++) {
        delay(&rng);
        uint64_t v = (uint64_t)a->id * (uint64_t)m->per_sender + (uint64_t)i;
        CHECK(send_in_form(m->tx[a->id], m->idle_tx[a->id], v, true, &rng) == 0);
    }
    CHECK(weft_sender_close(m->tx[a->id]) == 0);
    return NULL;
}

static void *many_receiver(void *p)
{
    many_arg *a = p;
    many *m = a->m;
    uint64_t rng = 0x7654321u + (uint64_t)a->id * 0x85ebca6bu;
    uint64_t v;
    long total = MM_SIDE * m->per_sender;
    for (;;) {
        delay(&rng);
        int r = recv_in_form(m->rx[a->id], m->idle_rx[a->id], &v, true, &rng);
        if (r == -EPIPE)
            break;
        CHECK(r == 0);
        CHECK(v < (uint64_t)total, "value %llu out of range", (unsigned long long)v);
        /* Relaxed: a count, read after the threads are joined. */
        uint8_t before = atomic_fetch_add_explicit(&m->seen[v], 1, memory_order_relaxed);
        CHECK(before == 0, "message %llu received twice", (unsigned long long)v);
        atomic_fetch_add_explicit(&m->received, 1, memory_order_relaxed);
    }
    CHECK(weft_receiver_close(m->rx[a->id]) == 0);
    return NULL;
}

static void run_many(long per_sender)
{
    many m = {.per_sender = per_sender};
    long total = MM_SIDE * per_sender;
    m.seen = calloc((size_t)total, sizeof *m.seen);
    CHECK(m.seen);
    atomic_init(&m.received, 0);
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &m.tx[0], &m.rx[0]) == 0);
    /* Idle channels for the selects: senders only send on one, receivers only receive
     * from the other, so nobody is ever on their other side. */
    weft_sender *idle_tx, *unused_tx;
    weft_receiver *idle_rx, *unused_rx;
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &idle_tx, &unused_rx) == 0);
    CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &unused_tx, &idle_rx) == 0);
    for (int i = 0; i < MM_SIDE; i++) {
        if (i > 0) {
            CHECK(weft_sender_clone(m.tx[0], &m.tx[i]) == 0);
            CHECK(weft_receiver_clone(m.rx[0], &m.rx[i]) == 0);
        }
        /* Each thread its own handles of the idle channel, both sides kept open. */
        CHECK(weft_sender_clone(idle_tx, &m.idle_tx[i]) == 0);
        CHECK(weft_receiver_clone(idle_rx, &m.idle_rx[i]) == 0);
    }
    pthread_t t[2 * MM_SIDE];
    many_arg args[2 * MM_SIDE];
    for (int i = 0; i < MM_SIDE; i++) {
        args[i] = (many_arg){&m, i};
        args[MM_SIDE + i] = (many_arg){&m, i};
        CHECK(pthread_create(&t[i], NULL, many_sender, &args[i]) == 0);
        CHECK(pthread_create(&t[MM_SIDE + i], NULL, many_receiver, &args[MM_SIDE + i]) == 0);
    }
    for (int i = 0; i < 2 * MM_SIDE; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    /* Relaxed: the threads were joined. */
    CHECK(atomic_load_explicit(&m.received, memory_order_relaxed) == total, "%ld of %ld received",
          atomic_load_explicit(&m.received, memory_order_relaxed), total);
    for (long v = 0; v < total; v++)
        CHECK(atomic_load_explicit(&m.seen[v], memory_order_relaxed) == 1, "message %ld lost", v);
    for (int i = 0; i < MM_SIDE; i++) {
        CHECK(weft_sender_close(m.idle_tx[i]) == 0);
        CHECK(weft_receiver_close(m.idle_rx[i]) == 0);
    }
    CHECK(weft_sender_close(idle_tx) == 0);
    CHECK(weft_receiver_close(idle_rx) == 0);
    CHECK(weft_sender_close(unused_tx) == 0);
    CHECK(weft_receiver_close(unused_rx) == 0);
    free(m.seen);
    printf("many to many: %d x %ld messages ok\n", MM_SIDE, per_sender);
}

/* ------------------------------------------------------------------------------
 * Disconnect while the other side waits */

typedef struct disc {
    weft_sender *tx;
    weft_receiver *rx;
    bool close_sender; /* the closer drops the sender (the waiter receives), or the receiver */
    uint64_t seed;
} disc;

static void *disc_closer(void *p)
{
    disc *d = p;
    uint64_t rng = d->seed;
    delay(&rng);
    if (d->close_sender)
        CHECK(weft_sender_close(d->tx) == 0);
    else
        CHECK(weft_receiver_close(d->rx) == 0);
    return NULL;
}

static void run_disconnect(long rounds)
{
    uint64_t rng = 0xdeadbeefu;
    for (long i = 0; i < rounds; i++) {
        disc d = {.close_sender = i % 2 == 0, .seed = test_next_rand(&rng)};
        CHECK(weft_chan_open(sizeof(uint64_t), 0, NULL, &d.tx, &d.rx) == 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, disc_closer, &d) == 0);
        uint64_t v = 7;
        bool timed = test_next_rand(&rng) % 2;
        int r;
        if (d.close_sender)
            r = timed ? weft_chan_recv_timeout(d.rx, &v, 1000000000u) : weft_chan_recv(d.rx, &v);
        else
            r = timed ? weft_chan_send_timeout(d.tx, &v, 1000000000u) : weft_chan_send(d.tx, &v);
        CHECK(r == -EPIPE, "round %ld: %d, expected -EPIPE", i, r);
        CHECK(pthread_join(t, NULL) == 0);
        if (d.close_sender)
            CHECK(weft_receiver_close(d.rx) == 0);
        else
            CHECK(weft_sender_close(d.tx) == 0);
    }
    printf("disconnect: %ld rounds ok\n", rounds);
}

int main(void)
{
    test_watchdog_arm("stress_rendezvous", WATCHDOG_S);
    run_pingpong(stress_iters(40000));
    run_many(stress_iters(20000));
    run_disconnect(stress_iters(4000));
    return 0;
}
