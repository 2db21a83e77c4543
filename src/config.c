#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/kronos/kernels.h"
#include "obs/log.h"
#include "security/ratelimit.h"
#include "util/json_escape.h"
#include "version.h"
#include "util/cpulimit.h"
#include "util/edit_distance.h"

typedef enum kind {
    K_HOST,
    K_PORT,
    K_INT,
    K_DOUBLE,
    K_BOOL,
    K_LEVEL,
    K_DIR,
    K_FILE,
    K_CIDRS,
    K_IDLIST,
    K_NAME,
    K_ENGINE,
    K_URL,
    K_SIMD,
} kind;

static const char *const engine_names[] = {[CONFIG_ENGINE_AUTO] = "auto",
                                           [CONFIG_ENGINE_KRONOS] = "kronos",
                                           [CONFIG_ENGINE_BASELINE] = "baseline"};
static const char *const simd_names[] = {[CONFIG_SIMD_AUTO] = "auto",
                                         [CONFIG_SIMD_AVX512] = "avx512",
                                         [CONFIG_SIMD_AVX2] = "avx2",
                                         [CONFIG_SIMD_PORTABLE] = "portable"};

typedef struct option_spec {
    const char *env;
    kind kind;
    const char *def; /* NULL: unset by default; "@cores"/"@hostname": computed */
    double min, max;
    bool min_exclusive;
    size_t offset;
    const char *help;
} option_spec;

#define OFF(f) offsetof(config, f)
#define NO_RANGE 0, 0, false

