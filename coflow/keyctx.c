/*
 * keyctx.c - the per-run context shared by key-based orderings.
 */
#include "coflow_internal.h"

#include <stdlib.h>
#include <string.h>

weft_err_t coflow_keyctx_create(void **ctx, const coflow_state_t *st)
{
    coflow_keyctx_t *k = calloc(1, sizeof *k);
    if (!k)
        return weft_fail(WEFT_ENOMEM, "out of memory for an ordering's context");
    k->key = weft_calloc(st->wl->n_coflows, sizeof *k->key);
    k->job_acc = weft_calloc(st->wl->n_jobs, sizeof *k->job_acc);
    k->job_acc2 = weft_calloc(st->wl->n_jobs, sizeof *k->job_acc2);
    k->ids = weft_calloc(st->wl->n_coflows, sizeof *k->ids);
    k->sorted = weft_calloc(st->wl->n_coflows, sizeof *k->sorted);
    k->stamp = weft_calloc(st->wl->n_coflows, sizeof *k->stamp);
    k->seq = weft_calloc(st->wl->n_coflows, sizeof *k->seq);
    k->rest = weft_calloc(st->wl->n_coflows, sizeof *k->rest);
    k->iso = weft_calloc(st->wl->n_coflows, sizeof *k->iso);
    k->iso_at = weft_calloc(st->wl->n_coflows, sizeof *k->iso_at);
    k->n_coflows = st->wl->n_coflows;
    k->iso_epoch = 1; /* iso_at starts at 0: nothing current */
    if (!k->key || !k->job_acc || !k->job_acc2 || !k->ids || !k->sorted || !k->stamp ||
        !k->seq || !k->rest || !k->iso || !k->iso_at) {
        coflow_keyctx_destroy(k);
        return weft_fail(WEFT_ENOMEM, "out of memory for an ordering's context");
    }
    *ctx = k;
    return WEFT_OK;
}

void coflow_keyctx_destroy(void *ctx)
{
    coflow_keyctx_t *k = ctx;
    if (!k)
        return;
    free(k->key);
    free(k->job_acc);
    free(k->job_acc2);
    free(k->ids);
    free(k->sorted);
    free(k->stamp);
    free(k->seq);
    free(k->rest);
    free(k->iso);
    free(k->iso_at);
    free(k);
}

double coflow_remaining_path(coflow_state_t *st, size_t c)
{
    return coflow_path_from_iso(st, c, coflow_state_remaining_iso(st, c));
}

void coflow_keyctx_new_decision(coflow_keyctx_t *k)
{
    if (++k->iso_epoch == 0) { /* wrapped: every stamp could read as current */
        memset(k->iso_at, 0, k->n_coflows * sizeof *k->iso_at);
        k->iso_epoch = 1;
    }
}

double coflow_job_work(coflow_keyctx_t *k, coflow_state_t *st, size_t j)
{
    const coflow_workload_t *wl = st->wl;
    const coflow_job_t *job = &wl->jobs[j];
    double work = 0;
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        if (st->status[c] == COFLOW_ACTIVE)
            work += coflow_keyctx_iso(k, st, c);
        else if (st->status[c] == COFLOW_WAITING)
            work += wl->coflows[c].iso_s;
    }
    return work;
}

void coflow_keyctx_job_work(coflow_keyctx_t *k, coflow_state_t *st, const size_t *ids, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    for (size_t i = 0; i < n; i++) {
        size_t j = wl->coflows[ids[i]].job;
        if (k->job_acc2[j] != 0)
            continue;
        k->job_acc2[j] = 1;
        k->job_acc[j] = coflow_job_work(k, st, j) / wl->jobs[j].weight;
    }
}

void coflow_keyctx_clear_jobs(coflow_keyctx_t *k, const coflow_state_t *st, const size_t *ids,
                              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = st->wl->coflows[ids[i]].job;
        k->job_acc[j] = k->job_acc2[j] = 0;
    }
}
