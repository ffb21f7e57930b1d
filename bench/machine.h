/* machine.h: what the results say about the machine and the build they come from (the
 * "machine" header of the printed table, the JSON and the markdown). Internal to
 * weft-bench. */
#ifndef WEFT_BENCH_MACHINE_H
#define WEFT_BENCH_MACHINE_H

#include <stdint.h>

typedef struct bench_machine {
    char cpu[256];        /* /proc/cpuinfo "model name", or "unknown" */
    int cpus_allowed;     /* CPUs this process may run on (its affinity mask) */
    /* hwloc's view of the whole machine; -1 where hwloc could not tell */
    int packages, numa_nodes, cores, pus, l3_caches;
    uint64_t l3_bytes;    /* size of one L3 cache (0: none or unknown) */
    char topology[192];   /* one line: "1 package, 1 NUMA node, 2 cores, 2 PUs, 1 L3 x 32 MiB" */
    const char *compiler; /* "GNU 12.2.0" (CMake's compiler id and version) */
    const char *flags;    /* build type and C flags the benchmarks were compiled with */
    const char *git;      /* commit the build came from ("-dirty" if modified), or "unknown" */
    char date[32];        /* when this run started, UTC, ISO 8601 */
} bench_machine;

/* Fill m (never fails: what cannot be found is "unknown" or -1). */
void bench_machine_probe(bench_machine *m, int cpus_allowed);

#endif /* WEFT_BENCH_MACHINE_H */
