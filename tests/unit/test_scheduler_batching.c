/*
 * Continuous batching in the scheduler: with an engine that has batch ops, jobs of different
 * requests join one batch between steps and leave when finished, failed, timed out or cancelled,
 * without disturbing the others; a job waits in the queue (and its wait is counted as queue
 * time) while the engine has no room; an engine that cannot batch yet falls back to predict.
 * A fake batching engine makes the schedule observable; the Kronos engine (golden mini weights)
 * shows that jobs batched this way get the forecasts they get alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "engine/kronos/kronos_engine.h"
#include "engine/scheduler.h"
#include "kronos_test_util.h"
#include "test_scheduler_fake_engine.h"

/* ---- a fake batching engine: a job is series[0].sampling.seed steps of step_ms each ---- */

#define MAX_JOBS 64

typedef struct bjob {
    void *tag;
    int id, steps_left, first_step, last_step;
    engine_forecast *out;
    const engine_series *series;
    size_t n;
    engine_cancel *cancel;
    int status;
} bjob;

typedef struct bengine {
    engine base;
    int capacity, step_ms;
    atomic_int loaded, predicts, max_jobs, steps, seen_cancel;
    /* per id: first and last step it took part in (filled when it leaves) */
    atomic_int first[FAKE_MAX_IDS], last[FAKE_MAX_IDS];
} bengine;

struct engine_batch {
    bengine *e;
    bjob jobs[MAX_JOBS];
    int njobs, nsteps;
    bjob done[MAX_JOBS];
    int ndone;
};

static int b_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                     engine_cancel *cancel, char *err, size_t errlen)
{
    (void)cancel;
    bengine *b = (bengine *)e;
    atomic_fetch_add(&b->predicts, 1);
    for (size_t i = 0; i < n; i++) {
        out[i].pred_len = series[i].pred_len;
        out[i].sample_count = 1;
        out[i].mean = calloc(series[i].pred_len * ENGINE_FEATURES, sizeof(float));
        out[i].samples = calloc(series[i].pred_len * ENGINE_FEATURES, sizeof(float));
    }
    (void)err;
    (void)errlen;
    return ENGINE_OK;
}

static void b_destroy(engine *e)
{
    free(e);
}

static engine_batch *b_open(engine *e)
{
    bengine *b = (bengine *)e;
    if (!atomic_load(&b->loaded))
        return NULL;
    engine_batch *x = calloc(1, sizeof(*x));
    x->e = b;
    return x;
}

static void b_close(engine_batch *x)
{
    free(x);
}

static int b_add(engine_batch *x, const engine_series *series, size_t n, engine_forecast *out,
                 engine_cancel *cancel, void *tag, char *err, size_t errlen)
{
    if (series[0].sampling.top_p < 0) {
        snprintf(err, errlen, "fake refusal");
        return ENGINE_ERROR;
    }
    if (x->njobs >= x->e->capacity || x->njobs >= MAX_JOBS)
        return ENGINE_BUSY;
    x->jobs[x->njobs++] = (bjob){
        tag, (int)series[0].x[F_OPEN], (int)series[0].sampling.seed, -1, -1, out, series, n, cancel,
        -1};
    return ENGINE_OK;
}

static void leave(engine_batch *x, int i, int status)
{
    bjob *j = &x->jobs[i];
    j->status = status;
    if (j->id >= 0 && j->id < FAKE_MAX_IDS) {
        atomic_store(&x->e->first[j->id], j->first_step);
        atomic_store(&x->e->last[j->id], j->last_step);
    }
    x->done[x->ndone++] = *j;
    x->jobs[i] = x->jobs[--x->njobs];
}

static int b_step(engine_batch *x)
{
    for (int i = x->njobs - 1; i >= 0; i--)
        if (engine_is_cancelled(x->jobs[i].cancel)) {
            atomic_fetch_add(&x->e->seen_cancel, 1);
            leave(x, i, ENGINE_CANCELLED);
        }
    if (x->njobs == 0)
        return 0;
    int max = atomic_load(&x->e->max_jobs);
    if (x->njobs > max)
        atomic_store(&x->e->max_jobs, x->njobs);
    fake_sleep_ms(x->e->step_ms);
    int step = x->nsteps++, rows = x->njobs;
    atomic_fetch_add(&x->e->steps, 1);
    for (int i = x->njobs - 1; i >= 0; i--) {
        bjob *j = &x->jobs[i];
        if (j->first_step < 0)
            j->first_step = step;
        j->last_step = step;
        if (--j->steps_left > 0)
            continue;
        for (size_t k = 0; k < j->n; k++) {
            size_t m = j->series[k].pred_len * ENGINE_FEATURES;
            j->out[k].pred_len = j->series[k].pred_len;
            j->out[k].sample_count = 1;
            j->out[k].mean = malloc(m * sizeof(float));
            j->out[k].samples = malloc(m * sizeof(float));
            for (size_t v = 0; v < m; v++)
                j->out[k].mean[v] = j->out[k].samples[v] = (float)j->id;
        }
        leave(x, i, ENGINE_OK);
    }
    return rows;
}

