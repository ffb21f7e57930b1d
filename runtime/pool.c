/* pool.c: pools and their workers — creation from config and environment, the
 * global pool (started on first use or by weft_pool_global_init), the worker loop
 * (run own work, steal, take injected work, sleep), the injector queue, destruction,
 * and counters.
 *
 * Invariants:
 *  - every worker struct is initialised before any worker thread starts, and freed
 *    only after every worker thread has been joined;
 *  - a pool is destroyed only once `pending` (heap jobs not yet finished) is 0, so
 *    no queued task is dropped; weft_pool_wait_idle waits for the same 0, and the
 *    last job to finish wakes every such waiter (`idle_waiters`);
 *  - a worker leaves its loop only when its terminate latch is set, which only
 *    weft_pool_destroy (or a failed create) does;
 *  - a worker takes no work before it has placed itself (worker_place: pinned under
 *    WEFT_PIN, its victims ordered), so a pinned pool runs every job on its place;
 *    creating a pool does not wait for that (nor for the machine's description): its
 *    callers work meanwhile;
 *  - the global pool is started once per process (a forked child starts its own):
 *    under global_lock, by the first weft_pool_global or weft_pool_global_init to
 *    take it, and never replaced or destroyed afterwards. */
#include "pool_internal.h"
#include "thread_internal.h"
#include "fork_internal.h"

#include <weft/trace.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Thread_local weft_worker *weft__current_worker __attribute__((tls_model("initial-exec")));

int weft_current_worker_index(void)
{
    return weft__current_worker ? (int)weft__current_worker->index : -1;
}

/* ---------------------------------------------------------------- environment */

/* Strict unsigned parse: digits only, in [lo, hi]. */
static bool parse_unsigned(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    if (!s || !*s)
        return false;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > hi)
            return false;
    }
    if (v < lo)
        return false;
    *out = (unsigned)v;
    return true;
}

static void warn_env(const char *name, const char *value, const char *expected, const char *fallback)
{
    fprintf(stderr, "weft: ignoring %s=\"%s\" (expected %s); using %s\n", name, value, expected, fallback);
}

static unsigned env_num_threads(unsigned fallback)
{
    const char *v = getenv("WEFT_NUM_THREADS");
    unsigned n;
    if (!v)
        return fallback;
    if (parse_unsigned(v, 1, WEFT_POOL_MAX_THREADS, &n))
        return n;
    warn_env("WEFT_NUM_THREADS", v, "an integer from 1 to 4096", "the number of allowed cores");
    return fallback;
}

static weft_pin_policy env_pin(void)
{
    const char *v = getenv("WEFT_PIN");
    if (!v)
        return WEFT_PIN_DEFAULT;
    if (strcmp(v, "none") == 0)
        return WEFT_PIN_NONE;
    if (strcmp(v, "core") == 0)
        return WEFT_PIN_CORE;
    if (strcmp(v, "pu") == 0)
        return WEFT_PIN_PU;
    warn_env("WEFT_PIN", v, "none, core or pu", "the default");
    return WEFT_PIN_DEFAULT;
}

static weft_wait_policy env_wait(void)
{
    const char *v = getenv("WEFT_WAIT_POLICY");
    if (!v)
        return WEFT_WAIT_DEFAULT;
    if (strcmp(v, "passive") == 0)
        return WEFT_WAIT_PASSIVE;
    if (strcmp(v, "active") == 0)
        return WEFT_WAIT_ACTIVE;
    warn_env("WEFT_WAIT_POLICY", v, "passive or active", "the default");
    return WEFT_WAIT_DEFAULT;
}

static bool env_stats(void)
{
    const char *v = getenv("WEFT_STATS");
    return v && strcmp(v, "1") == 0;
}

/* ---------------------------------------------------------------- stealing */

static weft_job *pop_injected(weft_pool *pool)
{
    /* Relaxed: a hint; the lock orders the queue itself. */
    if (atomic_load_explicit(&pool->injected, memory_order_relaxed) == 0)
        return NULL;
    weft_mutex_lock(&pool->inject_lock);
    weft_job *job = pool->inject_head;
    bool more = false;
    if (job) {
        pool->inject_head = job->next;
        more = pool->inject_head != NULL;
        if (!more)
            pool->inject_tail = NULL;
        atomic_fetch_sub_explicit(&pool->injected, 1, memory_order_relaxed);
    }
    weft_mutex_unlock(&pool->inject_lock);
    /* More left behind: ramp up, as a thief does. The injector skipped its wake-up if
     * we were searching, so leaving the search with work queued must pass it on. */
    if (more)
        weft__sleep_new_internal_jobs(pool);
    return job;
}

void weft__pool_inject(weft_pool *pool, weft_job *job)
{
    job->next = NULL;
    weft_mutex_lock(&pool->inject_lock);
    if (pool->inject_tail)
        pool->inject_tail->next = job;
    else
        pool->inject_head = job;
    pool->inject_tail = job;
    atomic_fetch_add_explicit(&pool->injected, 1, memory_order_relaxed);
    weft_mutex_unlock(&pool->inject_lock);
    weft__sleep_new_injected_jobs(pool); /* nobody else would run it: must not lose the wake */
}

