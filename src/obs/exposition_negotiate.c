#include <stdlib.h>
#include <string.h>

#include "obs/exposition.h"

#define MAX_CLAUSES 32
#define TOKEN_MAX 64

struct clause {
    char type[TOKEN_MAX], subtype[TOKEN_MAX], version[TOKEN_MAX];
    double q;
    int order;
};

/* Copies [s, e) without surrounding spaces into out; false if it does not fit. */
static bool copy_trimmed(const char *s, const char *e, char *out)
{
    while (s < e && *s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    if ((size_t)(e - s) >= TOKEN_MAX)
        return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    return true;
}

/* Parses one comma-separated clause "type/subtype;k=v;..."; false to drop it. */
static bool parse_clause(const char *s, const char *e, struct clause *c)
{
    memset(c, 0, sizeof *c);
    c->q = 1.0;
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *range_end = semi ? semi : e;
    const char *slash = memchr(s, '/', (size_t)(range_end - s));
    if (!slash) {
        if (!copy_trimmed(s, range_end, c->type) || strcmp(c->type, "*") != 0)
            return false;
        strcpy(c->subtype, "*");
    } else {
        if (memchr(slash + 1, '/', (size_t)(range_end - slash - 1)))
            return false;
        if (!copy_trimmed(s, slash, c->type) || !copy_trimmed(slash + 1, range_end, c->subtype))
            return false;
    }
    for (const char *p = semi; p && p < e;) {
        const char *start = p + 1;
        const char *next = memchr(start, ';', (size_t)(e - start));
        const char *pend = next ? next : e;
        const char *eq = memchr(start, '=', (size_t)(pend - start));
        char key[TOKEN_MAX], val[TOKEN_MAX];
        if (eq && !memchr(eq + 1, '=', (size_t)(pend - eq - 1)) && copy_trimmed(start, eq, key) &&
            copy_trimmed(eq + 1, pend, val)) {
            if (strcmp(key, "q") == 0) {
                char *end;
                c->q = strtod(val, &end);
                if (*end || end == val || c->q != c->q)
                    c->q = 0; /* unparsable q reads as 0 */
            } else if (strcmp(key, "version") == 0) {
                strcpy(c->version, val);
            }
        }
        p = next;
    }
    return true;
}

/* Higher q first; at equal q, concrete types before wildcards; otherwise header order. */
static bool before(const struct clause *a, const struct clause *b)
{
    if (a->q != b->q)
        return a->q > b->q;
    bool aw = strcmp(a->type, "*") == 0, bw = strcmp(b->type, "*") == 0;
    if (aw != bw)
        return bw;
    aw = strcmp(a->subtype, "*") == 0, bw = strcmp(b->subtype, "*") == 0;
    if (aw != bw)
        return bw;
    return a->order < b->order;
}

enum metric_format metric_negotiate(const char *accept, const char **content_type)
{
    struct clause cl[MAX_CLAUSES];
    size_t n = 0;
    for (const char *s = accept; s && *s && n < MAX_CLAUSES;) {
        const char *comma = strchr(s, ',');
        const char *e = comma ? comma : s + strlen(s);
        if (parse_clause(s, e, &cl[n]) && cl[n].q > 0) {
            cl[n].order = (int)n;
            n++;
        }
        s = comma ? comma + 1 : e;
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable, n is small */
        struct clause c = cl[i];
        size_t j = i;
        for (; j > 0 && before(&c, &cl[j - 1]); j--)
            cl[j] = cl[j - 1];
        cl[j] = c;
    }
    enum metric_format fmt = METRIC_FMT_TEXT;
    for (size_t i = 0; i < n; i++) {
        const struct clause *c = &cl[i];
        const char *v = c->version;
        if (strcmp(c->type, "text") == 0 && strcmp(c->subtype, "plain") == 0 &&
            (!*v || strcmp(v, "0.0.4") == 0))
            break;
        if (strcmp(c->type, "application") == 0 && strcmp(c->subtype, "openmetrics-text") == 0 &&
            (!*v || strcmp(v, "1.0.0") == 0 || strcmp(v, "0.0.1") == 0)) {
            fmt = METRIC_FMT_OPENMETRICS;
            break;
        }
    }
    if (content_type)
        *content_type = fmt == METRIC_FMT_OPENMETRICS ? METRIC_CONTENT_TYPE_OPENMETRICS
                                                      : METRIC_CONTENT_TYPE_TEXT;
    return fmt;
}
