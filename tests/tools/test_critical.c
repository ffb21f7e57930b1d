/* test_critical.c: Criterion suite `critical` — the critical span of `weft-trace
 * summary` (tools/trace/trace_critical.h). Hand-written traces whose longest path is
 * known exactly: a stolen half longer and shorter than the inline one, a job stolen
 * late, a scope whose tasks start before and during its wait, a scope waited twice,
 * a park on the path, a job run inside a wait (not on its waiter's path), a link to
 * a job of an earlier frame at the same address (not followed), an outside thread's
 * loop. A live run, two equal halves of a join on two workers, is checked with the
 * busy/idle split in tests/runtime/test_trace.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "trace_testlib.h"
#include "../../tools/trace/trace_critical.h"

/* A span of a fixture: thread (1: main, 2: weft-0, 3: weft-1, 4: weft-2), name, start
 * and duration in microseconds, and its JSON args. */
typedef struct fx {
    int tid;
    const char *name;
    double ts, dur;
    const char *args;
} fx;

static tr_trace *fixture(const fx *spans, size_t n)
{
    char path[256];
    trace_path(path, sizeof path, "critical");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    static const char *const names[] = {"", "main", "weft-0", "weft-1", "weft-2"};
    fprintf(f, "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"fx\"}}");
    for (int tid = 1; tid <= 4; tid++)
        fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"%s\"}}", tid,
                names[tid]);
    for (size_t i = 0; i < n; i++) {
        const char *cat = strcmp(spans[i].name, "join wait") == 0 || strcmp(spans[i].name, "scope wait") == 0 ||
                                  strcmp(spans[i].name, "park") == 0
                              ? "wait"
                          : strcmp(spans[i].name, "chunk") == 0 || strcmp(spans[i].name, "par_for") == 0 ? "par"
                          : strncmp(spans[i].name, "job", 3) == 0                                      ? "job"
                                                                                                       : "sched";
        fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"%s\",\"cat\":\"%s\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":%s}",
                spans[i].name, cat, spans[i].tid, spans[i].ts, spans[i].dur, spans[i].args ? spans[i].args : "{}");
    }
    fprintf(f, "\n],\"displayTimeUnit\":\"ns\"}\n");
    fclose(f);
    tr_trace *t = trace_read(path);
    cr_assert_not_null(t, "the fixture is not a valid trace (see stderr)");
    unlink(path);
    return t;
}

#define US(x) ((int64_t)(x) * 1000)

static tc_result critical(const fx *spans, size_t n)
{
    tr_trace *t = fixture(spans, n);
    tc_result r;
    tc_compute(t, &r);
    cr_assert(r.any);
    /* The path's pieces add up to the span (when they all fit in top). */
    int64_t sum = 0;
    for (size_t k = 0; k < r.ntop; k++)
        sum += r.top[k].work + r.top[k].blocked;
    if (!r.more)
        cr_assert_eq(sum, r.span, "pieces %lld, span %lld", (long long)sum, (long long)r.span);
    trace_free(t);
    return r;
}

/* The span, all the work, and the jobs on the path. */
static void expect(const tc_result *r, int64_t span_us, int64_t work_us, size_t jobs)
{
    cr_assert_eq(r->span, US(span_us), "span %.3f us, want %lld", r->span / 1e3, (long long)span_us);
    cr_assert_eq(r->work, US(work_us), "work %.3f us, want %lld", r->work / 1e3, (long long)work_us);
    cr_assert_eq(r->jobs, jobs, "%zu jobs on the path, want %zu", r->jobs, jobs);
}

#define CRITICAL(...)                                                                                              \
    ({                                                                                                             \
        static const fx spans_[] = {__VA_ARGS__};                                                                  \
        critical(spans_, sizeof spans_ / sizeof spans_[0]);                                                        \
    })

/* main hands R to the pool (a join wait for job 0xa); R forks a half that weft-1
 * steals (job 0xb) and waits for it from 32 to 99. */
