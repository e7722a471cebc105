/*
 * jsebf.c - job-level SEBF (DAG-aware): SEBF's bottleneck rule lifted from
 * one coflow to the job's whole remaining DAG.
 *
 * A job's remaining work is the sum, over its unfinished coflows, of their
 * bottleneck times: remaining_iso for active ones, iso_s for those still
 * waiting. Every active coflow of job j gets key = work(j) / weight(j),
 * smallest first (Smith's rule on total remaining work rather than on the
 * critical path as wcp does: a wide job with many parallel coflows counts
 * as big even when its DAG is shallow). Within a job, release order.
 * Unfinished coflows: remaining_iso for ACTIVE ones, iso_s for WAITING
 * ones (their sum kept by the state as they are released, to 2^-62 of the
 * job's largest isolation time: coflow_state_waiting_iso), nothing for DONE
 * ones. Cost per decision:
 * O(open flows of the active coflows + n log n), whatever the size of
 * their jobs.
 *
 * Default allocator MADD, as for SEBF in Varys: the first coflow finishes
 * exactly at its remaining bottleneck time (the quantity the key sums) and
 * the backfilling pass keeps it as work-conserving as greedy.
 */
#include "coflow_internal.h"

static weft_err_t jsebf_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    coflow_keyctx_t *k = ctx;
    coflow_keyctx_job_work(k, st, ids, n);
    for (size_t i = 0; i < n; i++)
        k->key[ids[i]] = k->job_acc[st->wl->coflows[ids[i]].job];
    coflow_keyctx_clear_jobs(k, st, ids, n);
    coflow_keyctx_sort(k, st, ids, n);
    return WEFT_OK;
}

const coflow_ordering_t coflow_jsebf = {
    .name = "jsebf",
    .description = "DAG-aware: job-level SEBF, weighted smallest remaining job bottleneck "
                   "work first",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = coflow_keyctx_create,
    .destroy = coflow_keyctx_destroy,
    .order = jsebf_order,
};
