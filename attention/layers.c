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
 *
 * The elementwise kernels (softmax, GELU, LayerNorm) come twice: plain
 * scalar loops calling libm (the *_naive references), and the same
 * functions on GCC vector types (32 bytes: 8 floats or 4 doubles) with an
 * exp of their own (vexp below): with libm, the N^2 H B exps of the
 * softmaxes and the tanhs of GELU cost more than every GEMM together
 * (issue 4's profile). Attention itself is fused row by row on vectors
 * (attention_head_vec) instead of two BLAS GEMMs around a softmax. Each
 * vector kernel is built twice (target_clones): for x86-64-v3 (AVX2, FMA)
 * and for the generic x86-64 the binary must also run on; the loader picks
 * one on first call. This file is compiled with FP contraction on
 * (CMakeLists.txt), so the two builds may differ in the last bit where one
 * fuses a multiply-add.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "attention/attn_internal.h"

/* ------------------------------------------------------ vector arithmetic */

/* Kernels worth a second, AVX2 build next to the generic x86-64 one; the
 * dynamic loader picks one through an ifunc on first call. Elsewhere (other
 * compilers or architectures), or with -DATTN_NO_CLONES (how the generic
 * build is tested on an AVX2 machine), the generic build only. */
#if WEFT_CAN_CLONE && !defined(ATTN_NO_CLONES)
#define ATTN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ATTN_CLONES
#endif

/* Vector helpers are forced inline, so each clone gets its own copy built
 * for its target (a call would reach the generic build). */
#define VINLINE static inline __attribute__((always_inline))

#ifndef VBYTES
#define VBYTES 32
#endif
#define VL (VBYTES / sizeof(weft_real_t)) /* lanes */
typedef weft_real_t vreal __attribute__((vector_size(VBYTES)));
#ifdef WEFT_NN_DOUBLE
typedef int64_t vmask __attribute__((vector_size(VBYTES)));   /* what comparisons give */
typedef uint64_t vbits __attribute__((vector_size(VBYTES)));
#define EXP_MANT 52          /* mantissa bits */
#define EXP_BIAS 1023
#define EXP_LO (-708.0)      /* e^-708 > DBL_MIN: 2^k stays a normal number */
#define EXP_HI 709.0         /* e^709 < DBL_MAX */
#define EXP_LN2_HI 0x1.62e42fee00000p-1 /* ln 2 to 32 bits: k * hi is exact for |k| < 2^20 */
#define EXP_LN2_LO 0x1.a39ef35793c76p-33 /* ln 2 - EXP_LN2_HI */
#define EXP_DEGREE 13        /* Taylor terms: remainder < 5e-18 on |r| <= ln2/2 */
#define EXP2_LO (-1022.0)    /* 2^-1022 = DBL_MIN */
#else
typedef int32_t vmask __attribute__((vector_size(VBYTES)));
typedef uint32_t vbits __attribute__((vector_size(VBYTES)));
#define EXP_MANT 23
#define EXP_BIAS 127
#define EXP_LO (-87.0)       /* e^-87 > FLT_MIN */
#define EXP_HI 88.0          /* e^88 < FLT_MAX */
#define EXP_LN2_HI 0x1.63p-1 /* ln 2 to 9 bits: k * hi is exact for |k| < 2^15 */
#define EXP_LN2_LO (-0x1.bd0105c610ca8p-13) /* ln 2 - EXP_LN2_HI */
#define EXP_DEGREE 7         /* Taylor terms: remainder < 5e-9 on |r| <= ln2/2 */
#define EXP2_LO (-126.0)     /* 2^-126 = FLT_MIN */
#endif

/* Loads and stores through memcpy: unaligned, no aliasing questions. The
 * helpers take pointers rather than return vectors so no vector crosses a
 * function boundary in the generic (SSE2) build's ABI. */
VINLINE void vload(vreal *v, const weft_real_t *p) { memcpy(v, p, sizeof *v); }
VINLINE void vstore(weft_real_t *p, const vreal *v) { memcpy(p, v, sizeof *v); }
VINLINE void vsplat(vreal *v, weft_real_t x) { *v = (vreal){0} + x; }
/* The first m (< VL) lanes from p, the others fill. */
VINLINE void vload_part(vreal *v, const weft_real_t *p, size_t m, weft_real_t fill)
{
    vsplat(v, fill);
    memcpy(v, p, m * sizeof *p);
}
VINLINE weft_real_t vsum(const vreal *v) /* lanes added in index order */
{
    /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): vector lanes, all set */
    weft_real_t s = (*v)[0];
    for (size_t k = 1; k < VL; k++)
        s += (*v)[k];
    return s;
}
VINLINE weft_real_t vmax(const vreal *v) /* NaN lanes may be skipped */
{
    weft_real_t m = (*v)[0];
    for (size_t k = 1; k < VL; k++)
        m = (*v)[k] > m ? (*v)[k] : m;
    return m;
}
/* where mask: a, elsewhere b (a macro: a function returning a vector
 * would change the generic build's ABI) */
