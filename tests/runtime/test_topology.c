/* test_topology.c: Criterion suite `topology` — what pool creation learns about the
 * machine without loading hwloc (runtime/topology.c's probe: the process's CPUs from
 * the threads' affinity masks, its cores from sysfs) agrees with what hwloc says once
 * loaded, and with a topology the test loads itself with hwloc's defaults; the CPUs
 * are the whole process's even when the creating thread is pinned to one, and so are
 * the CPUs its workers start on; and places are known once the shared machine is
 * loaded, not before. Each Criterion test runs in a fresh process, so each starts
 * with no topology loaded. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <weft/runtime.h>
#include "topology_internal.h"

/* Allowed cores and PUs as hwloc sees them with its default settings (every backend,
 * every object type): the reference the probe and the filtered load must match. */
static void hwloc_reference(unsigned *cores, unsigned *pus, hwloc_bitmap_t allowed)
{
    hwloc_topology_t topo;
    cr_assert_eq(hwloc_topology_init(&topo), 0);
    cr_assert_eq(hwloc_topology_load(topo), 0);
    cr_assert_eq(hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS), 0);
    *cores = *pus = 0;
    hwloc_obj_t obj = NULL;
    while ((obj = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_CORE, obj)) != NULL)
        *cores += hwloc_bitmap_intersects(obj->cpuset, allowed);
    while ((obj = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, obj)) != NULL)
        *pus += hwloc_bitmap_intersects(obj->cpuset, allowed);
    hwloc_topology_destroy(topo);
}

Test(topology, probe_without_hwloc_agrees_with_hwloc)
{
    weft_topology before, after;
    weft__topology_probe(&before); /* nothing loaded yet: affinity masks and sysfs */
    cr_assert_not_null(before.allowed);
    cr_assert(weft__topology_load_shared(), "hwloc loads on this machine");
    weft__topology_probe(&after); /* the shared topology's counts */
    cr_assert_eq(before.num_cores, after.num_cores);
    cr_assert_eq(before.num_pus, after.num_pus);
    cr_assert(hwloc_bitmap_isequal(before.allowed, after.allowed));

    unsigned cores, pus;
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    hwloc_reference(&cores, &pus, allowed);
    cr_assert_eq(before.num_cores, cores, "probe: %u cores, hwloc: %u", before.num_cores, cores);
    cr_assert_eq(before.num_pus, pus, "probe: %u PUs, hwloc: %u", before.num_pus, pus);
    cr_assert(hwloc_bitmap_isequal(before.allowed, allowed), "the process's CPUs, as hwloc's process binding");
    hwloc_bitmap_free(allowed);
    weft__topology_free(&before);
    weft__topology_free(&after);
}

static void *wait_for_release(void *p)
{
    pthread_barrier_wait(p); /* started: the main thread pins itself */
    pthread_barrier_wait(p); /* released */
    return NULL;
}

/* A process with a thread that may run anywhere (`other`, held at `gate`) and this
 * thread pinned to the first CPU of `all` (its mask before). */
static void pin_beside_a_free_thread(const cpu_set_t *all, pthread_barrier_t *gate, pthread_t *other)
{
    cr_assert_eq(pthread_barrier_init(gate, NULL, 2), 0);
    cr_assert_eq(pthread_create(other, NULL, wait_for_release, gate), 0);
    pthread_barrier_wait(gate);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, all)) {
            CPU_SET(c, &one);
            break;
        }
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
}

/* Undo pin_beside_a_free_thread. */
static void unpin_and_release(const cpu_set_t *all, pthread_barrier_t *gate, pthread_t other)
{
    cr_assert_eq(sched_setaffinity(0, sizeof *all, all), 0);
    pthread_barrier_wait(gate);
    cr_assert_eq(pthread_join(other, NULL), 0);
    pthread_barrier_destroy(gate);
}

/* The default pool of a thread pinned to one CPU, in a process with another thread
 * that may run anywhere, still has a worker per core of the process (hwloc's process
 * binding is the union of its threads' masks). */
Test(topology, a_pinned_creator_sees_the_whole_process)
{
    cpu_set_t all;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    if (CPU_COUNT(&all) < 2)
        cr_skip_test("needs 2 CPUs");
    unsigned cores, pus;
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    hwloc_reference(&cores, &pus, allowed);
    hwloc_bitmap_free(allowed);

    pthread_barrier_t gate;
    pthread_t other;
    pin_beside_a_free_thread(&all, &gate, &other);
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    cr_assert_eq(weft_pool_num_threads(p), (int)cores);
    cr_assert_eq(weft_pool_destroy(p), 0);
    unpin_and_release(&all, &gate, other);
}

/* Each worker records how many CPUs its mask allows when it starts. */
typedef struct start_masks {
    _Atomic int cpus[2];
} start_masks;

static void record_start_mask(void *ctx, unsigned index)
{
    cpu_set_t mine;
    int n = sched_getaffinity(0, sizeof mine, &mine) == 0 ? CPU_COUNT(&mine) : -1;
    if (index < 2)
        atomic_store(&((start_masks *)ctx)->cpus[index], n);
}

/* ...and its workers may run on the whole process too: a new thread inherits its
 * creator's mask, and the workers of a pool made by a thread pinned to one CPU were
 * confined there (unpinned ones for good), a pool of N threads running on one CPU. */
Test(topology, a_pinned_creators_workers_may_run_on_the_whole_process)
{
    cpu_set_t all;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    if (CPU_COUNT(&all) < 2)
        cr_skip_test("needs 2 CPUs");
    pthread_barrier_t gate;
    pthread_t other;
    pin_beside_a_free_thread(&all, &gate, &other);
    start_masks m = {{-2, -2}};
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 2;
    cfg.pin = WEFT_PIN_NONE; /* nothing binds them afterwards */
    cfg.ctx = &m;
    cfg.on_start = record_start_mask;
    weft_pool *p = NULL;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    while (atomic_load(&m.cpus[0]) == -2 || atomic_load(&m.cpus[1]) == -2)
        sched_yield();
    cr_assert_eq(weft_pool_destroy(p), 0);
    unpin_and_release(&all, &gate, other);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(atomic_load(&m.cpus[i]), CPU_COUNT(&all), "worker %d starts on %d CPUs of %d", i,
                     atomic_load(&m.cpus[i]), CPU_COUNT(&all));
}

/* Placement waits for the shared topology: before it is loaded (a pool's workers load
 * it before they take work) a place is unknown; after, every policy has one. */
Test(topology, places_come_with_the_shared_topology)
{
    weft_topology t;
    weft__topology_probe(&t);
    cr_assert_null(weft__topology_place(&t, WEFT_PIN_CORE, 0), "nothing loaded yet");
    cr_assert(weft__topology_load_shared());
    cr_assert(weft__topology_load_shared(), "loaded once, then it answers at once");
    const weft_place *pu = weft__topology_place(&t, WEFT_PIN_PU, 0), *core = weft__topology_place(&t, WEFT_PIN_CORE, 0);
    cr_assert_not_null(pu);
    cr_assert_not_null(core);
    cr_assert_gt(weft__topology_closeness(pu, core), 0, "the first PU is in the first core's machine");
    weft__topology_free(&t);
}
