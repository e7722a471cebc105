/*
 * wfcommons.c - reader of WfCommons WfFormat JSON (schema 1.5 layout:
 * workflow.specification.{tasks,files}, workflow.execution.tasks), parsed
 * with jansson. One file = one job (id 0, arrival 0, weight 1).
 *
 * Conventions (docs/workload-format.md):
 * - a task's depth is the longest parent chain above it (roots 0); a stage
 *   is the set of tasks with the same name prefix (the name up to its last
 *   "_ID", e.g. "bowtie2_ID0000003" -> "bowtie2") at the same depth, so
 *   every task edge goes from a shallower stage to a deeper one and the
 *   stage graph is acyclic; stages are numbered by (depth, prefix);
 * - what parent task p sends child task c = the sum of sizeInBytes of the
 *   files that are both p's output and c's input (each file once);
 * - a coflow = all bytes from stage A to stage B, one flow per task pair
 *   with bytes > 0, from p's port to c's port; coflow ids 1, 2, ... in
 *   (A, B) order;
 * - a stage edge that moves no bytes is a pure dependency: it passes
 *   through, so the coflow (B->C) depends on the nearest coflows above B
 *   along any path (its "frontier");
 * - lag(S) = max runtimeInSeconds of S's tasks + the largest lag of a stage
 *   feeding S through a zero-byte edge (0 if none); compute_s of coflow
 *   (A->B) = lag(A); the job's final_compute_s = the largest lag of a sink
 *   stage (one without outgoing edges). Without zero-byte edges this is
 *   exactly "max runtime of the sending stage" and "max runtime over sink
 *   stages"; with them it is an upper estimate (the model has one compute
 *   time per coflow, counted from its last parent's finish);
 * - placement on opts->wf_ports ports: task t goes to port
 *   splitmix64(fnv1a64(t.id) ^ (wf_seed * 0x9E3779B97F4A7C15)) mod wf_ports.
 *   The recorded machines are not used: these instances ran on 1-4
 *   machines, which would put whole stages on one port;
 * - a task without an execution record has runtime 0; a workflow that
 *   moves no bytes at all has no coflow and fails the read.
 * Errors name the JSON path ("workflow.specification.tasks[3].parents[0]")
 * where a text format would name a line; jansson's own syntax errors carry
 * line and column. A UTF-8 byte-order mark before the JSON is skipped, as
 * the text readers skip it.
 */
#include "read_internal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../dag/dag.h"

typedef struct {
    const char *key; /* borrowed from the JSON tree */
    size_t idx;
} name_idx_t;

typedef struct {
    size_t sa, sb; /* stages */
    size_t p, c;   /* tasks */
    double bytes;
} task_edge_t;

typedef struct {
    size_t sa, sb;
    size_t first, n; /* into task edges */
    double bytes;
    size_t coflow;   /* index among coflows, or SIZE_MAX for a zero-byte edge */
} stage_edge_t;

typedef struct {
    const char *path;
    size_t n_files, n_tasks, n_stages, n_tedges, n_sedges, n_coflows;
    name_idx_t *file_ix, *task_ix;
    double *file_size;        /* [n_files] */
    const char **task_id;     /* [n_tasks] */
    const char **task_name;   /* [n_tasks] */
    size_t *task_prefix_len;  /* [n_tasks] */
    double *runtime;          /* [n_tasks] */
    size_t *exec_record;      /* [n_tasks] its execution.tasks index + 1; 0: none yet */
    uint32_t *port;           /* [n_tasks] */
    size_t *in_first, *in_n, *out_first, *out_n; /* [n_tasks] into fidx */
    size_t *fidx;
    size_t n_fidx, cap_fidx;
    size_t *par_first, *par_n; /* [n_tasks] into par */
    size_t *par;
    size_t n_par, cap_par;
    size_t *depth, *order, *indeg, *stage_of, *stage_sort; /* [n_tasks] */
    size_t *child_start, *child; /* CSR of children */
    double *stage_rt, *lag;      /* [n_stages] */
    bool *stage_has_out;         /* [n_stages] */
    task_edge_t *tedges;
    stage_edge_t *sedges;
    size_t *sedge_by_dst;        /* [n_sedges] indices sorted by (sb, sa) */
    uint64_t *front;             /* [n_stages * words] */
} wf_t;

