/* fault_alloc.c: allocation failure injection. For each workload, and for n = 1, 2, ...
 * until a run makes no allocation fail, the n-th allocation inside weft fails (one-shot:
 * only that one; sticky: that one and every later one). Every public call must then
 * return -ENOMEM or complete, nothing may crash or leak (live allocation count back to
 * its start, and LSan in the ASan build), and the objects involved stay usable: after
 * the faults are switched off the same pool / channel does its work again.
 *
 * Calls that cannot report -ENOMEM, and what they do instead (checked here):
 *  - weft_join / weft_join_context / weft_par_for / weft_par_for_2d / weft_par_map:
 *    a join whose deque cannot grow runs both halves inline (no parallelism, no
 *    failure), so they always return 0;
 *  - WEFT_FORK (weft/inline.h): a fork whose deque cannot grow leaves the task to
 *    its WEFT_JOIN, which runs it on the forking thread;
 *  - weft_pool_run, weft_scope_init / wait, weft_task_join, channel close, pool
 *    destroy: never allocate (sticky mode runs them with every allocation failing). */
#include "check.h"
#include "inject.h"

#include <weft.h>

#include "pool_internal.h" /* WEFT_JOB_BLOCK_CACHE, WEFT_BLOCK_CACHED_KINDS */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- the sweep */

static long plan_n;      /* 0: a clean run (no -ENOMEM allowed) */
static bool plan_sticky;
static bool armed;       /* between faults_on and faults_off */
static long fired_total; /* failures injected in the current run */

static void faults_on(void)
{
    armed = plan_n != 0;
    if (armed)
        inject_arm(INJECT_ALLOC, plan_n, plan_sticky);
}

static void faults_off(void)
{
    if (armed)
        fired_total += inject_disarm(INJECT_ALLOC);
    armed = false;
}

/* rc is 0, or -ENOMEM while faults are on (workers may see them too: `armed` is only
 * written by the main thread while no weft call of the workload runs). Returns rc == 0. */
static bool ok_or_nomem_(int rc, bool nomem_ok, const char *what, int line)
{
    if (rc == 0 || (nomem_ok && rc == -ENOMEM))
        return rc == 0;
    fprintf(stderr, "fault_alloc.c:%d: %s: %s (n=%ld%s)\n", line, what, weft_strerror(rc), plan_n,
            plan_sticky ? " sticky" : "");
    abort();
}
#define OK_OR_NOMEM(call) ok_or_nomem_((call), armed, #call, __LINE__)
#define MUST(call) ((void)ok_or_nomem_((call), false, #call, __LINE__))

static weft_pool *new_pool(unsigned threads);
static weft_pool *shared_pool; /* the pool a sweep's workloads run on, if any */

/* Run `workload` clean, then for n = 1.. until nothing fails, one-shot then sticky.
 * With pool_threads > 0 every run uses one pool (creating a pool loads the hwloc
 * topology: slow), warmed up by the clean run so its deques are at their steady size:
 * live allocations must come back to that level after each run. */
static void sweep(const char *name, void (*workload)(void), unsigned pool_threads)
{
    long live_start = inject_live();
    if (pool_threads)
        shared_pool = new_pool(pool_threads);
    plan_n = 0;
    fired_total = 0;
    workload(); /* the clean run: no -ENOMEM allowed */
    long live0 = inject_live();
    if (!pool_threads)
        CHECK(live0 == live_start, "%s leaks without faults", name);
    for (int sticky = 0; sticky < 2; sticky++) {
        uint64_t t0 = weft_time_now_ns();
        long n = 1;
        for (;; n++) {
            CHECK(n < 100000, "%s: does not finish", name);
            plan_n = n;
            plan_sticky = sticky;
            fired_total = 0;
            workload();
            CHECK(!armed, "%s left faults on", name);
            /* A pool's workers keep up to WEFT_JOB_BLOCK_CACHE free task blocks of
             * each kind (runtime/block_cache_internal.h): bounded, so a leak per run
             * still shows after a few runs; the count is exact again once the pool is destroyed. */
            long slack = pool_threads ? (long)pool_threads * WEFT_BLOCK_CACHED_KINDS * WEFT_JOB_BLOCK_CACHE : 0;
            CHECK(inject_live() >= live0 && inject_live() <= live0 + slack,
                  "%s leaks %ld allocations (n=%ld%s)", name, inject_live() - live0, n, sticky ? " sticky" : "");
            if (fired_total == 0)
                break;
        }
        printf("%-18s %-8s %ld allocation points, all survived (%.2f s)\n", name,
               sticky ? "sticky" : "one-shot", n - 1, (double)(weft_time_now_ns() - t0) / 1e9);
    }
    plan_n = 0;
    if (pool_threads) {
        MUST(weft_pool_destroy(shared_pool));
        shared_pool = NULL;
        CHECK(inject_live() == live_start, "%s: the pool leaks", name);
    }
}

static weft_pool *new_pool(unsigned threads)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = threads;
    cfg.pin = WEFT_PIN_NONE;
    cfg.wait = WEFT_WAIT_PASSIVE;
    weft_pool *p = NULL;
    MUST(weft_pool_create(&cfg, &p));
    return p;
}

/* ---------------------------------------------------------------- pools */

static void tiny(void *arg) { atomic_fetch_add_explicit((_Atomic int *)arg, 1, memory_order_relaxed); }

/* Reading the machine's description (runtime/machine.c, what pool workers load once
 * per process): -ENOMEM and nothing left allocated, or the whole description. */
static void wl_machine(void)
{
    weft_machine m;
    faults_on();
    bool read = OK_OR_NOMEM(weft__machine_from_sysfs("", &m));
    faults_off();
    if (read)
        weft__machine_free(&m);
    else
        CHECK(m.num_cores == 0 && m.cores == NULL && m.pus == NULL, "a failed read leaves an empty machine");
}

