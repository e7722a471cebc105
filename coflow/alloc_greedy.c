/*
 * alloc_greedy.c - greedy rates by priority (Sincronia, sec. 4): walk the
 * coflows in order and give each open flow all the capacity its two ports
 * have left. Work-conserving: afterwards no open flow of an ordered coflow
 * has free capacity at both of its ports. A coflow whose senders or whose
 * receivers are all full is skipped by its port list alone, so a decision
 * costs the open flows of the coflows that can still move.
 *
 * Also the helpers of alloc_internal.h (the used-capacity convention).
 */
#include "alloc_internal.h"

#include <stdlib.h>

/* Counts the send and receive ports of coflow c with capacity left (ur
 * only when us > 0): a word at a time from the full-port sets, or by
 * scanning its port lists when there are no per-coflow masks. */
static void free_ports(const coflow_state_t *st, size_t c, size_t *us, size_t *ur)
{
    *us = *ur = 0;
    if (st->pmask) {
        const uint32_t *sp = st->pmask_span + 4 * c;
        const uint64_t *m = st->pmask + st->pmask_off[c];
        size_t n = 0;
        for (uint32_t w = 0; w < sp[1]; w++)
            n += (size_t)__builtin_popcountll(m[w] & ~st->full_out[sp[0] + w]);
        if (!n)
            return;
        *us = n;
        m += sp[1];
        n = 0;
        for (uint32_t w = 0; w < sp[3]; w++)
            n += (size_t)__builtin_popcountll(m[w] & ~st->full_in[sp[2] + w]);
        *ur = n;
        return;
    }
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    for (size_t q = a; q < mid; q++)
        *us += !alloc_out_full(st, st->cports[q]);
    for (size_t q = mid; q < b && *us; q++)
        *ur += !alloc_in_full(st, st->cports[q]);
}

bool alloc_coflow_can_move(const coflow_state_t *st, size_t c)
{
    size_t us, ur;
    free_ports(st, c, &us, &ur);
    return us && ur;
}

void alloc_release_ports(coflow_state_t *st)
{
    size_t np = st->fab->n_ports;
    for (size_t i = 0; i < st->n_used_ports; i++) {
        size_t k = st->used_ports[i];
        if (k < np) {
            st->free_out[k] = 0;
            st->full_out[k >> 6] = 0;
        } else {
            st->free_in[k - np] = 0;
            st->full_in[(k - np) >> 6] = 0;
        }
    }
    st->n_used_ports = 0;
}

/* The walk of one port group (below) in one place: the group's port g on
 * the walked side, the flow's other port on the other side. */
typedef struct {
    bool by_src;       /* groups are senders */
    double cap_g, eps_g;
    double *used_g;    /* g's used capacity */
    size_t us, ur;     /* free senders and receivers of the coflow */
} walk_t;

/* Gives open flow f of the group what both its ports have left. Returns
 * true when the group's walk ends (g filled, or one side of the coflow
 * has no free port left). */
