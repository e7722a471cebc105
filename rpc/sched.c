/*
 * sched.c - the gateway's online scheduler (gateway.h): the emulator's
 * orderings and allocators over jobs that arrive on the wire.
 *
 * Invariants:
 *  - `all` holds every registered job not compacted away, in registration
 *    order; job j's flows have the gateway ids jfid[j] .. + its flows, so
 *    jfid increases with j and an id is the same after a journal replay;
 *    the per-flow/coflow/job arrays next to it are authoritative. Ids below
 *    next_fid that no job of all holds are flows of finished jobs compacted
 *    away: reports about them are stale and ignored.
 *  - When need_rebuild is false, `live` holds the jobs j with jlive[j]
 *    (in the same order) and `st` mirrors the authoritative arrays for
 *    them: a coflow ACTIVE in all is ACTIVE in st with the same release
 *    time; an open flow's st->flow_remaining is bytes - sent (> 0); each
 *    coflow_remaining is the sum over its open flows; job_sent the bytes
 *    the job sent. Progress and completions update both. Without `stale`
 *    the jobs with jlive are exactly the unfinished ones and st's fabric
 *    (dec_fab) has the ports' presence of now; a registration, a job
 *    finishing or a port's agent coming or going sets stale (gateway.h:
 *    the next decision may wait to rebuild), a change st cannot follow
 *    sets need_rebuild.
 *  - push_rate / push_cls / announced say what the sending agent's current
 *    connection was told, so a decision emits only differences.
 *  - crank[c] is coflow c's place in the last decision that ordered it;
 *    the last decision ordered it there iff last_out holds c's key at
 *    that place (n_ranked of them), so a rank is never a stale one.
 *  - Every finished job is remembered (n_retained: in the map, held or in
 *    gone) or forgotten (in the runs of forgotten ids), never both. Gone's
 *    entries from gone_head on, then fin_q's from fin_head on, are the
 *    finished jobs in the order they finished, forgotten ones among them
 *    (skipped: their ids no longer map to them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

/* Reported bytes may exceed a flow's size by this share (float rounding of
 * a size sent as a double). */
#define BYTES_REL_TOL 1e-9

/* Grows every array of one dimension (all at once) to hold need entries. */
static weft_err_t grow_all(void **arrs[], const size_t *sizes, size_t n_arrs, size_t *cap,
                           size_t need)
{
    if (need <= *cap)
        return WEFT_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    for (size_t i = 0; i < n_arrs; i++) {
        void *p = weft_reallocarray(*arrs[i], ncap, sizes[i]);
        if (!p)
            return weft_fail(WEFT_ENOMEM, "out of memory for %zu scheduler entries", ncap);
        memset((char *)p + *cap * sizes[i], 0, (ncap - *cap) * sizes[i]);
        *arrs[i] = p;
    }
    *cap = ncap;
    return WEFT_OK;
}

weft_err_t rpc_sched_init(rpc_sched_t *s, size_t n_ports, double port_rate,
                          const coflow_ordering_t *ord, const coflow_allocator_t *alloc)
{
    memset(s, 0, sizeof *s);
    if (!ord)
        return weft_fail(WEFT_EINVAL, "the gateway needs an ordering");
    if (!alloc)
        alloc = coflow_allocator_find(ord->default_allocator);
    if (!alloc)
        return weft_fail(WEFT_EINVAL, "ordering '%s' has no default allocator", ord->name);
    if (n_ports == 0 || n_ports > UINT32_MAX)
        return weft_fail(WEFT_EINVAL, "%zu ports: expected 1..%u", n_ports, UINT32_MAX);
    s->ord = ord;
    s->alloc = alloc;
    s->rate_rel_tol = RPC_RATE_REL_TOL;
    s->keep_finished = SIZE_MAX;
    weft_err_t err = coflow_fabric_init(&s->fab, n_ports, port_rate);
    if (!err && (err = coflow_fabric_init(&s->dec_fab, n_ports, port_rate)))
        coflow_fabric_destroy(&s->fab);
    if (err)
        return err;
    coflow_workload_init(&s->all, n_ports);
    s->port_rank = weft_calloc(n_ports, sizeof *s->port_rank);
    s->port_last = weft_calloc(n_ports, sizeof *s->port_last);
    s->absent = weft_calloc(n_ports, sizeof *s->absent);
    if (!s->port_rank || !s->port_last || !s->absent) {
        rpc_sched_destroy(s);
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu ports", n_ports);
    }
    return WEFT_OK;
}

static void drop_live(rpc_sched_t *s)
{
    if (!s->have_live)
        return;
    if (s->ctx && s->ord->destroy)
        s->ord->destroy(s->ctx);
    s->ctx = NULL;
    coflow_state_destroy(&s->st);
    coflow_workload_destroy(&s->live);
    s->have_live = false;
}

