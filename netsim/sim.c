/*
 * sim.c - netsim_run(): the event loop of the flow-level emulator.
 *
 * Between two events every rate is constant, so the loop jumps from event to
 * event: the next one is the earliest of the next job arrival, the next
 * pending coflow release (a min-heap keyed by (time, index)), the next flow
 * finish (min over moving flows of remaining / rate), the next policy tick
 * and the ordering's next_change(). At an event the moving flows advance by
 * rate * dt, every flow that is done within a small tolerance finishes (so
 * simultaneous finishes are one event), finished coflows unlock their
 * children, arrivals and due releases are taken, and then one decision
 * re-orders the ACTIVE coflows and re-allocates every rate from zero.
 *
 * Data-structure invariants (between events):
 *  - active[0..n_active) holds exactly the ACTIVE coflows, sorted by
 *    (release time, index): the order orderings receive;
 *  - run[0..n_run) holds exactly the open flows of ACTIVE coflows with a
 *    positive rate (the allocator's st->rated list); every other flow has
 *    rate 0. So the decision only zeroes run[] instead of every open flow,
 *    and advancing touches only flows that move: a decision costs what the
 *    ordering and the allocator cost, never a walk over idle open flows;
 *  - the heap holds the coflows whose parents are all done (or roots of
 *    arrived jobs) and which wait for their compute time to pass.
 * Nothing is allocated inside the loop: every array is sized up front.
 */
#include "netsim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../dag/dag.h"

/* A flow is finished when what is left is at most this fraction of its size
 * (floating-point residue of rate * dt), ... */
#define FINISH_REL_TOL 1e-9
/* ... or would take less than this fraction of the current time to send, so
 * `now + remaining / rate` could not move the clock forward. */
#define FINISH_TIME_TOL 1e-12
/* Capacity check slack, and the slack of the end-of-run checks. */
#define CAP_TOL 1e-9
/* A port counts as full for the work-conservation check above this share. */
#define WORK_TOL 1e-6
#define CONSERVE_TOL 1e-6
#define TIME_TOL 1e-9

typedef struct {
    double t; /* release time */
    size_t c; /* coflow index */
} pending_t;

typedef struct {
    size_t f, c; /* flow and its coflow */
    double rate; /* its rate, bytes/s, > 0 */
} moving_t;

typedef struct {
    const coflow_workload_t *wl;
    const coflow_fabric_t *fab;
    const netsim_opts_t *opts;
    const coflow_ordering_t *ord;
    const coflow_allocator_t *alloc;
    void *ctx;
    coflow_state_t st;
    netsim_result_t *res;

    size_t *job_order; /* [n_jobs] jobs by (arrival, index) */
    size_t next_job;   /* jobs job_order[0..next_job) have arrived */
    size_t *job_left;  /* [n_jobs] coflows not yet DONE */

    size_t *child_start; /* [n_coflows + 1] children CSR offsets */
    size_t *child_list;  /* [n_parents] child coflow indices */
    size_t *parents_left;/* [n_coflows] parents not yet DONE */
    double *ready_s;     /* [n_coflows] last parent finish so far */

    pending_t *heap; /* [n_coflows] min-heap by (t, c) */
    size_t n_heap;

    size_t *active; /* [n_coflows] ACTIVE coflows by (release, index) */
    size_t n_active;
    size_t *ids;    /* [n_coflows] handed to the ordering */
    size_t n_done_coflows_pending; /* coflows finished since last compaction */

    moving_t *run; /* [n_flows] flows with a positive rate */
    size_t n_run;
    double next_finish_dt; /* min over run of remaining / rate */
    moving_t *done; /* [n_flows] flows finishing at this event */
    size_t n_done;
    size_t n_open_total; /* open flows of ACTIVE coflows */

    double tick_s, tick0;
    double moved; /* integral of all rates over time, bytes */
    double *chk_out, *chk_in; /* [n_ports] zero between uses */
} sim_t;

