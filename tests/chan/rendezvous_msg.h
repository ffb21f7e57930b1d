/* rendezvous_msg.h: the message of the rendezvous stress programs: up to MSG_WORDS
 * words, all equal to the value it carries, in the sizes that take each of the
 * rendezvous channel's paths (inline, inline at the limit, through the waiter's
 * buffer), so a torn or mixed copy shows as words that disagree. */
#ifndef WEFT_TESTS_RENDEZVOUS_MSG_H
#define WEFT_TESTS_RENDEZVOUS_MSG_H
#include <stdint.h>
#include <string.h>
#include "check.h"

#define MSG_WORDS 5

typedef struct msg {
    uint64_t w[MSG_WORDS];
} msg;

static const size_t sizes[] = {8, 16, 40}; /* inline, inline at the limit, via buffer */

/* m carries v in its first size bytes; the rest is a pattern no value has. */
static inline void fill(msg *m, uint64_t v, size_t size)
{
    memset(m, 0xa5, sizeof *m);
    for (size_t i = 0; i < size / 8; i++)
        m->w[i] = v;
}

/* The value m carries; every word of the message must agree. */
static inline uint64_t value_of(const msg *m, size_t size)
{
    for (size_t i = 1; i < size / 8; i++)
        CHECK(m->w[i] == m->w[0], "torn message: word %zu is %llx, word 0 %llx", i, (unsigned long long)m->w[i],
              (unsigned long long)m->w[0]);
    return m->w[0];
}
#endif
