#include "engine/kronos/kronos_jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kronos/batch.h"

#define RUNNING (-1)

/* One series of a job while its forecast is in the batch. */
typedef struct kseries {
    kr_item *item;
    kr_request q;
    kr_stamp *stamps; /* x then y */
    size_t bytes;     /* its forecast's working set, counted against the budget */
} kseries;

typedef struct kjob {
    struct kjob *next;
    void *tag;
    const engine_series *series;
    engine_forecast *out;
    engine_cancel *cancel;
    size_t n, admitted, finished;
    kseries *run;     /* [n]: the admitted series that have not finished */
    size_t out_bytes; /* the outputs of every series, held from admission until taken */
    int status;
    char err[256];
} kjob;

struct kr_jobs {
    kr_batch *b;
    const kr_tokenizer *tok;
    const kr_model *m;
    int M;
    size_t budget, used, running; /* running: series whose forecast is in the batch */
    kjob *head, *done;            /* jobs in, in order of arrival; jobs that left, not yet taken */
    int count;
};

kr_jobs *kr_jobs_open(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                      int threads, int max_rows, size_t budget)
{
    kr_jobs *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->b = kr_batch_create(tok, m, max_context, clip, threads, max_rows);
    if (!j->b) {
        free(j);
        return NULL;
    }
    j->tok = tok;
    j->m = m;
    j->M = max_context;
    j->budget = budget;
    return j;
}

size_t kr_series_out_bytes(const engine_series *s)
{
    return sizeof(float) * s->pred_len * ENGINE_FEATURES * (1 + (size_t)s->sampling.sample_count);
}

static size_t series_bytes(const kr_jobs *j, const engine_series *s)
{
    kr_shape sh = kr_shape_of(j->tok, j->m);
    return kr_item_bytes(&sh, j->M, (int)s->rows, (int)s->pred_len, s->sampling.sample_count) +
           sizeof(kr_stamp) * (s->rows + s->pred_len);
}

static bool fits(const kr_jobs *j, size_t bytes)
{
    return j->budget == 0 || j->used + bytes <= j->budget;
}

static void to_stamp(const engine_time *t, kr_stamp *s)
{
    s->f[KR_TIME_MINUTE] = t->minute;
    s->f[KR_TIME_HOUR] = t->hour;
    s->f[KR_TIME_WEEKDAY] = t->weekday;
    s->f[KR_TIME_DAY] = t->day;
    s->f[KR_TIME_MONTH] = t->month;
}

/* Stops a job: its forecasts leave the batch, its outputs are freed unless it finished. */
static void end_job(kr_jobs *j, kjob *jb, int status, const char *why)
{
    for (size_t i = 0; i < jb->n; i++) {
        kseries *r = &jb->run[i];
        if (r->item) {
            kr_batch_remove(j->b, r->item);
            j->used -= r->bytes;
            j->running--;
        }
        free(r->stamps);
        memset(r, 0, sizeof(*r));
        if (status != ENGINE_OK)
            engine_forecast_free(&jb->out[i]);
    }
    jb->status = status;
    if (why && !jb->err[0])
        snprintf(jb->err, sizeof(jb->err), "%s", why);
    kjob **pp = &j->head;
    while (*pp != jb)
        pp = &(*pp)->next;
    *pp = jb->next;
    jb->next = NULL;
    kjob **dp = &j->done;
    while (*dp)
        dp = &(*dp)->next;
    *dp = jb;
    j->count--;
}

/* Puts series i of the job into the batch. Returns false when the job failed. */
static bool admit_series(kr_jobs *j, kjob *jb, size_t i)
{
    const engine_series *se = &jb->series[i];
    kseries *r = &jb->run[i];
    int T = (int)se->rows, P = (int)se->pred_len, S = se->sampling.sample_count;
    r->bytes = series_bytes(j, se);
    r->stamps = malloc(sizeof(kr_stamp) * (se->rows + se->pred_len));
    engine_forecast *o = &jb->out[i];
    o->mean = malloc(sizeof(float) * se->pred_len * ENGINE_FEATURES);
    o->samples = malloc(sizeof(float) * se->pred_len * ENGINE_FEATURES * (size_t)S);
    if (!r->stamps || !o->mean || !o->samples) {
        end_job(j, jb, ENGINE_ERROR, "out of memory");
        return false;
    }
    o->pred_len = se->pred_len;
    o->sample_count = S;
    for (int t = 0; t < T; t++)
        to_stamp(&se->x_time[t], &r->stamps[t]);
    for (int t = 0; t < P; t++)
        to_stamp(&se->y_time[t], &r->stamps[T + t]);
    r->q = (kr_request){.T = T,
                        .x = se->x,
                        .x_stamp = r->stamps,
                        .P = P,
                        .y_stamp = r->stamps + T,
                        .temperature = se->sampling.temperature,
                        .top_k = se->sampling.top_k,
                        .top_p = se->sampling.top_p,
                        .S = S,
                        .seed = se->sampling.seed,
                        .phases = se->phases};
    kr_result res = {.mean = o->mean, .samples = o->samples};
    char why[200];
    r->item = kr_batch_add(j->b, &r->q, &res, jb->cancel, NULL, NULL, why, sizeof(why));
    if (!r->item) {
        end_job(j, jb, ENGINE_ERROR, why);
        return false;
    }
    j->used += r->bytes;
    j->running++;
    jb->admitted++;
    return true;
}