/* ------------------------------------------------------------ violations */

static void violation(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(sim_t *s, const char *fmt, ...)
{
    if (s->res->n_violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->res->first_violation, sizeof s->res->first_violation, fmt, ap);
        va_end(ap);
    }
}

/* ------------------------------------------------------------------ heap */

static bool pending_less(const pending_t *a, const pending_t *b)
{
    return a->t < b->t || (a->t == b->t && a->c < b->c);
}

static void heap_push(sim_t *s, double t, size_t c)
{
    size_t i = s->n_heap++;
    pending_t x = {t, c};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!pending_less(&x, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = x;
}

static pending_t heap_pop(sim_t *s)
{
    pending_t top = s->heap[0];
    pending_t x = s->heap[--s->n_heap];
    size_t n = s->n_heap, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const pending_t *best = &x;
        if (l < n && pending_less(&s->heap[l], best))
            m = l, best = &s->heap[l];
        if (l + 1 < n && pending_less(&s->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (n > 0)
        s->heap[i] = x;
    return top;
}

/* ----------------------------------------------------------------- setup */

/* qsort has no context in C11: sort (arrival, index) pairs instead. */
typedef struct {
    double arrival;
    size_t j;
} job_key_t;

static int cmp_job_key(const void *a, const void *b)
{
    const job_key_t *x = a, *y = b;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static void sim_free(sim_t *s)
{
    if (s->ctx && s->ord->destroy)
        s->ord->destroy(s->ctx);
    coflow_state_destroy(&s->st);
    free(s->job_order);
    free(s->job_left);
    free(s->child_start);
    free(s->child_list);
    free(s->parents_left);
    free(s->ready_s);
    free(s->heap);
    free(s->active);
    free(s->ids);
    free(s->run);
    free(s->done);
    free(s->chk_out);
    free(s->chk_in);
}

static weft_err_t sim_setup(sim_t *s)
{
    const coflow_workload_t *wl = s->wl;
    size_t nj = wl->n_jobs, nc = wl->n_coflows, nf = wl->n_flows;
    weft_err_t err = coflow_state_init(&s->st, wl, s->fab);
    if (err)
        return err;
    s->st.model_path = s->opts->model_path; /* for orderings that load a model */
    s->st.policy_seed = s->opts->policy_seed;
    s->st.policy_hook = s->opts->policy_hook;
    s->job_order = weft_calloc(nj, sizeof *s->job_order);
    s->job_left = weft_calloc(nj, sizeof *s->job_left);
    s->child_start = weft_calloc(nc + 1, sizeof *s->child_start);
    s->child_list = weft_calloc(wl->n_parents, sizeof *s->child_list);
    s->parents_left = weft_calloc(nc, sizeof *s->parents_left);
    s->ready_s = weft_calloc(nc, sizeof *s->ready_s);
    s->heap = weft_calloc(nc, sizeof *s->heap);
    s->active = weft_calloc(nc, sizeof *s->active);
    s->ids = weft_calloc(nc, sizeof *s->ids);
    s->run = weft_calloc(nf, sizeof *s->run);
    s->done = weft_calloc(nf, sizeof *s->done);
    s->chk_out = weft_calloc(s->fab->n_ports, sizeof *s->chk_out);
    s->chk_in = weft_calloc(s->fab->n_ports, sizeof *s->chk_in);
    job_key_t *keys = weft_calloc(nj, sizeof *keys);
    if (!s->job_order || !s->job_left || !s->child_start || !s->child_list ||
        !s->parents_left || !s->ready_s || !s->heap || !s->active || !s->ids || !s->run ||
        !s->done || !s->chk_out || !s->chk_in || !keys) {
        free(keys);
        return weft_fail(WEFT_ENOMEM, "out of memory for the emulator (%zu coflows, %zu flows)",
                         nc, nf);
    }
    for (size_t j = 0; j < nj; j++) {
        keys[j].arrival = wl->jobs[j].arrival_s;
        keys[j].j = j;
        s->job_left[j] = wl->jobs[j].n_coflows;
    }
    qsort(keys, nj, sizeof *keys, cmp_job_key);
    for (size_t j = 0; j < nj; j++)
        s->job_order[j] = keys[j].j;
    free(keys);

    /* Children in CSR form, from the parents lists. */
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        s->parents_left[c] = co->n_parents;
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t p = wl->parents[co->first_parent + k];
            if (p >= nc)
                return weft_fail(WEFT_EINVAL, "coflow %zu has parent index %zu of %zu coflows",
                                 c, p, nc);
            s->child_start[p + 1]++;
        }
    }
    for (size_t c = 0; c < nc; c++)
        s->child_start[c + 1] += s->child_start[c];
    size_t *cursor = weft_calloc(nc, sizeof *cursor);
    if (!cursor)
        return weft_fail(WEFT_ENOMEM, "out of memory for the children of %zu coflows", nc);
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t p = wl->parents[co->first_parent + k];
            s->child_list[s->child_start[p] + cursor[p]++] = c;
        }
    }
    free(cursor);

    s->tick_s = s->opts->tick_s > 0 ? s->opts->tick_s : s->ord->tick_s;
    if (!(s->tick_s >= 0) || isinf(s->tick_s))
        s->tick_s = 0;
    if (s->ord->create) {
        err = s->ord->create(&s->ctx, &s->st);
        if (err)
            return weft_wrap(err, "ordering '%s': ", s->ord->name);
    }
    return WEFT_OK;
}

