/*
 * test_lpbound.c - the LP lower bound on average weighted JCT (dag/lpbound.c)
 * on schedules worked out by hand: Smith's rule on one link (where the LP
 * is exact), release times (where it is not), a DAG with compute time and
 * contention; its refusals; and `weft eval --lp-bound`. That no policy
 * beats it on random multi-stage workloads is checked in test_props.c;
 * here, that no fixed priority order of the coflows of tiny workloads
 * does (a brute force).
 */
#include <criterion/criterion.h>
#include <math.h>

#include "cli_run.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

/* One job of one coflow of one flow from port 0 to port 1. */
static void one_flow_job(coflow_workload_t *wl, int64_t id, double arrival, double weight,
                         double bytes)
{
    cr_assert_eq(coflow_workload_add_job(wl, id, arrival, weight, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, bytes), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK, "%s", weft_last_error());
}

/* The bound, converged or not. */
static dag_lp_bound_t any_bound_of(coflow_workload_t *wl, coflow_fabric_t *fab)
{
    cr_assert_eq(dag_analyze(wl, fab), WEFT_OK, "%s", weft_last_error());
    dag_lp_bound_t b;
    cr_assert_eq(dag_lp_bound(wl, fab, &b), WEFT_OK, "%s", weft_last_error());
    return b;
}

static dag_lp_bound_t bound_of(coflow_workload_t *wl, coflow_fabric_t *fab)
{
    dag_lp_bound_t b = any_bound_of(wl, fab);
    cr_assert(b.converged);
    return b;
}

/* Schedules the workload with sebf and MADD, checked; its average
 * weighted JCT. */
static double sebf_avg_weighted_jct(const coflow_workload_t *wl, const coflow_fabric_t *fab)
{
    netsim_result_t r;
    netsim_result_init(&r);
    netsim_opts_t o = {.ordering = coflow_ordering_find("sebf"),
                       .allocator = coflow_allocator_find("madd"), .check = true};
    cr_assert_eq(netsim_run(wl, fab, &o, &r), WEFT_OK, "%s", weft_last_error());
    double v = r.avg_weighted_jct;
    netsim_result_destroy(&r);
    return v;
}

/* The LP bound of wl on fab is `want` and sebf reaches it (checked), so
 * the bound is tight there; destroys both; returns the bound. */
static dag_lp_bound_t expect_tight_bound(coflow_workload_t *wl, coflow_fabric_t *fab, double want)
{
    dag_lp_bound_t b = bound_of(wl, fab);
    cr_assert_float_eq(b.avg_weighted_jct, want, 1e-9, "%.17g", b.avg_weighted_jct);
    double sebf = sebf_avg_weighted_jct(wl, fab);
    cr_assert_float_eq(sebf, want, 1e-9, "%.17g", sebf);
    coflow_workload_destroy(wl);
    coflow_fabric_destroy(fab);
    return b;
}

/* The jobs below: four at time 0 on one link of 1 byte/s. */
static void smiths_instance(coflow_workload_t *wl, coflow_fabric_t *fab)
{
    coflow_workload_init(wl, 2);
    cr_assert_eq(coflow_fabric_init(fab, 2, 1.0), WEFT_OK);
    const double bytes[] = {3, 1, 2, 4}, weight[] = {1, 2, 2, 3};
    for (int j = 0; j < 4; j++)
        one_flow_job(wl, j, 0, weight[j], bytes[j]);
}

/* Four jobs at time 0 on one link of 1 byte/s, (bytes, weight) = (3, 1),
 * (1, 2), (2, 2), (4, 3). Smith's rule (by bytes / weight) is optimal:
 * 1, 3, 7 and 10 s for the jobs of 1, 2, 4 and 3 bytes, sum of w * JCT
 * 2*1 + 2*3 + 3*7 + 1*10 = 39, an average of 9.75. Without release times
 * the parallel inequalities describe the schedules' completion times
 * exactly (Queyranne), so the LP reaches it; without them it would stop
 * at each job alone, (3 + 2 + 4 + 12) / 4 = 5.25. */
Test(lpbound, smiths_rule_on_one_link_is_reached)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    smiths_instance(&wl, &fab);
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_jct, 9.75, 1e-9, "%.17g", b.avg_weighted_jct);
    cr_assert_float_eq(b.avg_weighted_path, 5.25, 1e-12, "%.17g", b.avg_weighted_path);
    cr_assert_float_eq(b.avg_weighted_path, dag_weighted_bound(&wl), 1e-12);
    cr_assert_gt(b.n_cuts, 0);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* A (2 bytes, weight 1) at 0 and B (1 byte, weight 10) at 1 on one link
 * of 1 byte/s. The best schedule lets B in at once: JCTs 3 and 1, an
 * average of (3 + 10) / 2 = 6.5, which sebf finds. The LP knows C_B >= 2
 * and, for both, 2 C_A + C_B >= 0 * 3 + (3^2 + 2^2 + 1^2) / 2 = 7, so C_A
 * >= 2.5: (2.5 + 10 * (2 - 1)) / 2 = 6.25. With release times the
 * relaxation is below the optimum. */
Test(lpbound, release_times_worked_by_hand)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_fabric_init(&fab, 2, 1.0), WEFT_OK);
    one_flow_job(&wl, 0, 0, 1, 2);
    one_flow_job(&wl, 1, 1, 10, 1);
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_jct, 6.25, 1e-9, "%.17g", b.avg_weighted_jct);
    double sebf = sebf_avg_weighted_jct(&wl, &fab);
    cr_assert_float_eq(sebf, 6.5, 1e-9, "%.17g", sebf);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* A job of 1 byte at 0 and five of 1 byte at 10, weights 1, on one link of
 * 1 byte/s: the first ends at 1, the five at 11 to 15 one after another
 * (any order), JCTs 1 + (1 + 2 + 3 + 4 + 5) = 16, an average of 16 / 6,
 * which sebf reaches. The LP gets there only through the cut of the five
 * released at 10: 5 * 10 + (5^2 + 5) / 2 = 65 <= their sum of C. Every cut
 * that includes the job at 0 has r(S) = 0 and is met by the release times
 * alone, so a separation that tried only the earliest release threshold
 * would stop at 6 / 6 = 1. */
Test(lpbound, a_later_release_threshold_gives_the_cut)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_fabric_init(&fab, 2, 1.0), WEFT_OK);
    one_flow_job(&wl, 0, 0, 1, 1);
    for (int j = 1; j <= 5; j++)
        one_flow_job(&wl, j, 10, 1, 1);
    dag_lp_bound_t b = expect_tight_bound(&wl, &fab, 16.0 / 6);
    cr_assert_float_eq(b.avg_weighted_path, 1, 1e-12, "%.17g", b.avg_weighted_path);
}

