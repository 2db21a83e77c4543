/* kronosd: start-up, signals and wiring. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "config.h"
#include "engine/baseline/baseline.h"
#include "engine/engine_host.h"
#include "engine/kronos/kernels.h"
#include "engine/kronos/kronos_engine.h"
#include "engine/scheduler.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "api/readiness.h"
#include "http/server.h"
#include "security/apikeys.h"
#include "security/identity.h"
#include "security/ratelimit.h"
#include "obs/log.h"
#include "obs/service_metrics.h"
#include "obs/tracing.h"
#include "util/clock.h"
#include "util/json_escape.h"
#include "util/fd_limit.h"
#include "util/sd_notify.h"
#include "util/signal_pipe.h"
#include "util/workq.h"
#include "util/memlimit.h"
#include "version.h"

/* Open files beyond one per connection: model and tokenizer files, log output, the listening
 * socket, epoll and event fds of the HTTP, scheduler and watch threads. */
#define KRONOS_FD_MARGIN 64

static void warn_unknown_variable(const char *name, const char *closest, void *ctx)
{
    (void)ctx;
    log_line l;
    if (log_begin(&l, LOG_WARNING, "kronosd", "unknown configuration variable; ignored")) {
        log_str(&l, "variable", name);
        if (closest)
            log_str(&l, "did_you_mean", closest);
        log_end(&l);
    }
}

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static void on_engine_state(engine_host *h, engine_state state, const char *reason,
                            double load_seconds, bool late, void *user)
{
    app *a = user;
    engine *e = engine_host_engine(h);
    log_line l;
    if (state == ENGINE_STATE_LOADING) {
        if (log_begin(&l, LOG_INFO, "kronosd.engine", "model loading")) {
            log_str(&l, "container", a->cfg->instance);
            log_str(&l, "engine", e->name);
            log_double(&l, "startup_timeout_seconds", a->cfg->startup_timeout);
            log_end(&l);
        }
        return;
    }
    bool ok = state == ENGINE_STATE_READY;
    sm_model_loaded(ok && !atomic_load(&a->draining)); /* draining ends "ready to predict" */
    if (ok) {
        sm_model_load_seconds(load_seconds);
        sm_model_info(e->name, e->model_version, e->tokenizer_version, e->max_context);
    } else {
        sm_model_load_failure();
    }
    if (!log_begin(&l, ok ? (late ? LOG_WARNING : LOG_INFO) : LOG_ERROR, "kronosd.engine",
                   ok ? "model loaded" : "model load failed"))
        return;
    log_str(&l, "container", a->cfg->instance);
    log_str(&l, "engine", e->name);
    log_str(&l, "model", e->model_version);
    log_str(&l, "tokenizer", e->tokenizer_version);
    log_int(&l, "max_context", e->max_context);
    log_double(&l, "load_seconds", load_seconds);
    if (late)
        log_bool(&l, "after_startup_timeout", true);
    if (reason && reason[0])
        log_str(&l, "error_message", reason);
    log_end(&l);
}

static double queue_depth(void *arg)
{
    return (double)scheduler_depth(arg);
}

static double queue_capacity(void *arg)
{
    return (double)scheduler_capacity(arg);
}

static void batch_step(int rows, int jobs, void *user)
{
    (void)jobs;
    (void)user;
    sm_inference_batch_rows(rows);
}

/* KRONOS_INFERENCE_THREADS is the number of threads doing model work. The Kronos engine splits
 * one forecast over up to 4 of them (its matrices stop scaling beyond that), and the scheduler
 * runs as many forecasts side by side as fit; the baseline engine is single-threaded. */
#define KRONOS_THREADS_PER_FORECAST_MAX 4

static int threads_per_forecast(const config *cfg)
{
    if (!config_uses_kronos(cfg))
        return 1;
    return cfg->inference_threads < KRONOS_THREADS_PER_FORECAST_MAX
               ? cfg->inference_threads
               : KRONOS_THREADS_PER_FORECAST_MAX;
}

