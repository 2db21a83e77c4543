#include "obs/otel_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *get(const char *(*getenv_fn)(const char *), const char *name)
{
    const char *v = getenv_fn(name);
    return v && *v ? v : NULL; /* an empty variable is unset, as the SDKs read it */
}

static int bad(char *err, size_t errlen, const char *name, const char *value, const char *expected)
{
    snprintf(err, errlen, "invalid configuration: %s=\"%s\": expected %s", name, value, expected);
    return -1;
}

static int parse_bool(const char *name, const char *v, bool *out, char *err, size_t errlen)
{
    if (strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "false") == 0)
        *out = false;
    else
        return bad(err, errlen, name, v, "true or false");
    return 0;
}

static int parse_ms(const char *name, const char *v, long lo, long hi, long *out, char *err,
                    size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        char expected[96];
        snprintf(expected, sizeof(expected), "an integer in %ld..%ld", lo, hi);
        return bad(err, errlen, name, v, expected);
    }
    *out = n;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [s, s+n) into out (W3C Baggage value encoding); false when malformed. */
static bool pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = h * 16 + l;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

typedef int (*pair_fn)(const char *key, const char *value, void *ctx);

/* key=value,key=value with percent-encoded values (OTEL_RESOURCE_ATTRIBUTES, *_HEADERS). */
static int each_pair(const char *name, const char *v, pair_fn fn, void *ctx, char *err,
                     size_t errlen)
{
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ",");
        const char *item = p;
        size_t n = len;
        trim(&item, &n);
        p += len + (p[len] == ',');
        if (n == 0)
            continue;
        const char *eq = memchr(item, '=', n);
        if (!eq)
            return bad(err, errlen, name, v, "comma-separated key=value pairs");
        const char *k = item;
        size_t kn = (size_t)(eq - item);
        trim(&k, &kn);
        const char *val = eq + 1;
        size_t vn = (size_t)(item + n - val);
        trim(&val, &vn);
        char key[128], value[512];
        if (kn == 0 || kn >= sizeof(key))
            return bad(err, errlen, name, v,
                       "comma-separated key=value pairs with keys of 1..127 characters");
        memcpy(key, k, kn);
        key[kn] = '\0';
        if (!pct_decode(val, vn, value, sizeof(value)))
            return bad(err, errlen, name, v,
                       "percent-encoded values of at most 511 bytes (W3C Baggage encoding)");
        int rc = fn(key, value, ctx);
        if (rc != 0)
            return bad(err, errlen, name, v,
                       rc == 1 ? "header names of token characters and values without control "
                                 "characters"
                               : "at most 32 resource attributes");
    }
    return 0;
}

