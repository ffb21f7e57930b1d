/* bench.h: the contract between the weft-bench driver (main.c) and the benchmark files
 * (bench_*.c).
 *
 * A benchmark is one row kind: {name, param, impl} with the thread counts it runs at,
 * its unit, and a run function that does the work once and reports how much work it
 * did (ops) and whether the result checked out. weft and its peers for the same job
 * share name and param and differ in impl, so the driver can put them side by side and
 * print the ratio weft/peer.
 *
 * Adding benchmarks: write bench_<topic>.c with a `static const bench_def` table and one
 * registration function `void bench_register_<topic>(bench_registry *r)` that calls
 * bench_registry_add; declare it below and list it in main.c's `registrations` array.
 *
 * Invariants the driver keeps: every row gets an untimed warm-up run (repeated a few
 * times at most while it calibrates the size), then `reps` timed runs with one size,
 * interleaved with the other rows of its name/param (so a run must not rely on the
 * previous run having been of the same row); a run whose check fails marks its row
 * failed and makes the whole process exit non-zero. Nothing here is global: a run gets
 * everything through its bench_args. */
#ifndef WEFT_BENCH_H
#define WEFT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <weft/runtime.h>

/* Thread-count lists are at most this long (defaults and --threads alike). */
#define BENCH_MAX_THREAD_COUNTS 16
/* In bench_threads.defaults: "the number of CPUs this process may run on". */
#define BENCH_NCPUS (-1)

/* What one run is asked to do. */
typedef struct bench_args {
    int threads;   /* how many threads the run should use (>= 1) */
    uint64_t size; /* work amount, in the benchmark's own terms (see bench_def.size) */
    const void *arg; /* bench_def.arg, for benchmark-specific parameters */
    /* --trace's run: the trace file the driver writes (its session is on); NULL
     * otherwise. Only a run that works in another process needs it (bench_run_in_child). */
    const char *trace_path;
    /* The driver's pools for the group being run (main.c), which bench_weft_timed
     * keeps from rep to rep; NULL: each call makes a pool of its own (a run in a
     * child process, whose inherited pools have no threads). */
    struct bench_pools *pools;
} bench_args;

/* What one run reports. */
typedef struct bench_result {
    uint64_t ops;   /* units of work done, the numerator of the throughput */
    bool ok;        /* the result checked out (counter sums, invariants, ...) */
    double seconds; /* > 0: the run timed its own measured phase (e.g. without thread
                       creation); 0: the driver times the whole call */
    double value;   /* measured-quantity rows only (see bench_def.unit): the quantity
                       this run measured, in the row's unit; ignored otherwise */
} bench_result;

typedef bench_result (*bench_run_fn)(const bench_args *a);

/* Which thread counts a benchmark runs at.
 *  - `--threads L` given: the counts of L within [min, max].
 *  - otherwise `defaults` (0-terminated; BENCH_NCPUS = the CPU count), within [min, max],
 *  - or, if defaults is empty, the driver's default list (1 and the CPU count).
 * max 0 means no upper bound. Duplicates are dropped. */
typedef struct bench_threads {
    int min, max;
    int defaults[BENCH_MAX_THREAD_COUNTS];
} bench_threads;

typedef struct bench_def {
    const char *name;  /* e.g. "mutex_contended"; shared by weft and its peers */
    const char *param; /* the workload variant, e.g. "n=30"; shared by weft and peers */
    /* "weft", "serial", "openmp", "pthread", "tbb" or "crossbeam"; a variant of one adds
     * "-<what>" (e.g. "weft-plain"). The driver compares the peers with "weft" and
     * computes speedups over "serial". */
    const char *impl;
    bench_threads threads;
    /* What the row reports, by the unit's form:
     *  - "<op>/s" (e.g. "ops/s", "rounds/s"): a rate, ops / seconds; higher is better.
     *  - "ns/<op>" (e.g. "ns/join") or "us/<op>" (e.g. "us/call"): a cost, shown as
     *    nanoseconds or microseconds per op; lower is better; the throughput is still
     *    ops / seconds, in "<op>/s".
     *  - anything else (e.g. "us" for a latency, "cpu%"): a measured quantity, not a
     *    work rate. Each run reports it in bench_result.value; the driver shows the
     *    median over the reps (with min and max); lower is better; there is no
     *    throughput, and the row's seconds are just how long a run took. */
    const char *unit;
    bench_run_fn run;
    uint64_t size;       /* default work amount for one run */
    uint64_t quick_size; /* with --quick */
    /* false: the driver rescales `size` during the warm-up so a rep takes about the
     * target time (50 ms, 10 ms with --quick); the run must then accept any size >= 1.
     * true: the size is part of the workload (e.g. fib's n) and is used as given. */
    bool fixed_size;
    const void *arg; /* passed to run in bench_args.arg */
} bench_def;

/* The driver's list of benchmarks (opaque to bench files). */
typedef struct bench_registry bench_registry;

/* Add `count` definitions (the table must outlive the process run: use static const).
 * Aborts the program with a message if out of memory. */
