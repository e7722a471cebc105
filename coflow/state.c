/*
 * state.c - the live scheduler state shared by the emulator and the gateway.
 *
 * Each coflow's unfinished flows sit at the front of its own slice of
 * open_flows (the slice open_flows[first_flow .. +n_flows)), so finishing a
 * flow is a swap with the last open one: O(1), and walking a coflow's open
 * flows never touches finished ones.
 */
#include "coflow_internal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t coflow_clear_all_ports_max = COFLOW_CLEAR_ALL_PORTS;

/* Sorts one side of a coflow's distinct ports: the greedy walk visits a
 * coflow's ports in port order (coflow.h). */
static void sort_ports(uint32_t *p, size_t n)
{
    size_t i = 1;
    while (i < n && p[i - 1] < p[i])
        i++;
    if (i < n)
        qsort(p, n, sizeof *p, coflow_cmp_u32);
}

/* Orders members by their other port, then flow index. */
static int cmp_member(const void *a, const void *b)
{
    const coflow_member_t *x = a, *y = b;
    if (x->other != y->other)
        return x->other < y->other ? -1 : 1;
    return (x->flow > y->flow) - (x->flow < y->flow);
}

/* Sorts a group's members by (other port, flow index); they arrive in flow
 * index order, which traces that list ports in order (the FB trace) keep. */
static void sort_members(coflow_member_t *m, size_t n)
{
    size_t i = 1;
    while (i < n && m[i - 1].other <= m[i].other)
        i++;
    if (i < n)
        qsort(m, n, sizeof *m, cmp_member);
}

/* Groups each coflow's flows by sender (by_src) or by receiver with a
 * counting sort, then orders each group by other port (coflow.h). The
 * group of the port at cports position q is out[start[q] .. start[q+1]);
 * positions of the other side get empty ranges. scratch_out/scratch_in
 * map a port to its position + 1 while one coflow is processed, and are
 * zero again after. Each flow f's group goes to group[2 f] (one side of
 * st->fgroup). */
static void group_flows(coflow_state_t *st, bool by_src, coflow_member_t *out, size_t *start,
                        uint32_t *open, uint32_t *group, uint32_t *where)
{
    const coflow_workload_t *wl = st->wl;
    size_t pos = 0;
    double *map = by_src ? st->scratch_out : st->scratch_in;
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        size_t lo = by_src ? a : mid, hi = by_src ? mid : b;
        for (size_t q = a; q < b; q++)
            start[q] = 0;
        for (size_t q = lo; q < hi; q++)
            map[st->cports[q]] = (double)(q + 1);
#define GROUP_OF(f) ((size_t)map[by_src ? wl->flows[f].src : wl->flows[f].dst] - 1)
        for (size_t i = 0; i < co->n_flows; i++)
            start[GROUP_OF(co->first_flow + i)]++;
        size_t first = pos;
        for (size_t q = lo; q < hi; q++) { /* counts -> fill cursors */
            size_t count = start[q];
            start[q] = pos;
            pos += count;
        }
        for (size_t i = 0; i < co->n_flows; i++) {
            size_t f = co->first_flow + i;
            const coflow_flow_t *fl = &wl->flows[f];
            out[start[GROUP_OF(f)]++] = (coflow_member_t){(uint32_t)f, by_src ? fl->dst : fl->src};
        }
#undef GROUP_OF
        /* Cursors now sit at each group's end, the next group's start. */
        for (size_t q = hi; q-- > lo;)
            start[q] = q == lo ? first : start[q - 1];
        for (size_t q = a; q < lo; q++)
            start[q] = first;
        for (size_t q = hi; q < b; q++)
            start[q] = pos;
        for (size_t q = lo; q < hi; q++)
            map[st->cports[q]] = 0;
    }
    start[st->cport_start[wl->n_coflows]] = pos;
    for (size_t q = 0; q < st->cport_start[wl->n_coflows]; q++)
        sort_members(out + start[q], start[q + 1] - start[q]);
    for (size_t c = 0; c < wl->n_coflows; c++)
        for (size_t q = st->cport_start[c]; q < st->cport_start[c + 1]; q++) {
            open[q] = (uint32_t)(start[q + 1] - start[q]);
            for (size_t k = start[q]; k < start[q + 1]; k++) {
                group[2 * (size_t)out[k].flow] = (uint32_t)q;
                where[out[k].flow] = (uint32_t)k;
            }
        }
}

