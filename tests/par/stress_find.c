/* stress_find.c: weft_par_find_first and weft_par_find_last under concurrency (also
 * under ThreadSanitizer): random ranges (empty, size 1, near SIZE_MAX), random sets of
 * matches (none, one, many) and random grains, on pools of 1, 2, 3, 8 threads and from
 * the main thread; every answer equals a serial search's, and every search function
 * is given a sub-range of [lo, hi). Indices cost a spin, so the loops go parallel and
 * thieves search while the caller finds its match. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <stdbool.h>
#include <string.h>

enum { MAXN = 3000 };

typedef struct search {
    size_t lo, hi;
    bool match[MAXN]; /* index lo + i matches */
    unsigned spin;
} search;

static size_t find_up(void *ctx, size_t b, size_t e)
{
    const search *s = ctx;
    CHECK(b < e && b >= s->lo && e <= s->hi, "searched [%zu, %zu) outside [%zu, %zu)", b, e, s->lo, s->hi);
    for (size_t i = b; i < e; i++) {
        loops_spin(s->spin);
        if (s->match[i - s->lo])
            return i;
    }
    return WEFT_NOT_FOUND;
}

static size_t find_down(void *ctx, size_t b, size_t e)
{
    const search *s = ctx;
    CHECK(b < e && b >= s->lo && e <= s->hi, "searched [%zu, %zu) outside [%zu, %zu)", b, e, s->lo, s->hi);
    for (size_t i = e; i-- > b;) {
        loops_spin(s->spin);
        if (s->match[i - s->lo])
            return i;
    }
    return WEFT_NOT_FOUND;
}

typedef struct scenario {
    uint64_t seed;
    int rounds;
    bool ok;
} scenario;

static search one; /* one search at a time: the scenario runs them in turn */

static void scenario_run(void *arg)
{
    scenario *sc = arg;
    for (int round = 0; round < sc->rounds; round++) {
        size_t n = round % 7 == 0 ? (size_t)(round % 2) : (size_t)(test_next_rand(&sc->seed) % MAXN);
        one.lo = round % 3 == 2 ? SIZE_MAX - n : (size_t)(test_next_rand(&sc->seed) % 1000000);
        one.hi = one.lo + n;
        one.spin = (unsigned)(test_next_rand(&sc->seed) % 3) * 100;
        memset(one.match, 0, sizeof one.match);
        size_t matches = round % 4 == 0 ? 0 : round % 4 == 1 ? 1 : (size_t)(test_next_rand(&sc->seed) % 8);
        for (size_t k = 0; k < matches && n > 0; k++)
            one.match[test_next_rand(&sc->seed) % n] = true;
        size_t first = WEFT_NOT_FOUND, last = WEFT_NOT_FOUND;
        for (size_t i = 0; i < n; i++) {
            if (one.match[i]) {
                if (first == WEFT_NOT_FOUND)
                    first = one.lo + i;
                last = one.lo + i;
            }
        }
        size_t grain = round % 3 == 0 ? 0 : (size_t)(test_next_rand(&sc->seed) % 100) + 1;
        size_t got = 0;
        CHECK(weft_par_find_first(one.lo, one.hi, grain, find_up, &one, &got) == 0, "find_first");
        CHECK(got == first, "find_first in [%zu, %zu) grain %zu: %zu, serial %zu", one.lo, one.hi, grain, got,
              first);
        CHECK(weft_par_find_last(one.lo, one.hi, grain, find_down, &one, &got) == 0, "find_last");
        CHECK(got == last, "find_last in [%zu, %zu) grain %zu: %zu, serial %zu", one.lo, one.hi, grain, got,
              last);
    }
    sc->ok = true;
}

int main(void)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        scenario sc = {0xf1d5eedu + t, (int)stress_iters(150), false};
        loops_run_on(loop_thread_counts[t], scenario_run, &sc);
        CHECK(sc.ok, "scenario did not finish");
    }
    printf("stress_find: ok\n");
    return 0;
}
