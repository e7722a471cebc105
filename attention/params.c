/*
 * params.c - the scorer's parameter block: the size table, one allocation
 * pointed into by a struct of pointers (llm.c's malloc_and_point), the
 * deterministic initialisation, and the flat loops over the block (norm,
 * scale, Adam).
 *
 * Invariant: tensor i of the size table starts at offset Σ_{j<i} size_j of
 * memory, in the order in.w, in.b; for each block ln1_g, ln1_b, qkv_w,
 * qkv_b, proj_w, proj_b, ln2_g, ln2_b, fc_w, fc_b, fc2_w, fc2_b; then
 * (pre-LN only) lnf.g, lnf.b; then head.w, head.b. Gradients and Adam
 * moments use the same table, so element k of each block belongs to the
 * same parameter.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn.h"

enum { PER_BLOCK = 12 };

weft_err_t attn_config_check(const attn_config_t *cfg)
{
    if (cfg->E == 0)
        return weft_fail(WEFT_EINVAL, "attn config: E (input width) is 0, expected >= 1");
    if (cfg->M == 0)
        return weft_fail(WEFT_EINVAL, "attn config: M (model width) is 0, expected >= 1");
    if (cfg->H == 0)
        return weft_fail(WEFT_EINVAL, "attn config: H (heads) is 0, expected >= 1");
    if (cfg->B == 0 || cfg->B > ATTN_MAX_BLOCKS)
        return weft_fail(WEFT_EINVAL, "attn config: B (blocks) is %zu, expected 1..%d", cfg->B,
                         ATTN_MAX_BLOCKS);
    /* every size below is a small polynomial in these; the bounds keep all
     * products (including N^2 H B with N <= ATTN_MAX_ROWS) far from SIZE_MAX */
    const size_t big = (size_t)1 << 16;
    if (cfg->E > big || cfg->M > big || cfg->H > 1024)
        return weft_fail(WEFT_EINVAL,
                         "attn config: E=%zu M=%zu H=%zu, expected E, M <= %zu, H <= 1024",
                         cfg->E, cfg->M, cfg->H, big);
    if (cfg->M % cfg->H != 0)
        return weft_fail(WEFT_EINVAL, "attn config: M=%zu is not a multiple of H=%zu", cfg->M,
                         cfg->H);
    if (cfg->norm != ATTN_POST_LN && cfg->norm != ATTN_PRE_LN)
        return weft_fail(WEFT_EINVAL, "attn config: norm is %d, expected 0 (post-LN) or 1 (pre-LN)",
                         (int)cfg->norm);
    if (cfg->act != ATTN_RELU && cfg->act != ATTN_GELU)
        return weft_fail(WEFT_EINVAL, "attn config: act is %d, expected 0 (ReLU) or 1 (GELU)",
                         (int)cfg->act);
    return WEFT_OK;
}

size_t attn_tensor_count(const attn_config_t *cfg)
{
    return 2 + PER_BLOCK * cfg->B + (cfg->norm == ATTN_PRE_LN ? 2 : 0) + 2;
}

