/* check.h: the one check macro of the standalone stress tests (plain main, no
 * Criterion, so they also run under ThreadSanitizer; see docs/design.md section 7).
 * CHECK(cond, fmt, ...) prints where and why and aborts; stress_iters() scales a
 * workload down under sanitizers, which run 5-20x slower. */
#ifndef WEFT_TESTS_CHECK_H
#define WEFT_TESTS_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, " " __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                          \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#if defined(WEFT_TSAN) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SLOWDOWN 8
#else
#define STRESS_SLOWDOWN 1
#endif
/* WEFT_TSAN_OR(a, b): a under ThreadSanitizer, b otherwise (for sizes that do not
 * scale linearly, like a recursion depth). */
#ifdef WEFT_TSAN
#define WEFT_TSAN_OR(a, b) (a)
#else
#define WEFT_TSAN_OR(a, b) (b)
#endif
static inline long stress_iters(long base)
{
    long n = base / STRESS_SLOWDOWN;
    return n > 0 ? n : 1;
}
#endif
