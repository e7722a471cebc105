/*
 * cache.c - the encoder's activation cache: two blocks (reals, indices)
 * that grow to the largest batch seen and are pointed for the current one.
 *
 * Invariant: after gnn_cache_prepare, dirty[d] and job_mark are all zero
 * (the incremental pass clears what it marks), and plan_id is 0 until a
 * full forward fills every activation for that plan.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn_internal.h"

void gnn_cache_init(gnn_cache_t *c) { memset(c, 0, sizeof *c); }

void gnn_cache_destroy(gnn_cache_t *c)
{
    free(c->block);
    free(c->iblock);
    memset(c, 0, sizeof *c);
}

/* Checked size arithmetic: once overflowed, stays overflowed. */
typedef struct {
    size_t n;
    int overflow;
} size_acc_t;

static size_t mul(size_acc_t *a, size_t x, size_t y)
{
    if (y != 0 && x > SIZE_MAX / y) {
        a->overflow = 1;
        return 0;
    }
    return x * y;
}

static void add(size_acc_t *a, size_t x)
{
    if (a->n > SIZE_MAX - x)
        a->overflow = 1;
    else
        a->n += x;
}

/* Sizes of the work block. */
static size_t work_size(size_acc_t *a, const gnn_config_t *cfg, size_t M, size_t J)
{
    size_t D = cfg->D, S = cfg->S, H = gnn_embed_dim(cfg);
    size_t Imax = cfg->F > D ? cfg->F : D;
    size_acc_t w = {0, 0};
    add(&w, mul(&w, M, 2 * Imax));
    add(&w, mul(&w, M, 8 * D));
    add(&w, mul(&w, J, H + 2 * S));
    add(&w, 4 * S);
    if (w.overflow)
        a->overflow = 1;
    return w.n;
}

gnn_work_t gnn_work(const gnn_cache_t *c)
{
    size_t D = c->cfg.D, S = c->cfg.S, H = gnn_embed_dim(&c->cfg);
    size_t Imax = c->cfg.F > D ? c->cfg.F : D;
    size_t M = c->N ? c->M : 0;
    gnn_work_t w;
    weft_real_t *at = c->work;
    w.xw = at, at += M * Imax;
    w.dxw = at, at += M * Imax;
    w.mw = at, at += M * D;
    w.dmw = at, at += M * D;
    w.gi = at, at += M * 3 * D;
    w.gh = at, at += M * 3 * D;
    w.jh = at, at += c->J * H;
    w.ja = at, at += c->J * S;
    w.jo = at, at += c->J * S;
    w.sv = at, at += 4 * S;
    assert((size_t)(at - c->work) == c->n_work);
    return w;
}

weft_err_t gnn_cache_prepare(gnn_cache_t *c, const gnn_config_t *cfg, const gnn_plan_t *plan)
{
    weft_err_t err = gnn_config_check(cfg);
    if (err)
        return err;
    size_t N = plan->n_nodes, J = plan->n_jobs, NE = plan->n_edges, M = plan->max_wave_size;
    size_t D = cfg->D, S = cfg->S, H = gnn_embed_dim(cfg), E = gnn_out_dim(cfg);
    size_t W = plan->dir[GNN_FWD].n_waves > plan->dir[GNN_BWD].n_waves
                   ? plan->dir[GNN_FWD].n_waves
                   : plan->dir[GNN_BWD].n_waves;

    /* reals */
    size_acc_t a = {0, 0};
    add(&a, mul(&a, N, cfg->F));
    size_t per_layer_n = 0;
    {
        size_acc_t p = {0, 0};
        add(&p, mul(&p, N, 7 * D + 1)); /* h, m, gates(4D), dh, q */
        add(&p, NE);                    /* alpha */
        per_layer_n = p.n;
        if (p.overflow)
            a.overflow = 1;
    }
    add(&a, mul(&a, per_layer_n, GNN_NDIR * cfg->L));
    add(&a, mul(&a, J, H + 2 * S));
    add(&a, 3 * S);
    add(&a, mul(&a, N, E));
    size_t n_work = work_size(&a, cfg, M, J);
    add(&a, n_work);
    size_t reals = a.n;
    size_t rbytes = mul(&a, reals, sizeof(weft_real_t));

    /* indices: dirty_nodes[2] N, dirty_start[2] W+1, stack N, job_list J;
     * then bytes dirty[2] N, job_mark J */
    size_acc_t b = {0, 0};
    add(&b, mul(&b, N, 3));
    add(&b, mul(&b, W + 1, 2));
    add(&b, J);
    size_t ibytes = mul(&b, b.n, sizeof(size_t));
    size_acc_t bb = {ibytes, b.overflow};
    add(&bb, mul(&bb, N, 2));
    add(&bb, J);
    ibytes = bb.n;

    if (a.overflow || bb.overflow)
        return weft_fail(WEFT_ENOMEM, "gnn cache: size overflow for %zu nodes, %zu edges", N, NE);
    if (rbytes > c->block_bytes) {
        void *nb = malloc(rbytes ? rbytes : 1);
        if (!nb)
            return weft_fail(WEFT_ENOMEM, "gnn cache: cannot allocate %zu bytes", rbytes);
        free(c->block);
        c->block = nb;
        c->block_bytes = rbytes;
    }
    if (ibytes > c->iblock_bytes) {
        void *nb = malloc(ibytes ? ibytes : 1);
        if (!nb)
            return weft_fail(WEFT_ENOMEM, "gnn cache: cannot allocate %zu bytes", ibytes);
        free(c->iblock);
        c->iblock = nb;
        c->iblock_bytes = ibytes;
    }
    c->cfg = *cfg;
    c->N = N, c->J = J, c->NE = NE, c->M = M;
    c->plan_id = 0;

    weft_real_t *at = c->block;
    c->x = at, at += N * cfg->F;
    memset(c->layer, 0, sizeof c->layer);
    for (int d = 0; d < GNN_NDIR; d++)
        for (size_t l = 0; l < cfg->L; l++) {
            gnn_layer_cache_t *lc = &c->layer[d][l];
            lc->h = at, at += N * D;
            lc->m = at, at += N * D;
            lc->gates = at, at += N * 4 * D;
            lc->dh = at, at += N * D;
            lc->q = at, at += N;
            lc->alpha = at, at += NE;
        }
    c->job_sum = at, at += J * H;
    c->job_act = at, at += J * S;
    c->job_out = at, at += J * S;
    c->glob_sum = at, at += S;
    c->glob_act = at, at += S;
    c->glob_out = at, at += S;
    c->out = at, at += N * E;
    c->work = at, at += n_work;
    c->n_work = n_work;
    assert((size_t)(at - (weft_real_t *)c->block) == reals);

    size_t *ip = c->iblock;
    for (int d = 0; d < GNN_NDIR; d++) {
        c->dirty_nodes[d] = ip, ip += N;
        c->dirty_start[d] = ip, ip += W + 1;
    }
    c->stack = ip, ip += N;
    c->job_list = ip, ip += J;
    uint8_t *bp = (uint8_t *)ip;
    for (int d = 0; d < GNN_NDIR; d++) {
        c->dirty[d] = bp, bp += N;
        memset(c->dirty[d], 0, N);
    }
    c->job_mark = bp, bp += J;
    memset(c->job_mark, 0, J);
    assert((size_t)(bp - (uint8_t *)c->iblock) == ibytes);
    return WEFT_OK;
}