/* Prediction bodies are parsed on their own threads, off the HTTP threads (docs/SECURITY.md,
 * "The HTTP server"): one per core, at least 2 so one large body never holds up all parsing, at
 * most 8. Up to KRONOS_QUEUE_SIZE bodies wait for them; more are refused with 503 overloaded. */
static unsigned parse_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 2 ? 2 : cores > 8 ? 8 : (unsigned)cores;
}

static engine *create_engine(const config *cfg)
{
    engine *e = config_uses_kronos(cfg)
                    ? kronos_engine_create(cfg->model_path, cfg->tokenizer_path, cfg->max_context,
                                           cfg->clip_value, threads_per_forecast(cfg))
                    : baseline_engine_create();
    if (e && config_uses_kronos(cfg)) { /* a broken model folder is reported by loading */
        engine_limits lim = {(size_t)cfg->max_candles, (size_t)cfg->max_pred_len,
                             (size_t)cfg->max_batch_items, cfg->max_sample_count};
        char why[256];
        kronos_engine_set_batching(e, cfg->max_batch_rows, &lim, why, sizeof(why));
    }
    return e;
}

/* Refuses request limits whose worst-case memory exceeds what the machine (or cgroup) has; *m
 * gets the figures (workers 0 when the engine cannot give them: a broken model folder, which
 * loading reports). */
static bool memory_fits(const config *cfg, const engine *e, int workers, config_memory *m,
                        char *source, size_t source_len)
{
    engine_limits lim = {(size_t)cfg->max_candles, (size_t)cfg->max_pred_len,
                         (size_t)cfg->max_batch_items, cfg->max_sample_count};
    engine_memory need;
    char why[1024];
    *m = (config_memory){.machine_source = source};
    if (!e->ops->memory || e->ops->memory(e, &lim, &need, why, sizeof(why)) != 0 ||
        memlimit_read("/", &m->machine, source, source_len) != 0)
        return true;
    m->workers = workers;
    m->per_job = need.per_job;
    m->weights = need.weights;
    if (config_check_memory(cfg, m, why, sizeof(why)) == CONFIG_OK)
        return true;
    fprintf(stderr, "kronosd: %s\n", why);
    return false;
}

static void log_memory_bound(const config_memory *m)
{
    log_line l;
    if (m->workers > 0 && log_begin(&l, LOG_INFO, "kronosd", "memory bound")) {
        log_int(&l, "workers", m->workers);
        log_uint(&l, "per_forecast_bytes", m->per_job);
        log_uint(&l, "weights_bytes", m->weights);
        log_uint(&l, "worst_case_bytes", config_memory_worst(m));
        log_uint(&l, "machine_bytes", m->machine);
        log_str(&l, "machine_source", m->machine_source);
        log_end(&l);
    }
}

static void log_startup(const config *cfg, unsigned port, int workers, int per_forecast,
                        unsigned long open_files)
{
    strbuf cj;
    sb_init(&cj, 0);
    config_to_json(cfg, &cj);
    log_line l;
    if (log_begin(&l, LOG_INFO, "kronosd", "kronosd starting")) {
        log_str(&l, "container", cfg->instance);
        log_str(&l, "version", KRONOS_VERSION);
        log_str(&l, "revision", KRONOS_GIT_REVISION);
        log_uint(&l, "port", port);
        log_int(&l, "inference_workers", workers);
        log_int(&l, "threads_per_forecast", per_forecast);
        log_int(&l, "pid", getpid());
        log_uint(&l, "open_files_limit", open_files);
        log_str(&l, "kernels", kr_simd_name(kr_simd_active()));
        log_bool(&l, "cpu_avx2_fma", kr_simd_supported(KR_SIMD_AVX2));
        log_bool(&l, "cpu_avx512f", kr_simd_supported(KR_SIMD_AVX512));
        if (sb_ok(&cj))
            log_raw(&l, "config", cj.data);
        log_end(&l);
    }
    sb_free(&cj);
}

