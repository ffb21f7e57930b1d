/* 09_par.cpp: 09_par.c in C++, with weft.hpp: the same four loops on the global
 * pool, the same output (examples/expected/09_par.txt checks both).
 *
 *   1. sum of squares with weft::par_reduce;
 *   2. an image loop with weft::par_for_2d;
 *   3. weft::par_sort with a comparator lambda;
 *   4. weft::par_reduce_deterministic, bit-identical on 1 thread and on the global pool.
 *
 * Bodies are lambdas that capture what they use by reference: no void *ctx, no casts.
 * A failing call throws weft::error (a std::system_error); an exception a body throws
 * comes out of the call that ran it. */
#include <weft.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

constexpr size_t W = 480, H = 160;
constexpr unsigned MAX_ITER = 60;

/* Escape count of pixel (x, y), in 16.16 fixed point (as 09_par.c: the same bits
 * everywhere). */
static unsigned char mandel(size_t x, size_t y)
{
    const int64_t one = 65536;
    int64_t cr = (int64_t)x * 3 * one / (int64_t)W - 2 * one;
    int64_t ci = (int64_t)y * 2 * one / (int64_t)H - one;
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

static double harmonic(size_t n)
{
    return weft::par_reduce_deterministic(
        0, n, 0.0,
        [](size_t b, size_t e, double acc) {
            for (size_t i = b; i < e; i++)
                acc += 1.0 / double(i + 1);
            return acc;
        },
        [](double a, double c) { return a + c; });
}

int main()
{
    /* 1. Fold each sub-range into an accumulator (a copy of the identity, 0), combine
     *    the accumulators in a tree. */
    const size_t n = 1000 * 1000;
    uint64_t squares = weft::par_reduce(
        0, n, uint64_t(0),
        [](size_t b, size_t e, uint64_t acc) {
            for (size_t i = b; i < e; i++)
                acc += uint64_t(i) * i;
            return acc;
        },
        [](uint64_t a, uint64_t c) { return a + c; });
    uint64_t formula = uint64_t(n - 1) * n * (2 * n - 1) / 6;
    std::printf("sum of i*i for i < %zu: %llu (formula: %llu)\n", n, (unsigned long long)squares,
                (unsigned long long)formula);

    /* 2. Tiles are disjoint: no two calls write the same pixel. */
    std::vector<unsigned char> img(H * W);
    weft::par_for_2d(H, W, [&](size_t r0, size_t r1, size_t c0, size_t c1) {
        for (size_t y = r0; y < r1; y++)
            for (size_t x = c0; x < c1; x++)
                img[y * W + x] = mandel(x, y);
    });
    uint64_t checksum = 0;
    for (size_t i = 0; i < H * W; i++)
        checksum += img[i] * uint64_t(i + 1);
    std::printf("mandelbrot %zux%zu, checksum %llu; a thumbnail:\n", W, H, (unsigned long long)checksum);
    for (size_t y = 0; y < H; y += 10) {
        std::string row;
        for (size_t x = 0; x < W; x += 10) {
            unsigned char it = img[y * W + x];
            row += it == MAX_ITER ? '#' : it > 8 ? '+' : it > 4 ? '.' : ' ';
        }
        std::printf("|%s|\n", row.c_str());
    }

    /* 3. Any random-access range, any strict weak order. */
    std::vector<uint32_t> keys(100 * 1000);
    uint32_t state = 12345;
    for (auto &k : keys) {
        state = state * 1664525u + 1013904223u; /* a fixed pseudo-random sequence */
        k = state >> 8;
    }
    weft::par_sort(keys.begin(), keys.end(), [](uint32_t a, uint32_t b) { return a < b; });
    size_t out_of_order = 0;
    for (size_t i = 1; i < keys.size(); i++)
        out_of_order += keys[i - 1] > keys[i];
    std::printf("sorted %zu keys: smallest %u, largest %u, out of order: %zu\n", keys.size(), keys.front(),
                keys.back(), out_of_order);

    /* 4. The same deterministic sum on the global pool and on a one-thread pool
     *    (pool.run runs it on that pool's worker: the nested loop uses that pool). */
    double many = harmonic(n);
    double one = weft::pool(1).run([&] { return harmonic(n); });
    std::printf("harmonic(%zu) = %.17g; bit-identical on 1 thread and on the global pool: %s\n", n, many,
                std::memcmp(&many, &one, sizeof(double)) == 0 ? "yes" : "NO");
    return squares == formula && out_of_order == 0 ? 0 : 1;
}
