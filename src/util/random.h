#ifndef KRONOS_RANDOM_H
#define KRONOS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fast per-thread random numbers for identifiers (not for cryptography), seeded from getrandom. */
uint64_t random_u64(void);
/* Writes n random lowercase hex digits and a NUL; never all zeros. */
void random_hex(char *out, size_t n);

#endif
