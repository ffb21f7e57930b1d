/* test_machine.c: Criterion suite `machine` — the places weft reads from sysfs
 * (runtime/machine.c) are hwloc's: the same cores and PUs in the same order, and the
 * same answer to "which of these two is closer to that one", on this machine and on
 * written sysfs trees of machines whose CPU numbers interleave packages, caches and
 * NUMA nodes (hwloc reads a tree under HWLOC_FSROOT). A tree hwloc would have to
 * repair is refused, so the worker asks hwloc. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "machine_internal.h"

/* ---- writing a sysfs tree */

typedef struct core_spec {
    const char *cpus, *package, *l3, *node; /* CPU lists; l3 NULL: the package's */
    const char *l2;                         /* NULL: the core's */
    bool own_core_ids;                      /* its threads report different core_ids */
} core_spec;

static void put(const char *root, const char *path, const char *text)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", root, path);
    for (char *s = full + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(full, 0755);
        *s = '/';
    }
    FILE *f = fopen(full, "w");
    cr_assert_not_null(f, "%s", full);
    fprintf(f, "%s\n", text);
    fclose(f);
}

/* A CPU list as sysfs writes it: a 32-bit hex mask at mask_path, the list at list_path. */
static void put_cpus(const char *root, const char *mask_path, const char *list_path, const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    cr_assert_eq(hwloc_bitmap_list_sscanf(set, list), 0);
    cr_assert_lt(hwloc_bitmap_last(set), 32, "the written masks hold 32 CPUs");
    char text[64];
    snprintf(text, sizeof text, "%08lx", hwloc_bitmap_to_ulong(set));
    put(root, mask_path, text);
    hwloc_bitmap_list_snprintf(text, sizeof text, set);
    put(root, list_path, text);
    hwloc_bitmap_free(set);
}

/* topology/<name> and topology/<name>_list of cpu. */
static void put_topology(const char *root, int cpu, const char *name, const char *list)
{
    char mask[256], lst[256];
    snprintf(mask, sizeof mask, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, name);
    snprintf(lst, sizeof lst, "/sys/devices/system/cpu/cpu%d/topology/%s_list", cpu, name);
    put_cpus(root, mask, lst, list);
}

