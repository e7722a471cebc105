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
 *  - every port lists the heads of its open pairs, as a sender in lh[0]
 *    and as a receiver in lh[1], sorted by (key, flow), where key is the
 *    head's bytes left when it was listed, and pos[side][p] is where pair
 *    p's head sits; a pair whose head may have moved or changed since (it
 *    was rated, or a flow of it opened or closed) is marked dirty and
 *    listed afresh at the next decision, so at a walk every key is current;
 *  - `rated` holds the last decision's rated heads, with their keys and
 *    rates then.
 * A decision walks the listed heads in order, as the reference walks the
 * flows, but only those that can differ from the last decision (see
 * coflow_srf_pairs_allocate): the heads it rates come in the reference's
 * order with the same arithmetic, so the rates are the same bit for bit.
 * It costs the changed pairs and the heads walked (on the FB trace about
 * 130 and 265 a decision), not the open flows.
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
    .description = "per-flow shortest remaining first (pFabric-like; ties: the lower flow "
                   "index), ignores the order",
    .allocate = srf_allocate,
    .per_pair_srf = true,
};

/* ------------------------------------------------------------ pair form */

#define NONE UINT32_MAX

typedef struct {
    double key;  /* the head's bytes left when listed */
    uint32_t f;  /* the head */
    uint32_t p;  /* its pair */
} srf_head_t;

typedef struct {
    double key, rate; /* when rated, and at what */
    uint32_t f, p;    /* the head and its pair */
} srf_rated_t;

typedef struct {
    double key;  /* the head under the stream's cursor */
    uint32_t f;  /* the head */
    uint32_t p;  /* its pair */
    uint32_t k;  /* the stream */
} srf_node_t;

typedef struct {
    const srf_head_t *h; /* a sorted run of heads: h[pos .. n) are left */
    size_t pos, n;
    int side;            /* a port's heads: 0 its sender's, 1 its receiver's;
                            -1 the changed heads */
    uint32_t q;          /* the port */
} srf_stream_t;

struct coflow_srf_pairs {
    size_t n_ports, n_pairs;
    uint32_t *flow_pair;  /* [n_flows] pair of each flow */
    uint32_t *pair_src;   /* [n_pairs] sender; pairs numbered sender by sender */
    uint32_t *pair_dst;   /* [n_pairs] receiver */
    /* The listed heads of each port's open pairs, sorted by (key, flow):
     * side 0 by sender, side 1 by receiver; port q's are
     * lh[side][first[side][q] .. + nl[side][q]). */
    size_t *first[2];     /* [n_ports + 1] slabs, sized by the port's pairs */
    srf_head_t *lh[2];    /* [n_pairs] */
    size_t *nl[2];        /* [n_ports] */
    uint32_t *pos[2];     /* [n_pairs] where the pair's head sits in its list */
    size_t n_live[2];     /* ports with a listed head */
    double *lkey;         /* [n_pairs] key of the pair's listed head */
    uint32_t *lf;         /* [n_pairs] the listed head, NONE if not listed */
    size_t *pstart;       /* [n_pairs + 1] pair p's heap slab: [pstart[p], pstart[p+1]) */
    uint32_t *heap;       /* [n_flows] open flows, a min-heap per slab */
    uint32_t *hpos;       /* [n_flows] an open flow's place in its slab */
    uint32_t *hn;         /* [n_pairs] open flows per pair */
    uint8_t *dirty;       /* [n_pairs] 1: listed afresh at the next decision */
    uint32_t *dlist;      /* [n_pairs] the dirty pairs */
    size_t n_dirty;
    /* The last decision: its rated heads in walk order. */
    srf_rated_t *rated, *rated_next; /* [2 n_ports + 1] each */
    size_t n_rated;
    /* Per decision, stamped with `stamp` so nothing is cleared: */
    uint32_t stamp;
    uint32_t *seen;       /* [n_pairs] the head was walked */
    uint32_t *kept;       /* [n_pairs] the head was rated last time, at old_rate */
    double *old_rate;     /* [n_pairs] */
    uint32_t *affected[2];/* [n_ports] the port's heads are streamed */
    /* The walk: the heads to look at, as sorted streams merged by a heap. */
    srf_head_t *cand;     /* [n_pairs] the changed heads, sorted */
    srf_head_t *cand_tmp; /* [n_pairs] sort buffer */
    srf_head_t *cand_kept;/* [2 n_ports + 1] last decision's rated heads */
    srf_stream_t *streams;/* [2 n_ports + 2] */
    size_t n_streams;
    srf_node_t *sheap;    /* [2 n_ports + 2] */
    size_t n_sheap;
};

