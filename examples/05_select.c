/* 05_select.c: waiting on two channels at once, with a timeout (crossbeam's select!
 * with a `default(timeout)` arm).
 *
 * weft_select_timeout takes an array of operations (here two receives), blocks until
 * one of them can complete, completes exactly that one and returns its index. When
 * both are ready it picks one at random, so a busy channel cannot starve the other
 * (weft_select_biased_* prefer the first instead: priority channels). After the
 * timeout it returns -ETIMEDOUT and nothing was received.
 *
 * An operation on a disconnected channel counts as "ready": select returns its index
 * with op.result == -EPIPE. Then drop that operation from the array (here: swap it
 * with the last one and shrink n) and keep selecting over the others.
 *
 * Output is deterministic: the first select times out because nobody sends yet; what
 * arrives afterwards is printed per channel (each channel keeps its order). */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

typedef struct producer {
    weft_sender *tx; /* owned: closed when done */
    int first, count;
    unsigned pause_ms;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < p->count; i++) {
        weft_thread_sleep(p->pause_ms * 1000ull * 1000);
        int v = p->first + i;
        must(weft_chan_send(p->tx, &v), "send");
    }
    weft_sender_close(p->tx);
    return NULL;
}

int main(void)
{
    weft_sender *fast_tx, *slow_tx;
    weft_receiver *fast_rx, *slow_rx;
    must(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &fast_tx, &fast_rx), "open");
    must(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &slow_tx, &slow_rx), "open");

    int fast_v, slow_v;
    weft_select_op ops[2] = {
        {.kind = WEFT_SELECT_RECV, .rx = fast_rx, .buf = &fast_v},
        {.kind = WEFT_SELECT_RECV, .rx = slow_rx, .buf = &slow_v},
    };

    /* Nobody sends yet: this must time out (after at least 30 ms). */
    uint64_t start = weft_time_now_ns();
    int rc = weft_select_timeout(ops, 2, 30 * 1000 * 1000);
    printf("before the producers start: %s (waited >= 30 ms: %s)\n", weft_strerror(rc),
           weft_time_now_ns() - start >= 30 * 1000 * 1000 ? "yes" : "NO");

    producer fast = {fast_tx, 1, 6, 2}, slow = {slow_tx, 100, 3, 7};
    weft_thread *tf, *ts;
    must(weft_thread_spawn(NULL, produce, &fast, &tf), "spawn");
    must(weft_thread_spawn(NULL, produce, &slow, &ts), "spawn");

    char fast_line[128] = "", slow_line[128] = "";
    size_t n = 2;
    while (n > 0) {
        int i = weft_select_timeout(ops, n, 100 * 1000 * 1000); /* 100 ms */
        if (i == -ETIMEDOUT)
            continue; /* nothing for 100 ms: a real program could do housekeeping here */
        if (i < 0)
            must(i, "select");
        if (ops[i].result == -EPIPE) { /* that producer is done: stop waiting on it */
            ops[i] = ops[n - 1];
            n--;
            continue;
        }
        char num[16];
        snprintf(num, sizeof num, " %d", *(int *)ops[i].buf);
        strcat(ops[i].rx == fast_rx ? fast_line : slow_line, num);
    }
    printf("from the fast channel:%s\n", fast_line);
    printf("from the slow channel:%s\n", slow_line);
    must(weft_thread_join(tf, NULL), "join");
    must(weft_thread_join(ts, NULL), "join");
    weft_receiver_close(fast_rx);
    weft_receiver_close(slow_rx);
    return 0;
}