static const option_spec specs[] = {
    {"KRONOS_HOST", K_HOST, "0.0.0.0", NO_RANGE, OFF(host),
     "listen address (IPv4 or IPv6 literal)"},
    {"KRONOS_PORT", K_PORT, "8000", 1, 65535, false, OFF(port), "listen port"},
    {"KRONOS_LOG_LEVEL", K_LEVEL, "INFO", NO_RANGE, OFF(log_level),
     "DEBUG, INFO, WARNING, ERROR or CRITICAL"},
    {"KRONOS_ENGINE", K_ENGINE, "auto", NO_RANGE, OFF(engine),
     "kronos (never falls back to the baseline), baseline, or auto (kronos when a model is set)"},
    {"KRONOS_SIMD", K_SIMD, "auto", NO_RANGE, OFF(simd),
     "Kronos kernels: auto (the fastest the CPU runs: avx512, avx2, portable), avx512 (AVX-512F "
     "required), avx2 (AVX2/FMA required), portable (plain C)"},
    {"KRONOS_MODEL_PATH", K_DIR, NULL, NO_RANGE, OFF(model_path),
     "Kronos model folder (config.json + model.safetensors); unset: baseline engine"},
    {"KRONOS_TOKENIZER_PATH", K_DIR, NULL, NO_RANGE, OFF(tokenizer_path),
     "tokenizer folder; default <model>/tokenizer"},
    {"KRONOS_MAX_CONTEXT", K_INT, "512", 1, 65536, false, OFF(max_context),
     "model context window in bars"},
    {"KRONOS_DEFAULT_TEMPERATURE", K_DOUBLE, "1.0", 0, 100, true, OFF(default_temperature),
     "sampling temperature (> 0)"},
    {"KRONOS_DEFAULT_TOP_K", K_INT, "0", 0, 1000000, false, OFF(default_top_k),
     "top-k filter, 0 = off"},
    {"KRONOS_DEFAULT_TOP_P", K_DOUBLE, "0.9", 0, 1, true, OFF(default_top_p),
     "top-p (nucleus) filter, in (0, 1]"},
    {"KRONOS_DEFAULT_SAMPLE_COUNT", K_INT, "1", 1, 1024, false, OFF(default_sample_count),
     "samples averaged per forecast"},
    {"KRONOS_CLIP_VALUE", K_DOUBLE, "5.0", 0, 1e6, true, OFF(clip_value), "z-score clip"},
    {"KRONOS_INFERENCE_THREADS", K_INT, "@cores", 1, 1024, false, OFF(inference_threads),
     "threads doing model work"},
    {"KRONOS_QUEUE_SIZE", K_INT, "64", 1, 1000000, false, OFF(queue_size),
     "requests waiting for the model before 503"},
    {"KRONOS_INFERENCE_TIMEOUT", K_DOUBLE, "240", 0, 86400, true, OFF(inference_timeout),
     "seconds per request, queue wait included"},
    {"KRONOS_STARTUP_TIMEOUT", K_DOUBLE, "300", 0, 86400, true, OFF(startup_timeout),
     "seconds to load the model before readiness reports failed"},
    {"KRONOS_SHUTDOWN_GRACE", K_DOUBLE, "30", 0, 3600, false, OFF(shutdown_grace),
     "seconds in-flight requests get once the listener closes (after KRONOS_DRAIN_DELAY)"},
    {"KRONOS_DRAIN_DELAY", K_DOUBLE, "5", 0, 3600, false, OFF(drain_delay),
     "seconds readiness reports draining after SIGTERM while still serving, before the listener "
     "closes"},
    {"KRONOS_MAX_CANDLES", K_INT, "2048", 1, 1000000, false, OFF(max_candles),
     "candles per series"},
    {"KRONOS_MAX_PRED_LEN", K_INT, "512", 1, 100000, false, OFF(max_pred_len),
     "forecast bars per series"},
    {"KRONOS_MAX_BATCH_ITEMS", K_INT, "64", 1, 100000, false, OFF(max_batch_items),
     "series per batch request"},
    {"KRONOS_MAX_SAMPLE_COUNT", K_INT, "16", 1, 1024, false, OFF(max_sample_count),
     "largest sample_count a request may ask"},
    {"KRONOS_MAX_BATCH_ROWS", K_INT, "1024", 1, 1048576, false, OFF(max_batch_rows),
     "rows one step of the Kronos model stacks for all forecasts in flight (memory cap)"},
    {"KRONOS_MAX_REQUEST_SIZE_MB", K_DOUBLE, "10", 0, 4096, true, OFF(max_request_size_mb),
     "request body limit in MiB"},
    {"KRONOS_SECURITY_ENABLED", K_BOOL, "true", NO_RANGE, OFF(security_enabled),
     "identity checks on predict and detailed health"},
    {"KRONOS_CONTAINER_WHITELIST", K_IDLIST, "localhost", NO_RANGE, OFF(container_whitelist),
     "comma list of caller identities allowed"},
    {"KRONOS_TRUSTED_PROXIES", K_CIDRS, "127.0.0.1/32,::1/128", NO_RANGE, OFF(trusted_proxies),
     "CIDRs whose X-Container-Name header is believed"},
    {"KRONOS_API_KEYS_FILE", K_FILE, NULL, NO_RANGE, OFF(api_keys_file),
     "file of name:key lines; when set, a Bearer key is required"},
    {"KRONOS_RATE_LIMIT_ENABLED", K_BOOL, "true", NO_RANGE, OFF(rate_limit_enabled),
     "per-identity rate limiting (GCRA)"},
    /* The limiter's own bounds, so a value it would refuse is refused here, naming the variable. */
    {"KRONOS_RATE_LIMIT_PER_MINUTE", K_INT, "100", 1, RATELIMIT_MAX_PER_MINUTE, false,
     OFF(rate_limit_per_minute), "sustained requests per minute per identity"},
    {"KRONOS_RATE_LIMIT_BURST", K_INT, "20", 1, RATELIMIT_MAX_BURST, false, OFF(rate_limit_burst),
     "requests allowed in a burst"},
    {"KRONOS_CONNECTION_TIMEOUT", K_INT, "30", 1, 3600, false, OFF(connection_timeout),
     "seconds: idle keep-alive timeout and absolute limit to receive a request"},
    {"KRONOS_MAX_DECOMPRESSED_MB", K_INT, "32", 1, 4096, false, OFF(max_decompressed_mb),
     "MiB a gzip request body (Content-Encoding: gzip) may inflate to"},
    {"KRONOS_MAX_BUFFERED_MB", K_INT, "256", 1, 1048576, false, OFF(max_buffered_mb),
     "MiB of request bodies being received plus answers being sent, all connections together"},
    {"KRONOS_MIN_SEND_RATE_KB", K_INT, "64", 1, 1048576, false, OFF(min_send_rate_kb),
     "KiB/s a client must read an answer at (after KRONOS_CONNECTION_TIMEOUT), else dropped"},
    {"KRONOS_HEADER_TIMEOUT", K_INT, "10", 1, 3600, false, OFF(header_timeout),
     "seconds: limit to send a complete request head (a new connection idles at most this long)"},
    {"KRONOS_MAX_CONNECTIONS", K_INT, "1024", 1, 1000000, false, OFF(max_connections),
     "concurrent connections"},
    {"KRONOS_MAX_CONNECTIONS_PER_IP", K_INT, "128", 1, 1000000, false, OFF(max_connections_per_ip),
     "concurrent connections per client IP"},
    {"KRONOS_INSTANCE", K_NAME, "@hostname", NO_RANGE, OFF(instance),
     "instance name in the service's own log lines"},
    {"KRONOS_DOCS_ENABLED", K_BOOL, "true", NO_RANGE, OFF(docs_enabled),
     "serve /openapi.json, /docs (Swagger UI) and /redoc"},
    /* The CDN FastAPI loads them from: same URLs, so a CSP written for FastAPI keeps working. */
    {"KRONOS_DOCS_ASSETS_URL", K_URL, "https://cdn.jsdelivr.net/npm", NO_RANGE,
     OFF(docs_assets_url),
     "where /docs and /redoc load swagger-ui-dist@5/ and redoc@2/ from (a self-hosted copy)"},
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static void flag_name(const option_spec *s, char *out, size_t n)
{
    const char *src = s->env + strlen("KRONOS_");
    size_t i = 0;
    out[i++] = '-';
    out[i++] = '-';
    for (; *src && i + 1 < n; src++)
        out[i++] = *src == '_' ? '-' : (char)tolower((unsigned char)*src);
    out[i] = '\0';
}

static const char *kind_allowed(const option_spec *s, char *buf, size_t n)
{
    switch (s->kind) {
    case K_HOST:
        return "an IPv4 or IPv6 address, e.g. 0.0.0.0 or ::";
    case K_PORT:
    case K_INT:
        snprintf(buf, n, "an integer in %.0f..%.0f", s->min, s->max);
        return buf;
    case K_DOUBLE:
        snprintf(buf, n, "a number in %s%g, %g]", s->min_exclusive ? "(" : "[", s->min, s->max);
        return buf;
    case K_BOOL:
        return "true or false (also 1/0, yes/no, on/off)";
    case K_LEVEL:
        return "one of DEBUG, INFO, WARNING, ERROR, CRITICAL";
    case K_DIR:
        return "a readable directory";
    case K_FILE:
        return "a readable file";
    case K_CIDRS:
        return "a comma list of IPv4/IPv6 CIDRs, e.g. 10.0.0.0/8,::1/128";
    case K_IDLIST:
        return "a comma list of names of [A-Za-z0-9._:-], each 1..128 chars";
    case K_NAME:
        return "1..128 printable characters";
    case K_ENGINE:
        return "auto, kronos or baseline";
    case K_SIMD:
        return "auto, portable, avx2 on a CPU with AVX2 and FMA, or avx512 on one that also has "
               "AVX-512F";
    case K_URL:
        return "an http:// or https:// URL, or a path starting with /, without quotes, <, > or "
               "spaces";
    }
    return "";
}

/* A base URL the docs pages put into <script src> and <link href>: absolute http(s) or a path
 * on this server, printable ASCII without the characters that would end an HTML attribute. */
static bool valid_url(const char *v)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 && v[0] != '/')
        return false;
    size_t n = strlen(v);
    if (n > 512)
        return false;
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("\"'<>`\\", *p))
            return false;
    return true;
}

