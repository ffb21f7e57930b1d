/* test_find.c: Criterion suite for weft_par_find_first and weft_par_find_last: the
 * answer equals a serial search's for a match at every kind of position (first,
 * second, middle, last index, several matches, none), on pools of 1, 2, 3, 8 threads
 * and from the main thread, adaptive and with grains; sub-ranges above a known match
 * are not searched; argument errors and a search function that answers outside its
 * range. No timing is asserted. */
#include "loops_testlib.h"

#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct search {
    size_t lo, hi;
    const bool *match; /* index i matches when match[i - lo] */
    unsigned spin;
    _Atomic size_t searched; /* indices tested */
} search;

static size_t find_up(void *ctx, size_t b, size_t e)
{
    search *s = ctx;
    if (b >= e || b < s->lo || e > s->hi)
        abort();
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&s->searched, 1, memory_order_relaxed);
        loops_spin(s->spin);
        if (s->match[i - s->lo])
            return i;
    }
    return WEFT_NOT_FOUND;
}

static size_t find_down(void *ctx, size_t b, size_t e)
{
    search *s = ctx;
    if (b >= e || b < s->lo || e > s->hi)
        abort();
    for (size_t i = e; i-- > b;) {
        atomic_fetch_add_explicit(&s->searched, 1, memory_order_relaxed);
        loops_spin(s->spin);
        if (s->match[i - s->lo])
            return i;
    }
    return WEFT_NOT_FOUND;
}

typedef struct case_run {
    search *s;
    size_t grain;
    size_t first, last;
    int rc_first, rc_last;
} case_run;

static void case_call(void *arg)
{
    case_run *c = arg;
    c->rc_first = weft_par_find_first(c->s->lo, c->s->hi, c->grain, find_up, c->s, &c->first);
    c->rc_last = weft_par_find_last(c->s->lo, c->s->hi, c->grain, find_down, c->s, &c->last);
}

enum { N = 4000 };

Test(find, matches_serial_search_at_every_position)
{
    bool *match = calloc(N, sizeof *match);
    cr_assert_not_null(match);
    /* -1: no match; -2: three matches; else one match at that index. */
    const long where[] = {-1, 0, 1, 2, 63, 64, N / 2, N - 2, N - 1, -2};
    const size_t grains[] = {0, 1, 5, 100, 3000, 10000};
    for (size_t t = 0; t < N_COUNTS; t++) {
        for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                size_t first = WEFT_NOT_FOUND, last = WEFT_NOT_FOUND, lo = 1000;
                for (size_t i = 0; i < N; i++)
                    match[i] = false;
                if (where[w] >= 0) {
                    match[where[w]] = true;
                    first = last = lo + (size_t)where[w];
                } else if (where[w] == -2) {
                    match[N / 3] = match[N / 2] = match[N / 3 * 2] = true;
                    first = lo + N / 3;
                    last = lo + N / 3 * 2;
                }
                search s = {lo, lo + N, match, (unsigned)(g % 2) * 300, 0};
                case_run c = {&s, grains[g], 0, 0, -1, -1};
                loops_run_on(loop_thread_counts[t], case_call, &c);
                cr_assert_eq(c.rc_first, 0);
                cr_assert_eq(c.rc_last, 0);
                cr_expect_eq(c.first, first, "threads %d, match %ld, grain %zu: first %zu, serial %zu",
                             loop_thread_counts[t], where[w], grains[g], c.first, first);
                cr_expect_eq(c.last, last, "threads %d, match %ld, grain %zu: last %zu, serial %zu",
                             loop_thread_counts[t], where[w], grains[g], c.last, last);
            }
        }
    }
    free(match);
}

/* On one worker with a grain the loop runs its chunks in order, so what is searched
 * is exactly the chunks up to the match's: the ones above it are skipped. */
static void skip_call(void *arg)
{
    case_run *c = arg;
    atomic_store(&c->s->searched, 0);
    c->rc_first = weft_par_find_first(c->s->lo, c->s->hi, c->grain, find_up, c->s, &c->first);
    size_t up = atomic_load(&c->s->searched);
    atomic_store(&c->s->searched, 0);
    c->rc_last = weft_par_find_last(c->s->lo, c->s->hi, c->grain, find_down, c->s, &c->last);
    size_t down = atomic_load(&c->s->searched);
    atomic_store(&c->s->searched, up * 1000000 + down); /* both, for the test */
}

Test(find, chunks_beyond_the_match_are_skipped)
{
    enum { BIG = 1000000 };
    bool *match = calloc(BIG, sizeof *match);
    cr_assert_not_null(match);
    match[100] = match[BIG - 101] = true;
    search s = {0, BIG, match, 0, 0};
    case_run c = {&s, 50, 0, 0, -1, -1};
    loops_run_on(1, skip_call, &c);
    cr_assert_eq(c.rc_first, 0);
    cr_assert_eq(c.rc_last, 0);
    cr_assert_eq(c.first, 100);
    cr_assert_eq(c.last, BIG - 101);
    size_t both = atomic_load(&s.searched), up = both / 1000000, down = both % 1000000;
    /* chunks are at most 2 x grain long: the match's chunk ends within 2 x grain */
    cr_expect(up <= 101 + 2 * 50, "find_first searched %zu indices", up);
    cr_expect(down <= 101 + 2 * 50, "find_last searched %zu indices", down);
    free(match);
}

Test(find, whole_range_near_size_max)
{
    bool match[8] = {false, false, false, true, false, true, false, false};
    search s = {SIZE_MAX - 8, SIZE_MAX, match, 0, 0};
    size_t at = 0;
    cr_assert_eq(weft_par_find_first(s.lo, s.hi, 0, find_up, &s, &at), 0);
    cr_assert_eq(at, SIZE_MAX - 5);
    cr_assert_eq(weft_par_find_last(s.lo, s.hi, 1, find_down, &s, &at), 0);
    cr_assert_eq(at, SIZE_MAX - 3);
}

static size_t answers_outside(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    (void)e;
    return b > 0 ? b - 1 : e;
}

Test(find, errors)
{
    bool match[4] = {false};
    search s = {0, 4, match, 0, 0};
    size_t at = 0;
    cr_assert_eq(weft_par_find_first(5, 4, 0, find_up, &s, &at), -EINVAL);
    cr_assert_eq(at, WEFT_NOT_FOUND);
    at = 0;
    cr_assert_eq(weft_par_find_last(0, 4, 0, NULL, &s, &at), -EINVAL);
    cr_assert_eq(at, WEFT_NOT_FOUND);
    cr_assert_eq(weft_par_find_first(0, 4, 0, find_up, &s, NULL), -EINVAL);
    cr_assert_eq(weft_par_find_last(0, 4, 0, find_down, &s, NULL), -EINVAL);
    /* empty: no call, not found */
    at = 0;
    cr_assert_eq(weft_par_find_first(7, 7, 0, find_up, &s, &at), 0);
    cr_assert_eq(at, WEFT_NOT_FOUND);
    /* a search function that answers outside its sub-range */
    cr_assert_eq(weft_par_find_first(10, 20, 0, answers_outside, NULL, &at), -ERANGE);
    cr_assert_eq(at, WEFT_NOT_FOUND);
    cr_assert_eq(weft_par_find_last(10, 20, 3, answers_outside, NULL, &at), -ERANGE);
    cr_assert_eq(at, WEFT_NOT_FOUND);
}
