#ifndef KRONOS_SECURITY_NAMES_H
#define KRONOS_SECURITY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A caller identity (container name, API key name, peer address text) is 1..128 characters of
 * [A-Za-z0-9._:-]: safe to log, to echo and to use as a metric label without escaping. */
#define SECURITY_NAME_MAX 128

bool security_name_valid(const char *s, size_t len);

/* The identity of a peer known only by its address: "localhost" for loopback (127.0.0.0/8,
 * ::1, mapped or not), else the canonical address text (dotted quad for IPv4 and mapped IPv4). */
void security_identity_from_addr(const uint8_t addr[16], char out[SECURITY_NAME_MAX + 1]);

#endif
