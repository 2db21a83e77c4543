#include "api/auth.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "http/observe.h"
#include "http/response.h"
#include "obs/log.h"
#include "obs/span.h"
#include "security/identity.h"
#include "security/ratelimit.h"
#include "util/clock.h"

/* A 403 that tells the operator which identity was seen and which setting would admit it. */
static void forbidden_message(const http_request *r, const security_identity *who, char *out,
                              size_t cap)
{
    const char *header = http_header(r, "X-Container-Name");
    if (who->source == SECURITY_SOURCE_HEADER)
        snprintf(out, cap,
                 "caller '%s' (X-Container-Name from trusted proxy %s) is not in "
                 "KRONOS_CONTAINER_WHITELIST; add it there, or give it an API key "
                 "(KRONOS_API_KEYS_FILE)",
                 who->name, who->client_ip);
    else if (header)
        snprintf(out, cap,
                 "caller '%s' is not in KRONOS_CONTAINER_WHITELIST; its X-Container-Name header "
                 "was ignored because %s is not in KRONOS_TRUSTED_PROXIES; add the proxy there, "
                 "or the caller to the whitelist, or give it an API key (KRONOS_API_KEYS_FILE)",
                 who->name, who->client_ip);
    else
        snprintf(out, cap,
                 "caller '%s' (peer address %s, no X-Container-Name) is not in "
                 "KRONOS_CONTAINER_WHITELIST; add it there, or send X-Container-Name through a "
                 "proxy in KRONOS_TRUSTED_PROXIES, or give it an API key (KRONOS_API_KEYS_FILE)",
                 who->name, who->client_ip);
}

static bool refuse_identity(http_request *r, const security_identity *who)
{
    if (who->has_event)
        http_observe_security_event(r, who->event);
    http_header_kv challenge = {"WWW-Authenticate", "Bearer"};
    bool is_401 = who->http_status == HTTP_STATUS_UNAUTHORIZED;
    char msg[512];
    const char *message = who->message;
    if (who->verdict == SECURITY_FORBIDDEN) {
        forbidden_message(r, who, msg, sizeof(msg));
        message = msg;
    }
    http_respond_error(r, (unsigned)who->http_status, who->code, message, NULL,
                       is_401 ? &challenge : NULL, is_401 ? 1 : 0);
    return false;
}

static bool refuse_rate(http_request *r, const ratelimit_result *rl)
{
    char retry[16];
    snprintf(retry, sizeof(retry), "%u", rl->retry_after_s);
    http_header_kv headers[] = {{"Retry-After", retry}};
    http_observe_rate_limited(r);
    log_line l;
    if (log_begin(&l, LOG_WARNING, "kronosd.security", "Rate limit exceeded")) {
        char limit[48];
        snprintf(limit, sizeof(limit), "%d per 1 minute", app_of(r)->cfg->rate_limit_per_minute);
        log_str(&l, "container", r->identity);
        log_str(&l, "limit", limit);
        log_uint(&l, "burst", rl->limit);
        log_uint(&l, "retry_after_seconds", rl->retry_after_s);
        log_str(&l, "request_id", r->request_id);
        log_str(&l, "client_ip", r->client_ip);
        log_str(&l, "path", r->path);
        log_end(&l);
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "rate limit exceeded for '%s'; retry in %u s", r->identity,
             rl->retry_after_s);
    http_respond_error(r, HTTP_STATUS_TOO_MANY_REQUESTS, "rate_limited", msg, NULL, headers, 1);
    return false;
}

/* DEBUG: who was admitted, how the identity was found, what is left of its rate. */
static void debug_admitted(const http_request *r, const security_identity *who,
                           const ratelimit_result *rl)
{
    static const char *const source[] = {"peer address", "X-Container-Name", "API key"};
    log_line l;
    if (!log_begin(&l, LOG_DEBUG, "kronosd.security", "request admitted"))
        return;
    log_str(&l, "request_id", r->request_id);
    log_str(&l, "path", r->path);
    log_str(&l, "container", who->name);
    log_str(&l, "identity_source", source[who->source]);
    if (rl)
        log_uint(&l, "rate_limit_remaining", rl->remaining);
    log_end(&l);
}

static bool admit(http_request *r, span *sp)
{
    static const char *const source[] = {"peer address", "X-Container-Name", "API key"};
    const security_config *sec = app_of(r)->security;
    security_identity who;
    security_identify(sec, r->peer, http_header(r, "X-Container-Name"),
                      http_header_count(r, "X-Container-Name"), http_header(r, "Authorization"),
                      &who);
    snprintf(r->identity, sizeof(r->identity), "%s", who.name);
    r->container = who.label;
    span_str(sp, "kronos.container", who.name);
    span_str(sp, "kronos.identity_source", source[who.source]);
    bool secured = r->route && r->route->secured;
    span_bool(sp, "kronos.secured_route", secured);
    if (!secured)
        return true;
    if (who.verdict != SECURITY_ALLOW) {
        span_error(sp, who.code, "caller refused");
        return refuse_identity(r, &who);
    }
    ratelimit_result rl;
    if (!app_of(r)->ratelimit) {
        debug_admitted(r, &who, NULL);
        return true;
    }
    bool allowed = ratelimit_check(app_of(r)->ratelimit, who.name, clock_mono_ns(), &rl);
    /* Every answer of a rate-limited route tells the caller where it stands, not only the 429. */
    snprintf(r->answer_headers, sizeof(r->answer_headers),
             "RateLimit-Limit: %u\r\nRateLimit-Remaining: %u\r\nRateLimit-Reset: %u\r\n", rl.limit,
             rl.remaining, rl.reset_s);
    span_int(sp, "kronos.rate_limit.remaining", rl.remaining);
    if (!allowed) {
        span_error(sp, "rate_limited", "over the rate limit");
        return refuse_rate(r, &rl);
    }
    debug_admitted(r, &who, &rl);
    return true;
}

/* Identity and admission, as the request's "kronosd.auth" span. */
bool api_admit(http_request *r)
{
    span s;
    span_begin(&s, &r->trace, NULL, "kronosd.auth", SPAN_KIND_INTERNAL, clock_mono_ns());
    bool admitted = admit(r, &s);
    span_end(&s, clock_mono_ns());
    return admitted;
}
