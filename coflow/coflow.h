/*
 * coflow.h - the coflow model (flows, coflows, jobs, workloads), the fabric,
 * the live scheduler state, and the two interfaces every scheduler shares:
 * an ordering (the policy) and a rate allocation.
 *
 * Terms follow docs/design.md sections 2-4. Units: bytes, seconds,
 * bytes per second. Ports are 0-based.
 *
 * A workload stores everything in flat arrays: jobs own a contiguous range
 * of coflows, coflows own a contiguous range of flows and of parent
 * references. Building goes through coflow_workload_add_*() in order (a job,
 * then its coflows, each followed by its flows and parents), then
 * coflow_workload_finish_job() to resolve parent ids of that job.
 */
#ifndef COFLOW_H
#define COFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/weft.h"

/* ------------------------------------------------------------------ model */

typedef struct {
    uint32_t src;  /* sending port, < workload n_ports */
    uint32_t dst;  /* receiving port, < workload n_ports (may equal src) */
    double bytes;  /* size in bytes, finite and > 0 */
} coflow_flow_t;

typedef struct {
    int64_t id;            /* id as given by the input, unique within its job */
    size_t job;            /* index of the owning job in workload jobs[] */
    size_t first_flow;     /* flows are flows[first_flow .. +n_flows) */
    size_t n_flows;
    size_t first_parent;   /* parents are parents[first_parent .. +n_parents) */
    size_t n_parents;
    double compute_s;      /* compute time of the sending stage, from the moment
                              its inputs are ready (job arrival for a root, the
                              last parent's finish otherwise) to release; >= 0 */
    /* Derived by coflow_workload_finish_job(): */
    double total_bytes;    /* sum of its flows' bytes */
    uint32_t n_senders;    /* distinct source ports */
    uint32_t n_receivers;  /* distinct destination ports */
    double max_flow_bytes; /* its largest flow ("length" in Varys' SCF) */
    /* Derived by dag_analyze() (dag/dag.h), for a given fabric: */
    uint32_t wave;         /* topological wave: 0 for roots, 1 + max parent wave */
    uint32_t n_children;   /* coflows that list this one as a parent */
    uint32_t n_descendants;/* coflows reachable below this one */
    double iso_s;          /* alone on an empty fabric: max over ports of
                              bytes through the port / its capacity */
    double cp_below_s;     /* heaviest path from this coflow's release to its
                              job's end: iso_s + max over children of
                              (compute_s + cp_below_s), + job final_compute_s
                              for a sink */
} coflow_coflow_t;

typedef struct {
    int64_t id;            /* id as given by the input, unique in the workload */
    double arrival_s;      /* arrival time, >= 0 */
    double weight;         /* importance, finite and > 0 */
    size_t first_coflow;   /* coflows are coflows[first_coflow .. +n_coflows) */
    size_t n_coflows;
    double final_compute_s;/* compute after the last coflow finishes, >= 0 */
    /* Derived by dag_analyze(): */
    uint32_t depth;        /* number of waves (1 + max coflow wave) */
    double lower_bound_s;  /* heaviest root-to-sink path of compute_s + iso_s,
                              + final_compute_s: no JCT can be lower */
} coflow_job_t;

typedef struct {
    uint64_t gen;              /* the workload's id_gen when it was filled */
    int64_t id;                /* the coflow's id (kept here: one cache miss
                                  a probe, not two) */
    size_t coflow;             /* global coflow index */
} coflow_id_slot_t;

typedef struct {
    size_t n_ports;            /* fabric size the workload was made for */
    coflow_job_t *jobs;        /* [n_jobs], sorted by nothing in particular */
    size_t n_jobs, cap_jobs;
    coflow_coflow_t *coflows;  /* [n_coflows] */
    size_t n_coflows, cap_coflows;
    coflow_flow_t *flows;      /* [n_flows] */
    size_t n_flows, cap_flows;
    size_t *parents;           /* [n_parents] global coflow indices (after
                                  finish_job; parent ids before) */
    size_t n_parents, cap_parents;
    int64_t *pending_parent_ids; /* builder scratch: parent ids of the open job */
    size_t n_pending, cap_pending;
    bool job_open;             /* a job was added and not yet finished */
    coflow_id_slot_t *id_slots;/* builder scratch: the open job's coflow ids,
                                  open addressing [cap_id_slots], a power of
                                  2 at least twice the job's coflows (model.c) */
    size_t cap_id_slots;
    uint64_t id_gen;           /* the open job's stamp: a slot of another
                                  stamp is free */
} coflow_workload_t;

/* The flows of job j, flows[*first .. *first + count), the count returned:
 * jobs, coflows and flows are appended in order, so a job's flows are
 * contiguous. A job without coflows has none. */
static inline size_t coflow_job_flows(const coflow_workload_t *wl, size_t j, size_t *first)
{
    const coflow_job_t *job = &wl->jobs[j];
    if (job->n_coflows == 0) {
        *first = 0;
        return 0;
    }
    const coflow_coflow_t *a = &wl->coflows[job->first_coflow],
                          *z = &wl->coflows[job->first_coflow + job->n_coflows - 1];
    *first = a->first_flow;
    return z->first_flow + z->n_flows - a->first_flow;
}

