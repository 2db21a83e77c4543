#ifndef KRONOS_CLOCK_H
#define KRONOS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <time.h>

uint64_t clock_mono_ns(void);
/* Monotonic time in seconds, and such a time as an absolute timespec for a condition variable
 * made by clock_cond_init (capped far in the future). */
double clock_mono_seconds(void);
struct timespec clock_mono_timespec(double t);
/* A condition variable whose timed waits use CLOCK_MONOTONIC. 0 or -1. */
int clock_cond_init(pthread_cond_t *c);
uint64_t clock_real_ns(void);
/* Formats an epoch time as RFC 3339 UTC with milliseconds: 2025-10-14T10:30:15.123Z (24 chars). */
void clock_format_rfc3339_ms(uint64_t real_ns, char out[32]);

#endif
