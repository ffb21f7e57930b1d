/* bad_env.c: bad environment values. Runs itself as a child with one variable set to a
 * bad value; the child starts the global pool and prints its size. The child's stderr
 * must hold exactly one line, a warning naming the variable, and the pool must have
 * the size a child without the variable gets (the default). */
#include "check.h"
#include "inject.h"

#include <weft.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(void)
{
    printf("%d\n", weft_pool_num_threads(NULL));
    return 0;
}

/* Run the child with name=value (name NULL: clean environment); returns its pool
 * size, its stderr in err. */
static int run(const char *name, const char *value, char *err, size_t cap)
{
    int out_pipe[2], err_pipe[2];
    CHECK(pipe(out_pipe) == 0 && pipe(err_pipe) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        unsetenv("WEFT_NUM_THREADS");
        unsetenv("WEFT_PIN");
        unsetenv("WEFT_WAIT_POLICY");
        if (name)
            setenv(name, value, 1);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        execl("/proc/self/exe", "bad_env", "child", (char *)NULL);
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    char out[64];
    size_t n = 0, e = 0;
    ssize_t r;
    while ((r = read(out_pipe[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    while ((r = read(err_pipe[0], err + e, cap - 1 - e)) > 0)
        e += (size_t)r;
    err[e] = 0;
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s=%s: child failed: %s", name, value, err);
    return atoi(out);
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return child();
    char err[4096];
    int def = run(NULL, NULL, err, sizeof err);
    CHECK(def >= 1 && err[0] == 0, "clean run: %d threads, stderr: %s", def, err);
    static const char *const cases[][2] = {
        {"WEFT_NUM_THREADS", "abc"}, {"WEFT_NUM_THREADS", "0"},    {"WEFT_NUM_THREADS", "-3"},
        {"WEFT_NUM_THREADS", "99999"}, {"WEFT_NUM_THREADS", ""},   {"WEFT_NUM_THREADS", "4x"},
        {"WEFT_NUM_THREADS", " 2"},  {"WEFT_NUM_THREADS", "99999999999999999999999"},
        {"WEFT_PIN", "bogus"},       {"WEFT_PIN", ""},             {"WEFT_PIN", "CORE"},
        {"WEFT_WAIT_POLICY", "bogus"}, {"WEFT_WAIT_POLICY", ""},   {"WEFT_WAIT_POLICY", "Active"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name = cases[i][0], *value = cases[i][1];
        int n = run(name, value, err, sizeof err);
        int lines = 0;
        for (const char *c = err; *c; c++)
            lines += *c == '\n';
        CHECK(lines == 1, "%s=\"%s\": %d lines on stderr, want one:\n%s", name, value, lines, err);
        CHECK(strstr(err, name) && strstr(err, "weft:"), "%s=\"%s\": the warning does not name it: %s", name,
              value, err);
        CHECK(n == def, "%s=\"%s\": %d threads, the default is %d", name, value, n, def);
    }
    printf("bad_env: %zu bad values, one warning each, defaults used\n", sizeof cases / sizeof cases[0]);
    return 0;
}
