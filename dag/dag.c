/*
 * dag.c - per-job coflow DAG analysis with igraph (0.10 API).
 *
 * igraph reports errors through a handler; weft installs the "ignore"
 * handler and maps igraph_error_t codes to weft_err_t, so a bad job never
 * aborts the process. Debian 12's igraph is not safe to call from two
 * threads at once (its error-cleanup stack is shared: two threads sorting
 * DAGs abort with "Corrupt finally stack", tests/test_dag.c), so every
 * igraph call here runs under one lock, which makes the dag_* functions
 * safe to call from any thread (the LP bounds of `weft eval` run on
 * several). igraph builds each job's graph and sorts it (finding cycles);
 * the rest (waves, critical paths, descendant counts) are passes over that
 * order on the workload's own arrays, none recursive: a job may be a chain
 * of millions of coflows.
 */
#include "dag.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t igraph_lock = PTHREAD_MUTEX_INITIALIZER;

/* Takes the lock and sets the handlers (per thread in a thread-safe igraph
 * build, so set at each entry rather than once). */
static void igraph_enter(void)
{
    pthread_mutex_lock(&igraph_lock);
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
}

static void igraph_leave(void) { pthread_mutex_unlock(&igraph_lock); }

static weft_err_t from_igraph(igraph_error_t e, const char *what)
{
    if (e == IGRAPH_SUCCESS)
        return WEFT_OK;
    if (e == IGRAPH_ENOMEM)
        return weft_fail(WEFT_ENOMEM, "out of memory in igraph (%s)", what);
    return weft_fail(WEFT_EINTERNAL, "igraph failed in %s: %s", what, igraph_strerror(e));
}

/* dag_job_graph under the lock, held by the caller */
static weft_err_t job_graph(const coflow_workload_t *wl, size_t j, igraph_t *g)
{
    const coflow_job_t *job = &wl->jobs[j];
    size_t n_edges = 0;
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
        n_edges += wl->coflows[c].n_parents;
    igraph_vector_int_t edges;
    if (igraph_vector_int_init(&edges, (igraph_integer_t)(2 * n_edges)))
        return weft_fail(WEFT_ENOMEM, "out of memory for the DAG of job %lld",
                         (long long)job->id);
    size_t k = 0;
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t p = 0; p < co->n_parents; p++) {
            VECTOR(edges)[k++] = (igraph_integer_t)(wl->parents[co->first_parent + p] -
                                                    job->first_coflow);
            VECTOR(edges)[k++] = (igraph_integer_t)(c - job->first_coflow);
        }
    }
    igraph_error_t e =
        igraph_create(g, &edges, (igraph_integer_t)job->n_coflows, IGRAPH_DIRECTED);
    igraph_vector_int_destroy(&edges);
    return from_igraph(e, "igraph_create");
}

weft_err_t dag_job_graph(const coflow_workload_t *wl, size_t j, igraph_t *g)
{
    igraph_enter();
    weft_err_t err = job_graph(wl, j, g);
    igraph_leave();
    return err;
}

#define CYCLE_SHOWN 8 /* vertices a cycle message names before "... and N more" */

/* A cycle's text being written into buf[0..size): at its length so far;
 * safe the end of the last part that leaves room for "..." after it; cut
 * once a part did not fit. */
typedef struct {
    char *buf;
    size_t size, at, safe;
    bool cut;
} cycle_text_t;

/* Appends s to t's text if it fits whole; the first part that does not
 * ends the text with as much of "..." as fits (cut set, nothing appended
 * after it): a name cut inside would be half an escape (weft_shown) or
 * another vertex's name. The "..." goes at safe: parts that filled the
 * buffer exactly would read as the whole cycle. */
static void cycle_append(cycle_text_t *t, const char *s)
{
    if (t->cut)
        return;
    size_t n = strlen(s), room = t->size - 1 - t->at;
    if (n > room) {
        t->cut = true;
        t->at = t->safe;
        s = "...";
        room = t->size - 1 - t->at;
        n = strlen(s) < room ? strlen(s) : room;
    } else if (n + strlen("...") <= room) {
        t->safe = t->at + n;
    }
    memcpy(t->buf + t->at, s, n);
    t->at += n;
    t->buf[t->at] = '\0';
}

