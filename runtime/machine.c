/* machine.c: the machine's cores and PUs in hwloc's logical order, with the groups
 * holding each (machine_internal.h says how chains encode them), from sysfs or hwloc.
 *
 * From sysfs, as hwloc's Linux backend reads it: the online CPUs (cpu/online); each
 * core (core_cpus_list, thread_siblings_list before Linux 5.7; on AMD's Bulldozer
 * family one per thread when a core's threads report different core_ids, as hwloc
 * decides); for a core's first CPU
 * its package (package_cpus_list, or core_siblings_list), die, cluster, data and
 * unified caches (cache/index<k>/shared_cpu_list) and NUMA node (node/node<n>/cpulist,
 * read once). Groups of one kind partition the CPUs, so a CPU inside a group already
 * read gets that group without a read: about one read per group, not one per CPU.
 *
 * Checked, else -EINVAL (hwloc repairs inconsistent input; it is then the authority):
 * groups of one kind are disjoint; a group holding a core's first CPU holds the whole
 * core; a core's groups nest. Then every two groups are disjoint or nested (two that
 * meet both hold the core of a CPU they share, and that core's groups nest), which is
 * what makes a sort by chains hwloc's order. */
#include "machine_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { K_PACKAGE, K_DIE, K_CLUSTER, K_NODE, K_CACHE, CACHE_MAX = 8, KINDS = K_CACHE + CACHE_MAX };

typedef struct group {
    hwloc_bitmap_t cpus;
    unsigned kind;
    bool in_tree; /* false for an instruction cache: read, to be found, but no group of the tree */
} group;

typedef struct build {
    const char *root;
    hwloc_bitmap_t online;
    group *groups;
    unsigned num_groups, cap_groups;
    weft_place *cores;
    unsigned num_cores;
    int threads_are_cores; /* -1 until a core of several CPUs is seen; then 1 if they have their own core_id */
} build;

/* The file root/path into buf, NUL-terminated (size >= 2; a longer file is cut).
 * Its length read, -ENOENT if it cannot be opened, -EINVAL if it cannot be read. */
static ssize_t read_text(const build *b, const char *path, char *buf, size_t size)
{
    char full[512];
    buf[0] = '\0';
    if ((size_t)snprintf(full, sizeof full, "%s%s", b->root, path) >= sizeof full)
        return -ENOENT;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -ENOENT;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -EINVAL;
    buf[n] = '\0';
    return n;
}

/* Read the CPU list in root/path into set (online CPUs only). 0, -ENOENT, -EINVAL. */
static int read_list(const build *b, const char *path, hwloc_bitmap_t set)
{
    char buf[4096];
    ssize_t n = read_text(b, path, buf, sizeof buf);
    if (n == -ENOENT)
        return -ENOENT;
    if (n <= 0 || n == (ssize_t)sizeof buf - 1) /* unreadable, empty, or longer */
        return -EINVAL;
    buf[strcspn(buf, "\n")] = '\0';
    if (hwloc_bitmap_list_sscanf(set, buf) != 0)
        return -EINVAL;
    if (b->online)
        hwloc_bitmap_and(set, set, b->online);
    return 0;
}

/* The integer in cpu's topology/<name>; -1 if unreadable. */
static long read_int(const build *b, int cpu, const char *name)
{
    char path[160], buf[32], *end;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, name);
    read_text(b, path, buf, sizeof buf);
    long v = strtol(buf, &end, 10);
    return end == buf ? -1 : v;
}

/* True if the first CPU in /proc/cpuinfo is an AMD of family 21 or 22 (Bulldozer to
 * Excavator), where hwloc looks for threads with their own core_ids. */
static bool amd_compute_units(const build *b)
{
    char buf[1024];
    read_text(b, "/proc/cpuinfo", buf, sizeof buf); /* the first CPU's lines */
    unsigned family = 0;
    const char *f = strstr(buf, "\ncpu family");
    if (f)
        f = strchr(f, ':');
    if (f)
        family = (unsigned)strtoul(f + 1, NULL, 10);
    return strstr(buf, "AuthenticAMD") && (family == 21 || family == 22);
}

/* Take set as a new group of `kind` (ownership passes). 0, -EINVAL if it meets a group
 * of its kind, -ENOMEM. */
