/*
 * alloc_srf.c - per-flow shortest remaining first (pFabric-like; Alizadeh
 * et al., SIGCOMM 2013): every open flow of the ordered coflows, by bytes
 * left ascending, takes all its two ports have left. The coflow order only
 * breaks ties (the sort is stable over the flows listed in priority order).
 * O(flows log flows) a decision, with no allocation: a bottom-up merge sort
 * uses the second half of st->flow_list as its buffer (glibc's qsort would
 * malloc one for every large decision).
 */
#include "alloc_internal.h"

static void srf_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const double *cap_out = st->fab->cap_out, *cap_in = st->fab->cap_in;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            st->flow_list[m++] = f;
        }
    }
    coflow_merge_sort_by(st->flow_list, st->flow_list + m, m, st->flow_remaining);
    for (size_t i = 0; i < m; i++) {
        size_t f = st->flow_list[i];
        uint32_t s = wl->flows[f].src, d = wl->flows[f].dst;
        double free_s = cap_out[s] - st->free_out[s], free_d = cap_in[d] - st->free_in[d];
        double r = free_s < free_d ? free_s : free_d;
        if (r <= COFLOW_RATE_EPS * (cap_out[s] < cap_in[d] ? cap_out[s] : cap_in[d]))
            continue;
        alloc_add_rate(st, f, r);
    }
    alloc_release_ports(st);
}

const coflow_allocator_t coflow_alloc_srf = {
    .work_conserving = true,
    .name = "srf",
    .description = "per-flow shortest remaining first (pFabric-like), ignores the order",
    .allocate = srf_allocate,
};