void rpc_sched_destroy(rpc_sched_t *s)
{
    drop_live(s);
    coflow_fabric_destroy(&s->fab);
    coflow_fabric_destroy(&s->dec_fab);
    coflow_workload_destroy(&s->all);
    void *ptrs[] = {s->sent, s->fdone, s->announced, s->push_rate, s->push_cls, s->fcoflow,
                    s->g2l, s->cstatus, s->release_s, s->ready_s, s->parents_left, s->g2l_c,
                    s->arrival_s, s->finish_s, s->left, s->jdone, s->pend, s->l2g_flow,
                    s->l2g_coflow, s->l2g_job, s->ids, s->port_rank, s->port_last,
                    s->changes, s->jobs_done, s->gone_id, s->gone_fid, s->gone_jct,
                    s->map_key, s->map_val, s->jfid, s->jcancelled, s->gone_cancelled,
                    s->drops, s->jlive, s->cleft, s->absent, s->last_in, s->last_out,
                    s->jforgot, s->fin_q, s->forgot_lo, s->forgot_hi, s->forgot_now,
                    s->crank, s->last_score, s->cfinish_s};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        free(ptrs[i]);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------- job id map */

static size_t id_hash(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* The slot of id, or of the empty slot where it would go. */
static size_t map_slot(const rpc_sched_t *s, int64_t id)
{
    size_t i = id_hash(id) & (s->map_cap - 1);
    while (s->map_val[i] && s->map_key[i] != id)
        i = (i + 1) & (s->map_cap - 1);
    return i;
}

/* 0 if id is not in the map, else its value + 1. */
static uint64_t map_get(const rpc_sched_t *s, int64_t id)
{
    return s->map_cap ? s->map_val[map_slot(s, id)] : 0;
}

/* Sets id's value (adding it if new). */
static weft_err_t map_put(rpc_sched_t *s, int64_t id, uint64_t val)
{
    if (s->map_cap) { /* an id already there changes in place: cannot fail */
        size_t k = map_slot(s, id);
        if (s->map_val[k]) {
            s->map_val[k] = val + 1;
            return WEFT_OK;
        }
    }
    if (2 * (s->map_n + 1) > s->map_cap) {
        size_t ncap = s->map_cap ? 2 * s->map_cap : 256;
        int64_t *ok = s->map_key;
        uint64_t *ov = s->map_val;
        size_t ocap = s->map_cap;
        s->map_key = weft_calloc(ncap, sizeof *s->map_key);
        s->map_val = weft_calloc(ncap, sizeof *s->map_val);
        if (!s->map_key || !s->map_val) {
            free(s->map_key), free(s->map_val);
            s->map_key = ok, s->map_val = ov;
            return weft_fail(WEFT_ENOMEM, "out of memory for %zu job ids", ncap);
        }
        s->map_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (ov[i]) {
                size_t k = map_slot(s, ok[i]);
                s->map_key[k] = ok[i];
                s->map_val[k] = ov[i];
            }
        free(ok), free(ov);
    }
    size_t k = map_slot(s, id);
    if (!s->map_val[k])
        s->map_n++;
    s->map_key[k] = id;
    s->map_val[k] = val + 1;
    return WEFT_OK;
}

/* Removes id from the map, if there: the entries after it in its probe
 * sequence move back over the hole (backward-shift deletion), so lookups
 * stay correct without tombstones. */
static void map_del(rpc_sched_t *s, int64_t id)
{
    if (!s->map_cap)
        return;
    size_t mask = s->map_cap - 1, i = map_slot(s, id);
    if (!s->map_val[i])
        return;
    s->map_val[i] = 0;
    s->map_n--;
    for (size_t k = (i + 1) & mask; s->map_val[k]; k = (k + 1) & mask) {
        size_t home = id_hash(s->map_key[k]) & mask;
        /* it stays if its home is cyclically in (i, k] */
        if (i <= k ? i < home && home <= k : i < home || home <= k)
            continue;
        s->map_key[i] = s->map_key[k];
        s->map_val[i] = s->map_val[k];
        s->map_val[k] = 0;
        i = k;
    }
}

size_t rpc_sched_find_job(const rpc_sched_t *s, int64_t id)
{
    uint64_t v = map_get(s, id);
    return v && !((v - 1) & RPC_GONE) ? (size_t)(v - 1) : SIZE_MAX;
}

bool rpc_sched_find_gone(const rpc_sched_t *s, int64_t id, uint64_t *first_fid, double *jct)
{
    uint64_t v = map_get(s, id);
    if (!v || !((v - 1) & RPC_GONE))
        return false;
    size_t g = (size_t)((v - 1) & ~RPC_GONE);
    *first_fid = s->gone_fid[g];
    *jct = s->gone_jct[g];
    return true;
}

uint64_t rpc_sched_first_fid(const rpc_sched_t *s, size_t j)
{
    return s->jfid[j];
}

/* Index in all of job j's first flow (a job has at least one coflow). */
static size_t job_first_flow(const coflow_workload_t *all, size_t j)
{
    return all->coflows[all->jobs[j].first_coflow].first_flow;
}

static size_t job_end_flow(const coflow_workload_t *all, size_t j)
{
    return j + 1 < all->n_jobs ? job_first_flow(all, j + 1) : all->n_flows;
}

int rpc_sched_flow_index(const rpc_sched_t *s, uint64_t fid, size_t *f)
{
    if (fid >= s->next_fid)
        return weft_fail(WEFT_ENOTFOUND, "flow %llu does not exist (%llu flows registered)",
                         (unsigned long long)fid, (unsigned long long)s->next_fid);
    size_t lo = 0, hi = s->all.n_jobs; /* the first job with jfid > fid */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->jfid[mid] <= fid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    size_t j = lo - 1, first = job_first_flow(&s->all, j);
    if (fid - s->jfid[j] >= job_end_flow(&s->all, j) - first)
        return 0; /* after j's flows, before the next job's: compacted away */
    *f = first + (size_t)(fid - s->jfid[j]);
    return 1;
}

uint64_t rpc_sched_end_fid(const rpc_sched_t *s, size_t j)
{
    return s->jfid[j] + (job_end_flow(&s->all, j) - job_first_flow(&s->all, j));
}

uint64_t rpc_sched_flow_gid(const rpc_sched_t *s, size_t f)
{
    size_t j = s->all.coflows[s->fcoflow[f]].job;
    return s->jfid[j] + (f - job_first_flow(&s->all, j));
}

/* Appends job j of src to dst as a new job arrived at arrival_s, with the
 * fields dag_analyze derived for src (the job was analysed when it was
 * parsed, and they do not depend on the other jobs), so the live workload
 * never needs analysing again. */
static weft_err_t copy_job(coflow_workload_t *dst, const coflow_workload_t *src, size_t j,
                           double arrival_s)
{
    const coflow_job_t *job = &src->jobs[j];
    weft_err_t err = coflow_workload_add_job(dst, job->id, arrival_s, job->weight,
                                             job->final_compute_s);
    if (err)
        return err;
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &src->coflows[c];
        if ((err = coflow_workload_add_coflow(dst, co->id, co->compute_s)))
            return err;
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++)
            if ((err = coflow_workload_add_flow(dst, src->flows[f].src, src->flows[f].dst,
                                                src->flows[f].bytes)))
                return err;
        for (size_t k = 0; k < co->n_parents; k++)
            if ((err = coflow_workload_add_parent(
                     dst, src->coflows[src->parents[co->first_parent + k]].id)))
                return err;
    }
    if ((err = coflow_workload_finish_job(dst)))
        return err;
    coflow_job_t *dj = &dst->jobs[dst->n_jobs - 1];
    dj->depth = job->depth;
    dj->lower_bound_s = job->lower_bound_s;
    for (size_t k = 0; k < job->n_coflows; k++) {
        const coflow_coflow_t *a = &src->coflows[job->first_coflow + k];
        coflow_coflow_t *b = &dst->coflows[dj->first_coflow + k];
        b->wave = a->wave;
        b->n_children = a->n_children;
        b->n_descendants = a->n_descendants;
        b->iso_s = a->iso_s;
        b->cp_below_s = a->cp_below_s;
    }
    return WEFT_OK;
}

/* ------------------------------------------------------------- events */

static weft_err_t add_timed(rpc_sched_t *s, double t, size_t idx, bool job)
{
    weft_err_t err = weft_grow((void **)&s->pend, &s->cap_pend, s->n_pend + 1, sizeof *s->pend);
    if (err)
        return err;
    s->pend[s->n_pend++] = (rpc_timed_t){t, idx, job};
    return WEFT_OK;
}

static void release(rpc_sched_t *s, size_t c, double now)
{
    s->cstatus[c] = COFLOW_ACTIVE;
    s->release_s[c] = now;
    if (!s->need_rebuild && s->have_live && s->jlive[s->all.coflows[c].job])
        coflow_state_release(&s->st, s->g2l_c[c], now);
    s->dirty = true;
}

/* The live state leaves out a job, keeps a finished one or decides on the
 * ports present at its rebuild (gateway.h). */
static void mark_stale(rpc_sched_t *s)
{
    if (!s->stale)
        s->stale_since = weft_mono_s();
    s->stale = true;
}

static weft_err_t job_finished(rpc_sched_t *s, size_t j, double t)
{
    weft_err_t err = weft_grow((void **)&s->jobs_done, &s->cap_jobs_done, s->n_jobs_done + 1,
                               sizeof *s->jobs_done);
    if (!err)
        err = weft_grow((void **)&s->fin_q, &s->cap_fin_q, s->n_fin_q + 1, sizeof *s->fin_q);
    if (err)
        return err;
    s->jdone[j] = 1;
    s->n_jdone++;
    s->n_retained++;
    s->finish_s[j] = t;
    s->jobs_done[s->n_jobs_done++] = s->all.jobs[j].id;
    /* fin_q is in the order of finish times: a job whose final compute
     * ended before jobs finished since (a tick takes the end late, the
     * first one after a replay every end the replay left pending) goes
     * before them, so that a restart from the journal forgets the same
     * jobs first. Forgotten entries are passed over. O(1) but for those. */
    size_t k = s->n_fin_q;
    for (; k > s->fin_head; k--) {
        size_t i = rpc_sched_find_job(s, s->fin_q[k - 1]);
        if (i != SIZE_MAX && !(s->finish_s[i] > t))
            break;
    }
    memmove(s->fin_q + k + 1, s->fin_q + k, (s->n_fin_q - k) * sizeof *s->fin_q);
    s->fin_q[k] = s->all.jobs[j].id;
    s->n_fin_q++;
    mark_stale(s); /* to drop from the live state */
    s->dirty = true;
    return WEFT_OK;
}

