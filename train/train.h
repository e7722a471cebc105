/*
 * train.h - training the learned ordering (DESIGN §6) in the emulator.
 *
 * Three phases, one after the other, each an iteration count:
 *   1. imitation: the episode is driven by a teacher heuristic (e.g.
 *      jsebf); at every decision the policy's gradient is that of the
 *      Plackett–Luce log-likelihood of the teacher's first imitate_topk
 *      picks plus that of its order of jobs (behaviour cloning;
 *      train/loss.c, train_topk_pl and train_topk_runs);
 *   2. DAgger (Ross, Gordon & Bagnell 2011): the same loss, but the episode
 *      follows the policy's own greedy order, so it learns the teacher's
 *      answer in the states it reaches itself;
 *   3. REINFORCE (Williams 1992): K rollouts of each arrival sequence
 *      sample orders from the Plackett–Luce distribution of the scores
 *      (Gumbel top-k from a per-rollout seed); the advantage of decision k
 *      of rollout r is its return-to-go G_r(t_k) minus the mean over the K
 *      rollouts of their return-to-go at the same time t_k (Decima's
 *      input-dependent, time-based baseline, Mao et al. 2019), where
 *      G_r(t) = -Σ_j w_j · max(0, finish_rj - max(arrival_j, t)) is minus
 *      the weighted job time still to come after t; with differential
 *      rewards the average weighted number of jobs in the system (an
 *      average over past iterations) is added back per unit of time, so
 *      long episodes do not drown the signal in their tails. Plus an
 *      entropy bonus on the first pick that decays each iteration.
 * Every phase: gradients of all episodes summed in task order (so the
 * result does not depend on which thread ran what), clipped to a global
 * norm, one Adam step. A curriculum grows the episode length (jobs) from
 * jobs_min to jobs_max over curriculum_iters iterations.
 *
 * Episodes are windows of jobs_n consecutive jobs (by arrival) of a
 * workload drawn from the training pool; the window and the pool entry
 * come from a generator seeded by (seed, iteration), and each rollout's
 * sampling by (seed, iteration, episode, rollout): the run is a function of
 * the seed and the pool, whatever the thread count, and a run resumed from
 * a checkpoint ends with the same parameters as an uninterrupted one.
 *
 * The two rollout passes of REINFORCE: the advantage of a decision needs
 * the whole episode and the other rollouts, so a first pass only samples
 * and records decision times; the second replays the same seed (the same
 * scores, so the same orders: checked by a hash per decision) and
 * back-propagates each decision with its advantage while its activations
 * are live.
 */
#ifndef TRAIN_H
#define TRAIN_H

#define TRAIN_MAX_RUNS 1000000

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coflow/learned.h"

typedef struct {
    uint64_t seed;            /* everything random derives from it */
    size_t threads;           /* rollout threads, >= 1 */
    size_t iterations;        /* total iterations of all phases */
    size_t imitate_iters;     /* phase 1 length */
    size_t dagger_iters;      /* phase 2 length; REINFORCE after */
    const char *teacher;      /* ordering imitated (registered name) */
    size_t episodes;          /* arrival sequences per iteration, >= 1 */
    size_t rollouts;          /* REINFORCE rollouts per sequence, >= 2 */
    /* episodes x rollouts at most TRAIN_MAX_RUNS (emulator runs an
       iteration), so a typo is refused before the work, not out of
       memory after the reference runs */
    size_t jobs_min, jobs_max;/* curriculum on episode length (jobs) */
    size_t curriculum_iters;  /* iterations to go from jobs_min to jobs_max */
    double lr_imitate;        /* Adam learning rate at the start of phases 1-2, decaying
                                 linearly toward a tenth of it: x (1 - 0.9 i/n) at
                                 their iteration i of n (0-based) */
    size_t imitate_topk;      /* phases 1-2 fit the teacher's first k picks (top-k
                                 Plackett–Luce) plus its order of jobs (runs of one
                                 job's coflows, all of them), >= 1 */
    double lr_rl;             /* Adam learning rate at the start of phase 3 */
    double lr_rl_end;         /* ... going linearly to this at its last iteration
                                 (0: constant lr_rl) */
    double clip;              /* global gradient-norm bound, > 0 */
    double entropy;           /* entropy bonus at the first REINFORCE iteration */
    double entropy_decay;     /* multiplied in every REINFORCE iteration, in (0, 1] */
    bool differential;        /* differential rewards (see above) */
    const char *allocator;    /* rate allocation of the episodes ("madd") */
    size_t validate_every;    /* iterations between the caller's validations, >= 1: no
                                 iteration reads it, but which models can be the best
                                 does, so a checkpoint records it for a resume */
} train_config_t;

