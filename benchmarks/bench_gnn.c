/*
 * bench_gnn.c - latency of the DAGNN encoder's forward pass (DESIGN §6):
 * the naive reference (per-node loops, layer by layer, wave by wave) vs the
 * pipelined pass (one GEMM per gate group per wave, anti-diagonal order)
 * vs the incremental pass (3 nodes' features changed), for N = 10, 100,
 * 1,000 and 10,000 coflows in ~N/10 jobs, shallow (depth <= 3) and deep
 * (depth <= 10) random layered DAGs. Also the plan build (validation and
 * waves, once per change of the graph) and the backward pass.
 *
 * Sizes: F = 16 features, D = 16 hidden, L = 2 layers per direction,
 * S = 16 summary width (E = 112 outputs per node). OpenBLAS runs on one
 * thread: the policy runs beside the emulator, and these GEMMs are far too
 * small for threads to pay off.
 *
 * Each figure is the median of repeated runs (at least 5, until ~0.25 s
 * per figure, or the --quick budget), timed with CLOCK_MONOTONIC.
 *
 * usage: bench_gnn [--quick]
 * Output: a table, then one `BENCH key=value ...` line per figure.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_gnn"
#include "benchmarks/bench_util.h"
#include "gnn/gnn.h"


typedef struct {
    size_t n, n_jobs, *pred_start, *pred, *job;
} batch_t;

/* n nodes in n_jobs layered jobs of depth 1..max_depth; a node below the
 * top has one parent on the level above and up to max_par − 1 more from any
 * level above; node numbers shuffled (as tests/test_gnn.c). */
static void gen_batch(batch_t *b, size_t n, size_t n_jobs, size_t max_depth, size_t max_par,
                      uint64_t seed)
{
    uint64_t s = seed;
    size_t *job = bench_calloc(n, sizeof *job), *level = bench_calloc(n, sizeof *level);
    size_t *perm = bench_calloc(n, sizeof *perm), *first = bench_calloc(n_jobs + 1, sizeof *first);
    size_t ne = 0, *ec = bench_calloc(n * max_par, sizeof *ec);
    size_t *ep = bench_calloc(n * max_par, sizeof *ep);
    for (size_t j = 0; j < n_jobs; j++)
        first[j + 1] = n / n_jobs;
    for (size_t r = 0; r < n % n_jobs; r++)
        first[1 + bench_below(&s, n_jobs)]++;
    for (size_t j = 0; j < n_jobs; j++)
        first[j + 1] += first[j];
    for (size_t j = 0; j < n_jobs; j++) {
        size_t a = first[j], size = first[j + 1] - a;
        size_t depth = 1 + bench_below(&s, size < max_depth ? size : max_depth);
        for (size_t i = 0; i < size; i++) {
            job[a + i] = j;
            level[a + i] = i < depth ? i : bench_below(&s, depth);
        }
        for (size_t i = 0; i < size; i++) {
            size_t v = a + i, u;
            if (level[v] == 0)
                continue;
            do
                u = a + bench_below(&s, size);
            while (level[u] + 1 != level[v]);
            ec[ne] = v, ep[ne] = u, ne++;
            size_t extra = bench_below(&s, max_par);
            for (size_t tries = 0; tries < 4 * extra && extra > 0; tries++) {
                u = a + bench_below(&s, size);
                int dup = level[u] >= level[v];
                for (size_t e = ne; !dup && e-- > 0 && ec[e] == v;)
                    dup |= ep[e] == u;
                if (!dup) {
                    ec[ne] = v, ep[ne] = u, ne++;
                    extra--;
                }
            }
        }
    }
    for (size_t v = 0; v < n; v++)
        perm[v] = v;
    for (size_t v = n; v > 1; v--) {
        size_t k = bench_below(&s, v), t = perm[v - 1];
        perm[v - 1] = perm[k], perm[k] = t;
    }
    b->n = n, b->n_jobs = n_jobs;
    b->pred_start = bench_calloc(n + 1, sizeof(size_t));
    b->pred = bench_calloc(ne, sizeof(size_t));
    b->job = bench_calloc(n, sizeof(size_t));
    for (size_t v = 0; v < n; v++)
        b->job[perm[v]] = job[v];
    for (size_t e = 0; e < ne; e++)
        b->pred_start[perm[ec[e]] + 1]++;
    for (size_t v = 0; v < n; v++)
        b->pred_start[v + 1] += b->pred_start[v];
    size_t *cur = bench_calloc(n + 1, sizeof *cur);
    memcpy(cur, b->pred_start, n * sizeof *cur);
    for (size_t e = 0; e < ne; e++)
        b->pred[cur[perm[ec[e]]]++] = perm[ep[e]];
    free(cur), free(job), free(level), free(perm), free(first), free(ec), free(ep);
}