void coflow_workload_init(coflow_workload_t *wl, size_t n_ports);
void coflow_workload_destroy(coflow_workload_t *wl);

/* The largest job weight: weight times JCT summed over a million jobs
 * stays far from overflowing (a weight of 1e308 gave an average weighted
 * JCT of inf and a slowdown of nan, with exit status 0). */
#define COFLOW_MAX_WEIGHT 1e15
/* Appends a job; the previous one must be finished. Fails (EINVAL) on a
 * non-finite or negative arrival, a weight <= 0, above COFLOW_MAX_WEIGHT
 * or not finite, a negative final compute time. A time of -0 is kept as 0
 * (here and in add_coflow). */
weft_err_t coflow_workload_add_job(coflow_workload_t *wl, int64_t id, double arrival_s,
                                   double weight, double final_compute_s);
/* Appends a coflow to the open job. Fails on a duplicate id in the job or a
 * negative/non-finite compute time. O(1) amortised (the job's ids are
 * hashed). */
weft_err_t coflow_workload_add_coflow(coflow_workload_t *wl, int64_t id, double compute_s);
/* The smallest flow, in bytes. Sizes near the smallest doubles made
 * rates overflow to infinity (1e-310 bytes: its isolation time, bytes over
 * a port's rate, is no normal double, and a rate is bytes over that).
 * Far below any real flow, and far enough above those for any port rate
 * up to 1e90 bytes/s; the tests' sub-femtobyte flows stay valid. */
#define COFLOW_MIN_FLOW_BYTES 1e-200
/* Appends a flow to the last coflow. Fails (EINVAL) on a port >= n_ports or
 * bytes below COFLOW_MIN_FLOW_BYTES or not finite; the message names job,
 * coflow and value. */
weft_err_t coflow_workload_add_flow(coflow_workload_t *wl, uint32_t src, uint32_t dst,
                                    double bytes);
/* Declares that the last coflow depends on the coflow `parent_id` of the same
 * job (resolved by finish_job, so a parent may be added later). */
weft_err_t coflow_workload_add_parent(coflow_workload_t *wl, int64_t parent_id);
/* Closes the open job: resolves parent ids (ENOTFOUND for a missing parent,
 * EINVAL for a coflow that is its own parent or has no flows, or a job with
 * no coflows) and fills the per-coflow derived sizes. Cycle detection is
 * dag_analyze()'s job. On error the job is removed again, so what was
 * accepted before stays intact. O(the job's coflows, parents and flows,
 * with a sort of each coflow's ports). */
weft_err_t coflow_workload_finish_job(coflow_workload_t *wl);

/* Deep copy; dst must be uninitialised. */
weft_err_t coflow_workload_copy(coflow_workload_t *dst, const coflow_workload_t *src);

/* Sum of all flow bytes. O(flows). */
double coflow_workload_total_bytes(const coflow_workload_t *wl);

/* The exponent e that brings the largest job weight to [1, 2) as weight *
 * 2^-e (0 without jobs). Weighted sums taken over weights scaled so are
 * the same to the bit wherever the products are normal doubles, and keep
 * their ratios where the weights themselves are not (the format accepts
 * weights down to 5e-324). O(jobs). */
int coflow_workload_weight_exp(const coflow_workload_t *wl);

/* The job indices by arrival, equal arrivals by index, into order
 * [n_jobs] (a workload may list its jobs in any order). ENOMEM.
 * O(J log J). */
weft_err_t coflow_workload_arrival_order(const coflow_workload_t *wl, size_t *order);

/* ----------------------------------------------------------------- fabric */

typedef struct {
    size_t n_ports;
    double *cap_out;  /* [n_ports] send capacity, bytes/s, > 0 */
    double *cap_in;   /* [n_ports] receive capacity, bytes/s, > 0 */
} coflow_fabric_t;

/* Every port `rate` bytes/s each way. */
weft_err_t coflow_fabric_init(coflow_fabric_t *fab, size_t n_ports, double rate);
void coflow_fabric_destroy(coflow_fabric_t *fab);

/* ------------------------------------------------------- scheduler state */

/* A port (key: p sends, n_ports + p receives) and a saturation level, an
 * entry of coflow_fair_levels' heap. */
typedef struct coflow_port_level {
    double level;
    size_t port;
} coflow_port_level_t;

typedef enum {
    COFLOW_WAITING = 0,  /* job not arrived, or parents (or compute) pending */
    COFLOW_ACTIVE = 1,   /* released and unfinished: schedulable */
    COFLOW_DONE = 2
} coflow_status_t;

/* One flow of a port group (coflow_state_t smembers / rmembers): the flow
 * and its port on the other side of the group. */
typedef struct {
    uint32_t flow;
    uint32_t other;  /* COFLOW_MEMBER_CLOSED once the flow finished (in a
                        coflow walked without group sets) */
} coflow_member_t;

#define COFLOW_MEMBER_CLOSED UINT32_MAX

