/* validate_results.c: checks a weft-bench --json file against the constraints of
 * bench/results.schema.json, without python or a JSON Schema library: a minimal strict
 * JSON parser (RFC 8259: objects, arrays, strings with escapes, numbers, true/false/
 * null; duplicate keys rejected) builds a tree, then a table per object kind mirrors
 * the schema's properties (type, required, no additional properties, minimum /
 * exclusiveMinimum, minLength) plus its few special rules (impl pattern, unit pattern
 * "/s$", "better" enum, the threads array). Keep the tables in step with the schema.
 *
 * Usage: weft-bench-validate FILE. Exit 0: valid; 1: invalid (every problem is printed
 * with its JSON path); 2: usage or I/O error. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------
 * JSON tree and parser */

typedef enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype type;
    bool boolean;
    bool integer; /* J_NUM written without fraction or exponent */
    double num;
    char *str;          /* J_STR */
    struct jval *items; /* J_ARR, J_OBJ: n values */
    char **keys;        /* J_OBJ: n keys */
    size_t n;
} jval;

typedef struct parser {
    const char *p, *end;
    const char *err; /* first syntax error, or NULL */
    const char *err_at;
    int depth;
} parser;

static void *xalloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "validate_results: out of memory\n");
        exit(2);
    }
    return q;
}

static bool fail(parser *ps, const char *msg)
{
    if (!ps->err) {
        ps->err = msg;
        ps->err_at = ps->p;
    }
    return false;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected token");
    ps->p += n;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool parse_string(parser *ps, char **out)
{
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "expected a string");
    ps->p++;
    size_t cap = 16, n = 0;
    char *s = xalloc(NULL, cap);
    for (;;) {
        if (ps->p >= ps->end) {
            free(s);
            return fail(ps, "unterminated string");
        }
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(s);
            return fail(ps, "control character in a string");
        }
        if (n + 8 > cap)
            s = xalloc(s, cap *= 2);
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end) {
            free(s);
            return fail(ps, "unterminated escape");
        }
        char e = *ps->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            s[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
        } else if (e == 'u') {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = ps->p < ps->end ? hexval(*ps->p) : -1;
                if (h < 0) {
                    free(s);
                    return fail(ps, "bad \\u escape");
                }
                cp = cp * 16 + (unsigned)h;
                ps->p++;
            }
            /* UTF-8 (a surrogate half is kept as is: only lengths and ASCII matter here) */
            if (cp < 0x80) {
                s[n++] = (char)cp;
            } else if (cp < 0x800) {
                s[n++] = (char)(0xc0 | cp >> 6);
                s[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                s[n++] = (char)(0xe0 | cp >> 12);
                s[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            }
        } else {
            free(s);
            return fail(ps, "bad escape");
        }
    }
    s[n] = '\0';
    *out = s;
    return true;
}

/* The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool parse_number(parser *ps, jval *v)
{
    const char *s = ps->p, *q = s;
    bool integer = true;
    if (q < ps->end && *q == '-')
        q++;
    if (q < ps->end && *q == '0')
        q++;
    else if (q < ps->end && *q >= '1' && *q <= '9')
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    else
        return fail(ps, "bad number");
    if (q < ps->end && *q == '.') {
        integer = false;
        if (++q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integer = false;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    char buf[64];
    size_t len = (size_t)(q - s);
    if (len >= sizeof buf)
        return fail(ps, "number too long");
    memcpy(buf, s, len);
    buf[len] = '\0';
    v->type = J_NUM;
    v->num = strtod(buf, NULL);
    v->integer = integer;
    ps->p = q;
    return true;
}

static void free_val(jval *v);

static bool parse_value(parser *ps, jval *v)
{
    memset(v, 0, sizeof *v);
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    if (++ps->depth > 64)
        return fail(ps, "nested too deep");
    bool ok = true;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        v->type = obj ? J_OBJ : J_ARR;
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
            ps->p++;
        } else {
            for (;;) {
                /* the new slot is zeroed and counted before it is filled, so free_val
                 * frees whatever a failed parse left in it */
                v->items = xalloc(v->items, (v->n + 1) * sizeof *v->items);
                memset(&v->items[v->n], 0, sizeof v->items[v->n]);
                if (obj) {
                    v->keys = xalloc(v->keys, (v->n + 1) * sizeof *v->keys);
                    skip_ws(ps);
                    char *key = NULL;
                    if (!parse_string(ps, &key)) {
                        ok = false;
                        break;
                    }
                    for (size_t i = 0; i < v->n && ok; i++)
                        if (!strcmp(v->keys[i], key))
                            ok = fail(ps, "duplicate key");
                    v->keys[v->n++] = key;
                    skip_ws(ps);
                    if (ok && (ps->p >= ps->end || *ps->p++ != ':'))
                        ok = fail(ps, "expected ':'");
                } else {
                    v->n++;
                }
                if (!ok || !parse_value(ps, &v->items[v->n - 1])) {
                    ok = false;
                    break;
                }
                skip_ws(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                    ps->p++;
                    continue;
                }
                if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
                    ps->p++;
                    break;
                }
                ok = fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
                break;
            }
        }
    } else if (c == '"') {
        v->type = J_STR;
        ok = parse_string(ps, &v->str);
    } else if (c == 't' || c == 'f') {
        v->type = J_BOOL;
        v->boolean = c == 't';
        ok = literal(ps, c == 't' ? "true" : "false");
    } else if (c == 'n') {
        ok = literal(ps, "null");
    } else {
        ok = parse_number(ps, v);
    }
    ps->depth--;
    return ok;
}

