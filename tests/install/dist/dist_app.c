/* dist_app.c: the smallest program of weft/dist.h, built against an install (CMake and
 * pkg-config with mpicc) and run under mpirun: a sum over the ranks. */
#include <weft/dist.h>
#include <stdio.h>

static int fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    for (size_t i = b; i < e; i++)
        *(unsigned long long *)acc += i;
    return 0;
}

static void combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(unsigned long long *)acc += *(const unsigned long long *)other;
}

int main(int argc, char **argv)
{
    weft_dist *d;
    int rc = weft_dist_init(&argc, &argv, &d);
    if (rc != 0) {
        fprintf(stderr, "weft_dist_init: %s\n", weft_strerror(rc));
        return 1;
    }
    unsigned long long zero = 0, sum = 0;
    rc = weft_dist_par_reduce(d, 0, 1000, 0, &zero, fold, combine, NULL, &sum, sizeof sum);
    int ok = rc == 0 && sum == 999ull * 1000 / 2;
    if (weft_dist_rank(d) == 0)
        printf("dist_app: %d ranks, sum %llu%s\n", weft_dist_size(d), sum, ok ? "" : " (wrong)");
    weft_dist_finalize(d);
    return ok ? 0 : 1;
}
