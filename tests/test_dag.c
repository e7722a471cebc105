/*
 * test_dag.c - the workload builder's validation and dag_analyze(): waves,
 * children, descendants, iso times, critical paths, cycles.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dag.h"

/* A diamond job on 3 ports at 1 byte/s:
 *   a (id 1): 0->1 4 bytes, 0->2 2 bytes   iso = max(out0 6, in1 4, in2 2) = 6
 *   b (id 2, parent a, compute 1): 1->2 3 bytes   iso 3
 *   c (id 3, parent a): 2->0 5 bytes             iso 5
 *   d (id 4, parents b and c, compute 2): 0->0 1 byte  iso 1 (same port: uses
 *     port 0's send and receive)
 * final compute 0.5.
 * cp_below(d) = 1 + 0.5 = 1.5; cp_below(b) = 3 + (2 + 1.5) = 6.5;
 * cp_below(c) = 5 + 3.5 = 8.5; cp_below(a) = 6 + max(1 + 6.5, 0 + 8.5) = 14.5;
 * lower bound = compute(a) 0 + 14.5. */
static void build_diamond(coflow_workload_t *wl, int64_t job_id)
{
    cr_assert_eq(coflow_workload_add_job(wl, job_id, 0.0, 2.0, 0.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 1, 0.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 2, 2), WEFT_OK);
    /* d is added before its parents to show ids resolve at finish_job */
    cr_assert_eq(coflow_workload_add_coflow(wl, 4, 2.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 0, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(wl, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(wl, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 2, 1.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 1, 2, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 3, 0.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 2, 0, 5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

static coflow_workload_t wl;
static coflow_fabric_t fab;

static void setup(void)
{
    coflow_workload_init(&wl, 3);
    cr_assert_eq(coflow_fabric_init(&fab, 3, 1.0), WEFT_OK);
}

static void teardown(void)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

TestSuite(dag, .init = setup, .fini = teardown, .timeout = 10);

Test(dag, diamond_derived_fields)
{
    build_diamond(&wl, 7);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    /* coflows stored in insertion order: a, d, b, c */
    coflow_coflow_t *a = &wl.coflows[0], *d = &wl.coflows[1], *b = &wl.coflows[2],
                    *c = &wl.coflows[3];
    cr_assert_eq(a->id, 1);
    cr_assert_eq(d->id, 4);
    cr_assert_eq(a->wave, 0);
    cr_assert_eq(b->wave, 1);
    cr_assert_eq(c->wave, 1);
    cr_assert_eq(d->wave, 2);
    cr_assert_eq(a->n_children, 2);
    cr_assert_eq(b->n_children, 1);
    cr_assert_eq(d->n_children, 0);
    cr_assert_eq(a->n_descendants, 3);
    cr_assert_eq(b->n_descendants, 1);
    cr_assert_eq(d->n_descendants, 0);
    cr_assert_float_eq(a->iso_s, 6.0, 1e-12);
    cr_assert_float_eq(b->iso_s, 3.0, 1e-12);
    cr_assert_float_eq(c->iso_s, 5.0, 1e-12);
    cr_assert_float_eq(d->iso_s, 1.0, 1e-12);
    cr_assert_float_eq(d->cp_below_s, 1.5, 1e-12);
    cr_assert_float_eq(b->cp_below_s, 6.5, 1e-12);
    cr_assert_float_eq(c->cp_below_s, 8.5, 1e-12);
    cr_assert_float_eq(a->cp_below_s, 14.5, 1e-12);
    cr_assert_eq(wl.jobs[0].depth, 3);
    cr_assert_float_eq(wl.jobs[0].lower_bound_s, 14.5, 1e-12);
    /* derived sizes from finish_job */
    cr_assert_float_eq(a->total_bytes, 6.0, 1e-12);
    cr_assert_float_eq(a->max_flow_bytes, 4.0, 1e-12);
    cr_assert_eq(a->n_senders, 1);
    cr_assert_eq(a->n_receivers, 2);
    /* weighted bound: weight 2 * 14.5 over one job */
    cr_assert_float_eq(dag_weighted_bound(&wl), 29.0, 1e-12);
}

Test(dag, topo_order_puts_parents_first)
{
    build_diamond(&wl, 7);
    size_t order[4];
    cr_assert_eq(dag_topo_order(&wl, 0, order), WEFT_OK);
    size_t pos[4];
    for (size_t i = 0; i < 4; i++)
        pos[order[i]] = i;
    for (size_t c = 0; c < 4; c++)
        for (size_t p = 0; p < wl.coflows[c].n_parents; p++)
            cr_assert_lt(pos[wl.parents[wl.coflows[c].first_parent + p]], pos[c]);
}

/* Two threads sorting the same job over and over: each gets the order one
 * thread gets alone, and nothing aborts. Debian 12's igraph shares its
 * error-cleanup stack between threads; without dag.c's lock this aborted
 * ("Corrupt finally stack") within a few hundred calls. */
static void *sort_many(void *arg)
{
    const size_t *expect = arg;
    for (int i = 0; i < 20000; i++) {
        size_t order[4];
        if (dag_topo_order(&wl, 0, order) != WEFT_OK || memcmp(order, expect, sizeof order))
            return (void *)1;
    }
    return NULL;
}

Test(dag, topo_order_from_two_threads)
{
    build_diamond(&wl, 7);
    size_t expect[4];
    cr_assert_eq(dag_topo_order(&wl, 0, expect), WEFT_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, sort_many, expect), 0);
    void *mine = sort_many(expect), *theirs = NULL;
    pthread_join(th, &theirs);
    cr_assert_null(mine);
    cr_assert_null(theirs);
}

Test(dag, igraph_graph_matches_parents)
{
    build_diamond(&wl, 7);
    igraph_t g, expect;
    cr_assert_eq(dag_job_graph(&wl, 0, &g), WEFT_OK);
    /* vertices a=0 d=1 b=2 c=3: edges b->d, c->d, a->b, a->c */
    igraph_small(&expect, 4, IGRAPH_DIRECTED, 2, 1, 3, 1, 0, 2, 0, 3, -1);
    igraph_bool_t iso = 0;
    cr_assert_eq(igraph_isomorphic(&g, &expect, &iso), IGRAPH_SUCCESS);
    cr_assert(iso);
    cr_assert_eq(igraph_ecount(&g), 4);
    igraph_destroy(&g);
    igraph_destroy(&expect);
}

Test(dag, cycle_is_named)
{
    build_diamond(&wl, 7);
    /* job 9: x(10) <- y(11) <- z(12) <- x, plus a root r(13) */
    cr_assert_eq(coflow_workload_add_job(&wl, 9, 1.0, 1.0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 13, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    int64_t ids[3] = {10, 11, 12}, par[3] = {12, 10, 11};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, ids[i], 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_add_parent(&wl, par[i]), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    weft_err_t err = dag_analyze(&wl, &fab);
    cr_assert_eq(err, WEFT_ECYCLE);
    const char *msg = weft_last_error();
    cr_assert(strstr(msg, "cycle in job 9"), "message: %s", msg);
    cr_assert(strstr(msg, "10") && strstr(msg, "11") && strstr(msg, "12"), "message: %s", msg);
    cr_assert_null(strstr(msg, "13"), "root 13 is not on the cycle: %s", msg);
}

Test(dag, missing_parent_rolls_back_only_that_job)
{
    build_diamond(&wl, 7);
    size_t nc = wl.n_coflows, nf = wl.n_flows, np = wl.n_parents;
    cr_assert_eq(coflow_workload_add_job(&wl, 8, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 99), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_ENOTFOUND);
    cr_assert(strstr(weft_last_error(), "job 8 coflow 1: parent coflow 99 does not exist"),
              "%s", weft_last_error());
    /* the accepted job is intact and a new job can follow */
    cr_assert_eq(wl.n_jobs, 1);
    cr_assert_eq(wl.n_coflows, nc);
    cr_assert_eq(wl.n_flows, nf);
    cr_assert_eq(wl.n_parents, np);
    build_diamond(&wl, 10);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_float_eq(wl.jobs[1].lower_bound_s, 14.5, 1e-12);
}

Test(dag, self_parent_is_a_cycle)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 5, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 5), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_ECYCLE);
    cr_assert_eq(wl.n_jobs, 0);
}

typedef struct {
    uint32_t src, dst;
    double bytes;
    char needle[64];
} bad_flow_t;

ParameterizedTestParameters(dag, bad_flows)
{
    static bad_flow_t cases[] = {
        {3, 0, 1, "port 3 outside the fabric (ports 0..2)"},
        {0, 7, 1, "port 7 outside the fabric"},
        {0, 1, 0, "size 0 bytes"},
        {0, 1, -5, "size -5 bytes"},
        {0, 1, NAN, "size nan bytes"},
        {0, 1, INFINITY, "size inf bytes"},
    };
    return cr_make_param_array(bad_flow_t, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(bad_flow_t *bf, dag, bad_flows)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 4, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 6, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, bf->src, bf->dst, bf->bytes), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 4 coflow 6"), "%s", weft_last_error());
    cr_assert(strstr(weft_last_error(), bf->needle), "%s", weft_last_error());
    cr_assert_eq(wl.n_flows, 0);
}

Test(dag, bad_job_values)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 0, 0), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 1: weight 0"), "%s", weft_last_error());
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, -1, 0), WEFT_EINVAL);
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, NAN, 0), WEFT_EINVAL);
    cr_assert_eq(coflow_workload_add_job(&wl, 1, -1, 1, 0), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "arrival time -1"), "%s", weft_last_error());
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, -2), WEFT_EINVAL);
    cr_assert_eq(wl.n_jobs, 0);
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, -3), WEFT_EINVAL);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "coflow id 1 appears twice"), "%s", weft_last_error());
}

