/* 14_dist_mandel.c: one loop across machines — the Mandelbrot set's Seahorse Valley
 * computed by every rank of an MPI job, each rank on all of its cores.
 *
 *   mpirun -np 2 ./example_14_dist_mandel      (a laptop: two ranks, one node)
 *
 * The rows cost very different amounts (those through the set ~100x the others), so a
 * static split across ranks leaves ranks idle; weft_dist_par_map deals rows to ranks
 * as they free up, each rank runs its rows on its weft pool, and the per-row results
 * are gathered on rank 0. The total comes from weft_dist_par_reduce_deterministic,
 * whose result is the same bits on any number of ranks and threads — so this program
 * prints the same lines however it is started. Needs weft built with MPI
 * (libweft_dist: weft::weft_dist). guide.md section 14 walks through it. */
#include <weft/dist.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIDE 64
#define ITERS 500

/* Iterations of pixel (x, y) of the window [-0.85, -0.65] x [0, 0.2]. */
static unsigned pixel(unsigned x, unsigned y)
{
    double cx = -0.85 + 0.2 * x / SIDE, cy = 0.2 * y / SIDE, zx = 0, zy = 0;
    unsigned k = 0;
    while (k < ITERS && zx * zx + zy * zy <= 4.0) {
        double t = zx * zx - zy * zy + cx;
        zy = 2.0 * zx * zy + cy;
        zx = t;
        k++;
    }
    return k;
}

/* weft_dist_par_map's element function: a row number in, that row's pixels out. */
typedef struct row {
    uint16_t px[SIDE];
} row;

static void render_row(void *ctx, const void *in, void *out)
{
    (void)ctx;
    unsigned y = *(const unsigned *)in;
    row *r = out;
    for (unsigned x = 0; x < SIDE; x++)
        r->px[x] = (uint16_t)pixel(x, y);
}

/* weft_dist_par_reduce_deterministic's fold and combine: iterations of rows [b, e). */
static int count_rows(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    for (size_t y = b; y < e; y++)
        for (unsigned x = 0; x < SIDE; x++)
            *(uint64_t *)acc += pixel(x, (unsigned)y);
    return 0;
}

static void add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

int main(int argc, char **argv)
{
    weft_dist *d;
    int rc = weft_dist_init(&argc, &argv, &d); /* MPI_Init_thread, and the rank's pool */
    if (rc != 0) {
        fprintf(stderr, "weft_dist_init: %s\n", weft_strerror(rc));
        return 1;
    }
    int rank = weft_dist_rank(d);

    /* Every rank holds the input (the row numbers); rank 0 receives the rows. */
    unsigned ys[SIDE];
    for (unsigned y = 0; y < SIDE; y++)
        ys[y] = y;
    row *image = rank == 0 ? malloc(sizeof(row) * SIDE) : NULL;
    rc = weft_dist_par_map(d, ys, image, SIDE, sizeof ys[0], sizeof(row), render_row, NULL, 0);

    uint64_t zero = 0, total = 0;
    if (rc == 0)
        rc = weft_dist_par_reduce_deterministic(d, 0, SIDE, 0, &zero, count_rows, add, NULL, &total,
                                                sizeof total);
    if (rc != 0) { /* every rank gets the same error */
        fprintf(stderr, "rank %d: %s\n", rank, weft_strerror(rc));
    } else if (rank == 0) {
        printf("seahorse valley, %dx%d pixels, %d iterations at most\n", SIDE, SIDE, ITERS);
        for (unsigned y = 0; y < SIDE; y += 4) { /* a 32x16 picture of it */
            char line[SIDE / 2 + 1];
            for (unsigned x = 0; x < SIDE; x += 2) {
                unsigned k = image[y].px[x];
                line[x / 2] = k == ITERS ? '#' : k > 40 ? '+' : k > 15 ? '.' : ' ';
            }
            line[SIDE / 2] = '\0';
            printf("|%s|\n", line);
        }
        printf("total iterations: %llu\n", (unsigned long long)total);
    }
    free(image);
    weft_dist_finalize(d); /* and MPI_Finalize */
    return rc == 0 ? 0 : 1;
}
