/* Criterion suite for the split work-stealing deque, single-threaded: LIFO pop, FIFO
 * steal, empty cases, private items, split requests and publish (and push_public,
 * both at once), growth across many
 * sizes, interleaved operations against a reference model of the public and private
 * parts, argument errors, and -ENOMEM on growth leaving the deque intact.
 * The concurrent behaviour is checked by stress_deque.c (which also runs under TSan). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deque_internal.h"

/* Items are small integers encoded as non-NULL pointers. */
static void *dq_item(uintptr_t i) { return (void *)(i + 1); }
static uintptr_t dq_index(void *p) { return (uintptr_t)p - 1; }

static size_t dq_capacity(weft_deque *d)
{
    return atomic_load_explicit(&d->buffer, memory_order_relaxed)->mask + 1;
}

/* d initialised with room for cap items, holding items 0..n-1 as pushed (the oldest
 * public, the rest private). */
static void dq_init_pushed(weft_deque *d, size_t cap, uintptr_t n)
{
    cr_assert_eq(weft__deque_init(d, cap), 0);
    for (uintptr_t i = 0; i < n; i++)
        cr_assert_eq(weft__deque_push(d, dq_item(i)), 0);
}

/* The same, all published. */
static void dq_init_published(weft_deque *d, size_t cap, uintptr_t n)
{
    dq_init_pushed(d, cap, n);
    weft__deque_publish(d);
}

Test(deque, init_rounds_capacity_up)
{
    weft_deque d;
    size_t asks[] = {0, 1, 15, 16, 17, 100, 1024, 1025};
    size_t gets[] = {16, 16, 16, 16, 32, 128, 1024, 2048};
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        cr_assert_eq(weft__deque_init(&d, asks[i]), 0);
        cr_assert_eq(dq_capacity(&d), gets[i], "asked %zu", asks[i]);
        cr_assert_eq(weft__deque_len(&d), 0);
        weft__deque_destroy(&d);
    }
}

Test(deque, init_errors)
{
    weft_deque d;
    cr_assert_eq(weft__deque_init(NULL, 16), -EINVAL);
    cr_assert_eq(weft__deque_init(&d, WEFT_DEQUE_MAX_CAPACITY + 1), -EINVAL);
    cr_assert_eq(weft__deque_init(&d, SIZE_MAX), -EINVAL);
    /* NULL arguments elsewhere are harmless. */
    weft__deque_destroy(NULL);
    cr_assert_eq(weft__deque_push(NULL, dq_item(0)), -EINVAL);
    cr_assert_null(weft__deque_pop(NULL));
    void *out = NULL;
    cr_assert_eq(weft__deque_steal(NULL, &out), WEFT_STEAL_EMPTY);
    cr_assert_eq(weft__deque_len(NULL), 0);
    cr_assert_eq(weft__deque_len_public(NULL), 0);
    weft__deque_publish(NULL);
    cr_assert_eq(weft__deque_init(&d, 0), 0);
    cr_assert_eq(weft__deque_push(&d, NULL), -EINVAL, "NULL is the empty marker");
    cr_assert_eq(weft__deque_push(&d, dq_item(0)), 0);
    cr_assert_eq(weft__deque_steal(&d, NULL), WEFT_STEAL_EMPTY);
    cr_assert_eq(weft__deque_len(&d), 1, "a failed call changes nothing");
    weft__deque_destroy(&d);
}

Test(deque, empty_pop_and_steal)
{
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    void *out = (void *)&d;
    for (int round = 0; round < 3; round++) {
        cr_assert_null(weft__deque_pop(&d));
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY);
        cr_assert_eq(out, (void *)&d, "out untouched unless SUCCESS");
        cr_assert_eq(weft__deque_len(&d), 0);
        /* Emptied both ways, the deque is empty again. */
        cr_assert_eq(weft__deque_push(&d, dq_item(1)), 0);
        cr_assert_eq(weft__deque_pop(&d), dq_item(1));
        cr_assert_eq(weft__deque_push(&d, dq_item(2)), 0);
        weft__deque_publish(&d);
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
        cr_assert_eq(out, dq_item(2));
        out = (void *)&d;
    }
    weft__deque_destroy(&d);
}

