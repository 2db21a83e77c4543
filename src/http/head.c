#include "http/head.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, obs-text and the whitespace allowed inside a field value: no NUL, CR, LF or other
 * control character. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int refuse(http_head_error *e, int status, const char *code, const char *message)
{
    e->status = status;
    e->code = code;
    e->message = message;
    return HTTP_HEAD_INVALID;
}

static int bad(http_head_error *e, const char *message)
{
    return refuse(e, 400, "bad_request", message);
}

size_t http_head_end(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

const char *http_head_get(const http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (strcasecmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    return NULL;
}

size_t http_head_count(const http_head *h, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nheaders; i++)
        n += strcasecmp(h->headers[i].name, name) == 0;
    return n;
}

/* The line starting at s ends at the next '\n'; it must be CRLF-terminated. Returns the length of
 * its content (CR excluded) or -1 for a bare LF. */
static long line_length(const char *s, const char *end)
{
    const char *lf = memchr(s, '\n', (size_t)(end - s));
    if (!lf || lf == s || lf[-1] != '\r')
        return -1;
    return (long)(lf - 1 - s);
}

static int parse_request_line(char *s, size_t n, http_head *h, http_head_error *e)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ' ')
        return bad(e, "malformed request line");
    if (i > HTTP_METHOD_MAX)
        return refuse(e, 501, "not_implemented", "request method too long");
    memcpy(h->method, s, i);
    h->method[i] = '\0';

    size_t t0 = ++i;
    while (i < n && s[i] != ' ') {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return bad(e, "request target contains a control, space or non-ASCII byte");
        i++;
    }
    if (i == t0 || i >= n)
        return bad(e, "malformed request line");
    if (i - t0 > HTTP_TARGET_MAX)
        return refuse(e, 414, "uri_too_long", "request target longer than 8192 bytes");
    s[i] = '\0';
    h->target = s + t0;

    const char *v = s + i + 1;
    size_t vlen = n - i - 1;
    bool digit_dot_digit = vlen == 8 && v[6] == '.' && v[7] >= '0' && v[7] <= '9';
    bool digit_only = vlen == 6; /* "HTTP/2", "HTTP/3" */
    if (!(digit_dot_digit || digit_only) || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9')
        return bad(e, "malformed HTTP version");
    if (digit_only || v[5] != '1' || v[7] > '1')
        return refuse(e, 505, "http_version_not_supported",
                      "only HTTP/1.0 and HTTP/1.1 are served");
    h->minor = v[7] - '0';
    return HTTP_HEAD_COMPLETE;
}

/* origin-form "/p?q", absolute-form "http://host/p?q" (reduced to its path) or "*". */
static int split_target(http_head *h, http_head_error *e)
{
    const char *t = h->target;
    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        const char *slash = strchr(strstr(t, "://") + 3, '/');
        t = slash ? slash : "/";
    } else if (t[0] != '/' && strcmp(t, "*") != 0) {
        return bad(e, "request target must be an absolute path");
    }
    size_t plen = strcspn(t, "?#");
    for (size_t i = 0; i + 3 <= plen; i++)
        if (t[i] == '%' && t[i + 1] == '0' && t[i + 2] == '0')
            return bad(e, "request path contains an encoded NUL (%00)");
    h->path_truncated = plen >= sizeof(h->path);
    size_t copy = h->path_truncated ? sizeof(h->path) - 1 : plen;
    memcpy(h->path, t, copy);
    h->path[copy] = '\0';
    h->query = t[plen] == '?' ? t + plen + 1 : "";
    return HTTP_HEAD_COMPLETE;
}

static int parse_header_line(char *s, size_t n, http_head *h, http_head_error *e)
{
    if (is_ows(s[0]))
        return bad(e, "obsolete header line folding");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ':')
        return bad(e, "malformed header line");
    if (h->nheaders == HTTP_HEADERS_MAX)
        return refuse(e, 431, "headers_too_large", "more than 100 header lines");
    s[i] = '\0';
    size_t v = i + 1;
    while (v < n && is_ows(s[v]))
        v++;
    size_t end = n;
    for (size_t k = v; k < n; k++)
        if (!is_value_char((unsigned char)s[k]))
            return bad(e, "header value contains a NUL, CR, LF or control character");
    while (end > v && is_ows(s[end - 1]))
        end--;
    s[end] = '\0';
    h->headers[h->nheaders++] = (http_header_field){s, s + v};
    return HTTP_HEAD_COMPLETE;
}

