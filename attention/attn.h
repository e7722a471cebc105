/*
 * attn.h - the scoring half of the learned policy (DESIGN §6): a
 * Transformer encoder (Vaswani et al. 2017) over the embeddings of the
 * schedulable coflows, a score head giving one score per coflow, the
 * Plackett–Luce distribution over priority orders those scores define
 * (Plackett 1975; Luce 1959), Gumbel top-k sampling from it (Gumbel-max
 * trick; Kool, van Hoof & Welling 2019), and the msgpack model file of the
 * whole learned policy.
 *
 * Dimension letters used in every comment of this module:
 *   N  rows: the schedulable coflows of one decision (any N >= 1)
 *   E  input width (the encoder's embedding width)
 *   M  model width
 *   H  attention heads (H divides M)
 *   K  head width = M / H
 *   F  feed-forward width = 4M
 *   B  encoder blocks
 *
 * The network, for X [N, E]:
 *   x^0 = X W_in^T + b_in                                         [N, M]
 *   block l (pre-LN, Xiong et al. 2020; GPT-2's layout):
 *     r   = x + Proj(MHA(LN1(x)))
 *     x'  = r + FFN(LN2(r))
 *   block l (post-LN, Vaswani et al. 2017):
 *     r   = LN1(x + Proj(MHA(x)))
 *     x'  = LN2(r + FFN(r))
 *   MHA: per head, softmax(Q K^T / sqrt(K)) V, no mask (the coflows are a
 *   set: every coflow sees every other); FFN(u) = act(u W1^T + b1) W2^T + b2
 *   with act ReLU or GELU (tanh form, Hendrycks & Gimpel 2016).
 *   pre-LN only: a final LayerNorm LNf after the last block.
 *   scores = h W_head^T + b_head                                   [N]
 * Nothing depends on the row order but the row order itself: permuting the
 * rows of X permutes the scores (permutation equivariance). The parameter
 * count depends on E, M, H, B only.
 *
 * Typical use (one decision):
 *   attn_cache_prepare(&cache, &cfg, n);      // grows only when n is a new max
 *   attn_forward(&cache, &params, &cfg, X, n); // cache.scores [n]
 *   attn_gumbel_topk(cache.scores, n, &rng, order, work);   // training rollout
 *   attn_argsort_desc(cache.scores, n, order);               // greedy evaluation
 * Training (REINFORCE):
 *   lp = attn_pl_logprob(scores, n, order);
 *   attn_pl_logprob_backward(scores, n, order, coef, dscores, work);
 *   attn_params_zero(&grads); attn_backward(&grads, dX, dscores, &cache, &params, &cfg);
 *   attn_adam_step(&params, &grads, &m, &v, ...);
 */
#ifndef ATTN_H
#define ATTN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/nn_real.h"
#include "common/weft.h"

/* Most encoder blocks; a bound so parameter pointers live in a fixed
 * struct (llm.c keeps a fixed tensor list the same way). */
#define ATTN_MAX_BLOCKS 8

/* Where the LayerNorms sit in a block. */
typedef enum {
    ATTN_POST_LN = 0, /* LN after each residual add (Vaswani et al. 2017) */
    ATTN_PRE_LN = 1   /* LN before each sub-layer, plus a final LN (Xiong et al. 2020) */
} attn_norm_t;

/* Feed-forward nonlinearity. */
typedef enum {
    ATTN_RELU = 0,
    ATTN_GELU = 1 /* tanh approximation */
} attn_act_t;

/* The sizes of the scorer; the parameter count depends only on these,
 * never on N. */
typedef struct {
    size_t E;         /* input width, >= 1 */
    size_t M;         /* model width, >= 1, a multiple of H */
    size_t H;         /* heads, >= 1 */
    size_t B;         /* blocks, 1 .. ATTN_MAX_BLOCKS */
    attn_norm_t norm; /* pre- or post-LN */
    attn_act_t act;   /* ReLU or GELU */
} attn_config_t;

/* EINVAL (with a detail naming the field and value) if a size is 0 or too
 * big, H does not divide M, B is out of range or an enum is unknown. */
