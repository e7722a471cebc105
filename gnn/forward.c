/*
 * forward.c - the pipelined forward pass of the DAGNN encoder and its
 * incremental variant (DESIGN §6).
 *
 * One cell = (direction d, layer l, wave k): the nodes of topological wave
 * k of direction d, across all jobs, computing h^l. A cell
 *   1. attends over each node's predecessors' CURRENT-layer states h^l
 *      (DAGNN, Thost & Chen ICLR 2021, eq. 5-6):
 *        s_u = a · [h_v^{l-1} ; h_u^l],  α = softmax_u(s),  m_v = Σ α_u h_u^l
 *      (no predecessor: m_v = 0); a_pred · h_u^l is computed once per node
 *      when h_u^l is produced (cache q), so an edge costs O(1) + O(D);
 *   2. runs the GRU (Cho et al. 2014, PyTorch's gate convention) with
 *      input x = h_v^{l-1} and hidden m = m_v, one GEMM per gate group for
 *      the whole wave:
 *        [gi_r gi_z gi_n] = x W_i^T + b_i          (GEMM over the wave's rows)
 *        [gh_r gh_z gh_n] = m W_h^T + b_h          (GEMM over the wave's rows)
 *        r  = σ(gi_r + gh_r)
 *        z  = σ(gi_z + gh_z)
 *        n  = tanh(gi_n + r ⊙ gh_n)
 *        h' = (1 − z) ⊙ n + z ⊙ m
 *
 * Why the anti-diagonal order is valid: cell (l, k) reads h^{l-1} of wave k
 * (the GRU input, produced by cell (l-1, k)) and h^l of the predecessors,
 * which all lie in waves < k (plan.c's invariant), i.e. cells (l, k' < k).
 * Both have a smaller l + k, so running t = l + k = 0, 1, ..., L + W − 2
 * computes every cell after all cells it reads; the cells of one diagonal
 * never read each other, so they could run concurrently, and a wave's
 * states are consumed by the next layer one step after they are produced
 * (while still in cache) instead of after the whole graph. The two
 * directions are independent and share each diagonal step.
 *
 * Incremental: a node's states depend only on its own features and its
 * predecessors' states, so if the features of set C change, exactly
 * C ∪ descendants(C) (forward direction) and C ∪ ancestors(C) (backward
 * direction) change; the other rows of the cache stay valid and the same
 * grid runs over the changed rows only.
 *
 * Summaries (Decima, Mao et al. SIGCOMM 2019, §5.1): job summary
 * y_j = W2 tanh(W1 Σ_{v in j} e_v + b1) + b2, global summary
 * g = W2g tanh(W1g Σ_j y_j + b1g) + b2g, with e_v = [x_v ; h_fwd ; h_bwd].
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "gnn/gnn_internal.h"

static weft_real_t dot(const weft_real_t *a, const weft_real_t *b, size_t n)
{
    weft_real_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Cell (d, l) for nodes[0..n) of one wave: fills h, m, gates, q and alpha
 * of those nodes in c->layer[d][l]. */
