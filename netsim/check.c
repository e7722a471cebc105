/*
 * check.c - the invariants behind --check (always on in the tests): no port
 * above capacity and work conservation at every decision, each fast path's
 * decision (lazy pacing, pairs, srf by pairs, the greedy replay) against
 * the same decision recomputed the reference way; each flow as it
 * finishes sent its bytes (its rates over time, summed apart from the
 * emulator's count of its bytes left) within its finish tolerance, neither
 * short of them nor past them; each release taken from the heap when it
 * is due, not at a later event; and at the end bytes conserved, every flow
 * finished, DAG order (each coflow released when its inputs are ready, no
 * earlier or later; each job finished when its last coflow did plus its
 * final compute time), CCT >= isolation time and JCT >= lower bound. A
 * violation is counted and the first one's message kept
 * (netsim_result_t); the run goes on. Figures compared within a billionth
 * are printed to 12 digits, so the two differ as printed (to 9, a port at
 * 1.000000005 bytes/s read "1, above its capacity 1"). And
 * netsim_check_clock, which weft sim takes before every run, --check or
 * not: a flow the clock cannot time where it starts.
 */
#include "sim_internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dag/dag.h"

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

/* Checks capacity and work conservation of the moving flows run[0..n). */
static void check_capacity(sim_t *s, const moving_t *run, size_t n)
{
    const coflow_flow_t *flows = s->wl->flows;
    const coflow_fabric_t *fab = s->fab;
    coflow_state_t *st = &s->st;
    for (size_t k = 0; k < n; k++) {
        s->chk_out[flows[run[k].f].src] += run[k].rate;
        s->chk_in[flows[run[k].f].dst] += run[k].rate;
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t p = flows[run[k].f].src, q = flows[run[k].f].dst;
        if (s->chk_out[p] > fab->cap_out[p] * (1 + CAP_TOL))
            violation(s, "t=%.9g s: port %u sends %.12g bytes/s, above its capacity %.12g",
                      st->now, p, s->chk_out[p], fab->cap_out[p]);
        if (s->chk_in[q] > fab->cap_in[q] * (1 + CAP_TOL))
            violation(s, "t=%.9g s: port %u receives %.12g bytes/s, above its capacity %.12g",
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
    for (size_t k = 0; k < n; k++) {
        s->chk_out[flows[run[k].f].src] = 0;
        s->chk_in[flows[run[k].f].dst] = 0;
    }
}

/* --check by pairs: the flows' remaining bytes written out, the allocator
 * run flow by flow must give every open flow its pair's rate; capacity and
 * work conservation over those rates. */
void sim_check_pairs(sim_t *s)
{
    coflow_state_t *st = &s->st;
    const coflow_workload_t *wl = s->wl;
    size_t n = 0, bad = 0;
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++) {
            size_t f = open[k], a = s->apos[s->flow_pair[f]];
            st->flow_remaining[f] = s->fk[f] - s->aw[a];
            if (s->ar[a] > 0)
                s->chk_run[n++] = (moving_t){f, c, s->ar[a], {0}};
        }
    }
    s->n_chk_run = n; /* what sim_check_step credits */
    check_capacity(s, s->chk_run, n);
    st->n_rated = 0;
    s->alloc->allocate(st, s->active, s->n_active);
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++) {
            size_t f = open[k];
            double r = s->ar[s->apos[s->flow_pair[f]]], ref = st->flow_rate[f];
            double cap = fmin(s->fab->cap_out[wl->flows[f].src], s->fab->cap_in[wl->flows[f].dst]);
            if (fabs(ref - r) > 1e-9 * r + 1e-9 * cap && !bad++)
                violation(s, "t=%.9g s: flow %zu moves at %.17g bytes/s with its pair, at "
                          "%.17g recomputed flow by flow", st->now, f, r, ref);
        }
    }
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] = 0;
    st->n_rated = 0;
}

/* Relative and absolute (share of a port's capacity) slack between a lazily
 * paced rate and the same rate recomputed flow by flow (lazy_tolerance). */
#define LAZY_REL_TOL 1e-9
#define LAZY_CAP_TOL 1e-9

void sim_check_iso(sim_t *s)
{
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        if (coflow_state_iso_stale(&s->st, c)) {
            violation(s, "t=%.9g s: coflow %zu's remaining bottleneck time was answered "
                      "from memory (%.17g s) after its bytes changed", s->st.now, c,
                      s->st.iso_memo[c]);
            return;
        }
    }
}

