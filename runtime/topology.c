/* topology.c: hwloc, for the scheduler: core/PU counts of the CPUs this process may
 * use (so a container or taskset limited to 2 CPUs gets 2 workers), placement of
 * worker i, binding, and closeness of two workers for victim selection.
 * Invariant: num_cores and num_pus are >= 1 whatever hwloc says; with no usable
 * hwloc topology every query degrades to "unknown" (NULL objects, closeness 0).
 * Process-wide state: place_load, the pinned workers of live pools per place (keyed
 * by the OS index of the place's first CPU), under place_lock; every claim is
 * released exactly once (pool destroy, or a failed create). A forked child starts
 * with every count at 0 (weft_topology_atfork_child). */
#include "topology_internal.h"
#include "fork_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/sync.h>

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

/* ---- sharing places between pools */

#define PLACE_KEYS 4096 /* CPU numbers are folded into this many counters */
static weft_mutex place_lock = WEFT_MUTEX_INIT;
static unsigned place_load[PLACE_KEYS];

/* keys[p] for the first min(count, cap) allowed places of `type`, in place order:
 * one walk over the objects. Returns how many were filled. */
static unsigned place_keys(const weft_topology *t, hwloc_obj_type_t type, unsigned *keys, unsigned cap)
{
    unsigned n = 0;
    hwloc_obj_t obj = NULL;
    while (n < cap && (obj = hwloc_get_next_obj_by_type(t->topo, type, obj)) != NULL)
        if (obj->cpuset && hwloc_bitmap_intersects(obj->cpuset, t->allowed)) {
            int first = hwloc_bitmap_first(obj->cpuset);
            keys[n++] = (unsigned)(first < 0 ? 0 : first) % PLACE_KEYS;
        }
    return n;
}

/* The places' keys, as in weft_topology_place (PUs when a core-less topology makes
 * it fall back to PUs). NULL (with *count 0) without topology or memory. */
static unsigned *policy_keys(const weft_topology *t, weft_pin_policy policy, unsigned *count)
{
    *count = 0;
    if (!t->topo || (policy != WEFT_PIN_CORE && policy != WEFT_PIN_PU))
        return NULL;
    hwloc_obj_type_t type = policy == WEFT_PIN_PU ? HWLOC_OBJ_PU : HWLOC_OBJ_CORE;
    if (type == HWLOC_OBJ_CORE && count_allowed(t, HWLOC_OBJ_CORE) == 0)
        type = HWLOC_OBJ_PU;
    unsigned cap = count_allowed(t, type);
    unsigned *keys = cap ? malloc(cap * sizeof *keys) : NULL;
    if (keys)
        *count = place_keys(t, type, keys, cap);
    return keys;
}

void weft_topology_claim_places(const weft_topology *t, weft_pin_policy policy, unsigned n, weft_place_claim *c)
{
    *c = (weft_place_claim){0, 0, 0, NULL};
    unsigned places;
    unsigned *keys = policy_keys(t, policy, &places);
    if (!keys)
        return; /* keys non-NULL: places >= 1 */
    unsigned span = n < places ? n : places, base = 0;
    weft_mutex_lock(&place_lock);
    /* With n >= places every base covers every place: base 0, as without sharing. */
    uint64_t best = UINT64_MAX;
    for (unsigned b = 0; b < places && span < places; b++) {
        uint64_t load = 0;
        for (unsigned i = 0; i < span; i++)
            load += place_load[keys[(b + i) % places]];
        if (load < best) {
            best = load;
            base = b;
        }
    }
    for (unsigned i = 0; i < n; i++)
        place_load[keys[(base + i) % places]]++;
    weft_mutex_unlock(&place_lock);
    *c = (weft_place_claim){base, n, places, keys};
}

/* fork (fork.c): no claim or release is half done while the lock is held. */
void weft_topology_atfork_prepare(void)
{
    weft_mutex_lock(&place_lock);
}

void weft_topology_atfork_parent(void)
{
    weft_mutex_unlock(&place_lock);
}

/* The child has no live pinned workers: the parent's pools' workers did not come
 * along, and its pools from before the fork must not be used (nor destroyed, which
 * would release their claims). So every place is free, as in a new process. */
void weft_topology_atfork_child(void)
{
    memset(place_load, 0, sizeof place_load);
    weft_mutex_init(&place_lock);
}

void weft_topology_release_places(weft_place_claim *c)
{
    if (!c->keys)
        return;
    weft_mutex_lock(&place_lock);
    for (unsigned i = 0; i < c->n; i++)
        place_load[c->keys[(c->base + i) % c->places]]--;
    weft_mutex_unlock(&place_lock);
    free(c->keys);
    *c = (weft_place_claim){0, 0, 0, NULL};
}
