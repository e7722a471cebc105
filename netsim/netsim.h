/*
 * netsim.h - the event-driven flow-level emulator of a non-blocking fabric.
 *
 * netsim_run() replays a workload under one ordering and one allocator and
 * records when every coflow is released and finishes. There is no time step:
 * between two events rates are constant, so the emulator jumps to the next
 * event (job arrival, coflow release, flow finish, policy tick); events at
 * the same instant are handled in one decision, and rates are recomputed
 * from zero at every decision. Completion times are exact up to floating
 * point.
 */
#ifndef NETSIM_H
#define NETSIM_H

#include <stdatomic.h>
#include <stdio.h>

#include "../coflow/coflow.h"

typedef struct {
    const coflow_ordering_t *ordering;   /* required */
    const coflow_allocator_t *allocator; /* NULL: the ordering's default */
    double tick_s;      /* > 0: extra decision this often (0: the ordering's) */
    bool check;         /* verify invariants at every decision (slower) */
    bool eager_pacing;  /* false (default): an allocator that can (madd)
                           paces a coflow as one shrinking scale, so a
                           decision costs its ports, not its flows, and
                           per-flow fair is kept by port pair; true: every
                           flow is rated and advanced one by one (the
                           reference both shortcuts are checked against;
                           same schedule up to float rounding) */
    const char *model_path; /* borrowed: model of the learned ordering, NULL: random */
    uint64_t policy_seed;   /* seed of the learned ordering's random parameters */
    const void *policy_hook; /* borrowed: coflow_state_t.policy_hook (training) */
    FILE *scores_out;       /* borrowed: coflow_state_t.scores_out (--scores), or NULL */
    bool record_flows;  /* also record when every flow finishes
                           (netsim_result_t.flow_finish_s): 8 bytes a flow */
    /* Borrowed, or NULL: the run keeps here how many coflows have
       finished so far (a relaxed store at each), for a progress display
       read from another thread (weft sim). */
    _Atomic size_t *coflows_done;
} netsim_opts_t;

/* A distribution of completion times (seconds). Percentiles are nearest-rank:
 * p95 is the smallest value with at least 95% of the values <= it. All zero
 * for an empty set. */
typedef struct {
    double avg, p50, p95, p99, max;
} netsim_dist_t;

typedef struct {
    /* per coflow, [n_coflows] */
    double *coflow_release_s;
    double *coflow_finish_s;
    /* per job, [n_jobs] */
    double *job_finish_s;      /* last coflow finish + final compute */
    /* per flow, [n_flows]: when it finished (a coflow finishes with its last
     * flow); NULL unless netsim_opts_t.record_flows */
    double *flow_finish_s;
    /* summary */
    netsim_dist_t cct;         /* seconds */
    netsim_dist_t jct;         /* seconds */
    double avg_weighted_jct;   /* sum w*JCT / n_jobs */
    double slowdown_vs_bound;  /* avg_weighted_jct / same mean of lower bounds */
    double makespan_s;         /* last finish - first arrival */
    double port_utilization;   /* bytes moved / (sum of port send capacity *
                                  makespan) */
    size_t n_decisions;        /* decisions taken */
    size_t n_events;           /* events processed */
    double wall_s;             /* wall time of the run */
    size_t max_active_flows;   /* most flows open at once (of ACTIVE coflows) */
    /* What the decisions moved, summed over them (a decision's cost grows
     * with both): flows given a rate one by one (per-flow fair by port
     * pairs: pairs), and coflows paced whole under lazy pacing, whose
     * flows then move with one scale and are not counted as rated (the
     * ones backfilled besides are) */
    size_t n_rated_total, n_paced_total;
    /* counts and totals of the workload that was run */
    size_t n_jobs, n_coflows, n_flows;
    double total_bytes;        /* sum of flow bytes */
    double weighted_bound;     /* dag_weighted_bound(): sum w*LB / n_jobs */
    /* dag_lp_bound()'s scaled_avg_weighted_jct, set by a caller that
       computed it after the run (weft sim --lp-bound); netsim_run() leaves
       0. The bound itself is scaled_lp_bound x 2^weight_exp. */
    double scaled_lp_bound;
    /* avg_weighted_jct over the weights scaled by 2^-weight_exp
       (coflow_workload_weight_exp): the ratios to the bounds are taken
       over these, so weights near 5e-324 keep them */
    int weight_exp;
    double scaled_avg_weighted_jct;
    /* invariant checks (when opts.check, and then checked is true): number
       of violations found, and the first one described */
    bool checked;
    size_t n_violations;
    char first_violation[256];
} netsim_result_t;

/* A result with no arrays; netsim_run() fills it (freeing what an earlier
 * run left), netsim_result_destroy() frees it. */
void netsim_result_init(netsim_result_t *r);

/* The average weighted JCT over the LP bound (both over the scaled
 * weights), NAN without a bound. */
double netsim_vs_lp_bound(const netsim_result_t *r);
void netsim_result_destroy(netsim_result_t *r);

