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
 * Data: per-coflow sparse port loads (entries, from the state's cached
 * per-port remaining bytes), per-port sums in one dense column per port
 * with bytes, in the order first touched, and the entries listed by column
 * (CSR). A round finds the bottleneck column (scanning them all, or from
 * 1,024 columns on through per-block maxima recomputed only where totals
 * changed) and then reads only the coflows on it.
 *
 * Between decisions the same coflows come back (99.7% of the FB trace's
 * decisions) with bytes on the same ports (95%), so entries, columns and
 * lists are kept and rebuilt only when that changes. A decision refreshes
 * the loads and re-sums the columns from zero in entry order, the floats
 * of a rebuild. When every capacity is a power of two (the Varys setting:
 * 2^27 B/s), bytes * (1 / cap) is exactly bytes / cap, so every load is
 * refreshed by a multiply, without a branch; otherwise only the loads
 * whose bytes changed are redivided. A round zeroes a column's total that
 * falls below RESIDUE_SHARE of what it was at the start (sinc_order). The
 * fabric's capacities must not change (as coflow_state_init assumes).
 */
#include "coflow_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 64
/* What is left of a column's total once loads are taken off it counts as
 * none below this share of the total before the rounds: the rounding of
 * the sum and the removals (a few units in the last place of the total),
 * not a load. A share, not a time, so the order is the same in any units
 * (an absolute 1e-15 s read every load of a workload in units of 2^-60 s
 * as none). */
#define RESIDUE_SHARE 0x1p-50

size_t coflow_sinc_blocks_from = 16 * BLOCK;

typedef struct {
    bool pow2;        /* every capacity is a power of two */
    /* Kept from the last decision: */
    size_t n;         /* its coflows, 0 = nothing kept */
    size_t *ids;      /* [n] their indices, in slot order */
    size_t *start;    /* [n+1] each slot's run of entries (ports with bytes) */
    uint32_t *local;  /* [entries] the entry's port among its coflow's cports
                         (index into coflow_state_port_bytes) */
    uint32_t *port;   /* [entries] its column */
    uint32_t *owner;  /* [entries] its coflow slot */
    double *load;     /* [entries] d(c, port) */
    double *seen;     /* [entries] the bytes it was computed from (without pow2) */
    size_t *astart;   /* [n+1] each slot's run of ports without bytes */
    uint32_t *absent; /* [ports without bytes] their index among the cports */
    size_t n_cols;
    size_t *ports;    /* [2 * n_ports] port keys (p for send, n_ports + p
                         receive) with bytes, in the order first touched: the
                         columns */
    size_t *column;   /* [2 * n_ports] column + 1 of each port key kept, else 0 */
    double *scale;    /* [2 * n_ports] each column's 1 / cap with pow2, else cap */
    size_t *pstart;   /* [2 * n_ports] CSR start of each column's entries in pe */
    size_t *pcount;   /* [2 * n_ports] entries per column */
    uint32_t *pe;     /* [entries] entries grouped by column, in entry order */
    /* Per decision: */
    double *total;    /* [2 * n_ports] sum of unplaced loads by column (at
                         first all of them, added up in entry order) */
    /* The bottleneck search's blocks of BLOCK columns: each one's largest
     * total (and 0), recomputed only when a total in it changed, so a
     * round reads the blocks and the changed ones instead of every column
     * (with many coflows on many ports, as in the scaled runs). */
    double *bmax;     /* [2 * n_ports / BLOCK + 1] */
    uint8_t *bstale;  /* [2 * n_ports / BLOCK + 1] */
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
    free(s->start);
    free(s->local);
    free(s->port);
    free(s->owner);
    free(s->load);
    free(s->seen);
    free(s->astart);
    free(s->absent);
    free(s->ports);
    free(s->column);
    free(s->scale);
    free(s->pstart);
    free(s->pcount);
    free(s->pe);
    free(s->total);
    free(s->bmax);
    free(s->bstale);
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
    size_t places = st->cport_start[nc]; /* (coflow, port) pairs: entries or absent */
    if (places > UINT32_MAX) {
        free(s);
        return weft_fail(WEFT_EINVAL, "sincronia: %zu coflow ports, at most 2^32 - 1 expected",
                         places);
    }
    s->ids = weft_calloc(nc, sizeof *s->ids);
    s->start = weft_calloc(nc + 1, sizeof *s->start);
    s->local = weft_calloc(places, sizeof *s->local);
    s->port = weft_calloc(places, sizeof *s->port);
    s->owner = weft_calloc(places, sizeof *s->owner);
    s->load = weft_calloc(places, sizeof *s->load);
    s->seen = weft_calloc(places, sizeof *s->seen);
    s->astart = weft_calloc(nc + 1, sizeof *s->astart);
    s->absent = weft_calloc(places, sizeof *s->absent);
    s->ports = weft_calloc(2 * np, sizeof *s->ports);
    s->column = weft_calloc(2 * np, sizeof *s->column);
    s->scale = weft_calloc(2 * np, sizeof *s->scale);
    s->pstart = weft_calloc(2 * np, sizeof *s->pstart);
    s->pcount = weft_calloc(2 * np, sizeof *s->pcount);
    s->pe = weft_calloc(places, sizeof *s->pe);
    s->total = weft_calloc(2 * np, sizeof *s->total);
    s->bmax = weft_calloc(2 * np / BLOCK + 1, sizeof *s->bmax);
    s->bstale = weft_calloc(2 * np / BLOCK + 1, sizeof *s->bstale);
    s->weight = weft_calloc(nc, sizeof *s->weight);
    s->placed = weft_calloc(nc, 1);
    s->result = weft_calloc(nc, sizeof *s->result);
    if (!s->ids || !s->start || !s->local || !s->port || !s->owner || !s->load || !s->seen ||
        !s->astart || !s->absent || !s->ports || !s->column || !s->scale || !s->pstart ||
        !s->pcount || !s->pe || !s->total || !s->bmax || !s->bstale || !s->weight ||
        !s->placed || !s->result) {
        sinc_destroy(s);
        return weft_fail(WEFT_ENOMEM, "out of memory for sincronia");
    }
    s->pow2 = true;
    for (size_t p = 0; p < np; p++) {
        int e;
        s->pow2 = s->pow2 && frexp(st->fab->cap_out[p], &e) == 0.5 &&
                  frexp(st->fab->cap_in[p], &e) == 0.5;
    }
    *ctx = s;
    return WEFT_OK;
}

