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
/* Pools share the machine: a process-wide count of the pinned workers each place
 * holds lets a new pool start where the pools alive now leave the most room.
 * A claim: worker i of the pool goes on weft_topology_place(t, policy, base + i). */
typedef struct weft_place_claim {
    unsigned base;   /* 0 when nothing was claimed */
    unsigned n;      /* workers counted */
    unsigned places; /* entries in keys */
    unsigned *keys;  /* the places' counter keys; NULL: nothing claimed */
} weft_place_claim;
/* Claim places for n workers pinned under `policy` (WEFT_PIN_CORE or WEFT_PIN_PU):
 * base is the b whose n places hold the fewest pinned workers of live pools (lowest
 * b on ties, so 0 when no other pool is pinned or when n covers every place), and
 * those workers are counted until weft_topology_release_places. Thread-safe. Without
 * topology, for WEFT_PIN_NONE or out of memory: base 0, nothing claimed. */
void weft_topology_claim_places(const weft_topology *t, weft_pin_policy policy, unsigned n, weft_place_claim *c);
/* Uncount a claim's workers and free it (a claim of nothing is fine). Thread-safe. */
void weft_topology_release_places(weft_place_claim *c);
/* Bind the calling thread to obj's allowed CPUs. 0 or a negative errno. */
int weft_topology_bind_current_thread(const weft_topology *t, hwloc_obj_t obj);
/* Larger = closer: the depth of the deepest object containing both (0 if unknown). */
unsigned weft_topology_closeness(const weft_topology *t, hwloc_obj_t a, hwloc_obj_t b);

#endif
