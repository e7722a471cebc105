/*
 * test_schedules.c - every ordering and allocator of coflow/ end to end
 * through the emulator (netsim_run), on 2-4 coflows on 2-4 ports whose
 * schedules are worked out by hand in the comments: completion times,
 * release times of DAG children (after their parents and compute time) and
 * weighted JCTs. The emulator runs with its invariant checks on, so every
 * schedule here also passes the capacity, conservation and DAG-order checks.
 *
 * Ports run at 1 byte/s each way unless a test says otherwise; "A 0..4"
 * means A's flow sends from t=0 to t=4.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "dag/dag.h"
#include "netsim/netsim.h"

static coflow_workload_t wl;
static coflow_fabric_t fab;
static netsim_result_t res;

static void setup(void)
{
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_fabric_init(&fab, 4, 1.0), WEFT_OK);
    netsim_result_init(&res);
}

static void teardown(void)
{
    netsim_result_destroy(&res);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

TestSuite(schedules_single, .init = setup, .fini = teardown, .timeout = 20);
TestSuite(schedules_alloc, .init = setup, .fini = teardown, .timeout = 20);
TestSuite(schedules_dag, .init = setup, .fini = teardown, .timeout = 20);

#define OK(expr) cr_assert_eq((expr), WEFT_OK, "%s: %s", #expr, weft_last_error())

static void job(int64_t id, double arrival, double weight)
{
    OK(coflow_workload_add_job(&wl, id, arrival, weight, 0));
}
static void cof(int64_t id, double compute) { OK(coflow_workload_add_coflow(&wl, id, compute)); }
static void flow(uint32_t s, uint32_t d, double bytes)
{
    OK(coflow_workload_add_flow(&wl, s, d, bytes));
}
static void parent(int64_t id) { OK(coflow_workload_add_parent(&wl, id)); }
static void end_job(void) { OK(coflow_workload_finish_job(&wl)); }

/* Runs ordering `o` with allocator `a` (NULL: the ordering's default). */
static void sim(const char *o, const char *a)
{
    OK(dag_analyze(&wl, &fab));
    const coflow_ordering_t *ord = coflow_ordering_find(o);
    cr_assert_not_null(ord, "no ordering %s", o);
    const coflow_allocator_t *alloc = NULL;
    if (a) {
        alloc = coflow_allocator_find(a);
        cr_assert_not_null(alloc, "no allocator %s", a);
    }
    netsim_opts_t opts = {.ordering = ord, .allocator = alloc, .check = true};
    weft_err_t err = netsim_run(&wl, &fab, &opts, &res);
    cr_assert_eq(err, WEFT_OK, "%s/%s: %s", o, a ? a : "default", weft_last_error());
    cr_assert_eq(res.n_violations, 0, "%s/%s: %s", o, a ? a : "default", res.first_violation);
}

#define TOL 1e-9

static void expect_cct(const char *what, size_t c, double want)
{
    double got = res.coflow_finish_s[c] - res.coflow_release_s[c];
    cr_assert(fabs(got - want) <= TOL * fmax(1, want), "%s: CCT of coflow %zu is %.12g, "
              "expected %.12g", what, c, got, want);
}

static void expect_release(const char *what, size_t c, double want)
{
    double got = res.coflow_release_s[c];
    cr_assert(fabs(got - want) <= TOL * fmax(1, want), "%s: coflow %zu released at %.12g, "
              "expected %.12g", what, c, got, want);
}

static void expect_jct(const char *what, size_t j, double want)
{
    double got = res.job_finish_s[j] - wl.jobs[j].arrival_s;
    cr_assert(fabs(got - want) <= TOL * fmax(1, want), "%s: JCT of job %zu is %.12g, "
              "expected %.12g", what, j, got, want);
}

/* ---------------------------------------------------- single-stage jobs */