/* --------------------------------------------------------------- events */

/* Adds the roots of every job arrived by `now` to the release heap. */
static void take_arrivals(sim_t *s, double now)
{
    const coflow_workload_t *wl = s->wl;
    while (s->next_job < wl->n_jobs && wl->jobs[s->job_order[s->next_job]].arrival_s <= now) {
        const coflow_job_t *job = &wl->jobs[s->job_order[s->next_job++]];
        for (size_t k = 0; k < job->n_coflows; k++) {
            size_t c = job->first_coflow + k;
            if (wl->coflows[c].n_parents == 0)
                heap_push(s, job->arrival_s + wl->coflows[c].compute_s, c);
        }
    }
}

/* Releases every pending coflow due by `now`, keeping active[] sorted. */
static void take_releases(sim_t *s, double now)
{
    while (s->n_heap > 0 && s->heap[0].t <= now) {
        pending_t p = heap_pop(s);
        coflow_state_release(&s->st, p.c, p.t);
        s->n_open_total += s->wl->coflows[p.c].n_flows;
        /* Releases come in time order, so this is almost always an append. */
        size_t i = s->n_active++;
        while (i > 0) {
            size_t q = s->active[i - 1];
            double tq = s->st.release_s[q];
            if (tq < p.t || (tq == p.t && q < p.c))
                break;
            s->active[i] = q;
            i--;
        }
        s->active[i] = p.c;
    }
}

/* Moves every flow by rate * dt and collects the ones that are done. The
 * clock must already read the new time. Allocators list a coflow's flows
 * together, so each run of one coflow's bytes is summed first and added to
 * coflow_remaining and job_sent once: adding each flow's few bytes to a job total of 1e11 bytes one by one
 * would round most of them away (and an ordering watching job_sent, like
 * Aalo's queue thresholds, would wait forever for a crossing). */