#define COFLOW_SHUFFLE_SETS 2 /* coflow_state_t.has_group_sets */
#define COFLOW_CLEAR_ALL_PORTS 4096 /* coflow_state_t.clear_all_ports */

/*
 * The live state a scheduler decides on. Owned by whoever drives it (the
 * emulator, the gateway); orderings read it, allocators write flow_rate.
 * Invariants: for an ACTIVE coflow c, its unfinished flows are
 * open_flows[c.first_flow .. +n_open[c]); flow_remaining > 0 exactly for
 * those; coflow_remaining[c] is the sum of their flow_remaining.
 */
typedef struct {
    const coflow_workload_t *wl;   /* borrowed */
    const coflow_fabric_t *fab;    /* borrowed */
    double now;                    /* seconds */
    uint8_t *status;               /* [n_coflows] coflow_status_t */
    double *release_s;             /* [n_coflows] release time, valid once ACTIVE */
    double *finish_s;              /* [n_coflows] finish time, valid once DONE */
    double *coflow_remaining;      /* [n_coflows] bytes not yet sent */
    double *job_sent;              /* [n_jobs] bytes sent over the whole job DAG */
    size_t *n_open;                /* [n_coflows] unfinished flows */
    size_t *open_flows;            /* [n_flows] see invariant above */
    size_t *open_pos;              /* [n_flows] position of a flow in open_flows */
    double *flow_remaining;        /* [n_flows] bytes not yet sent */
    double *flow_rate;             /* [n_flows] bytes/s, written by allocators */
    /* Scratch for policies and allocators, [n_ports] each, all zero between
       calls (users restore zeros after use): */
    double *scratch_out, *scratch_in;
    double *free_out, *free_in;    /* [n_ports] capacity left, allocator use */
    size_t *touched;               /* [n_ports * 2] port list scratch */
    size_t *flow_list;             /* [2 * n_flows] allocator scratch */
    size_t *port_index;            /* [2 * n_ports + 1] allocator scratch */
    /* coflow_fair_levels' heap of port levels and each port's place in
       it, [2 * n_ports] each */
    coflow_port_level_t *level_heap;
    size_t *level_at;
    double *heap_key;              /* [2 * (n_flows + n_ports)] allocator heap */
    size_t *heap_val;              /* [2 * (n_flows + n_ports)] */
    /* Output of an allocator: the flows it gave a positive rate, so drivers
     * never scan the open flows that did not move. */
    size_t *rated;                 /* [n_flows] */
    size_t n_rated;
    /* rated[0 .. n_rated_kept) are the same flows at the same rates, in
     * the same places, as at the allocator's previous call: the greedy
     * allocator sets it to its replayed front; no other allocator writes
     * it, so a driver that reads it zeroes it before each call. A driver
     * that kept what it built from those places may reuse it. */
    size_t n_rated_kept;
    /* Set by a driver that reads the rates only through rated[] (netsim),
     * for an allocator with lists_rates: it then writes rated[k]'s rate to
     * rated_rate[k] and leaves flow_rate at 0, so a decision never touches
     * the per-flow array. NULL (the default): rates are in flow_rate. */
    double *rated_rate;            /* [n_flows] borrowed */
    /* Set by the greedy allocator while it rates from zero: rated[k]'s
     * ports go to rated_src[k] and rated_dst[k] as it is rated, so its
     * log of the pass never reads the flow again (on a fabric of
     * thousands of ports those reads miss the cache). NULL otherwise. */
    uint32_t *rated_src, *rated_dst; /* borrowed */
    /* Static indexes built by coflow_state_init: */
    uint32_t *flow_coflow;         /* [n_flows] owning coflow of each flow */
    size_t *cport_start;           /* [n_coflows + 1] into cports */
    uint32_t *cports;              /* distinct sender ports of coflow c, then its
                                      distinct receivers, each side in port
                                      order: cports[cport_start[c]
                                      .. +n_senders) and the rest to the next */
    /* Cache of each coflow's remaining bytes per port, parallel to cports;
     * valid while coflow_remaining and n_open equal the stamps (a coflow
     * that did not move since it was computed has the same bytes). */
    double *cport_bytes;
    /* Each coflow's flows grouped by receiver: the flows into the receiver
     * at cports position q (a receiver position) are
     * rmembers[rstart[q] .. rstart[q+1]), in the order of their sender
     * port (then flow index): the order the greedy walk gives them
     * capacity in. Sender positions hold empty ranges. Each member holds
     * the flow and its port on the other side (its sender here), so a
     * walk tests a group's flows from the lines it scans, without reading
     * the flows themselves. */
    coflow_member_t *rmembers;     /* [n_flows] */
    size_t *rstart;                /* [number of cports + 1] */
    /* The same grouped by sender (other = the flow's receiver, members in
     * receiver port order): flows out of the sender at cports position q
     * are smembers[sstart[q] .. sstart[q+1]); receiver positions hold
     * empty ranges. */
    coflow_member_t *smembers;     /* [n_flows] */
    size_t *sstart;                /* [number of cports + 1] */
    /* xopen[q] counts group q's open flows. In a coflow walked through its
     * group sets (coflow_group_sets_walk) the members keep that order for
     * good and gmask tells the open ones. In any other, the open ones are
     * among xmembers[xstart[q] + xhead[q] .. xstart[q] + xspan[q]), still
     * in that order: a finishing flow's member is marked
     * COFLOW_MEMBER_CLOSED where it stands, the range shrinks past closed
     * members at either end, and once the closed ones in it outnumber the
     * open the group closes up (so a walk meets at most one closed member
     * per open one, and closing costs O(1) amortized). */
    uint32_t *sopen, *ropen;       /* [number of cports] open flows a group */
    uint32_t *shead, *rhead;       /* [number of cports] members in use: */
    uint32_t *sspan, *rspan;       /*   [xhead, xspan) from xstart */
    /* [2 n_flows] flow f's group positions, its sender's at 2f and its
     * receiver's at 2f + 1: a moving flow's two are one load apart, as
     * netsim reads both at every decision (coflow_sgroup/coflow_rgroup). */
    uint32_t *fgroup;
    uint32_t *spos, *rpos;         /* [n_flows] index of each flow in xmembers */
    /* What rounding took from cport_bytes, parallel to it: cport_bytes[q]
     * + cport_comp[q] is c's remaining bytes through the port to within a
     * few ulps of the smallest flow (compensated summation: a driver that
     * moves bytes adds each subtraction's rounding error here, see
     * coflow_state_cache_sub), so MADD paces from it without re-summing
     * the open flows. After a rebuild (coflow_state_port_bytes_exact) the
     * rounding of its sum. */
    double *cport_comp;
    double *cache_remaining;       /* [n_coflows] stamp, NAN = never */
    /* The send (receive) capacity every port of the fabric shares, 0 when
     * they differ (taken at coflow_state_init: the fabric must not change
     * after). Dividing by a positive constant keeps the order of the
     * dividends, so remaining_iso then divides only the largest per-port
     * bytes and gets the same float as dividing each. */
    double same_cap_out, same_cap_in;
    size_t *cache_open;            /* [n_coflows] stamp */
    /* Full ports as bit sets, so allocators test a coflow's ports a word
     * at a time: bit p is set while an allocation runs iff port p's used
     * capacity (free_out/free_in) is within COFLOW_RATE_EPS of capacity.
     * alloc_add_rate keeps them; all zero between calls. */
    size_t n_port_words;           /* ceil(n_ports / 64) */
    uint32_t *used_ports;          /* [2 * n_ports] ports given capacity in
                                      this allocation: p sends, n_ports + p
                                      receives (empty between calls) */
    size_t n_used_ports;
    /* Up to COFLOW_CLEAR_ALL_PORTS ports: alloc_release_ports zeroes
     * every port's use and the full-port sets at once (a memset of 16
     * bytes a port), which costs less than listing the ports used at every
     * rate and walking the list back (4 copies of the FB trace, 600 ports:
     * 9% fewer instructions under fifo); used_ports stays empty. */
    bool clear_all_ports;
    uint64_t *full_out, *full_in;  /* [n_port_words] */
    /* Each coflow's ports as bit sets over the words they span, so a
     * greedy walk tests a coflow's ports and a group's flows a word at a
     * time. NULL (all of them) when they would be too large; allocators
     * then scan the port lists. pmask_span[4c .. 4c+4) = first word and
     * number of words of c's senders, then the same of its receivers. */
    uint32_t *pmask_span;          /* [4 * n_coflows] */
    size_t *pmask_off;             /* [n_coflows] c's words start here */
    uint64_t *pmask;               /* its senders' bits, then its receivers' */
    uint64_t *popen;               /* the same, only ports with an open flow
                                      of c (kept by coflow_state_finish_flow) */
    uint32_t *prank;               /* per word of pmask: bits of the side's
                                      earlier words. A port's rank among
                                      its side's bits is its place on that
                                      side of cports (both in port order). */
    /* A greedy walk's memory of a coflow that got nothing (alloc_greedy.c):
     * room_seen, parallel to pmask, holds its open ports that had room
     * when a walk of it rated no flow, and room_seen_set[c] says it does.
     * Open flows only close, so while the ports with room are among those,
     * no open flow has room at both ends and a walk would rate nothing. */
    uint64_t *room_seen;
    uint8_t *room_seen_set;        /* [n_coflows] */
    size_t n_walks_skipped;        /* walks so passed over, for tests */
    /* For the group at cports position q (a sender or a receiver of c, in a
     * coflow with has_group_sets below): the other-side ports its open flows
     * go to, over the other side's nw words: gmask[gmask_off[q] ..), then
     * the same nw words with every flow of the group, open or not (the
     * rank of a port's bit in those is the place of its flow among the
     * group's members). Side by side, so a group's walk reads one or two
     * cache lines, not two arrays' worth. */
    uint64_t *gmask;
    size_t *gmask_off;             /* [number of cports] */
    /* Nonzero for a coflow with group sets: at most one flow per (sender,
     * receiver) pair, so a port bit stands for one flow, and no more than 4
     * sender x receiver cells per flow. COFLOW_SHUFFLE_SETS when it is
     * moreover a full shuffle (every pair one flow) listed receiver by
     * receiver, each one's senders in port order (the Facebook trace's
     * layout): the flow of the senders' rank s and the receivers' rank r
     * is first_flow + r * n_senders + s, so walks need not read members. */
    uint8_t *has_group_sets;       /* [n_coflows] */
    /* Lazy pacing, for a driver that keeps a paced coflow's flows as one
     * shrinking scale instead of per-flow rates (netsim). NULL (the
     * default): madd writes every paced flow's rate. Otherwise madd gives
     * each open flow f of a paced coflow c the rate
     *     pace[c] * (f's remaining bytes)
     * WITHOUT writing flow_rate[f] or listing f in rated: it sets pace[c]
     * > 0 (1/s), lists c in paced[0..n_paced) and counts the coflow's
     * per-port use (cport_bytes + cport_comp times pace[c]) on its ports.
     * flow_rate and rated then hold only the backfill, added on top. The
     * driver zeroes pace[] of the listed coflows and n_paced before the
     * next call, as it does with rated. Such a driver may keep each flow's
     * flow_remaining as an anchor times a per-coflow scale of its own
     * (netsim does): the invariant above then holds for the per-coflow
     * sums (coflow_remaining, the per-port bytes), which it keeps true at
     * every decision, not for flow_remaining itself, so orderings read
     * those. */
    double *pace;                  /* [n_coflows] borrowed, or NULL */
    size_t *paced;                 /* [n_coflows] borrowed */
    size_t n_paced;
    /* A checker's measure of how far rounding alone may move MADD's
     * paces, or NULL (the default). When set, madd adds, for each coflow
     * it paces, the relative change of its pace that the rounding of the
     * capacity already used at its bottleneck b can cause:
     *     (rates counted on the fabric so far + 2) * DBL_EPSILON
     *         * capacity(b) / free capacity(b),
     * since each addition to b's use rounds by up to an ulp of the
     * capacity and the pace divides by what is left. Tiny (1e-13) while
     * the bottleneck has room; large when an earlier coflow left it all
     * but full, where two correct ways of counting its use (per port and
     * per flow) give paces that far apart. netsim's --check widens its
     * rate tolerance by it. */
    double *pace_slack;
    /* The greedy allocator's last pass (coflow_state_keep_greedy_prefix),
     * or NULL (the default): every pass walks every coflow. Owned. */
    struct coflow_greedy_prefix *greedy_prefix;
    /* Each job's frontier (frontier.c): its WAITING coflows whose parents
     * are all DONE, and the sum of its WAITING coflows' isolation times,
     * kept by coflow_state_release, coflow_state_finish_flow and
     * coflow_state_mark_done, which every change of status goes through.
     * Read with coflow_state_ready_waiting and coflow_state_waiting_iso.
     * Owned. */
    struct coflow_frontier *frontier;
    /* coflow_state_remaining_iso's last answer per coflow
     * (coflow_state_keep_iso), or NULL (the default): computed afresh at
     * every call. Owned. */
    double *iso_memo;              /* [n_coflows] */
    uint8_t *iso_known;            /* [n_coflows] iso_memo[c] is current */
    /* Set by the driver after coflow_state_init and before an ordering's
     * create(), for policies that load a model (learned): */
    const char *model_path;        /* borrowed; NULL: random parameters */
    uint64_t policy_seed;          /* seed of the random parameters */
    const void *policy_hook;       /* borrowed; learned: a coflow_learned_hook_t
                                      (coflow/learned.h) for training, else NULL */
    FILE *scores_out;              /* borrowed; learned: a CSV of every node of every
                                      decision it scores (weft sim --scores; its
                                      header at create()), else NULL */
} coflow_state_t;

