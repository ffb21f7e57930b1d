/* trace.c: the recorder behind weft/trace.h — per-thread event rings, and their
 * writing as Chrome trace-event JSON at weft_trace_stop or exit.
 *
 * Recording (any thread, while weft__trace_session != 0): the thread's ring (tbuf),
 * allocated and registered on the global list the first time the thread records in
 * a session, takes the event at index head: the slot is head mod N. Only the owner
 * writes its ring and its two counters, which share no cache line with any other
 * thread's: no lock, no read-modify-write, no shared line written per event.
 *
 * Invariants:
 *  - a ring belongs to one thread (its owner) for its whole life; it is freed by its
 *    owner's exit (the thread-specific destructor), or, when the owner exits while the
 *    ring's session is active or being written, by that session's writer after it
 *    wrote it (`orphaned`); never while anyone may read it;
 *  - a ring's session, tid, name and size change only in attach, by the owner,
 *    under list_lock, and only to a session whose start has returned, which the
 *    previous session's writer has finished before (start waits for ctl_lock);
 *  - the writer never waits for a recorder: it reads a ring like a seqlock. The owner
 *    announces index j (claim = j + 1), release-fences, writes slot j mod N, then
 *    publishes head = j + 1 (release). The writer loads head (acquire), copies the
 *    slots below it, acquire-fences and loads claim: a slot overwritten during the
 *    copy has its index below claim - N, and is discarded (counted as dropped);
 *  - events are recorded when a span ends, so a ring holds spans in the order they
 *    ended, and a wrapped ring loses the spans that ended first.
 * Memory ordering on the session word: relaxed everywhere. A recorder needs nothing
 * published with it (its ring is its own, set up under list_lock); the writer learns
 * nothing from it (it reads rings through their counters). */
#include <weft/sync.h>
#include <weft/trace.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_EVENTS 65536u
#define MIN_EVENTS 16u
#define MAX_EVENTS (1u << 24)

/* One event: a span [t0, t1] of `kind` with arguments a and b. Relaxed atomics: the
 * writer may read a slot while its owner overwrites it (the seqlock above). */
typedef struct tevent {
    _Atomic uint64_t t0, t1, a, b;
    _Atomic uint32_t kind;
} tevent;

typedef struct tbuf {
    struct tbuf *next;  /* the global list (list_lock) */
    uint32_t session;   /* the session its events belong to (see invariants) */
    bool orphaned;      /* owner gone; the writer of `session` frees it (list_lock) */
    pid_t tid;
    char name[64];
    uint64_t mask;      /* slots - 1 (a power of two) */
    /* The owner's counters (their own line: only the owner writes them). */
    WEFT_CACHE_ALIGNED _Atomic uint64_t claim; /* index being written + 1 */
    _Atomic uint64_t head;                     /* events written */
    WEFT_CACHE_ALIGNED tevent ev[];
} tbuf;

_Atomic uint32_t weft__trace_session;

/* ctl_lock: start and stop (held while writing). list_lock: the list, each ring's
 * registration, reg_session and writing_session. Never held while recording. */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static tbuf *rings;
static uint32_t reg_session;     /* rings may attach to it (list_lock) */
static uint32_t writing_session; /* being written (list_lock) */
static unsigned ring_events = DEFAULT_EVENTS; /* of rings attached to reg_session (list_lock) */

/* Under ctl_lock. */
static bool active;
static uint32_t last_session;
static FILE *out;
static uint64_t session_start_ns;

static pthread_key_t ring_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local tbuf *tls_ring __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t tls_failed; /* a session whose ring could not be allocated */
static _Thread_local weft__trace_job_span *tls_job __attribute__((tls_model("initial-exec")));

uint64_t weft__trace_clock(void) { return weft_time_now_ns(); }

/* ---------------------------------------------------------------- rings */

