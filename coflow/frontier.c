/*
 * frontier.c - each job's frontier of waiting coflows, kept as coflows are
 * released and finish, so the DAG-aware orderings read it in time
 * proportional to it instead of scanning every coflow of an active job at
 * every decision (a job of n coflows released one by one cost them n^2:
 * docs/performance-log.md, 2026-12-03 night).
 *
 * Two things per job:
 *   - its ready list: the WAITING coflows whose parents are all DONE (a
 *     root from the start), in no particular order; wcp's waiting path is a
 *     max over them, which no order changes;
 *   - the sum of its WAITING coflows' isolation times, jsebf's waiting work,
 *     in fixed point (each time truncated to units of 2^-62 of the job's
 *     largest isolation time, rounded up to a power of two): an integer sum
 *     is the same whatever order coflows leave it in, so it is kept in O(1)
 *     a release and is still a function of the state alone. The unit is the
 *     job's own, so the sum depends neither on other jobs (which the
 *     gateway may not know yet) nor on the units of time: a fixed unit (it
 *     was 2^-32 s) read a workload in units of 2^-60 s as all zeros.
 */
#include "coflow_internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* A time below 2^e counts in units of 2^(e - FX_BITS): below 2^62 units, so
 * the sum of a job of up to 2^64 coflows cannot overflow. */
#define FX_BITS 62

__extension__ typedef __int128 fx_t;

struct coflow_frontier {
    uint32_t *parents_left; /* [n_coflows] parents not DONE */
    size_t *child_start;    /* [n_coflows + 1] into child_list */
    size_t *child_list;     /* [n_parents] each parent's children in index order */
    size_t *ready;          /* [n_coflows] job j's list at jobs[j].first_coflow */
    size_t *ready_pos;      /* [n_coflows] place in ready, or SIZE_MAX */
    size_t *n_ready;        /* [n_jobs] */
    fx_t *waiting_fx;       /* [n_jobs] */
    int *unit_exp;          /* [n_jobs] waiting_fx[j] counts units of 2^unit_exp[j] s */
};

/* An isolation time as the frontier counts it: 0 if not positive (as before
 * dag_analyze sets it), DBL_MAX if infinite. */
static double iso_counted(const coflow_coflow_t *co)
{
    double s = co->iso_s;
    return s > 0 ? fmin(s, DBL_MAX) : 0;
}

/* A coflow's isolation time in its job's units. */
static fx_t iso_fx(const struct coflow_frontier *fr, const coflow_coflow_t *co)
{
    return (fx_t)ldexp(iso_counted(co), -fr->unit_exp[co->job]);
}

void coflow_frontier_free(struct coflow_frontier *fr)
{
    if (!fr)
        return;
    free(fr->parents_left);
    free(fr->child_start);
    free(fr->child_list);
    free(fr->ready);
    free(fr->ready_pos);
    free(fr->n_ready);
    free(fr->waiting_fx);
    free(fr->unit_exp);
    free(fr);
}

static void ready_add(struct coflow_frontier *fr, const coflow_workload_t *wl, size_t c)
{
    const coflow_job_t *job = &wl->jobs[wl->coflows[c].job];
    size_t at = job->first_coflow + fr->n_ready[wl->coflows[c].job]++;
    fr->ready[at] = c;
    fr->ready_pos[c] = at;
}

static void ready_remove(struct coflow_frontier *fr, const coflow_workload_t *wl, size_t c)
{
    size_t at = fr->ready_pos[c];
    if (at == SIZE_MAX)
        return;
    size_t j = wl->coflows[c].job;
    size_t last = wl->jobs[j].first_coflow + --fr->n_ready[j];
    fr->ready[at] = fr->ready[last];
    fr->ready_pos[fr->ready[at]] = at;
    fr->ready_pos[c] = SIZE_MAX;
}

