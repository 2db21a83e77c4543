#ifndef KRONOS_UTIL_WORKQ_H
#define KRONOS_UTIL_WORKQ_H

/* A fixed pool of threads running tasks from a bounded FIFO queue. Pushing never blocks: a full
 * queue refuses the task. Stopping refuses new tasks, hands every task still queued to its
 * function with cancelled=true (so each task runs exactly once and can release what it holds),
 * lets the running ones finish, and joins the threads. */

#include <stdbool.h>
#include <stddef.h>

typedef struct workq workq;
typedef void (*workq_fn)(void *arg, bool cancelled);

/* threads >= 1, capacity >= 1: tasks that may wait beyond those running. NULL on bad arguments,
 * or when memory or threads run out. */
workq *workq_create(unsigned threads, size_t capacity);
/* true: fn(arg, ...) will run once on a pool thread. false: the queue is full or stopped, and
 * fn will not run. */
bool workq_push(workq *q, workq_fn fn, void *arg);
/* Tasks waiting (not yet taken by a thread). */
size_t workq_depth(workq *q);
/* See above. Idempotent; must not be called from a task. */
void workq_stop(workq *q);
/* Stops if still running, then frees. NULL is fine. */
void workq_destroy(workq *q);

#endif