static int add_group(build *b, hwloc_bitmap_t set, unsigned kind, bool in_tree)
{
    for (unsigned i = 0; i < b->num_groups; i++)
        if (b->groups[i].kind == kind && hwloc_bitmap_intersects(b->groups[i].cpus, set)) {
            hwloc_bitmap_free(set);
            return -EINVAL;
        }
    if (b->num_groups == b->cap_groups) {
        unsigned cap = b->cap_groups ? 2 * b->cap_groups : 64;
        group *g = realloc(b->groups, cap * sizeof *g);
        if (!g) {
            hwloc_bitmap_free(set);
            return -ENOMEM;
        }
        b->groups = g;
        b->cap_groups = cap;
    }
    b->groups[b->num_groups++] = (group){set, kind, in_tree};
    return 0;
}

/* The group of `kind` holding cpu, read from root/path (a format taking cpu, then k)
 * if no group read yet holds it. NULL when sysfs has no such file (*rc 0) or on error. */
static const group *group_of(build *b, unsigned kind, int cpu, const char *path_fmt, unsigned k, int *rc)
{
    *rc = 0;
    for (unsigned i = 0; i < b->num_groups; i++)
        if (b->groups[i].kind == kind && hwloc_bitmap_isset(b->groups[i].cpus, (unsigned)cpu))
            return &b->groups[i];
    char path[160];
    snprintf(path, sizeof path, path_fmt, cpu, k);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) {
        *rc = -ENOMEM;
        return NULL;
    }
    int r = read_list(b, path, set);
    if (r == 0 && !hwloc_bitmap_isset(set, (unsigned)cpu))
        r = -EINVAL;
    if (r != 0) {
        hwloc_bitmap_free(set);
        *rc = r == -ENOENT ? 0 : r;
        return NULL;
    }
    bool in_tree = true;
    if (kind >= K_CACHE) {
        char type[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%u/type", cpu, k);
        read_text(b, path, type, sizeof type);
        in_tree = strncmp(type, "Instruction", 11) != 0;
    }
    if ((*rc = add_group(b, set, kind, in_tree)) != 0)
        return NULL;
    return &b->groups[b->num_groups - 1];
}

/* The NUMA nodes, once: node/node<n>/cpulist. A machine without them has none. */
static int read_nodes(build *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sys/devices/system/node", b->root);
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        unsigned n;
        char tail;
        if (sscanf(e->d_name, "node%u%c", &n, &tail) != 1)
            continue;
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (!set) {
            rc = -ENOMEM;
            break;
        }
        snprintf(path, sizeof path, "/sys/devices/system/node/node%u/cpulist", n);
        if (read_list(b, path, set) != 0 || hwloc_bitmap_iszero(set))
            hwloc_bitmap_free(set); /* memory only, or unreadable: holds no CPU */
        else
            rc = add_group(b, set, K_NODE, true);
    }
    closedir(dir);
    return rc;
}

static int by_weight_desc(const void *x, const void *y)
{
    int a = hwloc_bitmap_weight(*(hwloc_const_bitmap_t const *)x), b = hwloc_bitmap_weight(*(hwloc_const_bitmap_t const *)y);
    return (a < b) - (a > b);
}

/* The core holding cpu, with its chain: the machine, the groups holding cpu that hold
 * the whole core, largest first, identical ones once, the core. */
