/*
 * test_gnn.c - the DAGNN encoder in float (weftlib): plan validation and
 * waves, the GRU and attention conventions on hand-sized cases, naive vs
 * pipelined forward, incremental vs full forward, graphs of any size with
 * one parameter set, and equivariance under relabelling of the nodes.
 * (Gradients are checked in double in test_gnn_f64.c.)
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"

/* ------------------------------------------------------------------ */
/* helpers */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double urand(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }
static size_t irand(uint64_t *s, size_t n) { return (size_t)(urand(s) * (double)n); }

/* A batch as the caller hands it over: CSR parents and job per node. */
typedef struct {
    size_t n, n_jobs;
    size_t *pred_start; /* [n+1] */
    size_t *pred;       /* [pred_start[n]] */
    size_t *job;        /* [n] */
} batch_t;

static void batch_free(batch_t *b)
{
    free(b->pred_start);
    free(b->pred);
    free(b->job);
    memset(b, 0, sizeof *b);
}

/* n nodes in n_jobs layered jobs (each job: depth 1..max_depth, every node
 * below the top level has a parent one level up and up to max_par − 1 more
 * from any level above), node numbers shuffled across jobs so neither the
 * numbering nor the job order is topological. */
static void gen_batch(batch_t *b, size_t n, size_t n_jobs, size_t max_depth, size_t max_par,
                      uint64_t seed)
{
    uint64_t s = seed;
    size_t *job = calloc(n, sizeof *job), *level = calloc(n, sizeof *level);
    size_t *perm = calloc(n, sizeof *perm), *first = calloc(n_jobs + 1, sizeof *first);
    size_t cap = n * max_par + 1, ne = 0;
    size_t *ec = calloc(cap, sizeof *ec), *ep = calloc(cap, sizeof *ep);
    /* job sizes: n / n_jobs each, the remainder to random jobs */
    for (size_t j = 0; j < n_jobs; j++)
        first[j + 1] = n / n_jobs;
    for (size_t r = 0; r < n % n_jobs; r++)
        first[1 + irand(&s, n_jobs)]++;
    for (size_t j = 0; j < n_jobs; j++)
        first[j + 1] += first[j];
    for (size_t j = 0; j < n_jobs; j++) {
        size_t a = first[j], size = first[j + 1] - a;
        size_t depth = 1 + irand(&s, size < max_depth ? size : max_depth);
        for (size_t i = 0; i < size; i++) {
            job[a + i] = j;
            level[a + i] = i < depth ? i : irand(&s, depth);
        }
        for (size_t i = 0; i < size; i++) {
            size_t v = a + i;
            if (level[v] == 0)
                continue;
            size_t u;
            do /* one parent on the level just above (levels 0..depth-1 all exist) */
                u = a + irand(&s, size);
            while (level[u] + 1 != level[v]);
            ec[ne] = v, ep[ne] = u, ne++;
            size_t extra = irand(&s, max_par); /* then up to max_par - 1 from any level above */
            for (size_t tries = 0; tries < 4 * extra && extra > 0; tries++) {
                u = a + irand(&s, size);
                if (level[u] >= level[v])
                    continue;
                int dup = 0;
                for (size_t e = ne; e-- > 0 && ec[e] == v;)
                    dup |= ep[e] == u;
                if (dup)
                    continue;
                ec[ne] = v, ep[ne] = u, ne++;
                extra--;
            }
        }
    }
    /* shuffle node numbers (Fisher-Yates) */
    for (size_t v = 0; v < n; v++)
        perm[v] = v;
    for (size_t v = n; v > 1; v--) {
        size_t k = irand(&s, v), t = perm[v - 1];
        perm[v - 1] = perm[k], perm[k] = t;
    }
    b->n = n, b->n_jobs = n_jobs;
    b->pred_start = calloc(n + 1, sizeof(size_t));
    b->pred = calloc(ne + 1, sizeof(size_t));
    b->job = calloc(n + 1, sizeof(size_t));
    for (size_t v = 0; v < n; v++)
        b->job[perm[v]] = job[v];
    for (size_t e = 0; e < ne; e++)
        b->pred_start[perm[ec[e]] + 1]++;
    for (size_t v = 0; v < n; v++)
        b->pred_start[v + 1] += b->pred_start[v];
    size_t *cur = calloc(n + 1, sizeof *cur);
    memcpy(cur, b->pred_start, n * sizeof *cur);
    for (size_t e = 0; e < ne; e++)
        b->pred[cur[perm[ec[e]]]++] = perm[ep[e]];
    free(cur);
    free(job), free(level), free(perm), free(first), free(ec), free(ep);
}

/* Relabels b: node v becomes perm[v], job j becomes jperm[j]. */
static void relabel(batch_t *out, const batch_t *b, const size_t *perm, const size_t *jperm)
{
    size_t n = b->n;
    out->n = n, out->n_jobs = b->n_jobs;
    out->pred_start = calloc(n + 1, sizeof(size_t));
    out->pred = calloc(b->pred_start[n] + 1, sizeof(size_t));
    out->job = calloc(n + 1, sizeof(size_t));
    for (size_t v = 0; v < n; v++) {
        out->job[perm[v]] = jperm[b->job[v]];
        out->pred_start[perm[v] + 1] = b->pred_start[v + 1] - b->pred_start[v];
    }
    for (size_t v = 0; v < n; v++)
        out->pred_start[v + 1] += out->pred_start[v];
    for (size_t v = 0; v < n; v++)
        for (size_t i = b->pred_start[v]; i < b->pred_start[v + 1]; i++) {
            /* reversed parent order too: the result must not depend on it */
            size_t k = b->pred_start[v + 1] - 1 - i;
            out->pred[out->pred_start[perm[v]] + k] = perm[b->pred[i]];
        }
}

