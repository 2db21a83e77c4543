#include "engine/kronos/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct kr_pool {
    int nthreads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long generation;
    int stop;
    /* the current job */
    void (*fn)(void *, int, int);
    void *ctx;
    int n;
    atomic_int next;
    int active; /* helpers still working on this generation */
};

static void work(kr_pool *p, void (*fn)(void *, int, int), void *ctx, int n, int t)
{
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= n) return;
        fn(ctx, i, t);
    }
}

typedef struct helper_arg {
    kr_pool *p;
    int t;
} helper_arg;

static void *helper(void *arg)
{
    helper_arg ha = *(helper_arg *)arg;
    free(arg);
    kr_pool *p = ha.p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        void (*fn)(void *, int, int) = p->fn;
        void *ctx = p->ctx;
        int n = p->n;
        pthread_mutex_unlock(&p->mu);
        work(p, fn, ctx, n, ha.t);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

kr_pool *kr_pool_create(int threads)
{
    if (threads <= 1) return NULL;
    kr_pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->tids = calloc((size_t)threads, sizeof(pthread_t));
    if (!p->tids) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->nthreads = 1;
    for (int i = 0; i < threads - 1; i++) {
        helper_arg *ha = malloc(sizeof(*ha));
        if (!ha) break;
        *ha = (helper_arg){p, i + 1};
        if (pthread_create(&p->tids[i], NULL, helper, ha) != 0) {
            free(ha);
            break;
        }
        p->nthreads++;
    }
    if (p->nthreads == 1) {
        kr_pool_destroy(p);
        return NULL;
    }
    return p;
}

void kr_pool_destroy(kr_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1; i++)
        pthread_join(p->tids[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->tids);
    free(p);
}

int kr_pool_size(const kr_pool *p)
{
    return p ? p->nthreads : 1;
}

void kr_pool_run(kr_pool *p, int n, void (*fn)(void *ctx, int i, int t), void *ctx)
{
    if (!p || n <= 1) {
        for (int i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->active = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    work(p, fn, ctx, n, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
