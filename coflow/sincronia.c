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
 * remaining bytes), per-port sums in one dense column per touched port,
 * and the entries listed by column (CSR). A round scans the columns for
 * the bottleneck and then only the coflows on it.
 *
 * Between decisions the same coflows come back with most of their per-port
 * bytes unchanged, so all of that is kept: a decision compares each port's
 * bytes with those it saw last, divides only the changed ones and re-sums
 * only their columns, and rebuilds everything when the coflows or the set
 * of ports holding bytes changed. Every float is the one a rebuild would
 * compute: a column's sum is redone from zero in the same entry order.
 * The fabric's capacities must not change (as coflow_state_init assumes).
 */
#include "coflow_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    /* The last decision's coflows and the entries, columns and column sums
     * built from them: kept while the same coflows come back (99.7% of the
     * FB trace's decisions) with bytes on the same ports (95%). */
    size_t n;         /* coflows of the last decision, 0 = nothing kept */
    size_t *ids;      /* [n] their indices, in slot order */
    size_t *cstart;   /* [n+1] each slot's run in seen / entry_of: one place
                         per port of the coflow, in cports order */
    double *seen;     /* [places] the bytes each place had when last read */
    size_t *entry_of; /* [places] its entry, where it had bytes */
    size_t n_cols;
    size_t *start;    /* [n+1] CSR offsets into port/load per coflow slot */
    size_t *port;     /* [entries] the port's place in ports[] (its column) */
    double *load;     /* [entries] d(c, port) */
    size_t *owner;    /* [entries] coflow slot of each entry */
    size_t *ports;    /* [2 * n_ports] touched port keys (p for send, n_ports + p
                         receive), in the order first touched: the columns */
    size_t *column;   /* [2 * n_ports] column + 1 of each port key kept, else 0 */
    size_t *pstart;   /* [2 * n_ports] CSR start of each column's entries in pe */
    size_t *pcount;   /* [2 * n_ports] entries per column */
    size_t *pe;       /* [entries] entry indices grouped by column, in entry order */
    double *sum;      /* [2 * n_ports] each column's loads summed in entry order */
    char *stale;      /* [2 * n_ports] 1: a load changed, sum must be redone */
    size_t *stale_cols; /* [2 * n_ports] those columns */
    /* Per decision: */
    double *total;    /* [2 * n_ports] sum of unplaced loads by column */
    double *weight;   /* [n] w' */
    char *placed;     /* [n] */
    size_t *result;   /* [n] order being built from the back */
} sinc_ctx_t;

static void sinc_destroy(void *ctx)
{
    sinc_ctx_t *s = ctx;
    if (!s)
        return;
    free(s->ids);
    free(s->cstart);
    free(s->seen);
    free(s->entry_of);
    free(s->start);
    free(s->port);
    free(s->load);
    free(s->owner);
    free(s->ports);
    free(s->column);
    free(s->pstart);
    free(s->pcount);
    free(s->pe);
    free(s->sum);
    free(s->stale);
    free(s->stale_cols);
    free(s->total);
    free(s->weight);
    free(s->placed);
    free(s->result);
    free(s);
}

static weft_err_t sinc_create(void **ctx, const coflow_state_t *st)
{
    sinc_ctx_t *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    size_t nc = st->wl->n_coflows, np = st->fab->n_ports;
    /* One place per distinct port of a coflow; entries are a subset. */
    size_t places = st->cport_start[nc];
    s->ids = weft_calloc(nc, sizeof *s->ids);
    s->cstart = weft_calloc(nc + 1, sizeof *s->cstart);
    s->seen = weft_calloc(places, sizeof *s->seen);
    s->entry_of = weft_calloc(places, sizeof *s->entry_of);
    s->start = weft_calloc(nc + 1, sizeof *s->start);
    s->port = weft_calloc(places, sizeof *s->port);
    s->load = weft_calloc(places, sizeof *s->load);
    s->owner = weft_calloc(places, sizeof *s->owner);
    s->ports = weft_calloc(2 * np, sizeof *s->ports);
    s->column = weft_calloc(2 * np, sizeof *s->column);
    s->pstart = weft_calloc(2 * np, sizeof *s->pstart);
    s->pcount = weft_calloc(2 * np, sizeof *s->pcount);
    s->pe = weft_calloc(places, sizeof *s->pe);
    s->sum = weft_calloc(2 * np, sizeof *s->sum);
    s->stale = weft_calloc(2 * np, 1);
    s->stale_cols = weft_calloc(2 * np, sizeof *s->stale_cols);
    s->total = weft_calloc(2 * np, sizeof *s->total);
    s->weight = weft_calloc(nc, sizeof *s->weight);
    s->placed = weft_calloc(nc, 1);
    s->result = weft_calloc(nc, sizeof *s->result);
    if (!s->ids || !s->cstart || !s->seen || !s->entry_of || !s->start || !s->port ||
        !s->load || !s->owner || !s->ports || !s->column || !s->pstart || !s->pcount || !s->pe ||
        !s->sum || !s->stale || !s->stale_cols || !s->total || !s->weight || !s->placed ||
        !s->result) {
        sinc_destroy(s);
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    }
    *ctx = s;
    return WEFT_OK;
}

