/*
 * test_gnn_f64.c - gradients of the DAGNN encoder in double precision
 * (links weftnn64, where weft_real_t is double): central finite differences
 * of a random linear loss Σ c·out against gnn_backward, for every parameter
 * tensor and for the input features.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"

_Static_assert(sizeof(weft_real_t) == sizeof(double), "the gradient tests need the double build");

#define FD_EPS 1e-5
#define FD_ATOL 1e-6
#define FD_RTOL 1e-5

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

/* A batch given as CSR parents. */
typedef struct {
    size_t n, n_jobs;
    size_t pred_start[64];
    size_t pred[256];
    size_t job[64];
} batch_t;

/* 7 nodes in 2 jobs, numbered out of topological order on purpose:
 * job 0 is a diamond a=5 -> {b=2, c=0} -> d=3, job 1 a chain 6 -> 1 -> 4. */
static void diamond_and_chain(batch_t *b)
{
    static const size_t ps[] = {0, 1, 2, 3, 5, 6, 6, 6};
    static const size_t pr[] = {5, 6, 5, 2, 0, 1};
    static const size_t jb[] = {0, 1, 0, 0, 1, 0, 1};
    b->n = 7, b->n_jobs = 2;
    memcpy(b->pred_start, ps, sizeof ps);
    memcpy(b->pred, pr, sizeof pr);
    memcpy(b->job, jb, sizeof jb);
}

/* n nodes in n_jobs jobs (node v in job v % n_jobs); each node takes up to
 * max_par parents among the earlier nodes of its job. */
static void random_dag(batch_t *b, size_t n, size_t n_jobs, size_t max_par)
{
    b->n = n, b->n_jobs = n_jobs;
    b->pred_start[0] = 0;
    size_t e = 0;
    for (size_t v = 0; v < n; v++) {
        b->job[v] = v % n_jobs;
        size_t want = (size_t)(urand() * (double)(max_par + 1));
        for (size_t u = v % n_jobs; u < v && want > 0; u += n_jobs)
            if (urand() < 0.6) {
                b->pred[e++] = u;
                want--;
            }
        b->pred_start[v + 1] = e;
    }
}

/* A chain of n nodes in one job, numbered backwards (node n-1 is the
 * root): n waves, so the L x n grid's anti-diagonals reach their longest. */
static void chain(batch_t *b, size_t n)
{
    b->n = n, b->n_jobs = 1;
    b->pred_start[0] = 0;
    for (size_t v = 0; v < n; v++) {
        b->job[v] = 0;
        if (v + 1 < n)
            b->pred[v] = v + 1;
        b->pred_start[v + 1] = v + 1 < n ? v + 1 : v;
    }
}

/* n jobs of one node each: no edge anywhere, every message 0. */
static void lone_nodes(batch_t *b, size_t n)
{
    b->n = b->n_jobs = n;
    for (size_t v = 0; v <= n; v++)
        b->pred_start[v] = 0;
    for (size_t v = 0; v < n; v++)
        b->job[v] = v;
}

/* The plan of b, a cache for it and parameters of cfg, random of seed. */
static void encoder_of(gnn_plan_t *plan, gnn_cache_t *c, gnn_params_t *p, const batch_t *b,
                       const gnn_config_t *cfg, uint64_t seed)
{
    gnn_cache_init(c);
    cr_assert_eq(gnn_plan_build(plan, b->n, b->n_jobs, b->pred_start, b->pred, b->job), WEFT_OK,
                 "%s", weft_last_error());
    cr_assert_eq(gnn_cache_prepare(c, cfg, plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(p, cfg), WEFT_OK);
    gnn_params_init_random(p, cfg, seed);
}

typedef struct {
    gnn_config_t cfg;
    int shape;     /* 0: diamond and chain; 1: random DAG; 2: chain of n; 3: n lone nodes */
    size_t n, n_jobs, max_par;
    uint64_t seed;
} fd_case_t;

/* Loss = Σ coef · out after a full forward. */
static double loss(gnn_cache_t *c, const gnn_params_t *p, const gnn_config_t *cfg,
                   const gnn_plan_t *plan, const double *X, const double *coef)
{
    gnn_forward(c, p, cfg, plan, X);
    double s = 0;
    for (size_t i = 0; i < plan->n_nodes * gnn_out_dim(cfg); i++)
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): set by the caller */
        s += coef[i] * c->out[i];
    return s;
}

