/* topology_internal.h: what the scheduler needs from the machine's topology — how
 * many cores and PUs this process may use, where to pin worker i, and how close two
 * workers are (for choosing steal victims). The only interface to hwloc.
 *
 * Two steps, so that creating a pool never waits for the machine's description:
 * weft__topology_probe (at pool creation: the counts and the allowed CPUs, from the
 * affinity masks and sysfs), then weft__topology_load_shared (by the workers, before
 * they take work: the machine's places, machine_internal.h, read once per process
 * from sysfs, or from hwloc when sysfs cannot say, and shared by every pool).
 * Placement, binding, claims and closeness need the second; before it, or if it
 * failed, they degrade to "unknown" (NULL places, closeness 0, nothing claimed). */
#ifndef WEFT_TOPOLOGY_INTERNAL_H
#define WEFT_TOPOLOGY_INTERNAL_H

#include <stdbool.h>
#include <hwloc.h>
#include <sched.h>
#include "machine_internal.h"
#include <weft/runtime.h>

/* A pool's view of the machine, fixed at its creation. */
typedef struct weft_topology {
    hwloc_bitmap_t allowed; /* the CPUs this process may run on; NULL: unknown (no placement) */
    unsigned num_cores;     /* allowed cores (>= 1) */
    unsigned num_pus;       /* allowed processing units (>= 1) */
} weft_topology;

/* Fill t for a new pool. Never fails: without the affinity masks, sysfs or memory it
 * falls back to the shared machine (loading it now) or hwloc, and without those too
 * to the calling thread's CPU count, with no placement information. Cheap when the
 * shared machine is loaded or sysfs answers: it loads nothing then. */
void weft__topology_probe(weft_topology *t);
void weft__topology_free(weft_topology *t);
/* Load the process's machine if nobody has yet (from sysfs; hwloc only when sysfs
 * cannot say), or wait for the thread that is loading it. True if it is usable. A
 * load that ran out of memory is tried again by the next call; any other failure is
 * final. Thread-safe; cheap once loaded. */
bool weft__topology_load_shared(void);
/* The place (core or PU, in hwloc's logical order, among those holding an allowed CPU)
 * that worker `index` runs on under `policy` (WEFT_PIN_CORE or WEFT_PIN_PU), cycling
 * when there are more workers; for WEFT_PIN_NONE the core it would get under
 * WEFT_PIN_CORE (used for closeness). NULL before the shared machine is loaded. */
const weft_place *weft__topology_place(const weft_topology *t, weft_pin_policy policy, unsigned index);
/* Pools share the machine: a process-wide count of the pinned workers each place
 * holds lets a new pool start where the pools alive now leave the most room.
 * A claim: worker i of the pool goes on weft__topology_place(t, policy, base + i). */
typedef struct weft_place_claim {
    unsigned base;    /* 0 when nothing was claimed */
    unsigned n;       /* workers counted */
    unsigned places;  /* entries of keys in use */
    unsigned cap;     /* entries allocated */
    unsigned *keys;   /* the places' counter keys; NULL: nothing will be claimed */
    bool decided;     /* the claim was made (or found nothing to claim); under the lock */
} weft_place_claim;
/* At pool creation, for a pinned pool: room for the claim, so that claiming allocates
 * nothing. Out of memory: nothing will be claimed (base 0). */
void weft__topology_claim_init(const weft_topology *t, weft_place_claim *c);
/* By every worker of a pinned pool (WEFT_PIN_CORE or WEFT_PIN_PU), once the shared
 * machine is loaded: the first call claims places for the pool's n workers — base is
 * the b whose n places hold the fewest pinned workers of live pools (lowest b on
 * ties, so 0 when no other pool is pinned or when n covers every place), and those
 * workers are counted until weft__topology_release_places — and every call returns
 * that base. Thread-safe. Without topology or room: base 0, nothing claimed. */
unsigned weft__topology_claim_places(const weft_topology *t, weft_pin_policy policy, unsigned n, weft_place_claim *c);
/* Uncount a claim's workers and free it (a claim of nothing is fine). Thread-safe;
 * only once no worker of the pool can claim any more (they were joined). */
void weft__topology_release_places(weft_place_claim *c);
/* Bind the calling thread to the place's allowed CPUs. 0 or a negative errno. */
int weft__topology_bind_current_thread(const weft_topology *t, const weft_place *place);
/* The allowed CPU of the place after CPU prev (-1: the first), or -1 when there is
 * none: the CPUs a thread bound to the place runs on. */
int weft__topology_next_cpu(const weft_topology *t, const weft_place *place, int prev);
/* Larger = closer: how many groups of the machine hold both (0 if unknown). */
unsigned weft__topology_closeness(const weft_place *a, const weft_place *b);
/* cpus as a glibc CPU set (CPU_ALLOC'd: CPU_FREE it) of *size bytes; NULL when cpus is
 * NULL or empty, or without memory. */
cpu_set_t *weft__topology_cpu_set(hwloc_const_bitmap_t cpus, size_t *size);

#endif