/* The arrays beside all, one entry per flow, coflow or job of it. */
typedef struct {
    void **arr[8];
    size_t size[8], n;
} side_arrays_t;

#define SIDE(a) (d.arr[d.n] = (void **)&(a), d.size[d.n++] = sizeof *(a))

static side_arrays_t flow_arrays(rpc_sched_t *s)
{
    side_arrays_t d = {.n = 0};
    SIDE(s->sent), SIDE(s->fdone), SIDE(s->announced), SIDE(s->push_rate);
    SIDE(s->push_cls), SIDE(s->fcoflow), SIDE(s->g2l);
    return d;
}

static side_arrays_t coflow_arrays(rpc_sched_t *s)
{
    side_arrays_t d = {.n = 0};
    SIDE(s->cstatus), SIDE(s->release_s), SIDE(s->ready_s), SIDE(s->parents_left);
    SIDE(s->g2l_c), SIDE(s->cleft), SIDE(s->crank), SIDE(s->cfinish_s);
    return d;
}

static side_arrays_t job_arrays(rpc_sched_t *s)
{
    side_arrays_t d = {.n = 0};
    SIDE(s->arrival_s), SIDE(s->finish_s), SIDE(s->left), SIDE(s->jdone), SIDE(s->jfid);
    SIDE(s->jcancelled), SIDE(s->jlive), SIDE(s->jforgot);
    return d;
}

#undef SIDE

static weft_err_t grow_side(side_arrays_t d, size_t *cap, size_t need)
{
    return grow_all(d.arr, d.size, d.n, cap, need);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Whether coflow x of job a (its first coflow at index ca of wa) and coflow
 * y of job b (cb of wb) have the same parents, as places in their jobs, in
 * any order: a parents list is a set, and a client that builds it from a
 * hash map may list it in another order when it registers the job again.
 * The lists are as long (the caller checked). O(n log n) for n parents. */
static bool same_parents(const coflow_workload_t *wa, size_t ca, const coflow_coflow_t *x,
                         const coflow_workload_t *wb, size_t cb, const coflow_coflow_t *y)
{
    size_t n = x->n_parents, i = 0;
    if (n == 0) /* and parents may be NULL: no offset taken from it */
        return true;
    const size_t *p = wa->parents + x->first_parent, *q = wb->parents + y->first_parent;
    while (i < n && p[i] - ca == q[i] - cb)
        i++;
    if (i == n) /* in the same order, as a resend from the same client */
        return true;
    n -= i;
    size_t *u = weft_calloc(2 * n, sizeof *u);
    if (!u) /* 2n words never fail in practice; "other contents" is then wrong */
        return false;
    size_t *v = u + n; /* only now: NULL + n is undefined */
    for (size_t k = 0; k < n; k++)
        u[k] = p[i + k] - ca, v[k] = q[i + k] - cb;
    qsort(u, n, sizeof *u, cmp_size);
    qsort(v, n, sizeof *v, cmp_size);
    bool same = !memcmp(u, v, n * sizeof *u);
    free(u);
    return same;
}

bool rpc_sched_same_job(const rpc_sched_t *s, size_t j, const coflow_workload_t *tmp)
{
    const coflow_workload_t *all = &s->all;
    const coflow_job_t *a = &all->jobs[j], *b = &tmp->jobs[0];
    if (a->weight != b->weight || a->final_compute_s != b->final_compute_s ||
        a->n_coflows != b->n_coflows)
        return false;
    for (size_t k = 0; k < a->n_coflows; k++) {
        const coflow_coflow_t *x = &all->coflows[a->first_coflow + k];
        const coflow_coflow_t *y = &tmp->coflows[b->first_coflow + k];
        if (x->id != y->id || x->compute_s != y->compute_s || x->n_flows != y->n_flows ||
            x->n_parents != y->n_parents)
            return false;
        if (!same_parents(all, a->first_coflow, x, tmp, b->first_coflow, y))
            return false;
        for (size_t i = 0; i < x->n_flows; i++) {
            const coflow_flow_t *f = &all->flows[x->first_flow + i];
            const coflow_flow_t *g = &tmp->flows[y->first_flow + i];
            if (f->src != g->src || f->dst != g->dst || f->bytes != g->bytes)
                return false;
        }
    }
    return true;
}

weft_err_t rpc_sched_check_resend(const rpc_sched_t *s, size_t j, const coflow_workload_t *tmp)
{
    if (rpc_sched_same_job(s, j, tmp))
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "job %lld is registered already with other contents "
                     "(weight, coflows or flows): a job id names one job",
                     (long long)s->all.jobs[j].id);
}

weft_err_t rpc_sched_commit_job(rpc_sched_t *s, const coflow_workload_t *tmp, double now,
                                uint64_t *first_fid)
{
    coflow_workload_t *all = &s->all;
    weft_err_t err = copy_job(all, tmp, 0, now);
    if (err)
        return err;
    if ((err = grow_side(flow_arrays(s), &s->cap_f, all->n_flows)) ||
        (err = grow_side(coflow_arrays(s), &s->cap_c, all->n_coflows)) ||
        (err = grow_side(job_arrays(s), &s->cap_j, all->n_jobs)))
        return err; /* the job stays in all but is never released: ENOMEM is fatal */
    size_t j = all->n_jobs - 1;
    const coflow_job_t *job = &all->jobs[j];
    if ((err = map_put(s, job->id, j)))
        return err;
    s->arrival_s[j] = now;
    s->left[j] = job->n_coflows;
    s->jlive[j] = 0;
    s->jfid[j] = s->next_fid;
    s->next_fid += all->n_flows - job_first_flow(all, j);
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &all->coflows[c];
        s->cstatus[c] = COFLOW_WAITING;
        s->parents_left[c] = co->n_parents;
        s->cleft[c] = co->n_flows;
        s->ready_s[c] = now;
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            s->fcoflow[f] = c;
            s->push_rate[f] = -1;
        }
    }
    mark_stale(s);
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &all->coflows[c];
        if (co->n_parents > 0)
            continue;
        if (co->compute_s > 0) {
            if ((err = add_timed(s, now + co->compute_s, c, false)))
                return err;
        } else
            release(s, c, now);
    }
    *first_fid = rpc_sched_first_fid(s, j);
    return WEFT_OK;
}

/* The gateway id of global coflow c's first flow: a name for c that
 * compaction keeps. */
static uint64_t coflow_key(const rpc_sched_t *s, size_t c)
{
    return rpc_sched_flow_gid(s, s->all.coflows[c].first_flow);
}

/* Hands the ordering just created the last decision's order, when every
 * coflow of it is still live and active (else the ids it is given next
 * differ anyway). */
static void carry_last_order(rpc_sched_t *s)
{
    if (!s->ord->carry_order || s->n_last == 0 || s->live.n_coflows < s->n_last)
        return;
    size_t n = s->n_last, *in = s->ids, *out = s->port_rank; /* scratch of n_coflows, n_ports */
    size_t *buf = NULL;
    if (n > s->fab.n_ports && !(out = buf = weft_calloc(n, sizeof *buf)))
        return; /* out of memory: the ordering decides afresh */
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < n; i++) {
            size_t f;
            if (rpc_sched_flow_index(s, side ? s->last_out[i] : s->last_in[i], &f) != 1)
                goto done; /* its job was compacted away */
            size_t c = s->fcoflow[f];
            if (s->cstatus[c] != COFLOW_ACTIVE || !s->jlive[s->all.coflows[c].job])
                goto done;
            (side ? out : in)[i] = s->g2l_c[c];
        }
    s->ord->carry_order(s->ctx, in, out, n);
done:
    free(buf);
}

/* Rebuilds live and st from the unfinished jobs of all (invariants above).
 * O(flows and coflows of unfinished jobs). */
