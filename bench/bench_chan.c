/* bench_chan.c: channel throughput, weft channels beside a pthread mutex + condvar
 * queue (what a C program would write by hand) and, when the build has it,
 * crossbeam-channel itself (impl "crossbeam": the Rust program bench/crossbeam/, one
 * process per run, see bench_crossbeam.h), in crossbeam-channel's benchmark shapes:
 * chan_seq (one thread sends a batch, then receives it), chan_spsc, chan_mpsc (4
 * senders, 1 receiver), chan_mpmc (4 + 4), chan_select_rx (4 senders on 4 channels, 1
 * receiver selecting over them); params bounded0 (rendezvous), bounded1,
 * bounded1000, unbounded, and chan_spsc/unbounded_pinned1 (both threads pinned to
 * one CPU: a receiver that spins burns its sender's time slice there). Messages are
 * size_t; unit: messages/s.
 *
 * Fairness invariants: both implementations run the same body through the same
 * adapter table (one indirect call per operation on both sides); handles, queues and
 * threads are set up before the clock starts (bench_run_threads times the bodies
 * only). The peer's select waits on 4 queues that share one mutex and one "not empty"
 * condvar (the usual pthread way to wait on several queues), scanning from a rotating
 * start. crossbeam runs the same shapes, thread counts and message counts in its own
 * process and times itself the same way (threads made first, a start gate, release to
 * the last thread's end). Every run checks that the sum of the values received is the
 * sum sent. */
#include "bench.h"
#include "bench_crossbeam.h"

#include <weft/chan.h>
#include <weft/sync.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_MAXQ 4
#define CB_MAXT 8

/* ------------------------------------------------------------------------------
 * The pthread peer: a ring under a mutex, condvars for not-empty / not-full. cap 0
 * is a rendezvous (a sender waits until its message was taken), SIZE_MAX grows. */

typedef struct pq {
    pthread_mutex_t *m;
    pthread_cond_t *not_empty;
    pthread_cond_t not_full;
    size_t cap, bufcap, head, count;
    size_t *buf;
    uint64_t pushed, taken;
} pq;

typedef struct pq_group {
    pthread_mutex_t m;
    pthread_cond_t not_empty;
    pq q[CB_MAXQ];
    int nq;
    unsigned next; /* select's rotating start (under m) */
} pq_group;

static int pq_init(pq *q, pthread_mutex_t *m, pthread_cond_t *ne, size_t cap)
{
    q->m = m;
    q->not_empty = ne;
    q->cap = cap;
    q->bufcap = cap == WEFT_UNBOUNDED ? 1024 : cap == 0 ? 1 : cap;
    q->head = q->count = 0;
    q->pushed = q->taken = 0;
    q->buf = malloc(q->bufcap * sizeof *q->buf);
    if (!q->buf)
        return -1;
    return pthread_cond_init(&q->not_full, NULL);
}

static int pq_grow(pq *q)
{
    size_t *nb = malloc(2 * q->bufcap * sizeof *nb);
    if (!nb)
        return -1;
    for (size_t i = 0; i < q->count; i++)
        nb[i] = q->buf[(q->head + i) % q->bufcap];
    free(q->buf);
    q->buf = nb;
    q->head = 0;
    q->bufcap *= 2;
    return 0;
}

/* With q->m held. */
static int pq_push_locked(pq *q, size_t v)
{
    if (q->cap == WEFT_UNBOUNDED) {
        if (q->count == q->bufcap && pq_grow(q))
            return -1;
    } else {
        while (q->count >= q->bufcap)
            pthread_cond_wait(&q->not_full, q->m);
    }
    q->buf[(q->head + q->count) % q->bufcap] = v;
    q->count++;
    uint64_t ticket = ++q->pushed;
    pthread_cond_signal(q->not_empty);
    if (q->cap == 0)
        while (q->taken < ticket)
            pthread_cond_wait(&q->not_full, q->m);
    return 0;
}

