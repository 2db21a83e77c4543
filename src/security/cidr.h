#ifndef KRONOS_CIDR_H
#define KRONOS_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 network. IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) with
 * the prefix shifted by 96, so one comparison handles both families and mapped clients. */
typedef struct cidr_block {
    uint8_t addr[16];
    int prefix; /* 0..128, in the IPv6 space */
} cidr_block;

typedef struct cidr_list {
    cidr_block *blocks;
    size_t n;
} cidr_list;

/* Parses "a.b.c.d/n", "x::y/n" or a bare address (a host route). Returns 0, or -1 when malformed
 * (bad address, prefix out of range, host bits set below the prefix are allowed and masked). */
int cidr_parse(const char *s, cidr_block *out);

/* Parses a comma-separated list (spaces around items allowed, empty list allowed). On error
 * returns -1 and names the offending item in err. */
int cidr_list_parse(const char *csv, cidr_list *out, char *err, size_t errlen);
void cidr_list_free(cidr_list *l);

/* Converts a socket address (AF_INET or AF_INET6) to the 16-byte form; returns -1 for others. */
int cidr_addr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16]);
bool cidr_contains(const cidr_block *b, const uint8_t addr[16]);
bool cidr_list_contains(const cidr_list *l, const uint8_t addr[16]);

/* True for 127.0.0.0/8 (plain or IPv4-mapped) and ::1. */
bool cidr_addr_is_loopback(const uint8_t addr[16]);

/* Canonical text of an address: dotted quad for IPv4-mapped ones, RFC 5952 form for IPv6.
 * out needs CIDR_ADDR_TEXT_MAX bytes. */
#define CIDR_ADDR_TEXT_MAX 46
void cidr_addr_to_text(const uint8_t addr[16], char out[CIDR_ADDR_TEXT_MAX]);

#endif
