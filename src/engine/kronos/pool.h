#ifndef KRONOS_POOL_H
#define KRONOS_POOL_H

/*
 * A tiny fork-join pool for one forecast: `threads - 1` helpers that sleep between jobs, and
 * the calling thread, which always takes part. A NULL pool (or one thread) runs inline.
 */

typedef struct kr_pool kr_pool;

kr_pool *kr_pool_create(int threads); /* NULL when threads <= 1 or on failure */
void kr_pool_destroy(kr_pool *p);
int kr_pool_size(const kr_pool *p); /* 1 for NULL */

/*
 * Runs fn(ctx, i, t) for i in [0, n) across the pool and returns when all are done; t < size
 * identifies the running thread (for per-thread scratch).
 */
void kr_pool_run(kr_pool *p, int n, void (*fn)(void *ctx, int i, int t), void *ctx);

#endif
