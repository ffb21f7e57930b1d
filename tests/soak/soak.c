/* soak.c: the soak test (`make soak`; a 3-second run is a ctest): a mixed workload on
 * the global pool for a set duration, checking every invariant as it goes and that
 * memory stays flat.
 *
 * Usage: soak [--seconds N] [--drivers N]
 *
 * DRIVERS plain threads loop until the deadline, each picking a workload at random:
 * nested joins (a join tree's leaf count and sum), scopes (nested spawns counted, a
 * cancelling task's status returned), spawned tasks (each result joined), par_for
 * (every index written exactly once), par_reduce (closed-form sum), the deterministic
 * par_reduce (bit-identical to the first run of the same shape), par_sort (sorted, and
 * sum/xor checksums kept), locks inside par_for bodies (a mutex-guarded count; a
 * rwlock-guarded pair that readers see equal), a condvar-guarded bounded buffer
 * between two threads (sum delivered), a barrier (each round complete, exactly one
 * leader), and channels of every flavor with 2-3 producers and 2 consumers, plain or
 * through select (every message exactly once, per-producer order, -EPIPE at the end).
 * A monitor thread samples RSS (/proc/self/statm) every second: the level when 10% of
 * the run is over is the baseline; after that RSS must stay under 1.5 x baseline +
 * 16 MiB (2 x + 64 MiB under TSan; checked each second and at the end).
 * Prints the operations done per kind, the checks passed and start/peak/end RSS.
 * Any broken invariant aborts with its reason (tests/check.h). */
#include "check.h"
#include "test_rng.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weft/chan.h>
#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#define MAX_DRIVERS 8
#define MIB (1024.0 * 1024.0)

enum {
    K_JOIN, K_SCOPE, K_SPAWN, K_PAR_FOR, K_REDUCE, K_REDUCE_DET, K_SORT, K_LOCKS, K_CONDVAR,
    K_BARRIER, K_CHAN, K_SELECT, K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "nested join", "scope", "spawn/join", "par_for", "par_reduce", "par_reduce_det", "par_sort",
    "mutex+rwlock", "condvar", "barrier", "channel", "chan select",
};

typedef struct soak {
    uint64_t deadline_ns;
    _Atomic uint64_t ops[K_COUNT];  /* workloads completed, by kind */
    _Atomic uint64_t items[K_COUNT]; /* elementary operations inside them */
    _Atomic uint64_t checks;
    _Atomic bool stop;
    /* RSS, bytes; written by the monitor only (read after it is joined). */
    size_t rss_start, rss_base, rss_peak, rss_end;
    unsigned seconds;
} soak;

typedef struct driver {
    soak *s;
    uint64_t rng;
    double det_ref[4]; /* par_reduce_deterministic: first result per shape */
    bool det_have[4];
} driver;

static uint64_t rnd(driver *d) { return test_next_rand(&d->rng); }

static void passed(soak *s, long n)
{
    atomic_fetch_add_explicit(&s->checks, (uint64_t)n, memory_order_relaxed);
}

static void done(soak *s, int kind, uint64_t items)
{
    atomic_fetch_add_explicit(&s->ops[kind], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->items[kind], items, memory_order_relaxed);
}

/* ---- nested joins ---- */

typedef struct jnode {
    unsigned depth;
    uint64_t base;
    uint64_t leaves, sum;
} jnode;

static void join_tree(void *p)
{
    jnode *n = p;
    if (n->depth == 0) {
        n->leaves = 1;
        n->sum = n->base;
        return;
    }
    jnode l = {n->depth - 1, n->base * 2, 0, 0}, r = {n->depth - 1, n->base * 2 + 1, 0, 0};
    CHECK(weft_join(join_tree, &l, join_tree, &r) == 0);
    n->leaves = l.leaves + r.leaves;
    n->sum = l.sum + r.sum;
}

static void w_join(driver *d)
{
    unsigned depth = 6 + (unsigned)(rnd(d) % 8);
    jnode root = {depth, 1, 0, 0};
    join_tree(&root);
    uint64_t n = 1ull << depth; /* leaves carry n .. 2n-1 */
    CHECK(root.leaves == n, "join tree: %llu leaves, want %llu", (unsigned long long)root.leaves,
          (unsigned long long)n);
    CHECK(root.sum == n * (3 * n - 1) / 2, "join tree: leaf sum wrong");
    passed(d->s, 2);
    done(d->s, K_JOIN, n);
}

