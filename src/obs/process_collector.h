#ifndef KRONOS_OBS_PROCESS_COLLECTOR_H
#define KRONOS_OBS_PROCESS_COLLECTOR_H

/*
 * The standard process_* metrics, read from /proc/self at scrape time: process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds, process_threads; and kronos_memory_limit_bytes, the memory the
 * process may use (cgroup v2/v1 limit, else MemTotal: util/memlimit.h), so that an alert can
 * compare resident memory with the container's limit without cAdvisor.
 */

#include <stddef.h>

#include "obs/metrics.h"

/* 0 on success, -1 with a message in err (e.g. a family of that name already registered). */
int process_collector_register(struct metric_registry *r, char *err, size_t errlen);

#endif