static void cell_forward(gnn_cache_t *c, const gnn_layer_params_t *lp, const gnn_dir_plan_t *dp,
                         int d, size_t l, const size_t *nodes, size_t n, const gnn_work_t *w)
{
    size_t D = c->cfg.D, In;
    const weft_real_t *hin = gnn_layer_input(c, d, l, &In); /* [N, In] */
    gnn_layer_cache_t *lc = &c->layer[d][l];
    const weft_real_t *a_self = lp->att, *a_pred = lp->att + In; /* [In], [D] */
    assert(n <= c->M);
    if (n == 0)
        return;

    /* 1. gather inputs, attend, message */
    for (size_t i = 0; i < n; i++) {
        size_t v = nodes[i];
        const weft_real_t *xv = hin + v * In;
        memcpy(w->xw + i * In, xv, In * sizeof(weft_real_t));
        weft_real_t *m = w->mw + i * D;
        memset(m, 0, D * sizeof(weft_real_t));
        size_t e0 = dp->pred_start[v], e1 = dp->pred_start[v + 1];
        if (e1 > e0) {
            weft_real_t self = dot(a_self, xv, In), mx = -INFINITY, sum = 0;
            for (size_t e = e0; e < e1; e++) {
                lc->alpha[e] = self + lc->q[dp->pred[e]];
                if (lc->alpha[e] > mx)
                    mx = lc->alpha[e];
            }
            for (size_t e = e0; e < e1; e++) { /* sum >= 1: the max term is exp(0) */
                lc->alpha[e] = WEFT_EXP(lc->alpha[e] - mx);
                sum += lc->alpha[e];
            }
            for (size_t e = e0; e < e1; e++) {
                lc->alpha[e] /= sum;
                const weft_real_t *hu = lc->h + dp->pred[e] * D;
                for (size_t j = 0; j < D; j++)
                    m[j] += lc->alpha[e] * hu[j];
            }
        }
        memcpy(lc->m + v * D, m, D * sizeof(weft_real_t));
        memcpy(w->gi + i * 3 * D, lp->bi, 3 * D * sizeof(weft_real_t));
        memcpy(w->gh + i * 3 * D, lp->bh, 3 * D * sizeof(weft_real_t));
    }

    /* 2. the two gate groups, one GEMM each over the wave's rows:
     * gi [n,3D] += xw [n,In] · W_i^T,  gh [n,3D] += mw [n,D] · W_h^T */
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)(3 * D), (int)In, 1, w->xw,
              (int)In, lp->wi, (int)In, 1, w->gi, (int)(3 * D));
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)(3 * D), (int)D, 1, w->mw,
              (int)D, lp->wh, (int)D, 1, w->gh, (int)(3 * D));

    /* 3. gates and the new state */
    for (size_t i = 0; i < n; i++) {
        size_t v = nodes[i];
        const weft_real_t *gi = w->gi + i * 3 * D, *gh = w->gh + i * 3 * D, *m = w->mw + i * D;
        weft_real_t *g = lc->gates + v * 4 * D, *h = lc->h + v * D;
        for (size_t j = 0; j < D; j++) {
            weft_real_t r = gnn_sigmoid(gi[j] + gh[j]);
            weft_real_t z = gnn_sigmoid(gi[D + j] + gh[D + j]);
            weft_real_t hn = gh[2 * D + j];
            weft_real_t nn = gnn_tanh(gi[2 * D + j] + r * hn);
            h[j] = (1 - z) * nn + z * m[j];
            g[j] = r, g[D + j] = z, g[2 * D + j] = nn, g[3 * D + j] = hn;
        }
        lc->q[v] = dot(a_pred, h, D);
    }
}

/* Runs the L x W grid of both directions along anti-diagonals (see the top
 * of the file), wave k of direction d being list[d][start[d][k] ..
 * start[d][k+1]). */
static void run_grid(gnn_cache_t *c, const gnn_params_t *p, const gnn_plan_t *plan,
                     size_t *const list[GNN_NDIR], size_t *const start[GNN_NDIR])
{
    gnn_work_t w = gnn_work(c);
    size_t L = c->cfg.L, W = plan->dir[GNN_FWD].n_waves;
    if (W == 0)
        return;
    for (size_t t = 0; t + 1 < L + W; t++)
        for (int d = 0; d < GNN_NDIR; d++)
            for (size_t l = 0; l < L && l <= t; l++) {
                size_t k = t - l;
                if (k >= W)
                    continue;
                cell_forward(c, &p->layer[d][l], &plan->dir[d], d, l, list[d] + start[d][k],
                             start[d][k + 1] - start[d][k], &w);
            }
}

/* out[v, cols of direction d] = h^1..L of v in direction d. */
static void write_states(gnn_cache_t *c, int d, size_t v)
{
    size_t D = c->cfg.D, E = gnn_out_dim(&c->cfg);
    for (size_t l = 0; l < c->cfg.L; l++)
        memcpy(c->out + v * E + gnn_state_col(&c->cfg, d, l), c->layer[d][l].h + v * D,
               D * sizeof(weft_real_t));
}

/* Job summaries of jobs[0..nj): job_sum, job_act, job_out rows. Needs the
 * embedding columns of out for the jobs' nodes. */
