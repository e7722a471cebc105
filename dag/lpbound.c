/*
 * lpbound.c - a lower bound on the average weighted JCT any schedule can
 * reach, from a linear program (GLPK) over the coflows' completion times.
 *
 * Variables: C_c, when coflow c's last flow finishes, and C_j, when job j
 * ends. Every schedule on the fabric satisfies
 *   - release:    C_c >= a_j + head_c + iso_c, head_c the heaviest path of
 *                 compute and isolation times above c, its own compute
 *                 included (no flow of c starts before a_j + head_c);
 *   - precedence: C_c >= C_p + compute_c + iso_c for each parent p;
 *   - job end:    C_j >= C_c + final_compute_j for each sink c;
 *   - ports:      each side of a port is one machine of rate 1 on which
 *                 coflow c has p_c = (its bytes through it) / capacity of
 *                 work. For any set S of the coflows on it, ordered by
 *                 completion, the first k of them need all their work done
 *                 after min release of S, so (the parallel inequalities of
 *                 Queyranne, shifted by release; Hall, Schulz, Shmoys and
 *                 Wein 1997)
 *                   sum_S p_c C_c >= r(S) p(S) + (p(S)^2 + sum_S p_c^2) / 2;
 *   - a job's own work on a port: see job_port_bounds().
 * Minimising sum_j w_j C_j under a subset of these constraints gives a
 * value no schedule beats. The LP's variables are the times from each
 * job's arrival, x = C - a_j (so the objective is sum_j w_j JCT_j): the
 * simplex's tolerances are relative to the values, and on absolute times
 * of a late trace (arrivals up to 1e9 s) they would exceed the JCTs.
 *
 * The port constraints are exponentially many; they are added as cuts: for
 * each machine, the LP's C sorted ascending, prefixes of the coflows
 * released at or after each threshold (sorting is the exact separation
 * without release times). Each round's optimum is a valid bound, each
 * round tightens it.
 */
#include "dag.h"

#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    size_t c;   /* coflow */
    double p;   /* its work on the machine, seconds */
    double r;   /* its earliest release, seconds */
    double a;   /* its job's arrival, seconds */
} work_t;

typedef struct {
    const coflow_workload_t *wl;
    int weight_exp;   /* the objective's weights times 2^-weight_exp */
    glp_prob *lp;
    size_t n_machines;
    size_t *mstart;   /* [n_machines + 1] CSR into work */
    work_t *work;
    double *head;     /* [n_coflows] earliest release - arrival */
    double *cval;     /* [n_coflows] the LP's C_c - arrival of c's job */
    work_t *sorted;   /* scratch: one machine's work by C_c */
    double *thr;      /* scratch: release thresholds */
    int *ind;         /* scratch: a row's columns (1-based for GLPK) */
    double *val;
    size_t n_cuts;
    double most_violated; /* this round's cuts' largest viol / (1 + |rhs|) */
} lpb_t;

/* One cut found by separate(): a prefix of one machine's work sorted by
 * C_c, restricted to releases >= thr, and its sums. */
typedef struct {
    double viol;        /* rhs - lhs, both divided by p(S): seconds */
    double thr;
    size_t len;         /* prefix length in the filtered order */
    double ps, rhs;     /* p(S), the row's right-hand side */
} cut_t;

/* By completion time C_c = a_c + x_c. */
static int cmp_by_c(const void *a, const void *b, void *cval)
{
    const work_t *u = a, *v = b;
    double x = u->a + ((const double *)cval)[u->c], y = v->a + ((const double *)cval)[v->c];
    return x < y ? -1 : x > y;
}

/* Entries a machine's separation may visit in a round (separate): its
 * release thresholds times its work. */
#define SEPARATION_BUDGET ((size_t)1 << 22)

