/*
 * learned.c - the learned policy (DESIGN §6) as an emulator ordering:
 * features of every coflow of the jobs in the system, the DAGNN encoder
 * (gnn/), the self-attention scorer over the schedulable coflows
 * (attention/), and the greedy order by descending score.
 *
 * One decision:
 *   1. live jobs: every job that has arrived (arrival_s <= now) and still
 *      has a coflow that is not DONE, in the order they arrived. Jobs of
 *      the ACTIVE ids are added too, so a driver that does not move forward
 *      in time (tests, the gateway) is still served.
 *   2. nodes: every coflow of every live job, DONE ones included: keeping
 *      them keeps each job's DAG whole (a coflow's predecessors stay in the
 *      graph, and what it has already unlocked stays visible) and makes the
 *      node set change only when a job arrives or finishes, so the plan
 *      (gnn_plan_build) is rebuilt only then. Node numbers: live jobs in
 *      order, each job's coflows in index order; parents map global ->
 *      local by the job's base node.
 *   3. features (LF per node, below), log1p-scaled, quantised where they
 *      vary with time, then normalised by the model's feat.mean/feat.std.
 *   4. embedding: a full gnn_forward when the plan was rebuilt (or the
 *      mode asks for it); otherwise gnn_forward_incremental over the rows
 *      whose normalised features changed (none: the previous output stands).
 *      What forces a full recompute is only a change of the node set (a job
 *      arriving or finishing) or more than half the rows changing, where a
 *      full pass is cheaper. Time-varying features (remaining bytes and
 *      bottleneck time, fraction sent, job age, time since release) are
 *      quantised (1/16 in log1p units, i.e. ~6% steps; fraction sent in
 *      1/64) so most of them keep their value between nearby decisions;
 *      the quantised value *is* the feature, so incremental and full passes
 *      compute the same function (up to float summation order).
 *   5. scores: the encoder's output rows of the ACTIVE ids, ordered by
 *      longer remaining path (remaining_iso + cp_below_s - iso_s), then
 *      release time, then index, go through attn_forward_infer;
 *      a model with a teacher prior (model.prior > 0) adds prior ×
 *      −log(job remaining work / weight), jsebf's key unquantised, plus
 *      prior_path × log(the coflow's remaining path), so the network
 *      learns a correction to (nearly) jsebf-cp's order.
 *   6. order: attn_argsort_desc (ties to the lower row, i.e. the longer
 *      path, then earlier release, then lower index: an untrained
 *      residual, whose scores tie inside a job, is jsebf-cp's order).
 *      The scores stay in the attention cache until the next scoring, so
 *      last_scores gives the last decision's (the gateway's job_status)
 *      without memory of its own; earlier decisions' are not kept.
 *
 * Features of a node (index: meaning), all log1p of a non-negative value
 * unless said otherwise; "q" marks the quantised ones:
 *    0 total bytes            1 q remaining bytes (total if waiting, 0 done)
 *    2 flows                  3 distinct senders       4 distinct receivers
 *    5 iso_s                  6 q remaining bottleneck time (remaining_iso
 *                               if active, iso_s if waiting, 0 if done)
 *    7 q fraction of bytes sent (plain, in [0, 1])
 *    8..10 status one-hot waiting / schedulable / done (plain 0/1)
 *   11 wave (depth in its DAG) 12 children           13 cp_below_s
 *   14 job weight            15 q job age (now - arrival)
 *   16 q time since release  (now - release if active; its CCT if done;
 *                               0 if waiting)
 * and three of its job, the same for every node of the job (feature set 2:
 * the quantities the DAG-aware heuristics rank by, so a policy can start
 * from them rather than rediscover sums over the DAG):
 *   17 q job remaining work: Σ over its unfinished coflows of their
 *        remaining bottleneck time (iso_s if waiting), as jsebf sums it
 *   18 q that work / job weight (jsebf's key)
 *   19 q longest remaining path of its active coflows / job weight (wcp's
 *        key; 0 if none is active)
 *
 * Memory: create() sizes every per-node array for all coflows of the
 * workload and the attention cache for the first decisions; the encoder's
 * cache and the plan grow when the node set does (on an arrival or a
 * finish), the attention cache and the gather buffer when the active set
 * reaches a new maximum. A decision in steady state does not allocate, and
 * holds memory linear in the active coflows: the attention cache keeps the
 * attention weights (quadratic) only for a training hook.
 * Default allocator MADD, as for jsebf (the teacher): measured on the
 * held-out workloads, the same orders under greedy were 0.7% worse.
 * order() fails (ENOMEM, or EINVAL past the scorer's ATTN_MAX_ROWS) if a
 * plan or cache cannot be built, and the run with it: it once left the ids
 * in release order instead, a FIFO schedule reported as the learned one.
 * The context is then rebuilt from scratch at the next call. A score that
 * is not finite fails it too (EINVAL), unless a training hook orders.
 */
#include "coflow_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learned.h"

/* Features per node; their meaning is listed above. */
#define LF COFLOW_LEARNED_NF
/* Bumped when the meaning of the features changes; a model trained on
 * another feature set is refused. */
#define LEARNED_FEATURE_SET 4 /* 3: 2 plus the teacher prior "learned.prior";
                                 4: rows (and so ties) by remaining path, and
                                 the path prior "learned.prior_path" */

static const char *const feature_names[LF] = {
    "total_bytes", "remaining_bytes", "flows",        "senders",      "receivers",
    "iso_s",       "remaining_iso_s", "frac_sent",    "is_waiting",   "is_active",
    "is_done",     "wave",            "children",     "cp_below_s",   "job_weight",
    "job_age_s",   "since_release_s", "job_work_s",   "job_work_per_w", "job_cp_per_w",
};

/* Default normalisation (random models): rough centres and spreads of the
 * log1p features on Facebook-like traces at 1 Gbit/s. Training keeps the
 * normalisation of the model it starts from (train/ never sets feat.mean
 * or feat.std), so the shipped model, trained from a random one, carries
 * these values. */
static const float default_mean[LF] = {16, 14, 3, 2, 2, 0.3f, 0.2f, 0.5f, 0.33f, 0.33f,
                                       0.33f, 1, 0.7f, 0.5f, 1.2f, 1, 0.3f, 3, 2.5f, 2};
static const float default_std[LF] = {4, 6, 2, 1.5f, 1.5f, 0.6f, 0.5f, 0.4f, 0.5f, 0.5f,
                                      0.5f, 0.7f, 0.6f, 0.8f, 0.5f, 1.5f, 0.6f, 2, 2, 2};

#define QSTEP 16.0   /* quantisation of time-varying log1p features */
#define QFRAC 64.0   /* quantisation of the fraction sent */
#define NONE ((size_t)-1)