/* The same, the five arriving at 0 with 10 s of compute before their
 * coflow: a cut's release times must count the compute as the arrival
 * was counted above. JCTs 1 + (11 + 12 + 13 + 14 + 15) = 66, an average
 * of 11; a cut released at the arrivals would stop at (1 + 5 * 11) / 6. */
Test(lpbound, a_release_after_compute_shifts_the_cut)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_fabric_init(&fab, 2, 1.0), WEFT_OK);
    one_flow_job(&wl, 0, 0, 1, 1);
    for (int j = 1; j <= 5; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 0, 10), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    }
    expect_tight_bound(&wl, &fab, 11);
}

/* The same two jobs a billion seconds later (the largest arrival a
 * workload file may have) bound the same JCTs: the LP works in times
 * from each job's arrival, so the simplex's tolerances, relative to the
 * values, stay small against a JCT. */
Test(lpbound, late_arrivals_bound_the_same)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_fabric_init(&fab, 2, 1.0), WEFT_OK);
    one_flow_job(&wl, 0, 1e9, 1, 2);
    one_flow_job(&wl, 1, 1e9 + 1, 10, 1);
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_jct, 6.25, 1e-9, "%.17g", b.avg_weighted_jct);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* Starts one job (id 0, arrival, weight, no final compute) of a workload
 * of two ports, on a fabric of two ports of 1 byte/s each way. */
static void start_one_job(coflow_workload_t *wl, coflow_fabric_t *fab, double arrival,
                          double weight)
{
    coflow_workload_init(wl, 2);
    cr_assert_eq(coflow_fabric_init(fab, 2, 1.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_job(wl, 0, arrival, weight, 0), WEFT_OK);
}

/* Job 0: coflow X (2 bytes) then Y (1 byte) released 1 s of compute after
 * X ends; job 1: coflow Z (2 bytes); weights 1, all at 0, every flow on
 * the link 0 -> 1 of 1 byte/s. Each job alone: 4 s and 2 s, an average
 * of 3. Together: Z first ends job 1 at 2, then X at 4 and Y at 6; X
 * first ends X at 2, Y at 4 and Z (sharing with Y) no earlier than 5: the
 * best is 8 / 2 = 4. The LP gets there: X and Z together need
 * C_X + C_Z >= 6 (the parallel inequality), and C_Y >= C_X + 2. */
Test(lpbound, a_dag_with_compute_time_and_contention)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    start_one_job(&wl, &fab, 0, 1);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    one_flow_job(&wl, 1, 0, 1, 2);
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_path, 3, 1e-12, "%.17g", b.avg_weighted_path);
    cr_assert_float_eq(b.avg_weighted_jct, 4, 1e-9, "%.17g", b.avg_weighted_jct);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* One job (arrival, weight) of n coflows side by side, coflow i after
 * compute_s[i] and of `bytes` on the link 0 -> 1 of 1 byte/s. */
static void side_by_side(coflow_workload_t *wl, coflow_fabric_t *fab, double arrival,
                         double weight, size_t n, const double *compute_s, double bytes)
{
    start_one_job(wl, fab, arrival, weight);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(coflow_workload_add_coflow(wl, (int64_t)i + 1, compute_s[i]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, bytes), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK, "%s", weft_last_error());
}

/* One job of two coflows side by side, each after 5 s of compute from the
 * job's arrival and of 1 byte on the link 0 -> 1 of 1 byte/s: neither
 * starts before 5, so the job ends at 7 at the earliest, and sebf ends it
 * there. The LP's first round (the job alone, with its own work on the
 * port) gets 7 only with each coflow's own compute in its release
 * (without, 6). */
Test(lpbound, a_root_coflows_compute_time_delays_its_release)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    side_by_side(&wl, &fab, 0, 1, 2, (const double[]){5, 5}, 1);
    dag_lp_bound_t b = expect_tight_bound(&wl, &fab, 7);
    cr_assert_float_eq(b.avg_weighted_path, 7, 1e-12, "%.17g", b.avg_weighted_path);
}

/* One job of three coflows side by side of 1 byte each on the link 0 -> 1
 * of 1 byte/s, X at once and Y and Z after 10 s of compute: the job ends
 * at 12 at the earliest (X by 1, Y and Z from 10 to 12), as sebf ends it.
 * The job's own work on the port counts Y and Z together from 10: 10 + 2;
 * either alone would say 11 and the parallel inequality over both 11.5. */
Test(lpbound, a_jobs_own_work_takes_coflows_released_together)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    side_by_side(&wl, &fab, 0, 1, 3, (const double[]){0, 10, 10}, 1);
    dag_lp_bound_t b = expect_tight_bound(&wl, &fab, 12);
    cr_assert_float_eq(b.avg_weighted_path, 12, 1e-12, "%.17g", b.avg_weighted_path);
}

/* One job of X and Y side by side, 1 byte each on the link 0 -> 1 of 1
 * byte/s, the parents of a coflow of 1 byte on the link 2 -> 3 (X's) and
 * one on 4 -> 5 (Y's): the link 0 -> 1 is busy until 2 at least, and the
 * last of X and Y then has its child to send, so the job ends at 3 at the
 * earliest, as sebf ends it. The job's own work on the port counts that
 * tail below the work; without it the LP would stop at 2.5 (C_X + C_Y >=
 * 3, each child 1 s after its parent). */
Test(lpbound, a_jobs_own_work_adds_the_least_path_below_it)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 6);
    cr_assert_eq(coflow_fabric_init(&fab, 6, 1.0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_job(&wl, 0, 0, 1, 0), WEFT_OK);
    for (int64_t id = 1; id <= 2; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, id + 10, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 2 * (uint32_t)id, 2 * (uint32_t)id + 1, 1),
                     WEFT_OK);
        cr_assert_eq(coflow_workload_add_parent(&wl, id), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    expect_tight_bound(&wl, &fab, 3);
}

/* One job of two coflows side by side (no order between them), 2 bytes
 * each on the link 0 -> 1 of 1 byte/s: each alone takes 2 s, the job 4 s
 * however they share the link. The parallel inequality over both only
 * says C_X + C_Y >= 6, so the later of them ends at 3 at least; the job's
 * own work on the port says 4. */