/* Name and shape of tensor i (no offset). */
static attn_tensor_info_t tensor_shape(const attn_config_t *cfg, size_t i)
{
    static const char *const block_names[PER_BLOCK] = {
        "ln1_g", "ln1_b", "qkv_w", "qkv_b", "proj_w", "proj_b",
        "ln2_g", "ln2_b", "fc_w",  "fc_b",  "fc2_w",  "fc2_b"};
    size_t E = cfg->E, M = cfg->M, F = 4 * cfg->M;
    attn_tensor_info_t t;
    memset(&t, 0, sizeof t);
    t.cols = 1;
    t.ndim = 1;
    if (i < 2) {
        snprintf(t.name, sizeof t.name, "in.%s", i == 0 ? "w" : "b");
        t.rows = M;
        if (i == 0)
            t.cols = E, t.ndim = 2;
    } else if (i < 2 + PER_BLOCK * cfg->B) {
        size_t l = (i - 2) / PER_BLOCK, k = (i - 2) % PER_BLOCK;
        snprintf(t.name, sizeof t.name, "blk%zu.%s", l + 1, block_names[k]);
        /* rows, cols of each block tensor, in table order */
        static const int shape_code[PER_BLOCK] = {0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0};
        switch (shape_code[k]) {
        case 0: t.rows = M; break;
        case 1: t.rows = 3 * M, t.cols = M, t.ndim = 2; break;
        case 2: t.rows = 3 * M; break;
        case 3: t.rows = M, t.cols = M, t.ndim = 2; break;
        case 4: t.rows = F, t.cols = M, t.ndim = 2; break;
        case 5: t.rows = F; break;
        default: t.rows = M, t.cols = F, t.ndim = 2; break;
        }
    } else {
        size_t k = i - 2 - PER_BLOCK * cfg->B;
        if (cfg->norm != ATTN_PRE_LN)
            k += 2;
        assert(k < 4);
        static const char *const tail_names[4] = {"lnf.g", "lnf.b", "head.w", "head.b"};
        snprintf(t.name, sizeof t.name, "%s", tail_names[k]);
        t.rows = k < 2 ? M : 1; /* lnf.g, lnf.b [M]; head.w [1, M]; head.b [1] */
        if (k == 2)
            t.cols = M, t.ndim = 2;
    }
    t.size = t.rows * t.cols;
    return t;
}

size_t attn_param_count(const attn_config_t *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < attn_tensor_count(cfg); i++)
        n += tensor_shape(cfg, i).size;
    return n;
}

attn_tensor_info_t attn_tensor_info(const attn_config_t *cfg, size_t i)
{
    assert(i < attn_tensor_count(cfg));
    size_t offset = 0;
    for (size_t j = 0; j < i; j++)
        offset += tensor_shape(cfg, j).size;
    attn_tensor_info_t t = tensor_shape(cfg, i);
    t.offset = offset;
    return t;
}

/* Points every field of p into p->memory following the size table. */
static void point_params(attn_params_t *p, const attn_config_t *cfg)
{
    weft_real_t **fields[2 + PER_BLOCK * ATTN_MAX_BLOCKS + 4];
    size_t nf = 0;
    fields[nf++] = &p->in_w;
    fields[nf++] = &p->in_b;
    for (size_t l = 0; l < cfg->B; l++) {
        attn_block_params_t *b = &p->block[l];
        weft_real_t **bf[PER_BLOCK] = {&b->ln1_g, &b->ln1_b, &b->qkv_w, &b->qkv_b,
                                       &b->proj_w, &b->proj_b, &b->ln2_g, &b->ln2_b,
                                       &b->fc_w,  &b->fc_b,  &b->fc2_w, &b->fc2_b};
        for (size_t k = 0; k < PER_BLOCK; k++)
            fields[nf++] = bf[k];
    }
    if (cfg->norm == ATTN_PRE_LN) {
        fields[nf++] = &p->lnf_g;
        fields[nf++] = &p->lnf_b;
    }
    fields[nf++] = &p->head_w;
    fields[nf++] = &p->head_b;
    assert(nf == attn_tensor_count(cfg));
    weft_real_t *at = p->memory;
    for (size_t i = 0; i < nf; i++) {
        *fields[i] = at;
        at += tensor_shape(cfg, i).size;
    }
    assert((size_t)(at - p->memory) == p->n);
}

weft_err_t attn_params_init(attn_params_t *p, const attn_config_t *cfg)
{
    memset(p, 0, sizeof *p);
    weft_err_t err = attn_config_check(cfg);
    if (err)
        return err;
    size_t n = attn_param_count(cfg);
    p->memory = weft_calloc(n, sizeof(weft_real_t));
    if (!p->memory)
        return weft_fail(WEFT_ENOMEM, "attn: cannot allocate %zu parameters", n);
    p->n = n;
    point_params(p, cfg);
    return WEFT_OK;
}

void attn_params_destroy(attn_params_t *p)
{
    free(p->memory);
    memset(p, 0, sizeof *p);
}

void attn_params_zero(attn_params_t *p)
{
    if (p->n)
        memset(p->memory, 0, p->n * sizeof(weft_real_t));
}

