/*
 * gnn_internal.h - what the files of gnn/ share and no one else needs: the
 * workspace layout of the cache and small scalar helpers.
 */
#ifndef GNN_INTERNAL_H
#define GNN_INTERNAL_H

#include "gnn/gnn.h"

/* Views into gnn_cache_t.work. M = plan.max_wave_size, I_max = max(F, D). */
typedef struct {
    weft_real_t *xw;  /* [M, I_max] gathered layer inputs h^{l-1} of one wave */
    weft_real_t *mw;  /* [M, D] gathered messages */
    weft_real_t *gi;  /* [M, 3D] input-side gate pre-activations (backward: their grads) */
    weft_real_t *gh;  /* [M, 3D] hidden-side gate pre-activations (backward: their grads) */
    weft_real_t *dxw; /* [M, I_max] backward: grads of the gathered inputs */
    weft_real_t *dmw; /* [M, D] backward: grads of the gathered messages */
    weft_real_t *jh;  /* [J, H] gathered job sums (backward: their grads) */
    weft_real_t *ja;  /* [J, S] job MLP hidden (backward: grads) */
    weft_real_t *jo;  /* [J, S] job MLP output (backward: grads) */
    weft_real_t *sv;  /* [4S] global MLP scratch (backward: grads) */
} gnn_work_t;

gnn_work_t gnn_work(const gnn_cache_t *c);

/* The input of layer l of direction d: x for the first layer, else the
 * previous layer's states; *In receives its width. [N, In] */
static inline const weft_real_t *gnn_layer_input(const gnn_cache_t *c, int d, size_t l, size_t *In)
{
    if (l == 0) {
        *In = c->cfg.F;
        return c->x;
    }
    *In = c->cfg.D;
    return c->layer[d][l - 1].h;
}

static inline weft_real_t gnn_sigmoid(weft_real_t x)
{
    return (weft_real_t)1 / ((weft_real_t)1 + WEFT_EXP(-x));
}

/* tanh(x) = 2σ(2x) − 1: one exp instead of glibc's tanhf (fdlibm's
 * expm1f, about 3x the cost of expf and most of the forward pass's time
 * at D = 16). Absolute error ~1 ulp of 1, which is all a GRU gate needs;
 * the derivative 1 − tanh² used by backward stays exact to that order.
 * Saturates cleanly: exp overflow gives 2/inf − 1 = −1. */
static inline weft_real_t gnn_tanh(weft_real_t x)
{
    return (weft_real_t)2 / ((weft_real_t)1 + WEFT_EXP(-2 * x)) - (weft_real_t)1;
}

/* Column of c->out where direction d, layer l's state starts. */
static inline size_t gnn_state_col(const gnn_config_t *cfg, int d, size_t l)
{
    return cfg->F + ((size_t)d * cfg->L + l) * cfg->D;
}

#endif
