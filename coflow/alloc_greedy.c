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
#include <string.h>

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
    uint32_t g;        /* the group's port */
    double cap_g, eps_g;
    double *used_g;    /* g's used capacity */
    size_t us, ur;     /* free senders and receivers of the coflow */
    struct coflow_greedy_memo *memo; /* records the rates given, or NULL */
} walk_t;

/* Appends (f, r) to this pass's segments; on overflow the pass is marked
 * unrecorded, so the next one walks everything. */
static inline void memo_push(const coflow_state_t *st, struct coflow_greedy_memo *m, size_t f,
                             double r)
{
    if (m->seg_n == m->seg_cap) {
        m->overflow = true;
        return;
    }
    m->seg_flow[m->cur][m->seg_n] = f;
    m->seg_rate[m->cur][m->seg_n++] = r;
    /* note where its ports filled (memo_cleanse) */
    const coflow_flow_t *fl = &st->wl->flows[f];
    size_t np = st->fab->n_ports, ks = fl->src, kd = np + fl->dst;
    uint32_t *fa = m->fa[m->cur];
    uint64_t *fp = m->fa_pass[m->cur];
    if (fp[ks] != m->pass && ((st->full_out[fl->src >> 6] >> (fl->src & 63)) & 1))
        fp[ks] = m->pass, fa[ks] = m->at;
    if (fp[kd] != m->pass && ((st->full_in[fl->dst >> 6] >> (fl->dst & 63)) & 1))
        fp[kd] = m->pass, fa[kd] = m->at;
}

/* Gives open flow f of the group, whose other port is o, what both its ports have left. Returns
 * true when the group's walk ends (g filled, or one side of the coflow
 * has no free port left). */
