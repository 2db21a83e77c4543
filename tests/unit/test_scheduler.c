#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/scheduler.h"
#include "test_scheduler_fake_engine.h"

/* Records done() calls; the test thread waits on it. */
typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    sched_outcome outcome;
    double fired_at;
    pthread_t thread;
    char err[128];
    double queue_wait, inference;
    bool started;
    /* optional re-entrant action run inside done */
    scheduler *resubmit_to;
    sched_job *chained;
    int chained_rc;
    size_t depth_seen;
} probe;

static void probe_init(probe *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

static void probe_fini(probe *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static void on_done(sched_job *j, void *user);

static void on_done(sched_job *j, void *user)
{
    probe *p = user;
    if (p->resubmit_to) {
        /* would deadlock if done ran under a lock that submit or depth take */
        p->depth_seen = scheduler_depth(p->resubmit_to);
        p->chained_rc = scheduler_submit(p->resubmit_to, p->chained);
    }
    pthread_mutex_lock(&p->mu);
    p->calls++;
    p->outcome = sched_job_outcome(j);
    p->fired_at = fake_now();
    p->thread = pthread_self();
    snprintf(p->err, sizeof p->err, "%s", sched_job_error(j));
    p->queue_wait = sched_job_queue_wait_seconds(j);
    p->inference = sched_job_inference_seconds(j);
    p->started = sched_job_started(j);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/*
 * Waits have no time limit that could fail on a loaded machine (CTest's timeout is the bound);
 * `expect` is how long the wait normally takes, and a longer one is logged with its duration.
 * Upper bounds on measured times are generous (GENEROUS seconds) and log the measured value;
 * lower bounds that follow from the scheduler's logic (a deadline cannot fire early) stay exact.
 */
#define GENEROUS 30.0

static void log_slow(const char *what, double t0, double expect)
{
    double took = fake_now() - t0;
    if (took > expect)
        fprintf(stderr, "note: %s took %.3f s (usually under %.1f s)\n", what, took, expect);
}

static bool probe_wait(probe *p, double expect)
{
    double t0 = fake_now();
    pthread_mutex_lock(&p->mu);
    while (p->calls == 0) {
        pthread_mutex_unlock(&p->mu);
        fake_sleep_ms(1);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    log_slow("done", t0, expect);
    return true;
}

static int probe_calls(probe *p)
{
    pthread_mutex_lock(&p->mu);
    int c = p->calls;
    pthread_mutex_unlock(&p->mu);
    return c;
}

static bool wait_until_int(atomic_int *v, int want, double expect)
{
    double t0 = fake_now();
    while (atomic_load(v) < want)
        fake_sleep_ms(1);
    log_slow("engine counter", t0, expect);
    return true;
}

static bool wait_busy(scheduler *s, int want, double expect)
{
    double t0 = fake_now();
    while (scheduler_busy_workers(s) != want)
        fake_sleep_ms(1);
    log_slow("busy workers", t0, expect);
    return true;
}

/* measured < bound, logging the measured value. */
static void assert_below(double measured, double bound, const char *what)
{
    fprintf(stderr, "%s: %.3f s\n", what, measured);
    assert_true(measured < bound);
}

static sched_job *make_job(int id, int work_ms, int stubborn_ms, bool fail, double timeout,
                           probe *p)
{
    fake_input in;
    fake_input_init(&in, id, work_ms, stubborn_ms, fail);
    sched_job *j = sched_job_create(&in.series, 1, timeout, on_done, p);
    assert_non_null(j);
    return j; /* the input is copied, so `in` may go */
}

static void completes_ok_with_results_and_timings(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 2, 4);
    assert_non_null(s);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(7, 30, 0, false, 10, &p);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_OK);
    assert_false(pthread_equal(p.thread, pthread_self()));
    assert_true(p.started);
    assert_true(p.inference >= 0.025);
    assert_true(p.queue_wait >= 0 && p.queue_wait < 1);
    assert_string_equal(p.err, "");
    assert_int_equal(sched_job_count(j), 1);
    engine_forecast *taken = sched_job_take_forecasts(j);
    assert_non_null(taken);
    assert_int_equal(taken[0].pred_len, 3);
    assert_true(taken[0].mean[3 * ENGINE_FEATURES - 1] == 7.0f);
    assert_null(sched_job_take_forecasts(j)); /* taken once */
    engine_forecast_free(&taken[0]);
    free(taken);
    sched_job_release(j);
    scheduler_destroy(s);
    assert_int_equal(p.calls, 1);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void job_owns_a_copy_of_its_series(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 1);
    probe p;
    probe_init(&p);
    fake_input *in = calloc(2, sizeof *in);
    fake_input_init(&in[0], 5, 1, 0, false);
    fake_input_init(&in[1], 6, 1, 0, false);
    engine_time *xt = calloc(2, sizeof *xt), *yt = calloc(4, sizeof *yt);
    xt[1].hour = 13;
    yt[3].month = 12;
    in[1].series.x_time = xt;
    in[1].series.y_time = yt;
    in[1].series.pred_len = 4;
    engine_series both[2] = {in[0].series, in[1].series};
    sched_job *j = sched_job_create(both, 2, 10, on_done, &p);
    assert_non_null(j);
    free(in); /* the sanitizer build would catch a use after free */
    free(xt);
    free(yt);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_OK);
    assert_int_equal(sched_job_count(j), 2);
    engine_forecast *fc = sched_job_take_forecasts(j);
    assert_int_equal(fc[1].pred_len, 4);
    assert_true(fc[1].mean[0] == 5.0f); /* the fake labels every series with the first's id */
    engine_forecast_free(&fc[0]);
    engine_forecast_free(&fc[1]);
    free(fc);
    sched_job_release(j);
    scheduler_destroy(s);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void engine_failure_is_reported(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 1);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 1, 0, true, 10, &p);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_FAILED);
    assert_string_equal(p.err, "fake failure");
    assert_null(sched_job_take_forecasts(j));
    sched_job_release(j);
    scheduler_destroy(s);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void full_queue_rejects_at_once(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 1);
    assert_int_equal(scheduler_capacity(s), 1);
    assert_int_equal(scheduler_workers(s), 1);
    probe pa, pb, pc;
    probe_init(&pa);
    probe_init(&pb);
    probe_init(&pc);
    sched_job *a = make_job(1, 300, 0, false, 10, &pa);
    sched_job *b = make_job(2, 1, 0, false, 10, &pb);
    sched_job *c = make_job(3, 1, 0, false, 10, &pc);
    assert_int_equal(scheduler_submit(s, a), SCHED_SUBMITTED);
    assert_true(wait_busy(s, 1, 5));
    assert_int_equal(scheduler_submit(s, b), SCHED_SUBMITTED);
    assert_int_equal(scheduler_depth(s), 1);
    double t0 = fake_now();
    assert_int_equal(scheduler_submit(s, c), SCHED_FULL);
    assert_below(fake_now() - t0, GENEROUS, "refusal of a submit to a full queue");
    assert_int_equal(scheduler_depth(s), 1);
    assert_true(probe_wait(&pa, 5));
    assert_true(probe_wait(&pb, 5));
    assert_int_equal(pa.outcome, SCHED_OK);
    assert_int_equal(pb.outcome, SCHED_OK);
    /* b waited behind a: it started only once a had finished */
    assert_true(pb.fired_at >= pa.fired_at);
    assert_true(pb.queue_wait > 0);
    fprintf(stderr, "b waited %.3f s behind a (%.3f s of work)\n", pb.queue_wait, pa.inference);
    assert_true(wait_busy(s, 0, 5));
    assert_int_equal(scheduler_depth(s), 0);
    sched_job_release(a);
    sched_job_release(b);
    sched_job_release(c); /* never submitted: no done, freed here */
    scheduler_destroy(s);
    assert_int_equal(probe_calls(&pc), 0);
    probe_fini(&pa);
    probe_fini(&pb);
    probe_fini(&pc);
    fake_destroy(&f->base);
}