/* Allocates the state for wl on fab: every coflow WAITING, every flow full. */
weft_err_t coflow_state_init(coflow_state_t *st, const coflow_workload_t *wl,
                             const coflow_fabric_t *fab);
void coflow_state_destroy(coflow_state_t *st);

/* Makes the greedy allocator replay, at each pass, the rates of the
 * coflows in front of the first one whose open flows or place in the
 * order changed since its last pass, instead of walking them again: the
 * same rates, rated order and floats as a pass from zero. For a driver
 * that only finishes flows and releases coflows between passes and keeps
 * the fabric's capacities (netsim). ENOMEM only. */
weft_err_t coflow_state_keep_greedy_prefix(coflow_state_t *st);

/* Coflows the greedy allocator replayed and walked so far (0 and 0
 * without coflow_state_keep_greedy_prefix). */
void coflow_greedy_prefix_counts(const coflow_state_t *st, size_t *replayed, size_t *walked);

/* Makes coflow_state_remaining_iso remember its answer per coflow until
 * the driver says the coflow's per-port bytes may have changed
 * (coflow_state_bytes_changed), so an ordering reading it at every
 * decision pays for the coflows that moved, not for all the active ones
 * (with hundreds active, most of them get nothing at a decision), and an
 * ordering reading it twice (jsebf-cp) computes it once. The same floats.
 * For a driver that calls coflow_state_bytes_changed wherever it moves a
 * coflow's bytes or writes its cport_bytes (netsim), or
 * coflow_state_forget_iso before each decision (the gateway); the state's
 * own functions call the first. ENOMEM only. */
