/* stress_arc: THREADS threads clone and drop ROUNDS arcs concurrently (main drops the
 * originals meanwhile). Invariants checked: each destructor runs exactly once, with
 * the right data, and after every other access: the threads read the data (plain)
 * before each of their drops and the destructor then overwrites it (plain), so a
 * missing happens-before is a TSan report and a too-early free an ASan report; the
 * number of drops that report "last" equals the number of arcs. */
#include <pthread.h>
#include <string.h>
#include <weft/sync.h>
#include "check.h"
#include "pace.h"

#define THREADS 6
#define WORDS 8

struct payload {
    _Atomic int *destroyed; /* this arc's counter, outside the block */
    long id;
    long words[WORDS]; /* plain, read-only until the destructor */
};

struct shared {
    weft_arc **arcs;
    _Atomic int *destroyed;
    long n;
    _Atomic long lasts;
    _Atomic int go;
    pace pace; /* workers are ids 0..THREADS-1, main is THREADS */
};

struct arg {
    struct shared *s;
    int id;
};

static void payload_destroy(void *data)
{
    struct payload *p = data;
    for (int i = 0; i < WORDS; i++)
        CHECK(p->words[i] == p->id * WORDS + i, "arc %ld corrupted", p->id);
    memset(p->words, 0xdd, sizeof p->words); /* the "after every access" check */
    atomic_fetch_add_explicit(p->destroyed, 1, memory_order_relaxed);
}

static long read_payload(weft_arc *a, long r)
{
    const struct payload *p = weft_arc_get(a);
    long sum = 0;
    CHECK(p->id == r, "arc %ld has id %ld", r, p->id);
    for (int i = 0; i < WORDS; i++) {
        CHECK(p->words[i] == r * WORDS + i, "arc %ld word %d read %ld", r, i, p->words[i]);
        sum += p->words[i];
    }
    return sum;
}

static void *worker(void *p)
{
    struct arg *a = p;
    struct shared *s = a->s;
    long lasts = 0;
    /* Acquire: pairs with main's release store of go (the arcs and our references). */
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        ;
    for (long r = 0; r < s->n; r++) {
        pace_round(&s->pace, a->id, r);
        weft_arc *mine = s->arcs[r]; /* the reference main cloned for us */
        weft_arc *extra[3];
        for (int i = 0; i < 3; i++)
            extra[i] = weft_arc_clone(mine);
        CHECK(weft_arc_count(mine) >= 4, "count %zu", weft_arc_count(mine));
        read_payload(mine, r);
        for (int i = 0; i < 3; i++) {
            int rc = weft_arc_drop(extra[i]);
            CHECK(rc == 0, "we still hold one: drop gave %d", rc);
        }
        read_payload(mine, r);
        int rc = weft_arc_drop(mine);
        CHECK(rc == 0 || rc == 1, "rc %d", rc);
        lasts += rc;
    }
    pace_done(&s->pace, a->id);
    atomic_fetch_add_explicit(&s->lasts, lasts, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    struct shared s;
    s.n = stress_iters(20000);
    s.arcs = calloc((size_t)s.n, sizeof *s.arcs);
    s.destroyed = calloc((size_t)s.n, sizeof *s.destroyed);
    CHECK(s.arcs && s.destroyed, "out of memory");
    atomic_init(&s.lasts, 0);
    atomic_init(&s.go, 0);
    for (long r = 0; r < s.n; r++) {
        CHECK(weft_arc_new(sizeof(struct payload), payload_destroy, &s.arcs[r]) == 0, "init");
        struct payload *p = weft_arc_get(s.arcs[r]);
        p->destroyed = &s.destroyed[r];
        p->id = r;
        for (int i = 0; i < WORDS; i++)
            p->words[i] = r * WORDS + i;
        for (int t = 0; t < THREADS; t++)
            CHECK(weft_arc_clone(s.arcs[r]) == s.arcs[r], "clone returns its argument");
        CHECK(weft_arc_count(s.arcs[r]) == THREADS + 1, "count %zu", weft_arc_count(s.arcs[r]));
    }
    pace_init(&s.pace, THREADS + 1);
    pthread_t th[THREADS];
    struct arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct arg){&s, i};
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "thread start");
    }
    /* Release: pairs with the workers' acquire loads of go. */
    atomic_store_explicit(&s.go, 1, memory_order_release);
    long lasts = 0;
    for (long r = 0; r < s.n; r++) {
        pace_round(&s.pace, THREADS, r);
        read_payload(s.arcs[r], r);
        int rc = weft_arc_drop(s.arcs[r]);
        CHECK(rc == 0 || rc == 1, "rc %d", rc);
        lasts += rc;
    }
    pace_done(&s.pace, THREADS);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "thread join");
    lasts += atomic_load_explicit(&s.lasts, memory_order_relaxed);
    CHECK(lasts == s.n, "%ld last drops for %ld arcs", lasts, s.n);
    for (long r = 0; r < s.n; r++)
        CHECK(atomic_load_explicit(&s.destroyed[r], memory_order_relaxed) == 1, "arc %ld destroyed %d times",
              r, atomic_load_explicit(&s.destroyed[r], memory_order_relaxed));
    printf("stress_arc: %d threads x %ld arcs: ok\n", THREADS, s.n);
    free(s.arcs);
    free(s.destroyed);
    return 0;
}
