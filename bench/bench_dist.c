/* bench_dist.c: the dist_* rows — weft's loops across MPI ranks (impl weft-mpi) beside
 * the single-process weft loop (weft) and the MPI + OpenMP static split users write
 * today (openmp-mpi), on the seahorse rows (uneven) and the sqrt reduction (even), at
 * 1 rank x 2 threads and 2 ranks x 1 thread (the param). Built when dist/ is (MPI
 * found); bench/README.md, "Rows across MPI ranks".
 *
 * How a rep runs: weft-bench starts bench/dist/dist_child.c's program, weft-bench-dist,
 * once per rep, through mpirun for the MPI impls (-np ranks, --bind-to none, shared
 * memory between the ranks) and directly for weft, with WEFT_NUM_THREADS and
 * OMP_NUM_THREADS set to the threads per rank, and reads the one line it prints.
 * Fairness invariants: one program, one source, one set of flags for all three impls
 * (the kernels are bench_par.c's, the same workloads); every impl times itself after
 * its own warm-up pass, from a barrier to the last rank's end, so starting mpirun and
 * the processes is in no row; the three impls of a param run interleaved, as every
 * group. Open MPI's allow-run-as-root variables go to the child's environment only.
 * Checked: the child's exit status and its two checked passes (the seahorse's
 * iteration count, the reduction against its closed form). */
#include "bench.h"

#ifdef WEFT_BENCH_DIST

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

typedef struct dist_param {
    const char *kernel; /* seahorse | reduce */
    const char *impl;   /* weft | weft-mpi | openmp-mpi */
    int ranks, threads;
} dist_param;

/* The child's environment: the parent's, with the thread counts of the row, weft's
 * workers unpinned (WEFT_PIN=none: as OpenMP's threads and the ranks, --bind-to none,
 * so the rows compare schedules, not placements) and Open MPI's allow-run-as-root
 * pair (their old values dropped). */
static char **child_env(int threads, char *store, size_t cap)
{
    static const char *const drop[] = {"WEFT_NUM_THREADS=", "OMP_NUM_THREADS=", "OMPI_ALLOW_RUN_AS_ROOT=",
                                       "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=", "WEFT_PIN="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **vars = calloc(n + 6, sizeof *vars);
    if (!vars)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t j = 0; j < sizeof drop / sizeof drop[0]; j++)
            keep = keep && strncmp(environ[i], drop[j], strlen(drop[j])) != 0;
        if (keep)
            vars[k++] = environ[i];
    }
    int used = snprintf(store, cap, "WEFT_NUM_THREADS=%d", threads) + 1;
    vars[k++] = store;
    vars[k++] = store + used;
    snprintf(store + used, cap - (size_t)used, "OMP_NUM_THREADS=%d", threads);
    vars[k++] = (char *)"WEFT_PIN=none";
    vars[k++] = (char *)"OMPI_ALLOW_RUN_AS_ROOT=1";
    vars[k++] = (char *)"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1";
    return vars;
}

static bool dist_once(const dist_param *p, bool quick, double *seconds, uint64_t *ops)
{
    char np[16], store[64];
    snprintf(np, sizeof np, "%d", p->ranks);
    char *quick_arg = quick ? (char *)"quick" : NULL;
    char *mpi_argv[] = {(char *)WEFT_BENCH_MPIRUN, (char *)"-np", np, (char *)"--oversubscribe",
                        (char *)"--bind-to", (char *)"none", (char *)"--mca", (char *)"btl", (char *)"self,vader",
                        (char *)"-x", (char *)"WEFT_NUM_THREADS", (char *)"-x", (char *)"OMP_NUM_THREADS",
                        (char *)"-x", (char *)"WEFT_PIN",
                        (char *)WEFT_BENCH_DIST, (char *)p->kernel, (char *)p->impl, quick_arg, NULL};
    char *solo_argv[] = {(char *)WEFT_BENCH_DIST, (char *)p->kernel, (char *)p->impl, quick_arg, NULL};
    bool mpi = strcmp(p->impl, "weft") != 0;
    char **argv = mpi ? mpi_argv : solo_argv;
    char **env = child_env(p->threads, store, sizeof store);
    char line[256];
    int status = -1;
    bool ran = env && bench_spawn_line(argv, env, line, sizeof line, &status);
    free(env);
    if (!ran)
        return false;
    int ok = 0;
    char end;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(line, "%lf %lu %d%c", seconds, ops, &ok, &end) != 4 || end != '\n' || ok != 1 ||
        !(*seconds > 0)) {
        fprintf(stderr, "weft-bench: %s %s %s x %d: status %d, printed: %s\n", p->kernel, p->impl, np,
                p->threads, status, line);
        return false;
    }
    return true;
}

/* The row's size says which workload the child runs: the full one, or --quick's. */
#define DIST_FULL 1
#define DIST_QUICK 2

static bench_result dist_run(const bench_args *a)
{
    const dist_param *p = a->arg;
    bench_result res = {0};
    uint64_t ops = 0;
    res.ok = dist_once(p, a->size == DIST_QUICK, &res.seconds, &ops);
    res.ops = ops;
    return res;
}

/* Two CPUs in all, whatever the split: the rows compare ways to use the same cores. */
#define DIST_THREADS {.min = 2, .max = 2, .defaults = {2}}
#define DIST_ROWS(NAME, KERNEL, UNIT)                                                              \
    {NAME, "1x2", "weft", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                                \
     &(const dist_param){KERNEL, "weft", 1, 2}},                                                   \
    {NAME, "1x2", "weft-mpi", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                            \
     &(const dist_param){KERNEL, "weft-mpi", 1, 2}},                                               \
    {NAME, "1x2", "openmp-mpi", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                          \
     &(const dist_param){KERNEL, "openmp-mpi", 1, 2}},                                             \
    {NAME, "2x1", "weft", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                                \
     &(const dist_param){KERNEL, "weft", 1, 2}},                                                   \
    {NAME, "2x1", "weft-mpi", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                            \
     &(const dist_param){KERNEL, "weft-mpi", 2, 1}},                                               \
    {NAME, "2x1", "openmp-mpi", DIST_THREADS, UNIT, dist_run, DIST_FULL, DIST_QUICK, true,                          \
     &(const dist_param){KERNEL, "openmp-mpi", 2, 1}}

static const bench_def dist_benches[] = {
    DIST_ROWS("dist_seahorse", "seahorse", "px/s"),
    DIST_ROWS("dist_reduce", "reduce", "elem/s"),
};

void bench_register_dist(bench_registry *r)
{
    bench_registry_add(r, dist_benches, sizeof dist_benches / sizeof dist_benches[0]);
}

#else

void bench_register_dist(bench_registry *r)
{
    (void)r; /* no MPI: no dist_* rows */
}

#endif /* WEFT_BENCH_DIST */