/* Defaults: seed 1, 2 threads, 60 iterations (20 imitation, 20 DAgger),
 * teacher jsebf, 4 episodes, 4 rollouts, 10..40 jobs over 30 iterations,
 * lr 3e-3 / 3e-4, top-8 imitation, clip 1, entropy 0.01 decaying 0.97, differential on,
 * madd, validated every 5 iterations. */
void train_config_default(train_config_t *c);

/* EINVAL naming the field and value for an out-of-range setting or an
 * unknown teacher or allocator. */
weft_err_t train_config_check(const train_config_t *c);

typedef enum { TRAIN_IMITATE = 0, TRAIN_DAGGER = 1, TRAIN_REINFORCE = 2 } train_phase_t;

/* What one iteration did. */
typedef struct {
    size_t iter;          /* 0-based iteration just done */
    train_phase_t phase;
    size_t jobs;          /* episode length (curriculum) */
    size_t rollouts;      /* emulator episodes run (REINFORCE: first passes) */
    double mean_return;   /* mean over rollouts of -Σ w·JCT / jobs (= -avg weighted JCT) */
    double avg_wjct;      /* mean over rollouts of the average weighted JCT, s */
    double teacher_ratio; /* imitation/DAgger: that over the teacher's on the same episodes;
                             REINFORCE: NaN */
    double loss;          /* imitation/DAgger: mean NLL of the teacher's order per
                             decision; REINFORCE: NaN */
    double entropy;       /* mean first-pick entropy of the decisions */
    double grad_norm;     /* before clipping */
    size_t decisions;     /* decisions scored in all rollouts */
    size_t replay_mismatches; /* REINFORCE second passes whose orders differed */
    double wall_s;        /* wall time of the iteration */
} train_stats_t;

/* The trainer: the model, Adam's moments, the counters and the data. */
typedef struct {
    train_config_t cfg;
    coflow_learned_model_t model;  /* being trained */
    gnn_params_t gm, gv;           /* Adam moments of the encoder */
    attn_params_t am, av;          /* ... and of the scorer */
    gnn_params_t gg;               /* summed gradient of an iteration */
    attn_params_t ga;
    uint64_t step;                 /* Adam steps taken */
    size_t iter;                   /* iterations done */
    double rate_ema;               /* differential rewards: average weighted jobs in
                                      the system; NaN before the first estimate */
    double best_val;               /* lowest validation ratio seen; INFINITY */
    size_t best_iter;              /* iteration that gave it */
    gnn_params_t bg;               /* the model's parameters at best_iter (train_keep_best), */
    attn_params_t ba;              /* ... kept so a checkpoint carries the best model */
    bool has_best;                 /* bg and ba hold them */
    const coflow_workload_t *pool; /* [n_pool] training workloads, borrowed */
    size_t n_pool;
    const coflow_workload_t *val;  /* [n_val] validation workloads, borrowed (the
                                      caller's to set; checkpoints record them, as
                                      best_val was measured on them) */
    size_t n_val;
} train_t;

/* Takes ownership of *model (set_changes_only is turned on) and borrows
 * pool (analysed workloads, kept alive by the caller). ENOMEM/EINVAL. */
weft_err_t train_init(train_t *t, const train_config_t *cfg, coflow_learned_model_t *model,
                      const coflow_workload_t *pool, size_t n_pool);
void train_destroy(train_t *t);

/* Phase of iteration i. */
train_phase_t train_phase(const train_config_t *cfg, size_t i);
/* Episode length of iteration i. */
size_t train_jobs(const train_config_t *cfg, size_t i);

/* Runs iteration t->iter and advances it. ENOMEM, or an emulator error;
 * EINVAL naming the iteration and phase if the run diverges (a NaN or
 * infinite loss or gradient norm, or parameters or moments that would
 * become one): t is then left as before the call. */
weft_err_t train_iteration(train_t *t, train_stats_t *stats);

/* Records a validation ratio of the current model: if it is below
 * best_val, the model becomes the best (best_val, best_iter, its parameters
 * into bg and ba). Whether it did. O(parameters), never fails. */
bool train_keep_best(train_t *t, double ratio);

/* The best model (the current one with the parameters of best_iter) into
 * empty out. ENOTFOUND when none is known (has_best false), ENOMEM. */
weft_err_t train_best_model(const train_t *t, coflow_learned_model_t *out);

/* Average weighted JCT of each workload under the model's greedy order
 * (threads in parallel), into wjct [n]; scaled_wjct [n], unless NULL, as
 * train_evaluate_policy's. */
weft_err_t train_evaluate(const coflow_learned_model_t *model, const char *allocator,
                          const coflow_workload_t *wls, size_t n, size_t threads, double *wjct,
                          double *scaled_wjct);

