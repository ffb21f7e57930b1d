/* stress_loops.c: par/'s loops under concurrency (also under ThreadSanitizer):
 * random (lo, hi, grain) — empty, size 1, near SIZE_MAX — on pools of 1, 2, 3, 8
 * threads and from the main thread, each index counted exactly once with atomics and
 * every chunk within what an explicit grain promises;
 * nested par_for; early exit (status returned, no body after return); 2-D tiles;
 * reduce sums exact (also with the identity and the result one object) and the
 * deterministic double sum bit-identical across pools. */
#include "loops_testlib.h"

#include <weft/par.h>
#include <weft/runtime.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct scenario {
    uint64_t seed;
    int rounds;
    bool ok;
} scenario;

/* ---- coverage ---- */

enum { MAXN = 5000 };

typedef struct cover {
    size_t lo, hi, grain;
    unsigned spin;
    _Atomic uint32_t count[MAXN];
} cover;

static int cover_body(void *ctx, size_t b, size_t e)
{
    cover *c = ctx;
    CHECK(b < e && b >= c->lo && e <= c->hi, "bad chunk [%zu, %zu)", b, e);
    /* an explicit grain: [grain, 2 x grain), or the whole range if shorter */
    size_t n = c->hi - c->lo, len = e - b;
    CHECK(c->grain == 0 || (n < c->grain ? len == n : len >= c->grain && len / 2 < c->grain),
          "chunk of %zu, grain %zu, range %zu", len, c->grain, n);
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&c->count[i - c->lo], 1, memory_order_relaxed);
        loops_spin(c->spin);
    }
    return 0;
}

/* ---- nesting ---- */

typedef struct nest_row {
    cover *c;
    size_t row, width;
} nest_row;

static int nest_inner(void *ctx, size_t b, size_t e)
{
    nest_row *r = ctx;
    for (size_t j = b; j < e; j++)
        atomic_fetch_add_explicit(&r->c->count[r->row * r->width + j], 1, memory_order_relaxed);
    loops_spin(200);
    return 0;
}

static int nest_outer(void *ctx, size_t b, size_t e)
{
    cover *c = ctx;
    for (size_t i = b; i < e; i++) {
        nest_row r = {c, i, 50};
        CHECK(weft_par_for(0, 50, i % 3, nest_inner, &r) == 0, "inner loop failed");
    }
    return 0;
}

/* ---- early exit ---- */

typedef struct stopper {
    size_t stop_at;
    _Atomic uint64_t ran;
} stopper;

static int stopper_body(void *ctx, size_t b, size_t e)
{
    stopper *s = ctx;
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&s->ran, 1, memory_order_relaxed);
        loops_spin(50);
        if (i == s->stop_at)
            return 42;
    }
    return 0;
}

/* ---- 2-D ---- */

static int tile_body(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    cover *c = ctx; /* lo = 0, hi = rows * cols; width stored in spin */
    size_t cols = c->spin;
    for (size_t r = r0; r < r1; r++)
        for (size_t k = c0; k < c1; k++)
            atomic_fetch_add_explicit(&c->count[r * cols + k], 1, memory_order_relaxed);
    loops_spin(100);
    return 0;
}

/* ---- reduce ---- */

static int fold_u64(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    uint64_t s = *(uint64_t *)acc;
    for (size_t i = b; i < e; i++)
        s += (uint64_t)i ^ 0x5555;
    *(uint64_t *)acc = s;
    return 0;
}

static void combine_u64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static int fold_f64(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    double s = *(double *)acc;
    for (size_t i = b; i < e; i++)
        s += 1.0 / (double)(i + 1);
    *(double *)acc = s;
    return 0;
}

static void combine_f64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}


