/*
 * test_attn.c - the self-attention scorer in float (links weftlib):
 * permutation equivariance, a parameter count independent of the number of
 * coflows, BLAS against the naive reference, the Plackett–Luce
 * distribution and Gumbel top-k sampling from it, and the model file
 * (round trips, saving through a symbolic link or into a character
 * device, and every kind of bad file refused with its error).
 * Gradients are checked in tests/test_attn_f64.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attention/attn.h"
#include "attention/attn_internal.h"
#include "suite_tmpdir.h"
#include "temp_left.h"

static uint64_t rng_state;

static double urand(void) /* splitmix64 -> [0, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static float srandf(void) { return (float)(2 * urand() - 1); }

static void shuffle(size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(urand() * (double)i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static attn_config_t variant(int k, size_t E, size_t M, size_t H, size_t B)
{
    return (attn_config_t){.E = E, .M = M, .H = H, .B = B,
                           .norm = (k & 1) ? ATTN_PRE_LN : ATTN_POST_LN,
                           .act = (k & 2) ? ATTN_GELU : ATTN_RELU};
}

/* Variant k (M = 16, H = 4, B = 2) of the scorer for inputs of width E,
 * with random parameters of seed + k and a cache for n rows. */
static attn_config_t random_net(attn_params_t *p, attn_cache_t *c, int k, size_t E,
                                uint64_t seed, size_t n)
{
    attn_config_t cfg = variant(k, E, 16, 4, 2);
    attn_cache_init(c);
    cr_assert_eq(attn_params_init(p, &cfg), WEFT_OK);
    attn_params_init_random(p, &cfg, seed + (uint64_t)k);
    cr_assert_eq(attn_cache_prepare(c, &cfg, n), WEFT_OK, "%s", weft_last_error());
    return cfg;
}

/* ------------------------------------------------------------ network */

Test(attn_net, permutation_equivariance, .timeout = 20)
{
    enum { N = 12, E = 16 };
    for (int k = 0; k < 4; k++) {
        attn_params_t p;
        attn_cache_t c;
        attn_config_t cfg = random_net(&p, &c, k, E, 42, N);
        rng_state = 5 + (uint64_t)k;
        float X[N * E], Xp[N * E], s[N];
        for (size_t i = 0; i < N * E; i++)
            X[i] = 2 * srandf();
        attn_forward(&c, &p, &cfg, X, N);
        memcpy(s, c.scores, sizeof s);
        float lo = s[0], hi = s[0];
        for (size_t i = 1; i < N; i++)
            lo = fminf(lo, s[i]), hi = fmaxf(hi, s[i]);
        /* constant scores would be trivially equivariant */
        cr_assert_gt(hi - lo, 1e-2, "variant %d: scores all equal (%g)", k, lo);
        for (int trial = 0; trial < 3; trial++) {
            size_t perm[N];
            shuffle(perm, N);
            for (size_t i = 0; i < N; i++) /* row i of Xp is row perm[i] of X */
                memcpy(Xp + i * E, X + perm[i] * E, E * sizeof *X);
            attn_forward(&c, &p, &cfg, Xp, N);
            for (size_t i = 0; i < N; i++)
                cr_assert_float_eq(c.scores[i], s[perm[i]], 1e-5f * (1 + fabsf(s[perm[i]])),
                                   "variant %d: row %zu (from %zu): %.8g vs %.8g", k, i, perm[i],
                                   c.scores[i], s[perm[i]]);
        }
        attn_params_destroy(&p);
        attn_cache_destroy(&c);
    }
}

Test(attn_net, param_count_independent_of_n, .timeout = 60)
{
    attn_config_t cfg = variant(1, 24, 16, 4, 2);
    size_t E = 24, M = 16, F = 64, B = 2;
    size_t by_hand = M * E + M +
                     B * (2 * M + 3 * M * M + 3 * M + M * M + M + 2 * M + F * M + F + M * F + M) +
                     2 * M + M + 1;
    cr_assert_eq(attn_param_count(&cfg), by_hand);
    attn_params_t p;
    attn_cache_t c;
    attn_cache_init(&c);
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
    cr_assert_eq(p.n, by_hand);
    attn_params_init_random(&p, &cfg, 9);
    static const size_t ns[] = {1, 10, 1000};
    float *X = malloc(1000 * E * sizeof *X);
    rng_state = 3;
    for (size_t i = 0; i < 1000 * E; i++)
        X[i] = srandf();
    for (size_t k = 0; k < 3; k++) {
        size_t n = ns[k];
        cr_assert_eq(attn_cache_prepare(&c, &cfg, n), WEFT_OK);
        attn_forward(&c, &p, &cfg, X, n);
        cr_assert_eq(p.n, by_hand, "n = %zu", n);
        for (size_t i = 0; i < n; i++)
            cr_assert(isfinite(c.scores[i]), "n = %zu: score %zu is %g", n, i, c.scores[i]);
        if (n == 1) /* one coflow attends only to itself */
            for (size_t h = 0; h < 4; h++)
                cr_assert_float_eq(c.block[0].att[h], 1.0f, 1e-6f);
    }
    /* steady state: a smaller n reuses the block */
    float *mem = c.block_mem;
    cr_assert_eq(attn_cache_prepare(&c, &cfg, 10), WEFT_OK);
    cr_assert_eq(c.block_mem, mem);
    /* the first 10 rows scored alone: same parameters, a different set */
    attn_forward(&c, &p, &cfg, X, 10);
    free(X);
    attn_params_destroy(&p);
    attn_cache_destroy(&c);
}

/* A cache for attn_forward_infer alone holds memory linear in the rows
 * (the attention weights, (H B + 1) N^2 scalars, held for a backward that
 * a scheduling decision never runs, took 2.7 GB of address space at 8000
 * coflows), scores as a training cache does to the bit, and becomes a
 * training cache of the same capacity when asked. */
Test(attn_net, inference_cache_is_linear_in_rows, .timeout = 30)
{
    enum { N = 2048, E = 116, M = 32, H = 4, B = 2, K = M / H };
    attn_config_t cfg = variant(3, E, M, H, B); /* the learned policy's sizes */
    attn_params_t p;
    attn_cache_t inf, full;
    attn_cache_init(&inf);
    attn_cache_init(&full);
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
    attn_params_init_random(&p, &cfg, 21);
    cr_assert_eq(attn_cache_prepare_infer(&inf, &cfg, N), WEFT_OK);
    size_t linear = N * (E + 2 * M + B * (16 * M + 4) + 2 * K + 4) + 16 * (2 * K + 1);
    cr_assert_leq(inf.block_cap, linear, "an inference cache of %d rows holds %zu scalars, "
                  "expected at most %zu", N, inf.block_cap, linear);
    cr_assert(!inf.train && !inf.block[0].att && !inf.dATT);
    enum { n = 300 };
    float *X = malloc(n * E * sizeof *X), s[n];
    rng_state = 4;
    for (size_t i = 0; i < n * E; i++)
        X[i] = srandf();
    cr_assert_eq(attn_cache_prepare(&full, &cfg, n), WEFT_OK);
    attn_forward(&full, &p, &cfg, X, n);
    memcpy(s, full.scores, sizeof s);
    attn_forward_infer(&inf, &p, &cfg, X, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(inf.scores[i], s[i], "row %zu: %.9g, a training cache %.9g", i,
                     inf.scores[i], s[i]);
    /* training on it: the arrays of backward join at the same capacity, and
       stay when inference asks again */
    cr_assert_eq(attn_cache_prepare(&inf, &cfg, n), WEFT_OK);
    cr_assert(inf.train && inf.block[0].att && inf.dATT && inf.N == N);
    attn_forward(&inf, &p, &cfg, X, n);
    cr_assert_arr_eq(inf.scores, s, sizeof s);
    cr_assert_eq(attn_cache_prepare_infer(&inf, &cfg, n), WEFT_OK);
    cr_assert(inf.train && inf.block[0].att);
    free(X);
    attn_params_destroy(&p);
    attn_cache_destroy(&inf);
    attn_cache_destroy(&full);
}

Test(attn_net, matmul_naive_vs_blas, .timeout = 10)
{
    static const size_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 16, 48}, {100, 64, 1}};
    rng_state = 17;
    for (size_t k = 0; k < 4; k++) {
        size_t N = shapes[k][0], In = shapes[k][1], Out = shapes[k][2];
        float *x = malloc(N * In * sizeof *x), *W = malloc(Out * In * sizeof *W);
        float *b = malloc(Out * sizeof *b), *o1 = malloc(N * Out * sizeof *o1);
        float *o2 = malloc(N * Out * sizeof *o2);
        for (size_t i = 0; i < N * In; i++)
            x[i] = srandf();
        for (size_t i = 0; i < Out * In; i++)
            W[i] = srandf();
        for (size_t i = 0; i < Out; i++)
            b[i] = srandf();
        attn_matmul_forward(o1, x, W, b, N, In, Out);
        attn_matmul_forward_naive(o2, x, W, b, N, In, Out);
        for (size_t t = 0; t < N; t++)
            for (size_t o = 0; o < Out; o++) {
                /* summation order differs: bound by the sum of |terms| */
                double mag = fabs(b[o]);
                for (size_t i = 0; i < In; i++)
                    mag += fabs((double)x[t * In + i] * W[o * In + i]);
                cr_assert_leq(fabs(o1[t * Out + o] - o2[t * Out + o]), 1e-6 * mag + 1e-7,
                              "%zux%zu->%zu at (%zu,%zu): %.9g vs %.9g", N, In, Out, t, o,
                              o1[t * Out + o], o2[t * Out + o]);
            }
        free(x), free(W), free(b), free(o1), free(o2);
    }
}

