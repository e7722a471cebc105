/*
 * gen.c - the multi-stage workload generator (DESIGN.md section 5), the way
 * the DRL coflow papers build their inputs:
 *
 *   1. every job gets a DAG shape: a random layered DAG, or the parent
 *      structure of a job drawn uniformly from a shapes workload (Alibaba
 *      jobs, WfCommons stage graphs);
 *   2. every coflow of that DAG is filled with a coflow drawn uniformly from
 *      the FB pool: its flows, i.e. its width, per-flow sizes and ports
 *      (remapped when the fabric size differs, see map_port());
 *   3. weights and compute times are drawn;
 *   4. once every job's bytes are known, Poisson arrivals are laid out so the
 *      offered load, total bytes / (arrival span * ports * port rate), is the
 *      target.
 *
 * Every random choice comes from one workload_rng_t in a fixed order (per
 * job: weight, final compute, the shape (a shapes job, or the layer sizes),
 * then per coflow: compute, FB pick, parents; then the gaps), so the same
 * options give the same workload.
 * While jobs are being drawn their arrival is 0; arrivals are written into
 * jobs[].arrival_s at the end (jobs are added in arrival order).
 */
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dag/dag.h"

void workload_gen_opts_default(workload_gen_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->n_jobs = 100;
    o->n_ports = 150;
    o->port_rate = WEFT_GBPS_BYTES;
    o->load = 0.7;
    o->exact_load = true;
    o->shape = WORKLOAD_SHAPE_RANDOM;
    o->max_depth = 5;
    o->max_width = 4;
    o->weights = WORKLOAD_WEIGHT_UNIFORM_INT;
    o->weight_min = 1;
    o->weight_max = 5;
    o->compute_mean_s = 0;
    o->keep_shape_compute = true;
    o->max_coflow_bytes = 0;
}

/* One remapped flow and its position in the source coflow. */
typedef struct {
    uint32_t src, dst;
    size_t idx;
    double bytes;
} gen_flow_t;

/* The generator's working set: the eligible FB coflows and scratch for
 * remapping one coflow's flows. */
typedef struct {
    const workload_gen_opts_t *o;
    workload_rng_t rng;
    size_t *pool;          /* [n_pool] global indices of eligible FB coflows */
    size_t n_pool;
    gen_flow_t *tmp;       /* [cap_tmp] remapped flows of one coflow */
    size_t cap_tmp;
    size_t *layer_start;   /* [max_depth + 1] random DAG: first id of a layer */
    size_t max_flows;      /* the flow budget (workload_gen_opts_t.max_flows) */
    double pool_flows;     /* mean flows a pool coflow brings, after folding */
} gen_t;

