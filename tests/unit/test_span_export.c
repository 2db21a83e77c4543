/* The span exporter's queue and thread (labelled tsan): spans enqueued from several threads are
 * each either exported or counted dropped, never both, never lost; a full queue drops at once;
 * shutdown flushes to a live collector and gives up on a dead one within its time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "obs/service_metrics.h"
#include "obs/span.h"
#include "obs/span_export.h"
#include "util/clock.h"

static double counter(const char *name)
{
    strbuf sb;
    sb_init(&sb, 0);
    assert_int_equal(service_metrics_render(METRIC_FMT_TEXT, &sb), 0);
    double v = -1;
    size_t n = strlen(name);
    for (const char *p = sb.data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            v = strtod(p + n + 1, NULL);
    sb_free(&sb);
    return v;
}

#define THREADS 4
#define PER_THREAD 200

static void *producer(void *arg)
{
    (void)arg;
    trace_ctx t;
    trace_start(&t, NULL, NULL);
    for (int i = 0; i < PER_THREAD; i++) {
        span s;
        span_begin(&s, &t, NULL, "work", SPAN_KIND_INTERNAL, clock_mono_ns());
        span_int(&s, "i", i);
        span_end(&s, clock_mono_ns());
    }
    return NULL;
}

static void produce(void)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, producer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

/* A collector answering 200 to every request, on a thread. */
static int g_listen = -1;
static atomic_int g_requests;

static void *collector(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(g_listen, NULL, NULL);
        if (fd < 0)
            return NULL;
        char buf[65536];
        size_t got = 0;
        long want = -1;
        for (;;) {
            ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end && want < 0) {
                char *cl = strstr(buf, "Content-Length: ");
                want = (long)(end + 4 - buf) + (cl ? strtol(cl + 16, NULL, 10) : 0);
            }
            if (want >= 0 && (long)got >= want)
                break;
            if (got == sizeof(buf) - 1)
                got = 0, want = want >= 0 ? want - (long)(sizeof(buf) - 1) : want;
        }
        /* counted before the answer: once the exporter has its 200, the test may read the count */
        atomic_fetch_add(&g_requests, 1);
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        (void)!send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
        close(fd);
    }
}

static int listen_any(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return fd;
}

static void config_for(span_export_config *c, int port, size_t queue, size_t batch, double delay)
{
    memset(c, 0, sizeof(*c));
    char url[64], why[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", port);
    assert_int_equal(otlp_endpoint_parse(url, &c->endpoint, why, sizeof why), 0);
    c->timeout = 2;
    c->delay = delay;
    c->export_timeout = 30;
    c->queue_size = queue;
    c->batch_size = batch;
    otlp_resource_set(&c->resource, "service.name", "test");
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static void dead_collector_drops_everything(void **state)
{
    (void)state;
    int closed = listen_any(); /* bound, never listening: connections are refused */
    span_export_config c;
    config_for(&c, port_of(closed), 64, 16, 0.01);
    char err[128];
    assert_int_equal(span_export_start(&c, err, sizeof err), 0);
    produce();
    double t = clock_mono_seconds();
    span_export_shutdown(0.5);
    assert_true(clock_mono_seconds() - t < 2.0);
    assert_true(counter("kronos_trace_spans_dropped_total") == THREADS * PER_THREAD);
    assert_true(counter("kronos_trace_spans_exported_total") == 0);
    assert_true(counter("kronos_trace_export_failures_total") >= 1);
    close(closed);
}

static void live_collector_gets_everything_at_shutdown(void **state)
{
    (void)state;
    double dropped0 = counter("kronos_trace_spans_dropped_total");
    g_listen = listen_any();
    assert_int_equal(listen(g_listen, 16), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, collector, NULL), 0);
    span_export_config c;
    /* a queue for all of them and a delay longer than the test: only the flush sends */
    config_for(&c, port_of(g_listen), THREADS * PER_THREAD, 100, 600);
    char err[128];
    assert_int_equal(span_export_start(&c, err, sizeof err), 0);
    produce();
    span_export_shutdown(10);
    assert_true(counter("kronos_trace_spans_exported_total") == THREADS * PER_THREAD);
    assert_true(counter("kronos_trace_spans_dropped_total") == dropped0);
    assert_true(atomic_load(&g_requests) >= THREADS * PER_THREAD / 100);
    shutdown(g_listen, SHUT_RDWR);
    close(g_listen);
    pthread_join(th, NULL);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    trace_set_sampler(true, TRACE_SAMPLER_ALWAYS_ON, 1.0);
    return service_metrics_init(NULL, 0, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    service_metrics_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dead_collector_drops_everything),
        cmocka_unit_test(live_collector_gets_everything_at_shutdown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