Test(attn_net, forward_naive_vs_blas, .timeout = 20)
{
    enum { N = 40, E = 12 };
    for (int k = 0; k < 4; k++) {
        attn_config_t cfg = variant(k, E, 16, 2, 3);
        attn_params_t p;
        attn_cache_t c;
        attn_cache_init(&c);
        cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
        attn_params_init_random(&p, &cfg, 77);
        cr_assert_eq(attn_cache_prepare(&c, &cfg, N), WEFT_OK);
        float X[N * E], s[N];
        rng_state = 8;
        for (size_t i = 0; i < N * E; i++)
            X[i] = srandf();
        attn_forward(&c, &p, &cfg, X, N);
        memcpy(s, c.scores, sizeof s);
        attn_forward_naive(&c, &p, &cfg, X, N);
        for (size_t i = 0; i < N; i++)
            cr_assert_float_eq(c.scores[i], s[i], 1e-4f * (1 + fabsf(s[i])),
                               "variant %d row %zu: naive %.8g blas %.8g", k, i, c.scores[i], s[i]);
        attn_forward_infer(&c, &p, &cfg, X, N); /* the same arithmetic, no weights kept */
        for (size_t i = 0; i < N; i++)
            cr_assert_eq(c.scores[i], s[i], "variant %d row %zu: infer %.9g fast %.9g", k, i,
                         c.scores[i], s[i]);
        attn_forward_libm(&c, &p, &cfg, X, N);
        for (size_t i = 0; i < N; i++)
            cr_assert_float_eq(c.scores[i], s[i], 1e-4f * (1 + fabsf(s[i])),
                               "variant %d row %zu: libm %.8g fast %.8g", k, i, c.scores[i], s[i]);
        attn_params_destroy(&p);
        attn_cache_destroy(&c);
    }
}
/* y[r] = b[r] + W[r, :] x for W [rows, cols] (row-major (out, in)), in double. */
static void lin_by_hand(double *y, const float *W, const float *b, const double *x, size_t rows,
                        size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        y[r] = b[r];
        for (size_t i = 0; i < cols; i++)
            y[r] += (double)W[r * cols + i] * x[i];
    }
}

/* LayerNorm of docs/learned-policy.md §4: biased variance, 1e-5 inside the root. */
static void ln_by_hand(double *y, const double *x, const float *g, const float *b, size_t M)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < M; i++)
        m += x[i] / (double)M;
    for (size_t i = 0; i < M; i++)
        v += (x[i] - m) * (x[i] - m) / (double)M;
    for (size_t i = 0; i < M; i++)
        y[i] = (x[i] - m) / sqrt(v + 1e-5) * g[i] + b[i];
}

static double act_by_hand(double x, int gelu)
{
    return gelu ? 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)))
                : (x > 0 ? x : 0);
}

/* rows, input width, model width (whole vectors of the kernels), heads */
enum { HN = 4, HE = 3, HM = 16, HH = 4 };

/* Multi-head self-attention of the rows h[HN][HM] and the block's
 * projection: out[t] = proj_w (heads side by side) + proj_b, head j
 * reading columns j*K.. of Q, K and V, softmax over the keys s of
 * q_t·k_s / sqrt(K). */
static void mha_by_hand(double out[HN][HM], double h[HN][HM], const attn_block_params_t *bp)
{
    double qkv[HN][3 * HM], y[HN][HM];
    size_t K = HM / HH;
    for (size_t t = 0; t < HN; t++)
        lin_by_hand(qkv[t], bp->qkv_w, bp->qkv_b, h[t], 3 * HM, HM);
    for (size_t j = 0; j < HH; j++)
        for (size_t t = 0; t < HN; t++) {
            double a[HN], mx = -INFINITY, sum = 0;
            for (size_t s = 0; s < HN; s++) {
                a[s] = 0;
                for (size_t i = 0; i < K; i++)
                    a[s] += qkv[t][j * K + i] * qkv[s][HM + j * K + i];
                a[s] /= sqrt((double)K);
                mx = fmax(mx, a[s]);
            }
            for (size_t s = 0; s < HN; s++)
                sum += a[s] = exp(a[s] - mx);
            for (size_t i = 0; i < K; i++) {
                y[t][j * K + i] = 0;
                for (size_t s = 0; s < HN; s++)
                    y[t][j * K + i] += a[s] / sum * qkv[s][2 * HM + j * K + i];
            }
        }
    for (size_t t = 0; t < HN; t++)
        lin_by_hand(out[t], bp->proj_w, bp->proj_b, y[t], HM, HM);
}

/* The feed-forward of one row: fc2 act(fc x + fc_b) + fc2_b. */
static void ffn_by_hand(double *out, const double *x, const attn_block_params_t *bp, int gelu)
{
    double f[4 * HM];
    lin_by_hand(f, bp->fc_w, bp->fc_b, x, 4 * HM, HM);
    for (size_t i = 0; i < 4 * HM; i++)
        f[i] = act_by_hand(f[i], gelu);
    lin_by_hand(out, bp->fc2_w, bp->fc2_b, f, HM, 4 * HM);
}

/* One block on the rows x, in place. Pre-LN: x += mha(LN1 x), then
 * x += ffn(LN2 x); post-LN: x = LN1(x + mha x), then x = LN2(x + ffn x). */
static void block_by_hand(double x[HN][HM], const attn_block_params_t *bp, bool pre, int gelu)
{
    double h[HN][HM], a[HN][HM];
    for (size_t t = 0; t < HN; t++)
        if (pre)
            ln_by_hand(h[t], x[t], bp->ln1_g, bp->ln1_b, HM);
        else
            memcpy(h[t], x[t], sizeof h[t]);
    mha_by_hand(a, h, bp);
    for (size_t t = 0; t < HN; t++) {
        double r[HM], y[HM], f[HM];
        for (size_t i = 0; i < HM; i++)
            r[i] = x[t][i] + a[t][i];
        if (pre)
            ln_by_hand(y, r, bp->ln2_g, bp->ln2_b, HM);
        else
            ln_by_hand(y, r, bp->ln1_g, bp->ln1_b, HM);
        ffn_by_hand(f, y, bp, gelu);
        for (size_t i = 0; i < HM; i++)
            r[i] = (pre ? r[i] : y[i]) + f[i];
        if (pre)
            memcpy(x[t], r, sizeof r);
        else
            ln_by_hand(x[t], r, bp->ln2_g, bp->ln2_b, HM);
    }
}

/* The scores of the four variants (pre-/post-LN, ReLU/GELU), two blocks,
 * every parameter random (no zero bias or unit gain to hide a term left
 * out), against the network written out in double from
 * docs/learned-policy.md §4 and attn.h: a residual from the wrong place,
 * a LayerNorm's epsilon or variance, the attention's scale, a head's
 * columns or the score head's bias changes them past rounding. */
Test(attn_net, scores_by_hand, .timeout = 5)
{
    for (int k = 0; k < 4; k++) {
        attn_config_t cfg = variant(k, HE, HM, HH, 2);
        attn_params_t p;
        attn_cache_t c;
        attn_cache_init(&c);
        cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
        rng_state = 40 + (uint64_t)k;
        for (size_t i = 0; i < p.n; i++)
            p.memory[i] = srandf();
        cr_assert_eq(attn_cache_prepare(&c, &cfg, HN), WEFT_OK);
        float X[HN * HE];
        for (size_t i = 0; i < HN * HE; i++)
            X[i] = 2 * srandf();
        attn_forward(&c, &p, &cfg, X, HN);
        int gelu = cfg.act == ATTN_GELU;
        double x[HN][HM], h[HN][HM];
        for (size_t t = 0; t < HN; t++) {
            double in[HE];
            for (size_t i = 0; i < HE; i++)
                in[i] = X[t * HE + i];
            lin_by_hand(x[t], p.in_w, p.in_b, in, HM, HE);
        }
        for (size_t l = 0; l < cfg.B; l++)
            block_by_hand(x, &p.block[l], cfg.norm == ATTN_PRE_LN, gelu);
        for (size_t t = 0; t < HN; t++) {
            if (cfg.norm == ATTN_PRE_LN)
                ln_by_hand(h[t], x[t], p.lnf_g, p.lnf_b, HM);
            else
                memcpy(h[t], x[t], sizeof h[t]);
            double want;
            lin_by_hand(&want, p.head_w, p.head_b, h[t], 1, HM);
            cr_assert(fabs(c.scores[t] - want) <= 2e-5 * (1 + fabs(want)),
                      "variant %d row %zu: score %.9g, by hand %.9g", k, t, c.scores[t], want);
        }
        attn_params_destroy(&p);
        attn_cache_destroy(&c);
    }
}


/* A cache keeps its capacity and its last rows: a smaller set scored after
 * a larger one (the learned policy's decisions as coflows finish) must
 * read none of what the larger one left, in the rows past n or in the
 * attention weights laid out for the larger n. The stale rows are large
 * (x 50), so a leak would move the scores far beyond rounding. */
