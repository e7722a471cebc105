/*
 * text.c - weft's own workload format (docs/workload-format.md), reader and
 * writer.
 *
 *   weft-workload 1
 *   ports <n>
 *   job <id> <arrival_s> <weight> <final_compute_s> <n_coflows>
 *   coflow <id> <compute_s> <n_flows> <parent ids comma-separated, or ->
 *   <src> <dst> <bytes>                      (n_flows lines)
 *   end <n_jobs>
 *
 * Blank lines and '#' comments (whole lines, or after a blank at the end of
 * a line) are allowed anywhere. The reader is strict: every count must
 * match what follows, the trailer must be there, job ids must be unique, a
 * job's coflow DAG must be acyclic, and every value must be in range; the
 * first problem fails the read with "file:line: expected..., found ...".
 * The writer prints doubles with %.17g, so write -> read -> write is bit
 * exact.
 */
#include "read_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dag.h"

#define WEFT_FORMAT_VERSION 1

/* Next line that is not blank or a comment: 1, 0 at end of file, or error. */
static int next_content(wl_lines_t *l)
{
    int r;
    while ((r = wl_lines_next(l)) == 1)
        if (!wl_at_eol(l->buf, true))
            return 1;
    return r;
}

/* Matches keyword kw as the first token of p; moves p past it. */
static bool keyword(const char **p, const char *kw)
{
    const char *s = wl_skip_blank(*p);
    size_t n = strlen(kw);
    if (strncmp(s, kw, n) || !(s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == '#'))
        return false;
    *p = s + n;
    return true;
}

static weft_err_t expect_eol(const wl_lines_t *l, const char *p, const char *after)
{
    if (wl_at_eol(p, true))
        return WEFT_OK;
    char found[80];
    wl_describe(l, p, found, sizeof found);
    return weft_fail(WEFT_EPARSE, "%s:%zu: expected end of line after %s, found %s", l->path,
                     l->line, after, found);
}

static weft_err_t unexpected(const wl_lines_t *l, const char *what)
{
    char found[80];
    wl_describe(l, l->buf, found, sizeof found);
    return weft_fail(WEFT_EPARSE, "%s:%zu: expected %s, found %s", l->path, l->line, what,
                     found);
}

/* A time field beyond WORKLOAD_MAX_TIME_S (not finite or negative ones:
 * the model's checks name those). */
static weft_err_t check_time(const wl_lines_t *l, double v, const char *what)
{
    if (!isfinite(v) || v <= WORKLOAD_MAX_TIME_S)
        return WEFT_OK;
    return wl_time_beyond(l, "", what, v);
}

/* Closes the open job that started on line job_line: builder checks
 * (parents exist, flows present), then a cycle check naming the job. */
static weft_err_t close_job(coflow_workload_t *wl, const wl_lines_t *l, size_t job_line,
                            size_t **order, size_t *cap_order)
{
    weft_err_t err = coflow_workload_finish_job(wl);
    if (err)
        return weft_wrap(err, "%s:%zu: ", l->path, job_line);
    size_t j = wl->n_jobs - 1;
    err = weft_grow((void **)order, cap_order, wl->jobs[j].n_coflows, sizeof **order);
    if (!err)
        err = dag_topo_order(wl, j, *order);
    if (err)
        return weft_wrap(err, "%s:%zu: ", l->path, job_line);
    return WEFT_OK;
}