/* Try to steal from victim: a job to run, or NULL (*retry set on a lost race).
 * A worker takes up to half the victim's public part (WEFT_DEQUE_STEAL_MAX at most,
 * and no more than its own ring holds without growing): it runs the oldest and
 * pushes the others on its own deque, public, as a spawner publishes its tasks — one
 * steal per batch instead of per job, where a spawner's tasks are small and many.
 * Published, not kept private: a job is never stuck behind a worker that runs a long
 * task or blocks outside weft, and other thieves balance coarse jobs as before. A
 * caller slot takes one job: its deque must be empty when its call returns. A victim
 * inside an isolated region gives one job: it cannot steal, so its region's jobs must
 * stay on its deque, where it pops them (a job taken with them could block on what
 * the region's owner does after the region). */
static weft_job *steal_from(weft_worker *w, weft_worker *victim, bool *retry)
{
    void *items[WEFT_DEQUE_STEAL_MAX];
    size_t max = 1, n = 0;
    if (!w->caller) {
        size_t room = weft__deque_room(&w->deque) + 1; /* one job runs now */
        max = room < WEFT_DEQUE_STEAL_MAX ? room : WEFT_DEQUE_STEAL_MAX;
    }
    uint64_t t0 = weft__trace_begin();
    /* one_if: the victim's isolation tag (one job from a victim in a region, above) */
    weft_steal_result r = weft__deque_steal_some(&victim->deque, items, max, &n, &victim->isolation);
    if (r == WEFT_STEAL_SUCCESS) {
        weft__trace_end(WEFT__TRACE_STEAL, t0, victim->index, 0);
        weft__counter_add(&w->stats.steals, n); /* counts jobs, as documented */
        if (n > 1) {
            /* Newest first, so that this worker pops them oldest first (spawn order,
             * which also walks a spawner's job blocks in the order they were
             * written). room: no push here needs the ring to grow, so none fails. */
            for (size_t i = n - 1; i >= 1; i--)
                (void)weft__deque_push(&w->deque, items[i]);
            weft__deque_publish(&w->deque);
            weft__sleep_new_injected_jobs(w->pool); /* as for a spawn: no wake-up lost */
        } else if (weft__deque_len_public(&victim->deque) > 0) { /* more left: ramp up */
            weft__sleep_new_internal_jobs(w->pool);
        }
        return items[0];
    }
    if (r == WEFT_STEAL_RETRY)
        *retry = true;
    return NULL;
}

/* One pass over the victims, nearest level first, random start within a level, then
 * the caller slots in use. */
static weft_job *steal(weft_worker *w)
{
    weft_pool *pool = w->pool;
    bool retry;
    do {
        retry = false;
        unsigned begin = 0;
        for (unsigned lvl = 0; lvl < w->num_levels; lvl++) {
            unsigned end = w->level_end[lvl], n = end - begin;
            unsigned start = n ? (unsigned)(weft__next_random(&w->rng) % n) : 0;
            for (unsigned k = 0; k < n; k++) {
                weft_job *job = steal_from(w, &pool->workers[w->victims[begin + (start + k) % n]], &retry);
                if (job)
                    return job;
            }
            begin = end;
        }
        /* Relaxed: which slots to look at is a hint; the steal itself synchronises. */
        for (uint32_t m = atomic_load_explicit(&pool->callers, memory_order_relaxed); m != 0; m &= m - 1) {
            weft_worker *victim = &pool->workers[pool->num_threads + (unsigned)__builtin_ctz(m)];
            weft_job *job = victim != w ? steal_from(w, victim, &retry) : NULL;
            if (job)
                return job;
        }
    } while (retry);
    weft__counter_inc(&w->stats.failed_steals);
    return NULL;
}

/* An isolated worker popped `foreign`, a job of another isolated region: pop past it
 * (and any more foreign jobs) to the first job of our region, put the foreign ones
 * back in their order, and return ours (or NULL if the deque holds none).
 * Why dig: a region nested in ours may leave jobs on top of this deque (a task it
 * spawned and did not join, a scope task it queued for an outer scope); stopping at
 * them would hide our own jobs below, and with no thief to take those our wait would
 * never end. The foreign jobs are held, linked through `next` (a job in a deque is in
 * no injector queue), only for the length of this call. */
static weft_job *dig_isolated(weft_worker *w, weft_job *foreign)
{
    weft_job *held = NULL, *job = foreign;
    do {
        job->next = held;
        held = job;
        job = weft__deque_pop(&w->deque);
    } while (job && job->isolation != w->isolation);
    while (held) { /* the last one popped (deepest) goes back first */
        weft_job *next = held->next;
        held->next = NULL;
        /* Cannot fail (we just made room), but if it did, the injector never fails. */
        if (weft__deque_push(&w->deque, held) != 0)
            weft__pool_inject(w->pool, held);
        held = next;
    }
    weft__deque_publish(&w->deque); /* not ours to run: let other workers steal them */
    weft__sleep_new_injected_jobs(w->pool);  /* and wake one to do it if nobody is searching */
    return job;
}

/* Any public deque items, workers' or caller slots'? The public parts only: private
 * items are their owners' to run or to share when asked (deque.md, sleep.md "Split
 * deques"). Relaxed loads: see weft__pool_work_visible. */