/*
 * Two one-coflow jobs arriving at 0, both sending from port 0:
 *   P (coflow 0): 0->1 3, 0->2 3   length 3, width 1, bytes 6, iso 6
 *   Q (coflow 1): 0->1 4           length 4, width 1, bytes 4, iso 4
 * P first (fifo: index; scf: length 3 < 4; ncf: widths tie, index): greedy
 *   gives P's 0->1 all of out0: 0..3, then P's 0->2 3..6, then Q 6..10.
 *   CCT P 6, Q 10.
 * Q first (lcf: 4 < 6 bytes; sebf, wcp, jsebf: iso 4 < 6; sincronia: on
 *   out0 (load 10) P's ratio 1/6 < Q's 1/4, so P goes last): Q 0..4, then
 *   P 4..10 (greedy: one flow after the other; madd: both at 1/2, paced to
 *   finish together at 10). CCT Q 4, P 10.
 * aalo: nothing near 10 MiB: one queue, FIFO: P 6, Q 10.
 */
static void build_port0(void)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 3);
    flow(0, 2, 3);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(0, 1, 4);
    end_job();
}

Test(schedules_single, p_first)
{
    static const char *const pol[][2] = {
        {"fifo", NULL}, {"scf", "greedy"}, {"ncf", "greedy"}, {"aalo", NULL},
        {"fifo", "madd"}, {"scf", NULL},
    };
    build_port0();
    for (size_t i = 0; i < sizeof pol / sizeof *pol; i++) {
        sim(pol[i][0], pol[i][1]);
        expect_cct(pol[i][0], 0, 6);
        expect_cct(pol[i][0], 1, 10);
    }
}

Test(schedules_single, q_first)
{
    static const char *const pol[][2] = {
        {"lcf", "greedy"}, {"sebf", NULL}, {"sebf", "greedy"}, {"sincronia", NULL},
        {"wcp", NULL}, {"jsebf", NULL}, {"wcp", "greedy"}, {"jsebf", "greedy"},
        {"lcf", NULL},
    };
    build_port0();
    for (size_t i = 0; i < sizeof pol / sizeof *pol; i++) {
        sim(pol[i][0], pol[i][1]);
        expect_cct(pol[i][0], 0, 10);
        expect_cct(pol[i][0], 1, 4);
    }
}

/*
 * NCF against SCF/SEBF:
 *   P (coflow 0): 0->2 2, 1->3 2   width 2, length 2, bytes 4, iso 2
 *   Q (coflow 1): 0->2 3           width 1, length 3, bytes 3, iso 3
 * ncf (and lcf: 3 < 4 bytes) put Q first: Q 0..3 holds out0/in2; P's 1->3
 *   runs 0..2 alongside, P's 0->2 waits for Q: 3..5. CCT Q 3, P 5.
 * scf, sebf: P first: both P flows 0..2, then Q 2..5. CCT P 2, Q 5.
 */
static void build_ncf(void)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 2, 2);
    flow(1, 3, 2);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(0, 2, 3);
    end_job();
}

Test(schedules_single, narrowest_first)
{
    build_ncf();
    sim("ncf", "greedy");
    expect_cct("ncf", 0, 5);
    expect_cct("ncf", 1, 3);
    sim("lcf", "greedy");
    expect_cct("lcf", 0, 5);
    expect_cct("lcf", 1, 3);
    sim("scf", "greedy");
    expect_cct("scf", 0, 2);
    expect_cct("scf", 1, 5);
    sim("sebf", NULL);
    expect_cct("sebf", 0, 2);
    expect_cct("sebf", 1, 5);
}

/*
 * FIFO by arrival, SCF preempts: P (job 0, at 0): 0->1 4; Q (job 1, at 1):
 * 0->1 1.
 *   fifo: P 0..4, Q 4..5: CCT P 4, Q 4.
 *   scf: Q arrives shorter: Q 1..2, P 0..1 and 2..5: CCT P 5, Q 1.
 */
Test(schedules_single, fifo_vs_preemption)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 4);
    end_job();
    job(1, 1, 1);
    cof(1, 0);
    flow(0, 1, 1);
    end_job();
    sim("fifo", NULL);
    expect_cct("fifo", 0, 4);
    expect_cct("fifo", 1, 4);
    sim("scf", "greedy");
    expect_cct("scf", 0, 5);
    expect_cct("scf", 1, 1);
}

