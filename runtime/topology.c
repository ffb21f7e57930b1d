/* topology.c: the machine, for the scheduler: core/PU counts of the CPUs this process
 * may use (so a container or taskset limited to 2 CPUs gets 2 workers), placement of
 * worker i, binding, and closeness of two workers for victim selection.
 *
 * Starting a pool must not wait for the machine's description, so:
 *  - pool creation probes (weft__topology_probe): the CPUs the process may use (the
 *    union of its threads' affinity masks, as hwloc's process binding is) and its
 *    cores (one sysfs read per core: the core_cpus lists hwloc's Linux backend builds
 *    its Core objects from); it loads the machine only when those cannot tell;
 *  - the workers load the machine (machine_internal.h) before they take work
 *    (pool.c), once per process: the first one loads it under shared_lock, the others
 *    wait for it; it is kept until the process ends and shared by every pool,
 *    read-only once loaded. It comes from sysfs (a few dozen reads); from hwloc only
 *    when sysfs cannot say. hwloc's first load in a process costs milliseconds (it
 *    opens its plugins, with their libraries, then reads sysfs file by file), so it is
 *    the fallback, and the process then keeps hwloc's topology: a load that holds
 *    only what weft uses (PUs, cores, data caches, NUMA nodes, packages and groups; no
 *    I/O or misc objects, no instruction or memory-side caches, no distances, memory
 *    attributes or CPU kinds, and no backend that rebinds the loading thread to read
 *    each CPU). A process that ends during that load waits for it at exit
 *    (exit_wait_for_load).
 *
 * Invariants: num_cores and num_pus are >= 1 whatever sysfs and hwloc say; with no
 * machine every query degrades to "unknown" (NULL places, closeness 0).
 * shared_state goes NOT_LOADED -> LOADED or FAILED once, under shared_lock, and
 * shared_machine (set before LOADED) is never freed or changed after; so does
 * topo_state, with shared_topo.
 * Process-wide state: place_load, the pinned workers of live pools per place (keyed
 * by the OS index of the place's first CPU), under place_lock; every claim is made
 * at most once and released exactly once (pool destroy, or a failed create). A forked
 * child keeps the shared machine (the same machine; no load is under way at a fork)
 * and starts with every count at 0 (weft__topology_atfork_child). */
#include "topology_internal.h"
#include "fork_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weft/sync.h>

/* ---- the process's machine, and hwloc's topology when sysfs cannot say */

enum { NOT_LOADED, LOADED, FAILED };
static weft_mutex shared_lock = WEFT_MUTEX_INIT;
static _Atomic unsigned shared_state = NOT_LOADED;
static weft_machine shared_machine; /* written once, before shared_state becomes LOADED */
static unsigned topo_state = NOT_LOADED; /* under shared_lock */
static hwloc_topology_t shared_topo;     /* written once, under shared_lock */

/* The shared machine if it is loaded, else NULL. */
static const weft_machine *loaded(void)
{
    /* Acquire: pairs with the release store of LOADED in weft__topology_load_shared,
     * so shared_machine and everything it points to are seen. */
    return atomic_load_explicit(&shared_state, memory_order_acquire) == LOADED ? &shared_machine : NULL;
}