static float *random_features(size_t n, size_t F, uint64_t seed)
{
    float *X = malloc((n * F + 1) * sizeof *X);
    for (size_t i = 0; i < n * F; i++)
        X[i] = (float)(2 * urand(&seed) - 1);
    return X;
}

/* |a − b| <= atol + rtol |b| for every element; names the worst. */
static void assert_close(const float *a, const float *b, size_t n, size_t E, double rtol,
                         double atol, const char *what)
{
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): set by the caller */
        double ex = fabs((double)a[i] - b[i]) - (atol + rtol * fabs((double)b[i]));
        if (i == 0 || ex > worst)
            worst = ex, wi = i;
    }
    cr_assert(n == 0 || worst <= 0, "%s: row %zu col %zu: %.9g vs %.9g (rtol %g, atol %g)", what,
              wi / E, wi % E, n ? a[wi] : 0.0, n ? b[wi] : 0.0, rtol, atol);
}

/* ------------------------------------------------------------------ */
/* gnn_plan */

TestSuite(gnn_plan, .timeout = 10);

/* job 0: diamond a=5 -> {b=2, c=0} -> d=3; job 1: chain 6 -> 1 -> 4 */
static const size_t DC_PS[] = {0, 1, 2, 3, 5, 6, 6, 6};
static const size_t DC_PRED[] = {5, 6, 5, 2, 0, 1};
static const size_t DC_JOB[] = {0, 1, 0, 0, 1, 0, 1};

Test(gnn_plan, waves_both_directions)
{
    gnn_plan_t plan;
    cr_assert_eq(gnn_plan_build(&plan, 7, 2, DC_PS, DC_PRED, DC_JOB), WEFT_OK, "%s",
                 weft_last_error());
    static const size_t fw[] = {1, 1, 1, 2, 2, 0, 0}; /* roots 5, 6 */
    static const size_t bw[] = {1, 1, 1, 0, 0, 2, 2}; /* leaves 3, 4 */
    for (size_t v = 0; v < 7; v++) {
        cr_assert_eq(plan.dir[GNN_FWD].wave[v], fw[v], "fwd wave of %zu", v);
        cr_assert_eq(plan.dir[GNN_BWD].wave[v], bw[v], "bwd wave of %zu", v);
    }
    cr_assert_eq(plan.dir[GNN_FWD].n_waves, 3);
    cr_assert_eq(plan.dir[GNN_BWD].n_waves, 3);
    static const size_t fw_order[] = {5, 6, 0, 1, 2, 3, 4};
    static const size_t bw_order[] = {3, 4, 0, 1, 2, 5, 6};
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(plan.dir[GNN_FWD].order[i], fw_order[i]);
        cr_assert_eq(plan.dir[GNN_BWD].order[i], bw_order[i]);
    }
    cr_assert_eq(plan.dir[GNN_FWD].wave_start[1], 2);
    cr_assert_eq(plan.dir[GNN_FWD].wave_start[2], 5);
    cr_assert_eq(plan.max_wave_size, 3);
    /* children of a = 5 are b = 2 and c = 0, ascending */
    const gnn_dir_plan_t *b = &plan.dir[GNN_BWD];
    cr_assert_eq(b->pred_start[6] - b->pred_start[5], 2);
    cr_assert_eq(b->pred[b->pred_start[5]], 0);
    cr_assert_eq(b->pred[b->pred_start[5] + 1], 2);
    /* job index */
    cr_assert_eq(plan.job_start[1], 4);
    static const size_t job0[] = {0, 2, 3, 5};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(plan.job_nodes[i], job0[i]);
    gnn_plan_destroy(&plan);
}

Test(gnn_plan, every_predecessor_in_an_earlier_wave)
{
    batch_t b;
    gen_batch(&b, 500, 37, 9, 3, 77);
    gnn_plan_t plan;
    cr_assert_eq(gnn_plan_build(&plan, b.n, b.n_jobs, b.pred_start, b.pred, b.job), WEFT_OK, "%s",
                 weft_last_error());
    for (int d = 0; d < GNN_NDIR; d++) {
        const gnn_dir_plan_t *dp = &plan.dir[d];
        for (size_t v = 0; v < b.n; v++) {
            size_t mx = 0, np = dp->pred_start[v + 1] - dp->pred_start[v];
            for (size_t i = dp->pred_start[v]; i < dp->pred_start[v + 1]; i++) {
                cr_assert_lt(dp->wave[dp->pred[i]], dp->wave[v]);
                if (dp->wave[dp->pred[i]] + 1 > mx)
                    mx = dp->wave[dp->pred[i]] + 1;
            }
            cr_assert_eq(dp->wave[v], np ? mx : 0, "node %zu", v);
        }
        for (size_t i = 0; i + 1 < b.n; i++)
            cr_assert_leq(dp->wave[dp->order[i]], dp->wave[dp->order[i + 1]]);
    }
    cr_assert_eq(plan.n_edges, b.pred_start[b.n]);
    gnn_plan_destroy(&plan);
    batch_free(&b);
}