static void timeout_cancels_cooperative_engine_and_frees_worker(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p, q;
    probe_init(&p);
    probe_init(&q);
    sched_job *j = make_job(1, 5000, 0, false, 0.1, &p);
    double t0 = fake_now();
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_TIMEOUT);
    assert_true(p.fired_at - t0 >= 0.099); /* never before the deadline */
    assert_below(p.fired_at - t0, GENEROUS, "timeout fired after");
    assert_true(p.started);
    /* queue wait and inference add up to the time from submit to the deadline firing */
    assert_true(p.queue_wait + p.inference >= 0.099);
    assert_below(p.inference, GENEROUS, "inference until the deadline");
    assert_null(sched_job_take_forecasts(j));
    assert_true(wait_until_int(&f->saw_cancel, 1, 2));
    assert_true(wait_busy(s, 0, 2));

    sched_job *k = make_job(2, 10, 0, false, 5, &q);
    double t1 = fake_now();
    assert_int_equal(scheduler_submit(s, k), SCHED_SUBMITTED);
    assert_true(probe_wait(&q, 5));
    assert_int_equal(q.outcome, SCHED_OK);
    assert_below(q.fired_at - t1, GENEROUS, "next job done after");
    sched_job_release(j);
    sched_job_release(k);
    scheduler_destroy(s);
    probe_fini(&p);
    probe_fini(&q);
    fake_destroy(&f->base);
}

