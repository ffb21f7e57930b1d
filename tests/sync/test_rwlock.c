/* Criterion suite for weft_rwlock: argument errors, the static initialiser, many
 * readers at once, a writer excluding readers and writers, timeouts, a waiting
 * writer blocking new readers, unlock of a free lock, destroy of a held lock, the
 * reader-count limit, and waiters of a long-held lock sleeping instead of spinning. */
#include <criterion/criterion.h>
#include "lock_waiter.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <weft/sync.h>

#include "layout_internal.h"

#define MS 1000000ull
/* The reader-count limit of rwlock.c's state layout (bits 0..29; all ones means
 * write-locked). A white-box constant, used only to test -EAGAIN without taking a
 * billion read locks. */
#define RW_MAX_READERS ((1u << 30) - 2)

static void rw_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

/* Run one call on another thread; record its result and how long it took. */
typedef struct {
    int (*fn)(weft_rwlock *, uint64_t);
    weft_rwlock *l;
    uint64_t arg;
    int result;
    uint64_t elapsed_ns;
    bool unlock_after; /* release what it got (on its own thread) */
} rw_call;
static void *rw_call_thread(void *p)
{
    rw_call *c = p;
    uint64_t t0 = weft_time_now_ns();
    c->result = c->fn(c->l, c->arg);
    c->elapsed_ns = weft_time_now_ns() - t0;
    if (c->result == 0 && c->unlock_after)
        cr_assert_eq(weft_rwlock_unlock(c->l), 0);
    return NULL;
}
static rw_call rw_run(int (*fn)(weft_rwlock *, uint64_t), weft_rwlock *l, uint64_t arg)
{
    rw_call c = {fn, l, arg, 12345, 0, true};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, rw_call_thread, &c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    return c;
}
static int rw_read_try(weft_rwlock *l, uint64_t u) { (void)u; return weft_rwlock_try_read_lock(l); }
static int rw_write_try(weft_rwlock *l, uint64_t u) { (void)u; return weft_rwlock_try_write_lock(l); }
static int rw_write_block(weft_rwlock *l, uint64_t u) { (void)u; return weft_rwlock_write_lock(l); }
static int rw_read_block(weft_rwlock *l, uint64_t u) { (void)u; return weft_rwlock_read_lock(l); }