/* Runs wl (analysed with dag_analyze for fab) on fab. wl and fab are only
 * read, so several runs may share them on different threads. */
weft_err_t netsim_run(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                      const netsim_opts_t *opts, netsim_result_t *res);

/* Whether the clock can time every flow of wl on fab, before a run: EINVAL
 * naming the first flow that takes less than 1000 steps of a double (the
 * resolution --check asks of a JCT) at the earliest its coflow can be
 * released (its job's arrival plus the heaviest path of isolation and
 * compute times before its release, its own compute time included), or
 * less than DBL_MIN seconds at all. Such a flow finishes within a few
 * steps, so its CCT and its job's JCT may fall below their bounds (1 byte
 * at 1 Gbit/s arriving at 1e9 s: a JCT of 0), or never (a time of 0).
 * netsim_run runs it anyway (--check reports the JCTs it could not time).
 * Needs dag_analyze(wl, fab) (waves and isolation times). O(flows +
 * coflows + parent links + waves). */
weft_err_t netsim_check_clock(const coflow_workload_t *wl, const coflow_fabric_t *fab);

/* Parses a port rate into bytes per second: a number followed by an
 * optional unit. Bits per second: "bps", "Kbps", "Mbps", "Gbps", "Tbps"
 * (powers of 1000) and "Kibps", "Mibps", "Gibps", "Tibps" (powers of 1024,
 * so "1Gibps" is 2^30 bit/s); bytes per second: "B/s" or "Bps" with the same
 * prefixes; no unit means bytes per second. The prefix letter's case does
 * not matter, "b" (bit) and "B" (byte) do. Fails (EINVAL, with a detail) on
 * anything else or a rate that is not finite and > 0. */
weft_err_t netsim_parse_rate(const char *s, double *bytes_per_s);

/* Parses a size into bytes: a number followed by an optional unit, "B"
 * with the rates' prefixes: "KB", "MB", "GB", "TB" (powers of 1000, or of
 * 1024 when binary: the Facebook trace's MB under --varys) and "KiB",
 * "MiB", "GiB", "TiB" (powers of 1024); no unit means bytes. Fails
 * (EINVAL, with a detail) on anything else or a size not finite and > 0. */
weft_err_t netsim_parse_size(const char *s, bool binary, double *bytes);

/* Coflow categories as coflow papers (Varys, Aalo, as recalled) report
 * them: short or long by the coflow's longest flow, narrow or wide by its
 * number of flows, each as the workload gives them. */
enum { NETSIM_BIN_SN, NETSIM_BIN_LN, NETSIM_BIN_SW, NETSIM_BIN_LW, NETSIM_N_BINS };
extern const char *const netsim_bin_names[NETSIM_N_BINS]; /* "SN", "LN", "SW", "LW" */
typedef struct {
    double length_bytes;             /* short: the longest flow < this */
    size_t width_flows;              /* narrow: at most this many flows */
    size_t count[NETSIM_N_BINS];     /* coflows */
    double bytes[NETSIM_N_BINS];     /* their flows' bytes */
    double avg_cct_s[NETSIM_N_BINS]; /* sum of (finish - release) in coflow
                                        order / count; NAN for none */
} netsim_bins_t;

/* r's coflows by bin (r a run of wl); O(coflows + flows). */
weft_err_t netsim_bins(const coflow_workload_t *wl, const netsim_result_t *r,
                       double length_bytes, size_t width_flows, netsim_bins_t *out);

/* Writes per-coflow CSV (job,coflow,release_s,finish_s,cct_s,iso_s), per-job
 * CSV (job,arrival_s,finish_s,jct_s,weight,lower_bound_s) and summary JSON. */
weft_err_t netsim_write_coflows_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                    FILE *out);
weft_err_t netsim_write_jobs_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                 FILE *out);
/* What the summary JSON says of the run besides its result, so a file
 * found later tells what made it. */
typedef struct {
    const char *workload;        /* as given; NULL: left out */
    const coflow_fabric_t *fab;  /* its ports' rates; NULL: left out */
    double port_rate;            /* most ports' rate; the others are listed */
    double tick_s;               /* the decision tick, 0: none */
    const char *model;           /* the learned policy's model file, or NULL */
    bool random_model;           /* it ran random parameters instead, */
    uint64_t model_seed;         /* drawn from this seed (policy_seed) */
    const netsim_bins_t *bins;   /* the run's coflows by bin ("bins", last);
                                    NULL: left out */
} netsim_run_info_t;
weft_err_t netsim_write_summary_json(const netsim_result_t *r, const char *policy,
                                     const char *allocator, const netsim_run_info_t *info,
                                     FILE *out);
/* Per-flow CSV (job,coflow,flow,src,dst,bytes,release_s,finish_s,fct_s:
 * flow is its index in its coflow, in the workload's order, and fct_s is
 * from its coflow's release); needs a run with record_flows. */
weft_err_t netsim_write_flows_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                  FILE *out);

#endif