Test(dag, empty_coflow_and_empty_job_refused)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 1 has no coflows"), "%s", weft_last_error());
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "coflow 1 has no flows"), "%s", weft_last_error());
    cr_assert_eq(wl.n_jobs, 0);
    cr_assert_eq(wl.n_coflows, 0);
}

Test(dag, copy_is_deep_and_equal)
{
    build_diamond(&wl, 7);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    coflow_workload_t cp;
    cr_assert_eq(coflow_workload_copy(&cp, &wl), WEFT_OK);
    cr_assert_eq(cp.n_flows, wl.n_flows);
    cr_assert_eq(memcmp(cp.flows, wl.flows, wl.n_flows * sizeof *wl.flows), 0);
    cr_assert_eq(memcmp(cp.coflows, wl.coflows, wl.n_coflows * sizeof *wl.coflows), 0);
    cr_assert_neq(cp.flows, wl.flows);
    coflow_workload_destroy(&cp);
}

/* An empty workload holds NULL arrays: copying it must not hand NULL to
 * memcpy (undefined; UBSan's nonnull check fails this test if it does). */
Test(dag, copy_of_empty_workload)
{
    coflow_workload_t empty, cp;
    coflow_workload_init(&empty, 4);
    cr_assert_eq(coflow_workload_copy(&cp, &empty), WEFT_OK);
    cr_assert_eq(cp.n_jobs, 0);
    cr_assert_eq(cp.n_flows, 0);
    cr_assert_eq(cp.n_ports, 4);
    coflow_workload_destroy(&cp);
    coflow_workload_destroy(&empty);
}

