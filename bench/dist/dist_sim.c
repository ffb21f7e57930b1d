/* dist_sim.c: weft-dist-sim, the cost model of weft_dist_par_for replayed (docs/design.md
 * section 8): the real chunk schedule (dist/schedule.c) dealt to N simulated ranks
 * through one shared counter, with a per-atomic cost, a per-chunk cost and per-index
 * work, and the efficiency that follows, at any N — past what one machine can run.
 *
 *   weft-dist-sim [--atomic-us L] [--service-us S] [--chunk-us C] [--allreduce-us A]
 *                 [--threads T] [--share-s W] [RANKS...]
 *
 * Model. A rank asks the counter for a chunk: its request reaches rank 0 after L/2,
 * waits while the counter serves earlier requests (S each: one atomic at a time, in
 * arrival order), and the answer returns after another L/2. It then runs the chunk:
 * C (a weft_par_for's start and end on its pool) plus the chunk's work divided by its
 * T threads. It stops at the first index past the schedule. Every rank holds an even
 * share of W seconds of work (weak scaling: n grows with N); the call adds its two
 * agreements, each an allreduce of A x log2(N). Efficiency is the ideal time, W,
 * over the call's simulated time. Two workloads: uniform indices, and an uneven one
 * (a band holding most of the cost, as the seahorse rows). What it leaves out:
 * the MPI progress engine (the model assumes the NIC or shared memory serves atomics
 * while rank 0 computes), network contention other than at the counter, noise. */
#include "dist_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model {
    double atomic, service, chunk, allreduce; /* seconds */
    double share;                             /* seconds of work per rank */
    int threads;
} model;

/* Relative cost of index i of n: uniform, or a Gaussian band (at 30%, 10% wide)
 * ten times dearer than the rest. */
static double weight(bool uneven, double x)
{
    return uneven ? 1.0 + 9.0 * exp(-((x - 0.3) / 0.1) * ((x - 0.3) / 0.1)) : 1.0;
}

/* Work of [b, e) of n, in units where the whole range costs `total`: the band's
 * integral by the midpoint rule over at most 64 pieces (chunks are smooth). */
static double work(bool uneven, size_t b, size_t e, size_t n, double per_unit)
{
    if (!uneven)
        return (double)(e - b) * per_unit;
    int pieces = 64;
    double w = 0, step = (double)(e - b) / pieces;
    for (int k = 0; k < pieces; k++)
        w += weight(true, ((double)b + (k + 0.5) * step) / (double)n) * step;
    return w * per_unit;
}

/* A min-heap of ranks by the time their next request reaches the counter. */
typedef struct heap {
    double *at;
    int *rank, len;
} heap;

static void heap_push(heap *h, double at, int rank)
{
    int i = h->len++;
    while (i > 0 && h->at[(i - 1) / 2] > at) {
        h->at[i] = h->at[(i - 1) / 2];
        h->rank[i] = h->rank[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->at[i] = at;
    h->rank[i] = rank;
}

static void heap_pop(heap *h, double *at, int *rank)
{
    *at = h->at[0];
    *rank = h->rank[0];
    double last = h->at[--h->len];
    int lr = h->rank[h->len], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->at[c + 1] < h->at[c])
            c++;
        if (h->at[c] >= last)
            break;
        h->at[i] = h->at[c];
        h->rank[i] = h->rank[c];
        i = c;
    }
    h->at[i] = last;
    h->rank[i] = lr;
}

typedef struct outcome {
    double time, efficiency, counter_busy, start_queue;
    uint64_t chunks;
} outcome;

