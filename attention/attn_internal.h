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

/* out [N, C] = (inp − mean) * rstd * g + b per row; mean, rstd [N] saved. */
void attn_layernorm_forward(weft_real_t *out, weft_real_t *mean, weft_real_t *rstd,
                            const weft_real_t *inp, const weft_real_t *g, const weft_real_t *b,
                            size_t N, size_t C);
void attn_layernorm_backward(weft_real_t *dinp, weft_real_t *dg, weft_real_t *db,
                             const weft_real_t *dout, const weft_real_t *inp,
                             const weft_real_t *mean, const weft_real_t *rstd,
                             const weft_real_t *g, size_t N, size_t C);

/* Multi-head self-attention, no mask. qkv [N, 3M] (q | k | v per row),
 * att [H, N, N] softmax weights (saved), out [N, M]. naive: plain loops. */
void attn_attention_forward(weft_real_t *out, weft_real_t *att, const weft_real_t *qkv, size_t N,
                            size_t M, size_t H, int naive);
/* dqkv [N, 3M] += ...; datt [N, N] scratch. */
void attn_attention_backward(weft_real_t *dqkv, weft_real_t *datt, const weft_real_t *dout,
                             const weft_real_t *qkv, const weft_real_t *att, size_t N, size_t M,
                             size_t H);

/* out [n] = act(inp [n]) elementwise; act 0 = ReLU, 1 = GELU (tanh form). */
void attn_act_forward(weft_real_t *out, const weft_real_t *inp, size_t n, int gelu);
void attn_act_backward(weft_real_t *dinp, const weft_real_t *inp, const weft_real_t *dout,
                       size_t n, int gelu);

/* out [n] = a + b (out may alias a or b); backward: da += dout, db +=
 * dout, either NULL when that branch reads dout itself. */
void attn_residual_forward(weft_real_t *out, const weft_real_t *a, const weft_real_t *b, size_t n);
void attn_residual_backward(weft_real_t *da, weft_real_t *db, const weft_real_t *dout, size_t n);

#endif