static void timeout_fires_without_waiting_for_stubborn_engine(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p, q;
    probe_init(&p);
    probe_init(&q);
    /* ignores the token until the gate opens; the deadline is 100 ms */
    sched_job *j = make_job(1, 0, FAKE_UNTIL_GATE, false, 0.1, &p);
    double t0 = fake_now();
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    sched_job_release(j); /* the caller may go away early; done still fires once */
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_TIMEOUT);
    assert_below(p.fired_at - t0, GENEROUS, "timeout fired after");
    assert_int_equal(atomic_load(&f->finished), 0); /* the engine is still at it */
    assert_int_equal(scheduler_busy_workers(s), 1);
    atomic_store(&f->gate, 1);
    assert_true(wait_busy(s, 0, 5));
    assert_int_equal(atomic_load(&f->saw_cancel), 1);

    sched_job *k = make_job(2, 5, 0, false, 5, &q);
    assert_int_equal(scheduler_submit(s, k), SCHED_SUBMITTED);
    assert_true(probe_wait(&q, 5));
    assert_int_equal(q.outcome, SCHED_OK);
    sched_job_release(k);
    scheduler_destroy(s);
    assert_int_equal(p.calls, 1);
    probe_fini(&p);
    probe_fini(&q);
    fake_destroy(&f->base);
}

static void queued_job_past_deadline_never_runs(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe pa, pb;
    probe_init(&pa);
    probe_init(&pb);
    sched_job *a = make_job(1, 1000, 0, false, 10, &pa);
    sched_job *b = make_job(2, 5, 0, false, 0.1, &pb);
    assert_int_equal(scheduler_submit(s, a), SCHED_SUBMITTED);
    assert_true(wait_busy(s, 1, 5));
    double t0 = fake_now();
    assert_int_equal(scheduler_submit(s, b), SCHED_SUBMITTED);
    assert_true(probe_wait(&pb, 5));
    assert_int_equal(pb.outcome, SCHED_TIMEOUT);
    assert_below(pb.fired_at - t0, GENEROUS, "queued job timed out after");
    assert_false(pb.started);
    assert_true(pb.queue_wait >= 0.099);
    assert_true(pb.inference == 0);
    assert_int_equal(scheduler_depth(s), 0); /* removed, not left to clog the queue */
    assert_int_equal(probe_calls(&pa), 0);   /* a still running */
    assert_true(probe_wait(&pa, 5));
    assert_int_equal(pa.outcome, SCHED_OK);
    fake_sleep_ms(20);
    assert_int_equal(atomic_load(&f->ran[2]), 0);
    sched_job_release(a);
    sched_job_release(b);
    scheduler_destroy(s);
    probe_fini(&pa);
    probe_fini(&pb);
    fake_destroy(&f->base);
}

