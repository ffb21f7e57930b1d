/* scope_dep.c: tasks with dependencies by address (weft_scope_spawn_dep), OpenMP's
 * `task depend(in/out/inout)` over a scope, kept as libgomp keeps it: a hash of
 * addresses to the last writer and the readers since.
 *
 * The table. A scope gets one at its first dependent task (installed by compare-and-
 * swap in scope.c's slot, so spawners on several threads agree on it); scope.c frees
 * it when the scope finishes. It maps each address to a record (dep_addr) of the last
 * writer of that address that has not finished, and of the readers spawned after that
 * writer that have not finished. A new task T, for each of its addresses:
 *  - IN: waits for the writer (read-after-write), then joins the readers;
 *  - OUT / INOUT: waits for every reader (write-after-read) or, with none, for the
 *    writer (write-after-write), then is the writer and the readers are cleared.
 * Each reader waited for the writer before it, so a writer that waits for readers
 * waits for that writer too. A task that finishes leaves every record it is in, so a
 * record names unfinished tasks only, and memory stays bounded by the addresses used.
 *
 * Order: a scope's registrations take its table's mutex one at a time, so a task
 * depends on the conflicting tasks registered before it: one thread's spawns in
 * program order, spawns from several threads in the order they took the mutex. The
 * mutex is the scope's alone (no lock is shared between scopes) and is held for a
 * registration and for a finished task leaving the table; no task runs under it.
 *
 * Which ready task runs: the table keeps its ready tasks (no unfinished predecessor,
 * not started) in a heap ordered by registration, each matched by one queued scope
 * job, dep_ready_run, that takes whichever ready task is the earliest when it runs;
 * a job whose task made others ready continues with the earliest of those (a chain
 * stays on one thread and in its cache, as TBB's continuation bypass) and queues a
 * job for each of the rest. So a thread that looks for work takes the scope's ready
 * tasks in spawn order, as OpenMP's team queue gives them out, and one thread runs a
 * blocked factorisation close to the order of the loop that spawned it, which is
 * also the order its caches like; the LIFO deques alone ran released tasks newest
 * first.
 *
 * Counting: under the mutex, the heap holds exactly as many tasks as there are queued
 * jobs not yet started plus the entries running jobs still owe themselves
 * (dep_ready_run's `owed`: a job it could not queue). Tasks not ready are counted by
 * nothing, and need not be: each has an unfinished predecessor, and the one that
 * releases it last runs it, or puts it in the heap and queues (or owes) its job,
 * before returning, so the scope's pending count stays above zero until every
 * dependent task has run.
 *
 * -ENOMEM leaves nothing behind: under the mutex a spawn first makes all the room it
 * needs (table slots, records, readers' arrays, heap room; it appends itself to its
 * predecessors' successor arrays, growing them), and if it is ready enters the heap
 * and queues its job, before it changes anything another task reads; on failure it
 * takes its appended edges back (the tails of those arrays: no predecessor can finish
 * while the mutex is held), leaves the heap (it is the latest registered, so it sits
 * at the heap's end) and keeps the room it made. When tasks are released, a job that
 * cannot be queued (weft_scope_spawn cannot allocate) is owed by the job that
 * released them, which takes one more from the heap itself; a released task the heap
 * has no room for (it cannot grow) goes on that job's own list, and it runs it. */
#include "scope_dep_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/sync.h>

typedef struct dep_task dep_task;
typedef struct dep_use dep_use;

/* One address's record. */
typedef struct dep_addr {
    const void *addr;
    dep_task *writer;  /* last writer not finished, or NULL */
    dep_use **readers; /* readers since that writer, not finished */
    uint32_t nreaders, cap_readers;
} dep_addr;

/* One address of one task (the task's modes for it combined). */
struct dep_use {
    const void *addr;
    dep_addr *rec;
    dep_task *task;
    uint32_t mode;         /* WEFT_DEP_IN | WEFT_DEP_OUT bits */
    uint32_t reader_index; /* where a reader sits in rec->readers (checked: stale once a
                              writer cleared them) */
};

enum { DEP_SUCC_INLINE = 4 };

struct dep_task {
    weft_scope_fn fn;
    void *arg;
    uint64_t seq;           /* registration order: the heap's key */
    uint32_t npred;         /* unfinished predecessors (under the mutex) */
    uint32_t nsucc, cap_succ;
    dep_task **succ;        /* tasks waiting for this one, once per edge */
    dep_task *succ_inline[DEP_SUCC_INLINE];
    dep_task *next;         /* in a job's list of released tasks the heap had no room for */
    uint32_t nuses;
    dep_use uses[];
};

/* A heap entry: the key beside the task, so that sifting reads only the array. */
typedef struct dep_ready {
    uint64_t seq;
    dep_task *task;
} dep_ready;

