#ifndef KRONOS_APP_H
#define KRONOS_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Process-wide state shared by the HTTP layer and the handlers. main.c builds it; everything
 * here is either immutable after start or atomic. */

typedef struct engine engine;
typedef struct engine_host engine_host;
typedef struct scheduler scheduler;
typedef struct security_config security_config;
typedef struct ratelimit ratelimit;

typedef struct app {
    const config *cfg;
    uint64_t start_real_ns;
    uint64_t start_mono_ns;
    atomic_bool draining;
    engine *engine;
    engine_host *host;
    scheduler *sched;
    security_config *security;
    ratelimit *ratelimit; /* NULL when rate limiting is off */
} app;

#endif