typedef struct {
    coflow_learned_model_t own; /* the model loaded or drawn for this run */
    const coflow_learned_model_t *m; /* &own, or the hook's model */
    const coflow_learned_hook_t *hook; /* training: chooses the orders; NULL */
    gnn_plan_t plan;
    gnn_cache_t gcache;
    attn_cache_t acache;
    bool plan_valid;  /* plan matches the live set */
    bool fwd_valid;   /* gcache.out is the encoder's output for X */
    /* live jobs */
    size_t *job_order;   /* [n_jobs] by arrival, then index */
    size_t next_job;     /* job_order[next_job..] have not arrived */
    size_t *live;        /* [n_jobs] live jobs, in the order they joined */
    size_t n_live;
    uint8_t *in_live;    /* [n_jobs] */
    /* nodes */
    size_t *node_of;     /* [n_coflows] node of a coflow, NONE if not in the graph */
    size_t *pred_start;  /* [n_coflows + 1] parents CSR of the nodes */
    size_t *pred;        /* [n_parents] */
    size_t *node_job;    /* [n_coflows] live position of a node's job */
    size_t *node_coflow; /* [n_coflows] coflow of a node */
    size_t n_nodes;
    double *job_work;    /* [n_jobs] per live position: remaining work (feature 17) */
    double *job_cp;      /* [n_jobs] per live position: longest remaining path (19) */
    int wexp;            /* this decision's weights are read times 2^wexp (weight_exp) */
    double *path;        /* [n_coflows] remaining path of an active coflow (row order) */
    weft_real_t *X;      /* [n_coflows, LF] normalised features of the nodes */
    size_t *changed;     /* [n_coflows] rows that changed this decision */
    /* per decision, grown to the largest active set */
    weft_real_t *gather; /* [cap_rows, E] encoder rows of the active ids */
    size_t *perm;        /* [cap_rows] argsort output */
    size_t *ids_copy;    /* [cap_rows] ids as given */
    size_t *row_node;    /* [cap_rows] encoder node of each active id (hook) */
    size_t *prev_in;     /* [cap_rows] set_changes_only: the last ids scored */
    size_t *prev_out;    /* [cap_rows] ... and the order given for them */
    size_t prev_n;       /* 0: no previous decision */
    size_t cap_rows;
    size_t n_scored;     /* the last order() call's n if acache.scores placed its ids,
                            through perm; else 0 (last_scores) */
    /* --scores (st->scores_out): decisions asked so far (order() calls),
       and per row of the last one, the scorer's output before the priors
       and the row of each node (NONE: not scored); NULL without it */
    size_t n_decisions;
    weft_real_t *dump_net; /* [n_coflows] */
    size_t *dump_row;      /* [n_coflows] */
    coflow_learned_mode_t mode;
    bool libm_attn; /* score through attn_forward_libm (benchmarks) */
    coflow_learned_timing_t timing;
} learned_ctx_t;

/* ------------------------------------------------------------ model file */

static void default_configs(gnn_config_t *g, attn_config_t *a)
{
    *g = (gnn_config_t){.F = LF, .D = 16, .L = 2, .S = 16};
    *a = (attn_config_t){.E = gnn_out_dim(g), .M = 32, .H = 4, .B = 2, .norm = ATTN_PRE_LN,
                         .act = ATTN_GELU};
}

/* Shape of gnn size-table entry i (gnn/params.c's order: per direction and
 * layer att, wi, bi, wh, bh; then job.w1 b1 w2 b2, glob.w1 b1 w2 b2). */
static size_t gnn_tensor_shape(const gnn_config_t *cfg, size_t i, size_t shape[2])
{
    size_t D = cfg->D, L = cfg->L, S = cfg->S, n_layer = GNN_NDIR * L * 5;
    if (i < n_layer) {
        size_t l = (i / 5) % L, k = i % 5, In = l == 0 ? cfg->F : D;
        switch (k) {
        case 0: shape[0] = In + D; return 1;
        case 1: shape[0] = 3 * D, shape[1] = In; return 2;
        case 3: shape[0] = 3 * D, shape[1] = D; return 2;
        default: shape[0] = 3 * D; return 1;
        }
    }
    size_t k = i - n_layer;
    if (k % 2 == 1) {
        shape[0] = S;
        return 1;
    }
    shape[0] = S;
    shape[1] = k == 0 ? gnn_embed_dim(cfg) : S;
    return 2;
}

/* attn_model_block_fn of the encoder's tensors: the model file's "gnn.*". */
static void gnn_block_tensor(const void *cfg, size_t i, attn_model_block_tensor_t *t)
{
    gnn_tensor_info_t g = gnn_tensor_info(cfg, i);
    _Static_assert(sizeof g.name == sizeof t->name, "a tensor's name fits the block's");
    memcpy(t->name, g.name, sizeof t->name);
    t->shape[1] = 0;
    t->ndim = gnn_tensor_shape(cfg, i, t->shape);
    t->offset = g.offset;
    t->size = g.size;
}

/* The encoder's ints of the model file's table (attn.h), gnn.F to gnn.S. */
enum { N_GNN_INTS = ATTN_INT_GNN_S + 1 - ATTN_INT_GNN_F };
_Static_assert(N_GNN_INTS == 4 && ATTN_INT_GNN_S + 1 == ATTN_INT_E,
               "the encoder stores four ints, F D L S, before the scorer's");
#define GNN_INT_NAME(i) attn_model_net_int_names[ATTN_INT_GNN_F + (i)]

/* Stores the encoder as ints gnn.F/D/L/S and tensors "gnn.<name>",
 * mirroring attn_params_to_model. */
static weft_err_t gnn_params_to_model(const gnn_params_t *p, const gnn_config_t *cfg,
                                      attn_model_file_t *mf)
{
    size_t vals[N_GNN_INTS] = {cfg->F, cfg->D, cfg->L, cfg->S};
    weft_err_t err = WEFT_OK;
    for (size_t i = 0; i < N_GNN_INTS && !err; i++)
        err = attn_model_set_int(mf, GNN_INT_NAME(i), (int64_t)vals[i]);
    if (err)
        return err;
    return attn_model_set_block(mf, "gnn", p->memory, gnn_tensor_count(cfg), gnn_block_tensor,
                                cfg);
}

/* Reads gnn.F/D/L/S into *cfg; ENOTFOUND naming a missing int, EINVAL for
 * a value out of range or an F this build does not compute. */
static weft_err_t gnn_config_from_model(const attn_model_file_t *mf, gnn_config_t *cfg)
{
    /* gnn_config_check's bounds, checked here on the int64 before it is
       narrowed, so every value out of range gets the same message */
    const int64_t hi[N_GNN_INTS] = {(int64_t)1 << 20, (int64_t)1 << 20, GNN_MAX_LAYERS,
                                    (int64_t)1 << 20};
    int64_t v[N_GNN_INTS];
    for (size_t i = 0; i < N_GNN_INTS; i++) {
        weft_err_t err = attn_model_get_int(mf, GNN_INT_NAME(i), &v[i]);
        if (err)
            return err;
        if (v[i] < 1 || v[i] > hi[i])
            return weft_fail(WEFT_EINVAL, "model's %s is %lld, expected 1..%lld",
                             GNN_INT_NAME(i), (long long)v[i], (long long)hi[i]);
    }
    if (v[0] != LF)
        return weft_fail(WEFT_EINVAL, "model's %s is %lld, but this build computes %d features "
                         "per coflow", GNN_INT_NAME(0), (long long)v[0], LF);
    gnn_config_t c = {.F = (size_t)v[0], .D = (size_t)v[1], .L = (size_t)v[2],
                      .S = (size_t)v[3]};
    weft_err_t err = gnn_config_check(&c);
    if (err)
        return weft_wrap(err, "model's ");
    *cfg = c;
    return WEFT_OK;
}