/* n_jobs chains of len nodes each (node v's parent is v - 1 inside its
 * chain): the gateway benchmark's jobs, the deepest DAGs per node. */
static void gen_chains(batch_t *b, size_t n_jobs, size_t len)
{
    size_t n = n_jobs * len;
    b->n = n, b->n_jobs = n_jobs;
    b->pred_start = bench_calloc(n + 1, sizeof(size_t));
    b->pred = bench_calloc(n, sizeof(size_t));
    b->job = bench_calloc(n, sizeof(size_t));
    size_t e = 0;
    for (size_t v = 0; v < n; v++) {
        b->job[v] = v / len;
        if (v % len)
            b->pred[e++] = v - 1;
        b->pred_start[v + 1] = e;
    }
}

/* What one timed run does. */
typedef enum { RUN_PLAN, RUN_NAIVE, RUN_PIPELINED, RUN_INCREMENTAL, RUN_BACKWARD, N_RUNS } run_t;
static const char *const run_names[N_RUNS] = {"plan", "naive", "pipelined", "incremental",
                                              "backward"};

typedef struct {
    gnn_config_t cfg;
    batch_t b;
    gnn_plan_t plan;
    gnn_cache_t cache;
    gnn_params_t params, grads;
    float *X, *dOut;
    uint64_t rng;
} ctx_t;

static void run_once(ctx_t *cx, run_t r)
{
    switch (r) {
    case RUN_PLAN: {
        gnn_plan_t p;
        bench_check(gnn_plan_build(&p, cx->b.n, cx->b.n_jobs, cx->b.pred_start, cx->b.pred,
                                   cx->b.job),
                    "plan");
        gnn_plan_destroy(&p);
        break;
    }
    case RUN_NAIVE: gnn_forward_naive(&cx->cache, &cx->params, &cx->cfg, &cx->plan, cx->X); break;
    case RUN_PIPELINED: gnn_forward(&cx->cache, &cx->params, &cx->cfg, &cx->plan, cx->X); break;
    case RUN_INCREMENTAL: {
        size_t changed[3];
        for (size_t i = 0; i < 3; i++) {
            changed[i] = bench_below(&cx->rng, cx->b.n);
            cx->X[changed[i] * cx->cfg.F] = (float)bench_unif(&cx->rng);
        }
        bench_check(gnn_forward_incremental(&cx->cache, &cx->params, &cx->cfg, &cx->plan, cx->X,
                                            changed, 3),
                    "incremental");
        break;
    }
    case RUN_BACKWARD:
        gnn_params_zero(&cx->grads);
        gnn_backward(&cx->grads, NULL, cx->dOut, &cx->cache, &cx->params, &cx->cfg, &cx->plan);
        break;
    default: break;
    }
}

/* Median seconds of one run of r. */
static double time_run(ctx_t *cx, run_t r, double budget_s)
{
    enum { MAX_REPS = 4000, MIN_REPS = 5 };
    static double t[MAX_REPS];
    run_once(cx, r); /* warm up */
    size_t reps = 0;
    double start = weft_mono_s();
    while (reps < MAX_REPS && (reps < MIN_REPS || weft_mono_s() - start < budget_s)) {
        double t0 = weft_mono_s();
        run_once(cx, r);
        t[reps++] = weft_mono_s() - t0;
    }
    return bench_median(t, reps);
}