weft_err_t coflow_frontier_create(struct coflow_frontier **out, const coflow_workload_t *wl)
{
    size_t nc = wl->n_coflows, nj = wl->n_jobs;
    for (size_t c = 0; c < nc; c++) { /* a workload not made by finish_job */
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t q = 0; q < co->n_parents; q++)
            if (wl->parents[co->first_parent + q] >= nc)
                return weft_fail(WEFT_EINVAL, "coflow %zu has parent index %zu of %zu coflows",
                                 c, wl->parents[co->first_parent + q], nc);
    }
    struct coflow_frontier *fr = calloc(1, sizeof *fr);
    if (!fr)
        return weft_fail(WEFT_ENOMEM, "out of memory for the frontiers of %zu jobs", nj);
    fr->parents_left = weft_calloc(nc, sizeof *fr->parents_left);
    fr->child_start = weft_calloc(nc + 1, sizeof *fr->child_start);
    fr->child_list = weft_calloc(wl->n_parents, sizeof *fr->child_list);
    fr->ready = weft_calloc(nc, sizeof *fr->ready);
    fr->ready_pos = weft_calloc(nc, sizeof *fr->ready_pos);
    fr->n_ready = weft_calloc(nj, sizeof *fr->n_ready);
    fr->waiting_fx = weft_calloc(nj, sizeof *fr->waiting_fx);
    fr->unit_exp = weft_calloc(nj, sizeof *fr->unit_exp);
    if (!fr->parents_left || !fr->child_start || !fr->child_list || !fr->ready ||
        !fr->ready_pos || !fr->n_ready || !fr->waiting_fx || !fr->unit_exp) {
        coflow_frontier_free(fr);
        return weft_fail(WEFT_ENOMEM, "out of memory for the frontiers of %zu jobs", nj);
    }
    /* children by counting: a parent's count, then prefix sums, then fill */
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        fr->parents_left[c] = (uint32_t)co->n_parents;
        for (size_t q = 0; q < co->n_parents; q++)
            fr->child_start[wl->parents[co->first_parent + q] + 1]++;
    }
    for (size_t c = 0; c < nc; c++)
        fr->child_start[c + 1] += fr->child_start[c];
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t q = 0; q < co->n_parents; q++)
            fr->child_list[fr->child_start[wl->parents[co->first_parent + q]]++] = c;
    }
    for (size_t c = nc; c > 0; c--) /* back to starts */
        fr->child_start[c] = fr->child_start[c - 1];
    fr->child_start[0] = 0;
    for (size_t j = 0; j < nj; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        double largest = 0;
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
            largest = fmax(largest, iso_counted(&wl->coflows[c]));
        int e;
        frexp(largest, &e); /* largest < 2^e (e = 0 for 0) */
        fr->unit_exp[j] = e - FX_BITS;
    }
    for (size_t c = 0; c < nc; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        fr->ready_pos[c] = SIZE_MAX;
        fr->waiting_fx[co->job] += iso_fx(fr, co);
        if (co->n_parents == 0)
            ready_add(fr, wl, c);
    }
    *out = fr;
    return WEFT_OK;
}

void coflow_frontier_released(struct coflow_frontier *fr, const coflow_workload_t *wl,
                              size_t c)
{
    ready_remove(fr, wl, c);
    fr->waiting_fx[wl->coflows[c].job] -= iso_fx(fr, &wl->coflows[c]);
}

void coflow_frontier_done(struct coflow_frontier *fr, const coflow_state_t *st, size_t c)
{
    for (size_t k = fr->child_start[c]; k < fr->child_start[c + 1]; k++) {
        size_t ch = fr->child_list[k];
        if (--fr->parents_left[ch] == 0 && st->status[ch] == COFLOW_WAITING)
            ready_add(fr, st->wl, ch);
    }
}

size_t coflow_state_children(const coflow_state_t *st, size_t c, const size_t **list)
{
    const struct coflow_frontier *fr = st->frontier;
    *list = fr->child_list + fr->child_start[c];
    return fr->child_start[c + 1] - fr->child_start[c];
}

size_t coflow_state_ready_waiting(const coflow_state_t *st, size_t j, const size_t **list)
{
    const struct coflow_frontier *fr = st->frontier;
    *list = fr->ready + st->wl->jobs[j].first_coflow;
    return fr->n_ready[j];
}

double coflow_state_waiting_iso(const coflow_state_t *st, size_t j)
{
    return ldexp((double)st->frontier->waiting_fx[j], st->frontier->unit_exp[j]);
}
