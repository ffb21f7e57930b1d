/* main.c: the weft-bench driver. Parses the command line, expands the registered
 * benchmarks into rows (one per benchmark and thread count), runs them group by group
 * (a group: the rows of one name/param, every impl and thread count; each row warmed
 * up, then --reps timed runs per row, interleaved across the group), and prints a table
 * grouped by benchmark with the speedup over serial and the ratio weft/peer; optionally
 * JSON (bench/results.schema.json), CSV and markdown files too (formats: bench/README.md).
 *
 * Sizes: unless a benchmark fixes its size, the warm-up is also a calibration: it
 * starts from the benchmark's quick size (run twice, the faster counts) and is
 * rescaled (and repeated, a few times at most) until a run takes about the target
 * time, so every benchmark's reps last ~50 ms (~10 ms with --quick). At default sizes
 * the rows whose reps still took under 40 ms are listed on stderr at the end.
 *
 * Invariants: the rows of a group are all calibrated first, then their reps run
 * round-robin (one rep of each row per round, the first row rotating each round), so a
 * drift of the machine's load hits weft and its peers alike instead of whichever row
 * ran in it; every rep of a row uses the same size; a row is "checked" only if every
 * one of its runs (warm-up included) reported ok, and any unchecked row makes the exit
 * status 1. With --trace DIR each row also makes one untimed run, after its warm-up,
 * under weft_trace_start (the timeline pictures of `make bench`: bench/timelines.sh).
 * The weft pools of bench_weft_timed are kept from rep to rep while their group runs
 * (one per thread count, destroyed when the group ends), as a peer keeps its team.
 * No global mutable state: everything hangs off the driver struct in main(). */
#include "bench.h"
#include "machine.h"

#include <weft/runtime.h>
#include <weft/sync.h>
#include <weft/trace.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every bench_*.c file's registration function, in the order their rows appear. */
static void (*const registrations[])(bench_registry *r) = {
    bench_register_sync,
    bench_register_runtime,
    bench_register_par,
    bench_register_loops,
    bench_register_sort,
    bench_register_chan,
    bench_register_uts,
    bench_register_start,
    bench_register_dist,
    bench_register_dataflow,
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

double bench_now_s(void)
{
    return (double)weft_time_now_ns() * 1e-9;
}

void bench_omp_warm(int threads)
{
    omp_set_num_threads(threads);
#pragma omp parallel
    {
    }
}

static void bench_nop(void *arg)
{
    (void)arg;
}

weft_pool *bench_pool_new(int threads)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = (unsigned)threads;
    cfg.name_prefix = "bench";
    weft_pool *pool = NULL;
    if (weft_pool_create(&cfg, &pool) != 0)
        return NULL;
    return pool;
}

/* The pools bench_weft_timed keeps while a group runs: one per thread count, made on
 * first use, destroyed when the group ends (run_group). */
#define BENCH_KEPT_POOLS (BENCH_MAX_THREAD_COUNTS * 4)
typedef struct bench_pools {
    weft_pool *pool[BENCH_KEPT_POOLS];
    int threads[BENCH_KEPT_POOLS];
    int n;
} bench_pools;

/* A pool of `threads` with its workers up and one empty entry made each way
 * (weft_pool_run: on a worker; weft_pool_execute: on this thread, working in it). */
static weft_pool *warm_pool(int threads)
{
    weft_pool *pool = bench_pool_new(threads);
    if (pool && (weft_pool_run(pool, bench_nop, NULL) != 0 || weft_pool_execute(pool, bench_nop, NULL) != 0)) {
        weft_pool_destroy(pool);
        pool = NULL;
    }
    return pool;
}

/* ps's pool of `threads`, made now if it has none (NULL: it could not be). */
static weft_pool *pools_get(bench_pools *ps, int threads)
{
    for (int i = 0; i < ps->n; i++)
        if (ps->threads[i] == threads)
            return ps->pool[i];
    if (ps->n == BENCH_KEPT_POOLS)
        return NULL;
    weft_pool *pool = warm_pool(threads);
    if (pool) {
        ps->pool[ps->n] = pool;
        ps->threads[ps->n++] = threads;
    }
    return pool;
}

/* Destroy ps's pools; false if a destroy failed. */
static bool pools_release(bench_pools *ps)
{
    bool ok = true;
    for (int i = 0; i < ps->n; i++)
        ok = weft_pool_destroy(ps->pool[i]) == 0 && ok;
    ps->n = 0;
    return ok;
}

