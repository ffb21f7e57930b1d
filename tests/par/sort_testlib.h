/* sort_testlib.h: the sort tests' shared fixtures (test_sort.c and stress_sort.c):
 * key patterns, records of several sizes with a key and a payload that names the
 * record's original index, and a checker that proves a sort's output is a sorted
 * permutation of its input (and, for stable sorts, that equal keys kept their order).
 * Everything is static: each including file gets its own copy. */
#ifndef WEFT_TESTS_SORT_TESTLIB_H
#define WEFT_TESTS_SORT_TESTLIB_H

#include <weft/par.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum sortt_pattern {
    SORTT_RANDOM,
    SORTT_SORTED,
    SORTT_REVERSED,
    SORTT_ALL_EQUAL,
    SORTT_FEW_UNIQUE, /* 4 distinct keys */
    SORTT_SAWTOOTH,   /* i mod 1000 */
    SORTT_ORGAN_PIPE, /* up then down */
    SORTT_NPATTERNS
} sortt_pattern;

static inline uint64_t sortt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The key of element i of n for a pattern (full 64 bits; layouts truncate it). */
static inline uint64_t sortt_key(sortt_pattern p, size_t i, size_t n, uint64_t seed)
{
    switch (p) {
    case SORTT_RANDOM:
        return sortt_mix(i ^ (seed << 32));
    case SORTT_SORTED:
        return i;
    case SORTT_REVERSED:
        return n - i;
    case SORTT_ALL_EQUAL:
        return 42;
    case SORTT_FEW_UNIQUE:
        return sortt_mix(i + seed) % 4;
    case SORTT_SAWTOOTH:
        return i % 1000;
    case SORTT_ORGAN_PIPE:
        return i < n / 2 ? i : n - i;
    default:
        return 0;
    }
}

/* A record layout: `size` bytes, a key of key_width (1, 4 or 8) bytes at offset 0,
 * and (when size >= key_width + 4) the original index as a uint32_t right after the
 * key, the rest filled with bytes derived from the index. */
typedef struct sortt_layout {
    size_t size, key_width;
} sortt_layout;

static inline bool sortt_has_index(sortt_layout l)
{
    return l.size >= l.key_width + 4;
}

static inline uint64_t sortt_get_key(const void *e, size_t key_width)
{
    if (key_width == 1)
        return *(const uint8_t *)e;
    if (key_width == 4) {
        uint32_t k;
        memcpy(&k, e, 4);
        return k;
    }
    uint64_t k;
    memcpy(&k, e, 8);
    return k;
}

static int sortt_cmp1(const void *a, const void *b)
{
    uint64_t x = sortt_get_key(a, 1), y = sortt_get_key(b, 1);
    return (x > y) - (x < y);
}
static int sortt_cmp4(const void *a, const void *b)
{
    uint64_t x = sortt_get_key(a, 4), y = sortt_get_key(b, 4);
    return (x > y) - (x < y);
}
static int sortt_cmp8(const void *a, const void *b)
{
    uint64_t x = sortt_get_key(a, 8), y = sortt_get_key(b, 8);
    return (x > y) - (x < y);
}

typedef int (*sortt_cmp_fn)(const void *, const void *);

/* Key functions for the keyed sorts: the key of a layout (u32 for widths 1 and 4). */
static uint64_t sortt_key_u64(const void *e)
{
    return sortt_get_key(e, 8);
}
static uint32_t sortt_key_u32_of4(const void *e)
{
    return (uint32_t)sortt_get_key(e, 4);
}
static uint32_t sortt_key_u32_of1(const void *e)
{
    return (uint32_t)sortt_get_key(e, 1);
}

/* Sort n records of layout l by their key with the keyed sort of the key's width. */
static inline int sortt_sort_by_key(void *a, size_t n, sortt_layout l)
{
    if (l.key_width == 8)
        return weft_par_sort_by_u64_key(a, n, l.size, sortt_key_u64);
    return weft_par_sort_by_u32_key(a, n, l.size, l.key_width == 4 ? sortt_key_u32_of4 : sortt_key_u32_of1);
}

static inline sortt_cmp_fn sortt_cmp_for(sortt_layout l)
{
    return l.key_width == 1 ? sortt_cmp1 : l.key_width == 4 ? sortt_cmp4 : sortt_cmp8;
}

static inline uint64_t sortt_trunc(uint64_t k, size_t key_width)
{
    return key_width == 8 ? k : k & ((UINT64_C(1) << (8 * key_width)) - 1);
}

/* Fill n records of layout l (a holds n * l.size bytes). */
static inline void sortt_fill(void *a, size_t n, sortt_layout l, sortt_pattern p, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = (unsigned char *)a + i * l.size;
        uint64_t k = sortt_trunc(sortt_key(p, i, n, seed), l.key_width);
        if (l.key_width == 1) {
            e[0] = (unsigned char)k;
        } else if (l.key_width == 4) {
            uint32_t k32 = (uint32_t)k;
            memcpy(e, &k32, 4);
        } else {
            memcpy(e, &k, 8);
        }
        if (sortt_has_index(l)) {
            uint32_t idx = (uint32_t)i;
            memcpy(e + l.key_width, &idx, 4);
            for (size_t j = l.key_width + 4; j < l.size; j++)
                e[j] = (unsigned char)(i * 31 + j);
        }
    }
}

/* Check that a (after the sort) is a sorted permutation of what sortt_fill(..., p,
 * seed) wrote; with `stable`, equal keys in increasing original index. For layouts
 * without an index, `ref` (the input sorted by qsort) must be given and must equal a.
 * Returns NULL if fine, else a description of the first problem. */
static inline const char *sortt_check(const void *a, size_t n, sortt_layout l, sortt_pattern p,
                                      uint64_t seed, bool stable, const void *ref)
{
    const unsigned char *b = a;
    for (size_t i = 1; i < n; i++)
        if (sortt_get_key(b + (i - 1) * l.size, l.key_width) >
            sortt_get_key(b + i * l.size, l.key_width))
            return "keys out of order";
    if (!sortt_has_index(l)) {
        if (n == 0)
            return NULL;
        if (!ref)
            return "no reference to compare with";
        return memcmp(a, ref, n * l.size) == 0 ? NULL : "differs from qsort";
    }
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!seen)
        return "out of memory in the checker";
    const char *err = NULL;
    for (size_t i = 0; i < n && !err; i++) {
        const unsigned char *e = b + i * l.size;
        uint32_t idx;
        memcpy(&idx, e + l.key_width, 4);
        if (idx >= n || seen[idx]) {
            err = "an index lost or duplicated";
            break;
        }
        seen[idx] = 1;
        if (sortt_get_key(e, l.key_width) != sortt_trunc(sortt_key(p, idx, n, seed), l.key_width))
            err = "a key does not match its index";
        for (size_t j = l.key_width + 4; j < l.size && !err; j++)
            if (e[j] != (unsigned char)(idx * 31 + j))
                err = "a payload was corrupted";
        if (stable && i > 0 && !err) {
            const unsigned char *prev = e - l.size;
            uint32_t pidx;
            memcpy(&pidx, prev + l.key_width, 4);
            if (sortt_get_key(prev, l.key_width) == sortt_get_key(e, l.key_width) && pidx > idx)
                err = "not stable: equal keys out of their original order";
        }
    }
    free(seen);
    return err;
}

#endif /* WEFT_TESTS_SORT_TESTLIB_H */
