/*
 * plan.c - validation and indexing of one batch's coflow DAGs for the
 * encoder: the children lists (the backward direction's predecessors), the
 * topological waves of both directions and the nodes of each job.
 *
 * Invariants of a built plan: every edge joins two distinct nodes of the
 * same job, no edge repeats, the graph is acyclic; in each direction
 * wave[v] = 0 for a node without predecessors and 1 + max wave of its
 * predecessors otherwise, so every predecessor of a node of wave k lies in
 * a wave < k (what makes one GEMM per wave and the anti-diagonal schedule
 * valid, see forward.c); order lists the nodes wave by wave, ties by node
 * number, so results do not depend on how the caller sorted its lists.
 */
#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"

static atomic_uint_fast64_t next_plan_id = 1;

void gnn_plan_init(gnn_plan_t *plan) { memset(plan, 0, sizeof *plan); }

void gnn_plan_destroy(gnn_plan_t *plan)
{
    free(plan->job);
    free(plan->job_start);
    free(plan->job_nodes);
    for (int d = 0; d < GNN_NDIR; d++) {
        free(plan->dir[d].pred_start);
        free(plan->dir[d].pred);
        free(plan->dir[d].wave);
        free(plan->dir[d].wave_start);
        free(plan->dir[d].order);
    }
    memset(plan, 0, sizeof *plan);
}

/* Names a cycle among the nodes Kahn's algorithm could not visit: each of
 * them has an unvisited predecessor, so walking predecessors from one of
 * them must come back to a node already on the walk. mark [N] is zero on
 * entry (scratch). */
static weft_err_t report_cycle(const gnn_plan_t *plan, const gnn_dir_plan_t *dp,
                               const size_t *remaining, size_t *mark)
{
    size_t n = plan->n_nodes, v = 0;
    while (v < n && remaining[v] == 0)
        v++;
    assert(v < n);
    /* walk until a node repeats: mark[v] = step + 1 */
    size_t step = 0;
    while (mark[v] == 0) {
        mark[v] = ++step;
        size_t next = n;
        for (size_t i = dp->pred_start[v]; i < dp->pred_start[v + 1]; i++)
            if (remaining[dp->pred[i]] != 0) {
                next = dp->pred[i];
                break;
            }
        assert(next < n);
        v = next;
    }
    /* v starts the cycle; list it (predecessor walk = reversed edges) */
    char buf[256];
    size_t len = 0, start = v, shown = 0;
    buf[0] = '\0';
    do {
        if (shown == 8) {
            snprintf(buf + len, sizeof buf - len, " ...");
            break;
        }
        int w = snprintf(buf + len, sizeof buf - len, "%s%zu", shown ? " <- " : "", v);
        if (w > 0 && (size_t)w < sizeof buf - len)
            len += (size_t)w;
        shown++;
        size_t next = n;
        for (size_t i = dp->pred_start[v]; i < dp->pred_start[v + 1]; i++)
            if (remaining[dp->pred[i]] != 0) { /* the first walk's choice */
                next = dp->pred[i];
                break;
            }
        if (next == n)
            break;
        v = next;
    } while (v != start);
    return weft_fail(WEFT_ECYCLE, "gnn plan: cycle in job %zu through nodes %s (child <- parent)",
                     plan->job[start], buf);
}

/* Waves and order of direction dp, whose successors are succ_start/succ.
 * remaining and mark are [N] scratch. */
static weft_err_t build_waves(gnn_plan_t *plan, gnn_dir_plan_t *dp, const size_t *succ_start,
                              const size_t *succ, size_t *remaining, size_t *queue, size_t *mark)
{
    size_t n = plan->n_nodes;
    /* Kahn's algorithm (1962): a node is ready once all its predecessors
     * are; its wave is 1 + the latest of them. */
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++) {
        remaining[v] = dp->pred_start[v + 1] - dp->pred_start[v];
        dp->wave[v] = 0;
        if (remaining[v] == 0)
            queue[tail++] = v;
    }
    size_t max_wave = 0;
    while (head < tail) {
        size_t u = queue[head++];
        for (size_t i = succ_start[u]; i < succ_start[u + 1]; i++) {
            size_t w = succ[i];
            if (dp->wave[w] < dp->wave[u] + 1)
                dp->wave[w] = dp->wave[u] + 1;
            if (--remaining[w] == 0)
                queue[tail++] = w;
        }
        if (dp->wave[u] > max_wave)
            max_wave = dp->wave[u];
    }
    if (tail < n)
        return report_cycle(plan, dp, remaining, mark);
    dp->n_waves = n ? max_wave + 1 : 0;
    dp->wave_start = weft_calloc(dp->n_waves + 1, sizeof(size_t));
    if (!dp->wave_start)
        return weft_fail(WEFT_ENOMEM, "gnn plan: cannot allocate %zu waves", dp->n_waves);
    /* counting sort by wave, stable in node number */
    for (size_t v = 0; v < n; v++)
        dp->wave_start[dp->wave[v] + 1]++;
    for (size_t k = 0; k < dp->n_waves; k++) {
        size_t size = dp->wave_start[k + 1];
        if (size > plan->max_wave_size)
            plan->max_wave_size = size;
        dp->wave_start[k + 1] += dp->wave_start[k];
    }
    for (size_t k = 0; k < dp->n_waves; k++)
        queue[k] = dp->wave_start[k]; /* cursor per wave */
    for (size_t v = 0; v < n; v++)
        dp->order[queue[dp->wave[v]]++] = v;
    return WEFT_OK;
}

