/* Criterion: many timers alive at once cost no thread. 10^4 after() timers with
 * due times spread over a tenth of a second, beside ticks and never()s; the
 * process's thread count (/proc/self/status) must not move. Half of the afters are
 * received with blocking recv, half by select loops over batches of them (more than
 * select's stack storage); each delivers once, when due; everything is closed (the
 * ASan build checks for leaks). */
#include "timer_testlib.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <weft/chan.h>

#define MANY 10000
#define SPREAD_MS 100 /* due times 5 .. 5 + SPREAD_MS - 1 ms from creation */
#define BATCH 100
#define OTHERS 100 /* ticks and never()s alive beside them */

Test(timer_many, ten_thousand_timers_no_threads, .timeout = 60)
{
    long threads0 = tl_threads();
    cr_assert_gt(threads0, 0, "cannot read /proc/self/status");
    weft_receiver **rx = malloc(MANY * sizeof *rx);
    weft_receiver *other[2 * OTHERS];
    cr_assert_not_null(rx);
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(weft_chan_after((5 + (uint64_t)(i % SPREAD_MS)) * MS, &rx[i]), 0, "timer %d", i);
    for (int i = 0; i < OTHERS; i++) {
        cr_assert_eq(weft_chan_tick(1 * MS, &other[i]), 0);
        cr_assert_eq(weft_chan_never(&other[OTHERS + i]), 0);
    }
    cr_assert_eq(tl_threads(), threads0, "timers started threads");

    /* Even timers: blocking recv, one after the other. */
    for (int i = 0; i < MANY; i += 2) {
        uint64_t ts, x;
        cr_assert_eq(weft_chan_recv(rx[i], &ts), 0, "timer %d", i);
        cr_assert_geq(weft_time_now_ns(), ts, "timer %d delivered early", i);
        cr_assert_eq(weft_chan_try_recv(rx[i], &x), -EAGAIN, "timer %d delivered twice", i);
    }
    /* Odd timers: select loops over batches, each op dropped once chosen. */
    weft_select_op ops[BATCH];
    uint64_t bufs[BATCH];
    for (int b = 1; b < MANY; b += 2 * BATCH) {
        size_t n = 0;
        for (int i = b; i < MANY && i < b + 2 * BATCH; i += 2) {
            ops[n] = (weft_select_op){.kind = WEFT_SELECT_RECV, .rx = rx[i], .buf = &bufs[n]};
            n++;
        }
        while (n > 0) {
            int k = weft_select(ops, n);
            cr_assert(k >= 0 && (size_t)k < n && ops[k].result == 0, "select: %d", k);
            uint64_t ts = *(uint64_t *)ops[k].buf;
            cr_assert_geq(weft_time_now_ns(), ts, "chosen before due");
            uint64_t x;
            cr_assert_eq(weft_chan_try_recv(ops[k].rx, &x), -EAGAIN, "delivered twice");
            ops[k] = ops[--n];
        }
    }
    cr_assert_eq(tl_threads(), threads0, "receiving started threads");
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(weft_receiver_close(rx[i]), 0);
    for (int i = 0; i < 2 * OTHERS; i++)
        cr_assert_eq(weft_receiver_close(other[i]), 0);
    free(rx);
}
