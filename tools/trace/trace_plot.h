/* trace_plot.h: `weft-trace plot FILE OUT.png`, a timeline picture of a trace read by
 * trace_read.h, drawn by gnuplot (run through popen with a generated script, the
 * spans inline as a datablock; gnuplot 5.2.6 or later for keyentry, png terminal).
 *
 * One row per thread (track), in the trace's order, the first at the top; time in ms
 * since the trace's start on the x axis, the whole trace or a window of it (to zoom
 * in on spans too short to see whole); each span a box coloured by its kind, cut at
 * the window's edges. Spans
 * nest (sleep inside idle, park inside sleep, jobs inside a join wait, chunks inside
 * jobs), so spans are drawn by nesting depth, the outermost first, each level a
 * thinner band inside the one around it. par_for spans (a whole loop on its caller)
 * and instants (wake) are not drawn. */
#ifndef WEFT_TOOLS_TRACE_PLOT_H
#define WEFT_TOOLS_TRACE_PLOT_H

#include "trace_read.h"

#include <unistd.h>

/* The kinds, in the key's order: name and colour. */
static const struct tp_kind {
    const char *label;
    const char *color;
} tp_kinds[] = {
    {"idle", "#d9d9d9"},  {"wait (join, scope)", "#fdbf6f"}, {"job", "#1f78b4"},      {"chunk", "#33a02c"},
    {"steal", "#e31a1c"}, {"sleep", "#9e9ac8"},              {"park/blocked", "#6a3d9a"},
};
enum { TP_IDLE, TP_WAIT, TP_JOB, TP_CHUNK, TP_STEAL, TP_SLEEP, TP_PARK, TP_KINDS };

/* A span's kind, or -1 for one not drawn. */
static int tp_kind_of(const tr_event *e)
{
    if (e->ph != 'X')
        return -1;
    if (strcmp(e->cat, "job") == 0)
        return TP_JOB;
    static const struct { const char *name; int kind; } by_name[] = {
        {"chunk", TP_CHUNK}, {"steal", TP_STEAL},     {"idle", TP_IDLE},      {"sleep", TP_SLEEP},
        {"park", TP_PARK},   {"join wait", TP_WAIT}, {"scope wait", TP_WAIT},
    };
    for (size_t k = 0; k < sizeof by_name / sizeof by_name[0]; k++)
        if (strcmp(e->name, by_name[k].name) == 0)
            return by_name[k].kind;
    return -1;
}

/* Is there an executable `name` on PATH? popen runs sh, which would only say "not
 * found" and exit 127: look first, for a clear message and a distinct exit status. */