Test(deque, pop_is_lifo)
{
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    for (uintptr_t i = 0; i < 10; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
    cr_assert_eq(weft__deque_len(&d), 10);
    for (uintptr_t i = 10; i-- > 0;)
        cr_assert_eq(dq_index(weft__deque_pop(&d)), i);
    cr_assert_null(weft__deque_pop(&d));
    weft__deque_destroy(&d);
}

/* pop_if pops only the item it is given, from the private part and from the public
 * part (where a different item stays where it is, public), and answers a split
 * request as pop does. */
Test(deque, pop_if_takes_only_the_given_item)
{
    weft_deque d;
    void *out = NULL;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    cr_assert_not(weft__deque_pop_if(&d, dq_item(0)), "empty");
    for (uintptr_t i = 0; i < 4; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
    cr_assert_not(weft__deque_pop_if(&d, dq_item(2)), "2 is not last");
    cr_assert_eq(weft__deque_len(&d), 4, "nothing popped");
    cr_assert(weft__deque_pop_if(&d, dq_item(3)));
    cr_assert_eq(weft__deque_len(&d), 3);
    /* A request: the next pop_if shares half of what stays private, as pop would. */
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS); /* 0, public at once */
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY);   /* asks */
    cr_assert(weft__deque_pop_if(&d, dq_item(2)));
    cr_assert_eq(weft__deque_len_public(&d), 1, "1 was shared");
    /* Public part: a wrong item leaves the deque as it is; the right one is taken. */
    cr_assert_not(weft__deque_pop_if(&d, dq_item(7)));
    cr_assert_eq(weft__deque_len(&d), 1);
    cr_assert_eq(weft__deque_len_public(&d), 1);
    cr_assert(weft__deque_pop_if(&d, dq_item(1)));
    cr_assert_eq(weft__deque_len(&d), 0);
    cr_assert_not(weft__deque_pop_if(&d, dq_item(1)), "empty again");
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY);
    weft__deque_destroy(&d);
}

Test(deque, steal_is_fifo)
{
    weft_deque d;
    dq_init_published(&d, 16, 10);
    for (uintptr_t i = 0; i < 10; i++) {
        void *out = NULL;
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
        cr_assert_eq(dq_index(out), i);
        cr_assert_eq(weft__deque_len(&d), 9 - i);
    }
    void *out = NULL;
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY);
    weft__deque_destroy(&d);
}

/* Push n items, pop them all (checking order), for many n: growth across sizes,
 * including the exact power-of-two boundaries. */
Test(deque, growth_keeps_order)
{
    size_t sizes[] = {1, 15, 16, 17, 31, 32, 33, 1000, 4096, 4097, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        weft_deque d;
        cr_assert_eq(weft__deque_init(&d, 16), 0);
        for (uintptr_t i = 0; i < n; i++)
            cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
        cr_assert_eq(weft__deque_len(&d), n);
        cr_assert_geq(dq_capacity(&d), n);
        cr_assert_lt(dq_capacity(&d), 2 * n < 16 ? 17 : 2 * n, "doubling, not more");
        for (uintptr_t i = n; i-- > 0;) {
            void *p = weft__deque_pop(&d);
            if (dq_index(p) != i)
                cr_assert_fail("n=%zu: popped %p, expected item %ju", n, p, (uintmax_t)i);
        }
        cr_assert_null(weft__deque_pop(&d));
        weft__deque_destroy(&d);
    }
}

/* Growth while the live items wrap around the end of the buffer, and while top is
 * far from 0: half the items are stolen first, so [top, bottom) straddles the wrap. */
Test(deque, growth_with_wrapped_items)
{
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    uintptr_t next = 0, oldest = 0;
    for (int i = 0; i < 12; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(next++)), 0);
    weft__deque_publish(&d);
    for (int i = 0; i < 10; i++) {
        void *out = NULL;
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
        cr_assert_eq(dq_index(out), oldest++);
    }
    /* 2 items at slots 10, 11; push 40 more: wraps, then grows twice. */
    for (int i = 0; i < 40; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(next++)), 0);
    cr_assert_eq(dq_capacity(&d), 64);
    weft__deque_publish(&d);
    while (oldest < next) {
        void *out = NULL;
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
        cr_assert_eq(dq_index(out), oldest++);
    }
    cr_assert_eq(weft__deque_len(&d), 0);
    weft__deque_destroy(&d);
}

