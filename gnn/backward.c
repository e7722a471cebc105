/*
 * backward.c - gradients of the whole encoder (DAGNN layers of both
 * directions and the Decima summaries), walking forward.c's passes in
 * reverse:
 *   forward                                  backward (this file, in order)
 *   F1 x = X                                 B6 dX += dx
 *   F2 grid over t = 0 .. L+W−2             B5 grid over t = L+W−2 .. 0
 *   F3 out[:, 0:H] = [x ; h_fwd ; h_bwd]     B4 dx, dh from d(embedding)
 *   F4 job_sum = Σ_{v in j} e_v              B3 d(embedding) += dJobSum[job]
 *   F5 job MLP, F6 glob_sum = Σ_j job_out,   B2 job MLP back (after B1)
 *   F7 global MLP, F8 summary columns of out B1 global MLP back
 * Reverse anti-diagonal order is valid: dh^l of wave k receives from cell
 * (l+1, k) (as that cell's GRU input) and from cells (l, k' > k) (whose
 * attention reads h^l of their predecessors); both have a larger l + k, so
 * they are finished when (l, k) runs.
 *
 * Every array keeps its forward shape; gradients carry a d prefix and are
 * added (+=) into the caller's zeroed gradient block.
 */
#include <assert.h>
#include <string.h>

#include "gnn/gnn_internal.h"

/* Backward of cell (d, l) for nodes[0..n) of one wave; c->layer[d][l].dh
 * of these nodes is complete on entry. Adds into dlp, into dh of the
 * predecessors (same layer), and into dh of layer l-1 (or dX for l = 0). */
