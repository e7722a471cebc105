/*
 * bench_policy.c - decision latency of the learned ordering (coflow/learned.c,
 * DESIGN §6), split into its phases: features (live jobs, node features,
 * normalisation), embedding (DAGNN encoder), attention (gather + scorer),
 * sort (argsort + permutation).
 *
 * Three embedding modes on the same states in the same run:
 *   incremental  the ordering's default: between two decisions the remaining
 *                bytes of 3 schedulable coflows change, so only those rows
 *                and what lies above/below them are recomputed
 *   full         the pipelined wave-batched forward every decision
 *   naive        the level-by-level per-node reference (gnn_forward_naive)
 * each with the scorer's vector kernels (attn=vec, attn_forward), and the
 * incremental mode once more with the scorer's kernels before issue 4
 * (attn=libm, attn_forward_libm: scalar libm softmax/GELU/LayerNorm around
 * BLAS GEMMs), so the speed-up is measured side by side.
 * Sweeps: schedulable coflows 10, 100, 1,000, 10,000 (in 4x as many nodes,
 * jobs of 10 coflows in 4 waves, 2.5 schedulable per job), and DAG depth
 * 2, 5, 10 at the headline size. Headline: 100 active jobs holding 1,000
 * coflows, 250 of them schedulable.
 *
 * States are built directly (coflow_state_release / finish_flow): per job a
 * prefix of its coflows (in topological order) is DONE, the next ready ones
 * are ACTIVE with part of their bytes sent, the rest WAITING.
 *
 * Each figure is the median over repeated decisions (at least 5, until
 * ~0.3 s per mode, at most 201), timed with CLOCK_MONOTONIC inside the
 * ordering. The modes' decisions are interleaved, a round of each at a
 * time, so that a slow spell of a shared machine cannot favour one.
 * OpenBLAS runs on one thread (one-core figures).
 *
 * usage: bench_policy [--quick]     (--quick: no 10,000 case, fewer repeats)
 * Output: a table, then one `BENCH key=value ...` line per figure.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_policy"
#include "benchmarks/bench_util.h"
#include "dag/dag.h"
#include "netsim/netsim.h"

#define N_PORTS 150


/* n_jobs jobs of per_job coflows spread over `depth` waves (earlier waves
 * get the remainder); each coflow below the first wave has 1-2 parents in
 * the wave above; 1-8 flows of 1-100 MB on random ports. All arrive at 0. */
static void build_workload(coflow_workload_t *wl, size_t n_jobs, size_t per_job, size_t depth,
                           uint64_t seed)
{
    uint64_t s = seed;
    coflow_workload_init(wl, N_PORTS);
    if (depth > per_job)
        depth = per_job;
    for (size_t j = 0; j < n_jobs; j++) {
        bench_check(coflow_workload_add_job(wl, (int64_t)j, 0, 1 + (double)(bench_rand(&s) % 5), 0),
              "job");
        size_t id = 0, prev_first = 0, prev_n = 0;
        for (size_t l = 0; l < depth; l++) {
            size_t width = per_job / depth + (l < per_job % depth), first = id;
            for (size_t k = 0; k < width; k++, id++) {
                bench_check(coflow_workload_add_coflow(wl, (int64_t)id, 0), "coflow");
                size_t nf = 1 + bench_rand(&s) % 8;
                for (size_t f = 0; f < nf; f++)
                    bench_check(coflow_workload_add_flow(wl, (uint32_t)(bench_rand(&s) % N_PORTS),
                                                   (uint32_t)(bench_rand(&s) % N_PORTS),
                                                   1e6 + 99e6 * bench_unif(&s)), "flow");
                if (l > 0) {
                    size_t p1 = prev_first + bench_rand(&s) % prev_n;
                    size_t p2 = prev_first + bench_rand(&s) % prev_n;
                    bench_check(coflow_workload_add_parent(wl, (int64_t)p1), "parent");
                    if (p2 != p1)
                        bench_check(coflow_workload_add_parent(wl, (int64_t)p2), "parent");
                }
            }
            prev_first = first;
            prev_n = width;
        }
        bench_check(coflow_workload_finish_job(wl), "finish job");
    }
}

static void finish_coflow(coflow_state_t *st, size_t c)
{
    const coflow_coflow_t *co = &st->wl->coflows[c];
    while (st->n_open[c] > 0) {
        size_t f = st->open_flows[co->first_flow];
        st->coflow_remaining[c] -= st->flow_remaining[f];
        coflow_state_finish_flow(st, f);
    }
}