/* --check-config: everything start-up checks has passed; load the model as serving would, then
 * print the effective configuration (it holds no secrets: the API keys stay in their file) and
 * the outcome. 0 when kronosd would serve, 2 otherwise. */
static int check_config(const config *cfg, engine *e)
{
    char err[1024] = "";
    bool ok = e && (!e->ops->load || e->ops->load(e, err, sizeof(err)) == ENGINE_OK);
    strbuf out;
    sb_init(&out, 0);
    sb_puts(&out, "{\"config\":");
    config_to_json(cfg, &out);
    const char *names[][2] = {{"engine", e ? e->name : "none"},
                              {"model", e ? e->model_version : ""},
                              {"tokenizer", e ? e->tokenizer_version : ""}};
    for (size_t i = 0; i < 3; i++) {
        sb_printf(&out, ",\"%s\":", names[i][0]);
        json_escape_append(&out, names[i][1], strlen(names[i][1]));
    }
    sb_printf(&out, ",\"valid\":%s}\n", ok ? "true" : "false");
    fputs(sb_ok(&out) ? out.data : "{\"valid\":false}\n", stdout);
    sb_free(&out);
    if (!ok)
        fprintf(stderr, "kronosd: the model does not load: %s\n", err[0] ? err : "no engine");
    if (e)
        e->ops->destroy(e);
    return ok ? 0 : 2;
}

/* Handlers never wait on the model nor parse a large body (parse_threads): twice the cores (at
 * least 4) keep probes and scrapes answered. */
static http_server *start_http(app *a, char *err, size_t errlen)
{
    const config *cfg = a->cfg;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nroutes;
    const route *routes = api_route_table(cfg, &nroutes);
    http_server_config hc = {
        .host = cfg->host,
        .port = cfg->port,
        .threads = (unsigned)(cores > 2 ? 2 * cores : 4),
        .header_timeout = cfg->header_timeout,
        .connection_timeout = cfg->connection_timeout,
        .min_send_rate = cfg->min_send_rate_kb * 1024.0,
        .max_connections = (unsigned)cfg->max_connections,
        .max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
        .max_body = config_max_request_bytes(cfg),
        .max_buffered = (size_t)cfg->max_buffered_mb << 20,
        .max_inflated = (size_t)cfg->max_decompressed_mb << 20,
        .routes = routes,
        .nroutes = nroutes,
        .admit = api_admit,
        .ctx = a,
        .draining = &a->draining,
    };
    return http_server_start(&hc, err, errlen);
}

/* Waits for SIGTERM/SIGINT. Meanwhile tells systemd (Type=notify) READY=1 once readiness is
 * ready, the HTTP server being up by then, and pings its watchdog when one is set. */
static int wait_for_stop_signal(app *a)
{
    bool told = false;
    for (;;) {
        int sig = signal_pipe_wait(100);
        if (sig > 0)
            return sig;
        if (!told) {
            readiness rd;
            readiness_get(a, &rd);
            if (rd.ready || strcmp(rd.status, "failed") == 0) {
                char msg[READINESS_REASON_MAX + 64];
                snprintf(msg, sizeof msg,
                         rd.ready ? "READY=1\nSTATUS=serving" : "STATUS=model load failed: %s",
                         rd.reason);
                for (char *nl = strchr(msg, '\n'); !rd.ready && nl; nl = strchr(nl, '\n'))
                    *nl = ' '; /* one line: a newline would start another assignment */
                sd_notify_send(msg);
                told = true;
            }
        }
        sd_watchdog_tick(clock_mono_ns());
    }
}

/* A second stop signal during the drain ends the process at once. */
static void exit_on_second_signal(int timeout_ms)
{
    sd_watchdog_tick(clock_mono_ns());
    if (signal_pipe_wait(timeout_ms) > 0) {
        log_msg(LOG_WARNING, "kronosd", "second signal: exiting immediately");
        _exit(1);
    }
}

