/*
 * net.c - the scorer's cache and its forward and backward passes: input
 * projection, B Transformer encoder blocks (Vaswani et al. 2017) in pre- or
 * post-LN form, score head. The layers are the kernels of layers.c.
 *
 * Dimension letters (as attn.h): N rows (n of them in use), E input width,
 * M model width, H heads, F = 4M feed-forward width, B blocks.
 *
 * Cache invariant: every array is pointed for the capacity c->N and the
 * config c->cfg; an [N, C] array's row t lives at t*C whatever n is, and
 * att's head h at h*n*n (packed for the n in use), so one allocation serves
 * every n <= c->N. The arrays only attn_backward reads (att, dA .. dATT)
 * are held only when c->train: they take (H B + 1) N^2 scalars, 36 N^2
 * bytes at the learned policy's sizes (2.3 GB for 8000 coflows, where all
 * the forward needs is 39 MB), and a scheduling decision never reads
 * them. The input of block l is x^0 for l = 0, else the previous block's
 * res2 (pre-LN) or ln2 (post-LN): no copies of the residual stream.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn.h"
#include "attention/attn_internal.h"

void attn_cache_init(attn_cache_t *c) { memset(c, 0, sizeof *c); }

void attn_cache_destroy(attn_cache_t *c)
{
    free(c->block_mem);
    memset(c, 0, sizeof *c);
}

/* Points the arrays of c for (cfg, N) into base and returns the scalars
 * used; with base NULL only counts (pointers are left NULL-based and must
 * not be used). Without train, the arrays of backward are NULL and take
 * nothing. Sizes are bounded by attn_config_check and ATTN_MAX_ROWS, so
 * nothing here overflows. */
static size_t point_cache(attn_cache_t *c, const attn_config_t *cfg, size_t N, weft_real_t *base,
                          bool train)
{
    size_t E = cfg->E, M = cfg->M, H = cfg->H, F = 4 * cfg->M, at = 0;
#define TAKE(field, count)                                                                         \
    do {                                                                                           \
        (field) = base ? base + at : NULL;                                                         \
        at += (count);                                                                             \
    } while (0)
#define TAKE_TRAIN(field, count)                                                                   \
    do {                                                                                           \
        if (train)                                                                                 \
            TAKE(field, count);                                                                    \
        else                                                                                       \
            (field) = NULL;                                                                        \
    } while (0)
    TAKE(c->x, N * E);
    TAKE(c->x0, N * M);
    for (size_t l = 0; l < ATTN_MAX_BLOCKS; l++) {
        attn_block_cache_t *b = &c->block[l];
        if (l >= cfg->B) {
            memset(b, 0, sizeof *b);
            continue;
        }
        TAKE(b->ln1, N * M);
        TAKE(b->ln1_mean, N);
        TAKE(b->ln1_rstd, N);
        TAKE(b->qkv, N * 3 * M);
        TAKE_TRAIN(b->att, H * N * N);
        TAKE(b->atty, N * M);
        TAKE(b->res1, N * M);
        TAKE(b->ln2, N * M);
        TAKE(b->ln2_mean, N);
        TAKE(b->ln2_rstd, N);
        TAKE(b->fch, N * F);
        TAKE(b->fcact, N * F);
        TAKE(b->res2, N * M);
    }
    if (cfg->norm == ATTN_PRE_LN) {
        TAKE(c->lnf, N * M);
        TAKE(c->lnf_mean, N);
        TAKE(c->lnf_rstd, N);
    } else {
        c->lnf = c->lnf_mean = c->lnf_rstd = NULL;
    }
    TAKE(c->scores, N);
    TAKE_TRAIN(c->dA, N * M);
    TAKE_TRAIN(c->dB, N * M);
    TAKE_TRAIN(c->dT, N * M);
    TAKE_TRAIN(c->dF1, N * F);
    TAKE_TRAIN(c->dF2, N * F);
    TAKE_TRAIN(c->dQKV, N * 3 * M);
    TAKE_TRAIN(c->dATT, N * N);
    TAKE(c->att_scratch, ATTN_ATT_SCRATCH(N, M / H));
#undef TAKE_TRAIN
#undef TAKE
    return at;
}

