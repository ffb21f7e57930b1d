/* stress_rendezvous_cells.c: the two cells on the rendezvous slot's line
 * (chan/zero.c), where a lone waiter's message and futex word live (standalone, runs
 * under ThreadSanitizer too).
 *
 * Publication g waits in cell g % 2; the cell may be published again (g+2) only once
 * nobody reads it any more (a receiver's claimer leaves it to the receiver to copy
 * its message out and let go; a sender's claimer lets go itself); a claimer that takes
 * the slot right after the publisher's CAS waits for the cell to be filled; a freeze
 * (a mutex holder: a select's observer here) links a slot waiter into its list, where
 * it is then served or times out. Messages of 8, 16 (inline) and 40 bytes (through the
 * waiter's buffer) carry their value in every word, so a torn copy, a cell overwritten
 * before its waiter read it, or a linked waiter served twice or never shows.
 *
 * Parts:
 *  - reuse: 3 senders and 3 receivers, more threads than CPUs (a handed waiter is
 *    often preempted before it lets go of its cell while the others publish), with
 *    blocking and short timed calls. Every (sender, number) must arrive exactly once,
 *    and each receiver sees each sender's numbers in increasing order.
 *  - moved: one sender and one receiver, while another thread keeps freezing the
 *    slot (weft_select_ready_timeout on a send and on a receive handle in turn: their
 *    observers register under the mutex, and the freeze links the slot waiter into
 *    its list). Values must arrive in order, each once.
 * A watchdog (SIGALRM) fails the test instead of letting a lost wake-up hang it. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft/chan.h>
#include <weft/sync.h>
#include "test_rng.h"
#include "watchdog.h"
#include "rendezvous_msg.h"

#define WATCHDOG_S 300
#define NSEND 3
#define NRECV 3
#define SHORT_TIMEOUT_NS 20000

/* None, a few pauses, or a yield (a preemption of our own). */
static void delay(uint64_t *rng)
{
    uint64_t r = test_next_rand(rng);
    if (r % 4 == 0)
        for (uint32_t i = 0, n = 1u << ((r >> 8) % 8); i < n; i++)
            weft_cpu_relax();
    else if (r % 16 == 1)
        sched_yield();
}

/* ------------------------------------------------------------------------------
 * reuse: many parties, cells published again as soon as they are let go */

typedef struct ru {
    weft_sender *tx[NSEND];
    weft_receiver *rx[NRECV];
    size_t size;
    long n;                   /* messages per sender */
    _Atomic unsigned char *got; /* NSEND * n: times each (sender, number) arrived */
    _Atomic long received;
} ru;

typedef struct ru_arg {
    ru *r;
    int id;
} ru_arg;

static void *ru_sender(void *p)
{
    ru_arg *a = p;
    ru *r = a->r;
    uint64_t rng = 0x5e17d5u + (uint64_t)a->id * 7919 + r->size;
    msg m;
    for (long i = 0; i < r->n; i++) {
        fill(&m, (uint64_t)a->id << 32 | (uint64_t)i, r->size);
        for (;;) {
            delay(&rng);
            int res = test_next_rand(&rng) % 4 == 0
                          ? weft_chan_send_timeout(r->tx[a->id], &m,
                                                   test_next_rand(&rng) % SHORT_TIMEOUT_NS)
                          : weft_chan_send(r->tx[a->id], &m);
            if (res == 0)
                break;
            CHECK(res == -ETIMEDOUT, "send: %d", res);
        }
    }
    return NULL;
}

static void *ru_receiver(void *p)
{
    ru_arg *a = p;
    ru *r = a->r;
    uint64_t rng = 0x2ec3u + (uint64_t)a->id * 104729 + r->size;
    long last[NSEND];
    for (int s = 0; s < NSEND; s++)
        last[s] = -1;
    long total = (long)NSEND * r->n;
    for (;;) {
        msg m;
        memset(&m, 0x5a, sizeof m);
        delay(&rng);
        /* Timed only: the receivers do not know when the last message has come. */
        int res = weft_chan_recv_timeout(r->rx[a->id], &m,
                                         test_next_rand(&rng) % 8 == 0 ? SHORT_TIMEOUT_NS
                                                                      : 2000000);
        if (res == -ETIMEDOUT) {
            if (atomic_load_explicit(&r->received, memory_order_relaxed) == total)
                return NULL;
            continue;
        }
        CHECK(res == 0, "recv: %d", res);
        uint64_t v = value_of(&m, r->size);
        int s = (int)(v >> 32);
        long i = (long)(v & 0xffffffffu);
        CHECK(s >= 0 && s < NSEND && i < r->n, "a value nobody sent: %llx", (unsigned long long)v);
        CHECK(i > last[s], "receiver %d: sender %d's %ld after its %ld", a->id, s, i, last[s]);
        last[s] = i;
        unsigned char before = atomic_fetch_add_explicit(&r->got[(long)s * r->n + i], 1,
                                                         memory_order_relaxed);
        CHECK(before == 0, "sender %d's %ld arrived twice", s, i);
        atomic_fetch_add_explicit(&r->received, 1, memory_order_relaxed);
    }
}

