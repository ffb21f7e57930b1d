/* test_trace.c: Criterion suite `trace` — weft_trace_start/stop: the JSON of a traced
 * fib, par_for, scope and channel program parses, has one track per thread and
 * properly nested spans (trace_testlib.h); par_for's chunks cover its range exactly
 * once; a wrapped ring reports its dropped count; a pool destroyed mid-trace and
 * threads that exit mid-trace are written; the errors. Concurrency (8 outside
 * threads, start/stop racing with recorders) is stress_trace.c's, under TSan too. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weft/chan.h>
#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include <weft/trace.h>
#include "pool_testlib.h"
#include "trace_testlib.h"
#include "workloads.h"
#include "../../tools/trace/trace_critical.h"
#include "../../tools/trace/trace_summary.h"

static tr_trace *stop_and_read(const char *path)
{
    cr_assert_eq(weft_trace_stop(), 0);
    tr_trace *t = trace_read(path);
    cr_assert_not_null(t, "the trace at %s is invalid (see stderr)", path);
    unlink(path);
    return t;
}

/* ---------------------------------------------------------------- fib */

Test(trace, fib_on_four_workers)
{
    char path[256];
    trace_path(path, sizeof path, "fib");
    cr_assert_eq(weft_trace_start(path), 0);
    weft_pool *p = make_pool(4);
    fib_arg f = {24, 0};
    cr_assert_eq(weft_pool_run(p, fib_join, &f), 0);
    cr_assert_eq(f.r, 46368);
    cr_assert_eq(weft_pool_destroy(p), 0);
    tr_trace *t = stop_and_read(path);
    cr_assert_eq(trace_count(t, 'X', "pool create"), 1);
    cr_assert_eq(trace_count(t, 'X', "pool destroy"), 1);
    size_t jobs = 0, workers = 0;
    for (size_t i = 0; i < t->n; i++) {
        jobs += t->ev[i].ph == 'X' && strcmp(t->ev[i].cat, "job") == 0;
        workers += t->ev[i].ph == 'M' && strncmp(t->ev[i].thread_name, "weft-", 5) == 0;
    }
    cr_assert_gt(jobs, 0, "a job run by the scheduler (the root, at least)");
    cr_assert_gt(workers, 0);
    cr_assert_geq(trace_tid(t, "main"), 0);
    trace_free(t);
}

/* ---------------------------------------------------------------- par_for */

enum { N = 200000 };
static _Atomic uint8_t seen[N];

static int mark(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&seen[i], 1, memory_order_relaxed);
    return 0;
}

static void check_chunks_cover(const tr_trace *t, size_t lo, size_t hi)
{
    uint64_t sum = 0;
    size_t chunks = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *e = &t->ev[i];
        if (e->ph == 'X' && strcmp(e->name, "chunk") == 0) {
            cr_assert(e->has_range && e->begin < e->end && e->begin >= lo && e->end <= hi, "chunk [%llu, %llu)",
                      (unsigned long long)e->begin, (unsigned long long)e->end);
            sum += e->end - e->begin;
            chunks++;
        }
    }
    cr_assert_eq(sum, hi - lo, "chunks sum to %llu, the range is %zu", (unsigned long long)sum, hi - lo);
    cr_assert_gt(chunks, 0);
    /* And exactly once each (the body's own count agrees). */
    for (size_t i = lo; i < hi; i++)
        cr_assert_eq(atomic_load(&seen[i]), 1);
}

Test(trace, par_for_chunks_sum_to_the_range)
{
    for (int adaptive = 0; adaptive < 2; adaptive++) {
        memset(seen, 0, sizeof seen);
        char path[256];
        trace_path(path, sizeof path, adaptive ? "for-adaptive" : "for-grain");
        cr_assert_eq(weft_trace_start(path), 0);
        cr_assert_eq(weft_par_for(10, N, adaptive ? 0 : 1000, mark, NULL), 0);
        tr_trace *t = stop_and_read(path);
        check_chunks_cover(t, 10, N);
        cr_assert_eq(trace_count(t, 'X', "par_for"), 1);
        for (size_t i = 0; i < t->n; i++)
            if (strcmp(t->ev[i].name, "par_for") == 0)
                cr_assert(t->ev[i].begin == 10 && t->ev[i].end == N);
        trace_free(t);
    }
}