/* ---- scopes ---- */

typedef struct scope_ctx {
    _Atomic uint64_t ran;
    unsigned fanout;
    int fail_at; /* task index that returns a status, or -1 */
} scope_ctx;

static int scope_leaf(weft_scope *sc, void *arg)
{
    (void)sc;
    scope_ctx *c = arg;
    atomic_fetch_add_explicit(&c->ran, 1, memory_order_relaxed);
    return 0;
}

typedef struct scope_task {
    scope_ctx *c;
    int index;
} scope_task;

static int scope_mid(weft_scope *sc, void *arg)
{
    scope_task *t = arg;
    atomic_fetch_add_explicit(&t->c->ran, 1, memory_order_relaxed);
    for (unsigned i = 0; i < t->c->fanout; i++)
        CHECK(weft_scope_spawn(sc, scope_leaf, t->c) == 0);
    return t->index == t->c->fail_at ? 42 : 0;
}

static void w_scope(driver *d)
{
    scope_ctx c = {0, 1 + (unsigned)(rnd(d) % 8), rnd(d) % 4 == 0 ? (int)(rnd(d) % 16) : -1};
    scope_task tasks[16];
    weft_scope sc;
    CHECK(weft_scope_init(&sc, NULL) == 0);
    for (int i = 0; i < 16; i++) {
        tasks[i] = (scope_task){&c, i};
        CHECK(weft_scope_spawn(&sc, scope_mid, &tasks[i]) == 0);
    }
    int r = weft_scope_wait(&sc);
    CHECK(r == (c.fail_at >= 0 ? 42 : 0), "scope status %d (fail_at %d)", r, c.fail_at);
    uint64_t want = 16ull * (1 + c.fanout);
    uint64_t ran = atomic_load_explicit(&c.ran, memory_order_relaxed);
    CHECK(ran == want, "scope: %llu tasks ran, want %llu", (unsigned long long)ran, (unsigned long long)want);
    passed(d->s, 2);
    done(d->s, K_SCOPE, want);
}

/* ---- spawn / task join ---- */

static void *spawn_square(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    return (void *)(i * i);
}

static void w_spawn(driver *d)
{
    enum { N = 32 };
    weft_task *t[N];
    unsigned n = 1 + (unsigned)(rnd(d) % N);
    for (unsigned i = 0; i < n; i++)
        CHECK(weft_spawn(NULL, spawn_square, (void *)(uintptr_t)(i + 1), &t[i]) == 0);
    for (unsigned i = 0; i < n; i++) {
        void *res;
        CHECK(weft_task_join(t[i], &res) == 0);
        CHECK((uintptr_t)res == (uintptr_t)(i + 1) * (i + 1), "task %u returned %p", i, res);
    }
    passed(d->s, n);
    done(d->s, K_SPAWN, n);
}

/* ---- loops ---- */

typedef struct fill_ctx {
    uint32_t *a;
    uint32_t tag;
} fill_ctx;

static int fill_body(void *ctx, size_t b, size_t e)
{
    fill_ctx *f = ctx;
    for (size_t i = b; i < e; i++)
        f->a[i] += f->tag ^ (uint32_t)i;
    return 0;
}

static void w_par_for(driver *d)
{
    size_t n = 1 + (size_t)(rnd(d) % (1u << 17));
    size_t grain = rnd(d) % 2 ? 0 : 1 + (size_t)(rnd(d) % 4096);
    uint32_t *a = calloc(n, sizeof *a);
    CHECK(a);
    fill_ctx f = {a, (uint32_t)rnd(d) | 1};
    CHECK(weft_par_for(0, n, grain, fill_body, &f) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(a[i] == (f.tag ^ (uint32_t)i), "par_for: index %zu of %zu written %s", i, n,
              a[i] ? "twice or wrongly" : "never");
    free(a);
    passed(d->s, 1);
    done(d->s, K_PAR_FOR, n);
}

static int sum_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    uint64_t *s = acc;
    for (size_t i = b; i < e; i++)
        *s += i;
    return 0;
}
static void sum_combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static void w_reduce(driver *d)
{
    size_t lo = (size_t)(rnd(d) % 1000), n = (size_t)(rnd(d) % (1u << 20));
    uint64_t zero = 0, sum = 1;
    CHECK(weft_par_reduce(lo, lo + n, rnd(d) % 2 ? 0 : 512, &zero, sum_fold, sum_combine, NULL, &sum, sizeof sum) == 0);
    uint64_t hi = lo + n, want = (hi * (hi - 1) - (uint64_t)lo * (lo ? lo - 1 : 0)) / 2;
    if (lo == 0)
        want = n ? hi * (hi - 1) / 2 : 0;
    CHECK(sum == want, "par_reduce [%zu, %zu): %llu, want %llu", lo, lo + n, (unsigned long long)sum,
          (unsigned long long)want);
    passed(d->s, 1);
    done(d->s, K_REDUCE, n);
}

