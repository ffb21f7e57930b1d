/* machine.c: probes the machine header of a weft-bench run: CPU model (/proc/cpuinfo),
 * the topology summary (hwloc: packages, NUMA nodes, cores, PUs, L3 caches), the
 * compiler and flags and git commit of the build (compile definitions set by
 * bench/CMakeLists.txt; the commit comes from a header regenerated at every build) and
 * the date. Invariant: probing never fails; what cannot be found reads "unknown"/-1. */
#include "machine.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include("bench_git.h")
#include "bench_git.h" /* generated: #define WEFT_BENCH_GIT "..." */
#endif
#endif
#ifndef WEFT_BENCH_GIT
#define WEFT_BENCH_GIT "unknown"
#endif
#ifndef WEFT_BENCH_COMPILER
#define WEFT_BENCH_COMPILER "unknown"
#endif
#ifndef WEFT_BENCH_FLAGS
#define WEFT_BENCH_FLAGS "unknown"
#endif

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

static int count(hwloc_topology_t t, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(t, type);
    return n < 0 ? -1 : n; /* -1: objects of this type exist at several depths */
}

static void topology(bench_machine *m)
{
    m->packages = m->numa_nodes = m->cores = m->pus = m->l3_caches = -1;
    m->l3_bytes = 0;
    snprintf(m->topology, sizeof m->topology, "unknown");
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) != 0)
        return;
    if (hwloc_topology_load(t) == 0) {
        m->packages = count(t, HWLOC_OBJ_PACKAGE);
        m->numa_nodes = count(t, HWLOC_OBJ_NUMANODE);
        m->cores = count(t, HWLOC_OBJ_CORE);
        m->pus = count(t, HWLOC_OBJ_PU);
        m->l3_caches = count(t, HWLOC_OBJ_L3CACHE);
        hwloc_obj_t l3 = hwloc_get_obj_by_type(t, HWLOC_OBJ_L3CACHE, 0);
        if (l3 && l3->attr)
            m->l3_bytes = l3->attr->cache.size;
        char l3s[64] = "no L3";
        unsigned long long kib = (unsigned long long)(m->l3_bytes / 1024);
        if (m->l3_caches > 0 && kib % 1024 == 0)
            snprintf(l3s, sizeof l3s, "%d L3 x %llu MiB", m->l3_caches, kib / 1024);
        else if (m->l3_caches > 0)
            snprintf(l3s, sizeof l3s, "%d L3 x %llu KiB", m->l3_caches, kib);
        snprintf(m->topology, sizeof m->topology,
                 "%d package(s), %d NUMA node(s), %d core(s), %d PU(s), %s", m->packages,
                 m->numa_nodes, m->cores, m->pus, l3s);
    }
    hwloc_topology_destroy(t);
}

void bench_machine_probe(bench_machine *m, int cpus_allowed)
{
    memset(m, 0, sizeof *m);
    cpu_model(m->cpu, sizeof m->cpu);
    m->cpus_allowed = cpus_allowed;
    topology(m);
    m->compiler = WEFT_BENCH_COMPILER;
    m->flags = WEFT_BENCH_FLAGS;
    m->git = WEFT_BENCH_GIT;
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm) ||
        strftime(m->date, sizeof m->date, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(m->date, sizeof m->date, "unknown");
}
