/* 11_pipeline.c: stream processing: producer -> workers -> collector.
 *
 *      producer thread --lines--> [bounded channel, 4] --> 3 worker tasks (a scope on
 *      a pool of 3) --counts--> [unbounded channel] --> collector (main)
 *
 * - The producer is a plain thread (it would be reading a file or a socket: blocking
 *   work). It sends each line into a bounded channel: when the workers fall behind, it
 *   blocks instead of queueing the whole input in memory (back-pressure, example 04).
 * - The workers are tasks of a scope on their own pool, each with its own clone of
 *   the line receiver (a multi-consumer channel: each line goes to exactly one
 *   worker) and of the result sender. They stop when the input is exhausted and the
 *   producer has hung up. They run on a pool of their own because they block on a
 *   channel: a blocked task holds its worker thread, and the global pool's workers
 *   are better left to parallel loops.
 * - The collector (main) receives results until every worker has closed its result
 *   sender, then waits for the scope to learn whether any stage failed.
 *
 * Results arrive in any order; the collector sorts them by line number, so the
 * output is deterministic. */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

static const char *const text[] = {
    "Two roads diverged in a yellow wood,",
    "And sorry I could not travel both",
    "And be one traveler, long I stood",
    "And looked down one as far as I could",
    "To where it bent in the undergrowth;",
    "Then took the other, as just as fair,",
    "And having perhaps the better claim,",
    "Because it was grassy and wanted wear;",
    "Though as for that the passing there",
    "Had worn them really about the same,",
};
#define LINES (sizeof text / sizeof text[0])

typedef struct line {
    int no;
    char text[64];
} line;

typedef struct counts {
    int no;
    int words, letters;
} counts;

/* ---- the producer ---------------------------------------------------------------- */

static void *produce(void *arg)
{
    weft_sender *tx = arg; /* owned: closed when the input ends */
    for (size_t i = 0; i < LINES; i++) {
        line l = {(int)i + 1, ""};
        snprintf(l.text, sizeof l.text, "%s", text[i]);
        if (weft_chan_send(tx, &l) != 0)
            break; /* -EPIPE: every worker is gone; stop reading */
    }
    weft_sender_close(tx);
    return NULL;
}

/* ---- the workers ----------------------------------------------------------------- */

typedef struct stage {
    weft_receiver *in; /* owned by the task: closed when it ends */
    weft_sender *out;  /* owned by the task */
} stage;

static int work(weft_scope *scope, void *arg)
{
    stage *st = arg;
    int status = 0;
    line l;
    WEFT_CHAN_FOREACH(st->in, l) {
        if (weft_scope_is_cancelled(scope))
            break; /* another stage failed: stop early */
        counts c = {l.no, 0, 0};
        int in_word = 0;
        for (const char *p = l.text; *p; p++) {
            int letter = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
            c.letters += letter;
            c.words += letter && !in_word;
            in_word = letter || (in_word && *p == '\'');
        }
        status = weft_chan_send(st->out, &c);
        if (status != 0)
            break; /* the collector is gone */
    }
    weft_receiver_close(st->in);
    weft_sender_close(st->out); /* the last one ends the collector's loop */
    return status;
}

static int by_line(const void *a, const void *b)
{
    const counts *x = a, *y = b;
    return (x->no > y->no) - (x->no < y->no);
}

int main(void)
{
    enum { WORKERS = 3 };
    weft_sender *lines_tx, *counts_tx;
    weft_receiver *lines_rx, *counts_rx;
    must(weft_chan_open(sizeof(line), 4, NULL, &lines_tx, &lines_rx), "open");
    must(weft_chan_open(sizeof(counts), WEFT_UNBOUNDED, NULL, &counts_tx, &counts_rx), "open");

    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = WORKERS;
    cfg.name_prefix = "stage";
    weft_pool *pool;
    must(weft_pool_create(&cfg, &pool), "pool_create");

    /* Workers first: each takes clones of both ends; then main drops its own. */
    stage stages[WORKERS];
    weft_scope scope;
    must(weft_scope_init(&scope, pool), "scope_init");
    for (int i = 0; i < WORKERS; i++) {
        must(weft_receiver_clone(lines_rx, &stages[i].in), "clone");
        must(weft_sender_clone(counts_tx, &stages[i].out), "clone");
        must(weft_scope_spawn(&scope, work, &stages[i]), "scope_spawn");
    }
    weft_receiver_close(lines_rx);
    weft_sender_close(counts_tx);

    weft_thread *producer;
    must(weft_thread_spawn(NULL, produce, lines_tx, &producer), "spawn"); /* lines_tx moves */

    /* The collector. */
    counts got[LINES];
    size_t n = 0;
    counts c;
    WEFT_CHAN_FOREACH(counts_rx, c) {
        if (n < LINES)
            got[n++] = c;
    }
    weft_receiver_close(counts_rx);
    int status = weft_scope_wait(&scope);
    must(weft_thread_join(producer, NULL), "join");
    must(weft_pool_destroy(pool), "pool_destroy");

    qsort(got, n, sizeof got[0], by_line);
    int words = 0, letters = 0;
    for (size_t i = 0; i < n; i++) {
        printf("line %2d: %d words, %2d letters\n", got[i].no, got[i].words, got[i].letters);
        words += got[i].words;
        letters += got[i].letters;
    }
    printf("%zu lines, %d words, %d letters; pipeline status: %s\n", n, words, letters,
           weft_strerror(status));
    return status == 0 && n == LINES ? 0 : 1;
}
