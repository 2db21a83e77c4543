/*
 * Sampling filters against upstream's (KRONOS_GOLDEN_DIR/sampling.safetensors): for every
 * (temperature, top_k, top_p) setting and logits row, the kept mask and argmax match exactly
 * and the probabilities within 1e-6 + 1e-5*|ref|. Also: the generator is deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "engine/kronos/sample.h"
#include "kronos_test_util.h"

static void check_vocab(const kst_file *f, const char *v)
{
    char name[64];
    snprintf(name, sizeof(name), "logits_%s", v);
    const kst_tensor *lg = kst_find(f, name);
    snprintf(name, sizeof(name), "mask_%s", v);
    const kst_tensor *mk = kst_find(f, name);
    snprintf(name, sizeof(name), "probs_%s", v);
    const kst_tensor *pr = kst_find(f, name);
    snprintf(name, sizeof(name), "argmax_%s", v);
    const kst_tensor *am = kst_find(f, name);
    const kst_tensor *st = kst_find(f, "settings");
    assert_true(lg && mk && pr && am && st);
    int R = (int)lg->shape[0], V = (int)lg->shape[1], NS = (int)st->shape[0];
    assert_int_equal(mk->nelem, (size_t)NS * R * V);
    float *probs = malloc(sizeof(float) * V), *work = malloc(sizeof(float) * V);
    int *order = malloc(sizeof(int) * 4 * V);
    int failures = 0, checked = 0;
    for (int s = 0; s < NS; s++) {
        const float *set = (const float *)st->data + s * 3;
        for (int r = 0; r < R; r++) {
            const float *l = (const float *)lg->data + (size_t)r * V;
            int arg = kr_sample_filter(l, V, set[0], (int)set[1], set[2], probs, order, work);
            size_t base = ((size_t)s * R + r) * V;
            const int32_t *mask = (const int32_t *)mk->data + base;
            const float *pref = (const float *)pr->data + base;
            if (arg != ((const int32_t *)am->data)[s * R + r])
                failures++;
            for (int i = 0; i < V; i++) {
                checked++;
                if ((probs[i] > 0) != (mask[i] != 0) ||
                    fabsf(probs[i] - pref[i]) > 1e-6f + 1e-5f * fabsf(pref[i])) {
                    if (failures < 5)
                        fprintf(stderr, "%s setting %d row %d idx %d: p=%g ref=%g mask=%d\n", v, s,
                                r, i, probs[i], pref[i], mask[i]);
                    failures++;
                }
            }
        }
    }
    fprintf(stderr, "%s: %d values checked, %d failures\n", v, checked, failures);
    assert_int_equal(failures, 0);
    free(probs);
    free(work);
    free(order);
}

static void filters_match_upstream(void **state)
{
    (void)state;
    kst_file f;
    char err[512];
    assert_int_equal(kst_open(&f, KRONOS_GOLDEN_DIR "/sampling.safetensors", err, sizeof(err)), 0);
    check_vocab(&f, "v16");
    check_vocab(&f, "v1024");
    kst_close(&f);
}

static void rng_is_seeded_and_draws_follow_probs(void **state)
{
    (void)state;
    rng a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        assert_true(x == rng_next(&b));
        differ |= x != rng_next(&c);
    }
    assert_true(differ);
    float p[4] = {0.1f, 0.0f, 0.6f, 0.3f};
    int count[4] = {0};
    for (int i = 0; i < 20000; i++)
        count[kr_sample_draw(p, 4, &a)]++;
    assert_int_equal(count[1], 0);
    assert_true(abs(count[2] - 12000) < 600 && abs(count[0] - 2000) < 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(filters_match_upstream),
                                       cmocka_unit_test(rng_is_seeded_and_draws_follow_probs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
