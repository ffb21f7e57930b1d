/* test_caller.c: Criterion suite `caller` — what a thread outside every pool can rely
 * on when it works in a pool (weft_pool_execute, and the parallel calls made from
 * outside a pool): where fn runs and which index it sees, from outside, from a worker
 * of the same pool and from a worker of another pool; honest thread counts (a caller
 * counts as one of the pool's threads: the workers it displaces run nothing while it
 * is inside); a displaced worker's turn coming back when the caller leaves; a caller
 * never taking other threads' queued tasks; the callers beyond
 * WEFT_POOL_CALLER_SLOTS running on a worker; and a caller asleep in a wait lending
 * its turn, so queued tasks it waits for run when callers hold every turn.
 *
 * The "runs nothing" checks read the workers' jobs_run counters. To make them exact
 * (not a race with a worker still searching when the caller arrives), each such test
 * first waits until every worker of its fresh pool has gone to sleep: nothing is
 * queued, so nothing wakes them but the work the callers publish. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "workloads.h"
#include "pool_testlib.h"

#define SECOND_NS 1000000000ull

static uint64_t jobs_run_of(weft_pool *p, unsigned worker)
{
    weft_worker_stats s;
    cr_assert_eq(weft_pool_stats(p, worker, &s), 0);
    return s.jobs_run;
}

/* ------------------------------------------------------------------------------
 * Where fn runs, and the index it sees */

typedef struct where {
    int index;
    pthread_t thread;
    int pool_threads; /* weft_pool_num_threads(NULL) inside: the pool fn runs in */
} where;

static void record_where(void *p)
{
    where *w = p;
    w->index = weft_current_worker_index();
    w->thread = pthread_self();
    w->pool_threads = weft_pool_num_threads(NULL);
}

static void noop(void *p) { (void)p; }

