/* stress_rwlock: two checks of weft_rwlock under real contention (TSan too).
 *
 * 1. Consistency: writers store one value into every field of a multi-field plain
 *    record; readers check all fields are equal, i.e. they never see a half-written
 *    record, and a writer never finds a reader inside. Lock by blocking, try and
 *    timed calls (short timeouts, so some waiters give up while others sleep), with
 *    sections short, near the spin budget and past it (a yield), so spinners,
 *    sleepers and racers on a free word mix.
 *    Every write is counted: the total must be exact.
 * 2. Writers are not starved: a continuous stream of overlapping readers runs; a
 *    writer calls the blocking write_lock; the readers stop only after the writer got
 *    in. With a reader-preferring lock the reader count need never reach zero and the
 *    test would not finish. No timing is measured: finishing at all is the check. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <weft/sync.h>

enum { WRITERS = 2, READERS = 4, FIELDS = 6 };

/* ------------------------------------------------------------------------------
 * 1. Consistency */

typedef struct {
    weft_rwlock l;
    unsigned long f[FIELDS]; /* guarded by l: all equal whenever l is not write-locked */
    long writes;             /* guarded by l (write) */
    _Atomic int readers_in;  /* readers inside the read section */
    long iters;
} record;

/* Hold the lock for 300-500 pauses, near the spin budget (WEFT_SPIN_LOOKS x
 * WEFT_SPIN_PAUSES, sync/spin_internal.h): some waiters take the lock spinning while
 * others already sleep. */
static void hold_near_spin_budget(long i)
{
    for (int k = 0; k < 300 + (int)(i % 7) * 32; k++)
        weft_cpu_relax();
}

typedef struct {
    record *r;
    int id;
    long timeouts, busy;
} actor;

static void *writer(void *p)
{
    actor *a = p;
    record *r = a->r;
    for (long i = 0; i < r->iters; i++) {
        int e;
        switch ((i + a->id) % 3) {
        case 0:
            e = weft_rwlock_write_lock(&r->l);
            break;
        case 1:
            while ((e = weft_rwlock_try_write_lock(&r->l)) == -EBUSY) {
                a->busy++;
                sched_yield();
            }
            break;
        default:
            while ((e = weft_rwlock_write_lock_timeout(&r->l, (uint64_t)(i % 32) * 1000)) == -ETIMEDOUT)
                a->timeouts++;
            break;
        }
        CHECK(e == 0, "writer lock: %d", e);
        CHECK(atomic_load_explicit(&r->readers_in, memory_order_relaxed) == 0, "a reader is inside with a writer");
        for (int k = 1; k < FIELDS; k++)
            CHECK(r->f[k] == r->f[0], "writer found a torn record");
        unsigned long v = (unsigned long)a->id << 32 | (unsigned long)i;
        for (int k = 0; k < FIELDS; k++) {
            r->f[k] = v;
            /* Now and then give the CPU away mid-write: waiters pile up and sleep. */
            if (k == FIELDS / 2 && i % 8 == 0)
                sched_yield();
            else if (k == FIELDS / 2 && i % 8 == 4)
                hold_near_spin_budget(i);
        }
        r->writes++;
        CHECK(weft_rwlock_unlock(&r->l) == 0, "writer unlock");
    }
    return NULL;
}

static void *reader(void *p)
{
    actor *a = p;
    record *r = a->r;
    for (long i = 0; i < 4 * r->iters; i++) {
        int e;
        switch ((i + a->id) % 3) {
        case 0:
            e = weft_rwlock_read_lock(&r->l);
            break;
        case 1:
            while ((e = weft_rwlock_try_read_lock(&r->l)) == -EBUSY) {
                a->busy++;
                sched_yield();
            }
            break;
        default:
            while ((e = weft_rwlock_read_lock_timeout(&r->l, (uint64_t)(i % 32) * 1000)) == -ETIMEDOUT)
                a->timeouts++;
            break;
        }
        CHECK(e == 0, "reader lock: %d", e);
        atomic_fetch_add_explicit(&r->readers_in, 1, memory_order_relaxed);
        unsigned long v0 = r->f[0];
        for (int k = 1; k < FIELDS; k++) {
            if (k == FIELDS / 2 && i % 8 == 0)
                sched_yield();
            else if (k == FIELDS / 2 && i % 32 == 4)
                hold_near_spin_budget(i);
            CHECK(r->f[k] == v0, "reader saw a half-written record");
        }
        atomic_fetch_sub_explicit(&r->readers_in, 1, memory_order_relaxed);
        CHECK(weft_rwlock_unlock(&r->l) == 0, "reader unlock");
    }
    return NULL;
}

