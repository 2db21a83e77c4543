/*
 * Closed-loop HTTP/1.1 load on a running kronosd over loopback, for whole-service comparisons.
 *
 * `--conns` client threads each hold one keep-alive connection and send, one after another, a
 * repeating mix of cheap requests (GET /v1/healthz, GET /v1/readyz, GET /v1/healthz twice more,
 * POST /v1/predict/single with 16 candles and 4 prediction points); `--scrapers` more threads
 * scrape GET /v1/metrics in a loop (alternating text and OpenMetrics, gzip allowed). After
 * `--warmup` seconds every answer's latency is kept for `--seconds` seconds, then one line is
 * printed:
 *   rps=<cheap answers/s> p50_us=… p99_us=… scrape_rps=… scrape_p50_us=… scrape_p99_us=…
 *   [cpu_us=<server CPU µs per answer>] errors=<non-200 answers or I/O failures>
 * cpu_us, printed with `--pid <kronosd's pid>`, is the server's user+system time over the
 * measured window divided by the answers in it: less sensitive to other work on a shared machine
 * than the rates.
 * Bounded: fixed threads, fixed duration, at most LG_MAX_SAMPLES latencies kept per thread
 * (percentiles over the kept ones; rates count every answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_SAMPLES (1u << 21)
#define LG_MAX_THREADS 64
#define LG_RESPONSE_MAX (8u << 20)

static struct in_addr g_addr;
static int g_port;
static atomic_int g_phase; /* 0 warm-up, 1 measuring, 2 stop */

struct worker {
    pthread_t th;
    bool scraper;
    float *lat_us;
    size_t n;
    unsigned long answers, errors;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    sa.sin_addr = g_addr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response (Content-Length framed); the HTTP status, or -1 on I/O or framing errors. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == cap)
            return -1;
        ssize_t r = recv(fd, buf + have, cap - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        end = memmem(buf, have, "\r\n\r\n", 4);
    }
    size_t head = (size_t)(end - buf) + 4;
    int status = 0;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    const char *cl = memmem(buf, head, "\r\nContent-Length:", 17);
    if (!cl)
        return -1;
    size_t body = strtoul(cl + 17, NULL, 10);
    if (body > cap - head)
        return -1;
    while (have < head + body) {
        ssize_t r = recv(fd, buf + have, head + body - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

static char g_predict[4096];

static void build_predict(void)
{
    char body[3072];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"series_id\":\"bench\",\"candles\":[");
    for (int i = 0; i < 16; i++) {
        double o = 100 + i * 0.5;
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"open\":%.2f,\"high\":%.2f,\"low\":%.2f,\"close\":%.2f,"
                              "\"volume\":10}",
                              i ? "," : "", o, o + 1, o - 1, o + 0.25);
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "],\"timestamps\":[");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"2025-10-14T10:%02d:00Z\"",
                              i ? "," : "", i);
    n += (size_t)snprintf(body + n, sizeof body - n, "],\"prediction_timestamps\":[");
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"2025-10-14T10:%02d:00Z\"",
                              i ? "," : "", 16 + i);
    n += (size_t)snprintf(body + n, sizeof body - n, "]}");
    snprintf(g_predict, sizeof g_predict,
             "POST /v1/predict/single HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             n, body);
}

static const char *const k_cheap[] = {
    "GET /v1/healthz HTTP/1.1\r\nHost: bench\r\n\r\n",
    "GET /v1/readyz HTTP/1.1\r\nHost: bench\r\n\r\n",
    "GET /v1/healthz HTTP/1.1\r\nHost: bench\r\n\r\n", NULL, /* the predict */
};
static const char *const k_scrape[] = {
    "GET /v1/metrics HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n",
    "GET /v1/metrics HTTP/1.1\r\nHost: bench\r\nAccept: application/openmetrics-text; "
    "version=1.0.0\r\nAccept-Encoding: gzip\r\n\r\n",
};

