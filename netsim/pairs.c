/*
 * pairs.c - per-flow max-min fair kept by (sender, receiver) pair, netsim's
 * fast path for an allocator with per_pair_fair (sim_t's pair fields,
 * sim_internal.h). Flows between the same two ports share one max-min
 * rate, so a decision rates the open pairs (coflow_fair_levels) instead of
 * every open flow, and a pair's flows advance together: each keeps a heap
 * of its flows by bytes left, and what every flow of it sent is one
 * number. sim.c calls these at each event; sim_check_pairs (check.c)
 * recomputes each decision flow by flow.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Numbers the (sender, receiver) pairs of the workload's flows, sender by
 * sender (a receiver -> pair map of n_ports entries), and sizes each
 * pair's heap slab. O(flows + ports). */
weft_err_t pairs_setup(sim_t *s)
{
    const coflow_workload_t *wl = s->wl;
    size_t nf = wl->n_flows, np = s->fab->n_ports;
    size_t *by_src = weft_calloc(nf ? nf : 1, sizeof *by_src);
    size_t *cur = weft_calloc(np + 1, sizeof *cur);
    uint32_t *map = weft_calloc(np ? np : 1, sizeof *map);
    s->flow_pair = weft_calloc(nf ? nf : 1, sizeof *s->flow_pair);
    s->psrc = weft_calloc(nf ? nf : 1, sizeof *s->psrc);
    s->pdst = weft_calloc(nf ? nf : 1, sizeof *s->pdst);
    s->hk = weft_calloc(nf ? nf : 1, sizeof *s->hk);
    s->hf = weft_calloc(nf ? nf : 1, sizeof *s->hf);
    s->fk = weft_calloc(nf ? nf : 1, sizeof *s->fk);
    if (!by_src || !cur || !map || !s->flow_pair || !s->psrc || !s->pdst || !s->hk || !s->hf ||
        !s->fk) {
        free(by_src);
        free(cur);
        free(map);
        return weft_fail(WEFT_ENOMEM, "out of memory for the pairs of %zu flows", nf);
    }
    for (size_t f = 0; f < nf; f++)
        cur[wl->flows[f].src + 1]++;
    for (size_t p = 0; p < np; p++)
        cur[p + 1] += cur[p];
    for (size_t f = 0; f < nf; f++)
        by_src[cur[wl->flows[f].src]++] = f;
    size_t n = 0;
    for (size_t i = 0, p = 0; i < nf; p++) { /* cur[p] is now the end of p's run */
        size_t first = i;
        for (; i < cur[p]; i++) {
            uint32_t d = wl->flows[by_src[i]].dst;
            if (!map[d]) {
                s->psrc[n] = p;
                s->pdst[n] = d;
                map[d] = (uint32_t)++n;
            }
            s->flow_pair[by_src[i]] = map[d] - 1;
        }
        for (size_t x = first; x < i; x++)
            map[wl->flows[by_src[x]].dst] = 0;
    }
    free(by_src);
    free(cur);
    free(map);
    s->n_pairs = n;
    s->pstart = weft_calloc(n + 1, sizeof *s->pstart);
    s->hn = weft_calloc(n ? n : 1, sizeof *s->hn);
    s->act = weft_calloc(n ? n : 1, sizeof *s->act);
    s->apos = weft_calloc(n ? n : 1, sizeof *s->apos);
    s->aw = weft_calloc(n ? n : 1, sizeof *s->aw);
    s->ar = weft_calloc(n ? n : 1, sizeof *s->ar);
    s->an = weft_calloc(n ? n : 1, sizeof *s->an);
    s->atop = weft_calloc(n ? n : 1, sizeof *s->atop);
    s->atol = weft_calloc(n ? n : 1, sizeof *s->atol);
    s->lv_src = weft_calloc(n ? n : 1, sizeof *s->lv_src);
    s->lv_dst = weft_calloc(n ? n : 1, sizeof *s->lv_dst);
    s->lv_cnt = weft_calloc(n ? n : 1, sizeof *s->lv_cnt);
    if (s->opts->check && !s->chk_run)
        s->chk_run = weft_calloc(nf ? nf : 1, sizeof *s->chk_run);
    if (!s->pstart || !s->hn || !s->act || !s->apos || !s->aw || !s->ar || !s->an ||
        !s->atop || !s->atol || !s->lv_src || !s->lv_dst || !s->lv_cnt ||
        (s->opts->check && !s->chk_run))
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu port pairs", n);
    for (size_t f = 0; f < nf; f++)
        s->pstart[s->flow_pair[f] + 1]++;
    for (size_t p = 0; p < n; p++)
        s->pstart[p + 1] += s->pstart[p];
    return WEFT_OK;
}

static inline bool pair_less(const sim_t *s, size_t a, size_t b)
{
    return s->hk[a] < s->hk[b] || (s->hk[a] == s->hk[b] && s->hf[a] < s->hf[b]);
}

static inline void pair_swap(sim_t *s, size_t a, size_t b)
{
    double k = s->hk[a];
    uint32_t f = s->hf[a];
    s->hk[a] = s->hk[b];
    s->hf[a] = s->hf[b];
    s->hk[b] = k;
    s->hf[b] = f;
}

