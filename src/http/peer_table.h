#ifndef KRONOS_HTTP_PEER_TABLE_H
#define KRONOS_HTTP_PEER_TABLE_H

/* Open connections per client address, for KRONOS_MAX_CONNECTIONS_PER_IP. Touched only when a
 * connection opens or closes, so a mutex is enough. */

#include <stdbool.h>
#include <stdint.h>

typedef struct peer_table peer_table;

peer_table *peer_table_create(void);
void peer_table_free(peer_table *t);
/* Takes a slot for addr (16 bytes, IPv6 or IPv4-mapped) unless it already holds `limit`. */
bool peer_table_acquire(peer_table *t, const uint8_t addr[16], unsigned limit);
void peer_table_release(peer_table *t, const uint8_t addr[16]);

#endif
