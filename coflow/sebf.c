/*
 * sebf.c - Varys' smallest effective bottleneck first (Chowdhury et al.,
 * SIGCOMM 2014, sec. 5.1): the coflow whose remaining bytes would take the
 * least time through its most loaded port, alone on the fabric, goes first.
 * Paired with MADD by default, as in Varys.
 */
#include "coflow_internal.h"

static weft_err_t sebf_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    coflow_keyctx_t *k = ctx;
    for (size_t i = 0; i < n; i++)
        k->key[ids[i]] = coflow_state_remaining_iso(st, ids[i]);
    coflow_keyctx_sort(k, st, ids, n);
    return WEFT_OK;
}

const coflow_ordering_t coflow_sebf = {
    .name = "sebf",
    .description = "Varys: smallest effective bottleneck (remaining) first",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = coflow_keyctx_create,
    .destroy = coflow_keyctx_destroy,
    .order = sebf_order,
};