static int fsum_fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    double *s = acc;
    for (size_t i = b; i < e; i++)
        *s += 1.0 / (double)(i + 1) * ((i & 1) ? -1e3 : 1e3);
    return 0;
}
static void fsum_combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

static void w_reduce_det(driver *d)
{
    static const size_t shapes[4][2] = {{100000, 0}, {250000, 777}, {1 << 18, 4096}, {12345, 1}};
    int k = (int)(rnd(d) % 4);
    double zero = 0, sum = 0;
    CHECK(weft_par_reduce_deterministic(0, shapes[k][0], shapes[k][1], &zero, fsum_fold, fsum_combine, NULL, &sum,
                                        sizeof sum) == 0);
    if (!d->det_have[k]) {
        d->det_ref[k] = sum;
        d->det_have[k] = true;
    }
    CHECK(memcmp(&sum, &d->det_ref[k], sizeof sum) == 0, "deterministic reduce %d: %.17g then %.17g", k,
          d->det_ref[k], sum);
    passed(d->s, 1);
    done(d->s, K_REDUCE_DET, shapes[k][0]);
}

static void w_sort(driver *d)
{
    size_t n = (size_t)(rnd(d) % (1u << 17));
    uint64_t *a = malloc((n + 1) * sizeof *a);
    CHECK(a);
    uint64_t sum = 0, x = 0, mask = rnd(d) % 2 ? UINT64_MAX : 0xff; /* many equal keys */
    for (size_t i = 0; i < n; i++) {
        a[i] = rnd(d) & mask;
        sum += a[i];
        x ^= a[i];
    }
    CHECK(weft_par_sort_u64(a, n) == 0);
    uint64_t sum2 = 0, x2 = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(i == 0 || a[i - 1] <= a[i], "par_sort: not sorted at %zu of %zu", i, n);
        sum2 += a[i];
        x2 ^= a[i];
    }
    CHECK(sum == sum2 && x == x2, "par_sort: elements changed (n %zu)", n);
    free(a);
    passed(d->s, 2);
    done(d->s, K_SORT, n);
}

/* ---- locks inside parallel bodies ---- */

typedef struct lock_ctx {
    weft_mutex m;
    weft_rwlock rw;
    uint64_t count;   /* guarded by m */
    uint64_t a, b;    /* guarded by rw: always equal outside a write */
    _Atomic uint64_t reads, writes;
} lock_ctx;

static int lock_body(void *ctx, size_t lo, size_t hi)
{
    lock_ctx *l = ctx;
    for (size_t i = lo; i < hi; i++) {
        CHECK(weft_mutex_lock(&l->m) == 0);
        l->count++;
        CHECK(weft_mutex_unlock(&l->m) == 0);
        if (i % 8 == 0) {
            CHECK(weft_rwlock_write_lock(&l->rw) == 0);
            l->a++;
            l->b++;
            CHECK(weft_rwlock_unlock(&l->rw) == 0);
            atomic_fetch_add_explicit(&l->writes, 1, memory_order_relaxed);
        } else {
            CHECK(weft_rwlock_read_lock(&l->rw) == 0);
            CHECK(l->a == l->b, "rwlock: a reader saw a torn pair");
            CHECK(weft_rwlock_unlock(&l->rw) == 0);
            atomic_fetch_add_explicit(&l->reads, 1, memory_order_relaxed);
        }
    }
    return 0;
}