static int64_t dq_split(weft_deque *d) { return atomic_load_explicit(&d->split, memory_order_relaxed); }

/* The oldest item is public at once (a push into an empty public part shares it);
 * the rest are invisible to thieves; a failed steal asks for a split, which the next
 * push or pop answers by sharing the older half of the private part; publish shares
 * everything; a pop into the public part takes back its newer half. */
Test(deque, split_requests_and_publish)
{
    weft_deque d;
    dq_init_pushed(&d, 16, 8);
    void *out = NULL;
    cr_assert_eq(weft__deque_len(&d), 8, "len counts private items");
    cr_assert_eq(weft__deque_len_public(&d), 1, "the oldest item is public at once");
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(dq_index(out), 0);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY, "1..7 are private");
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY, "no answer without push/pop");
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 7); /* answers: shares [1, 4) of [1, 7) */
    cr_assert_eq(dq_split(&d), 4);
    cr_assert_eq(weft__deque_len_public(&d), 3);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(dq_index(out), 1);
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 6); /* private pops: 6, 5, 4 */
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 5);
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 4);
    cr_assert_eq(dq_split(&d), 4, "no request pending: split unchanged");
    /* Public [2, 4): the pop takes back [3, 4) and returns 3; 2 stays public. */
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 3);
    cr_assert_eq(dq_split(&d), 3);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(dq_index(out), 2);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY); /* request raised */
    cr_assert_eq(weft__deque_push(&d, dq_item(8)), 0); /* empty: public at once */
    cr_assert_eq(dq_split(&d), 4);
    cr_assert_eq(weft__deque_push(&d, dq_item(9)), 0); /* the request was answered */
    cr_assert_eq(dq_split(&d), 4, "9 stays private");
    weft__deque_publish(&d);
    cr_assert_eq(dq_split(&d), 5);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(dq_index(out), 8);
    /* The last public item goes to the pop through its CAS. */
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 9);
    cr_assert_null(weft__deque_pop(&d));
    cr_assert_eq(weft__deque_len(&d), 0);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY);
    weft__deque_destroy(&d);
}

/* push_public is a push and a publish in one: the item and every private item before
 * it are stealable at once, a pending split request is cleared (this share answers
 * it), and with no room in the ring it pushes nothing and returns false (the caller
 * then takes weft__deque_push, which grows the ring or finds room). */
Test(deque, push_public_shares_at_once)
{
    weft_deque d;
    dq_init_pushed(&d, 16, 3);
    void *out = NULL;
    cr_assert_eq(weft__deque_len_public(&d), 1, "only the oldest is public");
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_EMPTY); /* raises a request */
    cr_assert_neq(atomic_load_explicit(&d.splitreq, memory_order_relaxed), 0);
    cr_assert(weft__deque_push_public(&d, dq_item(3)));
    cr_assert_eq(atomic_load_explicit(&d.splitreq, memory_order_relaxed), 0, "answered");
    cr_assert_eq(dq_split(&d), 4);
    cr_assert_eq(weft__deque_len_public(&d), 3, "1, 2 and 3 are public");
    for (uintptr_t i = 1; i <= 3; i++) {
        cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
        cr_assert_eq(dq_index(out), i, "steals stay FIFO");
    }
    /* Room is judged by the last top the owner read (owner_limit), as the private
     * push's: false once the ring looks full, and the general push looks again. */
    uintptr_t next = 4;
    while (weft__deque_push_public(&d, dq_item(next)))
        next++;
    cr_assert_eq(weft__deque_len_public(&d), weft__deque_len(&d), "everything pushed is public");
    cr_assert_eq(weft__deque_push(&d, dq_item(next++)), 0);
    while (weft__deque_push_public(&d, dq_item(next)))
        next++;
    size_t cap = dq_capacity(&d);
    cr_assert_eq(weft__deque_len(&d), cap, "false when the ring is full");
    cr_assert_eq(weft__deque_len_public(&d), cap);
    cr_assert_eq(weft__deque_push(&d, dq_item(next)), 0, "the general push grows the ring");
    cr_assert_gt(dq_capacity(&d), cap);
    cr_assert(weft__deque_push_public(&d, dq_item(next + 1)), "room again after growth");
    for (uintptr_t i = next + 1; i >= 4; i--)
        cr_assert_eq(dq_index(weft__deque_pop(&d)), i, "pops stay LIFO");
    cr_assert_null(weft__deque_pop(&d));
    weft__deque_destroy(&d);
}

