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
 * remaining bytes), per-port totals in one dense column per touched port,
 * and the coflows on a port either looked up through each coflow's port
 * sets or, with many coflows, listed by port (CSR). A round scans the
 * columns for the bottleneck and then only the coflows on it, so a
 * decision costs O(open flows of coflows that moved + n * (ports touched)
 * + entries).
 */
#include "coflow_internal.h"

#include <stdlib.h>

typedef struct {
    size_t cap_coflows, cap_entries;
    size_t *start;    /* [n+1] CSR offsets into port/load per coflow slot */
    size_t *port;     /* [entries] the port's place in ports[] (its column) */
    double *load;     /* [entries] d(c, port) */
    double *weight;   /* [n] w' */
    char *placed;     /* [n] */
    double *total;    /* [2 * n_ports] sum of unplaced loads by column */
    size_t *ports;    /* [2 * n_ports] touched port keys (p for send, n_ports + p
                         receive), in the order first touched: the columns */
    size_t *column;   /* [2 * n_ports] column + 1 of each port key, zero between calls */
    const double **bytes; /* [n] each coflow's remaining bytes per port */
    size_t *result;   /* [n] order being built from the back */
    size_t *owner;    /* [entries] coflow slot of each entry */
    size_t *pstart;   /* [2 * n_ports] CSR start of each column's entries in pe */
    size_t *pcount;   /* [2 * n_ports] entries per column */
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
    free(s->column);
    free(s->bytes);
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
    s->column = weft_calloc(2 * np, sizeof *s->column);
    s->bytes = weft_calloc(nc, sizeof *s->bytes);
    if (!s->start || !s->port || !s->load || !s->weight || !s->placed || !s->total ||
        !s->ports || !s->result || !s->owner || !s->pstart || !s->pcount || !s->pe ||
        !s->column || !s->bytes) {
        sinc_destroy(s);
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    }
    *ctx = s;
    return WEFT_OK;
}

/* d(c, key) of the coflow c in slot i, found through c's port sets
 * (st->pmask): the same division as its entry's load. -1 when c has no
 * bytes through that port (no entry). */
static double slot_load(const coflow_state_t *st, const sinc_ctx_t *s, size_t c, size_t i,
                        size_t key)
{
    size_t np = st->fab->n_ports;
    bool out = key < np;
    uint32_t p = (uint32_t)(out ? key : key - np);
    const uint32_t *sp = st->pmask_span + 4 * c;
    uint32_t w0 = out ? sp[0] : sp[2], nw = out ? sp[1] : sp[3], w = p >> 6;
    if (w < w0 || w - w0 >= nw)
        return -1;
    size_t word = st->pmask_off[c] + (out ? 0 : sp[1]) + (w - w0);
    uint64_t bit = (uint64_t)1 << (p & 63);
    if (!(st->pmask[word] & bit))
        return -1;
    size_t rank = st->prank[word] + (size_t)__builtin_popcountll(st->pmask[word] & (bit - 1));
    size_t a = st->cport_start[c], lo = out ? a : a + st->wl->coflows[c].n_senders;
    double bytes = s->bytes[i][lo - a + st->port_local[lo + rank]];
    if (!(bytes > 0))
        return -1;
    return bytes / (out ? st->fab->cap_out[p] : st->fab->cap_in[p]);
}

/* The first of total[0..n) holding its maximum, if that is > 0, else
 * SIZE_MAX: the maximum with four running maxima (the scan runs once a
 * round over a few hundred columns), then its first place, the same
 * column as one pass keeping the first strictly larger. */
static size_t bottleneck(const double *total, size_t n)
{
    double best = coflow_max_or_zero(total, n);
    if (!(best > 0))
        return SIZE_MAX;
    size_t t = 0;
    while (total[t] != best)
        t++;
    return t;
}

