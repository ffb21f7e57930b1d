/* cpu_time.h: CPU time (user + system) for the tests that check that waiting costs
 * nothing (getrusage: a behaviour check with generous bounds, not a timing race). */
#ifndef WEFT_TESTS_CPU_TIME_H
#define WEFT_TESTS_CPU_TIME_H
#include <sys/resource.h>

/* CPU seconds used so far by `who`: RUSAGE_THREAD (the calling thread) or
 * RUSAGE_SELF (the process). 0 if getrusage fails (it cannot, for these). */
static inline double test_cpu_s(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}
#endif
