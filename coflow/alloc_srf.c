/*
 * alloc_srf.c - per-flow shortest remaining first (pFabric-like; Alizadeh
 * et al., SIGCOMM 2013), in two forms that give the same rates.
 *
 * The order of the walk: open flows by (bytes left, flow index) ascending.
 * Equal bytes left are common (the even split of the FB trace), so the tie
 * goes to the lower flow index (the flow listed first in the workload),
 * never to a flow's place in the open lists. The coflow order is ignored.
 * A flow whose sender or receiver is full gets nothing; any other takes
 * min(left at its sender, left at its receiver) unless that is below
 * COFLOW_RATE_EPS of its smaller capacity.
 *
 * The allocator (srf_allocate, the reference): sorts every open flow of
 * the ordered coflows and walks them. O(flows log flows) a decision, with
 * no allocation: a bottom-up merge sort uses the second half of
 * st->flow_list as its buffer.
 *
 * The pair form (coflow_srf_pairs_t), for a driver that reports which flows
 * open and close. Within one (sender, receiver) pair, the pair's first flow
 * in walk order, its head, either gets nothing (a port is full) or takes
 * what is left at one of the two ports, which fills it: every later flow of
 * the pair gets nothing. So only heads move, the other flows' bytes left
 * stay put, and a pair's order changes only when its flows open or close
 * (its head's bytes left only shrink: it stays first). Invariants between
 * calls:
 *  - each pair's open flows form a min-heap by (bytes left, index) in its
 *    slab of `heap`; the top is the head;
 *  - sender s lists the heads of its open pairs sorted by (key, flow) in
 *    heads[sfirst[s] .. + nlisted[s]), where key is the head's bytes left
 *    when it was listed; a pair whose head may have moved or changed since
 *    (it was rated, or a flow of it opened or closed) is marked dirty and
 *    listed afresh at the next decision, so at a walk every key is current.
 * The walk then takes, again and again, the smallest listed head whose two
 * ports have room: each sender's cursor skips its heads into full receivers
 * (ports only fill during a walk, so what is skipped stays skipped) and a
 * heap over the senders' cursors gives the smallest. The heads are thus
 * rated in the reference's order with the same arithmetic: the same rates,
 * bit for bit. A decision costs the dirty pairs times their sender's list
 * (at most the ports) plus the heads the cursors pass, not the open flows.
 */
#include "alloc_internal.h"

#include <stdlib.h>
#include <string.h>

/* Whether flow f can get anything in a walk that has used st's capacity so
 * far, and how much: 0 when a port is full or what is left is below
 * COFLOW_RATE_EPS of the smaller capacity. */
static inline double srf_room(const coflow_state_t *st, uint32_t s, uint32_t d)
{
    if (alloc_out_full(st, s) || alloc_in_full(st, d))
        return 0;
    const double *cap_out = st->fab->cap_out, *cap_in = st->fab->cap_in;
    double free_s = cap_out[s] - st->free_out[s], free_d = cap_in[d] - st->free_in[d];
    double r = free_s < free_d ? free_s : free_d;
    if (r <= COFLOW_RATE_EPS * (cap_out[s] < cap_in[d] ? cap_out[s] : cap_in[d]))
        return 0;
    return r;
}

static void srf_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++)
            st->flow_list[m++] = st->open_flows[co->first_flow + j];
    }
    coflow_merge_sort_by(st->flow_list, st->flow_list + m, m, st->flow_remaining);
    for (size_t i = 0; i < m; i++) {
        size_t f = st->flow_list[i];
        double r = srf_room(st, wl->flows[f].src, wl->flows[f].dst);
        if (r > 0)
            alloc_add_rate(st, f, r);
    }
    alloc_release_ports(st);
}

const coflow_allocator_t coflow_alloc_srf = {
    .work_conserving = true,
    .name = "srf",
    .description = "per-flow shortest remaining first (pFabric-like), ignores the order",
    .allocate = srf_allocate,
    .per_pair_srf = true,
};

/* ------------------------------------------------------------ pair form */

#define NONE UINT32_MAX

typedef struct {
    double key;  /* the head's bytes left when listed */
    uint32_t f;  /* the head */
    uint32_t d;  /* its receiver */
} srf_head_t;

typedef struct {
    srf_head_t h;  /* the head under the cursor */
    uint32_t s;    /* the sender */
    uint32_t cur;  /* its cursor into its list */
} srf_node_t;

