#ifndef KRONOS_API_APP_H
#define KRONOS_API_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "http/request.h"
#include "util/workq.h"

/* The handlers' context: what the API layer needs, built by main.c before the HTTP server starts
 * and handed to it as an opaque pointer. Every field is set before the server starts and never
 * changes afterwards, except `draining` (atomic). */

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
    workq *parse_pool; /* predict bodies are parsed here, off the HTTP threads; NULL: inline */
    security_config *security;
    ratelimit *ratelimit; /* NULL when rate limiting is off */
} app;

static inline app *app_of(const http_request *r)
{
    return r->ctx;
}

#endif
