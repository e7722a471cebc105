/*
 * test_netsim.c - the emulator: exact small schedules worked out by hand,
 * invariants with checking on, the stall guard, ticks and next_change, the
 * result writers and the port-rate parser; `weft sim` (and `weft eval`) on
 * bad options and failing writes.
 *
 * To stay independent of coflow/'s policies the mechanics tests use orderings
 * and allocators defined here: "t-index" (lowest coflow index first),
 * "t-fifo" (keep the emulator's release order), "t-lifo" (highest index
 * first), and the allocators "t-greedy" (walk coflows in order, each flow
 * gets min(free send, free receive)), "t-share" (each flow gets the smaller
 * of its ports' capacity / open flows on it), "t-zero" (nothing), and
 * broken ones for the checks: "t-over" (twice the port capacity), "t-blind"
 * (each flow its ports' capacity, shared or not) and "t-scaled" (greedy's
 * rates scaled).
 * Like coflow/'s allocators they follow coflow.h's contract: rates are 0 on
 * entry, only positive rates are written and each rated flow is appended to
 * st->rated.
 * Every fabric in the hand-worked cases runs at 1 byte/s per port.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attention/attn.h"
#include "dag/dag.h"
#include "tests/cli_run.h"
#include "tests/comma_locale.h"
#include "netsim/netsim.h"
#include "netsim/sim_internal.h"
#include "workload/workload.h"

/* ------------------------------------------------- test-local policies */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static weft_err_t order_index(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    (void)ctx;
    (void)st;
    qsort(ids, n, sizeof *ids, cmp_size);
    return WEFT_OK;
}

static weft_err_t order_keep(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    (void)ctx;
    (void)st;
    (void)ids;
    (void)n;
    return WEFT_OK;
}

static weft_err_t order_lifo(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    order_index(ctx, st, ids, n);
    for (size_t i = 0; i < n / 2; i++) {
        size_t t = ids[i];
        ids[i] = ids[n - 1 - i];
        ids[n - 1 - i] = t;
    }
    return WEFT_OK;
}

/* Records every ids[] it is handed (for the release-order test). */
static size_t seen_ids[64];
static size_t n_seen;

static weft_err_t order_record(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    (void)ctx;
    (void)st;
    for (size_t i = 0; i < n && n_seen < 64; i++)
        seen_ids[n_seen++] = ids[i];
    return WEFT_OK;
}

/* Records job 0's bytes sent at every decision (job_sent, which orderings
 * may read: docs/adding-a-policy.md). */
static double sent_seen[8];
static size_t n_sent_seen;

static weft_err_t order_sent(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    if (n_sent_seen < 8)
        sent_seen[n_sent_seen++] = st->job_sent[0];
    return order_index(ctx, st, ids, n);
}

/* next_change at every whole second: decisions at integer times. */
static double change_each_second(void *ctx, const coflow_state_t *st)
{
    (void)ctx;
    return floor(st->now) + 1;
}

static const coflow_ordering_t t_index = {"t-index", "lowest index first", "t-greedy", true, 0,
                                          NULL, NULL, order_index, NULL, false, NULL, NULL};
static const coflow_ordering_t t_fifo = {"t-fifo", "release order", "t-greedy", true, 0,
                                         NULL, NULL, order_keep, NULL, false, NULL, NULL};
static const coflow_ordering_t t_lifo = {"t-lifo", "highest index first", "t-greedy", true, 0,
                                         NULL, NULL, order_lifo, NULL, false, NULL, NULL};
static const coflow_ordering_t t_record = {"t-record", "records ids", "t-greedy", true, 0,
                                           NULL, NULL, order_record, NULL, false, NULL, NULL};
static const coflow_ordering_t t_sent = {"t-sent", "index, records job 0's bytes sent",
                                         "t-greedy", true, 0, NULL, NULL, order_sent, NULL,
                                         false, NULL, NULL};
static const coflow_ordering_t t_seconds = {"t-seconds", "index, re-decided each second",
                                            "t-greedy", true, 0, NULL, NULL, order_index,
                                            change_each_second, false, NULL, NULL};

/* The emulator around the state an ordering is handed (sim_internal.h). */
static sim_t *sim_of(const coflow_state_t *st)
{
    return (sim_t *)((char *)st - offsetof(sim_t, st));
}

/* Lowest index first, measuring on the way how far each coflow's bytes per
 * port as an ordering reads them (cport_bytes + cport_comp) are from what
 * its open flows there hold (under lazy pacing flow_remaining times the
 * coflow's scale, sim_internal.h): coflow.h promises them to within a few
 * ulps of the smallest flow. The largest gap relative to what they hold. */
static double port_gap;

static weft_err_t order_port_gap(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    const sim_t *s = sim_of(st);
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const size_t *open = st->open_flows + st->wl->coflows[c].first_flow;
        for (size_t q = st->cport_start[c]; q < st->cport_start[c + 1]; q++) {
            double held = 0;
            for (size_t k = 0; k < st->n_open[c]; k++)
                if (coflow_sgroup(st, open[k]) == q || coflow_rgroup(st, open[k]) == q)
                    held += st->flow_remaining[open[k]] * (s->lazy ? s->sig[c] : 1);
            double read = st->cport_bytes[q] + st->cport_comp[q];
            if (held > 0 && fabs(read - held) / held > port_gap)
                port_gap = fabs(read - held) / held;
        }
    }
    return order_index(ctx, st, ids, n);
}

static const coflow_ordering_t t_port_gap = {"t-port-gap", "index, measures per-port bytes",
                                             "t-greedy", true, 0, NULL, NULL, order_port_gap,
                                             NULL, false, NULL, NULL};

static void alloc_greedy(coflow_state_t *st, const size_t *order, size_t n)
{
    size_t np = st->fab->n_ports;
    for (size_t p = 0; p < np; p++) {
        st->free_out[p] = st->fab->cap_out[p];
        st->free_in[p] = st->fab->cap_in[p];
    }
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &st->wl->coflows[order[i]];
        for (size_t k = 0; k < st->n_open[order[i]]; k++) {
            size_t f = st->open_flows[co->first_flow + k];
            uint32_t s = st->wl->flows[f].src, d = st->wl->flows[f].dst;
            double r = fmin(st->free_out[s], st->free_in[d]);
            if (r <= 0)
                continue;
            st->flow_rate[f] = r;
            st->rated[st->n_rated++] = f;
            st->free_out[s] -= r;
            st->free_in[d] -= r;
        }
    }
    for (size_t p = 0; p < np; p++)
        st->free_out[p] = st->free_in[p] = 0;
}

static void alloc_share(coflow_state_t *st, const size_t *order, size_t n)
{
    size_t np = st->fab->n_ports;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const coflow_coflow_t *co = &st->wl->coflows[order[i]];
            for (size_t k = 0; k < st->n_open[order[i]]; k++) {
                size_t f = st->open_flows[co->first_flow + k];
                uint32_t s = st->wl->flows[f].src, d = st->wl->flows[f].dst;
                if (pass == 0) {
                    st->scratch_out[s] += 1;
                    st->scratch_in[d] += 1;
                } else {
                    st->flow_rate[f] = fmin(st->fab->cap_out[s] / st->scratch_out[s],
                                            st->fab->cap_in[d] / st->scratch_in[d]);
                    st->rated[st->n_rated++] = f;
                }
            }
        }
    for (size_t p = 0; p < np; p++)
        st->scratch_out[p] = st->scratch_in[p] = 0;
}

static void alloc_zero(coflow_state_t *st, const size_t *order, size_t n)
{
    (void)st;
    (void)order;
    (void)n;
}

/* Every open flow at `times` the capacity of the slower of its ports,
 * blind to the other flows on them. */
static void rate_each_open_flow(coflow_state_t *st, const size_t *order, size_t n, double times)
{
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &st->wl->coflows[order[i]];
        for (size_t k = 0; k < st->n_open[order[i]]; k++) {
            size_t f = st->open_flows[co->first_flow + k];
            const coflow_flow_t *fl = &st->wl->flows[f];
            st->flow_rate[f] = times * fmin(st->fab->cap_out[fl->src], st->fab->cap_in[fl->dst]);
            st->rated[st->n_rated++] = f;
        }
    }
}

static void alloc_over(coflow_state_t *st, const size_t *order, size_t n)
{
    rate_each_open_flow(st, order, n, 2);
}

/* An allocator that forgot to count a port's use: each flow alone within
 * capacity, a port shared by two over it. */
static void alloc_blind(coflow_state_t *st, const size_t *order, size_t n)
{
    rate_each_open_flow(st, order, n, 1);
}

/* Greedy, then the rates of the rated flows from the scale_from-th on
 * times rate_scale: a few billionths over capacity, or short of filling
 * either of a flow's ports while promising work conservation, as an
 * allocator slightly off would be. */
static double rate_scale = 1;
static size_t scale_from;

static void alloc_scaled(coflow_state_t *st, const size_t *order, size_t n)
{
    alloc_greedy(st, order, n);
    for (size_t k = scale_from; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] *= rate_scale;
}

/* Rates every flow 1/4 of its send port but lists none of them: a broken
 * allocator the check must catch (the emulator moves only listed flows). */
static void alloc_unlisted(coflow_state_t *st, const size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &st->wl->coflows[order[i]];
        for (size_t k = 0; k < st->n_open[order[i]]; k++)
            st->flow_rate[st->open_flows[co->first_flow + k]] = 0.25;
    }
    alloc_greedy(st, order, n);
}

/* Lazy-pacing allocators that list a rate the emulator must refuse: the
 * first open flow of the first coflow at rate 0, or beside it a flow of the
 * last coflow, whatever its state (not released yet, in the test below). */
static void alloc_lazy_zero(coflow_state_t *st, const size_t *order, size_t n)
{
    if (n)
        st->rated[st->n_rated++] = st->open_flows[st->wl->coflows[order[0]].first_flow];
}

static void alloc_lazy_inactive(coflow_state_t *st, const size_t *order, size_t n)
{
    alloc_greedy(st, order, n);
    size_t f = st->wl->coflows[st->wl->n_coflows - 1].first_flow;
    st->flow_rate[f] = 0.5;
    st->rated[st->n_rated++] = f;
}

/* Lazy-pacing allocators whose lazy decision differs from their run from
 * zero (st->pace NULL: --check's reference), as a bug in a lazy path
 * would: greedy, but at lazy_scale of the rates (half, unless a test says
 * otherwise) and at ref_scale in the run from zero, saying its paces may
 * be ref_slack off (st->pace_slack), or without the last coflow. */
static double lazy_scale = 0.5, ref_scale = 1, ref_slack;

static void alloc_lazy_slow(coflow_state_t *st, const size_t *order, size_t n)
{
    alloc_greedy(st, order, n);
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] *= st->pace ? lazy_scale : ref_scale;
    if (st->pace_slack) /* as a pacing allocator says how far rounding moves its paces */
        *st->pace_slack = ref_slack;
}

static void alloc_lazy_forgets(coflow_state_t *st, const size_t *order, size_t n)
{
    alloc_greedy(st, order, st->pace && n > 1 ? n - 1 : n);
}

/* next_change that always predicts a change a hair after now: the guard must
 * end the run instead of crawling. */
static double change_never_happens(void *ctx, const coflow_state_t *st)
{
    (void)ctx;
    return nextafter(st->now, INFINITY);
}

/* next_change at the present: no change (coflow.h asks for a time after
 * now), which must not be decided on again and again. */
static double change_now(void *ctx, const coflow_state_t *st)
{
    (void)ctx;
    return st->now;
}

/* Lowest index first, but its third decision fails (as a learned ordering
 * without the memory to score its coflows does). */
static size_t n_orders;
static weft_err_t order_fails_third(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    if (++n_orders == 3)
        return weft_fail(WEFT_ENOMEM, "t-fails: no room for %zu coflows", n);
    return order_index(ctx, st, ids, n);
}

static const coflow_ordering_t t_fails = {"t-fails", "fails at its third decision", "t-greedy",
                                          true, 0, NULL, NULL, order_fails_third, NULL, false,
                                          NULL, NULL};

static const coflow_ordering_t t_now = {"t-now", "index, a change predicted at now", "t-greedy",
                                        true, 0, NULL, NULL, order_index, change_now, false,
                                        NULL, NULL};

static const coflow_ordering_t t_liar = {"t-liar", "predicts changes that never come",
                                         "t-greedy", true, 0, NULL, NULL, order_index,
                                         change_never_happens, false, NULL, NULL};

static const coflow_allocator_t t_greedy = {"t-greedy", "greedy", alloc_greedy,
                                            true, false, false, false, false};
static const coflow_allocator_t t_share = {"t-share", "equal shares", alloc_share,
                                           false, false, false, false, false};
static const coflow_allocator_t t_zero = {"t-zero", "nothing", alloc_zero,
                                          false, false, false, false, false};
static const coflow_allocator_t t_over = {"t-over", "too much", alloc_over,
                                          false, false, false, false, false};
static const coflow_allocator_t t_blind = {"t-blind", "blind to shared ports", alloc_blind,
                                           false, false, false, false, false};
static const coflow_allocator_t t_scaled = {"t-scaled", "greedy, rates scaled", alloc_scaled,
                                            true, false, false, false, false};
static const coflow_allocator_t t_unlisted = {"t-unlisted", "rates not listed",
                                              alloc_unlisted, false, false, false, false, false};
static const coflow_allocator_t t_lazy_zero = {"t-lazy-zero", "lists a rate of 0",
                                               alloc_lazy_zero, false, true, false, false, false};
static const coflow_allocator_t t_lazy_slow = {"t-lazy-slow", "scaled rates when lazy",
                                               alloc_lazy_slow, false, true, false, false, false};
static const coflow_allocator_t t_lazy_forgets = {"t-lazy-forgets",
                                                  "leaves the last coflow out when lazy",
                                                  alloc_lazy_forgets, false, true, false, false,
                                                  false};
static const coflow_allocator_t t_lazy_inactive = {"t-lazy-inactive", "rates a pending coflow",
                                                   alloc_lazy_inactive, false, true, false,
                                                   false, false};

/* ------------------------------------------------------------ fixture */

static coflow_workload_t wl;
static coflow_fabric_t fab;
static netsim_result_t res;

static void setup(void)
{
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_fabric_init(&fab, 4, 1.0), WEFT_OK);
    netsim_result_init(&res);
    n_seen = 0;
}

static void teardown(void)
{
    netsim_result_destroy(&res);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* A one-coflow job with one flow. */
static void add_single(int64_t id, double arrival, double weight, uint32_t src, uint32_t dst,
                       double bytes)
{
    cr_assert_eq(coflow_workload_add_job(&wl, id, arrival, weight, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, src, dst, bytes), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
}

/* Runs wl on fab with opts, --check on and every flow's finish recorded,
 * expecting no error and no violation. */
static void run_with(netsim_opts_t opts)
{
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    opts.check = true;
    opts.record_flows = true;
    netsim_result_destroy(&res); /* a test may run twice */
    netsim_result_init(&res);
    weft_err_t err = netsim_run(&wl, &fab, &opts, &res);
    cr_assert_eq(err, WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
}

static void run(const coflow_ordering_t *o, const coflow_allocator_t *a)
{
    run_with((netsim_opts_t){.ordering = o, .allocator = a});
}

#define EPS 1e-12
#define assert_near(a, b)                                                                        \
    cr_assert_float_eq((a), (b), EPS * fmax(1, fabs((double)(b))), "%.17g vs %.17g",             \
                       (double)(a), (double)(b))

TestSuite(netsim_schedule, .init = setup, .fini = teardown, .timeout = 10);

/* 10 bytes from port 0 to 1 at 1 byte/s: released at 0, done at 10. */
Test(netsim_schedule, one_flow)
{
    add_single(1, 0, 1, 0, 1, 10);
    run(&t_index, &t_greedy);
    assert_near(res.coflow_release_s[0], 0);
    assert_near(res.coflow_finish_s[0], 10);
    assert_near(res.job_finish_s[0], 10);
    assert_near(res.cct.avg, 10);
    assert_near(res.jct.max, 10);
    assert_near(res.avg_weighted_jct, 10);
    assert_near(res.slowdown_vs_bound, 1);
    assert_near(res.makespan_s, 10);
    /* 10 bytes over 4 ports * 1 byte/s * 10 s */
    assert_near(res.port_utilization, 0.25);
    cr_assert_eq(res.n_events, 1);
    cr_assert_eq(res.n_decisions, 1);
}

/* Two coflows share port 0's send side: A (index 0) 0->1 4 bytes, B 0->2 2
 * bytes, both at t=0. Index order + greedy: A takes port 0 alone, done at 4;
 * B then runs 4..6. CCTs 4 and 6. */
Test(netsim_schedule, two_flows_share_a_port)
{
    add_single(1, 0, 1, 0, 1, 4);
    add_single(2, 0, 1, 0, 2, 2);
    run(&t_index, &t_greedy);
    assert_near(res.coflow_finish_s[0], 4);
    assert_near(res.coflow_finish_s[1], 6);
    assert_near(res.cct.avg, 5);
    assert_near(res.cct.max, 6);
    /* With equal shares both run at 1/2: B is done at 4 (2 bytes), A has 2
     * bytes left and then runs alone at 1: done at 6. */
    run(&t_index, &t_share);
    assert_near(res.coflow_finish_s[0], 6);
    assert_near(res.coflow_finish_s[1], 4);
}

/* Job id arriving at `arrival`: one coflow (id 3) of two 3-byte flows from
 * port 0, to ports 1 and 2. */
static void add_coflow_sharing_port0(int64_t id, double arrival)
{
    cr_assert_eq(coflow_workload_add_job(&wl, id, arrival, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 3, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 2, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
}

/* One coflow whose two flows share port 0: greedy gives the first open flow
 * the port, 0->1 3 bytes done at 3, then 0->2 3 bytes done at 6: CCT 6. */
Test(netsim_schedule, flows_of_one_coflow_share_a_port)
{
    add_coflow_sharing_port0(1, 0);
    run(&t_index, &t_greedy);
    assert_near(res.coflow_finish_s[0], 6);
    cr_assert_eq(res.n_events, 2);
}

/* A chain: job arrives at 1; a (compute 2): 0->1 3 bytes; b (parent a,
 * compute 1.5): 1->0 2 bytes; final compute 0.5.
 * a released 1 + 2 = 3, done 6; b released 6 + 1.5 = 7.5, done 9.5;
 * job done 9.5 + 0.5 = 10: JCT 9 = its lower bound (2 + 3 + 1.5 + 2 + 0.5). */
static void build_chain(void)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 1, 2, 0.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 10, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 11, 1.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 1, 0, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 10), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
}

Test(netsim_schedule, dag_chain_with_compute)
{
    build_chain();
    run(&t_index, &t_greedy);
    assert_near(res.coflow_release_s[0], 3);
    assert_near(res.coflow_finish_s[0], 6);
    assert_near(res.coflow_release_s[1], 7.5);
    assert_near(res.coflow_finish_s[1], 9.5);
    assert_near(res.job_finish_s[0], 10);
    assert_near(res.jct.avg, 9);
    assert_near(res.cct.avg, 2.5);
    assert_near(res.avg_weighted_jct, 18); /* weight 2 */
    assert_near(res.slowdown_vs_bound, 1);
    assert_near(res.makespan_s, 9);
}

/* A diamond: a -> {b, c} -> d. a: 0->1 2 bytes; b: 2->3 1 byte; c: 2->1 3
 * bytes (shares port 2 with b); d (compute 1): 3->0 1 byte.
 * a 0..2; b and c released at 2: index order gives b port 2 first: b 2..3,
 * c 3..6; d released when both are done: 6 + 1 = 7, done 8. */
Test(netsim_schedule, diamond_waits_for_all_parents)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 3, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 1, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 4, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 3, 0, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    run(&t_index, &t_greedy);
    assert_near(res.coflow_finish_s[0], 2);
    assert_near(res.coflow_release_s[1], 2);
    assert_near(res.coflow_release_s[2], 2);
    assert_near(res.coflow_finish_s[1], 3);
    assert_near(res.coflow_finish_s[2], 6);
    assert_near(res.coflow_release_s[3], 7);
    assert_near(res.coflow_finish_s[3], 8);
    assert_near(res.jct.avg, 8);
}

/* Weights: job 1 (weight 3) 0->1 2 bytes; job 2 (weight 1) 0->3 4 bytes,
 * both at 0 and sharing port 0. Index order: job 1 0..2, job 2 2..6.
 * JCTs 2 and 6: avg 4, avg weighted (3*2 + 1*6) / 2 = 6; bounds 2 and 4:
 * weighted bound (3*2 + 1*4) / 2 = 5, slowdown 6 / 5 = 1.2. */
Test(netsim_schedule, weighted_jct)
{
    add_single(1, 0, 3, 0, 1, 2);
    add_single(2, 0, 1, 0, 3, 4);
    run(&t_index, &t_greedy);
    assert_near(res.jct.avg, 4);
    assert_near(res.avg_weighted_jct, 6);
    assert_near(res.weighted_bound, 5);
    assert_near(res.slowdown_vs_bound, 1.2);
    /* Reversed priority: job 2 0..4, job 1 4..6: (3*6 + 4) / 2 = 11. */
    run(&t_lifo, &t_greedy);
    assert_near(res.avg_weighted_jct, 11);
}

/* The slowdown is the ratio the weights define, whatever their scale. Job
 * 1, 0->1 1.5 bytes, then job 2, 0->2 0.75 bytes behind it: JCTs 1.5 and
 * 2.25, bounds 1.5 and 0.75, slowdown 3.75 / 2.25 = 5/3 for equal weights.
 * At weight 1 it is avg wJCT over the weighted bound, to the bit; at the
 * least double, 2^-1074, which the format accepts, w * JCT rounds to 2 units
 * of it for both jobs and the mean bound to 2 units too: it read 1. */
Test(netsim_schedule, slowdown_holds_for_weights_down_to_the_least_double)
{
    const double ws[3] = {1, 0x1p-1074, 1e15};
    for (int k = 0; k < 3; k++) {
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, 4);
        add_single(1, 0, ws[k], 0, 1, 1.5);
        add_single(2, 0, ws[k], 0, 2, 0.75);
        run(&t_index, &t_greedy);
        assert_near(res.slowdown_vs_bound, 5.0 / 3);
        if (k != 1)
            cr_assert_eq(res.slowdown_vs_bound, res.avg_weighted_jct / res.weighted_bound);
    }
}

/* Simultaneous finishes: coflow A has 0->1 and 2->3 of 0.3 and 0.1 + 0.2
 * bytes (0.30000000000000004: equal up to rounding); coflow B 0->3 1 byte
 * waits behind A for both ports. Both A flows finish in one event at 0.3 and
 * B is scheduled by the one decision that follows: done at 1.3.
 * Events: 0.3 and 1.3; decisions: at 0 and at 0.3. */
Test(netsim_schedule, simultaneous_finishes_one_decision)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 0.3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 0.1 + 0.2), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    add_single(2, 0, 1, 0, 3, 1);
    run(&t_index, &t_greedy);
    assert_near(res.coflow_finish_s[0], 0.3);
    assert_near(res.coflow_finish_s[1], 1.3);
    cr_assert_eq(res.n_events, 2);
    cr_assert_eq(res.n_decisions, 2);
    cr_assert_eq(res.max_active_flows, 3); /* A's two and B's, open at 0 */
    /* A's two flows, then B's one */
    cr_assert_eq(res.n_rated_total, 3);
    cr_assert_eq(res.n_paced_total, 0);
    /* MADD paces A whole (its flows fill their ports: no backfill), then
       B: two paced coflows, no flow rated on its own */
    run(&t_index, coflow_allocator_find("madd"));
    cr_assert_float_eq(res.coflow_finish_s[1], 1.3, 1e-9); /* (MADD shaves 1e-12) */
    cr_assert_eq(res.n_decisions, 2);
    cr_assert_eq(res.max_active_flows, 3);
    cr_assert_eq(res.n_rated_total, 0);
    cr_assert_eq(res.n_paced_total, 2);
    /* Per-flow fair by port pairs: the three pairs share ports 0 and 3 at
       0.5 each, A's two finish together at 0.6, then B's pair alone: 4 */
    run(&t_index, coflow_allocator_find("fair"));
    cr_assert_float_eq(res.coflow_finish_s[0], 0.6, 1e-9);
    cr_assert_float_eq(res.coflow_finish_s[1], 1.3, 1e-9);
    cr_assert_eq(res.n_decisions, 2);
    cr_assert_eq(res.max_active_flows, 3);
    cr_assert_eq(res.n_rated_total, 4);
    cr_assert_eq(res.n_paced_total, 0);
    /* the pairs' rates are the per-flow allocator's, trimmed alike */
    double by_pairs[2] = {res.coflow_finish_s[0], res.coflow_finish_s[1]};
    run_with((netsim_opts_t){.ordering = &t_index, .allocator = coflow_allocator_find("fair"),
                             .eager_pacing = true});
    for (size_t c = 0; c < 2; c++)
        cr_assert(fabs(by_pairs[c] - res.coflow_finish_s[c]) <= 1e-15 * res.coflow_finish_s[c],
                  "coflow %zu done at %.17g by pairs, at %.17g flow by flow", c, by_pairs[c],
                  res.coflow_finish_s[c]);
}

/* A flow within a billionth of its bytes of its end finishes in the event
 * that finishes the others (FINISH_REL_TOL), not in one of its own 1e-12 s
 * later: coflows A and B each send 0.3 bytes and 0.3 + 1e-12 (B: + 2e-12),
 * A 0->1 and 2->3, B 1->0 and 3->2, all at full rate (per-flow fair: a
 * hair below; MADD paces each coflow whole, so B's end is 1e-12 s after
 * A's). One event finishes all four flows. */
Test(netsim_schedule, a_flow_a_billionth_short_finishes_with_the_event)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    for (uint32_t c = 0; c < 2; c++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, c, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, c, 1 - c, 0.3), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 2 + c, 3 - c, 0.3 + (c + 1) * 1e-12),
                     WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    const char *allocs[3] = {"greedy", "fair", "madd"};
    for (size_t a = 0; a < 3; a++) {
        run(&t_index, coflow_allocator_find(allocs[a]));
        cr_assert_eq(res.n_events, 1, "%s: %zu events", allocs[a], res.n_events);
        cr_assert_float_eq(res.coflow_finish_s[0], 0.3, 1e-9);
        for (size_t f = 1; f < 4; f++)
            cr_assert(res.flow_finish_s[f] == res.flow_finish_s[0], "%s: flow %zu at %.17g, "
                      "flow 0 at %.17g", allocs[a], f, res.flow_finish_s[f],
                      res.flow_finish_s[0]);
    }
}

/* The same for a pair of per-flow fair that moved down the list of open
 * pairs when the ones before it closed, keeping its own tolerance: E sends
 * 0->3 and 2->1 1e-4 bytes, A 0->1 0.3 and 2->3 0.3 + 1e-12, all four at
 * 1/2 until E is done at 2e-4 s, then A's at 1: both at 0.3001 s. */
Test(netsim_schedule, a_pair_moved_down_keeps_its_tolerance)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 3, 1e-4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 1, 1e-4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 0.3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 0.3 + 1e-12), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    run(&t_index, coflow_allocator_find("fair"));
    cr_assert_eq(res.n_events, 2, "%zu events", res.n_events);
    cr_assert_float_eq(res.coflow_finish_s[0], 2e-4, 1e-12);
    cr_assert_float_eq(res.coflow_finish_s[1], 0.3001, 1e-9);
    cr_assert(res.flow_finish_s[2] == res.flow_finish_s[3], "%.17g, %.17g",
              res.flow_finish_s[2], res.flow_finish_s[3]);
}

/* A pair that opens again counts its flows' bytes from zero, whatever the
 * pair before it in its place sent: X sends 0->1 1e12 bytes on ports of
 * 1e12 bytes/s (1 s), then Y, arriving at 2 s, 2->3 1234.567 bytes at 1
 * byte/s (per-flow fair: a hair below). Counted from X's 1e12 bytes, Y's
 * would round to 1e-4. */
Test(netsim_schedule, a_pair_that_opens_again_counts_from_zero)
{
    fab.cap_out[0] = fab.cap_in[1] = 1e12;
    add_single(1, 0, 1, 0, 1, 1e12);
    add_single(2, 2, 1, 2, 3, 1234.567);
    run(&t_index, coflow_allocator_find("fair"));
    cr_assert_float_eq(res.coflow_finish_s[1] - res.coflow_release_s[1], 1234.567, 1e-6);
}

/* The same for a flow MADD backfilled: A sends 0->1 1 byte and 2->3 0.5,
 * paced to end at 1 s, 2->3 backfilled to full rate; B sends 1->0 0.5 -
 * 1e-12, ending that much before A's 2->3, which ends with it. Events at
 * 0.5 - 1e-12 and 1 s. */
Test(netsim_schedule, a_backfilled_flow_a_billionth_short_finishes_with_the_event)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 0.5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 1, 0, 0.5 - 1e-12), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    run(&t_index, coflow_allocator_find("madd"));
    cr_assert_eq(res.n_events, 2, "%zu events", res.n_events);
    cr_assert_eq(res.n_rated_total, 1); /* A's 2->3, backfilled */
    cr_assert_float_eq(res.coflow_finish_s[0], 1, 1e-9);
    cr_assert(res.flow_finish_s[1] == res.flow_finish_s[2], "%.17g, %.17g",
              res.flow_finish_s[1], res.flow_finish_s[2]);
}

/* An arrival mid-flight preempts: job 1 at 0: 0->1 4 bytes; job 2 at 1:
 * 0->2 1 byte. Highest index first: job 2 takes port 0 at 1, done at 2;
 * job 1 has 3 bytes left and resumes: done at 5. */
