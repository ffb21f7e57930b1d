/* layout_internal.h: the layouts behind the opaque storage of weft/sync.h's
 * primitives (weft_mutex, weft_rwlock, weft_condvar, weft_barrier, weft_latch), each
 * static-asserted to fit its storage, and the one way to reach them: mutex_of(m) and
 * its siblings. For the primitives' .c files and their white-box tests. Not
 * installed.
 *
 * Each layout is may_alias: the storage is declared as the public type (by the user,
 * with its static initialiser or init) and accessed only as the layout, so type-based
 * alias analysis must not assume the two never overlap. */
#ifndef WEFT_SYNC_LAYOUT_INTERNAL_H
#define WEFT_SYNC_LAYOUT_INTERNAL_H

#include <weft/sync.h>
#include <stdatomic.h>
#include <stddef.h>

#define WEFT__OPAQUE_FITS(impl, pub)                                                         \
    _Static_assert(sizeof(impl) <= sizeof(pub), #impl " fits " #pub "'s storage");           \
    _Static_assert(_Alignof(impl) <= _Alignof(pub), #pub "'s storage is aligned for " #impl)

/* sync/mutex.c. WEFT_MUTEX_INIT: both words 0. */
typedef struct __attribute__((may_alias)) mutex_impl {
    _Atomic uint32_t state; /* 0 unlocked, 1 locked, 2 locked and maybe a sleeper */
    _Atomic uint32_t owner; /* debug builds only: a per-thread id of the holder */
} mutex_impl;
WEFT__OPAQUE_FITS(mutex_impl, weft_mutex);
static inline mutex_impl *mutex_of(weft_mutex *m) { return (mutex_impl *)(void *)m; }

/* sync/rwlock.c. WEFT_RWLOCK_INIT: both words 0. */
typedef struct __attribute__((may_alias)) rwlock_impl {
    _Atomic uint32_t state;         /* reader count | writer and waiter bits */
    _Atomic uint32_t writer_notify; /* a sleeping writer's futex word */
} rwlock_impl;
WEFT__OPAQUE_FITS(rwlock_impl, weft_rwlock);
static inline rwlock_impl *rwlock_of(weft_rwlock *l) { return (rwlock_impl *)(void *)l; }

/* sync/condvar.c. WEFT_CONDVAR_INIT: 0. */
typedef struct __attribute__((may_alias)) condvar_impl {
    _Atomic uint32_t seq; /* notify counter, the waiters' futex word */
} condvar_impl;
WEFT__OPAQUE_FITS(condvar_impl, weft_condvar);
static inline condvar_impl *condvar_of(weft_condvar *cv) { return (condvar_impl *)(void *)cv; }

/* sync/barrier.c. WEFT_BARRIER_INIT(n): state 0 in word 0, count n in word 1. */
typedef struct __attribute__((may_alias)) barrier_impl {
    _Atomic uint32_t state; /* generation << 24 | arrivals in the round (low 24 bits) */
    uint32_t count;         /* the threads a round waits for, fixed from init to destroy */
} barrier_impl;
WEFT__OPAQUE_FITS(barrier_impl, weft_barrier);
_Static_assert(offsetof(barrier_impl, state) == 0 && offsetof(barrier_impl, count) == 4,
               "WEFT_BARRIER_INIT's words");
static inline barrier_impl *barrier_of(weft_barrier *b) { return (barrier_impl *)(void *)b; }

/* sync/latch.c. WEFT_LATCH_INIT(n): n in its word (count n, no sleeper). */
typedef struct __attribute__((may_alias)) latch_impl {
    _Atomic uint32_t state; /* count in the low 31 bits, bit 31: someone may sleep */
} latch_impl;
WEFT__OPAQUE_FITS(latch_impl, weft_latch);
_Static_assert(offsetof(latch_impl, state) == 0, "WEFT_LATCH_INIT's word");
static inline latch_impl *latch_of(weft_latch *l) { return (latch_impl *)(void *)l; }

#endif /* WEFT_SYNC_LAYOUT_INTERNAL_H */
