#include "api/header_count.h"

#include <strings.h>

typedef struct header_tally {
    const char *name;
    size_t n;
} header_tally;

static enum MHD_Result count_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    header_tally *t = cls;
    if (key && strcasecmp(key, t->name) == 0)
        t->n++;
    return MHD_YES;
}

size_t http_header_count(http_request *r, const char *name)
{
    header_tally t = {name, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_one, &t);
    return t.n;
}
