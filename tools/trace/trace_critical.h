/* trace_critical.h: the critical span of a trace read by trace_read.h — the longest
 * chain of dependent work the trace records: the time no number of threads could
 * beat for this run's work (the "span" of work/span analysis). Header-only, so the
 * tests check it directly.
 *
 * What the trace gives (docs/api.md, "trace"):
 *  - frames: each job span (a stolen join half, a task, a scope task, a job handed to
 *    a pool), and, for each thread that calls into weft from outside (a track with a
 *    top-level span other than a job, an idle search, a steal or a park: a loop, a
 *    wait, a pool's creation or destruction), that thread's own
 *    code, a "thread frame": from its first top-level span's start to its last one's
 *    end, or from earlier when a job it waits for started earlier (the job was forked
 *    from it then; the thread's code before its first event is not in the trace);
 *  - inside a frame, on its thread: its waits (join wait, scope wait), its parks
 *    (blocked in a lock, a channel, a condvar), its loop chunks, and the other work
 *    the thread did in it (everything inside a wait: jobs, idle searches), which
 *    belongs to other frames. A frame's strand is its own time: its duration minus
 *    its waits and the jobs and idle spans directly inside it; a park is strand time
 *    (blocked: the frame could not go on, and the trace does not say who let it);
 *  - links: a join wait names the job it waits for (args.job: the job span with that
 *    args.job which started last before the wait ended); a scope wait names its scope
 *    (args.scope: each scope task of that scope that started after the scope's
 *    previous wait ended and before this one ended).
 *
 * The critical span is the longest path through the graph these make. A frame's
 * strand is a chain, except that a loop's chunks are independent (a par_for's
 * iterations are): consecutive chunks on a strand of one par_for (the one around
 * them on the caller's strand, or the frame's own loop in a stolen job) form a run,
 * which adds its longest chunk to the path, and the strand between them (the loop's
 * splitting) is not on the path. A chunk that holds a wait or a park is plain strand.
 * A job linked to a wait forks from the waiter's strand and joins it where the wait
 * ends. Fork points are not recorded (a join's fast path records
 * nothing): a job is taken to fork at the start of the stretch of its waiter's strand
 * (between two of the waiter's items) in which it started, or in which the wait began
 * if the job started later (a task spawned by another task, a half taken late). The
 * fork was made in that stretch or before it, and a thief takes the oldest fork
 * first: the time a job waited to be taken is not on the path. With L(t) the longest
 * path from a frame's start to point t of its strand:
 *
 *     L(start) = 0, and L grows with the strand's time;
 *     at the end of a wait W:  L = max(L(W's start), max over jobs X linked to W of
 *                                      L(fork of X) + span(X));
 *     span(frame) = L(end);
 *
 * and the critical span is the largest span of a root: a frame nothing waits for (a
 * thread frame, a job whose waiter's wait is not in the trace, a detached task).
 *
 * Not on the path: waiting itself (a join takes no time in the graph: the time from
 * a job's end to its waiter's resuming, and a job a thief took late, do not lengthen
 * it) and idle time. What the trace cannot see: a join half that no thief took ran
 * inline and recorded nothing, so its forks are part of its frame's strand: for a
 * fork-join recursion (fib) the span is that of the forks this run's thieves took,
 * near the run's time when every thread stayed busy, not the program's own; a loop's
 * chunks are not affected. Who spawned a scope task (taken to be the scope's owner),
 * and events a full ring dropped, make the span a lower bound.
 *
 * Work: the strand time of every frame, parks apart; work / critical span is the
 * run's parallelism, the most any number of threads could speed it up. Chunk work:
 * the part of the work in loop chunks (the rest is the runtime's and the program's
 * code around them: too fine a grain shows as a small part in chunks). */
#ifndef WEFT_TOOLS_TRACE_CRITICAL_H
#define WEFT_TOOLS_TRACE_CRITICAL_H

#include "trace_read.h"

enum { TC_OTHER, TC_JOB, TC_JWAIT, TC_SWAIT, TC_IDLE, TC_PARK, TC_STEAL, TC_SLEEP, TC_CHUNK, TC_LOOP };