static bool weft_timed_via(int (*enter)(weft_pool *, weft_fn, void *), const bench_args *a, void (*root)(void *arg),
                           void *arg, double *seconds)
{
    weft_pool *pool = a->pools ? pools_get(a->pools, a->threads) : warm_pool(a->threads);
    if (!pool)
        return false;
    /* An empty entry each way first, as a fresh pool had: the workers are up when the
     * clock starts, whatever ran since the last rep. */
    bool ok = weft_pool_run(pool, bench_nop, NULL) == 0 && enter(pool, bench_nop, NULL) == 0;
    double t0 = bench_now_s();
    ok = enter(pool, root, arg) == 0 && ok;
    *seconds = bench_now_s() - t0;
    return (a->pools || weft_pool_destroy(pool) == 0) && ok;
}

bool bench_weft_timed(const bench_args *a, void (*root)(void *arg), void *arg, double *seconds)
{
    return weft_timed_via(weft_pool_run, a, root, arg, seconds);
}

bool bench_weft_caller_timed(const bench_args *a, void (*root)(void *arg), void *arg, double *seconds)
{
    return weft_timed_via(weft_pool_execute, a, root, arg, seconds);
}

bool bench_weft_calls_paused(int threads, uint64_t calls, uint64_t pause_ns, void (*call)(void *arg),
                             void *arg, double *seconds)
{
    weft_pool *pool = bench_pool_new(threads);
    if (!pool)
        return false;
    /* Workers up, as in bench_weft_timed; then the caller's own way in, once. */
    bool ok = weft_pool_run(pool, bench_nop, NULL) == 0 &&
              weft_pool_execute(pool, bench_nop, NULL) == 0;
    double spent = 0, t0 = bench_now_s();
    for (uint64_t k = 0; k < calls; k++) {
        if (pause_ns != 0) {
            weft_thread_sleep(pause_ns);
            t0 = bench_now_s();
        }
        ok = weft_pool_execute(pool, call, arg) == 0 && ok;
        if (pause_ns != 0)
            spent += bench_now_s() - t0;
    }
    *seconds = pause_ns != 0 ? spent : bench_now_s() - t0;
    return weft_pool_destroy(pool) == 0 && ok;
}

bool bench_weft_calls(int threads, uint64_t calls, void (*call)(void *arg), void *arg,
                      double *seconds)
{
    return bench_weft_calls_paused(threads, calls, 0, call, arg, seconds);
}

bench_result bench_run_in_child(bench_run_fn run, const bench_args *a)
{
    bench_result res = {0};
    int fd[2];
    if (pipe(fd) != 0) {
        perror("weft-bench: pipe");
        return res;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        perror("weft-bench: fork");
        close(fd[0]);
        close(fd[1]);
        return res;
    }
    if (pid == 0) {
        close(fd[0]);
        char path[4096];
        bool traced = false;
        if (a->trace_path) {
            size_t n = strlen(a->trace_path);
            n = n > 5 && !strcmp(a->trace_path + n - 5, ".json") ? n - 5 : n;
            snprintf(path, sizeof path, "%.*s.child.json", (int)n, a->trace_path);
            traced = weft_trace_start(path) == 0;
        }
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = (unsigned)a->threads;
        cfg.name_prefix = "bench";
        bench_result r = {0};
        if (weft_pool_global_init(&cfg) == 0 && weft_pool_run(NULL, bench_nop, NULL) == 0) {
            bench_args own = *a;
            own.pools = NULL; /* the parent's pools have no threads here */
            r = run(&own);
        }
        if (traced && weft_trace_stop() != 0)
            r.ok = false;
        bool sent = write(fd[1], &r, sizeof r) == (ssize_t)sizeof r;
        _exit(sent ? 0 : 1); /* the parent's atexit handlers are not the child's */
    }
    close(fd[1]);
    bench_result got;
    ssize_t n;
    while ((n = read(fd[0], &got, sizeof got)) < 0 && errno == EINTR) {
    }
    close(fd[0]);
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n == (ssize_t)sizeof got && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return got;
    fprintf(stderr, "weft-bench: a child run failed (status %d)\n", status);
    return res;
}

