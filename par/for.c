/* for.c: weft_par_for (1-D), weft_par_for_2d (tiles) and weft_par_map, on the
 * splitter of splitter_internal.h and the runtime's join_context; and the 1-D loop
 * with a moving upper limit that the ordered searches run on (weft__par_for_below).
 *
 * Invariants: the sub-ranges handed to bodies are disjoint and cover the range
 * exactly once (each cut gives [lo, mid) and [mid, hi) with lo < mid < hi, computed
 * without overflow as lo + (hi - lo) / 2); with an explicit grain no chunk (no side
 * of a tile) is shorter than the grain unless the whole range (side) is — a range is
 * cut only when both halves keep at least a grain, and a 2-D probe runs whole units;
 * a chunk checks the loop's status word before it runs its body or cuts, so after a
 * failure no new chunk starts; the call returns only after every join has returned,
 * so no body runs after it. With a limit (weft__par_for_below), every thread claims
 * blocks from the front of one span, so indices start in increasing order, and a
 * block that starts at or above the limit is not run and stops its thread: the limit
 * only ever moves down, and the blocks a thread claims go up, so nothing after it
 * could run. */
#include "span_internal.h"
#include "splitter_internal.h"

#include <weft/par.h>
#include <weft/sync.h>
#include <weft/trace.h>

/* ------------------------------------------------------------------------------
 * 1-D */

/* An ordered loop's claims, adaptive: each thread starts at the probe's shortest
 * piece and doubles its claims while one takes less than ORDERED_CLAIM_NS (halves
 * them when one takes four times that). A claim is a CAS on a word every thread
 * claims from, so it must be long enough for that CAS to be a small part of it; and
 * the limit is checked between claims only, so it must be short: work past a match
 * is at most about one claim per thread. The probe's piece alone is not enough: for
 * cheap indices the clock's own cost inflates its per-index estimate several times. */
#define ORDERED_CLAIM_NS 16000u

typedef struct for_shared {
    weft_range_fn body;
    void *ctx;
    _Atomic int status;
    _Atomic size_t *limit; /* ordered: indices at or above it are not run */
    bool ordered;          /* a limit was given: every thread works from the front */
    size_t grain;          /* ordered: the explicit grain, or 0 */
} for_shared;

/* Is a chunk starting at b past the limit? Relaxed: the limit is a hint that saves
 * work (the bodies that lower it publish nothing through it), and the caller reads it
 * after the joins, which order every write to it. */
static inline bool for_past_limit(const for_shared *sh, size_t b)
{
    return b >= atomic_load_explicit(sh->limit, memory_order_relaxed);
}

typedef struct for_job {
    for_shared *sh;
    weft_splitter sp;
    size_t lo, hi;
} for_job;