weft_err_t coflow_state_keep_iso(coflow_state_t *st);

/* Forgets every remembered time: for a driver that moves bytes without
 * saying whose, so the memory lasts one decision. */
void coflow_state_forget_iso(coflow_state_t *st);

/* Coflow c's per-port bytes or open flows may have changed: what
 * coflow_state_remaining_iso remembers of it is no longer current. */
static inline void coflow_state_bytes_changed(coflow_state_t *st, size_t c)
{
    if (st->iso_known)
        st->iso_known[c] = 0;
}

/* True when coflow_state_keep_iso's memory of c disagrees with its bytes
 * (a missed coflow_state_bytes_changed): remembered, but its per-port
 * bytes are no longer current, or another float than they give now.
 * Changes nothing (netsim's --check). */
bool coflow_state_iso_stale(const coflow_state_t *st, size_t c);

/* Test switch: coflow_state_remaining_iso ignores its memory. */
extern bool coflow_iso_memo_off;

/* Marks c ACTIVE at time `now` and opens all its flows. */
void coflow_state_release(coflow_state_t *st, size_t c, double now);
/* Marks WAITING coflow c DONE without running it: for a driver that
 * rebuilds a state from one where c finished (the gateway). Its flows are
 * left as they are; finish_s[c] is not set. */
