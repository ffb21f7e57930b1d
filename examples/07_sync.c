/* 07_sync.c: the shared-state primitives, one small scene each.
 *
 *   1. rwlock:   several readers and one writer; readers never see a half-written update;
 *   2. barrier:  threads meet round after round; exactly one per round is the leader
 *                and does the serial step;
 *   3. condvar:  wait until a "started" flag is set (Rust's Condvar doc example);
 *   4. atomics:  a flag set by one thread (release) and polled by another (acquire);
 *   5. once:     a lazily initialised singleton, built once however many threads ask.
 *
 * All of these are small structs you place anywhere (stack, heap, static), with a
 * static initialiser (WEFT_MUTEX_INIT, ...) and no allocation. */
#include <weft.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

/* Start n threads running fn(args + i * size) and join them all. */
static void run_threads(int n, weft_thread_fn fn, void *args, size_t size)
{
    weft_thread *t[8];
    for (int i = 0; i < n; i++)
        must(weft_thread_spawn(NULL, fn, (char *)args + (size_t)i * size, &t[i]), "spawn");
    for (int i = 0; i < n; i++)
        must(weft_thread_join(t[i], NULL), "join");
}

/* ---- 1. rwlock ---------------------------------------------------------------- */

#define LAST_VERSION 50

typedef struct config {
    weft_rwlock lock; /* guards the two fields below, which must always agree */
    int version;
    int doubled; /* == 2 * version */
} config;

typedef struct reader_arg {
    config *cfg;
    int bad; /* inconsistent snapshots seen */
} reader_arg;

static void *reader(void *arg)
{
    reader_arg *r = arg;
    for (int seen = 0; seen < LAST_VERSION;) {
        weft_rwlock_read_lock(&r->cfg->lock); /* many readers at once */
        seen = r->cfg->version;
        if (r->cfg->doubled != 2 * seen)
            r->bad++;
        weft_rwlock_unlock(&r->cfg->lock);
        weft_thread_yield();
    }
    return NULL;
}

static void *writer(void *arg)
{
    config *cfg = arg;
    for (int v = 1; v <= LAST_VERSION; v++) {
        weft_rwlock_write_lock(&cfg->lock); /* alone: no reader is inside */
        cfg->version = v;
        weft_thread_yield(); /* a reader would see the half-done update now, if it could */
        cfg->doubled = 2 * v;
        weft_rwlock_unlock(&cfg->lock);
    }
    return NULL;
}

static void rwlock_scene(void)
{
    config cfg = {WEFT_RWLOCK_INIT, 0, 0};
    reader_arg readers[3] = {{&cfg, 0}, {&cfg, 0}, {&cfg, 0}};
    weft_thread *w;
    must(weft_thread_spawn(NULL, writer, &cfg, &w), "spawn");
    run_threads(3, reader, readers, sizeof readers[0]);
    must(weft_thread_join(w, NULL), "join");
    int bad = readers[0].bad + readers[1].bad + readers[2].bad;
    printf("rwlock: 3 readers followed 1 writer to version %d; torn reads: %d\n", cfg.version, bad);
}

/* ---- 2. barrier --------------------------------------------------------------- */

#define PARTIES 4
#define ROUNDS 3

typedef struct round_state {
    weft_barrier barrier;
    int slot[PARTIES];        /* each party writes its own slot ... */
    int total[ROUNDS];        /* ... the leader sums them */
    atomic_int leaders[ROUNDS];
} round_state;

typedef struct party {
    round_state *st;
    int id;
} party;

static void *party_main(void *arg)
{
    party *p = arg;
    round_state *st = p->st;
    for (int r = 0; r < ROUNDS; r++) {
        st->slot[p->id] = (r + 1) * (p->id + 1); /* the parallel phase */
        if (weft_barrier_wait(&st->barrier) == WEFT_BARRIER_LEADER) {
            /* The serial step, by exactly one thread; the barrier made every slot
             * written before it visible here. */
            atomic_fetch_add_explicit(&st->leaders[r], 1, memory_order_relaxed);
            for (int i = 0; i < PARTIES; i++)
                st->total[r] += st->slot[i];
        }
        weft_barrier_wait(&st->barrier); /* nobody rewrites a slot before the sum is done */
    }
    return NULL;
}

