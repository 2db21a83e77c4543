#include "obs/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/json_escape.h"
#include "util/strbuf.h"

static atomic_int current_level = LOG_INFO;
static atomic_int out_fd = STDOUT_FILENO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

void log_set_level(log_level level)
{
    atomic_store(&current_level, (int)level);
}

log_level log_get_level(void)
{
    return (log_level)atomic_load(&current_level);
}

bool log_enabled(log_level level)
{
    return (int)level >= atomic_load_explicit(&current_level, memory_order_relaxed);
}

int log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_CRITICAL; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "WARN") == 0)
        return LOG_WARNING;
    return -1;
}

const char *log_level_name(log_level level)
{
    return level_names[level];
}

void log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}

/* Room kept for `,"truncated":true}` and the newline, so a cut line is still valid JSON. */
#define LOG_TAIL_RESERVE 24

/* Appends `,"key":value` whole or not at all; a field that does not fit marks the line truncated
 * and every later field is dropped too. */
static void put_field(log_line *l, const char *key, const char *value, size_t vlen, bool raw)
{
    if (l->truncated)
        return;
    strbuf sb;
    sb_init_fixed(&sb, l->buf + l->len, LOG_LINE_MAX - LOG_TAIL_RESERVE - l->len);
    sb_putc(&sb, ',');
    json_escape_append(&sb, key, strlen(key));
    sb_putc(&sb, ':');
    if (raw)
        sb_append(&sb, value, vlen);
    else
        json_escape_append(&sb, value, vlen);
    if (sb_ok(&sb))
        l->len += sb.len;
    else
        l->truncated = true;
}

bool log_begin(log_line *l, log_level level, const char *logger, const char *message)
{
    if (!log_enabled(level))
        return false;
    l->truncated = false;
    char ts[32];
    clock_format_rfc3339_ms(clock_real_ns(), ts);
    l->len = (size_t)snprintf(l->buf, LOG_LINE_MAX, "{\"timestamp\":\"%s\",\"level\":\"%s\"", ts,
                              level_names[level]);
    put_field(l, "logger", logger, strlen(logger), false);
    put_field(l, "message", message, strlen(message), false);
    return true;
}

void log_str(log_line *l, const char *key, const char *value)
{
    if (value)
        put_field(l, key, value, strlen(value), false);
}

void log_int(log_line *l, const char *key, int64_t value)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", (long long)value);
    put_field(l, key, num, (size_t)n, true);
}

void log_uint(log_line *l, const char *key, uint64_t value)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
    put_field(l, key, num, (size_t)n, true);
}

void log_double(log_line *l, const char *key, double value)
{
    char num[40];
    int n = isfinite(value) ? snprintf(num, sizeof(num), "%.6g", value)
                            : snprintf(num, sizeof(num), "null");
    put_field(l, key, num, (size_t)n, true);
}

void log_bool(log_line *l, const char *key, bool value)
{
    put_field(l, key, value ? "true" : "false", value ? 4 : 5, true);
}

void log_raw(log_line *l, const char *key, const char *json)
{
    put_field(l, key, json, strlen(json), true);
}

void log_end(log_line *l)
{
    static const char mark[] = ",\"truncated\":true";
    if (l->truncated) {
        memcpy(l->buf + l->len, mark, sizeof(mark) - 1);
        l->len += sizeof(mark) - 1;
    }
    l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
    const char *p = l->buf;
    size_t left = l->len;
    static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&write_lock);
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    pthread_mutex_unlock(&write_lock);
}

void log_msg(log_level level, const char *logger, const char *message)
{
    log_line l;
    if (log_begin(&l, level, logger, message))
        log_end(&l);
}