/* How far flow f's lazily paced rate may be from the same rate recomputed
 * flow by flow: LAZY_REL_TOL of it, LAZY_CAP_TOL of the slower of its
 * ports widened by the decision's pacing conditioning (pace_slack), and
 * the rounding of the ports' use (round_abs, sim_check_lazy). */
static double lazy_tolerance(const sim_t *s, size_t f, double rate, double slack,
                             double round_abs)
{
    const coflow_flow_t *fl = &s->wl->flows[f];
    double cap = fmin(s->fab->cap_out[fl->src], s->fab->cap_in[fl->dst]);
    return LAZY_REL_TOL * rate + (LAZY_CAP_TOL + 2 * slack) * cap + round_abs;
}

/* --check under lazy pacing: every moving flow's rate, then capacity and
 * work conservation over them, then the same decision recomputed from zero
 * the reference way (the allocator rating every paced flow itself, from
 * the flows' true remaining bytes) must give every open flow the same
 * rate, and each coflow's remaining bytes must match its open flows'. */
void sim_check_lazy(sim_t *s)
{
    coflow_state_t *st = &s->st;
    const coflow_workload_t *wl = s->wl;
    size_t n = 0;
    for (size_t k = 0; k < s->n_run; k++) /* lazy_collect zeroed them */
        st->flow_rate[s->run[k].f] = s->run[k].extra;
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + wl->coflows[c].first_flow;
        double sig = s->sig[c], q = sig * s->pace[c], rem = 0;
        for (size_t k = 0; k < st->n_open[c]; k++) {
            size_t f = open[k];
            double r = st->flow_remaining[f] * q + st->flow_rate[f];
            rem += st->flow_remaining[f] * sig;
            s->chk_rem[f] = st->flow_remaining[f];
            if (r > 0)
                s->chk_run[n++] = (moving_t){f, c, r, {.extra = st->flow_rate[f]}};
        }
        if (fabs(rem - st->coflow_remaining[c]) > CONSERVE_TOL * wl->coflows[c].total_bytes)
            violation(s, "t=%.9g s: coflow %zu: its open flows hold %.17g bytes, its "
                      "remaining bytes say %.17g", st->now, c, rem, st->coflow_remaining[c]);
    }
    s->n_chk_run = n; /* what sim_check_step credits */
    check_capacity(s, s->chk_run, n);
    /* The reference: true remaining bytes in place, per-port bytes summed
     * afresh from them (and compared with the lazy ones), rates from zero. */
    for (size_t k = 0; k < s->n_run; k++)
        st->flow_rate[s->run[k].f] = 0;
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++)
            st->flow_remaining[open[k]] *= s->sig[c];
        size_t a = st->cport_start[c], b = st->cport_start[c + 1];
        for (size_t q = a; q < b; q++) {
            s->chk_bytes[q] = st->cport_bytes[q];
            s->chk_comp[q] = st->cport_comp[q];
        }
        if (st->iso_known)
            s->chk_known[c] = st->iso_known[c];
        const double *exact = coflow_state_port_bytes_exact(st, c);
        for (size_t q = a; q < b; q++) {
            double lazy = s->chk_bytes[q] + s->chk_comp[q];
            if (fabs(exact[q - a] - lazy) > CONSERVE_TOL * wl->coflows[c].total_bytes)
                violation(s, "t=%.9g s: coflow %zu has %.17g bytes left through port %u, "
                          "its lazy per-port count says %.17g", st->now, c, exact[q - a],
                          st->cports[q], lazy);
        }
    }
    size_t n_paced = st->n_paced;
    st->pace = NULL;
    st->rated_rate = NULL; /* the reference writes flow_rate */
    st->n_rated = 0;
    /* How far the rounding of nearly full bottlenecks alone may move the
     * paces (coflow.h, pace_slack): each pace moves the use of its ports,
     * and so what later coflows get, by as much. */
    double slack = 0;
    st->pace_slack = &slack;
    s->alloc->allocate(st, s->ids, s->n_active);
    st->pace_slack = NULL;
    st->rated_rate = s->rated_rate;
    size_t bad = 0, n_ref = st->n_rated;
    /* What the rounding of a port's use can move a rate by: each of the
     * decision's rates adds to some port's use and rounds by up to an ulp
     * of its capacity, and a rate is what is left at one of its ports, so
     * on a fabric whose capacities differ by decades a flow between two
     * slow ports can inherit an ulp of the fastest one. */
    double round_abs = (double)(n_ref + n + 2) * DBL_EPSILON * s->max_cap;
    for (size_t k = 0; k < n; k++) {
        const moving_t *m = &s->chk_run[k];
        double ref = st->flow_rate[m->f];
        if (fabs(ref - m->rate) > lazy_tolerance(s, m->f, m->rate, slack, round_abs) &&
            !bad++)
            violation(s, "t=%.9g s: flow %zu of coflow %zu moves at %.17g bytes/s under "
                      "lazy pacing, at %.17g recomputed from zero", st->now, m->f, m->c,
                      m->rate, ref);
        st->flow_rate[m->f] = 0; /* compared: what is left moves only in the reference */
    }
    for (size_t k = 0; k < n_ref; k++) {
        size_t f = st->rated[k];
        double ref = st->flow_rate[f];
        if (ref > lazy_tolerance(s, f, 0, slack, round_abs) && !bad++)
            violation(s, "t=%.9g s: flow %zu of coflow %zu moves at %.17g bytes/s recomputed "
                      "from zero, not at all under lazy pacing", st->now, f,
                      (size_t)st->flow_coflow[f], ref);
    }
    /* Back to the lazy decision. */
    for (size_t k = 0; k < n_ref; k++)
        st->flow_rate[st->rated[k]] = 0;
    for (size_t k = 0; k < n; k++)
        st->flow_remaining[s->chk_run[k].f] = s->chk_rem[s->chk_run[k].f];
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++)
            st->flow_remaining[open[k]] = s->chk_rem[open[k]];
        /* the same floats as before the check, so the stamps stay current
           and so does what coflow_state_remaining_iso remembers */
        for (size_t q = st->cport_start[c]; q < st->cport_start[c + 1]; q++) {
            st->cport_bytes[q] = s->chk_bytes[q];
            st->cport_comp[q] = s->chk_comp[q];
        }
        if (st->iso_known)
            st->iso_known[c] = s->chk_known[c];
    }
    st->n_rated = 0;
    for (size_t k = 0; k < s->n_run; k++)
        st->rated[st->n_rated++] = s->run[k].f;
    st->pace = s->pace;
    st->n_paced = n_paced;
}