size_t dag_cycle_text(size_t n, const size_t *next, size_t *work, dag_name_fn name,
                      const void *ctx, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t v = 0, steps = 0;
    while (v < n && next[v] == SIZE_MAX)
        v++;
    if (v == n)
        return 0;
    /* work[v] = the step that reached v, 0 if none yet */
    memset(work, 0, n * sizeof *work);
    while (v != SIZE_MAX && !work[v]) {
        work[v] = ++steps;
        v = next[v];
    }
    if (v == SIZE_MAX) /* next broke its promise: no cycle to name */
        return 0;
    /* the cycle is v, next[v], ... (each a child of the next): work[0..len)
     * now holds it in that order, printed backwards from its lowest vertex */
    size_t len = steps + 1 - work[v], low = 0;
    for (size_t i = 0; i < len; i++, v = next[v]) {
        work[i] = v;
        if (v < work[low])
            low = i;
    }
    size_t shown = len < CYCLE_SHOWN ? len : CYCLE_SHOWN;
    cycle_text_t t = {.buf = buf, .size = size};
    char part[160];
    for (size_t k = 0; k <= shown; k++) { /* k == shown closes the cycle */
        if (k == shown && shown < len) {
            snprintf(part, sizeof part, " -> ... and %zu more", len - shown);
            cycle_append(&t, part);
        }
        if (k)
            cycle_append(&t, " -> ");
        name(ctx, work[k == shown ? low : (low + len - k) % len], part, sizeof part);
        cycle_append(&t, part);
    }
    return len;
}

static void name_coflow(const void *ctx, size_t v, char *out, size_t size)
{
    const coflow_coflow_t *first = ctx;
    snprintf(out, size, "%lld", (long long)first[v].id);
}

/* Names one cycle of job j, from which the partial topological order sorted
 * left coflows out. */
static weft_err_t cycle_error(const coflow_workload_t *wl, size_t j,
                              const igraph_vector_int_t *sorted)
{
    const coflow_job_t *job = &wl->jobs[j];
    size_t n = job->n_coflows, first = job->first_coflow;
    size_t *next = weft_calloc(n, sizeof *next), *work = weft_calloc(n, sizeof *work);
    char list[512] = "";
    if (next && work) {
        for (igraph_integer_t i = 0; i < igraph_vector_int_size(sorted); i++)
            work[VECTOR(*sorted)[i]] = 1;
        /* a left-out coflow's first left-out parent */
        for (size_t v = 0; v < n; v++) {
            const coflow_coflow_t *co = &wl->coflows[first + v];
            next[v] = SIZE_MAX;
            for (size_t q = 0; !work[v] && next[v] == SIZE_MAX && q < co->n_parents; q++)
                if (!work[wl->parents[co->first_parent + q] - first])
                    next[v] = wl->parents[co->first_parent + q] - first;
        }
        dag_cycle_text(n, next, work, name_coflow, &wl->coflows[first], list, sizeof list);
    }
    free(next);
    free(work);
    if (!list[0]) /* out of memory, or sorted was not a partial order */
        return weft_fail(WEFT_ECYCLE, "cycle in job %lld", (long long)job->id);
    return weft_fail(WEFT_ECYCLE, "cycle in job %lld: coflows %s", (long long)job->id, list);
}

/* Topological order of job j's coflows (global indices) on its graph g. */
static weft_err_t topo_order(const coflow_workload_t *wl, size_t j, const igraph_t *g,
                             size_t *order)
{
    weft_err_t err = WEFT_OK;
    const coflow_job_t *job = &wl->jobs[j];
    igraph_vector_int_t sorted;
    if (igraph_vector_int_init(&sorted, 0))
        return weft_fail(WEFT_ENOMEM, "out of memory sorting job %lld", (long long)job->id);
    /* On a cyclic graph igraph 0.10 returns an error (or, in some builds, a
     * partial order with a warning); both mean a cycle here. */
    igraph_error_t e = igraph_topological_sorting(g, &sorted, IGRAPH_OUT);
    if (e != IGRAPH_SUCCESS && e != IGRAPH_EINVAL)
        err = from_igraph(e, "igraph_topological_sorting");
    else if (e == IGRAPH_EINVAL || (size_t)igraph_vector_int_size(&sorted) != job->n_coflows)
        err = cycle_error(wl, j, &sorted);
    else
        for (size_t i = 0; i < job->n_coflows; i++)
            order[i] = job->first_coflow + (size_t)VECTOR(sorted)[i];
    igraph_vector_int_destroy(&sorted);
    return err;
}

