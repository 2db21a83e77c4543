#ifndef KRONOS_API_AUTH_H
#define KRONOS_API_AUTH_H

#include <stdbool.h>

#include "http/request.h"

/* Resolves the caller's identity (always, for logs and metrics) and, on secured routes,
 * applies the whitelist/API-key rules and the per-identity rate limit before the body is
 * read. When the caller is refused the error response is queued and false is returned. */
bool api_admit(http_request *r);

#endif
