/* watchdog.h: fail a stress program that stops making progress instead of letting it
 * hang until ctest's timeout: SIGALRM after a bound, which writes the program's name
 * and exits 1 (async-signal-safe: write and _exit only). One per process. */
#ifndef WEFT_TESTS_WATCHDOG_H
#define WEFT_TESTS_WATCHDOG_H

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char *test_watchdog_name = "a stress test";

static void test_watchdog_fire(int sig)
{
    (void)sig;
    static const char m[] = ": watchdog: no progress, a hang\n";
    ssize_t r = write(STDERR_FILENO, test_watchdog_name, strlen(test_watchdog_name));
    r = write(STDERR_FILENO, m, sizeof m - 1);
    (void)r;
    _exit(1);
}

/* Fail the program `name` if it is still running `seconds` from now. */
static inline void test_watchdog_arm(const char *name, unsigned seconds)
{
    test_watchdog_name = name;
    signal(SIGALRM, test_watchdog_fire);
    alarm(seconds);
}
#endif
