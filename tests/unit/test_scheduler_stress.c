/* Random interleavings of submit, abandon, release, timeout, completion and shutdown. The
 * assertions are that done runs exactly once per accepted job and never for a refused one; the
 * sanitizer build checks that no job leaks or is freed twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/scheduler.h"
#include "test_scheduler_fake_engine.h"

#define SUBMITTERS 4
#define JOBS_PER_SUBMITTER 150
#define WORKERS 3
#define QUEUE 8

enum release_mode { RELEASE_AT_ONCE, RELEASE_IN_DONE, RELEASE_AFTER_DONE };

typedef struct stress_job {
    atomic_int calls;
    atomic_int outcome;
    int release_mode;
    int submit_rc;
    sched_job *job;
} stress_job;

typedef struct stress_run {
    scheduler *s;
    stress_job jobs[SUBMITTERS][JOBS_PER_SUBMITTER];
    atomic_bool stop_observer;
    atomic_int attempts;
    atomic_int bad_observations;
} stress_run;

static void stress_done(sched_job *j, void *user)
{
    stress_job *sj = user;
    atomic_store(&sj->outcome, (int)sched_job_outcome(j));
    if (sj->release_mode == RELEASE_IN_DONE)
        sched_job_release(j);
    atomic_fetch_add(&sj->calls, 1);
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

typedef struct submitter_arg {
    stress_run *run;
    int index;
} submitter_arg;

static void *submitter_main(void *p)
{
    submitter_arg *a = p;
    uint64_t rnd = 0x1234u + (uint64_t)a->index * 7919u;
    for (int i = 0; i < JOBS_PER_SUBMITTER; i++) {
        stress_job *sj = &a->run->jobs[a->index][i];
        atomic_fetch_add(&a->run->attempts, 1);
        fake_input in;
        int work = (int)(lcg(&rnd) % 4);
        int stubborn = lcg(&rnd) % 5 == 0 ? (int)(lcg(&rnd) % 3) : 0;
        int id = a->index * JOBS_PER_SUBMITTER + i;
        fake_input_init(&in, id, work, stubborn, lcg(&rnd) % 13 == 0);
        double timeout = lcg(&rnd) % 3 == 0 ? 0.001 + (double)(lcg(&rnd) % 20) / 1000.0 : 10.0;
        sj->release_mode = (int)(lcg(&rnd) % 3);
        sched_job *j = sched_job_create(&in.series, 1, timeout, stress_done, sj);
        sj->job = j;
        sj->submit_rc = scheduler_submit(a->run->s, j);
        if (sj->submit_rc != SCHED_SUBMITTED) {
            sched_job_release(j);
            continue;
        }
        /* a job released in done may be gone already: only the other modes may abandon */
        int action = sj->release_mode == RELEASE_IN_DONE ? 0 : (int)(lcg(&rnd) % 4);
        if (action == 1) {
            sched_job_abandon(j);
        } else if (action == 2) {
            fake_sleep_ms((double)(lcg(&rnd) % 3));
            sched_job_abandon(j);
        }
        if (sj->release_mode == RELEASE_AT_ONCE)
            sched_job_release(j);
        fake_sleep_ms((double)(lcg(&rnd) % 4)); /* more than the workers take: the queue fills */
    }
    return NULL;
}

static void *observer_main(void *p)
{
    stress_run *run = p;
    while (!atomic_load(&run->stop_observer)) {
        size_t d = scheduler_depth(run->s);
        int b = scheduler_busy_workers(run->s);
        if (d > QUEUE + WORKERS || b < 0 || b > WORKERS)
            atomic_fetch_add(&run->bad_observations, 1);
        fake_sleep_ms(0.2);
    }
    return NULL;
}

/* Waits for every accepted job's done, then releases the RELEASE_AFTER_DONE ones. */
static void settle(stress_run *run, int *accepted, int *refused)
{
    *accepted = *refused = 0;
    for (int t = 0; t < SUBMITTERS; t++) {
        for (int i = 0; i < JOBS_PER_SUBMITTER; i++) {
            stress_job *sj = &run->jobs[t][i];
            if (sj->submit_rc != SCHED_SUBMITTED) {
                assert_int_equal(atomic_load(&sj->calls), 0);
                (*refused)++;
                continue;
            }
            (*accepted)++;
            double t0 = fake_now(); /* no time limit: CTest's timeout is the bound */
            while (atomic_load(&sj->calls) == 0)
                fake_sleep_ms(1);
            if (fake_now() - t0 > 10)
                fprintf(stderr, "note: a job's done took %.3f s\n", fake_now() - t0);
            assert_int_equal(atomic_load(&sj->calls), 1);
            int oc = atomic_load(&sj->outcome);
            assert_true(oc >= SCHED_OK && oc <= SCHED_FAILED);
            if (sj->release_mode == RELEASE_AFTER_DONE)
                sched_job_release(sj->job);
        }
    }
}

