/*
 * lazy.c - lazy pacing, netsim's fast path under MADD (sim_t's lazy
 * fields, sim_internal.h). A paced coflow's open flows all move with one
 * scale, so advancing it lowers one number instead of every flow; its
 * per-port bytes are kept as anchors (compensated sums of flow_remaining)
 * times that scale and rebuilt only for the coflows that moved. The
 * backfilled flows move on their own and are folded back into their
 * coflow's scale as they advance. sim.c calls these at each event;
 * sim_check_lazy (check.c) recomputes each decision the reference way.
 */
#include "sim_internal.h"

#include <math.h>

/* ---------------------------------------------------------- lazy pacing */

/* anc[q].sum += x, the rounding error kept in anc[q].comp (Knuth's TwoSum);
 * with sig > 0 (the coflow's scale) also bytes[q] (cport_bytes) from the
 * new sum (port_bytes_from_anchor's value, from registers rather than
 * reloaded from what was just stored) and comp[q] (cport_comp) zeroed. The
 * arrays come as arguments so a loop can hold them in registers. */
static inline void anc_add_at(anchor_t *anc, double *bytes, double *comp, size_t q, double x,
                              double sig)
{
    double a = anc[q].sum, t = a + x, bb = t - a;
    double err = anc[q].comp + ((a - (t - bb)) + (x - bb));
    anc[q] = (anchor_t){t, err};
    if (sig > 0) {
        bytes[q] = sig * (t + err);
        comp[q] = 0;
    }
}

/* anc_add_at for a fold-back, x + x_err = na - a exactly (lazy_advance): a
 * is a flow's term of the sum (so a <= sum, but for a rounding far below
 * na) and 0 < na <= a (the flow goes on), so |x| < |sum|. Then Dekker's
 * Fast2Sum gives the same exact rounding error as TwoSum with three
 * additions fewer: the same floats, about 4% less time under the MADD
 * policies. */
static inline void anc_fold_at(anchor_t *anc, double *bytes, double *comp, size_t q, double x,
                               double x_err, double sig)
{
    double sum = anc[q].sum, t = sum + x;
    double err = anc[q].comp + ((x - (t - sum)) + x_err);
    anc[q] = (anchor_t){t, err};
    if (sig > 0) {
        bytes[q] = sig * (t + err);
        comp[q] = 0;
    }
}

static inline void anc_add(sim_t *s, size_t q, double x, double sig)
{
    anc_add_at(s->anc, s->st.cport_bytes, s->st.cport_comp, q, x, sig);
}

/* What happened to a coflow since the last decision (sim_t.mark). */
enum {
    MARK_MOVED = 1,  /* bytes moved: its stamps (coflow.h) need renewing */
    MARK_SCALED = 2, /* its scale moved: every per-port byte count too */
    MARK_ENDING = 4  /* its scale reached zero: all its open flows finish */
};

/* Also forgets c's remembered bottleneck time (coflow_state_keep_iso):
 * every write of its bytes in this file follows a mark, or a state
 * function that forgets it itself (finish_flow, port_bytes_exact). */
static inline void mark_dirty(sim_t *s, size_t c, uint8_t bits)
{
    coflow_state_bytes_changed(&s->st, c);
    if (!s->mark[c])
        s->dirty[s->n_dirty++] = c;
    s->mark[c] |= bits;
}

/* cport_bytes at cports position q of c from its anchor sum. */
static inline void port_bytes_from_anchor(sim_t *s, size_t c, size_t q)
{
    s->st.cport_bytes[q] = s->sig[c] * (s->anc[q].sum + s->anc[q].comp);
    s->st.cport_comp[q] = 0;
}

/* A released coflow starts with scale 1: its flows' remaining bytes are
 * their sizes, its anchors its per-port bytes. */