/*
 * Aalo's queue change needs next_change: ports at 1 MiB/s. A (job 0, at 0):
 * 0->1 30 MiB; B (job 1, at 5): 0->1 8 MiB; C (job 2, at 0): 2->3 30 MiB,
 * beside A, so that the bytes of both count as they move together.
 *   0..10: A alone on port 0; at 5 B arrives, both in queue 0 (A has sent
 *   5 MiB), FIFO keeps A. At 10 A's job has sent 10 MiB: queue 1, B (queue
 *   0) preempts: B 10..18, A resumes 18..38. C 0..30. CCT A 38, B 13, C 30.
 *   fifo: A 0..30, B 30..38, C 0..30: CCT A 30, B 33, C 30.
 */
Test(schedules_single, aalo_demotes_at_threshold)
{
    const double MiB = 1048576.0;
    fab.cap_out[0] = fab.cap_in[1] = MiB;
    fab.cap_out[1] = fab.cap_in[0] = MiB;
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 30 * MiB);
    end_job();
    job(1, 5, 1);
    cof(1, 0);
    flow(0, 1, 8 * MiB);
    end_job();
    fab.cap_out[2] = fab.cap_in[3] = MiB;
    job(2, 0, 1);
    cof(1, 0);
    flow(2, 3, 30 * MiB);
    end_job();
    sim("aalo", NULL);
    expect_cct("aalo", 0, 38);
    expect_cct("aalo", 1, 13);
    expect_cct("aalo", 2, 30);
    sim("fifo", NULL);
    expect_cct("fifo", 0, 30);
    expect_cct("fifo", 1, 33);
    expect_cct("fifo", 2, 30);
}

/* The same at 10^6/7 bytes/s with B (5e6 bytes) arriving at 10.2, where
 * the emulator's two steps of rate * dt land a few ulps short of the
 * 10 MiB threshold (10485760 bytes, crossed at t = 73.40032): the queue
 * change must still happen there, in one event, not an ulp later.
 * A (2e7 bytes) 0..73.40032, B 73.40032..108.40032 (CCT 98.20032), A
 * resumes and ends at (2e7 + 5e6) * 7e-6 = 175. Events: B's arrival, the
 * threshold, B's finish, A's finish. */
Test(schedules_single, aalo_threshold_inexact)
{
    for (size_t p = 0; p < 4; p++)
        fab.cap_out[p] = fab.cap_in[p] = 1e6 / 7;
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 2e7);
    end_job();
    job(1, 10.2, 1);
    cof(1, 0);
    flow(0, 1, 5e6);
    end_job();
    sim("aalo", NULL);
    expect_cct("aalo", 0, 175);
    expect_cct("aalo", 1, 98.20032);
    cr_assert_eq(res.n_events, 4, "%zu events", res.n_events);
}

/* At 1.25e17 bytes/s a step of the clock near t = 0.1 (1.4e-17 s) moves
 * about 2 bytes, more than the 1e-9 of 10 MiB by which a job counts as
 * past a threshold: a job can stop a byte short of one, its crossing
 * predicted at a time that rounds to now. It must still cross (a step
 * later), not wait in its queue for the next flow to finish.
 * A (job 0, at 0): 0->1 3e16 bytes; B (job 1, at 0.1): 0->1 2e16.
 *   At 0.1 A has sent 1.25e16, past 10 MiB x 10^9 = 1.048576e16: queue
 *   10; B (queue 0) preempts. B climbs a queue at each threshold and
 *   reaches queue 10 at 0.1 + 1.048576e16 / 1.25e17 = 0.18388608; FIFO
 *   within the queue puts A (released first) back in front: A ends at
 *   (3e16 + 1.048576e16) / 1.25e17 = 0.32388608, B at 5e16 / 1.25e17 =
 *   0.4. (Stuck in queue 0, B would end at 0.26 and A at 0.4.) */
