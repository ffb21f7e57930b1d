/* bench_crossbeam.c: starts the crossbeam-channel peer program (bench/crossbeam/, see
 * bench_crossbeam.h) for one run and reads what it measured.
 *
 * Invariants: the child times itself (channels and threads made, an untimed warm-up
 * pass, then the timed pass behind a start gate), so process start and exit are never
 * in a row's time; its stdout is one line, read whole through a pipe before the child
 * is reaped; any failure to start, a non-zero exit or an unparsable line makes the run
 * fail its check, never a figure. */
#include "bench_crossbeam.h"

#ifdef WEFT_BENCH_CROSSBEAM

#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

bool bench_crossbeam_run(const char *shape, const char *cap, uint64_t messages, bool pin1,
                         bench_crossbeam_out *out)
{
    char count[32];
    snprintf(count, sizeof count, "%" PRIu64, messages);
    char *argv[] = {(char *)WEFT_BENCH_CROSSBEAM, (char *)shape, (char *)cap, count,
                    pin1 ? (char *)"pin1" : NULL, NULL};
    char line[256];
    int status;
    if (!bench_spawn_line(argv, environ, line, sizeof line, &status))
        return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "weft-bench: crossbeam peer %s %s %s failed (status %d)\n", shape, cap,
                count, status);
        return false;
    }
    char end;
    if (sscanf(line, "%lf %" SCNu64 " %" SCNu64 "%c", &out->seconds, &out->messages, &out->sum,
               &end) != 4 ||
        end != '\n' || !(out->seconds > 0)) {
        fprintf(stderr, "weft-bench: crossbeam peer printed an unexpected line: %s\n", line);
        return false;
    }
    return true;
}

#endif /* WEFT_BENCH_CROSSBEAM */
