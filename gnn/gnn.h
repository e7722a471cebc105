/*
 * gnn.h - the coflow-DAG encoder of the learned policy (DESIGN §6): a
 * bidirectional DAG neural network (DAGNN, Thost & Chen, ICLR 2021) with a
 * GRU cell per layer (Cho et al. 2014), pipelined over topological waves,
 * followed by Decima-style job and global summaries (Mao et al. 2019).
 *
 * Dimension letters used in every comment of this module:
 *   N  nodes in the batch (the coflows of all active jobs)
 *   F  input features per node (normalised by the caller)
 *   D  hidden width of every DAGNN layer
 *   L  layers per direction
 *   S  width of the summary MLPs and of each summary
 *   J  jobs (disconnected components; summaries are per job)
 *   H  embedding width  = F + 2*L*D       ([x ; h_fwd^1..L ; h_bwd^1..L])
 *   E  output width     = H + 2*S         ([embedding ; job summary ; global])
 *   I  input width of a layer: F for layer 1, D for later layers (spelled
 *      In in code: OpenBLAS's cblas.h includes <complex.h>, whose macro I
 *      is the imaginary unit)
 *   NE edges (parent links) in the batch
 *
 * Layer l (1-based in the comments, 0-based in arrays) of direction d, for
 * node v with predecessors P(v) (parents for d = forward, children for
 * d = backward), h^0 = x:
 *   s_u   = a · [h_v^{l-1} ; h_u^l]                  u in P(v)
 *   α     = softmax_u(s)                               (max subtracted)
 *   m_v   = Σ_u α_u h_u^l                              (0 if P(v) is empty)
 *   h_v^l = GRU(input = h_v^{l-1}, hidden = m_v)
 * Note that the a_self · h_v^{l-1} part of s_u is the same for every u and
 * so cancels in the softmax: as written in DESIGN §6 (and in DAGNN), the
 * first I entries of the attention vector have gradient exactly zero. They
 * are kept so the parameter layout follows the paper; a nonlinearity on s
 * (GAT's LeakyReLU) would make them matter.
 *
 * Typical use (one decision of the policy):
 *   gnn_plan_build(&plan, N, J, pred_start, pred, job);   // validates DAG
 *   gnn_cache_prepare(&cache, &cfg, &plan);
 *   gnn_forward(&cache, &params, &cfg, &plan, X);          // cache.out [N,E]
 *   ... later, only features of a few nodes changed, same graph:
 *   gnn_forward_incremental(&cache, &params, &cfg, &plan, X, changed, n);
 * Training: gnn_params_zero(&grads); gnn_backward(&grads, dX, dOut, ...).
 */
#ifndef GNN_H
#define GNN_H

#include <stddef.h>
#include <stdint.h>

#include "common/nn_real.h"
#include "common/weft.h"

/* Most layers per direction; a bound so parameter pointers can live in a
 * fixed struct (llm.c keeps a fixed tensor list the same way). */
#define GNN_MAX_LAYERS 8

/* Directions of the bidirectional encoder. */
enum { GNN_FWD = 0, /* predecessors = parents, visited roots first */
       GNN_BWD = 1, /* predecessors = children, visited leaves first */
       GNN_NDIR = 2 };

/* The sizes of the encoder; the parameter count depends only on these,
 * never on the graph. */
typedef struct {
    size_t F; /* input features per node, >= 1 */
    size_t D; /* hidden width of each DAGNN layer, >= 1 */
    size_t L; /* layers per direction, 1 .. GNN_MAX_LAYERS */
    size_t S; /* summary MLP width (hidden and output), >= 1 */
} gnn_config_t;

/* EINVAL (with a detail naming the field) if a size is 0 or L is too big,
 * or the sizes would overflow. */
weft_err_t gnn_config_check(const gnn_config_t *cfg);

/* H = F + 2*L*D: width of a node's embedding [x ; h_fwd ; h_bwd]. */
size_t gnn_embed_dim(const gnn_config_t *cfg);

