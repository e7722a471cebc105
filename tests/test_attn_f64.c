/*
 * test_attn_f64.c - gradients of the self-attention scorer and of the
 * Plackett–Luce log-probability in double precision (links weftnn64, where
 * weft_real_t is double): central finite differences against
 * attn_backward for every parameter tensor and for the input X, with two
 * losses of the scores — a random linear one, and the Plackett–Luce
 * log-probability of a fixed order (the REINFORCE objective's shape) — in
 * all four variants (pre-/post-LN x ReLU/GELU).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn.h"

_Static_assert(sizeof(weft_real_t) == sizeof(double), "the gradient tests need the double build");

#define FD_EPS 1e-5
#define FD_ATOL 1e-6
#define FD_RTOL 1e-5

/* tiny shapes: n = 5 coflows, E = 6, M = 8, H = 2 heads, B = 2 blocks */
#define TN 5
#define TE 6

static uint64_t rng_state;

static double urand(void) /* splitmix64 -> [0, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double srand1(void) { return 2 * urand() - 1; }

enum { LOSS_LINEAR = 0, LOSS_PL = 1 };

typedef struct {
    attn_norm_t norm;
    attn_act_t act;
    int loss;
    uint64_t seed;
    size_t n; /* coflows, 1..TN; 0: TN */
    size_t H; /* heads of M = 8; 0: 2 */
} fd_case_t;

typedef struct {
    attn_config_t cfg;
    attn_cache_t c;
    attn_params_t p, g;
    double X[TN * TE];
    double coef[TN];     /* linear loss */
    size_t order[TN];    /* PL loss, a permutation of 0..n-1 */
    int loss;
    size_t n;            /* rows scored, <= TN */
} fd_ctx_t;

static double loss(fd_ctx_t *f)
{
    attn_forward(&f->c, &f->p, &f->cfg, f->X, f->n);
    if (f->loss == LOSS_PL)
        return attn_pl_logprob(f->c.scores, f->n, f->order);
    double s = 0;
    for (size_t i = 0; i < f->n; i++)
        s += f->coef[i] * f->c.scores[i];
    return s;
}

/* Central differences for the scalars x[0..n) against grad[0..n); returns
 * the worst |analytic − numeric| and sets *excess to the worst amount over
 * the tolerance (<= 0: all pass). */
static double check_array(fd_ctx_t *f, double *x, const double *grad, size_t n, double *excess)
{
    double worst = 0;
    *excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + FD_EPS;
        double lp = loss(f);
        x[i] = keep - FD_EPS;
        double lm = loss(f);
        x[i] = keep;
        double num = (lp - lm) / (2 * FD_EPS);
        double diff = fabs(grad[i] - num);
        double ex = diff - (FD_ATOL + FD_RTOL * fabs(num));
        if (diff > worst)
            worst = diff;
        if (ex > *excess)
            *excess = ex;
    }
    return worst;
}

static void run_fd(const fd_case_t *fc)
{
    fd_ctx_t *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    f->cfg = (attn_config_t){.E = TE, .M = 8, .H = fc->H ? fc->H : 2, .B = 2, .norm = fc->norm,
                             .act = fc->act};
    f->loss = fc->loss;
    f->n = fc->n ? fc->n : TN;
    rng_state = fc->seed;
    attn_cache_init(&f->c);
    cr_assert_eq(attn_cache_prepare(&f->c, &f->cfg, TN), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_params_init(&f->p, &f->cfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&f->g, &f->cfg), WEFT_OK);
    attn_params_init_random(&f->p, &f->cfg, fc->seed);
    /* move every parameter off its initial value, so LN gains != 1 and
     * biases != 0 are exercised too */
    for (size_t i = 0; i < f->p.n; i++)
        f->p.memory[i] += 0.2 * srand1();
    for (size_t i = 0; i < TN * TE; i++)
        f->X[i] = srand1();
    for (size_t i = 0; i < TN; i++)
        f->coef[i] = srand1();
    static const size_t fixed_order[TN] = {3, 0, 4, 1, 2};
    for (size_t i = 0, k = 0; i < TN; i++) /* its restriction to 0..n-1 */
        if (fixed_order[i] < f->n)
            f->order[k++] = fixed_order[i];

    /* analytic gradients */
    loss(f);
    double dscores[TN] = {0}, work[TN], dX[TN * TE] = {0};
    if (f->loss == LOSS_PL)
        attn_pl_logprob_backward(f->c.scores, f->n, f->order, 1.0, dscores, work);
    else
        memcpy(dscores, f->coef, sizeof dscores);
    attn_params_zero(&f->g);
    attn_backward(&f->g, dX, dscores, &f->c, &f->p, &f->cfg);

    char msg[4096];
    size_t len = 0;
    int failed = 0;
    double worst_all = 0;
    for (size_t t = 0; t < attn_tensor_count(&f->cfg); t++) {
        attn_tensor_info_t ti = attn_tensor_info(&f->cfg, t);
        double excess;
        double worst = check_array(f, f->p.memory + ti.offset, f->g.memory + ti.offset, ti.size,
                                   &excess);
        if (worst > worst_all)
            worst_all = worst;
        if (excess > 0)
            failed = 1;
        len += (size_t)snprintf(msg + len, sizeof msg - len, " %s%s=%.2e",
                                excess > 0 ? "FAIL:" : "", ti.name, worst);
        if (len >= sizeof msg)
            len = sizeof msg - 1;
    }
    double excess;
    double worst_x = check_array(f, f->X, dX, f->n * TE, &excess);
    if (excess > 0)
        failed = 1;
    snprintf(msg + len, sizeof msg - len, " %sdX=%.2e", excess > 0 ? "FAIL:" : "", worst_x);
    fprintf(stderr, "attn fd %s-LN %s loss=%s n=%zu H=%zu: worst param diff %.2e, dX %.2e\n",
            fc->norm == ATTN_PRE_LN ? "pre" : "post", fc->act == ATTN_GELU ? "gelu" : "relu",
            fc->loss == LOSS_PL ? "PL" : "linear", f->n, f->cfg.H, worst_all, worst_x);
    /* a gradient that is all zeros would pass trivially: make sure the loss
     * actually depends on the parameters */
    cr_assert_gt(attn_params_norm(&f->g), 1e-3, "gradient is (nearly) zero");
    cr_assert(!failed, "finite differences disagree (worst |analytic - numeric| per tensor):%s",
              msg);
    attn_params_destroy(&f->p);
    attn_params_destroy(&f->g);
    attn_cache_destroy(&f->c);
    free(f);
}

