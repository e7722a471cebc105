/*
 * alloc_internal.h - helpers the allocators share.
 *
 * Used-capacity convention: while an allocator runs, st->free_out/free_in
 * hold the capacity USED so far on each port (zero between calls).
 * alloc_release_ports() restores the zeros: on a small fabric all at once,
 * else through the list of ports used (st->used_ports), O(ports used),
 * never O(open flows).
 */
#ifndef ALLOC_INTERNAL_H
#define ALLOC_INTERNAL_H

#include "coflow_internal.h"

/* The helpers below are forced inline: GCC inlines no plain function into
 * a target clone built for another target (WEFT_HOT_CLONES), and a call
 * per rate would cost the clone more than it gains. */
#define ALLOC_INLINE static inline __attribute__((always_inline))

/* Counts r > 0 bytes/s of a flow from port s to port d on both ports,
 * keeping the list of used ports and the full-port sets (coflow.h). The
 * greedy walk (walk_flow in alloc_greedy.c) and MADD's pacing pass
 * (side_use) do the same with the arrays in locals: a change here goes
 * there too. */
ALLOC_INLINE void alloc_count_rate(coflow_state_t *st, uint32_t s, uint32_t d, double r)
{
    const coflow_fabric_t *fab = st->fab;
    if (!st->clear_all_ports) {
        if (st->free_out[s] == 0)
            st->used_ports[st->n_used_ports++] = s;
        if (st->free_in[d] == 0)
            st->used_ports[st->n_used_ports++] = (uint32_t)fab->n_ports + d;
    }
    st->free_out[s] += r;
    st->free_in[d] += r;
    /* the full-port sets (coflow.h): the same test as alloc_port_full */
    if (fab->cap_out[s] - st->free_out[s] <= COFLOW_RATE_EPS * fab->cap_out[s])
        st->full_out[s >> 6] |= (uint64_t)1 << (s & 63);
    if (fab->cap_in[d] - st->free_in[d] <= COFLOW_RATE_EPS * fab->cap_in[d])
        st->full_in[d >> 6] |= (uint64_t)1 << (d & 63);
}

/* Gives flow f, from port s to port d, r > 0 more bytes/s, counts it on
 * its two ports and lists f in st->rated the first time it gets anything.
 * A caller that knows f's ports (a greedy walk over millions of flows)
 * passes them, so the flow itself is never read. */
ALLOC_INLINE void alloc_add_rate_at(coflow_state_t *st, size_t f, uint32_t s, uint32_t d,
                                    double r)
{
    if (st->flow_rate[f] == 0)
        st->rated[st->n_rated++] = f;
    st->flow_rate[f] += r;
    alloc_count_rate(st, s, d, r);
}

/* The same for a flow known to have no rate yet in this allocation (a
 * greedy pass from zero gives each flow one rate at most): its rate is
 * written without being read first, one load from an array of every flow
 * less, and with st->rated_rate set it goes beside the flow in the list
 * instead (coflow.h). */
ALLOC_INLINE void alloc_first_rate_at(coflow_state_t *st, size_t f, uint32_t s, uint32_t d,
                                      double r)
{
    if (st->rated_rate)
        st->rated_rate[st->n_rated] = r;
    else
        st->flow_rate[f] = r;
    if (st->rated_src) {
        st->rated_src[st->n_rated] = s;
        st->rated_dst[st->n_rated] = d;
    }
    st->rated[st->n_rated++] = f;
    alloc_count_rate(st, s, d, r);
}

/* The rate of rated[k] (alloc_first_rate_at, above). */
ALLOC_INLINE double alloc_rated_rate(const coflow_state_t *st, size_t k)
{
    return st->rated_rate ? st->rated_rate[k] : st->flow_rate[st->rated[k]];
}

/* The same, reading f's ports from the workload. */
ALLOC_INLINE void alloc_add_rate(coflow_state_t *st, size_t f, double r)
{
    const coflow_flow_t *fl = &st->wl->flows[f];
    alloc_add_rate_at(st, f, fl->src, fl->dst, r);
}

/* True if port p's send (out) or receive side is full: its bit in the
 * full-port set, which alloc_add_rate keeps equal to
 * cap - used <= COFLOW_RATE_EPS * cap. */
ALLOC_INLINE bool alloc_out_full(const coflow_state_t *st, uint32_t p)
{
    return (st->full_out[p >> 6] >> (p & 63)) & 1;
}
ALLOC_INLINE bool alloc_in_full(const coflow_state_t *st, uint32_t p)
{
    return (st->full_in[p >> 6] >> (p & 63)) & 1;
}

/* False when every sending port or every receiving port of active coflow c
 * is full, so none of its flows can get anything: the coflow is skipped
 * without walking its flows. O(distinct ports of c). */
bool alloc_coflow_can_move(const coflow_state_t *st, size_t c);

/* Greedy in priority order: each open flow of order[0..n) gets all the
 * capacity left at both its ports (nothing below COFLOW_RATE_EPS of them),
 * added to what it has (`fresh`: it has nothing yet, so its rate is just
 * written). O(open flows of the coflows that can move). */
void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n, bool fresh);

/* Zeroes the used capacity and the full-port bits of every port given
 * capacity (the only way a port fills): every port's at once on a fabric
 * of at most COFLOW_CLEAR_ALL_PORTS ports, else those listed in
 * st->used_ports, O(ports used). */
void alloc_release_ports(coflow_state_t *st);

#endif
