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

bool alloc_coflow_can_move(const coflow_state_t *st, size_t c)
{
    const coflow_fabric_t *fab = st->fab;
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    bool send = false, recv = false;
    for (size_t q = a; q < mid && !send; q++) {
        uint32_t p = st->cports[q];
        send = fab->cap_out[p] - st->free_out[p] > COFLOW_RATE_EPS * fab->cap_out[p];
    }
    for (size_t q = mid; q < b && send && !recv; q++) {
        uint32_t p = st->cports[q];
        recv = fab->cap_in[p] - st->free_in[p] > COFLOW_RATE_EPS * fab->cap_in[p];
    }
    return send && recv;
}

void alloc_release_ports(coflow_state_t *st)
{
    const coflow_flow_t *flows = st->wl->flows;
    for (size_t i = 0; i < st->n_rated; i++) {
        size_t f = st->rated[i];
        st->free_out[flows[f].src] = 0;
        st->free_in[flows[f].dst] = 0;
    }
}

/* Counts the send and receive ports of coflow c with capacity left. */
static void free_ports(const coflow_state_t *st, size_t c, size_t *us, size_t *ur)
{
    const coflow_fabric_t *fab = st->fab;
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    *us = *ur = 0;
    for (size_t q = a; q < mid; q++) {
        uint32_t p = st->cports[q];
        *us += fab->cap_out[p] - st->free_out[p] > COFLOW_RATE_EPS * fab->cap_out[p];
    }
    for (size_t q = mid; q < b && *us; q++) {
        uint32_t p = st->cports[q];
        *ur += fab->cap_in[p] - st->free_in[p] > COFLOW_RATE_EPS * fab->cap_in[p];
    }
}

/* Within a coflow every rate given fills one of its ports, so once all its
 * senders or all its receivers are full the rest of its flows get nothing:
 * the walk stops there. A coflow of m senders and r receivers thus costs
 * O(m + r) plus the flows visited before min(m, r)-ish ports fill, not the
 * m * r flows of a full shuffle. */
void alloc_greedy_pass(coflow_state_t *st, const size_t *order, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    const double *cap_out = st->fab->cap_out, *cap_in = st->fab->cap_in;
    for (size_t i = 0; i < n; i++) {
        size_t c = order[i], us, ur;
        free_ports(st, c, &us, &ur);
        if (!us || !ur)
            continue;
        /* Walk the coflow's flows port group by port group, from the side
         * whose free ports times the other side's width is smaller (FB
         * mappers fill long before reducers): a full port's group is
         * skipped at once and a group's walk stops when its port fills, so
         * a blocked coflow costs about its ports, not its flows. */
        const coflow_coflow_t *co = &wl->coflows[c];
        bool by_src = (double)us * co->n_receivers < (double)ur * co->n_senders;
        size_t a = st->cport_start[c], mid = a + co->n_senders, b = st->cport_start[c + 1];
        size_t lo = by_src ? a : mid, hi = by_src ? mid : b;
        const size_t *grp = by_src ? st->sflows : st->rflows;
        const size_t *start = by_src ? st->sstart : st->rstart;
        const uint32_t *open = by_src ? st->sopen : st->ropen;
        for (size_t q = lo; q < hi && us && ur; q++) {
            uint32_t g = st->cports[q];
            double cap_g = by_src ? cap_out[g] : cap_in[g];
            double *used_g = by_src ? &st->free_out[g] : &st->free_in[g];
            double eps_g = COFLOW_RATE_EPS * cap_g;
            if (cap_g - *used_g <= eps_g)
                continue;
            for (size_t k = start[q], end = start[q] + open[q]; k < end; k++) {
                size_t f = grp[k];
                uint32_t o = by_src ? wl->flows[f].dst : wl->flows[f].src;
                double cap_o = by_src ? cap_in[o] : cap_out[o];
                double free_o = cap_o - (by_src ? st->free_in[o] : st->free_out[o]);
                double eps_o = COFLOW_RATE_EPS * cap_o;
                if (free_o <= eps_o)
                    continue;
                double free_g = cap_g - *used_g;
                double r = free_g < free_o ? free_g : free_o;
                alloc_add_rate(st, f, r);
                /* count a port once, when this rate fills it */
                bool o_full = free_o - r <= eps_o, g_full = free_g - r <= eps_g;
                if (o_full) {
                    if (by_src)
                        ur--;
                    else
                        us--;
                }
                if (g_full) {
                    if (by_src)
                        us--;
                    else
                        ur--;
                    break;
                }
                if (!us || !ur)
                    break;
            }
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
