/* 10_errors.c: failures, and how they come back.
 *
 *   1. a task with a join handle fails: its status comes back through weft_task_join;
 *   2. in a scope, one task fails: weft_scope_wait returns its status, and the other
 *      tasks, which poll weft_scope_is_cancelled, stop early;
 *   3. a parallel loop whose body returns non-zero stops early and returns that status;
 *   4. weft's own errors: negative errno values, readable with weft_strerror.
 *
 * Convention: weft returns 0 or a negative errno (-EINVAL, -EPIPE, ...). Give your own
 * failures positive codes (here 42) so they cannot be mistaken for weft's. */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

/* ---- 1. a status through join ---------------------------------------------------- */

typedef struct parse_job {
    const char *text; /* in */
    long value;       /* out, valid when the task returned status 0 */
} parse_job;

/* The task's return value carries a status (0 or -errno) cast to a pointer. */
static void *parse_task(void *arg)
{
    parse_job *p = arg; /* borrowed: the spawner joins before p goes away */
    char *end;
    p->value = strtol(p->text, &end, 10);
    return (void *)(intptr_t)(end == p->text || *end != '\0' ? -EINVAL : 0);
}

static void join_scene(void)
{
    parse_job jobs[2] = {{"42", 0}, {"forty-two", 0}};
    weft_task *tasks[2];
    for (int i = 0; i < 2; i++)
        must(weft_spawn(NULL, parse_task, &jobs[i], &tasks[i]), "spawn");
    for (int i = 0; i < 2; i++) {
        void *res;
        must(weft_task_join(tasks[i], &res), "join"); /* join itself succeeded ... */
        int status = (int)(intptr_t)res;              /* ... the task may not have */
        if (status == 0)
            printf("parse(\"%s\") = %ld\n", jobs[i].text, jobs[i].value);
        else
            printf("parse(\"%s\") failed: %s\n", jobs[i].text, weft_strerror(status));
    }
}

/* ---- 2. a scope: first failure wins, the rest are cancelled ----------------------- */

#define TASKS 4
#define FAILING 2
#define MY_ERROR 42

typedef struct worker {
    int id;
    int steps;    /* how far it got */
    int finished; /* 1 if it did all its steps */
} worker;

static int scoped_work(weft_scope *scope, void *arg)
{
    worker *w = arg;
    /* Long work in small steps; between steps, give up if the scope was cancelled
     * (a task always runs, even one that starts after the failure: so check first). */
    for (w->steps = 0; w->steps < 5000; w->steps++) {
        if (weft_scope_is_cancelled(scope))
            return 0; /* the status that matters is already recorded */
        if (w->id == FAILING && w->steps == 3)
            return MY_ERROR; /* fails: cancels the scope */
        weft_thread_sleep(1000 * 1000); /* 1 ms of "work" */
    }
    w->finished = 1;
    return 0;
}

static void scope_scene(void)
{
    /* A pool with one worker per task, so all of them run at once. (With fewer
     * workers, a task that has not started yet still runs after the failure, sees the
     * cancellation and returns at once.) */
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = TASKS;
    weft_pool *pool;
    must(weft_pool_create(&cfg, &pool), "pool_create");

    worker workers[TASKS];
    weft_scope scope;
    must(weft_scope_init(&scope, pool), "scope_init");
    for (int i = 0; i < TASKS; i++) {
        workers[i] = (worker){i, 0, 0};
        must(weft_scope_spawn(&scope, scoped_work, &workers[i]), "scope_spawn"); /* borrows workers[i] */
    }
    int status = weft_scope_wait(&scope); /* every task has returned after this */
    int finished = 0;
    for (int i = 0; i < TASKS; i++)
        finished += workers[i].finished;
    printf("scope: status %d (task %d failed); tasks that ran to the end: %d of %d\n", status,
           FAILING, finished, TASKS);
    must(weft_pool_destroy(pool), "pool_destroy");
}

/* ---- 3. a loop that stops early -------------------------------------------------- */

typedef struct search {
    const int *data;
    int target;
    size_t found_at;
} search;

static int find_body(void *ctx, size_t begin, size_t end)
{
    search *s = ctx;
    for (size_t i = begin; i < end; i++)
        if (s->data[i] == s->target) {
            s->found_at = i; /* one match only: no two bodies write this */
            return 1;        /* stop: chunks not started yet are skipped */
        }
    return 0;
}

static void loop_scene(void)
{
    const size_t n = 1000 * 1000;
    int *data = malloc(n * sizeof *data);
    if (!data)
        exit(1);
    for (size_t i = 0; i < n; i++)
        data[i] = (int)(i % 1000);
    data[777777] = -1;
    search s = {data, -1, 0};
    int rc = weft_par_for(0, n, 0, find_body, &s);
    printf("par_for search: returned %d, found at %zu\n", rc, s.found_at);
    free(data);
}

/* ---- 4. weft's own errors ---------------------------------------------------------- */

static void api_errors_scene(void)
{
    weft_sender *tx;
    weft_receiver *rx;
    must(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &tx, &rx), "open");
    weft_receiver_close(rx); /* nobody will ever receive */
    int v = 1;
    int rc = weft_chan_send(tx, &v); /* the message stays with us */
    printf("send to a closed channel: %d (%s)\n", rc, weft_strerror(rc));
    weft_sender_close(tx);
    printf("par_for(10, 5, ...): %s\n", weft_strerror(weft_par_for(10, 5, 0, find_body, NULL)));
}

int main(void)
{
    join_scene();
    scope_scene();
    loop_scene();
    api_errors_scene();
    return 0;
}
