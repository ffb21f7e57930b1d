/* scope_dep_internal.h: what scope.c and scope_dep.c (tasks with dependencies) share.
 * Not installed. A scope's dependency table lives in scope_dep.c; scope.c only keeps
 * its pointer, NULL until the scope's first dependent task, and frees it when the
 * scope finishes (every task, dependent or not, has finished by then). */
#ifndef WEFT_SCOPE_DEP_INTERNAL_H
#define WEFT_SCOPE_DEP_INTERNAL_H

#include <stdbool.h>
#include <weft/runtime.h>

/* scope.c: may a task still be spawned into the scope from this thread (not waited on)? */
bool weft__scope_open(weft_scope *scope);
/* scope.c: the slot that holds the scope's dependency table. */
_Atomic(void *) *weft__scope_deps(weft_scope *scope);
/* scope.c: scope task fn(scope, arg), run by a thread of the scope's pool, returned
 * the non-zero `status`: cancel the scope with it and report it to the pool's
 * on_task_error. */
void weft__scope_task_failed(weft_scope *scope, weft_scope_fn fn, void *arg, int status);
/* scope_dep.c: free a table (NULL: nothing) whose tasks have all finished. */
void weft__scope_deps_free(void *table);

#endif /* WEFT_SCOPE_DEP_INTERNAL_H */