void coflow_srf_pairs_free(coflow_srf_pairs_t *sp)
{
    if (!sp)
        return;
    void *all[] = {sp->flow_pair, sp->pair_src, sp->pair_dst, sp->first[0], sp->first[1],
                   sp->lh[0], sp->lh[1], sp->nl[0], sp->nl[1], sp->pos[0], sp->pos[1],
                   sp->lkey, sp->lf,
                   sp->pstart, sp->heap, sp->hpos, sp->hn, sp->dirty, sp->dlist,
                   sp->rated, sp->rated_next, sp->seen, sp->kept, sp->old_rate,
                   sp->affected[0], sp->affected[1], sp->cand, sp->cand_tmp,
                   sp->cand_kept, sp->streams, sp->sheap};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
    free(sp);
}

/* Numbers the pairs sender by sender (a receiver -> pair map of n_ports
 * entries) and sizes the slabs. O(flows + ports). */
weft_err_t coflow_srf_pairs_new(coflow_srf_pairs_t **out, const coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    size_t nf = wl->n_flows, np = st->fab->n_ports, nr = 2 * np + 2;
    *out = NULL;
    if (nf >= NONE || np >= NONE / 4)
        return weft_fail(WEFT_EINVAL, "srf by port pairs: %zu flows on %zu ports, at most "
                         "%u flows and %u ports", nf, np, NONE - 1, NONE / 4 - 1);
    coflow_srf_pairs_t *sp = weft_calloc(1, sizeof *sp);
    uint32_t *by_src = weft_calloc(nf ? nf : 1, sizeof *by_src);
    uint32_t *map = weft_calloc(np ? np : 1, sizeof *map);
    size_t *cur = weft_calloc(np + 1, sizeof *cur);
    if (!sp || !by_src || !map || !cur)
        goto nomem;
    sp->n_ports = np;
    sp->flow_pair = weft_calloc(nf ? nf : 1, sizeof *sp->flow_pair);
    sp->heap = weft_calloc(nf ? nf : 1, sizeof *sp->heap);
    sp->hpos = weft_calloc(nf ? nf : 1, sizeof *sp->hpos);
    for (int side = 0; side < 2; side++) {
        sp->first[side] = weft_calloc(np + 1, sizeof *sp->first[side]);
        sp->nl[side] = weft_calloc(np ? np : 1, sizeof *sp->nl[side]);
        sp->affected[side] = weft_calloc(np ? np : 1, sizeof *sp->affected[side]);
        if (!sp->first[side] || !sp->nl[side] || !sp->affected[side])
            goto nomem;
    }
    sp->rated = weft_calloc(nr, sizeof *sp->rated);
    sp->rated_next = weft_calloc(nr, sizeof *sp->rated_next);
    sp->cand_kept = weft_calloc(nr, sizeof *sp->cand_kept);
    sp->streams = weft_calloc(nr, sizeof *sp->streams);
    sp->sheap = weft_calloc(nr, sizeof *sp->sheap);
    if (!sp->flow_pair || !sp->heap || !sp->hpos || !sp->rated || !sp->rated_next ||
        !sp->cand_kept || !sp->streams || !sp->sheap)
        goto nomem;
    for (size_t f = 0; f < nf; f++)
        cur[wl->flows[f].src + 1]++;
    for (size_t p = 0; p < np; p++)
        cur[p + 1] += cur[p];
    for (size_t f = 0; f < nf; f++)
        by_src[cur[wl->flows[f].src]++] = (uint32_t)f;
    /* cur[s] is now the end of s's flows in by_src; the first pass counts
     * the pairs, the second (after allocating) records them */
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t i = 0, s = 0; s < np; s++) {
            size_t first = i;
            sp->first[0][s] = n;
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
        sp->first[0][np] = n;
        if (pass)
            break;
        sp->n_pairs = n;
        size_t a = n ? n : 1;
        sp->pair_src = weft_calloc(a, sizeof *sp->pair_src);
        sp->pair_dst = weft_calloc(a, sizeof *sp->pair_dst);
        sp->lh[0] = weft_calloc(a, sizeof *sp->lh[0]);
        sp->lh[1] = weft_calloc(a, sizeof *sp->lh[1]);
        sp->pos[0] = weft_calloc(a, sizeof *sp->pos[0]);
        sp->pos[1] = weft_calloc(a, sizeof *sp->pos[1]);
        sp->lkey = weft_calloc(a, sizeof *sp->lkey);
        sp->lf = weft_calloc(a, sizeof *sp->lf);
        sp->pstart = weft_calloc(n + 1, sizeof *sp->pstart);
        sp->hn = weft_calloc(a, sizeof *sp->hn);
        sp->dirty = weft_calloc(a, sizeof *sp->dirty);
        sp->dlist = weft_calloc(a, sizeof *sp->dlist);
        sp->seen = weft_calloc(a, sizeof *sp->seen);
        sp->kept = weft_calloc(a, sizeof *sp->kept);
        sp->old_rate = weft_calloc(a, sizeof *sp->old_rate);
        sp->cand = weft_calloc(a, sizeof *sp->cand);
        sp->cand_tmp = weft_calloc(a, sizeof *sp->cand_tmp);
        if (!sp->pair_src || !sp->pair_dst || !sp->lh[0] || !sp->lh[1] || !sp->pos[0] ||
            !sp->pos[1] || !sp->lkey ||
            !sp->lf || !sp->pstart || !sp->hn || !sp->dirty || !sp->dlist || !sp->seen ||
            !sp->kept || !sp->old_rate || !sp->cand || !sp->cand_tmp)
            goto nomem;
    }
    for (size_t p = 0; p < sp->n_pairs; p++) {
        sp->pstart[p + 1] += sp->pstart[p];
        sp->lf[p] = NONE;
        sp->first[1][sp->pair_dst[p] + 1]++;
    }
    for (size_t q = 0; q < np; q++)
        sp->first[1][q + 1] += sp->first[1][q];
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