struct coflow_srf_pairs {
    size_t n_ports, n_pairs;
    uint32_t *flow_pair;  /* [n_flows] pair of each flow */
    uint32_t *pair_src;   /* [n_pairs] sender; pairs numbered sender by sender */
    uint32_t *pair_dst;   /* [n_pairs] receiver */
    size_t *sfirst;       /* [n_ports + 1] sender s's pairs: [sfirst[s], sfirst[s+1]) */
    srf_head_t *heads;    /* [n_pairs] s's listed heads from sfirst[s], sorted */
    size_t *nlisted;      /* [n_ports] heads listed per sender */
    double *lkey;         /* [n_pairs] key of the pair's listed head */
    uint32_t *lf;         /* [n_pairs] the listed head, NONE if not listed */
    size_t *pstart;       /* [n_pairs + 1] pair p's heap slab: [pstart[p], pstart[p+1]) */
    uint32_t *heap;       /* [n_flows] open flows, a min-heap per slab */
    uint32_t *hpos;       /* [n_flows] an open flow's place in its slab */
    uint32_t *hn;         /* [n_pairs] open flows per pair */
    uint8_t *dirty;       /* [n_pairs] 1: listed afresh at the next decision */
    uint32_t *dlist;      /* [n_pairs] the dirty pairs */
    size_t n_dirty;
    size_t *rlisted;      /* [n_ports] listed heads into each receiver */
    size_t n_words;       /* ceil(n_ports / 64) */
    uint64_t *rmask;      /* [n_ports * n_words] per sender: bit d set iff it
                             lists a head into receiver d */
    size_t n_live_in;     /* receivers with a listed head */
    srf_node_t *sheap;    /* [n_ports] walk: senders by their cursor's head */
    size_t n_sheap;
};

void coflow_srf_pairs_free(coflow_srf_pairs_t *sp)
{
    if (!sp)
        return;
    free(sp->flow_pair);
    free(sp->pair_src);
    free(sp->pair_dst);
    free(sp->sfirst);
    free(sp->heads);
    free(sp->nlisted);
    free(sp->lkey);
    free(sp->lf);
    free(sp->pstart);
    free(sp->heap);
    free(sp->hpos);
    free(sp->hn);
    free(sp->dirty);
    free(sp->dlist);
    free(sp->rlisted);
    free(sp->rmask);
    free(sp->sheap);
    free(sp);
}

/* Numbers the pairs sender by sender (a receiver -> pair map of n_ports
 * entries) and sizes the slabs. O(flows + ports). */
weft_err_t coflow_srf_pairs_new(coflow_srf_pairs_t **out, const coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    size_t nf = wl->n_flows, np = st->fab->n_ports;
    *out = NULL;
    if (nf >= NONE || np >= NONE)
        return weft_fail(WEFT_EINVAL, "srf by port pairs: %zu flows on %zu ports, at most "
                         "%u of each", nf, np, NONE - 1);
    coflow_srf_pairs_t *sp = weft_calloc(1, sizeof *sp);
    uint32_t *by_src = weft_calloc(nf ? nf : 1, sizeof *by_src);
    uint32_t *map = weft_calloc(np ? np : 1, sizeof *map);
    size_t *cur = weft_calloc(np + 1, sizeof *cur);
    if (sp) {
        sp->n_ports = np;
        sp->flow_pair = weft_calloc(nf ? nf : 1, sizeof *sp->flow_pair);
        sp->heap = weft_calloc(nf ? nf : 1, sizeof *sp->heap);
        sp->hpos = weft_calloc(nf ? nf : 1, sizeof *sp->hpos);
        sp->sfirst = weft_calloc(np + 1, sizeof *sp->sfirst);
        sp->nlisted = weft_calloc(np ? np : 1, sizeof *sp->nlisted);
        sp->rlisted = weft_calloc(np ? np : 1, sizeof *sp->rlisted);
        sp->n_words = (np + 63) / 64;
        sp->rmask = weft_calloc(np * sp->n_words + 1, sizeof *sp->rmask);
        sp->sheap = weft_calloc(np ? np : 1, sizeof *sp->sheap);
    }
    if (!sp || !by_src || !map || !cur || !sp->flow_pair || !sp->heap || !sp->hpos ||
        !sp->sfirst || !sp->nlisted || !sp->rlisted || !sp->rmask || !sp->sheap)
        goto nomem;
    for (size_t f = 0; f < nf; f++)
        cur[wl->flows[f].src + 1]++;
    for (size_t p = 0; p < np; p++)
        cur[p + 1] += cur[p];
    for (size_t f = 0; f < nf; f++)
        by_src[cur[wl->flows[f].src]++] = (uint32_t)f;
    /* cur[s] is now the end of s's flows in by_src; first pass counts the
     * pairs, the second (after allocating) records them */
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t i = 0, s = 0; s < np; s++) {
            size_t first = i;
            sp->sfirst[s] = n;
            for (; i < cur[s]; i++) {
                uint32_t d = wl->flows[by_src[i]].dst;
                if (!map[d]) {
                    if (pass) {
                        sp->pair_src[n] = (uint32_t)s;
                        sp->pair_dst[n] = d;
                    }
                    map[d] = (uint32_t)++n;
                }
                if (pass) {
                    sp->flow_pair[by_src[i]] = map[d] - 1;
                    sp->pstart[map[d]]++; /* counts, summed below */
                }
            }
            for (size_t x = first; x < i; x++)
                map[wl->flows[by_src[x]].dst] = 0;
        }
        sp->sfirst[np] = n;
        if (pass)
            break;
        sp->n_pairs = n;
        size_t a = n ? n : 1;
        sp->pair_src = weft_calloc(a, sizeof *sp->pair_src);
        sp->pair_dst = weft_calloc(a, sizeof *sp->pair_dst);
        sp->heads = weft_calloc(a, sizeof *sp->heads);
        sp->lkey = weft_calloc(a, sizeof *sp->lkey);
        sp->lf = weft_calloc(a, sizeof *sp->lf);
        sp->pstart = weft_calloc(n + 1, sizeof *sp->pstart);
        sp->hn = weft_calloc(a, sizeof *sp->hn);
        sp->dirty = weft_calloc(a, sizeof *sp->dirty);
        sp->dlist = weft_calloc(a, sizeof *sp->dlist);
        if (!sp->pair_src || !sp->pair_dst || !sp->heads || !sp->lkey || !sp->lf ||
            !sp->pstart || !sp->hn || !sp->dirty || !sp->dlist)
            goto nomem;
    }
    for (size_t p = 0; p < sp->n_pairs; p++) {
        sp->pstart[p + 1] += sp->pstart[p];
        sp->lf[p] = NONE;
    }
    free(by_src);
    free(map);
    free(cur);
    *out = sp;
    return WEFT_OK;
