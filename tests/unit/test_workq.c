#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "util/workq.h"

typedef struct counter {
    atomic_int ran, cancelled;
} counter;

static void count(void *arg, bool cancelled)
{
    counter *c = arg;
    atomic_fetch_add(cancelled ? &c->cancelled : &c->ran, 1);
}

/* Holds a pool thread until released. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
} gate;

static void wait_at_gate(void *arg, bool cancelled)
{
    (void)cancelled;
    gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = g->open = false;
}

static void gate_wait_entered(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* A queue of one thread holding `capacity` tasks, its thread held at the gate g (initialised). */
static workq *held_queue(size_t capacity, gate *g)
{
    workq *q = workq_create(1, capacity);
    assert_non_null(q);
    gate_init(g);
    assert_true(workq_push(q, wait_at_gate, g));
    gate_wait_entered(g);
    return q;
}

static void refuses_bad_arguments(void **state)
{
    (void)state;
    assert_null(workq_create(0, 4));
    assert_null(workq_create(1, 0));
    workq_destroy(NULL);
}

static void runs_every_task_once(void **state)
{
    (void)state;
    workq *q = workq_create(3, 1000);
    assert_non_null(q);
    counter c = {0};
    for (int i = 0; i < 1000; i++)
        assert_true(workq_push(q, count, &c));
    workq_stop(q);
    assert_int_equal(atomic_load(&c.ran) + atomic_load(&c.cancelled), 1000);
    assert_false(workq_push(q, count, &c)); /* stopped */
    workq_destroy(q);
}

static void full_queue_refuses(void **state)
{
    (void)state;
    gate g;
    workq *q = held_queue(2, &g); /* the only thread is busy: the queue holds 2 */
    counter c = {0};
    assert_true(workq_push(q, count, &c));
    assert_true(workq_push(q, count, &c));
    assert_int_equal(workq_depth(q), 2);
    assert_false(workq_push(q, count, &c));
    gate_open(&g);
    workq_destroy(q);
    assert_int_equal(atomic_load(&c.ran) + atomic_load(&c.cancelled), 2);
}

static void *stop_pool(void *q)
{
    workq_stop(q);
    return NULL;
}

/* Stopping hands the tasks still queued to their function, cancelled; the running one finishes. */
static void stop_cancels_queued_tasks(void **state)
{
    (void)state;
    gate g;
    workq *q = held_queue(100000, &g);
    counter c = {0};
    int queued = 0;
    for (; queued < 5; queued++)
        assert_true(workq_push(q, count, &c));
    pthread_t stopper;
    assert_int_equal(pthread_create(&stopper, NULL, stop_pool, q), 0);
    /* workq_stop waits for the running task: once pushes are refused, it has begun. */
    struct timespec ms = {0, 1000000L}; /* ample room: the queue never fills before the stop */
    while (workq_push(q, count, &c)) {
        queued++;
        nanosleep(&ms, NULL);
    }
    gate_open(&g);
    pthread_join(stopper, NULL);
    assert_int_equal(atomic_load(&c.cancelled), queued);
    assert_int_equal(atomic_load(&c.ran), 0);
    workq_stop(q); /* idempotent */
    workq_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_bad_arguments),
        cmocka_unit_test(runs_every_task_once),
        cmocka_unit_test(full_queue_refuses),
        cmocka_unit_test(stop_cancels_queued_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