/* hwloc's topology with only what weft uses (see the file comment), or NULL. */
static hwloc_topology_t load_topology(void)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return NULL;
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_type_filter(topo, HWLOC_OBJ_MEMCACHE, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_type_filter(topo, HWLOC_OBJ_MISC, HWLOC_TYPE_FILTER_KEEP_NONE);
    /* DONT_CHANGE_BINDING turns off the x86 backend, which binds the loading thread to
     * each CPU in turn to read its CPUID (slow when the CPUs are busy); Linux's sysfs
     * gives the cores, caches and packages without it. */
    unsigned long flags = HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING;
#if HWLOC_API_VERSION >= 0x00020800
    flags |= HWLOC_TOPOLOGY_FLAG_NO_DISTANCES | HWLOC_TOPOLOGY_FLAG_NO_MEMATTRS | HWLOC_TOPOLOGY_FLAG_NO_CPUKINDS;
#endif
    hwloc_topology_set_flags(topo, flags);
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

/* exit() runs this before the libraries' destructors (atexit handlers run in reverse
 * order of registration, and the dynamic loader's destructor pass was registered
 * before main): it waits for a load of hwloc under way, whose plugins'
 * initialisation would otherwise race with their libraries' destructors (X11's, for
 * one), and makes any later load fail, so that nothing is loaded while the process
 * ends. */
static void exit_wait_for_load(void)
{
    weft_mutex_lock(&shared_lock);
    if (topo_state == NOT_LOADED)
        topo_state = FAILED;
    weft_mutex_unlock(&shared_lock);
}

/* hwloc's topology, loaded once per process and kept; NULL if it cannot be. Under
 * shared_lock. No load without the exit handler (atexit fails only without memory):
 * the pools then run unpinned, with one victim level, rather than risk the race. */
static hwloc_topology_t hwloc_locked(void)
{
    if (topo_state == NOT_LOADED && atexit(exit_wait_for_load) != 0)
        topo_state = FAILED;
    else if (topo_state == NOT_LOADED) {
        shared_topo = load_topology();
        topo_state = shared_topo ? LOADED : FAILED;
    }
    return topo_state == LOADED ? shared_topo : NULL;
}

static hwloc_topology_t hwloc_shared(void)
{
    weft__fork_handlers_register(); /* before shared_lock is first taken */
    weft_mutex_lock(&shared_lock);
    hwloc_topology_t topo = hwloc_locked();
    weft_mutex_unlock(&shared_lock);
    return topo;
}

bool weft__topology_load_shared(void)
{
    /* Acquire: as in loaded(). */
    unsigned state = atomic_load_explicit(&shared_state, memory_order_acquire);
    if (state != NOT_LOADED)
        return state == LOADED;
    weft__fork_handlers_register(); /* before shared_lock is first taken */
    weft_mutex_lock(&shared_lock);
    state = atomic_load_explicit(&shared_state, memory_order_relaxed); /* under the lock */
    if (state == NOT_LOADED) {
        int rc = weft__machine_from_sysfs("", &shared_machine);
        if (rc != 0 && rc != -ENOMEM) {
            hwloc_topology_t topo = hwloc_locked();
            rc = topo ? weft__machine_from_hwloc(topo, &shared_machine) : -ENOENT;
        }
        /* Out of memory is not the machine's answer: the next worker to start asks
         * again (this one runs unplaced). */
        state = rc == 0 ? LOADED : rc == -ENOMEM ? NOT_LOADED : FAILED;
        /* Release: pairs with the acquire loads above and in loaded(). */
        atomic_store_explicit(&shared_state, state, memory_order_release);
    }
    weft_mutex_unlock(&shared_lock);
    return state == LOADED;
}

/* ---- probing, at pool creation */

/* Parse a sysfs CPU list ("0-3,8,10-11\n") into set. False on anything else. */
static bool parse_cpu_list(const char *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    for (;;) {
        char *end;
        unsigned long lo = strtoul(s, &end, 10), hi = lo;
        if (end == s)
            return false;
        s = end;
        if (*s == '-') {
            hi = strtoul(++s, &end, 10);
            if (end == s || hi < lo)
                return false;
            s = end;
        }
        if (hi >= CPU_SETSIZE)
            return false;
        for (unsigned long c = lo; c <= hi; c++)
            CPU_SET(c, set);
        if (*s != ',')
            return *s == '\n' || *s == '\0';
        s++;
    }
}

/* The CPU list in /sys/devices/system/cpu/cpu<cpu>/topology/<name>. */
static bool read_cpu_list(int cpu, const char *name, cpu_set_t *set)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || n == (ssize_t)sizeof buf - 1) /* a longer list: let hwloc read it */
        return false;
    buf[n] = '\0';
    return parse_cpu_list(buf, set);
}

/* The cores holding an allowed CPU: one per distinct core_cpus list (thread_siblings
 * on kernels before 5.7), as hwloc's Linux backend makes its Core objects. 0 when
 * sysfs does not say. */
static unsigned sysfs_cores(const cpu_set_t *allowed)
{
    cpu_set_t seen, core;
    CPU_ZERO(&seen);
    unsigned cores = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, allowed) || CPU_ISSET(cpu, &seen))
            continue;
        if (!read_cpu_list(cpu, "core_cpus_list", &core) && !read_cpu_list(cpu, "thread_siblings_list", &core))
            return 0;
        if (!CPU_ISSET(cpu, &core))
            return 0;
        CPU_OR(&seen, &seen, &core);
        cores++;
    }
    return cores;
}

/* The CPUs any thread of this process may run on: the union of the threads' affinity
 * masks, as hwloc_get_cpubind(HWLOC_CPUBIND_PROCESS) gives on Linux (so a pool created
 * by a pinned thread still sees the whole process). False when a cpu_set_t cannot
 * hold the machine's CPUs. */
static bool process_cpus(cpu_set_t *set)
{
    if (sched_getaffinity(0, sizeof *set, set) != 0)
        return false;
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return true; /* no /proc: this thread's mask is the best guess */
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        cpu_set_t other;
        pid_t tid = (pid_t)atoi(e->d_name);
        /* A thread that ended meanwhile is not counted (ESRCH). */
        if (tid > 0 && sched_getaffinity(tid, sizeof other, &other) == 0)
            CPU_OR(set, set, &other);
    }
    closedir(dir);
    return true;
}

