/* mpi_uneven.c: an uneven loop keeps every rank busy to the end. The rows of the
 * Mandelbrot set's Seahorse Valley (bench/bench_par.c's "seahorse" window, smaller),
 * whose first half of rows holds most of the work: with the dynamic schedule, each
 * rank's last body ends close to the end of the call (its idle tail is at most a
 * quarter of the call; a static split leaves the rank with the light half idle for
 * a good part of it, printed beside for the log), every rank runs rows, and every row
 * is computed once (the total iteration count equals the serial one).
 * The tolerance is wide on purpose: ctest runs this oversubscribed (3 ranks x 2
 * threads on 2 CPUs) and beside other jobs; the bench rows measure the speed. */
#include "mpi_testlib.h"

#include <weft/sync.h>

#include <stdatomic.h>

#define SIDE 192
#define ITERS 600

static uint64_t row_iters(size_t r)
{
    double x0 = -0.85, y0 = 0.0, step = 0.2 / SIDE, cy = y0 + step * (double)r;
    uint64_t sum = 0;
    for (unsigned x = 0; x < SIDE; x++) {
        double cx = x0 + step * x, zx = 0, zy = 0;
        unsigned k = 0;
        while (k < ITERS && zx * zx + zy * zy <= 4.0) {
            double t = zx * zx - zy * zy + cx;
            zy = 2.0 * zx * zy + cy;
            zx = t;
            k++;
        }
        sum += k;
    }
    return sum;
}

typedef struct run {
    atomic_ullong iters, rows;
    atomic_ullong last_end; /* weft_time_now_ns at the end of this rank's last body */
} run;

static int rows_body(void *ctx, size_t b, size_t e)
{
    run *r = ctx;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += row_iters(i);
    atomic_fetch_add_explicit(&r->iters, s, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->rows, e - b, memory_order_relaxed);
    uint64_t now = weft_time_now_ns(), seen = atomic_load_explicit(&r->last_end, memory_order_relaxed);
    while (seen < now && !atomic_compare_exchange_weak_explicit(&r->last_end, &seen, now, memory_order_relaxed,
                                                                memory_order_relaxed))
        ;
    return 0;
}

/* One call; returns the largest idle tail over the ranks, as a fraction of the call. */
static double measure(weft_dist *d, int rank, int size, bool stat, uint64_t want)
{
    run r = {0, 0, 0};
    MPI_Barrier(MPI_COMM_WORLD);
    uint64_t t0 = weft_time_now_ns();
    int rc = (stat ? weft_dist_par_for_static : weft_dist_par_for)(d, 0, SIDE, 1, rows_body, &r);
    uint64_t t1 = weft_time_now_ns();
    CHECK(rc == 0, "par_for: %d", rc);
    unsigned long long mine[2] = {atomic_load(&r.iters), atomic_load(&r.rows)}, all[2];
    MPI_Allreduce(mine, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK(all[0] == want && all[1] == SIDE, "iterations %llu (want %llu), rows %llu", all[0],
          (unsigned long long)want, all[1]);
    CHECK(size > SIDE || mine[1] > 0, "rank %d ran no row", rank);
    /* The call's end is the last rank's return. */
    unsigned long long end = t1, call_end;
    MPI_Allreduce(&end, &call_end, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    double idle = (double)(call_end - atomic_load(&r.last_end)) / (double)(call_end - t0), worst;
    MPI_Allreduce(&idle, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

int main(int argc, char **argv)
{
    int rank, size;
    weft_dist *d = mpi_test_init(&argc, &argv, &rank, &size);
    uint64_t want = 0, first_half = 0;
    for (size_t i = 0; i < SIDE; i++) {
        uint64_t it = row_iters(i);
        want += it;
        first_half += i < SIDE / 2 ? it : 0;
    }
    measure(d, rank, size, false, want); /* warm-up: pools started, pages touched */
    double stat = measure(d, rank, size, true, want);
    /* The dynamic schedule's worst tail, best of five calls: one call can lose a
     * rank's CPU to another job for a while, whatever the schedule. */
    double dyn = 1.0;
    for (int k = 0; k < 5 && dyn > 0.25; k++) {
        double t = measure(d, rank, size, false, want);
        dyn = t < dyn ? t : dyn;
    }
    if (rank == 0)
        printf("seahorse %dx%d: first half of rows %.0f%% of the work; worst idle tail: static %.0f%%, "
               "dynamic %.0f%% of the call\n",
               SIDE, SIDE, 100.0 * (double)first_half / (double)want, 100 * stat, 100 * dyn);
    CHECK(size == 1 || dyn <= 0.25, "a rank sat idle for %.0f%% of the call", 100 * dyn);
    mpi_test_finish(d, "mpi_uneven", rank);
    return 0;
}
