#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/engine_host.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The host's state once it leaves `loading`, or `loading` after timeout_s (0: no limit). */
static engine_state wait_state(engine_host *h, double timeout_s)
{
    double until = now_s() + timeout_s;
    while (engine_host_state(h) == ENGINE_STATE_LOADING && (timeout_s <= 0 || now_s() < until))
        sleep_ms(2);
    return engine_host_state(h);
}

/* A fake engine whose load sleeps load_ms and then succeeds or fails. */
typedef struct fake_loader {
    engine base;
    int load_ms;
    bool fail;
} fake_loader;

static int fake_load(engine *e, char *err, size_t errlen)
{
    fake_loader *f = (fake_loader *)e;
    sleep_ms(f->load_ms);
    if (f->fail) {
        snprintf(err, errlen, "weights not found");
        return ENGINE_ERROR;
    }
    return ENGINE_OK;
}

static const engine_ops fake_loader_ops = {.load = fake_load};

static void fake_loader_init(fake_loader *f, int load_ms, bool fail)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &fake_loader_ops;
    f->base.name = "fake";
    f->load_ms = load_ms;
    f->fail = fail;
}

#define MAX_EVENTS 8

typedef struct events {
    pthread_mutex_t mu;
    int n;
    engine_state state[MAX_EVENTS];
    bool late[MAX_EVENTS];
    char reason[MAX_EVENTS][256];
    double secs[MAX_EVENTS];
    engine_state seen_by_getter[MAX_EVENTS];
} events;

static void on_change(engine_host *h, engine_state st, const char *reason, double secs, bool late,
                      void *user)
{
    events *ev = user;
    /* getters must not deadlock from inside the listener */
    engine_state now = engine_host_state(h);
    pthread_mutex_lock(&ev->mu);
    if (ev->n < MAX_EVENTS) {
        ev->state[ev->n] = st;
        ev->late[ev->n] = late;
        ev->secs[ev->n] = secs;
        ev->seen_by_getter[ev->n] = now;
        snprintf(ev->reason[ev->n], sizeof ev->reason[ev->n], "%s", reason);
        ev->n++;
    }
    pthread_mutex_unlock(&ev->mu);
}

static int events_count(events *ev)
{
    pthread_mutex_lock(&ev->mu);
    int n = ev->n;
    pthread_mutex_unlock(&ev->mu);
    return n;
}

static bool wait_events(events *ev, int n, double seconds)
{
    double until = now_s() + seconds;
    while (events_count(ev) < n && now_s() < until)
        sleep_ms(1);
    return events_count(ev) >= n;
}

static void fast_load_becomes_ready(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 10, false);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    engine_host *h = engine_host_start(&f.base, 5, on_change, &ev);
    assert_non_null(h);
    assert_ptr_equal(engine_host_engine(h), &f.base);
    assert_int_equal(wait_state(h, 5), ENGINE_STATE_READY);
    assert_true(engine_host_ready(h));
    assert_true(wait_events(&ev, 2, 5));
    assert_int_equal(ev.state[0], ENGINE_STATE_LOADING);
    assert_int_equal(ev.state[1], ENGINE_STATE_READY);
    assert_int_equal(ev.seen_by_getter[1], ENGINE_STATE_READY);
    assert_false(ev.late[1]);
    assert_string_equal(ev.reason[1], "");
    double secs = engine_host_load_seconds(h);
    assert_true(secs >= 0.009 && secs < 2);
    assert_true(ev.secs[1] == secs);
    char reason[64] = "x";
    engine_host_reason(h, reason, sizeof reason);
    assert_string_equal(reason, "");
    assert_string_equal(engine_state_name(engine_host_state(h)), "ready");
    engine_host_destroy(h);
    assert_int_equal(ev.n, 2);
}

static void failing_load_reports_the_reason(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 5, true);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    engine_host *h = engine_host_start(&f.base, 5, on_change, &ev);
    assert_int_equal(wait_state(h, 5), ENGINE_STATE_FAILED);
    assert_false(engine_host_ready(h));
    char reason[64];
    engine_host_reason(h, reason, sizeof reason);
    assert_string_equal(reason, "weights not found");
    assert_true(wait_events(&ev, 2, 5));
    assert_int_equal(ev.state[1], ENGINE_STATE_FAILED);
    assert_string_equal(ev.reason[1], "weights not found");
    assert_string_equal(engine_state_name(ENGINE_STATE_FAILED), "failed");
    engine_host_destroy(h);
}