/* A steal of several items takes the oldest, in order, half the public part at most
 * (WEFT_DEQUE_STEAL_MAX at most, no more than asked, one while the owner's one_if word
 * is set); max 0 or a NULL count is WEFT_STEAL_EMPTY, writing nothing. */
Test(deque, steal_some_takes_the_older_half)
{
    weft_deque d;
    dq_init_published(&d, 64, 40);
    void *out[WEFT_DEQUE_STEAL_MAX] = {NULL};
    size_t n = 99;
    cr_assert_eq(weft__deque_steal_some(&d, out, 0, &n, NULL), WEFT_STEAL_EMPTY);
    cr_assert_eq(weft__deque_steal_some(&d, out, 4, NULL, NULL), WEFT_STEAL_EMPTY);
    cr_assert_eq(weft__deque_steal_some(NULL, out, 4, &n, NULL), WEFT_STEAL_EMPTY);
    cr_assert_eq(n, 99, "n untouched");
    cr_assert_eq(weft__deque_len_public(&d), 40);
    /* 40 public: half is 20, capped at WEFT_DEQUE_STEAL_MAX */
    cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, NULL), WEFT_STEAL_SUCCESS);
    cr_assert_eq(n, WEFT_DEQUE_STEAL_MAX);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(dq_index(out[i]), i, "oldest first");
    uint64_t one_if = 7; /* the owner's word, set: one item */
    cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, &one_if), WEFT_STEAL_SUCCESS);
    cr_assert_eq(n, 1, "one item while the owner's word is set");
    cr_assert_eq(dq_index(out[0]), 16);
    one_if = 0;
    cr_assert_eq(weft__deque_steal_some(&d, out, 3, &n, &one_if), WEFT_STEAL_SUCCESS); /* asked for 3 */
    cr_assert_eq(n, 3);
    cr_assert_eq(dq_index(out[0]), 17);
    cr_assert_eq(weft__deque_len_public(&d), 20);
    cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, NULL), WEFT_STEAL_SUCCESS);
    cr_assert_eq(n, 10, "half of 20");
    cr_assert_eq(dq_index(out[0]), 20);
    while (weft__deque_len_public(&d) > 1)
        cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, NULL), WEFT_STEAL_SUCCESS);
    cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, NULL), WEFT_STEAL_SUCCESS);
    cr_assert_eq(n, 1, "the last public item alone");
    cr_assert_eq(dq_index(out[0]), 39);
    cr_assert_eq(weft__deque_steal_some(&d, out, WEFT_DEQUE_STEAL_MAX, &n, NULL), WEFT_STEAL_EMPTY);
    weft__deque_destroy(&d);
}

/* With thieves taking several items per steal, a pop never takes back below what a
 * thief at top could take with the largest split it may have read (here 40, from the
 * first share: no fence of the owner has seen top move since). When that leaves
 * nothing to take back, the pop claims the public part with a CAS of top and puts
 * its older items back above it, in order, the oldest public again. */
Test(deque, pops_respect_a_thief_span_and_claim_the_rest)
{
    weft_deque d;
    dq_init_published(&d, 64, 40);
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 39); /* takes back [20, 40) */
    cr_assert_eq(dq_split(&d), 20);
    for (uintptr_t i = 38; i >= 20; i--)
        cr_assert_eq(dq_index(weft__deque_pop(&d)), i);
    /* Half of [0, 20) would be [10, 20), but a thief at 0 that read split 40 takes up
     * to 16 items: take back [16, 20) only. */
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 19);
    cr_assert_eq(dq_split(&d), 16);
    for (uintptr_t i = 18; i >= 16; i--)
        cr_assert_eq(dq_index(weft__deque_pop(&d)), i);
    /* [0, 16): every item is within a thief's reach: claim all, pop 15, move 0..14 to
     * indices 16..30, 0 public again. */
    cr_assert_eq(dq_index(weft__deque_pop(&d)), 15);
    cr_assert_eq(atomic_load_explicit(&d.top, memory_order_relaxed), 16);
    cr_assert_eq(dq_split(&d), 17);
    cr_assert_eq(weft__deque_len(&d), 15);
    cr_assert_eq(weft__deque_len_public(&d), 1);
    void *out = NULL;
    cr_assert_eq(weft__deque_steal(&d, &out), WEFT_STEAL_SUCCESS);
    cr_assert_eq(dq_index(out), 0, "the oldest stays the oldest");
    for (uintptr_t i = 14; i >= 1; i--)
        cr_assert_eq(dq_index(weft__deque_pop(&d)), i, "LIFO across the move");
    cr_assert_null(weft__deque_pop(&d));
    cr_assert_eq(weft__deque_len(&d), 0);
    weft__deque_destroy(&d);
}

