/*
 * alloc_fair.c - per-flow max-min fair rates (the coflow-agnostic, TCP-like
 * baseline), by progressive filling.
 *
 * All unfrozen flows rise together at one level. A port saturates when
 *     level = (capacity - rates of its frozen flows) / (its unfrozen flows),
 * its "saturation level"; at the lowest one, that port's unfrozen flows
 * freeze at the level. Freezing a flow at level L on a port q that is not yet
 * saturated can only raise q's saturation level ((n*s - L)/(n-1) >= s when
 * s >= L), so each round freezes the port with the lowest level.
 * The ordering is ignored by design.
 */
#include "alloc_internal.h"

#include <math.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* One port's sums while a run of consecutive pairs shares it
 * (coflow_fair_levels). */
typedef struct {
    size_t k; /* the port (of one side), SIZE_MAX: none */
    double cnt, pairs;
} port_sum_t;

/* Stores r's sums and leaves it empty. */
static inline void port_sum_end(port_sum_t *r, double *cnt, double *pairs)
{
    if (r->k == SIZE_MAX)
        return;
    cnt[r->k] = r->cnt;
    pairs[r->k] = r->pairs;
    r->k = SIZE_MAX;
}

/* Stores r's sums and takes up port k's; true when k had no pair yet. */
static inline bool port_sum_move(port_sum_t *r, size_t k, double *cnt, double *pairs)
{
    port_sum_end(r, cnt, pairs);
    *r = (port_sum_t){k, cnt[k], pairs[k]};
    return r->pairs == 0;
}

/* The next slot of one port's slice of pairs (next[k]) while a run of
 * consecutive pairs shares the port (coflow_fair_levels). */
typedef struct {
    size_t k; /* the port key, SIZE_MAX: none */
    size_t at;
} slot_run_t;

/* Stores r's next slot back. */
static inline void slot_run_end(slot_run_t *r, size_t *next)
{
    if (r->k != SIZE_MAX)
        next[r->k] = r->at;
}

/* Port k's next slot, taken. */
static inline size_t slot_run_take(slot_run_t *r, size_t *next, size_t k)
{
    if (k != r->k) {
        slot_run_end(r, next);
        *r = (slot_run_t){k, next[k]};
    }
    return r->at++;
}

/* The live ports' saturation levels in a binary min-heap by (level,
 * port), the lower port key first on a tie; at[k] is port k's place in
 * it. */
static inline bool level_before(coflow_port_level_t a, coflow_port_level_t b)
{
    return a.level < b.level || (a.level == b.level && a.port < b.port);
}

static void level_down(coflow_port_level_t *h, size_t *at, size_t n, size_t i)
{
    coflow_port_level_t x = h[i];
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && level_before(h[l + 1], h[l]))
            m = l + 1;
        if (!level_before(h[m], x))
            break;
        h[i] = h[m];
        at[h[i].port] = i;
        i = m;
    }
    h[i] = x;
    at[x.port] = i;
}

static void level_up(coflow_port_level_t *h, size_t *at, size_t i)
{
    coflow_port_level_t x = h[i];
    while (i > 0 && level_before(x, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        at[h[i].port] = i;
        i = (i - 1) / 2;
    }
    h[i] = x;
    at[x.port] = i;
}

/* Takes the top out. */
static void level_pop(coflow_port_level_t *h, size_t *at, size_t *n)
{
    h[0] = h[--*n];
    if (*n > 0)
        level_down(h, at, *n, 0);
}

/* Moves the live port in place `last` (the last) to place t. */
static inline void take_last_place(size_t *live, double *lv, size_t *pos, size_t t, size_t last)
{
    live[t] = live[last];
    lv[t] = lv[last];
    pos[live[t]] = t;
}

/* The place in lv[0 .. n) (n > 0, no NaN) of the lowest level, the one of
 * the lowest port (live[]) on a tie, as the heap takes it: the minimum
 * four at a time (minpd selects, so the value is one of lv's), then the
 * places equal to it, four compares at a time. */
static size_t lowest_place(const double *lv, const size_t *live, size_t n)
{
    double low = lv[0];
    size_t t = 1;
#ifdef __SSE2__
    if (n >= 4) {
        __m128d m0 = _mm_loadu_pd(lv), m1 = _mm_loadu_pd(lv + 2);
        for (t = 4; t + 4 <= n; t += 4) {
            m0 = _mm_min_pd(m0, _mm_loadu_pd(lv + t));
            m1 = _mm_min_pd(m1, _mm_loadu_pd(lv + t + 2));
        }
        m0 = _mm_min_pd(m0, m1);
        low = _mm_cvtsd_f64(_mm_min_sd(m0, _mm_unpackhi_pd(m0, m0)));
    }
#endif
    for (; t < n; t++)
        if (lv[t] < low)
            low = lv[t];
    size_t best = SIZE_MAX;
    t = 0;
#ifdef __SSE2__
    const __m128d want = _mm_set1_pd(low);
    for (; t + 4 <= n; t += 4) {
        unsigned hit = (unsigned)(_mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(lv + t), want)) |
                                  _mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(lv + t + 2), want))
                                      << 2);
        for (; hit; hit &= hit - 1) {
            size_t x = t + (size_t)__builtin_ctz(hit);
            if (best == SIZE_MAX || live[x] < live[best])
                best = x;
        }
    }
