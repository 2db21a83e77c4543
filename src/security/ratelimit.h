#ifndef KRONOS_SECURITY_RATELIMIT_H
#define KRONOS_SECURITY_RATELIMIT_H

/*
 * Per-identity rate limiting with GCRA (the generic cell rate algorithm): one timestamp per
 * identity, the theoretical arrival time (TAT). Requests are spaced T = 60 s / per_minute apart
 * on average; up to `burst` may arrive back to back from idle. Thread-safe: the table is split
 * into stripes, each with its own mutex and fixed slots, so memory is bounded by max_identities.
 *
 * An identity whose TAT is in the past is idle: its state equals "never seen", so its slot is
 * reused without losing anything. When a stripe's slots are all busy (each identity made a
 * request within its last burst window), newcomers of that stripe share the stripe's overflow
 * bucket (result.overflow) instead of evicting active callers. See docs/SECURITY.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_DEFAULT_MAX_IDENTITIES 4096
#define RATELIMIT_MAX_PER_MINUTE 1000000u
#define RATELIMIT_MAX_BURST 1000000u

typedef struct ratelimit ratelimit;

typedef struct ratelimit_result {
    bool allowed;
    bool overflow;          /* the identity shared its stripe's overflow bucket */
    uint32_t limit;         /* RateLimit-Limit: the burst capacity */
    uint32_t remaining;     /* RateLimit-Remaining: requests that would pass now, after this one */
    uint32_t reset_s;       /* RateLimit-Reset: seconds until remaining is back to limit */
    uint32_t retry_after_s; /* Retry-After when refused (ceil, >= 1); 0 when allowed */
} ratelimit_result;

/* per_minute in 1..RATELIMIT_MAX_PER_MINUTE, burst in 1..RATELIMIT_MAX_BURST, max_identities
 * >= 1 (0 = default). Returns NULL with a message in err. */
ratelimit *ratelimit_create(uint32_t per_minute, uint32_t burst, size_t max_identities, char *err,
                            size_t errlen);
void ratelimit_free(ratelimit *rl);

/* Counts one request of identity at now_ns (a monotonic clock; tests inject it) and says
 * whether it may pass. Identities longer than 128 bytes go to the overflow bucket. */
bool ratelimit_check(ratelimit *rl, const char *identity, uint64_t now_ns, ratelimit_result *res);

#endif
