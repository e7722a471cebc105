/*
 * sincronia.c - Sincronia's Bottleneck-Select-Scale-Iterate ordering
 * (Agarwal et al., SIGCOMM 2018, Algorithm 1), weighted by job weight, on
 * remaining bytes.
 *
 * With d(c,p) = remaining bytes of coflow c through port p over p's capacity
 * (send and receive sides are separate ports), repeat until every coflow is
 * placed, filling the order from the back:
 *   b  = the most loaded port, argmax_p sum_c d(c,p) over unplaced coflows;
 *   c* = the unplaced coflow on b minimizing w'(c) / d(c,b)   (select);
 *   w'(c) -= w'(c*) d(c,b) / d(c*,b) for the others on b     (scale);
 *   place c* last among the unplaced; remove it                (iterate).
 * Scaling keeps w' >= 0 because c* minimized the ratio. The paper shows
 * this order is within 4x of the optimal weighted CCT with greedy rates.
 *
 * Data: per-coflow sparse port loads (from the state's cached per-port
 * remaining bytes) and, per decision, the same entries indexed by port
 * (CSR), plus per-port totals. A round scans the touched ports for the
 * bottleneck and then only the entries on it, so a decision costs
 * O(open flows of coflows that moved + n * (ports touched) + entries).
 */
#include "coflow_internal.h"

#include <stdlib.h>

typedef struct {
    size_t cap_coflows, cap_entries;
    size_t *start;    /* [n+1] CSR offsets into port/load per coflow slot */
    size_t *port;     /* [entries] port key: p for send, n_ports + p receive */
    double *load;     /* [entries] d(c, port) */
    double *weight;   /* [n] w' */
    char *placed;     /* [n] */
    double *total;    /* [2 * n_ports] sum of unplaced loads, zero between calls */
    size_t *ports;    /* [2 * n_ports] touched port keys */
    size_t *result;   /* [n] order being built from the back */
    size_t *owner;    /* [entries] coflow slot of each entry */
    size_t *pstart;   /* [2 * n_ports] CSR start of each port's entries in pe */
    size_t *pcount;   /* [2 * n_ports] entries per port, zero between calls */
    size_t *pe;       /* [entries] entry indices grouped by port */
} sinc_ctx_t;

static void sinc_destroy(void *ctx)
{
    sinc_ctx_t *s = ctx;
    if (!s)
        return;
    free(s->start);
    free(s->port);
    free(s->load);
    free(s->weight);
    free(s->placed);
    free(s->total);
    free(s->ports);
    free(s->result);
    free(s->owner);
    free(s->pstart);
    free(s->pcount);
    free(s->pe);
    free(s);
}

static weft_err_t sinc_create(void **ctx, const coflow_state_t *st)
{
    sinc_ctx_t *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    size_t nc = st->wl->n_coflows, np = st->fab->n_ports;
    /* A coflow touches at most 2 * min(flows, ports) port keys. */
    size_t entries = 0;
    for (size_t c = 0; c < nc; c++) {
        size_t f = st->wl->coflows[c].n_flows;
        entries += 2 * (f < np ? f : np);
    }
    s->cap_coflows = nc;
    s->cap_entries = entries;
    s->start = weft_calloc(nc + 1, sizeof *s->start);
    s->port = weft_calloc(entries, sizeof *s->port);
    s->load = weft_calloc(entries, sizeof *s->load);
    s->weight = weft_calloc(nc, sizeof *s->weight);
    s->placed = weft_calloc(nc, 1);
    s->total = weft_calloc(2 * np, sizeof *s->total);
    s->ports = weft_calloc(2 * np, sizeof *s->ports);
    s->result = weft_calloc(nc, sizeof *s->result);
    s->owner = weft_calloc(entries, sizeof *s->owner);
    s->pstart = weft_calloc(2 * np, sizeof *s->pstart);
    s->pcount = weft_calloc(2 * np, sizeof *s->pcount);
    s->pe = weft_calloc(entries, sizeof *s->pe);
    if (!s->start || !s->port || !s->load || !s->weight || !s->placed || !s->total ||
        !s->ports || !s->result || !s->owner || !s->pstart || !s->pcount || !s->pe) {
        sinc_destroy(s);
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    }
    *ctx = s;
    return WEFT_OK;
}

