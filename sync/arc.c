/* arc.c: a reference-counted shared allocation with a destructor (Rust's Arc<T>).
 *
 * One calloc'ed block: the header (count, destroy) then the user's data, aligned for
 * any type (max_align_t).
 *
 * Invariants:
 *  - count >= 1 while any reference exists; the drop that takes it from 1 to 0 is the
 *    only one that runs destroy and frees the block, exactly once.
 *  - Every access a thread makes through its reference happens before that thread's
 *    drop (release), and the last dropper acquires all of those drops before it runs
 *    destroy: destroy runs after every other access to the data. */
#include <weft/sync.h>
#include <stdalign.h>
#include <stdlib.h>

struct weft_arc {
    _Atomic size_t count;
    void (*destroy)(void *data);
    alignas(max_align_t) unsigned char data[];
};

/* Past this many references we abort, like Rust's Arc: a count that wrapped would
 * free the block while references remain. Only a leak of ~2^63 clones gets here. */
#define ARC_MAX_COUNT (SIZE_MAX / 2)

int weft_arc_new(size_t size, void (*destroy)(void *data), weft_arc **out)
{
    if (!out)
        return -EINVAL;
    /* No object may exceed PTRDIFF_MAX bytes (malloc refuses them; pointer
     * differences inside it would overflow): refuse such sizes up front. */
    if (size > (size_t)PTRDIFF_MAX - sizeof(struct weft_arc))
        return -EINVAL;
    /* calloc returns memory aligned for max_align_t, and the data member is aligned
     * to it within the struct, so the data is too. */
    weft_arc *a = calloc(1, sizeof(struct weft_arc) + size);
    if (!a)
        return -ENOMEM;
    atomic_init(&a->count, 1);
    a->destroy = destroy;
    *out = a;
    return 0;
}

weft_arc *weft_arc_clone(weft_arc *a)
{
    if (!a)
        return NULL;
    /* Relaxed, as in Rust's Arc::clone: a new reference can only be made from an
     * existing one, which the caller holds, so the count cannot reach zero meanwhile
     * and nothing needs to be ordered; whatever passes the new reference to another
     * thread provides that thread's synchronisation. */
    size_t old = atomic_fetch_add_explicit(&a->count, 1, memory_order_relaxed);
    if (old > ARC_MAX_COUNT)
        abort();
    return a;
}

int weft_arc_drop(weft_arc *a)
{
    if (!a)
        return -EINVAL;
    /* Release: our accesses to the data happen before our decrement; pairs with the
     * acquire of the last dropper below. */
    if (atomic_fetch_sub_explicit(&a->count, 1, memory_order_release) != 1)
        return 0;
#ifdef WEFT_TSAN
    /* ThreadSanitizer does not model standalone fences, so it would not see the edge
     * from the other droppers' release decrements to here and report destroy as a
     * race. An acquire load of the count (it reads the zero our fetch_sub wrote, the
     * end of the release sequence of all decrements) creates the same
     * happens-before edge in a form TSan understands. */
    (void)atomic_load_explicit(&a->count, memory_order_acquire);
#else
    /* Acquire fence: pairs with every other dropper's release fetch_sub (our
     * fetch_sub read the end of their release sequence), so all their accesses to
     * the data happen before destroy and free. A fence, not an acquire fetch_sub,
     * so that the common non-last drop pays only for release. */
    atomic_thread_fence(memory_order_acquire);
#endif
    if (a->destroy)
        a->destroy(a->data);
    free(a);
    return 1;
}

void *weft_arc_get(const weft_arc *a)
{
    return a ? (void *)a->data : NULL;
}

size_t weft_arc_count(const weft_arc *a)
{
    if (!a)
        return 0;
    /* Relaxed: a snapshot, advisory only; it orders nothing. */
    return atomic_load_explicit(&((weft_arc *)a)->count, memory_order_relaxed);
}