static void job_summaries(gnn_cache_t *c, const gnn_params_t *p, const gnn_plan_t *plan,
                          const size_t *jobs, size_t nj)
{
    size_t H = gnn_embed_dim(&c->cfg), S = c->cfg.S, E = gnn_out_dim(&c->cfg);
    gnn_work_t w = gnn_work(c);
    if (nj == 0)
        return;
    for (size_t i = 0; i < nj; i++) {
        size_t j = jobs[i];
        weft_real_t *row = w.jh + i * H;
        memset(row, 0, H * sizeof(weft_real_t));
        for (size_t a = plan->job_start[j]; a < plan->job_start[j + 1]; a++) {
            const weft_real_t *e = c->out + plan->job_nodes[a] * E;
            for (size_t k = 0; k < H; k++)
                row[k] += e[k];
        }
        memcpy(c->job_sum + j * H, row, H * sizeof(weft_real_t));
        memcpy(w.ja + i * S, p->job_b1, S * sizeof(weft_real_t));
        memcpy(w.jo + i * S, p->job_b2, S * sizeof(weft_real_t));
    }
    /* ja [nj,S] = tanh(jh [nj,H] W1^T + b1) */
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nj, (int)S, (int)H, 1, w.jh, (int)H,
              p->job_w1, (int)H, 1, w.ja, (int)S);
    for (size_t k = 0; k < nj * S; k++)
        w.ja[k] = gnn_tanh(w.ja[k]);
    /* jo [nj,S] = ja W2^T + b2 */
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nj, (int)S, (int)S, 1, w.ja, (int)S,
              p->job_w2, (int)S, 1, w.jo, (int)S);
    for (size_t i = 0; i < nj; i++) {
        memcpy(c->job_act + jobs[i] * S, w.ja + i * S, S * sizeof(weft_real_t));
        memcpy(c->job_out + jobs[i] * S, w.jo + i * S, S * sizeof(weft_real_t));
    }
}

/* glob_sum, glob_act, glob_out from every job's job_out. O(J S + S^2). */
static void global_summary(gnn_cache_t *c, const gnn_params_t *p)
{
    size_t S = c->cfg.S;
    memset(c->glob_sum, 0, S * sizeof(weft_real_t));
    for (size_t j = 0; j < c->J; j++)
        for (size_t k = 0; k < S; k++)
            c->glob_sum[k] += c->job_out[j * S + k];
    for (size_t o = 0; o < S; o++)
        c->glob_act[o] = gnn_tanh(p->glob_b1[o] + dot(p->glob_w1 + o * S, c->glob_sum, S));
    for (size_t o = 0; o < S; o++)
        c->glob_out[o] = p->glob_b2[o] + dot(p->glob_w2 + o * S, c->glob_act, S);
}

static void write_job_cols(gnn_cache_t *c, const gnn_plan_t *plan, size_t v)
{
    size_t H = gnn_embed_dim(&c->cfg), S = c->cfg.S, E = gnn_out_dim(&c->cfg);
    memcpy(c->out + v * E + H, c->job_out + plan->job[v] * S, S * sizeof(weft_real_t));
}

static void write_glob_cols(gnn_cache_t *c, size_t v)
{
    size_t H = gnn_embed_dim(&c->cfg), S = c->cfg.S, E = gnn_out_dim(&c->cfg);
    memcpy(c->out + v * E + H + S, c->glob_out, S * sizeof(weft_real_t));
}

static void assert_shapes(const gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                          const gnn_plan_t *plan)
{
    (void)c, (void)p, (void)cfg, (void)plan;
    assert(c->N == plan->n_nodes && c->J == plan->n_jobs && c->NE == plan->n_edges);
    assert(c->M >= plan->max_wave_size);
    assert(c->cfg.F == cfg->F && c->cfg.D == cfg->D && c->cfg.L == cfg->L && c->cfg.S == cfg->S);
    assert(p->n == gnn_param_count(cfg));
}

void gnn_forward(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                 const gnn_plan_t *plan, const weft_real_t *X)
{
    assert_shapes(c, p, cfg, plan);
    size_t N = plan->n_nodes, F = cfg->F, E = gnn_out_dim(cfg);
    if (N)
        memcpy(c->x, X, N * F * sizeof(weft_real_t));
    size_t *list[GNN_NDIR] = {plan->dir[GNN_FWD].order, plan->dir[GNN_BWD].order};
    size_t *start[GNN_NDIR] = {plan->dir[GNN_FWD].wave_start, plan->dir[GNN_BWD].wave_start};
    run_grid(c, p, plan, list, start);
    for (size_t v = 0; v < N; v++) {
        memcpy(c->out + v * E, c->x + v * F, F * sizeof(weft_real_t));
        for (int d = 0; d < GNN_NDIR; d++)
            write_states(c, d, v);
    }
    for (size_t j = 0; j < plan->n_jobs; j++)
        c->job_list[j] = j;
    job_summaries(c, p, plan, c->job_list, plan->n_jobs);
    global_summary(c, p);
    for (size_t v = 0; v < N; v++) {
        write_job_cols(c, plan, v);
        write_glob_cols(c, v);
    }
    c->plan_id = plan->id;
}

