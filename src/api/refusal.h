#ifndef KRONOS_API_REFUSAL_H
#define KRONOS_API_REFUSAL_H

#include "api/predict_error.h"
#include "http/request.h"

/* Answers a predict request that predict_parse (or the engine's limits) refused, and clears err.
 * 422: {"detail": [FastAPI's list], "error": {SPEC §1 envelope}}; 400 and 500 keep `detail` one
 * string, as FastAPI's HTTPException does. */
http_result api_respond_refused(http_request *r, predict_error *err);

#endif