static void run_submitters(stress_run *run)
{
    pthread_t th[SUBMITTERS];
    submitter_arg args[SUBMITTERS];
    for (int t = 0; t < SUBMITTERS; t++) {
        args[t] = (submitter_arg){run, t};
        pthread_create(&th[t], NULL, submitter_main, &args[t]);
    }
    for (int t = 0; t < SUBMITTERS; t++)
        pthread_join(th[t], NULL);
}

static void random_interleavings_call_done_exactly_once(void **state)
{
    (void)state;
    fake_engine *f = fake_engine_new();
    stress_run *run = calloc(1, sizeof *run);
    run->s = scheduler_create(&f->base, WORKERS, QUEUE);
    pthread_t obs;
    pthread_create(&obs, NULL, observer_main, run);
    run_submitters(run);
    int accepted, refused;
    settle(run, &accepted, &refused);
    atomic_store(&run->stop_observer, true);
    pthread_join(obs, NULL);
    assert_int_equal(atomic_load(&run->bad_observations), 0);
    assert_true(accepted > 0);
    assert_int_equal(accepted + refused, SUBMITTERS * JOBS_PER_SUBMITTER);
    /* nothing is left behind once every job is done */
    while (scheduler_depth(run->s) || scheduler_busy_workers(run->s))
        fake_sleep_ms(1);
    assert_int_equal(scheduler_depth(run->s), 0);
    assert_int_equal(scheduler_busy_workers(run->s), 0);
    scheduler_destroy(run->s);
    print_message("accepted %d, refused %d\n", accepted, refused);
    free(run);
    fake_destroy(&f->base);
}

/* A job refused at submit never has its done called. */
static void never_done(sched_job *j, void *user)
{
    (void)j;
    (void)user;
    fail_msg("done called for a job the closed scheduler refused");
}

typedef struct shutdown_arg {
    stress_run *run;
    int after_attempts;
} shutdown_arg;

static void *shutdown_main(void *p)
{
    shutdown_arg *a = p;
    while (atomic_load(&a->run->attempts) < a->after_attempts)
        fake_sleep_ms(0.1);
    scheduler_shutdown(a->run->s, 0.005);
    return NULL;
}

static void shutdown_under_load_calls_done_exactly_once(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        fake_engine *f = fake_engine_new();
        stress_run *run = calloc(1, sizeof *run);
        run->s = scheduler_create(&f->base, WORKERS, QUEUE);
        shutdown_arg sa = {run, 50 + 150 * round};
        pthread_t sh;
        pthread_create(&sh, NULL, shutdown_main, &sa);
        run_submitters(run);
        pthread_join(sh, NULL);
        int accepted, refused, closed = 0;
        settle(run, &accepted, &refused);
        for (int t = 0; t < SUBMITTERS; t++)
            for (int i = 0; i < JOBS_PER_SUBMITTER; i++)
                closed += run->jobs[t][i].submit_rc == SCHED_CLOSED;
        /* Whether some submitter raced past the shutdown depends on the box's load; a job
         * submitted now must be refused either way. */
        print_message("round %d: %d submissions refused as closed\n", round, closed);
        fake_input late;
        fake_input_init(&late, 999999, 0, 0, false);
        sched_job *lj = sched_job_create(&late.series, 1, 10.0, never_done, NULL);
        assert_non_null(lj);
        assert_int_equal(scheduler_submit(run->s, lj), SCHED_CLOSED);
        sched_job_release(lj);
        assert_int_equal(scheduler_busy_workers(run->s), 0);
        assert_int_equal(scheduler_depth(run->s), 0);
        scheduler_destroy(run->s);
        free(run);
        fake_destroy(&f->base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_interleavings_call_done_exactly_once),
        cmocka_unit_test(shutdown_under_load_calls_done_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
