#include "obs/service_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/metrics.h"
#include "obs/process_collector.h"
#include "version.h"

#if defined(__clang__)
#define SM_COMPILER __VERSION__
#elif defined(__GNUC__)
#define SM_COMPILER "gcc " __VERSION__
#else
#define SM_COMPILER "unknown"
#endif

const char *const sm_route_names[SM_ROUTE_COUNT] = {"/",
                                                    "/v1/healthz",
                                                    "/v1/readyz",
                                                    "/v1/healthz/detailed",
                                                    "/v1/predict/single",
                                                    "/v1/predict/batch",
                                                    "/v1/metrics",
                                                    "/openapi.json",
                                                    "/docs",
                                                    "/redoc",
                                                    "other"};
const char *const sm_status_names[SM_STATUS_COUNT] = {[SM_STATUS_SUCCESS] = "success",
                                                      [SM_STATUS_INVALID] = "invalid",
                                                      [SM_STATUS_RATE_LIMITED] = "rate_limited",
                                                      [SM_STATUS_UNAVAILABLE] = "unavailable",
                                                      [SM_STATUS_TIMEOUT] = "timeout",
                                                      [SM_STATUS_CANCELLED] = "cancelled",
                                                      [SM_STATUS_ERROR] = "error"};
/* The route path, as the FastAPI service's guide queries it (SPEC §3). */
const char *const sm_endpoint_names[SM_ENDPOINT_COUNT] = {"/v1/predict/single",
                                                          "/v1/predict/batch"};
const char *const sm_event_names[SM_EVENT_COUNT] = {"unauthorized", "blocked", "invalid_api_key",
                                                    "rate_limited", "oversized"};