/* E = F + 2*L*D + 2*S: width of a row of the encoder's output. */
size_t gnn_out_dim(const gnn_config_t *cfg);

/* ---------------------------------------------------------------------
 * Parameters. One contiguous block (memory, n scalars) pointed into by the
 * fields below, in the order of the size table (gnn_tensor_info). The same
 * type holds gradients and optimiser moments, so zeroing and Adam are flat
 * loops over memory[0..n). Weights are row-major (out, in).
 * ------------------------------------------------------------------- */

/* One DAGNN layer of one direction. I = F for layer 0, D otherwise. The
 * GRU rows are stacked in gate order r | z | n (PyTorch's layout). */
typedef struct {
    weft_real_t *att; /* [I + D] attention vector a = [a_self ; a_pred] */
    weft_real_t *wi;  /* [3D, I] input-to-gate weights (input = h^{l-1}) */
    weft_real_t *bi;  /* [3D] input-side gate biases */
    weft_real_t *wh;  /* [3D, D] hidden-to-gate weights (hidden = message m) */
    weft_real_t *bh;  /* [3D] hidden-side gate biases */
} gnn_layer_params_t;

typedef struct {
    gnn_layer_params_t layer[GNN_NDIR][GNN_MAX_LAYERS]; /* [direction][layer], first L used */
    weft_real_t *job_w1;  /* [S, H] job summary MLP, first layer */
    weft_real_t *job_b1;  /* [S] */
    weft_real_t *job_w2;  /* [S, S] job summary MLP, second layer */
    weft_real_t *job_b2;  /* [S] */
    weft_real_t *glob_w1; /* [S, S] global summary MLP, first layer */
    weft_real_t *glob_b1; /* [S] */
    weft_real_t *glob_w2; /* [S, S] global summary MLP, second layer */
    weft_real_t *glob_b2; /* [S] */
    weft_real_t *memory;  /* [n] the one block; owned */
    size_t n;             /* scalars in memory == gnn_param_count(cfg) */
} gnn_params_t;

/* Scalars of all parameters: a function of F, D, L, S only. */
size_t gnn_param_count(const gnn_config_t *cfg);

/* Number of tensors in the size table: 5 per (direction, layer) + 8. */
size_t gnn_tensor_count(const gnn_config_t *cfg);

/* Entry i of the size table: its name ("fwd1.wi", "job.w2"), its offset in
 * memory and its size in scalars. i < gnn_tensor_count(cfg). */
typedef struct {
    char name[24]; /* "<fwd|bwd><layer 1-based>.<att|wi|bi|wh|bh>" or "<job|glob>.<w1|b1|w2|b2>" */
    size_t offset; /* first scalar in memory */
    size_t size;   /* scalars */
} gnn_tensor_info_t;
gnn_tensor_info_t gnn_tensor_info(const gnn_config_t *cfg, size_t i);

/* Allocates the block (zeroed) and points the fields into it. ENOMEM or
 * EINVAL (bad cfg); on failure *p is left empty (destroy is safe). */
weft_err_t gnn_params_init(gnn_params_t *p, const gnn_config_t *cfg);
void gnn_params_destroy(gnn_params_t *p);

/* Sets every scalar to 0 (gradients before a backward pass). O(n). */
void gnn_params_zero(gnn_params_t *p);

/* Xavier-uniform weights (Glorot & Bengio 2010, bound sqrt(6/(in+out)))
 * and zero biases from a splitmix64 stream seeded by seed: the same seed
 * gives the same parameters on every machine (up to the float rounding of
 * the bound). O(n). */
void gnn_params_init_random(gnn_params_t *p, const gnn_config_t *cfg, uint64_t seed);

/* ---------------------------------------------------------------------
 * Plan: the validated graph of one batch, its topological waves per
 * direction and its job index. Built once per change of the graph; the
 * forward passes only read it.
 * ------------------------------------------------------------------- */