typedef struct {
    char name[32];
    size_t n, n_jobs;
    size_t ps[8];
    size_t pred[8];
    size_t job[8];
    weft_err_t want;
    char detail[48]; /* substring of the message (arrays: parameters are copied into another
                        process) */
} bad_case_t;

ParameterizedTestParameters(gnn_plan, rejects_bad_graphs)
{
    static bad_case_t cases[] = {
        {"cycle", 4, 1, {0, 1, 2, 3, 3}, {2, 0, 1}, {0, 0, 0, 0}, WEFT_ECYCLE, "cycle in job 0"},
        {"cycle in 2nd job", 5, 2, {0, 0, 1, 2, 2, 3}, {4, 1, 2}, {0, 1, 1, 0, 1}, WEFT_ECYCLE,
         "cycle in job 1"},
        {"self loop", 2, 1, {0, 0, 1}, {1}, {0, 0}, WEFT_EINVAL, "its own parent"},
        {"parent out of range", 2, 1, {0, 0, 1}, {7}, {0, 0}, WEFT_EINVAL, "parent 7"},
        {"repeated parent", 2, 1, {0, 0, 2}, {0, 0}, {0, 0}, WEFT_EINVAL, "twice"},
        {"cross-job edge", 2, 2, {0, 0, 1}, {0}, {0, 1}, WEFT_EINVAL, "another job"},
        {"job out of range", 2, 1, {0, 0, 0}, {0}, {0, 3}, WEFT_EINVAL, "job 3"},
        /* the first value out of range, not only a far one */
        {"job == n_jobs", 2, 1, {0, 0, 0}, {0}, {0, 1}, WEFT_EINVAL, "job 1, expected < 1"},
        {"parent == n", 2, 1, {0, 0, 1}, {2}, {0, 0}, WEFT_EINVAL, "parent 2, expected < 2"},
        {"empty job", 3, 3, {0, 0, 0, 0}, {0}, {0, 2, 2}, WEFT_EINVAL, "job 1 of 3 has no node"},
        {"more jobs than nodes", 2, 3, {0, 0, 0}, {0}, {0, 2}, WEFT_EINVAL, "3 jobs for 2 nodes"},
        {"bad offsets", 2, 1, {0, 1, 0}, {0}, {0, 0}, WEFT_EINVAL, "non-decreasing"},
    };
    return cr_make_param_array(bad_case_t, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case_t *bc, gnn_plan, rejects_bad_graphs)
{
    gnn_plan_t plan;
    weft_clear_error();
    weft_err_t err = gnn_plan_build(&plan, bc->n, bc->n_jobs, bc->ps, bc->pred, bc->job);
    cr_assert_eq(err, bc->want, "%s: got %d (%s)", bc->name, err, weft_last_error());
    cr_assert(strstr(weft_last_error(), bc->detail), "%s: message '%s' lacks '%s'", bc->name,
              weft_last_error(), bc->detail);
    cr_assert_null(plan.job, "plan left empty");
    gnn_plan_destroy(&plan); /* safe on an empty plan */
}

Test(gnn_plan, cycle_in_large_batch_is_an_error)
{
    batch_t b;
    gen_batch(&b, 300, 20, 6, 2, 5);
    /* close a loop: find an edge u -> v and add v as a parent of u */
    size_t v = b.n;
    for (size_t x = 0; x < b.n && v == b.n; x++)
        if (b.pred_start[x + 1] > b.pred_start[x])
            v = x;
    cr_assert_lt(v, b.n);
    size_t u = b.pred[b.pred_start[v]];
    batch_t c = {b.n, b.n_jobs, calloc(b.n + 1, sizeof(size_t)),
                 calloc(b.pred_start[b.n] + 1, sizeof(size_t)), calloc(b.n, sizeof(size_t))};
    memcpy(c.job, b.job, b.n * sizeof(size_t));
    size_t e = 0;
    for (size_t x = 0; x < b.n; x++) {
        for (size_t i = b.pred_start[x]; i < b.pred_start[x + 1]; i++)
            c.pred[e++] = b.pred[i];
        if (x == u)
            c.pred[e++] = v;
        c.pred_start[x + 1] = e;
    }
    gnn_plan_t plan;
    cr_assert_eq(gnn_plan_build(&plan, c.n, c.n_jobs, c.pred_start, c.pred, c.job), WEFT_ECYCLE);
    cr_assert(strstr(weft_last_error(), "cycle"), "%s", weft_last_error());
    batch_free(&b);
    batch_free(&c);
}

/* ------------------------------------------------------------------ */
/* gnn_params */

TestSuite(gnn_params, .timeout = 10);

Test(gnn_params, count_depends_only_on_sizes)
{
    gnn_config_t cfg = {3, 4, 2, 3};
    /* per direction: layer 1 att 7 + wi 36 + bi 12 + wh 48 + bh 12 = 115,
     * layer 2 8 + 48 + 12 + 48 + 12 = 128; H = 19: job 57+3+9+3, glob 24 */
    cr_assert_eq(gnn_param_count(&cfg), 2 * (115 + 128) + 72 + 24);
    cr_assert_eq(gnn_embed_dim(&cfg), 19);
    cr_assert_eq(gnn_out_dim(&cfg), 25);
    cr_assert_eq(gnn_tensor_count(&cfg), 28);
    size_t off = 0;
    for (size_t i = 0; i < gnn_tensor_count(&cfg); i++) {
        gnn_tensor_info_t t = gnn_tensor_info(&cfg, i);
        cr_assert_eq(t.offset, off, "%s", t.name);
        off += t.size;
    }
    cr_assert_eq(off, gnn_param_count(&cfg));
    cr_assert_str_eq(gnn_tensor_info(&cfg, 0).name, "fwd1.att");
    cr_assert_str_eq(gnn_tensor_info(&cfg, 11).name, "bwd1.wi");
    cr_assert_str_eq(gnn_tensor_info(&cfg, 27).name, "glob.b2");
    gnn_params_t p;
    cr_assert_eq(gnn_params_init(&p, &cfg), WEFT_OK);
    cr_assert_eq(p.layer[GNN_BWD][1].bh + 12, p.job_w1);
    cr_assert_eq(p.glob_b2 + 3, p.memory + p.n);
    gnn_params_destroy(&p);
}

Test(gnn_params, bad_config_is_an_error)
{
    gnn_params_t p;
    gnn_config_t zero_d = {3, 0, 2, 3}, many_l = {3, 4, GNN_MAX_LAYERS + 1, 3};
    cr_assert_eq(gnn_params_init(&p, &zero_d), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "D (hidden width)"));
    cr_assert_eq(gnn_params_init(&p, &many_l), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "L (layers)"));
    gnn_config_t max_l = {3, 4, GNN_MAX_LAYERS, 3}; /* the bound itself is allowed */
    cr_assert_eq(gnn_params_init(&p, &max_l), WEFT_OK, "%s", weft_last_error());
    gnn_params_destroy(&p);
}