static void slow_load_fails_at_the_timeout_then_reports_late_success(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 700, false);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    double t0 = now_s();
    engine_host *h = engine_host_start(&f.base, 0.1, on_change, &ev);
    assert_int_equal(engine_host_state(h), ENGINE_STATE_LOADING);
    assert_string_equal(engine_state_name(ENGINE_STATE_LOADING), "loading");
    assert_int_equal(wait_state(h, 5), ENGINE_STATE_FAILED);
    double failed_after = now_s() - t0;
    assert_true(failed_after >= 0.09 && failed_after < 0.5);
    char reason[128];
    engine_host_reason(h, reason, sizeof reason);
    assert_string_equal(reason, "model load did not finish within 0.1 s");
    assert_true(engine_host_load_seconds(h) >= 0.09); /* still counting */

    assert_true(wait_events(&ev, 3, 5));
    assert_int_equal(ev.state[1], ENGINE_STATE_FAILED);
    assert_false(ev.late[1]);
    assert_int_equal(ev.state[2], ENGINE_STATE_READY);
    assert_true(ev.late[2]);
    assert_non_null(strstr(ev.reason[2], "after the 0.1 s startup timeout"));
    assert_true(engine_host_ready(h));
    assert_true(engine_host_load_seconds(h) >= 0.69);
    engine_host_destroy(h);
}

static void slow_failing_load_keeps_the_engine_reason(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 300, true);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    engine_host *h = engine_host_start(&f.base, 0.05, on_change, &ev);
    assert_true(wait_events(&ev, 3, 5));
    assert_int_equal(ev.state[1], ENGINE_STATE_FAILED);
    assert_int_equal(ev.state[2], ENGINE_STATE_FAILED);
    assert_string_equal(ev.reason[2], "weights not found");
    engine_host_destroy(h);
}

static void no_timeout_waits_for_the_load(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 150, false);
    engine_host *h = engine_host_start(&f.base, 0, NULL, NULL);
    assert_int_equal(wait_state(h, 0.02), ENGINE_STATE_LOADING);
    assert_int_equal(wait_state(h, 0), ENGINE_STATE_READY);
    engine_host_destroy(h);
}

static void destroy_during_load_joins_cleanly(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 100, false);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    engine_host *h = engine_host_start(&f.base, 30, on_change, &ev);
    double t0 = now_s();
    engine_host_destroy(h); /* waits for the load, not for the 30 s timer */
    assert_true(now_s() - t0 < 5);
    assert_int_equal(ev.state[ev.n - 1], ENGINE_STATE_READY);
}

/* The host a stop left to its still-running loader; a global keeps it reachable for LSan. */
static engine_host *abandoned;

static void stop_during_load_returns_at_once_and_silences_the_listener(void **state)
{
    (void)state;
    static fake_loader f; /* the loader outlives this frame */
    fake_loader_init(&f, 400, false);
    static events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    abandoned = engine_host_start(&f.base, 30, on_change, &ev);
    assert_non_null(abandoned);
    assert_true(wait_events(&ev, 1, 5)); /* LOADING */
    double t0 = now_s();
    assert_false(engine_host_stop(abandoned)); /* still loading: not waited for */
    assert_true(now_s() - t0 < 0.2);
    sleep_ms(700); /* the load finishes now, after the stop */
    assert_int_equal(events_count(&ev), 1);
    assert_int_equal(engine_host_state(abandoned), ENGINE_STATE_READY);
}

static void stop_after_load_destroys_the_host(void **state)
{
    (void)state;
    fake_loader f;
    fake_loader_init(&f, 0, false);
    events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
    engine_host *h = engine_host_start(&f.base, 30, on_change, &ev);
    assert_int_equal(wait_state(h, 5), ENGINE_STATE_READY);
    double t0 = now_s();
    assert_true(engine_host_stop(h)); /* joined and freed; the 30 s timer does not hold it */
    assert_true(now_s() - t0 < 1);
    assert_int_equal(events_count(&ev), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fast_load_becomes_ready),
        cmocka_unit_test(failing_load_reports_the_reason),
        cmocka_unit_test(slow_load_fails_at_the_timeout_then_reports_late_success),
        cmocka_unit_test(slow_failing_load_keeps_the_engine_reason),
        cmocka_unit_test(no_timeout_waits_for_the_load),
        cmocka_unit_test(destroy_during_load_joins_cleanly),
        cmocka_unit_test(stop_during_load_returns_at_once_and_silences_the_listener),
        cmocka_unit_test(stop_after_load_destroys_the_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