static int tc_kind(const tr_event *e)
{
    if (strcmp(e->cat, "job") == 0)
        return TC_JOB;
    static const struct { const char *name; int kind; } by_name[] = {
        {"join wait", TC_JWAIT}, {"scope wait", TC_SWAIT}, {"idle", TC_IDLE}, {"park", TC_PARK},
        {"steal", TC_STEAL},     {"sleep", TC_SLEEP},      {"chunk", TC_CHUNK}, {"par_for", TC_LOOP},
    };
    for (size_t k = 0; k < sizeof by_name / sizeof by_name[0]; k++)
        if (strcmp(e->name, by_name[k].name) == 0)
            return by_name[k].kind;
    return TC_OTHER;
}

/* How the longest path reaches an item's end. */
enum { TC_ALONG, TC_VIA_JOB, TC_VIA_CHUNK };

/* A span directly on a frame's strand that the strand leaves out, marks or runs. */
typedef struct tc_item {
    const tr_event *e;
    int kind;              /* TC_JWAIT, TC_SWAIT, TC_PARK, TC_CHUNK; TC_IDLE, TC_JOB: other work */
    size_t child0, nchild; /* waits: the jobs linked to it, child[child0 ..] (frame indices) */
    size_t loop;           /* chunks: the par_for span it is in on this frame, or SIZE_MAX */
    int64_t run_end;       /* chunks: the end of that par_for, or of the frame */
    /* The longest path to the item's end (its work and blocked parts), and how:
     * TC_ALONG: from the previous item's end, adding `gap` of strand (and a park's
     * time); TC_VIA_JOB: the end of job frame `via` forked after item `from`
     * (SIZE_MAX: the frame's start); TC_VIA_CHUNK: this chunk run after the strand
     * gap before item `from`, the first chunk of its run. */
    int64_t lw, lb, gap;
    int how;
    size_t via, from;
} tc_item;

typedef struct tc_frame {
    const tr_event *job; /* the job span; NULL for a thread frame */
    long tid;
    int64_t start, end;
    size_t item0, nitem;
    bool linked;            /* a wait waits for it */
    int state;              /* 0: to do; 1: being computed; 2: done */
    int64_t span_w, span_b; /* its span: work and blocked parts */
    int64_t last_gap;       /* the strand after its last item, on the path */
    int64_t work, blocked;  /* its strand: work (chunks included) and parks */
    int64_t chunks;         /* the part of work in chunks */
} tc_frame;

/* A frame on the critical path, and the time the path spends in its strand. */
typedef struct tc_piece {
    long tid;
    char what[160];   /* the job's name, or "": the thread's own code (a copy: it outlives the trace) */
    int64_t work, blocked;
} tc_piece;

#define TC_TOP 5

typedef struct tc_result {
    bool any;              /* there was a frame */
    int64_t span;          /* the critical span (ns) = span_work + span_blocked */
    int64_t span_work, span_blocked;
    int64_t work, blocked; /* every frame's strand */
    int64_t chunk_work;    /* the part of work in loop chunks */
    long root_tid;         /* where the path ends */
    int64_t root_end;
    size_t jobs, threads;  /* on the path: job frames, threads */
    tc_piece top[TC_TOP];  /* the path's largest pieces, largest first */
    size_t ntop;
    bool more;             /* the path has more pieces than top */
} tc_result;

typedef struct tc_state {
    const tr_trace *t;
    tr_event **sp; /* spans by thread, start, outer first */
    size_t nsp;
    tc_frame *fr;
    size_t nfr;
    tc_item *it;
    size_t nit;
    size_t *child;
    size_t nchild;
    int64_t *piece_w, *piece_b; /* per frame, along the path */
} tc_state;

static int tc_cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

/* Jobs ordered by a key (their job or their scope), then by start. */
typedef struct tc_keyed {
    uint64_t key;
    int64_t ts;
    size_t frame;
} tc_keyed;

static int tc_cmp_keyed(const void *x, const void *y)
{
    const tc_keyed *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return tc_cmp_i64(a->ts, b->ts);
}

/* The first entry with key > k, or key == k and ts > ts. */
static size_t tc_upper(const tc_keyed *v, size_t n, uint64_t k, int64_t ts)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].key < k || (v[mid].key == k && v[mid].ts <= ts))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int64_t tc_end(const tr_event *e) { return e->ts + e->dur; }

/* Where a job that started at `ts`, linked to item k of f, forked from f's strand:
 * after the last item that ended before the stretch it (or the wait) started in
 * (see the top of this file); SIZE_MAX: the frame's start. */