/* A pseudo-random mix of push, pop, steal (of one item or several) and publish on one
 * thread, checked against a reference model indexed like the deque: items [lo, hi)
 * of `model`, the public ones [lo, sp), and the pending split request. A push into an
 * empty deque is public at once. A pop into the public part follows deque.md's rule:
 * take back the newer half, but not below what a thief at top could take with the
 * largest split it may have read (the model keeps the owner's fence windows: with no
 * other thread, the top a fence reads is lo); when that leaves nothing, claim the
 * public part (no fence) and move its older items above it. */
Test(deque, interleaved_ops_match_a_model)
{
    enum { OPS = 200000 };
    /* Claims move up to WEFT_DEQUE_STEAL_MAX items to new indices: room for that. */
    size_t cap = (size_t)OPS * (WEFT_DEQUE_STEAL_MAX + 1);
    uintptr_t *model = malloc(cap * sizeof *model);
    cr_assert_not_null(model);
    size_t lo = 0, hi = 0, sp = 0;
    int64_t fence_top = 0, split_hi = 0, split_hi_last = 0; /* the owner's windows */
    bool req = false;
    uintptr_t next = 0;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    size_t claims = 0, multi = 0;
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    for (int op = 0; op < OPS; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        /* Phases that favour pushes, then pops, so the size swings up and down. */
        unsigned r = (unsigned)(rng % 100), push_pct = (op / 5000) % 2 ? 35 : 65;
        cr_assert_lt(hi + WEFT_DEQUE_STEAL_MAX, cap);
        if (r < push_pct) {
            cr_assert_eq(weft__deque_push(&d, dq_item(next)), 0);
            model[hi++] = next++;
            if (sp == hi - 1 && lo == sp) /* into an empty deque: public at once */
                sp = hi, req = false;
            else if (req)
                sp += (hi - sp + 1) / 2, req = false;
        } else if (r < push_pct + (100 - push_pct) / 2) {
            void *p = weft__deque_pop(&d);
            if (lo == hi) {
                cr_assert_null(p);
            } else if (hi - 1 >= sp) { /* private */
                uintptr_t want = model[--hi];
                if (req && sp < hi)
                    sp += (hi - sp + 1) / 2, req = false;
                if (p == NULL || dq_index(p) != want)
                    cr_assert_fail("op %d: pop gave %p, expected item %ju", op, p, (uintmax_t)want);
            } else { /* public: s == sp == hi */
                int64_t s = (int64_t)hi, t = (int64_t)lo;
                uintptr_t want = model[s - 1];
                split_hi = split_hi > s ? split_hi : s;
                split_hi_last = split_hi_last > s ? split_hi_last : s;
                for (;;) {
                    int64_t reach = split_hi > t ? t + weft__deque_steal_span_(t, split_hi) : t;
                    if (reach >= s) { /* claim [t, s): s - 1 popped, t..s-2 moved to s.. */
                        claims++;
                        size_t b = (size_t)s;
                        for (size_t i = lo; i < (size_t)s - 1; i++)
                            model[b++] = model[i];
                        lo = sp = (size_t)s;
                        hi = b;
                        if (hi > sp) /* the oldest moved item public again */
                            sp++, req = false;
                        break;
                    }
                    int64_t ns = s - (s - t + 1) / 2;
                    ns = ns > reach ? ns : reach;
                    if (t > fence_top) /* the fence reads top == lo */
                        split_hi = split_hi_last;
                    fence_top = t;
                    split_hi_last = ns;
                    reach = split_hi > t ? t + weft__deque_steal_span_(t, split_hi) : t;
                    if (reach <= ns) { /* [ns, s) private again */
                        sp = (size_t)ns;
                        hi = (size_t)s - 1;
                        break;
                    }
                }
                if (p == NULL || dq_index(p) != want)
                    cr_assert_fail("op %d: pop gave %p, expected item %ju", op, p, (uintmax_t)want);
            }
        } else if (r < 95) {
            void *out[WEFT_DEQUE_STEAL_MAX];
            size_t max = 1 + (size_t)(rng >> 40) % WEFT_DEQUE_STEAL_MAX, n = 0;
            weft_steal_result res = weft__deque_steal_some(&d, out, max, &n, NULL);
            if (lo == sp) {
                cr_assert_eq(res, WEFT_STEAL_EMPTY);
                req = true;
            } else {
                cr_assert_eq(res, WEFT_STEAL_SUCCESS, "no race on one thread");
                size_t want_n = (size_t)weft__deque_steal_span_((int64_t)lo, (int64_t)sp);
                want_n = want_n < max ? want_n : max;
                if (n != want_n)
                    cr_assert_fail("op %d: steal took %zu items, expected %zu", op, n, want_n);
                multi += n > 1;
                for (size_t i = 0; i < n; i++)
                    if (dq_index(out[i]) != model[lo + i])
                        cr_assert_fail("op %d: steal gave %p, expected item %ju", op, out[i],
                                       (uintmax_t)model[lo + i]);
                lo += n;
            }
        } else {
            weft__deque_publish(&d);
            if (sp < hi)
                sp = hi, req = false;
        }
        if (weft__deque_len(&d) != hi - lo)
            cr_assert_fail("op %d: len %zu, model %zu", op, weft__deque_len(&d), hi - lo);
        if (weft__deque_len_public(&d) != sp - lo)
            cr_assert_fail("op %d: public len %zu, model %zu", op, weft__deque_len_public(&d), sp - lo);
        if (dq_split(&d) != (int64_t)sp)
            cr_assert_fail("op %d: split %jd, model %zu", op, (intmax_t)dq_split(&d), sp);
    }
    cr_assert_gt(claims, 100, "the claim path ran %zu times", claims);
    cr_assert_gt(multi, 100, "steals of several items: %zu", multi);
    weft__deque_destroy(&d);
    free(model);
}

