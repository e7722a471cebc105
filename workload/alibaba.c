/*
 * alibaba.c - reader of Alibaba cluster-trace-v2018 batch_task DAG shapes,
 * as in the SLAMBUC sample: CSV rows, no header,
 *
 *   arrival_s, job_name, task_name, duration_s, plan_cpu, plan_mem, instance_num
 *
 * A task name matching ^[A-Za-z]+[0-9]+(_[0-9]+)*$ encodes its number and
 * its dependencies ("M5_3_4": task 5 after tasks 3 and 4); any other name
 * is an independent task.
 *
 * Conventions (docs/workload-format.md):
 * - a job = all rows with the same job name, wherever they are in the file;
 *   job id = the number of "j_<n>"; arrival = the smallest arrival_s of its
 *   rows; weight 1; final compute 0;
 * - a task = one coflow (the stage's output shuffle), id = the task number,
 *   parents = its dependencies, compute_s = its duration_s; independent
 *   tasks are parentless coflows numbered after the job's largest task
 *   number, in file order (or left out, alibaba_keep_independent false; a
 *   job left with no task is skipped);
 * - the trace has no bytes, so each coflow gets a placeholder shape:
 *   w = min(instance_num, ALI_PORTS) flows of alibaba_bytes_per_instance
 *   bytes, flow k from port (o + k) mod P to (o + k + 1) mod P, with
 *   o = (job id + task number) mod P and P = ALI_PORTS = 150 (the FB
 *   trace's fabric, whose coflows the generator puts in these shapes);
 * - repairs so that real files load, counted in opts->report: a dependency
 *   on a task absent from the job, on the task itself, or listed twice is
 *   dropped; a job with a task number used twice, or whose dependencies
 *   form a cycle, is skipped;
 * - jobs come out sorted by arrival, then id; max_jobs keeps the
 *   first ones of that order, and the report counts only the repairs of
 *   those and the skipped jobs ordered among them.
 * A malformed row (wrong field count, a number that is not one, a job name
 * that is not j_<n>, or whose n has a leading zero, a task name of the
 * numbered shape with a number of more than 18 digits) fails the read with
 * file:line.
 */
#include "read_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ALI_PORTS 150
#define ALI_FIELDS 7

typedef struct {
    int64_t job;          /* n of "j_<n>" */
    int64_t task;         /* task number, or -1 for an independent task */
    double arrival_s;
    double duration_s;
    uint64_t instances;
    size_t first_dep, n_deps; /* into deps[] */
    size_t line;
} ali_row_t;

typedef struct {
    int64_t id;
    double duration_s;
    uint64_t instances;
    size_t first_parent, n_parents; /* into parents[] (task ids) */
} ali_task_t;

/* Why a job is not read. */
typedef enum { ALI_KEPT, ALI_CYCLIC, ALI_DUPLICATE, ALI_TASKLESS } ali_skip_t;

typedef struct {
    int64_t id;
    double arrival_s;
    size_t first_task, n_tasks;
    ali_skip_t skip;
    /* repairs, reported only if max_jobs reaches the job */
    size_t dropped_deps, skipped_tasks;
} ali_job_t;

typedef struct {
    ali_row_t *rows;
    size_t n_rows, cap_rows;
    int64_t *deps;
    size_t n_deps, cap_deps;
    ali_task_t *tasks;
    size_t n_tasks, cap_tasks;
    int64_t *parents;
    size_t n_parents, cap_parents;
    ali_job_t *jobs;
    size_t n_jobs, cap_jobs;
    /* per-job scratch */
    size_t *idx, *indeg, *start, *adj, *queue;
    size_t cap_idx, cap_indeg, cap_start, cap_adj, cap_queue;
} ali_t;

static void ali_free(ali_t *a)
{
    free(a->rows);
    free(a->deps);
    free(a->tasks);
    free(a->parents);
    free(a->jobs);
    free(a->idx);
    free(a->indeg);
    free(a->start);
    free(a->adj);
    free(a->queue);
}