/* The same for a registered ordering (with its default allocator when
 * allocator is NULL); model_path: the learned ordering's model file (NULL:
 * random from seed 0); every port at port_rate bytes/s (training's is
 * WEFT_GBPS_BYTES; wls analysed at the same rate). scaled_wjct [n], unless
 * NULL: the same averages over each workload's weights scaled by
 * 2^-coflow_workload_weight_exp, whose ratios between policies on one
 * workload hold for weights down to 5e-324 (the same ratios, to the bit,
 * wherever the products w x JCT are normal doubles). */
weft_err_t train_evaluate_policy(const char *ordering, const char *allocator,
                                 const char *model_path, const coflow_workload_t *wls, size_t n,
                                 size_t threads, double port_rate, double *wjct,
                                 double *scaled_wjct);

/* The BLAS kernels training runs on, as OpenBLAS names them ("Haswell",
 * "SkylakeX", ...; the environment's OPENBLAS_CORETYPE picks others). Their
 * sums round differently, and REINFORCE amplifies any difference, so a
 * model is reproducible bit for bit only with the same kernels. */
const char *train_blas_kernels(void);

/* Checkpoint: the model, Adam's moments, step, iteration, the reward
 * average, the best validation and, when known, the best model's
 * parameters (train.best.gnn, train.best.attn: a run resumed in another
 * directory writes its best.msgpack from them; checkpoints of older builds
 * lack them, and load then leaves has_best false), the seed, every setting
 * the result depends on (train_config_t but the threads) and a hash of the
 * training pool, in one model file (msgpack; `weft sim --model` reads it
 * as a model), with a format number (train.format, 2). Load refuses,
 * naming the file and the field, and leaving t as it was: a file of
 * another format (format 1 stored no settings), a NaN or infinity
 * anywhere, negative second moments, counters out of order, and a seed,
 * setting, teacher prior, pool or parameter shapes that differ from t's
 * (validate_every only when both the checkpoint's run and t validate, and
 * the checkpoint records it, as checkpoints before 2026-12-05 do not;
 * the iteration count only when lr_rl_end > 0, whose schedule spans it:
 * with a constant rate a run can be resumed with more iterations; the
 * teacher, lr_imitate and imitate_topk only when imitate_iters or
 * dagger_iters is not 0: no iteration reads them otherwise). */
weft_err_t train_checkpoint_save(const train_t *t, const char *path);
weft_err_t train_checkpoint_load(train_t *t, const char *path);
/* Whether train_checkpoint_load(t, path) would take the checkpoint, t left
 * as it is: WEFT_OK when path is a checkpoint of t's run (its seed,
 * settings, workloads and priors; at any iteration), else load's error. */
weft_err_t train_checkpoint_check(const train_t *t, const char *path);

/* Whether model file mf (as attn_model_load reads it) is a training
 * checkpoint: it holds the train.* entries train_checkpoint_save adds to
 * the model (any format of them). O(entries). */
bool train_file_is_checkpoint(const attn_model_file_t *mf);

/* Whether checkpoint mf holds a best model: its run validated (--val) and
 * wrote that model to best.msgpack beside it; a run without --val has
 * none. O(entries). */
bool train_checkpoint_has_best(const attn_model_file_t *mf);

/* A checkpoint's run in words, for `weft model`: into progress (n_progress
 * bytes, cut there) "iteration I of N (Adam step S); best validation R at
 * iteration B; P training and V --val workloads (recorded as hashes)", and
 * into options (n_options bytes) the weft train options the run had, so
 * the ones to resume it ("--seed 1 --iters 40 --imitate 0 ... --allocator
 * madd", --prior and --prior-path from m, the checkpoint's model), each
 * number printed so it reads back as the same value (a resume compares
 * them exactly). mf is the checkpoint file as attn_model_load reads it.
 * EVERSION for a checkpoint of format 1 (it records no settings),
 * ENOTFOUND or EINVAL for a missing or damaged entry, naming path. */
weft_err_t train_checkpoint_describe(const attn_model_file_t *mf, const char *path,
                                     const coflow_learned_model_t *m, char *progress,
                                     size_t n_progress, char *options, size_t n_options);

/* A window of n consecutive jobs of src by arrival, from the first-th to
 * arrive (0-based; equal arrivals in src's order, whatever order src
 * lists its jobs in), in arrival order and shifted so the first arrives
 * at 0, analysed for fab, into uninitialised dst. O(J log J) for src's J
 * jobs, plus the window's size. */
weft_err_t train_window(coflow_workload_t *dst, const coflow_workload_t *src, size_t first,
                        size_t n, const coflow_fabric_t *fab);

const char *train_phase_name(train_phase_t p);

#endif