/* Rounds without a gain after which the cuts have converged (dag.h). */
#define MAX_STALL_ROUNDS 16
size_t dag_lp_stall_rounds = 3;
/* How far below its bound a cut may be, relative to 1 + the bound, and
 * still be within the simplex's own tolerance (GLPK's tol_bnd, 1e-7, with
 * room to spare): only rounds whose cuts are all that close can stall.
 * Cuts violated by more are new constraints that the LP satisfies once
 * added; they may leave the bound flat for many rounds before it rises
 * (1.8% higher after three flat rounds in test_lpbound.c; 0.3% after 120
 * rounds on a generated workload with a slow port). */
double dag_lp_stall_violation = 1e-6;
/* A plateau of real cuts (dag.h): on 300 small random workloads the
 * longest flat run that a gain still followed was 32 rounds, for a gain
 * of 0.025%; two workloads went flat to the round limit, 5 and 13 s
 * where their first 20 rounds take a tenth of it. */
size_t dag_lp_plateau_rounds = 20;

/* Whether bound v is no gain on an earlier round's, then: the stall and
 * the plateau stops' one test. */
static bool no_gain(double v, double then)
{
    return v - then <= 1e-12 * (1 + fabs(v));
}

/* Rounds of cuts at most; cuts a machine adds a round at most (the most
 * violated, of different release thresholds); how far below its bound a
 * row must be, relative to 1 + the bound, to be a cut. */
#define MAX_ROUNDS 200
#define CUTS_PER_MACHINE 4
#define CUT_TOLERANCE 1e-9

/* Iterations one simplex call may take, per row and column: far more than
 * any LP here needs (a few), few enough that one that cycles ends. */
int dag_lp_iterations_per_row = 50;

/* Solves b's LP (round 0 from scratch, later ones from the last round's
 * basis, which the cuts leave dual feasible); false if GLPK's simplex finds
 * no optimum. Sizes from 1 byte to 1e15 give rows whose coefficients span
 * as many orders of magnitude: the unscaled simplex can then cycle (it ran
 * for minutes on a 16-row LP) or stop short of an optimum, and scaling
 * each round makes others fail instead (measured on such workloads), so a
 * round that fails unscaled, or runs past the iteration cap, is solved
 * again scaled from a fresh basis. Deterministic: no time limit. */