static bool parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || isspace((unsigned char)*v))
        return false;
    *out = x;
    return true;
}

static bool parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || isspace((unsigned char)*v) || !isfinite(x))
        return false;
    *out = x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == ':' || c == '-';
}

static bool valid_idlist(const char *v)
{
    size_t item = 0;
    for (const char *p = v;; p++) {
        if (*p == ',' || *p == '\0') {
            if (item > 128)
                return false;
            item = 0;
            if (*p == '\0')
                return true;
        } else if (*p == ' ') {
            continue;
        } else if (!id_char(*p)) {
            return false;
        } else {
            item++;
        }
    }
}

static bool valid_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 128)
        return false;
    for (const char *p = v; *p; p++)
        if (!isprint((unsigned char)*p))
            return false;
    return true;
}

/* Validates and stores one value; on failure fills err with the reason after the value. */
/* A named kernel set is a demand: refused (why says which) where this build or CPU cannot run it.
 */
static bool simd_runs(int m, char *why, size_t whylen)
{
    if (m == CONFIG_SIMD_AVX2 && !kr_simd_supported(KR_SIMD_AVX2)) {
        snprintf(why, whylen, "%s",
                 kr_simd_built(KR_SIMD_AVX2) ? "this CPU lacks AVX2 or FMA"
                                             : "this build has no AVX2 kernels (not x86-64)");
        return false;
    }
    if (m == CONFIG_SIMD_AVX512 && !kr_simd_supported(KR_SIMD_AVX512)) {
        snprintf(why, whylen, "%s",
                 !kr_simd_built(KR_SIMD_AVX512) ? "this build has no AVX-512 kernels (not x86-64)"
                 : kr_simd_supported(KR_SIMD_AVX2) ? "this CPU lacks AVX-512F"
                                                   : "this CPU lacks AVX-512F and AVX2/FMA");
        return false;
    }
    return true;
}

