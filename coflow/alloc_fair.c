/*
 * alloc_fair.c - per-flow max-min fair rates (the coflow-agnostic, TCP-like
 * baseline), by progressive filling.
 *
 * All unfrozen flows rise together at one level. A port saturates when
 *     level = (capacity - rates of its frozen flows) / (its unfrozen flows),
 * its "saturation level"; at the lowest one, that port's unfrozen flows
 * freeze at the level. Freezing a flow at level L on a port q that is not yet
 * saturated can only raise q's saturation level ((n*s - L)/(n-1) >= s when
 * s >= L), so each round freezes the port with the lowest level.
 * The ordering is ignored by design.
 */
#include "alloc_internal.h"

#include <math.h>

/* Port keys: p < np is p's send side, np + p its receive side. Per key,
 * while coflow_fair_levels runs: cnt = unfrozen flows (in free_out/free_in,
 * as doubles), fixed = rates of frozen flows (in scratch_out/scratch_in),
 * the end of its slice of pairs in port_index, its level in heap_key[k];
 * heap_val[0 .. 2 np) lists the live ports, flow_list the ports' pairs. */
void coflow_fair_levels(coflow_state_t *st, size_t n_pairs, const size_t *pair_src,
                        const size_t *pair_dst, double *cnt)
{
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, nt = 0;
#define CNT(k) (*((k) < np ? &st->free_out[k] : &st->free_in[(k) - np]))
#define FIXED(k) (*((k) < np ? &st->scratch_out[k] : &st->scratch_in[(k) - np]))
#define CAP(k) ((k) < np ? fab->cap_out[k] : fab->cap_in[(k) - np])
    double m = 0;
    for (size_t i = 0; i < n_pairs; i++) {
        size_t ks = pair_src[i], kd = np + pair_dst[i];
        if (CNT(ks) == 0)
            st->touched[nt++] = ks;
        CNT(ks) += cnt[i];
        if (CNT(kd) == 0)
            st->touched[nt++] = kd;
        CNT(kd) += cnt[i];
        FIXED(ks) += 1; /* pairs per port, zero again below */
        FIXED(kd) += 1;
        m += cnt[i];
    }
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)FIXED(k);
        FIXED(k) = 0;
    }
    for (size_t i = 0; i < n_pairs; i++) {
        st->flow_list[st->port_index[pair_src[i]]++] = i;
        st->flow_list[st->port_index[np + pair_dst[i]]++] = i;
    }
    /* port_index[k] now holds the end of port k's slice of pairs, which
     * lists every pair of the port; CNT counts only the unfrozen flows, so
     * a slice is scanned back from its end until its count reaches zero.
     * At most 2 np ports take part, so each round finds the lowest level
     * by a scan of the live ones, cheaper than a heap fed once per frozen
     * pair. A frozen pair's cnt holds -1 - its level. */
    double *sat = st->heap_key;
    size_t *live = st->heap_val, n_live = nt;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        live[t] = k;
        sat[k] = CAP(k) / CNT(k);
    }
    double unfrozen = m, level = 0;
    while (unfrozen > 0 && n_live > 0) {
        size_t best = 0;
        for (size_t t = 1; t < n_live; t++)
            if (sat[live[t]] < sat[live[best]])
                best = t;
        size_t k = live[best];
        live[best] = live[--n_live];
        if (sat[k] > level)
            level = sat[k];
        if (level < 0)
            level = 0;
        for (size_t q = st->port_index[k]; CNT(k) > 0; q--) {
            size_t i = st->flow_list[q - 1];
            double c = cnt[i];
            if (c < 0)
                continue; /* frozen */
            cnt[i] = -1 - level;
            unfrozen -= c;
            size_t ks = pair_src[i], kd = np + pair_dst[i];
            CNT(ks) -= c;
            FIXED(ks) += level * c;
            CNT(kd) -= c;
            FIXED(kd) += level * c;
            size_t other = ks == k ? kd : ks;
            sat[other] = CNT(other) > 0 ? (CAP(other) - FIXED(other)) / CNT(other) : INFINITY;
        }
        for (size_t t = 0; t < n_live;) /* ports left without unfrozen flows */
            if (CNT(live[t]) <= 0)
                live[t] = live[--n_live];
            else
                t++;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        CNT(k) = 0;
        FIXED(k) = 0;
    }
    for (size_t i = 0; i < n_pairs; i++)
        cnt[i] = cnt[i] < 0 ? -1 - cnt[i] : 0;
#undef CNT
#undef FIXED
#undef CAP
}

/* Flows between the same two ports have the same constraints, so max-min
 * gives them the same rate: the pairs of the open flows are found (sender
 * by sender: scratch_in maps a receiver to its pair + 1 while one sender's
 * flows are read) and filled by coflow_fair_levels. While this runs,
 * flow_rate[f] holds the index of f's pair; pair i's ports are heap_val[H +
 * i] (sender) and heap_val[H + m + i] (receiver), m the open flows, its
 * flows heap_key[H + i], with H = 2 np
 * above what coflow_fair_levels uses; flow_list first holds the flows by
 * sender. O(flows + pairs + ports^2) a decision. */
static void fair_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    size_t np = st->fab->n_ports, nt = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t ks = wl->flows[st->open_flows[co->first_flow + j]].src;
            if (st->free_out[ks] == 0)
                st->touched[nt++] = ks;
            st->free_out[ks] += 1;
            m++;
        }
    }
    if (m == 0)
        return;
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)st->free_out[k];
        st->free_out[k] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            st->flow_list[st->port_index[wl->flows[f].src]++] = f;
        }
    }
    size_t H = 2 * np, n_pairs = 0;
    double *pair_cnt = st->heap_key + H;
    size_t *pair_src = st->heap_val + H, *pair_dst = pair_src + m;
    for (size_t t = 0, q = 0; t < nt; t++) {
        size_t k = st->touched[t], end = st->port_index[k], first = q;
        for (; q < end; q++) {
            size_t f = st->flow_list[q];
            uint32_t d = wl->flows[f].dst;
            if (st->scratch_in[d] == 0) {
                pair_cnt[n_pairs] = 0;
                pair_src[n_pairs] = k;
                pair_dst[n_pairs] = d;
                st->scratch_in[d] = (double)++n_pairs;
            }
            size_t i = (size_t)st->scratch_in[d] - 1;
            pair_cnt[i] += 1;
            st->flow_rate[f] = (double)i;
        }
        for (size_t x = first; x < end; x++)
            st->scratch_in[wl->flows[st->flow_list[x]].dst] = 0;
    }
    coflow_fair_levels(st, n_pairs, pair_src, pair_dst, pair_cnt);
    /* Each flow takes its pair's level. Rounding: a flow can sit at a level
     * a hair above what its ports had left; trim so the capacity invariant
     * holds exactly. */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            double r = pair_cnt[(size_t)st->flow_rate[f]] * (1 - 1e-12);
            st->flow_rate[f] = r > 0 ? r : 0;
            if (r > 0)
                st->rated[st->n_rated++] = f;
        }
    }
}

const coflow_allocator_t coflow_alloc_fair = {
    .work_conserving = true,
    .name = "fair",
    .description = "per-flow max-min fair sharing (TCP-like), ignores the order",
    .allocate = fair_allocate,
    .per_pair_fair = true,
};
