/* topology_internal.h: what the scheduler needs from the machine's topology — how
 * many cores and PUs this process may use, where to pin worker i, and how close two
 * workers are (for choosing steal victims). The only interface to hwloc. */
#ifndef WEFT_TOPOLOGY_INTERNAL_H
#define WEFT_TOPOLOGY_INTERNAL_H

#include <stdbool.h>
#include <hwloc.h>
#include <weft/runtime.h>

typedef struct weft_topology {
    hwloc_topology_t topo; /* NULL if hwloc failed: everything degrades to "no topology" */
    hwloc_bitmap_t allowed; /* the CPUs this process may run on */
    unsigned num_cores;     /* allowed cores (>= 1) */
    unsigned num_pus;       /* allowed processing units (>= 1) */
} weft_topology;

/* Load the topology. Never fails: without hwloc data it falls back to the
 * sched_getaffinity CPU count, with no placement information. */
void weft_topology_load(weft_topology *t);
void weft_topology_free(weft_topology *t);
/* The object (core or PU) that worker `index` runs on under `policy`
 * (WEFT_PIN_CORE or WEFT_PIN_PU), cycling when there are more workers; for
 * WEFT_PIN_NONE the core it would get under WEFT_PIN_CORE (used for closeness). */
hwloc_obj_t weft_topology_place(const weft_topology *t, weft_pin_policy policy, unsigned index);
/* Bind the calling thread to obj's allowed CPUs. 0 or a negative errno. */
int weft_topology_bind_current_thread(const weft_topology *t, hwloc_obj_t obj);
/* Larger = closer: the depth of the deepest object containing both (0 if unknown). */
unsigned weft_topology_closeness(const weft_topology *t, hwloc_obj_t a, hwloc_obj_t b);

#endif