static weft_err_t prepare(attn_cache_t *c, const attn_config_t *cfg, size_t n, bool train)
{
    weft_err_t err = attn_config_check(cfg);
    if (err)
        return err;
    if (n == 0 || n > ATTN_MAX_ROWS)
        return weft_fail(WEFT_EINVAL, "attn cache: %zu rows, expected 1..%zu", n,
                         (size_t)ATTN_MAX_ROWS);
    int same_cfg = c->block_mem && memcmp(&c->cfg, cfg, sizeof *cfg) == 0;
    train = train || (same_cfg && c->train); /* a training cache stays one */
    if (same_cfg && n <= c->N && train == c->train)
        return WEFT_OK; /* steady state: no allocation, pointers unchanged */
    size_t N = n;
    /* grow by a quarter at least, so a slowly rising n reallocates rarely;
     * not by doubling, as the attention weights take memory quadratic in N;
     * a cache that only gains the arrays of backward keeps its capacity */
    if (same_cfg && N < c->N + c->N / 4)
        N = n <= c->N                           ? c->N
            : c->N + c->N / 4 > ATTN_MAX_ROWS ? ATTN_MAX_ROWS
                                              : c->N + c->N / 4;
    attn_cache_t probe;
    size_t need = point_cache(&probe, cfg, N, NULL, train);
    if (need > c->block_cap) {
        weft_real_t *mem = weft_reallocarray(c->block_mem, need, sizeof *mem);
        if (!mem)
            return weft_fail(WEFT_ENOMEM, "attn cache: cannot allocate %zu scalars for %zu rows",
                             need, N);
        c->block_mem = mem;
        c->block_cap = need;
    }
    point_cache(c, cfg, N, c->block_mem, train);
    c->cfg = *cfg;
    c->N = N;
    c->n = 0;
    c->train = train;
    return WEFT_OK;
}

weft_err_t attn_cache_prepare(attn_cache_t *c, const attn_config_t *cfg, size_t n)
{
    return prepare(c, cfg, n, true);
}

weft_err_t attn_cache_prepare_infer(attn_cache_t *c, const attn_config_t *cfg, size_t n)
{
    return prepare(c, cfg, n, false);
}

/* The input of block l: x^0, or the previous block's output. */
static const weft_real_t *block_input(const attn_cache_t *c, const attn_config_t *cfg, size_t l)
{
    if (l == 0)
        return c->x0;
    return cfg->norm == ATTN_PRE_LN ? c->block[l - 1].res2 : c->block[l - 1].ln2;
}

/* What the score head reads: the final LN (pre-LN) or the last block's
 * output (post-LN). */
static const weft_real_t *head_input(const attn_cache_t *c, const attn_config_t *cfg)
{
    return cfg->norm == ATTN_PRE_LN ? c->lnf : block_input(c, cfg, cfg->B);
}

typedef void (*matmul_fn)(weft_real_t *, const weft_real_t *, const weft_real_t *,
                          const weft_real_t *, size_t, size_t, size_t);
typedef void (*layernorm_fn)(weft_real_t *, weft_real_t *, weft_real_t *, const weft_real_t *,
                             const weft_real_t *, const weft_real_t *, size_t, size_t);
typedef void (*act_fn)(weft_real_t *, const weft_real_t *, size_t, int);