weft_err_t workload_read_weft(coflow_workload_t *wl, const char *path)
{
    coflow_workload_init(wl, 0);
    wl_lines_t l;
    weft_err_t err = wl_lines_open(&l, path);
    if (err)
        return err;
    l.comments = true;
    wl_id_line_t *ids = NULL;
    size_t cap_ids = 0, *order = NULL, cap_order = 0;
    int r;
    const char *p;

    /* header */
    r = next_content(&l);
    if (r <= 0) {
        err = r < 0 ? (weft_err_t)r
                    : weft_fail(WEFT_ETRUNC,
                                "%s:%zu: expected 'weft-workload %d', found an empty file",
                                path, l.line + 1, WEFT_FORMAT_VERSION);
        goto cleanup;
    }
    p = l.buf;
    if (!keyword(&p, "weft-workload")) {
        err = unexpected(&l, "the header 'weft-workload 1'");
        goto cleanup;
    }
    uint64_t version;
    WEFT_CHECK(wl_scan_u64(&l, &p, "a format version after 'weft-workload'", NULL, UINT64_MAX,
                           &version));
    if (version != WEFT_FORMAT_VERSION) {
        err = weft_fail(WEFT_EVERSION,
                        "%s:%zu: weft workload format version %" PRIu64
                        ", but this build of weft reads only version %d",
                        path, l.line, version, WEFT_FORMAT_VERSION);
        goto cleanup;
    }
    WEFT_CHECK(expect_eol(&l, p, "the header"));

    /* ports */
    r = next_content(&l);
    if (r < 0) {
        err = (weft_err_t)r;
        goto cleanup;
    }
    if (r == 0) {
        err = weft_fail(WEFT_ETRUNC, "%s:%zu: expected 'ports <n>', found end of file", path,
                        l.line + 1);
        goto cleanup;
    }
    p = l.buf;
    if (!keyword(&p, "ports")) {
        err = unexpected(&l, "'ports <n>'");
        goto cleanup;
    }
    uint64_t n_ports;
    WEFT_CHECK(wl_scan_u64(&l, &p, "the number of ports", NULL, WORKLOAD_MAX_PORTS, &n_ports));
    if (n_ports == 0) {
        err = weft_fail(WEFT_EINVAL, "%s:%zu: 0 ports, expected at least 1", path, l.line);
        goto cleanup;
    }
    WEFT_CHECK(expect_eol(&l, p, "the number of ports"));
    wl->n_ports = (size_t)n_ports;

    /* jobs */
    bool in_job = false;
    size_t job_line = 0, coflows_left = 0;
    /* the last coflow read: a flow line after its flows is one too many */
    int64_t last_coflow = 0;
    size_t last_coflow_line = 0, last_coflow_flows = 0;
    int64_t job_id = 0;
    double job_bytes = 0;
    for (;;) {
        r = next_content(&l);
        if (r < 0) {
            err = (weft_err_t)r;
            goto cleanup;
        }
        if (r == 0) {
            if (in_job && coflows_left)
                err = weft_fail(WEFT_ETRUNC,
                                "%s:%zu: file ends inside job %lld (line %zu): expected %zu "
                                "more coflows, then 'end <n_jobs>'",
                                path, l.line + 1, (long long)job_id, job_line, coflows_left);
            else
                err = weft_fail(WEFT_ETRUNC,
                                "%s:%zu: expected the trailer 'end <n_jobs>', found end of "
                                "file (is the file truncated?)",
                                path, l.line + 1);
            goto cleanup;
        }
        p = l.buf;
        if (keyword(&p, "coflow")) {
            if (!in_job) {
                err = weft_fail(WEFT_EPARSE,
                                "%s:%zu: expected 'job ...' before the first coflow, found "
                                "'coflow'",
                                path, l.line);
                goto cleanup;
            }
            if (coflows_left == 0) {
                err = weft_fail(WEFT_EPARSE,
                                "%s:%zu: job %lld (line %zu) announces %zu coflows, found "
                                "another one",
                                path, l.line, (long long)job_id, job_line,
                                wl->jobs[wl->n_jobs - 1].n_coflows);
                goto cleanup;
            }
            int64_t id;
            double compute_s;
            uint64_t n_flows;
            WEFT_CHECK(wl_scan_i64(&l, &p, "a coflow id", NULL, &id));
            WEFT_CHECK(wl_scan_double(&l, &p, "a compute time in seconds", NULL, &compute_s));
            WEFT_CHECK(wl_scan_u64(&l, &p, "the number of flows", NULL, SIZE_MAX, &n_flows));
            WEFT_CHECK(check_time(&l, compute_s, "compute time"));
            err = coflow_workload_add_coflow(wl, id, compute_s);
            if (err) {
                weft_wrap(err, "%s:%zu: ", path, l.line);
                goto cleanup;
            }
            p = wl_skip_blank(p);
            if (*p == '-' && (p[1] == '\0' || p[1] == ' ' || p[1] == '\t')) {
                p++;
            } else {
                if (wl_at_eol(p, true)) {
                    err = weft_fail(WEFT_EPARSE,
                                    "%s:%zu: coflow %lld: expected its parent ids "
                                    "(comma-separated, or '-' for none), found end of line",
                                    path, l.line, (long long)id);
                    goto cleanup;
                }
                for (;;) {
                    int64_t parent;
                    WEFT_CHECK(wl_scan_i64(&l, &p, "a parent coflow id (ids comma-separated, "
                                                   "or '-')",
                                           ",", &parent));
                    err = coflow_workload_add_parent(wl, parent);
                    if (err) {
                        weft_wrap(err, "%s:%zu: ", path, l.line);
                        goto cleanup;
                    }
                    if (*p != ',')
                        break;
                    p++;
                    if (*p == ' ' || *p == '\t' || *p == '\0') {
                        err = weft_fail(WEFT_EPARSE,
                                        "%s:%zu: coflow %lld: expected a parent id right after "
                                        "',', found %s",
                                        path, l.line, (long long)id,
                                        *p ? "a blank" : "end of line");
                        goto cleanup;
                    }
                }
            }
            WEFT_CHECK(expect_eol(&l, p, "the parent list"));
            coflows_left--;
            size_t coflow_line = l.line;
            last_coflow = id, last_coflow_line = coflow_line, last_coflow_flows = n_flows;
            double coflow_bytes = 0;
            for (size_t k = 0; k < n_flows; k++) {
                r = next_content(&l);
                if (r < 0) {
                    err = (weft_err_t)r;
                    goto cleanup;
                }
                if (r == 0) {
                    err = weft_fail(WEFT_ETRUNC,
                                    "%s:%zu: file ends inside coflow %lld (line %zu): expected "
                                    "%zu flows '<src> <dst> <bytes>', found %zu",
                                    path, l.line + 1, (long long)id, coflow_line,
                                    (size_t)n_flows, k);
                    goto cleanup;
                }
                p = l.buf;
                const char *s = wl_skip_blank(p);
                if (*s < '0' || *s > '9') {
                    char what[160];
                    snprintf(what, sizeof what,
                             "flow %zu of %zu of coflow %lld (line %zu) '<src> <dst> <bytes>'",
                             k + 1, (size_t)n_flows, (long long)id, coflow_line);
                    err = unexpected(&l, what);
                    goto cleanup;
                }
                uint64_t src, dst;
                double bytes;
                WEFT_CHECK(wl_scan_u64(&l, &p, "a source port", NULL, UINT32_MAX, &src));
                WEFT_CHECK(wl_scan_u64(&l, &p, "a destination port", NULL, UINT32_MAX, &dst));
                WEFT_CHECK(wl_scan_double(&l, &p, "a size in bytes", NULL, &bytes));
                WEFT_CHECK(expect_eol(&l, p, "a flow's bytes"));
                err = coflow_workload_add_flow(wl, (uint32_t)src, (uint32_t)dst, bytes);
                if (err) {
                    weft_wrap(err, "%s:%zu: ", path, l.line);
                    goto cleanup;
                }
                /* bytes is finite here, and the first sum above 2^60 stops
                 * the read, so the sums stay finite */
                coflow_bytes += bytes;
                job_bytes += bytes;
                const char *over = NULL;
                double total = bytes;
                if (bytes > WORKLOAD_MAX_BYTES)
                    over = "a flow of";
                else if ((total = coflow_bytes) > WORKLOAD_MAX_BYTES)
                    over = "the coflow's flows add up to";
                else if ((total = job_bytes) > WORKLOAD_MAX_BYTES)
                    over = "the job's flows add up to";
                if (over) {
                    char ts[WEFT_FMT_LEN];
                    err = weft_fail(WEFT_EINVAL,
                                    "%s:%zu: job %lld coflow %lld: %s %s bytes, more than "
                                    "2^60 bytes (%g, about an exabyte)",
                                    path, l.line, (long long)job_id, (long long)id, over,
                                    weft_fmt_exact(total, ts, sizeof ts), WORKLOAD_MAX_BYTES);
                    goto cleanup;
                }
            }
            continue;
        }
        bool is_job = keyword(&p, "job");
        bool is_end = !is_job && keyword(&p, "end");
        if (!is_job && !is_end) {
            const char *s = wl_skip_blank(l.buf);
            if (last_coflow_line && *s >= '0' && *s <= '9') { /* flows past the count */
                char found[80];
                wl_describe(&l, l.buf, found, sizeof found);
                err = weft_fail(WEFT_EPARSE, "%s:%zu: a flow line after the %zu flows coflow "
                                "%lld (line %zu) announces: expected %s, found %s", path,
                                l.line, last_coflow_flows, (long long)last_coflow,
                                last_coflow_line,
                                in_job && coflows_left ? "'coflow ...'"
                                                       : "'job ...', 'coflow ...' or 'end'",
                                found);
            } else
                err = unexpected(&l, in_job && coflows_left ? "'coflow ...'"
                                                            : "'job ...', 'coflow ...' or 'end'");
            goto cleanup;
        }
        if (in_job) {
            if (coflows_left) {
                err = weft_fail(WEFT_EPARSE,
                                "%s:%zu: job %lld (line %zu) announces %zu coflows, found %zu "
                                "before '%s'",
                                path, l.line, (long long)job_id, job_line,
                                wl->jobs[wl->n_jobs - 1].n_coflows + coflows_left,
                                wl->jobs[wl->n_jobs - 1].n_coflows, is_job ? "job" : "end");
                goto cleanup;
            }
            WEFT_CHECK(close_job(wl, &l, job_line, &order, &cap_order));
            in_job = false;
        }
        if (is_end) {
            uint64_t n_jobs;
            WEFT_CHECK(wl_scan_u64(&l, &p, "the number of jobs after 'end'", NULL, SIZE_MAX,
                                   &n_jobs));
            WEFT_CHECK(expect_eol(&l, p, "the number of jobs"));
            if (n_jobs != wl->n_jobs) {
                err = weft_fail(WEFT_EPARSE,
                                "%s:%zu: the trailer says %zu jobs, but the file has %zu", path,
                                l.line, (size_t)n_jobs, wl->n_jobs);
                goto cleanup;
            }
            break;
        }
        uint64_t n_coflows;
        double arrival_s, weight, final_s;
        WEFT_CHECK(wl_scan_i64(&l, &p, "a job id", NULL, &job_id));
        WEFT_CHECK(wl_scan_double(&l, &p, "an arrival time in seconds", NULL, &arrival_s));
        WEFT_CHECK(wl_scan_double(&l, &p, "a weight", NULL, &weight));
        WEFT_CHECK(wl_scan_double(&l, &p, "a final compute time in seconds", NULL, &final_s));
        WEFT_CHECK(wl_scan_u64(&l, &p, "the number of coflows", NULL, SIZE_MAX, &n_coflows));
        WEFT_CHECK(expect_eol(&l, p, "the number of coflows"));
        WEFT_CHECK(check_time(&l, arrival_s, "arrival time"));
        WEFT_CHECK(check_time(&l, final_s, "final compute time"));
        if (n_coflows == 0) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: job %lld has 0 coflows, expected at least 1",
                            path, l.line, (long long)job_id);
            goto cleanup;
        }
        err = coflow_workload_add_job(wl, job_id, arrival_s, weight, final_s);
        if (err) {
            weft_wrap(err, "%s:%zu: ", path, l.line);
            goto cleanup;
        }
        WEFT_CHECK(weft_grow((void **)&ids, &cap_ids, wl->n_jobs, sizeof *ids));
        ids[wl->n_jobs - 1] = (wl_id_line_t){.id = job_id, .line = l.line};
        in_job = true;
        job_line = l.line;
        job_bytes = 0;
        coflows_left = (size_t)n_coflows;
    }
    while ((r = next_content(&l)) == 1) {
        err = unexpected(&l, "nothing after the trailer 'end'");
        goto cleanup;
    }
    if (r < 0) {
        err = (weft_err_t)r;
        goto cleanup;
    }
    err = wl_check_unique_ids(ids, wl->n_jobs, path, "job");
    if (err)
        goto cleanup;
    err = wl_finish_read(wl);
    if (err)
        weft_wrap(err, "%s: ", path);