Test(lpbound, a_jobs_own_work_on_a_port_bounds_its_end)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    side_by_side(&wl, &fab, 5, 2, 2, (const double[]){0, 0}, 2);
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(dag_weighted_bound(&wl), 2 * 2, 1e-12);
    cr_assert_float_eq(b.avg_weighted_jct, 2 * 4, 1e-9, "%.17g", b.avg_weighted_jct);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* The capacities count: the same Smith's rule instance with the link at 2
 * bytes/s on the sending side only takes as long (the receiving side
 * still has 1), and at 2 both ways takes half. */
Test(lpbound, each_side_of_a_port_is_its_own_machine)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    smiths_instance(&wl, &fab);
    fab.cap_out[0] = 2;
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_jct, 9.75, 1e-9, "%.17g", b.avg_weighted_jct);
    fab.cap_in[1] = 2;
    b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_jct, 9.75 / 2, 1e-9, "%.17g", b.avg_weighted_jct);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

Test(lpbound, refuses_what_it_cannot_bound)
{
    coflow_workload_t wl;
    coflow_fabric_t fab, small;
    dag_lp_bound_t b;
    coflow_workload_init(&wl, 3);
    cr_assert_eq(coflow_fabric_init(&fab, 3, 1.0), WEFT_OK);
    cr_assert_eq(dag_lp_bound(&wl, &fab, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "no jobs"), "%s", weft_last_error());
    one_flow_job(&wl, 7, 0, 1, 2);
    cr_assert_eq(dag_lp_bound(&wl, &fab, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 7 not analysed"), "%s", weft_last_error());
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    cr_assert_eq(coflow_fabric_init(&small, 2, 1.0), WEFT_OK);
    cr_assert_eq(dag_lp_bound(&wl, &small, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "3 ports, the fabric 2"), "%s", weft_last_error());
    cr_assert_eq(b.avg_weighted_jct, 0);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    coflow_fabric_destroy(&small);
}

/* Writes text to cli_dir/name; its path into path[n]. */
static void write_in_dir(char *path, size_t n, const char *name, const char *text)
{
    snprintf(path, n, "%s/%s", cli_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* `weft eval --lp-bound` adds the bound as a row, `weft sim --lp-bound`
 * prints it, a "vs LP" column and the bound in the summary JSON: on the
 * release-times instance above it is 6.25 against sebf's 6.5. */
Test(lpbound, eval_prints_the_bound_beside_the_policies, .fini = cli_teardown)
{
    cli_open("lpbound");
    char path[128];
    write_in_dir(path, sizeof path, "two.weft", /* 2 s and 1 s at 1 Gbit/s */
                 "weft-workload 1\nports 2\n"
                 "job 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 250000000\n"
                 "job 1 1 10 0 1\ncoflow 0 0 1 -\n0 1 125000000\nend 2\n");
    cr_assert_eq(cli("eval %s --policy sebf --lp-bound", path), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    const char *row = strstr(out, "\nlp-bound ");
    cr_assert_not_null(row, "%s", out);
    double w = 0, ratio = 0;
    cr_assert_eq(sscanf(row, " lp-bound %lf %*s %lf", &w, &ratio), 2, "%s", row);
    cr_assert_float_eq(w, 6.25, 1e-6, "%s", out);
    cr_assert_float_eq(ratio, 6.25 / 6.5, 1e-4, "%s", out);
    cr_assert(strstr(out, "no schedule vs sebf: at most 3.8% lower"), "%s", out);
    cr_assert_null(strstr(out, "\ntwo ("), "its one group repeats the whole set: %s", out);
    cr_assert_null(strstr(cli_file("err"), "note:"), "%s", cli_file("err")); /* converged */
    cr_assert_eq(cli("eval %s --policy sebf --lp-bound --port-rate 2Gbps", path), 0, "%s",
                 cli_file("err")); /* job 0 done in 1 s, as job 1 comes: (1 + 10 x 0.5) / 2 */
    row = strstr(cli_file("out"), "\nlp-bound ");
    cr_assert(row && sscanf(row, " lp-bound %lf", &w) == 1, "%s", cli_file("out"));
    cr_assert_float_eq(w, 3, 1e-6, "%s", cli_file("out"));
    cr_assert_eq(cli("sim %s --policy sebf --lp-bound --out %s/res", path, cli_dir), 0, "%s",
                 cli_file("err"));
    out = cli_file("out");
    cr_assert(strstr(out, "LP bound: no schedule's average weighted JCT is below 6.25 s"), "%s",
              out);
    cr_assert(strstr(out, "vs LP"), "%s", out);
    cr_assert(strstr(out, " 1.0400 "), "sebf's 6.5 / 6.25 in the table: %s", out);
    const char *json = cli_file("res/sebf-summary.json"), *key = strstr(json, "\"lp_bound_s\":");
    cr_assert_not_null(key, "%s", json);
    cr_assert_float_eq(strtod(key + strlen("\"lp_bound_s\":"), NULL), 6.25, 1e-9, "%s", json);
}

/* The same instance with its weights times 2^-1074 (1 and 10 of the
 * least double): "vs LP" and the JSON's ratio are still sebf's 6.5 / 6.25,
 * taken over the weights scaled back (coflow_workload_weight_exp). Over
 * the weights as given, w * JCT rounds to whole units of 5e-324: the
 * column read 1.0000. */
Test(lpbound, the_ratio_to_the_bound_holds_for_weights_down_to_the_least_double,
     .fini = cli_teardown)
{
    cli_open("lptiny");
    char path[128];
    write_in_dir(path, sizeof path, "tiny.weft",
                 "weft-workload 1\nports 2\n"
                 "job 0 0 5e-324 0 1\ncoflow 0 0 1 -\n0 1 250000000\n"
                 "job 1 1 5e-323 0 1\ncoflow 0 0 1 -\n0 1 125000000\nend 2\n");
    cr_assert_eq(cli("sim %s --policy sebf --lp-bound --out %s/res", path, cli_dir), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, "vs LP"), "%s", out);
    cr_assert(strstr(out, " 1.0400 "), "sebf's 6.5 / 6.25 in the table: %s", out);
    const char *json = cli_file("res/sebf-summary.json");
    const char *key = strstr(json, "\"slowdown_vs_lp_bound\":");
    cr_assert_not_null(key, "%s", json);
    cr_assert_float_eq(strtod(key + strlen("\"slowdown_vs_lp_bound\":"), NULL), 1.04, 1e-9,
                       "%s", json);
    /* the bound itself, in the units of the weights given */
    key = strstr(json, "\"lp_bound_s\":");
    cr_assert_not_null(key, "%s", json);
    double lp = strtod(key + strlen("\"lp_bound_s\":"), NULL);
    cr_assert(lp > 0 && fabs(lp / 0x1p-1074 - 6.25) < 1, "%.17g: %s", lp, json);
}

/* `weft eval --csv` quotes a field with a comma or a quote (a workload's
 * path may hold one: it made 8 fields under a 6-column header), and a tie
 * between learned and B reads as one, not "0.0% higher". */
Test(lpbound, eval_csv_quotes_and_ties_read_as_ties, .fini = cli_teardown)
{
    cli_open("evalcsv");
    char path[128];
    write_in_dir(path, sizeof path, "a,b.weft",
                 "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 250000000\n"
                 "end 1\n");
    cr_assert_eq(cli("eval '%s' --policy sebf --policy learned --csv %s/r.csv", path,
                     cli_dir),
                 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "learned vs sebf: avg weighted JCT the same within 0.05%"),
              "%s", cli_file("out"));
    char want[256];
    snprintf(want, sizeof want, "\nsebf,\"%s\",\"a,b\",", path); /* its group too */
    cr_assert(strstr(cli_file("r.csv"), want), "%s", cli_file("r.csv"));
    /* a quote alone quotes the field too, doubled */
    write_in_dir(path, sizeof path, "q\"1.weft",
                 "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 1000\nend 1\n");
    cr_assert_eq(cli("eval '%s' --policy sebf --csv %s/r.csv", path, cli_dir), 0, "%s",
                 cli_file("err"));
    snprintf(want, sizeof want, "\nsebf,\"%s/q\"\"1.weft\",\"q\"\"1\",", cli_dir);
    cr_assert(strstr(cli_file("r.csv"), want), "no '%s' in %s", want + 1, cli_file("r.csv"));
}

/* `weft eval` groups workloads by name without extension and seed also
 * when the name has no extension: x-l0.7-s1, x-l0.5-s1 and x-l0.5-s2 are
 * groups x-l0.7 and x-l0.5 (it cut at the load's dot: one group x-l0). */
Test(lpbound, eval_groups_names_without_an_extension, .fini = cli_teardown)
{
    cli_open("evalgroups");
    const char *names[] = {"x-l0.7-s1", "x-l0.5-s1", "x-l0.5-s2"};
    char paths[3][128];
    for (int i = 0; i < 3; i++)
        write_in_dir(paths[i], sizeof paths[i], names[i],
                     "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 1000\n"
                     "end 1\n");
    cr_assert_eq(cli("eval %s %s %s --policy sebf --csv %s/r.csv", paths[0], paths[1],
                     paths[2], cli_dir),
                 0, "%s", cli_file("err"));
    const char *csv = cli_file("r.csv");
    for (int i = 0; i < 3; i++) {
        char want[256];
        snprintf(want, sizeof want, "\nsebf,%s,%s,", paths[i], i ? "x-l0.5" : "x-l0.7");
        cr_assert(strstr(csv, want), "no '%s' in %s", want + 1, csv);
    }
}

/* `weft eval`'s figures worked out by hand, on three workloads of jobs
 * on one link at 1 Gbit/s (125e6 bytes/s): g-s1 (jobs of 4 s, weight 10,
 * and 1 s: fifo (40 + 5) / 2 = 22.5, scf (1 + 50) / 2 = 25.5), g-s29 (one
 * 2 s job) and h-s9 (the jobs of g-s1, weight 1: fifo 4.5, scf 3). scf and
 * sebf tie, so B is the first of them, scf; fifo is the best on g-s1 but
 * not B. Means with Student t intervals (4.3027 for two degrees of
 * freedom, 12.7062 for one, none for one workload), the groups g and h in
 * order of first appearance (h, last, is a group too), the bound's
 * closing line and the CSV's two ratios and its row. */
Test(lpbound, eval_means_intervals_and_groups_worked_by_hand, .fini = cli_teardown)
{
    cli_open("evalfigures");
    static const char *const jobs[] = {
        "job 0 0 10 0 1\ncoflow 0 0 1 -\n0 1 500000000\n"
        "job 1 0 1 0 1\ncoflow 0 0 1 -\n0 1 125000000\nend 2\n",
        "job 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 250000000\nend 1\n",
        "job 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 500000000\n"
        "job 1 0 1 0 1\ncoflow 0 0 1 -\n0 1 125000000\nend 2\n"};
    static const char *const names[] = {"g-s1.weft", "g-s29.weft", "h-s9.weft"};
    char paths[3][128], text[256];
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "weft-workload 1\nports 2\n%s", jobs[i]);
        write_in_dir(paths[i], sizeof paths[i], names[i], text);
    }
    cr_assert_eq(cli("eval %s %s %s --policy fifo --policy scf --policy sebf --lp-bound --csv "
                     "%s/r.csv", paths[0], paths[1], paths[2], cli_dir),
                 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    /* fifo over all: 9.6667 = (4.5 + 22.5 + 2) / 3, ratios to scf 1.5, 45/51 and 1 */
    static const char *const want[] = {
        "\nall workloads (3 workloads); B = scf\n",
        "\nfifo                         9.6667   27.7828"
        "     1.1275    0.8147     1.1667    0.7171\n"
        "scf                         10.1667   33.0104     1.0000    0.0000     1.0444    0.1912\n",
        "\ng (2 workloads); B = scf\n",
        "\nfifo                        12.2500  130.2386"
        "     0.9412    0.7474     1.0000    0.0000\n",
        "\nh (1 workload); B = scf\n",
        "\nfifo                         4.5000         -"
        "     1.5000         -     1.5000         -\n",
        "\nno schedule vs scf: at most 3.9% lower on average over 3 workloads (the LP bound's "
        "mean ratio 0.9608 ± 0.1687; to each workload's best heuristic 1.0000)\n"};
    const char *at = out;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *hit = strstr(at, want[i]);
        cr_assert_not_null(hit, "no '%s' after the figures before it in:\n%s", want[i], out);
        at = hit + strlen(want[i]) - 1;
    }
    char row[256];
    snprintf(row, sizeof row, "\nfifo,%s,g,22.5,0.882352941", paths[0]);
    const char *csv = cli_file("r.csv"), *hit = strstr(csv, row);
    cr_assert_not_null(hit, "no '%s' in %s", row + 1, csv);
    cr_assert(!strncmp(strchr(hit + strlen(row), ',') + 1, "1,scf\n", 6), "%s", csv);
    snprintf(row, sizeof row, "\nlp-bound,%s,g,22.5,", paths[0]); /* fifo's order */
    cr_assert(strstr(csv, row), "no '%s' in %s", row + 1, csv);
    /* the learned policy is no heuristic: on h-s9 it runs the 1 s job first (3 s) and
       beats fifo (4.5 s), the best heuristic there, by a third */
    cr_assert_eq(cli("eval %s --policy learned --policy fifo", paths[2]), 0, "%s",
                 cli_file("err"));
    out = cli_file("out");
    cr_assert(strstr(out, "\nlearned                      3.0000         -     0.6667         -"
                          "     0.6667         -\n"), "%s", out);
    /* 3.98 s and 4 s jobs: learned 5.98, fifo 5.99, 0.17% apart, is no tie */
    write_in_dir(row, sizeof row, "near.weft",
                 "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 0 0 1 -\n0 1 500000000\n"
                 "job 1 0 1 0 1\ncoflow 0 0 1 -\n0 1 497500000\nend 2\n");
    cr_assert_eq(cli("eval %s --policy learned --policy fifo", row), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "learned vs fifo: avg weighted JCT 0.2% lower"), "%s",
              cli_file("out"));
}

