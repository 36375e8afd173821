/*
 * fuzz_rng.h - the fuzzers' random numbers (test_fuzz_read.c,
 * test_jsonpull_fuzz.c): xorshift64*, seeded from FUZZ_SEED (default 1),
 * so that the cases depend on the seed only and a failure can be replayed.
 */
#ifndef OPPROF_TEST_FUZZ_RNG_H
#define OPPROF_TEST_FUZZ_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state;

/* xorshift64* never leaves 0: a seed of 0 counts as 1 */
static inline void rng_seed_from_env(void)
{
    const char *s = getenv("FUZZ_SEED");
    rng_state = s ? strtoull(s, NULL, 10) : 1;
    if (!rng_state)
        rng_state = 1;
}

static inline uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static inline size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

#endif