/* Copies the "gnn.*" tensors into p (initialised for cfg), checking every
 * shape first: EINVAL naming the tensor and both shapes, ENOTFOUND if one
 * is absent; p is untouched on error. */
static weft_err_t gnn_params_from_model(gnn_params_t *p, const gnn_config_t *cfg,
                                        const attn_model_file_t *mf)
{
    return attn_model_get_block(mf, "gnn", p->memory, gnn_tensor_count(cfg), gnn_block_tensor,
                                cfg);
}

void coflow_learned_model_init(coflow_learned_model_t *m)
{
    memset(m, 0, sizeof *m);
}

void coflow_learned_model_destroy(coflow_learned_model_t *m)
{
    gnn_params_destroy(&m->gp);
    attn_params_destroy(&m->ap);
    coflow_learned_model_init(m);
}

weft_err_t coflow_learned_model_to_file(const coflow_learned_model_t *m, attn_model_file_t *mf)
{
    weft_err_t err = WEFT_OK;
    WEFT_CHECK(attn_model_set_int(mf, attn_model_net_int_names[ATTN_INT_FEATURE_SET],
                                  LEARNED_FEATURE_SET));
    if (m->set_changes_only) /* absent in older files: every decision */
        WEFT_CHECK(attn_model_set_int(mf, attn_model_net_int_names[ATTN_INT_SET_CHANGES_ONLY], 1));
    WEFT_CHECK(gnn_params_to_model(&m->gp, &m->gcfg, mf));
    WEFT_CHECK(attn_params_to_model(&m->ap, &m->acfg, mf));
    WEFT_CHECK(attn_model_set_vector(mf, "feat.mean", m->mean, LF));
    WEFT_CHECK(attn_model_set_vector(mf, "feat.std", m->std, LF));
    WEFT_CHECK(attn_model_set_vector(mf, "learned.prior", &m->prior, 1));
    WEFT_CHECK(attn_model_set_vector(mf, "learned.prior_path", &m->prior_path, 1));
cleanup:
    return err;
}

/* Writes the whole policy (encoder, scorer, normalisation) to path. */
weft_err_t coflow_learned_model_save(const coflow_learned_model_t *m, const char *path)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_err_t err = WEFT_OK;
    WEFT_CHECK(coflow_learned_model_to_file(m, &mf));
    WEFT_CHECK(attn_model_save(path, &mf));
cleanup:
    attn_model_destroy(&mf);
    return err;
}

weft_err_t coflow_learned_model_random(coflow_learned_model_t *m, uint64_t seed)
{
    coflow_learned_model_init(m);
    default_configs(&m->gcfg, &m->acfg);
    weft_err_t err = gnn_params_init(&m->gp, &m->gcfg);
    if (!err)
        err = attn_params_init(&m->ap, &m->acfg);
    if (err) {
        coflow_learned_model_destroy(m);
        return err;
    }
    gnn_params_init_random(&m->gp, &m->gcfg, seed);
    /* a different stream for the scorer, so its weights are not the
       encoder's first numbers again */
    attn_params_init_random(&m->ap, &m->acfg, seed ^ 0xa0761d6478bd642fULL);
    memcpy(m->mean, default_mean, sizeof m->mean);
    memcpy(m->std, default_std, sizeof m->std);
    return WEFT_OK;
}

weft_err_t coflow_learned_model_copy(coflow_learned_model_t *dst,
                                     const coflow_learned_model_t *src)
{
    coflow_learned_model_init(dst);
    dst->gcfg = src->gcfg;
    dst->acfg = src->acfg;
    weft_err_t err = gnn_params_init(&dst->gp, &src->gcfg);
    if (!err)
        err = attn_params_init(&dst->ap, &src->acfg);
    if (err) {
        coflow_learned_model_destroy(dst);
        return err;
    }
    memcpy(dst->gp.memory, src->gp.memory, src->gp.n * sizeof *src->gp.memory);
    memcpy(dst->ap.memory, src->ap.memory, src->ap.n * sizeof *src->ap.memory);
    memcpy(dst->mean, src->mean, sizeof dst->mean);
    memcpy(dst->std, src->std, sizeof dst->std);
    dst->set_changes_only = src->set_changes_only;
    dst->prior = src->prior;
    dst->prior_path = src->prior_path;
    return WEFT_OK;
}

weft_err_t coflow_learned_check_prior(const char *what, double w)
{
    if (w == 0 || (w >= COFLOW_LEARNED_PRIOR_MIN && w <= COFLOW_LEARNED_PRIOR_MAX))
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "%s %g: expected 0 or a weight from %g to %g (a model holds "
                     "it as a float, and the scores it weighs must fit one)", what, w,
                     COFLOW_LEARNED_PRIOR_MIN, COFLOW_LEARNED_PRIOR_MAX);
}

weft_err_t coflow_learned_model_make_residual(coflow_learned_model_t *m, double prior,
                                              double prior_path)
{
    if (!(prior > 0) || !isfinite(prior))
        return weft_fail(WEFT_EINVAL, "teacher prior weight %g, expected finite and > 0", prior);
    if (!(prior_path >= 0) || !isfinite(prior_path))
        return weft_fail(WEFT_EINVAL, "path prior weight %g, expected finite and >= 0",
                         prior_path);
    weft_err_t err = coflow_learned_check_prior("teacher prior weight", prior);
    if (!err)
        err = coflow_learned_check_prior("path prior weight", prior_path);
    if (err)
        return err;
    m->prior = (float)prior;
    m->prior_path = (float)prior_path;
    memset(m->ap.head_w, 0, m->acfg.M * sizeof *m->ap.head_w);
    m->ap.head_b[0] = 0;
    return WEFT_OK;
}

weft_err_t coflow_learned_save_random(const char *path, uint64_t seed)
{
    coflow_learned_model_t m;
    weft_err_t err = coflow_learned_model_random(&m, seed);
    if (!err)
        err = coflow_learned_model_save(&m, path);
    coflow_learned_model_destroy(&m);
    return err;
}

static weft_err_t load_vector(const attn_model_file_t *mf, const char *name, float *out,
                              bool positive)
{
    const attn_model_vec_t *v = attn_model_find_vector(mf, name);
    if (!v)
        return weft_fail(WEFT_ENOTFOUND, "model has no vector %s", name);
    if (v->n != LF)
        return weft_fail(WEFT_EINVAL, "vector %s has %zu entries in the model, expected %d "
                         "(one per feature)", name, v->n, LF);
    for (size_t k = 0; k < LF; k++)
        if (!isfinite(v->data[k]) || (positive && !(v->data[k] > 0)))
            return weft_fail(WEFT_EINVAL, "%s[%zu] (%s) is %g, expected a finite number%s",
                             name, k, feature_names[k], (double)v->data[k],
                             positive ? " > 0" : "");
    memcpy(out, v->data, LF * sizeof *out);
    return WEFT_OK;
}

