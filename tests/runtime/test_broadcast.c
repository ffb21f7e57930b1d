/* test_broadcast.c: Criterion suite `broadcast` — weft_broadcast runs its function
 * exactly once on every worker of the pool, on that worker's thread, with its index
 * and the pool's size, and returns only after every call: from outside the pools
 * (workers asleep, busy in fork-join work, busy in a long leaf), from a worker of the
 * pool (its own call inline), from every worker at once, from a caller slot, inside
 * weft_isolate, from inside a broadcast call, from a worker of another pool; and a
 * worker benched for a caller still makes its call. Races with many broadcasters at
 * once are in stress_broadcast.c (which also runs under TSan). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "pool_internal.h" /* weft__worker_benched, for the benched worker's test */
#include "pool_testlib.h"
#include "workloads.h"

#define SECOND_NS 1000000000ull
#define MAX_WORKERS 16

/* What the calls of one broadcast saw. `plain` is written without atomics by each
 * call and read by the broadcaster after the return: the calls' writes must be
 * visible then. */
typedef struct record {
    _Atomic int calls[MAX_WORKERS];
    _Atomic int bad_index, bad_size, bad_thread;
    unsigned expect_n;
    pthread_t thread[MAX_WORKERS];
    int plain[MAX_WORKERS];
} record;

static void record_call(void *ctx, unsigned index, unsigned n)
{
    record *r = ctx;
    if (index >= MAX_WORKERS) {
        atomic_fetch_add(&r->bad_index, 1);
        return;
    }
    if (n != r->expect_n)
        atomic_fetch_add(&r->bad_size, 1);
    if (weft_current_worker_index() != (int)index)
        atomic_fetch_add(&r->bad_thread, 1);
    r->thread[index] = pthread_self();
    r->plain[index] = (int)index + 100;
    atomic_fetch_add(&r->calls[index], 1);
}

static void record_init(record *r, unsigned n)
{
    memset(r, 0, sizeof *r);
    r->expect_n = n;
}

/* Every index in [0, n) called once, on the right thread, with the right size, and
 * its plain write visible here. */
static void record_check(record *r)
{
    cr_assert_eq(atomic_load(&r->bad_index), 0, "a call got an index out of range");
    cr_assert_eq(atomic_load(&r->bad_size), 0, "a call got the wrong num_threads");
    cr_assert_eq(atomic_load(&r->bad_thread), 0, "a call ran on another thread than its worker");
    for (unsigned i = 0; i < r->expect_n; i++) {
        cr_assert_eq(atomic_load(&r->calls[i]), 1, "worker %u made %d calls", i, atomic_load(&r->calls[i]));
        cr_assert_eq(r->plain[i], (int)i + 100, "worker %u's write is not visible", i);
    }
    for (unsigned i = r->expect_n; i < MAX_WORKERS; i++)
        cr_assert_eq(atomic_load(&r->calls[i]), 0);
}

static void nop_call(void *ctx, unsigned index, unsigned n) { (void)ctx, (void)index, (void)n; }