static void *b_take(engine_batch *x, int *status, char *err, size_t errlen)
{
    if (x->ndone == 0)
        return NULL;
    bjob j = x->done[--x->ndone];
    *status = j.status;
    snprintf(err, errlen, "%s", j.status == ENGINE_OK ? "" : "fake stop");
    return j.tag;
}

static int b_jobs(const engine_batch *x)
{
    return x->njobs;
}

static const engine_ops bops = {.predict = b_predict, .destroy = b_destroy};
static const engine_batch_ops bbatch = {b_open, b_close, b_add, b_step, b_take, b_jobs};

static bengine *bengine_new(int capacity, int step_ms)
{
    bengine *b = calloc(1, sizeof(*b));
    b->base.ops = &bops;
    b->base.batch = &bbatch;
    b->base.name = "fake-batch";
    b->capacity = capacity;
    b->step_ms = step_ms;
    atomic_store(&b->loaded, 1);
    return b;
}

/* ---- probes ---- */

typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    sched_outcome outcome;
    double queue_wait, inference, fired_at;
    bool started;
    float value;
    char err[128];
} probe;

static void on_done(sched_job *j, void *user)
{
    probe *p = user;
    pthread_mutex_lock(&p->mu);
    p->calls++;
    p->outcome = sched_job_outcome(j);
    p->queue_wait = sched_job_queue_wait_seconds(j);
    p->inference = sched_job_inference_seconds(j);
    p->started = sched_job_started(j);
    p->fired_at = fake_now();
    engine_forecast *f = sched_job_take_forecasts(j); /* as the product's callback does */
    p->value = f ? f[0].mean[0] : -1;
    for (size_t i = 0; f && i < sched_job_count(j); i++)
        engine_forecast_free(&f[i]);
    free(f);
    snprintf(p->err, sizeof p->err, "%s", sched_job_error(j));
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void probes_init(probe *p, int n)
{
    for (int i = 0; i < n; i++) {
        memset(&p[i], 0, sizeof p[i]);
        pthread_mutex_init(&p[i].mu, NULL);
        pthread_cond_init(&p[i].cv, NULL);
    }
}

static void probes_fini(probe *p, int n)
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_destroy(&p[i].mu);
        pthread_cond_destroy(&p[i].cv);
    }
}

/* Waits for done without a time limit that could fail under load: CTest's timeout is the bound;
 * how long it took is logged. */