Test(rwlock, rejects_null)
{
    cr_assert_eq(weft_rwlock_init(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_destroy(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_read_lock(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_try_read_lock(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_read_lock_timeout(NULL, MS), -EINVAL);
    cr_assert_eq(weft_rwlock_write_lock(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_try_write_lock(NULL), -EINVAL);
    cr_assert_eq(weft_rwlock_write_lock_timeout(NULL, MS), -EINVAL);
    cr_assert_eq(weft_rwlock_unlock(NULL), -EINVAL);
}

Test(rwlock, static_initialiser_init_destroy_and_unlock_of_a_free_lock)
{
    weft_rwlock a = WEFT_RWLOCK_INIT, b;
    cr_assert_eq(weft_rwlock_init(&b), 0);
    cr_assert_eq(weft_rwlock_unlock(&a), -EPERM);
    cr_assert_eq(weft_rwlock_unlock(&b), -EPERM);
    cr_assert_eq(weft_rwlock_write_lock(&a), 0);
    cr_assert_eq(weft_rwlock_unlock(&a), 0);
    cr_assert_eq(weft_rwlock_unlock(&a), -EPERM);
    cr_assert_eq(weft_rwlock_read_lock(&b), 0);
    cr_assert_eq(weft_rwlock_unlock(&b), 0);
    cr_assert_eq(weft_rwlock_unlock(&b), -EPERM);
    cr_assert_eq(weft_rwlock_destroy(&a), 0);
    cr_assert_eq(weft_rwlock_destroy(&b), 0);
    cr_assert_eq(sizeof(weft_rwlock), 8);
}

Test(rwlock, destroy_of_a_held_lock_is_busy)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    cr_assert_eq(weft_rwlock_read_lock(&l), 0);
    cr_assert_eq(weft_rwlock_destroy(&l), -EBUSY);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_write_lock(&l), 0);
    cr_assert_eq(weft_rwlock_destroy(&l), -EBUSY);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

Test(rwlock, one_unlock_releases_reads_and_writes)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    cr_assert_eq(weft_rwlock_read_lock(&l), 0);
    cr_assert_eq(weft_rwlock_try_read_lock(&l), 0);
    cr_assert_eq(weft_rwlock_read_lock_timeout(&l, MS), 0);
    cr_assert_eq(weft_rwlock_try_write_lock(&l), -EBUSY);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_try_write_lock(&l), 0);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_write_lock_timeout(&l, MS), 0);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

/* Many readers at once: each takes the read lock and waits, still holding it, until
 * all have it. Would deadlock (test timeout) if readers excluded each other. */
typedef struct {
    weft_rwlock *l;
    _Atomic int inside;
    int n;
    int mode;
} rw_readers;
static void *rw_reader_meet(void *p)
{
    rw_readers *r = p;
    int e = r->mode == 0 ? weft_rwlock_read_lock(r->l)
          : r->mode == 1 ? weft_rwlock_read_lock_timeout(r->l, 10000 * MS)
                         : weft_rwlock_try_read_lock(r->l);
    cr_assert_eq(e, 0);
    atomic_fetch_add_explicit(&r->inside, 1, memory_order_relaxed);
    while (atomic_load_explicit(&r->inside, memory_order_relaxed) < r->n)
        rw_sleep_ms(1);
    cr_assert_eq(weft_rwlock_try_write_lock(r->l), -EBUSY);
    cr_assert_eq(weft_rwlock_unlock(r->l), 0);
    return NULL;
}

Test(rwlock, many_readers_hold_it_at_once)
{
    enum { N = 6 };
    weft_rwlock l = WEFT_RWLOCK_INIT;
    for (int mode = 0; mode < 3; mode++) {
        rw_readers r = {&l, 0, N, mode};
        pthread_t t[N];
        for (int i = 0; i < N; i++)
            cr_assert_eq(pthread_create(&t[i], NULL, rw_reader_meet, &r), 0);
        for (int i = 0; i < N; i++)
            cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(weft_rwlock_destroy(&l), 0);
    }
}

Test(rwlock, a_writer_excludes_readers_and_writers)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    cr_assert_eq(weft_rwlock_write_lock(&l), 0);
    cr_assert_eq(weft_rwlock_try_read_lock(&l), -EBUSY);
    cr_assert_eq(weft_rwlock_try_write_lock(&l), -EBUSY);
    cr_assert_eq(rw_run(rw_read_try, &l, 0).result, -EBUSY);
    cr_assert_eq(rw_run(rw_write_try, &l, 0).result, -EBUSY);
    rw_call c = rw_run(weft_rwlock_read_lock_timeout, &l, 30 * MS);
    cr_assert_eq(c.result, -ETIMEDOUT);
    cr_assert_geq(c.elapsed_ns, 30 * MS);
    c = rw_run(weft_rwlock_write_lock_timeout, &l, 30 * MS);
    cr_assert_eq(c.result, -ETIMEDOUT);
    cr_assert_geq(c.elapsed_ns, 30 * MS);
    cr_assert_eq(rw_run(weft_rwlock_read_lock_timeout, &l, 0).result, -ETIMEDOUT);
    cr_assert_eq(rw_run(weft_rwlock_write_lock_timeout, &l, 0).result, -ETIMEDOUT);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    /* The timed-out waiters left the lock usable and clean. */
    cr_assert_eq(rw_run(rw_read_try, &l, 0).result, 0);
    cr_assert_eq(rw_run(rw_write_try, &l, 0).result, 0);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

Test(rwlock, readers_exclude_a_writer_but_not_readers)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    cr_assert_eq(weft_rwlock_read_lock(&l), 0);
    cr_assert_eq(rw_run(rw_read_try, &l, 0).result, 0);
    cr_assert_eq(rw_run(rw_write_try, &l, 0).result, -EBUSY);
    rw_call c = rw_run(weft_rwlock_write_lock_timeout, &l, 30 * MS);
    cr_assert_eq(c.result, -ETIMEDOUT);
    cr_assert_geq(c.elapsed_ns, 30 * MS);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    /* The timed-out writer must not leave readers blocked behind it. */
    cr_assert_eq(weft_rwlock_try_read_lock(&l), 0);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

/* Blocking calls get the lock when the holder releases it. */
typedef struct {
    rw_call c;
    pthread_t t;
} rw_async;
static void rw_start(rw_async *a, int (*fn)(weft_rwlock *, uint64_t), weft_rwlock *l, uint64_t arg)
{
    a->c = (rw_call){fn, l, arg, 12345, 0, true};
    cr_assert_eq(pthread_create(&a->t, NULL, rw_call_thread, &a->c), 0);
}

Test(rwlock, blocked_callers_get_the_lock_on_release)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    int (*fns[])(weft_rwlock *, uint64_t) = {rw_read_block, rw_write_block, weft_rwlock_read_lock_timeout,
                                             weft_rwlock_write_lock_timeout};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        cr_assert_eq(weft_rwlock_write_lock(&l), 0);
        rw_async a;
        rw_start(&a, fns[i], &l, 10000 * MS);
        rw_sleep_ms(20);
        cr_assert_eq(weft_rwlock_unlock(&l), 0);
        cr_assert_eq(pthread_join(a.t, NULL), 0);
        cr_assert_eq(a.c.result, 0, "call %zu", i);
        cr_assert_eq(weft_rwlock_destroy(&l), 0);
    }
}

