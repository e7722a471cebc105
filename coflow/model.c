/*
 * model.c - building and copying workloads, and the fabric.
 *
 * Invariant: every job but possibly the last is finished; a finished job's
 * parents[] entries are global coflow indices inside the job's own range and
 * its coflows' derived sizes are filled. While a job is open its parent ids
 * wait in pending_parent_ids (parallel to the job's slice of parents[]).
 *
 * The open job's coflow ids are also kept in a hash table (id_slots, open
 * addressing with linear probing, at most half full), so that the
 * duplicate check of each added coflow and the resolution of each parent
 * id take O(1) rather than a scan of the job: with scans, a job of n
 * coflows took O(n^2) to build (some 40 s for a chain of 200,000 coflows,
 * extrapolated from a profile at 10,000). A
 * slot belongs to the open job only if it carries the job's stamp
 * (id_gen, new at every add_job), so a new job starts with an empty table
 * without clearing it.
 */
#include "coflow_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void coflow_workload_init(coflow_workload_t *wl, size_t n_ports)
{
    memset(wl, 0, sizeof *wl);
    wl->n_ports = n_ports;
}

void coflow_workload_destroy(coflow_workload_t *wl)
{
    free(wl->jobs);
    free(wl->coflows);
    free(wl->flows);
    free(wl->parents);
    free(wl->pending_parent_ids);
    free(wl->id_slots);
    memset(wl, 0, sizeof *wl);
}

/* splitmix64's finalizer: ids are often consecutive, so mix all bits */
static size_t id_hash(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return (size_t)(x ^ (x >> 31));
}

/* The slot of `id` in the open job's table: the one holding it, or the
 * free slot where it would go. The table has a free slot (at most half
 * full). */
static coflow_id_slot_t *id_slot(const coflow_workload_t *wl, int64_t id)
{
    size_t mask = wl->cap_id_slots - 1;
    for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
        coflow_id_slot_t *s = &wl->id_slots[i];
        if (s->gen != wl->id_gen || s->id == id)
            return s;
    }
}

/* Global index of the open job's coflow `id`, or SIZE_MAX. O(1) expected. */
static size_t find_coflow(const coflow_workload_t *wl, int64_t id)
{
    if (wl->cap_id_slots == 0)
        return SIZE_MAX;
    const coflow_id_slot_t *s = id_slot(wl, id);
    return s->gen == wl->id_gen ? s->coflow : SIZE_MAX;
}

/* Makes room in the table for `need` coflows of the open job (keeping it at
 * most half full), re-entering the job's coflows when it grows. */
static weft_err_t reserve_ids(coflow_workload_t *wl, const coflow_job_t *j, size_t need)
{
    if (need <= wl->cap_id_slots / 2)
        return WEFT_OK;
    size_t cap = wl->cap_id_slots ? wl->cap_id_slots : 16;
    while (cap / 2 < need) {
        if (cap > SIZE_MAX / 4)
            return weft_fail(WEFT_ENOMEM, "cannot index %zu coflows of job %lld", need,
                             (long long)j->id);
        cap *= 2;
    }
    coflow_id_slot_t *slots = weft_calloc(cap, sizeof *slots);
    if (!slots)
        return weft_fail(WEFT_ENOMEM, "out of memory indexing %zu coflows of job %lld", need,
                         (long long)j->id);
    free(wl->id_slots);
    wl->id_slots = slots; /* every stamp 0, and id_gen >= 1: all free */
    wl->cap_id_slots = cap;
    for (size_t c = j->first_coflow; c < wl->n_coflows; c++)
        *id_slot(wl, wl->coflows[c].id) =
            (coflow_id_slot_t){.gen = wl->id_gen, .id = wl->coflows[c].id, .coflow = c};
    return WEFT_OK;
}

/* -0 passes the ">= 0" checks of a time; kept, it would be written back as
 * "-0". */
static double plus_zero(double t) { return t == 0 ? 0.0 : t; }

static coflow_job_t *open_job(coflow_workload_t *wl)
{
    return wl->job_open ? &wl->jobs[wl->n_jobs - 1] : NULL;
}

