/* fork_internal.h: what each part of the runtime does around fork() (fork.c registers
 * the handlers with pthread_atfork). Not installed.
 *
 * Before fork, the forking thread takes every lock the runtime owns, in the order
 * the runtime nests them (the global pool lock, then the shared topology's, then the
 * place counts, then the debug handle set), so the child starts with none held
 * midway through an update (a load of the topology under way finishes first). The
 * parent releases them. The child, whose only thread is the forking one, makes them
 * free locks again and forgets what only existed in the parent's threads: the global
 * pool's workers (the child starts a fresh global pool on first use, or at its own
 * weft_pool_global_init: the parent's configuration is not kept), the pinned
 * places they counted, and the worker identity and block hook of the forking thread
 * if it was a worker. It keeps the loaded topology: the same machine. */
#ifndef WEFT_FORK_INTERNAL_H
#define WEFT_FORK_INTERNAL_H

/* Register the handlers, once per process (later calls cost a pthread_once check).
 * Called wherever a runtime lock is first used: pool creation, and the debug handle
 * set. */
void weft__fork_handlers_register(void);

/* pool.c: global_lock and the global pool; the calling thread's worker identity. */
void weft__pool_atfork_prepare(void);
void weft__pool_atfork_parent(void);
void weft__pool_atfork_child(void);

/* topology.c: shared_lock (the process's topology), place_lock and the per-place
 * counts of pinned workers. */
void weft__topology_atfork_prepare(void);
void weft__topology_atfork_parent(void);
void weft__topology_atfork_child(void);

/* handles.c (debug builds; no-ops otherwise): the live handle set's lock. */
#ifndef NDEBUG
void weft__handles_atfork_prepare(void);
void weft__handles_atfork_parent(void);
void weft__handles_atfork_child(void);
#else
static inline void weft__handles_atfork_prepare(void) {}
static inline void weft__handles_atfork_parent(void) {}
static inline void weft__handles_atfork_child(void) {}
#endif

#endif