static bool deques_have_work(weft_pool *pool)
{
    for (unsigned i = 0; i < pool->num_threads; i++)
        if (weft__deque_len_public(&pool->workers[i].deque) > 0)
            return true;
    for (uint32_t m = atomic_load_explicit(&pool->callers, memory_order_relaxed); m != 0; m &= m - 1)
        if (weft__deque_len_public(&pool->workers[pool->num_threads + (unsigned)__builtin_ctz(m)].deque) > 0)
            return true;
    return false;
}

bool weft__pool_work_visible(weft_pool *pool)
{
    /* Relaxed: hints re-validated by actually taking the work; where a caller needs
     * them ordered (a sleeper's re-check, leaving the search) it fences first. */
    return atomic_load_explicit(&pool->injected, memory_order_relaxed) > 0 || deques_have_work(pool);
}

bool weft__pool_has_work(weft_worker *w)
{
    /* A broadcast call for us, isolated or benched: read after the sleeper's fence,
     * the other half of the broadcaster's (weft__sleep_new_worker_jobs). */
    if (!w->caller && weft__broadcast_pending(w))
        return true;
    /* An isolated worker takes only its own region's jobs from its own deque, and
     * nobody else pushes there: what is left in it is foreign (dig_isolated put it
     * back and published it for thieves), so only its latch (or a broadcast) may
     * wake it. Counting those jobs as work kept a waiter from ever sleeping (a busy
     * spin for as long as its region ran elsewhere). */
    if (w->isolation != 0)
        return false;
    /* Our own deque whole: its private part is ours to run. */
    if (weft__deque_len(&w->deque) > 0)
        return true;
    /* A benched worker takes nothing else; read after the sleeper's fence, so a
     * caller that gave its turn back before it is seen here (caller.c's fetch_and). */
    if (weft__worker_benched(w))
        return false;
    /* A caller slot never takes injected work (find_work). */
    return w->caller ? deques_have_work(w->pool) : weft__pool_work_visible(w->pool);
}

/* w's own work: a broadcast call for it first, then its own deque (respecting
 * isolation). Every worker makes its broadcast calls, benched or isolated: a broadcast
 * waits for each worker by name, so an isolated waiter that held its call back could
 * wait for ever on a broadcaster that waits for it (two isolated broadcasters on two
 * workers). The call runs in the worker's current isolation, as a job the waiting
 * code started (so inside an isolated region, its waits stay in the region). */
static inline weft_job *find_own_work(weft_worker *w)
{
    if (__builtin_expect(weft__broadcast_pending(w), 0) && !w->caller) {
        w->bcast_job.isolation = w->isolation; /* read by weft__worker_run_job, next */
        return &w->bcast_job;
    }
    weft_job *job = weft__deque_pop(&w->deque);
    if (job && w->isolation != 0 && job->isolation != w->isolation)
        /* Not ours to run inside this isolated region: look below it, and take
         * nothing from anyone else. */
        return dig_isolated(w, job);
    return job;
}

/* w's own work first (find_own_work), then other workers, then the injector. */
static weft_job *find_work(weft_worker *w)
{
    weft_job *job = find_own_work(w);
    if (job || w->isolation != 0 || weft__worker_benched(w))
        return job;
    job = steal(w);
    /* A caller slot takes no injected work: the injector holds other threads' tasks
     * (detached ones, scope tasks spawned from outside), which may block on what the
     * caller does after its call returns. A caller helps with the work of the pool's
     * jobs only, as oneTBB's external threads and libgomp's master do. */
    if (!job && !w->caller) {
        job = pop_injected(w->pool);
        if (job)
            weft__counter_inc(&w->stats.steals);
    }
    return job;
}

weft_job *weft__worker_find_work(weft_worker *w, bool own)
{
    return own ? find_own_work(w) : find_work(w);
}

/* A job run while tracing: a "job" span, named by the job's kind (weft__trace_job_fn)
 * or by its execute function. */
__attribute__((noinline, cold)) void weft__worker_execute_traced(weft_worker *w, weft_job *job)
{
    weft__trace_job_span span;
    weft__trace_job_open(&span, job, (void *)job->execute);
    job->execute(job, w);
    weft__trace_job_close(&span);
}

void weft__worker_run_job(weft_worker *w, weft_job *job)
{
    weft__worker_run_job_by(w, job, job->execute);
}

/* Idle: look for work until a job turns up, the latch is set or the deadline passes,
 * the sleep protocol deciding between looks whether to pause or sleep (sleep.c).
 * Returns the job, or NULL. */
static weft_job *idle(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns)
{
    weft_idle_state st;
    uint64_t entered = weft_time_now_ns();
    weft__sleep_start_looking(w, &st, entered);
    weft_job *job = NULL;
    uint64_t searches = 0; /* that found nothing: the trace's count of failed steals */
    for (;;) {
        if (weft__job_latch_probe(l))
            break;
        if ((job = find_work(w)) != NULL)
            break;
        searches++;
        uint64_t now = weft_time_now_ns();
        if (now >= deadline_ns)
            break;
        weft__sleep_no_work_found(w, &st, l, now, deadline_ns);
    }
    if (job)
        weft__sleep_work_found(w, &st);
    else
        weft__sleep_stop_looking(w, &st);
    weft__counter_add(&w->stats.idle_ns, weft_time_now_ns() - entered);
    /* From `entered`: a worker idle when the trace starts shows as idle from its start. */
    weft__trace_end_since(WEFT__TRACE_IDLE, entered, searches, 0);
    return job;
}