static void wf_free(wf_t *w)
{
    free(w->file_ix);
    free(w->task_ix);
    free(w->file_size);
    free(w->task_id);
    free(w->task_name);
    free(w->task_prefix_len);
    free(w->runtime);
    free(w->exec_record);
    free(w->port);
    free(w->in_first);
    free(w->in_n);
    free(w->out_first);
    free(w->out_n);
    free(w->fidx);
    free(w->par_first);
    free(w->par_n);
    free(w->par);
    free(w->depth);
    free(w->order);
    free(w->indeg);
    free(w->stage_of);
    free(w->stage_sort);
    free(w->child_start);
    free(w->child);
    free(w->stage_rt);
    free(w->lag);
    free(w->stage_has_out);
    free(w->tedges);
    free(w->sedges);
    free(w->sedge_by_dst);
    free(w->front);
}

static const char *json_kind(const json_t *v)
{
    if (!v)
        return "nothing (missing)";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* A string of the file in a message: its first 60 bytes, control
 * characters escaped (weft_shown: a JSON "\u001b" or "\u009b" is one), into
 * buf. */
#define SHOWN_MAX 60
#define SHOWN_LEN (4 * SHOWN_MAX + 1)
static const char *shown(const char *s, char buf[SHOWN_LEN])
{
    return weft_shown(s, strlen(s), SHOWN_MAX, buf, SHOWN_LEN);
}

/* "path: <json path>: expected <what>, found <kind>" */
static weft_err_t bad(const wf_t *w, weft_err_t err, const json_t *found, const char *what,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static weft_err_t bad(const wf_t *w, weft_err_t err, const json_t *found, const char *what,
                      const char *fmt, ...)
{
    char where[256], buf[SHOWN_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    if (found && json_is_string(found))
        return weft_fail(err, "%s: %s: expected %s, found \"%s\"", w->path, where, what,
                         shown(json_string_value(found), buf));
    return weft_fail(err, "%s: %s: expected %s, found %s", w->path, where, what,
                     json_kind(found));
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const name_idx_t *)a)->key, ((const name_idx_t *)b)->key);
}

/* By name, then by place in the file: an id given twice is then named at
 * its later place, "also" the earlier, whatever qsort does with equal keys
 * (glibc's is stable only while it can allocate a merge buffer). */
static int cmp_name_then_place(const void *a, const void *b)
{
    const name_idx_t *x = a, *y = b;
    int c = cmp_name(a, b);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static size_t lookup(const name_idx_t *ix, size_t n, const char *key)
{
    name_idx_t k = {.key = key};
    const name_idx_t *hit = bsearch(&k, ix, n, sizeof *ix, cmp_name);
    return hit ? hit->idx : SIZE_MAX;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static uint64_t place(const char *id, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)id; *s; s++)
        h = (h ^ *s) * 0x100000001b3ULL;
    uint64_t x = h ^ (seed * 0x9E3779B97F4A7C15ULL); /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Reads a file-id list (inputFiles/outputFiles) of task t into fidx as a
 * sorted list of distinct file indices. */
static weft_err_t read_file_list(wf_t *w, const json_t *list, size_t t, const char *field,
                                 size_t *first, size_t *n)
{
    *first = w->n_fidx;
    *n = 0;
    if (!list)
        return WEFT_OK;
    if (!json_is_array(list))
        return bad(w, WEFT_EPARSE, list, "an array of file ids",
                   "workflow.specification.tasks[%zu].%s", t, field);
    size_t k;
    const json_t *v;
    json_array_foreach(list, k, v) {
        const char *id = json_string_value(v);
        if (!id)
            return bad(w, WEFT_EPARSE, v, "a file id (a string)",
                       "workflow.specification.tasks[%zu].%s[%zu]", t, field, k);
        size_t f = lookup(w->file_ix, w->n_files, id);
        if (f == SIZE_MAX)
            return bad(w, WEFT_ENOTFOUND, v, "the id of a file in workflow.specification.files",
                       "workflow.specification.tasks[%zu].%s[%zu]", t, field, k);
        weft_err_t err = weft_grow((void **)&w->fidx, &w->cap_fidx, w->n_fidx + 1,
                                   sizeof *w->fidx);
        if (err)
            return err;
        w->fidx[w->n_fidx++] = f;
    }
    if (w->n_fidx == *first)
        return WEFT_OK; /* an empty list: fidx may still be NULL, no arithmetic on it */
    size_t *a = w->fidx + *first, m = w->n_fidx - *first, u = 0;
    qsort(a, m, sizeof *a, cmp_size);
    for (size_t i = 0; i < m; i++)
        if (i == 0 || a[i] != a[u - 1])
            a[u++] = a[i];
    w->n_fidx = *first + u;
    *n = u;
    return WEFT_OK;
}

static double shared_bytes(const wf_t *w, size_t p, size_t c)
{
    size_t na = w->out_n[p], nb = w->in_n[c], i = 0, j = 0;
    if (na == 0 || nb == 0)
        return 0; /* fidx is NULL when no task lists a file: no arithmetic on it */
    const size_t *a = w->fidx + w->out_first[p], *b = w->fidx + w->in_first[c];
    double s = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            s += w->file_size[a[i]];
            i++;
            j++;
        }
    }
    return s;
}

