/*
 * state.c - the live scheduler state shared by the emulator and the gateway.
 *
 * Each coflow's unfinished flows sit at the front of its own slice of
 * open_flows (the slice open_flows[first_flow .. +n_flows)), so finishing a
 * flow is a swap with the last open one: O(1), and walking a coflow's open
 * flows never touches finished ones.
 */
#include "coflow.h"

#include <stdlib.h>
#include <string.h>

weft_err_t coflow_state_init(coflow_state_t *st, const coflow_workload_t *wl,
                             const coflow_fabric_t *fab)
{
    memset(st, 0, sizeof *st);
    if (fab->n_ports < wl->n_ports)
        return weft_fail(WEFT_EINVAL, "the workload uses %zu ports but the fabric has %zu",
                         wl->n_ports, fab->n_ports);
    size_t nc = wl->n_coflows, nf = wl->n_flows, np = fab->n_ports;
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
    if (!st->status || !st->release_s || !st->finish_s || !st->coflow_remaining ||
        !st->job_sent || !st->n_open || !st->open_flows || !st->open_pos ||
        !st->flow_remaining || !st->flow_rate || !st->scratch_out || !st->scratch_in ||
        !st->free_out || !st->free_in || !st->touched) {
        coflow_state_destroy(st);
        return weft_fail(WEFT_ENOMEM, "out of memory for the state of %zu coflows, %zu flows",
                         nc, nf);
    }
    for (size_t c = 0; c < nc; c++)
        st->coflow_remaining[c] = wl->coflows[c].total_bytes;
    for (size_t f = 0; f < nf; f++) {
        st->flow_remaining[f] = wl->flows[f].bytes;
        st->open_flows[f] = f;
        st->open_pos[f] = f;
    }
    return WEFT_OK;
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
    memset(st, 0, sizeof *st);
}

void coflow_state_release(coflow_state_t *st, size_t c, double now)
{
    st->status[c] = COFLOW_ACTIVE;
    st->release_s[c] = now;
    st->n_open[c] = st->wl->coflows[c].n_flows;
}

bool coflow_state_finish_flow(coflow_state_t *st, size_t f)
{
    const coflow_coflow_t *co = NULL;
    /* Flows are sorted by coflow, so a binary search finds the owner. */
    size_t lo = 0, hi = st->wl->n_coflows;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->wl->coflows[mid].first_flow <= f)
            lo = mid;
        else
            hi = mid;
    }
    size_t c = lo;
    co = &st->wl->coflows[c];
    size_t pos = st->open_pos[f];
    size_t last = co->first_flow + st->n_open[c] - 1;
    size_t g = st->open_flows[last];
    st->open_flows[pos] = g;
    st->open_pos[g] = pos;
    st->open_flows[last] = f;
    st->open_pos[f] = last;
    st->n_open[c]--;
    st->flow_remaining[f] = 0;
    st->flow_rate[f] = 0;
    if (st->n_open[c] == 0) {
        st->status[c] = COFLOW_DONE;
        st->finish_s[c] = st->now;
        st->coflow_remaining[c] = 0;
        return true;
    }
    return false;
}

double coflow_state_remaining_iso(coflow_state_t *st, size_t c)
{
    const coflow_coflow_t *co = &st->wl->coflows[c];
    const coflow_flow_t *flows = st->wl->flows;
    size_t nt = 0;
    for (size_t i = 0; i < st->n_open[c]; i++) {
        size_t f = st->open_flows[co->first_flow + i];
        double r = st->flow_remaining[f];
        uint32_t s = flows[f].src, d = flows[f].dst;
        if (st->scratch_out[s] == 0)
            st->touched[nt++] = s;
        st->scratch_out[s] += r;
        if (st->scratch_in[d] == 0)
            st->touched[nt++] = st->fab->n_ports + d;
        st->scratch_in[d] += r;
    }
    double worst = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t k = st->touched[i];
        double t;
        if (k < st->fab->n_ports) {
            t = st->scratch_out[k] / st->fab->cap_out[k];
            st->scratch_out[k] = 0;
        } else {
            k -= st->fab->n_ports;
            t = st->scratch_in[k] / st->fab->cap_in[k];
            st->scratch_in[k] = 0;
        }
        if (t > worst)
            worst = t;
    }
    return worst;
}
