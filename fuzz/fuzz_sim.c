/*
 * fuzz_sim.c - libFuzzer target for the emulator (netsim/): the input is a
 * small multi-stage workload and a policy, built through the workload API,
 * replayed with --check's invariant checks on. The readers are fuzzed on
 * their own; here every input is a valid workload, so any error or any
 * violation the checks find is a bug of the emulator or of a policy.
 *
 * Input: byte 0 picks the ordering (every one in the registry, the learned
 * one with random parameters), byte 1 the allocator (low 7 bits: 0 for the
 * ordering's default, else one of the registry's; bit 7: Sincronia's
 * search by blocks and per-flow fair's heap of ports from the first port,
 * not only on large fabrics), byte 2 flags (bit 0: every port at
 * the same rate; bit 1: a decision tick; bit 2: eager pacing, netsim's
 * reference path; bit 3: ports twice as fast one way; bit 4: a wide
 * fabric, up to 150 ports instead of 8, so port sets span words; bits 5
 * to 7, the allocators' and orderings' slower ways kept for comparison
 * (coflow_internal.h): a list of the ports used instead of clearing them
 * all, no memory of the coflows a walk gave nothing, sorts from scratch
 * instead of from the last order); then
 * the workload: 1-5 jobs of 1-4 coflows, each of 1-6 flows between any
 * ports or a shuffle of up to 8 x 8 (every sender to every receiver,
 * listed as the Facebook trace's are), parents among the earlier
 * coflows of the job (any subset of the three before), and sizes,
 * rates and times from two-byte or one-byte draws, each often repeated
 * exactly (ties are where orderings and allocators break rules). Values
 * stay in a range the clock resolves (the check calls a job whose clock
 * steps by more than 1e-3 of its lower bound a violation of its own):
 * sizes 100 bytes to 1 MB (a shuffle's even split: from 12.5 bytes) on
 * ports of 1e4 to 1e8 bytes/s, compute times up to 100 s, arrivals up to
 * 500 s; only ratios matter, so times 10^4 that is flows of 125 kB to
 * 10 GB on ports of 100 MB/s to 1 TB/s.
 *
 * Checks, besides the sanitizers: the run succeeds with no violation
 * (capacity, work conservation where promised, bytes conserved, DAG order
 * and compute times, every flow finished, no CCT or JCT below its bound:
 * netsim/check.c); each coflow finishes with its last flow and no flow
 * before its bytes at its slower port allow; a second run without the
 * checks and without per-flow times finishes every coflow and job at the
 * same instants, to the bit (the checks restore what they recompute, and
 * a run depends on nothing but its input); and the average weighted JCT
 * is not below the LP lower bound (dag/lpbound.c), which no schedule beats.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coflow/coflow.h"
#include "coflow/coflow_internal.h"
#include "dag/dag.h"
#include "fuzz/fuzz_common.h"
#include "netsim/netsim.h"

#define MAX_PORTS 8
#define MAX_JOBS 5
#define MAX_COFLOWS 4 /* per job */
#define MAX_FLOWS 6   /* per coflow, but for shuffles */
#define MAX_SHUFFLE 8 /* senders, and receivers, of a shuffle */
#define MAX_WIDE_PORTS 150 /* a wide fabric's: port sets of three words */

/* 10^(lo + span * x / 65535) for the input's next two bytes x. */
static double decades16(fuzz_input_t *in, double lo, double span)
{
    unsigned x = fuzz_next(in) << 8;
    x |= fuzz_next(in);
    return pow(10, lo + span * (double)x / 65535);
}

/* The same from one byte: 256 values, so equal draws are common. */
static double decades8(fuzz_input_t *in, double lo, double span)
{
    return pow(10, lo + span * (double)fuzz_next(in) / 255);
}

/* A time: 0 for a third of the draws (nothing to wait for), else 1 ms to
 * 10^top_decade s. */
static double a_time(fuzz_input_t *in, double top_decade)
{
    unsigned b = fuzz_next(in);
    return b % 3 == 0 ? 0 : decades8(in, -3, top_decade + 3);
}

/* n distinct ports of `ports` into out[], in port order: from a start,
 * each next one a step further (the first unused one from there). */