static inline __attribute__((always_inline)) bool walk_flow(coflow_state_t *st, walk_t *w, size_t f,
                                                            uint32_t o)
{
    double cap_o = w->by_src ? st->fab->cap_in[o] : st->fab->cap_out[o];
    double free_o = cap_o - (w->by_src ? st->free_in[o] : st->free_out[o]);
    double eps_o = COFLOW_RATE_EPS * cap_o;
    if (free_o <= eps_o)
        return false;
    double free_g = w->cap_g - *w->used_g;
    double r = free_g < free_o ? free_g : free_o;
    if (w->by_src)
        alloc_add_rate_at(st, f, w->g, o, r);
    else
        alloc_add_rate_at(st, f, o, w->g, r);
    if (w->memo)
        memo_push(st, w->memo, f, r);
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

/* One coflow's walk: what every group of it needs. */
typedef struct {
    walk_t w;
    const coflow_coflow_t *co;
    bool matrix;               /* port and group sets and a pair matrix */
    size_t lo, hi;             /* walked side: cports positions [lo, hi) */
    size_t olo, wbase, obase, pairs;
    uint32_t ws0, wnw, os0, onw;
    const coflow_member_t *grp;
    const size_t *start;
    const uint32_t *open, *gpos;
    const uint64_t *wfull, *ofull;
} cwalk_t;

/* Sets up the walk of coflow c; false when none of its flows can move
 * (all its senders or all its receivers full). */
static bool walk_begin(coflow_state_t *st, size_t c, cwalk_t *cw, struct coflow_greedy_memo *memo)
{
    const uint32_t *sp = st->pmask ? st->pmask_span + 4 * c : NULL;
    size_t off = st->pmask ? st->pmask_off[c] : 0;
    if (sp && (!side_has_room(st, off, sp[0], sp[1], st->full_out) ||
               !side_has_room(st, off + sp[1], sp[2], sp[3], st->full_in)))
        return false; /* no open flow with room at its sender and receiver */
    walk_t *w = &cw->w;
    w->memo = memo;
    free_ports(st, c, &w->us, &w->ur);
    if (!w->us || !w->ur)
        return false;
    /* Walk the coflow's flows port group by port group, from the side
     * whose free ports times the other side's width is smaller (FB
     * mappers fill long before reducers): a full port's group is
     * skipped at once and a group's walk stops when its port fills, so
     * a blocked coflow costs about its ports, not its flows. */
    const coflow_coflow_t *co = &st->wl->coflows[c];
    cw->co = co;
    w->by_src = (double)w->us * co->n_receivers < (double)w->ur * co->n_senders;
    bool by_src = w->by_src;
    size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
    cw->lo = by_src ? a : mid;
    cw->hi = by_src ? mid : b;
    cw->grp = by_src ? st->smembers : st->rmembers;
    cw->start = by_src ? st->sstart : st->rstart;
    cw->open = by_src ? st->sopen : st->ropen;
    cw->wfull = by_src ? st->full_out : st->full_in;
    cw->ofull = by_src ? st->full_in : st->full_out;
    cw->pairs = st->pair_off[c];
    cw->matrix = sp && cw->pairs != SIZE_MAX;
    if (cw->matrix) {
        cw->olo = by_src ? mid : a;
        cw->wbase = off + (by_src ? 0 : sp[1]);
        cw->obase = off + (by_src ? sp[1] : 0);
        cw->ws0 = by_src ? sp[0] : sp[2];
        cw->wnw = by_src ? sp[1] : sp[3];
        cw->os0 = by_src ? sp[2] : sp[0];
        cw->onw = by_src ? sp[3] : sp[1];
        cw->gpos = by_src ? st->spos : st->rpos;
    }
    return true;
}

/* The walk of the group at walked-side local position gi: each of its
 * open flows whose other port has room, in group order, until its port
 * fills. */
static inline __attribute__((always_inline)) void walk_group(coflow_state_t *st, cwalk_t *cw,
                                                             size_t gi)
{
    walk_t *w = &cw->w;
    size_t q = cw->lo + gi;
    uint32_t g = st->cports[q];
    if (cw->open[q] == 0 || ((cw->wfull[g >> 6] >> (g & 63)) & 1))
        return;
    const uint64_t *ofull = cw->ofull;
    const coflow_member_t *grp = cw->grp;
    size_t first = cw->start[q], end = first + cw->open[q];
    w->cap_g = w->by_src ? st->fab->cap_out[g] : st->fab->cap_in[g];
    w->used_g = w->by_src ? &st->free_out[g] : &st->free_in[g];
    w->g = g;
    w->eps_g = COFLOW_RATE_EPS * w->cap_g;
    if (cw->matrix) {
        const uint64_t *gm = st->gmask + st->gmask_off[q];
        size_t room = 0; /* open flows of the group whose other port has room */
        for (uint32_t y = 0; y < cw->onw; y++)
            room += (size_t)__builtin_popcountll(gm[y] & ~ofull[cw->os0 + y]);
        if (room == 0)
            return;
    }
    for (size_t k = first; k < end; k++) {
        uint32_t o = grp[k].other; /* a full other port: walk_flow would pass */
        if (((ofull[o >> 6] >> (o & 63)) & 1) == 0 && walk_flow(st, w, grp[k].flow, o))
            return;
    }
}

/* Records that the group at cports position q gave this pass's segment
 * entries [s, seg_n), relative to its coflow's segment start base. */
static inline void memo_group(struct coflow_greedy_memo *m, const cwalk_t *cw, size_t q,
                              size_t base, size_t s)
{
    m->goff[q] = (uint32_t)(s - base);
    m->glen[q] = (uint32_t)(m->seg_n - s);
    m->gopen_at[q] = cw->open[q];
}

/* Within a coflow every rate given fills one of its ports, so once all its
 * senders or all its receivers are full the rest of its flows get nothing:
 * the walk stops there.
 *
 * With the port and group sets (coflow.h) a coflow none of whose open flows
 * has room at both ports is passed over a word at a time, and a group's
 * walk visits only its open flows whose other port has room, found as the
 * group's set minus the full ports, in group order: the same flows, rates
 * and order as the plain walk, which visits the blocked flows too. With a
 * memo, every group's entries are recorded (memo_group). */
static inline __attribute__((always_inline)) void walk_coflow(coflow_state_t *st, size_t c,
                                                              struct coflow_greedy_memo *memo)
{
    cwalk_t cw;
    if (!walk_begin(st, c, &cw, memo))
        return;
    walk_t *w = &cw.w;
    size_t base = memo ? memo->seg_n : 0;
    if (memo) {
        for (size_t q = cw.lo; q < cw.hi; q++)
            memo->glen[q] = 0, memo->gopen_at[q] = cw.open[q];
        memo->by_src_at[c] = w->by_src;
        memo->grp_pass[c] = cw.matrix ? memo->pass : 0;
    }
    if (!cw.matrix) {
        for (size_t gi = 0; gi < cw.hi - cw.lo && w->us && w->ur; gi++)
            walk_group(st, &cw, gi);
        return;
    }
    /* The walked side's ports with room and an open flow, listed when
     * they are few, else found by scanning the side; a group's port fills
     * only through its own flows, so the list stays valid during the
     * walk. */
    size_t *glist = st->touched;
    size_t ng = 0;
    for (uint32_t x = 0; x < cw.wnw; x++)
        ng += (size_t)__builtin_popcountll(st->popen[cw.wbase + x] & ~cw.wfull[cw.ws0 + x]);
    bool listed = 8 * ng < cw.hi - cw.lo;
    if (listed)
        ng = list_local(st, st->popen + cw.wbase, cw.wfull, cw.wbase, cw.ws0, cw.wnw, cw.lo,
                        glist);
    else
        ng = cw.hi - cw.lo;
    for (size_t x = 0; x < ng && w->us && w->ur; x++) {
        size_t gi = listed ? glist[x] : x, s = memo ? memo->seg_n : 0;
        walk_group(st, &cw, gi);
        if (memo)
            memo_group(memo, &cw, cw.lo + gi, base, s);
    }
}

/* The pass from zero and the incremental one's full walk, each compiled
 * with its memo known (NULL: no recording at all). */
static void walk_coflow_plain(coflow_state_t *st, size_t c) { walk_coflow(st, c, NULL); }

static void walk_coflow_memo(coflow_state_t *st, size_t c, struct coflow_greedy_memo *memo)
{
    walk_coflow(st, c, memo);
}

/* ------------------------------------------------- incremental greedy */

/* Port p's send (out) or receive side as one index: p, or n_ports + p. */
static inline void mark_dirty(struct coflow_greedy_memo *m, size_t np, size_t k)
{
    uint64_t *set = k < np ? m->dirty_out : m->dirty_in;
    size_t p = k < np ? k : k - np;
    set[p >> 6] |= (uint64_t)1 << (p & 63);
}

/* Both ports of flow f dirty. */
static inline void mark_flow_dirty(const coflow_state_t *st, struct coflow_greedy_memo *m,
                                   size_t f)
{
    const coflow_flow_t *fl = &st->wl->flows[f];
    m->dirty_out[fl->src >> 6] |= (uint64_t)1 << (fl->src & 63);
    m->dirty_in[fl->dst >> 6] |= (uint64_t)1 << (fl->dst & 63);
}

static inline double used_of(const coflow_state_t *st, size_t k)
{
    size_t np = st->fab->n_ports;
    return k < np ? st->free_out[k] : st->free_in[k - np];
}

/* True if some port of coflow c is dirty: a word at a time from its port
 * sets, or by its port list. O(words or distinct ports of c). */
static bool ports_dirty(const coflow_state_t *st, const struct coflow_greedy_memo *m, size_t c)
{
    if (st->pmask) {
        const uint32_t *sp = st->pmask_span + 4 * c;
        const uint64_t *pm = st->pmask + st->pmask_off[c];
        uint64_t any = 0;
        for (uint32_t w = 0; w < sp[1]; w++)
            any |= pm[w] & m->dirty_out[sp[0] + w];
        pm += sp[1];
        for (uint32_t w = 0; w < sp[3]; w++)
            any |= pm[w] & m->dirty_in[sp[2] + w];
        return any != 0;
    }
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    for (size_t q = a; q < b; q++) {
        uint32_t p = st->cports[q];
        const uint64_t *set = q < mid ? m->dirty_out : m->dirty_in;
        if ((set[p >> 6] >> (p & 63)) & 1)
            return true;
    }
    return false;
}

/* Starts a pass over order[0..n): the dirty ports at its start (use before
 * the pass that differs from the last pass's; old segments of the coflows
 * gone from the order or moved against the ones before them). O(active
 * coflows + ports used before the pass + those segments). */
static void memo_begin(coflow_state_t *st, struct coflow_greedy_memo *m, const size_t *order,
                       size_t n)
{
    size_t np = st->fab->n_ports;
    uint64_t pass = ++m->pass;
    memset(m->dirty_out, 0, (st->n_port_words + 1) * sizeof *m->dirty_out);
    memset(m->dirty_in, 0, (st->n_port_words + 1) * sizeof *m->dirty_in);
    m->cur ^= 1;
    m->seg_n = 0;
    m->overflow = false;
    /* the use before the pass, against the last pass's */
    for (size_t i = 0; i < m->n_init; i++) {
        size_t k = m->init_list[i];
        if (used_of(st, k) != m->init_val[k])
            mark_dirty(m, np, k);
        m->init_val[k] = 0;
    }
    for (size_t i = 0; i < st->n_used_ports; i++) {
        size_t k = st->used_ports[i];
        if (m->init_val[k] != used_of(st, k))
            mark_dirty(m, np, k); /* none before, or another value */
    }
    for (size_t i = 0; i < st->n_used_ports; i++) {
        size_t k = st->used_ports[i];
        m->init_val[k] = used_of(st, k);
        m->init_list[i] = (uint32_t)k;
        size_t p = k < np ? k : k - np;
        if (((k < np ? st->full_out : st->full_in)[p >> 6] >> (p & 63)) & 1) {
            m->fa_pass[m->cur][k] = pass; /* full before the first coflow */
            m->fa[m->cur][k] = 0;
        }
    }
    m->n_init = st->n_used_ports;
    if (!m->valid)
        return; /* every coflow is walked */
    /* A coflow that was in the last pass keeps its place unless one before
     * it now came after it then: those whose old position is below the
     * largest seen so far moved. */
    size_t top = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        size_t c = order[i];
        m->in_pass[c] = pass;
        if (m->pos_pass[c] != pass - 1)
            continue;
        if (any && m->pos[c] < top)
            m->moved_pass[c] = pass;
        else {
            top = m->pos[c];
            any = true;
        }
    }
    const size_t *of = m->seg_flow[m->cur ^ 1];
    for (size_t i = 0; i < m->prev_n; i++) {
        size_t c = m->prev_order[i];
        if (m->in_pass[c] == pass && m->moved_pass[c] != pass)
            continue;
        for (size_t k = m->seg_start[c], e = k + m->seg_len[c]; k < e; k++)
            mark_flow_dirty(st, m, of[k]);
    }
}