static int add_core(build *b, int cpu)
{
    hwloc_bitmap_t core = hwloc_bitmap_alloc();
    if (!core)
        return -ENOMEM;
    char path[160];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_cpus_list", cpu);
    int rc = read_list(b, path, core);
    if (rc == -ENOENT) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
        rc = read_list(b, path, core);
    }
    if (rc == 0 && !hwloc_bitmap_isset(core, (unsigned)cpu))
        rc = -EINVAL;
    /* As hwloc: on AMD's Bulldozer family (its compute units), when a core's first
     * two threads report different core_ids, every thread is a core of its own.
     * cpuinfo last: SMT threads share their core_id elsewhere, so it is never read
     * there (the kernel may sample each CPU's frequency to write it). */
    if (rc == 0 && b->threads_are_cores < 0 && hwloc_bitmap_weight(core) > 1) {
        int first = hwloc_bitmap_first(core), second = hwloc_bitmap_next(core, first);
        b->threads_are_cores =
            read_int(b, first, "core_id") != read_int(b, second, "core_id") && amd_compute_units(b);
    }
    if (rc == 0 && b->threads_are_cores > 0)
        hwloc_bitmap_only(core, (unsigned)cpu);
    hwloc_const_bitmap_t holding[KINDS];
    unsigned n = 0;
    static const char *const kind_paths[] = {
        [K_PACKAGE] = "/sys/devices/system/cpu/cpu%d/topology/package_cpus_list",
        [K_DIE] = "/sys/devices/system/cpu/cpu%d/topology/die_cpus_list",
        [K_CLUSTER] = "/sys/devices/system/cpu/cpu%d/topology/cluster_cpus_list",
    };
    for (unsigned kind = 0; rc == 0 && kind < KINDS; kind++) {
        const group *g = NULL;
        if (kind == K_PACKAGE) {
            g = group_of(b, kind, cpu, kind_paths[kind], 0, &rc);
            if (!g && rc == 0)
                g = group_of(b, kind, cpu, "/sys/devices/system/cpu/cpu%d/topology/core_siblings_list", 0, &rc);
        } else if (kind == K_NODE) {
            for (unsigned i = 0; i < b->num_groups && !g; i++)
                if (b->groups[i].kind == K_NODE && hwloc_bitmap_isset(b->groups[i].cpus, (unsigned)cpu))
                    g = &b->groups[i];
        } else if (kind < K_CACHE) {
            g = group_of(b, kind, cpu, kind_paths[kind], 0, &rc);
        } else {
            g = group_of(b, kind, cpu, "/sys/devices/system/cpu/cpu%d/cache/index%u/shared_cpu_list", kind - K_CACHE, &rc);
            if (!g && rc == 0)
                break; /* no more cache indexes */
        }
        if (!g || !g->in_tree)
            continue;
        if (!hwloc_bitmap_isincluded(core, g->cpus))
            rc = -EINVAL;
        else
            holding[n++] = g->cpus;
    }
    if (rc != 0) {
        hwloc_bitmap_free(core);
        return rc;
    }
    qsort(holding, n, sizeof *holding, by_weight_desc);
    weft_place *p = &b->cores[b->num_cores++];
    p->cpus = core;
    p->depth = 0;
    p->chain[p->depth++] = (unsigned)hwloc_bitmap_first(b->online);
    hwloc_const_bitmap_t outer = b->online;
    for (unsigned i = 0; i < n; i++) {
        if (hwloc_bitmap_isequal(holding[i], outer))
            continue;
        if (!hwloc_bitmap_isincluded(holding[i], outer) || p->depth + 2 >= WEFT__CHAIN_MAX)
            return -EINVAL; /* not nested, or deeper than a chain (and a PU's) holds */
        p->chain[p->depth++] = (unsigned)hwloc_bitmap_first(holding[i]);
        outer = holding[i];
    }
    if (!hwloc_bitmap_isequal(core, outer))
        p->chain[p->depth++] = (unsigned)hwloc_bitmap_first(core);
    return 0;
}

static int by_chain(const void *x, const void *y)
{
    const weft_place *a = x, *b = y;
    for (unsigned i = 0; i < a->depth && i < b->depth; i++)
        if (a->chain[i] != b->chain[i])
            return a->chain[i] < b->chain[i] ? -1 : 1;
    return (a->depth > b->depth) - (a->depth < b->depth);
}

/* The PUs of m's cores, in their order, each below its core. */
static int add_pus(weft_machine *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->num_cores; i++)
        n += (unsigned)hwloc_bitmap_weight(m->cores[i].cpus);
    if (!(m->pus = calloc(n, sizeof *m->pus)))
        return -ENOMEM;
    for (unsigned i = 0; i < m->num_cores; i++) {
        const weft_place *core = &m->cores[i];
        int cpu;
        hwloc_bitmap_foreach_begin(cpu, core->cpus)
        {
            weft_place *pu = &m->pus[m->num_pus];
            *pu = *core;
            if (!(pu->cpus = hwloc_bitmap_alloc()))
                return -ENOMEM;
            m->num_pus++;
            hwloc_bitmap_only(pu->cpus, (unsigned)cpu);
            pu->chain[pu->depth++] = (unsigned)cpu;
        }
        hwloc_bitmap_foreach_end();
    }
    return 0;
}