/* Builds entries, columns and column totals of coflows ids[0..n) from zero:
 * d(c, p) = bytes / cap for each port with bytes, each port touched gets a
 * column, in the order first touched. */
static void rebuild(sinc_ctx_t *s, coflow_state_t *st, const size_t *ids, size_t n)
{
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, n_cols = 0, e = 0, n_absent = 0;
    for (size_t t = 0; t < s->n_cols; t++)
        s->column[s->ports[t]] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
               b = st->cport_start[c + 1];
        s->ids[i] = c;
        s->start[i] = e;
        s->astart[i] = n_absent;
        for (size_t q = a; q < b; q++) {
            if (!(bytes[q - a] > 0)) {
                s->absent[n_absent++] = (uint32_t)(q - a);
                continue;
            }
            uint32_t p = st->cports[q];
            size_t key = q < mid ? p : np + p;
            double cap = q < mid ? fab->cap_out[p] : fab->cap_in[p];
            if (s->column[key] == 0) {
                s->ports[n_cols] = key;
                s->scale[n_cols] = s->pow2 ? 1 / cap : cap;
                s->column[key] = ++n_cols;
                s->total[n_cols - 1] = 0;
                s->pcount[n_cols - 1] = 0;
            }
            size_t col = s->column[key] - 1;
            double d = bytes[q - a] / cap;
            s->local[e] = (uint32_t)(q - a);
            s->port[e] = (uint32_t)col;
            s->owner[e] = (uint32_t)i;
            s->seen[e] = bytes[q - a];
            s->load[e++] = d;
            s->total[col] += d;
            s->pcount[col]++;
        }
    }
    s->start[n] = e;
    s->astart[n] = n_absent;
    s->n = n;
    s->n_cols = n_cols;
    size_t off = 0;
    for (size_t t = 0; t < n_cols; t++) {
        s->pstart[t] = off;
        off += s->pcount[t];
        s->pcount[t] = 0;
    }
    for (size_t q = 0; q < e; q++)
        s->pe[s->pstart[s->port[q]] + s->pcount[s->port[q]]++] = (uint32_t)q;
}