Test(rwlock, a_waiting_writer_blocks_new_readers)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    cr_assert_eq(weft_rwlock_read_lock(&l), 0);
    rw_async w;
    rw_start(&w, rw_write_block, &l, 0);
    /* Until the writer has announced itself, try_read_lock still succeeds; poll. */
    int r = 0;
    for (int i = 0; i < 10000; i++) {
        r = weft_rwlock_try_read_lock(&l);
        if (r != 0)
            break;
        cr_assert_eq(weft_rwlock_unlock(&l), 0);
        rw_sleep_ms(1);
    }
    cr_assert_eq(r, -EBUSY, "a waiting writer must turn new readers away");
    cr_assert_eq(rw_run(rw_read_try, &l, 0).result, -EBUSY);
    cr_assert_eq(rw_run(weft_rwlock_read_lock_timeout, &l, 20 * MS).result, -ETIMEDOUT);
    cr_assert_eq(weft_rwlock_try_write_lock(&l), -EBUSY);
    /* A blocking reader queues behind the writer and gets in after it. */
    rw_async rd;
    rw_start(&rd, rw_read_block, &l, 0);
    cr_assert_eq(weft_rwlock_unlock(&l), 0); /* the last reader: the writer goes first */
    cr_assert_eq(pthread_join(w.t, NULL), 0);
    cr_assert_eq(w.c.result, 0);
    cr_assert_eq(pthread_join(rd.t, NULL), 0);
    cr_assert_eq(rd.c.result, 0);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

Test(rwlock, too_many_readers_is_eagain)
{
    weft_rwlock l = WEFT_RWLOCK_INIT;
    /* White box (sync/layout_internal.h): pretend RW_MAX_READERS readers hold it. */
    atomic_store_explicit(&rwlock_of(&l)->state, RW_MAX_READERS, memory_order_relaxed);
    cr_assert_eq(weft_rwlock_try_read_lock(&l), -EAGAIN);
    cr_assert_eq(weft_rwlock_read_lock(&l), -EAGAIN);
    cr_assert_eq(weft_rwlock_read_lock_timeout(&l, MS), -EAGAIN);
    cr_assert_eq(weft_rwlock_try_write_lock(&l), -EBUSY);
    cr_assert_eq(weft_rwlock_unlock(&l), 0); /* one reader leaves: room for one */
    cr_assert_eq(weft_rwlock_try_read_lock(&l), 0);
    cr_assert_eq(weft_rwlock_try_read_lock(&l), -EAGAIN);
    atomic_store_explicit(&rwlock_of(&l)->state, 0, memory_order_relaxed);
}

