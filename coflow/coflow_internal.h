/*
 * coflow_internal.h - what the files of coflow/ share and no one else needs:
 * the policy objects the registry lists, and the per-run context most
 * key-based orderings use.
 */
#ifndef COFLOW_INTERNAL_H
#define COFLOW_INTERNAL_H

#include <math.h>

#include "coflow.h"

/* Per-run context of the key-based orderings: one key per coflow and one
 * accumulator per job (zero between calls), plus room for one decision's
 * active list. Allocated once in create(), so a decision never allocates. */
typedef struct {
    double *key;       /* [n_coflows] */
    double *job_acc;   /* [n_jobs] zero between calls */
    double *job_acc2;  /* [n_jobs] zero between calls */
    size_t *ids;       /* [n_coflows] last active list (aalo's next_change) */
    size_t n_ids;
    /* the adaptive sorts' memory (coflow_keyctx_sort): the last order, a
       stamp per coflow, and room for the coflows out of place */
    size_t *sorted;    /* [n_coflows] */
    size_t n_sorted;
    uint32_t *stamp;   /* [n_coflows] */
    uint32_t epoch;
    size_t *seq, *rest; /* [n_coflows] each */
} coflow_keyctx_t;

weft_err_t coflow_keyctx_create(void **ctx, const coflow_state_t *st);
void coflow_keyctx_destroy(void *ctx);

/* Remaining critical path of active coflow c: its remaining bottleneck time
 * plus the heaviest path below it (cp_below_s without its own iso_s). */
double coflow_remaining_path(coflow_state_t *st, size_t c);

/* The exponent e that brings wmax, the largest weight of the jobs
 * deciding (0: none), to [1, 2) when it is below 1, else 0. The weighted
 * orderings (wcp, jsebf, jsebf-cp, sincronia) use each weight times 2^-e,
 * so that their order is one of the weights' ratios alone, as for weights
 * of 1 to 5 also for 2^-1074 to 5 x 2^-1074, which the format accepts (a
 * key of 1 s over those read inf, and every job tied). Never scaled down:
 * beside a weight of 1e15 that would put one of 1e-300 among the
 * subnormals and its key at inf. Only the jobs deciding: a later job must
 * change nothing before it arrives. */
static inline int coflow_weight_exp(double wmax)
{
    return wmax > 0 && wmax < 1 ? ilogb(wmax) : 0;
}

/* A weight as the weighted orderings read it: w * 2^-wexp, wexp from
 * coflow_weight_exp. */
static inline double coflow_scaled_weight(double w, int wexp)
{
    return wexp ? ldexp(w, -wexp) : w;
}

/* Sets k->job_acc[j] to jsebf's key of each job of ids[0..n), which must
 * be every ACTIVE coflow in order of release (then index), marking it in
 * k->job_acc2: the job's remaining work over its weight (scaled with the
 * others', coflow_weight_exp), where the work
 * is the isolation time of its WAITING coflows (coflow_state_waiting_iso)
 * plus, in the order of ids, the remaining bottleneck time of each ACTIVE
 * one. O(n + ports of the coflows whose time is not remembered,
 * coflow_state_keep_iso), whatever the jobs' size. */
void coflow_keyctx_job_work(coflow_keyctx_t *k, coflow_state_t *st, const size_t *ids, size_t n);
/* Divides k->job_acc[j] of each job j of ids[0..n) marked 1 in
 * k->job_acc2 by its weight, scaled with the others' (coflow_weight_exp
 * of wmax, their largest), and marks it 2: once per job. */
void coflow_keyctx_per_weight(coflow_keyctx_t *k, const coflow_workload_t *wl, const size_t *ids,
                              size_t n, double wmax);
/* Zeroes k->job_acc and k->job_acc2 of the jobs of ids[0..n) again. */
void coflow_keyctx_clear_jobs(coflow_keyctx_t *k, const coflow_state_t *st, const size_t *ids,
                              size_t n);

/* Sorts ids[0..n) as coflow_sort_by_key(st, ids, n, k->key) does, to the
 * same order (its comparison is a total order, so every correct sort
 * gives one result), starting from the order this context's last sort
 * gave: between two decisions few coflows change places, so the order is
 * kept for those still in place and only the others (new, or whose key
 * moved them) are sorted and merged in. O(n + r log r) for r out of
 * place, against qsort's O(n log n) comparisons and its allocation. */
