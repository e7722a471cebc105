/*
 * test_train_f64.c - the training losses' gradients with respect to a
 * decision's scores (train/loss.c, built in double in weftnn64) against
 * central finite differences of the objective each one climbs: the top-k
 * Plackett–Luce log-likelihood of the teacher's picks, that of its order of
 * jobs (runs), their sum as imitation and DAgger take it, the normaliser
 * over the rows left, and REINFORCE's advantage × log P(order) plus the
 * first pick's entropy bonus. The objectives are written again here from
 * their definitions (loss.h), over suffixes of the order rather than a
 * mask, and each function's value is checked against them too, so a bug
 * shared by a forward and its backward shows. Random small cases, and the
 * edges: equal scores, a job in several runs, k past the candidates, one
 * candidate, masked rows, scores far from 0 or far apart, a zero advantage.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attention/attn.h"
#include "train/loss.h"

_Static_assert(sizeof(weft_real_t) == sizeof(double), "the gradient tests need the double build");

/* eps 1e-4: a central difference's truncation error is eps^2/6 × the
 * third derivative, under 1e-8 × n for these log-softmax sums, and its
 * rounding error about 1e-16 × |loss| / eps; with scores near ±1e4 each
 * term s - lse carries ~1e-12 of rounding, 1e-8 after the division, which
 * eps 1e-5 would make 1e-7 */
#define FD_EPS 1e-4
#define FD_ATOL 1e-6
#define FD_RTOL 1e-5
#define MAXN 12

typedef enum { K_PL, K_RUNS, K_LSE, K_IMITATE, K_REINFORCE } kind_t;

static const char *const kind_name[] = {"topk_pl", "topk_runs", "lse_left", "imitation",
                                        "reinforce"};

typedef struct {
    kind_t kind;
    size_t n, k;           /* rows; picks or runs fitted (K_PL, K_RUNS, K_IMITATE) */
    size_t order[MAXN];    /* the teacher's or the sampled order of the rows */
    size_t job[MAXN];      /* each row's job (K_RUNS, K_IMITATE) */
    uint8_t mask[MAXN];    /* K_LSE: rows left out */
    double coef;           /* K_PL, K_RUNS, K_LSE */
    double adv, ent;       /* K_REINFORCE */
    double s[MAXN];
} fd_case_t;

/* log Σ exp(s[idx[q]]) over q < m, by the largest; -inf for none. */
static double ref_lse(const double *s, const size_t *idx, size_t m)
{
    double mx = -INFINITY, z = 0;
    for (size_t q = 0; q < m; q++)
        mx = fmax(mx, s[idx[q]]);
    if (mx == -INFINITY)
        return -INFINITY;
    for (size_t q = 0; q < m; q++)
        z += exp(s[idx[q]] - mx);
    return mx + log(z);
}

/* Σ_{i < min(k, n)} [s_{π_i} − lse(s_{π_i}, ..., s_{π_{n-1}})]: what is
 * left before pick i is the suffix of the order from i. */
static double ref_topk_pl(const double *s, size_t n, const size_t *order, size_t k)
{
    double lp = 0;
    for (size_t i = 0; i < k && i < n; i++)
        lp += s[order[i]] - ref_lse(s, order + i, n - i);
    return lp;
}

/* Σ over the first k runs of one job's coflows in the order of
 * [lse(run) − lse(the run and all after it)]. */
static double ref_runs(const double *s, size_t n, const size_t *order, const size_t *job,
                       size_t k)
{
    double lp = 0;
    size_t from = 0;
    for (size_t g = 0; g < k && from < n; g++) {
        size_t to = from;
        while (to < n && job[order[to]] == job[order[from]])
            to++;
        lp += ref_lse(s, order + from, to - from) - ref_lse(s, order + from, n - from);
        from = to;
    }
    return lp;
}

/* −Σ p log p of the softmax of s[0..n). */
static double ref_entropy(const double *s, size_t n)
{
    size_t all[MAXN] = {0};
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    double lse = ref_lse(s, all, n), h = 0;
    for (size_t i = 0; i < n; i++)
        h -= exp(s[i] - lse) * (s[i] - lse);
    return h;
}

/* What the function of c->kind returns, from the definitions; for
 * REINFORCE, which returns nothing, adv × log P(order) + ent × entropy. */
