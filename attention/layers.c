/*
 * layers.c - the kernels of the scorer, each a forward/backward pair in
 * llm.c's shape (Karpathy's llm.c, train_gpt2.c): matmul, layernorm,
 * multi-head self-attention, ReLU/GELU, residual.
 *
 * Dimension letters (as attn.h):
 *   N rows, M model width, H heads, K = M/H head width, C a LayerNorm's
 *   width, In/Out a matmul's input/output width.
 * Every array is row-major; weights are (out, in), so the BLAS forward is
 * GEMM(NoTrans, Trans). Backward functions accumulate (+=): the caller
 * zeroes gradients once, and residual branches add into the same buffer.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "attention/attn_internal.h"

/* ---------------------------------------------------------------- matmul */

void attn_matmul_forward(weft_real_t *out, const weft_real_t *inp, const weft_real_t *W,
                         const weft_real_t *b, size_t N, size_t In, size_t Out)
{
    assert(out && inp && W && N > 0 && In > 0 && Out > 0);
    /* out [N, Out] = b broadcast, then += inp [N, In] W^T [In, Out] */
    for (size_t t = 0; t < N; t++) {
        weft_real_t *o = out + t * Out;
        if (b)
            memcpy(o, b, Out * sizeof *o);
        else
            memset(o, 0, Out * sizeof *o);
    }
    WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)Out, (int)In, 1, inp, (int)In,
              W, (int)In, 1, out, (int)Out);
}

void attn_matmul_forward_naive(weft_real_t *out, const weft_real_t *inp, const weft_real_t *W,
                               const weft_real_t *b, size_t N, size_t In, size_t Out)
{
    assert(out && inp && W && N > 0 && In > 0 && Out > 0);
    for (size_t t = 0; t < N; t++)
        for (size_t o = 0; o < Out; o++) {
            weft_real_t s = b ? b[o] : 0;
            for (size_t i = 0; i < In; i++)
                s += inp[t * In + i] * W[o * In + i];
            out[t * Out + o] = s;
        }
}

void attn_matmul_backward(weft_real_t *dinp, weft_real_t *dW, weft_real_t *db,
                          const weft_real_t *dout, const weft_real_t *inp, const weft_real_t *W,
                          size_t N, size_t In, size_t Out)
{
    assert(dW && dout && inp && W && N > 0 && In > 0 && Out > 0);
    /* dinp [N, In] += dout [N, Out] W [Out, In] */
    if (dinp)
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)In, (int)Out, 1, dout,
                  (int)Out, W, (int)In, 1, dinp, (int)In);
    /* dW [Out, In] += dout^T [Out, N] inp [N, In] */
    WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Out, (int)In, (int)N, 1, dout,
              (int)Out, inp, (int)In, 1, dW, (int)In);
    if (db)
        for (size_t t = 0; t < N; t++)
            for (size_t o = 0; o < Out; o++)
                db[o] += dout[t * Out + o];
}

/* ------------------------------------------------------------- layernorm */

/* LayerNorm (Ba, Kiros & Hinton 2016) over the C features of each row,
 * biased variance, eps inside the square root. */
void attn_layernorm_forward(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
                            const weft_real_t *inp, const weft_real_t *g, const weft_real_t *b,
                            size_t N, size_t C)
{
    assert(out && mean && rstd && inp && g && b && C > 0);
    for (size_t t = 0; t < N; t++) {
        const weft_real_t *x = inp + t * C;
        weft_real_t *o = out + t * C;
        weft_real_t m = 0;
        for (size_t i = 0; i < C; i++)
            m += x[i];
        m /= (weft_real_t)C;
        weft_real_t v = 0;
        for (size_t i = 0; i < C; i++)
            v += (x[i] - m) * (x[i] - m);
        v /= (weft_real_t)C;
        weft_real_t s = 1 / WEFT_SQRT(v + (weft_real_t)ATTN_LN_EPS);
        for (size_t i = 0; i < C; i++)
            o[i] = (x[i] - m) * s * g[i] + b[i];
        mean[t] = m;
        rstd[t] = s;
    }
}