#define VSELECT(mask, a, b) ((vreal)(((vmask)(a) & (mask)) | ((vmask)(b) & ~(mask))))

/* *p = e^r for |r| <= ln2/2: Σ_{j<=DEGREE} r^j / j!. Float: degree 7 by
 * Estrin's scheme (Knuth, TAOCP vol. 2, §4.6.4), whose dependency chain
 * is three multiply-adds deep rather than Horner's seven, so more exps are
 * in flight at once; double (the gradient-test build): Horner. */
VINLINE void vexp_taylor(vreal *p, const vreal *r)
{
    static const double inv_fact[] = {1.0, 1.0, 1 / 2.0, 1 / 6.0, 1 / 24.0, 1 / 120.0,
                                      1 / 720.0, 1 / 5040.0, 1 / 40320.0, 1 / 362880.0,
                                      1 / 3628800.0, 1 / 39916800.0, 1 / 479001600.0,
                                      1 / 6227020800.0};
    _Static_assert(EXP_DEGREE < sizeof inv_fact / sizeof inv_fact[0], "exp degree");
#if EXP_DEGREE == 7
    vreal x = *r, x2 = x * x, x4 = x2 * x2;
    vreal a = x + 1;                                                           /* c0 + c1 x */
    vreal b = x * (weft_real_t)inv_fact[3] + (weft_real_t)inv_fact[2];         /* c2 + c3 x */
    vreal d = x * (weft_real_t)inv_fact[5] + (weft_real_t)inv_fact[4];         /* c4 + c5 x */
    vreal e = x * (weft_real_t)inv_fact[7] + (weft_real_t)inv_fact[6];         /* c6 + c7 x */
    *p = (x2 * b + a) + x4 * (x2 * e + d);
#else
    vsplat(p, (weft_real_t)inv_fact[EXP_DEGREE]);
#pragma GCC unroll 16 /* then every coefficient is a constant */
    for (int j = EXP_DEGREE - 1; j >= 0; j--)
        *p = *p * *r + (weft_real_t)inv_fact[j];
#endif
}

/* out[0..3] = the lane sums of y0..y3 (a transposing tree of shuffles:
 * 3 rounds of shuffle-and-add for 4 sums instead of 4 x 7 scalar adds). */