Test(netsim_schedule, arrival_mid_flight)
{
    add_single(1, 0, 1, 0, 1, 4);
    add_single(2, 1, 1, 0, 2, 1);
    run(&t_lifo, &t_greedy);
    assert_near(res.coflow_release_s[1], 1);
    assert_near(res.coflow_finish_s[1], 2);
    assert_near(res.coflow_finish_s[0], 5);
    assert_near(res.jct.avg, 3);
    assert_near(res.makespan_s, 5);
}

/* Orderings receive the active coflows by release time, not by index: job 1
 * (index 0) arrives at 1, job 2 (index 1) at 0. Keeping that order, job 2
 * keeps port 0: job 2 0..3, job 1 3..5. */
Test(netsim_schedule, ids_by_release_time)
{
    add_single(1, 1, 1, 0, 1, 2);
    add_single(2, 0, 1, 0, 2, 3);
    run(&t_fifo, &t_greedy);
    assert_near(res.coflow_finish_s[1], 3);
    assert_near(res.coflow_finish_s[0], 5);
    /* from the earliest arrival (job 2's, 0 s) to the latest finish (job
       1's, 5 s), whichever jobs they are */
    assert_near(res.makespan_s, 5);
    n_seen = 0;
    run(&t_record, &t_greedy);
    /* decisions at 0: [1]; at 1: [1, 0]; at 3: [0] */
    cr_assert_eq(n_seen, 4);
    cr_assert_eq(seen_ids[0], 1);
    cr_assert_eq(seen_ids[1], 1);
    cr_assert_eq(seen_ids[2], 0);
    cr_assert_eq(seen_ids[3], 0);
}

/* Coflows released at the same instant reach the ordering by index, however
 * their jobs arrived: job 1 (index 0) at 1 s, job 2 at 0 s and job 3 at
 * 0.5 s, after compute times of 0, 1 and 0.5 s, each 1 byte p -> p on a
 * port of its own: one decision at 1 s, of [0, 1, 2]. */
Test(netsim_schedule, ids_released_together_by_index)
{
    static const double arrival[3] = {1, 0, 0.5};
    for (uint32_t j = 0; j < 3; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j + 1, arrival[j], 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 1 - arrival[j]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, j, j, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    run(&t_record, &t_greedy);
    cr_assert_eq(n_seen, 3);
    for (size_t c = 0; c < 3; c++)
        cr_assert_eq(seen_ids[c], c);
}

/* What a job sent is counted as its flows move, under lazy pacing too: job
 * 1 sends 0->1 10 bytes from 0 s; job 2's 1 byte (2->3) at 4 s brings
 * decisions at 4 and 5 s, when job 1 has sent 4 and 5 bytes. */
Test(netsim_schedule, job_sent_counts_what_moved)
{
    add_single(1, 0, 1, 0, 1, 10);
    add_single(2, 4, 1, 2, 3, 1);
    const char *allocs[2] = {"greedy", "madd"};
    const double want[3] = {0, 4, 5};
    for (size_t a = 0; a < 2; a++) {
        n_sent_seen = 0;
        run(&t_sent, coflow_allocator_find(allocs[a]));
        cr_assert_eq(n_sent_seen, 3, "%s", allocs[a]);
        for (size_t k = 0; k < 3; k++) /* (MADD paces 1e-12 below the port's rate) */
            cr_assert_float_eq(sent_seen[k], want[k], 1e-9, "%s: decision %zu: %.17g",
                               allocs[a], k, sent_seen[k]);
    }
}

/* Port utilization is the bytes over the fabric's send capacity times the
 * makespan: port 0 sends at 2 bytes/s (and receives at 1), so 4 bytes 0->1
 * arriving at 1 s take 4 s at port 1's rate, done at 5 s, and the fabric
 * sends 2 + 1 + 1 + 1 = 5 bytes/s: 4 / (5 * 4) = 0.2. */
Test(netsim_schedule, utilization_over_each_ports_send_capacity)
{
    fab.cap_out[0] = 2;
    add_single(1, 1, 1, 0, 1, 4);
    run(&t_index, &t_greedy);
    assert_near(res.makespan_s, 4);
    assert_near(res.port_utilization, 0.2);
}

/* A tick adds decisions, not different answers: 10 bytes with a decision
 * every 0.5 s; the ordering's next_change at every second likewise. */
Test(netsim_schedule, tick_and_next_change)
{
    add_single(1, 0, 1, 0, 1, 10);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .tick_s = 0.5,
                          .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_float_eq(res.coflow_finish_s[0], 10, 1e-9);
    cr_assert_eq(res.n_decisions, 20); /* at 0, 0.5, ..., 9.5 */
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
    run(&t_seconds, &t_greedy);
    cr_assert_float_eq(res.coflow_finish_s[0], 10, 1e-9);
    cr_assert_eq(res.n_decisions, 10); /* at 0, 1, ..., 9 */
}

/* Ticks fall on the first arrival plus whole ticks, each one reckoned from
 * there: 10.05 bytes arriving at 0 with a tick of 0.1 s are decided on at
 * 0, 0.1, ..., 10 (though 4.3 / 0.1 rounds below 43, so the tick after
 * 4.3 s is first found at 4.3 itself), and 8.5 bytes arriving at 0.7 s
 * with a tick of 1 s at 0.7, 1.7, ..., 8.7 (not at 0.7, 1, 2, ..., 9). */
Test(netsim_schedule, ticks_fall_on_the_first_arrival_plus_whole_ticks)
{
    add_single(1, 0, 1, 0, 1, 10.05);
    run_with((netsim_opts_t){.ordering = &t_index, .allocator = &t_greedy, .tick_s = 0.1});
    assert_near(res.coflow_finish_s[0], 10.05);
    cr_assert_eq(res.n_decisions, 101);
    wl.jobs[0].arrival_s = 0.7;
    wl.flows[0].bytes = 8.5;
    run_with((netsim_opts_t){.ordering = &t_index, .allocator = &t_greedy, .tick_s = 1});
    assert_near(res.coflow_finish_s[0], 9.2);
    cr_assert_eq(res.n_decisions, 9);
}

/* Releases leave their heap in time order, in whatever order they entered
 * it: the eight roots of three jobs, each a flow p -> p of 1 byte on a port
 * of its own, so each finishes 1 s after its release, its job's arrival
 * plus its compute time. Job 1's five roots enter together at 0 s, due in
 * no order; jobs 2 and 3 enter theirs while releases are taken, at 9.5 and
 * 11 s (a heap that sifted them up by the wrong parent gave the root due
 * at 13 s at 25 s). A release taken late finishes late. */
Test(netsim_schedule, releases_leave_their_heap_in_time_order)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_workload_init(&wl, 8);
    cr_assert_eq(coflow_fabric_init(&fab, 8, 1.0), WEFT_OK);
    static const struct {
        double arrival;
        size_t n;
        double compute[5];
    } jobs[3] = {{0, 5, {25, 12, 9, 32, 10}}, {9.5, 2, {3.5, 26.5}}, {11, 1, {19}}};
    uint32_t port = 0;
    for (size_t j = 0; j < 3; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, (int64_t)j, jobs[j].arrival, 1, 0), WEFT_OK);
        for (size_t k = 0; k < jobs[j].n; k++, port++) {
            cr_assert_eq(coflow_workload_add_coflow(&wl, (int64_t)k, jobs[j].compute[k]),
                         WEFT_OK);
            cr_assert_eq(coflow_workload_add_flow(&wl, port, port, 1), WEFT_OK);
        }
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    run(&t_index, &t_greedy);
    for (size_t j = 0, c = 0; j < 3; j++)
        for (size_t k = 0; k < jobs[j].n; k++, c++) {
            assert_near(res.coflow_release_s[c], jobs[j].arrival + jobs[j].compute[k]);
            assert_near(res.coflow_finish_s[c], jobs[j].arrival + jobs[j].compute[k] + 1);
        }
}

/* The ordering's default allocator is looked up by name when none is given;
 * one that is not registered is a clear EINVAL. */
Test(netsim_schedule, missing_allocator)
{
    add_single(1, 0, 1, 0, 1, 1);
    netsim_opts_t opts = {.ordering = &t_index};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "t-greedy"), "%s", weft_last_error());
}

/* ---------------------------------------------------------------- guards */

TestSuite(netsim_guard, .init = setup, .fini = teardown, .timeout = 10);

Test(netsim_guard, stall_is_an_error_not_a_loop)
{
    add_single(1, 0, 1, 0, 1, 1);
    add_single(2, 5, 1, 0, 1, 1);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_zero, .tick_s = 0.1};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    const char *msg = weft_last_error();
    cr_assert(strstr(msg, "t-index") && strstr(msg, "t-zero") && strstr(msg, "stalled"), "%s",
              msg);
    /* it waited for the second arrival before giving up */
    cr_assert(strstr(msg, "t=5"), "%s", msg);
    cr_assert_null(res.coflow_finish_s);
    /* and for a release still due: job 2 there at 0 s, its coflow after
       5 s of compute */
    wl.jobs[1].arrival_s = 0;
    wl.coflows[1].compute_s = 5;
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    cr_assert(strstr(weft_last_error(), "stalled at t=5 s"), "%s", weft_last_error());
}

/* An ordering's error ends the run with it, saying when: a failed decision
 * gives no order to run (coflow.h). Decisions at 0, 1 and 2 s. */
Test(netsim_guard, an_ordering_error_ends_the_run)
{
    add_single(1, 0, 1, 0, 1, 10);
    add_single(2, 1, 1, 0, 2, 10);
    add_single(3, 2, 1, 0, 3, 10);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    n_orders = 0;
    netsim_opts_t opts = {.ordering = &t_fails, .allocator = &t_greedy, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_ENOMEM);
    const char *msg = weft_last_error();
    cr_assert(strstr(msg, "ordering 't-fails' at t=2 s: t-fails: no room for 3 coflows"), "%s",
              msg);
    cr_assert_eq(n_orders, 3);
    cr_assert_null(res.coflow_finish_s);
}

Test(netsim_guard, capacity_violation_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_over, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    /* twice the capacity: send and receive over at the one decision, and
     * the coflow finishes in 2 s, below its isolation time of 4 s and its
     * job below its lower bound of 4 s */
    cr_assert_eq(res.n_violations, 4);
    cr_assert(strstr(res.first_violation, "port 0 sends"), "%s", res.first_violation);
}

/* The same a week into a trace, where the clock steps by 1.2e-10 s: the
 * 4e-7 s coflow finishing in 2e-7 s is caught too (the checks' slack was
 * 1e-9 of the clock for a CCT and 1e-12 for a JCT, 6e-4 and 6e-7 s). */
Test(netsim_guard, a_short_cct_late_in_a_trace_is_counted)
{
    add_single(1, 604800, 1, 0, 1, 4e-7);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_over, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 4, "%zu: %s", res.n_violations, res.first_violation);
}

Test(netsim_guard, unlisted_rates_are_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    add_single(2, 0, 1, 0, 2, 4); /* blocked behind job 1, rated 0.25 unlisted */
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_unlisted, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_geq(res.n_violations, 1);
    cr_assert(strstr(res.first_violation, "listed"), "%s", res.first_violation);
}

/* Under lazy pacing, and flow by flow, a listed flow must have a finite
 * rate > 0 and belong to an active coflow; anything else is the
 * allocator's error, named with the flow, its coflow and the rate, not a
 * schedule built on it. */
Test(netsim_guard, lazy_pacing_refuses_a_bad_backfill)
{
    add_single(1, 0, 1, 0, 1, 4);
    add_single(2, 5, 1, 2, 3, 4); /* pending at the first decision */
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_lazy_zero};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    const char *msg = weft_last_error();
    cr_assert(strstr(msg, "t-lazy-zero") && strstr(msg, "flow 0 of coflow 0 (active) with 0 "
                                                        "bytes/s"), "%s", msg);
    opts.allocator = &t_lazy_inactive;
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    msg = weft_last_error();
    cr_assert(strstr(msg, "t-lazy-inactive") && strstr(msg, "flow 1 of coflow 1 (not active) "
                                                            "with 0.5 bytes/s at t=0"), "%s", msg);
    cr_assert_null(res.coflow_finish_s);
    opts.eager_pacing = true;
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    cr_assert(strstr(weft_last_error(), "'t-lazy-inactive' (ordering 't-index') gave flow 1 of "
                                        "coflow 1 the rate 0.5 at t=0 s"),
              "%s", weft_last_error());
    opts.allocator = &t_lazy_zero;
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
    cr_assert(strstr(weft_last_error(), "gave flow 0 of coflow 0 the rate 0 at t=0 s"), "%s",
              weft_last_error());
}

/* --check recomputes each lazy decision from zero and names the first flow
 * whose rate differs: one moving at another rate, or one that moves only
 * in the recomputation (each of these runs has one decision, so one
 * violation). */
Test(netsim_guard, lazy_check_names_a_rate_that_differs)
{
    add_single(1, 0, 1, 0, 1, 4);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_lazy_slow, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 1, "%s", res.first_violation);
    cr_assert(strstr(res.first_violation, "t=0 s: flow 0 of coflow 0 moves at 0.5 bytes/s under "
                                          "lazy pacing, at 1 recomputed from zero"),
              "%s", res.first_violation);
    cr_assert_float_eq(res.coflow_finish_s[0], 8, EPS); /* the lazy rate is the one used */
}

Test(netsim_guard, lazy_check_names_a_flow_moving_only_in_the_recomputation)
{
    add_single(1, 0, 1, 0, 1, 4);
    add_single(2, 0, 1, 2, 3, 2);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_lazy_forgets, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    /* coflow 1 waits until coflow 0 is done at 4 s, then goes alone */
    cr_assert_eq(res.n_violations, 1, "%s", res.first_violation);
    cr_assert(strstr(res.first_violation, "t=0 s: flow 1 of coflow 1 moves at 1 bytes/s "
                                          "recomputed from zero, not at all under lazy pacing"),
              "%s", res.first_violation);
    cr_assert_float_eq(res.coflow_finish_s[1], 6, EPS);
}

/* A next_change one ulp ahead is taken a tolerance later, so the clock
 * moves in visible steps; one that never stops predicting is ended by the
 * guard only after very many steps, so here it just slows the run: 2 bytes
 * at 1 byte/s with steps of 1e-9 s would be 2e9 decisions. The guard's
 * limit (1e6 + 64 per job) stops it with a message naming the ordering. */
Test(netsim_guard, next_change_that_never_comes)
{
    /* a change predicted an ulp away is taken 8 units in the last place of
       the clock later (8 * 2^-52 s past 1 s): a job arriving at 1 s sends
       1e-10 bytes at 1 byte/s in 56,295 steps, and one arriving at 2^-60 s
       its 2^-60 * 1e-10 bytes in as many, at times 2^-60 of the first's (a
       step of at least 1e-12 s took 1 there) */
    double finish = 0;
    size_t decisions = 0;
    for (int e = 0; e >= -60; e -= 60) {
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, 4);
        add_single(1, ldexp(1, e), 1, 0, 1, ldexp(1e-10, e));
        run(&t_liar, &t_greedy);
        if (e == 0) {
            assert_near(res.coflow_finish_s[0], 1 + 1e-10);
            cr_assert(res.n_decisions > 55000 && res.n_decisions < 58000, "%zu",
                      res.n_decisions);
            finish = res.coflow_finish_s[0];
            decisions = res.n_decisions;
        } else {
            cr_assert(res.coflow_finish_s[0] == ldexp(finish, e), "2^%d: %.17g, want %.17g", e,
                      res.coflow_finish_s[0], ldexp(finish, e));
            cr_assert_eq(res.n_decisions, decisions);
        }
    }
    /* with 2 bytes to send, or from 0 s (where no share of the clock
       moves it past the least doubles), the guard ends the run */
    for (int k = 0; k < 2; k++) {
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, 4);
        add_single(1, k ? 0 : 1, 1, 0, 1, k ? 1e-7 : 2);
        cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
        netsim_opts_t opts = {.ordering = &t_liar, .allocator = &t_greedy};
        cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINTERNAL);
        cr_assert(strstr(weft_last_error(), "t-liar") && strstr(weft_last_error(), "next_change"),
                  "%s", weft_last_error());
    }
}

/* A change predicted at the present is none: one decision, at 0. */
Test(netsim_guard, a_change_predicted_at_now_is_none)
{
    add_single(1, 0, 1, 0, 1, 10);
    run(&t_now, &t_greedy);
    assert_near(res.coflow_finish_s[0], 10);
    cr_assert_eq(res.n_decisions, 1);
}

/* Where a double cannot resolve a job (an arrival at 1e15 s: steps of
 * 0.125 s, so a flow of 0.05 s finishes when it starts), its JCT falls below
 * its lower bound; --check says so instead of hiding it under a slack that
 * grows with the clock. The job at an ordinary time passes. */
Test(netsim_guard, jct_below_bound_is_counted)
{
    add_single(1, 0, 1, 0, 1, 1e6); /* the 0.05 bytes lost are below the bytes' slack */
    add_single(2, 1e15, 1, 2, 3, 0.05);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 1, "%s", res.first_violation);
    cr_assert(strstr(res.first_violation, "job 2") && strstr(res.first_violation, "JCT") &&
                  strstr(res.first_violation, "lower bound 0.05 s"),
              "%s", res.first_violation);
}

/* A flow too short for a double's clock, run without netsim_check_clock
 * (the library's callers may skip it): 1e-200 bytes at 1e300 bytes/s
 * takes 1e-500 s, which is 0, so a decision moves the clock by nothing
 * and finishes nothing. The run stops with an error naming the time and
 * the check; it ran for ever. */
Test(netsim_guard, a_clock_that_stops_is_an_error, .timeout = 30)
{
    coflow_fabric_destroy(&fab);
    cr_assert_eq(coflow_fabric_init(&fab, 4, 1e300), WEFT_OK);
    add_single(1, 0, 1, 0, 1, 1e-200);
    add_single(2, 0, 1, 2, 3, 1e6);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_EINVAL);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "the clock stopped at t=0 s") &&
                  strstr(weft_last_error(), "netsim_check_clock"),
              "%s", weft_last_error());
    /* the same with a job still to arrive (which it waited for, for ever) */
    add_single(3, 1, 1, 2, 3, 1);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "the clock stopped at t=0 s"), "%s", weft_last_error());
}

/* The check weft sim takes before any run finds a flow the clock cannot
 * time as --check counts a step (DBL_EPSILON of the time, more than 1e-3
 * of it): 0.05 s at 1e15 s (steps of 0.22 s), and 2 s of a coflow released
 * after 1e13 s of compute (steps of 2.2e-3 s), naming its job and coflow;
 * 3 s there, and 1 s at 1e12 s, pass; at 0 s, 1e-300 s passes and 1e-310
 * does not. */
Test(netsim_guard, a_flow_the_clock_cannot_time_is_found_before_a_run)
{
    add_single(1, 0, 1, 0, 1, 1);
    add_single(2, 1e15, 1, 2, 3, 0.05);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 2 coflow 1: its flow 2->3 of 0.05 bytes takes "
                                        "0.05 s alone, but the clock steps by up to 0.222 s"),
              "%s", weft_last_error());
    /* a root released at its job's arrival: no stage before it to shorten */
    cr_assert(strstr(weft_last_error(), "; shift the arrivals toward 0 (or slow the ports)"),
              "%s", weft_last_error());
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, 4);
    add_single(1, 1e12, 1, 0, 1, 1);
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 7, 1e13), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    wl.flows[1].bytes = 2; /* the check reads the bytes, nothing derived */
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 2 coflow 7:"), "%s", weft_last_error());
    /* at 0 s any time is resolved, but not one below DBL_MIN: 1 over it
       overflows */
    wl.flows[1].bytes = 3;
    wl.flows[0].bytes = 1e-310;
    wl.jobs[0].arrival_s = 0;
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 1 coflow 1: its flow 0->1 of 1e-310 bytes takes "
                                        "1e-310 s alone, but a double holds no shorter time"),
              "%s", weft_last_error());
    wl.flows[0].bytes = 1e-300;
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_OK, "%s", weft_last_error());
}

/* A flow is timed at the slower of its ports: 1 byte from port 0 to 1
 * arriving at 1e12 s (steps of 2.2e-4 s) takes 1 s at port 1's 1 byte/s
 * however fast port 0 sends; with port 1 receiving at 100 bytes/s too it
 * takes 0.01 s, under 1000 steps. */
Test(netsim_guard, a_flow_is_timed_at_the_slower_of_its_ports)
{
    add_single(1, 1e12, 1, 0, 1, 1);
    fab.cap_out[0] = 100;
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_OK, "%s", weft_last_error());
    fab.cap_in[1] = 100;
    cr_assert_eq(netsim_check_clock(&wl, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 1 coflow 1: its flow 0->1 of 1 bytes takes 0.01 s "
                                        "alone"),
              "%s", weft_last_error());
}

/* Jobs of 8 ns (1 byte at 1 Gbit/s) arriving near 3,700 s: their JCTs are
 * off by a few steps of a double there (1e-13 s, 1e-5 of the bound), which
 * --check must not call a violation. */
Test(netsim_guard, tiny_late_jobs_are_no_violation)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_fabric_init(&fab, 4, 125e6), WEFT_OK);
    static const double sizes[4] = {1, 3, 7, 13};
    for (uint32_t k = 0; k < 200; k++) { /* arrivals spread by the golden ratio */
        double u = 0.6180339887498949 * (k + 1);
        add_single(k, 3600 + 1000 * (u - floor(u)), 1, k % 4, (k + 1 + k / 4 % 3) % 4,
                   sizes[k * 7 % 4]);
    }
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
}

/* A 1-byte job (1 s alone at this suite's 1 byte/s) that waits 1e15 s
 * behind a 1e15-byte flow on its port finishes where the clock steps by
 * 0.22 s: coarse for its lower bound, but its JCT of 1e15 s is exact to
 * 1e-16, so --check finds nothing (it called the JCT not exact: found by
 * an audit of `weft sim`, with 1 Gbit/s ports and 8 ns against 8e6 s). */
Test(netsim_guard, a_tiny_job_that_waits_long_is_exact)
{
    add_single(1, 0, 1, 0, 1, 1e15);
    add_single(2, 1, 1, 0, 1, 1);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_gt(res.job_finish_s[1], 1e6);
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
}

/* A tick below the clock's resolution (1e-6 s at t = 1e12 s, where a double
 * steps by 1.2e-4 s) cannot move the clock: an error naming the tick, not
 * an endless loop. */
Test(netsim_guard, tick_that_cannot_move_the_clock)
{
    add_single(1, 1e12, 1, 0, 1, 10);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .tick_s = 1e-6};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "tick of 1e-06 s"), "%s", weft_last_error());
    cr_assert_null(res.coflow_finish_s);
}

Test(netsim_guard, open_job_refused)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_EINVAL);
}

Test(netsim_guard, empty_workload)
{
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_jobs, 0);
    cr_assert_eq(res.avg_weighted_jct, 0);
}

/* ----------------------------------------------------------- invariants */

/* Random multi-stage workloads (seeded LCG): layered DAGs, compute times,
 * staggered arrivals, ports shared everywhere. Every run must pass every
 * check (capacity at each decision, bytes conserved, DAG order, CCT >= iso,
 * JCT >= bound) under both allocators and all orderings. */
static uint64_t lcg;
static double urand(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

static void build_random(uint64_t seed, size_t n_jobs)
{
    lcg = seed;
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, 4);
    double t = 0;
    for (size_t j = 0; j < n_jobs; j++) {
        t += urand() * 3;
        cr_assert_eq(coflow_workload_add_job(&wl, (int64_t)j, t, 1 + floor(urand() * 4),
                                             urand() < 0.5 ? 0 : urand()), WEFT_OK);
        size_t layers = 1 + (size_t)(urand() * 3), id = 0, prev_lo = 0, prev_n = 0;
        for (size_t l = 0; l < layers; l++) {
            size_t width = 1 + (size_t)(urand() * 3);
            for (size_t w = 0; w < width; w++) {
                cr_assert_eq(coflow_workload_add_coflow(&wl, (int64_t)(id + w),
                                                        urand() < 0.5 ? 0 : urand() * 2),
                             WEFT_OK);
                size_t nf = 1 + (size_t)(urand() * 5);
                for (size_t f = 0; f < nf; f++)
                    cr_assert_eq(coflow_workload_add_flow(&wl, (uint32_t)(urand() * 4),
                                                          (uint32_t)(urand() * 4),
                                                          0.1 + urand() * 5),
                                 WEFT_OK);
                if (prev_n) {
                    cr_assert_eq(coflow_workload_add_parent(
                                     &wl, (int64_t)(prev_lo + (size_t)(urand() * prev_n))),
                                 WEFT_OK);
                }
            }
            prev_lo = id;
            prev_n = width;
            id += width;
        }
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    }
}

Test(netsim_guard, random_workloads_keep_every_invariant)
{
    const coflow_ordering_t *ords[] = {&t_index, &t_fifo, &t_lifo};
    const coflow_allocator_t *allocs[] = {&t_greedy, &t_share};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        build_random(seed, 12);
        for (size_t o = 0; o < 3; o++)
            for (size_t a = 0; a < 2; a++) {
                run(ords[o], allocs[a]);
                /* every job's JCT is at least its bound and the finish is
                 * after every one of its coflows */
                for (size_t c = 0; c < wl.n_coflows; c++) {
                    size_t j = wl.coflows[c].job;
                    cr_assert_geq(res.job_finish_s[j], res.coflow_finish_s[c]);
                    cr_assert_geq(res.coflow_finish_s[c], res.coflow_release_s[c]);
                }
                cr_assert_geq(res.slowdown_vs_bound, 1 - 1e-9);
                cr_assert_leq(res.port_utilization, 1 + 1e-9);
            }
    }
}

/* Lazy pacing keeps each coflow's bytes per port as compensated sums of its
 * open flows' bytes (netsim/lazy.c's anchors), updated as backfilled flows
 * move. Their rounding errors matter once the large terms are gone. Here
 * coflow B sends from port 0 two large flows, H1 (1e11 bytes) and H2 (5e10),
 * and two of 100.3 bytes, T1 and T2. B is paced alone for its first second
 * (so its scale is no longer 1 and a flow's bytes round when divided by
 * it); then coflow A, of a job weighing 100 times more, goes first (wcp:
 * critical path over weight) and holds T1's and T2's receivers, so B
 * waits, not paced, and H1 then H2 are backfilled one
 * after the other through some 120 decisions (driven by small coflows on
 * ports 6 -> 7). Port 0's sum rounds at the scale of 1.5e11 (ulp 3e-5
 * bytes): when it is first summed, at each fold of H1 into it (and the
 * fall folded rounds itself when H1 falls by more than half between two
 * decisions), and as each large flow leaves it. When H2 is done, at 1200
 * s, B's critical path is short enough to go first again, paced on what is
 * left, T1 and T2, with port 0 (200.6 bytes) as its bottleneck: a
 * sum that dropped any of those rounding errors is off there by 1e-6
 * bytes or more (1e-8 of it; each such change was tried), which over-paces
 * port 0 or gives T2 another rate than --check's decision recomputed from
 * the flows' own bytes (it allows 1e-9). */
Test(netsim_guard, backfill_folds_keep_the_port_sums_exact)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_workload_init(&wl, 8);
    const double cap = 1.25e8; /* 1 Gbit/s */
    cr_assert_eq(coflow_fabric_init(&fab, 8, cap), WEFT_OK);
    /* A, at 1 s, weight 100: fills receivers 3 and 5 until 1601 s */
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 1, 100, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 4, 3, 1600 * cap), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 5, 5, 1600 * cap), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    /* B: paced over 0..1 s, then H1 until about 800 s and H2 until 1200 s
       at the full port rate (port 0 never idles), T1 and T2 right after */
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 800 * cap), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 2, 400 * cap), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 3, 100.3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 5, 100.3), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    /* a decision at each arrival and each finish, on ports of their own,
       with a gap from 297.1 to 696.3 s in which H1 falls by more than half */
    for (int i = 1; i <= 100; i++)
        if (i <= 30 || i >= 70)
            add_single(10 + i, 10.0 * i - 3.7, 1, 6, 7, 0.8 * cap);
    run(coflow_ordering_find("wcp"), coflow_allocator_find("madd"));
    /* the premise: H1 and H2 moved on their own through most decisions,
       and B's last part went at 1200 s, paced by port 0's 200.6 bytes */
    cr_assert_gt(res.n_decisions, 100);
    cr_assert_gt(res.n_rated_total, 100);
    cr_assert_float_eq(res.coflow_finish_s[0], 1601, 1e-5);
    cr_assert_float_eq(res.coflow_finish_s[1], 1200 + 200.6 / cap, 1e-8);
    /* the same with every flow rated at every decision (its per-port bytes
       kept by coflow_state_cache_sub) */
    netsim_opts_t opts = {.ordering = coflow_ordering_find("wcp"),
                          .allocator = coflow_allocator_find("madd"),
                          .eager_pacing = true,
                          .check = true};
    netsim_result_destroy(&res);
    netsim_result_init(&res);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
    cr_assert_float_eq(res.coflow_finish_s[1], 1200 + 200.6 / cap, 1e-8);
}

/* A flow from port p to q, or from q to p when the test runs mirrored. */
static void add_flow_mirrored(bool mirrored, uint32_t p, uint32_t q, double bytes)
{
    cr_assert_eq(coflow_workload_add_flow(&wl, mirrored ? q : p, mirrored ? p : q, bytes),
                 WEFT_OK);
}

/* When a large flow of a paced coflow leaves, the small ones on its port
 * are left with what the port's anchor sum kept of them, and its rounding
 * (netsim/lazy.c): at the next decision lazy_refresh rebuilds the port's
 * bytes from both. Coflow B sends L (1e6 + 0.1 bytes) from port 0 to 1 and
 * S (0.3) from 0 to 2, where coflow A, ahead of it, takes all but 1e-8
 * byte/s of port 2 until 3e6 s: B is paced at S's 1e-8 byte/s, and L,
 * backfilled with the rest of port 0, leaves at about 1e6 s. Port 0's sum,
 * 1e6 + 0.4, rounds at 1.2e-10 bytes; a rebuild that dropped its rounding
 * would be off from S's 0.29 bytes by up to 2e-10 of them, where an
 * ordering reads them exact to 1e-13. Run as said (sender ports) and
 * mirrored (receiver ports: lazy_refresh rebuilds each side in its own
 * loop). */