void coflow_keyctx_sort(coflow_keyctx_t *k, const coflow_state_t *st, size_t *ids, size_t n);

/* Sorts ids[0..n) by their job's k->job_acc ascending, then by the
 * coflow's k->key descending (within a job the longer own remaining path
 * first), then release time, then index; adaptively, as
 * coflow_keyctx_sort. */
void coflow_sort_job_then_path(coflow_keyctx_t *k, const coflow_state_t *st, size_t *ids,
                               size_t n);

/* Sorts a[0..m) ascending by (key[a[i]], a[i]) without allocating: a
 * bottom-up merge sort through buf[0..m). */
void coflow_merge_sort_by(size_t *a, size_t *buf, size_t m, const double *key);

/* The largest of v[0..n) and 0, four lanes at a time (max needs no
 * order, and a NaN or a -0 never replaces what a lane holds, as in one
 * loop keeping the larger). */
double coflow_max_or_zero(const double *v, size_t n);

/* qsort's comparison of two uint32_t, ascending. */
int coflow_cmp_u32(const void *a, const void *b);

/* True when the greedy walk finds coflow c's open flows through its group
 * sets (gmask) rather than its member lists: then finishing a flow leaves
 * the members where they are (coflow.h). */
static inline bool coflow_group_sets_walk(const coflow_state_t *st, size_t c)
{
    return st->pmask && st->has_group_sets[c];
}

/* True: coflow_keyctx_sort and coflow_sort_job_then_path sort from scratch
 * (qsort, as before they kept the last order); benchmarks/bench_order.c
 * times both ways side by side. */
extern bool coflow_keyctx_sort_fresh;

/* True: the greedy walk keeps no memory of the room of coflows that got
 * nothing (coflow.h, room_seen) and walks every one, as before it did;
 * benchmarks/bench_order.c times both ways side by side. */
extern bool coflow_walk_memory_off;

/* Sincronia's bottleneck search goes by blocks of columns from this many
 * columns (ports with bytes) on, else scans them all (sincronia.c); tests
 * lower it to cover both. */
extern size_t coflow_sinc_blocks_from;

/* coflow_fair_levels finds each round's port with a heap from this many
 * live ports (both sides counted) on, else by a scan (alloc_fair.c); tests
 * lower it to cover both. */
extern size_t coflow_fair_heap_from;

/* States of at most this many ports zero every port's use at once after
 * an allocation, larger ones walk back the list of ports used
 * (COFLOW_CLEAR_ALL_PORTS, coflow_state_t.clear_all_ports); tests set it
 * to 0 to run the list on small fabrics. */
extern size_t coflow_clear_all_ports_max;

/* The jobs' frontiers (frontier.c, coflow_state_t.frontier): built for
 * every coflow WAITING (EINVAL for a parent index past the coflows,
 * ENOMEM); a coflow leaving WAITING; a coflow that became DONE, whose
 * children may become ready. */
weft_err_t coflow_frontier_create(struct coflow_frontier **out, const coflow_workload_t *wl);
void coflow_frontier_free(struct coflow_frontier *fr);
void coflow_frontier_released(struct coflow_frontier *fr, const coflow_workload_t *wl,
                              size_t c);
void coflow_frontier_done(struct coflow_frontier *fr, const coflow_state_t *st, size_t c);

/* Frees the greedy allocator's prefix (alloc_greedy.c); NULL is fine. */
void coflow_greedy_prefix_free(struct coflow_greedy_prefix *p);

/* Orderings. */
extern const coflow_ordering_t coflow_fifo, coflow_scf, coflow_ncf, coflow_lcf, coflow_sebf,
    coflow_aalo, coflow_sincronia, coflow_wcp, coflow_jsebf, coflow_jsebf_cp,
    coflow_fair, coflow_srf;
extern const coflow_ordering_t coflow_learned; /* learned.c */

/* Allocators. */
extern const coflow_allocator_t coflow_alloc_greedy, coflow_alloc_madd, coflow_alloc_fair,
    coflow_alloc_srf;

/* Rates below this many bytes/s are treated as no capacity at all, so float
 * residue of a saturated port never becomes a trickle flow. */
#define COFLOW_RATE_EPS 1e-9

#endif