/* What parse_task_name found besides an error. */
enum { TASK_INDEPENDENT = 0, TASK_NUMBERED = 1, TASK_NUMBER_TOO_LONG = 2 };

/* "M5_3_4" -> task 5, deps 3 and 4 appended to a->deps. Returns
 * TASK_NUMBERED if the name matches the pattern, TASK_INDEPENDENT if not,
 * TASK_NUMBER_TOO_LONG if it matches with a number of more than 18 digits
 * (which int64 may not hold: a read that made it independent would drop
 * its place in the DAG unseen), or an error. */
static int parse_task_name(ali_t *a, const char *s, size_t len, int64_t *task,
                           size_t *n_deps)
{
    size_t i = 0;
    while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
        i++;
    if (i == 0 || i == len)
        return TASK_INDEPENDENT;
    /* check the whole shape before appending anything */
    bool too_long = false;
    for (size_t k = i, digits = 0; k <= len; k++) {
        if (k == len || s[k] == '_') {
            if (digits == 0)
                return TASK_INDEPENDENT;
            if (digits > 18) /* 18 digits always fit int64 */
                too_long = true;
            digits = 0;
        } else if (s[k] >= '0' && s[k] <= '9') {
            digits++;
        } else {
            return TASK_INDEPENDENT;
        }
    }
    if (too_long)
        return TASK_NUMBER_TOO_LONG;
    size_t count = 0;
    for (size_t k = i; k < len;) {
        int64_t v = 0;
        while (k < len && s[k] != '_')
            v = v * 10 + (s[k++] - '0');
        k++; /* skip '_' */
        if (count == 0) {
            *task = v;
        } else {
            weft_err_t err = weft_grow((void **)&a->deps, &a->cap_deps, a->n_deps + 1,
                                       sizeof *a->deps);
            if (err)
                return err;
            a->deps[a->n_deps++] = v;
        }
        count++;
    }
    *n_deps = count - 1;
    return TASK_NUMBERED;
}

static weft_err_t field_error(const wl_lines_t *l, size_t field, const char *what,
                              const char *s, size_t len)
{
    char found[80];
    wl_describe_span(l, s, len, found, sizeof found);
    return weft_fail(WEFT_EPARSE, "%s:%zu: field %zu: expected %s, found %s", l->path, l->line,
                     field + 1, what, found);
}

/* A time field beyond WORKLOAD_MAX_TIME_S. */
static weft_err_t field_time(const wl_lines_t *l, size_t field, const char *what, double v)
{
    if (v <= WORKLOAD_MAX_TIME_S)
        return WEFT_OK;
    char at[32];
    snprintf(at, sizeof at, "field %zu: ", field + 1);
    return wl_time_beyond(l, at, what, v);
}