static void large_flow_leaves_a_paced_coflow(bool mirrored)
{
    add_single(1, 0, 1, mirrored ? 2 : 3, mirrored ? 3 : 2, 3e6);
    if (mirrored)
        fab.cap_in[3] = 1 - 1e-8;
    else
        fab.cap_out[3] = 1 - 1e-8;
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    add_flow_mirrored(mirrored, 0, 1, 1e6 + 0.1);
    add_flow_mirrored(mirrored, 0, 2, 0.3);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    port_gap = 0;
    run(&t_port_gap, coflow_allocator_find("madd"));
    cr_assert_gt(res.n_paced_total, 2);
    cr_assert_float_eq(res.flow_finish_s[1], 1e6 + 0.11, 1e-3, "%.17g", res.flow_finish_s[1]);
    /* A is done at 3e6 / (1 - 1e-8) s, when S has moved 0.03 bytes */
    cr_assert_float_eq(res.coflow_finish_s[1], 3e6 + 0.3, 1e-6, "%.17g",
                       res.coflow_finish_s[1]);
    cr_assert_lt(port_gap, 1e-13, "%g", port_gap);
}

Test(netsim_guard, a_large_flow_leaving_a_paced_coflow_leaves_its_rounding_senders)
{
    large_flow_leaves_a_paced_coflow(false);
}

Test(netsim_guard, a_large_flow_leaving_a_paced_coflow_leaves_its_rounding_receivers)
{
    large_flow_leaves_a_paced_coflow(true);
}

/* The same for a coflow that is not paced, whose backfilled flows rewrite
 * their ports' bytes as they move (anc_fold_at). Coflow B: L (1e6 + 0.1
 * bytes) from port 0 to 1, S (0.3) from 0 to 2, T (1) from 1 to 5; A1
 * fills port 2 until 2e6 s and A2 port 5 until 3e6 s, so B is never paced
 * (T cannot move). L leaves at 1e6 s; S moves from 2e6 s, and at 2e6 + 0.1
 * s a coflow of its own on ports 5 -> 4 arrives: S is folded back with 0.2
 * bytes left, and port 0's bytes rewritten from its sum and its rounding
 * (of 1e6 + 0.4, up to 6e-11 bytes). */
Test(netsim_guard, a_large_flow_leaving_an_unpaced_coflow_leaves_its_rounding)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_workload_init(&wl, 6);
    cr_assert_eq(coflow_fabric_init(&fab, 6, 1), WEFT_OK);
    add_single(1, 0, 1, 3, 2, 2e6);
    add_single(2, 0, 1, 4, 5, 3e6);
    cr_assert_eq(coflow_workload_add_job(&wl, 3, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1e6 + 0.1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 2, 0.3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 1, 5, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    add_single(4, 2e6 + 0.1, 1, 5, 4, 1);
    port_gap = 0;
    run(&t_port_gap, coflow_allocator_find("madd"));
    cr_assert_float_eq(res.flow_finish_s[2], 1e6 + 0.1, 1e-6, "%.17g", res.flow_finish_s[2]);
    /* A1 is done at 2e6 / (1 - 1e-12) s (MADD's hair) */
    cr_assert_float_eq(res.flow_finish_s[3], 2e6 + 0.3, 1e-5, "%.17g", res.flow_finish_s[3]);
    cr_assert_lt(port_gap, 1e-13, "%g", port_gap);
}

/* ------------------------------------------------- what --check finds */

/* Runs that a scratch edit of the emulator got wrong passed --check: the
 * tests below break a run the way such a bug would, from the state an
 * ordering or allocator is handed (the emulator's, sim_internal.h), or feed
 * the check a wrong step directly, and expect it named. */

TestSuite(netsim_check, .init = setup, .fini = teardown, .timeout = 10);

static bool broken; /* the run was broken (once) */
static double scratch_out[4], scratch_in[4]; /* a hand-made sim_t's chk_out, chk_in */

/* Job 1: one coflow (id 1) of two 4-byte flows on ports of their own,
 * 0->1 and 2->3: done at 4 s at full rates. */
static void add_two_apart(void)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
}

/* next_change, once: the first moving flow sped up by half after its
 * decision rated it (and the capacity check passed it), so at its finish
 * it has been sent half its bytes again, which the emulator, finishing it,
 * counts as not sent: it ran past its end. */
static double change_speeds_up(void *ctx, const coflow_state_t *st)
{
    (void)ctx;
    sim_t *s = sim_of(st);
    if (!broken && s->n_run > 0) {
        s->run[0].rate *= 1.5;
        broken = true;
    }
    return INFINITY;
}

static const coflow_ordering_t t_speeds_up = {"t-speeds-up", "index, a flow sped up once",
                                              "t-greedy", true, 0, NULL, NULL, order_index,
                                              change_speeds_up, false, NULL, NULL};

/* A real allocator (wrapped), but when --check recomputes a decision (under
 * lazy pacing with st->pace NULL; by pairs it is only ever run for that),
 * the next finish the emulator found for it is put half as late again,
 * once: each flow finishing then has run past its end while its ports idled
 * (the scratch edit: next_finish_dt = best * 1.5). */
static const coflow_allocator_t *wrapped;

static void alloc_late(coflow_state_t *st, const size_t *order, size_t n)
{
    wrapped->allocate(st, order, n);
    sim_t *s = sim_of(st);
    if (!broken && (s->pairf || (s->lazy && !st->pace))) {
        s->next_finish_dt *= 1.5;
        broken = true;
    }
}

/* Runs ord with alloc under --check, expecting n violations, the first
 * naming `what` (if not NULL). */
static void expect_violations(const coflow_ordering_t *ord, const coflow_allocator_t *alloc,
                              size_t n, const char *what)
{
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = ord, .allocator = alloc, .check = true};
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, n, "%zu: %s", res.n_violations, res.first_violation);
    if (what)
        cr_assert(strstr(res.first_violation, what), "%s", res.first_violation);
}

/* Runs ord, which breaks the run once, with alloc (made late as above if
 * `late`), expecting one violation, naming `what`. */
static void expect_one_violation(const coflow_ordering_t *ord, const coflow_allocator_t *alloc,
                                 bool late, const char *what)
{
    coflow_allocator_t wrapper = *alloc;
    if (late) {
        wrapped = alloc;
        wrapper.allocate = alloc_late;
        alloc = &wrapper;
    }
    broken = false;
    expect_violations(ord, alloc, 1, what);
    cr_assert(broken);
}

/* Flow by flow (greedy, and srf, which decides by pairs of ports but moves
 * flows one by one), 4 bytes at 1.5 bytes/s for 4 s. */
Test(netsim_check, a_flow_sent_past_its_end_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    expect_one_violation(&t_speeds_up, &t_greedy, false,
                         "t=4 s: flow 0 (0->1) of coflow 1 of job 1 finished 1.33 s after its "
                         "end: it was sent 2 bytes past its 4");
    expect_one_violation(&t_speeds_up, coflow_allocator_find("srf"), false,
                         "t=4 s: flow 0 (0->1) of coflow 1 of job 1 finished 1.33 s after");
}

/* Lazy pacing, a paced coflow whose scale reaches zero (its one flow, 4
 * bytes at 1 byte/s, finishes at 6 s), and by pairs (per-flow fair). */
Test(netsim_check, a_late_finish_is_counted_under_lazy_pacing_and_pairs)
{
    add_single(1, 0, 1, 0, 1, 4);
    expect_one_violation(&t_index, coflow_allocator_find("madd"), true,
                         "t=6 s: flow 0 (0->1) of coflow 1 of job 1 finished 2 s after its end: "
                         "it was sent 2 bytes past its 4");
    cr_assert_gt(res.n_paced_total, 0);
    expect_one_violation(&t_index, coflow_allocator_find("fair"), true,
                         "t=6 s: flow 0 (0->1) of coflow 1 of job 1 finished 2 s after");
}

/* Lazy pacing, a backfilled flow: MADD paces 0->1 (4 bytes) and 2->3 (2
 * bytes) to finish together at 4 s and backfills 2->3 to the full rate, so
 * it finishes at 2 s; made late, at 3 s, it has run 1 s past its end. */
Test(netsim_check, a_late_backfilled_flow_is_counted)
{
    cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 2, 3, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    expect_one_violation(&t_index, coflow_allocator_find("madd"), true,
                         "t=3 s: flow 1 (2->3) of coflow 1 of job 1 finished 1 s after its end: "
                         "it was sent 1 bytes past its 2");
    cr_assert_gt(res.n_rated_total, 0); /* backfilled */
}

/* The check fed steps directly: 4 bytes at 1 byte/s, finishing after 3 s
 * has a byte unsent (a finish test looser than the tolerance gives that:
 * the emulator counts what is left as sent, so no total shows it); within
 * the finish tolerance, short or past, it passes, by a billionth of the
 * bytes, or late in a trace by 8 ulps of the clock times the rate. */
Test(netsim_check, a_flow_finished_short_of_its_bytes_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    const struct {
        double now, dt1, dt2; /* the flow moves for dt1, then dt2 and finishes */
        size_t violations;
    } cases[] = {
        {3, 2, 1, 1},
        {4, 2, 2 - 3.9e-9, 0},        /* 3.9e-9 bytes short: within 4e-9 */
        {4, 2, 2 - 4.1e-9, 1},
        {4, 2, 2 + 3.9e-9, 0},        /* past its end by as much */
        {4, 2, 2 + 4.1e-9, 1},
        {1e8, 2, 2 - 1.7e-7, 0},      /* at 1e8 s: 8 ulps of it at 1 byte/s, 1.78e-7 */
        {1e8, 2, 2 - 1.9e-7, 1},
        {1e8, 2, 2 + 1.9e-7, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        chk_sent_t sent[1] = {{0}};
        moving_t mv[1] = {{.f = 0, .c = 0, .rate = 1, .left = 4}};
        netsim_result_t r;
        netsim_result_init(&r);
        sim_t s = {.wl = &wl, .fab = &fab, .res = &r, .run = mv, .n_run = 1, .done = mv,
                   .chk_sent = sent};
        s.st.now = cases[i].now - cases[i].dt2;
        sim_check_step(&s, cases[i].dt1);
        s.st.now = cases[i].now;
        s.n_done = 1;
        sim_check_step(&s, cases[i].dt2);
        cr_assert_eq(r.n_violations, cases[i].violations, "case %zu: %s", i,
                     r.first_violation);
        if (i == 0)
            cr_assert(strstr(r.first_violation, "t=3 s: flow 0 (0->1) of coflow 1 of job 1 "
                                                "finished with 1 of its 4 bytes unsent"),
                      "%s", r.first_violation);
    }
}

/* Under lazy pacing and pairs the check credits the flows its own decision
 * check listed (chk_run), not run[] (lazy pacing: the backfilled flows
 * only; pairs: none). */
Test(netsim_check, fast_paths_credit_every_moving_flow)
{
    add_single(1, 0, 1, 0, 1, 4);
    for (int pairs = 0; pairs < 2; pairs++) {
        chk_sent_t sent[1] = {{0}};
        moving_t mv[1] = {{.f = 0, .c = 0, .rate = 1, .left = 4}};
        double fk[1] = {4}; /* pairs: its key, its size as its pair opened with it */
        netsim_result_t r;
        netsim_result_init(&r);
        sim_t s = {.wl = &wl, .fab = &fab, .res = &r, .lazy = !pairs, .pairf = pairs,
                   .chk_run = mv, .n_chk_run = 1, .done = mv, .n_done = 1, .chk_sent = sent,
                   .fk = fk};
        s.st.now = 4;
        sim_check_step(&s, 4);
        cr_assert_eq(r.n_violations, 0, "%s", r.first_violation);
    }
}

/* By pairs a flow's bytes left are its key less what its pair sent, both
 * as large as what the pair sent before it opened: a 4-byte flow opened
 * after its pair sent 1e10 bytes is known to an ulp or so of 1e10 (2e-6
 * bytes), and the check allows 2 ulps of its key a step, plus two (1.3e-5
 * bytes after one step): finished 1.1e-5 bytes short it passes, 5e-5
 * short it is named. */
Test(netsim_check, a_pair_flow_is_allowed_its_keys_rounding)
{
    add_single(1, 0, 1, 0, 1, 4);
    const double short_by[2] = {1.1e-5, 5e-5};
    for (size_t i = 0; i < 2; i++) {
        chk_sent_t sent[1] = {{0}};
        moving_t mv[1] = {{.f = 0, .c = 0, .rate = 1}};
        double fk[1] = {1e10 + 4};
        netsim_result_t r;
        netsim_result_init(&r);
        sim_t s = {.wl = &wl, .fab = &fab, .res = &r, .pairf = true, .chk_run = mv,
                   .n_chk_run = 1, .done = mv, .n_done = 1, .chk_sent = sent, .fk = fk};
        s.st.now = 4;
        sim_check_step(&s, 4 - short_by[i]);
        cr_assert_eq(r.n_violations, i, "%s", r.first_violation);
    }
}

/* An ordering that, once, puts the release of a pending coflow with parents
 * half a second later (the scratch edit: ready + compute + 0.5 pushed), or
 * once a job is done drops its final compute time from its finish. */
static weft_err_t order_late_release(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    order_index(ctx, st, ids, n);
    sim_t *s = sim_of(st);
    if (!broken && s->n_heap == 1 && s->wl->coflows[s->heap[0].c].n_parents > 0) {
        s->heap[0].t += 0.5;
        broken = true;
    }
    return WEFT_OK;
}

static weft_err_t order_drops_final_compute(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    order_index(ctx, st, ids, n);
    sim_t *s = sim_of(st);
    for (size_t j = 0; j < s->wl->n_jobs && !broken; j++)
        if (s->job_left[j] == 0 && s->wl->jobs[j].final_compute_s > 0) {
            s->res->job_finish_s[j] -= s->wl->jobs[j].final_compute_s;
            broken = true;
        }
    return WEFT_OK;
}

/* An ordering that, once, swaps the two releases pending in the heap, the
 * later one on top: a broken heap, which holds the earlier one until the
 * later one is due and then gives it up with its own due time. */
static weft_err_t order_swaps_releases(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    order_index(ctx, st, ids, n);
    sim_t *s = sim_of(st);
    if (!broken && s->n_heap == 2 && s->heap[0].t < s->heap[1].t) {
        pending_t top = s->heap[0];
        s->heap[0] = s->heap[1];
        s->heap[1] = top;
        broken = true;
    }
    return WEFT_OK;
}

static const coflow_ordering_t t_late_release = {"t-late-release", "index, a release late",
                                                 "t-greedy", true, 0, NULL, NULL,
                                                 order_late_release, NULL, false, NULL, NULL};
static const coflow_ordering_t t_swaps_releases = {"t-swaps-releases", "index, a heap broken",
                                                    "t-greedy", true, 0, NULL, NULL,
                                                    order_swaps_releases, NULL, false, NULL, NULL};
static const coflow_ordering_t t_drops_final = {"t-drops-final", "index, a final compute lost",
                                                "t-greedy", true, 0, NULL, NULL,
                                                order_drops_final_compute, NULL, false, NULL, NULL};

/* The chain (b due at 7.5 s) with b released at 8 s: late, which nothing
 * else shows (its CCT and its job's JCT only grow); job 2 (20 bytes on
 * ports of its own) keeps the decisions coming. */
Test(netsim_check, a_late_release_is_counted)
{
    build_chain();
    add_single(2, 0, 1, 2, 3, 20);
    expect_one_violation(&t_late_release, &t_greedy, false,
                         "coflow 11 of job 5 released at 8 s, after its inputs were ready "
                         "(7.5 s)");
    cr_assert_float_eq(res.coflow_release_s[1], 8, EPS);
}

/* Jobs 1 and 2 arrive at 0 s, their coflows due after 7.5 and 20 s of
 * compute (2 bytes each, 0->1 and 1->0); job 3 (30 bytes on 2->3) keeps
 * the decisions coming. A heap broken at 0 s holds job 1's release until
 * 20 s, stamped 7.5 s as it was due: its CCT and JCT only grow and its
 * stamp is its inputs' ready time, so only the release as it is taken
 * shows it. */
Test(netsim_check, a_release_taken_after_it_was_due_is_counted)
{
    for (int64_t j = 1; j <= 2; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 1, j == 1 ? 7.5 : 20), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, j == 1 ? 0 : 1, j == 1 ? 1 : 0, 2), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    add_single(3, 0, 1, 2, 3, 30);
    expect_one_violation(&t_swaps_releases, &t_greedy, false,
                         "t=20 s: coflow 1 of job 1, due for release at 7.5 s, was released "
                         "only now");
    cr_assert_float_eq(res.coflow_release_s[0], 7.5, EPS);
    cr_assert_float_eq(res.coflow_finish_s[0], 22, EPS);
}

/* Job 2 (4 bytes, 1 s of final compute) waits 4 s behind job 1 on port 0:
 * done at 9 s, its JCT is 4 s above its bound, so a finish of 8 s without
 * the final compute is still above the bound, and only the job's own
 * finish time shows it; job 3 (20 bytes) keeps the decisions coming. */