static weft_err_t rebuild(rpc_sched_t *s)
{
    weft_err_t err = WEFT_OK;
    double t0 = weft_mono_s();
    drop_live(s);
    coflow_workload_init(&s->live, s->fab.n_ports);
    s->have_live = true;
    const coflow_workload_t *all = &s->all;
    for (size_t j = 0; j < all->n_jobs; j++) {
        s->jlive[j] = !s->jdone[j];
        if (!s->jdone[j])
            WEFT_CHECK(copy_job(&s->live, all, j, s->arrival_s[j]));
    }
    coflow_workload_t *lv = &s->live;
    WEFT_CHECK(weft_grow((void **)&s->l2g_flow, &s->cap_lf, lv->n_flows, sizeof(size_t)));
    WEFT_CHECK(weft_grow((void **)&s->l2g_coflow, &s->cap_lc, lv->n_coflows, sizeof(size_t)));
    free(s->ids);
    s->ids = weft_calloc(lv->n_coflows ? lv->n_coflows : 1, sizeof *s->ids);
    if (!s->ids)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory for %zu coflow ids", lv->n_coflows));
    WEFT_CHECK(weft_grow((void **)&s->l2g_job, &s->cap_lj, lv->n_jobs, sizeof(size_t)));
    for (size_t j = 0, lj = 0; j < all->n_jobs; j++) {
        if (s->jdone[j])
            continue;
        const coflow_job_t *gj = &all->jobs[j], *ljob = &lv->jobs[lj];
        s->l2g_job[lj] = j;
        for (size_t k = 0; k < gj->n_coflows; k++) {
            size_t gc = gj->first_coflow + k, lc = ljob->first_coflow + k;
            s->l2g_coflow[lc] = gc;
            s->g2l_c[gc] = lc;
            const coflow_coflow_t *gco = &all->coflows[gc], *lco = &lv->coflows[lc];
            for (size_t i = 0; i < gco->n_flows; i++) {
                s->l2g_flow[lco->first_flow + i] = gco->first_flow + i;
                s->g2l[gco->first_flow + i] = lco->first_flow + i;
            }
        }
        lj++;
    }
    for (size_t p = 0; p < s->fab.n_ports; p++) {
        double share = s->absent[p] ? RPC_ABSENT_CAP_SHARE : 1;
        s->dec_fab.cap_out[p] = s->fab.cap_out[p] * share;
        s->dec_fab.cap_in[p] = s->fab.cap_in[p] * share;
    }
    WEFT_CHECK(coflow_state_init(&s->st, lv, &s->dec_fab));
    WEFT_CHECK(coflow_state_keep_iso(&s->st)); /* forgotten at each decision */
    coflow_state_t *st = &s->st;
    for (size_t lc = 0; lc < lv->n_coflows; lc++) {
        size_t gc = s->l2g_coflow[lc];
        const coflow_coflow_t *lco = &lv->coflows[lc];
        double sent = 0;
        for (size_t i = 0; i < lco->n_flows; i++)
            sent += s->sent[s->l2g_flow[lco->first_flow + i]];
        st->job_sent[lco->job] += sent;
        if (s->cstatus[gc] == COFLOW_DONE) {
            /* its times as st would have them had it run there: wcp reads
               the finish of a waiting coflow's parents, learned how long a
               done one ran */
            coflow_state_mark_done(st, lc);
            st->release_s[lc] = s->release_s[gc];
            st->finish_s[lc] = s->cfinish_s[gc];
            continue;
        }
        if (s->cstatus[gc] != COFLOW_ACTIVE)
            continue;
        coflow_state_release(st, lc, s->release_s[gc]);
        for (size_t i = 0; i < lco->n_flows; i++) {
            size_t lf = lco->first_flow + i, gf = s->l2g_flow[lf];
            if (s->fdone[gf]) {
                st->coflow_remaining[lc] -= st->flow_remaining[lf];
                coflow_state_finish_flow(st, lf);
            } else {
                st->coflow_remaining[lc] -= s->sent[gf];
                st->flow_remaining[lf] -= s->sent[gf];
            }
        }
    }
    st->policy_hook = s->policy_hook;
    if (s->ord->create)
        WEFT_CHECK(s->ord->create(&s->ctx, st));
    carry_last_order(s);
    s->need_rebuild = false;
    s->stale = false;
    s->n_rebuilds++;
    s->rebuild_cost_s = weft_mono_s() - t0;
    return WEFT_OK;
cleanup:
    drop_live(s);
    s->need_rebuild = true;
    return err;
}

/* The live state for a decision: rebuilt if wrong, or if stale and the
 * wait rebuild_defer allows is over (gateway.h). */
static weft_err_t ensure_live(rpc_sched_t *s)
{
    if (s->need_rebuild || !s->have_live)
        return rebuild(s);
    if (!s->stale)
        return WEFT_OK;
    double cost = s->rebuild_cost_s;
    if (cost <= RPC_REBUILD_FREE_S || weft_mono_s() - s->stale_since >= s->rebuild_defer * cost)
        return rebuild(s);
    return WEFT_OK;
}

/* Whether st holds job j, so progress and completions update it too;
 * otherwise the next rebuild takes them from the authoritative arrays. */
static bool in_st(const rpc_sched_t *s, size_t j)
{
    return !s->need_rebuild && s->have_live && s->jlive[j];
}

/* 1 and *f (fid's index in all) for a released flow, 0 for a flow of a job
 * compacted away, or an error. */
static int check_flow(const rpc_sched_t *s, uint64_t fid, size_t *f)
{
    int r = rpc_sched_flow_index(s, fid, f);
    if (r <= 0)
        return r;
    size_t c = s->fcoflow[*f];
    if (s->cstatus[c] == COFLOW_WAITING)
        return weft_fail(WEFT_EINVAL, "flow %llu belongs to coflow %lld of job %lld, which is "
                         "not released yet", (unsigned long long)fid,
                         (long long)s->all.coflows[c].id,
                         (long long)s->all.jobs[s->all.coflows[c].job].id);
    return 1;
}

int rpc_sched_check_done(const rpc_sched_t *s, uint64_t fid)
{
    size_t f;
    int r = check_flow(s, fid, &f);
    return r == 1 && s->fdone[f] ? 0 : r;
}

int rpc_sched_progress(rpc_sched_t *s, uint64_t gid, double sent)
{
    size_t fid;
    int r = check_flow(s, gid, &fid);
    if (r <= 0)
        return r;
    if (s->fdone[fid])
        return 0; /* a report from before the completion */
    double bytes = s->all.flows[fid].bytes;
    if (!(sent >= 0) || sent > bytes * (1 + BYTES_REL_TOL))
        return weft_fail(WEFT_EINVAL, "flow %llu: %.17g bytes reported sent of %.17g",
                         (unsigned long long)gid, sent, bytes);
    if (sent >= bytes)
        return 1;
    if (sent <= s->sent[fid])
        return 0;
    if (!in_st(s, s->all.coflows[s->fcoflow[fid]].job)) {
        s->sent[fid] = sent;
        return 0;
    }
    double delta = sent - s->sent[fid];
    size_t lf = s->g2l[fid], lc = s->st.flow_coflow[lf];
    s->st.flow_remaining[lf] -= delta;
    s->st.coflow_remaining[lc] -= delta;
    s->st.job_sent[s->live.coflows[lc].job] += delta;
    s->sent[fid] = sent;
    s->dirty = true;
    return 0;
}

/* Coflow c of all is done at now: children whose parents are all done are
 * released (after their compute time), the job ends with its last one. */