static void free_val(jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free_val(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

/* ------------------------------------------------------------------------------
 * The schema's constraints */

enum { T_NULL = 1, T_BOOL = 2, T_INT = 4, T_NUM = 8, T_STR = 16, T_ARR = 32, T_OBJ = 64 };
enum { MIN_NONE, MIN_INCL, MIN_EXCL };

typedef struct field {
    const char *name;
    unsigned types; /* T_NUM includes integers */
    int min_kind;
    double min;
    size_t min_len; /* strings */
} field;

static const field machine_fields[] = {
    {"cpu", T_STR, MIN_NONE, 0, 1},
    {"cpus_allowed", T_INT, MIN_INCL, 1, 0},
    {"cores", T_INT, MIN_INCL, -1, 0},
    {"topology", T_OBJ, MIN_NONE, 0, 0},
    {"compiler", T_STR, MIN_NONE, 0, 1},
    {"flags", T_STR, MIN_NONE, 0, 1},
    {"git_commit", T_STR, MIN_NONE, 0, 1},
    {"date", T_STR, MIN_NONE, 0, 1},
    {"threads", T_ARR, MIN_NONE, 0, 0},
    {"reps", T_INT, MIN_INCL, 1, 0},
    {"quick", T_BOOL, MIN_NONE, 0, 0},
};

static const field topology_fields[] = {
    {"packages", T_INT, MIN_INCL, -1, 0},  {"numa_nodes", T_INT, MIN_INCL, -1, 0},
    {"cores", T_INT, MIN_INCL, -1, 0},     {"pus", T_INT, MIN_INCL, -1, 0},
    {"l3_caches", T_INT, MIN_INCL, -1, 0}, {"l3_bytes", T_INT, MIN_INCL, 0, 0},
    {"summary", T_STR, MIN_NONE, 0, 1},
};

static const field result_fields[] = {
    {"benchmark", T_STR, MIN_NONE, 0, 1},
    {"param", T_STR, MIN_NONE, 0, 0},
    {"impl", T_STR, MIN_NONE, 0, 1},
    {"threads", T_INT, MIN_INCL, 1, 0},
    {"median_s", T_NUM, MIN_INCL, 0, 0},
    {"min_s", T_NUM, MIN_INCL, 0, 0},
    {"max_s", T_NUM, MIN_INCL, 0, 0},
    {"reps", T_INT, MIN_INCL, 1, 0},
    {"size", T_INT, MIN_INCL, 1, 0},
    {"throughput", T_NUM | T_NULL, MIN_INCL, 0, 0},
    {"unit", T_STR | T_NULL, MIN_NONE, 0, 0},
    {"value", T_NUM | T_NULL, MIN_INCL, 0, 0},
    {"value_min", T_NUM | T_NULL, MIN_INCL, 0, 0},
    {"value_max", T_NUM | T_NULL, MIN_INCL, 0, 0},
    {"value_unit", T_STR, MIN_NONE, 0, 1},
    {"better", T_STR, MIN_NONE, 0, 0},
    {"speedup", T_NUM | T_NULL, MIN_EXCL, 0, 0},
    {"weft_ratio", T_NUM | T_NULL, MIN_EXCL, 0, 0},
    {"checked", T_BOOL, MIN_NONE, 0, 0},
};

typedef struct checker {
    int errors;
} checker;

static void problem(checker *ck, const char *path, const char *what, const char *detail)
{
    ck->errors++;
    fprintf(stderr, "invalid: %s: %s%s%s\n", path, what, detail ? ": " : "", detail ? detail : "");
}

static unsigned type_bit(const jval *v)
{
    switch (v->type) {
    case J_NULL: return T_NULL;
    case J_BOOL: return T_BOOL;
    case J_NUM: return v->integer || v->num == floor(v->num) ? T_INT | T_NUM : T_NUM;
    case J_STR: return T_STR;
    case J_ARR: return T_ARR;
    case J_OBJ: return T_OBJ;
    }
    return 0;
}

static const jval *member(const jval *obj, const char *key)
{
    for (size_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key))
            return &obj->items[i];
    return NULL;
}

/* required + additionalProperties: false + each field's type and bounds */
static void check_object(checker *ck, const jval *obj, const char *path, const field *fields,
                         size_t nfields)
{
    char sub[256];
    if (obj->type != J_OBJ) {
        problem(ck, path, "not an object", NULL);
        return;
    }
    for (size_t i = 0; i < obj->n; i++) {
        bool known = false;
        for (size_t f = 0; f < nfields; f++)
            known = known || !strcmp(obj->keys[i], fields[f].name);
        if (!known)
            problem(ck, path, "unknown property", obj->keys[i]);
    }
    for (size_t f = 0; f < nfields; f++) {
        const field *fd = &fields[f];
        const jval *v = member(obj, fd->name);
        snprintf(sub, sizeof sub, "%s.%s", path, fd->name);
        if (!v) {
            problem(ck, path, "missing required property", fd->name);
            continue;
        }
        if (!(type_bit(v) & fd->types)) {
            problem(ck, sub, "wrong type", NULL);
            continue;
        }
        if (v->type == J_NUM && ((fd->min_kind == MIN_INCL && !(v->num >= fd->min)) ||
                                 (fd->min_kind == MIN_EXCL && !(v->num > fd->min))))
            problem(ck, sub, "below its minimum", NULL);
        if (v->type == J_STR && strlen(v->str) < fd->min_len)
            problem(ck, sub, "too short", NULL);
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* impl: ^(weft|serial|openmp|pthread|tbb|crossbeam)(-[A-Za-z0-9_]+)?$ */
static bool impl_ok(const char *s)
{
    static const char *const base[] = {"weft", "serial", "openmp", "pthread", "tbb",
                                       "crossbeam"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        size_t n = strlen(base[i]);
        if (strncmp(s, base[i], n) != 0)
            continue;
        if (s[n] == '\0')
            return true;
        if (s[n] != '-' || s[n + 1] == '\0')
            continue;
        bool ok = true;
        for (const char *p = s + n + 1; *p && ok; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '_';
        if (ok)
            return true;
    }
    return false;
}

static void check_document(checker *ck, const jval *doc)
{
    static const field top[] = {{"machine", T_OBJ, MIN_NONE, 0, 0}, {"results", T_ARR, MIN_NONE, 0, 0}};
    check_object(ck, doc, "$", top, 2);
    if (doc->type != J_OBJ)
        return;
    const jval *m = member(doc, "machine");
    if (m && m->type == J_OBJ) {
        check_object(ck, m, "$.machine", machine_fields, sizeof machine_fields / sizeof machine_fields[0]);
        const jval *t = member(m, "topology");
        if (t && t->type == J_OBJ)
            check_object(ck, t, "$.machine.topology", topology_fields,
                         sizeof topology_fields / sizeof topology_fields[0]);
        const jval *th = member(m, "threads");
        for (size_t i = 0; th && th->type == J_ARR && i < th->n; i++)
            if (!(type_bit(&th->items[i]) & T_INT) || th->items[i].num < 1)
                problem(ck, "$.machine.threads", "items must be integers >= 1", NULL);
    }
    const jval *rs = member(doc, "results");
    if (!rs || rs->type != J_ARR)
        return;
    if (rs->n == 0)
        problem(ck, "$.results", "must have at least one item", NULL);
    for (size_t i = 0; i < rs->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "$.results[%zu]", i);
        const jval *r = &rs->items[i];
        check_object(ck, r, path, result_fields, sizeof result_fields / sizeof result_fields[0]);
        if (r->type != J_OBJ)
            continue;
        const jval *impl = member(r, "impl"), *unit = member(r, "unit"),
                   *better = member(r, "better");
        if (impl && impl->type == J_STR && !impl_ok(impl->str))
            problem(ck, path, "impl does not match ^(weft|serial|openmp|pthread|tbb|crossbeam)(-[A-Za-z0-9_]+)?$", impl->str);
        if (unit && unit->type == J_STR && !ends_with(unit->str, "/s"))
            problem(ck, path, "unit does not end in /s", unit->str);
        if (better && better->type == J_STR && strcmp(better->str, "higher") && strcmp(better->str, "lower"))
            problem(ck, path, "better is neither \"higher\" nor \"lower\"", better->str);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: weft-bench-validate RESULTS.json\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "validate_results: cannot open %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = xalloc(NULL, cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = xalloc(buf, cap *= 2);
    }
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        fprintf(stderr, "validate_results: reading %s failed\n", argv[1]);
        free(buf);
        return 2;
    }
    parser ps = {buf, buf + n, NULL, NULL, 0};
    jval doc;
    bool ok = parse_value(&ps, &doc);
    skip_ws(&ps);
    if (ok && ps.p != ps.end)
        ok = fail(&ps, "trailing characters after the document");
    int status;
    if (!ok) {
        fprintf(stderr, "invalid: %s: JSON syntax error at byte %zu: %s\n", argv[1],
                (size_t)(ps.err_at - buf), ps.err);
        status = 1;
    } else {
        checker ck = {0};
        check_document(&ck, &doc);
        status = ck.errors ? 1 : 0;
        if (!status)
            printf("%s: valid (%zu results)\n", argv[1], member(&doc, "results")->n);
    }
    free_val(&doc);
    free(buf);
    return status;
}