VINLINE void vsum4(const vreal *y0, const vreal *y1, const vreal *y2, const vreal *y3,
                   weft_real_t out[4])
{
#if defined(__GNUC__) && !defined(__clang__)
#ifdef WEFT_NN_DOUBLE
    const vmask ev = {0, 4, 2, 6}, od = {1, 5, 3, 7}, lo = {0, 1, 4, 5}, hi = {2, 3, 6, 7};
    vreal s01 = __builtin_shuffle(*y0, *y1, ev) + __builtin_shuffle(*y0, *y1, od);
    vreal s23 = __builtin_shuffle(*y2, *y3, ev) + __builtin_shuffle(*y2, *y3, od);
    vreal t = __builtin_shuffle(s01, s23, lo) + __builtin_shuffle(s01, s23, hi);
    for (size_t k = 0; k < 4; k++)
        out[k] = t[k];
#else
    const vmask ev = {0, 8, 2, 10, 4, 12, 6, 14}, od = {1, 9, 3, 11, 5, 13, 7, 15};
    const vmask lo = {0, 1, 8, 9, 4, 5, 12, 13}, hi = {2, 3, 10, 11, 6, 7, 14, 15};
    const vmask up = {4, 5, 6, 7, 0, 1, 2, 3};
    /* s01 = [y0 01, y1 01, y0 23, y1 23, y0 45, y1 45, y0 67, y1 67] (pair sums) */
    vreal s01 = __builtin_shuffle(*y0, *y1, ev) + __builtin_shuffle(*y0, *y1, od);
    vreal s23 = __builtin_shuffle(*y2, *y3, ev) + __builtin_shuffle(*y2, *y3, od);
    /* t = [y0 0-3, y1 0-3, y2 0-3, y3 0-3, then the same of lanes 4-7] */
    vreal t = __builtin_shuffle(s01, s23, lo) + __builtin_shuffle(s01, s23, hi);
    t += __builtin_shuffle(t, up);
    for (size_t k = 0; k < 4; k++)
        out[k] = t[k];
#endif
#else
    out[0] = vsum(y0), out[1] = vsum(y1), out[2] = vsum(y2), out[3] = vsum(y3);
#endif
}

/* e^x lane by lane (range reduction and a Taylor polynomial, as Cody &
 * Waite 1980, ch. 6): x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2
 * (ln2 split in two so k ln2 is exact), e^r by Horner, 2^k put straight
 * into the exponent bits. k is rounded by adding 1.5 * 2^MANT, which
 * leaves k in the low bits of the sum's pattern. Within 2 ulp of the true
 * value (tests/test_attn.c measures it against libm) for x in [EXP_LO,
 * EXP_HI]; below EXP_LO the result is 0 (true value under e^-87 ≈ 1.6e-38
 * in float: nothing next to a softmax's largest term, 1); above EXP_HI it
 * is e^EXP_HI; NaN stays NaN. */
VINLINE void vexp(vreal *xp)
{
    vreal x = *xp, lo, hi, magic;
    vsplat(&lo, (weft_real_t)EXP_LO);
    vsplat(&hi, (weft_real_t)EXP_HI);
    vsplat(&magic, (weft_real_t)1.5 * (weft_real_t)((uint64_t)1 << EXP_MANT));
    vmask under = x < lo;
    x = VSELECT(under, lo, x);
    x = VSELECT(x > hi, hi, x);
    vreal t = x * (weft_real_t)1.4426950408889634 + magic; /* k + magic, k = round(x log2 e) */
    vreal k = t - magic;
    vreal r = (x - k * (weft_real_t)EXP_LN2_HI) - k * (weft_real_t)EXP_LN2_LO;
    vreal p;
    vexp_taylor(&p, &r);
    vbits e = ((vbits)t + EXP_BIAS) << EXP_MANT; /* 2^k: k + bias in the exponent field */
    p = p * (vreal)e;
    *xp = (vreal)((vmask)p & ~under);
}

/* 2^x lane by lane for x <= 0 or NaN, the softmax's case (its arguments
 * are scores minus their max, in log2 units): k = round(x) as in vexp,
 * r = x − k exactly (Sterbenz's lemma: |r| <= 1/2 and k is within a
 * factor 2 of x), 2^r = e^{r ln2} by vexp's polynomial. Below EXP2_LO the
 * result is 2^EXP2_LO e^{r ln2} (about 1e-38 in float) rather than less:
 * nothing next to the max's term, 1. */
VINLINE void vexp2_nonpos(vreal *xp)
{
    vreal x = *xp, lo, magic;
    vsplat(&lo, (weft_real_t)EXP2_LO);
    vsplat(&magic, (weft_real_t)1.5 * (weft_real_t)((uint64_t)1 << EXP_MANT));
    x = VSELECT(x < lo, lo, x);
    vreal t = x + magic;
    vreal r = (x - (t - magic)) * (weft_real_t)0.6931471805599453; /* ln 2 */
    vreal p;
    vexp_taylor(&p, &r);
    vbits e = ((vbits)t + EXP_BIAS) << EXP_MANT;
    *xp = p * (vreal)e;
}