/* Brings the kept loads up to date with coflows ids[0..n) and adds them up
 * into the column totals. False (nothing usable kept) when the coflows
 * differ or a port gained or lost its bytes, which changes the entries and
 * perhaps the columns' order. */
static bool refresh(sinc_ctx_t *s, coflow_state_t *st, const size_t *ids, size_t n)
{
    if (n != s->n || memcmp(ids, s->ids, n * sizeof *ids) != 0)
        return false;
    bool changed = false;
    memset(s->total, 0, s->n_cols * sizeof *s->total);
    for (size_t i = 0; i < n; i++) {
        const double *bytes = coflow_state_port_bytes(st, ids[i]);
        for (size_t j = s->astart[i]; j < s->astart[i + 1]; j++)
            changed |= bytes[s->absent[j]] > 0;
        if (s->pow2) { /* bytes * (1 / cap) == bytes / cap */
            for (size_t e = s->start[i]; e < s->start[i + 1]; e++) {
                double x = bytes[s->local[e]], d = x * s->scale[s->port[e]];
                changed |= !(x > 0);
                s->load[e] = d;
                s->total[s->port[e]] += d;
            }
            continue;
        }
        for (size_t e = s->start[i]; e < s->start[i + 1]; e++) {
            double x = bytes[s->local[e]];
            if (x != s->seen[e]) {
                changed |= !(x > 0);
                s->seen[e] = x;
                s->load[e] = x / s->scale[s->port[e]];
            }
            s->total[s->port[e]] += s->load[e];
        }
    }
    return !changed;
}

/* The first of total[0..n) holding its maximum, if that is > 0, else
 * SIZE_MAX: the maximum with four running maxima (a
 * scan of every column), then its first place, four columns a compare:
 * four hold the maximum iff their own maximum reaches it. (Totals are sums
 * of finite loads, never NaN.) */
static size_t bottleneck_scan(const double *total, size_t n)
{
    double best = coflow_max_or_zero(total, n);
    if (!(best > 0))
        return SIZE_MAX;
    size_t t = 0;
    for (; t + 4 <= n; t += 4) {
        double m01 = total[t] > total[t + 1] ? total[t] : total[t + 1];
        double m23 = total[t + 2] > total[t + 3] ? total[t + 2] : total[t + 3];
        if ((m01 > m23 ? m01 : m23) >= best)
            break;
    }
    while (total[t] != best)
        t++;
    return t;
}

/* The same from the blocks' maxima (a stale
 * block's recomputed with four running maxima), then the first block
 * reaching it and its first column doing so: the column one pass keeping
 * the first strictly larger would find. (Totals are sums of finite loads,
 * never NaN.) */
static size_t bottleneck_blocks(sinc_ctx_t *s, size_t n)
{
    const double *total = s->total;
    size_t nb = (n + BLOCK - 1) / BLOCK;
    double best = 0;
    for (size_t k = 0; k < nb; k++) {
        if (s->bstale[k]) {
            size_t lo = k * BLOCK, m = n - lo < BLOCK ? n - lo : BLOCK;
            s->bmax[k] = coflow_max_or_zero(total + lo, m);
            s->bstale[k] = 0;
        }
        best = s->bmax[k] > best ? s->bmax[k] : best;
    }
    if (!(best > 0))
        return SIZE_MAX;
    size_t t = 0;
    while (s->bmax[t / BLOCK] != best)
        t += BLOCK;
    while (total[t] != best)
        t++;
    return t;
}

/* Takes the loads of the coflow in slot `pick` off the column totals,
 * marking their blocks stale when the search goes by blocks. The arrays
 * are held in locals: a store to bstale (bytes, which may alias anything)
 * made GCC reload them all from s at every entry. */