/* Marks finished flow f's member closed where it stands, so the open ones
 * keep their order; the members in use, [head, span) from the group's
 * start, shrink past closed ones at either end (flows tend to finish in
 * walk order), and once the closed ones between outnumber the open, the
 * open ones move to the front, in order. f's group is group[2 f] (one side
 * of st->fgroup). */
static void group_close(coflow_member_t *members, const size_t *start, uint32_t *open,
                        uint32_t *head, uint32_t *span, const uint32_t *group,
                        uint32_t *where, size_t f)
{
    size_t q = group[2 * f];
    coflow_member_t *m = members + start[q];
    m[where[f] - start[q]].other = COFLOW_MEMBER_CLOSED;
    uint32_t still = --open[q];
    while (head[q] < span[q] && m[head[q]].other == COFLOW_MEMBER_CLOSED)
        head[q]++;
    while (span[q] > head[q] && m[span[q] - 1].other == COFLOW_MEMBER_CLOSED)
        span[q]--;
    if (still >= span[q] - head[q] - still)
        return;
    size_t w = 0;
    for (size_t k = head[q]; k < span[q]; k++)
        if (m[k].other != COFLOW_MEMBER_CLOSED) {
            m[w] = m[k];
            where[m[w].flow] = (uint32_t)(start[q] + w);
            w++;
        }
    head[q] = 0;
    span[q] = still;
}

/* Words of the bit sets over ports. */
#define PORT_WORD(p) ((size_t)(p) >> 6)
#define PORT_BIT(p) ((uint64_t)1 << ((p) & 63))

/* Span of words [w0, w0 + nw) covering ports cports[lo .. hi). */
static void port_span(const coflow_state_t *st, size_t lo, size_t hi, uint32_t *w0,
                      uint32_t *nw)
{
    size_t min = SIZE_MAX, max = 0;
    for (size_t q = lo; q < hi; q++) {
        size_t w = PORT_WORD(st->cports[q]);
        if (w < min)
            min = w;
        if (w > max)
            max = w;
    }
    *w0 = lo < hi ? (uint32_t)min : 0;
    *nw = lo < hi ? (uint32_t)(max - min + 1) : 0;
}

/* Per-coflow port sets and per-group flow sets (coflow.h), unless they
 * would take more words than a few per flow (coflows each spanning a huge
 * fabric): then pmask stays NULL. Needs has_group_sets. ENOMEM only. */