/* Marks about `target` coflows ACTIVE (target / jobs per job), a prefix
 * of each job DONE so that they are ready. Returns the ids of the active
 * ones, by release time then index, in ids; their count in *n. */
static void make_state(coflow_state_t *st, size_t target, size_t *ids, size_t *n, uint64_t seed)
{
    const coflow_workload_t *wl = st->wl;
    uint64_t s = seed;
    size_t nj = wl->n_jobs, n_act = 0;
    st->now = 5.0;
    for (size_t j = 0; j < nj; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        size_t fc = job->first_coflow, nc = job->n_coflows;
        size_t quota = target / nj + (j < target % nj);
        /* smallest done prefix with at least `quota` ready coflows after it */
        size_t best_k = 0, best_ready = 0;
        for (size_t k = 0; k <= nc; k++) {
            size_t ready = 0;
            for (size_t c = fc + k; c < fc + nc; c++) {
                const coflow_coflow_t *co = &wl->coflows[c];
                bool ok = true;
                for (size_t q = 0; q < co->n_parents && ok; q++)
                    ok = wl->parents[co->first_parent + q] < fc + k;
                ready += ok;
            }
            if (ready > best_ready) {
                best_ready = ready;
                best_k = k;
            }
            if (ready >= quota) {
                best_k = k;
                break;
            }
        }
        for (size_t c = fc; c < fc + best_k; c++) {
            coflow_state_release(st, c, 1.0);
            finish_coflow(st, c);
            st->finish_s[c] = 2.0 + bench_unif(&s);
        }
        size_t marked = 0;
        for (size_t c = fc + best_k; c < fc + nc && marked < quota; c++) {
            const coflow_coflow_t *co = &wl->coflows[c];
            bool ok = true;
            for (size_t q = 0; q < co->n_parents && ok; q++)
                ok = st->status[wl->parents[co->first_parent + q]] == COFLOW_DONE;
            if (!ok)
                continue;
            coflow_state_release(st, c, 3.0 + bench_unif(&s));
            for (size_t k = 0; k < st->n_open[c]; k++) { /* part of it sent */
                size_t f = st->open_flows[co->first_flow + k];
                double moved = st->flow_remaining[f] * 0.5 * bench_unif(&s);
                st->flow_remaining[f] -= moved;
                st->coflow_remaining[c] -= moved;
            }
            ids[n_act++] = c;
            marked++;
        }
    }
    /* release time, then index */
    for (size_t i = 1; i < n_act; i++) {
        size_t x = ids[i], k = i;
        while (k > 0 && (st->release_s[ids[k - 1]] > st->release_s[x] ||
                         (st->release_s[ids[k - 1]] == st->release_s[x] && ids[k - 1] > x))) {
            ids[k] = ids[k - 1];
            k--;
        }
        ids[k] = x;
    }
    *n = n_act;
}

typedef struct {
    double features, embed, attn, sort, total; /* medians, seconds */
    double changed;                            /* median rows changed */
    size_t reps;
    size_t n_incremental;                      /* decisions that took the incremental path */
} figure_t;

/* Toggles one open flow of `count` active coflows between its bytes and
 * 70% of them, so their remaining-bytes features change. */
static void perturb(coflow_state_t *st, const size_t *ids, size_t n, size_t rep, bool *low)
{
    size_t count = n < 3 ? n : 3;
    for (size_t k = 0; k < count; k++) {
        size_t i = (rep * 7 + k * (n / 3 + 1)) % n, c = ids[i];
        const coflow_coflow_t *co = &st->wl->coflows[c];
        size_t f = st->open_flows[co->first_flow];
        double delta = low[i] ? st->flow_remaining[f] * (1 / 0.7 - 1)
                              : -st->flow_remaining[f] * 0.3;
        st->flow_remaining[f] += delta;
        st->coflow_remaining[c] += delta;
        low[i] = !low[i];
    }
}

/* One mode's timings, a sample per decision. */
typedef struct {
    double *f, *e, *a, *so, *t, *ch;
} samples_t;

/* Times decisions of the n_modes (mode, libm) pairs on the same state,
 * interleaved: each round takes one decision of every pair, in turn
 * forward and backward (ABBA), so a slow spell of the shared machine
 * weighs on every pair alike and their ratios hold. Before each decision
 * three coflows' bytes change (perturb), whichever pair took the last
 * one: a full forward leaves the cache the incremental pass starts from.
 * figs[m] gets pair m's medians. */