static void scenario_run(void *arg)
{
    scenario *sc = arg;
    cover *c = calloc(1, sizeof *c);
    CHECK(c != NULL, "out of memory");
    for (int round = 0; round < sc->rounds; round++) {
        /* coverage */
        size_t n = (round % 5 == 0) ? (size_t)(round % 2) : (size_t)(test_next_rand(&sc->seed) % MAXN);
        size_t lo = (round % 3 == 2) ? SIZE_MAX - n : (size_t)(test_next_rand(&sc->seed) % 1000000);
        if (round % 7 == 6) {
            lo = SIZE_MAX - 1000;
            n = 1000;
        }
        size_t grain = (round % 4 == 0) ? 0 : (size_t)(test_next_rand(&sc->seed) % 200);
        memset(c, 0, sizeof *c);
        c->lo = lo;
        c->hi = lo + n;
        c->grain = grain;
        c->spin = (round & 1) ? 100 : 0;
        CHECK(weft_par_for(lo, lo + n, grain, cover_body, c) == 0, "par_for failed");
        for (size_t i = 0; i < n; i++)
            CHECK(atomic_load_explicit(&c->count[i], memory_order_relaxed) == 1,
                  "lo %zu n %zu grain %zu: index %zu ran %u times", lo, n, grain, i,
                  (unsigned)atomic_load_explicit(&c->count[i], memory_order_relaxed));

        /* nesting: 40 rows x 50 */
        memset(c, 0, sizeof *c);
        c->hi = SIZE_MAX;
        CHECK(weft_par_for(0, 40, round % 2, nest_outer, c) == 0, "nested par_for failed");
        for (size_t i = 0; i < 40 * 50; i++)
            CHECK(atomic_load_explicit(&c->count[i], memory_order_relaxed) == 1, "nested cell %zu", i);

        /* 2-D */
        size_t rows = (size_t)(test_next_rand(&sc->seed) % 70), cols = (size_t)(test_next_rand(&sc->seed) % 70);
        memset(c, 0, sizeof *c);
        c->spin = (unsigned)cols;
        CHECK(weft_par_for_2d(rows, cols, round % 3, (round / 3) % 3 * 4, tile_body, c) == 0, "2d");
        for (size_t i = 0; i < rows * cols; i++)
            CHECK(atomic_load_explicit(&c->count[i], memory_order_relaxed) == 1, "2-D cell %zu", i);

        /* early exit */
        stopper s = {(size_t)(test_next_rand(&sc->seed) % 20000), 0};
        int rc = weft_par_for(0, 20000, (round % 2) ? 0 : 16, stopper_body, &s);
        CHECK(rc == 42, "early exit returned %d", rc);
        uint64_t snap = atomic_load_explicit(&s.ran, memory_order_relaxed);
        weft_thread_sleep(200000);
        CHECK(atomic_load_explicit(&s.ran, memory_order_relaxed) == snap, "a body ran after return");

        /* integer reduce, both kinds */
        size_t rn = (size_t)(test_next_rand(&sc->seed) % 100000);
        const uint64_t zero = 0;
        uint64_t want = 0, got = 1, got_det = 2;
        fold_u64(NULL, 0, rn, &want);
        CHECK(weft_par_reduce(0, rn, round % 2 ? 0 : 1000, &zero, fold_u64, combine_u64, NULL, &got,
                              sizeof got) == 0, "reduce");
        CHECK(weft_par_reduce_deterministic(0, rn, round % 2 ? 0 : 333, &zero, fold_u64, combine_u64,
                                            NULL, &got_det, sizeof got_det) == 0, "reduce_det");
        CHECK(got == want && got_det == want, "sum %llu / %llu, want %llu", (unsigned long long)got,
              (unsigned long long)got_det, (unsigned long long)want);

        /* the identity is the result (`acc = 0; reduce(..., &acc, ..., &acc)`): the
         * right halves must start from 0, not from the half-folded result */
        uint64_t self = 0, self_det = 0;
        CHECK(weft_par_reduce(0, rn, round % 2 ? 0 : 1000, &self, fold_u64, combine_u64, NULL, &self,
                              sizeof self) == 0, "reduce, identity == result");
        CHECK(weft_par_reduce_deterministic(0, rn, round % 2 ? 0 : 333, &self_det, fold_u64,
                                            combine_u64, NULL, &self_det, sizeof self_det) == 0,
              "reduce_det, identity == result");
        CHECK(self == want && self_det == want, "identity == result: sum %llu / %llu, want %llu",
              (unsigned long long)self, (unsigned long long)self_det, (unsigned long long)want);
    }
    free(c);
    sc->ok = true;
}

typedef struct harmonic {
    double result;
} harmonic;

static void harmonic_run(void *arg)
{
    harmonic *h = arg;
    const double zero = 0.0;
    CHECK(weft_par_reduce_deterministic(0, (size_t)stress_iters(400000), 0, &zero, fold_f64,
                                        combine_f64, NULL, &h->result, sizeof h->result) == 0,
          "reduce_det");
}

int main(void)
{
    double first = 0.0;
    for (size_t t = 0; t < N_COUNTS; t++) {
        scenario sc = {0x1234567u + t, (int)stress_iters(200), false};
        loops_run_on(loop_thread_counts[t], scenario_run, &sc);
        CHECK(sc.ok, "scenario did not finish");
        for (int rep = 0; rep < 2; rep++) {
            harmonic h = {-1.0};
            loops_run_on(loop_thread_counts[t], harmonic_run, &h);
            if (t == 0 && rep == 0)
                first = h.result;
            CHECK(memcmp(&first, &h.result, sizeof first) == 0, "threads %d: %.17g != %.17g",
                  loop_thread_counts[t], h.result, first);
        }
    }
    printf("stress_loops: ok\n");
    return 0;
}