bool bench_spawn_line(char *const argv[], char *const envp[], char *line, size_t size, int *status)
{
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) != 0) {
        perror("weft-bench: pipe");
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (err) {
        close(fd[0]);
        fprintf(stderr, "weft-bench: cannot start %s: %s\n", argv[0], strerror(err));
        return false;
    }
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd[0], line + used, size - 1 - used);
        if (n > 0 && (used += (size_t)n) < size - 1)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        break; /* EOF, an error, or more than the line's room: the caller judges it */
    }
    line[used] = '\0';
    close(fd[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) {
            perror("weft-bench: waitpid");
            return false;
        }
    return true;
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

/* What a row's unit says it reports (see bench_def.unit). */
typedef enum unit_kind {
    KIND_RATE,   /* "<op>/s": ops per second, higher is better */
    KIND_COST,   /* "ns/<op>" or "us/<op>": time per op, lower is better */
    KIND_MEASURE /* anything else: a measured quantity (bench_result.value), lower is better */
} unit_kind;

/* Units per second of a cost unit's time: "ns/<op>" 1e9, "us/<op>" 1e6; 0 for any
 * other unit. */
static double cost_scale(const char *unit)
{
    if (strlen(unit) <= 3)
        return 0;
    return !strncmp(unit, "ns/", 3) ? 1e9 : !strncmp(unit, "us/", 3) ? 1e6 : 0;
}

static unit_kind unit_kind_of(const char *unit)
{
    size_t n = strlen(unit);
    if (cost_scale(unit) > 0)
        return KIND_COST;
    if (n > 2 && strcmp(unit + n - 2, "/s") == 0)
        return KIND_RATE;
    return KIND_MEASURE;
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
        rt->end_s[a->tid] = bench_now_s();
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
    double t0 = bench_now_s();
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
    const char *json_path, *csv_path, *md_path; /* NULL: not asked for */
    const char *trace_dir;                      /* --trace: NULL when not asked for */
    bench_pools *pools;                         /* kept while a group runs (run_group) */
} config;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft-bench [--list] [--filter REGEX] [--threads N,N,...] [--reps N]\n"
            "                  [--quick] [--json FILE] [--csv FILE] [--md FILE] [--trace DIR]\n"
            "  --list           list the benchmarks (name/param/impl, thread counts) and exit\n"
            "  --filter REGEX   run only rows whose \"name/param/impl\" matches (POSIX ERE)\n"
            "  --threads LIST   thread counts (default: 1 and the number of CPUs); a benchmark\n"
            "                   keeps those within its own range\n"
            "  --reps N         timed runs per row (default 5), after one warm-up run\n"
            "  --quick          small sizes (~10 ms per rep instead of ~50 ms)\n"
            "  --json FILE      also write the results as JSON to FILE ('-': stdout);\n"
            "                   the format is bench/results.schema.json\n"
            "  --csv FILE       also write them as CSV (one header line, one line per row)\n"
            "  --md FILE        also write them as a markdown report (machine header, tables)\n"
            "  --trace DIR      also run each row once more after its warm-up, untimed, traced\n"
            "                   (weft/trace.h) into DIR/<name>-<param>-<impl>-t<threads>.json\n"
            "                   (a row run in a child process, the sweeps' weft rows: its\n"
            "                   child's trace is beside it, as <...>.child.json)\n"
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
        } else if (!strcmp(a, "--json") || !strcmp(a, "--csv") || !strcmp(a, "--md")) {
            if (!v) {
                fprintf(stderr, "weft-bench: %s needs a file name\n", a);
                return 2;
            }
            *(a[2] == 'j' ? &c->json_path : a[2] == 'c' ? &c->csv_path : &c->md_path) = v;
            i++;
        } else if (!strcmp(a, "--trace")) {
            if (!v || !*v) {
                fprintf(stderr, "weft-bench: --trace needs a directory\n");
                return 2;
            }
            c->trace_dir = v;
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
    unit_kind kind;
    /* results */
    uint64_t size, ops;
    bool ran, ok;
    double median_s, min_s, max_s;       /* duration of a timed rep */
    double value, value_min, value_max;  /* what the row reports, in def->unit */
    /* while its group runs (calibrate_row .. finish_row): each rep's time and value */
    double *times, *values;
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
            rows[n++] = (row){.def = d,
                              .def_index = i,
                              .group = group,
                              .threads = counts[k],
                              .kind = unit_kind_of(d->unit)};
        }
    }
    if (n)
        qsort(rows, n, sizeof *rows, row_cmp);
    *nrows = n;
    return rows;
}

/* Throughput in ops per second; NAN for measured quantities (they have none). */
static double throughput(const row *r)
{
    if (r->kind == KIND_MEASURE || !(r->median_s > 0))
        return NAN;
    return (double)r->ops / r->median_s;
}

/* The throughput's unit: the row's unit, or "<op>/s" for a "ns/<op>" or "us/<op>" row;
 * NULL for a measured quantity. */
static const char *throughput_unit(const row *r, char *buf, size_t len)
{
    if (r->kind == KIND_MEASURE)
        return NULL;
    if (r->kind == KIND_RATE)
        return r->def->unit;
    snprintf(buf, len, "%s/s", r->def->unit + 3);
    return buf;
}

static bool lower_is_better(const row *r)
{
    return r->kind != KIND_RATE;
}

/* Whether the row's impl is exactly `impl` (a variant such as "weft-plain" is not "weft"). */
static bool impl_is(const row *r, const char *family)
{
    return !strcmp(r->def->impl, family);
}

