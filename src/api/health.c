#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <jansson.h>

#include "api/app.h"
#include "api/handlers.h"
#include "api/readiness.h"
#include "http/response.h"
#include "util/clock.h"
#include "util/memlimit.h"
#include "util/utf8_sanitize.h"
#include "version.h"

/* Every string these handlers pack is valid UTF-8 (names are made so where they are read), so
 * a body that could not be built means memory ran out: a server fault, answered as one. */
static http_result respond_unbuilt(http_request *r)
{
    return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                              "could not build the answer", NULL, NULL, 0);
}

static http_result respond_built(http_request *r, int status, json_t *body,
                                 const char *content_type)
{
    return body ? http_respond_json(r, status, body, content_type) : respond_unbuilt(r);
}

http_result handle_root(http_request *r)
{
    json_t *body = json_pack("{s:s, s:s}", "message", KRONOS_APP_NAME, "version", KRONOS_VERSION);
    return respond_built(r, HTTP_STATUS_OK, body, CT_JSON);
}

http_result handle_healthz(http_request *r)
{
    return respond_built(r, HTTP_STATUS_OK, json_pack("{s:s}", "status", "ok"), CT_JSON);
}

http_result handle_readyz(http_request *r)
{
    readiness rd;
    readiness_get(app_of(r), &rd);
    json_t *body = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s}", "status", rd.status, "model_loaded",
                             rd.model_loaded, "engine", rd.engine, "model", rd.model, "tokenizer",
                             rd.tokenizer, "device", "cpu");
    if (body && rd.reason[0] && json_object_set_new(body, "reason", json_string(rd.reason)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body || rd.ready)
        return respond_built(r, HTTP_STATUS_OK, body, CT_JSON);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return respond_unbuilt(r);
    http_header_kv retry = {"Retry-After", "5"};
    return http_respond(r, HTTP_STATUS_SERVICE_UNAVAILABLE, CT_JSON, text, strlen(text), true,
                        &retry, 1);
}

/* The number after "key:" in a /proc file such as /proc/self/status or /proc/meminfo, which
 * are in kB; returned in bytes, -1 when unreadable. */
static long long proc_kb_field(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[256];
    long long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            sscanf(line + klen + 1, "%lld", &v);
            break;
        }
    }
    fclose(f);
    return v < 0 ? -1 : v * 1024;
}

/* Memory is judged against what this process may have: its cgroup's limit in a container
 * (the host's MemAvailable says nothing there), else the machine's. Warn when the resident set
 * is within 10% of that limit (the OOM killer is near), or, without a cgroup limit, when the
 * machine has less than 5% available. */
static json_t *memory_check(void)
{
    long long rss = proc_kb_field("/proc/self/status", "VmRSS");
    long long total = proc_kb_field("/proc/meminfo", "MemTotal");
    long long avail = proc_kb_field("/proc/meminfo", "MemAvailable");
    uint64_t limit = 0;
    char source[256] = "";
    bool have_limit = memlimit_read("/", &limit, source, sizeof source) == 0 && limit > 0;
    bool cgroup = have_limit && strcmp(source, "MemTotal") != 0;
    const char *status = "pass";
    if (have_limit && rss >= 0 && (double)rss >= 0.9 * (double)limit)
        status = "warn";
    if (!cgroup && avail >= 0 && total > 0 && (double)avail / (double)total < 0.05)
        status = "warn";
    json_t *check = json_pack("{s:s, s:I, s:I, s:I}", "status", status, "rss_bytes",
                              (json_int_t)rss, "system_total_bytes", (json_int_t)total,
                              "system_available_bytes", (json_int_t)avail);
    char shown[256];
    utf8_sanitize(shown, sizeof shown, source, strlen(source)); /* a cgroup path is bytes */
    if (check && have_limit &&
        (json_object_set_new(check, "limit_bytes", json_integer((json_int_t)limit)) != 0 ||
         json_object_set_new(check, "limit_source", json_string(shown)) != 0)) {
        json_decref(check);
        return NULL;
    }
    return check;
}

static json_t *disk_check(void)
{
    struct statvfs vfs;
    char cwd[1024], shown[1024];
    if (!getcwd(cwd, sizeof(cwd)))
        snprintf(cwd, sizeof(cwd), "/");
    utf8_sanitize(shown, sizeof(shown), cwd, strlen(cwd)); /* a path is bytes, JSON is text */
    if (statvfs(cwd, &vfs) != 0)
        return json_pack("{s:s, s:s}", "status", "warn", "error", "statvfs failed");
    unsigned long long total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
    unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    const char *status = total && (double)avail / (double)total < 0.05 ? "warn" : "pass";
    return json_pack("{s:s, s:s, s:I, s:I}", "status", status, "path", shown, "total_bytes",
                     (json_int_t)total, "available_bytes", (json_int_t)avail);
}

static const char *worst(const char *a, const char *b)
{
    static const char *const order[] = {"pass", "warn", "fail"};
    int ia = a ? 0 : 2, ib = b ? 0 : 2; /* a check without a status fails */
    for (int i = 0; i < 3; i++) {
        if (a && strcmp(a, order[i]) == 0)
            ia = i;
        if (b && strcmp(b, order[i]) == 0)
            ib = i;
    }
    return order[ia > ib ? ia : ib];
}

http_result handle_healthz_detailed(http_request *r)
{
    readiness rd;
    readiness_get(app_of(r), &rd);
    json_t *model = readiness_model_check(app_of(r), &rd);
    json_t *queue = readiness_queue_check(app_of(r));
    json_t *memory = memory_check();
    json_t *disk = disk_check();
    json_t *checks[] = {model, queue, memory, disk};
    if (!model || !queue || !memory || !disk) {
        for (size_t i = 0; i < 4; i++)
            json_decref(checks[i]);
        return respond_unbuilt(r);
    }
    const char *status = "pass";
    for (size_t i = 0; i < 4; i++)
        status = worst(status, json_string_value(json_object_get(checks[i], "status")));
    double uptime = (double)(clock_mono_ns() - app_of(r)->start_mono_ns) / 1e9;
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:f, s:{s:o, s:o, s:o, s:o}}", "status", status, "version",
                  KRONOS_VERSION, "revision", KRONOS_GIT_REVISION, "uptime_seconds", uptime,
                  "checks", "model", model, "queue", queue, "memory", memory, "disk", disk);
    unsigned code = strcmp(status, "fail") == 0 ? HTTP_STATUS_SERVICE_UNAVAILABLE : HTTP_STATUS_OK;
    return respond_built(r, code, body, CT_HEALTH_JSON);
}