/* ---------------------------------------------------------------- scope */

static int scope_task(weft_scope *s, void *arg)
{
    (void)s;
    atomic_fetch_add_explicit((_Atomic int *)arg, 1, memory_order_relaxed);
    return 0;
}

/* n tasks in scope s on pool (NULL: the global pool), waited for. */
static void run_scope(weft_scope *s, weft_pool *pool, int n)
{
    _Atomic int ran = 0;
    cr_assert_eq(weft_scope_init(s, pool), 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(weft_scope_spawn(s, scope_task, (void *)&ran), 0);
    cr_assert_eq(weft_scope_wait(s), 0);
    cr_assert_eq(atomic_load(&ran), n);
}

Test(trace, scope_wait_is_a_span)
{
    char path[256];
    trace_path(path, sizeof path, "scope");
    cr_assert_eq(weft_trace_start(path), 0);
    weft_scope s;
    run_scope(&s, NULL, 100);
    tr_trace *t = stop_and_read(path);
    long main_tid = trace_tid(t, "main");
    size_t waits = 0;
    for (size_t i = 0; i < t->n; i++)
        waits += t->ev[i].ph == 'X' && t->ev[i].tid == main_tid && strcmp(t->ev[i].name, "scope wait") == 0;
    cr_assert_eq(waits, 1);
    trace_free(t);
}

/* ---------------------------------------------------------------- channel */

static void *consumer(void *arg)
{
    weft_receiver *rx = arg;
    long sum = 0, v;
    while (weft_chan_recv(rx, &v) == 0)
        sum += v;
    return (void *)sum;
}

Test(trace, channel_blocks_are_parks)
{
    char path[256];
    trace_path(path, sizeof path, "chan");
    cr_assert_eq(weft_trace_start(path), 0);
    weft_sender *tx;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_open(sizeof(long), 0, NULL, &tx, &rx), 0); /* rendezvous: both sides block */
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.name = "consumer";
    weft_thread *th;
    cr_assert_eq(weft_thread_spawn(&o, consumer, rx, &th), 0);
    long want = 0;
    for (long i = 1; i <= 200; i++) {
        if (i % 50 == 1)
            usleep(20000); /* the consumer parks in its receive meanwhile */
        cr_assert_eq(weft_chan_send(tx, &i), 0);
        want += i;
    }
    weft_sender_close(tx);
    void *got;
    cr_assert_eq(weft_thread_join(th, &got), 0);
    cr_assert_eq((long)got, want);
    weft_receiver_close(rx);
    tr_trace *t = stop_and_read(path);
    long ctid = trace_tid(t, "consumer");
    cr_assert_geq(ctid, 0, "the consumer's track, named like the thread (it exited before the stop)");
    size_t parks = 0;
    for (size_t i = 0; i < t->n; i++)
        parks += t->ev[i].ph == 'X' && strcmp(t->ev[i].name, "park") == 0;
    cr_assert_gt(parks, 0);
    trace_free(t);
}

/* ---------------------------------------------------------------- links */

static void *task_fn(void *arg)
{
    return arg;
}

/* A join wait names the job it waits for, and that job's span the same job; a scope
 * wait its scope, and its tasks' spans the scope. */