weft_err_t attn_config_check(const attn_config_t *cfg);

/* Largest N a cache accepts (keeps N*N*H*B far from SIZE_MAX). */
#define ATTN_MAX_ROWS ((size_t)1 << 20)

/* ---------------------------------------------------------------------
 * Parameters. One contiguous block (memory, n scalars) pointed into by the
 * fields below in the order of the size table (attn_tensor_info). The same
 * type holds gradients and Adam moments, so zeroing and Adam are flat loops
 * over memory[0..n). Weights are row-major (out, in).
 * ------------------------------------------------------------------- */

typedef struct {
    weft_real_t *ln1_g;  /* [M] LN1 gain */
    weft_real_t *ln1_b;  /* [M] LN1 bias */
    weft_real_t *qkv_w;  /* [3M, M] rows Q | K | V; head h uses rows h*K..h*K+K of each */
    weft_real_t *qkv_b;  /* [3M] */
    weft_real_t *proj_w; /* [M, M] attention output projection */
    weft_real_t *proj_b; /* [M] */
    weft_real_t *ln2_g;  /* [M] LN2 gain */
    weft_real_t *ln2_b;  /* [M] LN2 bias */
    weft_real_t *fc_w;   /* [F, M] feed-forward in */
    weft_real_t *fc_b;   /* [F] */
    weft_real_t *fc2_w;  /* [M, F] feed-forward out */
    weft_real_t *fc2_b;  /* [M] */
} attn_block_params_t;

typedef struct {
    weft_real_t *in_w;                          /* [M, E] input projection */
    weft_real_t *in_b;                          /* [M] */
    attn_block_params_t block[ATTN_MAX_BLOCKS]; /* first B used */
    weft_real_t *lnf_g;                         /* [M] final LN gain; pre-LN only, else NULL */
    weft_real_t *lnf_b;                         /* [M] final LN bias; pre-LN only, else NULL */
    weft_real_t *head_w;                        /* [1, M] score head */
    weft_real_t *head_b;                        /* [1] */
    weft_real_t *memory;                        /* [n] the one block; owned */
    size_t n;                                   /* scalars in memory == attn_param_count(cfg) */
} attn_params_t;

/* Scalars of all parameters: a function of E, M, H, B (and norm) only. */
size_t attn_param_count(const attn_config_t *cfg);

/* Tensors in the size table: 2 + 12*B + 2 (+2 for pre-LN's final LN). */
size_t attn_tensor_count(const attn_config_t *cfg);

/* Entry i of the size table. */
typedef struct {
    char name[24];  /* "in.w", "blk<l 1-based>.<qkv_w|...>", "lnf.g", "head.b" */
    size_t offset;  /* first scalar in memory */
    size_t size;    /* scalars = rows * cols */
    size_t rows;    /* first dimension (out for weights, length for vectors) */
    size_t cols;    /* second dimension (in for weights), 1 for vectors */
    size_t ndim;    /* 2 for weight matrices, 1 for vectors */
} attn_tensor_info_t;

/* i < attn_tensor_count(cfg). O(tensors). */
attn_tensor_info_t attn_tensor_info(const attn_config_t *cfg, size_t i);

/* Allocates the block (zeroed) and points the fields into it. ENOMEM or
 * EINVAL (bad cfg); on failure *p is left empty (destroy is safe). */
weft_err_t attn_params_init(attn_params_t *p, const attn_config_t *cfg);
void attn_params_destroy(attn_params_t *p);

/* Sets every scalar to 0 (gradients before a backward pass). O(n). */
void attn_params_zero(attn_params_t *p);

/* Xavier-uniform weights (Glorot & Bengio 2010, bound sqrt(6/(in+out)); Q,
 * K and V each as their own (M, M) layer), LayerNorm gains 1, biases 0,
 * from a splitmix64 stream seeded by seed: the same seed gives the same
 * parameters on every machine. O(n). */
void attn_params_init_random(attn_params_t *p, const attn_config_t *cfg, uint64_t seed);

/* Euclidean norm of all scalars (for gradient clipping). O(n). */
double attn_params_norm(const attn_params_t *p);