static weft_err_t build_masks(coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    size_t nc = wl->n_coflows, words = 0, gwords = 0, n_cports = st->cport_start[nc];
    st->pmask_off = weft_calloc(nc ? nc : 1, sizeof *st->pmask_off);
    st->pmask_span = weft_calloc(nc ? nc : 1, 4 * sizeof *st->pmask_span);
    st->gmask_off = weft_calloc(n_cports ? n_cports : 1, sizeof *st->gmask_off);
    if (!st->pmask_off || !st->pmask_span || !st->gmask_off)
        return WEFT_ENOMEM;
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        uint32_t *sp = st->pmask_span + 4 * c;
        port_span(st, a, mid, &sp[0], &sp[1]);
        port_span(st, mid, b, &sp[2], &sp[3]);
        st->pmask_off[c] = words;
        words += (size_t)sp[1] + sp[3];
        if (st->has_group_sets[c])
            gwords += (size_t)co->n_senders * sp[3] + (size_t)co->n_receivers * sp[1];
    }
    if (words + gwords > 4 * wl->n_flows + ((size_t)1 << 16))
        return WEFT_OK; /* too sparse to pay: scan the port lists */
    st->pmask = weft_calloc(words ? words : 1, sizeof *st->pmask);
    st->popen = weft_calloc(words ? words : 1, sizeof *st->popen);
    st->prank = weft_calloc(words ? words : 1, sizeof *st->prank);
    st->gmask = weft_calloc(gwords ? 2 * gwords : 1, sizeof *st->gmask);
    st->room_seen = weft_calloc(words ? words : 1, sizeof *st->room_seen);
    st->room_seen_set = weft_calloc(nc ? nc : 1, sizeof *st->room_seen_set);
    if (!st->pmask || !st->popen || !st->prank || !st->gmask || !st->room_seen ||
        !st->room_seen_set)
        return WEFT_ENOMEM;
    size_t g = 0;
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        const uint32_t *sp = st->pmask_span + 4 * c;
        size_t off = st->pmask_off[c];
        for (int side = 0; side < 2; side++) {
            size_t lo = side ? mid : a, hi = side ? b : mid, w0 = sp[2 * side];
            size_t base = off + (side ? sp[1] : 0), nw = sp[2 * side + 1];
            uint64_t *m = st->pmask + base;
            for (size_t q = lo; q < hi; q++)
                m[PORT_WORD(st->cports[q]) - w0] |= PORT_BIT(st->cports[q]);
            uint32_t rank = 0;
            for (size_t w = 0; w < nw; w++) {
                st->prank[base + w] = rank;
                rank += (uint32_t)__builtin_popcountll(m[w]);
                st->popen[base + w] = m[w];
            }
        }
        if (!st->has_group_sets[c])
            continue;
        /* every flow is open: each group's set is all its flows' ports */
        for (size_t q = a; q < b; q++) {
            st->gmask_off[q] = g;
            g += 2 * (size_t)(q < mid ? sp[3] : sp[1]); /* open words, then all */
        }
        for (size_t i = 0; i < co->n_flows; i++) {
            size_t f = co->first_flow + i;
            uint32_t src = wl->flows[f].src, dst = wl->flows[f].dst;
            size_t qs = coflow_sgroup(st, f), qr = coflow_rgroup(st, f);
            st->gmask[st->gmask_off[qs] + PORT_WORD(dst) - sp[2]] |= PORT_BIT(dst);
            st->gmask[st->gmask_off[qr] + PORT_WORD(src) - sp[0]] |= PORT_BIT(src);
        }
        for (size_t q = a; q < b; q++) { /* every flow is open: all = open */
            size_t nw = q < mid ? sp[3] : sp[1];
            memcpy(st->gmask + st->gmask_off[q] + nw, st->gmask + st->gmask_off[q],
                   nw * sizeof *st->gmask);
        }
    }
    return WEFT_OK;
}

/* Which coflows get group sets (coflow.h, has_group_sets): those with at
 * most one flow per (sender, receiver) pair and no more than 4 sender x
 * receiver cells per flow. The pairs are marked in a scratch bit matrix of
 * the largest such coflow, cleared after each one; scratch_out/scratch_in
 * map a port to its local position + 1 while one coflow is processed. */
static weft_err_t find_group_sets(coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    size_t nc = wl->n_coflows, max_cells = 0;
    st->has_group_sets = weft_calloc(nc ? nc : 1, sizeof *st->has_group_sets);
    if (!st->has_group_sets)
        return WEFT_ENOMEM;
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        size_t m = (size_t)co->n_senders * co->n_receivers;
        st->has_group_sets[c] = m <= 4 * co->n_flows + 16;
        if (st->has_group_sets[c] && m > max_cells)
            max_cells = m;
    }
    uint64_t *seen = weft_calloc(max_cells / 64 + 1, sizeof *seen);
    if (!seen)
        return WEFT_ENOMEM;
    for (size_t c = 0; c < nc; c++) {
        if (!st->has_group_sets[c])
            continue;
        const coflow_coflow_t *co = &wl->coflows[c];
        const coflow_flow_t *fl = &wl->flows[co->first_flow];
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        for (size_t q = a; q < mid; q++)
            st->scratch_out[st->cports[q]] = (double)(q - a + 1);
        for (size_t q = mid; q < b; q++)
            st->scratch_in[st->cports[q]] = (double)(q - mid + 1);
        bool dup = false;
        for (size_t i = 0; i < co->n_flows; i++) {
            size_t cell = ((size_t)st->scratch_out[fl[i].src] - 1) * co->n_receivers +
                          ((size_t)st->scratch_in[fl[i].dst] - 1);
            dup |= (seen[cell >> 6] >> (cell & 63)) & 1;
            seen[cell >> 6] |= (uint64_t)1 << (cell & 63);
        }
        for (size_t i = 0; i < co->n_flows; i++) { /* clear what was set */
            size_t cell = ((size_t)st->scratch_out[fl[i].src] - 1) * co->n_receivers +
                          ((size_t)st->scratch_in[fl[i].dst] - 1);
            seen[cell >> 6] = 0;
        }
        /* a full shuffle listed receiver by receiver, each one's senders in
           port order: a flow's index follows from its ports' ranks */
        bool shuffle = !dup && co->n_flows == (size_t)co->n_senders * co->n_receivers;
        for (size_t i = 0; shuffle && i < co->n_flows; i++)
            shuffle = i == ((size_t)st->scratch_in[fl[i].dst] - 1) * co->n_senders +
                               ((size_t)st->scratch_out[fl[i].src] - 1);
        for (size_t q = a; q < mid; q++)
            st->scratch_out[st->cports[q]] = 0;
        for (size_t q = mid; q < b; q++)
            st->scratch_in[st->cports[q]] = 0;
        if (dup) /* two flows share a pair: a port bit cannot tell them apart */
            st->has_group_sets[c] = 0;
        else if (shuffle)
            st->has_group_sets[c] = COFLOW_SHUFFLE_SETS;
    }
    free(seen);
    return WEFT_OK;
}

