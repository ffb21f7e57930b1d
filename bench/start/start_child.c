/* start_child.c: the program bench_start.c's pool_start rows start, a fresh process per
 * sample, as a short-lived command-line tool is started: main makes one parallel call
 * (or argv[1] calls back to back, the same loop each time) and returns. Built once per
 * implementation (START_WEFT, START_OPENMP, or neither: serial), each linked with only
 * what it needs, so the serial build is the floor: what starting and ending any
 * process costs.
 *  - weft: one weft_par_for (grain 0: what a user writes) on the global pool, which this
 *    call starts;
 *  - openmp: one `parallel for`, which starts libgomp's team;
 *  - serial: the same loop, plain: add_range over the whole array, as weft's body
 *    runs it over each chunk.
 * The thread counts come from the environment the parent sets (WEFT_NUM_THREADS,
 * OMP_NUM_THREADS). It writes "<main_ns> <done_ns>\n" on stdout: CLOCK_MONOTONIC (the
 * clock of weft_time_now_ns, shared by every process) when main began and when the
 * last call had returned; exit status 0 if every call wrote every element exactly once
 * (each adds i + 1 to element i). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef START_WEFT
#include <weft.h>
#endif

#define N 65536u

static uint32_t a[N];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The loop, for the serial and weft builds, as a function over a range given at run
 * time: written in main with constant bounds the compiler vectorises it at -O2, where
 * the same loop over a run-time range (weft's body, OpenMP's outlined chunk) stays
 * scalar, and the serial build would time other code (2-3x faster). */
#if defined(__GNUC__) && !defined(__clang__)
#define NOT_SPECIALISED __attribute__((noipa, unused)) /* noinline alone: gcc clones it with the constants */
#else
#define NOT_SPECIALISED __attribute__((noinline, unused))
#endif
NOT_SPECIALISED static void add_range(uint32_t *v, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        v[i] += (uint32_t)i + 1;
}

#ifdef START_WEFT
static int body(void *ctx, size_t lo, size_t hi)
{
    add_range(ctx, lo, hi);
    return 0;
}
#endif

int main(int argc, char **argv)
{
    uint64_t t0 = now_ns();
    unsigned calls = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    int rc = calls >= 1 ? 0 : 1;
    for (unsigned c = 0; c < calls && rc == 0; c++) {
#if defined(START_WEFT)
        rc = weft_par_for(0, N, 0, body, a);
#elif defined(START_OPENMP)
#pragma omp parallel for
        for (unsigned i = 0; i < N; i++)
            a[i] += i + 1;
#else
        add_range(a, 0, N);
#endif
        __asm__ volatile("" ::: "memory"); /* each call is made: no merging of passes */
    }
    uint64_t t1 = now_ns();
    for (unsigned i = 0; i < N && rc == 0; i++)
        rc = a[i] != (uint32_t)(calls * (i + 1));
    printf("%llu %llu\n", (unsigned long long)t0, (unsigned long long)t1);
    return rc == 0 ? 0 : 1;
}
