/* Timing helpers shared by the C and C++ sides of the metrics benchmark (same code, same flags). */
#ifndef KRONOS_BENCH_METRICS_COMMON_H
#define KRONOS_BENCH_METRICS_COMMON_H

#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_REPEATS 7
#define BENCH_OPS 20000000L    /* hot-path operations per thread per repeat */
#define BENCH_LOOKUPS 2000000L /* labelled lookups per repeat */
#define BENCH_SERIES 10000     /* series for exposition and memory */
#define BENCH_EXPOSE_ROUNDS 20

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: per-op cost measured while the thread runs, so figures stay
 * comparable on a machine shared with other work; contention still shows (stalls burn CPU). */
static inline double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pins the calling thread to one CPU so the two threads of a contention run share no core. */
static inline void bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return v[n / 2];
}

static inline size_t bench_heap_in_use(void)
{
    return mallinfo2().uordblks;
}

/* 15 latency buckets as in kronos_request_duration_seconds; observations spread across them. */
static const double bench_buckets[15] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                         2,     5,    10,    30,   60,  120,  300};
#define BENCH_VALUES 64
static inline double bench_value(long i)
{
    /* a fixed pseudo-random walk over 0..400 s, identical on both sides */
    return (double)((i * 2654435761u) % 400000u) / 1000.0;
}

#endif