weft_err_t coflow_workload_add_job(coflow_workload_t *wl, int64_t id, double arrival_s,
                                   double weight, double final_compute_s)
{
    if (wl->job_open)
        return weft_fail(WEFT_EINTERNAL, "job %lld added while job %lld is still open",
                         (long long)id, (long long)wl->jobs[wl->n_jobs - 1].id);
    if (!isfinite(arrival_s) || arrival_s < 0)
        return weft_fail(WEFT_EINVAL, "job %lld: arrival time %g, expected a finite number >= 0",
                         (long long)id, arrival_s);
    if (!isfinite(weight) || weight <= 0)
        return weft_fail(WEFT_EINVAL, "job %lld: weight %g, expected a finite number > 0",
                         (long long)id, weight);
    if (weight > COFLOW_MAX_WEIGHT)
        return weft_fail(WEFT_EINVAL, "job %lld: weight %g, expected at most %g", (long long)id,
                         weight, COFLOW_MAX_WEIGHT);
    if (!isfinite(final_compute_s) || final_compute_s < 0)
        return weft_fail(WEFT_EINVAL,
                         "job %lld: final compute time %g, expected a finite number >= 0",
                         (long long)id, final_compute_s);
    weft_err_t err = weft_grow((void **)&wl->jobs, &wl->cap_jobs, wl->n_jobs + 1,
                               sizeof *wl->jobs);
    if (err)
        return err;
    coflow_job_t *j = &wl->jobs[wl->n_jobs++];
    memset(j, 0, sizeof *j);
    j->id = id;
    j->arrival_s = plus_zero(arrival_s);
    j->weight = weight;
    j->final_compute_s = plus_zero(final_compute_s);
    j->first_coflow = wl->n_coflows;
    wl->job_open = true;
    wl->n_pending = 0;
    wl->id_gen++; /* the table of ids is empty for the new job */
    return WEFT_OK;
}

weft_err_t coflow_workload_add_coflow(coflow_workload_t *wl, int64_t id, double compute_s)
{
    coflow_job_t *j = open_job(wl);
    if (!j)
        return weft_fail(WEFT_EINTERNAL, "coflow %lld added outside a job", (long long)id);
    if (!isfinite(compute_s) || compute_s < 0)
        return weft_fail(WEFT_EINVAL,
                         "job %lld coflow %lld: compute time %g, expected a finite number >= 0",
                         (long long)j->id, (long long)id, compute_s);
    if (find_coflow(wl, id) != SIZE_MAX)
        return weft_fail(WEFT_EINVAL, "job %lld: coflow id %lld appears twice",
                         (long long)j->id, (long long)id);
    weft_err_t err = weft_grow((void **)&wl->coflows, &wl->cap_coflows, wl->n_coflows + 1,
                               sizeof *wl->coflows);
    if (!err)
        err = reserve_ids(wl, j, j->n_coflows + 1);
    if (err)
        return err;
    *id_slot(wl, id) = (coflow_id_slot_t){.gen = wl->id_gen, .id = id, .coflow = wl->n_coflows};
    coflow_coflow_t *c = &wl->coflows[wl->n_coflows++];
    memset(c, 0, sizeof *c);
    c->id = id;
    c->job = wl->n_jobs - 1;
    c->first_flow = wl->n_flows;
    c->first_parent = wl->n_parents;
    c->compute_s = plus_zero(compute_s);
    j->n_coflows++;
    return WEFT_OK;
}

static coflow_coflow_t *last_coflow(coflow_workload_t *wl)
{
    coflow_job_t *j = open_job(wl);
    if (!j || j->n_coflows == 0)
        return NULL;
    return &wl->coflows[wl->n_coflows - 1];
}

weft_err_t coflow_workload_add_flow(coflow_workload_t *wl, uint32_t src, uint32_t dst,
                                    double bytes)
{
    coflow_coflow_t *c = last_coflow(wl);
    if (!c)
        return weft_fail(WEFT_EINTERNAL, "flow added outside a coflow");
    long long jid = (long long)wl->jobs[c->job].id, cid = (long long)c->id;
    if (src >= wl->n_ports || dst >= wl->n_ports)
        return weft_fail(WEFT_EINVAL,
                         "job %lld coflow %lld: flow %u->%u uses port %u outside the fabric "
                         "(ports 0..%zu)",
                         jid, cid, src, dst, src >= wl->n_ports ? src : dst, wl->n_ports - 1);
    if (!isfinite(bytes) || !(bytes >= COFLOW_MIN_FLOW_BYTES))
        return weft_fail(WEFT_EINVAL,
                         "job %lld coflow %lld: flow %u->%u has size %g bytes, expected a "
                         "finite number >= %g",
                         jid, cid, src, dst, bytes, COFLOW_MIN_FLOW_BYTES);
    weft_err_t err = weft_grow((void **)&wl->flows, &wl->cap_flows, wl->n_flows + 1,
                               sizeof *wl->flows);
    if (err)
        return err;
    wl->flows[wl->n_flows++] = (coflow_flow_t){.src = src, .dst = dst, .bytes = bytes};
    c->n_flows++;
    return WEFT_OK;
}