static size_t pick_ports(fuzz_input_t *in, size_t ports, size_t n, uint32_t *out)
{
    bool used[MAX_WIDE_PORTS] = {false};
    size_t p = fuzz_next(in) % ports;
    if (n > ports)
        n = ports;
    for (size_t i = 0; i < n; i++) {
        while (used[p])
            p = (p + 1) % ports;
        used[p] = true;
        out[i] = (uint32_t)p;
        p = (p + 1 + fuzz_next(in) % 8) % ports;
    }
    size_t k = 0;
    for (p = 0; p < ports; p++)
        if (used[p])
            out[k++] = (uint32_t)p;
    return n;
}

/* A shuffle: every sender to every receiver, listed receiver by receiver,
 * senders in port order, as the Facebook trace's reader lists them (the
 * emulator keeps port and group sets for those, coflow.h); a reducer's
 * bytes split evenly over its senders, or a size per flow. */
static void add_shuffle(fuzz_input_t *in, coflow_workload_t *wl, size_t ports, double *size)
{
    uint32_t snd[MAX_SHUFFLE], rcv[MAX_SHUFFLE];
    size_t ns = pick_ports(in, ports, 1 + fuzz_next(in) % MAX_SHUFFLE, snd);
    size_t nr = pick_ports(in, ports, 1 + fuzz_next(in) % MAX_SHUFFLE, rcv);
    bool even = fuzz_next(in) % 2;
    for (size_t r = 0; r < nr; r++) {
        if (even)
            *size = decades16(in, 2, 4);
        for (size_t k = 0; k < ns; k++) {
            if (!even && fuzz_next(in) % 4) /* else the size before: a tie */
                *size = decades16(in, 2, 4);
            if (coflow_workload_add_flow(wl, snd[k], rcv[r], even ? *size / (double)ns : *size) !=
                WEFT_OK)
                fuzz_die("a flow in range was refused", weft_last_error());
        }
    }
}

static void build(fuzz_input_t *in, unsigned flags, coflow_workload_t *wl, coflow_fabric_t *fab)
{
    size_t ports = 1 + fuzz_next(in) % (flags & 16 ? MAX_WIDE_PORTS : MAX_PORTS);
    coflow_workload_init(wl, ports);
    if (coflow_fabric_init(fab, ports, 1e6) != WEFT_OK)
        fuzz_die("coflow_fabric_init", weft_last_error());
    if (!(flags & 1))
        for (size_t p = 0; p < ports; p++) {
            fab->cap_out[p] = decades8(in, 4, 4);
            fab->cap_in[p] = flags & 8 ? 2 * fab->cap_out[p] : decades8(in, 4, 4);
        }
    size_t jobs = 1 + fuzz_next(in) % MAX_JOBS;
    double arrival = 0, size = 100;
    for (size_t j = 0; j < jobs; j++) {
        arrival += a_time(in, 2);
        double weight = decades8(in, -1, 2), final_compute = a_time(in, 2);
        if (coflow_workload_add_job(wl, (int64_t)j, arrival, weight, final_compute) != WEFT_OK)
            fuzz_die("a job in range was refused", weft_last_error());
        size_t nc = 1 + fuzz_next(in) % MAX_COFLOWS;
        for (size_t c = 0; c < nc; c++) {
            if (coflow_workload_add_coflow(wl, (int64_t)c, a_time(in, 2)) != WEFT_OK)
                fuzz_die("a coflow in range was refused", weft_last_error());
            unsigned kind = fuzz_next(in);
            size_t nf = kind % 4 == 0 ? 0 : 1 + kind % MAX_FLOWS;
            if (!nf)
                add_shuffle(in, wl, ports, &size);
            for (size_t f = 0; f < nf; f++) {
                uint32_t src = fuzz_next(in) % ports, dst = fuzz_next(in) % ports;
                if (fuzz_next(in) % 4) /* else the size before: a tie */
                    size = decades16(in, 2, 4);
                if (coflow_workload_add_flow(wl, src, dst, size) != WEFT_OK)
                    fuzz_die("a flow in range was refused", weft_last_error());
            }
            unsigned parents = c ? fuzz_next(in) : 0;
            for (size_t k = 1; k <= 3 && k <= c; k++)
                if (parents & (1u << (k - 1)) &&
                    coflow_workload_add_parent(wl, (int64_t)(c - k)) != WEFT_OK)
                    fuzz_die("a parent id was refused", weft_last_error());
        }
        if (coflow_workload_finish_job(wl) != WEFT_OK)
            fuzz_die("a job of earlier parents was refused", weft_last_error());
    }
    if (dag_analyze(wl, fab) != WEFT_OK)
        fuzz_die("dag_analyze refused a valid workload", weft_last_error());
    fuzz_check_workload(wl);
}

