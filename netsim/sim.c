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
 *    positive rate (the allocator's st->rated list), each with its rate;
 *    every other flow has flow_rate 0, and so do the listed ones when the
 *    allocator hands rates back beside the list (`listed`). So a decision
 *    zeroes at most run[] instead of every open flow, and advancing
 *    touches only flows that move: a decision costs what the ordering and
 *    the allocator cost, never a walk over idle open flows;
 *  - the heap holds the coflows whose parents are all done (or roots of
 *    arrived jobs) and which wait for their compute time to pass.
 * Nothing is allocated inside the loop: every array is sized up front.
 * The emulator's state is sim_t (sim_internal.h); lazy pacing, the fast
 * path under MADD, is in lazy.c; per-pair fair in pairs.c; the invariants
 * behind --check in check.c.
 */
#include "netsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../dag/dag.h"
#include "sim_internal.h"


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

static void sim_free(sim_t *s)
{
    if (s->ctx && s->ord->destroy)
        s->ord->destroy(s->ctx);
    coflow_state_destroy(&s->st);
    free(s->job_order);
    free(s->job_left);
    free(s->parents_left);
    free(s->ready_s);
    free(s->heap);
    free(s->active);
    free(s->ids);
    free(s->run);
    free(s->done);
    free(s->chk_out);
    free(s->chk_in);
    free(s->sig);
    free(s->anc_total);
    free(s->rated_rate);
    free(s->total_at);
    free(s->anc);
    free(s->bf);
    free(s->pc);
    free(s->acc);
    free(s->mark);
    free(s->dirty);
    free(s->pace);
    free(s->paced);
    free(s->chk_run);
    free(s->chk_rem);
    free(s->chk_bytes);
    free(s->chk_comp);
    free(s->chk_known);
    free(s->chk_sent);
    free(s->flow_pair);
    free(s->psrc);
    free(s->pdst);
    free(s->pstart);
    free(s->hk);
    free(s->hf);
    free(s->hn);
    free(s->fk);
    free(s->act);
    free(s->apos);
    free(s->aw);
    free(s->ar);
    free(s->an);
    free(s->atop);
    free(s->atol);
    free(s->lv_src);
    free(s->lv_dst);
    free(s->lv_cnt);
    coflow_srf_pairs_free(s->srf);
    free(s->srf_chk);
}

static weft_err_t sim_setup(sim_t *s)
{
    const coflow_workload_t *wl = s->wl;
    size_t nj = wl->n_jobs, nc = wl->n_coflows, nf = wl->n_flows;
    weft_err_t err = coflow_state_init(&s->st, wl, s->fab);
    if (err)
        return err;
    err = coflow_state_keep_greedy_prefix(&s->st); /* greedy replays its unchanged front */
    if (err)
        return err;
    s->st.model_path = s->opts->model_path; /* for orderings that load a model */
    s->st.policy_seed = s->opts->policy_seed;
    s->st.policy_hook = s->opts->policy_hook;
    s->st.scores_out = s->opts->scores_out;
    for (size_t p = 0; p < s->fab->n_ports; p++)
        s->max_cap = fmax(s->max_cap, fmax(s->fab->cap_out[p], s->fab->cap_in[p]));
    s->job_order = weft_calloc(nj, sizeof *s->job_order);
    s->job_left = weft_calloc(nj, sizeof *s->job_left);
    s->parents_left = weft_calloc(nc, sizeof *s->parents_left);
    s->ready_s = weft_calloc(nc, sizeof *s->ready_s);
    s->heap = weft_calloc(nc, sizeof *s->heap);
    s->active = weft_calloc(nc, sizeof *s->active);
    s->ids = weft_calloc(nc, sizeof *s->ids);
    s->run = weft_calloc(nf, sizeof *s->run);
    s->done = weft_calloc(nf, sizeof *s->done);
    s->chk_out = weft_calloc(s->fab->n_ports, sizeof *s->chk_out);
    s->chk_in = weft_calloc(s->fab->n_ports, sizeof *s->chk_in);
    if (!s->job_order || !s->job_left || !s->parents_left || !s->ready_s || !s->heap ||
        !s->active || !s->ids || !s->run || !s->done || !s->chk_out || !s->chk_in)
        return weft_fail(WEFT_ENOMEM, "out of memory for the emulator (%zu coflows, %zu flows)",
                         nc, nf);
    if (s->opts->check && !(s->chk_sent = weft_calloc(nf ? nf : 1, sizeof *s->chk_sent)))
        return weft_fail(WEFT_ENOMEM, "out of memory for the check of %zu flows", nf);
    for (size_t j = 0; j < nj; j++)
        s->job_left[j] = wl->jobs[j].n_coflows;
    err = coflow_workload_arrival_order(wl, s->job_order);
    if (err)
        return err;

    for (size_t c = 0; c < nc; c++) /* parent indices checked by coflow_state_init */
        s->parents_left[c] = wl->coflows[c].n_parents;

    /* Lazy pacing needs an allocator that knows it (madd) and an ordering
     * that reads neither per-flow rates between decisions (next_change)
     * nor per-flow bytes left (reads_flows). */
    s->lazy = s->alloc->lazy_pace && !s->ord->next_change && !s->ord->reads_flows &&
              !s->opts->eager_pacing;
    if (s->lazy) {
        size_t ncp = s->st.cport_start[nc];
        s->sig = weft_calloc(nc, sizeof *s->sig);
        s->anc_total = weft_calloc(nc, sizeof *s->anc_total);
        s->total_at = weft_calloc(nc, sizeof *s->total_at);
        s->anc = weft_calloc(ncp ? ncp : 1, sizeof *s->anc);
        s->bf = weft_calloc(nf, sizeof *s->bf);
        s->pc = weft_calloc(nc, sizeof *s->pc);
        s->acc = weft_calloc(nc, sizeof *s->acc);
        s->mark = weft_calloc(nc, sizeof *s->mark);
        s->dirty = weft_calloc(nc, sizeof *s->dirty);
        s->pace = weft_calloc(nc, sizeof *s->pace);
        s->paced = weft_calloc(nc, sizeof *s->paced);
        if (s->opts->check) {
            s->chk_run = weft_calloc(nf, sizeof *s->chk_run);
            s->chk_rem = weft_calloc(nf, sizeof *s->chk_rem);
            s->chk_bytes = weft_calloc(ncp ? ncp : 1, sizeof *s->chk_bytes);
            s->chk_comp = weft_calloc(ncp ? ncp : 1, sizeof *s->chk_comp);
            s->chk_known = weft_calloc(nc ? nc : 1, sizeof *s->chk_known);
        }
        if (!s->sig || !s->anc_total || !s->total_at || !s->anc || !s->bf || !s->pc ||
            !s->acc || !s->mark || !s->dirty || !s->pace || !s->paced ||
            (s->opts->check &&
             (!s->chk_run || !s->chk_rem || !s->chk_bytes || !s->chk_comp || !s->chk_known)))
            return weft_fail(WEFT_ENOMEM, "out of memory for lazy pacing (%zu coflows, "
                             "%zu flows)", nc, nf);
        s->st.pace = s->pace;
        s->st.paced = s->paced;
    }
    s->listed = s->alloc->lists_rates && !s->ord->next_change && !s->opts->eager_pacing &&
                (!s->alloc->lazy_pace || s->lazy);
    if (s->listed) {
        s->rated_rate = weft_calloc(nf ? nf : 1, sizeof *s->rated_rate);
        if (!s->rated_rate)
            return weft_fail(WEFT_ENOMEM, "out of memory for the rates of %zu flows", nf);
        s->st.rated_rate = s->rated_rate;
    }
    s->tick_s = s->opts->tick_s > 0 ? s->opts->tick_s : s->ord->tick_s;
    if (!(s->tick_s >= 0) || isinf(s->tick_s))
        s->tick_s = 0;
    s->pairf = s->alloc->per_pair_fair && !s->ord->next_change && s->tick_s == 0 &&
               !s->opts->policy_hook && !s->opts->eager_pacing;
    if (s->pairf) {
        err = pairs_setup(s);
        if (err)
            return err;
    } else { /* advance() and lazy.c say which coflows moved (coflow.h) */
        err = coflow_state_keep_iso(&s->st);
        if (err)
            return err;
    }
    if (s->alloc->per_pair_srf && !s->opts->eager_pacing) {
        err = coflow_srf_pairs_new(&s->srf, &s->st);
        if (err)
            return err;
        if (s->opts->check && !(s->srf_chk = weft_calloc(nf ? nf : 1, sizeof *s->srf_chk)))
            return weft_fail(WEFT_ENOMEM, "out of memory for the srf check (%zu flows)", nf);
    }
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
        if (s->opts->check)
            sim_check_release(s, p.c, p.t, now);
        coflow_state_release(&s->st, p.c, p.t);
        if (s->lazy)
            lazy_release(s, p.c);
        if (s->pairf)
            for (size_t k = 0; k < s->wl->coflows[p.c].n_flows; k++)
                pair_open(s, s->wl->coflows[p.c].first_flow + k);
        if (s->srf)
            for (size_t k = 0; k < s->wl->coflows[p.c].n_flows; k++)
                coflow_srf_pairs_open(s->srf, &s->st, s->wl->coflows[p.c].first_flow + k);
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
 * coflow_remaining and job_sent once: adding each flow's few bytes to a job
 * total of 1e11 bytes one by one would round most of them away (and an
 * ordering watching job_sent, like Aalo's queue thresholds, would wait
 * forever for a crossing). */
static void advance(sim_t *s, double dt)
{
    coflow_state_t *st = &s->st;
    const coflow_flow_t *flows = s->wl->flows;
    const coflow_coflow_t *coflows = s->wl->coflows;
    double now = st->now, moved = 0, acc = 0;
    size_t cur = s->n_run ? s->run[0].c : 0;
    /* a flow's own size is read only when its coflow's largest could call
       it finished */
    double tol = s->n_run ? FINISH_REL_TOL * coflows[cur].max_flow_bytes : 0;
    /* A coflow's cached per-port bytes (coflow.h) are kept exact here, so
     * paced policies never rebuild them from every open flow. A finishing
     * flow's bytes leave the cache in coflow_state_finish_flow. */
    bool cached = s->n_run && coflow_state_cache_valid(st, cur);
    if (s->n_run)
        coflow_state_bytes_changed(st, cur);
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
            coflow_state_bytes_changed(st, cur);
            tol = FINISH_REL_TOL * coflows[cur].max_flow_bytes;
        }
        double rem = m->left;
        double sent = m->rate * dt;
        double left = rem - sent;
        if ((left <= tol && left <= FINISH_REL_TOL * flows[m->f].bytes) ||
            left <= m->rate * now * FINISH_TIME_TOL) {
            sent = rem; /* the residue counts as sent: bytes stay conserved */
            s->done[s->n_done++] = *m;
        } else {
            size_t f = m->f;
            st->flow_remaining[f] = m->left = left;
            if (cached) {
                /* the flow's own rounding: rem - sent == left + e exactly,
                   so it really lost sent + e (both groups loaded before any
                   store: 4% fewer instructions in this loop with GCC) */
                double bb = left - rem;
                double e = (rem - (left - bb)) + (-sent - bb);
                uint32_t qs = coflow_sgroup(st, f), qr = coflow_rgroup(st, f);
                coflow_state_cache_sub(st, qs, sent, e);
                coflow_state_cache_sub(st, qr, sent, e);
            }
        }
        moved += sent; /* the residue too (--check's count of bytes moved) */
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
    const size_t *children;
    size_t n_children = coflow_state_children(&s->st, c, &children);
    for (size_t k = 0; k < n_children; k++) {
        size_t ch = children[k];
        if (now > s->ready_s[ch])
            s->ready_s[ch] = now;
        if (--s->parents_left[ch] == 0)
            heap_push(s, s->ready_s[ch] + wl->coflows[ch].compute_s, ch);
    }
    s->n_done_coflows_pending++;
    s->n_done_coflows++;
    if (s->opts->coflows_done)
        atomic_store_explicit(s->opts->coflows_done, s->n_done_coflows, memory_order_relaxed);
}

/* The flows of done[] finish, after a step of dt (--check first credits
 * what that step sent and tests what they were sent). */
static void finish_done_flows(sim_t *s, double dt)
{
    if (s->opts->check)
        sim_check_step(s, dt);
    double *flow_finish = s->res->flow_finish_s;
    for (size_t k = 0; k < s->n_done; k++) {
        moving_t *m = &s->done[k];
        if (flow_finish)
            flow_finish[m->f] = s->st.now;
        s->n_open_total--;
        double anchor = s->st.flow_remaining[m->f];
        if (s->srf)
            coflow_srf_pairs_close(s->srf, &s->st, m->f);
        bool last = coflow_state_finish_flow(&s->st, m->f);
        if (s->lazy) /* after finish_flow, which edits the cache its own way */
            lazy_finish_flow(s, m->f, m->c, anchor);
        if (last)
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

/* Orders the active coflows, allocates rates from zero and rebuilds run[]. */
static weft_err_t decide(sim_t *s)
{
    coflow_state_t *st = &s->st;
    if (s->pairf) {
        pairs_decide(s);
        return WEFT_OK;
    }
    if (s->lazy) {
        lazy_unpace(s);
        lazy_refresh(s);
    }
    for (size_t k = 0; k < s->n_run && !s->listed; k++)
        st->flow_rate[s->run[k].f] = 0;
    s->n_run = 0;
    s->next_finish_dt = INFINITY;
    if (s->n_active == 0)
        return WEFT_OK;
    memcpy(s->ids, s->active, s->n_active * sizeof *s->ids);
    weft_err_t err = s->ord->order(s->ctx, st, s->ids, s->n_active);
    if (err)
        return weft_wrap(err, "ordering '%s' at t=%.17g s: ", s->ord->name, st->now);
    if (s->opts->check)
        sim_check_iso(s);
    st->n_rated = 0;
    st->n_rated_kept = 0;
    if (s->srf) {
        coflow_srf_pairs_allocate(s->srf, st);
        if (s->opts->check)
            sim_check_srf(s);
    } else {
        s->alloc->allocate(st, s->ids, s->n_active);
    }
    s->res->n_decisions++;
    s->res->n_rated_total += st->n_rated;
    if (s->lazy) {
        s->res->n_paced_total += st->n_paced;
        err = lazy_collect(s);
        if (err)
            return err;
        if (s->n_open_total > s->res->max_active_flows)
            s->res->max_active_flows = s->n_open_total;
        if (s->opts->check)
            sim_check_lazy(s);
        return WEFT_OK;
    }

    /* run[] is exactly what the allocator rated (coflow.h contract), so a
     * decision never walks the open flows that did not move. Its front
     * that the allocator kept in place (st->n_rated_kept: the same flows
     * at the same rates) is still this decision's, advance() having kept
     * each one's bytes left: it is not rebuilt, nor are those flows read. */
    double best = INFINITY;
    size_t kept = s->listed ? st->n_rated_kept : 0;
    for (size_t k = 0; k < kept; k++)
        best = earlier_finish(best, s->run[k].left, s->run[k].rate);
    s->n_run = kept;
    size_t c = 0, lo = 0, hi = 0; /* the last coflow, its flows [lo, hi) */
    for (size_t k = kept; k < st->n_rated; k++) {
        size_t f = st->rated[k];
        double r = s->listed ? s->rated_rate[k] : st->flow_rate[f];
        enter_coflow(s, f, &c, &lo, &hi);
        if (!(r > 0 && r < INFINITY) || st->status[c] != COFLOW_ACTIVE)
            return weft_fail(WEFT_EINTERNAL,
                             "allocator '%s' (ordering '%s') gave flow %zu of coflow %zu "
                             "the rate %g at t=%.9g s; expected a finite rate > 0 for an "
                             "open flow of an active coflow",
                             s->alloc->name, s->ord->name, f, c, r, st->now);
        double left = st->flow_remaining[f];
        s->run[s->n_run++] = (moving_t){f, c, r, {.left = left}};
        best = earlier_finish(best, left, r);
    }
    s->next_finish_dt = best;
    if (s->n_open_total > s->res->max_active_flows)
        s->res->max_active_flows = s->n_open_total;
    if (s->opts->check)
        sim_check_decision(s, kept);
    return WEFT_OK;
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
        /* nearest rank: ceil(p * n), 1-based. The doubles 0.95 and 0.99
           lie just below those values, so p * n never lands above a whole
           number it equals in exact arithmetic (none did for n up to 2
           million); the small slack is only a guard, and changes no rank */
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
    /* The slowdowns are ratios of weighted sums, taken over the scaled
       weights (weights the format accepts reach 5e-324, where w * JCT
       rounds to a few units of it: 1.67 read 1) */
    int wexp = coflow_workload_weight_exp(wl);
    double wsum = 0, swsum = 0, sbsum = 0, first = INFINITY, last = 0;
    for (size_t j = 0; j < nj; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        double sw = ldexp(job->weight, -wexp);
        v[j] = r->job_finish_s[j] - job->arrival_s;
        wsum += job->weight * v[j];
        swsum += sw * v[j];
        sbsum += sw * job->lower_bound_s;
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
    r->weight_exp = wexp;
    r->scaled_avg_weighted_jct = nj ? swsum / (double)nj : 0;
    r->weighted_bound = dag_weighted_bound(wl);
    r->slowdown_vs_bound = sbsum > 0 ? (swsum / (double)nj) / (sbsum / (double)nj) : 0;
    r->makespan_s = nj ? last - first : 0;
    double cap = 0;
    for (size_t p = 0; p < s->fab->n_ports; p++)
        cap += s->fab->cap_out[p];
    r->port_utilization = r->makespan_s > 0 ? r->total_bytes / (cap * r->makespan_s) : 0;
    return WEFT_OK;
}

/* ------------------------------------------------------------------ run */

void netsim_result_init(netsim_result_t *r) { memset(r, 0, sizeof *r); }

double netsim_vs_lp_bound(const netsim_result_t *r)
{
    return r->scaled_lp_bound > 0 ? r->scaled_avg_weighted_jct / r->scaled_lp_bound : NAN;
}

void netsim_result_destroy(netsim_result_t *r)
{
    free(r->coflow_release_s);
    free(r->coflow_finish_s);
    free(r->job_finish_s);
    free(r->flow_finish_s);
    memset(r, 0, sizeof *r);
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
    bool moving = s->n_run > 0 || s->n_pc > 0 || s->n_pmoving > 0;
    if (moving && now + s->next_finish_dt < t)
        t = now + s->next_finish_dt;
    if (s->n_active > 0 && moving) {
        /* Ticks and next_change only matter while something moves: with no
           rate anywhere nothing an ordering reads can change. */
        if (s->tick_s > 0) {
            double k = floor((now - s->tick0) / s->tick_s) + 1;
            double tt = s->tick0 + k * s->tick_s;
            if (tt <= now)
                tt = s->tick0 + (k + 1) * s->tick_s;
            if (tt <= now) /* the tick is below the clock's resolution at now */
                s->tick_stuck = true;
            if (tt < t)
                t = tt;
        }
        if (s->ord->next_change) {
            double tc = s->ord->next_change(s->ctx, &s->st);
            /* A change predicted closer than CHANGE_MIN_STEP of the clock
               is taken that much later, so the clock always moves by a
               step the state can see (a step of one ulp of `now` moves no
               byte). A share of the clock alone, so that the schedule is
               the same in any unit of time: at 0 s any step is seen. */
            double min_t = now + now * CHANGE_MIN_STEP;
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
    double t_start = weft_mono_s();
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
    res->checked = opts->check;
    res->coflow_release_s = weft_calloc(wl->n_coflows, sizeof(double));
    res->coflow_finish_s = weft_calloc(wl->n_coflows, sizeof(double));
    res->job_finish_s = weft_calloc(wl->n_jobs, sizeof(double));
    if (opts->record_flows)
        res->flow_finish_s = weft_calloc(wl->n_flows ? wl->n_flows : 1, sizeof(double));
    if (!res->coflow_release_s || !res->coflow_finish_s || !res->job_finish_s ||
        (opts->record_flows && !res->flow_finish_s)) {
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
    /* Decisions in a row that moved the clock by nothing, finished no flow
       and took no predicted change: a flow too short for a double's clock
       there (netsim_check_clock finds those before a run; a caller may
       skip it), which would be decided on for ever. An arrival or release
       still pending is no progress: those due by now were all taken, so
       it comes later (counting it looped for ever while a job was still
       to arrive). Simultaneous events are one decision, so two in a row
       are already rare. */
    size_t stopped = 0;
    s.tick0 = now;
    s.st.now = now;
    for (;;) {
        take_arrivals(&s, now);
        take_releases(&s, now);
        WEFT_CHECK(decide(&s));
        bool external, by_change;
        double t = next_event(&s, &external, &by_change);
        if (s.n_active > 0 && s.n_run == 0 && s.n_pc == 0 && s.n_pmoving == 0 && !external)
            WEFT_CHECK(weft_fail(WEFT_EINTERNAL,
                                 "stalled at t=%.9g s: ordering '%s' with allocator '%s' gave "
                                 "no positive rate to any of the %zu open flows of %zu active "
                                 "coflows, and no arrival or release is pending",
                                 now, s.ord->name, s.alloc->name, s.n_open_total, s.n_active));
        if (s.tick_stuck)
            WEFT_CHECK(weft_fail(WEFT_EINVAL,
                                 "a tick of %g s no longer moves the clock at t=%.17g s "
                                 "(below the resolution of a double there); use a larger "
                                 "tick or earlier arrival times",
                                 s.tick_s, now));
        if (t == INFINITY)
            break;
        if (!(t >= now)) /* NaN from a broken next_change or rate */
            WEFT_CHECK(weft_fail(WEFT_EINTERNAL, "next event time %g at t=%.9g s under '%s'",
                                 t, now, s.ord->name));
        double dt = t - now;
        now = t;
        s.st.now = now; /* finish_flow stamps finish_s with it */
        if (s.lazy)
            lazy_advance(&s, dt);
        else if (s.pairf)
            pairs_advance(&s, dt);
        else
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
        if (dt == 0 && s.n_done == 0 && !by_change) {
            if (++stopped > 1000)
                WEFT_CHECK(weft_fail(WEFT_EINVAL,
                                     "the clock stopped at t=%.17g s: %zu decisions in a row "
                                     "moved it by nothing and finished no flow (a flow there "
                                     "takes less than a step of a double; netsim_check_clock "
                                     "names it)",
                                     now, stopped));
        } else {
            stopped = 0;
        }
        finish_done_flows(&s, dt);
        res->n_events++;
    }
    if (opts->check)
        sim_check_end(&s);
    else {
        for (size_t c = 0; c < wl->n_coflows; c++)
            if (s.st.status[c] != COFLOW_DONE)
                WEFT_CHECK(weft_fail(WEFT_EINTERNAL, "coflow %zu never finished", c));
    }
    WEFT_CHECK(summarise(&s));
    res->wall_s = weft_mono_s() - t_start;

cleanup:
    sim_free(&s);
    if (err)
        netsim_result_destroy(res);
    return err;
}
