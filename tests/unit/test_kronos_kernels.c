/*
 * The kernel sets behind engine/kronos/kernels.h: the run-time choice (KRONOS_SIMD), and the
 * AVX2/FMA kernels against the portable C ones on awkward shapes (odd lengths, tails, rows not a
 * multiple of the unrolling). Where the CPU or the build has no AVX2 (arm64, old x86-64) the
 * choice is checked to refuse it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kronos/kernels.h"
#include "engine/kronos/ops.h"

static void simd_choice(void **state)
{
    (void)state;
    assert_true(kr_simd_built(KR_SIMD_PORTABLE));
    assert_true(kr_simd_supported(KR_SIMD_PORTABLE));
    assert_string_equal(kr_simd_name(KR_SIMD_PORTABLE), "portable");
    assert_string_equal(kr_simd_name(KR_SIMD_AVX2), "avx2");
    assert_string_equal(kr_simd_name(KR_SIMD_AVX512), "avx512");
    /* Without a request the fastest set the CPU runs is in use. */
    assert_int_equal(kr_simd_active(), kr_simd_best());
    bool avx2 = kr_simd_supported(KR_SIMD_AVX2), avx512 = kr_simd_supported(KR_SIMD_AVX512);
    assert_int_equal(kr_simd_best(), avx512 ? KR_SIMD_AVX512
                                     : avx2 ? KR_SIMD_AVX2
                                            : KR_SIMD_PORTABLE);
    if (avx512)
        assert_true(avx2);
    if (!kr_simd_built(KR_SIMD_AVX2))
        assert_false(avx2);
    if (!kr_simd_built(KR_SIMD_AVX512))
        assert_false(avx512);
#if !defined(__x86_64__)
    assert_false(kr_simd_built(KR_SIMD_AVX2));
    assert_false(kr_simd_built(KR_SIMD_AVX512));
#endif
    assert_int_equal(kr_simd_use(KR_SIMD_PORTABLE), 0);
    assert_int_equal(kr_simd_active(), KR_SIMD_PORTABLE);
    assert_false(kr_gemm_packed_active());
    assert_int_equal(kr_simd_use(KR_SIMD_AVX2), avx2 ? 0 : -1);
    /* A refused request changes nothing. */
    assert_int_equal(kr_simd_active(), avx2 ? KR_SIMD_AVX2 : KR_SIMD_PORTABLE);
    assert_false(kr_gemm_packed_active());
    assert_int_equal(kr_simd_use(KR_SIMD_AVX512), avx512 ? 0 : -1);
    assert_int_equal(kr_gemm_packed_active(), avx512);
    kr_simd_use(kr_simd_best());
}

static uint32_t rng = 12345;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *fill(size_t n)
{
    float *v = malloc(n * sizeof(float) + 1);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = rnd();
    return v;
}

/* The two sets differ only in the order of float additions (and expf vs a ~1 ulp polynomial):
 * each result within 1e-5 of its scale. */
static void close_enough(const float *a, const float *b, size_t n, double scale, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= 1e-5 * (scale + fabs(b[i]))))
            fail_msg("%s[%zu]: avx2 %.9g, portable %.9g", what, i, a[i], b[i]);
}

/* Runs `call` once per set into out_avx2/out_portable (each starting from the same init). */
#define BOTH(n, init, out_avx2, out_portable, call)                                                \
    do {                                                                                           \
        float *out;                                                                                \
        kr_simd_use(KR_SIMD_AVX2);                                                                 \
        out = out_avx2;                                                                            \
        memcpy(out, init, (n) * sizeof(float));                                                    \
        call;                                                                                      \
        kr_simd_use(KR_SIMD_PORTABLE);                                                             \
        out = out_portable;                                                                        \
        memcpy(out, init, (n) * sizeof(float));                                                    \
        call;                                                                                      \
    } while (0)