void bench_registry_add(bench_registry *r, const bench_def *defs, size_t count);

/* Whether this is a --quick run: a benchmark whose problem size is part of its param
 * (e.g. fib's "n=35") registers smaller problems, under their own params, then. */
bool bench_registry_quick(const bench_registry *r);

/* Run body(ctx, tid) on `threads` new pthreads, tid = 0 .. threads-1, released together
 * from a start gate; returns once all have finished. *seconds gets the time from the
 * release to the last thread's end (thread creation excluded). Returns 0, or a positive
 * errno if a thread could not be created (then no body has run). */
int bench_run_threads(int threads, void (*body)(void *ctx, int tid), void *ctx, double *seconds);

/* A timed loop that a run hands to a pool as its weft_fn's argument (the overhead rows
 * of bench_runtime.c, and their C++ twin in bench_cpp.cpp): `size` iterations in;
 * what they counted, their time and whether every call succeeded out. */
typedef struct bench_loop {
    uint64_t size;
    uint64_t done;
    double seconds;
    bool ok;
} bench_loop;

/* Size the OpenMP team to `threads` and start its threads: an OpenMP row calls it
 * before its clock starts, as weft's rows start their pool's workers. */
void bench_omp_warm(int threads);

/* Seconds on weft's monotonic clock (weft_time_now_ns). */
double bench_now_s(void);

/* A pool of `threads` workers with the default configuration (pinning, wait policy:
 * what a user gets), named "bench". NULL on error. */
weft_pool *bench_pool_new(int threads);

/* Run root(arg) once on a pool of a->threads workers (the default configuration a
 * user gets, names "bench-*"): the pool the driver keeps for that thread count while
 * the row's group runs (made on first use, its workers up and one empty run made each
 * way in; a->pools NULL: a fresh pool, destroyed after). Every rep of a row so runs
 * on the same pool, as OpenMP's rows reuse their team and oneTBB's its arena, and as
 * a program reuses the global pool. *seconds gets root's run alone. False if the pool
 * could not be made or a call failed. */
bool bench_weft_timed(const bench_args *a, void (*root)(void *arg), void *arg, double *seconds);

/* The same with root run by the calling thread itself, working in the pool as one of
 * its `threads` (weft_pool_execute): what a program's main does when it calls weft
 * where an OpenMP program opens a parallel region on its main thread. */
bool bench_weft_caller_timed(const bench_args *a, void (*root)(void *arg), void *arg, double *seconds);

/* Call call(arg) `calls` times, back to back, from the calling thread as a member of a
 * fresh pool of `threads` workers (weft_pool_execute per call): each call pays what a
 * parallel call made from outside the pools pays on entering one, where
 * bench_weft_timed's one weft_pool_run would pay it once for all of them. The pool is
 * made and its workers up before the clock; *seconds gets the calls alone. False if
 * the pool could not be made or a call failed. */
bool bench_weft_calls(int threads, uint64_t calls, void (*call)(void *arg), void *arg,
                      double *seconds);
/* bench_weft_calls with the calling thread asleep for pause_ns before each call (the
 * serial part of a program between its loops); *seconds gets the calls alone. */
bool bench_weft_calls_paused(int threads, uint64_t calls, uint64_t pause_ns, void (*call)(void *arg),
                             void *arg, double *seconds);

/* run(a) in a forked child process whose global pool has a->threads workers, started
 * (weft_pool_global_init, workers up) before run is called: a row that calls weft from
 * main as a user's program does (weft_par_for straight into the global pool: the
 * probe on the caller, the pool entered only for a parallel loop), where one process
 * cannot have a global pool of each thread count. run sets up, times and checks in
 * the child; its bench_result comes back through a pipe. On --trace's run the child
 * traces itself into a->trace_path with ".json" replaced by ".child.json". ok false
 * when the child could not run or did not report. */
bench_result bench_run_in_child(bench_run_fn run, const bench_args *a);

/* Start argv[0] (argv, envp as posix_spawn takes them) with its stdout on a pipe, read
 * what it prints (up to size - 1 bytes, NUL-terminated) into line, and reap it into
 * *status. False, with a message on stderr, when it could not be started or reaped;
 * the caller judges the status and the line. The peer programs a row runs in another
 * process (bench_crossbeam.c, bench_dist.c) print their figures on one line. */
bool bench_spawn_line(char *const argv[], char *const envp[], char *line, size_t size, int *status);

/* Registration functions, one per bench_*.c file (listed in main.c). */
void bench_register_sync(bench_registry *r);
void bench_register_runtime(bench_registry *r);
void bench_register_par(bench_registry *r);
void bench_register_loops(bench_registry *r);
void bench_register_sort(bench_registry *r);
void bench_register_chan(bench_registry *r);
void bench_register_uts(bench_registry *r);
void bench_register_start(bench_registry *r);
void bench_register_dist(bench_registry *r);
void bench_register_dataflow(bench_registry *r);

#endif /* WEFT_BENCH_H */