static void sinc_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    sinc_ctx_t *s = ctx;
    const coflow_workload_t *wl = st->wl;
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, n_ports_touched = 0, e = 0;
    /* Gather each coflow's per-port remaining load d(c, p) = bytes / cap. */
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + wl->coflows[c].n_senders,
               b = st->cport_start[c + 1];
        s->start[i] = e;
        for (size_t q = a; q < b; q++) {
            if (!(bytes[q - a] > 0))
                continue;
            uint32_t p = st->cports[q];
            size_t key = q < mid ? p : np + p;
            double d = bytes[q - a] / (q < mid ? fab->cap_out[p] : fab->cap_in[p]);
            s->port[e] = key;
            s->load[e] = d;
            s->owner[e++] = i;
            if (s->pcount[key]++ == 0)
                s->ports[n_ports_touched++] = key;
            s->total[key] += d;
        }
        s->weight[i] = wl->jobs[wl->coflows[c].job].weight;
        s->placed[i] = 0;
    }
    s->start[n] = e;
    /* Entries by port: pstart from the counts, then a fill in entry order,
     * so each port's list is sorted by coflow slot (release order). */
    size_t off = 0;
    for (size_t t = 0; t < n_ports_touched; t++) {
        size_t key = s->ports[t];
        s->pstart[key] = off;
        off += s->pcount[key];
        s->pcount[key] = 0;
    }
    for (size_t q = 0; q < e; q++)
        s->pe[s->pstart[s->port[q]] + s->pcount[s->port[q]]++] = q;

    for (size_t k = n; k-- > 0;) {
        /* Bottleneck: the most loaded port among the unplaced coflows. */
        size_t b = SIZE_MAX;
        double best_total = 0;
        for (size_t t = 0; t < n_ports_touched; t++) {
            size_t key = s->ports[t];
            if (s->total[key] > best_total) {
                best_total = s->total[key];
                b = key;
            }
        }
        /* Select: min w'/d(c,b) among unplaced coflows on b; on a tie the
         * later-released one goes last (FIFO among equals). Rounding can
         * leave a total > 0 with no coflow: then place by index. */
        size_t pick = SIZE_MAX;
        double pick_ratio = 0, pick_d = 0;
        size_t lo = b == SIZE_MAX ? 0 : s->pstart[b];
        size_t hi = b == SIZE_MAX ? 0 : lo + s->pcount[b];
        for (size_t q = lo; q < hi; q++) {
            size_t en = s->pe[q], i = s->owner[en];
            if (s->placed[i])
                continue;
            double ratio = s->weight[i] / s->load[en];
            if (pick == SIZE_MAX || ratio <= pick_ratio) {
                pick = i;
                pick_ratio = ratio;
                pick_d = s->load[en];
            }
        }
        if (pick == SIZE_MAX) {
            if (b != SIZE_MAX) { /* rounding residue: retire the port */
                s->total[b] = 0;
                k++;
                continue;
            }
            for (size_t i = n; i-- > 0;)
                if (!s->placed[i]) {
                    pick = i;
                    break;
                }
        }
        /* Scale the others' weights on b, then remove the pick. */
        if (pick_d > 0)
            for (size_t q = lo; q < hi; q++) {
                size_t en = s->pe[q], i = s->owner[en];
                if (s->placed[i] || i == pick)
                    continue;
                s->weight[i] -= s->weight[pick] * s->load[en] / pick_d;
                if (s->weight[i] < 0)
                    s->weight[i] = 0;
            }
        s->placed[pick] = 1;
        for (size_t q = s->start[pick]; q < s->start[pick + 1]; q++) {
            s->total[s->port[q]] -= s->load[q];
            if (s->total[s->port[q]] < 1e-15)
                s->total[s->port[q]] = 0;
        }
        s->result[k] = ids[pick];
    }
    for (size_t t = 0; t < n_ports_touched; t++) {
        s->total[s->ports[t]] = 0;
        s->pcount[s->ports[t]] = 0;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = s->result[i];
}

const coflow_ordering_t coflow_sincronia = {
    .name = "sincronia",
    .description = "Sincronia BSSI: weighted bottleneck-select-scale-iterate ordering",
    .default_allocator = "greedy",
    .clairvoyant = true,
    .create = sinc_create,
    .destroy = sinc_destroy,
    .order = sinc_order,
};