Test(netsim_check, a_job_finish_without_its_final_compute_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    cr_assert_eq(coflow_workload_add_job(&wl, 2, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    add_single(3, 0, 1, 2, 3, 20);
    expect_one_violation(&t_drops_final, &t_greedy, false,
                         "job 2 finished at 8 s, not when its last coflow did plus its final "
                         "compute time (8 + 1 s)");
    cr_assert_float_eq(res.job_finish_s[1], 8, EPS);
}

/* A job finishing right at its bound (4 s) against a bound raised by 1e-7
 * of it: its JCT falls short by 4e-7 s, which a slack of 1e-6 of the bound
 * hid; by 5e-10 of it, within TIME_TOL, it passes. */
Test(netsim_check, a_jct_a_ten_millionth_below_its_bound_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_opts_t opts = {.ordering = &t_index, .allocator = &t_greedy, .check = true};
    wl.jobs[0].lower_bound_s = 4 * (1 + 5e-10);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s", res.first_violation);
    wl.jobs[0].lower_bound_s = 4 * (1 + 1e-7);
    cr_assert_eq(netsim_run(&wl, &fab, &opts, &res), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(res.n_violations, 1, "%zu: %s", res.n_violations, res.first_violation);
    cr_assert(strstr(res.first_violation, "job 1 (arrival 0 s): JCT 4 s is below its lower "
                                          "bound 4.0000004 s"),
              "%s", res.first_violation);
}

/* A chain of three 1e-3-byte coflows (0->1) at 1e5 s, where a flow finishes
 * when what it has left takes at most 8 ulps of the clock (1.8e-10 s): each
 * stage finishes 1.4e-10 s early, at the finish of a flow elsewhere (2->3,
 * 1->0, 3->2, sized to end then), so the job falls short of its bound by
 * three times that, more than one coflow may (which the JCT check allowed
 * a job before, under a slack of 1e-6 of the bound that hid it), and as
 * much as its three coflows may: no violation. */
Test(netsim_check, a_chain_finishing_early_at_each_stage_is_no_violation)
{
    const double t0 = 1e5, a = 1e-3, early = 1.4e-10;
    cr_assert_eq(coflow_workload_add_job(&wl, 1, t0, 1, 0), WEFT_OK);
    for (int k = 1; k <= 3; k++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, k, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, a), WEFT_OK);
        if (k > 1)
            cr_assert_eq(coflow_workload_add_parent(&wl, k - 1), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    add_single(2, t0, 1, 2, 3, a - early);
    add_single(3, t0, 1, 1, 0, 2 * (a - early));
    add_single(4, t0, 1, 3, 2, 3 * (a - early));
    run(&t_index, &t_greedy);
    /* the premise: each stage finished early, and the job by more than one
       coflow's slack (the CCT check's) */
    for (int c = 0; c < 3; c++)
        cr_assert_lt(res.coflow_finish_s[c] - res.coflow_release_s[c], a - early / 2);
    double finish = res.job_finish_s[0], jct = finish - t0;
    cr_assert_lt(jct, 3 * a * (1 - TIME_TOL) - (FINISH_TIME_TOL + 4 * DBL_EPSILON) * finish,
                 "JCT %.17g", jct);
}

/* Capacity: one flow, 4 bytes on ports of 1 byte/s, at 1 + 5e-9 of its
 * ports' capacity, above CAP_TOL (1e-9) on both, send and receive named;
 * it finishes 2e-8 s early, short of its isolation time and of its job's
 * bound by more than TIME_TOL of them (4e-9 s): four violations. At
 * 1 + 5e-10 it is within every slack: none. */
Test(netsim_check, a_port_a_few_billionths_over_capacity_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    rate_scale = 1 + 5e-9;
    expect_violations(&t_index, &t_scaled, 4,
                      "t=0 s: port 0 sends 1.000000005 bytes/s, above its capacity 1");
    rate_scale = 1 + 5e-10;
    expect_violations(&t_index, &t_scaled, 0, NULL);
}

/* Each port is held to its own capacity each way, summed over its flows:
 * port 0 sends at 1 byte/s but receives at 2, port 3 the reverse. Jobs of
 * 2 bytes 0->1, 0->2, 1->3 and 2->3, each flow given the capacity of its
 * slower port as if alone (1 byte/s): port 0 sends 2 and port 3 receives
 * 2, each named once per flow through it, all done at 2 s, their isolation
 * time. */
Test(netsim_check, a_port_shared_over_its_capacity_is_counted_each_way)
{
    fab.cap_in[0] = 2;
    fab.cap_out[3] = 2;
    add_single(1, 0, 1, 0, 1, 2);
    add_single(2, 0, 1, 0, 2, 2);
    add_single(3, 0, 1, 1, 3, 2);
    add_single(4, 0, 1, 2, 3, 2);
    expect_violations(&t_index, &t_blind, 4, "t=0 s: port 0 sends 2 bytes/s, above its capacity 1");
}

/* Work conservation, for an allocator that promises it: one coflow of two
 * 4-byte flows, 0->1 and 2->3. The second at half its rate has room at
 * both ports: named, once (at 4 s the first is done and greedy gives the
 * second the full rate). Both at half: the coflow is named once, at its
 * first such flow. 5e-6 short of full is below WORK_TOL (1e-6) of both
 * ports: named; 5e-7 short is not; nor is an allocator that does not
 * promise it. */
Test(netsim_check, a_flow_with_room_at_both_ports_is_not_work_conserving)
{
    add_two_apart();
    scale_from = 1;
    rate_scale = 0.5;
    expect_violations(&t_index, &t_scaled, 1,
                      "t=0 s: not work-conserving: flow 1 (2->3) of coflow 1 gets 0.5 bytes/s "
                      "while both its ports have room (0.5 and 0.5 bytes/s used)");
    assert_near(res.coflow_finish_s[0], 6);
    scale_from = 0;
    expect_violations(&t_index, &t_scaled, 1, "flow 0 (0->1) of coflow 1 gets 0.5 bytes/s");
    rate_scale = 1 - 5e-6;
    expect_violations(&t_index, &t_scaled, 1, "not work-conserving: flow 0 (0->1)");
    rate_scale = 1 - 5e-7;
    expect_violations(&t_index, &t_scaled, 0, NULL);
    coflow_allocator_t no_promise = t_scaled;
    no_promise.work_conserving = false;
    rate_scale = 0.5;
    expect_violations(&t_index, &no_promise, 0, NULL);
}

/* Bytes conserved: an ordering that once adds to the emulator's count of
 * bytes moved (what a step crediting a flow twice would leave) against 4
 * bytes held, CONSERVE_TOL (1e-6) of them allowed: 1e-5 more is named (4 +
 * 1e-5 printed to 17 digits), 2e-6 is not. Lazy pacing: the same ordering
 * adding to a coflow's count of bytes left, or to its per-port count (the
 * compensation term lazy pacing keeps), which only --check reads under an
 * allocator blind to them (t-lazy-slow at full rates). One decision each. */
typedef enum { ADD_TO_MOVED, ADD_TO_REMAINING, ADD_TO_PORT_BYTES } add_to_t;
static add_to_t add_to;
static double add_bytes;

static weft_err_t order_miscounts(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    order_index(ctx, st, ids, n);
    if (broken)
        return WEFT_OK;
    broken = true;
    if (add_to == ADD_TO_MOVED)
        sim_of(st)->moved += add_bytes;
    else if (add_to == ADD_TO_REMAINING)
        st->coflow_remaining[ids[0]] += add_bytes;
    else
        st->cport_comp[st->cport_start[ids[0]]] += add_bytes;
    return WEFT_OK;
}

static const coflow_ordering_t t_miscounts = {"t-miscounts", "index, a count of bytes off",
                                              "t-greedy", true, 0, NULL, NULL, order_miscounts,
                                              NULL, false, NULL, NULL};

static void expect_miscount(add_to_t where, double bytes, const coflow_allocator_t *alloc,
                            size_t n, const char *what)
{
    add_to = where;
    add_bytes = bytes;
    broken = false;
    expect_violations(&t_miscounts, alloc, n, what);
    cr_assert(broken);
}

Test(netsim_check, bytes_miscounted_are_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    expect_miscount(ADD_TO_MOVED, 1e-5, &t_greedy, 1, "bytes not conserved: rates over time "
                                                      "moved 4.0000099999999996 bytes, flows "
                                                      "hold 4");
    expect_miscount(ADD_TO_MOVED, 2e-6, &t_greedy, 0, NULL);
    lazy_scale = 1;
    expect_miscount(ADD_TO_REMAINING, 1e-5, &t_lazy_slow, 1,
                    "t=0 s: coflow 0: its open flows hold 4 bytes, its remaining bytes say "
                    "4.0000099999999996");
    expect_miscount(ADD_TO_REMAINING, 2e-6, &t_lazy_slow, 0, NULL);
    expect_miscount(ADD_TO_PORT_BYTES, 1e-5, &t_lazy_slow, 1,
                    "t=0 s: coflow 0 has 4 bytes left through port 0, its lazy per-port count "
                    "says 4.0000099999999996");
    expect_miscount(ADD_TO_PORT_BYTES, 2e-6, &t_lazy_slow, 0, NULL);
}

/* Lazy rates `named` times greedy's (named as `what`, one decision), then
 * `within` times them (passed). */
static void expect_lazy_scaled(double named, double within, const char *what)
{
    lazy_scale = named;
    expect_violations(&t_index, &t_lazy_slow, 1, what);
    lazy_scale = within;
    expect_violations(&t_index, &t_lazy_slow, 0, NULL);
}

/* Lazy pacing against its recomputation from zero: one coflow of two
 * 4-byte flows (0->1, 2->3), both lazily 5e-9 slower than from zero,
 * beyond LAZY_REL_TOL of the rate plus LAZY_CAP_TOL of the port (2e-9):
 * named, at the first flow only; 1e-9 slower is within. A lazy rate
 * faster than from zero (1 against 0.5) is as wrong as a slower one. */
Test(netsim_check, a_lazy_rate_a_few_billionths_off_is_counted)
{
    add_two_apart();
    expect_lazy_scaled(1 - 5e-9, 1 - 1e-9,
                       "t=0 s: flow 0 of coflow 0 moves at 0.99999999500000003 bytes/s under "
                       "lazy pacing, at 1 recomputed from zero");
    lazy_scale = 1;
    ref_scale = 0.5;
    expect_violations(&t_index, &t_lazy_slow, 1,
                      "t=0 s: flow 0 of coflow 0 moves at 1 bytes/s under lazy pacing, at 0.5 "
                      "recomputed from zero");
}

/* A lazily paced rate may differ from its recomputation by the rounding of
 * a port's use, up to an ulp of the fabric's fastest port a rate (here
 * 1e12 bytes/s at port 2, idle): (1 + 1 + 2) ulps of it, 8.9e-4 bytes/s,
 * for the one flow of 1 byte/s; 2e-3 slower is named, 5e-4 is not. */
Test(netsim_check, a_lazy_rate_may_be_off_by_the_fastest_ports_rounding)
{
    fab.cap_out[2] = fab.cap_in[2] = 1e12;
    add_single(1, 0, 1, 0, 1, 4);
    expect_lazy_scaled(1 - 2e-3, 1 - 5e-4,
                       "t=0 s: flow 0 of coflow 0 moves at 0.998 bytes/s under lazy pacing, at 1 "
                       "recomputed from zero");
}

/* A pacing allocator says in --check's run from zero how far the rounding
 * of nearly full ports may move its paces (pace_slack, coflow.h), and the
 * check allows twice that share of the port besides its own slack: with
 * 1e-6 said, a lazy rate 1.5e-6 slower passes, 2.5e-6 slower is named. */
Test(netsim_check, a_lazy_rate_may_be_off_by_twice_the_pace_slack)
{
    add_single(1, 0, 1, 0, 1, 4);
    ref_slack = 1e-6;
    expect_lazy_scaled(1 - 2.5e-6, 1 - 1.5e-6,
                       "t=0 s: flow 0 of coflow 0 moves at 0.99999749999999998 bytes/s under "
                       "lazy pacing, at 1 recomputed from zero");
}

/* The greedy allocator under its own name (so --check recomputes it from
 * zero), broken once where it replays its front (st->greedy_prefix set;
 * --check's pass from zero has none), as a bug in the replay would: its
 * last rate times rate_scale, its first two flows listed the other way
 * round, its last flow dropped; or, where the front was kept from the last
 * decision (n_rated_kept > 0), the first kept flow's rate halved, another
 * flow listed in its place, or its bytes left (which the emulator keeps
 * beside the list) a byte short. */
typedef enum {
    GREEDY_SCALED,
    GREEDY_SWAPPED,
    GREEDY_DROPPED,
    GREEDY_KEPT_RATE,
    GREEDY_KEPT_FLOW,
    GREEDY_KEPT_LEFT
} greedy_break_t;
static greedy_break_t greedy_break;

static void alloc_greedy_broken(coflow_state_t *st, const size_t *order, size_t n)
{
    wrapped->allocate(st, order, n);
    size_t m = st->n_rated;
    bool kept = st->n_rated_kept > 0;
    if (broken || !st->greedy_prefix || (greedy_break >= GREEDY_KEPT_RATE && !kept))
        return;
    broken = true;
    size_t f = st->rated[0];
    double r = st->rated_rate[0];
    switch (greedy_break) {
    case GREEDY_SCALED:
        st->rated_rate[m - 1] *= rate_scale;
        break;
    case GREEDY_SWAPPED:
        st->rated[0] = st->rated[1];
        st->rated_rate[0] = st->rated_rate[1];
        st->rated[1] = f;
        st->rated_rate[1] = r;
        break;
    case GREEDY_DROPPED:
        st->n_rated--;
        break;
    case GREEDY_KEPT_RATE:
        st->rated_rate[0] = r / 2;
        break;
    case GREEDY_KEPT_FLOW:
        st->rated[0] = st->rated[1];
        break;
    case GREEDY_KEPT_LEFT:
        st->flow_remaining[f] -= 1;
        break;
    }
}

static void expect_greedy_broken(greedy_break_t how, size_t n, const char *what)
{
    wrapped = coflow_allocator_find("greedy");
    coflow_allocator_t greedy = *wrapped;
    greedy.allocate = alloc_greedy_broken;
    greedy.work_conserving = false; /* its promise would add violations */
    greedy_break = how;
    broken = false;
    expect_violations(&t_index, &greedy, n, what);
    cr_assert(broken);
}

/* One coflow of two 4-byte flows (0->1, 2->3), one decision: the replay
 * against the pass from zero. The second flow 5e-9 slow is beyond 1e-9
 * of its rate plus 1e-9 of its ports; 1e-9 slow is within. */
Test(netsim_check, a_greedy_replay_unlike_its_pass_from_zero_is_counted)
{
    add_two_apart();
    rate_scale = 1 - 5e-9;
    expect_greedy_broken(GREEDY_SCALED, 1,
                         "t=0 s: flow 1 of coflow 0 moves at 0.99999999500000003 bytes/s under "
                         "the greedy with its front replayed, at 1 recomputed from zero (listed "
                         "1-th, from zero flow 1)");
    rate_scale = 1 - 1e-9;
    expect_greedy_broken(GREEDY_SCALED, 0, NULL);
    expect_greedy_broken(GREEDY_SWAPPED, 1,
                         "t=0 s: flow 1 of coflow 0 moves at 1 bytes/s under the greedy with its "
                         "front replayed, at 1 recomputed from zero (listed 0-th, from zero "
                         "flow 0)");
    /* the dropped flow goes alone from 4 s */
    expect_greedy_broken(GREEDY_DROPPED, 1,
                         "t=0 s: 2 flows move when the greedy is recomputed from zero, 1 with its "
                         "front replayed");
    assert_near(res.coflow_finish_s[0], 8);
}

/* Job 1 (10 bytes, 0->1) from 0 s, job 2 (1 byte, 2->3) from 1 s: at 1 s
 * greedy replays job 1's flow (kept: rated first, at 1 byte/s, 9 bytes
 * left) and walks job 2's. A kept flow must be what the allocator listed
 * there, at its rate, with its bytes left. */
Test(netsim_check, a_kept_flow_unlike_the_allocators_is_counted)
{
    add_single(1, 0, 1, 0, 1, 10);
    add_single(2, 1, 1, 2, 3, 1);
    expect_greedy_broken(GREEDY_KEPT_RATE, 1,
                         "t=1 s: the 0-th moving flow, kept from the last decision, is flow 0 at "
                         "1 bytes/s with 9 bytes left; the allocator rated flow 0 at 0.5, and 9 "
                         "bytes are left");
    expect_greedy_broken(GREEDY_KEPT_FLOW, 1,
                         "t=1 s: the 0-th moving flow, kept from the last decision, is flow 0 at "
                         "1 bytes/s with 9 bytes left; the allocator rated flow 1 at 1, and 9 "
                         "bytes are left");
    expect_greedy_broken(GREEDY_KEPT_LEFT, 1,
                         "t=1 s: the 0-th moving flow, kept from the last decision, is flow 0 at "
                         "1 bytes/s with 9 bytes left; the allocator rated flow 0 at 1, and 8 "
                         "bytes are left");
    /* the emulator moved the kept flow as it was: done at 10 s */
    assert_near(res.coflow_finish_s[0], 10);
}

/* A real allocator (wrapped) whose rates times ref_scale, and, if
 * rate_extra, one more flow rated (the first open one it left idle, at
 * 0.25 byte/s): by pairs (per-flow fair) and srf by pairs the emulator
 * decides without the allocator, so only --check's recomputation from
 * the flows sees it. */
static bool rate_extra;

static void alloc_rescaled(coflow_state_t *st, const size_t *order, size_t n)
{
    wrapped->allocate(st, order, n);
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] *= ref_scale;
    for (size_t i = 0; i < n && rate_extra; i++) {
        const size_t *open = st->open_flows + st->wl->coflows[order[i]].first_flow;
        for (size_t k = 0; k < st->n_open[order[i]]; k++)
            if (st->flow_rate[open[k]] == 0) {
                st->flow_rate[open[k]] = 0.25;
                st->rated[st->n_rated++] = open[k];
                return;
            }
    }
}

static void expect_rescaled(const char *alloc, size_t n, const char *what)
{
    wrapped = coflow_allocator_find(alloc);
    coflow_allocator_t wrapper = *wrapped;
    wrapper.allocate = alloc_rescaled;
    expect_violations(&t_index, &wrapper, n, what);
}

/* One 4-byte flow, one decision, the recomputation 5e-9 slower than the
 * fast path: beyond 1e-9 of the rate plus 1e-9 of the port, named
 * (`what`); 1e-9 slower is within. */
static void expect_rescaled_by_billionths(const char *alloc, const char *what)
{
    add_single(1, 0, 1, 0, 1, 4);
    ref_scale = 1 - 5e-9;
    expect_rescaled(alloc, 1, what);
    ref_scale = 1 - 1e-9;
    expect_rescaled(alloc, 0, NULL);
}

/* A pair's rate (1 byte/s less fair's trim of 1e-12) against fair's flow
 * by flow. */
Test(netsim_check, a_pair_rate_unlike_fairs_flow_by_flow_is_counted)
{
    expect_rescaled_by_billionths("fair", "t=0 s: flow 0 moves at 0.99999999999900002 bytes/s "
                                          "with its pair, at 0.99999999499900005 recomputed "
                                          "flow by flow");
}

/* By pairs the check sums the pairs' rates at each port like any
 * decision's. Fed directly one 4-byte flow 0->1 whose pair moves at 2
 * bytes/s (as a wrong max-min level would have it): port 0 sends and port
 * 1 receives over capacity, and fair flow by flow gives it 1 (less its
 * trim of 1e-12), not 2. */
Test(netsim_check, a_pair_over_capacity_is_counted)
{
    add_single(1, 0, 1, 0, 1, 4);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    netsim_result_t r;
    netsim_result_init(&r);
    uint32_t flow_pair[1] = {0};
    size_t apos[1] = {0}, active[1] = {0};
    double fk[1] = {4}, aw[1] = {0}, ar[1] = {2};
    moving_t chk_run[1];
    sim_t s = {.wl = &wl, .fab = &fab, .res = &r, .alloc = coflow_allocator_find("fair"),
               .active = active, .n_active = 1, .flow_pair = flow_pair, .apos = apos,
               .fk = fk, .aw = aw, .ar = ar, .chk_run = chk_run, .chk_out = scratch_out,
               .chk_in = scratch_in};
    cr_assert_eq(coflow_state_init(&s.st, &wl, &fab), WEFT_OK);
    coflow_state_release(&s.st, 0, 0);
    sim_check_pairs(&s);
    coflow_state_destroy(&s.st);
    cr_assert_eq(r.n_violations, 3, "%zu: %s", r.n_violations, r.first_violation);
    cr_assert(strstr(r.first_violation, "t=0 s: port 0 sends 2 bytes/s, above its capacity 1"),
              "%s", r.first_violation);
}

/* srf by pairs against srf over every open flow: a rate, as above; and 4
 * bytes 0->1 beside 2 bytes 0->2 (the shorter first: 0->1 waits until 2
 * s), with 0->1 rated in the recomputation too, is a flow more there. */
Test(netsim_check, srf_by_pairs_unlike_srf_over_every_flow_is_counted)
{
    expect_rescaled_by_billionths("srf", "t=0 s: srf by pairs gives flow 0 1 bytes/s, the srf "
                                         "allocator over every open flow 0.99999999500000003");
    ref_scale = 1;
    add_single(2, 0, 1, 0, 2, 2);
    rate_extra = true;
    expect_rescaled("srf", 1, "t=0 s: srf by pairs rates 1 flows, the srf allocator over every "
                              "open flow 2");
}

/* The end of a run of wl for sim_check_end, made by hand: every coflow c
 * DONE, released at rel[c] and done at fin[c]; job j done at job_fin[j]
 * (job_left[j] coflows left), `moved` bytes moved. coflow_state_destroy
 * frees it. */
static void end_of_run(sim_t *s, netsim_result_t *r, const double *rel, const double *fin,
                       double *job_fin, size_t *job_left, double moved)
{
    cr_assert_leq(fab.n_ports, 4);
    netsim_result_init(r);
    r->job_finish_s = job_fin; /* not freed: never netsim_result_destroy'd */
    *s = (sim_t){.wl = &wl, .fab = &fab, .res = r, .job_left = job_left, .moved = moved,
                 .chk_out = scratch_out, .chk_in = scratch_in};
    cr_assert_eq(coflow_state_init(&s->st, &wl, &fab), WEFT_OK);
    for (size_t c = 0; c < wl.n_coflows; c++) {
        s->st.status[c] = COFLOW_DONE;
        s->st.n_open[c] = 0;
        s->st.release_s[c] = rel[c];
        s->st.finish_s[c] = fin[c];
    }
}

/* build_chain's run (a released at 3 s and done at 6, b released at 7.5
 * and done at 9.5, the job done at 10, its bound 9; 5 bytes), right, then
 * wrong in one place at a time, as a broken emulator would leave it: a
 * coflow left open or not done (its job then unfinished, its finish never
 * written), a parent not done under a done child, or a count or time off
 * by a little more, or a little less, than the check's slack: CONSERVE_TOL
 * (1e-6) of the bytes, STAMP_TOL (4 units in the last place of 1) of a
 * release or a job's finish, TIME_TOL (1e-9) of a CCT's isolation time and
 * of a JCT's bound. */
typedef struct {
    double moved, rel_b, fin_b, job_fin, bound; /* 0: as run */
    bool a_active, b_active;                    /* not DONE, the job unfinished */
    size_t b_open;
    size_t violations;
    const char *first;
} end_case_t;

Test(netsim_check, the_end_of_a_run_wrong_in_one_place_is_counted)
{
    build_chain();
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    const end_case_t cases[] = {
        {.violations = 0},
        {.moved = 5 + 1e-5, .violations = 1, .first = "bytes not conserved"},
        {.moved = 5 + 2e-6, .violations = 0},
        /* short of the flows' bytes as well as past them (5e-6 allowed) */
        {.moved = 5 - 1e-5, .violations = 1,
         .first = "bytes not conserved: rates over time moved 4.99999"},
        {.moved = 5 - 2e-6, .violations = 0},
        {.b_open = 1, .violations = 1, .first = "coflow 11 of job 5 never finished (1 flows open)"},
        {.b_active = true, .violations = 1,
         .first = "coflow 11 of job 5 never finished (0 flows open)"},
        /* and b then released before its inputs were ready, never */
        {.a_active = true, .violations = 2,
         .first = "coflow 10 of job 5 never finished (0 flows open)"},
        {.rel_b = 7.5 - 8 * 0x1p-50, .violations = 1, /* 8 units in the last place */
         .first = "coflow 11 of job 5 released at 7.4999999999999929 s, before its inputs were "
                  "ready (7.5 s)"},
        {.rel_b = 7.5 - 7 * 0x1p-50, .violations = 0},
        {.rel_b = 7.5 + 8 * 0x1p-50, .violations = 1, .first = "after its inputs were ready"},
        /* b on the job's heaviest path: its JCT too */
        {.fin_b = 9.5 - 1e-8, .job_fin = 10 - 1e-8, .violations = 2,
         .first = "coflow 11 of job 5: CCT 1.99999999 s is below its isolation time 2 s"},
        {.fin_b = 9.5 - 1e-9, .job_fin = 10 - 1e-9, .violations = 0},
        {.job_fin = 10 + 6 * 0x1p-49, .violations = 1,
         .first = "job 5 finished at 10.000000000000011 s, not when its last coflow did plus "
                  "its final compute time (9.5 + 0.5 s)"},
        {.job_fin = 10 + 5 * 0x1p-49, .violations = 0},
        {.bound = 9 * (1 + 3e-9), .violations = 1,
         .first = "job 5 (arrival 1 s): JCT 9 s is below its lower bound 9.000000027 s"},
        {.bound = 9 * (1 + 5e-10), .violations = 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const end_case_t *ec = &cases[i];
        const double rel[2] = {3, ec->rel_b ? ec->rel_b : 7.5};
        const double fin[2] = {6, ec->fin_b ? ec->fin_b : 9.5};
        double job_fin = ec->job_fin ? ec->job_fin : 10;
        size_t job_left = ec->a_active || ec->b_active;
        if (job_left)
            job_fin = 0;
        wl.jobs[0].lower_bound_s = ec->bound ? ec->bound : 9;
        netsim_result_t r;
        sim_t s;
        end_of_run(&s, &r, rel, fin, &job_fin, &job_left, ec->moved ? ec->moved : 5);
        s.st.n_open[1] = ec->b_open;
        if (ec->a_active)
            s.st.status[0] = COFLOW_ACTIVE;
        if (ec->b_active)
            s.st.status[1] = COFLOW_ACTIVE;
        sim_check_end(&s);
        coflow_state_destroy(&s.st);
        cr_assert_eq(r.n_violations, ec->violations, "case %zu: %zu: %s", i, r.n_violations,
                     r.first_violation);
        if (ec->first)
            cr_assert(strstr(r.first_violation, ec->first), "case %zu: %s", i,
                      r.first_violation);
    }
}

/* A coflow of 1e-3 bytes at 1 byte/s released at 1e5 s, where a flow may
 * finish 8 ulps of the clock early (FINISH_TIME_TOL, 1.8e-10 s) and the
 * checks allow 4 ulps more (8.9e-11 s): done 5e-10 s early its CCT and its
 * JCT are named, 1e-10 s early neither. */
Test(netsim_check, a_coflow_a_few_clock_steps_short_late_in_a_trace_is_counted)
{
    add_single(1, 1e5, 1, 0, 1, 1e-3);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    const double early[2] = {5e-10, 1e-10};
    const size_t violations[2] = {2, 0};
    for (int i = 0; i < 2; i++) {
        double rel = 1e5, fin = 1e5 + 1e-3 - early[i], job_fin = fin;
        size_t job_left = 0;
        netsim_result_t r;
        sim_t s;
        end_of_run(&s, &r, &rel, &fin, &job_fin, &job_left, 1e-3);
        sim_check_end(&s);
        coflow_state_destroy(&s.st);
        cr_assert_eq(r.n_violations, violations[i], "%zu: %s", r.n_violations,
                     r.first_violation);
        if (i == 0)
            cr_assert(strstr(r.first_violation, "coflow 1 of job 1: CCT 0.0009999995"), "%s",
                      r.first_violation);
    }
}

/* A job of 100 bytes at 1 byte/s arriving at 1e15 s finishes exactly at
 * its bound (1e15 + 100 is a double), but the clock there steps by 0.22 s,
 * more than JCT_RES_SHARE (1e-3) of 100 s: its JCT is not exact, and
 * --check says so. Of 1000 bytes, 2.2e-4 of its JCT, it passes. */
Test(netsim_check, a_jct_the_clock_cannot_resolve_is_counted)
{
    add_single(1, 1e15, 1, 0, 1, 100);
    expect_violations(&t_index, &t_greedy, 1,
                      "job 1 (arrival 1e+15 s): the clock steps by up to 0.222 s there, too coarse "
                      "for its JCT 100 s (lower bound 100 s)");
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, 4);
    add_single(1, 1e15, 1, 0, 1, 1000);
    expect_violations(&t_index, &t_greedy, 0, NULL);
}

/* -------------------------------------------------------------- writers */

TestSuite(netsim_report, .init = setup, .fini = teardown, .timeout = 10);

static char *write_to_string(int which)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    weft_err_t err = which == 0   ? netsim_write_coflows_csv(&wl, &res, f)
                     : which == 1 ? netsim_write_jobs_csv(&wl, &res, f)
                     : which == 3 ? netsim_write_flows_csv(&wl, &res, f)
                                  : netsim_write_summary_json(&res, "t-index", "t-greedy", NULL, f);
    cr_assert_eq(err, WEFT_OK, "%s", weft_last_error());
    fclose(f);
    return buf;
}

/* The summary's distribution `name` is want: avg, p50, p95, p99, max. */
static void assert_dist(json_t *root, const char *name, const double *want)
{
    static const char *keys[5] = {"avg", "p50", "p95", "p99", "max"};
    json_t *d = json_object_get(root, name);
    for (int k = 0; k < 5; k++) {
        json_t *v = json_object_get(d, keys[k]);
        cr_assert(json_is_number(v), "%s.%s", name, keys[k]);
        cr_assert_float_eq(json_number_value(v), want[k], 1e-12, "%s.%s: %.17g", name, keys[k],
                           json_number_value(v));
    }
}

Test(netsim_report, csv_of_the_chain)
{
    build_chain();
    run(&t_index, &t_greedy);
    char *c = write_to_string(0);
    cr_assert_str_eq(c, "job,coflow,release_s,finish_s,cct_s,iso_s\n"
                        "5,10,3,6,3,3\n"
                        "5,11,7.5,9.5,2,2\n");
    free(c);
    char *j = write_to_string(1);
    cr_assert_str_eq(j, "job,arrival_s,finish_s,jct_s,weight,lower_bound_s\n"
                        "5,1,10,9,2,9\n");
    free(j);
    /* each flow numbered in its coflow, its time from its coflow's release
       (not its job's arrival) */
    char *f = write_to_string(3);
    cr_assert_str_eq(f, "job,coflow,flow,src,dst,bytes,release_s,finish_s,fct_s\n"
                        "5,10,0,0,1,3,3,6,3\n"
                        "5,11,0,1,0,2,7.5,9.5,2\n");
    free(f);
    /* a number not finite (no run that succeeded gives one) is an empty
       cell, not a "nan" the readers of CSV would take for a word */
    res.job_finish_s[0] = NAN;
    j = write_to_string(1);
    cr_assert_str_eq(j, "job,arrival_s,finish_s,jct_s,weight,lower_bound_s\n"
                        "5,1,,,2,9\n");
    free(j);
}

/* Strings in the summary come back as written whatever their bytes (a
 * workload's name is a file name): a quote, a backslash, a tab and a
 * newline escaped, a byte that is not UTF-8 as the code point of its
 * number (0xff: U+00FF, in UTF-8 c3 bf). */
Test(netsim_report, summary_json_strings_come_back_as_written)
{
    add_single(1, 0, 1, 0, 1, 1);
    run(&t_index, &t_greedy);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    /* 0x1f, the last control JSON must escape; 0xC0 and 0xC1 lead only
       overlong forms, so they are bytes (\u00XX), not UTF-8 */
    netsim_run_info_t info = {.workload = "a\"b\\c\td\ne\377\037\300\200\301\277.weft"};
    cr_assert_eq(netsim_write_summary_json(&res, "p\\q", "r\"s", &info, f), WEFT_OK);
    fclose(f);
    json_error_t jerr;
    json_t *root = json_loads(buf, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, buf);
    cr_assert_str_eq(json_string_value(json_object_get(root, "workload")),
                     "a\"b\\c\td\ne\303\277\037\303\200\302\200\303\201\302\277.weft");
    cr_assert_str_eq(json_string_value(json_object_get(root, "policy")), "p\\q");
    cr_assert_str_eq(json_string_value(json_object_get(root, "allocator")), "r\"s");
    json_decref(root);
    free(buf);
}

/* A program embedding weft that set a locale with a decimal comma still
 * gets "7.5" in the CSV and JSON its runs write (printf follows
 * LC_NUMERIC: "7,5" split a CSV cell and broke the JSON), and its own
 * locale back afterwards. */
Test(netsim_report, numbers_alike_in_every_locale)
{
    build_chain();
    run(&t_index, &t_greedy);
    use_comma_locale();
    char *c = write_to_string(0), *js = write_to_string(2);
    char probe[8];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "the program's locale was not given back");
    setlocale(LC_ALL, "C");
    cr_assert(strstr(c, "\n5,11,7.5,9.5,2,2\n"), "%s", c);
    json_error_t jerr;
    json_t *doc = json_loads(js, 0, &jerr);
    cr_assert_not_null(doc, "%s: %s", jerr.text, js);
    double avg = json_number_value(json_object_get(json_object_get(doc, "cct_s"), "avg"));
    cr_assert_float_eq(avg, 2.5, 1e-12, "%s", js);
    json_decref(doc);
    free(c);
    free(js);
}

/* One coflow whose two flows share port 0 (index + greedy: 0->1 done at
 * 3, then 0->2 at 6): the flows CSV gives each its finish and completion
 * time; a run that did not record its flows cannot write one. */
/* The coflow's row too: its two flows send 6 bytes from port 0 at 1 byte/s,
 * so its isolation time is 6 s (not a flow's 3 s, nor 3 s a flow summed). */
Test(netsim_report, flows_csv_of_one_coflow_sharing_a_port)
{
    add_coflow_sharing_port0(7, 1);
    run(&t_index, &t_greedy);
    char *c = write_to_string(3);
    cr_assert_str_eq(c, "job,coflow,flow,src,dst,bytes,release_s,finish_s,fct_s\n"
                        "7,3,0,0,1,3,1,4,3\n"
                        "7,3,1,0,2,3,1,7,6\n");
    free(c);
    c = write_to_string(0);
    cr_assert_str_eq(c, "job,coflow,release_s,finish_s,cct_s,iso_s\n"
                        "7,3,1,7,6,6\n");
    free(c);
    free(res.flow_finish_s);
    res.flow_finish_s = NULL;
    FILE *f = fopen("/dev/null", "w");
    cr_assert_eq(netsim_write_flows_csv(&wl, &res, f), WEFT_EINVAL);
    fclose(f);
    cr_assert(strstr(weft_last_error(), "record_flows"), "%s", weft_last_error());
}

Test(netsim_report, summary_json_parses)
{
    build_chain();
    run(&t_index, &t_greedy);
    char *s = write_to_string(2);
    json_error_t jerr;
    json_t *root = json_loads(s, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, s);
    cr_assert_str_eq(json_string_value(json_object_get(root, "policy")), "t-index");
    cr_assert_str_eq(json_string_value(json_object_get(root, "allocator")), "t-greedy");
    cr_assert_eq(json_integer_value(json_object_get(root, "n_jobs")), 1);
    cr_assert_eq(json_integer_value(json_object_get(root, "n_coflows")), 2);
    cr_assert_float_eq(json_number_value(json_object_get(root, "avg_weighted_jct_s")), 18, 1e-12);
    json_t *jct = json_object_get(root, "jct_s");
    cr_assert_float_eq(json_number_value(json_object_get(jct, "p99")), 9, 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(root, "slowdown_vs_bound")), 1, 1e-12);
    cr_assert_eq(json_integer_value(json_object_get(root, "n_violations")), 0);
    /* no LP bound computed: null, not a 0 that reads as a bound */
    cr_assert(json_is_null(json_object_get(root, "lp_bound_s")), "%s", s);
    cr_assert(json_is_null(json_object_get(root, "slowdown_vs_lp_bound")), "%s", s);
    json_decref(root);
    free(s);
    res.scaled_lp_bound = ldexp(12, -res.weight_exp); /* a bound of 12, as dag_lp_bound
                                                         gives it: over the scaled weights */
    s = write_to_string(2);
    root = json_loads(s, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, s);
    cr_assert_float_eq(json_number_value(json_object_get(root, "lp_bound_s")), 12, 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(root, "slowdown_vs_lp_bound")), 1.5,
                       1e-12);
    json_decref(root);
    free(s);
}

/* Nearest-rank percentiles: 100 one-flow jobs of 100, 99, ..., 1 bytes, each
 * on its own pair of ports (200 ports), so the CCTs are exactly 100..1. */
Test(netsim_report, percentiles_nearest_rank)
{
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_workload_init(&wl, 200);
    cr_assert_eq(coflow_fabric_init(&fab, 200, 1.0), WEFT_OK);
    for (uint32_t k = 0; k < 100; k++)
        add_single(k, 0, 1, k, 100 + k, 100 - k); /* CCTs 100, 99, ..., 1 */
    run(&t_index, &t_greedy);
    assert_near(res.cct.p50, 50);
    assert_near(res.cct.p95, 95);
    assert_near(res.cct.p99, 99);
    assert_near(res.cct.max, 100);
    assert_near(res.cct.avg, 50.5);
    /* the summary gives each where it says, for the JCTs (here the CCTs) too */
    char *s = write_to_string(2);
    json_error_t jerr;
    json_t *root = json_loads(s, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, s);
    assert_dist(root, "cct_s", (const double[5]){50.5, 50, 95, 99, 100});
    assert_dist(root, "jct_s", (const double[5]){50.5, 50, 95, 99, 100});
    json_decref(root);
    free(s);
}

/* Every figure of the summary, worked out by hand: job 1 (weight 3, 2
 * bytes 0->1) and job 2 (weight 1, 4 bytes 0->3) at 0 s share port 0
 * (index order: 0..2 s and 2..6 s), job 3 (weight 2, 1 byte 2->3) at 10 s
 * runs 10..11 s. JCTs (= CCTs, one coflow each) 2, 6 and 1: sorted 1, 2,
 * 6, average 3, p50 the 2nd (rank ceil(1.5)), p95 and p99 the 3rd; average
 * weighted (3*2 + 6 + 2*1) / 3 = 14/3 over bounds (3*2 + 4 + 2*1) / 3 = 4,
 * slowdown 7/6; 7 bytes over 4 ports at 1 byte/s for 11 s; decisions at 0,
 * 2 and 10 s (at 6 s nothing is left), events at 2, 6, 10 and 11 s; one
 * flow rated at each decision, two open at 0 s. */