weft_err_t coflow_state_init(coflow_state_t *st, const coflow_workload_t *wl,
                             const coflow_fabric_t *fab)
{
    memset(st, 0, sizeof *st);
    if (fab->n_ports < wl->n_ports)
        return weft_fail(WEFT_EINVAL, "the workload uses %zu ports but the fabric has %zu",
                         wl->n_ports, fab->n_ports);
    size_t nc = wl->n_coflows, nf = wl->n_flows, np = fab->n_ports;
    if (nf >= UINT32_MAX)
        return weft_fail(WEFT_EINVAL, "%zu flows: the scheduler state holds at most %u", nf,
                         UINT32_MAX - 1);
    st->wl = wl;
    st->fab = fab;
    st->status = weft_calloc(nc, sizeof *st->status);
    st->release_s = weft_calloc(nc, sizeof *st->release_s);
    st->finish_s = weft_calloc(nc, sizeof *st->finish_s);
    st->coflow_remaining = weft_calloc(nc, sizeof *st->coflow_remaining);
    st->job_sent = weft_calloc(wl->n_jobs, sizeof *st->job_sent);
    st->n_open = weft_calloc(nc, sizeof *st->n_open);
    st->open_flows = weft_calloc(nf, sizeof *st->open_flows);
    st->open_pos = weft_calloc(nf, sizeof *st->open_pos);
    st->flow_remaining = weft_calloc(nf, sizeof *st->flow_remaining);
    st->flow_rate = weft_calloc(nf, sizeof *st->flow_rate);
    st->scratch_out = weft_calloc(np, sizeof(double));
    st->scratch_in = weft_calloc(np, sizeof(double));
    st->free_out = weft_calloc(np, sizeof(double));
    st->free_in = weft_calloc(np, sizeof(double));
    st->touched = weft_calloc(np, 2 * sizeof(size_t));
    st->flow_list = weft_calloc(nf, 2 * sizeof(size_t));
    st->port_index = weft_calloc(2 * np + 1, sizeof(size_t));
    st->level_heap = weft_calloc(2 * np + 1, sizeof *st->level_heap);
    st->level_at = weft_calloc(2 * np + 1, sizeof *st->level_at);
    st->heap_key = weft_calloc(nf + np, 2 * sizeof(double));
    st->heap_val = weft_calloc(nf + np, 2 * sizeof(size_t));
    st->rated = weft_calloc(nf, sizeof *st->rated);
    st->flow_coflow = weft_calloc(nf, sizeof *st->flow_coflow);
    st->cport_start = weft_calloc(nc + 1, sizeof *st->cport_start);
    size_t n_cports = 0;
    for (size_t c = 0; c < nc; c++)
        n_cports += wl->coflows[c].n_senders + wl->coflows[c].n_receivers;
    st->cports = weft_calloc(n_cports, sizeof *st->cports);
    st->cport_bytes = weft_calloc(n_cports, sizeof *st->cport_bytes);
    st->cport_comp = weft_calloc(n_cports ? n_cports : 1, sizeof *st->cport_comp);
    st->rmembers = weft_calloc(nf, sizeof *st->rmembers);
    st->rstart = weft_calloc(n_cports + 1, sizeof *st->rstart);
    st->smembers = weft_calloc(nf, sizeof *st->smembers);
    st->sstart = weft_calloc(n_cports + 1, sizeof *st->sstart);
    st->sopen = weft_calloc(n_cports, sizeof *st->sopen);
    st->ropen = weft_calloc(n_cports, sizeof *st->ropen);
    st->sspan = weft_calloc(n_cports ? n_cports : 1, sizeof *st->sspan);
    st->rspan = weft_calloc(n_cports ? n_cports : 1, sizeof *st->rspan);
    st->shead = weft_calloc(n_cports ? n_cports : 1, sizeof *st->shead);
    st->rhead = weft_calloc(n_cports ? n_cports : 1, sizeof *st->rhead);
    st->fgroup = weft_calloc(2 * nf, sizeof *st->fgroup);
    st->spos = weft_calloc(nf, sizeof *st->spos);
    st->rpos = weft_calloc(nf, sizeof *st->rpos);
    st->cache_remaining = weft_calloc(nc, sizeof *st->cache_remaining);
    st->cache_open = weft_calloc(nc, sizeof *st->cache_open);
    if (!st->status || !st->release_s || !st->finish_s || !st->coflow_remaining ||
        !st->job_sent || !st->n_open || !st->open_flows || !st->open_pos ||
        !st->flow_remaining || !st->flow_rate || !st->scratch_out || !st->scratch_in ||
        !st->free_out || !st->free_in || !st->touched || !st->flow_list || !st->port_index ||
        !st->level_heap || !st->level_at ||
        !st->heap_key || !st->heap_val || !st->rated || !st->flow_coflow ||
        !st->cport_start || !st->cports || !st->cport_bytes || !st->cport_comp ||
        !st->rmembers || !st->rstart ||
        !st->smembers || !st->sstart || !st->sopen || !st->ropen || !st->sspan ||
        !st->rspan || !st->shead || !st->rhead || !st->fgroup ||
        !st->spos || !st->rpos || !st->cache_remaining ||
        !st->cache_open) {
        coflow_state_destroy(st);
        return weft_fail(WEFT_ENOMEM, "out of memory for the state of %zu coflows, %zu flows",
                         nc, nf);
    }
    for (size_t c = 0; c < nc; c++)
        st->coflow_remaining[c] = wl->coflows[c].total_bytes;
    /* Distinct ports per coflow, marking in scratch_out/scratch_in (zeroed
     * again right after). */
    size_t k = 0;
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        const coflow_flow_t *fl = &wl->flows[co->first_flow];
        st->cport_start[c] = k;
        for (size_t i = 0; i < co->n_flows; i++)
            if (!st->scratch_out[fl[i].src]) {
                st->scratch_out[fl[i].src] = 1;
                st->cports[k++] = fl[i].src;
            }
        size_t mid = k;
        for (size_t i = 0; i < co->n_flows; i++)
            if (!st->scratch_in[fl[i].dst]) {
                st->scratch_in[fl[i].dst] = 1;
                st->cports[k++] = fl[i].dst;
            }
        sort_ports(st->cports + st->cport_start[c], mid - st->cport_start[c]);
        sort_ports(st->cports + mid, k - mid);
        for (size_t i = 0; i < co->n_flows; i++)
            st->scratch_out[fl[i].src] = st->scratch_in[fl[i].dst] = 0;
        for (size_t i = 0; i < co->n_flows; i++)
            st->flow_coflow[co->first_flow + i] = (uint32_t)c; /* c < n_flows < UINT32_MAX */
    }
    st->cport_start[nc] = k;
    st->n_port_words = (np + 63) / 64;
    st->full_out = weft_calloc(st->n_port_words + 1, sizeof *st->full_out);
    st->full_in = weft_calloc(st->n_port_words + 1, sizeof *st->full_in);
    st->used_ports = weft_calloc(np + 1, 2 * sizeof *st->used_ports);
    st->clear_all_ports = np <= coflow_clear_all_ports_max;
    group_flows(st, false, st->rmembers, st->rstart, st->ropen, st->fgroup + 1, st->rpos);
    group_flows(st, true, st->smembers, st->sstart, st->sopen, st->fgroup, st->spos);
    memcpy(st->sspan, st->sopen, k * sizeof *st->sspan);
    memcpy(st->rspan, st->ropen, k * sizeof *st->rspan);
    if (!st->full_out || !st->full_in || !st->used_ports || find_group_sets(st) ||
        build_masks(st)) {
        coflow_state_destroy(st);
        return weft_fail(WEFT_ENOMEM, "out of memory for the port sets of %zu coflows", nc);
    }
    for (size_t c = 0; c < nc; c++)
        st->cache_remaining[c] = NAN;
    st->same_cap_out = np ? fab->cap_out[0] : 0;
    st->same_cap_in = np ? fab->cap_in[0] : 0;
    for (size_t p = 1; p < np; p++) {
        if (fab->cap_out[p] != st->same_cap_out)
            st->same_cap_out = 0;
        if (fab->cap_in[p] != st->same_cap_in)
            st->same_cap_in = 0;
    }
    for (size_t f = 0; f < nf; f++) {
        st->flow_remaining[f] = wl->flows[f].bytes;
        st->open_flows[f] = f;
        st->open_pos[f] = f;
    }
    weft_err_t err = coflow_frontier_create(&st->frontier, wl);
    if (err)
        coflow_state_destroy(st);
    return err;
}