static _Thread_local const wf_t *sort_wf; /* qsort has no context */

static int cmp_stage_key(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    const wf_t *w = sort_wf;
    if (w->depth[a] != w->depth[b])
        return (w->depth[a] > w->depth[b]) - (w->depth[a] < w->depth[b]);
    size_t la = w->task_prefix_len[a], lb = w->task_prefix_len[b];
    int c = strncmp(w->task_name[a], w->task_name[b], la < lb ? la : lb);
    if (c)
        return c;
    if (la != lb)
        return (la > lb) - (la < lb);
    return (a > b) - (a < b);
}

static bool same_stage(const wf_t *w, size_t a, size_t b)
{
    return w->depth[a] == w->depth[b] && w->task_prefix_len[a] == w->task_prefix_len[b] &&
           !strncmp(w->task_name[a], w->task_name[b], w->task_prefix_len[a]);
}

static int cmp_tedge(const void *x, const void *y)
{
    const task_edge_t *a = x, *b = y;
    if (a->sa != b->sa)
        return (a->sa > b->sa) - (a->sa < b->sa);
    if (a->sb != b->sb)
        return (a->sb > b->sb) - (a->sb < b->sb);
    if (a->p != b->p)
        return (a->p > b->p) - (a->p < b->p);
    return (a->c > b->c) - (a->c < b->c);
}

static int cmp_sedge_dst(const void *x, const void *y)
{
    const stage_edge_t *a = &sort_wf->sedges[*(const size_t *)x],
                       *b = &sort_wf->sedges[*(const size_t *)y];
    if (a->sb != b->sb)
        return (a->sb > b->sb) - (a->sb < b->sb);
    return (a->sa > b->sa) - (a->sa < b->sa);
}

#define ALLOC(ptr, n)                                                                      \
    do {                                                                                   \
        (ptr) = weft_calloc((n), sizeof *(ptr));                                           \
        if (!(ptr))                                                                        \
            return weft_fail(WEFT_ENOMEM, "%s: out of memory", w->path);                   \
    } while (0)