/* The weft row that row i compares against (same name/param/threads), or NULL. */
static const row *weft_peer(const row *rows, size_t nrows, size_t i)
{
    if (impl_is(&rows[i], "weft"))
        return NULL;
    for (size_t j = 0; j < nrows; j++)
        if (rows[j].group == rows[i].group && rows[j].threads == rows[i].threads &&
            impl_is(&rows[j], "weft") && rows[j].ran)
            return &rows[j];
    return NULL;
}

/* How many times better weft does than the peer row i (> 1: weft better): the ratio of
 * the throughputs, or for a measured quantity peer value / weft value. NAN when there
 * is nothing to compare (a weft row, no weft row, a failed check, a zero). */
static double weft_ratio(const row *rows, size_t nrows, size_t i)
{
    const row *w = weft_peer(rows, nrows, i), *r = &rows[i];
    if (!w || !w->ok || !r->ok)
        return NAN;
    double a = r->kind == KIND_MEASURE ? r->value : throughput(w);
    double b = r->kind == KIND_MEASURE ? w->value : throughput(r);
    return a > 0 && b > 0 ? a / b : NAN;
}

/* Speedup of row i over the serial implementation of its benchmark (its throughput
 * over serial's, the serial row with the fewest threads); NAN when the benchmark has
 * no serial row or reports a measured quantity. */
static double serial_speedup(const row *rows, size_t nrows, size_t i)
{
    const row *r = &rows[i], *s = NULL;
    if (r->kind == KIND_MEASURE || !r->ok)
        return NAN;
    for (size_t j = 0; j < nrows; j++)
        if (rows[j].group == r->group && impl_is(&rows[j], "serial") && rows[j].ran &&
            rows[j].ok && (!s || rows[j].threads < s->threads))
            s = &rows[j];
    if (!s)
        return NAN;
    double a = throughput(r), b = throughput(s);
    return a > 0 && b > 0 ? a / b : NAN;
}

/* ------------------------------------------------------------------------------
 * Running */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One call of the run function; returns its time and result. */
static double run_once(const config *c, const row *r, uint64_t size, bench_result *res, const char *trace_path)
{
    bench_args a = {
        .threads = r->threads, .size = size, .arg = r->def->arg, .trace_path = trace_path, .pools = c->pools};
    double t0 = bench_now_s();
    *res = r->def->run(&a);
    double t = bench_now_s() - t0;
    if (r->kind == KIND_MEASURE && !(res->value >= 0 && isfinite(res->value)))
        res->ok = false; /* a measured quantity must be a number */
    return res->seconds > 0 ? res->seconds : t;
}

/* The progress line on stderr: rewritten in place on a terminal, one line each
 * otherwise (a log file then shows how far a run got). */
static void progress(bool tty, size_t k, size_t n, const row *r, const char *what, int rep,
                     int reps)
{
    fprintf(stderr, "%s[%zu/%zu] %s/%s %s threads=%d: %s", tty ? "\r\033[K" : "", k + 1, n,
            r->def->name, r->def->param, r->def->impl, r->threads, what);
    if (rep > 0)
        fprintf(stderr, " %d of %d", rep, reps);
    fputs(tty ? "" : "\n", stderr);
    fflush(stderr);
}

/* Calibrate row r: its untimed warm-up runs, which (unless the size is fixed) also pick
 * the size every rep of the row will use. Leaves r ready for run_rep: size set, the
 * per-rep arrays allocated, ok saying whether every warm-up checked out. */
static void calibrate_row(const config *c, row *r, size_t k, size_t n, bool tty)
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
    double t = run_once(c, r, size, &res, NULL);
    bool ok = res.ok;
    if (!d->fixed_size) {
        /* A second warm-up at the same size: calibrating from the faster of two runs
         * keeps one preempted run from shrinking every rep below the target. */
        double t2 = run_once(c, r, size, &res, NULL);
        ok = ok && res.ok;
        t = t2 < t ? t2 : t;
    }
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
        t = run_once(c, r, size, &res, NULL);
        ok = ok && res.ok;
    }
    r->size = size;
    r->ok = ok;
    r->times = xrealloc(NULL, (size_t)c->reps * sizeof *r->times);
    r->values = xrealloc(NULL, (size_t)c->reps * sizeof *r->values);
}

/* --trace: one more run of calibrated row r, untimed, traced into the trace
 * directory, named after the row (characters other than letters, digits, '.', '='
 * and '-' become '_'; '/' between name, param and impl becomes '-'). */
