#ifndef KRONOS_API_READINESS_H
#define KRONOS_API_READINESS_H

#include <stdbool.h>

#include <jansson.h>

#include "api/app.h"
#include "http/request.h"

#define READINESS_REASON_MAX 256

/* What /v1/readyz reports: ready only when an engine is loaded and the service is not
 * draining. */
typedef struct readiness {
    bool ready;
    bool model_loaded;
    const char *status; /* ready | loading | draining | failed */
    const char *engine;
    const char *model;
    const char *tokenizer;
    char reason[READINESS_REASON_MAX];
} readiness;

/* Every string is valid UTF-8. The checks are NULL only when out of memory. */
void readiness_get(app *a, readiness *out);
json_t *readiness_model_check(app *a, const readiness *rd);
json_t *readiness_queue_check(app *a);

#endif