static inline bool key_before(double ka, uint32_t fa, double kb, uint32_t fb)
{
    return ka < kb || (ka == kb && fa < fb);
}

/* First place in the sorted heads h[0..n) not before (key, f). */
static size_t heads_lower_bound(const srf_head_t *h, size_t n, double key, uint32_t f)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_before(h[mid].key, h[mid].f, key, f))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Pair p's head in port q's sorted list (side 0: q sends, 1: receives):
 * out of its place if `was`, in as x if `is`, with one move of the heads in
 * between; the moved heads' places are renumbered. A rated head only moves
 * up, usually a few places: its new place is looked for by stepping up
 * from the old one first. */
static void list_update(coflow_srf_pairs_t *sp, int side, uint32_t q, uint32_t p, bool was,
                        bool is, srf_head_t x)
{
    srf_head_t *h = sp->lh[side] + sp->first[side][q];
    uint32_t *pos = sp->pos[side];
    size_t n = sp->nl[side][q];
    size_t i = was ? pos[p] : n; /* the old place (n when not listed) */
    size_t lo = i, hi = i; /* the places whose heads change */
    if (is) {
        size_t j = i; /* the new place, counted with the old entry out */
        while (j > 0 && i - j < 8 && key_before(x.key, x.f, h[j - 1].key, h[j - 1].f))
            j--;
        if (j > 0 && i - j == 8 && key_before(x.key, x.f, h[j - 1].key, h[j - 1].f))
            j = heads_lower_bound(h, j, x.key, x.f);
        if (j == i && was && i + 1 < n && key_before(h[i + 1].key, h[i + 1].f, x.key, x.f))
            j = i + heads_lower_bound(h + i + 1, n - i - 1, x.key, x.f); /* down */
        if (j < i)
            memmove(h + j + 1, h + j, (i - j) * sizeof *h);
        else if (j > i)
            memmove(h + i, h + i + 1, (j - i) * sizeof *h);
        h[j] = x;
        lo = j < i ? j : i;
        hi = j < i ? i : j;
        if (!was)
            hi = n;
    } else if (was) {
        memmove(h + i, h + i + 1, (n - i - 1) * sizeof *h);
        hi = n - 1;
    }
    size_t end = n + is - was; /* the list's new length */
    for (size_t t = lo; t <= hi && t < end; t++)
        pos[h[t].p] = (uint32_t)t;
    if (was != is) {
        sp->nl[side][q] = is ? n + 1 : n - 1;
        if (is && n == 0)
            sp->n_live[side]++;
        if (!is && n == 1)
            sp->n_live[side]--;
    }
}

