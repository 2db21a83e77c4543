#ifndef KRONOS_CLOCK_H
#define KRONOS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_mono_ns(void);
uint64_t clock_real_ns(void);
/* Formats an epoch time as RFC 3339 UTC with milliseconds: 2025-10-14T10:30:15.123Z (24 chars). */
void clock_format_rfc3339_ms(uint64_t real_ns, char out[32]);

#endif