Test(broadcast, rejects_a_null_fn)
{
    weft_pool *p = make_pool(2);
    cr_assert_eq(weft_broadcast(p, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_broadcast(NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_broadcast(p, nop_call, NULL), 0, "the pool is still usable");
    cr_assert_eq(weft_pool_destroy(p), 0);
}

Test(broadcast, from_outside_reaches_every_sleeping_worker_once)
{
    for (unsigned n = 1; n <= 4; n += 3) {
        weft_pool *p = make_pool_waiting(n, WEFT_WAIT_PASSIVE);
        wait_until_all_asleep(p);
        record r;
        for (int round = 0; round < 3; round++) {
            record_init(&r, n);
            cr_assert_eq(weft_broadcast(p, record_call, &r), 0);
            record_check(&r);
            for (unsigned i = 0; i < n; i++)
                cr_assert(!pthread_equal(r.thread[i], pthread_self()), "a call ran on the broadcaster");
        }
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

/* NULL from outside every pool: the global pool. */
Test(broadcast, null_pool_from_outside_is_the_global_pool)
{
    int n = weft_pool_num_threads(NULL);
    cr_assert(n >= 1);
    if (n > MAX_WORKERS)
        return;
    record r;
    record_init(&r, (unsigned)n);
    cr_assert_eq(weft_broadcast(NULL, record_call, &r), 0);
    record_check(&r);
}

/* Workers busy: many short detached tasks that walk join trees (the workers look for
 * work between two tasks, and whenever a half they wait for was stolen), or one long
 * leaf (its worker looks only when it returns). The broadcast waits for each worker's
 * next look. A job that forks and joins with nobody stealing never looks for work
 * until it returns: like a leaf, it holds a broadcast until then. */
typedef struct busy {
    _Atomic int running;
    _Atomic int wrong;
} busy;

static void *short_task(void *p)
{
    busy *b = p;
    atomic_fetch_add(&b->running, 1);
    fib_arg f = {15, 0};
    fib_join(&f);
    if (f.r != fib_serial(15))
        atomic_fetch_add(&b->wrong, 1);
    return NULL;
}

static void *leaf_task(void *p)
{
    busy *b = p;
    atomic_fetch_add(&b->running, 1);
    uint64_t until = weft_time_now_ns() + 20000000; /* 20 ms, no look for work */
    while (weft_time_now_ns() < until)
        weft_cpu_relax();
    return NULL;
}

static void broadcast_over_busy_workers(bool leaf)
{
    enum { N = 3, TASKS = 3000 };
    weft_pool *p = make_pool(N);
    busy b = {0};
    int tasks = leaf ? 1 : TASKS;
    for (int i = 0; i < tasks; i++)
        cr_assert_eq(weft_spawn(p, leaf ? leaf_task : short_task, &b, NULL), 0);
    uint64_t deadline = weft_deadline_after(10 * SECOND_NS);
    while (atomic_load(&b.running) < 1)
        cr_assert(!weft_deadline_passed(deadline), "the busy tasks never started");
    record r;
    for (int round = 0; round < (leaf ? 1 : 20); round++) {
        record_init(&r, N);
        cr_assert_eq(weft_broadcast(p, record_call, &r), 0);
        record_check(&r);
    }
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    cr_assert_eq(atomic_load(&b.wrong), 0);
    cr_assert_eq(atomic_load(&b.running), tasks);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

Test(broadcast, from_outside_reaches_workers_busy_in_joins)
{
    broadcast_over_busy_workers(false);
}

Test(broadcast, from_outside_waits_for_a_worker_busy_in_a_long_leaf)
{
    broadcast_over_busy_workers(true);
}

/* From a worker of the pool: its own call runs inline, on the caller's thread, before
 * the broadcast returns; the others on their workers. */
typedef struct inside {
    weft_pool *target;
    record r;
    int rc, caller_index;
    pthread_t caller;
} inside;

static void broadcast_inside(void *p)
{
    inside *in = p;
    in->caller_index = weft_current_worker_index();
    in->caller = pthread_self();
    in->rc = weft_broadcast(in->target, record_call, &in->r);
}

Test(broadcast, from_a_worker_runs_its_own_call_inline)
{
    enum { N = 4 };
    weft_pool *p = make_pool(N);
    for (int round = 0; round < 10; round++) {
        inside in = {.target = NULL, .rc = -7}; /* NULL: the worker's own pool */
        record_init(&in.r, N);
        cr_assert_eq(weft_pool_run(p, broadcast_inside, &in), 0);
        cr_assert_eq(in.rc, 0);
        record_check(&in.r);
        cr_assert(in.caller_index >= 0 && in.caller_index < N);
        cr_assert(pthread_equal(in.r.thread[in.caller_index], in.caller), "the caller's call ran elsewhere");
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* From a caller slot (weft_pool_execute): a member of the pool but no worker of it,
 * so no call runs on it. */
Test(broadcast, from_a_caller_slot_runs_on_the_workers)
{
    enum { N = 2 };
    weft_pool *p = make_pool(N);
    inside in = {.target = p, .rc = -7};
    record_init(&in.r, N);
    cr_assert_eq(weft_pool_execute(p, broadcast_inside, &in), 0);
    cr_assert_eq(in.rc, 0);
    cr_assert(in.caller_index >= N, "execute ran on worker %d", in.caller_index);
    record_check(&in.r);
    for (unsigned i = 0; i < N; i++)
        cr_assert(!pthread_equal(in.r.thread[i], pthread_self()));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* From a worker of another pool: it waits (running its own pool's work), the calls
 * run on the target's workers. */
Test(broadcast, from_a_worker_of_another_pool)
{
    weft_pool *a = make_pool(2), *b = make_pool(3);
    inside in = {.target = b, .rc = -7};
    record_init(&in.r, 3);
    cr_assert_eq(weft_pool_run(a, broadcast_inside, &in), 0);
    cr_assert_eq(in.rc, 0);
    record_check(&in.r);
    for (unsigned i = 0; i < 3; i++)
        cr_assert(!pthread_equal(in.r.thread[i], in.caller));
    cr_assert_eq(weft_pool_destroy(a), 0);
    cr_assert_eq(weft_pool_destroy(b), 0);
}

/* Every worker broadcasts at once, from inside: each waits for calls that the others,
 * themselves waiting, must make. None may deadlock. */
typedef struct many {
    weft_scope_fn task;
    record r[MAX_WORKERS * 2];
    _Atomic int next;
    _Atomic int failed;
} many;

static int broadcast_task(weft_scope *s, void *p)
{
    (void)s;
    many *m = p;
    int k = atomic_fetch_add(&m->next, 1);
    if (weft_broadcast(NULL, record_call, &m->r[k]) != 0)
        atomic_fetch_add(&m->failed, 1);
    return 0;
}

/* A scope of 2 x num_threads tasks m->task, each taking the next record. */
static void spawn_broadcasters(void *p)
{
    many *m = p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int k = 0; k < 2 * weft_pool_num_threads(NULL); k++)
        cr_assert_eq(weft_scope_spawn(&s, m->task, m), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(broadcast, every_worker_broadcasting_at_once_does_not_deadlock)
{
    for (unsigned n = 1; n <= 4; n++) {
        weft_pool *p = make_pool(n);
        static many m;
        memset(&m, 0, sizeof m);
        m.task = broadcast_task;
        for (unsigned k = 0; k < 2 * n; k++)
            m.r[k].expect_n = n;
        cr_assert_eq(weft_pool_run(p, spawn_broadcasters, &m), 0);
        cr_assert_eq(atomic_load(&m.failed), 0);
        cr_assert_eq(atomic_load(&m.next), (int)(2 * n));
        for (unsigned k = 0; k < 2 * n; k++)
            record_check(&m.r[k]);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

/* A broadcast call that broadcasts: n outer calls, n * n inner ones. */
typedef struct nested {
    record outer;
    record inner[MAX_WORKERS];
    _Atomic int failed;
} nested;

static void outer_call(void *ctx, unsigned index, unsigned n)
{
    nested *ns = ctx;
    record_call(&ns->outer, index, n);
    if (weft_broadcast(NULL, record_call, &ns->inner[index]) != 0)
        atomic_fetch_add(&ns->failed, 1);
}

Test(broadcast, a_call_may_broadcast)
{
    enum { N = 3 };
    weft_pool *p = make_pool(N);
    static nested ns;
    memset(&ns, 0, sizeof ns);
    ns.outer.expect_n = N;
    for (int i = 0; i < N; i++)
        ns.inner[i].expect_n = N;
    cr_assert_eq(weft_broadcast(p, outer_call, &ns), 0);
    cr_assert_eq(atomic_load(&ns.failed), 0);
    record_check(&ns.outer);
    for (int i = 0; i < N; i++)
        record_check(&ns.inner[i]);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Inside weft_isolate on a worker: the caller's own call runs inline, in the region;
 * the other workers' calls run on them. */
static void isolated_broadcast(void *p)
{
    cr_assert_eq(weft_isolate(broadcast_inside, p), 0);
}

Test(broadcast, from_inside_an_isolated_region)
{
    enum { N = 3 };
    weft_pool *p = make_pool(N);
    for (int round = 0; round < 5; round++) {
        inside in = {.target = p, .rc = -7};
        record_init(&in.r, N);
        cr_assert_eq(weft_pool_run(p, isolated_broadcast, &in), 0);
        cr_assert_eq(in.rc, 0);
        record_check(&in.r);
        cr_assert(pthread_equal(in.r.thread[in.caller_index], in.caller));
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* Isolated broadcasters on several workers at once: each waits, isolated, for calls
 * that the others must make while they wait isolated too. */
static int isolated_broadcast_task(weft_scope *s, void *p)
{
    (void)s;
    many *m = p;
    int k = atomic_fetch_add(&m->next, 1);
    inside in = {.target = NULL, .rc = -7};
    in.r.expect_n = m->r[k].expect_n;
    cr_assert_eq(weft_isolate(broadcast_inside, &in), 0);
    if (in.rc != 0)
        atomic_fetch_add(&m->failed, 1);
    memcpy(m->r[k].plain, in.r.plain, sizeof in.r.plain);
    for (int i = 0; i < MAX_WORKERS; i++)
        atomic_store(&m->r[k].calls[i], atomic_load(&in.r.calls[i]));
    return 0;
}

Test(broadcast, isolated_broadcasters_on_every_worker_do_not_deadlock)
{
    for (unsigned n = 2; n <= 4; n++) {
        weft_pool *p = make_pool(n);
        static many m;
        for (int round = 0; round < 20; round++) {
            memset(&m, 0, sizeof m);
            m.task = isolated_broadcast_task;
            for (unsigned k = 0; k < 2 * n; k++)
                m.r[k].expect_n = n;
            cr_assert_eq(weft_pool_run(p, spawn_broadcasters, &m), 0);
            cr_assert_eq(atomic_load(&m.failed), 0);
            for (unsigned k = 0; k < 2 * n; k++)
                record_check(&m.r[k]);
        }
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}

/* A worker benched for a caller (weft_pool_execute holds a turn and never parks: it
 * spins) still makes its call, while it is benched: a pool of 1 with one caller, and a
 * pool of 2 with two, benches every worker. */
typedef struct holder {
    weft_pool *pool;
    _Atomic int inside, release;
} holder;

static void hold_turn(void *p)
{
    holder *h = p;
    atomic_store(&h->inside, 1);
    while (!atomic_load(&h->release)) /* spins: a caller that never parks keeps its turn */
        weft_cpu_relax();
}

static void *caller_thread(void *p)
{
    holder *h = p;
    cr_assert_eq(weft_pool_execute(h->pool, hold_turn, h), 0);
    return NULL;
}

typedef struct benched_record {
    record r;
    _Atomic int benched[MAX_WORKERS];
} benched_record;

static void benched_call(void *ctx, unsigned index, unsigned n)
{
    benched_record *b = ctx;
    atomic_store(&b->benched[index], weft__worker_benched(weft__worker_current()) ? 1 : 0);
    record_call(&b->r, index, n);
}

Test(broadcast, a_benched_worker_makes_its_call)
{
    for (unsigned n = 1; n <= 2; n++) {
        weft_pool *p = make_pool(n);
        holder h[2] = {{.pool = p}, {.pool = p}};
        pthread_t t[2];
        for (unsigned i = 0; i < n; i++) {
            cr_assert_eq(pthread_create(&t[i], NULL, caller_thread, &h[i]), 0);
            uint64_t deadline = weft_deadline_after(10 * SECOND_NS);
            while (!atomic_load(&h[i].inside))
                cr_assert(!weft_deadline_passed(deadline), "the caller never entered");
        }
        benched_record b;
        memset(&b, 0, sizeof b);
        b.r.expect_n = n;
        cr_assert_eq(weft_broadcast(p, benched_call, &b), 0);
        record_check(&b.r);
        for (unsigned i = 0; i < n; i++)
            cr_assert_eq(atomic_load(&b.benched[i]), 1, "worker %u was not benched: the test proves nothing", i);
        for (unsigned i = 0; i < n; i++) {
            atomic_store(&h[i].release, 1);
            cr_assert_eq(pthread_join(t[i], NULL), 0);
        }
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
}