static void advance(sim_t *s, double dt)
{
    coflow_state_t *st = &s->st;
    const coflow_flow_t *flows = s->wl->flows;
    const coflow_coflow_t *coflows = s->wl->coflows;
    double now = st->now, moved = 0, acc = 0;
    size_t cur = s->n_run ? s->run[0].c : 0;
    /* A coflow's cached per-port bytes (coflow.h) are kept exact here, so
     * paced policies never rebuild them from every open flow. A finishing
     * flow's bytes leave the cache in coflow_state_finish_flow. */
    bool cached = s->n_run && coflow_state_cache_valid(st, cur);
    s->n_done = 0;
    for (size_t k = 0; k < s->n_run; k++) {
        moving_t *m = &s->run[k];
        if (m->c != cur) {
            st->coflow_remaining[cur] -= acc;
            st->job_sent[coflows[cur].job] += acc;
            if (cached)
                st->cache_remaining[cur] = st->coflow_remaining[cur];
            acc = 0;
            cur = m->c;
            cached = coflow_state_cache_valid(st, cur);
        }
        double rem = st->flow_remaining[m->f];
        double sent = m->rate * dt;
        moved += sent;
        double left = rem - sent;
        if (left <= FINISH_REL_TOL * flows[m->f].bytes || left <= m->rate * now * FINISH_TIME_TOL) {
            sent = rem; /* the residue counts as sent: bytes stay conserved */
            s->done[s->n_done++] = *m;
        } else {
            st->flow_remaining[m->f] = left;
            if (cached) {
                /* the flow's own rounding: rem - sent == left + e exactly,
                   so it really lost sent + e */
                double bb = left - rem;
                double e = (rem - (left - bb)) + (-sent - bb);
                coflow_state_cache_sub(st, st->sgroup[m->f], sent, e);
                coflow_state_cache_sub(st, st->rgroup[m->f], sent, e);
            }
        }
        acc += sent;
    }
    if (s->n_run) {
        st->coflow_remaining[cur] -= acc;
        st->job_sent[coflows[cur].job] += acc;
        if (cached)
            st->cache_remaining[cur] = st->coflow_remaining[cur];
    }
    s->moved += moved;
}

/* A coflow just finished at st.now: unlock its children, maybe its job. */
static void coflow_done(sim_t *s, size_t c)
{
    const coflow_workload_t *wl = s->wl;
    double now = s->st.now;
    size_t j = wl->coflows[c].job;
    if (--s->job_left[j] == 0)
        s->res->job_finish_s[j] = now + wl->jobs[j].final_compute_s;
    for (size_t k = s->child_start[c]; k < s->child_start[c + 1]; k++) {
        size_t ch = s->child_list[k];
        if (now > s->ready_s[ch])
            s->ready_s[ch] = now;
        if (--s->parents_left[ch] == 0)
            heap_push(s, s->ready_s[ch] + wl->coflows[ch].compute_s, ch);
    }
    s->n_done_coflows_pending++;
}

static void finish_done_flows(sim_t *s)
{
    for (size_t k = 0; k < s->n_done; k++) {
        moving_t *m = &s->done[k];
        s->n_open_total--;
        if (coflow_state_finish_flow(&s->st, m->f))
            coflow_done(s, m->c);
    }
    s->n_done = 0;
    if (s->n_done_coflows_pending) {
        size_t w = 0;
        for (size_t i = 0; i < s->n_active; i++)
            if (s->st.status[s->active[i]] == COFLOW_ACTIVE)
                s->active[w++] = s->active[i];
        s->n_active = w;
        s->n_done_coflows_pending = 0;
    }
}

/* ------------------------------------------------------------- decision */

