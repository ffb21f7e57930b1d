/* reduce.c: weft_dist_par_reduce and weft_dist_par_reduce_deterministic.
 *
 * Plain: each rank folds the chunks it is dealt (weft_par_reduce on its pool per
 * chunk, combined into the rank's accumulator in the order taken), then one
 * MPI_Allreduce with an MPI_Op made from the user's combine gives every rank the
 * total. The op is declared commutative, since the ranks' chunks interleave.
 * MPI's user functions take no context, so the combine in flight is reached through
 * a thread-local set around the allreduce: MPI calls a reduction's function on the
 * thread that called the collective (blocking collectives, FUNNELED).
 *
 * Deterministic: the range is cut exactly as weft_par_reduce_deterministic cuts it
 * (the same grain, midpoint cuts while a half keeps a grain), and the top of that
 * tree, down to DET_DEPTH levels, gives up to 2^DET_DEPTH subtrees ("blocks"),
 * independent of the ranks and threads. Blocks are dealt like chunks, each reduced
 * by weft_par_reduce_deterministic into its slot of a zeroed array; one allreduce
 * with MPI_BOR over the array's bytes gives every rank every slot (each slot was
 * written by one rank, and x | 0 = x); every rank then combines the slots in the
 * tree's shape. Invariant: each slot's bits and the combine order depend only on
 * (lo, hi, grain), so the total is the same bits on any ranks x threads, and equal
 * to weft_par_reduce_deterministic's on one process. */
#include "dist_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic grain 0: at most this many leaves, as weft_par_reduce_deterministic
 * (par/reduce.c, DET_LEAVES): the same grain gives the same tree. */
#define DET_LEAVES 2048u
/* The tree is dealt as its nodes at this depth (at most 4096 blocks): enough for a
 * few per rank up to thousands of ranks, few enough that every rank combines all of
 * them in microseconds and their values travel in one small allreduce. */
#define DET_DEPTH 12
#define DET_MAX_BLOCKS (1u << DET_DEPTH)
/* The largest piece one MPI call moves (counts are int). */
#define MPI_PIECE ((size_t)1 << 30)

typedef struct red_args {
    size_t lo, hi, grain;
    const void *identity;
    weft_fold_fn fold;
    weft_combine_fn combine;
    void *ctx;
    void *result;
    size_t size;
} red_args;

/* The agreement every reduce starts with; *base gets the counter's start. */
static int red_agree(weft_dist *d, int kind, const red_args *a, uint64_t *base)
{
    int rc = weft__dist_enter(d);
    if (rc != 0)
        return rc;
    bool bad = a->lo > a->hi || !a->identity || !a->fold || !a->combine || !a->result || a->size == 0 ||
               a->size > INT_MAX || (kind == WEFT__DIST_REDUCE_DET && a->size > SIZE_MAX / DET_MAX_BLOCKS);
    uint64_t args[] = {weft__dist_word(a->lo), weft__dist_word(a->hi), weft__dist_word(a->grain),
                       weft__dist_word(a->size)};
    return weft__dist_agree(d, kind, bad, args, 4, base);
}

/* ---- plain ---- */

typedef struct red_job {
    const red_args *a;
    const void *identity; /* a private copy: result may alias the caller's */
    void *acc, *chunk;
} red_job;

static int red_chunk(void *arg, size_t b, size_t e)
{
    red_job *j = arg;
    const red_args *a = j->a;
    int rc = weft_par_reduce(a->lo + b, a->lo + e, weft__dist_chunk_grain(a->grain, e - b), j->identity, a->fold, a->combine, a->ctx,
                             j->chunk, a->size);
    if (rc == 0)
        a->combine(a->ctx, j->acc, j->chunk);
    return rc;
}

static _Thread_local const red_args *weft__dist_reducing;

static void red_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const red_args *a = weft__dist_reducing;
    for (int i = 0; i < *len; i++)
        a->combine(a->ctx, (char *)inout + (size_t)i * a->size, (const char *)in + (size_t)i * a->size);
}

/* Combine every rank's acc into a->result on every rank. */
static int red_allreduce(weft_dist *d, const red_args *a, void *acc)
{
    MPI_Datatype type;
    MPI_Op op;
    int rc = weft__dist_mpi(MPI_Type_contiguous((int)a->size, MPI_BYTE, &type));
    if (rc != 0)
        return rc;
    rc = weft__dist_mpi(MPI_Type_commit(&type));
    if (rc == 0)
        rc = weft__dist_mpi(MPI_Op_create(red_op, 1, &op));
    if (rc == 0) {
        const red_args *outer = weft__dist_reducing;
        weft__dist_reducing = a;
        rc = weft__dist_mpi(MPI_Allreduce(acc, a->result, 1, type, op, d->comm));
        weft__dist_reducing = outer;
        MPI_Op_free(&op);
    }
    MPI_Type_free(&type);
    return rc;
}

