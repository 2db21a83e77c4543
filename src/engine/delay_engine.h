#ifndef KRONOS_DELAY_ENGINE_H
#define KRONOS_DELAY_ENGINE_H

#include "engine/engine.h"

#ifdef KRONOS_TEST_HOOKS
/* Test builds only: wraps an engine so every predict first waits `delay_ms` (polling the cancel
 * token each millisecond, like a real engine between steps) and the load waits `load_delay_ms`,
 * to drive timeouts, overload, disconnects and readiness through the real binary. Enabled by
 * KRONOS_TEST_ENGINE_DELAY_MS and KRONOS_TEST_ENGINE_LOAD_DELAY_MS. */
engine *delay_engine_wrap(engine *inner, int delay_ms, int load_delay_ms);
#endif

#endif
