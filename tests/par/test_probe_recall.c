/* test_probe_recall.c: the probe remembers, per thread, the loop it last sent to the
 * pool (its function and context) and its cost per index, and for that loop's next
 * call checks the estimate with one short chunk instead of probing again
 * (splitter.c, probe_recall). A loop that grew dearer under the same function and
 * context must be probed again, not cut from the stale estimate (a piece of ~1 µs of
 * the cheap loop is the whole of a dear one: no steal could take any of it), and the
 * check may run only a small share of the range on the caller. */
#include "splitter_internal.h"
#include "spin.h"

#include <weft/sync.h>

#include <criterion/criterion.h>

/* One loop (one function, one context) whose cost per index the test sets. */
typedef struct loop_cost {
    uint64_t spin_ns; /* 0: ~1 ns per index */
    size_t ran;       /* indices the probe ran */
    unsigned calls;   /* and in how many chunks */
} loop_cost;

static int cost_leaf(void *arg, size_t b, size_t e)
{
    loop_cost *c = arg;
    if (c->spin_ns)
        test_spin_ns(c->spin_ns * (e - b));
    for (volatile size_t i = b; i < e; i++) {
    }
    c->ran += e - b;
    c->calls++;
    return 0;
}

static void (*key(void))(void)
{
    return (void (*)(void))cost_leaf;
}

/* Probe [0, n) of c as `cost_leaf, c` (the key par_for passes: the body and its ctx). */
static size_t probe(loop_cost *c, size_t n, size_t *min_len)
{
    size_t lo = 0;
    c->ran = 0;
    c->calls = 0;
    cr_assert_eq(weft__par_probe(&lo, n, cost_leaf, c, key(), c, min_len), 0);
    cr_assert_eq(lo, c->ran);
    return lo;
}

Test(probe_recall, a_loop_grown_dearer_is_probed_again)
{
    loop_cost c = {0, 0, 0};
    size_t min_len = 0;
    /* Cheap: parallel, pieces of ~1000 indices; remembered. */
    size_t ran = probe(&c, (size_t)1 << 22, &min_len);
    cr_assert_lt(ran, (size_t)1 << 22, "a 4M-index loop was judged short");
    cr_assert_gt(min_len, 16, "min_len %zu for ~1 ns per index", min_len);
    /* The same loop at 20 µs per index: 64 indices, 1.3 ms. */
    c.spin_ns = 20000;
    ran = probe(&c, 64, &min_len);
    /* The check's chunk (at most a 16th: 4 indices), then the full probe (1 + 4 + 4:
     * its second chunk passes, the third confirms it). */
    cr_assert_leq(ran, 4 + 9, "%zu indices of 64 ran before the pool was asked", ran);
    cr_assert_leq(min_len, 2, "min_len %zu: cut from the cheap loop's estimate", min_len);
}

Test(probe_recall, the_same_loop_again_is_checked_not_probed)
{
    /* A full probe runs chunks of 1, 4, 16, ... indices until one takes long enough
     * to trust, then one more to confirm it; the check runs one chunk. A preempted
     * check falls back to the full probe, so the claim is that a check happens, in a
     * few tries. */
    loop_cost c = {0, 0, 0};
    size_t min_len = 0;
    cr_assert_lt(probe(&c, (size_t)1 << 22, &min_len), (size_t)1 << 22);
    cr_assert_geq(c.calls, 3, "the first call was not probed in full");
    bool checked = false;
    for (int t = 0; t < 5 && !checked; t++) {
        cr_assert_lt(probe(&c, (size_t)1 << 22, &min_len), (size_t)1 << 22,
                     "the 4M-index loop was judged short");
        cr_assert_geq(min_len, 1);
        checked = c.calls == 1;
    }
    cr_assert(checked, "every call of the remembered loop ran the full probe");
}

Test(probe_recall, another_loop_is_probed)
{
    /* A different context is a different loop: its first call is probed in full even
     * right after the remembered one. */
    loop_cost a = {0, 0, 0}, b = {20000, 0, 0};
    size_t min_len = 0;
    probe(&a, (size_t)1 << 22, &min_len);
    size_t ran = probe(&b, 64, &min_len);
    cr_assert_lt(ran, 64);
    cr_assert_leq(min_len, 2, "min_len %zu: b was cut from a's estimate", min_len);
}

Test(probe_recall, a_short_rest_runs_inline_after_the_check)
{
    /* The check decides "inline" before it compares with the estimate: a call whose
     * rest is short by the check's own rate runs inline at once (the check and the
     * rest: two chunks), even when the loop got far cheaper than remembered, rather
     * than probing again. A preempted check falls back to the full probe (and a
     * preempted full probe sends the rest to the pool: every claim about timing errs
     * towards parallelism), so the claim is that it happens, in a few tries. */
    loop_cost c = {100, 0, 0};
    size_t min_len = 0;
    bool inline_at_once = false;
    for (int t = 0; t < 20 && !inline_at_once; t++) {
        c.spin_ns = 100; /* 100 ns per index: a 4M-index call goes to the pool */
        cr_assert_lt(probe(&c, (size_t)1 << 22, &min_len), (size_t)1 << 22);
        c.spin_ns = 0; /* now ~1 ns per index: 64 indices are far below a microsecond */
        inline_at_once = probe(&c, 64, &min_len) == 64 && c.calls == 2;
    }
    cr_assert(inline_at_once, "every short call of the remembered loop was probed again");
}
