/* 08_threadpool.c: a thread pool that runs 8 jobs, which report through a channel
 * (the Rust `threadpool` crate's example: pool.execute(move || tx.send(1))).
 *
 * weft_pool_create starts a pool of worker threads (here 4; 0 would mean "one per
 * core", or WEFT_NUM_THREADS). weft_spawn(pool, fn, arg, NULL) queues a detached job
 * (the pool's `execute`); with a weft_task ** instead of NULL you get a handle to join
 * for the job's result (example 10). Each job owns a heap context holding its own
 * clone of the sender: the job sends its result, closes its sender, frees its
 * context. Main closes its own sender, so the receive loop ends exactly when the last
 * job has finished.
 *
 * Jobs finish in any order, so main sorts the results before printing. Sending on an
 * unbounded channel never blocks, which matters on a pool: a job that blocks holds
 * its worker thread, which then runs nothing else meanwhile.
 *
 * Most programs need no pool of their own: weft_spawn(NULL, ...) and the parallel
 * loops use the global pool, started on first use. Make a pool to isolate a group of
 * jobs from the rest, or to give it its own size. */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

#define JOBS 8

typedef struct job {
    int id;
    weft_sender *tx; /* this job's own sender */
} job;

typedef struct result {
    int id;
    long value;
} result;

static void *run_job(void *arg)
{
    job *j = arg; /* owned by the job */
    result r = {j->id, (long)j->id * j->id};
    weft_chan_send(j->tx, &r);
    weft_sender_close(j->tx);
    free(j);
    return NULL; /* a detached job's return value goes nowhere */
}

static int by_id(const void *a, const void *b)
{
    const result *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int main(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 4;
    cfg.name_prefix = "jobs"; /* workers are named jobs-0 ... jobs-3 */
    weft_pool *pool;
    must(weft_pool_create(&cfg, &pool), "pool_create");

    weft_sender *tx;
    weft_receiver *rx;
    must(weft_chan_open(sizeof(result), WEFT_UNBOUNDED, NULL, &tx, &rx), "open");
    for (int i = 0; i < JOBS; i++) {
        job *j = malloc(sizeof *j);
        if (!j)
            return 1;
        j->id = i;
        must(weft_sender_clone(tx, &j->tx), "clone");
        must(weft_spawn(pool, run_job, j, NULL), "spawn"); /* detached: pool.execute */
    }
    weft_sender_close(tx); /* only the jobs' senders remain */

    result got[JOBS];
    int n = 0;
    result r;
    WEFT_CHAN_FOREACH(rx, r) {
        if (n < JOBS)
            got[n] = r;
        n++;
    }
    weft_receiver_close(rx);
    qsort(got, (size_t)(n < JOBS ? n : JOBS), sizeof got[0], by_id);

    printf("%d jobs on %d workers reported:", n, weft_pool_num_threads(pool));
    long sum = 0;
    for (int i = 0; i < n && i < JOBS; i++) {
        printf(" %d->%ld", got[i].id, got[i].value);
        sum += got[i].value;
    }
    printf("\nsum: %ld\n", sum);
    must(weft_pool_destroy(pool), "pool_destroy"); /* waits for queued jobs, stops workers */
    return n == JOBS ? 0 : 1;
}
