/* trace_testlib.h: the trace tests' reader (tools/trace/trace_read.h: the JSON parser
 * and the shape checks weft-trace uses too) and their scratch paths. */
#ifndef WEFT_TESTS_TRACE_TESTLIB_H
#define WEFT_TESTS_TRACE_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../../tools/trace/trace_read.h"

/* A scratch path for a trace, unique to this process and tag. */
static inline void trace_path(char *buf, size_t size, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, size, "%s/weft-trace-%ld-%s.json", dir && *dir ? dir : "/tmp", (long)getpid(), tag);
}

#endif