static bool apply(config *c, const option_spec *s, const char *v, char *why, size_t whylen)
{
    char *field = (char *)c + s->offset;
    long l;
    double d;
    bool b;
    struct stat st;
    switch (s->kind) {
    case K_HOST: {
        unsigned char tmp[16];
        if (inet_pton(AF_INET, v, tmp) != 1 && inet_pton(AF_INET6, v, tmp) != 1)
            return false;
        break;
    }
    case K_PORT:
    case K_INT:
        if (!parse_long(v, &l) || l < (long)s->min || l > (long)s->max)
            return false;
        *(int *)field = (int)l;
        return true;
    case K_DOUBLE:
        if (!parse_double(v, &d) || d > s->max || d < s->min || (s->min_exclusive && d <= s->min))
            return false;
        *(double *)field = d;
        return true;
    case K_BOOL:
        if (!parse_bool(v, &b))
            return false;
        *(bool *)field = b;
        return true;
    case K_LEVEL: {
        int lv = log_level_parse(v);
        if (lv < 0)
            return false;
        *(int *)field = lv;
        return true;
    }
    case K_DIR:
        if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode) || access(v, R_OK | X_OK) != 0) {
            snprintf(why, whylen, "%s", errno ? strerror(errno) : "not a directory");
            if (stat(v, &st) == 0 && !S_ISDIR(st.st_mode))
                snprintf(why, whylen, "not a directory");
            return false;
        }
        break;
    case K_FILE:
        if (stat(v, &st) != 0 || !S_ISREG(st.st_mode) || access(v, R_OK) != 0) {
            snprintf(why, whylen, "%s",
                     stat(v, &st) == 0 && !S_ISREG(st.st_mode) ? "not a regular file"
                                                               : strerror(errno));
            return false;
        }
        break;
    case K_CIDRS: {
        cidr_list tmp;
        if (cidr_list_parse(v, &tmp, why, whylen) != 0)
            return false;
        cidr_list_free(&tmp);
        break;
    }
    case K_IDLIST:
        if (!valid_idlist(v))
            return false;
        break;
    case K_NAME:
        if (!valid_name(v))
            return false;
        break;
    case K_ENGINE:
        for (int e = 0; e < (int)(sizeof(engine_names) / sizeof(engine_names[0])); e++)
            if (strcmp(v, engine_names[e]) == 0) {
                *(int *)field = e;
                return true;
            }
        return false;
    case K_URL:
        if (!valid_url(v))
            return false;
        break;
    case K_SIMD:
        for (int m = 0; m < (int)(sizeof(simd_names) / sizeof(simd_names[0])); m++)
            if (strcmp(v, simd_names[m]) == 0) {
                if (!simd_runs(m, why, whylen))
                    return false;
                *(int *)field = m;
                return true;
            }
        return false;
    }
    char *copy = strdup(v);
    if (!copy) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    free(*(char **)field);
    *(char **)field = copy;
    return true;
}

