/* bench_start.c: pool_start, what a short-lived program pays to make its first
 * parallel call: every sample starts a fresh process (fork, then exec of a small helper
 * built by bench/CMakeLists.txt from start/start_child.c) whose main makes one parallel
 * call and returns; weft (a weft_par_for on the global pool it starts), OpenMP (one
 * `parallel for`) and serial (the same loop, plain: the floor of starting and ending a
 * process here).
 *
 * Params, each the median of a run's samples in milliseconds:
 *  - "exit": from just before fork to just after waitpid (the whole process, as the
 *    shell that ran it sees it);
 *  - "first_call": from just before fork to the return of the child's call (the child
 *    reads CLOCK_MONOTONIC, the clock of weft_time_now_ns, shared by all processes);
 *  - "in_main": from the child's first line of main to the return of its call (what
 *    the program itself pays, without exec and the dynamic loader);
 *  - "calls=1000": as in_main, to the return of the last of 1000 calls back to back
 *    (a short tool's few milliseconds of loops: whether the threads help in its first
 *    milliseconds, which the other rows, warmed up, never see).
 *
 * Fairness invariants: the three helpers are one source file, compiled with the same
 * flags; each links only what it needs (the serial one neither hwloc nor libgomp), so
 * the difference to serial is what the runtime adds to a process; the thread count is
 * given to every child the way a user would (WEFT_NUM_THREADS, OMP_NUM_THREADS), with
 * every other variable of the parent's environment; the parent does the same fork,
 * pipe and waitpid for each. The rows of one param run interleaved, as every group.
 *
 * Checked: every child exits with status 0 (each of its calls wrote every element
 * exactly once) and reports two times in order, within the parent's fork..waitpid. */
#include "bench.h"

#include <weft/sync.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef enum start_stat { START_EXIT, START_FIRST_CALL, START_IN_MAIN } start_stat;
/* A row's statistic, and how many calls the child makes back to back (NULL: one). */
typedef struct start_kind {
    start_stat stat;
    const char *calls;
} start_kind;

/* The child's environment: the parent's, with WEFT_NUM_THREADS and OMP_NUM_THREADS set
 * to the row's thread count (their old values dropped). Built before fork: the child
 * only calls dup2, execve and _exit, which are async-signal-safe (the parent has other
 * threads). */
typedef struct child_env {
    char **vars; /* NULL-terminated; the two counts point into the buffers below */
    char weft[32], omp[32];
} child_env;

static bool child_env_init(child_env *e, int threads)
{
    size_t n = 0;
    while (environ[n])
        n++;
    if (!(e->vars = calloc(n + 3, sizeof *e->vars)))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "WEFT_NUM_THREADS=", 17) && strncmp(environ[i], "OMP_NUM_THREADS=", 16))
            e->vars[k++] = environ[i];
    snprintf(e->weft, sizeof e->weft, "WEFT_NUM_THREADS=%d", threads);
    snprintf(e->omp, sizeof e->omp, "OMP_NUM_THREADS=%d", threads);
    e->vars[k] = e->weft;
    e->vars[k + 1] = e->omp;
    return true;
}

/* One sample: start `path`, wait for it; *ms gets the row's statistic. False if the
 * child could not be started, failed or reported nonsense. */
static bool start_once(const char *path, char **env, const start_kind *k, double *ms)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    start_stat st = k->stat;
    char *const argv[] = {(char *)path, (char *)k->calls, NULL};
    uint64_t t0 = weft_time_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        /* dup2 clears close-on-exec on the copy: the child's stdout is the pipe. */
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(126);
        execve(path, argv, env);
        _exit(127);
    }
    close(fds[1]);
    int status = 0;
    bool ok = pid > 0;
    while (ok && waitpid(pid, &status, 0) < 0)
        ok = errno == EINTR;
    uint64_t t1 = weft_time_now_ns();
    char buf[64];
    ssize_t got = ok ? read(fds[0], buf, sizeof buf - 1) : -1;
    close(fds[0]);
    if (!ok || got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return false;
    buf[got] = '\0';
    unsigned long long main_ns, done_ns;
    if (sscanf(buf, "%llu %llu", &main_ns, &done_ns) != 2 || main_ns < t0 || done_ns < main_ns || t1 < done_ns)
        return false;
    uint64_t from = st == START_IN_MAIN ? main_ns : t0, to = st == START_EXIT ? t1 : done_ns;
    *ms = (double)(to - from) * 1e-6;
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* a->size samples; the value is their median (ms), ops the number of samples. */
static bench_result start_run(const bench_args *a, const char *path)
{
    bench_result res = {0};
    uint64_t n = a->size ? a->size : 1;
    double *ms = calloc(n, sizeof *ms);
    child_env env = {NULL, "", ""};
    bool ok = ms && child_env_init(&env, a->threads);
    for (uint64_t i = 0; i < n && ok; i++)
        ok = start_once(path, env.vars, a->arg, &ms[i]);
    if (ok) {
        qsort(ms, n, sizeof *ms, cmp_double);
        res.value = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    }
    res.ok = ok;
    res.ops = n;
    free(env.vars);
    free(ms);
    return res;
}

static bench_result start_weft_run(const bench_args *a) { return start_run(a, WEFT_BENCH_START_WEFT); }
static bench_result start_omp_run(const bench_args *a) { return start_run(a, WEFT_BENCH_START_OPENMP); }
static bench_result start_serial_run(const bench_args *a) { return start_run(a, WEFT_BENCH_START_SERIAL); }

static const start_kind kind_exit = {START_EXIT, NULL}, kind_first_call = {START_FIRST_CALL, NULL},
                        kind_in_main = {START_IN_MAIN, NULL}, kind_calls_1000 = {START_IN_MAIN, "1000"};

/* Samples per run: 20 (about 0.1 s at a few ms each), 5 with --quick. The serial child
 * starts no thread: one row, at 1 thread. */
#define START_ROWS(P, S)                                                                          \
    {"pool_start", #P, "weft", {.min = 1, .defaults = {BENCH_NCPUS}}, "ms", start_weft_run, 20, 5, \
     true, &S},                                                                                   \
    {"pool_start", #P, "openmp", {.min = 1, .defaults = {BENCH_NCPUS}}, "ms", start_omp_run, 20,  \
     5, true, &S},                                                                                \
    {"pool_start", #P, "serial", {.min = 1, .max = 1, .defaults = {1}}, "ms", start_serial_run,    \
     20, 5, true, &S}

static const bench_def start_benches[] = {
    START_ROWS(first_call, kind_first_call),
    START_ROWS(in_main, kind_in_main),
    START_ROWS(exit, kind_exit),
    START_ROWS(calls=1000, kind_calls_1000),
};

void bench_register_start(bench_registry *r)
{
    bench_registry_add(r, start_benches, sizeof start_benches / sizeof start_benches[0]);
}