static void wait_done(probe *p, const char *what)
{
    double t0 = fake_now();
    pthread_mutex_lock(&p->mu);
    while (p->calls == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    fprintf(stderr, "%s: done after %.3f s\n", what, fake_now() - t0);
}

static sched_job *job(int id, int steps, double timeout, probe *p, bool refuse)
{
    fake_input in;
    fake_input_init(&in, id, steps, 0, false);
    if (refuse)
        in.series.sampling.top_p = -1;
    sched_job *j = sched_job_create(&in.series, 1, timeout, on_done, p);
    assert_non_null(j);
    return j;
}

typedef struct passes {
    atomic_int calls, rows, most_jobs;
} passes;

static void on_pass(int rows, int jobs, void *user)
{
    passes *ps = user;
    atomic_fetch_add(&ps->calls, 1);
    atomic_fetch_add(&ps->rows, rows);
    if (jobs > atomic_load(&ps->most_jobs))
        atomic_store(&ps->most_jobs, jobs);
}

static void wait_steps(bengine *b, int at_least)
{
    while (atomic_load(&b->steps) < at_least)
        fake_sleep_ms(1);
}

/* ---- tests ---- */

static void jobs_join_and_leave_between_steps(void **state)
{
    (void)state;
    bengine *b = bengine_new(16, 2);
    scheduler *s = scheduler_create(&b->base, 1, 16);
    passes ps = {0};
    scheduler_set_pass_observer(s, on_pass, &ps);
    probe p[4];
    probes_init(p, 4);
    sched_job *j[4];
    j[0] = job(0, 60, 0, &p[0], false); /* long */
    assert_int_equal(scheduler_submit(s, j[0]), SCHED_SUBMITTED);
    wait_steps(b, 5);
    j[1] = job(1, 5, 0, &p[1], false); /* joins mid-flight, leaves early */
    assert_int_equal(scheduler_submit(s, j[1]), SCHED_SUBMITTED);
    wait_done(&p[1], "short job");
    j[2] = job(2, 10, 0, &p[2], false); /* joins after the first short one left */
    j[3] = job(3, 10, 0, &p[3], false);
    assert_int_equal(scheduler_submit(s, j[2]), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, j[3]), SCHED_SUBMITTED);
    for (int i = 0; i < 4; i++) {
        wait_done(&p[i], "job");
        assert_int_equal(p[i].outcome, SCHED_OK);
        assert_true(p[i].value == (float)i);
        assert_true(p[i].started);
        sched_job_release(j[i]);
    }
    /* the short jobs ran inside the long one's span, two or more jobs per step */
    for (int i = 1; i < 4; i++) {
        assert_true(atomic_load(&b->first[i]) > atomic_load(&b->first[0]));
        assert_true(atomic_load(&b->last[i]) < atomic_load(&b->last[0]));
    }
    assert_true(atomic_load(&b->max_jobs) >= 3);
    assert_true(atomic_load(&ps.most_jobs) >= 3);
    assert_int_equal(atomic_load(&ps.calls), atomic_load(&b->steps));
    assert_int_equal(atomic_load(&b->predicts), 0);
    while (scheduler_busy_workers(s) != 0) /* the worker leaves busy after its last job */
        fake_sleep_ms(1);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(p, 4);
}

static void full_engine_keeps_jobs_queued(void **state)
{
    (void)state;
    bengine *b = bengine_new(1, 2); /* room for one job at a time */
    scheduler *s = scheduler_create(&b->base, 1, 8);
    probe p[3];
    probes_init(p, 3);
    sched_job *j[3];
    for (int i = 0; i < 3; i++) {
        j[i] = job(i, 8, 0, &p[i], false);
        assert_int_equal(scheduler_submit(s, j[i]), SCHED_SUBMITTED);
    }
    for (int i = 0; i < 3; i++)
        wait_done(&p[i], "queued job");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].outcome, SCHED_OK);
        sched_job_release(j[i]);
    }
    /* one at a time, in order; each later job waited for the ones before (queue time) */
    assert_int_equal(atomic_load(&b->max_jobs), 1);
    assert_true(atomic_load(&b->first[1]) > atomic_load(&b->last[0]));
    assert_true(atomic_load(&b->first[2]) > atomic_load(&b->last[1]));
    fprintf(stderr, "queue waits %.3f %.3f %.3f s, inference %.3f %.3f %.3f s\n", p[0].queue_wait,
            p[1].queue_wait, p[2].queue_wait, p[0].inference, p[1].inference, p[2].inference);
    assert_true(p[2].queue_wait > p[0].queue_wait);
    assert_true(p[2].queue_wait >= p[0].inference);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(p, 3);
}

static void timeout_and_abandon_mid_batch(void **state)
{
    (void)state;
    bengine *b = bengine_new(16, 2);
    scheduler *s = scheduler_create(&b->base, 1, 16);
    probe p[3];
    probes_init(p, 3);
    sched_job *keep = job(0, 80, 0, &p[0], false);
    sched_job *late = job(1, 100000, 0.05, &p[1], false); /* its deadline passes mid-batch */
    sched_job *gone = job(2, 100000, 0, &p[2], false);    /* abandoned mid-batch */
    assert_int_equal(scheduler_submit(s, keep), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, late), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, gone), SCHED_SUBMITTED);
    wait_steps(b, 3);
    sched_job_abandon(gone);
    wait_done(&p[1], "timed-out job");
    wait_done(&p[2], "abandoned job");
    wait_done(&p[0], "kept job");
    assert_int_equal(p[1].outcome, SCHED_TIMEOUT);
    assert_true(p[1].started);
    assert_int_equal(p[2].outcome, SCHED_CANCELLED);
    assert_true(p[2].started);
    assert_int_equal(p[0].outcome, SCHED_OK);
    assert_true(p[0].value == 0.0f);
    /* the engine was told: both left the batch at a step boundary */
    while (atomic_load(&b->seen_cancel) < 2)
        fake_sleep_ms(1);
    assert_true(atomic_load(&b->last[1]) < atomic_load(&b->last[0]));
    assert_true(atomic_load(&b->last[2]) < atomic_load(&b->last[0]));
    sched_job_release(keep);
    sched_job_release(late);
    sched_job_release(gone);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(p, 3);
}