static size_t tc_fork_item(const tc_state *s, const tc_frame *f, size_t k, int64_t ts)
{
    int64_t at = ts < s->it[f->item0 + k].e->ts ? ts : s->it[f->item0 + k].e->ts;
    for (size_t j = k; j-- > 0;) { /* items are disjoint and in order */
        const tc_item *m = &s->it[f->item0 + j];
        if (tc_end(m->e) <= at)
            return j;
        if (m->e->ts < at)
            at = m->e->ts; /* it started inside item j: the stretch before it */
    }
    return SIZE_MAX;
}

/* Strand time from `at` to `to`, but for the part inside an open run of chunks
 * (until run_end): the splitting between a loop's chunks is not on the path. */
static int64_t tc_strand(int64_t at, int64_t to, bool run, int64_t run_end)
{
    if (run && run_end > at)
        at = run_end;
    return to > at ? to - at : 0;
}

static void tc_span(tc_state *s, size_t fi)
{
    tc_frame *f = &s->fr[fi];
    if (f->state != 0)
        return; /* done, or a (bogus) cycle: its span so far */
    f->state = 1;
    int64_t lw = 0, lb = 0, at = f->start, left_out = 0, parked = 0;
    bool run = false;           /* a run of chunks of one loop is open */
    size_t run_loop = SIZE_MAX, run_first = 0;
    int64_t run_end = 0, base_w = 0, base_b = 0;
    for (size_t k = 0; k < f->nitem; k++) {
        tc_item *m = &s->it[f->item0 + k];
        int64_t b = m->e->ts, e = tc_end(m->e);
        m->gap = tc_strand(at, b, run, run_end);
        lw += m->gap;
        if (run && b >= run_end)
            run = false;
        m->how = TC_ALONG;
        if (m->kind == TC_CHUNK) {
            f->chunks += m->e->dur;
            if (!run || m->loop != run_loop) { /* a new run starts here */
                run = true;
                run_loop = m->loop;
                run_end = m->run_end;
                run_first = k;
                base_w = lw;
                base_b = lb;
            }
            if (base_w + base_b + m->e->dur > lw + lb) {
                lw = base_w + m->e->dur;
                lb = base_b;
                m->how = TC_VIA_CHUNK;
                m->from = run_first;
            }
        } else if (m->kind == TC_PARK) {
            lb += m->e->dur;
            parked += m->e->dur;
        } else {
            left_out += m->e->dur; /* waits, idle spans, nested jobs */
            for (size_t c = 0; c < m->nchild; c++) {
                size_t xi = s->child[m->child0 + c];
                tc_span(s, xi);
                const tc_frame *x = &s->fr[xi];
                size_t j = tc_fork_item(s, f, k, x->start);
                int64_t fw = j == SIZE_MAX ? 0 : s->it[f->item0 + j].lw;
                int64_t fb = j == SIZE_MAX ? 0 : s->it[f->item0 + j].lb;
                if (fw + fb + x->span_w + x->span_b > lw + lb) {
                    lw = fw + x->span_w;
                    lb = fb + x->span_b;
                    m->how = TC_VIA_JOB;
                    m->via = xi;
                    m->from = j;
                }
            }
        }
        m->lw = lw;
        m->lb = lb;
        at = e > at ? e : at;
    }
    f->last_gap = tc_strand(at, f->end, run, run_end);
    f->span_w = lw + f->last_gap;
    f->span_b = lb;
    f->work = f->end - f->start - left_out - parked;
    f->blocked = parked;
    f->state = 2;
}

/* Walk the longest path of frame fi back from its end, adding each frame's part. */
static void tc_walk(tc_state *s, size_t fi, int depth)
{
    const tc_frame *f = &s->fr[fi];
    s->piece_w[fi] += f->last_gap;
    size_t k = f->nitem;
    while (k > 0) {
        const tc_item *m = &s->it[f->item0 + k - 1];
        if (m->how == TC_VIA_JOB && depth < 100000) {
            tc_walk(s, m->via, depth + 1);
            k = m->from == SIZE_MAX ? 0 : m->from + 1;
        } else if (m->how == TC_VIA_CHUNK) {
            s->piece_w[fi] += m->e->dur + s->it[f->item0 + m->from].gap;
            k = m->from;
        } else {
            s->piece_w[fi] += m->gap;
            if (m->kind == TC_PARK)
                s->piece_b[fi] += m->e->dur;
            k--;
        }
    }
}

static int tc_cmp_item(const void *x, const void *y)
{
    const tc_item *a = x, *b = y;
    return tc_cmp_i64(a->e->ts, b->e->ts);
}

