/* handles_internal.h: the debug-build check that catches a thread or task handle
 * used after a join or detach consumed it (NDEBUG undefined: the `debug` and `asan`
 * presets). Not installed.
 *
 * A consumed handle is freed, so a second join would read freed memory; the public
 * contract makes that undefined. Debug builds keep the set of live handles, keyed by
 * the address of a link inside each handle: a join, try_join or detach asks whether
 * its handle is live *without reading it*, and answers -EINVAL if not. A handle whose
 * memory a later spawn reused is live again, so that misuse can go unseen (ASan's
 * allocator delays reuse; the task block cache does not). Release builds compile all
 * of this to nothing; the link field stays (as the mutex's owner field does), never
 * read or written. */
#ifndef WEFT_HANDLES_INTERNAL_H
#define WEFT_HANDLES_INTERNAL_H

#include <stdbool.h>

/* Embedded in every thread and task handle. */
typedef struct weft_handle_link {
    struct weft_handle_link *next; /* the next live handle in its bucket */
} weft_handle_link;

#ifndef NDEBUG
/* Add a new handle (before the caller sees it). */
void weft__handle_register(weft_handle_link *h);
/* Is h a live handle? Reads the set only, never *h. */
bool weft__handle_is_live(const weft_handle_link *h);
/* Remove h: called by the join or detach that consumes it, before its memory can be
 * freed (so an address is never in the set twice). */
void weft__handle_unregister(weft_handle_link *h);
#else
static inline void weft__handle_register(weft_handle_link *h) { (void)h; }
static inline bool weft__handle_is_live(const weft_handle_link *h) { return (void)h, true; }
static inline void weft__handle_unregister(weft_handle_link *h) { (void)h; }
#endif

#endif