/* Checks one array of analytic gradients grad[0..n) of the scalars
 * x[0..n) against central differences; returns the worst difference and
 * writes the worst excess over the tolerance (<= 0: passes). */
static double check_array(double *x, const double *grad, size_t n, gnn_cache_t *c,
                          const gnn_params_t *p, const gnn_config_t *cfg, const gnn_plan_t *plan,
                          const double *X, const double *coef, double *excess, size_t *worst_i)
{
    double worst = 0;
    *excess = -INFINITY;
    *worst_i = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + FD_EPS;
        double lp = loss(c, p, cfg, plan, X, coef);
        x[i] = keep - FD_EPS;
        double lm = loss(c, p, cfg, plan, X, coef);
        x[i] = keep;
        double num = (lp - lm) / (2 * FD_EPS);
        double diff = fabs(grad[i] - num);
        double ex = diff - (FD_ATOL + FD_RTOL * fabs(num));
        if (diff > worst)
            worst = diff;
        if (ex > *excess) {
            *excess = ex;
            *worst_i = i;
        }
    }
    return worst;
}

static void run_fd(const fd_case_t *fc)
{
    rng_state = fc->seed;
    batch_t b;
    if (fc->shape == 0)
        diamond_and_chain(&b);
    else if (fc->shape == 2)
        chain(&b, fc->n);
    else if (fc->shape == 3)
        lone_nodes(&b, fc->n);
    else
        random_dag(&b, fc->n, fc->n_jobs, fc->max_par);
    const gnn_config_t *cfg = &fc->cfg;
    gnn_plan_t plan;
    gnn_cache_t c;
    gnn_params_t p, g;
    encoder_of(&plan, &c, &p, &b, cfg, fc->seed);
    cr_assert_eq(gnn_params_init(&g, cfg), WEFT_OK);
    for (size_t i = 0; i < p.n; i++) /* non-zero biases, larger weights: every path matters */
        p.memory[i] += 0.4 * srand1();

    size_t N = b.n, F = cfg->F, E = gnn_out_dim(cfg);
    double *X = malloc(N * F * sizeof *X), *coef = malloc(N * E * sizeof *coef);
    double *dX = calloc(N * F, sizeof *dX);
    for (size_t i = 0; i < N * F; i++)
        X[i] = srand1();
    for (size_t i = 0; i < N * E; i++)
        coef[i] = srand1();

    loss(&c, &p, cfg, &plan, X, coef);
    gnn_params_zero(&g);
    gnn_backward(&g, dX, coef, &c, &p, cfg, &plan);

    char report[4096];
    size_t len = 0;
    int failed = 0;
    for (size_t t = 0; t < gnn_tensor_count(cfg); t++) {
        gnn_tensor_info_t ti = gnn_tensor_info(cfg, t);
        double excess;
        size_t wi;
        double worst = check_array(p.memory + ti.offset, g.memory + ti.offset, ti.size, &c, &p,
                                   cfg, &plan, X, coef, &excess, &wi);
        len += (size_t)snprintf(report + len, sizeof report - len, " %s=%.2e", ti.name, worst);
        if (excess > 0) {
            failed = 1;
            len += (size_t)snprintf(report + len, sizeof report - len, "(FAIL at %zu)", wi);
        }
    }
    double excess;
    size_t wi;
    double worst = check_array(X, dX, N * F, &c, &p, cfg, &plan, X, coef, &excess, &wi);
    len += (size_t)snprintf(report + len, sizeof report - len, " dX=%.2e", worst);
    if (excess > 0)
        failed = 1;
    cr_log_info("worst |analytic - numeric| per tensor:%s", report);
    cr_assert(!failed, "gradient mismatch (atol %g, rtol %g); worst per tensor:%s", FD_ATOL,
              FD_RTOL, report);

    free(X);
    free(coef);
    free(dX);
    gnn_params_destroy(&p);
    gnn_params_destroy(&g);
    gnn_cache_destroy(&c);
    gnn_plan_destroy(&plan);
}

