/* bench_crossbeam.h: crossbeam-channel as the peer of the chan_* rows (impl
 * "crossbeam"). The Rust program bench/crossbeam/ runs a row's scenario with
 * crossbeam-channel and prints its own timing; bench_crossbeam.c starts it once per run.
 * Everything here exists only when the build found cargo and crossbeam-channel's sources
 * (WEFT_BENCH_CROSSBEAM, the program's path, set by bench/CMakeLists.txt); the suite
 * builds and runs without it. */
#ifndef WEFT_BENCH_CROSSBEAM_H
#define WEFT_BENCH_CROSSBEAM_H

#include <stdbool.h>
#include <stdint.h>

/* A table row that exists only with the crossbeam peer: BENCH_CROSSBEAM_ROW(...) expands
 * to `, {...}` (leading comma included, so it can follow a row inside a row-list macro)
 * or to nothing. */
#ifdef WEFT_BENCH_CROSSBEAM
#define BENCH_CROSSBEAM_ROW(...) , {__VA_ARGS__}
#else
#define BENCH_CROSSBEAM_ROW(...)
#endif

#ifdef WEFT_BENCH_CROSSBEAM

/* What one run of the program measured. */
typedef struct bench_crossbeam_out {
    double seconds;    /* the timed pass alone (made, warmed and gated in the child) */
    uint64_t messages; /* messages it moved */
    uint64_t sum;      /* sum of the values received */
} bench_crossbeam_out;

/* Run `weft-bench-crossbeam shape cap messages [pin1]` (shape: seq, spsc, mpsc, mpmc or
 * select_rx; cap: a capacity or "unbounded"; pin1: every thread on one CPU) and parse
 * its line. False (and a message on stderr) if it could not be started, failed, or
 * printed something else. */
bool bench_crossbeam_run(const char *shape, const char *cap, uint64_t messages, bool pin1,
                         bench_crossbeam_out *out);

#endif /* WEFT_BENCH_CROSSBEAM */
#endif /* WEFT_BENCH_CROSSBEAM_H */
