/* wait_child.h: wait for a child process with a bound, so a child that hangs fails
 * the test instead of hanging it (the stress programs that fork; plain main and
 * tests/check.h). Static: each including file gets its own copy. */
#ifndef WEFT_TESTS_WAIT_CHILD_H
#define WEFT_TESTS_WAIT_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include "check.h"

/* Poll every poll_ns until `pid` exits; past limit_ns, kill it and fail with `what`.
 * Returns its wait status. */
static inline int wait_child_bounded(pid_t pid, uint64_t limit_ns, uint64_t poll_ns, const char *what)
{
    uint64_t deadline = weft_deadline_after(limit_ns);
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        CHECK(r >= 0);
        if (r == pid)
            return status;
        if (weft_time_now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            CHECK(false, "child (%s) hangs", what);
        }
        weft_thread_sleep(poll_ns);
    }
}

#endif /* WEFT_TESTS_WAIT_CHILD_H */