Test(netsim_report, summary_json_gives_every_figure)
{
    add_single(1, 0, 3, 0, 1, 2);
    add_single(2, 0, 1, 0, 3, 4);
    add_single(3, 10, 2, 2, 3, 1);
    run(&t_index, &t_greedy);
    char *s = write_to_string(2);
    json_error_t jerr;
    json_t *root = json_loads(s, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, s);
    static const struct {
        const char *key;
        double want;
    } fields[] = {
        {"n_jobs", 3}, {"n_coflows", 3}, {"n_flows", 3}, {"total_bytes", 7},
        {"avg_weighted_jct_s", 14.0 / 3}, {"weighted_bound_s", 4},
        {"slowdown_vs_bound", 7.0 / 6}, {"makespan_s", 11}, {"port_utilization", 7.0 / 44},
        {"n_decisions", 3}, {"n_events", 4}, {"max_active_flows", 2}, {"n_rated_total", 3},
        {"n_paced_total", 0}, {"n_violations", 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        json_t *v = json_object_get(root, fields[i].key);
        cr_assert(json_is_number(v), "%s: %s", fields[i].key, s);
        assert_near(json_number_value(v), fields[i].want);
    }
    assert_dist(root, "cct_s", (const double[5]){3, 2, 6, 6, 6});
    assert_dist(root, "jct_s", (const double[5]){3, 2, 6, 6, 6});
    cr_assert(json_is_true(json_object_get(root, "checked")), "%s", s);
    json_decref(root);
    free(s);
}

/* ----------------------------------------------------------- port rates */

typedef struct {
    char text[24];
    double bytes_per_s; /* 0: must be refused */
} rate_case_t;

ParameterizedTestParameters(netsim_rate, parse)
{
    static rate_case_t cases[] = {
        {"1Gbps", 1e9 / 8},       {"10Gbps", 10e9 / 8},    {"100Mbps", 100e6 / 8},
        {"1Gibps", 1073741824.0 / 8}, {"1gbps", 1e9 / 8},  {"2.5Kbps", 2500.0 / 8},
        {"125000000", 125e6},     {"1e6", 1e6},            {"125MB/s", 125e6},
        {"1MiB/s", 1048576},      {"8bps", 1},             {"1Tbps", 1e12 / 8},
        {"40 Gbps", 40e9 / 8},    {"1GBps", 1e9},
        /* bits a second written out: b/s and bit/s are bps */
        {"8b/s", 1},              {"16bit/s", 2},          {"1Kib/s", 1024.0 / 8},
        {"1Mbit/s", 1e6 / 8},
        {"", 0}, {"fast", 0}, {"1Gbit", 0}, {"-1Gbps", 0}, {"0", 0}, {"1Xbps", 0},
        {"inf", 0}, {"nan", 0}, {"G", 0}, {"1bps", 0.125}, {"0.5bps", 0}, {"1e-300", 0},
    };
    return cr_make_param_array(rate_case_t, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(rate_case_t *tc, netsim_rate, parse)
{
    double r = -1;
    weft_err_t err = netsim_parse_rate(tc->text, &r);
    if (tc->bytes_per_s == 0) {
        cr_assert_eq(err, WEFT_EINVAL, "'%s' accepted as %g", tc->text, r);
        cr_assert(strlen(weft_last_error()) > 0);
    } else {
        cr_assert_eq(err, WEFT_OK, "'%s': %s", tc->text, weft_last_error());
        cr_assert_float_eq(r, tc->bytes_per_s, 1e-9 * tc->bytes_per_s, "'%s': %.17g", tc->text,
                           r);
    }
}

/* Sizes (--bin-length): the rates' prefixes on B; a decimal prefix counts
 * in 1024s where binary (under --varys, as the trace's MB), one with 'i'
 * always. */
typedef struct {
    char text[16];
    bool binary;
    double bytes; /* 0: must be refused */
} size_case_t;

ParameterizedTestParameters(netsim_size, parse)
{
    static size_case_t cases[] = {
        {"5MB", false, 5e6},          {"5MB", true, 5242880},       {"5MiB", false, 5242880},
        {"5MiB", true, 5242880},      {"1kB", false, 1000},         {"1KB", true, 1024},
        {"2.5GB", false, 2.5e9},      {"1TiB", false, 1099511627776.0},
        {"1TB", true, 1099511627776.0}, {"300", true, 300},         {"300 B", false, 300},
        {"1B", true, 1},              {"0.5", false, 0.5},
        {"", false, 0}, {"5M", false, 0}, {"5Mb", false, 0}, {"5MB/s", false, 0},
        {"MB", false, 0}, {"B", true, 0}, {"0", false, 0}, {"-1KB", false, 0},
        {"inf", false, 0}, {"nan", false, 0}, {"1e400", false, 0}, {"5XB", false, 0},
    };
    return cr_make_param_array(size_case_t, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(size_case_t *tc, netsim_size, parse)
{
    double b = -1;
    weft_err_t err = netsim_parse_size(tc->text, tc->binary, &b);
    if (tc->bytes == 0) {
        cr_assert_eq(err, WEFT_EINVAL, "'%s' accepted as %g", tc->text, b);
        cr_assert(strstr(weft_last_error(), "size '"), "%s", weft_last_error());
        cr_assert_eq(b, -1, "'%s': set %g though refused", tc->text, b);
    } else {
        cr_assert_eq(err, WEFT_OK, "'%s': %s", tc->text, weft_last_error());
        cr_assert(b == tc->bytes, "'%s'%s: %.17g, expected %.17g", tc->text,
                  tc->binary ? " (binary)" : "", b, tc->bytes);
    }
}

/* A number past the doubles is named as one, not as no number at all
 * ("expected a number" for '1e400'); one too small for them is under 1
 * bit/s, as 1e-300 is. */
Test(netsim_rate, numbers_past_the_doubles_named)
{
    double r;
    cr_assert_eq(netsim_parse_rate("1e400", &r), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "'1e400': the number is too large for a double"), "%s",
              weft_last_error());
    cr_assert_eq(netsim_parse_rate("1e400Gbps", &r), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "too large for a double"), "%s", weft_last_error());
    cr_assert_eq(netsim_parse_rate("1e-400Gbps", &r), WEFT_EINVAL);
    cr_assert(!strstr(weft_last_error(), "expected a number") &&
                  strstr(weft_last_error(), "'1e-400Gbps' is "),
              "%s", weft_last_error());
    cr_assert_eq(netsim_parse_rate("4e-320Tbps", &r), WEFT_EINVAL); /* a subnormal */
    cr_assert(strstr(weft_last_error(), "expected at least 1 bit/s"), "%s", weft_last_error());
}

/* ------------------------------------------------------- srf by pairs */

/*
 * netsim decides srf over the heads of the (sender, receiver) pairs
 * (coflow_srf_pairs_t) unless eager_pacing asks for the srf allocator over
 * every open flow. Shuffles with many ties (sizes from {1, 2, 3} x 2^20
 * bytes, several flows per pair, coflows sharing pairs), arrivals that
 * overlap, ports of 1 or 2 bytes/s each way (so some heads get only part of
 * a port), with and without a tick: --check (which recomputes every
 * decision over every open flow) finds nothing, and both ways give the same
 * finish times.
 */
Test(netsim_srf, pairs_match_every_open_flow, .timeout = 60)
{
    const coflow_ordering_t *srf = coflow_ordering_find("srf");
    cr_assert(srf && coflow_allocator_find("srf")->per_pair_srf);
    for (uint64_t seed = 1; seed <= 6; seed++) {
        uint64_t rng = seed * 104729;
        size_t ports = 12 + seed * 3;
        coflow_workload_t w;
        coflow_fabric_t fb;
        coflow_workload_init(&w, ports);
        cr_assert_eq(coflow_fabric_init(&fb, ports, 1.0), WEFT_OK);
        for (size_t p = 0; p < ports; p++) {
            fb.cap_out[p] = 1.0 + (double)(weft_splitmix64(&rng) % 2);
            fb.cap_in[p] = 1.0 + (double)(weft_splitmix64(&rng) % 2);
        }
        for (size_t j = 0; j < 25; j++) {
            cr_assert_eq(coflow_workload_add_job(&w, (int64_t)j,
                                                 (double)(weft_splitmix64(&rng) % 40), 1, 0),
                         WEFT_OK);
            cr_assert_eq(coflow_workload_add_coflow(&w, 0, 0), WEFT_OK);
            size_t ns = 1 + weft_splitmix64(&rng) % 6, nr = 1 + weft_splitmix64(&rng) % 6;
            uint32_t s0 = (uint32_t)(weft_splitmix64(&rng) % ports);
            uint32_t r0 = (uint32_t)(weft_splitmix64(&rng) % ports);
            for (size_t r = 0; r < nr; r++) {
                double bytes = (double)(1 + weft_splitmix64(&rng) % 3) * 1048576;
                for (size_t s = 0; s < ns; s++)
                    for (int twice = 0; twice < 1 + (int)(weft_splitmix64(&rng) % 4 == 0);
                         twice++)
                        cr_assert_eq(coflow_workload_add_flow(
                                         &w, (uint32_t)((s0 + s) % ports),
                                         (uint32_t)((r0 + r) % ports), bytes / (double)ns),
                                     WEFT_OK);
            }
            cr_assert_eq(coflow_workload_finish_job(&w), WEFT_OK, "%s", weft_last_error());
        }
        cr_assert_eq(dag_analyze(&w, &fb), WEFT_OK, "%s", weft_last_error());
        for (int tick = 0; tick < 2; tick++) {
            netsim_result_t fast, ref;
            netsim_result_init(&fast);
            netsim_result_init(&ref);
            netsim_opts_t opts = {.ordering = srf, .check = true, .tick_s = tick ? 1e5 : 0};
            cr_assert_eq(netsim_run(&w, &fb, &opts, &fast), WEFT_OK, "%s", weft_last_error());
            opts.eager_pacing = true;
            cr_assert_eq(netsim_run(&w, &fb, &opts, &ref), WEFT_OK, "%s", weft_last_error());
            cr_assert_eq(fast.n_violations + ref.n_violations, 0, "seed %llu: %s%s",
                         (unsigned long long)seed, fast.first_violation, ref.first_violation);
            cr_assert_eq(fast.n_decisions, ref.n_decisions);
            for (size_t c = 0; c < w.n_coflows; c++)
                cr_assert(fabs(fast.coflow_finish_s[c] - ref.coflow_finish_s[c]) <=
                              1e-9 * (1 + ref.coflow_finish_s[c]),
                          "seed %llu tick %d: coflow %zu finishes at %.17g by pairs, at "
                          "%.17g over every open flow", (unsigned long long)seed, tick, c,
                          fast.coflow_finish_s[c], ref.coflow_finish_s[c]);
            netsim_result_destroy(&fast);
            netsim_result_destroy(&ref);
        }
        coflow_workload_destroy(&w);
        coflow_fabric_destroy(&fb);
    }
}

/* ------------------------------------------------------------------ CLI */

/* The contents of a file, NULL if it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int ch;
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, m);
    fclose(m);
    fclose(f);
    return buf;
}

/* `weft sim` starts the slow kinds of run first (fair and srf, then MADD,
 * then greedy) when there are more policies than cores, but the table
 * lists them as given, and each policy's files are what it gives alone. */
Test(netsim_cli, table_in_the_order_given_whatever_starts_first, .timeout = 120)
{
    const char *bin = getenv("WEFT_BIN");
    if (!bin) {
        fprintf(stderr, "note: WEFT_BIN not set (run through ctest): CLI not checked\n");
        return;
    }
    char dir[] = "/tmp/weft-test-cli-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[4096], path[512];
    snprintf(cmd, sizeof cmd,
             "%s gen --shape alibaba --jobs 6 --ports 8 --load 0.7 --seed 5 -o %s/w.weft "
             ">/dev/null 2>&1", bin, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    static const char *const given[] = {"fifo", "sincronia", "sebf", "srf", "fair", "aalo"};
    size_t n = sizeof given / sizeof *given;
    int len = snprintf(cmd, sizeof cmd, "%s sim %s/w.weft --out %s/all", bin, dir, dir);
    for (size_t i = 0; i < n; i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --policy %s", given[i]);
    snprintf(cmd + len, sizeof cmd - (size_t)len, " >%s/table.txt 2>&1", dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/table.txt", dir);
    char *table = slurp(path);
    cr_assert_not_null(table);
    /* the rows: one line per policy after the header, its name first */
    const char *at = strstr(table, "\npolicy ");
    cr_assert_not_null(at, "no table in: %s", table);
    at = strchr(at + 1, '\n');
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(at, "%s", table);
        at++;
        size_t w = strcspn(at, " ");
        cr_assert(w == strlen(given[i]) && !strncmp(at, given[i], w),
                  "row %zu is not %s:\n%s", i, given[i], table);
        at = strchr(at, '\n');
    }
    free(table);
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "%s sim %s/w.weft --out %s/one --policy %s >/dev/null 2>&1",
                 bin, dir, dir, given[i]);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        static const char *const kinds[] = {"coflows.csv", "jobs.csv"};
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/all/%s-%s", dir, given[i], kinds[k]);
            char *all = slurp(path);
            snprintf(path, sizeof path, "%s/one/%s-%s", dir, given[i], kinds[k]);
            char *one = slurp(path);
            cr_assert(all && one, "%s: missing", path);
            cr_assert_str_eq(all, one, "%s differs when run beside the others", path);
            free(all);
            free(one);
        }
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The rest runs `weft` with its output in files of a fresh directory. */
static void cli_setup(void)
{
    cli_open("sim");
    if (cli_bin) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "%s gen --jobs 4 --ports 8 --seed 3 -o %s/small.weft 2>/dev/null",
                 cli_bin, cli_dir);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
    }
}

/* NAME: one job of one coflow of one flow on 2 ports, FLOW its line
 * ("SRC DST BYTES"). */
static void one_flow_workload(const char *name, const char *flow)
{
    char text[256];
    snprintf(text, sizeof text,
             "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 0 0 1 -\n%s\nend 1\n", flow);
    cli_write(name, text);
}

#define ERR_HAS(s) cr_assert(strstr(cli_file("err"), (s)), "no '%s' in: %s", (s), cli_file("err"))

TestSuite(sim_cli, .init = cli_setup, .fini = cli_teardown, .timeout = 60);

/* A tick too short to end (1e-12 s, 1e-300 s ran forever), an empty
 * allocator and eval's --threads 0 are refused naming the option or the
 * policy. */
Test(sim_cli, bad_tick_and_empty_allocator_refused)
{
    NEED_BIN();
    static const char *const ticks[] = {"1e-12", "1e-300", "-1", "nan"};
    for (size_t i = 0; i < sizeof ticks / sizeof *ticks; i++) {
        cr_assert_eq(cli("sim %s/small.weft --policy sebf --tick %s", cli_dir, ticks[i]), 2,
                     "--tick %s", ticks[i]);
        ERR_HAS("--tick");
        ERR_HAS("1e-06");
    }
    /* the smallest tick is accepted: on a 1 ms job (125,000 bytes at 1
       Gbit/s), so its thousand ticks stay cheap under the sanitizers */
    one_flow_workload("tiny.weft", "0 1 125000");
    cr_assert_eq(cli("sim %s/tiny.weft --policy sebf --tick 1e-6", cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy sebf:", cli_dir), 2);
    ERR_HAS("'sebf:'");
    ERR_HAS("no allocator");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf: --policy fifo", cli_dir), 2);
    ERR_HAS("'sebf:'");
    ERR_HAS("no allocator");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --threads 0", cli_dir), 2);
    ERR_HAS("--threads '0'");
}

/* A bad option is named as typed, by every command that parses its own:
 * an unknown short one inside a cluster (-zq) was reported as the
 * argument before it ("unknown option 'sebf'", "'3'", or the command's own
 * name). */
Test(sim_cli, a_bad_option_is_named_as_typed)
{
    NEED_BIN();
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"sim --policy sebf -zq %s/small.weft", "weft sim: unknown option '-z'\n"},
        {"sim %s/small.weft --policy sebf -qz", "weft sim: unknown option '-q'\n"},
        {"inspect %s/small.weft -zq", "weft inspect: unknown option '-z'\n"},
        {"convert -zo %s/small.weft y", "weft convert: unknown option '-z'\n"},
        {"gen --jobs 3 -xh -o %s/g.weft", "weft gen: unknown option '-x'\n"},
        {"eval --policy sebf -zq %s/small.weft", "weft eval: unknown option '-z'\n"},
        {"train --iters 3 -zq %s/small.weft", "weft train: unknown option '-z'\n"},
        {"model -zq %s/m", "weft model: unknown option '-z'\n"},
        {"sim %s/small.weft --check=1", "weft sim: option '--check' takes no value\n"},
        {"sim %s/small.weft --pro", "weft sim: ambiguous option '--pro'\n"},
        {"sim %s/small.weft --bogus=3", "weft sim: unknown option '--bogus'\n"},
        {"sim %s/small.weft --policy", "weft sim: option '--policy' needs a value\n"},
        {"convert %s/small.weft -o", "weft convert: option '-o' needs a value\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(cli(cases[i].args, cli_dir), 2, "%s: %s", cases[i].args, cli_file("err"));
        cr_assert(!strncmp(cli_file("err"), cases[i].want, strlen(cases[i].want)),
                  "%s: %s", cases[i].args, cli_file("err"));
    }
}

/* After a usage error, the synopsis and where the rest is, not the whole
 * --help: its 90 lines scrolled the line saying what was wrong off a
 * terminal. Every command, those of the gateway too. */
Test(sim_cli, a_usage_error_gives_the_synopsis_not_the_whole_help)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --polcy sebf", cli_dir), 2);
    cr_assert_str_eq(cli_file("err"),
                     "weft sim: unknown option '--polcy'\n"
                     "usage: weft sim WORKLOAD --policy P [--policy P2 ...] [options]\n"
                     "(weft sim --help lists every option)\n");
    static const char *const cmds[] = {"convert", "gen",   "inspect", "eval",
                                       "train",   "model", "journal", "serve",
                                       "agent",   "submit", "cancel", "status"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        cr_assert_eq(cli("%s --bogus", cmds[i]), 2, "%s: %s", cmds[i], cli_file("err"));
        const char *err = cli_file("err");
        char want[64];
        snprintf(want, sizeof want, "weft %s: unknown option '--bogus'\nusage: weft %s ",
                 cmds[i], cmds[i]);
        cr_assert(!strncmp(err, want, strlen(want)), "%s: %s", cmds[i], err);
        snprintf(want, sizeof want, "\n(weft %s --help lists every option)\n", cmds[i]);
        size_t n = strlen(err), lines = 0;
        cr_assert(n > strlen(want) && !strcmp(err + n - strlen(want), want), "%s: %s", cmds[i],
                  err);
        for (const char *c = err; *c; c++)
            lines += *c == '\n';
        cr_assert_leq(lines, 6, "%s: %zu lines: %s", cmds[i], lines, err);
    }
}

/* An output named '' is a usage error before anything runs: weft sim
 * used to simulate and then fail (status 1) making a directory named '',
 * weft model to load and describe the model and then fail renaming its
 * .tmp over '', weft submit to fail writing '' (after connecting). So is
 * an empty --alloc, as "sebf:" is (sim ran each ordering's own). */
Test(sim_cli, an_empty_output_name_is_a_usage_error)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out ''", cli_dir), 2);
    ERR_HAS("weft sim: --out '': expected a directory name");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --alloc ''", cli_dir), 2);
    ERR_HAS("weft sim: --alloc '': expected an allocator name");
    cr_assert_eq(cli("model models/weft-policy.msgpack --out ''"), 2);
    ERR_HAS("weft model: --out '': expected a file name");
    cr_assert_str_empty(cli_file("out"), "the model was described first");
    cr_assert_eq(cli("submit %s/small.weft --gateway 127.0.0.1:1 --token t --out ''", cli_dir),
                 2);
    ERR_HAS("weft submit: --out '': expected a file name");
}

/* --policy all runs every ordering of the registry, a table row each in
 * its order, each with its own allocator or --alloc's; a policy also
 * named on its own is then given twice, as is one under two names (weft
 * sim ran 'sebf' and 'sebf:madd' twice). Runs under an allocator blind to
 * the order are one schedule, and a note says which. */
Test(sim_cli, policy_all_runs_every_ordering)
{
    NEED_BIN();
    const coflow_ordering_t *const *ords = coflow_orderings();
    for (int with_alloc = 0; with_alloc < 2; with_alloc++) {
        cr_assert_eq(cli("sim %s/small.weft --policy all%s", cli_dir,
                         with_alloc ? " --alloc greedy" : ""), 0, "%s", cli_file("err"));
        const char *table = strstr(cli_file("out"), "\npolicy ");
        cr_assert_not_null(table, "%s", cli_file("out"));
        const char *line = strchr(table + 1, '\n');
        size_t rows = 0;
        for (; line && line[1]; line = strchr(line + 1, '\n'), rows++) {
            cr_assert_not_null(ords[rows], "more rows than orderings: %s", table);
            char name[64], alloc[64];
            cr_assert_eq(sscanf(line + 1, "%63s %63s", name, alloc), 2, "%s", line + 1);
            cr_assert_str_eq(name, ords[rows]->name, "%s", table);
            cr_assert_str_eq(alloc, with_alloc ? "greedy" : ords[rows]->default_allocator,
                             "%s", table);
        }
        cr_assert_null(ords[rows], "%zu rows: %s", rows, table);
        cr_assert_null(strstr(cli_file("err"), "note"), "%s", cli_file("err"));
    }
    cr_assert_eq(cli("sim %s/small.weft --policy all --policy sebf", cli_dir), 2);
    ERR_HAS("policy 'sebf' given twice");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy sebf:madd", cli_dir), 2);
    ERR_HAS("weft sim: policy 'sebf:madd' given twice (as 'sebf': the same ordering and "
            "allocator)");
    cr_assert_eq(cli("sim %s/small.weft --policy all --policy sebf:fair --policy fifo:srf "
                     "--policy lcf:srf", cli_dir), 0, "%s", cli_file("err"));
    ERR_HAS("weft sim: note: the fair allocator ignores the coflow order, so 'fair' and "
            "'sebf:fair' run the same schedule\n");
    ERR_HAS("weft sim: note: the srf allocator ignores the coflow order, so 'srf', "
            "'fifo:srf' and 'lcf:srf' run the same schedule\n");
    char many[256] = "";
    for (int i = 0; i < 5; i++) /* 5 times 13 orderings: past the 64 a run takes */
        strcat(many, " --policy all");
    cr_assert_eq(cli("sim %s/small.weft%s", cli_dir, many), 2);
    ERR_HAS("at most 64 policies");
    cr_assert_eq(cli("eval %s/small.weft --policy all --policy sebf:madd", cli_dir), 2);
    ERR_HAS("weft eval: policy 'sebf:madd' given twice (as 'sebf': the same ordering and "
            "allocator)");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy sebf:greedy", cli_dir), 0, "%s",
                 cli_file("err")); /* one ordering under two allocators: two runs */
    cr_assert(strstr(cli_file("out"), "\nsebf:greedy "), "%s", cli_file("out"));
    cr_assert_null(strstr(cli_file("err"), "note"), "%s", cli_file("err"));
    cr_assert_eq(cli("eval %s/small.weft --policy fair --policy jsebf:fair --policy sebf",
                     cli_dir), 0, "%s", cli_file("err"));
    ERR_HAS("weft eval: note: the fair allocator ignores the coflow order, so 'fair' and "
            "'jsebf:fair' run the same schedule\n");
}

/* --progress: the share of coflows each run finished on stderr, ending
 * with every run at 100%, in the order given; nothing of it without the
 * option when stderr is not a terminal. weft eval's: a line as each
 * policy starts. */
Test(sim_cli, progress_ends_with_every_run_done)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy fifo:madd --progress", cli_dir),
                 0, "%s", cli_file("err"));
    const char *err = cli_file("err");
    const char *last = strstr(err, "weft sim: progress: sebf 100%, fifo:madd 100%\n");
    cr_assert_not_null(last, "%s", err);
    cr_assert_null(strstr(last + 1, "weft sim: progress:"), "not the last line: %s", err);
    cr_assert_not_null(strstr(cli_file("out"), "\nsebf "), "%s", cli_file("out"));
    cr_assert_eq(cli("sim %s/small.weft --policy sebf", cli_dir), 0, "%s", cli_file("err"));
    cr_assert_null(strstr(cli_file("err"), "progress"), "%s", cli_file("err"));
    /* a period alone, off a terminal, is the log at that period (it was
       nothing) */
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --progress-every 60", cli_dir), 0, "%s",
                 cli_file("err"));
    ERR_HAS("weft sim: progress: sebf 100%\n");
    static const char *const bad_every[] = {"0", "-1", "inf", "nan", "1s", "1e-9", "0.009"};
    for (size_t i = 0; i < sizeof bad_every / sizeof *bad_every; i++) {
        cr_assert_eq(cli("sim %s/small.weft --progress-every %s", cli_dir, bad_every[i]), 2);
        ERR_HAS("--progress-every");
    }
    /* weft eval: a line as each policy starts, every ordering with all */
    cr_assert_eq(cli("eval %s/small.weft --policy all --progress", cli_dir), 0, "%s",
                 cli_file("err"));
    err = cli_file("err");
    const coflow_ordering_t *const *ords = coflow_orderings();
    size_t n_ords = 0;
    while (ords[n_ords])
        n_ords++;
    for (size_t i = 0; i < n_ords; i++) {
        char want[160];
        snprintf(want, sizeof want, "weft eval: progress: policy %zu of %zu, %s, on 1 "
                 "workload\n", i + 1, n_ords, ords[i]->name);
        cr_assert_not_null(strstr(err, want), "no '%s' in: %s", want, err);
    }
    /* and one before the LP bounds, which take up to a second a workload */
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --lp-bound --progress", cli_dir), 0,
                 "%s", cli_file("err"));
    ERR_HAS("weft eval: progress: the LP bounds of 1 workload\n");
}

/* On a terminal the progress is one line rewritten in place and wiped
 * before the table. weft sim shows it every 20 ms here (--progress-every)
 * on 400 jobs, which run for 0.6 s under fair and sebf (5 s under ASan).
 * weft eval changes it as each policy starts. --progress and a pipe are
 * covered above. */
Test(sim_cli, progress_on_a_terminal_is_rewritten_in_place, .timeout = 120)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 400 --ports 16 --load 0.9 --seed 3 -o %s/mid.weft", cli_dir),
                 0, "%s", cli_file("err"));
    char args[512];
    snprintf(args, sizeof args, "sim %s/mid.weft --policy fair --policy sebf "
             "--progress-every 0.02", cli_dir);
    cr_assert_eq(cli_tty(args), 0, "%s", cli_file("tty"));
    const char *out = cli_file("tty");
    size_t n = lines_in_place(out, "weft sim: progress: fair ", false, "policy ");
    cr_assert_geq(n, 1, "no progress line in: %s", out);
    cr_assert_not_null(strstr(out, "\nsebf "), "no table in: %s", out);
    snprintf(args, sizeof args, "eval %s/small.weft --policy sebf --policy fifo", cli_dir);
    cr_assert_eq(cli_tty(args), 0, "%s", cli_file("tty"));
    out = cli_file("tty");
    n = lines_in_place(out, "weft eval: progress: policy ", false, "\r\nall workloads");
    cr_assert_eq(n, 2, "%s", out);
    cr_assert_not_null(strstr(out, "policy 2 of 2, fifo, on 1 workload\r\033[K"), "%s", out);
}

/* --flows writes <policy>-flows.csv beside the other files, a row per
 * flow; without --out it is a usage error. */
