#ifndef KRONOS_CONFIG_H
#define KRONOS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/cidr.h"
#include "util/strbuf.h"

/* The effective configuration (SPEC §2): KRONOS_* environment variables, each overridable by a
 * --kebab-case flag. Every value is validated; strings are owned by the struct. */
enum config_engine { CONFIG_ENGINE_AUTO, CONFIG_ENGINE_KRONOS, CONFIG_ENGINE_BASELINE };
/* KRONOS_SIMD: the Kronos kernels (docs/DEPLOYMENT.md, "CPUs and architectures"). */
enum config_simd { CONFIG_SIMD_AUTO, CONFIG_SIMD_AVX2, CONFIG_SIMD_PORTABLE, CONFIG_SIMD_AVX512 };

typedef struct config {
    char *host;
    int port;
    int log_level;
    int engine;           /* enum config_engine */
    int simd;             /* enum config_simd; a set only where this build and CPU run it */
    char *model_path;     /* NULL: the baseline engine (unless KRONOS_ENGINE=kronos) */
    char *tokenizer_path; /* defaults to <model_path>/tokenizer */
    int max_context;
    double default_temperature;
    int default_top_k;
    double default_top_p;
    int default_sample_count;
    double clip_value;
    int inference_threads;
    int queue_size;
    double inference_timeout;
    double startup_timeout;
    double shutdown_grace;
    double drain_delay;
    int max_candles;
    int max_pred_len;
    int max_batch_items;
    int max_sample_count;
    int max_batch_rows; /* rows one pass of the Kronos model stacks (continuous batching) */
    double max_request_size_mb;
    bool security_enabled;
    char *container_whitelist;
    char *trusted_proxies;
    char *api_keys_file;
    bool rate_limit_enabled;
    int rate_limit_per_minute;
    int rate_limit_burst;
    int connection_timeout;
    int header_timeout;
    int min_send_rate_kb;
    int max_buffered_mb;
    int max_decompressed_mb;
    int max_connections;
    int max_connections_per_ip;
    char *instance;
    bool check_config;     /* --check-config: validate, print, exit */
    bool docs_enabled;     /* KRONOS_DOCS_ENABLED: /openapi.json, /docs, /redoc */
    char *docs_assets_url; /* KRONOS_DOCS_ASSETS_URL: base of swagger-ui-dist@5/ and redoc@2/ */

} config;

enum config_result {
    CONFIG_OK = 0,
    CONFIG_EXIT_OK = 1, /* --help or --version printed: exit 0 */
    CONFIG_INVALID = 2, /* message in err: exit 2 */
};

/* Reads the environment (via getenv_fn, so tests can inject one) and argv. On CONFIG_INVALID,
 * err holds one line naming the variable, the value and what is allowed. --help/--version
 * output goes to `out`. */
int config_load(config *c, int argc, char **argv, const char *(*getenv_fn)(const char *),
                strbuf *out, char *err, size_t errlen);
void config_free(config *c);
/* Reports each KRONOS_* variable of envp that kronosd does not know, with the closest known name.
 */
typedef void (*config_unknown_fn)(const char *name, const char *closest, void *ctx);
void config_unknown_variables(char *const *envp, config_unknown_fn report, void *ctx);
size_t config_max_request_bytes(const config *c);
/* KRONOS_ENGINE resolved: kronos, or auto with a model path. */
bool config_uses_kronos(const config *c);
/* The effective configuration as a JSON object (for the start-up log line). */
void config_to_json(const config *c, strbuf *sb);

/* The memory the request limits allow at worst (docs/PERFORMANCE.md, "Memory bounds"). */
typedef struct config_memory {
    int workers;                /* forecasts run side by side */
    uint64_t per_job;           /* the engine's worst case for one job under the limits */
    uint64_t weights;           /* held once */
    uint64_t machine;           /* what the machine or its cgroup has */
    const char *machine_source; /* "MemTotal", "cgroup v2 memory.max /x", ... */
} config_memory;

/* workers x per_job + weights (saturating). */
uint64_t config_memory_worst(const config_memory *m);
/* CONFIG_OK when the worst case fits the machine; else CONFIG_INVALID with a message naming
 * the variables that set it (start-up exits 2). */
int config_check_memory(const config *c, const config_memory *m, char *err, size_t errlen);

#endif