Test(attn_net, a_smaller_set_after_a_larger_one_reads_nothing_stale, .timeout = 20)
{
    enum { BIG = 40, SMALL = 7, E = 12 };
    for (int k = 0; k < 4; k++) {
        attn_params_t p;
        attn_cache_t used, used_inf, fresh;
        attn_config_t cfg = random_net(&p, &fresh, k, E, 60, SMALL);
        attn_cache_init(&used);
        attn_cache_init(&used_inf);
        float big[BIG * E], small[SMALL * E];
        rng_state = 90 + (uint64_t)k;
        for (size_t i = 0; i < BIG * E; i++)
            big[i] = 50 * srandf();
        for (size_t i = 0; i < SMALL * E; i++)
            small[i] = srandf();
        attn_forward(&fresh, &p, &cfg, small, SMALL);
        cr_assert_eq(attn_cache_prepare(&used, &cfg, BIG), WEFT_OK);
        cr_assert_eq(attn_cache_prepare_infer(&used_inf, &cfg, BIG), WEFT_OK);
        attn_forward(&used, &p, &cfg, big, BIG);
        attn_forward_infer(&used_inf, &p, &cfg, big, BIG);
        /* without preparing again (a cache sized for N serves every n <= N),
           then prepared again for the smaller set */
        for (int again = 0; again < 2; again++) {
            if (again) {
                attn_forward(&used, &p, &cfg, big, BIG);
                cr_assert_eq(attn_cache_prepare(&used, &cfg, SMALL), WEFT_OK);
                cr_assert_eq(attn_cache_prepare_infer(&used_inf, &cfg, SMALL), WEFT_OK);
            }
            attn_forward(&used, &p, &cfg, small, SMALL);
            attn_forward_infer(&used_inf, &p, &cfg, small, SMALL);
            for (size_t i = 0; i < SMALL; i++) {
                float want = fresh.scores[i];
                cr_assert_float_eq(used.scores[i], want, 1e-6f * (1 + fabsf(want)),
                                   "variant %d, prepared again %d: row %zu scores %.9g after "
                                   "%d rows, %.9g alone", k, again, i, used.scores[i], BIG, want);
                cr_assert_float_eq(used_inf.scores[i], want, 1e-6f * (1 + fabsf(want)),
                                   "variant %d, prepared again %d: row %zu infers %.9g after "
                                   "%d rows, %.9g alone", k, again, i, used_inf.scores[i], BIG,
                                   want);
            }
        }
        attn_params_destroy(&p);
        attn_cache_destroy(&used);
        attn_cache_destroy(&used_inf);
        attn_cache_destroy(&fresh);
    }
}

/* Inputs from 1e-30 to 1e15 in magnitude (float): every score finite;
 * from 1e-3 up, rows that differ score differently (a LayerNorm whose
 * variance overflowed would give every row its bias; below, the inputs
 * vanish against the biases, as they should). Once the inputs dominate
 * the biases, LayerNorm's epsilon and (pre-LN) what the sub-layers add to
 * the residual stream, the scorer is scale-invariant, so from 1e5 up the
 * scores must match those at 1e5. Larger inputs are out of
 * reach: the learned policy's features are log1p-scaled and normalised,
 * and its embeddings' other columns are GRU states in (-1, 1) and small
 * MLP outputs; in float, |x| near 1e22 squares past FLT_MAX (post-LN then
 * gives NaN scores, which the policy refuses: test_learned.c). */
Test(attn_net, inputs_from_1e_minus_30_to_1e15_score_finite_and_apart, .timeout = 20)
{
    enum { N = 6, E = 16 };
    for (int k = 0; k < 4; k++) {
        attn_params_t p;
        attn_cache_t c;
        attn_config_t cfg = random_net(&p, &c, k, E, 3, N);
        for (size_t i = 0; i < p.n; i++) /* biases too: no score is 0 by itself */
            p.memory[i] += 0.05f * srandf();
        float unit[N * E], X[N * E], at1e5[N];
        rng_state = 31 + (uint64_t)k;
        for (size_t i = 0; i < N * E; i++)
            unit[i] = srandf();
        for (int e = -30; e <= 15; e++) {
            float mag = (float)pow(10, e);
            for (size_t i = 0; i < N * E; i++)
                X[i] = mag * unit[i];
            attn_forward(&c, &p, &cfg, X, N);
            float lo = INFINITY, hi = -INFINITY;
            for (size_t i = 0; i < N; i++) {
                cr_assert(isfinite(c.scores[i]), "variant %d, inputs ~1e%d: score %zu is %g",
                          k, e, i, c.scores[i]);
                lo = fminf(lo, c.scores[i]), hi = fmaxf(hi, c.scores[i]);
            }
            cr_assert(e < -3 || hi - lo > 1e-4f * (1 + fabsf(hi)),
                      "variant %d, inputs ~1e%d: every row scores %g", k, e, lo);
            if (e == 5)
                memcpy(at1e5, c.scores, sizeof at1e5);
            for (size_t i = 0; e > 5 && i < N; i++)
                cr_assert_float_eq(c.scores[i], at1e5[i], 1e-3f * (1 + fabsf(at1e5[i])),
                                   "variant %d, inputs ~1e%d: score %zu %.7g, at 1e5 %.7g", k,
                                   e, i, c.scores[i], at1e5[i]);
        }
        attn_params_destroy(&p);
        attn_cache_destroy(&c);
    }
}

/* ------------------------------------------------------------ kernels */

/* Distance from a float to the exact value x in units of the float's last
 * place at x. */
static double ulps(float got, double x)
{
    float near = (float)x;
    double ulp = (double)nextafterf(fabsf(near), INFINITY) - fabsf(near);
    return fabs((double)got - x) / ulp;
}

Test(attn_kernels, vexp_matches_libm, .timeout = 10)
{
    enum { N = 200003 }; /* odd: the partial last vector too */
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (size_t i = 0; i < N; i++) /* evenly over the whole domain, both ends included */
        x[i] = fminf(-87.0f + 175.0f * (float)i / (float)(N - 1), 88.0f);
    attn_vexp(y, x, N);
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < N; i++) {
        double u = ulps(y[i], exp((double)x[i]));
        if (u > worst)
            worst = u, at = i;
    }
    fprintf(stderr, "attn vexp: worst %.2f ulp from libm's exp on [-87, 88]\n", worst);
    cr_assert_leq(worst, 2.0, "worst %.2f ulp at x = %.9g: %.9g vs exp %.9g", worst, x[at], y[at],
                  exp((double)x[at]));
    /* what the header promises outside the domain */
    float edge[7] = {-87.5f, -1000.0f, -INFINITY, 88.5f, INFINITY, NAN, 0.0f}, out[7];
    attn_vexp(out, edge, 7);
    cr_assert_eq(out[0], 0.0f);
    cr_assert_eq(out[1], 0.0f);
    cr_assert_eq(out[2], 0.0f);
    cr_assert_float_eq(out[3], expf(88.0f), 4 * 1e-7f * expf(88.0f));
    cr_assert_float_eq(out[4], expf(88.0f), 4 * 1e-7f * expf(88.0f));
    cr_assert(isnan(out[5]));
    cr_assert_eq(out[6], 1.0f);
    free(x), free(y);
}

Test(attn_kernels, gelu_fast_vs_naive, .timeout = 10)
{
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x), *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    float *dy = malloc(N * sizeof *dy), *da = calloc(N, sizeof *da), *db = calloc(N, sizeof *db);
    rng_state = 23;
    for (size_t i = 0; i < N; i++) {
        x[i] = -12.0f + 24.0f * (float)i / (float)(N - 1); /* through both saturations */
        dy[i] = srandf();
    }
    x[0] = -1e4f, x[1] = 1e4f, x[2] = 0;
    for (int gelu = 0; gelu < 2; gelu++) {
        attn_act_forward(a, x, N, gelu);
        attn_act_forward_naive(b, x, N, gelu);
        for (size_t i = 0; i < N; i++)
            cr_assert_float_eq(a[i], b[i], 4e-7f * (1 + fabsf(x[i])),
                               "gelu %d x %.9g: %.9g vs %.9g", gelu, x[i], a[i], b[i]);
        memset(da, 0, N * sizeof *da), memset(db, 0, N * sizeof *db);
        attn_act_backward(da, x, dy, N, gelu);
        attn_act_backward_naive(db, x, dy, N, gelu);
        for (size_t i = 0; i < N; i++)
            cr_assert_float_eq(da[i], db[i], 2e-6f, "gelu %d x %.9g: d %.9g vs %.9g", gelu, x[i],
                               da[i], db[i]);
    }
    /* by hand: GELU(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) = 0.841192 */
    float one = 1, g;
    attn_act_forward(&g, &one, 1, 1);
    cr_assert_float_eq(g, 0.841192f, 1e-6f);
    free(x), free(a), free(b), free(dy), free(da), free(db);
}

Test(attn_kernels, layernorm_fast_vs_naive, .timeout = 10)
{
    static const size_t widths[] = {1, 7, 8, 9, 32, 37};
    enum { N = 5 };
    rng_state = 31;
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        size_t C = widths[k];
        float x[N * 37], g[37], b[37], o1[N * 37], o2[N * 37], m1[N], m2[N], r1[N], r2[N];
        for (size_t i = 0; i < N * C; i++)
            x[i] = 3 + 2 * srandf(); /* an offset, so the mean matters */
        for (size_t i = 0; i < C; i++)
            g[i] = 1 + srandf(), b[i] = srandf();
        attn_layernorm_forward(o1, m1, r1, x, g, b, N, C);
        attn_layernorm_forward_naive(o2, m2, r2, x, g, b, N, C);
        for (size_t t = 0; t < N; t++) {
            cr_assert_float_eq(m1[t], m2[t], 1e-6f * 4, "C %zu row %zu mean", C, t);
            cr_assert_float_eq(r1[t], r2[t], 1e-5f * fabsf(r2[t]), "C %zu row %zu rstd", C, t);
        }
        for (size_t i = 0; i < N * C; i++)
            cr_assert_float_eq(o1[i], o2[i], 1e-5f * (1 + fabsf(o2[i])), "C %zu at %zu: %g vs %g",
                               C, i, o1[i], o2[i]);
    }
}

/* The fused attention against the BLAS+libm path and the plain loops, on
 * shapes that leave partial vectors (N), odd head widths (K), and scores
 * large enough that the softmax is nearly one-hot. */
