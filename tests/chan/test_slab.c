/* Criterion tests of the unbounded channel's slab allocator (chan/slab.c): a small
 * channel maps no slab; burst, drain, burst again leaves at most one slab mapped and
 * resident memory back near where it started (the trim); a steady backlog reuses its
 * freed blocks (maps no slab once built); other message sizes keep
 * their bytes, and blocks too big for a slab stay on malloc; the drop callback sees each
 * undelivered message once across slab blocks; several producers and consumers
 * racing over slab-backed blocks lose and duplicate nothing. The tallies are plain:
 * they are read after pthread_join. */
#include "chan_internal.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <weft/chan.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN 1
#endif

/* A burst this long spans several slabs and ends with most of its last slab carved,
 * so that slab's pages are resident whether or not transparent huge pages are on. */
#define BURST 1000000u

static void sl_open(weft_chan_options *opts, weft_sender **tx, weft_receiver **rx)
{
    cr_assert_eq(weft_chan_open(sizeof(size_t), WEFT_UNBOUNDED, opts, tx, rx), 0);
}

static void sl_send(weft_sender *tx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (weft_chan_send(tx, &i) != 0)
            cr_assert_fail("send %zu", i);
}

static void sl_recv(weft_receiver *rx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        size_t v;
        if (weft_chan_recv(rx, &v) != 0 || v != i)
            cr_assert_fail("recv: %zu, expected %zu", v, i);
    }
}

/* Resident bytes of this process (Criterion runs each test in its own process). */
static size_t sl_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    size_t size, resident;
    cr_assert_eq(fscanf(f, "%zu %zu", &size, &resident), 2);
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