/* Number of places of a machine's list that hold an allowed CPU. */
static unsigned count_allowed(const weft_place *places, unsigned n, const weft_topology *t)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        k += hwloc_bitmap_intersects(places[i].cpus, t->allowed);
    return k;
}

/* The counts from the shared machine (pus, cores >= 1 if they are set). */
static void machine_counts(const weft_machine *m, weft_topology *t)
{
    unsigned cores = count_allowed(m->cores, m->num_cores, t);
    unsigned pus = count_allowed(m->pus, m->num_pus, t);
    if (pus > 0)
        t->num_pus = pus;
    t->num_cores = cores > 0 ? cores : t->num_pus;
}

void weft__topology_probe(weft_topology *t)
{
    cpu_set_t set;
    t->allowed = NULL;
    t->num_cores = t->num_pus = 1;
    if (process_cpus(&set) && CPU_COUNT(&set) > 0) {
        const weft_machine *m = loaded();
        unsigned cores = m ? 0 : sysfs_cores(&set);
        t->num_pus = (unsigned)CPU_COUNT(&set);
        t->num_cores = cores > 0 ? cores : t->num_pus;
        if (!(t->allowed = hwloc_bitmap_alloc()))
            return;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &set))
                hwloc_bitmap_set(t->allowed, (unsigned)cpu);
        /* sysfs could not tell the cores, or the machine is loaded already: ask it. */
        if (cores == 0 && (m || weft__topology_load_shared()))
            machine_counts(loaded(), t);
        return;
    }
    /* More CPUs than a cpu_set_t holds: the process's CPUs from hwloc, now. */
    hwloc_topology_t topo = hwloc_shared();
    hwloc_bitmap_t allowed = topo ? hwloc_bitmap_alloc() : NULL;
    if (!allowed || hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS) != 0 || hwloc_bitmap_iszero(allowed)) {
        if (allowed)
            hwloc_bitmap_free(allowed);
        return;
    }
    t->allowed = allowed;
    t->num_pus = (unsigned)hwloc_bitmap_weight(allowed);
    t->num_cores = t->num_pus;
    if (weft__topology_load_shared())
        machine_counts(loaded(), t);
}

void weft__topology_free(weft_topology *t)
{
    if (t->allowed)
        hwloc_bitmap_free(t->allowed);
    t->allowed = NULL;
}

/* ---- placement, binding, closeness: once the shared machine is loaded */

/* The k-th (cyclic) place of the list holding an allowed CPU. */
static const weft_place *nth_allowed(const weft_place *places, unsigned n, const weft_topology *t, unsigned k)
{
    unsigned allowed = count_allowed(places, n, t);
    if (allowed == 0)
        return NULL;
    k %= allowed;
    for (unsigned i = 0; i < n; i++)
        if (hwloc_bitmap_intersects(places[i].cpus, t->allowed) && k-- == 0)
            return &places[i];
    return NULL;
}

const weft_place *weft__topology_place(const weft_topology *t, weft_pin_policy policy, unsigned index)
{
    const weft_machine *m = loaded();
    if (!m || !t->allowed)
        return NULL;
    const weft_place *core = policy == WEFT_PIN_PU ? NULL : nth_allowed(m->cores, m->num_cores, t, index);
    return core ? core : nth_allowed(m->pus, m->num_pus, t, index);
}

cpu_set_t *weft__topology_cpu_set(hwloc_const_bitmap_t cpus, size_t *size)
{
    int last = cpus ? hwloc_bitmap_last(cpus) : -1;
    cpu_set_t *set = last >= 0 ? CPU_ALLOC((size_t)last + 1) : NULL;
    if (!set)
        return NULL;
    *size = CPU_ALLOC_SIZE((size_t)last + 1);
    CPU_ZERO_S(*size, set);
    unsigned cpu;
    hwloc_bitmap_foreach_begin(cpu, cpus)
        CPU_SET_S(cpu, *size, set);
    hwloc_bitmap_foreach_end();
    return set;
}

int weft__topology_bind_current_thread(const weft_topology *t, const weft_place *place)
{
    if (!t->allowed || !place)
        return -EINVAL;
    hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
    if (!cpus)
        return -ENOMEM;
    hwloc_bitmap_and(cpus, place->cpus, t->allowed);
    size_t size;
    int rc = -EINVAL; /* no allowed CPU in the place */
    if (!hwloc_bitmap_iszero(cpus)) {
        cpu_set_t *set = weft__topology_cpu_set(cpus, &size);
        rc = set ? -pthread_setaffinity_np(pthread_self(), size, set) : -ENOMEM;
        if (set)
            CPU_FREE(set);
    }
    hwloc_bitmap_free(cpus);
    return rc;
}