void lazy_release(sim_t *s, size_t c)
{
    coflow_state_t *st = &s->st;
    size_t a = st->cport_start[c], mid = a + s->wl->coflows[c].n_senders,
           b = st->cport_start[c + 1];
    const double *bytes = coflow_state_port_bytes_exact(st, c);
    double total = 0;
    for (size_t q = a; q < b; q++) {
        /* with the sum's rounding: dropped, a port whose large flows leave
           first would keep it, larger than what its small ones have */
        s->anc[q] = (anchor_t){bytes[q - a], st->cport_comp[q]};
        if (q < mid)
            total += bytes[q - a];
    }
    s->sig[c] = 1;
    s->anc_total[c] = total;
}

/* Renews the stamps (coflow.h) of every coflow that moved, so orderings
 * and the allocator read its per-port bytes as current, after rebuilding
 * them for the coflows whose scale moved (the others' changed ports were
 * rewritten where their anchors changed). O(ports of the paced ones). */
WEFT_HOT_CLONES
void lazy_refresh(sim_t *s)
{
    coflow_state_t *st = &s->st;
    for (size_t i = 0; i < s->n_dirty; i++) {
        size_t c = s->dirty[i];
        uint8_t mark = s->mark[c];
        s->mark[c] = 0;
        if (st->status[c] != COFLOW_ACTIVE)
            continue;
        if (mark & MARK_SCALED) {
            /* and, on the way, the sum lazy_collect takes if c is paced
               again (the same additions in the same order). The arrays
               and the scale are held in locals: through s, GCC reloaded
               them after every store. */
            size_t a = st->cport_start[c], mid = a + s->wl->coflows[c].n_senders,
                   b = st->cport_start[c + 1];
            const anchor_t *anc = s->anc;
            double *bytes = st->cport_bytes, *comp = st->cport_comp;
            double sig = s->sig[c], total = 0;
            for (size_t q = a; q < mid; q++) {
                double v = anc[q].sum + anc[q].comp;
                bytes[q] = sig * v; /* port_bytes_from_anchor */
                comp[q] = 0;
                total += v;
            }
            for (size_t q = mid; q < b; q++) {
                bytes[q] = sig * (anc[q].sum + anc[q].comp);
                comp[q] = 0;
            }
            s->anc_total[c] = total;
            s->total_at[c] = s->res->n_decisions + 1; /* the coming decision */
        }
        st->cache_remaining[c] = st->coflow_remaining[c];
        st->cache_open[c] = st->n_open[c];
    }
    s->n_dirty = 0;
}

/* The paced coflows of the last decision go back to unpaced; their
 * per-port bytes get rebuilt by lazy_refresh from their new scale. (Their
 * backfilled flows were folded back as lazy_advance moved them.) */
void lazy_unpace(sim_t *s)
{
    s->n_run = 0;
    for (size_t i = 0; i < s->n_pc; i++) {
        size_t c = s->pc[i].c;
        s->pace[c] = 0;
        mark_dirty(s, c, MARK_SCALED);
    }
    s->n_pc = 0;
    s->st.n_paced = 0;
}

/* advance() under lazy pacing: paced coflows lower their scale, the
 * backfilled flows of run[] move on their own; a coflow whose scale
 * reaches zero finishes all its open flows. A backfilled flow that goes on
 * is folded back into its coflow's scale at once, while its state is at
 * hand: flow_remaining = what is left / sig, and its anchors move by as
 * much. A paced coflow's per-port bytes are all rebuilt by lazy_refresh
 * with its new scale, so only the others' ports are rewritten here. */