static bool parse_decimal(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Does the comma-separated list contain token (case-insensitive)? */
static bool list_has(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ',' || is_ows(*p))
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && is_ows(p[m - 1]))
            m--;
        if (m == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p += n;
    }
    return false;
}

/* RFC 9112 §6: one way to frame the body, or a refusal. */
static int derive_framing(http_head *h, http_head_error *e)
{
    size_t hosts = http_head_count(h, "Host");
    if (hosts > 1)
        return bad(e, "more than one Host header");
    if (hosts == 0 && h->minor == 1)
        return bad(e, "HTTP/1.1 request without a Host header");

    size_t te = http_head_count(h, "Transfer-Encoding");
    size_t cl = http_head_count(h, "Content-Length");
    if (te) {
        if (h->minor == 0)
            return bad(e, "Transfer-Encoding in an HTTP/1.0 request");
        if (cl)
            return bad(e, "both Transfer-Encoding and Content-Length");
        if (te > 1 || strcasecmp(http_head_get(h, "Transfer-Encoding"), "chunked") != 0)
            return refuse(e, 501, "not_implemented",
                          "only Transfer-Encoding: chunked is supported");
        h->chunked = true;
    } else if (cl > 1) {
        return bad(e, "more than one Content-Length header");
    } else if (cl == 1) {
        if (!parse_decimal(http_head_get(h, "Content-Length"), &h->content_length))
            return bad(e, "Content-Length is not a decimal number of bytes");
        h->has_length = true;
    }

    h->keep_alive = h->minor == 1;
    for (size_t i = 0; i < h->nheaders; i++) {
        if (strcasecmp(h->headers[i].name, "Connection") != 0)
            continue;
        if (list_has(h->headers[i].value, "keep-alive"))
            h->keep_alive = true;
        if (list_has(h->headers[i].value, "close")) {
            h->keep_alive = false;
            break;
        }
    }
    const char *expect = http_head_get(h, "Expect");
    h->expect_continue = h->minor == 1 && expect && strcasecmp(expect, "100-continue") == 0;
    return HTTP_HEAD_COMPLETE;
}

int http_head_parse(char *buf, size_t len, http_head *h, http_head_error *e)
{
    size_t p = 0;
    while (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n')
        p += 2;
    size_t end = http_head_end(buf, len, p);
    if (!end) {
        if (len < HTTP_HEAD_MAX)
            return HTTP_HEAD_INCOMPLETE;
        if (!memchr(buf + p, '\n', len - p))
            return refuse(e, 414, "uri_too_long", "request line longer than the head limit");
        return refuse(e, 431, "headers_too_large", "request head larger than 16384 bytes");
    }
    if (end - p > HTTP_HEAD_MAX)
        return refuse(e, 431, "headers_too_large", "request head larger than 16384 bytes");

    memset(h, 0, sizeof(*h));
    char *s = buf + p;
    const char *stop = buf + end;
    long n = line_length(s, stop);
    if (n <= 0)
        return bad(e, n < 0 ? "request line not terminated by CRLF" : "empty request line");
    if (memchr(s, '\r', (size_t)n))
        return bad(e, "bare CR in the request line");
    int rc = parse_request_line(s, (size_t)n, h, e);
    if (rc != HTTP_HEAD_COMPLETE)
        return rc;
    if ((rc = split_target(h, e)) != HTTP_HEAD_COMPLETE)
        return rc;
    s += n + 2;
    for (;;) {
        n = line_length(s, stop);
        if (n < 0)
            return bad(e, "header line not terminated by CRLF");
        if (n == 0)
            break;
        if ((rc = parse_header_line(s, (size_t)n, h, e)) != HTTP_HEAD_COMPLETE)
            return rc;
        s += n + 2;
    }
    h->length = (size_t)(s + 2 - buf);
    return derive_framing(h, e);
}
