/* timer_testlib.h: what the timer-channel suites (test_timer*.c) share: a sleep, the
 * clock, the process's thread count, and the lateness a timer may show here.
 *
 * Lateness is checked against a generous bound: the test machines are shared and
 * ASan and parallel test jobs stall a thread now and then, so the bound only has to
 * catch a timer that waits for the wrong deadline; each test makes that deadline at
 * least a second away, far beyond it. Earliness has no slack: a message is never
 * delivered before its due time. Each test has a Criterion timeout, so that a timer
 * that never wakes its waiter fails the test instead of hanging it. */
#ifndef WEFT_TESTS_TIMER_TESTLIB_H
#define WEFT_TESTS_TIMER_TESTLIB_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <weft/sync.h>

#define MS 1000000ull
#define TIMER_LATE_NS (750 * MS) /* how late a timer may be seen (see above) */

static inline void tl_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Threads of this process (/proc/self/status), or -1 if it cannot be read. */
static inline long tl_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0 && sscanf(line + 8, "%ld", &n) == 1)
            break;
    fclose(f);
    return n;
}
#endif