static double ref_value(const fd_case_t *c, const double *s)
{
    switch (c->kind) {
    case K_PL:
        return ref_topk_pl(s, c->n, c->order, c->k);
    case K_RUNS:
        return ref_runs(s, c->n, c->order, c->job, c->k);
    case K_LSE: {
        size_t left[MAXN], m = 0;
        for (size_t j = 0; j < c->n; j++)
            if (!c->mask[j])
                left[m++] = j;
        return ref_lse(s, left, m);
    }
    case K_IMITATE:
        return ref_topk_pl(s, c->n, c->order, c->k) + ref_runs(s, c->n, c->order, c->job, c->n);
    case K_REINFORCE:
        return c->adv * ref_topk_pl(s, c->n, c->order, c->n) + c->ent * ref_entropy(s, c->n);
    }
    return NAN;
}

/* The objective whose gradient the function of c->kind adds: coef × its
 * value, −coef × it for the normaliser (which subtracts its softmax). */
static double objective(const fd_case_t *c, const double *s)
{
    double v = ref_value(c, s);
    if (c->kind == K_PL || c->kind == K_RUNS)
        return c->coef * v;
    return c->kind == K_LSE ? -c->coef * v : v;
}

/* The function under test on c: its gradient into g (added to a nonzero
 * start, taken off again, so one that overwrote dscores would show), its
 * value as returned (the objective's, divided by coef where it scales only
 * the gradient; NaN for REINFORCE, which returns none). */
static double analytic(const fd_case_t *c, double *g)
{
    double start[MAXN], v = NAN, work[MAXN];
    uint8_t mask[MAXN];
    for (size_t i = 0; i < c->n; i++)
        g[i] = start[i] = 0.25 + (double)i;
    switch (c->kind) {
    case K_PL:
        v = train_topk_pl(c->s, c->n, c->order, c->k, c->coef, g, mask);
        break;
    case K_RUNS:
        v = train_topk_runs(c->s, c->n, c->order, c->job, c->k, c->coef, g, mask);
        break;
    case K_LSE:
        v = train_lse_left(c->s, c->n, c->mask, c->coef, g);
        break;
    case K_IMITATE: {
        double head, runs;
        train_imitation_grad(c->s, c->n, c->order, c->job, c->k, g, mask, &head, &runs);
        v = head + runs;
        break;
    }
    case K_REINFORCE:
        train_reinforce_grad(c->s, c->n, c->order, c->adv, c->ent, g, work);
        break;
    }
    for (size_t i = 0; i < c->n; i++)
        g[i] -= start[i];
    return v;
}

/* Checks c's gradient against central differences of its objective, its
 * value against the objective's, and (but for the normaliser alone) that
 * the gradient sums to 0, as adding one constant to every score changes no
 * probability. The worst |analytic − numeric|. */
static double check_case(fd_case_t *c, const char *what)
{
    double g[MAXN];
    double v = analytic(c, g), worst = 0;
    for (size_t i = 0; i < c->n; i++) {
        double keep = c->s[i];
        c->s[i] = keep + FD_EPS;
        double fp = objective(c, c->s);
        c->s[i] = keep - FD_EPS;
        double fm = objective(c, c->s);
        c->s[i] = keep;
        double num = (fp - fm) / (2 * FD_EPS), diff = fabs(g[i] - num);
        worst = fmax(worst, diff);
        cr_assert(diff <= FD_ATOL + FD_RTOL * fabs(num),
                  "%s (%s, n=%zu k=%zu): d/ds_%zu analytic %.12g numeric %.12g", what,
                  kind_name[c->kind], c->n, c->k, i, g[i], num);
    }
    if (c->kind != K_REINFORCE) {
        double want = ref_value(c, c->s);
        cr_assert(fabs(v - want) <= 1e-9 * (1 + fabs(want)),
                  "%s (%s, n=%zu k=%zu): value %.15g, expected %.15g", what,
                  kind_name[c->kind], c->n, c->k, v, want);
    }
    if (c->kind != K_LSE) {
        double sum = 0;
        for (size_t i = 0; i < c->n; i++)
            sum += g[i];
        cr_assert(fabs(sum) <= 1e-9, "%s (%s, n=%zu): gradient sums to %g", what,
                  kind_name[c->kind], c->n, sum);
    }
    return worst;
}

static attn_rng_t rng;

static size_t below(size_t m) { return (size_t)(attn_rng_uniform(&rng) * (double)m); }

/* A random case of n rows: scores scale × U(-1, 1), a random order, jobs
 * among 1..n, k in 1..n+2, coef in [0.5, 1.5), an advantage in [-2, 2)
 * (0 one time in five) and an entropy weight in [0, 0.1), a random mask. */