void coflow_state_mark_done(coflow_state_t *st, size_t c);

/* Coflow c's children (the coflows listing it as a parent), in index
 * order: points *list at them and returns how many. O(1). */
size_t coflow_state_children(const coflow_state_t *st, size_t c, const size_t **list);
/* Job j's WAITING coflows whose parents are all DONE (its roots before
 * any ran): their inputs are ready, their compute may still run. Points
 * *list at them, in no particular order, and returns how many. O(1). */
size_t coflow_state_ready_waiting(const coflow_state_t *st, size_t j, const size_t **list);
/* The sum of the isolation times (iso_s) of job j's WAITING coflows, each
 * truncated to 2^-62 of the power of two above the job's largest and
 * summed exactly, then rounded once: the same double whatever order they
 * were released in, whatever other jobs there are, in any units. O(1). */
double coflow_state_waiting_iso(const coflow_state_t *st, size_t j);
/* Removes finished flow f from its coflow's open list (remaining set to 0).
 * Returns true if that was the coflow's last open flow (it becomes DONE with
 * finish_s = st->now). */
bool coflow_state_finish_flow(coflow_state_t *st, size_t f);

/* Remaining bottleneck time of active coflow c alone on the empty fabric:
 * max over ports of remaining bytes through the port / capacity.
 * O(distinct ports of c) when c has not moved since last asked, O(open flows
 * of c) otherwise; O(1) with coflow_state_keep_iso when c has not moved
 * since last asked. */
double coflow_state_remaining_iso(coflow_state_t *st, size_t c);

/* Active coflow c's remaining bytes through each of its ports, parallel to
 * st->cports[cport_start[c] .. cport_start[c+1]) (senders, then receivers).
 * Cached as above; valid until c's flows move again. */
const double *coflow_state_port_bytes(coflow_state_t *st, size_t c);

/* The same, summed afresh from the open flows (O(open flows of c)) and
 * stored as the new cache: for callers whose rates must respect capacity
 * exactly (MADD), since an incrementally kept cache drifts by rounding once
 * a coflow's remaining bytes are small next to what it has sent. */
const double *coflow_state_port_bytes_exact(coflow_state_t *st, size_t c);

/* The cports positions of flow f's sender and receiver: its groups. */
static inline uint32_t coflow_sgroup(const coflow_state_t *st, size_t f)
{
    return st->fgroup[2 * f];
}
static inline uint32_t coflow_rgroup(const coflow_state_t *st, size_t f)
{
    return st->fgroup[2 * f + 1];
}

/* True if coflow c's cached per-port bytes are current. A driver that moves
 * bytes may keep a valid cache exact instead of letting it be rebuilt:
 * subtract what a flow sent at cport_bytes[coflow_sgroup(st, f)] and
 * [coflow_rgroup(st, f)], then set cache_remaining[c] to the new
 * coflow_remaining[c] (netsim does). */
static inline bool coflow_state_cache_valid(const coflow_state_t *st, size_t c)
{
    return st->cache_remaining[c] == st->coflow_remaining[c] &&
           st->cache_open[c] == st->n_open[c];
}

/* Subtracts x from the cached bytes at cports position q, keeping the
 * rounding error in cport_comp[q] (Knuth's TwoSum), plus `extra`: the part
 * of the true decrease that x lacks (a flow's own rounding). */
static inline void coflow_state_cache_sub(coflow_state_t *st, size_t q, double x, double extra)
{
    double a = st->cport_bytes[q], s = a - x, bb = s - a;
    double err = (a - (s - bb)) + (-x - bb); /* a - x == s + err exactly */
    st->cport_bytes[q] = s;
    st->cport_comp[q] += err - extra;
}

/* --------------------------------------------------------------- policies */