static void wl_pool(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *p = NULL;
    _Atomic int ran = 0;
    faults_on();
    if (OK_OR_NOMEM(weft_pool_create(&cfg, &p))) {
        MUST(weft_pool_run(p, tiny, (void *)&ran));
        MUST(weft_pool_destroy(p));
        CHECK(ran == 1);
        faults_off();
        return;
    }
    CHECK(p == NULL, "*out written on failure");
    faults_off();
    /* a failed create leaves nothing behind: a new pool works */
    p = new_pool(2);
    MUST(weft_pool_run(p, tiny, (void *)&ran));
    MUST(weft_pool_destroy(p));
}

/* ---------------------------------------------------------------- join, spawn, scope */

typedef struct tasks_state {
    _Atomic long leaves, detached_ok, detached_runs, scope_ok, scope_runs;
} tasks_state;

typedef struct leaf_arg {
    tasks_state *st;
    int depth;
} leaf_arg;

static void join_tree(void *p)
{
    leaf_arg *a = p;
    if (a->depth == 0) {
        atomic_fetch_add_explicit(&a->st->leaves, 1, memory_order_relaxed);
        return;
    }
    leaf_arg l = {a->st, a->depth - 1}, r = l;
    MUST(weft_join(join_tree, &l, join_tree, &r)); /* cannot fail: see the file comment */
}

static void *twice(void *arg) { return (void *)((uintptr_t)arg * 2); }

static void *detached(void *arg)
{
    /* Release: pairs with check_tasks' loads, after which `st` (on the sweep's stack)
     * goes out of scope; the task's last touch of it must happen-before that. */
    atomic_fetch_add_explicit(&((tasks_state *)arg)->detached_runs, 1, memory_order_release);
    return NULL;
}

static int scope_leaf(weft_scope *s, void *arg)
{
    (void)s;
    atomic_fetch_add_explicit(&((tasks_state *)arg)->scope_runs, 1, memory_order_relaxed);
    return 0;
}

/* A copied argument: in the task's block (16 bytes) or a block of its own (4 KiB,
 * beyond WEFT_SPAWN_COPY_INLINE). */
typedef struct copy_arg {
    tasks_state *st;
    char bytes[4096 - sizeof(tasks_state *)];
} copy_arg;
enum { SMALL_COPY = 16, LARGE_COPY = sizeof(copy_arg) };

static int scope_copy_leaf(weft_scope *s, void *arg)
{
    return scope_leaf(s, ((copy_arg *)arg)->st);
}

static void *detached_copy(void *arg)
{
    return detached(((copy_arg *)arg)->st);
}

static int scope_parent(weft_scope *s, void *arg)
{
    tasks_state *st = arg;
    atomic_fetch_add_explicit(&st->scope_runs, 1, memory_order_relaxed);
    for (int i = 0; i < 2; i++)
        if (OK_OR_NOMEM(weft_scope_spawn(s, scope_leaf, st)))
            atomic_fetch_add_explicit(&st->scope_ok, 1, memory_order_relaxed);
    copy_arg c = {.st = st};
    for (int i = 0; i < 2; i++)
        if (OK_OR_NOMEM(weft_scope_spawn_copy(s, scope_copy_leaf, &c, i ? LARGE_COPY : SMALL_COPY)))
            atomic_fetch_add_explicit(&st->scope_ok, 1, memory_order_relaxed);
    return 0;
}

/* Copied spawns of both sizes: scope tasks, and detached tasks on `pool`. */
static void spawn_copies(weft_scope *s, weft_pool *pool, tasks_state *st)
{
    copy_arg c = {.st = st};
    for (int i = 0; i < 2; i++) {
        size_t size = i ? LARGE_COPY : SMALL_COPY;
        if (OK_OR_NOMEM(weft_scope_spawn_copy(s, scope_copy_leaf, &c, size)))
            atomic_fetch_add_explicit(&st->scope_ok, 1, memory_order_relaxed);
        if (OK_OR_NOMEM(weft_spawn_copy(pool, detached_copy, &c, size, NULL)))
            atomic_fetch_add_explicit(&st->detached_ok, 1, memory_order_relaxed);
    }
}

/* join, spawn (joined and detached) and a scope whose tasks spawn, from wherever we are */
static void tasks_body(void *arg)
{
    tasks_state *st = arg;
    leaf_arg root = {st, 4};
    long leaves0 = atomic_load(&st->leaves);
    join_tree(&root);
    CHECK(atomic_load(&st->leaves) == leaves0 + 16);

    weft_task *t[8];
    bool ok[8];
    for (uintptr_t i = 0; i < 8; i++)
        ok[i] = OK_OR_NOMEM(weft_spawn(NULL, twice, (void *)i, &t[i]));
    for (uintptr_t i = 0; i < 8; i++) {
        if (!ok[i])
            continue;
        void *r = NULL;
        MUST(weft_task_join(t[i], &r));
        CHECK((uintptr_t)r == 2 * i);
    }
    for (int i = 0; i < 4; i++)
        if (OK_OR_NOMEM(weft_spawn(NULL, detached, st, NULL)))
            atomic_fetch_add_explicit(&st->detached_ok, 1, memory_order_relaxed);

    weft_scope s;
    MUST(weft_scope_init(&s, NULL));
    for (int i = 0; i < 8; i++)
        if (OK_OR_NOMEM(weft_scope_spawn(&s, scope_parent, st)))
            atomic_fetch_add_explicit(&st->scope_ok, 1, memory_order_relaxed);
    spawn_copies(&s, NULL, st);
    MUST(weft_scope_wait(&s));
}

/* Every task that was queued ran (detached ones: wait for them), and nothing more. */
static void check_tasks(tasks_state *st)
{
    uint64_t deadline = weft_deadline_after(10000000000ull);
    while (atomic_load(&st->detached_runs) != atomic_load(&st->detached_ok)) {
        CHECK(weft_time_now_ns() < deadline, "%ld detached ran, %ld spawned", st->detached_runs,
              st->detached_ok);
        weft_thread_sleep(100000);
    }
    weft_thread_sleep(1000); /* none runs twice */
    CHECK(st->detached_runs == st->detached_ok, "%ld detached ran, %ld spawned", st->detached_runs,
          st->detached_ok);
    CHECK(st->scope_runs == st->scope_ok, "%ld scope tasks ran, %ld spawned", st->scope_runs, st->scope_ok);
}

