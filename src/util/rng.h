#ifndef KRONOS_RNG_H
#define KRONOS_RNG_H

/* xoshiro256** seeded through splitmix64, with uniform, Gaussian and exponential draws: the
 * same seed gives the same stream on every platform (no libc randomness), which is what makes
 * forecasts reproducible for a request's seed. */

#include <stdbool.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
    double spare; /* second Box-Muller value */
    bool has_spare;
} rng;

uint64_t rng_splitmix64(uint64_t *state);
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
double rng_uniform(rng *r);      /* [0, 1) with 53 random bits */
double rng_uniform_open(rng *r); /* (0, 1): never 0 or 1 */
double rng_gaussian(rng *r);     /* standard normal */
double rng_exponential(rng *r);  /* mean 1 */

#endif