static void random_case(fd_case_t *c, kind_t kind, size_t n, double scale)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->n = n;
    c->k = 1 + below(n + 2);
    size_t n_jobs = 1 + below(n);
    for (size_t i = 0; i < n; i++) {
        c->s[i] = scale * (2 * attn_rng_uniform(&rng) - 1);
        c->order[i] = i;
        c->job[i] = below(n_jobs);
        c->mask[i] = attn_rng_uniform(&rng) < 0.4;
    }
    for (size_t i = n; i > 1; i--) { /* Fisher–Yates */
        size_t j = below(i), t = c->order[i - 1];
        c->order[i - 1] = c->order[j];
        c->order[j] = t;
    }
    c->mask[c->order[0]] = 0; /* a row left for the normaliser */
    c->coef = 0.5 + attn_rng_uniform(&rng);
    c->adv = below(5) ? 4 * attn_rng_uniform(&rng) - 2 : 0;
    c->ent = 0.1 * attn_rng_uniform(&rng);
}

Test(train_fd, random_cases)
{
    attn_rng_seed(&rng, 20261207);
    double worst = 0;
    for (int kind = K_PL; kind <= K_REINFORCE; kind++)
        for (int trial = 0; trial < 60; trial++) {
            fd_case_t c;
            random_case(&c, (kind_t)kind, 2 + (size_t)trial % 9, trial % 3 ? 2.0 : 12.0);
            char what[32];
            snprintf(what, sizeof what, "trial %d", trial);
            worst = fmax(worst, check_case(&c, what));
        }
    fprintf(stderr, "train fd random cases: worst |analytic - numeric| %.2e\n", worst);
}

/* Equal scores, and teachers' orders whose jobs come in runs: one job's
 * coflows together, one job split into runs by another's, and one job
 * only (its order of jobs then has one run: probability 1, gradient 0). */
Test(train_fd, ties_and_runs)
{
    static const size_t runs[][6] = {
        {0, 0, 1, 0, 2, 2}, /* job 0 in two runs, job 1 between them */
        {3, 3, 3, 1, 1, 3}, /* 3 before and after 1 */
        {5, 5, 5, 5, 5, 5}, /* one job */
        {0, 1, 2, 3, 4, 5}, /* a job a coflow: the runs are the picks */
    };
    static const size_t order[6] = {4, 1, 5, 0, 3, 2};
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++)
        for (int tied = 0; tied < 2; tied++)
            for (int kind = K_PL; kind <= K_REINFORCE; kind++) {
                fd_case_t c = {.kind = (kind_t)kind, .n = 6, .k = 3, .coef = 1, .adv = -0.8,
                               .ent = 0.05};
                for (size_t i = 0; i < 6; i++) {
                    c.order[i] = order[i];
                    c.job[order[i]] = runs[r][i]; /* job of the i-th in the order */
                    c.s[i] = tied ? 0.7 : 0.3 * (double)i - 0.9;
                    c.mask[i] = i % 3 == 0;
                }
                char what[48];
                snprintf(what, sizeof what, "runs %zu%s", r, tied ? ", equal scores" : "");
                check_case(&c, what);
            }
    /* one job: its one run is all that is left, log-likelihood 0 exactly */
    double s[6] = {0.1, -2, 3, 0.5, 0.5, 7}, g[6] = {0};
    size_t one[6] = {5, 5, 5, 5, 5, 5};
    uint8_t mask[6];
    cr_assert_eq(train_topk_runs(s, 6, order, one, 6, 1, g, mask), 0.0);
    for (size_t i = 0; i < 6; i++)
        cr_assert(fabs(g[i]) <= 1e-15, "one job: d/ds_%zu = %g, expected 0", i, g[i]);
}

/* k at and past the candidates fits the whole order: attn_pl_logprob and
 * its gradient (attention/pl.c, written apart, from the back of the order). */
Test(train_fd, k_beyond_candidates)
{
    attn_rng_seed(&rng, 5);
    for (size_t n = 1; n <= 7; n++) {
        fd_case_t c;
        random_case(&c, K_PL, n, 3);
        c.coef = 1;
        double lp_full = attn_pl_logprob(c.s, n, c.order), g_full[MAXN] = {0}, work[MAXN];
        attn_pl_logprob_backward(c.s, n, c.order, 1, g_full, work);
        static const size_t extra[] = {0, 1, 2, 1000, SIZE_MAX - MAXN};
        for (size_t e = 0; e < sizeof extra / sizeof *extra; e++) {
            c.k = n + extra[e];
            check_case(&c, "k >= n");
            double g[MAXN];
            double lp = analytic(&c, g);
            cr_assert(fabs(lp - lp_full) <= 1e-12, "n=%zu k=%zu: %.15g, attn_pl_logprob %.15g",
                      n, c.k, lp, lp_full);
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(g[i] - g_full[i]) <= 1e-12, "n=%zu k=%zu: d/ds_%zu %.15g, "
                          "attn_pl_logprob_backward's %.15g", n, c.k, i, g[i], g_full[i]);
        }
    }
}