static weft_err_t coflow_done(rpc_sched_t *s, size_t c, double now)
{
    weft_err_t err;
    const coflow_workload_t *all = &s->all;
    s->cstatus[c] = COFLOW_DONE;
    s->cfinish_s[c] = now;
    size_t j = all->coflows[c].job;
    const coflow_job_t *job = &all->jobs[j];
    for (size_t d = job->first_coflow; d < job->first_coflow + job->n_coflows; d++) {
        const coflow_coflow_t *co = &all->coflows[d];
        for (size_t k = 0; k < co->n_parents; k++) {
            if (all->parents[co->first_parent + k] != c)
                continue;
            if (now > s->ready_s[d])
                s->ready_s[d] = now;
            if (--s->parents_left[d] == 0) {
                if (co->compute_s > 0) {
                    if ((err = add_timed(s, s->ready_s[d] + co->compute_s, d, false)))
                        return err;
                } else {
                    release(s, d, now);
                }
            }
        }
    }
    if (--s->left[j] == 0) {
        if (job->final_compute_s > 0)
            return add_timed(s, now + job->final_compute_s, j, true);
        return job_finished(s, j, now);
    }
    return WEFT_OK;
}

/* Releases coflow c at once if it only waits for its compute time (a
 * completion replayed from the journal may come before that time, or
 * before the tick that would take it): when that time was, if it was by
 * now, so a done coflow keeps how long it ran (the learned ordering's
 * feature) through a restart. */
static void release_if_ready(rpc_sched_t *s, size_t c, double now)
{
    if (s->cstatus[c] != COFLOW_WAITING || s->parents_left[c] != 0)
        return;
    double t = now;
    for (size_t i = 0; i < s->n_pend; i++)
        if (!s->pend[i].job && s->pend[i].idx == c) {
            t = fmin(s->pend[i].t, now);
            s->pend[i] = s->pend[--s->n_pend];
            break;
        }
    release(s, c, t);
}

weft_err_t rpc_sched_finish(rpc_sched_t *s, uint64_t gid, double now)
{
    size_t fid = 0;
    int r = rpc_sched_flow_index(s, gid, &fid);
    if (r == 1)
        release_if_ready(s, s->fcoflow[fid], now);
    if ((r = check_flow(s, gid, &fid)) <= 0)
        return (weft_err_t)r;
    if (s->fdone[fid] == RPC_FLOW_DROPPED) {
        /* a rewritten journal lists a cancelled job's finished flows after
           its cancel (rpc_journal_rewrite): sent whole, nothing else moves */
        s->fdone[fid] = RPC_FLOW_FINISHED;
        s->sent[fid] = s->all.flows[fid].bytes;
        return WEFT_OK;
    }
    if (s->fdone[fid])
        return WEFT_OK;
    size_t c = s->fcoflow[fid];
    double delta = s->all.flows[fid].bytes - s->sent[fid];
    s->sent[fid] = s->all.flows[fid].bytes;
    s->fdone[fid] = RPC_FLOW_FINISHED;
    s->dirty = true;
    bool last = --s->cleft[c] == 0;
    if (in_st(s, s->all.coflows[c].job)) {
        size_t lf = s->g2l[fid], lc = s->st.flow_coflow[lf];
        s->st.job_sent[s->live.coflows[lc].job] += delta;
        s->st.coflow_remaining[lc] -= s->st.flow_remaining[lf];
        s->st.now = now;
        if (coflow_state_finish_flow(&s->st, lf) != last)
            return weft_fail(WEFT_EINTERNAL, "flow %llu: the live state and the job table "
                             "disagree on whether coflow %lld is done",
                             (unsigned long long)gid, (long long)s->all.coflows[c].id);
    }
    if (last)
        return coflow_done(s, c, now);
    return WEFT_OK;
}

bool rpc_sched_cancelled(const rpc_sched_t *s, int64_t id)
{
    uint64_t v = map_get(s, id);
    if (!v)
        return false;
    v--;
    return v & RPC_GONE ? s->gone_cancelled[v & ~RPC_GONE] : s->jcancelled[v];
}

size_t rpc_sched_pack_cancel_sent(const rpc_sched_t *s, size_t j, size_t *from, size_t max,
                                  msgpack_packer *pk)
{
    size_t lo, hi = coflow_job_flows(&s->all, j, &lo), n = 0, f = *from > lo ? *from : lo;
    for (; f < lo + hi && n < max; f++) {
        if (s->fdone[f] == RPC_FLOW_FINISHED || !(s->sent[f] > 0))
            continue;
        if (pk) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_uint64(pk, rpc_sched_flow_gid(s, f));
            msgpack_pack_double(pk, s->sent[f]);
        }
        n++;
    }
    *from = f;
    return n;
}

weft_err_t rpc_sched_replay_cancel_sent(rpc_sched_t *s, const msgpack_object_array *a)
{
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *e = &a->ptr[i];
        size_t f;
        double sent;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
            e->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            !rpc_obj_num(&e->via.array.ptr[1], &sent))
            return weft_fail(WEFT_EPARSE, "sent entry #%u is not [flow id, bytes]", i);
        uint64_t gid = e->via.array.ptr[0].via.u64;
        int r = rpc_sched_flow_index(s, gid, &f);
        if (r < 0)
            return (weft_err_t)r;
        if (r == 0 || s->fdone[f] != RPC_FLOW_DROPPED)
            continue; /* compacted away, or finished after all */
        if (!(sent >= 0 && sent <= s->all.flows[f].bytes))
            return weft_fail(WEFT_EPARSE, "sent entry #%u: flow %llu: %.17g bytes of %.17g", i,
                             (unsigned long long)gid, sent, s->all.flows[f].bytes);
        s->sent[f] = sent;
    }
    return WEFT_OK;
}

int rpc_sched_cancel(rpc_sched_t *s, int64_t id, double now)
{
    size_t j = rpc_sched_find_job(s, id);
    uint64_t first;
    double jct;
    if (j == SIZE_MAX && !rpc_sched_find_gone(s, id, &first, &jct) &&
        !rpc_sched_forgotten(s, id))
        return weft_fail(WEFT_ENOTFOUND, "job %lld was never registered", (long long)id);
    if (j == SIZE_MAX || s->jdone[j])
        return 0;
    const coflow_workload_t *all = &s->all;
    const coflow_job_t *job = &all->jobs[j];
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &all->coflows[c];
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            if (s->fdone[f])
                continue;
            s->fdone[f] = RPC_FLOW_DROPPED; /* later reports about it are stale */
            if (!s->announced[f])
                continue;
            weft_err_t err = weft_grow((void **)&s->drops, &s->cap_drops, s->n_drops + 1,
                                       sizeof *s->drops);
            if (err)
                return err;
            s->drops[s->n_drops++] = (rpc_change_t){
                .fid = rpc_sched_flow_gid(s, f), .src = all->flows[f].src, .drop = true};
            /* announced stays set until the decision takes the drop */
        }
        s->cstatus[c] = COFLOW_DONE;
    }
    for (size_t i = 0; i < s->n_pend;) { /* its coming releases and end */
        const rpc_timed_t *p = &s->pend[i];
        if (p->job ? p->idx == j : all->coflows[p->idx].job == j)
            s->pend[i] = s->pend[--s->n_pend];
        else
            i++;
    }
    s->left[j] = 0;
    s->jcancelled[j] = 1;
    weft_err_t err = job_finished(s, j, now);
    if (s->have_live && s->jlive[j])
        s->need_rebuild = true; /* its coflows are still active in st */
    return err ? (int)err : 1;
}

/* Fires the compute timers due by now, each at its due time: the coflows
 * ready between two decisions keep the order the emulator would give them
 * (FIFO's release times), though one decision releases them all. */
weft_err_t rpc_sched_tick(rpc_sched_t *s, double now)
{
    weft_err_t err;
    for (size_t i = 0; i < s->n_pend;) {
        if (s->pend[i].t > now) {
            i++;
            continue;
        }
        rpc_timed_t p = s->pend[i];
        s->pend[i] = s->pend[--s->n_pend];
        if (p.job) {
            if ((err = job_finished(s, p.idx, p.t)))
                return err;
        } else {
            release(s, p.idx, p.t);
        }
    }
    return WEFT_OK;
}