/* The dense copy of pair p's heap top (slot a of act[]). */
static inline void pair_top(sim_t *s, size_t a, size_t p)
{
    size_t top = s->pstart[p];
    s->atop[a] = s->hk[top];
    s->atol[a] = FINISH_REL_TOL * s->wl->flows[s->hf[top]].bytes;
}

/* Opens flow f in its pair: onto the pair's heap, keyed by size + what the
 * pair's flows sent so far (a pair that had no open flow starts at 0). */
void pair_open(sim_t *s, size_t f)
{
    size_t p = s->flow_pair[f], base = s->pstart[p], i = s->hn[p]++;
    if (i == 0) {
        size_t a = s->n_act++;
        s->act[a] = p;
        s->apos[p] = a;
        s->aw[a] = s->ar[a] = s->an[a] = 0;
        s->lv_src[a] = s->psrc[p];
        s->lv_dst[a] = s->pdst[p];
    }
    size_t a = s->apos[p];
    s->an[a] += 1;
    s->fk[f] = s->wl->flows[f].bytes + s->aw[a];
    s->hk[base + i] = s->fk[f];
    s->hf[base + i] = (uint32_t)f;
    while (i > 0 && pair_less(s, base + i, base + (i - 1) / 2)) {
        pair_swap(s, base + i, base + (i - 1) / 2);
        i = (i - 1) / 2;
    }
    pair_top(s, a, p);
}

static void pair_pop(sim_t *s, size_t p)
{
    size_t base = s->pstart[p], n = --s->hn[p], i = 0;
    s->hk[base] = s->hk[base + n];
    s->hf[base] = s->hf[base + n];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && pair_less(s, base + l, base + m))
            m = l;
        if (l + 1 < n && pair_less(s, base + l + 1, base + m))
            m = l + 1;
        if (m == i)
            break;
        pair_swap(s, base + i, base + m);
        i = m;
    }
}

/* advance() by pairs: each moving pair's flows send rate * dt; flows at the
 * top of its heap that are done (same tolerances as advance) finish. */
void pairs_advance(sim_t *s, double dt)
{
    double now = s->st.now, moved = 0;
    s->n_done = 0;
    size_t emptied = SIZE_MAX; /* the first pair left without open flows */
    for (size_t a = 0; a < s->n_act; a++) {
        double r = s->ar[a];
        if (r == 0)
            continue;
        double sent = r * dt, w = s->aw[a] + sent;
        s->aw[a] = w;
        moved += sent * s->an[a];
        double left = s->atop[a] - w, ttol = r * now * FINISH_TIME_TOL;
        if (!(left <= s->atol[a] || left <= ttol))
            continue;
        size_t p = s->act[a];
        while (s->hn[p] > 0) {
            size_t top = s->pstart[p], f = s->hf[top];
            left = s->hk[top] - w;
            if (!(left <= FINISH_REL_TOL * s->wl->flows[f].bytes || left <= ttol))
                break;
            moved += left; /* the residue counts as sent */
            s->done[s->n_done++] = (moving_t){f, s->st.flow_coflow[f], r, {0}};
            pair_pop(s, p);
            s->an[a] -= 1;
        }
        if (s->hn[p] > 0)
            pair_top(s, a, p);
        else if (emptied == SIZE_MAX)
            emptied = a;
    }
    s->moved += moved;
    if (emptied == SIZE_MAX)
        return;
    /* pairs left without open flows drop out, in order: the ones in front
       of the first stay where they are */
    size_t w = emptied;
    for (size_t a = emptied; a < s->n_act; a++) {
        if (s->an[a] == 0) /* its open flows, as hn[act[a]] (a dense read) */
            continue;
        size_t p = s->act[a];
        s->act[w] = p;
        s->apos[p] = w;
        s->aw[w] = s->aw[a];
        s->ar[w] = s->ar[a];
        s->an[w] = s->an[a];
        s->atop[w] = s->atop[a];
        s->atol[w] = s->atol[a];
        s->lv_src[w] = s->lv_src[a];
        s->lv_dst[w] = s->lv_dst[a];
        w++;
    }
    s->n_act = w;
}

/* decide() by pairs: the max-min levels of the open pairs. */
void pairs_decide(sim_t *s)
{
    s->n_pmoving = 0;
    s->next_finish_dt = INFINITY;
    if (s->n_active == 0)
        return;
    memcpy(s->lv_cnt, s->an, s->n_act * sizeof *s->lv_cnt);
    coflow_fair_levels(&s->st, s->n_act, s->lv_src, s->lv_dst, s->lv_cnt);
    double best = INFINITY;
    for (size_t a = 0; a < s->n_act; a++) {
        double r = s->lv_cnt[a] * (1 - 1e-12); /* the allocator's trim */
        s->ar[a] = r > 0 ? r : 0;
        if (r > 0) {
            s->n_pmoving++;
            s->res->n_rated_total++;
            best = earlier_finish(best, s->atop[a] - s->aw[a], r);
        }
    }
    s->next_finish_dt = best;
    s->res->n_decisions++;
    if (s->n_open_total > s->res->max_active_flows)
        s->res->max_active_flows = s->n_open_total;
    if (s->opts->check)
        sim_check_pairs(s);
}