static const double k_latency[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                   2,     5,    10,    30,   60,  120,  300};
static const double k_inference[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                     2,    5,     10,   30,  60,   120, 300};
static const double k_candles[] = {50, 100, 200, 400, 800, 1600};
static const double k_items[] = {1, 2, 4, 8, 16, 32, 64};
static const double k_rows[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
static const double k_sizes[] = {256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SM_INFO_CAP 16 /* distinct values per model_info label before "other" */

struct sm_state {
    struct metric_registry *reg;
    struct metric *requests[SM_ROUTE_COUNT][SM_STATUS_COUNT];
    struct metric *duration[SM_ROUTE_COUNT];
    struct metric *req_size[SM_ROUTE_COUNT];
    struct metric *resp_size[SM_ROUTE_COUNT];
    struct metric *inference[SM_ENDPOINT_COUNT];
    struct metric *timeouts[SM_ENDPOINT_COUNT];
    struct metric *input_size[SM_ENDPOINT_COUNT];
    struct metric *queue_wait[SM_ENDPOINT_COUNT];
    struct metric *points[SM_ENDPOINT_COUNT];
    struct metric *concurrent, *queue_depth, *queue_capacity, *batch_items, *batch_rows;
    struct metric *model_loaded, *model_load_seconds, *model_load_failures;
    struct metric *trace_dropped, *trace_failures, *trace_exported;
    struct metric_family *model_info;
    /* container-labelled series: index n_containers is "unknown" */
    char **containers;
    size_t n_containers;
    struct metric **security; /* [event * (n+1) + container] */
    struct metric **rate_limit, **size_rejections;
};

static struct sm_state *g_sm;

enum sm_status sm_status_from_http(int code)
{
    switch (code) {
    case 429:
        return SM_STATUS_RATE_LIMITED;
    case 499:
        return SM_STATUS_CANCELLED;
    case 503:
        return SM_STATUS_UNAVAILABLE;
    case 504:
        return SM_STATUS_TIMEOUT;
    default:
        return code < 400 ? SM_STATUS_SUCCESS : code < 500 ? SM_STATUS_INVALID : SM_STATUS_ERROR;
    }
}

/* Registration helpers: every failure lands in err and aborts init. */
struct builder {
    struct metric_registry *reg;
    char *err;
    size_t errlen;
    bool failed;
};

static struct metric_family *family(struct builder *b, const struct metric_family_opts *o)
{
    if (b->failed)
        return NULL;
    struct metric_family *f = metric_registry_add(b->reg, o, b->err, b->errlen);
    if (!f)
        b->failed = true;
    return f;
}

static struct metric *series(struct builder *b, struct metric_family *f, const char *const *v)
{
    if (!f || b->failed)
        return NULL;
    struct metric *m = metric_family_get(f, v);
    if (!m) {
        snprintf(b->err, b->errlen, "metrics: out of memory creating a series");
        b->failed = true;
    }
    return m;
}

static struct metric_family *simple(struct builder *b, const char *name, const char *help,
                                    enum metric_type type, struct metric **out)
{
    struct metric_family_opts o = {.name = name, .help = help, .type = type};
    struct metric_family *f = family(b, &o);
    *out = series(b, f, NULL);
    return f;
}

static void per_endpoint(struct builder *b, struct metric_family_opts o, struct metric **out)
{
    static const char *const label[] = {"endpoint"};
    const struct metric_label_bound bound = {"endpoint", sm_endpoint_names, SM_ENDPOINT_COUNT, 0,
                                             "/v1/predict/single"};
    o.label_names = label;
    o.n_labels = 1;
    o.bounds = &bound;
    o.n_bounds = 1;
    struct metric_family *f = family(b, &o);
    for (int e = 0; e < SM_ENDPOINT_COUNT; e++)
        out[e] = series(b, f, &sm_endpoint_names[e]);
}

static void per_route(struct builder *b, struct metric_family_opts o, struct metric **out)
{
    static const char *const label[] = {"route"};
    const struct metric_label_bound bound = {"route", sm_route_names, SM_ROUTE_COUNT, 0, "other"};
    o.label_names = label;
    o.n_labels = 1;
    o.bounds = &bound;
    o.n_bounds = 1;
    struct metric_family *f = family(b, &o);
    for (int r = 0; r < SM_ROUTE_COUNT; r++)
        out[r] = series(b, f, &sm_route_names[r]);
}

static const char *container_value(const struct sm_state *s, size_t i)
{
    return i < s->n_containers ? s->containers[i] : "unknown";
}

static struct metric **per_container(struct builder *b, struct sm_state *s, const char *name,
                                     const char *help, bool with_event)
{
    static const char *const labels_ev[] = {"event", "container"};
    static const char *const labels[] = {"container"};
    const struct metric_label_bound bounds[] = {
        {"container", (const char *const *)s->containers, s->n_containers, 0, "unknown"},
        {"event", sm_event_names, SM_EVENT_COUNT, 0, "blocked"},
    };
    struct metric_family_opts o = {.name = name,
                                   .help = help,
                                   .type = METRIC_COUNTER,
                                   .label_names = with_event ? labels_ev : labels,
                                   .n_labels = with_event ? 2 : 1,
                                   .bounds = bounds,
                                   .n_bounds = with_event ? 2 : 1};
    /* An empty allowed list means "no restriction": then only "unknown" is allowed. */
    const char *only_unknown[] = {"unknown"};
    struct metric_label_bound b0 = bounds[0];
    if (!s->n_containers) {
        b0.allowed = only_unknown;
        b0.n_allowed = 1;
    }
    struct metric_label_bound all[2] = {b0, bounds[1]};
    o.bounds = all;
    struct metric_family *f = family(b, &o);
    size_t n_events = with_event ? SM_EVENT_COUNT : 1;
    size_t per = s->n_containers + 1;
    struct metric **out = calloc(n_events * per, sizeof *out);
    if (!out && !b->failed) {
        snprintf(b->err, b->errlen, "metrics: out of memory");
        b->failed = true;
    }
    for (size_t e = 0; out && e < n_events; e++) {
        for (size_t c = 0; c < per; c++) {
            const char *v[2];
            if (with_event) {
                v[0] = sm_event_names[e];
                v[1] = container_value(s, c);
            } else {
                v[0] = container_value(s, c);
            }
            out[e * per + c] = series(b, f, v);
        }
    }
    return out;
}

static void free_state(struct sm_state *s)
{
    if (!s)
        return;
    metric_registry_free(s->reg);
    for (size_t i = 0; i < s->n_containers; i++)
        free(s->containers[i]);
    free(s->containers);
    free(s->security);
    free(s->rate_limit);
    free(s->size_rejections);
    free(s);
}

static void register_families(struct builder *b, struct sm_state *s)
{
    static const char *const rs_labels[] = {"route", "status"};
    const struct metric_label_bound rs_bounds[] = {
        {"route", sm_route_names, SM_ROUTE_COUNT, 0, "other"},
        {"status", sm_status_names, SM_STATUS_COUNT, 0, "error"},
    };
    struct metric_family_opts req = {
        .name = "kronos_requests_total",
        .help = "HTTP requests completed, by route and outcome.",
        .type = METRIC_COUNTER,
        .label_names = rs_labels,
        .n_labels = 2,
        .exemplars = true,
        .bounds = rs_bounds,
        .n_bounds = 2,
    };
    struct metric_family *f = family(b, &req);
    for (int r = 0; r < SM_ROUTE_COUNT; r++)
        for (int st = 0; st < SM_STATUS_COUNT; st++)
            s->requests[r][st] =
                series(b, f, (const char *const[]){sm_route_names[r], sm_status_names[st]});

    per_route(b,
              (struct metric_family_opts){.name = "kronos_request_duration_seconds",
                                          .help = "Time from request arrival to response, in "
                                                  "seconds.",
                                          .type = METRIC_HISTOGRAM,
                                          .buckets = k_latency,
                                          .n_buckets = N(k_latency),
                                          .exemplars = true},
              s->duration);
    per_endpoint(b,
                 (struct metric_family_opts){.name = "kronos_model_inference_seconds",
                                             .help = "Model computation time per request, in "
                                                     "seconds, queue wait excluded.",
                                             .type = METRIC_HISTOGRAM,
                                             .buckets = k_inference,
                                             .n_buckets = N(k_inference),
                                             .exemplars = true},
                 s->inference);
    simple(b, "kronos_concurrent_requests", "Requests being processed now.", METRIC_GAUGE,
           &s->concurrent);
    per_endpoint(b,
                 (struct metric_family_opts){.name = "kronos_timeouts_total",
                                             .help = "Predictions that passed the inference "
                                                     "timeout and were cancelled.",
                                             .type = METRIC_COUNTER},
                 s->timeouts);
    per_endpoint(b,
                 (struct metric_family_opts){.name = "kronos_prediction_input_size",
                                             .help = "Candles per input series.",
                                             .type = METRIC_HISTOGRAM,
                                             .buckets = k_candles,
                                             .n_buckets = N(k_candles)},
                 s->input_size);
    s->security = per_container(b, s, "kronos_security_events_total",
                                "Requests refused by security checks, by event and caller.", true);
    s->rate_limit = per_container(b, s, "kronos_rate_limit_hits_total",
                                  "Requests refused by the rate limiter, by caller.", false);
    s->size_rejections =
        per_container(b, s, "kronos_request_size_rejections_total",
                      "Requests refused for a body over the size limit, by caller.", false);
    simple(b, "kronos_queue_depth", "Requests waiting for the model now.", METRIC_GAUGE,
           &s->queue_depth);
    simple(b, "kronos_queue_capacity", "Requests that may wait for the model before 503.",
           METRIC_GAUGE, &s->queue_capacity);
    per_endpoint(b,
                 (struct metric_family_opts){.name = "kronos_queue_wait_seconds",
                                             .help = "Time a request waited for the model, in "
                                                     "seconds.",
                                             .type = METRIC_HISTOGRAM,
                                             .buckets = k_inference,
                                             .n_buckets = N(k_inference)},
                 s->queue_wait);
    struct metric_family_opts items = {.name = "kronos_batch_items",
                                       .help = "Items per batch prediction request.",
                                       .type = METRIC_HISTOGRAM,
                                       .buckets = k_items,
                                       .n_buckets = N(k_items)};
    s->batch_items = series(b, family(b, &items), NULL);
    struct metric_family_opts rows = {.name = "kronos_inference_batch_rows",
                                      .help = "Rows one step of the model stacked for all the "
                                              "forecasts in flight (continuous batching).",
                                      .type = METRIC_HISTOGRAM,
                                      .buckets = k_rows,
                                      .n_buckets = N(k_rows)};
    s->batch_rows = series(b, family(b, &rows), NULL);
    per_endpoint(b,
                 (struct metric_family_opts){.name = "kronos_predicted_points_total",
                                             .help = "Forecast bars produced.",
                                             .type = METRIC_COUNTER},
                 s->points);
    per_route(b,
              (struct metric_family_opts){.name = "kronos_request_size_bytes",
                                          .help = "Request body size in bytes.",
                                          .type = METRIC_HISTOGRAM,
                                          .buckets = k_sizes,
                                          .n_buckets = N(k_sizes),
                                          .exemplars = true},
              s->req_size);
    per_route(b,
              (struct metric_family_opts){.name = "kronos_response_size_bytes",
                                          .help = "Response body size in bytes.",
                                          .type = METRIC_HISTOGRAM,
                                          .buckets = k_sizes,
                                          .n_buckets = N(k_sizes),
                                          .exemplars = true},
              s->resp_size);
    simple(b, "kronos_model_loaded", "1 when the model is loaded and ready to predict, else 0.",
           METRIC_GAUGE, &s->model_loaded);
    simple(b, "kronos_model_load_seconds", "Duration of the last model load, in seconds.",
           METRIC_GAUGE, &s->model_load_seconds);
    simple(b, "kronos_model_load_failures_total", "Model loads that failed.", METRIC_COUNTER,
           &s->model_load_failures);
    simple(b, "kronos_trace_spans_dropped_total",
           "Spans that never reached the OTLP collector: the export queue was full, or their "
           "batch was given up after failed exports.",
           METRIC_COUNTER, &s->trace_dropped);
    simple(b, "kronos_trace_export_failures_total",
           "OTLP export requests that failed (no connection, time-out, or an answer other than "
           "2xx).",
           METRIC_COUNTER, &s->trace_failures);
    simple(b, "kronos_trace_spans_exported_total", "Spans the OTLP collector accepted.",
           METRIC_COUNTER, &s->trace_exported);

    static const char *const info_labels[] = {"engine", "model", "tokenizer", "max_context"};
    const struct metric_label_bound info_bounds[] = {
        {"engine", NULL, 0, SM_INFO_CAP, "other"},
        {"model", NULL, 0, SM_INFO_CAP, "other"},
        {"tokenizer", NULL, 0, SM_INFO_CAP, "other"},
        {"max_context", NULL, 0, SM_INFO_CAP, "other"},
    };
    struct metric_family_opts info = {.name = "kronos_model_info",
                                      .help = "The loaded engine and model; constant 1.",
                                      .type = METRIC_GAUGE,
                                      .label_names = info_labels,
                                      .n_labels = 4,
                                      .bounds = info_bounds,
                                      .n_bounds = 4};
    s->model_info = family(b, &info);
    if (s->model_info &&
        !metric_family_replace(s->model_info, (const char *const[]){"none", "none", "none", "0"},
                               1)) {
        snprintf(b->err, b->errlen, "metrics: out of memory");
        b->failed = true;
    }

    static const char *const build_labels[] = {"version", "revision", "compiler"};
    struct metric_family_opts build = {.name = "kronos_build_info",
                                       .help = "The running build; constant 1.",
                                       .type = METRIC_GAUGE,
                                       .label_names = build_labels,
                                       .n_labels = 3};
    struct metric *bi =
        series(b, family(b, &build),
               (const char *const[]){KRONOS_VERSION, KRONOS_GIT_REVISION, SM_COMPILER});
    if (bi)
        metric_gauge_set(bi, 1);
}

int service_metrics_init(const char *const *containers, size_t n_containers, char *err,
                         size_t errlen)
{
    char scratch[1];
    if (!err) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (g_sm) {
        snprintf(err, errlen, "metrics: already initialised");
        return -1;
    }
    struct sm_state *s = calloc(1, sizeof *s);
    if (!s || !(s->reg = metric_registry_new()) ||
        !(s->containers = calloc(n_containers ? n_containers : 1, sizeof *s->containers))) {
        snprintf(err, errlen, "metrics: out of memory");
        free_state(s);
        return -1;
    }
    for (size_t i = 0; i < n_containers; i++) {
        if (!containers[i] || !*containers[i] || strcmp(containers[i], "unknown") == 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < s->n_containers; j++)
            dup = dup || strcmp(s->containers[j], containers[i]) == 0;
        if (dup)
            continue;
        if (!(s->containers[s->n_containers] = strdup(containers[i]))) {
            snprintf(err, errlen, "metrics: out of memory");
            free_state(s);
            return -1;
        }
        s->n_containers++;
    }
    struct builder b = {.reg = s->reg, .err = err, .errlen = errlen};
    register_families(&b, s);
    if (!b.failed && process_collector_register(s->reg, err, errlen) != 0)
        b.failed = true;
    if (b.failed) {
        free_state(s);
        return -1;
    }
    g_sm = s;
    return 0;
}

void service_metrics_shutdown(void)
{
    free_state(g_sm);
    g_sm = NULL;
}

int service_metrics_render(enum metric_format fmt, strbuf *out)
{
    return g_sm ? metric_registry_render(g_sm->reg, fmt, out) : -1;
}

/* ---- recorders ---- */

#define IN(v, n) ((unsigned)(v) < (unsigned)(n))

void sm_request_done(enum sm_route route, enum sm_status status, double seconds,
                     size_t request_bytes, size_t response_bytes, const char *trace_id)
{
    struct sm_state *s = g_sm;
    if (!s)
        return;
    if (!IN(route, SM_ROUTE_COUNT))
        route = SM_ROUTE_OTHER;
    if (!IN(status, SM_STATUS_COUNT))
        status = SM_STATUS_ERROR;
    metric_counter_add_exemplar(s->requests[route][status], 1, trace_id);
    metric_histogram_observe_exemplar(s->duration[route], seconds, trace_id);
    metric_histogram_observe_exemplar(s->req_size[route], (double)request_bytes, trace_id);
    metric_histogram_observe_exemplar(s->resp_size[route], (double)response_bytes, trace_id);
}

void sm_concurrent_inc(void)
{
    if (g_sm)
        metric_gauge_inc(g_sm->concurrent);
}

void sm_concurrent_dec(void)
{
    if (g_sm)
        metric_gauge_dec(g_sm->concurrent);
}

void sm_inference(enum sm_endpoint ep, double seconds, const char *trace_id)
{
    if (g_sm && IN(ep, SM_ENDPOINT_COUNT))
        metric_histogram_observe_exemplar(g_sm->inference[ep], seconds, trace_id);
}

void sm_timeout(enum sm_endpoint ep)
{
    if (g_sm && IN(ep, SM_ENDPOINT_COUNT))
        metric_counter_inc(g_sm->timeouts[ep]);
}

void sm_queue_wait(enum sm_endpoint ep, double seconds)
{
    if (g_sm && IN(ep, SM_ENDPOINT_COUNT))
        metric_histogram_observe(g_sm->queue_wait[ep], seconds);
}

void sm_input_size(enum sm_endpoint ep, size_t candles)
{
    if (g_sm && IN(ep, SM_ENDPOINT_COUNT))
        metric_histogram_observe(g_sm->input_size[ep], (double)candles);
}

void sm_batch_items(size_t n)
{
    if (g_sm)
        metric_histogram_observe(g_sm->batch_items, (double)n);
}

void sm_inference_batch_rows(int rows)
{
    if (g_sm)
        metric_histogram_observe(g_sm->batch_rows, (double)rows);
}

void sm_predicted_points(enum sm_endpoint ep, size_t n)
{
    if (g_sm && IN(ep, SM_ENDPOINT_COUNT))
        metric_counter_add(g_sm->points[ep], (double)n);
}

static size_t container_index(const struct sm_state *s, const char *container)
{
    for (size_t i = 0; container && i < s->n_containers; i++)
        if (strcmp(s->containers[i], container) == 0)
            return i;
    return s->n_containers;
}

void sm_security_event(enum sm_event ev, const char *container)
{
    struct sm_state *s = g_sm;
    if (!s || !IN(ev, SM_EVENT_COUNT))
        return;
    metric_counter_inc(s->security[ev * (s->n_containers + 1) + container_index(s, container)]);
}

void sm_rate_limit_hit(const char *container)
{
    if (g_sm)
        metric_counter_inc(g_sm->rate_limit[container_index(g_sm, container)]);
}

void sm_size_rejection(const char *container)
{
    if (g_sm)
        metric_counter_inc(g_sm->size_rejections[container_index(g_sm, container)]);
}

void sm_queue_callbacks(double (*depth)(void *), double (*capacity)(void *), void *arg)
{
    if (!g_sm)
        return;
    if (depth)
        metric_set_callback(g_sm->queue_depth, depth, arg);
    if (capacity)
        metric_set_callback(g_sm->queue_capacity, capacity, arg);
}

void sm_model_loaded(bool loaded)
{
    if (g_sm)
        metric_gauge_set(g_sm->model_loaded, loaded ? 1 : 0);
}

void sm_model_load_seconds(double seconds)
{
    if (g_sm)
        metric_gauge_set(g_sm->model_load_seconds, seconds);
}

void sm_model_load_failure(void)
{
    if (g_sm)
        metric_counter_inc(g_sm->model_load_failures);
}

void sm_model_info(const char *engine, const char *model, const char *tokenizer, int max_context)
{
    if (!g_sm)
        return;
    char ctx[16];
    snprintf(ctx, sizeof ctx, "%d", max_context);
    const char *v[] = {engine ? engine : "none", model ? model : "none",
                       tokenizer ? tokenizer : "none", ctx};
    metric_family_replace(g_sm->model_info, v, 1);
}

void sm_trace_spans_dropped(size_t n)
{
    if (g_sm)
        metric_counter_add(g_sm->trace_dropped, (double)n);
}

void sm_trace_export_failure(void)
{
    if (g_sm)
        metric_counter_inc(g_sm->trace_failures);
}

void sm_trace_spans_exported(size_t n)
{
    if (g_sm)
        metric_counter_add(g_sm->trace_exported, (double)n);
}
