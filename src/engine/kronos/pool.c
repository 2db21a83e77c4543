#include "engine/kronos/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Tasks are claimed from a ticket that carries the job's generation in its high half, so a
 * helper that wakes late can never run a task of a job that has already finished, and the
 * caller waits for completed tasks, not for helpers to check in: a descheduled helper costs
 * nothing when the caller has done its share. Both sides spin briefly before sleeping, since
 * a decode step dispatches every few tens of microseconds.
 */
#define SPIN_ROUNDS 2000

struct kr_pool {
    int nthreads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint generation;
    atomic_int stop;
    _Atomic uint64_t ticket; /* generation << 32 | next task */
    atomic_int completed;
    /* the current job, written under mu before generation is bumped */
    void (*fn)(void *, int, int);
    void *ctx;
    int n;
};

typedef struct helper_arg {
    kr_pool *p;
    int t;
} helper_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int claim(kr_pool *p, uint32_t gen, int n)
{
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen || (int)(uint32_t)t >= n)
            return -1;
        if (atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return (int)(uint32_t)t;
    }
}

static void work(kr_pool *p, uint32_t gen, void (*fn)(void *, int, int), void *ctx, int n, int t)
{
    int i;
    while ((i = claim(p, gen, n)) >= 0) {
        fn(ctx, i, t);
        if (atomic_fetch_add_explicit(&p->completed, 1, memory_order_acq_rel) + 1 == n) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *helper(void *arg)
{
    helper_arg ha = *(helper_arg *)arg;
    free(arg);
    kr_pool *p = ha.p;
    unsigned seen = 0;
    for (;;) {
        for (int s = 0;
             s < SPIN_ROUNDS && atomic_load(&p->generation) == seen && !atomic_load(&p->stop); s++)
            cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (atomic_load(&p->stop)) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        void (*fn)(void *, int, int) = p->fn;
        void *ctx = p->ctx;
        int n = p->n;
        pthread_mutex_unlock(&p->mu);
        work(p, seen, fn, ctx, n, ha.t);
    }
}

kr_pool *kr_pool_create(int threads)
{
    if (threads <= 1)
        return NULL;
    kr_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
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
        if (!ha)
            break;
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
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
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
    uint32_t gen = atomic_load(&p->generation) + 1;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->completed, 0);
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32, memory_order_release);
    atomic_store(&p->generation, gen);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    work(p, gen, fn, ctx, n, 0);
    for (int s = 0; s < SPIN_ROUNDS && atomic_load(&p->completed) < n; s++)
        cpu_relax();
    if (atomic_load(&p->completed) < n) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->completed) < n)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