weft_err_t gnn_plan_build(gnn_plan_t *plan, size_t n_nodes, size_t n_jobs,
                          const size_t *pred_start, const size_t *pred, const size_t *job)
{
    weft_err_t err = WEFT_OK;
    size_t *scratch = NULL;
    gnn_plan_init(plan);
    size_t n = n_nodes;
    if (pred_start[0] != 0)
        return weft_fail(WEFT_EINVAL, "gnn plan: pred_start[0] is %zu, expected 0", pred_start[0]);
    for (size_t v = 0; v < n; v++)
        if (pred_start[v + 1] < pred_start[v])
            return weft_fail(WEFT_EINVAL,
                             "gnn plan: pred_start[%zu] = %zu < pred_start[%zu] = %zu, expected "
                             "non-decreasing offsets",
                             v + 1, pred_start[v + 1], v, pred_start[v]);
    if (n_jobs > n) /* also keeps n_jobs + 1 below from overflowing */
        return weft_fail(WEFT_EINVAL, "gnn plan: %zu jobs for %zu nodes, expected every job to "
                                      "have a node", n_jobs, n);
    size_t ne = pred_start[n];
    plan->n_nodes = n;
    plan->n_jobs = n_jobs;
    plan->n_edges = ne;

    plan->job = weft_calloc(n, sizeof(size_t));
    plan->job_start = weft_calloc(n_jobs + 1, sizeof(size_t));
    plan->job_nodes = weft_calloc(n, sizeof(size_t));
    scratch = weft_calloc(n, 4 * sizeof(size_t)); /* seen, remaining, queue, mark */
    int ok = plan->job && plan->job_start && plan->job_nodes && scratch;
    for (int d = 0; d < GNN_NDIR; d++) {
        gnn_dir_plan_t *dp = &plan->dir[d];
        dp->pred_start = weft_calloc(n + 1, sizeof(size_t));
        dp->pred = weft_calloc(ne, sizeof(size_t));
        dp->wave = weft_calloc(n, sizeof(size_t));
        dp->order = weft_calloc(n, sizeof(size_t));
        ok = ok && dp->pred_start && dp->pred && dp->wave && dp->order;
    }
    if (!ok) {
        err = weft_fail(WEFT_ENOMEM, "gnn plan: cannot index %zu nodes and %zu edges", n, ne);
        goto cleanup;
    }
    size_t *seen = scratch, *remaining = scratch + n, *queue = scratch + 2 * n,
           *mark = scratch + 3 * n;

    /* jobs */
    for (size_t v = 0; v < n; v++) {
        if (job[v] >= n_jobs) {
            err = weft_fail(WEFT_EINVAL, "gnn plan: node %zu has job %zu, expected < %zu jobs", v,
                            job[v], n_jobs);
            goto cleanup;
        }
        plan->job[v] = job[v];
        plan->job_start[job[v] + 1]++;
    }
    for (size_t j = 0; j < n_jobs; j++) {
        if (plan->job_start[j + 1] == 0) {
            err = weft_fail(WEFT_EINVAL, "gnn plan: job %zu of %zu has no node", j, n_jobs);
            goto cleanup;
        }
        plan->job_start[j + 1] += plan->job_start[j];
    }
    for (size_t j = 0; j < n_jobs; j++) /* n_jobs <= n: every job has a node */
        queue[j] = plan->job_start[j];
    for (size_t v = 0; v < n; v++)
        plan->job_nodes[queue[job[v]]++] = v;

    /* edges: the forward direction's predecessors are the caller's parents */
    gnn_dir_plan_t *fw = &plan->dir[GNN_FWD], *bw = &plan->dir[GNN_BWD];
    memcpy(fw->pred_start, pred_start, (n + 1) * sizeof(size_t));
    for (size_t v = 0; v < n; v++) {
        for (size_t i = pred_start[v]; i < pred_start[v + 1]; i++) {
            size_t u = pred[i];
            if (u >= n) {
                err = weft_fail(WEFT_EINVAL, "gnn plan: node %zu has parent %zu, expected < %zu",
                                v, u, n);
                goto cleanup;
            }
            if (u == v) {
                err = weft_fail(WEFT_EINVAL, "gnn plan: node %zu (job %zu) is its own parent", v,
                                job[v]);
                goto cleanup;
            }
            if (job[u] != job[v]) {
                err = weft_fail(WEFT_EINVAL,
                                "gnn plan: node %zu (job %zu) has parent %zu of another job %zu", v,
                                job[v], u, job[u]);
                goto cleanup;
            }
            if (seen[u] == v + 1) {
                err = weft_fail(WEFT_EINVAL, "gnn plan: node %zu lists parent %zu twice", v, u);
                goto cleanup;
            }
            seen[u] = v + 1;
            fw->pred[i] = u;
            bw->pred_start[u + 1]++;
        }
    }
    /* the backward direction's predecessors: children, by transposition
     * (ascending child number, since v runs in order) */
    for (size_t v = 0; v < n; v++)
        bw->pred_start[v + 1] += bw->pred_start[v];
    for (size_t v = 0; v < n; v++)
        queue[v] = bw->pred_start[v];
    for (size_t v = 0; v < n; v++)
        for (size_t i = fw->pred_start[v]; i < fw->pred_start[v + 1]; i++)
            bw->pred[queue[fw->pred[i]]++] = v;

    memset(mark, 0, n * sizeof(size_t));
    WEFT_CHECK(build_waves(plan, fw, bw->pred_start, bw->pred, remaining, queue, mark));
    WEFT_CHECK(build_waves(plan, bw, fw->pred_start, fw->pred, remaining, queue, mark));
    assert(fw->n_waves == bw->n_waves); /* both are the longest path, in nodes */
    plan->id = atomic_fetch_add(&next_plan_id, 1);
    free(scratch);
    return WEFT_OK;

cleanup:
    free(scratch);
    gnn_plan_destroy(plan);
    return err;
}