static void w_locks(driver *d)
{
    lock_ctx l;
    memset(&l, 0, sizeof l);
    CHECK(weft_mutex_init(&l.m) == 0 && weft_rwlock_init(&l.rw) == 0);
    size_t n = 1000 + (size_t)(rnd(d) % 20000);
    CHECK(weft_par_for(0, n, 64, lock_body, &l) == 0);
    CHECK(l.count == n, "mutex: %llu increments of %zu", (unsigned long long)l.count, n);
    uint64_t w = atomic_load_explicit(&l.writes, memory_order_relaxed);
    CHECK(l.a == w && l.b == w, "rwlock: %llu/%llu writes of %llu", (unsigned long long)l.a,
          (unsigned long long)l.b, (unsigned long long)w);
    CHECK(w + atomic_load_explicit(&l.reads, memory_order_relaxed) == n);
    CHECK(weft_mutex_destroy(&l.m) == 0 && weft_rwlock_destroy(&l.rw) == 0);
    passed(d->s, 3 + (long)n - (long)w);
    done(d->s, K_LOCKS, n);
}

/* ---- condvar: a bounded buffer between two threads ---- */

typedef struct cv_buf {
    weft_mutex m;
    weft_condvar not_empty, not_full;
    uint64_t items[8];
    unsigned head, len;
    uint64_t n, got_sum;
} cv_buf;

static void *cv_consumer(void *p)
{
    cv_buf *b = p;
    for (uint64_t k = 0; k < b->n; k++) {
        CHECK(weft_mutex_lock(&b->m) == 0);
        while (b->len == 0)
            CHECK(weft_condvar_wait(&b->not_empty, &b->m) == 0);
        uint64_t v = b->items[b->head];
        b->head = (b->head + 1) % 8;
        b->len--;
        CHECK(v == k + 1, "condvar buffer: got %llu, want %llu", (unsigned long long)v, (unsigned long long)k + 1);
        b->got_sum += v;
        CHECK(weft_condvar_notify_one(&b->not_full) == 0);
        CHECK(weft_mutex_unlock(&b->m) == 0);
    }
    return NULL;
}

static void w_condvar(driver *d)
{
    cv_buf b;
    memset(&b, 0, sizeof b);
    CHECK(weft_mutex_init(&b.m) == 0 && weft_condvar_init(&b.not_empty) == 0 && weft_condvar_init(&b.not_full) == 0);
    b.n = 100 + rnd(d) % 2000;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cv_consumer, &b) == 0);
    for (uint64_t k = 1; k <= b.n; k++) {
        CHECK(weft_mutex_lock(&b.m) == 0);
        while (b.len == 8)
            CHECK(weft_condvar_wait(&b.not_full, &b.m) == 0);
        b.items[(b.head + b.len) % 8] = k;
        b.len++;
        CHECK(weft_condvar_notify_one(&b.not_empty) == 0);
        CHECK(weft_mutex_unlock(&b.m) == 0);
    }
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(b.got_sum == b.n * (b.n + 1) / 2, "condvar buffer: sum wrong");
    CHECK(weft_condvar_destroy(&b.not_empty) == 0 && weft_condvar_destroy(&b.not_full) == 0);
    CHECK(weft_mutex_destroy(&b.m) == 0);
    passed(d->s, (long)b.n + 1);
    done(d->s, K_CONDVAR, b.n);
}

/* ---- barrier ---- */

enum { BAR_THREADS = 3 };
typedef struct bar_ctx {
    weft_barrier b;
    unsigned rounds;
    _Atomic uint64_t arrived;
    _Atomic uint64_t leaders;
} bar_ctx;

static void *bar_thread(void *p)
{
    bar_ctx *c = p;
    for (unsigned r = 0; r < c->rounds; r++) {
        atomic_fetch_add_explicit(&c->arrived, 1, memory_order_relaxed);
        int w = weft_barrier_wait(&c->b);
        CHECK(w == 0 || w == WEFT_BARRIER_LEADER, "barrier_wait: %d", w);
        /* Relaxed: the barrier orders every arrival of this round before this load, and
         * the second barrier below keeps the next round's arrivals after it. */
        uint64_t a = atomic_load_explicit(&c->arrived, memory_order_relaxed);
        CHECK(a == (uint64_t)BAR_THREADS * (r + 1), "barrier round %u: %llu arrivals", r, (unsigned long long)a);
        if (w == WEFT_BARRIER_LEADER)
            atomic_fetch_add_explicit(&c->leaders, 1, memory_order_relaxed);
        /* Second barrier: nobody starts round r+1 before everyone checked round r. */
        w = weft_barrier_wait(&c->b);
        CHECK(w == 0 || w == WEFT_BARRIER_LEADER);
    }
    return NULL;
}

