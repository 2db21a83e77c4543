#include "engine/kronos/weights.h"

#include "engine/kronos/kernels.h"
#include "engine/kronos/ops.h"
#include "util/bigalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int kr_time_sizes[KR_TIME_N] = {60, 24, 7, 32, 13};
static const char *const time_names[KR_TIME_N] = {"minute", "hour", "weekday", "day", "month"};

typedef struct binder {
    const kst_file *st;
    const char *what; /* "model" or "tokenizer", for messages */
    char *err;
    size_t errlen;
    int failed;
} binder;

/* Looks up name (printf-style) and checks F32, the expected shape and finite values. */
static const float *bind(binder *b, int ndim, const int64_t *shape, const char *fmt, ...)
{
    if (b->failed)
        return NULL;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    const kst_tensor *t = kst_find(b->st, name);
    if (!t) {
        snprintf(b->err, b->errlen, "%s: missing tensor '%s'", b->what, name);
        b->failed = 1;
        return NULL;
    }
    int ok = t->dtype == KST_F32 && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lld", i ? "," : "",
                     (long long)shape[i]);
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld", i ? "," : "",
                     (long long)t->shape[i]);
        snprintf(b->err, b->errlen, "%s: tensor '%s' is %s [%s], expected F32 [%s]", b->what, name,
                 kst_dtype_name(t->dtype), got, want);
        b->failed = 1;
        return NULL;
    }
    const float *v = t->data;
    for (size_t i = 0; i < t->nelem; i++)
        if (!isfinite(v[i])) {
            snprintf(b->err, b->errlen, "%s: tensor '%s' has a non-finite value at element %zu",
                     b->what, name, i);
            b->failed = 1;
            return NULL;
        }
    return v;
}

static const float *bind1(binder *b, int64_t n, const char *prefix, const char *suffix)
{
    return bind(b, 1, (int64_t[]){n}, "%s%s", prefix, suffix);
}

static void bind_linear(binder *b, kr_linear *l, int in, int out, int bias, const char *prefix)
{
    l->in = in;
    l->out = out;
    l->w = bind(b, 2, (int64_t[]){out, in}, "%s.weight", prefix);
    l->b = bias ? bind(b, 1, (int64_t[]){out}, "%s.bias", prefix) : NULL;
}

/* inv_freq is a persistent buffer; published files may or may not carry it. */
static const float *bind_inv_freq(binder *b, const char *prefix, int hd, float *fallback)
{
    char name[256];
    snprintf(name, sizeof(name), "%s.self_attn.rotary.inv_freq", prefix);
    for (int i = 0; i < hd / 2; i++)
        fallback[i] = 1.0f / powf(10000.0f, (float)(2 * i) / (float)hd);
    if (!kst_find(b->st, name))
        return fallback;
    return bind(b, 1, (int64_t[]){hd / 2}, "%s", name);
}

static void bind_block(binder *b, kr_block *blk, int d, int heads, int ff, const char *prefix,
                       float *inv_freq_fallback)
{
    char p[200];
    blk->norm1 = bind1(b, d, prefix, ".norm1.weight");
    blk->norm2 = bind1(b, d, prefix, ".norm2.weight");
    const char *proj[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    kr_linear *lin[4] = {&blk->q, &blk->k, &blk->v, &blk->o};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s.self_attn.%s", prefix, proj[i]);
        bind_linear(b, lin[i], d, d, 1, p);
    }
    snprintf(p, sizeof(p), "%s.ffn.w1", prefix);
    bind_linear(b, &blk->w1, d, ff, 0, p);
    snprintf(p, sizeof(p), "%s.ffn.w3", prefix);
    bind_linear(b, &blk->w3, d, ff, 0, p);
    snprintf(p, sizeof(p), "%s.ffn.w2", prefix);
    bind_linear(b, &blk->w2, ff, d, 0, p);
    blk->inv_freq = bind_inv_freq(b, prefix, d / heads, inv_freq_fallback);
}

typedef struct cfg_field {
    const char *key;
    int *dst;
    int min, max;
} cfg_field;