static void abandon_queued_job_drops_it(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe pa, pb;
    probe_init(&pa);
    probe_init(&pb);
    sched_job *a = make_job(1, 300, 0, false, 10, &pa);
    sched_job *b = make_job(2, 5, 0, false, 10, &pb);
    assert_int_equal(scheduler_submit(s, a), SCHED_SUBMITTED);
    assert_true(wait_busy(s, 1, 5));
    assert_int_equal(scheduler_submit(s, b), SCHED_SUBMITTED);
    sched_job_abandon(b);
    sched_job_release(b);
    assert_true(probe_wait(&pb, 5));
    assert_int_equal(pb.outcome, SCHED_CANCELLED);
    assert_false(pthread_equal(pb.thread, pthread_self()));
    assert_int_equal(probe_calls(&pa), 0);
    assert_int_equal(scheduler_depth(s), 0);
    assert_true(probe_wait(&pa, 5));
    assert_int_equal(pa.outcome, SCHED_OK);
    assert_int_equal(atomic_load(&f->ran[2]), 0);
    sched_job_release(a);
    scheduler_destroy(s);
    assert_int_equal(pb.calls, 1);
    probe_fini(&pa);
    probe_fini(&pb);
    fake_destroy(&f->base);
}

static void abandon_running_job_cancels_engine(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 5000, 0, false, 60, &p);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(wait_until_int(&f->started, 1, 5));
    double t0 = fake_now();
    sched_job_abandon(j);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_CANCELLED);
    assert_below(p.fired_at - t0, GENEROUS, "abandon fired after");
    assert_true(wait_busy(s, 0, 2));
    assert_int_equal(atomic_load(&f->saw_cancel), 1);
    sched_job_abandon(j); /* twice is harmless */
    sched_job_release(j);
    scheduler_destroy(s);
    assert_int_equal(p.calls, 1);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void abandon_after_done_calls_nothing_more(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 1, 0, false, 60, &p);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    sched_job_abandon(j);
    fake_sleep_ms(50);
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(sched_job_outcome(j), SCHED_OK);
    /* not taken: the release frees them (ASan's leak check holds it to that) */
    sched_job_release(j);
    scheduler_destroy(s);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void abandon_before_submit_never_runs(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 1, 0, false, 60, &p);
    sched_job_abandon(j);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    sched_job_release(j);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_CANCELLED);
    scheduler_destroy(s);
    assert_int_equal(atomic_load(&f->started), 0);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void done_may_call_back_into_the_scheduler(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 2);
    probe p, q;
    probe_init(&p);
    probe_init(&q);
    sched_job *second = make_job(2, 1, 0, false, 60, &q);
    p.resubmit_to = s;
    p.chained = second;
    p.chained_rc = 99;
    sched_job *first = make_job(1, 1, 0, false, 60, &p);
    assert_int_equal(scheduler_submit(s, first), SCHED_SUBMITTED);
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.chained_rc, SCHED_SUBMITTED);
    assert_true(probe_wait(&q, 5));
    assert_int_equal(q.outcome, SCHED_OK);
    sched_job_release(first);
    sched_job_release(second);
    scheduler_destroy(s);
    probe_fini(&p);
    probe_fini(&q);
    fake_destroy(&f->base);
}

static void shutdown_drains_within_grace_then_refuses(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 4);
    probe p[3];
    sched_job *j[3];
    for (int i = 0; i < 3; i++) {
        probe_init(&p[i]);
        j[i] = make_job(i + 1, 40, 0, false, 60, &p[i]);
        assert_int_equal(scheduler_submit(s, j[i]), SCHED_SUBMITTED);
    }
    scheduler_shutdown(s, 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].calls, 1);
        assert_int_equal(p[i].outcome, SCHED_OK);
    }
    probe extra;
    probe_init(&extra);
    sched_job *late = make_job(9, 1, 0, false, 60, &extra);
    assert_int_equal(scheduler_submit(s, late), SCHED_CLOSED);
    sched_job_release(late);
    scheduler_shutdown(s, 10); /* idempotent */
    scheduler_destroy(s);
    assert_int_equal(extra.calls, 0);
    for (int i = 0; i < 3; i++) {
        sched_job_release(j[i]);
        probe_fini(&p[i]);
    }
    probe_fini(&extra);
    fake_destroy(&f->base);
}