int weft__worker_wait_until(weft_worker *w, weft_job_latch *l, uint64_t deadline_ns)
{
    while (!weft__job_latch_probe(l)) {
        weft_job *job = find_work(w);
        if (!job)
            job = idle(w, l, deadline_ns);
        if (job)
            weft__worker_run_job(w, job);
        else if (!weft__job_latch_probe(l) && weft_deadline_passed(deadline_ns))
            return -ETIMEDOUT;
    }
    return 0;
}

int weft__pool_wait_latch(weft_job_latch *l, uint64_t deadline_ns)
{
    weft_worker *w = weft__current_worker;
    if (w)
        return weft__worker_wait_until(w, l, deadline_ns);
    return weft__job_latch_wait_external(l, deadline_ns);
}

static inline __attribute__((always_inline)) int pool_submit(weft_pool *pool, weft_job *job, bool fifo)
{
    weft_worker *w = weft__current_worker;
    if (w && w->pool == pool) {
        /* Stealable now, before the wake-up check. */
        if (fifo || !weft__deque_push_public(&w->deque, job)) {
            int rc = fifo ? weft__fifo_push(w, job) : weft__deque_push(&w->deque, job);
            if (rc != 0)
                return rc;
            weft__deque_publish(&w->deque);
        }
        weft__sleep_new_injected_jobs(pool);
        return 0;
    }
    weft__pool_inject(pool, job);
    return 0;
}

int weft__pool_submit(weft_pool *pool, weft_job *job) { return pool_submit(pool, job, false); }

int weft__pool_submit_fifo(weft_pool *pool, weft_job *job) { return pool_submit(pool, job, true); }

void weft__pool_pending_add(weft_pool *pool)
{
    /* Relaxed: the job is published after this by a release (push or injector lock). */
    atomic_fetch_add_explicit(&pool->pending, 1, memory_order_relaxed);
}

void weft__pool_pending_done(weft_pool *pool)
{
    /* seq_cst: the Dekker pair with wait_no_pending (increment idle_waiters, load
     * pending): either we see a waiter and wake it, or it sees our decrement. The
     * decrement also releases the job's writes to that load. */
    if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_seq_cst) == 1 &&
        atomic_load_explicit(&pool->idle_waiters, memory_order_seq_cst) != 0)
        weft_futex_wake(&pool->pending, WEFT_FUTEX_WAKE_ALL);
}

/* ---------------------------------------------------------------- workers */

/* At creation: every other worker in one level (a caller slot: every worker), in
 * index order; the worker orders its own list by closeness once it knows its place
 * (order_victims), so that creating a pool does not wait for hwloc. */
static int build_victims(weft_pool *pool, weft_worker *w)
{
    unsigned n = pool->num_threads, k = 0;
    w->num_levels = 0;
    w->victims = NULL;
    if (!w->caller && n == 1)
        return 0;
    if (!(w->victims = malloc(n * sizeof *w->victims)))
        return -ENOMEM;
    for (unsigned j = 0; j < n; j++)
        if (w->caller || j != w->index)
            w->victims[k++] = j;
    w->level_end[0] = k;
    w->num_levels = 1;
    return 0;
}

/* A victim entry while ordering: closeness above, worker index below. */
#define VICTIM_BITS 16
_Static_assert(WEFT_POOL_MAX_THREADS <= 1u << VICTIM_BITS, "a worker index fits below the closeness");

/* Order w's victims (a worker's, index order) by closeness, nearest first, in up to 4
 * levels. Runs on w's own thread before it takes work: nobody else reads w->victims.
 * Allocates nothing: each entry carries its closeness in its high bits meanwhile. */
static void order_victims(weft_pool *pool, weft_worker *w, unsigned base)
{
    unsigned n = pool->num_threads, k = n - 1;
    if (n == 1)
        return;
    weft_pin_policy pol = pool->pin == WEFT_PIN_PU ? WEFT_PIN_PU : WEFT_PIN_CORE;
    const weft_place *mine = weft__topology_place(&pool->topo, pol, base + w->index);
    for (unsigned i = 0; i < k; i++) {
        unsigned j = w->victims[i];
        unsigned c = weft__topology_closeness(mine, weft__topology_place(&pool->topo, pol, base + j));
        c = c < (1u << (32 - VICTIM_BITS)) ? c : (1u << (32 - VICTIM_BITS)) - 1;
        w->victims[i] = c << VICTIM_BITS | j;
    }
    /* insertion sort, descending closeness, index order on ties (n is small; runs once) */
    for (unsigned i = 1; i < k; i++) {
        unsigned v = w->victims[i], j = i;
        for (; j > 0 && w->victims[j - 1] >> VICTIM_BITS < v >> VICTIM_BITS; j--)
            w->victims[j] = w->victims[j - 1];
        w->victims[j] = v;
    }
    /* cut into levels of equal closeness; merge any beyond the 4th into the last */
    w->num_levels = 0;
    for (unsigned i = 0; i < k; i++) {
        bool new_level = i == 0 || w->victims[i] >> VICTIM_BITS != w->victims[i - 1] >> VICTIM_BITS;
        if (new_level && w->num_levels < 4)
            w->num_levels++;
        w->level_end[w->num_levels - 1] = i + 1;
    }
    for (unsigned i = 0; i < k; i++)
        w->victims[i] &= (1u << VICTIM_BITS) - 1;
}

