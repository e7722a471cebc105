/*
 * sim_internal.h - the emulator's state (sim_t) and its tolerances, shared
 * by the event loop (sim.c), lazy pacing (lazy.c), per-pair fair
 * (pairs.c) and the invariant checks behind --check (check.c). Not part
 * of netsim's interface.
 */
#ifndef WEFT_NETSIM_SIM_INTERNAL_H
#define WEFT_NETSIM_SIM_INTERNAL_H

#include "netsim.h"

#include <float.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A flow is finished when what is left is at most this fraction of its size
 * (floating-point residue of rate * dt), ... */
#define FINISH_REL_TOL 1e-9
/* ... or would take less than this fraction of the current time to send:
 * eight units in the last place of the clock, the least that keeps `now +
 * remaining / rate` moving it forward (1e-12 here finished a 5 KB flow at
 * 100 Gbit/s a week into a trace at once, its CCT a quarter of its
 * isolation time). */
#define FINISH_TIME_TOL (8 * DBL_EPSILON)
/* The least step to a change an ordering predicts (next_change), as a
 * fraction of the clock: eight units in its last place, as FINISH_TIME_TOL,
 * a step that moves the clock and the bytes a state can see. 1e-12 took
 * an Aalo crossing whose event landed a step of the clock short of its
 * threshold 0.9 ms late at 9e8 s, long enough to end a job in its old
 * queue (CCT 0.084 s for 0.168 s). */
#define CHANGE_MIN_STEP (8 * DBL_EPSILON)
/* Capacity check slack, and the slack of the end-of-run checks. */
#define CAP_TOL 1e-9
/* A port counts as full for the work-conservation check above this share. */
#define WORK_TOL 1e-6
#define CONSERVE_TOL 1e-6
#define TIME_TOL 1e-9
/* A release and a job's finish are stamped with the sums the check redoes
 * (the last parent's finish plus the compute time): the same but for a
 * few units in the last place, in any units of time (a slack of TIME_TOL
 * of the time, but at least 1e-9 s, let a release at 2^-60 s come 2^30
 * times its time late). */
#define STAMP_TOL (4 * DBL_EPSILON)
/* A job's JCT may fall short of its lower bound, its heaviest path of
 * isolation and compute times, by what each coflow on that path may fall
 * short of its isolation time (TIME_TOL of it, what a flow may finish early
 * by, FINISH_TIME_TOL of the clock, and a few steps of a double: an 8 ns job
 * finishing at 3,700 s is off by up to 1e-13 s), at most its depth times,
 * and no more (a chain of three coflows at 1e5 s, each finishing 8 ulps
 * early, is short by three times one's slack); a job the clock cannot
 * resolve, where a double steps by more than JCT_RES_SHARE of its JCT and
 * of its bound (an arrival at 1e15 s has steps of 0.125 s), is a violation
 * of its own: its JCT is not exact. (An 8 ns job that waits 8e6 s behind
 * another is: steps of 2e-9 s are nothing to its JCT.) */
#define JCT_RES_SHARE 1e-3

typedef struct {
    double t; /* release time */
    size_t c; /* coflow index */
} pending_t;

typedef struct {
    size_t f, c; /* flow and its coflow */
    double rate; /* its rate, bytes/s, > 0 */
    union {
        double extra; /* lazy pacing: the backfill part of rate, bytes/s */
        double left;  /* otherwise: its flow_remaining, read at the decision
                         that listed it, so advancing reads no per-flow
                         array */
    };
} moving_t;

typedef struct {
    double a;    /* its flow_remaining (the anchor), as at the decision */
    uint32_t qs, qr; /* its groups (coflow_sgroup, coflow_rgroup) */
} backfilled_t;  /* lazy pacing: a flow of run[], by its side in bf[] */

typedef struct {
    double sum;  /* lazy pacing: flow_remaining summed over a port's open
                    flows of a coflow (the anchors) */
    double comp; /* its rounding error (compensated summation); side by
                    side, so one line holds both */
} anchor_t;

typedef struct {
    double sent, comp; /* rate * dt summed over its steps, and the sum's
                          rounding error (Neumaier): apart from every count
                          of bytes left the emulator keeps */
    double rate;       /* its rate at its last step, bytes/s */
    double steps;      /* steps it moved in */
} chk_sent_t;          /* --check: what one flow was sent */

typedef struct {
    size_t c;    /* a paced coflow (lazy pacing) */
    double q;    /* d sig[c] / dt: each open flow f moves at
                    flow_remaining[f] * q bytes/s */
} paced_t;