/* Multiplies every scalar by s (clip: scale by max_norm / norm). O(n). */
void attn_params_scale(attn_params_t *p, double s);

/* One Adam step (Kingma & Ba 2015) with decoupled weight decay (AdamW,
 * Loshchilov & Hutter 2019; wd = 0 for plain Adam): p -= lr * (m̂ / (sqrt(v̂)
 * + eps) + wd * p). m and v are moment blocks of the same config (zeroed
 * before step 1), t the 1-based step number. O(n). */
void attn_adam_step(attn_params_t *p, const attn_params_t *g, attn_params_t *m, attn_params_t *v,
                    double lr, double beta1, double beta2, double eps, double wd, uint64_t t);

/* ---------------------------------------------------------------------
 * Cache: activations of the last forward (what backward needs), the
 * scores, gradient buffers, in one block that grows to the largest N seen
 * and is reused. Every [N, ·] array is row-major with the row stride of its
 * second dimension, so a cache sized for N serves every n <= N.
 * ------------------------------------------------------------------- */

typedef struct {
    weft_real_t *ln1;      /* [N, M] output of LN1 (pre-LN: LN1(x); post-LN: LN1(res1)) */
    weft_real_t *ln1_mean; /* [N] its input's row means */
    weft_real_t *ln1_rstd; /* [N] its input's 1/sqrt(var + eps) */
    weft_real_t *qkv;      /* [N, 3M] row t = q_t | k_t | v_t */
    weft_real_t *att;      /* [H, N, N] softmax attention weights, head h at h*n*n, row t at t*n */
    weft_real_t *atty;     /* [N, M] attention output before projection, head h in cols h*K.. */
    weft_real_t *res1;     /* [N, M] x + proj */
    weft_real_t *ln2;      /* [N, M] output of LN2 (pre-LN: LN2(res1); post-LN: LN2(res2)) */
    weft_real_t *ln2_mean; /* [N] */
    weft_real_t *ln2_rstd; /* [N] */
    weft_real_t *fch;      /* [N, F] feed-forward pre-activation */
    weft_real_t *fcact;    /* [N, F] after ReLU/GELU */
    weft_real_t *res2;     /* [N, M] FFN input + FFN output */
} attn_block_cache_t;

typedef struct {
    weft_real_t *x;        /* [N, E] copy of the input */
    weft_real_t *x0;       /* [N, M] after the input projection */
    attn_block_cache_t block[ATTN_MAX_BLOCKS];
    weft_real_t *lnf;      /* [N, M] pre-LN: final LN of the last block's output */
    weft_real_t *lnf_mean; /* [N] */
    weft_real_t *lnf_rstd; /* [N] */
    weft_real_t *scores;   /* [N] the output: one score per row of X */
    weft_real_t *dA, *dB, *dT; /* [N, M] backward: residual-stream gradients, temporary */
    weft_real_t *dF1, *dF2;    /* [N, F] backward: d fcact, d fch */
    weft_real_t *dQKV;         /* [N, 3M] backward */
    weft_real_t *dATT;         /* [N, N] backward: one head's attention gradient */
    weft_real_t *att_scratch;  /* [(2K + 1)(N + 16)] forward: one head's K^T, V^T, one row */
    weft_real_t *block_mem;    /* owned memory behind every array above */
    size_t block_cap;          /* scalars in block_mem */
    attn_config_t cfg;         /* config the arrays were pointed for */
    size_t N;                  /* rows the arrays were pointed for (capacity) */
    size_t n;                  /* rows of the last forward, 0 if none */
    bool no_att;               /* the last forward was attn_forward_infer: no backward */
    bool train;                /* att and dA .. dATT are held (attn_cache_prepare); else
                                  NULL (attn_cache_prepare_infer) */
} attn_cache_t;

void attn_cache_init(attn_cache_t *c);
void attn_cache_destroy(attn_cache_t *c);