Test(caller, execute_rejects_a_null_fn)
{
    weft_pool *p = make_pool(1);
    cr_assert_eq(weft_pool_execute(p, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_pool_execute(NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_pool_execute(p, noop, NULL), 0, "the pool is still usable");
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* From outside every pool, fn runs inline on the calling thread, in a caller slot:
 * index num_threads + slot, and -1 again once the call returns. */
Test(caller, from_outside_fn_runs_on_the_calling_thread_in_a_slot)
{
    weft_pool *p = make_pool(3);
    weft_pool *pools[] = {p, NULL}; /* NULL: the global pool */
    for (int k = 0; k < 2; k++) {
        int n = weft_pool_num_threads(pools[k]);
        where w = {-7, 0, 0};
        cr_assert_eq(weft_current_worker_index(), -1);
        cr_assert_eq(weft_pool_execute(pools[k], record_where, &w), 0);
        cr_assert(pthread_equal(w.thread, pthread_self()), "fn ran on another thread");
        cr_assert(w.index >= n && w.index < n + WEFT_POOL_CALLER_SLOTS, "index %d, pool of %d", w.index, n);
        cr_assert_eq(w.pool_threads, n, "parallel calls inside use the pool given");
        cr_assert_eq(weft_current_worker_index(), -1, "the slot is given back");
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

typedef struct nested_where {
    weft_pool *target; /* the pool the worker calls weft_pool_execute on */
    where outer, inner, inner_null;
    int rc, rc_null;
} nested_where;

static void execute_from_a_worker(void *p)
{
    nested_where *nw = p;
    record_where(&nw->outer);
    nw->rc = weft_pool_execute(nw->target, record_where, &nw->inner);
    nw->rc_null = weft_pool_execute(NULL, record_where, &nw->inner_null); /* NULL: its own pool */
}

/* From a worker of the same pool, fn runs inline: same thread, the worker's index. */
Test(caller, from_a_worker_of_the_same_pool_fn_runs_inline)
{
    weft_pool *p = make_pool(2);
    nested_where nw = {.target = p, .rc = -7, .rc_null = -7};
    cr_assert_eq(weft_pool_run(p, execute_from_a_worker, &nw), 0);
    cr_assert_eq(nw.rc, 0);
    cr_assert_eq(nw.rc_null, 0);
    cr_assert(nw.outer.index >= 0 && nw.outer.index < 2, "pool_run ran on worker %d", nw.outer.index);
    cr_assert_eq(nw.inner.index, nw.outer.index, "a worker's own execute took index %d", nw.inner.index);
    cr_assert(pthread_equal(nw.inner.thread, nw.outer.thread), "fn left the worker's thread");
    cr_assert_eq(nw.inner_null.index, nw.outer.index);
    cr_assert(pthread_equal(nw.inner_null.thread, nw.outer.thread));
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* From a worker of another pool, fn runs on a worker of the target pool (a worker is
 * never a caller in a second pool). */
Test(caller, from_a_worker_of_another_pool_fn_runs_on_a_worker_of_the_target)
{
    weft_pool *a = make_pool(1), *b = make_pool(3);
    nested_where nw = {.target = b, .rc = -7, .rc_null = -7};
    cr_assert_eq(weft_pool_run(a, execute_from_a_worker, &nw), 0);
    cr_assert_eq(nw.rc, 0);
    cr_assert_eq(nw.outer.index, 0);
    cr_assert(nw.inner.index >= 0 && nw.inner.index < 3, "index %d: not a worker of the target", nw.inner.index);
    cr_assert_eq(nw.inner.pool_threads, 3, "fn ran in the pool of %d threads", nw.inner.pool_threads);
    cr_assert(!pthread_equal(nw.inner.thread, nw.outer.thread), "fn ran on the other pool's worker");
    cr_assert_eq(weft_pool_destroy(a), 0);
    cr_assert_eq(weft_pool_destroy(b), 0);
}

/* ------------------------------------------------------------------------------
 * Honest thread counts: a caller is one of the pool's threads */

/* Joins whose leaves sleep: while a leaf sleeps, its sibling sits on the caller's
 * deque, where any worker allowed to take work would steal it. */
typedef struct nap_tree {
    int depth;
    _Atomic int *leaves;
} nap_tree;

static void nap_tree_run(void *p)
{
    nap_tree *t = p;
    if (t->depth == 0) {
        weft_thread_sleep(200000);
        atomic_fetch_add(t->leaves, 1);
        return;
    }
    nap_tree a = {t->depth - 1, t->leaves}, b = a;
    weft_join(nap_tree_run, &a, nap_tree_run, &b);
}

enum { COUNTED_N = 1 << 16, COUNTED_GRAIN = 256, FIB_N = 22, NAP_DEPTH = 5 };

typedef struct counted {
    weft_pool *pool;
    _Atomic unsigned char *count; /* COUNTED_N entries */
    fib_arg fib;
    _Atomic int leaves;
    int rc;
    uint64_t jobs_before, jobs_inside; /* worker 0's jobs_run before the call, and at its end */
} counted;

static int count_body(void *ctx, size_t b, size_t e)
{
    _Atomic unsigned char *count = ctx;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&count[i], 1, memory_order_relaxed);
    return 0;
}

/* A loop cut into COUNTED_N / COUNTED_GRAIN chunks by joins, a fib by joins and a tree
 * of naps: plenty of work on the caller's deque, and time, for a worker that was not
 * benched to steal. */
static int split_loop(size_t lo, size_t hi, _Atomic unsigned char *count);

typedef struct loop_half {
    size_t lo, hi;
    _Atomic unsigned char *count;
} loop_half;

static void loop_half_run(void *p)
{
    loop_half *h = p;
    split_loop(h->lo, h->hi, h->count);
}

static int split_loop(size_t lo, size_t hi, _Atomic unsigned char *count)
{
    if (hi - lo <= COUNTED_GRAIN)
        return count_body(count, lo, hi);
    size_t mid = lo + (hi - lo) / 2;
    loop_half a = {lo, mid, count}, b = {mid, hi, count};
    return weft_join(loop_half_run, &a, loop_half_run, &b);
}

static void counted_work(void *p)
{
    counted *c = p;
    c->rc = split_loop(0, COUNTED_N, c->count);
    fib_join(&c->fib);
    nap_tree t = {NAP_DEPTH, &c->leaves};
    nap_tree_run(&t);
    c->jobs_inside = jobs_run_of(c->pool, 0);
}

/* WEFT_NUM_THREADS=1 means one thread works: while a caller is inside a 1-thread pool,
 * the worker is benched and runs none of the caller's join halves; the caller does it
 * all, and gets it right. */
Test(caller, one_thread_pool_the_caller_does_all_the_work)
{
    weft_pool *p = make_pool(1);
    wait_until_all_asleep(p);
    _Atomic unsigned char *count = calloc(COUNTED_N, 1);
    cr_assert_not_null(count);
    for (int round = 0; round < 3; round++) {
        counted c = {p, count, {FIB_N, 0}, 0, -7, jobs_run_of(p, 0), 0};
        cr_assert_eq(weft_pool_execute(p, counted_work, &c), 0);
        cr_assert_eq(c.rc, 0);
        cr_assert_eq(c.fib.r, fib_serial(FIB_N));
        cr_assert_eq(atomic_load(&c.leaves), 1 << NAP_DEPTH);
        for (size_t i = 0; i < COUNTED_N; i++)
            cr_assert_eq(count[i], round + 1, "index %zu visited %d times in %d loops", i, (int)count[i], round + 1);
        cr_assert_eq(c.jobs_inside, c.jobs_before, "round %d: the benched worker ran %llu jobs", round,
                     (unsigned long long)(c.jobs_inside - c.jobs_before));
        cr_assert_eq(jobs_run_of(p, 0), c.jobs_before, "nothing was left for the worker after the call");
    }
    free((void *)count);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

typedef struct two_callers {
    weft_pool *pool;
    _Atomic int inside, measured; /* spun on, not parked on: see below */
    _Atomic int leaves;
    uint64_t jobs_inside[2]; /* workers 0 and 1, read while both callers are inside */
    int index[2];
} two_callers;

typedef struct caller_arg {
    two_callers *tc;
    int id;
} caller_arg;

static void spin_until(_Atomic int *v, int want)
{
    while (atomic_load(v) < want)
        sched_yield();
}

/* Neither caller parks in a weft primitive while both are inside (a parked caller
 * lends its turn, and a worker may then run): they meet by spinning, caller 0 forks
 * the work, and caller 1, which takes none of it, spins until it is done. So no
 * caller ever waits for a half another thread took, and the workers, both benched,
 * must run nothing. */
static void two_callers_work(void *p)
{
    caller_arg *ca = p;
    two_callers *tc = ca->tc;
    tc->index[ca->id] = weft_current_worker_index();
    atomic_fetch_add(&tc->inside, 1);
    spin_until(&tc->inside, 2); /* from here on both callers are in: both workers benched */
    if (ca->id == 0) {
        nap_tree t = {NAP_DEPTH, &tc->leaves};
        nap_tree_run(&t);
        /* Both still inside until `measured`: the counts read here cover the whole
         * time both callers were in. */
        for (unsigned k = 0; k < 2; k++)
            tc->jobs_inside[k] = jobs_run_of(tc->pool, k);
        atomic_store(&tc->measured, 1);
    } else {
        spin_until(&tc->measured, 1);
    }
}

static void *two_callers_thread(void *p)
{
    caller_arg *ca = p;
    return (void *)(intptr_t)weft_pool_execute(ca->tc->pool, two_callers_work, ca);
}

/* Two callers inside a 2-thread pool at once take both workers' turns: neither worker
 * runs anything while both callers are inside and neither is parked. */
Test(caller, two_callers_in_a_two_thread_pool_bench_both_workers)
{
    two_callers tc = {.pool = make_pool(2)};
    wait_until_all_asleep(tc.pool);
    uint64_t before[2] = {jobs_run_of(tc.pool, 0), jobs_run_of(tc.pool, 1)};
    caller_arg args[2] = {{&tc, 0}, {&tc, 1}};
    weft_thread *t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(weft_thread_spawn(NULL, two_callers_thread, &args[i], &t[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *rc = (void *)1;
        cr_assert_eq(weft_thread_join(t[i], &rc), 0);
        cr_assert_eq((intptr_t)rc, 0);
    }
    cr_assert_eq(atomic_load(&tc.leaves), 1 << NAP_DEPTH, "every leaf ran once");
    for (int i = 0; i < 2; i++)
        cr_assert(tc.index[i] >= 2 && tc.index[i] < 2 + WEFT_POOL_CALLER_SLOTS, "caller %d: index %d", i,
                  tc.index[i]);
    cr_assert_neq(tc.index[0], tc.index[1], "two callers in one slot");
    for (unsigned k = 0; k < 2; k++)
        cr_assert_eq(tc.jobs_inside[k], before[k], "worker %u ran %llu jobs while two callers were inside", k,
                     (unsigned long long)(tc.jobs_inside[k] - before[k]));
    cr_assert_eq(weft_pool_destroy(tc.pool), 0);
}

/* ------------------------------------------------------------------------------
 * A benched worker gets its turn back */

typedef struct turn_back {
    weft_pool *pool;
    weft_thread *spawner;
    _Atomic int task_ran, spawned;
    int spawn_rc, ran_while_inside;
    _Atomic unsigned char *count;
    int loop_rc;
} turn_back;

static void *note_task_ran(void *p)
{
    atomic_store(&((turn_back *)p)->task_ran, 1);
    return NULL;
}

static void *spawn_detached(void *p)
{
    turn_back *tb = p;
    tb->spawn_rc = weft_spawn(tb->pool, note_task_ran, tb, NULL);
    atomic_store(&tb->spawned, 1);
    return NULL;
}

static void work_while_a_task_is_queued(void *p)
{
    turn_back *tb = p;
    /* Another thread queues a detached task on the pool while we are inside. We wait
     * for it without parking in a weft primitive (a parked caller lends its turn,
     * and the worker would run the task then, as it should). */
    cr_assert_eq(weft_thread_spawn(NULL, spawn_detached, tb, &tb->spawner), 0);
    while (!atomic_load(&tb->spawned))
        sched_yield();
    /* Work with joins, then nap: the time a worker that was not benched (or a caller
     * that took injected work) would have used to run the task. */
    tb->loop_rc = split_loop(0, COUNTED_N, tb->count);
    weft_thread_sleep(20000000);
    tb->ran_while_inside = atomic_load(&tb->task_ran);
}

/* On a 1-thread pool, a task queued while a caller is inside waits: the worker is
 * benched and a caller takes no queued task (it may block on what the caller does
 * after its call). Once the caller leaves, the worker has its turn back and runs it. */
Test(caller, a_benched_worker_runs_queued_tasks_once_the_caller_leaves)
{
    _Atomic unsigned char *count = calloc(COUNTED_N, 1);
    cr_assert_not_null(count);
    turn_back tb = {.pool = make_pool(1), .spawn_rc = -7, .ran_while_inside = -7, .count = count, .loop_rc = -7};
    wait_until_all_asleep(tb.pool);
    cr_assert_eq(weft_pool_execute(tb.pool, work_while_a_task_is_queued, &tb), 0);
    cr_assert_eq(weft_thread_join(tb.spawner, NULL), 0);
    cr_assert_eq(tb.spawn_rc, 0);
    cr_assert_eq(tb.loop_rc, 0);
    cr_assert_eq(tb.ran_while_inside, 0, "the task ran while the caller held the pool's only turn");
    cr_assert_eq(weft_pool_wait_idle_timeout(tb.pool, 10 * SECOND_NS), 0,
                 "the worker never got its turn back for the queued task");
    cr_assert_eq(atomic_load(&tb.task_ran), 1);
    for (size_t i = 0; i < COUNTED_N; i++)
        cr_assert_eq(count[i], 1);
    free((void *)count);
    cr_assert_eq(weft_pool_destroy(tb.pool), 0);
}

/* A worker benched while awake gets its turn back, whenever the caller leaves.
 * The race this catches: a worker that finds itself benched picks the benched sleep
 * (pool.c idle_mode); if the last caller leaves before the worker stores its sleep
 * state, weft__sleep_unbench finds it AWAKE and leaves it to re-read `callers`; it
 * must then search again, not sleep BENCHED (uncounted: work queued later would wake
 * nobody, and on a 1-thread pool a task spawned from outside never ran). It failed
 * in most runs before sleep.c's turn_back check. */
enum { TURN_ROUNDS = 50000 };

typedef struct awake_bench {
    weft_pool *pool;
    _Atomic long task_running, caller_inside, task_done, caller_left;
    _Atomic int stuck; /* a wait gave up: the other side never came */
} awake_bench;

/* Wait until *v == want: spin a little (both sides run at once on 2 cores), then
 * yield (they share one); a 10 s liveness guard sets `stuck`. */
static bool await_round(awake_bench *ab, _Atomic long *v, long want)
{
    uint64_t deadline = 0;
    for (unsigned i = 0; atomic_load(v) != want; i++) {
        if (i < 2000)
            continue;
        if (deadline == 0)
            deadline = weft_deadline_after(10 * SECOND_NS);
        if (atomic_load(&ab->stuck) || weft_deadline_passed(deadline)) {
            atomic_store(&ab->stuck, 1);
            return false;
        }
        weft_thread_yield();
    }
    return true;
}

typedef struct awake_round {
    awake_bench *ab;
    long round;
} awake_round;

static void *task_until_caller_inside(void *p)
{
    awake_bench *ab = p;
    long r = atomic_load(&ab->caller_left) + 1; /* the round this task belongs to */
    atomic_store(&ab->task_running, r);
    await_round(ab, &ab->caller_inside, r);
    atomic_store(&ab->task_done, r);
    return NULL;
}

static void inside_until_task_done(void *p)
{
    awake_round *ar = p;
    atomic_store(&ar->ab->caller_inside, ar->round);
    await_round(ar->ab, &ar->ab->task_done, ar->round);
    for (volatile long i = 0; i < (ar->round % 64) * 8; i++) {
    }
}

static void *enter_each_round(void *p)
{
    awake_bench *ab = p;
    for (long r = 0; r < TURN_ROUNDS; r++) {
        if (!await_round(ab, &ab->task_running, r))
            break;
        awake_round ar = {ab, r};
        weft_pool_execute(ab->pool, inside_until_task_done, &ar);
        atomic_store(&ab->caller_left, r);
    }
    return NULL;
}

static void *noop_task(void *p) { return p; }

Test(caller, a_worker_benched_while_awake_gets_its_turn_back)
{
    awake_bench ab = {.pool = make_pool(1)};
    atomic_init(&ab.task_running, -1);
    atomic_init(&ab.caller_inside, -1);
    atomic_init(&ab.task_done, -1);
    atomic_init(&ab.caller_left, -1);
    weft_thread *caller;
    cr_assert_eq(weft_thread_spawn(NULL, enter_each_round, &ab, &caller), 0);
    for (long r = 0; r < TURN_ROUNDS; r++) {
        cr_assert_eq(weft_spawn(ab.pool, task_until_caller_inside, &ab, NULL), 0);
        cr_assert(await_round(&ab, &ab.caller_left, r), "round %ld: the caller or the task never came", r);
        weft_task *t; /* no caller is inside now: the worker's turn is back */
        cr_assert_eq(weft_spawn(ab.pool, noop_task, NULL, &t), 0);
        cr_assert_eq(weft_task_join_timeout(t, 10 * SECOND_NS, NULL), 0,
                     "round %ld: the worker slept through a task queued after the caller left", r);
    }
    cr_assert_eq(weft_thread_join(caller, NULL), 0);
    cr_assert_eq(weft_pool_destroy(ab.pool), 0);
}

/* A caller takes no queued task, even while it waits with nothing of its own to run:
 * the queue holds other threads' tasks, which may block on what the caller does after
 * its call returns. On a 2-thread pool with one caller, worker 0 keeps its turn: it
 * steals the caller's join halves (so the caller waits, idle) and runs the tasks that
 * another thread queues meanwhile; none of them may run on the caller's thread. */
enum { QUEUED_TASKS = 64 };

typedef struct queued {
    weft_pool *pool;
    pthread_t caller;
    _Atomic int ran, on_caller, spawn_failed;
    _Atomic int leaves;
} queued;

static void *queued_task(void *p)
{
    queued *q = p;
    if (pthread_equal(pthread_self(), q->caller))
        atomic_fetch_add(&q->on_caller, 1);
    atomic_fetch_add(&q->ran, 1);
    return NULL;
}

static void *queue_tasks(void *p)
{
    queued *q = p;
    for (int i = 0; i < QUEUED_TASKS; i++) {
        if (weft_spawn(q->pool, queued_task, q, NULL) != 0)
            atomic_fetch_add(&q->spawn_failed, 1);
        weft_thread_sleep(100000); /* spread over the caller's work */
    }
    return NULL;
}

static void work_while_tasks_arrive(void *p)
{
    queued *q = p;
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, queue_tasks, q, &t), 0);
    for (int round = 0; round < 4; round++) {
        nap_tree tree = {NAP_DEPTH, &q->leaves};
        nap_tree_run(&tree);
    }
    cr_assert_eq(weft_thread_join(t, NULL), 0);
}

Test(caller, a_caller_never_runs_queued_tasks)
{
    queued q = {.pool = make_pool(2), .caller = pthread_self()};
    cr_assert_eq(weft_pool_execute(q.pool, work_while_tasks_arrive, &q), 0);
    cr_assert_eq(weft_pool_wait_idle_timeout(q.pool, 10 * SECOND_NS), 0);
    cr_assert_eq(atomic_load(&q.spawn_failed), 0);
    cr_assert_eq(atomic_load(&q.ran), QUEUED_TASKS);
    cr_assert_eq(atomic_load(&q.leaves), 4 << NAP_DEPTH);
    cr_assert_eq(atomic_load(&q.on_caller), 0, "%d queued tasks ran on the caller", atomic_load(&q.on_caller));
    cr_assert_eq(weft_pool_destroy(q.pool), 0);
}

/* ------------------------------------------------------------------------------
 * More callers than caller slots */

enum { NINE = WEFT_POOL_CALLER_SLOTS + 1 };

typedef struct crowd {
    weft_pool *pool;
    weft_latch all_in;
} crowd;

typedef struct crowd_member {
    crowd *c;
    pthread_t thread;
    where w;
    int rc, index_after;
} crowd_member;

static void hold_until_all_in(void *p)
{
    crowd_member *m = p;
    record_where(&m->w);
    weft_latch_count_down(&m->c->all_in, 1);
    weft_latch_wait(&m->c->all_in);
}

static void *crowd_thread(void *p)
{
    crowd_member *m = p;
    m->thread = pthread_self();
    m->rc = weft_pool_execute(m->c->pool, hold_until_all_in, m);
    m->index_after = weft_current_worker_index();
    return NULL;
}

/* WEFT_POOL_CALLER_SLOTS + 1 threads inside weft_pool_execute at once: each of the
 * first ones works in its own slot (on its own thread), the one beyond runs fn on a
 * worker, and all complete. The pool has NINE workers so that one is still free while
 * the slots are all taken (with k callers inside, only workers below num_threads - k
 * take work), and every fn can wait for all the others. */
Test(caller, the_caller_beyond_the_slots_runs_on_a_worker)
{
    crowd c = {make_pool(NINE), WEFT_LATCH_INIT(NINE)};
    crowd_member m[NINE];
    weft_thread *t[NINE];
    for (int i = 0; i < NINE; i++) {
        m[i] = (crowd_member){.c = &c, .rc = -7, .index_after = -7, .w = {-7, 0, 0}};
        cr_assert_eq(weft_thread_spawn(NULL, crowd_thread, &m[i], &t[i]), 0);
    }
    for (int i = 0; i < NINE; i++)
        cr_assert_eq(weft_thread_join(t[i], NULL), 0);
    int slots = 0, on_workers = 0;
    bool slot_seen[WEFT_POOL_CALLER_SLOTS] = {false};
    for (int i = 0; i < NINE; i++) {
        cr_assert_eq(m[i].rc, 0);
        cr_assert_eq(m[i].index_after, -1);
        int idx = m[i].w.index;
        if (idx >= NINE) {
            cr_assert_lt(idx, NINE + WEFT_POOL_CALLER_SLOTS, "index %d", idx);
            cr_assert(!slot_seen[idx - NINE], "two callers in slot %d", idx - NINE);
            slot_seen[idx - NINE] = true;
            cr_assert(pthread_equal(m[i].w.thread, m[i].thread), "a slot's fn ran off its caller's thread");
            slots++;
        } else {
            cr_assert_geq(idx, 0, "index %d", idx);
            cr_assert(!pthread_equal(m[i].w.thread, m[i].thread), "the extra caller's fn ran on the caller");
            on_workers++;
        }
    }
    cr_assert_eq(slots, WEFT_POOL_CALLER_SLOTS);
    cr_assert_eq(on_workers, 1);
    cr_assert_eq(weft_pool_destroy(c.pool), 0);
}

typedef struct fib_member {
    weft_pool *pool;
    weft_barrier *start;
    fib_arg fib;
    int index, rc, index_after;
} fib_member;

static void fib_in_pool(void *p)
{
    fib_member *m = p;
    m->index = weft_current_worker_index();
    fib_join(&m->fib);
}

static void *fib_member_thread(void *p)
{
    fib_member *m = p;
    weft_barrier_wait(m->start);
    m->rc = weft_pool_execute(m->pool, fib_in_pool, m);
    m->index_after = weft_current_worker_index();
    return NULL;
}

/* More callers than slots into a 1-thread pool, all at once: those beyond the slots
 * wait for the worker, whose turn comes back when the callers leave; every call
 * completes with the right result. (The timeout turns a worker that never gets its
 * turn back, see a_worker_benched_while_awake_gets_its_turn_back, into a failure.) */
Test(caller, more_callers_than_slots_into_a_one_thread_pool_all_complete, .timeout = 60)
{
    enum { CALLERS = WEFT_POOL_CALLER_SLOTS + 4, ROUNDS = 5 };
    weft_pool *p = make_pool(1);
    for (int round = 0; round < ROUNDS; round++) {
        weft_barrier start = WEFT_BARRIER_INIT(CALLERS);
        fib_member m[CALLERS];
        weft_thread *t[CALLERS];
        for (int i = 0; i < CALLERS; i++) {
            m[i] = (fib_member){p, &start, {16, 0}, -7, -7, -7};
            cr_assert_eq(weft_thread_spawn(NULL, fib_member_thread, &m[i], &t[i]), 0);
        }
        for (int i = 0; i < CALLERS; i++)
            cr_assert_eq(weft_thread_join(t[i], NULL), 0);
        for (int i = 0; i < CALLERS; i++) {
            cr_assert_eq(m[i].rc, 0);
            cr_assert_eq(m[i].fib.r, fib_serial(16));
            cr_assert(m[i].index >= 0 && m[i].index < 1 + WEFT_POOL_CALLER_SLOTS, "index %d", m[i].index);
            cr_assert_eq(m[i].index_after, -1);
        }
    }
    cr_assert_eq(weft_pool_destroy(p), 0);
}

/* ------------------------------------------------------------------------------
 * A caller that waits lends its turn */

typedef struct lent {
    weft_pool *pool;
    weft_barrier *all_in; /* every caller inside before any spawns */
    weft_scope scope;
    _Atomic int ran;
    int spawn_rc, wait_rc, exec_rc;
} lent;

static int lent_task(weft_scope *s, void *p)
{
    (void)s;
    atomic_fetch_add(&((lent *)p)->ran, 1);
    return 0;
}

static void *spawn_into_scope(void *p)
{
    lent *l = p;
    l->spawn_rc = weft_scope_spawn(&l->scope, lent_task, l);
    return NULL;
}

static void wait_for_outside_task(void *p)
{
    lent *l = p;
    cr_assert_eq(weft_scope_init(&l->scope, l->pool), 0);
    cr_assert_geq(weft_barrier_wait_timeout(l->all_in, 10 * SECOND_NS), 0);
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, spawn_into_scope, l, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    /* Timed: a wait that is never served fails the test instead of hanging it. */
    l->wait_rc = weft_scope_wait_timeout(&l->scope, 10 * SECOND_NS);
}

static void *execute_waiting_caller(void *p)
{
    lent *l = p;
    l->exec_rc = weft_pool_execute(l->pool, wait_for_outside_task, l);
    return NULL;
}

/* As many callers as workers hold every turn, and each waits for a scope task that
 * an outside thread spawned (so it is queued for the workers, not in a caller's
 * slot). A caller does not run queued tasks, and while it runs its worker steps
 * aside; but a caller that waits runs nothing: it lends its turn to a worker until
 * it wakes. Without that, the waits never ended (every worker benched, every
 * caller asleep). */
Test(caller, a_waiting_caller_lends_its_turn_to_a_benched_worker, .timeout = 60)
{
    enum { MAX_THREADS = 2 };
    for (unsigned threads = 1; threads <= MAX_THREADS; threads++) {
        weft_pool *pool = make_pool(threads);
        wait_until_all_asleep(pool);
        weft_barrier all_in;
        cr_assert_eq(weft_barrier_init(&all_in, threads), 0);
        lent l[MAX_THREADS];
        weft_thread *t[MAX_THREADS];
        for (unsigned i = 0; i < threads; i++) {
            l[i] = (lent){.pool = pool, .all_in = &all_in, .spawn_rc = -7, .wait_rc = -7, .exec_rc = -7};
            cr_assert_eq(weft_thread_spawn(NULL, execute_waiting_caller, &l[i], &t[i]), 0);
        }
        for (unsigned i = 0; i < threads; i++) {
            cr_assert_eq(weft_thread_join(t[i], NULL), 0);
            cr_assert_eq(l[i].exec_rc, 0);
            cr_assert_eq(l[i].spawn_rc, 0);
            cr_assert_eq(l[i].wait_rc, 0, "%u threads: caller %u's wait was never served (rc %d)", threads, i,
                         l[i].wait_rc);
            cr_assert_eq(atomic_load(&l[i].ran), 1);
        }
        cr_assert_eq(weft_barrier_destroy(&all_in), 0);
        cr_assert_eq(weft_pool_destroy(pool), 0);
    }
}

typedef struct blocked_half {
    weft_latch handoff;
    int wait_rc;
} blocked_half;

static void first_half_blocks(void *p)
{
    blocked_half *b = p;
    b->wait_rc = weft_latch_wait_timeout(&b->handoff, 10 * SECOND_NS);
}

static void second_half_releases(void *p) { weft_latch_count_down(&((blocked_half *)p)->handoff, 1); }

static void join_blocking_on_its_other_half(void *p)
{
    cr_assert_eq(weft_join(first_half_blocks, p, second_half_releases, p), 0);
}

/* A caller blocked in a weft primitive (a latch here; a lock or a channel the same)
 * runs nothing either: it lends its turn while parked. Here the first half of its
 * join waits for the second, which only a worker can run, and the caller holds the
 * one-thread pool's only turn. Before lending at the block hook, the wait never
 * ended. */
Test(caller, a_caller_blocked_in_a_primitive_lends_its_turn, .timeout = 60)
{
    weft_pool *pool = make_pool(1);
    wait_until_all_asleep(pool);
    blocked_half b = {.wait_rc = -7};
    cr_assert_eq(weft_latch_init(&b.handoff, 1), 0);
    cr_assert_eq(weft_pool_execute(pool, join_blocking_on_its_other_half, &b), 0);
    cr_assert_eq(b.wait_rc, 0, "the blocked caller's other half never ran (rc %d)", b.wait_rc);
    cr_assert_eq(weft_pool_destroy(pool), 0);
}

typedef struct placed_halves {
    _Atomic int second_started;
    int second_cpu, first_waited;
} placed_halves;

static void first_half_waits_for_a_thief(void *p)
{
    placed_halves *h = p;
    uint64_t deadline = weft_deadline_after(10 * SECOND_NS);
    while (!atomic_load(&h->second_started) && !weft_deadline_passed(deadline))
        sched_yield();
    h->first_waited = atomic_load(&h->second_started);
}

static void second_half_records_its_cpu(void *p)
{
    placed_halves *h = p;
    h->second_cpu = sched_getcpu();
    atomic_store(&h->second_started, 1);
}

static void join_waiting_for_a_thief(void *p)
{
    cr_assert_eq(weft_join(first_half_waits_for_a_thief, p, second_half_records_its_cpu, p), 0);
}

static void pin_self(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
}

/* The worker a caller leaves running is not the one on the caller's CPU: that one is
 * benched. Before, the last worker was always the benched one, so a caller on worker
 * 0's CPU woke worker 0 onto its own CPU, where it waited for the caller's time slice
 * while the other CPU idled (a loop's second half ran after its first, on one CPU).
 * Round 1 pins the caller to the first allowed CPU; round 2 to the CPU the thief of
 * round 1 is pinned to, so that a worker surely shares the caller's CPU. */
Test(caller, the_worker_on_the_callers_cpu_is_the_one_benched, .timeout = 60)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    if (CPU_COUNT(&allowed) < 2)
        cr_skip_test("needs 2 CPUs");
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_PU;
    weft_pool *pool = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
    wait_until_all_asleep(pool);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &allowed))
        cpu++;
    for (int round = 1; round <= 2; round++) {
        pin_self(cpu);
        placed_halves h = {.second_cpu = -1};
        cr_assert_eq(weft_pool_execute(pool, join_waiting_for_a_thief, &h), 0);
        cr_assert(h.first_waited, "round %d: no worker took the second half", round);
        cr_assert_neq(h.second_cpu, cpu, "round %d: the worker on the caller's CPU %d ran the second half", round,
                      cpu);
        cpu = h.second_cpu;
    }
    cr_assert_eq(sched_setaffinity(0, sizeof allowed, &allowed), 0);
    cr_assert_eq(weft_pool_destroy(pool), 0);
}

typedef struct two_sided {
    _Atomic int caller_leaves, worker_leaves;
} two_sided;

typedef struct side_range {
    two_sided *t;
    size_t lo, hi;
} side_range;

/* A loop of leaves of 1024 indices by recursive joins; each leaf counts whether a
 * worker or the caller ran it. */
static void side_leaves(void *p)
{
    side_range *r = p;
    if (r->hi - r->lo <= 1024) {
        volatile double x = 0;
        for (size_t i = r->lo; i < r->hi; i++)
            x += (double)i;
        atomic_fetch_add(weft_current_worker_index() >= 2 ? &r->t->caller_leaves : &r->t->worker_leaves, 1);
        return;
    }
    size_t mid = r->lo + (r->hi - r->lo) / 2;
    side_range a = {r->t, r->lo, mid}, b = {r->t, mid, r->hi};
    cr_assert_eq(weft_join(side_leaves, &a, side_leaves, &b), 0);
}

static void loop_of_both_sides(void *p)
{
    side_range r = {p, 0, 1u << 16};
    side_leaves(&r);
}

/* The real-time caller of the tests below: this thread under SCHED_FIFO, *allowed its
 * CPUs (two or more); skips the test without them or without the right to use
 * SCHED_FIFO. */
static void become_fifo_on_two_cpus(cpu_set_t *allowed)
{
    cr_assert_eq(sched_getaffinity(0, sizeof *allowed, allowed), 0);
    if (CPU_COUNT(allowed) < 2)
        cr_skip_test("needs 2 CPUs");
    struct sched_param fifo = {.sched_priority = 1};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) != 0)
        cr_skip_test("SCHED_FIFO not permitted");
}

/* A worker benched while it searched, on the caller's own CPU, cannot run to leave its
 * search while the caller works there (here: a loop run by the workers has just
 * ended, and the caller works serially for a while, then calls). Its count stood, so every publisher saw
 * "someone searches" and woke nobody: under a real-time policy (where the caller
 * never yields its CPU) the other, sleeping worker never took part, and every loop
 * ran on the caller alone. The caller that benches a worker ends its search for it.
 * Skipped without the right to use SCHED_FIFO. */
Test(caller, a_worker_benched_while_searching_does_not_keep_others_asleep, .timeout = 60)
{
    cpu_set_t allowed;
    become_fifo_on_two_cpus(&allowed);
    struct sched_param other = {.sched_priority = 0};
    int cpu = 0;
    while (!CPU_ISSET(cpu, &allowed))
        cpu++;
    pin_self(cpu);
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT; /* its workers inherit SCHED_FIFO */
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_PU;
    weft_pool *pool = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
    wait_until_all_asleep(pool); /* placed: each pinned worker's CPU is known */
    two_sided t = {0};
    /* Run a loop on the workers: when it returns they are searching, the one on our
     * CPU too, and our first call benches that one while its search is counted. */
    cr_assert_eq(weft_pool_run(pool, loop_of_both_sides, &t), 0);
    /* Serial work, never yielding the CPU: the other worker's search ends and it
     * sleeps; the one on our CPU cannot run to end its own. */
    uint64_t until = weft_time_now_ns() + 20000000;
    while (weft_time_now_ns() < until)
        ;
    int shared = 0;
    for (int call = 0; call < 300; call++) {
        int before = atomic_load(&t.worker_leaves);
        cr_assert_eq(weft_pool_execute(pool, loop_of_both_sides, &t), 0);
        shared += atomic_load(&t.worker_leaves) > before;
    }
    cr_assert_eq(pthread_setschedparam(pthread_self(), SCHED_OTHER, &other), 0);
    cr_assert_eq(sched_setaffinity(0, sizeof allowed, &allowed), 0);
    cr_assert_eq(weft_pool_destroy(pool), 0);
    cr_assert_gt(shared, 0, "no worker took part in any of 300 join trees of 2^16 indices");
}

/* A pinned worker binds itself to its place while the caller, under a real-time
 * policy, already works on that place's CPU: the bind moves the worker there, and it
 * never runs again while the caller does. It noted its CPU only after the bind, so
 * the note was never made: the caller, finding no worker named for its CPU, benched
 * the other one, and ran every call alone. Here the caller calls at once after the
 * pool's creation, without waiting for the workers to place themselves, and some
 * call within a few seconds must have a worker take part. Skipped without the right
 * to use SCHED_FIFO. */
Test(caller, a_worker_pinned_onto_a_busy_caller_cpu_is_the_one_benched, .timeout = 60)
{
    cpu_set_t allowed;
    become_fifo_on_two_cpus(&allowed);
    struct sched_param other = {.sched_priority = 0};
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT; /* its workers inherit SCHED_FIFO */
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_PU;
    weft_pool *pool = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
    /* Onto worker 0's place, the first allowed PU, after the creation (the workers
     * start free to run anywhere, as they inherit this thread's mask), and at once:
     * the workers are still loading the topology, which takes milliseconds. */
    int cpu = 0;
    while (!CPU_ISSET(cpu, &allowed))
        cpu++;
    pin_self(cpu);
    two_sided t = {0};
    uint64_t until = weft_time_now_ns() + 5 * SECOND_NS;
    int calls = 0;
    while (atomic_load(&t.worker_leaves) == 0 && weft_time_now_ns() < until) {
        cr_assert_eq(weft_pool_execute(pool, loop_of_both_sides, &t), 0);
        calls++;
    }
    cr_assert_eq(pthread_setschedparam(pthread_self(), SCHED_OTHER, &other), 0);
    cr_assert_eq(sched_setaffinity(0, sizeof allowed, &allowed), 0);
    cr_assert_eq(weft_pool_destroy(pool), 0);
    cr_assert_gt(atomic_load(&t.worker_leaves), 0, "no worker took part in %d join trees over 5 s", calls);
}
