/* POST /v1/predict/single and /v1/predict/batch: while the connection is suspended, parse and
 * validate the body on a parse thread (inline for a small body), run the model on a scheduler
 * worker, and answer on the HTTP thread when the job is done or the request was refused. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/handlers.h"
#include "api/predict_observe.h"
#include "api/predict_request.h"
#include "api/predict_response.h"
#include "api/predict_trace.h"
#include "api/readiness.h"
#include "api/refusal.h"
#include "engine/engine_host.h"
#include "engine/scheduler.h"
#include "http/response.h"
#include "obs/span.h"
#include "util/clock.h"
#include "util/gzip.h"
#include "util/strbuf.h"
#include "util/workq.h"

/* Where a request stands once its body has been parsed (on a parse thread, or inline for a small
 * body): the parse thread records it, then either the job's done callback or the parse thread
 * itself resumes the connection, and finish() answers on the HTTP thread. */
typedef enum verdict {
    V_SUBMITTED,  /* queued on the scheduler: answer from the job's outcome */
    V_REFUSED,    /* invalid request: answer `refused` */
    V_PARSE_FULL, /* the parse queue was full: 503 overloaded */
    V_SCHED_FULL, /* the inference queue was full: 503 overloaded */
    V_CLOSED,     /* shutting down: 503 not_ready */
    V_NOMEM,      /* 500 */
    V_NOT_PARSED, /* the client hung up before its parse began: the answer goes nowhere */
} verdict;

/* Who must resume the connection of a submitted job: the parse, once done with the request, or the
 * job's done callback; either may come first. */
enum { PHASE_PARSING, PHASE_PARSED, PHASE_DONE };

typedef struct predict_call {
    predict_request req;
    predict_log log;
    _Atomic(sched_job *) job; /* published before submit, for call_hangup */
    http_request *http;
    bool batch;
    verdict verdict;     /* written before the resume that hands the call back */
    atomic_bool hung_up; /* the client went away while suspended */
    atomic_int phase;
    atomic_int refs; /* the request (cleanup), the parse task, the job (done callback) */

    /* The answer of a successful job, built on the scheduler thread (not an HTTP thread): the
     * JSON, gzipped when the client accepts it, or the 422 for a forecast beyond float32 (and
     * the refusal of an invalid request, from the parse). */
    bool gzip_ok;
    strbuf answer;
    bool gzipped;
    predict_output_stats stats;
    predict_error refused;

    /* Tracing: the request's context, copied for the other threads, and when it queued. */
    trace_ctx trace;
    uint64_t submit_ns;
} predict_call;

static void call_unref(predict_call *pc)
{
    if (atomic_fetch_sub(&pc->refs, 1) != 1)
        return;
    sched_job_release(atomic_load(&pc->job));
    predict_request_free(&pc->req);
    sb_free(&pc->answer);
    predict_error_clear(&pc->refused);
    free(pc);
}

/* The request ends. It ends only after the resume (or when the server stops, once the parse
 * pool and the scheduler have finished), so the parse is over and a submitted job is done. */
static void call_cleanup(void *state)
{
    predict_call *pc = state;
    if (atomic_load(&pc->phase) != PHASE_DONE)
        sched_job_abandon(atomic_load(&pc->job));
    call_unref(pc);
}

/* Answers smaller than this are sent as they are: gzip would save little and cost a header. */
#define GZIP_MIN_BYTES 1024

/* Scheduler thread: serialises (and compresses) the forecasts of a successful job. */
static void build_answer(predict_call *pc, sched_job *job)
{
    engine_forecast *fc = sched_job_take_forecasts(job);
    if (!fc)
        return;
    const engine *e = app_of(pc->http)->engine;
    if (!predict_forecast_unrepresentable(&pc->req, fc, &pc->refused)) {
        size_t len = 0;
        char *body = predict_response_json(&pc->req, fc, pc->http->request_id, e->model_version,
                                           e->tokenizer_version, e->name, &len, &pc->stats);
        if (body && pc->gzip_ok && len >= GZIP_MIN_BYTES &&
            gzip_compress(body, len, &pc->answer) == 0) {
            pc->gzipped = true;
        } else if (body) {
            sb_reset(&pc->answer);
            sb_append(&pc->answer, body, len);
        }
        free(body);
    }
    for (size_t i = 0; i < pc->req.n; i++)
        engine_forecast_free(&fc[i]);
    free(fc);
}

