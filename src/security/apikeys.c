#include "security/apikeys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/file.h"

typedef struct apikey {
    char name[APIKEYS_NAME_MAX + 1];
    unsigned char key[APIKEYS_KEY_MAX]; /* zero-padded */
    size_t keylen;
    int line;
} apikey;

struct apikeys {
    apikey *items;
    size_t n;
    unsigned file_mode; /* permission bits of the file read, 0 when parsed from memory */
};

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool key_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one trimmed, non-empty, non-comment line into k; returns NULL or what is wrong. */
static const char *parse_line(const char *s, size_t len, apikey *k)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return "expected name:key";
    size_t nlen = (size_t)(colon - s), klen = len - nlen - 1;
    if (nlen == 0 || nlen > APIKEYS_NAME_MAX)
        return "name must be 1-64 characters of [A-Za-z0-9._-]";
    for (size_t i = 0; i < nlen; i++)
        if (!name_char((unsigned char)s[i]))
            return "name must be 1-64 characters of [A-Za-z0-9._-]";
    if (klen < APIKEYS_KEY_MIN || klen > APIKEYS_KEY_MAX)
        return "key must be 16-256 characters long";
    for (size_t i = 0; i < klen; i++)
        if (!key_char((unsigned char)colon[1 + i]))
            return "key must be printable ASCII without spaces";
    memcpy(k->name, s, nlen);
    k->name[nlen] = '\0';
    memset(k->key, 0, sizeof(k->key));
    memcpy(k->key, colon + 1, klen);
    k->keylen = klen;
    return NULL;
}

static int fail(apikeys *set, char *err, size_t errlen, int line, const char *what)
{
    if (line > 0)
        snprintf(err, errlen, "line %d: %s", line, what);
    else
        snprintf(err, errlen, "%s", what);
    apikeys_free(set);
    return -1;
}

int apikeys_parse(const char *text, size_t len, apikeys **out, char *err, size_t errlen)
{
    *out = NULL;
    apikeys *set = calloc(1, sizeof(*set));
    if (!set)
        return fail(NULL, err, errlen, 0, "out of memory");
    if (memchr(text, '\0', len))
        return fail(set, err, errlen, 0, "file contains a NUL byte");

    size_t cap = 0;
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *s = text + pos;
        size_t n = end - pos;
        pos = end + 1;
        line++;
        while (n > 0 && is_blank((unsigned char)s[0]))
            s++, n--;
        while (n > 0 && is_blank((unsigned char)s[n - 1]))
            n--;
        if (n == 0 || s[0] == '#')
            continue;

        if (set->n == APIKEYS_MAX_KEYS)
            return fail(set, err, errlen, line, "too many keys (at most 1024)");
        if (set->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            apikey *grown = realloc(set->items, ncap * sizeof(*grown));
            if (!grown)
                return fail(set, err, errlen, line, "out of memory");
            set->items = grown;
            cap = ncap;
        }
        apikey *k = &set->items[set->n];
        const char *why = parse_line(s, n, k);
        if (why)
            return fail(set, err, errlen, line, why);
        k->line = line;
        set->n++;
        for (size_t i = 0; i + 1 < set->n; i++) {
            char msg[256];
            if (strcmp(set->items[i].name, k->name) == 0) {
                snprintf(msg, sizeof(msg), "duplicate name '%s' (first on line %d)", k->name,
                         set->items[i].line);
                return fail(set, err, errlen, line, msg);
            }
            if (set->items[i].keylen == k->keylen &&
                memcmp(set->items[i].key, k->key, k->keylen) == 0) {
                snprintf(msg, sizeof(msg), "key of '%s' is the same as the key of '%s' (line %d)",
                         k->name, set->items[i].name, set->items[i].line);
                return fail(set, err, errlen, line, msg);
            }
        }
    }
    if (set->n == 0)
        return fail(set, err, errlen, 0, "no keys (expected name:key lines)");
    *out = set;
    return 0;
}

int apikeys_load_file(const char *path, apikeys **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    int fd = file_open_regular(path, &st, err, errlen);
    if (fd < 0)
        return -1;
    if (st.st_mode & APIKEYS_MODE_REFUSED) {
        snprintf(err, errlen,
                 "%s: mode %04o lets %s the API keys; run chmod 600 on it (0640 or 0440 is "
                 "accepted when a group must read it)",
                 path, (unsigned)(st.st_mode & 07777),
                 st.st_mode & (S_IROTH | S_IWOTH) ? "other users read or change"
                                                  : "its group change");
        close(fd);
        return -1;
    }
    if (st.st_size > APIKEYS_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, APIKEYS_FILE_MAX);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);

    char why[320];
    int rc = apikeys_parse(buf, got, out, why, sizeof(why));
    explicit_bzero(buf, size + 1);
    free(buf);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    else
        (*out)->file_mode = (unsigned)(st.st_mode & 07777);
    return rc;
}

void apikeys_free(apikeys *k)
{
    if (!k)
        return;
    if (k->items) {
        explicit_bzero(k->items, k->n * sizeof(*k->items));
        free(k->items);
    }
    free(k);
}

unsigned apikeys_file_mode(const apikeys *k)
{
    return k ? k->file_mode : 0;
}

size_t apikeys_count(const apikeys *k)
{
    return k ? k->n : 0;
}

const char *apikeys_name_at(const apikeys *k, size_t i)
{
    return k && i < k->n ? k->items[i].name : NULL;
}

const char *apikeys_lookup(const apikeys *k, const char *key, size_t keylen)
{
    if (!k || !key || keylen == 0 || keylen > APIKEYS_KEY_MAX)
        return NULL;
    unsigned char padded[APIKEYS_KEY_MAX] = {0};
    memcpy(padded, key, keylen);

    size_t found = 0;
    uint32_t any = 0;
    for (size_t i = 0; i < k->n; i++) {
        const apikey *c = &k->items[i];
        uint32_t diff = (uint32_t)(c->keylen ^ keylen);
        for (size_t j = 0; j < APIKEYS_KEY_MAX; j++)
            diff |= (uint32_t)(c->key[j] ^ padded[j]);
        /* equal = 1 when diff == 0, without a branch on diff */
        uint32_t equal = ((diff | (0u - diff)) >> 31) ^ 1u;
        size_t mask = (size_t)0 - (size_t)equal;
        found = (found & ~mask) | (i & mask);
        any |= equal;
    }
    explicit_bzero(padded, sizeof(padded));
    return any ? k->items[found].name : NULL;
}