/* Parses a whole number field [s, s+len) with strtod/strtoll-like strictness. */
static weft_err_t field_double(const wl_lines_t *l, size_t field, const char *what,
                               const char *s, size_t len, double *out)
{
    char buf[64];
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return field_error(l, field, what, s, len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0')
        return field_error(l, field, what, s, len);
    if (!isfinite(v) || v < 0)
        return weft_fail(WEFT_EINVAL, "%s:%zu: field %zu: expected %s (finite, >= 0), found '%s'",
                         l->path, l->line, field + 1, what, buf);
    *out = v;
    return WEFT_OK;
}

static weft_err_t parse_row(ali_t *a, const wl_lines_t *l)
{
    const char *f[ALI_FIELDS];
    size_t flen[ALI_FIELDS];
    size_t n = 0;
    const char *s = l->buf;
    for (;;) {
        const char *c = strchr(s, ',');
        if (n < ALI_FIELDS) {
            f[n] = s;
            flen[n] = c ? (size_t)(c - s) : strlen(s);
        }
        n++;
        if (!c)
            break;
        s = c + 1;
    }
    if (n != ALI_FIELDS)
        return weft_fail(WEFT_EPARSE,
                         "%s:%zu: expected %d comma-separated fields (arrival_s, job_name, "
                         "task_name, duration_s, plan_cpu, plan_mem, instance_num), found %zu",
                         l->path, l->line, ALI_FIELDS, n);
    weft_err_t err = weft_grow((void **)&a->rows, &a->cap_rows, a->n_rows + 1, sizeof *a->rows);
    if (err)
        return err;
    ali_row_t *r = &a->rows[a->n_rows];
    memset(r, 0, sizeof *r);
    r->line = l->line;
    err = field_double(l, 0, "an arrival time in seconds", f[0], flen[0], &r->arrival_s);
    if (!err)
        err = field_time(l, 0, "arrival time", r->arrival_s);
    if (err)
        return err;
    /* job name j_<n> */
    const char *js = f[1];
    size_t jl = flen[1];
    bool ok = jl > 2 && js[0] == 'j' && js[1] == '_';
    for (size_t k = 2; ok && k < jl; k++)
        ok = js[k] >= '0' && js[k] <= '9';
    if (!ok)
        return field_error(l, 1, "a job name 'j_<number>'", js, jl);
    /* 18 digits always fit 64 bits, and so does job id + task number (the ports) */
    if (jl > 20)
        return field_error(l, 1, "a job name 'j_<number>' whose number has at most 18 digits",
                           js, jl);
    int64_t jid = 0;
    for (size_t k = 2; k < jl; k++)
        jid = jid * 10 + (js[k] - '0');
    /* the number is the job id: j_1 and j_01 would be one job */
    if (jl > 3 && js[2] == '0')
        return field_error(l, 1, "a job name 'j_<number>' without leading zeros", js, jl);
    r->job = jid;
    /* task name */
    size_t first_dep = a->n_deps, n_deps = 0;
    int m = parse_task_name(a, f[2], flen[2], &r->task, &n_deps);
    if (m < 0)
        return (weft_err_t)m;
    if (m == TASK_NUMBER_TOO_LONG)
        return field_error(l, 2, "a task name whose numbers have at most 18 digits", f[2],
                           flen[2]);
    if (m == TASK_INDEPENDENT) {
        if (flen[2] == 0)
            return field_error(l, 2, "a task name", f[2], 0);
        r->task = -1;
    }
    r->first_dep = first_dep;
    r->n_deps = n_deps;
    err = field_double(l, 3, "a duration in seconds", f[3], flen[3], &r->duration_s);
    if (!err)
        err = field_time(l, 3, "duration", r->duration_s);
    if (err)
        return err;
    double inst;
    err = field_double(l, 6, "an instance count", f[6], flen[6], &inst);
    if (err)
        return err;
    if (inst < 1 || inst != floor(inst) || inst > 1e15)
        return weft_fail(WEFT_EINVAL, "%s:%zu: field 7: expected an instance count (a whole "
                                      "number >= 1), found '%.*s'",
                         l->path, l->line, (int)(flen[6] > 40 ? 40 : flen[6]), f[6]);
    r->instances = (uint64_t)inst;
    a->n_rows++;
    return WEFT_OK;
}

static _Thread_local const ali_row_t *sort_rows_base; /* qsort has no context */

static int cmp_row_job(const void *x, const void *y)
{
    const ali_row_t *a = &sort_rows_base[*(const size_t *)x];
    const ali_row_t *b = &sort_rows_base[*(const size_t *)y];
    if (a->job != b->job)
        return (a->job > b->job) - (a->job < b->job);
    return (a->line > b->line) - (a->line < b->line);
}

/* Inside one job: matched tasks by number, independent ones after, by line. */
static int cmp_row_task(const void *x, const void *y)
{
    const ali_row_t *a = &sort_rows_base[*(const size_t *)x];
    const ali_row_t *b = &sort_rows_base[*(const size_t *)y];
    bool ia = a->task < 0, ib = b->task < 0;
    if (ia != ib)
        return ia - ib;
    if (!ia && a->task != b->task)
        return (a->task > b->task) - (a->task < b->task);
    return (a->line > b->line) - (a->line < b->line);
}

static int cmp_job_arrival(const void *x, const void *y)
{
    const ali_job_t *a = x, *b = y;
    if (a->arrival_s != b->arrival_s)
        return (a->arrival_s > b->arrival_s) - (a->arrival_s < b->arrival_s);
    return (a->id > b->id) - (a->id < b->id);
}

/* Index of task number t among the job's matched tasks ids[0..n) (sorted),
 * or SIZE_MAX. */
static size_t find_task(const ali_row_t *rows, const size_t *ids, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = rows[ids[mid]].task;
        if (v == t)
            return mid;
        if (v < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* Adds what was repaired or skipped in job j to rep. */
static void report_job(workload_read_report_t *rep, const ali_job_t *j)
{
    rep->alibaba_dropped_deps += j->dropped_deps;
    rep->alibaba_skipped_tasks += j->skipped_tasks;
    rep->alibaba_cyclic_jobs += j->skip == ALI_CYCLIC;
    rep->alibaba_duplicate_jobs += j->skip == ALI_DUPLICATE;
    rep->alibaba_skipped_jobs += j->skip == ALI_TASKLESS;
}

/* Plans the job whose rows are a->idx[0..n) (sorted by cmp_row_task): its
 * tasks and kept parents, or no tasks and why if the job is skipped. */
static weft_err_t plan_job(ali_t *a, size_t n, const workload_read_opts_t *o)
{
    const ali_row_t *rows = a->rows;
    size_t *ids = a->idx;
    size_t n_matched = 0;
    while (n_matched < n && rows[ids[n_matched]].task >= 0)
        n_matched++;
    int64_t job_id = rows[ids[0]].job;
    double arrival = rows[ids[0]].arrival_s;
    for (size_t i = 1; i < n; i++)
        if (rows[ids[i]].arrival_s < arrival)
            arrival = rows[ids[i]].arrival_s;
    weft_err_t err;
    if ((err = weft_grow((void **)&a->jobs, &a->cap_jobs, a->n_jobs + 1, sizeof *a->jobs)))
        return err;
    ali_job_t *job = &a->jobs[a->n_jobs++];
    *job = (ali_job_t){.id = job_id, .arrival_s = arrival, .first_task = a->n_tasks};
    for (size_t i = 1; i < n_matched; i++)
        if (rows[ids[i]].task == rows[ids[i - 1]].task) {
            job->skip = ALI_DUPLICATE;
            return WEFT_OK;
        }
    size_t n_kept = o->alibaba_keep_independent ? n : n_matched;
    job->skipped_tasks = n - n_kept;
    if (n_kept == 0) {
        job->skip = ALI_TASKLESS;
        return WEFT_OK;
    }
    /* edges (parent index -> child index) among matched tasks, CSR by parent */
    if ((err = weft_grow((void **)&a->indeg, &a->cap_indeg, n_kept, sizeof *a->indeg)) ||
        (err = weft_grow((void **)&a->start, &a->cap_start, n_kept + 1, sizeof *a->start)) ||
        (err = weft_grow((void **)&a->queue, &a->cap_queue, n_kept, sizeof *a->queue)))
        return err;
    size_t task_base = a->n_tasks, parent_base = a->n_parents, dropped = 0;
    int64_t next_free = 0;
    for (size_t i = 0; i < n_matched; i++)
        if (rows[ids[i]].task >= next_free)
            next_free = rows[ids[i]].task + 1;
    if (next_free == 0)
        next_free = 1;
    for (size_t i = 0; i < n_kept; i++) {
        const ali_row_t *r = &rows[ids[i]];
        if ((err = weft_grow((void **)&a->tasks, &a->cap_tasks, a->n_tasks + 1,
                             sizeof *a->tasks)))
            return err;
        ali_task_t *t = &a->tasks[a->n_tasks++];
        t->id = r->task >= 0 ? r->task : next_free++;
        t->duration_s = r->duration_s;
        t->instances = r->instances;
        t->first_parent = a->n_parents;
        t->n_parents = 0;
        for (size_t d = 0; d < r->n_deps; d++) {
            int64_t dep = a->deps[r->first_dep + d];
            bool twice = false;
            for (size_t q = t->first_parent; q < a->n_parents; q++)
                twice |= a->parents[q] == dep;
            if (dep == r->task || twice || find_task(rows, ids, n_matched, dep) == SIZE_MAX) {
                dropped++;
                continue;
            }
            if ((err = weft_grow((void **)&a->parents, &a->cap_parents, a->n_parents + 1,
                                 sizeof *a->parents)))
                return err;
            a->parents[a->n_parents++] = dep;
            t->n_parents++;
        }
    }
    /* Kahn's algorithm on the kept edges: a cycle leaves tasks unvisited. */
    size_t n_edges = a->n_parents - parent_base;
    if ((err = weft_grow((void **)&a->adj, &a->cap_adj, n_edges ? n_edges : 1, sizeof *a->adj)))
        return err;
    memset(a->start, 0, (n_kept + 1) * sizeof *a->start);
    for (size_t i = 0; i < n_kept; i++) {
        const ali_task_t *t = &a->tasks[task_base + i];
        a->indeg[i] = t->n_parents;
        for (size_t q = 0; q < t->n_parents; q++)
            a->start[find_task(rows, ids, n_matched, a->parents[t->first_parent + q]) + 1]++;
    }
    for (size_t i = 0; i < n_kept; i++)
        a->start[i + 1] += a->start[i];
    for (size_t i = 0; i < n_kept; i++) {
        const ali_task_t *t = &a->tasks[task_base + i];
        for (size_t q = 0; q < t->n_parents; q++) {
            size_t p = find_task(rows, ids, n_matched, a->parents[t->first_parent + q]);
            a->adj[a->start[p]++] = i; /* start[p] becomes the end of p's list */
        }
    }
    for (size_t i = n_kept; i > 0; i--) /* shift ends back to starts */
        a->start[i] = a->start[i - 1];
    a->start[0] = 0;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n_kept; i++)
        if (a->indeg[i] == 0)
            a->queue[tail++] = i;
    while (head < tail) {
        size_t u = a->queue[head++];
        for (size_t e = a->start[u]; e < a->start[u + 1]; e++)
            if (--a->indeg[a->adj[e]] == 0)
                a->queue[tail++] = a->adj[e];
    }
    if (tail != n_kept) {
        job->skip = ALI_CYCLIC;
        a->n_tasks = task_base;
        a->n_parents = parent_base;
        return WEFT_OK;
    }
    job->dropped_deps = dropped;
    job->n_tasks = n_kept;
    return WEFT_OK;
}

static weft_err_t emit_job(coflow_workload_t *wl, const ali_t *a, const ali_job_t *job,
                           double bytes)
{
    weft_err_t err = coflow_workload_add_job(wl, job->id, job->arrival_s, 1.0, 0.0);
    double job_bytes = 0;
    for (size_t i = 0; !err && i < job->n_tasks; i++) {
        const ali_task_t *t = &a->tasks[job->first_task + i];
        err = coflow_workload_add_coflow(wl, t->id, t->duration_s);
        uint64_t w = t->instances < ALI_PORTS ? t->instances : ALI_PORTS;
        job_bytes += (double)w * bytes;
        char js[WEFT_FMT_LEN];
        if (!err && job_bytes > WORKLOAD_MAX_BYTES)
            err = weft_fail(WEFT_EINVAL,
                            "its flows add up to %s bytes (%g per instance), more than 2^60 "
                            "bytes (%g, about an exabyte)",
                            weft_fmt_exact(job_bytes, js, sizeof js), bytes, WORKLOAD_MAX_BYTES);
        uint64_t o = ((uint64_t)job->id % ALI_PORTS + (uint64_t)t->id % ALI_PORTS) % ALI_PORTS;
        for (uint64_t k = 0; !err && k < w; k++)
            err = coflow_workload_add_flow(wl, (uint32_t)((o + k) % ALI_PORTS),
                                           (uint32_t)((o + k + 1) % ALI_PORTS), bytes);
        for (size_t q = 0; !err && q < t->n_parents; q++)
            err = coflow_workload_add_parent(wl, a->parents[t->first_parent + q]);
    }
    if (!err)
        err = coflow_workload_finish_job(wl);
    return err;
}

weft_err_t workload_read_alibaba(coflow_workload_t *wl, const char *path,
                                 const workload_read_opts_t *opts)
{
    workload_read_opts_t def;
    workload_read_report_t rep_local, *rep = wl_start_read(wl, &opts, &def, &rep_local);
    double bytes = opts->alibaba_bytes_per_instance;
    if (!isfinite(bytes) || bytes <= 0)
        return weft_fail(WEFT_EINVAL, "bytes per instance %g, expected a finite number > 0",
                         bytes);
    ali_t a;
    memset(&a, 0, sizeof a);
    wl_lines_t l;
    weft_err_t err = wl_lines_open(&l, path);
    if (err)
        return err;
    int r;
    while ((r = wl_lines_next(&l)) == 1) {
        if (wl_at_eol(l.buf, false))
            continue;
        WEFT_CHECK(parse_row(&a, &l));
        /* no trailer: a file cut inside the last number of a row must not
         * read (the trace ends with a newline) */
        WEFT_CHECK(wl_require_newline(&l));
    }
    if (r < 0) {
        err = (weft_err_t)r;
        goto cleanup;
    }
    size_t *order = weft_calloc(a.n_rows, sizeof *order);
    if (!order) {
        err = weft_fail(WEFT_ENOMEM, "%s: out of memory grouping %zu rows", path, a.n_rows);
        goto cleanup;
    }
    for (size_t i = 0; i < a.n_rows; i++)
        order[i] = i;
    sort_rows_base = a.rows;
    qsort(order, a.n_rows, sizeof *order, cmp_row_job);
    for (size_t i = 0; i < a.n_rows && !err;) {
        size_t e = i + 1;
        while (e < a.n_rows && a.rows[order[e]].job == a.rows[order[i]].job)
            e++;
        err = weft_grow((void **)&a.idx, &a.cap_idx, e - i, sizeof *a.idx);
        if (!err) {
            memcpy(a.idx, order + i, (e - i) * sizeof *a.idx);
            qsort(a.idx, e - i, sizeof *a.idx, cmp_row_task);
            err = plan_job(&a, e - i, opts);
        }
        i = e;
    }
    free(order);
    if (err)
        goto cleanup;
    if (a.n_jobs > 1) /* a.jobs is NULL for a file without jobs: no qsort(NULL) */
        qsort(a.jobs, a.n_jobs, sizeof *a.jobs, cmp_job_arrival);
    wl->n_ports = ALI_PORTS;
    /* skipped jobs stay in the order, so that the report speaks only of the
     * jobs up to the last one max_jobs keeps */
    for (size_t j = 0, kept = 0; j < a.n_jobs; j++) {
        if (opts->max_jobs && kept == opts->max_jobs)
            break;
        report_job(rep, &a.jobs[j]);
        if (a.jobs[j].skip != ALI_KEPT)
            continue;
        kept++;
        err = emit_job(wl, &a, &a.jobs[j], bytes);
        if (err) {
            /* a job above 2^60 bytes (many tasks, or a huge bytes per
             * instance), or short of memory */
            weft_wrap(err, "%s: job j_%lld: ", path, (long long)a.jobs[j].id);
            goto cleanup;
        }
    }
    err = wl_finish_read(wl, path);

cleanup:
    ali_free(&a);
    return wl_end_lines_read(&l, wl, err);
}