/* `weft eval`'s ratios with weights of 1 and 20 times the least double
 * (5e-324, which the format accepts): on one link, jobs of 4 s and 1 s at
 * 0, fifo (4 + 20 x 5) / 2 = 52 units against scf's (20 x 1 + 5) / 2 =
 * 12.5, 4.16 of it, as with weights 1 and 20. The averages themselves
 * round to a few units of 5e-324 (52 / 12.5 read 4.3333); the ratios are
 * now taken over the scaled weights, as weft sim's "vs bound". */
Test(lpbound, eval_ratios_hold_for_weights_down_to_the_least_double, .fini = cli_teardown)
{
    cli_open("evaltiny");
    char path[128];
    write_in_dir(path, sizeof path, "tiny.weft",
                 "weft-workload 1\nports 2\njob 0 0 5e-324 0 1\ncoflow 0 0 1 -\n"
                 "0 1 500000000\njob 1 0 1e-322 0 1\ncoflow 0 0 1 -\n0 1 125000000\nend 2\n");
    cr_assert_eq(cli("eval %s --policy scf --policy fifo --lp-bound", path), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(strstr(out, "\nfifo                         0.0000         -     4.1600         -"
                          "     4.1600         -\n"), "%s", out);
    cr_assert(strstr(out, "\nlp-bound                     0.0000         -     1.0000"), "%s",
              out);
}

/* Sizes from 1 byte to 1e15 on one port give LP rows whose coefficients
 * span as many orders of magnitude. GLPK's simplex unscaled ran for minutes
 * on the first workload, seemingly without end; scaled each round, it
 * stopped short of an optimum on the second ("internal error", the whole
 * run lost) and ran on and on with the third (all three found by audits of
 * `weft sim`). Now a round the simplex cannot solve is solved again scaled,
 * each call within an iteration cap, and where neither finds the optimum
 * the round before's bound stands: each ends at once with a bound no
 * policy beats. A hang here is the per-command timeout (30 s). */
Test(lpbound, sizes_from_one_byte_to_1e15_end_with_a_valid_bound, .fini = cli_teardown)
{
    cli_open("lpwide");
    const char *wls[] = {
        "weft-workload 1\n"
        "ports 1\n"
        "job -3 0 1 0 2\n"
        "coflow 10 0 1 -\n"
        "0 0 1\n"
        "coflow 11 0 1 -\n"
        "0 0 1\n"
        "job 11 0 1 0 3\n"
        "coflow 10 0 1 -\n"
        "0 0 123456789\n"
        "coflow 11 0 1 10\n"
        "0 0 1\n"
        "coflow 12 0 1 -\n"
        "0 0 1\n"
        "job 18 0 1e-06 0 2\n"
        "coflow 13 0 3 -\n"
        "0 0 1\n"
        "0 0 1\n"
        "0 0 123456789\n"
        "coflow 14 0 1 -\n"
        "0 0 1e12\n"
        "job 46 0 1 0 1\n"
        "coflow 10 0 1 -\n"
        "0 0 1e15\n"
        "job 60 0 1 0 1\n"
        "coflow 10 0 1 -\n"
        "0 0 1\n"
        "job 67 0 1 0 2\n"
        "coflow 10 0 1 -\n"
        "0 0 1\n"
        "coflow 11 0 1 -\n"
        "0 0 1000000000000000.0\n"
        "job 74 0 1 0 1\n"
        "coflow 10 0 1 -\n"
        "0 0 1e9\n"
        "end 7\n",
        "weft-workload 1\n"
        "ports 1\n"
        "job 1 0 1 0 3\n"
        "coflow 1 0 1 -\n"
        "0 0 1e15\n"
        "coflow 2 0 1 1\n"
        "0 0 256\n" /* 8e6 s in: 2 bytes took 9 steps, a CCT 1% below iso */
        "coflow 3 0 1 2\n"
        "0 0 1e15\n"
        "job 2 0 1 0 1\n"
        "coflow 1 0 1 -\n"
        "0 0 1e12\n"
        "end 2\n",
        "weft-workload 1\n"
        "ports 1\n"
        "job -3 0 1000 10 2\n"
        "coflow 10 3 3 -\n"
        "0 0 2\n"
        "0 0 2\n"
        "0 0 1\n"
        "coflow 11 1e-09 6 -\n"
        "0 0 1\n"
        "0 0 1000000000000000.0\n"
        "0 0 1000.0\n"
        "0 0 1\n"
        "0 0 0.5\n"
        "0 0 0.001\n"
        "job 4 1000.0 1 0.5 1\n"
        "coflow 10 0 5 -\n"
        "0 0 1000000000000000.0\n"
        "0 0 1\n"
        "0 0 1000.0\n"
        "0 0 2\n"
        "0 0 1000000000000000.0\n"
        "job 11 1e-06 1 0 2\n"
        "coflow 10 3 5 -\n"
        "0 0 2\n"
        "0 0 1000000000000.0\n"
        "0 0 1000000000000000.0\n"
        "0 0 1000000000000000.0\n"
        "0 0 1125899906842624\n"
        "coflow 11 0 3 10\n"
        "0 0 123456789\n"
        "0 0 1000000000000.0\n"
        "0 0 1125899906842624\n"
        "job 18 0.5 1000 10 2\n"
        "coflow 10 3 4 -\n"
        "0 0 1000000000000000.0\n"
        "0 0 0.001\n"
        "0 0 123456789\n"
        "0 0 1000.0\n"
        "coflow 11 0.25 6 10\n" /* 8e6 s in: flows of 0.5 and 1 bytes took 2 steps */
        "0 0 512\n"
        "0 0 1000000000000000.0\n"
        "0 0 512\n"
        "0 0 1000000000000.0\n"
        "0 0 1024\n"
        "0 0 512\n"
        "end 4\n"};
    for (int k = 0; k < 3; k++) {
        char path[128], name[32];
        snprintf(name, sizeof name, "wide%d.weft", k);
        write_in_dir(path, sizeof path, name, wls[k]);
        cr_assert_eq(cli("sim %s --policy fifo --policy sebf --lp-bound --out %s/r%d", path,
                         cli_dir, k),
                     0, "workload %d: %s", k, cli_file("err"));
        const char *out = cli_file("out"); /* read before cli_file reuses its buffer */
        cr_assert(strstr(out, "no schedule's average weighted JCT is below "), "%s", out);
        if (k == 0) /* its third LP fails even scaled: the second's bound stands */
            cr_assert(strstr(out, "the solver stopped: the round before's bound"), "%s", out);
        if (k == 1) /* job 2 first: (8,000 + 16,008,000) / 2, the optimum */
            cr_assert(strstr(out, "is below 8.008e+06 s"), "%s", out);
        const char *pol[2] = {"fifo", "sebf"};
        for (int i = 0; i < 2; i++) {
            char name[64];
            snprintf(name, sizeof name, "r%d/%s-summary.json", k, pol[i]);
            const char *json = cli_file(name), *key = strstr(json, "\"slowdown_vs_lp_bound\":");
            cr_assert_not_null(key, "%s", json);
            double ratio = strtod(key + strlen("\"slowdown_vs_lp_bound\":"), NULL);
            cr_assert_geq(ratio, 1 - 1e-9, "workload %d, %s below the bound: %s", k, pol[i],
                          json);
        }
    }
}

/* The stop after rounds without a gain (dag_lp_stall_rounds) on a
 * generated WfCommons workload. After its third round the bound no
 * longer rises, but the next rounds still find cuts, the most violated of
 * each 0.002% to 8% below its bound: real constraints, not ones within the
 * simplex's tolerance, so by default they are no stall and all 13 rounds
 * run (the stall stop once ended them after 5). Counting every round as a
 * stall (dag_lp_stall_violation = 1) tests the stop itself: 5 rounds, at
 * the same bound here. A stop that came too early would give a lower one. */
Test(lpbound, stopping_on_a_stall_keeps_the_bound, .fini = cli_teardown)
{
    cli_open("lpstall");
    cr_assert_eq(cli("gen --shape wfcommons --jobs 20 --seed 2 -o %s/wf.weft", cli_dir), 0,
                 "%s", cli_file("err"));
    char path[128];
    snprintf(path, sizeof path, "%s/wf.weft", cli_dir);
    coflow_workload_t wl;
    coflow_fabric_t fab;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(coflow_fabric_init(&fab, wl.n_ports, 1.25e8), WEFT_OK);
    size_t stall_default = dag_lp_stall_rounds;
    double violation_default = dag_lp_stall_violation;
    dag_lp_stall_rounds = 0;
    dag_lp_bound_t full = bound_of(&wl, &fab);
    dag_lp_stall_rounds = stall_default;
    dag_lp_bound_t by_default = bound_of(&wl, &fab);
    dag_lp_stall_violation = 1;
    dag_lp_bound_t stopped = bound_of(&wl, &fab);
    dag_lp_stall_violation = 0.004;
    dag_lp_bound_t gaps = bound_of(&wl, &fab);
    dag_lp_stall_violation = violation_default;
    cr_assert_eq(by_default.n_rounds, full.n_rounds, "%zu rounds, %zu without the stall stop",
                 by_default.n_rounds, full.n_rounds);
    cr_assert_lt(stopped.n_rounds, full.n_rounds,
                 "the stall stop did not act here (%zu rounds, %zu without it): the test "
                 "needs another workload", stopped.n_rounds, full.n_rounds);
    cr_assert_float_eq(stopped.avg_weighted_jct, full.avg_weighted_jct,
                       1e-9 * full.avg_weighted_jct, "%.17g after %zu rounds, %.17g after %zu",
                       stopped.avg_weighted_jct, stopped.n_rounds, full.avg_weighted_jct,
                       full.n_rounds);
    cr_assert_geq(stopped.avg_weighted_jct, dag_weighted_bound(&wl) * (1 - 1e-12));
    /* Each round is judged by its own cuts, and one of real cuts starts the
       count again: at 0.4%, rounds 6, 8, 10, 11 and 12 are close (their most
       violated cuts 0.26% to 0.002% below their bounds) after five far ones
       (43% to 2.5%), and 7 and 9 (0.46%, 2.8%) break the run: the stall
       stop waits for rounds 10 to 12. */
    cr_assert(gaps.converged && gaps.n_rounds == 12, "%zu rounds at 0.4%%", gaps.n_rounds);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* One job on ports of 1 byte/s, each coflow one flow: A (17 bytes), B (1)
 * and C (16) from port 1 to itself at once, D (22, after C) and E (5,
 * after A and C) from 1 to 1, F (123) and G (129) from 1 to 0 after A and
 * C, and H (638) from 0 to 1 after G. Its critical path C/A -> G -> H
 * gives 17 + 129 + 638 = 784; as A and C share port 1's send side with G,
 * G cannot start before 33 and any schedule ends the job at 800 at least.
 * The LP over every parallel inequality gives 64664/81 = 798.32... (its
 * optimum found by a second solver, scripts/lpbound_check.py), but its
 * first three rounds of cuts, the most violated of each 33% to 42% below
 * its bound, all leave the bound at 784 (the fourth raises it): the stall
 * stop, which counted any round without a gain, ended there and called 784
 * converged; it counts only rounds of cuts within the simplex's tolerance
 * now, and the rounds go on to the optimum. */
Test(lpbound, cuts_that_leave_the_bound_flat_are_no_stall)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    start_one_job(&wl, &fab, 0, 1);
    static const struct {
        uint32_t src, dst;
        double bytes;
        const char *parents; /* coflow ids, 'A' = 1 */
    } cf[] = {{1, 1, 17, ""}, {1, 1, 1, ""},     {1, 1, 16, ""},  {1, 1, 22, "C"},
              {1, 1, 5, "AC"}, {1, 0, 123, "AC"}, {1, 0, 129, "AC"}, {0, 1, 638, "G"}};
    for (size_t i = 0; i < sizeof cf / sizeof cf[0]; i++) {
        cr_assert_eq(coflow_workload_add_coflow(&wl, (int64_t)i + 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, cf[i].src, cf[i].dst, cf[i].bytes), WEFT_OK);
        for (const char *p = cf[i].parents; *p; p++)
            cr_assert_eq(coflow_workload_add_parent(&wl, *p - 'A' + 1), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    dag_lp_bound_t b = bound_of(&wl, &fab);
    cr_assert_float_eq(b.avg_weighted_path, 784, 1e-9, "%.17g", b.avg_weighted_path);
    cr_assert_float_eq(b.avg_weighted_jct, 64664.0 / 81, 1e-9, "%.17g after %zu rounds",
                       b.avg_weighted_jct, b.n_rounds);
    /* every round counted as a stall: the stop of old, at 784 */
    double violation_default = dag_lp_stall_violation;
    dag_lp_stall_violation = 1;
    dag_lp_bound_t stopped = bound_of(&wl, &fab);
    dag_lp_stall_violation = violation_default;
    cr_assert_float_eq(stopped.avg_weighted_jct, 784, 1e-9, "%.17g", stopped.avg_weighted_jct);
    cr_assert_geq(sebf_avg_weighted_jct(&wl, &fab), 800 - 1e-9);
    /* A plateau stop of 3 rounds ends at the third flat one, at 784, and
       says so rather than converged; one of 4 sees the fourth round's gain
       and goes on to the optimum, as the default (20) does. */
    size_t plateau_default = dag_lp_plateau_rounds;
    dag_lp_plateau_rounds = 3;
    dag_lp_bound_t flat = any_bound_of(&wl, &fab);
    dag_lp_plateau_rounds = 4;
    dag_lp_bound_t past = bound_of(&wl, &fab);
    dag_lp_plateau_rounds = plateau_default;
    cr_assert_float_eq(flat.avg_weighted_jct, 784, 1e-9, "%.17g", flat.avg_weighted_jct);
    cr_assert(flat.plateau && !flat.converged && flat.n_rounds == 3, "plateau %d converged %d "
              "after %zu rounds", flat.plateau, flat.converged, flat.n_rounds);
    cr_assert_float_eq(past.avg_weighted_jct, 64664.0 / 81, 1e-9, "%.17g",
                       past.avg_weighted_jct);
    cr_assert(!past.plateau && past.converged && !b.plateau && b.converged);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* When GLPK's simplex finds no optimum even scaled (forced here with no
 * iterations allowed), the first round gives no bound: EINVAL naming why,
 * which `weft sim` and `weft eval` report and go on without. A later
 * round's failure keeps the round before's bound (the first of the
 * workloads of sizes_from_one_byte_to_1e15_end_with_a_valid_bound). */
Test(lpbound, a_first_round_without_an_optimum_gives_no_bound)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    smiths_instance(&wl, &fab);
    cr_assert_eq(dag_analyze(&wl, &fab), WEFT_OK);
    int cap = dag_lp_iterations_per_row;
    dag_lp_iterations_per_row = 0;
    dag_lp_bound_t b;
    weft_err_t err = dag_lp_bound(&wl, &fab, &b);
    dag_lp_iterations_per_row = cap;
    cr_assert_eq(err, WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "found no optimum of the first LP, even scaled"), "%s",
              weft_last_error());
    cr_assert_float_eq(bound_of(&wl, &fab).avg_weighted_jct, 9.75, 1e-9); /* and again */
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* Two jobs of 1 byte at 0 on the link 0 -> 1 of 1 byte/s, weights 1, each
 * with 10 s of compute after its coflow: the coflows end at 1 and 2 at the
 * earliest (C_X + C_Y >= 3), the jobs 10 s later, JCTs 11 and 12, an
 * average of 11.5, which sebf reaches. Each job ends its final compute
 * after its last coflow: without that row the LP would let the second job
 * end at 11 as the first, whatever its coflow's end (an average of 11). */
Test(lpbound, a_jobs_final_compute_follows_its_last_coflow)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_fabric_init(&fab, 2, 1.0), WEFT_OK);
    for (int64_t j = 0; j < 2; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 10), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 0, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    }
    dag_lp_bound_t b = expect_tight_bound(&wl, &fab, 11.5);
    cr_assert_float_eq(b.avg_weighted_path, 11, 1e-12, "%.17g", b.avg_weighted_path);
}