static void wl_tasks_in_pool(void)
{
    tasks_state st = {0};
    faults_on();
    MUST(weft_pool_run(shared_pool, tasks_body, &st));
    faults_off();
    MUST(weft_pool_run(shared_pool, tasks_body, &st)); /* the same pool, usable again */
    check_tasks(&st);
}

/* the same from a thread outside the pool: spawns go through the injector */
static void wl_tasks_outside(void)
{
    tasks_state st = {0};
    weft_pool *p = shared_pool;
    faults_on();
    weft_task *t = NULL;
    if (OK_OR_NOMEM(weft_spawn(p, twice, (void *)21, &t))) {
        void *r;
        MUST(weft_task_join(t, &r));
        CHECK((uintptr_t)r == 42);
    }
    for (int i = 0; i < 4; i++)
        if (OK_OR_NOMEM(weft_spawn(p, detached, &st, NULL)))
            atomic_fetch_add_explicit(&st.detached_ok, 1, memory_order_relaxed);
    weft_scope s;
    MUST(weft_scope_init(&s, p));
    for (int i = 0; i < 4; i++)
        if (OK_OR_NOMEM(weft_scope_spawn(&s, scope_parent, &st)))
            atomic_fetch_add_explicit(&st.scope_ok, 1, memory_order_relaxed);
    spawn_copies(&s, p, &st);
    MUST(weft_scope_wait(&s));
    faults_off();
    MUST(weft_spawn(p, detached, &st, NULL));
    atomic_fetch_add_explicit(&st.detached_ok, 1, memory_order_relaxed);
    check_tasks(&st);
}

/* Tasks with dependencies from outside the pool: a spawn that fails queues nothing
 * and records no dependency, so the writers of each address that were spawned run
 * exactly once and in their spawn order; a successor whose queueing fails when its
 * predecessor releases it runs on that predecessor's thread. The scope's dependency
 * table is freed by its wait (the live count comes back). */
enum { DEP_TASKS = 60, DEP_CELLS = 3 };

typedef struct deps_state {
    int log[DEP_CELLS][DEP_TASKS]; /* plain: ordered by the dependencies */
    int nlog[DEP_CELLS];
    _Atomic int runs;
} deps_state;

typedef struct dep_arg {
    deps_state *st;
    int id, cell;
} dep_arg;

static int dep_leaf(weft_scope *s, void *arg)
{
    (void)s;
    dep_arg *a = arg;
    a->st->log[a->cell][a->st->nlog[a->cell]++] = a->id;
    atomic_fetch_add_explicit(&a->st->runs, 1, memory_order_relaxed);
    return 0;
}

static void wl_scope_deps(void)
{
    static deps_state st;
    static dep_arg args[DEP_TASKS];
    int want[DEP_CELLS][DEP_TASKS], nwant[DEP_CELLS] = {0}, ok = 0;
    memset(&st, 0, sizeof st);
    weft_scope s;
    faults_on();
    MUST(weft_scope_init(&s, shared_pool));
    for (int i = 0; i < DEP_TASKS; i++) {
        int cell = i % DEP_CELLS;
        args[i] = (dep_arg){&st, i, cell};
        /* writes its cell, and is ordered after the writers of the next one */
        weft_dep d[2] = {{&st.nlog[cell], WEFT_DEP_INOUT}, {&st.nlog[(cell + 1) % DEP_CELLS], WEFT_DEP_IN}};
        if (OK_OR_NOMEM(weft_scope_spawn_dep(&s, dep_leaf, &args[i], d, 2))) {
            want[cell][nwant[cell]++] = i;
            ok++;
        }
    }
    MUST(weft_scope_wait(&s));
    faults_off();
    CHECK(atomic_load(&st.runs) == ok, "%d dependent tasks ran, %d spawned", atomic_load(&st.runs), ok);
    for (int c = 0; c < DEP_CELLS; c++) {
        CHECK(st.nlog[c] == nwant[c], "cell %d: %d writers ran, %d spawned", c, st.nlog[c], nwant[c]);
        CHECK(memcmp(st.log[c], want[c], (size_t)nwant[c] * sizeof(int)) == 0, "cell %d: out of order", c);
    }
}

/* One writer, then FANOUT readers of its address, all spawned while the writer waits
 * for the spawner: its finish releases them all at once, more than the ready heap's
 * first room (runtime/scope_dep.c), so the heap grows while tasks are released, and
 * the jobs for them are queued then, more than a fresh worker's block cache and deque
 * hold (a fresh pool each run: nothing cached hides an allocation). A growth that
 * fails leaves the released task to the writer's thread, a job that cannot be queued
 * to the writer's job: either way each reader spawned runs exactly once, after the
 * writer. */
enum { FANOUT = 300 };

typedef struct fanout_state {
    weft_latch spawned; /* the writer waits for the spawner */
    _Atomic int writer_ran, readers_ran, early;
} fanout_state;

static int fanout_writer(weft_scope *s, void *arg)
{
    (void)s;
    fanout_state *st = arg;
    weft_latch_wait(&st->spawned);
    atomic_store_explicit(&st->writer_ran, 1, memory_order_relaxed);
    return 0;
}

static int fanout_reader(weft_scope *s, void *arg)
{
    (void)s;
    fanout_state *st = arg;
    if (atomic_load_explicit(&st->writer_ran, memory_order_relaxed) == 0)
        atomic_fetch_add_explicit(&st->early, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->readers_ran, 1, memory_order_relaxed);
    return 0;
}

