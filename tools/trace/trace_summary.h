/* trace_summary.h: the numbers `weft-trace summary` prints, computed from a trace read
 * by trace_read.h (header-only, so the trace tests check them directly).
 *
 * Per thread, over the trace's window (its first span's start to its last span's
 * end, the same for every thread, so the rows add up):
 *  - idle: time in "idle" spans (a worker searching for work, asleep or not), and in
 *    "sleep" spans outside any (a worker asleep when the trace stopped: its idle span,
 *    still open, is not in the trace, the sleeps that ended inside it are);
 *  - sleep: the part of idle spent in "sleep" spans;
 *  - blocked: "park" spans outside any idle span (a lock, latch, channel or pool
 *    wait of the thread's own code);
 *  - busy: the window minus idle and blocked; for a thread that started late or
 *    ended early, its time outside [first event, last event] counts as absent, not
 *    busy;
 *  - steal: time in successful "steal" spans; jobs, steals: counts.
 * Per par_for: its chunks (the "chunk" spans, on any thread, inside the loop's time
 * and range), their count and length distribution. And the longest job. */
#ifndef WEFT_TOOLS_TRACE_SUMMARY_H
#define WEFT_TOOLS_TRACE_SUMMARY_H

#include "trace_read.h"

typedef struct ts_thread {
    long tid;
    char name[64];
    int64_t first, last; /* the thread's first span start, last span end (ns) */
    int64_t idle, sleep, blocked, steal, busy, absent;
    size_t jobs, steals;
} ts_thread;

typedef struct ts_loop {
    long tid;
    uint64_t begin, end;
    int64_t ts, dur;
    size_t chunks;
    uint64_t len_min, len_median, len_max; /* indices per chunk */
    int64_t dur_min, dur_median, dur_max;  /* ns per chunk */
} ts_loop;

typedef struct ts_summary {
    int64_t window_begin, window_end;
    ts_thread *threads;
    size_t num_threads;
    ts_loop *loops;
    size_t num_loops;
    const tr_event *longest_job;
} ts_summary;

static int ts_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int ts_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static inline bool ts_is(const tr_event *e, const char *name) { return e->ph == 'X' && strcmp(e->name, name) == 0; }

static inline void ts_summary_free(ts_summary *s)
{
    free(s->threads);
    free(s->loops);
}

static int ts_cmp_loop(const void *x, const void *y)
{
    const ts_loop *a = x, *b = y;
    return a->ts < b->ts ? -1 : a->ts > b->ts;
}

/* Lengths and durations of a loop's chunks: min, median, max. */
static void ts_loop_stats(ts_loop *l, uint64_t *lens, int64_t *durs)
{
    if (!l->chunks)
        return;
    qsort(lens, l->chunks, sizeof *lens, ts_cmp_u64);
    qsort(durs, l->chunks, sizeof *durs, ts_cmp_i64);
    l->len_min = lens[0];
    l->len_median = lens[l->chunks / 2];
    l->len_max = lens[l->chunks - 1];
    l->dur_min = durs[0];
    l->dur_median = durs[l->chunks / 2];
    l->dur_max = durs[l->chunks - 1];
}

/* How many loops back a chunk's loop is looked for (loops overlap only when run
 * concurrently or nested). */
#define TS_LOOP_LOOKBACK 64