/* Makes the cache hold n rows of cfg for every pass, backward included,
 * growing the block if n (or cfg) needs more than it has; a smaller n
 * reuses it without allocating. Old contents are not kept. ENOMEM, or
 * EINVAL for a bad cfg or n = 0 or n > ATTN_MAX_ROWS. Memory
 * O(N (B(16M + H N) + 17M + E)) scalars. */
weft_err_t attn_cache_prepare(attn_cache_t *c, const attn_config_t *cfg, size_t n);

/* The same for attn_forward_infer alone: without the attention weights and
 * the gradient buffers, N (E + 2M + B(16M + 4) + 2K + 4) + 16 (2K + 1)
 * scalars at most, linear in N (a decision over 8000 coflows of the
 * learned policy needs 39 MB instead of 2.4 GB). A cache prepared for
 * training stays one. */
weft_err_t attn_cache_prepare_infer(attn_cache_t *c, const attn_config_t *cfg, size_t n);

/* ---------------------------------------------------------------------
 * Passes. attn_cache_prepare(c, cfg, n) first; X is [n, E]; the result is
 * c->scores [n].
 * ------------------------------------------------------------------- */

/* The forward pass with BLAS GEMMs and vectorised softmax, GELU and
 * LayerNorm kernels (an exp of their own, within 2 ulp of libm's).
 * O(B (N M F + N^2 M)). */
void attn_forward(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                  const weft_real_t *X, size_t n);

/* The same scores as attn_forward, for inference only (a scheduling
 * decision): the attention weights (H N^2 per block) are not written to
 * the cache, so attn_backward must not follow (it asserts). The only pass
 * a cache of attn_cache_prepare_infer serves. */
void attn_forward_infer(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                        const weft_real_t *X, size_t n);

/* The forward as it was before issue 4's kernels: BLAS GEMMs, but softmax,
 * GELU and LayerNorm as scalar loops through libm's exp and tanh. Kept so
 * benchmarks can measure both in one run; agrees with attn_forward up to
 * float rounding. Fills the same cache. */
void attn_forward_libm(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                       const weft_real_t *X, size_t n);

/* The reference: the same function with plain loops, no BLAS. Fills the
 * same cache (backward may follow it); agrees with attn_forward up to float
 * summation order. */
void attn_forward_naive(attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg,
                        const weft_real_t *X, size_t n);

/* Backward for dscores = dLoss/d(c->scores) [n] of the last forward (with
 * params p): adds dLoss/dparams into *dp (+=; zero it first) and, if dX is
 * not NULL, dLoss/dX into dX [n, E] (+=). Overwrites the cache's gradient
 * buffers; the activations are kept. O(same as forward). */
void attn_backward(attn_params_t *dp, weft_real_t *dX, const weft_real_t *dscores,
                   attn_cache_t *c, const attn_params_t *p, const attn_config_t *cfg);

/* ---------------------------------------------------------------------
 * Plackett–Luce orders and sampling.
 * ------------------------------------------------------------------- */

/* A small seeded generator (splitmix64, Steele, Lea & Flood 2014): the
 * same seed gives the same stream everywhere. */
typedef struct {
    uint64_t state; /* advanced by 0x9e3779b97f4a7c15 per draw */
} attn_rng_t;

void attn_rng_seed(attn_rng_t *rng, uint64_t seed);
uint64_t attn_rng_next(attn_rng_t *rng);
/* Uniform in the open interval (0, 1), 53 bits: never 0 or 1, so the
 * Gumbel transform -log(-log u) is finite. */
double attn_rng_uniform(attn_rng_t *rng);

/* log P(order | scores) under Plackett–Luce:
 *   Σ_i [ s_{π_i} − logsumexp(s_{π_i}, …, s_{π_n}) ]
 * order is a permutation of 0..n-1 (π_1 first = highest priority).
 * Computed from the back with a running logsumexp (stable for any scale
 * of scores). n >= 1. O(n). */
double attn_pl_logprob(const weft_real_t *scores, size_t n, const size_t *order);

/* Adds coef * d logprob / d scores into dscores [n] (+=):
 *   d/ds_{π_j} = 1 − Σ_{i<=j} exp(s_{π_j} − lse_i),  lse_i = logsumexp(s_{π_i..π_n}).
 * work [n] doubles, scratch. O(n). */