/* Every feature is at least 0 and at most log1p(DBL_MAX) (the one-hot
 * ones and the fraction sent at most 1). Normalised, none may exceed
 * NORMALISED_MAX in size: far past where the encoder's gates saturate, and
 * small enough that its first layer's float sums of such inputs stay
 * finite for any weight a trained model has (a feat.std of 1e-44 made
 * every score NaN). */
#define FEATURE_MAX 709.79
#define NORMALISED_MAX 1e12

/* EINVAL naming the feature whose normalisation, (f - mean) / std over
 * every f in [0, FEATURE_MAX], could exceed NORMALISED_MAX in size. */
static weft_err_t check_normaliser(const coflow_learned_model_t *m)
{
    for (size_t k = 0; k < LF; k++) {
        double spread = FEATURE_MAX + fabs((double)m->mean[k]);
        if (!(spread / m->std[k] <= NORMALISED_MAX))
            return weft_fail(WEFT_EINVAL, "feat.std[%zu] (%s) is %g: a feature (log1p of a "
                             "double, at most %g, less feat.mean %g) would be normalised to %g, "
                             "past %g; expected at least %g", k, feature_names[k],
                             (double)m->std[k], FEATURE_MAX, (double)m->mean[k],
                             spread / m->std[k], NORMALISED_MAX, spread / NORMALISED_MAX);
    }
    return WEFT_OK;
}

/* Reads the one-entry vector `name` (learned.prior, learned.prior_path). */
static weft_err_t load_prior(const attn_model_file_t *mf, const char *name, float *prior)
{
    const attn_model_vec_t *v = attn_model_find_vector(mf, name);
    if (!v)
        return weft_fail(WEFT_ENOTFOUND, "model has no vector %s", name);
    if (v->n != 1)
        return weft_fail(WEFT_EINVAL, "model's %s has %zu entries (first %g), "
                         "expected one finite number >= 0", name, v->n,
                         v->n ? (double)v->data[0] : 0.0);
    if (!isfinite(v->data[0]) || v->data[0] < 0)
        return weft_fail(WEFT_EINVAL, "model's %s is %g, expected a finite number >= 0", name,
                         (double)v->data[0]);
    char what[64];
    snprintf(what, sizeof what, "model's %s", name);
    weft_err_t err = coflow_learned_check_prior(what, v->data[0]);
    if (err)
        return err;
    *prior = v->data[0];
    return WEFT_OK;
}

/* Row-major position of flat element k of a tensor of shape[ndim], as
 * "[i, j, ...]". */
static void index_str(char *buf, size_t len, size_t ndim, const size_t *shape, size_t k)
{
    size_t idx[ATTN_MODEL_MAX_DIMS];
    for (size_t d = ndim; d-- > 0;) {
        idx[d] = k % shape[d];
        k /= shape[d];
    }
    attn_model_dims_str(buf, len, ndim, idx);
}

/* EINVAL naming the first NaN or infinity in any tensor or vector of mf
 * (the model's weights, its normalisation, a checkpoint's Adam moments):
 * one would silently turn every score it reaches into NaN. O(floats). */
static weft_err_t check_finite(const attn_model_file_t *mf)
{
    for (size_t i = 0; i < mf->n_tensors; i++) {
        const attn_model_tensor_t *t = &mf->tensors[i];
        for (size_t k = 0; k < t->n; k++)
            if (!isfinite(t->data[k])) {
                char at[128];
                index_str(at, sizeof at, t->ndim, t->shape, k);
                return weft_fail(WEFT_EINVAL, "tensor %s element %zu %s is %g, expected a "
                                 "finite number", t->name, k, at, (double)t->data[k]);
            }
    }
    for (size_t i = 0; i < mf->n_vecs; i++) {
        const attn_model_vec_t *v = &mf->vecs[i];
        for (size_t k = 0; k < v->n; k++)
            if (!isfinite(v->data[k]))
                return weft_fail(WEFT_EINVAL, "vector %s element %zu is %g, expected a finite "
                                 "number", v->name, k, (double)v->data[k]);
    }
    return WEFT_OK;
}

weft_err_t coflow_learned_model_read(coflow_learned_model_t *m, attn_model_file_t *mf,
                                     const char *path)
{
    weft_err_t err = attn_model_load(path, mf); /* its details start with the path */
    if (!err)
        return coflow_learned_model_from_file(m, mf, path);
    coflow_learned_model_init(m);
    return err;
}

weft_err_t coflow_learned_model_load(coflow_learned_model_t *m, const char *path)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_err_t err = coflow_learned_model_read(m, &mf, path);
    attn_model_destroy(&mf);
    return err;
}

weft_err_t coflow_learned_model_from_file(coflow_learned_model_t *m,
                                          const attn_model_file_t *mf, const char *path)
{
    coflow_learned_model_init(m);
    const char *fs_name = attn_model_net_int_names[ATTN_INT_FEATURE_SET];
    const char *sco_name = attn_model_net_int_names[ATTN_INT_SET_CHANGES_ONLY];
    int64_t fs, sco = 0;
    weft_err_t err = attn_model_get_int(mf, fs_name, &fs);
    if (!err && fs != LEARNED_FEATURE_SET)
        err = weft_fail(WEFT_EINVAL, "model's %s is %lld, this build computes feature set %d",
                        fs_name, (long long)fs, LEARNED_FEATURE_SET);
    if (!err && attn_model_find_int(mf, sco_name)) {
        err = attn_model_get_int(mf, sco_name, &sco);
        if (!err && sco != 0 && sco != 1)
            err = weft_fail(WEFT_EINVAL, "model's %s is %lld, expected 0 or 1", sco_name,
                            (long long)sco);
    }
    m->set_changes_only = sco == 1;
    if (!err)
        err = gnn_config_from_model(mf, &m->gcfg);
    if (!err)
        err = attn_config_from_model(mf, &m->acfg);
    if (!err && m->acfg.E != gnn_out_dim(&m->gcfg))
        err = weft_fail(WEFT_EINVAL, "model's %s is %zu, expected the encoder's output width %zu",
                        attn_model_net_int_names[ATTN_INT_E], m->acfg.E, gnn_out_dim(&m->gcfg));
    if (!err)
        err = gnn_params_init(&m->gp, &m->gcfg);
    if (!err)
        err = attn_params_init(&m->ap, &m->acfg);
    if (!err)
        err = gnn_params_from_model(&m->gp, &m->gcfg, mf);
    if (!err)
        err = attn_params_from_model(&m->ap, &m->acfg, mf);
    if (!err)
        err = load_vector(mf, "feat.mean", m->mean, false);
    if (!err)
        err = load_vector(mf, "feat.std", m->std, true);
    if (!err)
        err = check_normaliser(m);
    if (!err)
        err = load_prior(mf, "learned.prior", &m->prior);
    if (!err)
        err = load_prior(mf, "learned.prior_path", &m->prior_path);
    if (!err && m->prior_path > 0 && !(m->prior > 0)) /* as weft train's --prior-path */
        err = weft_fail(WEFT_EINVAL, "model's learned.prior_path is %g, but its learned.prior "
                        "is 0: the path prior weighs only a residual of the teacher (a "
                        "learned.prior > 0)", (double)m->prior_path);
    if (!err) /* after the checks above, whose messages say more */
        err = check_finite(mf);
    if (err) {
        weft_wrap(err, "%s: ", path);
        coflow_learned_model_destroy(m);
    }
    return err;
}

