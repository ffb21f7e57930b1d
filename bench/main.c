/* main.c: the weft-bench driver. Parses the command line, expands the registered
 * benchmarks into rows (one per benchmark and thread count), runs each row (one warm-up,
 * then --reps timed runs), and prints a table grouped by benchmark with the ratio
 * weft/peer, optionally a JSON file too.
 *
 * Sizes: unless a benchmark fixes its size, the warm-up is also a calibration: it
 * starts from the benchmark's quick size and is rescaled (and repeated, a few times at
 * most) until a run takes about the target time, so every benchmark's reps last
 * ~50 ms (~10 ms with --quick).
 *
 * Invariants: rows of one name/param are run next to each other, weft and its peers
 * alternating per thread count, so they see the same machine state as far as possible;
 * every rep of a row uses the same size; a row is "checked" only if every one of its
 * runs (warm-up included) reported ok, and any unchecked row makes the exit status 1.
 * No global mutable state: everything hangs off the driver struct in main(). */
#include "bench.h"

#include <weft/sync.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WEFT_BENCH_COMPILER
#define WEFT_BENCH_COMPILER "unknown"
#endif
#ifndef WEFT_BENCH_FLAGS
#define WEFT_BENCH_FLAGS "unknown"
#endif

/* Every bench_*.c file's registration function, in the order their rows appear. */
static void (*const registrations[])(bench_registry *r) = {
    bench_register_sync,
    bench_register_runtime,
    bench_register_par,
    bench_register_sort,
    bench_register_chan,
    bench_register_uts,
};

/* Target duration of one timed rep when the size is calibrated. */
#define TARGET_S 0.050
#define QUICK_TARGET_S 0.010

/* ------------------------------------------------------------------------------
 * Small helpers */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "weft-bench: out of memory\n");
        exit(2);
    }
    return q;
}

static double now_s(void)
{
    return (double)weft_time_now_ns() * 1e-9;
}

/* The number of CPUs this process may run on (sched_getaffinity), at least 1. */
static int cpu_count(void)
{
    for (int ncpu = 1024; ncpu <= (1 << 16); ncpu *= 2) {
        cpu_set_t *set = CPU_ALLOC((size_t)ncpu);
        if (!set)
            break;
        size_t size = CPU_ALLOC_SIZE((size_t)ncpu);
        if (sched_getaffinity(0, size, set) == 0) {
            int n = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return n > 0 ? n : 1;
        }
        CPU_FREE(set);
        if (errno != EINVAL)
            break;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The "model name" line of /proc/cpuinfo, into buf. */
static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(buf, len, "%s", v);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    fclose(f);
}

static bool unit_is_time(const char *unit)
{
    return strncmp(unit, "ns/", 3) == 0;
}

/* ------------------------------------------------------------------------------
 * Registry */

struct bench_registry {
    const bench_def **defs;
    size_t count, cap;
    bool quick; /* --quick: see bench_registry_quick */
};

bool bench_registry_quick(const bench_registry *r)
{
    return r->quick;
}

void bench_registry_add(bench_registry *r, const bench_def *defs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (r->count == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 32;
            r->defs = xrealloc(r->defs, r->cap * sizeof *r->defs);
        }
        r->defs[r->count++] = &defs[i];
    }
}

/* ------------------------------------------------------------------------------
 * Running a body on N threads, released together */

typedef struct run_threads {
    void (*body)(void *ctx, int tid);
    void *ctx;
    _Atomic int ready; /* threads at the start gate */
    _Atomic int go;    /* 0: wait, 1: run, 2: abort (a thread could not be created) */
    double *end_s;     /* [threads]: each thread's end time */
} run_threads;

typedef struct run_thread_arg {
    run_threads *rt;
    int tid;
} run_thread_arg;

static void *run_thread_main(void *p)
{
    run_thread_arg *a = p;
    run_threads *rt = a->rt;
    /* Release: pairs with the acquire load of ready in bench_run_threads (nothing to
     * publish but the arrival itself; kept ordered for clarity). */
    atomic_fetch_add_explicit(&rt->ready, 1, memory_order_release);
    int go;
    /* Acquire: pairs with the release store of go, so the body sees the setup made
     * before the release. */
    while ((go = atomic_load_explicit(&rt->go, memory_order_acquire)) == 0)
        sched_yield();
    if (go == 1) {
        rt->body(rt->ctx, a->tid);
        rt->end_s[a->tid] = now_s();
    }
    return NULL;
}