Test(schedules_single, aalo_crosses_a_threshold_closer_than_a_clock_step)
{
    for (size_t p = 0; p < 4; p++)
        fab.cap_out[p] = fab.cap_in[p] = 1.25e17;
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 3e16);
    end_job();
    job(1, 0.1, 1);
    cof(1, 0);
    flow(0, 1, 2e16);
    end_job();
    sim("aalo", NULL);
    expect_cct("aalo", 0, 0.32388608);
    expect_cct("aalo", 1, 0.3);
}

/* Late in a trace a step of the clock moves more bytes than the 1e-9 of
 * 10 MiB by which a job counts as past a threshold (at 9e8 s a step is
 * 1.2e-7 s, 15 bytes at 1 Gbit/s), so the event of a crossing can land a
 * step short of it and the crossing comes a step later. A few steps, not
 * 1e-12 of the clock: that was 0.9 ms at 9e8 s, in which A ended in queue 0
 * (CCT 0.0843). At 1.25e8 bytes/s, A (job 0, at T): 0->1 10 MiB + 51200;
 * B (job 1, at T + 0.001): 0->1 12 MiB. A (queue 0, released first) until
 * it crosses 10 MiB at T + 0.08388608; B preempts and crosses at
 * T + 0.16777216; in queue 1 A goes first (FIFO) and ends 51200 bytes
 * later: CCT A 0.16818176; B ends with every byte sent, at T + 0.184958976.
 * The same at T = 0, 1e8, 9e8 and 987654321.25, to within a few steps of
 * the clock there. */
Test(schedules_single, aalo_crosses_a_threshold_late_in_a_trace)
{
    static const double starts[] = {0, 1e8, 9e8, 987654321.25};
    const double MiB = 1048576.0;
    for (size_t p = 0; p < 4; p++)
        fab.cap_out[p] = fab.cap_in[p] = 1.25e8;
    for (size_t k = 0; k < sizeof starts / sizeof *starts; k++) {
        double t = starts[k], tol = 64 * DBL_EPSILON * fmax(1, t);
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, 4);
        job(0, t, 1);
        cof(1, 0);
        flow(0, 1, 10 * MiB + 51200);
        end_job();
        job(1, t + 0.001, 1);
        cof(1, 0);
        flow(0, 1, 12 * MiB);
        end_job();
        sim("aalo", NULL);
        double cct_a = res.coflow_finish_s[0] - res.coflow_release_s[0];
        double end_b = res.coflow_finish_s[1] - t;
        cr_assert(fabs(cct_a - 0.16818176) <= tol && fabs(end_b - 0.184958976) <= tol,
                  "from %.17g s: CCT of A %.17g (want 0.16818176), B ends %.17g s later "
                  "(want 0.184958976)",
                  t, cct_a, end_b);
    }
}

/*
 * Sincronia's weights: A (job 0, weight 1): 0->1 2; B (job 1, weight wb):
 * 0->1 4, both at 0. One bottleneck (out0, load 6): BSSI puts last the
 * coflow with the smallest w/d.
 *   wb = 3: A's 1/2 < B's 3/4: A last. B 0..4, A 4..6: CCT A 6, B 4;
 *     weighted JCT (1*6 + 3*4) / 2 = 9 (A first would give (2 + 18)/2 = 10).
 *   wb = 1: B's 1/4 < 1/2: B last. A 0..2, B 2..6: weighted JCT (2 + 6)/2 = 4.
 */
Test(schedules_single, sincronia_weights)
{
    for (int pass = 0; pass < 2; pass++) {
        double wb = pass ? 1 : 3;
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, 4);
        job(0, 0, 1);
        cof(1, 0);
        flow(0, 1, 2);
        end_job();
        job(1, 0, wb);
        cof(1, 0);
        flow(0, 1, 4);
        end_job();
        sim("sincronia", NULL);
        if (pass == 0) {
            expect_jct("sincronia w=3", 0, 6);
            expect_jct("sincronia w=3", 1, 4);
            cr_assert(fabs(res.avg_weighted_jct - 9) < TOL, "%.12g", res.avg_weighted_jct);
        } else {
            expect_jct("sincronia w=1", 0, 2);
            expect_jct("sincronia w=1", 1, 6);
            cr_assert(fabs(res.avg_weighted_jct - 4) < TOL, "%.12g", res.avg_weighted_jct);
        }
    }
}

