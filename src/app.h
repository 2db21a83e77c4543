#ifndef KRONOS_APP_H
#define KRONOS_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Process-wide state shared by the HTTP layer and the handlers. main.c builds it; everything
 * here is either immutable after start or atomic. */

typedef enum engine_state {
    ENGINE_STATE_LOADING = 0,
    ENGINE_STATE_READY = 1,
    ENGINE_STATE_FAILED = 2,
} engine_state;

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
    /* Engine state as last reported by the loader (engine_state), with the failure reason. */
    atomic_int engine_state;
    char engine_failure[256];
    double model_load_seconds;
    engine *engine;
    engine_host *host;
    scheduler *sched;
    security_config *security;
    ratelimit *ratelimit; /* NULL when rate limiting is off */
} app;

#endif
