/* stress_mutex: N threads x M increments of a plain (non-atomic) counter under one
 * weft_mutex, taking it by lock, try_lock and lock_timeout (short timeouts, so some
 * waiters give up while others sleep: a lost wake-up would hang the test), with
 * sections short, near the spin budget and past it (spinners, sleepers and CAS 0->1
 * takers mixed). Checks the count is exactly N*M and that no two threads are ever
 * inside at once. Runs under TSan too, which would flag the plain counter if the
 * mutex failed to order. */
#include "check.h"
#include <pthread.h>
#include <weft/sync.h>

enum { THREADS = 6 };

typedef struct {
    weft_mutex m;
    long counter; /* guarded by m */
    int holder;   /* guarded by m: who is inside */
    long iters;
} shared;

typedef struct {
    shared *s;
    int id;
    long timeouts, busy;
} worker;

static void *run(void *p)
{
    worker *w = p;
    shared *s = w->s;
    for (long i = 0; i < s->iters; i++) {
        int r;
        switch ((i + w->id) % 4) {
        case 0:
        case 1:
            r = weft_mutex_lock(&s->m);
            CHECK(r == 0, "lock: %d", r);
            break;
        case 2:
            while ((r = weft_mutex_try_lock(&s->m)) == -EBUSY) {
                w->busy++;
                weft_cpu_relax();
            }
            CHECK(r == 0, "try_lock: %d", r);
            break;
        default:
            /* 0..~64 us: short enough that some attempts time out while contended. */
            while ((r = weft_mutex_lock_timeout(&s->m, (uint64_t)(i % 64) * 1000)) == -ETIMEDOUT)
                w->timeouts++;
            CHECK(r == 0, "lock_timeout: %d", r);
            break;
        }
        CHECK(s->holder == 0, "thread %d entered while %d was inside", w->id, s->holder);
        s->holder = w->id;
        s->counter++;
        /* Now and then a longer critical section, so that waiters go to sleep
         * (2000 pauses: past the spin budget, WEFT_SPIN_LOOKS x WEFT_SPIN_PAUSES in
         * sync/spin_internal.h), and more often one near that budget (300-500
         * pauses), so that some spinners take the word by CAS 0->1 while others
         * already sleep on 2. */
        if (i % 128 == 0)
            for (int k = 0; k < 2000; k++)
                weft_cpu_relax();
        else if (i % 16 == 0)
            for (int k = 0; k < 300 + (int)(i % 7) * 32; k++)
                weft_cpu_relax();
        CHECK(s->holder == w->id, "holder changed under us");
        s->holder = 0;
        r = weft_mutex_unlock(&s->m);
        CHECK(r == 0, "unlock: %d", r);
    }
    return NULL;
}

int main(void)
{
    shared s = {WEFT_MUTEX_INIT, 0, 0, stress_iters(200000)};
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){&s, i + 1, 0, 0};
        CHECK(pthread_create(&t[i], NULL, run, &w[i]) == 0, "pthread_create");
    }
    long timeouts = 0, busy = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
        timeouts += w[i].timeouts;
        busy += w[i].busy;
    }
    CHECK(s.counter == THREADS * s.iters, "counter %ld, expected %ld", s.counter, THREADS * s.iters);
    CHECK(weft_mutex_destroy(&s.m) == 0, "mutex left locked or with waiters");
    printf("stress_mutex: %d threads x %ld = %ld increments ok (%ld timeouts, %ld busy try_locks)\n",
           THREADS, s.iters, s.counter, timeouts, busy);
    return 0;
}
