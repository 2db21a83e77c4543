#ifndef KRONOS_LOG_H
#define KRONOS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JSON-lines logging on stdout (SPEC §4). A line is built in a fixed buffer on the caller's
 * stack, then written under a mutex: a line longer than PIPE_BUF may take several write() calls
 * on a pipe, and the mutex keeps lines from different threads whole.
 *
 *   log_line l;
 *   if (log_begin(&l, LOG_INFO, "kronosd.http", "request completed")) {
 *       log_str(&l, "request_id", id);
 *       log_int(&l, "status_code", 200);
 *       log_end(&l);
 *   }
 */

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL } log_level;

#define LOG_LINE_MAX 8192

typedef struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
} log_line;

void log_set_level(log_level level);
log_level log_get_level(void);
bool log_enabled(log_level level);
/* Parses DEBUG/INFO/WARNING/ERROR/CRITICAL (case-insensitive; WARN accepted). -1 if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(log_level level);
/* Redirects output (tests); default is STDOUT_FILENO. */
void log_set_fd(int fd);

bool log_begin(log_line *l, log_level level, const char *logger, const char *message);
void log_str(log_line *l, const char *key, const char *value);
void log_int(log_line *l, const char *key, int64_t value);
void log_uint(log_line *l, const char *key, uint64_t value);
void log_double(log_line *l, const char *key, double value);
void log_bool(log_line *l, const char *key, bool value);
/* Appends pre-serialised JSON as the value (caller guarantees validity). */
void log_raw(log_line *l, const char *key, const char *json);
void log_end(log_line *l);

/* One-call forms for plain messages. */
void log_msg(log_level level, const char *logger, const char *message);

#endif