static outcome simulate(const model *m, int ranks, bool uneven)
{
    /* n: enough indices that the tail floor is many indices (the schedule's shape
     * does not depend on n beyond that). */
    size_t n = (size_t)ranks * 4096;
    double total = m->share * ranks * m->threads; /* thread-seconds of work */
    double norm = 0;
    for (int k = 0; k < 4096; k++)
        norm += weight(uneven, (k + 0.5) / 4096);
    double per_unit = total / (norm / 4096 * (double)n);
    weft__dist_sched s;
    weft__dist_sched_init(&s, n, (size_t)ranks, 0);
    heap h = {malloc(sizeof(double) * (size_t)ranks), malloc(sizeof(int) * (size_t)ranks), 0};
    double agree = m->allreduce * (ranks > 1 ? ceil(log2(ranks)) : 0);
    for (int r = 0; r < ranks; r++)
        heap_push(&h, agree + m->atomic / 2, r);
    double free_at = 0, busy = 0, end = 0, first_round = 0;
    uint64_t next = 0;
    while (h.len > 0) {
        double at;
        int r;
        heap_pop(&h, &at, &r);
        double start = at > free_at ? at : free_at;
        free_at = start + m->service;
        busy += m->service;
        double back = free_at + m->atomic / 2;
        uint64_t k = next++;
        if (k == (uint64_t)ranks - 1)
            first_round = back - agree;
        size_t b, e;
        if (!weft__dist_sched_chunk(&s, k, &b, &e)) {
            end = back > end ? back : end;
            continue;
        }
        double done = back + m->chunk + work(uneven, b, e, n, per_unit) / m->threads;
        heap_push(&h, done + m->atomic / 2, r);
    }
    free(h.at);
    free(h.rank);
    outcome o;
    o.time = end + agree;
    o.efficiency = m->share / o.time;
    o.counter_busy = busy / (end - agree > 0 ? end - agree : 1);
    o.start_queue = first_round;
    o.chunks = s.chunks;
    return o;
}

int main(int argc, char **argv)
{
    /* Defaults: `weft-bench-dist costs` on the 2-vCPU bench VM, ranks in one node
     * (Open MPI, shared memory; docs/perf-log.md has the runs). */
    model m = {0.054e-6, 0.028e-6, 5.9e-6, 3e-6, 1.0, 2};
    int ranks[64], nranks = 0;
    for (int i = 1; i < argc; i++) {
        double *v = NULL;
        if (!strcmp(argv[i], "--atomic-us"))
            v = &m.atomic;
        else if (!strcmp(argv[i], "--service-us"))
            v = &m.service;
        else if (!strcmp(argv[i], "--chunk-us"))
            v = &m.chunk;
        else if (!strcmp(argv[i], "--allreduce-us"))
            v = &m.allreduce;
        if (v && i + 1 < argc) {
            *v = atof(argv[++i]) * 1e-6;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            m.threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--share-s") && i + 1 < argc) {
            m.share = atof(argv[++i]);
        } else if (argv[i][0] != '-' && nranks < 64 && atoi(argv[i]) > 0) {
            ranks[nranks++] = atoi(argv[i]);
        } else {
            fprintf(stderr, "usage: weft-dist-sim [--atomic-us L] [--service-us S] [--chunk-us C] "
                            "[--allreduce-us A] [--threads T] [--share-s W] [RANKS...]\n");
            return 2;
        }
    }
    if (nranks == 0) {
        ranks[0] = 64, ranks[1] = 1024, ranks[2] = 16384;
        nranks = 3;
    }
    if (m.threads < 1 || !(m.share > 0))
        return 2;
    printf("model: atomic %.2f us round trip, counter %.2f us per atomic, chunk %.2f us, allreduce %.2f us"
           " x log2(ranks), %d threads per rank, %.3f s of work per rank\n",
           m.atomic * 1e6, m.service * 1e6, m.chunk * 1e6, m.allreduce * 1e6, m.threads, m.share);
    printf("%8s %8s %9s %10s %10s %12s %12s\n", "ranks", "work", "chunks", "per rank", "efficiency",
           "counter busy", "first round");
    for (int i = 0; i < nranks; i++)
        for (int u = 0; u < 2; u++) {
            outcome o = simulate(&m, ranks[i], u);
            printf("%8d %8s %9llu %10.1f %9.1f%% %11.1f%% %9.3f ms\n", ranks[i], u ? "uneven" : "uniform",
                   (unsigned long long)o.chunks, (double)o.chunks / ranks[i], 100 * o.efficiency,
                   100 * o.counter_busy, o.start_queue * 1e3);
        }
    return 0;
}