static void check_capacity(sim_t *s)
{
    const coflow_flow_t *flows = s->wl->flows;
    const coflow_fabric_t *fab = s->fab;
    coflow_state_t *st = &s->st;
    for (size_t k = 0; k < s->n_run; k++) {
        s->chk_out[flows[s->run[k].f].src] += s->run[k].rate;
        s->chk_in[flows[s->run[k].f].dst] += s->run[k].rate;
    }
    for (size_t k = 0; k < s->n_run; k++) {
        uint32_t p = flows[s->run[k].f].src, q = flows[s->run[k].f].dst;
        if (s->chk_out[p] > fab->cap_out[p] * (1 + CAP_TOL))
            violation(s, "t=%.9g s: port %u sends %.9g bytes/s, above its capacity %.9g",
                      st->now, p, s->chk_out[p], fab->cap_out[p]);
        if (s->chk_in[q] > fab->cap_in[q] * (1 + CAP_TOL))
            violation(s, "t=%.9g s: port %u receives %.9g bytes/s, above its capacity %.9g",
                      st->now, q, s->chk_in[q], fab->cap_in[q]);
    }
    /* Work conservation, which every allocator here promises (greedy and
     * srf by construction, madd by its backfill, fair as max-min): an open
     * flow of an active coflow has at least one full port, or it could have
     * been given more. */
    for (size_t i = 0; i < s->n_active && s->alloc->work_conserving; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + s->wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++) {
            uint32_t p = flows[open[k]].src, q = flows[open[k]].dst;
            if (s->chk_out[p] < fab->cap_out[p] * (1 - WORK_TOL) &&
                s->chk_in[q] < fab->cap_in[q] * (1 - WORK_TOL)) {
                violation(s,
                          "t=%.9g s: not work-conserving: flow %zu (%u->%u) of coflow %lld "
                          "gets %.9g bytes/s while both its ports have room (%.9g and %.9g "
                          "bytes/s used)",
                          st->now, open[k], p, q, (long long)s->wl->coflows[c].id,
                          st->flow_rate[open[k]], s->chk_out[p], s->chk_in[q]);
                break;
            }
        }
    }
    for (size_t k = 0; k < s->n_run; k++) {
        s->chk_out[flows[s->run[k].f].src] = 0;
        s->chk_in[flows[s->run[k].f].dst] = 0;
    }
}

/* Orders the active coflows, allocates rates from zero and rebuilds run[]. */
static weft_err_t decide(sim_t *s)
{
    coflow_state_t *st = &s->st;
    for (size_t k = 0; k < s->n_run; k++)
        st->flow_rate[s->run[k].f] = 0;
    s->n_run = 0;
    s->next_finish_dt = INFINITY;
    if (s->n_active == 0)
        return WEFT_OK;
    memcpy(s->ids, s->active, s->n_active * sizeof *s->ids);
    s->ord->order(s->ctx, st, s->ids, s->n_active);
    st->n_rated = 0;
    s->alloc->allocate(st, s->ids, s->n_active);
    s->res->n_decisions++;

    /* run[] is exactly what the allocator rated (coflow.h contract), so a
     * decision never walks the open flows that did not move. */
    double best = INFINITY;
    for (size_t k = 0; k < st->n_rated; k++) {
        size_t f = st->rated[k];
        double r = st->flow_rate[f];
        size_t c = st->flow_coflow[f];
        if (!(r > 0 && r < INFINITY) || st->status[c] != COFLOW_ACTIVE)
            return weft_fail(WEFT_EINTERNAL,
                             "allocator '%s' (ordering '%s') gave flow %zu of coflow %zu "
                             "the rate %g at t=%.9g s; expected a finite rate > 0 for an "
                             "open flow of an active coflow",
                             s->alloc->name, s->ord->name, f, c, r, st->now);
        s->run[s->n_run++] = (moving_t){f, c, r};
        /* divide only where the quotient may be a new minimum: the
           product test lets through everything within a few ulps */
        if (st->flow_remaining[f] <= best * r * (1 + 1e-14)) {
            double dt = st->flow_remaining[f] / r;
            if (dt < best)
                best = dt;
        }
    }
    if (s->opts->check) { /* nothing moves that was not listed */
        size_t positive = 0;
        for (size_t i = 0; i < s->n_active; i++) {
            size_t c = s->active[i];
            const size_t *open = st->open_flows + s->wl->coflows[c].first_flow;
            for (size_t k = 0; k < st->n_open[c]; k++)
                positive += st->flow_rate[open[k]] != 0;
        }
        if (positive != st->n_rated)
            violation(s, "allocator '%s' set %zu nonzero rates but listed %zu as rated",
                      s->alloc->name, positive, st->n_rated);
    }
    s->next_finish_dt = best;
    if (s->n_open_total > s->res->max_active_flows)
        s->res->max_active_flows = s->n_open_total;
    if (s->opts->check)
        check_capacity(s);
    return WEFT_OK;
}