static void w_barrier(driver *d)
{
    bar_ctx c;
    memset(&c, 0, sizeof c);
    CHECK(weft_barrier_init(&c.b, BAR_THREADS) == 0);
    c.rounds = 10 + (unsigned)(rnd(d) % 200);
    pthread_t th[BAR_THREADS];
    for (int i = 0; i < BAR_THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, bar_thread, &c) == 0);
    for (int i = 0; i < BAR_THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK(atomic_load_explicit(&c.leaders, memory_order_relaxed) == c.rounds, /* first barrier of each round */
          "barrier: %llu leaders in %u rounds", (unsigned long long)atomic_load_explicit(&c.leaders, memory_order_relaxed),
          c.rounds);
    CHECK(weft_barrier_destroy(&c.b) == 0);
    passed(d->s, 2 * (long)c.rounds * BAR_THREADS + 1);
    done(d->s, K_BARRIER, c.rounds);
}

/* ---- channels ---- */

enum { CH_PRODUCERS = 3, CH_CONSUMERS = 2 };
typedef struct ch_msg {
    uint32_t producer, seq;
} ch_msg;

typedef struct ch_round {
    weft_sender *tx[2][CH_PRODUCERS];
    weft_receiver *rx[2][CH_CONSUMERS];
    int nchan;        /* 1: plain; 2: producers and consumers select over two channels */
    int producers;
    uint32_t per_producer;
    _Atomic uint64_t got[CH_PRODUCERS];
    _Atomic uint64_t sum[CH_PRODUCERS];
} ch_round;

typedef struct ch_arg {
    ch_round *r;
    int id;
} ch_arg;

static void *ch_producer(void *p)
{
    ch_arg *a = p;
    ch_round *r = a->r;
    for (uint32_t i = 0; i < r->per_producer; i++) {
        ch_msg m = {(uint32_t)a->id, i};
        if (r->nchan == 1) {
            CHECK(weft_chan_send(r->tx[0][a->id], &m) == 0);
        } else {
            weft_select_op ops[2] = {{WEFT_SELECT_SEND, r->tx[0][a->id], NULL, &m, 1},
                                     {WEFT_SELECT_SEND, r->tx[1][a->id], NULL, &m, 1}};
            int k = weft_select(ops, 2);
            CHECK(k >= 0 && ops[k].result == 0, "select send: %d", k);
        }
    }
    for (int c = 0; c < r->nchan; c++)
        CHECK(weft_sender_close(r->tx[c][a->id]) == 0);
    return NULL;
}

static void *ch_consumer(void *p)
{
    ch_arg *a = p;
    ch_round *r = a->r;
    int64_t last[2][CH_PRODUCERS];
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < CH_PRODUCERS; i++)
            last[c][i] = -1;
    uint64_t got[CH_PRODUCERS] = {0}, sum[CH_PRODUCERS] = {0};
    bool open[2] = {true, r->nchan == 2};
    while (open[0] || open[1]) {
        ch_msg m;
        int c;
        if (open[0] && open[1]) {
            weft_select_op ops[2] = {{WEFT_SELECT_RECV, NULL, r->rx[0][a->id], &m, 1},
                                     {WEFT_SELECT_RECV, NULL, r->rx[1][a->id], &m, 1}};
            c = weft_select(ops, 2);
            CHECK(c >= 0, "select recv: %d", c);
            if (ops[c].result == -EPIPE) {
                open[c] = false;
                continue;
            }
            CHECK(ops[c].result == 0);
        } else {
            c = open[0] ? 0 : 1;
            int res = weft_chan_recv(r->rx[c][a->id], &m);
            if (res == -EPIPE) {
                open[c] = false;
                continue;
            }
            CHECK(res == 0, "recv: %d", res);
        }
        CHECK(m.producer < (uint32_t)r->producers && m.seq < r->per_producer, "garbage message");
        /* One sender's messages arrive in order on each channel, at each receiver. */
        CHECK((int64_t)m.seq > last[c][m.producer], "chan: producer %u seq %u after %lld", m.producer, m.seq,
              (long long)last[c][m.producer]);
        last[c][m.producer] = m.seq;
        got[m.producer]++;
        sum[m.producer] += m.seq;
    }
    for (int i = 0; i < r->producers; i++) {
        atomic_fetch_add_explicit(&r->got[i], got[i], memory_order_relaxed);
        atomic_fetch_add_explicit(&r->sum[i], sum[i], memory_order_relaxed);
    }
    for (int c = 0; c < r->nchan; c++)
        CHECK(weft_receiver_close(r->rx[c][a->id]) == 0);
    return NULL;
}