static void measure(const coflow_ordering_t *o, void *ctx, coflow_state_t *st,
                    const size_t *base, size_t n, const coflow_learned_mode_t *modes,
                    const bool *libm, size_t n_modes, bool quick, figure_t *figs)
{
    size_t max_reps = quick ? 21 : 201;
    double budget = (quick ? 0.05 : 0.3) * (double)n_modes;
    samples_t *sm = bench_calloc(n_modes, sizeof *sm);
    for (size_t m = 0; m < n_modes; m++) {
        sm[m].f = bench_calloc(max_reps, sizeof *sm[m].f);
        sm[m].e = bench_calloc(max_reps, sizeof *sm[m].e);
        sm[m].a = bench_calloc(max_reps, sizeof *sm[m].a);
        sm[m].so = bench_calloc(max_reps, sizeof *sm[m].so);
        sm[m].t = bench_calloc(max_reps, sizeof *sm[m].t);
        sm[m].ch = bench_calloc(max_reps, sizeof *sm[m].ch);
        figs[m] = (figure_t){0};
    }
    size_t *ids = bench_calloc(n, sizeof *ids);
    bool *low = bench_calloc(n, sizeof *low);
    /* warm-up: the first decision builds the plan and runs a full forward */
    memcpy(ids, base, n * sizeof *ids);
    bench_check(o->order(ctx, st, ids, n), "decision");
    double start = weft_mono_s();
    size_t r = 0, step = 0;
    for (; r < max_reps && (r < 5 || weft_mono_s() - start < budget); r++)
        for (size_t i = 0; i < n_modes; i++, step++) {
            size_t m = r % 2 ? n_modes - 1 - i : i;
            coflow_learned_set_mode(ctx, modes[m]);
            coflow_learned_set_libm_attention(ctx, libm[m]);
            perturb(st, base, n, step, low);
            memcpy(ids, base, n * sizeof *ids);
            bench_check(o->order(ctx, st, ids, n), "decision");
            coflow_learned_timing_t tm;
            coflow_learned_last_timing(ctx, &tm);
            samples_t *x = &sm[m];
            x->f[r] = tm.features_s, x->e[r] = tm.embed_s, x->a[r] = tm.attn_s;
            x->so[r] = tm.sort_s;
            x->t[r] = tm.features_s + tm.embed_s + tm.attn_s + tm.sort_s;
            x->ch[r] = (double)tm.n_changed;
            figs[m].n_incremental += tm.incremental;
        }
    /* undo the perturbation so every case starts from its own state */
    for (size_t i = 0; i < n; i++)
        if (low[i]) {
            const coflow_coflow_t *co = &st->wl->coflows[base[i]];
            size_t fl = st->open_flows[co->first_flow];
            double delta = st->flow_remaining[fl] * (1 / 0.7 - 1);
            st->flow_remaining[fl] += delta;
            st->coflow_remaining[base[i]] += delta;
        }
    for (size_t m = 0; m < n_modes; m++) {
        samples_t *x = &sm[m];
        figure_t *fg = &figs[m];
        fg->reps = r;
        fg->features = bench_median(x->f, r), fg->embed = bench_median(x->e, r);
        fg->attn = bench_median(x->a, r), fg->sort = bench_median(x->so, r);
        fg->total = bench_median(x->t, r), fg->changed = bench_median(x->ch, r);
        free(x->f), free(x->e), free(x->a), free(x->so), free(x->t), free(x->ch);
    }
    free(sm), free(ids), free(low);
}

static const char *mode_name(coflow_learned_mode_t m)
{
    return m == COFLOW_LEARNED_AUTO ? "incremental" : m == COFLOW_LEARNED_FULL ? "full" : "naive";
}

/* One state: every mode, a table row and a BENCH line each. Returns the
 * median total of the incremental mode with the vector kernels, and in
 * *libm_total the same with the libm kernels (seconds). */