/* ------------------------------------------------------ create / destroy */

static _Thread_local const coflow_workload_t *arr_wl;

static int cmp_arrival(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double ax = arr_wl->jobs[x].arrival_s, ay = arr_wl->jobs[y].arrival_s;
    if (ax != ay)
        return ax < ay ? -1 : 1;
    return (x > y) - (x < y);
}

/* --scores: the columns, then one row per node of each scored decision. */
static void write_scores_header(FILE *out)
{
    locale_t prev = weft_c_numbers_begin();
    fputs("decision,time_s,job,coflow,status", out);
    for (size_t k = 0; k < LF; k++)
        fprintf(out, ",%s", feature_names[k]);
    for (size_t k = 0; k < LF; k++)
        fprintf(out, ",x_%s", feature_names[k]);
    fputs(",net_score,score,rank\n", out);
    weft_c_numbers_end(prev);
}

static void learned_destroy(void *ctx)
{
    learned_ctx_t *c = ctx;
    if (!c)
        return;
    coflow_learned_model_destroy(&c->own);
    gnn_plan_destroy(&c->plan);
    gnn_cache_destroy(&c->gcache);
    attn_cache_destroy(&c->acache);
    free(c->job_order);
    free(c->live);
    free(c->in_live);
    free(c->node_of);
    free(c->pred_start);
    free(c->pred);
    free(c->node_job);
    free(c->node_coflow);
    free(c->job_work);
    free(c->job_cp);
    free(c->path);
    free(c->X);
    free(c->changed);
    free(c->gather);
    free(c->perm);
    free(c->ids_copy);
    free(c->row_node);
    free(c->prev_in);
    free(c->prev_out);
    free(c->dump_net);
    free(c->dump_row);
    free(c);
}

/* Grows the per-decision buffers to n rows. */
static weft_err_t reserve_rows(learned_ctx_t *c, size_t n)
{
    if (n <= c->cap_rows)
        return WEFT_OK;
    size_t cap = c->cap_rows ? c->cap_rows : 64;
    while (cap < n)
        cap *= 2;
    size_t E = gnn_out_dim(&c->m->gcfg);
    if (cap > SIZE_MAX / E)
        return weft_fail(WEFT_ENOMEM, "learned: %zu rows of %zu overflow", cap, E);
    weft_real_t *g = weft_reallocarray(c->gather, cap * E, sizeof *g);
    if (!g)
        return weft_fail(WEFT_ENOMEM, "learned: out of memory for %zu active coflows", cap);
    c->gather = g;
    size_t *p = weft_reallocarray(c->perm, cap, sizeof *p);
    if (!p)
        return weft_fail(WEFT_ENOMEM, "learned: out of memory for %zu active coflows", cap);
    c->perm = p;
    size_t **lists[4] = {&c->ids_copy, &c->row_node, &c->prev_in, &c->prev_out};
    for (size_t k = 0; k < 4; k++) {
        p = weft_reallocarray(*lists[k], cap, sizeof *p);
        if (!p)
            return weft_fail(WEFT_ENOMEM, "learned: out of memory for %zu active coflows", cap);
        *lists[k] = p;
    }
    c->cap_rows = cap;
    return WEFT_OK;
}

/* Makes the attention cache hold n rows: with the arrays of backward only
 * for the passes that need them (a training hook may run backward, the
 * libm kernels store the attention weights), as they take memory
 * quadratic in n that a decision never reads. */
static weft_err_t prepare_scorer(learned_ctx_t *c, size_t n)
{
    if (c->libm_attn || (c->hook && c->hook->decide))
        return attn_cache_prepare(&c->acache, &c->m->acfg, n);
    return attn_cache_prepare_infer(&c->acache, &c->m->acfg, n);
}

static weft_err_t learned_create(void **ctx, const coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    size_t nc = wl->n_coflows, nj = wl->n_jobs;
    learned_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return weft_fail(WEFT_ENOMEM, "out of memory for the learned policy");
    gnn_plan_init(&c->plan);
    gnn_cache_init(&c->gcache);
    attn_cache_init(&c->acache);
    c->hook = st->policy_hook;
    weft_err_t err = WEFT_OK;
    if (c->hook)
        c->m = c->hook->model;
    else if (st->model_path)
        err = coflow_learned_model_load(&c->own, st->model_path);
    else
        err = coflow_learned_model_random(&c->own, st->policy_seed);
    if (err)
        goto fail;
    if (!c->m)
        c->m = &c->own;
    c->job_order = weft_calloc(nj, sizeof *c->job_order);
    c->live = weft_calloc(nj, sizeof *c->live);
    c->in_live = weft_calloc(nj, sizeof *c->in_live);
    c->node_of = weft_calloc(nc, sizeof *c->node_of);
    c->pred_start = weft_calloc(nc + 1, sizeof *c->pred_start);
    c->pred = weft_calloc(wl->n_parents, sizeof *c->pred);
    c->node_job = weft_calloc(nc, sizeof *c->node_job);
    c->node_coflow = weft_calloc(nc, sizeof *c->node_coflow);
    c->job_work = weft_calloc(nj ? nj : 1, sizeof *c->job_work);
    c->job_cp = weft_calloc(nj ? nj : 1, sizeof *c->job_cp);
    c->path = weft_calloc(nc ? nc : 1, sizeof *c->path);
    c->X = nc <= SIZE_MAX / LF ? weft_calloc(nc * LF, sizeof *c->X) : NULL;
    c->changed = weft_calloc(nc, sizeof *c->changed);
    if (!c->job_order || !c->live || !c->in_live || !c->node_of || !c->pred_start ||
        !c->pred || !c->node_job || !c->node_coflow || !c->job_work || !c->job_cp || !c->path ||
        !c->X || !c->changed) {
        err = weft_fail(WEFT_ENOMEM, "out of memory for the learned policy (%zu coflows)", nc);
        goto fail;
    }
    for (size_t i = 0; i < nc; i++)
        c->node_of[i] = NONE;
    for (size_t j = 0; j < nj; j++)
        c->job_order[j] = j;
    arr_wl = wl;
    qsort(c->job_order, nj, sizeof *c->job_order, cmp_arrival);
    if (st->scores_out) {
        c->dump_net = weft_calloc(nc ? nc : 1, sizeof *c->dump_net);
        c->dump_row = weft_calloc(nc ? nc : 1, sizeof *c->dump_row);
        if (!c->dump_net || !c->dump_row) {
            err = weft_fail(WEFT_ENOMEM, "out of memory for the learned policy's --scores");
            goto fail;
        }
        write_scores_header(st->scores_out);
    }
    /* the first decisions need no allocation: room for a modest active set */
    size_t first = nc < 256 ? (nc ? nc : 1) : 256;
    if ((err = reserve_rows(c, first)) || (err = prepare_scorer(c, first)))
        goto fail;
    *ctx = c;
    return WEFT_OK;
fail:
    learned_destroy(c);
    return err;
}

