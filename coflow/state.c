/*
 * state.c - the live scheduler state shared by the emulator and the gateway.
 *
 * Each coflow's unfinished flows sit at the front of its own slice of
 * open_flows (the slice open_flows[first_flow .. +n_flows)), so finishing a
 * flow is a swap with the last open one: O(1), and walking a coflow's open
 * flows never touches finished ones.
 */
#include "coflow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Groups each coflow's flows by sender (by_src) or by receiver with a
 * counting sort, in flow index order within a group. The group of the port
 * at cports position q is out[start[q] .. start[q+1]); positions of the
 * other side get empty ranges. scratch_out/scratch_in map a port to its
 * position + 1 while one coflow is processed, and are zero again after. */
static void group_flows(coflow_state_t *st, bool by_src, size_t *out, size_t *start,
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
            out[start[GROUP_OF(f)]++] = f;
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
    for (size_t c = 0; c < wl->n_coflows; c++)
        for (size_t q = st->cport_start[c]; q < st->cport_start[c + 1]; q++) {
            open[q] = (uint32_t)(start[q + 1] - start[q]);
            for (size_t k = start[q]; k < start[q + 1]; k++) {
                group[out[k]] = (uint32_t)q;
                where[out[k]] = (uint32_t)k;
            }
        }
}

/* Swaps finished flow f behind the open flows of its group. */
static void group_close(size_t *flows, const size_t *start, uint32_t *open,
                        const uint32_t *group, uint32_t *where, size_t f)
{
    size_t q = group[f];
    size_t last = start[q] + --open[q];
    size_t pos = where[f], g = flows[last];
    flows[pos] = g;
    where[g] = (uint32_t)pos;
    flows[last] = f;
    where[f] = (uint32_t)last;
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
    st->rflows = weft_calloc(nf, sizeof *st->rflows);
    st->rstart = weft_calloc(n_cports + 1, sizeof *st->rstart);
    st->sflows = weft_calloc(nf, sizeof *st->sflows);
    st->sstart = weft_calloc(n_cports + 1, sizeof *st->sstart);
    st->sopen = weft_calloc(n_cports, sizeof *st->sopen);
    st->ropen = weft_calloc(n_cports, sizeof *st->ropen);
    st->sgroup = weft_calloc(nf, sizeof *st->sgroup);
    st->rgroup = weft_calloc(nf, sizeof *st->rgroup);
    st->spos = weft_calloc(nf, sizeof *st->spos);
    st->rpos = weft_calloc(nf, sizeof *st->rpos);
    st->cache_remaining = weft_calloc(nc, sizeof *st->cache_remaining);
    st->cache_open = weft_calloc(nc, sizeof *st->cache_open);
    if (!st->status || !st->release_s || !st->finish_s || !st->coflow_remaining ||
        !st->job_sent || !st->n_open || !st->open_flows || !st->open_pos ||
        !st->flow_remaining || !st->flow_rate || !st->scratch_out || !st->scratch_in ||
        !st->free_out || !st->free_in || !st->touched || !st->flow_list || !st->port_index ||
        !st->heap_key || !st->heap_val || !st->rated || !st->flow_coflow ||
        !st->cport_start || !st->cports || !st->cport_bytes || !st->rflows || !st->rstart ||
        !st->sflows || !st->sstart || !st->sopen || !st->ropen || !st->sgroup ||
        !st->rgroup || !st->spos || !st->rpos || !st->cache_remaining ||
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
        for (size_t i = 0; i < co->n_flows; i++)
            if (!st->scratch_in[fl[i].dst]) {
                st->scratch_in[fl[i].dst] = 1;
                st->cports[k++] = fl[i].dst;
            }
        for (size_t i = 0; i < co->n_flows; i++)
            st->scratch_out[fl[i].src] = st->scratch_in[fl[i].dst] = 0;
        for (size_t i = 0; i < co->n_flows; i++)
            st->flow_coflow[co->first_flow + i] = c;
    }
    st->cport_start[nc] = k;
    group_flows(st, false, st->rflows, st->rstart, st->ropen, st->rgroup, st->rpos);
    group_flows(st, true, st->sflows, st->sstart, st->sopen, st->sgroup, st->spos);
    for (size_t c = 0; c < nc; c++)
        st->cache_remaining[c] = NAN;
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
    free(st->flow_list);
    free(st->port_index);
    free(st->heap_key);
    free(st->heap_val);
    free(st->rated);
    free(st->flow_coflow);
    free(st->cport_start);
    free(st->cports);
    free(st->cport_bytes);
    free(st->rflows);
    free(st->rstart);
    free(st->sflows);
    free(st->sstart);
    free(st->sopen);
    free(st->ropen);
    free(st->sgroup);
    free(st->rgroup);
    free(st->spos);
    free(st->rpos);
    free(st->cache_remaining);
    free(st->cache_open);
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
    if (coflow_state_cache_valid(st, c)) { /* its bytes leave the cache */
        st->cport_bytes[st->sgroup[f]] -= st->flow_remaining[f];
        st->cport_bytes[st->rgroup[f]] -= st->flow_remaining[f];
        st->cache_open[c] = st->n_open[c] - 1;
    }
    st->n_open[c]--;
    group_close(st->sflows, st->sstart, st->sopen, st->sgroup, st->spos, f);
    group_close(st->rflows, st->rstart, st->ropen, st->rgroup, st->rpos, f);
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

const double *coflow_state_port_bytes(coflow_state_t *st, size_t c)
{
    if (coflow_state_cache_valid(st, c))
        return st->cport_bytes + st->cport_start[c];
    return coflow_state_port_bytes_exact(st, c);
}

const double *coflow_state_port_bytes_exact(coflow_state_t *st, size_t c)
{
    size_t a = st->cport_start[c], b = st->cport_start[c + 1];
    double *bytes = st->cport_bytes + a;
    const coflow_coflow_t *co = &st->wl->coflows[c];
    const coflow_flow_t *flows = st->wl->flows;
    size_t mid = a + co->n_senders;
    /* Sum per port through scratch, then read back in cports order. */
    for (size_t i = 0; i < st->n_open[c]; i++) {
        size_t f = st->open_flows[co->first_flow + i];
        st->scratch_out[flows[f].src] += st->flow_remaining[f];
        st->scratch_in[flows[f].dst] += st->flow_remaining[f];
    }
    for (size_t i = a; i < mid; i++) {
        bytes[i - a] = st->scratch_out[st->cports[i]];
        st->scratch_out[st->cports[i]] = 0;
    }
    for (size_t i = mid; i < b; i++) {
        bytes[i - a] = st->scratch_in[st->cports[i]];
        st->scratch_in[st->cports[i]] = 0;
    }
    st->cache_remaining[c] = st->coflow_remaining[c];
    st->cache_open[c] = st->n_open[c];
    return bytes;
}

double coflow_state_remaining_iso(coflow_state_t *st, size_t c)
{
    const double *bytes = coflow_state_port_bytes(st, c);
    size_t a = st->cport_start[c], mid = a + st->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    double worst = 0;
    for (size_t i = a; i < b; i++) {
        double cap = i < mid ? st->fab->cap_out[st->cports[i]] : st->fab->cap_in[st->cports[i]];
        double t = bytes[i - a] / cap;
        if (t > worst)
            worst = t;
    }
    return worst;
}