/* --------------------------------------------------------------- checks */

static void check_end(sim_t *s)
{
    const coflow_workload_t *wl = s->wl;
    coflow_state_t *st = &s->st;
    double total = coflow_workload_total_bytes(wl);
    if (fabs(s->moved - total) > CONSERVE_TOL * total)
        violation(s, "bytes not conserved: rates over time moved %.17g bytes, flows hold %.17g",
                  s->moved, total);
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        const coflow_job_t *job = &wl->jobs[co->job];
        if (st->status[c] != COFLOW_DONE || st->n_open[c] != 0) {
            violation(s, "coflow %lld of job %lld never finished (%zu flows open)",
                      (long long)co->id, (long long)job->id, st->n_open[c]);
            continue;
        }
        double ready = job->arrival_s;
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t p = wl->parents[co->first_parent + k];
            if (st->status[p] != COFLOW_DONE)
                ready = INFINITY;
            else if (st->finish_s[p] > ready || k == 0)
                ready = st->finish_s[p];
        }
        ready += co->compute_s;
        double rel = st->release_s[c];
        if (rel < ready - TIME_TOL * fmax(1, fabs(ready)))
            violation(s, "coflow %lld of job %lld released at %.9g s, before its inputs were "
                      "ready (%.9g s)", (long long)co->id, (long long)job->id, rel, ready);
        double iso = dag_coflow_iso(wl, s->fab, c, s->chk_out, s->chk_in);
        double cct = st->finish_s[c] - rel;
        if (cct < iso * (1 - TIME_TOL) - TIME_TOL * fmax(1, fabs(rel)))
            violation(s, "coflow %lld of job %lld: CCT %.9g s is below its isolation time "
                      "%.9g s", (long long)co->id, (long long)job->id, cct, iso);
    }
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        if (s->job_left[j] != 0)
            continue; /* its coflows were reported above */
        double jct = s->res->job_finish_s[j] - job->arrival_s;
        if (jct < job->lower_bound_s * (1 - TIME_TOL) - TIME_TOL * fmax(1, job->arrival_s))
            violation(s, "job %lld: JCT %.9g s is below its lower bound %.9g s",
                      (long long)job->id, jct, job->lower_bound_s);
    }
}

/* --------------------------------------------------------------- metrics */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) in place and summarises it. */
static netsim_dist_t dist_of(double *v, size_t n)
{
    netsim_dist_t d = {0, 0, 0, 0, 0};
    if (n == 0)
        return d;
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    d.avg = sum / (double)n;
    const double ps[3] = {0.50, 0.95, 0.99};
    double *out[3] = {&d.p50, &d.p95, &d.p99};
    for (int k = 0; k < 3; k++) {
        /* nearest rank: ceil(p * n), 1-based; the small slack keeps
           0.95 * 100 from rounding up to 96 */
        size_t rank = (size_t)ceil(ps[k] * (double)n - 1e-9);
        if (rank < 1)
            rank = 1;
        if (rank > n)
            rank = n;
        *out[k] = v[rank - 1];
    }
    d.max = v[n - 1];
    return d;
}