Test(sim_cli, flows_csv_with_out_only)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --flows", cli_dir), 2);
    ERR_HAS("--flows");
    ERR_HAS("--out");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy fair --out %s/fl --flows",
                     cli_dir, cli_dir), 0, "%s", cli_file("err"));
    for (int p = 0; p < 2; p++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fl/%s-flows.csv", cli_dir, p ? "fair" : "sebf");
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        char line[512];
        size_t rows = 0;
        cr_assert_not_null(fgets(line, sizeof line, f));
        cr_assert_str_eq(line, "job,coflow,flow,src,dst,bytes,release_s,finish_s,fct_s\n");
        while (fgets(line, sizeof line, f))
            rows++;
        fclose(f);
        coflow_workload_t w;
        char wpath[512];
        snprintf(wpath, sizeof wpath, "%s/small.weft", cli_dir);
        cr_assert_eq(workload_read(&w, wpath, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
        cr_assert_eq(rows, w.n_flows, "%s: %zu rows for %zu flows", path, rows, w.n_flows);
        coflow_workload_destroy(&w);
    }
}

/* The table's columns stay in line when times pass 1e6 s: each is as
 * wide as its widest cell (8e6 s JCTs ran into each other). */
Test(sim_cli, the_table_stays_in_line_for_long_times)
{
    NEED_BIN();
    cli_write("long.weft", "weft-workload 1\nports 1\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 0 1e15\n"
                           "job 2 0 1 0 1\ncoflow 1 0 1 -\n0 0 1e12\nend 2\n");
    cr_assert_eq(cli("sim %s/long.weft --policy fifo --policy sebf", cli_dir), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out"), *head = strstr(out, "policy ");
    cr_assert_not_null(head, "%s", out);
    size_t len = strcspn(head, "\n"), rows = 0;
    for (const char *line = head + len + 1; *line && *line != '\n'; rows++) {
        size_t l = strcspn(line, "\n");
        cr_assert_eq(l, len, "a row of %zu characters under a header of %zu:\n%s", l, len,
                     head);
        line += l + (line[l] == '\n');
    }
    cr_assert_eq(rows, 2, "%s", out);
}

/* The CDF of JCT starts at 0 at the first JCT, so a workload of one job
 * (every WfCommons workflow) draws its rise: its data was one point, which
 * gnuplot's "with steps" draws as nothing (a blank plot; found by an audit
 * of `weft sim`). Past gnuplot's 8 colours the curves are dashed. */
Test(sim_cli, a_one_job_cdf_draws_its_rise)
{
    NEED_BIN();
    cr_assert_eq(cli("sim data/wfcommons/srasearch-chameleon-10a-001.json --policy all "
                     "--out %s/o --plot %s/cdf.svg", cli_dir, cli_dir),
                 0, "%s", cli_file("err"));
    /* the ninth curve has the first one's colour, dashed (they looked alike) */
    cr_assert(strstr(cli_file("o/plot.gp"), "linecolor 1 dashtype 2"), "%s",
              cli_file("o/plot.gp"));
    const char *dat = cli_file("o/fifo-jct-cdf.dat");
    double x0, y0, x1, y1;
    const char *line = strchr(dat, '\n'); /* past the comment */
    cr_assert(line && sscanf(line, "%lf %lf %lf %lf", &x0, &y0, &x1, &y1) == 4, "%s", dat);
    cr_assert(x0 == x1 && y0 == 0 && y1 == 1, "%s", dat);
}

/* Two jobs on one port pair at 100 bytes/s, worked out by hand under fifo
 * (coflows by release; greedy: the first takes the whole port):
 *   job 0 (arrival 0, final compute 1): coflow 1 sends 100 bytes, 0 to 1 s
 *   (CCT 1); coflow 2, released 2 s after it (at 3), waits for job 1's,
 *   released before it, and sends 200 bytes from 5 to 7 s (CCT 4); the job
 *   ends at 8: JCT 8, bound 1 + 2 + 2 + 1 = 6, slowdown 8/6;
 *   job 1 (arrival 0.5): 400 bytes from 1 to 5 s: CCT = JCT = 4.5, bound 4,
 *   slowdown 1.125.
 * The CCTs are 1, 4, 4.5, the JCTs 4.5, 8: a multi-stage job's CCTs are not
 * its JCT. */
static const char hand_cdf_workload[] = "weft-workload 1\nports 2\n"
                                        "job 0 0 1 1 2\ncoflow 1 0 1 -\n0 1 100\n"
                                        "coflow 2 2 1 1\n0 1 200\n"
                                        "job 1 0.5 1 0 1\ncoflow 1 0 1 -\n0 1 400\nend 2\n";

/* cli_dir/NAME, a CDF's data file, is HEAD's line, then 0 at xs[0], then
 * each of the n sorted xs[k] at (k + 1) / n: exactly, as printed to 17
 * digits. */
static void assert_cdf(const char *name, const char *head, const double *xs, size_t n)
{
    const char *dat = cli_file(name);
    size_t hl = strlen(head);
    cr_assert(!strncmp(dat, head, hl) && dat[hl] == '\n', "%s: not '%s' first:\n%s", name,
              head, dat);
    const char *p = dat + hl + 1;
    double x, y;
    int used;
    for (size_t k = 0; k <= n; k++, p += used) {
        cr_assert_eq(sscanf(p, "%lf %lf\n%n", &x, &y, &used), 2, "%s: point %zu missing:\n%s",
                     name, k, dat);
        double want_x = xs[k ? k - 1 : 0], want_y = k ? (double)k / (double)n : 0;
        cr_assert(x == want_x && y == want_y, "%s: point %zu is %.17g %.17g, not %.17g %.17g",
                  name, k, x, y, want_x, want_y);
    }
    cr_assert_str_eq(p, "", "%s: more than %zu points:\n%s", name, n + 1, dat);
}

/* --plot-metric cct draws a point a coflow, slowdown a point a job (its
 * JCT over its lower bound), each into its own data files, which another
 * metric's run into the same --out leaves alone; plot.gp draws what was
 * plotted, its title and axes naming the metric. Of two --plot-metric the
 * last counts (the second was passed over). */
Test(sim_cli, plot_metric_cct_and_slowdown_worked_out_by_hand)
{
    NEED_BIN();
    cli_write("hand.weft", hand_cdf_workload);
    cr_assert_eq(cli("sim %s/hand.weft --policy fifo --port-rate 100 --out %s/o --plot "
                     "%s/o/c.svg --plot-metric slowdown --plot-metric cct", cli_dir, cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    static const double ccts[] = {1, 4, 4.5};
    assert_cdf("o/fifo-cct-cdf.dat", "# cct_s fraction_of_coflows (fifo)", ccts, 3);
    cr_assert(!cli_exists("o/fifo-jct-cdf.dat"), "a JCT CDF under --plot-metric cct");
    const char *gp = cli_file("o/plot.gp");
    cr_assert(strstr(gp, "fifo-cct-cdf.dat\" using") && !strstr(gp, "jct") &&
              strstr(gp, "set title \"CDF of coflow completion time: ") &&
              strstr(gp, "set xlabel 'coflow completion time (s)'\n"
                         "set ylabel 'fraction of coflows'\n"), "%s", gp);
    cr_assert(strstr(cli_file("o/c.svg"), "CDF of coflow completion time"), "no CCT plot");
    char *cct_dat = strdup(cli_file("o/fifo-cct-cdf.dat"));

    cr_assert_eq(cli("sim %s/hand.weft --policy fifo --port-rate 100 --out %s/o --plot "
                     "%s/o/s.png --plot-metric slowdown", cli_dir, cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    static const double slowdowns[] = {4.5 / 4, 8.0 / 6};
    assert_cdf("o/fifo-slowdown-cdf.dat", "# slowdown fraction_of_jobs (fifo)", slowdowns, 2);
    cr_assert_str_eq(cli_file("o/fifo-cct-cdf.dat"), cct_dat, "the CCT CDF was overwritten");
    free(cct_dat);
    gp = cli_file("o/plot.gp");
    cr_assert(strstr(gp, "fifo-slowdown-cdf.dat\" using") && !strstr(gp, "cct-cdf") &&
              strstr(gp, "set title \"CDF of job slowdown: ") &&
              strstr(gp, "set xlabel 'slowdown (JCT / lower bound)'\n"
                         "set ylabel 'fraction of jobs'\n") && strstr(gp, "/o/s.png\""),
              "%s", gp);
    cr_assert(strstr(cli_file("o/s.png"), "PNG"), "no slowdown plot");
    /* the jobs CSV's numbers give the same slowdowns */
    cr_assert(strstr(cli_file("o/fifo-jobs.csv"), "\n0,0,8,8,1,6\n1,0.5,5,4.5,1,4\n"), "%s",
              cli_file("o/fifo-jobs.csv"));
    /* without --out the points go in the script: drawn all the same */
    cr_assert_eq(cli("sim %s/hand.weft --policy fifo --port-rate 100 --plot %s/c2.svg "
                     "--plot-metric cct", cli_dir, cli_dir), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("c2.svg"), "CDF of coflow completion time"), "no CCT plot");
}

/* --plot-metric jct is the plot of before, the default: the same data
 * files, script and drawing, byte for byte, and its points the JCTs. */
Test(sim_cli, plot_metric_jct_is_the_default)
{
    NEED_BIN();
    cli_write("hand.weft", hand_cdf_workload);
    static const char *const kept[] = {"o/fifo-jct-cdf.dat", "o/sebf-jct-cdf.dat", "o/plot.gp",
                                       "o/p.svg"};
    enum { N = sizeof kept / sizeof *kept };
    char *first[N];
    for (int run = 0; run < 2; run++) {
        cr_assert_eq(cli("sim %s/hand.weft --policy fifo --policy sebf --port-rate 100 "
                         "--out %s/o --plot %s/o/p.svg%s", cli_dir, cli_dir, cli_dir,
                         run ? " --plot-metric jct" : ""), 0, "%s", cli_file("err"));
        for (int i = 0; i < N; i++) {
            cr_assert(cli_file(kept[i])[0], "run %d: no %s", run, kept[i]);
            if (!run)
                first[i] = strdup(cli_file(kept[i]));
            else
                cr_assert_str_eq(cli_file(kept[i]), first[i], "%s differs", kept[i]);
        }
    }
    for (int i = 0; i < N; i++)
        free(first[i]);
    static const double jcts[] = {4.5, 8};
    assert_cdf("o/fifo-jct-cdf.dat", "# jct_s fraction_of_jobs (fifo)", jcts, 2);
    const char *gp = cli_file("o/plot.gp");
    cr_assert(strstr(gp, "set title \"CDF of job completion time: ") &&
              strstr(gp, "set xlabel 'job completion time (s)'\n"
                         "set ylabel 'fraction of jobs'\n"), "%s", gp);
}

/* --plot-metric without --plot, or naming no metric, is a usage error
 * naming the options (the metrics), before any run or file. */
Test(sim_cli, plot_metric_usage_errors)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/o --plot-metric cct", cli_dir,
                     cli_dir), 2);
    ERR_HAS("--plot-metric");
    ERR_HAS("give --plot FILE");
    cr_assert(!cli_exists("o"), "--out made");
    static const char *const bad[] = {"CCT", "''", "jct,cct", "fct"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/o --plot %s/p.svg "
                         "--plot-metric %s", cli_dir, cli_dir, cli_dir, bad[i]), 2, "%s",
                     bad[i]);
        ERR_HAS("--plot-metric '");
        ERR_HAS("expected jct, cct or slowdown");
        cr_assert(!cli_exists("o") && !cli_exists("p.svg"), "%s: a file made", bad[i]);
    }
}

/* A job whose lower bound is 0 would have no slowdown to plot (sim would
 * leave it out of the CDF, with a note): none reaches the plot, as the
 * clock guard refuses, before any run, the flow of 0 s that it takes. */
Test(sim_cli, plot_metric_slowdown_meets_no_bound_of_0)
{
    NEED_BIN();
    one_flow_workload("z.weft", "0 1 1e-200");
    cr_assert_eq(cli("sim %s/z.weft --policy fifo --port-rate 1e300 --plot %s/p.svg "
                     "--plot-metric slowdown", cli_dir, cli_dir), 1);
    ERR_HAS("takes 0 s alone");
    cr_assert(!cli_exists("p.svg") && !strstr(cli_file("out"), "policy"), "a run");
}

/* The plot's files in --out are written as the results are, whole or not
 * at all: plot.gp was written with fopen and its failure passed over, so a
 * run that could not leave the script to redraw by hand exited 0. */
Test(sim_cli, a_plot_script_that_cannot_be_written_is_an_error)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 3 --ports 4 --seed 2 -o %s/w.weft", cli_dir), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/o", cli_dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/o/plot.gp", cli_dir);
    cr_assert_eq(mkdir(path, 0777), 0); /* in the script's way */
    cr_assert_eq(cli("sim %s/w.weft --policy fifo --out %s/o --plot %s/c.svg", cli_dir,
                     cli_dir, cli_dir),
                 1, "%s", cli_file("err"));
    ERR_HAS("o/plot.gp");
    /* what came before it is whole: the CDF's data, and the plot drawn */
    const char *dat = cli_file("o/fifo-jct-cdf.dat");
    cr_assert(strstr(dat, "# jct_s fraction_of_jobs (fifo)\n"), "%s", dat);
    cr_assert(strstr(cli_file("c.svg"), "</svg>"), "%s", cli_file("c.svg"));
    cr_assert(!cli_temp_left("o/fifo-jct-cdf.dat"), "temporary file left behind");
}

/* A workload's name is drawn as written: its underscores are no
 * subscripts (gnuplot's markup is off) and a newline, a backslash or a
 * quote in it no longer breaks the script. A drawing that fails leaves the file that was there
 * (gnuplot empties its output as it opens it): a gnuplot that does so and
 * fails stands in for the real one here. */
Test(sim_cli, plot_names_as_written_and_a_failed_drawing_keeps_the_file)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 3 --ports 4 --seed 2 -o \"%s/my_load_0.7\nx.weft\"", cli_dir),
                 0, "%s", cli_file("err"));
    cr_assert_eq(cli("sim \"%s/my_load_0.7\nx.weft\" --policy fifo --out %s/o --plot %s/c.svg",
                     cli_dir, cli_dir, cli_dir),
                 0, "%s", cli_file("err"));
    const char *gp = cli_file("o/plot.gp");
    cr_assert(strstr(gp, "set termoption noenhanced\n"), "%s", gp);
    cr_assert(strstr(gp, "my_load_0.7\\012x.weft\""), "%s", gp);
    /* a backslash and a quote in a name are escaped, so gnuplot reads them */
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 2 -o '%s/b\\s\"q.weft'", cli_dir), 0);
    cr_assert_eq(cli("sim '%s/b\\s\"q.weft' --policy fifo --out %s/o2 --plot %s/c2.svg",
                     cli_dir, cli_dir, cli_dir), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("o2/plot.gp"), "/b\\\\s\\\"q.weft\"\n"), "%s",
              cli_file("o2/plot.gp"));
    cr_assert(strstr(cli_file("c2.svg"), "</svg>"), "%s", cli_file("c2.svg"));
    const char *svg = cli_file("c.svg");
    cr_assert(strstr(svg, "my_load_0.7") && strstr(svg, "</svg>"), "no title, or cut: %s", svg);
    char *kept = strdup(svg);
    char bin[256];
    snprintf(bin, sizeof bin, "%s/bin", cli_dir);
    cr_assert_eq(mkdir(bin, 0777), 0);
    cli_write("bin/gnuplot", "#!/bin/sh\n"
                             "f=$(sed -n 's/^set output \"\\(.*\\)\"$/\\1/p' | head -n 1)\n"
                             "printf partial > \"$f\"\nexit 1\n");
    snprintf(bin, sizeof bin, "%s/bin/gnuplot", cli_dir);
    cr_assert_eq(chmod(bin, 0755), 0);
    char *path = strdup(getenv("PATH")), fake[4096];
    snprintf(fake, sizeof fake, "%s/bin:%s", cli_dir, path);
    setenv("PATH", fake, 1);
    int rc = cli("sim \"%s/my_load_0.7\nx.weft\" --policy fifo --plot %s/c.svg", cli_dir,
                 cli_dir);
    setenv("PATH", path, 1);
    free(path);
    cr_assert_eq(rc, 1, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "gnuplot failed to draw"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("c.svg"), kept, "the drawing that failed replaced the file");
    cr_assert(!cli_temp_left("c.svg"), "its temporary file is left");
    free(kept);
}

/* --plot into a missing directory: an error naming the file and the
 * reason, before any run, and no PNG on stdout (gnuplot draws there when
 * it cannot open its output); eval alike, without blaming a missing
 * gnuplot, and refusing a name that is not .png or .svg as sim does. */
Test(sim_cli, plot_into_a_missing_directory)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --plot %s/nodir/sub/x.png", cli_dir,
                     cli_dir), 1);
    ERR_HAS("nodir/sub/x.png': No such file or directory");
    cr_assert_null(strstr(cli_file("out"), "PNG"), "a PNG on stdout");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy fifo --plot %s/nodir/x.png",
                     cli_dir, cli_dir), 1);
    ERR_HAS("nodir/x.png': No such file or directory");
    cr_assert_null(strstr(cli_file("err"), "installed"), "%s", cli_file("err"));
    cr_assert_null(strstr(cli_file("out"), "PNG"), "a PNG on stdout");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy fifo --plot %s/x.txt", cli_dir,
                     cli_dir), 2);
    ERR_HAS("--plot");
    ERR_HAS(".png or .svg");
    char path[256];
    snprintf(path, sizeof path, "%s/x.txt", cli_dir);
    cr_assert_neq(access(path, F_OK), 0, "eval drew into x.txt");
    /* --csv into a directory says why it cannot, before any run */
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy fifo --csv %s", cli_dir,
                     cli_dir), 1);
    ERR_HAS("Is a directory");
    cr_assert_null(strstr(cli_file("out"), "all workloads"), "ran first: %s", cli_file("out"));
}

/* --plot with no gnuplot on PATH: the error says so, and the table and
 * --out's files stay. weft died of SIGPIPE writing to the shell that found
 * no gnuplot (status 141), its table still buffered and its temporary file
 * left. A script past the pipe's 64 KiB makes the write meet the closed pipe
 * every time: 13 curves whose data files are in a directory of 1750
 * newlines, each quoted as 4 bytes. */
Test(sim_cli, plot_without_gnuplot_keeps_the_table_and_files)
{
    NEED_BIN();
    char bin[256], dir[2048] = "", deep[4096], path[4096];
    snprintf(bin, sizeof bin, "%s/bin", cli_dir);
    cr_assert_eq(mkdir(bin, 0777), 0);
    /* only timeout (cli's) on PATH; the shells are found as /bin/sh */
    snprintf(path, sizeof path, "ln -s \"$(command -v timeout)\" %s/timeout", bin);
    cr_assert_eq(system(path), 0);
    for (int i = 0; i < 7; i++) {
        size_t n = strlen(dir);
        dir[n] = '/';
        memset(dir + n + 1, '\n', 250);
        dir[n + 251] = '\0';
    }
    char *keep = strdup(getenv("PATH"));
    setenv("PATH", bin, 1);
    int rc = cli("sim %s/small.weft --policy all --out \"%s%s\" --plot %s/c.png", cli_dir,
                 cli_dir, dir, cli_dir);
    setenv("PATH", keep, 1);
    free(keep);
    cr_assert_eq(rc, 1, "status %d: %s", rc, cli_file("err"));
    ERR_HAS("cannot draw");
    ERR_HAS("gnuplot could not be run (is it installed?)");
    cr_assert(strstr(cli_file("out"), "\nsebf             madd "), "no table: %s",
              cli_file("out"));
    snprintf(deep, sizeof deep, "%s%s/srf-jobs.csv", cli_dir, dir);
    cr_assert_eq(access(deep, F_OK), 0, "--out's files were not kept");
    cr_assert(!cli_exists("c.png") && !cli_temp_left("c.png"), "a file or its temporary left");
}

/* Runs `weft ARGS` (args NULL-ended, each a printf format given cli_dir for
 * every %s) with descriptor gone_fd (1 or 2) a pipe whose reader is gone
 * before the first write, as `weft sim ... | head` leaves it, and the
 * other into cli_dir's out or err; SIGPIPE ignored in it from the start
 * when ignore_pipe. Returns its wait status. */
static int weft_piped(const char *const *args, int gone_fd, bool ignore_pipe)
{
    char bufs[2 * 44 + 8][256], file[256];
    const char *argv[2 * 44 + 8] = {"weft"};
    size_t n = 1;
    for (; *args && n < sizeof argv / sizeof *argv - 1; args++, n++) {
        snprintf(bufs[n], sizeof bufs[n], *args, cli_dir);
        argv[n] = bufs[n];
    }
    argv[n] = NULL;
    snprintf(file, sizeof file, "%s/%s", cli_dir, gone_fd == 1 ? "err" : "out");
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    close(fd[0]);
    pid_t pid = fork_tied(SIGTERM);
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e < 0 || dup2(fd[1], gone_fd) < 0 || dup2(e, 3 - gone_fd) < 0)
            _exit(127);
        signal(SIGPIPE, ignore_pipe ? SIG_IGN : SIG_DFL);
        execv(cli_bin, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* --scores naming a file that --out or --plot writes is a usage error:
 * the jobs' CSV, the summary or the plot replaced the scores after the
 * run, status 0. A name of its own in the --out directory is taken. */
Test(sim_cli, scores_are_no_file_out_or_plot_writes)
{
    NEED_BIN();
    static const char *const taken[] = {"o/learned-jobs.csv", "o/../o/learned-summary.json",
                                        "o/learned-jct-cdf.dat", "o/plot.gp",
                                        "o/learned-flows.csv"};
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
        char args[512];
        snprintf(args, sizeof args, "sim %s/small.weft --policy learned --out %s/o --flows "
                 "--scores %s/%s", cli_dir, cli_dir, cli_dir, taken[i]);
        cr_assert_eq(cli("%s", args), 2, "%s: %s", taken[i], cli_file("err"));
        ERR_HAS("is a file --out writes");
    }
    /* the data files of the metric --plot-metric draws */
    cr_assert_eq(cli("sim %s/small.weft --policy learned --out %s/o --plot %s/s.svg "
                     "--plot-metric slowdown --scores %s/o/learned-slowdown-cdf.dat", cli_dir,
                     cli_dir, cli_dir, cli_dir), 2, "%s", cli_file("err"));
    ERR_HAS("is a file --out writes");
    cr_assert_eq(cli("sim %s/small.weft --policy learned --plot %s/s.svg --scores %s/s.svg",
                     cli_dir, cli_dir, cli_dir), 2);
    ERR_HAS("is a file --plot writes");
    /* the same file by another name (a glob's, or ./ typed) */
    cr_assert_eq(cli("sim %s/small.weft --policy learned --plot %s/s.svg --scores %s/./s.svg",
                     cli_dir, cli_dir, cli_dir), 2);
    ERR_HAS("is a file --plot writes");
    /* a directory whose name begins with --out's is another */
    char side[300];
    snprintf(side, sizeof side, "%s/o2", cli_dir);
    cr_assert_eq(mkdir(side, 0755), 0);
    cr_assert_eq(cli("sim %s/small.weft --policy learned --out %s/o --scores "
                     "%s/o2/learned-jobs.csv", cli_dir, cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy learned --out %s/o --scores %s/o/scores.csv",
                     cli_dir, cli_dir, cli_dir), 0, "%s", cli_file("err"));
    cr_assert(!strncmp(cli_file("o/scores.csv"), "decision,", 9), "%s", cli_file("o/scores.csv"));
}

/* Starts weft with argv, its output thrown away and SIGINT's action
 * on_int. Its pid. */
static pid_t start_quiet_as(const char *const *argv, void (*on_int)(int))
{
    pid_t pid = fork_tied(SIGTERM);
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            _exit(127);
        signal(SIGINT, on_int);
        execv(cli_bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* start_quiet_as with SIGINT's action the default, as a terminal's
 * foreground job has it. */
static pid_t start_quiet(const char *const *argv)
{
    return start_quiet_as(argv, SIG_DFL);
}

/* Waits until path exists or pid has ended (its wait status in *st). */
static void wait_for_path(const char *path, pid_t pid, int *st)
{
    struct stat sb;
    while (stat(path, &sb) != 0 && waitpid(pid, st, WNOHANG) == 0) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ^C in the middle of the runs ends weft sim by SIGINT, as before, but
 * takes back the --out directories it made for them, still empty, as a
 * failure does: they were left behind. The signal is sent once they are
 * there; the Facebook trace under fair and srf runs for seconds. */
Test(sim_cli, an_interrupted_run_leaves_no_out_directory, .timeout = 120)
{
    NEED_BIN();
    char out[256], made[256];
    snprintf(made, sizeof made, "%s/made", cli_dir);
    snprintf(out, sizeof out, "%s/made/o", cli_dir);
    const char *argv[] = {"weft", "sim", "data/FB2010-1Hr-150-0.txt", "--policy", "fair",
                          "--policy", "srf", "--out", out, NULL};
    pid_t pid = start_quiet(argv);
    int st = 0;
    wait_for_path(out, pid, &st);
    cr_assert_eq(kill(pid, SIGINT), 0, "weft sim ended before its runs: status %d", st);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "status %d", st);
    cr_assert_neq(access(made, F_OK), 0, "%s is left", made);
    cr_assert_eq(access(cli_dir, F_OK), 0, "the directory that was there went too");
}

/* A run started with SIGINT ignored (a shell's background job, `weft sim
 * ... &`) keeps it ignored: the terminal's ^C meant for the foreground job
 * must neither end it nor take its --out away. Sent once --out is made,
 * when weft's own handlers are in place; the run then ends as usual. */
Test(sim_cli, an_ignored_interrupt_stays_ignored, .timeout = 120)
{
    NEED_BIN();
    char out[256], jobs[300];
    snprintf(out, sizeof out, "%s/bg/o", cli_dir);
    const char *argv[] = {"weft", "sim", "data/FB2010-1Hr-150-0.txt", "--policy", "fifo",
                          "--out", out, NULL};
    int st = 0;
    pid_t pid = start_quiet_as(argv, SIG_IGN);
    wait_for_path(out, pid, &st);
    snprintf(jobs, sizeof jobs, "%s/fifo-jobs.csv", out);
    cr_assert_eq(access(jobs, F_OK), -1, "the run ended before the signal: not checked");
    cr_assert_eq(kill(pid, SIGINT), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status %#x", st);
    cr_assert_eq(access(jobs, F_OK), 0, "%s missing", jobs);
}

/* How many entries of dir begin with prefix. */
static size_t count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return n;
}

/* Whether dir holds a file whose name begins with prefix. */
static bool dir_has_prefix(const char *dir, const char *prefix)
{
    return count_prefix(dir, prefix) > 0;
}

/* Runs weft with argv (start_quiet), sends it sig once dir
 * holds a file whose name begins with prefix, and wants it dead of sig;
 * then waits for what it started and left running (gnuplot), orphaned to
 * this process, its subreaper. */
static void signal_once_there(const char *const *argv, const char *dir,
                              const char *prefix, int sig)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t pid = start_quiet(argv);
    int st = 0;
    while (!dir_has_prefix(dir, prefix) && waitpid(pid, &st, WNOHANG) == 0) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(kill(pid, sig), 0, "weft ended before %s showed: status %d", prefix, st);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig, "signal %d: status %d", sig, st);
    while (waitpid(-1, NULL, 0) > 0) {
    }
}

/* A signal while the first file in --out is half written: the --scores
 * file there, written through a temporary file for the whole learned run.
 * The handler that takes back the directories ran before the one that
 * removes that file, so the directories, not empty yet, stayed. Each of
 * SIGINT, SIGTERM and SIGHUP, sent once the temporary file is there, must
 * leave neither, and end weft. */
Test(sim_cli, a_signal_during_the_first_out_file_leaves_no_out_directory, .timeout = 120)
{
    NEED_BIN();
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    char out[256], made[256], scores[256];
    snprintf(made, sizeof made, "%s/made", cli_dir);
    snprintf(out, sizeof out, "%s/made/o", cli_dir);
    snprintf(scores, sizeof scores, "%s/made/o/s.csv", cli_dir);
    const char *argv[] = {"weft", "sim", "data/FB2010-1Hr-150-0.txt", "--policy", "learned",
                          "--scores", scores, "--out", out, NULL};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        signal_once_there(argv, out, "s.csv.tmp-", sigs[i]);
        cr_assert_neq(access(made, F_OK), 0, "signal %d: %s is left", sigs[i], made);
        cr_assert_eq(access(cli_dir, F_OK), 0, "the directory that was there went too");
    }
}

/* A signal while gnuplot draws --plot's file: the temporary file it draws
 * into, beside the plot, was left (whole, once gnuplot had drawn it: it
 * was not one weft_save_file's handler knew). Each of SIGINT, SIGTERM and
 * SIGHUP is sent once that file is there, before gnuplot ends; weft must
 * die of it and leave nothing named like the plot. */
Test(sim_cli, a_signal_while_the_plot_is_drawn_leaves_no_file, .timeout = 120)
{
    NEED_BIN();
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    char plot[256], out[256];
    snprintf(plot, sizeof plot, "%s/p.png", cli_dir);
    /* with --out (the CDFs' data go there; without, the next test) */
    snprintf(out, sizeof out, "%s/o", cli_dir);
    const char *argv[] = {"weft", "sim", "data/FB2010-1Hr-150-0.txt", "--policy", "fifo",
                          "--out", out, "--plot", plot, NULL};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        /* gnuplot, still drawing, outlives weft (it made the file again by
           its name, once removed): waited for too */
        signal_once_there(argv, cli_dir, "p.png.tmp-", sigs[i]);
        cr_assert(!dir_has_prefix(cli_dir, "p.png"), "signal %d: a file of the plot is left",
                  sigs[i]);
    }
}

/* The same plot without --out: its CDFs' data went to a /tmp/weft-plot-*
 * directory, removed after gnuplot, so a signal while gnuplot drew left it
 * and its files (they go in gnuplot's script now). The real /tmp is
 * looked at, before and after: weft itself makes no such directory any
 * more, so one more is this run's. (A /tmp of weft's own, bound over it in
 * a mount namespace, hid weft and the trace from it where the checkout is
 * in /tmp.) */
Test(sim_cli, a_signal_while_a_plot_without_out_is_drawn_leaves_nothing_in_tmp,
     .timeout = 120)
{
    NEED_BIN();
    char plot[256], data[4096];
    snprintf(plot, sizeof plot, "%s/p.png", cli_dir);
    cr_assert(getcwd(data, sizeof data - 40));
    strcat(data, "/data/FB2010-1Hr-150-0.txt");
    const char *argv[] = {"weft", "sim", data, "--policy", "fifo", "--plot", plot, NULL};
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        size_t before = count_prefix("/tmp", "weft-plot-");
        signal_once_there(argv, cli_dir, "p.png.tmp-", sigs[i]);
        cr_assert_leq(count_prefix("/tmp", "weft-plot-"), before,
                      "signal %d: a directory in /tmp is left", sigs[i]);
        cr_assert(!dir_has_prefix(cli_dir, "p.png"), "signal %d: a file of the plot is left",
                  sigs[i]);
    }
}

/* weft sim with 44 policies (a table past stdio's 4 KiB), --out o and a
 * plot, its standard output a pipe whose reader is gone (weft_piped).
 * Returns its wait status. */
static int sim_to_a_reader_gone(bool ignore_pipe)
{
    static const char *const ord[] = {"fifo", "scf", "ncf", "lcf", "sebf", "aalo",
                                      "sincronia", "wcp", "jsebf", "jsebf-cp", "learned"};
    static const char *const alloc[] = {"greedy", "madd", "fair", "srf"};
    char specs[44][32];
    const char *args[2 * 44 + 8] = {"sim", "%s/small.weft", "--out", "%s/o", "--plot",
                                    "%s/o/c.svg"};
    size_t n = 6;
    for (size_t i = 0; i < 44; i++) {
        snprintf(specs[i], sizeof specs[i], "%s:%s", ord[i / 4], alloc[i % 4]);
        args[n++] = "--policy";
        args[n++] = specs[i];
    }
    args[n] = NULL;
    int st = weft_piped(args, 1, ignore_pipe);
    cr_assert(strstr(cli_file("o/learned-srf-summary.json"), "\"n_jobs\": 4"), "no summary");
    cr_assert(strstr(cli_file("o/fifo-greedy-jobs.csv"), "job,"), "no CSV");
    cr_assert(strstr(cli_file("o/c.svg"), "</svg>"), "no plot");
    return st;
}

/* The command still dies of SIGPIPE, but after --out's files and the plot:
 * the table's first write killed it with them unwritten (--out empty). */
Test(sim_cli, a_reader_gone_loses_no_out_file)
{
    NEED_BIN();
    int st = sim_to_a_reader_gone(false);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "wait status %#x: %s", st,
              cli_file("err"));
}

/* Started with SIGPIPE ignored (as some shells and services start a
 * command), the closed pipe is an error naming it, status 1 (the flush
 * that looked for it left main's check only the stream's error flag, and
 * a /dev/full's "No space left" read "write error"). */
Test(sim_cli, a_reader_gone_with_sigpipe_ignored_is_an_error)
{
    NEED_BIN();
    int st = sim_to_a_reader_gone(true);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "wait status %#x: %s", st,
              cli_file("err"));
    cr_assert(strstr(cli_file("err"), "writing standard output: Broken pipe"), "%s",
              cli_file("err"));
}

/* A run that fails after the header was flushed (--scores into a full
 * disk) leaves stdout's buffer empty: the closed pipe the header met still
 * ends weft by SIGPIPE (it read "writing standard output: write error",
 * status 1), or, SIGPIPE ignored from the start, is named. */
Test(sim_cli, a_reader_gone_before_a_failed_run_is_still_a_broken_pipe)
{
    NEED_BIN();
    static const char *const args[] = {"sim", "%s/small.weft", "--policy", "learned", "--seed",
                                       "1", "--scores", "/dev/full", NULL};
    int st = weft_piped(args, 1, false);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "wait status %#x: %s", st,
              cli_file("err"));
    st = weft_piped(args, 1, true);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "wait status %#x", st);
    ERR_HAS("--scores /dev/full: writing failed: No space left on device");
    ERR_HAS("weft sim: writing standard output: Broken pipe");
}

/* Standard error a pipe whose reader is gone (--progress writes to it while
 * the runs go): --out's files and the table are written, then weft dies of
 * SIGPIPE as it did at that write (it ended with status 0, the signal lost). */
Test(sim_cli, a_reader_of_stderr_gone_still_ends_by_sigpipe)
{
    NEED_BIN();
    static const char *const args[] = {"sim", "%s/small.weft", "--policy", "sebf",
                                       "--progress", "--out", "%s/o", NULL};
    int st = weft_piped(args, 2, false);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "wait status %#x", st);
    cr_assert(strstr(cli_file("o/sebf-jobs.csv"), "job,"), "no CSV");
    cr_assert(strstr(cli_file("out"), "\nsebf "), "no table: %s", cli_file("out"));
}

/* With no file to write (no --out, --plot or --scores), nothing is held:
 * the header's write ends weft before the runs, which no one would see
 * (held, they ran and --progress said so at their end). */