/* Files and tasks of the specification, runtimes of the execution. */
static weft_err_t load_tasks(wf_t *w, const json_t *root)
{
    const json_t *wfl = json_object_get(root, "workflow");
    if (!json_is_object(wfl))
        return bad(w, WEFT_EPARSE, wfl, "an object", "workflow");
    const json_t *spec = json_object_get(wfl, "specification");
    if (!spec) {
        const char *ver = json_string_value(json_object_get(root, "schemaVersion"));
        if (ver && strcmp(ver, "1.5"))
            return weft_fail(WEFT_EVERSION,
                             "%s: WfFormat schemaVersion \"%s\" without "
                             "workflow.specification: this reader reads the 1.5 layout "
                             "(workflow.specification and workflow.execution)",
                             w->path, ver);
    }
    if (!json_is_object(spec))
        return bad(w, WEFT_EPARSE, spec, "an object", "workflow.specification");
    const json_t *tasks = json_object_get(spec, "tasks"), *files = json_object_get(spec, "files");
    if (!json_is_array(tasks))
        return bad(w, WEFT_EPARSE, tasks, "an array", "workflow.specification.tasks");
    if (!json_is_array(files))
        return bad(w, WEFT_EPARSE, files, "an array", "workflow.specification.files");

    /* files */
    size_t k;
    const json_t *v;
    w->n_files = json_array_size(files);
    ALLOC(w->file_ix, w->n_files);
    ALLOC(w->file_size, w->n_files);
    json_array_foreach(files, k, v) {
        if (!json_is_object(v)) /* else its id would read as missing */
            return bad(w, WEFT_EPARSE, v, "a file (an object)",
                       "workflow.specification.files[%zu]", k);
        const json_t *id = json_object_get(v, "id"), *sz = json_object_get(v, "sizeInBytes");
        if (!json_is_string(id))
            return bad(w, WEFT_EPARSE, id, "a file id (a string)",
                       "workflow.specification.files[%zu].id", k);
        if (!json_is_number(sz))
            return bad(w, WEFT_EPARSE, sz, "a size in bytes (a number)",
                       "workflow.specification.files[%zu].sizeInBytes", k);
        double s = json_number_value(sz);
        if (!isfinite(s) || s < 0)
            return weft_fail(WEFT_EINVAL,
                             "%s: workflow.specification.files[%zu].sizeInBytes: expected a "
                             "size >= 0, found %g",
                             w->path, k, s);
        char vs[WEFT_FMT_LEN];
        if (s > WORKLOAD_MAX_BYTES)
            return weft_fail(WEFT_EINVAL,
                             "%s: workflow.specification.files[%zu].sizeInBytes: %s bytes, "
                             "more than 2^60 bytes (%g, about an exabyte)",
                             w->path, k, weft_fmt_exact(s, vs, sizeof vs), WORKLOAD_MAX_BYTES);
        w->file_ix[k] = (name_idx_t){.key = json_string_value(id), .idx = k};
        w->file_size[k] = s;
    }
    qsort(w->file_ix, w->n_files, sizeof *w->file_ix, cmp_name_then_place);
    char buf[SHOWN_LEN];
    for (size_t i = 1; i < w->n_files; i++)
        if (!strcmp(w->file_ix[i].key, w->file_ix[i - 1].key))
            return weft_fail(WEFT_EINVAL,
                             "%s: workflow.specification.files[%zu]: file id \"%s\" appears "
                             "twice (also files[%zu])",
                             w->path, w->file_ix[i].idx, shown(w->file_ix[i].key, buf),
                             w->file_ix[i - 1].idx);

    /* tasks: ids and names first, so parents can refer forward */
    w->n_tasks = json_array_size(tasks);
    size_t n = w->n_tasks;
    ALLOC(w->task_ix, n);
    ALLOC(w->task_id, n);
    ALLOC(w->task_name, n);
    ALLOC(w->task_prefix_len, n);
    ALLOC(w->runtime, n);
    ALLOC(w->exec_record, n);
    ALLOC(w->port, n);
    ALLOC(w->in_first, n);
    ALLOC(w->in_n, n);
    ALLOC(w->out_first, n);
    ALLOC(w->out_n, n);
    ALLOC(w->par_first, n);
    ALLOC(w->par_n, n);
    json_array_foreach(tasks, k, v) {
        if (!json_is_object(v))
            return bad(w, WEFT_EPARSE, v, "a task (an object)", "workflow.specification.tasks[%zu]",
                       k);
        const json_t *id = json_object_get(v, "id"), *name = json_object_get(v, "name");
        if (!json_is_string(id))
            return bad(w, WEFT_EPARSE, id, "a task id (a string)",
                       "workflow.specification.tasks[%zu].id", k);
        if (!name)
            name = id;
        if (!json_is_string(name))
            return bad(w, WEFT_EPARSE, name, "a task name (a string)",
                       "workflow.specification.tasks[%zu].name", k);
        w->task_id[k] = json_string_value(id);
        w->task_name[k] = json_string_value(name);
        const char *s = w->task_name[k], *cut = NULL;
        for (const char *q = strstr(s, "_ID"); q; q = strstr(q + 1, "_ID"))
            cut = q;
        w->task_prefix_len[k] = cut ? (size_t)(cut - s) : strlen(s);
        w->task_ix[k] = (name_idx_t){.key = w->task_id[k], .idx = k};
    }
    qsort(w->task_ix, n, sizeof *w->task_ix, cmp_name_then_place);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(w->task_ix[i].key, w->task_ix[i - 1].key))
            return weft_fail(WEFT_EINVAL,
                             "%s: workflow.specification.tasks[%zu]: task id \"%s\" appears "
                             "twice (also tasks[%zu])",
                             w->path, w->task_ix[i].idx, shown(w->task_ix[i].key, buf),
                             w->task_ix[i - 1].idx);
    json_array_foreach(tasks, k, v) {
        weft_err_t err = read_file_list(w, json_object_get(v, "inputFiles"), k, "inputFiles",
                                        &w->in_first[k], &w->in_n[k]);
        if (!err)
            err = read_file_list(w, json_object_get(v, "outputFiles"), k, "outputFiles",
                                 &w->out_first[k], &w->out_n[k]);
        if (err)
            return err;
        const json_t *ps = json_object_get(v, "parents");
        w->par_first[k] = w->n_par;
        if (ps && !json_is_array(ps))
            return bad(w, WEFT_EPARSE, ps, "an array of task ids",
                       "workflow.specification.tasks[%zu].parents", k);
        size_t q;
        const json_t *pv;
        json_array_foreach(ps, q, pv) {
            const char *pid = json_string_value(pv);
            if (!pid)
                return bad(w, WEFT_EPARSE, pv, "a task id (a string)",
                           "workflow.specification.tasks[%zu].parents[%zu]", k, q);
            size_t p = lookup(w->task_ix, n, pid);
            if (p == SIZE_MAX)
                return bad(w, WEFT_ENOTFOUND, pv, "the id of a task in the workflow",
                           "workflow.specification.tasks[%zu].parents[%zu]", k, q);
            if (p == k)
                return weft_fail(WEFT_ECYCLE,
                                 "%s: workflow.specification.tasks[%zu]: task \"%s\" lists "
                                 "itself as a parent",
                                 w->path, k, shown(w->task_id[k], buf));
            bool twice = false;
            for (size_t i = w->par_first[k]; i < w->n_par; i++)
                twice |= w->par[i] == p;
            if (twice)
                continue; /* a repeated parent is the same edge */
            err = weft_grow((void **)&w->par, &w->cap_par, w->n_par + 1, sizeof *w->par);
            if (err)
                return err;
            w->par[w->n_par++] = p;
        }
        w->par_n[k] = w->n_par - w->par_first[k];
    }

    /* runtimes */
    const json_t *exec = json_object_get(wfl, "execution");
    if (exec) {
        if (!json_is_object(exec))
            return bad(w, WEFT_EPARSE, exec, "an object", "workflow.execution");
        const json_t *et = json_object_get(exec, "tasks");
        if (!json_is_array(et))
            return bad(w, WEFT_EPARSE, et, "an array", "workflow.execution.tasks");
        json_array_foreach(et, k, v) {
            if (!json_is_object(v))
                return bad(w, WEFT_EPARSE, v, "a task's execution (an object)",
                           "workflow.execution.tasks[%zu]", k);
            const json_t *id = json_object_get(v, "id"),
                         *rt = json_object_get(v, "runtimeInSeconds");
            if (!json_is_string(id))
                return bad(w, WEFT_EPARSE, id, "a task id (a string)",
                           "workflow.execution.tasks[%zu].id", k);
            size_t t = lookup(w->task_ix, n, json_string_value(id));
            if (t == SIZE_MAX)
                return bad(w, WEFT_ENOTFOUND, id, "the id of a task in workflow.specification",
                           "workflow.execution.tasks[%zu].id", k);
            if (w->exec_record[t]) /* two runtimes: which one ran is unknown */
                return weft_fail(WEFT_EINVAL,
                                 "%s: workflow.execution.tasks[%zu]: task id \"%s\" appears "
                                 "twice (also execution.tasks[%zu])",
                                 w->path, k, shown(json_string_value(id), buf),
                                 w->exec_record[t] - 1);
            w->exec_record[t] = k + 1;
            if (!json_is_number(rt))
                return bad(w, WEFT_EPARSE, rt, "a runtime in seconds (a number)",
                           "workflow.execution.tasks[%zu].runtimeInSeconds", k);
            double r = json_number_value(rt);
            if (!isfinite(r) || r < 0)
                return weft_fail(WEFT_EINVAL,
                                 "%s: workflow.execution.tasks[%zu].runtimeInSeconds: expected "
                                 "a time >= 0, found %g",
                                 w->path, k, r);
            char vs[WEFT_FMT_LEN];
            if (r > WORKLOAD_MAX_TIME_S)
                return weft_fail(WEFT_EINVAL,
                                 "%s: workflow.execution.tasks[%zu].runtimeInSeconds: %s s is "
                                 "beyond %g s (about 31 years): times that large lose the "
                                 "precision job times need",
                                 w->path, k, weft_fmt_exact(r, vs, sizeof vs),
                                 WORKLOAD_MAX_TIME_S);
            w->runtime[t] = r;
        }
    }
    return WEFT_OK;
}