static int read_config(const char *dir, const char *what, const cfg_field *fields, size_t n,
                       int *learn_te, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s: cannot read %s: %s", what, path, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: %s is not a JSON object", what, path);
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(root, fields[i].key);
        /* Python's json writes whole floats such as 4.0 for some configs; accept integral reals. */
        double x;
        if (json_is_integer(v))
            x = (double)json_integer_value(v);
        else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)))
            x = json_real_value(v);
        else {
            snprintf(err, errlen, "%s: %s: '%s' missing or not an integer", what, path,
                     fields[i].key);
            json_decref(root);
            return -1;
        }
        if (x < fields[i].min || x > fields[i].max) {
            snprintf(err, errlen, "%s: %s: '%s' = %g out of range [%d, %d]", what, path,
                     fields[i].key, x, fields[i].min, fields[i].max);
            json_decref(root);
            return -1;
        }
        *fields[i].dst = (int)x;
    }
    if (learn_te) {
        json_t *v = json_object_get(root, "learn_te");
        *learn_te = v ? json_is_true(v) : 1;
        if (v && !json_is_boolean(v)) {
            snprintf(err, errlen, "%s: %s: 'learn_te' is not a boolean", what, path);
            json_decref(root);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

static int open_weights(kst_file *st, const char *dir, const char *what, char *err, size_t errlen)
{
    char path[4096], why[512];
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    if (kst_open(st, path, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return -1;
    }
    return 0;
}

/* Packs the linears into one buffer (*owned) when the packed product is in use; else nothing. */
static int pack_list(kr_linear *const *ls, int n, float **owned, const char *what, char *err,
                     size_t errlen)
{
    if (!kr_gemm_packed_active())
        return 0;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += kr_packed_floats(ls[i]->out, ls[i]->in);
    float *buf = big_alloc(sizeof(float) * total);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory for the packed weights", what);
        return -1;
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        kr_pack_panels(ls[i]->w, ls[i]->out, ls[i]->in, ls[i]->in, buf + at);
        ls[i]->wp = buf + at;
        at += kr_packed_floats(ls[i]->out, ls[i]->in);
    }
    *owned = buf;
    return 0;
}

/* pack_list, then frees ls; NULL (its allocation failed) is out of memory. */
static int pack_linears(kr_linear **ls, int n, float **owned, const char *what, char *err,
                        size_t errlen)
{
    if (!ls) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    int rc = pack_list(ls, n, owned, what, err, errlen);
    free(ls);
    return rc;
}

/* Adds a block's seven linears to ls from index n; returns the new count. */
static int block_linears(kr_block *blk, kr_linear **ls, int n)
{
    kr_linear *mine[] = {&blk->q, &blk->k, &blk->v, &blk->o, &blk->w1, &blk->w2, &blk->w3};
    for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
        ls[n++] = mine[i];
    return n;
}

static size_t block_packed_floats(int d, int ff)
{
    return 4 * kr_packed_floats(d, d) + 2 * kr_packed_floats(ff, d) + kr_packed_floats(d, ff);
}

size_t kr_packed_bytes(const kr_shape *s)
{
    if (!kr_gemm_packed_active())
        return 0;
    /* the tokenizer's embed/head/quantizer linears are narrow: counted at their largest width */
    size_t tok = 4 * kr_packed_floats(s->tok_d, s->tok_d) +
                 (size_t)s->tok_layers * block_packed_floats(s->tok_d, s->tok_ff);
    size_t model = kr_packed_floats(s->d, 2 * s->d) +
                   (size_t)s->layers * block_packed_floats(s->d, s->ff) +
                   4 * kr_packed_floats(s->d, s->d) + kr_packed_floats(s->v1, s->d) +
                   kr_packed_floats(s->v2, s->d);
    return sizeof(float) * (tok + model);
}

void kr_tokenizer_free(kr_tokenizer *t)
{
    if (!t)
        return;
    free(t->enc);
    free(t->dec);
    free(t->owned);
    free(t->packed);
    kst_close(&t->st);
    memset(t, 0, sizeof(*t));
}

/* config.json of a tokenizer folder, validated. */
static int tokenizer_config(kr_tokenizer *t, const char *dir, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    cfg_field f[] = {
        {"d_in", &t->d_in, 1, 64},           {"d_model", &t->d, 2, 1 << 14},
        {"n_heads", &t->heads, 1, 1024},     {"ff_dim", &t->ff, 1, 1 << 16},
        {"s1_bits", &t->s1_bits, 1, 16},     {"s2_bits", &t->s2_bits, 1, 16},
        {"n_enc_layers", &t->n_enc, 1, 256}, {"n_dec_layers", &t->n_dec, 1, 256},
    };
    if (read_config(dir, "tokenizer", f, sizeof(f) / sizeof(f[0]), NULL, err, errlen) != 0)
        return -1;
    if (t->d_in != 6) {
        snprintf(err, errlen, "tokenizer: d_in is %d, the engine feeds 6 features", t->d_in);
        return -1;
    }
    if (t->d % t->heads || (t->d / t->heads) % 2 || t->d / t->heads > KR_MAX_HEAD_DIM) {
        snprintf(err, errlen, "tokenizer: d_model %d not divisible into %d even-sized heads", t->d,
                 t->heads);
        return -1;
    }
    if (t->s1_bits != t->s2_bits) {
        snprintf(err, errlen, "tokenizer: s1_bits %d != s2_bits %d (upstream decode assumes equal)",
                 t->s1_bits, t->s2_bits);
        return -1;
    }
    if (t->s1_bits + t->s2_bits > t->d) {
        snprintf(err, errlen, "tokenizer: %d code bits exceed d_model %d", t->s1_bits + t->s2_bits,
                 t->d);
        return -1;
    }
    t->n_enc -= 1; /* upstream builds n_*_layers - 1 blocks */
    t->n_dec -= 1;
    return 0;
}

int kr_tokenizer_load(kr_tokenizer *t, const char *dir, char *err, size_t errlen)
{
    if (tokenizer_config(t, dir, err, errlen) != 0)
        return -1;
    if (open_weights(&t->st, dir, "tokenizer", err, errlen) != 0)
        return -1;
    int hd = t->d / t->heads, nb = t->n_enc + t->n_dec;
    t->enc = calloc((size_t)t->n_enc + 1, sizeof(kr_block));
    t->dec = calloc((size_t)t->n_dec + 1, sizeof(kr_block));
    t->owned = calloc((size_t)(nb + 1) * (size_t)hd, sizeof(float));
    if (!t->enc || !t->dec || !t->owned) {
        snprintf(err, errlen, "tokenizer: out of memory");
        kr_tokenizer_free(t);
        return -1;
    }
    binder b = {&t->st, "tokenizer", err, errlen, 0};
    int cb = t->s1_bits + t->s2_bits;
    bind_linear(&b, &t->embed, t->d_in, t->d, 1, "embed");
    bind_linear(&b, &t->quant_embed, t->d, cb, 1, "quant_embed");
    bind_linear(&b, &t->post_quant, cb, t->d, 1, "post_quant_embed");
    bind_linear(&b, &t->head, t->d, t->d_in, 1, "head");
    char p[64];
    for (int j = 0; j < t->n_enc; j++) {
        snprintf(p, sizeof(p), "encoder.%d", j);
        bind_block(&b, &t->enc[j], t->d, t->heads, t->ff, p, t->owned + (size_t)j * hd);
    }
    for (int j = 0; j < t->n_dec; j++) {
        snprintf(p, sizeof(p), "decoder.%d", j);
        bind_block(&b, &t->dec[j], t->d, t->heads, t->ff, p,
                   t->owned + (size_t)(t->n_enc + j) * hd);
    }
    if (b.failed) {
        kr_tokenizer_free(t);
        return -1;
    }
    kr_linear **ls = malloc(sizeof(kr_linear *) * (size_t)(4 + 7 * nb));
    int n = 0;
    if (ls) {
        kr_linear *mine[] = {&t->embed, &t->quant_embed, &t->post_quant, &t->head};
        for (int i = 0; i < 4; i++)
            ls[n++] = mine[i];
        for (int j = 0; j < t->n_enc; j++)
            n = block_linears(&t->enc[j], ls, n);
        for (int j = 0; j < t->n_dec; j++)
            n = block_linears(&t->dec[j], ls, n);
    }
    if (pack_linears(ls, n, &t->packed, "tokenizer", err, errlen) != 0) {
        kr_tokenizer_free(t);
        return -1;
    }
    return 0;
}

void kr_model_free(kr_model *m)
{
    if (!m)
        return;
    free(m->blocks);
    free(m->owned);
    free(m->packed);
    kst_close(&m->st);
    memset(m, 0, sizeof(*m));
}

/* The fixed sinusoid tables upstream uses when learn_te is false. */
static void fixed_time_table(float *w, int rows, int d)
{
    for (int p = 0; p < rows; p++)
        for (int i = 0; i + 1 < d + 1; i += 2) {
            float div = expf((float)i * -(logf(10000.0f) / (float)d));
            w[(size_t)p * d + i] = sinf((float)p * div);
            if (i + 1 < d)
                w[(size_t)p * d + i + 1] = cosf((float)p * div);
        }
}

/* config.json of a model folder, validated. */
static int model_config(kr_model *m, const char *dir, int *learn_te, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    cfg_field f[] = {
        {"d_model", &m->d, 4, 1 << 14},   {"n_heads", &m->heads, 1, 1024},
        {"n_layers", &m->layers, 1, 256}, {"ff_dim", &m->ff, 1, 1 << 16},
        {"s1_bits", &m->s1_bits, 1, 16},  {"s2_bits", &m->s2_bits, 1, 16},
    };
    if (read_config(dir, "model", f, sizeof(f) / sizeof(f[0]), learn_te, err, errlen) != 0)
        return -1;
    m->dep_heads = 4; /* DependencyAwareLayer(d_model) keeps its default of 4 heads */
    if (m->d % m->heads || (m->d / m->heads) % 2 || m->d / m->heads > KR_MAX_HEAD_DIM ||
        m->d % m->dep_heads) {
        snprintf(err, errlen, "model: d_model %d not divisible into %d even-sized heads (and 4)",
                 m->d, m->heads);
        return -1;
    }
    m->v1 = 1 << m->s1_bits;
    m->v2 = 1 << m->s2_bits;
    return 0;
}

kr_shape kr_shape_of(const kr_tokenizer *t, const kr_model *m)
{
    return (kr_shape){m->d, m->ff, m->layers, m->v1, m->v2, t->d, t->ff, t->n_enc + t->n_dec};
}

int kr_shape_read(const char *model_dir, const char *tokenizer_dir, kr_shape *s, char *err,
                  size_t errlen)
{
    kr_model m;
    kr_tokenizer t;
    int learn_te = 1;
    if (model_config(&m, model_dir, &learn_te, err, errlen) != 0 ||
        tokenizer_config(&t, tokenizer_dir, err, errlen) != 0)
        return -1;
    *s = kr_shape_of(&t, &m);
    return 0;
}

int kr_model_load(kr_model *m, const char *dir, char *err, size_t errlen)
{
    int learn_te = 1;
    if (model_config(m, dir, &learn_te, err, errlen) != 0)
        return -1;
    if (open_weights(&m->st, dir, "model", err, errlen) != 0)
        return -1;
    int hd = m->d / m->heads;
    size_t time_rows = 0;
    for (int i = 0; i < KR_TIME_N; i++)
        time_rows += (size_t)kr_time_sizes[i];
    m->blocks = calloc((size_t)m->layers, sizeof(kr_block));
    m->owned = calloc((size_t)m->layers * hd + (learn_te ? 0 : time_rows * m->d), sizeof(float));
    if (!m->blocks || !m->owned) {
        snprintf(err, errlen, "model: out of memory");
        kr_model_free(m);
        return -1;
    }
    binder b = {&m->st, "model", err, errlen, 0};
    m->emb_s1 = bind(&b, 2, (int64_t[]){m->v1, m->d}, "embedding.emb_s1.weight");
    m->emb_s2 = bind(&b, 2, (int64_t[]){m->v2, m->d}, "embedding.emb_s2.weight");
    bind_linear(&b, &m->fusion, 2 * m->d, m->d, 1, "embedding.fusion_proj");
    float *fixed = m->owned + (size_t)m->layers * hd;
    for (int i = 0; i < KR_TIME_N; i++) {
        if (learn_te) {
            m->time[i] = bind(&b, 2, (int64_t[]){kr_time_sizes[i], m->d},
                              "time_emb.%s_embed.weight", time_names[i]);
        } else {
            fixed_time_table(fixed, kr_time_sizes[i], m->d);
            m->time[i] = fixed;
            fixed += (size_t)kr_time_sizes[i] * m->d;
        }
    }
    char p[64];
    for (int i = 0; i < m->layers; i++) {
        snprintf(p, sizeof(p), "transformer.%d", i);
        bind_block(&b, &m->blocks[i], m->d, m->heads, m->ff, p, m->owned + (size_t)i * hd);
    }
    m->norm = bind(&b, 1, (int64_t[]){m->d}, "norm.weight");
    bind_linear(&b, &m->dep_q, m->d, m->d, 1, "dep_layer.cross_attn.q_proj");
    bind_linear(&b, &m->dep_k, m->d, m->d, 1, "dep_layer.cross_attn.k_proj");
    bind_linear(&b, &m->dep_v, m->d, m->d, 1, "dep_layer.cross_attn.v_proj");
    bind_linear(&b, &m->dep_o, m->d, m->d, 1, "dep_layer.cross_attn.out_proj");
    m->dep_norm = bind(&b, 1, (int64_t[]){m->d}, "dep_layer.norm.weight");
    bind_linear(&b, &m->proj_s1, m->d, m->v1, 1, "head.proj_s1");
    bind_linear(&b, &m->proj_s2, m->d, m->v2, 1, "head.proj_s2");
    if (b.failed) {
        kr_model_free(m);
        return -1;
    }
    kr_linear **ls = malloc(sizeof(kr_linear *) * (size_t)(7 + 7 * m->layers));
    int n = 0;
    if (ls) {
        kr_linear *mine[] = {&m->fusion, &m->dep_q,   &m->dep_k,  &m->dep_v,
                             &m->dep_o,  &m->proj_s1, &m->proj_s2};
        for (int i = 0; i < 7; i++)
            ls[n++] = mine[i];
        for (int i = 0; i < m->layers; i++)
            n = block_linears(&m->blocks[i], ls, n);
    }
    if (pack_linears(ls, n, &m->packed, "model", err, errlen) != 0) {
        kr_model_free(m);
        return -1;
    }
    return 0;
}
