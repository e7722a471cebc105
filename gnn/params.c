/*
 * params.c - the encoder's parameter block: the size table, one allocation
 * pointed into by a struct of pointers (llm.c's malloc_and_point), and a
 * deterministic initialisation.
 *
 * Invariant: tensor i of the size table starts at offset Σ_{j<i} size_j of
 * memory, in the order: for each direction (fwd, bwd), for each layer,
 * att, wi, bi, wh, bh; then job.w1, job.b1, job.w2, job.b2, glob.w1,
 * glob.b1, glob.w2, glob.b2. Gradients and Adam moments use the same table,
 * so element k of each block belongs to the same parameter.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"

enum { PER_LAYER = 5, N_SUMMARY = 8 };

weft_err_t gnn_config_check(const gnn_config_t *cfg)
{
    if (cfg->F == 0)
        return weft_fail(WEFT_EINVAL, "gnn config: F (input features) is 0, expected >= 1");
    if (cfg->D == 0)
        return weft_fail(WEFT_EINVAL, "gnn config: D (hidden width) is 0, expected >= 1");
    if (cfg->S == 0)
        return weft_fail(WEFT_EINVAL, "gnn config: S (summary width) is 0, expected >= 1");
    if (cfg->L == 0 || cfg->L > GNN_MAX_LAYERS)
        return weft_fail(WEFT_EINVAL, "gnn config: L (layers) is %zu, expected 1..%d", cfg->L,
                         GNN_MAX_LAYERS);
    /* every size below is a small polynomial in these; a generous bound
     * keeps all products far from SIZE_MAX */
    const size_t big = (size_t)1 << 20;
    if (cfg->F > big || cfg->D > big || cfg->S > big)
        return weft_fail(WEFT_EINVAL, "gnn config: F=%zu D=%zu S=%zu, expected each <= %zu",
                         cfg->F, cfg->D, cfg->S, big);
    return WEFT_OK;
}

size_t gnn_embed_dim(const gnn_config_t *cfg) { return cfg->F + 2 * cfg->L * cfg->D; }

size_t gnn_out_dim(const gnn_config_t *cfg) { return gnn_embed_dim(cfg) + 2 * cfg->S; }

size_t gnn_tensor_count(const gnn_config_t *cfg)
{
    return GNN_NDIR * cfg->L * PER_LAYER + N_SUMMARY;
}

/* Size and name of tensor i (no offset). */
static size_t tensor_size(const gnn_config_t *cfg, size_t i, char *name, size_t name_len)
{
    static const char *const layer_names[PER_LAYER] = {"att", "wi", "bi", "wh", "bh"};
    static const char *const sum_names[N_SUMMARY] = {"job.w1",  "job.b1",  "job.w2",  "job.b2",
                                                     "glob.w1", "glob.b1", "glob.w2", "glob.b2"};
    size_t F = cfg->F, D = cfg->D, L = cfg->L, S = cfg->S, H = gnn_embed_dim(cfg);
    size_t n_layer = GNN_NDIR * L * PER_LAYER;
    if (i < n_layer) {
        size_t dir = i / (L * PER_LAYER), l = (i / PER_LAYER) % L, k = i % PER_LAYER;
        size_t In = l == 0 ? F : D;
        if (name)
            snprintf(name, name_len, "%s%zu.%s", dir == GNN_FWD ? "fwd" : "bwd", l + 1,
                     layer_names[k]);
        switch (k) {
        case 0: return In + D;
        case 1: return 3 * D * In;
        case 2: return 3 * D;
        case 3: return 3 * D * D;
        default: return 3 * D;
        }
    }
    size_t k = i - n_layer;
    assert(k < N_SUMMARY);
    if (name)
        snprintf(name, name_len, "%s", sum_names[k]);
    static const int is_bias[N_SUMMARY] = {0, 1, 0, 1, 0, 1, 0, 1};
    if (is_bias[k])
        return S;
    return k == 0 ? S * H : S * S;
}