static bool solve(lpb_t *b, size_t round)
{
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_OFF;
    parm.it_lim = dag_lp_iterations_per_row *
                  (glp_get_num_rows(b->lp) + glp_get_num_cols(b->lp) + 1);
    parm.meth = round ? GLP_DUALP : GLP_PRIMAL;
    if (glp_simplex(b->lp, &parm) == 0 && glp_get_status(b->lp) == GLP_OPT)
        return true;
    int was = glp_term_out(GLP_OFF); /* glp_scale_prob reports on the terminal */
    glp_scale_prob(b->lp, GLP_SF_AUTO);
    glp_term_out(was);
    glp_std_basis(b->lp);
    parm.meth = GLP_PRIMAL;
    return glp_simplex(b->lp, &parm) == 0 && glp_get_status(b->lp) == GLP_OPT;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Adds the row sum_S (p_c / p(S)) x_c >= k->rhs for cut k of the n entries
 * of sorted[] (x_c = C_c - a_c, below). */
static void add_cut(lpb_t *b, size_t n, const cut_t *k)
{
    int len = 0;
    for (size_t i = 0; i < n && (size_t)len < k->len; i++) {
        const work_t *w = &b->sorted[i];
        if (w->r < k->thr)
            continue;
        len++;
        b->ind[len] = (int)w->c + 1;
        b->val[len] = w->p / k->ps;
    }
    int row = glp_add_rows(b->lp, 1);
    glp_set_mat_row(b->lp, row, len, b->ind, b->val);
    glp_set_row_bnds(b->lp, row, GLP_LO, k->rhs, 0);
    b->n_cuts++;
}

/* Adds the most violated port constraints of machine m at the LP's
 * current C as rows: for each release threshold the most violated prefix,
 * and of those the CUTS_PER_MACHINE most violated. Returns how many. */
static size_t separate(lpb_t *b, size_t m)
{
    size_t lo = b->mstart[m], n = b->mstart[m + 1] - lo;
    if (n == 0)
        return 0; /* a port side nothing uses */
    for (size_t i = 0; i < n; i++) {
        b->sorted[i] = b->work[lo + i];
        b->thr[i] = b->work[lo + i].r;
    }
    qsort_r(b->sorted, n, sizeof *b->sorted, cmp_by_c, b->cval);
    qsort(b->thr, n, sizeof *b->thr, cmp_double);
    size_t n_thr = 0;
    for (size_t i = 0; i < n; i++)
        if (n_thr == 0 || b->thr[i] != b->thr[n_thr - 1])
            b->thr[n_thr++] = b->thr[i];
    const size_t max_cuts = CUTS_PER_MACHINE;
    cut_t best[CUTS_PER_MACHINE];
    size_t n_best = 0;
    /* each threshold costs a pass over the machine's work: every one while
       that stays within SEPARATION_BUDGET, else as many as fit, spread
       evenly over the releases, the earliest always (a long trace has
       thousands of coflows a port) */
    size_t most = SEPARATION_BUDGET / n > 0 ? SEPARATION_BUDGET / n : 1;
    size_t step = (n_thr + most - 1) / most;
    for (size_t t = 0; t < n_thr; t += step) {
        /* d: sum_S p_c (r(S) - a_c), kept from differences of nearby
           times, never from two sums of absolute ones */
        double ps = 0, p2 = 0, lhs = 0, rmin = INFINITY, d = 0;
        cut_t top = {.thr = b->thr[t]};
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
            const work_t *w = &b->sorted[i];
            if (w->r < top.thr)
                continue;
            if (w->r < rmin) {
                if (ps > 0)
                    d += ps * (w->r - rmin);
                rmin = w->r;
            }
            d += w->p * (rmin - w->a);
            ps += w->p;
            p2 += w->p * w->p;
            lhs += w->p * b->cval[w->c];
            len++;
            double rhs = d / ps + 0.5 * (ps + p2 / ps), viol = rhs - lhs / ps;
            if (viol > CUT_TOLERANCE * (1 + fabs(rhs)) && viol > top.viol)
                top = (cut_t){viol, top.thr, len, ps, rhs};
        }
        if (top.len == 0)
            continue;
        /* keep the max_cuts most violated, largest first */
        size_t at = n_best;
        if (n_best < max_cuts)
            n_best++;
        else if (top.viol > best[max_cuts - 1].viol)
            at = max_cuts - 1;
        else
            continue;
        while (at > 0 && best[at - 1].viol < top.viol) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = top;
    }
    for (size_t i = 0; i < n_best; i++) {
        add_cut(b, n, &best[i]);
        double rel = best[i].viol / (1 + fabs(best[i].rhs));
        if (rel > b->most_violated)
            b->most_violated = rel;
    }
    return n_best;
}

static void lpb_free(lpb_t *b)
{
    if (b->lp)
        glp_delete_prob(b->lp);
    free(b->mstart);
    free(b->work);
    free(b->head);
    free(b->cval);
    free(b->sorted);
    free(b->thr);
    free(b->ind);
    free(b->val);
}

/* head[] (earliest release after arrival) of every coflow, in each job's
 * topological order. */
static weft_err_t heads(lpb_t *b)
{
    const coflow_workload_t *wl = b->wl;
    size_t *order = weft_calloc(wl->n_coflows ? wl->n_coflows : 1, sizeof *order);
    if (!order)
        return weft_fail(WEFT_ENOMEM, "out of memory for the LP bound's order");
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        weft_err_t err = dag_topo_order(wl, j, order);
        if (err) {
            free(order);
            return err;
        }
        for (size_t i = 0; i < job->n_coflows; i++) {
            size_t c = order[i];
            const coflow_coflow_t *co = &wl->coflows[c];
            double h = 0;
            for (size_t k = 0; k < co->n_parents; k++) {
                size_t p = wl->parents[co->first_parent + k];
                double t = b->head[p] + wl->coflows[p].iso_s;
                if (t > h)
                    h = t;
            }
            b->head[c] = h + co->compute_s;
        }
    }
    free(order);
    return WEFT_OK;
}