/* One direction: the predecessor lists it attends over and its waves. */
typedef struct {
    size_t *pred_start; /* [N+1] CSR offsets into pred */
    size_t *pred;       /* [NE] predecessors of node v are pred[pred_start[v] .. pred_start[v+1]) */
    size_t *wave;       /* [N] 0 if no predecessor, else 1 + max wave of its predecessors */
    size_t n_waves;     /* 1 + max wave (0 if N = 0); equal in both directions */
    size_t *wave_start; /* [n_waves+1] offsets into order */
    size_t *order;      /* [N] nodes sorted by wave, ties by node index */
} gnn_dir_plan_t;

typedef struct {
    size_t n_nodes;               /* N */
    size_t n_jobs;                /* J */
    size_t n_edges;               /* NE */
    size_t *job;                  /* [N] job of each node, < J */
    size_t *job_start;            /* [J+1] CSR offsets into job_nodes */
    size_t *job_nodes;            /* [N] nodes of each job, ascending node index */
    gnn_dir_plan_t dir[GNN_NDIR]; /* [GNN_FWD] parents, [GNN_BWD] children */
    size_t max_wave_size;         /* most nodes in one wave of either direction */
    uint64_t id;                  /* unique per successful build; caches remember it */
} gnn_plan_t;

void gnn_plan_init(gnn_plan_t *plan);
void gnn_plan_destroy(gnn_plan_t *plan);

/* Validates and indexes a batch (borrows the arrays, copies what it keeps):
 * pred_start [n_nodes+1] (pred_start[0] = 0, non-decreasing), pred
 * [pred_start[n_nodes]] the parents of each node, job [n_nodes] each
 * node's job in 0..n_jobs-1. Errors, with a detail naming the node:
 * EINVAL for a parent out of range, a node its own parent, a repeated
 * parent, a parent in another job, a job index out of range or a job with no
 * node; ECYCLE for a cycle (naming its job and a node on it). On error the
 * plan is left empty. O(N + NE + J). */
weft_err_t gnn_plan_build(gnn_plan_t *plan, size_t n_nodes, size_t n_jobs,
                          const size_t *pred_start, const size_t *pred, const size_t *job);

/* ---------------------------------------------------------------------
 * Cache: activations of the last forward pass (what backward needs), the
 * output, gradient buffers and workspaces, in one block that grows as
 * needed and is reused across batches.
 * ------------------------------------------------------------------- */

/* Activations of one (direction, layer); every [N, ·] array is indexed by
 * node number, not by wave position, so an incremental pass can overwrite
 * some rows and keep the rest. */
typedef struct {
    weft_real_t *h;     /* [N, D] layer output h^l */
    weft_real_t *m;     /* [N, D] message m (GRU hidden input) */
    weft_real_t *gates; /* [N, 4D] per node r | z | n | hn, hn = W_hn m + b_hn */
    weft_real_t *q;     /* [N] a_pred · h^l_v, the predecessor half of the score */
    weft_real_t *alpha; /* [NE] attention weight of edge pred_start[v]+i of this direction */
    weft_real_t *dh;    /* [N, D] backward: dLoss/dh^l */
} gnn_layer_cache_t;