/* --check of a greedy decision that replayed its unchanged front
 * (coflow_state_keep_greedy_prefix): the allocator run again from zero
 * must rate the same flows in the same order with the same rates (within
 * 1e-9; the replay repeats the same float operations, so they agree to the
 * bit). run[] holds the
 * decision; it is put back afterwards. */
static void greedy_check(sim_t *s)
{
    coflow_state_t *st = &s->st;
    const coflow_workload_t *wl = s->wl;
    for (size_t k = 0; k < s->n_run; k++)
        st->flow_rate[s->run[k].f] = 0;
    struct coflow_greedy_prefix *prefix = st->greedy_prefix;
    st->greedy_prefix = NULL;
    st->rated_rate = NULL; /* the reference writes flow_rate */
    st->n_rated = 0;
    s->alloc->allocate(st, s->ids, s->n_active);
    st->greedy_prefix = prefix;
    st->rated_rate = s->rated_rate;
    size_t bad = 0;
    if (st->n_rated != s->n_run)
        violation(s, "t=%.9g s: %zu flows move when the greedy is recomputed from zero, %zu "
                  "with its front replayed", st->now, st->n_rated, s->n_run), bad++;
    for (size_t k = 0; k < s->n_run && !bad; k++) {
        size_t f = s->run[k].f;
        double ref = st->flow_rate[f], r = s->run[k].rate;
        const coflow_flow_t *fl = &wl->flows[f];
        double cap = fmin(s->fab->cap_out[fl->src], s->fab->cap_in[fl->dst]);
        if (st->rated[k] != f || fabs(ref - r) > 1e-9 * r + 1e-9 * cap)
            violation(s, "t=%.9g s: flow %zu of coflow %zu moves at %.17g bytes/s under the "
                      "greedy with its front replayed, at %.17g recomputed from zero (listed "
                      "%zu-th, from zero flow %zu)", st->now, f, s->run[k].c, r, ref, k,
                      st->rated[k]),
                bad++;
    }
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] = 0;
    st->n_rated = 0;
    for (size_t k = 0; k < s->n_run; k++) {
        if (!s->listed)
            st->flow_rate[s->run[k].f] = s->run[k].rate;
        st->rated[st->n_rated++] = s->run[k].f;
    }
}