static inline void ts_summarize(const tr_trace *t, ts_summary *s)
{
    memset(s, 0, sizeof *s);
    s->threads = calloc(t->n + 1, sizeof *s->threads);
    s->loops = calloc(t->n + 1, sizeof *s->loops);
    tr_event **spans = malloc((t->n + 1) * sizeof *spans);
    size_t m = 0;
    bool any = false;
    for (size_t i = 0; i < t->n; i++) {
        tr_event *e = &t->ev[i];
        if (e->ph == 'M' && e->thread_name[0]) {
            ts_thread *th = &s->threads[s->num_threads++];
            th->tid = e->tid;
            snprintf(th->name, sizeof th->name, "%s", e->thread_name);
        }
        if (e->ph == 'X' || e->ph == 'i') {
            if (!any || e->ts < s->window_begin)
                s->window_begin = e->ts;
            if (!any || e->ts + e->dur > s->window_end)
                s->window_end = e->ts + e->dur;
            any = true;
            spans[m++] = e;
        }
        if (ts_is(e, "par_for") && e->has_range) {
            ts_loop *l = &s->loops[s->num_loops++];
            l->tid = e->tid;
            l->begin = e->begin;
            l->end = e->end;
            l->ts = e->ts;
            l->dur = e->dur;
        }
    }
    qsort(spans, m, sizeof *spans, tr_cmp_span); /* by thread, then start; outer first */
    for (size_t k = 0; k < s->num_threads; k++) {
        ts_thread *th = &s->threads[k];
        th->first = th->last = s->window_begin;
        int64_t idle_end = INT64_MIN; /* the end of the idle span we are in */
        bool seen = false;
        for (size_t i = 0; i < m; i++) {
            const tr_event *e = spans[i];
            if (e->tid != th->tid)
                continue;
            if (!seen)
                th->first = e->ts, th->last = e->ts + e->dur, seen = true;
            th->last = e->ts + e->dur > th->last ? e->ts + e->dur : th->last;
            if (ts_is(e, "idle")) {
                th->idle += e->dur;
                idle_end = e->ts + e->dur;
            } else if (ts_is(e, "sleep")) {
                th->sleep += e->dur;
                if (!(e->ts < idle_end && e->ts + e->dur <= idle_end)) { /* its idle span is not in the trace */
                    th->idle += e->dur;
                    idle_end = e->ts + e->dur;
                }
            } else if (ts_is(e, "steal")) {
                th->steal += e->dur;
                th->steals++;
            } else if (ts_is(e, "park") && !(e->ts < idle_end && e->ts + e->dur <= idle_end)) {
                th->blocked += e->dur;
            } else if (e->ph == 'X' && strcmp(e->cat, "job") == 0) {
                th->jobs++;
                if (!s->longest_job || e->dur > s->longest_job->dur)
                    s->longest_job = e;
            }
        }
        th->absent = (th->first - s->window_begin) + (s->window_end - th->last);
        th->busy = s->window_end - s->window_begin - th->absent - th->idle - th->blocked;
        if (th->busy < 0)
            th->busy = 0;
    }
    free(spans);
    /* Chunks to loops: the latest loop started before the chunk that holds it. */
    qsort(s->loops, s->num_loops, sizeof *s->loops, ts_cmp_loop);
    size_t *owner = malloc((t->n + 1) * sizeof *owner), *count = calloc(s->num_loops + 1, sizeof *count);
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *c = &t->ev[i];
        owner[i] = SIZE_MAX;
        if (!ts_is(c, "chunk") || !c->has_range)
            continue;
        size_t lo = 0, hi = s->num_loops; /* first loop with ts > c->ts */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->loops[mid].ts <= c->ts)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t back = 0; back < TS_LOOP_LOOKBACK && lo > back; back++) {
            const ts_loop *l = &s->loops[lo - 1 - back];
            if (c->begin >= l->begin && c->end <= l->end && c->ts + c->dur <= l->ts + l->dur) {
                owner[i] = lo - 1 - back;
                count[owner[i]]++;
                break;
            }
        }
    }
    size_t *at = malloc((s->num_loops + 1) * sizeof *at), total = 0;
    for (size_t k = 0; k < s->num_loops; k++)
        at[k] = total, total += count[k];
    uint64_t *lens = malloc((total + 1) * sizeof *lens);
    int64_t *durs = malloc((total + 1) * sizeof *durs);
    for (size_t i = 0; i < t->n; i++)
        if (owner[i] != SIZE_MAX) {
            ts_loop *l = &s->loops[owner[i]];
            lens[at[owner[i]] + l->chunks] = t->ev[i].end - t->ev[i].begin;
            durs[at[owner[i]] + l->chunks++] = t->ev[i].dur;
        }
    for (size_t k = 0; k < s->num_loops; k++)
        ts_loop_stats(&s->loops[k], lens + at[k], durs + at[k]);
    free(lens);
    free(durs);
    free(at);
    free(owner);
    free(count);
}

#endif