static void name_task(const void *ctx, size_t v, char *out, size_t size)
{
    const char *const *task_id = ctx;
    /* into out itself: a copy cut at size could end inside an escape */
    weft_shown(task_id[v], strlen(task_id[v]), SHOWN_MAX, out, size);
}

/* Depths (longest parent chain) by Kahn's algorithm; a cycle is an error,
 * naming one. */
static weft_err_t task_depths(wf_t *w)
{
    size_t n = w->n_tasks;
    ALLOC(w->depth, n);
    ALLOC(w->order, n);
    ALLOC(w->indeg, n);
    ALLOC(w->child_start, n + 1);
    ALLOC(w->child, w->n_par ? w->n_par : 1);
    for (size_t c = 0; c < n; c++) {
        w->indeg[c] = w->par_n[c];
        for (size_t q = 0; q < w->par_n[c]; q++)
            w->child_start[w->par[w->par_first[c] + q] + 1]++;
    }
    for (size_t i = 0; i < n; i++)
        w->child_start[i + 1] += w->child_start[i];
    size_t *fill = w->order; /* borrowed as a cursor before the sort */
    memcpy(fill, w->child_start, n * sizeof *fill);
    for (size_t c = 0; c < n; c++)
        for (size_t q = 0; q < w->par_n[c]; q++)
            w->child[fill[w->par[w->par_first[c] + q]]++] = c;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (w->indeg[i] == 0)
            w->order[tail++] = i;
    while (head < tail) {
        size_t u = w->order[head++];
        for (size_t e = w->child_start[u]; e < w->child_start[u + 1]; e++) {
            size_t c = w->child[e];
            if (w->depth[u] + 1 > w->depth[c])
                w->depth[c] = w->depth[u] + 1;
            if (--w->indeg[c] == 0)
                w->order[tail++] = c;
        }
    }
    if (tail != n) {
        /* the read fails: depth and order serve as dag_cycle_text's scratch,
         * next being a left-out task's first left-out parent */
        size_t *next = w->depth;
        for (size_t c = 0; c < n; c++) {
            next[c] = SIZE_MAX;
            for (size_t q = 0; w->indeg[c] && next[c] == SIZE_MAX && q < w->par_n[c]; q++)
                if (w->indeg[w->par[w->par_first[c] + q]])
                    next[c] = w->par[w->par_first[c] + q];
        }
        char list[768];
        dag_cycle_text(n, next, w->order, name_task, w->task_id, list, sizeof list);
        return weft_fail(WEFT_ECYCLE, "%s: cycle among the tasks of the workflow: %s", w->path,
                         list);
    }
    return WEFT_OK;
}