int bench_run_threads(int threads, void (*body)(void *ctx, int tid), void *ctx, double *seconds)
{
    if (threads < 1 || !body || !seconds)
        return EINVAL;
    run_threads rt = {.body = body, .ctx = ctx};
    atomic_init(&rt.ready, 0);
    atomic_init(&rt.go, 0);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    run_thread_arg *args = calloc((size_t)threads, sizeof *args);
    rt.end_s = calloc((size_t)threads, sizeof *rt.end_s);
    if (!tids || !args || !rt.end_s) {
        free(tids);
        free(args);
        free(rt.end_s);
        return ENOMEM;
    }
    int err = 0, started = 0;
    for (; started < threads; started++) {
        args[started] = (run_thread_arg){&rt, started};
        err = pthread_create(&tids[started], NULL, run_thread_main, &args[started]);
        if (err)
            break;
    }
    if (!err) {
        /* Acquire: pairs with each thread's release increment of ready. */
        while (atomic_load_explicit(&rt.ready, memory_order_acquire) < threads)
            sched_yield();
    }
    double t0 = now_s();
    /* Release: pairs with the threads' acquire load of go. */
    atomic_store_explicit(&rt.go, err ? 2 : 1, memory_order_release);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (!err) {
        double t1 = t0;
        for (int i = 0; i < threads; i++)
            t1 = rt.end_s[i] > t1 ? rt.end_s[i] : t1;
        *seconds = t1 - t0;
    }
    free(tids);
    free(args);
    free(rt.end_s);
    return err;
}

/* ------------------------------------------------------------------------------
 * Configuration */

typedef struct config {
    bool list, quick;
    int reps;
    int ncpus;
    int threads[BENCH_MAX_THREAD_COUNTS]; /* from --threads, or 1 and ncpus */
    int nthreads;
    bool threads_given;
    bool have_filter;
    regex_t filter;
    const char *json_path;
} config;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft-bench [--list] [--filter REGEX] [--threads N,N,...] [--reps N]\n"
            "                  [--quick] [--json FILE]\n"
            "  --list           list the benchmarks (name/param/impl, thread counts) and exit\n"
            "  --filter REGEX   run only rows whose \"name/param/impl\" matches (POSIX ERE)\n"
            "  --threads LIST   thread counts (default: 1 and the number of CPUs); a benchmark\n"
            "                   keeps those within its own range\n"
            "  --reps N         timed runs per row (default 5), after one warm-up run\n"
            "  --quick          small sizes (~10 ms per rep instead of ~50 ms)\n"
            "  --json FILE      also write the results as JSON to FILE ('-': stdout)\n"
            "Exit status: 0 all results checked, 1 a result check failed, 2 usage error.\n");
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool add_count(int *list, int *n, int v)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == v)
            return true;
    if (*n == BENCH_MAX_THREAD_COUNTS)
        return false;
    list[(*n)++] = v;
    return true;
}

static bool parse_threads(const char *s, config *c)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return false;
    c->nthreads = 0;
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        long v; /* an empty item ("1,,2", "2,") fails here */
        if (!parse_int(tok, 1, 4096, &v) || !add_count(c->threads, &c->nthreads, (int)v))
            return false;
    }
    return c->nthreads > 0;
}

/* Returns 0 to go on, or the exit status. */
static int parse_args(int argc, char **argv, config *c)
{
    c->reps = 5;
    c->ncpus = cpu_count();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--list")) {
            c->list = true;
        } else if (!strcmp(a, "--quick")) {
            c->quick = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--reps")) {
            if (!parse_int(v, 1, 100000, &n)) {
                fprintf(stderr, "weft-bench: --reps needs a count >= 1\n");
                return 2;
            }
            c->reps = (int)n;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (!v || !parse_threads(v, c)) {
                fprintf(stderr, "weft-bench: --threads needs a list like 1,2,4 (at most %d "
                                "counts, each 1..4096)\n", BENCH_MAX_THREAD_COUNTS);
                return 2;
            }
            c->threads_given = true;
            i++;
        } else if (!strcmp(a, "--filter")) {
            if (!v) {
                fprintf(stderr, "weft-bench: --filter needs a regular expression\n");
                return 2;
            }
            if (c->have_filter)
                regfree(&c->filter);
            int err = regcomp(&c->filter, v, REG_EXTENDED | REG_NOSUB);
            if (err) {
                char msg[256];
                regerror(err, &c->filter, msg, sizeof msg);
                fprintf(stderr, "weft-bench: bad --filter '%s': %s\n", v, msg);
                return 2;
            }
            c->have_filter = true;
            i++;
        } else if (!strcmp(a, "--json")) {
            if (!v) {
                fprintf(stderr, "weft-bench: --json needs a file name\n");
                return 2;
            }
            c->json_path = v;
            i++;
        } else {
            fprintf(stderr, "weft-bench: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!c->threads_given) {
        c->nthreads = 0;
        add_count(c->threads, &c->nthreads, 1);
        add_count(c->threads, &c->nthreads, c->ncpus);
    }
    return 0;
}

