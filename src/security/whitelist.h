#ifndef KRONOS_SECURITY_WHITELIST_H
#define KRONOS_SECURITY_WHITELIST_H

#include <stddef.h>

#include "security/cidr.h"

/* KRONOS_CONTAINER_WHITELIST: comma-separated identities, spaces around items ignored, empty
 * items skipped, duplicates dropped. Each item must be a valid identity (security/names.h).
 * An item that is an IP address is stored as the identity a peer with that address gets given
 * the trusted proxies (security_peer_identity: "127.0.0.1" -> "localhost" when 127.0.0.1 is
 * trusted, "::FFFF:10.0.0.1" -> "10.0.0.1", "2001:DB8::1" -> "2001:db8::1"), so it matches
 * callers identified by address. Matching is exact and case-sensitive. */
typedef struct whitelist {
    char **names;
    size_t n;
} whitelist;

int whitelist_parse(const char *csv, const cidr_list *trusted, whitelist *out, char *err,
                    size_t errlen);
void whitelist_free(whitelist *wl);

/* The stored entry equal to identity (stable for the list's lifetime), or NULL. */
const char *whitelist_find(const whitelist *wl, const char *identity);

#endif