static void put_cache(const char *root, int cpu, int index, int level, const char *type, const char *list)
{
    char p[256], lvl[8];
    snprintf(lvl, sizeof lvl, "%d", level);
    const char *files[][2] = {{"level", lvl},
                              {"type", type},
                              {"size", "512K"},
                              {"coherency_line_size", "64"},
                              {"ways_of_associativity", "8"},
                              {"physical_line_partition", "1"},
                              {"number_of_sets", "1024"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%d/cache/index%d/%s", cpu, index, files[i][0]);
        put(root, p, files[i][1]);
    }
    char mask[256];
    snprintf(mask, sizeof mask, "/sys/devices/system/cpu/cpu%d/cache/index%d/shared_cpu_map", cpu, index);
    snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%d/cache/index%d/shared_cpu_list", cpu, index);
    put_cpus(root, mask, p, list);
}

/* A tree under a new directory for the cores of spec; `old_kernel`: no core_cpus
 * (thread_siblings only), no die or cluster files; cpu_family: the AMD CPU family
 * /proc/cpuinfo gives (0: no cpuinfo). Returns the root (free it). */
static char *write_tree(const core_spec *spec, size_t n, bool old_kernel, unsigned cpu_family)
{
    static unsigned trees; /* a fresh directory per tree (one a failed run left is skipped) */
    char *root = malloc(64);
    cr_assert_not_null(root);
    do
        snprintf(root, 64, "/tmp/weft-sysfs-%d-%u", (int)getpid(), trees++);
    while (mkdir(root, 0700) != 0 && errno == EEXIST);
    cr_assert(access(root, W_OK) == 0, "%s: %s", root, strerror(errno));
    hwloc_bitmap_t all = hwloc_bitmap_alloc(), set = hwloc_bitmap_alloc();
    unsigned max_node = 0;
    for (size_t c = 0; c < n; c++) {
        unsigned node = (unsigned)atoi(spec[c].node);
        max_node = node > max_node ? node : max_node;
        cr_assert_eq(hwloc_bitmap_list_sscanf(set, spec[c].cpus), 0);
        hwloc_bitmap_or(all, all, set);
        int cpu;
        hwloc_bitmap_foreach_begin(cpu, set)
        {
            char p[256], v[32];
            const char *topo = "/sys/devices/system/cpu/cpu%d/topology/%s";
            snprintf(p, sizeof p, topo, cpu, "physical_package_id");
            put(root, p, strcmp(spec[c].package, spec[0].package) == 0 ? "0" : "1"); /* two packages at most */
            snprintf(p, sizeof p, topo, cpu, "core_id");
            snprintf(v, sizeof v, "%d", spec[c].own_core_ids ? cpu : (int)c);
            put(root, p, v);
            put_topology(root, cpu, "thread_siblings", spec[c].cpus);
            put_topology(root, cpu, "core_siblings", spec[c].package);
            if (!old_kernel) {
                put_topology(root, cpu, "core_cpus", spec[c].cpus);
                put_topology(root, cpu, "package_cpus", spec[c].package);
                put_topology(root, cpu, "die_cpus", spec[c].package);
                snprintf(p, sizeof p, topo, cpu, "die_id");
                put(root, p, "0");
            }
            put_cache(root, cpu, 0, 1, "Data", spec[c].cpus);
            put_cache(root, cpu, 1, 1, "Instruction", spec[c].cpus);
            put_cache(root, cpu, 2, 2, "Unified", spec[c].l2 ? spec[c].l2 : spec[c].cpus);
            put_cache(root, cpu, 3, 3, "Unified", spec[c].l3 ? spec[c].l3 : spec[c].package);
        }
        hwloc_bitmap_foreach_end();
    }
    for (unsigned node = 0; node <= max_node; node++) {
        hwloc_bitmap_zero(set);
        for (size_t c = 0; c < n; c++)
            if ((unsigned)atoi(spec[c].node) == node) {
                hwloc_bitmap_t core = hwloc_bitmap_alloc();
                hwloc_bitmap_list_sscanf(core, spec[c].cpus);
                hwloc_bitmap_or(set, set, core);
                hwloc_bitmap_free(core);
            }
        char p[256], list[128], meminfo[128];
        hwloc_bitmap_list_snprintf(list, sizeof list, set);
        char mask[256];
        snprintf(mask, sizeof mask, "/sys/devices/system/node/node%u/cpumap", node);
        snprintf(p, sizeof p, "/sys/devices/system/node/node%u/cpulist", node);
        put_cpus(root, mask, p, list);
        snprintf(p, sizeof p, "/sys/devices/system/node/node%u/meminfo", node);
        snprintf(meminfo, sizeof meminfo, "Node %u MemTotal:       1048576 kB", node);
        put(root, p, meminfo);
    }
    char list[128], nodes[32];
    hwloc_bitmap_list_snprintf(list, sizeof list, all);
    snprintf(nodes, sizeof nodes, max_node ? "0-%u" : "%u", max_node);
    put(root, "/sys/devices/system/cpu/online", list);
    put(root, "/sys/devices/system/cpu/possible", list);
    put(root, "/sys/devices/system/cpu/present", list);
    put(root, "/sys/devices/system/node/online", nodes);
    put(root, "/sys/devices/system/node/possible", nodes);
    if (cpu_family) {
        char cpuinfo[256];
        snprintf(cpuinfo, sizeof cpuinfo,
                 "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: %u\nmodel\t\t: 1\n"
                 "model name\t: AMD Test\n",
                 cpu_family);
        put(root, "/proc/cpuinfo", cpuinfo);
        /* hwloc parses an x86 cpuinfo only when it knows the tree is x86's */
        put(root, "/proc/hwloc-nofile-info", "OSName: Linux\nArchitecture: x86_64");
    }
    hwloc_bitmap_free(all);
    hwloc_bitmap_free(set);
    return root;
}

static void remove_tree(char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
    free(root);
}

/* ---- comparing with hwloc */

/* hwloc's machine: its topology of the tree under root ("" = this system's). */
static void hwloc_machine(const char *root, weft_machine *m)
{
    if (*root)
        setenv("HWLOC_FSROOT", root, 1);
    hwloc_topology_t topo;
    cr_assert_eq(hwloc_topology_init(&topo), 0);
    hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING);
    cr_assert_eq(hwloc_topology_load(topo), 0);
    unsetenv("HWLOC_FSROOT");
    cr_assert_eq(weft__machine_from_hwloc(topo, m), 0);
    hwloc_topology_destroy(topo);
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void assert_same_places(const weft_place *a, const weft_place *b, unsigned n, const char *what)
{
    for (unsigned i = 0; i < n; i++) {
        char sa[128], sb[128];
        hwloc_bitmap_list_snprintf(sa, sizeof sa, a[i].cpus);
        hwloc_bitmap_list_snprintf(sb, sizeof sb, b[i].cpus);
        cr_assert(hwloc_bitmap_isequal(a[i].cpus, b[i].cpus), "%s %u: sysfs %s, hwloc %s", what, i, sa, sb);
    }
    /* Victim order: whether b or c is closer to a (or neither) agrees. */
    for (unsigned x = 0; x < n; x++)
        for (unsigned y = 0; y < n; y++)
            for (unsigned z = 0; z < n; z++) {
                int s = sign((int)weft__place_closeness(&a[x], &a[y]) - (int)weft__place_closeness(&a[x], &a[z]));
                int h = sign((int)weft__place_closeness(&b[x], &b[y]) - (int)weft__place_closeness(&b[x], &b[z]));
                cr_assert_eq(s, h, "%s %u: is %u or %u closer? sysfs %d, hwloc %d", what, x, y, z, s, h);
            }
}

static void assert_matches_hwloc(const char *root)
{
    weft_machine s, h;
    cr_assert_eq(weft__machine_from_sysfs(root, &s), 0);
    hwloc_machine(root, &h);
    cr_assert_eq(s.num_cores, h.num_cores, "cores: sysfs %u, hwloc %u", s.num_cores, h.num_cores);
    cr_assert_eq(s.num_pus, h.num_pus, "PUs: sysfs %u, hwloc %u", s.num_pus, h.num_pus);
    assert_same_places(s.cores, h.cores, s.num_cores, "core");
    assert_same_places(s.pus, h.pus, s.num_pus, "PU");
    weft__machine_free(&s);
    weft__machine_free(&h);
}

Test(machine, this_machine_as_hwloc_sees_it)
{
    assert_matches_hwloc("");
}

/* Two packages whose CPUs alternate (0, 2, 4, 6 on the first), two threads per core,
 * a NUMA node per package: hwloc lists the first package's cores first. */
Test(machine, packages_interleaved)
{
    static const core_spec spec[] = {
        {"0,4", "0,2,4,6", NULL, "0", NULL, false},
        {"2,6", "0,2,4,6", NULL, "0", NULL, false},
        {"1,5", "1,3,5,7", NULL, "1", NULL, false},
        {"3,7", "1,3,5,7", NULL, "1", NULL, false},
    };
    char *root = write_tree(spec, 4, false, 0);
    weft_machine m;
    cr_assert_eq(weft__machine_from_sysfs(root, &m), 0);
    cr_assert_eq(m.num_cores, 4);
    cr_assert_eq(hwloc_bitmap_first(m.cores[1].cpus), 2, "the first package's second core is second");
    weft__machine_free(&m);
    assert_matches_hwloc(root);
    remove_tree(root);
}

/* One package, two L3 caches whose CPUs alternate, an L2 per two cores, one thread
 * per core: ordered by L3, then L2. */
Test(machine, caches_interleaved)
{
    static const core_spec spec[] = {
        {"0", "0-7", "0,2,4,6", "0", "0,4", false}, {"1", "0-7", "1,3,5,7", "0", "1,5", false},
        {"2", "0-7", "0,2,4,6", "0", "2,6", false}, {"3", "0-7", "1,3,5,7", "0", "3,7", false},
        {"4", "0-7", "0,2,4,6", "0", "0,4", false}, {"5", "0-7", "1,3,5,7", "0", "1,5", false},
        {"6", "0-7", "0,2,4,6", "0", "2,6", false}, {"7", "0-7", "1,3,5,7", "0", "3,7", false},
    };
    char *root = write_tree(spec, 8, false, 0);
    assert_matches_hwloc(root);
    remove_tree(root);
}

/* Sub-NUMA clustering: one package, two NUMA nodes of 4 cores, each with its L3,
 * threads k and k + 8 on a core; a kernel without core_cpus or die files. */
Test(machine, numa_nodes_inside_a_package_old_kernel)
{
    static const core_spec spec[] = {
        {"0,8", "0-15", "0-3,8-11", "0", NULL, false},   {"1,9", "0-15", "0-3,8-11", "0", NULL, false},
        {"2,10", "0-15", "0-3,8-11", "0", NULL, false},  {"3,11", "0-15", "0-3,8-11", "0", NULL, false},
        {"4,12", "0-15", "4-7,12-15", "1", NULL, false}, {"5,13", "0-15", "4-7,12-15", "1", NULL, false},
        {"6,14", "0-15", "4-7,12-15", "1", NULL, false}, {"7,15", "0-15", "4-7,12-15", "1", NULL, false},
    };
    char *root = write_tree(spec, 8, true, 0);
    assert_matches_hwloc(root);
    remove_tree(root);
}

/* Compute units (AMD's Bulldozer family, cpuinfo family 21): two threads per
 * core_cpus list, each with its own core_id. hwloc makes each thread a core; so does
 * weft. On another CPU family the same tree has 4 cores in both. */
Test(machine, threads_with_their_own_core_ids_are_cores)
{
    static const core_spec spec[] = {
        {"0,1", "0-7", NULL, "0", NULL, true},
        {"2,3", "0-7", NULL, "0", NULL, true},
        {"4,5", "0-7", NULL, "0", NULL, true},
        {"6,7", "0-7", NULL, "0", NULL, true},
    };
    char *root = write_tree(spec, 4, false, 21);
    weft_machine m;
    cr_assert_eq(weft__machine_from_sysfs(root, &m), 0);
    cr_assert_eq(m.num_cores, 8);
    weft__machine_free(&m);
    assert_matches_hwloc(root);
    remove_tree(root);

    root = write_tree(spec, 4, false, 25);
    cr_assert_eq(weft__machine_from_sysfs(root, &m), 0);
    cr_assert_eq(m.num_cores, 4);
    weft__machine_free(&m);
    assert_matches_hwloc(root);
    remove_tree(root);
}

/* A cache that splits a core is no tree: refused, so the machine comes from hwloc. */
Test(machine, a_cache_splitting_a_core_is_refused)
{
    static const core_spec spec[] = {
        {"0,1", "0-3", NULL, "0", "0,2", false},
        {"2,3", "0-3", NULL, "0", "1,3", false},
    };
    char *root = write_tree(spec, 2, false, 0);
    weft_machine m;
    cr_assert_eq(weft__machine_from_sysfs(root, &m), -EINVAL);
    cr_assert_eq(m.num_cores, 0);
    cr_assert_null(m.cores);
    remove_tree(root);
}

Test(machine, no_sysfs_is_enoent)
{
    weft_machine m;
    cr_assert_eq(weft__machine_from_sysfs("/nonexistent-weft-root", &m), -ENOENT);
    cr_assert_eq(m.num_cores, 0);
}