static weft_err_t emit(rpc_sched_t *s, size_t gf, double rate, uint32_t cls)
{
    weft_err_t err = weft_grow((void **)&s->changes, &s->cap_changes, s->n_changes + 1,
                               sizeof *s->changes);
    if (err)
        return err;
    const coflow_flow_t *f = &s->all.flows[gf];
    s->changes[s->n_changes++] = (rpc_change_t){
        .fid = rpc_sched_flow_gid(s, gf), .src = f->src, .dst = f->dst, .bytes = f->bytes,
        .sent = s->sent[gf], .rate = rate, .cls = cls, .is_new = !s->announced[gf]};
    s->announced[gf] = 1;
    s->push_rate[gf] = rate;
    s->push_cls[gf] = cls;
    return WEFT_OK;
}

/* The scores that placed the decision's n coflows (ord->last_scores); for
 * the last decision's order given again unscored (the learned ordering's
 * set_changes_only keeps it, across a rebuild too), the last decision's.
 * Without the memory, none: they are for job_status alone. */
static void keep_scores(rpc_sched_t *s, size_t n, bool same)
{
    bool had = s->scored;
    s->scored = false;
    if (!s->ord->last_scores || n == 0 ||
        weft_grow((void **)&s->last_score, &s->cap_last_score, n, sizeof *s->last_score))
        return;
    s->scored = s->ord->last_scores(s->ctx, s->last_score, n) || (had && same);
}

size_t rpc_sched_rank(const rpc_sched_t *s, size_t c, double *score)
{
    size_t r = s->crank[c];
    *score = NAN;
    if (s->cstatus[c] != COFLOW_ACTIVE || r == 0 || r > s->n_ranked ||
        s->last_out[r - 1] != coflow_key(s, c))
        return 0; /* not in the last decision: another coflow has its place */
    if (s->scored)
        *score = s->last_score[r - 1];
    return r;
}

weft_err_t rpc_sched_decide(rpc_sched_t *s, double now)
{
    weft_err_t err;
    s->n_changes = 0;
    if ((err = ensure_live(s)))
        return err;
    if (s->n_drops > 0) {
        if ((err = weft_grow((void **)&s->changes, &s->cap_changes, s->n_drops,
                             sizeof *s->changes)))
            return err;
        memcpy(s->changes, s->drops, s->n_drops * sizeof *s->drops);
        s->n_changes = s->n_drops;
        for (size_t i = 0; i < s->n_drops; i++) { /* the agent forgets them */
            size_t f;
            if (rpc_sched_flow_index(s, s->drops[i].fid, &f) == 1)
                s->announced[f] = 0;
        }
        s->n_drops = 0;
    }
    coflow_state_t *st = &s->st;
    const coflow_workload_t *lv = &s->live;
    st->now = now;
    size_t n = 0;
    for (size_t c = 0; c < lv->n_coflows; c++)
        if (st->status[c] == COFLOW_ACTIVE)
            s->ids[n++] = c;
    coflow_sort_by_key(st, s->ids, n, st->release_s);
    coflow_state_forget_iso(st); /* reports moved bytes without saying whose */
    /* the order given (last_in, for carry_order) and taken (last_out, for
       it and for job_status's ranks) */
    bool carry = s->ord->carry_order != NULL;
    bool keep = !weft_grow((void **)&s->last_out, &s->cap_last_out, n, sizeof *s->last_out) &&
                (!carry ||
                 !weft_grow((void **)&s->last_in, &s->cap_last_in, n, sizeof *s->last_in));
    for (size_t i = 0; keep && carry && i < n; i++)
        s->last_in[i] = coflow_key(s, s->l2g_coflow[s->ids[i]]);
    if (n > 0 && (err = s->ord->order(s->ctx, st, s->ids, n)))
        return weft_wrap(err, "ordering '%s': ", s->ord->name);
    bool same = keep && n == s->n_ranked; /* the last decision's order again */
    for (size_t i = 0; keep && i < n; i++) {
        size_t gc = s->l2g_coflow[s->ids[i]];
        uint64_t key = coflow_key(s, gc);
        same = same && s->last_out[i] == key;
        s->last_out[i] = key;
        s->crank[gc] = i + 1;
    }
    s->n_last = keep && carry ? n : 0;
    s->n_ranked = keep ? n : 0;
    keep_scores(s, s->n_ranked, same);
    for (size_t k = 0; k < st->n_rated; k++)
        st->flow_rate[st->rated[k]] = 0;
    st->n_rated = 0;
    if (n > 0)
        s->alloc->allocate(st, s->ids, n);
    for (size_t p = 0; p < s->fab.n_ports; p++) {
        s->port_rank[p] = 0;
        s->port_last[p] = SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = s->ids[i];
        const size_t *open = st->open_flows + lv->coflows[c].first_flow;
        for (size_t k = 0; k < st->n_open[c]; k++) {
            size_t lf = open[k], gf = s->l2g_flow[lf];
            uint32_t src = lv->flows[lf].src, dst = lv->flows[lf].dst;
            if (s->port_last[src] != c) {
                s->port_last[src] = c;
                s->port_rank[src]++;
            }
            size_t rank = s->port_rank[src] - 1;
            uint32_t cls = rank > 65535 ? 65535 : (uint32_t)rank;
            /* a port whose agent is gone moves nothing, even while the
               live state still decides on it as present (stale) */
            double rate = s->absent[src] || s->absent[dst] ? 0 : st->flow_rate[lf];
            double old = s->push_rate[gf];
            bool changed = !s->announced[gf] || cls != s->push_cls[gf] ||
                           fabs(rate - old) > s->rate_rel_tol * fmax(rate, old) ||
                           ((rate == 0) != (old == 0));
            if (changed && (err = emit(s, gf, rate, cls)))
                return err;
        }
    }
    s->dirty = s->stale; /* put off: the next tick decides again */
    s->n_decisions++;
    return WEFT_OK;
}

static void forget(rpc_sched_t *s, size_t f)
{
    s->announced[f] = 0;
    s->push_rate[f] = -1;
}

void rpc_sched_forget(rpc_sched_t *s, uint64_t fid)
{
    size_t f = 0;
    if (rpc_sched_flow_index(s, fid, &f) == 1)
        forget(s, f);
}

void rpc_sched_set_port_present(rpc_sched_t *s, uint32_t p, bool present)
{
    if (p >= s->fab.n_ports || !s->absent[p] == present)
        return;
    s->absent[p] = !present;
    mark_stale(s); /* the next rebuild decides on the new capacities */
    s->dirty = true;
}

weft_err_t rpc_sched_set_port_rate(rpc_sched_t *s, uint32_t p, double rate)
{
    if (p >= s->fab.n_ports)
        return weft_fail(WEFT_EINVAL, "port %u, but the gateway has ports 0..%zu", p,
                         s->fab.n_ports - 1);
    if (!isfinite(rate) || !(rate > 0))
        return weft_fail(WEFT_EINVAL, "port %u: rate %g, expected a positive number of "
                         "bytes/s", p, rate);
    s->fab.cap_out[p] = s->fab.cap_in[p] = rate;
    mark_stale(s); /* dec_fab is made from fab at the rebuild */
    s->dirty = true;
    return WEFT_OK;
}

void rpc_sched_renew_ordering(rpc_sched_t *s)
{
    s->n_last = 0; /* a new model decides afresh */
    drop_live(s);
    s->need_rebuild = true;
    s->dirty = true;
}

void rpc_sched_forget_port(rpc_sched_t *s, uint32_t src)
{
    for (size_t f = 0; f < s->all.n_flows; f++)
        if (s->all.flows[f].src == src && !s->fdone[f])
            forget(s, f);
    s->dirty = true;
}