/* --check under srf by pairs: the same decision recomputed the reference
 * way (the srf allocator sorting every open flow) must rate the same flows
 * at the same rates (within 1e-9); the fast decision is then put back. */
void sim_check_srf(sim_t *s)
{
    coflow_state_t *st = &s->st;
    size_t n = st->n_rated, bad = 0;
    for (size_t k = 0; k < n; k++) {
        size_t f = st->rated[k];
        s->srf_chk[k] = (moving_t){f, st->flow_coflow[f], st->flow_rate[f], {0}};
        st->flow_rate[f] = 0;
    }
    st->n_rated = 0;
    s->alloc->allocate(st, s->ids, s->n_active);
    for (size_t k = 0; k < n && !bad; k++) {
        size_t f = s->srf_chk[k].f;
        double r = s->srf_chk[k].rate, ref = st->flow_rate[f];
        double cap = fmin(s->fab->cap_out[s->wl->flows[f].src],
                          s->fab->cap_in[s->wl->flows[f].dst]);
        if (fabs(ref - r) > 1e-9 * r + 1e-9 * cap && !bad++)
            violation(s, "t=%.9g s: srf by pairs gives flow %zu %.17g bytes/s, the srf "
                      "allocator over every open flow %.17g", st->now, f, r, ref);
    }
    if (!bad && st->n_rated != n) /* each of the n has a rate in both: the rest differ */
        violation(s, "t=%.9g s: srf by pairs rates %zu flows, the srf allocator over every "
                  "open flow %zu", st->now, n, st->n_rated);
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] = 0;
    for (size_t k = 0; k < n; k++) {
        st->rated[k] = s->srf_chk[k].f;
        st->flow_rate[s->srf_chk[k].f] = s->srf_chk[k].rate;
    }
    st->n_rated = n;
}

void sim_check_step(sim_t *s, double dt)
{
    /* the fast paths list only some moving flows in run[] (lazy pacing: the
       backfilled ones) or none (pairs); their checks listed all of them */
    bool all = s->lazy || s->pairf;
    const moving_t *mv = all ? s->chk_run : s->run;
    size_t n = all ? s->n_chk_run : s->n_run;
    for (size_t k = 0; k < n; k++) {
        chk_sent_t *l = &s->chk_sent[mv[k].f];
        double x = mv[k].rate * dt, t = l->sent + x; /* both >= 0 */
        l->comp += l->sent >= x ? (l->sent - t) + x : (x - t) + l->sent;
        l->sent = t;
        l->rate = mv[k].rate;
        l->steps += 1;
    }
    s->n_chk_run = 0; /* the next decision's check lists its own, if it moves any */
    double now = s->st.now;
    for (size_t k = 0; k < s->n_done; k++) {
        size_t f = s->done[k].f;
        const coflow_flow_t *fl = &s->wl->flows[f];
        const chk_sent_t *l = &s->chk_sent[f];
        /* what the emulator counts as sent beyond what the rates sent: its
           own test finished the flow on its count of the bytes left, this
           one tests what the rates sent, both sides */
        double residue = fl->bytes - (l->sent + l->comp);
        /* the finish tolerance (sim_internal.h), and the rounding the
           emulator's count may have drifted from this one by: an ulp or two
           at each step of what it subtracts from, the flow's bytes (by
           pairs, its key: its bytes plus what its pair sent before it) */
        double mag = s->pairf ? s->fk[f] : fl->bytes;
        double tol = fmax(FINISH_REL_TOL * fl->bytes, l->rate * now * FINISH_TIME_TOL) +
                     2 * DBL_EPSILON * (l->steps + 2) * mag;
        if (fabs(residue) <= tol)
            continue;
        const coflow_coflow_t *co = &s->wl->coflows[s->done[k].c];
        long long id = (long long)co->id, job = (long long)s->wl->jobs[co->job].id;
        if (residue > 0)
            violation(s, "t=%.9g s: flow %zu (%u->%u) of coflow %lld of job %lld finished "
                      "with %.9g of its %.9g bytes unsent (tolerance %.3g)", now, f, fl->src,
                      fl->dst, id, job, residue, fl->bytes, tol);
        else
            violation(s, "t=%.9g s: flow %zu (%u->%u) of coflow %lld of job %lld finished "
                      "%.3g s after its end: it was sent %.9g bytes past its %.9g (tolerance "
                      "%.3g)", now, f, fl->src, fl->dst, id, job, -residue / l->rate, -residue,
                      fl->bytes, tol);
    }
}