/* Scheduler thread: the answer built, as the kronosd.serialise span. */
static void build_answer_traced(predict_call *pc, sched_job *job)
{
    span s;
    span_begin(&s, &pc->trace, NULL, "kronosd.serialise", SPAN_KIND_INTERNAL, clock_mono_ns());
    build_answer(pc, job);
    span_bool(&s, "kronos.gzip", pc->gzipped);
    span_int(&s, "kronos.answer_bytes", (int64_t)pc->answer.len);
    span_int(&s, "kronos.points", (int64_t)pc->stats.points);
    if (pc->refused.status)
        span_error(&s, pc->refused.code, pc->refused.message);
    span_end(&s, clock_mono_ns());
}

/* Scheduler thread. */
static void on_job_done(sched_job *job, void *user)
{
    predict_call *pc = user;
    predict_trace_job(&pc->trace, pc->submit_ns, job, &pc->req);
    if (sched_job_outcome(job) == SCHED_OK)
        build_answer_traced(pc, job);
    if (atomic_exchange(&pc->phase, PHASE_DONE) == PHASE_PARSED)
        http_resume(pc->http);
    call_unref(pc);
}

static void call_log_fields(log_line *l, void *state)
{
    predict_call *pc = state;
    predict_log_request_fields(l, &pc->log);
}

/* HTTP thread: the client went away while its request was parsed, queued or run: drop the work.
 * The parse thread publishes the job before submitting it and looks at hung_up after: one of the
 * two sees the other (sequentially consistent), and abandoning twice is harmless. */
static void call_hangup(void *state)
{
    predict_call *pc = state;
    atomic_store(&pc->hung_up, true);
    sched_job_abandon(atomic_load(&pc->job));
}

/* What FastAPI reads as JSON: no Content-Type at all, application/json or application/<x>+json
 * (parameters and case aside). Anything else stays a 400. */
static bool is_json_content_type(const char *ct)
{
    static const char app[] = "application/";
    if (!ct)
        return true;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, app, sizeof(app) - 1) != 0)
        return false;
    const char *sub = ct + sizeof(app) - 1;
    size_t n = strcspn(sub, "; \t");
    return (n == 4 && strncasecmp(sub, "json", 4) == 0) ||
           (n > 5 && strncasecmp(sub + n - 5, "+json", 5) == 0);
}

/* The Kronos model decodes at most max_context rows, so a longer forecast is a client mistake
 * for this deployment (422), not a server fault. */
static bool exceeds_engine_horizon(const engine *e, const predict_request *req, predict_error *err)
{
    if (e->max_pred_len <= 0)
        return false;
    for (size_t i = 0; i < req->n; i++) {
        if (req->series[i].pred_len <= (size_t)e->max_pred_len)
            continue;
        char field[64], constraint[96];
        if (req->batch)
            snprintf(field, sizeof(field), "items[%zu].prediction_timestamps", i);
        else
            snprintf(field, sizeof(field), "prediction_timestamps");
        snprintf(constraint, sizeof(constraint), "length <= %d (the model's max_context)",
                 e->max_pred_len);
        json_t *len = json_integer((json_int_t)req->series[i].pred_len);
        predict_issue is = predict_issue_value(constraint);
        predict_error_add(err, field, &is, len);
        json_decref(len);
    }
    predict_error_finish(err);
    return err->status != 0;
}

static http_result respond_503(http_request *r, const char *code, const char *msg,
                               const char *retry_after)
{
    http_header_kv retry = {"Retry-After", retry_after};
    return http_respond_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE, code, msg, NULL, &retry, 1);
}

/* Parse thread (or the HTTP thread, inline): parses and validates the body, then submits the
 * job. Returns the verdict; on V_SUBMITTED the job's done callback resumes the connection. */