Test(sim_cli, a_reader_gone_with_no_file_to_write_ends_before_the_runs)
{
    NEED_BIN();
    static const char *const args[] = {"sim", "%s/small.weft", "--policy", "sebf",
                                       "--progress", NULL};
    int st = weft_piped(args, 1, false);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "wait status %#x", st);
    cr_assert_null(strstr(cli_file("err"), "progress"), "ran: %s", cli_file("err"));
}

/* weft eval as weft sim: a reader of its tables gone, --csv and the plot
 * are still written, then it dies of SIGPIPE (killed at the tables, it
 * wrote neither); SIGPIPE ignored from the start, the error names it. */
Test(sim_cli, eval_with_its_reader_gone_writes_csv_and_plot)
{
    NEED_BIN();
    static const char *const args[] = {"eval", "%s/small.weft", "--policy", "sebf",
                                       "--policy", "fifo", "--csv", "%s/e.csv", "--plot",
                                       "%s/e.svg", NULL};
    char csv[256], svg[256];
    snprintf(csv, sizeof csv, "%s/e.csv", cli_dir);
    snprintf(svg, sizeof svg, "%s/e.svg", cli_dir);
    for (int ignore = 0; ignore < 2; ignore++) {
        remove(csv);
        remove(svg);
        int st = weft_piped(args, 1, ignore);
        if (ignore)
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "wait status %#x", st);
        else
            cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "wait status %#x", st);
        cr_assert(strstr(cli_file("e.csv"), "sebf"), "no CSV");
        cr_assert(strstr(cli_file("e.svg"), "</svg>"), "no plot");
    }
    ERR_HAS("weft eval: writing standard output: Broken pipe");
}

/* --plot LINK, a link to a file not there yet: the check that it can be
 * written leaves no trace (it removed the link and left an empty file at
 * its end, where nothing was drawn), and the plot is drawn at the link's
 * end, the link kept, as -o writes through links. */
Test(sim_cli, plot_through_a_link_to_nothing_yet)
{
    NEED_BIN();
    char link[256], to[256];
    snprintf(to, sizeof to, "%s/sub", cli_dir);
    cr_assert_eq(mkdir(to, 0700), 0);
    snprintf(link, sizeof link, "%s/link.svg", cli_dir);
    cr_assert_eq(symlink("sub/target.svg", link), 0); /* relative to the link's directory */
    struct stat sb;
    cr_assert_eq(cli("sim %s/none.weft --policy sebf --plot %s", cli_dir, link), 1);
    cr_assert(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link was removed");
    cr_assert(!cli_exists("sub/target.svg"), "the check left a file at the link's end");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --plot %s", cli_dir, link), 0, "%s",
                 cli_file("err"));
    cr_assert(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link was replaced");
    cr_assert(strstr(cli_file("sub/target.svg"), "</svg>"), "no plot at the link's end");
    cr_assert(!cli_temp_left("sub/target.svg"));
}

/* --plot into the directory --out makes, as `make run` names them but
 * without its mkdir -p: the directory is made before the plot's file is
 * checked (the check came first and failed on the missing directory). */
Test(sim_cli, plot_into_the_directory_out_makes)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/new/run --plot %s/new/run/c.svg",
                     cli_dir, cli_dir, cli_dir),
                 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("new/run/c.svg"), "</svg>"), "no plot");
    cr_assert(strstr(cli_file("new/run/sebf-jobs.csv"), "job"), "no CSV");
}

/* --out writes each file through a new FILE.tmp-XXXXXX: a failing write
 * (past the file size limit, as on a full disk) names the file and the
 * reason, keeps the last run's file whole and leaves no temporary file;
 * the run's other files are not begun, nor --plot's data there. */
Test(sim_cli, out_file_kept_when_a_write_fails)
{
    NEED_BIN();
    char path[256];
    snprintf(path, sizeof path, "%s/res", cli_dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    cli_write("res/sebf-coflows.csv", "old\n");
    /* 512 bytes: less than the coflows' CSV, the first written (a row for
       each of the 18 coflows) */
    cli_file_blocks = 1;
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/res --plot %s/cdf.svg", cli_dir,
                     cli_dir, cli_dir), 1);
    cli_file_blocks = 0;
    ERR_HAS("res/sebf-coflows.csv");
    ERR_HAS("File too large");
    cr_assert_str_eq(cli_file("res/sebf-coflows.csv"), "old\n");
    cr_assert(!cli_temp_left("res/sebf-coflows.csv"), "temporary file left behind");
    cr_assert(!cli_exists("res/sebf-jobs.csv") && !cli_temp_left("res/sebf-jobs.csv"));
    /* nor does the plot put its data there (the run's results are not) */
    cr_assert(!cli_exists("res/sebf-jct-cdf.dat") && !cli_exists("res/plot.gp"));
}

/* The summary JSON says what made it (workload, ports, caps, tick, the
 * learned policy's model) and whether it was checked: without --check its
 * violations are null, not a 0 that reads as checked and clean. */
Test(sim_cli, summary_names_its_run_and_whether_it_was_checked)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy learned --port-cap 2=10Mbps "
                     "--tick 0.5 --out %s/a", cli_dir, cli_dir),
                 0, "%s", cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --check --out %s/b", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    static const char *const files[] = {"a/sebf-summary.json", "a/learned-summary.json",
                                        "b/sebf-summary.json"};
    for (int i = 0; i < 3; i++) {
        json_error_t jerr;
        json_t *root = json_loads(cli_file(files[i]), 0, &jerr);
        cr_assert_not_null(root, "%s: %s", files[i], jerr.text);
        char want[256];
        snprintf(want, sizeof want, "%s/small.weft", cli_dir);
        cr_assert_str_eq(json_string_value(json_object_get(root, "workload")), want);
        cr_assert_eq(json_number_value(json_object_get(root, "port_rate_bytes_per_s")), 1.25e8);
        json_t *caps = json_object_get(root, "port_caps");
        cr_assert_eq(json_array_size(caps), i < 2 ? 1 : 0, "%s", files[i]);
        if (i < 2) {
            cr_assert_eq(json_integer_value(json_array_get(json_array_get(caps, 0), 0)), 2);
            cr_assert_eq(json_number_value(json_array_get(json_array_get(caps, 0), 1)), 1.25e6);
        }
        cr_assert_eq(json_number_value(json_object_get(root, "tick_s")), i < 2 ? 0.5 : 0);
        cr_assert_eq(json_object_get(root, "model") != NULL, i == 1, "%s", files[i]);
        cr_assert_eq(json_is_true(json_object_get(root, "checked")), i == 2, "%s", files[i]);
        json_t *v = json_object_get(root, "n_violations");
        if (i < 2)
            cr_assert(json_is_null(v), "%s: unchecked, yet n_violations is given", files[i]);
        else
            cr_assert(json_is_integer(v) && json_integer_value(v) == 0, "%s", files[i]);
        json_decref(root);
    }
    /* a name that is no UTF-8 (any bytes make a file name) still gives JSON */
    char *text = strdup(cli_file("small.weft"));
    cli_write("bad\377_\303\251.weft", text);
    free(text);
    cr_assert_eq(cli("sim %s/bad*.weft --policy fifo --out %s/c", cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    json_error_t jerr;
    json_t *root = json_loads(cli_file("c/fifo-summary.json"), 0, &jerr);
    cr_assert_not_null(root, "%s: %s", jerr.text, cli_file("c/fifo-summary.json"));
    const char *w = json_string_value(json_object_get(root, "workload"));
    cr_assert(w && strstr(w, "/bad\u00ff_\u00e9.weft"), "%s", w ? w : "(none)");
    json_decref(root);
}

/* The learned policy's summary names what it ran: the --model file also
 * when --seed came with it for --save-model (it named nothing, though the
 * file's parameters ran, as the equal results show), and the seed when it
 * ran random parameters; a policy beside it that ran no model names none. */
Test(sim_cli, summary_names_the_model_that_ran)
{
    NEED_BIN();
    const char *m = "models/weft-policy.msgpack";
    cr_assert_eq(cli("sim %s/small.weft --policy learned --seed 5 --save-model %s/r5.msgpack "
                     "--model %s --out %s/both", cli_dir, cli_dir, m, cli_dir),
                 0, "%s", cli_file("err"));
    ERR_HAS("note: the learned policy runs --model models/weft-policy.msgpack; --seed 5");
    cr_assert_eq(cli("sim %s/small.weft --policy learned --model %s --out %s/model", cli_dir, m,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy learned --seed 5 --policy sebf --out %s/seed",
                     cli_dir, cli_dir), 0, "%s", cli_file("err"));
    /* a policy that ran no model names none */
    const char *sebf = cli_file("seed/sebf-summary.json");
    cr_assert(strstr(sebf, "\"policy\": \"sebf\"") && !strstr(sebf, "model"), "%s", sebf);
    static const char *const dirs[] = {"both", "model", "seed"};
    double wjct[3];
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s/learned-summary.json", dirs[i]);
        json_error_t jerr;
        json_t *root = json_loads(cli_file(name), 0, &jerr);
        cr_assert_not_null(root, "%s: %s", name, jerr.text);
        const char *model = json_string_value(json_object_get(root, "model"));
        json_t *seed = json_object_get(root, "model_seed");
        if (i < 2) {
            cr_assert(model && !strcmp(model, m), "%s: model %s", name, model ? model : "none");
            cr_assert_null(seed, "%s", name);
        } else {
            cr_assert_null(model, "%s: model %s", name, model);
            cr_assert(json_is_integer(seed) && json_integer_value(seed) == 5, "%s", name);
        }
        wjct[i] = json_number_value(json_object_get(root, "avg_weighted_jct_s"));
        json_decref(root);
    }
    cr_assert_eq(wjct[0], wjct[1], "--model with --seed ran other parameters");
}

/* The avg wJCT field (%.17g) of eval's CSV line for policy p, or NAN. */
static double eval_csv_wjct(const char *csv, const char *p)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s,", p);
    const char *line = strstr(csv, key);
    if (!line)
        return NAN;
    line += strlen(key);
    for (int k = 0; k < 2 && line; k++) /* past workload and group */
        if ((line = strchr(line, ',')))
            line++;
    return line ? strtod(line, NULL) : NAN;
}

/* weft eval runs at the --port-rate it is given, as weft sim does (it ran
 * at 1 Gbit/s whatever the workload was made for), and its CSV keeps every
 * digit: the same average weighted JCT as sim's summary, to the bit. */
Test(sim_cli, eval_runs_at_the_port_rate_it_is_given)
{
    NEED_BIN();
    double sim[2], eval[2];
    const char *rate[2] = {"1Gbps", "10Gbps"};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(cli("sim %s/small.weft --policy sebf --port-rate %s --out %s/r%d", cli_dir,
                         rate[i], cli_dir, i),
                     0, "%s", cli_file("err"));
        char name[64];
        snprintf(name, sizeof name, "r%d/sebf-summary.json", i);
        const char *js = strstr(cli_file(name), "\"avg_weighted_jct_s\":");
        cr_assert_not_null(js);
        sim[i] = strtod(strchr(js, ':') + 1, NULL);
        cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy fifo --port-rate %s --csv "
                         "%s/e%d.csv", cli_dir, rate[i], cli_dir, i),
                     0, "%s", cli_file("err"));
        snprintf(name, sizeof name, "e%d.csv", i);
        eval[i] = eval_csv_wjct(cli_file(name), "sebf");
        const char *b = strstr(cli_file("out"), "B = ");
        cr_assert_not_null(b, "%s", cli_file("out"));
        char tail[64];
        snprintf(tail, sizeof tail, ",%.*s\n", (int)strcspn(b + 4, "\n"), b + 4);
        cr_assert(strstr(cli_file(name), ",ratio_to_best,B\n") && strstr(cli_file(name), tail),
                  "the CSV does not name the yardstick B (%s): %s", b, cli_file(name));
        cr_assert_eq(eval[i], sim[i], "%s: eval %.17g, sim %.17g", rate[i], eval[i], sim[i]);
    }
    cr_assert(sim[1] < sim[0] / 2, "10 Gbit/s ports %g s, 1 Gbit/s %g s", sim[1], sim[0]);
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --port-rate 10", cli_dir), 0);
    cr_assert(strstr(cli_file("out"), ", ports at 10 bytes/s each way\n"), "%s", cli_file("out"));
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --port-rate fast", cli_dir), 2);
    ERR_HAS("--port-rate");
}

/* A policy run under --alloc other than its ordering's own is named as
 * ORDERING:ALLOCATOR: its files do not overwrite the ordering's own run's
 * in the same --out, and the plot's legend says which allocator ran. */
Test(sim_cli, out_names_the_allocator_that_alloc_chose)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/res", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    char *own = strdup(cli_file("res/sebf-summary.json"));
    cr_assert(strstr(own, "\"madd\""), "%s", own);
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy fifo --alloc fair --out %s/res "
                     "--plot %s/res/cdf.svg", cli_dir, cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert_str_eq(cli_file("res/sebf-summary.json"), own, "the madd run was overwritten");
    free(own);
    cr_assert(strstr(cli_file("res/sebf-fair-summary.json"), "\"fair\""), "no sebf-fair");
    cr_assert(strstr(cli_file("res/fifo-fair-jobs.csv"), "job"), "no fifo-fair jobs CSV");
    const char *gp = cli_file("res/plot.gp");
    cr_assert(strstr(gp, "title \"sebf:fair\""), "%s", gp);
    cr_assert(strstr(gp, "sebf-fair-jct-cdf.dat"), "%s", gp);
    /* the CDF of small.weft's 4 jobs: 0 at the first JCT, then a quarter
       more at each, in order */
    const char *dat = strchr(cli_file("res/sebf-fair-jct-cdf.dat"), '\n');
    double prev_x = -1, x, y;
    int k = 0, used;
    for (; dat && sscanf(dat, "%lf %lf%n", &x, &y, &used) == 2; dat += used, k++) {
        cr_assert(x >= prev_x && y == (k ? k / 4.0 : 0), "point %d: %g %g", k, x, y);
        prev_x = x;
    }
    cr_assert_eq(k, 5);
    /* the ordering's own allocator named by --alloc changes nothing */
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --alloc madd --out %s/res2", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("res2/sebf-jobs.csv"), "job"), "no sebf jobs CSV");
}

/* --check prints a line a policy: the count, and a first violation only
 * when there is one; the exit status stays 0 without. */
Test(sim_cli, check_counts_each_policys_violations)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy fair --check", cli_dir), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, "\ncheck sebf: 0 violations\ncheck fair: 0 violations\n"), "%s", out);
}

/* A policy named by an allocator alone runs that allocator under fifo, its
 * files named as given; ORDERING:ALLOCATOR's are ORDERING-ALLOCATOR-...;
 * an allocator is no ordering to put before a colon. */
Test(sim_cli, a_policy_named_by_its_allocator_runs_it_under_fifo)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy madd --policy fifo:madd", cli_dir), 2);
    ERR_HAS("policy 'fifo:madd' given twice (as 'madd': the same ordering and allocator)");
    cr_assert_eq(cli("sim %s/small.weft --policy madd --policy fifo --policy sebf:greedy "
                     "--out %s/res", cli_dir, cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy fifo:madd --out %s/res", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    const char *summary = cli_file("res/madd-summary.json");
    cr_assert(strstr(summary, "\"policy\": \"fifo\"") && strstr(summary, "\"madd\""), "%s",
              summary);
    char *alone = strdup(cli_file("res/madd-jobs.csv"));
    cr_assert_str_eq(cli_file("res/fifo-madd-jobs.csv"), alone);
    /* on small.weft greedy rates give other JCTs, so the allocator shows */
    cr_assert_str_neq(cli_file("res/fifo-jobs.csv"), alone);
    free(alone);
    cr_assert(strstr(cli_file("res/sebf-greedy-summary.json"), "\"greedy\""), "no sebf-greedy");
    cr_assert_eq(cli("sim %s/small.weft --policy madd:greedy", cli_dir), 2);
    ERR_HAS("unknown policy 'madd'");
}

/* --out DIR makes DIR and its missing parents; an --out that cannot be a
 * directory (a file on its path) is refused before any run, naming the
 * part of the path that is in the way. */
Test(sim_cli, out_makes_its_directory_first)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/new/deeper/res", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("new/deeper/res/sebf-jobs.csv"), "job"), "no jobs CSV");
    cli_write("plain", "not a directory\n");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/plain/res", cli_dir, cli_dir), 1);
    ERR_HAS("--out");
    ERR_HAS("plain' exists and is not a directory");
    cr_assert_null(strstr(cli_file("out"), "avgCCT"), "ran before refusing: %s",
                   cli_file("out"));
    cr_assert_str_eq(cli_file("plain"), "not a directory\n");
}

/* A run that fails before writing into the --out it made (a missing
 * workload, a bad model, a --plot that cannot be written) takes back the
 * directories it made, and only those: newdir/a/b stayed, empty; a name
 * through ".." may lead to one that was there, so it takes back none. */
Test(sim_cli, out_made_for_a_failed_run_is_taken_back)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/none.weft --policy sebf --out %s/new/a/b", cli_dir, cli_dir), 1);
    cr_assert(!cli_exists("new"), "--out left behind");
    char keep[256];
    snprintf(keep, sizeof keep, "%s/keep", cli_dir);
    cr_assert_eq(mkdir(keep, 0700), 0);
    cli_write("bad.msgpack", "not a model\n");
    cr_assert_eq(cli("sim %s/small.weft --policy learned --model %s/bad.msgpack --out %s/keep/a",
                     cli_dir, cli_dir, cli_dir), 1);
    cr_assert(cli_exists("keep") && !cli_exists("keep/a"), "--out left behind, or keep gone");
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --out %s/new --plot %s/nodir/x.png",
                     cli_dir, cli_dir, cli_dir), 1);
    cr_assert(!cli_exists("new"), "--out left behind");
    /* a trailing slash names new/a twice: the whole of it still goes */
    cr_assert_eq(cli("sim %s/none.weft --policy sebf --out %s/new/a/", cli_dir, cli_dir), 1);
    cr_assert(!cli_exists("new"), "--out left behind");
    /* new/../keep is keep, which was there: nothing is taken back */
    cr_assert_eq(cli("sim %s/none.weft --policy sebf --out %s/new/../keep", cli_dir, cli_dir),
                 1);
    cr_assert(cli_exists("keep"), "keep, there before, was removed");
}

/* --model and --seed: a note when no policy uses them (weft eval's
 * --model too), an error when both would set the learned policy's
 * parameters. */
Test(sim_cli, model_and_seed_not_silently_ignored)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --model %s/none.msgpack", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    ERR_HAS("note: --model");
    cr_assert_eq(cli("sim %s/small.weft --policy learned --model %s/none.msgpack --seed 3",
                     cli_dir, cli_dir), 2);
    ERR_HAS("--model and --seed");
    /* both given where no policy runs a model: a note each, no error */
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --model %s/none.msgpack --seed 3",
                     cli_dir, cli_dir), 0, "%s", cli_file("err"));
    ERR_HAS("note: --model");
    ERR_HAS("note: --seed");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --model %s/none.msgpack", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    ERR_HAS("weft eval: note: --model");
}

/* A bad model file stops weft sim before any run, however the path came
 * (--model or $WEFT_MODEL), and the message says which: the other
 * policies' results are not written first and then the command failed. */
Test(sim_cli, a_bad_model_stops_before_any_run)
{
    NEED_BIN();
    cli_write("text.msgpack", "not a model\n");
    char model[300];
    snprintf(model, sizeof model, "%s/text.msgpack", cli_dir);
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy learned --model %s --out %s/m1",
                     cli_dir, model, cli_dir), 1);
    ERR_HAS("weft sim: --model: ");
    ERR_HAS("text.msgpack: not a weft model file");
    cr_assert_null(strstr(cli_file("out"), "avgCCT"), "ran before refusing: %s", cli_file("out"));
    cr_assert_str_eq(cli_file("m1/sebf-jobs.csv"), "", "sebf's results written before refusing");
    cr_assert_eq(setenv("WEFT_MODEL", model, 1), 0);
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --policy learned", cli_dir), 1);
    ERR_HAS("weft sim: $WEFT_MODEL: ");
    ERR_HAS("text.msgpack: not a weft model file");
    cr_assert_eq(cli("eval %s/small.weft --policy sebf --policy learned", cli_dir), 1);
    ERR_HAS("weft eval: $WEFT_MODEL: ");
    unsetenv("WEFT_MODEL");
}

/* A port given twice to --port-cap is a usage error naming it: the second
 * rate silently winning hid a slip. A port the workload does not have is
 * an error naming the ports it has; a cap limits a port both ways. */
Test(sim_cli, a_port_capped_twice_or_past_the_last_is_refused)
{
    NEED_BIN();
    cr_assert_eq(cli("sim %s/small.weft --policy fifo --port-cap 0=1Mbps --port-cap 0=1Gbps",
                     cli_dir), 2);
    ERR_HAS("--port-cap 0=1Gbps: port 0 given twice");
    static const char *const not_a_port[] = {"3x=1Gbps", "' 3=1Gbps'", "-1=1Gbps", "=1Gbps"};
    for (size_t i = 0; i < sizeof not_a_port / sizeof *not_a_port; i++) {
        cr_assert_eq(cli("sim %s/small.weft --policy fifo --port-cap %s", cli_dir,
                         not_a_port[i]), 2, "%s", not_a_port[i]);
        ERR_HAS("expected PORT=RATE");
    }
    cr_assert_eq(cli("sim %s/small.weft --policy fifo --port-cap 0=1Mbps --port-cap 1=1Gbps",
                     cli_dir), 0, "%s", cli_file("err"));
    /* the header counts the caps that differ from the rate: port 1's is the rate */
    cr_assert(strstr(cli_file("out"), " bytes/s (1 port set to another rate by --port-cap)\n"),
              "%s", cli_file("out"));
    cr_assert_eq(cli("sim %s/small.weft --policy fifo --port-cap 8=1Mbps", cli_dir), 1);
    ERR_HAS("--port-cap: port 8, but the workload has ports 0..7");
    /* a cap holds both ways: 125,000 bytes into port 0 at 1 Mbit/s, 1 s */
    one_flow_workload("in.weft", "1 0 125000");
    cr_assert_eq(cli("sim %s/in.weft --policy fifo --port-cap 0=1Mbps", cli_dir), 0, "%s",
                 cli_file("err"));
    const char *row = strstr(cli_file("out"), "\nfifo ");
    cr_assert(row && strstr(row, " greedy      1.0000 "), "%s", cli_file("out"));
}

/* --varys: 1 MB of the FB trace is 2^20 bytes, the ports 2^30 bit/s
 * unless --port-rate says otherwise. */
Test(sim_cli, varys_reads_binary_megabytes_at_a_gibibit)
{
    NEED_BIN();
    cli_write("fb.txt", "2 1\n1 0 1 0 1 1:1\n");
    cr_assert_eq(cli("sim %s/fb.txt --format fb --varys --policy sebf", cli_dir), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, "1 flow, 1.04858e+06 bytes on 2 ports at 1.34218e+08 bytes/s\n"),
              "%s", out);
    cr_assert(strstr(out, "\nsebf             madd      0.007813 "), "%s", out);
    cr_assert_eq(cli("sim %s/fb.txt --format fb --varys --port-rate 1Gbps --policy sebf",
                     cli_dir), 0, "%s", cli_file("err"));
    out = cli_file("out");
    cr_assert(strstr(out, "1.04858e+06 bytes on 2 ports at 1.25e+08 bytes/s\n"), "%s", out);
}

/* The hand-made workload of the bins tests, at 1 MB/s with --bin-length
 * 2MB --bin-width 2: job 1 (LN, 3 MB) from 0 and job 2 (SN, 1 MB) from 0.5
 * share ports 0->1; job 3 (SW: 3 flows of 1 MB) runs alone; job 4 (LW: its
 * longest flow exactly 2 MB, 3 flows) from 20 and job 5 (SN: exactly 2
 * flows of 0.5 MB) from 20.5 share ports 2->3 and 4->5. By hand: fifo keeps
 * the first come ahead (CCTs 3, 3.5, 1, 2, 2); sebf:greedy takes the
 * smaller bottleneck at each arrival (4, 1, 1, 2.5, 0.5); fair shares each
 * port (4, 2, 1, 2.5, 1, a hair over as it paces). */
static void bins_workload(void)
{
    cli_write("bins.weft", "weft-workload 1\nports 8\n"
                           "job 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 3e6\n"
                           "job 2 0.5 1 0 1\ncoflow 1 0 1 -\n0 1 1e6\n"
                           "job 3 10 1 0 1\ncoflow 1 0 3 -\n2 3 1e6\n4 5 1e6\n6 7 1e6\n"
                           "job 4 20 1 0 1\ncoflow 1 0 3 -\n2 3 2e6\n4 5 1e6\n6 7 1e6\n"
                           "job 5 20.5 1 0 1\ncoflow 1 0 2 -\n2 3 0.5e6\n4 5 0.5e6\n"
                           "end 5\n");
}

/* FILE's bin NAME ("SN"...) of its "bins": count, bytes and average CCT
 * (NAN for null); the thresholds through *length and *width. */
static void summary_bin(const char *file, const char *name, double *length, json_int_t *width,
                        json_int_t *count, double *bytes, double *avg)
{
    json_error_t jerr;
    json_t *root = json_loads(cli_file(file), 0, &jerr);
    cr_assert_not_null(root, "%s: %s", file, jerr.text);
    json_t *bins = json_object_get(root, "bins");
    cr_assert(json_is_object(bins), "%s: no bins object", file);
    *length = json_number_value(json_object_get(bins, "length_bytes"));
    *width = json_integer_value(json_object_get(bins, "width_flows"));
    json_t *b = json_object_get(bins, name);
    cr_assert(json_is_object(b), "%s: no bin %s", file, name);
    *count = json_integer_value(json_object_get(b, "count"));
    *bytes = json_number_value(json_object_get(b, "bytes"));
    json_t *avg_j = json_object_get(b, "avg_cct_s");
    cr_assert(json_is_null(avg_j) || json_is_number(avg_j), "%s: %s avg", file, name);
    *avg = json_is_null(avg_j) ? NAN : json_number_value(avg_j);
    json_decref(root);
}

/* --bins: each category's count and average CCT, worked out by hand, and
 * each policy's over the first one's; the summary's "bins" to the bit,
 * after the keys it had (wall_s still there), and none without --bins. */