static void wl_scope_deps_fanout(void)
{
    static fanout_state st;
    static int cell;
    memset(&st, 0, sizeof st);
    MUST(weft_latch_init(&st.spawned, 1));
    weft_pool *p = new_pool(2);
    weft_scope s;
    faults_on();
    MUST(weft_scope_init(&s, p));
    weft_dep w = {&cell, WEFT_DEP_OUT}, r = {&cell, WEFT_DEP_IN};
    bool writer = OK_OR_NOMEM(weft_scope_spawn_dep(&s, fanout_writer, &st, &w, 1));
    int readers = 0;
    for (int i = 0; i < FANOUT; i++)
        if (OK_OR_NOMEM(weft_scope_spawn_dep(&s, fanout_reader, &st, &r, 1)))
            readers++;
    weft_latch_count_down(&st.spawned, 1);
    MUST(weft_scope_wait(&s));
    faults_off();
    MUST(weft_pool_destroy(p));
    CHECK(atomic_load(&st.writer_ran) == (int)writer, "writer ran %d, spawned %d", atomic_load(&st.writer_ran),
          (int)writer);
    CHECK(atomic_load(&st.readers_ran) == readers, "%d readers ran, %d spawned", atomic_load(&st.readers_ran),
          readers);
    CHECK(!writer || atomic_load(&st.early) == 0, "%d readers ran before the writer", atomic_load(&st.early));
}

/* One worker, so nothing is stolen: a chain of 300 nested joins keeps 300 stack jobs
 * on its deque (256 slots), whose growth fails too; a join on a deque that cannot
 * grow runs inline. At the bottom, a spawn needs the deque to grow as well. A fresh
 * pool each run (fresh deque), so few allocation points on this path. */
enum { DEQUE_DEPTH = 300 };

typedef struct chain_arg {
    tasks_state *st;
    int depth;
    _Atomic int *ran;
} chain_arg;

static void chain_right(void *p) { atomic_fetch_add_explicit(((chain_arg *)p)->ran, 1, memory_order_relaxed); }

static void chain(void *p)
{
    chain_arg *a = p;
    if (a->depth == 0) {
        if (OK_OR_NOMEM(weft_spawn(NULL, detached, a->st, NULL)))
            atomic_fetch_add_explicit(&a->st->detached_ok, 1, memory_order_relaxed);
        return;
    }
    chain_arg l = {a->st, a->depth - 1, a->ran};
    MUST(weft_join(chain, &l, chain_right, a));
}

/* The same chain with inline forks: each level forks a small task and recurses
 * before joining it, so 300 frames stay on the deque; the sum of the depths comes
 * back through the joins. */
WEFT_TASK_1(long, depth_value, int, depth) { return depth; }

static long inline_chain(int depth)
{
    if (depth == 0)
        return 0;
    WEFT_FRAME(depth_value) f;
    WEFT_FORK(depth_value, &f, depth);
    long rest = inline_chain(depth - 1);
    return WEFT_JOIN(depth_value, &f) + rest;
}

static void deque_body(void *arg)
{
    tasks_state *st = arg;
    _Atomic int ran = 0;
    chain_arg root = {st, DEQUE_DEPTH, &ran};
    chain(&root);
    CHECK(ran == DEQUE_DEPTH, "%d of %d right halves ran", ran, DEQUE_DEPTH);
}

static void inline_deque_body(void *arg)
{
    (void)arg;
    long sum = inline_chain(DEQUE_DEPTH);
    CHECK(sum == (long)DEQUE_DEPTH * (DEQUE_DEPTH + 1) / 2, "inline chain: %ld", sum);
}

static void wl_deque_growth(void)
{
    tasks_state st = {0};
    weft_pool *p = new_pool(1);
    faults_on();
    MUST(weft_pool_run(p, deque_body, &st));
    faults_off();
    MUST(weft_pool_run(p, deque_body, &st));
    MUST(weft_pool_destroy(p));
    check_tasks(&st);
}

static void wl_inline_deque_growth(void)
{
    weft_pool *p = new_pool(1);
    faults_on();
    MUST(weft_pool_run(p, inline_deque_body, NULL));
    faults_off();
    MUST(weft_pool_run(p, inline_deque_body, NULL));
    MUST(weft_pool_destroy(p));
}

/* Spawning into a full deque whose growth cannot be allocated: weft_spawn and
 * weft_scope_spawn return -ENOMEM with nothing queued (the task block is taken back),
 * and the next spawn grows the deque. A 1-worker pool, so nothing runs or is stolen
 * while the deque fills. */
typedef struct full_deque {
    _Atomic long ran;
    long queued;
    int spawn_rc, scope_rc;
} full_deque;

static void *count_run(void *arg)
{
    atomic_fetch_add_explicit(&((full_deque *)arg)->ran, 1, memory_order_relaxed);
    return NULL;
}

static int count_run_scope(weft_scope *s, void *arg)
{
    (void)s;
    count_run(arg);
    return 0;
}

static void full_deque_body(void *arg)
{
    full_deque *fd = arg;
    weft_scope s;
    MUST(weft_scope_init(&s, NULL));
    /* Each spawn makes at most two allocations: its block (none when the worker's
     * block cache has one) and then the deque's growth; failing the second one only
     * fails a spawn that finds the deque full. */
    long fired = 0;
    int rc = 0;
    for (long i = 0; i < 100000 && fired == 0; i++) {
        inject_arm(INJECT_ALLOC, 2, false);
        rc = weft_spawn(NULL, count_run, fd, NULL);
        fired = inject_disarm(INJECT_ALLOC);
        fd->queued += rc == 0;
    }
    fd->spawn_rc = rc;
    /* the failed spawn's block is in the cache now: its next allocation is a growth */
    inject_arm(INJECT_ALLOC, 1, false);
    fd->scope_rc = weft_scope_spawn(&s, count_run_scope, fd);
    CHECK(inject_disarm(INJECT_ALLOC) == 1);
    MUST(weft_spawn(NULL, count_run, fd, NULL)); /* grows the deque */
    MUST(weft_scope_spawn(&s, count_run_scope, fd));
    fd->queued += 2;
    MUST(weft_scope_wait(&s));
}

