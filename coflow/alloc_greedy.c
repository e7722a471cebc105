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
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): set with pmask */
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
    if (st->clear_all_ports) {
        memset(st->free_out, 0, np * sizeof *st->free_out);
        memset(st->free_in, 0, np * sizeof *st->free_in);
        memset(st->full_out, 0, st->n_port_words * sizeof *st->full_out);
        memset(st->full_in, 0, st->n_port_words * sizeof *st->full_in);
        return;
    }
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
 * the walked side, the flow's other port o on the other side. The arrays
 * of both sides are resolved once per coflow, and what a rate writes
 * (rated flows, used ports) is counted in locals written back to st when
 * the coflow's walk ends: through st, GCC reloaded the arrays, the counts
 * and the side after every store of a rate. */
typedef struct {
    bool fresh;        /* no flow has a rate yet (alloc_greedy_pass) */
    bool plain;        /* fresh, rates listed beside (rated_rate), no port
                          log and no used-ports list: MADD's backfill */
    uint32_t g;        /* the group's port */
    double cap_g, eps_g;
    double used_g;     /* g's used capacity (kept in gused[g] too) */
    double *gused, *oused;       /* used capacity of each side's ports */
    const double *gcap, *ocap;   /* capacity of each side's ports */
    uint64_t *gfull, *ofull;     /* full-port sets of each side */
    size_t gfree, ofree;         /* free ports of the coflow on each side */
    /* what a rate writes (alloc_first_rate_at, alloc_count_rate) */
    size_t *rated;
    size_t n_rated;
    double *rated_rate, *flow_rate;
    uint32_t *rated_g, *rated_o; /* rated_src and rated_dst, by side */
    uint32_t *list;              /* used_ports, NULL when all are cleared */
    size_t n_list;
    uint32_t gkey, okey;         /* used_ports key of each side's port 0 */
    size_t n_given;              /* rates given in this coflow's walk */
} walk_t;

/* What walk_flow writes for a rate r of flow f (other port o), when not
 * plain: the rate in flow_rate or beside the list, the ports' log, the
 * used-ports list; before the rate is counted on the ports. */
static inline __attribute__((always_inline)) void walk_record(walk_t *w, size_t f, uint32_t o,
                                                              double r)
{
    if (w->fresh) {
        if (w->rated_rate)
            w->rated_rate[w->n_rated] = r;
        else
            w->flow_rate[f] = r;
        if (w->rated_g) {
            w->rated_g[w->n_rated] = w->g;
            w->rated_o[w->n_rated] = o;
        }
        w->rated[w->n_rated++] = f;
    } else {
        if (w->flow_rate[f] == 0)
            w->rated[w->n_rated++] = f;
        w->flow_rate[f] += r;
    }
    if (w->list) {
        if (w->used_g == 0)
            w->list[w->n_list++] = w->gkey + w->g;
        if (w->oused[o] == 0)
            w->list[w->n_list++] = w->okey + o;
    }
}

/* Gives open flow f of the group, whose other port is o, what both its
 * ports have left: alloc_first_rate_at (fresh) or alloc_add_rate_at, with
 * the same floats. Returns true when the group's walk ends (g filled, or
 * one side of the coflow has no free port left). */
