/*
 * test_example_policy.c - the worked example of docs/adding-a-policy.md: an
 * ordering written outside coflow/, run by the emulator with the real
 * allocators on a schedule worked out by hand.
 *
 * "Smallest remaining length first" (srl): the coflow whose largest open
 * flow has the fewest bytes left goes first, Varys' SCF on what is left
 * rather than on the static size. It reads per-flow bytes, so it sets
 * reads_flows; the test shows what that flag is for: under MADD the
 * emulator otherwise keeps a paced coflow's flows as one shrinking scale,
 * and their flow_remaining is not their bytes left.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "dag/dag.h"
#include "netsim/netsim.h"

/* The per-run context: one key per coflow, allocated once so a decision
 * never allocates. */
static weft_err_t srl_create(void **ctx, const coflow_state_t *st)
{
    *ctx = weft_calloc(st->wl->n_coflows ? st->wl->n_coflows : 1, sizeof(double));
    return *ctx ? WEFT_OK : weft_fail(WEFT_ENOMEM, "srl: out of memory");
}

static void srl_destroy(void *ctx) { free(ctx); }

static weft_err_t srl_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    double *key = ctx;
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        /* the open flows of an active coflow, and their bytes left */
        const size_t *open = st->open_flows + st->wl->coflows[c].first_flow;
        double longest = 0;
        for (size_t k = 0; k < st->n_open[c]; k++)
            if (st->flow_remaining[open[k]] > longest)
                longest = st->flow_remaining[open[k]];
        key[c] = longest;
    }
    coflow_sort_by_key(st, ids, n, key); /* ascending; ties by release, index */
    return WEFT_OK;
}

static const coflow_ordering_t srl = {
    .name = "srl",
    .description = "smallest remaining length first (its largest open flow)",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = srl_create,
    .destroy = srl_destroy,
    .order = srl_order,
    .reads_flows = true, /* flow_remaining must be exact at order() */
};

/* Ports of 1 B/s. Job 1 at t = 0: coflow A = {0->1 100 B, 2->3 50 B}. Job 2
 * at t = 40: coflow B = {0->1 70 B}.
 *
 * Alone, A is paced by MADD to its bottleneck, port 0: 0->1 at 1 B/s,
 * 2->3 at 0.5 B/s, and backfilling gives 2->3 the other 0.5 B/s. At t = 40
 * 0->1 has 60 B left and 2->3 10 B, so srl puts A (60) before B (70): A
 * keeps port 0, 2->3 finishes at 50 and 0->1 at 100 (A's CCT 100), then
 * B takes port 0 and finishes at 170 (CCT 130). Reading 0->1's paced
 * bytes as 100 would have put B first: B at 110, A at 170. */
static void two_jobs(coflow_workload_t *wl)
{
    coflow_workload_init(wl, 4);
    cr_assert_eq(coflow_workload_add_job(wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, 100), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 2, 3, 50), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
    cr_assert_eq(coflow_workload_add_job(wl, 2, 40, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, 70), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

/* Runs o on the two jobs with allocator alloc (NULL: o's default), with
 * every invariant checked; A's and B's finish times into fin[2]. */
static void run_two_jobs(const coflow_ordering_t *o, const char *alloc, bool eager,
                         double fin[2])
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    two_jobs(&wl);
    cr_assert_eq(coflow_fabric_init(&fab, 4, 1.0), WEFT_OK);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    netsim_opts_t opts = {.ordering = o, .check = true, .eager_pacing = eager};
    if (alloc)
        cr_assert_not_null(opts.allocator = coflow_allocator_find(alloc));
    netsim_result_t res;
    netsim_result_init(&res);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
    fin[0] = res.coflow_finish_s[0];
    fin[1] = res.coflow_finish_s[1];
    netsim_result_destroy(&res);
    coflow_fabric_destroy(&fab);
    coflow_workload_destroy(&wl);
}

Test(example_policy, srl_by_hand_under_every_pacing)
{
    double fin[2];
    for (int eager = 0; eager < 2; eager++) {
        run_two_jobs(&srl, NULL, eager, fin);
        cr_assert_float_eq(fin[0], 100, 1e-9, "A at %.17g (eager %d)", fin[0], eager);
        cr_assert_float_eq(fin[1], 170, 1e-9, "B at %.17g (eager %d)", fin[1], eager);
    }
    /* greedy: A's 0->1 takes port 0 whole from the start (100), B follows */
    run_two_jobs(&srl, "greedy", false, fin);
    cr_assert_float_eq(fin[0], 100, 1e-9);
    cr_assert_float_eq(fin[1], 170, 1e-9);
}

/* The same ordering without the flag: under lazy pacing it reads A's paced
 * 0->1 at 100 B, puts B first and gets the other schedule; the flag is
 * what makes the emulator keep per-flow bytes exact. */
Test(example_policy, without_reads_flows_a_paced_flow_reads_wrong)
{
    coflow_ordering_t blind = srl;
    blind.reads_flows = false;
    double fin[2];
    run_two_jobs(&blind, NULL, false, fin);
    cr_assert_float_eq(fin[1], 110, 1e-9, "B at %.17g", fin[1]);
    cr_assert_float_eq(fin[0], 170, 1e-9, "A at %.17g", fin[0]);
}