static void refused_job_fails_alone(void **state)
{
    (void)state;
    bengine *b = bengine_new(16, 1);
    scheduler *s = scheduler_create(&b->base, 1, 16);
    probe p[2];
    probes_init(p, 2);
    sched_job *bad = job(0, 3, 0, &p[0], true), *good = job(1, 3, 0, &p[1], false);
    assert_int_equal(scheduler_submit(s, bad), SCHED_SUBMITTED);
    assert_int_equal(scheduler_submit(s, good), SCHED_SUBMITTED);
    wait_done(&p[0], "refused job");
    wait_done(&p[1], "good job");
    assert_int_equal(p[0].outcome, SCHED_FAILED);
    assert_string_equal(p[0].err, "fake refusal");
    assert_int_equal(p[1].outcome, SCHED_OK);
    sched_job_release(bad);
    sched_job_release(good);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(p, 2);
}

static void engine_not_ready_falls_back_to_predict(void **state)
{
    (void)state;
    bengine *b = bengine_new(16, 1);
    atomic_store(&b->loaded, 0);
    scheduler *s = scheduler_create(&b->base, 1, 16);
    probe p;
    probes_init(&p, 1);
    sched_job *j = job(0, 3, 0, &p, false);
    assert_int_equal(scheduler_submit(s, j), SCHED_SUBMITTED);
    wait_done(&p, "job");
    assert_int_equal(p.outcome, SCHED_OK);
    assert_int_equal(atomic_load(&b->predicts), 1);
    sched_job_release(j);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(&p, 1);
}

static void shutdown_cancels_jobs_in_the_batch(void **state)
{
    (void)state;
    bengine *b = bengine_new(16, 2);
    scheduler *s = scheduler_create(&b->base, 1, 16);
    probe p[3];
    probes_init(p, 3);
    sched_job *j[3];
    for (int i = 0; i < 3; i++) {
        j[i] = job(i, 100000, 0, &p[i], false);
        assert_int_equal(scheduler_submit(s, j[i]), SCHED_SUBMITTED);
    }
    wait_steps(b, 2);
    scheduler_shutdown(s, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].calls, 1);
        assert_int_equal(p[i].outcome, SCHED_CANCELLED);
        sched_job_release(j[i]);
    }
    assert_int_equal(scheduler_busy_workers(s), 0);
    scheduler_destroy(s);
    b_destroy(&b->base);
    probes_fini(p, 3);
}

/* ---- the Kronos engine through the scheduler ---- */

#define SET KRONOS_GOLDEN_DIR "/mini"

typedef struct kseries {
    kst_file tr;
    engine_series se;
    engine_time *xt, *yt;
} kseries;

static void kseries_open(kseries *k, const char *c, int S, uint64_t seed)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), SET "/cases/%s/trace.safetensors", c);
    assert_int_equal(kst_open(&k->tr, path, err, sizeof(err)), 0);
    const kst_tensor *x = kst_find(&k->tr, "x_raw"), *xs = kst_find(&k->tr, "x_stamp"),
                     *ys = kst_find(&k->tr, "y_stamp");
    int T = (int)x->shape[0], P = (int)ys->shape[0];
    k->xt = calloc((size_t)T, sizeof(engine_time));
    k->yt = calloc((size_t)P, sizeof(engine_time));
    const int32_t *a = xs->data, *b = ys->data;
    for (int r = 0; r < T; r++)
        k->xt[r] = (engine_time){a[r * 5], a[r * 5 + 1], a[r * 5 + 2], a[r * 5 + 3], a[r * 5 + 4]};
    for (int r = 0; r < P; r++)
        k->yt[r] = (engine_time){b[r * 5], b[r * 5 + 1], b[r * 5 + 2], b[r * 5 + 3], b[r * 5 + 4]};
    engine_sampling smp =
        S == 1 ? (engine_sampling){1.0, 1, 1.0, 1, seed} : (engine_sampling){1.0, 0, 0.9, S, seed};
    k->se = (engine_series){(size_t)T, x->data, k->xt, (size_t)P, k->yt, smp, NULL};
}

static void kseries_close(kseries *k)
{
    free(k->xt);
    free(k->yt);
    kst_close(&k->tr);
}