/* Port k's use is as good as clean at the entry of coflow c when it is
 * full now and was full at c's entry in the last pass: a full port gives
 * nothing and takes nothing, whatever its exact use. Clears the dirty bits
 * of c's ports that are so; each stays clean for the rest of the pass (no
 * entry of a later coflow can touch a port full in both). O(words of c +
 * those ports). */
static void memo_cleanse(const coflow_state_t *st, struct coflow_greedy_memo *m, size_t c)
{
    if (!st->pmask || m->pos_pass[c] != m->pass - 1)
        return;
    size_t np = st->fab->n_ports, at = m->pos[c] + 1;
    const uint32_t *fa = m->fa[m->cur ^ 1];
    const uint64_t *fp = m->fa_pass[m->cur ^ 1];
    const uint32_t *sp = st->pmask_span + 4 * c;
    const uint64_t *pm = st->pmask + st->pmask_off[c];
    for (int side = 0; side < 2; side++) {
        uint64_t *dirty = side ? m->dirty_in : m->dirty_out;
        const uint64_t *full = side ? st->full_in : st->full_out;
        uint32_t w0 = sp[2 * side], nw = sp[2 * side + 1];
        for (uint32_t w = 0; w < nw; w++) {
            uint64_t bits = pm[w] & dirty[w0 + w] & full[w0 + w];
            while (bits) {
                uint64_t low = bits & (~bits + 1);
                size_t p = 64 * (size_t)(w0 + w) + (size_t)__builtin_ctzll(low);
                size_t k = side ? np + p : p;
                if (fp[k] == m->pass - 1 && fa[k] < at) /* full before c then */
                    dirty[w0 + w] &= ~low;
                bits ^= low;
            }
        }
        pm += nw;
    }
}