static void forward_impl(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                         const weft_real_t *X, size_t n, attn_impl_t impl, bool keep_att)
{
    assert(c->block_mem && n >= 1 && n <= c->N);
    assert(memcmp(&c->cfg, cfg, sizeof *cfg) == 0 && p->n == attn_param_count(cfg));
    /* only the fused kernel runs without room for the attention weights */
    assert(c->train || (!keep_att && impl == ATTN_IMPL_FAST));
    matmul_fn matmul = impl == ATTN_IMPL_NAIVE ? attn_matmul_forward_naive : attn_matmul_forward;
    layernorm_fn layernorm_forward =
        impl == ATTN_IMPL_FAST ? attn_layernorm_forward : attn_layernorm_forward_naive;
    act_fn act_forward = impl == ATTN_IMPL_FAST ? attn_act_forward : attn_act_forward_naive;
    size_t E = cfg->E, M = cfg->M, H = cfg->H, F = 4 * cfg->M;
    int gelu = cfg->act == ATTN_GELU;

    memcpy(c->x, X, n * E * sizeof *X); /* backward needs X for d in.w */
    matmul(c->x0, c->x, p->in_w, p->in_b, n, E, M);
    for (size_t l = 0; l < cfg->B; l++) {
        attn_block_cache_t *bc = &c->block[l];
        const attn_block_params_t *bp = &p->block[l];
        const weft_real_t *x = block_input(c, cfg, l); /* [n, M] */
        if (cfg->norm == ATTN_PRE_LN) {
            layernorm_forward(bc->ln1, bc->ln1_mean, bc->ln1_rstd, x, bp->ln1_g, bp->ln1_b, n,
                                   M);
            matmul(bc->qkv, bc->ln1, bp->qkv_w, bp->qkv_b, n, M, 3 * M);
            attn_attention_forward(bc->atty, keep_att ? bc->att : NULL, c->att_scratch, bc->qkv, n,
                                   M, H, impl);
            matmul(bc->res1, bc->atty, bp->proj_w, bp->proj_b, n, M, M);
            attn_residual_forward(bc->res1, x, bc->res1, n * M);
            layernorm_forward(bc->ln2, bc->ln2_mean, bc->ln2_rstd, bc->res1, bp->ln2_g,
                                   bp->ln2_b, n, M);
            matmul(bc->fch, bc->ln2, bp->fc_w, bp->fc_b, n, M, F);
            act_forward(bc->fcact, bc->fch, n * F, gelu);
            matmul(bc->res2, bc->fcact, bp->fc2_w, bp->fc2_b, n, F, M);
            attn_residual_forward(bc->res2, bc->res1, bc->res2, n * M);
        } else {
            matmul(bc->qkv, x, bp->qkv_w, bp->qkv_b, n, M, 3 * M);
            attn_attention_forward(bc->atty, keep_att ? bc->att : NULL, c->att_scratch, bc->qkv, n,
                                   M, H, impl);
            matmul(bc->res1, bc->atty, bp->proj_w, bp->proj_b, n, M, M);
            attn_residual_forward(bc->res1, x, bc->res1, n * M);
            layernorm_forward(bc->ln1, bc->ln1_mean, bc->ln1_rstd, bc->res1, bp->ln1_g,
                                   bp->ln1_b, n, M);
            matmul(bc->fch, bc->ln1, bp->fc_w, bp->fc_b, n, M, F);
            act_forward(bc->fcact, bc->fch, n * F, gelu);
            matmul(bc->res2, bc->fcact, bp->fc2_w, bp->fc2_b, n, F, M);
            attn_residual_forward(bc->res2, bc->ln1, bc->res2, n * M);
            layernorm_forward(bc->ln2, bc->ln2_mean, bc->ln2_rstd, bc->res2, bp->ln2_g,
                                   bp->ln2_b, n, M);
        }
    }
    if (cfg->norm == ATTN_PRE_LN)
        layernorm_forward(c->lnf, c->lnf_mean, c->lnf_rstd, block_input(c, cfg, cfg->B),
                               p->lnf_g, p->lnf_b, n, M);
    matmul(c->scores, head_input(c, cfg), p->head_w, p->head_b, n, M, 1);
    c->n = n;
    c->no_att = !keep_att;
}

