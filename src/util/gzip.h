#ifndef KRONOS_UTIL_GZIP_H
#define KRONOS_UTIL_GZIP_H

/* gzip for HTTP bodies: compressing answers, inflating uploads with a cap decided while inflating
 * (a small bomb is refused before it grows), and Accept-Encoding negotiation. */

#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#include "util/strbuf.h"

/* Does an Accept-Encoding value accept gzip (gzip, x-gzip or *, with q > 0)? */
bool gzip_accepted(const char *accept_encoding);

/* Appends the gzip of data[0..len) to out (level 1: answers are latency-bound and JSON compresses
 * well at any level). 0, or -1 when memory ran out. */
int gzip_compress(const void *data, size_t len, strbuf *out);

typedef struct gunzip {
    z_stream zs;
    bool ready;
    bool done;
    size_t limit;
} gunzip;

enum { GUNZIP_OK = 0, GUNZIP_TOO_LARGE = 1, GUNZIP_CORRUPT = -1 };

/* An inflater whose output may not exceed limit bytes. 0, or -1 when memory ran out. */
int gunzip_init(gunzip *g, size_t limit);
/* Inflates in[0..len), appending to out. GUNZIP_TOO_LARGE as soon as the output would pass the
 * limit; GUNZIP_CORRUPT for data that is not gzip (or bytes after its end). */
int gunzip_feed(gunzip *g, const void *in, size_t len, strbuf *out);
/* The gzip stream ended (its trailer checked). */
bool gunzip_done(const gunzip *g);
void gunzip_free(gunzip *g);

#endif