Test(attn_kernels, attention_fast_vs_reference, .timeout = 20)
{
    static const size_t Ns[] = {1, 3, 8, 9, 17, 70};
    static const size_t MH[][2] = {{8, 1}, {12, 4}, {32, 4}, {20, 2}, {6, 6}, {32, 2}};
    double worst_att[2] = {0, 0}, worst_out[2] = {0, 0};
    rng_state = 41;
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t b = 0; b < sizeof MH / sizeof MH[0]; b++)
            for (int big = 0; big < 2; big++) {
                size_t N = Ns[a], M = MH[b][0], H = MH[b][1], K = M / H;
                float *qkv = malloc(N * 3 * M * sizeof *qkv);
                float *att[3], *out[3];
                float *scratch = malloc(ATTN_ATT_SCRATCH(N, K) * sizeof *scratch);
                for (size_t i = 0; i < N * 3 * M; i++)
                    qkv[i] = (big ? 8.0f : 1.0f) * srandf();
                for (int impl = 0; impl < 3; impl++) {
                    att[impl] = malloc(H * N * N * sizeof *att[impl]);
                    out[impl] = malloc(N * M * sizeof *out[impl]);
                    /* cppcheck-suppress uninitdata ; scratch is written before it is read */
                    attn_attention_forward(out[impl], att[impl], impl == 0 ? scratch : NULL, qkv,
                                           N, M, H, (attn_impl_t)impl);
                }
                /* scores of magnitude S carry rounding errors of S eps, which
                 * the softmax turns into relative errors of the weights */
                float tol = big ? 1e-4f : 1e-6f;
                for (int impl = 1; impl < 3; impl++) {
                    double wa = 0, wo = 0;
                    for (size_t i = 0; i < H * N * N; i++)
                        wa = fmax(wa, fabs(att[0][i] - att[impl][i]));
                    for (size_t i = 0; i < N * M; i++)
                        wo = fmax(wo, fabs(out[0][i] - out[impl][i]) / (1 + fabs(out[impl][i])));
                    worst_att[big] = fmax(worst_att[big], wa);
                    worst_out[big] = fmax(worst_out[big], wo);
                    for (size_t i = 0; i < H * N * N; i++)
                        cr_assert_float_eq(att[0][i], att[impl][i], tol,
                                           "N %zu M %zu H %zu big %d impl %d: att[%zu] %.9g vs "
                                           "%.9g", N, M, H, big, impl, i, att[0][i],
                                           att[impl][i]);
                    for (size_t i = 0; i < N * M; i++)
                        cr_assert_float_eq(out[0][i], out[impl][i],
                                           tol * (1 + fabsf(out[impl][i])),
                                           "N %zu M %zu H %zu big %d impl %d: out[%zu] %.9g vs "
                                           "%.9g", N, M, H, big, impl, i, out[0][i],
                                           out[impl][i]);
                }
                for (size_t r = 0; r < H * N; r++) { /* every row a distribution */
                    double sum = 0;
                    for (size_t s = 0; s < N; s++)
                        sum += att[0][r * N + s];
                    cr_assert_float_eq(sum, 1.0, 1e-6, "N %zu M %zu H %zu row %zu sums to %.9g", N,
                                       M, H, r, sum);
                }
                for (int impl = 0; impl < 3; impl++)
                    free(att[impl]), free(out[impl]);
                free(qkv), free(scratch);
            }
    fprintf(stderr, "attn fused attention vs references: weights %.1e / %.1e, outputs %.1e / "
            "%.1e (unit / large scores)\n", worst_att[0], worst_att[1], worst_out[0], worst_out[1]);
}

/* Queries of zeros make every score exactly 0, the max included: each
 * implementation must weigh the rows equally (out = the mean of the
 * values), not take the row for one with nothing to attend to. */
Test(attn_kernels, attention_all_scores_zero, .timeout = 5)
{
    enum { N = 5, M = 4, H = 2 };
    float qkv[N * 3 * M] = {0}, att[H * N * N], out[N * M], mean[M] = {0};
    float scratch[ATTN_ATT_SCRATCH(N, M / H)];
    for (size_t t = 0; t < N; t++)
        for (size_t i = 0; i < M; i++) {
            qkv[t * 3 * M + M + i] = (float)(t + i); /* keys: ignored against q = 0 */
            qkv[t * 3 * M + 2 * M + i] = (float)(t * t) - (float)i;
            mean[i] += qkv[t * 3 * M + 2 * M + i] / N;
        }
    for (int impl = 0; impl < 3; impl++) {
        /* cppcheck-suppress legacyUninitvar ; scratch is written before it is read */
        attn_attention_forward(out, att, impl == 0 ? scratch : NULL, qkv, N, M, H,
                               (attn_impl_t)impl);
        for (size_t i = 0; i < H * N * N; i++)
            cr_assert_float_eq(att[i], 1.0f / N, 1e-6, "impl %d att[%zu] = %g", impl, i, att[i]);
        for (size_t i = 0; i < N * M; i++)
            cr_assert_float_eq(out[i], mean[i % M], 1e-5, "impl %d out[%zu]", impl, i);
    }
}

/* One Adam step (Kingma & Ba 2015, bias-corrected) with decoupled weight
 * decay, worked by hand at t = 1, where m̂ = g and v̂ = g²: a weight with
 * gradient 0.5 moves by lr (g / (|g| + eps) + wd p), one with gradient 0
 * by lr wd p only (0/0 without eps). */
Test(attn_net, adam_step_by_hand, .timeout = 5)
{
    float pm[2] = {1, 2}, gm[2] = {0.5f, 0}, mm[2] = {0, 0}, vm[2] = {0, 0};
    attn_params_t p = {.memory = pm, .n = 2}, g = {.memory = gm, .n = 2};
    attn_params_t m = {.memory = mm, .n = 2}, v = {.memory = vm, .n = 2};
    attn_adam_step(&p, &g, &m, &v, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
    cr_assert_float_eq(mm[0], 0.05, 1e-7);
    cr_assert_float_eq(vm[0], 0.00025, 1e-9);
    cr_assert_float_eq(pm[0], 1 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1), 1e-6);
    cr_assert_float_eq(pm[1], 2 - 0.1 * 0.01 * 2, 1e-6);
}

Test(attn_net, bad_config, .timeout = 5)
{
    attn_params_t p;
    attn_config_t cfg = variant(0, 8, 10, 4, 1); /* 4 does not divide 10 */
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "not a multiple of H"), "%s", weft_last_error());
    cfg = variant(0, 8, 8, 2, 0);
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "B (blocks) is 0"), "%s", weft_last_error());
    cfg = variant(0, 8, 8, 2, ATTN_MAX_BLOCKS + 1);
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_EINVAL);
    cfg = variant(0, 8, 8, 2, ATTN_MAX_BLOCKS); /* the bound itself is allowed */
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK, "%s", weft_last_error());
    attn_params_destroy(&p);
    attn_cache_t c;
    attn_cache_init(&c);
    cfg = variant(0, 8, 8, 2, 1);
    cr_assert_eq(attn_cache_prepare(&c, &cfg, 0), WEFT_EINVAL);
    attn_params_destroy(&p);
}

/* ----------------------------------------------------- Plackett–Luce */

static const size_t orders3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

static size_t order_index(const size_t *o)
{
    for (size_t k = 0; k < 6; k++)
        if (memcmp(o, orders3[k], sizeof orders3[k]) == 0)
            return k;
    cr_assert_fail("not a permutation of 0, 1, 2: %zu %zu %zu", o[0], o[1], o[2]);
    return 0;
}

Test(attn_pl, probabilities_sum_to_one, .timeout = 5)
{
    const float s[3] = {0.5f, -1.2f, 2.0f};
    double total = 0;
    for (size_t k = 0; k < 6; k++)
        total += exp(attn_pl_logprob(s, 3, orders3[k]));
    cr_assert_float_eq(total, 1.0, 1e-6);
    /* P(2, 0, 1) by hand: pick 2 among all, then 0 among {0, 1} */
    double e0 = exp(0.5), e1 = exp(-1.2), e2 = exp(2.0);
    double want = e2 / (e0 + e1 + e2) * e0 / (e0 + e1);
    cr_assert_float_eq(exp(attn_pl_logprob(s, 3, orders3[4])), want, 1e-6);
    /* huge scores stay finite (log-space accumulation) */
    const float big[3] = {1000.f, 999.f, -1000.f};
    double lp = attn_pl_logprob(big, 3, orders3[0]);
    cr_assert(isfinite(lp) && lp < 0 && lp > -1, "logprob %g", lp);
    /* n = 1: the only order is certain */
    size_t zero = 0;
    cr_assert_float_eq(attn_pl_logprob(s, 1, &zero), 0.0, 1e-12);
}

Test(attn_pl, gumbel_topk_frequencies, .timeout = 20)
{
    const float s[3] = {0.5f, -1.2f, 2.0f};
    enum { DRAWS = 60000 };
    attn_rng_t rng;
    attn_rng_seed(&rng, 2024);
    size_t count[6] = {0}, order[3];
    double work[3];
    for (size_t d = 0; d < DRAWS; d++) {
        attn_gumbel_topk(s, 3, &rng, order, work);
        count[order_index(order)]++;
    }
    /* Pearson's chi-square, 5 degrees of freedom: 20.5 is its 0.999
     * quantile; the seed makes the outcome fixed, the bound makes it
     * meaningful */
    double chi2 = 0;
    char msg[512];
    size_t len = 0;
    for (size_t k = 0; k < 6; k++) {
        double expect = DRAWS * exp(attn_pl_logprob(s, 3, orders3[k]));
        chi2 += (count[k] - expect) * (count[k] - expect) / expect;
        len += (size_t)snprintf(msg + len, sizeof msg - len, " %zu%zu%zu: %zu vs %.0f",
                                orders3[k][0], orders3[k][1], orders3[k][2], count[k], expect);
    }
    cr_assert_lt(chi2, 20.5, "chi-square %.2f over 6 orders:%s", chi2, msg);
    cr_log_info("gumbel top-k: chi-square %.2f (5 dof) over 6 orders:%s", chi2, msg);
    /* the same seed gives the same draws */
    attn_rng_t a, b;
    attn_rng_seed(&a, 7);
    attn_rng_seed(&b, 7);
    size_t oa[3], ob[3];
    for (int i = 0; i < 10; i++) {
        attn_gumbel_topk(s, 3, &a, oa, work);
        attn_gumbel_topk(s, 3, &b, ob, work);
        cr_assert_arr_eq(oa, ob, sizeof oa);
    }
}