/* Two jobs of two coflows side by side, X of 1 byte on the link 0 -> 1
 * (both jobs') and Z of 100 bytes on a link of the job's own (2 -> 3, 4 ->
 * 5), all at 0 on links of 1 byte/s: each job ends at 100 whichever X goes
 * first. The first round's cuts (C_X + C_X' >= 3, each side of the link)
 * raise no job's end, and the round after finds none. Those cuts are real
 * (violated by a third of their bound), so a stall of 1 round does not
 * stop there by default; counting every round as a stall
 * (dag_lp_stall_violation = 1), it stops the cuts one round earlier, as
 * soon as a round gains nothing. */
Test(lpbound, the_first_round_without_a_gain_is_a_stall)
{
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 6);
    cr_assert_eq(coflow_fabric_init(&fab, 6, 1.0), WEFT_OK);
    for (uint32_t j = 0; j < 2; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 2 + 2 * j, 3 + 2 * j, 100), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    }
    size_t stall_default = dag_lp_stall_rounds;
    double violation_default = dag_lp_stall_violation;
    dag_lp_stall_rounds = 0;
    dag_lp_bound_t full = bound_of(&wl, &fab);
    dag_lp_stall_rounds = 1;
    dag_lp_bound_t real_cuts = bound_of(&wl, &fab);
    dag_lp_stall_violation = 1;
    dag_lp_bound_t stopped = bound_of(&wl, &fab);
    dag_lp_stall_violation = violation_default;
    dag_lp_stall_rounds = stall_default;
    cr_assert_eq(real_cuts.n_rounds, 2);
    cr_assert_eq(full.n_rounds, 2);
    cr_assert_gt(full.n_cuts, 0);
    cr_assert_float_eq(full.avg_weighted_jct, 100, 1e-9, "%.17g", full.avg_weighted_jct);
    cr_assert_eq(stopped.n_rounds, 1);
    cr_assert_eq(stopped.n_cuts, full.n_cuts);
    cr_assert_float_eq(stopped.avg_weighted_jct, 100, 1e-9, "%.17g", stopped.avg_weighted_jct);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