Test(gnn_params, init_is_deterministic_and_xavier_bounded)
{
    gnn_config_t cfg = {16, 16, 2, 16};
    gnn_params_t a, b, c;
    cr_assert_eq(gnn_params_init(&a, &cfg), WEFT_OK);
    cr_assert_eq(gnn_params_init(&b, &cfg), WEFT_OK);
    cr_assert_eq(gnn_params_init(&c, &cfg), WEFT_OK);
    gnn_params_init_random(&a, &cfg, 42);
    gnn_params_init_random(&b, &cfg, 42);
    gnn_params_init_random(&c, &cfg, 43);
    cr_assert_arr_eq(a.memory, b.memory, a.n * sizeof(float));
    cr_assert_neq(memcmp(a.memory, c.memory, a.n * sizeof(float)), 0);
    float bound = sqrtf(6.0f / 32.0f); /* a (16, 16) gate block */
    float mx = 0;
    for (size_t i = 0; i < 3 * 16 * 16; i++)
        mx = fmaxf(mx, fabsf(a.layer[GNN_FWD][1].wh[i]));
    cr_assert_leq(mx, bound);
    cr_assert_gt(mx, 0.8f * bound);
    for (size_t i = 0; i < 48; i++)
        cr_assert_eq(a.layer[GNN_BWD][0].bi[i], 0.0f);
    gnn_params_destroy(&a);
    gnn_params_destroy(&b);
    gnn_params_destroy(&c);
}

/* Every tensor of the size table gets its own Xavier bound (F != D and
 * S != H, so a block written at another tensor's stride shows), no weight
 * is left 0, and biases are 0 even in a block that held other values. */