/* A worker's first steps on its own thread, before it takes any work: load the
 * process's machine (or wait for the worker loading it), claim the pool's places
 * (the first of its workers to get here does), pin itself, order its victims. Until
 * then the pool runs on the workers that are ready and on its callers, so a first
 * parallel call does not wait for them. Without a machine: unpinned, one victim level. */
static void worker_place(weft_worker *w)
{
    weft_pool *pool = w->pool;
    if (pool->num_threads == 1 && pool->pin == WEFT_PIN_NONE)
        return; /* nothing to place, nobody to order */
    /* Wait until every worker thread is started: a load of hwloc (when sysfs cannot
     * describe the machine) opens its plugins, and a dlopen under way holds the dynamic loader's lock, which starting
     * a thread takes too (for its TLS); the creation of the pool would wait for it.
     * Acquire: pairs with the release store in pool_create (nothing to see; the store
     * only says the creator is done starting threads). */
    while (atomic_load_explicit(&pool->spawned, memory_order_acquire) == 0)
        weft_futex_wait(&pool->spawned, 0, WEFT_NO_DEADLINE);
    if (!weft__topology_load_shared())
        return;
    unsigned base = 0;
    if (pool->pin != WEFT_PIN_NONE) {
        base = weft__topology_claim_places(&pool->topo, pool->pin, pool->num_threads, &pool->places);
        const weft_place *place = weft__topology_place(&pool->topo, pool->pin, base + w->index);
        /* Noted before the worker first sleeps, or if it never does (busy, or starved
         * on a caller's CPU), so a caller benches the worker on its CPU. And noted
         * before the bind: the bind moves this thread onto its place, where a caller
         * under a real-time policy may run and never yield the CPU; noted after, the
         * note would never be made, and that caller would bench the other worker and
         * run every call alone. (If the bind fails, the notes are a wrong hint, which
         * is safe: a caller then benches a worker that can move.) */
        for (int cpu = weft__topology_next_cpu(&pool->topo, place, -1); cpu >= 0;
             cpu = weft__topology_next_cpu(&pool->topo, place, cpu))
            weft__worker_note_cpu(w, cpu);
        /* Relaxed: only picks who prints. */
        if (weft__topology_bind_current_thread(&pool->topo, place) != 0 &&
            atomic_exchange_explicit(&pool->pin_warned, 1, memory_order_relaxed) == 0) {
            fprintf(stderr, "weft: cannot pin workers (WEFT_PIN); running them unpinned\n");
        }
    }
    order_victims(pool, w, base);
}