static void run_reuse(size_t size, long n)
{
    ru r = {.size = size, .n = n};
    r.got = calloc((size_t)(NSEND * n), 1);
    CHECK(r.got);
    atomic_init(&r.received, 0);
    CHECK(weft_chan_open(size, 0, NULL, &r.tx[0], &r.rx[0]) == 0);
    for (int i = 1; i < NSEND; i++)
        CHECK(weft_sender_clone(r.tx[0], &r.tx[i]) == 0);
    for (int i = 1; i < NRECV; i++)
        CHECK(weft_receiver_clone(r.rx[0], &r.rx[i]) == 0);
    pthread_t ts[NSEND], tr[NRECV];
    ru_arg as[NSEND], ar[NRECV];
    for (int i = 0; i < NRECV; i++) {
        ar[i] = (ru_arg){&r, i};
        CHECK(pthread_create(&tr[i], NULL, ru_receiver, &ar[i]) == 0);
    }
    for (int i = 0; i < NSEND; i++) {
        as[i] = (ru_arg){&r, i};
        CHECK(pthread_create(&ts[i], NULL, ru_sender, &as[i]) == 0);
    }
    for (int i = 0; i < NSEND; i++)
        CHECK(pthread_join(ts[i], NULL) == 0);
    for (int i = 0; i < NRECV; i++)
        CHECK(pthread_join(tr[i], NULL) == 0);
    for (long k = 0; k < NSEND * n; k++)
        CHECK(atomic_load_explicit(&r.got[k], memory_order_relaxed) == 1,
              "sender %ld's %ld never arrived", k / n, k % n);
    msg m;
    CHECK(weft_chan_try_recv(r.rx[0], &m) == -EAGAIN);
    for (int i = 0; i < NSEND; i++)
        CHECK(weft_sender_close(r.tx[i]) == 0);
    for (int i = 0; i < NRECV; i++)
        CHECK(weft_receiver_close(r.rx[i]) == 0);
    free(r.got);
    printf("reuse: %zu-byte messages, %d x %ld ok\n", size, NSEND, n);
}

/* ------------------------------------------------------------------------------
 * moved: freezes linking slot waiters into the lists while they are being claimed */

typedef struct mv {
    weft_sender *tx, *tx_watch;
    weft_receiver *rx, *rx_watch;
    size_t size;
    long n;
    _Atomic bool stop;
    long freezes;
} mv;

static void *mv_sender(void *p)
{
    mv *s = p;
    uint64_t rng = 0x3e0edu ^ s->size;
    msg m;
    for (long i = 0; i < s->n; i++) {
        fill(&m, (uint64_t)i, s->size);
        for (;;) {
            delay(&rng);
            int r = test_next_rand(&rng) % 4 == 0
                        ? weft_chan_send_timeout(s->tx, &m, test_next_rand(&rng) % SHORT_TIMEOUT_NS)
                        : weft_chan_send(s->tx, &m);
            if (r == 0)
                break;
            CHECK(r == -ETIMEDOUT, "send: %d", r);
        }
    }
    return NULL;
}

/* Observers of either side in turn: weft_select_ready_timeout registers one under the
 * mutex (a freeze) and unregisters it (another); it takes no message. */
static void *mv_freezer(void *p)
{
    mv *s = p;
    uint64_t rng = 0xf4ee2eu ^ s->size;
    msg m;
    fill(&m, 0, s->size);
    long k = 0;
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        weft_select_op op = k % 2 ? (weft_select_op){WEFT_SELECT_SEND, s->tx_watch, NULL, &m, 0}
                                  : (weft_select_op){WEFT_SELECT_RECV, NULL, s->rx_watch, &m, 0};
        int r = weft_select_ready_timeout(&op, 1, test_next_rand(&rng) % 4000);
        CHECK(r == 0 || r == -ETIMEDOUT, "select_ready: %d", r);
        k++;
        delay(&rng);
    }
    s->freezes = k;
    return NULL;
}

static void run_moved(size_t size, long n)
{
    mv s = {.size = size, .n = n};
    atomic_init(&s.stop, false);
    CHECK(weft_chan_open(size, 0, NULL, &s.tx, &s.rx) == 0);
    CHECK(weft_sender_clone(s.tx, &s.tx_watch) == 0);
    CHECK(weft_receiver_clone(s.rx, &s.rx_watch) == 0);
    pthread_t ts, tf;
    CHECK(pthread_create(&tf, NULL, mv_freezer, &s) == 0);
    CHECK(pthread_create(&ts, NULL, mv_sender, &s) == 0);
    uint64_t rng = 0x4ec3u ^ size;
    for (long i = 0; i < n; i++) {
        msg m;
        for (;;) {
            delay(&rng);
            memset(&m, 0x5a, sizeof m);
            int r = test_next_rand(&rng) % 4 == 0
                        ? weft_chan_recv_timeout(s.rx, &m, test_next_rand(&rng) % SHORT_TIMEOUT_NS)
                        : weft_chan_recv(s.rx, &m);
            if (r == 0)
                break;
            CHECK(r == -ETIMEDOUT, "recv: %d", r);
        }
        uint64_t v = value_of(&m, size);
        CHECK(v == (uint64_t)i, "got %llu, expected %ld (a lost or duplicated message)",
              (unsigned long long)v, i);
    }
    CHECK(pthread_join(ts, NULL) == 0);
    atomic_store_explicit(&s.stop, true, memory_order_relaxed);
    CHECK(pthread_join(tf, NULL) == 0);
    msg m;
    CHECK(weft_chan_try_recv(s.rx, &m) == -EAGAIN);
    CHECK(weft_sender_close(s.tx) == 0);
    CHECK(weft_sender_close(s.tx_watch) == 0);
    CHECK(weft_receiver_close(s.rx) == 0);
    CHECK(weft_receiver_close(s.rx_watch) == 0);
    printf("moved: %zu-byte messages, %ld ok (%ld observer waits)\n", size, n, s.freezes);
}

int main(void)
{
    test_watchdog_arm("stress_rendezvous_cells", WATCHDOG_S);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        run_reuse(sizes[k], stress_iters(40000));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        run_moved(sizes[k], stress_iters(30000));
    return 0;
}
