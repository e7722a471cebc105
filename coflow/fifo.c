/*
 * fifo.c - first in, first out: coflows by release time, ties by their
 * job's arrival, then by index. The baseline of the Varys paper (as in
 * Orchestra/Baraat's FIFO).
 *
 * Also the two coflow-agnostic baselines as orderings ("fair", "srf"): their
 * allocators share per flow and ignore the coflow order, so FIFO is only
 * what they hand over.
 */
#include "coflow_internal.h"

#include <stdlib.h>

/* Each coflow's job arrival, copied into one array at create(): a sort
 * reads 8 bytes a coflow instead of a coflow's and a job's records, which
 * on a large workload are cache misses. */
typedef struct {
    double *arrival; /* [n_coflows]: coflow c's job's arrival_s */
} fifo_ctx_t;

static weft_err_t fifo_create(void **ctx, const coflow_state_t *st)
{
    const coflow_workload_t *wl = st->wl;
    fifo_ctx_t *k = weft_calloc(1, sizeof *k);
    if (k)
        k->arrival = weft_calloc(wl->n_coflows ? wl->n_coflows : 1, sizeof *k->arrival);
    if (!k || !k->arrival) {
        free(k);
        return weft_fail(WEFT_ENOMEM, "out of memory for fifo's keys (%zu coflows)",
                         wl->n_coflows);
    }
    for (size_t c = 0; c < wl->n_coflows; c++)
        k->arrival[c] = wl->jobs[wl->coflows[c].job].arrival_s;
    *ctx = k;
    return WEFT_OK;
}

static void fifo_destroy(void *ctx)
{
    fifo_ctx_t *k = ctx;
    if (k)
        free(k->arrival);
    free(k);
}

/* qsort has no context argument in C11; the comparison reads this. */
static _Thread_local const double *fifo_arrival;

static int cmp_arrival(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double ax = fifo_arrival[x], ay = fifo_arrival[y];
    if (ax != ay)
        return ax < ay ? -1 : 1;
    return (x > y) - (x < y);
}

/* Runs up to this long (simultaneous releases) are sorted by insertion,
 * each coflow's job arrival read once. */
#define FIFO_INSERTION_MAX 32

/* ids[0..n) by (job arrival, index), the order of cmp_arrival. */
static void sort_short_run(const double *arrival, size_t *ids, size_t n)
{
    double key[FIFO_INSERTION_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t x = ids[i], j = i;
        double kx = arrival[x];
        for (; j > 0 && (key[j - 1] > kx || (key[j - 1] == kx && ids[j - 1] > x)); j--) {
            key[j] = key[j - 1];
            ids[j] = ids[j - 1];
        }
        key[j] = kx;
        ids[j] = x;
    }
}

/* ids arrive sorted by (release, index): only runs of equal release times
 * need re-sorting, by (job arrival, index). O(n) plus the sort of the
 * runs, which are short except at a burst of simultaneous releases. */
static weft_err_t fifo_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    const fifo_ctx_t *k = ctx;
    fifo_arrival = k->arrival;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && st->release_s[ids[j]] == st->release_s[ids[i]])
            j++;
        if (j - i > FIFO_INSERTION_MAX)
            qsort(ids + i, j - i, sizeof *ids, cmp_arrival);
        else if (j - i > 1)
            sort_short_run(k->arrival, ids + i, j - i);
        i = j;
    }
    return WEFT_OK;
}

const coflow_ordering_t coflow_fifo = {
    .name = "fifo",
    .description = "first in, first out by coflow release time (ties: job arrival)",
    .default_allocator = "greedy",
    .clairvoyant = false,
    .create = fifo_create,
    .destroy = fifo_destroy,
    .order = fifo_order,
};

/* The coflow-agnostic baselines as policies: the order does not matter to
 * their allocators, which share per flow. */
const coflow_ordering_t coflow_fair = {
    .name = "fair",
    .description = "per-flow max-min fair sharing, coflow-agnostic (TCP-like)",
    .default_allocator = "fair",
    .clairvoyant = false,
    .create = fifo_create,
    .destroy = fifo_destroy,
    .order = fifo_order,
};

const coflow_ordering_t coflow_srf = {
    .name = "srf",
    .description = "per-flow shortest remaining first, coflow-agnostic (pFabric-like)",
    .default_allocator = "srf",
    .clairvoyant = true,
    .create = fifo_create,
    .destroy = fifo_destroy,
    .order = fifo_order,
};
