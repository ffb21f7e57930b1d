/* Criterion suite for inline fork-join (weft/inline.h): results against serial ones on
 * pools of 1, 2 and 8 threads and from outside every pool, every task arity, deep
 * recursion (the deque grows), forks into an array of frames, inline forks mixed with
 * weft_join and weft_par_for in one call tree, isolation, the second half stealable
 * during a long first half and while the first half blocks, and the ABI check. The
 * racy exactly-once counting is stress_inline.c (it also runs under TSan). */
#include <criterion/criterion.h>
#include "capture_stderr.h"
#include <string.h>
#include <weft.h>
#include "workloads.h"
#include "pool_testlib.h"

WEFT_TASK_1(uint64_t, ifib, unsigned, n)
{
    if (n < 2)
        return n;
    WEFT_FRAME(ifib) f;
    WEFT_FORK(ifib, &f, n - 1);
    uint64_t b = ifib(n - 2);
    return WEFT_JOIN(ifib, &f) + b;
}

typedef struct fib_call {
    unsigned n;
    uint64_t r;
} fib_call;

static void ifib_entry(void *p)
{
    fib_call *c = p;
    c->r = ifib(c->n);
}

Test(inline, fib_matches_serial_on_1_2_8_threads)
{
    unsigned sizes[] = {1, 2, 8};
    for (int i = 0; i < 3; i++) {
        weft_pool *p = make_pool(sizes[i]);
        for (unsigned n = 0; n <= 25; n += 5) {
            fib_call c = {n, 0};
            cr_assert_eq(weft_pool_run(p, ifib_entry, &c), 0);
            cr_assert_eq(c.r, fib_serial(n), "fib(%u) on %u threads", n, sizes[i]);
        }
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

Test(inline, fib_from_outside_every_pool)
{
    cr_assert_eq(weft_current_worker_index(), -1);
    for (unsigned n = 0; n <= 24; n += 4)
        cr_assert_eq(ifib(n), fib_serial(n), "fib(%u) from a thread outside the pools", n);
    cr_assert_eq(weft_current_worker_index(), -1, "the caller slot was left");
}

/* Every arity and both return kinds: the sum of the arguments, checked on results
 * made by forks (whoever runs them) and by plain calls. */
WEFT_TASK_0(int, t0) { return 7; }
WEFT_TASK_2(long, t2, int, a, long, b) { return a + b; }
WEFT_TASK_3(long, t3, int, a, long, b, short, c) { return a + b + c; }
WEFT_TASK_4(double, t4, int, a, long, b, short, c, double, d) { return a + b + c + d; }
WEFT_VOID_TASK_0(v0) { weft_thread_yield(); }
WEFT_VOID_TASK_1(v1, int *, out) { *out = 1; }
WEFT_VOID_TASK_2(v2, int *, out, int, x) { *out = x; }
WEFT_VOID_TASK_3(v3, int *, out, int, x, int, y) { *out = x + y; }
WEFT_VOID_TASK_4(v4, int *, out, int, x, int, y, int, z) { *out = x + y + z; }

static void every_arity(void *p)
{
    (void)p;
    WEFT_FRAME(t0) f0;
    WEFT_FRAME(t2) f2;
    WEFT_FRAME(t3) f3;
    WEFT_FRAME(t4) f4;
    WEFT_FRAME(v0) g0;
    WEFT_FRAME(v1) g1;
    WEFT_FRAME(v2) g2;
    WEFT_FRAME(v3) g3;
    WEFT_FRAME(v4) g4;
    int o1 = 0, o2 = 0, o3 = 0, o4 = 0;
    WEFT_FORK(t0, &f0);
    WEFT_FORK(t2, &f2, 1, 2);
    WEFT_FORK(t3, &f3, 1, 2, 3);
    WEFT_FORK(t4, &f4, 1, 2, 3, 0.5);
    WEFT_FORK(v0, &g0);
    WEFT_FORK(v1, &g1, &o1);
    WEFT_FORK(v2, &g2, &o2, 2);
    WEFT_FORK(v3, &g3, &o3, 1, 2);
    WEFT_FORK(v4, &g4, &o4, 1, 2, 3);
    WEFT_JOIN(v4, &g4);
    WEFT_JOIN(v3, &g3);
    WEFT_JOIN(v2, &g2);
    WEFT_JOIN(v1, &g1);
    WEFT_JOIN(v0, &g0);
    cr_assert_eq(WEFT_JOIN(t4, &f4), 6.5);
    cr_assert_eq(WEFT_JOIN(t3, &f3), 6);
    cr_assert_eq(WEFT_JOIN(t2, &f2), 3);
    cr_assert_eq(WEFT_JOIN(t0, &f0), 7);
    cr_assert(o1 == 1 && o2 == 2 && o3 == 3 && o4 == 6);
    cr_assert_eq(t4(1, 2, 3, 0.5), 6.5, "a task is also a plain function");
}

Test(inline, every_arity_forks_and_joins)
{
    for (unsigned n = 1; n <= 2; n++) {
        weft_pool *p = make_pool(n);
        for (int round = 0; round < 200; round++)
            cr_assert_eq(weft_pool_run(p, every_arity, NULL), 0);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
    every_arity(NULL); /* from outside: the first fork enters a caller slot */
    cr_assert_eq(weft_current_worker_index(), -1);
}

/* A chain far deeper than the deque's first ring (256 slots): each level forks a
 * small task and recurses before joining it, so every frame of the chain is on the
 * deque at the bottom; the fork's slow path grows the ring, and every join still
 * finds its own frame (or the thief that took it). */
WEFT_TASK_1(uint64_t, depth_value, unsigned, depth) { return depth; }

static uint64_t chain(unsigned depth)
{
    if (depth == 0)
        return 0;
    WEFT_FRAME(depth_value) f;
    WEFT_FORK(depth_value, &f, depth);
    uint64_t rest = chain(depth - 1);
    return WEFT_JOIN(depth_value, &f) + rest;
}

typedef struct chain_call {
    unsigned depth;
    uint64_t r;
} chain_call;

static void chain_entry(void *p)
{
    chain_call *c = p;
    c->r = chain(c->depth);
}

Test(inline, deep_recursion_grows_the_deque)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_NONE;
    cfg.stack_size = 64u << 20; /* room for the recursion */
    weft_pool *p;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    const unsigned depth = 20000;
    for (int round = 0; round < 3; round++) {
        chain_call c = {depth, 0};
        cr_assert_eq(weft_pool_run(p, chain_entry, &c), 0);
        cr_assert_eq(c.r, (uint64_t)depth * (depth + 1) / 2);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* A loop forks into an array of frames, then joins them last to first. */
WEFT_TASK_2(uint64_t, sum_range, uint64_t, lo, uint64_t, hi)
{
    uint64_t s = 0;
    for (uint64_t i = lo; i < hi; i++)
        s += i;
    return s;
}

static void fork_array(void *p)
{
    uint64_t *out = p;
    enum { K = 64, PER = 1000 };
    WEFT_FRAME(sum_range) f[K];
    for (uint64_t k = 0; k < K; k++)
        WEFT_FORK(sum_range, &f[k], k * PER, (k + 1) * PER);
    uint64_t s = 0;
    for (int k = K - 1; k >= 0; k--)
        s += WEFT_JOIN(sum_range, &f[k]);
    *out = s;
}

Test(inline, a_loop_of_forks_joined_in_reverse)
{
    const uint64_t n = 64 * 1000;
    for (unsigned threads = 1; threads <= 8; threads *= 2) {
        weft_pool *p = make_pool(threads);
        for (int round = 0; round < 50; round++) {
            uint64_t s = 0;
            cr_assert_eq(weft_pool_run(p, fork_array, &s), 0);
            cr_assert_eq(s, n * (n - 1) / 2);
        }
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
    uint64_t s = 0;
    fork_array(&s);
    cr_assert_eq(s, n * (n - 1) / 2, "from outside");
}

/* One call tree mixing the two forms and a loop: inline forks whose tasks call
 * weft_join, whose halves fork inline and run a weft_par_for. */
static int mark(void *ctx, size_t b, size_t e)
{
    _Atomic uint64_t *sum = ctx;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += i;
    atomic_fetch_add_explicit(sum, s, memory_order_relaxed);
    return 0;
}

typedef struct mixed {
    unsigned depth;
    uint64_t r;
} mixed;

static void mixed_join_half(void *p);

WEFT_TASK_1(uint64_t, mixed_inline, unsigned, depth)
{
    if (depth == 0) {
        _Atomic uint64_t sum = 0;
        cr_assert_eq(weft_par_for(0, 100, 1, mark, &sum), 0);
        return atomic_load(&sum) == 4950;
    }
    mixed a = {depth - 1, 0}, b = {depth - 1, 0};
    WEFT_FRAME(mixed_inline) f;
    WEFT_FORK(mixed_inline, &f, depth - 1);
    cr_assert_eq(weft_join(mixed_join_half, &a, mixed_join_half, &b), 0);
    return WEFT_JOIN(mixed_inline, &f) + a.r + b.r;
}

static void mixed_join_half(void *p)
{
    mixed *m = p;
    m->r = mixed_inline(m->depth);
}

/* Leaves of the tree: 3^depth, each contributing 1. */
static void mixed_entry(void *p)
{
    mixed *m = p;
    m->r = mixed_inline(m->depth);
}

Test(inline, mixed_with_weft_join_and_par_for)
{
    const unsigned depth = 6;
    uint64_t leaves = 1;
    for (unsigned i = 0; i < depth; i++)
        leaves *= 3;
    unsigned sizes[] = {1, 2, 8};
    for (int i = 0; i < 3; i++) {
        weft_pool *p = make_pool(sizes[i]);
        mixed m = {depth, 0};
        cr_assert_eq(weft_pool_run(p, mixed_entry, &m), 0);
        cr_assert_eq(m.r, leaves, "%u threads", sizes[i]);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
    mixed m = {depth - 2, 0};
    mixed_entry(&m);
    cr_assert_eq(m.r, leaves / 9, "from outside");
}

/* Inside weft_isolate: forked tasks belong to the region (results still right; the
 * isolation rules themselves are the scheduler's, tested in test_isolation.c). */
static void isolated_fib(void *p) { ifib_entry(p); }

static void enter_isolation(void *p) { cr_assert_eq(weft_isolate(isolated_fib, p), 0); }

Test(inline, inside_an_isolated_region)
{
    weft_pool *p = make_pool(2);
    fib_call c = {20, 0};
    cr_assert_eq(weft_pool_run(p, enter_isolation, &c), 0);
    cr_assert_eq(c.r, fib_serial(20));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The forked half must be stealable while the first half spins in a long leaf that
 * neither pushes, pops nor blocks (the oldest item is public from its push on), and
 * while the first half blocks waiting for the forked one (the block hook shares the
 * private part): both would hang or time out otherwise. */
typedef struct rendezvous {
    _Atomic int started, gave_up;
    weft_latch handoff;
} rendezvous;

WEFT_VOID_TASK_1(spin_until_both, rendezvous *, r)
{
    atomic_fetch_add(&r->started, 1);
    uint64_t deadline = weft_deadline_after(10ull * 1000 * 1000 * 1000);
    while (atomic_load(&r->started) < 2)
        if (weft_time_now_ns() >= deadline) {
            atomic_fetch_add(&r->gave_up, 1);
            return;
        }
}

static void fork_two_spinners(void *p)
{
    WEFT_FRAME(spin_until_both) f;
    WEFT_FORK(spin_until_both, &f, p);
    spin_until_both(p);
    WEFT_JOIN(spin_until_both, &f);
}

Test(inline, forked_half_is_stealable_during_a_long_first_half)
{
    for (int round = 0; round < 30; round++) {
        weft_pool *p = make_pool(2);
        rendezvous r = {0};
        cr_assert_eq(weft_pool_run(p, fork_two_spinners, &r), 0);
        cr_assert_eq(weft_pool_destroy(p), 0);
        cr_assert_eq(atomic_load(&r.gave_up), 0, "round %d: the forked half waited for the first", round);
    }
}

WEFT_VOID_TASK_1(count_down, rendezvous *, r) { cr_assert_eq(weft_latch_count_down(&r->handoff, 1), 0); }

static void fork_then_block(void *p)
{
    rendezvous *r = p;
    WEFT_FRAME(count_down) f;
    WEFT_FORK(count_down, &f, r);
    cr_assert_eq(weft_latch_wait_timeout(&r->handoff, 10ull * 1000 * 1000 * 1000), 0,
                 "the forked half never ran while the first blocked");
    WEFT_JOIN(count_down, &f);
}

Test(inline, first_half_blocking_on_the_forked_half_does_not_hang)
{
    weft_pool *p = make_pool(2);
    for (int round = 0; round < 20; round++) {
        rendezvous r = {0};
        weft_latch_init(&r.handoff, 1);
        cr_assert_eq(weft_pool_run(p, fork_then_block, &r), 0);
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* The ABI check: the values this file was compiled with agree; any other version,
 * size or layout is -EPROTO with both sides on stderr. */
typedef struct abi_case {
    unsigned abi;
    size_t frame, view;
    uint64_t layout;
    int rc;
} abi_case;

static void run_check(void *p)
{
    abi_case *c = p;
    c->rc = weft_inline_abi_check(c->abi, c->frame, c->view, c->layout);
}

Test(inline, abi_check_reports_a_mismatch)
{
    const abi_case good = {WEFT_ABI_VERSION, sizeof(weft_frame), sizeof(struct weft__worker_view),
                           WEFT__INLINE_LAYOUT, -1};
    abi_case c = good;
    char out[1024];
    cr_assert(test_capture_stderr(run_check, &c, out, sizeof out));
    cr_assert_eq(c.rc, 0);
    cr_assert_str_empty(out, "a match prints nothing");
    abi_case bad[] = {good, good, good, good};
    bad[0].abi += 1;
    bad[1].frame -= 4;
    bad[2].view += 8;
    bad[3].layout ^= 1;
    for (int i = 0; i < 4; i++) {
        cr_assert(test_capture_stderr(run_check, &bad[i], out, sizeof out));
        cr_assert_eq(bad[i].rc, -EPROTO, "case %d", i);
        cr_assert(strstr(out, "inline fork-join ABI mismatch") != NULL, "case %d: %s", i, out);
        cr_assert(strstr(out, "Rebuild the program") != NULL, "case %d: %s", i, out);
    }
    cr_assert_str_neq(weft_strerror(-EPROTO), "unknown error");
}