/* --------------------------------------------------------------- decision */

/* log1p of x clamped to [0, DBL_MAX], so every feature keeps the bound
 * FEATURE_MAX the normaliser's check relies on: a ratio past the doubles
 * (job work / weight with a weight of 1e-320, which the workload format
 * accepts) is infinite, and an infinite feature made every score NaN
 * through the encoder's job and global summaries. NaN reads 0. */
static double q_log(double x, bool quantise)
{
    double v = log1p(x > 0 ? fmin(x, DBL_MAX) : 0);
    return quantise ? round(v * QSTEP) / QSTEP : v;
}

/* log of a prior's key clamped to [1e-9, DBL_MAX]: at most 710 in size,
 * as COFLOW_LEARNED_PRIOR_MAX assumes (an infinite key, a weight of
 * 1e-320, gave an infinite score); NaN reads 1e-9. */
static double log_key(double x)
{
    return log(x > 1e-9 ? fmin(x, DBL_MAX) : 1e-9);
}

/* The model trained on weights of 1 to 5 (weft gen's default), and its
 * ratios stay within 0.4% of each other over weights scaled by 0.01 to 100
 * (benchmarks/weight_scale.sh); but where the live jobs' largest weight is
 * far outside, its features of work per weight leave the training range
 * for good (saturating at the doubles' end below about 1e-300: every job
 * then alike). Weights are only read against each other (as the weighted
 * heuristics do, coflow_weight_exp), so there all of them are read times
 * the power of two that brings the largest to [4, 8); within 2^-20..2^21
 * as given, so such workloads keep their schedules bit for bit. */
#define WEIGHT_EXP_LO (-20)
#define WEIGHT_EXP_HI 20
#define WEIGHT_EXP_TRAINED 2

static int weight_exp(const learned_ctx_t *c, const coflow_workload_t *wl)
{
    double wmax = 0;
    for (size_t k = 0; k < c->n_live; k++)
        wmax = fmax(wmax, wl->jobs[c->live[k]].weight);
    if (!(wmax > 0))
        return 0;
    int e = ilogb(wmax);
    return e < WEIGHT_EXP_LO || e > WEIGHT_EXP_HI ? WEIGHT_EXP_TRAINED - e : 0;
}

/* A weight as this decision reads it: times 2^wexp, exact but where weights
 * over 2^1074 apart put the smallest below the doubles (kept at the least
 * one, as weights are positive). */
static double read_weight(const learned_ctx_t *c, double weight)
{
    return fmax(ldexp(weight, c->wexp), DBL_TRUE_MIN);
}

/* Updates the live-job list; returns true if it changed. */
static bool update_live(learned_ctx_t *c, const coflow_state_t *st, const size_t *ids, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    bool changed = false;
    while (c->next_job < wl->n_jobs && wl->jobs[c->job_order[c->next_job]].arrival_s <= st->now) {
        size_t j = c->job_order[c->next_job++];
        if (!c->in_live[j]) {
            c->in_live[j] = 1;
            c->live[c->n_live++] = j;
            changed = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t j = wl->coflows[ids[i]].job;
        if (!c->in_live[j]) {
            c->in_live[j] = 1;
            c->live[c->n_live++] = j;
            changed = true;
        }
    }
    /* drop finished jobs (every coflow DONE), keeping the order */
    size_t w = 0;
    for (size_t k = 0; k < c->n_live; k++) {
        size_t j = c->live[k];
        const coflow_job_t *job = &wl->jobs[j];
        bool done = true;
        for (size_t q = job->n_coflows; q-- > 0 && done;) /* sinks last: test them first */
            done = st->status[job->first_coflow + q] == COFLOW_DONE;
        if (done) {
            c->in_live[j] = 0;
            changed = true;
        } else {
            c->live[w++] = j;
        }
    }
    c->n_live = w;
    return changed;
}

/* Renumbers the nodes of the live jobs and rebuilds the plan. */
static weft_err_t rebuild_plan(learned_ctx_t *c, const coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    for (size_t v = 0; v < c->n_nodes; v++) /* forget the old numbering */
        c->node_of[c->node_coflow[v]] = NONE;
    size_t v = 0, e = 0;
    c->pred_start[0] = 0;
    for (size_t k = 0; k < c->n_live; k++) {
        const coflow_job_t *job = &wl->jobs[c->live[k]];
        size_t base = v;
        for (size_t q = 0; q < job->n_coflows; q++, v++) {
            size_t cf = job->first_coflow + q;
            const coflow_coflow_t *co = &wl->coflows[cf];
            c->node_of[cf] = v;
            c->node_coflow[v] = cf;
            c->node_job[v] = k;
            for (size_t r = 0; r < co->n_parents; r++)
                c->pred[e++] = base + (wl->parents[co->first_parent + r] - job->first_coflow);
            c->pred_start[v + 1] = e;
        }
    }
    c->n_nodes = v;
    c->plan_valid = false;
    c->fwd_valid = false;
    gnn_plan_destroy(&c->plan);
    gnn_plan_init(&c->plan);
    weft_err_t err = gnn_plan_build(&c->plan, v, c->n_live, c->pred_start, c->pred, c->node_job);
    if (!err)
        err = gnn_cache_prepare(&c->gcache, &c->m->gcfg, &c->plan);
    if (!err)
        c->plan_valid = true;
    return err;
}

/* How each feature is made from its raw value (node_raw): log1p, log1p
 * quantised to 1/QSTEP, the fraction quantised to 1/QFRAC, or as is. */
enum { K_LOG, K_QLOG, K_FRAC, K_PLAIN };
static const unsigned char feature_kind[LF] = {
    K_LOG, K_QLOG, K_LOG, K_LOG, K_LOG, K_LOG, K_QLOG, K_FRAC, K_PLAIN, K_PLAIN,
    K_PLAIN, K_LOG, K_LOG, K_LOG, K_LOG, K_QLOG, K_QLOG, K_QLOG, K_QLOG, K_QLOG,
};

/* Node cf's features before the log1p and the quantisation into raw[LF]:
 * bytes, counts, seconds, the fraction sent in [0, 1], 0/1 for the status. */
static void node_raw(const learned_ctx_t *c, coflow_state_t *st, size_t cf, size_t live_pos,
                     double *raw)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_coflow_t *co = &wl->coflows[cf];
    const coflow_job_t *job = &wl->jobs[co->job];
    uint8_t s = st->status[cf];
    double rem, rem_iso, since;
    if (s == COFLOW_ACTIVE) {
        rem = st->coflow_remaining[cf];
        rem_iso = coflow_state_remaining_iso(st, cf);
        since = st->now - st->release_s[cf];
    } else if (s == COFLOW_DONE) {
        rem = rem_iso = 0;
        since = st->finish_s[cf] - st->release_s[cf];
    } else {
        rem = co->total_bytes;
        rem_iso = co->iso_s;
        since = 0;
    }
    double frac = co->total_bytes > 0 ? 1 - rem / co->total_bytes : 0;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    double weight = read_weight(c, job->weight);
    double f[LF] = {
        co->total_bytes, rem, (double)co->n_flows, co->n_senders, co->n_receivers,
        co->iso_s, rem_iso, frac, s == COFLOW_WAITING, s == COFLOW_ACTIVE,
        s == COFLOW_DONE, co->wave, co->n_children, co->cp_below_s, weight,
        st->now - job->arrival_s, since, c->job_work[live_pos],
        c->job_work[live_pos] / weight, c->job_cp[live_pos] / weight,
    };
    memcpy(raw, f, sizeof f);
}

