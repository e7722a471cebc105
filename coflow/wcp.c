/*
 * wcp.c - weighted shortest remaining critical path first (DAG-aware).
 *
 * A job's remaining critical path RCP(j) is the longest chain of work it
 * still owes, over its "frontier" coflows:
 *   - an ACTIVE coflow c contributes remaining_iso(c) + (cp_below_s(c) -
 *     iso_s(c)): the bottleneck time c still needs alone on the fabric, plus
 *     the heaviest path of compute and isolation times below it (and the
 *     job's final compute for a sink);
 *   - a WAITING coflow c whose parents are all DONE (its inputs are ready,
 *     its sending stage is still computing) contributes max(0, ready +
 *     compute_s(c) - now) + cp_below_s(c), where ready is its last parent's
 *     finish (the job's arrival for a root).
 * Every other unfinished coflow lies below one of these, so it is already
 * counted in their cp_below_s.
 * Every active coflow of job j gets key RCP(j) / weight(j), smallest first
 * (the weights scaled together by a power of two, coflow_weight_exp):
 * Smith's rule (weighted shortest job first) with the critical path as the
 * job's size; on a single-coflow trace it is SEBF weighted by job. Within a
 * job the coflow with the longer own path goes first (it gates the job);
 * then release time, then index.
 *
 * Default allocator MADD: it finishes the first coflow exactly at its
 * remaining bottleneck time, the quantity the key is built from, and its
 * backfilling pass keeps it as work-conserving as greedy.
 *
 * Cost per decision: O(open flows of the active coflows + the active
 * jobs' ready waiting coflows and their parent links + n log n).
 */
#include "coflow_internal.h"

#include <math.h>

/* Longest remaining path through job j's waiting coflows whose inputs are
 * ready: the state keeps them (coflow_state_ready_waiting), so this costs
 * O(those coflows and their parent links), not O(the job's coflows). */
static double waiting_path(const coflow_state_t *st, size_t j)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_job_t *job = &wl->jobs[j];
    const size_t *ready_list;
    size_t n_ready = coflow_state_ready_waiting(st, j, &ready_list);
    double best = 0;
    for (size_t i = 0; i < n_ready; i++) {
        const coflow_coflow_t *co = &wl->coflows[ready_list[i]];
        double ready = job->arrival_s; /* a root's inputs: the job's arrival */
        for (size_t q = 0; q < co->n_parents; q++) {
            size_t p = wl->parents[co->first_parent + q];
            if (q == 0 || st->finish_s[p] > ready)
                ready = st->finish_s[p];
        }
        double path = fmax(0, ready + co->compute_s - st->now) + co->cp_below_s;
        if (path > best)
            best = path;
    }
    return best;
}

static weft_err_t wcp_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    coflow_keyctx_t *k = ctx;
    const coflow_workload_t *wl = st->wl;
    /* job_acc2 marks the jobs seen in this decision; job_acc collects RCP. */
    double wmax = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        size_t j = wl->coflows[c].job;
        if (k->job_acc2[j] == 0) {
            k->job_acc2[j] = 1;
            k->job_acc[j] = waiting_path(st, j);
            wmax = fmax(wmax, wl->jobs[j].weight);
        }
        double path = coflow_remaining_path(st, c);
        k->key[c] = path;
        if (path > k->job_acc[j])
            k->job_acc[j] = path;
    }
    coflow_keyctx_per_weight(k, wl, ids, n, wmax);
    coflow_sort_job_then_path(k, st, ids, n);
    coflow_keyctx_clear_jobs(k, st, ids, n);
    return WEFT_OK;
}

const coflow_ordering_t coflow_wcp = {
    .name = "wcp",
    .description = "DAG-aware: weighted shortest remaining critical path of the job first, "
                   "longest remaining path first inside a job",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = coflow_keyctx_create,
    .destroy = coflow_keyctx_destroy,
    .order = wcp_order,
};