/* Equal scores of exactly 0 (the log-sum-exp's running max is then 0, not
 * −inf): every order of 3 has probability 1/3!. */
Test(attn_pl, logprob_of_zero_scores, .timeout = 5)
{
    const float s[3] = {0, 0, 0};
    for (size_t k = 0; k < 6; k++)
        cr_assert_float_eq(attn_pl_logprob(s, 3, orders3[k]), -log(6.0), 1e-12, "order %zu", k);
}

/* x ^= x >> s undone. */
static uint64_t unxorshift(uint64_t z, unsigned s)
{
    uint64_t x = z;
    for (unsigned k = 0; k < 64 / s + 1; k++)
        x = z ^ (x >> s);
    return x;
}

/* The inverse of odd m modulo 2^64 (Newton's iteration doubles the bits). */
static uint64_t inverse_mod_2_64(uint64_t m)
{
    uint64_t inv = m;
    for (int k = 0; k < 5; k++)
        inv *= 2 - m * inv;
    return inv;
}

/* A generator whose next draw is x: splitmix64's steps undone. */
static attn_rng_t rng_drawing(uint64_t x)
{
    uint64_t z = unxorshift(x, 31) * inverse_mod_2_64(0x94d049bb133111ebULL);
    z = unxorshift(z, 27) * inverse_mod_2_64(0xbf58476d1ce4e5b9ULL);
    z = unxorshift(z, 30);
    attn_rng_t rng = {.state = z - 0x9e3779b97f4a7c15ULL};
    attn_rng_t copy = rng;
    cr_assert_eq(attn_rng_next(&copy), x, "the premise: the generator draws %llx",
                 (unsigned long long)x);
    return rng;
}

/* A uniform falls in the cell of the generator's top 53 bits (edges
 * included: in the upper half a cell's centre rounds to one) and is never
 * 0 nor 1, where the Gumbel noise −log(−log U) is infinite: the draws 0
 * and 2^64 − 1 give 2^-54 and the double below 1 (the last cell's centre,
 * 1 − 2^-54, rounded to even, was 1). */
Test(attn_pl, uniform_is_in_its_cell_never_0_nor_1, .timeout = 5)
{
    const uint64_t draws[] = {0, 1, 0x7ff, 0x800, UINT64_C(1) << 63, (UINT64_C(1) << 63) - 1,
                              UINT64_MAX - 0x800, UINT64_MAX};
    for (size_t i = 0; i < sizeof draws / sizeof *draws; i++) {
        attn_rng_t rng = rng_drawing(draws[i]);
        double u = attn_rng_uniform(&rng), top = (double)(draws[i] >> 11);
        cr_assert(u > 0 && u < 1 && isfinite(-log(-log(u))), "draw %llx: %a",
                  (unsigned long long)draws[i], u);
        cr_assert(u * 0x1.0p53 >= top && u * 0x1.0p53 <= top + 1, "draw %llx: %a outside its cell",
                  (unsigned long long)draws[i], u);
    }
    attn_rng_t rng = rng_drawing(0);
    cr_assert_eq(attn_rng_uniform(&rng), 0x1.0p-54);
    rng = rng_drawing(UINT64_MAX);
    cr_assert_eq(attn_rng_uniform(&rng), 1 - 0x1.0p-53);
}

Test(attn_pl, gumbel_topk_is_a_permutation, .timeout = 10)
{
    enum { N = 257 };
    float s[N];
    size_t order[N];
    double work[N];
    rng_state = 99;
    for (size_t i = 0; i < N; i++)
        s[i] = 3 * srandf();
    attn_rng_t rng;
    attn_rng_seed(&rng, 1);
    for (int trial = 0; trial < 20; trial++) {
        attn_gumbel_topk(s, N, &rng, order, work);
        char seen[N] = {0};
        for (size_t i = 0; i < N; i++) {
            cr_assert_lt(order[i], N);
            cr_assert(!seen[order[i]], "index %zu twice", order[i]);
            seen[order[i]] = 1;
        }
        for (size_t i = 1; i < N; i++) /* sorted by the perturbed keys */
            cr_assert_geq(work[order[i - 1]], work[order[i]]);
    }
}

Test(attn_pl, argsort_desc, .timeout = 5)
{
    const float s[6] = {0.5f, 2.0f, -1.0f, 2.0f, 0.5f, 3.0f};
    size_t order[6];
    attn_argsort_desc(s, 6, order);
    const size_t want[6] = {5, 1, 3, 0, 4, 2}; /* ties to the lower index */
    cr_assert_arr_eq(order, want, sizeof want);
}

/* -------------------------------------------------------- model file */

/* A fresh directory for one test's files (each Criterion test runs in its
 * own process; suite_tmpdir.h's tmpdir_remove takes it away). */
static void make_tmpdir(void)
{
    tmpdir_make("weft-attn");
}

static const char *tmp_path(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(b, 1, n, fp), n);
    cr_assert_eq(fclose(fp), 0);
}

static char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    cr_assert_eq(fread(b, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

/* A small model with every kind of entry and awkward float values. */
static void sample_model(attn_model_file_t *mf)
{
    attn_model_init(mf);
    cr_assert_eq(attn_model_set_int(mf, "gnn.F", 16), WEFT_OK);
    cr_assert_eq(attn_model_set_int(mf, "gnn.D", 32), WEFT_OK);
    cr_assert_eq(attn_model_set_int(mf, "negative", -123456789012LL), WEFT_OK);
    float mean[5] = {0.f, -0.f, 1e-40f /* subnormal */, INFINITY, 3.14159f};
    float stdv[5] = {1.f, 2.f, 0.5f, 1e30f, -INFINITY};
    uint32_t qnan = 0x7fc12345u; /* a NaN with a payload: must survive */
    memcpy(&stdv[2], &qnan, 4);
    cr_assert_eq(attn_model_set_vector(mf, "feat.mean", mean, 5), WEFT_OK);
    cr_assert_eq(attn_model_set_vector(mf, "feat.std", stdv, 5), WEFT_OK);
    cr_assert_eq(attn_model_set_vector(mf, "empty", NULL, 0), WEFT_OK);
    float t[2 * 3 * 4];
    rng_state = 4;
    for (size_t i = 0; i < 24; i++)
        t[i] = srandf() * 1e3f;
    size_t shape3[3] = {2, 3, 4}, shape1[1] = {7}, big[2] = {300, 5};
    cr_assert_eq(attn_model_set_tensor(mf, "w3", 3, shape3, t), WEFT_OK);
    cr_assert_eq(attn_model_set_tensor(mf, "v", 1, shape1, t), WEFT_OK);
    float *bt = malloc(1500 * sizeof *bt); /* more than one 4 KiB packing chunk */
    for (size_t i = 0; i < 1500; i++)
        bt[i] = (float)i * 0.001f - 0.7f;
    cr_assert_eq(attn_model_set_tensor(mf, "big", 2, big, bt), WEFT_OK);
    free(bt);
}

static void assert_models_equal(const attn_model_file_t *a, const attn_model_file_t *b)
{
    cr_assert_eq(a->n_ints, b->n_ints);
    cr_assert_eq(a->n_vecs, b->n_vecs);
    cr_assert_eq(a->n_tensors, b->n_tensors);
    for (size_t i = 0; i < a->n_ints; i++) {
        cr_assert_str_eq(a->ints[i].name, b->ints[i].name);
        cr_assert_eq(a->ints[i].value, b->ints[i].value);
    }
    for (size_t i = 0; i < a->n_vecs; i++) {
        cr_assert_str_eq(a->vecs[i].name, b->vecs[i].name);
        cr_assert_eq(a->vecs[i].n, b->vecs[i].n);
        cr_assert(a->vecs[i].n == 0 || memcmp(a->vecs[i].data, b->vecs[i].data,
                                              a->vecs[i].n * sizeof(float)) == 0,
                  "vector %s differs", a->vecs[i].name);
    }
    for (size_t i = 0; i < a->n_tensors; i++) {
        const attn_model_tensor_t *x = &a->tensors[i], *y = &b->tensors[i];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->ndim, y->ndim);
        cr_assert_arr_eq(x->shape, y->shape, sizeof x->shape);
        cr_assert_eq(x->n, y->n);
        cr_assert(memcmp(x->data, y->data, x->n * sizeof(float)) == 0, "tensor %s differs",
                  x->name);
    }
}

Test(attn_model, round_trip_bit_exact, .init = make_tmpdir, .fini = tmpdir_remove, .timeout = 10)
{
    attn_model_file_t mf, back;
    sample_model(&mf);
    attn_model_init(&back);
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "%s", tmp_path("a.wm"));
    snprintf(p2, sizeof p2, "%s", tmp_path("b.wm"));
    cr_assert_eq(attn_model_save(p1, &mf), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_model_load(p1, &back), WEFT_OK, "%s", weft_last_error());
    assert_models_equal(&mf, &back);
    int64_t v;
    cr_assert_eq(attn_model_get_int(&back, "negative", &v), WEFT_OK);
    cr_assert_eq(v, -123456789012LL);
    cr_assert_eq(attn_model_get_int(&back, "nope", &v), WEFT_ENOTFOUND);
    cr_assert(strstr(weft_last_error(), "nope"));
    /* saving what was loaded gives the same bytes */
    cr_assert_eq(attn_model_save(p2, &back), WEFT_OK);
    size_t n1, n2;
    char *b1 = read_bytes(p1, &n1), *b2 = read_bytes(p2, &n2);
    cr_assert_eq(n1, n2);
    cr_assert(memcmp(b1, b2, n1) == 0);
    /* the format: magic fixstr, then version 2 */
    cr_assert(memcmp(b1, "\xaaweft-model\x02", 12) == 0);
    cr_assert(!temp_left_beside(tmp_path("a.wm")), "temporary file left behind");
    free(b1), free(b2);
    attn_model_destroy(&mf);
    attn_model_destroy(&back);
}