static inline void tc_compute(const tr_trace *t, tc_result *r)
{
    memset(r, 0, sizeof *r);
    tc_state s = {.t = t};
    size_t n = t->n + 1;
    s.sp = malloc(n * sizeof *s.sp);
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].ph == 'X')
            s.sp[s.nsp++] = &t->ev[i];
    qsort(s.sp, s.nsp, sizeof *s.sp, tr_cmp_span);
    /* Frames: one per job span, one per outside thread; each span's frame and cover
     * (the nearest enclosing job, wait or idle span). */
    size_t *frame_of = malloc(n * sizeof *frame_of), *cover = malloc(n * sizeof *cover),
           *stack = malloc(n * sizeof *stack), *thread_frame = malloc(n * sizeof *thread_frame),
           *parent = malloc(n * sizeof *parent);
    s.fr = calloc(n + s.nsp, sizeof *s.fr);
    size_t depth = 0;
    for (size_t i = 0; i < s.nsp; i++) {
        const tr_event *e = s.sp[i];
        if (i == 0 || s.sp[i - 1]->tid != e->tid) {
            depth = 0;
            thread_frame[i] = SIZE_MAX;
        } else {
            thread_frame[i] = thread_frame[i - 1];
        }
        while (depth && s.sp[stack[depth - 1]]->ts + s.sp[stack[depth - 1]]->dur <= e->ts)
            depth--;
        parent[i] = depth ? stack[depth - 1] : SIZE_MAX;
        cover[i] = SIZE_MAX; /* a span index */
        for (size_t d = depth; d-- > 0;) {
            int k = tc_kind(s.sp[stack[d]]);
            if (k == TC_JOB || k == TC_JWAIT || k == TC_SWAIT || k == TC_IDLE) {
                cover[i] = stack[d];
                break;
            }
        }
        int kind = tc_kind(e);
        frame_of[i] = SIZE_MAX;
        for (size_t d = depth; d-- > 0;)
            if (tc_kind(s.sp[stack[d]]) == TC_JOB) {
                frame_of[i] = stack[d]; /* a span index for now */
                break;
            }
        /* An outside thread: a weft call at its top level (a worker's top level holds
         * only jobs, idle searches, steals and parks; a thread that only parks, on
         * locks or channels, has nothing the graph links). */
        if (depth == 0 && kind != TC_JOB && kind != TC_IDLE && kind != TC_STEAL && kind != TC_SLEEP && kind != TC_PARK &&
            thread_frame[i] == SIZE_MAX) {
            tc_frame *tf = &s.fr[s.nfr];
            tf->tid = e->tid;
            tf->start = e->ts;
            thread_frame[i] = s.nfr++;
        }
        stack[depth++] = i;
    }
    /* Thread frames cover their thread's top-level spans; thread_frame[] holds, at a
     * thread's last span, its frame (if any): carry it back over the thread. */
    for (size_t i = s.nsp; i-- > 0;)
        if (i + 1 < s.nsp && s.sp[i + 1]->tid == s.sp[i]->tid)
            thread_frame[i] = thread_frame[i + 1];
    for (size_t k = 0; k < s.nfr; k++) {
        tc_frame *tf = &s.fr[k];
        tf->end = tf->start;
    }
    for (size_t i = 0; i < s.nsp; i++) {
        size_t tf = thread_frame[i];
        if (tf != SIZE_MAX && s.sp[i]->ts < s.fr[tf].start)
            s.fr[tf].start = s.sp[i]->ts;
        if (tf != SIZE_MAX && s.sp[i]->ts + s.sp[i]->dur > s.fr[tf].end)
            s.fr[tf].end = s.sp[i]->ts + s.sp[i]->dur;
    }
    size_t *job_frame = malloc(n * sizeof *job_frame);
    for (size_t i = 0; i < s.nsp; i++) {
        job_frame[i] = SIZE_MAX;
        if (tc_kind(s.sp[i]) == TC_JOB) {
            tc_frame *f = &s.fr[s.nfr];
            f->job = s.sp[i];
            f->tid = s.sp[i]->tid;
            f->start = s.sp[i]->ts;
            f->end = s.sp[i]->ts + s.sp[i]->dur;
            job_frame[i] = s.nfr++;
        }
    }
    /* Items: the spans on their frame's strand (cover: the frame's job, or none in a
     * thread frame): waits, parks, idle spans, nested jobs, and the chunks that hold
     * none of those and are in no such chunk (a chunk that holds a wait or a park is
     * strand like the loop code around it). */
    s.it = calloc(n, sizeof *s.it);
    size_t *item_frame = malloc(n * sizeof *item_frame);
    bool *holds = calloc(n, sizeof *holds); /* a chunk that holds an item of its frame */
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s.nsp; i++) {
            int kind = tc_kind(s.sp[i]);
            if (kind != TC_JWAIT && kind != TC_SWAIT && kind != TC_PARK && kind != TC_IDLE && kind != TC_JOB &&
                kind != TC_CHUNK)
                continue;
            size_t f = frame_of[i] != SIZE_MAX ? job_frame[frame_of[i]] : thread_frame[i];
            if (f == SIZE_MAX || cover[i] != frame_of[i])
                continue; /* a worker's top level, or inside a wait, an idle span or a nested job */
            if (pass == 0) { /* mark the chunks around the items that are not chunks */
                for (size_t a = parent[i]; kind != TC_CHUNK && a != SIZE_MAX && a != frame_of[i]; a = parent[a])
                    holds[a] |= tc_kind(s.sp[a]) == TC_CHUNK;
                continue;
            }
            tc_item m = {.e = s.sp[i], .kind = kind, .loop = SIZE_MAX, .run_end = s.fr[f].end};
            bool whole = false; /* inside a chunk that is an item */
            for (size_t a = parent[i]; a != SIZE_MAX && a != frame_of[i]; a = parent[a]) {
                whole |= tc_kind(s.sp[a]) == TC_CHUNK && !holds[a];
                if (tc_kind(s.sp[a]) == TC_LOOP && m.loop == SIZE_MAX) {
                    m.loop = a;
                    m.run_end = tc_end(s.sp[a]);
                }
            }
            if (whole || (kind == TC_CHUNK && holds[i]))
                continue;
            s.it[s.nit] = m;
            item_frame[s.nit++] = f;
        }
    free(holds);
    /* Group the items by frame, in time order. */
    size_t *count = calloc(s.nfr + 1, sizeof *count);
    for (size_t k = 0; k < s.nit; k++)
        count[item_frame[k]]++;
    for (size_t f = 0, at = 0; f < s.nfr; f++) {
        s.fr[f].item0 = at;
        at += count[f];
        count[f] = 0;
    }
    tc_item *grouped = calloc(n, sizeof *grouped);
    for (size_t k = 0; k < s.nit; k++) {
        tc_frame *f = &s.fr[item_frame[k]];
        grouped[f->item0 + f->nitem++] = s.it[k];
    }
    free(s.it);
    s.it = grouped;
    for (size_t f = 0; f < s.nfr; f++)
        qsort(s.it + s.fr[f].item0, s.fr[f].nitem, sizeof *s.it, tc_cmp_item);
    /* Links. */
    tc_keyed *by_job = malloc(n * sizeof *by_job), *by_scope = malloc(n * sizeof *by_scope),
             *swaits = malloc(n * sizeof *swaits);
    size_t njob = 0, nscope = 0, nswait = 0;
    for (size_t f = 0; f < s.nfr; f++) {
        const tr_event *j = s.fr[f].job;
        if (j && j->job)
            by_job[njob++] = (tc_keyed){j->job, j->ts, f};
        if (j && j->scope)
            by_scope[nscope++] = (tc_keyed){j->scope, j->ts, f};
        for (size_t k = 0; k < s.fr[f].nitem; k++) {
            const tr_event *w = s.it[s.fr[f].item0 + k].e;
            if (s.it[s.fr[f].item0 + k].kind == TC_SWAIT && w->scope)
                swaits[nswait++] = (tc_keyed){w->scope, w->ts + w->dur, f};
        }
    }
    qsort(by_job, njob, sizeof *by_job, tc_cmp_keyed);
    qsort(by_scope, nscope, sizeof *by_scope, tc_cmp_keyed);
    qsort(swaits, nswait, sizeof *swaits, tc_cmp_keyed);
    s.child = malloc(n * sizeof *s.child);
    for (size_t f = 0; f < s.nfr; f++) {
        tc_frame *fr = &s.fr[f];
        for (size_t k = 0; k < fr->nitem; k++) {
            tc_item *m = &s.it[fr->item0 + k];
            int64_t wend = m->e->ts + m->e->dur;
            m->child0 = s.nchild;
            if (m->kind == TC_JWAIT && m->e->job) {
                size_t u = tc_upper(by_job, njob, m->e->job, wend);
                if (u > 0 && by_job[u - 1].key == m->e->job && by_job[u - 1].frame != f &&
                    (!fr->job || by_job[u - 1].ts >= fr->start)) {
                    s.child[s.nchild++] = by_job[u - 1].frame;
                    s.fr[by_job[u - 1].frame].linked = true;
                }
            } else if (m->kind == TC_SWAIT && m->e->scope) {
                /* After the scope's previous wait: the latest other wait that ended
                 * before this one began. */
                int64_t after = fr->job ? fr->start - 1 : INT64_MIN;
                size_t p = tc_upper(swaits, nswait, m->e->scope, m->e->ts);
                if (p > 0 && swaits[p - 1].key == m->e->scope && swaits[p - 1].ts > after)
                    after = swaits[p - 1].ts;
                size_t u = tc_upper(by_scope, nscope, m->e->scope, wend);
                for (size_t c = u; c-- > 0 && by_scope[c].key == m->e->scope && by_scope[c].ts > after;)
                    if (by_scope[c].frame != f) {
                        s.child[s.nchild++] = by_scope[c].frame;
                        s.fr[by_scope[c].frame].linked = true;
                    }
            }
            m->nchild = s.nchild - m->child0;
            /* A thread frame reaches back to the start of a job forked from it. */
            for (size_t c = m->child0; !fr->job && c < s.nchild; c++)
                if (s.fr[s.child[c]].start < fr->start)
                    fr->start = s.fr[s.child[c]].start;
        }
    }
    /* Spans, work, the longest root. */
    size_t best = SIZE_MAX;
    for (size_t f = 0; f < s.nfr; f++) {
        tc_span(&s, f);
        r->work += s.fr[f].work;
        r->blocked += s.fr[f].blocked;
        r->chunk_work += s.fr[f].chunks;
        int64_t sp = s.fr[f].span_w + s.fr[f].span_b;
        if (!s.fr[f].linked &&
            (best == SIZE_MAX || sp > s.fr[best].span_w + s.fr[best].span_b ||
             (sp == s.fr[best].span_w + s.fr[best].span_b && s.fr[f].end > s.fr[best].end)))
            best = f;
    }
    if (best != SIZE_MAX) {
        r->any = true;
        r->span_work = s.fr[best].span_w;
        r->span_blocked = s.fr[best].span_b;
        r->span = r->span_work + r->span_blocked;
        r->root_tid = s.fr[best].tid;
        r->root_end = s.fr[best].end;
        s.piece_w = calloc(s.nfr + 1, sizeof *s.piece_w);
        s.piece_b = calloc(s.nfr + 1, sizeof *s.piece_b);
        tc_walk(&s, best, 0);
        long *tids = malloc((s.nfr + 1) * sizeof *tids);
        size_t npieces = 0;
        for (size_t f = 0; f < s.nfr; f++) {
            if (s.piece_w[f] + s.piece_b[f] <= 0 && f != best)
                continue;
            r->jobs += s.fr[f].job != NULL;
            npieces++;
            size_t k = 0;
            while (k < r->threads && tids[k] != s.fr[f].tid)
                k++;
            if (k == r->threads)
                tids[r->threads++] = s.fr[f].tid;
            tc_piece p = {.tid = s.fr[f].tid, .work = s.piece_w[f], .blocked = s.piece_b[f]};
            snprintf(p.what, sizeof p.what, "%s", s.fr[f].job ? s.fr[f].job->name : "");
            size_t at = r->ntop < TC_TOP ? r->ntop++ : TC_TOP;
            while (at > 0 && r->top[at - 1].work + r->top[at - 1].blocked < p.work + p.blocked) {
                if (at < TC_TOP)
                    r->top[at] = r->top[at - 1];
                at--;
            }
            if (at < TC_TOP)
                r->top[at] = p;
        }
        r->more = npieces > r->ntop;
        free(tids);
        free(s.piece_w);
        free(s.piece_b);
    }
    free(s.child);
    free(by_job);
    free(by_scope);
    free(swaits);
    free(count);
    free(item_frame);
    free(job_frame);
    free(frame_of);
    free(cover);
    free(stack);
    free(thread_frame);
    free(parent);
    free(s.it);
    free(s.fr);
    free(s.sp);
}

#endif