void attn_layernorm_backward(weft_real_t *dinp, weft_real_t *dg, weft_real_t *db,
                             const weft_real_t *dout, const weft_real_t *inp,
                             const weft_real_t *mean, const weft_real_t *rstd,
                             const weft_real_t *g, size_t N, size_t C)
{
    assert(dinp && dg && db && dout && inp && mean && rstd && g && C > 0);
    for (size_t t = 0; t < N; t++) {
        const weft_real_t *x = inp + t * C, *dy = dout + t * C;
        weft_real_t *dx = dinp + t * C;
        weft_real_t m = mean[t], s = rstd[t];
        /* undo out = norm * g + b with norm = (x − m) s; then the two
         * reductions of the normalisation (llm.c's layernorm_backward) */
        weft_real_t dnorm_mean = 0, dnorm_norm_mean = 0;
        for (size_t i = 0; i < C; i++) {
            weft_real_t norm = (x[i] - m) * s;
            weft_real_t dnorm = g[i] * dy[i];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= (weft_real_t)C;
        dnorm_norm_mean /= (weft_real_t)C;
        for (size_t i = 0; i < C; i++) {
            weft_real_t norm = (x[i] - m) * s;
            weft_real_t dnorm = g[i] * dy[i];
            db[i] += dy[i];
            dg[i] += norm * dy[i];
            dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
}

/* ------------------------------------------------------------- attention */

/* Softmax of one row in place: the max is subtracted so exp never
 * overflows; an empty row (all −inf, or n = 0) becomes zeros rather than
 * NaN. The max and the sum use 8 independent partial accumulators: a
 * single one is a loop-carried dependency that, with N^2 H B entries per
 * forward, costs more than the GEMMs (the order changes rounding only). */
static void softmax_row(weft_real_t *row, size_t n)
{
    weft_real_t m8[8], s8[8];
    for (size_t k = 0; k < 8; k++)
        m8[k] = -INFINITY, s8[k] = 0;
    size_t s = 0;
    for (; s + 8 <= n; s += 8)
        for (size_t k = 0; k < 8; k++)
            m8[k] = row[s + k] > m8[k] ? row[s + k] : m8[k];
    for (; s < n; s++)
        m8[0] = row[s] > m8[0] ? row[s] : m8[0];
    weft_real_t mx = m8[0];
    for (size_t k = 1; k < 8; k++)
        mx = m8[k] > mx ? m8[k] : mx;
    if (mx == -INFINITY) { /* nothing to attend to */
        for (s = 0; s < n; s++)
            row[s] = 0;
        return;
    }
    for (s = 0; s < n; s++)
        row[s] = WEFT_EXP(row[s] - mx);
    for (s = 0; s + 8 <= n; s += 8)
        for (size_t k = 0; k < 8; k++)
            s8[k] += row[s + k];
    for (; s < n; s++)
        s8[0] += row[s];
    weft_real_t sum = 0;
    for (size_t k = 0; k < 8; k++)
        sum += s8[k];
    weft_real_t inv = sum > 0 ? 1 / sum : 0; /* sum >= 1 (the max's term), but never divide by 0 */
    for (s = 0; s < n; s++)
        row[s] *= inv;
}

/* Scaled dot-product attention (Vaswani et al. 2017, §3.2.1, eq. 1) per
 * head: att_h = softmax(Q_h K_h^T / sqrt(K)), out_h = att_h V_h. Q_h is
 * columns h*K.. of qkv's q part (row stride 3M), likewise K_h and V_h. */
void attn_attention_forward(weft_real_t *out, weft_real_t *att, const weft_real_t *qkv, size_t N,
                            size_t M, size_t H, int naive)
{
    assert(out && att && qkv && N > 0 && H > 0 && M % H == 0);
    size_t K = M / H, C3 = 3 * M;
    weft_real_t scale = 1 / WEFT_SQRT((weft_real_t)K);
    for (size_t h = 0; h < H; h++) {
        const weft_real_t *q = qkv + h * K, *k = qkv + M + h * K, *v = qkv + 2 * M + h * K;
        weft_real_t *a = att + h * N * N; /* [N, N] */
        weft_real_t *o = out + h * K;     /* [N, K], row stride M */
        if (naive) {
            for (size_t t = 0; t < N; t++) {
                for (size_t s = 0; s < N; s++) {
                    weft_real_t d = 0;
                    for (size_t i = 0; i < K; i++)
                        d += q[t * C3 + i] * k[s * C3 + i];
                    a[t * N + s] = d * scale;
                }
                softmax_row(a + t * N, N);
                for (size_t i = 0; i < K; i++) {
                    weft_real_t y = 0;
                    for (size_t s = 0; s < N; s++)
                        y += a[t * N + s] * v[s * C3 + i];
                    o[t * M + i] = y;
                }
            }
            continue;
        }
        /* a [N, N] = scale * q [N, K] k^T [K, N] */
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)K, scale, q,
                  (int)C3, k, (int)C3, 0, a, (int)N);
        for (size_t t = 0; t < N; t++)
            softmax_row(a + t * N, N);
        /* o [N, K] = a [N, N] v [N, K] */
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)K, (int)N, 1, a, (int)N,
                  v, (int)C3, 0, o, (int)M);
    }
}