void sim_check_release(sim_t *s, size_t c, double due, double now)
{
    if (due >= now) /* the heap gives up nothing before it is due */
        return;
    const coflow_coflow_t *co = &s->wl->coflows[c];
    violation(s, "t=%.17g s: coflow %lld of job %lld, due for release at %.17g s, was "
              "released only now", now, (long long)co->id,
              (long long)s->wl->jobs[co->job].id, due);
}

void sim_check_end(sim_t *s)
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
        /* then, neither before nor after: a release is an event of its own
           (next_event), never held for a decision tick; and never under a
           parent not done (ready infinite, where the slack is too) */
        if (!(isfinite(ready) && fabs(rel - ready) <= STAMP_TOL * fabs(ready)))
            violation(s, "coflow %lld of job %lld released at %.17g s, %s its inputs were "
                      "ready (%.17g s)", (long long)co->id, (long long)job->id, rel,
                      rel < ready ? "before" : "after", ready);
        double iso = dag_coflow_iso(wl, s->fab, c, s->chk_out, s->chk_in);
        double cct = st->finish_s[c] - rel;
        /* short by what a flow may finish early (FINISH_REL_TOL of its
           bytes, FINISH_TIME_TOL of the clock) and a few steps of the
           clock, no more: a slack of TIME_TOL of the clock let a CCT a
           week into a trace fall 0.6 ms short */
        double cfin = fabs(st->finish_s[c]);
        if (cct < iso * (1 - TIME_TOL) - FINISH_TIME_TOL * cfin - 4 * DBL_EPSILON * cfin)
            violation(s, "coflow %lld of job %lld: CCT %.12g s is below its isolation time "
                      "%.12g s", (long long)co->id, (long long)job->id, cct, iso);
    }
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        if (s->job_left[j] != 0)
            continue; /* its coflows were reported above */
        double last = -INFINITY;
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
            last = fmax(last, st->finish_s[c]);
        double done = last + job->final_compute_s;
        if (!(fabs(s->res->job_finish_s[j] - done) <= STAMP_TOL * fabs(done)))
            violation(s, "job %lld finished at %.17g s, not when its last coflow did plus its "
                      "final compute time (%.17g + %.17g s)", (long long)job->id,
                      s->res->job_finish_s[j], last, job->final_compute_s);
        double jct = s->res->job_finish_s[j] - job->arrival_s;
        double bound = job->lower_bound_s, step = DBL_EPSILON * fabs(s->res->job_finish_s[j]);
        double finish = fabs(s->res->job_finish_s[j]);
        /* the CCT check's slack (above) of each coflow on the bound's path,
           at most the job's depth of them, each by its finish */
        double per = FINISH_TIME_TOL * finish + 4 * step;
        if (!(jct >= bound * (1 - TIME_TOL) - fmax(1, job->depth) * per))
            violation(s, "job %lld (arrival %.9g s): JCT %.12g s is below its lower bound "
                      "%.12g s", (long long)job->id, job->arrival_s, jct, bound);
        else if (bound > 0 && step > JCT_RES_SHARE * fmax(bound, jct))
            violation(s, "job %lld (arrival %.9g s): the clock steps by up to %.3g s there, too "
                      "coarse for its JCT %.9g s (lower bound %.9g s): not exact (shift "
                      "the arrivals toward 0)", (long long)job->id, job->arrival_s, step, jct,
                      bound);
    }
}

void sim_check_decision(sim_t *s, size_t kept)
{
    coflow_state_t *st = &s->st;
    for (size_t k = 0; k < kept; k++) {
        const moving_t *m = &s->run[k];
        if (m->f != st->rated[k] || m->rate != s->rated_rate[k] ||
            m->left != st->flow_remaining[m->f]) {
            violation(s, "t=%.9g s: the %zu-th moving flow, kept from the last decision, is "
                      "flow %zu at %.17g bytes/s with %.17g bytes left; the allocator rated "
                      "flow %zu at %.17g, and %.17g bytes are left", st->now, k, m->f,
                      m->rate, m->left, st->rated[k], s->rated_rate[k],
                      st->flow_remaining[m->f]);
            break;
        }
    }
    /* nothing moves that was not listed */
    size_t positive = 0;
    for (size_t i = 0; i < s->n_active; i++) {
        size_t c = s->active[i];
        const size_t *open = st->open_flows + s->wl->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++)
            positive += st->flow_rate[open[k]] != 0;
    }
    if (positive != (s->listed ? 0 : st->n_rated))
        violation(s, "allocator '%s' set %zu nonzero rates but listed %zu as rated%s",
                  s->alloc->name, positive, st->n_rated,
                  s->listed ? " beside the list (flow_rate should stay 0)" : "");
    check_capacity(s, s->run, s->n_run);
    if (st->greedy_prefix && !strcmp(s->alloc->name, "greedy"))
        greedy_check(s);
}

