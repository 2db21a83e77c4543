#ifndef KRONOS_OBS_TRACING_H
#define KRONOS_OBS_TRACING_H

/* Tracing as a whole, for main: the sampler and the exporter thread per the OTEL_* settings,
 * the start-up log line, and the flush at shutdown. */

#include "obs/otel_config.h"

/* Off (nothing recorded) when c->enabled is false. 0, or -1 with a message. */
int tracing_start(const otel_config *c, char *err, size_t errlen);
/* Exports what is queued for at most `seconds`, then stops. */
void tracing_shutdown(double seconds);

#endif