/*
 * Tiny weights beside a large one: job 0 (weight 1e15) sends 10 on 2->3;
 * jobs 1 and 2 (weight 1e-300 each) send 1.5 and 1 on 0->1. Smith's rule
 * (wcp, jsebf, jsebf-cp: 1.5e300 against 1e300) and BSSI (on out0 job 1's
 * w/d is the smaller: last) put job 2 first: CCT 1, job 1's 2.5. Scaling
 * the weights down to bring 1e15 to [1, 2) put 1e-300 among the
 * subnormals, and keys of 1 s over them read inf: jobs 1 and 2 tied, and
 * job 1 (its longer path, or its index) went first.
 */
Test(schedules_single, tiny_weights_beside_a_large_one_keep_their_order)
{
    static const char *ords[] = {"wcp", "jsebf", "jsebf-cp", "sincronia"};
    job(0, 0, 1e15);
    cof(1, 0);
    flow(2, 3, 10);
    end_job();
    job(1, 0, 1e-300);
    cof(1, 0);
    flow(0, 1, 1.5);
    end_job();
    job(2, 0, 1e-300);
    cof(1, 0);
    flow(0, 1, 1);
    end_job();
    for (size_t k = 0; k < sizeof ords / sizeof *ords; k++) {
        sim(ords[k], NULL);
        expect_cct(ords[k], 2, 1);
        expect_cct(ords[k], 1, 2.5);
    }
}

/*
 * The weights are scaled by the largest's power of two, whichever job comes
 * last: job 0 (weight 0.5) sends 1 byte 0->1, job 1 (weight 0.75) 2 bytes
 * 0->2, both on out0; job 2 (weight 5e-324, the least double) 1 byte 1->3
 * apart. Keys: job 0 1 s / 0.5 = 2 against job 1's 2 s / 0.75 = 2.67 (and
 * Sincronia on out0: 0.5 / 1 against 0.75 / 2, job 1 the smaller ratio,
 * last): job 0 0..1, job 1 1..3, job 2 0..1. CCTs 1, 3, 1. Scaled by job
 * 2's weight (2^1074), 0.5 and 0.75 read inf, their keys 0 tie, and job 1
 * would go first by its longer path: CCTs 3, 2.
 */
Test(schedules_single, weights_scaled_by_the_largest_not_the_last)
{
    static const char *ords[] = {"wcp", "jsebf", "jsebf-cp", "sincronia"};
    static const double weight[3] = {0.5, 0.75, 0x1p-1074};
    static const uint32_t src[3] = {0, 0, 1}, dst[3] = {1, 2, 3};
    for (int j = 0; j < 3; j++) {
        job(j, 0, weight[j]);
        cof(1, 0);
        flow(src[j], dst[j], j == 1 ? 2 : 1);
        end_job();
    }
    for (size_t k = 0; k < sizeof ords / sizeof *ords; k++) {
        sim(ords[k], NULL);
        expect_cct(ords[k], 0, 1);
        expect_cct(ords[k], 1, 3);
        expect_cct(ords[k], 2, 1);
    }
}

/*
 * Within a coflow greedy goes by port, not by the order flows are listed:
 *   A (coflow 0): 0->3 1, then 0->1 3;  B (coflow 1): 2->3 1. fifo: A, B.
 * A is walked by receiver (1 sender x 2 receivers either way), receiver 1
 * before 3: its 0->1 takes out0 over 0..3, then its 0->3 runs 3..4; B
 * finds in3 free: 0..1. CCT A 4, B 1. (Taken as listed, A's 0->3 would
 * run first, 0..1, and B would wait for in3: 1..2.)
 */