/* Lists every dirty pair's head afresh in its sender's and its receiver's
 * lists. O(dirty pairs x (log + places moved)). The dirty list stays for
 * the caller. */
static void srf_pairs_refresh(coflow_srf_pairs_t *sp, const coflow_state_t *st)
{
    for (size_t k = 0; k < sp->n_dirty; k++) {
        uint32_t p = sp->dlist[k];
        sp->dirty[p] = 0;
        bool was = sp->lf[p] != NONE, is = sp->hn[p] > 0;
        srf_head_t x = {0, NONE, p};
        if (is) {
            x.f = sp->heap[sp->pstart[p]];
            x.key = st->flow_remaining[x.f];
        }
        list_update(sp, 0, sp->pair_src[p], p, was, is, x);
        list_update(sp, 1, sp->pair_dst[p], p, was, is, x);
        sp->lkey[p] = x.key;
        sp->lf[p] = x.f;
    }
}

/* ---- the walk's streams, merged by a binary heap on their next head */

static inline bool node_before(const srf_node_t *a, const srf_node_t *b)
{
    return key_before(a->key, a->f, b->key, b->f);
}

static void sheap_down(coflow_srf_pairs_t *sp, size_t i)
{
    srf_node_t *h = sp->sheap, x = h[i];
    size_t n = sp->n_sheap;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && node_before(&h[l + 1], &h[l]))
            m = l + 1;
        if (!node_before(&h[m], &x))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void sheap_up(coflow_srf_pairs_t *sp, size_t i)
{
    srf_node_t *h = sp->sheap, x = h[i];
    while (i > 0 && node_before(&x, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

/* Adds the heads h[pos .. n) as a stream (side, q: see srf_stream_t). */
static void stream_add(coflow_srf_pairs_t *sp, const srf_head_t *h, size_t pos, size_t n,
                       int side, uint32_t q)
{
    if (pos >= n)
        return;
    size_t k = sp->n_streams++;
    sp->streams[k] = (srf_stream_t){h, pos, n, side, q};
    sp->sheap[sp->n_sheap] = (srf_node_t){h[pos].key, h[pos].f, h[pos].p, (uint32_t)k};
    sheap_up(sp, sp->n_sheap++);
}

/* The top stream leaves the walk. */
static void stream_drop(coflow_srf_pairs_t *sp)
{
    sp->sheap[0] = sp->sheap[--sp->n_sheap];
    if (sp->n_sheap > 0)
        sheap_down(sp, 0);
}

/* The top stream moves on to its next head, or leaves. */
static void stream_next(coflow_srf_pairs_t *sp)
{
    srf_node_t *top = &sp->sheap[0];
    srf_stream_t *s = &sp->streams[top->k];
    if (++s->pos == s->n) {
        stream_drop(sp);
        return;
    }
    top->key = s->h[s->pos].key;
    top->f = s->h[s->pos].f;
    top->p = s->h[s->pos].p;
    sheap_down(sp, 0);
}

/* Port q (side 0: sending, 1: receiving) may have less in use than at the
 * last decision from (key, f) on: its heads from there are walked. */
static void affect(coflow_srf_pairs_t *sp, int side, uint32_t q, double key, uint32_t f)
{
    if (sp->affected[side][q] == sp->stamp)
        return;
    sp->affected[side][q] = sp->stamp;
    const srf_head_t *h = sp->lh[side] + sp->first[side][q];
    size_t n = sp->nl[side][q];
    stream_add(sp, h, heads_lower_bound(h, n, key, f), n, side, q);
}

/* Sorts a[0..n) by (key, flow), through buf. A bottom-up merge sort that
 * first finds the runs already in order, so nearly sorted input is O(n). */
static void heads_sort(srf_head_t *a, srf_head_t *buf, size_t n)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = !key_before(a[i].key, a[i].f, a[i - 1].key, a[i - 1].f);
    if (sorted)
        return;
    srf_head_t *src = a, *dst = buf;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = key_before(src[j].key, src[j].f, src[i].key, src[i].f) ? src[j++]
                                                                                 : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        srf_head_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/*
 * The decision, from the last one. The walk over every listed head in
 * order rates a head iff both its ports have room at its turn. A head
 * that was not rated last time, whose pair did not change, and none of
 * whose ports can have less in use at its turn than last time, is still
 * not rated: the port that stopped it is still full. So only these heads
 * are walked, in order (which gives the same rates as the walk over all):
 *  - the changed heads: every dirty pair's (the rated ones shrank, others
 *    opened, finished or changed flows);
 *  - from a port that may have less in use than last time, from the turn
 *    where that starts, all its heads (sender or receiver list): a port
 *    whose rated head left (finished, or no longer its pair's head), from
 *    that head's old turn, and both ports of a head that now gets less
 *    than it had, from its turn, until the port is full.
 * Rated heads only shrink, so they only move earlier, which only adds use
 * before the heads they pass. The walk stops once every live receiver or
 * sender is full. The first decision walks every head.
 */
void coflow_srf_pairs_allocate(coflow_srf_pairs_t *sp, coflow_state_t *st)
{
    srf_pairs_refresh(sp, st);
    if (++sp->stamp == 0) { /* wrapped: clear the stamps */
        memset(sp->seen, 0, sp->n_pairs * sizeof *sp->seen);
        memset(sp->kept, 0, sp->n_pairs * sizeof *sp->kept);
        memset(sp->affected[0], 0, sp->n_ports * sizeof *sp->affected[0]);
        memset(sp->affected[1], 0, sp->n_ports * sizeof *sp->affected[1]);
        sp->stamp = 1;
    }
    uint32_t stamp = sp->stamp;
    sp->n_streams = sp->n_sheap = 0;
    size_t n_kept = 0, n_cand = 0;
    for (size_t k = 0; k < sp->n_rated; k++) {
        const srf_rated_t *e = &sp->rated[k];
        uint32_t p = e->p;
        if (sp->lf[p] == e->f) { /* still the head: it shrank */
            sp->kept[p] = stamp;
            sp->old_rate[p] = e->rate;
            sp->cand_kept[n_kept++] = (srf_head_t){sp->lkey[p], e->f, p};
        } else { /* gone: its ports have its rate free from its old turn */
            affect(sp, 0, sp->pair_src[p], e->key, e->f);
            affect(sp, 1, sp->pair_dst[p], e->key, e->f);
        }
    }
    for (size_t k = 0; k < sp->n_dirty; k++) {
        uint32_t p = sp->dlist[k];
        if (sp->kept[p] != stamp && sp->lf[p] != NONE)
            sp->cand[n_cand++] = (srf_head_t){sp->lkey[p], sp->lf[p], p};
    }
    sp->n_dirty = 0;
    /* last time's order, unless unequal rates made some cross */
    heads_sort(sp->cand_kept, sp->cand_tmp, n_kept);
    heads_sort(sp->cand, sp->cand_tmp, n_cand);
    stream_add(sp, sp->cand_kept, 0, n_kept, -1, 0);
    stream_add(sp, sp->cand, 0, n_cand, -1, 0);
    size_t full[2] = {0, 0}, n_rated = 0;
    while (sp->n_sheap > 0 && full[0] < sp->n_live[0] && full[1] < sp->n_live[1]) {
        srf_node_t top = sp->sheap[0];
        const srf_stream_t *sm = &sp->streams[top.k];
        if (sm->side >= 0 && (sm->side ? alloc_in_full(st, sm->q) : alloc_out_full(st, sm->q))) {
            stream_drop(sp); /* its port is full: none of its later heads moves */
            continue;
        }
        stream_next(sp);
        uint32_t p = top.p;
        if (sp->seen[p] == stamp)
            continue; /* walked already, from another stream */
        sp->seen[p] = stamp;
        uint32_t s = sp->pair_src[p], d = sp->pair_dst[p];
        double r = srf_room(st, s, d);
        if (r > 0) {
            /* its ports are its pair's, and a pair is walked once: the
               flow has no rate yet (neither its ports nor its rate are read
               from the arrays of every flow) */
            alloc_first_rate_at(st, top.f, s, d, r);
            mark_dirty(sp, p); /* it moves: its key shrinks */
            sp->rated_next[n_rated++] = (srf_rated_t){top.key, r, top.f, p};
            full[0] += alloc_out_full(st, s);
            full[1] += alloc_in_full(st, d);
        }
        if (sp->kept[p] == stamp && r < sp->old_rate[p]) {
            affect(sp, 0, s, top.key, top.f);
            affect(sp, 1, d, top.key, top.f);
        }
    }
    srf_rated_t *t = sp->rated;
    sp->rated = sp->rated_next;
    sp->rated_next = t;
    sp->n_rated = n_rated;
    alloc_release_ports(st);
}
