/*
 * Shared helpers of the Check suites: a seeded PRNG for property tests and the suite runner.
 * Header-only; every function is static inline so unused ones cost nothing.
 */
#ifndef B2B_TEST_H
#define B2B_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2bbudget.h"

/** Number of elements of an array. */
#define B2B_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/** xorshift64* with a fixed seed: reproducible property tests (the seed is printed on failure). */
typedef struct b2b_rng {
    uint64_t state;
} b2b_rng;

static inline void rng_seed(b2b_rng *rng, uint64_t seed) {
    rng->state = seed ? seed : UINT64_C(0x9E3779B97F4A7C15);
}

static inline uint64_t rng_next(b2b_rng *rng) {
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/** Uniform-ish value in [0, bound] (inclusive); bound may be up to 2^63. */
static inline int64_t rng_upto(b2b_rng *rng, int64_t bound) {
    if (bound <= 0)
        return 0;
    return (int64_t)(rng_next(rng) % ((uint64_t)bound + 1u));
}

/** Value in [lo, hi] (inclusive). */
static inline int rng_int(b2b_rng *rng, int lo, int hi) {
    return lo + (int)(rng_next(rng) % (uint64_t)(hi - lo + 1));
}

/** Runs one suite; returns the process exit status. */
static inline int b2b_run_suite(Suite *suite) {
    SRunner *runner = srunner_create(suite);
    int failed;
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