/* Each machine's work: machine p sends through port p, n_ports + p
 * receives. One entry per coflow and machine. */
static weft_err_t machines(lpb_t *b, const coflow_fabric_t *fab)
{
    const coflow_workload_t *wl = b->wl;
    size_t np = fab->n_ports, nm = 2 * np;
    double *load = weft_calloc(nm, sizeof *load);
    size_t *used = weft_calloc(nm, sizeof *used);
    b->mstart = weft_calloc(nm + 1, sizeof *b->mstart);
    if (!load || !used || !b->mstart) {
        free(load);
        free(used);
        return weft_fail(WEFT_ENOMEM, "out of memory for the LP bound's ports");
    }
    /* two passes: count, then fill */
    for (int pass = 0; pass < 2; pass++) {
        size_t *fill = NULL;
        if (pass == 1) {
            for (size_t m = 0; m < nm; m++)
                b->mstart[m + 1] += b->mstart[m];
            size_t total = b->mstart[nm];
            b->work = weft_calloc(total ? total : 1, sizeof *b->work);
            fill = weft_calloc(nm, sizeof *fill);
            if (!b->work || !fill) {
                free(fill);
                free(load);
                free(used);
                return weft_fail(WEFT_ENOMEM, "out of memory for the LP bound's work "
                                 "(%zu entries)", total);
            }
        }
        for (size_t c = 0; c < wl->n_coflows; c++) {
            const coflow_coflow_t *co = &wl->coflows[c];
            size_t n_used = 0;
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                size_t ms = wl->flows[f].src, mr = np + wl->flows[f].dst;
                if (load[ms] == 0)
                    used[n_used++] = ms;
                load[ms] += wl->flows[f].bytes;
                if (load[mr] == 0)
                    used[n_used++] = mr;
                load[mr] += wl->flows[f].bytes;
            }
            double a = wl->jobs[co->job].arrival_s, r = a + b->head[c];
            for (size_t i = 0; i < n_used; i++) {
                size_t m = used[i];
                double cap = m < np ? fab->cap_out[m] : fab->cap_in[m - np];
                if (pass == 0)
                    b->mstart[m + 1]++;
                else
                    b->work[b->mstart[m] + fill[m]++] = (work_t){c, load[m] / cap, r, a};
                load[m] = 0;
            }
        }
        free(fill);
    }
    free(load);
    free(used);
    b->n_machines = nm;
    return WEFT_OK;
}

static int cmp_by_release_desc(const void *a, const void *b)
{
    double x = ((const work_t *)a)->r, y = ((const work_t *)b)->r;
    return x > y ? -1 : x < y;
}

/* The least JCT of each job from its own work on one machine, into jlb[]
 * (raised, never lowered): the work of its coflows released at tau or
 * later cannot be done before tau + their p, and after the last of them
 * the job still needs that coflow's tail (its heaviest path below, final
 * compute included), at least the smallest of theirs. Over every tau
 * among the releases. The parallel inequalities bound a weighted mean of
 * the completions, not the last one, so they do not imply this. A job's
 * coflows are one index range, so its entries on a machine are adjacent. */