/* One candidate: every log-likelihood is 0 and no term moves its score
 * (the normaliser alone moves it by −coef). */
Test(train_fd, one_candidate)
{
    for (int kind = K_PL; kind <= K_REINFORCE; kind++) {
        fd_case_t c = {.kind = (kind_t)kind, .n = 1, .k = 4, .coef = 1.3, .adv = 1.5,
                       .ent = 0.2, .s = {2.5}};
        double g[1];
        double v = analytic(&c, g);
        if (kind == K_LSE) { /* the normaliser alone: its softmax is 1 */
            cr_assert_eq(g[0], -1.3, "lse_left: d/ds_0 = %g with one candidate", g[0]);
            cr_assert_eq(v, 2.5, "lse_left of one score: %g", v);
            continue;
        }
        cr_assert_eq(g[0], 0.0, "%s: d/ds_0 = %g with one candidate", kind_name[kind], g[0]);
        if (kind != K_REINFORCE)
            cr_assert_eq(v, 0.0, "%s of one candidate: %g", kind_name[kind], v);
    }
}

/* The normaliser over the rows left: masked rows neither count nor get a
 * gradient; with all of them masked it is -inf and changes nothing. */
Test(train_fd, masked_rows)
{
    attn_rng_seed(&rng, 77);
    for (int trial = 0; trial < 40; trial++) {
        fd_case_t c;
        random_case(&c, K_LSE, 1 + (size_t)trial % 10, 4);
        c.mask[below(c.n)] = 0; /* at least one left */
        check_case(&c, "random mask");
        double g[MAXN];
        analytic(&c, g);
        for (size_t j = 0; j < c.n; j++)
            cr_assert(!c.mask[j] || g[j] == 0, "masked row %zu got %g", j, g[j]);
    }
    fd_case_t c = {.kind = K_LSE, .n = 4, .coef = 1, .s = {1, 2, 3, 4}, .mask = {1, 1, 1, 1}};
    double g[4];
    cr_assert_eq(analytic(&c, g), -INFINITY);
    for (size_t j = 0; j < 4; j++)
        cr_assert_eq(g[j], 0.0, "all masked: row %zu got %g", j, g[j]);
}

/* Scores where exp overflows or underflows unless the largest is taken
 * out first: all near +1e4 or -1e4, and 800 apart (a softmax of one 1). */
Test(train_fd, extreme_scores)
{
    attn_rng_seed(&rng, 3);
    static const double offset[] = {1e4, -1e4, 0};
    for (size_t o = 0; o < 3; o++)
        for (int kind = K_PL; kind <= K_REINFORCE; kind++)
            for (int trial = 0; trial < 4; trial++) {
                fd_case_t c;
                random_case(&c, (kind_t)kind, 3 + (size_t)trial, 2);
                for (size_t i = 0; i < c.n; i++)
                    c.s[i] = offset[o] + (o == 2 ? 800.0 * (double)i : c.s[i]);
                c.mask[0] = 0;
                char what[48];
                snprintf(what, sizeof what, "scores %s", o == 2 ? "800 apart" : o ? "near -1e4"
                                                                               : "near +1e4");
                check_case(&c, what);
            }
}

/* REINFORCE with a zero advantage keeps only the entropy bonus; with no
 * bonus either it adds nothing; a negative advantage pushes the sampled
 * order down as much as a positive one pushes it up. */
Test(train_fd, zero_advantage)
{
    attn_rng_seed(&rng, 11);
    for (int trial = 0; trial < 10; trial++) {
        fd_case_t c;
        random_case(&c, K_REINFORCE, 2 + (size_t)trial, 3);
        c.adv = 0;
        c.ent = 0.05;
        check_case(&c, "zero advantage");
        c.ent = 0;
        double g[MAXN];
        analytic(&c, g);
        for (size_t i = 0; i < c.n; i++)
            cr_assert_eq(g[i], 0.0, "no advantage, no bonus: d/ds_%zu = %g", i, g[i]);
        double up[MAXN], down[MAXN];
        c.adv = 1.25;
        analytic(&c, up);
        c.adv = -1.25;
        check_case(&c, "negative advantage");
        analytic(&c, down);
        for (size_t i = 0; i < c.n; i++)
            cr_assert(fabs(up[i] + down[i]) <= 1e-12, "d/ds_%zu: %g at +1.25, %g at -1.25", i,
                      up[i], down[i]);
    }
}
