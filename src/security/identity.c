#include "security/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char UNKNOWN[] = "unknown";

static int add_label(security_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_labels; i++)
        if (strcmp(cfg->labels[i], name) == 0)
            return 0;
    const char **grown = realloc(cfg->labels, (cfg->n_labels + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    cfg->labels = grown;
    cfg->labels[cfg->n_labels++] = name;
    return 0;
}

int security_config_init(security_config *cfg, const security_settings *s, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->enabled = s->enabled;
    char why[512];
    if (cidr_list_parse(s->trusted_proxies_csv, &cfg->trusted_proxies, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "KRONOS_TRUSTED_PROXIES: %s", why);
        goto fail;
    }
    /* after the proxies: an address in the whitelist means the identity that peer gets */
    if (whitelist_parse(s->whitelist_csv, &cfg->trusted_proxies, &cfg->whitelist, why,
                        sizeof(why)) != 0) {
        snprintf(err, errlen, "KRONOS_CONTAINER_WHITELIST: %s", why);
        goto fail;
    }
    if (s->api_keys_file && *s->api_keys_file &&
        apikeys_load_file(s->api_keys_file, &cfg->keys, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "KRONOS_API_KEYS_FILE: %s", why);
        goto fail;
    }
    for (size_t i = 0; i < cfg->whitelist.n; i++)
        if (add_label(cfg, cfg->whitelist.names[i]) != 0)
            goto oom;
    for (size_t i = 0; i < apikeys_count(cfg->keys); i++)
        if (add_label(cfg, apikeys_name_at(cfg->keys, i)) != 0)
            goto oom;
    if (add_label(cfg, UNKNOWN) != 0)
        goto oom;
    return 0;
oom:
    snprintf(err, errlen, "security: out of memory");
fail:
    security_config_free(cfg);
    return -1;
}

void security_config_free(security_config *cfg)
{
    whitelist_free(&cfg->whitelist);
    cidr_list_free(&cfg->trusted_proxies);
    apikeys_free(cfg->keys);
    cfg->keys = NULL;
    free(cfg->labels);
    cfg->labels = NULL;
    cfg->n_labels = 0;
}

const char *security_label(const security_config *cfg, const char *identity)
{
    /* "unknown" is last and matches itself, so the loop covers every label */
    for (size_t i = 0; identity && i < cfg->n_labels; i++)
        if (strcmp(cfg->labels[i], identity) == 0)
            return cfg->labels[i];
    return UNKNOWN;
}

size_t security_label_count(const security_config *cfg)
{
    return cfg->n_labels;
}

const char *security_label_at(const security_config *cfg, size_t i)
{
    return i < cfg->n_labels ? cfg->labels[i] : NULL;
}

#define NO_EVENT (-1)

static void refuse(security_identity *out, security_verdict v, int event, const char *message)
{
    static const struct {
        int status;
        const char *code;
    } answers[] = {
        [SECURITY_ALLOW] = {200, NULL},
        [SECURITY_BAD_REQUEST] = {400, "bad_request"},
        [SECURITY_UNAUTHORIZED] = {401, "unauthorized"},
        [SECURITY_FORBIDDEN] = {403, "forbidden"},
    };
    out->verdict = v;
    out->http_status = answers[v].status;
    out->code = answers[v].code;
    out->has_event = event != NO_EVENT;
    out->event = out->has_event ? (enum sm_event)event : SM_EVENT_UNAUTHORIZED;
    out->message = message;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Finds the token of "Bearer <token>" (scheme case-insensitive, RFC 7235); false when the
 * header is absent, of another scheme, or has no token. */
static bool bearer_token(const char *h, const char **tok, size_t *len)
{
    if (!h)
        return false;
    while (is_space(*h))
        h++;
    if (strncasecmp(h, "Bearer", 6) != 0 || !is_space(h[6]))
        return false;
    h += 6;
    while (is_space(*h))
        h++;
    size_t n = strlen(h);
    while (n > 0 && is_space(h[n - 1]))
        n--;
    *tok = h;
    *len = n;
    return n > 0;
}

/* X-Container-Name from a trusted proxy: the caller's name, or a 400 when it cannot be believed.
 * Refusals only when security is on; otherwise the peer identity stays. */
static void believe_header(const security_config *cfg, const char *value, size_t count,
                           security_identity *out)
{
    if (count > 1) {
        /* a proxy that appends its value after the client's would otherwise let the client's
         * own (first) value win */
        if (cfg->enabled)
            refuse(out, SECURITY_BAD_REQUEST, NO_EVENT,
                   "more than one X-Container-Name header: a proxy must replace the client's "
                   "value, not add its own");
    } else if (security_name_valid(value, strlen(value))) {
        snprintf(out->name, sizeof(out->name), "%s", value);
        out->source = SECURITY_SOURCE_HEADER;
    } else if (cfg->enabled) {
        refuse(out, SECURITY_BAD_REQUEST, NO_EVENT,
               "invalid X-Container-Name header: expected 1-128 characters of [A-Za-z0-9._:-]");
    }
}

void security_identify(const security_config *cfg, const struct sockaddr *peer,
                       const char *container_header, size_t container_headers,
                       const char *authorization, security_identity *out)
{
    memset(out, 0, sizeof(*out));
    refuse(out, SECURITY_ALLOW, NO_EVENT, NULL);

    uint8_t addr[16];
    bool have_addr = cidr_addr_from_sockaddr(peer, addr) == 0;
    if (have_addr) {
        cidr_addr_to_text(addr, out->client_ip);
        security_peer_identity(addr, &cfg->trusted_proxies, out->name);
    } else {
        snprintf(out->client_ip, sizeof(out->client_ip), "%s", UNKNOWN);
        snprintf(out->name, sizeof(out->name), "%s", UNKNOWN);
    }
    out->source = SECURITY_SOURCE_PEER;

    if (cfg->keys) {
        /* A keys file is required authentication whatever KRONOS_SECURITY_ENABLED says (SPEC
         * section 2); the switch only turns off the whitelist and header checks. */
        const char *tok = NULL;
        size_t len = 0;
        bool presented = bearer_token(authorization, &tok, &len);
        const char *name = presented ? apikeys_lookup(cfg->keys, tok, len) : NULL;
        if (name) {
            snprintf(out->name, sizeof(out->name), "%s", name);
            out->source = SECURITY_SOURCE_API_KEY;
        } else if (presented) {
            refuse(out, SECURITY_UNAUTHORIZED, SM_EVENT_INVALID_API_KEY, "invalid API key");
        } else {
            refuse(out, SECURITY_UNAUTHORIZED, SM_EVENT_UNAUTHORIZED,
                   "missing API key: send 'Authorization: Bearer <key>'");
        }
    } else if (container_header && container_headers > 0 && have_addr &&
               cidr_list_contains(&cfg->trusted_proxies, addr)) {
        believe_header(cfg, container_header, container_headers, out);
    }

    out->label = security_label(cfg, out->name);
    if (out->verdict != SECURITY_ALLOW || !cfg->enabled)
        return;
    if (out->source != SECURITY_SOURCE_API_KEY && !whitelist_find(&cfg->whitelist, out->name))
        refuse(out, SECURITY_FORBIDDEN, SM_EVENT_BLOCKED, "caller identity is not allowed");
}