/*
 * An ordering ranks the schedulable coflows. order() receives the ACTIVE
 * coflows' indices in ids[0..n) sorted by release time (then index) and
 * permutes them in place, highest priority first, returning WEFT_OK; or
 * it fails with an error and its detail (weft_fail), which ends the run:
 * netsim_run returns it, the gateway stops. A failure must never pass
 * for an order (the learned ordering without the memory for a decision
 * left its coflows in release order, labelled "learned"). It may read the
 * workload, the per-coflow and per-job state (status, release_s,
 * coflow_remaining, n_open, job_sent) and, through their functions, the
 * per-port bytes (coflow_state_port_bytes, coflow_state_remaining_iso).
 * Per-flow state (flow_remaining, flow_rate) only with reads_flows set: the
 * emulator otherwise keeps the flows of a coflow MADD paced as one
 * shrinking scale (lazy pacing), and their flow_remaining is not their
 * bytes left. docs/adding-a-policy.md walks through writing one.
 */
typedef struct coflow_ordering {
    const char *name;              /* "fifo", "sebf", ... */
    const char *description;       /* one line for `weft sim --help` */
    const char *default_allocator; /* the policy's paper's allocator */
    bool clairvoyant;              /* uses sizes it would not know online */
    double tick_s;                 /* > 0: ask for a decision this often */
    /* Optional per-run context (NULL if unused). */
    weft_err_t (*create)(void **ctx, const coflow_state_t *st);
    void (*destroy)(void *ctx);
    weft_err_t (*order)(void *ctx, coflow_state_t *st, size_t *ids, size_t n);
    /* Optional: given the current flow_rate (and st->rated: when n_rated >
     * 0 it must list exactly the flows with a positive rate, as after an
     * allocation; with n_rated == 0 every open flow's rate is read), the
     * earliest time > st->now at
     * which this ordering would rank differently without any other event
     * (Aalo: a job's sent bytes crossing a queue threshold); INFINITY if
     * none. The emulator takes a decision then, so orderings that change
     * between events stay exact without a fine tick. */
    double (*next_change)(void *ctx, const coflow_state_t *st);
    /* order() reads flow_remaining: the emulator keeps it every flow's
     * bytes left at every decision, without lazy pacing (under MADD that
     * costs about ten times the time: sebf on the Facebook trace 2.5 s
     * with lazy pacing, 29 s without). */
    bool reads_flows;
    /* Optional: tells a context just created that the same coflows, ids
     * in[0..n) in the order order() was given them, were last ordered as
     * out[0..n), as if this context had ordered them. For an ordering
     * whose order depends on its past decisions (the learned one with
     * set_changes_only keeps its last order while the ids do not change),
     * so that a driver that creates it anew for the same coflows (the
     * gateway, at each rebuild of its live state) decides as one that
     * kept it (the emulator). */
    void (*carry_order)(void *ctx, const size_t *in, const size_t *out, size_t n);
    /* Optional, for an ordering that places coflows by a score: writes to
     * scores[i] the score that placed the i-th of the n coflows its last
     * order() call returned and returns true; false if that call placed
     * them otherwise (nothing scored: one coflow alone, an order kept),
     * writing nothing. The ordering keeps only that call's scores, no
     * more memory than it holds for a decision. For the gateway's
     * job_status. */
    bool (*last_scores)(const void *ctx, double *scores, size_t n);
} coflow_ordering_t;

/*
 * An allocator sets rates for the open flows of the coflows in order[0..n)
 * (priority order), from zero, keeping each port's total within capacity.
 * On entry every open flow's rate is 0 and st->n_rated is 0 (the driver
 * resets the flows rated by the previous decision); the allocator writes
 * positive rates only, and appends each flow it rates to st->rated. So a
 * decision costs what moves, not what is open: coflows whose senders or
 * receivers are all full can be skipped by looking at their ports alone.
 */
typedef struct coflow_allocator {
    const char *name;          /* "greedy", "madd", "fair", "srf" */
    const char *description;
    void (*allocate)(coflow_state_t *st, const size_t *order, size_t n);
    bool work_conserving;      /* promises: every open flow of the ordered
                                  coflows has a full port (netsim --check
                                  verifies it) */
    bool lazy_pace;            /* honours st->pace (lazy pacing, above) */
    bool per_pair_fair;        /* per-flow max-min fair, blind to the order:
                                  a driver may rate whole (sender, receiver)
                                  pairs with coflow_fair_levels instead */
    bool per_pair_srf;         /* per-flow shortest remaining first, blind to
                                  the order: a driver may decide with a
                                  coflow_srf_pairs_t instead (same rates) */
    bool lists_rates;          /* gives each flow one rate at most, so it
                                  honours st->rated_rate (madd: under lazy
                                  pacing only, its backfill) */
} coflow_allocator_t;

/* Per-flow shortest remaining first (the "srf" allocator) kept by
 * (sender, receiver) pair, for a driver that reports every flow opening and
 * closing: only the first flow of each pair in walk order can move, so a
 * decision walks the pairs' heads, and of those only the ones that can
 * differ from the last decision, re-sorting only the pairs that changed,
 * instead of sorting every open flow (coflow/alloc_srf.c). It reads
 * st->flow_remaining, which the driver keeps exact for the flows it moved.
 * The driver opens every flow of a released coflow, closes every flow that
 * finishes, and lets only the rated flows move between decisions. */