static void barrier_scene(void)
{
    round_state st = {.barrier = WEFT_BARRIER_INIT(PARTIES)};
    party parties[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        parties[i] = (party){&st, i};
    run_threads(PARTIES, party_main, parties, sizeof parties[0]);
    for (int r = 0; r < ROUNDS; r++)
        printf("barrier: round %d, %d leader, total %d\n", r + 1,
               atomic_load_explicit(&st.leaders[r], memory_order_relaxed), st.total[r]);
}

/* ---- 3. condvar --------------------------------------------------------------- */

typedef struct started {
    weft_mutex lock;
    weft_condvar cv;
    bool started; /* guarded by lock */
} started;

static void *announce(void *arg)
{
    started *s = arg;
    weft_mutex_lock(&s->lock);
    s->started = true;
    weft_mutex_unlock(&s->lock);
    weft_condvar_notify_one(&s->cv); /* need not hold the lock */
    return NULL;
}

static void condvar_scene(void)
{
    started s = {WEFT_MUTEX_INIT, WEFT_CONDVAR_INIT, false};
    weft_thread *t;
    must(weft_thread_spawn(NULL, announce, &s, &t), "spawn");
    weft_mutex_lock(&s.lock);
    while (!s.started)                   /* always a loop: wake-ups can be spurious, */
        weft_condvar_wait(&s.cv, &s.lock); /* and the flag may be set before we wait */
    weft_mutex_unlock(&s.lock);
    printf("condvar: the worker has started\n");
    must(weft_thread_join(t, NULL), "join");
}

/* ---- 4. an atomic flag -------------------------------------------------------- */

typedef struct mailbox {
    int data;         /* plain memory, published by the flag */
    atomic_bool full;
} mailbox;

static void *post(void *arg)
{
    mailbox *m = arg;
    weft_thread_sleep(5 * 1000 * 1000);
    m->data = 42;
    /* Release: pairs with the poller's acquire load; data = 42 is visible to whoever
     * sees full == true. */
    atomic_store_explicit(&m->full, true, memory_order_release);
    return NULL;
}

static void atomic_scene(void)
{
    mailbox m = {0, false};
    weft_thread *t;
    must(weft_thread_spawn(NULL, post, &m, &t), "spawn");
    weft_backoff b = WEFT_BACKOFF_INIT;
    /* Acquire: pairs with post's release store. */
    while (!atomic_load_explicit(&m.full, memory_order_acquire)) {
        if (weft_backoff_is_completed(&b))
            weft_thread_sleep(100 * 1000); /* polled long enough: nap 0.1 ms */
        else
            weft_backoff_snooze(&b); /* spin a little, then yield */
    }
    printf("atomics: the poller read %d after seeing the flag\n", m.data);
    must(weft_thread_join(t, NULL), "join");
}

/* ---- 5. once: a singleton ----------------------------------------------------- */

typedef struct settings {
    int workers;
    const char *mode;
} settings;

static weft_once settings_once = WEFT_ONCE_INIT;
static settings the_settings;
static atomic_int settings_inits;

static void settings_init(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&settings_inits, 1, memory_order_relaxed);
    weft_thread_sleep(5 * 1000 * 1000); /* slow, so that other callers must wait for it */
    the_settings.workers = 4;
    the_settings.mode = "fast";
}

/* Every caller gets the same, fully built object. */
static const settings *get_settings(void)
{
    weft_once_call(&settings_once, settings_init, NULL);
    return &the_settings;
}

static void *use_settings(void *arg)
{
    const settings **out = arg;
    *out = get_settings();
    return NULL;
}

static void once_scene(void)
{
    const settings *got[4];
    run_threads(4, use_settings, got, sizeof got[0]);
    bool same = got[0] == got[1] && got[1] == got[2] && got[2] == got[3];
    printf("once: built %d time(s) for 4 threads; same object: %s; workers=%d mode=%s\n",
           atomic_load_explicit(&settings_inits, memory_order_relaxed), same ? "yes" : "no",
           got[0]->workers, got[0]->mode);
}

int main(void)
{
    rwlock_scene();
    barrier_scene();
    condvar_scene();
    atomic_scene();
    once_scene();
    return 0;
}