void coflow_state_destroy(coflow_state_t *st)
{
    free(st->status);
    free(st->release_s);
    free(st->finish_s);
    free(st->coflow_remaining);
    free(st->job_sent);
    free(st->n_open);
    free(st->open_flows);
    free(st->open_pos);
    free(st->flow_remaining);
    free(st->flow_rate);
    free(st->scratch_out);
    free(st->scratch_in);
    free(st->free_out);
    free(st->free_in);
    free(st->touched);
    free(st->flow_list);
    free(st->port_index);
    free(st->level_heap);
    free(st->level_at);
    free(st->heap_key);
    free(st->heap_val);
    free(st->rated);
    free(st->flow_coflow);
    free(st->cport_start);
    free(st->cports);
    free(st->cport_bytes);
    free(st->cport_comp);
    free(st->rmembers);
    free(st->rstart);
    free(st->smembers);
    free(st->sstart);
    free(st->sopen);
    free(st->ropen);
    free(st->sspan);
    free(st->rspan);
    free(st->shead);
    free(st->rhead);
    free(st->fgroup);
    free(st->spos);
    free(st->rpos);
    free(st->cache_remaining);
    free(st->cache_open);
    free(st->full_out);
    free(st->full_in);
    free(st->used_ports);
    free(st->pmask);
    free(st->pmask_off);
    free(st->pmask_span);
    free(st->popen);
    free(st->room_seen);
    free(st->room_seen_set);
    free(st->prank);
    free(st->gmask);
    free(st->gmask_off);
    free(st->has_group_sets);
    coflow_greedy_prefix_free(st->greedy_prefix);
    coflow_frontier_free(st->frontier);
    free(st->iso_memo);
    free(st->iso_known);
    memset(st, 0, sizeof *st);
}