Test(gnn_params, init_fills_every_tensor)
{
    gnn_config_t cfg = {3, 4, 2, 5};
    gnn_params_t a;
    cr_assert_eq(gnn_params_init(&a, &cfg), WEFT_OK);
    for (size_t i = 0; i < a.n; i++)
        a.memory[i] = 7;
    gnn_params_init_random(&a, &cfg, 9);
    size_t H = gnn_embed_dim(&cfg);
    for (size_t t = 0; t < gnn_tensor_count(&cfg); t++) {
        gnn_tensor_info_t ti = gnn_tensor_info(&cfg, t);
        const float *w = a.memory + ti.offset;
        const char *kind = strchr(ti.name, '.') + 1;
        size_t In = ti.name[3] == '1' ? cfg.F : cfg.D, fan_in, fan_out;
        if (kind[0] == 'b') { /* bi, bh, b1, b2 */
            for (size_t k = 0; k < ti.size; k++)
                cr_assert_eq(w[k], 0.0f, "%s[%zu]", ti.name, k);
            continue;
        }
        if (strcmp(kind, "att") == 0)
            fan_out = 1, fan_in = In + cfg.D;
        else if (strcmp(kind, "wi") == 0)
            fan_out = cfg.D, fan_in = In; /* per gate block */
        else if (strcmp(kind, "wh") == 0)
            fan_out = cfg.D, fan_in = cfg.D;
        else
            fan_out = cfg.S, fan_in = strcmp(ti.name, "job.w1") == 0 ? H : cfg.S;
        float bound = sqrtf(6.0f / (float)(fan_in + fan_out)), mx = 0;
        for (size_t k = 0; k < ti.size; k++) {
            cr_assert(w[k] != 0.0f && fabsf(w[k]) <= bound, "%s[%zu] = %g, bound %g", ti.name, k,
                      w[k], bound);
            mx = fmaxf(mx, fabsf(w[k]));
        }
        cr_assert_gt(mx, 0.3f * bound, "%s", ti.name);
    }
    gnn_params_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* gnn_forward */

static gnn_plan_t plan;
static gnn_cache_t cache, cache2;
static gnn_params_t params;

static void fwd_setup(void)
{
    gnn_plan_init(&plan);
    gnn_cache_init(&cache);
    gnn_cache_init(&cache2);
    memset(&params, 0, sizeof params);
}

static void fwd_teardown(void)
{
    gnn_plan_destroy(&plan);
    gnn_cache_destroy(&cache);
    gnn_cache_destroy(&cache2);
    gnn_params_destroy(&params);
}

TestSuite(gnn_forward, .init = fwd_setup, .fini = fwd_teardown, .timeout = 30);

static double sig(double x) { return 1 / (1 + exp(-x)); }

/* F = D = S = L = 1, parameters set by hand: a root (no predecessor: m = 0)
 * and its two children... worked through the GRU equations
 *   r = σ(wi_r x + bi_r + wh_r m + bh_r), z = σ(wi_z x + bi_z + wh_z m + bh_z),
 *   n = tanh(wi_n x + bi_n + r (wh_n m + bh_n)), h = (1 − z) n + z m. */
Test(gnn_forward, gru_and_attention_by_hand)
{
    gnn_config_t cfg = {1, 1, 1, 1};
    /* nodes: 0 root, 1 and 2 children of 0, 3 child of 1 and 2 */
    static const size_t ps[] = {0, 0, 1, 2, 4}, pr[] = {0, 0, 1, 2}, jb[] = {0, 0, 0, 0};
    cr_assert_eq(gnn_plan_build(&plan, 4, 1, ps, pr, jb), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    for (size_t i = 0; i < params.n; i++) /* distinct values everywhere */
        params.memory[i] = (float)(0.1 * (double)((i * 7) % 11) - 0.45);
    const gnn_layer_params_t *f = &params.layer[GNN_FWD][0];
    float X[4] = {0.5f, -0.25f, 1.0f, 0.75f};
    gnn_forward(&cache, &params, &cfg, &plan, X);

    double h[4];
    for (int v = 0; v < 4; v++) {
        double m;
        if (v == 0)
            m = 0;
        else if (v < 3)
            m = h[0]; /* one predecessor: α = 1 */
        else {        /* scores differ only by a_pred h_u: the a_self term cancels */
            double s1 = f->att[0] * X[3] + f->att[1] * h[1];
            double s2 = f->att[0] * X[3] + f->att[1] * h[2];
            double a1 = exp(s1) / (exp(s1) + exp(s2));
            m = a1 * h[1] + (1 - a1) * h[2];
            cr_assert_float_eq(cache.layer[GNN_FWD][0].alpha[2], a1, 1e-6);
        }
        double x = X[v];
        double r = sig(f->wi[0] * x + f->bi[0] + f->wh[0] * m + f->bh[0]);
        double z = sig(f->wi[1] * x + f->bi[1] + f->wh[1] * m + f->bh[1]);
        double n = tanh(f->wi[2] * x + f->bi[2] + r * (f->wh[2] * m + f->bh[2]));
        h[v] = (1 - z) * n + z * m;
        /* out row: [x ; h_fwd ; h_bwd ; job ; global] */
        cr_assert_float_eq(cache.out[v * 5 + 0], X[v], 0);
        cr_assert_float_eq(cache.out[v * 5 + 1], h[v], 1e-6, "h_fwd of node %d", v);
    }
    /* summaries: job = w2 tanh(w1 Σ e + b1) + b2, global likewise of it */
    double sum[3] = {0, 0, 0};
    for (int v = 0; v < 4; v++)
        for (int k = 0; k < 3; k++)
            sum[k] += cache.out[v * 5 + k];
    double pre = params.job_b1[0];
    for (int k = 0; k < 3; k++)
        pre += params.job_w1[k] * sum[k];
    double job = params.job_w2[0] * tanh(pre) + params.job_b2[0];
    double glob =
        params.glob_w2[0] * tanh(params.glob_w1[0] * job + params.glob_b1[0]) + params.glob_b2[0];
    for (int v = 0; v < 4; v++) {
        cr_assert_float_eq(cache.out[v * 5 + 3], job, 1e-6);
        cr_assert_float_eq(cache.out[v * 5 + 4], glob, 1e-6);
    }
}

/* The attention's softmax subtracts its max: scores far from 0 either
 * way (the a_self term, the same for every parent, moves both by ±200)
 * give the weights of scores near 0, where exp alone would overflow (+200)
 * or underflow every term to 0 (−200) in float, making inf/inf or 0/0.
 * (Within 1e-4: the cancelling term costs the scores' last bits.) */
Test(gnn_forward, attention_softmax_shift_safe)
{
    gnn_config_t cfg = {1, 1, 1, 1};
    static const size_t ps[] = {0, 0, 1, 2, 4}, pr[] = {0, 0, 1, 2}, jb[] = {0, 0, 0, 0};
    cr_assert_eq(gnn_plan_build(&plan, 4, 1, ps, pr, jb), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    for (size_t i = 0; i < params.n; i++)
        params.memory[i] = (float)(0.1 * (double)((i * 7) % 11) - 0.45);
    gnn_layer_params_t *f = &params.layer[GNN_FWD][0];
    float X[4] = {0.5f, -0.25f, 1.0f, 1.0f};
    gnn_forward(&cache, &params, &cfg, &plan, X);
    float alpha = cache.layer[GNN_FWD][0].alpha[2], h3 = cache.out[3 * 5 + 1];
    cr_assert(alpha > 0.01f && alpha < 0.99f, "alpha %g: the case must weigh both parents", alpha);
    for (int sign = -1; sign <= 1; sign += 2) {
        f->att[0] = (float)sign * 200; /* a_self; node 3's x is 1 */
        gnn_forward(&cache, &params, &cfg, &plan, X);
        cr_assert_float_eq(cache.layer[GNN_FWD][0].alpha[2], alpha, 1e-4, "a_self %+d00", sign);
        cr_assert_float_eq(cache.out[3 * 5 + 1], h3, 1e-4, "a_self %+d00", sign);
    }
}

typedef struct {
    size_t n, n_jobs, max_depth, max_par;
    gnn_config_t cfg;
    uint64_t seed;
} shape_t;

ParameterizedTestParameters(gnn_forward, naive_matches_pipelined)
{
    static shape_t cases[] = {
        {1, 1, 1, 1, {16, 16, 2, 16}, 1},      /* one node */
        {40, 1, 40, 1, {16, 16, 2, 16}, 2},    /* one long chain */
        {200, 1, 2, 3, {16, 16, 2, 16}, 3},    /* one wide, shallow job */
        {300, 30, 8, 3, {16, 16, 2, 16}, 4},   /* many jobs, various depths */
        {500, 50, 12, 4, {5, 8, 3, 6}, 5},     /* F != D, deeper model */
        {1000, 100, 10, 3, {16, 16, 2, 16}, 6},
    };
    return cr_make_param_array(shape_t, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(shape_t *sh, gnn_forward, naive_matches_pipelined)
{
    batch_t b;
    gen_batch(&b, sh->n, sh->n_jobs, sh->max_depth, sh->max_par, sh->seed);
    cr_assert_eq(gnn_plan_build(&plan, b.n, b.n_jobs, b.pred_start, b.pred, b.job), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(gnn_cache_prepare(&cache, &sh->cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache2, &sh->cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &sh->cfg), WEFT_OK);
    gnn_params_init_random(&params, &sh->cfg, sh->seed);
    uint64_t s = sh->seed * 31;
    for (size_t i = 0; i < params.n; i++) /* biases too */
        params.memory[i] += (float)(0.2 * urand(&s) - 0.1);
    float *X = random_features(b.n, sh->cfg.F, sh->seed + 9);
    size_t E = gnn_out_dim(&sh->cfg);
    gnn_forward_naive(&cache, &params, &sh->cfg, &plan, X);
    gnn_forward(&cache2, &params, &sh->cfg, &plan, X);
    /* float, different summation order: relative 1e-4 (summary columns sum
     * over up to ~100 nodes, hence the small absolute floor) */
    assert_close(cache2.out, cache.out, b.n * E, E, 1e-4, 1e-5, "pipelined vs naive");
    for (size_t i = 0; i < b.n * E; i++)
        cr_assert(isfinite(cache2.out[i]));
    free(X);
    batch_free(&b);
}

/* A batch by gen_batch, its plan, both caches prepared for it and random
 * parameters of cfg, of seed (the parameters' own seed: seed + 1). */
static void batch_setup(batch_t *b, const gnn_config_t *cfg, size_t n, size_t n_jobs,
                        size_t max_depth, size_t max_par, uint64_t seed)
{
    gen_batch(b, n, n_jobs, max_depth, max_par, seed);
    cr_assert_eq(gnn_plan_build(&plan, b->n, b->n_jobs, b->pred_start, b->pred, b->job),
                 WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(gnn_cache_prepare(&cache, cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache2, cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, cfg), WEFT_OK);
    gnn_params_init_random(&params, cfg, seed + 1);
}

Test(gnn_forward, incremental_equals_full)
{
    gnn_config_t cfg = {6, 8, 2, 5};
    batch_t b;
    batch_setup(&b, &cfg, 400, 25, 10, 3, 99);
    float *X = random_features(b.n, cfg.F, 4);
    size_t E = gnn_out_dim(&cfg), changed[16];
    gnn_forward(&cache, &params, &cfg, &plan, X);
    uint64_t s = 1234;
    for (int step = 0; step < 30; step++) {
        size_t k = 1 + irand(&s, step % 5 == 4 ? 16 : 4); /* sometimes many */
        for (size_t i = 0; i < k; i++) {
            size_t v = irand(&s, b.n);
            changed[i] = v;
            for (size_t f = 0; f < cfg.F; f++) /* may repeat nodes: allowed */
                X[v * cfg.F + f] = (float)(2 * urand(&s) - 1);
        }
        cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, changed, k), WEFT_OK,
                     "%s", weft_last_error());
        gnn_forward(&cache2, &params, &cfg, &plan, X);
        assert_close(cache.out, cache2.out, b.n * E, E, 1e-5, 1e-6, "incremental vs full");
    }
    /* nothing changed: still equal */
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, changed, 0), WEFT_OK);
    assert_close(cache.out, cache2.out, b.n * E, E, 1e-5, 1e-6, "empty change");
    free(X);
    batch_free(&b);
}

Test(gnn_forward, incremental_misuse_is_an_error)
{
    gnn_config_t cfg = {3, 4, 2, 3};
    cr_assert_eq(gnn_plan_build(&plan, 7, 2, DC_PS, DC_PRED, DC_JOB), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    float X[21] = {0};
    size_t bad = 7, ok = 1;
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, &ok, 1), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "gnn_forward first"));
    gnn_forward(&cache, &params, &cfg, &plan, X);
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, &bad, 1), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "changed[0] = 7"));
    /* a rebuilt plan (new graph) invalidates the cache */
    gnn_plan_t other;
    cr_assert_eq(gnn_plan_build(&other, 7, 2, DC_PS, DC_PRED, DC_JOB), WEFT_OK);
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &other, X, &ok, 1), WEFT_EINVAL);
    gnn_plan_destroy(&other);
    /* so does preparing the cache again, even for the same plan: its arrays
     * may have moved or been resized for another config */
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, &ok, 1), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, X, &ok, 1), WEFT_EINVAL);
}