WEFT_HOT_CLONES
void lazy_advance(sim_t *s, double dt)
{
    coflow_state_t *st = &s->st;
    const coflow_flow_t *flows = s->wl->flows;
    const coflow_coflow_t *coflows = s->wl->coflows;
    double now = st->now;
    size_t d0 = s->n_dirty; /* the coflows that move get listed from here */
    s->n_done = 0;
    for (size_t i = 0; i < s->n_pc; i++) {
        size_t c = s->pc[i].c;
        double q = s->pc[i].q, d = q * dt, left = s->sig[c] - d;
        mark_dirty(s, c, MARK_MOVED);
        if (left <= FINISH_REL_TOL || left <= q * now * FINISH_TIME_TOL) {
            /* flow_remaining <= size, so every open flow is within the
               finish tolerance: all the coflow had is sent */
            s->mark[c] |= MARK_ENDING;
            s->acc[c] = st->coflow_remaining[c];
            const size_t *open = st->open_flows + s->wl->coflows[c].first_flow;
            for (size_t k = 0; k < st->n_open[c]; k++)
                s->done[s->n_done++] = (moving_t){open[k], c, 0, {0}};
        } else {
            s->sig[c] = left;
            s->acc[c] = d * s->anc_total[c];
        }
    }
    /* run[] lists a coflow's flows together: its scale, tolerance and
     * running sum stay in registers over them (the sum gets the same
     * additions in the same order as through acc[]). */
    const moving_t *run = s->run;
    const backfilled_t *bf = s->bf;
    double *rem = st->flow_remaining;
    /* held in locals: the stores below would make GCC reload them from s
       at every flow */
    anchor_t *anc = s->anc;
    double *bytes = st->cport_bytes, *comp = st->cport_comp;
    moving_t *done = s->done;
    size_t n_done = s->n_done;
    size_t cur = SIZE_MAX;
    double sig = 0, tol = 0, acc = 0, rebuild = 0;
    bool ending = false;
    for (size_t k = 0, n = s->n_run; k < n; k++) {
        const moving_t *m = &run[k];
        size_t f = m->f, c = m->c;
        if (c != cur) {
            if (cur != SIZE_MAX)
                s->acc[cur] = acc;
            cur = c;
            ending = s->mark[c] & MARK_ENDING;
            if (!ending)
                mark_dirty(s, c, MARK_MOVED);
            acc = s->acc[c];
            sig = s->sig[c];
            tol = FINISH_REL_TOL * coflows[c].max_flow_bytes;
            rebuild = s->pace[c] > 0 ? 0 : sig;
        }
        if (ending)
            continue; /* finishes with its coflow */
        /* its paced part is in the scale (and in acc through anc_total) */
        double x = m->extra * dt, a = bf[k].a;
        double left = a * sig - x;
        /* the flow's size is read only when its coflow's largest could
           call it finished */
        if ((left <= tol && left <= FINISH_REL_TOL * flows[f].bytes) ||
            left <= m->rate * now * FINISH_TIME_TOL) {
            acc += x + left; /* the residue counts as sent */
            done[n_done++] = *m;
            continue; /* its anchor (a) leaves in lazy_finish_flow */
        }
        acc += x;
        double na = left / sig, d = na - a, d_err = 0;
        rem[f] = na;
        /* na - a is exact while na >= a / 2 (Sterbenz); a flow that fell
           by more rounds it, so its rounding error goes into the anchors'
           compensation too (TwoSum), or they would keep it once the flow
           has left and only small ones share its ports */
        if (na < 0.5 * a) {
            double bb = d - na;
            d_err = (na - (d - bb)) + (-a - bb);
        }
        anc_fold_at(anc, bytes, comp, bf[k].qs, d, d_err, rebuild);
        anc_fold_at(anc, bytes, comp, bf[k].qr, d, d_err, rebuild);
    }
    s->n_done = n_done;
    if (cur != SIZE_MAX)
        s->acc[cur] = acc;
    for (size_t i = d0; i < s->n_dirty; i++) {
        size_t c = s->dirty[i];
        double sent = s->acc[c];
        s->acc[c] = 0;
        st->coflow_remaining[c] -= sent;
        st->job_sent[s->wl->coflows[c].job] += sent;
        s->moved += sent;
    }
}