Test(sim_cli, bins_average_each_category_over_the_first_policy)
{
    NEED_BIN();
    bins_workload();
    cr_assert_eq(cli("sim %s/bins.weft --port-rate 1MB/s --bin-length 2MB --bin-width 2 "
                     "--policy fifo --policy sebf:greedy --policy fair --out %s/o",
                     cli_dir, cli_dir), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    const char *want =
        "\ncoflow bins: short = longest flow < 2000000 bytes, narrow = at most 2 flows\n"
        "coflows: SN 2, LN 1, SW 1, LW 1; avg CCT (s) by bin, and over the first policy's: "
        "fifo (greedy)\n"
        "policy           alloc        SN(s)      LN(s)      SW(s)      LW(s)    SN/fifo"
        "    LN/fifo    SW/fifo    LW/fifo\n"
        "fifo             greedy      2.7500     3.0000     1.0000     2.0000     1.0000"
        "     1.0000     1.0000     1.0000\n"
        "sebf             greedy      0.7500     4.0000     1.0000     2.5000     0.2727"
        "     1.3333     1.0000     1.2500\n"
        "fair             fair        1.5000     4.0000     1.0000     2.5000     0.5455"
        "     1.3333     1.0000     1.2500\n";
    cr_assert(strstr(out, want), "no bins table:\n%s\nin:\n%s", want, out);
    static const char *const names[] = {"SN", "LN", "SW", "LW"};
    static const double bytes_want[] = {2e6, 3e6, 3e6, 4e6};
    static const json_int_t count_want[] = {2, 1, 1, 1};
    static const struct {
        const char *file;
        double avg[4];
    } runs[] = {{"o/fifo-summary.json", {2.75, 3, 1, 2}},
                {"o/sebf-greedy-summary.json", {0.75, 4, 1, 2.5}}};
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 4; k++) {
            double length, bytes, avg;
            json_int_t width, count;
            summary_bin(runs[r].file, names[k], &length, &width, &count, &bytes, &avg);
            cr_assert(length == 2e6 && width == 2, "%s: %g %lld", runs[r].file, length,
                      (long long)width);
            cr_assert(count == count_want[k] && bytes == bytes_want[k] && avg == runs[r].avg[k],
                      "%s %s: %lld coflows, %.17g bytes, avg %.17g", runs[r].file, names[k],
                      (long long)count, bytes, avg);
        }
    const char *fifo = cli_file("o/fifo-summary.json");
    const char *wall = strstr(fifo, "\n  \"wall_s\": ");
    cr_assert(wall && strstr(wall, ",\n  \"bins\": {") == strchr(wall + 1, '\n') - 1,
              "bins not right after wall_s:\n%s", fifo);
    /* its keys in the documented order: the thresholds, then SN, LN, SW, LW */
    static const char *const keys[] = {"length_bytes", "width_flows", "SN", "LN", "SW", "LW"};
    const char *at = strstr(wall, "\"bins\"");
    for (int k = 0; k < 6; k++) {
        char key[32];
        snprintf(key, sizeof key, "\"%s\": ", keys[k]);
        const char *next = strstr(at, key);
        cr_assert(next, "bins' %s not after %s:\n%s", keys[k], k ? keys[k - 1] : "bins", fifo);
        at = next;
    }
    cr_assert_eq(cli("sim %s/bins.weft --port-rate 1MB/s --policy fifo --out %s/p", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert_null(strstr(cli_file("out"), "coflow bins"), "%s", cli_file("out"));
    cr_assert_null(strstr(cli_file("p/fifo-summary.json"), "\"bins\""), "%s",
                   cli_file("p/fifo-summary.json"));
}

/* The thresholds' sides as documented: a longest flow exactly --bin-length
 * is long, exactly --bin-width flows narrow (defaults 5MB, 50); a bin left
 * empty prints "-" and null; under --varys 5MB is 5 MiB, as the trace's MB,
 * wherever --varys is given. */
Test(sim_cli, bins_put_each_threshold_on_its_documented_side)
{
    NEED_BIN();
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fputs("weft-workload 1\nports 2\n"
          "job 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5000000\n"
          "job 2 0 1 0 1\ncoflow 1 0 1 -\n0 1 4999999\n", m);
    static const int widths[] = {50, 51, 51};
    for (int j = 0; j < 3; j++) {
        fprintf(m, "job %d 0 1 0 1\ncoflow 1 0 %d -\n", j + 3, widths[j]);
        for (int f = 0; f < widths[j]; f++)
            fprintf(m, "0 1 %s\n", j == 2 && f == 7 ? "5e6" : "1000");
    }
    fputs("end 5\n", m);
    fclose(m);
    cli_write("edge.weft", text);
    free(text);
    cr_assert_eq(cli("sim %s/edge.weft --policy fifo --bins --out %s/d", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "short = longest flow < 5000000 bytes, narrow = at most "
                                      "50 flows\ncoflows: SN 2, LN 1, SW 1, LW 1;"),
              "%s", cli_file("out"));
    /* 5 MiB: 5e6 bytes is short now, no coflow long */
    cr_assert_eq(cli("sim %s/edge.weft --policy fifo --policy sebf --bin-length 5MiB --out "
                     "%s/e", cli_dir, cli_dir), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, "< 5242880 bytes, narrow = at most 50 flows\n"
                          "coflows: SN 3, LN 0, SW 2, LW 0;"), "%s", out);
    const char *row = strstr(out, "\nsebf             madd    ");
    cr_assert_not_null(row, "%s", out);
    row = strstr(row + 1, "\nsebf             madd    ");
    cr_assert_not_null(row, "no bins row: %s", out);
    char cells[8][32];
    cr_assert_eq(sscanf(row, " sebf madd %31s %31s %31s %31s %31s %31s %31s %31s", cells[0],
                        cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]),
                 8, "%s", row);
    for (int k = 0; k < 8; k++)
        cr_assert_eq(!strcmp(cells[k], "-"), k % 2 == 1, "cell %d '%s' of: %s", k, cells[k],
                     row);
    double length, bytes, avg;
    json_int_t width, count;
    summary_bin("e/sebf-summary.json", "LN", &length, &width, &count, &bytes, &avg);
    cr_assert(length == 5242880 && width == 50 && count == 0 && bytes == 0 && isnan(avg),
              "%s", cli_file("e/sebf-summary.json"));
    summary_bin("e/sebf-summary.json", "SW", &length, &width, &count, &bytes, &avg);
    cr_assert(count == 2 && bytes == 102 * 1000 - 1000 + 5e6 && avg > 0, "%lld %.17g %g",
              (long long)count, bytes, avg);
    /* 4.9 MB of the trace (5138022.4 bytes): long against 5e6, short
       against 5MB under --varys, given before or after it */
    cli_write("fb.txt", "3 2\n1 0 1 0 1 1:4.9\n2 0 1 1 1 2:5\n");
    cr_assert_eq(cli("sim %s/fb.txt --format fb --policy sebf --bins", cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert(strstr(cli_file("out"), "< 5000000 bytes, narrow = at most 50 flows\n"
                                      "coflows: SN 0, LN 2, SW 0, LW 0;"), "%s",
              cli_file("out"));
    static const char *const orders[] = {"--bin-length 5MB --varys", "--varys --bins"};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(cli("sim %s/fb.txt --format fb --policy sebf %s", cli_dir, orders[i]), 0,
                     "%s", cli_file("err"));
        cr_assert(strstr(cli_file("out"), "< 5242880 bytes, narrow = at most 50 flows\n"
                                          "coflows: SN 1, LN 1, SW 0, LW 0;"), "%s: %s",
                  orders[i], cli_file("out"));
    }
}

/* --bin-width alone implies --bins, as --bin-length does, and a width of 1
 * is "1 flow". bins.weft at 1 MB/s under fifo, by hand: every flow is
 * under 5 MB (short); jobs 1 and 2 have one flow (narrow), jobs 3, 4 and 5
 * two or three (wide): SN's CCTs 3 and 3.5, SW's 1, 2 and 2 (5/3). */
Test(sim_cli, bin_width_alone_implies_bins)
{
    NEED_BIN();
    bins_workload();
    cr_assert_eq(cli("sim %s/bins.weft --port-rate 1MB/s --bin-width 1 --policy fifo", cli_dir),
                 0, "%s", cli_file("err"));
    const char *want =
        "\ncoflow bins: short = longest flow < 5000000 bytes, narrow = at most 1 flow\n"
        "coflows: SN 2, LN 0, SW 3, LW 0; avg CCT (s) by bin, and over the first policy's: "
        "fifo (greedy)\n"
        "policy           alloc        SN(s)      LN(s)      SW(s)      LW(s)    SN/fifo"
        "    LN/fifo    SW/fifo    LW/fifo\n"
        "fifo             greedy      3.2500          -     1.6667          -     1.0000"
        "          -     1.0000          -\n";
    cr_assert(strstr(cli_file("out"), want), "no bins table:\n%s\nin:\n%s", want,
              cli_file("out"));
}

/* Bad thresholds are usage errors naming the option and what it takes. */
Test(sim_cli, bins_options_refuse_bad_values)
{
    NEED_BIN();
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--bin-length 0", "--bin-length: size '0' is 0 bytes; expected a finite size > 0"},
        {"--bin-length -1MB", "expected a finite size > 0"},
        {"--bin-length 1e400", "expected a finite size > 0"},
        {"--bin-length 5Mb", "--bin-length: size '5Mb': unknown unit 'Mb'; expected B, KB"},
        {"--bin-length 5M", "unknown unit 'M'"},
        {"--bin-length MB", "--bin-length: size 'MB': expected a number"},
        {"--bin-length ''", "--bin-length: size '': expected a number"},
        {"--bin-width 0", "--bin-width '0': expected an integer >= 1"},
        {"--bin-width 2.5", "--bin-width '2.5': expected an integer >= 1"},
        {"--bin-width -3", "--bin-width '-3': expected an integer >= 1"},
        {"--bin-width", "--bin-width"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(cli("sim %s/small.weft --policy sebf %s", cli_dir, bad[i].args), 2,
                     "%s: %s", bad[i].args, cli_file("err"));
        ERR_HAS(bad[i].says);
        cr_assert_eq(cli_file("out")[0], '\0', "%s ran: %s", bad[i].args, cli_file("out"));
    }
}

/* Absurd rates give times of 1e100 s and more: the table prints them, and
 * any from 1e12 s, in %g's form, not as numbers of 17 digits or more;
 * ordinary times keep their fixed form. */
Test(sim_cli, huge_times_fit_the_table)
{
    NEED_BIN();
    /* 2^50 bytes at the slowest rate, 1 bit/s: 9.0e15 s */
    one_flow_workload("big.weft", "0 1 1125899906842624");
    cr_assert_eq(cli("sim %s/big.weft --policy sebf --port-rate 1bps", cli_dir), 0, "%s",
                 cli_file("err"));
    const char *row = strstr(cli_file("out"), "\nsebf ");
    cr_assert_not_null(row, "%s", cli_file("out"));
    cr_assert_lt(strcspn(row + 1, "\n"), 120, "%s", row);
    cr_assert(strstr(row, "e+15"), "%s", row);
    /* 2^40 bytes: 8.8e12 s, which 4 decimals would write in 18 digits */
    one_flow_workload("big.weft", "0 1 1099511627776");
    cr_assert_eq(cli("sim %s/big.weft --policy sebf --port-rate 1bps", cli_dir), 0, "%s",
                 cli_file("err"));
    row = strstr(cli_file("out"), "\nsebf ");
    cr_assert(row && strstr(row, " 8.796e+12 "), "%s", cli_file("out"));
    cr_assert_eq(cli("sim %s/small.weft --policy sebf --port-rate 1e-100", cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "--port-rate") && strstr(cli_file("err"), "1 bit/s"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("sim %s/small.weft --policy sebf", cli_dir), 0);
    row = strstr(cli_file("out"), "\nsebf ");
    cr_assert_not_null(row);
    cr_assert_null(strstr(row, "e+"), "%s", row);
}

/* A workload whose results the clock cannot give is refused before any
 * run, --check or not, naming the file, the job, the coflow and the fix:
 * sim printed a JCT of 0, below the job's bound (1 byte at 1e9 s: steps of
 * 2.2e-7 s), and a CCT below its isolation time (1000 bytes at 5e8 s and
 * 100 Gbit/s, 8e-8 s against steps of 1.1e-7 s; any small workload at
 * 1e300 bytes/s; until 2026-12-07 a CCT of 0 for 1 byte released after a
 * root that computes 9e8 s, which the check timed at its job's arrival),
 * and ran without end on flows of no time at all (1e-200
 * bytes at 1e300 bytes/s, at 0 s), or gave infinite rates for 1e-310 s. */
Test(sim_cli, a_workload_the_clock_cannot_time_is_refused)
{
    NEED_BIN();
    cli_write("late.weft", "weft-workload 1\nports 4\njob 1 1000000000 1 0 1\n"
                           "coflow 1 0 1 -\n0 1 1\njob 2 0 1 0 1\ncoflow 1 0 1 -\n0 1 1\n"
                           "end 2\n");
    cli_write("late2.weft", "weft-workload 1\nports 4\njob 1 500000000 1 0 1\n"
                            "coflow 1 0 1 -\n0 1 1000\nend 1\n");
    /* released after a root that computes 9e8 s and sends for 1 s */
    cli_write("after.weft", "weft-workload 1\nports 4\njob 1 0 1 0 2\n"
                            "coflow 1 900000000 1 -\n0 1 125000000\ncoflow 2 0 1 1\n0 1 1\n"
                            "end 1\n");
    one_flow_workload("none.weft", "0 1 1e-200");
    static const struct {
        const char *file, *opts, *want, *fix;
    } cases[] = {
        {"late.weft", "", "late.weft: job 1 coflow 1: its flow 0->1 of 1 bytes takes 8e-09 s "
                          "alone, but the clock steps by up to 2.22e-07 s at 1e+09 s",
         "shift the arrivals toward 0"},
        {"late2.weft", "--port-rate 100Gbps", "late2.weft: job 1 coflow 1: its flow 0->1 of "
                                              "1000 bytes takes 8e-08 s alone",
         "shift the arrivals toward 0"},
        {"after.weft", "", "after.weft: job 1 coflow 2: its flow 0->1 of 1 bytes takes 8e-09 s "
                           "alone, but the clock steps by up to 2e-07 s at 900000001 s",
         "shorten the stages before it"},
        {"small.weft", "--port-rate 1e300", "small.weft: job ", "(or slow the ports)"},
        {"none.weft", "--port-rate 1e300", "none.weft: job 0 coflow 0: its flow 0->1 of 1e-200 "
                                           "bytes takes 0 s alone, but a double holds no "
                                           "shorter time whole", "slow the ports"},
        {"none.weft", "--port-rate 1e110", "takes 1e-310 s alone", "slow the ports"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(cli("sim %s/%s --policy sebf %s", cli_dir, cases[i].file, cases[i].opts), 1,
                     "%s: %s", cases[i].file, cli_file("out"));
        ERR_HAS(cases[i].want);
        ERR_HAS(cases[i].fix);
        cr_assert_null(strstr(cli_file("out"), "avgCCT"), "ran: %s", cli_file("out"));
    }
    cr_assert_eq(cli("eval %s/late.weft --policy sebf --policy fifo", cli_dir), 1);
    ERR_HAS("job 1 coflow 1: its flow 0->1");
    /* the same jobs near 0 are timed */
    cr_assert_eq(cli("sim %s/late2.weft --policy sebf --port-rate 1Tbps", cli_dir), 1);
    cli_write("late2.weft", "weft-workload 1\nports 4\njob 1 5 1 0 1\ncoflow 1 0 1 -\n"
                            "0 1 1000\nend 1\n");
    cr_assert_eq(cli("sim %s/late2.weft --policy sebf --port-rate 1Tbps --check", cli_dir), 0,
                 "%s", cli_file("err"));
}

/* Times of microseconds keep their digits: a 50-byte flow at 1 Gbit/s
 * takes 4e-07 s, which 4 decimals showed as 0.0000; below 10 ms times
 * keep 4 significant digits. */
Test(sim_cli, tiny_times_keep_their_digits)
{
    NEED_BIN();
    one_flow_workload("tiny.weft", "0 1 50");
    cr_assert_eq(cli("sim %s/tiny.weft --policy fifo", cli_dir), 0, "%s", cli_file("err"));
    const char *row = strstr(cli_file("out"), "\nfifo ");
    cr_assert_not_null(row, "%s", cli_file("out"));
    cr_assert(strstr(row, " 4e-07 ") && !strstr(row, "0.0000 "), "%s", row);
    cr_assert(strstr(row, " 1.0000 "), "%s", row); /* vs bound */
    /* 5 ms (625,000 bytes at 1 Gbit/s): 0.0050 would keep two digits */
    one_flow_workload("tiny.weft", "0 1 625000");
    cr_assert_eq(cli("sim %s/tiny.weft --policy fifo", cli_dir), 0, "%s", cli_file("err"));
    row = strstr(cli_file("out"), "\nfifo ");
    cr_assert(row && strstr(row, " 0.005 "), "%s", cli_file("out"));
}

/* `weft --version` (and `weft version`, `-V`): the version, the git commit
 * the binary was built from (here, where the tests run from the source
 * tree, the commit checked out), the formats and the libraries. */
Test(sim_cli, version_names_the_build_its_formats_and_libraries)
{
    NEED_BIN();
    cr_assert_eq(cli("--version"), 0, "%s", cli_file("err"));
    char out[4096];
    snprintf(out, sizeof out, "%s", cli_file("out"));
    cr_assert(strncmp(out, "weft 0.", 7) == 0, "%s", out);
    static const char *const want[] = {" (git ", "model 2 (reads versions 1 to 2)",
                                       "gateway protocol 1", "gateway journal 2 (reads 1 to 2)",
                                       "agent data acks 3", "igraph 0.", "OpenBLAS 0.",
                                       "libevent 2.", "msgpack-c ", "OpenSSL 3", "GLPK "};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(out, want[i]), "no '%s' in: %s", want[i], out);
    /* where the tree is a git checkout with git at hand, the commit named
       is one of this repository's, HEAD or before it (the tree may have
       moved on since the build: make test builds first, ctest alone not) */
    if (system("git rev-parse --git-dir >/dev/null 2>&1") == 0) {
        const char *at = strstr(out, " (git ");
        char hash[16] = "";
        cr_assert(at && sscanf(at, " (git %12[0-9a-f]", hash) == 1 && strlen(hash) == 12,
                  "no commit in: %s", out);
        char cmd[160];
        snprintf(cmd, sizeof cmd, "git merge-base --is-ancestor %s HEAD 2>/dev/null", hash);
        cr_assert_eq(system(cmd), 0, "%s is not HEAD or one of its ancestors", hash);
    }
    cr_assert_eq(cli("version"), 0);
    cr_assert_str_eq(cli_file("out"), out);
    cr_assert_eq(cli("-V"), 0);
    cr_assert_str_eq(cli_file("out"), out);
    cr_assert_eq(cli("version extra"), 2);
    ERR_HAS("unexpected argument 'extra'");
    cr_assert_eq(cli("version --bogus"), 2); /* "unexpected argument", unlike the others */
    ERR_HAS("weft version: unknown option '--bogus'");
    cr_assert_eq(cli("version --help"), 0); /* its options listed, as every command's */
    cr_assert(strstr(cli_file("out"), "options:\n  -h, --help "), "%s", cli_file("out"));
    cr_assert_eq(cli("help"), 0);
    cr_assert(strstr(cli_file("out"), "  version "), "%s", cli_file("out"));
    cr_assert_eq(cli("help version"), 0);
    cr_assert(strstr(cli_file("out"), "usage: weft version"), "%s", cli_file("out"));
    cr_assert_eq(cli("help bogus"), 2); /* it listed the commands, status 0 */
    ERR_HAS("weft: unknown command 'bogus'");
}

/* The bytes of the file at path (malloc'ed, *n of them). */
static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    static unsigned char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(*n > 0 && *n < sizeof buf, "%s", path);
    unsigned char *b = malloc(*n);
    memcpy(b, buf, *n);
    return b;
}

/* The summaries people read count in words that agree with the count:
 * convert, sim and eval said "1 jobs, 1 coflows, 1 flows", "1 ports" and
 * "1 workloads, 1 policies", and so did eval's progress lines ("on 1
 * workloads") and the comment atop a written workload file; two of a
 * thing stay plural. A file written before, with "# 1 jobs, ...", reads
 * as it did (a comment). */
Test(sim_cli, summaries_say_one_of_a_thing_in_the_singular)
{
    NEED_BIN();
    cli_write("one.weft", "weft-workload 1\n# 1 jobs, 1 coflows, 1 flows; format: "
                          "docs/workload-format.md\nports 1\njob 0 0 1 0 1\ncoflow 0 0 1 -\n"
                          "0 0 1000\nend 1\n");
    cr_assert_eq(cli("convert %s/one.weft -o %s/two.weft", cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    ERR_HAS("two.weft: 1 job, 1 coflow, 1 flow, 1000 bytes\n");
    cr_assert(strstr(cli_file("two.weft"), "\n# 1 job, 1 coflow, 1 flow; format: "
                     "docs/workload-format.md\n"), "%s", cli_file("two.weft"));
    cr_assert_eq(cli("eval %s/one.weft --policy sebf --lp-bound --progress", cli_dir), 0,
                 "%s", cli_file("err"));
    ERR_HAS("weft eval: progress: policy 1 of 1, sebf, on 1 workload\n");
    ERR_HAS("weft eval: progress: the LP bounds of 1 workload\n");
    cr_assert_eq(cli("sim %s/one.weft --policy sebf", cli_dir), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "one.weft: 1 job, 1 coflow, 1 flow, 1000 bytes on 1 port "
                     "at 1.25e+08 bytes/s\n"), "%s", cli_file("out"));
    cr_assert_eq(cli("eval %s/one.weft --policy sebf", cli_dir), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(!strncmp(out, "1 workload, 1 policy, ports", 27) &&
              strstr(out, "all workloads (1 workload); B = sebf\n"), "%s", out);
    cr_assert_eq(cli("eval %s/one.weft %s/two.weft --policy sebf --policy fifo", cli_dir,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert(!strncmp(cli_file("out"), "2 workloads, 2 policies, ports", 30), "%s",
              cli_file("out"));
    cr_assert_eq(cli("eval %s/one.weft %s/two.weft --policy sebf --progress", cli_dir, cli_dir),
                 0, "%s", cli_file("err"));
    ERR_HAS("weft eval: progress: policy 1 of 1, sebf, on 2 workloads\n");
    cli_write("pair.weft", "weft-workload 1\nports 1\njob 0 0 1 0 1\ncoflow 0 0 1 -\n"
                           "0 0 1000\njob 1 0 1 0 1\ncoflow 0 0 1 -\n0 0 500\nend 2\n");
    cr_assert_eq(cli("convert %s/pair.weft -o %s/three.weft", cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert(strstr(cli_file("three.weft"), "\n# 2 jobs, 2 coflows, 2 flows; format: "),
              "%s", cli_file("three.weft"));
}

/* weft model -o OUT is checked before the model is read and summarised,
 * as the other commands check their outputs: a directory, or a file in a
 * missing one, was refused only after the summary. */
Test(sim_cli, model_refuses_an_output_it_cannot_write_before_the_summary)
{
    NEED_BIN();
    const char *outs[] = {"", "/none/m.msgpack"};
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(cli("model models/weft-policy.msgpack -o %s%s", cli_dir, outs[i]), 1);
        char want[256];
        snprintf(want, sizeof want, "weft model: cannot write '%s%s': %s\n", cli_dir, outs[i],
                 i ? "No such file or directory" : "Is a directory");
        cr_assert_str_eq(cli_file("err"), want);
        cr_assert_str_empty(cli_file("out"));
    }
}

static void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(b, 1, n, f) == n && fclose(f) == 0, "%s", path);
}

/* weft model: the shipped model loads (format 2, its checksum checked)
 * and the summary gives the file's SHA-256 as sha256sum does; a version 1
 * copy (no checksum) loads unchecked, and -o writes the shipped bytes back;
 * a changed byte is refused naming the checksum; usage errors are 2. */
Test(sim_cli, model_checks_summarises_and_rewrites_a_model_file)
{
    NEED_BIN();
    const char *shipped = "models/weft-policy.msgpack"; /* ctest runs from the tree */
    cr_assert_eq(cli("model %s", shipped), 0, "%s", cli_file("err"));
    char out[8192];
    snprintf(out, sizeof out, "%s", cli_file("out"));
    cr_assert(strstr(out, "loads; format version 2, its SHA-256 checked"), "%s", out);
    cr_assert(strstr(out, "learned.feature_set 4"), "%s", out);
    FILE *p = popen("sha256sum models/weft-policy.msgpack", "r");
    char sum[128] = "";
    cr_assert(p && fgets(sum, sizeof sum, p));
    pclose(p);
    sum[64] = '\0';
    cr_assert(strstr(out, sum), "no sha256 %s in %s", sum, out);

    size_t n;
    unsigned char *b = read_all(shipped, &n);
    unsigned char *v1 = malloc(n);
    memcpy(v1, b, n);
    cr_assert(v1[11] == 2 && v1[12] == 0x84);
    v1[11] = 1, v1[12] = 0x83; /* version 1: three entries, no "sha256" */
    char path[256], upgraded[256];
    snprintf(path, sizeof path, "%s/v1.wm", cli_dir);
    snprintf(upgraded, sizeof upgraded, "%s/v2.wm", cli_dir);
    write_all(path, v1, n - 41);
    cr_assert_eq(cli("model %s -o %s", path, upgraded), 0, "%s", cli_file("err"));
    /* with -o the summary goes to stderr: the model may go to stdout */
    cr_assert(strstr(cli_file("err"), "format version 1, no checksum, unchecked"), "%s",
              cli_file("err"));
    size_t n2;
    unsigned char *b2 = read_all(upgraded, &n2);
    cr_assert(n2 == n && memcmp(b, b2, n) == 0, "-o did not write the shipped bytes back");
    free(b2);
    cr_assert_eq(cli("model %s -o /dev/stdout", shipped), 0, "%s", cli_file("err"));
    snprintf(path, sizeof path, "%s/out", cli_dir);
    b2 = read_all(path, &n2);
    cr_assert(n2 == n && memcmp(b, b2, n) == 0, "-o /dev/stdout wrote more than the model");

    memcpy(v1, b, n);
    v1[n / 2] ^= 0x10;
    snprintf(path, sizeof path, "%s/damaged.wm", cli_dir);
    write_all(path, v1, n);
    cr_assert_eq(cli("model %s -o %s/never.wm", path, cli_dir), 1);
    ERR_HAS("checksum mismatch");
    cr_assert(!cli_exists("never.wm"), "a model that does not load was written");
    cr_assert_eq(cli("model %s/missing.wm", cli_dir), 1);
    ERR_HAS("missing.wm");
    cr_assert_eq(cli("model"), 2);
    cr_assert_eq(cli("model %s %s", shipped, shipped), 2);
    cr_assert_eq(cli("model %s -o", shipped), 2);
    ERR_HAS("needs a value");
    free(b), free(b2), free(v1);
}

/* weft model's summary agrees with the file: the config integers joined
 * by ", ", the "decides" line as its learned.set_changes_only says, the
 * floats counted over every tensor; the two wrong counts of files each
 * said; a model OUT cannot take (a full disk) is status 1. */
Test(sim_cli, model_summary_agrees_with_the_file)
{
    NEED_BIN();
    const char *shipped = "models/weft-policy.msgpack"; /* ctest runs from the tree */
    attn_model_file_t mf;
    attn_model_init(&mf);
    cr_assert_eq(attn_model_load(shipped, &mf), WEFT_OK, "%s", weft_last_error());
    size_t floats = 0;
    for (size_t i = 0; i < mf.n_tensors; i++)
        floats += mf.tensors[i].n;
    char weights[128];
    snprintf(weights, sizeof weights,
             "\n  weights           %zu tensors, %zu floats; %zu vectors\n", mf.n_tensors,
             floats, mf.n_vecs);
    attn_model_destroy(&mf);
    cr_assert_eq(cli("model %s", shipped), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, weights), "no '%s' in: %s", weights, out);
    cr_assert(strstr(out, "\n  config            learned.feature_set 4, "), "%s", out);
    const char *decides =
        strstr(out, "learned.set_changes_only 1")
            ? "\n  decides           when the set of schedulable coflows changes\n"
            : "\n  decides           at every emulator decision\n";
    cr_assert(strstr(out, decides), "no '%s' in: %s", decides, out);
    cr_assert_eq(cli("model"), 2);
    ERR_HAS("weft model: which file? give one model file\n");
    cr_assert_eq(cli("model %s %s", shipped, shipped), 2);
    ERR_HAS("weft model: one model file at a time\n");
    cr_assert_eq(cli("model %s -o /dev/full", shipped), 1);
    ERR_HAS("weft model: input/output error: /dev/full: cannot write: No space left on device");
    cr_assert(!strstr(cli_file("err"), "written to"), "%s", cli_file("err"));
}

/* Writes the shipped model with `extra` ints x.0 = 0, x.1 = 1, ... added
 * (kept and ignored by the network) to cli_dir/NAME; its path in path[n]. */
static void model_with_extra_ints(const char *name, size_t extra, char *path, size_t n)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    cr_assert_eq(attn_model_load("models/weft-policy.msgpack", &mf), WEFT_OK, "%s",
                 weft_last_error());
    for (size_t i = 0; i < extra; i++) {
        char key[32];
        snprintf(key, sizeof key, "x.%zu", i);
        cr_assert_eq(attn_model_set_int(&mf, key, (int64_t)i), WEFT_OK, "%s", weft_last_error());
    }
    snprintf(path, n, "%s/%s", cli_dir, name);
    cr_assert_eq(attn_model_save(path, &mf), WEFT_OK, "%s", weft_last_error());
    attn_model_destroy(&mf);
}

/* A model of 4,096 ints (the cap; all but the network's 12 ignored) is
 * summarised in lines a terminal shows: the network's ints on the config
 * line, the others counted with a head of four, where it printed one line
 * of 51 KB; -o keeps them all. A few extra ints stay on the config line. */
Test(sim_cli, model_summary_counts_the_ints_the_network_does_not_read)
{
    NEED_BIN();
    char path[160];
    model_with_extra_ints("many.wm", ATTN_MODEL_MAX_ENTRIES - 12, path, sizeof path);
    cr_assert_eq(cli("model %s", path), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    for (const char *line = out; *line;) {
        const char *end = strchr(line, '\n');
        cr_assert(end && end - line <= 200, "a line of %zu bytes: %.200s...",
                  end ? (size_t)(end - line) : strlen(line), line);
        line = end + 1;
    }
    cr_assert(strstr(out, "\n  config            learned.feature_set 4, ") &&
              strstr(out, "attn.pre_ln 1, attn.gelu 1\n"), "%s", out);
    cr_assert(strstr(out, "\n  other ints        4084 the network does not read (-o keeps "
                          "them): x.0 0, x.1 1, x.2 2, x.3 3, ...\n"), "%s", out);
    cr_assert_eq(cli("model %s -o %s/again.wm", path, cli_dir), 0, "%s", cli_file("err"));
    attn_model_file_t again;
    attn_model_init(&again);
    char again_path[160];
    snprintf(again_path, sizeof again_path, "%s/again.wm", cli_dir);
    cr_assert_eq(attn_model_load(again_path, &again), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(again.n_ints, ATTN_MODEL_MAX_ENTRIES);
    attn_model_destroy(&again);

    model_with_extra_ints("few.wm", 2, path, sizeof path);
    cr_assert_eq(cli("model %s", path), 0, "%s", cli_file("err"));
    out = cli_file("out");
    cr_assert(strstr(out, "attn.gelu 1, x.0 0, x.1 1\n") && !strstr(out, "other ints"), "%s",
              out);
}

/* Every command's --help is its usage on standard output, status 0 (as
 * `weft help CMD` gives it), `weft version -h` too; weft alone, or with a
 * command it does not have, lists its commands on standard error, status
 * 2; `weft version -` is an unexpected argument, not an option. */
Test(sim_cli, every_command_prints_its_help_on_standard_output)
{
    NEED_BIN();
    static const char *const cmds[] = {"sim",   "gen",    "inspect", "convert", "serve",
                                       "agent", "submit", "cancel",  "status",  "train",
                                       "eval",  "model",  "journal", "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        cr_assert_eq(cli("%s --help", cmds[i]), 0, "%s: %s", cmds[i], cli_file("err"));
        char want[64];
        snprintf(want, sizeof want, "usage: weft %s ", cmds[i]);
        cr_assert(!strncmp(cli_file("out"), want, strlen(want)), "%s: %s", cmds[i],
                  cli_file("out"));
        cr_assert_str_empty(cli_file("err"), "%s", cmds[i]);
    }
    cr_assert_eq(cli("version -h"), 0);
    cr_assert(!strncmp(cli_file("out"), "usage: weft version ", 20), "%s", cli_file("out"));
    cr_assert_eq(cli("version -"), 2);
    cr_assert_str_eq(cli_file("err"), "weft version: unexpected argument '-'\n");
    cr_assert_eq(cli("%s", ""), 2); /* weft alone */
    cr_assert(!strncmp(cli_file("err"), "usage: weft COMMAND [options]\n", 30), "%s",
              cli_file("err"));
    cr_assert_str_empty(cli_file("out"));
    cr_assert_eq(cli("bogus"), 2);
    const char *unknown = "weft: unknown command 'bogus'\nusage: weft COMMAND";
    cr_assert(!strncmp(cli_file("err"), unknown, strlen(unknown)), "%s", cli_file("err"));
}