static void job_port_bounds(lpb_t *b, double *jlb)
{
    const coflow_workload_t *wl = b->wl;
    for (size_t m = 0; m < b->n_machines; m++) {
        size_t end = b->mstart[m + 1];
        for (size_t i = b->mstart[m]; i < end;) {
            size_t j = wl->coflows[b->work[i].c].job, k = 0;
            for (; i < end && wl->coflows[b->work[i].c].job == j; i++)
                b->sorted[k++] = b->work[i];
            qsort(b->sorted, k, sizeof *b->sorted, cmp_by_release_desc);
            double p = 0, tail = INFINITY;
            for (size_t x = 0; x < k; x++) {
                const work_t *w = &b->sorted[x];
                const coflow_coflow_t *co = &wl->coflows[w->c];
                p += w->p;
                if (co->cp_below_s - co->iso_s < tail)
                    tail = co->cp_below_s - co->iso_s;
                if (x + 1 < k && b->sorted[x + 1].r == w->r)
                    continue; /* all of one release at once */
                double v = (w->r - w->a) + p + tail;
                if (v > jlb[j])
                    jlb[j] = v;
            }
        }
    }
}

/* The LP without port constraints: columns, bounds (each job's from
 * job_port_bounds too), precedence and job ends. */
static void build_lp(lpb_t *b, const double *jlb)
{
    const coflow_workload_t *wl = b->wl;
    size_t nc = wl->n_coflows, nj = wl->n_jobs;
    glp_prob *lp = b->lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MIN);
    glp_add_cols(lp, (int)(nc + nj));
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        double lo = b->head[c] + co->iso_s;
        glp_set_col_bnds(lp, (int)c + 1, GLP_LO, lo, 0);
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t p = wl->parents[co->first_parent + k];
            int ind[3] = {0, (int)c + 1, (int)p + 1};
            double val[3] = {0, 1, -1};
            int row = glp_add_rows(lp, 1);
            glp_set_mat_row(lp, row, 2, ind, val);
            glp_set_row_bnds(lp, row, GLP_LO, co->compute_s + co->iso_s, 0);
        }
    }
    for (size_t j = 0; j < nj; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        int col = (int)(nc + j) + 1;
        glp_set_col_bnds(lp, col, GLP_LO, fmax(job->lower_bound_s, jlb[j]), 0);
        glp_set_obj_coef(lp, col, ldexp(job->weight, -b->weight_exp));
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
            if (wl->coflows[c].n_children)
                continue;
            int ind[3] = {0, col, (int)c + 1};
            double val[3] = {0, 1, -1};
            int row = glp_add_rows(lp, 1);
            glp_set_mat_row(lp, row, 2, ind, val);
            glp_set_row_bnds(lp, row, GLP_LO, job->final_compute_s, 0);
        }
    }
}