Test(slab, small_channel_maps_none)
{
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(NULL, &tx, &rx);
    sl_send(tx, 0, 10000); /* about 100 KiB of blocks: below SLAB_AFTER_BYTES */
    cr_assert_eq(weft__chan_live_slabs(rx), 0);
    sl_recv(rx, 0, 10000);
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

Test(slab, burst_drain_burst)
{
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(NULL, &tx, &rx);
    for (size_t round = 0; round < 3; round++) {
        size_t base = round * BURST;
        sl_send(tx, base, base + BURST);
        cr_assert_geq(weft__chan_live_slabs(rx), 2, "%zu slabs", weft__chan_live_slabs(rx));
        sl_recv(rx, base, base + BURST);
        cr_assert_leq(weft__chan_live_slabs(rx), 1, "round %zu: %zu slabs", round, weft__chan_live_slabs(rx));
        cr_assert_leq(weft__chan_live_blocks(rx), 2, "round %zu: %zu blocks", round, weft__chan_live_blocks(rx));
    }
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

/* A steady backlog of a few slabs, cycling (a round of sends, then as many receives)
 * for many rounds, reuses the blocks it frees: once the backlog is built, no round
 * maps a slab. Fails when freed slab blocks are never carved again (each round then
 * carves ROUND_BLOCKS fresh blocks: a new 2 MiB slab every few rounds). */
#define BACKLOG 600000u /* ~19400 blocks: three slabs after the malloc'd first 256 KiB */
#define ROUND_BLOCKS 1000u
#define ROUNDS 100u

Test(slab, steady_backlog_reuses_blocks)
{
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(NULL, &tx, &rx);
    size_t sent = BACKLOG, received = 0, round = 31 * ROUND_BLOCKS, maps = 0;
    sl_send(tx, 0, sent);
    /* Two warm-up rounds: the first frees the malloc'd blocks, not slab ones. */
    for (size_t r = 0; r < ROUNDS + 2; r++) {
        if (r == 2) {
            maps = weft__chan_slab_maps(rx);
            cr_assert_geq(maps, 2, "%zu slabs for the backlog", maps);
        }
        sl_send(tx, sent, sent + round);
        sent += round;
        sl_recv(rx, received, received + round);
        received += round;
        if (r >= 2 && weft__chan_slab_maps(rx) != maps)
            cr_assert_fail("round %zu mapped %zu slabs (%zu before the rounds)", r - 2,
                           weft__chan_slab_maps(rx) - maps, maps);
    }
    sl_recv(rx, received, sent);
    cr_assert_leq(weft__chan_live_slabs(rx), 1, "%zu slabs after the drain", weft__chan_live_slabs(rx));
    cr_assert_leq(weft__chan_live_blocks(rx), 2, "%zu blocks after the drain", weft__chan_live_blocks(rx));
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

/* The slab left holding the last block after a drain gives back its other pages:
 * fails with TRIM_LIVE 0 (nearly 2 MiB stay resident). */
Test(slab, drained_memory_returns)
{
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(NULL, &tx, &rx);
    sl_send(tx, 0, 10); /* the channel's first block and its bookkeeping, before the baseline */
    sl_recv(rx, 0, 10);
    size_t before = sl_rss();
    sl_send(tx, 10, 10 + BURST);
    size_t peak = sl_rss();
    cr_assert_gt(peak, before + 8u * 1024 * 1024, "burst: %zu -> %zu bytes", before, peak);
    sl_recv(rx, 10, 10 + BURST);
    cr_assert_eq(weft__chan_live_slabs(rx), 1);
#ifndef SL_ASAN /* ASan's shadow and quarantine keep memory resident */
    size_t after = sl_rss();
    cr_assert_lt(after, before + 1024u * 1024, "resident %zu before the burst, %zu after", before,
                 after);
#endif
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

/* Messages of other sizes keep their bytes in slab blocks (ASan: a copy straying
 * into a block's padding or the next block hits poison); blocks too big for 64 to
 * fit a slab stay on malloc. */
static void sl_fill(unsigned char *m, size_t size, size_t i)
{
    for (size_t b = 0; b < size; b++)
        m[b] = (unsigned char)(i * 131 + b * 7 + 1);
}

Test(slab, message_sizes)
{
    static const struct {
        size_t size, n;
        bool slabs;
    } cases[] = {{13, 150000, true}, {1000, 5000, true}, {4000, 2000, false}};
    unsigned char in[4000], out[4000];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t size = cases[k].size, n = cases[k].n;
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(size, WEFT_UNBOUNDED, NULL, &tx, &rx), 0);
        for (size_t i = 0; i < n; i++) {
            sl_fill(in, size, i);
            cr_assert_eq(weft_chan_send(tx, in), 0);
        }
        cr_assert_eq(weft__chan_live_slabs(rx) > 0, cases[k].slabs, "%zu-byte messages: %zu slabs", size,
                     weft__chan_live_slabs(rx));
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(weft_chan_recv(rx, out), 0);
            sl_fill(in, size, i);
            if (memcmp(in, out, size) != 0)
                cr_assert_fail("%zu-byte message %zu changed", size, i);
        }
        cr_assert_leq(weft__chan_live_slabs(rx), 1);
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
}

/* ---- the drop callback: once per undelivered message, slab blocks included */
static void sl_drop(void *ctx, void *msg)
{
    unsigned char *seen = ctx;
    size_t v;
    memcpy(&v, msg, sizeof v);
    if (v < 2 * BURST)
        seen[v]++;
}

Test(slab, drop_once_per_undelivered)
{
    unsigned char *seen = calloc(2 * BURST, 1);
    cr_assert_not_null(seen);
    weft_chan_options opts = {sl_drop, seen};
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(&opts, &tx, &rx);
    /* Receive a part that frees whole slabs, keep the rest in slab blocks. */
    size_t received = BURST / 2 + 17, sent = 2 * BURST - 5;
    sl_send(tx, 0, sent);
    sl_recv(rx, 0, received);
    cr_assert_geq(weft__chan_live_slabs(rx), 2);
    weft_sender_close(tx);
    weft_receiver_close(rx);
    for (size_t v = 0; v < 2 * BURST; v++) {
        unsigned want = v >= received && v < sent;
        if (seen[v] != want)
            cr_assert_fail("message %zu dropped %u times, expected %u", v, seen[v], want);
    }
    free(seen);
}

/* ---- several producers and consumers across slab boundaries */
#define MP_PRODUCERS 4
#define MP_CONSUMERS 2
#define MP_PER_PRODUCER 300000u

typedef struct mp_prod {
    weft_sender *tx;
    size_t id;
} mp_prod;

typedef struct mp_cons {
    weft_receiver *rx;
    unsigned char *seen; /* per message: times received (by anyone) */
    size_t count;
    bool ok;
} mp_cons;

static void *mp_producer(void *p)
{
    mp_prod *a = p;
    for (size_t i = 0; i < MP_PER_PRODUCER; i++) {
        size_t v = a->id * MP_PER_PRODUCER + i;
        if (weft_chan_send(a->tx, &v) != 0)
            return (void *)1;
    }
    weft_sender_close(a->tx);
    return NULL;
}

static void *mp_consumer(void *p)
{
    mp_cons *a = p;
    size_t last[MP_PRODUCERS];
    memset(last, 0xff, sizeof last);
    size_t v;
    a->ok = true;
    while (weft_chan_recv(a->rx, &v) == 0) {
        size_t id = v / MP_PER_PRODUCER, seq = v % MP_PER_PRODUCER;
        if (id >= MP_PRODUCERS || (last[id] != SIZE_MAX && seq <= last[id]))
            a->ok = false; /* a stranger, or out of order within one producer */
        last[id] = seq;
        /* Atomic: a duplicate would make two consumers count the same byte. */
        __atomic_fetch_add(&a->seen[v], 1, __ATOMIC_RELAXED);
        a->count++;
    }
    return NULL;
}

Test(slab, producers_consumers_across_slabs)
{
    size_t total = MP_PRODUCERS * MP_PER_PRODUCER;
    unsigned char *seen = calloc(total, 1);
    cr_assert_not_null(seen);
    weft_sender *tx;
    weft_receiver *rx;
    sl_open(NULL, &tx, &rx);
    mp_prod pa[MP_PRODUCERS];
    mp_cons ca[MP_CONSUMERS];
    pthread_t pt[MP_PRODUCERS], ct[MP_CONSUMERS];
    for (size_t i = 0; i < MP_PRODUCERS; i++) {
        pa[i].id = i;
        if (i == 0)
            pa[i].tx = tx;
        else
            cr_assert_eq(weft_sender_clone(tx, &pa[i].tx), 0);
    }
    for (size_t i = 0; i < MP_CONSUMERS; i++) {
        ca[i] = (mp_cons){NULL, seen, 0, false};
        if (i == 0)
            ca[i].rx = rx;
        else
            cr_assert_eq(weft_receiver_clone(rx, &ca[i].rx), 0);
    }
    /* Producers race each other for blocks; consumers start once a backlog worth
     * several slabs is queued, then free blocks while producers allocate. */
    for (size_t i = 0; i < MP_PRODUCERS; i++)
        cr_assert_eq(pthread_create(&pt[i], NULL, mp_producer, &pa[i]), 0);
    while (weft_receiver_len(rx) < total / 3)
        sched_yield();
    cr_assert_geq(weft__chan_live_slabs(rx), 1);
    for (size_t i = 0; i < MP_CONSUMERS; i++)
        cr_assert_eq(pthread_create(&ct[i], NULL, mp_consumer, &ca[i]), 0);
    for (size_t i = 0; i < MP_PRODUCERS; i++) {
        void *r;
        pthread_join(pt[i], &r);
        cr_assert_null(r, "producer %zu: send failed", i);
    }
    size_t got = 0;
    for (size_t i = 0; i < MP_CONSUMERS; i++) {
        pthread_join(ct[i], NULL);
        cr_assert(ca[i].ok, "consumer %zu saw a stranger or a reordering", i);
        got += ca[i].count;
    }
    cr_assert_eq(got, total);
    for (size_t v = 0; v < total; v++)
        if (seen[v] != 1)
            cr_assert_fail("message %zu received %u times", v, seen[v]);
    cr_assert_leq(weft__chan_live_slabs(ca[0].rx), 1);
    for (size_t i = 0; i < MP_CONSUMERS; i++)
        weft_receiver_close(ca[i].rx);
    free(seen);
}