/* ------------------------------------------------------------------------------
 * Rows: one benchmark at one thread count */

typedef struct row {
    const bench_def *def;
    size_t def_index; /* registration order */
    size_t group;     /* index of the first benchmark with this name/param */
    int threads;
    /* results */
    uint64_t size, ops;
    bool ran, ok;
    double median_s, min_s, max_s;
} row;

static bool same_group(const bench_def *a, const bench_def *b)
{
    return !strcmp(a->name, b->name) && !strcmp(a->param, b->param);
}

static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->threads != b->threads)
        return a->threads < b->threads ? -1 : 1;
    return a->def_index < b->def_index ? -1 : a->def_index > b->def_index;
}

static bool matches(const config *c, const bench_def *d)
{
    if (!c->have_filter)
        return true;
    char key[512];
    snprintf(key, sizeof key, "%s/%s/%s", d->name, d->param, d->impl);
    return regexec(&c->filter, key, 0, NULL, 0) == 0;
}

/* The thread counts benchmark d runs at under config c. */
static int thread_counts(const config *c, const bench_def *d, int *out)
{
    const bench_threads *t = &d->threads;
    int min = t->min > 0 ? t->min : 1, max = t->max > 0 ? t->max : INT_MAX;
    int src[BENCH_MAX_THREAD_COUNTS], nsrc = 0;
    if (c->threads_given || t->defaults[0] == 0) {
        memcpy(src, c->threads, sizeof src);
        nsrc = c->nthreads;
    } else {
        for (; nsrc < BENCH_MAX_THREAD_COUNTS && t->defaults[nsrc]; nsrc++)
            src[nsrc] = t->defaults[nsrc] == BENCH_NCPUS ? c->ncpus : t->defaults[nsrc];
    }
    int n = 0;
    for (int i = 0; i < nsrc; i++)
        if (src[i] >= min && src[i] <= max)
            add_count(out, &n, src[i]);
    return n;
}

static row *make_rows(const config *c, const bench_registry *reg, size_t *nrows)
{
    row *rows = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < reg->count; i++) {
        const bench_def *d = reg->defs[i];
        if (!matches(c, d))
            continue;
        size_t group = i;
        for (size_t j = 0; j < i; j++)
            if (same_group(reg->defs[j], d)) {
                group = j;
                break;
            }
        int counts[BENCH_MAX_THREAD_COUNTS];
        int nc = thread_counts(c, d, counts);
        for (int k = 0; k < nc; k++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 32;
                rows = xrealloc(rows, cap * sizeof *rows);
            }
            rows[n++] = (row){.def = d, .def_index = i, .group = group, .threads = counts[k]};
        }
    }
    if (n)
        qsort(rows, n, sizeof *rows, row_cmp);
    *nrows = n;
    return rows;
}

/* Throughput in ops per second (whatever the unit shows). */
static double rate(const row *r)
{
    return r->median_s > 0 ? (double)r->ops / r->median_s : 0;
}

/* The throughput as the unit shows it: ops/s, or ns per op. */
static double shown_throughput(const row *r)
{
    if (unit_is_time(r->def->unit))
        return r->ops ? r->median_s * 1e9 / (double)r->ops : 0;
    return rate(r);
}

/* The weft row that row i compares against (same name/param/threads), or NULL. */
static const row *weft_peer(const row *rows, size_t nrows, size_t i)
{
    if (!strcmp(rows[i].def->impl, "weft"))
        return NULL;
    for (size_t j = 0; j < nrows; j++)
        if (rows[j].group == rows[i].group && rows[j].threads == rows[i].threads &&
            !strcmp(rows[j].def->impl, "weft") && rows[j].ran)
            return &rows[j];
    return NULL;
}

/* ------------------------------------------------------------------------------
 * Running */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* One call of the run function; returns its time and result. */