/* -ENOMEM from a failed growth leaves the deque exactly as it was. The allocation is
 * made to fail by lowering RLIMIT_AS (Criterion runs each test in its own process);
 * AddressSanitizer reserves huge address ranges and aborts instead, so not there. */
#if defined(__SANITIZE_ADDRESS__)
#define DQ_NO_RLIMIT_TEST 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DQ_NO_RLIMIT_TEST 1
#endif
#endif

#ifndef DQ_NO_RLIMIT_TEST
static size_t dq_address_space_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    unsigned long pages = 0;
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

Test(deque, enomem_on_growth_leaves_deque_unchanged)
{
#ifdef DQ_NO_RLIMIT_TEST
    cr_skip_test("RLIMIT_AS cannot be lowered under AddressSanitizer");
#else
    enum { N = 1 << 20 }; /* fills an 8 MiB buffer exactly: the next push must grow */
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, N), 0);
    for (uintptr_t i = 0; i < N; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
    cr_assert_eq(dq_capacity(&d), N);

    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    struct rlimit low = old;
    low.rlim_cur = dq_address_space_bytes() + (2u << 20); /* 2 MiB of slack < 16 MiB */
    cr_assert_eq(setrlimit(RLIMIT_AS, &low), 0);
    int rc = weft__deque_push(&d, dq_item(N));
    int rc2 = weft__deque_push(&d, dq_item(N));
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);

    cr_assert_eq(rc, -ENOMEM);
    cr_assert_eq(rc2, -ENOMEM);
    cr_assert_eq(weft__deque_len(&d), N);
    cr_assert_eq(dq_capacity(&d), N);
    /* With memory back, growth works and the order is intact. */
    cr_assert_eq(weft__deque_push(&d, dq_item(N)), 0);
    for (uintptr_t i = N + 1; i-- > 0;) {
        void *p = weft__deque_pop(&d);
        if (dq_index(p) != i)
            cr_assert_fail("popped %p, expected item %ju", p, (uintmax_t)i);
    }
    cr_assert_null(weft__deque_pop(&d));
    weft__deque_destroy(&d);
#endif
}