typedef struct coflow_srf_pairs coflow_srf_pairs_t;

/* For st's workload and fabric, every flow closed. EINVAL with 2^32 - 1
 * flows or 2^30 - 1 ports or more; ENOMEM. O(flows + ports). */
weft_err_t coflow_srf_pairs_new(coflow_srf_pairs_t **out, const coflow_state_t *st);
void coflow_srf_pairs_free(coflow_srf_pairs_t *sp);
/* Flow f opens with st->flow_remaining[f] bytes left. O(log flows of its pair). */
void coflow_srf_pairs_open(coflow_srf_pairs_t *sp, const coflow_state_t *st, size_t f);
/* Open flow f closes (finished). O(log flows of its pair). */
void coflow_srf_pairs_close(coflow_srf_pairs_t *sp, const coflow_state_t *st, size_t f);
/* Sets the rates of every open flow as the srf allocator would over all of
 * them, under the allocator contract (coflow_allocator_t: rates from zero,
 * rated flows listed in st->rated). O(changed pairs x (log ports + places
 * their heads move) + heads walked x log streams): the heads walked are the
 * changed ones and those of ports that lost use since the last decision. */
void coflow_srf_pairs_allocate(coflow_srf_pairs_t *sp, coflow_state_t *st);

/* Max-min fair levels of flows grouped by (sender, receiver) pair: pair i
 * joins ports pair_src[i] (sending) and pair_dst[i] (receiving) and holds
 * cnt[i] > 0 flows (a count, as a double); on return
 * cnt[i] is the rate each of its flows gets (bytes/s, before any trim).
 * Uses st's port scratch, heap_key[0 .. 2 n_ports), flow_list
 * [0 .. 2 n_pairs), port_index, level_heap and level_at; leaves the port
 * scratch zero. O(pairs + rounds log ports): a round pops about one entry
 * per port whose level rose. */
void coflow_fair_levels(coflow_state_t *st, size_t n_pairs, const size_t *pair_src,
                        const size_t *pair_dst, double *cnt);

/* Lookup by name; NULL if unknown. */
const coflow_ordering_t *coflow_ordering_find(const char *name);
const coflow_allocator_t *coflow_allocator_find(const char *name);
/* NULL-terminated lists of every registered one. */
const coflow_ordering_t *const *coflow_orderings(void);
const coflow_allocator_t *const *coflow_allocators(void);

/* Sorts ids[0..n) by key[ids[i]] ascending, ties by release time then index;
 * a stable, deterministic order. key has n_coflows entries. O(n log n). */
void coflow_sort_by_key(const coflow_state_t *st, size_t *ids, size_t n, const double *key);

/* ------------------------------------------------------ learned policy */

/* The "learned" ordering (coflow/learned.c, DESIGN §6) reads its model from
 * st->model_path (msgpack, attention/attn.h's model file) or, if NULL,
 * draws random parameters from st->policy_seed. */

/* Writes a model file of the learned ordering with the default sizes and
 * random parameters drawn from seed: running with it gives the same
 * schedule as running without a model and the same seed. EIO/ENOMEM. */
weft_err_t coflow_learned_save_random(const char *path, uint64_t seed);

/* Number of features per coflow node the learned ordering computes. */
size_t coflow_learned_n_features(void);

/* How the learned ordering computes embeddings (benchmarks, tests). */
typedef enum {
    COFLOW_LEARNED_AUTO = 0,  /* incremental when the node set is unchanged */
    COFLOW_LEARNED_FULL = 1,  /* always the full pipelined forward */
    COFLOW_LEARNED_NAIVE = 2  /* always the level-by-level reference forward */
} coflow_learned_mode_t;

/* What the last decision of a learned context cost (seconds, monotonic
 * clock) and did. */
typedef struct {
    double features_s;  /* live jobs, plan (if rebuilt) and features */
    double embed_s;     /* encoder forward */
    double attn_s;      /* gather and attention scorer */
    double sort_s;      /* argsort and permutation */
    size_t n_nodes;     /* coflows in the graph */
    size_t n_active;    /* schedulable coflows scored */
    size_t n_changed;   /* nodes whose features changed */
    bool incremental;   /* the embedding was updated incrementally */
    bool plan_rebuilt;  /* the node set changed: plan rebuilt, full forward */
    bool alone;         /* one schedulable coflow: nothing was scored (AUTO) */
} coflow_learned_timing_t;

/* ctx is one made by coflow_learned's create(). */
void coflow_learned_set_mode(void *ctx, coflow_learned_mode_t mode);
/* libm true: score with attn_forward_libm (the scorer's kernels before
 * issue 4's vector ones) instead of attn_forward, so a benchmark can put
 * both side by side; the scores agree up to float rounding. */
void coflow_learned_set_libm_attention(void *ctx, bool libm);
void coflow_learned_last_timing(const void *ctx, coflow_learned_timing_t *t);

#endif
