/* trace_read.h: reads back a trace written by weft_trace_stop, for weft-trace and the
 * trace tests (tests/runtime/trace_testlib.h): a strict JSON parser (RFC 8259, no
 * extensions; a fresh Debian 12 has no python3 to check with), then the trace's shape:
 *  - the top level is {"traceEvents": [...] , ...} and every event has ph, name,
 *    pid and tid;
 *  - one track per thread: every tid with an "X" or "i" event has exactly one
 *    thread_name metadata event;
 *  - spans nest per thread: ts <= ts + dur, and two spans of one thread are either
 *    disjoint or one inside the other (times compared in whole nanoseconds, as
 *    written).
 * trace_read returns NULL with a message on stderr when any of that fails. */
#ifndef WEFT_TOOLS_TRACE_READ_H
#define WEFT_TOOLS_TRACE_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- JSON */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jval {
    int type;
    double num;
    char *str;
    struct jval *items; /* array items or object values */
    char **keys;        /* object keys */
    size_t n, cap;      /* items, and room for them (doubled as needed) */
} jval;

typedef struct jparser {
    const char *p, *end;
    const char *err;
} jparser;

static void j_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool j_fail(jparser *j, const char *why)
{
    if (!j->err)
        j->err = why;
    return false;
}

static bool j_string(jparser *j, char **out)
{
    if (j->p >= j->end || *j->p != '"')
        return j_fail(j, "expected a string");
    j->p++;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) {
            free(s);
            return j_fail(j, "control character in a string");
        }
        if (c == '\\') {
            if (j->p >= j->end)
                break;
            char e = *j->p++;
            if (e == 'u') {
                for (int k = 0; k < 4; k++)
                    if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p++)) {
                        free(s);
                        return j_fail(j, "bad \\u escape");
                    }
                c = '?';
            } else if (strchr("\"\\/bfnrt", e)) {
                c = (unsigned char)(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
            } else {
                free(s);
                return j_fail(j, "bad escape");
            }
        }
        if (len + 2 > cap)
            s = realloc(s, cap *= 2);
        s[len++] = (char)c;
    }
    if (j->p >= j->end) {
        free(s);
        return j_fail(j, "unterminated string");
    }
    j->p++;
    s[len] = '\0';
    *out = s;
    return true;
}

static bool j_number(jparser *j, double *out)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return j_fail(j, "bad number");
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return j_fail(j, "bad fraction");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return j_fail(j, "bad exponent");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    char buf[64];
    size_t n = (size_t)(j->p - s);
    if (n >= sizeof buf)
        return j_fail(j, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static bool j_value(jparser *j, jval *v, int depth);

static bool j_push(jparser *j, jval *v, char *key, int depth)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 8;
        v->items = realloc(v->items, v->cap * sizeof *v->items);
        if (v->type == J_OBJ)
            v->keys = realloc(v->keys, v->cap * sizeof *v->keys);
    }
    if (v->type == J_OBJ)
        v->keys[v->n] = key;
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    return j_value(j, &v->items[v->n++], depth + 1);
}

static bool j_value(jparser *j, jval *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > 64)
        return j_fail(j, "nested too deep");
    j_ws(j);
    if (j->p >= j->end)
        return j_fail(j, "unexpected end");
    char c = *j->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        char close = c == '{' ? '}' : ']';
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            char *key = NULL;
            if (v->type == J_OBJ) {
                j_ws(j);
                if (!j_string(j, &key))
                    return false;
                j_ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return free(key), j_fail(j, "expected ':'");
            }
            if (!j_push(j, v, key, depth))
                return false;
            j_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return true;
            }
            return j_fail(j, "expected ',' or a close");
        }
    }
    if (c == '"') {
        v->type = J_STR;
        return j_string(j, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        v->type = J_NUM;
        return j_number(j, &v->num);
    }
    static const struct { const char *w; int type; double num; } words[] = {
        {"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(words[k].w);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[k].w, n) == 0) {
            j->p += n;
            v->type = words[k].type;
            v->num = words[k].num;
            return true;
        }
    }
    return j_fail(j, "unexpected character");
}