/* out[i] = e^in[i], i < n, by vexp (tests compare it with libm). */
ATTN_CLONES
void attn_vexp(weft_real_t *out, const weft_real_t *in, size_t n)
{
    size_t i = 0;
    vreal v;
    for (; i + VL <= n; i += VL) {
        vload(&v, in + i);
        vexp(&v);
        vstore(out + i, &v);
    }
    if (i < n) {
        vload_part(&v, in + i, n - i, 0);
        vexp(&v);
        memcpy(out + i, &v, (n - i) * sizeof *out);
    }
}

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
 * biased variance, eps inside the square root. The reference: one
 * accumulator per sum. */
void attn_layernorm_forward_naive(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
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

/* The same on vectors: VL partial sums per reduction (a single
 * accumulator is a chain of dependent adds, the LayerNorms' whole cost). */
ATTN_CLONES
void attn_layernorm_forward(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
                            const weft_real_t *inp, const weft_real_t *g, const weft_real_t *b,
                            size_t N, size_t C)
{
    assert(out && mean && rstd && inp && g && b && C > 0);
    size_t Cv = C - C % VL; /* columns in whole vectors */
    for (size_t t = 0; t < N; t++) {
        const weft_real_t *x = inp + t * C;
        weft_real_t *o = out + t * C;
        vreal acc = {0}, v, vm, vs;
        for (size_t i = 0; i < Cv; i += VL) {
            vload(&v, x + i);
            acc += v;
        }
        weft_real_t m = vsum(&acc);
        for (size_t i = Cv; i < C; i++)
            m += x[i];
        m /= (weft_real_t)C;
        vsplat(&vm, m);
        acc = (vreal){0};
        for (size_t i = 0; i < Cv; i += VL) {
            vload(&v, x + i);
            v -= vm;
            acc += v * v;
        }
        weft_real_t var = vsum(&acc);
        for (size_t i = Cv; i < C; i++)
            var += (x[i] - m) * (x[i] - m);
        var /= (weft_real_t)C;
        weft_real_t s = 1 / WEFT_SQRT(var + (weft_real_t)ATTN_LN_EPS);
        vsplat(&vs, s);
        for (size_t i = 0; i < Cv; i += VL) {
            vreal vg, vb;
            vload(&v, x + i);
            vload(&vg, g + i);
            vload(&vb, b + i);
            v = (v - vm) * vs * vg + vb;
            vstore(o + i, &v);
        }
        for (size_t i = Cv; i < C; i++)
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
 * forward, costs more than the GEMMs (the order changes rounding only).
 * libm's exp, one entry at a time: the reference. */
static void softmax_row_libm(weft_real_t *row, size_t n)
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

/* Part of a score row: row[j] (+)= Σ_{u<W} q_t[i0+u] kt[i0+u][j] over the
 * padded row, the W entries of q_t held in registers (W is a constant at
 * each call, so the loops unroll). Dims past K get q = 0 and read kt row
 * i0 again. first: start from 0 rather than row; last: mask the padding
 * lanes to −inf and fold the row into the running max *m. */
VINLINE void score_pass(weft_real_t *row, const weft_real_t *kt, size_t Np,
                        const weft_real_t *qt, size_t K, size_t i0, size_t W, int first,
                        int last, const vmask *live, vreal *m)
{
    const weft_real_t *kp[8];
    vreal qv[8], ninf;
    vsplat(&ninf, -INFINITY);
#pragma GCC unroll 8
    for (size_t u = 0; u < W; u++) {
        kp[u] = kt + (i0 + u < K ? i0 + u : i0) * Np;
        vsplat(&qv[u], i0 + u < K ? qt[i0 + u] : 0);
    }
    for (size_t j = 0; j < Np; j += VL) {
        vreal acc = {0}, kv;
        if (!first)
            vload(&acc, row + j);
#pragma GCC unroll 8
        for (size_t u = 0; u < W; u++) {
            vload(&kv, kp[u] + j);
            acc += qv[u] * kv;
        }
        if (last) {
            if (j + VL == Np)
                acc = VSELECT(*live, acc, ninf);
            *m = VSELECT(acc > *m, acc, *m);
        }
        vstore(row + j, &acc);
    }
}

/* Outputs i0 .. i0+W−1 (those < K) of one row: ot[i] = inv Σ_j w[j]
 * vt[i][j], W accumulators side by side (a constant W, so the loops
 * unroll). */
VINLINE void value_pass(weft_real_t *ot, const weft_real_t *w, const weft_real_t *vt,
                        size_t Np, size_t K, size_t i0, size_t W, weft_real_t inv)
{
    const weft_real_t *vp[8];
    vreal y[8];
#pragma GCC unroll 8
    for (size_t u = 0; u < W; u++) {
        vp[u] = vt + (i0 + u < K ? i0 + u : i0) * Np;
        y[u] = (vreal){0};
    }
    for (size_t j = 0; j < Np; j += VL) {
        vreal wv, vv;
        vload(&wv, w + j);
#pragma GCC unroll 8
        for (size_t u = 0; u < W; u++) {
            vload(&vv, vp[u] + j);
            y[u] += wv * vv;
        }
    }
    weft_real_t sums[8];
    vsum4(&y[0], &y[1], &y[2], &y[3], sums);
    if (W == 8)
        vsum4(&y[4], &y[5], &y[6], &y[7], sums + 4);
    for (size_t u = 0; u < W && i0 + u < K; u++)
        ot[i0 + u] = sums[u] * inv;
}

/* One head of attention on vectors, fused row by row: for row t, its
 * scores against every key, their softmax and the weighted sum of the
 * values, all while the row sits in L1 (FlashAttention's order of work,
 * Dao et al. 2022, without its running rescaling: a whole row fits).
 * Q K^T and A V as BLAS GEMMs cost more than the arithmetic here for
 * head widths like 8: packing, a [N, N] matrix written and read back
 * through L2, a memset for beta = 0.
 *   kt [K, Np]  this head's keys, transposed, times scale log2(e), so the
 *               scores come in log2 units and the softmax is 2^(s − max)
 *   vt [K, Np]  its values, transposed
 *   row [Np]    one row's scores, then its unnormalised weights
 * Np = N rounded up to whole vectors; padding columns have zero keys and
 * values, and their lanes are masked out of the max and the sum. The
 * weights are normalised once, into a (kept for backward) and into the
 * output row. */
VINLINE void attention_head_vec(weft_real_t *o, weft_real_t *a, weft_real_t *scratch,
                                const weft_real_t *q, const weft_real_t *k,
                                const weft_real_t *v, size_t N, size_t M, size_t K,
                                weft_real_t scale)
{
    size_t C3 = 3 * M, Np = (N + VL - 1) / VL * VL, Nv = N - N % VL, rem = N % VL;
    weft_real_t *kt = scratch, *vt = scratch + K * Np, *row = scratch + 2 * K * Np;
    weft_real_t sl = scale * (weft_real_t)1.4426950408889634; /* log2(e) */
    for (size_t i = 0; i < K; i++) {
        for (size_t s = 0; s < N; s++) {
            kt[i * Np + s] = k[s * C3 + i] * sl;
            vt[i * Np + s] = v[s * C3 + i];
        }
        for (size_t s = N; s < Np; s++)
            kt[i * Np + s] = vt[i * Np + s] = 0;
    }
    vmask live; /* lanes of the last vector that are real columns */
    for (size_t l = 0; l < VL; l++)
        /* cppcheck-suppress uninitvar ; a lane written, not read */
        live[l] = rem == 0 || l < rem ? -1 : 0;
    vreal ninf, zero = {0};
    vsplat(&ninf, -INFINITY);
    for (size_t t = 0; t < N; t++) {
        const weft_real_t *qt = q + t * C3;
        weft_real_t *at = a ? a + t * N : NULL, *ot = o + t * M;
        vreal m = ninf, x;
        /* scores: row = kt^T q_t in passes over 8 (or 4) of the K dims */
        for (size_t i0 = 0; i0 < K; i0 += 8) {
            int first = i0 == 0, last = i0 + 8 >= K;
            if (K - i0 > 4)
                score_pass(row, kt, Np, qt, K, i0, 8, first, last, &live, &m);
            else
                score_pass(row, kt, Np, qt, K, i0, 4, first, last, &live, &m);
        }
        weft_real_t mx = vmax(&m);
        if (mx == -INFINITY) { /* nothing to attend to */
            if (a)
                memset(at, 0, N * sizeof *at);
            for (size_t i = 0; i < K; i++)
                ot[i] = 0;
            continue;
        }
        /* unnormalised weights 2^(s − max) and their sum (>= 1: the max's
         * term is 2^0) */
        vreal vmx, sum = zero;
        vsplat(&vmx, mx);
        for (size_t j = 0; j < Np; j += VL) {
            vload(&x, row + j);
            x -= vmx;
            vexp2_nonpos(&x);
            if (j + VL == Np)
                x = VSELECT(live, x, zero);
            sum += x;
            vstore(row + j, &x);
        }
        weft_real_t inv = 1 / vsum(&sum);
        vreal vinv;
        vsplat(&vinv, inv);
        if (a) { /* kept for backward */
            for (size_t j = 0; j < Nv; j += VL) {
                vload(&x, row + j);
                x *= vinv;
                vstore(at + j, &x);
            }
            for (size_t j = Nv; j < N; j++)
                at[j] = row[j] * inv;
        }
        /* o_t = (Σ_s w_s v_s) / sum in passes over 8 (or 4) of the K dims */
        for (size_t i0 = 0; i0 < K; i0 += 8) {
            if (K - i0 > 4)
                value_pass(ot, row, vt, Np, K, i0, 8, inv);
            else
                value_pass(ot, row, vt, Np, K, i0, 4, inv);
        }
    }
}

/* Scaled dot-product attention (Vaswani et al. 2017, §3.2.1, eq. 1) per
 * head: att_h = softmax(Q_h K_h^T / sqrt(K)), out_h = att_h V_h. Q_h is
 * columns h*K.. of qkv's q part (row stride 3M), likewise K_h and V_h. */
ATTN_CLONES
void attn_attention_forward(weft_real_t *out, weft_real_t *att, weft_real_t *scratch,
                            const weft_real_t *qkv, size_t N, size_t M, size_t H,
                            attn_impl_t impl)
{
    assert(out && qkv && N > 0 && H > 0 && M % H == 0);
    assert(impl == ATTN_IMPL_FAST ? scratch != NULL : att != NULL);
    size_t K = M / H, C3 = 3 * M;
    weft_real_t scale = 1 / WEFT_SQRT((weft_real_t)K);
    for (size_t h = 0; h < H; h++) {
        const weft_real_t *q = qkv + h * K, *k = qkv + M + h * K, *v = qkv + 2 * M + h * K;
        weft_real_t *a = att ? att + h * N * N : NULL; /* [N, N] */
        weft_real_t *o = out + h * K;     /* [N, K], row stride M */
        if (impl == ATTN_IMPL_NAIVE) {
            for (size_t t = 0; t < N; t++) {
                for (size_t s = 0; s < N; s++) {
                    weft_real_t d = 0;
                    for (size_t i = 0; i < K; i++)
                        d += q[t * C3 + i] * k[s * C3 + i];
                    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): asserted */
                    a[t * N + s] = d * scale;
                }
                softmax_row_libm(a + t * N, N);
                for (size_t i = 0; i < K; i++) {
                    weft_real_t y = 0;
                    for (size_t s = 0; s < N; s++)
                        y += a[t * N + s] * v[s * C3 + i];
                    o[t * M + i] = y;
                }
            }
            continue;
        }
        if (impl == ATTN_IMPL_FAST) {
            attention_head_vec(o, a, scratch, q, k, v, N, M, K, scale);
            continue;
        }
        /* a [N, N] = scale * q [N, K] k^T [K, N] */
        WEFT_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)K, scale, q,
                  (int)C3, k, (int)C3, 0, a, (int)N);
        for (size_t t = 0; t < N; t++)
            softmax_row_libm(a + t * N, N);
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
 * 0.5 x (1 + tanh(u)), u = sqrt(2/π) (x + 0.044715 x^3).
 * Since 0.5 (1 + tanh u) = σ(2u) = 1 / (1 + e^{−2u}), the vector kernels
 * compute x σ(2u) with one vexp and no cancellation; the derivative
 *   σ(2u) + 0.5 x sech²(u) u' = σ + 2 x σ (1 − σ) u',  1 − σ = e^{−2u} σ,
 * reuses the same e^{−2u}, so forward and backward are one function. The
 * *_naive pair is the tanh form through libm: the reference. */
#define GELU_SCALE 0.7978845608028654 /* sqrt(2/π) */
#define GELU_CUBE 0.044715

void attn_act_forward_naive(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu)
{
    assert(out && inp);
    if (!gelu) {
        for (size_t i = 0; i < n; i++)
            out[i] = inp[i] > 0 ? inp[i] : 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        weft_real_t x = inp[i];
        weft_real_t u = (weft_real_t)GELU_SCALE * (x + (weft_real_t)GELU_CUBE * x * x * x);
        out[i] = (weft_real_t)0.5 * x * (1 + WEFT_TANH(u));
    }
}

void attn_act_backward_naive(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
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
        weft_real_t u = (weft_real_t)GELU_SCALE * (x + (weft_real_t)GELU_CUBE * x * x * x);
        weft_real_t th = WEFT_TANH(u);
        weft_real_t sech2 = 1 - th * th;
        weft_real_t du = (weft_real_t)GELU_SCALE * (1 + 3 * (weft_real_t)GELU_CUBE * x * x);
        weft_real_t d = (weft_real_t)0.5 * (1 + th) + (weft_real_t)0.5 * x * sech2 * du;
        dinp[i] += d * dout[i];
    }
}

/* σ(2u) of the GELU of x, and e^{−2u} (vexp: 0 for 2u > 87, so σ = 1 and
 * 1 − σ = 0 exactly there, as tanh's saturation gives). */
VINLINE void gelu_sigmoid(const vreal *x, vreal *sig, vreal *e)
{
    vreal x3 = *x * *x * *x;
    *e = (*x + x3 * (weft_real_t)GELU_CUBE) * (weft_real_t)(-2 * GELU_SCALE);
    vexp(e);
    *sig = 1 / (*e + 1);
}

ATTN_CLONES
void attn_act_forward(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu)
{
    assert(out && inp);
    if (!gelu) {
        for (size_t i = 0; i < n; i++)
            out[i] = inp[i] > 0 ? inp[i] : 0;
        return;
    }
    size_t i = 0;
    vreal x, sig, e;
    for (; i + VL <= n; i += VL) {
        vload(&x, inp + i);
        gelu_sigmoid(&x, &sig, &e);
        x *= sig;
        vstore(out + i, &x);
    }
    if (i < n) {
        vload_part(&x, inp + i, n - i, 0);
        gelu_sigmoid(&x, &sig, &e);
        x *= sig;
        memcpy(out + i, &x, (n - i) * sizeof *out);
    }
}

ATTN_CLONES
void attn_act_backward(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
                       size_t n, int gelu)
{
    assert(dinp && inp && dout);
    if (!gelu) {
        attn_act_backward_naive(dinp, inp, dout, n, 0);
        return;
    }
    size_t i = 0;
    vreal x, dy, dx, sig, e;
    for (; i < n; i += VL) {
        size_t m = n - i < VL ? n - i : VL;
        if (m == VL) {
            vload(&x, inp + i);
            vload(&dy, dout + i);
            vload(&dx, dinp + i);
        } else {
            vload_part(&x, inp + i, m, 0);
            vload_part(&dy, dout + i, m, 0);
            vload_part(&dx, dinp + i, m, 0);
        }
        gelu_sigmoid(&x, &sig, &e);
        vreal du = (x * x * (weft_real_t)(3 * GELU_CUBE) + 1) * (weft_real_t)GELU_SCALE;
        vreal d = sig + x * sig * (e * sig) * du * 2;
        dx += d * dy;
        memcpy(dinp + i, &dx, m * sizeof *dinp);
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
