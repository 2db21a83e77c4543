#include "obs/process_collector.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/memlimit.h"

enum { P_CPU, P_RSS, P_VSIZE, P_OPEN_FDS, P_MAX_FDS, P_START, P_THREADS, P_MEM_LIMIT, P_COUNT };

/* The latest readings, double bits; refreshed by one collect hook, read by the callbacks. */
static _Atomic uint64_t g_value[P_COUNT];

static void store(int i, double v)
{
    atomic_store_explicit(&g_value[i], metric_d2u(v), memory_order_relaxed);
}

static double read_value(void *arg)
{
    return metric_u2d(atomic_load_explicit(&g_value[(int)(intptr_t)arg], memory_order_relaxed));
}

static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    double btime = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lf", &btime) == 1)
            break;
    fclose(f);
    return btime;
}

static void read_stat(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may contain spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return;
    unsigned long utime, stime, vsize;
    long threads, rss;
    unsigned long long start;
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d "
               "%llu %lu %ld",
               &utime, &stime, &threads, &start, &vsize, &rss) != 6)
        return;
    double tick = (double)sysconf(_SC_CLK_TCK);
    struct rusage ru; /* microsecond resolution, where /proc/self/stat has clock ticks */
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        store(P_CPU, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    else
        store(P_CPU, (double)(utime + stime) / tick);
    store(P_THREADS, (double)threads);
    store(P_VSIZE, (double)vsize);
    store(P_RSS, (double)rss * (double)sysconf(_SC_PAGESIZE));
    store(P_START, boot_time() + (double)start / tick);
}

static void collect(void *arg)
{
    (void)arg;
    read_stat();
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long fds = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                fds++;
        closedir(d);
        store(P_OPEN_FDS, (double)fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        store(P_MAX_FDS, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    /* Read at every scrape: a container's limit can be resized while the process runs. */
    uint64_t limit;
    char source[256];
    if (memlimit_read("/", &limit, source, sizeof source) == 0)
        store(P_MEM_LIMIT, (double)limit);
}

int process_collector_register(struct metric_registry *r, char *err, size_t errlen)
{
    static const struct {
        const char *name, *help;
        enum metric_type type;
    } defs[P_COUNT] = {
        [P_CPU] = {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                   METRIC_COUNTER},
        [P_RSS] = {"process_resident_memory_bytes", "Resident memory size in bytes.", METRIC_GAUGE},
        [P_VSIZE] = {"process_virtual_memory_bytes", "Virtual memory size in bytes.", METRIC_GAUGE},
        [P_OPEN_FDS] = {"process_open_fds", "Number of open file descriptors.", METRIC_GAUGE},
        [P_MAX_FDS] = {"process_max_fds", "Maximum number of open file descriptors.", METRIC_GAUGE},
        [P_START] = {"process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.", METRIC_GAUGE},
        [P_THREADS] = {"process_threads", "Number of OS threads in the process.", METRIC_GAUGE},
        [P_MEM_LIMIT] = {"kronos_memory_limit_bytes",
                         "Memory this process may use in bytes: the lowest cgroup limit of its "
                         "cgroup and ancestors, else the machine's MemTotal.",
                         METRIC_GAUGE},
    };
    for (int i = 0; i < P_COUNT; i++) {
        struct metric_family_opts o = {
            .name = defs[i].name, .help = defs[i].help, .type = defs[i].type};
        struct metric_family *f = metric_registry_add(r, &o, err, errlen);
        struct metric *m = f ? metric_family_get(f, NULL) : NULL;
        if (!m || metric_set_callback(m, read_value, (void *)(intptr_t)i) != 0) {
            if (f && err && !m)
                snprintf(err, errlen, "%s: out of memory", defs[i].name);
            return -1;
        }
    }
    collect(NULL);
    return metric_registry_on_collect(r, collect, NULL);
}