Test(trace, waits_name_what_they_wait_for)
{
    char path[256];
    trace_path(path, sizeof path, "links");
    weft_pool *p = make_pool(2);
    cr_assert_eq(weft_trace_start(path), 0);
    fib_arg f = {12, 0};
    cr_assert_eq(weft_pool_run(p, fib_join, &f), 0);
    weft_task *task;
    cr_assert_eq(weft_spawn(p, task_fn, &f, &task), 0);
    void *got;
    cr_assert_eq(weft_task_join(task, &got), 0);
    cr_assert_eq(got, &f);
    weft_scope s;
    run_scope(&s, p, 10);
    tr_trace *t = stop_and_read(path);
    cr_assert_eq(weft_pool_destroy(p), 0);
    long main_tid = trace_tid(t, "main");
    size_t joins = 0, linked = 0, scope_waits = 0, tasks = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *w = &t->ev[i];
        if (w->ph == 'X' && strcmp(w->name, "join wait") == 0 && w->tid == main_tid) {
            joins++;
            cr_assert_neq(w->job, 0);
            for (size_t k = 0; k < t->n; k++) {
                const tr_event *j = &t->ev[k];
                if (strcmp(j->cat, "job") != 0 || j->job != w->job || j->tid == main_tid || j->ts > w->ts + w->dur)
                    continue;
                linked++;
                /* the job's span ends before the latch set that ends the wait */
                cr_assert_leq(j->ts + j->dur, w->ts + w->dur);
            }
        }
        if (w->ph == 'X' && strcmp(w->name, "scope wait") == 0) {
            scope_waits++;
            cr_assert_eq(w->scope, (uint64_t)(uintptr_t)&s);
        }
        if (w->ph == 'X' && strcmp(w->cat, "job") == 0 && w->scope)
            tasks += w->scope == (uint64_t)(uintptr_t)&s;
    }
    /* main waits for the pool_run's job, then for the task (unless it finished first:
     * then weft_task_join returns without waiting) */
    cr_assert_geq(joins, 1);
    cr_assert_eq(linked, joins, "each of main's %zu join waits has its job's span", joins);
    cr_assert_eq(scope_waits, 1);
    cr_assert_eq(tasks, 10, "every task ran on a worker: a job span each");
    trace_free(t);
}

/* The same for a scope owned by a worker, which runs its tasks in its own wait
 * (scope.c's run step): each task's span still names the scope. */
typedef struct owned_scope {
    weft_scope s;
} owned_scope;

static void run_owned_scope(void *arg)
{
    run_scope(&((owned_scope *)arg)->s, NULL, 10);
}

Test(trace, tasks_run_by_their_owner_name_the_scope)
{
    char path[256];
    trace_path(path, sizeof path, "owner");
    weft_pool *p = make_pool(1); /* no thief: the owner runs every task */
    cr_assert_eq(weft_trace_start(path), 0);
    owned_scope o;
    cr_assert_eq(weft_pool_run(p, run_owned_scope, &o), 0);
    tr_trace *t = stop_and_read(path);
    cr_assert_eq(weft_pool_destroy(p), 0);
    size_t scope_waits = 0, tasks = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *w = &t->ev[i];
        scope_waits += w->ph == 'X' && strcmp(w->name, "scope wait") == 0 && w->scope == (uint64_t)(uintptr_t)&o.s;
        tasks += w->ph == 'X' && strcmp(w->cat, "job") == 0 && w->scope == (uint64_t)(uintptr_t)&o.s;
    }
    cr_assert_eq(scope_waits, 1);
    cr_assert_eq(tasks, 10, "a job span per task, naming its scope");
    trace_free(t);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* A stop right after weft_pool_run returns, many times: the job's span is written
 * every time (its end is recorded before the latch set that lets the caller go). */
Test(trace, pool_run_job_written_before_the_caller_returns)
{
    char path[256];
    trace_path(path, sizeof path, "pool-run");
    weft_pool *p = make_pool(1);
    size_t missing = 0;
    for (int round = 0; round < 200; round++) {
        cr_assert_eq(weft_trace_start(path), 0);
        cr_assert_eq(weft_pool_run(p, nothing, NULL), 0);
        cr_assert_eq(weft_trace_stop(), 0);
        tr_trace *t = trace_read(path);
        cr_assert_not_null(t);
        size_t jobs = 0;
        for (size_t i = 0; i < t->n; i++)
            jobs += t->ev[i].ph == 'X' && strcmp(t->ev[i].cat, "job") == 0;
        missing += jobs != 1;
        trace_free(t);
    }
    unlink(path);
    cr_assert_eq(weft_pool_destroy(p), 0);
    cr_assert_eq(missing, 0, "%zu of 200 traces lack the job's span", missing);
}

/* ---------------------------------------------------------------- bounded memory */

Test(trace, wrapped_ring_reports_dropped)
{
    char path[256];
    trace_path(path, sizeof path, "wrap");
    setenv("WEFT_TRACE_EVENTS", "16", 1);
    cr_assert_eq(weft_trace_start(path), 0);
    unsetenv("WEFT_TRACE_EVENTS");
    _Atomic uint32_t word = 0;
    for (int i = 0; i < 100; i++) /* the value differs: returns at once, one park each */
        cr_assert_eq(weft_futex_wait(&word, 1, WEFT_NO_DEADLINE), 0);
    tr_trace *t = stop_and_read(path);
    cr_assert_eq(trace_count(t, 'X', "park"), 16);
    long main_tid = trace_tid(t, "main");
    uint64_t dropped = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].ph == 'M' && strcmp(t->ev[i].name, "dropped_events") == 0 && t->ev[i].tid == main_tid)
            dropped = t->ev[i].dropped;
    cr_assert_eq(dropped, 84);
    cr_assert_eq(t->total_dropped, 84);
    trace_free(t);
}