/* Waits for SIGTERM/SIGINT, then drains in two steps. First readiness turns to draining while
 * the listener keeps accepting for KRONOS_DRAIN_DELAY, so load balancers and Kubernetes
 * endpoints stop sending traffic before connections are refused (answers meanwhile carry
 * Connection: close). Then the listener closes and in-flight requests get the grace period
 * (KRONOS_SHUTDOWN_GRACE) minus a last tenth (at most 1 s) in which the requests still running
 * are cancelled and their clients answered 503, so the whole stop takes at most delay + grace.
 * A second signal ends at once. Returns the number of requests that were still in flight when
 * the grace period ran out. */
static long serve_until_signal(app *a, http_server *srv, uint64_t *closed_ns)
{
    int sig = wait_for_stop_signal(a);
    atomic_store(&a->draining, true);
    sd_notify_send("STOPPING=1\nSTATUS=draining");
    sm_model_loaded(false); /* "ready to predict" (SPEC §3) ends with draining */
    log_line l;
    if (log_begin(&l, LOG_INFO, "kronosd", "shutdown requested; draining")) {
        log_str(&l, "container", a->cfg->instance);
        log_str(&l, "signal", strsignal(sig));
        log_int(&l, "in_flight", http_server_inflight(srv));
        log_double(&l, "drain_delay_seconds", a->cfg->drain_delay);
        log_double(&l, "grace_seconds", a->cfg->shutdown_grace);
        log_end(&l);
    }
    uint64_t delay_end = clock_mono_ns() + (uint64_t)(a->cfg->drain_delay * 1e9);
    while (clock_mono_ns() < delay_end)
        exit_on_second_signal(20);
    http_server_quiesce(srv);
    if (log_begin(&l, LOG_INFO, "kronosd", "listener closed; finishing in-flight requests")) {
        log_int(&l, "in_flight", http_server_inflight(srv));
        log_end(&l);
    }
    uint64_t start = clock_mono_ns();
    *closed_ns = start;

    double grace = a->cfg->shutdown_grace;
    double cancel_reserve = grace < 10 ? grace / 10 : 1.0;
    uint64_t drain_end = start + (uint64_t)((grace - cancel_reserve) * 1e9);
    uint64_t end = start + (uint64_t)(grace * 1e9);
    while (http_server_inflight(srv) > 0 && clock_mono_ns() < drain_end)
        exit_on_second_signal(20);
    long left = http_server_inflight(srv);
    if (left > 0 && log_begin(&l, LOG_WARNING, "kronosd", "grace period over; aborting requests")) {
        log_int(&l, "in_flight", left);
        log_end(&l);
    }
    /* Jobs still queued or running are cancelled; their clients get 503 before the server
     * stops, so give those answers the rest of the grace period to leave. */
    scheduler_shutdown(a->sched, 0);
    workq_stop(a->parse_pool); /* bodies still waiting for a parse are answered 503 */
    struct timespec tick = {0, 10 * 1000000L};
    while (http_server_inflight(srv) > 0 && clock_mono_ns() < end)
        nanosleep(&tick, NULL);
    return left;
}

static int refuse_fd_limit(const config *cfg, unsigned long *open_files)
{
    unsigned long need = (unsigned long)cfg->max_connections + KRONOS_FD_MARGIN, hard;
    if (fd_limit_ensure(need, open_files, &hard) == 0)
        return 0;
    fprintf(stderr,
            "kronosd: invalid configuration: KRONOS_MAX_CONNECTIONS=\"%d\" needs %lu open files "
            "(connections + %d for model files, logs and event fds) but RLIMIT_NOFILE is %lu "
            "(hard limit %lu): raise the limit (ulimit -n, systemd LimitNOFILE=, docker --ulimit "
            "nofile=) or lower KRONOS_MAX_CONNECTIONS\n",
            cfg->max_connections, need, KRONOS_FD_MARGIN, *open_files, hard);
    return -1;
}

