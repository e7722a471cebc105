/*
 * learned.h - the learned ordering's model in memory and the hook through
 * which training drives it (train/). Users of the emulator need only
 * coflow.h; this header adds what a trainer needs: the parameters, the
 * caches of a decision, and a callback that picks the order.
 *
 * A second public header of coflow/ because it pulls in gnn/ and
 * attention/, which nothing else of coflow.h's users needs.
 */
#ifndef COFLOW_LEARNED_H
#define COFLOW_LEARNED_H

#include <stdbool.h>

#include "attention/attn.h"
#include "coflow/coflow.h"
#include "gnn/gnn.h"

/* Features per coflow node (coflow/learned.c lists them). */
#define COFLOW_LEARNED_NF 20

/* The whole policy: encoder, scorer, feature normalisation and how often
 * it decides. Caller-owned; init then one of random/load, destroy. */
typedef struct {
    gnn_config_t gcfg;
    attn_config_t acfg;
    gnn_params_t gp;
    attn_params_t ap;
    float mean[COFLOW_LEARNED_NF]; /* subtracted from each log1p feature */
    float std[COFLOW_LEARNED_NF];  /* then divided by this, > 0 */
    /* true: score and re-order only when the set of schedulable coflows
     * changes (an arrival, a release, a finish), keeping the last order in
     * between; false: at every emulator decision. Trained models set it
     * (decisions where nothing but time moved teach little and cost the
     * most); stored in the model file as "learned.set_changes_only". */
    bool set_changes_only;
    /* Weight of the teacher prior (feature set 3): every schedulable
     * coflow's score is the scorer's output plus prior × −log(its job's
     * remaining work / weight), jsebf's key (the unquantised feature 18).
     * 0: the network alone. With the score head at zero the greedy order is
     * then jsebf's between jobs and, since feature set 4, jsebf-cp's inside
     * one (equal scores to the longer remaining path, then the earlier
     * release), so training starts at the teacher and learns a residual. Stored as the vector
     * "learned.prior" of one entry: 0, or within COFLOW_LEARNED_PRIOR_MIN..MAX. */
    float prior;
    /* Weight of the path prior (feature set 4): every schedulable coflow's
     * score also gets prior_path × log(its remaining path: remaining
     * bottleneck time plus the heaviest path below it), so inside a job the
     * coflow that gates the longest chain is preferred, as jsebf-cp does,
     * by a margin the scorer's early noise does not undo. Stored as
     * "learned.prior_path", one entry: 0 (none), or within
     * COFLOW_LEARNED_PRIOR_MIN..MAX with a prior > 0 (a file with a path
     * prior and no teacher prior is refused: it would not be added). */
    float prior_path;
} coflow_learned_model_t;

/* Empty model (destroy is safe). */
void coflow_learned_model_init(coflow_learned_model_t *m);
void coflow_learned_model_destroy(coflow_learned_model_t *m);

/* Default sizes, random parameters from seed, default normalisation.
 * ENOMEM. m must be empty (init or destroyed). */
weft_err_t coflow_learned_model_random(coflow_learned_model_t *m, uint64_t seed);

/* The range of a prior weight (prior, prior_path) other than 0. A model
 * holds it as a float, where a weight below the smallest normal float
 * loses its digits (1e-50 became 0, a prior no more) and one past about
 * 3.4e38 becomes infinity; and the score it weighs, weight × log(a double
 * key, at most 710 in size), must fit a float too: at 1e30 it is under
 * 1e33. */
#define COFLOW_LEARNED_PRIOR_MIN 1.17549435e-38 /* FLT_MIN */
/* 1e30 as the float a model holds for it (1.00000002e30): with the double
 * 1e30 as the end, `weft train --prior 1e30` wrote a model no loader took */
#define COFLOW_LEARNED_PRIOR_MAX ((double)1e30f)

/* EINVAL unless prior weight w is 0 or within COFLOW_LEARNED_PRIOR_MIN..MAX,
 * naming it as `what` ("--prior", "learned.prior", ...). */
weft_err_t coflow_learned_check_prior(const char *what, double w);

/* Turns m into a residual of the teacher: prior weights `prior` and
 * `prior_path` and the score head (attn.head.w, attn.head.b) zeroed, so the
 * scorer adds 0 to every score until trained. EINVAL for a prior not > 0
 * or a prior_path not >= 0, or either out of coflow_learned_check_prior's
 * range. */
weft_err_t coflow_learned_model_make_residual(coflow_learned_model_t *m, double prior,
                                              double prior_path);

/* Reads a model file (msgpack) into empty m; every error names path (and
 * the tensor, vector or int at fault). A NaN or infinity in any tensor or
 * vector of the file is refused (EINVAL, with its element). m stays empty
 * on error. */
weft_err_t coflow_learned_model_load(coflow_learned_model_t *m, const char *path);
/* The same, leaving the file's entries in mf (attn_model_init'ed by the
 * caller, who destroys it whatever the result) for what else it holds: a
 * checkpoint's train.* entries. */
weft_err_t coflow_learned_model_read(coflow_learned_model_t *m, attn_model_file_t *mf,
                                     const char *path);
/* The same from an already parsed file (checkpoints carry more entries);
 * path only names the file in errors. */
weft_err_t coflow_learned_model_from_file(coflow_learned_model_t *m, const attn_model_file_t *mf,
                                          const char *path);

/* Stores m in mf (added to what it holds) / writes it to path. */
weft_err_t coflow_learned_model_to_file(const coflow_learned_model_t *m, attn_model_file_t *mf);
weft_err_t coflow_learned_model_save(const coflow_learned_model_t *m, const char *path);

/* Deep copy into empty dst. ENOMEM. */
weft_err_t coflow_learned_model_copy(coflow_learned_model_t *dst,
                                     const coflow_learned_model_t *src);

/* One decision of a hooked learned ordering, after the forward passes:
 * the caches hold the activations, so the hook may run attn_backward and
 * gnn_backward on them before returning. */
typedef struct {
    coflow_state_t *st;                  /* the live state (now, statuses) */
    const size_t *ids;                   /* [n] schedulable coflows; row i = ids[i] */
    size_t n;
    const weft_real_t *scores;           /* [n] score of each row */
    const size_t *row_node;              /* [n] encoder node (row of gcache->out) of row i */
    size_t n_nodes;                      /* rows of gcache->out */
    const gnn_plan_t *plan;              /* the encoder's graph */
    gnn_cache_t *gcache;                 /* encoder activations, out [n_nodes, E] */
    attn_cache_t *acache;                /* scorer activations (with attention weights) */
    const coflow_learned_model_t *model; /* the parameters the passes used */
} coflow_learned_step_t;

/* Set netsim_opts_t.policy_hook (or coflow_state_t.policy_hook) to one of
 * these to run the learned ordering with an in-memory model and let decide
 * choose each order: it writes order[0..n), a permutation of the rows
 * 0..n-1, highest priority first. Borrowed for the whole run; the hook is
 * called on the emulator's thread. With decide NULL the ordering orders by
 * its scores as with a model file: a driver that creates the ordering
 * again and again (the gateway, at every rebuild) loads the model once. */
typedef struct {
    const coflow_learned_model_t *model;
    void (*decide)(void *arg, const coflow_learned_step_t *step, size_t *order);
    void *arg;
} coflow_learned_hook_t;

#endif