int main(int argc, char **argv)
{
    double budget = 0.25;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            budget = 0.03;
        else {
            fprintf(stderr, "usage: bench_gnn [--quick]\n");
            return 2;
        }
    }
    openblas_set_num_threads(1);
    static char lines[16384]; /* BENCH lines, printed after the table */
    size_t n_lines = 0;
    /* random layered DAGs of N nodes in N/10 jobs, depth <= 3 and 10, then
       the gateway benchmark's 64 chains of 300 */
    typedef struct {
        size_t n, jobs, depth;
        bool chains;
    } case_t;
    static const case_t cases[] = {
        {10, 1, 3, false},      {10, 1, 10, false},      {100, 10, 3, false},
        {100, 10, 10, false},   {1000, 100, 3, false},   {1000, 100, 10, false},
        {10000, 1000, 3, false}, {10000, 1000, 10, false}, {19200, 64, 300, true}};
    printf("gnn forward latency, F=16 D=16 L=2 S=16 (E=112), median of repeats, 1 BLAS thread\n");
    printf("%6s %5s %5s %5s %6s | %9s %9s %9s %9s %9s | %7s %7s %9s\n", "N", "jobs", "depth",
           "waves", "edges", "plan_us", "naive_us", "pipe_us", "incr3_us", "bwd_us", "pipe_x",
           "incr_x", "max_rel");
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            ctx_t cx;
            memset(&cx, 0, sizeof cx);
            cx.cfg = (gnn_config_t){16, 16, 2, 16};
            size_t n = cases[ci].n, jobs = cases[ci].jobs, depth = cases[ci].depth;
            if (cases[ci].chains)
                gen_chains(&cx.b, jobs, n / jobs);
            else /* the seeds of the earlier size x depth loops */
                gen_batch(&cx.b, n, jobs, depth, 3, 1000 * (ci / 2) + ci % 2);
            bench_check(gnn_plan_build(&cx.plan, cx.b.n, cx.b.n_jobs, cx.b.pred_start, cx.b.pred,
                                 cx.b.job),
                  "plan");
            gnn_cache_init(&cx.cache);
            bench_check(gnn_cache_prepare(&cx.cache, &cx.cfg, &cx.plan), "cache");
            bench_check(gnn_params_init(&cx.params, &cx.cfg), "params");
            bench_check(gnn_params_init(&cx.grads, &cx.cfg), "grads");
            gnn_params_init_random(&cx.params, &cx.cfg, 7);
            size_t E = gnn_out_dim(&cx.cfg);
            cx.X = bench_calloc(n * cx.cfg.F, sizeof(float));
            cx.dOut = bench_calloc(n * E, sizeof(float));
            cx.rng = 99 + n;
            for (size_t i = 0; i < n * cx.cfg.F; i++)
                cx.X[i] = (float)(2 * bench_unif(&cx.rng) - 1);
            for (size_t i = 0; i < n * E; i++)
                cx.dOut[i] = (float)(2 * bench_unif(&cx.rng) - 1);

            /* sanity: the two full passes agree */
            float *ref = bench_calloc(n * E, sizeof(float));
            gnn_forward_naive(&cx.cache, &cx.params, &cx.cfg, &cx.plan, cx.X);
            memcpy(ref, cx.cache.out, n * E * sizeof(float));
            gnn_forward(&cx.cache, &cx.params, &cx.cfg, &cx.plan, cx.X);
            double max_rel = 0;
            for (size_t i = 0; i < n * E; i++) {
                double d = fabs((double)cx.cache.out[i] - ref[i]) / (1e-3 + fabs((double)ref[i]));
                max_rel = d > max_rel ? d : max_rel;
            }
            free(ref);

            double t[N_RUNS];
            for (int r = 0; r < N_RUNS; r++) {
                if (r == RUN_INCREMENTAL || r == RUN_BACKWARD) /* both need a full pass first */
                    gnn_forward(&cx.cache, &cx.params, &cx.cfg, &cx.plan, cx.X);
                t[r] = time_run(&cx, (run_t)r, budget);
            }
            size_t waves = cx.plan.dir[GNN_FWD].n_waves, edges = cx.plan.n_edges;
            printf("%6zu %5zu %5zu %5zu %6zu | %9.1f %9.1f %9.1f %9.1f %9.1f | %7.1f %7.1f %9.1e\n",
                   n, jobs, depth, waves, edges, 1e6 * t[RUN_PLAN], 1e6 * t[RUN_NAIVE],
                   1e6 * t[RUN_PIPELINED], 1e6 * t[RUN_INCREMENTAL], 1e6 * t[RUN_BACKWARD],
                   t[RUN_NAIVE] / t[RUN_PIPELINED], t[RUN_PIPELINED] / t[RUN_INCREMENTAL],
                   max_rel);
            for (int r = 0; r < N_RUNS; r++) {
                int len = snprintf(lines + n_lines, sizeof lines - n_lines,
                                   "BENCH bench=gnn mode=%s n=%zu jobs=%zu max_depth=%zu "
                                   "waves=%zu edges=%zu F=16 D=16 L=2 S=16 median_us=%.2f\n",
                                   run_names[r], n, jobs, depth, waves, edges, 1e6 * t[r]);
                if (len > 0 && (size_t)len < sizeof lines - n_lines)
                    n_lines += (size_t)len;
            }
            free(cx.X), free(cx.dOut);
            free(cx.b.pred_start), free(cx.b.pred), free(cx.b.job);
            gnn_params_destroy(&cx.params);
            gnn_params_destroy(&cx.grads);
            gnn_cache_destroy(&cx.cache);
            gnn_plan_destroy(&cx.plan);
        }
    fputs(lines, stdout);
    return 0;
}