void attn_pl_logprob_backward(const weft_real_t *scores, size_t n, const size_t *order,
                              double coef, weft_real_t *dscores, double *work);

/* Entropy of the first pick of the Plackett–Luce distribution,
 * −Σ p log p with p = softmax(scores): the usual cheap entropy bonus (the
 * entropy of the whole order needs a sum over n! orders). O(n). */
double attn_pl_first_entropy(const weft_real_t *scores, size_t n);

/* Adds coef * d entropy / d scores into dscores [n] (+=):
 * dH/ds_j = −p_j (log p_j + H). O(n). */
void attn_pl_first_entropy_backward(const weft_real_t *scores, size_t n, double coef,
                                    weft_real_t *dscores);

/* Samples an order from the Plackett–Luce distribution of scores: adds
 * independent Gumbel(0, 1) noise to each score and sorts descending
 * (Gumbel-max trick; Gumbel top-k, Kool et al. 2019, Yellott 1977). Writes
 * order_out [n], a permutation of 0..n-1, highest first; ties (probability
 * 0) go to the lower index. work [n] doubles, scratch (the perturbed keys).
 * O(n log n). */
void attn_gumbel_topk(const weft_real_t *scores, size_t n, attn_rng_t *rng, size_t *order_out,
                      double *work);

/* The greedy order: indices by descending score, ties to the lower index.
 * O(n log n), no allocation. */
void attn_argsort_desc(const weft_real_t *scores, size_t n, size_t *order_out);

/* ---------------------------------------------------------------------
 * Model file: the learned policy's whole model (encoder, scorer, feature
 * normalisation) as named integers, float vectors and float tensors.
 *
 * Format (msgpack), three objects in sequence:
 *   "weft-model"                    str, the magic
 *   2                               uint, the format version
 *   { "config":  { name: int, ... },                 map str -> int
 *     "vectors": { name: bin, ... },                 map str -> float32 LE bytes
 *     "tensors": [ { "name": str, "shape": [d, ...], "data": bin },... ],
 *     "sha256":  bin }                               the body's last entry
 * Floats are IEEE-754 binary32 little-endian, so a save/load round trip is
 * bit-exact. Entries keep their insertion order. Unknown keys of the body
 * map are ignored (and not written again), within the caps below.
 *
 * "sha256" is the SHA-256 of every byte of the file before its key, and is
 * written as the file's last 41 bytes (the fixstr key, a bin 8 header, 32
 * bytes): `head -c -41 FILE | sha256sum` recomputes it. A version 2 file
 * without it, or whose bytes do not match it, is refused, so a changed
 * weight is caught. Version 1 is the same without "sha256" (files saved
 * before 2026-12-03): read, unchecked.
 * ------------------------------------------------------------------- */

#define ATTN_MODEL_MAGIC "weft-model"
#define ATTN_MODEL_VERSION 2     /* written, and the newest read */
#define ATTN_MODEL_VERSION_MIN 1 /* the oldest read */
#define ATTN_MODEL_NAME_MAX 64             /* bytes of a name including its NUL */
#define ATTN_MODEL_MAX_DIMS 8              /* dimensions of a tensor */
#define ATTN_MODEL_MAX_ENTRIES 4096        /* ints, vectors or tensors, each */
#define ATTN_MODEL_MAX_ELEMS ((size_t)1 << 28)      /* floats in one vector or tensor */
#define ATTN_MODEL_MAX_FILE ((size_t)1 << 30)       /* bytes of a model file */

typedef struct {
    char name[ATTN_MODEL_NAME_MAX]; /* NUL-terminated, unique among ints */
    int64_t value;
} attn_model_int_t;

typedef struct {
    char name[ATTN_MODEL_NAME_MAX]; /* unique among vectors */
    size_t n;                       /* floats in data */
    float *data;                    /* [n]; owned */
} attn_model_vec_t;