static void trace_row(const config *c, row *r, size_t k, size_t n, bool tty)
{
    char name[256], path[4096];
    snprintf(name, sizeof name, "%s-%s-%s-t%d", r->def->name, r->def->param, r->def->impl, r->threads);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '=' || *p == '-'))
            *p = *p == '/' ? '-' : '_';
    snprintf(path, sizeof path, "%s/%s.json", c->trace_dir, name);
    progress(tty, k, n, r, "traced run", 0, c->reps);
    int rc = weft_trace_start(path);
    if (rc != 0) {
        fprintf(stderr, "%sweft-bench: cannot trace into %s: %s\n", tty ? "\r\033[K" : "", path, weft_strerror(rc));
        return;
    }
    bench_result res;
    run_once(c, r, r->size, &res, path);
    r->ok = r->ok && res.ok;
    rc = weft_trace_stop();
    if (rc != 0)
        fprintf(stderr, "%sweft-bench: writing %s failed: %s\n", tty ? "\r\033[K" : "", path, weft_strerror(rc));
}

/* Timed rep number `rep` (0-based; reps of one row run in order) of a calibrated row. */
static void run_rep(const config *c, row *r, int rep, size_t k, size_t n, bool tty)
{
    bench_result res;
    progress(tty, k, n, r, "rep", rep + 1, c->reps);
    r->times[rep] = run_once(c, r, r->size, &res, NULL);
    r->values[rep] = res.value;
    r->ok = r->ok && res.ok;
    if (rep == 0)
        r->ops = res.ops;
    else if (res.ops != r->ops)
        r->ok = false; /* same size, different work: something is off */
}

/* After all reps of row r: its median, min and max and what it reports; names it on
 * stderr if a check failed. */
static void finish_row(const config *c, row *r, bool tty)
{
    int m = c->reps;
    uint64_t ops = r->ops;
    r->median_s = median_of(r->times, m); /* sorts times */
    r->min_s = r->times[0];
    r->max_s = r->times[m - 1];
    r->ran = true;
    switch (r->kind) {
    case KIND_RATE: /* the fastest rep has the highest rate */
        r->value = throughput(r);
        r->value_min = r->max_s > 0 ? (double)ops / r->max_s : NAN;
        r->value_max = r->min_s > 0 ? (double)ops / r->min_s : NAN;
        break;
    case KIND_COST: {
        double scale = cost_scale(r->def->unit);
        r->value = ops ? r->median_s * scale / (double)ops : NAN;
        r->value_min = ops ? r->min_s * scale / (double)ops : NAN;
        r->value_max = ops ? r->max_s * scale / (double)ops : NAN;
        break;
    }
    case KIND_MEASURE:
        r->value = median_of(r->values, m);
        r->value_min = r->values[0];
        r->value_max = r->values[m - 1];
        break;
    }
    free(r->times);
    free(r->values);
    r->times = r->values = NULL;
    if (!r->ok) {
        if (tty)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "weft-bench: CHECK FAILED: %s/%s/%s threads=%d\n", r->def->name,
                r->def->param, r->def->impl, r->threads);
    }
}

/* Run the group of rows[first .. first+count-1] (one name/param: every impl and thread
 * count): calibrate each row, then run the reps round-robin over the rows, one rep of
 * each per round, the round's first row rotating by one each round; then finish each
 * row. A change of the machine's load during the group so hits every row alike instead
 * of the rows that happened to run then. Returns how many rows failed a check. */
static size_t run_group(const config *c, row *rows, size_t first, size_t count, size_t nrows,
                        bool tty)
{
    for (size_t j = 0; j < count; j++) {
        calibrate_row(c, &rows[first + j], first + j, nrows, tty);
        if (c->trace_dir)
            trace_row(c, &rows[first + j], first + j, nrows, tty);
    }
    for (int rep = 0; rep < c->reps; rep++)
        for (size_t j = 0; j < count; j++) {
            size_t i = first + ((size_t)rep + j) % count;
            run_rep(c, &rows[i], rep, i, nrows, tty);
        }
    size_t failed = 0;
    if (!pools_release(c->pools)) {
        fprintf(stderr, "weft-bench: a pool of %s/%s failed to stop\n", rows[first].def->name, rows[first].def->param);
        failed++;
    }
    for (size_t j = 0; j < count; j++) {
        finish_row(c, &rows[first + j], tty);
        failed += !rows[first + j].ok;
    }
    return failed;
}

/* ------------------------------------------------------------------------------
 * Output */

/* The value the tables show: a rate with an SI prefix ("1.23 Mmsgs/s"), a cost
 * ("12.34 ns/join", "3.21 us/call") or a measured quantity ("52.10 us", "0.25 cpu%"). */