void attn_forward(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                  const weft_real_t *X, size_t n)
{
    forward_impl(c, p, cfg, X, n, ATTN_IMPL_FAST, true);
}

void attn_forward_infer(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                        const weft_real_t *X, size_t n)
{
    forward_impl(c, p, cfg, X, n, ATTN_IMPL_FAST, false);
}

void attn_forward_libm(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                       const weft_real_t *X, size_t n)
{
    forward_impl(c, p, cfg, X, n, ATTN_IMPL_LIBM, true);
}

void attn_forward_naive(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                        const weft_real_t *X, size_t n)
{
    forward_impl(c, p, cfg, X, n, ATTN_IMPL_NAIVE, true);
}

static void zero(weft_real_t *a, size_t n) { memset(a, 0, n * sizeof *a); }

/* A block's backward through its MLP's output, post- and pre-LN alike:
 * undoes fcproj = fcact W2^T + b2 from dfcproj, then fcact = act(fch),
 * leaving dfch in c->dF2. */
static void mlp_out_backward(attn_cache_t *c, const attn_block_cache_t *bc,
                             const attn_block_params_t *bp, attn_block_params_t *dbp,
                             const weft_real_t *dfcproj, size_t n, size_t M, int gelu)
{
    size_t F = 4 * M;
    /* undo fcproj = fcact W2^T + b2 */
    zero(c->dF1, n * F);
    attn_matmul_backward(c->dF1, dbp->fc2_w, dbp->fc2_b, dfcproj, bc->fcact, bp->fc2_w, n, F, M);
    /* undo fcact = act(fch) */
    zero(c->dF2, n * F);
    attn_act_backward(c->dF2, bc->fch, c->dF1, n * F, gelu);
}

/* A block's backward through its attention, post- and pre-LN alike, from
 * dres1 in c->dB: undoes res1 = x + proj, proj = atty Wp^T + bp and atty =
 * attention(qkv), leaving x's share of dres1 in c->dA and dqkv in
 * c->dQKV (c->dT overwritten). */
static void attention_out_backward(attn_cache_t *c, const attn_block_cache_t *bc,
                                   const attn_block_params_t *bp, attn_block_params_t *dbp,
                                   size_t n, size_t M, size_t H)
{
    weft_real_t *dA = c->dA, *dB = c->dB, *dT = c->dT;
    size_t nM = n * M;
    /* undo res1 = x + proj: dx (in dA) gets dres1, proj reads dB */
    zero(dA, nM);
    attn_residual_backward(dA, NULL, dB, nM);
    /* undo proj = atty Wp^T + bp */
    zero(dT, nM);
    attn_matmul_backward(dT, dbp->proj_w, dbp->proj_b, dB, bc->atty, bp->proj_w, n, M, M);
    /* undo atty = attention(qkv) */
    zero(c->dQKV, 3 * nM);
    attn_attention_backward(c->dQKV, c->dATT, dT, bc->qkv, bc->att, n, M, H);
}