/* ---------------------------------------------------------- compaction */

/* Gone's four arrays, in arrs[] with their entries' sizes. */
static void gone_arrays(rpc_sched_t *s, void **arrs[4], size_t sizes[4])
{
    arrs[0] = (void **)&s->gone_id, sizes[0] = sizeof *s->gone_id;
    arrs[1] = (void **)&s->gone_fid, sizes[1] = sizeof *s->gone_fid;
    arrs[2] = (void **)&s->gone_jct, sizes[2] = sizeof *s->gone_jct;
    arrs[3] = (void **)&s->gone_cancelled, sizes[3] = sizeof *s->gone_cancelled;
}

/* Room for need jobs in gone (its arrays grow together). */
static weft_err_t grow_gone(rpc_sched_t *s, size_t need)
{
    void **arrs[4];
    size_t sizes[4];
    gone_arrays(s, arrs, sizes);
    return grow_all(arrs, sizes, 4, &s->cap_gone, need);
}

/* Gone's arrays cut to cap entries (>= n_gone). A realloc that fails
 * keeps its larger block, which holds cap entries as well. */
static void shrink_gone(rpc_sched_t *s, size_t cap)
{
    void **arrs[4];
    size_t sizes[4];
    gone_arrays(s, arrs, sizes);
    for (size_t i = 0; i < 4; i++) {
        void *p = weft_reallocarray(*arrs[i], cap, sizes[i]);
        if (p)
            *arrs[i] = p;
    }
    s->cap_gone = cap;
}

/* Appends job id to gone (room made and id in the map already: cannot
 * fail). */
static void gone_push(rpc_sched_t *s, int64_t id, uint64_t first_fid, double jct,
                      bool cancelled)
{
    map_put(s, id, RPC_GONE | s->n_gone);
    s->gone_id[s->n_gone] = id;
    s->gone_fid[s->n_gone] = first_fid;
    s->gone_cancelled[s->n_gone] = cancelled;
    s->gone_jct[s->n_gone++] = jct;
}

weft_err_t rpc_sched_add_gone(rpc_sched_t *s, int64_t id, uint64_t first_fid, double jct,
                              bool cancelled)
{
    weft_err_t err = grow_gone(s, s->n_gone + 1);
    if (!err)
        err = map_put(s, id, RPC_GONE | s->n_gone);
    if (err)
        return err;
    gone_push(s, id, first_fid, jct, cancelled);
    s->n_retained++;
    return WEFT_OK;
}

bool rpc_sched_gone_kept(const rpc_sched_t *s, size_t g)
{
    return map_get(s, s->gone_id[g]) == (RPC_GONE | g) + 1;
}

/* ---------------------------------------------------------- retention */

