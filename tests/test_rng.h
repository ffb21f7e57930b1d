/* test_rng.h: the stress programs' random numbers — xorshift64, a few instructions,
 * reproducible from a seed, shared by any number of threads each with its own state.
 * Not for anything but choosing test paths and delays. */
#ifndef WEFT_TESTS_TEST_RNG_H
#define WEFT_TESTS_TEST_RNG_H

#include <stdint.h>

/* The next number of the sequence in *s (s must not be 0). */
static inline uint64_t test_next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
#endif