/* True if coflow c may get its last segment again: it was in the last
 * pass, did not move, has the same open flows (flows only ever close, so
 * the same count is the same set) and none of its ports is dirty; and this
 * pass's segments are complete so far (after an overflow the comparisons
 * miss pairs, so every later coflow is walked). */
static bool memo_can_replay(const coflow_state_t *st, const struct coflow_greedy_memo *m,
                            size_t c)
{
    return m->valid && !m->overflow && m->pos_pass[c] == m->pass - 1 &&
           m->moved_pass[c] != m->pass &&
           m->n_open_at[c] == st->n_open[c] && !ports_dirty(st, m, c);
}

/* Gives c its last segment again, in the same order. */
static void memo_replay(coflow_state_t *st, struct coflow_greedy_memo *m, size_t c)
{
    const size_t *of = m->seg_flow[m->cur ^ 1];
    const double *orate = m->seg_rate[m->cur ^ 1];
    for (size_t k = m->seg_start[c], e = k + m->seg_len[c]; k < e; k++) {
        alloc_add_rate(st, of[k], orate[k]);
        memo_push(st, m, of[k], orate[k]);
    }
}

static inline bool flow_open(const coflow_state_t *st, size_t f, size_t c)
{
    return st->status[c] == COFLOW_ACTIVE &&
           st->open_pos[f] < st->wl->coflows[c].first_flow + st->n_open[c];
}

/* After c was walked, its segment this pass starts at s0: matches it in
 * order against its old one (the same flow with the same rate) and marks
 * the ports of every pair left unmatched dirty. A port none of whose pairs
 * is unmatched received the same additions in the same order. */
static void memo_compare_range(coflow_state_t *st, struct coflow_greedy_memo *m, size_t c,
                               size_t i, size_t ni, size_t j)
{
    const size_t *nf = m->seg_flow[m->cur], *of = m->seg_flow[m->cur ^ 1];
    const double *nr = m->seg_rate[m->cur], *orate = m->seg_rate[m->cur ^ 1];
    size_t nj = m->seg_n;
    while (i < ni && j < nj) {
        if (of[i] == nf[j] && orate[i] == nr[j]) {
            i++, j++;
        } else if (of[i] == nf[j]) {
            mark_flow_dirty(st, m, of[i++]);
            j++;
        } else if (!flow_open(st, of[i], c)) {
            mark_flow_dirty(st, m, of[i++]); /* it finished */
        } else {
            mark_flow_dirty(st, m, nf[j++]);
        }
    }
    for (; i < ni; i++)
        mark_flow_dirty(st, m, of[i]);
    for (; j < nj; j++)
        mark_flow_dirty(st, m, nf[j]);
}