static weft_err_t summarise(sim_t *s)
{
    const coflow_workload_t *wl = s->wl;
    netsim_result_t *r = s->res;
    size_t nc = wl->n_coflows, nj = wl->n_jobs;
    memcpy(r->coflow_release_s, s->st.release_s, nc * sizeof(double));
    memcpy(r->coflow_finish_s, s->st.finish_s, nc * sizeof(double));
    double *v = weft_calloc(nc > nj ? nc : nj, sizeof *v);
    if (!v)
        return weft_fail(WEFT_ENOMEM, "out of memory summarising %zu coflows", nc);
    for (size_t c = 0; c < nc; c++)
        v[c] = r->coflow_finish_s[c] - r->coflow_release_s[c];
    r->cct = dist_of(v, nc);
    double wsum = 0, first = INFINITY, last = 0;
    for (size_t j = 0; j < nj; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        v[j] = r->job_finish_s[j] - job->arrival_s;
        wsum += job->weight * v[j];
        if (job->arrival_s < first)
            first = job->arrival_s;
        if (r->job_finish_s[j] > last)
            last = r->job_finish_s[j];
    }
    r->jct = dist_of(v, nj);
    free(v);
    r->n_jobs = nj;
    r->n_coflows = nc;
    r->n_flows = wl->n_flows;
    r->total_bytes = coflow_workload_total_bytes(wl);
    r->avg_weighted_jct = nj ? wsum / (double)nj : 0;
    r->weighted_bound = dag_weighted_bound(wl);
    r->slowdown_vs_bound = r->weighted_bound > 0 ? r->avg_weighted_jct / r->weighted_bound : 0;
    r->makespan_s = nj ? last - first : 0;
    double cap = 0;
    for (size_t p = 0; p < s->fab->n_ports; p++)
        cap += s->fab->cap_out[p];
    r->port_utilization = r->makespan_s > 0 ? r->total_bytes / (cap * r->makespan_s) : 0;
    return WEFT_OK;
}

/* ------------------------------------------------------------------ run */

void netsim_result_init(netsim_result_t *r) { memset(r, 0, sizeof *r); }

