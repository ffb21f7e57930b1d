/* schedule.c: the factoring schedule (Hummel, Schonberg and Flynn's factoring
 * self-scheduling): how a range of n indices is cut into chunks for `ranks` ranks
 * taking them one at a time from a shared counter.
 *
 * Round j gives each rank one chunk of max(floor, ceil(R_j / (2 x ranks))) indices,
 * R_j being what the earlier rounds left, so each round deals half of the rest, but
 * no chunk above the cap (n / (WEFT__DIST_FIRST x ranks): the first rounds deal an
 * eighth of the range each, not half of it); once
 * a chunk would fall to `floor`, the rest goes in chunks of `floor`, the last one
 * taking a remainder shorter than grain (a chunk is never shorter than grain unless
 * the whole range is). Early chunks are long (few remote atomics), late ones short
 * (an uneven tail is shared out finely); a rank that got costly chunks simply takes
 * fewer. Invariants: chunk k's bounds depend on (n, ranks, grain, k) only; the chunks
 * are disjoint, in index order by k, and cover [0, n) exactly. */
#include "dist_internal.h"

#include <weft/runtime.h>

static size_t ceil_div(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

/* The tail from `start`, `rest` indices in chunks of floor: its chunk count. A
 * remainder below grain joins the last whole chunk (there is one: rest > floor). */
static uint64_t tail_chunks(const weft__dist_sched *s, size_t rest)
{
    size_t whole = rest / s->floor, part = rest % s->floor;
    if (whole == 0)
        return rest ? 1 : 0;
    return whole + (part != 0 && part >= s->grain);
}

/* A round's chunk when `rest` indices are left: half the rest shared by the ranks,
 * but never more than the cap. */
static size_t round_chunk(const weft__dist_sched *s, size_t rest)
{
    size_t f = ceil_div(rest, 2 * s->ranks);
    return f < s->cap ? f : s->cap;
}

void weft__dist_sched_init(weft__dist_sched *s, size_t n, size_t ranks, size_t grain)
{
    s->n = n;
    s->ranks = ranks ? ranks : 1;
    s->grain = grain;
    size_t share = ceil_div(n, s->ranks * (size_t)WEFT__DIST_TAIL);
    s->floor = grain > share ? grain : share;
    if (s->floor == 0)
        s->floor = 1;
    s->cap = ceil_div(n, s->ranks * (size_t)WEFT__DIST_FIRST);
    if (s->cap < s->floor)
        s->cap = s->floor;
    /* Count the chunks: the rounds, then the tail. */
    uint64_t chunks = 0;
    size_t rest = n;
    while (rest > 0) {
        size_t f = round_chunk(s, rest);
        if (f <= s->floor) {
            chunks += rest <= s->floor ? 1 : tail_chunks(s, rest);
            break;
        }
        chunks += s->ranks;
        rest -= s->ranks * f; /* f > floor >= 1 means rest > 2 x ranks: the round fits */
    }
    s->chunks = chunks;
}

bool weft__dist_sched_chunk(const weft__dist_sched *s, uint64_t k, size_t *b, size_t *e)
{
    if (k >= s->chunks)
        return false;
    size_t start = 0, rest = s->n;
    for (;;) {
        size_t f = round_chunk(s, rest);
        if (f <= s->floor) {
            if (rest <= s->floor) {
                *b = start;
                *e = s->n;
                return true;
            }
            /* The tail: chunk k of floor each; the last one runs to the end. */
            uint64_t last = tail_chunks(s, rest) - 1;
            *b = start + (size_t)k * s->floor;
            *e = k == last ? s->n : *b + s->floor;
            return true;
        }
        if (k < s->ranks) {
            *b = start + (size_t)k * f;
            *e = *b + f;
            return true;
        }
        k -= s->ranks;
        start += s->ranks * f;
        rest -= s->ranks * f;
    }
}

size_t weft__dist_chunk_grain(size_t grain, size_t len)
{
    if (grain != 0)
        return grain;
    int threads = weft_pool_num_threads(NULL);
    size_t pieces = (size_t)(threads > 1 ? threads : 1) * WEFT__DIST_PIECES;
    return len / pieces > 1 ? len / pieces : 1;
}