static void unlink_ring(tbuf *t)
{
    for (tbuf **p = &rings; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

/* The owner's exit. */
static void ring_destructor(void *p)
{
    tbuf *t = p;
    pthread_mutex_lock(&list_lock);
    if (t->session != 0 && (t->session == reg_session || t->session == writing_session)) {
        t->orphaned = true;
    } else {
        unlink_ring(t);
        free(t);
    }
    pthread_mutex_unlock(&list_lock);
    tls_ring = NULL;
}

static void make_key(void) { (void)pthread_key_create(&ring_key, ring_destructor); }

static void own_name(char *buf, size_t size, pid_t tid)
{
    if (tid == getpid()) {
        snprintf(buf, size, "main");
        return;
    }
    char name[16] = "";
    (void)pthread_getname_np(pthread_self(), name, sizeof name);
    /* An unnamed thread carries the process's name (inherited from its creator). */
    if (!name[0] || strncmp(name, program_invocation_short_name, 15) == 0)
        snprintf(buf, size, "thread %d", (int)tid);
    else
        snprintf(buf, size, "%s", name);
}

/* The calling thread's ring for session s, set up (allocated the first time, or
 * when the size changed), or NULL: s has ended, or out of memory. */
static __attribute__((noinline)) tbuf *attach(uint32_t s)
{
    if (tls_failed == s)
        return NULL;
    pthread_once(&key_once, make_key);
    pid_t tid = gettid();
    char name[64];
    own_name(name, sizeof name, tid);
    pthread_mutex_lock(&list_lock);
    tbuf *t = tls_ring;
    if (reg_session != s) {
        pthread_mutex_unlock(&list_lock);
        return NULL;
    }
    if (t && t->mask + 1 != ring_events) { /* not in s: nobody reads it */
        unlink_ring(t);
        free(t);
        t = tls_ring = NULL;
    }
    if (!t) {
        t = aligned_alloc(WEFT_CACHE_LINE, sizeof *t + (size_t)ring_events * sizeof(tevent));
        if (!t) {
            tls_failed = s;
            pthread_mutex_unlock(&list_lock);
            (void)pthread_setspecific(ring_key, NULL);
            return NULL;
        }
        memset(t, 0, sizeof *t);
        t->mask = ring_events - 1;
        t->next = rings;
        rings = t;
        tls_ring = t;
        (void)pthread_setspecific(ring_key, t);
    }
    t->session = s;
    t->orphaned = false;
    t->tid = tid;
    memcpy(t->name, name, sizeof name);
    atomic_store_explicit(&t->claim, 0, memory_order_relaxed);
    atomic_store_explicit(&t->head, 0, memory_order_relaxed);
    pthread_mutex_unlock(&list_lock);
    return t;
}

/* noinline: the fence (GCC's TSan refuses an inlined one). */
__attribute__((noinline)) void weft__trace_record(unsigned kind, uint64_t t0, uint64_t a, uint64_t b)
{
    uint32_t s = atomic_load_explicit(&weft__trace_session, memory_order_relaxed);
    if (s == 0)
        return;
    tbuf *t = tls_ring;
    if (!t || t->session != s) { /* t->session: written by this thread only */
        if (!(t = attach(s)))
            return;
    }
    uint64_t t1 = weft_time_now_ns();
    if (t0 == UINT64_MAX)
        t0 = t1;
    uint64_t j = atomic_load_explicit(&t->head, memory_order_relaxed); /* ours alone */
    tevent *e = &t->ev[j & t->mask];
    atomic_store_explicit(&t->claim, j + 1, memory_order_relaxed);
    /* Release: pairs with the writer's acquire fence (read_ring): a writer that read
     * any of the stores below sees the claim, and discards the slot. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->t0, t0, memory_order_relaxed);
    atomic_store_explicit(&e->t1, t1, memory_order_relaxed);
    atomic_store_explicit(&e->a, a, memory_order_relaxed);
    atomic_store_explicit(&e->b, b, memory_order_relaxed);
    atomic_store_explicit(&e->kind, kind, memory_order_relaxed);
    /* Release: pairs with read_ring's acquire load of head, so the slot is whole. */
    atomic_store_explicit(&t->head, j + 1, memory_order_release);
}

void weft__trace_job_open(weft__trace_job_span *s, void *job, void *execute)
{
    s->t0 = weft__trace_begin();
    s->fn = (uint64_t)(uintptr_t)execute;
    s->link = (uint64_t)(uintptr_t)job;
    s->job = job;
    s->named = s->closed = false;
    s->up = tls_job;
    tls_job = s;
}

void weft__trace_job_close(weft__trace_job_span *s)
{
    tls_job = s->up;
    if (!s->closed)
        weft__trace_end(WEFT__TRACE_JOB, s->t0, s->fn, s->link);
}

/* Only the span of `job` itself: a job run some other way (inline) has none. */
void weft__trace_job_done_slow(const void *job)
{
    weft__trace_job_span *s = tls_job;
    if (s && s->job == job && !s->closed) {
        s->closed = true;
        weft__trace_end(WEFT__TRACE_JOB, s->t0, s->fn, s->link);
    }
}

/* A scope's address is at least 2-aligned: its low bit tags the link as a scope. */
void weft__trace_job_fn_slow(void *fn, const void *scope)
{
    weft__trace_job_span *s = tls_job;
    if (s && !s->named) {
        s->fn = (uint64_t)(uintptr_t)fn;
        if (scope)
            s->link = (uint64_t)(uintptr_t)scope | 1;
        s->named = true;
    }
}

/* ---------------------------------------------------------------- writing */

/* Function names, resolved at write time: a small direct-mapped cache of dladdr. */
#define NAME_CACHE 512
typedef struct name_entry {
    uint64_t addr;
    char *name;
} name_entry;

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *fn_name(name_entry *cache, uint64_t addr, char *tmp, size_t size)
{
    name_entry *e = &cache[(addr >> 4) % NAME_CACHE];
    if (e->name && e->addr == addr)
        return e->name;
    Dl_info info;
    if (dladdr((void *)(uintptr_t)addr, &info) && info.dli_sname && info.dli_saddr == (void *)(uintptr_t)addr) {
        snprintf(tmp, size, "%s", info.dli_sname);
    } else if (dladdr((void *)(uintptr_t)addr, &info) && info.dli_fname) {
        /* module+offset: `addr2line -f -e module offset` names it */
        const char *base = strrchr(info.dli_fname, '/');
        base = base ? base + 1 : info.dli_fname;
        snprintf(tmp, size, "%s+0x%llx", *base ? base : "?",
                 (unsigned long long)(addr - (uint64_t)(uintptr_t)info.dli_fbase));
    } else {
        snprintf(tmp, size, "0x%llx", (unsigned long long)addr);
    }
    char *copy = strdup(tmp);
    if (!copy)
        return tmp;
    free(e->name);
    e->name = copy;
    e->addr = addr;
    return copy;
}

static const char *const kind_name[WEFT__TRACE_KINDS] = {
    [WEFT__TRACE_CHUNK] = "chunk",          [WEFT__TRACE_LOOP] = "par_for",
    [WEFT__TRACE_STEAL] = "steal",          [WEFT__TRACE_IDLE] = "idle",
    [WEFT__TRACE_SLEEP] = "sleep",          [WEFT__TRACE_WAKE] = "wake",
    [WEFT__TRACE_JOIN_WAIT] = "join wait",  [WEFT__TRACE_SCOPE_WAIT] = "scope wait",
    [WEFT__TRACE_POOL_CREATE] = "pool create", [WEFT__TRACE_POOL_DESTROY] = "pool destroy",
    [WEFT__TRACE_PARK] = "park",
};
static const char *const kind_cat[WEFT__TRACE_KINDS] = {
    [WEFT__TRACE_JOB] = "job",         [WEFT__TRACE_CHUNK] = "par",      [WEFT__TRACE_LOOP] = "par",
    [WEFT__TRACE_STEAL] = "sched",     [WEFT__TRACE_IDLE] = "sched",     [WEFT__TRACE_SLEEP] = "sched",
    [WEFT__TRACE_WAKE] = "sched",      [WEFT__TRACE_JOIN_WAIT] = "wait", [WEFT__TRACE_SCOPE_WAIT] = "wait",
    [WEFT__TRACE_POOL_CREATE] = "pool", [WEFT__TRACE_POOL_DESTROY] = "pool", [WEFT__TRACE_PARK] = "wait",
};

static void write_args(FILE *f, unsigned kind, uint64_t a, uint64_t b)
{
    unsigned long long A = a, B = b;
    switch (kind) {
    case WEFT__TRACE_JOB:
        fprintf(f, "{\"fn\":\"0x%llx\",\"%s\":\"0x%llx\"}", A, B & 1 ? "scope" : "job", B & ~1ull);
        break;
    case WEFT__TRACE_JOIN_WAIT: fprintf(f, "{\"job\":\"0x%llx\"}", A); break;
    case WEFT__TRACE_SCOPE_WAIT: fprintf(f, "{\"scope\":\"0x%llx\"}", A); break;
    case WEFT__TRACE_IDLE: fprintf(f, "{\"searches\":%llu}", A); break;
    case WEFT__TRACE_CHUNK:
    case WEFT__TRACE_LOOP: fprintf(f, "{\"begin\":%llu,\"end\":%llu}", A, B); break;
    case WEFT__TRACE_STEAL: fprintf(f, "{\"victim\":%llu}", A); break;
    case WEFT__TRACE_SLEEP: fprintf(f, "{\"woken\":%llu}", A); break;
    case WEFT__TRACE_WAKE: fprintf(f, "{\"worker\":%llu}", A); break;
    case WEFT__TRACE_POOL_CREATE:
    case WEFT__TRACE_POOL_DESTROY: fprintf(f, "{\"pool\":\"0x%llx\",\"threads\":%llu}", A, B); break;
    case WEFT__TRACE_PARK: fprintf(f, "{\"word\":\"0x%llx\"}", A); break;
    default: fputs("{}", f); break;
    }
}

/* An event as the writer copied it. */
typedef struct plain_event {
    uint64_t t0, t1, a, b;
    uint32_t kind;
} plain_event;

/* Copy ring t's events into buf (room for mask + 1) without waiting for its owner:
 * returns how many are whole, oldest first; *dropped gets how many were lost. */
static __attribute__((noinline)) size_t read_ring(tbuf *t, plain_event *buf, uint64_t *dropped)
{
    uint64_t n = t->mask + 1;
    /* Acquire: pairs with weft__trace_record's release store of head. */
    uint64_t h = atomic_load_explicit(&t->head, memory_order_acquire);
    uint64_t lo = h > n ? h - n : 0;
    for (uint64_t i = lo; i < h; i++) {
        tevent *e = &t->ev[i & t->mask];
        plain_event *p = &buf[i - lo];
        p->t0 = atomic_load_explicit(&e->t0, memory_order_relaxed);
        p->t1 = atomic_load_explicit(&e->t1, memory_order_relaxed);
        p->a = atomic_load_explicit(&e->a, memory_order_relaxed);
        p->b = atomic_load_explicit(&e->b, memory_order_relaxed);
        p->kind = atomic_load_explicit(&e->kind, memory_order_relaxed);
    }
    /* Acquire: pairs with weft__trace_record's release fence: if a slot we copied was
     * being overwritten, the claim of that write is seen here. */
    atomic_thread_fence(memory_order_acquire);
    uint64_t c = atomic_load_explicit(&t->claim, memory_order_relaxed);
    uint64_t valid_lo = c > n ? c - n : 0;
    size_t skip = valid_lo > lo ? (size_t)(valid_lo - lo) : 0;
    if (skip > h - lo)
        skip = (size_t)(h - lo);
    *dropped = lo + skip;
    memmove(buf, buf + skip, (size_t)(h - lo - skip) * sizeof *buf);
    return (size_t)(h - lo - skip);
}

static void write_us(FILE *f, uint64_t ns)
{
    fprintf(f, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

/* Write the rings of session s (under ctl_lock). 0 or -EIO; -ENOMEM leaves rings out. */
static int write_trace(FILE *f, tbuf **list, size_t count, uint64_t start_ns, unsigned events)
{
    int rc = 0;
    pid_t pid = getpid();
    name_entry *cache = calloc(NAME_CACHE, sizeof *cache);
    plain_event *buf = malloc((size_t)events * sizeof *buf);
    uint64_t total_dropped = 0;
    fprintf(f, "{\"traceEvents\":[\n");
    fprintf(f, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":", (int)pid,
            (int)pid);
    json_string(f, program_invocation_short_name);
    fprintf(f, "}}");
    for (size_t r = 0; r < count; r++) {
        tbuf *t = list[r];
        if (!buf || !cache || t->mask + 1 > events) {
            rc = rc ? rc : -ENOMEM;
            continue;
        }
        uint64_t dropped;
        size_t m = read_ring(t, buf, &dropped);
        total_dropped += dropped;
        fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":", (int)pid,
                (int)t->tid);
        json_string(f, t->name);
        fprintf(f, "}}");
        fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,\"tid\":%d,\"args\":{\"sort_index\":%zu}}",
                (int)pid, (int)t->tid, r);
        if (dropped)
            fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"dropped_events\",\"pid\":%d,\"tid\":%d,"
                       "\"args\":{\"dropped\":%llu}}",
                    (int)pid, (int)t->tid, (unsigned long long)dropped);
        for (size_t i = 0; i < m; i++) {
            plain_event *e = &buf[i];
            if (e->kind == 0 || e->kind >= WEFT__TRACE_KINDS || e->t1 < e->t0 || e->t1 < start_ns)
                continue;
            if (e->t0 < start_ns) /* begun before the trace: shown from its start (nesting kept) */
                e->t0 = start_ns;
            char tmp[256];
            const char *name = e->kind == WEFT__TRACE_JOB ? fn_name(cache, e->a, tmp, sizeof tmp) : kind_name[e->kind];
            bool instant = e->kind == WEFT__TRACE_WAKE;
            fprintf(f, ",\n{\"ph\":\"%s\",\"name\":", instant ? "i\",\"s\":\"t" : "X");
            json_string(f, name);
            fprintf(f, ",\"cat\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":", kind_cat[e->kind], (int)pid, (int)t->tid);
            write_us(f, e->t0 - start_ns);
            if (!instant) {
                fputs(",\"dur\":", f);
                write_us(f, e->t1 - e->t0);
            }
            fputs(",\"args\":", f);
            write_args(f, e->kind, e->a, e->b);
            fputc('}', f);
        }
    }
    fprintf(f, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"events_per_thread\":%u,"
               "\"dropped_events\":%llu}}\n",
            events, (unsigned long long)total_dropped);
    if (cache)
        for (size_t i = 0; i < NAME_CACHE; i++)
            free(cache[i].name);
    free(cache);
    free(buf);
    if (ferror(f))
        rc = -EIO;
    return rc;
}

/* ---------------------------------------------------------------- start and stop */

static unsigned env_events(void)
{
    const char *v = getenv("WEFT_TRACE_EVENTS");
    if (!v)
        return DEFAULT_EVENTS;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || errno || n < MIN_EVENTS || n > MAX_EVENTS) {
        fprintf(stderr, "weft: ignoring WEFT_TRACE_EVENTS=\"%s\" (expected an integer from %u to %u); using %u\n",
                v, MIN_EVENTS, MAX_EVENTS, DEFAULT_EVENTS);
        return DEFAULT_EVENTS;
    }
    unsigned p = MIN_EVENTS;
    while (p < n)
        p <<= 1;
    return p;
}

static void stop_at_exit(void)
{
    int rc = weft_trace_stop();
    if (rc != 0 && rc != -EINVAL)
        fprintf(stderr, "weft: writing the trace failed: %s\n", weft_strerror(rc));
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&ctl_lock);
    pthread_mutex_lock(&list_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&list_lock);
    pthread_mutex_unlock(&ctl_lock);
}