/* ---------------------------------------------- brute force over orders */

/* The rank of each coflow in the one fixed priority order the ordering
 * below follows at every decision (lower first). */
static size_t brute_rank[8];

static weft_err_t fixed_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    (void)ctx, (void)st;
    for (size_t i = 1; i < n; i++) /* insertion sort by rank: n <= 8 */
        for (size_t k = i; k > 0 && brute_rank[ids[k]] < brute_rank[ids[k - 1]]; k--) {
            size_t t = ids[k];
            ids[k] = ids[k - 1], ids[k - 1] = t;
        }
    return WEFT_OK;
}

static const coflow_ordering_t fixed = {.name = "fixed", .order = fixed_order};

/* Next permutation of a[0..n) in lexicographic order; false after the last. */
static bool next_perm(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return false;
    size_t k = n - 1;
    while (a[k] <= a[i - 1])
        k--;
    size_t t = a[i - 1];
    a[i - 1] = a[k], a[k] = t;
    for (size_t x = i, y = n - 1; x < y; x++, y--)
        t = a[x], a[x] = a[y], a[y] = t;
    return true;
}

static uint64_t brute_state;

static size_t brute_below(size_t n)
{
    brute_state = brute_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (size_t)((brute_state >> 33) % n);
}

/* 2 or 3 jobs of 1 or 2 coflows (the second the first's child, or not:
 * a disconnected job), 1 or 2 flows a coflow, on 2 or 3 ports of 1 or 2
 * bytes/s each way; sizes, arrivals, weights and compute times small and
 * fractional, so that releases, contention and ties all happen. */