static void w_chan(driver *d, bool sel)
{
    static const size_t caps[] = {0, 1, 16, 256, WEFT_UNBOUNDED};
    ch_round r;
    memset(&r, 0, sizeof r);
    r.nchan = sel ? 2 : 1;
    r.producers = 2 + (int)(rnd(d) % 2);
    r.per_producer = 100 + (uint32_t)(rnd(d) % 5000);
    for (int c = 0; c < r.nchan; c++) {
        weft_sender *tx;
        weft_receiver *rx;
        CHECK(weft_chan_open(sizeof(ch_msg), caps[rnd(d) % 5], NULL, &tx, &rx) == 0);
        for (int i = 0; i < r.producers; i++)
            CHECK(weft_sender_clone(tx, &r.tx[c][i]) == 0);
        for (int i = 0; i < CH_CONSUMERS; i++)
            CHECK(weft_receiver_clone(rx, &r.rx[c][i]) == 0);
        CHECK(weft_sender_close(tx) == 0 && weft_receiver_close(rx) == 0);
    }
    pthread_t th[CH_PRODUCERS + CH_CONSUMERS];
    ch_arg args[CH_PRODUCERS + CH_CONSUMERS];
    int nth = 0;
    for (int i = 0; i < CH_CONSUMERS; i++, nth++) {
        args[nth] = (ch_arg){&r, i};
        CHECK(pthread_create(&th[nth], NULL, ch_consumer, &args[nth]) == 0);
    }
    for (int i = 0; i < r.producers; i++, nth++) {
        args[nth] = (ch_arg){&r, i};
        CHECK(pthread_create(&th[nth], NULL, ch_producer, &args[nth]) == 0);
    }
    for (int i = 0; i < nth; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    uint64_t n = r.per_producer;
    for (int i = 0; i < r.producers; i++) {
        CHECK(atomic_load_explicit(&r.got[i], memory_order_relaxed) == n, "chan: producer %d: %llu of %llu", i,
              (unsigned long long)atomic_load_explicit(&r.got[i], memory_order_relaxed), (unsigned long long)n);
        CHECK(atomic_load_explicit(&r.sum[i], memory_order_relaxed) == n * (n - 1) / 2, "chan: checksum");
    }
    passed(d->s, 2 * r.producers + (long)n * r.producers);
    done(d->s, sel ? K_SELECT : K_CHAN, n * (uint64_t)r.producers);
}

/* ---- drivers and the monitor ---- */

static void *driver_main(void *p)
{
    driver *d = p;
    while (weft_time_now_ns() < d->s->deadline_ns) {
        int k = (int)(rnd(d) % K_COUNT);
        switch (k) {
        case K_JOIN: w_join(d); break;
        case K_SCOPE: w_scope(d); break;
        case K_SPAWN: w_spawn(d); break;
        case K_PAR_FOR: w_par_for(d); break;
        case K_REDUCE: w_reduce(d); break;
        case K_REDUCE_DET: w_reduce_det(d); break;
        case K_SORT: w_sort(d); break;
        case K_LOCKS: w_locks(d); break;
        case K_CONDVAR: w_condvar(d); break;
        case K_BARRIER: w_barrier(d); break;
        case K_CHAN: w_chan(d, false); break;
        default: w_chan(d, true); break;
        }
    }
    return NULL;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f, "cannot open /proc/self/statm");
    unsigned long size, resident;
    CHECK(fscanf(f, "%lu %lu", &size, &resident) == 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ThreadSanitizer keeps shadow and history memory for what the run has touched (our
 * transient arrays included) and gives it back lazily: its RSS wanders more than a
 * real leak would need, so it gets a looser bound. */
static size_t rss_bound(size_t base)
{
#ifdef WEFT_TSAN
    return 2 * base + (size_t)(64 * MIB);
#else
    return base + base / 2 + (size_t)(16 * MIB);
#endif
}

static void *monitor_main(void *p)
{
    soak *s = p;
    uint64_t start = weft_time_now_ns();
    uint64_t warm = start + (uint64_t)s->seconds * 100000000ull; /* 10% of the run */
    bool have_base = false;
    /* Relaxed: the flag only ends the loop; join orders the rest. */
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        weft_thread_sleep(1000000000ull);
        size_t rss = rss_bytes();
        if (rss > s->rss_peak)
            s->rss_peak = rss;
        if (!have_base && weft_time_now_ns() >= warm) {
            s->rss_base = rss;
            have_base = true;
        } else if (have_base) {
            CHECK(rss <= rss_bound(s->rss_base), "RSS grew to %.1f MiB (baseline %.1f MiB, bound %.1f MiB)",
                  rss / MIB, s->rss_base / MIB, rss_bound(s->rss_base) / MIB);
            passed(s, 1);
        }
    }
    if (!have_base)
        s->rss_base = rss_bytes();
    return NULL;
}

int main(int argc, char **argv)
{
    soak *s = calloc(1, sizeof *s);
    CHECK(s);
    s->seconds = 600;
    int drivers = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            s->seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--drivers") == 0 && i + 1 < argc)
            drivers = atoi(argv[++i]);
        else
            CHECK(false, "usage: %s [--seconds N] [--drivers N (1..%d)]", argv[0], MAX_DRIVERS);
    }
    CHECK(s->seconds >= 1 && drivers >= 1 && drivers <= MAX_DRIVERS, "bad arguments");
    s->rss_start = s->rss_peak = rss_bytes();
    weft_pool *pool;
    CHECK(weft_pool_global(&pool) == 0);
    int workers = weft_pool_num_threads(pool);
    printf("soak: %u s, %d drivers, %d workers, RSS at start %.1f MiB\n", s->seconds, drivers, workers,
           s->rss_start / MIB);
    fflush(stdout);
    uint64_t t0 = weft_time_now_ns();
    s->deadline_ns = t0 + (uint64_t)s->seconds * 1000000000ull;
    pthread_t mon, th[MAX_DRIVERS];
    driver d[MAX_DRIVERS];
    CHECK(pthread_create(&mon, NULL, monitor_main, s) == 0);
    for (int i = 0; i < drivers; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].s = s;
        d[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ t0;
        if (!d[i].rng)
            d[i].rng = 1;
        CHECK(pthread_create(&th[i], NULL, driver_main, &d[i]) == 0);
    }
    for (int i = 0; i < drivers; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    atomic_store_explicit(&s->stop, true, memory_order_relaxed);
    CHECK(pthread_join(mon, NULL) == 0);
    s->rss_end = rss_bytes();
    if (s->rss_end > s->rss_peak)
        s->rss_peak = s->rss_end;
    double secs = (double)(weft_time_now_ns() - t0) / 1e9;
    CHECK(s->rss_end <= rss_bound(s->rss_base), "RSS at the end %.1f MiB (baseline %.1f MiB, bound %.1f MiB)",
          s->rss_end / MIB, s->rss_base / MIB, rss_bound(s->rss_base) / MIB);
    passed(s, 1);

    printf("%-16s %12s %16s\n", "workload", "runs", "items");
    uint64_t total = 0;
    for (int k = 0; k < K_COUNT; k++) {
        uint64_t ops = atomic_load_explicit(&s->ops[k], memory_order_relaxed);
        total += ops;
        printf("%-16s %12llu %16llu\n", kind_name[k], (unsigned long long)ops,
               (unsigned long long)atomic_load_explicit(&s->items[k], memory_order_relaxed));
    }
    printf("%-16s %12llu  in %.1f s\n", "total", (unsigned long long)total, secs);
    printf("invariant checks passed: %llu\n", (unsigned long long)atomic_load_explicit(&s->checks, memory_order_relaxed));
    printf("RSS: start %.1f MiB, baseline (10%%) %.1f MiB, peak %.1f MiB, end %.1f MiB, bound %.1f MiB\n",
           s->rss_start / MIB, s->rss_base / MIB, s->rss_peak / MIB, s->rss_end / MIB, rss_bound(s->rss_base) / MIB);
    for (int k = 0; k < K_COUNT; k++)
        CHECK(atomic_load_explicit(&s->ops[k], memory_order_relaxed) > 0 || s->seconds < 2,
              "workload %s never ran", kind_name[k]);
    printf("soak: PASS\n");
    free(s);
    return 0;
}