typedef struct {
    const coflow_workload_t *wl;
    const coflow_fabric_t *fab;
    const netsim_opts_t *opts;
    const coflow_ordering_t *ord;
    const coflow_allocator_t *alloc;
    void *ctx;
    coflow_state_t st;
    netsim_result_t *res;

    size_t *job_order; /* [n_jobs] jobs by (arrival, index) */
    size_t next_job;   /* jobs job_order[0..next_job) have arrived */
    size_t *job_left;  /* [n_jobs] coflows not yet DONE */

    size_t *parents_left;/* [n_coflows] parents not yet DONE */
    double *ready_s;     /* [n_coflows] last parent finish so far */

    pending_t *heap; /* [n_coflows] min-heap by (t, c) */
    size_t n_heap;

    size_t *active; /* [n_coflows] ACTIVE coflows by (release, index) */
    size_t n_active;
    size_t *ids;    /* [n_coflows] handed to the ordering */
    size_t n_done_coflows_pending; /* coflows finished since last compaction */
    size_t n_done_coflows;         /* finished so far (opts.coflows_done) */

    moving_t *run; /* [n_flows] flows with a positive rate */
    size_t n_run;
    double next_finish_dt; /* min over run of remaining / rate */
    moving_t *done; /* [n_flows] flows finishing at this event */
    size_t n_done;
    size_t n_open_total; /* open flows of ACTIVE coflows */

    /* Lazy pacing (madd with an ordering without next_change): an open
     * flow f of active coflow c has sig[c] * flow_remaining[f] bytes left,
     * minus bf[k].x while it is backfilled (listed in run[k]); a paced
     * coflow (pc[]) moves every open flow at flow_remaining[f] * q, so
     * advancing it only lowers sig[c]. anc[q].sum + anc[q].comp (compensated)
     * is the sum of flow_remaining over c's open flows at cports position
     * q; cport_bytes = sig * anc is rebuilt at a decision for the coflows
     * in dirty[] only. Backfilled flows are folded back (flow_remaining =
     * their remaining / sig) at the next decision. */
    bool lazy;
    /* Rates come back beside the rated flows (st.rated_rate): the
     * allocator lists them and nothing reads flow_rate between decisions
     * (no next_change). flow_rate then stays 0. */
    bool listed;
    double *rated_rate;/* [n_flows] */
    double *sig;       /* [n_coflows] */
    double *anc_total; /* [n_coflows] sum of flow_remaining of open flows */
    size_t *total_at;  /* [n_coflows] the decision lazy_refresh summed it for */
    anchor_t *anc;     /* [number of cports] */
    backfilled_t *bf;  /* [n_flows] side by side with run[], so advancing
                          a backfilled flow reads no per-flow array */
    paced_t *pc;       /* [n_coflows] */
    size_t n_pc;
    double *acc;       /* [n_coflows] bytes sent at this event, zero between */
    uint8_t *mark;     /* [n_coflows] MARK_* bits, 0 between decisions */
    size_t *dirty;     /* [n_coflows] coflows with mark != 0 */
    size_t n_dirty;
    double *pace;      /* [n_coflows] st.pace */
    size_t *paced;     /* [n_coflows] st.paced */
    moving_t *chk_run; /* [n_flows] check: every moving flow (lazy, pairs) */
    size_t n_chk_run;  /* check: how many, as the last decision listed them */
    chk_sent_t *chk_sent; /* [n_flows] check: what each flow was sent */
    double *chk_rem;   /* [n_flows] check: saved flow_remaining */
    double *chk_bytes; /* [number of cports] check: saved cport_bytes */
    double *chk_comp;  /* [number of cports] check: saved cport_comp */
    uint8_t *chk_known; /* [n_coflows] check: saved st.iso_known */

    /* Per-pair fair (an allocator with per_pair_fair, an ordering without
     * next_change, no tick): flows between the same two ports share one
     * max-min rate, so they are kept by pair. aw (below) is what each flow
     * of a pair sent since the pair last opened; an open flow f has fk[f] -
     * aw bytes left (fk = its size + aw at its release), so a pair advances in O(1)
     * and its next finish is the smallest fk, the top of its heap. The
     * ordering is not consulted (the rates ignore it); coflow_remaining and
     * job_sent are not kept (nothing reads them). */
    bool pairf;
    uint32_t *flow_pair; /* [n_flows] */
    size_t n_pairs;
    size_t *psrc, *pdst; /* [n_pairs] sender and receiver port */
    size_t *pstart;    /* [n_pairs + 1] heap slab of pair p: [pstart[p] ..) */
    double *hk;        /* [n_flows] heap keys (fk) */
    uint32_t *hf;      /* [n_flows] heap flows */
    size_t *hn;        /* [n_pairs] open flows (heap size) */
    double *fk;        /* [n_flows] */
    /* The pairs with open flows, densely in first-open order (i < n_act),
     * so an event walks arrays instead of chasing pairs: */
    size_t *act;       /* [n_pairs] the pair */
    size_t *apos;      /* [n_pairs] where pair p sits in act[] */
    double *aw;        /* bytes sent per flow of the pair */
    double *ar;        /* rate per flow, bytes/s */
    double *an;        /* open flows (hn, as a double) */
    double *atop;      /* smallest fk of the pair (its heap top) */
    double *atol;      /* finish tolerance of that flow: FINISH_REL_TOL * size */
    size_t n_act;
    size_t *lv_src, *lv_dst; /* the pair's sender and receiver */
    double *lv_cnt;    /* [n_pairs] coflow_fair_levels' counts in, levels out */
    size_t n_pmoving;  /* active pairs with a positive rate */

    /* srf by pairs (an allocator with per_pair_srf, unless eager_pacing):
     * decisions by coflow_srf_pairs_allocate, which walks the heads of the
     * (sender, receiver) pairs instead of sorting every open flow; flows
     * move and finish as usual (run[], advance). NULL otherwise. */
    coflow_srf_pairs_t *srf;
    moving_t *srf_chk; /* [n_flows] check: the fast decision, kept aside */

    double tick_s, tick0;
    double max_cap; /* the fabric's fastest port, either way (--check) */
    bool tick_stuck; /* next_event: the next tick would not move the clock */
    double moved; /* integral of all rates over time, bytes */
    double *chk_out, *chk_in; /* [n_ports] zero between uses */
} sim_t;