static void shutdown_cancels_what_grace_cannot_finish(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 4);
    probe pa, pb;
    probe_init(&pa);
    probe_init(&pb);
    sched_job *a = make_job(1, 5000, 0, false, 60, &pa);
    sched_job *b = make_job(2, 5000, 0, false, 60, &pb);
    assert_int_equal(scheduler_submit(s, a), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, b), SCHED_SUBMITTED);
    assert_true(wait_busy(s, 1, 5));
    double t0 = fake_now();
    scheduler_shutdown(s, 0.1);
    double took = fake_now() - t0;
    assert_true(took >= 0.09); /* the grace period is honoured */
    assert_below(took, GENEROUS, "shutdown with a 0.1 s grace");
    assert_int_equal(pa.calls, 1);
    assert_int_equal(pb.calls, 1);
    assert_int_equal(pa.outcome, SCHED_CANCELLED);
    assert_int_equal(pb.outcome, SCHED_CANCELLED);
    assert_int_equal(atomic_load(&f->ran[2]), 0);
    assert_int_equal(scheduler_busy_workers(s), 0);
    assert_int_equal(scheduler_depth(s), 0);
    sched_job_release(a);
    sched_job_release(b);
    scheduler_destroy(s);
    probe_fini(&pa);
    probe_fini(&pb);
    fake_destroy(&f->base);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    assert_null(scheduler_create(&f->base, 0, 4));
    assert_null(scheduler_create(&f->base, 1, -1));
    assert_null(scheduler_create(NULL, 1, 1));
    fake_input in;
    fake_input_init(&in, 1, 1, 0, false);
    assert_null(sched_job_create(&in.series, 0, 1, on_done, NULL));
    assert_null(sched_job_create(&in.series, 1, 1, NULL, NULL));
    in.series.rows = 0;
    assert_null(sched_job_create(&in.series, 1, 1, on_done, NULL));

    scheduler *s = scheduler_create(&f->base, 1, 1);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 1, 0, false, 10, &p);
    assert_int_equal(scheduler_submit(s, NULL), SCHED_INVALID);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, j), SCHED_INVALID); /* twice */
    assert_true(probe_wait(&p, 5));
    assert_int_equal(scheduler_submit(s, j), SCHED_INVALID);
    assert_string_equal(sched_outcome_name(sched_job_outcome(j)), "ok");
    assert_string_equal(sched_outcome_name(SCHED_TIMEOUT), "timeout");
    sched_job_release(j);
    scheduler_destroy(s);
    assert_int_equal(p.calls, 1);
    probe_fini(&p);
    fake_destroy(&f->base);
}

static void no_timeout_means_no_deadline(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    scheduler *s = scheduler_create(&f->base, 1, 0);
    probe p;
    probe_init(&p);
    sched_job *j = make_job(1, 50, 0, false, 0, &p);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED); /* an idle worker takes it */
    assert_true(probe_wait(&p, 5));
    assert_int_equal(p.outcome, SCHED_OK);
    sched_job_release(j);
    scheduler_destroy(s);
    probe_fini(&p);
    fake_destroy(&f->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(completes_ok_with_results_and_timings),
        cmocka_unit_test(job_owns_a_copy_of_its_series),
        cmocka_unit_test(engine_failure_is_reported),
        cmocka_unit_test(full_queue_rejects_at_once),
        cmocka_unit_test(timeout_cancels_cooperative_engine_and_frees_worker),
        cmocka_unit_test(timeout_fires_without_waiting_for_stubborn_engine),
        cmocka_unit_test(queued_job_past_deadline_never_runs),
        cmocka_unit_test(abandon_queued_job_drops_it),
        cmocka_unit_test(abandon_running_job_cancels_engine),
        cmocka_unit_test(abandon_after_done_calls_nothing_more),
        cmocka_unit_test(abandon_before_submit_never_runs),
        cmocka_unit_test(done_may_call_back_into_the_scheduler),
        cmocka_unit_test(shutdown_drains_within_grace_then_refuses),
        cmocka_unit_test(shutdown_cancels_what_grace_cannot_finish),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(no_timeout_means_no_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
