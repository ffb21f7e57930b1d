/* slab_internal.h: a per-channel slab allocator for the unbounded channel's blocks
 * (list.c), in 2 MiB-aligned slabs backed by transparent huge pages. Internal to chan/.
 *
 * Why: a burst into an unbounded channel allocates its blocks fresh; after the burst
 * drains, malloc returns the memory to the kernel, so the next burst page-faults every
 * 4 KiB page again. A slab is one huge page: one fault per 2 MiB instead of 512.
 *
 * Contract: weft__chan_slab_alloc returns a block of the size given to weft__chan_slabs_init
 * (aligned to 64 bytes), or NULL (slabs off for this size, or no memory): the caller
 * then uses malloc. weft__chan_slab_free takes back a block weft__chan_slab_alloc returned, and
 * the number of blocks the channel holds after this free (its malloc'd ones too).
 * A freed block is handed out again before any fresh one is carved (the block freed
 * last first), so a steady backlog maps no new slab. Memory returns: a slab is
 * unmapped when its last block is freed, and a free that leaves the channel (and so
 * the slab) with at most a couple of blocks retires the slab from allocation and
 * gives back (MADV_DONTNEED) every page that holds no live block.
 *
 * Thread-safety: alloc and free may race from any threads (senders allocate, whoever
 * destroys a block frees it); `lock` serialises them (taken once per block, i.e.
 * once per 31 messages). weft__chan_slabs_mapped and weft__chan_slabs_maps are advisory relaxed reads. */
#ifndef WEFT_CHAN_SLAB_INTERNAL_H
#define WEFT_CHAN_SLAB_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <weft/sync.h>

#define CHAN_SLAB_BYTES ((size_t)2 << 20) /* one slab: one x86-64 huge page */

typedef struct chan_slab chan_slab;
typedef struct chan_slabs {
    weft_mutex lock;       /* guards the fields below and every slab's header */
    size_t asked;          /* bytes per block asked for (the rest is padding) */
    size_t block_bytes;    /* bytes per block in a slab (a multiple of 64); 0: slabs off */
    size_t per_slab;       /* blocks one slab holds */
    chan_slab *partial;    /* slabs with freed blocks to hand out again (a list) */
    chan_slab *carving;    /* the slab fresh blocks are carved from; NULL: map one */
    _Atomic size_t mapped; /* slabs mapped now (written under lock; test hook) */
    _Atomic size_t maps;   /* slabs ever mapped (written under lock; test hook) */
} chan_slabs;

/* Slabs for blocks of block_bytes; off if too few of them fit in a slab. */
void weft__chan_slabs_init(chan_slabs *s, size_t block_bytes);
void *weft__chan_slab_alloc(chan_slabs *s);
void weft__chan_slab_free(chan_slabs *s, void *block, size_t chan_live);
size_t weft__chan_slabs_mapped(const chan_slabs *s);
size_t weft__chan_slabs_maps(const chan_slabs *s);

#endif
