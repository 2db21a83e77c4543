#include "util/workq.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct task {
    workq_fn fn;
    void *arg;
} task;

struct workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task *ring; /* [mu] capacity slots */
    size_t capacity, head, len;
    bool stopping; /* [mu] */
    bool joined;   /* [mu] */
    pthread_t *threads;
    unsigned nthreads;
};

static void *worker(void *arg)
{
    workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->len && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (!q->len)
            break; /* stopping, nothing left */
        task t = q->ring[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->len--;
        bool cancelled = q->stopping;
        pthread_mutex_unlock(&q->mu);
        t.fn(t.arg, cancelled);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

workq *workq_create(unsigned threads, size_t capacity)
{
    if (threads < 1 || capacity < 1)
        return NULL;
    workq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->ring = calloc(capacity, sizeof(*q->ring));
    q->threads = calloc(threads, sizeof(*q->threads));
    q->capacity = capacity;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (!q->ring || !q->threads) {
        workq_destroy(q);
        return NULL;
    }
    while (q->nthreads < threads && pthread_create(&q->threads[q->nthreads], NULL, worker, q) == 0)
        q->nthreads++;
    if (q->nthreads < threads) {
        workq_destroy(q);
        return NULL;
    }
    return q;
}

bool workq_push(workq *q, workq_fn fn, void *arg)
{
    pthread_mutex_lock(&q->mu);
    bool ok = !q->stopping && q->len < q->capacity;
    if (ok) {
        q->ring[(q->head + q->len) % q->capacity] = (task){fn, arg};
        q->len++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

size_t workq_depth(workq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void workq_stop(workq *q)
{
    pthread_mutex_lock(&q->mu);
    bool join = !q->joined;
    q->stopping = true;
    q->joined = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (!join)
        return;
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
}

void workq_destroy(workq *q)
{
    if (!q)
        return;
    workq_stop(q);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q->ring);
    free(q);
}
