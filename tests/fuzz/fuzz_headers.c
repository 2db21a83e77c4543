/* libFuzzer target: request identity parsing (traceparent, X-Request-ID) and ISO 8601 times. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"
#include "util/iso8601.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char trace_id[33], parent[17];
    uint8_t flags;
    if (traceparent_parse(s, trace_id, parent, &flags) && strlen(trace_id) != 32)
        abort();
    (void)request_id_valid(s);
    iso_time t;
    if (iso8601_parse(s, size, &t) == 0 && (t.wall.month < 1 || t.wall.month > 12))
        abort();
    free(s);
    return 0;
}
