/* stress_select_ready.c: weft_select_ready under contention (standalone, runs under
 * ThreadSanitizer too). On every flavor, two producers (one plain, one that waits
 * with weft_select_ready on its send op then try_sends) and two consumers (one
 * plain blocking receiver, one that waits with weft_select_ready then try_recvs,
 * looping on -EAGAIN: another thread may take first). Checks: every message is
 * received exactly once (count and sum), and nobody hangs: an observer woken on a
 * notifier's way never takes the wake a blocked receiver or sender was owed. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <weft/chan.h>

typedef struct side {
    weft_sender *tx;
    weft_receiver *rx;
    long n;
    bool ready; /* wait with weft_select_ready, then the try call */
    long count;
    long sum;
} side;

static void *producer(void *p)
{
    side *a = p;
    for (long i = 1; i <= a->n; i++) {
        if (!a->ready) {
            CHECK(weft_chan_send(a->tx, &i) == 0);
            continue;
        }
        for (;;) {
            weft_select_op op = {.kind = WEFT_SELECT_SEND, .tx = a->tx};
            int k = weft_select_ready(&op, 1);
            CHECK(k == 0, "ready send: %d", k);
            int r = weft_chan_try_send(a->tx, &i);
            if (r == 0)
                break;
            CHECK(r == -EAGAIN, "try_send: %d", r);
        }
    }
    CHECK(weft_sender_close(a->tx) == 0);
    return NULL;
}

static void *consumer(void *p)
{
    side *a = p;
    for (;;) {
        long v;
        int r;
        if (a->ready) {
            weft_select_op op = {.kind = WEFT_SELECT_RECV, .rx = a->rx};
            int k = weft_select_ready(&op, 1);
            CHECK(k == 0, "ready recv: %d", k);
            r = weft_chan_try_recv(a->rx, &v);
            if (r == -EAGAIN)
                continue;
        } else {
            r = weft_chan_recv(a->rx, &v);
        }
        if (r == -EPIPE)
            break;
        CHECK(r == 0, "recv: %d", r);
        a->count++;
        a->sum += v;
    }
    CHECK(weft_receiver_close(a->rx) == 0);
    return NULL;
}

static void run(size_t cap, long n)
{
    weft_sender *tx;
    weft_receiver *rx;
    CHECK(weft_chan_open(sizeof(long), cap, NULL, &tx, &rx) == 0);
    side prod[2], cons[2];
    pthread_t pt[2], ct[2];
    for (int i = 0; i < 2; i++) {
        prod[i] = (side){.n = n, .ready = i == 1};
        cons[i] = (side){.ready = i == 1};
        CHECK(weft_sender_clone(tx, &prod[i].tx) == 0);
        CHECK(weft_receiver_clone(rx, &cons[i].rx) == 0);
    }
    CHECK(weft_sender_close(tx) == 0 && weft_receiver_close(rx) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&ct[i], NULL, consumer, &cons[i]) == 0);
        CHECK(pthread_create(&pt[i], NULL, producer, &prod[i]) == 0);
    }
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(pt[i], NULL) == 0 && pthread_join(ct[i], NULL) == 0);
    long count = cons[0].count + cons[1].count, sum = cons[0].sum + cons[1].sum;
    CHECK(count == 2 * n, "cap %zu: %ld received of %ld", cap, count, 2 * n);
    CHECK(sum == n * (n + 1), "cap %zu: sum %ld, expected %ld", cap, sum, n * (n + 1));
}

int main(void)
{
    static const size_t caps[] = {WEFT_UNBOUNDED, 1, 16, 0};
    long n = stress_iters(200000);
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++)
        run(caps[k], caps[k] <= 1 ? n / 5 : n);
    puts("stress_select_ready: ok");
    return 0;
}