/* ---------------------------------------------------------------- idle searches */

/* Workers idle through the whole trace (started by a run before it), ended by the
 * pool's destroy: their idle spans say how many searches found nothing (at least the
 * one before the first sleep). */
Test(trace, idle_spans_count_failed_searches)
{
    char path[256];
    trace_path(path, sizeof path, "searches");
    weft_pool *p = make_pool(2);
    fib_arg f = {10, 0};
    cr_assert_eq(weft_pool_run(p, fib_join, &f), 0);
    cr_assert_eq(weft_trace_start(path), 0);
    usleep(50000);
    cr_assert_eq(weft_pool_destroy(p), 0);
    tr_trace *t = stop_and_read(path);
    size_t idle = 0, failed = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].ph == 'X' && strcmp(t->ev[i].name, "idle") == 0) {
            idle++;
            failed += t->ev[i].searches > 0;
        }
    cr_assert_gt(idle, 0, "the destroy ends the workers' idle spans");
    cr_assert_gt(failed, 0, "an idle span counts its failed searches");
    trace_free(t);
}

/* ---------------------------------------------------------------- pools and threads */

Test(trace, survives_a_pool_destroyed_mid_trace)
{
    char path[256];
    trace_path(path, sizeof path, "destroy");
    cr_assert_eq(weft_trace_start(path), 0);
    for (int round = 0; round < 3; round++) {
        weft_pool *p = make_pool(2);
        fib_arg f = {18, 0};
        cr_assert_eq(weft_pool_run(p, fib_join, &f), 0);
        cr_assert_eq(f.r, 2584);
        cr_assert_eq(weft_pool_destroy(p), 0);
    }
    tr_trace *t = stop_and_read(path);
    cr_assert_eq(trace_count(t, 'X', "pool create"), 3);
    cr_assert_eq(trace_count(t, 'X', "pool destroy"), 3);
    size_t workers = 0;
    for (size_t i = 0; i < t->n; i++)
        workers += t->ev[i].ph == 'M' && strncmp(t->ev[i].thread_name, "weft-", 5) == 0;
    cr_assert_geq(workers, 3, "the workers of destroyed pools are written");
    trace_free(t);
}

Test(trace, sessions_restart)
{
    for (int s = 0; s < 3; s++) {
        char path[256];
        trace_path(path, sizeof path, "restart");
        cr_assert_eq(weft_trace_start(path), 0);
        _Atomic uint32_t word = 0;
        for (int i = 0; i < 5; i++)
            weft_futex_wait(&word, 1, WEFT_NO_DEADLINE);
        tr_trace *t = stop_and_read(path);
        cr_assert_eq(trace_count(t, 'X', "park"), 5, "each session holds its own events only");
        trace_free(t);
    }
}

Test(trace, errors)
{
    char path[256];
    trace_path(path, sizeof path, "errors");
    cr_assert_eq(weft_trace_stop(), -EINVAL);
    cr_assert_eq(weft_trace_start(NULL), -EINVAL);
    cr_assert_eq(weft_trace_start(""), -EINVAL);
    cr_assert_eq(weft_trace_start("/nonexistent-dir/x/trace.json"), -EIO);
    cr_assert_eq(weft_trace_start(path), 0);
    cr_assert_eq(weft_trace_start(path), -EBUSY);
    tr_trace *t = stop_and_read(path);
    trace_free(t);
    cr_assert_eq(weft_trace_stop(), -EINVAL);
}

/* ---------------------------------------------------------------- weft-trace summary */

#define HALF_NS INT64_C(30000000)

static void spin_half(void *arg)
{
    (void)arg;
    uint64_t end = weft_time_now_ns() + HALF_NS;
    while (weft_time_now_ns() < end)
        ;
}

