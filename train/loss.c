/*
 * loss.c - the imitation and REINFORCE gradients of one decision's scores
 * (loss.h). Builds in float for the library and in double for the
 * finite-difference tests (tests/test_train_f64.c), so it reads nothing
 * but the scores and the attention module's Plackett–Luce functions.
 */
#include "train/loss.h"

#include <math.h>
#include <string.h>

#include "attention/attn.h"

double train_lse_left(const weft_real_t *s, size_t n, const uint8_t *mask, double coef,
                      weft_real_t *dscores)
{
    double mx = -INFINITY, z = 0;
    for (size_t j = 0; j < n; j++)
        if (!mask[j] && s[j] > mx)
            mx = s[j];
    for (size_t j = 0; j < n; j++)
        if (!mask[j])
            z += exp(s[j] - mx);
    double lse = mx + log(z);
    for (size_t j = 0; j < n; j++)
        if (!mask[j])
            dscores[j] -= (weft_real_t)(coef * exp(s[j] - lse));
    return lse;
}

double train_topk_pl(const weft_real_t *s, size_t n, const size_t *order, size_t k, double coef,
                     weft_real_t *dscores, uint8_t *mask)
{
    memset(mask, 0, n);
    double lp = 0;
    for (size_t i = 0; i < k && i < n; i++) {
        lp += s[order[i]] - train_lse_left(s, n, mask, coef, dscores);
        dscores[order[i]] += (weft_real_t)coef;
        mask[order[i]] = 1;
    }
    return lp;
}

double train_topk_runs(const weft_real_t *s, size_t n, const size_t *order, const size_t *job,
                       size_t k, double coef, weft_real_t *dscores, uint8_t *mask)
{
    memset(mask, 0, n);
    double lp = 0;
    size_t pos = 0;
    for (size_t g = 0; g < k && pos < n; g++) {
        size_t end = pos + 1;
        while (end < n && job[order[end]] == job[order[pos]])
            end++;
        double mg = -INFINITY, zg = 0;
        double lse = train_lse_left(s, n, mask, coef, dscores);
        for (size_t q = pos; q < end; q++)
            mg = s[order[q]] > mg ? s[order[q]] : mg;
        for (size_t q = pos; q < end; q++)
            zg += exp(s[order[q]] - mg);
        /* cppcheck-suppress invalidFunctionArg ; zg >= 1: mg is one of the terms */
        double lseg = mg + log(zg);
        lp += lseg - lse;
        for (size_t q = pos; q < end; q++) {
            dscores[order[q]] += (weft_real_t)(coef * exp(s[order[q]] - lseg));
            mask[order[q]] = 1;
        }
        pos = end;
    }
    return lp;
}

void train_imitation_grad(const weft_real_t *s, size_t n, const size_t *order,
                          const size_t *job, size_t topk, weft_real_t *dscores, uint8_t *mask,
                          double *lp_head, double *lp_runs)
{
    /* the head of the order pick by pick, and the job order whole */
    *lp_head = train_topk_pl(s, n, order, topk, 1.0, dscores, mask);
    *lp_runs = train_topk_runs(s, n, order, job, n, 1.0, dscores, mask);
}

void train_reinforce_grad(const weft_real_t *s, size_t n, const size_t *order, double adv,
                          double ent_coef, weft_real_t *dscores, double *work)
{
    if (adv != 0)
        attn_pl_logprob_backward(s, n, order, adv, dscores, work);
    if (ent_coef > 0)
        attn_pl_first_entropy_backward(s, n, ent_coef, dscores);
}
