/*
 * alloc_madd.c - Varys' Minimum-Allocation-for-Desired-Duration (Chowdhury
 * et al., SIGCOMM 2014, sec. 5.3). In priority order, a coflow's effective
 * bottleneck on what is left of the fabric is
 *     G = max over its ports p of (its remaining bytes through p) / (free
 *         capacity of p);
 * each of its flows then gets remaining / G, so all of them finish together
 * at G and the coflow takes no more than it needs. A coflow with a port
 * already full (G infinite) waits. Then a greedy pass hands the leftover
 * capacity out in the same order (Varys' backfilling for work conservation).
 */
#include "alloc_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* True when a port of active coflow c that has an open flow and bytes
 * left (left[] is per cports position from a) is full already: c's
 * bottleneck is then infinite and it waits. Found a word at a time from
 * c's open-port sets and the full-port sets, so a blocked coflow costs
 * its full ports, not all of them; false without the sets (the caller's
 * walk over the ports finds them). */
ALLOC_INLINE bool blocked(const coflow_state_t *st, size_t c, const double *bytes,
                          const double *comp)
{
    if (!st->pmask)
        return false;
    const uint32_t *sp = st->pmask_span + 4 * c;
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders;
    for (int side = 0; side < 2; side++) {
        size_t base = st->pmask_off[c] + (side ? sp[1] : 0), lo = side ? mid - a : 0;
        uint32_t w0 = sp[2 * side], nw = sp[2 * side + 1];
        const uint64_t *full = side ? st->full_in : st->full_out;
        for (uint32_t w = 0; w < nw; w++) {
            uint64_t bits = st->popen[base + w] & full[w0 + w];
            while (bits) {
                uint64_t low = bits & (~bits + 1);
                size_t rank = st->prank[base + w] +
                              (size_t)__builtin_popcountll(st->pmask[base + w] & (low - 1));
                size_t k = lo + rank; /* q - a: cports are in port order */
                if (bytes[k] + comp[k] > 0)
                    return true;
                bits ^= low;
            }
        }
    }
    return false;
}

/* One side of a coflow not blocked(): its ports at cports positions [lo,
 * hi), their bytes left bytes[k] + comp[k] (k = q - lo), open flows
 * open[q], capacity cap[p] and use used[p]. Returns the larger of gamma
 * and the side's largest left / free. No port with an open flow and bytes
 * is full, so no quotient is infinite; a port without either counts 0,
 * chosen without a branch (which ports those are follows no pattern the
 * branch predictor could learn). Division only where the quotient may
 * beat gamma: below gamma * free, shaved by more than its two roundings,
 * it rounds to gamma at most. */
WEFT_HOT_CLONES
static double side_gamma(const coflow_state_t *st, size_t lo, size_t hi, const double *bytes,
                         const double *comp, const uint32_t *open, const double *cap,
                         const double *used, double gamma)
{
    size_t q = lo;
#ifdef __SSE2__
    /* Two ports a step. Their quotients are divided together when either
     * may beat gamma; the other's rounds to gamma at most (it failed the
     * same test), or is 0 / free (no bytes or no open flow), which may be
     * NaN at a full port: "g > gamma" passes over both. The same max. */
    const __m128d zero = _mm_setzero_pd(), shave = _mm_set1_pd(1 - 1e-14);
    const __m128i zero_i = _mm_setzero_si128();
    for (; q + 2 <= hi; q += 2) {
        uint32_t p0 = st->cports[q], p1 = st->cports[q + 1];
        __m128d left = _mm_add_pd(_mm_loadu_pd(bytes + (q - lo)), _mm_loadu_pd(comp + (q - lo)));
        __m128i closed = _mm_cmpeq_epi32(_mm_loadl_epi64((const __m128i *)(open + q)), zero_i);
        closed = _mm_unpacklo_epi32(closed, closed); /* a 32-bit lane to 64 */
        __m128d v = _mm_and_pd(_mm_andnot_pd(_mm_castsi128_pd(closed), _mm_cmpgt_pd(left, zero)),
                               left);
        __m128d free = _mm_sub_pd(_mm_set_pd(cap[p1], cap[p0]), _mm_set_pd(used[p1], used[p0]));
        __m128d lim = _mm_mul_pd(_mm_mul_pd(_mm_set1_pd(gamma), free), shave);
        if (_mm_movemask_pd(_mm_cmpgt_pd(v, lim))) {
            __m128d g = _mm_div_pd(v, free);
            double g0 = _mm_cvtsd_f64(g), g1 = _mm_cvtsd_f64(_mm_unpackhi_pd(g, g));
            if (g0 > gamma)
                gamma = g0;
            if (g1 > gamma)
                gamma = g1;
        }
    }
#endif
    for (; q < hi; q++) {
        uint32_t p = st->cports[q];
        double left = bytes[q - lo] + comp[q - lo], v;
        uint64_t bits;
        memcpy(&bits, &left, sizeof bits);
        bits &= -(uint64_t)((left > 0) & (open[q] != 0));
        memcpy(&v, &bits, sizeof v);
        double free = cap[p] - used[p];
        if (v > gamma * free * (1 - 1e-14)) {
            double g = v / free;
            if (g > gamma)
                gamma = g;
        }
    }
    return gamma;
}

/* Counts pace times the bytes left at each port of one side (as
 * side_gamma's arguments; out: the sending side) with an open flow and
 * bytes as use without a flow (lazy pacing, coflow.h), keeping the list
 * of used ports and the full-port sets as alloc_count_rate does; the
 * others get nothing. The state's arrays are held in locals: through
 * st, GCC reloaded each of them after every store, doubling the loop. */