static void avx2_matches_portable(void **state)
{
    (void)state;
    if (!kr_simd_supported(KR_SIMD_AVX2))
        skip();
    static const int lens[] = {1, 7, 8, 9, 16, 24, 31, 40, 64, 72, 100, 136, 256};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        int n = lens[li];
        float *a = fill((size_t)n), *b = fill((size_t)n), *y0 = fill((size_t)n);
        float ya[256], yp[256];

        kr_simd_use(KR_SIMD_AVX2);
        ya[0] = kr_dot(a, b, n);
        kr_simd_use(KR_SIMD_PORTABLE);
        yp[0] = kr_dot(a, b, n);
        close_enough(ya, yp, 1, n, "dot");

        BOTH((size_t)n, y0, ya, yp, kr_axpy(out, 0.37f, a, n));
        close_enough(ya, yp, (size_t)n, 1, "axpy");
        BOTH((size_t)n, a, ya, yp, kr_softmax_fast(out, n));
        close_enough(ya, yp, (size_t)n, 0, "softmax");
        BOTH((size_t)n, a, ya, yp, kr_swiglu_fast(out, b, (size_t)n));
        close_enough(ya, yp, (size_t)n, 0, "swiglu");

        for (int rows = 1; rows <= 5; rows++)
            for (int outn = 1; outn <= 9; outn += 4) {
                float *x = fill((size_t)rows * n), *w = fill((size_t)outn * n), *bias = fill(9);
                float *init = fill((size_t)rows * 9), ga[64], gp[64];
                for (int acc = 0; acc < 2; acc++) {
                    BOTH((size_t)rows * 9, init, ga, gp,
                         kr_gemm_skinny(x, rows, n, w, outn, acc ? NULL : bias, acc, out, 9));
                    close_enough(ga, gp, (size_t)rows * 9, n, "gemm_skinny");
                }
                free(x);
                free(w);
                free(bias);
                free(init);
            }
        free(a);
        free(b);
        free(y0);
    }
    /* Attention over keys/values of row stride ld (a strided walk, or rows one after another as
     * in a head-major cache, long enough for the streaming prefetch), head widths with and
     * without a tail. */
    static const int hds[] = {8, 12, 16, 64, 72, 128};
    static const int key_counts[] = {1, 6, 11, 300};
    for (size_t hi = 0; hi < sizeof(hds) / sizeof(hds[0]); hi++)
        for (size_t ki = 0; ki < 8; ki++) {
            int hd = hds[hi], keys = key_counts[ki % 4], ld = ki < 4 ? hd * 2 + 8 : hd;
            float *q = fill((size_t)hd), *kv = fill((size_t)keys * ld), *p = fill((size_t)keys);
            float *o0 = fill((size_t)hd), sa[300], sp[300], oa[128], op[128];
            BOTH((size_t)keys, p, sa, sp, kr_attn_scores(q, kv, keys, ld, hd, 0.125f, out));
            close_enough(sa, sp, (size_t)keys, hd * 0.125, "attn_scores");
            BOTH((size_t)hd, o0, oa, op, kr_attn_mix(p, kv, keys, ld, hd, out));
            close_enough(oa, op, (size_t)hd, keys, "attn_mix");
            free(q);
            free(kv);
            free(p);
            free(o0);
        }
    kr_simd_use(kr_simd_best());
}

/* The packed product (AVX-512, and the portable reference of the same layout) against the
 * skinny portable one on the same row-major weights: tile remainders (rows 1..13, 25), panel
 * remainders (out not a multiple of 32), bias, accumulate, a band of panels. */
static void packed_gemm_matches(void **state)
{
    (void)state;
    static const int rows_list[] = {1, 2, 5, 11, 12, 13, 25, 100};
    static const int outs[] = {1, 17, 32, 33, 70};
    static const int ins[] = {3, 8, 64};
    kr_simd sets[] = {KR_SIMD_PORTABLE, KR_SIMD_AVX512};
    for (size_t si = 0; si < 2; si++) {
        if (kr_simd_use(sets[si]) != 0)
            continue; /* no AVX-512 here: the layout is still checked with the portable set */
        for (size_t ri = 0; ri < sizeof(rows_list) / sizeof(rows_list[0]); ri++)
            for (size_t oi = 0; oi < sizeof(outs) / sizeof(outs[0]); oi++)
                for (size_t ii = 0; ii < sizeof(ins) / sizeof(ins[0]); ii++) {
                    int rows = rows_list[ri], outn = outs[oi], in = ins[ii], ldy = outn + 3;
                    float *x = fill((size_t)rows * in), *w = fill((size_t)outn * in);
                    float *bias = fill((size_t)outn), *init = fill((size_t)rows * ldy);
                    float *wp = aligned_alloc(64, sizeof(float) * kr_packed_floats(outn, in));
                    float *got = malloc(sizeof(float) * rows * ldy);
                    float *want = malloc(sizeof(float) * rows * ldy);
                    assert_non_null(wp);
                    kr_pack_panels(w, outn, in, in, wp);
                    for (int acc = 0; acc < 2; acc++) {
                        memcpy(got, init, sizeof(float) * rows * ldy);
                        memcpy(want, init, sizeof(float) * rows * ldy);
                        int panels = kr_panels(outn), half = panels / 2;
                        /* two bands, as two pool tasks would run them */
                        kr_gemm_packed(x, rows, in, in, wp, outn, acc ? NULL : bias, acc, got, ldy,
                                       0, half);
                        kr_gemm_packed(x, rows, in, in, wp, outn, acc ? NULL : bias, acc, got, ldy,
                                       half, panels);
                        kr_simd active = kr_simd_active();
                        kr_simd_use(KR_SIMD_PORTABLE);
                        kr_gemm_skinny(x, rows, in, w, outn, acc ? NULL : bias, acc, want, ldy);
                        kr_simd_use(active);
                        close_enough(got, want, (size_t)rows * ldy, in, "gemm_packed");
                    }
                    free(x);
                    free(w);
                    free(bias);
                    free(init);
                    free(wp);
                    free(got);
                    free(want);
                }
    }
    kr_simd_use(kr_simd_best());
}