void coflow_state_release(coflow_state_t *st, size_t c, double now)
{
    if (st->status[c] == COFLOW_WAITING)
        coflow_frontier_released(st->frontier, st->wl, c);
    st->status[c] = COFLOW_ACTIVE;
    st->release_s[c] = now;
    st->n_open[c] = st->wl->coflows[c].n_flows;
    coflow_state_bytes_changed(st, c);
}

bool coflow_state_finish_flow(coflow_state_t *st, size_t f)
{
    size_t c = st->flow_coflow[f];
    const coflow_coflow_t *co;
    co = &st->wl->coflows[c];
    size_t pos = st->open_pos[f];
    size_t last = co->first_flow + st->n_open[c] - 1;
    size_t g = st->open_flows[last];
    st->open_flows[pos] = g;
    st->open_pos[g] = pos;
    st->open_flows[last] = f;
    st->open_pos[f] = last;
    coflow_state_bytes_changed(st, c);
    if (coflow_state_cache_valid(st, c)) { /* its bytes leave the cache */
        coflow_state_cache_sub(st, coflow_sgroup(st, f), st->flow_remaining[f], 0);
        coflow_state_cache_sub(st, coflow_rgroup(st, f), st->flow_remaining[f], 0);
        st->cache_open[c] = st->n_open[c] - 1;
    }
    st->n_open[c]--;
    if (coflow_group_sets_walk(st, c)) { /* gmask, below, tells the open ones */
        st->sopen[coflow_sgroup(st, f)]--;
        st->ropen[coflow_rgroup(st, f)]--;
    } else {
        group_close(st->smembers, st->sstart, st->sopen, st->shead, st->sspan, st->fgroup,
                    st->spos, f);
        group_close(st->rmembers, st->rstart, st->ropen, st->rhead, st->rspan, st->fgroup + 1,
                    st->rpos, f);
    }
    if (st->pmask) { /* the port and group sets of open flows */
        uint32_t src = st->wl->flows[f].src, dst = st->wl->flows[f].dst;
        const uint32_t *sp = st->pmask_span + 4 * c;
        size_t qs = coflow_sgroup(st, f), qr = coflow_rgroup(st, f);
        if (st->sopen[qs] == 0)
            st->popen[st->pmask_off[c] + PORT_WORD(src) - sp[0]] &= ~PORT_BIT(src);
        if (st->ropen[qr] == 0)
            st->popen[st->pmask_off[c] + sp[1] + PORT_WORD(dst) - sp[2]] &= ~PORT_BIT(dst);
        if (st->has_group_sets[c]) {
            st->gmask[st->gmask_off[qs] + PORT_WORD(dst) - sp[2]] &= ~PORT_BIT(dst);
            st->gmask[st->gmask_off[qr] + PORT_WORD(src) - sp[0]] &= ~PORT_BIT(src);
        }
    }
    st->flow_remaining[f] = 0;
    st->flow_rate[f] = 0;
    if (st->n_open[c] == 0) {
        st->status[c] = COFLOW_DONE;
        st->finish_s[c] = st->now;
        st->coflow_remaining[c] = 0;
        coflow_frontier_done(st->frontier, st, c);
        return true;
    }
    return false;
}