static weft_err_t check_opts(const workload_gen_opts_t *o)
{
    if (!o)
        return weft_fail(WEFT_EINVAL, "generator options missing");
    if (o->n_jobs == 0 || o->n_jobs > WORKLOAD_GEN_MAX_JOBS)
        return weft_fail(WEFT_EINVAL, "number of jobs %zu, expected 1..%zu", o->n_jobs,
                         WORKLOAD_GEN_MAX_JOBS);
    /* no more than the readers take back */
    if (o->n_ports == 0 || o->n_ports > WORKLOAD_MAX_PORTS)
        return weft_fail(WEFT_EINVAL, "number of ports %zu, expected 1..%zu", o->n_ports,
                         WORKLOAD_MAX_PORTS);
    if (!isfinite(o->port_rate) || o->port_rate <= 0)
        return weft_fail(WEFT_EINVAL, "port rate %g bytes/s, expected a finite number > 0",
                         o->port_rate);
    if (!isfinite(o->load) || o->load <= 0)
        return weft_fail(WEFT_EINVAL, "offered load %g, expected a finite number > 0",
                         o->load);
    if (!o->fb || o->fb->n_coflows == 0 || o->fb->n_ports == 0)
        return weft_fail(WEFT_EINVAL,
                         "the generator needs a coflow pool (an FB trace) with coflows");
    if (o->fb->job_open || (o->shapes && o->shapes->job_open))
        return weft_fail(WEFT_EINVAL, "the coflow pool or shapes workload has an unfinished job");
    switch (o->shape) {
    case WORKLOAD_SHAPE_RANDOM:
        if (o->max_depth < 1 || o->max_depth > WORKLOAD_GEN_MAX_LAYERS)
            return weft_fail(WEFT_EINVAL, "maximum DAG depth %zu, expected 1..%d",
                             o->max_depth, WORKLOAD_GEN_MAX_LAYERS);
        if (o->max_width < 1 || o->max_width > WORKLOAD_GEN_MAX_LAYERS)
            return weft_fail(WEFT_EINVAL, "maximum DAG width %zu, expected 1..%d",
                             o->max_width, WORKLOAD_GEN_MAX_LAYERS);
        break;
    case WORKLOAD_SHAPE_ALIBABA:
    case WORKLOAD_SHAPE_WFCOMMONS:
        if (!o->shapes || o->shapes->n_jobs == 0)
            return weft_fail(WEFT_EINVAL,
                             "%s shapes need a shapes workload with at least one job",
                             o->shape == WORKLOAD_SHAPE_ALIBABA ? "alibaba" : "wfcommons");
        break;
    default:
        return weft_fail(WEFT_EINVAL, "unknown DAG shape kind %d", (int)o->shape);
    }
    if (!isfinite(o->weight_min) || o->weight_min <= 0)
        return weft_fail(WEFT_EINVAL, "minimum weight %g, expected a finite number > 0",
                         o->weight_min);
    if (!isfinite(o->weight_max) || o->weight_max < o->weight_min)
        return weft_fail(WEFT_EINVAL, "maximum weight %g, expected a finite number >= %g",
                         o->weight_max, o->weight_min);
    switch (o->weights) {
    case WORKLOAD_WEIGHT_UNIFORM_INT:
        if (ceil(o->weight_min) > floor(o->weight_max))
            return weft_fail(WEFT_EINVAL, "no integer weight between %g and %g",
                             o->weight_min, o->weight_max);
        if (floor(o->weight_max) - ceil(o->weight_min) >= 0x1p52)
            return weft_fail(WEFT_EINVAL, "integer weight range %g..%g is too wide",
                             o->weight_min, o->weight_max);
        break;
    case WORKLOAD_WEIGHT_ONE:
    case WORKLOAD_WEIGHT_PARETO:
        break;
    default:
        return weft_fail(WEFT_EINVAL, "unknown weight distribution %d", (int)o->weights);
    }
    if (!isfinite(o->compute_mean_s) || o->compute_mean_s < 0)
        return weft_fail(WEFT_EINVAL, "mean compute time %g s, expected a finite number >= 0",
                         o->compute_mean_s);
    if (!(o->max_coflow_bytes >= 0) || isinf(o->max_coflow_bytes)) /* NaN fails too */
        return weft_fail(WEFT_EINVAL,
                         "coflow size cap %g bytes, expected a finite number >= 0 (0 = none)",
                         o->max_coflow_bytes);
    return WEFT_OK;
}

/* What to do about too many flows, for the messages. */
#define FEWER_FLOWS "fewer jobs, smaller DAG shapes, fewer ports or a coflow size cap"

/* Sets g->max_flows and refuses, before any is made, a workload whose
 * expected flows pass it: a random job of up to 10,000 layers of up to
 * 10,000 coflows each (both allowed) grew past 24 GB before the kernel
 * killed it. */