ParameterizedTestParameters(gnn_grad, finite_differences)
{
    static fd_case_t cases[] = {
        /* the brief's shape: diamond + chain, F=3 D=4 L=2 S=3 */
        {{3, 4, 2, 3}, 0, 0, 0, 0, 1},
        /* one layer, wider summaries */
        {{2, 3, 1, 4}, 0, 0, 0, 0, 2},
        /* random DAG, 3 layers, up to 3 parents per node */
        {{2, 3, 3, 2}, 1, 14, 3, 3, 3},
        /* single job, many parents: softmax over up to 5 predecessors */
        {{3, 2, 2, 2}, 1, 10, 1, 5, 4},
        /* a deep chain: 12 waves, 3 layers, gradients through every step */
        {{2, 3, 3, 2}, 2, 12, 1, 1, 5},
        /* jobs without edges: no attention, the GRU on a zero message */
        {{3, 2, 2, 3}, 3, 4, 4, 0, 6},
    };
    return cr_make_param_array(fd_case_t, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fd_case_t *fc, gnn_grad, finite_differences, .timeout = 60) { run_fd(fc); }

/* Backward adds into the gradient block: two passes give twice one pass;
 * and it follows the naive forward as well as the pipelined one. */
Test(gnn_grad, accumulates_and_follows_naive_forward, .timeout = 20)
{
    rng_state = 11;
    batch_t b;
    random_dag(&b, 12, 2, 2);
    gnn_config_t cfg = {3, 4, 2, 3};
    gnn_plan_t plan;
    gnn_cache_t c;
    gnn_params_t p, g1, g2;
    encoder_of(&plan, &c, &p, &b, &cfg, 5);
    cr_assert_eq(gnn_params_init(&g1, &cfg), WEFT_OK);
    cr_assert_eq(gnn_params_init(&g2, &cfg), WEFT_OK);
    size_t N = b.n, E = gnn_out_dim(&cfg);
    double X[12 * 3], dOut[12 * 64];
    cr_assert(E <= 64);
    for (size_t i = 0; i < N * cfg.F; i++)
        X[i] = srand1();
    for (size_t i = 0; i < N * E; i++)
        dOut[i] = srand1();

    gnn_forward(&c, &p, &cfg, &plan, X);
    gnn_params_zero(&g1);
    gnn_backward(&g1, NULL, dOut, &c, &p, &cfg, &plan);
    gnn_params_zero(&g2);
    gnn_backward(&g2, NULL, dOut, &c, &p, &cfg, &plan);
    gnn_backward(&g2, NULL, dOut, &c, &p, &cfg, &plan);
    for (size_t i = 0; i < p.n; i++)
        cr_assert_float_eq(g2.memory[i], 2 * g1.memory[i], 1e-12 + 1e-12 * fabs(g1.memory[i]),
                           "param %zu", i);

    gnn_forward_naive(&c, &p, &cfg, &plan, X);
    gnn_params_zero(&g2);
    gnn_backward(&g2, NULL, dOut, &c, &p, &cfg, &plan);
    for (size_t i = 0; i < p.n; i++)
        cr_assert_float_eq(g2.memory[i], g1.memory[i], 1e-10 + 1e-10 * fabs(g1.memory[i]),
                           "param %zu", i);

    gnn_params_destroy(&p);
    gnn_params_destroy(&g1);
    gnn_params_destroy(&g2);
    gnn_cache_destroy(&c);
    gnn_plan_destroy(&plan);
}

/* Backward after an incremental forward (the learned policy's training
 * rollouts: a coflow finishes, a few rows change) reads the cache that
 * pass left: the same gradients as after a full forward on the new
 * features, to rounding. The changed rows are a root (every descendant
 * recomputed forward), a sink (every ancestor backward) and one node in
 * the middle. */
Test(gnn_grad, backward_after_an_incremental_forward, .timeout = 20)
{
    rng_state = 22;
    batch_t b;
    random_dag(&b, 16, 2, 2);
    gnn_config_t cfg = {3, 4, 2, 3};
    gnn_plan_t plan;
    gnn_cache_t inc, full;
    gnn_params_t p, g_inc, g_full;
    encoder_of(&plan, &inc, &p, &b, &cfg, 22);
    gnn_cache_init(&full);
    cr_assert_eq(gnn_cache_prepare(&full, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&g_inc, &cfg), WEFT_OK);
    cr_assert_eq(gnn_params_init(&g_full, &cfg), WEFT_OK);
    size_t N = b.n, F = cfg.F, E = gnn_out_dim(&cfg);
    double X[16 * 3], dOut[16 * 64], dx_inc[16 * 3] = {0}, dx_full[16 * 3] = {0};
    cr_assert(E <= 64);
    for (size_t i = 0; i < N * F; i++)
        X[i] = srand1();
    for (size_t i = 0; i < N * E; i++)
        dOut[i] = srand1();
    gnn_forward(&inc, &p, &cfg, &plan, X);
    /* a root, a sink and a middle node (children and parents) of job 0 */
    size_t changed[3], n_changed = 0, root = N, sink = N, mid = N;
    for (size_t v = 0; v < N; v++) {
        bool parents = plan.dir[GNN_FWD].pred_start[v + 1] > plan.dir[GNN_FWD].pred_start[v];
        bool children = plan.dir[GNN_BWD].pred_start[v + 1] > plan.dir[GNN_BWD].pred_start[v];
        if (b.job[v] != 0)
            continue;
        if (!parents && children && root == N)
            root = v;
        else if (parents && !children && sink == N)
            sink = v;
        else if (parents && children && mid == N)
            mid = v;
    }
    cr_assert(root < N && sink < N && mid < N, "the DAG needs a root, a sink and a middle");
    changed[n_changed++] = root, changed[n_changed++] = sink, changed[n_changed++] = mid;
    for (size_t i = 0; i < n_changed; i++)
        for (size_t f = 0; f < F; f++)
            X[changed[i] * F + f] = srand1();
    cr_assert_eq(gnn_forward_incremental(&inc, &p, &cfg, &plan, X, changed, n_changed), WEFT_OK,
                 "%s", weft_last_error());
    gnn_forward(&full, &p, &cfg, &plan, X);
    gnn_params_zero(&g_inc);
    gnn_params_zero(&g_full);
    gnn_backward(&g_inc, dx_inc, dOut, &inc, &p, &cfg, &plan);
    gnn_backward(&g_full, dx_full, dOut, &full, &p, &cfg, &plan);
    for (size_t i = 0; i < p.n; i++)
        cr_assert_float_eq(g_inc.memory[i], g_full.memory[i],
                           1e-10 * (1 + fabs(g_full.memory[i])),
                           "param %zu: %.17g after the incremental pass, %.17g after a full one",
                           i, g_inc.memory[i], g_full.memory[i]);
    for (size_t i = 0; i < N * F; i++)
        cr_assert_float_eq(dx_inc[i], dx_full[i], 1e-10 * (1 + fabs(dx_full[i])), "dX[%zu]", i);
    gnn_params_destroy(&p);
    gnn_params_destroy(&g_inc);
    gnn_params_destroy(&g_full);
    gnn_cache_destroy(&inc);
    gnn_cache_destroy(&full);
    gnn_plan_destroy(&plan);
}