static bool token_char(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

static int add_header(const char *key, const char *value, void *ctx)
{
    strbuf *sb = ctx;
    for (const char *c = key; *c; c++)
        if (!token_char(*c))
            return 1;
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return 1;
    sb_printf(sb, "%s: %s\r\n", key, value);
    return 0;
}

static int add_resource(const char *key, const char *value, void *ctx)
{
    return otlp_resource_set(ctx, key, value) == 0 ? 0 : 2;
}

static const struct {
    const char *name;
    enum trace_sampler sampler;
} samplers[] = {
    {"always_on", TRACE_SAMPLER_ALWAYS_ON},
    {"always_off", TRACE_SAMPLER_ALWAYS_OFF},
    {"traceidratio", TRACE_SAMPLER_RATIO},
    {"parentbased_always_on", TRACE_SAMPLER_PARENT_ALWAYS_ON},
    {"parentbased_always_off", TRACE_SAMPLER_PARENT_ALWAYS_OFF},
    {"parentbased_traceidratio", TRACE_SAMPLER_PARENT_RATIO},
};

static int load_sampler(otel_config *c, const char *(*getenv_fn)(const char *), char *err,
                        size_t errlen)
{
    const char *v = get(getenv_fn, "OTEL_TRACES_SAMPLER");
    c->sampler = TRACE_SAMPLER_PARENT_ALWAYS_ON;
    snprintf(c->sampler_name, sizeof(c->sampler_name), "parentbased_always_on");
    if (v) {
        size_t i;
        for (i = 0; i < sizeof(samplers) / sizeof(samplers[0]); i++)
            if (strcmp(v, samplers[i].name) == 0)
                break;
        if (i == sizeof(samplers) / sizeof(samplers[0]))
            return bad(err, errlen, "OTEL_TRACES_SAMPLER", v,
                       "always_on, always_off, traceidratio, parentbased_always_on, "
                       "parentbased_always_off or parentbased_traceidratio");
        c->sampler = samplers[i].sampler;
        snprintf(c->sampler_name, sizeof(c->sampler_name), "%s", v);
    }
    c->ratio = 1.0;
    const char *arg = get(getenv_fn, "OTEL_TRACES_SAMPLER_ARG");
    if (arg && (c->sampler == TRACE_SAMPLER_RATIO || c->sampler == TRACE_SAMPLER_PARENT_RATIO)) {
        char *end;
        errno = 0;
        double r = strtod(arg, &end);
        if (errno || end == arg || *end || !(r >= 0 && r <= 1))
            return bad(err, errlen, "OTEL_TRACES_SAMPLER_ARG", arg,
                       "a sampling probability in 0..1");
        c->ratio = r;
    }
    return 0;
}

static int load_endpoint(otel_config *c, const char *(*getenv_fn)(const char *), char *err,
                         size_t errlen, const char **which)
{
    const char *traces = get(getenv_fn, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char *base = get(getenv_fn, "OTEL_EXPORTER_OTLP_ENDPOINT");
    *which = NULL;
    if (traces) {
        *which = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
        snprintf(c->endpoint, sizeof(c->endpoint), "%s", traces); /* used as it is */
    } else if (base) {
        *which = "OTEL_EXPORTER_OTLP_ENDPOINT";
        size_t n = strlen(base);
        snprintf(c->endpoint, sizeof(c->endpoint), "%s%s", base,
                 n && base[n - 1] == '/' ? "v1/traces" : "/v1/traces");
    } else {
        return 0;
    }
    char why[256];
    if (otlp_endpoint_parse(c->endpoint, &c->exporter.endpoint, why, sizeof(why)) != 0)
        return bad(err, errlen, *which, traces ? traces : base, why);
    return 0;
}

static int load_protocol(otel_config *c, const char *(*getenv_fn)(const char *), char *err,
                         size_t errlen)
{
    const char *name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    const char *v = get(getenv_fn, name);
    if (!v) {
        name = "OTEL_EXPORTER_OTLP_PROTOCOL";
        v = get(getenv_fn, name);
    }
    if (!v || strcmp(v, "http/protobuf") == 0)
        c->exporter.json = false;
    else if (strcmp(v, "http/json") == 0)
        c->exporter.json = true;
    else
        return bad(err, errlen, name, v,
                   "http/protobuf or http/json (grpc is not supported: use the OTLP/HTTP port, "
                   "4318)");
    return 0;
}

static int load_bsp(otel_config *c, const char *(*getenv_fn)(const char *), char *err,
                    size_t errlen)
{
    static const struct {
        const char *name;
        long lo, hi, def;
    } vars[] = {
        {"OTEL_EXPORTER_OTLP_TIMEOUT", 1, 600000, 10000},
        {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 1, 600000, -1},
        {"OTEL_BSP_SCHEDULE_DELAY", 1, 600000, 5000},
        {"OTEL_BSP_EXPORT_TIMEOUT", 1, 600000, 30000},
        {"OTEL_BSP_MAX_QUEUE_SIZE", 1, 16384, 2048},
        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 16384, 512},
    };
    long val[6];
    for (size_t i = 0; i < 6; i++) {
        val[i] = vars[i].def;
        const char *v = get(getenv_fn, vars[i].name);
        if (v && parse_ms(vars[i].name, v, vars[i].lo, vars[i].hi, &val[i], err, errlen) != 0)
            return -1;
    }
    c->exporter.timeout = (val[1] > 0 ? val[1] : val[0]) / 1000.0;
    c->exporter.delay = val[2] / 1000.0;
    c->exporter.export_timeout = val[3] / 1000.0;
    c->exporter.queue_size = (size_t)val[4];
    c->exporter.batch_size = (size_t)val[5];
    if (val[5] > val[4]) {
        snprintf(err, errlen,
                 "invalid configuration: OTEL_BSP_MAX_EXPORT_BATCH_SIZE=\"%ld\": expected at most "
                 "OTEL_BSP_MAX_QUEUE_SIZE (%ld)",
                 val[5], val[4]);
        return -1;
    }
    return 0;
}

static int load_headers(otel_config *c, const char *(*getenv_fn)(const char *), char *err,
                        size_t errlen)
{
    strbuf sb;
    sb_init_fixed(&sb, c->exporter.headers, sizeof(c->exporter.headers));
    static const char *const names[] = {"OTEL_EXPORTER_OTLP_HEADERS",
                                        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = get(getenv_fn, names[i]);
        if (v && each_pair(names[i], v, add_header, &sb, err, errlen) != 0)
            return -1;
        if (sb.overflow) {
            snprintf(err, errlen,
                     "invalid configuration: %s: expected at most %zu bytes of headers", names[i],
                     sizeof(c->exporter.headers) - 1);
            return -1;
        }
    }
    return 0;
}

static int load_resource(otel_config *c, const char *(*getenv_fn)(const char *),
                         const char *version, const char *instance, char *err, size_t errlen)
{
    otlp_resource *r = &c->exporter.resource;
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    otlp_resource_set(r, "service.name", "kronosd");
    otlp_resource_set(r, "service.version", version);
    otlp_resource_set(r, "service.instance.id", instance && *instance ? instance : host);
    if (host[0])
        otlp_resource_set(r, "host.name", host);
    const char *v = get(getenv_fn, "OTEL_RESOURCE_ATTRIBUTES");
    if (v && each_pair("OTEL_RESOURCE_ATTRIBUTES", v, add_resource, r, err, errlen) != 0)
        return -1;
    const char *name = get(getenv_fn, "OTEL_SERVICE_NAME");
    if (name)
        otlp_resource_set(r, "service.name", name);
    snprintf(r->scope_name, sizeof(r->scope_name), "kronosd");
    snprintf(r->scope_version, sizeof(r->scope_version), "%s", version);
    return 0;
}

int otel_config_load(otel_config *c, const char *(*getenv_fn)(const char *), const char *version,
                     const char *instance, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    bool disabled = false;
    const char *v = get(getenv_fn, "OTEL_SDK_DISABLED");
    if (v && parse_bool("OTEL_SDK_DISABLED", v, &disabled, err, errlen) != 0)
        return -1;
    bool exporter_none = false;
    v = get(getenv_fn, "OTEL_TRACES_EXPORTER");
    if (v) {
        if (strcmp(v, "none") == 0)
            exporter_none = true;
        else if (strcmp(v, "otlp") != 0)
            return bad(err, errlen, "OTEL_TRACES_EXPORTER", v, "otlp or none");
    }
    const char *which;
    if (load_sampler(c, getenv_fn, err, errlen) != 0 ||
        load_endpoint(c, getenv_fn, err, errlen, &which) != 0 ||
        load_protocol(c, getenv_fn, err, errlen) != 0 || load_bsp(c, getenv_fn, err, errlen) != 0 ||
        load_headers(c, getenv_fn, err, errlen) != 0 ||
        load_resource(c, getenv_fn, version, instance, err, errlen) != 0)
        return -1;
    c->enabled = which && !disabled && !exporter_none;
    return 0;
}
