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

/* Adds to the open job a coflow id with one flow and parents par[0..n). */
static void add_coflow_with_parents(int64_t id, const int64_t *par, size_t n)
{
    cr_assert_eq(coflow_workload_add_coflow(&wl, id, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(coflow_workload_add_parent(&wl, par[i]), WEFT_OK);
}

/* The message named every coflow a partial sort left out, those below a
 * cycle too, and cut a long list without saying so. It names one cycle, in
 * edge order, and a long one with how many coflows it leaves out. */
Test(dag, cycle_message_names_only_the_cycle)
{
    /* 1 <-> 2, then 3 below 2 and 4 below 3 */
    cr_assert_eq(coflow_workload_add_job(&wl, 7, 0, 1, 0), WEFT_OK);
    int64_t p1 = 2, p2 = 1, p3 = 2, p4 = 3;
    add_coflow_with_parents(4, &p4, 1);
    add_coflow_with_parents(3, &p3, 1);
    add_coflow_with_parents(1, &p1, 1);
    add_coflow_with_parents(2, &p2, 1);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_ECYCLE);
    cr_assert_str_eq(weft_last_error(), "cycle in job 7: coflows 1 -> 2 -> 1");
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, 3);

    /* 66 coflows in one cycle, i after i - 1 and 1 after 66 */
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 0, 1, 0), WEFT_OK);
    for (int64_t id = 1; id <= 66; id++) {
        int64_t par = id > 1 ? id - 1 : 66;
        add_coflow_with_parents(id, &par, 1);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_ECYCLE);
    cr_assert_str_eq(weft_last_error(), "cycle in job 5: coflows 1 -> 2 -> 3 -> 4 -> 5 -> 6 -> 7 "
                                        "-> 8 -> ... and 58 more -> 1");
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

/* A chain of 100,000 coflows, each the parent of the next, built through
 * the builder the readers use and analysed. Reading such a job took time
 * quadratic in its length (a scan of the job for every coflow id and every
 * parent, a breadth-first search below every coflow for its descendants):
 * this size took minutes. Asserts results only, never time; the suite's
 * timeout stops a quadratic build. Ids are spread out and partly negative
 * so the builder's id table is not fed 0, 1, 2, ... */
#define CHAIN_N 100000

static int64_t chain_id(size_t i) { return (int64_t)i * 7919 - 50000000; }

Test(dag, long_chain_is_analysed_exactly)
{
    const double final_compute = 0.25;
    cr_assert_eq(coflow_workload_add_job(&wl, 3, 0.0, 1.0, final_compute), WEFT_OK);
    for (size_t i = 0; i < CHAIN_N; i++) {
        /* odd coflows wait 0.5 s of compute; one flow of 1..5 bytes at
         * 1 byte/s, so iso = bytes, and every sum below is exact */
        cr_assert_eq(coflow_workload_add_coflow(&wl, chain_id(i), (i % 2) * 0.5), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, (uint32_t)(i % 3), (uint32_t)((i + 1) % 3),
                                              (double)(1 + i % 5)),
                     WEFT_OK);
        if (i > 0)
            cr_assert_eq(coflow_workload_add_parent(&wl, chain_id(i - 1)), WEFT_OK);
    }
    /* a duplicate id is still caught in a job this large */
    cr_assert_eq(coflow_workload_add_coflow(&wl, chain_id(CHAIN_N / 2), 0), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "appears twice"), "%s", weft_last_error());
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());

    const coflow_job_t *job = &wl.jobs[0];
    cr_assert_eq(job->n_coflows, CHAIN_N);
    cr_assert_eq(job->depth, CHAIN_N, "depth %u, expected one wave per coflow", job->depth);
    /* from the end up: cp_below(i) = iso(i) + compute(i+1) + cp_below(i+1) */
    double below = final_compute;
    for (size_t i = CHAIN_N; i-- > 0;) {
        const coflow_coflow_t *co = &wl.coflows[i];
        cr_assert_eq(co->id, chain_id(i));
        cr_assert_eq(co->n_parents, i > 0);
        if (i > 0)
            cr_assert_eq(wl.parents[co->first_parent], i - 1, "coflow %zu's parent", i);
        cr_assert_eq(co->wave, i, "coflow %zu: wave %u", i, co->wave);
        cr_assert_eq(co->n_children, i + 1 < CHAIN_N, "coflow %zu", i);
        cr_assert_eq(co->n_descendants, CHAIN_N - 1 - i, "coflow %zu: %u descendants", i,
                     co->n_descendants);
        cr_assert_eq(co->iso_s, (double)(1 + i % 5));
        below += co->iso_s;
        cr_assert_eq(co->cp_below_s, below, "coflow %zu: %.17g, expected %.17g", i,
                     co->cp_below_s, below);
        below += co->compute_s;
    }
    /* the closed form: every byte, every odd coflow's compute, the final */
    double bytes = 0;
    for (size_t i = 0; i < CHAIN_N; i++)
        bytes += (double)(1 + i % 5);
    /* NOLINTNEXTLINE(bugprone-integer-division): a count */
    double lb = bytes + 0.5 * (CHAIN_N / 2) + final_compute;
    cr_assert_eq(job->lower_bound_s, lb, "%.17g, expected %.17g", job->lower_bound_s, lb);
    cr_assert_eq(dag_weighted_bound(&wl), lb);

    size_t *order = malloc(CHAIN_N * sizeof *order);
    cr_assert_eq(dag_topo_order(&wl, 0, order), WEFT_OK);
    for (size_t i = 0; i < CHAIN_N; i++)
        cr_assert_eq(order[i], i);
    free(order);
}