static double run_once(const row *r, uint64_t size, bench_result *res)
{
    bench_args a = {.threads = r->threads, .size = size, .arg = r->def->arg};
    double t0 = now_s();
    *res = r->def->run(&a);
    double t = now_s() - t0;
    return res->seconds > 0 ? res->seconds : t;
}

static void progress(bool tty, size_t k, size_t n, const row *r, const char *what, int rep,
                     int reps)
{
    fprintf(stderr, "%s[%zu/%zu] %s/%s %-7s threads=%-3d %s", tty ? "\r\033[K" : "", k + 1, n,
            r->def->name, r->def->param, r->def->impl, r->threads, what);
    if (rep > 0)
        fprintf(stderr, " %d/%d", rep, reps);
    fputs(tty ? "" : "\n", stderr);
    fflush(stderr);
}

static void run_row(const config *c, row *r, size_t k, size_t n, bool tty)
{
    const bench_def *d = r->def;
    /* A calibrated row starts from its quick size and scales up: starting from the
     * default size would let one slow implementation spend minutes on the first
     * warm-up alone (a mutex+condvar queue moves ~65k msgs/s through bounded(1)). */
    uint64_t size = (c->quick || !d->fixed_size) && d->quick_size ? d->quick_size : d->size;
    if (size == 0)
        size = 1;
    bench_result res;
    progress(tty, k, n, r, "warm-up", 0, c->reps);
    double t = run_once(r, size, &res);
    bool ok = res.ok;
    /* Calibrate: while the last warm-up missed the target by much, rescale the size
     * and warm up again (a few times at most: the machine may be noisy). */
    double target = c->quick ? QUICK_TARGET_S : TARGET_S;
    for (int tries = 0; !d->fixed_size && tries < 4 && (t < 0.8 * target || t > 4 * target);
         tries++) {
        double want = (double)size * 1.2 * target / (t > 1e-7 ? t : 1e-7);
        double cap = (double)size * 1000;
        want = want > cap ? cap : want;
        size = want < 1 ? 1 : want > 1e15 ? (uint64_t)1e15 : (uint64_t)want;
        progress(tty, k, n, r, "warm-up", 0, c->reps);
        t = run_once(r, size, &res);
        ok = ok && res.ok;
    }
    double *times = xrealloc(NULL, (size_t)c->reps * sizeof *times);
    uint64_t ops = 0;
    for (int rep = 0; rep < c->reps; rep++) {
        progress(tty, k, n, r, "rep", rep + 1, c->reps);
        times[rep] = run_once(r, size, &res);
        ok = ok && res.ok;
        if (rep == 0)
            ops = res.ops;
        else if (res.ops != ops)
            ok = false; /* same size, different work: something is off */
    }
    qsort(times, (size_t)c->reps, sizeof *times, cmp_double);
    int m = c->reps;
    r->median_s = m % 2 ? times[m / 2] : (times[m / 2 - 1] + times[m / 2]) / 2;
    r->min_s = times[0];
    r->max_s = times[m - 1];
    r->size = size;
    r->ops = ops;
    r->ok = ok;
    r->ran = true;
    free(times);
    if (!ok) {
        if (tty)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "weft-bench: CHECK FAILED: %s/%s/%s threads=%d\n", d->name, d->param,
                d->impl, r->threads);
    }
}

/* ------------------------------------------------------------------------------
 * Output */

static void format_throughput(const row *r, char *buf, size_t len)
{
    double v = shown_throughput(r);
    const char *unit = r->def->unit;
    if (unit_is_time(unit)) {
        snprintf(buf, len, "%.2f %s", v, unit);
        return;
    }
    const char *prefix = "";
    if (v >= 1e9) {
        v /= 1e9;
        prefix = "G";
    } else if (v >= 1e6) {
        v /= 1e6;
        prefix = "M";
    } else if (v >= 1e3) {
        v /= 1e3;
        prefix = "k";
    }
    snprintf(buf, len, "%.2f %s%s", v, prefix, unit);
}

