/* machine_internal.h: the machine's places for the scheduler — every online core and
 * PU, in hwloc's logical order, each with its CPUs and the groups that hold it — read
 * from Linux's sysfs in a few dozen file reads, or taken from a loaded hwloc topology
 * when sysfs cannot say. topology.c builds placement, binding and closeness on it.
 *
 * A place's chain names the groups that contain it (the machine, packages, dies,
 * clusters, NUMA nodes, data caches, its core, itself), largest first, each by its
 * first CPU. In a tree of groups two different groups on the same chain position of
 * two places are disjoint, so comparing chains compares the groups themselves: hwloc
 * orders siblings by their first CPU, so sorting places by chain is hwloc's order, and
 * the length of the common prefix of two chains is how many groups hold both. */
#ifndef WEFT_MACHINE_INTERNAL_H
#define WEFT_MACHINE_INTERNAL_H

#include <hwloc.h>

#define WEFT__CHAIN_MAX 16

typedef struct weft_place {
    hwloc_bitmap_t cpus;              /* its online CPUs, allowed to this process or not */
    unsigned depth;                   /* entries of chain */
    unsigned chain[WEFT__CHAIN_MAX];  /* the first CPU of each group holding it, largest first, its own last */
} weft_place;

typedef struct weft_machine {
    unsigned num_cores, num_pus;
    weft_place *cores, *pus; /* hwloc's logical order */
} weft_machine;

/* Read the machine from the sysfs tree under root ("" for this system's). 0; -ENOENT
 * when sysfs does not describe the CPUs; -EINVAL when what it says is not a tree of
 * groups (hwloc repairs such input: ask it); -ENOMEM. On error m is empty. */
int weft__machine_from_sysfs(const char *root, weft_machine *m);
/* The same from a loaded hwloc topology (chains from the objects' ancestors). 0,
 * -ENOENT (no PUs), -EINVAL (deeper than WEFT__CHAIN_MAX) or -ENOMEM; on error m is empty. */
int weft__machine_from_hwloc(hwloc_topology_t topo, weft_machine *m);
void weft__machine_free(weft_machine *m);
/* How many groups hold both places (0 with a NULL place); larger = closer. */
unsigned weft__place_closeness(const weft_place *a, const weft_place *b);

#endif