/* The same chain closed into a cycle far from where it starts is named. */
Test(dag, long_cycle_is_found)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 0.0, 1.0, 0), WEFT_OK);
    for (size_t i = 0; i < CHAIN_N; i++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, chain_id(i), 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_add_parent(&wl, chain_id(i > 0 ? i - 1 : CHAIN_N - 1)),
                     WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_ECYCLE);
    cr_assert(strstr(weft_last_error(), "cycle in job 5"), "%s", weft_last_error());
}

/* finish_job's checks of parent lists, across a job large enough that the
 * builder's id table grows several times: a parent listed twice (even far
 * apart in a long list), a parent defined after its child, and a rolled
 * back job whose ids a new job reuses. */
Test(dag, parent_lists_in_a_large_job)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    for (int64_t id = 0; id < 1000; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_add_coflow(&wl, -1, 0), WEFT_OK); /* joins all 1000 */
    cr_assert_eq(coflow_workload_add_flow(&wl, 1, 2, 1), WEFT_OK);
    for (int64_t id = 0; id < 1000; id++)
        cr_assert_eq(coflow_workload_add_parent(&wl, id), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 17), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 1 coflow -1 lists parent 17 twice"), "%s",
              weft_last_error());
    cr_assert_eq(wl.n_jobs, 0);
    cr_assert_eq(wl.n_coflows, 0);

    /* job 2 reuses the rolled-back ids; each coflow's parent is the next
     * one, defined after it */
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 0), WEFT_OK);
    for (int64_t id = 0; id < 1000; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        if (id < 999)
            cr_assert_eq(coflow_workload_add_parent(&wl, id + 1), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_add_coflow(&wl, 5, 0), WEFT_EINVAL);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c + 1 < 1000; c++)
        cr_assert_eq(wl.parents[wl.coflows[c].first_parent], c + 1);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.coflows[0].wave, 999);
    cr_assert_eq(wl.coflows[0].n_descendants, 0);
    cr_assert_eq(wl.coflows[999].n_descendants, 999);

    /* a new job starts with none of the last one's ids */
    cr_assert_eq(coflow_workload_add_job(&wl, 3, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 7, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 8), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_ENOTFOUND);
    cr_assert(strstr(weft_last_error(), "parent coflow 8 does not exist"), "%s",
              weft_last_error());
}

