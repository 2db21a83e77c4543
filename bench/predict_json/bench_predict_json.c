/* Times predict_parse and predict_response_json on bodies at the SPEC limits; prints the
 * median of 7 runs and the throughput, so the JSON layer can be compared with inference. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/predict_request.h"
#include "api/predict_response.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap ? t->cap * 2 : 1 << 20;
        t->p = realloc(t->p, t->cap);
    }
}

static void item(text *t, int id, int rows, int pred, int samples, int quantiles)
{
    add(t, "{\"series_id\":\"S%d\",\"candles\":[", id);
    double price = 100;
    for (int i = 0; i < rows; i++) {
        double next = price * (1 + ((i * 7919 % 13) - 6) * 0.001);
        double hi = (price > next ? price : next) * 1.002,
               lo = (price < next ? price : next) * 0.998;
        add(t, "%s{\"open\":%.4f,\"high\":%.4f,\"low\":%.4f,\"close\":%.4f,\"volume\":%d}",
            i ? "," : "", price, hi, lo, next, 1000 + i % 97);
        price = next;
    }
    add(t, "],\"timestamps\":[");
    for (int i = 0; i < rows; i++)
        add(t, "%s\"2025-01-%02dT%02d:%02d:00Z\"", i ? "," : "", 1 + i / 1440, i / 60 % 24, i % 60);
    add(t, "],\"prediction_timestamps\":[");
    for (int i = 0; i < pred; i++)
        add(t, "%s\"2025-02-%02dT%02d:%02d:00Z\"", i ? "," : "", 1 + i / 1440, i / 60 % 24, i % 60);
    add(t, "],\"overrides\":{\"sample_count\":%d,\"seed\":1", samples);
    if (quantiles)
        add(t, ",\"quantiles\":[0.05,0.1,0.2,0.3,0.5,0.7,0.8,0.9,0.95]");
    add(t, "}}");
}

static void run(const char *name, bool batch, int items, int rows, int pred, int samples,
                int quantiles)
{
    text t = {0};
    if (batch)
        add(&t, "{\"items\":[");
    for (int i = 0; i < items; i++) {
        if (i)
            add(&t, ",");
        item(&t, i, rows, pred, samples, quantiles);
    }
    if (batch)
        add(&t, "]}");

    predict_limits lim = {
        .max_candles = 2048, .max_pred_len = 512, .max_batch_items = 64, .max_sample_count = 16};
    predict_defaults def = {.temperature = 1.0, .top_p = 0.9, .sample_count = 1};
    double parse[7], resp[7];
    size_t out_len = 0;
    for (int r = 0; r < 7; r++) {
        predict_request req;
        predict_error err;
        predict_error_init(&err);
        double t0 = now_ms();
        int st = predict_parse(t.p, t.len, batch, &lim, &def, &req, &err);
        parse[r] = now_ms() - t0;
        if (st != PREDICT_OK) {
            fprintf(stderr, "%s: %d %s\n", name, st, err.message);
            exit(1);
        }
        engine_forecast *fc = calloc(req.n, sizeof *fc);
        for (size_t i = 0; i < req.n; i++) {
            size_t n = (size_t)pred * ENGINE_FEATURES;
            fc[i].pred_len = (size_t)pred;
            fc[i].sample_count = samples;
            fc[i].mean = malloc(n * sizeof(float));
            fc[i].samples = malloc(n * (size_t)samples * sizeof(float));
            for (size_t k = 0; k < n; k++)
                fc[i].mean[k] = 100.0f + (float)(k % 17) * 0.37f;
            for (size_t k = 0; k < n * (size_t)samples; k++)
                fc[i].samples[k] = 100.0f + (float)(k * 7 % 31) * 0.29f;
        }
        t0 = now_ms();
        char *body = predict_response_json(&req, fc, "bench", "Kronos-small",
                                           "Kronos-Tokenizer-base", "baseline", &out_len, NULL);
        resp[r] = now_ms() - t0;
        free(body);
        for (size_t i = 0; i < req.n; i++)
            engine_forecast_free(&fc[i]);
        free(fc);
        predict_request_free(&req);
    }
    qsort(parse, 7, sizeof *parse, cmp);
    qsort(resp, 7, sizeof *resp, cmp);
    printf("%-34s request %7.2f MB  parse %8.2f ms (%6.1f MB/s)  response %7.2f MB in %8.2f ms\n",
           name, t.len / 1e6, parse[3], t.len / 1e3 / parse[3], out_len / 1e6, resp[3]);
    free(t.p);
}

int main(void)
{
    run("single 512 rows, pred 120", false, 1, 512, 120, 1, 0);
    run("single 2048 rows, pred 512", false, 1, 2048, 512, 1, 0);
    run("single 2048/512, 16 samples, 9 q", false, 1, 2048, 512, 16, 1);
    run("batch 64 x 1024 rows, pred 64", true, 64, 1024, 64, 1, 0);
    run("batch 64 x 256/512, 16 samples, 9 q", true, 64, 256, 512, 16, 1);
    return 0;
}
