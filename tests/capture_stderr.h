/* capture_stderr.h: run a function with stderr (fd 2) redirected to a temporary file
 * and hand back what it wrote, for tests of warnings and WEFT_STATS output. Works in
 * Criterion tests and plain-main ones alike (it asserts nothing itself). */
#ifndef WEFT_TESTS_CAPTURE_STDERR_H
#define WEFT_TESTS_CAPTURE_STDERR_H
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* Run fn(arg); what it wrote on stderr goes to buf (NUL-terminated, at most cap - 1
 * bytes, cap >= 1). Returns false, having run nothing, if stderr could not be
 * redirected, and false too if it could not be put back. */
static inline bool test_capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t cap)
{
    buf[0] = 0;
    fflush(stderr);
    FILE *tmp = tmpfile();
    if (!tmp)
        return false;
    int saved = dup(2);
    if (saved < 0 || dup2(fileno(tmp), 2) != 2) {
        if (saved >= 0)
            close(saved);
        fclose(tmp);
        return false;
    }
    fn(arg);
    fflush(stderr);
    bool restored = dup2(saved, 2) == 2;
    close(saved);
    rewind(tmp);
    size_t len = fread(buf, 1, cap - 1, tmp);
    buf[len] = 0;
    fclose(tmp);
    return restored;
}
#endif