static void spawn_into_full_deque(void)
{
    long live0 = inject_live();
    weft_pool *p = new_pool(1);
    full_deque fd = {0};
    MUST(weft_pool_run(p, full_deque_body, &fd));
    MUST(weft_pool_destroy(p));
    CHECK(fd.spawn_rc == -ENOMEM, "spawn into a full deque that cannot grow: %s", weft_strerror(fd.spawn_rc));
    CHECK(fd.scope_rc == -ENOMEM, "scope spawn: %s", weft_strerror(fd.scope_rc));
    CHECK(fd.ran == fd.queued, "%ld tasks ran, %ld were queued", (long)fd.ran, fd.queued);
    CHECK(inject_live() == live0, "%ld allocations leaked", inject_live() - live0);
    printf("%-18s -ENOMEM after %ld queued tasks, nothing queued by the failed calls\n", "full deque", fd.queued - 2);
}

/* The allocation of a copy beyond WEFT_SPAWN_COPY_INLINE (a block of its own) fails:
 * weft_scope_spawn_copy and weft_spawn_copy return -ENOMEM with nothing queued and
 * nothing left allocated, and the same calls work once memory is back. From a worker
 * and from outside the pool (where even a small copy's block is a malloc). */
typedef struct copy_fail {
    tasks_state st;
    int scope_rc, spawn_rc, small_rc;
    long fired;
} copy_fail;

static void copy_fail_calls(copy_fail *cf, weft_pool *pool, bool small_too)
{
    weft_scope s;
    MUST(weft_scope_init(&s, pool));
    copy_arg c = {.st = &cf->st};
    inject_arm(INJECT_ALLOC, 1, false); /* the copy's block: the first allocation */
    cf->scope_rc = weft_scope_spawn_copy(&s, scope_copy_leaf, &c, LARGE_COPY);
    cf->fired = inject_disarm(INJECT_ALLOC);
    inject_arm(INJECT_ALLOC, 1, false);
    cf->spawn_rc = weft_spawn_copy(pool, detached_copy, &c, LARGE_COPY, NULL);
    cf->fired += inject_disarm(INJECT_ALLOC);
    cf->small_rc = -ENOMEM;
    if (small_too) {
        inject_arm(INJECT_ALLOC, 1, false);
        cf->small_rc = weft_scope_spawn_copy(&s, scope_copy_leaf, &c, SMALL_COPY);
        cf->fired += inject_disarm(INJECT_ALLOC);
    }
    MUST(weft_scope_wait(&s)); /* nothing queued: returns at once */
}

static void copy_fail_in_worker(void *arg)
{
    copy_fail_calls(arg, NULL, false);
}

static void copy_fail_check(copy_fail *cf, long fires, const char *where)
{
    CHECK(cf->scope_rc == -ENOMEM, "%s: scope spawn_copy: %s", where, weft_strerror(cf->scope_rc));
    CHECK(cf->spawn_rc == -ENOMEM, "%s: spawn_copy: %s", where, weft_strerror(cf->spawn_rc));
    CHECK(cf->small_rc == -ENOMEM, "%s: small scope spawn_copy: %s", where, weft_strerror(cf->small_rc));
    CHECK(cf->fired == fires, "%s: %ld allocations failed, want %ld", where, cf->fired, fires);
    CHECK(cf->st.scope_runs == 0 && cf->st.detached_runs == 0, "%s: a failed spawn ran", where);
}

static void copy_alloc_fails(void)
{
    long live0 = inject_live();
    weft_pool *p = new_pool(1);
    long live_pool = inject_live();
    copy_fail in = {0}, out = {0};
    MUST(weft_pool_run(p, copy_fail_in_worker, &in));
    copy_fail_check(&in, 2, "worker");
    copy_fail_calls(&out, p, true);
    copy_fail_check(&out, 3, "outside");
    MUST(weft_pool_wait_idle(p));
    CHECK(inject_live() == live_pool, "%ld allocations left by failed copies", inject_live() - live_pool);
    /* memory is back: the same calls queue and run */
    weft_scope s;
    MUST(weft_scope_init(&s, p));
    copy_arg c = {.st = &out.st};
    MUST(weft_scope_spawn_copy(&s, scope_copy_leaf, &c, LARGE_COPY));
    MUST(weft_spawn_copy(p, detached_copy, &c, LARGE_COPY, NULL));
    MUST(weft_scope_wait(&s));
    MUST(weft_pool_destroy(p));
    CHECK(out.st.scope_runs == 1 && out.st.detached_runs == 1, "after the faults: %ld scope, %ld detached runs",
          (long)out.st.scope_runs, (long)out.st.detached_runs);
    CHECK(inject_live() == live0, "%ld allocations leaked", inject_live() - live0);
    printf("%-18s -ENOMEM with nothing queued or left allocated, from a worker and from outside\n", "copy alloc");
}

/* ---------------------------------------------------------------- par */

enum { PAR_N = 3000 };
static _Atomic unsigned char visited[PAR_N];
typedef struct big_acc {
    uint64_t sum;
    char pad[512 - 8]; /* > ACC_INLINE (256): reduce nodes malloc their accumulators */
} big_acc;
typedef struct rec {
    uint32_t key, seq;
} rec;
static rec recs[PAR_N], recs_copy[PAR_N];
static uint64_t keys64[PAR_N], keys64_copy[PAR_N];
static uint32_t keys32[PAR_N], keys32_copy[PAR_N];
static int ints[PAR_N];

static int visit(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&visited[i], 1, memory_order_relaxed);
    return 0;
}

static int fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    for (size_t i = b; i < e; i++)
        ((big_acc *)acc)->sum += i;
    return 0;
}

static void combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    ((big_acc *)acc)->sum += ((const big_acc *)other)->sum;
}

