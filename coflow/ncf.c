/*
 * ncf.c - narrowest first: fewest senders or receivers, whichever is smaller (NCF).
 * Definitions of the Varys paper (Chowdhury et al., SIGCOMM 2014, sec. 5.1),
 * on the coflow's static size, paired with MADD rates as there.
 */
#include "coflow_internal.h"

static weft_err_t ncf_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    coflow_keyctx_t *k = ctx;
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &st->wl->coflows[ids[i]];
        k->key[ids[i]] =
            (double)(co->n_senders < co->n_receivers ? co->n_senders : co->n_receivers);
    }
    coflow_keyctx_sort(k, st, ids, n);
    return WEFT_OK;
}

const coflow_ordering_t coflow_ncf = {
    .name = "ncf",
    .description = "narrowest first: fewest senders or receivers, whichever is smaller (NCF)",
    .default_allocator = "madd",
    .clairvoyant = true,
    .create = coflow_keyctx_create,
    .destroy = coflow_keyctx_destroy,
    .order = ncf_order,
};
