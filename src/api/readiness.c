#include "api/readiness.h"

#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_host.h"
#include "engine/kronos/kernels.h"
#include "engine/scheduler.h"
#include "util/utf8_sanitize.h"

static engine_state current_state(app *a)
{
    return a->host ? engine_host_state(a->host) : ENGINE_STATE_LOADING;
}

/* The load failure, as valid UTF-8: it often names a path, and paths are bytes. */
static void host_reason(app *a, char *out, size_t len)
{
    char raw[READINESS_REASON_MAX];
    engine_host_reason(a->host, raw, sizeof(raw));
    utf8_sanitize(out, len, raw, strlen(raw));
}

void readiness_get(app *a, readiness *out)
{
    engine_state st = current_state(a);
    out->model_loaded = st == ENGINE_STATE_READY;
    out->engine = a->engine ? a->engine->name : "none";
    out->model = a->engine ? a->engine->model_version : "";
    out->tokenizer = a->engine ? a->engine->tokenizer_version : "";
    out->reason[0] = '\0';
    /* Read once: SIGTERM may flip it meanwhile, and status and ready must agree. */
    bool draining = atomic_load(&a->draining);
    if (draining) {
        out->status = "draining";
        snprintf(out->reason, sizeof(out->reason), "shutting down");
    } else {
        out->status = engine_state_name(st);
        if (st == ENGINE_STATE_FAILED && a->host)
            host_reason(a, out->reason, sizeof(out->reason));
    }
    out->ready = out->model_loaded && !draining;
}

json_t *readiness_model_check(app *a, const readiness *rd)
{
    engine_state st = current_state(a);
    const char *status = st == ENGINE_STATE_READY    ? "pass"
                         : st == ENGINE_STATE_FAILED ? "fail"
                                                     : "warn";
    json_t *check = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:i}", "status", status, "state",
                              engine_state_name(st), "loaded", rd->model_loaded, "engine",
                              rd->engine, "model", rd->model, "tokenizer", rd->tokenizer,
                              "max_context", a->engine ? a->engine->max_context : 0);
    /* The Kronos kernel set (KRONOS_SIMD): avx512, avx2 or portable, as the CPU allows or forced.
     */
    if (check &&
        json_object_set_new(check, "kernels", json_string(kr_simd_name(kr_simd_active())))) {
        json_decref(check);
        return NULL;
    }
    if (check && a->host) {
        char reason[READINESS_REASON_MAX];
        host_reason(a, reason, sizeof(reason));
        if (st == ENGINE_STATE_READY)
            json_object_set_new(check, "load_seconds",
                                json_real(engine_host_load_seconds(a->host)));
        if (reason[0])
            json_object_set_new(check, "reason", json_string(reason));
    }
    return check;
}

json_t *readiness_queue_check(app *a)
{
    if (!a->sched)
        return json_pack("{s:s, s:s}", "status", "warn", "reason", "no scheduler");
    size_t depth = scheduler_depth(a->sched), cap = scheduler_capacity(a->sched);
    int busy = scheduler_busy_workers(a->sched), workers = scheduler_workers(a->sched);
    /* Warn from 80% full: new work is about to be refused with 503 overloaded. */
    const char *status = cap && depth * 10 >= cap * 8 ? "warn" : "pass";
    return json_pack("{s:s, s:I, s:I, s:i, s:i}", "status", status, "depth", (json_int_t)depth,
                     "capacity", (json_int_t)cap, "busy_workers", busy, "workers", workers);
}
