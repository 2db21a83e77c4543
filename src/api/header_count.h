#ifndef KRONOS_API_HEADER_COUNT_H
#define KRONOS_API_HEADER_COUNT_H

/* Temporary: the HTTP layer will offer this in http/request.h; delete this file (and its
 * include in api/auth.c) when it does. */

#include <stddef.h>

#include "http/request.h"

/* How many header lines of the request have this name (case-insensitive). */
size_t http_header_count(http_request *r, const char *name);

#endif
