#include "api/readiness.h"

#include <stdio.h>

#include "engine/engine.h"

void readiness_get(app *a, readiness *out)
{
    engine_state st = (engine_state)atomic_load(&a->engine_state);
    out->model_loaded = st == ENGINE_STATE_READY;
    out->engine = a->engine ? a->engine->name : "none";
    out->model = a->engine ? a->engine->model_version : "";
    out->tokenizer = a->engine ? a->engine->tokenizer_version : "";
    out->reason[0] = '\0';
    if (atomic_load(&a->draining)) {
        out->status = "draining";
        snprintf(out->reason, sizeof(out->reason), "shutting down");
    } else if (st == ENGINE_STATE_READY) {
        out->status = "ready";
    } else if (st == ENGINE_STATE_FAILED) {
        out->status = "failed";
        snprintf(out->reason, sizeof(out->reason), "%s", a->engine_failure);
    } else {
        out->status = "loading";
    }
    out->ready = out->model_loaded && !atomic_load(&a->draining);
}

json_t *readiness_model_check(app *a, const readiness *rd)
{
    engine_state st = (engine_state)atomic_load(&a->engine_state);
    const char *status = st == ENGINE_STATE_READY    ? "pass"
                         : st == ENGINE_STATE_FAILED ? "fail"
                                                     : "warn";
    json_t *check =
        json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:i}", "status", status, "state",
                  st == ENGINE_STATE_READY    ? "ready"
                  : st == ENGINE_STATE_FAILED ? "failed"
                                              : "loading",
                  "loaded", rd->model_loaded, "engine", rd->engine, "model", rd->model, "tokenizer",
                  rd->tokenizer, "max_context", a->engine ? a->engine->max_context : 0);
    if (st == ENGINE_STATE_READY)
        json_object_set_new(check, "load_seconds", json_real(a->model_load_seconds));
    if (st == ENGINE_STATE_FAILED)
        json_object_set_new(check, "reason", json_string(a->engine_failure));
    return check;
}

json_t *readiness_queue_check(app *a)
{
    return json_pack("{s:s, s:i, s:i, s:i}", "status", "pass", "depth", 0, "capacity",
                     a->cfg->queue_size, "workers", a->cfg->inference_threads);
}
