/* inject.h: fault injection for the reliability tests. Every program in this directory
 * is linked with -Wl,--wrap=malloc,calloc,realloc,aligned_alloc,posix_memalign,free
 * and --wrap=pthread_create, against the static libweft: only libweft's own calls (and
 * the test's) go through the __wrap_* functions of inject.c; libc, hwloc and the
 * sanitizer runtimes allocate as usual.
 *
 * A plan fails the n-th call from the moment it is switched on (one-shot: only that
 * call; sticky: that call and every later one, until switched off). A live counter
 * (successful allocations minus frees of non-NULL pointers) finds leaks in every
 * build, sanitizers or not. */
#ifndef WEFT_TESTS_INJECT_H
#define WEFT_TESTS_INJECT_H
#include <stdbool.h>

typedef enum inject_kind { INJECT_ALLOC = 0, INJECT_THREAD = 1 } inject_kind;

/* Arm: the n-th call (n >= 1) of that kind from now on fails (and, sticky, every
 * later one). n == 0 disarms. */
void inject_arm(inject_kind kind, long n, bool sticky);
/* Disarm; returns how many calls were made to fail since the last arm. */
long inject_disarm(inject_kind kind);
/* Failures injected since the last arm (without disarming). */
long inject_fired(inject_kind kind);
/* Live allocations made through the wrappers. */
long inject_live(void);
#endif