/* A flow of run[] or of a finishing coflow is done: its anchor leaves its
 * ports' sums (a port with no open flow left sums to exactly zero). */
void lazy_finish_flow(sim_t *s, size_t f, size_t c, double a)
{
    coflow_state_t *st = &s->st;
    if (s->mark[c] & MARK_ENDING)
        return; /* the whole coflow goes */
    size_t qs = coflow_sgroup(st, f), qr = coflow_rgroup(st, f);
    anc_add(s, qs, -a, 0);
    anc_add(s, qr, -a, 0);
    if (st->sopen[qs] == 0)
        s->anc[qs] = (anchor_t){0, 0};
    if (st->ropen[qr] == 0)
        s->anc[qr] = (anchor_t){0, 0};
    port_bytes_from_anchor(s, c, qs);
    port_bytes_from_anchor(s, c, qr);
}

/* The decision's moving set under lazy pacing: the paced coflows and the
 * backfilled flows, each flow's next finish from its true remaining. The
 * backfill rates move into run[] and flow_rate is zeroed at once, while
 * its lines are at hand (nothing reads it before the next allocation but
 * sim_check_lazy, which puts them back). The allocator lists a coflow's flows
 * together, so a flow's coflow is looked up only when the flow falls
 * outside the last one's range. */
WEFT_HOT_CLONES
weft_err_t lazy_collect(sim_t *s)
{
    coflow_state_t *st = &s->st;
    double best = INFINITY;
    for (size_t i = 0; i < st->n_paced; i++) {
        size_t c = st->paced[i];
        double q = s->sig[c] * s->pace[c];
        if (s->total_at[c] != s->res->n_decisions) { /* not summed by lazy_refresh */
            double total = 0;
            for (size_t k = st->cport_start[c], mid = k + s->wl->coflows[c].n_senders; k < mid;
                 k++)
                total += s->anc[k].sum + s->anc[k].comp;
            s->anc_total[c] = total; /* each open flow has one sender */
        }
        s->pc[s->n_pc++] = (paced_t){c, q};
        double dt = s->sig[c] / q;
        if (dt < best)
            best = dt;
    }
    const size_t *rated = st->rated;
    double *rate = st->flow_rate;
    const double *rem = st->flow_remaining;
    moving_t *run = s->run;
    backfilled_t *bf = s->bf;
    size_t n = s->n_run;
    /* the rates beside the list (NULL: in flow_rate), held in a local */
    const double *listed = s->listed ? s->rated_rate : NULL;
    size_t c = 0, lo = 0, hi = 0; /* the last coflow, its flows [lo, hi) */
    double sig = 1, pace = 0;
    for (size_t k = 0, nr = st->n_rated; k < nr; k++) {
        size_t f = rated[k];
        double b = listed ? listed[k] : rate[f];
        if (enter_coflow(s, f, &c, &lo, &hi)) {
            if (st->status[c] != COFLOW_ACTIVE)
                b = NAN; /* refused below */
            sig = s->sig[c];
            pace = s->pace[c];
        }
        if (!(b > 0 && b < INFINITY)) {
            s->n_run = n;
            return weft_fail(WEFT_EINTERNAL, "allocator '%s' backfilled flow %zu of "
                             "coflow %zu (%s) with %g bytes/s at t=%.9g s", s->alloc->name,
                             f, c, st->status[c] == COFLOW_ACTIVE ? "active" : "not active",
                             listed ? listed[k] : rate[f], st->now);
        }
        double a = rem[f];
        if (!listed)
            rate[f] = 0;
        double left = a * sig, r = left * pace + b;
        bf[n] = (backfilled_t){a, coflow_sgroup(st, f), coflow_rgroup(st, f)};
        run[n++] = (moving_t){f, c, r, {.extra = b}};
        best = earlier_finish(best, left, r);
    }
    s->n_run = n;
    s->next_finish_dt = best;
    return WEFT_OK;
}