static weft_err_t flow_budget(gen_t *g)
{
    const workload_gen_opts_t *o = g->o;
    g->max_flows = o->max_flows;
    if (g->max_flows == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        double mem = pages > 0 && page > 0 ? (double)pages * (double)page : 0x1p34;
        g->max_flows = (size_t)(mem / WORKLOAD_GEN_BYTES_PER_FLOW);
    }
    double coflows = 0; /* expected a job */
    if (o->shape == WORKLOAD_SHAPE_RANDOM) { /* depth and widths drawn independently */
        coflows = ((double)o->max_depth + 1) / 2 * (((double)o->max_width + 1) / 2);
    } else {
        for (size_t j = 0; j < o->shapes->n_jobs; j++)
            coflows += (double)o->shapes->jobs[j].n_coflows;
        coflows /= (double)o->shapes->n_jobs;
    }
    double expected = (double)o->n_jobs * coflows * g->pool_flows;
    if (expected > (double)g->max_flows)
        return weft_fail(WEFT_EINVAL, "about %.3g flows expected (%zu jobs of %.4g coflows "
                         "of %.4g flows on average), more than the %zu this machine's memory "
                         "can hold; expected " FEWER_FLOWS, expected, o->n_jobs, coflows,
                         g->pool_flows, g->max_flows);
    return WEFT_OK;
}

/* Refuses to go on once the flows made pass the budget (a draw far above
 * the expected). */
static weft_err_t check_flows(const gen_t *g, const coflow_workload_t *wl)
{
    if (wl->n_flows <= g->max_flows)
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "%zu flows made, more than the %zu this machine's memory "
                     "can hold; expected " FEWER_FLOWS, wl->n_flows, g->max_flows);
}

static weft_err_t gen_init(gen_t *g, const workload_gen_opts_t *o)
{
    memset(g, 0, sizeof *g);
    g->o = o;
    workload_rng_seed(&g->rng, o->seed);
    const coflow_workload_t *fb = o->fb;
    g->pool = weft_calloc(fb->n_coflows, sizeof *g->pool);
    if (o->shape == WORKLOAD_SHAPE_RANDOM)
        g->layer_start = weft_calloc(o->max_depth + 1, sizeof *g->layer_start);
    if (!g->pool || (o->shape == WORKLOAD_SHAPE_RANDOM && !g->layer_start))
        return weft_fail(WEFT_ENOMEM, "out of memory for the generator's coflow pool");
    size_t max_flows = 1;
    double smallest = INFINITY;
    for (size_t c = 0; c < fb->n_coflows; c++) {
        const coflow_coflow_t *co = &fb->coflows[c];
        if (co->total_bytes < smallest)
            smallest = co->total_bytes;
        if (o->max_coflow_bytes > 0 && co->total_bytes > o->max_coflow_bytes)
            continue;
        g->pool[g->n_pool++] = c;
        if (co->n_flows > max_flows)
            max_flows = co->n_flows;
        /* folded onto fewer ports, at most one flow a port pair */
        double pairs = (double)o->n_ports * (double)o->n_ports;
        g->pool_flows += (double)co->n_flows < pairs ? (double)co->n_flows : pairs;
    }
    if (g->n_pool == 0)
        return weft_fail(WEFT_EINVAL,
                         "no coflow of the pool is at most %g bytes (the size cap); the "
                         "smallest has %.17g bytes",
                         o->max_coflow_bytes, smallest);
    g->pool_flows /= (double)g->n_pool;
    if (fb->n_ports != o->n_ports) {
        g->tmp = weft_calloc(max_flows, sizeof *g->tmp);
        if (!g->tmp)
            return weft_fail(WEFT_ENOMEM, "out of memory for %zu flows of scratch", max_flows);
        g->cap_tmp = max_flows;
    }
    return flow_budget(g);
}

static void gen_destroy(gen_t *g)
{
    free(g->pool);
    free(g->tmp);
    free(g->layer_start);
}

/* The port remapping rule: FB port p of fb_ports goes to p * n / fb_ports,
 * rounded down. Deterministic, monotone and uses no randomness, so a coflow's
 * spatial layout (which ports are hot, which flows share a port) survives:
 * for n >= fb_ports ports stay distinct (spread over the larger fabric),
 * for n < fb_ports consecutive ports fold together. p < fb_ports gives a
 * result < n; the product fits in 64 bits as both are < 2^32. */
static uint32_t map_port(uint32_t p, size_t fb_ports, size_t n)
{
    return (uint32_t)((uint64_t)p * (uint64_t)n / (uint64_t)fb_ports);
}

/* Total order on (src, dst, original index), so merging sums bytes in the
 * same order on every platform whatever qsort does with ties. */