/* With q->m held and q->count > 0. */
static size_t pq_take_locked(pq *q)
{
    size_t v = q->buf[q->head];
    q->head = (q->head + 1) % q->bufcap;
    q->count--;
    q->taken++;
    if (q->cap == 0)
        pthread_cond_broadcast(&q->not_full); /* slot waiters and the ticket holder */
    else
        pthread_cond_signal(&q->not_full);
    return v;
}

static void *pq_open(size_t cap, int nq, int nsend, int nrecv)
{
    (void)nsend;
    (void)nrecv;
    pq_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->not_empty, NULL);
    g->nq = nq;
    for (int i = 0; i < nq; i++)
        if (pq_init(&g->q[i], &g->m, &g->not_empty, cap) != 0)
            return NULL; /* benchmark setup failure: reported as a failed check */
    return g;
}

static int pq_send(void *h, int q, int sender, size_t v)
{
    (void)sender;
    pq_group *g = h;
    pthread_mutex_lock(&g->m);
    int r = pq_push_locked(&g->q[q], v);
    pthread_mutex_unlock(&g->m);
    return r;
}

static int pq_recv(void *h, int receiver, size_t *v)
{
    (void)receiver;
    pq_group *g = h;
    pthread_mutex_lock(&g->m);
    while (g->q[0].count == 0)
        pthread_cond_wait(&g->not_empty, &g->m);
    *v = pq_take_locked(&g->q[0]);
    pthread_mutex_unlock(&g->m);
    return 0;
}

static int pq_select_recv(void *h, size_t *v)
{
    pq_group *g = h;
    pthread_mutex_lock(&g->m);
    for (;;) {
        unsigned start = g->next++;
        for (int k = 0; k < g->nq; k++) {
            pq *q = &g->q[(start + (unsigned)k) % (unsigned)g->nq];
            if (q->count) {
                *v = pq_take_locked(q);
                pthread_mutex_unlock(&g->m);
                return 0;
            }
        }
        pthread_cond_wait(&g->not_empty, &g->m);
    }
}

static void pq_close(void *h)
{
    pq_group *g = h;
    for (int i = 0; i < g->nq; i++) {
        free(g->q[i].buf);
        pthread_cond_destroy(&g->q[i].not_full);
    }
    pthread_cond_destroy(&g->not_empty);
    pthread_mutex_destroy(&g->m);
    free(g);
}

/* ------------------------------------------------------------------------------
 * weft: one channel per queue; each thread has its own handle (a handle serves one
 * thread at a time). */

typedef struct wq {
    int nq;
    weft_sender *tx[CB_MAXQ][CB_MAXT];
    weft_receiver *rx[CB_MAXQ][CB_MAXT];
    int nsend, nrecv;
} wq;

static void wq_close(void *h)
{
    wq *w = h;
    for (int q = 0; q < w->nq; q++) {
        for (int i = 0; i < w->nsend; i++)
            if (w->tx[q][i])
                weft_sender_close(w->tx[q][i]);
        for (int i = 0; i < w->nrecv; i++)
            if (w->rx[q][i])
                weft_receiver_close(w->rx[q][i]);
    }
    free(w);
}

static void *wq_open(size_t cap, int nq, int nsend, int nrecv)
{
    wq *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->nq = nq;
    w->nsend = nsend;
    w->nrecv = nrecv;
    for (int q = 0; q < nq; q++) {
        if (weft_chan_open(sizeof(size_t), cap, NULL, &w->tx[q][0], &w->rx[q][0]) != 0)
            goto fail;
        for (int i = 1; i < nsend; i++)
            if (weft_sender_clone(w->tx[q][0], &w->tx[q][i]) != 0)
                goto fail;
        for (int i = 1; i < nrecv; i++)
            if (weft_receiver_clone(w->rx[q][0], &w->rx[q][i]) != 0)
                goto fail;
    }
    return w;
fail:
    wq_close(w);
    return NULL;
}