static void memo_compare(coflow_state_t *st, struct coflow_greedy_memo *m, size_t c, size_t s0)
{
    size_t i = 0, ni = 0;
    if (m->valid && m->pos_pass[c] == m->pass - 1) {
        i = m->seg_start[c];
        ni = i + m->seg_len[c];
    }
    memo_compare_range(st, m, c, i, ni, s0);
}

/* True if the group at cports position q of the coflow being walked (cw)
 * may get its last entries again: its port and the other ports of its open
 * flows are clean and it has the same open flows. O(words of the other
 * side). */
static bool group_clean(const coflow_state_t *st, const struct coflow_greedy_memo *m,
                        const cwalk_t *cw, size_t q)
{
    if (m->gopen_at[q] != cw->open[q])
        return false;
    uint32_t g = st->cports[q];
    const uint64_t *wd = cw->w.by_src ? m->dirty_out : m->dirty_in;
    const uint64_t *od = cw->w.by_src ? m->dirty_in : m->dirty_out;
    if ((wd[g >> 6] >> (g & 63)) & 1)
        return false;
    const uint64_t *gm = st->gmask + st->gmask_off[q];
    uint64_t any = 0;
    for (uint32_t y = 0; y < cw->onw; y++)
        any |= gm[y] & od[cw->os0 + y];
    return any == 0;
}

static inline void bit_set(uint64_t *set, size_t i) { set[i >> 6] |= (uint64_t)1 << (i & 63); }

/* Adds to the worklist lw (bits over walked-side local positions, i.e.
 * walk order) the groups of cw's coflow whose ports are set in
 * words[0 .. wnw) (bits by port over the walked side's words). */
static void add_groups(const coflow_state_t *st, const cwalk_t *cw, const uint64_t *words,
                       uint64_t *lw)
{
    for (uint32_t w = 0; w < cw->wnw; w++) {
        uint64_t bits = words[w], all = st->pmask[cw->wbase + w];
        while (bits) {
            uint64_t low = bits & (~bits + 1);
            size_t rank = st->prank[cw->wbase + w] + (size_t)__builtin_popcountll(all & (low - 1));
            bit_set(lw, st->port_local[cw->lo + rank]);
            bits ^= low;
        }
    }
}

/* If the other-side port of flow f (cw's walk) is dirty and not yet seen
 * (bits by port in seen, from the other side's first word): every group
 * with an open flow to it goes on the worklist lw. */
static void add_groups_of_other(const coflow_state_t *st, const struct coflow_greedy_memo *m,
                                const cwalk_t *cw, size_t f, uint64_t *lw, uint64_t *seen)
{
    bool by_src = cw->w.by_src;
    uint32_t o = by_src ? st->wl->flows[f].dst : st->wl->flows[f].src;
    const uint64_t *od = by_src ? m->dirty_in : m->dirty_out;
    uint64_t bit = (uint64_t)1 << (o & 63);
    size_t w = (o >> 6) - cw->os0;
    if (!(od[o >> 6] & bit) || (seen[w] & bit))
        return;
    seen[w] |= bit;
    size_t qo = by_src ? st->rgroup[f] : st->sgroup[f];
    add_groups(st, cw, st->gmask + st->gmask_off[qo], lw);
}

/* Coflow c walked group by group: it was walked with its groups recorded
 * in the last pass, from the same side, and has not moved. Each group
 * keeps a record: its entries and its open flows when last walked, valid
 * for the last pass's inputs. A worklist (bits over the groups, in walk
 * order) holds the groups that may give something else: those with
 * entries, those a flow left since (their order changed), and the free
 * ones (room and an open flow) whose port is dirty or that have an open
 * flow to a dirty port of the other side, including ports that become
 * dirty while c is walked (its groups share the other side's ports). A clean group on it
 * gets its entries again, any other is walked and its entries compared
 * with its last ones (memo_compare_range). Every other group is full or
 * empty, or clean with no entries: it gives nothing, as its record says.
 * Returns false, having done nothing, when c does not qualify. */