/* Saving to a symbolic link replaces the file it leads to (atomically, in
 * that file's directory) and keeps the link. */
Test(attn_model, save_through_a_link_keeps_the_link, .init = make_tmpdir,
     .fini = tmpdir_remove, .timeout = 10)
{
    attn_model_file_t mf, back;
    sample_model(&mf);
    attn_model_init(&back);
    char sub[128], target[128], link[128];
    snprintf(sub, sizeof sub, "%s", tmp_path("sub"));
    snprintf(target, sizeof target, "%s", tmp_path("sub/real.wm"));
    snprintf(link, sizeof link, "%s", tmp_path("link.wm"));
    cr_assert_eq(mkdir(sub, 0700), 0);
    write_bytes(target, "old", 3);
    cr_assert_eq(symlink("sub/real.wm", link), 0);
    cr_assert_eq(attn_model_save(link, &mf), WEFT_OK, "%s", weft_last_error());
    struct stat sb;
    cr_assert(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link was replaced");
    cr_assert_eq(attn_model_load(target, &back), WEFT_OK, "%s", weft_last_error());
    assert_models_equal(&mf, &back);
    cr_assert(!temp_left_beside(tmp_path("sub/real.wm")), "temporary file left behind");
    cr_assert(!temp_left_beside(tmp_path("link.wm")), "temporary file left behind");
    attn_model_destroy(&mf);
    attn_model_destroy(&back);
}

/* Saving into a character device writes through it and keeps the device.
 * The device is a node of /dev/null's in the test's directory, where root
 * may make one: never /dev/null itself, which a regression would replace
 * for the whole machine. */
Test(attn_model, save_into_a_device_keeps_the_device, .init = make_tmpdir,
     .fini = tmpdir_remove, .timeout = 10)
{
    char null[128];
    snprintf(null, sizeof null, "%s", tmp_path("null"));
    if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        fprintf(stderr, "note: mknod %s: %s: saving into a device not checked\n", null,
                strerror(errno));
        return;
    }
    attn_model_file_t mf;
    sample_model(&mf);
    cr_assert_eq(attn_model_save(null, &mf), WEFT_OK, "%s", weft_last_error());
    struct stat sb;
    cr_assert(lstat(null, &sb) == 0 && S_ISCHR(sb.st_mode),
              "the character device was replaced by a regular file");
    cr_assert(!temp_left_beside(tmp_path("null")), "temporary file left behind");
    attn_model_destroy(&mf);
}

Test(attn_model, params_round_trip, .init = make_tmpdir, .fini = tmpdir_remove, .timeout = 10)
{
    attn_config_t cfg = variant(3, 12, 16, 4, 2), cfg2;
    attn_params_t p, q;
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
    attn_params_init_random(&p, &cfg, 5);
    attn_model_file_t mf, back;
    attn_model_init(&mf);
    attn_model_init(&back);
    cr_assert_eq(attn_model_set_int(&mf, "gnn.D", 32), WEFT_OK); /* shares the file */
    cr_assert_eq(attn_params_to_model(&p, &cfg, &mf), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_model_save(tmp_path("m.wm"), &mf), WEFT_OK);
    cr_assert_eq(attn_model_load(tmp_path("m.wm"), &back), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_config_from_model(&back, &cfg2), WEFT_OK, "%s", weft_last_error());
    cr_assert(memcmp(&cfg, &cfg2, sizeof cfg) == 0);
    cr_assert_eq(attn_params_init(&q, &cfg2), WEFT_OK);
    cr_assert_eq(attn_params_from_model(&q, &cfg2, &back), WEFT_OK, "%s", weft_last_error());
    cr_assert(memcmp(p.memory, q.memory, p.n * sizeof *p.memory) == 0);

    /* a size out of range names the range the loader takes: it said 0.., yet
       0 was refused the next moment */
    attn_model_file_t neg;
    attn_model_init(&neg);
    cr_assert_eq(attn_params_to_model(&p, &cfg, &neg), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_model_set_int(&neg, "attn.M", -32), WEFT_OK);
    cr_assert_eq(attn_config_from_model(&neg, &cfg2), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "attn.M is -32, expected 1..1048576"), "%s",
              weft_last_error());
    cr_assert_eq(attn_model_set_int(&neg, "attn.M", 16), WEFT_OK);
    cr_assert_eq(attn_model_set_int(&neg, "attn.B", ATTN_MAX_BLOCKS + 1), WEFT_OK);
    cr_assert_eq(attn_config_from_model(&neg, &cfg2), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "attn.B is 9, expected 1..8"), "%s", weft_last_error());
    cr_assert_eq(attn_model_set_int(&neg, "attn.B", 2), WEFT_OK);
    cr_assert_eq(attn_model_set_int(&neg, "attn.gelu", -1), WEFT_OK);
    cr_assert_eq(attn_config_from_model(&neg, &cfg2), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "attn.gelu is -1, expected 0..1"), "%s",
              weft_last_error());
    attn_model_destroy(&neg);

    /* a config that does not match the file */
    attn_config_t other = cfg;
    other.M = 8;
    attn_params_t r;
    cr_assert_eq(attn_params_init(&r, &other), WEFT_OK);
    cr_assert_eq(attn_params_from_model(&r, &other, &back), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "attn.M is 16, expected 8"), "%s", weft_last_error());
    /* a tensor of the wrong shape */
    size_t bad_shape[2] = {48, 12};
    float *zeros = calloc(48 * 12, sizeof *zeros);
    cr_assert_eq(attn_model_set_tensor(&back, "attn.blk2.qkv_w", 2, bad_shape, zeros), WEFT_OK);
    memset(q.memory, 0, q.n * sizeof *q.memory);
    cr_assert_eq(attn_params_from_model(&q, &cfg, &back), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "tensor attn.blk2.qkv_w has shape [48, 12] in the model, "
                                        "expected [48, 16]"),
              "%s", weft_last_error());
    for (size_t i = 0; i < q.n; i++) /* untouched on error */
        cr_assert_eq(q.memory[i], 0.0f);
    free(zeros);
    attn_params_destroy(&p), attn_params_destroy(&q), attn_params_destroy(&r);
    attn_model_destroy(&mf), attn_model_destroy(&back);
}

/* A config attn_config_check refuses is refused by the store and the load
 * too, before either touches the file or the parameters: stored, its ints
 * made a file no load takes; loaded, a norm of 5 read as pre-LN. */
Test(attn_model, a_bad_config_is_neither_stored_nor_loaded, .timeout = 5)
{
    attn_config_t cfg = variant(3, 12, 16, 4, 2), bad = cfg;
    bad.norm = 5; /* the same parameter count, so only the check can tell */
    attn_params_t p, q;
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&q, &cfg), WEFT_OK);
    attn_params_init_random(&p, &cfg, 9);
    attn_model_file_t mf, good;
    attn_model_init(&mf);
    attn_model_init(&good);
    cr_assert_eq(attn_params_to_model(&p, &bad, &mf), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "norm is 5"), "%s", weft_last_error());
    cr_assert_eq(mf.n_ints, 0, "%zu ints stored", mf.n_ints);
    cr_assert_eq(mf.n_tensors, 0, "%zu tensors stored", mf.n_tensors);
    cr_assert_eq(attn_params_to_model(&p, &cfg, &good), WEFT_OK, "%s", weft_last_error());
    memset(q.memory, 0, q.n * sizeof *q.memory);
    cr_assert_eq(attn_params_from_model(&q, &bad, &good), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "norm is 5"), "%s", weft_last_error());
    for (size_t i = 0; i < q.n; i++)
        cr_assert_eq(q.memory[i], 0.0f, "parameter %zu written", i);
    attn_params_destroy(&p), attn_params_destroy(&q);
    attn_model_destroy(&mf), attn_model_destroy(&good);
}

/* Loads path, expecting err and a detail containing the path and want. */
static void expect_load_error(const char *path, weft_err_t err, const char *want)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_clear_error();
    weft_err_t got = attn_model_load(path, &mf);
    cr_assert_eq(got, err, "%s: got %s (%s), expected %s", path, weft_strerror(got),
                 weft_last_error(), weft_strerror(err));
    cr_assert(strncmp(weft_last_error(), path, strlen(path)) == 0,
              "detail does not start with the path: %s", weft_last_error());
    cr_assert(strstr(weft_last_error(), want), "detail \"%s\" lacks \"%s\"", weft_last_error(),
              want);
    cr_assert_eq(mf.n_ints + mf.n_vecs + mf.n_tensors, 0);
    cr_log_info("%s: %s", weft_strerror(got), weft_last_error());
    attn_model_destroy(&mf);
}

/* Writes magic, version 1 and the body packed by fn: version 1 files have
 * no checksum, so the schema's own checks are reached. */
