/* handles.c: debug builds only (NDEBUG undefined) — the set of live thread and task
 * handles, so that joining a handle twice gives -EINVAL instead of a use after free
 * (handles_internal.h says what it catches and what it cannot).
 *
 * A fixed table of bucket heads, chained through the link each handle embeds: no
 * allocation (so it cannot fail and leaks nothing), and a lookup compares addresses
 * and follows only the links of live handles, never the one asked about. One mutex
 * guards the whole table: debug builds trade speed for checks, and a handle is
 * registered once and removed once. */
#include "handles_internal.h"
#include "fork_internal.h"

#ifndef NDEBUG
#include <stdint.h>
#include <weft/sync.h>

#define BUCKET_BITS 12

static weft_mutex handles_lock = WEFT_MUTEX_INIT;
static weft_handle_link *buckets[1u << BUCKET_BITS];

static weft_handle_link **bucket_of(const weft_handle_link *h)
{
    /* Fibonacci hashing: handles are 8-byte aligned blocks, so mix the high bits in. */
    uint64_t x = (uint64_t)(uintptr_t)h * 0x9E3779B97F4A7C15ULL;
    return &buckets[x >> (64 - BUCKET_BITS)];
}

static void lock(void)
{
    weft__fork_handlers_register(); /* before handles_lock is first taken */
    weft_mutex_lock(&handles_lock);
}

void weft__handle_register(weft_handle_link *h)
{
    lock();
    weft_handle_link **b = bucket_of(h);
    h->next = *b;
    *b = h;
    weft_mutex_unlock(&handles_lock);
}

bool weft__handle_is_live(const weft_handle_link *h)
{
    bool live = false;
    lock();
    for (const weft_handle_link *p = *bucket_of(h); p && !live; p = p->next)
        live = p == h;
    weft_mutex_unlock(&handles_lock);
    return live;
}

void weft__handle_unregister(weft_handle_link *h)
{
    lock();
    for (weft_handle_link **pp = bucket_of(h); *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    weft_mutex_unlock(&handles_lock);
}

/* fork (fork.c): the set is not half updated while the lock is held. The child keeps
 * the set: the parent's handles are still "live" there, though threads other than
 * the forking one do not exist in the child. */
void weft__handles_atfork_prepare(void)
{
    weft_mutex_lock(&handles_lock);
}

void weft__handles_atfork_parent(void)
{
    weft_mutex_unlock(&handles_lock);
}

void weft__handles_atfork_child(void)
{
    weft_mutex_init(&handles_lock);
}
#endif