static bool walk_coflow_groups(coflow_state_t *st, struct coflow_greedy_memo *m, size_t c)
{
    if (!m->valid || m->overflow || m->pos_pass[c] != m->pass - 1 ||
        m->moved_pass[c] == m->pass || m->grp_pass[c] != m->pass - 1)
        return false;
    cwalk_t cw;
    bool moves = walk_begin(st, c, &cw, m);
    if (!moves || !cw.matrix || cw.w.by_src != m->by_src_at[c])
        return false;
    const size_t *of = m->seg_flow[m->cur ^ 1];
    const double *orate = m->seg_rate[m->cur ^ 1];
    size_t base = m->seg_n, obase = m->seg_start[c], oend = obase + m->seg_len[c];
    size_t ng = cw.hi - cw.lo, nlw = (ng + 63) / 64;
    uint64_t *lw = m->cand_local;
    bool closed = m->n_open_at[c] != st->n_open[c];
    const uint64_t *wd = cw.w.by_src ? m->dirty_out : m->dirty_in;
    const uint64_t *od = cw.w.by_src ? m->dirty_in : m->dirty_out;
    memset(lw, 0, nlw * sizeof *lw);
    if (closed) /* the groups a flow left since (open counts differ) */
        for (size_t gi = 0; gi < ng; gi++)
            if (m->gopen_at[cw.lo + gi] != cw.open[cw.lo + gi])
                bit_set(lw, gi);
    {
        uint64_t *cb = m->cand_bits;
        for (uint32_t w = 0; w < cw.wnw; w++)
            cb[w] = st->popen[cw.wbase + w] & wd[cw.ws0 + w] & ~cw.wfull[cw.ws0 + w];
        for (uint32_t w = 0; w < cw.onw; w++) {
            uint64_t bits = st->popen[cw.obase + w] & od[cw.os0 + w],
                     all = st->pmask[cw.obase + w];
            while (bits) { /* a dirty other-side port: the groups with a flow to it */
                uint64_t low = bits & (~bits + 1);
                size_t rank = st->prank[cw.obase + w] + (size_t)__builtin_popcountll(all & (low - 1));
                const uint64_t *gm = st->gmask + st->gmask_off[cw.olo + st->port_local[cw.olo + rank]];
                for (uint32_t y = 0; y < cw.wnw; y++)
                    cb[y] |= gm[y];
                bits ^= low;
            }
        }
        add_groups(st, &cw, cb, lw);
        for (uint32_t w = 0; w < cw.onw; w++) /* now the other side's ports seen */
            cb[w] = st->popen[cw.obase + w] & od[cw.os0 + w];
        for (size_t k = obase; k < oend; k++)
            bit_set(lw, (cw.w.by_src ? st->sgroup : st->rgroup)[of[k]] - cw.lo);
    }
    for (size_t wi = 0; wi < nlw; wi++) {
        while (lw[wi]) {
            uint64_t low = lw[wi] & (~lw[wi] + 1);
            lw[wi] ^= low;
            size_t gi = 64 * wi + (size_t)__builtin_ctzll(low), q = cw.lo + gi;
            if (gi >= ng)
                break;
            uint32_t g = st->cports[q];
            size_t s = m->seg_n, i = obase + m->goff[q], ni = i + m->glen[q];
            if (m->glen[q] == 0)
                i = ni = 0;
            if (ni == 0 && (cw.open[q] == 0 || ((cw.wfull[g >> 6] >> (g & 63)) & 1))) {
                m->gopen_at[q] = cw.open[q]; /* full or empty: nothing, as before */
                continue;
            }
            if (group_clean(st, m, &cw, q)) {
                for (size_t e = i; e < ni; e++) {
                    alloc_add_rate(st, of[e], orate[e]);
                    memo_push(st, m, of[e], orate[e]);
                }
            } else {
                walk_group(st, &cw, gi);
                memo_compare_range(st, m, c, i, ni, s);
                /* ports this made dirty put the later groups sharing them
                   on the worklist (the earlier bits are already cleared
                   or behind: only later ones are picked up) */
                for (size_t e = i; e < ni; e++)
                    add_groups_of_other(st, m, &cw, of[e], lw, m->cand_bits);
                for (size_t e = s; e < m->seg_n; e++)
                    add_groups_of_other(st, m, &cw, m->seg_flow[m->cur][e], lw, m->cand_bits);
                lw[wi] &= ~((low << 1) - 1); /* never revisit this or earlier */
            }
            memo_group(m, &cw, q, base, s);
        }
    }
    m->grp_pass[c] = m->pass;
    return true;
}

/* Ends a pass over order[0..n): its order and segments become the last
 * pass's. */
static void memo_end(struct coflow_greedy_memo *m, const size_t *order, size_t n)
{
    memcpy(m->prev_order, order, n * sizeof *order);
    m->prev_n = n;
    for (size_t i = 0; i < n; i++) {
        m->pos[order[i]] = i;
        m->pos_pass[order[i]] = m->pass;
    }
    m->valid = !m->overflow;
}

void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n)
{
    struct coflow_greedy_memo *m = st->greedy_memo;
    if (!m) {
        for (size_t i = 0; i < n; i++)
            walk_coflow_plain(st, order[i]);
        return;
    }
    memo_begin(st, m, order, n);
    for (size_t i = 0; i < n; i++) {
        size_t c = order[i], s0 = m->seg_n;
        m->at = (uint32_t)(i + 1); /* ports filling now fill "at" coflow i */
        memo_cleanse(st, m, c);
        if (memo_can_replay(st, m, c)) {
            memo_replay(st, m, c);
            if (m->grp_pass[c] == m->pass - 1)
                m->grp_pass[c] = m->pass; /* its group records hold */
            m->n_replayed++;
        } else if (walk_coflow_groups(st, m, c)) {
            m->n_grouped++;
        } else {
            walk_coflow_memo(st, c, m);
            m->n_walked++;
            memo_compare(st, m, c, s0);
        }
        /* written after the comparison, which reads the old segment */
        m->seg_start[c] = s0;
        m->seg_len[c] = m->seg_n - s0;
        m->n_open_at[c] = st->n_open[c];
    }
    memo_end(m, order, n);
}