static verdict parse_and_submit(predict_call *pc)
{
    http_request *r = pc->http;
    app *a = app_of(r);
    const config *cfg = a->cfg;
    predict_limits lim = {(size_t)cfg->max_candles,     (size_t)cfg->max_pred_len,
                          (size_t)cfg->max_batch_items, cfg->max_sample_count,
                          a->engine->price_min,         a->engine->price_max,
                          a->engine->quantity_max};
    predict_defaults def = {cfg->default_temperature, cfg->default_top_k, cfg->default_top_p,
                            cfg->default_sample_count};
    predict_error *err = &pc->refused;
    uint64_t phase_ns = clock_mono_ns();
    span ps;
    span_begin(&ps, &pc->trace, NULL, "kronosd.parse", SPAN_KIND_INTERNAL, phase_ns);
    span_int(&ps, "http.request.body.size", (int64_t)r->body.len);
    int parsed = predict_parse(r->body.data ? r->body.data : "", r->body.len, pc->batch, &lim, &def,
                               &pc->req, err);
    /* The parsed request holds all it needs. The body belongs to the handler while the request
     * is suspended: http_body_release is safe here (http/request.h). */
    http_body_release(r);
    if (parsed != PREDICT_OK || exceeds_engine_horizon(a->engine, &pc->req, err)) {
        span_error(&ps, err->code, err->message);
        span_end(&ps, clock_mono_ns());
        return V_REFUSED;
    }
    span_int(&ps, "kronos.series_count", (int64_t)pc->req.n);
    span_int(&ps, "kronos.rows", (int64_t)pc->req.total_rows);
    span_int(&ps, "kronos.pred_len", (int64_t)pc->req.total_pred_len);
    span_end(&ps, clock_mono_ns());
    predict_observe_input(&pc->log, &pc->req);
    predict_observe_phase(r, "prediction validated", phase_ns, &pc->log);

    sched_job *job =
        sched_job_create(pc->req.series, pc->req.n, cfg->inference_timeout, on_job_done, pc);
    if (!job)
        return V_NOMEM;
    if (pc->trace.recording)
        sched_job_record_phases(job);
    atomic_store(&pc->job, job);
    if (atomic_load(&pc->hung_up))
        sched_job_abandon(job); /* submit then fires it as cancelled, like a queued one */
    atomic_fetch_add(&pc->refs, 1);
    pc->submit_ns = clock_mono_ns();
    int rc = scheduler_submit(a->sched, job);
    if (rc != SCHED_SUBMITTED) {
        atomic_fetch_sub(&pc->refs, 1);
        predict_trace_refused(&pc->trace, pc->submit_ns,
                              rc == SCHED_FULL ? "overloaded" : "not_ready");
        return rc == SCHED_FULL ? V_SCHED_FULL : V_CLOSED;
    }
    /* The job may be done already; the request is resumed only once parse_done lets it go. */
    predict_observe_phase(r, "prediction queued", phase_ns, &pc->log);
    return V_SUBMITTED;
}

/* Records the verdict and hands the request back to its HTTP thread, unless the job's done
 * callback is still to come (it then resumes). Then drops the parse's reference. */
static void parse_done(predict_call *pc, verdict v)
{
    pc->verdict = v;
    int expected = PHASE_PARSING;
    if (v != V_SUBMITTED || !atomic_compare_exchange_strong(&pc->phase, &expected, PHASE_PARSED))
        http_resume(pc->http); /* refused, or the job finished first (phase stays DONE) */
    call_unref(pc);
}

/* Parse thread. cancelled: the pool is stopping (shutdown) and the request is answered 503. */
static void parse_task(void *arg, bool cancelled)
{
    predict_call *pc = arg;
    if (cancelled || atomic_load(&pc->hung_up)) {
        http_body_release(pc->http);
        parse_done(pc, cancelled ? V_CLOSED : V_NOT_PARSED);
        return;
    }
    parse_done(pc, parse_and_submit(pc));
}

/* The answer of a request refused before its job ran. */
static http_result answer_unsubmitted(http_request *r, predict_call *pc)
{
    switch (pc->verdict) {
    case V_REFUSED:
        return api_respond_refused(r, &pc->refused);
    case V_PARSE_FULL:
        return respond_503(r, "overloaded", "the parse queue is full; retry later", "1");
    case V_SCHED_FULL:
        return respond_503(r, "overloaded", "the inference queue is full; retry later", "1");
    case V_CLOSED:
        return respond_503(r, "not_ready", "the service is shutting down", "5");
    case V_NOT_PARSED:
        return respond_503(r, "not_ready", "the request was cancelled (shutdown or disconnect)",
                           "5");
    case V_NOMEM:
    case V_SUBMITTED:
    default:
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "out of memory", NULL, NULL, 0);
    }
}

/* Bodies up to this size are parsed on the HTTP thread: about half a millisecond (measured,
 * docs/SECURITY.md "The HTTP server"), less than what handing them over costs in latency, and
 * never stuck behind the parse of a large body. */
#define PARSE_INLINE_MAX_BYTES (16u * 1024)