static void two_halves(void *arg)
{
    (void)arg;
    weft_join(spin_half, NULL, spin_half, NULL);
}

/* Two equal halves of a join on two workers: the two are busy for the two halves
 * together, and, when the second half was stolen (the usual case; a loaded machine
 * may wake the other worker too late), for one half each; the rest of the trace's
 * window is idle (searching, or waiting for the other half) or absent (before the
 * worker's first event, after its last): trace_summary.h.
 * The critical span (trace_critical.h) counts both halves as work, whoever ran them.
 * When the two ran side by side the span holds one of them, not both: work - span is
 * about a half (at least half of one: preemption between the halves' spans adds
 * strand time on a loaded machine). When not (not stolen, or stolen after the first
 * half ended) it holds both. Wall-clock durations only grow under preemption, so the
 * bounds hold on a busy machine too. */
Test(trace, summary_splits_busy_and_idle)
{
    char path[256];
    trace_path(path, sizeof path, "summary");
    weft_pool *p = make_pool(2);
    weft_pool_run(p, spin_half, NULL); /* both workers started */
    cr_assert_eq(weft_trace_start(path), 0);
    cr_assert_eq(weft_pool_run(p, two_halves, NULL), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
    tr_trace *t = stop_and_read(path);
    ts_summary s;
    ts_summarize(t, &s);
    int workers = 0;
    int64_t busy = 0;
    bool stolen = false;
    for (size_t k = 0; k < s.num_threads; k++) {
        const ts_thread *th = &s.threads[k];
        if (strncmp(th->name, "weft-", 5) != 0)
            continue;
        workers++;
        busy += th->busy;
        stolen |= th->steals > 0;
        int64_t sum = th->busy + th->idle + th->blocked + th->absent;
        cr_assert_eq(sum, s.window_end - s.window_begin, "%s: the row adds up to the window", th->name);
    }
    cr_assert_eq(workers, 2);
    /* A half is 30 ms of wall-clock spinning, so at least that; more only when the
     * machine preempts a spinning worker (on a quiet one: 30-37 ms each, the rest of
     * the window idle). */
    int64_t window = s.window_end - s.window_begin;
    cr_assert(busy >= 2 * HALF_NS * 95 / 100 && busy <= 2 * window, "busy %.3f ms in all, want >= 60",
              (double)busy / 1e6);
    for (size_t k = 0; k < s.num_threads && stolen; k++)
        if (strncmp(s.threads[k].name, "weft-", 5) == 0)
            cr_assert(s.threads[k].busy >= HALF_NS * 95 / 100, "%s busy %.3f ms, want >= 30 (a half each)",
                      s.threads[k].name,
                      (double)s.threads[k].busy / 1e6);
    tc_result c;
    tc_compute(t, &c);
    int64_t half = HALF_NS * 95 / 100;
    cr_assert(c.work >= 2 * half, "work %.3f ms, want both halves (>= %.3f)", c.work / 1e6, 2 * half / 1e6);
    cr_assert(c.span >= half && c.span <= c.work, "critical span %.3f ms", c.span / 1e6);
    /* Side by side: the stolen half's job began before the first half ended (its
     * join's wait began), or the join did not wait at all. A thief preempted long
     * enough begins it after: stolen, yet one after the other. */
    const tr_event *wait = NULL; /* the first half's join, on a worker (main waits in pool_run) */
    long main_tid = trace_tid(t, "main");
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].ph == 'X' && strcmp(t->ev[i].name, "join wait") == 0 && t->ev[i].tid != main_tid)
            wait = &t->ev[i];
    size_t jobs = 0;
    bool beside = false;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *x = &t->ev[i];
        if (x->ph != 'X' || strcmp(x->cat, "job") != 0)
            continue;
        jobs++;
        if (wait && x->job == wait->job)
            beside = x->ts < wait->ts;
    }
    if (!wait)
        beside = jobs >= 2; /* the root and a half done before the join looked */
    if (beside)
        cr_assert(c.span <= c.work - half / 2, "side by side: a span of %.3f ms in %.3f ms of work holds both halves",
                  c.span / 1e6, c.work / 1e6);
    else
        cr_assert(c.span >= 2 * half, "one after the other: a span of %.3f ms, want both halves", c.span / 1e6);
    ts_summary_free(&s);
    trace_free(t);
}