typedef struct dep_table {
    weft_mutex lock;
    dep_addr **slots;  /* open addressing, linear probing; NULL: empty */
    size_t cap;        /* a power of two */
    size_t count;      /* records */
    dep_ready *ready;  /* binary min-heap on seq: ready tasks not started */
    size_t nready, cap_ready;
    uint64_t next_seq;
} dep_table;

enum { DEP_TABLE_MIN = 64, DEP_READY_MIN = 64 };

static size_t dep_hash(const void *addr, size_t cap)
{
    /* Fibonacci hashing: the high bits of the product mix every bit of the address,
     * so the aligned addresses of an array of blocks spread. */
    uint64_t h = (uint64_t)(uintptr_t)addr * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

static dep_table *dep_table_new(void)
{
    dep_table *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->slots = calloc(DEP_TABLE_MIN, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    weft_mutex_init(&t->lock);
    t->cap = DEP_TABLE_MIN;
    t->count = 0;
    t->ready = NULL;
    t->nready = t->cap_ready = 0;
    t->next_seq = 0;
    return t;
}

void weft__scope_deps_free(void *table)
{
    dep_table *t = table;
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) {
            free(t->slots[i]->readers);
            free(t->slots[i]);
        }
    free(t->slots);
    free(t->ready);
    free(t);
}

/* The scope's table, made on first use. NULL: out of memory. */
static dep_table *dep_table_of(weft_scope *scope)
{
    _Atomic(void *) *slot = weft__scope_deps(scope);
    /* Acquire: pairs with the release of the compare-and-swap below, so the table's
     * initialisation is visible. */
    dep_table *t = atomic_load_explicit(slot, memory_order_acquire);
    if (t)
        return t;
    dep_table *fresh = dep_table_new();
    if (!fresh)
        return NULL;
    void *expected = NULL;
    /* acq_rel: release publishes our table; acquire (on failure too) sees the winner's. */
    if (atomic_compare_exchange_strong_explicit(slot, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    weft__scope_deps_free(fresh);
    return expected;
}

/* Room for `more` new records without growing (so lookups cannot fail midway). */
static int dep_table_reserve(dep_table *t, size_t more)
{
    if ((t->count + more) * 2 <= t->cap)
        return 0;
    size_t cap = t->cap;
    while ((t->count + more) * 2 > cap)
        cap *= 2;
    dep_addr **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) {
            size_t j = dep_hash(t->slots[i]->addr, cap);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = t->slots[i];
        }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* addr's record, made (empty) if it has none: NULL if out of memory. The table has
 * room (dep_table_reserve). */
static dep_addr *dep_table_get(dep_table *t, const void *addr)
{
    size_t i = dep_hash(addr, t->cap);
    for (; t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (t->slots[i]->addr == addr)
            return t->slots[i];
    dep_addr *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    rec->addr = addr;
    t->slots[i] = rec;
    t->count++;
    return rec;
}

/* Room in the ready heap for one more task. */
static int dep_ready_room(dep_table *tab)
{
    if (tab->nready < tab->cap_ready)
        return 0;
    size_t cap = tab->cap_ready ? tab->cap_ready * 2 : DEP_READY_MIN;
    dep_ready *a = realloc(tab->ready, cap * sizeof *a);
    if (!a)
        return -ENOMEM;
    tab->ready = a;
    tab->cap_ready = cap;
    return 0;
}

/* t is ready: into the heap (dep_ready_room made room). */
static void dep_ready_push(dep_table *tab, dep_task *t)
{
    size_t i = tab->nready++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (tab->ready[parent].seq < t->seq)
            break;
        tab->ready[i] = tab->ready[parent];
        i = parent;
    }
    tab->ready[i] = (dep_ready){t->seq, t};
}

/* The earliest registered ready task, out of the heap (which is not empty). */
static dep_task *dep_ready_pop(dep_table *tab)
{
    dep_task *top = tab->ready[0].task;
    dep_ready last = tab->ready[--tab->nready];
    size_t i = 0, n = tab->nready;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && tab->ready[c + 1].seq < tab->ready[c].seq)
            c++;
        if (last.seq < tab->ready[c].seq)
            break;
        tab->ready[i] = tab->ready[c];
        i = c;
    }
    if (n > 0)
        tab->ready[i] = last;
    return top;
}

/* Append `succ` to p's successors (the edge p -> succ). */
static int dep_edge_add(dep_task *p, dep_task *succ)
{
    if (p->nsucc == p->cap_succ) {
        uint32_t cap = p->cap_succ * 2;
        dep_task **a = malloc(cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        memcpy(a, p->succ, p->nsucc * sizeof *a);
        if (p->succ != p->succ_inline)
            free(p->succ);
        p->succ = a;
        p->cap_succ = cap;
    }
    p->succ[p->nsucc++] = succ;
    return 0;
}

/* Take back the edges p -> t that end p's successors (a spawn that failed). */
static void dep_edge_undo(dep_task *p, dep_task *t)
{
    while (p && p->nsucc > 0 && p->succ[p->nsucc - 1] == t)
        p->nsucc--;
}

/* Add the edges from t's predecessors on u's address to t; counts them in t->npred. */
static int dep_use_link(dep_task *t, dep_use *u)
{
    dep_addr *rec = u->rec;
    if ((u->mode & WEFT_DEP_OUT) && rec->nreaders > 0) {
        for (uint32_t i = 0; i < rec->nreaders; i++) {
            if (dep_edge_add(rec->readers[i]->task, t) != 0)
                return -ENOMEM;
            t->npred++;
        }
        return 0;
    }
    if (rec->writer) {
        if (dep_edge_add(rec->writer, t) != 0)
            return -ENOMEM;
        t->npred++;
    }
    return 0;
}

static void dep_use_unlink(dep_task *t, dep_use *u)
{
    dep_addr *rec = u->rec;
    if ((u->mode & WEFT_DEP_OUT) && rec->nreaders > 0) {
        for (uint32_t i = 0; i < rec->nreaders; i++)
            dep_edge_undo(rec->readers[i]->task, t);
    } else {
        dep_edge_undo(rec->writer, t);
    }
}

/* Make room in the record for u as a reader. */
static int dep_use_reserve(dep_use *u)
{
    dep_addr *rec = u->rec;
    if ((u->mode & WEFT_DEP_OUT) || rec->nreaders < rec->cap_readers)
        return 0;
    uint32_t cap = rec->cap_readers ? rec->cap_readers * 2 : 4;
    dep_use **a = realloc(rec->readers, cap * sizeof *a);
    if (!a)
        return -ENOMEM;
    rec->readers = a;
    rec->cap_readers = cap;
    return 0;
}

/* t becomes a reader or the writer of u's address (cannot fail: room was made). */
static void dep_use_register(dep_task *t, dep_use *u)
{
    dep_addr *rec = u->rec;
    if (u->mode & WEFT_DEP_OUT) {
        rec->writer = t;
        rec->nreaders = 0;
    } else {
        u->reader_index = rec->nreaders;
        rec->readers[rec->nreaders++] = u;
    }
}

/* t has finished: leave u's record. */
static void dep_use_leave(dep_task *t, dep_use *u)
{
    dep_addr *rec = u->rec;
    if (rec->writer == t) {
        rec->writer = NULL;
    } else if (!(u->mode & WEFT_DEP_OUT) && u->reader_index < rec->nreaders &&
               rec->readers[u->reader_index] == u) {
        dep_use *last = rec->readers[--rec->nreaders];
        rec->readers[u->reader_index] = last;
        last->reader_index = u->reader_index;
    }
}

static void dep_task_free(dep_task *t)
{
    if (t->succ != t->succ_inline)
        free(t->succ);
    free(t);
}

/* Under the mutex: t's function has returned. t leaves the table; of the tasks it
 * was the last predecessor of, the earliest registered goes to *mine and the others
 * enter the heap, or *extra if it has no room (out of memory: the caller runs them);
 * returns how many entered the heap. */
static size_t dep_task_leave(dep_table *tab, dep_task *t, dep_task **mine, dep_task **extra)
{
    size_t released = 0;
    *mine = NULL;
    for (uint32_t i = 0; i < t->nuses; i++)
        dep_use_leave(t, &t->uses[i]);
    for (uint32_t i = 0; i < t->nsucc; i++) {
        dep_task *s = t->succ[i];
        if (--s->npred == 0) {
            if (!*mine || s->seq < (*mine)->seq) {
                dep_task *other = *mine;
                *mine = s;
                s = other;
            }
            if (s && dep_ready_room(tab) == 0) {
                dep_ready_push(tab, s);
                released++;
            } else if (s) {
                s->next = *extra;
                *extra = s;
            }
        }
    }
    return released;
}

/* The scope job matched with one entry of the ready heap: runs the earliest ready
 * task; then, as long as the task it ran released others, the earliest of those
 * (a chain stays on this thread and in its cache), queueing a job for each of the
 * rest; when one released none, the earliest in the heap if the job still owes one.
 * `owed`: heap entries this job has yet to take (its own, and one per job it could
 * not queue); `extra`: released tasks the heap had no room for, run here. Each
 * task's failure is reported as its own (its fn and arg, weft__scope_task_failed),
 * so the job itself returns 0. */
static int dep_ready_run(weft_scope *scope, void *arg)
{
    dep_table *tab = arg;
    dep_task *done = NULL, *extra = NULL;
    size_t owed = 1;
    for (;;) {
        size_t queue = 0;
        dep_task *t = NULL;
        weft_mutex_lock(&tab->lock);
        if (done)
            queue = dep_task_leave(tab, done, &t, &extra);
        if (!t && extra) {
            t = extra;
            extra = extra->next;
        } else if (!t && owed > 0) {
            t = dep_ready_pop(tab);
            owed--;
        }
        weft_mutex_unlock(&tab->lock);
        if (done)
            dep_task_free(done);
        done = NULL;
        for (; queue > 0; queue--)
            if (weft_scope_spawn(scope, dep_ready_run, tab) != 0)
                owed++;
        if (!t) {
            if (owed == 0)
                return 0;
            continue;
        }
        int status = t->fn(scope, t->arg);
        if (status != 0)
            weft__scope_task_failed(scope, t->fn, t->arg, status);
        done = t;
    }
}

/* A task with t's uses filled from deps, an address's modes combined into one use. */
static dep_task *dep_task_new(weft_scope_fn fn, void *arg, const weft_dep *deps, size_t ndeps)
{
    if (ndeps > (SIZE_MAX - sizeof(dep_task)) / sizeof(dep_use) || ndeps > UINT32_MAX)
        return NULL;
    dep_task *t = malloc(sizeof *t + ndeps * sizeof(dep_use));
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    t->npred = 0;
    t->nsucc = 0;
    t->cap_succ = DEP_SUCC_INLINE;
    t->succ = t->succ_inline;
    t->nuses = 0;
    for (size_t i = 0; i < ndeps; i++) {
        uint32_t j = 0;
        while (j < t->nuses && t->uses[j].addr != deps[i].addr)
            j++;
        if (j == t->nuses) {
            t->uses[j] = (dep_use){.addr = deps[i].addr, .task = t, .mode = 0};
            t->nuses++;
        }
        t->uses[j].mode |= (uint32_t)deps[i].mode;
    }
    return t;
}

/* Under the table's mutex: make room, link t to its predecessors, queue it if ready,
 * register it. On failure nothing another task sees has changed. */
static int dep_task_submit(weft_scope *scope, dep_table *tab, dep_task *t)
{
    int rc = dep_table_reserve(tab, t->nuses);
    for (uint32_t i = 0; rc == 0 && i < t->nuses; i++) {
        t->uses[i].rec = dep_table_get(tab, t->uses[i].addr);
        rc = t->uses[i].rec ? dep_use_reserve(&t->uses[i]) : -ENOMEM;
    }
    if (rc != 0)
        return rc;
    uint32_t linked = 0;
    while (rc == 0 && linked < t->nuses)
        rc = dep_use_link(t, &t->uses[linked++]);
    /* Ready: into the heap, and its job queued now, while a failure can still be undone
     * (no job can take it before the mutex is released). Its seq is the highest yet, so
     * it stays at the heap's end. */
    t->seq = tab->next_seq++;
    if (rc == 0 && t->npred == 0) {
        rc = dep_ready_room(tab);
        if (rc == 0) {
            dep_ready_push(tab, t);
            rc = weft_scope_spawn(scope, dep_ready_run, tab);
            if (rc != 0)
                tab->nready--;
        }
    }
    if (rc != 0) {
        for (uint32_t i = 0; i < linked; i++)
            dep_use_unlink(t, &t->uses[i]);
        return rc;
    }
    for (uint32_t i = 0; i < t->nuses; i++)
        dep_use_register(t, &t->uses[i]);
    return 0;
}

int weft_scope_spawn_dep(weft_scope *scope, weft_scope_fn fn, void *arg, const weft_dep *deps,
                         size_t ndeps)
{
    if (!scope || !fn || (!deps && ndeps > 0))
        return -EINVAL;
    for (size_t i = 0; i < ndeps; i++)
        if (deps[i].mode != WEFT_DEP_IN && deps[i].mode != WEFT_DEP_OUT && deps[i].mode != WEFT_DEP_INOUT)
            return -EINVAL;
    if (ndeps == 0)
        return weft_scope_spawn(scope, fn, arg);
    if (!weft__scope_open(scope))
        return -EINVAL;
    dep_table *tab = dep_table_of(scope);
    dep_task *t = tab ? dep_task_new(fn, arg, deps, ndeps) : NULL;
    if (!t)
        return -ENOMEM;
    weft_mutex_lock(&tab->lock);
    int rc = dep_task_submit(scope, tab, t);
    weft_mutex_unlock(&tab->lock);
    if (rc != 0)
        dep_task_free(t);
    return rc;
}