static inline bool walk_flow(coflow_state_t *st, walk_t *w, size_t f)
{
    const coflow_flow_t *fl = &st->wl->flows[f];
    uint32_t o = w->by_src ? fl->dst : fl->src;
    double cap_o = w->by_src ? st->fab->cap_in[o] : st->fab->cap_out[o];
    double free_o = cap_o - (w->by_src ? st->free_in[o] : st->free_out[o]);
    double eps_o = COFLOW_RATE_EPS * cap_o;
    if (free_o <= eps_o)
        return false;
    double free_g = w->cap_g - *w->used_g;
    double r = free_g < free_o ? free_g : free_o;
    alloc_add_rate(st, f, r);
    /* count a port once, when this rate fills it */
    bool o_full = free_o - r <= eps_o, g_full = free_g - r <= w->eps_g;
    if (o_full) {
        if (w->by_src)
            w->ur--;
        else
            w->us--;
    }
    if (g_full) {
        if (w->by_src)
            w->us--;
        else
            w->ur--;
        return true;
    }
    return !w->us || !w->ur;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void sort_positions(size_t *v, size_t n)
{
    if (n > 24) {
        qsort(v, n, sizeof *v, cmp_size);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: a few ports */
        size_t x = v[i], j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* True if some port of one side of coflow c (words [base, base + nw) of
 * its sets, from fabric word w0) has an open flow and room left. */
static bool side_has_room(const coflow_state_t *st, size_t base, uint32_t w0, uint32_t nw,
                          const uint64_t *full)
{
    for (uint32_t w = 0; w < nw; w++)
        if (st->popen[base + w] & ~full[w0 + w])
            return true;
    return false;
}

/* Lists the local positions (cports position - lo) of the ports whose bits
 * are set in words[0 .. nw) over fabric words from w0, for one side of a
 * coflow (sets from base, local positions from port_local[lo ..)), sorted,
 * i.e. in cports order. Returns how many. */
static size_t list_local(const coflow_state_t *st, const uint64_t *words, const uint64_t *full,
                         size_t base, uint32_t w0, uint32_t nw, size_t lo, size_t *out)
{
    size_t n = 0;
    for (uint32_t w = 0; w < nw; w++) {
        uint64_t bits = words[w] & ~full[w0 + w], all = st->pmask[base + w];
        while (bits) {
            uint64_t low = bits & (~bits + 1);
            size_t rank = st->prank[base + w] + (size_t)__builtin_popcountll(all & (low - 1));
            out[n++] = st->port_local[lo + rank];
            bits ^= low;
        }
    }
    sort_positions(out, n);
    return n;
}

/* Within a coflow every rate given fills one of its ports, so once all its
 * senders or all its receivers are full the rest of its flows get nothing:
 * the walk stops there.
 *
 * With the port and group sets (coflow.h) a coflow none of whose open flows
 * has room at both ports is passed over a word at a time, and a group's
 * walk visits only its open flows whose other port has room, found as the
 * group's set minus the full ports, in group order: the same flows, rates
 * and order as the plain walk below, which visits the blocked flows too. */
void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const double *cap_out = st->fab->cap_out, *cap_in = st->fab->cap_in;
    size_t *glist = st->touched, *cand = st->touched + st->fab->n_ports;
    for (size_t i = 0; i < n; i++) {
        size_t c = order[i];
        const uint32_t *sp = st->pmask ? st->pmask_span + 4 * c : NULL;
        size_t off = st->pmask ? st->pmask_off[c] : 0;
        if (sp && (!side_has_room(st, off, sp[0], sp[1], st->full_out) ||
                   !side_has_room(st, off + sp[1], sp[2], sp[3], st->full_in)))
            continue; /* no open flow with room at its sender and receiver */
        walk_t w;
        free_ports(st, c, &w.us, &w.ur);
        if (!w.us || !w.ur)
            continue;
        /* Walk the coflow's flows port group by port group, from the side
         * whose free ports times the other side's width is smaller (FB
         * mappers fill long before reducers): a full port's group is
         * skipped at once and a group's walk stops when its port fills, so
         * a blocked coflow costs about its ports, not its flows. */
        const coflow_coflow_t *co = &wl->coflows[c];
        w.by_src = (double)w.us * co->n_receivers < (double)w.ur * co->n_senders;
        bool by_src = w.by_src;
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        size_t lo = by_src ? a : mid, hi = by_src ? mid : b;
        const size_t *grp = by_src ? st->sflows : st->rflows;
        const size_t *start = by_src ? st->sstart : st->rstart;
        const uint32_t *open = by_src ? st->sopen : st->ropen;
        size_t pairs = st->pair_off[c];
        if (sp && pairs != SIZE_MAX) {
            size_t olo = by_src ? mid : a;
            size_t wbase = off + (by_src ? 0 : sp[1]), obase = off + (by_src ? sp[1] : 0);
            uint32_t ws0 = by_src ? sp[0] : sp[2], wnw = by_src ? sp[1] : sp[3];
            uint32_t os0 = by_src ? sp[2] : sp[0], onw = by_src ? sp[3] : sp[1];
            const uint64_t *wfull = by_src ? st->full_out : st->full_in;
            const uint64_t *ofull = by_src ? st->full_in : st->full_out;
            const uint32_t *gpos = by_src ? st->spos : st->rpos;
            /* The walked side's ports with room and an open flow, listed
             * when they are few, else found by scanning the side; a
             * group's port fills only through its own flows, so the list
             * stays valid during the walk. */
            size_t ng = 0;
            for (uint32_t x = 0; x < wnw; x++)
                ng += (size_t)__builtin_popcountll(st->popen[wbase + x] & ~wfull[ws0 + x]);
            bool listed = 8 * ng < hi - lo;
            if (listed)
                ng = list_local(st, st->popen + wbase, wfull, wbase, ws0, wnw, lo, glist);
            else
                ng = hi - lo;
            for (size_t x = 0; x < ng && w.us && w.ur; x++) {
                size_t gi = listed ? glist[x] : x, q = lo + gi;
                uint32_t g = st->cports[q];
                if (!listed && (open[q] == 0 || ((wfull[g >> 6] >> (g & 63)) & 1)))
                    continue;
                const uint64_t *gm = st->gmask + st->gmask_off[q];
                size_t room = 0; /* open flows of the group whose other port has room */
                for (uint32_t y = 0; y < onw; y++)
                    room += (size_t)__builtin_popcountll(gm[y] & ~ofull[os0 + y]);
                if (room == 0)
                    continue;
                w.cap_g = by_src ? cap_out[g] : cap_in[g];
                w.used_g = by_src ? &st->free_out[g] : &st->free_in[g];
                w.eps_g = COFLOW_RATE_EPS * w.cap_g;
                if (room > 8) { /* many: the plain walk meets one soon */
                    for (size_t k = start[q], end = start[q] + open[q]; k < end; k++)
                        if (walk_flow(st, &w, grp[k]))
                            break;
                    continue;
                }
                size_t nc = list_local(st, gm, ofull, obase, os0, onw, olo, cand);
                for (size_t k = 0; k < nc; k++) { /* other-side position -> flow */
                    size_t j = cand[k];
                    size_t cell = by_src ? gi * co->n_receivers + j : j * co->n_receivers + gi;
                    cand[k] = gpos[st->pair_flow[pairs + cell] - 1];
                }
                sort_positions(cand, nc); /* group order */
                for (size_t k = 0; k < nc; k++)
                    if (walk_flow(st, &w, grp[cand[k]]))
                        break;
            }
            continue;
        }
        for (size_t q = lo; q < hi && w.us && w.ur; q++) {
            uint32_t g = st->cports[q];
            if (by_src ? alloc_out_full(st, g) : alloc_in_full(st, g))
                continue;
            w.cap_g = by_src ? cap_out[g] : cap_in[g];
            w.used_g = by_src ? &st->free_out[g] : &st->free_in[g];
            w.eps_g = COFLOW_RATE_EPS * w.cap_g;
            for (size_t k = start[q], end = start[q] + open[q]; k < end; k++)
                if (walk_flow(st, &w, grp[k]))
                    break;
        }
    }
}

static void greedy_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    alloc_greedy_pass(st, order, n);
    alloc_release_ports(st);
}

const coflow_allocator_t coflow_alloc_greedy = {
    .work_conserving = true,
    .name = "greedy",
    .description = "by priority, each flow takes all its ports have left (Sincronia)",
    .allocate = greedy_allocate,
};
