/* stress_schedule.c: the factoring schedule (dist/schedule.c) alone, no MPI run: for
 * many (n, ranks, grain) its chunks are in order, disjoint, cover [0, n) exactly, and
 * none is shorter than its floor (nor than grain, unless the whole range is) but the
 * last; the chunk count is what init said; chunk lengths never grow and none is over
 * the cap; the count stays near the cost model's (docs/design.md section 8). */
#include "check.h"
#include "dist_internal.h"

#include <math.h>

static void check_sched(size_t n, size_t ranks, size_t grain)
{
    weft__dist_sched s;
    weft__dist_sched_init(&s, n, ranks, grain);
    size_t at = 0, prev = SIZE_MAX;
    uint64_t k = 0;
    size_t b, e;
    while (weft__dist_sched_chunk(&s, k, &b, &e)) {
        CHECK(b == at && e > b && e <= n, "n %zu ranks %zu grain %zu: chunk %llu [%zu, %zu) at %zu", n, ranks,
              grain, (unsigned long long)k, b, e, at);
        size_t len = e - b;
        bool last = e == n;
        CHECK(last || len >= s.floor, "chunk %llu shorter than the floor %zu", (unsigned long long)k, s.floor);
        CHECK(!grain || n < grain || len >= grain, "n %zu grain %zu: chunk of %zu", n, grain, len);
        CHECK(last || len <= prev, "chunks grew: %zu after %zu", len, prev);
        CHECK(len <= s.cap || (last && len < s.cap + grain) || len == n, "chunk of %zu over the cap %zu", len, s.cap);
        prev = len;
        at = e;
        k++;
    }
    CHECK(at == n && k == s.chunks, "n %zu ranks %zu grain %zu: covered %zu in %llu chunks of %llu", n, ranks,
          grain, at, (unsigned long long)k, (unsigned long long)s.chunks);
    CHECK(!weft__dist_sched_chunk(&s, k + 1000, &b, &e), "a chunk past the end");
    /* Rounds at the cap until a quarter is left (3/4 of WEFT__DIST_FIRST), halving
     * rounds down to the floor (log2 of WEFT__DIST_TAIL over WEFT__DIST_FIRST), the
     * tail (2 x ranks), and a few for rounding. */
    double bound = (double)ranks * (WEFT__DIST_FIRST + log2((double)WEFT__DIST_TAIL / WEFT__DIST_FIRST) + 3) + 2;
    CHECK(grain > 1 || (double)s.chunks <= bound, "n %zu ranks %zu: %llu chunks > %.0f", n, ranks,
          (unsigned long long)s.chunks, bound);
}

int main(void)
{
    static const size_t ranks[] = {1, 2, 3, 7, 64, 1024};
    static const size_t grains[] = {0, 1, 2, 5, 64, 1000};
    for (size_t r = 0; r < sizeof ranks / sizeof ranks[0]; r++)
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            for (size_t n = 0; n < 600; n++)
                check_sched(n, ranks[r], grains[g]);
            for (size_t n = 1000; n < 100000000; n = n * 7 + 3)
                check_sched(n, ranks[r], grains[g]);
        }
    puts("stress_schedule: ok");
    return 0;
}