static int cmp_rec(const void *a, const void *b)
{
    uint32_t x = ((const rec *)a)->key, y = ((const rec *)b)->key;
    return (x > y) - (x < y);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void par_fill(void)
{
    uint64_t s = 12345;
    for (size_t i = 0; i < PAR_N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        recs[i] = (rec){(uint32_t)(s >> 56), (uint32_t)i}; /* many equal keys */
        keys64[i] = s;
        keys32[i] = (uint32_t)(s >> 20);
        ints[i] = (int)(s >> 40);
    }
    memcpy(recs_copy, recs, sizeof recs);
    memcpy(keys64_copy, keys64, sizeof keys64);
    memcpy(keys32_copy, keys32, sizeof keys32);
}

static void par_body(void *arg)
{
    (void)arg;
    memset((void *)visited, 0, sizeof visited);
    MUST(weft_par_for(0, PAR_N, 8, visit, NULL));
    for (size_t i = 0; i < PAR_N; i++)
        CHECK(visited[i] == 1, "index %zu visited %d times", i, visited[i]);

    big_acc id = {0}, out;
    uint64_t want = (uint64_t)PAR_N * (PAR_N - 1) / 2;
    if (OK_OR_NOMEM(weft_par_reduce(0, PAR_N, 128, &id, fold, combine, NULL, &out, sizeof out)))
        CHECK(out.sum == want);
    if (OK_OR_NOMEM(weft_par_reduce_deterministic(0, PAR_N, 128, &id, fold, combine, NULL, &out, sizeof out)))
        CHECK(out.sum == want);

    par_fill();
    if (OK_OR_NOMEM(weft_par_sort_stable(recs, PAR_N, sizeof(rec), cmp_rec))) {
        for (size_t i = 1; i < PAR_N; i++)
            CHECK(recs[i - 1].key < recs[i].key ||
                  (recs[i - 1].key == recs[i].key && recs[i - 1].seq < recs[i].seq), "not stably sorted");
    } else {
        CHECK(memcmp(recs, recs_copy, sizeof recs) == 0, "-ENOMEM but the input changed");
    }
    if (OK_OR_NOMEM(weft_par_sort_u64(keys64, PAR_N))) {
        for (size_t i = 1; i < PAR_N; i++)
            CHECK(keys64[i - 1] <= keys64[i]);
    } else {
        CHECK(memcmp(keys64, keys64_copy, sizeof keys64) == 0, "-ENOMEM but the input changed");
    }
    if (OK_OR_NOMEM(weft_par_sort_u32(keys32, PAR_N))) {
        for (size_t i = 1; i < PAR_N; i++)
            CHECK(keys32[i - 1] <= keys32[i]);
    } else {
        CHECK(memcmp(keys32, keys32_copy, sizeof keys32) == 0, "-ENOMEM but the input changed");
    }
    if (OK_OR_NOMEM(weft_par_sort(ints, PAR_N, sizeof(int), cmp_int)))
        for (size_t i = 1; i < PAR_N; i++)
            CHECK(ints[i - 1] <= ints[i]);
}

static void wl_par(void)
{
    faults_on();
    MUST(weft_pool_run(shared_pool, par_body, NULL));
    faults_off();
    MUST(weft_pool_run(shared_pool, par_body, NULL));
}

/* A pipeline inside the pool: -ENOMEM only before anything ran (its tokens and
 * rings); a producer or released item that cannot be spawned is carried by the task
 * at hand, so a run that started finishes every item, in order at the in-order
 * stage. Items are slots of a static array (the test's own mallocs fail too). */
enum { PIPE_ITEMS = 200 };

typedef struct pipe_state {
    int made, last, finished;
    bool seen[PIPE_ITEMS]; /* by the out-of-order stage */
    int slot[PIPE_ITEMS];
} pipe_state;

static int pipe_make(void *ctx, void **item)
{
    pipe_state *ps = ctx;
    if (ps->made == PIPE_ITEMS)
        return 0;
    ps->slot[ps->made] = ps->made;
    *item = &ps->slot[ps->made++];
    return 0;
}

static int pipe_twice(void *ctx, void **item)
{
    (void)ctx;
    int *v = *item;
    *v = *v * 2 + 1;
    return 0;
}

static int pipe_count(void *ctx, void **item)
{
    pipe_state *ps = ctx;
    ps->seen[(int *)*item - ps->slot] = true;
    return 0;
}

static int pipe_in_order(void *ctx, void **item)
{
    pipe_state *ps = ctx;
    int i = (int)((int *)*item - ps->slot);
    CHECK(i == ps->last + 1, "item %d after %d", i, ps->last);
    CHECK(ps->slot[i] == i * 2 + 1 && ps->seen[i], "item %d skipped a stage", i);
    ps->last = i;
    ps->finished++;
    return 0;
}

static void pipe_body(void *arg)
{
    (void)arg;
    static pipe_state ps;
    memset(&ps, 0, sizeof ps);
    ps.last = -1;
    weft_pipeline_stage st[4] = {{WEFT_PIPELINE_SERIAL_IN_ORDER, pipe_make, NULL},
                                 {WEFT_PIPELINE_PARALLEL, pipe_twice, NULL},
                                 {WEFT_PIPELINE_SERIAL_OUT_OF_ORDER, pipe_count, NULL},
                                 {WEFT_PIPELINE_SERIAL_IN_ORDER, pipe_in_order, NULL}};
    if (OK_OR_NOMEM(weft_pipeline_run(st, 4, 6, &ps)))
        CHECK(ps.finished == PIPE_ITEMS, "%d of %d items finished", ps.finished, PIPE_ITEMS);
    else
        CHECK(ps.made == 0, "-ENOMEM after items were made");
}

static void wl_pipeline(void)
{
    faults_on();
    MUST(weft_pool_run(shared_pool, pipe_body, NULL));
    faults_off();
    MUST(weft_pool_run(shared_pool, pipe_body, NULL));
}

/* ---------------------------------------------------------------- channels */

enum { CHAN_MSGS = 80 }; /* unbounded: blocks of 31 messages, so 3 block allocations */

typedef struct receiver_arg {
    weft_receiver *rx;
    int got[CHAN_MSGS + 1];
    int n;
} receiver_arg;

static void *receiver_main(void *p)
{
    receiver_arg *r = p;
    int v;
    int rc;
    while ((rc = weft_chan_recv(r->rx, &v)) == 0) {
        CHECK(r->n < CHAN_MSGS + 1, "more messages than sent");
        r->got[r->n++] = v;
    }
    CHECK(rc == -EPIPE, "recv: %s", weft_strerror(rc));
    return NULL;
}

static void chan_flavor(size_t cap)
{
    weft_sender *tx = NULL, *tx2 = NULL;
    weft_receiver *rx = NULL, *rx2 = NULL;
    faults_on();
    if (!OK_OR_NOMEM(weft_chan_open(sizeof(int), cap, NULL, &tx, &rx))) {
        CHECK(tx == NULL && rx == NULL, "*tx / *rx written on failure");
        faults_off();
        return;
    }
    bool have_tx2 = OK_OR_NOMEM(weft_sender_clone(tx, &tx2));
    bool have_rx2 = OK_OR_NOMEM(weft_receiver_clone(rx, &rx2));
    receiver_arg r = {.rx = have_rx2 ? rx2 : rx, .n = 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, receiver_main, &r) == 0);
    int sent[CHAN_MSGS + 1], nsent = 0;
    for (int i = 0; i < CHAN_MSGS; i++)
        if (OK_OR_NOMEM(weft_chan_send(have_tx2 && i % 2 ? tx2 : tx, &i)))
            sent[nsent++] = i;
    faults_off();
    /* usable after whatever failed */
    int last = -1;
    MUST(weft_chan_send(tx, &last));
    sent[nsent++] = last;
    MUST(weft_sender_close(tx));
    if (have_tx2)
        MUST(weft_sender_close(tx2));
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(r.n == nsent, "received %d of %d", r.n, nsent);
    CHECK(memcmp(r.got, sent, (size_t)nsent * sizeof(int)) == 0, "messages out of order");
    MUST(weft_receiver_close(rx));
    if (have_rx2)
        MUST(weft_receiver_close(rx2));
}

