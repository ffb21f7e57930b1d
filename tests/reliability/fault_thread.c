/* fault_thread.c: thread creation failure (pthread_create, wrapped by inject.c, fails
 * with EAGAIN from the k-th call on).
 *  - weft_pool_create: for every k, -EAGAIN, every started worker stopped again, no
 *    leak, no hang; a later create works.
 *  - weft_thread_spawn: -EAGAIN, *out untouched, no leak.
 *  - the global pool: runs with the workers it could start, after exactly one warning
 *    on stderr; if even the retry cannot start one, weft_pool_global fails and a later
 *    call starts it. */
#include "check.h"
#include "inject.h"

#include <weft.h>

#include <string.h>
#include <unistd.h>

static void pool_sweep(bool sticky)
{
    long live0 = inject_live();
    long k = 1;
    for (;; k++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = 4;
        cfg.pin = WEFT_PIN_NONE;
        weft_pool *p = NULL;
        inject_arm(INJECT_THREAD, k, sticky);
        int rc = weft_pool_create(&cfg, &p);
        long fired = inject_disarm(INJECT_THREAD);
        if (fired == 0) {
            CHECK(rc == 0, "create: %s", weft_strerror(rc));
            CHECK(weft_pool_num_threads(p) == 4);
            CHECK(weft_pool_destroy(p) == 0);
            break;
        }
        CHECK(rc == -EAGAIN, "k=%ld: create: %s", k, weft_strerror(rc));
        CHECK(p == NULL);
        CHECK(inject_live() == live0, "k=%ld: a failed create leaks %ld allocations", k, inject_live() - live0);
    }
    CHECK(k == 5, "4 workers, 4 thread starts, not %ld", k - 1);
    CHECK(inject_live() == live0);
}

static void *nothing(void *arg) { return arg; }

static void thread_spawn_fails(void)
{
    long live0 = inject_live();
    weft_thread *t = (weft_thread *)&live0; /* must stay untouched */
    inject_arm(INJECT_THREAD, 1, false);
    CHECK(weft_thread_spawn(NULL, nothing, NULL, &t) == -EAGAIN);
    CHECK(inject_disarm(INJECT_THREAD) == 1);
    CHECK(t == (weft_thread *)&live0);
    CHECK(inject_live() == live0);
    CHECK(weft_thread_spawn(NULL, nothing, NULL, &t) == 0 && weft_thread_join(t, NULL) == 0);
}

/* Run weft_pool_global with the k-th thread start failing; return its error and how
 * many lines it wrote on stderr (in `text`). */
static int global_with_failure(long k, bool sticky, char *text, size_t cap, int *lines)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    CHECK(tmp);
    int saved = dup(2);
    CHECK(saved >= 0 && dup2(fileno(tmp), 2) == 2);
    weft_pool *p = NULL;
    inject_arm(INJECT_THREAD, k, sticky);
    int rc = weft_pool_global(&p);
    inject_disarm(INJECT_THREAD);
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    rewind(tmp);
    size_t len = fread(text, 1, cap - 1, tmp);
    text[len] = 0;
    fclose(tmp);
    *lines = 0;
    for (size_t i = 0; i < len; i++)
        *lines += text[i] == '\n';
    fputs(text, stderr); /* keep it visible in the test log */
    return rc;
}

static void global_fallback(void)
{
    char text[4096];
    int lines;
    CHECK(setenv("WEFT_NUM_THREADS", "4", 1) == 0);
    /* not even one worker: the error, no fallback, no warning */
    int rc = global_with_failure(1, true, text, sizeof text, &lines);
    CHECK(rc == -EAGAIN && lines == 0, "rc %s, %d lines", weft_strerror(rc), lines);
    /* 2 of 4 start, then the retry with 2 cannot start any: the error, one warning */
    rc = global_with_failure(3, true, text, sizeof text, &lines);
    CHECK(rc == -EAGAIN && lines == 1, "rc %s, %d lines", weft_strerror(rc), lines);
    /* 2 of 4 start, the retry with 2 works: one warning, a pool of 2 */
    rc = global_with_failure(3, false, text, sizeof text, &lines);
    CHECK(rc == 0 && lines == 1, "rc %s, %d lines", weft_strerror(rc), lines);
    CHECK(strstr(text, "global pool") && strstr(text, "2 of 4"), "warning: %s", text);
    CHECK(weft_pool_num_threads(NULL) == 2);
    weft_task *t;
    void *r;
    CHECK(weft_spawn(NULL, nothing, (void *)7, &t) == 0 && weft_task_join(t, &r) == 0 && r == (void *)7);
}

int main(void)
{
    pool_sweep(false);
    pool_sweep(true);
    thread_spawn_fails();
    global_fallback();
    puts("thread start failures: pool create, thread spawn, global pool fallback: ok");
    return 0;
}