/* The child does not trace (its parent writes the file): the other threads' rings are
 * ownerless here, so they go. Relaxed: no other thread exists. */
static void atfork_child(void)
{
    atomic_store_explicit(&weft__trace_session, 0, memory_order_relaxed);
    active = false;
    out = NULL; /* the parent's stream: not ours to flush or close */
    reg_session = writing_session = 0;
    for (tbuf **p = &rings; *p;) {
        tbuf *t = *p;
        if (t != tls_ring) {
            *p = t->next;
            free(t);
        } else {
            p = &t->next;
        }
    }
    pthread_mutex_unlock(&list_lock);
    pthread_mutex_unlock(&ctl_lock);
}

static void register_once(void)
{
    atexit(stop_at_exit);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int weft_trace_start(const char *path)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!path || !*path)
        return -EINVAL;
    if (!WEFT__TRACE_POINTS) /* nothing would record */
        return -ENOTSUP;
    pthread_once(&once, register_once);
    pthread_mutex_lock(&ctl_lock);
    if (active) {
        pthread_mutex_unlock(&ctl_lock);
        return -EBUSY;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        pthread_mutex_unlock(&ctl_lock);
        return e == ENOMEM ? -ENOMEM : -EIO;
    }
    unsigned events = env_events();
    uint32_t s = ++last_session;
    if (s == 0)
        s = last_session = 1;
    out = f;
    active = true;
    session_start_ns = weft_time_now_ns();
    pthread_mutex_lock(&list_lock);
    reg_session = s;
    ring_events = events;
    pthread_mutex_unlock(&list_lock);
    atomic_store_explicit(&weft__trace_session, s, memory_order_relaxed);
    pthread_mutex_unlock(&ctl_lock);
    return 0;
}