static void remove_loads(sinc_ctx_t *s, size_t pick, bool blocks)
{
    size_t lo = s->start[pick], hi = s->start[pick + 1];
    double *total = s->total;
    const double *load = s->load;
    const uint32_t *port = s->port;
    uint8_t *stale = s->bstale;
    if (blocks) {
        for (size_t q = lo; q < hi; q++) {
            uint32_t col = port[q];
            total[col] -= load[q];
            stale[col / BLOCK] = 1;
        }
    } else {
        for (size_t q = lo; q < hi; q++)
            total[port[q]] -= load[q];
    }
}

static weft_err_t sinc_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    sinc_ctx_t *s = ctx;
    const coflow_workload_t *wl = st->wl;
    if (n == 1) { /* (9% of the FB trace's decisions) nothing to order; its
                     bytes are still read, as at any decision, because that
                     renews the state's per-port cache (coflow.h), which
                     netsim then keeps by subtraction: not reading them
                     could change later floats */
        coflow_state_port_bytes(st, ids[0]);
        return WEFT_OK;
    }
    if (!refresh(s, st, ids, n))
        rebuild(s, st, ids, n);
    size_t n_cols = s->n_cols;
    /* A round drops the placed coflow's loads from the totals; a total
     * however small is a load until it falls below its residue, which the
     * round finds when that total is the largest left (taking more keeps it
     * below, and a smaller one is never the bottleneck): one compare a
     * round, not one a load removed, and no pass over the columns. */
    double wmax = 0;
    for (size_t i = 0; i < n; i++) {
        s->weight[i] = wl->jobs[wl->coflows[ids[i]].job].weight;
        wmax = fmax(wmax, s->weight[i]);
        s->placed[i] = 0;
    }
    /* The weights scaled together (coflow_weight_exp): near 2^-1074 the
     * scaling of the rounds below would round their ratios away. */
    int wexp = coflow_weight_exp(wmax);
    for (size_t i = 0; i < n && wexp != 0; i++)
        s->weight[i] = coflow_scaled_weight(s->weight[i], wexp);
    /* Blocks pay only when a placed coflow's loads touch a small part of
     * the columns: a few hundred (the FB trace) are scanned faster. */
    bool blocks = n_cols >= coflow_sinc_blocks_from;
    if (blocks)
        memset(s->bstale, 1, (n_cols + BLOCK - 1) / BLOCK);

    for (size_t k = n; k-- > 0;) {
        if (k == 0) { /* the last one left goes first, whatever its loads */
            for (size_t i = 0; i < n; i++)
                if (!s->placed[i])
                    s->result[0] = ids[i];
            break;
        }
        /* Bottleneck: the most loaded port among the unplaced coflows, the
         * first column to reach the maximum. */
        size_t b = blocks ? bottleneck_blocks(s, n_cols) : bottleneck_scan(s->total, n_cols);
        /* Select: min w'/d(c,b) among unplaced coflows on b; on a tie the
         * later-released one goes last (FIFO among equals). The same walk
         * adds up b's first total again, every load in entry order as
         * refresh and rebuild did, for its residue. */
        size_t pick = SIZE_MAX;
        double pick_ratio = 0, pick_d = 0, first = 0;
        size_t lo = b == SIZE_MAX ? 0 : s->pstart[b];
        size_t hi = b == SIZE_MAX ? 0 : lo + s->pcount[b];
        for (size_t q = lo; q < hi; q++) {
            size_t ent = s->pe[q], slot = s->owner[ent];
            first += s->load[ent];
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
        /* A residue, or a total > 0 that rounding left with no coflow:
         * retire the port, as if zeroed, and look again. */
        if (b != SIZE_MAX && (pick == SIZE_MAX || s->total[b] < first * RESIDUE_SHARE)) {
            s->total[b] = 0;
            s->bstale[b / BLOCK] = 1; /* (read only with blocks) */
            k++;
            continue;
        }
        if (pick == SIZE_MAX) { /* nothing left on any port: by index */
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
        if (k > 1)
            remove_loads(s, pick, blocks);
        s->result[k] = ids[pick];
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = s->result[i];
    return WEFT_OK;
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