static void format_value(const row *r, double v, char *buf, size_t len)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return;
    }
    const char *unit = r->def->unit;
    if (r->kind != KIND_RATE) {
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

static void format_ratio(double v, char *buf, size_t len)
{
    if (isfinite(v))
        snprintf(buf, len, "%.2fx", v);
    else
        snprintf(buf, len, "-");
}

/* The sorted, distinct thread counts of the rows that ran, as "1,2". */
static void threads_used(const row *rows, size_t nrows, char *buf, size_t len)
{
    int counts[BENCH_MAX_THREAD_COUNTS * 4];
    int n = 0;
    for (size_t i = 0; i < nrows; i++) {
        bool seen = false;
        for (int j = 0; j < n; j++)
            seen = seen || counts[j] == rows[i].threads;
        if (!seen && rows[i].ran && n < (int)(sizeof counts / sizeof counts[0]))
            counts[n++] = rows[i].threads;
    }
    for (int i = 1; i < n; i++) /* insertion sort: a handful of counts */
        for (int j = i; j > 0 && counts[j - 1] > counts[j]; j--) {
            int t = counts[j];
            counts[j] = counts[j - 1];
            counts[j - 1] = t;
        }
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", counts[i]);
}

static const char *legend =
    "median/min/max s: duration of one timed rep. value: throughput, cost per op (ns/, us/) or\n"
    "measured quantity (us, cpu%), median over the reps. vs serial: throughput / the serial\n"
    "implementation's. weft/peer: how many times better weft does than that peer at the\n"
    "same threads (>1: weft better; throughput ratio, or peer/weft for lower-is-better).\n";

static void print_machine(FILE *f, const bench_machine *m, const char *prefix, const char *threads)
{
    fprintf(f, "%scpu: %s (%d CPUs allowed)\n", prefix, m->cpu, m->cpus_allowed);
    fprintf(f, "%stopology (hwloc): %s\n", prefix, m->topology);
    fprintf(f, "%scompiler: %s; flags: %s\n", prefix, m->compiler, m->flags);
    fprintf(f, "%sgit commit: %s; date: %s; threads: %s\n", prefix, m->git, m->date, threads);
}

static void print_table(const config *c, const bench_machine *m, const row *rows, size_t nrows)
{
    char threads[128];
    threads_used(rows, nrows, threads, sizeof threads);
    printf("\nweft-bench results: %d reps per row, %s sizes\n", c->reps,
           c->quick ? "quick" : "default");
    print_machine(stdout, m, "  ", threads);
    fputs(legend, stdout);
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (i == 0 || r->group != rows[i - 1].group) {
            printf("\n%s/%s  (%s, %s is better)\n", r->def->name, r->def->param, r->def->unit,
                   lower_is_better(r) ? "lower" : "higher");
            printf("  %-12s %7s %9s %9s %9s %18s %9s %9s  %s\n", "impl", "threads", "median s",
                   "min s", "max s", "value", "vs serial", "weft/peer", "check");
        }
        char v[64], sp[32], ratio[32];
        format_value(r, r->value, v, sizeof v);
        format_ratio(serial_speedup(rows, nrows, i), sp, sizeof sp);
        format_ratio(weft_ratio(rows, nrows, i), ratio, sizeof ratio);
        printf("  %-12s %7d %9.4f %9.4f %9.4f %18s %9s %9s  %s\n", r->def->impl, r->threads,
               r->median_s, r->min_s, r->max_s, v, sp, ratio, r->ok ? "ok" : "FAILED");
    }
}

static void json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
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