Test(schedules_single, greedy_goes_by_port_within_a_coflow)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 3, 1);
    flow(0, 1, 3);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(2, 3, 1);
    end_job();
    sim("fifo", "greedy");
    expect_cct("greedy", 0, 4);
    expect_cct("greedy", 1, 1);
}

/* ---------------------------------------------------------- allocators */

/*
 * The same order (fifo: P before Q) under every allocator, on build_port0:
 *   greedy, madd: P 6, Q 10 (see above; madd paces P's two flows at 1/2
 *     each, both done at 6).
 *   fair: out0 carries three flows at 1/3; at 9 P's flows (3 bytes each)
 *     finish, Q has 1 byte left, alone at rate 1: done at 10. P 9, Q 10.
 *   srf: by bytes left, P's 0->1 (3) 0..3, P's 0->2 (3, listed after) 3..6,
 *     Q (4) 6..10 -- and the same under lcf, whose order (Q first) srf
 *     ignores. P 6, Q 10.
 */
Test(schedules_alloc, every_allocator_port0)
{
    build_port0();
    sim("fifo", "greedy");
    expect_cct("greedy", 0, 6);
    expect_cct("greedy", 1, 10);
    sim("fifo", "madd");
    expect_cct("madd", 0, 6);
    expect_cct("madd", 1, 10);
    sim("fifo", "fair");
    expect_cct("fair", 0, 9);
    expect_cct("fair", 1, 10);
    sim("fifo", "srf");
    expect_cct("srf", 0, 6);
    expect_cct("srf", 1, 10);
    sim("lcf", "srf");
    expect_cct("lcf/srf", 0, 6);
    expect_cct("lcf/srf", 1, 10);
    sim("fair", NULL);
    expect_cct("fair policy", 0, 9);
    sim("srf", NULL);
    expect_cct("srf policy", 0, 6);
}

/*
 * A week into a trace the clock steps by 1.2e-10 s. A (job 1 at 604800 s):
 * 0->1 of 4e-7 bytes, iso 4e-7 s; B (job 2, 1e-7 s later): 2->3 4e-7 bytes.
 * Neither slows the other: CCT A 4e-7, B 4e-7, under every allocator. A
 * flow used to count as finished once it had less than 1e-12 of the
 * clock's time (6e-7 s) left, so A ended at B's arrival, CCT 1e-7.
 */
Test(schedules_alloc, a_short_flow_late_in_a_trace_takes_its_time)
{
    job(1, 604800, 1);
    cof(1, 0);
    flow(0, 1, 4e-7);
    end_job();
    job(2, 604800.0000001, 1);
    cof(1, 0);
    flow(2, 3, 4e-7);
    end_job();
    const char *runs[][2] = {{"fifo", "greedy"}, {"sebf", "madd"}, {"fifo", "fair"},
                             {"fifo", "srf"},    {"fair", NULL},   {"srf", NULL}};
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        sim(runs[k][0], runs[k][1]);
        expect_cct(runs[k][0], 0, 4e-7);
        expect_cct(runs[k][0], 1, 4e-7);
    }
}

/*
 * There, where the clock steps by more than a billionth of such a flow, a
 * flow whose last step of the clock falls a little short of its bytes ends
 * within its time tolerance (8 steps of the clock at its rate), in that
 * event, not in a step of its own. Eight jobs, 1e-6 s apart, each of one
 * coflow: 0->1 b bytes and 2->3 b / 2, with b from 4e-7 up by 3.1e-11, so
 * each event rounds its own way. Every allocator sends 2->3 at full rate
 * (madd: paced at 1/2 and backfilled to 1), done at b / 2, and 0->1 at
 * full rate, done at b: each job's two finishes and each later job's
 * arrival are 23 events.
 */