void coflow_state_mark_done(coflow_state_t *st, size_t c)
{
    if (st->status[c] == COFLOW_DONE)
        return;
    if (st->status[c] == COFLOW_WAITING)
        coflow_frontier_released(st->frontier, st->wl, c);
    st->status[c] = COFLOW_DONE;
    st->coflow_remaining[c] = 0;
    coflow_frontier_done(st->frontier, st, c);
}

const double *coflow_state_port_bytes(coflow_state_t *st, size_t c)
{
    if (coflow_state_cache_valid(st, c))
        return st->cport_bytes + st->cport_start[c];
    return coflow_state_port_bytes_exact(st, c);
}

/* bytes[k] += x, its rounding error into comp[k] (Knuth's TwoSum). */
static inline void two_sum_into(double *bytes, double *comp, size_t k, double x)
{
    double a = bytes[k], t = a + x, bb = t - a;
    comp[k] += (a - (t - bb)) + (x - bb);
    bytes[k] = t;
}

const double *coflow_state_port_bytes_exact(coflow_state_t *st, size_t c)
{
    size_t a = st->cport_start[c], b = st->cport_start[c + 1];
    double *bytes = st->cport_bytes + a, *comp = st->cport_comp + a;
    const size_t *open = st->open_flows + st->wl->coflows[c].first_flow;
    coflow_state_bytes_changed(st, c); /* the same sums, maybe other floats */
    for (size_t k = 0; k < b - a; k++)
        bytes[k] = comp[k] = 0;
    /* By the flows' group positions, in open-flow order: each port's sum
     * is plain summation's, and comp keeps its rounding, so a port whose
     * large flows leave later still has its small ones' bytes to within
     * their own ulps, not the large ones' (coflow.h, cport_comp). */
    for (size_t i = 0; i < st->n_open[c]; i++) {
        size_t f = open[i];
        double x = st->flow_remaining[f];
        two_sum_into(bytes, comp, coflow_sgroup(st, f) - a, x);
        two_sum_into(bytes, comp, coflow_rgroup(st, f) - a, x);
    }
    st->cache_remaining[c] = st->coflow_remaining[c];
    st->cache_open[c] = st->n_open[c];
    return bytes;
}