void netsim_result_destroy(netsim_result_t *r)
{
    free(r->coflow_release_s);
    free(r->coflow_finish_s);
    free(r->job_finish_s);
    memset(r, 0, sizeof *r);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The earliest next event after s->st.now; INFINITY if none. Sets
 * *external when an arrival or release is pending (events that change the
 * state without any flow moving), and *by_change when the ordering's
 * next_change() is the earliest. */
static double next_event(sim_t *s, bool *external, bool *by_change)
{
    const coflow_workload_t *wl = s->wl;
    double now = s->st.now, t = INFINITY;
    *external = false;
    *by_change = false;
    if (s->next_job < wl->n_jobs) {
        t = wl->jobs[s->job_order[s->next_job]].arrival_s;
        *external = true;
    }
    if (s->n_heap > 0) {
        if (s->heap[0].t < t)
            t = s->heap[0].t;
        *external = true;
    }
    if (s->n_run > 0 && now + s->next_finish_dt < t)
        t = now + s->next_finish_dt;
    if (s->n_active > 0 && s->n_run > 0) {
        /* Ticks and next_change only matter while something moves: with no
           rate anywhere nothing an ordering reads can change. */
        if (s->tick_s > 0) {
            double k = floor((now - s->tick0) / s->tick_s) + 1;
            double tt = s->tick0 + k * s->tick_s;
            if (tt <= now)
                tt = s->tick0 + (k + 1) * s->tick_s;
            if (tt < t)
                t = tt;
        }
        if (s->ord->next_change) {
            double tc = s->ord->next_change(s->ctx, &s->st);
            /* A change predicted closer than the finish tolerance is taken
               that much later, so the clock always moves by a step the
               state can see (a step of one ulp of `now` moves no byte). */
            double min_t = now + fmax(now, 1) * FINISH_TIME_TOL;
            if (tc > now && tc < min_t)
                tc = min_t;
            if (tc > now && tc < t) {
                t = tc;
                *by_change = true;
            }
        }
    }
    return t;
}

weft_err_t netsim_run(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                      const netsim_opts_t *opts, netsim_result_t *res)
{
    double t_start = wall_now();
    weft_err_t err = WEFT_OK;
    sim_t s;
    memset(&s, 0, sizeof s);
    netsim_result_destroy(res);
    if (!opts || !opts->ordering || !opts->ordering->order)
        return weft_fail(WEFT_EINVAL, "netsim_run needs an ordering");
    if (wl->job_open)
        return weft_fail(WEFT_EINVAL, "job %lld of the workload is not finished",
                         (long long)wl->jobs[wl->n_jobs - 1].id);
    s.wl = wl;
    s.fab = fab;
    s.opts = opts;
    s.ord = opts->ordering;
    s.alloc = opts->allocator;
    if (!s.alloc && s.ord->default_allocator)
        s.alloc = coflow_allocator_find(s.ord->default_allocator);
    if (!s.alloc || !s.alloc->allocate)
        return weft_fail(WEFT_EINVAL, "ordering '%s': no allocator given and its default '%s' "
                         "is not registered", s.ord->name,
                         s.ord->default_allocator ? s.ord->default_allocator : "(none)");
    s.res = res;
    res->coflow_release_s = weft_calloc(wl->n_coflows, sizeof(double));
    res->coflow_finish_s = weft_calloc(wl->n_coflows, sizeof(double));
    res->job_finish_s = weft_calloc(wl->n_jobs, sizeof(double));
    if (!res->coflow_release_s || !res->coflow_finish_s || !res->job_finish_s) {
        netsim_result_destroy(res);
        return weft_fail(WEFT_ENOMEM, "out of memory for the results of %zu coflows",
                         wl->n_coflows);
    }
    WEFT_CHECK(sim_setup(&s));

    double now = wl->n_jobs ? wl->jobs[s.job_order[0]].arrival_s : 0;
    /* Aalo-like orderings may legitimately change once per job and
       threshold between two flow finishes; far more means a broken
       prediction. */
    size_t change_only = 0, change_only_max = 1000000 + 64 * wl->n_jobs;
    s.tick0 = now;
    s.st.now = now;
    for (;;) {
        take_arrivals(&s, now);
        take_releases(&s, now);
        WEFT_CHECK(decide(&s));
        bool external, by_change;
        double t = next_event(&s, &external, &by_change);
        if (s.n_active > 0 && s.n_run == 0 && !external)
            WEFT_CHECK(weft_fail(WEFT_EINTERNAL,
                                 "stalled at t=%.9g s: ordering '%s' with allocator '%s' gave "
                                 "no positive rate to any of the %zu open flows of %zu active "
                                 "coflows, and no arrival or release is pending",
                                 now, s.ord->name, s.alloc->name, s.n_open_total, s.n_active));
        if (t == INFINITY)
            break;
        if (!(t >= now)) /* NaN from a broken next_change or rate */
            WEFT_CHECK(weft_fail(WEFT_EINTERNAL, "next event time %g at t=%.9g s under '%s'",
                                 t, now, s.ord->name));
        double dt = t - now;
        now = t;
        s.st.now = now; /* finish_flow stamps finish_s with it */
        advance(&s, dt);
        /* Guard against an ordering whose predicted changes never happen:
           only so many decisions in a row may come from next_change alone. */
        if (by_change && s.n_done == 0) {
            if (++change_only > change_only_max)
                WEFT_CHECK(weft_fail(WEFT_EINTERNAL,
                                     "ordering '%s': %zu decisions in a row at t=%.17g s came "
                                     "from next_change() alone without any flow finishing; its "
                                     "predicted changes do not happen",
                                     s.ord->name, change_only, now));
        } else {
            change_only = 0;
        }
        finish_done_flows(&s);
        res->n_events++;
    }
    if (opts->check)
        check_end(&s);
    else {
        for (size_t c = 0; c < wl->n_coflows; c++)
            if (s.st.status[c] != COFLOW_DONE)
                WEFT_CHECK(weft_fail(WEFT_EINTERNAL, "coflow %zu never finished", c));
    }
    WEFT_CHECK(summarise(&s));
    res->wall_s = wall_now() - t_start;

cleanup:
    sim_free(&s);
    if (err)
        netsim_result_destroy(res);
    return err;
}