Test(schedules_alloc, short_flows_late_in_a_trace_end_in_one_event_each)
{
    for (int k = 0; k < 8; k++) {
        double b = 4e-7 + k * 3.1e-11;
        job(k, 604800 + k * 1e-6, 1);
        cof(1, 0);
        flow(0, 1, b);
        flow(2, 3, b / 2);
        end_job();
    }
    const char *runs[][2] = {{"fifo", "greedy"}, {"sebf", "madd"}, {"fifo", "fair"},
                             {"fifo", "srf"}};
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        sim(runs[k][0], runs[k][1]);
        cr_assert_eq(res.n_events, 23, "%s: %zu events", runs[k][1], res.n_events);
        for (size_t c = 0; c < 8; c++)
            expect_cct(runs[k][1], c, 4e-7 + c * 3.1e-11);
    }
}

/*
 * MADD's pacing leaves room: A (coflow 0): 0->1 4, 2->3 1; B (coflow 1):
 * 2->3 2; fifo order (A first).
 *   greedy: A's flows at 1 and 1; A's 2->3 done at 1; B 1..3; A at 4.
 *     CCT A 4, B 3.
 *   madd: A's bottleneck is 4: rates 1 and 1/4. B gets out2's 3/4: done at
 *     2 / (3/4) = 8/3. Then A's 2->3 has 1 - 2/3 = 1/3 left, its 0->1 4/3:
 *     Gamma 4/3, rates 1 and 1/4, both done at 4. CCT A 4, B 8/3.
 */
Test(schedules_alloc, madd_pacing_helps_the_second)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 4);
    flow(2, 3, 1);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(2, 3, 2);
    end_job();
    sim("fifo", "greedy");
    expect_cct("greedy", 0, 4);
    expect_cct("greedy", 1, 3);
    sim("fifo", "madd");
    expect_cct("madd", 0, 4);
    expect_cct("madd", 1, 8.0 / 3);
}

/*
 * Fair against greedy: A (coflow 0): 0->1 6, 0->2 6; B (coflow 1): 3->1 3.
 *   fair: out0 and in1 both split two ways: every flow at 1/2. B done at 6;
 *     then A's flows share out0 at 1/2 with 3 bytes each left: done at 12.
 *     CCT A 12, B 6.
 *   greedy (A first): A's 0->1 takes out0 and in1: 0..6, B waits for in1,
 *     A's 0->2 waits for out0; at 6 both start: B 6..9, A's 0->2 6..12.
 *     CCT A 12, B 9.
 */
Test(schedules_alloc, fair_shares)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 6);
    flow(0, 2, 6);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(3, 1, 3);
    end_job();
    sim("fifo", "fair");
    expect_cct("fair", 0, 12);
    expect_cct("fair", 1, 6);
    sim("fifo", "greedy");
    expect_cct("greedy", 0, 12);
    expect_cct("greedy", 1, 9);
}

/* --------------------------------------------------------- DAG workloads */

/*
 * Job P (weight wp): p1 (coflow 0) 0->1 2; p2 (coflow 1, after p1, compute
 *   1) 0->1 1. Critical path 2 + 1 + 1 = 4; work 2 + 1 = 3.
 * Job Q (weight wq): q1 (coflow 2) 0->1 3; q2 (coflow 3) 2->3 3, parallel.
 *   Critical path 3; work 6.
 */
static void build_pq(double wp, double wq)
{
    job(0, 0, wp);
    cof(1, 0);
    flow(0, 1, 2);
    cof(2, 1);
    flow(0, 1, 1);
    parent(1);
    end_job();
    job(1, 0, wq);
    cof(1, 0);
    flow(0, 1, 3);
    cof(2, 0);
    flow(2, 3, 3);
    end_job();
}

/*
 * wcp, weights 1: Q (path 3) before P (path 4). q1, q2 0..3 (Q's JCT 3); p1
 * 3..5; p2 released at 5 + 1 = 6, runs 6..7: P's JCT 7. Same under greedy
 * and madd (every coflow here has one flow per port).
 */
Test(schedules_dag, wcp_shortest_path_first)
{
    build_pq(1, 1);
    for (int pass = 0; pass < 2; pass++) {
        sim("wcp", pass ? "greedy" : NULL);
        expect_jct("wcp", 0, 7);
        expect_jct("wcp", 1, 3);
        expect_release("wcp", 1, 6);
        expect_cct("wcp", 0, 5);
        expect_cct("wcp", 1, 1);
    }
}