size_t gnn_param_count(const gnn_config_t *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < gnn_tensor_count(cfg); i++)
        n += tensor_size(cfg, i, NULL, 0);
    return n;
}

gnn_tensor_info_t gnn_tensor_info(const gnn_config_t *cfg, size_t i)
{
    assert(i < gnn_tensor_count(cfg));
    gnn_tensor_info_t t;
    memset(&t, 0, sizeof t);
    t.offset = 0;
    for (size_t j = 0; j < i; j++)
        t.offset += tensor_size(cfg, j, NULL, 0);
    t.size = tensor_size(cfg, i, t.name, sizeof t.name);
    return t;
}

/* Points every field of p into p->memory following the size table. */
static void point_params(gnn_params_t *p, const gnn_config_t *cfg)
{
    weft_real_t *at = p->memory;
    size_t i = 0;
    for (size_t dir = 0; dir < GNN_NDIR; dir++)
        for (size_t l = 0; l < cfg->L; l++) {
            weft_real_t **fields[PER_LAYER] = {&p->layer[dir][l].att, &p->layer[dir][l].wi,
                                               &p->layer[dir][l].bi, &p->layer[dir][l].wh,
                                               &p->layer[dir][l].bh};
            for (size_t k = 0; k < PER_LAYER; k++, i++) {
                *fields[k] = at;
                at += tensor_size(cfg, i, NULL, 0);
            }
        }
    weft_real_t **sums[N_SUMMARY] = {&p->job_w1,  &p->job_b1,  &p->job_w2,  &p->job_b2,
                                     &p->glob_w1, &p->glob_b1, &p->glob_w2, &p->glob_b2};
    for (size_t k = 0; k < N_SUMMARY; k++, i++) {
        *sums[k] = at;
        at += tensor_size(cfg, i, NULL, 0);
    }
    assert((size_t)(at - p->memory) == p->n);
}

weft_err_t gnn_params_init(gnn_params_t *p, const gnn_config_t *cfg)
{
    memset(p, 0, sizeof *p);
    weft_err_t err = gnn_config_check(cfg);
    if (err)
        return err;
    size_t n = gnn_param_count(cfg);
    p->memory = weft_calloc(n, sizeof(weft_real_t));
    if (!p->memory)
        return weft_fail(WEFT_ENOMEM, "gnn: cannot allocate %zu parameters", n);
    p->n = n;
    point_params(p, cfg);
    return WEFT_OK;
}

void gnn_params_destroy(gnn_params_t *p)
{
    free(p->memory);
    memset(p, 0, sizeof *p);
}

void gnn_params_zero(gnn_params_t *p)
{
    if (p->n)
        memset(p->memory, 0, p->n * sizeof(weft_real_t));
}

void gnn_params_init_random(gnn_params_t *p, const gnn_config_t *cfg, uint64_t seed)
{
    assert(p->n == gnn_param_count(cfg));
    uint64_t s = seed;
    size_t F = cfg->F, D = cfg->D, S = cfg->S, H = gnn_embed_dim(cfg);
    gnn_params_zero(p); /* biases stay 0 */
    for (size_t dir = 0; dir < GNN_NDIR; dir++)
        for (size_t l = 0; l < cfg->L; l++) {
            gnn_layer_params_t *lp = &p->layer[dir][l];
            size_t In = l == 0 ? F : D;
            weft_fill_xavier(lp->att, 1, In + D, &s);
            /* per gate block, as if each gate were its own (D, In) layer */
            for (size_t g = 0; g < 3; g++) {
                weft_fill_xavier(lp->wi + g * D * In, D, In, &s);
                weft_fill_xavier(lp->wh + g * D * D, D, D, &s);
            }
        }
    weft_fill_xavier(p->job_w1, S, H, &s);
    weft_fill_xavier(p->job_w2, S, S, &s);
    weft_fill_xavier(p->glob_w1, S, S, &s);
    weft_fill_xavier(p->glob_w2, S, S, &s);
}