weft_err_t dag_topo_order(const coflow_workload_t *wl, size_t j, size_t *order)
{
    igraph_t g;
    igraph_enter();
    weft_err_t err = job_graph(wl, j, &g);
    if (!err) {
        err = topo_order(wl, j, &g, order);
        igraph_destroy(&g);
    }
    igraph_leave();
    return err;
}

/* Scratch of count_descendants for the largest job, indexed by a coflow's
 * place in its job (local index, 0 .. n_coflows). */
typedef struct {
    size_t *child_start; /* [max_n + 1] children of v are child[child_start[v] ..
                            child_start[v + 1]) */
    size_t *child;       /* [max_edges] local indices */
    size_t *pos;         /* [max_n] place of v in the topological order */
    size_t *idom;        /* [max_n] immediate dominator of v, NO_DOM for a root */
    size_t *dom_size;    /* [max_n] coflows v dominates, itself included */
    size_t *seen;        /* [max_n] u + 1 once the search from u reached it */
    size_t *stack;       /* [max_n] the search's to-do list */
} desc_scratch_t;

#define NO_DOM SIZE_MAX /* the virtual root above a job's roots */

static void desc_scratch_free(desc_scratch_t *s)
{
    free(s->child_start);
    free(s->child);
    free(s->pos);
    free(s->idom);
    free(s->dom_size);
    free(s->seen);
    free(s->stack);
}

static bool desc_scratch_alloc(desc_scratch_t *s, size_t max_n, size_t max_edges)
{
    s->child_start = weft_calloc(max_n + 1, sizeof *s->child_start);
    s->child = weft_calloc(max_edges ? max_edges : 1, sizeof *s->child);
    s->pos = weft_calloc(max_n, sizeof *s->pos);
    s->idom = weft_calloc(max_n, sizeof *s->idom);
    s->dom_size = weft_calloc(max_n, sizeof *s->dom_size);
    s->seen = weft_calloc(max_n, sizeof *s->seen);
    s->stack = weft_calloc(max_n, sizeof *s->stack);
    return s->child_start && s->child && s->pos && s->idom && s->dom_size && s->seen &&
           s->stack;
}

/* The nearest common dominator of a and b: the lower of the two climbs its
 * dominator tree until they meet (Cooper, Harvey and Kennedy, "A Simple,
 * Fast Dominance Algorithm", 2001, figure 3); a dominator comes before
 * what it dominates in the topological order. */
static size_t dom_meet(const desc_scratch_t *s, size_t a, size_t b)
{
    while (a != b) {
        if (a == NO_DOM || b == NO_DOM)
            return NO_DOM;
        if (s->pos[a] > s->pos[b])
            a = s->idom[a];
        else
            b = s->idom[b];
    }
    return a;
}

/* n_descendants of job j's coflows (the distinct coflows each reaches),
 * given its topological order (global indices). A search from each coflow
 * would take O(n (n + m)): quadratic on a chain, whose k-th coflow reaches
 * n - 1 - k others. Instead, coflows are taken children first, and the
 * search from v stops at every coflow u whose descendants it already knows
 * to be "closed": every path into them from outside passes through u,
 * i.e. u dominates them all (with a virtual root above the job's roots),
 * so no other branch of the search can reach them and they count as
 * dom_size(u) at once. u is closed exactly when dom_size(u) = 1 +
 * n_descendants(u). On a chain, a tree, or stages joined one after the
 * other (series-parallel shapes) nearly every coflow is closed, and the
 * whole job costs O(n + m) plus the dominator climbs; a search still walks
 * the coflows that are not closed, so the worst case stays O(n (n + m)).
 * No recursion: a job may be a chain of millions. */