static void print_table(const row *rows, size_t nrows)
{
    printf("weft/peer = weft throughput / peer throughput at the same threads (>1: weft faster)\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (i == 0 || r->group != rows[i - 1].group) {
            printf("\n%s/%s  (%s)\n", r->def->name, r->def->param, r->def->unit);
            printf("  %-8s %7s %10s %10s %10s %20s %10s  %s\n", "impl", "threads", "median s",
                   "min s", "max s", "throughput", "weft/peer", "check");
        }
        char tp[64], ratio[32] = "";
        format_throughput(r, tp, sizeof tp);
        const row *w = weft_peer(rows, nrows, i);
        if (w && (!w->ok || !r->ok))
            snprintf(ratio, sizeof ratio, "n/a");
        else if (w && rate(r) > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", rate(w) / rate(r));
        printf("  %-8s %7d %10.4f %10.4f %10.4f %20s %10s  %s\n", r->def->impl, r->threads,
               r->median_s, r->min_s, r->max_s, tp, ratio, r->ok ? "ok" : "FAILED");
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void write_json(FILE *f, const config *c, const row *rows, size_t nrows)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    fprintf(f, "{\n  \"machine\": {\"cpu\": ");
    json_string(f, cpu);
    fprintf(f, ", \"cores\": %d, \"compiler\": ", c->ncpus);
    json_string(f, WEFT_BENCH_COMPILER);
    fprintf(f, ", \"flags\": ");
    json_string(f, WEFT_BENCH_FLAGS);
    fprintf(f, "},\n  \"results\": [");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        fprintf(f, "%s\n    {\"benchmark\": ", i ? "," : "");
        json_string(f, r->def->name);
        fprintf(f, ", \"param\": ");
        json_string(f, r->def->param);
        fprintf(f, ", \"impl\": ");
        json_string(f, r->def->impl);
        fprintf(f, ", \"threads\": %d, \"median_s\": %.9g, \"min_s\": %.9g, \"max_s\": %.9g, "
                   "\"reps\": %d, \"throughput\": %.6g, \"unit\": ",
                r->threads, r->median_s, r->min_s, r->max_s, c->reps, shown_throughput(r));
        json_string(f, r->def->unit);
        fprintf(f, ", \"checked\": %s}", r->ok ? "true" : "false");
    }
    fprintf(f, "\n  ]\n}\n");
}

static void list_rows(const row *rows, size_t nrows)
{
    for (size_t i = 0; i < nrows;) {
        const bench_def *d = rows[i].def;
        /* rows of one def are not adjacent (sorted by threads): gather them */
        if (i > 0) {
            bool seen = false;
            for (size_t j = 0; j < i; j++)
                seen = seen || rows[j].def == d;
            if (seen) {
                i++;
                continue;
            }
        }
        printf("%s/%s/%s  threads:", d->name, d->param, d->impl);
        for (size_t j = i; j < nrows; j++)
            if (rows[j].def == d)
                printf(" %d", rows[j].threads);
        printf("  (%s)\n", d->unit);
        i++;
    }
}

int main(int argc, char **argv)
{
    config c = {0};
    int status = parse_args(argc, argv, &c);
    if (status)
        return status < 0 ? 0 : status;

    bench_registry reg = {.quick = c.quick};
    for (size_t i = 0; i < sizeof registrations / sizeof registrations[0]; i++)
        registrations[i](&reg);

    size_t nrows;
    row *rows = make_rows(&c, &reg, &nrows);
    if (nrows == 0) {
        fprintf(stderr, "weft-bench: no benchmark matches (try --list)\n");
        status = 2;
    } else if (c.list) {
        list_rows(rows, nrows);
    } else {
        FILE *json = NULL;
        if (c.json_path) {
            json = strcmp(c.json_path, "-") ? fopen(c.json_path, "w") : stdout;
            if (!json) {
                fprintf(stderr, "weft-bench: cannot open %s: %s\n", c.json_path, strerror(errno));
                status = 2;
            }
        }
        if (!status) {
            bool tty = isatty(STDERR_FILENO);
            printf("weft-bench: %d CPUs, %d reps per row (median of them), %s sizes\n", c.ncpus,
                   c.reps, c.quick ? "quick" : "default");
            fflush(stdout);
            size_t failed = 0;
            for (size_t i = 0; i < nrows; i++) {
                run_row(&c, &rows[i], i, nrows, tty);
                failed += !rows[i].ok;
            }
            if (tty)
                fputs("\r\033[K", stderr);
            print_table(rows, nrows);
            if (json) {
                write_json(json, &c, rows, nrows);
                if (json != stdout && fclose(json) != 0) {
                    fprintf(stderr, "weft-bench: writing %s failed\n", c.json_path);
                    status = 2;
                }
            }
            if (failed) {
                fflush(stdout);
                fprintf(stderr,
                        "\nweft-bench: FAILED: %zu row(s) did not pass their result check "
                        "(see CHECK FAILED above)\n",
                        failed);
                status = 1;
            }
        }
    }
    free(rows);
    free(reg.defs);
    if (c.have_filter)
        regfree(&c.filter);
    return status;
}
