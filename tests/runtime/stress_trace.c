/* stress_trace: tracing from 8 outside threads at once, with sessions starting and
 * stopping under them (runs under ThreadSanitizer too).
 * Eight threads call in from outside the pools — joins (caller slots of the global
 * pool), par_for, futex parks, a channel between two of them, pools created and
 * destroyed, short-lived threads that record and exit — while main starts and stops
 * tracing sessions. Stop never waits for the recorders, rings of exited threads are
 * written and freed by the writer, and a recorder that sees a stale session writes
 * only its own ring: under TSan any unordered access is a report.
 * Checks: every session's JSON parses, one track per thread, spans nest
 * (trace_testlib.h); the last session, with all eight threads done, holds a track
 * for each of them; nothing leaks (ASan). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft/chan.h>
#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include <weft/trace.h>
#include "check.h"
#include "trace_testlib.h"
#include "workloads.h"

enum { THREADS = 8 };

static _Atomic bool done;

static int sum_body(void *ctx, size_t b, size_t e)
{
    atomic_fetch_add_explicit((_Atomic size_t *)ctx, e - b, memory_order_relaxed);
    return 0;
}

static void *short_lived(void *arg)
{
    _Atomic uint32_t word = 0;
    for (int i = 0; i < 20; i++)
        weft_futex_wait(&word, 1, WEFT_NO_DEADLINE); /* returns at once: a park each */
    return arg;
}

static weft_sender *chan_tx;
static weft_receiver *chan_rx;

static void *outside(void *arg)
{
    long id = (long)arg;
    for (long round = 0; !atomic_load_explicit(&done, memory_order_relaxed); round++) {
        switch ((id + round) % 5) {
        case 0: {
            fib_arg f = {WEFT_TSAN_OR(12, 18), 0}, g = {WEFT_TSAN_OR(11, 17), 0};
            CHECK(weft_join(fib_join, &f, fib_join, &g) == 0);
            break;
        }
        case 1: {
            _Atomic size_t n = 0;
            CHECK(weft_par_for(0, 10000, 100, sum_body, (void *)&n) == 0);
            CHECK(atomic_load(&n) == 10000);
            break;
        }
        case 2: {
            weft_thread *t;
            CHECK(weft_thread_spawn(NULL, short_lived, NULL, &t) == 0);
            CHECK(weft_thread_join(t, NULL) == 0);
            break;
        }
        case 3: {
            if (id == 3) { /* a pool created and destroyed mid-trace */
                weft_pool_config c = WEFT_POOL_CONFIG_INIT;
                c.num_threads = 2;
                c.pin = WEFT_PIN_NONE;
                weft_pool *p;
                CHECK(weft_pool_create(&c, &p) == 0);
                fib_arg f = {WEFT_TSAN_OR(10, 15), 0};
                CHECK(weft_pool_run(p, fib_join, &f) == 0);
                CHECK(weft_pool_destroy(p) == 0);
            }
            break;
        }
        default: { /* threads 0 and 1 talk through a bounded channel; the others park */
            long v = round;
            if (id == 0)
                CHECK(weft_chan_send_timeout(chan_tx, &v, 1000000) != -EINVAL);
            else if (id == 1)
                CHECK(weft_chan_recv_timeout(chan_rx, &v, 1000000) != -EINVAL);
            else {
                _Atomic uint32_t word = 0;
                weft_futex_wait(&word, 0, weft_deadline_after(100000)); /* a 100 µs park */
            }
            break;
        }
        }
    }
    /* One recorded span after the last round (a par_for span always is): under TSan on
     * a loaded machine a thread can spend the whole last session in rounds that record
     * nothing of its own (a channel send with room, a join no thief took). */
    _Atomic size_t n = 0;
    CHECK(weft_par_for(0, 1000, 100, sum_body, (void *)&n) == 0);
    return NULL;
}

static void check_session(const char *path, int want_threads)
{
    tr_trace *t = trace_read(path);
    CHECK(t != NULL, "session trace %s invalid", path);
    if (want_threads) {
        int named = 0;
        char name[32];
        for (int i = 0; i < want_threads; i++) {
            snprintf(name, sizeof name, "outside-%d", i);
            named += trace_tid(t, name) >= 0;
        }
        CHECK(named == want_threads, "%d of %d outside threads have a track", named, want_threads);
    }
    trace_free(t);
    unlink(path);
}

int main(void)
{
    char path[256];
    trace_path(path, sizeof path, "stress");
    CHECK(weft_chan_open(sizeof(long), 4, NULL, &chan_tx, &chan_rx) == 0);
    weft_thread *th[THREADS];
    for (long i = 0; i < THREADS; i++) {
        weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
        char name[32];
        snprintf(name, sizeof name, "outside-%ld", i);
        o.name = name;
        CHECK(weft_thread_spawn(&o, outside, (void *)i, &th[i]) == 0);
    }
    long sessions = stress_iters(40);
    for (long s = 0; s < sessions; s++) {
        /* A small ring on odd sessions: wrapping while the writer reads. */
        setenv("WEFT_TRACE_EVENTS", s % 2 ? "64" : "4096", 1);
        CHECK(weft_trace_start(path) == 0);
        CHECK(weft_trace_start(path) == -EBUSY);
        usleep(s % 3 == 0 ? 20000 : 2000);
        CHECK(weft_trace_stop() == 0);
        check_session(path, 0);
    }
    /* The last session: every outside thread records, then exits before the stop. */
    setenv("WEFT_TRACE_EVENTS", "4096", 1);
    CHECK(weft_trace_start(path) == 0);
    usleep(200000);
    atomic_store(&done, true);
    for (int i = 0; i < THREADS; i++)
        CHECK(weft_thread_join(th[i], NULL) == 0);
    CHECK(weft_trace_stop() == 0);
    check_session(path, THREADS);
    weft_sender_close(chan_tx);
    weft_receiver_close(chan_rx);
    printf("stress_trace: %ld sessions, %d outside threads\n", sessions + 1, THREADS);
    return 0;
}