double coflow_max_or_zero(const double *v, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    /* maxpd(x, m) is x > m ? x : m lane by lane, the select of the loop
     * below, two lanes an instruction (GCC does not vectorize it at -O2).
     * Every running maximum starts at +0 and only grows, so no -0 can
     * make the order of the lanes matter: the same value either way. */
    __m128d m01 = _mm_setzero_pd(), m23 = _mm_setzero_pd();
    for (; i + 4 <= n; i += 4) {
        m01 = _mm_max_pd(_mm_loadu_pd(v + i), m01);
        m23 = _mm_max_pd(_mm_loadu_pd(v + i + 2), m23);
    }
    m01 = _mm_max_pd(m23, m01);
    double m0 = _mm_cvtsd_f64(m01), m1 = _mm_cvtsd_f64(_mm_unpackhi_pd(m01, m01));
    m0 = m1 > m0 ? m1 : m0;
#else
    double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    for (; i + 4 <= n; i += 4) {
        m0 = v[i] > m0 ? v[i] : m0;
        m1 = v[i + 1] > m1 ? v[i + 1] : m1;
        m2 = v[i + 2] > m2 ? v[i + 2] : m2;
        m3 = v[i + 3] > m3 ? v[i + 3] : m3;
    }
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    m0 = m2 > m0 ? m2 : m0;
#endif
    for (; i < n; i++)
        m0 = v[i] > m0 ? v[i] : m0;
    return m0;
}

/* c's remaining bottleneck time from its per-port bytes as they stand. */
static double iso_of_bytes(const coflow_state_t *st, size_t c, const double *bytes)
{
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    if (st->same_cap_out > 0 && st->same_cap_in > 0) { /* one division a side */
        double ts = coflow_max_or_zero(bytes, mid - a) / st->same_cap_out;
        double tr = coflow_max_or_zero(bytes + (mid - a), b - mid) / st->same_cap_in;
        return tr > ts ? tr : ts;
    }
    double worst = 0;
    for (size_t i = a; i < b; i++) {
        double cap = i < mid ? st->fab->cap_out[st->cports[i]] : st->fab->cap_in[st->cports[i]];
        double t = bytes[i - a] / cap;
        if (t > worst)
            worst = t;
    }
    return worst;
}

bool coflow_iso_memo_off = false;

double coflow_state_remaining_iso(coflow_state_t *st, size_t c)
{
    if (st->iso_known && st->iso_known[c] && !coflow_iso_memo_off)
        return st->iso_memo[c];
    double iso = iso_of_bytes(st, c, coflow_state_port_bytes(st, c));
    if (st->iso_known) { /* after port_bytes, whose rebuild forgets c */
        st->iso_memo[c] = iso;
        st->iso_known[c] = 1;
    }
    return iso;
}

weft_err_t coflow_state_keep_iso(coflow_state_t *st)
{
    if (st->iso_known)
        return WEFT_OK;
    size_t nc = st->wl->n_coflows ? st->wl->n_coflows : 1;
    st->iso_memo = weft_calloc(nc, sizeof *st->iso_memo);
    st->iso_known = weft_calloc(nc, sizeof *st->iso_known);
    if (!st->iso_memo || !st->iso_known) {
        free(st->iso_memo);
        free(st->iso_known);
        st->iso_memo = NULL;
        st->iso_known = NULL;
        return weft_fail(WEFT_ENOMEM, "out of memory for the remaining times (%zu coflows)",
                         nc);
    }
    return WEFT_OK;
}

void coflow_state_forget_iso(coflow_state_t *st)
{
    if (st->iso_known)
        memset(st->iso_known, 0, st->wl->n_coflows);
}

bool coflow_state_iso_stale(const coflow_state_t *st, size_t c)
{
    if (!st->iso_known || !st->iso_known[c])
        return false;
    if (!coflow_state_cache_valid(st, c))
        return true;
    double now = iso_of_bytes(st, c, st->cport_bytes + st->cport_start[c]);
    return memcmp(&now, &st->iso_memo[c], sizeof now) != 0;
}