static bool tp_on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return false;
    char buf[4096];
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0)
            snprintf(buf, sizeof buf, "./%s", name);
        else
            snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, name);
        if (access(buf, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

/* A gnuplot single-quoted string: '' stands for a quote, nothing else is special. */
static void tp_quoted(FILE *g, const char *s)
{
    fputc('\'', g);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', g);
        fputc(*s, g);
    }
    fputc('\'', g);
}

/* A span to draw: its row, kind and nesting depth on its thread (0: outermost). */
typedef struct tp_span {
    const tr_event *e;
    size_t row;
    int kind, depth;
} tp_span;

static int tp_cmp_depth(const void *x, const void *y)
{
    const tp_span *a = x, *b = y;
    return a->depth != b->depth ? (a->depth < b->depth ? -1 : 1) : (a->e < b->e ? -1 : a->e > b->e);
}

/* Draw trace t into the PNG `out`; from_ms < to_ms: only that window (ms since the
 * trace's start), else the whole trace. Exit status: 0, 1 (gnuplot failed or nothing
 * to draw), 3 (no gnuplot on PATH). */
static int tp_plot(const tr_trace *t, const char *out, double from_ms, double to_ms)
{
    long *tids = malloc((t->n + 1) * sizeof *tids);
    const char **names = malloc((t->n + 1) * sizeof *names);
    tp_span *spans = malloc((t->n + 1) * sizeof *spans);
    const tr_event **sorted = malloc((t->n + 1) * sizeof *sorted), **stack = malloc((t->n + 1) * sizeof *stack);
    size_t rows = 0, m = 0, ns = 0, used[TP_KINDS] = {0};
    bool any = false;
    int64_t t0 = 0, t1 = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *e = &t->ev[i];
        if (e->ph == 'M' && e->thread_name[0]) {
            tids[rows] = e->tid;
            names[rows++] = e->thread_name;
        }
        if (e->ph == 'X' || e->ph == 'i') {
            if (!any || e->ts < t0)
                t0 = e->ts;
            if (!any || e->ts + e->dur > t1)
                t1 = e->ts + e->dur;
            any = true;
        }
        if (tp_kind_of(e) >= 0)
            sorted[ns++] = e;
    }
    bool window = from_ms < to_ms;
    int64_t w0 = window ? t0 + (int64_t)(from_ms * 1e6) : t0, w1 = window ? t0 + (int64_t)(to_ms * 1e6) : t1;
    /* Depth: the spans drawn, per thread by start (the outer first), on a stack of
     * the ones still open (trace_read checked that they nest). */
    qsort(sorted, ns, sizeof *sorted, tr_cmp_span);
    size_t depth = 0;
    for (size_t i = 0; i < ns; i++) {
        const tr_event *e = sorted[i];
        if (depth && stack[depth - 1]->tid != e->tid)
            depth = 0;
        while (depth && stack[depth - 1]->ts + stack[depth - 1]->dur <= e->ts)
            depth--;
        size_t r = 0;
        while (r < rows && tids[r] != e->tid)
            r++;
        if (r < rows && e->ts <= w1 && e->ts + e->dur >= w0) {
            spans[m] = (tp_span){e, r, tp_kind_of(e), (int)depth};
            used[spans[m++].kind]++;
        }
        stack[depth++] = e;
    }
    free(sorted);
    free(stack);
    int status = 0;
    if (!m) {
        fprintf(stderr, "weft-trace: the trace has no spans to plot%s\n", window ? " in that window" : "");
        status = 1;
    } else if (!tp_on_path("gnuplot")) {
        fprintf(stderr, "weft-trace: gnuplot not found on PATH; install it (Debian: apt-get install gnuplot-nox)\n");
        status = 3;
    }
    FILE *g = NULL;
    if (!status && !(g = popen("gnuplot", "w"))) {
        perror("weft-trace: popen gnuplot");
        status = 1;
    }
    if (status) {
        free(tids);
        free(names);
        free(spans);
        return status;
    }
    qsort(spans, m, sizeof *spans, tp_cmp_depth); /* parents drawn first, children over them */
    unsigned height = 140 + 40 * (unsigned)rows;
    fprintf(g, "set terminal png size 1400,%u\nset output ", height < 4000 ? height : 4000);
    tp_quoted(g, out);
    fprintf(g, "\nset xlabel 'time (ms)'\nset xrange [%.6f:%.6f]\nset yrange [%.1f:-0.5]\n",
            (double)(w0 - t0) / 1e6, window ? (double)(w1 - t0) / 1e6 : (double)(t1 - t0) / 1e6 * 1.0001 + 1e-6,
            (double)rows - 0.5);
    fprintf(g, "set ytics nomirror noenhanced (");
    for (size_t r = 0; r < rows; r++) {
        fprintf(g, "%s", r ? ", " : "");
        tp_quoted(g, names[r]);
        fprintf(g, " %zu", r);
    }
    fprintf(g, ")\nset grid xtics\nset key outside top center horizontal noenhanced\n");
    fprintf(g, "set style fill solid 1.0 noborder\n$spans << EOD\n");
    for (size_t i = 0; i < m; i++) {
        const tp_span *s = &spans[i];
        double h = 0.8;
        for (int d = 0; d < s->depth && h > 0.2; d++)
            h *= 0.75; /* each level a band inside the one around it */
        int64_t b = s->e->ts < w0 ? w0 : s->e->ts, e = s->e->ts + s->e->dur > w1 ? w1 : s->e->ts + s->e->dur;
        fprintf(g, "%.6f %.6f %.4f %.4f %lu\n", (double)(b - t0) / 1e6, (double)(e - t0) / 1e6,
                (double)s->row - h / 2, (double)s->row + h / 2, strtoul(tp_kinds[s->kind].color + 1, NULL, 16));
    }
    fprintf(g, "EOD\nplot $spans using (($1+$2)/2):(($3+$4)/2):1:2:3:4:5 with boxxyerror lc rgb variable notitle");
    for (int k = 0; k < TP_KINDS; k++) {
        if (!used[k])
            continue;
        fprintf(g, ", \\\n     keyentry with boxes lc rgb '%s' title ", tp_kinds[k].color);
        tp_quoted(g, tp_kinds[k].label);
    }
    fprintf(g, "\nset output\n");
    int rc = pclose(g);
    if (rc != 0) {
        fprintf(stderr, "weft-trace: gnuplot failed (status %d) writing %s\n", rc, out);
        status = 1;
    }
    free(tids);
    free(names);
    free(spans);
    return status;
}

#endif