void coflow_greedy_memo_free(struct coflow_greedy_memo *m)
{
    if (!m)
        return;
    free(m->prev_order);
    free(m->pos);
    free(m->pos_pass);
    free(m->in_pass);
    free(m->moved_pass);
    free(m->n_open_at);
    free(m->seg_start);
    free(m->seg_len);
    for (int k = 0; k < 2; k++) {
        free(m->seg_flow[k]);
        free(m->seg_rate[k]);
    }
    free(m->dirty_out);
    free(m->dirty_in);
    free(m->init_val);
    free(m->init_list);
    free(m->by_src_at);
    free(m->grp_pass);
    free(m->goff);
    free(m->glen);
    free(m->gopen_at);
    free(m->cand_bits);
    free(m->cand_local);
    for (int k = 0; k < 2; k++) {
        free(m->fa[k]);
        free(m->fa_pass[k]);
    }
    free(m);
}

weft_err_t coflow_state_keep_greedy(coflow_state_t *st)
{
    if (st->greedy_memo)
        return WEFT_OK;
    size_t nc = st->wl->n_coflows, np = st->fab->n_ports;
    struct coflow_greedy_memo *m = weft_calloc(1, sizeof *m);
    if (!m)
        return weft_fail(WEFT_ENOMEM, "out of memory for the incremental greedy");
    /* A pass rates a flow only by filling one of its ports, and a full
     * port takes nothing more: at most 2 n_ports (flow, rate) pairs. */
    m->seg_cap = 2 * np + 2;
    size_t ncx = nc ? nc : 1;
    m->prev_order = weft_calloc(ncx, sizeof *m->prev_order);
    m->pos = weft_calloc(ncx, sizeof *m->pos);
    m->pos_pass = weft_calloc(ncx, sizeof *m->pos_pass);
    m->in_pass = weft_calloc(ncx, sizeof *m->in_pass);
    m->moved_pass = weft_calloc(ncx, sizeof *m->moved_pass);
    m->n_open_at = weft_calloc(ncx, sizeof *m->n_open_at);
    m->seg_start = weft_calloc(ncx, sizeof *m->seg_start);
    m->seg_len = weft_calloc(ncx, sizeof *m->seg_len);
    bool ok = m->prev_order && m->pos && m->pos_pass && m->in_pass && m->moved_pass &&
              m->n_open_at && m->seg_start && m->seg_len;
    for (int k = 0; k < 2; k++) {
        m->seg_flow[k] = weft_calloc(m->seg_cap, sizeof *m->seg_flow[k]);
        m->seg_rate[k] = weft_calloc(m->seg_cap, sizeof *m->seg_rate[k]);
        ok = ok && m->seg_flow[k] && m->seg_rate[k];
    }
    m->dirty_out = weft_calloc(st->n_port_words + 1, sizeof *m->dirty_out);
    m->dirty_in = weft_calloc(st->n_port_words + 1, sizeof *m->dirty_in);
    m->init_val = weft_calloc(2 * np + 1, sizeof *m->init_val);
    m->init_list = weft_calloc(2 * np + 1, sizeof *m->init_list);
    size_t ncp = st->cport_start[nc] ? st->cport_start[nc] : 1;
    m->by_src_at = weft_calloc(ncx, sizeof *m->by_src_at);
    m->grp_pass = weft_calloc(ncx, sizeof *m->grp_pass);
    m->goff = weft_calloc(ncp, sizeof *m->goff);
    m->glen = weft_calloc(ncp, sizeof *m->glen);
    m->gopen_at = weft_calloc(ncp, sizeof *m->gopen_at);
    m->cand_bits = weft_calloc(st->n_port_words + 1, sizeof *m->cand_bits);
    m->cand_local = weft_calloc(st->n_port_words + 1, sizeof *m->cand_local);
    ok = ok && m->by_src_at && m->grp_pass && m->goff && m->glen && m->gopen_at && m->cand_bits &&
         m->cand_local;
    for (int k = 0; k < 2; k++) {
        m->fa[k] = weft_calloc(2 * np + 1, sizeof *m->fa[k]);
        m->fa_pass[k] = weft_calloc(2 * np + 1, sizeof *m->fa_pass[k]);
        ok = ok && m->fa[k] && m->fa_pass[k];
    }
    if (!ok || !m->dirty_out || !m->dirty_in || !m->init_val || !m->init_list) {
        coflow_greedy_memo_free(m);
        return weft_fail(WEFT_ENOMEM, "out of memory for the incremental greedy (%zu coflows, "
                         "%zu ports)", nc, np);
    }
    st->greedy_memo = m;
    return WEFT_OK;
}