/* A random layered DAG: critical path computed by dag_analyze must equal a
 * brute-force longest path over all root-to-sink paths. */
static double longest_from(const coflow_workload_t *w, size_t c)
{
    const coflow_coflow_t *co = &w->coflows[c];
    const coflow_job_t *job = &w->jobs[co->job];
    double best = job->final_compute_s; /* as a sink */
    int has_child = 0;
    double best_child = 0;
    for (size_t k = job->first_coflow; k < job->first_coflow + job->n_coflows; k++)
        for (size_t p = 0; p < w->coflows[k].n_parents; p++)
            if (w->parents[w->coflows[k].first_parent + p] == c) {
                double v = w->coflows[k].compute_s + longest_from(w, k);
                if (!has_child || v > best_child)
                    best_child = v;
                has_child = 1;
            }
    return co->iso_s + (has_child ? best_child : best);
}

/* Marks every coflow below c (its children, theirs, ...) in seen. */
static void mark_below(const coflow_workload_t *w, size_t c, char *seen)
{
    const coflow_job_t *job = &w->jobs[w->coflows[c].job];
    for (size_t k = job->first_coflow; k < job->first_coflow + job->n_coflows; k++)
        for (size_t p = 0; p < w->coflows[k].n_parents; p++)
            if (w->parents[w->coflows[k].first_parent + p] == c && !seen[k]) {
                seen[k] = 1;
                mark_below(w, k, seen);
            }
}

Test(dag, critical_path_matches_brute_force)
{
    unsigned seed = 12345;
    for (int job = 0; job < 20; job++) {
        cr_assert_eq(coflow_workload_add_job(&wl, job, job, 1 + job % 3, (job % 4) * 0.25),
                     WEFT_OK);
        int n = 2 + job % 6;
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            cr_assert_eq(coflow_workload_add_coflow(&wl, i, (seed >> 16) % 3), WEFT_OK);
            cr_assert_eq(coflow_workload_add_flow(&wl, (seed >> 8) % 3, (seed >> 12) % 3,
                                                  1 + (seed >> 20) % 9),
                         WEFT_OK);
            for (int p = 0; p < i; p++) {
                seed = seed * 1103515245u + 12345u;
                if ((seed >> 16) % 3 == 0)
                    cr_assert_eq(coflow_workload_add_parent(&wl, p), WEFT_OK);
            }
        }
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < wl.n_coflows; c++)
        cr_assert_float_eq(wl.coflows[c].cp_below_s, longest_from(&wl, c), 1e-9, "coflow %zu",
                           c);
    for (size_t j = 0; j < wl.n_jobs; j++) {
        double lb = 0;
        for (size_t c = wl.jobs[j].first_coflow;
             c < wl.jobs[j].first_coflow + wl.jobs[j].n_coflows; c++)
            if (wl.coflows[c].n_parents == 0 &&
                wl.coflows[c].compute_s + wl.coflows[c].cp_below_s > lb)
                lb = wl.coflows[c].compute_s + wl.coflows[c].cp_below_s;
        cr_assert_float_eq(wl.jobs[j].lower_bound_s, lb, 1e-9);
    }
    /* Descendants: distinct coflows reachable below, not paths. */
    char *seen = calloc(wl.n_coflows, 1);
    for (size_t c = 0; c < wl.n_coflows; c++) {
        memset(seen, 0, wl.n_coflows);
        mark_below(&wl, c, seen);
        uint32_t n = 0;
        for (size_t k = 0; k < wl.n_coflows; k++)
            n += seen[k];
        cr_assert_eq(wl.coflows[c].n_descendants, n, "coflow %zu: %u descendants, expected %u",
                     c, wl.coflows[c].n_descendants, n);
    }
    free(seen);
}