/* Shared by the loops over moving flows of sim.c, lazy.c and pairs.c. */

/* The earlier of best and the time a flow with `left` bytes takes at rate
 * r > 0. Divides only where the quotient may be a new minimum: above
 * best * r, raised by more than the two roundings, it is not. */
static inline double earlier_finish(double best, double left, double r)
{
    if (left <= best * r * (1 + 1e-14)) {
        double dt = left / r;
        if (dt < best)
            best = dt;
    }
    return best;
}

/* Allocators rate a coflow's flows together, and a coflow's flows are one
 * index range [lo, hi): when flow f is outside the last coflow's range,
 * looks its coflow c up and returns true; else leaves them and returns
 * false, so a walk over rated flows reads flow_coflow once per coflow. */
static inline bool enter_coflow(const sim_t *s, size_t f, size_t *c, size_t *lo, size_t *hi)
{
    if (f - *lo < *hi - *lo)
        return false;
    *c = s->st.flow_coflow[f];
    *lo = s->wl->coflows[*c].first_flow;
    *hi = *lo + s->wl->coflows[*c].n_flows;
    return true;
}

/* Per-pair fair (pairs.c): the pairs numbered and their heaps sized at
 * setup; flow f opening (released); the pairs advanced by dt, their done
 * flows listed in done[]; a decision by pairs. */
weft_err_t pairs_setup(sim_t *s);
void pair_open(sim_t *s, size_t f);
void pairs_advance(sim_t *s, double dt);
void pairs_decide(sim_t *s);

/* Lazy pacing (lazy.c), at each event: a coflow released, the moving
 * flows advanced by dt, a flow of run[] or of a finishing coflow done
 * (anchor a), and at a decision the last pacing undone, the moved coflows'
 * per-port bytes rebuilt, and after the allocator the moving set built. */
void lazy_release(sim_t *s, size_t c);
void lazy_advance(sim_t *s, double dt);
void lazy_finish_flow(sim_t *s, size_t f, size_t c, double a);
void lazy_unpace(sim_t *s);
void lazy_refresh(sim_t *s);
weft_err_t lazy_collect(sim_t *s);

/* --check (check.c). Each counts what it finds in s->res->n_violations and
 * keeps the first message in s->res->first_violation; none stops the run. */

/* A decision by pairs (per-flow fair): the allocator run flow by flow must
 * give every open flow its pair's rate; capacity and work conservation. */
void sim_check_pairs(sim_t *s);
/* After the ordering: every remaining bottleneck time it was answered from
 * memory (coflow_state_keep_iso) is the one its coflow's bytes give. */
void sim_check_iso(sim_t *s);
/* A decision under lazy pacing, against the same decision from zero. */
void sim_check_lazy(sim_t *s);
/* A decision of srf by pairs, against the srf allocator over every flow. */
void sim_check_srf(sim_t *s);
/* Any other decision: run[0..n_run) as the allocator listed it, its front
 * kept from the last decision (kept flows), capacity and work
 * conservation, and a greedy decision that replayed its front against the
 * allocator from zero. */
void sim_check_decision(sim_t *s, size_t kept);
/* An event, after the moving flows advanced by dt and before the done ones
 * finish: each flow that moved since the last decision (run[], or chk_run[]
 * under lazy pacing and pairs) is credited rate * dt in chk_sent, and each
 * flow of done[] must have been sent its bytes within its finish tolerance,
 * neither short of them nor past them. */
void sim_check_step(sim_t *s, double dt);
/* A release taken from the heap at `now`: it must be taken when it is due
 * (next_event stops the clock at every due time), since the coflow is
 * stamped with its due time and a late one would pass every other check. */
void sim_check_release(sim_t *s, size_t c, double due, double now);
/* The end of a run: bytes conserved, every flow finished, DAG order,
 * releases and job finishes on time, CCT and JCT against their bounds. */
void sim_check_end(sim_t *s);

#endif
