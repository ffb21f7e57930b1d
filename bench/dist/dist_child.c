/* dist_child.c: weft-bench-dist, the program behind the dist_* rows of weft-bench
 * (bench/bench_dist.c starts it, once per rep; bench/README.md, "Rows across MPI
 * ranks").
 *
 *   weft-bench-dist seahorse|reduce weft|weft-mpi|openmp-mpi [quick]
 *   mpirun -np 1|2 weft-bench-dist costs
 *
 * weft: one process, no MPI, the kernel on the global pool (weft_par_for /
 * weft_par_reduce; WEFT_NUM_THREADS threads). weft-mpi: started by mpirun, the same
 * kernel through weft_dist_par_for / weft_dist_par_reduce. openmp-mpi: started by
 * mpirun, the code users write today: a static block of the range per rank, an OpenMP
 * loop over it inside (seahorse: `parallel for schedule(dynamic, 1)` over rows, the
 * in-node schedule that suits uneven rows best; reduce: `parallel reduction(+:)` over
 * static blocks), MPI_Reduce / MPI_Allreduce across ranks.
 *
 * Invariants: one untimed warm-up pass (pools, OpenMP teams, MPI connections and
 * windows made, pages touched), then one timed pass that starts after a barrier and
 * ends when the last rank is done (the largest end time over the ranks; the clock is
 * CLOCK_MONOTONIC, shared by every process of the node); both passes checked (the
 * seahorse's total iteration count, the Euler-Maclaurin sum). Rank 0 (or the lone
 * process) prints one line, `SECONDS OPS OK`, where OK is 1 when both checks held.
 *
 * `costs` measures what weft-dist-sim (dist_sim.c) takes as its model. With 2 or more
 * ranks: the round trip of one fetch-and-add on a counter in rank 0's window (the
 * other ranks fetching, rank 0 waiting), the time per atomic when every rank fetches
 * at once (the counter's service time) and one MPI_Allreduce of two ints. With one
 * rank: a weft_par_for of a chunk of ~0.1 ms of work on the pool, less that work
 * divided by the threads (a chunk's fixed cost). Medians of 9 batches, microseconds. */
#include <weft/dist.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernels and workloads of bench_par.c's "mandel seahorse 512^2 it=1000" and
 * "reduce n=1e8" rows, so that the rows can be read beside them. */
#define SEA_X0 (-0.85)
#define SEA_Y0 0.0
#define SEA_SPAN 0.2
/* Full, and --quick's (bench_par.c's "seahorse 128^2 it=200", "n=1e6"). */
static unsigned sea_side = 512, sea_iters = 1000;
static uint64_t sea_total = 216828767u;
static size_t sum_n = 100000000u;

static __attribute__((noinline)) uint64_t sea_rows(size_t r0, size_t r1)
{
    double step = SEA_SPAN / sea_side;
    uint64_t sum = 0;
    for (size_t r = r0; r < r1; r++) {
        double cy = SEA_Y0 + step * (double)r;
        for (unsigned x = 0; x < sea_side; x++) {
            double cx = SEA_X0 + step * x, zx = 0.0, zy = 0.0;
            unsigned k = 0;
            while (k < sea_iters && zx * zx + zy * zy <= 4.0) {
                double t = zx * zx - zy * zy + cx;
                zy = 2.0 * zx * zy + cy;
                zx = t;
                k++;
            }
            sum += k;
        }
    }
    return sum;
}

static __attribute__((noinline)) double sqrt_sum(size_t b, size_t e, double s)
{
    for (size_t i = b; i < e; i++)
        s += sqrt((double)i);
    return s;
}

static bool sqrt_sum_ok(size_t n, double got)
{
    double x = (double)n;
    double want = 2.0 / 3.0 * x * sqrt(x) - 0.5 * sqrt(x) - 0.2078862250773545 + 1.0 / (24.0 * sqrt(x));
    return fabs(got - want) <= 1e-9 * want;
}

/* ---- bodies for weft and weft-mpi ---- */

static int sea_body(void *ctx, size_t b, size_t e)
{
    atomic_fetch_add_explicit((atomic_ullong *)ctx, sea_rows(b, e), memory_order_relaxed);
    return 0;
}