cleanup:
    if (err)
        err = wl_hint_cut(&l, err);
    free(ids);
    free(order);
    wl_lines_close(&l);
    if (err)
        return wl_fail_read(wl, err);
    return WEFT_OK;
}

/* ---------------------------------------------------------- writer */

weft_err_t workload_write_weft(const coflow_workload_t *wl, FILE *out)
{
    if (wl->job_open)
        return weft_fail(WEFT_EINTERNAL, "cannot write a workload whose last job is still open");
    fprintf(out, "weft-workload %d\n", WEFT_FORMAT_VERSION);
    fprintf(out, "# %zu jobs, %zu coflows, %zu flows; format: docs/workload-format.md\n",
            wl->n_jobs, wl->n_coflows, wl->n_flows);
    fprintf(out, "ports %zu\n", wl->n_ports);
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        fprintf(out, "job %lld %.17g %.17g %.17g %zu\n", (long long)job->id, job->arrival_s,
                job->weight, job->final_compute_s, job->n_coflows);
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
            const coflow_coflow_t *co = &wl->coflows[c];
            fprintf(out, "coflow %lld %.17g %zu ", (long long)co->id, co->compute_s,
                    co->n_flows);
            if (co->n_parents == 0)
                fputc('-', out);
            for (size_t k = 0; k < co->n_parents; k++)
                fprintf(out, "%s%lld", k ? "," : "",
                        (long long)wl->coflows[wl->parents[co->first_parent + k]].id);
            fputc('\n', out);
            const coflow_flow_t *f = &wl->flows[co->first_flow];
            for (size_t i = 0; i < co->n_flows; i++)
                fprintf(out, "%" PRIu32 " %" PRIu32 " %.17g\n", f[i].src, f[i].dst, f[i].bytes);
        }
        if (ferror(out))
            break;
    }
    fprintf(out, "end %zu\n", wl->n_jobs);
    if (fflush(out) || ferror(out))
        return weft_fail(WEFT_EIO, "writing the workload failed: %s", strerror(errno ? errno : EIO));
    return WEFT_OK;
}

weft_err_t workload_save_weft(const coflow_workload_t *wl, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return weft_fail(WEFT_EIO, "%s: cannot create: %s", path, strerror(errno));
    weft_err_t err = workload_write_weft(wl, f);
    if (fclose(f) && !err)
        err = weft_fail(WEFT_EIO, "%s: closing failed: %s", path, strerror(errno));
    if (err)
        return weft_wrap(err, "%s: ", path);
    return WEFT_OK;
}