static int wq_send(void *h, int q, int sender, size_t v)
{
    wq *w = h;
    return weft_chan_send(w->tx[q][sender], &v);
}

static int wq_recv(void *h, int receiver, size_t *v)
{
    wq *w = h;
    return weft_chan_recv(w->rx[0][receiver], v);
}

static int wq_select_recv(void *h, size_t *v)
{
    wq *w = h;
    weft_select_op ops[CB_MAXQ];
    for (int q = 0; q < w->nq; q++)
        ops[q] = (weft_select_op){WEFT_SELECT_RECV, NULL, w->rx[q][0], v, 0};
    int i = weft_select(ops, (size_t)w->nq);
    return i < 0 ? i : ops[i].result;
}

/* ------------------------------------------------------------------------------
 * The shapes, written once against this table. */

typedef struct qimpl {
    void *(*open)(size_t cap, int nq, int nsend, int nrecv);
    int (*send)(void *h, int q, int sender, size_t v);
    int (*recv)(void *h, int receiver, size_t *v);
    int (*select_recv)(void *h, size_t *v);
    void (*close)(void *h);
} qimpl;

static const qimpl weft_q = {wq_open, wq_send, wq_recv, wq_select_recv, wq_close};
static const qimpl pthread_q = {pq_open, pq_send, pq_recv, pq_select_recv, pq_close};

typedef enum shape { SEQ, SPSC, MPSC, MPMC, SELECT_RX } shape;

typedef struct cb_arg {
    const qimpl *impl; /* NULL: the crossbeam peer (cb_crossbeam_run) */
    shape shape;
    size_t cap;
    bool pin1; /* every thread on one CPU */
} cb_arg;

typedef struct cb_run {
    const qimpl *impl;
    void *h;
    shape shape;
    size_t cap;
    int nsend, nrecv;
    uint64_t per_sender; /* messages each sender sends */
    uint64_t total;
    int pin_cpu; /* >= 0: each thread pins itself to this CPU first */
    _Atomic uint64_t sum;
    _Atomic int errors;
} cb_run;

static void cb_body(void *ctx, int tid)
{
    cb_run *r = ctx;
    const qimpl *im = r->impl;
    int err = 0;
    uint64_t sum = 0;
    if (r->pin_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(r->pin_cpu, &set);
        err |= pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0;
    }
    if (r->shape == SEQ) {
        size_t batch = r->cap == WEFT_UNBOUNDED ? r->total : r->cap;
        for (uint64_t done = 0; done < r->total;) {
            uint64_t b = r->total - done < batch ? r->total - done : batch;
            for (uint64_t i = 0; i < b; i++)
                err |= im->send(r->h, 0, 0, (size_t)(done + i));
            for (uint64_t i = 0; i < b; i++) {
                size_t v = 0;
                err |= im->recv(r->h, 0, &v);
                sum += v;
            }
            done += b;
        }
    } else if (tid < r->nsend) {
        int q = r->shape == SELECT_RX ? tid : 0;
        for (uint64_t i = 0; i < r->per_sender; i++)
            err |= im->send(r->h, q, tid, (size_t)i);
    } else {
        int k = tid - r->nsend;
        uint64_t mine = r->total / (uint64_t)r->nrecv;
        if (k == 0)
            mine += r->total % (uint64_t)r->nrecv;
        for (uint64_t i = 0; i < mine; i++) {
            size_t v = 0;
            err |= r->shape == SELECT_RX ? im->select_recv(r->h, &v) : im->recv(r->h, k, &v);
            sum += v;
        }
    }
    atomic_fetch_add_explicit(&r->sum, sum, memory_order_relaxed);
    if (err)
        atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
}

