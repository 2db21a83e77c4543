#ifndef KRONOS_API_AUTH_H
#define KRONOS_API_AUTH_H

#include <stdbool.h>

#include "http/request.h"

/* Resolves the caller's identity and applies the security rules. When the caller is refused,
 * the error response is already queued and false is returned. */
bool api_authorize(http_request *r);

#endif