typedef struct {
    char name[ATTN_MODEL_NAME_MAX];    /* unique among tensors */
    size_t ndim;                       /* 1 .. ATTN_MODEL_MAX_DIMS */
    size_t shape[ATTN_MODEL_MAX_DIMS]; /* first ndim used, each >= 1 */
    size_t n;                          /* floats = product of shape */
    float *data;                       /* [n] row-major; owned */
} attn_model_tensor_t;

typedef struct {
    attn_model_int_t *ints;       /* [n_ints] */
    size_t n_ints, cap_ints;
    attn_model_vec_t *vecs;       /* [n_vecs] */
    size_t n_vecs, cap_vecs;
    attn_model_tensor_t *tensors; /* [n_tensors] */
    size_t n_tensors, cap_tensors;
    unsigned version;             /* the format version attn_model_load read
                                     (1: no checksum); 0 when built in memory */
} attn_model_file_t;

void attn_model_init(attn_model_file_t *mf);
void attn_model_destroy(attn_model_file_t *mf);

/* Add or replace (same name) an entry; the data are copied. EINVAL for a
 * name that is empty or too long, a shape with 0 or too many dimensions, a
 * zero or too large size; ENOMEM. */
weft_err_t attn_model_set_int(attn_model_file_t *mf, const char *name, int64_t value);
weft_err_t attn_model_set_vector(attn_model_file_t *mf, const char *name, const float *data,
                                 size_t n);
weft_err_t attn_model_set_tensor(attn_model_file_t *mf, const char *name, size_t ndim,
                                 const size_t *shape, const float *data);

/* Look-ups: NULL if absent. The pointers are valid until the next set or
 * destroy. O(entries). */
const attn_model_int_t *attn_model_find_int(const attn_model_file_t *mf, const char *name);
const attn_model_vec_t *attn_model_find_vector(const attn_model_file_t *mf, const char *name);
const attn_model_tensor_t *attn_model_find_tensor(const attn_model_file_t *mf, const char *name);

/* *value = the int named name; ENOTFOUND (with the name) if absent. */
weft_err_t attn_model_get_int(const attn_model_file_t *mf, const char *name, int64_t *value);

/* "[a, b, ...]" of dims[0..ndim) (a shape, an element's index), for
 * messages; cut to fit buf[len]. */
void attn_model_dims_str(char *buf, size_t len, size_t ndim, const size_t *dims);

/* Tensor i of a network's parameter block (attention's, the encoder's):
 * its name after the block's prefix, its shape, and where its scalars
 * stand in the block's memory. */
typedef struct {
    char name[24];
    size_t ndim; /* 1 or 2 */
    size_t shape[2];
    size_t offset;
    size_t size; /* scalars = product of the shape */
} attn_model_block_tensor_t;
/* Fills *t for tensor i of the block that cfg (the network's config)
 * describes. */
typedef void (*attn_model_block_fn)(const void *cfg, size_t i, attn_model_block_tensor_t *t);

/* The block's n tensors stored as "<prefix>.<name>", in float32 (the
 * file's type: the double build rounds here); ENOMEM "<prefix>: cannot
 * allocate N floats", or attn_model_set_tensor's error. */
weft_err_t attn_model_set_block(attn_model_file_t *mf, const char *prefix,
                                const weft_real_t *memory, size_t n, attn_model_block_fn tensor,
                                const void *cfg);
/* The block's n tensors "<prefix>.<name>" copied into memory, every shape
 * checked before any is written (memory untouched on error): ENOTFOUND
 * "model has no tensor X", EINVAL "tensor X has shape [a, b] in the model,
 * expected [c, d]". */
weft_err_t attn_model_get_block(const attn_model_file_t *mf, const char *prefix,
                                weft_real_t *memory, size_t n, attn_model_block_fn tensor,
                                const void *cfg);

/* Writes mf to path with weft_save_file: a file through path.tmp and a
 * rename (so a crash never leaves a half-written model under path), a
 * symbolic link's target likewise, a device or FIFO straight through. EIO
 * with the OS's reason. */
weft_err_t attn_model_save(const char *path, const attn_model_file_t *mf);