void attn_backward(attn_params_t *dp, weft_real_t *dX, const weft_real_t *dscores,
                   attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg)
{
    size_t n = c->n;
    assert(n >= 1 && memcmp(&c->cfg, cfg, sizeof *cfg) == 0);
    assert(c->train && !c->no_att); /* attn_forward_infer kept no attention weights */
    assert(p->n == attn_param_count(cfg) && dp->n == p->n);
    size_t E = cfg->E, M = cfg->M, H = cfg->H, F = 4 * cfg->M, nM = n * M;
    int gelu = cfg->act == ATTN_GELU;
    /* dA carries dLoss/d(residual stream) between blocks */
    weft_real_t *dA = c->dA, *dB = c->dB, *dT = c->dT;

    /* undo scores = h W_head^T + b_head (and, pre-LN, h = LNf(x^B)) */
    zero(dA, nM);
    if (cfg->norm == ATTN_PRE_LN) {
        zero(dT, nM);
        attn_matmul_backward(dT, dp->head_w, dp->head_b, dscores, c->lnf, p->head_w, n, M, 1);
        attn_layernorm_backward(dA, dp->lnf_g, dp->lnf_b, dT, block_input(c, cfg, cfg->B),
                                c->lnf_mean, c->lnf_rstd, p->lnf_g, n, M);
    } else {
        attn_matmul_backward(dA, dp->head_w, dp->head_b, dscores, head_input(c, cfg), p->head_w,
                             n, M, 1);
    }

    for (size_t l = cfg->B; l-- > 0;) {
        const attn_block_cache_t *bc = &c->block[l];
        const attn_block_params_t *bp = &p->block[l];
        attn_block_params_t *dbp = &dp->block[l];
        const weft_real_t *x = block_input(c, cfg, l);
        if (cfg->norm == ATTN_PRE_LN) {
            /* undo res2 = res1 + fcproj: dres1 (in dB) gets dA, fcproj reads dA */
            zero(dB, nM);
            attn_residual_backward(dB, NULL, dA, nM);
            mlp_out_backward(c, bc, bp, dbp, dA, n, M, gelu);
            /* undo fch = ln2 W1^T + b1 */
            zero(dT, nM);
            attn_matmul_backward(dT, dbp->fc_w, dbp->fc_b, c->dF2, bc->ln2, bp->fc_w, n, M, F);
            /* undo ln2 = LN2(res1): dres1 complete */
            attn_layernorm_backward(dB, dbp->ln2_g, dbp->ln2_b, dT, bc->res1, bc->ln2_mean,
                                    bc->ln2_rstd, bp->ln2_g, n, M);
            attention_out_backward(c, bc, bp, dbp, n, M, H);
            /* undo qkv = ln1 Wqkv^T + bqkv */
            zero(dT, nM);
            attn_matmul_backward(dT, dbp->qkv_w, dbp->qkv_b, c->dQKV, bc->ln1, bp->qkv_w, n, M,
                                 3 * M);
            /* undo ln1 = LN1(x): dx complete */
            attn_layernorm_backward(dA, dbp->ln1_g, dbp->ln1_b, dT, x, bc->ln1_mean, bc->ln1_rstd,
                                    bp->ln1_g, n, M);
        } else {
            /* undo x' = ln2 = LN2(res2) */
            zero(dB, nM);
            attn_layernorm_backward(dB, dbp->ln2_g, dbp->ln2_b, dA, bc->res2, bc->ln2_mean,
                                    bc->ln2_rstd, bp->ln2_g, n, M);
            /* undo res2 = ln1 + fcproj: dln1 (in dT) gets dres2, fcproj reads dB */
            zero(dT, nM);
            attn_residual_backward(dT, NULL, dB, nM);
            mlp_out_backward(c, bc, bp, dbp, dB, n, M, gelu);
            /* undo fch = ln1 W1^T + b1: dln1 complete */
            attn_matmul_backward(dT, dbp->fc_w, dbp->fc_b, c->dF2, bc->ln1, bp->fc_w, n, M, F);
            /* undo ln1 = LN1(res1) */
            zero(dB, nM);
            attn_layernorm_backward(dB, dbp->ln1_g, dbp->ln1_b, dT, bc->res1, bc->ln1_mean,
                                    bc->ln1_rstd, bp->ln1_g, n, M);
            attention_out_backward(c, bc, bp, dbp, n, M, H);
            /* undo qkv = x Wqkv^T + bqkv: dx complete */
            attn_matmul_backward(dA, dbp->qkv_w, dbp->qkv_b, c->dQKV, x, bp->qkv_w, n, M, 3 * M);
        }
    }
    /* undo x^0 = X W_in^T + b_in */
    attn_matmul_backward(dX, dp->in_w, dp->in_b, dA, c->x, p->in_w, n, E, M);
}