static int cmp_gen_flow(const void *a, const void *b)
{
    const gen_flow_t *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    if (x->dst != y->dst)
        return x->dst < y->dst ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Appends to the open coflow of wl the flows of a pool coflow drawn
 * uniformly, remapped to the fabric. */
static weft_err_t fill_coflow(gen_t *g, coflow_workload_t *wl)
{
    const coflow_workload_t *fb = g->o->fb;
    const coflow_coflow_t *src = &fb->coflows[g->pool[workload_rng_below(&g->rng, g->n_pool)]];
    const coflow_flow_t *f = &fb->flows[src->first_flow];
    size_t n = src->n_flows;
    weft_err_t err;
    if (fb->n_ports == wl->n_ports) {
        for (size_t i = 0; i < n; i++)
            if ((err = coflow_workload_add_flow(wl, f[i].src, f[i].dst, f[i].bytes)))
                return err;
        return WEFT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        g->tmp[i].src = map_port(f[i].src, fb->n_ports, wl->n_ports);
        g->tmp[i].dst = map_port(f[i].dst, fb->n_ports, wl->n_ports);
        g->tmp[i].bytes = f[i].bytes;
        g->tmp[i].idx = i;
    }
    if (wl->n_ports > fb->n_ports) { /* injective: nothing to merge */
        for (size_t i = 0; i < n; i++)
            if ((err = coflow_workload_add_flow(wl, g->tmp[i].src, g->tmp[i].dst,
                                                g->tmp[i].bytes)))
                return err;
        return WEFT_OK;
    }
    qsort(g->tmp, n, sizeof *g->tmp, cmp_gen_flow);
    for (size_t i = 0; i < n;) {
        const gen_flow_t *a = &g->tmp[i];
        double bytes = 0;
        size_t k = i;
        while (k < n && g->tmp[k].src == a->src && g->tmp[k].dst == a->dst)
            bytes += g->tmp[k++].bytes;
        if ((err = coflow_workload_add_flow(wl, a->src, a->dst, bytes)))
            return err;
        i = k;
    }
    return WEFT_OK;
}

static double draw_weight(gen_t *g)
{
    const workload_gen_opts_t *o = g->o;
    switch (o->weights) {
    case WORKLOAD_WEIGHT_ONE:
        return 1.0;
    case WORKLOAD_WEIGHT_PARETO: {
        /* Inversion of Pareto(x_m 1, alpha 2): X = (1 - u)^(-1/2), 1 - u in (0, 1]. */
        double x = o->weight_min / sqrt(1.0 - workload_rng_uniform(&g->rng));
        return x < o->weight_max ? x : o->weight_max;
    }
    case WORKLOAD_WEIGHT_UNIFORM_INT:
    default: {
        double lo = ceil(o->weight_min), hi = floor(o->weight_max);
        return lo + (double)workload_rng_below(&g->rng, (size_t)(hi - lo) + 1);
    }
    }
}

/* Compute time of a generated coflow: drawn if a mean is set, else the
 * shape's own if asked for, else none. */
static double coflow_compute(gen_t *g, const coflow_coflow_t *shape_co)
{
    if (g->o->compute_mean_s > 0)
        return workload_rng_exp(&g->rng, g->o->compute_mean_s);
    if (shape_co && g->o->keep_shape_compute)
        return shape_co->compute_s;
    return 0;
}

/* A random layered DAG: depth uniform in [1, max_depth], each layer's width
 * uniform in [1, max_width], every coflow below the first layer with 1 or 2
 * distinct parents (2 only if the layer above has 2 or more) drawn from the
 * layer above. So coflow waves are exactly the layers. Ids 0.. in layer order. */
static weft_err_t add_random_dag(gen_t *g, coflow_workload_t *wl)
{
    const workload_gen_opts_t *o = g->o;
    size_t depth = 1 + workload_rng_below(&g->rng, o->max_depth);
    size_t *start = g->layer_start;
    start[0] = 0;
    for (size_t l = 0; l < depth; l++)
        start[l + 1] = start[l] + 1 + workload_rng_below(&g->rng, o->max_width);
    weft_err_t err;
    for (size_t l = 0; l < depth; l++)
        for (size_t id = start[l]; id < start[l + 1]; id++) {
            if ((err = coflow_workload_add_coflow(wl, (int64_t)id, coflow_compute(g, NULL))))
                return err;
            if ((err = fill_coflow(g, wl)) || (err = check_flows(g, wl)))
                return err;
            if (l == 0)
                continue;
            size_t above = start[l] - start[l - 1];
            size_t n_par = 1 + workload_rng_below(&g->rng, above < 2 ? 1 : 2);
            size_t p1 = workload_rng_below(&g->rng, above);
            if ((err = coflow_workload_add_parent(wl, (int64_t)(start[l - 1] + p1))))
                return err;
            if (n_par == 2) {
                size_t p2 = workload_rng_below(&g->rng, above - 1);
                p2 += p2 >= p1;
                if ((err = coflow_workload_add_parent(wl, (int64_t)(start[l - 1] + p2))))
                    return err;
            }
        }
    return WEFT_OK;
}

/* The DAG of shapes job sj: same coflow ids and parent structure. */
static weft_err_t add_shape_dag(gen_t *g, coflow_workload_t *wl, const coflow_job_t *sj)
{
    const coflow_workload_t *sh = g->o->shapes;
    weft_err_t err;
    for (size_t c = sj->first_coflow; c < sj->first_coflow + sj->n_coflows; c++) {
        const coflow_coflow_t *co = &sh->coflows[c];
        if ((err = coflow_workload_add_coflow(wl, co->id, coflow_compute(g, co))))
            return err;
        if ((err = fill_coflow(g, wl)) || (err = check_flows(g, wl)))
            return err;
        for (size_t p = 0; p < co->n_parents; p++)
            if ((err = coflow_workload_add_parent(
                     wl, sh->coflows[sh->parents[co->first_parent + p]].id)))
                return err;
    }
    return WEFT_OK;
}

/* A mean compute time so large that a draw passes what the readers accept
 * (WORKLOAD_MAX_TIME_S) would make a file no command reads back. */
static weft_err_t check_compute_times(const workload_gen_opts_t *o, const coflow_job_t *job,
                                      const coflow_coflow_t *coflows, size_t j)
{
    double worst = job->final_compute_s;
    for (size_t k = 0; k < job->n_coflows; k++)
        if (coflows[job->first_coflow + k].compute_s > worst)
            worst = coflows[job->first_coflow + k].compute_s;
    if (worst <= WORKLOAD_MAX_TIME_S)
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "mean compute time %g s: job %zu drew a compute time of "
                     "%.10g s, beyond the %g s the readers accept; expected a smaller mean",
                     o->compute_mean_s, j, worst, WORKLOAD_MAX_TIME_S);
}