weft_err_t dag_lp_bound(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                        dag_lp_bound_t *out)
{
    memset(out, 0, sizeof *out);
    if (wl->n_jobs == 0)
        return weft_fail(WEFT_EINVAL, "LP bound: the workload has no jobs");
    if (fab->n_ports < wl->n_ports)
        return weft_fail(WEFT_EINVAL, "LP bound: the workload has %zu ports, the fabric %zu",
                         wl->n_ports, fab->n_ports);
    if (wl->n_coflows + wl->n_jobs >= INT_MAX) /* GLPK counts columns in int */
        return weft_fail(WEFT_EINVAL, "LP bound: %zu coflows and %zu jobs, more columns than "
                         "GLPK takes", wl->n_coflows, wl->n_jobs);
    for (size_t j = 0; j < wl->n_jobs; j++)
        if (wl->jobs[j].depth == 0)
            return weft_fail(WEFT_EINVAL, "LP bound: job %lld not analysed (dag_analyze)",
                             (long long)wl->jobs[j].id);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lpb_t b = {.wl = wl, .weight_exp = coflow_workload_weight_exp(wl)};
    size_t nc = wl->n_coflows;
    b.head = weft_calloc(nc, sizeof *b.head);
    b.cval = weft_calloc(nc, sizeof *b.cval);
    weft_err_t err = (!b.head || !b.cval)
                         ? weft_fail(WEFT_ENOMEM, "out of memory for the LP bound (%zu coflows)",
                                     nc)
                         : heads(&b);
    if (!err)
        err = machines(&b, fab);
    size_t most = 0; /* the most work entries on one machine */
    for (size_t m = 0; !err && m < b.n_machines; m++)
        if (b.mstart[m + 1] - b.mstart[m] > most)
            most = b.mstart[m + 1] - b.mstart[m];
    if (!err) {
        b.sorted = weft_calloc(most + 1, sizeof *b.sorted);
        b.thr = weft_calloc(most + 1, sizeof *b.thr);
        b.ind = weft_calloc(most + 1, sizeof *b.ind);
        b.val = weft_calloc(most + 1, sizeof *b.val);
        if (!b.sorted || !b.thr || !b.ind || !b.val)
            err = weft_fail(WEFT_ENOMEM, "out of memory for the LP bound's cuts");
    }
    double *jlb = err ? NULL : weft_calloc(wl->n_jobs, sizeof *jlb);
    if (!err && !jlb)
        err = weft_fail(WEFT_ENOMEM, "out of memory for the LP bound (%zu jobs)", wl->n_jobs);
    if (!err) {
        job_port_bounds(&b, jlb);
        build_lp(&b, jlb);
    }
    free(jlb);
    size_t round = 0;
    bool converged = false;
    size_t stall = dag_lp_stall_rounds < MAX_STALL_ROUNDS ? dag_lp_stall_rounds
                                                          : MAX_STALL_ROUNDS;
    double last[MAX_STALL_ROUNDS]; /* the bound of the last rounds */
    size_t close_rounds = 0;       /* the last rounds whose cuts were all
                                      within dag_lp_stall_violation */
    size_t flat_rounds = 0;        /* the last rounds without a gain */
    double before = 0;             /* the round before's bound */
    while (!err) {
        if (!solve(&b, round)) {
            /* Each round's optimum is a bound: the last one solved stands.
               Without one there is none. */
            if (round == 0)
                err = weft_fail(WEFT_EINVAL, "LP bound: GLPK's simplex found no optimum of "
                                "the first LP, even scaled (sizes or weights spanning too many "
                                "orders of magnitude for its tolerances?)");
            out->solver_stopped = true;
            break;
        }
        /* over the scaled weights (build_lp): the bound, and the stall
           tests below, in ordinary doubles whatever the weights' size */
        double v = glp_get_obj_val(b.lp) / (double)wl->n_jobs;
        out->scaled_avg_weighted_jct = v;
        out->avg_weighted_jct = ldexp(v, b.weight_exp);
        if (round == 0)
            out->avg_weighted_path = out->avg_weighted_jct;
        /* A cut violated by less than the simplex's own tolerance can come
           back round after round without raising the bound: stop there. */
        if (stall) {
            double *then = &last[round % stall];
            if (round >= stall && close_rounds >= stall && no_gain(v, *then)) {
                converged = true;
                break;
            }
            *then = v;
        }
        flat_rounds = round > 0 && no_gain(v, before) ? flat_rounds + 1 : 0;
        before = v;
        if (dag_lp_plateau_rounds && flat_rounds >= dag_lp_plateau_rounds) {
            out->plateau = true;
            break;
        }
        if (round >= MAX_ROUNDS)
            break;
        for (size_t c = 0; c < nc; c++)
            b.cval[c] = glp_get_col_prim(b.lp, (int)c + 1);
        size_t added = 0;
        b.most_violated = 0;
        for (size_t m = 0; m < b.n_machines; m++)
            added += separate(&b, m);
        round++;
        if (!added) {
            converged = true;
            break;
        }
        close_rounds = b.most_violated <= dag_lp_stall_violation ? close_rounds + 1 : 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->n_rounds = round;
    out->n_cuts = b.n_cuts;
    out->converged = converged;
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    lpb_free(&b);
    if (err)
        memset(out, 0, sizeof *out);
    return err;
}

void dag_lp_thread_done(void) { glp_free_env(); }
