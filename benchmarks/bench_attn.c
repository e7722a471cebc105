/*
 * bench_attn.c - latency of the self-attention scorer (DESIGN §6) for
 * n = 10, 100, 250 and 1,000 schedulable coflows: the forward (vector
 * kernels, fused attention, weights kept for backward), the inference
 * forward (what one scheduling decision runs: the same without keeping the
 * attention weights), the forward as it was before them
 * (attn_forward_libm: BLAS GEMMs, scalar libm softmax/GELU/LayerNorm), the
 * naive reference forward, the backward pass, and one Gumbel top-k sample
 * plus its Plackett–Luce log-probability and gradient (what a training
 * rollout adds per decision).
 *
 * Sizes: E = 64 input width, M = 32 model width, H = 4 heads (K = 8),
 * B = 2 blocks, F = 128 feed-forward width, pre-LN, GELU. OpenBLAS runs on
 * one thread: the policy runs beside the emulator, and these GEMMs are too
 * small for threads to pay off.
 *
 * Each figure is the median of repeated runs (at least 5, until ~0.25 s
 * per figure, or the --quick budget), timed with CLOCK_MONOTONIC, the
 * operations interleaved a round at a time so that their ratios hold on a
 * shared machine.
 *
 * usage: bench_attn [--quick]
 * Output: a table, then one `BENCH key=value ...` line per n.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_attn"
#include "benchmarks/bench_util.h"
#include "attention/attn.h"

#define MAX_RUNS 10001

typedef struct {
    attn_config_t cfg;
    attn_params_t params, grads;
    attn_cache_t cache;
    attn_rng_t rng;
    float *X, *dscores;
    size_t *order;
    double *work;
    size_t n;
} ctx_t;

enum { OP_FORWARD, OP_INFER, OP_LIBM, OP_NAIVE, OP_BACKWARD, OP_SAMPLE, N_OPS };

static void run_op(ctx_t *cx, int op)
{
    switch (op) {
    case OP_FORWARD: attn_forward(&cx->cache, &cx->params, &cx->cfg, cx->X, cx->n); break;
    case OP_INFER: attn_forward_infer(&cx->cache, &cx->params, &cx->cfg, cx->X, cx->n); break;
    case OP_LIBM: attn_forward_libm(&cx->cache, &cx->params, &cx->cfg, cx->X, cx->n); break;
    case OP_NAIVE: attn_forward_naive(&cx->cache, &cx->params, &cx->cfg, cx->X, cx->n); break;
    case OP_BACKWARD:
        attn_params_zero(&cx->grads);
        attn_backward(&cx->grads, NULL, cx->dscores, &cx->cache, &cx->params, &cx->cfg);
        break;
    default: {
        attn_gumbel_topk(cx->cache.scores, cx->n, &cx->rng, cx->order, cx->work);
        volatile double lp = attn_pl_logprob(cx->cache.scores, cx->n, cx->order);
        (void)lp;
        memset(cx->dscores, 0, cx->n * sizeof *cx->dscores);
        attn_pl_logprob_backward(cx->cache.scores, cx->n, cx->order, 1.0, cx->dscores, cx->work);
    }
    }
}

/* Seconds of one run of op; backward after an untimed BLAS forward, whose
 * cache it reads. */
static double run_op_timed(ctx_t *cx, int op)
{
    if (op == OP_BACKWARD)
        attn_forward(&cx->cache, &cx->params, &cx->cfg, cx->X, cx->n);
    double t0 = weft_mono_s();
    run_op(cx, op);
    return weft_mono_s() - t0;
}

/* Medians, in fig[op], of every op over rounds (>= 5, until budget seconds
 * per op), each round running every op once, in turn forward and backward
 * (ABBA): a slow spell of a shared machine then weighs on all alike, and
 * the ratios between them hold. */
static void time_ops(ctx_t *cx, double budget, double fig[N_OPS])
{
    static double t[N_OPS][MAX_RUNS];
    for (int op = 0; op < N_OPS; op++) /* warm caches and BLAS buffers */
        run_op_timed(cx, op);
    size_t reps = 0;
    double start = weft_mono_s();
    while (reps < MAX_RUNS && (reps < 5 || weft_mono_s() - start < budget * N_OPS)) {
        for (int i = 0; i < N_OPS; i++) {
            int op = reps % 2 ? N_OPS - 1 - i : i;
            t[op][reps] = run_op_timed(cx, op);
        }
        reps++;
    }
    for (int op = 0; op < N_OPS; op++)
        fig[op] = bench_median(t[op], reps);
}

