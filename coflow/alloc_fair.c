/*
 * alloc_fair.c - per-flow max-min fair rates (the coflow-agnostic, TCP-like
 * baseline), by progressive filling.
 *
 * All unfrozen flows rise together at one level. A port saturates when
 *     level = (capacity - rates of its frozen flows) / (its unfrozen flows),
 * its "saturation level"; at the lowest one, that port's unfrozen flows
 * freeze at the level. Freezing a flow at level L on a port q that is not yet
 * saturated can only raise q's saturation level ((n*s - L)/(n-1) >= s when
 * s >= L), so a min-heap with lazy deletion finds each next port: a
 * decision costs O((flows + ports) log(flows + ports)).
 * The ordering is ignored by design.
 */
#include "alloc_internal.h"

#include <math.h>

typedef struct {
    double *key;
    size_t *val;
    size_t n;
} heap_t;

static void heap_push(heap_t *h, double key, size_t val)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->key[parent] <= key)
            break;
        h->key[i] = h->key[parent];
        h->val[i] = h->val[parent];
        i = parent;
    }
    h->key[i] = key;
    h->val[i] = val;
}

static void heap_pop(heap_t *h)
{
    double key = h->key[--h->n];
    size_t val = h->val[h->n], i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        double mk = key;
        if (l < h->n && h->key[l] < mk)
            m = l, mk = h->key[l];
        if (l + 1 < h->n && h->key[l + 1] < mk)
            m = l + 1;
        if (m == i)
            break;
        h->key[i] = h->key[m];
        h->val[i] = h->val[m];
        i = m;
    }
    h->key[i] = key;
    h->val[i] = val;
}

/* Port keys: p < np is p's send side, np + p its receive side. Per key:
 * cnt = unfrozen flows (in free_out/free_in, as doubles), fixed = rates of
 * frozen flows (in scratch_out/scratch_in), CSR start in port_index. */
static void fair_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, nt = 0, m = 0;
#define CNT(k) (*((k) < np ? &st->free_out[k] : &st->free_in[(k) - np]))
#define FIXED(k) (*((k) < np ? &st->scratch_out[k] : &st->scratch_in[(k) - np]))
#define CAP(k) ((k) < np ? fab->cap_out[k] : fab->cap_in[(k) - np])
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            size_t ks = wl->flows[f].src, kd = np + wl->flows[f].dst;
            if (CNT(ks) == 0)
                st->touched[nt++] = ks;
            CNT(ks) += 1;
            if (CNT(kd) == 0)
                st->touched[nt++] = kd;
            CNT(kd) += 1;
            st->flow_rate[f] = -1; /* unfrozen */
            m++;
        }
    }
    /* CSR of flows by port: port_index[k] is first a fill cursor. */
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
            st->flow_list[st->port_index[np + wl->flows[f].dst]++] = f;
        }
    }
    heap_t h = {st->heap_key, st->heap_val, 0};
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] -= (size_t)CNT(k); /* back to the start */
        heap_push(&h, CAP(k) / CNT(k), k);
    }
    /* port_index[k] now holds the start of port k's CSR slice, which lists
     * every flow of the port; CNT counts only the unfrozen ones, so a
     * slice is scanned until its count reaches zero. */
    size_t unfrozen = m;
    double level = 0;
    while (unfrozen > 0 && h.n > 0) {
        size_t k = h.val[0];
        double key = h.key[0];
        heap_pop(&h);
        if (CNT(k) <= 0)
            continue;
        double sat = (CAP(k) - FIXED(k)) / CNT(k);
        if (sat > key * (1 + 1e-15) + 1e-300) { /* stale entry: re-push */
            heap_push(&h, sat, k);
            continue;
        }
        if (sat > level)
            level = sat;
        if (level < 0)
            level = 0;
        /* Freeze this port's unfrozen flows at the level. Its slice has one
         * entry per flow of the port; frozen ones have rate >= 0. */
        size_t start = st->port_index[k];
        for (size_t q = start; CNT(k) > 0; q++) {
            size_t f = st->flow_list[q];
            if (st->flow_rate[f] >= 0)
                continue;
            st->flow_rate[f] = level;
            unfrozen--;
            size_t ks = wl->flows[f].src, kd = np + wl->flows[f].dst;
            CNT(ks) -= 1;
            FIXED(ks) += level;
            CNT(kd) -= 1;
            FIXED(kd) += level;
            size_t other = ks == k ? kd : ks;
            if (other != k && CNT(other) > 0)
                heap_push(&h, (CAP(other) - FIXED(other)) / CNT(other), other);
        }
    }
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        CNT(k) = 0;
        FIXED(k) = 0;
    }
    /* Rounding: a flow can sit at a level a hair above what its ports had
     * left; trim so the capacity invariant holds exactly. */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            double r = st->flow_rate[f] * (1 - 1e-12);
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