/* A JSON number, or null for NAN/infinity (JSON has neither). */
static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void write_json(FILE *f, const config *c, const bench_machine *m, const row *rows,
                       size_t nrows)
{
    char threads[128];
    threads_used(rows, nrows, threads, sizeof threads);
    fprintf(f, "{\n  \"machine\": {\n    \"cpu\": ");
    json_string(f, m->cpu);
    fprintf(f, ",\n    \"cpus_allowed\": %d,\n    \"cores\": %d,\n", m->cpus_allowed, m->cores);
    fprintf(f, "    \"topology\": {\"packages\": %d, \"numa_nodes\": %d, \"cores\": %d, "
               "\"pus\": %d, \"l3_caches\": %d, \"l3_bytes\": %llu, \"summary\": ",
            m->packages, m->numa_nodes, m->cores, m->pus, m->l3_caches,
            (unsigned long long)m->l3_bytes);
    json_string(f, m->topology);
    fprintf(f, "},\n    \"compiler\": ");
    json_string(f, m->compiler);
    fprintf(f, ",\n    \"flags\": ");
    json_string(f, m->flags);
    fprintf(f, ",\n    \"git_commit\": ");
    json_string(f, m->git);
    fprintf(f, ",\n    \"date\": ");
    json_string(f, m->date);
    fprintf(f, ",\n    \"threads\": [%s],\n    \"reps\": %d,\n    \"quick\": %s\n  },\n",
            threads, c->reps, c->quick ? "true" : "false");
    fprintf(f, "  \"results\": [");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        char ubuf[64];
        fprintf(f, "%s\n    {\"benchmark\": ", i ? "," : "");
        json_string(f, r->def->name);
        fprintf(f, ", \"param\": ");
        json_string(f, r->def->param);
        fprintf(f, ", \"impl\": ");
        json_string(f, r->def->impl);
        fprintf(f, ", \"threads\": %d, \"median_s\": ", r->threads);
        json_number(f, r->median_s);
        fprintf(f, ", \"min_s\": ");
        json_number(f, r->min_s);
        fprintf(f, ", \"max_s\": ");
        json_number(f, r->max_s);
        fprintf(f, ", \"reps\": %d, \"size\": %llu, \"throughput\": ", c->reps,
                (unsigned long long)r->size);
        json_number(f, throughput(r));
        fprintf(f, ", \"unit\": ");
        json_string(f, throughput_unit(r, ubuf, sizeof ubuf));
        fprintf(f, ", \"value\": ");
        json_number(f, r->value);
        fprintf(f, ", \"value_min\": ");
        json_number(f, r->value_min);
        fprintf(f, ", \"value_max\": ");
        json_number(f, r->value_max);
        fprintf(f, ", \"value_unit\": ");
        json_string(f, r->def->unit);
        fprintf(f, ", \"better\": \"%s\", \"speedup\": ", lower_is_better(r) ? "lower" : "higher");
        json_number(f, serial_speedup(rows, nrows, i));
        fprintf(f, ", \"weft_ratio\": ");
        json_number(f, weft_ratio(rows, nrows, i));
        fprintf(f, ", \"checked\": %s}", r->ok ? "true" : "false");
    }
    fprintf(f, "\n  ]\n}\n");
}

/* A CSV field: quoted, inner quotes doubled (RFC 4180). */
static void csv_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A CSV number; empty for none. */
static void csv_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
}

static void write_csv(FILE *f, const config *c, const row *rows, size_t nrows)
{
    fputs("benchmark,param,impl,threads,median_s,min_s,max_s,reps,size,throughput,unit,"
          "value,value_min,value_max,value_unit,better,speedup,weft_ratio,checked\n",
          f);
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        char ubuf[64];
        csv_string(f, r->def->name);
        fputc(',', f);
        csv_string(f, r->def->param);
        fputc(',', f);
        csv_string(f, r->def->impl);
        fprintf(f, ",%d,", r->threads);
        csv_number(f, r->median_s);
        fputc(',', f);
        csv_number(f, r->min_s);
        fputc(',', f);
        csv_number(f, r->max_s);
        fprintf(f, ",%d,%llu,", c->reps, (unsigned long long)r->size);
        csv_number(f, throughput(r));
        fputc(',', f);
        csv_string(f, throughput_unit(r, ubuf, sizeof ubuf));
        fputc(',', f);
        csv_number(f, r->value);
        fputc(',', f);
        csv_number(f, r->value_min);
        fputc(',', f);
        csv_number(f, r->value_max);
        fputc(',', f);
        csv_string(f, r->def->unit);
        fprintf(f, ",%s,", lower_is_better(r) ? "lower" : "higher");
        csv_number(f, serial_speedup(rows, nrows, i));
        fputc(',', f);
        csv_number(f, weft_ratio(rows, nrows, i));
        fprintf(f, ",%s\n", r->ok ? "true" : "false");
    }
}