static void write_crafted(const char *path, void (*fn)(msgpack_packer *))
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_str_with_body(&pk, "weft-model", 10);
    msgpack_pack_uint32(&pk, 1);
    fn(&pk);
    write_bytes(path, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void pack_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

/* one tensor of shape [2, 3] whose data has 5 floats */
/* bytes of data of body_tensor_data's tensor of shape [2, 3] (24 bytes) */
static size_t tensor_data_bytes;

static void body_tensor_data(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "config"), msgpack_pack_map(pk, 0);
    pack_key(pk, "vectors"), msgpack_pack_map(pk, 0);
    pack_key(pk, "tensors"), msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 3);
    pack_key(pk, "name"), pack_key(pk, "w");
    pack_key(pk, "shape"), msgpack_pack_array(pk, 2), msgpack_pack_uint32(pk, 2),
        msgpack_pack_uint32(pk, 3);
    char data[32] = {0};
    pack_key(pk, "data"), msgpack_pack_bin_with_body(pk, data, (uint32_t)tensor_data_bytes);
}

/* a tensor of shape [2^20, 2^20] */
static void body_huge_shape(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "config"), msgpack_pack_map(pk, 0);
    pack_key(pk, "vectors"), msgpack_pack_map(pk, 0);
    pack_key(pk, "tensors"), msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 3);
    pack_key(pk, "name"), pack_key(pk, "w");
    pack_key(pk, "shape"), msgpack_pack_array(pk, 2), msgpack_pack_uint32(pk, 1u << 20),
        msgpack_pack_uint32(pk, 1u << 20);
    pack_key(pk, "data"), msgpack_pack_bin_with_body(pk, "abcd", 4);
}

/* a config value that is a float */
static void body_float_config(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "config"), msgpack_pack_map(pk, 1), pack_key(pk, "attn.M"),
        msgpack_pack_double(pk, 16.0);
    pack_key(pk, "vectors"), msgpack_pack_map(pk, 0);
    pack_key(pk, "tensors"), msgpack_pack_array(pk, 0);
}

/* a vector of 6 bytes: whole 16-bit units, not whole floats */
static void body_ragged_vector(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "config"), msgpack_pack_map(pk, 0);
    pack_key(pk, "vectors"), msgpack_pack_map(pk, 1);
    char data[6] = {0};
    pack_key(pk, "v"), msgpack_pack_bin_with_body(pk, data, sizeof data);
    pack_key(pk, "tensors"), msgpack_pack_array(pk, 0);
}

/* the vector "v" twice: which one would count? */
static void body_twice_vector(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "config"), msgpack_pack_map(pk, 0);
    pack_key(pk, "vectors"), msgpack_pack_map(pk, 2);
    pack_key(pk, "v"), msgpack_pack_bin_with_body(pk, "abcd", 4);
    pack_key(pk, "v"), msgpack_pack_bin_with_body(pk, "efgh", 4);
    pack_key(pk, "tensors"), msgpack_pack_array(pk, 0);
}

Test(attn_model, bad_files, .init = make_tmpdir, .fini = tmpdir_remove, .timeout = 30)
{
    attn_model_file_t mf;
    sample_model(&mf);
    char good[128];
    snprintf(good, sizeof good, "%s", tmp_path("good.wm"));
    cr_assert_eq(attn_model_save(good, &mf), WEFT_OK);
    attn_model_destroy(&mf);
    size_t len;
    char *b = read_bytes(good, &len);
    char *m = malloc(len + 64);

    /* truncated anywhere: inside the magic, before/inside the version,
     * inside a header, a name, a bin, one byte short */
    const size_t cuts[] = {0, 1, 5, 10, 11, 12, 13, 20, 40, len / 2, len - 100, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        write_bytes(tmp_path("cut.wm"), b, cuts[k]);
        expect_load_error(tmp_path("cut.wm"), WEFT_ETRUNC, "ends");
    }
    /* every prefix, to be sure none crashes or is accepted */
    for (size_t cut = 0; cut < len; cut += 7) {
        write_bytes(tmp_path("cut.wm"), b, cut);
        attn_model_init(&mf);
        weft_err_t err = attn_model_load(tmp_path("cut.wm"), &mf);
        cr_assert_eq(err, WEFT_ETRUNC, "cut at %zu: %s", cut, weft_last_error());
    }

    /* another format version: newer, or before the first */
    memcpy(m, b, len);
    cr_assert_eq(m[11], 2);
    m[11] = 3;
    write_bytes(tmp_path("v3.wm"), m, len);
    expect_load_error(tmp_path("v3.wm"), WEFT_EVERSION,
                      "model format version 3, this build reads versions 1 and 2");
    m[11] = 0;
    write_bytes(tmp_path("v0.wm"), m, len);
    expect_load_error(tmp_path("v0.wm"), WEFT_EVERSION, "model format version 0");

    /* wrong magic */
    memcpy(m, b, len);
    m[1] = 'W';
    write_bytes(tmp_path("magic.wm"), m, len);
    expect_load_error(tmp_path("magic.wm"), WEFT_EPARSE, "not a weft model file");

    /* random garbage */
    rng_state = 1234;
    for (size_t i = 0; i < 4096 && i < len + 64; i++)
        m[i] = (char)(urand() * 256);
    write_bytes(tmp_path("garbage.wm"), m, len);
    expect_load_error(tmp_path("garbage.wm"), WEFT_EPARSE, "not a weft model file");

    /* a map header claiming 2^32 − 1 entries right after the version (and
     * an array claiming 2^31 followed by a few bytes) */
    const char map32[] = "\xaaweft-model\x02\xdf\xff\xff\xff\xff";
    write_bytes(tmp_path("map32.wm"), map32, sizeof map32 - 1);
    expect_load_error(tmp_path("map32.wm"), WEFT_EINVAL, "map of 4294967295 entries, over the cap");
    const char arr32[] = "\xaaweft-model\x01\x81\xa7tensors\xdd\x80\x00\x00\x00\x01\x02\x03";
    write_bytes(tmp_path("arr32.wm"), arr32, sizeof arr32 - 1);
    expect_load_error(tmp_path("arr32.wm"), WEFT_EINVAL, "array of 2147483648 entries");
    /* a count under the cap but beyond the bytes present */
    const char arr16[] = "\xaaweft-model\x01\xdc\xff\xff\x01\x02";
    write_bytes(tmp_path("arr16.wm"), arr16, sizeof arr16 - 1);
    expect_load_error(tmp_path("arr16.wm"), WEFT_ETRUNC, "declares 65535 entries");
    /* A count over its cap is said as that, before the bytes left are
     * counted (a count both over and past the file's end was a
     * truncation): a bin claiming 4 GiB (over any bin's cap, a vector's or
     * tensor's 2^28 floats), the body's entry maps and tensors array of
     * 4,097 (named by their key), a vector's bin (by the vector's name).
     * Under the cap and past the end is a truncation. */
/* NOLINTNEXTLINE(bugprone-macro-parentheses): literals */
#define BAD(lit, err, want) {lit, sizeof lit - 1, err, want}
    static const struct {
        const char *bytes;
        size_t len;
        weft_err_t err;
        const char *want;
    } capped[] = {
        BAD("\xaaweft-model\x01\xc6\xff\xff\xff\xff\x00", WEFT_EINVAL,
            "byte 12: a bin of 4294967295 bytes declared, over the cap of 1073741824 (2^28 "
            "floats"),
        BAD("\xaaweft-model\x01\xc5\xff\xff\x00", WEFT_ETRUNC, "inside a bin of 65535 bytes"),
        BAD("\xaaweft-model\x01\x81\xa6" "config\xde\x10\x01\xa1x\x01", WEFT_EINVAL,
            "byte 20: \"config\": a map of 4097 entries declared, over the cap of 4096"),
        BAD("\xaaweft-model\x01\x81\xa7tensors\xdc\x10\x01\x80", WEFT_EINVAL,
            "byte 21: \"tensors\": an array of 4097 entries declared, over the cap of 4096"),
        BAD("\xaaweft-model\x01\x81\xa7tensors\xdc\x10\x00\x80", WEFT_ETRUNC,
            "declares 4096 entries"),
        BAD("\xaaweft-model\x01\x81\xa7vectors\x81\xa1v\xc6\x40\x00\x00\x04", WEFT_EINVAL,
            "byte 24: \"v\": a bin of 1073741828 bytes declared, over the cap of 1073741824"),
    };
#undef BAD
    for (size_t i = 0; i < sizeof capped / sizeof *capped; i++) {
        char name[32];
        snprintf(name, sizeof name, "capped%zu.wm", i);
        write_bytes(tmp_path(name), capped[i].bytes, capped[i].len);
        expect_load_error(tmp_path(name), capped[i].err, capped[i].want);
    }
    /* 0xc1 is never valid msgpack */
    const char c1[] = "\xaaweft-model\x01\xc1";
    write_bytes(tmp_path("c1.wm"), c1, sizeof c1 - 1);
    expect_load_error(tmp_path("c1.wm"), WEFT_EPARSE, "0xc1");
    /* a version that is not an integer */
    const char vstr[] = "\xaaweft-model\xa1" "1\x80";
    write_bytes(tmp_path("vstr.wm"), vstr, sizeof vstr - 1);
    expect_load_error(tmp_path("vstr.wm"), WEFT_EPARSE, "version is a string");

    /* tensor data that does not match its shape; a shape over the cap; a
     * float where an integer belongs */
    tensor_data_bytes = 20;
    write_crafted(tmp_path("short.wm"), body_tensor_data);
    expect_load_error(tmp_path("short.wm"), WEFT_EINVAL,
                      "tensor \"w\": 6 floats (24 bytes) expected, data has 20 bytes");
    tensor_data_bytes = 28; /* a float more than the shape holds: not cut to fit */
    write_crafted(tmp_path("long.wm"), body_tensor_data);
    expect_load_error(tmp_path("long.wm"), WEFT_EINVAL,
                      "tensor \"w\": 6 floats (24 bytes) expected, data has 28 bytes");
    write_crafted(tmp_path("huge.wm"), body_huge_shape);
    expect_load_error(tmp_path("huge.wm"), WEFT_EINVAL, "more than 268435456 floats");
    write_crafted(tmp_path("ragged.wm"), body_ragged_vector);
    expect_load_error(tmp_path("ragged.wm"), WEFT_EINVAL,
                      "vector \"v\": 6 bytes is not a whole number of floats");
    write_crafted(tmp_path("twice.wm"), body_twice_vector);
    expect_load_error(tmp_path("twice.wm"), WEFT_EPARSE, "vector \"v\" appears twice");
    write_crafted(tmp_path("float.wm"), body_float_config);
    expect_load_error(tmp_path("float.wm"), WEFT_EPARSE, "config \"attn.M\" is a float");

    /* trailing bytes after a valid model */
    memcpy(m, b, len);
    m[len] = 0x00;
    write_bytes(tmp_path("trail.wm"), m, len + 1);
    expect_load_error(tmp_path("trail.wm"), WEFT_EPARSE, "1 unexpected bytes after the model");

    /* no such file */
    expect_load_error(tmp_path("missing.wm"), WEFT_EIO, "cannot open");

    /* a failed load leaves the caller's model as it was */
    sample_model(&mf);
    cr_assert_eq(attn_model_load(tmp_path("v3.wm"), &mf), WEFT_EVERSION);
    cr_assert_eq(mf.n_tensors, 3);
    attn_model_destroy(&mf);
    free(b), free(m);
}