static inline __attribute__((always_inline)) bool walk_flow(walk_t *w, size_t f, uint32_t o)
{
    double cap_o = w->ocap[o];
    double free_o = cap_o - w->oused[o];
    double eps_o = COFLOW_RATE_EPS * cap_o;
    if (free_o <= eps_o)
        return false;
    double free_g = w->cap_g - w->used_g;
    double r = free_g < free_o ? free_g : free_o;
    w->n_given++;
    if (w->plain) { /* one test for what the others test one by one */
        w->rated_rate[w->n_rated] = r;
        w->rated[w->n_rated++] = f;
    } else {
        walk_record(w, f, o, r);
    }
    w->used_g += r;
    w->gused[w->g] = w->used_g;
    double used_o = w->oused[o] + r;
    w->oused[o] = used_o;
    /* the full-port sets (coflow.h): the same test as alloc_port_full */
    if (w->cap_g - w->used_g <= COFLOW_RATE_EPS * w->cap_g)
        w->gfull[w->g >> 6] |= (uint64_t)1 << (w->g & 63);
    if (cap_o - used_o <= COFLOW_RATE_EPS * cap_o)
        w->ofull[o >> 6] |= (uint64_t)1 << (o & 63);
    /* count a port once, when this rate fills it */
    if (free_o - r <= eps_o)
        w->ofree--;
    if (free_g - r <= w->eps_g) {
        w->gfree--;
        return true;
    }
    return !w->gfree || !w->ofree;
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

/* One coflow's walk: what every group of it needs. */
typedef struct {
    walk_t w;
    bool matrix;               /* port and group sets (has_group_sets) */
    bool shuffle;              /* ... of a full shuffle (COFLOW_SHUFFLE_SETS) */
    size_t first_flow;
    size_t stride_g, stride_o; /* a shuffle's flow: first + ranks times these */
    size_t lo, hi;             /* walked side: cports positions [lo, hi) */
    size_t wbase;              /* the walked side's words in popen */
    uint32_t ws0, wnw, os0, onw; /* first fabric word and words of each side */
    const coflow_member_t *grp;
    const size_t *start;
    const uint32_t *open, *head, *span;
} cwalk_t;

/* Sets up the walk of coflow c; false when none of its flows can move
 * (all its senders or all its receivers full). */
static inline __attribute__((always_inline)) bool walk_begin(coflow_state_t *st, size_t c,
                                                             cwalk_t *cw)
{
    const uint32_t *sp = st->pmask ? st->pmask_span + 4 * c : NULL;
    size_t off = st->pmask ? st->pmask_off[c] : 0;
    if (sp && (!side_has_room(st, off, sp[0], sp[1], st->full_out) ||
               !side_has_room(st, off + sp[1], sp[2], sp[3], st->full_in)))
        return false; /* no open flow with room at its sender and receiver */
    walk_t *w = &cw->w;
    size_t us, ur;
    free_ports(st, c, &us, &ur);
    if (!us || !ur)
        return false;
    /* Walk the coflow's flows port group by port group, from the side
     * whose free ports times the other side's width is smaller (FB
     * mappers fill long before reducers): a full port's group is
     * skipped at once and a group's walk stops when its port fills, so
     * a blocked coflow costs about its ports, not its flows. */
    const coflow_coflow_t *co = &st->wl->coflows[c];
    bool by_src = (double)us * co->n_receivers < (double)ur * co->n_senders;
    const coflow_fabric_t *fab = st->fab;
    w->gfree = by_src ? us : ur;
    w->ofree = by_src ? ur : us;
    w->gused = by_src ? st->free_out : st->free_in;
    w->oused = by_src ? st->free_in : st->free_out;
    w->gcap = by_src ? fab->cap_out : fab->cap_in;
    w->ocap = by_src ? fab->cap_in : fab->cap_out;
    w->gfull = by_src ? st->full_out : st->full_in;
    w->ofull = by_src ? st->full_in : st->full_out;
    w->rated = st->rated;
    w->n_rated = st->n_rated;
    w->rated_rate = st->rated_rate;
    w->flow_rate = st->flow_rate;
    w->rated_g = by_src ? st->rated_src : st->rated_dst;
    w->rated_o = by_src ? st->rated_dst : st->rated_src;
    w->list = st->clear_all_ports ? NULL : st->used_ports;
    w->n_list = st->n_used_ports;
    w->plain = w->fresh && w->rated_rate && !w->rated_g && !w->list;
    w->gkey = by_src ? 0 : (uint32_t)fab->n_ports;
    w->okey = by_src ? (uint32_t)fab->n_ports : 0;
    size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
    cw->lo = by_src ? a : mid;
    cw->hi = by_src ? mid : b;
    cw->grp = by_src ? st->smembers : st->rmembers;
    cw->start = by_src ? st->sstart : st->rstart;
    cw->open = by_src ? st->sopen : st->ropen;
    cw->head = by_src ? st->shead : st->rhead;
    cw->span = by_src ? st->sspan : st->rspan;
    cw->matrix = coflow_group_sets_walk(st, c);
    cw->shuffle = cw->matrix && st->has_group_sets[c] == COFLOW_SHUFFLE_SETS;
    cw->first_flow = co->first_flow;
    cw->stride_g = by_src ? 1 : co->n_senders;
    cw->stride_o = by_src ? co->n_senders : 1;
    if (cw->matrix) {
        cw->wbase = off + (by_src ? 0 : sp[1]);
        cw->ws0 = by_src ? sp[0] : sp[2];
        cw->wnw = by_src ? sp[1] : sp[3];
        cw->os0 = by_src ? sp[2] : sp[0];
        cw->onw = by_src ? sp[3] : sp[1];
    }
    return true;
}

/* Starts the walk of the group of port g on the walked side. */
static inline __attribute__((always_inline)) void group_begin(walk_t *w, uint32_t g)
{
    w->cap_g = w->gcap[g];
    w->used_g = w->gused[g];
    w->g = g;
    w->eps_g = COFLOW_RATE_EPS * w->cap_g;
}

/* Writes back what the walk of a coflow counted in its locals. */
static inline __attribute__((always_inline)) void walk_end(coflow_state_t *st, const walk_t *w)
{
    st->n_rated = w->n_rated;
    st->n_used_ports = w->n_list;
}

/* walk_group_sets' loop over the group's open flows with room (open
 * words minus the full ports), ranks counted in its all-flows words. */
static inline __attribute__((always_inline)) void walk_group_bits(cwalk_t *cw,
                                                                  const uint64_t *open,
                                                                  const uint64_t *all,
                                                                  const coflow_member_t *grp,
                                                                  size_t shuffle_first,
                                                                  bool shuffle)
{
    size_t before = 0; /* members of the words already walked */
    for (uint32_t y = 0; y < cw->onw; y++) {
        uint64_t bits = open[y] & ~cw->w.ofull[cw->os0 + y];
        while (bits) {
            uint64_t low = bits & (~bits + 1);
            size_t k = before + (size_t)__builtin_popcountll(all[y] & (low - 1));
            uint32_t o = (cw->os0 + y) * 64 + (uint32_t)__builtin_ctzll(low);
            size_t f = shuffle ? shuffle_first + k * cw->stride_o : grp[k].flow;
            if (walk_flow(&cw->w, f, o))
                return;
            bits ^= low;
        }
        before += (size_t)__builtin_popcountll(all[y]);
    }
}

/* The walk of the group at cports position q through the group sets: each
 * of its open flows whose other port has room, in the group's order (by
 * other port, coflow.h), until its port fills. Those flows are the group's
 * set minus the full ports, a bit per flow in port order; a bit's rank
 * among all the group's bits is its member's place. A rate fills only g
 * (ending the walk) or the flow's own other port, so the bits taken before
 * it stay valid. */
static inline __attribute__((always_inline)) void walk_group_sets(coflow_state_t *st,
                                                                  cwalk_t *cw, size_t q)
{
    const uint64_t *open = st->gmask + st->gmask_off[q];
    uint64_t any = 0; /* most groups of a crowded fabric have no room: */
    for (uint32_t y = 0; y < cw->onw; y++) /* one predictable branch a word */
        any |= open[y] & ~cw->w.ofull[cw->os0 + y];
    if (!any)
        return;
    const uint64_t *all = open + cw->onw; /* beside the open words (coflow.h) */
    const coflow_member_t *grp = cw->grp + cw->start[q]; /* the group's members */
    /* in a shuffle every other port is in the group, so a member's rank
       is its other port's: its flow is this one plus rank * stride_o */
    size_t shuffle_first = cw->first_flow + (q - cw->lo) * cw->stride_g;
    if (cw->shuffle) /* one loop each, so neither tests the kind per flow */
        walk_group_bits(cw, open, all, grp, shuffle_first, true);
    else
        walk_group_bits(cw, open, all, grp, shuffle_first, false);
}

/* The same over the group's members, for a coflow without group sets:
 * closed members and those whose other port is full are passed. */
static inline __attribute__((always_inline)) void walk_group_members(cwalk_t *cw, size_t q)
{
    const uint64_t *ofull = cw->w.ofull;
    const coflow_member_t *grp = cw->grp;
    for (size_t k = cw->start[q] + cw->head[q], end = cw->start[q] + cw->span[q]; k < end;
         k++) {
        uint32_t o = grp[k].other;
        if (o != COFLOW_MEMBER_CLOSED && ((ofull[o >> 6] >> (o & 63)) & 1) == 0 &&
            walk_flow(&cw->w, grp[k].flow, o))
            return;
    }
}

/* The ports of coflow c with an open flow and room, word by word over
 * both sides (its senders' words, then its receivers', as pmask), into
 * room[] when it is not NULL; true when all of them are within the
 * room_seen of its last walk that rated nothing (coflow.h). */
static bool room_within_seen(coflow_state_t *st, size_t c, uint64_t *room)
{
    const uint32_t *sp = st->pmask_span + 4 * c;
    size_t base = st->pmask_off[c];
    uint64_t outside = 0;
    for (int side = 0; side < 2; side++) {
        const uint64_t *full = side ? st->full_in : st->full_out;
        uint32_t w0 = sp[2 * side], nw = sp[2 * side + 1];
        for (uint32_t w = 0; w < nw; w++) {
            uint64_t r = st->popen[base + w] & ~full[w0 + w];
            outside |= r & ~st->room_seen[base + w];
            if (room)
                room[base + w] = r;
        }
        base += nw;
    }
    return outside == 0;
}

bool coflow_walk_memory_off = false;

/* After a walk of coflow c: what room it had, if it got nothing (a walk
 * that rated nothing changed no port, so the room is still that). */
static void remember_room(coflow_state_t *st, size_t c, bool got_nothing)
{
    if (!st->pmask || coflow_walk_memory_off)
        return;
    st->room_seen_set[c] = got_nothing;
    if (got_nothing)
        room_within_seen(st, c, st->room_seen);
}

/* Within a coflow every rate given fills one of its ports, so once all its
 * senders or all its receivers are full the rest of its flows get nothing:
 * the walk stops there.
 *
 * With the port and group sets (coflow.h) a coflow none of whose open flows
 * has room at both ports is passed over a word at a time, and a group's
 * walk visits only its open flows whose other port has room, found as the
 * group's set minus the full ports: the same flows, rates and order as the
 * plain walk over the members, which visits the blocked flows too. */
WEFT_HOT_CLONES
static void walk_coflow(coflow_state_t *st, size_t c, bool fresh)
{
    /* A coflow that got nothing at a walk with at least the room it has
     * now gets nothing again: its ports are tested, not its groups. In a
     * crowded fabric most walks are of such coflows. */
    bool seen = st->pmask && st->room_seen_set[c] && !coflow_walk_memory_off;
    if (seen && room_within_seen(st, c, NULL)) {
        st->n_walks_skipped++;
        return;
    }
    cwalk_t cw;
    cw.w.fresh = fresh;
    cw.w.n_given = 0;
    if (!walk_begin(st, c, &cw))
        return;
    walk_t *w = &cw.w;
    if (!cw.matrix) {
        for (size_t q = cw.lo; q < cw.hi && w->gfree && w->ofree; q++) {
            uint32_t g = st->cports[q];
            if (cw.open[q] == 0 || ((w->gfull[g >> 6] >> (g & 63)) & 1))
                continue;
            group_begin(w, g);
            walk_group_members(&cw, q);
        }
        walk_end(st, w);
        remember_room(st, c, w->n_given == 0);
        return;
    }
    /* The walked side's ports with an open flow and room, a bit each in
     * port order, which is cports order (coflow.h): a bit's rank among
     * the side's bits is its group's local position, and the bit is its
     * port. A group's port fills only through its own flows, so the bits
     * taken stay valid during the walk. */
    for (uint32_t x = 0; x < cw.wnw && w->gfree && w->ofree; x++) {
        size_t word = cw.wbase + x;
        uint64_t bits = st->popen[word] & ~w->gfull[cw.ws0 + x], all = st->pmask[word];
        while (bits && w->gfree && w->ofree) {
            uint64_t low = bits & (~bits + 1);
            size_t q = cw.lo + st->prank[word] + (size_t)__builtin_popcountll(all & (low - 1));
            group_begin(w, (cw.ws0 + x) * 64 + (uint32_t)__builtin_ctzll(low));
            walk_group_sets(st, &cw, q);
            bits ^= low;
        }
    }
    walk_end(st, w);
    remember_room(st, c, w->n_given == 0);
}

void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n, bool fresh)
{
    for (size_t i = 0; i < n; i++)
        walk_coflow(st, order[i], fresh);
}

