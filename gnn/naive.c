/*
 * naive.c - the reference forward pass: the same equations as forward.c
 * (see there), written as per-node loops without BLAS, layer by layer and
 * wave by wave, with the attention score computed in full per edge. It
 * exists to test the pipelined, batched and incremental paths against and
 * as the benchmark's baseline; it fills the same cache so gnn_backward can
 * follow it.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "gnn/gnn_internal.h"

/* h^l of node v in direction d (layer l). */
static void naive_node(gnn_cache_t *c, const gnn_layer_params_t *lp, const gnn_dir_plan_t *dp,
                       int d, size_t l, size_t v)
{
    size_t D = c->cfg.D, In;
    const weft_real_t *x = gnn_layer_input(c, d, l, &In) + v * In; /* [In] */
    gnn_layer_cache_t *lc = &c->layer[d][l];
    weft_real_t *m = lc->m + v * D, *g = lc->gates + v * 4 * D, *h = lc->h + v * D;
    size_t e0 = dp->pred_start[v], e1 = dp->pred_start[v + 1];

    /* s_u = a · [x ; h_u], softmax, m = Σ α_u h_u */
    weft_real_t mx = -INFINITY, sum = 0;
    for (size_t e = e0; e < e1; e++) {
        const weft_real_t *hu = lc->h + dp->pred[e] * D;
        weft_real_t s = 0;
        for (size_t i = 0; i < In; i++)
            s += lp->att[i] * x[i];
        for (size_t j = 0; j < D; j++)
            s += lp->att[In + j] * hu[j];
        lc->alpha[e] = s;
        mx = s > mx ? s : mx;
    }
    for (size_t e = e0; e < e1; e++) {
        lc->alpha[e] = WEFT_EXP(lc->alpha[e] - mx);
        sum += lc->alpha[e];
    }
    for (size_t j = 0; j < D; j++)
        m[j] = 0;
    for (size_t e = e0; e < e1; e++) {
        lc->alpha[e] /= sum;
        for (size_t j = 0; j < D; j++)
            m[j] += lc->alpha[e] * lc->h[dp->pred[e] * D + j];
    }

    /* GRU, row by row of W_i and W_h */
    for (size_t j = 0; j < D; j++) {
        weft_real_t gi[3], gh[3];
        for (size_t gate = 0; gate < 3; gate++) {
            size_t row = gate * D + j;
            weft_real_t a = lp->bi[row], b = lp->bh[row];
            for (size_t i = 0; i < In; i++)
                a += lp->wi[row * In + i] * x[i];
            for (size_t k = 0; k < D; k++)
                b += lp->wh[row * D + k] * m[k];
            gi[gate] = a, gh[gate] = b;
        }
        weft_real_t r = gnn_sigmoid(gi[0] + gh[0]);
        weft_real_t z = gnn_sigmoid(gi[1] + gh[1]);
        weft_real_t nn = gnn_tanh(gi[2] + r * gh[2]);
        h[j] = (1 - z) * nn + z * m[j];
        g[j] = r, g[D + j] = z, g[2 * D + j] = nn, g[3 * D + j] = gh[2];
    }
    weft_real_t q = 0;
    for (size_t j = 0; j < D; j++)
        q += lp->att[In + j] * h[j];
    lc->q[v] = q;
}

/* y[o] = act(b[o] + Σ_i w[o*in + i] x[i]) for o < out; act = tanh or none. */
static void naive_linear(weft_real_t *y, const weft_real_t *w, const weft_real_t *b,
                         const weft_real_t *x, size_t out, size_t in, int use_tanh)
{
    for (size_t o = 0; o < out; o++) {
        weft_real_t s = b[o];
        for (size_t i = 0; i < in; i++)
            s += w[o * in + i] * x[i];
        y[o] = use_tanh ? gnn_tanh(s) : s;
    }
}

void gnn_forward_naive(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                       const gnn_plan_t *plan, const weft_real_t *X)
{
    assert(c->N == plan->n_nodes && c->J == plan->n_jobs && c->NE == plan->n_edges);
    assert(c->cfg.F == cfg->F && c->cfg.D == cfg->D && c->cfg.L == cfg->L && c->cfg.S == cfg->S);
    assert(p->n == gnn_param_count(cfg));
    size_t N = plan->n_nodes, F = cfg->F, D = cfg->D, S = cfg->S;
    size_t H = gnn_embed_dim(cfg), E = gnn_out_dim(cfg);
    if (N)
        memcpy(c->x, X, N * F * sizeof(weft_real_t));
    for (int d = 0; d < GNN_NDIR; d++) {
        const gnn_dir_plan_t *dp = &plan->dir[d];
        for (size_t l = 0; l < cfg->L; l++)
            for (size_t k = 0; k < dp->n_waves; k++)
                for (size_t i = dp->wave_start[k]; i < dp->wave_start[k + 1]; i++)
                    naive_node(c, &p->layer[d][l], dp, d, l, dp->order[i]);
    }
    /* embeddings */
    for (size_t v = 0; v < N; v++) {
        weft_real_t *o = c->out + v * E;
        for (size_t f = 0; f < F; f++)
            o[f] = c->x[v * F + f];
        for (int d = 0; d < GNN_NDIR; d++)
            for (size_t l = 0; l < cfg->L; l++)
                for (size_t j = 0; j < D; j++)
                    o[gnn_state_col(cfg, d, l) + j] = c->layer[d][l].h[v * D + j];
    }
    /* summaries */
    for (size_t j = 0; j < plan->n_jobs; j++) {
        weft_real_t *sum = c->job_sum + j * H;
        for (size_t k = 0; k < H; k++)
            sum[k] = 0;
        for (size_t a = plan->job_start[j]; a < plan->job_start[j + 1]; a++)
            for (size_t k = 0; k < H; k++)
                sum[k] += c->out[plan->job_nodes[a] * E + k];
        naive_linear(c->job_act + j * S, p->job_w1, p->job_b1, sum, S, H, 1);
        naive_linear(c->job_out + j * S, p->job_w2, p->job_b2, c->job_act + j * S, S, S, 0);
    }
    for (size_t k = 0; k < S; k++) {
        c->glob_sum[k] = 0;
        for (size_t j = 0; j < plan->n_jobs; j++)
            c->glob_sum[k] += c->job_out[j * S + k];
    }
    naive_linear(c->glob_act, p->glob_w1, p->glob_b1, c->glob_sum, S, S, 1);
    naive_linear(c->glob_out, p->glob_w2, p->glob_b2, c->glob_act, S, S, 0);
    for (size_t v = 0; v < N; v++)
        for (size_t k = 0; k < S; k++) {
            c->out[v * E + H + k] = c->job_out[plan->job[v] * S + k];
            c->out[v * E + H + S + k] = c->glob_out[k];
        }
    c->plan_id = plan->id;
}
