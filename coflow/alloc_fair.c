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

/* Port keys: p < np is p's send side, np + p its receive side. Per key:
 * cnt = unfrozen flows (in free_out/free_in, as doubles), fixed = rates of
 * frozen flows (in scratch_out/scratch_in), CSR end in port_index.
 *
 * Flows between the same two ports have the same constraints, so max-min
 * gives them the same rate: the filling runs over (sender, receiver) pairs
 * weighted by their open flows: O(flows + pairs + ports^2) a decision.
 * Scratch layout (st's arrays, sized for flows + ports): while a decision
 * runs, flow_rate[f] holds the index of f's pair; for pair i,
 * heap_val[H + i] = sender * np + receiver and heap_key[H + i] its unfrozen
 * flows (> 0), or -1 - level once frozen, with H = 2 np + m above the
 * per-port levels and live list (below 2 np); flow_list
 * first holds the flows by sender, then each port's pairs (CSR). */
static void fair_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, nt = 0, m = 0;
#define CNT(k) (*((k) < np ? &st->free_out[k] : &st->free_in[(k) - np]))
#define FIXED(k) (*((k) < np ? &st->scratch_out[k] : &st->scratch_in[(k) - np]))
#define CAP(k) ((k) < np ? fab->cap_out[k] : fab->cap_in[(k) - np])
    /* Open flows by sender (counting sort into flow_list). */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            size_t ks = wl->flows[f].src;
            if (CNT(ks) == 0)
                st->touched[nt++] = ks;
            CNT(ks) += 1;
            m++;
        }
    }
    if (m == 0)
        return;
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)CNT(k);
    }
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            st->flow_list[st->port_index[wl->flows[f].src]++] = f;
        }
    }
    /* Pairs, sender by sender: scratch_in maps a receiver to its pair + 1
     * while one sender's flows are read. */
    size_t H = 2 * np + m, n_pairs = 0, ns = nt;
    double *pair_cnt = st->heap_key + H;
    size_t *pair_ports = st->heap_val + H;
    for (size_t t = 0, q = 0; t < ns; t++) {
        size_t k = st->touched[t], end = st->port_index[k];
        size_t first = q;
        for (; q < end; q++) {
            size_t f = st->flow_list[q];
            uint32_t d = wl->flows[f].dst;
            if (st->scratch_in[d] == 0) {
                pair_cnt[n_pairs] = 0;
                pair_ports[n_pairs] = k * np + d;
                st->scratch_in[d] = (double)++n_pairs;
            }
            size_t i = (size_t)st->scratch_in[d] - 1;
            pair_cnt[i] += 1;
            st->flow_rate[f] = (double)i;
        }
        for (size_t x = first; x < end; x++)
            st->scratch_in[wl->flows[st->flow_list[x]].dst] = 0;
    }
    /* Receivers' counts; then each port's pairs in CSR form. */
    for (size_t i = 0; i < n_pairs; i++) {
        size_t kd = np + pair_ports[i] % np;
        if (CNT(kd) == 0)
            st->touched[nt++] = kd;
        CNT(kd) += pair_cnt[i];
    }
    /* Pairs per port, counted in FIXED (zero again right after). */
    for (size_t i = 0; i < n_pairs; i++) {
        FIXED(pair_ports[i] / np) += 1;
        FIXED(np + pair_ports[i] % np) += 1;
    }
    off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)FIXED(k);
        FIXED(k) = 0;
    }
    for (size_t i = 0; i < n_pairs; i++) {
        st->flow_list[st->port_index[pair_ports[i] / np]++] = i;
        st->flow_list[st->port_index[np + pair_ports[i] % np]++] = i;
    }
    /* Saturation level of each port key k in sat[k] (heap_key's first 2 np
     * entries, below H). At most 2 np ports take part, so each round finds
     * the lowest by a scan of the unsaturated ones (kept at the front of
     * live[]), which costs less than a heap fed once per frozen pair. */
    double *sat = st->heap_key;
    size_t *live = st->heap_val, n_live = nt;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        live[t] = k;
        sat[k] = CAP(k) / CNT(k);
    }
    size_t unfrozen = m;
    double level = 0;
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
        /* Freeze this port's unfrozen pairs at the level, walking its slice
         * backwards from its end until its count reaches zero. */
        for (size_t q = st->port_index[k]; CNT(k) > 0; q--) {
            size_t i = st->flow_list[q - 1];
            double cnt = pair_cnt[i];
            if (cnt < 0)
                continue; /* frozen */
            pair_cnt[i] = -1 - level;
            unfrozen -= (size_t)cnt;
            size_t ks = pair_ports[i] / np, kd = np + pair_ports[i] % np;
            CNT(ks) -= cnt;
            FIXED(ks) += level * cnt;
            CNT(kd) -= cnt;
            FIXED(kd) += level * cnt;
            size_t other = ks == k ? kd : ks;
            sat[other] = CNT(other) > 0 ? (CAP(other) - FIXED(other)) / CNT(other) : INFINITY;
        }
        /* ports left without unfrozen flows drop out */
        for (size_t t = 0; t < n_live;)
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
    /* Each flow takes its pair's level. Rounding: a flow can sit at a level
     * a hair above what its ports had left; trim so the capacity invariant
     * holds exactly. */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            double c = pair_cnt[(size_t)st->flow_rate[f]];
            double r = c < 0 ? (-1 - c) * (1 - 1e-12) : 0;
            st->flow_rate[f] = r > 0 ? r : 0;
            if (r > 0)
                st->rated[st->n_rated++] = f;
        }
    }
#undef CNT
#undef FIXED
#undef CAP
}

const coflow_allocator_t coflow_alloc_fair = {
    .work_conserving = true,
    .name = "fair",
    .description = "per-flow max-min fair sharing (TCP-like), ignores the order",
    .allocate = fair_allocate,
};
