/*
 * loss.h - the training losses' gradients with respect to one decision's
 * scores (train.c's task_decide calls them; dscores then goes back through
 * the scorer and the encoder). Internal to train/ and its tests: apart
 * from train.c, tests/test_train_f64.c builds this file in double
 * (weftnn64) to check every gradient here against central finite
 * differences of its objective.
 *
 * Each adds coef × the gradient of an objective to maximise (a
 * log-likelihood, an advantage-weighted log-probability plus entropy) into
 * dscores [n], and returns the objective where it computes one. Sums are
 * in double whatever weft_real_t is.
 */
#ifndef TRAIN_LOSS_H
#define TRAIN_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "common/nn_real.h"

/* logsumexp of the scores not masked (mask[j] == 0), the max subtracted;
 * subtracts coef × their softmax from dscores (the normaliser's share of
 * a gradient). -inf, and nothing subtracted, when every score is masked.
 * O(n). */
double train_lse_left(const weft_real_t *s, size_t n, const uint8_t *mask, double coef,
                      weft_real_t *dscores);

/* Top-k Plackett–Luce log-likelihood of order[0..k) (the first k picks of
 * a full order; k >= n is attn_pl_logprob): Σ_{i<k} [s_πi − lse(s over
 * what is left before pick i)]; adds coef × its gradient into dscores
 * (d/ds_j = Σ_{i<k} [1{j = π_i} − 1{j left at i} · softmax_i(j)]). mask
 * [n] scratch. O(n k). Under strict priorities the head of the order
 * decides most of the rates. */
double train_topk_pl(const weft_real_t *s, size_t n, const size_t *order, size_t k, double coef,
                     weft_real_t *dscores, uint8_t *mask);

/* Imitation loss, second half: a Plackett–Luce likelihood over the
 * teacher's first k *runs*, a run being consecutive coflows of one job in
 * its order. The DAG-aware heuristics rank jobs and break ties inside a job by release
 * order, which no score could (nor should) reproduce; so each run is one
 * choice whose probability is the softmax mass of its coflows among all
 * that are left: Σ_{g<k} [lse(s over run g) − lse(s over runs g, g+1, …)],
 * and coef × its gradient goes into dscores (for c in run g: +softmax_g(c);
 * for every c left: −softmax_left(c)). job [n] the job of each row, mask
 * [n] scratch. O(n k). */
double train_topk_runs(const weft_real_t *s, size_t n, const size_t *order, const size_t *job,
                       size_t k, double coef, weft_real_t *dscores, uint8_t *mask);

/* An imitation or DAgger decision: the teacher's order[0..n) of the rows,
 * job [n] the job of each row. Adds the gradient of the log-likelihood of
 * its first topk picks plus that of its order of jobs (all its runs) into
 * dscores; the two log-likelihoods into *lp_head and *lp_runs (apart, as
 * the trainer sums them into its loss one at a time). mask [n] scratch. */
void train_imitation_grad(const weft_real_t *s, size_t n, const size_t *order,
                          const size_t *job, size_t topk, weft_real_t *dscores, uint8_t *mask,
                          double *lp_head, double *lp_runs);

/* A REINFORCE decision that sampled order[0..n): adds the gradient of
 * adv × log P(order) + ent_coef × (entropy of the first pick) into dscores
 * (a zero adv or ent_coef adds nothing for its term). work [n] scratch. */
void train_reinforce_grad(const weft_real_t *s, size_t n, const size_t *order, double adv,
                          double ent_coef, weft_real_t *dscores, double *work);

#endif
