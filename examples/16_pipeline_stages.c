/* 16_pipeline_stages.c: a pipeline of stages (oneTBB's parallel_pipeline).
 *
 * read -> transform (parallel) -> write (in order): the first stage makes one item
 * at a time (here from an array of lines; it would read a file), the middle stage
 * works on many items at once, and the last stage sees them in the order they were
 * read, so it can write them out as a serial program would. At most 4 items are alive
 * at once: reading waits for writing, and memory stays bounded however long the
 * input is. Everything runs on the pool's workers; no thread is started.
 *
 * Compare examples/11_pipeline.c, the same shape by hand with channels and a scope:
 * the stages there are tasks that block on channels, so they need a pool of their
 * own, and the output has to be sorted afterwards. */
#include <weft.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

static const char *const input[] = {
    "the quick brown fox", "jumps over", "the lazy dog", "pack my box", "with five dozen liquor jugs",
    "sphinx of black quartz", "judge my vow",
};
enum { LINES = sizeof input / sizeof input[0] };

typedef struct line {
    size_t number;
    char text[64];
    int words;
} line;

typedef struct job {
    size_t next;     /* read: the next input line */
    size_t written;  /* write: lines written */
    int total_words; /* write: a running total, kept by the serial stage alone */
} job;

/* read (serial): the next line, or NULL when there are no more. */
static int read_line(void *ctx, void **item)
{
    job *j = ctx;
    if (j->next == LINES)
        return 0; /* *item stays NULL: the end */
    line *l = malloc(sizeof *l);
    if (!l)
        return -ENOMEM; /* ends the pipeline with that status */
    l->number = j->next;
    snprintf(l->text, sizeof l->text, "%s", input[j->next++]);
    *item = l;
    return 0;
}

/* transform (parallel): upper-case the line and count its words. */
static int transform(void *ctx, void **item)
{
    (void)ctx;
    line *l = *item;
    l->words = 0;
    for (char *c = l->text; *c; c++) {
        if (isalpha((unsigned char)*c) && (c == l->text || c[-1] == ' '))
            l->words++;
        *c = (char)toupper((unsigned char)*c);
    }
    return 0;
}

/* write (serial, in order): print, keep a total, free the line. */
static int write_line(void *ctx, void **item)
{
    job *j = ctx;
    line *l = *item;
    j->total_words += l->words;
    printf("%zu: %-28s (%d words)\n", l->number, l->text, l->words);
    j->written++;
    free(l);
    return 0;
}

/* An item that will not reach the writer (a stage failed) is freed here. */
static void drop_line(void *ctx, void *item)
{
    (void)ctx;
    free(item);
}

int main(void)
{
    weft_pipeline_stage stages[] = {
        {WEFT_PIPELINE_SERIAL_IN_ORDER, read_line, NULL},
        {WEFT_PIPELINE_PARALLEL, transform, drop_line},
        {WEFT_PIPELINE_SERIAL_IN_ORDER, write_line, drop_line},
    };
    job j = {0, 0, 0};
    must(weft_pipeline_run(stages, 3, 4, &j), "pipeline_run");
    printf("%zu lines, %d words\n", j.written, j.total_words);
    return 0;
}