void coflow_greedy_memo_counts(const coflow_state_t *st, size_t *walked, size_t *grouped,
                               size_t *replayed)
{
    const struct coflow_greedy_memo *m = st->greedy_memo;
    *walked = m ? m->n_walked : 0;
    *grouped = m ? m->n_grouped : 0;
    *replayed = m ? m->n_replayed : 0;
}

/* The greedy allocator's memory of its last pass (coflow_state_keep_greedy_prefix). */
struct coflow_greedy_prefix {
    size_t prev_n;
    size_t *order;        /* [n_coflows] the last pass's order */
    uint32_t *open_at;    /* [n_coflows] n_open of order[i] then */
    size_t *rated_after;  /* [n_coflows] st->n_rated after walking order[i] */
    uint32_t *log_f;      /* [2 n_ports] the flows rated, in order, */
    double *log_r;        /*   and their rates */
    size_t n_replayed, n_walked; /* coflows replayed and walked so far */
};

/* A pass from zero walks coflow after coflow, and what it gives coflow i
 * depends only on the coflows before it: their open flows and their order.
 * So the coflows in front that are the same as last time, with the same
 * open flows, get the same rates in the same order, and the pass replays
 * those (the same additions in the same order: the same floats) and walks
 * only the rest. Under FIFO about half of each pass is replayed on the FB
 * trace; under orderings whose front coflow moves at every decision
 * almost nothing is. */
static void greedy_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    struct coflow_greedy_prefix *p = st->greedy_prefix;
    if (!p || st->greedy_memo) {
        alloc_greedy_pass(st, order, n);
        alloc_release_ports(st);
        return;
    }
    size_t same = 0, lim = n < p->prev_n ? n : p->prev_n;
    while (same < lim && order[same] == p->order[same] &&
           st->n_open[order[same]] == p->open_at[same])
        same++;
    size_t replay = same ? p->rated_after[same - 1] : 0;
    const coflow_flow_t *flows = st->wl->flows;
    for (size_t k = 0; k < replay; k++) {
        uint32_t f = p->log_f[k];
        alloc_add_rate_at(st, f, flows[f].src, flows[f].dst, p->log_r[k]);
    }
    p->n_replayed += same;
    p->n_walked += n - same;
    for (size_t i = same; i < n; i++) {
        walk_coflow_plain(st, order[i]);
        p->order[i] = order[i];
        p->open_at[i] = (uint32_t)st->n_open[order[i]];
        p->rated_after[i] = st->n_rated;
    }
    p->prev_n = n;
    /* each flow is rated once in a greedy pass, so rated[] is the log */
    for (size_t k = replay; k < st->n_rated; k++) {
        p->log_f[k] = (uint32_t)st->rated[k];
        p->log_r[k] = st->flow_rate[st->rated[k]];
    }
    alloc_release_ports(st);
}

void coflow_greedy_prefix_counts(const coflow_state_t *st, size_t *replayed, size_t *walked)
{
    const struct coflow_greedy_prefix *p = st->greedy_prefix;
    *replayed = p ? p->n_replayed : 0;
    *walked = p ? p->n_walked : 0;
}

void coflow_greedy_prefix_free(struct coflow_greedy_prefix *p)
{
    if (!p)
        return;
    free(p->order);
    free(p->open_at);
    free(p->rated_after);
    free(p->log_f);
    free(p->log_r);
    free(p);
}

weft_err_t coflow_state_keep_greedy_prefix(coflow_state_t *st)
{
    if (st->greedy_prefix)
        return WEFT_OK;
    size_t nc = st->wl->n_coflows ? st->wl->n_coflows : 1, np = st->fab->n_ports;
    struct coflow_greedy_prefix *p = weft_calloc(1, sizeof *p);
    if (p) {
        p->order = weft_calloc(nc, sizeof *p->order);
        p->open_at = weft_calloc(nc, sizeof *p->open_at);
        p->rated_after = weft_calloc(nc, sizeof *p->rated_after);
        /* every rate fills one of the rated flow's two ports */
        p->log_f = weft_calloc(2 * np + 2, sizeof *p->log_f);
        p->log_r = weft_calloc(2 * np + 2, sizeof *p->log_r);
    }
    if (!p || !p->order || !p->open_at || !p->rated_after || !p->log_f || !p->log_r) {
        coflow_greedy_prefix_free(p);
        return weft_fail(WEFT_ENOMEM, "out of memory for the greedy prefix (%zu coflows)", nc);
    }
    st->greedy_prefix = p;
    return WEFT_OK;
}

const coflow_allocator_t coflow_alloc_greedy = {
    .work_conserving = true,
    .name = "greedy",
    .description = "by priority, each flow takes all its ports have left (Sincronia)",
    .allocate = greedy_allocate,
};