static void count_descendants(coflow_workload_t *wl, size_t j, const size_t *order,
                              desc_scratch_t *s)
{
    const coflow_job_t *job = &wl->jobs[j];
    size_t n = job->n_coflows, base = job->first_coflow;
    coflow_coflow_t *co = &wl->coflows[base];
    const size_t *parents = wl->parents;

    /* children lists, from the parent lists */
    memset(s->child_start, 0, (n + 1) * sizeof *s->child_start);
    for (size_t c = 0; c < n; c++)
        for (size_t k = 0; k < co[c].n_parents; k++)
            s->child_start[parents[co[c].first_parent + k] - base + 1]++;
    for (size_t v = 0; v < n; v++)
        s->child_start[v + 1] += s->child_start[v];
    for (size_t c = 0; c < n; c++) /* stack[v]: next free slot of v */
        s->stack[c] = s->child_start[c];
    for (size_t c = 0; c < n; c++)
        for (size_t k = 0; k < co[c].n_parents; k++)
            s->child[s->stack[parents[co[c].first_parent + k] - base]++] = c;

    /* immediate dominators, parents first: the common dominator of the
     * parents (a root's is the virtual root) */
    for (size_t i = 0; i < n; i++)
        s->pos[order[i] - base] = i;
    for (size_t i = 0; i < n; i++) {
        size_t v = order[i] - base, d = NO_DOM;
        for (size_t k = 0; k < co[v].n_parents; k++) {
            size_t p = parents[co[v].first_parent + k] - base;
            d = k == 0 ? p : dom_meet(s, d, p);
        }
        s->idom[v] = d;
        s->dom_size[v] = 1;
        s->seen[v] = 0;
    }
    for (size_t i = n; i-- > 0;) { /* what each dominates, dominated first */
        size_t v = order[i] - base;
        if (s->idom[v] != NO_DOM)
            s->dom_size[s->idom[v]] += s->dom_size[v];
    }

    for (size_t i = n; i-- > 0;) { /* children first */
        size_t v = order[i] - base, count = 0, sp = 0;
        s->seen[v] = v + 1;
        s->stack[sp++] = v;
        while (sp) {
            size_t u = s->stack[--sp];
            if (u != v) {
                if (s->dom_size[u] == (size_t)co[u].n_descendants + 1) {
                    count += s->dom_size[u]; /* closed: u and all below it */
                    continue;
                }
                count++;
            }
            for (size_t e = s->child_start[u]; e < s->child_start[u + 1]; e++) {
                size_t c = s->child[e];
                if (s->seen[c] != v + 1) {
                    s->seen[c] = v + 1;
                    s->stack[sp++] = c;
                }
            }
        }
        co[v].n_descendants = (uint32_t)count;
    }
}

double dag_coflow_iso(const coflow_workload_t *wl, const coflow_fabric_t *fab, size_t c,
                      double *scratch_out, double *scratch_in)
{
    const coflow_coflow_t *co = &wl->coflows[c];
    const coflow_flow_t *f = &wl->flows[co->first_flow];
    for (size_t i = 0; i < co->n_flows; i++) {
        scratch_out[f[i].src] += f[i].bytes;
        scratch_in[f[i].dst] += f[i].bytes;
    }
    double worst = 0;
    for (size_t i = 0; i < co->n_flows; i++) {
        uint32_t s = f[i].src, d = f[i].dst;
        double t = scratch_out[s] / fab->cap_out[s];
        if (t > worst)
            worst = t;
        t = scratch_in[d] / fab->cap_in[d];
        if (t > worst)
            worst = t;
    }
    for (size_t i = 0; i < co->n_flows; i++)
        scratch_out[f[i].src] = scratch_in[f[i].dst] = 0;
    return worst;
}

