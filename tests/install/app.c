/* app.c: a user's first program against an installed weft: the umbrella header, a
 * lock, a parallel join and a parallel loop on the global pool (so the shared
 * library's exports, the static library's hwloc/pthread link flags and the .pc files
 * are all exercised). The install, package and subproject tests build it. */
#include <weft.h>
#include <stdio.h>

static weft_mutex lock = WEFT_MUTEX_INIT;
static int counter;

static void bump(void *arg)
{
    (void)arg;
    weft_mutex_lock(&lock);
    counter++;
    weft_mutex_unlock(&lock);
}

static int square(void *ctx, size_t lo, size_t hi)
{
    long *a = ctx;
    for (size_t i = lo; i < hi; i++)
        a[i] = (long)i * (long)i;
    return 0;
}

int main(void)
{
    if (weft_join(bump, NULL, bump, NULL) != 0 || counter != 2)
        return 1;
    static long squares[100000];
    if (weft_par_for(0, 100000, 0, square, squares) != 0 || squares[99999] != 99999L * 99999L)
        return 1;
    printf("weft %d.%d: joined on %d workers; %s\n", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
           weft_pool_num_threads(NULL), weft_strerror(-ETIMEDOUT));
    return 0;
}