/* Builds the entries, columns and sums of coflows ids[0..n) from zero:
 * d(c, p) = bytes / cap for each port with bytes, each port touched gets a
 * column, in the order first touched. */
static void rebuild(sinc_ctx_t *s, coflow_state_t *st, const size_t *ids, size_t n)
{
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, n_cols = 0, e = 0, places = 0;
    for (size_t t = 0; t < s->n_cols; t++)
        s->column[s->ports[t]] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
               b = st->cport_start[c + 1];
        s->ids[i] = c;
        s->cstart[i] = places;
        s->start[i] = e;
        for (size_t q = a; q < b; q++, places++) {
            s->seen[places] = bytes[q - a];
            if (!(bytes[q - a] > 0))
                continue;
            uint32_t p = st->cports[q];
            size_t key = q < mid ? p : np + p;
            double d = bytes[q - a] / (q < mid ? fab->cap_out[p] : fab->cap_in[p]);
            if (s->column[key] == 0) {
                s->ports[n_cols] = key;
                s->column[key] = ++n_cols;
                s->sum[n_cols - 1] = 0;
                s->pcount[n_cols - 1] = 0;
                s->stale[n_cols - 1] = 0;
            }
            size_t col = s->column[key] - 1;
            s->entry_of[places] = e;
            s->port[e] = col;
            s->owner[e] = i;
            s->load[e++] = d;
            s->sum[col] += d;
            s->pcount[col]++;
        }
    }
    s->cstart[n] = places;
    s->start[n] = e;
    s->n = n;
    s->n_cols = n_cols;
    size_t off = 0;
    for (size_t t = 0; t < n_cols; t++) {
        s->pstart[t] = off;
        off += s->pcount[t];
        s->pcount[t] = 0;
    }
    for (size_t q = 0; q < e; q++)
        s->pe[s->pstart[s->port[q]] + s->pcount[s->port[q]]++] = q;
}

/* Brings the kept entries up to date with coflows ids[0..n): redivides the
 * loads whose bytes changed and re-sums their columns. False (nothing
 * usable kept) when the coflows differ or a port gained or lost its bytes,
 * which changes the entries and perhaps the columns' order. */
static bool refresh(sinc_ctx_t *s, coflow_state_t *st, const size_t *ids, size_t n)
{
    if (n != s->n || memcmp(ids, s->ids, n * sizeof *ids) != 0)
        return false;
    const coflow_fabric_t *fab = st->fab;
    size_t n_stale = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
               b = st->cport_start[c + 1];
        double *seen = s->seen + s->cstart[i];
        const size_t *entry_of = s->entry_of + s->cstart[i];
        for (size_t q = a; q < b; q++) {
            double x = bytes[q - a];
            if (x == seen[q - a])
                continue;
            if ((x > 0) != (seen[q - a] > 0))
                return false;
            seen[q - a] = x;
            if (!(x > 0))
                continue;
            uint32_t p = st->cports[q];
            size_t ent = entry_of[q - a], col = s->port[ent];
            s->load[ent] = x / (q < mid ? fab->cap_out[p] : fab->cap_in[p]);
            if (!s->stale[col]) {
                s->stale[col] = 1;
                s->stale_cols[n_stale++] = col;
            }
        }
    }
    for (size_t k = 0; k < n_stale; k++) {
        size_t col = s->stale_cols[k];
        const size_t *pe = s->pe + s->pstart[col];
        double sum = 0;
        for (size_t j = 0; j < s->pcount[col]; j++)
            sum += s->load[pe[j]];
        s->sum[col] = sum;
        s->stale[col] = 0;
    }
    return true;
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
    if (!refresh(s, st, ids, n))
        rebuild(s, st, ids, n);
    size_t n_cols = s->n_cols;
    memcpy(s->total, s->sum, n_cols * sizeof *s->total);
    for (size_t i = 0; i < n; i++) {
        s->weight[i] = wl->jobs[wl->coflows[ids[i]].job].weight;
        s->placed[i] = 0;
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
        size_t lo = b == SIZE_MAX ? 0 : s->pstart[b];
        size_t hi = b == SIZE_MAX ? 0 : lo + s->pcount[b];
        for (size_t q = lo; q < hi; q++) {
            size_t ent = s->pe[q], slot = s->owner[ent];
            if (s->placed[slot])
                continue;
            double d = s->load[ent];
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
        for (size_t q = lo; pick_d > 0 && q < hi; q++) {
            size_t ent = s->pe[q], slot = s->owner[ent];
            if (s->placed[slot] || slot == pick)
                continue;
            double d = s->load[ent];
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