weft_err_t coflow_workload_add_parent(coflow_workload_t *wl, int64_t parent_id)
{
    coflow_coflow_t *c = last_coflow(wl);
    if (!c)
        return weft_fail(WEFT_EINTERNAL, "parent added outside a coflow");
    weft_err_t err = weft_grow((void **)&wl->parents, &wl->cap_parents, wl->n_parents + 1,
                               sizeof *wl->parents);
    if (!err)
        err = weft_grow((void **)&wl->pending_parent_ids, &wl->cap_pending, wl->n_pending + 1,
                        sizeof *wl->pending_parent_ids);
    if (err)
        return err;
    wl->parents[wl->n_parents++] = 0;
    wl->pending_parent_ids[wl->n_pending++] = parent_id;
    c->n_parents++;
    return WEFT_OK;
}

/* Drops the open job and everything it added. */
static void rollback_job(coflow_workload_t *wl)
{
    coflow_job_t *j = &wl->jobs[wl->n_jobs - 1];
    if (j->n_coflows) {
        coflow_coflow_t *first = &wl->coflows[j->first_coflow];
        wl->n_flows = first->first_flow;
        wl->n_parents = first->first_parent;
    }
    wl->n_coflows = j->first_coflow;
    wl->n_jobs--;
    wl->job_open = false;
    wl->n_pending = 0;
}

int coflow_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t count_distinct(uint32_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, coflow_cmp_u32);
    uint32_t k = 1;
    for (size_t i = 1; i < n; i++)
        k += v[i] != v[i - 1];
    return k;
}

weft_err_t coflow_workload_finish_job(coflow_workload_t *wl)
{
    coflow_job_t *j = open_job(wl);
    if (!j)
        return weft_fail(WEFT_EINTERNAL, "finish_job without an open job");
    weft_err_t err = WEFT_OK;
    uint32_t *ports = NULL;
    size_t *listed = NULL; /* [n_coflows] 1 + the last child (in the job) listing it */
    long long jid = (long long)j->id;
    if (j->n_coflows == 0) {
        err = weft_fail(WEFT_EINVAL, "job %lld has no coflows", jid);
        goto cleanup;
    }
    listed = weft_calloc(j->n_coflows, sizeof *listed);
    if (!listed) {
        err = weft_fail(WEFT_ENOMEM, "out of memory finishing job %lld", jid);
        goto cleanup;
    }
    size_t base_parent = wl->coflows[j->first_coflow].first_parent;
    size_t max_flows = 0;
    for (size_t c = j->first_coflow; c < wl->n_coflows; c++) {
        coflow_coflow_t *co = &wl->coflows[c];
        if (co->n_flows == 0) {
            err = weft_fail(WEFT_EINVAL, "job %lld coflow %lld has no flows", jid,
                            (long long)co->id);
            goto cleanup;
        }
        if (co->n_flows > max_flows)
            max_flows = co->n_flows;
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t slot = co->first_parent + k;
            int64_t pid = wl->pending_parent_ids[slot - base_parent];
            if (pid == co->id) {
                err = weft_fail(WEFT_ECYCLE, "job %lld coflow %lld lists itself as a parent",
                                jid, (long long)co->id);
                goto cleanup;
            }
            size_t found = find_coflow(wl, pid);
            if (found == SIZE_MAX) {
                err = weft_fail(WEFT_ENOTFOUND,
                                "job %lld coflow %lld: parent coflow %lld does not exist in "
                                "the job",
                                jid, (long long)co->id, (long long)pid);
                goto cleanup;
            }
            if (listed[found - j->first_coflow] == c - j->first_coflow + 1) {
                err = weft_fail(WEFT_EINVAL, "job %lld coflow %lld lists parent %lld twice",
                                jid, (long long)co->id, (long long)pid);
                goto cleanup;
            }
            listed[found - j->first_coflow] = c - j->first_coflow + 1;
            wl->parents[slot] = found;
        }
    }
    ports = weft_calloc(max_flows, sizeof *ports);
    if (!ports) {
        err = weft_fail(WEFT_ENOMEM, "out of memory finishing job %lld", jid);
        goto cleanup;
    }
    for (size_t c = j->first_coflow; c < wl->n_coflows; c++) {
        coflow_coflow_t *co = &wl->coflows[c];
        const coflow_flow_t *f = &wl->flows[co->first_flow];
        double total = 0, largest = 0;
        for (size_t i = 0; i < co->n_flows; i++) {
            total += f[i].bytes;
            if (f[i].bytes > largest)
                largest = f[i].bytes;
            ports[i] = f[i].src;
        }
        co->total_bytes = total;
        co->max_flow_bytes = largest;
        co->n_senders = count_distinct(ports, co->n_flows);
        for (size_t i = 0; i < co->n_flows; i++)
            ports[i] = f[i].dst;
        co->n_receivers = count_distinct(ports, co->n_flows);
    }
    wl->job_open = false;
    wl->n_pending = 0;
