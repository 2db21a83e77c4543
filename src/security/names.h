#ifndef KRONOS_SECURITY_NAMES_H
#define KRONOS_SECURITY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/cidr.h"

/* A caller identity (container name, API key name, peer address text) is 1..128 characters of
 * [A-Za-z0-9._:-]: safe to log, to echo and to use as a metric label without escaping. */
#define SECURITY_NAME_MAX 128

bool security_name_valid(const char *s, size_t len);

/* The identity of a peer known only by its address: "localhost" for a loopback address
 * (127.0.0.0/8, ::1, mapped or not) inside `trusted` (KRONOS_TRUSTED_PROXIES), else the
 * canonical address text (dotted quad for IPv4 and mapped IPv4), loopback included: a loopback
 * peer nobody vouched for may be a same-host forwarder (Istio's 127.0.0.6) relaying anyone, so
 * it does not get the name the default whitelist admits. See docs/SECURITY.md. */
void security_peer_identity(const uint8_t addr[16], const cidr_list *trusted,
                            char out[SECURITY_NAME_MAX + 1]);

#endif
