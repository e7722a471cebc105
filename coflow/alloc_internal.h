/*
 * alloc_internal.h - helpers the allocators share.
 *
 * Used-capacity convention: while an allocator runs, st->free_out/free_in
 * hold the capacity USED so far on each port (zero between calls). Only the
 * ports of rated flows are ever non-zero, so alloc_release_ports() restores
 * the zeros by walking st->rated: O(flows rated), never O(ports) or
 * O(open flows).
 */
#ifndef ALLOC_INTERNAL_H
#define ALLOC_INTERNAL_H

#include "coflow_internal.h"

/* Gives flow f, from port s to port d, r > 0 more bytes/s, counts it on
 * its two ports and lists f in st->rated the first time it gets anything.
 * A caller that knows f's ports (a greedy walk over millions of flows)
 * passes them, so the flow itself is never read. */
static inline void alloc_add_rate_at(coflow_state_t *st, size_t f, uint32_t s, uint32_t d,
                                     double r)
{
    const coflow_fabric_t *fab = st->fab;
    if (st->flow_rate[f] == 0)
        st->rated[st->n_rated++] = f;
    if (st->free_out[s] == 0)
        st->used_ports[st->n_used_ports++] = s;
    if (st->free_in[d] == 0)
        st->used_ports[st->n_used_ports++] = (uint32_t)fab->n_ports + d;
    st->flow_rate[f] += r;
    st->free_out[s] += r;
    st->free_in[d] += r;
    /* the full-port sets (coflow.h): the same test as alloc_port_full */
    if (fab->cap_out[s] - st->free_out[s] <= COFLOW_RATE_EPS * fab->cap_out[s])
        st->full_out[s >> 6] |= (uint64_t)1 << (s & 63);
    if (fab->cap_in[d] - st->free_in[d] <= COFLOW_RATE_EPS * fab->cap_in[d])
        st->full_in[d >> 6] |= (uint64_t)1 << (d & 63);
}

/* The same, reading f's ports from the workload. */
static inline void alloc_add_rate(coflow_state_t *st, size_t f, double r)
{
    const coflow_flow_t *fl = &st->wl->flows[f];
    alloc_add_rate_at(st, f, fl->src, fl->dst, r);
}

/* Counts r > 0 bytes/s of use on port p's send (out) or receive side
 * without a flow (lazy pacing, coflow.h), keeping the full-port sets as
 * alloc_add_rate does. */
static inline void alloc_add_port_use(coflow_state_t *st, bool out, uint32_t p, double r)
{
    const coflow_fabric_t *fab = st->fab;
    double *used = out ? st->free_out : st->free_in;
    const double *cap = out ? fab->cap_out : fab->cap_in;
    if (used[p] == 0)
        st->used_ports[st->n_used_ports++] = out ? p : (uint32_t)fab->n_ports + p;
    used[p] += r;
    if (cap[p] - used[p] <= COFLOW_RATE_EPS * cap[p])
        (out ? st->full_out : st->full_in)[p >> 6] |= (uint64_t)1 << (p & 63);
}

/* True if port p's send (out) or receive side is full: its bit in the
 * full-port set, which alloc_add_rate keeps equal to
 * cap - used <= COFLOW_RATE_EPS * cap. */
static inline bool alloc_out_full(const coflow_state_t *st, uint32_t p)
{
    return (st->full_out[p >> 6] >> (p & 63)) & 1;
}
static inline bool alloc_in_full(const coflow_state_t *st, uint32_t p)
{
    return (st->full_in[p >> 6] >> (p & 63)) & 1;
}

/* False when every sending port or every receiving port of active coflow c
 * is full, so none of its flows can get anything: the coflow is skipped
 * without walking its flows. O(distinct ports of c). */
bool alloc_coflow_can_move(const coflow_state_t *st, size_t c);

/*
 * The incremental greedy's memory of the last pass (coflow.h,
 * coflow_state_keep_greedy). A coflow's walk is a function of its open
 * flows and of the used capacity of its ports when the walk reaches it;
 * the pass keeps, coflow by coflow, the (flow, rate) pairs the walk gave
 * in walk order (its "segment"), and a set of dirty ports: those whose
 * used capacity at the current point of this pass may differ from the
 * last pass's at the same point. A coflow with the same open flows, not
 * moved against the coflows before it, and no dirty port gets its
 * segment again (the same additions in the same order, so the same
 * floats); any other is walked and its new segment compared with the old
 * one: the ports of every pair that does not match become dirty. Dirty at
 * the start: ports whose use before the pass (madd's pacing) differs, and
 * the ports of the old segments of coflows gone or moved.
 */
struct coflow_greedy_memo {
    uint64_t pass;        /* passes so far; this pass's number while one runs */
    bool valid;           /* the last pass was recorded completely */
    size_t *prev_order;   /* [n_coflows] the last pass's order */
    size_t prev_n;
    size_t *pos;          /* [n_coflows] position in the last pass's order */
    uint64_t *pos_pass;   /* [n_coflows] pass that set pos (and the segment) */
    uint64_t *in_pass;    /* [n_coflows] pass in whose order it is */
    uint64_t *moved_pass; /* [n_coflows] pass in which it moved */
    size_t *n_open_at;    /* [n_coflows] its open flows when last walked */
    size_t *seg_start, *seg_len; /* [n_coflows] its segment in the last pass */
    size_t *seg_flow[2];  /* [seg_cap] segments, this pass's in [cur] */
    double *seg_rate[2];
    size_t seg_cap, seg_n;/* this pass's entries so far */
    int cur;
    bool overflow;        /* this pass ran out of segment room */
    uint64_t *dirty_out, *dirty_in; /* [n_port_words + 1] */
    double *init_val;     /* [2 * n_ports] use before the last pass (p sends,
                             n_ports + p receives), 0 where none */
    uint32_t *init_list;  /* [2 * n_ports] its ports */
    size_t n_init;
    uint8_t *by_src_at;   /* [n_coflows] walked by senders last time */
    uint64_t *grp_pass;   /* [n_coflows] pass whose group records it has */
    uint32_t *goff, *glen;/* [number of cports] a walked-side group's entries:
                             [seg_start[c] + goff, + glen) */
    uint32_t *gopen_at;   /* [number of cports] its open flows then */
    uint64_t *cand_bits;  /* [n_port_words + 1] scratch: groups to walk again,
                             by port */
    uint64_t *cand_local; /* [n_port_words + 1] the same by position (worklist) */
    uint32_t *fa[2];      /* [2 * n_ports] where each port filled in this pass
                             ([cur]) and the last: 1 + position of the coflow
                             in the order, 0 before the first */
    uint64_t *fa_pass[2]; /* [2 * n_ports] pass that wrote fa */
    uint32_t at;          /* 1 + position of the coflow being walked */
    size_t n_walked, n_replayed, n_grouped; /* counts (coflow_greedy_memo_counts) */
};

/* Greedy in priority order: each open flow of order[0..n) gets all the
 * capacity left at both its ports (nothing below COFLOW_RATE_EPS of them),
 * added to what it has. O(open flows of the coflows that can move). */
void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n);

/* Zeroes the used capacity and the full-port bits of every port
 * alloc_add_rate gave capacity (the only way a port fills): O(ports used),
 * not O(flows rated). */
void alloc_release_ports(coflow_state_t *st);

#endif