weft_err_t dag_analyze(coflow_workload_t *wl, const coflow_fabric_t *fab)
{
    weft_err_t err = WEFT_OK;
    if (fab->n_ports < wl->n_ports)
        return weft_fail(WEFT_EINVAL, "the workload uses %zu ports but the fabric has %zu",
                         wl->n_ports, fab->n_ports);
    size_t max_coflows = 1, max_edges = 0;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        if (job->n_coflows > max_coflows)
            max_coflows = job->n_coflows;
        size_t edges = 0;
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
            edges += wl->coflows[c].n_parents;
        if (edges > max_edges)
            max_edges = edges;
    }
    desc_scratch_t desc = {0};
    size_t *order = weft_calloc(max_coflows, sizeof *order);
    double *sout = weft_calloc(fab->n_ports, sizeof *sout);
    double *sin = weft_calloc(fab->n_ports, sizeof *sin);
    if (!order || !sout || !sin || !desc_scratch_alloc(&desc, max_coflows, max_edges)) {
        err = weft_fail(WEFT_ENOMEM, "out of memory analysing DAGs");
        goto cleanup;
    }
    for (size_t c = 0; c < wl->n_coflows; c++) {
        coflow_coflow_t *co = &wl->coflows[c];
        co->iso_s = dag_coflow_iso(wl, fab, c, sout, sin);
        co->n_children = 0;
    }
    for (size_t c = 0; c < wl->n_coflows; c++)
        for (size_t p = 0; p < wl->coflows[c].n_parents; p++)
            wl->coflows[wl->parents[wl->coflows[c].first_parent + p]].n_children++;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        coflow_job_t *job = &wl->jobs[j];
        size_t n = job->n_coflows, base = job->first_coflow;
        if (n == 1) { /* the single-stage common case, no igraph needed */
            coflow_coflow_t *co = &wl->coflows[base];
            co->wave = 0;
            co->n_descendants = 0;
            co->cp_below_s = co->iso_s + job->final_compute_s;
            job->depth = 1;
            job->lower_bound_s = co->compute_s + co->cp_below_s;
            continue;
        }
        igraph_t g;
        igraph_enter();
        err = job_graph(wl, j, &g);
        if (!err) {
            err = topo_order(wl, j, &g, order);
            igraph_destroy(&g);
        }
        igraph_leave();
        if (err)
            goto cleanup;
        count_descendants(wl, j, order, &desc);
        uint32_t depth = 0;
        for (size_t i = 0; i < n; i++) { /* parents first: waves */
            coflow_coflow_t *co = &wl->coflows[order[i]];
            uint32_t w = 0;
            for (size_t p = 0; p < co->n_parents; p++) {
                uint32_t pw = wl->coflows[wl->parents[co->first_parent + p]].wave + 1;
                if (pw > w)
                    w = pw;
            }
            co->wave = w;
            if (w + 1 > depth)
                depth = w + 1;
        }
        for (size_t i = 0; i < n; i++) /* children first: critical path below */
            wl->coflows[order[i]].cp_below_s = -1;
        for (size_t i = n; i-- > 0;) {
            coflow_coflow_t *co = &wl->coflows[order[i]];
            if (co->cp_below_s < 0) /* a sink: no child raised it */
                co->cp_below_s = job->final_compute_s;
            co->cp_below_s += co->iso_s;
            for (size_t p = 0; p < co->n_parents; p++) {
                coflow_coflow_t *par = &wl->coflows[wl->parents[co->first_parent + p]];
                double via = co->compute_s + co->cp_below_s;
                if (via > par->cp_below_s)
                    par->cp_below_s = via;
            }
        }
        double lb = 0;
        for (size_t i = 0; i < n; i++) {
            coflow_coflow_t *co = &wl->coflows[base + i];
            if (co->n_parents == 0 && co->compute_s + co->cp_below_s > lb)
                lb = co->compute_s + co->cp_below_s;
        }
        job->depth = depth;
        job->lower_bound_s = lb;
    }
cleanup:
    desc_scratch_free(&desc);
    free(order);
    free(sout);
    free(sin);
    return err;
}

double dag_weighted_bound(const coflow_workload_t *wl)
{
    if (wl->n_jobs == 0)
        return 0;
    double s = 0;
    for (size_t j = 0; j < wl->n_jobs; j++)
        s += wl->jobs[j].weight * wl->jobs[j].lower_bound_s;
    return s / (double)wl->n_jobs;
}