Test(critical, stolen_half_longer)
{
    tc_result r = CRITICAL({1, "join wait", 1, 100, "{\"job\":\"0xa\"}"},
                           {2, "job R", 2, 98, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "join wait", 32, 67, "{\"job\":\"0xb\"}"},
                           {3, "job X", 5, 90, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"});
    /* X forks where R starts (no item of R before it): 90 of X, then R's last 1. */
    expect(&r, 91, 30 + 1 + 90, 2);
    cr_assert_eq(r.span_blocked, 0);
    cr_assert_eq(r.threads, 3);
    cr_assert_eq(r.root_tid, 1, "the path ends on main");
    cr_assert_eq(r.top[0].tid, 3);
    cr_assert_str_eq(r.top[0].what, "job X");
    cr_assert_eq(r.top[0].work, US(90));
    cr_assert_eq(r.top[1].work, US(1), "R's part after its wait");
}

Test(critical, stolen_half_shorter)
{
    tc_result r = CRITICAL({1, "join wait", 1, 100, "{\"job\":\"0xa\"}"},
                           {2, "job R", 2, 98, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "join wait", 32, 67, "{\"job\":\"0xb\"}"},
                           {3, "job X", 5, 15, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"});
    expect(&r, 31, 31 + 15, 1); /* R's own 30 before the wait beat X's 15 */
}

/* Taken late: R waits for X1 (10..50), then for X2 (60..90); X2 started at 30, while
 * R waited for X1, so it forked before that wait: at R's start. */
Test(critical, late_steal_forks_before_the_wait_it_started_in)
{
    tc_result r = CRITICAL({2, "job R", 0, 100, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "join wait", 10, 40, "{\"job\":\"0xb1\"}"},
                           {2, "join wait", 60, 30, "{\"job\":\"0xb2\"}"},
                           {3, "job X1", 12, 36, "{\"fn\":\"0x2\",\"job\":\"0xb1\"}"},
                           {4, "job X2", 30, 58, "{\"fn\":\"0x3\",\"job\":\"0xb2\"}"});
    /* L: X1 = 36 at 50, +10 = 46 at 60; X2 from R's start: 58 > 46; + the last 10. */
    expect(&r, 68, 30 + 36 + 58, 2);
}

/* A scope: main spawns, works until 10, waits to 60; T1 started at 2, T2 at 20 (during
 * the wait), each 38. main's frame reaches back to T1's start (2: a task it waits for
 * was forked from it by then); both tasks fork at the start of the stretch of main's
 * strand they (or the wait) started in: 2. */
Test(critical, scope_tasks_before_and_during_the_wait)
{
    tc_result r = CRITICAL({1, "scope wait", 10, 50, "{\"scope\":\"0x100\"}"},
                           {2, "job T1", 2, 38, "{\"fn\":\"0x1\",\"scope\":\"0x100\"}"},
                           {3, "job T2", 20, 38, "{\"fn\":\"0x1\",\"scope\":\"0x100\"}"});
    expect(&r, 38, 8 + 38 + 38, 1); /* a task's 38 beats main's 8 before the wait */
}

/* The same scope waited twice: the second wait links only the task started after the
 * first ended. */
Test(critical, scope_waited_twice)
{
    tc_result r = CRITICAL({1, "scope wait", 10, 50, "{\"scope\":\"0x100\"}"},
                           {1, "scope wait", 70, 10, "{\"scope\":\"0x100\"}"},
                           {2, "job T1", 0, 55, "{\"fn\":\"0x1\",\"scope\":\"0x100\"}"},
                           {2, "job T2", 62, 16, "{\"fn\":\"0x1\",\"scope\":\"0x100\"}"});
    /* T1 (55) joins at 60; then main's 60..70 (10): 65 at 70; T2 forks at 60: 55 +
     * 16 = 71 > 65 (T1 is not the second wait's: it would give 55). */
    expect(&r, 71, 20 + 55 + 16, 2);
}

/* A park inside a chunk of a job: blocked time on the path. */
Test(critical, park_is_blocked_time_on_the_path)
{
    tc_result r = CRITICAL({2, "job R", 0, 100, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "chunk", 5, 45, "{\"begin\":0,\"end\":10}"},
                           {2, "park", 10, 20, "{\"word\":\"0x5\"}"});
    expect(&r, 100, 80, 1);
    cr_assert_eq(r.span_blocked, US(20));
    cr_assert_eq(r.blocked, US(20));
}

/* Y ran inside R's wait on R's thread: not R's work, and a root of its own. */
Test(critical, job_inside_a_wait_is_not_its_waiters)
{
    tc_result r = CRITICAL({2, "job R", 0, 100, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "join wait", 10, 80, "{\"job\":\"0xb\"}"},
                           {2, "idle", 12, 6, "{\"searches\":3}"},
                           {2, "job Y", 20, 60, "{\"fn\":\"0x3\",\"job\":\"0xc\"}"},
                           {3, "job X", 5, 80, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"});
    expect(&r, 80 + 10, 20 + 80 + 60, 2); /* X from R's start, then R's last 10 */
}

/* A join wait whose job span is missing (dropped), while an older job of that
 * address (before R began) is in the trace: not linked. */
Test(critical, stale_address_is_not_linked)
{
    tc_result r = CRITICAL({3, "job Xold", 1, 2, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"},
                           {2, "job R", 10, 40, "{\"fn\":\"0x1\",\"job\":\"0xa\"}"},
                           {2, "join wait", 20, 20, "{\"job\":\"0xb\"}"});
    expect(&r, 20, 20 + 2, 1);
}

/* An outside thread's own code around a wait for a job it handed to a pool. */
Test(critical, outside_thread_is_a_frame)
{
    tc_result r = CRITICAL({1, "pool create", 0, 10, "{\"pool\":\"0x9\",\"threads\":2}"},
                           {1, "join wait", 20, 60, "{\"job\":\"0xb\"}"},
                           {1, "pool destroy", 85, 5, "{\"pool\":\"0x9\",\"threads\":2}"},
                           {2, "job X", 25, 50, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"});
    /* main's 20 before the wait, X's 50 beat them; then main's last 10. */
    expect(&r, 60, 30 + 50, 1);
    cr_assert_eq(r.root_tid, 1);
    cr_assert_eq(r.ntop, 2);
    cr_assert_str_eq(r.top[0].what, "job X");
    cr_assert_str_empty(r.top[1].what, "main's own code");
    cr_assert_eq(r.top[1].work, US(10));
}

/* A loop's chunks are independent: a run of them adds its longest, and the strand
 * between them is not on the path. main runs chunks of 30 and 10, waits for the
 * stolen half X (a chunk of 18), runs a chunk of 40. */
Test(critical, loop_chunks_are_independent)
{
    tc_result r = CRITICAL({1, "par_for", 0, 100, "{\"begin\":0,\"end\":100}"},
                           {1, "chunk", 0, 30, "{\"begin\":0,\"end\":30}"},
                           {1, "chunk", 30, 10, "{\"begin\":30,\"end\":40}"},
                           {1, "join wait", 40, 20, "{\"job\":\"0xb\"}"},
                           {1, "chunk", 60, 40, "{\"begin\":60,\"end\":100}"},
                           {2, "job X", 41, 19, "{\"fn\":\"0x2\",\"job\":\"0xb\"}"},
                           {2, "chunk", 41, 18, "{\"begin\":40,\"end\":60}"});
    /* The run: 30, then 10 (30 stays); X forks after the chunk of 10 (the last item
     * before it started): 30 + X's 18 = 48 (its last 1 is the splitting after its
     * chunk, its loop's); the chunk of 40 from the run's start: 40 < 48. */
    expect(&r, 48, 80 + 19, 1);
    cr_assert_eq(r.chunk_work, US(98));
    cr_assert_eq(r.top[0].work, US(30), "main's chunk of 30");
    cr_assert_eq(r.top[1].work, US(18), "X's chunk");
}