static void tiny_workload(coflow_workload_t *wl, coflow_fabric_t *fab, uint64_t seed)
{
    brute_state = seed;
    size_t ports = 2 + brute_below(2), jobs = 2 + brute_below(2);
    coflow_workload_init(wl, ports);
    cr_assert_eq(coflow_fabric_init(fab, ports, 1.0), WEFT_OK);
    for (size_t p = 0; p < ports; p++) {
        fab->cap_out[p] = 1.0 + (double)brute_below(2);
        fab->cap_in[p] = 1.0 + (double)brute_below(2);
    }
    for (size_t j = 0; j < jobs; j++) {
        cr_assert_eq(coflow_workload_add_job(wl, (int64_t)j, 0.5 * (double)brute_below(5),
                                             1.0 + (double)brute_below(3),
                                             0.5 * (double)brute_below(2)),
                     WEFT_OK);
        size_t n = 1 + brute_below(2);
        for (size_t c = 0; c < n; c++) {
            cr_assert_eq(coflow_workload_add_coflow(wl, (int64_t)c,
                                                    0.25 * (double)brute_below(3)),
                         WEFT_OK);
            for (size_t f = 1 + brute_below(2); f > 0; f--)
                cr_assert_eq(coflow_workload_add_flow(wl, (uint32_t)brute_below(ports),
                                                      (uint32_t)brute_below(ports),
                                                      0.5 + (double)brute_below(7) * 0.75),
                             WEFT_OK);
            if (c == 1 && brute_below(4) != 0)
                cr_assert_eq(coflow_workload_add_parent(wl, 0), WEFT_OK);
        }
        cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK, "%s", weft_last_error());
    }
}