static void consistency(void)
{
    record r = {.l = WEFT_RWLOCK_INIT, .iters = stress_iters(100000)};
    actor a[WRITERS + READERS];
    pthread_t t[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        a[i] = (actor){&r, i + 1, 0, 0};
        CHECK(pthread_create(&t[i], NULL, i < WRITERS ? writer : reader, &a[i]) == 0, "create");
    }
    long timeouts = 0, busy = 0;
    for (int i = 0; i < WRITERS + READERS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0, "join");
        timeouts += a[i].timeouts;
        busy += a[i].busy;
    }
    CHECK(r.writes == WRITERS * r.iters, "writes %ld, expected %ld", r.writes, WRITERS * r.iters);
    CHECK(weft_rwlock_destroy(&r.l) == 0, "lock left held or with waiter bits");
    printf("stress_rwlock: %ld writes, %ld reads consistent (%ld timeouts, %ld busy tries)\n", r.writes,
           READERS * 4 * r.iters, timeouts, busy);
}

/* ------------------------------------------------------------------------------
 * 2. Writer starvation */

typedef struct {
    weft_rwlock l;
    _Atomic int writer_done; /* set by the writer while it holds the write lock */
    _Atomic long reads;
    long data; /* guarded by l */
} stream;

static void *stream_reader(void *p)
{
    stream *s = p;
    for (long i = 0;; i++) {
        CHECK(weft_rwlock_read_lock(&s->l) == 0, "read_lock");
        long d = s->data;
        (void)d;
        atomic_fetch_add_explicit(&s->reads, 1, memory_order_relaxed);
        /* Hold it a while, sometimes across a reschedule: the readers overlap, so a
         * reader-preferring lock would never drain to zero readers. */
        for (int k = 0; k < 50; k++)
            weft_cpu_relax();
        if (i % 4 == 0)
            sched_yield();
        /* Acquire: pairs with the writer's release store (under the write lock). */
        int done = atomic_load_explicit(&s->writer_done, memory_order_acquire);
        CHECK(weft_rwlock_unlock(&s->l) == 0, "unlock");
        if (done)
            return NULL;
    }
}

static void starvation(void)
{
    long rounds = stress_iters(40);
    for (long round = 0; round < rounds; round++) {
        stream s = {.l = WEFT_RWLOCK_INIT};
        pthread_t t[READERS];
        for (int i = 0; i < READERS; i++)
            CHECK(pthread_create(&t[i], NULL, stream_reader, &s) == 0, "create");
        /* Let the stream get going (readers do not stop on their own). */
        while (atomic_load_explicit(&s.reads, memory_order_relaxed) < 200)
            sched_yield();
        CHECK(weft_rwlock_write_lock(&s.l) == 0, "write_lock");
        s.data++;
        /* Release: pairs with the readers' acquire load. */
        atomic_store_explicit(&s.writer_done, 1, memory_order_release);
        CHECK(weft_rwlock_unlock(&s.l) == 0, "write unlock");
        for (int i = 0; i < READERS; i++)
            CHECK(pthread_join(t[i], NULL) == 0, "join");
        CHECK(weft_rwlock_destroy(&s.l) == 0, "destroy");
    }
    printf("stress_rwlock: a writer got in through a stream of %d readers, %ld rounds\n", READERS, rounds);
}

int main(void)
{
    consistency();
    starvation();
    return 0;
}
