/* weft-trace: reads a trace written by weft_trace_stop (or WEFT_TRACE=path) and prints
 * what answers "why doesn't my loop scale?" without opening a browser.
 *
 *   weft-trace summary FILE
 *   weft-trace plot FILE OUT.png [FROM_MS TO_MS]
 *
 * per thread: busy, idle (searching or asleep), sleeping, blocked (parked outside an
 * idle search), stealing, jobs run and steals, over the trace's window
 * (trace_summary.h defines each); per par_for (the LOOPS_SHOWN longest when there
 * are more): its range, time, chunks and their length and duration distribution; the longest job; the critical span (the longest
 * chain of dependent work, trace_critical.h) and the parallelism it leaves; events
 * dropped by full rings.
 * plot: a timeline picture, one row per thread, spans coloured by kind, drawn by
 * gnuplot (trace_plot.h); with FROM_MS and TO_MS, only that window of the trace.
 * Exit status: 0, 1 (the file is not a valid trace; or gnuplot failed), 2 (usage),
 * 3 (plot: gnuplot is not installed). */
#include "trace_read.h"
#include "trace_critical.h"
#include "trace_plot.h"
#include "trace_summary.h"

/* Loops listed at most (a loop called many times would fill pages). */
#define LOOPS_SHOWN 12

static double ms(int64_t ns) { return (double)ns / 1e6; }
static double us(int64_t ns) { return (double)ns / 1e3; }

static const char *thread_name(const ts_summary *s, long tid)
{
    for (size_t k = 0; k < s->num_threads; k++)
        if (s->threads[k].tid == tid)
            return s->threads[k].name;
    return "?";
}

static void print_critical(const ts_summary *s, const tc_result *c)
{
    if (!c->any || c->span <= 0)
        return;
    printf("\ncritical span: %.3f ms (work %.3f, blocked %.3f), through %zu job%s on %zu thread%s, ending on %s\n",
           ms(c->span), ms(c->span_work), ms(c->span_blocked), c->jobs, c->jobs == 1 ? "" : "s", c->threads,
           c->threads == 1 ? "" : "s", thread_name(s, c->root_tid));
    printf("work: %.3f ms in all", ms(c->work));
    if (c->chunk_work)
        printf(", %.3f ms of it (%.0f%%) in loop chunks", ms(c->chunk_work), 100.0 * (double)c->chunk_work / (double)c->work);
    printf("; parallelism (work / critical span): %.2f,\nthe most any number of threads could speed this run's work up\n",
           (double)c->work / (double)c->span);
    printf("on the path:");
    for (size_t k = 0; k < c->ntop; k++) {
        const tc_piece *p = &c->top[k];
        printf("%s %s %s %.3f ms", k ? ";" : "", thread_name(s, p->tid), p->what[0] ? p->what : "(its own code)",
               ms(p->work + p->blocked));
    }
    printf("%s\n", c->more ? "; ..." : "");
}

static void print_summary(const char *path, const tr_trace *t, const ts_summary *s, const tc_result *c)
{
    int64_t window = s->window_end - s->window_begin;
    printf("%s: %zu threads, %.3f ms traced", path, s->num_threads, ms(window));
    if (t->total_dropped)
        printf(", %llu events dropped (full rings: the oldest spans are missing)",
               (unsigned long long)t->total_dropped);
    printf("\n\n%-16s %10s %10s %10s %10s %10s %8s %8s\n", "thread", "busy ms", "idle ms", "sleep ms", "blocked ms",
           "steal ms", "jobs", "steals");
    for (size_t k = 0; k < s->num_threads; k++) {
        const ts_thread *th = &s->threads[k];
        printf("%-16s %10.3f %10.3f %10.3f %10.3f %10.3f %8zu %8zu\n", th->name, ms(th->busy), ms(th->idle),
               ms(th->sleep), ms(th->blocked), ms(th->steal), th->jobs, th->steals);
    }
    if (s->num_loops) {
        printf("\n%-6s %-24s %10s %8s %26s %30s\n", "loop", "range", "time ms", "chunks", "indices min/median/max",
               "chunk us min/median/max");
        /* Many loops (one called in a loop): the LOOPS_SHOWN longest, in order. */
        int64_t cutoff = INT64_MIN;
        size_t shown = 0, rest = 0, rest_chunks = 0, ties = SIZE_MAX; /* loops as long as the cutoff to show */
        int64_t rest_ns = 0;
        if (s->num_loops > LOOPS_SHOWN) {
            int64_t *d = malloc(s->num_loops * sizeof *d);
            for (size_t k = 0; k < s->num_loops; k++)
                d[k] = s->loops[k].dur;
            qsort(d, s->num_loops, sizeof *d, ts_cmp_i64);
            cutoff = d[s->num_loops - LOOPS_SHOWN];
            ties = LOOPS_SHOWN;
            for (size_t k = s->num_loops - LOOPS_SHOWN; k < s->num_loops; k++)
                ties -= d[k] > cutoff;
            free(d);
        }
        for (size_t k = 0; k < s->num_loops; k++) {
            const ts_loop *l = &s->loops[k];
            if (l->dur < cutoff || (l->dur == cutoff && ties == 0)) {
                rest++;
                rest_ns += l->dur;
                rest_chunks += l->chunks;
                continue;
            }
            shown++;
            ties -= l->dur == cutoff;
            char range[64], lens[64], durs[64];
            snprintf(range, sizeof range, "[%llu, %llu)", (unsigned long long)l->begin, (unsigned long long)l->end);
            snprintf(lens, sizeof lens, "%llu/%llu/%llu", (unsigned long long)l->len_min,
                     (unsigned long long)l->len_median, (unsigned long long)l->len_max);
            snprintf(durs, sizeof durs, "%.3f/%.3f/%.3f", us(l->dur_min), us(l->dur_median), us(l->dur_max));
            printf("%-6zu %-24s %10.3f %8zu %26s %30s\n", k, range, ms(l->dur), l->chunks, lens, durs);
        }
        if (rest)
            printf("(the %zu longest of %zu loops; the other %zu: %.3f ms, %zu chunks)\n", shown, s->num_loops, rest,
                   ms(rest_ns), rest_chunks);
    }
    if (s->longest_job)
        printf("\nlongest job: %s, %.3f ms on %s\n", s->longest_job->name, ms(s->longest_job->dur),
               thread_name(s, s->longest_job->tid));
    print_critical(s, c);
}

int main(int argc, char **argv)
{
    bool summary = argc == 3 && strcmp(argv[1], "summary") == 0;
    bool plot = (argc == 4 || argc == 6) && strcmp(argv[1], "plot") == 0;
    double from = 0, to = 0;
    if (plot && argc == 6) {
        char *e1, *e2;
        from = strtod(argv[4], &e1);
        to = strtod(argv[5], &e2);
        plot = *argv[4] && *argv[5] && !*e1 && !*e2 && from >= 0 && from < to;
    }
    if (!summary && !plot) {
        fprintf(stderr, "usage: weft-trace summary FILE\n       weft-trace plot FILE OUT.png [FROM_MS TO_MS]\n");
        return 2;
    }
    tr_trace *t = trace_read(argv[2]);
    if (!t)
        return 1;
    int status = 0;
    if (plot) {
        status = tp_plot(t, argv[3], from, to);
    } else {
        ts_summary s;
        tc_result c;
        ts_summarize(t, &s);
        tc_compute(t, &c);
        print_summary(argv[2], t, &s, &c);
        ts_summary_free(&s);
    }
    trace_free(t);
    return status;
}
