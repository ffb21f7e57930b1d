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
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    for (uintptr_t i = 0; i < 10; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
    weft__deque_publish(&d);
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
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    void *out = NULL;
    for (uintptr_t i = 0; i < 8; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
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
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    void *out = NULL;
    for (uintptr_t i = 0; i < 3; i++)
        cr_assert_eq(weft__deque_push(&d, dq_item(i)), 0);
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

/* A pseudo-random mix of push, pop, steal and publish on one thread, checked against
 * a reference model: items [lo, hi) of `model`, the public ones [lo, sp), and the
 * pending split request. A push into an empty deque is public at once. */
Test(deque, interleaved_ops_match_a_model)
{
    enum { OPS = 200000 };
    uintptr_t *model = malloc(OPS * sizeof *model);
    cr_assert_not_null(model);
    size_t lo = 0, hi = 0, sp = 0;
    bool req = false;
    uintptr_t next = 0;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    weft_deque d;
    cr_assert_eq(weft__deque_init(&d, 16), 0);
    for (int op = 0; op < OPS; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        /* Phases that favour pushes, then pops, so the size swings up and down. */
        unsigned r = (unsigned)(rng % 100), push_pct = (op / 5000) % 2 ? 35 : 65;
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
            } else {
                uintptr_t want = model[--hi];
                if (hi >= sp) { /* private */
                    if (req && sp < hi)
                        sp += (hi - sp + 1) / 2, req = false;
                } else if (hi == lo) { /* the last public item, taken by CAS */
                    lo = sp = hi + 1;
                    hi = lo;
                } else { /* takes back the newer half of [lo, hi + 1) */
                    sp = hi + 1 - (hi + 1 - lo + 1) / 2;
                }
                if (p == NULL || dq_index(p) != want)
                    cr_assert_fail("op %d: pop gave %p, expected item %ju", op, p, (uintmax_t)want);
            }
        } else if (r < 95) {
            void *out = NULL;
            weft_steal_result res = weft__deque_steal(&d, &out);
            if (lo == sp) {
                cr_assert_eq(res, WEFT_STEAL_EMPTY);
                req = true;
            } else {
                cr_assert_eq(res, WEFT_STEAL_SUCCESS, "no race on one thread");
                if (dq_index(out) != model[lo])
                    cr_assert_fail("op %d: steal gave %p, expected item %ju", op, out, (uintmax_t)model[lo]);
                lo++;
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