int weft_dist_par_reduce(weft_dist *d, size_t lo, size_t hi, size_t grain, const void *identity,
                         weft_fold_fn fold, weft_combine_fn combine, void *ctx, void *result,
                         size_t result_size)
{
    red_args a = {lo, hi, grain, identity, fold, combine, ctx, result, result_size};
    uint64_t base = 0;
    int rc = red_agree(d, WEFT__DIST_REDUCE, &a, &base);
    if (rc != 0)
        return rc;
    unsigned char *buf = malloc(3 * result_size);
    int status = buf ? 0 : -ENOMEM;
    red_job j = {&a, buf, buf + result_size, buf + 2 * result_size};
    if (buf) {
        memcpy(buf, identity, result_size);
        memcpy(j.acc, identity, result_size);
        weft__dist_sched s;
        weft__dist_sched_init(&s, hi - lo, (size_t)d->size, grain);
        status = weft__dist_deal(d, &s, base, red_chunk, &j);
    }
    rc = weft__dist_agree_status(d, status);
    if (rc == 0)
        rc = red_allreduce(d, &a, j.acc);
    free(buf);
    return rc;
}

/* ---- deterministic ---- */

static bool det_cuttable(size_t len, size_t grain)
{
    return len / 2 >= grain; /* par/splitter_internal.h's weft__par_cuttable */
}

/* The blocks: the tree's nodes at DET_DEPTH, or leaves above it, in index order. */
static void det_blocks(size_t b, size_t e, size_t grain, int depth, size_t *bounds, size_t *count)
{
    if (depth == DET_DEPTH || !det_cuttable(e - b, grain)) {
        bounds[2 * *count] = b;
        bounds[2 * *count + 1] = e;
        ++*count;
        return;
    }
    size_t mid = b + (e - b) / 2;
    det_blocks(b, mid, grain, depth + 1, bounds, count);
    det_blocks(mid, e, grain, depth + 1, bounds, count);
}

/* Combine the slots of the subtree [b, e) in place, in the tree's shape; returns the
 * index of the slot that holds its value (its first block's). */
static size_t det_combine(const red_args *a, unsigned char *vals, size_t b, size_t e, size_t grain,
                          int depth, size_t *next)
{
    if (depth == DET_DEPTH || !det_cuttable(e - b, grain))
        return (*next)++;
    size_t mid = b + (e - b) / 2;
    size_t left = det_combine(a, vals, b, mid, grain, depth + 1, next);
    size_t right = det_combine(a, vals, mid, e, grain, depth + 1, next);
    a->combine(a->ctx, vals + left * a->size, vals + right * a->size);
    return left;
}

typedef struct det_job {
    const red_args *a;
    const void *identity;
    size_t grain;
    const size_t *bounds;
    unsigned char *vals;
} det_job;

static int det_block(void *arg, size_t first, size_t last)
{
    const det_job *j = arg;
    const red_args *a = j->a;
    for (size_t k = first; k < last; k++) {
        int rc = weft_par_reduce_deterministic(a->lo + j->bounds[2 * k], a->lo + j->bounds[2 * k + 1],
                                               j->grain, j->identity, a->fold, a->combine, a->ctx,
                                               j->vals + k * a->size, a->size);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A dealt run of blocks: its blocks in parallel on the pool, each one block. */
static int det_chunk(void *arg, size_t b, size_t e)
{
    return weft_par_for(b, e, 1, det_block, arg);
}

int weft_dist_par_reduce_deterministic(weft_dist *d, size_t lo, size_t hi, size_t grain,
                                       const void *identity, weft_fold_fn fold, weft_combine_fn combine,
                                       void *ctx, void *result, size_t result_size)
{
    red_args a = {lo, hi, grain, identity, fold, combine, ctx, result, result_size};
    uint64_t base = 0;
    int rc = red_agree(d, WEFT__DIST_REDUCE_DET, &a, &base);
    if (rc != 0)
        return rc;
    size_t n = hi - lo;
    size_t g = grain ? grain : n / DET_LEAVES + (n % DET_LEAVES != 0);
    size_t *bounds = malloc(2 * DET_MAX_BLOCKS * sizeof *bounds);
    unsigned char *id = malloc(result_size);
    unsigned char *vals = calloc(DET_MAX_BLOCKS, result_size);
    int status = bounds && id && vals ? 0 : -ENOMEM;
    size_t blocks = 0;
    if (status == 0) {
        memcpy(id, identity, result_size);
        if (n > 0)
            det_blocks(0, n, g, 0, bounds, &blocks);
        det_job j = {&a, id, g, bounds, vals};
        weft__dist_sched s;
        weft__dist_sched_init(&s, blocks, (size_t)d->size, 1);
        status = weft__dist_deal(d, &s, base, det_chunk, &j);
    }
    rc = weft__dist_agree_status(d, status);
    /* Every slot to every rank: the status agreed, so all ranks make these calls. */
    for (size_t off = 0, bytes = blocks * result_size; rc == 0 && off < bytes; off += MPI_PIECE) {
        size_t piece = bytes - off < MPI_PIECE ? bytes - off : MPI_PIECE;
        rc = weft__dist_mpi(MPI_Allreduce(MPI_IN_PLACE, vals + off, (int)piece, MPI_BYTE, MPI_BOR, d->comm));
    }
    if (rc == 0) {
        if (n == 0) {
            memcpy(result, id, result_size);
        } else {
            size_t next = 0;
            size_t top = det_combine(&a, vals, 0, n, g, 0, &next);
            memcpy(result, vals + top * result_size, result_size);
        }
    }
    free(vals);
    free(id);
    free(bounds);
    return rc;
}