/* No schedule beats the bound: on tiny workloads, every fixed priority
 * order of the coflows (up to 6! = 720), under greedy and MADD, is a
 * schedule, and the best of them is an upper bound on the optimum that
 * comes much closer to it than any one policy (test_props.c checks the
 * policies). The bound must stay below the best, the critical-path bound
 * below it, and each job's JCT above its critical path in every schedule.
 * (Tried once on 3000 seeds, 452,240 schedules, and on 1500 seeds of jobs
 * of up to 4 coflows in random DAGs, 5,025,908: none below the bound.) */
Test(lpbound, no_fixed_priority_order_beats_the_bound)
{
    const coflow_allocator_t *allocs[] = {coflow_allocator_find("greedy"),
                                          coflow_allocator_find("madd")};
    double closest = INFINITY;
    size_t runs = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        coflow_workload_t wl;
        coflow_fabric_t fab;
        tiny_workload(&wl, &fab, seed);
        dag_lp_bound_t b = bound_of(&wl, &fab);
        cr_assert_geq(b.avg_weighted_jct, dag_weighted_bound(&wl) * (1 - 1e-12));
        size_t n = wl.n_coflows, perm[8] = {0};
        cr_assert_leq(n, 6);
        double best = INFINITY;
        for (size_t a = 0; a < 2; a++) {
            for (size_t i = 0; i < n; i++)
                perm[i] = i;
            do {
                for (size_t i = 0; i < n; i++)
                    brute_rank[perm[i]] = i;
                netsim_result_t r;
                netsim_result_init(&r);
                netsim_opts_t o = {.ordering = &fixed, .allocator = allocs[a], .check = true};
                cr_assert_eq(netsim_run(&wl, &fab, &o, &r), WEFT_OK, "%s", weft_last_error());
                cr_assert_eq(r.n_violations, 0, "seed %llu: %s", (unsigned long long)seed,
                             r.first_violation);
                best = fmin(best, r.avg_weighted_jct);
                /* and each job its critical path (netsim ends a flow whose bytes
                   left are within 1e-9 of its size: test_props.c) */
                for (size_t j = 0; j < wl.n_jobs; j++)
                    cr_assert_geq(r.job_finish_s[j] - wl.jobs[j].arrival_s,
                                  wl.jobs[j].lower_bound_s * (1 - 1e-9),
                                  "seed %llu job %zu", (unsigned long long)seed, j);
                netsim_result_destroy(&r);
                runs++;
            } while (next_perm(perm, n));
        }
        cr_assert_leq(b.avg_weighted_jct, best * (1 + 1e-9),
                      "seed %llu: the LP bound %.17g is above a schedule's %.17g",
                      (unsigned long long)seed, b.avg_weighted_jct, best);
        closest = fmin(closest, best / b.avg_weighted_jct);
        coflow_workload_destroy(&wl);
        coflow_fabric_destroy(&fab);
    }
    cr_log_info("lpbound brute force: %zu schedules; the best came within %.6f of the bound",
                runs, closest);
    /* the instances are small enough for the bound to be reached on some */
    cr_assert_leq(closest, 1 + 1e-9, "no instance where the bound is tight: %.9g", closest);
}