static void run(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                const netsim_opts_t *opts, netsim_result_t *r, const char *what)
{
    netsim_result_init(r);
    if (netsim_run(wl, fab, opts, r) != WEFT_OK)
        fuzz_die(what, weft_last_error());
    if (r->n_violations)
        fuzz_die("--check found a violation", r->first_violation);
}

/* A coflow ends with its last flow, and no flow ends before its release
 * plus its bytes at its slower port (less the 1e-9 of its size that
 * netsim counts as sent: FINISH_REL_TOL). */
static void check_flows(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                        const netsim_result_t *r)
{
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        double last = -INFINITY;
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            const coflow_flow_t *fl = &wl->flows[f];
            double fin = r->flow_finish_s[f],
                   alone = fl->bytes / fmin(fab->cap_out[fl->src], fab->cap_in[fl->dst]),
                   earliest = r->coflow_release_s[c] + alone;
            if (!(fin >= earliest * (1 - 1e-12) - 1e-9 * alone)) {
                char d[160];
                snprintf(d, sizeof d, "flow %zu at %.17g, its bytes allow %.17g", f, fin,
                         earliest);
                fuzz_die("a flow finished faster than its ports allow", d);
            }
            last = fmax(last, fin);
        }
        if (last != r->coflow_finish_s[c])
            fuzz_die("a coflow did not finish with its last flow", NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};
    const coflow_ordering_t *const *ords = coflow_orderings();
    const coflow_allocator_t *const *allocs = coflow_allocators();
    size_t n_ords = 0, n_allocs = 0;
    while (ords[n_ords])
        n_ords++;
    while (allocs[n_allocs])
        n_allocs++;
    unsigned o = fuzz_next(&in), a = fuzz_next(&in), flags = fuzz_next(&in);
    bool from_first_port = a & 128;
    a &= 127;
    /* NOLINTBEGIN(clang-analyzer-core.DivideZero): neither registry is empty */
    netsim_opts_t opts = {.ordering = ords[o % n_ords],
                          .allocator = a ? allocs[(a - 1) % n_allocs] : NULL,
                          .check = true,
                          .eager_pacing = flags & 4,
                          .policy_seed = 1 + o,
                          .record_flows = true};
    /* NOLINTEND(clang-analyzer-core.DivideZero) */
    coflow_workload_t wl;
    coflow_fabric_t fab;
    build(&in, flags, &wl, &fab);
    if (flags & 2) /* 10 s to 1000 s: at most some thousands of ticks */
        opts.tick_s = decades8(&in, 1, 2);

    size_t clear_all_max = coflow_clear_all_ports_max, blocks_from = coflow_sinc_blocks_from,
           heap_from = coflow_fair_heap_from;
    if (flags & 32)
        coflow_clear_all_ports_max = 0;
    if (from_first_port)
        coflow_sinc_blocks_from = coflow_fair_heap_from = 0;
    coflow_walk_memory_off = flags & 64;
    coflow_keyctx_sort_fresh = flags & 128;

    netsim_result_t checked, plain;
    run(&wl, &fab, &opts, &checked, "a checked run failed");
    check_flows(&wl, &fab, &checked);
    opts.check = false;
    opts.record_flows = false;
    run(&wl, &fab, &opts, &plain, "a run without checks failed");
    if (memcmp(checked.coflow_finish_s, plain.coflow_finish_s,
               wl.n_coflows * sizeof(double)) ||
        memcmp(checked.job_finish_s, plain.job_finish_s, wl.n_jobs * sizeof(double)))
        fuzz_die("a run without checks finished a coflow or job at another time", NULL);

    coflow_clear_all_ports_max = clear_all_max;
    coflow_sinc_blocks_from = blocks_from;
    coflow_fair_heap_from = heap_from;
    coflow_walk_memory_off = coflow_keyctx_sort_fresh = false;

    dag_lp_bound_t lb;
    if (dag_lp_bound(&wl, &fab, &lb) != WEFT_OK)
        fuzz_die("dag_lp_bound failed", weft_last_error());
    if (checked.avg_weighted_jct < lb.avg_weighted_jct * (1 - 1e-6)) {
        char d[128];
        snprintf(d, sizeof d, "%.17g against %.17g", checked.avg_weighted_jct,
                 lb.avg_weighted_jct);
        fuzz_die("the average weighted JCT is below the LP bound", d);
    }
    dag_lp_thread_done();
    netsim_result_destroy(&checked);
    netsim_result_destroy(&plain);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
    return 0;
}