#endif
    for (; t < n; t++)
        if (lv[t] == low && (best == SIZE_MAX || live[t] < live[best]))
            best = t;
    return best;
}

/* From this many live ports on (both sides counted) coflow_fair_levels
 * finds each round's port with the heap, below it by a scan of the
 * levels; the two take the same port. */
size_t coflow_fair_heap_from = 2048;

/* Port keys: p < np is p's send side, np + p its receive side. Per key,
 * while coflow_fair_levels runs: cnt = unfrozen flows (in free_out/free_in,
 * as doubles), fixed = rates of frozen flows (in scratch_out/scratch_in),
 * the end of its slice of pairs in port_index, its level in heap_key (by
 * place in the scan, by key with the heap, below); flow_list holds the
 * ports' pairs. */
void coflow_fair_levels(coflow_state_t *st, size_t n_pairs, const size_t *pair_src,
                        const size_t *pair_dst, double *cnt)
{
    const coflow_fabric_t *fab = st->fab;
    size_t np = fab->n_ports, nt = 0;
#define CNT(k) (*((k) < np ? &st->free_out[k] : &st->free_in[(k) - np]))
#define FIXED(k) (*((k) < np ? &st->scratch_out[k] : &st->scratch_in[(k) - np]))
#define CAP(k) ((k) < np ? fab->cap_out[k] : fab->cap_in[(k) - np])
    /* the two sides without the branch of CNT/FIXED, in the hot loops */
    double *cnt_out = st->free_out, *cnt_in = st->free_in;
    double *fix_out = st->scratch_out, *fix_in = st->scratch_in;
    /* Per port, the unfrozen flows (cnt) and the pairs (fixed, zero again
     * below). Consecutive pairs mostly share a port (a coflow's pairs open
     * together; on the FB trace 98.7% share their receiver), and through
     * memory each addition to a port would wait for the store of the one
     * before: a run of one port is summed in registers and stored when
     * the port changes. The sums are of whole numbers, exact in any
     * order. A port is listed in touched[] at its first pair, sender
     * before receiver, as the pairs come. */
    double m = 0;
    port_sum_t rs = {SIZE_MAX, 0, 0}, rd = rs; /* the runs' sender and receiver */
    for (size_t i = 0; i < n_pairs; i++) {
        size_t ps = pair_src[i], pd = pair_dst[i];
        double c = cnt[i];
        if (ps != rs.k && port_sum_move(&rs, ps, cnt_out, fix_out))
            st->touched[nt++] = ps;
        if (pd != rd.k && port_sum_move(&rd, pd, cnt_in, fix_in))
            st->touched[nt++] = np + pd;
        rs.cnt += c;
        rs.pairs += 1;
        rd.cnt += c;
        rd.pairs += 1;
        m += c;
    }
    port_sum_end(&rs, cnt_out, fix_out);
    port_sum_end(&rd, cnt_in, fix_in);
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)FIXED(k);
        FIXED(k) = 0;
    }
    /* each port's slice in pair order, its next slot in a register while
       a run of its pairs lasts (as above) */
    size_t *next = st->port_index;
    slot_run_t ss = {SIZE_MAX, 0}, sd = ss; /* the runs' sender and receiver */
    for (size_t i = 0; i < n_pairs; i++) {
        st->flow_list[slot_run_take(&ss, next, pair_src[i])] = i;
        st->flow_list[slot_run_take(&sd, next, np + pair_dst[i])] = i;
    }
    slot_run_end(&ss, next);
    slot_run_end(&sd, next);
    /* port_index[k] now holds the end of port k's slice of pairs, which
     * lists every pair of the port; CNT counts only the unfrozen flows, so
     * a slice is scanned back from its end until its count reaches zero.
     * A frozen pair's cnt holds minus its level, sign bit set even at level
     * 0 (-0.0): -1 - level, as before, rounded a level below 1 to the ulps
     * of 1 (a rate of 1e-9 bytes/s kept 7 digits), so the rates depended
     * on the units.
     *
     * Each round freezes the live port (one with unfrozen flows) with the
     * lowest level, the lower key on a tie. With few ports, a scan: the
     * live ports are live[0 .. n_live), each one's level beside it in
     * lv[] (at[k] is port k's place), searched four at a time; a port
     * left without unfrozen flows gets the level INFINITY (a live one's is
     * finite) and is dropped before the next search, the last live port
     * taking its place.
     *
     * With many (k copies of the trace have k times the ports and k times
     * the rounds), a heap that is not told when a level rises: a port's
     * level sat[k] only rises as pairs freeze (see the top), so its entry
     * is at most its level, and the top, when its port's level is still
     * its key, is the lowest. A top whose port rose is put back at the new
     * level; one whose port has no unfrozen flow left goes. A level that
     * falls by a rounding lowers its entry at once. A round pops about one
     * stale entry per port that rose instead of scanning every port. */
    bool by_heap = nt >= coflow_fair_heap_from;
    double *lv = st->heap_key, *sat = st->heap_key; /* by place / by port */
    size_t *live = st->heap_val, *at = st->level_at, n_live = nt, n_dead = 0;
    coflow_port_level_t *heap = st->level_heap;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        double x = CAP(k) / CNT(k);
        if (by_heap) {
            sat[k] = x;
            heap[t] = (coflow_port_level_t){x, k};
        } else {
            live[t] = k;
            at[k] = t;
            lv[t] = x;
        }
    }
    if (by_heap) {
        for (size_t i = n_live / 2; i-- > 0;)
            level_down(heap, at, n_live, i);
        for (size_t i = 0; i < n_live; i++)
            at[heap[i].port] = i;
    }
    double unfrozen = m, level = 0;
    while (unfrozen > 0 && n_live > 0) {
        size_t k;
        double k_level;
        if (by_heap) {
            k = heap[0].port;
            if (CNT(k) <= 0) { /* no unfrozen flow left */
                level_pop(heap, at, &n_live);
                continue;
            }
            if (sat[k] != heap[0].level) { /* it rose: back at its level */
                heap[0].level = sat[k];
                level_down(heap, at, n_live, 0);
                continue;
            }
            k_level = sat[k];
            level_pop(heap, at, &n_live);
        } else {
            for (size_t t = 0; n_dead > 0 && t < n_live;) {
                if (lv[t] != INFINITY) {
                    t++;
                    continue;
                }
                n_dead--;
                take_last_place(live, lv, at, t, --n_live);
            }
            if (n_live == 0)
                break;
            size_t best = lowest_place(lv, live, n_live);
            k = live[best];
            k_level = lv[best];
            take_last_place(live, lv, at, best, --n_live);
        }
        if (k_level > level)
            level = k_level;
        if (level < 0)
            level = 0;
        bool out = k < np; /* k sends: the other ends receive */
        /* k's own count and frozen rates stay in registers through its
           slice (each of its pairs updates them: the same subtractions and
           additions in the same order), the other ends are each a
           different port */
        double ck = CNT(k), fk = FIXED(k);
        for (size_t q = st->port_index[k]; ck > 0; q--) {
            size_t i = st->flow_list[q - 1];
            double c = cnt[i];
            if (signbit(c))
                continue; /* frozen */
            cnt[i] = -level;
            unfrozen -= c;
            ck -= c;
            fk += level * c;
            size_t o; /* the other end's key */
            double left, v; /* its unfrozen flows and new level */
            if (out) {
                size_t pd = pair_dst[i];
                left = cnt_in[pd] -= c;
                fix_in[pd] += level * c;
                v = left > 0 ? (fab->cap_in[pd] - fix_in[pd]) / left : INFINITY;
                o = np + pd;
            } else {
                size_t ps = pair_src[i];
                left = cnt_out[ps] -= c;
                fix_out[ps] += level * c;
                v = left > 0 ? (fab->cap_out[ps] - fix_out[ps]) / left : INFINITY;
                o = ps;
            }
            if (!by_heap) {
                lv[at[o]] = v;
                n_dead += !(left > 0);
                continue;
            }
            sat[o] = v;
            if (v < heap[at[o]].level) { /* fell by a rounding */
                heap[at[o]].level = v;
                level_up(heap, at, at[o]);
            }
        }
        CNT(k) = ck;
        FIXED(k) = fk;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        CNT(k) = 0;
        FIXED(k) = 0;
    }
    for (size_t i = 0; i < n_pairs; i++)
        cnt[i] = signbit(cnt[i]) ? -cnt[i] : 0;
