/* stress_scan.c: weft_par_scan under concurrency (also under ThreadSanitizer): random
 * lengths, grains and inclusive / exclusive, in place or not, on pools of 1, 2, 3, 8
 * threads and from the main thread; every output and the total equal a serial loop's;
 * a floating-point scan bit-identical across the pools. Leaves cost a spin, so the
 * front and its helpers overlap. */
#include "loops_testlib.h"

#include <weft/par.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { MAXN = 40000 };

typedef struct u64_scan {
    const uint64_t *in;
    uint64_t *out;
    bool inclusive;
} u64_scan;

static int scan_u64(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    const u64_scan *s = ctx;
    uint64_t a = *(uint64_t *)acc;
    for (size_t i = b; i < e; i++) {
        uint64_t x = s->in[i];
        if (final && !s->inclusive)
            s->out[i] = a;
        a += x;
        if (final && s->inclusive)
            s->out[i] = a;
    }
    *(uint64_t *)acc = a;
    loops_spin((unsigned)(e - b) * 4);
    return 0;
}

static void add_u64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static int scan_f64(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    double *x = ctx; /* in place */
    double a = *(double *)acc;
    for (size_t i = b; i < e; i++) {
        a += x[i];
        if (final)
            x[i] = a;
    }
    *(double *)acc = a;
    loops_spin((unsigned)(e - b) * 4);
    return 0;
}

static void add_f64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

typedef struct scenario {
    uint64_t seed;
    int rounds;
    double *f64_first; /* the main thread's run: the bits every pool must give */
    bool ok;
} scenario;

static void scenario_run(void *arg)
{
    scenario *sc = arg;
    uint64_t *in = malloc(MAXN * sizeof *in), *out = malloc(MAXN * sizeof *out);
    double *f = malloc(MAXN * sizeof *f);
    CHECK(in && out && f, "malloc");
    for (int round = 0; round < sc->rounds; round++) {
        size_t n = round % 6 == 0 ? (size_t)(round % 2) : (size_t)(test_next_rand(&sc->seed) % MAXN);
        size_t grain = round % 3 == 0 ? 0 : (size_t)(test_next_rand(&sc->seed) % 3000) + 1;
        bool inclusive = round % 2, in_place = round % 4 >= 2;
        for (size_t i = 0; i < n; i++)
            in[i] = test_next_rand(&sc->seed) % 100000;
        u64_scan s = {in, in_place ? in : out, inclusive};
        uint64_t *want = malloc((n ? n : 1) * sizeof *want), a = 0;
        CHECK(want, "malloc");
        for (size_t i = 0; i < n; i++) {
            want[i] = inclusive ? a + in[i] : a;
            a += in[i];
        }
        const uint64_t zero = 0;
        uint64_t total = 1;
        CHECK(weft_par_scan(0, n, grain, &zero, scan_u64, add_u64, &s, &total, sizeof total) == 0, "scan");
        CHECK(total == a, "n %zu grain %zu: total %llu, serial %llu", n, grain, (unsigned long long)total,
              (unsigned long long)a);
        for (size_t i = 0; i < n; i++)
            CHECK(s.out[i] == want[i], "n %zu grain %zu %s: out[%zu] %llu, serial %llu", n, grain,
                  inclusive ? "inclusive" : "exclusive", i, (unsigned long long)s.out[i],
                  (unsigned long long)want[i]);
        free(want);
    }
    /* A fixed floating-point scan: the bits of the first run, on every pool. */
    for (size_t i = 0; i < MAXN; i++)
        f[i] = 1.0 / (double)(i + 1) - 1e-4 * (double)(i % 13);
    const double dzero = 0;
    double dtotal = 0;
    CHECK(weft_par_scan(0, MAXN, 1000, &dzero, scan_f64, add_f64, f, &dtotal, sizeof dtotal) == 0, "scan f64");
    CHECK(dtotal == f[MAXN - 1], "total %.17g, last output %.17g", dtotal, f[MAXN - 1]);
    if (!sc->f64_first[0] && !sc->f64_first[1])
        memcpy(sc->f64_first, f, MAXN * sizeof *f);
    else
        CHECK(memcmp(sc->f64_first, f, MAXN * sizeof *f) == 0, "floating-point scan differs between pools");
    free(in);
    free(out);
    free(f);
    sc->ok = true;
}

int main(void)
{
    double *first = calloc(MAXN, sizeof *first);
    CHECK(first, "calloc");
    for (size_t t = 0; t < N_COUNTS; t++) {
        scenario sc = {0x5ca95eedu + t, (int)stress_iters(60), first, false};
        loops_run_on(loop_thread_counts[t], scenario_run, &sc);
        CHECK(sc.ok, "scenario did not finish");
    }
    free(first);
    printf("stress_scan: ok\n");
    return 0;
}
