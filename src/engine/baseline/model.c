#include "engine/baseline/model.h"

#include <math.h>
#include <stdio.h>

/* Simulated prices are kept inside the range the engine accepts, so that a wild fit never
 * produces inf or 0; the clamp is monotone, so it preserves the OHLC ordering. */
static double clamp_price(double v)
{
    return v < BASELINE_PRICE_MIN   ? BASELINE_PRICE_MIN
           : v > BASELINE_PRICE_MAX ? BASELINE_PRICE_MAX
                                    : v;
}

static double maxd(double a, double b)
{
    return a > b ? a : b;
}

static double mind(double a, double b)
{
    return a < b ? a : b;
}

static bool valid_price(float v)
{
    return isfinite(v) && v > 0;
}

int baseline_fit(const float *x, size_t rows, size_t window, baseline_params *p, char *err,
                 size_t errlen)
{
    if (rows == 0) {
        snprintf(err, errlen, "empty history");
        return -1;
    }
    size_t first = window && window < rows ? rows - window : 0;
    size_t w = rows - first;

    double sum_r = 0, up = 0, down = 0, range2 = 0;
    for (size_t i = first; i < rows; i++) {
        const float *b = x + i * ENGINE_FEATURES;
        for (int f = F_OPEN; f <= F_CLOSE; f++) {
            if (!valid_price(b[f])) {
                snprintf(err, errlen, "candle %zu: price is not a finite positive number", i);
                return -1;
            }
        }
        double o = b[F_OPEN], h = b[F_HIGH], l = b[F_LOW], c = b[F_CLOSE];
        up += maxd(0, log(h / maxd(o, c)));
        down += maxd(0, log(mind(o, c) / l));
        double hl = log(maxd(h, l) / mind(h, l));
        range2 += hl * hl;
        if (i > first)
            sum_r += log(c / x[(i - 1) * ENGINE_FEATURES + F_CLOSE]);
    }
    size_t nr = w - 1;
    double mean_r = nr ? sum_r / (double)nr : 0;

    double sigma;
    if (nr >= 2) {
        double ss = 0;
        for (size_t i = first + 1; i < rows; i++) {
            double r =
                log(x[i * ENGINE_FEATURES + F_CLOSE] / x[(i - 1) * ENGINE_FEATURES + F_CLOSE]);
            ss += (r - mean_r) * (r - mean_r);
        }
        sigma = sqrt(ss / (double)(nr - 1));
    } else {
        /* too few returns: Parkinson's estimate from the bars' high/low ranges */
        sigma = sqrt(range2 / (double)w / (4.0 * log(2.0)));
    }

    double vol = 0;
    size_t vfirst = rows - (w < BASELINE_VOLUME_WINDOW ? w : BASELINE_VOLUME_WINDOW);
    bool has_amount = false;
    for (size_t i = first; i < rows; i++) {
        float a = x[i * ENGINE_FEATURES + F_AMOUNT];
        if (isfinite(a) && a > 0)
            has_amount = true;
    }
    for (size_t i = vfirst; i < rows; i++) {
        float v = x[i * ENGINE_FEATURES + F_VOLUME];
        if (isfinite(v) && v > 0)
            vol += v;
    }
    vol /= (double)(rows - vfirst);

    p->last_close = x[(rows - 1) * ENGINE_FEATURES + F_CLOSE];
    /* a handful of returns says little about the trend: shrink the drift towards zero */
    p->mu = mean_r * (double)nr / ((double)nr + BASELINE_DRIFT_PRIOR);
    p->sigma = sigma;
    p->up_wick = up / (double)w;
    p->down_wick = down / (double)w;
    p->volume = vol;
    p->has_amount = has_amount;
    return 0;
}

void baseline_simulate(const baseline_params *p, double temperature, size_t pred_len, rng *rng,
                       float *out)
{
    const double lp_min = log(BASELINE_PRICE_MIN), lp_max = log(BASELINE_PRICE_MAX);
    double sig = p->sigma * temperature;
    double up = p->up_wick * temperature, down = p->down_wick * temperature;
    double lp = log(p->last_close);
    float prev_close = (float)p->last_close;
    float volume = (float)p->volume;

    for (size_t t = 0; t < pred_len; t++) {
        lp += p->mu + sig * rng_gaussian(rng);
        lp = lp < lp_min ? lp_min : lp > lp_max ? lp_max : lp;
        double open = prev_close;
        double close = clamp_price(exp(lp));
        double high = clamp_price(maxd(open, close) * exp(up * rng_exponential(rng)));
        double low = clamp_price(mind(open, close) * exp(-down * rng_exponential(rng)));

        float *b = out + t * ENGINE_FEATURES;
        b[F_OPEN] = (float)open;
        b[F_HIGH] = (float)high;
        b[F_LOW] = (float)low;
        b[F_CLOSE] = (float)close;
        b[F_VOLUME] = volume;
        double amount = 0;
        if (p->has_amount)
            amount = (double)volume * ((double)b[F_OPEN] + b[F_HIGH] + b[F_LOW] + b[F_CLOSE]) / 4.0;
        /* inf when the price wandered so high that volume x price leaves float32: the caller
         * reports that the forecast cannot be represented instead of a silently clamped value */
        b[F_AMOUNT] = (float)amount;
        prev_close = b[F_CLOSE];
    }
}