/* Sets earliest[c] to the earliest coflow c can be released: its job's
 * arrival plus its compute time, after, for a child, the latest of its
 * parents' earliest releases plus their isolation times (no CCT is below
 * it). Parents first, by dag_analyze's waves (a counting sort). */
static weft_err_t earliest_releases(const coflow_workload_t *wl, double *earliest)
{
    size_t nc = wl->n_coflows, n_waves = 1;
    for (size_t c = 0; c < nc; c++)
        if (wl->coflows[c].wave + (size_t)1 > n_waves)
            n_waves = wl->coflows[c].wave + (size_t)1;
    size_t *start = weft_calloc(n_waves + 1, sizeof *start);
    size_t *order = weft_calloc(nc ? nc : 1, sizeof *order);
    if (!start || !order) {
        free(start);
        free(order);
        return weft_fail(WEFT_ENOMEM, "out of memory ordering %zu coflows by wave", nc);
    }
    for (size_t c = 0; c < nc; c++)
        start[wl->coflows[c].wave + 1]++;
    for (size_t w = 0; w < n_waves; w++)
        start[w + 1] += start[w];
    for (size_t c = 0; c < nc; c++)
        order[start[wl->coflows[c].wave]++] = c;
    for (size_t i = 0; i < nc; i++) {
        const coflow_coflow_t *co = &wl->coflows[order[i]];
        double ready = wl->jobs[co->job].arrival_s;
        for (size_t q = 0; q < co->n_parents; q++) {
            size_t p = wl->parents[co->first_parent + q];
            ready = fmax(ready, earliest[p] + wl->coflows[p].iso_s);
        }
        earliest[order[i]] = ready + co->compute_s;
    }
    free(start);
    free(order);
    return WEFT_OK;
}

weft_err_t netsim_check_clock(const coflow_workload_t *wl, const coflow_fabric_t *fab)
{
    double *earliest = weft_calloc(wl->n_coflows ? wl->n_coflows : 1, sizeof *earliest);
    if (!earliest)
        return weft_fail(WEFT_ENOMEM, "out of memory for the release times of %zu coflows",
                         wl->n_coflows);
    weft_err_t err = earliest_releases(wl, earliest);
    for (size_t c = 0; c < wl->n_coflows && !err; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        const coflow_job_t *job = &wl->jobs[co->job];
        /* a step of the clock then, as sim_check_end counts one */
        double released = earliest[c], step = DBL_EPSILON * released;
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            const coflow_flow_t *fl = &wl->flows[f];
            double iso = fl->bytes / fmin(fab->cap_out[fl->src], fab->cap_in[fl->dst]);
            /* below DBL_MIN even at 0 s: a rate of 1 over it overflows, and
               a time of 0 never ends (1e-200 bytes at 1e300 bytes/s looped) */
            if (iso >= DBL_MIN && step <= JCT_RES_SHARE * iso)
                continue;
            char why[160];
            if (iso >= DBL_MIN)
                snprintf(why, sizeof why, "the clock steps by up to %.3g s at %.9g s, when the "
                         "coflow is released at the earliest", step, released);
            else
                snprintf(why, sizeof why, "a double holds no shorter time whole (%g s)",
                         DBL_MIN);
            err = weft_fail(WEFT_EINVAL, "job %lld coflow %lld: its flow %" PRIu32 "->%" PRIu32
                            " of %.6g bytes takes %.3g s alone, but %s: too coarse to time "
                            "it, and its CCT and JCT could fall below their bounds; %s",
                            (long long)job->id, (long long)co->id, fl->src, fl->dst,
                            fl->bytes, iso, why,
                            iso < DBL_MIN ? "slow the ports"
                            : released > job->arrival_s + co->compute_s
                                ? "shift the arrivals toward 0 and shorten the stages before "
                                  "it (or slow the ports)"
                                : "shift the arrivals toward 0 (or slow the ports)");
            break;
        }
    }
    free(earliest);
    return err;
}