static void sinc_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    sinc_ctx_t *s = ctx;
    const coflow_workload_t *wl = st->wl;
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, n_cols = 0, e = 0;
    /* Gather each coflow's per-port remaining load d(c, p) = bytes / cap;
     * each port touched gets a column, in the order first touched. */
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + wl->coflows[c].n_senders,
               b = st->cport_start[c + 1];
        s->bytes[i] = bytes;
        s->start[i] = e;
        for (size_t q = a; q < b; q++) {
            if (!(bytes[q - a] > 0))
                continue;
            uint32_t p = st->cports[q];
            size_t key = q < mid ? p : np + p;
            double d = bytes[q - a] / (q < mid ? fab->cap_out[p] : fab->cap_in[p]);
            if (s->column[key] == 0) {
                s->ports[n_cols] = key;
                s->column[key] = ++n_cols;
            }
            size_t col = s->column[key] - 1;
            s->port[e] = col;
            s->load[e] = d;
            s->owner[e++] = i;
            s->total[col] += d;
        }
        s->weight[i] = wl->jobs[wl->coflows[c].job].weight;
        s->placed[i] = 0;
    }
    s->start[n] = e;
    /* The coflows on a bottleneck, in slot order: looked up coflow by
     * coflow through its port sets when there are few coflows (n^2 lookups
     * a decision), else listed by column once (O(entries)); the FB trace
     * has about 5 active coflows with 1,000 entries between them. */
    bool lookup = st->pmask && n * n <= e;
    if (!lookup) {
        for (size_t q = 0; q < e; q++)
            s->pcount[s->port[q]]++;
        size_t off = 0;
        for (size_t t = 0; t < n_cols; t++) {
            s->pstart[t] = off;
            off += s->pcount[t];
            s->pcount[t] = 0;
        }
        for (size_t q = 0; q < e; q++)
            s->pe[s->pstart[s->port[q]] + s->pcount[s->port[q]]++] = q;
    }

    for (size_t k = n; k-- > 0;) {
        if (k == 0) { /* the last one left goes first, whatever its loads */
            for (size_t i = 0; i < n; i++)
                if (!s->placed[i])
                    s->result[0] = ids[i];
            break;
        }
        /* Bottleneck: the most loaded port among the unplaced coflows, the
         * first column to reach the maximum. */
        size_t b = bottleneck(s->total, n_cols);
        /* Select: min w'/d(c,b) among unplaced coflows on b; on a tie the
         * later-released one goes last (FIFO among equals). Rounding can
         * leave a total > 0 with no coflow: then place by index. */
        size_t pick = SIZE_MAX;
        double pick_ratio = 0, pick_d = 0;
        size_t lo = b == SIZE_MAX || lookup ? 0 : s->pstart[b];
        size_t hi = b == SIZE_MAX || lookup ? 0 : lo + s->pcount[b];
        for (size_t i = 0, q = lo; b != SIZE_MAX && (lookup ? i < n : q < hi); i++, q++) {
            size_t slot = lookup ? i : s->owner[s->pe[q]];
            if (s->placed[slot])
                continue;
            double d = lookup ? slot_load(st, s, ids[slot], slot, s->ports[b])
                              : s->load[s->pe[q]];
            if (d < 0)
                continue;
            double ratio = s->weight[slot] / d;
            if (pick == SIZE_MAX || ratio <= pick_ratio) {
                pick = slot;
                pick_ratio = ratio;
                pick_d = d;
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
        for (size_t i = 0, q = lo; pick_d > 0 && (lookup ? i < n : q < hi); i++, q++) {
            size_t slot = lookup ? i : s->owner[s->pe[q]];
            if (s->placed[slot] || slot == pick)
                continue;
            double d = lookup ? slot_load(st, s, ids[slot], slot, s->ports[b])
                              : s->load[s->pe[q]];
            if (d < 0)
                continue;
            s->weight[slot] -= s->weight[pick] * d / pick_d;
            if (s->weight[slot] < 0)
                s->weight[slot] = 0;
        }
        s->placed[pick] = 1;
        /* (the totals are not read again once one coflow is left) */
        for (size_t q = s->start[pick]; k > 1 && q < s->start[pick + 1]; q++) {
            s->total[s->port[q]] -= s->load[q];
            if (s->total[s->port[q]] < 1e-15)
                s->total[s->port[q]] = 0;
        }
        s->result[k] = ids[pick];
    }
    for (size_t t = 0; t < n_cols; t++) {
        s->total[t] = 0;
        s->pcount[t] = 0;
        s->column[s->ports[t]] = 0;
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