/* A job whose drawn coflows together pass WORKLOAD_MAX_BYTES would make a
 * file no command reads back. Summed as the weft reader sums them (flow by
 * flow, in the order written), so what passes here reads back. */
static weft_err_t check_job_bytes(const coflow_workload_t *wl, size_t j)
{
    const coflow_job_t *job = &wl->jobs[wl->n_jobs - 1];
    double job_bytes = 0;
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        double coflow_bytes = 0;
        for (size_t i = co->first_flow; i < co->first_flow + co->n_flows; i++) {
            coflow_bytes += wl->flows[i].bytes;
            job_bytes += wl->flows[i].bytes;
            if (wl->flows[i].bytes > WORKLOAD_MAX_BYTES || coflow_bytes > WORKLOAD_MAX_BYTES ||
                job_bytes > WORKLOAD_MAX_BYTES) {
                char ts[WEFT_FMT_LEN];
                return weft_fail(WEFT_EINVAL, "job %zu: its drawn coflows' flows reach %s "
                                 "bytes by coflow %lld, more than the 2^60 bytes (%g) the "
                                 "readers accept in a job; expected smaller coflows in the "
                                 "pool (a coflow size cap) or smaller DAG shapes",
                                 j, weft_fmt_exact(job_bytes, ts, sizeof ts),
                                 (long long)co->id, WORKLOAD_MAX_BYTES);
            }
        }
    }
    return WEFT_OK;
}