static void cell_backward(gnn_cache_t *c, gnn_layer_params_t *dlp, weft_real_t *dX,
                          const gnn_layer_params_t *lp, const gnn_dir_plan_t *dp, int d, size_t l,
                          const size_t *nodes, size_t n, const gnn_work_t *w)
{
    size_t D = c->cfg.D, In;
    const weft_real_t *hin = gnn_layer_input(c, d, l, &In); /* [N, In] */
    gnn_layer_cache_t *lc = &c->layer[d][l];
    const weft_real_t *a_self = lp->att, *a_pred = lp->att + In;
    weft_real_t *da_self = dlp->att, *da_pred = dlp->att + In;
    assert(n <= c->M);
    if (n == 0)
        return;

    /* undo the gates, node by node:
     *   h = (1−z) n + z m:  dn = dh (1−z), dz = dh (m − n), dm = dh z
     *   n = tanh(gi_n + r hn):  dan = dn (1 − n²), dgi_n = dan,
     *                            dr = dan hn, dhn = dan r
     *   z = σ(gi_z + gh_z):  dgi_z = dgh_z = dz z (1−z)
     *   r = σ(gi_r + gh_r):  dgi_r = dgh_r = dr r (1−r)          */
    for (size_t i = 0; i < n; i++) {
        size_t v = nodes[i];
        const weft_real_t *g = lc->gates + v * 4 * D, *m = lc->m + v * D, *dh = lc->dh + v * D;
        weft_real_t *dgi = w->gi + i * 3 * D, *dgh = w->gh + i * 3 * D, *dm = w->dmw + i * D;
        memcpy(w->xw + i * In, hin + v * In, In * sizeof(weft_real_t));
        memcpy(w->mw + i * D, m, D * sizeof(weft_real_t));
        for (size_t j = 0; j < D; j++) {
            weft_real_t r = g[j], z = g[D + j], nn = g[2 * D + j], hn = g[3 * D + j];
            weft_real_t dn = dh[j] * (1 - z);
            weft_real_t dz = dh[j] * (m[j] - nn);
            dm[j] = dh[j] * z;
            weft_real_t dan = dn * (1 - nn * nn);
            weft_real_t dr = dan * hn;
            weft_real_t daz = dz * z * (1 - z);
            weft_real_t dar = dr * r * (1 - r);
            dgi[j] = dar, dgi[D + j] = daz, dgi[2 * D + j] = dan;
            dgh[j] = dar, dgh[D + j] = daz, dgh[2 * D + j] = dan * r;
        }
    }
    /* undo gi = x W_i^T + b_i:  dW_i += dgi^T x [3D,In],  dx = dgi W_i [n,In] */
    WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(3 * D), (int)In, (int)n, 1, w->gi,
              (int)(3 * D), w->xw, (int)In, 1, dlp->wi, (int)In);
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)In, (int)(3 * D), 1, w->gi,
              (int)(3 * D), lp->wi, (int)In, 0, w->dxw, (int)In);
    /* undo gh = m W_h^T + b_h:  dW_h += dgh^T m [3D,D],  dm += dgh W_h [n,D] */
    WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(3 * D), (int)D, (int)n, 1, w->gh,
              (int)(3 * D), w->mw, (int)D, 1, dlp->wh, (int)D);
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)D, (int)(3 * D), 1, w->gh,
              (int)(3 * D), lp->wh, (int)D, 1, w->dmw, (int)D);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3 * D; k++) {
            dlp->bi[k] += w->gi[i * 3 * D + k];
            dlp->bh[k] += w->gh[i * 3 * D + k];
        }

    /* undo the attention, node by node:
     *   m = Σ α_e h_u:      dh_u += α_e dm,  dα_e = dm · h_u
     *   α = softmax(s):     ds_e = α_e (dα_e − Σ_e' α_e' dα_e')
     *   s_e = a_self·x + a_pred·h_u:  da_self += ds_e x, da_pred += ds_e h_u,
     *                        dx += ds_e a_self,  dh_u += ds_e a_pred
     * (Σ_e ds_e = 0, so the a_self terms vanish up to rounding.) */
    for (size_t i = 0; i < n; i++) {
        size_t v = nodes[i];
        size_t e0 = dp->pred_start[v], e1 = dp->pred_start[v + 1];
        if (e1 == e0)
            continue; /* m = 0 was a constant */
        const weft_real_t *dm = w->dmw + i * D, *x = hin + v * In;
        weft_real_t *dx = w->dxw + i * In;
        weft_real_t adot = 0;
        for (size_t e = e0; e < e1; e++) {
            const weft_real_t *hu = lc->h + dp->pred[e] * D;
            weft_real_t da = 0;
            for (size_t j = 0; j < D; j++)
                da += dm[j] * hu[j];
            adot += lc->alpha[e] * da;
        }
        weft_real_t ds_sum = 0;
        for (size_t e = e0; e < e1; e++) {
            size_t u = dp->pred[e];
            const weft_real_t *hu = lc->h + u * D;
            weft_real_t *dhu = lc->dh + u * D, alpha = lc->alpha[e];
            weft_real_t da = 0;
            for (size_t j = 0; j < D; j++)
                da += dm[j] * hu[j];
            weft_real_t ds = alpha * (da - adot);
            ds_sum += ds;
            for (size_t j = 0; j < D; j++) {
                dhu[j] += alpha * dm[j] + ds * a_pred[j];
                da_pred[j] += ds * hu[j];
            }
        }
        for (size_t k = 0; k < In; k++) {
            da_self[k] += ds_sum * x[k];
            dx[k] += ds_sum * a_self[k];
        }
    }

    /* scatter dx to the previous layer's states (or to dX) */
    for (size_t i = 0; i < n; i++) {
        size_t v = nodes[i];
        const weft_real_t *dx = w->dxw + i * In;
        weft_real_t *to = l > 0 ? c->layer[d][l - 1].dh + v * In : dX ? dX + v * In : NULL;
        if (to)
            for (size_t k = 0; k < In; k++)
                to[k] += dx[k];
    }
}