/*
 * jsebf, weights 1: P (work 3) before Q (work 6). 0..2: p1 on out0, q2 on
 *   out2; q1 waits. 2: p1 done, p2 computes until 3; q1 starts (Q alone).
 *   3: q2 done and p2 released in the same decision: P's work 1 < Q's
 *   (q1 has 2 left) 2: p2 3..4 (P's JCT 4), q1 pauses, resumes 4..6 (Q's
 *   JCT 6).
 * The same schedule under wcp when P weighs 2 (path 4/2 = 2 < 3; at 3:
 *   P 1/2 < Q 2).
 */
Test(schedules_dag, jsebf_least_work_first)
{
    build_pq(1, 1);
    sim("jsebf", NULL);
    expect_jct("jsebf", 0, 4);
    expect_jct("jsebf", 1, 6);
    expect_release("jsebf", 1, 3);
    expect_cct("jsebf", 2, 6);
    expect_cct("jsebf", 3, 3);
    expect_cct("jsebf", 1, 1);
}

Test(schedules_dag, wcp_weighted)
{
    build_pq(2, 1);
    sim("wcp", NULL);
    expect_jct("wcp wp=2", 0, 4);
    expect_jct("wcp wp=2", 1, 6);
    expect_release("wcp wp=2", 1, 3);
    cr_assert(fabs(res.avg_weighted_jct - (2 * 4 + 1 * 6) / 2.0) < TOL, "%.12g",
              res.avg_weighted_jct);
}

/* jsebf with Q weighing 3: Q's 6/3 = 2 < P's 3: Q first, the wcp schedule:
 * Q's JCT 3, P's 7 (p2 released at 6). */
Test(schedules_dag, jsebf_weighted)
{
    build_pq(1, 3);
    sim("jsebf", NULL);
    expect_jct("jsebf wq=3", 0, 7);
    expect_jct("jsebf wq=3", 1, 3);
    expect_release("jsebf wq=3", 1, 6);
}

/*
 * The DAG under the single-coflow policies (weights 1), to check release
 * order and compute time with them too:
 *   fifo (greedy): p1, q1, q2 all released at 0, order by index: p1 0..2
 *     and q2 0..3; q1 2..5 (p2 is released at 3 but comes after q1 in
 *     release order): p2 5..6. P's JCT 6, Q's 5.
 *   sebf (madd): at 0 p1 (iso 2) < q1, q2 (3): p1 0..2, q2 0..3; q1 2..;
 *     at 3 p2 (iso 1) < q1 (2 left): p2 3..4, q1 4..6: P 4, Q 6.
 *   sincronia (greedy), at 0: loads out0 p1 2 + q1 3 = 5, in1 5, out2 3,
 *     in3 3. Bottleneck out0: ratios p1 1/2, q1 1/3: q1 last; scale p1's
 *     weight 1 - 1 * 2/3 = 1/3. Next (out2 3 = in3 3 > out0 2): only q2 on
 *     it, q2 next to last. Order p1, q2, q1: p1 0..2, q2 0..3, q1 2..;
 *     at 3: p2 (1) and q1 (2 left) on out0: p2 ratio 1 > q1 1/2: q1 last:
 *     p2 3..4, q1 4..6. P 4, Q 6.
 *   aalo: nothing near 10 MiB: FIFO, like fifo: P 6, Q 5.
 */
Test(schedules_dag, single_coflow_policies_on_a_dag)
{
    build_pq(1, 1);
    sim("fifo", NULL);
    expect_jct("fifo", 0, 6);
    expect_jct("fifo", 1, 5);
    expect_release("fifo", 1, 3);
    sim("aalo", NULL);
    expect_jct("aalo", 0, 6);
    expect_jct("aalo", 1, 5);
    sim("sebf", NULL);
    expect_jct("sebf", 0, 4);
    expect_jct("sebf", 1, 6);
    sim("sincronia", NULL);
    expect_jct("sincronia", 0, 4);
    expect_jct("sincronia", 1, 6);
}
