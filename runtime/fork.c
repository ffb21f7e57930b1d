/* fork.c: a child process can use weft (fork_internal.h has the protocol).
 *
 * POSIX leaves a child of a multithreaded process with one thread and every lock as
 * it was: the parent's worker threads do not exist there, so a global pool copied
 * from the parent never runs anything, and a lock another thread held is held for
 * ever. The handlers below give the child a runtime as if freshly loaded, except for
 * what the user owns (pools created before fork, handles, locks, channels): those
 * stay as the parent's threads left them, unusable where they needed those threads.
 *
 * Invariant: the handlers are registered before any runtime lock can be held by a
 * thread (each first user calls weft__fork_handlers_register before taking its lock),
 * so no fork can copy a runtime lock in a held state. */
#include "fork_internal.h"

#include <pthread.h>
#include <weft/sync.h>

static void prepare(void)
{
    weft__pool_atfork_prepare();     /* global_lock: held while a pool is created */
    weft__topology_atfork_prepare(); /* shared_lock, place_lock: taken under global_lock */
    weft__handles_atfork_prepare();  /* taken under global_lock (worker handles) */
}

static void parent(void)
{
    weft__handles_atfork_parent();
    weft__topology_atfork_parent();
    weft__pool_atfork_parent();
}

static void child(void)
{
    weft__handles_atfork_child();
    weft__topology_atfork_child();
    weft__pool_atfork_child();
    /* A worker's block hook shares its deque before it parks; in the child that
     * worker is gone. Thread-local: this clears the forking thread's only. */
    weft_futex_set_block_hook(NULL, NULL);
    weft_futex_set_unblock_hook(NULL, NULL);
}

static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void register_handlers(void)
{
    /* Fails only with ENOMEM; then fork keeps its old behaviour (a child must not use
     * weft), which is all that can be done without the handlers. */
    (void)pthread_atfork(prepare, parent, child);
}

void weft__fork_handlers_register(void)
{
    pthread_once(&registered, register_handlers);
}