/* Computes node v's (coflow cf) normalised features into row[LF]. */
static void node_features(const learned_ctx_t *c, coflow_state_t *st, size_t cf,
                          size_t live_pos, weft_real_t *row)
{
    double raw[LF];
    node_raw(c, st, cf, live_pos, raw);
    for (size_t k = 0; k < LF; k++) {
        double f = feature_kind[k] == K_LOG    ? q_log(raw[k], false)
                   : feature_kind[k] == K_QLOG ? q_log(raw[k], true)
                   : feature_kind[k] == K_FRAC ? round(raw[k] * QFRAC) / QFRAC
                                               : raw[k];
        row[k] = (weft_real_t)(((float)f - c->m->mean[k]) / c->m->std[k]);
    }
}

/* The rows of the decision just taken: every node the encoder saw, in node
 * order (live jobs as they joined, each job's coflows by index), with its
 * raw and normalised features; the scored ones (rows 0..n) also with the
 * scorer's output, the score after the priors and their 1-based rank in
 * the order (c->perm). */
static void write_scores(learned_ctx_t *c, coflow_state_t *st, size_t n)
{
    static const char *const status_name[] = {"waiting", "active", "done"};
    const coflow_workload_t *wl = st->wl;
    FILE *out = st->scores_out;
    for (size_t v = 0; v < c->n_nodes; v++)
        c->dump_row[v] = NONE;
    for (size_t r = 0; r < n; r++)
        c->dump_row[c->node_of[c->ids_copy[c->perm[r]]]] = r;
    locale_t prev = weft_c_numbers_begin();
    for (size_t v = 0; v < c->n_nodes; v++) {
        size_t cf = c->node_coflow[v];
        const coflow_coflow_t *co = &wl->coflows[cf];
        double raw[LF];
        node_raw(c, st, cf, c->node_job[v], raw);
        uint8_t s = st->status[cf];
        fprintf(out, "%zu,%.17g,%lld,%lld,%s", c->n_decisions, st->now,
                (long long)wl->jobs[co->job].id, (long long)co->id,
                s == COFLOW_WAITING ? status_name[0]
                : s == COFLOW_ACTIVE ? status_name[1] : status_name[2]);
        for (size_t k = 0; k < LF; k++)
            fprintf(out, ",%.17g", raw[k]);
        for (size_t k = 0; k < LF; k++)
            fprintf(out, ",%.9g", (double)c->X[v * LF + k]);
        size_t r = c->dump_row[v];
        if (r == NONE) {
            fputs(",,,\n", out);
            continue;
        }
        size_t i = c->perm[r];
        fprintf(out, ",%.9g,%.9g,%zu\n", (double)c->dump_net[i],
                (double)c->acache.scores[i], r + 1);
    }
    weft_c_numbers_end(prev);
}

/* EINVAL naming the first of the n scores that is not finite. With every
 * feature bounded and the model's floats finite (checked at load), only
 * weights whose sums overflow a float give one, and the argsort of a NaN
 * is an arbitrary order: failing says so, where falling back to the
 * prior's order would run another policy under this one's name. */
static weft_err_t check_scores(const learned_ctx_t *c, const coflow_state_t *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double s = c->acache.scores[i];
        if (isfinite(s))
            continue;
        const coflow_coflow_t *co = &st->wl->coflows[c->ids_copy[i]];
        return weft_fail(WEFT_EINVAL, "the model scored coflow %lld of job %lld %g, expected "
                         "a finite number (its weights overflow a float on these features)",
                         (long long)co->id, (long long)st->wl->jobs[co->job].id, s);
    }
    return WEFT_OK;
}

/* qsort has no context in C11: the comparison reads these. */
static _Thread_local const double *rows_path, *rows_release;