static void fill_const(weft_real_t *w, size_t n, weft_real_t v)
{
    for (size_t i = 0; i < n; i++)
        w[i] = v;
}

void attn_params_init_random(attn_params_t *p, const attn_config_t *cfg, uint64_t seed)
{
    assert(p->n == attn_param_count(cfg));
    uint64_t s = seed;
    size_t E = cfg->E, M = cfg->M, F = 4 * cfg->M;
    attn_params_zero(p); /* biases stay 0 */
    weft_fill_xavier(p->in_w, M, E, &s);
    for (size_t l = 0; l < cfg->B; l++) {
        attn_block_params_t *b = &p->block[l];
        fill_const(b->ln1_g, M, 1);
        fill_const(b->ln2_g, M, 1);
        for (size_t g = 0; g < 3; g++) /* Q, K, V each as its own (M, M) layer */
            weft_fill_xavier(b->qkv_w + g * M * M, M, M, &s);
        weft_fill_xavier(b->proj_w, M, M, &s);
        weft_fill_xavier(b->fc_w, F, M, &s);
        weft_fill_xavier(b->fc2_w, M, F, &s);
    }
    if (cfg->norm == ATTN_PRE_LN)
        fill_const(p->lnf_g, M, 1);
    weft_fill_xavier(p->head_w, 1, M, &s);
}

double attn_params_norm(const attn_params_t *p)
{
    double s = 0;
    for (size_t i = 0; i < p->n; i++)
        s += (double)p->memory[i] * (double)p->memory[i];
    return sqrt(s);
}

void attn_params_scale(attn_params_t *p, double s)
{
    for (size_t i = 0; i < p->n; i++)
        p->memory[i] = (weft_real_t)(p->memory[i] * s);
}

void attn_adam_step(attn_params_t *p, const attn_params_t *g, attn_params_t *m, attn_params_t *v,
                    double lr, double beta1, double beta2, double eps, double wd, uint64_t t)
{
    assert(p->n == g->n && p->n == m->n && p->n == v->n && t >= 1);
    double c1 = 1 - pow(beta1, (double)t), c2 = 1 - pow(beta2, (double)t);
    for (size_t i = 0; i < p->n; i++) {
        double gi = g->memory[i];
        double mi = beta1 * m->memory[i] + (1 - beta1) * gi;
        double vi = beta2 * v->memory[i] + (1 - beta2) * gi * gi;
        m->memory[i] = (weft_real_t)mi;
        v->memory[i] = (weft_real_t)vi;
        double step = (mi / c1) / (sqrt(vi / c2) + eps) + wd * p->memory[i];
        p->memory[i] = (weft_real_t)(p->memory[i] - lr * step);
    }
}

/* ------------------------------------------------------------------
 * The network in a model file: config ints and one tensor per entry of
 * the size table, all under the prefix "attn." so the encoder's entries
 * can share the file.
 * ------------------------------------------------------------------ */

/* The attn.* ints, the last of the table (attn.h) from ATTN_INT_E on: an
 * int added to the table after it must get a value in config_ints. */
enum { N_CFG_INTS = ATTN_N_NET_INTS - ATTN_INT_E };
_Static_assert(N_CFG_INTS == 6, "config_ints sets six attn.* ints: set the new one too");
/* Index of the attn.* int ATTN_INT_<id> among the N_CFG_INTS names and values. */
#define CFG(id) (ATTN_INT_##id - ATTN_INT_E)

static void config_ints(const attn_config_t *cfg, const char **names, int64_t *values)
{
    for (size_t i = 0; i < N_CFG_INTS; i++)
        names[i] = attn_model_net_int_names[ATTN_INT_E + i];
    values[CFG(E)] = (int64_t)cfg->E;
    values[CFG(M)] = (int64_t)cfg->M;
    values[CFG(H)] = (int64_t)cfg->H;
    values[CFG(B)] = (int64_t)cfg->B;
    values[CFG(PRE_LN)] = cfg->norm == ATTN_PRE_LN;
    values[CFG(GELU)] = cfg->act == ATTN_GELU;
}