typedef struct kprobe {
    probe p;
    engine_forecast *fc;
} kprobe;

static void on_kdone(sched_job *j, void *user)
{
    kprobe *k = user;
    if (sched_job_outcome(j) == SCHED_OK)
        k->fc = sched_job_take_forecasts(j);
    on_done(j, &k->p);
}

static void kronos_jobs_batched_equal_alone(void **state)
{
    (void)state;
    engine *e = kronos_engine_create(SET "/model", SET "/tokenizer", 128, 5.0, 2);
    char err[512];
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    enum { N = 6 };
    kseries ks[N];
    kseries_open(&ks[0], "b_partial", 1, 1); /* greedy, slides */
    kseries_open(&ks[1], "a_noslide", 2, 2); /* sampled */
    kseries_open(&ks[2], "c_slide", 1, 3);
    kseries_open(&ks[3], "b_partial", 3, 4); /* abandoned mid-batch */
    kseries_open(&ks[4], "a_noslide", 1, 5);
    kseries_open(&ks[5], "d_samples2", 2, 6);
    /* each alone */
    engine_forecast alone[N];
    for (int i = 0; i < N; i++) {
        memset(&alone[i], 0, sizeof(alone[i]));
        assert_int_equal(e->ops->predict(e, &ks[i].se, 1, &alone[i], NULL, err, sizeof(err)),
                         ENGINE_OK);
    }
    scheduler *s = scheduler_create(e, 1, 16);
    passes ps = {0};
    scheduler_set_pass_observer(s, on_pass, &ps);
    kprobe kp[N];
    sched_job *j[N];
    for (int i = 0; i < N; i++) {
        memset(&kp[i], 0, sizeof(kp[i]));
        probes_init(&kp[i].p, 1);
    }
    /* staggered: each joins after the batch has run some steps */
    for (int i = 0; i < N; i++) {
        j[i] = sched_job_create(&ks[i].se, 1, 0, on_kdone, &kp[i]);
        assert_int_equal(scheduler_submit(s, j[i]), SCHED_SUBMITTED);
        int target = atomic_load(&ps.calls) + 3;
        while (atomic_load(&ps.calls) < target && scheduler_busy_workers(s) > 0)
            fake_sleep_ms(1);
        if (i == 3) { /* let it run a few steps with the others, then hang up */
            target = atomic_load(&ps.calls) + 4;
            while (atomic_load(&ps.calls) < target)
                fake_sleep_ms(1);
            sched_job_abandon(j[3]);
        }
    }
    for (int i = 0; i < N; i++) {
        wait_done(&kp[i].p, "kronos job");
        if (i == 3) {
            assert_int_equal(kp[i].p.outcome, SCHED_CANCELLED);
            continue;
        }
        assert_int_equal(kp[i].p.outcome, SCHED_OK);
        const float *nstd = kst_find(&ks[i].tr, "norm_std")->data;
        for (size_t v = 0; v < ks[i].se.pred_len * 6; v++)
            if (!(fabs((double)kp[i].fc[0].mean[v] - alone[i].mean[v]) <=
                  1e-5 * fabs(alone[i].mean[v]) + 5e-5 * (nstd[v % 6] + 1e-5)))
                fail_msg("job %d value %zu: %.9g batched, %.9g alone", i, v, kp[i].fc[0].mean[v],
                         alone[i].mean[v]);
        engine_forecast_free(&kp[i].fc[0]);
        free(kp[i].fc);
    }
    fprintf(stderr, "%d steps, %d rows, up to %d jobs in one step\n", atomic_load(&ps.calls),
            atomic_load(&ps.rows), atomic_load(&ps.most_jobs));
    assert_true(atomic_load(&ps.most_jobs) >= 2);
    for (int i = 0; i < N; i++) {
        sched_job_release(j[i]);
        engine_forecast_free(&alone[i]);
        probes_fini(&kp[i].p, 1);
        kseries_close(&ks[i]);
    }
    scheduler_destroy(s);
    e->ops->destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jobs_join_and_leave_between_steps),
        cmocka_unit_test(full_engine_keeps_jobs_queued),
        cmocka_unit_test(timeout_and_abandon_mid_batch),
        cmocka_unit_test(refused_job_fails_alone),
        cmocka_unit_test(engine_not_ready_falls_back_to_predict),
        cmocka_unit_test(shutdown_cancels_jobs_in_the_batch),
        cmocka_unit_test(kronos_jobs_batched_equal_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