/* One parameter set, one cache, graphs of every size and shape: the
 * parameter count never changes and the cache grows and shrinks. */
Test(gnn_forward, any_dag_same_parameters)
{
    gnn_config_t cfg = {16, 16, 2, 16};
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    gnn_params_init_random(&params, &cfg, 8);
    size_t count = gnn_param_count(&cfg), E = gnn_out_dim(&cfg);
    static const size_t shapes[][4] = {{1, 1, 1, 1},     {2, 2, 1, 1},   {60, 1, 60, 1},
                                       {2000, 200, 10, 3}, {300, 3, 3, 5}, {5, 1, 5, 4}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        batch_t b;
        gen_batch(&b, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], 100 + i);
        gnn_plan_destroy(&plan);
        cr_assert_eq(gnn_plan_build(&plan, b.n, b.n_jobs, b.pred_start, b.pred, b.job), WEFT_OK);
        cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
        float *X = random_features(b.n, cfg.F, i);
        gnn_forward(&cache, &params, &cfg, &plan, X);
        cr_assert_eq(params.n, count);
        for (size_t k = 0; k < b.n * E; k++)
            cr_assert(isfinite(cache.out[k]), "shape %zu", i);
        /* every row carries the same global summary */
        for (size_t v = 0; v < b.n; v++)
            cr_assert_arr_eq(cache.out + v * E + E - 16, cache.out + E - 16, 16 * sizeof(float));
        free(X);
        batch_free(&b);
    }
}