/* n_descendants against igraph's breadth-first count (what dag_analyze
 * used before it stopped its searches at dominating coflows), on shapes
 * that make the shortcut matter: chains with long skips, fork-join
 * pipelines, trees both ways, diamonds nested in chains, and random DAGs
 * dense and sparse. */
static void add_shape(coflow_workload_t *w, int64_t job_id, int shape, size_t n, unsigned *seed)
{
    cr_assert_eq(coflow_workload_add_job(w, job_id, 0, 1, 0), WEFT_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(coflow_workload_add_coflow(w, (int64_t)i, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(w, 0, 1, 1), WEFT_OK);
        bool has[n]; /* parents chosen, none twice */
        memset(has, 0, sizeof has);
#define PARENT(p)                                                                      \
    do {                                                                               \
        size_t p_ = (p);                                                               \
        if (p_ < i && !has[p_]) {                                                      \
            has[p_] = true;                                                            \
            cr_assert_eq(coflow_workload_add_parent(w, (int64_t)p_), WEFT_OK);         \
        }                                                                              \
    } while (0)
        *seed = *seed * 1103515245u + 12345u;
        unsigned r = *seed >> 8;
        switch (shape) {
        case 0: /* chain with a skip every few coflows */
            if (i > 0)
                PARENT(i - 1);
            if (i > 3 && r % 4 == 0)
                PARENT(r % i);
            break;
        case 1: /* fork-join pipeline: stages of 1 and of 2..6 coflows */
        {
            size_t stage = i / 5, in = i % 5;
            if (stage > 0) {
                if (stage % 2 == 1) { /* wide stage: all from the last hub */
                    PARENT(stage * 5 - 5);
                } else if (in == 0) { /* hub: joins the wide stage before */
                    for (size_t k = 0; k < 5; k++)
                        PARENT(stage * 5 - 5 + k);
                } else {
                    PARENT(stage * 5); /* a fan below the hub */
                }
            }
            break;
        }
        case 2: /* out-tree */
            if (i > 0)
                PARENT(r % i);
            break;
        case 3: /* in-tree, built upside down: i's parents are ones above */
            if (i > 0)
                PARENT((i - 1) / 2);
            if (i > 2 && r % 3 == 0)
                PARENT(i - 2);
            break;
        case 4: /* dense random */
            for (size_t k = 0; k < i; k++) {
                *seed = *seed * 1103515245u + 12345u;
                if ((*seed >> 16) % 8 == 0)
                    PARENT(k);
            }
            break;
        default: /* sparse random, near the diagonal */
            if (i > 0 && r % 5 != 0)
                PARENT(i - 1 - r % (i < 10 ? i : 10));
            if (i > 1 && r % 7 == 0)
                PARENT((r >> 4) % i);
            break;
        }
#undef PARENT
    }
    cr_assert_eq(coflow_workload_finish_job(w), WEFT_OK, "%s", weft_last_error());
}

Test(dag, descendants_match_igraph_search)
{
    unsigned seed = 777;
    int64_t job_id = 0;
    for (int shape = 0; shape < 6; shape++)
        for (size_t n = 2; n <= 300; n = n * 3 + 1)
            add_shape(&wl, job_id++, shape, n, &seed);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    for (size_t j = 0; j < wl.n_jobs; j++) {
        const coflow_job_t *job = &wl.jobs[j];
        igraph_t g;
        cr_assert_eq(dag_job_graph(&wl, j, &g), WEFT_OK);
        igraph_vector_int_t size;
        cr_assert_eq(igraph_vector_int_init(&size, 0), IGRAPH_SUCCESS);
        cr_assert_eq(igraph_neighborhood_size(&g, &size, igraph_vss_all(),
                                              (igraph_integer_t)job->n_coflows, IGRAPH_OUT, 1),
                     IGRAPH_SUCCESS);
        for (size_t i = 0; i < job->n_coflows; i++)
            cr_assert_eq(wl.coflows[job->first_coflow + i].n_descendants,
                         (uint32_t)VECTOR(size)[i], "job %zu coflow %zu: %u, igraph %lld", j, i,
                         wl.coflows[job->first_coflow + i].n_descendants,
                         (long long)VECTOR(size)[i]);
        igraph_vector_int_destroy(&size);
        igraph_destroy(&g);
    }
}

/* Names as weft_shown escapes them: v as "\\x1b<v>", a name a cut could
 * leave half of. */
static void name_escaped(const void *ctx, size_t v, char *out, size_t size)
{
    (void)ctx;
    snprintf(out, size, "\\x1b%zu", v);
}

/* A caller's buffer too small for the cycle gets whole names and arrows
 * from the start of the text, then as much of "..." as fits, and not a
 * byte past its end: never half a name, here half an escape, and never a
 * text that reads whole. */
Test(dag, cycle_text_is_cut_to_its_buffer_between_names)
{
    const size_t next[3] = {2, 0, 1}; /* 2 -> 0 -> 1 -> 2, each a child of the next */
    size_t work[3];
    char full[64];
    cr_assert_eq(dag_cycle_text(3, next, work, name_escaped, NULL, full, sizeof full), 3);
    cr_assert_str_eq(full, "\\x1b0 -> \\x1b1 -> \\x1b2 -> \\x1b0");
    const size_t ends[] = {0, 5, 9, 14, 18, 23, 27, 32}; /* where a name or arrow ends */
    for (size_t size = 1; size <= strlen(full) + 1; size++) {
        char buf[64];
        memset(buf, 'X', sizeof buf);
        cr_assert_eq(dag_cycle_text(3, next, work, name_escaped, NULL, buf, size), 3);
        size_t len = strlen(buf), kept = len;
        cr_assert_leq(len, size - 1, "size %zu: '%s'", size, buf);
        while (kept && buf[kept - 1] == '.')
            kept--;
        bool at_end = false;
        for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
            at_end |= kept == ends[i];
        cr_assert(at_end, "size %zu: '%s' cut inside a name", size, buf);
        cr_assert(!strncmp(buf, full, kept), "size %zu: '%s'", size, buf);
        if (size > strlen(full)) {
            cr_assert_str_eq(buf, full, "size %zu", size);
        } else {
            /* cut short, it says so: every whole part after which "..." fits,
               then "..." cut to fit (a name that filled the buffer exactly
               read as the cycle's last, "\\x1b0" for size 6) */
            for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
                cr_assert(ends[i] <= kept || ends[i] + 3 > size - 1,
                          "size %zu: '%s' stops early", size, buf);
            cr_assert(kept == 0 || kept + 3 <= size - 1, "size %zu: '%s' reads whole", size,
                      buf);
            cr_assert_eq(len, kept + 3 < size - 1 ? kept + 3 : size - 1, "size %zu: '%s'",
                         size, buf);
        }
        for (size_t i = size; i < sizeof buf; i++)
            cr_assert_eq(buf[i], 'X', "size %zu: byte %zu written", size, i);
    }
}

/* Of two cycles through a coflow, the message follows its first parent
 * listed: 1 after 2 and 3, each of them after 1, names 1 -> 2 -> 1. */
Test(dag, cycle_message_follows_the_first_parent)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 6, 0, 1, 0), WEFT_OK);
    int64_t p1[] = {2, 3}, p23 = 1;
    add_coflow_with_parents(1, p1, 2);
    add_coflow_with_parents(2, &p23, 1);
    add_coflow_with_parents(3, &p23, 1);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_ECYCLE);
    cr_assert_str_eq(weft_last_error(), "cycle in job 6: coflows 1 -> 2 -> 1");
}