static bool is_string_kind(kind k)
{
    return k == K_HOST || k == K_DIR || k == K_FILE || k == K_CIDRS || k == K_IDLIST ||
           k == K_NAME || k == K_URL;
}

static const char *computed_default(const option_spec *s, char *buf, size_t n)
{
    if (!s->def || s->def[0] != '@')
        return s->def;
    if (strcmp(s->def, "@cores") == 0) {
        /* In a container the cgroup CPU quota, not the host's core count, says how many
         * threads can run at once. */
        double quota;
        char source[256];
        cpulimit_quota("/", &quota, source, sizeof source);
        snprintf(buf, n, "%d", cpulimit_threads(cpulimit_cores(), quota));
    } else {
        if (gethostname(buf, n) != 0 || !valid_name(buf))
            snprintf(buf, n, "kronosd");
        buf[n - 1] = '\0';
    }
    return buf;
}

static void print_help(strbuf *out)
{
    sb_printf(out,
              "Usage: kronosd [--flag value | --flag=value]...\n\n"
              "%s %s: Kronos candlestick forecasts over HTTP.\n"
              "Every setting is a KRONOS_* environment variable and a --kebab-case flag; the flag "
              "wins.\n\n",
              KRONOS_APP_NAME, KRONOS_VERSION);
    for (size_t i = 0; i < NSPECS; i++) {
        char flag[64], buf[256];
        flag_name(&specs[i], flag, sizeof(flag));
        const char *def = specs[i].def ? specs[i].def : "(unset)";
        if (strcmp(def, "@cores") == 0)
            def = "CPUs available (affinity, lowered to the cgroup CPU quota)";
        else if (strcmp(def, "@hostname") == 0)
            def = "hostname";
        sb_printf(out, "  %-34s %-30s %s\n      default: %s; allowed: %s\n", flag, specs[i].env,
                  specs[i].help, def, kind_allowed(&specs[i], buf, sizeof(buf)));
    }
    sb_printf(out, "  %-34s %-30s %s\n  %-34s %-30s %s\n  %-34s %-30s %s\n", "--help", "",
              "this text", "--version", "", "version, git revision and compiler", "--check-config",
              "", "validate the configuration (loading the model), print it, exit 0 or 2");
}

static void fail(char *err, size_t errlen, const option_spec *s, const char *source,
                 const char *value, const char *why)
{
    char allowed[256];
    snprintf(err, errlen, "invalid configuration: %s%s=\"%s\": expected %s%s%s", s->env, source,
             value, kind_allowed(s, allowed, sizeof(allowed)), why[0] ? " (" : "",
             why[0] ? why : "");
    if (why[0])
        strncat(err, ")", errlen - strlen(err) - 1);
}

static const option_spec *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < NSPECS; i++) {
        char flag[64];
        flag_name(&specs[i], flag, sizeof(flag));
        if (strlen(flag) == len && strncmp(flag, arg, len) == 0)
            return &specs[i];
    }
    return NULL;
}

/* One bound between two settings: the named value must be "at most" / "at least" the other. */
static bool bounded(char *err, size_t errlen, const char *name, double value, const char *relation,
                    const char *other, double other_value)
{
    bool ok = strcmp(relation, "at most") == 0 ? value <= other_value : value >= other_value;
    if (!ok)
        snprintf(err, errlen, "invalid configuration: %s=\"%g\": expected %s %s (%g)", name, value,
                 relation, other, other_value);
    return ok;
}