static void wl_chan_unbounded(void) { chan_flavor(WEFT_UNBOUNDED); }
static void wl_chan_bounded(void) { chan_flavor(4); }
static void wl_chan_zero(void) { chan_flavor(0); }

/* messages left inside at close go to the drop callback, closes allocate nothing */
static void count_drop(void *ctx, void *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

static void wl_chan_drop(void)
{
    int dropped = 0, nsent = 0;
    weft_chan_options o = {count_drop, &dropped};
    weft_sender *tx = NULL;
    weft_receiver *rx = NULL;
    faults_on();
    if (OK_OR_NOMEM(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, &o, &tx, &rx))) {
        for (int i = 0; i < CHAN_MSGS; i++)
            nsent += OK_OR_NOMEM(weft_chan_send(tx, &i));
        int v;
        for (int i = 0; i < 5 && nsent > 0; i++, nsent--)
            MUST(weft_chan_recv(rx, &v));
        MUST(weft_receiver_close(rx));
        MUST(weft_sender_close(tx));
        CHECK(dropped == nsent, "dropped %d of %d", dropped, nsent);
    }
    faults_off();
}

/* select over more than 16 operations allocates its wait records */
enum { SEL_OPS = 20 };

static void wl_select(void)
{
    weft_sender *tx[SEL_OPS];
    weft_receiver *rx[SEL_OPS];
    for (int i = 0; i < SEL_OPS; i++)
        MUST(weft_chan_open(sizeof(int), 1, NULL, &tx[i], &rx[i]));
    int v = 7, buf[SEL_OPS];
    MUST(weft_chan_send(tx[7], &v));
    weft_select_op ops[SEL_OPS];
    for (int i = 0; i < SEL_OPS; i++)
        ops[i] = (weft_select_op){WEFT_SELECT_RECV, NULL, rx[i], &buf[i], 0};
    faults_on();
    int rc = weft_try_select(ops, SEL_OPS);
    int rc_small = weft_try_select(ops + 4, 8); /* <= 16 ops: on the stack, cannot fail */
    faults_off();
    if (rc == -ENOMEM) {
        CHECK(plan_n != 0);
        CHECK(rc_small == 3 && ops[7].result == 0 && buf[7] == 7, "small select: %d", rc_small);
    } else {
        CHECK(rc == 7 && ops[7].result == 0 && buf[7] == 7, "select: %d", rc);
        CHECK(rc_small == -EAGAIN, "small select: %d", rc_small);
    }
    MUST(weft_chan_send(tx[3], &v));
    CHECK(weft_select(ops, SEL_OPS) == 3, "usable afterwards");
    for (int i = 0; i < SEL_OPS; i++) {
        MUST(weft_sender_close(tx[i]));
        MUST(weft_receiver_close(rx[i]));
    }
}

/* A select send on an unbounded channel that needs a new block which cannot be
 * allocated completes as weft_chan_send would: that op is chosen, its .result is
 * -ENOMEM and the message was not sent; the channel works on afterwards. */
static void select_unbounded_send(void)
{
    long live0 = inject_live();
    weft_sender *tx;
    weft_receiver *rx;
    MUST(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &tx, &rx));
    int sent[CHAN_MSGS], nsent = 0, failed = 0;
    for (int i = 0; i < CHAN_MSGS; i++) {
        int v = i;
        weft_select_op op = {WEFT_SELECT_SEND, tx, NULL, &v, 1};
        inject_arm(INJECT_ALLOC, 1, false); /* the next allocation fails */
        int rc = weft_try_select(&op, 1);
        long fired = inject_disarm(INJECT_ALLOC);
        CHECK(rc == 0, "try_select: %d", rc);
        if (fired) {
            CHECK(op.result == -ENOMEM, "message %d: .result %s", i, weft_strerror(op.result));
            failed++;
            MUST(weft_chan_send(tx, &v)); /* not sent: send it now */
        } else {
            CHECK(op.result == 0, "message %d: .result %s", i, weft_strerror(op.result));
        }
        sent[nsent++] = v;
    }
    CHECK(failed >= 2, "80 messages need new blocks: only %d failed", failed);
    for (int i = 0; i < nsent; i++) {
        int v = -1;
        MUST(weft_chan_try_recv(rx, &v));
        CHECK(v == sent[i], "message %d: got %d", sent[i], v);
    }
    int v;
    CHECK(weft_chan_try_recv(rx, &v) == -EAGAIN, "each message once");
    MUST(weft_sender_close(tx));
    MUST(weft_receiver_close(rx));
    CHECK(inject_live() == live0);
    printf("%-18s %d block allocations failed, each an op with .result -ENOMEM\n", "select send", failed);
}

