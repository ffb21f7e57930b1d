/* 09_par.c: loop parallelism on the global pool.
 *
 *   1. sum of squares with weft_par_reduce (rayon's (0..n).into_par_iter().map(|i| i * i).sum());
 *   2. an image loop with weft_par_for_2d (tiles of rows x columns);
 *   3. weft_par_sort (rayon's par_sort_unstable);
 *   4. a floating-point sum that is bit-identical on any number of threads
 *      (weft_par_reduce_deterministic).
 *
 * Bodies get whole sub-ranges [begin, end), not one index: the per-index cost is a
 * plain loop iteration. Grain 0 lets weft split adaptively (only while idle workers
 * want work; a short loop runs inline on the caller). When a loop is worth
 * parallelising: par.h's rule of thumb.
 *
 * The first parallel call starts the global pool (WEFT_NUM_THREADS workers, else one
 * per core). Every result printed here is independent of the number of threads. */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

/* ---- 1. par_reduce: fold each sub-range into an accumulator, combine in a tree --- */

static int fold_squares(void *ctx, size_t begin, size_t end, void *acc)
{
    (void)ctx;
    uint64_t sum = 0;
    for (size_t i = begin; i < end; i++)
        sum += (uint64_t)i * i;
    *(uint64_t *)acc += sum;
    return 0; /* non-zero would stop the loop */
}

static void add_u64(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

/* ---- 2. par_for_2d: a Mandelbrot image, one tile per call ------------------------ */

#define W 480
#define H 160
#define MAX_ITER 60

typedef struct image {
    unsigned char iters[H][W];
} image;

/* Escape count of pixel (x, y), in 16.16 fixed point (integers: the same bits on
 * every machine and compiler, so the checksum below can be checked). */
static unsigned char mandel(size_t x, size_t y)
{
    const int64_t one = 65536;
    int64_t cr = (int64_t)x * 3 * one / W - 2 * one; /* re in [-2, 1) */
    int64_t ci = (int64_t)y * 2 * one / H - one;     /* im in [-1, 1) */
    int64_t zr = 0, zi = 0;
    unsigned char n = 0;
    while (n < MAX_ITER && zr * zr + zi * zi <= 4 * one * one) {
        int64_t t = (zr * zr - zi * zi) / one + cr;
        zi = 2 * zr * zi / one + ci;
        zr = t;
        n++;
    }
    return n;
}

static int render_tile(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    image *img = ctx; /* tiles are disjoint: no two calls write the same pixel */
    for (size_t y = r0; y < r1; y++)
        for (size_t x = c0; x < c1; x++)
            img->iters[y][x] = mandel(x, y);
    return 0;
}

/* ---- 3. par_sort --------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* ---- 4. a deterministic floating-point reduction -------------------------------- */

static int fold_harmonic(void *ctx, size_t begin, size_t end, void *acc)
{
    (void)ctx;
    double s = 0;
    for (size_t i = begin; i < end; i++)
        s += 1.0 / (double)(i + 1);
    *(double *)acc += s;
    return 0;
}

static void add_double(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(double *)acc += *(const double *)other;
}

typedef struct harmonic_job {
    size_t n;
    double sum;
    int rc;
} harmonic_job;

static void harmonic(void *arg)
{
    harmonic_job *h = arg;
    double zero = 0;
    h->rc = weft_par_reduce_deterministic(0, h->n, 0, &zero, fold_harmonic, add_double, NULL,
                                          &h->sum, sizeof h->sum);
}

int main(void)
{
    /* 1. */
    const size_t n = 1000 * 1000;
    uint64_t zero = 0, squares;
    must(weft_par_reduce(0, n, 0, &zero, fold_squares, add_u64, NULL, &squares, sizeof squares),
         "par_reduce");
    uint64_t formula = (uint64_t)(n - 1) * n * (2 * n - 1) / 6;
    printf("sum of i*i for i < %zu: %llu (formula: %llu)\n", n, (unsigned long long)squares,
           (unsigned long long)formula);

    /* 2. */
    image *img = malloc(sizeof *img);
    if (!img)
        return 1;
    must(weft_par_for_2d(H, W, 0, 0, render_tile, img), "par_for_2d");
    uint64_t checksum = 0;
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++)
            checksum += img->iters[y][x] * (uint64_t)(y * W + x + 1);
    printf("mandelbrot %dx%d, checksum %llu; a thumbnail:\n", W, H, (unsigned long long)checksum);
    for (size_t y = 0; y < H; y += 10) {
        char row[W / 10 + 1];
        for (size_t x = 0; x < W; x += 10) {
            unsigned char it = img->iters[y][x];
            row[x / 10] = it == MAX_ITER ? '#' : it > 8 ? '+' : it > 4 ? '.' : ' ';
        }
        row[W / 10] = '\0';
        printf("|%s|\n", row);
    }
    free(img);

    /* 3. */
    const size_t count = 100 * 1000;
    uint32_t *keys = malloc(count * sizeof *keys);
    if (!keys)
        return 1;
    uint32_t state = 12345;
    for (size_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u; /* a fixed pseudo-random sequence */
        keys[i] = state >> 8;
    }
    must(weft_par_sort(keys, count, sizeof keys[0], cmp_u32), "par_sort");
    size_t out_of_order = 0;
    for (size_t i = 1; i < count; i++)
        out_of_order += keys[i - 1] > keys[i];
    printf("sorted %zu keys: smallest %u, largest %u, out of order: %zu\n", count, keys[0],
           keys[count - 1], out_of_order);
    free(keys);

    /* 4. The same deterministic sum on the global pool and on a one-thread pool
     * (weft_pool_run runs the call on that pool's worker: nested parallel calls use it). */
    harmonic_job many = {n, 0, 0}, one = {n, 0, 0};
    harmonic(&many);
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 1;
    weft_pool *single;
    must(weft_pool_create(&cfg, &single), "pool_create");
    must(weft_pool_run(single, harmonic, &one), "pool_run");
    must(weft_pool_destroy(single), "pool_destroy");
    must(many.rc, "par_reduce_deterministic");
    must(one.rc, "par_reduce_deterministic");
    printf("harmonic(%zu) = %.17g; bit-identical on 1 thread and on the global pool: %s\n", n,
           many.sum, memcmp(&many.sum, &one.sum, sizeof(double)) == 0 ? "yes" : "NO");
    return squares == formula && out_of_order == 0 ? 0 : 1;
}