static weft_err_t build_stages(wf_t *w, uint64_t seed, size_t n_ports,
                               workload_read_report_t *rep)
{
    size_t n = w->n_tasks;
    ALLOC(w->stage_of, n);
    ALLOC(w->stage_sort, n);
    for (size_t i = 0; i < n; i++) {
        w->stage_sort[i] = i;
        w->port[i] = (uint32_t)(place(w->task_id[i], seed) % n_ports);
    }
    sort_wf = w;
    qsort(w->stage_sort, n, sizeof *w->stage_sort, cmp_stage_key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !same_stage(w, w->stage_sort[i], w->stage_sort[i - 1]))
            w->n_stages++;
        w->stage_of[w->stage_sort[i]] = w->n_stages;
    }
    if (n)
        w->n_stages++;
    ALLOC(w->stage_rt, w->n_stages ? w->n_stages : 1);
    ALLOC(w->lag, w->n_stages ? w->n_stages : 1);
    ALLOC(w->stage_has_out, w->n_stages ? w->n_stages : 1);
    for (size_t i = 0; i < n; i++)
        if (w->runtime[i] > w->stage_rt[w->stage_of[i]])
            w->stage_rt[w->stage_of[i]] = w->runtime[i];

    /* task edges, grouped into stage edges */
    w->n_tedges = w->n_par;
    ALLOC(w->tedges, w->n_tedges ? w->n_tedges : 1);
    size_t e = 0;
    for (size_t c = 0; c < n; c++)
        for (size_t q = 0; q < w->par_n[c]; q++) {
            size_t p = w->par[w->par_first[c] + q];
            w->tedges[e++] = (task_edge_t){.sa = w->stage_of[p], .sb = w->stage_of[c], .p = p,
                                           .c = c, .bytes = shared_bytes(w, p, c)};
        }
    qsort(w->tedges, w->n_tedges, sizeof *w->tedges, cmp_tedge);
    ALLOC(w->sedges, w->n_tedges ? w->n_tedges : 1);
    for (size_t i = 0; i < w->n_tedges;) {
        size_t j = i;
        double s = 0;
        while (j < w->n_tedges && w->tedges[j].sa == w->tedges[i].sa &&
               w->tedges[j].sb == w->tedges[i].sb)
            s += w->tedges[j++].bytes;
        stage_edge_t *se = &w->sedges[w->n_sedges++];
        *se = (stage_edge_t){.sa = w->tedges[i].sa, .sb = w->tedges[i].sb, .first = i,
                             .n = j - i, .bytes = s, .coflow = SIZE_MAX};
        if (s > 0)
            se->coflow = w->n_coflows++;
        else
            rep->wf_zero_byte_edges++;
        w->stage_has_out[se->sa] = true;
        i = j;
    }
    ALLOC(w->sedge_by_dst, w->n_sedges ? w->n_sedges : 1);
    for (size_t i = 0; i < w->n_sedges; i++)
        w->sedge_by_dst[i] = i;
    qsort(w->sedge_by_dst, w->n_sedges, sizeof *w->sedge_by_dst, cmp_sedge_dst);

    /* lags and frontiers, stages in id order (= by depth: topological) */
    size_t words = (w->n_coflows + 63) / 64;
    if (words == 0)
        words = 1;
    if (w->n_stages > SIZE_MAX / words)
        return weft_fail(WEFT_ENOMEM, "%s: too many stages and coflows", w->path);
    ALLOC(w->front, w->n_stages * words);
    size_t k = 0;
    for (size_t s = 0; s < w->n_stages; s++) {
        double in_lag = 0;
        uint64_t *fs = w->front + s * words;
        for (; k < w->n_sedges && w->sedges[w->sedge_by_dst[k]].sb == s; k++) {
            const stage_edge_t *se = &w->sedges[w->sedge_by_dst[k]];
            if (se->coflow != SIZE_MAX) {
                fs[se->coflow / 64] |= 1ULL << (se->coflow % 64);
            } else {
                const uint64_t *fa = w->front + se->sa * words;
                for (size_t b = 0; b < words; b++)
                    fs[b] |= fa[b];
                if (w->lag[se->sa] > in_lag)
                    in_lag = w->lag[se->sa];
            }
        }
        w->lag[s] = w->stage_rt[s] + in_lag;
    }
    return WEFT_OK;
}