/* Timers allocate their channel and handles only. */
static void wl_timer(void)
{
    weft_receiver *rx[3] = {NULL, NULL, NULL}, *clone = NULL;
    faults_on();
    bool ok[3] = {OK_OR_NOMEM(weft_chan_after(0, &rx[0])),
                  OK_OR_NOMEM(weft_chan_tick(1000, &rx[1])),
                  OK_OR_NOMEM(weft_chan_never(&rx[2]))};
    bool cloned = ok[0] && OK_OR_NOMEM(weft_receiver_clone(rx[0], &clone));
    faults_off();
    for (int i = 0; i < 3; i++)
        CHECK(ok[i] || rx[i] == NULL, "*rx written on failure");
    CHECK(cloned || clone == NULL, "*out written on failure");
    uint64_t ts;
    if (ok[0])
        MUST(weft_chan_recv(cloned ? clone : rx[0], &ts));
    if (ok[1])
        MUST(weft_chan_recv(rx[1], &ts));
    if (ok[2])
        CHECK(weft_chan_try_recv(rx[2], &ts) == -EAGAIN);
    if (cloned)
        MUST(weft_receiver_close(clone));
    for (int i = 0; i < 3; i++)
        if (ok[i])
            MUST(weft_receiver_close(rx[i]));
}

/* ---------------------------------------------------------------- arc, threads */

static void arc_destroy(void *data) { (**(int **)data)++; }

static void wl_arc(void)
{
    int destroyed = 0;
    weft_arc *a = NULL;
    faults_on();
    if (OK_OR_NOMEM(weft_arc_new(300, arc_destroy, &a))) {
        *(int **)weft_arc_get(a) = &destroyed;
        weft_arc *b = weft_arc_clone(a);
        CHECK(weft_arc_drop(a) == 0 && weft_arc_drop(b) == 1 && destroyed == 1);
    } else {
        CHECK(a == NULL, "*out written on failure");
    }
    faults_off();
}

static void *thread_fn(void *arg) { return arg; }

static void wl_thread(void)
{
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.name = "fault-thread";
    weft_thread *t = NULL;
    faults_on();
    if (OK_OR_NOMEM(weft_thread_spawn(&o, thread_fn, (void *)5, &t))) {
        void *r;
        MUST(weft_thread_join(t, &r));
        CHECK((uintptr_t)r == 5);
    } else {
        CHECK(t == NULL, "*out written on failure");
    }
    faults_off();
}

/* A detached thread frees its block when it ends: wait for the count to come back. */
static void thread_detach(void)
{
    long live0 = inject_live();
    weft_thread *t;
    MUST(weft_thread_spawn(NULL, thread_fn, NULL, &t));
    MUST(weft_thread_detach(t));
    uint64_t deadline = weft_deadline_after(10000000000ull);
    while (inject_live() != live0) {
        CHECK(weft_time_now_ns() < deadline, "a detached thread's block is never freed");
        weft_thread_sleep(1000000);
    }
}

/* ---------------------------------------------------------------- global pool */

static void global_pool(void)
{
    long live0 = inject_live();
    for (long n = 1;; n++) {
        CHECK(n < 100000);
        weft_pool *p = NULL;
        inject_arm(INJECT_ALLOC, n, false);
        int rc = weft_pool_global(&p);
        long fired = inject_disarm(INJECT_ALLOC);
        if (rc == 0) {
            /* a worker that could not start (its thread block): the global pool runs
             * with the ones that did (pool.c: global_pool_create) */
            CHECK(fired == 0 || weft_pool_num_threads(p) >= 1);
            printf("%-18s %-8s %ld allocation points, all survived\n", "global pool", "one-shot", n - 1);
            break;
        }
        CHECK(rc == -ENOMEM, "weft_pool_global: %s", weft_strerror(rc));
        CHECK(inject_live() == live0, "failed global pool start leaks");
    }
    memset((void *)visited, 0, sizeof visited);
    MUST(weft_par_for(0, PAR_N, 0, visit, NULL)); /* from outside: the global pool works */
    for (size_t i = 0; i < PAR_N; i++)
        CHECK(visited[i] == 1);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sweep("machine", wl_machine, 0);
    /* The machine's description is read once per process and kept: read it before
     * the allocations are counted. */
    CHECK(weft__topology_load_shared(), "the machine is described");
    sweep("pool create", wl_pool, 0);
    sweep("tasks in pool", wl_tasks_in_pool, 2);
    sweep("tasks outside", wl_tasks_outside, 2);
    sweep("scope deps", wl_scope_deps, 2);
    sweep("scope deps fanout", wl_scope_deps_fanout, 0);
    sweep("deque growth", wl_deque_growth, 0);
    sweep("inline deque", wl_inline_deque_growth, 0);
    spawn_into_full_deque();
    copy_alloc_fails();
    sweep("par", wl_par, 2);
    sweep("pipeline", wl_pipeline, 2);
    sweep("chan unbounded", wl_chan_unbounded, 0);
    sweep("chan bounded", wl_chan_bounded, 0);
    sweep("chan zero", wl_chan_zero, 0);
    sweep("chan drop", wl_chan_drop, 0);
    sweep("select", wl_select, 0);
    select_unbounded_send();
    sweep("timer", wl_timer, 0);
    sweep("arc", wl_arc, 0);
    sweep("thread", wl_thread, 0);
    thread_detach();
    global_pool();
    return 0;
}