/* The greedy allocator's memory of its last pass (coflow_state_keep_greedy_prefix). */
struct coflow_greedy_prefix {
    size_t prev_n;
    size_t *order;        /* [n_coflows] the last pass's order */
    uint32_t *open_at;    /* [n_coflows] n_open of order[i] then */
    size_t *rated_after;  /* [n_coflows] st->n_rated after walking order[i] */
    uint32_t *log_f;      /* [2 n_ports] the flows rated, in order, */
    double *log_r;        /*   their rates */
    uint32_t *log_s, *log_d; /* and ports (replays read no flow) */
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
    st->n_rated_kept = 0;
    if (!p) {
        alloc_greedy_pass(st, order, n, true);
        alloc_release_ports(st);
        return;
    }
    size_t same = 0, lim = n < p->prev_n ? n : p->prev_n;
    while (same < lim && order[same] == p->order[same] &&
           st->n_open[order[same]] == p->open_at[same])
        same++;
    size_t replay = same ? p->rated_after[same - 1] : 0;
    for (size_t k = 0; k < replay; k++)
        alloc_first_rate_at(st, p->log_f[k], p->log_s[k], p->log_d[k], p->log_r[k]);
    st->n_rated_kept = replay;
    st->rated_src = p->log_s; /* the walk logs each rated flow's ports */
    st->rated_dst = p->log_d;
    p->n_replayed += same;
    p->n_walked += n - same;
    for (size_t i = same; i < n; i++) {
        walk_coflow(st, order[i], true);
        p->order[i] = order[i];
        p->open_at[i] = (uint32_t)st->n_open[order[i]];
        p->rated_after[i] = st->n_rated;
    }
    p->prev_n = n;
    st->rated_src = st->rated_dst = NULL;
    /* each flow is rated once in a greedy pass, so rated[] is the log (its
       ports are in it already) */
    for (size_t k = replay; k < st->n_rated; k++) {
        p->log_f[k] = (uint32_t)st->rated[k];
        p->log_r[k] = alloc_rated_rate(st, k);
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
    free(p->log_s);
    free(p->log_d);
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
        p->log_s = weft_calloc(2 * np + 2, sizeof *p->log_s);
        p->log_d = weft_calloc(2 * np + 2, sizeof *p->log_d);
    }
    if (!p || !p->order || !p->open_at || !p->rated_after || !p->log_f || !p->log_r ||
        !p->log_s || !p->log_d) {
        coflow_greedy_prefix_free(p);
        return weft_fail(WEFT_ENOMEM, "out of memory for the greedy prefix (%zu coflows)", nc);
    }
    st->greedy_prefix = p;
    return WEFT_OK;
}

const coflow_allocator_t coflow_alloc_greedy = {
    .work_conserving = true,
    .lists_rates = true,
    .name = "greedy",
    .description = "by priority, each flow takes all its ports have left (Sincronia)",
    .allocate = greedy_allocate,
};