static void j_free(jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        j_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

static const jval *j_get(const jval *o, const char *key)
{
    if (!o || o->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

/* ---------------------------------------------------------------- the trace */

typedef struct tr_event {
    char ph;
    char name[160];
    char cat[16];
    long tid;
    int64_t ts, dur; /* nanoseconds */
    bool has_range;
    uint64_t begin, end; /* args.begin / args.end (chunks, loops) */
    uint64_t job, scope; /* args.job / args.scope: what a wait waits for, what a job is (0: none) */
    uint64_t dropped;    /* args.dropped (dropped_events metadata) */
    uint64_t searches;   /* args.searches (idle spans) */
    char thread_name[64]; /* thread_name metadata */
} tr_event;

typedef struct tr_trace {
    tr_event *ev;
    size_t n;
    uint64_t total_dropped;
} tr_trace;

static int64_t tr_ns(double us) { return (int64_t)(us * 1000.0 + (us >= 0 ? 0.5 : -0.5)); }

static int tr_cmp_span(const void *x, const void *y)
{
    const tr_event *a = *(tr_event *const *)x, *b = *(tr_event *const *)y;
    if (a->tid != b->tid)
        return a->tid < b->tid ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->dur > b->dur ? -1 : a->dur < b->dur; /* the outer span first */
}

static void trace_free(tr_trace *t)
{
    if (t) {
        free(t->ev);
        free(t);
    }
}

/* Spans nest per thread; one thread_name per thread with events. */
static bool trace_check_shape(const tr_trace *t)
{
    tr_event **spans = malloc((t->n + 1) * sizeof *spans);
    size_t m = 0;
    bool ok = true;
    for (size_t i = 0; i < t->n; i++) {
        const tr_event *e = &t->ev[i];
        if ((e->ph == 'X' || e->ph == 'i') && (i == 0 || t->ev[i - 1].tid != e->tid)) { /* once per run of a tid */
            int names = 0;
            for (size_t k = 0; k < t->n; k++)
                names += t->ev[k].ph == 'M' && t->ev[k].tid == e->tid && t->ev[k].thread_name[0];
            if (names != 1) {
                fprintf(stderr, "trace: tid %ld has %d thread_name events\n", e->tid, names);
                ok = false;
                break;
            }
        }
        if (e->ph == 'X') {
            if (e->dur < 0 || e->ts < 0) {
                fprintf(stderr, "trace: span %s has ts %lld, dur %lld\n", e->name, (long long)e->ts,
                        (long long)e->dur);
                ok = false;
            }
            spans[m++] = &t->ev[i];
        }
    }
    qsort(spans, m, sizeof *spans, tr_cmp_span);
    tr_event **stack = malloc((m + 1) * sizeof *stack);
    size_t depth = 0;
    for (size_t i = 0; ok && i < m; i++) {
        tr_event *e = spans[i];
        if (depth && stack[depth - 1]->tid != e->tid)
            depth = 0;
        while (depth && stack[depth - 1]->ts + stack[depth - 1]->dur <= e->ts) /* ended: a sibling */
            depth--;
        if (depth && e->ts + e->dur > stack[depth - 1]->ts + stack[depth - 1]->dur) {
            const tr_event *p = stack[depth - 1];
            fprintf(stderr, "trace: tid %ld: %s [%lld, %lld] overlaps %s [%lld, %lld]\n", e->tid, e->name,
                    (long long)e->ts, (long long)(e->ts + e->dur), p->name, (long long)p->ts,
                    (long long)(p->ts + p->dur));
            ok = false;
        }
        stack[depth++] = e;
    }
    free(stack);
    free(spans);
    return ok;
}

/* Read and check the trace at path (see the top of this file); NULL on failure. */
static tr_trace *trace_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "trace: cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, r;
    char *text = malloc(cap);
    while ((r = fread(text + len, 1, cap - len, f)) > 0)
        if ((len += r) == cap)
            text = realloc(text, cap *= 2);
    fclose(f);
    jparser j = {text, text + len, NULL};
    jval root;
    bool ok = j_value(&j, &root, 0);
    j_ws(&j);
    if (ok && j.p != j.end)
        ok = j_fail(&j, "trailing characters");
    if (!ok) {
        fprintf(stderr, "trace: %s: invalid JSON at offset %zu: %s\n", path, (size_t)(j.p - text), j.err);
        j_free(&root);
        free(text);
        return NULL;
    }
    free(text);
    const jval *events = j_get(&root, "traceEvents");
    tr_trace *t = calloc(1, sizeof *t);
    if (!events || events->type != J_ARR) {
        fprintf(stderr, "trace: no traceEvents array\n");
        ok = false;
    } else {
        t->ev = calloc(events->n + 1, sizeof *t->ev);
        for (size_t i = 0; ok && i < events->n; i++) {
            const jval *o = &events->items[i], *ph = j_get(o, "ph"), *name = j_get(o, "name"),
                       *pid = j_get(o, "pid"), *tid = j_get(o, "tid"), *args = j_get(o, "args");
            if (!ph || ph->type != J_STR || !name || name->type != J_STR || !pid || pid->type != J_NUM || !tid ||
                tid->type != J_NUM) {
                fprintf(stderr, "trace: event %zu lacks ph, name, pid or tid\n", i);
                ok = false;
                break;
            }
            tr_event *e = &t->ev[t->n++];
            e->ph = ph->str[0];
            snprintf(e->name, sizeof e->name, "%s", name->str);
            e->tid = (long)tid->num;
            const jval *cat = j_get(o, "cat"), *ts = j_get(o, "ts"), *dur = j_get(o, "dur");
            if (cat && cat->type == J_STR)
                snprintf(e->cat, sizeof e->cat, "%s", cat->str);
            if (e->ph == 'X' || e->ph == 'i') {
                if (!ts || ts->type != J_NUM || (e->ph == 'X' && (!dur || dur->type != J_NUM))) {
                    fprintf(stderr, "trace: event %zu (%s) lacks ts or dur\n", i, e->name);
                    ok = false;
                    break;
                }
                e->ts = tr_ns(ts->num);
                e->dur = dur ? tr_ns(dur->num) : 0;
            }
            const jval *b = j_get(args, "begin"), *en = j_get(args, "end"), *d = j_get(args, "dropped"),
                       *tn = j_get(args, "name");
            if (b && en && b->type == J_NUM && en->type == J_NUM) {
                e->has_range = true;
                e->begin = (uint64_t)b->num;
                e->end = (uint64_t)en->num;
            }
            if (d && d->type == J_NUM)
                e->dropped = (uint64_t)d->num;
            const jval *se = j_get(args, "searches");
            if (se && se->type == J_NUM)
                e->searches = (uint64_t)se->num;
            const jval *jb = j_get(args, "job"), *sc = j_get(args, "scope");
            if (jb && jb->type == J_STR)
                e->job = strtoull(jb->str, NULL, 16);
            if (sc && sc->type == J_STR)
                e->scope = strtoull(sc->str, NULL, 16);
            if (e->ph == 'M' && strcmp(e->name, "thread_name") == 0 && tn && tn->type == J_STR)
                snprintf(e->thread_name, sizeof e->thread_name, "%s", tn->str);
        }
        const jval *other = j_get(&root, "otherData"), *td = j_get(other, "dropped_events");
        if (td && td->type == J_NUM)
            t->total_dropped = (uint64_t)td->num;
    }
    j_free(&root);
    if (ok)
        ok = trace_check_shape(t);
    if (!ok) {
        trace_free(t);
        return NULL;
    }
    return t;
}

/* How many events have this ph and name (NULL: any name)? */
static inline size_t trace_count(const tr_trace *t, char ph, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += t->ev[i].ph == ph && (!name || strcmp(t->ev[i].name, name) == 0);
    return c;
}

/* The tid of the thread named `name` (its thread_name), or -1. */
static inline long trace_tid(const tr_trace *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].ph == 'M' && strcmp(t->ev[i].thread_name, name) == 0)
            return t->ev[i].tid;
    return -1;
}

#endif