/* Coflows the sort placed are no part of the walk: from 11, whose parent
 * 10 is a root, it would end at 10 and name no cycle. */
Test(dag, cycle_message_skips_the_sorted_coflows)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 8, 0, 1, 0), WEFT_OK);
    int64_t p11 = 10, p12 = 13, p13 = 12;
    add_coflow_with_parents(10, NULL, 0);
    add_coflow_with_parents(11, &p11, 1);
    add_coflow_with_parents(12, &p12, 1);
    add_coflow_with_parents(13, &p13, 1);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_ECYCLE);
    cr_assert_str_eq(weft_last_error(), "cycle in job 8: coflows 12 -> 13 -> 12");
}

/* A job of one coflow takes the analysis's short way: its path below is
 * its iso time and the job's final compute, and the job's bound adds the
 * coflow's own compute before it, as the igraph way does for more. */
Test(dag, a_one_coflow_job_adds_both_compute_times)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 0, 3, 0.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.jobs[0].depth, 1);
    cr_assert_eq(wl.coflows[0].wave, 0);
    cr_assert_float_eq(wl.coflows[0].cp_below_s, 4 + 0.5, 1e-12);
    cr_assert_float_eq(wl.jobs[0].lower_bound_s, 2 + 4 + 0.5, 1e-12);
    cr_assert_float_eq(dag_weighted_bound(&wl), 3 * 6.5, 1e-12);
}