static int sqrt_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    *(double *)acc = sqrt_sum(b, e, *(double *)acc);
    return 0;
}

static void sum_combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

typedef struct ctx {
    bool sea;
    int impl; /* 0 weft, 1 weft-mpi, 2 openmp-mpi */
    weft_dist *d;
    int rank, size;
} ctx;

/* One pass; true when its result checked out (on rank 0: the total). */
static bool pass(const ctx *c)
{
    if (c->sea) {
        unsigned long long mine = 0, total = 0;
        if (c->impl == 0) {
            atomic_ullong acc = 0;
            if (weft_par_for(0, sea_side, 0, sea_body, &acc) != 0)
                return false;
            return atomic_load(&acc) == sea_total;
        }
        if (c->impl == 1) {
            atomic_ullong acc = 0;
            if (weft_dist_par_for(c->d, 0, sea_side, 0, sea_body, &acc) != 0)
                return false;
            mine = atomic_load(&acc);
        } else {
            size_t q = sea_side / (size_t)c->size, r = sea_side % (size_t)c->size, me = (size_t)c->rank;
            long b = (long)(me * q + (me < r ? me : r)), e = b + (long)(q + (me < r));
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : mine)
            for (long row = b; row < e; row++)
                mine += sea_rows((size_t)row, (size_t)row + 1);
        }
        MPI_Reduce(&mine, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
        return c->rank != 0 || total == sea_total;
    }
    double zero = 0.0, s = 0.0;
    if (c->impl == 0)
        return weft_par_reduce(0, sum_n, 0, &zero, sqrt_fold, sum_combine, NULL, &s, sizeof s) == 0 &&
               sqrt_sum_ok(sum_n, s);
    if (c->impl == 1)
        return weft_dist_par_reduce(c->d, 0, sum_n, 0, &zero, sqrt_fold, sum_combine, NULL, &s, sizeof s) == 0 &&
               sqrt_sum_ok(sum_n, s);
    size_t q = sum_n / (size_t)c->size, r = sum_n % (size_t)c->size, me = (size_t)c->rank;
    size_t b = me * q + (me < r ? me : r), n = q + (me < r);
    double mine = 0.0;
#pragma omp parallel reduction(+ : mine)
    {
        /* schedule(static) by hand over the rank's block, the shared kernel on each
         * thread's block (as bench_par.c's OpenMP reduce row). */
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        size_t per = n / nt, extra = n % nt, tb = b + t * per + (t < extra ? t : extra);
        mine += sqrt_sum(tb, tb + per + (t < extra), 0.0);
    }
    MPI_Allreduce(&mine, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sqrt_sum_ok(sum_n, s);
}

/* A chunk of CHUNK_INDICES indices, each ~0.2 us of work (100 square roots). */
#define CHUNK_INDICES 256
static int work_body(void *sink, size_t b, size_t e)
{
    *(volatile double *)sink = sqrt_sum(b * 100, e * 100, 0.0);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 9 batches of `reps` calls of what(), in microseconds per call; every
 * rank runs it (with `alone`, rank 0 waits in the barriers while the others call). */
static double costs_median(int rank, bool alone, int reps, void (*what)(void *), void *arg)
{
    double t[9];
    for (int k = 0; k < 9; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        uint64_t t0 = weft_time_now_ns();
        if (!alone || rank != 0)
            for (int i = 0; i < reps; i++)
                what(arg);
        t[k] = (double)(weft_time_now_ns() - t0) / reps / 1e3;
        MPI_Barrier(MPI_COMM_WORLD);
    }
    qsort(t, 9, sizeof t[0], cmp_double);
    return t[4];
}

static void fetch_one(void *arg)
{
    uint64_t one = 1, old;
    MPI_Fetch_and_op(&one, &old, MPI_UINT64_T, 0, 0, MPI_SUM, *(MPI_Win *)arg);
    MPI_Win_flush(0, *(MPI_Win *)arg);
}

static void chunk_one(void *arg)
{
    weft_par_for(0, CHUNK_INDICES, 0, work_body, arg);
}

static void chunk_serial(void *arg)
{
    work_body(arg, 0, CHUNK_INDICES);
}

static void allreduce_one(void *arg)
{
    (void)arg;
    int in[2] = {1, 2}, out[2];
    MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
}

static int costs(int argc, char **argv)
{
    weft_dist *d;
    if (weft_dist_init(&argc, &argv, &d) != 0)
        return 1;
    int rank = weft_dist_rank(d), size = weft_dist_size(d);
    if (size == 1) {
        /* A chunk's fixed cost, the rank alone on the machine: its time on the pool
         * less its work divided by the threads. */
        volatile double sink;
        double serial = costs_median(rank, false, 400, chunk_serial, (void *)&sink);
        double pooled = costs_median(rank, false, 400, chunk_one, (void *)&sink);
        int threads = weft_pool_num_threads(NULL);
        printf("chunk of %.1f us of work: %.3f us on %d thread(s), fixed cost %.3f us\n", serial, pooled,
               threads, pooled - serial / threads);
    } else {
        MPI_Win win;
        uint64_t *base;
        MPI_Win_allocate(rank == 0 ? 8 : 0, 8, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
        double alone = costs_median(rank, true, 20000, fetch_one, &win);
        double all = costs_median(rank, false, 20000, fetch_one, &win);
        double red = costs_median(rank, false, 20000, allreduce_one, NULL);
        MPI_Win_unlock_all(win);
        MPI_Win_free(&win);
        double worst[3], mine[3] = {alone, all, red};
        MPI_Reduce(mine, worst, 3, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0)
            printf("atomic round trip %.3f us; %d ranks fetching at once: %.3f us per atomic each (counter: "
                   "%.3f us per atomic); allreduce of 2 ints %.3f us\n",
                   worst[0], size, worst[1], worst[1] / size, worst[2]);
    }
    weft_dist_finalize(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "costs") == 0)
        return costs(argc, argv);
    static const char *impls[] = {"weft", "weft-mpi", "openmp-mpi"};
    ctx c = {false, -1, NULL, 0, 1};
    for (int i = 0; (argc == 3 || argc == 4) && i < 3; i++)
        if (strcmp(argv[2], impls[i]) == 0)
            c.impl = i;
    if ((argc != 3 && !(argc == 4 && strcmp(argv[3], "quick") == 0)) || c.impl < 0 ||
        (strcmp(argv[1], "seahorse") && strcmp(argv[1], "reduce"))) {
        fprintf(stderr, "usage: weft-bench-dist seahorse|reduce weft|weft-mpi|openmp-mpi [quick]\n");
        return 2;
    }
    if (argc == 4) {
        sea_side = 128, sea_iters = 200, sea_total = 2830728u;
        sum_n = 1000000u;
    }
    c.sea = strcmp(argv[1], "seahorse") == 0;
    if (c.impl == 1) {
        int rc = weft_dist_init(&argc, &argv, &c.d);
        if (rc != 0) {
            fprintf(stderr, "weft-bench-dist: weft_dist_init: %s\n", weft_strerror(rc));
            return 1;
        }
        c.rank = weft_dist_rank(c.d);
        c.size = weft_dist_size(c.d);
    } else if (c.impl == 2) {
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &c.size);
#pragma omp parallel
        {
        }
    }
    bool ok = pass(&c);
    double seconds;
    if (c.impl == 0) {
        uint64_t t0 = weft_time_now_ns();
        ok = pass(&c) && ok;
        seconds = (double)(weft_time_now_ns() - t0) * 1e-9;
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
        uint64_t t0 = weft_time_now_ns();
        ok = pass(&c) && ok;
        /* The pass ends with the last rank: the latest end, from the earliest start. */
        unsigned long long se[2] = {~(unsigned long long)t0, weft_time_now_ns()}, all[2];
        int mine_ok = ok, all_ok = 0;
        MPI_Reduce(se, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
        MPI_Allreduce(&mine_ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
        seconds = (double)(all[1] - ~all[0]) * 1e-9;
        ok = all_ok;
    }
    if (c.rank == 0)
        printf("%.9f %zu %d\n", seconds, c.sea ? (size_t)sea_side * sea_side : sum_n, ok ? 1 : 0);
    if (c.impl == 1)
        weft_dist_finalize(c.d);
    else if (c.impl == 2)
        MPI_Finalize();
    return ok ? 0 : 1;
}