int weft_trace_stop(void)
{
    pthread_mutex_lock(&ctl_lock);
    if (!active) {
        pthread_mutex_unlock(&ctl_lock);
        return -EINVAL;
    }
    uint32_t s = atomic_load_explicit(&weft__trace_session, memory_order_relaxed);
    atomic_store_explicit(&weft__trace_session, 0, memory_order_relaxed);
    pthread_mutex_lock(&list_lock);
    reg_session = 0;
    writing_session = s;
    unsigned events = ring_events;
    size_t count = 0;
    for (tbuf *t = rings; t; t = t->next)
        count += t->session == s;
    tbuf **list = malloc((count ? count : 1) * sizeof *list);
    size_t k = 0;
    if (list)
        for (tbuf *t = rings; t; t = t->next)
            if (t->session == s)
                list[k++] = t;
    pthread_mutex_unlock(&list_lock);

    int rc = write_trace(out, list, k, session_start_ns, events);
    if (!list)
        rc = -ENOMEM;
    if (fclose(out) != 0 && rc == 0)
        rc = -EIO;
    out = NULL;
    free(list);

    pthread_mutex_lock(&list_lock);
    for (tbuf **p = &rings; *p;) {
        tbuf *t = *p;
        if (t->session == s && t->orphaned) {
            *p = t->next;
            free(t);
        } else {
            p = &t->next;
        }
    }
    writing_session = 0;
    pthread_mutex_unlock(&list_lock);
    active = false;
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

/* WEFT_TRACE=path: trace the whole run, from the library's load to exit. */
__attribute__((constructor)) static void trace_from_env(void)
{
    const char *path = getenv("WEFT_TRACE");
    if (!path || !*path)
        return;
    int rc = weft_trace_start(path);
    if (rc != 0)
        fprintf(stderr, "weft: ignoring WEFT_TRACE=\"%s\": %s\n", path, weft_strerror(rc));
}