typedef struct {
    weft_real_t *x;        /* [N, F] copy of the input features */
    gnn_layer_cache_t layer[GNN_NDIR][GNN_MAX_LAYERS];
    weft_real_t *job_sum;  /* [J, H] Σ of embeddings of each job's nodes */
    weft_real_t *job_act;  /* [J, S] tanh(job_sum W1^T + b1) */
    weft_real_t *job_out;  /* [J, S] job summaries act W2^T + b2 */
    weft_real_t *glob_sum; /* [S] Σ_j job_out */
    weft_real_t *glob_act; /* [S] tanh(W1g glob_sum + b1g) */
    weft_real_t *glob_out; /* [S] global summary */
    weft_real_t *out;      /* [N, E] the encoder's output, row v = node v */
    weft_real_t *work;     /* workspaces for gathered wave rows and gradients */
    uint8_t *dirty[GNN_NDIR]; /* [N] incremental: node recomputed in that direction */
    size_t *dirty_nodes[GNN_NDIR]; /* [N] incremental: recomputed nodes by wave */
    size_t *dirty_start[GNN_NDIR]; /* [n_waves+1] incremental: offsets per wave */
    uint8_t *job_mark;     /* [J] incremental: job summary recomputed */
    size_t *stack;         /* [N] incremental: DFS stack */
    size_t *job_list;      /* [J] incremental: recomputed jobs */
    size_t n_work;         /* scalars in work */
    void *block;           /* owned memory behind the real arrays */
    size_t block_bytes;    /* capacity of block */
    void *iblock;          /* owned memory behind the index arrays */
    size_t iblock_bytes;   /* capacity of iblock */
    gnn_config_t cfg;      /* sizes the arrays were pointed for */
    size_t N, J, NE, M;    /* nodes, jobs, edges, largest wave the arrays were pointed for */
    uint64_t plan_id;      /* plan of the last full forward, 0 if none */
} gnn_cache_t;

void gnn_cache_init(gnn_cache_t *c);
void gnn_cache_destroy(gnn_cache_t *c);

/* Points the arrays for cfg and plan, growing the blocks if needed (old
 * contents are not kept; the next pass must be a full gnn_forward). ENOMEM
 * or EINVAL. O(size of the cache) only when it grows. */
weft_err_t gnn_cache_prepare(gnn_cache_t *c, const gnn_config_t *cfg, const gnn_plan_t *plan);

/* ---------------------------------------------------------------------
 * Passes. All need gnn_cache_prepare(c, cfg, plan) first; X is [N, F].
 * The result is c->out [N, E].
 * ------------------------------------------------------------------- */

/* The pipelined forward: per direction, the L x n_waves grid of (layer,
 * wave) cells is run along anti-diagonals, each cell one batch of GEMMs
 * over all nodes of the wave (across jobs). O(L * (N D (I + 3D) + NE D)
 * + N H S). */
void gnn_forward(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                 const gnn_plan_t *plan, const weft_real_t *X);

/* The reference: the same function with per-node loops and no BLAS, layer
 * by layer and wave by wave. Fills the same cache, so backward may follow
 * it. Results agree with gnn_forward up to float summation order. */
void gnn_forward_naive(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                       const gnn_plan_t *plan, const weft_real_t *X);

/* After a gnn_forward (or incremental pass) on the same plan and the same
 * parameters, recomputes the output for new features X where only the rows
 * of changed[0..n_changed) may differ from the previous X: those nodes and
 * their descendants (forward direction) or ancestors (backward direction),
 * the summaries of their jobs and the global summary. Other rows of c->x
 * are kept (X's other rows are not read). Equals a full forward up to float
 * summation order. changed[] may repeat nodes. EINVAL if the cache holds no
 * forward of this plan or a node index is out of range. The parameters
 * cannot be checked: after an optimiser step, run a full gnn_forward.
 * O(work of the recomputed nodes + N S). */
weft_err_t gnn_forward_incremental(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                                   const gnn_plan_t *plan, const weft_real_t *X,
                                   const size_t *changed, size_t n_changed);

/* Backward of the whole encoder for dOut = dLoss/d(c->out) [N, E]: adds
 * dLoss/dparams into *dp (+=, so zero it first) and, if dX is not NULL,
 * dLoss/dX into dX [N, F] (+=). Needs the cache of the last forward with
 * params p (incremental passes included); it overwrites the cache's
 * gradient buffers. O(same as gnn_forward). */
void gnn_backward(gnn_params_t *dp, weft_real_t *dX, const weft_real_t *dOut, gnn_cache_t *c,
                  const gnn_params_t *p, const gnn_config_t *cfg, const gnn_plan_t *plan);

#endif
