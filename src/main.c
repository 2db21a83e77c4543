/* kronosd: start-up, signals and wiring. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "http/server.h"
#include "security/identity.h"
#include "security/ratelimit.h"
#include "obs/log.h"
#include "util/clock.h"
#include "version.h"

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static void log_startup(const config *cfg, unsigned port)
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
        log_int(&l, "pid", getpid());
        if (sb_ok(&cj))
            log_raw(&l, "config", cj.data);
        log_end(&l);
    }
    sb_free(&cj);
}

/* Waits for SIGTERM/SIGINT, then drains: readiness turns to draining, no new connections,
 * in-flight requests get up to KRONOS_SHUTDOWN_GRACE. A second signal ends at once. */
static int serve_until_signal(app *a, http_server *srv, const sigset_t *sigs)
{
    int sig = 0;
    while (sigwait(sigs, &sig) != 0)
        ;
    atomic_store(&a->draining, true);
    log_line l;
    if (log_begin(&l, LOG_INFO, "kronosd", "shutdown requested; draining")) {
        log_str(&l, "container", a->cfg->instance);
        log_str(&l, "signal", strsignal(sig));
        log_int(&l, "in_flight", http_server_inflight(srv));
        log_double(&l, "grace_seconds", a->cfg->shutdown_grace);
        log_end(&l);
    }
    http_server_quiesce(srv);

    uint64_t deadline = clock_mono_ns() + (uint64_t)(a->cfg->shutdown_grace * 1e9);
    struct timespec tick = {0, 20 * 1000000L};
    while (http_server_inflight(srv) > 0 && clock_mono_ns() < deadline) {
        if (sigtimedwait(sigs, NULL, &tick) > 0) {
            log_msg(LOG_WARNING, "kronosd", "second signal: exiting immediately");
            _exit(1);
        }
    }
    long left = http_server_inflight(srv);
    if (left > 0 && log_begin(&l, LOG_WARNING, "kronosd", "grace period over; aborting requests")) {
        log_int(&l, "in_flight", left);
        log_end(&l);
    }
    return left > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
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

    /* Every thread inherits this mask; only the main thread takes the signals, synchronously. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    app a = {.cfg = &cfg,
             .start_real_ns = clock_real_ns(),
             .start_mono_ns = clock_mono_ns(),
             .security = &sec,
             .ratelimit = rl};

    http_server *srv = http_server_start(&a, err, sizeof(err));
    if (!srv) {
        log_msg(LOG_CRITICAL, "kronosd", err);
        fprintf(stderr, "kronosd: %s\n", err);
        ratelimit_free(rl);
        security_config_free(&sec);
        config_free(&cfg);
        return 1;
    }
    log_startup(&cfg, http_server_port(srv));

    int aborted = serve_until_signal(&a, srv, &sigs);
    http_server_stop(srv);
    log_line l;
    if (log_begin(&l, LOG_INFO, "kronosd", "kronosd stopped")) {
        log_str(&l, "container", cfg.instance);
        log_double(&l, "uptime_seconds", (double)(clock_mono_ns() - a.start_mono_ns) / 1e9);
        log_bool(&l, "clean", !aborted);
        log_end(&l);
    }
    ratelimit_free(rl);
    security_config_free(&sec);
    config_free(&cfg);
    return 0;
}