static int cross_check(config *c, char *err, size_t errlen)
{
    if (!bounded(err, errlen, "KRONOS_DEFAULT_SAMPLE_COUNT", c->default_sample_count, "at most",
                 "KRONOS_MAX_SAMPLE_COUNT", c->max_sample_count) ||
        !bounded(err, errlen, "KRONOS_MAX_CONNECTIONS_PER_IP", c->max_connections_per_ip, "at most",
                 "KRONOS_MAX_CONNECTIONS", c->max_connections) ||
        !bounded(err, errlen, "KRONOS_MAX_DECOMPRESSED_MB", c->max_decompressed_mb, "at least",
                 "KRONOS_MAX_REQUEST_SIZE_MB", c->max_request_size_mb) ||
        !bounded(err, errlen, "KRONOS_MAX_BUFFERED_MB", c->max_buffered_mb, "at least",
                 "KRONOS_MAX_DECOMPRESSED_MB", c->max_decompressed_mb))
        return CONFIG_INVALID;
    if (c->engine == CONFIG_ENGINE_KRONOS && !c->model_path) {
        snprintf(err, errlen,
                 "invalid configuration: KRONOS_ENGINE=\"kronos\": expected together with "
                 "KRONOS_MODEL_PATH (the Kronos weights to load)");
        return CONFIG_INVALID;
    }
    if (c->tokenizer_path && !c->model_path) {
        snprintf(err, errlen,
                 "invalid configuration: KRONOS_TOKENIZER_PATH=\"%s\": expected together with "
                 "KRONOS_MODEL_PATH (the baseline engine needs no tokenizer)",
                 c->tokenizer_path);
        return CONFIG_INVALID;
    }
    if (c->model_path && !c->tokenizer_path) {
        size_t n = strlen(c->model_path) + sizeof("/tokenizer");
        c->tokenizer_path = malloc(n);
        if (!c->tokenizer_path)
            return CONFIG_INVALID;
        snprintf(c->tokenizer_path, n, "%s/tokenizer", c->model_path);
    }
    /* Checked here so a bad list names the variable like any other; security/ parses it again
     * into the list it uses. */
    char why[256] = "";
    cidr_list proxies;
    int bad = cidr_list_parse(c->trusted_proxies, &proxies, why, sizeof(why));
    cidr_list_free(&proxies);
    if (bad) {
        snprintf(err, errlen, "invalid configuration: KRONOS_TRUSTED_PROXIES: %s", why);
        return CONFIG_INVALID;
    }
    return CONFIG_OK;
}

int config_load(config *c, int argc, char **argv, const char *(*getenv_fn)(const char *),
                strbuf *out, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(out);
            return CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            sb_printf(out, "kronosd %s (revision %s, compiler %s)\n", KRONOS_VERSION,
                      KRONOS_GIT_REVISION, "gcc-compatible " __VERSION__);
            return CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--check-config") == 0)
            c->check_config = true;
    }

    /* Defaults, then the environment, then flags: each layer validated as it is applied. */
    const char *values[NSPECS];
    const char *sources[NSPECS];
    char computed[NSPECS][256];
    for (size_t i = 0; i < NSPECS; i++) {
        values[i] = computed_default(&specs[i], computed[i], sizeof(computed[i]));
        sources[i] = " (default)";
        const char *env = getenv_fn(specs[i].env);
        if (env) {
            values[i] = env;
            sources[i] = "";
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--check-config") == 0)
            continue;
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
            return CONFIG_INVALID;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const option_spec *s = find_flag(arg, name_len);
        if (!s) {
            snprintf(err, errlen, "unknown flag \"%.*s\" (see --help)", (int)name_len, arg);
            return CONFIG_INVALID;
        }
        size_t idx = (size_t)(s - specs);
        if (eq) {
            values[idx] = eq + 1;
        } else if (s->kind == K_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            values[idx] = "true";
        } else if (i + 1 < argc) {
            values[idx] = argv[++i];
        } else {
            snprintf(err, errlen, "flag %.*s (%s) needs a value", (int)name_len, arg, s->env);
            return CONFIG_INVALID;
        }
        sources[idx] = " (flag)";
    }
    for (size_t i = 0; i < NSPECS; i++) {
        if (!values[i])
            continue;
        /* An empty optional path means unset, as with an absent variable. */
        if (values[i][0] == '\0' && !specs[i].def && is_string_kind(specs[i].kind))
            continue;
        char why[256] = "";
        if (!apply(c, &specs[i], values[i], why, sizeof(why))) {
            fail(err, errlen, &specs[i], strcmp(sources[i], " (default)") ? sources[i] : "",
                 values[i], why);
            config_free(c);
            return CONFIG_INVALID;
        }
    }
    int rc = cross_check(c, err, errlen);
    if (rc != CONFIG_OK)
        config_free(c);
    return rc;
}