static void for_node(void *arg, bool migrated)
{
    const for_job *j = arg;
    for_shared *sh = j->sh;
    if (weft__par_stopped(&sh->status))
        return;
    weft_splitter sp = j->sp;
    if (weft__splitter_try(&sp, j->hi - j->lo, migrated)) {
        size_t mid = j->lo + (j->hi - j->lo) / 2;
        for_job left = {sh, sp, j->lo, mid};
        for_job right = {sh, sp, mid, j->hi};
        int rc = weft_join_context(for_node, &left, for_node, &right);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        return;
    }
    int rc = sh->body(sh->ctx, j->lo, j->hi);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

/* Adaptive loops on more than one thread: spans (span_internal.h). The owner of a span
 * runs it in blocks with a steal offer on its deque: a thief that takes the offer cuts
 * the span's unclaimed rest in half and runs the upper half as a span of its own; an
 * offer the owner pops back finds nothing left. After a steal the owner offers again,
 * so a third thread can take half of what is still left. When the rest gets too short
 * to halve and no thief took any of it, the owner withdraws the offer (its join pops it
 * back) and runs the rest in one piece: a thread that finished its own part would
 * otherwise take the useless offer, and the owner would wait for it at the end. */
typedef struct for_span {
    for_shared *sh;
    weft_par_span span;
    size_t min_len;
    size_t len, min_tail; /* ordered: every claim's length, and the shortest rest */
} for_span;

static void for_span_run(for_shared *sh, size_t lo, size_t hi, size_t min_len);
static void for_span_offer(for_span *s);

static void for_span_steal(void *arg, bool migrated)
{
    (void)migrated;
    for_span *s = arg;
    size_t b, e;
    if (!weft__par_stopped(&s->sh->status) && weft__par_span_steal(&s->span, s->min_len, &b, &e))
        for_span_run(s->sh, b, e, s->min_len);
}

static void for_span_blocks(void *arg, bool migrated)
{
    (void)migrated;
    for_span *s = arg;
    for_shared *sh = s->sh;
    size_t b, e, left = weft__par_span_left(&s->span);
    bool taken = false;
    while (!weft__par_stopped(&sh->status) && weft__par_span_next(&s->span, &b, &e)) {
        int rc = sh->body(sh->ctx, b, e);
        if (rc != 0) {
            weft__par_fail(&sh->status, rc);
            return;
        }
        size_t now = weft__par_span_left(&s->span);
        if (now + (e - b) < left) {
            /* A thief took our offer (the rest shrank by more than our block): offer
             * again, for the next one. */
            taken = true;
            if (weft__par_span_stealable(now, s->min_len)) {
                for_span_offer(s);
                return;
            }
        } else if (!taken && !weft__par_span_stealable(now, s->min_len)) {
            return; /* withdraw the offer: for_span_offer runs the rest */
        }
        left = now;
    }
}

/* Ordered loops (weft__par_for_below): the owner and every thread that takes an offer
 * claim blocks from the front of one span, in index order, so the lowest indices run
 * first on any number of threads and a limit stops them all at once; a thief passes
 * the offer on to a further thread. (Halving would send a thief to the far end,
 * where an ordered search's answer is least likely: that work is wasted whenever the
 * answer lies below it.) */
static void ordered_blocks(void *arg, bool migrated)
{
    (void)migrated;
    for_span *s = arg;
    for_shared *sh = s->sh;
    size_t b, e, len = s->len;
    uint64_t t0 = sh->grain ? 0 : weft_time_now_ns();
    while (!weft__par_stopped(&sh->status) && weft__par_span_take(&s->span, len, s->min_tail, &b, &e)) {
        if (for_past_limit(sh, b))
            return; /* and so is every later block */
        int rc = sh->body(sh->ctx, b, e);
        if (rc != 0) {
            weft__par_fail(&sh->status, rc);
            return;
        }
        if (!sh->grain) { /* a grain is the claim; else tune it (ORDERED_CLAIM_NS) */
            uint64_t t1 = weft_time_now_ns(), dt = t1 - t0;
            t0 = t1;
            if (dt < ORDERED_CLAIM_NS && len <= SIZE_MAX / 2)
                len *= 2;
            else if (dt > 4u * ORDERED_CLAIM_NS && len > 1)
                len /= 2;
        }
    }
}

static void ordered_steal(void *arg, bool migrated)
{
    (void)migrated;
    for_span *s = arg;
    if (weft__par_stopped(&s->sh->status) || weft__par_span_left(&s->span) == 0 ||
        for_past_limit(s->sh, weft__par_span_front(&s->span)))
        return;
    int rc = weft_join_context(ordered_blocks, s, ordered_steal, s);
    if (rc != 0)
        weft__par_fail(&s->sh->status, rc);
}

/* s's blocks with an offer beside them; then, the offer withdrawn, what is left. */
static void for_span_offer(for_span *s)
{
    for_shared *sh = s->sh;
    size_t b, e;
    int rc = weft_join_context(for_span_blocks, s, for_span_steal, s);
    if (rc == 0 && !weft__par_stopped(&sh->status) && weft__par_span_take_rest(&s->span, &b, &e))
        rc = sh->body(sh->ctx, b, e);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

typedef struct for_wide {
    for_shared *sh;
    size_t lo, hi, min_len;
} for_wide;

static void for_wide_run(void *arg, bool migrated)
{
    (void)migrated;
    const for_wide *w = arg;
    for_span_run(w->sh, w->lo, w->hi, w->min_len);
}

static void for_span_run(for_shared *sh, size_t lo, size_t hi, size_t min_len)
{
    if (hi - lo > WEFT_PAR_SPAN_MAX) {
        /* Wider than a span's 32-bit offsets: halve it first. */
        size_t mid = lo + (hi - lo) / 2;
        for_wide left = {sh, lo, mid, min_len}, right = {sh, mid, hi, min_len};
        int rc = weft_join_context(for_wide_run, &left, for_wide_run, &right);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        return;
    }
    for_span s = {sh, {0, 0, 0, 0}, min_len, 0, 1};
    int rc;
    if (sh->ordered) {
        /* Claims of a grain (the last one takes a shorter rest with it, as a cut
         * would), or, adaptive, from the probe's piece (ORDERED_CLAIM_NS). */
        s.len = sh->grain ? sh->grain : min_len;
        s.min_tail = sh->grain ? sh->grain : 1;
        weft__par_span_init(&s.span, lo, hi, 1);
        rc = weft_join_context(ordered_blocks, &s, ordered_steal, &s);
    } else if (!weft__par_span_stealable(hi - lo, min_len)) {
        rc = weft__par_stopped(&sh->status) ? 0 : sh->body(sh->ctx, lo, hi);
    } else {
        weft__par_span_init(&s.span, lo, hi, min_len / 2 ? min_len / 2 : 1);
        for_span_offer(&s);
        return;
    }
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

typedef struct for_root {
    for_shared *sh;
    size_t lo, hi, grain;
    size_t min_len; /* adaptive: the probe's shortest leaf */
} for_root;

/* On a worker: cut and run [lo, hi). */
static void for_root_run(void *arg)
{
    const for_root *r = arg;
    /* A member of the pool here (weft_pool_execute): its pool's count, >= 1. */
    size_t threads = (size_t)weft_pool_num_threads(NULL);
    if (r->grain == 0 && threads == 1) {
        int rc = r->sh->body(r->sh->ctx, r->lo, r->hi);
        if (rc != 0)
            weft__par_fail(&r->sh->status, rc);
        return;
    }
    if (r->grain == 0 || r->sh->ordered) {
        for_span_run(r->sh, r->lo, r->hi, r->min_len);
        return;
    }
    for_job j = {r->sh, {0, 0, 0, 0}, r->lo, r->hi};
    weft__splitter_init(&j.sp, r->grain, threads);
    for_node(&j, false);
}

static int par_for(size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx,
                   _Atomic size_t *limit)
{
    if (lo > hi || !body)
        return -EINVAL;
    if (lo == hi)
        return 0;
    if (grain != 0 && !weft__par_cuttable(hi - lo, grain))
        return body(ctx, lo, hi); /* one chunk: no need for the pool */
    size_t min_len = 1;
    if (grain == 0) {
        /* One thread: the loop is one chunk, with no probe to pay for. */
        int threads = weft_pool_num_threads(NULL);
        if (threads <= 1)
            return threads < 0 ? threads : body(ctx, lo, hi);
        int rc = weft__par_probe(&lo, hi, body, ctx, (void (*)(void))body, ctx, &min_len);
        if (rc != 0 || lo == hi)
            return rc;
    }
    for_shared sh = {body, ctx, 0, limit, limit != NULL, grain};
    if (sh.ordered && for_past_limit(&sh, lo))
        return 0; /* what the probe ran lowered the limit below the rest */
    for_root root = {&sh, lo, hi, grain, min_len};
    int rc = weft_pool_execute(NULL, for_root_run, &root);
    if (rc != 0)
        return rc;
    if (grain == 0)
        weft__par_probe_report((void (*)(void))body, ctx);
    /* Relaxed: every chunk finished before enter returned (join and pool_run wait on
     * latches with acquire), which orders their status writes before this load. */
    return atomic_load_explicit(&sh.status, memory_order_relaxed);
}

/* While tracing, par_for runs the body through this: a "chunk" span per call. */
typedef struct traced_body {
    weft_range_fn body;
    void *ctx;
} traced_body;

static int traced_chunk(void *arg, size_t b, size_t e)
{
    const traced_body *t = arg;
    uint64_t t0 = weft__trace_begin();
    int rc = t->body(t->ctx, b, e);
    weft__trace_end(WEFT__TRACE_CHUNK, t0, b, e);
    return rc;
}

/* A "par_for" span around the loop, its chunks inside (on whichever thread ran them). */
static __attribute__((noinline, cold)) int par_for_traced(size_t lo, size_t hi, size_t grain, weft_range_fn body,
                                                         void *ctx, _Atomic size_t *limit)
{
    traced_body tb = {body, ctx};
    uint64_t t0 = weft__trace_begin();
    int rc = par_for(lo, hi, grain, body ? traced_chunk : NULL, &tb, limit);
    weft__trace_end(WEFT__TRACE_LOOP, t0, lo, hi);
    return rc;
}

int weft__par_for_below(size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx,
                        _Atomic size_t *limit)
{
    if (weft__trace_on())
        return par_for_traced(lo, hi, grain, body, ctx, limit);
    return par_for(lo, hi, grain, body, ctx, limit);
}

int weft_par_for(size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx)
{
    return weft__par_for_below(lo, hi, grain, body, ctx, NULL);
}

/* ------------------------------------------------------------------------------
 * 2-D: tiles of [0, rows) x [0, cols). A dimension is cut in halves; the one cut is
 * the longer in units of its grain (rows on a tie, which keeps row-major tiles wide).
 * A side is cut only while it holds two units, so each half keeps at least one: an
 * explicit grain is a minimum tile side, as in 1-D. Both grains given: cut while a
 * side can be (tile sides end in [grain, 2 x grain)). A grain of 0 makes the loop
 * adaptive (the splitter decides how deep to cut, as in 1-D), with that side's unit
 * the ADAPTIVE_*_UNIT below; the probe of an adaptive loop runs whole units, so it
 * keeps the other side's explicit grain too. */

/* Units of an adaptive (grain 0) dimension: single rows, and columns in runs of this
 * many cells (a tile narrower than a few cache lines is not worth a task). */
#define ADAPTIVE_ROW_UNIT 1u
#define ADAPTIVE_COL_UNIT 64u

typedef struct for2d_shared {
    weft_range2d_fn body;
    void *ctx;
    size_t row_unit, col_unit; /* the grains, 0 replaced by the adaptive units */
    bool adaptive;             /* a grain was 0: the splitter decides how deep to cut */
    _Atomic int status;
} for2d_shared;

typedef struct for2d_job {
    for2d_shared *sh;
    weft_splitter sp;
    size_t r0, r1, c0, c1;
} for2d_job;

static void for2d_node(void *arg, bool migrated)
{
    const for2d_job *j = arg;
    for2d_shared *sh = j->sh;
    if (weft__par_stopped(&sh->status))
        return;
    size_t rlen = j->r1 - j->r0, clen = j->c1 - j->c0;
    size_t runits = rlen / sh->row_unit, cunits = clen / sh->col_unit;
    bool rows_ok = weft__par_cuttable(rlen, sh->row_unit);
    bool cols_ok = weft__par_cuttable(clen, sh->col_unit);
    bool cut_cols = cols_ok && (!rows_ok || cunits > runits);
    weft_splitter sp = j->sp;
    if ((rows_ok || cols_ok) && weft__splitter_try(&sp, 2, migrated)) {
        for2d_job left = *j, right = *j;
        left.sp = right.sp = sp;
        if (cut_cols) {
            left.c1 = right.c0 = j->c0 + clen / 2;
        } else {
            left.r1 = right.r0 = j->r0 + rlen / 2;
        }
        int rc = weft_join_context(for2d_node, &left, for2d_node, &right);
        if (rc != 0)
            weft__par_fail(&sh->status, rc);
        return;
    }
    int rc = sh->body(sh->ctx, j->r0, j->r1, j->c0, j->c1);
    if (rc != 0)
        weft__par_fail(&sh->status, rc);
}

typedef struct for2d_root {
    for2d_shared *sh;
    size_t r0, r1, c0, c1;
} for2d_root;

static void for2d_root_run(void *arg)
{
    const for2d_root *r = arg;
    /* A member of the pool here (weft_pool_execute): its pool's count, >= 1. */
    size_t threads = (size_t)weft_pool_num_threads(NULL);
    if (r->sh->adaptive && threads == 1) {
        int rc = r->sh->body(r->sh->ctx, r->r0, r->r1, r->c0, r->c1);
        if (rc != 0)
            weft__par_fail(&r->sh->status, rc);
        return;
    }
    /* The splitter's own length test is satisfied by weft__par_cuttable (len 2 passed);
     * its grain stays 0 in adaptive mode and 1 ("always") in explicit mode. */
    for2d_job j = {r->sh, {0, 0, 0, 0}, r->r0, r->r1, r->c0, r->c1};
    weft__splitter_init(&j.sp, r->sh->adaptive ? 0 : 1, threads);
    for2d_node(&j, false);
}

/* Probe leaves: units [b, e) of the probed side (rows or columns), full length on the
 * other. Unit u covers [u x unit, (u + 1) x unit); the last also takes the remainder
 * (less than a unit), so every probe tile keeps at least a unit. */
typedef struct for2d_probe {
    const for2d_shared *sh;
    size_t rows, cols;
    size_t unit, units; /* of the probed side */
} for2d_probe;

static size_t for2d_probe_end(const for2d_probe *p, size_t e, size_t len)
{
    return e == p->units ? len : e * p->unit;
}

static int for2d_probe_rows(void *arg, size_t b, size_t e)
{
    const for2d_probe *p = arg;
    return p->sh->body(p->sh->ctx, b * p->unit, for2d_probe_end(p, e, p->rows), 0, p->cols);
}

static int for2d_probe_cols(void *arg, size_t b, size_t e)
{
    const for2d_probe *p = arg;
    return p->sh->body(p->sh->ctx, 0, p->rows, b * p->unit, for2d_probe_end(p, e, p->cols));
}

int weft_par_for_2d(size_t rows, size_t cols, size_t row_grain, size_t col_grain,
                    weft_range2d_fn body, void *ctx)
{
    if (!body)
        return -EINVAL;
    if (rows == 0 || cols == 0)
        return 0;
    for2d_shared sh = {body, ctx, row_grain ? row_grain : ADAPTIVE_ROW_UNIT,
                       col_grain ? col_grain : ADAPTIVE_COL_UNIT,
                       row_grain == 0 || col_grain == 0, 0};
    for2d_root root = {&sh, 0, rows, 0, cols};
    if (!weft__par_cuttable(rows, sh.row_unit) && !weft__par_cuttable(cols, sh.col_unit))
        return body(ctx, 0, rows, 0, cols);
    if (sh.adaptive) {
        /* Probe the side with more units (at least two: one side is cuttable). What it
         * leaves is whole units plus the remainder, so at least a unit. */
        for2d_probe p = {&sh, rows, cols, 0, 0};
        size_t done = 0, min_units; /* tiles are cut by units, not by time */
        int rc;
        if (rows / sh.row_unit >= cols / sh.col_unit) {
            p.unit = sh.row_unit;
            p.units = rows / sh.row_unit;
            rc = weft__par_probe(&done, p.units, for2d_probe_rows, &p, NULL, NULL, &min_units);
            if (rc != 0 || done == p.units)
                return rc;
            root.r0 = done * p.unit;
        } else {
            p.unit = sh.col_unit;
            p.units = cols / sh.col_unit;
            rc = weft__par_probe(&done, p.units, for2d_probe_cols, &p, NULL, NULL, &min_units);
            if (rc != 0 || done == p.units)
                return rc;
            root.c0 = done * p.unit;
        }
    }
    int rc = weft_pool_execute(NULL, for2d_root_run, &root);
    if (rc != 0)
        return rc;
    /* Relaxed: ordered by the joins' completion, as in weft_par_for. */
    return atomic_load_explicit(&sh.status, memory_order_relaxed);
}

/* ------------------------------------------------------------------------------
 * map: a par_for over element indices */

typedef struct map_ctx {
    const unsigned char *in;
    unsigned char *out;
    size_t in_size, out_size;
    weft_map_fn fn;
    void *ctx;
} map_ctx;

static int map_body(void *arg, size_t b, size_t e)
{
    const map_ctx *m = arg;
    const unsigned char *in = m->in + b * m->in_size;
    unsigned char *out = m->out + b * m->out_size;
    for (size_t i = b; i < e; i++, in += m->in_size, out += m->out_size)
        m->fn(m->ctx, in, out);
    return 0;
}

int weft_par_map(const void *in, void *out, size_t n, size_t in_size, size_t out_size,
                 weft_map_fn fn, void *ctx)
{
    if (in_size == 0 || out_size == 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    if (!in || !out || !fn || n > SIZE_MAX / in_size || n > SIZE_MAX / out_size)
        return -EINVAL;
    map_ctx m = {in, out, in_size, out_size, fn, ctx};
    return weft_par_for(0, n, 0, map_body, &m);
}