void gnn_backward(gnn_params_t *dp, weft_real_t *dX, const weft_real_t *dOut, gnn_cache_t *c,
                  const gnn_params_t *p, const gnn_config_t *cfg, const gnn_plan_t *plan)
{
    assert(c->plan_id != 0 && c->plan_id == plan->id);
    assert(c->N == plan->n_nodes && c->J == plan->n_jobs && c->NE == plan->n_edges);
    assert(c->cfg.F == cfg->F && c->cfg.D == cfg->D && c->cfg.L == cfg->L && c->cfg.S == cfg->S);
    assert(p->n == gnn_param_count(cfg) && dp->n == p->n);
    size_t N = plan->n_nodes, J = plan->n_jobs, F = cfg->F, D = cfg->D, L = cfg->L, S = cfg->S;
    size_t H = gnn_embed_dim(cfg), E = gnn_out_dim(cfg);
    gnn_work_t w = gnn_work(c);
    weft_real_t *dyg = w.sv, *dag = w.sv + S, *dgs = w.sv + 2 * S;
    weft_real_t *dyj = w.jo, *dpj = w.ja, *djs = w.jh; /* [J,S], [J,S], [J,H] */

    /* B1 undoes F8 (global columns) and F7 (global MLP) */
    memset(dyg, 0, S * sizeof(weft_real_t));
    for (size_t v = 0; v < N; v++)
        for (size_t k = 0; k < S; k++)
            dyg[k] += dOut[v * E + H + S + k];
    /* glob_out = W2g glob_act + b2g */
    for (size_t o = 0; o < S; o++) {
        dp->glob_b2[o] += dyg[o];
        for (size_t i = 0; i < S; i++)
            dp->glob_w2[o * S + i] += dyg[o] * c->glob_act[i];
    }
    for (size_t i = 0; i < S; i++) {
        weft_real_t s = 0;
        for (size_t o = 0; o < S; o++)
            s += p->glob_w2[o * S + i] * dyg[o];
        dag[i] = s * (1 - c->glob_act[i] * c->glob_act[i]); /* glob_act = tanh(pre) */
    }
    /* pre = W1g glob_sum + b1g */
    for (size_t o = 0; o < S; o++) {
        dp->glob_b1[o] += dag[o];
        for (size_t i = 0; i < S; i++)
            dp->glob_w1[o * S + i] += dag[o] * c->glob_sum[i];
    }
    for (size_t i = 0; i < S; i++) {
        weft_real_t s = 0;
        for (size_t o = 0; o < S; o++)
            s += p->glob_w1[o * S + i] * dag[o];
        dgs[i] = s;
    }

    /* B2 undoes F6 (glob_sum = Σ_j job_out), F8 (job columns) and F5 */
    for (size_t j = 0; j < J; j++)
        memcpy(dyj + j * S, dgs, S * sizeof(weft_real_t));
    for (size_t v = 0; v < N; v++)
        for (size_t k = 0; k < S; k++)
            dyj[plan->job[v] * S + k] += dOut[v * E + H + k];
    if (J > 0) {
        /* job_out = job_act W2^T + b2: dW2 += dyj^T job_act, d(job_act) = dyj W2 */
        WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)S, (int)J, 1, dyj, (int)S,
                  c->job_act, (int)S, 1, dp->job_w2, (int)S);
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)J, (int)S, (int)S, 1, dyj,
                  (int)S, p->job_w2, (int)S, 0, dpj, (int)S);
        for (size_t j = 0; j < J; j++)
            for (size_t k = 0; k < S; k++) {
                dp->job_b2[k] += dyj[j * S + k];
                weft_real_t a = c->job_act[j * S + k];
                dpj[j * S + k] *= 1 - a * a; /* job_act = tanh(pre) */
            }
        /* pre = job_sum W1^T + b1: dW1 += dpj^T job_sum, d(job_sum) = dpj W1 */
        WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)H, (int)J, 1, dpj, (int)S,
                  c->job_sum, (int)H, 1, dp->job_w1, (int)H);
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)J, (int)H, (int)S, 1, dpj,
                  (int)S, p->job_w1, (int)H, 0, djs, (int)H);
        for (size_t j = 0; j < J; j++)
            for (size_t k = 0; k < S; k++)
                dp->job_b1[k] += dpj[j * S + k];
    }

    /* B3 + B4 undo F4 (job_sum = Σ e_v) and F3 (e_v = [x ; h ...]):
     * d(e_v) = dOut[v, 0:H] + djs[job v], split into dx and the dh's */
    for (size_t v = 0; v < N; v++) {
        const weft_real_t *de = dOut + v * E, *dj = djs + plan->job[v] * H;
        if (dX)
            for (size_t f = 0; f < F; f++)
                dX[v * F + f] += de[f] + dj[f];
        for (int d = 0; d < GNN_NDIR; d++)
            for (size_t l = 0; l < L; l++) {
                size_t col = gnn_state_col(cfg, d, l);
                weft_real_t *dh = c->layer[d][l].dh + v * D;
                for (size_t j = 0; j < D; j++)
                    dh[j] = de[col + j] + dj[col + j];
            }
    }

    /* B5 undoes F2: the grid in reverse anti-diagonal order */
    size_t W = plan->dir[GNN_FWD].n_waves;
    for (size_t t = L + W - 1; W > 0 && t-- > 0;)
        for (int d = 0; d < GNN_NDIR; d++)
            for (size_t l = L; l-- > 0;) {
                if (l > t || t - l >= W)
                    continue;
                size_t k = t - l;
                const gnn_dir_plan_t *dpl = &plan->dir[d];
                cell_backward(c, &dp->layer[d][l], dX, &p->layer[d][l], dpl, d, l,
                              dpl->order + dpl->wave_start[k],
                              dpl->wave_start[k + 1] - dpl->wave_start[k], &w);
            }
    /* B6 (undo F1): the layer-0 cells added their dx into dX directly */
}
