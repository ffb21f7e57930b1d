/* inject.c: the --wrap allocators and pthread_create of the reliability tests (see
 * inject.h). State is a few atomics: the wrappers run on any thread (workers too). */
#include "inject.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **out, size_t align, size_t size);
void __real_free(void *p);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_posix_memalign(void **out, size_t align, size_t size);
void __wrap_free(void *p);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

typedef struct plan {
    _Atomic long countdown; /* > 0: calls left until the failing one; 0: off */
    _Atomic int sticky;     /* after firing, keep failing */
    _Atomic int failing;    /* sticky and fired */
    _Atomic long fired;
} plan;

static plan plans[2];
static _Atomic long live;

/* All seq_cst: test scaffolding, simplicity over speed. */
void inject_arm(inject_kind kind, long n, bool sticky)
{
    plan *p = &plans[kind];
    atomic_store(&p->failing, 0);
    atomic_store(&p->fired, 0);
    atomic_store(&p->sticky, sticky);
    atomic_store(&p->countdown, n);
}

long inject_disarm(inject_kind kind)
{
    plan *p = &plans[kind];
    atomic_store(&p->countdown, 0);
    atomic_store(&p->failing, 0);
    return atomic_load(&p->fired);
}

long inject_fired(inject_kind kind) { return atomic_load(&plans[kind].fired); }
long inject_live(void) { return atomic_load(&live); }

static bool should_fail(plan *p)
{
    if (atomic_load(&p->failing)) {
        atomic_fetch_add(&p->fired, 1);
        return true;
    }
    long v = atomic_load(&p->countdown);
    while (v > 0) {
        if (atomic_compare_exchange_weak(&p->countdown, &v, v - 1)) {
            if (v != 1)
                return false;
            if (atomic_load(&p->sticky))
                atomic_store(&p->failing, 1);
            atomic_fetch_add(&p->fired, 1);
            return true;
        }
    }
    return false;
}

static void *counted(void *p)
{
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_malloc(size_t size)
{
    return should_fail(&plans[INJECT_ALLOC]) ? NULL : counted(__real_malloc(size));
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail(&plans[INJECT_ALLOC]) ? NULL : counted(__real_calloc(n, size));
}

void *__wrap_realloc(void *old, size_t size)
{
    if (should_fail(&plans[INJECT_ALLOC]))
        return NULL;
    void *p = __real_realloc(old, size);
    if (!old)
        counted(p);
    else if (size == 0 && !p)
        atomic_fetch_sub(&live, 1); /* glibc realloc(p, 0) frees p */
    return p;
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    return should_fail(&plans[INJECT_ALLOC]) ? NULL : counted(__real_aligned_alloc(align, size));
}

int __wrap_posix_memalign(void **out, size_t align, size_t size)
{
    if (should_fail(&plans[INJECT_ALLOC]))
        return ENOMEM;
    int rc = __real_posix_memalign(out, align, size);
    if (rc == 0)
        counted(*out);
    return rc;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __real_free(p);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (should_fail(&plans[INJECT_THREAD]))
        return EAGAIN;
    return __real_pthread_create(t, attr, fn, arg);
}
