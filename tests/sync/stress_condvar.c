/* stress_condvar: producers and consumers on a small bounded queue guarded by one
 * weft_mutex and two weft_condvars (not_empty, not_full). Every item is a unique
 * number; consumers mark each one seen. Checks every item is delivered exactly once
 * (per-item marks, count and sum). Uses wait, wait_timeout (100 us: timeouts happen and
 * must leave the mutex held) and wait_until, notify_one and notify_all. A lost
 * wake-up would hang the test (ctest's timeout catches it). Runs under TSan too. */
#include "check.h"
#include <pthread.h>
#include <stdlib.h>
#include <weft/sync.h>

enum { PRODUCERS = 3, CONSUMERS = 3, CAP = 4 };
#define MS 1000000ull

typedef struct {
    weft_mutex m;
    weft_condvar not_empty, not_full;
    long buf[CAP]; /* guarded by m */
    int head, len; /* guarded by m */
    int producers_left; /* guarded by m */
    long per_producer;
    unsigned char *seen; /* guarded by m */
    long received;       /* guarded by m */
    unsigned long long sum; /* guarded by m */
    long timeouts;          /* guarded by m */
} queue;

typedef struct {
    queue *q;
    int id;
} role;

/* Wait on cv in the way chosen by `how`; returns after the mutex is held again. */
static void wait_on(queue *q, weft_condvar *cv, long how)
{
    int r;
    switch (how % 3) {
    case 0:
        r = weft_condvar_wait(cv, &q->m);
        CHECK(r == 0, "wait: %d", r);
        break;
    case 1:
        r = weft_condvar_wait_timeout(cv, &q->m, 100 * 1000);
        CHECK(r == 0 || r == -ETIMEDOUT, "wait_timeout: %d", r);
        if (r == -ETIMEDOUT)
            q->timeouts++; /* guarded by m: proves the mutex is held again */
        break;
    default:
        r = weft_condvar_wait_until(cv, &q->m, weft_deadline_after(2 * MS));
        CHECK(r == 0 || r == -ETIMEDOUT, "wait_until: %d", r);
        if (r == -ETIMEDOUT)
            q->timeouts++;
        break;
    }
}

static void *producer(void *p)
{
    role *ro = p;
    queue *q = ro->q;
    for (long i = 0; i < q->per_producer; i++) {
        long item = ro->id * q->per_producer + i;
        CHECK(weft_mutex_lock(&q->m) == 0, "lock");
        while (q->len == CAP)
            wait_on(q, &q->not_full, i + ro->id);
        q->buf[(q->head + q->len) % CAP] = item;
        q->len++;
        CHECK(weft_mutex_unlock(&q->m) == 0, "unlock");
        /* Mostly notify_one; now and then notify_all (outside the mutex: allowed). */
        int r = i % 16 == 0 ? weft_condvar_notify_all(&q->not_empty) : weft_condvar_notify_one(&q->not_empty);
        CHECK(r == 0, "notify: %d", r);
    }
    CHECK(weft_mutex_lock(&q->m) == 0, "lock");
    q->producers_left--;
    /* Last one out wakes every consumer so they can see the end (under the mutex). */
    if (q->producers_left == 0)
        CHECK(weft_condvar_notify_all(&q->not_empty) == 0, "notify_all");
    CHECK(weft_mutex_unlock(&q->m) == 0, "unlock");
    return NULL;
}

static void *consumer(void *p)
{
    role *ro = p;
    queue *q = ro->q;
    long k = ro->id;
    for (;;) {
        CHECK(weft_mutex_lock(&q->m) == 0, "lock");
        while (q->len == 0 && q->producers_left > 0)
            wait_on(q, &q->not_empty, k++);
        if (q->len == 0) { /* drained and no producer left */
            CHECK(weft_mutex_unlock(&q->m) == 0, "unlock");
            return NULL;
        }
        long item = q->buf[q->head];
        q->head = (q->head + 1) % CAP;
        q->len--;
        CHECK(item >= 0 && item < PRODUCERS * q->per_producer, "bad item %ld", item);
        CHECK(q->seen[item] == 0, "item %ld delivered twice", item);
        q->seen[item] = 1;
        q->received++;
        q->sum += (unsigned long long)item;
        CHECK(weft_mutex_unlock(&q->m) == 0, "unlock");
        int r = k % 8 == 0 ? weft_condvar_notify_all(&q->not_full) : weft_condvar_notify_one(&q->not_full);
        CHECK(r == 0, "notify: %d", r);
        k++;
    }
}

int main(void)
{
    queue q = {.m = WEFT_MUTEX_INIT, .not_empty = WEFT_CONDVAR_INIT, .not_full = WEFT_CONDVAR_INIT,
               .producers_left = PRODUCERS, .per_producer = stress_iters(100000)};
    long total = PRODUCERS * q.per_producer;
    q.seen = calloc((size_t)total, 1);
    CHECK(q.seen, "calloc");
    pthread_t t[PRODUCERS + CONSUMERS];
    role ro[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        ro[i] = (role){&q, i < PRODUCERS ? i : i - PRODUCERS};
        CHECK(pthread_create(&t[i], NULL, i < PRODUCERS ? producer : consumer, &ro[i]) == 0, "create");
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        CHECK(pthread_join(t[i], NULL) == 0, "join");
    CHECK(q.received == total, "received %ld of %ld", q.received, total);
    for (long i = 0; i < total; i++)
        CHECK(q.seen[i] == 1, "item %ld never delivered", i);
    unsigned long long expect = (unsigned long long)total * (unsigned long long)(total - 1) / 2;
    CHECK(q.sum == expect, "checksum %llu, expected %llu", q.sum, expect);
    CHECK(q.len == 0, "queue not empty");
    CHECK(weft_mutex_destroy(&q.m) == 0, "mutex still held");
    CHECK(weft_condvar_destroy(&q.not_empty) == 0 && weft_condvar_destroy(&q.not_full) == 0, "destroy");
    free(q.seen);
    printf("stress_condvar: %ld items, each delivered once (%ld wait timeouts)\n", total, q.timeouts);
    return 0;
}