static double run_case(const char *name, size_t n_jobs, size_t per_job, size_t depth,
                       size_t target, bool quick, bool print, double *libm_total)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    build_workload(&wl, n_jobs, per_job, depth, 1000 + n_jobs + depth);
    bench_check(coflow_fabric_init(&fab, N_PORTS, WEFT_GBPS_BYTES), "fabric");
    bench_check(dag_analyze(&wl, &fab), "dag_analyze");
    coflow_state_t st;
    bench_check(coflow_state_init(&st, &wl, &fab), "state");
    st.policy_seed = 1;
    size_t *base = bench_calloc(wl.n_coflows, sizeof *base), n = 0;
    make_state(&st, target, base, &n, 77);
    const coflow_ordering_t *o = coflow_ordering_find("learned");
    void *ctx = NULL;
    bench_check(o->create(&ctx, &st), "create");
    uint32_t max_depth = 0;
    for (size_t j = 0; j < wl.n_jobs; j++)
        max_depth = wl.jobs[j].depth > max_depth ? wl.jobs[j].depth : max_depth;
    static const coflow_learned_mode_t modes[4] = {COFLOW_LEARNED_AUTO, COFLOW_LEARNED_FULL,
                                                   COFLOW_LEARNED_NAIVE, COFLOW_LEARNED_AUTO};
    static const bool libm[4] = {false, false, false, true};
    figure_t figs[4];
    measure(o, ctx, &st, base, n, modes, libm, 4, quick, figs);
    if (libm_total)
        *libm_total = figs[3].total;
    for (size_t m = 0; m < 4 && print; m++) {
        const figure_t fg = figs[m];
        printf("%-9s %7zu %6zu %7zu %5u %-11s %-4s %10.3f %10.3f %10.3f %9.3f %10.3f %7.0f %5zu\n",
               name, wl.n_coflows, wl.n_jobs, n, max_depth, mode_name(modes[m]),
               libm[m] ? "libm" : "vec", 1e3 * fg.features, 1e3 * fg.embed, 1e3 * fg.attn,
               1e3 * fg.sort, 1e3 * fg.total, fg.changed, fg.reps);
        printf("BENCH bench=policy case=%s nodes=%zu jobs=%zu active=%zu depth=%u mode=%s "
               "attn=%s features_us=%.1f embed_us=%.1f attn_us=%.1f sort_us=%.1f total_us=%.1f "
               "changed=%.0f incremental=%zu reps=%zu\n",
               name, wl.n_coflows, wl.n_jobs, n, max_depth, mode_name(modes[m]),
               libm[m] ? "libm" : "vec", 1e6 * fg.features, 1e6 * fg.embed, 1e6 * fg.attn,
               1e6 * fg.sort, 1e6 * fg.total, fg.changed, fg.n_incremental, fg.reps);
        fflush(stdout);
    }
    o->destroy(ctx);
    free(base);
    coflow_state_destroy(&st);
    coflow_fabric_destroy(&fab);
    coflow_workload_destroy(&wl);
    return figs[0].total;
}

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else {
            fprintf(stderr, "usage: bench_policy [--quick]\n");
            return 2;
        }
    }
    openblas_set_num_threads(1);
    printf("learned ordering: decision latency in ms (median), F=%zu D=16 L=2 S=16, "
           "attention M=32 H=4 B=2, one BLAS thread\n\n",
           coflow_learned_n_features());
    printf("%-9s %7s %6s %7s %5s %-11s %-4s %10s %10s %10s %9s %10s %7s %5s\n", "case", "nodes",
           "jobs", "active", "depth", "embedding", "attn", "features", "embed", "attention",
           "sort", "total", "changed", "reps");
    /* headline: 100 active jobs, 1,000 coflows, 250 schedulable; after an
       unprinted warm-up run of the same case (page faults, clock ramp-up) */
    run_case("headline", 100, 10, 4, 250, quick, false, NULL);
    double libm_total = 0;
    double head_total = run_case("headline", 100, 10, 4, 250, quick, true, &libm_total);
    /* schedulable coflows */
    static const size_t actives[4] = {10, 100, 1000, 10000};
    for (size_t i = 0; i < 4; i++) {
        if (quick && actives[i] > 1000)
            continue;
        size_t jobs = actives[i] * 4 / 10;
        run_case("active", jobs, 10, 4, actives[i], quick, true, NULL);
    }
    /* DAG depth at the headline size (depth 10 = chains: 1 ready per job) */
    static const size_t depths[3] = {2, 5, 10};
    for (size_t i = 0; i < 3; i++)
        run_case("depth", 100, 10, depths[i], 250, quick, true, NULL);
    printf("\nheadline (incremental): %.3f ms with the vector kernels, %.3f ms with the libm "
           "kernels (%.2fx); target 1 ms: %s\n",
           1e3 * head_total, 1e3 * libm_total, libm_total / head_total,
           head_total < 1e-3 ? "met" : "not met");
    printf("BENCH bench=policy case=headline summary=1 total_us=%.1f libm_total_us=%.1f "
           "speedup=%.2f target_us=1000 met=%d\n",
           1e6 * head_total, 1e6 * libm_total, libm_total / head_total, head_total < 1e-3);
    return 0;
}