static void *run(void *arg)
{
    struct worker *w = arg;
    char *buf = malloc(LG_RESPONSE_MAX);
    int fd = -1;
    for (unsigned i = 0; buf && atomic_load(&g_phase) < 2; i++) {
        if (fd < 0 && (fd = dial()) < 0) {
            w->errors++;
            usleep(10000);
            continue;
        }
        const char *req = w->scraper ? k_scrape[i & 1] : k_cheap[i & 3];
        if (!req)
            req = g_predict;
        double t0 = now_s();
        int status = write_all(fd, req, strlen(req)) ? read_response(fd, buf, LG_RESPONSE_MAX) : -1;
        double us = (now_s() - t0) * 1e6;
        if (atomic_load(&g_phase) != 1) {
            if (status < 0) {
                close(fd);
                fd = -1;
            }
            continue;
        }
        if (status != 200)
            w->errors++;
        if (status < 0) {
            close(fd);
            fd = -1;
            continue;
        }
        w->answers++;
        if (w->n < LG_MAX_SAMPLES)
            w->lat_us[w->n++] = (float)us;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

/* User + system CPU seconds of a process so far, from /proc/<pid>/stat; -1 when unreadable. */
static double process_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Merges the latencies of the chosen kind of thread; sorted, count in *n. */
static float *merge(struct worker *w, int nw, bool scraper, size_t *n)
{
    size_t total = 0;
    for (int i = 0; i < nw; i++)
        if (w[i].scraper == scraper)
            total += w[i].n;
    float *all = malloc((total ? total : 1) * sizeof *all);
    *n = 0;
    for (int i = 0; all && i < nw; i++)
        if (w[i].scraper == scraper) {
            memcpy(all + *n, w[i].lat_us, w[i].n * sizeof *all);
            *n += w[i].n;
        }
    if (all)
        qsort(all, *n, sizeof *all, cmp_float);
    return all;
}

static double pct(const float *v, size_t n, double p)
{
    return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P [--host 127.0.0.1] [--conns 8] [--scrapers 1] "
                    "[--seconds 10] [--warmup 2] [--pid SERVER_PID]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int conns = 8, scrapers = 1, pid = 0;
    double seconds = 10, warmup = 2;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--port"))
            g_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host"))
            host = argv[++i];
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scrapers"))
            scrapers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atof(argv[++i]);
        else if (!strcmp(argv[i], "--pid"))
            pid = atoi(argv[++i]);
        else
            usage();
    }
    /* Loopback only: this tool must never load anything but a local test instance. */
    if (g_port <= 0 || inet_pton(AF_INET, host, &g_addr) != 1 ||
        (ntohl(g_addr.s_addr) >> 24) != 127 || conns < 1 || scrapers < 0 ||
        conns + scrapers > LG_MAX_THREADS || !(seconds > 0 && seconds <= 600) ||
        !(warmup >= 0 && warmup <= 60))
        usage();
    build_predict();
    int nw = conns + scrapers;
    struct worker w[LG_MAX_THREADS] = {0};
    for (int i = 0; i < nw; i++) {
        w[i].scraper = i >= conns;
        if (!(w[i].lat_us = malloc(LG_MAX_SAMPLES * sizeof(float))) ||
            pthread_create(&w[i].th, NULL, run, &w[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start thread %d\n", i);
            return 1;
        }
    }
    struct timespec ws = {(time_t)warmup, (long)((warmup - (double)(time_t)warmup) * 1e9)};
    nanosleep(&ws, NULL);
    atomic_store(&g_phase, 1);
    double t0 = now_s(), cpu0 = pid > 0 ? process_cpu(pid) : -1;
    struct timespec ms = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ms, NULL);
    atomic_store(&g_phase, 2);
    double elapsed = now_s() - t0, cpu1 = pid > 0 ? process_cpu(pid) : -1;
    unsigned long errors = 0, answers[2] = {0, 0};
    for (int i = 0; i < nw; i++) {
        pthread_join(w[i].th, NULL);
        errors += w[i].errors;
        answers[w[i].scraper] += w[i].answers;
    }
    size_t nc, ns;
    float *cheap = merge(w, nw, false, &nc);
    float *scrape = merge(w, nw, true, &ns);
    if (!cheap || !scrape)
        return 1;
    printf("rps=%.0f p50_us=%.0f p99_us=%.0f scrape_rps=%.1f scrape_p50_us=%.0f scrape_p99_us=%.0f",
           (double)answers[0] / elapsed, pct(cheap, nc, 0.5), pct(cheap, nc, 0.99),
           (double)answers[1] / elapsed, pct(scrape, ns, 0.5), pct(scrape, ns, 0.99));
    if (cpu0 >= 0 && cpu1 >= 0 && answers[0] + answers[1])
        printf(" cpu_us=%.1f", (cpu1 - cpu0) * 1e6 / (double)(answers[0] + answers[1]));
    printf(" errors=%lu\n", errors);
    free(cheap);
    free(scrape);
    for (int i = 0; i < nw; i++)
        free(w[i].lat_us);
    return errors ? 1 : 0;
}
