#ifndef KRONOS_SECURITY_IDENTITY_H
#define KRONOS_SECURITY_IDENTITY_H

/*
 * Who is calling, and may they. Pure and thread-safe: the config is read-only after
 * security_config_init, and security_identify only writes to its result. See docs/SECURITY.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "obs/service_metrics.h"
#include "security/apikeys.h"
#include "security/cidr.h"
#include "security/names.h"
#include "security/whitelist.h"

typedef struct security_settings {
    bool enabled;                    /* KRONOS_SECURITY_ENABLED: whitelist and header checks */
    const char *whitelist_csv;       /* KRONOS_CONTAINER_WHITELIST */
    const char *trusted_proxies_csv; /* KRONOS_TRUSTED_PROXIES */
    const char *api_keys_file;       /* KRONOS_API_KEYS_FILE; NULL or "" = no keys */
} security_settings;

typedef struct security_config {
    bool enabled;
    whitelist whitelist;
    cidr_list trusted_proxies;
    apikeys *keys;       /* NULL when no keys file is configured */
    const char **labels; /* every configured identity, then "unknown" */
    size_t n_labels;
} security_config;

/* Validates and loads everything. On error returns -1 and err starts with the name of the
 * offending variable ("KRONOS_TRUSTED_PROXIES: ..."), ready for an exit-2 message. */
int security_config_init(security_config *cfg, const security_settings *s, char *err,
                         size_t errlen);
void security_config_free(security_config *cfg);

typedef enum security_verdict {
    SECURITY_ALLOW = 0,
    SECURITY_BAD_REQUEST,  /* 400: a trusted proxy sent an invalid or repeated X-Container-Name */
    SECURITY_UNAUTHORIZED, /* 401: API keys are on and the key is missing or wrong */
    SECURITY_FORBIDDEN,    /* 403: identity not in the whitelist */
} security_verdict;

typedef enum security_source {
    SECURITY_SOURCE_PEER = 0, /* derived from the socket address */
    SECURITY_SOURCE_HEADER,   /* X-Container-Name from a trusted proxy */
    SECURITY_SOURCE_API_KEY,  /* the name of the presented key */
} security_source;

typedef struct security_identity {
    security_verdict verdict;
    int http_status;     /* 200, 400, 401 or 403 */
    bool has_event;      /* a refusal counted in kronos_security_events_total */
    enum sm_event event; /* which, when has_event */
    security_source source;
    const char *code;    /* error code for the envelope ("unauthorized", ...); NULL when allowed */
    const char *message; /* one-line detail for the envelope; NULL when allowed */
    const char *label;   /* bounded metric label: a configured identity or "unknown" */
    char name[SECURITY_NAME_MAX + 1];   /* the identity (always set, also when refused) */
    char client_ip[CIDR_ADDR_TEXT_MAX]; /* the peer's address text, "unknown" if not IP */
} security_identity;

/* Resolves the caller. peer may be NULL or non-IP (identity "unknown", never a trusted proxy);
 * the header values are the raw request headers (the first line of each) or NULL when absent,
 * and container_headers is how many X-Container-Name lines the request has: more than one from
 * a trusted proxy is a 400. Never fails: the verdict says what to answer. A 401 should carry
 * `WWW-Authenticate: Bearer`. */
void security_identify(const security_config *cfg, const struct sockaddr *peer,
                       const char *container_header, size_t container_headers,
                       const char *authorization, security_identity *out);

/* identity itself (as a pointer stable for cfg's lifetime) when it is a whitelist entry or an
 * API key name, else "unknown". */
const char *security_label(const security_config *cfg, const char *identity);

/* Every label security_label can return, "unknown" last: for creating metric series at 0. */
size_t security_label_count(const security_config *cfg);
const char *security_label_at(const security_config *cfg, size_t i);

#endif
