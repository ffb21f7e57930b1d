/* test_reduce_order.c: weft_par_reduce needs only associativity (par.h), so partial
 * results must be combined in index order however the range was divided: by the
 * splitter, or by thieves taking the upper half of what an owner has left (spans),
 * several times from one owner. The accumulator here is an interval of indices, and
 * combine concatenates two of them — associative but not commutative: combining out
 * of order, or folding a block into the wrong accumulator, leaves a gap the result
 * reports. Run on every pool size of loops_testlib.h, with uneven per-index costs so
 * that thieves arrive at different points of each span. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct interval {
    size_t first, end; /* [first, end); first == end: empty */
    bool ok;           /* false once two pieces did not meet */
} interval;

static void append(interval *acc, size_t b, size_t e)
{
    if (acc->first == acc->end) {
        acc->first = b;
        acc->end = e;
        return;
    }
    if (acc->end != b)
        acc->ok = false;
    acc->end = e;
}

static int fold_interval(void *ctx, size_t b, size_t e, void *accp)
{
    const unsigned *cost = ctx;
    for (size_t i = b; i < e; i++)
        loops_spin(cost[i % 64]);
    append(accp, b, e);
    return 0;
}

static void combine_interval(void *ctx, void *accp, const void *otherp)
{
    (void)ctx;
    interval *acc = accp;
    const interval *other = otherp;
    if (!other->ok)
        acc->ok = false;
    if (other->first != other->end)
        append(acc, other->first, other->end);
}

typedef struct order_case {
    size_t n;
    unsigned cost[64];
    interval out;
    int rc;
} order_case;

static void order_call(void *arg)
{
    order_case *c = arg;
    const interval id = {0, 0, true};
    c->rc = weft_par_reduce(0, c->n, 0, &id, fold_interval, combine_interval, c->cost, &c->out,
                            sizeof c->out);
}

Test(reduce_order, adaptive_reduce_combines_in_index_order)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    static const size_t sizes[] = {2, 3, 100, 1000, 4096, 20000};
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int round = 0; round < 4; round++) {
                order_case c = {.n = sizes[s], .rc = -1};
                for (int k = 0; k < 64; k++)
                    c.cost[k] = (unsigned)(test_next_rand(&seed) % (round % 2 ? 4000 : 300));
                loops_run_on(loop_thread_counts[t], order_call, &c);
                cr_assert_eq(c.rc, 0);
                cr_assert(c.out.ok, "%d threads, n %zu: pieces combined out of order",
                          loop_thread_counts[t], c.n);
                cr_assert_eq(c.out.first, 0, "%d threads, n %zu", loop_thread_counts[t], c.n);
                cr_assert_eq(c.out.end, c.n, "%d threads, n %zu", loop_thread_counts[t], c.n);
            }
        }
    }
}