int weft__topology_next_cpu(const weft_topology *t, const weft_place *place, int prev)
{
    if (!t->allowed || !place)
        return -1;
    int cpu = prev;
    while ((cpu = hwloc_bitmap_next(place->cpus, cpu)) >= 0 && !hwloc_bitmap_isset(t->allowed, (unsigned)cpu))
        ;
    return cpu;
}

unsigned weft__topology_closeness(const weft_place *a, const weft_place *b)
{
    return weft__place_closeness(a, b);
}

/* ---- sharing places between pools */

#define PLACE_KEYS 4096 /* CPU numbers are folded into this many counters */
static weft_mutex place_lock = WEFT_MUTEX_INIT;
static unsigned place_load[PLACE_KEYS];

void weft__topology_claim_init(const weft_topology *t, weft_place_claim *c)
{
    /* Places are disjoint and each allowed one holds an allowed PU: at most num_pus. */
    unsigned cap = t->allowed ? t->num_pus : 0;
    unsigned *keys = cap ? malloc(cap * sizeof *keys) : NULL;
    *c = (weft_place_claim){0, 0, 0, keys ? cap : 0, keys, false};
}

/* Fill c->keys with the places' keys (their first CPU), in the order of
 * weft__topology_place: PUs for WEFT_PIN_PU or when no core holds an allowed CPU. */
static void policy_keys(const weft_machine *m, const weft_topology *t, weft_pin_policy policy, weft_place_claim *c)
{
    bool cores = policy != WEFT_PIN_PU && count_allowed(m->cores, m->num_cores, t) > 0;
    const weft_place *places = cores ? m->cores : m->pus;
    unsigned n = cores ? m->num_cores : m->num_pus;
    c->places = 0;
    for (unsigned i = 0; i < n && c->places < c->cap; i++)
        if (hwloc_bitmap_intersects(places[i].cpus, t->allowed))
            c->keys[c->places++] = (unsigned)hwloc_bitmap_first(places[i].cpus) % PLACE_KEYS;
}

unsigned weft__topology_claim_places(const weft_topology *t, weft_pin_policy policy, unsigned n, weft_place_claim *c)
{
    const weft_machine *m = loaded();
    weft_mutex_lock(&place_lock);
    if (!c->decided) {
        c->decided = true;
        if (m && t->allowed && c->keys && (policy == WEFT_PIN_CORE || policy == WEFT_PIN_PU))
            policy_keys(m, t, policy, c);
        unsigned places = c->places, span = n < places ? n : places, base = 0;
        /* With n >= places every base covers every place: base 0, as without sharing. */
        uint64_t best = UINT64_MAX;
        for (unsigned b = 0; b < places && span < places; b++) {
            uint64_t load = 0;
            for (unsigned i = 0; i < span; i++)
                load += place_load[c->keys[(b + i) % places]];
            if (load < best) {
                best = load;
                base = b;
            }
        }
        for (unsigned i = 0; places > 0 && i < n; i++)
            place_load[c->keys[(base + i) % places]]++;
        c->base = base;
        c->n = places > 0 ? n : 0;
    }
    unsigned base = c->base;
    weft_mutex_unlock(&place_lock);
    return base;
}

/* fork (fork.c): no load of the shared machine, and no claim or release, is half
 * done while the locks are held. A load under way finishes first (milliseconds, once
 * per process). */
void weft__topology_atfork_prepare(void)
{
    weft_mutex_lock(&shared_lock);
    weft_mutex_lock(&place_lock);
}

void weft__topology_atfork_parent(void)
{
    weft_mutex_unlock(&place_lock);
    weft_mutex_unlock(&shared_lock);
}

/* The child has no live pinned workers: the parent's pools' workers did not come
 * along, and its pools from before the fork must not be used (nor destroyed, which
 * would release their claims). So every place is free, as in a new process. The
 * shared machine stays: it describes the same machine, and no load was under way. */
void weft__topology_atfork_child(void)
{
    memset(place_load, 0, sizeof place_load);
    weft_mutex_init(&place_lock);
    weft_mutex_init(&shared_lock);
}

void weft__topology_release_places(weft_place_claim *c)
{
    if (!c->keys)
        return;
    weft_mutex_lock(&place_lock);
    for (unsigned i = 0; i < c->n; i++)
        place_load[c->keys[(c->base + i) % c->places]]--;
    weft_mutex_unlock(&place_lock);
    free(c->keys);
    *c = (weft_place_claim){0, 0, 0, 0, NULL, false};
}