static weft_err_t emit(coflow_workload_t *wl, const wf_t *w)
{
    size_t words = (w->n_coflows + 63) / 64;
    if (words == 0)
        words = 1;
    double final_s = 0;
    for (size_t s = 0; s < w->n_stages; s++)
        if (!w->stage_has_out[s] && w->lag[s] > final_s)
            final_s = w->lag[s];
    weft_err_t err = coflow_workload_add_job(wl, 0, 0.0, 1.0, final_s);
    /* Each file and runtime is capped when read; what they add up to along
     * the DAG is checked here: the sums of sizes per coflow and over the
     * job, and the lags (runtimes added along zero-byte edges). */
    double job_bytes = 0;
    char vs[WEFT_FMT_LEN];
    for (size_t s = 0; !err && s < w->n_stages; s++)
        if (w->lag[s] > WORKLOAD_MAX_TIME_S)
            err = weft_fail(WEFT_EINVAL,
                            "the compute time of stage %zu (its runtime plus those of the "
                            "stages feeding it through zero-byte edges) is %s s, more than "
                            "%g s (about 31 years)",
                            s, weft_fmt_exact(w->lag[s], vs, sizeof vs), WORKLOAD_MAX_TIME_S);
    for (size_t i = 0; !err && i < w->n_sedges; i++) {
        const stage_edge_t *se = &w->sedges[i];
        if (se->coflow == SIZE_MAX)
            continue;
        job_bytes += se->bytes;
        if (se->bytes > WORKLOAD_MAX_BYTES || job_bytes > WORKLOAD_MAX_BYTES) {
            if (se->bytes > WORKLOAD_MAX_BYTES)
                err = weft_fail(WEFT_EINVAL,
                                "coflow %zu (stage %zu -> stage %zu) moves %s bytes, more than "
                                "2^60 bytes (%g, about an exabyte)",
                                se->coflow + 1, se->sa, se->sb,
                                weft_fmt_exact(se->bytes, vs, sizeof vs), WORKLOAD_MAX_BYTES);
            else
                err = weft_fail(WEFT_EINVAL,
                                "coflows 1..%zu move %s bytes in all, more than 2^60 bytes "
                                "(%g, about an exabyte)",
                                se->coflow + 1, weft_fmt_exact(job_bytes, vs, sizeof vs),
                                WORKLOAD_MAX_BYTES);
            break;
        }
        err = coflow_workload_add_coflow(wl, (int64_t)se->coflow + 1, w->lag[se->sa]);
        for (size_t t = se->first; !err && t < se->first + se->n; t++) {
            const task_edge_t *te = &w->tedges[t];
            if (te->bytes > 0)
                err = coflow_workload_add_flow(wl, w->port[te->p], w->port[te->c], te->bytes);
        }
        const uint64_t *fa = w->front + se->sa * words;
        for (size_t c = 0; !err && c < w->n_coflows; c++)
            if (fa[c / 64] >> (c % 64) & 1)
                err = coflow_workload_add_parent(wl, (int64_t)c + 1);
    }
    if (!err)
        err = coflow_workload_finish_job(wl);
    if (err)
        weft_wrap(err, "%s: ", w->path);
    return err;
}

