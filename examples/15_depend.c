/* 15_depend.c: tasks with dependencies by address (OpenMP's `task depend`).
 *
 * A wavefront: a grid of N x N tiles where tile (i, j) needs the tiles above and to
 * its left, as in dynamic programming (edit distance, Smith-Waterman) and in the
 * sweeps of a Gauss-Seidel stencil. The loop spawns one task per tile in the serial
 * order and names what each task reads and writes; weft starts a task when the
 * tasks before it that write what it reads have finished, so the tiles of one
 * anti-diagonal run in parallel and the result is the serial one.
 *
 * The addresses are only names: here each tile's own cell, but any address the
 * tasks agree on works (a block's first element, a row's index in an array). */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 24 };

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

typedef struct grid {
    uint64_t cell[N][N];
} grid;

typedef struct tile {
    grid *g;
    int i, j;
} tile;

/* The work of one tile: here a little arithmetic on its two neighbours. */
static void tile_work(grid *g, int i, int j)
{
    uint64_t up = i > 0 ? g->cell[i - 1][j] : 1, left = j > 0 ? g->cell[i][j - 1] : 1;
    g->cell[i][j] = (up * 31 + left * 17 + (uint64_t)(i * N + j)) % 1000003;
}

static int tile_task(weft_scope *scope, void *arg)
{
    (void)scope;
    tile *t = arg;
    tile_work(t->g, t->i, t->j);
    return 0;
}

int main(void)
{
    static grid par, ser;
    static tile tiles[N][N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            tile_work(&ser, i, j);

    weft_scope scope;
    must(weft_scope_init(&scope, NULL), "scope_init");
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            tiles[i][j] = (tile){&par, i, j};
            weft_dep deps[3];
            size_t n = 0;
            deps[n++] = (weft_dep){&par.cell[i][j], WEFT_DEP_OUT};
            if (i > 0) /* depend(in: cell[i-1][j]) */
                deps[n++] = (weft_dep){&par.cell[i - 1][j], WEFT_DEP_IN};
            if (j > 0) /* depend(in: cell[i][j-1]) */
                deps[n++] = (weft_dep){&par.cell[i][j - 1], WEFT_DEP_IN};
            must(weft_scope_spawn_dep(&scope, tile_task, &tiles[i][j], deps, n), "spawn_dep");
        }
    must(weft_scope_wait(&scope), "scope_wait"); /* every tile, whatever it waited for */

    int same = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            same &= par.cell[i][j] == ser.cell[i][j];
    printf("wavefront of %dx%d tiles: corner %llu\n", N, N, (unsigned long long)par.cell[N - 1][N - 1]);
    printf("equal to the serial run: %s\n", same ? "yes" : "no");

    /* A bad mode is refused and nothing is queued. */
    weft_dep bad = {&par.cell[0][0], (weft_dep_mode)0};
    must(weft_scope_init(&scope, NULL), "scope_init");
    printf("bad mode: %s\n", weft_strerror(weft_scope_spawn_dep(&scope, tile_task, &tiles[0][0], &bad, 1)));
    must(weft_scope_wait(&scope), "scope_wait");
    return 0;
}
