/*
 * attn_internal.h - the layer kernels of attention/ (layers.c), shared by
 * net.c and the tests. Each is a forward/backward pair in llm.c's shape:
 * forward(out, cache..., inp, weights..., dims), backward(dinp, dweights...,
 * dout, inp, cache..., weights, dims); backward accumulates (+=). Dimension
 * letters as in attn.h; "In"/"Out" are a matmul's input/output widths.
 */
#ifndef ATTN_INTERNAL_H
#define ATTN_INTERNAL_H

#include <stddef.h>

#include "common/nn_real.h"

#define ATTN_LN_EPS 1e-5

/* Which kernels a forward uses for the elementwise work (softmax, GELU,
 * LayerNorm):
 *   FAST   vector kernels with an exp of their own (layers.c), BLAS GEMMs
 *   LIBM   scalar loops through libm's exp/tanh, BLAS GEMMs: the forward
 *          as it was before issue 4, kept to measure against
 *   NAIVE  scalar loops through libm, plain-loop matmuls: the reference */
typedef enum { ATTN_IMPL_FAST = 0, ATTN_IMPL_LIBM = 1, ATTN_IMPL_NAIVE = 2 } attn_impl_t;

/* out[i] = e^in[i] (i < n) by the vector kernels' exp: within 2 ulp of
 * libm on [-87, 88] in float ([-708, 709] in double), 0 below, e^88
 * (e^709) above. */
void attn_vexp(weft_real_t *out, const weft_real_t *in, size_t n);

/* out [N, Out] = inp [N, In] W^T + b; W [Out, In], b [Out] or NULL. BLAS. */
void attn_matmul_forward(weft_real_t *out, const weft_real_t *inp, const weft_real_t *W,
                         const weft_real_t *b, size_t N, size_t In, size_t Out);
/* The same with plain loops (the reference). */
void attn_matmul_forward_naive(weft_real_t *out, const weft_real_t *inp, const weft_real_t *W,
                               const weft_real_t *b, size_t N, size_t In, size_t Out);
/* dinp [N, In] += dout W (if dinp); dW [Out, In] += dout^T inp; db [Out] +=
 * column sums of dout (if db). */
void attn_matmul_backward(weft_real_t *dinp, weft_real_t *dW, weft_real_t *db,
                          const weft_real_t *dout, const weft_real_t *inp, const weft_real_t *W,
                          size_t N, size_t In, size_t Out);

/* out [N, C] = (inp − mean) * rstd * g + b per row; mean, rstd [N] saved.
 * Vector partial sums; _naive: one scalar accumulator (the reference). */
void attn_layernorm_forward(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
                            const weft_real_t *inp, const weft_real_t *g, const weft_real_t *b,
                            size_t N, size_t C);
void attn_layernorm_forward_naive(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
                                  const weft_real_t *inp, const weft_real_t *g,
                                  const weft_real_t *b, size_t N, size_t C);
void attn_layernorm_backward(weft_real_t *dinp, weft_real_t *dg, weft_real_t *db,
                             const weft_real_t *dout, const weft_real_t *inp,
                             const weft_real_t *mean, const weft_real_t *rstd,
                             const weft_real_t *g, size_t N, size_t C);

/* Scalars of attn_attention_forward's scratch for N rows and head width K:
 * one head's keys and values transposed and one row, each padded to
 * whole vectors. */
#define ATTN_ROW_PAD 16 /* >= the lanes of any vector the kernels use */
#define ATTN_ATT_SCRATCH(N, K) ((2 * (K) + 1) * ((N) + ATTN_ROW_PAD))

/* Multi-head self-attention, no mask. qkv [N, 3M] (q | k | v per row),
 * att [H, N, N] softmax weights (saved), out [N, M]. impl as above: FAST
 * is fused row by row and needs scratch [ATTN_ATT_SCRATCH(N, M/H)], and
 * takes att NULL when no backward will follow (the weights are then not
 * stored); the others take scratch NULL and need att. */
void attn_attention_forward(weft_real_t *out, weft_real_t *att, weft_real_t *scratch,
                            const weft_real_t *qkv, size_t N, size_t M, size_t H,
                            attn_impl_t impl);
/* dqkv [N, 3M] += ...; datt [N, N] scratch. */
void attn_attention_backward(weft_real_t *dqkv, weft_real_t *datt, const weft_real_t *dout,
                             const weft_real_t *qkv, const weft_real_t *att, size_t N, size_t M,
                             size_t H);

/* out [n] = act(inp [n]) elementwise; act 0 = ReLU, 1 = GELU (tanh form,
 * computed as x σ(2u) on vectors); backward: dinp += act'(inp) dout, the
 * derivative of the same function. _naive: libm's tanh, the reference. */
void attn_act_forward(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu);
void attn_act_backward(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
                       size_t n, int gelu);
void attn_act_forward_naive(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu);
void attn_act_backward_naive(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
                             size_t n, int gelu);

/* out [n] = a + b (out may alias a or b); backward: da += dout, db +=
 * dout, either NULL when that branch reads dout itself. */
void attn_residual_forward(weft_real_t *out, const weft_real_t *a, const weft_real_t *b, size_t n);
void attn_residual_backward(weft_real_t *da, weft_real_t *db, const weft_real_t *dout, size_t n);

#endif