/* The spins are bounded: while a holder keeps the lock for a long time, waiters (more
 * of them than the machine has CPUs) sleep instead of burning CPU. */
static int rw_read_waiter_lock(lock_waiter *w)
{
    return w->timed ? weft_rwlock_read_lock_timeout(w->lock_obj, 60000 * MS)
                    : weft_rwlock_read_lock(w->lock_obj);
}
static int rw_write_waiter_lock(lock_waiter *w)
{
    return w->timed ? weft_rwlock_write_lock_timeout(w->lock_obj, 60000 * MS)
                    : weft_rwlock_write_lock(w->lock_obj);
}
static int rw_waiter_unlock(lock_waiter *w) { return weft_rwlock_unlock(w->lock_obj); }
static lock_waiter rw_waiter(weft_rwlock *l, bool write)
{
    return (lock_waiter){.lock = write ? rw_write_waiter_lock : rw_read_waiter_lock,
                         .unlock = rw_waiter_unlock, .lock_obj = l};
}
enum { RW_HOLD_MS = 500 };

Test(rwlock, readers_waiting_on_a_long_held_write_lock_sleep_instead_of_spinning)
{
    enum { READERS = 4 };
    weft_rwlock l = WEFT_RWLOCK_INIT;
    _Atomic int started = 0;
    lock_waiter w[READERS];
    pthread_t t[READERS];
    cr_assert_eq(weft_rwlock_write_lock(&l), 0);
    lock_waiters_start(w, t, READERS, rw_waiter(&l, false), &started);
    rw_sleep_ms(RW_HOLD_MS);
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    LOCK_WAITERS_SLEPT(lock_waiters_join(w, t, READERS), RW_HOLD_MS);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}

Test(rwlock, a_writer_and_readers_waiting_on_a_long_read_hold_sleep_instead_of_spinning)
{
    enum { WRITERS = 2, READERS = 2 };
    weft_rwlock l = WEFT_RWLOCK_INIT;
    _Atomic int started_w = 0, started_r = 0;
    lock_waiter ww[WRITERS], wr[READERS];
    pthread_t tw[WRITERS], tr[READERS];
    cr_assert_eq(weft_rwlock_read_lock(&l), 0);
    uint64_t t0 = weft_time_now_ns();
    lock_waiters_start(ww, tw, WRITERS, rw_waiter(&l, true), &started_w);
    /* Once a writer waits, try_read_lock is turned away; until then it succeeds. */
    int r;
    while ((r = weft_rwlock_try_read_lock(&l)) == 0) {
        cr_assert_eq(weft_rwlock_unlock(&l), 0);
        rw_sleep_ms(1);
    }
    cr_assert_eq(r, -EBUSY);
    /* Readers arriving now queue behind the writers. */
    lock_waiters_start(wr, tr, READERS, rw_waiter(&l, false), &started_r);
    uint64_t held_ms = (weft_time_now_ns() - t0) / MS;
    if (held_ms < RW_HOLD_MS)
        rw_sleep_ms((long)(RW_HOLD_MS - held_ms));
    cr_assert_eq(weft_rwlock_unlock(&l), 0);
    LOCK_WAITERS_SLEPT(lock_waiters_join(ww, tw, WRITERS) + lock_waiters_join(wr, tr, READERS),
                       RW_HOLD_MS);
    cr_assert_eq(weft_rwlock_destroy(&l), 0);
}