static void *worker_main(void *arg)
{
    weft_worker *w = arg;
    weft_pool *pool = w->pool;
    weft__current_worker = w;
    worker_place(w);
    weft_futex_set_block_hook(weft__sleep_before_block, w);
    if (pool->on_start)
        pool->on_start(pool->hook_ctx, w->index);
    weft__worker_wait_until(w, &w->terminate, WEFT_NO_DEADLINE);
    if (pool->on_exit)
        pool->on_exit(pool->hook_ctx, w->index);
    struct timespec cpu;
    /* Read after pthread_join (weft_thread_join), which orders this store. */
    w->cpu_ns = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0
                    ? (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec
                    : 0;
    weft_futex_set_block_hook(NULL, NULL);
    weft__current_worker = NULL;
    return NULL;
}

static void free_workers(weft_pool *pool, unsigned initialised)
{
    for (unsigned i = 0; i < initialised; i++) {
        weft__deque_destroy(&pool->workers[i].deque);
        weft__block_cache_drain(&pool->workers[i]);
        free(pool->workers[i].victims);
    }
    weft__block_depot_drain(pool);
    free(pool->workers);
}

static void stop_workers(weft_pool *pool, unsigned started)
{
    for (unsigned i = 0; i < started; i++)
        weft__job_latch_set(&pool->workers[i].terminate);
    for (unsigned i = 0; i < started; i++)
        weft_thread_join(pool->workers[i].thread, NULL);
}

/* weft_pool_create, with WEFT_NUM_THREADS / WEFT_PIN / WEFT_WAIT_POLICY read only if
 * read_env. *resolved gets the configuration as resolved (once the arguments are
 * valid); on a failure to start the workers, *started says how many had started
 * (they were stopped again). */
/* The checks of a configuration that weft_pool_create and weft_pool_global_init
 * make before starting anything (a stack too small would fail each thread start). */
static bool config_valid(const weft_pool_config *c)
{
    return c->num_threads <= WEFT_POOL_MAX_THREADS && (unsigned)c->pin <= WEFT_PIN_PU &&
           (unsigned)c->wait <= WEFT_WAIT_ACTIVE &&
           (c->stack_size == 0 || c->stack_size >= (size_t)PTHREAD_STACK_MIN);
}

static int pool_create(const weft_pool_config *cfg, bool read_env, weft_pool **out, weft_pool_config *resolved,
                       unsigned *started_out)
{
    weft_pool_config c = WEFT_POOL_CONFIG_INIT;
    if (cfg)
        c = *cfg;
    *started_out = 0;
    if (!out || !config_valid(&c))
        return -EINVAL;
    weft__fork_handlers_register(); /* before place_lock is first taken */

    weft_pool *pool = aligned_alloc(WEFT_CACHE_LINE, sizeof *pool);
    if (!pool)
        return -ENOMEM;
    memset(pool, 0, sizeof *pool);
    weft__topology_probe(&pool->topo);
    unsigned n = c.num_threads ? c.num_threads
                 : read_env      ? env_num_threads(pool->topo.num_cores)
                                 : pool->topo.num_cores;
    if (c.pin == WEFT_PIN_DEFAULT && read_env)
        c.pin = env_pin();
    if (c.pin == WEFT_PIN_DEFAULT)
        c.pin = n <= pool->topo.num_cores ? WEFT_PIN_CORE : WEFT_PIN_NONE;
    if (!pool->topo.allowed)
        c.pin = WEFT_PIN_NONE;
    if (c.wait == WEFT_WAIT_DEFAULT && read_env)
        c.wait = env_wait();
    pool->num_threads = n;
    pool->pin = c.pin;
    if (c.pin != WEFT_PIN_NONE)
        weft__topology_claim_init(&pool->topo, &pool->places); /* the workers claim */
    c.num_threads = n;
    *resolved = c;
    pool->spin_ns = c.wait == WEFT_WAIT_PASSIVE ? 0 : c.wait == WEFT_WAIT_ACTIVE ? 5000000 : 50000;
    pool->sleep_heavy = n > 1 && weft__sleep_heavy_available(pool->spin_ns);
    pool->print_stats = env_stats();
    pool->hook_ctx = c.ctx;
    pool->on_start = c.on_start;
    pool->on_exit = c.on_exit;
    pool->on_task_error = c.on_task_error;
    weft_mutex_init(&pool->inject_lock);
    weft_mutex_init(&pool->bcast_lock);
    weft_mutex_init(&pool->block_depot_lock);

    int rc = -ENOMEM;
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    pool->num_cpus = cpus > 0 ? (unsigned)cpus : 1;
    pool->worker_on_cpu = calloc(pool->num_cpus, sizeof *pool->worker_on_cpu);
    if (!pool->worker_on_cpu)
        goto fail_topo;
    atomic_init(&pool->turns, (uint64_t)(n - 1) << 32); /* no caller yet: bench the last worker first */
    unsigned slots = n + WEFT_POOL_CALLER_SLOTS; /* the workers, then the caller slots */
    pool->workers = aligned_alloc(WEFT_CACHE_LINE, slots * sizeof *pool->workers);
    if (!pool->workers)
        goto fail_topo;
    memset(pool->workers, 0, slots * sizeof *pool->workers);
    unsigned inited = 0;
    for (; inited < slots; inited++) {
        weft_worker *w = &pool->workers[inited];
        w->pool = pool;
        w->idle = &pool->idle;
        w->index = inited;
        w->caller = inited >= n;
        w->rng = 0x9E3779B97F4A7C15ULL * (inited + 1) ^ (uint64_t)(uintptr_t)pool;
        atomic_init(&w->sleep_state, WORKER_AWAKE);
        w->bcast_job.execute = weft__broadcast_execute; /* isolation 0, no link */
        weft_mutex_init(&w->fifo_lock);
        weft__job_latch_init(&w->terminate, w);
        if ((rc = weft__deque_init(&w->deque, 256)) != 0)
            break;
        weft__deque_set_eager(&w->deque, n > 1); /* one thread: a caller benches the worker, so nobody steals */
        if ((rc = build_victims(pool, w)) != 0) {
            weft__deque_destroy(&w->deque);
            break;
        }
    }
    if (inited < slots)
        goto fail_workers;

    const char *prefix = c.name_prefix ? c.name_prefix : "weft";
    size_t start_size = 0;
    /* The workers start on the process's CPUs, so that they do not inherit the mask of
     * a creating thread pinned to one CPU (thread_internal.h says why); unknown CPUs
     * or no memory: the creator's mask is inherited. */
    cpu_set_t *start_set = weft__topology_cpu_set(pool->topo.allowed, &start_size);
    unsigned started = 0;
    for (; started < n; started++) {
        char name[WEFT_THREAD_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s-%u", prefix, started);
        if (c.thread_name) {
            c.thread_name(c.ctx, started, name, sizeof name);
            name[sizeof name - 1] = '\0';
        }
        weft_thread_options opts = WEFT_THREAD_OPTIONS_INIT;
        opts.name = name;
        opts.stack_size = c.stack_size;
        rc = weft__thread_spawn_on(&opts, start_set, start_size, worker_main, &pool->workers[started],
                                   &pool->workers[started].thread);
        if (rc != 0)
            break;
    }
    if (start_set)
        CPU_FREE(start_set);
    /* Release: pairs with worker_place's acquire load. */
    atomic_store_explicit(&pool->spawned, 1, memory_order_release);
    weft_futex_wake(&pool->spawned, WEFT_FUTEX_WAKE_ALL);
    if (started < n) {
        stop_workers(pool, started);
        *started_out = started;
        goto fail_workers;
    }
    *out = pool;
    return 0;

fail_workers:
    free_workers(pool, inited);
fail_topo:
    free(pool->worker_on_cpu);
    weft__topology_release_places(&pool->places);
    weft__topology_free(&pool->topo);
    free(pool);
    return rc;
}

int weft_pool_create(const weft_pool_config *cfg, weft_pool **out)
{
    weft_pool_config resolved;
    unsigned started;
    uint64_t t0 = weft__trace_begin();
    int rc = pool_create(cfg, true, out, &resolved, &started);
    if (rc == 0)
        weft__trace_end(WEFT__TRACE_POOL_CREATE, t0, (uint64_t)(uintptr_t)*out, (*out)->num_threads);
    return rc;
}

/* ---------------------------------------------------------------- global pool */

/* The global pool, from cfg (NULL: defaults) and the environment, makes do with the
 * workers it can start: if only k of its worker threads could be started (a thread
 * limit), it warns once and starts again with k, with the configuration the first
 * attempt resolved (the environment is not read again: no second warning about a bad
 * value). */
static int global_pool_create(const weft_pool_config *cfg, weft_pool **out)
{
    weft_pool_config c = WEFT_POOL_CONFIG_INIT;
    unsigned started;
    int rc = pool_create(cfg, true, out, &c, &started);
    for (bool warned = false; rc != 0 && started > 0; warned = true) {
        if (!warned)
            fprintf(stderr, "weft: could start only %u of %u worker threads for the global pool (%s); running with %u\n",
                    started, c.num_threads, weft_strerror(rc), started);
        c.num_threads = started; /* fewer each round: this loop ends */
        rc = pool_create(&c, false, out, &c, &started);
    }
    return rc;
}

static weft_mutex global_lock = WEFT_MUTEX_INIT;
static weft_pool *_Atomic global_pool;
/* In a child process: the global pool copied from the parent, unusable (its workers
 * did not come along) and never freed (its state is whatever the parent's threads
 * left mid-way), kept reachable so that leak checkers do not report it. The next
 * global pool takes it over in its forked_from, which chains older generations. */
static weft_pool *forsaken_pool;

/* Under global_lock, with no global pool: start it from cfg and publish it. Whoever
 * takes the lock first starts the pool (a first use or a global_init); the others
 * find it. */
static int global_start_locked(const weft_pool_config *cfg, weft_pool **out)
{
    weft_pool *p;
    uint64_t t0 = weft__trace_begin();
    int rc = global_pool_create(cfg, &p);
    if (rc != 0)
        return rc;
    weft__trace_end(WEFT__TRACE_POOL_CREATE, t0, (uint64_t)(uintptr_t)p, p->num_threads);
    p->forked_from = forsaken_pool;
    forsaken_pool = NULL;
    /* Release: pairs with the acquire loads of weft_pool_global and
     * weft_pool_wait_idle_timeout, so a thread that finds the pool sees its fields. */
    atomic_store_explicit(&global_pool, p, memory_order_release);
    *out = p;
    return 0;
}

int weft_pool_global(weft_pool **out)
{
    if (!out)
        return -EINVAL;
    /* Acquire: pairs with the release store in global_start_locked, so the pool's
     * fields are seen. */
    weft_pool *p = atomic_load_explicit(&global_pool, memory_order_acquire);
    if (p) {
        *out = p;
        return 0;
    }
    weft__fork_handlers_register(); /* before global_lock is first taken */
    weft_mutex_lock(&global_lock);
    p = atomic_load_explicit(&global_pool, memory_order_relaxed); /* under the lock */
    int rc = p ? 0 : global_start_locked(NULL, &p);
    weft_mutex_unlock(&global_lock);
    if (rc == 0)
        *out = p;
    return rc;
}

int weft_pool_global_init(const weft_pool_config *cfg)
{
    if (cfg && !config_valid(cfg))
        return -EINVAL;
    weft__fork_handlers_register(); /* before global_lock is first taken */
    weft_mutex_lock(&global_lock);
    weft_pool *p = atomic_load_explicit(&global_pool, memory_order_relaxed); /* under the lock */
    int rc = p ? -EBUSY : global_start_locked(cfg, &p);
    weft_mutex_unlock(&global_lock);
    return rc;
}

/* fork (fork.c): no global pool is being created while the lock is held. */
void weft__pool_atfork_prepare(void)
{
    weft_mutex_lock(&global_lock);
}

void weft__pool_atfork_parent(void)
{
    weft_mutex_unlock(&global_lock);
}

/* The child's only thread runs this: the global pool goes back to "not started" (a
 * fresh one starts on first use), and the forking thread is no worker here, even if
 * it was one of any pool in the parent. Relaxed: no other thread exists to see it. */
void weft__pool_atfork_child(void)
{
    weft_pool *old = atomic_load_explicit(&global_pool, memory_order_relaxed);
    if (old) {
        forsaken_pool = old; /* old->forked_from holds any older one */
        atomic_store_explicit(&global_pool, NULL, memory_order_relaxed);
    }
    weft_mutex_init(&global_lock); /* held by the parent's forking thread in prepare */
    weft__current_worker = NULL;
}

int weft_pool_num_threads(weft_pool *pool)
{
    int rc = weft__pool_resolve(pool, &pool);
    return rc != 0 ? rc : (int)pool->num_threads;
}

int weft_pool_stats(weft_pool *pool, unsigned index, weft_worker_stats *out)
{
    if (!out)
        return -EINVAL;
    int rc = weft__pool_resolve(pool, &pool);
    if (rc != 0)
        return rc;
    if (index >= pool->num_threads)
        return -EINVAL;
    weft_worker *w = &pool->workers[index];
    /* Relaxed: statistics. */
    out->jobs_run = atomic_load_explicit(&w->stats.jobs_run, memory_order_relaxed);
    out->steals = atomic_load_explicit(&w->stats.steals, memory_order_relaxed);
    out->failed_steals = atomic_load_explicit(&w->stats.failed_steals, memory_order_relaxed);
    out->sleeps = atomic_load_explicit(&w->stats.sleeps, memory_order_relaxed);
    out->wakeups = atomic_load_explicit(&w->stats.wakeups, memory_order_relaxed);
    return 0;
}

/* After the workers stopped: also their idle time (searching or asleep) and CPU time,
 * so that a run can tell time spent idle from time the OS did not run the worker. */
static void print_stats(weft_pool *pool)
{
    fprintf(stderr, "weft: pool of %u workers\n%8s %12s %10s %14s %10s %10s %10s %10s\n", pool->num_threads,
            "worker", "jobs_run", "steals", "failed_steals", "sleeps", "wakeups", "idle_ms", "cpu_ms");
    for (unsigned i = 0; i < pool->num_threads; i++) {
        weft_worker_stats s;
        weft_pool_stats(pool, i, &s);
        weft_worker *w = &pool->workers[i];
        /* Relaxed: a statistic, and the worker has stopped. */
        double idle_ms = (double)atomic_load_explicit(&w->stats.idle_ns, memory_order_relaxed) / 1e6;
        fprintf(stderr, "%8u %12llu %10llu %14llu %10llu %10llu %10.2f %10.2f\n", i, (unsigned long long)s.jobs_run,
                (unsigned long long)s.steals, (unsigned long long)s.failed_steals, (unsigned long long)s.sleeps,
                (unsigned long long)s.wakeups, idle_ms, (double)w->cpu_ns / 1e6);
    }
}

/* Wait until the pool's pending count is 0 (read at an instant after the call
 * began) or the deadline passes: 0 or -ETIMEDOUT. For destroy and wait_idle. */
static int wait_no_pending(weft_pool *pool, uint64_t deadline)
{
    /* seq_cst: our half of the Dekker pair with weft__pool_pending_done (decrement
     * pending, load idle_waiters): either the last finisher sees us counted and
     * wakes us, or our load of pending below sees its decrement. */
    atomic_fetch_add_explicit(&pool->idle_waiters, 1, memory_order_seq_cst);
    int rc = 0;
    uint32_t p;
    /* seq_cst loads: the other half of that pair. Every change of pending is a
     * read-modify-write, so reading 0 also acquires the writes of every job whose
     * decrement came before (the release sequences of pending_done's decrements). */
    while ((p = atomic_load_explicit(&pool->pending, memory_order_seq_cst)) != 0)
        if (weft_futex_wait(&pool->pending, p, deadline) == -ETIMEDOUT &&
            atomic_load_explicit(&pool->pending, memory_order_seq_cst) != 0) {
            rc = -ETIMEDOUT;
            break;
        }
    /* Relaxed: pairs with nothing; a finisher that still sees us counted only makes
     * one futex_wake that wakes nobody. */
    atomic_fetch_sub_explicit(&pool->idle_waiters, 1, memory_order_relaxed);
    return rc;
}

int weft_pool_wait_idle_timeout(weft_pool *pool, uint64_t timeout_ns)
{
    weft_worker *w = weft__current_worker;
    if (!pool) {
        if (w)
            return -EDEADLK; /* NULL means the caller's own pool */
        /* Acquire: pairs with the release store in global_start_locked. */
        pool = atomic_load_explicit(&global_pool, memory_order_acquire);
        if (!pool)
            return 0; /* never started: nothing can be pending */
    }
    if (w && w->pool == pool)
        return -EDEADLK; /* it would wait for the job it is running, or block a worker
                          * that the pending jobs may need */
    return wait_no_pending(pool, weft_deadline_after(timeout_ns));
}

int weft_pool_wait_idle(weft_pool *pool)
{
    return weft_pool_wait_idle_timeout(pool, WEFT_NO_DEADLINE);
}

int weft_pool_destroy_timeout(weft_pool *pool, uint64_t timeout_ns)
{
    if (!pool || pool == atomic_load_explicit(&global_pool, memory_order_relaxed))
        return -EINVAL;
    if (weft__current_worker && weft__current_worker->pool == pool)
        return -EDEADLK;
    uint64_t t0 = weft__trace_begin();
    if (wait_no_pending(pool, weft_deadline_after(timeout_ns)) != 0)
        return -ETIMEDOUT;
    stop_workers(pool, pool->num_threads);
    if (pool->print_stats)
        print_stats(pool);
    /* Acquire: pairs with job_latch.c's cross_release, the last touch of a thread of
     * another pool that woke one of ours. Such a wake-up is a few instructions and
     * one futex_wake: yield until it is over. */
    while (atomic_load_explicit(&pool->cross_wakers, memory_order_acquire) != 0)
        weft_thread_yield();
    free_workers(pool, pool->num_threads + WEFT_POOL_CALLER_SLOTS);
    free(pool->worker_on_cpu);
    weft__topology_release_places(&pool->places);
    weft__topology_free(&pool->topo);
    weft__trace_end(WEFT__TRACE_POOL_DESTROY, t0, (uint64_t)(uintptr_t)pool, pool->num_threads);
    free(pool);
    return 0;
}

int weft_pool_destroy(weft_pool *pool)
{
    return weft_pool_destroy_timeout(pool, WEFT_NO_DEADLINE);
}