static bench_result cb_run_fn(const bench_args *a)
{
    const cb_arg *arg = a->arg;
    bench_result res = {0};
    cb_run r = {.impl = arg->impl, .shape = arg->shape, .cap = arg->cap, .pin_cpu = -1};
    if (arg->pin1) { /* the first CPU this process may use */
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) != 0)
            return res;
        for (int i = 0; i < CPU_SETSIZE && r.pin_cpu < 0; i++)
            if (CPU_ISSET(i, &set))
                r.pin_cpu = i;
    }
    int nq = 1;
    switch (arg->shape) {
    case SEQ: r.nsend = 1; r.nrecv = 1; break;
    case SPSC: r.nsend = 1; r.nrecv = 1; break;
    case MPSC: r.nsend = 4; r.nrecv = 1; break;
    case MPMC: r.nsend = 4; r.nrecv = 4; break;
    case SELECT_RX: r.nsend = 4; r.nrecv = 1; nq = 4; break;
    }
    r.per_sender = a->size / (uint64_t)r.nsend;
    if (r.per_sender == 0)
        r.per_sender = 1;
    r.total = r.per_sender * (uint64_t)r.nsend;
    atomic_init(&r.sum, 0);
    atomic_init(&r.errors, 0);
    r.h = arg->impl->open(arg->cap, nq, r.nsend, r.nrecv);
    if (!r.h)
        return res;
    int threads = arg->shape == SEQ ? 1 : r.nsend + r.nrecv;
    double secs = 0;
    int err = bench_run_threads(threads, cb_body, &r, &secs);
    arg->impl->close(r.h);
    uint64_t expect = arg->shape == SEQ ? r.total * (r.total - 1) / 2
                                        : (uint64_t)r.nsend * (r.per_sender * (r.per_sender - 1) / 2);
    /* Relaxed: the threads were joined. */
    res.ok = !err && atomic_load_explicit(&r.errors, memory_order_relaxed) == 0 && atomic_load_explicit(&r.sum, memory_order_relaxed) == expect;
    res.ops = r.total;
    res.seconds = secs > 0 ? secs : 1e-9;
    return res;
}

#ifdef WEFT_BENCH_CROSSBEAM
/* The crossbeam peer: the same shape, capacity and message count, in its own process,
 * checked the same way (every message's value summed). */
static bench_result cb_crossbeam_run(const bench_args *a)
{
    static const char *const names[] = {[SEQ] = "seq", [SPSC] = "spsc", [MPSC] = "mpsc",
                                        [MPMC] = "mpmc", [SELECT_RX] = "select_rx"};
    static const int senders[] = {[SEQ] = 1, [SPSC] = 1, [MPSC] = 4, [MPMC] = 4, [SELECT_RX] = 4};
    const cb_arg *arg = a->arg;
    bench_result res = {0};
    char cap[32];
    if (arg->cap == WEFT_UNBOUNDED)
        snprintf(cap, sizeof cap, "unbounded");
    else
        snprintf(cap, sizeof cap, "%zu", arg->cap);
    uint64_t nsend = (uint64_t)senders[arg->shape];
    uint64_t per_sender = a->size / nsend ? a->size / nsend : 1;
    uint64_t total = per_sender * nsend;
    uint64_t expect = arg->shape == SEQ ? total * (total - 1) / 2
                                        : nsend * (per_sender * (per_sender - 1) / 2);
    bench_crossbeam_out out;
    if (!bench_crossbeam_run(names[arg->shape], cap, a->size, arg->pin1, &out))
        return res;
    res.ok = out.messages == total && out.sum == expect;
    res.ops = total;
    res.seconds = out.seconds;
    return res;
}
#endif

#define CB_SIZE 5000000
#define CB_QUICK 100000
/* The crossbeam rows' first warm-up size: each of their runs is a process that also
 * warms up, and a rendezvous row on a busy machine moves few messages per second, so
 * they start smaller and let the calibration scale them up. */
#define CB_XB_QUICK 10000