/* Admits waiting series in order of arrival while they fit (one always does when none runs). */
static void admit(kr_jobs *j)
{
    for (kjob *jb = j->head, *nx; jb; jb = nx) {
        nx = jb->next;
        while (jb->admitted < jb->n) {
            if (j->running > 0 && !fits(j, series_bytes(j, &jb->series[jb->admitted])))
                return; /* later jobs wait their turn */
            if (!admit_series(j, jb, jb->admitted))
                break;
        }
    }
}

int kr_jobs_add(kr_jobs *j, const engine_series *series, size_t n, engine_forecast *out,
                engine_cancel *cancel, void *tag, char *err, size_t errlen)
{
    if (n == 0 || !series || !out) {
        snprintf(err, errlen, "no series");
        return ENGINE_ERROR;
    }
    size_t out_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const engine_series *se = &series[i];
        if (se->rows < 1 || se->pred_len < 1 || se->rows > (1u << 20) ||
            se->pred_len > (1u << 20) || se->sampling.sample_count < 1 ||
            se->sampling.sample_count > 4096 || !se->x || !se->x_time || !se->y_time) {
            snprintf(err, errlen, "invalid series dimensions");
            return ENGINE_ERROR;
        }
        out_bytes += kr_series_out_bytes(se);
    }
    if (j->count > 0 && !fits(j, out_bytes + series_bytes(j, &series[0])))
        return ENGINE_BUSY;
    kjob *jb = calloc(1, sizeof(*jb));
    kseries *run = calloc(n, sizeof(*run));
    if (!jb || !run) {
        free(jb);
        free(run);
        snprintf(err, errlen, "out of memory");
        return ENGINE_ERROR;
    }
    *jb = (kjob){.tag = tag,
                 .series = series,
                 .out = out,
                 .cancel = cancel,
                 .n = n,
                 .run = run,
                 .out_bytes = out_bytes,
                 .status = RUNNING};
    kjob **pp = &j->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = jb;
    j->count++;
    j->used += out_bytes;
    admit(j);
    return ENGINE_OK;
}

int kr_jobs_step(kr_jobs *j)
{
    for (kjob *jb = j->head, *nx; jb; jb = nx) {
        nx = jb->next;
        if (engine_is_cancelled(jb->cancel))
            end_job(j, jb, ENGINE_CANCELLED, NULL);
    }
    admit(j);
    int rows = 0;
    if (j->head) {
        kr_batch_step(j->b);
        rows = kr_batch_last_rows(j->b);
    }
    for (kjob *jb = j->head, *nx; jb; jb = nx) {
        nx = jb->next;
        int failed = -1;
        for (size_t i = 0; i < jb->n && failed < 0; i++) {
            kseries *r = &jb->run[i];
            if (!r->item || kr_item_status(r->item) < 0)
                continue;
            int st = kr_item_status(r->item);
            if (st != ENGINE_OK) {
                failed = st;
                snprintf(jb->err, sizeof(jb->err), "%s", kr_item_error(r->item));
                break;
            }
            kr_batch_remove(j->b, r->item);
            j->used -= r->bytes;
            j->running--;
            free(r->stamps);
            memset(r, 0, sizeof(*r));
            jb->finished++;
        }
        if (failed >= 0)
            end_job(j, jb, failed, NULL);
        else if (jb->finished == jb->n)
            end_job(j, jb, ENGINE_OK, NULL);
    }
    admit(j);
    return rows;
}

void *kr_jobs_take(kr_jobs *j, int *status, char *err, size_t errlen)
{
    kjob *jb = j->done;
    if (!jb)
        return NULL;
    j->done = jb->next;
    j->used -= jb->out_bytes;
    void *tag = jb->tag;
    *status = jb->status;
    snprintf(err, errlen, "%s", jb->err);
    free(jb->run);
    free(jb);
    return tag;
}

int kr_jobs_count(const kr_jobs *j)
{
    return j->count;
}

void kr_jobs_close(kr_jobs *j)
{
    if (!j)
        return;
    while (j->head)
        end_job(j, j->head, ENGINE_CANCELLED, NULL);
    int st;
    char err[sizeof(((kjob *)0)->err)];
    while (kr_jobs_take(j, &st, err, sizeof(err)))
        ;
    kr_batch_destroy(j->b);
    free(j);
}