void config_free(config *c)
{
    for (size_t i = 0; i < NSPECS; i++) {
        if (is_string_kind(specs[i].kind)) {
            char **field = (char **)((char *)c + specs[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

void config_unknown_variables(char *const *envp, config_unknown_fn report, void *ctx)
{
    for (; envp && *envp; envp++) {
        const char *eq = strchr(*envp, '=');
        size_t len = eq ? (size_t)(eq - *envp) : strlen(*envp);
        char name[128];
        if (strncmp(*envp, "KRONOS_", 7) != 0 || len >= sizeof(name))
            continue;
        memcpy(name, *envp, len);
        name[len] = '\0';
        const char *closest = NULL;
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < NSPECS; i++) {
            if (strcmp(specs[i].env, name) == 0) {
                closest = NULL;
                best = 0;
                break;
            }
            size_t d = edit_distance(name, specs[i].env);
            if (d < best) {
                best = d;
                closest = specs[i].env;
            }
        }
        if (best > 0)
            report(name, closest, ctx);
    }
}

bool config_uses_kronos(const config *c)
{
    return c->engine == CONFIG_ENGINE_KRONOS || (c->engine == CONFIG_ENGINE_AUTO && c->model_path);
}

size_t config_max_request_bytes(const config *c)
{
    return (size_t)(c->max_request_size_mb * 1024.0 * 1024.0);
}

void config_to_json(const config *c, strbuf *sb)
{
    sb_putc(sb, '{');
    for (size_t i = 0; i < NSPECS; i++) {
        const option_spec *s = &specs[i];
        const char *field = (const char *)c + s->offset;
        if (i)
            sb_putc(sb, ',');
        json_escape_append(sb, s->env, strlen(s->env));
        sb_putc(sb, ':');
        switch (s->kind) {
        case K_PORT:
        case K_INT:
            sb_printf(sb, "%d", *(const int *)field);
            break;
        case K_DOUBLE:
            sb_printf(sb, "%.15g", *(const double *)field);
            break;
        case K_BOOL:
            sb_puts(sb, *(const bool *)field ? "true" : "false");
            break;
        case K_LEVEL:
            sb_printf(sb, "\"%s\"", log_level_name(*(const int *)field));
            break;
        case K_ENGINE:
            sb_printf(sb, "\"%s\"", engine_names[*(const int *)field]);
            break;
        case K_SIMD:
            sb_printf(sb, "\"%s\"", simd_names[*(const int *)field]);
            break;
        default: {
            const char *v = *(char *const *)field;
            if (v)
                json_escape_append(sb, v, strlen(v));
            else
                sb_puts(sb, "null");
        }
        }
    }
    sb_putc(sb, '}');
}

/* "1.5 GiB" */
static void human_bytes(char *out, size_t n, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

uint64_t config_memory_worst(const config_memory *m)
{
    uint64_t workers = m->workers > 0 ? (uint64_t)m->workers : 1;
    if (m->per_job > (UINT64_MAX - m->weights) / workers)
        return UINT64_MAX;
    return workers * m->per_job + m->weights;
}

int config_check_memory(const config *c, const config_memory *m, char *err, size_t errlen)
{
    uint64_t worst = config_memory_worst(m);
    if (worst <= m->machine)
        return CONFIG_OK;
    char w[32], job[32], weights[32], machine[32];
    human_bytes(w, sizeof(w), worst);
    human_bytes(job, sizeof(job), m->per_job);
    human_bytes(weights, sizeof(weights), m->weights);
    human_bytes(machine, sizeof(machine), m->machine);
    snprintf(err, errlen,
             "invalid configuration: the request limits allow %s of memory at worst (%d workers x "
             "%s per forecast + %s of weights), more than the %s this machine has (%s); lower "
             "KRONOS_MAX_CANDLES (%d), KRONOS_MAX_CONTEXT (%d), KRONOS_MAX_PRED_LEN (%d), "
             "KRONOS_MAX_SAMPLE_COUNT (%d), KRONOS_MAX_BATCH_ITEMS (%d), KRONOS_MAX_BATCH_ROWS "
             "(%d) or KRONOS_INFERENCE_THREADS (%d); see docs/PERFORMANCE.md, Memory bounds",
             w, m->workers, job, weights, machine, m->machine_source, c->max_candles,
             c->max_context, c->max_pred_len, c->max_sample_count, c->max_batch_items,
             c->max_batch_rows, c->inference_threads);
    return CONFIG_INVALID;
}