WEFT_HOT_CLONES
static void side_use(coflow_state_t *st, bool out, size_t lo, size_t hi, const double *bytes,
                     const double *comp, const uint32_t *open, double pace)
{
    const uint32_t *cports = st->cports;
    double *used = out ? st->free_out : st->free_in;
    const double *cap = out ? st->fab->cap_out : st->fab->cap_in;
    uint64_t *full = out ? st->full_out : st->full_in;
    uint32_t *list = st->clear_all_ports ? NULL : st->used_ports;
    uint32_t key = out ? 0 : (uint32_t)st->fab->n_ports; /* used_ports' key of port 0 */
    size_t n_list = st->n_used_ports;
    for (size_t q = lo; q < hi; q++) {
        double left = bytes[q - lo] + comp[q - lo];
        if (!(left > 0 && open[q] > 0))
            continue;
        uint32_t p = cports[q];
        if (list && used[p] == 0)
            list[n_list++] = key + p;
        used[p] += left * pace;
        if (cap[p] - used[p] <= COFLOW_RATE_EPS * cap[p])
            full[p >> 6] |= (uint64_t)1 << (p & 63);
    }
    st->n_used_ports = n_list;
}

/* Port q of coflow c (cports positions [a, mid) send, [mid, ...) receive):
 * its capacity and free capacity in *cap and *free, and the bytes left
 * through it (bytes + comp at q - a), or 0 when none of its flows is open:
 * such a port may keep a rounding residue, which must not hold the coflow
 * back. */
static inline double port_left(const coflow_state_t *st, size_t q, size_t a, size_t mid,
                               const double *bytes, const double *comp, double *cap,
                               double *free)
{
    uint32_t p = st->cports[q];
    bool out = q < mid;
    *cap = out ? st->fab->cap_out[p] : st->fab->cap_in[p];
    *free = *cap - (out ? st->free_out[p] : st->free_in[p]);
    double left = bytes[q - a] + comp[q - a];
    return left > 0 && (out ? st->sopen[q] : st->ropen[q]) != 0 ? left : 0;
}

/* For coflow_state_t.pace_slack: the largest capacity / free capacity
 * over c's ports that bound its pace (left / free within a hair of
 * gamma), times the rounding one addition to their use may carry. */
static double pace_conditioning(const coflow_state_t *st, size_t c, const double *bytes,
                                const double *comp, double gamma)
{
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    double worst = 1;
    for (size_t q = a; q < b; q++) {
        double cap, free, left = port_left(st, q, a, mid, bytes, comp, &cap, &free);
        if (left > 0 && free > 0 && left / free >= gamma * (1 - 1e-9) && cap / free > worst)
            worst = cap / free;
    }
    return (double)(st->n_rated + st->n_paced + 2) * DBL_EPSILON * worst;
}

WEFT_HOT_CLONES
static void madd_allocate(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_fabric_t *fab = st->fab;
    for (size_t i = 0; i < n; i++) {
        size_t c = order[i];
        const coflow_coflow_t *co = &wl->coflows[c];
        if (!alloc_coflow_can_move(st, c))
            continue;
        /* G over the coflow's distinct ports, from its per-port remaining
         * bytes with their rounding compensation (coflow.h): as close to
         * the sum of its open flows as summing them afresh, without
         * walking them. */
        const double *bytes = coflow_state_port_bytes(st, c);
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        const double *comp = st->cport_comp + a;
        double gamma = 0;
        if (st->pmask) {
            if (blocked(st, c, bytes, comp))
                continue;
            gamma = side_gamma(st, a, mid, bytes, comp, st->sopen, fab->cap_out, st->free_out,
                               gamma);
            gamma = side_gamma(st, mid, b, bytes + (mid - a), comp + (mid - a), st->ropen,
                               fab->cap_in, st->free_in, gamma);
        }
        for (size_t q = a; q < b && !st->pmask && isfinite(gamma); q++) {
            double cap, free, left = port_left(st, q, a, mid, bytes, comp, &cap, &free);
            if (left == 0)
                continue;
            /* divide only where the quotient may beat gamma: below
               gamma * free, shaved by more than its two roundings, it
               rounds to gamma at most */
            if (free > COFLOW_RATE_EPS * cap && left <= gamma * free * (1 - 1e-14))
                continue;
            double g = free > COFLOW_RATE_EPS * cap ? left / free : INFINITY;
            if (g > gamma)
                gamma = g;
        }
        if (!isfinite(gamma) || gamma <= 0)
            continue;
        if (st->pace_slack) /* a checker's (coflow.h) */
            *st->pace_slack += pace_conditioning(st, c, bytes, comp, gamma);
        if (st->pace) { /* lazy (coflow.h): the coflow's use, port by port */
            double pace = (1 - 1e-12) / gamma;
            st->pace[c] = pace;
            st->paced[st->n_paced++] = c;
            side_use(st, true, a, mid, bytes, comp, st->sopen, pace);
            side_use(st, false, mid, b, bytes + (mid - a), comp + (mid - a), st->ropen, pace);
            continue;
        }
        for (size_t j = 0; j < st->n_open[c]; j++) {
            size_t f = st->open_flows[co->first_flow + j];
            /* Shave a hair so rounding never pushes a port past capacity. */
            double r = st->flow_remaining[f] / gamma * (1 - 1e-12);
            if (r > 0)
                alloc_add_rate(st, f, r);
        }
    }
    /* under lazy pacing the paced flows got no rate of their own */
    alloc_greedy_pass(st, order, n, st->pace != NULL);
    alloc_release_ports(st);
}

const coflow_allocator_t coflow_alloc_madd = {
    .work_conserving = true,
    .lazy_pace = true,
    .lists_rates = true,
    .name = "madd",
    .description = "Varys MADD: pace each coflow to finish all flows at its bottleneck, "
                   "then backfill",
    .allocate = madd_allocate,
};
