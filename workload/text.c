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
 * exact, and refuses a workload the reader would refuse (a time, a size,
 * a port count beyond the format's limits, a job id twice).
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

/* Which of the format's limits on sizes a flow of `bytes` passes, given
 * the sums of its coflow's and its job's flows up to and including it:
 * "a flow of", "the coflow's flows add up to", "the job's flows add up
 * to" (the size that passes it into *total), or NULL. The reader refuses
 * what the writer refuses to write, in the same order. */
static const char *bytes_over(double bytes, double coflow_bytes, double job_bytes,
                              double *total)
{
    *total = bytes;
    if (bytes > WORKLOAD_MAX_BYTES)
        return "a flow of";
    if ((*total = coflow_bytes) > WORKLOAD_MAX_BYTES)
        return "the coflow's flows add up to";
    if ((*total = job_bytes) > WORKLOAD_MAX_BYTES)
        return "the job's flows add up to";
    return NULL;
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
            if (n_flows == 0) { /* here, on its line, not at the job's end */
                err = weft_fail(WEFT_EINVAL,
                                "%s:%zu: coflow %lld has no flows, expected at least 1", path,
                                l.line, (long long)id);
                goto cleanup;
            }
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
                double total;
                const char *over = bytes_over(bytes, coflow_bytes, job_bytes, &total);
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
    err = wl_finish_read(wl, path);

cleanup:
    free(ids);
    free(order);
    return wl_end_lines_read(&l, wl, err);
}

/* ---------------------------------------------------------- writer */

/* A time the reader would refuse (beyond WORKLOAD_MAX_TIME_S), named. */
static weft_err_t check_time_writable(long long job, const char *what, double v)
{
    if (v <= WORKLOAD_MAX_TIME_S)
        return WEFT_OK;
    char vs[WEFT_FMT_LEN];
    return weft_fail(WEFT_EINVAL, "cannot write job %lld in weft's format: %s %s s is beyond "
                     "its limit of %g s", job, what, weft_fmt_exact(v, vs, sizeof vs),
                     WORKLOAD_MAX_TIME_S);
}

/* What the model holds but the reader refuses (a fabric outside
 * 1..WORKLOAD_MAX_PORTS, a time beyond WORKLOAD_MAX_TIME_S, sizes beyond
 * WORKLOAD_MAX_BYTES, a job id twice): a library caller can build such a
 * workload, and writing it would make a file that does not read back.
 * Checked before a byte is written, so standard output gets nothing. */
static weft_err_t check_writable(const coflow_workload_t *wl)
{
    if (wl->n_ports == 0 || wl->n_ports > WORKLOAD_MAX_PORTS)
        return weft_fail(WEFT_EINVAL, "cannot write a workload of %zu ports in weft's format: "
                         "expected 1..%zu", wl->n_ports, WORKLOAD_MAX_PORTS);
    weft_err_t err = WEFT_OK;
    wl_id_line_t *ids = weft_calloc(wl->n_jobs, sizeof *ids);
    if (!ids)
        return weft_fail(WEFT_ENOMEM, "out of memory checking %zu job ids", wl->n_jobs);
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        long long id = (long long)job->id;
        ids[j] = (wl_id_line_t){.id = job->id, .line = j + 1};
        WEFT_CHECK(check_time_writable(id, "arrival time", job->arrival_s));
        WEFT_CHECK(check_time_writable(id, "final compute time", job->final_compute_s));
        double job_bytes = 0;
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
            const coflow_coflow_t *co = &wl->coflows[c];
            WEFT_CHECK(check_time_writable(id, "a coflow's compute time", co->compute_s));
            double coflow_bytes = 0, total;
            for (size_t i = co->first_flow; i < co->first_flow + co->n_flows; i++) {
                double bytes = wl->flows[i].bytes;
                coflow_bytes += bytes;
                job_bytes += bytes;
                const char *over = bytes_over(bytes, coflow_bytes, job_bytes, &total);
                if (over) {
                    char ts[WEFT_FMT_LEN];
                    err = weft_fail(WEFT_EINVAL, "cannot write job %lld coflow %lld in weft's "
                                    "format: %s %s bytes, more than its limit of 2^60",
                                    id, (long long)co->id, over,
                                    weft_fmt_exact(total, ts, sizeof ts));
                    goto cleanup;
                }
            }
        }
    }
    size_t i = wl_first_repeat(ids, wl->n_jobs);
    if (i)
        err = weft_fail(WEFT_EINVAL, "cannot write the workload in weft's format: job id %lld "
                        "appears twice (jobs %zu and %zu, counting from 1), and the reader "
                        "takes job ids as unique", (long long)ids[i].id, ids[i - 1].line,
                        ids[i].line);
cleanup:
    free(ids);
    return err;
}

weft_err_t workload_write_weft(const coflow_workload_t *wl, FILE *out)
{
    if (wl->job_open)
        return weft_fail(WEFT_EINTERNAL, "cannot write a workload whose last job is still open");
    weft_err_t err = check_writable(wl);
    if (err)
        return err;
    locale_t prev = weft_c_numbers_begin(); /* "1.5" in every locale, as the reader's */
    fprintf(out, "weft-workload %d\n", WEFT_FORMAT_VERSION);
    /* one of a thing in the singular, as weft's summaries say it (cli_plural,
       which this module does not reach); a comment, so files written
       before with "1 jobs" read the same */
    fprintf(out, "# %zu job%s, %zu coflow%s, %zu flow%s; format: docs/workload-format.md\n",
            wl->n_jobs, wl->n_jobs == 1 ? "" : "s", wl->n_coflows, wl->n_coflows == 1 ? "" : "s",
            wl->n_flows, wl->n_flows == 1 ? "" : "s");
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
    weft_c_numbers_end(prev);
    if (fflush(out) || ferror(out))
        return weft_fail(WEFT_EIO, "writing the workload failed: %s",
                         strerror(errno ? errno : EIO));
    return WEFT_OK;
}

static weft_err_t write_weft_into(FILE *f, const void *wl)
{
    return workload_write_weft(wl, f);
}

weft_err_t workload_save_weft(const coflow_workload_t *wl, const char *path)
{
    /* through FILE.tmp, so a failed write leaves FILE as it was */
    return weft_save_file(path, write_weft_into, wl);
}