int main(int argc, char **argv)
{
    /* First of all: a stop signal must never take the default action (death by SIGTERM, no
     * drain), whichever thread the kernel hands it to; see util/signal_pipe.h. */
    static const int stop_signals[] = {SIGTERM, SIGINT};
    if (signal_pipe_install(stop_signals, 2) != 0) {
        perror("kronosd: cannot install the signal handlers");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sd_notify_init();

    config cfg;
    strbuf out;
    sb_init(&out, 0);
    char err[1024];
    int rc = config_load(&cfg, argc, argv, env_lookup, &out, err, sizeof(err));
    if (rc == CONFIG_EXIT_OK) {
        fputs(out.data ? out.data : "", stdout);
        sb_free(&out);
        return 0;
    }
    sb_free(&out);
    if (rc != CONFIG_OK) {
        fprintf(stderr, "kronosd: %s\n", err);
        return 2;
    }
    log_set_level((log_level)cfg.log_level);
    /* config_load refused a set this CPU cannot run; auto keeps what the CPU check chose
     * (kr_simd_best). */
    if (cfg.simd != CONFIG_SIMD_AUTO)
        kr_simd_use(cfg.simd == CONFIG_SIMD_AVX512 ? KR_SIMD_AVX512
                    : cfg.simd == CONFIG_SIMD_AVX2 ? KR_SIMD_AVX2
                                                   : KR_SIMD_PORTABLE);
    otel_config otel;
    if (otel_config_load(&otel, env_lookup, KRONOS_VERSION, cfg.instance, err, sizeof(err)) != 0) {
        fprintf(stderr, "kronosd: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    unsigned long open_files;
    if (refuse_fd_limit(&cfg, &open_files) != 0) {
        config_free(&cfg);
        return 2;
    }

    security_config sec;
    security_settings settings = {cfg.security_enabled, cfg.container_whitelist,
                                  cfg.trusted_proxies, cfg.api_keys_file};
    if (security_config_init(&sec, &settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "kronosd: invalid configuration: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    ratelimit *rl = NULL;
    if (cfg.rate_limit_enabled) {
        rl = ratelimit_create((uint32_t)cfg.rate_limit_per_minute, (uint32_t)cfg.rate_limit_burst,
                              0, err, sizeof(err));
        if (!rl) {
            fprintf(stderr, "kronosd: invalid configuration: %s\n", err);
            security_config_free(&sec);
            config_free(&cfg);
            return 2;
        }
    }

    app a = {.cfg = &cfg,
             .start_real_ns = clock_real_ns(),
             .start_mono_ns = clock_mono_ns(),
             .security = &sec,
             .ratelimit = rl};

    a.engine = create_engine(&cfg);
    int workers = cfg.inference_threads / threads_per_forecast(&cfg);
    config_memory mem = {0};
    char mem_source[256];
    if (a.engine && !memory_fits(&cfg, a.engine, workers, &mem, mem_source, sizeof(mem_source))) {
        a.engine->ops->destroy(a.engine);
        ratelimit_free(rl);
        security_config_free(&sec);
        config_free(&cfg);
        return 2;
    }
    if (cfg.check_config) {
        int code = check_config(&cfg, a.engine);
        ratelimit_free(rl);
        security_config_free(&sec);
        config_free(&cfg);
        return code;
    }
    a.sched = a.engine ? scheduler_create(a.engine, workers, cfg.queue_size) : NULL;
    a.parse_pool = workq_create(parse_threads(), (size_t)cfg.queue_size);
    if (!a.engine || !a.sched || !a.parse_pool) {
        fprintf(stderr, "kronosd: cannot start the engine or the scheduler threads\n");
        return 1;
    }

    const char *containers[1024];
    size_t n_containers = 0;
    for (size_t i = 0; i < security_label_count(&sec) && n_containers < 1024; i++)
        if (strcmp(security_label_at(&sec, i), "unknown") != 0)
            containers[n_containers++] = security_label_at(&sec, i);
    if (service_metrics_init(containers, n_containers, err, sizeof(err)) != 0) {
        fprintf(stderr, "kronosd: metrics: %s\n", err);
        return 1;
    }
    sm_queue_callbacks(queue_depth, queue_capacity, a.sched);
    scheduler_set_pass_observer(a.sched, batch_step, NULL);
    sm_model_info(a.engine->name, a.engine->model_version, a.engine->tokenizer_version,
                  a.engine->max_context);

    log_startup(&cfg, (unsigned)cfg.port, workers, threads_per_forecast(&cfg), open_files);
    config_unknown_variables(environ, warn_unknown_variable, NULL);
    if (cfg.engine == CONFIG_ENGINE_BASELINE && cfg.model_path)
        log_msg(LOG_WARNING, "kronosd",
                "KRONOS_ENGINE=baseline: the weights in KRONOS_MODEL_PATH are not loaded");
    log_memory_bound(&mem);
    if (tracing_start(&otel, err, sizeof(err)) != 0) {
        fprintf(stderr, "kronosd: tracing: %s\n", err);
        return 1;
    }
    if (!cfg.security_enabled && cfg.api_keys_file)
        log_msg(LOG_WARNING, "kronosd.security",
                "KRONOS_SECURITY_ENABLED=false: the container whitelist is off, but the API keys "
                "in KRONOS_API_KEYS_FILE are still required");
    if (sec.keys && (apikeys_file_mode(sec.keys) & S_IRGRP)) {
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", apikeys_file_mode(sec.keys));
        log_line w;
        if (log_begin(&w, LOG_WARNING, "kronosd.security",
                      "KRONOS_API_KEYS_FILE is readable by its group: chmod 600 unless the "
                      "service reads it through that group")) {
            log_str(&w, "path", cfg.api_keys_file);
            log_str(&w, "mode", mode);
            log_end(&w);
        }
    }
    /* The host exists before the HTTP server starts: its threads read a.host. */
    a.host = engine_host_start(a.engine, cfg.startup_timeout, on_engine_state, &a);
    if (!a.host) {
        fprintf(stderr, "kronosd: cannot start the engine loader\n");
        return 1;
    }

    http_server *srv = start_http(&a, err, sizeof(err));
    if (!srv) {
        log_msg(LOG_CRITICAL, "kronosd", err);
        fprintf(stderr, "kronosd: %s\n", err);
        fflush(stdout);
        _exit(1); /* the model load may still be running: do not wait for it */
    }

    uint64_t closed_ns = 0;
    long cut_off = serve_until_signal(&a, srv, &closed_ns);
    http_server_stop(srv);
    workq_destroy(a.parse_pool);
    scheduler_destroy(a.sched);
    /* The spans still queued get what is left of the grace period (a moment at least). */
    double flush = cfg.shutdown_grace - (double)(clock_mono_ns() - closed_ns) / 1e9;
    tracing_shutdown(flush > 0.2 ? flush : 0.2);
    bool load_finished = engine_host_stop(a.host);
    if (load_finished)
        a.engine->ops->destroy(a.engine);
    else
        log_msg(LOG_WARNING, "kronosd", "model load still running; exiting without waiting for it");
    service_metrics_shutdown();
    log_line l;
    if (log_begin(&l, cut_off ? LOG_WARNING : LOG_INFO, "kronosd", "kronosd stopped")) {
        log_str(&l, "container", cfg.instance);
        log_double(&l, "uptime_seconds", (double)(clock_mono_ns() - a.start_mono_ns) / 1e9);
        log_bool(&l, "clean", cut_off == 0);
        log_int(&l, "requests_cut_off", cut_off);
        log_end(&l);
    }
    int code = cut_off ? 1 : 0; /* a supervisor sees that requests were lost */
    if (!load_finished) {
        /* The loader thread still uses the engine: leave it alone and end the process. */
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    ratelimit_free(rl);
    security_config_free(&sec);
    config_free(&cfg);
    return code;
}