void attn_attention_backward(weft_real_t *dqkv, weft_real_t *datt, const weft_real_t *dout,
                             const weft_real_t *qkv, const weft_real_t *att, size_t N, size_t M,
                             size_t H)
{
    assert(dqkv && datt && dout && qkv && att && N > 0 && H > 0 && M % H == 0);
    size_t K = M / H, C3 = 3 * M;
    weft_real_t scale = 1 / WEFT_SQRT((weft_real_t)K);
    for (size_t h = 0; h < H; h++) {
        const weft_real_t *q = qkv + h * K, *k = qkv + M + h * K, *v = qkv + 2 * M + h * K;
        weft_real_t *dq = dqkv + h * K, *dk = dqkv + M + h * K, *dv = dqkv + 2 * M + h * K;
        const weft_real_t *a = att + h * N * N;
        const weft_real_t *dy = dout + h * K; /* [N, K], row stride M */
        /* undo o = a v:  dv += a^T dy,  datt = dy v^T */
        WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)K, (int)N, 1, a, (int)N,
                  dy, (int)M, 1, dv, (int)C3);
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)K, 1, dy, (int)M, v,
                  (int)C3, 0, datt, (int)N);
        /* undo the softmax, row by row: dpre_s = a_s (datt_s − Σ_u a_u datt_u) */
        for (size_t t = 0; t < N; t++) {
            const weft_real_t *ar = a + t * N;
            weft_real_t *dr = datt + t * N;
            weft_real_t dot = 0;
            for (size_t s = 0; s < N; s++)
                dot += ar[s] * dr[s];
            for (size_t s = 0; s < N; s++)
                dr[s] = ar[s] * (dr[s] - dot);
        }
        /* undo pre = scale q k^T:  dq += scale dpre k,  dk += scale dpre^T q */
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)K, (int)N, scale, datt,
                  (int)N, k, (int)C3, 1, dq, (int)C3);
        WEFT_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)K, (int)N, scale, datt,
                  (int)N, q, (int)C3, 1, dk, (int)C3);
    }
}

/* ------------------------------------------------------------ activation */

/* GELU, tanh approximation (Hendrycks & Gimpel 2016, §2):
 * 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x^3))). */
#define GELU_SCALE 0.7978845608028654 /* sqrt(2/π) */

void attn_act_forward(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu)
{
    assert(out && inp);
    if (!gelu) {
        for (size_t i = 0; i < n; i++)
            out[i] = inp[i] > 0 ? inp[i] : 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        weft_real_t x = inp[i];
        weft_real_t u = (weft_real_t)GELU_SCALE * (x + (weft_real_t)0.044715 * x * x * x);
        out[i] = (weft_real_t)0.5 * x * (1 + WEFT_TANH(u));
    }
}

void attn_act_backward(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
                       size_t n, int gelu)
{
    assert(dinp && inp && dout);
    if (!gelu) { /* derivative 0 at the kink, as PyTorch */
        for (size_t i = 0; i < n; i++)
            if (inp[i] > 0)
                dinp[i] += dout[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {
        weft_real_t x = inp[i];
        weft_real_t u = (weft_real_t)GELU_SCALE * (x + (weft_real_t)0.044715 * x * x * x);
        weft_real_t th = WEFT_TANH(u);
        weft_real_t sech2 = 1 - th * th;
        weft_real_t du = (weft_real_t)GELU_SCALE * (1 + 3 * (weft_real_t)0.044715 * x * x);
        weft_real_t d = (weft_real_t)0.5 * (1 + th) + (weft_real_t)0.5 * x * sech2 * du;
        dinp[i] += d * dout[i];
    }
}

/* -------------------------------------------------------------- residual */

void attn_residual_forward(weft_real_t *out, const weft_real_t *a, const weft_real_t *b, size_t n)
{
    assert(out && a && b);
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void attn_residual_backward(weft_real_t *da, weft_real_t *db, const weft_real_t *dout, size_t n)
{
    assert(dout);
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
}