/* First run whose hi + 1 >= id: where id is, or would join or go. */
static size_t run_at(const rpc_sched_t *s, int64_t id)
{
    size_t lo = 0, hi = s->n_forgot_runs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (id > INT64_MIN && s->forgot_hi[mid] < id - 1)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool rpc_sched_forgotten(const rpc_sched_t *s, int64_t id)
{
    size_t k = run_at(s, id);
    return k < s->n_forgot_runs && s->forgot_lo[k] <= id && id <= s->forgot_hi[k];
}

weft_err_t rpc_sched_add_forgotten(rpc_sched_t *s, int64_t lo, int64_t hi)
{
    size_t a = run_at(s, lo), b = a, n = s->n_forgot_runs;
    /* runs a .. b-1 overlap lo..hi or touch it: merged into one */
    while (b < n && (hi == INT64_MAX || s->forgot_lo[b] <= hi + 1)) {
        lo = s->forgot_lo[b] < lo ? s->forgot_lo[b] : lo;
        hi = s->forgot_hi[b] > hi ? s->forgot_hi[b] : hi;
        b++;
    }
    if (b == a) { /* a run of its own, before run a */
        void **arrs[] = {(void **)&s->forgot_lo, (void **)&s->forgot_hi};
        size_t sizes[] = {sizeof *s->forgot_lo, sizeof *s->forgot_hi};
        weft_err_t err = grow_all(arrs, sizes, 2, &s->cap_forgot_runs, n + 1);
        if (err)
            return err;
        memmove(s->forgot_lo + a + 1, s->forgot_lo + a, (n - a) * sizeof *s->forgot_lo);
        memmove(s->forgot_hi + a + 1, s->forgot_hi + a, (n - a) * sizeof *s->forgot_hi);
        s->n_forgot_runs++;
        b = a + 1;
    } else if (b > a + 1) {
        memmove(s->forgot_lo + a + 1, s->forgot_lo + b, (n - b) * sizeof *s->forgot_lo);
        memmove(s->forgot_hi + a + 1, s->forgot_hi + b, (n - b) * sizeof *s->forgot_hi);
        s->n_forgot_runs -= b - a - 1;
    }
    s->forgot_lo[a] = lo;
    s->forgot_hi[a] = hi;
    return WEFT_OK;
}

/* Forgets finished job id, remembered until now (held at index j, or
 * SIZE_MAX: in gone): its id joins the runs and forgot_now, its map
 * entry goes. */
static weft_err_t forget_job(rpc_sched_t *s, int64_t id, size_t j)
{
    weft_err_t err = weft_grow((void **)&s->forgot_now, &s->cap_forgot_now,
                               s->n_forgot_now + 1, sizeof *s->forgot_now);
    if (!err)
        err = rpc_sched_add_forgotten(s, id, id);
    if (err)
        return err;
    s->forgot_now[s->n_forgot_now++] = id;
    map_del(s, id);
    if (j != SIZE_MAX) {
        s->jforgot[j] = 1;
        s->n_forgot_held++;
    } else {
        s->n_gone_dead++;
    }
    s->n_forgotten++;
    s->n_retained--;
    s->n_shed++;
    return WEFT_OK;
}

/* Drops gone's forgotten entries once they are at least half of it, the
 * others sliding down (their map entries follow): amortised O(1) each.
 * Counted rather than read off gone_head: without a limit nothing moves
 * gone_head, and the journal's forget records leave dead entries anywhere.
 * The arrays shrink with it, so a peak's memory is given back. */
static void gone_trim(rpc_sched_t *s)
{
    if (s->n_gone_dead == 0 || 2 * s->n_gone_dead < s->n_gone)
        return;
    size_t w = 0;
    for (size_t g = s->gone_head; g < s->n_gone; g++) {
        if (!rpc_sched_gone_kept(s, g))
            continue;
        map_put(s, s->gone_id[g], RPC_GONE | w); /* an existing key: cannot fail */
        s->gone_id[w] = s->gone_id[g];
        s->gone_fid[w] = s->gone_fid[g];
        s->gone_jct[w] = s->gone_jct[g];
        s->gone_cancelled[w++] = s->gone_cancelled[g];
    }
    s->n_gone = w;
    s->gone_head = 0;
    s->n_gone_dead = 0;
    if (s->cap_gone > 64 && s->cap_gone >= 4 * w)
        shrink_gone(s, 2 * w > 64 ? 2 * w : 64);
}

weft_err_t rpc_sched_retain(rpc_sched_t *s)
{
    weft_err_t err = WEFT_OK;
    /* gone's entries finished before any job held (a compaction moves
       every finished one), and both are in the order they finished */
    while (!err && s->n_retained > s->keep_finished) {
        if (s->gone_head < s->n_gone) {
            size_t g = s->gone_head;
            if (rpc_sched_gone_kept(s, g) && (err = forget_job(s, s->gone_id[g], SIZE_MAX)))
                break;
            s->gone_head++;
        } else if (s->fin_head < s->n_fin_q) {
            int64_t id = s->fin_q[s->fin_head];
            size_t j = rpc_sched_find_job(s, id);
            if (j != SIZE_MAX && (err = forget_job(s, id, j)))
                break;
            s->fin_head++;
        } else {
            err = weft_fail(WEFT_EINTERNAL, "%zu finished jobs remembered, none found",
                            s->n_retained);
        }
    }
    gone_trim(s);
    return err;
}

weft_err_t rpc_sched_forget_job(rpc_sched_t *s, int64_t id)
{
    if (rpc_sched_forgotten(s, id))
        return WEFT_OK;
    size_t j = rpc_sched_find_job(s, id);
    uint64_t first;
    double jct;
    for (size_t i = 0; j != SIZE_MAX && !s->jdone[j] && i < s->n_pend; i++)
        if (s->pend[i].job && s->pend[i].idx == j) {
            /* it ended after its final compute time, by the clock of the
               gateway that forgot it: a replay takes no such event */
            double t = s->pend[i].t;
            s->pend[i] = s->pend[--s->n_pend];
            weft_err_t err = job_finished(s, j, t);
            if (err)
                return err;
        }
    if (j != SIZE_MAX && !s->jdone[j])
        return weft_fail(WEFT_EPARSE, "job %lld is forgotten, but it has not finished",
                         (long long)id);
    if (j == SIZE_MAX && !rpc_sched_find_gone(s, id, &first, &jct))
        return weft_fail(WEFT_EPARSE, "job %lld is forgotten, but it was never registered",
                         (long long)id);
    return forget_job(s, id, j); /* its entry in fin_q or gone is skipped from now on */
}

bool rpc_sched_missed_drop(const rpc_sched_t *s, uint64_t fid)
{
    size_t f;
    if (rpc_sched_flow_index(s, fid, &f) != 1)
        return true; /* of a job compacted away, or never given out */
    size_t j = s->all.coflows[s->fcoflow[f]].job;
    /* forgotten (--keep-finished) but held until the next compaction: as
       for one compacted away (before 2026-12-06 it was told nothing) */
    if (s->jforgot[j])
        return true;
    /* held: announced means its drop is still to be pushed */
    return s->jcancelled[j] && !s->announced[f];
}

/* Moves n entries of an array of elements of size sz from index from down
 * to index to (to <= from). */
static void move_down(void *a, size_t sz, size_t to, size_t from, size_t n)
{
    if (to != from && n > 0)
        memmove((char *)a + to * sz, (char *)a + from * sz, n * sz);
}

static void move_side(side_arrays_t d, size_t to, size_t from, size_t n)
{
    for (size_t i = 0; i < d.n; i++)
        move_down(*d.arr[i], d.size[i], to, from, n);
}

/* Zeroes entries [from, to): commit_job relies on a new entry being zero,
 * as grow_all leaves it. */
static void zero_tail(void *a, size_t sz, size_t from, size_t to)
{
    if (a && to > from)
        memset((char *)a + from * sz, 0, (to - from) * sz);
}

static void zero_side(side_arrays_t d, size_t from, size_t to)
{
    for (size_t i = 0; i < d.n; i++)
        zero_tail(*d.arr[i], d.size[i], from, to);
}

size_t rpc_sched_compact(rpc_sched_t *s, size_t min_jobs)
{
    coflow_workload_t *all = &s->all;
    size_t d = s->n_jdone, nj = all->n_jobs;
    if (d == 0 || d < min_jobs || 2 * d < nj)
        return 0;
    /* new index of each job (SIZE_MAX: dropped), for the pending events */
    size_t *jnew = weft_calloc(nj, sizeof *jnew);
    if (!jnew || grow_gone(s, s->n_gone + d)) {
        free(jnew);
        return 0; /* out of memory: keep everything, try again later */
    }
    /* The finished jobs not forgotten go to gone in the order they
     * finished (rpc_sched_retain forgets from its front); the forgotten
     * ones, out of the map already, just go. Existing ids, room made. */
    for (size_t q = s->fin_head; q < s->n_fin_q; q++) {
        size_t j = rpc_sched_find_job(s, s->fin_q[q]);
        if (j != SIZE_MAX)
            gone_push(s, s->fin_q[q], s->jfid[j], s->finish_s[j] - s->arrival_s[j],
                      s->jcancelled[j]);
    }
    s->fin_head = s->n_fin_q = 0;
    s->n_forgot_held = 0;
    s->n_shed += d;
    for (size_t i = 0; i < s->n_pend; i++) { /* (job, offset in it), as indices drop */
        rpc_timed_t *p = &s->pend[i];
        if (!p->job) {
            size_t j = all->coflows[p->idx].job;
            p->idx = (p->idx - all->jobs[j].first_coflow) * nj + j;
        }
    }
    /* Kept jobs slide down over the dropped ones, in order, with their
     * coflows, flows and parents and every array beside them; wj, wc, wf,
     * wp are where the next kept job's entries go. */
    size_t wj = 0, wc = 0, wf = 0, wp = 0, nc = all->n_coflows, nf = all->n_flows,
           np = all->n_parents;
    side_arrays_t flows_side = flow_arrays(s), coflows_side = coflow_arrays(s),
                  jobs_side = job_arrays(s);
    for (size_t j = 0; j < nj; j++) {
        coflow_job_t job = all->jobs[j];
        size_t c0 = job.first_coflow, c1 = c0 + job.n_coflows;
        size_t f0 = all->coflows[c0].first_flow, f1 = j + 1 < nj ? job_first_flow(all, j + 1) : nf;
        size_t p0 = all->coflows[c0].first_parent,
               p1 = c1 < nc ? all->coflows[c1].first_parent : np;
        if (s->jdone[j]) { /* in gone now, or forgotten */
            jnew[j] = SIZE_MAX;
            continue;
        }
        jnew[j] = wj;
        job.first_coflow = wc;
        all->jobs[wj] = job;
        map_put(s, job.id, wj); /* an existing key: cannot fail */
        move_side(jobs_side, wj, j, 1);
        for (size_t c = c0; c < c1; c++) {
            coflow_coflow_t co = all->coflows[c];
            co.job = wj;
            co.first_flow -= f0 - wf;
            co.first_parent -= p0 - wp;
            all->coflows[wc + (c - c0)] = co;
        }
        move_side(coflows_side, wc, c0, c1 - c0);
        for (size_t q = p0; q < p1; q++) /* a parent is of the same job */
            all->parents[wp + (q - p0)] = all->parents[q] - (c0 - wc);
        move_down(all->flows, sizeof *all->flows, wf, f0, f1 - f0);
        move_side(flows_side, wf, f0, f1 - f0);
        for (size_t f = wf; f < wf + (f1 - f0); f++)
            s->fcoflow[f] -= c0 - wc;
        wj++, wc += c1 - c0, wf += f1 - f0, wp += p1 - p0;
    }
    /* only kept jobs have pending events */
    for (size_t i = 0; i < s->n_pend; i++) {
        rpc_timed_t *p = &s->pend[i];
        p->idx = p->job ? jnew[p->idx]
                        /* NOLINTNEXTLINE(clang-analyzer-core.DivideZero): nj >= d >= 1 */
                        : all->jobs[jnew[p->idx % nj]].first_coflow + p->idx / nj;
    }
    free(jnew);
    zero_tail(all->jobs, sizeof *all->jobs, wj, nj);
    zero_tail(all->coflows, sizeof *all->coflows, wc, nc);
    zero_tail(all->flows, sizeof *all->flows, wf, nf);
    zero_tail(all->parents, sizeof *all->parents, wp, np);
    zero_side(flows_side, wf, nf);
    zero_side(coflows_side, wc, nc);
    zero_side(jobs_side, wj, nj);
    all->n_jobs = wj, all->n_coflows = wc, all->n_flows = wf, all->n_parents = wp;
    s->n_jdone = 0;
    s->need_rebuild = true; /* g2l and the live maps index the old layout */
    return d;
}