/* Head h of rows [n][d] copied head-major: [heads][n][hd]. */
static float *head_major(const float *rows, int n, int d, int hd)
{
    float *hm = malloc(sizeof(float) * (size_t)n * d);
    assert_non_null(hm);
    for (int h = 0; h < d / hd; h++)
        for (int r = 0; r < n; r++)
            memcpy(hm + ((size_t)h * n + r) * hd, rows + (size_t)r * d + (size_t)h * hd,
                   sizeof(float) * (size_t)hd);
    return hm;
}

/* kr_attention_segs gives the same answer whether a cache piece is rows of width d or
 * head-major, on every path: one row (a cached step), a causal run of rows (a band), and runs
 * of rows sharing their first piece (a group), with the portable, AVX2 and AVX-512 sets. */
static void attention_layouts_agree(void **state)
{
    (void)state;
    enum { D = 128, HD = 32, PRE = 300, SUF = 9, ROWS = 5 };
    float *kpre = fill((size_t)PRE * D), *vpre = fill((size_t)PRE * D);
    float *ksuf = fill((size_t)SUF * D), *vsuf = fill((size_t)SUF * D);
    float *kown = fill((size_t)3 * ROWS * D), *vown = fill((size_t)3 * ROWS * D);
    float *q = fill((size_t)3 * ROWS * D);
    float *kpre_h = head_major(kpre, PRE, D, HD), *vpre_h = head_major(vpre, PRE, D, HD);
    float *ksuf_h = head_major(ksuf, SUF, D, HD), *vsuf_h = head_major(vsuf, SUF, D, HD);
    size_t per_thread = kr_attention_scratch_keys(2 * ROWS, PRE + SUF + ROWS);
    float *scratch = malloc(sizeof(float) * per_thread), rows_out[3 * ROWS * D],
          heads_out[3 * ROWS * D];
    int index[4 * 3 + 1];
    /* shape: 0 one row after both pieces, 1 a causal run after the prefix, 2 two runs sharing it */
    kr_simd sets[] = {KR_SIMD_PORTABLE, KR_SIMD_AVX2, KR_SIMD_AVX512};
    for (size_t si = 0; si < 3; si++) {
        if (kr_simd_use(sets[si]) != 0)
            continue;
        for (int shape = 0; shape < 3; shape++)
            for (int layout = 0; layout < 2; layout++) {
                kr_attn_seg segs[2];
                int nseg = shape == 2 ? 2 : 1, rows = shape == 0 ? 1 : ROWS;
                for (int i = 0; i < nseg; i++) {
                    kr_attn_seg *s = &segs[i];
                    memset(s, 0, sizeof(*s));
                    s->q = q + (size_t)i * rows * D;
                    s->out = (layout ? heads_out : rows_out) + (size_t)i * rows * D;
                    s->rows = rows;
                    s->causal = 1;
                    s->k[0] = layout ? kpre_h : kpre;
                    s->v[0] = layout ? vpre_h : vpre;
                    s->hs[0] = layout ? (size_t)PRE * HD : 0;
                    s->n[0] = PRE;
                    s->npieces = 1;
                    if (shape == 0) {
                        s->k[1] = layout ? ksuf_h : ksuf;
                        s->v[1] = layout ? vsuf_h : vsuf;
                        s->hs[1] = layout ? (size_t)SUF * HD : 0;
                        s->n[s->npieces++] = SUF;
                    }
                    s->k[s->npieces] = kown + (size_t)i * rows * D;
                    s->v[s->npieces] = vown + (size_t)i * rows * D;
                    s->n[s->npieces++] = rows;
                }
                kr_attention_segs(segs, nseg, D, HD, scratch, per_thread, index);
                if (layout)
                    close_enough(heads_out, rows_out, (size_t)nseg * rows * D, 1,
                                 "attention layouts");
            }
    }
    kr_simd_use(kr_simd_best());
    float *bufs[] = {kpre, vpre,   ksuf,   vsuf,   kown,   vown,
                     q,    kpre_h, vpre_h, ksuf_h, vsuf_h, scratch};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_choice), cmocka_unit_test(avx2_matches_portable),
        cmocka_unit_test(packed_gemm_matches), cmocka_unit_test(attention_layouts_agree)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
