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

#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

bool bench_crossbeam_run(const char *shape, const char *cap, uint64_t messages, bool pin1,
                         bench_crossbeam_out *out)
{
    char count[32];
    snprintf(count, sizeof count, "%" PRIu64, messages);
    char *argv[] = {(char *)WEFT_BENCH_CROSSBEAM, (char *)shape, (char *)cap, count,
                    pin1 ? (char *)"pin1" : NULL, NULL};
    int fd[2];
    if (pipe(fd) != 0) {
        perror("weft-bench: crossbeam peer: pipe");
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    pid_t pid;
    int err = posix_spawn(&pid, WEFT_BENCH_CROSSBEAM, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (err) {
        close(fd[0]);
        fprintf(stderr, "weft-bench: cannot start %s: %s\n", WEFT_BENCH_CROSSBEAM, strerror(err));
        return false;
    }
    char line[256];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd[0], line + used, sizeof line - 1 - used);
        if (n > 0 && (used += (size_t)n) < sizeof line - 1)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        break; /* EOF, an error, or more than one line's worth: judged below */
    }
    line[used] = '\0';
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("weft-bench: crossbeam peer: waitpid");
            return false;
        }
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