/* Markdown: the machine header, then one table per benchmark. '|' in a param would
 * break a table cell; none has one, and it is escaped anyway. */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void write_md(FILE *f, const config *c, const bench_machine *m, const row *rows,
                     size_t nrows)
{
    char threads[128];
    threads_used(rows, nrows, threads, sizeof threads);
    fprintf(f, "# weft-bench results\n\n");
    fprintf(f, "| machine | |\n|---|---|\n");
    fprintf(f, "| CPU | ");
    md_text(f, m->cpu);
    fprintf(f, " |\n| CPUs allowed | %d |\n| topology (hwloc) | ", m->cpus_allowed);
    md_text(f, m->topology);
    fprintf(f, " |\n| compiler | ");
    md_text(f, m->compiler);
    fprintf(f, " |\n| flags | `");
    md_text(f, m->flags);
    fprintf(f, "` |\n| git commit | `%s` |\n| date (UTC) | %s |\n| threads | %s |\n", m->git,
            m->date, threads);
    fprintf(f, "| reps per row | %d (median, min, max) |\n| sizes | %s |\n\n", c->reps,
            c->quick ? "quick (--quick)" : "default");
    fprintf(f, "*value*: the median over the reps of the throughput, the cost per op "
               "(ns/..., us/...) or the measured quantity (us, cpu%%). *vs serial*: "
               "throughput over the serial implementation's. *weft/peer*: how many times "
               "better weft does than that peer at the same thread count (> 1: weft better). "
               "*checked*: every run's result was verified.\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (i == 0 || r->group != rows[i - 1].group) {
            fprintf(f, "\n## %s / ", r->def->name);
            md_text(f, r->def->param);
            fprintf(f, " (%s, %s is better)\n\n", r->def->unit,
                    lower_is_better(r) ? "lower" : "higher");
            fprintf(f, "| impl | threads | median s | min s | max s | value | vs serial | "
                       "weft/peer | checked |\n");
            fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        }
        char v[64], sp[32], ratio[32];
        format_value(r, r->value, v, sizeof v);
        format_ratio(serial_speedup(rows, nrows, i), sp, sizeof sp);
        format_ratio(weft_ratio(rows, nrows, i), ratio, sizeof ratio);
        fprintf(f, "| %s | %d | %.4f | %.4f | %.4f | %s | %s | %s | %s |\n", r->def->impl,
                r->threads, r->median_s, r->min_s, r->max_s, v, sp, ratio,
                r->ok ? "yes" : "**FAILED**");
    }
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

/* An output file: '-' is stdout. NULL (and a message) if it cannot be opened. */
static FILE *open_out(const char *path)
{
    if (!path)
        return NULL;
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "weft-bench: cannot open %s: %s\n", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path)
{
    if (!f)
        return 0;
    int err = f == stdout ? fflush(f) : fclose(f);
    if (err != 0) {
        fprintf(stderr, "weft-bench: writing %s failed\n", path);
        return 2;
    }
    return 0;
}

/* Honesty audit: at default sizes no rep should be much shorter than the target (a
 * short rep measures the timer and the noise). Lists the rows that were. */
static void warn_short(const config *c, const row *rows, size_t nrows)
{
    if (c->quick)
        return;
    size_t shown = 0;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (!r->ran || r->median_s >= 0.8 * TARGET_S)
            continue;
        if (shown++ == 0)
            fprintf(stderr, "weft-bench: note: rows whose reps took under %.0f ms (noisy):\n",
                    0.8 * TARGET_S * 1e3);
        fprintf(stderr, "  %s/%s/%s threads=%d: %.1f ms\n", r->def->name, r->def->param,
                r->def->impl, r->threads, r->median_s * 1e3);
    }
}

int main(int argc, char **argv)
{
    bench_pools pools = {0};
    config c = {.pools = &pools};
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
        /* Open every output first: a bad path fails before minutes of running. */
        FILE *json = open_out(c.json_path), *csv = open_out(c.csv_path),
             *md = open_out(c.md_path);
        if ((c.json_path && !json) || (c.csv_path && !csv) || (c.md_path && !md))
            status = 2;
        if (!status && c.trace_dir && mkdir(c.trace_dir, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "weft-bench: cannot make %s: %s\n", c.trace_dir, strerror(errno));
            status = 2;
        }
        if (!status) {
            bench_machine m;
            bench_machine_probe(&m, c.ncpus);
            bool tty = isatty(STDERR_FILENO);
            printf("weft-bench: %s, %d CPUs allowed, %d reps per row (median of them), %s "
                   "sizes, %zu rows\n",
                   m.cpu, c.ncpus, c.reps, c.quick ? "quick" : "default", nrows);
            fflush(stdout);
            size_t failed = 0;
            for (size_t i = 0, end; i < nrows; i = end) {
                for (end = i + 1; end < nrows && rows[end].group == rows[i].group; end++)
                    ;
                failed += run_group(&c, rows, i, end - i, nrows, tty);
            }
            if (tty)
                fputs("\r\033[K", stderr);
            print_table(&c, &m, rows, nrows);
            fflush(stdout);
            if (json)
                write_json(json, &c, &m, rows, nrows);
            if (csv)
                write_csv(csv, &c, rows, nrows);
            if (md)
                write_md(md, &c, &m, rows, nrows);
            warn_short(&c, rows, nrows);
            if (failed) {
                fflush(stdout);
                fprintf(stderr,
                        "\nweft-bench: FAILED: %zu row(s) did not pass their result check "
                        "(see CHECK FAILED above)\n",
                        failed);
                status = 1;
            }
        }
        int e1 = close_out(json, c.json_path), e2 = close_out(csv, c.csv_path),
            e3 = close_out(md, c.md_path);
        if (!status && (e1 || e2 || e3))
            status = 2;
    }
    free(rows);
    free(reg.defs);
    if (c.have_filter)
        regfree(&c.filter);
    return status;
}