/* attn_model_block_fn of the size table: the model file's "attn.*". */
static void block_tensor(const void *cfg, size_t i, attn_model_block_tensor_t *t)
{
    attn_tensor_info_t a = attn_tensor_info(cfg, i);
    _Static_assert(sizeof a.name == sizeof t->name, "a tensor's name fits the block's");
    memcpy(t->name, a.name, sizeof t->name);
    t->ndim = a.ndim;
    t->shape[0] = a.rows;
    t->shape[1] = a.cols;
    t->offset = a.offset;
    t->size = a.size;
}

/* What storing p (for cfg) in a model file and loading it back both begin
 * with: cfg checked, then the names and values of its ints there. */
static weft_err_t checked_config_ints(const attn_params_t *p, const attn_config_t *cfg,
                                      const char **names, int64_t *values)
{
    weft_err_t err = attn_config_check(cfg);
    if (err)
        return err;
    assert(p->n == attn_param_count(cfg));
    (void)p; /* read by the assert alone */
    config_ints(cfg, names, values);
    return WEFT_OK;
}

weft_err_t attn_params_to_model(const attn_params_t *p, const attn_config_t *cfg,
                                attn_model_file_t *mf)
{
    const char *names[N_CFG_INTS];
    int64_t values[N_CFG_INTS];
    weft_err_t err = checked_config_ints(p, cfg, names, values);
    for (size_t i = 0; i < N_CFG_INTS && !err; i++)
        err = attn_model_set_int(mf, names[i], values[i]);
    if (err)
        return err;
    return attn_model_set_block(mf, "attn", p->memory, attn_tensor_count(cfg), block_tensor, cfg);
}

weft_err_t attn_config_from_model(const attn_model_file_t *mf, attn_config_t *cfg)
{
    const char *names[N_CFG_INTS];
    int64_t values[N_CFG_INTS], got[N_CFG_INTS];
    attn_config_t zero_cfg;
    memset(&zero_cfg, 0, sizeof zero_cfg);
    config_ints(&zero_cfg, names, values);
    for (size_t i = 0; i < N_CFG_INTS; i++) {
        weft_err_t err = attn_model_get_int(mf, names[i], &got[i]);
        if (err)
            return err;
        /* sizes from 1, blocks to ATTN_MAX_BLOCKS, the two flags 0 or 1 */
        int64_t lo = i >= CFG(PRE_LN) ? 0 : 1;
        int64_t hi = i >= CFG(PRE_LN) ? 1 : i == CFG(B) ? ATTN_MAX_BLOCKS : (int64_t)1 << 20;
        if (got[i] < lo || got[i] > hi)
            return weft_fail(WEFT_EINVAL, "model's %s is %lld, expected %lld..%lld", names[i],
                             (long long)got[i], (long long)lo, (long long)hi);
    }
    attn_config_t c = {.E = (size_t)got[CFG(E)], .M = (size_t)got[CFG(M)],
                       .H = (size_t)got[CFG(H)], .B = (size_t)got[CFG(B)],
                       .norm = got[CFG(PRE_LN)] ? ATTN_PRE_LN : ATTN_POST_LN,
                       .act = got[CFG(GELU)] ? ATTN_GELU : ATTN_RELU};
    weft_err_t err = attn_config_check(&c);
    if (err)
        return weft_wrap(err, "model's ");
    *cfg = c;
    return WEFT_OK;
}

weft_err_t attn_params_from_model(attn_params_t *p, const attn_config_t *cfg,
                                  const attn_model_file_t *mf)
{
    const char *names[N_CFG_INTS];
    int64_t values[N_CFG_INTS];
    weft_err_t err = checked_config_ints(p, cfg, names, values);
    for (size_t i = 0; i < N_CFG_INTS && !err; i++) {
        int64_t v;
        if ((err = attn_model_get_int(mf, names[i], &v)))
            return err;
        if (v != values[i])
            return weft_fail(WEFT_EINVAL, "model's %s is %lld, expected %lld", names[i],
                             (long long)v, (long long)values[i]);
    }
    if (err)
        return err;
    return attn_model_get_block(mf, "attn", p->memory, attn_tensor_count(cfg), block_tensor, cfg);
}