int weft__machine_from_sysfs(const char *root, weft_machine *m)
{
    *m = (weft_machine){0};
    build b = {.root = root, .threads_are_cores = -1};
    int rc = -ENOMEM;
    if (!(b.online = hwloc_bitmap_alloc()))
        return rc;
    hwloc_bitmap_t online = b.online;
    b.online = NULL; /* read_list: nothing to intersect with yet */
    rc = read_list(&b, "/sys/devices/system/cpu/online", online);
    b.online = online;
    if (rc == 0 && hwloc_bitmap_iszero(online))
        rc = -ENOENT;
    if (rc == 0 && !(b.cores = calloc((size_t)hwloc_bitmap_weight(online), sizeof *b.cores)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = read_nodes(&b);
    int cpu = -1;
    while (rc == 0 && (cpu = hwloc_bitmap_next(online, cpu)) >= 0) {
        bool seen = false;
        for (unsigned i = 0; i < b.num_cores && !seen; i++)
            seen = hwloc_bitmap_isset(b.cores[i].cpus, (unsigned)cpu);
        if (!seen)
            rc = add_core(&b, cpu);
    }
    for (unsigned i = 0; i < b.num_groups; i++)
        hwloc_bitmap_free(b.groups[i].cpus);
    free(b.groups);
    hwloc_bitmap_free(online);
    m->cores = b.cores;
    m->num_cores = b.num_cores;
    if (rc == 0) {
        /* Cores must not overlap: each CPU is in one (the first found holds it). */
        for (unsigned i = 0; rc == 0 && i < m->num_cores; i++)
            for (unsigned j = i + 1; rc == 0 && j < m->num_cores; j++)
                if (hwloc_bitmap_intersects(m->cores[i].cpus, m->cores[j].cpus))
                    rc = -EINVAL;
    }
    if (rc == 0) {
        qsort(m->cores, m->num_cores, sizeof *m->cores, by_chain);
        rc = add_pus(m);
    }
    if (rc != 0)
        weft__machine_free(m);
    return rc;
}

/* A chain from hwloc's ancestors of obj (the root first), keeping the outermost
 * WEFT__CHAIN_MAX - 1 and obj itself when deeper. */
static void hwloc_chain(hwloc_obj_t obj, weft_place *p)
{
    hwloc_obj_t path[256];
    unsigned n = 0;
    for (hwloc_obj_t o = obj; o && n < 256; o = o->parent)
        path[n++] = o;
    p->depth = 0;
    for (unsigned i = n; i-- > 0;) {
        if (p->depth == WEFT__CHAIN_MAX - 1 && i > 0)
            continue;
        hwloc_const_bitmap_t set = path[i]->complete_cpuset ? path[i]->complete_cpuset : path[i]->cpuset;
        int first = set ? hwloc_bitmap_first(set) : -1;
        p->chain[p->depth++] = first < 0 ? 0 : (unsigned)first;
    }
}

/* m's places of `type`, in hwloc's order. */
static int hwloc_places(hwloc_topology_t topo, hwloc_obj_type_t type, weft_place **places, unsigned *num)
{
    unsigned n = 0;
    hwloc_obj_t obj = NULL;
    while ((obj = hwloc_get_next_obj_by_type(topo, type, obj)) != NULL)
        n += obj->cpuset != NULL;
    *num = 0;
    if (n == 0)
        return 0;
    if (!(*places = calloc(n, sizeof **places)))
        return -ENOMEM;
    while ((obj = hwloc_get_next_obj_by_type(topo, type, obj)) != NULL) {
        if (!obj->cpuset)
            continue;
        weft_place *p = &(*places)[*num];
        if (!(p->cpus = hwloc_bitmap_dup(obj->complete_cpuset ? obj->complete_cpuset : obj->cpuset)))
            return -ENOMEM;
        (*num)++;
        hwloc_chain(obj, p);
    }
    return 0;
}

int weft__machine_from_hwloc(hwloc_topology_t topo, weft_machine *m)
{
    *m = (weft_machine){0};
    int rc = hwloc_places(topo, HWLOC_OBJ_CORE, &m->cores, &m->num_cores);
    if (rc == 0)
        rc = hwloc_places(topo, HWLOC_OBJ_PU, &m->pus, &m->num_pus);
    if (rc == 0 && m->num_pus == 0)
        rc = -ENOENT;
    if (rc != 0)
        weft__machine_free(m);
    return rc;
}

void weft__machine_free(weft_machine *m)
{
    for (unsigned i = 0; i < m->num_cores; i++)
        hwloc_bitmap_free(m->cores[i].cpus);
    for (unsigned i = 0; i < m->num_pus; i++)
        hwloc_bitmap_free(m->pus[i].cpus);
    free(m->cores);
    free(m->pus);
    *m = (weft_machine){0};
}

unsigned weft__place_closeness(const weft_place *a, const weft_place *b)
{
    unsigned n = 0;
    if (!a || !b)
        return 0;
    while (n < a->depth && n < b->depth && a->chain[n] == b->chain[n])
        n++;
    return n;
}
