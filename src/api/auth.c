#include "api/auth.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "http/observe.h"
#include "http/response.h"
#include "security/identity.h"
#include "security/ratelimit.h"
#include "util/clock.h"

static bool refuse_identity(http_request *r, const security_identity *who)
{
    if (who->has_event)
        http_observe_security_event(r, who->event);
    http_header_kv challenge = {"WWW-Authenticate", "Bearer"};
    bool is_401 = who->http_status == HTTP_STATUS_UNAUTHORIZED;
    http_respond_error(r, (unsigned)who->http_status, who->code, who->message, NULL,
                       is_401 ? &challenge : NULL, is_401 ? 1 : 0);
    return false;
}

static bool refuse_rate(http_request *r, const ratelimit_result *rl)
{
    char retry[16], limit[16], remaining[16], reset[16];
    snprintf(retry, sizeof(retry), "%u", rl->retry_after_s);
    snprintf(limit, sizeof(limit), "%u", rl->limit);
    snprintf(remaining, sizeof(remaining), "%u", rl->remaining);
    snprintf(reset, sizeof(reset), "%u", rl->reset_s);
    http_header_kv headers[] = {
        {"Retry-After", retry},
        {"RateLimit-Limit", limit},
        {"RateLimit-Remaining", remaining},
        {"RateLimit-Reset", reset},
    };
    http_observe_rate_limited(r);
    char msg[256];
    snprintf(msg, sizeof(msg), "rate limit exceeded for '%s'; retry in %u s", r->identity,
             rl->retry_after_s);
    http_respond_error(r, HTTP_STATUS_TOO_MANY_REQUESTS, "rate_limited", msg, NULL, headers, 4);
    return false;
}

bool api_admit(http_request *r)
{
    const security_config *sec = app_of(r)->security;
    security_identity who;
    security_identify(sec, r->peer, http_header(r, "X-Container-Name"),
                      http_header_count(r, "X-Container-Name"), http_header(r, "Authorization"),
                      &who);
    snprintf(r->identity, sizeof(r->identity), "%s", who.name);
    r->container = who.label;
    if (!r->route || !r->route->secured)
        return true;
    if (who.verdict != SECURITY_ALLOW)
        return refuse_identity(r, &who);
    ratelimit_result rl;
    if (app_of(r)->ratelimit &&
        !ratelimit_check(app_of(r)->ratelimit, who.name, clock_mono_ns(), &rl))
        return refuse_rate(r, &rl);
    return true;
}