static http_result start(http_request *r, bool batch)
{
    app *a = app_of(r);
    if (!is_json_content_type(http_header(r, "Content-Type")))
        return http_respond_error(r, HTTP_STATUS_BAD_REQUEST, "bad_request",
                                  "Content-Type must be application/json (or absent)", NULL, NULL,
                                  0);
    readiness rd;
    readiness_get(a, &rd);
    if (!rd.ready) {
        char msg[320];
        snprintf(msg, sizeof(msg), "the forecasting engine is not ready (%s%s%s)", rd.status,
                 rd.reason[0] ? ": " : "", rd.reason);
        return respond_503(r, "not_ready", msg, "5");
    }

    predict_call *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "out of memory", NULL, NULL, 0);
    pc->http = r;
    pc->batch = batch;
    pc->gzip_ok = gzip_accepted(http_header(r, "Accept-Encoding"));
    pc->trace = r->trace;
    sb_init(&pc->answer, 0);
    predict_error_init(&pc->refused);
    atomic_init(&pc->job, NULL);
    atomic_init(&pc->hung_up, false);
    atomic_init(&pc->phase, PHASE_PARSING);
    atomic_init(&pc->refs, 2); /* the request and the parse */
    r->handler_state = pc;
    r->handler_cleanup = call_cleanup;
    r->log_fields = call_log_fields;
    r->on_hangup = call_hangup;
    if (r->body.len > PARSE_INLINE_MAX_BYTES && a->parse_pool) {
        http_suspend(r); /* before the parse thread can resume it */
        if (!workq_push(a->parse_pool, parse_task, pc)) {
            http_body_release(r);
            uint64_t now = clock_mono_ns();
            span ps;
            span_begin(&ps, &pc->trace, NULL, "kronosd.parse", SPAN_KIND_INTERNAL, now);
            span_error(&ps, "overloaded", "the parse queue is full");
            span_end(&ps, now);
            parse_done(pc, V_PARSE_FULL);
        }
        return HTTP_RESULT_OK;
    }
    /* Inline: a refusal is answered now, as any 4xx (a client that half-closed still gets it);
     * only a queued forecast suspends the request. */
    verdict v = parse_and_submit(pc);
    if (v != V_SUBMITTED) {
        pc->verdict = v;
        atomic_fetch_sub(&pc->refs, 1); /* no parse task holds it */
        return answer_unsubmitted(r, pc);
    }
    http_suspend(r);
    parse_done(pc, v);
    return HTTP_RESULT_OK;
}

/* HTTP thread, after the resume. */
static http_result finish(http_request *r, predict_call *pc)
{
    app *a = app_of(r);
    if (pc->verdict != V_SUBMITTED)
        return answer_unsubmitted(r, pc);
    sched_job *job = atomic_load(&pc->job);
    sched_outcome outcome = sched_job_outcome(job);
    predict_observe_outcome(r, &pc->log, &pc->req, job);
    predict_observe_phase(r, "prediction job done", r->start_ns, &pc->log);
    uint64_t phase_ns = clock_mono_ns();
    switch (outcome) {
    case SCHED_OK: {
        if (pc->refused.status)
            return api_respond_refused(r, &pc->refused);
        if (!sb_ok(&pc->answer) || !pc->answer.len)
            return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                      "the engine produced an unusable forecast", NULL, NULL, 0);
        predict_observe_output(r, &pc->log, &pc->req, &pc->stats);
        predict_observe_phase(r, "prediction answer built", phase_ns, &pc->log);
        http_header_kv gzip[] = {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}};
        size_t len = 0;
        char *body = sb_detach(&pc->answer, &len);
        return http_respond(r, HTTP_STATUS_OK, CT_JSON, body, len, true, gzip, pc->gzipped ? 2 : 0);
    }
    case SCHED_TIMEOUT: {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "inference did not finish within %g s (KRONOS_INFERENCE_TIMEOUT); cancelled",
                 a->cfg->inference_timeout);
        return http_respond_error(r, HTTP_STATUS_GATEWAY_TIMEOUT, "timeout", msg, NULL, NULL, 0);
    }
    case SCHED_CANCELLED:
        return respond_503(r, "not_ready", "the request was cancelled (shutdown or disconnect)",
                           "5");
    case SCHED_FAILED:
    case SCHED_PENDING:
    default: {
        char msg[320];
        snprintf(msg, sizeof(msg), "inference failed: %s", sched_job_error(job));
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error", msg, NULL,
                                  NULL, 0);
    }
    }
}

static http_result handle(http_request *r, bool batch)
{
    predict_call *pc = r->handler_state;
    if (!pc)
        return start(r, batch);
    return finish(r, pc);
}

http_result handle_predict_single(http_request *r)
{
    return handle(r, false);
}

http_result handle_predict_batch(http_request *r)
{
    return handle(r, true);
}
