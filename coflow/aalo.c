/*
 * aalo.c - Aalo's Discretized Coflow-Aware Least-Attained Service (D-CLAS;
 * Chowdhury & Stoica, SIGCOMM 2015, sec. 4). Non-clairvoyant: a coflow's
 * queue is set by the bytes its job has already sent over the whole DAG
 * (Aalo's multi-stage extension), with exponentially spaced thresholds
 * 10 MiB x 10^k: queue 0 below 10 MiB, queue 1 below 100 MiB, ... Lower
 * queues first, FIFO within a queue: by release time, ties by coflow index
 * (file order; fifo breaks them by job arrival first).
 *
 * Aalo itself shares bandwidth among queues by weight; weft gives it strict
 * priority with greedy rates by default (the limit of steep queue weights),
 * and any other allocator can be chosen. Queues change only when a job's
 * sent bytes cross a threshold, which next_change() predicts exactly, so no
 * periodic tick is needed.
 */
#include "coflow_internal.h"

#include <math.h>

#define AALO_FIRST_THRESHOLD (10.0 * 1048576.0)
#define AALO_THRESHOLD_FACTOR 10.0
/* A job within this fraction of a threshold has crossed it. The emulator
 * jumps to the time next_change() predicts, and rate * dt can land a few
 * ulps short of the threshold; without the slack the queue would not change
 * and the next prediction would be `now` again. */
#define AALO_REL_TOL 1e-9

static bool aalo_crossed(double sent, double limit)
{
    return sent >= limit * (1 - AALO_REL_TOL);
}

static double aalo_queue(double sent)
{
    double q = 0, limit = AALO_FIRST_THRESHOLD;
    while (aalo_crossed(sent, limit)) {
        q += 1;
        limit *= AALO_THRESHOLD_FACTOR;
    }
    return q;
}

static double aalo_threshold_above(double sent)
{
    double limit = AALO_FIRST_THRESHOLD;
    while (aalo_crossed(sent, limit))
        limit *= AALO_THRESHOLD_FACTOR;
    return limit;
}

/* Queues a bucket pass handles: a job of the readers' most bytes
 * (WORKLOAD_MAX_BYTES, 2^60) reaches queue 12; a higher one is sorted. */
#define AALO_BUCKETS 24

/* ids arrive sorted by release time, then index (coflow.h), which is the
 * order within a queue: a stable pass by queue (the key) gives the order
 * of the sort by (queue, release, index) in O(n), without comparisons.
 * When the ids are not so sorted, or a queue is out of range, the sort. */
static weft_err_t aalo_order(void *ctx, coflow_state_t *st, size_t *ids, size_t n)
{
    coflow_keyctx_t *k = ctx;
    size_t count[AALO_BUCKETS + 1] = {0};
    bool by_buckets = true; /* ids as coflow.h says, every queue a bucket */
    for (size_t i = 0; i < n; i++) {
        size_t c = ids[i];
        double q = aalo_queue(st->job_sent[st->wl->coflows[c].job]);
        k->key[c] = q;
        k->ids[i] = c;
        if (q < AALO_BUCKETS)
            count[(size_t)q + 1]++;
        else
            by_buckets = false;
        if (i > 0) {
            double r0 = st->release_s[ids[i - 1]], r1 = st->release_s[c];
            by_buckets &= r0 < r1 || (r0 == r1 && ids[i - 1] < c);
        }
    }
    k->n_ids = n;
    if (!by_buckets) {
        coflow_keyctx_sort(k, st, ids, n);
        return WEFT_OK;
    }
    for (size_t q = 1; q <= AALO_BUCKETS; q++) /* each queue's first place */
        count[q] += count[q - 1];
    for (size_t i = 0; i < n; i++) { /* k->ids holds them as given */
        size_t c = k->ids[i];
        ids[count[(size_t)k->key[c]]++] = c;
    }
    return WEFT_OK;
}

static double aalo_next_change(void *ctx, const coflow_state_t *st)
{
    coflow_keyctx_t *k = ctx;
    const coflow_workload_t *wl = st->wl;
    /* Each job's current rate: the flows the allocator rated (the others
     * have rate 0) summed per coflow in the order they were rated, then
     * per job in the order of the active list. Summing them in their open
     * order instead, as adding every open flow would, cost a sort of the
     * rated flows at every decision (a sixth of aalo's time on the FB
     * trace) for the same sums up to rounding. */
    for (size_t i = 0; i < k->n_ids; i++) {
        size_t c = k->ids[i];
        k->key[c] = 0;
        if (st->n_rated == 0 && st->status[c] == COFLOW_ACTIVE) /* no list: every flow */
            for (size_t j = 0; j < st->n_open[c]; j++)
                k->key[c] += st->flow_rate[st->open_flows[wl->coflows[c].first_flow + j]];
    }
    /* places in open_flows, sorted: by coflow, then in its open order */
    for (size_t i = 0; i < st->n_rated; i++) {
        size_t f = st->rated[i];
        k->key[st->flow_coflow[f]] += st->flow_rate[f];
    }
    /* a job's coflows are mostly neighbours in the list (released
       together): its sum stays in a register over them, the same
       additions in the same order as through job_acc */
    size_t cur = SIZE_MAX;
    double acc = 0;
    for (size_t i = 0; i < k->n_ids; i++) {
        size_t c = k->ids[i];
        if (st->status[c] != COFLOW_ACTIVE)
            continue;
        size_t job = wl->coflows[c].job;
        if (job != cur) {
            if (cur != SIZE_MAX)
                k->job_acc[cur] = acc;
            cur = job;
            acc = k->job_acc[job];
        }
        acc += k->key[c];
    }
    if (cur != SIZE_MAX)
        k->job_acc[cur] = acc;
    /* each job once: its rate is zeroed (as job_acc must be between
       calls) when its first coflow has read it */
    double next = INFINITY;
    for (size_t i = 0; i < k->n_ids; i++) {
        size_t job = wl->coflows[k->ids[i]].job;
        double rate = k->job_acc[job];
        k->job_acc[job] = 0;
        if (rate > 0) {
            double sent = st->job_sent[job];
            double t = st->now + (aalo_threshold_above(sent) - sent) / rate;
            /* A job short of its threshold by less than its rate sends in
               a step of the clock (a byte at 1e17 bytes/s) crosses at a
               time that rounds to now: still a change, asked for a step
               later (netsim takes it CHANGE_MIN_STEP of the clock later).
               Dropped, the job would keep its queue until the next flow
               finished. */
            if (!(t > st->now))
                t = nextafter(st->now, INFINITY);
            if (t < next)
                next = t;
        }
    }
    return next;
}

const coflow_ordering_t coflow_aalo = {
    .name = "aalo",
    .description = "Aalo D-CLAS: least bytes sent by the job first (10 MiB x10 queues), "
                   "non-clairvoyant",
    .default_allocator = "greedy",
    .clairvoyant = false,
    .create = coflow_keyctx_create,
    .destroy = coflow_keyctx_destroy,
    .order = aalo_order,
    .next_change = aalo_next_change,
};