/* A workload without jobs has no weighted bound to divide: 0, not the
 * NaN of 0 / 0 (which netsim would report as its weighted bound). */
Test(dag, the_weighted_bound_of_no_jobs_is_0)
{
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_weighted_bound(&wl), 0.0);
}

/* A job of two components, a chain 10 -> 20 and a lone 30 (listed first,
 * and 20 before its parent), on ports whose send and receive rates differ:
 * cap_out = {2, 1, 4}, cap_in = {1, 4, 2} bytes/s, final compute 0.25.
 *   10 (compute 0.5): 0->1 6 B, 0->2 2 B, 2->2 4 B (a flow to its own port
 *      uses both of that port's sides): port 0 sends 8 B at 2 = 4 s, port
 *      2 sends 4 at 4 = 1, port 1 receives 6 at 4 = 1.5, port 2 receives
 *      6 at 2 = 3: iso 4.
 *   20 (compute 1): 1->0 3 B: sends 3 at 1, receives 3 at 1: iso 3.
 *   30 (compute 0): 2->0 9 B: sends 9 at 4, receives 9 at 1: iso 9.
 * cp_below: 20 3 + 0.25 = 3.25; 10 4 + 1 + 3.25 = 8.25; 30 9 + 0.25 = 9.25.
 * Bound: max(0.5 + 8.25, 0 + 9.25) = 9.25, set by the other component. */
Test(dag, a_disconnected_job_on_unequal_ports_by_hand)
{
    static const double out[3] = {2, 1, 4}, in[3] = {1, 4, 2};
    memcpy(fab.cap_out, out, sizeof out);
    memcpy(fab.cap_in, in, sizeof in);
    cr_assert_eq(coflow_workload_add_job(&wl, 9, 0, 1, 0.25), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 30, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 0, 9), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 20, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 1, 0, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 10), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 10, 0.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 6), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 2, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 2, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    const coflow_coflow_t *lone = &wl.coflows[0], *child = &wl.coflows[1],
                          *root = &wl.coflows[2];
    cr_assert_float_eq(root->iso_s, 4, 1e-12);
    cr_assert_float_eq(child->iso_s, 3, 1e-12);
    cr_assert_float_eq(lone->iso_s, 9, 1e-12);
    cr_assert_eq(root->wave, 0);
    cr_assert_eq(child->wave, 1);
    cr_assert_eq(lone->wave, 0);
    cr_assert_eq(wl.jobs[0].depth, 2);
    cr_assert_eq(root->n_children, 1);
    cr_assert_eq(root->n_descendants, 1);
    cr_assert_eq(lone->n_children + lone->n_descendants + child->n_descendants, 0);
    cr_assert_float_eq(child->cp_below_s, 3.25, 1e-12);
    cr_assert_float_eq(root->cp_below_s, 8.25, 1e-12);
    cr_assert_float_eq(lone->cp_below_s, 9.25, 1e-12);
    cr_assert_float_eq(wl.jobs[0].lower_bound_s, 9.25, 1e-12);
}
