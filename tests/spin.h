/* spin.h: keep the calling thread busy on its CPU for a while, for the tests whose
 * subject is how long something took (a probe's chunk, a task's work): a sleep would
 * hand the CPU away, which is another test. */
#ifndef WEFT_TESTS_SPIN_H
#define WEFT_TESTS_SPIN_H

#include <stdint.h>
#include <weft/sync.h>

/* Spin until ns nanoseconds (weft_time_now_ns) have passed. */
static inline void test_spin_ns(uint64_t ns)
{
    uint64_t end = weft_time_now_ns() + ns;
    while (weft_time_now_ns() < end) {
    }
}
#endif