int main(int argc, char **argv)
{
    double budget = 0.25;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            budget = 0.03;
        else {
            fprintf(stderr, "usage: bench_attn [--quick]\n");
            return 2;
        }
    }
    openblas_set_num_threads(1);
    static const size_t sizes[] = {10, 100, 250, 1000};
    enum { N_SIZES = sizeof sizes / sizeof sizes[0] };
    double fig[N_SIZES][N_OPS], max_rel[N_SIZES], mib[N_SIZES];
    ctx_t cx;
    memset(&cx, 0, sizeof cx);
    cx.cfg = (attn_config_t){.E = 64, .M = 32, .H = 4, .B = 2, .norm = ATTN_PRE_LN,
                             .act = ATTN_GELU};
    bench_check(attn_params_init(&cx.params, &cx.cfg), "params");
    bench_check(attn_params_init(&cx.grads, &cx.cfg), "grads");
    attn_params_init_random(&cx.params, &cx.cfg, 7);
    attn_rng_seed(&cx.rng, 11);
    size_t n_max = sizes[N_SIZES - 1];
    cx.X = bench_calloc(n_max * cx.cfg.E, sizeof *cx.X);
    cx.dscores = bench_calloc(n_max, sizeof *cx.dscores);
    cx.order = bench_calloc(n_max, sizeof *cx.order);
    cx.work = bench_calloc(n_max, sizeof *cx.work);
    for (size_t i = 0; i < n_max * cx.cfg.E; i++)
        cx.X[i] = (float)(2 * attn_rng_uniform(&cx.rng) - 1);

    printf("attn scorer latency, E=64 M=32 H=4 B=2 F=128 pre-LN GELU (%zu parameters), median "
           "of repeats, 1 BLAS thread\n",
           attn_param_count(&cx.cfg));
    printf("%6s | %10s %10s %10s %10s %10s %10s | %7s %8s %9s %9s\n", "n", "fwd_us", "infer_us",
           "libm_us", "naive_us", "bwd_us", "sample_us", "libm_x", "naive_x", "max_rel",
           "cache_MiB");
    for (size_t si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si];
        cx.n = n;
        /* a fresh cache per n, so its size is what this n needs */
        attn_cache_init(&cx.cache);
        bench_check(attn_cache_prepare(&cx.cache, &cx.cfg, n), "cache");
        mib[si] = (double)cx.cache.block_cap * sizeof(float) / (1 << 20);
        /* sanity: the two forwards agree */
        float *ref = bench_calloc(n, sizeof *ref);
        attn_forward_naive(&cx.cache, &cx.params, &cx.cfg, cx.X, n);
        memcpy(ref, cx.cache.scores, n * sizeof *ref);
        attn_forward(&cx.cache, &cx.params, &cx.cfg, cx.X, n);
        max_rel[si] = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)cx.cache.scores[i] - ref[i]) / (1e-3 + fabs((double)ref[i]));
            max_rel[si] = d > max_rel[si] ? d : max_rel[si];
        }
        free(ref);
        for (size_t i = 0; i < n; i++)
            cx.dscores[i] = (float)(2 * attn_rng_uniform(&cx.rng) - 1);
        time_ops(&cx, budget, fig[si]);
        printf("%6zu | %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f | %7.2f %8.1f %9.1e %9.2f\n", n,
               1e6 * fig[si][OP_FORWARD], 1e6 * fig[si][OP_INFER], 1e6 * fig[si][OP_LIBM],
               1e6 * fig[si][OP_NAIVE],
               1e6 * fig[si][OP_BACKWARD], 1e6 * fig[si][OP_SAMPLE],
               fig[si][OP_LIBM] / fig[si][OP_FORWARD], fig[si][OP_NAIVE] / fig[si][OP_FORWARD],
               max_rel[si], mib[si]);
        attn_cache_destroy(&cx.cache);
    }
    for (size_t si = 0; si < N_SIZES; si++)
        printf("BENCH bench=attn n=%zu E=64 M=32 H=4 B=2 norm=pre act=gelu fwd_us=%.2f "
               "infer_us=%.2f libm_us=%.2f naive_us=%.2f bwd_us=%.2f sample_us=%.2f max_rel=%.2e "
               "cache_mib=%.2f\n",
               sizes[si], 1e6 * fig[si][OP_FORWARD], 1e6 * fig[si][OP_INFER],
               1e6 * fig[si][OP_LIBM], 1e6 * fig[si][OP_NAIVE],
               1e6 * fig[si][OP_BACKWARD], 1e6 * fig[si][OP_SAMPLE], max_rel[si], mib[si]);
    attn_params_destroy(&cx.params);
    attn_params_destroy(&cx.grads);
    free(cx.X), free(cx.dscores), free(cx.order), free(cx.work);
    return 0;
}