/* The file's last 41 bytes: the key "sha256", a bin 8 header of 32, and
 * the SHA-256 of the bytes before (computed here with OpenSSL, as
 * sha256sum would). */
static const char sha_head[] = "\xa6sha256\xc4\x20";

/* A version 1 body (no checksum) with "config" or "vectors" of another
 * type than a map: the section and the type it has are named. */
Test(attn_model, section_not_a_map_is_named, .init = make_tmpdir, .fini = tmpdir_remove)
{
    static const struct {
        const char *bytes, *want;
    } cases[] = {
        {"\xaaweft-model\x01\x83\xa6" "config\xa1x\xa7vectors\x80\xa7tensors\x90",
         "\"config\" is a string, expected a map"},
        {"\xaaweft-model\x01\x83\xa6" "config\x80\xa7vectors\x2a\xa7tensors\x90",
         "\"vectors\" is an integer, expected a map"},
        {"\xaaweft-model\x01\x83\xa6" "config\x80\xa7vectors\x91\x80\xa7tensors\x90",
         "\"vectors\" is an array, expected a map"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        write_bytes(tmp_path("section.wm"), cases[k].bytes, strlen(cases[k].bytes));
        expect_load_error(tmp_path("section.wm"), WEFT_EPARSE, cases[k].want);
    }
}

Test(attn_model, checksum_catches_any_changed_byte, .init = make_tmpdir,
     .fini = tmpdir_remove, .timeout = 60)
{
    attn_model_file_t mf, back;
    sample_model(&mf);
    cr_assert_eq(attn_model_save(tmp_path("good.wm"), &mf), WEFT_OK);
    size_t len;
    char *b = read_bytes(tmp_path("good.wm"), &len);
    cr_assert(len > 41 + 12);
    cr_assert_eq(memcmp(b + len - 41, sha_head, 9), 0, "the file does not end with its sha256");
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    cr_assert_eq(EVP_Digest(b, len - 41, sum, &n, EVP_sha256(), NULL), 1);
    cr_assert_eq(n, 32);
    cr_assert_eq(memcmp(sum, b + len - 32, 32), 0, "the stored SHA-256 is not the file's");

    /* one bit flipped anywhere after the version, weights included (which
       the structure alone cannot catch), or in the stored digest itself */
    char *m = malloc(len + 8);
    size_t weights_refused = 0;
    for (size_t at = 12; at < len; at++) {
        memcpy(m, b, len);
        m[at] ^= (char)(1 << (at % 8));
        write_bytes(tmp_path("flip.wm"), m, len);
        attn_model_init(&back);
        weft_err_t err = attn_model_load(tmp_path("flip.wm"), &back);
        cr_assert_neq(err, WEFT_OK, "a bit flipped at byte %zu of %zu loaded", at, len);
        attn_model_destroy(&back);
        if (strstr(weft_last_error(), "checksum mismatch"))
            weights_refused++;
    }
    cr_assert(weights_refused > len / 2, "only %zu of %zu flips named the checksum",
              weights_refused, len - 12);
    memcpy(m, b, len);
    m[len - 100] ^= 0x01; /* inside the last tensor's floats */
    write_bytes(tmp_path("weight.wm"), m, len);
    expect_load_error(tmp_path("weight.wm"), WEFT_EPARSE, "checksum mismatch");
    memcpy(m, b, len);
    m[len - 1] ^= 0x80;
    write_bytes(tmp_path("digest.wm"), m, len);
    expect_load_error(tmp_path("digest.wm"), WEFT_EPARSE, "checksum mismatch");
    /* the message shows both digests whole: with the first 8 bytes alone, a
       flip in the stored digest's last byte read as two equal digests */
    char stored[65], computed[65];
    for (int i = 0; i < 32; i++) {
        snprintf(stored + 2 * i, 3, "%02x", (unsigned char)m[len - 32 + i]);
        snprintf(computed + 2 * i, 3, "%02x", sum[i]);
    }
    attn_model_init(&back);
    cr_assert_neq(attn_model_load(tmp_path("digest.wm"), &back), WEFT_OK);
    cr_assert(strstr(weft_last_error(), stored) && strstr(weft_last_error(), computed),
              "the mismatch does not show both digests (%s and %s): %s", computed, stored,
              weft_last_error());
    attn_model_destroy(&back);

    /* version 1, saved before the checksum (three body entries, nothing
       after the tensors), still loads, unchecked, to the same model; as
       version 2 it is refused */
    memcpy(m, b, len);
    cr_assert_eq((unsigned char)m[12], 0x84);
    m[12] = (char)0x83;
    write_bytes(tmp_path("nosum.wm"), m, len - 41);
    expect_load_error(tmp_path("nosum.wm"), WEFT_EPARSE, "no \"sha256\" entry");
    m[11] = 1;
    write_bytes(tmp_path("v1.wm"), m, len - 41);
    attn_model_init(&back);
    cr_assert_eq(attn_model_load(tmp_path("v1.wm"), &back), WEFT_OK, "%s", weft_last_error());
    assert_models_equal(&mf, &back);
    attn_model_destroy(&back);
    /* a version 2 file with only its version byte set to 1 still holds
       its "sha256": refused as damage, not read unchecked (its weights
       could then be edited unseen) */
    memcpy(m, b, len);
    m[11] = 1;
    m[len - 100] ^= 0x01;
    write_bytes(tmp_path("v2as1.wm"), m, len);
    expect_load_error(tmp_path("v2as1.wm"), WEFT_EPARSE, "format version 1, yet a \"sha256\"");

    /* a "sha256" that is not the last entry, or not 32 bytes */
    memcpy(m, b, len);
    m[12] = (char)0x85; /* a fifth entry after it: "x": 0 */
    memcpy(m + len, "\xa1x\x00", 3);
    write_bytes(tmp_path("notlast.wm"), m, len + 3);
    expect_load_error(tmp_path("notlast.wm"), WEFT_EPARSE, "not the model's last entry");
    memcpy(m, b, len);
    m[len - 32 - 1] = 31; /* bin 8 of 31 bytes */
    write_bytes(tmp_path("short.wm"), m, len - 1);
    expect_load_error(tmp_path("short.wm"), WEFT_EPARSE, "not the model's last entry");
    attn_model_destroy(&mf);
    free(b), free(m);
}

/* Random damage to a valid file: flipped bytes and random bodies after a
 * valid header must be refused or read, never crash or hang. */
Test(attn_model, fuzz_never_crashes, .init = make_tmpdir, .fini = tmpdir_remove, .timeout = 60)
{
    attn_model_file_t mf;
    sample_model(&mf);
    cr_assert_eq(attn_model_save(tmp_path("good.wm"), &mf), WEFT_OK);
    attn_model_destroy(&mf);
    size_t len;
    char *b = read_bytes(tmp_path("good.wm"), &len);
    char *m = malloc(len);
    rng_state = 555;
    size_t accepted = 0;
    for (int trial = 0; trial < 400; trial++) {
        memcpy(m, b, len);
        size_t flips = 1 + (size_t)(urand() * 4);
        for (size_t f = 0; f < flips; f++) /* keep magic and version: reach the body */
            m[12 + (size_t)(urand() * (double)(len - 12))] = (char)(urand() * 256);
        if (trial % 4 == 3) /* or a wholly random body */
            for (size_t i = 12; i < len; i++)
                m[i] = (char)(urand() * 256);
        write_bytes(tmp_path("fuzz.wm"), m, len);
        attn_model_init(&mf);
        weft_err_t err = attn_model_load(tmp_path("fuzz.wm"), &mf);
        cr_assert(err == WEFT_OK || err == WEFT_EPARSE || err == WEFT_ETRUNC ||
                      err == WEFT_EINVAL,
                  "trial %d: %s (%s)", trial, weft_strerror(err), weft_last_error());
        accepted += err == WEFT_OK;
        attn_model_destroy(&mf);
    }
    cr_log_info("fuzz: %zu of 400 damaged files still loaded", accepted);
    free(b), free(m);
}