cleanup:
    free(ports);
    free(listed);
    if (err)
        rollback_job(wl);
    return err;
}

weft_err_t coflow_workload_copy(coflow_workload_t *dst, const coflow_workload_t *src)
{
    coflow_workload_init(dst, src->n_ports);
    dst->jobs = weft_calloc(src->n_jobs, sizeof *dst->jobs);
    dst->coflows = weft_calloc(src->n_coflows, sizeof *dst->coflows);
    dst->flows = weft_calloc(src->n_flows, sizeof *dst->flows);
    dst->parents = weft_calloc(src->n_parents, sizeof *dst->parents);
    if (!dst->jobs || !dst->coflows || !dst->flows || !dst->parents) {
        coflow_workload_destroy(dst);
        return weft_fail(WEFT_ENOMEM, "out of memory copying a workload");
    }
    /* An empty source may hold NULL arrays; memcpy from NULL is undefined
     * even for zero bytes. */
    if (src->n_jobs)
        memcpy(dst->jobs, src->jobs, src->n_jobs * sizeof *dst->jobs);
    if (src->n_coflows)
        memcpy(dst->coflows, src->coflows, src->n_coflows * sizeof *dst->coflows);
    if (src->n_flows)
        memcpy(dst->flows, src->flows, src->n_flows * sizeof *dst->flows);
    if (src->n_parents)
        memcpy(dst->parents, src->parents, src->n_parents * sizeof *dst->parents);
    dst->n_jobs = dst->cap_jobs = src->n_jobs;
    dst->n_coflows = dst->cap_coflows = src->n_coflows;
    dst->n_flows = dst->cap_flows = src->n_flows;
    dst->n_parents = dst->cap_parents = src->n_parents;
    return WEFT_OK;
}

double coflow_workload_total_bytes(const coflow_workload_t *wl)
{
    double s = 0;
    for (size_t i = 0; i < wl->n_flows; i++)
        s += wl->flows[i].bytes;
    return s;
}

int coflow_workload_weight_exp(const coflow_workload_t *wl)
{
    double wmax = 0;
    for (size_t j = 0; j < wl->n_jobs; j++)
        wmax = fmax(wmax, wl->jobs[j].weight);
    return wmax > 0 ? ilogb(wmax) : 0;
}

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

weft_err_t coflow_workload_arrival_order(const coflow_workload_t *wl, size_t *order)
{
    job_key_t *keys = weft_calloc(wl->n_jobs, sizeof *keys);
    if (!keys)
        return weft_fail(WEFT_ENOMEM, "out of memory to order %zu jobs by arrival", wl->n_jobs);
    for (size_t j = 0; j < wl->n_jobs; j++)
        keys[j] = (job_key_t){wl->jobs[j].arrival_s, j};
    qsort(keys, wl->n_jobs, sizeof *keys, cmp_job_key);
    for (size_t j = 0; j < wl->n_jobs; j++)
        order[j] = keys[j].j;
    free(keys);
    return WEFT_OK;
}

weft_err_t coflow_fabric_init(coflow_fabric_t *fab, size_t n_ports, double rate)
{
    memset(fab, 0, sizeof *fab);
    if (n_ports == 0)
        return weft_fail(WEFT_EINVAL, "a fabric needs at least one port");
    if (!isfinite(rate) || rate <= 0)
        return weft_fail(WEFT_EINVAL, "port rate %g bytes/s, expected a finite number > 0",
                         rate);
    fab->cap_out = weft_calloc(n_ports, sizeof *fab->cap_out);
    fab->cap_in = weft_calloc(n_ports, sizeof *fab->cap_in);
    if (!fab->cap_out || !fab->cap_in) {
        coflow_fabric_destroy(fab);
        return weft_fail(WEFT_ENOMEM, "out of memory for a fabric of %zu ports", n_ports);
    }
    fab->n_ports = n_ports;
    for (size_t p = 0; p < n_ports; p++)
        fab->cap_out[p] = fab->cap_in[p] = rate;
    return WEFT_OK;
}

void coflow_fabric_destroy(coflow_fabric_t *fab)
{
    free(fab->cap_out);
    free(fab->cap_in);
    memset(fab, 0, sizeof *fab);
}