static weft_err_t add_job(gen_t *g, coflow_workload_t *wl, size_t j)
{
    const workload_gen_opts_t *o = g->o;
    double weight = draw_weight(g);
    double final_compute = o->compute_mean_s > 0 ? workload_rng_exp(&g->rng, o->compute_mean_s)
                                                 : 0;
    const coflow_job_t *sj = NULL;
    if (o->shape != WORKLOAD_SHAPE_RANDOM) {
        sj = &o->shapes->jobs[workload_rng_below(&g->rng, o->shapes->n_jobs)];
        if (o->compute_mean_s == 0 && o->keep_shape_compute)
            final_compute = sj->final_compute_s;
    }
    weft_err_t err = coflow_workload_add_job(wl, (int64_t)j, 0.0, weight, final_compute);
    if (err)
        return err;
    err = sj ? add_shape_dag(g, wl, sj) : add_random_dag(g, wl);
    if (!err)
        err = coflow_workload_finish_job(wl);
    if (err) /* workload_generate() discards wl, the open job with it */
        return weft_wrap(err, "generating job %zu: ", j);
    err = check_compute_times(o, &wl->jobs[wl->n_jobs - 1], wl->coflows, j);
    return err ? err : check_job_bytes(wl, j);
}

/* Poisson arrivals for the offered load: the rate is chosen so that the
 * n_jobs - 1 gaps span total / (load * n_ports * rate) on average, the span
 * the offered load is measured over (gaps of mean total / (load * n_ports *
 * rate * n_jobs) made it (n - 1) / n of that, the load n / (n - 1) of the
 * target: 1.5 x with 3 jobs). With exact_load the mean is n_jobs' (the scale
 * cancels it; kept so that the default's files stay as they were, to the
 * bit), and the n-1 drawn
 * gaps are then scaled to sum to exactly total / (load * n_ports * rate): the
 * arrivals of a Poisson process conditioned on its span (normalised
 * exponential spacings are uniform spacings), so the offered load measured
 * over the span is the target, not a noisy estimate of it. */
static weft_err_t place_arrivals(gen_t *g, coflow_workload_t *wl)
{
    const workload_gen_opts_t *o = g->o;
    size_t n = wl->n_jobs;
    double total = coflow_workload_total_bytes(wl);
    double capacity = o->load * (double)o->n_ports * o->port_rate;
    double n_gaps = o->exact_load || n < 2 ? (double)n : (double)(n - 1);
    double mean_gap = total / (capacity * n_gaps);
    /* a load so large that capacity (or capacity x jobs) overflows to inf,
     * or the gap underflows: every job would arrive at 0 */
    if (!(mean_gap > 0))
        return weft_fail(WEFT_EINVAL, "offered load %g: on %zu ports of %g bytes/s the mean gap "
                         "between %zu arrivals rounds to 0 s; expected a smaller load",
                         o->load, o->n_ports, o->port_rate, n);
    double t = 0, sum = 0;
    wl->jobs[0].arrival_s = 0;
    for (size_t j = 1; j < n; j++) {
        double gap = workload_rng_exp(&g->rng, mean_gap);
        wl->jobs[j].arrival_s = gap; /* gaps first, prefix sums below */
        sum += gap;
    }
    double scale = 1.0;
    if (o->exact_load && n > 1 && sum > 0)
        scale = (total / capacity) / sum;
    for (size_t j = 1; j < n; j++) {
        t += wl->jobs[j].arrival_s * scale;
        wl->jobs[j].arrival_s = t;
        /* a load so small the span passes what the readers accept (or
           overflows a double) */
        if (!(t <= WORKLOAD_MAX_TIME_S))
            return weft_fail(WEFT_EINVAL, "offered load %g: the arrival time of job %zu is "
                             "%g s, beyond the %g s the readers accept; expected a larger "
                             "load", o->load, j, t, WORKLOAD_MAX_TIME_S);
    }
    return WEFT_OK;
}

