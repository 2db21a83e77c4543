#ifndef KRONOS_BASELINE_RNG_H
#define KRONOS_BASELINE_RNG_H

/* xoshiro256** seeded through splitmix64, with Gaussian and exponential draws. Same seed, same
 * stream on every platform (no libc randomness). */

#include <stdbool.h>
#include <stdint.h>

typedef struct baseline_rng {
    uint64_t s[4];
    double spare; /* second Box-Muller value */
    bool has_spare;
} baseline_rng;

void baseline_rng_seed(baseline_rng *r, uint64_t seed);
uint64_t baseline_rng_next(baseline_rng *r);
double baseline_rng_uniform(baseline_rng *r);     /* in (0, 1), never 0 or 1 */
double baseline_rng_gaussian(baseline_rng *r);    /* standard normal */
double baseline_rng_exponential(baseline_rng *r); /* mean 1 */

#endif