/* No active job: an empty output and a global summary of nothing. */
Test(gnn_forward, empty_batch)
{
    gnn_config_t cfg = {3, 4, 2, 3};
    size_t ps[1] = {0};
    cr_assert_eq(gnn_plan_build(&plan, 0, 0, ps, NULL, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(plan.dir[GNN_FWD].n_waves, 0);
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    gnn_params_init_random(&params, &cfg, 1);
    gnn_forward(&cache, &params, &cfg, &plan, NULL);
    gnn_forward_naive(&cache, &params, &cfg, &plan, NULL);
    cr_assert_eq(gnn_forward_incremental(&cache, &params, &cfg, &plan, NULL, NULL, 0), WEFT_OK);
    gnn_params_t g;
    cr_assert_eq(gnn_params_init(&g, &cfg), WEFT_OK);
    gnn_backward(&g, NULL, NULL, &cache, &params, &cfg, &plan);
    for (size_t i = 0; i < g.n; i++)
        cr_assert_eq(g.memory[i], 0.0f);
    gnn_params_destroy(&g);
    /* more jobs than nodes cannot all have one */
    gnn_plan_t bad;
    cr_assert_eq(gnn_plan_build(&bad, 0, 2, ps, NULL, NULL), WEFT_EINVAL);
}

/* Relabelling nodes (and jobs, and the order of each parent list) permutes
 * the output rows and changes nothing else. */
Test(gnn_forward, relabelling_permutes_rows)
{
    gnn_config_t cfg = {16, 16, 2, 16};
    batch_t b, pb;
    gen_batch(&b, 600, 40, 9, 3, 21);
    size_t *perm = malloc(b.n * sizeof *perm), *jperm = malloc(b.n_jobs * sizeof *jperm);
    uint64_t s = 5;
    for (size_t v = 0; v < b.n; v++)
        perm[v] = v;
    for (size_t v = b.n; v > 1; v--) {
        size_t k = irand(&s, v), t = perm[v - 1];
        perm[v - 1] = perm[k], perm[k] = t;
    }
    for (size_t j = 0; j < b.n_jobs; j++)
        jperm[j] = b.n_jobs - 1 - j;
    relabel(&pb, &b, perm, jperm);
    gnn_plan_t pplan;
    cr_assert_eq(gnn_plan_build(&plan, b.n, b.n_jobs, b.pred_start, b.pred, b.job), WEFT_OK);
    cr_assert_eq(gnn_plan_build(&pplan, pb.n, pb.n_jobs, pb.pred_start, pb.pred, pb.job), WEFT_OK,
                 "%s", weft_last_error());
    cr_assert_eq(gnn_cache_prepare(&cache, &cfg, &plan), WEFT_OK);
    cr_assert_eq(gnn_cache_prepare(&cache2, &cfg, &pplan), WEFT_OK);
    cr_assert_eq(gnn_params_init(&params, &cfg), WEFT_OK);
    gnn_params_init_random(&params, &cfg, 2);
    float *X = random_features(b.n, cfg.F, 3), *PX = malloc(b.n * cfg.F * sizeof *PX);
    for (size_t v = 0; v < b.n; v++)
        memcpy(PX + perm[v] * cfg.F, X + v * cfg.F, cfg.F * sizeof *PX);
    gnn_forward(&cache, &params, &cfg, &plan, X);
    gnn_forward(&cache2, &params, &cfg, &pplan, PX);
    size_t E = gnn_out_dim(&cfg);
    float *back = malloc(b.n * E * sizeof *back);
    for (size_t v = 0; v < b.n; v++)
        memcpy(back + v * E, cache2.out + perm[v] * E, E * sizeof *back);
    assert_close(back, cache.out, b.n * E, E, 1e-5, 1e-6, "relabelled");
    gnn_plan_destroy(&pplan);
    free(perm), free(jperm), free(X), free(PX), free(back);
    batch_free(&b);
    batch_free(&pb);
}

/* The batch is only a way to share GEMMs: each job's rows (its embedding
 * and its job summary) are what that job alone gives, and the global
 * summary, worked here in double from the job summaries, is the one
 * thing the jobs share. Jobs of different depths, so a job's waves are
 * computed alongside other jobs' in every GEMM. */
Test(gnn_forward, a_batch_embeds_each_job_as_alone)
{
    gnn_config_t cfg = {5, 6, 2, 4};
    batch_t b;
    batch_setup(&b, &cfg, 150, 9, 7, 3, 44);
    uint64_t s = 46;
    for (size_t i = 0; i < params.n; i++) /* biases too */
        params.memory[i] += (float)(0.2 * urand(&s) - 0.1);
    float *X = random_features(b.n, cfg.F, 47);
    gnn_forward(&cache, &params, &cfg, &plan, X);
    size_t E = gnn_out_dim(&cfg), H = gnn_embed_dim(&cfg), S = cfg.S, F = cfg.F;
    size_t *local = calloc(b.n, sizeof *local), *node = calloc(b.n, sizeof *node);
    size_t *ps = calloc(b.n + 1, sizeof *ps), *pr = calloc(b.pred_start[b.n] + 1, sizeof *pr);
    size_t *zero = calloc(b.n, sizeof *zero);
    float *JX = malloc(b.n * F * sizeof *JX);
    double gsum[16] = {0};
    cr_assert(S <= 16);
    size_t depth_changes = 0, last_depth = 0;
    for (size_t j = 0; j < b.n_jobs; j++) {
        size_t n = 0, e = 0;
        for (size_t v = 0; v < b.n; v++) /* the job's nodes, ascending */
            if (b.job[v] == j)
                local[v] = n, node[n++] = v;
        for (size_t i = 0; i < n; i++) {
            size_t v = node[i];
            for (size_t k = b.pred_start[v]; k < b.pred_start[v + 1]; k++)
                pr[e++] = local[b.pred[k]];
            ps[i + 1] = e;
            memcpy(JX + i * F, X + v * F, F * sizeof *JX);
        }
        gnn_plan_t alone;
        cr_assert_eq(gnn_plan_build(&alone, n, 1, ps, pr, zero), WEFT_OK, "%s",
                     weft_last_error());
        depth_changes += alone.dir[GNN_FWD].n_waves != last_depth;
        last_depth = alone.dir[GNN_FWD].n_waves;
        cr_assert_eq(gnn_cache_prepare(&cache2, &cfg, &alone), WEFT_OK);
        gnn_forward(&cache2, &params, &cfg, &alone, JX);
        for (size_t i = 0; i < n; i++) {
            char what[64];
            snprintf(what, sizeof what, "job %zu node %zu (alone %zu)", j, node[i], i);
            assert_close(cache.out + node[i] * E, cache2.out + i * E, H + S, E, 1e-5, 1e-6,
                         what);
        }
        for (size_t k = 0; k < S; k++)
            gsum[k] += cache2.out[H + k];
        gnn_plan_destroy(&alone);
    }
    cr_assert_gt(depth_changes, 2, "the jobs must differ in depth");
    double glob[16];
    for (size_t o = 0; o < S; o++) {
        double a = params.glob_b1[o];
        for (size_t k = 0; k < S; k++)
            a += (double)params.glob_w1[o * S + k] * gsum[k];
        glob[o] = tanh(a);
    }
    for (size_t o = 0; o < S; o++) {
        double g = params.glob_b2[o];
        for (size_t k = 0; k < S; k++)
            g += (double)params.glob_w2[o * S + k] * glob[k];
        for (size_t v = 0; v < b.n; v++)
            cr_assert_float_eq(cache.out[v * E + H + S + o], g, 1e-5 * (1 + fabs(g)),
                               "node %zu global column %zu: %.8g, by hand %.8g", v, o,
                               cache.out[v * E + H + S + o], g);
    }
    free(local), free(node), free(ps), free(pr), free(zero), free(JX), free(X);
    batch_free(&b);
}