ParameterizedTestParameters(attn_grad, all_tensors)
{
    static fd_case_t cases[8];
    size_t k = 0;
    for (int norm = 0; norm < 2; norm++)
        for (int act = 0; act < 2; act++)
            for (int l = 0; l < 2; l++, k++) /* k++ apart: .seed reads k */
                cases[k] = (fd_case_t){.norm = (attn_norm_t)norm, .act = (attn_act_t)act,
                                       .loss = l, .seed = 1000 + 17 * k};
    return cr_make_param_array(fd_case_t, cases, k);
}

ParameterizedTest(fd_case_t *fc, attn_grad, all_tensors, .timeout = 60)
{
    run_fd(fc);
}

/* The sizes all_tensors leaves out: one coflow (its attention weight is 1
 * whatever the scores: only V's path carries a gradient, and the PL
 * log-probability of one order is 0, so the linear loss), two, and heads
 * of width 8 (one head) and 1 (eight heads). */
ParameterizedTestParameters(attn_grad, other_sizes)
{
    static fd_case_t cases[] = {
        {ATTN_PRE_LN, ATTN_GELU, LOSS_LINEAR, 2001, 1, 2},
        {ATTN_POST_LN, ATTN_RELU, LOSS_LINEAR, 2002, 1, 4},
        {ATTN_POST_LN, ATTN_GELU, LOSS_PL, 2003, 2, 1},
        {ATTN_PRE_LN, ATTN_RELU, LOSS_PL, 2004, 5, 8},
        {ATTN_POST_LN, ATTN_GELU, LOSS_LINEAR, 2005, 3, 8},
    };
    return cr_make_param_array(fd_case_t, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fd_case_t *fc, attn_grad, other_sizes, .timeout = 60)
{
    run_fd(fc);
}

/* Backward after a forward of fewer rows than the cache last held (the
 * learned policy's training rollouts, decision after decision, on one
 * cache): the gradients of a fresh cache's, to rounding; the stale rows
 * and attention weights of the larger forward must not enter them. */
Test(attn_grad, fewer_rows_than_the_last_forward_backprop_as_alone, .timeout = 10)
{
    attn_config_t cfg = {.E = TE, .M = 8, .H = 2, .B = 2, .norm = ATTN_POST_LN,
                         .act = ATTN_GELU};
    enum { SMALL = 2 };
    attn_params_t p, g_used, g_fresh;
    attn_cache_t used, fresh;
    attn_cache_init(&used);
    attn_cache_init(&fresh);
    cr_assert_eq(attn_params_init(&p, &cfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&g_used, &cfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&g_fresh, &cfg), WEFT_OK);
    attn_params_init_random(&p, &cfg, 77);
    rng_state = 78;
    double big[TN * TE], dbig[TN], dsmall[SMALL];
    for (size_t i = 0; i < TN * TE; i++)
        big[i] = 40 * srand1();
    for (size_t i = 0; i < TN; i++)
        dbig[i] = srand1();
    double small[SMALL * TE] = {0}, dx_used[SMALL * TE] = {0}, dx_fresh[SMALL * TE] = {0};
    for (size_t i = 0; i < SMALL * TE; i++)
        small[i] = srand1();
    for (size_t i = 0; i < SMALL; i++)
        dsmall[i] = srand1();
    cr_assert_eq(attn_cache_prepare(&used, &cfg, TN), WEFT_OK);
    attn_forward(&used, &p, &cfg, big, TN);
    attn_params_zero(&g_used);
    attn_backward(&g_used, NULL, dbig, &used, &p, &cfg); /* fills the gradient buffers */
    attn_forward(&used, &p, &cfg, small, SMALL);
    attn_params_zero(&g_used);
    attn_backward(&g_used, dx_used, dsmall, &used, &p, &cfg);
    cr_assert_eq(attn_cache_prepare(&fresh, &cfg, SMALL), WEFT_OK);
    attn_forward(&fresh, &p, &cfg, small, SMALL);
    attn_params_zero(&g_fresh);
    attn_backward(&g_fresh, dx_fresh, dsmall, &fresh, &p, &cfg);
    cr_assert_gt(attn_params_norm(&g_fresh), 1e-3);
    for (size_t i = 0; i < p.n; i++)
        cr_assert_float_eq(g_used.memory[i], g_fresh.memory[i],
                           1e-12 * (1 + fabs(g_fresh.memory[i])),
                           "param %zu: %.17g after %d rows, %.17g alone", i, g_used.memory[i],
                           TN, g_fresh.memory[i]);
    for (size_t i = 0; i < SMALL * TE; i++)
        cr_assert_float_eq(dx_used[i], dx_fresh[i], 1e-12 * (1 + fabs(dx_fresh[i])), "dX[%zu]",
                           i);
    attn_params_destroy(&p);
    attn_params_destroy(&g_used);
    attn_params_destroy(&g_fresh);
    attn_cache_destroy(&used);
    attn_cache_destroy(&fresh);
}

/* d logprob / d scores by central differences, at several score scales
 * (large scores test the log-space accumulation of the backward). */
Test(attn_pl, logprob_gradient, .timeout = 10)
{
    rng_state = 7;
    for (int trial = 0; trial < 6; trial++) {
        size_t n = 1 + (size_t)trial * 3;
        double scale = trial % 2 ? 30.0 : 1.5;
        double s[32], g[32] = {0}, work[32];
        size_t order[32];
        for (size_t i = 0; i < n; i++)
            s[i] = scale * srand1();
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n; i > 1; i--) { /* Fisher–Yates */
            size_t j = (size_t)(urand() * (double)i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        attn_pl_logprob_backward(s, n, order, 1.0, g, work);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double keep = s[i];
            s[i] = keep + FD_EPS;
            double lp = attn_pl_logprob(s, n, order);
            s[i] = keep - FD_EPS;
            double lm = attn_pl_logprob(s, n, order);
            s[i] = keep;
            double num = (lp - lm) / (2 * FD_EPS), diff = fabs(g[i] - num);
            if (diff > worst)
                worst = diff;
            cr_assert_leq(diff, FD_ATOL + FD_RTOL * fabs(num),
                          "n=%zu scale=%g score %zu: analytic %.10g numeric %.10g", n, scale, i,
                          g[i], num);
        }
        /* the gradient of a log-probability sums to 0 (adding a constant to
         * every score changes nothing) */
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += g[i];
        cr_assert_leq(fabs(sum), 1e-9, "n=%zu: gradient sums to %g", n, sum);
        fprintf(stderr, "attn fd PL n=%zu scale=%g: worst diff %.2e\n", n, scale, worst);
    }
}

Test(attn_pl, first_entropy_gradient, .timeout = 10)
{
    rng_state = 11;
    double s[7], g[7] = {0};
    for (size_t i = 0; i < 7; i++)
        s[i] = 2 * srand1();
    attn_pl_first_entropy_backward(s, 7, 1.0, g);
    for (size_t i = 0; i < 7; i++) {
        double keep = s[i];
        s[i] = keep + FD_EPS;
        double hp = attn_pl_first_entropy(s, 7);
        s[i] = keep - FD_EPS;
        double hm = attn_pl_first_entropy(s, 7);
        s[i] = keep;
        double num = (hp - hm) / (2 * FD_EPS);
        cr_assert_leq(fabs(g[i] - num), FD_ATOL + FD_RTOL * fabs(num),
                      "score %zu: analytic %.10g numeric %.10g", i, g[i], num);
    }
    /* equal scores: the entropy is log n, the maximum */
    double eq[4] = {0.3, 0.3, 0.3, 0.3};
    cr_assert_float_eq(attn_pl_first_entropy(eq, 4), log(4.0), 1e-12);
}
