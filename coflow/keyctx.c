/*
 * keyctx.c - the per-run context shared by key-based orderings.
 */
#include "coflow_internal.h"

#include <stdlib.h>

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
    if (!k->key || !k->job_acc || !k->job_acc2 || !k->ids || !k->sorted || !k->stamp ||
        !k->seq || !k->rest) {
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
    free(k);
}

double coflow_remaining_path(coflow_state_t *st, size_t c)
{
    const coflow_coflow_t *co = &st->wl->coflows[c];
    return coflow_state_remaining_iso(st, c) + (co->cp_below_s - co->iso_s);
}

void coflow_keyctx_job_work(coflow_keyctx_t *k, coflow_state_t *st, const size_t *ids, size_t n)
{
    const coflow_workload_t *wl = st->wl;
    double wmax = 0;
    for (size_t i = 0; i < n; i++) { /* ids hold every ACTIVE coflow */
        size_t j = wl->coflows[ids[i]].job;
        if (k->job_acc2[j] == 0) {
            k->job_acc2[j] = 1;
            k->job_acc[j] = coflow_state_waiting_iso(st, j);
            wmax = fmax(wmax, wl->jobs[j].weight);
        }
        k->job_acc[j] += coflow_state_remaining_iso(st, ids[i]);
    }
    coflow_keyctx_per_weight(k, wl, ids, n, wmax);
}

void coflow_keyctx_per_weight(coflow_keyctx_t *k, const coflow_workload_t *wl, const size_t *ids,
                              size_t n, double wmax)
{
    int wexp = coflow_weight_exp(wmax);
    for (size_t i = 0; i < n; i++) {
        size_t j = wl->coflows[ids[i]].job;
        if (k->job_acc2[j] == 1) {
            k->job_acc2[j] = 2;
            k->job_acc[j] /= coflow_scaled_weight(wl->jobs[j].weight, wexp);
        }
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