static const char utf8_bom[3] = "\xEF\xBB\xBF";

/* Parses path (or the bytes wl_spooled holds for it) with jansson into
 * *root, after a UTF-8 byte-order mark if the input starts with one (*bom),
 * as the text readers skip it: jansson would take it for a stray
 * character. *root NULL with *jerr filled for a JSON error; EIO naming the
 * file if it cannot be opened or read. */
static weft_err_t load_json(const char *path, json_t **root, bool *bom, json_error_t *jerr)
{
    const char *data;
    size_t len;
    if (wl_spooled(path, &data, &len)) {
        *bom = len >= 3 && !memcmp(data, utf8_bom, 3);
        *root = *bom ? json_loadb(data + 3, len - 3, 0, jerr) : json_loadb(data, len, 0, jerr);
        return WEFT_OK;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return weft_fail(WEFT_EIO, "%s: cannot open: %s", path, strerror(errno));
    char head[3];
    size_t n = fread(head, 1, sizeof head, f);
    *bom = n == 3 && !memcmp(head, utf8_bom, 3);
    if (!*bom)
        rewind(f);
    *root = ferror(f) ? NULL : json_loadf(f, 0, jerr);
    int e = errno;
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        json_decref(*root);
        return weft_fail(WEFT_EIO, "%s: read error: %s", path, strerror(e ? e : EIO));
    }
    return WEFT_OK;
}

weft_err_t workload_read_wfcommons(coflow_workload_t *wl, const char *path,
                                   const workload_read_opts_t *opts)
{
    workload_read_opts_t def;
    workload_read_report_t rep_local, *rep = wl_start_read(wl, &opts, &def, &rep_local);
    if (opts->wf_ports == 0 || opts->wf_ports > UINT32_MAX)
        return weft_fail(WEFT_EINVAL, "%zu ports to place workflow tasks on, expected 1..%u",
                         opts->wf_ports, UINT32_MAX);
    json_error_t jerr;
    bool bom = false;
    json_t *root = NULL;
    weft_err_t err = load_json(path, &root, &bom, &jerr);
    if (err)
        return err;
    if (!root) {
        /* jansson counts columns in characters: the BOM it did not see was
         * one, on line 1 */
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): set by jansson */
        int column = jerr.column + (bom && jerr.line == 1 && jerr.column > 0);
        return weft_fail(WEFT_EPARSE, "%s:%d:%d: expected WfFormat JSON: %s", path, jerr.line,
                         column, jerr.text);
    }
    wf_t w;
    memset(&w, 0, sizeof w);
    w.path = path;
    err = json_is_object(root)
              ? WEFT_OK
              : bad(&w, WEFT_EPARSE, root, "a WfFormat object", "the top level");
    if (!err)
        err = load_tasks(&w, root);
    if (!err)
        err = task_depths(&w);
    if (!err)
        err = build_stages(&w, opts->wf_seed, opts->wf_ports, rep);
    if (!err && w.n_coflows == 0)
        err = weft_fail(WEFT_EINVAL,
                        "%s: the workflow moves no bytes between tasks (no task's output file "
                        "is an input of one of its children), so it has no coflow",
                        path);
    if (!err) {
        wl->n_ports = opts->wf_ports;
        err = emit(wl, &w);
    }
    if (!err)
        err = wl_finish_read(wl, path);
    wf_free(&w);
    json_decref(root);
    if (err)
        return wl_fail_read(wl, err);
    return WEFT_OK;
}