weft_err_t workload_generate(coflow_workload_t *wl, const workload_gen_opts_t *opts)
{
    weft_err_t err = WEFT_OK;
    gen_t g;
    coflow_fabric_t fab;
    memset(&g, 0, sizeof g);
    memset(&fab, 0, sizeof fab);
    coflow_workload_init(wl, opts ? opts->n_ports : 0);
    WEFT_CHECK(check_opts(opts));
    WEFT_CHECK(gen_init(&g, opts));
    for (size_t j = 0; j < opts->n_jobs; j++)
        WEFT_CHECK(add_job(&g, wl, j));
    WEFT_CHECK(place_arrivals(&g, wl));
    WEFT_CHECK(coflow_fabric_init(&fab, opts->n_ports, opts->port_rate));
    WEFT_CHECK(dag_analyze(wl, &fab));
cleanup:
    coflow_fabric_destroy(&fab);
    gen_destroy(&g);
    if (err) {
        size_t n_ports = wl->n_ports;
        coflow_workload_destroy(wl);
        coflow_workload_init(wl, n_ports);
    }
    return err;
}

weft_err_t workload_append(coflow_workload_t *dst, const coflow_workload_t *src)
{
    if (dst->job_open || src->job_open)
        return weft_fail(WEFT_EINVAL, "workload_append needs finished workloads");
    size_t old_ports = dst->n_ports, old_jobs = dst->n_jobs;
    if (src->n_ports > dst->n_ports)
        dst->n_ports = src->n_ports;
    weft_err_t err = WEFT_OK;
    for (size_t j = 0; j < src->n_jobs; j++) {
        const coflow_job_t *sj = &src->jobs[j];
        size_t base = dst->n_coflows;
        WEFT_CHECK(coflow_workload_add_job(dst, (int64_t)dst->n_jobs, sj->arrival_s, sj->weight,
                                           sj->final_compute_s));
        for (size_t c = sj->first_coflow; c < sj->first_coflow + sj->n_coflows; c++) {
            const coflow_coflow_t *co = &src->coflows[c];
            WEFT_CHECK(coflow_workload_add_coflow(dst, co->id, co->compute_s));
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++)
                WEFT_CHECK(coflow_workload_add_flow(dst, src->flows[f].src, src->flows[f].dst,
                                                    src->flows[f].bytes));
            for (size_t p = 0; p < co->n_parents; p++)
                WEFT_CHECK(coflow_workload_add_parent(
                    dst, src->coflows[src->parents[co->first_parent + p]].id));
        }
        WEFT_CHECK(coflow_workload_finish_job(dst));
        /* finish_job filled the sizes; the DAG-derived fields are src's. */
        coflow_job_t *dj = &dst->jobs[dst->n_jobs - 1];
        dj->depth = sj->depth;
        dj->lower_bound_s = sj->lower_bound_s;
        for (size_t k = 0; k < sj->n_coflows; k++) {
            const coflow_coflow_t *co = &src->coflows[sj->first_coflow + k];
            coflow_coflow_t *dc = &dst->coflows[base + k];
            dc->wave = co->wave;
            dc->n_children = co->n_children;
            dc->n_descendants = co->n_descendants;
            dc->iso_s = co->iso_s;
            dc->cp_below_s = co->cp_below_s;
        }
    }
    return WEFT_OK;
cleanup:
    /* Drop the partly added job and every job appended before it. */
    if (dst->job_open)
        dst->job_open = false;
    if (dst->n_jobs > old_jobs) {
        coflow_job_t *first = &dst->jobs[old_jobs];
        size_t c0 = first->first_coflow;
        if (c0 < dst->n_coflows) {
            dst->n_flows = dst->coflows[c0].first_flow;
            dst->n_parents = dst->coflows[c0].first_parent;
        }
        dst->n_coflows = c0;
        dst->n_jobs = old_jobs;
    }
    dst->n_pending = 0;
    dst->n_ports = old_ports;
    return err;
}