static int cmp_rows(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (rows_path[x] != rows_path[y])
        return rows_path[x] > rows_path[y] ? -1 : 1;
    if (rows_release[x] != rows_release[y])
        return rows_release[x] < rows_release[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Sorts coflow ids by path[id] descending, then release_s[id], then id. */
static void rows_by_path(size_t *ids, size_t n, const double *path, const double *release_s)
{
    rows_path = path;
    rows_release = release_s;
    qsort(ids, n, sizeof *ids, cmp_rows);
}

static weft_err_t learned_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    learned_ctx_t *c = ctx;
    coflow_learned_timing_t *tm = &c->timing;
    memset(tm, 0, sizeof *tm);
    c->n_decisions++;
    c->n_scored = 0;
    weft_err_t err = WEFT_OK;
    if (n == 0)
        return WEFT_OK;
    if (n == 1 && c->mode == COFLOW_LEARNED_AUTO && !(c->hook && c->hook->decide)) {
        /* one coflow has one order: nothing to score (a job that is one
           long chain would otherwise embed every coflow of it at each of
           its decisions). The network's rows catch up at the next
           decision with a choice: each is recomputed from the features
           then, whatever happened in between. A training hook still sees
           every decision, and the FULL and NAIVE modes, references for
           tests, still score it. */
        tm->alone = true;
        if (c->m->set_changes_only) {
            if ((err = reserve_rows(c, 1)))
                return err;
            c->prev_in[0] = c->prev_out[0] = ids[0];
            c->prev_n = 1;
        }
        return WEFT_OK;
    }
    if (c->m->set_changes_only && n == c->prev_n &&
        memcmp(ids, c->prev_in, n * sizeof *ids) == 0) {
        /* the same schedulable set as last time: keep its order */
        memcpy(ids, c->prev_out, n * sizeof *ids);
        return WEFT_OK;
    }
    const coflow_workload_t *wl = st->wl;
    double t0 = weft_mono_s();

    /* 1-3: live jobs, nodes, features */
    bool rebuild = update_live(c, st, ids, n) || !c->plan_valid;
    c->wexp = weight_exp(c, wl);
    if (rebuild) {
        if ((err = rebuild_plan(c, st)))
            goto fail;
        tm->plan_rebuilt = true;
    }
    size_t n_changed = 0;
    weft_real_t row[LF];
    /* job-level features first: the work summed as jsebf sums it
       (coflow_keyctx_job_work: the waiting coflows' kept sum, then the
       active ones in the order of ids), so the prior below is its key */
    for (size_t k = 0; k < c->n_live; k++) {
        c->job_work[k] = coflow_state_waiting_iso(st, c->live[k]);
        c->job_cp[k] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = c->node_job[c->node_of[ids[i]]];
        c->job_work[k] += coflow_state_remaining_iso(st, ids[i]);
        double p = coflow_remaining_path(st, ids[i]);
        c->job_cp[k] = p > c->job_cp[k] ? p : c->job_cp[k];
    }
    for (size_t k = 0; k < c->n_live; k++) {
        const coflow_job_t *job = &wl->jobs[c->live[k]];
        for (size_t q = 0; q < job->n_coflows; q++) {
            size_t cf = job->first_coflow + q, v = c->node_of[cf];
            node_features(c, st, cf, k, row);
            weft_real_t *x = c->X + v * LF;
            if (rebuild || memcmp(row, x, sizeof row) != 0) {
                memcpy(x, row, sizeof row);
                c->changed[n_changed++] = v;
            }
        }
    }
    if ((err = reserve_rows(c, n)))
        goto fail;
    tm->n_nodes = c->n_nodes;
    tm->n_active = n;
    tm->n_changed = n_changed;
    double t1 = weft_mono_s();

    /* 4: embedding */
    bool full = !c->fwd_valid || c->mode != COFLOW_LEARNED_AUTO || 2 * n_changed > c->n_nodes;
    if (full) {
        if (c->mode == COFLOW_LEARNED_NAIVE)
            gnn_forward_naive(&c->gcache, &c->m->gp, &c->m->gcfg, &c->plan, c->X);
        else
            gnn_forward(&c->gcache, &c->m->gp, &c->m->gcfg, &c->plan, c->X);
        c->fwd_valid = true;
    } else if (n_changed > 0) {
        if ((err = gnn_forward_incremental(&c->gcache, &c->m->gp, &c->m->gcfg, &c->plan, c->X,
                                           c->changed, n_changed)))
            goto fail;
        tm->incremental = true;
    }
    double t2 = weft_mono_s();

    /* 5: scores of the active coflows, rows by longer remaining path, then
       release, then index (feature set 4), so that equal scores -- all of
       one job's under an untrained residual -- fall in jsebf-cp's order */
    size_t E = gnn_out_dim(&c->m->gcfg);
    if (c->m->set_changes_only)
        memcpy(c->prev_in, ids, n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        c->ids_copy[i] = ids[i];
        c->path[ids[i]] = coflow_remaining_path(st, ids[i]);
    }
    rows_by_path(c->ids_copy, n, c->path, st->release_s);
    for (size_t i = 0; i < n; i++) {
        size_t v = c->node_of[c->ids_copy[i]];
        memcpy(c->gather + i * E, c->gcache.out + v * E, E * sizeof *c->gather);
    }
    if ((err = prepare_scorer(c, n)))
        goto fail;
    if (c->libm_attn)
        attn_forward_libm(&c->acache, &c->m->ap, &c->m->acfg, c->gather, n);
    else if (c->hook && c->hook->decide) /* keeps the attention weights: the hook may run
                                            backward */
        attn_forward(&c->acache, &c->m->ap, &c->m->acfg, c->gather, n);
    else
        attn_forward_infer(&c->acache, &c->m->ap, &c->m->acfg, c->gather, n);
    if (c->dump_net)
        memcpy(c->dump_net, c->acache.scores, n * sizeof *c->dump_net);
    if (c->m->prior > 0) /* the teacher prior; attn_backward never reads scores */
        for (size_t i = 0; i < n; i++) {
            const coflow_coflow_t *co = &wl->coflows[c->ids_copy[i]];
            double key = c->job_work[c->node_job[c->node_of[c->ids_copy[i]]]] /
                         read_weight(c, wl->jobs[co->job].weight);
            double path = c->path[c->ids_copy[i]];
            c->acache.scores[i] -= (weft_real_t)(c->m->prior * log_key(key) -
                                                 c->m->prior_path * log_key(path));
        }
    /* a training hook chooses its own order, and the trainer reports scores
       gone NaN as divergence (its loss or gradient), with the step to blame */
    if (!(c->hook && c->hook->decide) && (err = check_scores(c, st, n)))
        goto fail;
    double t3 = weft_mono_s();

    /* 6: descending score; ties to the earlier row (path, release, index);
       or whatever the training hook chooses */
    if (c->hook && c->hook->decide) {
        for (size_t i = 0; i < n; i++)
            c->row_node[i] = c->node_of[c->ids_copy[i]];
        coflow_learned_step_t step = {
            .st = st, .ids = c->ids_copy, .n = n, .scores = c->acache.scores,
            .row_node = c->row_node, .n_nodes = c->n_nodes, .plan = &c->plan,
            .gcache = &c->gcache, .acache = &c->acache, .model = c->m};
        c->hook->decide(c->hook->arg, &step, c->perm);
    } else {
        attn_argsort_desc(c->acache.scores, n, c->perm);
        c->n_scored = n;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = c->ids_copy[c->perm[i]];
    if (c->m->set_changes_only) {
        memcpy(c->prev_out, ids, n * sizeof *ids);
        c->prev_n = n;
    }
    if (c->dump_row)
        write_scores(c, st, n);
    double t4 = weft_mono_s();
    tm->features_s = t1 - t0;
    tm->embed_s = t2 - t1;
    tm->attn_s = t3 - t2;
    tm->sort_s = t4 - t3;
    return WEFT_OK;
fail:
    /* nothing scored: no order to give; retry from scratch next time */
    c->plan_valid = false;
    c->fwd_valid = false;
    c->prev_n = 0;
    return weft_wrap(err, "scoring %zu schedulable coflows: ", n);
}

/* coflow_ordering_t.carry_order: with set_changes_only, the order to keep
 * while the ids given are in[0..n). */
static void learned_carry_order(void *ctx, const size_t *in, const size_t *out, size_t n)
{
    learned_ctx_t *c = ctx;
    if (!c->m->set_changes_only || n == 0 || reserve_rows(c, n) != WEFT_OK)
        return;
    memcpy(c->prev_in, in, n * sizeof *in);
    memcpy(c->prev_out, out, n * sizeof *out);
    c->prev_n = n;
}

/* coflow_ordering_t.last_scores: the scores the last order() sorted by,
 * which acache keeps until the next scoring. */
static bool learned_last_scores(const void *ctx, double *scores, size_t n)
{
    const learned_ctx_t *c = ctx;
    if (c->n_scored == 0 || c->n_scored != n)
        return false;
    for (size_t i = 0; i < n; i++)
        scores[i] = (double)c->acache.scores[c->perm[i]];
    return true;
}

void coflow_learned_set_mode(void *ctx, coflow_learned_mode_t mode)
{
    learned_ctx_t *c = ctx;
    c->mode = mode;
}

void coflow_learned_set_libm_attention(void *ctx, bool libm)
{
    learned_ctx_t *c = ctx;
    c->libm_attn = libm;
}

void coflow_learned_last_timing(const void *ctx, coflow_learned_timing_t *t)
{
    const learned_ctx_t *c = ctx;
    *t = c->timing;
}

size_t coflow_learned_n_features(void) { return LF; }

const coflow_ordering_t coflow_learned = {
    .name = "learned",
    .description = "DAGNN encoder + self-attention scorer, highest score first "
                   "(the shipped model, --model FILE, or random from --seed)",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = learned_create,
    .destroy = learned_destroy,
    .order = learned_order,
    .carry_order = learned_carry_order,
    .last_scores = learned_last_scores,
};