/* Reads path into mf (initialised by the caller; its old contents are
 * replaced on success and untouched on failure). Every error's detail
 * starts with the path:
 *   EIO       cannot open/read
 *   EPARSE    "not a weft model file" (wrong magic), malformed msgpack,
 *             wrong types, duplicate names, trailing bytes, containers
 *             nested deeper than 8; "checksum mismatch" (version 2, with
 *             both digests), or its "sha256" missing or misplaced
 *   EVERSION  "model format version V, this build reads versions 1 and 2"
 *   ETRUNC    the file ends inside an object or a declared container/bin
 *             is longer than the bytes left
 *   EINVAL    a size over a cap (file, entries, elements, dimensions,
 *             name length, and 2^20 msgpack objects in the whole file or
 *             in one container), a tensor whose data length does not match
 *             its shape
 * Declared counts are checked against the caps and the bytes present
 * before msgpack-c allocates anything for them, the caps first: a count
 * over its cap is EINVAL naming the byte, the key it is the value of, the
 * count and the cap, even where the file also ends before it (a bin of
 * more than 2^28 floats' bytes, "config", "vectors" or "tensors" of more
 * than ATTN_MODEL_MAX_ENTRIES); ETRUNC is for counts within their caps.
 * O(file size). */
weft_err_t attn_model_load(const char *path, attn_model_file_t *mf);

/* The ints of a learned policy's model file that its network reads, in the
 * order it writes them: X(ID, name). coflow/learned.c reads and writes the
 * learned.* and gnn.* ones, attn_params_to_model and attn_config_from_model
 * the attn.* ones, and `weft model` tells them from the others a file may
 * hold (kept and ignored): one list, so a new int cannot reach one of them
 * and miss another. */
#define ATTN_MODEL_NET_INTS(X)                                                                     \
    X(FEATURE_SET, "learned.feature_set")                                                          \
    X(SET_CHANGES_ONLY, "learned.set_changes_only")                                                \
    X(GNN_F, "gnn.F")                                                                              \
    X(GNN_D, "gnn.D")                                                                              \
    X(GNN_L, "gnn.L")                                                                              \
    X(GNN_S, "gnn.S")                                                                              \
    X(E, "attn.E")                                                                                 \
    X(M, "attn.M")                                                                                 \
    X(H, "attn.H")                                                                                 \
    X(B, "attn.B")                                                                                 \
    X(PRE_LN, "attn.pre_ln")                                                                       \
    X(GELU, "attn.gelu")

/* Indices into attn_model_net_int_names: ATTN_INT_GNN_D, ATTN_INT_E, ... */
typedef enum {
#define ATTN_INT_ENUM(id, name) ATTN_INT_##id,
    ATTN_MODEL_NET_INTS(ATTN_INT_ENUM)
#undef ATTN_INT_ENUM
    ATTN_N_NET_INTS
} attn_model_net_int_t;

/* The name of each (attn_model_net_int_names[ATTN_INT_GNN_D] is "gnn.D"). */
extern const char *const attn_model_net_int_names[ATTN_N_NET_INTS];

/* Stores this network in mf: ints "attn.E", "attn.M", "attn.H", "attn.B",
 * "attn.pre_ln", "attn.gelu" and one tensor "attn.<name>" per entry of the
 * size table (float32; the double build rounds). ENOMEM/EINVAL. */
weft_err_t attn_params_to_model(const attn_params_t *p, const attn_config_t *cfg,
                                attn_model_file_t *mf);

/* Reads the config stored by attn_params_to_model into *cfg; ENOTFOUND
 * naming a missing int, EINVAL for a value out of range. */
weft_err_t attn_config_from_model(const attn_model_file_t *mf, attn_config_t *cfg);

/* Copies the tensors into p (attn_params_init(p, cfg) done by the caller),
 * checking first that the ints of mf equal cfg (EINVAL naming the int and
 * both values) and that each tensor has the shape cfg implies (EINVAL
 * naming the tensor and both shapes; ENOTFOUND if absent). p is untouched
 * on error. */
weft_err_t attn_params_from_model(attn_params_t *p, const attn_config_t *cfg,
                                  const attn_model_file_t *mf);

#endif
