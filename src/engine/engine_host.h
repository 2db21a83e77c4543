#ifndef KRONOS_ENGINE_HOST_H
#define KRONOS_ENGINE_HOST_H

/*
 * Loads an engine in the background and tracks its state for readiness:
 *
 *   LOADING --load ok--> READY
 *   LOADING --load error--> FAILED (reason = the engine's message)
 *   LOADING --startup timeout--> FAILED ("model load did not finish within N s")
 *   FAILED(timeout) --load ok later--> READY, reported through the listener with late = true
 *
 * So readiness reports failed as soon as the startup timeout passes; a load that finishes
 * afterwards still makes the service usable, but never silently: the listener is told (late =
 * true) so logs can say so. A load error after
 * the timeout keeps FAILED and replaces the reason with the engine's message, so FAILED can be
 * reported twice for one load (count load failures on the first FAILED only).
 */

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

typedef enum engine_state {
    ENGINE_STATE_LOADING = 0,
    ENGINE_STATE_READY,
    ENGINE_STATE_FAILED,
} engine_state;

typedef struct engine_host engine_host;

/* Called on every state change, from the host's loader or timer thread (never with a host lock
 * held, so it may call the engine_host_* getters). reason is "" for READY unless late. */
typedef void (*engine_host_listener)(engine_host *h, engine_state state, const char *reason,
                                     double load_seconds, bool late, void *user);

/* Starts loading e (borrowed; must outlive the host) in a background thread. startup_timeout_s
 * <= 0 means no timeout. The listener may be NULL. Returns NULL if threads cannot start. */
engine_host *engine_host_start(engine *e, double startup_timeout_s, engine_host_listener on_change,
                               void *user);

engine_state engine_host_state(const engine_host *h);
bool engine_host_ready(const engine_host *h);
/* Copies the failure (or late-load) reason into buf; "" when there is none. */
void engine_host_reason(const engine_host *h, char *buf, size_t len);
/* Seconds the load took, or has been running so far while LOADING (or FAILED by timeout). */
double engine_host_load_seconds(const engine_host *h);
engine *engine_host_engine(const engine_host *h);
const char *engine_state_name(engine_state s); /* "loading", "ready", "failed" */

/* Joins the host's threads (this waits for a load still in progress) and frees the host; the
 * engine itself is not destroyed. */
void engine_host_destroy(engine_host *h);

/* For shutdown: never waits for a load in progress (a loader can block for ever in open() on a
 * FIFO or a hung network mount). From now on the listener is not called. Returns true when the
 * load had finished: the host is then destroyed and the engine may be. Returns false while it is
 * still loading: the loader thread keeps using the host and the engine, so both stay allocated,
 * and the caller should end the process without destroying them. */
bool engine_host_stop(engine_host *h);

#endif
