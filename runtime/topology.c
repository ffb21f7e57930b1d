/* topology.c: hwloc, for the scheduler: core/PU counts of the CPUs this process may
 * use (so a container or taskset limited to 2 CPUs gets 2 workers), placement of
 * worker i, binding, and closeness of two workers for victim selection.
 * Invariant: num_cores and num_pus are >= 1 whatever hwloc says; with no usable
 * hwloc topology every query degrades to "unknown" (NULL objects, closeness 0). */
#include "topology_internal.h"

#include <errno.h>
#include <sched.h>

static unsigned affinity_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return 1;
}

/* Number of objects of `type` whose cpuset meets the allowed set. */
static unsigned count_allowed(const weft_topology *t, hwloc_obj_type_t type)
{
    unsigned n = 0;
    hwloc_obj_t obj = NULL;
    while ((obj = hwloc_get_next_obj_by_type(t->topo, type, obj)) != NULL)
        if (obj->cpuset && hwloc_bitmap_intersects(obj->cpuset, t->allowed))
            n++;
    return n;
}

void weft_topology_load(weft_topology *t)
{
    t->topo = NULL;
    t->allowed = NULL;
    t->num_cores = t->num_pus = affinity_cpu_count();
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    if (!allowed || hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS) != 0 ||
        hwloc_bitmap_iszero(allowed)) {
        if (allowed)
            hwloc_bitmap_free(allowed);
        hwloc_topology_destroy(topo);
        return;
    }
    t->topo = topo;
    t->allowed = allowed;
    unsigned cores = count_allowed(t, HWLOC_OBJ_CORE);
    unsigned pus = count_allowed(t, HWLOC_OBJ_PU);
    if (pus > 0)
        t->num_pus = pus;
    t->num_cores = cores > 0 ? cores : t->num_pus;
}

void weft_topology_free(weft_topology *t)
{
    if (t->allowed)
        hwloc_bitmap_free(t->allowed);
    if (t->topo)
        hwloc_topology_destroy(t->topo);
    t->topo = NULL;
    t->allowed = NULL;
}

/* The k-th (cyclic) allowed object of `type`. */
static hwloc_obj_t nth_allowed(const weft_topology *t, hwloc_obj_type_t type, unsigned k)
{
    unsigned n = count_allowed(t, type);
    if (n == 0)
        return NULL;
    k %= n;
    hwloc_obj_t obj = NULL;
    while ((obj = hwloc_get_next_obj_by_type(t->topo, type, obj)) != NULL)
        if (obj->cpuset && hwloc_bitmap_intersects(obj->cpuset, t->allowed) && k-- == 0)
            return obj;
    return NULL;
}

hwloc_obj_t weft_topology_place(const weft_topology *t, weft_pin_policy policy, unsigned index)
{
    if (!t->topo)
        return NULL;
    if (policy == WEFT_PIN_PU)
        return nth_allowed(t, HWLOC_OBJ_PU, index);
    hwloc_obj_t core = nth_allowed(t, HWLOC_OBJ_CORE, index);
    return core ? core : nth_allowed(t, HWLOC_OBJ_PU, index);
}

int weft_topology_bind_current_thread(const weft_topology *t, hwloc_obj_t obj)
{
    if (!t->topo || !obj || !obj->cpuset)
        return -EINVAL;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    hwloc_bitmap_and(set, obj->cpuset, t->allowed);
    int rc = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD) == 0 ? 0 : -(errno ? errno : EPERM);
    hwloc_bitmap_free(set);
    return rc;
}

unsigned weft_topology_closeness(const weft_topology *t, hwloc_obj_t a, hwloc_obj_t b)
{
    if (!t->topo || !a || !b)
        return 0;
    hwloc_obj_t common = hwloc_get_common_ancestor_obj(t->topo, a, b);
    return common && common->depth >= 0 ? (unsigned)common->depth + 1 : 0;
}