nomem:
    free(by_src);
    free(map);
    free(cur);
    coflow_srf_pairs_free(sp);
    return weft_fail(WEFT_ENOMEM, "out of memory for srf by port pairs (%zu flows)", nf);
}

/* Walk order of two flows: (bytes left, index). */
static inline bool flow_before(const coflow_state_t *st, uint32_t a, uint32_t b)
{
    double ka = st->flow_remaining[a], kb = st->flow_remaining[b];
    return ka < kb || (ka == kb && a < b);
}

static inline void heap_put(coflow_srf_pairs_t *sp, size_t base, size_t i, uint32_t f)
{
    sp->heap[base + i] = f;
    sp->hpos[f] = (uint32_t)i;
}

/* Moves the flow at slot i of pair heap `base` up or down to its place. */
static void heap_fix(coflow_srf_pairs_t *sp, const coflow_state_t *st, size_t base, size_t n,
                     size_t i)
{
    uint32_t f = sp->heap[base + i];
    while (i > 0 && flow_before(st, f, sp->heap[base + (i - 1) / 2])) {
        heap_put(sp, base, i, sp->heap[base + (i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && flow_before(st, sp->heap[base + l + 1], sp->heap[base + l]))
            m = l + 1;
        if (!flow_before(st, sp->heap[base + m], f))
            break;
        heap_put(sp, base, i, sp->heap[base + m]);
        i = m;
    }
    heap_put(sp, base, i, f);
}

static inline void mark_dirty(coflow_srf_pairs_t *sp, uint32_t p)
{
    if (!sp->dirty[p]) {
        sp->dirty[p] = 1;
        sp->dlist[sp->n_dirty++] = p;
    }
}

void coflow_srf_pairs_open(coflow_srf_pairs_t *sp, const coflow_state_t *st, size_t f)
{
    uint32_t p = sp->flow_pair[f];
    size_t base = sp->pstart[p], i = sp->hn[p]++;
    heap_put(sp, base, i, (uint32_t)f);
    heap_fix(sp, st, base, i + 1, i);
    mark_dirty(sp, p);
}

void coflow_srf_pairs_close(coflow_srf_pairs_t *sp, const coflow_state_t *st, size_t f)
{
    uint32_t p = sp->flow_pair[f];
    size_t base = sp->pstart[p], i = sp->hpos[f], n = --sp->hn[p];
    if (i < n) {
        heap_put(sp, base, i, sp->heap[base + n]);
        heap_fix(sp, st, base, n, i);
    }
    mark_dirty(sp, p);
}

static inline bool head_before(const srf_head_t *h, double key, uint32_t f)
{
    return h->key < key || (h->key == key && h->f < f);
}

/* First place in the sorted heads h[0..n) not before (key, f). */
static size_t heads_lower_bound(const srf_head_t *h, size_t n, double key, uint32_t f)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (head_before(&h[mid], key, f))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Lists every dirty pair's head afresh: out of its sender's sorted list
 * under the key it was listed with, back in under its bytes left now, with
 * one move of the heads in between (a rated head only moves up, usually a
 * few places). O(dirty pairs x (log + places moved)). */
static void srf_pairs_refresh(coflow_srf_pairs_t *sp, const coflow_state_t *st)
{
    for (size_t k = 0; k < sp->n_dirty; k++) {
        uint32_t p = sp->dlist[k], s = sp->pair_src[p], d = sp->pair_dst[p];
        sp->dirty[p] = 0;
        srf_head_t *h = sp->heads + sp->sfirst[s];
        size_t n = sp->nlisted[s];
        bool was = sp->lf[p] != NONE, is = sp->hn[p] > 0;
        /* i: the old place (n when not listed), j: the new place counted
         * with the old entry out */
        size_t i = was ? heads_lower_bound(h, n, sp->lkey[p], sp->lf[p]) : n;
        if (is) {
            uint32_t f = sp->heap[sp->pstart[p]];
            double key = st->flow_remaining[f];
            size_t j = heads_lower_bound(h, n, key, f);
            if (j > i)
                j--; /* the old entry sits before the new place */
            if (j < i)
                memmove(h + j + 1, h + j, (i - j) * sizeof *h);
            else if (j > i)
                memmove(h + i, h + i + 1, (j - i) * sizeof *h);
            h[j] = (srf_head_t){key, f, d};
            sp->lkey[p] = key;
            sp->lf[p] = f;
        } else if (was) {
            memmove(h + i, h + i + 1, (n - i - 1) * sizeof *h);
            sp->lf[p] = NONE;
        }
        if (was != is) {
            sp->nlisted[s] = is ? n + 1 : n - 1;
            sp->rmask[s * sp->n_words + (d >> 6)] ^= (uint64_t)1 << (d & 63);
            if (is && sp->rlisted[d]++ == 0)
                sp->n_live_in++;
            if (!is && --sp->rlisted[d] == 0)
                sp->n_live_in--;
        }
    }
    sp->n_dirty = 0;
}

/* The walk's heap over the senders, each at its cursor's head. */
static inline bool node_before(const srf_head_t *a, const srf_head_t *b)
{
    return head_before(a, b->key, b->f);
}

static void sheap_down(coflow_srf_pairs_t *sp, size_t i)
{
    srf_node_t *h = sp->sheap, x = h[i];
    size_t n = sp->n_sheap;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && node_before(&h[l + 1].h, &h[l].h))
            m = l + 1;
        if (!node_before(&h[m].h, &x.h))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void sheap_pop_top(coflow_srf_pairs_t *sp)
{
    sp->sheap[0] = sp->sheap[--sp->n_sheap];
    if (sp->n_sheap > 0)
        sheap_down(sp, 0);
}

/* The sender at the top of the walk's heap moves its cursor past the head
 * it just had and every head into a full receiver (those stay skipped);
 * it leaves the heap once its list is done. */
static void sheap_advance_top(coflow_srf_pairs_t *sp, const coflow_state_t *st)
{
    srf_node_t *top = &sp->sheap[0];
    uint32_t s = top->s;
    const srf_head_t *h = sp->heads + sp->sfirst[s];
    size_t c = top->cur + 1, n = sp->nlisted[s];
    /* none of its receivers has room (common late in a walk): out without
     * passing its heads one by one */
    const uint64_t *mask = sp->rmask + s * sp->n_words;
    uint64_t room = 0;
    for (size_t w = 0; w < sp->n_words && !room; w++)
        room = mask[w] & ~st->full_in[w];
    while (room && c < n && alloc_in_full(st, h[c].d))
        c++;
    if (!room || c == n) {
        sheap_pop_top(sp);
        return;
    }
    top->cur = (uint32_t)c;
    top->h = h[c];
    sheap_down(sp, 0);
}

void coflow_srf_pairs_allocate(coflow_srf_pairs_t *sp, coflow_state_t *st)
{
    srf_pairs_refresh(sp, st);
    sp->n_sheap = 0;
    for (uint32_t s = 0; s < sp->n_ports; s++)
        if (sp->nlisted[s] > 0)
            sp->sheap[sp->n_sheap++] = (srf_node_t){sp->heads[sp->sfirst[s]], s, 0};
    for (size_t i = sp->n_sheap / 2; i-- > 0;)
        sheap_down(sp, i);
    /* Every receiver with a head full: nothing further can move. */
    size_t full_in = 0;
    while (sp->n_sheap > 0 && full_in < sp->n_live_in) {
        const srf_node_t *top = &sp->sheap[0];
        uint32_t s = top->s, d = top->h.d, f = top->h.f;
        double r = srf_room(st, s, d);
        if (r > 0) {
            alloc_add_rate(st, f, r);
            mark_dirty(sp, sp->flow_pair[f]); /* it moves: its key shrinks */
            if (alloc_in_full(st, d))
                full_in++;
            if (alloc_out_full(st, s)) {
                sheap_pop_top(sp);
                continue;
            }
        }
        sheap_advance_top(sp, st);
    }
    alloc_release_ports(st);
}