#undef CNT
#undef FIXED
#undef CAP
}

/* Flows between the same two ports have the same constraints, so max-min
 * gives them the same rate: the pairs of the open flows are found (sender
 * by sender: scratch_in maps a receiver to its pair + 1 while one sender's
 * flows are read) and filled by coflow_fair_levels. While this runs,
 * flow_rate[f] holds the index of f's pair; pair i's ports are heap_val[H +
 * i] (sender) and heap_val[H + m + i] (receiver), m the open flows, its
 * flows heap_key[H + i], with H = 2 np
 * above what coflow_fair_levels uses; flow_list first holds the flows by
 * sender. O(flows + pairs + ports^2) a decision. */
static void fair_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    size_t np = st->fab->n_ports, nt = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t ks = wl->flows[st->open_flows[co->first_flow + j]].src;
            if (st->free_out[ks] == 0)
                st->touched[nt++] = ks;
            st->free_out[ks] += 1;
            m++;
        }
    }
    if (m == 0)
        return;
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t k = st->touched[t];
        st->port_index[k] = off;
        off += (size_t)st->free_out[k];
        st->free_out[k] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            st->flow_list[st->port_index[wl->flows[f].src]++] = f;
        }
    }
    size_t H = 2 * np, n_pairs = 0;
    double *pair_cnt = st->heap_key + H;
    size_t *pair_src = st->heap_val + H, *pair_dst = pair_src + m;
    for (size_t t = 0, q = 0; t < nt; t++) {
        size_t k = st->touched[t], end = st->port_index[k], first = q;
        for (; q < end; q++) {
            size_t f = st->flow_list[q];
            uint32_t d = wl->flows[f].dst;
            if (st->scratch_in[d] == 0) {
                pair_cnt[n_pairs] = 0;
                pair_src[n_pairs] = k;
                pair_dst[n_pairs] = d;
                st->scratch_in[d] = (double)++n_pairs;
            }
            size_t i = (size_t)st->scratch_in[d] - 1;
            pair_cnt[i] += 1;
            st->flow_rate[f] = (double)i;
        }
        for (size_t x = first; x < end; x++)
            st->scratch_in[wl->flows[st->flow_list[x]].dst] = 0;
    }
    coflow_fair_levels(st, n_pairs, pair_src, pair_dst, pair_cnt);
    /* Each flow takes its pair's level. Rounding: a flow can sit at a level
     * a hair above what its ports had left; trim so the capacity invariant
     * holds exactly. */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        for (size_t j = 0; j < st->n_open[order[i]]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            double r = pair_cnt[(size_t)st->flow_rate[f]] * (1 - 1e-12);
            st->flow_rate[f] = r > 0 ? r : 0;
            if (r > 0)
                st->rated[st->n_rated++] = f;
        }
    }
}

const coflow_allocator_t coflow_alloc_fair = {
    .work_conserving = true,
    .name = "fair",
    .description = "per-flow max-min fair sharing (TCP-like), ignores the order",
    .allocate = fair_allocate,
    .per_pair_fair = true,
};