/* Marks the closure of changed[] under direction d's successors (the other
 * direction's predecessors) and lists it wave by wave in dirty_nodes[d] /
 * dirty_start[d]. Returns its size. O(closure + its edges + W). */
static size_t mark_dirty(gnn_cache_t *c, const gnn_plan_t *plan, int d, const size_t *changed,
                         size_t n_changed)
{
    const gnn_dir_plan_t *dp = &plan->dir[d], *other = &plan->dir[1 - d];
    uint8_t *mark = c->dirty[d];
    size_t *queue = c->stack, head = 0, tail = 0;
    for (size_t i = 0; i < n_changed; i++)
        if (!mark[changed[i]]) {
            mark[changed[i]] = 1;
            queue[tail++] = changed[i];
        }
    while (head < tail) { /* breadth-first; queue[0..tail) is the closure */
        size_t u = queue[head++];
        for (size_t e = other->pred_start[u]; e < other->pred_start[u + 1]; e++) {
            size_t s = other->pred[e];
            if (!mark[s]) {
                mark[s] = 1;
                queue[tail++] = s;
            }
        }
    }
    /* counting sort by wave */
    size_t W = dp->n_waves, *st = c->dirty_start[d];
    memset(st, 0, (W + 1) * sizeof(size_t));
    for (size_t i = 0; i < tail; i++)
        st[dp->wave[queue[i]] + 1]++;
    for (size_t k = 0; k < W; k++)
        st[k + 1] += st[k];
    for (size_t i = 0; i < tail; i++) {
        size_t v = queue[i], k = dp->wave[v];
        /* st[k] is used as the cursor, then restored below */
        c->dirty_nodes[d][st[k]++] = v;
    }
    for (size_t k = W; k > 0; k--) /* cursors now hold the ends: shift back */
        st[k] = st[k - 1];
    st[0] = 0;
    return tail;
}

weft_err_t gnn_forward_incremental(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                                   const gnn_plan_t *plan, const weft_real_t *X,
                                   const size_t *changed, size_t n_changed)
{
    if (c->plan_id == 0 || c->plan_id != plan->id)
        return weft_fail(WEFT_EINVAL, "gnn incremental: the cache holds no forward pass of this "
                                      "plan; run gnn_forward first");
    assert_shapes(c, p, cfg, plan);
    size_t N = plan->n_nodes, F = cfg->F, E = gnn_out_dim(cfg);
    for (size_t i = 0; i < n_changed; i++)
        if (changed[i] >= N)
            return weft_fail(WEFT_EINVAL, "gnn incremental: changed[%zu] = %zu, expected < %zu",
                             i, changed[i], N);
    for (size_t i = 0; i < n_changed; i++) {
        size_t v = changed[i];
        memcpy(c->x + v * F, X + v * F, F * sizeof(weft_real_t));
        memcpy(c->out + v * E, X + v * F, F * sizeof(weft_real_t));
    }
    size_t n_dirty[GNN_NDIR];
    for (int d = 0; d < GNN_NDIR; d++)
        n_dirty[d] = mark_dirty(c, plan, d, changed, n_changed);
    run_grid(c, p, plan, c->dirty_nodes, c->dirty_start);
    for (int d = 0; d < GNN_NDIR; d++)
        for (size_t i = 0; i < n_dirty[d]; i++)
            write_states(c, d, c->dirty_nodes[d][i]);

    /* a job's summary changes iff one of its nodes changed (a job is a
     * connected component, so its dirty nodes are the changed nodes'
     * relatives) */
    size_t nj = 0;
    for (size_t i = 0; i < n_changed; i++) {
        size_t j = plan->job[changed[i]];
        if (!c->job_mark[j]) {
            c->job_mark[j] = 1;
            c->job_list[nj++] = j;
        }
    }
    job_summaries(c, p, plan, c->job_list, nj);
    global_summary(c, p);
    for (size_t i = 0; i < nj; i++) {
        size_t j = c->job_list[i];
        for (size_t a = plan->job_start[j]; a < plan->job_start[j + 1]; a++)
            write_job_cols(c, plan, plan->job_nodes[a]);
        c->job_mark[j] = 0;
    }
    for (size_t v = 0; v < N; v++)
        write_glob_cols(c, v);
    for (int d = 0; d < GNN_NDIR; d++)
        for (size_t i = 0; i < n_dirty[d]; i++)
            c->dirty[d][c->dirty_nodes[d][i]] = 0;
    return WEFT_OK;
}
