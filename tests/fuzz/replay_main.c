/* replay_main.c: the main() of the fuzz targets in builds without libFuzzer (gcc, the
 * default/asan/tsan presets): feeds every file named on the command line, or every
 * regular file of a directory named there (in name order), to LLVMFuzzerTestOneInput,
 * `--repeat N` times over (threaded targets are not deterministic: repeating a corpus
 * explores more interleavings). A failing input aborts inside the target, after its
 * name is printed. Usage: replay [--repeat N] (FILE|DIR)... */
#include "check.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f, "cannot open %s", path);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    CHECK(len >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)len + 1); /* +1: never malloc(0) */
    CHECK(buf);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len, "cannot read %s", path);
    fclose(f);
    fprintf(stderr, "replay %s (%ld bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 1;
}

static size_t replay_path(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0, "cannot stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    DIR *d = opendir(path);
    CHECK(d, "cannot open directory %s", path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            CHECK(names);
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        CHECK(names[n]);
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, replay_name_cmp);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        done += replay_file(names[i]);
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    long repeat = 1;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
        repeat = strtol(argv[2], NULL, 10);
        CHECK(repeat >= 1, "bad --repeat %s", argv[2]);
        first = 3;
    }
    CHECK(first < argc, "usage: %s [--repeat N] (FILE|DIR)...", argv[0]);
    size_t done = 0;
    for (long r = 0; r < repeat; r++)
        for (int i = first; i < argc; i++)
            done += replay_path(argv[i]);
    CHECK(done > 0, "no input found");
    printf("replayed %zu inputs\n", done);
    return 0;
}