#define CB_ARGS(sh)                                                                                    \
    __attribute__((unused)) static const cb_arg sh##_w0 = {&weft_q, sh, 0, false},                     \
                                                sh##_p0 = {&pthread_q, sh, 0, false};                  \
    static const cb_arg sh##_w1 = {&weft_q, sh, 1, false}, sh##_p1 = {&pthread_q, sh, 1, false};       \
    static const cb_arg sh##_wk = {&weft_q, sh, 1000, false}, sh##_pk = {&pthread_q, sh, 1000, false}; \
    static const cb_arg sh##_wu = {&weft_q, sh, WEFT_UNBOUNDED, false},                                \
                        sh##_pu = {&pthread_q, sh, WEFT_UNBOUNDED, false};
/* The crossbeam rows' args (impl NULL). */
#define CB_XB_ARGS(sh)                                                                      \
    __attribute__((unused)) static const cb_arg sh##_c0 = {NULL, sh, 0, false},             \
                                                sh##_c1 = {NULL, sh, 1, false},             \
                                                sh##_ck = {NULL, sh, 1000, false},          \
                                                sh##_cu = {NULL, sh, WEFT_UNBOUNDED, false};
CB_ARGS(SEQ)
static const cb_arg SPSC_wup = {&weft_q, SPSC, WEFT_UNBOUNDED, true},
                    SPSC_pup = {&pthread_q, SPSC, WEFT_UNBOUNDED, true};
__attribute__((unused)) static const cb_arg SPSC_cup = {NULL, SPSC, WEFT_UNBOUNDED, true};
CB_XB_ARGS(SEQ)
CB_XB_ARGS(SPSC)
CB_XB_ARGS(MPSC)
CB_XB_ARGS(MPMC)
CB_XB_ARGS(SELECT_RX)
CB_ARGS(SPSC)
CB_ARGS(MPSC)
CB_ARGS(MPMC)
CB_ARGS(SELECT_RX)

/* The thread-count spec comes last (variadic: its braces hold commas). */
#define CB_ROW(name, param, sh, k, ...)                                                     \
    {name, param, "weft", __VA_ARGS__, "msgs/s", cb_run_fn, CB_SIZE, CB_QUICK, false,       \
     &sh##_w##k},                                                                           \
    {name, param, "pthread", __VA_ARGS__, "msgs/s", cb_run_fn, CB_SIZE, CB_QUICK, false,    \
     &sh##_p##k}                                                                            \
    BENCH_CROSSBEAM_ROW(name, param, "crossbeam", __VA_ARGS__, "msgs/s", cb_crossbeam_run,  \
                        CB_SIZE, CB_XB_QUICK, false, &sh##_c##k)
#define CB_ROWS4(name, sh, ...)                                                             \
    CB_ROW(name, "bounded0", sh, 0, __VA_ARGS__), CB_ROW(name, "bounded1", sh, 1, __VA_ARGS__), \
        CB_ROW(name, "bounded1000", sh, k, __VA_ARGS__),                                    \
        CB_ROW(name, "unbounded", sh, u, __VA_ARGS__)

#define T1 {.min = 1, .max = 1, .defaults = {1}}
#define T2 {.min = 2, .max = 2, .defaults = {2}}
#define T5 {.min = 5, .max = 5, .defaults = {5}}
#define T8 {.min = 8, .max = 8, .defaults = {8}}

static const bench_def chan_benches[] = {
    /* no chan_seq/bounded0: one thread cannot meet itself at a rendezvous */
    CB_ROW("chan_seq", "bounded1", SEQ, 1, T1),
    CB_ROW("chan_seq", "bounded1000", SEQ, k, T1),
    CB_ROW("chan_seq", "unbounded", SEQ, u, T1),
    CB_ROWS4("chan_spsc", SPSC, T2),
    CB_ROW("chan_spsc", "unbounded_pinned1", SPSC, up, T2),
    CB_ROWS4("chan_mpsc", MPSC, T5),
    CB_ROWS4("chan_mpmc", MPMC, T8),
    CB_ROWS4("chan_select_rx", SELECT_RX, T5),
};

void bench_register_chan(bench_registry *r)
{
    bench_registry_add(r, chan_benches, sizeof chan_benches / sizeof chan_benches[0]);
}
