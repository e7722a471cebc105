/*
 * test_workload.c - the workload readers and weft's text format: every
 * reader on the real traces (counts and bytes checked against independent
 * computations from the raw files, hand-checked DAGs), every error a user
 * can cause (with its file:line message), exact round trips, and a failed
 * read always leaving the workload empty.
 *
 * Run from the repository root (data/ is read relative to it); temporary
 * inputs are written with mkstemps() and removed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "comma_locale.h"
#include "dag/dag.h"
#include "workload/workload.h"

#define FB_PATH "data/FB2010-1Hr-150-0.txt"
#define ALI_PATH "data/alibaba/sample_tasks.csv"
#define WF_DIR "data/wfcommons"
#define WF_SHARED_DIR "../shared/data/wfcommons"

/* ------------------------------------------------------------ helpers */

/* Writes text to a fresh temporary file ending in suffix; returns its path
 * (static buffer per call site is not enough: callers strdup if needed). */
static char *temp_file_n(const char *text, size_t n, const char *suffix)
{
    char *path = malloc(64);
    cr_assert_not_null(path);
    snprintf(path, 64, "/tmp/weft-test-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    cr_assert(fd >= 0, "mkstemps failed");
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static char *temp_file(const char *text, const char *suffix)
{
    return temp_file_n(text, strlen(text), suffix);
}

static void assert_empty(const coflow_workload_t *wl)
{
    cr_assert_eq(wl->n_jobs, 0);
    cr_assert_eq(wl->n_coflows, 0);
    cr_assert_eq(wl->n_flows, 0);
    cr_assert_eq(wl->n_parents, 0);
    cr_assert_null(wl->jobs);
    cr_assert_null(wl->coflows);
    cr_assert_null(wl->flows);
    cr_assert_eq(wl->n_ports, 0);
}

/* Reads text (written to a temp file) in fmt; asserts the error code, that
 * the message starts with "<path>:<line>:" when line > 0, that it contains
 * every one of the NULL-terminated substrings, and that *wl is left empty. */
static void expect_fail_va(const char *text, size_t len, const char *suffix,
                           workload_format_t fmt, const workload_read_opts_t *opts,
                           weft_err_t want, int line, va_list ap)
{
    char *path = temp_file_n(text, len, suffix);
    coflow_workload_t wl;
    weft_err_t err = workload_read(&wl, path, fmt, opts);
    const char *msg = weft_last_error();
    cr_assert_eq(err, want, "expected %s, got %s: %s", weft_strerror(want), weft_strerror(err),
                 msg);
    if (line > 0) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
        cr_assert(strncmp(msg, prefix, strlen(prefix)) == 0, "message '%s' should start with '%s'",
                  msg, prefix);
    }
    for (const char *s; (s = va_arg(ap, const char *));)
        cr_assert(strstr(msg, s), "message '%s' should contain '%s'", msg, s);
    assert_empty(&wl);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

static void expect_fail_text(const char *text, const char *suffix, workload_format_t fmt,
                             const workload_read_opts_t *opts, weft_err_t want, int line, ...)
{
    va_list ap;
    va_start(ap, line);
    expect_fail_va(text, strlen(text), suffix, fmt, opts, want, line, ap);
    va_end(ap);
}

/* The same for len bytes that may hold NULs. */
static void expect_fail_bytes(const char *text, size_t len, const char *suffix,
                              workload_format_t fmt, const workload_read_opts_t *opts,
                              weft_err_t want, int line, ...)
{
    va_list ap;
    va_start(ap, line);
    expect_fail_va(text, len, suffix, fmt, opts, want, line, ap);
    va_end(ap);
}

/* Reads text (written to a temp file) in fmt and asserts it reads; returns
 * the number of jobs. */
static size_t expect_read_text(const char *text, const char *suffix, workload_format_t fmt,
                               const workload_read_opts_t *opts)
{
    char *path = temp_file(text, suffix);
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, fmt, opts), WEFT_OK, "%s", weft_last_error());
    size_t n = wl.n_jobs;
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Every input field (and the derived ones) of a and b is identical. */
static void assert_same_workload(const coflow_workload_t *a, const coflow_workload_t *b)
{
    cr_assert_eq(a->n_ports, b->n_ports);
    cr_assert_eq(a->n_jobs, b->n_jobs);
    cr_assert_eq(a->n_coflows, b->n_coflows);
    cr_assert_eq(a->n_flows, b->n_flows);
    cr_assert_eq(a->n_parents, b->n_parents);
    if (a->n_flows)
        cr_assert_eq(memcmp(a->flows, b->flows, a->n_flows * sizeof *a->flows), 0);
    if (a->n_parents)
        cr_assert_eq(memcmp(a->parents, b->parents, a->n_parents * sizeof *a->parents), 0);
    for (size_t j = 0; j < a->n_jobs; j++) {
        const coflow_job_t *x = &a->jobs[j], *y = &b->jobs[j];
        cr_assert_eq(x->id, y->id);
        cr_assert_eq(memcmp(&x->arrival_s, &y->arrival_s, sizeof(double)), 0);
        cr_assert_eq(memcmp(&x->weight, &y->weight, sizeof(double)), 0);
        cr_assert_eq(memcmp(&x->final_compute_s, &y->final_compute_s, sizeof(double)), 0);
        cr_assert_eq(x->first_coflow, y->first_coflow);
        cr_assert_eq(x->n_coflows, y->n_coflows);
        cr_assert_eq(x->depth, y->depth);
        cr_assert_eq(memcmp(&x->lower_bound_s, &y->lower_bound_s, sizeof(double)), 0);
    }
    for (size_t c = 0; c < a->n_coflows; c++) {
        const coflow_coflow_t *x = &a->coflows[c], *y = &b->coflows[c];
        cr_assert_eq(x->id, y->id);
        cr_assert_eq(x->job, y->job);
        cr_assert_eq(x->first_flow, y->first_flow);
        cr_assert_eq(x->n_flows, y->n_flows);
        cr_assert_eq(x->first_parent, y->first_parent);
        cr_assert_eq(x->n_parents, y->n_parents);
        cr_assert_eq(memcmp(&x->compute_s, &y->compute_s, sizeof(double)), 0);
        cr_assert_eq(memcmp(&x->total_bytes, &y->total_bytes, sizeof(double)), 0);
        cr_assert_eq(x->wave, y->wave);
        cr_assert_eq(memcmp(&x->cp_below_s, &y->cp_below_s, sizeof(double)), 0);
    }
}

/* read -> write -> read -> write: the two texts are byte-identical and the
 * two workloads identical. */
static void round_trip(const coflow_workload_t *wl)
{
    char *p1 = temp_file("", ".weft"), *p2 = temp_file("", ".weft");
    cr_assert_eq(workload_save_weft(wl, p1), WEFT_OK, "%s", weft_last_error());
    coflow_workload_t back;
    cr_assert_eq(workload_read(&back, p1, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    assert_same_workload(wl, &back);
    cr_assert_eq(workload_save_weft(&back, p2), WEFT_OK, "%s", weft_last_error());
    size_t n1, n2;
    char *t1 = slurp(p1, &n1), *t2 = slurp(p2, &n2);
    cr_assert_eq(n1, n2);
    cr_assert_eq(memcmp(t1, t2, n1), 0, "the second write differs from the first");
    free(t1);
    free(t2);
    coflow_workload_destroy(&back);
    unlink(p1);
    unlink(p2);
    free(p1);
    free(p2);
}

static size_t coflow_by_id(const coflow_workload_t *wl, size_t j, int64_t id)
{
    const coflow_job_t *job = &wl->jobs[j];
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
        if (wl->coflows[c].id == id)
            return c;
    cr_assert_fail("job %lld has no coflow %lld", (long long)job->id, (long long)id);
    return SIZE_MAX;
}

/* The parent ids of coflow c, sorted, written into out; returns how many. */
static size_t parent_ids(const coflow_workload_t *wl, size_t c, int64_t *out, size_t max)
{
    const coflow_coflow_t *co = &wl->coflows[c];
    cr_assert(co->n_parents <= max);
    for (size_t k = 0; k < co->n_parents; k++)
        out[k] = wl->coflows[wl->parents[co->first_parent + k]].id;
    for (size_t i = 1; i < co->n_parents; i++)
        for (size_t k = i; k > 0 && out[k - 1] > out[k]; k--) {
            int64_t t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return co->n_parents;
}

/* Every parent of every coflow is in its own job and on an earlier wave. */
static void assert_dag_order(const coflow_workload_t *wl)
{
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t k = 0; k < co->n_parents; k++) {
            size_t p = wl->parents[co->first_parent + k];
            cr_assert_eq(wl->coflows[p].job, co->job);
            cr_assert_lt(wl->coflows[p].wave, co->wave);
        }
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            cr_assert_lt(wl->flows[f].src, wl->n_ports);
            cr_assert_lt(wl->flows[f].dst, wl->n_ports);
            cr_assert(wl->flows[f].bytes > 0);
        }
    }
}

/* ------------------------------------------------------------ FB */

TestSuite(workload_fb, .timeout = 60);

Test(workload_fb, real_trace_counts_and_bytes)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, FB_PATH, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_ports, 150);
    cr_assert_eq(wl.n_jobs, 526);
    cr_assert_eq(wl.n_coflows, 526);
    cr_assert_eq(wl.n_flows, 706397);
    cr_assert_eq(wl.n_parents, 0);

    /* Independently from the raw text: per reducer, MB * 2^20 split over the
     * mappers (summed in the reader's flow order, so equal bit for bit), and
     * the plain sum of MB * 2^20 (equal to rounding). */
    FILE *f = fopen(FB_PATH, "r");
    cr_assert_not_null(f);
    int ports, n;
    cr_assert_eq(fscanf(f, "%d %d", &ports, &n), 2);
    double split_sum = 0, plain_sum = 0;
    size_t flows = 0;
    for (int i = 0; i < n; i++) {
        long long id;
        double ms;
        int m, r;
        cr_assert_eq(fscanf(f, "%lld %lf %d", &id, &ms, &m), 3);
        for (int k = 0; k < m; k++) {
            int port;
            cr_assert_eq(fscanf(f, "%d", &port), 1);
        }
        cr_assert_eq(fscanf(f, "%d", &r), 1);
        for (int k = 0; k < r; k++) {
            int port;
            double mb;
            cr_assert_eq(fscanf(f, "%d:%lf", &port, &mb), 2);
            plain_sum += mb * 1048576.0;
            for (int q = 0; q < m; q++)
                split_sum += mb * 1048576.0 / m;
            flows += (size_t)m;
        }
        size_t j = (size_t)i;
        cr_assert_eq(wl.jobs[j].id, id);
        cr_assert_eq(wl.coflows[j].id, id);
        cr_assert_eq(wl.jobs[j].arrival_s, ms / 1000.0);
        cr_assert_eq(wl.coflows[j].n_flows, (size_t)m * (size_t)r);
    }
    fclose(f);
    cr_assert_eq(flows, 706397);
    double total = coflow_workload_total_bytes(&wl);
    cr_assert_eq(total, split_sum, "total %.17g, expected %.17g", total, split_sum);
    cr_assert(fabs(total - plain_sum) <= 1e-12 * plain_sum);
    cr_assert(fabs(total - 35533534.0 * 1048576.0) <= 1e-12 * total); /* awk over the file */

    /* line 2: "1 0 1 22 1 65:1.0"; line 3: "2 10833 2 104 132 1 140:48.0" */
    cr_assert_eq(wl.jobs[0].weight, 1.0);
    cr_assert_eq(wl.jobs[0].final_compute_s, 0.0);
    cr_assert_eq(wl.coflows[0].compute_s, 0.0);
    cr_assert_eq(wl.flows[0].src, 22);
    cr_assert_eq(wl.flows[0].dst, 65);
    cr_assert_eq(wl.flows[0].bytes, 1048576.0);
    cr_assert_eq(wl.jobs[1].arrival_s, 10.833);
    const coflow_flow_t *f2 = &wl.flows[wl.coflows[1].first_flow];
    cr_assert_eq(f2[0].src, 104);
    cr_assert_eq(f2[1].src, 132);
    cr_assert_eq(f2[0].dst, 140);
    cr_assert_eq(f2[0].bytes, 24.0 * 1048576.0);
    cr_assert_eq(f2[1].bytes, 24.0 * 1048576.0);
    /* derived fields are filled (dag_analyze ran): iso of coflow 2 is
     * 48 MiB into port 140 at 1 Gbit/s */
    cr_assert_float_eq(wl.coflows[1].iso_s, 48.0 * 1048576.0 / WEFT_GBPS_BYTES, 1e-12);
    cr_assert_eq(wl.coflows[1].n_senders, 2);
    cr_assert_eq(wl.coflows[1].n_receivers, 1);
    coflow_workload_destroy(&wl);
}

Test(workload_fb, mb_bytes_option)
{
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    o.fb_mb_bytes = 1e6;
    coflow_workload_t wl;
    cr_assert_eq(workload_read_fb(&wl, FB_PATH, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.flows[0].bytes, 1e6);
    cr_assert(fabs(coflow_workload_total_bytes(&wl) - 35533534.0 * 1e6) <= 1e-9 * 35533534e6);
    coflow_workload_destroy(&wl);
}

Test(workload_fb, fewer_coflows_than_header)
{
    expect_fail_text("4 3\n1 0 1 0 1 1:1.0\n2 5 1 2 1 3:2.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_ETRUNC, 4, "announces 3 coflows", "ends after 2", NULL);
}

Test(workload_fb, line_cut_mid_reducers)
{
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 2 0 1 3 1:2.0 2:", ".txt", WORKLOAD_FORMAT_FB,
                     NULL, WEFT_ETRUNC, 3, "coflow 2", "right after ':', found end of line", NULL);
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 2 0 1 3 1:2.0 2:1", ".txt", WORKLOAD_FORMAT_FB,
                     NULL, WEFT_ETRUNC, 3, "coflow 2: expected 3 reducers 'port:MB'",
                     "found end of line after 2", NULL);
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 3 0 1\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_ETRUNC, 3, "expected 3 mapper ports, found end of line after 2", NULL);
}

Test(workload_fb, garbage_and_ranges)
{
    expect_fail_text("4 1\n1 0 1 0x 1 1:1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                     "expected a mapper port, found '0x'", NULL);
    expect_fail_text("4 1\n1 zero 1 0 1 1:1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE,
                     2, "expected an arrival time in ms, found 'zero'", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1;1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                     "expected a reducer 'port:MB', found '1;1.0'", NULL);
    expect_fail_text("4 1\n1 0 1 7 1 1:1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "mapper port 7 is outside the fabric (ports 0..3)", NULL);
    expect_fail_text("4 1\n1 0 1 4 1 1:1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "mapper port 4 is outside the fabric (ports 0..3)", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 4:1.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "reducer port 4 is outside the fabric", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:0.0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "receives 0 MB, expected a finite number > 0", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:-3\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "receives -3 MB", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:nan\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "receives nan MB", NULL);
    expect_fail_text("4 1\n1 -5 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "coflow 1 arrives at -5 ms, expected a finite number of ms >= 0", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:1 junk\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE,
                     2, "expected end of line after 1 reducers, found 'junk'", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:1\n2 0 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_EPARSE, 3, "expected end of file after the 1 coflows", NULL);
    expect_fail_text("4 1\n1 0 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "0 mappers", NULL);
    expect_fail_text("4 1\n1 0 1 0 0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 2,
                     "coflow 1 has 0 reducers, expected at least 1", NULL);
    expect_fail_text("4 3\n1 0 1 0 1 1:1\n2 0 1 0 1 1:1\n1 5 1 0 1 1:1\n", ".txt",
                     WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 4,
                     "coflow id 1 appears twice (lines 2 and 4)", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                     "coflow 1: expected ':' right after reducer port 1, found end of line", NULL);
    /* a blank before the ':' is named, not the ':1' past it (which read as
       if the ':' it expected were there) */
    expect_fail_text("4 1\n1 0 1 0 1 2 :1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE,
                     2, "coflow 1: expected ':' right after reducer port 2, found a blank",
                     NULL);
    expect_fail_text("four 1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 1,
                     "expected the number of ports", "found 'four'", NULL);
    expect_fail_text("", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_ETRUNC, 1, "empty file", NULL);
    /* a mapper count the line cannot hold is refused before any allocation */
    expect_fail_text("4 1\n1 0 99999999999 0\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_ETRUNC,
                     2, "announces 99999999999 mappers", NULL);
}

Test(workload_fb, missing_file)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, "/nonexistent/weft.txt", WORKLOAD_FORMAT_FB, NULL),
                 WEFT_EIO);
    cr_assert(strstr(weft_last_error(), "/nonexistent/weft.txt: cannot open"));
    assert_empty(&wl);
    coflow_workload_destroy(&wl);
}

Test(workload_fb, round_trip_is_exact)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, FB_PATH, WORKLOAD_FORMAT_FB, NULL), WEFT_OK, "%s",
                 weft_last_error());
    round_trip(&wl);
    coflow_workload_destroy(&wl);
}

/* ------------------------------------------------------------ weft text */

TestSuite(workload_text, .timeout = 60);

/* The diamond of test_dag.c, with comments, blank lines, ids out of order
 * and a parent listed before it is defined. */
static const char *diamond =
    "# a hand-written workload\n"
    "weft-workload 1\n"
    "\n"
    "ports 3   # three ports\n"
    "job 7 1.5 2 0.5 4\n"
    "coflow 1 0 2 -\n"
    "0 1 4\n"
    "# comment between flows\n"
    "0 2 2\n"
    "coflow 4 2 1 2,3\n"
    "0 0 1\n"
    "coflow 2 1 1 1\n"
    "1 2 3\n"
    "coflow 3 0 1 1\n"
    "2 0 5\n"
    "job 8 0 1 0 1\n"
    "coflow 1 0.25 1 -\n"
    "2 1 1e3\n"
    "end 2\n"
    "# trailing comment\n";

Test(workload_text, reads_a_hand_written_file)
{
    char *path = temp_file(diamond, ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_ports, 3);
    cr_assert_eq(wl.n_jobs, 2);
    cr_assert_eq(wl.n_coflows, 5);
    cr_assert_eq(wl.n_flows, 6);
    cr_assert_eq(wl.jobs[0].id, 7);
    cr_assert_eq(wl.jobs[0].arrival_s, 1.5);
    cr_assert_eq(wl.jobs[0].weight, 2.0);
    cr_assert_eq(wl.jobs[0].final_compute_s, 0.5);
    cr_assert_eq(wl.jobs[0].depth, 3);
    int64_t ids[4];
    size_t d = coflow_by_id(&wl, 0, 4);
    cr_assert_eq(parent_ids(&wl, d, ids, 4), 2);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 3);
    cr_assert_eq(wl.coflows[d].compute_s, 2.0);
    cr_assert_eq(wl.coflows[d].wave, 2);
    cr_assert_eq(wl.jobs[1].n_coflows, 1);
    cr_assert_eq(wl.flows[5].bytes, 1000.0);
    cr_assert_eq(wl.coflows[4].compute_s, 0.25);
    assert_dag_order(&wl);
    round_trip(&wl);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* "-0" passes the ">= 0" checks of a time, and was kept and written back
 * as -0; it reads as 0, in weft's format and in Alibaba's. */
Test(workload_text, negative_zero_times_read_as_zero)
{
    char *path = temp_file("weft-workload 1\nports 2\njob 1 -0 1 -0.0 1\ncoflow 1 -0 1 -\n"
                           "0 1 5\nend 1\n",
                           ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(!signbit(wl.jobs[0].arrival_s) && !signbit(wl.jobs[0].final_compute_s) &&
              !signbit(wl.coflows[0].compute_s));
    cr_assert_eq(workload_save_weft(&wl, path), WEFT_OK, "%s", weft_last_error());
    size_t n;
    char *text = slurp(path, &n);
    cr_assert(strstr(text, "\njob 1 0 1 0 1\ncoflow 1 0 1 -\n"), "%s", text);
    free(text);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);

    path = temp_file("-0,j_1,M1,-0,,,2\n", ".csv");
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(!signbit(wl.jobs[0].arrival_s) && !signbit(wl.coflows[0].compute_s));
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* The report is zeroed for every format: weft's own never repairs, so a
 * caller's stale or uninitialised report must read as all zero after it. */
Test(workload_text, report_is_zeroed)
{
    char *path = temp_file(diamond, ".weft");
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    memset(&rep, 0xA5, sizeof rep);
    o.report = &rep;
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    workload_read_report_t zero;
    memset(&zero, 0, sizeof zero);
    cr_assert(!memcmp(&rep, &zero, sizeof rep), "the report was left as the caller's bytes");
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

Test(workload_text, wrong_version)
{
    expect_fail_text("weft-workload 2\nports 1\nend 0\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EVERSION, 1, "version 2", "reads only version 1", NULL);
    expect_fail_text("weft-workload one\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 1,
                     "expected a format version", "found 'one'", NULL);
    expect_fail_text("weft-work 1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 1,
                     "expected the header 'weft-workload 1'", NULL);
}

Test(workload_text, missing_end_is_truncation)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_ETRUNC, 6,
                     "expected the trailer 'end <n_jobs>', found end of file", NULL);
    /* cut inside a coflow's flows */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 3 -\n0 1 5\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_ETRUNC, 6,
                     "file ends inside coflow 1 (line 4): expected 3 flows", "found 1", NULL);
    /* cut between coflows of a job */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 2\ncoflow 1 0 1 -\n0 1 5\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_ETRUNC, 6,
                     "file ends inside job 1 (line 3): expected 1 more coflows", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nend 2\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "the trailer says 2 jobs, but the file has 1", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nend 0\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "the trailer says 0 jobs, but the file has 1", NULL);
    expect_fail_text("weft-workload 1\nports 2\nend 0\njob 1 0 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     "expected nothing after the trailer 'end'", NULL);
}

Test(workload_text, counts_must_match)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 2\ncoflow 1 0 1 -\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "job 1 (line 3) announces 2 coflows, found 1 before 'end'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n"
                     "coflow 2 0 1 -\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "announces 1 coflows, found another one", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n0 1 5\n"
                     "end 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "expected 'job ...', 'coflow ...' or 'end', found '0'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 2 -\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "expected flow 2 of 2 of coflow 1 (line 4)", "found 'end'", NULL);
    /* a coflow of 0 flows is refused on its own line, followed by flow lines or not */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 0 -\nend 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 4,
                     "coflow 1 has no flows, expected at least 1", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 0 -\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 4,
                     "coflow 1 has no flows, expected at least 1", NULL);
}

Test(workload_text, garbage_number)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5x\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 5,
                     "expected a size in bytes, found '5x'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob one 0 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 3,
                     "expected a job id, found 'one'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 1,x\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     "expected a parent coflow id", "found 'x'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     "expected its parent ids", "found end of line", NULL);
    /* a comment where the parents go ends the line as well */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 # none\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     "expected its parent ids", "found end of line", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n-1 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 5,
                     "expected flow 1 of 1 of coflow 1", "found '-1'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n"
                     "0 99999999999 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 5,
                     "expected a destination port (at most 4294967295)", NULL);
    expect_fail_text("weft-workload 1\nport 2\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 2, "expected 'ports <n>', found 'port'", NULL);
}

Test(workload_text, port_outside_fabric)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 2 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 5,
                     "job 1 coflow 1: flow 0->2 uses port 2 outside the fabric (ports 0..1)",
                     NULL);
}

Test(workload_text, bad_sizes)
{
    /* 1e-310: a size so small that its rates overflowed to infinity */
    const char *sizes[] = {"0", "-5", "nan", "inf", "1e-310"};
    const char *shown[] = {"size 0 bytes", "size -5 bytes", "size nan bytes", "size inf bytes",
                           "size 1e-310 bytes"};
    for (size_t i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 %s\nend 1\n",
                 sizes[i]);
        expect_fail_text(text, ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 5, shown[i],
                         "expected a finite number >= 1e-200", NULL);
    }
}

Test(workload_text, bad_weights_and_times)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 0 0 1\n", ".weft", WORKLOAD_FORMAT_WEFT,
                     NULL, WEFT_EINVAL, 3, "job 1: weight 0, expected a finite number > 0",
                     NULL);
    /* a weight whose weighted JCTs overflowed the summary to inf */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1e308 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "job 1: weight 1e+308, expected at most 1e+15", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 -2 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3, "job 1: weight -2", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 nan 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3, "job 1: weight nan", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 -1 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3, "arrival time -1", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 -1 1 -\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 4, "compute time -1", NULL);
    expect_fail_text("weft-workload 1\nports 0\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EINVAL, 2, "0 ports", NULL);
}

Test(workload_text, missing_parent)
{
    expect_fail_text("weft-workload 1\nports 2\njob 5 0 1 0 2\ncoflow 1 0 1 -\n0 1 5\n"
                     "coflow 2 0 1 1,9\n1 0 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_ENOTFOUND, 3,
                     "job 5 coflow 2: parent coflow 9 does not exist in the job", NULL);
}

Test(workload_text, cycle_is_named)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n"
                     "job 42 0 1 0 3\ncoflow 1 0 1 3\n0 1 5\ncoflow 2 0 1 1\n1 0 5\n"
                     "coflow 3 0 1 2\n0 0 5\nend 2\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_ECYCLE, 6,
                     "cycle in job 42: coflows 1 -> 2 -> 3 -> 1", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 3 0 1 0 1\ncoflow 1 0 1 1\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_ECYCLE, 3,
                     "coflow 1 lists itself as a parent", NULL);
}

Test(workload_text, duplicate_ids)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n"
                     "job 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nend 2\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 6,
                     "job id 1 appears twice (lines 3 and 6)", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 2\ncoflow 1 0 1 -\n0 1 5\n"
                     "coflow 1 0 1 -\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 6,
                     "coflow id 1 appears twice", NULL);
}

Test(workload_text, empty_workload)
{
    char *path = temp_file("weft-workload 1\nports 4\nend 0\n", ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read_weft(&wl, path), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.n_ports, 4);
    cr_assert_eq(wl.n_jobs, 0);
    round_trip(&wl);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

Test(workload_text, auto_detection)
{
    coflow_workload_t wl;
    char *p = temp_file("# leading comment\n\nweft-workload 1\nports 1\nend 0\n", ".txt");
    cr_assert_eq(workload_read(&wl, p, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    coflow_workload_destroy(&wl);
    unlink(p);
    free(p);
    p = temp_file("2 1\n1 0 1 0 1 1:1\n", ".txt");
    cr_assert_eq(workload_read(&wl, p, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_flows, 1);
    coflow_workload_destroy(&wl);
    unlink(p);
    free(p);
    expect_fail_text("hello world\n", ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 1,
                     "cannot tell the format", "found 'hello'", NULL);
    /* the magic is a whole word */
    expect_fail_text("weft-workloads 1\n", ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 1,
                     "cannot tell the format", "found 'weft-workloads'", NULL);
    expect_fail_text("# a comment\n\n", ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 0,
                     "holds only blank lines and comments (2 lines)", NULL);
    /* one flow line too many names the coflow whose count it passes */
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 7 0 1 -\n0 1 5\n0 1 6\n"
                     "end 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "a flow line after the 1 flows coflow 7 (line 4) announces", NULL);
    /* a header after a blank line: the message says where it must be */
    expect_fail_text("\n2 1\n1 0 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE,
                     2, "header '<ports> <coflows>' (on line 1)", "found '2'", NULL);
    workload_format_t f;
    cr_assert_eq(workload_format_parse("wfcommons", &f), WEFT_OK);
    cr_assert_eq(f, WORKLOAD_FORMAT_WFCOMMONS);
    cr_assert_str_eq(workload_format_name(WORKLOAD_FORMAT_ALIBABA), "alibaba");
    cr_assert_eq(workload_format_parse("csv", &f), WEFT_EINVAL);
}

Test(workload_text, save_to_bad_path)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 1);
    cr_assert_eq(workload_save_weft(&wl, "/nonexistent/dir/x.weft"), WEFT_EIO);
    cr_assert(strstr(weft_last_error(), "/nonexistent/dir/x.weft"));
    coflow_workload_destroy(&wl);
}

/* Builds job `id` of one coflow of one flow through the model's API, which
 * allows what weft's format does not (the readers check the limits). */
static void add_one_flow_job(coflow_workload_t *wl, int64_t id, double arrival_s,
                             double final_s, double compute_s, double bytes)
{
    cr_assert_eq(coflow_workload_add_job(wl, id, arrival_s, 1, final_s), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(wl, 1, compute_s), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(wl, 0, 1, bytes), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK, "%s", weft_last_error());
}

/* Analyses wl as the readers do, so its derived fields compare too. */
static void analyse(coflow_workload_t *wl)
{
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, wl->n_ports, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(wl, &fab), WEFT_OK, "%s", weft_last_error());
    coflow_fabric_destroy(&fab);
}

/* The values at the edges of what the format holds survive write -> read
 * bit for bit, and the second write is the first byte for byte: the
 * smallest subnormal, 1e-300, the smallest normal, the limits themselves
 * (1e9 s, weight 1e15, a flow, coflow and job of exactly 2^60 bytes,
 * 2^20 ports), sizes of 2^53 and 2^53 + 2 (integers a %.15g would round), ids
 * at both ends of int64, a flow given twice, and parents listed out of
 * order, one defined after its child. */
Test(workload_text, round_trip_of_extreme_values)
{
    const double subnormal = 0x1p-1074, tiny_normal = 0x1p-1022;
    const double times[] = {0, subnormal, 1e-300, tiny_normal, 1.0 / 3, 1e9,
                            nextafter(1e9, 0), 0.1};
    const double weights[] = {subnormal, 1e-300, 1e15, tiny_normal, 1.0 / 3,
                              nextafter(1e15, 0), 0.1, 1};
    const double sizes[] = {1e-200, 0x1p53, 0x1p53 + 2, 0x1p58, 1.0 / 3,
                            nextafter(1e-200, 1), 1.0000000000000002, 123.456};
    const int64_t job_ids[] = {INT64_MIN, INT64_MAX, -1, 0, INT64_MIN + 1, INT64_MAX - 1, 7, 8};
    const uint32_t last_port = (uint32_t)WORKLOAD_MAX_PORTS - 1;
    coflow_workload_t wl;
    coflow_workload_init(&wl, WORKLOAD_MAX_PORTS);
    for (size_t j = 0; j < 8; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, job_ids[j], times[j], weights[j], times[7 - j]),
                     WEFT_OK, "%s", weft_last_error());
        /* parents INT64_MAX (defined below) and -5, in that order */
        cr_assert_eq(coflow_workload_add_coflow(&wl, INT64_MIN, times[(j + 3) % 8]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, last_port, sizes[j]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, last_port, sizes[j]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_parent(&wl, INT64_MAX), WEFT_OK);
        cr_assert_eq(coflow_workload_add_parent(&wl, -5), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, INT64_MAX, times[7 - j]), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, last_port, last_port, sizes[7 - j]),
                     WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, -5, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 3, 9, 1), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK, "%s", weft_last_error());
    }
    add_one_flow_job(&wl, 9, 1e9, 1e9, 1e9, 0x1p60); /* a flow, coflow and job of 2^60 */
    analyse(&wl);
    round_trip(&wl);

    /* %.17g of the smallest subnormal, of 2^53 + 2 (16 digits, all shown)
     * and of 2^60 = 1152921504606846976 (19 digits: 17 significant ones,
     * ...4697|6 rounded up to ...4700, trailing zeros dropped) */
    char *path = temp_file("", ".weft");
    cr_assert_eq(workload_save_weft(&wl, path), WEFT_OK, "%s", weft_last_error());
    size_t n;
    char *text = slurp(path, &n);
    cr_assert(strstr(text, "\nports 1048576\njob -9223372036854775808 0 4.9406564584124654e-324 "),
              "%s", text);
    cr_assert(strstr(text, "\ncoflow -9223372036854775808 1e-300 2 9223372036854775807,-5\n"));
    cr_assert(strstr(text, "\n0 1048575 9007199254740994\n0 1048575 9007199254740994\n"));
    cr_assert(strstr(text, "\njob 9 1000000000 1 1000000000 1\ncoflow 1 1000000000 1 -\n"
                           "0 1 1.152921504606847e+18\nend 9\n"));
    free(text);
    unlink(path);
    free(path);
    coflow_workload_destroy(&wl);
}

/* The model allows what the format's reader refuses (limits of time, size
 * and ports; unique job ids): the writer refuses it too, naming the job,
 * before writing a byte, rather than write a file that does not read back;
 * the limits themselves write and read (round_trip_of_extreme_values). */
Test(workload_text, writer_refuses_what_the_reader_refuses)
{
    static const struct {
        double arrival, final, compute, bytes;
        bool twice; /* the same job id again */
        size_t ports;
        const char *why;
    } cases[] = {
        {2e9, 0, 0, 5, false, 2, "job 42 in weft's format: arrival time 2e+09 s is beyond"},
        {0, 1000000001, 0, 5, false, 2, "final compute time 1000000001 s is beyond"},
        {0, 0, 2e9, 5, false, 2, "job 42 in weft's format: a coflow's compute time 2e+09 s"},
        {0, 0, 0, 0x1p61, false, 2, "job 42 coflow 1 in weft's format: a flow of "
                                    "2.305843009213694e+18 bytes, more than its limit of 2^60"},
        {0, 0, 0, 0x1p60, true, 2, "job id 42 appears twice (jobs 1 and 2"},
        {0, 0, 0, 5, false, WORKLOAD_MAX_PORTS + 1, "a workload of 1048577 ports"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        coflow_workload_t wl;
        coflow_workload_init(&wl, cases[i].ports);
        add_one_flow_job(&wl, 42, cases[i].arrival, cases[i].final, cases[i].compute,
                         cases[i].bytes);
        if (cases[i].twice)
            add_one_flow_job(&wl, 42, 0, 0, 0, 5);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        cr_assert_eq(workload_write_weft(&wl, f), WEFT_EINVAL, "case %zu was written", i);
        cr_assert(strstr(weft_last_error(), cases[i].why), "case %zu: '%s' should contain '%s'",
                  i, weft_last_error(), cases[i].why);
        fclose(f);
        cr_assert_eq(len, 0, "case %zu: wrote %zu bytes before refusing", i, len);
        free(text);
        coflow_workload_destroy(&wl);
    }

    /* a coflow's flows summing past 2^60, and a job's coflows doing so */
    coflow_workload_t wl;
    coflow_workload_init(&wl, 2);
    cr_assert_eq(coflow_workload_add_job(&wl, 3, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 0x1p60), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&wl, 2, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 0x1p60), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(workload_write_weft(&wl, stdout), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job 3 coflow 2 in weft's format: the job's flows add "
                                        "up to 2.305843009213694e+18 bytes"),
              "%s", weft_last_error());
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, 0); /* no ports: the reader refuses "ports 0" */
    cr_assert_eq(workload_write_weft(&wl, stdout), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "0 ports"), "%s", weft_last_error());
    coflow_workload_destroy(&wl);
}

/* A save that fails part way (here the file size limit, as a full disk
 * would) returns EIO and leaves the file it was to replace as it was, not
 * cut short: the workload goes to a temporary file, renamed over FILE once
 * whole.
 * In a child process, whose limit ends with it. */
Test(workload_text, failed_save_keeps_the_old_file)
{
    char *path = temp_file("old\n", ".weft");
    coflow_workload_t wl;
    coflow_workload_init(&wl, 2);
    for (int64_t j = 0; j < 100; j++) /* some 3 KB of text */
        add_one_flow_job(&wl, j, 0, 0, 0, 5);
    pid_t pid = fork_tied(SIGKILL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {.rlim_cur = 1000, .rlim_max = 1000};
        signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG */
        bool ok = setrlimit(RLIMIT_FSIZE, &lim) == 0 &&
                  workload_save_weft(&wl, path) == WEFT_EIO &&
                  strstr(weft_last_error(), path) != NULL;
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the save did not fail with EIO naming the file");
    size_t n;
    char *text = slurp(path, &n);
    cr_assert_str_eq(text, "old\n", "the old file was cut: %zu bytes", n);
    free(text);
    cr_assert(!temp_left_beside(path), "a temporary file of %s left behind", path);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* A program embedding weft that set a locale with a decimal comma (as
 * setlocale(LC_ALL, "") does in de_DE) still reads "1.5" and writes it:
 * strtod and printf follow LC_NUMERIC, so the reader refused every weft
 * file ("expected an arrival time in seconds, found '1.5'") and the
 * writer wrote "1,5". The program's locale is its own again afterwards.
 * The locale: comma_locale.h; skipped where it cannot be built. */
Test(workload_text, numbers_read_and_written_alike_in_every_locale)
{
    use_comma_locale();
    char *path = temp_file("weft-workload 1\nports 2\njob 1 1.5 2.5 0.25 1\ncoflow 1 0.5 1 -\n"
                           "0 1 1e3\nend 1\n", ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(wl.jobs[0].arrival_s == 1.5 && wl.jobs[0].weight == 2.5 &&
              wl.jobs[0].final_compute_s == 0.25 && wl.coflows[0].compute_s == 0.5);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(workload_write_weft(&wl, f), WEFT_OK, "%s", weft_last_error());
    fclose(f);
    cr_assert(strstr(text, "\njob 1 1.5 2.5 0.25 1\ncoflow 1 0.5 1 -\n0 1 1000\n"), "%s", text);
    free(text);
    char probe[8];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "the program's locale was not given back");
    setlocale(LC_ALL, "C");
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ Alibaba */

TestSuite(workload_alibaba, .timeout = 60);

Test(workload_alibaba, real_sample)
{
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    o.report = &rep;
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, ALI_PATH, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_jobs, 16749);
    cr_assert_eq(wl.n_coflows, 67634); /* every row is a task */
    cr_assert_eq(wl.n_ports, 150);
    /* four names cut at 50 characters by the trace end in a repeated dep */
    cr_assert_eq(rep.alibaba_dropped_deps, 4);
    cr_assert_eq(rep.alibaba_cyclic_jobs, 0);
    cr_assert_eq(rep.alibaba_duplicate_jobs, 0);
    for (size_t j = 1; j < wl.n_jobs; j++) {
        const coflow_job_t *a = &wl.jobs[j - 1], *b = &wl.jobs[j];
        cr_assert(a->arrival_s < b->arrival_s || (a->arrival_s == b->arrival_s && a->id < b->id),
                  "jobs not sorted at %zu", j);
    }
    /* ten jobs arrive at 0; by id: 769579, 818792, 984590, 1446403 */
    cr_assert_eq(wl.jobs[0].id, 769579);
    cr_assert_eq(wl.jobs[3].id, 1446403);
    cr_assert_eq(wl.jobs[wl.n_jobs - 1].arrival_s, 3600.0);

    /* j_1446403 by hand (rows 1-28 of the file): M21 is the only root; the
     * chain 21 -> 22 -> 23 -> 24 -> 25 -> 26 -> 27 -> 28 gives 8 waves. */
    const coflow_job_t *job = &wl.jobs[3];
    cr_assert_eq(job->n_coflows, 28);
    cr_assert_eq(job->depth, 8);
    cr_assert_eq(job->weight, 1.0);
    int64_t ids[8];
    size_t c21 = coflow_by_id(&wl, 3, 21);
    cr_assert_eq(wl.coflows[c21].n_parents, 0);
    cr_assert_eq(wl.coflows[c21].compute_s, 204.0);
    cr_assert_eq(wl.coflows[c21].n_flows, 18);    /* instance_num 18 */
    cr_assert_eq(wl.coflows[c21].wave, 0);
    cr_assert_eq(wl.coflows[c21].n_children, 9); /* 1 5 7 9 12 14 17 19 22 */
    size_t c28 = coflow_by_id(&wl, 3, 28);
    cr_assert_eq(parent_ids(&wl, c28, ids, 8), 2);
    cr_assert_eq(ids[0], 4);
    cr_assert_eq(ids[1], 27);
    cr_assert_eq(wl.coflows[c28].compute_s, 627.0);
    cr_assert_eq(wl.coflows[c28].wave, 7);
    cr_assert_eq(wl.coflows[c28].n_children, 0);
    size_t c25 = coflow_by_id(&wl, 3, 25);
    cr_assert_eq(parent_ids(&wl, c25, ids, 8), 3);
    cr_assert_eq(ids[0], 16);
    cr_assert_eq(ids[1], 18);
    cr_assert_eq(ids[2], 24);
    /* placeholder flows: port (job + task) mod 150 + k -> next port */
    const coflow_flow_t *f = &wl.flows[wl.coflows[c28].first_flow];
    uint32_t base = (uint32_t)((1446403 + 28) % 150);
    cr_assert_eq(wl.coflows[c28].n_flows, 15);
    for (uint32_t k = 0; k < 15; k++) {
        cr_assert_eq(f[k].src, (base + k) % 150);
        cr_assert_eq(f[k].dst, (base + k + 1) % 150);
        cr_assert_eq(f[k].bytes, 1048576.0);
    }
    assert_dag_order(&wl);
    coflow_workload_destroy(&wl);
}

Test(workload_alibaba, skip_independent_and_max_jobs)
{
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    o.report = &rep;
    o.alibaba_keep_independent = false;
    coflow_workload_t wl;
    cr_assert_eq(workload_read_alibaba(&wl, ALI_PATH, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.n_jobs, 16749 - 1271); /* 1271 jobs have only independent tasks */
    cr_assert_eq(rep.alibaba_skipped_tasks, 2774);
    cr_assert_eq(rep.alibaba_skipped_jobs, 1271);
    coflow_workload_destroy(&wl);

    workload_read_opts_default(&o);
    o.max_jobs = 100;
    cr_assert_eq(workload_read_alibaba(&wl, ALI_PATH, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.n_jobs, 100);
    cr_assert_eq(wl.jobs[3].id, 1446403);
    round_trip(&wl);
    coflow_workload_destroy(&wl);
}

Test(workload_alibaba, repairs_and_grouping)
{
    /* job 2's rows are split by job 1's; job 2's M3 depends on absent task 9
     * (dropped); job 3 is a cycle (skipped); job 4 has two independent tasks
     * and arrives first; job 5 uses task number 1 twice (skipped). */
    const char *csv = "10,j_2,M1,5,50,0.1,2\n"
                      "20,j_1,M1,1,50,0.1,1\n"
                      "8,j_2,R2_1,6,50,0.1,3\n"
                      "10,j_2,J3_1_2_9,7,50,0.1,1\n"
                      "20,j_3,M1_2,1,50,0.1,1\n"
                      "20,j_3,M2_1,1,50,0.1,1\n"
                      "3,j_4,task_abc==,4,,,200\n"
                      "3,j_4,task_def==,2,,,1\n"
                      "1,j_5,M1,1,50,0.1,1\n"
                      "1,j_5,R1,1,50,0.1,1\n";
    char *path = temp_file(csv, ".csv");
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    o.report = &rep;
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(rep.alibaba_dropped_deps, 1);
    cr_assert_eq(rep.alibaba_cyclic_jobs, 1);
    cr_assert_eq(rep.alibaba_duplicate_jobs, 1);
    cr_assert_eq(wl.n_jobs, 3);
    /* sorted by arrival: j_4 (3), j_2 (8: the smallest of its rows), j_1 (20) */
    cr_assert_eq(wl.jobs[0].id, 4);
    cr_assert_eq(wl.jobs[1].id, 2);
    cr_assert_eq(wl.jobs[1].arrival_s, 8.0);
    cr_assert_eq(wl.jobs[2].id, 1);
    /* j_4: independent tasks numbered 1, 2 in file order, no parents,
     * 200 instances capped at 150 flows */
    cr_assert_eq(wl.jobs[0].n_coflows, 2);
    cr_assert_eq(wl.coflows[0].id, 1);
    cr_assert_eq(wl.coflows[0].compute_s, 4.0);
    cr_assert_eq(wl.coflows[0].n_flows, 150);
    cr_assert_eq(wl.coflows[1].id, 2);
    cr_assert_eq(wl.coflows[1].n_parents, 0);
    /* j_2: 3 after 1 and 2 (9 dropped), 2 after 1 */
    size_t c3 = coflow_by_id(&wl, 1, 3);
    int64_t ids[4];
    cr_assert_eq(parent_ids(&wl, c3, ids, 4), 2);
    cr_assert_eq(ids[0], 1);
    cr_assert_eq(ids[1], 2);
    cr_assert_eq(wl.jobs[1].depth, 3);
    cr_assert_eq(wl.coflows[c3].compute_s, 7.0);
    coflow_workload_destroy(&wl);

    o.alibaba_keep_independent = false;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_jobs, 2);
    cr_assert_eq(rep.alibaba_skipped_tasks, 2);
    cr_assert_eq(rep.alibaba_skipped_jobs, 1);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

Test(workload_alibaba, malformed_rows)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n0,j_1,M2_1,5,50,0.1\n", ".csv",
                     WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 2,
                     "expected 7 comma-separated fields", "found 6", NULL);
    expect_fail_text("0,job1,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EPARSE, 1, "field 2: expected a job name 'j_<number>', found 'job1'",
                     NULL);
    expect_fail_text("x,j_1,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EPARSE, 1, "field 1: expected an arrival time in seconds, found 'x'",
                     NULL);
    expect_fail_text("0,j_1,M1,-5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 4: expected a duration in seconds", "'-5'", NULL);
    expect_fail_text("0,j_1,M1,5,50,0.1,0\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 7: expected an instance count", "found '0'", NULL);
    expect_fail_text("0,j_1,M1,5,50,0.1,2.5\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 7", "'2.5'", NULL);
}

/* The repair counts spoke of every job in the file, also of those
 * --max-jobs left out; they count the jobs up to the last one kept. */
Test(workload_alibaba, max_jobs_reports_only_what_it_reads)
{
    /* by arrival: j_1 clean, j_3 a cycle, j_2 with a dependency on an
     * absent task, j_4 independent tasks only */
    char *path = temp_file("0,j_1,M1,10,,,2\n5,j_2,M1_9,3,,,1\n2,j_3,M1_2,1,,,1\n"
                           "2,j_3,M2_1,1,,,1\n9,j_4,task_x,1,,,1\n",
                           ".csv");
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    o.report = &rep;
    o.alibaba_keep_independent = false;
    const struct {
        size_t max_jobs, n_jobs, dropped, cyclic, skipped_tasks, skipped_jobs;
    } cases[] = {{1, 1, 0, 0, 0, 0}, {2, 2, 1, 1, 0, 0}, {0, 2, 1, 1, 1, 1}, {3, 2, 1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        o.max_jobs = cases[i].max_jobs;
        coflow_workload_t wl;
        cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_ALIBABA, &o), WEFT_OK, "%s",
                     weft_last_error());
        cr_assert_eq(wl.n_jobs, cases[i].n_jobs, "max %zu", cases[i].max_jobs);
        cr_assert_eq(rep.alibaba_dropped_deps, cases[i].dropped, "max %zu", cases[i].max_jobs);
        cr_assert_eq(rep.alibaba_cyclic_jobs, cases[i].cyclic, "max %zu", cases[i].max_jobs);
        cr_assert_eq(rep.alibaba_skipped_tasks, cases[i].skipped_tasks, "max %zu",
                     cases[i].max_jobs);
        cr_assert_eq(rep.alibaba_skipped_jobs, cases[i].skipped_jobs, "max %zu",
                     cases[i].max_jobs);
        coflow_workload_destroy(&wl);
    }
    unlink(path);
    free(path);
}

/* The job id is the number of j_<n>, so j_1 and j_01 were read as one job:
 * a job name whose number has a leading zero is refused instead. */
Test(workload_alibaba, job_number_with_a_leading_zero)
{
    expect_fail_text("0,j_1,M1,10,,,2\n50,j_01,M2,10,,,1\n", ".csv", WORKLOAD_FORMAT_ALIBABA,
                     NULL, WEFT_EPARSE, 2, "field 2: expected a job name 'j_<number>' without "
                     "leading zeros, found 'j_01'", NULL);
    expect_fail_text("0,j_1,M1,10,,,2\n50,j_01,M1,10,,,1\n", ".csv", WORKLOAD_FORMAT_ALIBABA,
                     NULL, WEFT_EPARSE, 2, "'j_01'", NULL);
    expect_fail_text("0,j_00,M1,10,,,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE,
                     1, "'j_00'", NULL);
    cr_assert_eq(expect_read_text("0,j_0,M1,10,,,2\n5,j_10,M1,1,,,1\n", ".csv",
                                  WORKLOAD_FORMAT_ALIBABA, NULL),
                 2);
}

/* ------------------------------------------------------------ WfCommons */

TestSuite(workload_wfcommons, .timeout = 60);

/* Independently of the reader: the bytes every task receives from each of
 * its (distinct) parents = sizes of files in both the parent's outputs and
 * its inputs, each file once. */
static double wf_expected_bytes(const char *path)
{
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert_not_null(root, "%s: %s", path, e.text);
    json_t *spec = json_object_get(json_object_get(root, "workflow"), "specification");
    json_t *tasks = json_object_get(spec, "tasks"), *files = json_object_get(spec, "files");
    double total = 0;
    size_t i, k, q;
    json_t *t, *pid, *fin, *fout, *t2;
    json_array_foreach(tasks, i, t) {
        json_t *ps = json_object_get(t, "parents");
        json_array_foreach(ps, k, pid) {
            json_t *parent = NULL;
            json_array_foreach(tasks, q, t2) if (json_equal(json_object_get(t2, "id"), pid))
                parent = t2;
            cr_assert_not_null(parent);
            json_t *ins = json_object_get(t, "inputFiles");
            json_t *outs = json_object_get(parent, "outputFiles");
            size_t a, b, f;
            json_t *fl;
            json_array_foreach(outs, a, fout) {
                bool shared = false;
                json_array_foreach(ins, b, fin) shared |= json_equal(fin, fout);
                if (!shared)
                    continue;
                json_array_foreach(files, f, fl) if (json_equal(json_object_get(fl, "id"), fout))
                    total += json_number_value(json_object_get(fl, "sizeInBytes"));
            }
        }
    }
    json_decref(root);
    return total;
}

static void wf_check_file(const char *path)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_jobs, 1);
    cr_assert_eq(wl.n_ports, 16);
    cr_assert_gt(wl.n_coflows, 0);
    double want = wf_expected_bytes(path), got = coflow_workload_total_bytes(&wl);
    cr_assert(fabs(got - want) <= 1e-12 * want, "%s: %.17g bytes, expected %.17g", path, got,
              want);
    assert_dag_order(&wl);
    cr_assert_gt(wl.jobs[0].lower_bound_s, 0.0);
    round_trip(&wl);
    coflow_workload_destroy(&wl);
}

static size_t wf_check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        wf_check_file(path);
        n++;
    }
    closedir(d);
    return n;
}

Test(workload_wfcommons, every_bundled_file_loads_and_conserves_bytes)
{
    cr_assert_eq(wf_check_dir(WF_DIR), 5);
}

Test(workload_wfcommons, every_shared_file_loads_and_conserves_bytes)
{
    /* no cr_skip_test/cr_log: Criterion's runner leaks their message, which the
     * sanitizer run of scripts/test.sh would report */
    if (wf_check_dir(WF_SHARED_DIR) == 0)
        fprintf(stderr, "note: %s not present: nothing checked\n", WF_SHARED_DIR);
}

static double wf_max_runtime(const char *path, const char *prefix)
{
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert_not_null(root);
    json_t *tasks = json_object_get(json_object_get(json_object_get(root, "workflow"),
                                                    "execution"),
                                    "tasks");
    double m = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        const char *id = json_string_value(json_object_get(t, "id"));
        if (!strncmp(id, prefix, strlen(prefix)) && !strncmp(id + strlen(prefix), "_ID", 3)) {
            double r = json_number_value(json_object_get(t, "runtimeInSeconds"));
            if (r > m)
                m = r;
        }
    }
    json_decref(root);
    return m;
}

/* srasearch-10a: bowtie2-build (1 task) and fasterq-dump (10) at depth 0
 * feed bowtie2 (10) at depth 1, which feeds merge (1). Stages by (depth,
 * prefix): 0 bowtie2-build, 1 fasterq-dump, 2 bowtie2, 3 merge; coflows
 * 1 = build->bowtie2, 2 = fasterq->bowtie2, 3 = bowtie2->merge after 1, 2. */
Test(workload_wfcommons, srasearch_stage_dag_by_hand)
{
    const char *path = WF_DIR "/srasearch-chameleon-10a-001.json";
    coflow_workload_t wl;
    cr_assert_eq(workload_read_wfcommons(&wl, path, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.n_coflows, 3);
    cr_assert_eq(wl.coflows[0].id, 1);
    cr_assert_eq(wl.coflows[0].n_flows, 10);
    cr_assert_eq(wl.coflows[0].total_bytes, 10 * 8526566.0); /* the 6 index files */
    cr_assert_eq(wl.coflows[0].n_senders, 1);
    cr_assert_eq(wl.coflows[1].n_flows, 10);
    cr_assert_eq(wl.coflows[2].n_flows, 10);
    cr_assert_eq(wl.coflows[2].total_bytes, 9 * 340.0 + 339.0); /* one .bam.bai is 339 */
    cr_assert_eq(wl.coflows[2].n_receivers, 1);
    int64_t ids[4];
    cr_assert_eq(parent_ids(&wl, 2, ids, 4), 2);
    cr_assert_eq(ids[0], 1);
    cr_assert_eq(ids[1], 2);
    cr_assert_eq(wl.coflows[0].n_parents, 0);
    cr_assert_eq(wl.jobs[0].depth, 2);
    cr_assert_eq(wl.coflows[0].compute_s, wf_max_runtime(path, "bowtie2-build"));
    cr_assert_eq(wl.coflows[1].compute_s, wf_max_runtime(path, "fasterq-dump"));
    cr_assert_eq(wl.coflows[2].compute_s, wf_max_runtime(path, "bowtie2"));
    cr_assert_eq(wl.jobs[0].final_compute_s, wf_max_runtime(path, "merge"));
    cr_assert_gt(wl.jobs[0].final_compute_s, 0.0);
    coflow_workload_destroy(&wl);
}

/* blast: split_fasta -> blastall (40) -> cat_blast and cat; the edge
 * blastall -> cat moves no bytes (empty files) and is a pure dependency:
 * no coflow, and cat's lag = its runtime + blastall's. */
Test(workload_wfcommons, blast_zero_byte_edge_passes_through)
{
    const char *path = WF_DIR "/blast-chameleon-small-001.json";
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    workload_read_report_t rep;
    o.report = &rep;
    coflow_workload_t wl;
    cr_assert_eq(workload_read_wfcommons(&wl, path, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(rep.wf_zero_byte_edges, 1);
    cr_assert_eq(wl.n_coflows, 2);
    cr_assert_eq(wl.coflows[0].n_flows, 40);
    cr_assert_eq(wl.coflows[1].n_flows, 40);
    cr_assert_eq(wl.coflows[1].n_parents, 1);
    cr_assert_eq(wl.parents[wl.coflows[1].first_parent], 0);
    double rt_blastall = wf_max_runtime(path, "blastall"), rt_cat = wf_max_runtime(path, "cat"),
           rt_catb = wf_max_runtime(path, "cat_blast");
    cr_assert_eq(wl.coflows[0].compute_s, wf_max_runtime(path, "split_fasta"));
    cr_assert_eq(wl.coflows[1].compute_s, rt_blastall);
    cr_assert_eq(wl.jobs[0].final_compute_s, fmax(rt_catb, rt_cat + rt_blastall));
    coflow_workload_destroy(&wl);
}

Test(workload_wfcommons, placement_is_seeded)
{
    const char *path = WF_DIR "/1000genome-chameleon-2ch-100k-001.json";
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    coflow_workload_t a, b, c;
    cr_assert_eq(workload_read_wfcommons(&a, path, &o), WEFT_OK);
    cr_assert_eq(workload_read_wfcommons(&b, path, &o), WEFT_OK);
    assert_same_workload(&a, &b);
    o.wf_seed = 99;
    o.wf_ports = 4;
    cr_assert_eq(workload_read_wfcommons(&c, path, &o), WEFT_OK);
    cr_assert_eq(c.n_ports, 4);
    cr_assert_eq(c.n_flows, a.n_flows);
    bool differ = false;
    uint32_t seen = 0;
    for (size_t f = 0; f < c.n_flows; f++) {
        cr_assert_lt(c.flows[f].src, 4);
        seen |= 1u << c.flows[f].src | 1u << c.flows[f].dst;
        differ |= c.flows[f].src != a.flows[f].src;
    }
    cr_assert(differ);
    cr_assert_eq(seen, 0xf, "all four ports are used");
    coflow_workload_destroy(&a);
    coflow_workload_destroy(&b);
    coflow_workload_destroy(&c);
}

#define WF_HEAD "{\"schemaVersion\": \"1.5\", \"workflow\": {\"specification\": {"

Test(workload_wfcommons, errors)
{
    expect_fail_text("{\"workflow\": [1, 2,\n", ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE,
                     0, ":2:", "expected WfFormat JSON", NULL);
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": [{\"id\": \"a_ID1\", \"name\": \"a_ID1\", "
                             "\"parents\": [\"b_ID2\"]}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ENOTFOUND, 0,
                     "workflow.specification.tasks[0].parents[0]: expected the id of a task",
                     "found \"b_ID2\"", NULL);
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": [{\"id\": \"a_ID1\", \"name\": \"a_ID1\", "
                             "\"inputFiles\": [\"f\"]}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ENOTFOUND, 0,
                     "tasks[0].inputFiles[0]: expected the id of a file", NULL);
    expect_fail_text(WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": -1}], \"tasks\": []}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "files[0].sizeInBytes: expected a size >= 0, found -1", NULL);
    expect_fail_text(WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": 5}], \"tasks\": ["
                             "{\"id\": \"a_ID1\", \"name\": \"a_ID1\", \"outputFiles\": [\"f\"]},"
                             "{\"id\": \"b_ID2\", \"name\": \"b_ID2\", \"parents\": [\"a_ID1\"]}"
                             "]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "moves no bytes between tasks", NULL);
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": ["
                             "{\"id\": \"a_ID1\", \"parents\": [\"b_ID2\"]},"
                             "{\"id\": \"b_ID2\", \"parents\": [\"a_ID1\"]}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ECYCLE, 0,
                     "cycle among the tasks", "a_ID1", NULL);
    /* only the tasks on the cycle, not c and d below it */
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": ["
                             "{\"id\": \"d_ID4\", \"parents\": [\"c_ID3\"]},"
                             "{\"id\": \"c_ID3\", \"parents\": [\"b_ID2\"]},"
                             "{\"id\": \"a_ID1\", \"parents\": [\"b_ID2\"]},"
                             "{\"id\": \"b_ID2\", \"parents\": [\"a_ID1\"]}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ECYCLE, 0,
                     "cycle among the tasks of the workflow: a_ID1 -> b_ID2 -> a_ID1", NULL);
    expect_fail_text("{\"schemaVersion\": \"1.4\", \"workflow\": {\"tasks\": []}}", ".json",
                     WORKLOAD_FORMAT_AUTO, NULL, WEFT_EVERSION, 0, "schemaVersion \"1.4\"",
                     NULL);
    expect_fail_text(WF_HEAD "\"files\": 3, \"tasks\": []}}}", ".json", WORKLOAD_FORMAT_AUTO,
                     NULL, WEFT_EPARSE, 0,
                     "workflow.specification.files: expected an array, found an integer", NULL);
    /* two runtimes of one task: which ran is unknown (the last was taken) */
#define WF_AB WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": 10}], \"tasks\": [" \
              "{\"id\": \"a\", \"outputFiles\": [\"f\"]}," \
              "{\"id\": \"b\", \"parents\": [\"a\"], \"inputFiles\": [\"f\"]}]}, "
    expect_fail_text(WF_AB "\"execution\": {\"tasks\": [{\"id\": \"a\", \"runtimeInSeconds\": 1},"
                           "{\"id\": \"a\", \"runtimeInSeconds\": 2}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "workflow.execution.tasks[1]: task id \"a\" appears twice (also "
                     "execution.tasks[0])", NULL);
    /* a container of the wrong type is named, not its child as missing */
    expect_fail_text(WF_AB "\"execution\": []}}", ".json", WORKLOAD_FORMAT_AUTO, NULL,
                     WEFT_EPARSE, 0, "workflow.execution: expected an object, found an array",
                     NULL);
    expect_fail_text(WF_AB "\"execution\": {\"tasks\": [3]}}}", ".json", WORKLOAD_FORMAT_AUTO,
                     NULL, WEFT_EPARSE, 0,
                     "workflow.execution.tasks[0]: expected a task's execution (an object), "
                     "found an integer", NULL);
#undef WF_AB
    expect_fail_text(WF_HEAD "\"files\": [\"f\"], \"tasks\": []}}}", ".json",
                     WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 0,
                     "workflow.specification.files[0]: expected a file (an object), found \"f\"",
                     NULL);
}

/* The file's strings an error quotes (a task id not found, one on a cycle,
 * one listed twice) show a control character, C0 or C1 (JSON's \u001b and
 * \u009b, CSI), escaped, not raw; a long one cut at 60 bytes between
 * characters (a 2-byte é at bytes 60 and 61 left out whole). */
Test(workload_wfcommons, quoted_strings_show_their_controls_escaped)
{
    char long_id[96], long_found[112];
    memset(long_id, 'x', 59);
    snprintf(long_id + 59, sizeof long_id - 59, "\xc3\xa9");
    snprintf(long_found, sizeof long_found, "found \"%.59s\"", long_id);
    const struct {
        const char *tasks; /* workflow.specification.tasks */
        weft_err_t err;
        const char *want;
    } cases[] = {
        {"{\"id\": \"a\", \"parents\": [\"b\\u009b\\u001b[31m\"]}", WEFT_ENOTFOUND,
         "found \"b\\xc2\\x9b\\x1b[31m\""},
        {"{\"id\": \"a\\u0085\", \"parents\": [\"b\\u001b\"]}, "
         "{\"id\": \"b\\u001b\", \"parents\": [\"a\\u0085\"]}", WEFT_ECYCLE,
         "cycle among the tasks of the workflow: a\\xc2\\x85 -> b\\x1b -> a\\xc2\\x85"},
        {"{\"id\": \"c\\u009b\"}, {\"id\": \"c\\u009b\"}", WEFT_EINVAL,
         "task id \"c\\xc2\\x9b\" appears twice"},
        {NULL, WEFT_ENOTFOUND, long_found}, /* a parent long_id */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char text[512];
        if (cases[k].tasks)
            snprintf(text, sizeof text, WF_HEAD "\"files\": [], \"tasks\": [%s]}}}",
                     cases[k].tasks);
        else
            snprintf(text, sizeof text, WF_HEAD "\"files\": [], \"tasks\": [{\"id\": \"a\", "
                     "\"parents\": [\"%s\"]}]}}}", long_id);
        expect_fail_text(text, ".json", WORKLOAD_FORMAT_AUTO, NULL, cases[k].err, 0,
                         cases[k].want, NULL);
    }
}

/* A task id on a cycle of all controls shows as escapes, whole ones only:
 * its 60 bytes escaped (240) do not fit the name's 160, and its name in
 * the cycle ends after the 39th \x01 that does, not inside the 40th. */
Test(workload_wfcommons, a_cycles_escaped_task_id_is_cut_between_escapes)
{
    char id[61 * 6 + 1] = "", text[1024], want[64 + 39 * 4 + 1];
    for (size_t i = 0; i < 60; i++)
        strcat(id, "\\u0001");
    strcat(id, "a");
    snprintf(text, sizeof text, WF_HEAD "\"files\": [], \"tasks\": ["
             "{\"id\": \"%s\", \"parents\": [\"b\"]}, "
             "{\"id\": \"b\", \"parents\": [\"%s\"]}]}}}", id, id);
    strcpy(want, "workflow: ");
    for (size_t i = 0; i < 39; i++)
        strcat(want, "\\x01");
    strcat(want, " -> b -> ");
    expect_fail_text(text, ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ECYCLE, 0, want, NULL);
}

/* A tiny workflow exercising the rules: a (depth 0) sends 10 bytes to each
 * of b1, b2 (depth 1, stage b), which send 3 bytes each to c (depth 2);
 * file shared twice by one pair counts once. */
Test(workload_wfcommons, tiny_workflow_by_hand)
{
    const char *json =
        WF_HEAD "\"files\": [{\"id\": \"x\", \"sizeInBytes\": 10}, {\"id\": \"y1\", "
                "\"sizeInBytes\": 3}, {\"id\": \"y2\", \"sizeInBytes\": 3}],"
                "\"tasks\": ["
                "{\"id\": \"a_ID1\", \"name\": \"a_ID1\", \"outputFiles\": [\"x\", \"x\"]},"
                "{\"id\": \"b_ID2\", \"name\": \"b_ID2\", \"parents\": [\"a_ID1\"], "
                "\"inputFiles\": [\"x\"], \"outputFiles\": [\"y1\"]},"
                "{\"id\": \"b_ID3\", \"name\": \"b_ID3\", \"parents\": [\"a_ID1\"], "
                "\"inputFiles\": [\"x\"], \"outputFiles\": [\"y2\"]},"
                "{\"id\": \"c_ID4\", \"name\": \"c_ID4\", \"parents\": [\"b_ID2\", \"b_ID3\"], "
                "\"inputFiles\": [\"y1\", \"y2\"]}]},"
                "\"execution\": {\"tasks\": [{\"id\": \"a_ID1\", \"runtimeInSeconds\": 2},"
                "{\"id\": \"b_ID2\", \"runtimeInSeconds\": 5}, {\"id\": \"b_ID3\", "
                "\"runtimeInSeconds\": 7}, {\"id\": \"c_ID4\", \"runtimeInSeconds\": 1.5}]}}}";
    char *path = temp_file(json, ".json");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_coflows, 2);
    cr_assert_eq(wl.coflows[0].n_flows, 2);
    cr_assert_eq(wl.coflows[0].total_bytes, 20.0);
    cr_assert_eq(wl.coflows[0].compute_s, 2.0);
    cr_assert_eq(wl.coflows[1].n_flows, 2);
    cr_assert_eq(wl.coflows[1].total_bytes, 6.0);
    cr_assert_eq(wl.coflows[1].compute_s, 7.0); /* the slowest task of stage b */
    cr_assert_eq(wl.coflows[1].n_parents, 1);
    cr_assert_eq(wl.jobs[0].final_compute_s, 1.5);
    cr_assert_eq(wl.jobs[0].arrival_s, 0.0);
    cr_assert_eq(wl.jobs[0].weight, 1.0);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ bad input */

/* Inputs that used to read with wrong data, or fail with a message that did
 * not say what was wrong: each now fails naming file:line and the problem.
 * A weft file of one flow "0 1 <bytes>" on line 5: */
#define W_HEAD "weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n"

/* getline() reads past a NUL but every scanner stops at one: "10485\0 76"
 * read as 10485 bytes, and whatever followed a NUL was ignored. */
Test(workload_text, nul_byte_is_refused)
{
    static const char cut[] = W_HEAD "0 1 10485\0" "76\nend 1\n";
    expect_fail_bytes(cut, sizeof cut - 1, ".weft", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 5,
                      "a NUL byte at column 10", NULL);
    static const char after[] = W_HEAD "0 1 5\nend 1\n\0job 2 0 1 0 1\n";
    expect_fail_bytes(after, sizeof after - 1, ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE,
                      7, "a NUL byte at column 1", NULL);
    static const char bin[] = "\0\x01\x02\x03";
    expect_fail_bytes(bin, sizeof bin - 1, ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 1,
                      "a NUL byte at column 1", "not a text file", NULL);
}

Test(workload_fb, nul_byte_is_refused)
{
    static const char t[] = "4 1\n1 0 1 0 1 1:1.0\0 99 junk\n";
    expect_fail_bytes(t, sizeof t - 1, ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                      "a NUL byte at column 16", NULL);
}

Test(workload_alibaba, nul_byte_is_refused)
{
    static const char t[] = "0,j_1,M1,5,50,0.1,2\0\n";
    expect_fail_bytes(t, sizeof t - 1, ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 1,
                      "a NUL byte at column 20", NULL);
}

/* The FB trace has no trailer: cut inside its last number ("3:1" of
 * "3:10.0") it read with that number, so every line must end with a
 * newline, as the bundled trace's do. */
Test(workload_fb, cut_inside_the_last_number)
{
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 1 2 1 3:1", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_ETRUNC, 3, "the last line has no newline", "truncated", NULL);
    cr_assert_eq(expect_read_text("4 2\n1 0 1 0 1 1:1.0\n2 5 1 2 1 3:1\n", ".txt",
                                  WORKLOAD_FORMAT_FB, NULL),
                 2);
    size_t n;
    char *trace = slurp(FB_PATH, &n);
    cr_assert(n > 4 && trace[n - 1] == '\n', "%s should end with a newline", FB_PATH);
    expect_fail_bytes(trace, n - 4, ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_ETRUNC, 527,
                      "the last line has no newline", NULL);
    free(trace);
}

Test(workload_alibaba, cut_inside_the_last_number)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n0,j_2,M1,5,50,0.1,1", ".csv",
                     WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_ETRUNC, 2,
                     "the last line has no newline", "truncated", NULL);
    cr_assert_eq(expect_read_text("0,j_1,M1,5,50,0.1,2\n0,j_2,M1,5,50,0.1,1\n", ".csv",
                                  WORKLOAD_FORMAT_ALIBABA, NULL),
                 2);
    size_t n;
    char *trace = slurp(ALI_PATH, &n);
    cr_assert(n > 0 && trace[n - 1] == '\n', "%s should end with a newline", ALI_PATH);
    free(trace);
}

/* Old Mac line ends made the whole file one line (a comment, or "expected
 * 'ports <n>', found end of file"); a BOM showed as found '\xEF\xBB\xBF...';
 * binary bytes as found ''. */
Test(workload_text, line_ends_bom_and_binary_bytes)
{
    expect_fail_text("weft-workload 1\rports 2\rjob 1 0 1 0 1\rcoflow 1 0 1 -\r0 1 5\rend 1\r",
                     ".weft", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 1,
                     "a carriage return (CR) without a line feed at column 16", "CR only",
                     NULL);
    cr_assert_eq(expect_read_text("weft-workload 1\r\nports 2\r\njob 1 0 1 0 1\r\n"
                                  "coflow 1 0 1 -\r\n0 1 5\r\nend 1\r\n",
                                  ".weft", WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    /* a leading byte-order mark is not content; one further on is named */
    cr_assert_eq(expect_read_text("\xEF\xBB\xBF" W_HEAD "0 1 5\nend 1\n", ".weft",
                                  WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    cr_assert_eq(expect_read_text("\xEF\xBB\xBF" "4 1\n1 0 1 0 1 1:1.0\n", ".txt",
                                  WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    expect_fail_text("weft-workload 1\nports 2\n\xEF\xBB\xBFjob 1 0 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 3,
                     "found a UTF-8 byte-order mark (U+FEFF) at column 1", NULL);
    expect_fail_text("\x89PNG\r\n\x1a\n", ".txt", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 1,
                     "found a binary byte 0x89 at column 1 (not a text file?)", NULL);
    expect_fail_text(W_HEAD "0 1 5\xff\nend 1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 5, "found a binary byte 0xFF at column 6", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:\x01\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE,
                     2, "found a binary byte 0x01 at column 13", NULL);
    expect_fail_text("0,j_\x89,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EPARSE, 1, "field 2", "found a binary byte 0x89 at column 5", NULL);
}

/* What an error quotes of a field is named a binary byte exactly where no
 * text has that byte: a space, a tab and UTF-8 of 2 to 4 bytes (lead bytes
 * 0xC2 to 0xF4) are quoted; a control character, DEL, an overlong lead
 * (0xC0, 0xC1), a lead above U+10FFFF's (0xF5), a sequence cut by the end
 * of the field or broken by a byte that does not continue it are named,
 * and so is a C1 control character (U+0080 to U+009F, 0xC2 0x80-0x9F).
 * The Alibaba reader's job names are fields that may hold any byte. */
Test(workload_alibaba, a_quoted_field_names_exactly_the_bytes_no_text_has)
{
    static const struct {
        const char *name, *found;
    } cases[] = {
        {"j_a b", "found 'j_a b'"},
        {"j_a\tb", "found 'j_a\tb'"},
        {"j_\xC2\xA9", "found 'j_\xC2\xA9'"},
        {"j_\xDF\xBF\xE0\xA0\x80", "found 'j_\xDF\xBF\xE0\xA0\x80'"},
        {"j_\xF4\x8F\xBF\xBF", "found 'j_\xF4\x8F\xBF\xBF'"},
        {"j_\x1F", "found a binary byte 0x1F at column 5"},
        {"j_\x7F", "found a binary byte 0x7F at column 5"},
        {"j_\xC0\x80", "found a binary byte 0xC0 at column 5"},
        {"j_\xC1\xBF", "found a binary byte 0xC1 at column 5"},
        {"j_\xF5\x80\x80\x80", "found a binary byte 0xF5 at column 5"},
        {"j_\xE2\x82", "found a binary byte 0xE2 at column 5"},
        {"j_\xE2\x28\xA1", "found a binary byte 0xE2 at column 5"},
        {"j_\xC2\x89", "found a control character U+0089 at column 5"},
        {"j_\xC2\x9B", "found a control character U+009B at column 5"},
        {"j_\xC2\xA0", "found 'j_\xC2\xA0'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char csv[64];
        snprintf(csv, sizeof csv, "0,%s,M1,5,50,0.1,2\n", cases[i].name);
        expect_fail_text(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 1,
                         "field 2: expected a job name 'j_<number>'", cases[i].found, NULL);
    }
}

/* An error quotes a field of up to 40 bytes whole, a longer one cut to its
 * first 40 with "...", or fewer where a character would be cut. */
Test(workload_alibaba, a_quoted_field_is_cut_after_40_bytes)
{
    const char *forty = "j_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";
    cr_assert_eq(strlen(forty), 40);
    char csv[128], want[128];
    snprintf(csv, sizeof csv, "0,%s,M1,5,50,0.1,2\n", forty);
    snprintf(want, sizeof want, "found '%s'", forty);
    expect_fail_text(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 1, want, NULL);
    snprintf(csv, sizeof csv, "0,%sM,M1,5,50,0.1,2\n", forty);
    snprintf(want, sizeof want, "found '%s...'", forty);
    expect_fail_text(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 1, want, NULL);
    /* a character across the 40th byte is left out whole, not cut in two */
    snprintf(csv, sizeof csv, "0,%.39s\xC2\xA9M,M1,5,50,0.1,2\n", forty);
    snprintf(want, sizeof want, "found '%.39s...'", forty);
    expect_fail_text(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 1, want, NULL);
}

/* Two flows of 1.7e308 bytes read and summed to inf. */
Test(workload_text, sizes_above_2_to_60)
{
    expect_fail_text(W_HEAD "0 1 1.7e308\nend 1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EINVAL, 5, "job 1 coflow 1: a flow of 1.7e+308 bytes",
                     "more than 2^60 bytes", NULL);
    cr_assert_eq(expect_read_text(W_HEAD "0 1 1152921504606846976\nend 1\n", ".weft",
                                  WORKLOAD_FORMAT_WEFT, NULL),
                 1);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 2 -\n0 1 6e17\n"
                     "1 0 6e17\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 6,
                     "the coflow's flows add up to 1.2e+18 bytes", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 2\ncoflow 1 0 1 -\n0 1 6e17\n"
                     "coflow 2 0 1 -\n1 0 6e17\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 7,
                     "job 1 coflow 2: the job's flows add up to 1.2e+18 bytes", NULL);
}

Test(workload_fb, sizes_above_2_to_60)
{
    expect_fail_text("4 1\n1 0 1 0 1 1:2e12\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL,
                     2, "coflow 1: reducer 1 receives", "more than 2^60 bytes", NULL);
    expect_fail_text("4 1\n1 0 1 0 2 1:6e11 2:6e11\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_EINVAL, 2, "coflow 1: its reducers up to 2 receive",
                     "more than 2^60 bytes", NULL);
}

Test(workload_alibaba, sizes_above_2_to_60)
{
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    o.alibaba_bytes_per_instance = 1e17;
    expect_fail_text("0,j_1,M1,5,50,0.1,150\n", ".csv", WORKLOAD_FORMAT_ALIBABA, &o,
                     WEFT_EINVAL, 0, "job j_1: its flows add up to 1.5e+19 bytes",
                     "more than 2^60 bytes", NULL);
}

/* "job 0 1e15 ..." read, and the job's JCT came out 0: finish - arrival
 * rounds away at 1e15 s. */
Test(workload_text, times_beyond_1e9_s)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 1e15 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "arrival time 1e+15 s is beyond 1e+09 s", "shift the times", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 2e9 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "final compute time 2e+09 s is beyond", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 2e9 1 -\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 4, "compute time 2e+09 s is beyond",
                     NULL);
    cr_assert_eq(expect_read_text("weft-workload 1\nports 2\njob 1 1e9 1 1e9 1\n"
                                  "coflow 1 1e9 1 -\n0 1 5\nend 1\n",
                                  ".weft", WORKLOAD_FORMAT_WEFT, NULL),
                 1);
}

Test(workload_fb, times_beyond_1e9_s)
{
    expect_fail_text("4 1\n1 1e15 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL,
                     2, "coflow 1 arrives at 1e+15 ms, beyond 1e+12 ms",
                     "shift the arrivals", NULL);
    cr_assert_eq(expect_read_text("4 1\n1 1e12 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL),
                 1);
}

Test(workload_alibaba, times_beyond_1e9_s)
{
    expect_fail_text("2e9,j_1,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 1: arrival time 2e+09 s is beyond", NULL);
    expect_fail_text("0,j_1,M1,2e9,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 4: duration 2e+09 s is beyond", NULL);
}

/* a -> b sends files x and y; b -> c sends z. */
#define WF_ABC(x, y, z, rt_a, rt_b)                                                            \
    WF_HEAD "\"files\": [{\"id\": \"x\", \"sizeInBytes\": " x "}, {\"id\": \"y\", "            \
            "\"sizeInBytes\": " y "}, {\"id\": \"z\", \"sizeInBytes\": " z "}],"              \
            "\"tasks\": ["                                                                     \
            "{\"id\": \"a_ID1\", \"outputFiles\": [\"x\", \"y\"]},"                           \
            "{\"id\": \"b_ID2\", \"parents\": [\"a_ID1\"], \"inputFiles\": [\"x\", \"y\"], "   \
            "\"outputFiles\": [\"z\"]},"                                                       \
            "{\"id\": \"c_ID3\", \"parents\": [\"b_ID2\"], \"inputFiles\": [\"z\"]}]},"        \
            "\"execution\": {\"tasks\": [{\"id\": \"a_ID1\", \"runtimeInSeconds\": " rt_a "}," \
            "{\"id\": \"b_ID2\", \"runtimeInSeconds\": " rt_b "}]}}}"

Test(workload_wfcommons, sizes_and_times_beyond_the_caps)
{
    cr_assert_eq(expect_read_text(WF_ABC("1", "2", "3", "1e9", "1e9"), ".json",
                                  WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    /* a task that ran in no time reads; one below 0 is refused */
    cr_assert_eq(expect_read_text(WF_ABC("1", "2", "3", "0", "0"), ".json",
                                  WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    expect_fail_text(WF_ABC("1", "2", "3", "1", "-1e-300"), ".json", WORKLOAD_FORMAT_AUTO,
                     NULL, WEFT_EINVAL, 0,
                     "tasks[1].runtimeInSeconds: expected a time >= 0, found -1e-300", NULL);
    expect_fail_text(WF_ABC("2e18", "2", "3", "1", "1"), ".json", WORKLOAD_FORMAT_AUTO, NULL,
                     WEFT_EINVAL, 0, "files[0].sizeInBytes: 2e+18 bytes, more than 2^60", NULL);
    expect_fail_text(WF_ABC("6e17", "6e17", "3", "1", "1"), ".json", WORKLOAD_FORMAT_AUTO,
                     NULL, WEFT_EINVAL, 0, "coflow 1 (stage 0 -> stage 1) moves 1.2e+18 bytes",
                     NULL);
    expect_fail_text(WF_ABC("6e17", "0", "6e17", "1", "1"), ".json", WORKLOAD_FORMAT_AUTO,
                     NULL, WEFT_EINVAL, 0, "coflows 1..2 move 1.2e+18 bytes in all", NULL);
    expect_fail_text(WF_ABC("1", "2", "3", "2e9", "1"), ".json", WORKLOAD_FORMAT_AUTO, NULL,
                     WEFT_EINVAL, 0, "tasks[0].runtimeInSeconds: 2e+09 s is beyond", NULL);
    /* a -> b moves no bytes, so b's compute time adds a's */
    expect_fail_text(WF_ABC("0", "0", "3", "1e9", "1e9"), ".json", WORKLOAD_FORMAT_AUTO, NULL,
                     WEFT_EINVAL, 0, "the compute time of stage 1", "2e+09 s", NULL);
}

/* ------------------------------------------------------------ CLI */

TestSuite(workload_convert, .timeout = 60);

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(workload_convert, converts_and_reports_usage)
{
    const char *bin = getenv("WEFT_BIN");
    if (!bin) { /* not cr_skip_test: see every_shared_file_... */
        fprintf(stderr, "note: WEFT_BIN not set (run through ctest): CLI not checked\n");
        return;
    }
    char *out = temp_file("", ".weft");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s convert %s -o %s 2>/dev/null", bin, FB_PATH, out);
    cr_assert_eq(run(cmd), 0);
    coflow_workload_t a, b;
    cr_assert_eq(workload_read(&a, out, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(workload_read(&b, FB_PATH, WORKLOAD_FORMAT_FB, NULL), WEFT_OK);
    assert_same_workload(&a, &b);
    coflow_workload_destroy(&a);
    coflow_workload_destroy(&b);
    snprintf(cmd, sizeof cmd, "%s convert --wf-ports 0 %s >/dev/null 2>&1", bin, FB_PATH);
    cr_assert_eq(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s convert >/dev/null 2>&1", bin);
    cr_assert_eq(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s convert --help >/dev/null 2>&1", bin);
    cr_assert_eq(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s convert /nonexistent.txt >/dev/null 2>&1", bin);
    cr_assert_eq(run(cmd), 1);
    unlink(out);
    free(out);
}

/* a holds b's first n jobs, whole (n < b's jobs), and nothing else. */
static void assert_first_jobs(const coflow_workload_t *a, const coflow_workload_t *b, size_t n)
{
    cr_assert_eq(a->n_jobs, n);
    const coflow_coflow_t *rest = &b->coflows[b->jobs[n].first_coflow];
    cr_assert_eq(a->n_coflows, b->jobs[n].first_coflow);
    cr_assert_eq(a->n_flows, rest->first_flow);
    cr_assert_eq(a->n_parents, rest->first_parent);
    cr_assert_eq(memcmp(a->flows, b->flows, a->n_flows * sizeof *a->flows), 0);
    if (a->n_parents)
        cr_assert_eq(memcmp(a->parents, b->parents, a->n_parents * sizeof *a->parents), 0);
    for (size_t j = 0; j < n; j++) {
        cr_assert_eq(a->jobs[j].id, b->jobs[j].id);
        cr_assert_eq(a->jobs[j].arrival_s, b->jobs[j].arrival_s);
        cr_assert_eq(a->jobs[j].n_coflows, b->jobs[j].n_coflows);
        cr_assert_eq(a->jobs[j].lower_bound_s, b->jobs[j].lower_bound_s);
    }
}

/* --max-jobs N keeps the first N jobs of every format, not of Alibaba's
 * alone: `convert FB --max-jobs 5` wrote all 526. A weft workload's DAGs
 * keep their parents; a WfCommons workflow is one job. */
Test(workload_convert, max_jobs_keeps_the_first_jobs_of_every_format)
{
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    o.max_jobs = 5;
    coflow_workload_t a, b;
    cr_assert_eq(workload_read(&a, FB_PATH, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(workload_read(&b, FB_PATH, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
    assert_first_jobs(&a, &b, 5);
    coflow_workload_destroy(&a);
    const char *bin = getenv("WEFT_BIN");
    if (bin) { /* through the command */
        char *out = temp_file("", ".weft"), cmd[2048];
        snprintf(cmd, sizeof cmd, "%s convert %s --max-jobs 5 -o %s 2>/dev/null", bin, FB_PATH,
                 out);
        cr_assert_eq(run(cmd), 0);
        cr_assert_eq(workload_read(&a, out, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
        assert_first_jobs(&a, &b, 5);
        coflow_workload_destroy(&a);
        unlink(out);
        free(out);
    }
    coflow_workload_destroy(&b);

    char *dag = temp_file("weft-workload 1\nports 3\n"
                          "job 7 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n"
                          "job 3 1 1 0 3\ncoflow 1 0 1 -\n0 1 5\ncoflow 2 0 2 1\n1 2 5\n2 0 5\n"
                          "coflow 3 0 1 1,2\n0 2 5\n"
                          "job 5 2 1 0 2\ncoflow 4 0 1 -\n0 1 5\ncoflow 6 0 1 4\n1 0 5\n"
                          "end 3\n", ".weft");
    o.max_jobs = 2;
    cr_assert_eq(workload_read(&a, dag, WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(workload_read(&b, dag, WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
    assert_first_jobs(&a, &b, 2);
    cr_assert_eq(a.n_parents, 3);
    round_trip(&a);
    coflow_workload_destroy(&a);
    coflow_workload_destroy(&b);
    unlink(dag);
    free(dag);

    o.max_jobs = 1;
    cr_assert_eq(workload_read(&a, WF_DIR "/blast-chameleon-small-001.json",
                               WORKLOAD_FORMAT_AUTO, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(workload_read(&b, WF_DIR "/blast-chameleon-small-001.json",
                               WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
    assert_same_workload(&a, &b);
    coflow_workload_destroy(&a);
    coflow_workload_destroy(&b);
}

/* An option of one format given for an input of another is a usage error
 * naming both, before the input is read (a broken one is not reached) and
 * with nothing written: --fb-mb-bytes on a weft workload or --wf-ports on
 * an FB trace were ignored, and convert exited 0. */
Test(workload_convert, an_option_of_another_format_is_a_usage_error)
{
    cli_open("fmtopt");
    NEED_BIN();
    cli_write("w.weft", "weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nend 1\n");
    cli_write("cut.weft", "weft-workload 1\nports 2\njob 1 0 1 0 1\n");
    static const struct {
        const char *input, *opts, *refused, *is; /* input: in cli_dir if no '/' */
    } cases[] = {
        {"w.weft", "--wf-ports 4 --fb-mb-bytes 1000000", "--fb-mb-bytes applies to FB traces",
         "a weft workload (guessed"},
        {"cut.weft", "--wf-seed 2", "--wf-seed applies to WfCommons workflows",
         "a weft workload (guessed"},
        {"w.weft", "-f weft --skip-independent", "--skip-independent applies to Alibaba traces",
         "a weft workload (--format weft)"},
        {WF_DIR "/srasearch-chameleon-10a-001.json", "--max-jobs 1 --fb-mb-bytes 5",
         "--fb-mb-bytes applies to FB traces", "a WfCommons workflow"},
        {FB_PATH, "--wf-ports 4", "--wf-ports applies to WfCommons workflows", "an FB trace"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char input[512], want[1024];
        snprintf(input, sizeof input, "%s%s%s", strchr(cases[i].input, '/') ? "" : cli_dir,
                 strchr(cases[i].input, '/') ? "" : "/", cases[i].input);
        cr_assert_eq(cli("convert %s %s -o %s/o.weft", input, cases[i].opts, cli_dir), 2,
                     "%s %s: %s", input, cases[i].opts, cli_file("err"));
        snprintf(want, sizeof want, "%s only, but %s is %s", cases[i].refused, input,
                 cases[i].is);
        cr_assert(strstr(cli_file("err"), want), "no '%s' in: %s", want, cli_file("err"));
        cr_assert(!cli_exists("o.weft"), "%s %s: written", input, cases[i].opts);
    }
    /* each format's own options are taken */
    cr_assert_eq(cli("convert %s --fb-mb-bytes 1e6 --max-jobs 3 -o %s/o.weft", FB_PATH,
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("convert %s/srasearch-chameleon-10a-001.json --wf-ports 4 --wf-seed 2 "
                     "-o %s/o.weft", WF_DIR, cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("convert %s --skip-independent --max-jobs 3 -o %s/o.weft", ALI_PATH,
                     cli_dir), 0, "%s", cli_file("err"));
    /* a megabyte of no bytes, or of infinitely many, is a usage error */
    static const char *const mbs[] = {"0", "inf"};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(cli("convert %s --fb-mb-bytes %s", FB_PATH, mbs[i]), 2, "%s", mbs[i]);
        char want[64];
        snprintf(want, sizeof want, "--fb-mb-bytes '%s': expected a number > 0", mbs[i]);
        cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    }
    cli_teardown();
}

/* Each of convert's reading options reaches the reader: what `weft
 * convert` prints is, byte for byte, the workload read with that option
 * set, written out. The summary of -o counts jobs, coflows, flows and
 * bytes each; one INPUT is taken, and bad values are refused. */
Test(workload_convert, each_option_reaches_the_reader)
{
    cli_open("convopt");
    NEED_BIN();
    /* two jobs, the first with an independent task (task_x) */
    cli_write("t.csv", "0,j_1,M1,2,,,3\n0,j_1,R2_1,1,,,4\n0,j_1,task_x,1,,,5\n"
                       "1,j_2,M1,1,,,6\n1,j_2,R2_1,3,,,7\n");
    cli_write("fb.txt", "4 2\n1 0 1 0 2 1:3.0 2:1.5\n2 5 2 1 3 1 0:2.0\n");
    static const struct {
        const char *input, *opts; /* input: in cli_dir if no '/' */
        int set;                  /* which option of the reader */
    } cases[] = {
        {"t.csv", "--skip-independent --max-jobs 1", 0},
        {"fb.txt", "--fb-mb-bytes 1000", 1},
        {WF_DIR "/srasearch-chameleon-10a-001.json", "--wf-ports 3 --wf-seed 2", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char input[512];
        snprintf(input, sizeof input, "%s%s%s", strchr(cases[i].input, '/') ? "" : cli_dir,
                 strchr(cases[i].input, '/') ? "" : "/", cases[i].input);
        cr_assert_eq(cli("convert %s %s", input, cases[i].opts), 0, "%s %s: %s", input,
                     cases[i].opts, cli_file("err"));
        workload_read_opts_t ro;
        workload_read_opts_default(&ro);
        if (cases[i].set == 0)
            ro.alibaba_keep_independent = false, ro.max_jobs = 1;
        else if (cases[i].set == 1)
            ro.fb_mb_bytes = 1000;
        else
            ro.wf_ports = 3, ro.wf_seed = 2;
        coflow_workload_t wl;
        cr_assert_eq(workload_read(&wl, input, WORKLOAD_FORMAT_AUTO, &ro), WEFT_OK, "%s",
                     weft_last_error());
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        cr_assert_not_null(f);
        cr_assert_eq(workload_write_weft(&wl, f), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(fclose(f), 0);
        cr_assert_str_eq(cli_file("out"), text, "%s", cases[i].opts);
        free(text);
        coflow_workload_destroy(&wl);
    }
    cr_assert_eq(cli("convert %s/t.csv -o %s/o.weft", cli_dir, cli_dir), 0, "%s",
                 cli_file("err")); /* the summary counts each of them */
    cr_assert(strstr(cli_file("err"), "o.weft: 2 jobs, 5 coflows, 25 flows, 26214400 bytes\n"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("convert %s/t.csv --max-jobs 0", cli_dir), 2); /* no jobs: a slip */
    cr_assert(strstr(cli_file("err"), "--max-jobs '0'"), "%s", cli_file("err"));
    /* one INPUT: none, or a second, is a usage error saying which */
    cr_assert_eq(cli("convert"), 2);
    cr_assert(strstr(cli_file("err"), "weft convert: expected an INPUT file\n"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("convert %s/t.csv %s/fb.txt", cli_dir, cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "expected exactly one INPUT file"), "%s", cli_file("err"));
    cli_teardown();
}

/* ------------------------------------------------------------ inputs read once */

/* A pipe a child fills with data[0, n) and closes (more than the pipe's
 * buffer, so the reader must read while it writes); returns the read end. */
static int pipe_from(const char *data, size_t n)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork_tied(SIGKILL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fds[1], data + off, n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

/* Reads path the way a user pipes it in: its bytes through a pipe, named
 * /dev/fd/N (as bash's <(...) is), format guessed. */
static weft_err_t read_through_pipe(coflow_workload_t *wl, const char *path,
                                    const workload_read_opts_t *opts)
{
    size_t n;
    char *data = slurp(path, &n);
    int fd = pipe_from(data, n);
    char name[32];
    snprintf(name, sizeof name, "/dev/fd/%d", fd);
    weft_err_t err = workload_read(wl, name, WORKLOAD_FORMAT_AUTO, opts);
    close(fd);
    while (wait(NULL) > 0)
        ;
    free(data);
    return err;
}

/* Reads text given on standard input as "-" (stdin is put back after). */
static weft_err_t read_stdin(coflow_workload_t *wl, const char *text, size_t n,
                             workload_format_t fmt)
{
    int saved = dup(0), fd = pipe_from(text, n);
    cr_assert(saved >= 0);
    cr_assert_eq(dup2(fd, 0), 0);
    close(fd);
    clearerr(stdin);
    weft_err_t err = workload_read(wl, "-", fmt, NULL);
    cr_assert_eq(dup2(saved, 0), 0);
    close(saved);
    clearerr(stdin);
    while (wait(NULL) > 0)
        ;
    return err;
}

TestSuite(workload_input, .timeout = 60);

/* Guessing the format reads the first lines; from a pipe a second open
 * would start after them. The FB trace and a WfCommons file, each through
 * a pipe, read as from the file (the trace's 138 KB are more than two pipe
 * buffers of 64 KB, and more than the first 64 KB the input is read into). */
Test(workload_input, a_pipe_reads_as_the_file_does)
{
    const char *paths[] = {FB_PATH, WF_DIR "/blast-chameleon-small-001.json"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        coflow_workload_t a, b;
        cr_assert_eq(read_through_pipe(&a, paths[i], NULL), WEFT_OK, "%s: %s", paths[i],
                     weft_last_error());
        cr_assert_eq(workload_read(&b, paths[i], WORKLOAD_FORMAT_AUTO, NULL), WEFT_OK);
        assert_same_workload(&a, &b);
        coflow_workload_destroy(&a);
        coflow_workload_destroy(&b);
    }
}

Test(workload_input, dash_is_standard_input)
{
    const char *text = "# piped\nweft-workload 1\nports 2\njob 7 0 1 0 1\ncoflow 1 0 1 -\n"
                       "0 1 1000\nend 1\n";
    coflow_workload_t a;
    cr_assert_eq(read_stdin(&a, text, strlen(text), WORKLOAD_FORMAT_AUTO), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(a.n_jobs, 1);
    cr_assert_eq(a.n_flows, 1);
    cr_assert_eq(a.flows[0].bytes, 1000);
    coflow_workload_destroy(&a);
    /* with the format given as well; a FB header could not say weft */
    const char *fb = "2 1\n1 0 1 0 1 1:1\n";
    cr_assert_eq(read_stdin(&a, fb, strlen(fb), WORKLOAD_FORMAT_FB), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(a.n_flows, 1);
    coflow_workload_destroy(&a);
}

/* A bad standard input is named "<stdin>" with its line, an empty one
 * says so, and the workload is left empty. */
Test(workload_input, errors_name_standard_input)
{
    coflow_workload_t wl;
    const char *bad = "weft-workload 1\nports 2\njob 7 zero 1 0 1\n";
    cr_assert_eq(read_stdin(&wl, bad, strlen(bad), WORKLOAD_FORMAT_AUTO), WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "<stdin>:3:"), "%s", weft_last_error());
    assert_empty(&wl);
    cr_assert_eq(read_stdin(&wl, "", 0, WORKLOAD_FORMAT_AUTO), WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "<stdin>: the input is empty"), "%s",
              weft_last_error());
    assert_empty(&wl);
    const char *json = "{\n  \"workflow\": [1,\n";
    cr_assert_eq(read_stdin(&wl, json, strlen(json), WORKLOAD_FORMAT_AUTO), WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "<stdin>:") &&
                  strstr(weft_last_error(), "expected WfFormat JSON"),
              "%s", weft_last_error());
    assert_empty(&wl);
}

/* A directory opens for reading: every format's reader refuses it as a
 * directory, not as a read error at its line 1 ("data:1: read error"). */
Test(workload_input, a_directory_is_named_as_one)
{
    const workload_format_t fmts[] = {WORKLOAD_FORMAT_AUTO, WORKLOAD_FORMAT_WEFT,
                                      WORKLOAD_FORMAT_FB, WORKLOAD_FORMAT_ALIBABA,
                                      WORKLOAD_FORMAT_WFCOMMONS};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        coflow_workload_t wl;
        cr_assert_eq(workload_read(&wl, WF_DIR, fmts[i], NULL), WEFT_EIO, "format %zu", i);
        cr_assert_str_eq(weft_last_error(),
                         WF_DIR ": is a directory, expected a workload file");
        assert_empty(&wl);
        coflow_workload_destroy(&wl);
    }
}

/* `weft gen | weft sim -` and `weft sim <(...)`: the same schedules as
 * from the file. */
Test(workload_input, weft_sim_reads_a_pipe)
{
    const char *bin = getenv("WEFT_BIN");
    if (!bin) { /* not cr_skip_test: see every_shared_file_... */
        fprintf(stderr, "note: WEFT_BIN not set (run through ctest): CLI not checked\n");
        return;
    }
    char dir[] = "/tmp/weft-test-pipe-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s gen --jobs 12 --seed 5 -o %s/w.weft 2>/dev/null && "
             "%s sim %s/w.weft --policy sebf --out %s/file >/dev/null && "
             "cat %s/w.weft | %s sim - --policy sebf --out %s/pipe >%s/table && "
             "cmp %s/file/sebf-coflows.csv %s/pipe/sebf-coflows.csv && "
             "cmp %s/file/sebf-jobs.csv %s/pipe/sebf-jobs.csv",
             bin, dir, bin, dir, dir, dir, bin, dir, dir, dir, dir, dir, dir);
    cr_assert_eq(run(cmd), 0, "%s", cmd);
    size_t n;
    char path[128];
    snprintf(path, sizeof path, "%s/table", dir);
    char *table = slurp(path, &n); /* headed as messages name the input */
    cr_assert(!strncmp(table, "workload <stdin>: 12 jobs", 25), "%s", table);
    free(table);
    snprintf(cmd, sizeof cmd, "%s sim - --policy sebf </dev/null 2>%s/err >/dev/null", bin,
             dir);
    cr_assert_eq(run(cmd), 1);
    snprintf(path, sizeof path, "%s/err", dir);
    char *err = slurp(path, &n);
    cr_assert(strstr(err, "<stdin>: the input is empty"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(run(cmd), 0);
}

/* ------------------------------------------------------------ an audit's bad inputs */

/* "job 1 1000000001 ..." said "arrival time 1e+09 s is beyond 1e+09 s": %g
 * rounded the value onto the limit. Values just above a limit print with
 * the digits that show it. */
Test(workload_text, times_just_beyond_the_limit_show_their_digits)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 1000000001 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "arrival time 1000000001 s is beyond 1e+09 s", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 1000000000.5 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "final compute time 1000000000.5 s is beyond 1e+09 s", NULL);
    expect_fail_text("1000000001,j_1,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EINVAL, 1, "field 1: arrival time 1000000001 s is beyond 1e+09 s",
                     NULL);
    expect_fail_text("4 1\n1 1000000000001 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_EINVAL, 2, "coflow 1 arrives at 1000000000001 ms, beyond 1e+12 ms",
                     NULL);
    /* the next double above 2^60 printed as 1.15292e+18, "more than 2^60" */
    expect_fail_text(W_HEAD "0 1 1152921504606847232\nend 1\n", ".weft", WORKLOAD_FORMAT_WEFT,
                     NULL, WEFT_EINVAL, 5, "a flow of 1.1529215046068472e+18 bytes",
                     "more than 2^60 bytes", NULL);
}

/* "2 -100 ..." said "job 2: arrival time -0.1, expected a finite number
 * >= 0": seconds without a unit, in a file that counts in ms. */
Test(workload_fb, negative_arrival_in_ms)
{
    expect_fail_text("4 2\n1 0 1 0 1 1:1\n2 -100 1 3 1 0:4.0\n", ".txt", WORKLOAD_FORMAT_FB,
                     NULL, WEFT_EINVAL, 3, "coflow 2 arrives at -100 ms",
                     "expected a finite number of ms >= 0", NULL);
    expect_fail_text("4 1\n1 nan 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL,
                     2, "coflow 1 arrives at nan ms", NULL);
}

/* A file cut inside its last line (no newline after it) failed like a typo:
 * ":9: expected a job id, found end of line". Now the detail says the line
 * may be the cut; a line with its newline, or an error about another line,
 * gets no such hint. */
Test(workload_text, cut_inside_the_last_line)
{
    const char *hint = "(the last line has no newline: is the file truncated?)";
    expect_fail_text(W_HEAD "0 1 5\njob ", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "expected a job id, found end of line", hint, NULL);
    expect_fail_text(W_HEAD "0 1", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 5,
                     "expected a size in bytes, found end of line", hint, NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4, "expected its parent ids",
                     hint, NULL);
    /* "end 1" of "end 12" */
    expect_fail_text(W_HEAD "0 1 5\njob 2 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nen", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 9, hint, NULL);
    /* the same lines with their newline: an ordinary error */
    char *path = temp_file(W_HEAD "0 1 5\njob \n", ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_WEFT, NULL), WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "expected a job id, found end of line"), "%s",
              weft_last_error());
    cr_assert_null(strstr(weft_last_error(), "newline"), "%s", weft_last_error());
    unlink(path);
    free(path);
    /* an error about an earlier line: the cycle, named on the job's line */
    path = temp_file("weft-workload 1\nports 2\njob 1 0 1 0 2\ncoflow 1 0 1 2\n0 1 5\n"
                     "coflow 2 0 1 1\n1 0 5\nend 1",
                     ".weft");
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_WEFT, NULL), WEFT_ECYCLE);
    cr_assert_null(strstr(weft_last_error(), "newline"), "%s", weft_last_error());
    unlink(path);
    free(path);
    /* a complete file without its last newline still reads */
    cr_assert_eq(expect_read_text(W_HEAD "0 1 5\nend 1", ".weft", WORKLOAD_FORMAT_WEFT, NULL),
                 1);
}

Test(workload_fb, cut_inside_the_last_line)
{
    const char *hint = "(the last line has no newline: is the file truncated?)";
    /* "0:0" of "0:0.5" */
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 1 2 1 0:0", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_EINVAL, 3, "coflow 2: reducer 0 receives 0 MB", hint, NULL);
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 1 2 2 0:1", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_ETRUNC, 3, "expected 2 reducers 'port:MB', found end of line after 1",
                     hint, NULL);
    expect_fail_text("4 2\n1 0 1 0 1 1:1.0\n2 5 1", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_ETRUNC, 3, "expected 1 mapper ports", hint, NULL);
    /* with its newline the line is just wrong */
    char *path = temp_file("4 2\n1 0 1 0 1 1:1.0\n2 5 1 2 1 0:0\n", ".txt");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_FB, NULL), WEFT_EINVAL);
    cr_assert_null(strstr(weft_last_error(), "newline"), "%s", weft_last_error());
    unlink(path);
    free(path);
}

Test(workload_alibaba, cut_inside_the_last_line)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n0,j_2,M1,5", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL,
                     WEFT_EPARSE, 2, "expected 7 comma-separated fields", "found 4",
                     "(the last line has no newline: is the file truncated?)", NULL);
}

/* A BOM before WfFormat JSON: "'[' or '{' expected near '\xEF\xBB\xBF'", an
 * invisible character. The text formats skip it; so does the JSON reader,
 * from a file and from standard input. */
Test(workload_wfcommons, byte_order_mark_is_skipped)
{
    cr_assert_eq(expect_read_text("\xEF\xBB\xBF" WF_ABC("1", "2", "3", "1", "1"), ".json",
                                  WORKLOAD_FORMAT_AUTO, NULL),
                 1);
    const char *text = "\xEF\xBB\xBF" WF_ABC("1", "2", "3", "1", "1");
    coflow_workload_t wl;
    cr_assert_eq(read_stdin(&wl, text, strlen(text), WORKLOAD_FORMAT_AUTO), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_coflows, 2);
    coflow_workload_destroy(&wl);
    /* a syntax error after it is placed as in the file: line 1, column 3 */
    expect_fail_text("\xEF\xBB\xBF{]", ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 0,
                     ":1:3: expected WfFormat JSON", NULL);
    /* and one on a later line, where the mark is no column, at its column */
    expect_fail_text("\xEF\xBB\xBF{\n ]", ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EPARSE, 0,
                     ":2:2: expected WfFormat JSON", NULL);
}

/* A 400-digit flow size read as inf and was refused as "has size inf
 * bytes", a number the file does not hold. */
Test(workload_text, number_too_large_for_a_double)
{
    char text[1024], digits[401];
    memset(digits, '5', 400);
    digits[400] = '\0';
    snprintf(text, sizeof text, W_HEAD "0 1 %s\nend 1\n", digits);
    expect_fail_text(text, ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 5,
                     "expected a size in bytes, found '5555", "too large for a double", NULL);
    char *path = temp_file(text, ".weft");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_WEFT, NULL), WEFT_EINVAL);
    cr_assert_null(strstr(weft_last_error(), "inf"), "%s", weft_last_error());
    unlink(path);
    free(path);
    expect_fail_text("weft-workload 1\nports 2\njob 1 1e999 1 0 1\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EINVAL, 3,
                     "expected an arrival time in seconds, found '1e999'",
                     "too large for a double", NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:1e400\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL,
                     2, "expected a reducer's MB, found '1e400'", "too large for a double",
                     NULL);
    /* "inf" written out is read, then refused by the range check, as the
     * format says; numbers that underflow are read (a written subnormal
     * reads back) */
    expect_fail_text(W_HEAD "0 1 inf\nend 1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EINVAL, 5, "has size inf bytes", NULL);
    cr_assert_eq(expect_read_text("weft-workload 1\nports 2\njob 1 4.9406564584124654e-324 1 "
                                  "0 1\ncoflow 1 0 1 -\n0 1 5\nend 1\n",
                                  ".weft", WORKLOAD_FORMAT_WEFT, NULL),
                 1);
}

/* A line of numbers before any coflow is no flow past a coflow's count:
 * there is no coflow to name. */
Test(workload_text, numbers_before_any_coflow_are_no_extra_flow)
{
    expect_fail_text("weft-workload 1\nports 2\n0 1 5\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 3, ":3: expected 'job ...', 'coflow ...' or 'end', found '0'",
                     NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\n0 1 5\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     ":4: expected 'coflow ...', found '0'", NULL);
}

/* A count scans up to 2^64 - 1 exactly: that many flows is read as a
 * number (the file then lacks the flows), one more is refused as too
 * large. */
Test(workload_text, a_count_scans_up_to_2_to_64_minus_1)
{
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 18446744073709551615 -\n"
                     "0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 6,
                     "expected flow 2 of 18446744073709551615 of coflow 1", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 18446744073709551616 -\n"
                     "0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4,
                     "expected the number of flows (at most 18446744073709551615), found "
                     "'18446744073709551616'",
                     NULL);
}

/* The format asks for a blank before a '#' comment, and "1#z" as a port was
 * refused, but "500#x" as a size, "-#c" as the parents and "end 1#x" read.
 * A number (or '-') must now end at a blank or the end of the line. */
Test(workload_text, comment_needs_a_blank_before_it)
{
    expect_fail_text(W_HEAD "0 1 500#x\nend 1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 5, "expected a size in bytes, found '500#x'",
                     "a comment needs a blank before '#'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -#c\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 4, "found '-#c'", NULL);
    expect_fail_text(W_HEAD "0 1 5\nend 1#x\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 6, "expected the number of jobs after 'end', found '1#x'",
                     NULL);
    expect_fail_text("weft-workload 1\nports 2#y\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 2, "expected the number of ports, found '2#y'", NULL);
    expect_fail_text("weft-workload 1#x\nports 2\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 1, "found '1#x'", NULL);
    expect_fail_text("weft-workload 1\nports 2\njob 1 0 1 0 1#x\n", ".weft",
                     WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE, 3,
                     "expected the number of coflows, found '1#x'", NULL);
    /* with the blank they are comments */
    cr_assert_eq(expect_read_text("weft-workload 1 #x\nports 2\t# y\njob 1 0 1 0 1 #x\n"
                                  "coflow 1 0 1 - #c\n0 1 500 #x\nend 1 #x\n",
                                  ".weft", WORKLOAD_FORMAT_WEFT, NULL),
                 1);
    /* the Facebook trace has no comments, so no hint of them */
    char *path = temp_file("4 1\n1 0 1 0#x 1 1:1\n", ".txt");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_FB, NULL), WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "expected a mapper port, found '0#x'"), "%s",
              weft_last_error());
    cr_assert_null(strstr(weft_last_error(), "comment"), "%s", weft_last_error());
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ the commands on bad inputs */

TestSuite(workload_cli, .timeout = 120);

/* The run's standard error holds s. */
#define ERR_HAS(s) cr_assert(strstr(cli_file("err"), (s)), "stderr lacks '%s': %s", (s), \
                             cli_file("err"))

/* A workload with no job ran: `weft sim` printed a table of zeros and
 * exited 0, and `weft eval` blamed the heuristics ("give at least one
 * heuristic to compare with"). Every command that reads a workload refuses
 * it, naming the file (for Alibaba, with the jobs skipped and why). */
Test(workload_cli, a_workload_without_jobs_is_refused)
{
    cli_open("nojobs");
    NEED_BIN();
    cli_write("empty.csv", "");
    cli_write("zero.txt", "4 0\n");
    cli_write("zero.weft", "weft-workload 1\nports 4\nend 0\n");
    cli_write("cycles.csv", "0,j_1,M1_2,10,,,1\n0,j_1,M2_1,10,,,1\n"
                            "0,j_2,M1,1,,,1\n0,j_2,R1,1,,,1\n");
    const char *files[] = {"empty.csv", "zero.txt", "zero.weft", "cycles.csv"};
    const char *cmds[] = {"sim --policy sebf", "inspect", "eval --policy sebf", "convert"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
            int rc = cli("%s %s/%s", cmds[c], cli_dir, files[i]);
            cr_assert_eq(rc, 1, "weft %s %s: exit %d: %s", cmds[c], files[i], rc,
                         cli_file("err"));
            char want[256];
            snprintf(want, sizeof want, "%s/%s: no jobs", cli_dir, files[i]);
            ERR_HAS(want);
            cr_assert_null(strstr(cli_file("err"), "heuristic"), "%s", cli_file("err"));
            cr_assert_null(strstr(cli_file("out"), "avgCCT"), "%s", cli_file("out"));
        }
    cr_assert_eq(cli("sim --policy sebf %s/cycles.csv", cli_dir), 1);
    ERR_HAS("no jobs: all 2 jobs were skipped (1 whose dependencies form a cycle, 1 that "
            "uses a task number twice)");
    cli_teardown();
}

/* `weft inspect FILE` names FILE as messages do and reads it as --format
 * says; its offered load is at --port-rate (1 Gbit/s by default): two
 * jobs of 6,815,744 bytes arriving 5 ms apart on 4 ports. One FILE, and
 * a bad format is a usage error. */
Test(workload_cli, inspect_names_its_input_and_takes_format_and_rate)
{
    cli_open("inspect");
    NEED_BIN();
    cli_write("fb.txt", "4 2\n1 0 1 0 2 1:3.0 2:1.5\n2 5 2 1 3 1 0:2.0\n");
    cr_assert_eq(cli("inspect %s/fb.txt", cli_dir), 0, "%s", cli_file("err"));
    char want[128];
    snprintf(want, sizeof want, "%s/fb.txt\n  jobs                          2\n", cli_dir);
    cr_assert(!strncmp(cli_file("out"), want, strlen(want)), "%s", cli_file("out"));
    cr_assert(strstr(cli_file("out"), "offered load             2.7263   bytes / (span x 4 "
                     "ports x 1 Gbit/s)\n"), "%s", cli_file("out"));
    cr_assert_eq(cli("inspect --port-rate 2Gbps - < %s/fb.txt", cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert(!strncmp(cli_file("out"), "<stdin>\n", 8), "%s", cli_file("out"));
    cr_assert(strstr(cli_file("out"), "offered load             1.3631   bytes / (span x 4 "
                     "ports x 2 Gbit/s)\n"), "%s", cli_file("out"));
    cr_assert_eq(cli("inspect --format weft %s/fb.txt", cli_dir), 1);
    cr_assert_eq(cli("inspect --format nope %s/fb.txt", cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "weft inspect: --format: "), "%s", cli_file("err"));
    cr_assert_eq(cli("inspect"), 2);
    cr_assert(strstr(cli_file("err"), "which file?"), "%s", cli_file("err"));
    cr_assert_eq(cli("inspect %s/fb.txt %s/fb.txt", cli_dir, cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "one workload file at a time"), "%s", cli_file("err"));
    cli_teardown();
}

/* Alibaba jobs with a cycle or a task number used twice are skipped; only
 * `weft convert` said so. sim, inspect and eval say it too, in the same
 * words. */
Test(workload_cli, skipped_alibaba_jobs_are_noted)
{
    cli_open("notes");
    NEED_BIN();
    cli_write("t.csv", "0,j_1,M1_2,10,,,1\n0,j_1,M2_1,10,,,1\n0,j_2,M1,1,,,1\n"
                       "0,j_2,R1,1,,,1\n7,j_3,M1,5,,,1\n7,j_3,R2_1_9,5,,,1\n");
    const char *cmds[] = {"sim", "inspect", "eval", "convert"};
    for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
        int rc = cli("%s %s %s/t.csv", cmds[c],
                     strcmp(cmds[c], "sim") && strcmp(cmds[c], "eval") ? "" : "--policy sebf",
                     cli_dir);
        cr_assert_eq(rc, 0, "weft %s: exit %d: %s", cmds[c], rc, cli_file("err"));
        char want[160];
        snprintf(want, sizeof want, "weft %s: note: skipped 1 job whose dependencies form a "
                 "cycle", cmds[c]);
        ERR_HAS(want);
        snprintf(want, sizeof want, "weft %s: note: skipped 1 job that uses a task number "
                 "twice", cmds[c]);
        ERR_HAS(want);
        snprintf(want, sizeof want, "weft %s: note: dropped 1 dependency on", cmds[c]);
        ERR_HAS(want);
    }
    /* the counts speak of one in the singular, of two in the plural */
    cli_write("i.csv", "0,j_1,task_a,1,,,1\n0,j_1,M1,1,,,1\n0,j_2,task_b,1,,,1\n"
                       "0,j_2,task_c,1,,,1\n");
    cr_assert_eq(cli("convert --skip-independent %s/i.csv -o %s/i.weft", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    ERR_HAS("weft convert: note: left out 3 independent tasks, and 1 job that had no other "
            "task\n");
    cli_teardown();
}

/* ------------------------------------------------------------ mutation-tested */

/* Reads text (written to a temp file, removed after) in fmt into *wl and
 * asserts it reads. */
static void read_ok(const char *text, const char *suffix, workload_format_t fmt,
                    coflow_workload_t *wl)
{
    char *path = temp_file(text, suffix);
    cr_assert_eq(workload_read(wl, path, fmt, NULL), WEFT_OK, "%s", weft_last_error());
    unlink(path);
    free(path);
}

/* A unit of 0 bytes per MB (or per instance, or 0 ports to place tasks on)
 * is refused before the file is read: a header with no coflows would
 * otherwise read, and a reducer's error would blame the file. */
Test(workload_fb, options_out_of_range_are_refused)
{
    const double bad_mb[] = {0, -1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_mb / sizeof *bad_mb; i++) {
        workload_read_opts_t o;
        workload_read_opts_default(&o);
        o.fb_mb_bytes = bad_mb[i];
        char want[64];
        snprintf(want, sizeof want, "bytes per MB %g, expected a finite number > 0", bad_mb[i]);
        expect_fail_text("4 0\n", ".txt", WORKLOAD_FORMAT_FB, &o, WEFT_EINVAL, 0, want, NULL);
    }
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    o.alibaba_bytes_per_instance = 0;
    expect_fail_text("0,j_1,M1,1,,,1\n", ".csv", WORKLOAD_FORMAT_ALIBABA, &o, WEFT_EINVAL, 0,
                     "bytes per instance 0, expected a finite number > 0", NULL);
    const char *wf = "{\"workflow\": {\"specification\": {\"files\": [], \"tasks\": []}}}";
    const size_t bad_ports[] = {0, (size_t)UINT32_MAX + 1};
    for (size_t i = 0; i < 2; i++) {
        workload_read_opts_default(&o);
        o.wf_ports = bad_ports[i];
        char want[80];
        snprintf(want, sizeof want, "%zu ports to place workflow tasks on, expected 1..%u",
                 bad_ports[i], UINT32_MAX);
        expect_fail_text(wf, ".json", WORKLOAD_FORMAT_WFCOMMONS, &o, WEFT_EINVAL, 0, want, NULL);
    }
}

/* A task name is letters, then numbers: every letter from A to Z and a to
 * z opens one; '@', '[', '`' and '{' (the bytes beside them) do not, so
 * such a task is independent, numbered after the job's largest task. */
Test(workload_alibaba, task_names_of_every_letter_encode_dependencies)
{
    const char *csv = "0,j_1,Z1,1,,,1\n0,j_1,a2_1,1,,,1\n0,j_1,z3_2,1,,,1\n0,j_1,A4_3,1,,,1\n"
                      "0,j_1,@5_4,1,,,1\n0,j_1,[6_4,1,,,1\n0,j_1,`7_4,1,,,1\n0,j_1,{8_4,1,,,1\n";
    coflow_workload_t wl;
    read_ok(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.n_jobs, 1);
    cr_assert_eq(wl.n_coflows, 8);
    cr_assert_eq(wl.jobs[0].depth, 4);
    int64_t ids[2];
    for (int64_t t = 2; t <= 4; t++) {
        cr_assert_eq(parent_ids(&wl, coflow_by_id(&wl, 0, t), ids, 2), 1, "task %lld",
                     (long long)t);
        cr_assert_eq(ids[0], t - 1);
    }
    for (int64_t t = 5; t <= 8; t++) /* the four others, in file order */
        cr_assert_eq(wl.coflows[coflow_by_id(&wl, 0, t)].n_parents, 0);
    coflow_workload_destroy(&wl);
}

/* A keyword glued to a '#' is the keyword, and what follows it is named as
 * a comment without its blank, not the whole line as an unknown one. */
Test(workload_text, a_keyword_glued_to_a_comment_is_named)
{
    expect_fail_text(W_HEAD "0 1 5\nend#1\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EPARSE,
                     6, "expected the number of jobs after 'end', found '#1' (a comment needs a "
                     "blank before '#')", NULL);
    expect_fail_text("weft-workload 1\nports#2\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 2, "expected the number of ports, found '#2' (a comment", NULL);
}

/* A file listed twice as the parent's output and twice as the child's
 * input moves its bytes once. */
Test(workload_wfcommons, a_file_listed_twice_on_both_sides_counts_once)
{
    const char *json =
        WF_HEAD "\"files\": [{\"id\": \"x\", \"sizeInBytes\": 10}, {\"id\": \"w\", "
                "\"sizeInBytes\": 1}], \"tasks\": ["
                "{\"id\": \"a_ID1\", \"outputFiles\": [\"x\", \"w\", \"x\"]},"
                "{\"id\": \"b_ID2\", \"parents\": [\"a_ID1\"], "
                "\"inputFiles\": [\"x\", \"x\", \"w\", \"x\"]}]}}}";
    coflow_workload_t wl;
    read_ok(json, ".json", WORKLOAD_FORMAT_AUTO, &wl);
    cr_assert_eq(wl.n_flows, 1);
    cr_assert_eq(wl.flows[0].bytes, 11.0);
    coflow_workload_destroy(&wl);
}

/* A task number of 18 digits is read (it always fits 64 bits); one of 19
 * makes the name an independent task, numbered after the largest. */
/* Task numbers of up to 18 digits read; a name of the numbered shape with
 * a longer number is refused on its line, as a job number's is, not read
 * as an independent task that would lose its place in the DAG. */
Test(workload_alibaba, task_numbers_up_to_18_digits)
{
    const char *csv = "0,j_1,M999999999999999998,1,,,1\n"
                      "0,j_1,R999999999999999999_999999999999999998,1,,,1\n"
                      "0,j_1,task_1000000000000000005,1,,,1\n";
    coflow_workload_t wl;
    read_ok(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.n_coflows, 3);
    int64_t ids[2];
    size_t c = coflow_by_id(&wl, 0, 999999999999999999);
    cr_assert_eq(parent_ids(&wl, c, ids, 2), 1);
    cr_assert_eq(ids[0], 999999999999999998);
    /* a name of another shape is independent at any length */
    cr_assert_eq(wl.coflows[2].id, 1000000000000000000); /* 999999999999999999 + 1 */
    cr_assert_eq(wl.coflows[2].n_parents, 0);
    coflow_workload_destroy(&wl);
    const char *want = "field 3: expected a task name whose numbers have at most 18 digits";
    expect_fail_text("0,j_1,M1,1,,,1\n0,j_1,M1000000000000000005,1,,,1\n", ".csv",
                     WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 2, want,
                     "found 'M1000000000000000005'", NULL);
    /* a dependency's number too, and a name of 19 digits not of the shape
       ("M1x") is still independent, so the check is the shape's alone */
    expect_fail_text("0,j_1,R2_1000000000000000005,1,,,1\n", ".csv", WORKLOAD_FORMAT_ALIBABA,
                     NULL, WEFT_EPARSE, 1, want, NULL);
    read_ok("0,j_1,M1000000000000000005x,1,,,1\n", ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.coflows[0].id, 1);
    coflow_workload_destroy(&wl);
}

/* The FB header's port count: 0 is refused on line 1, 1 port (a flow from
 * it to itself) reads. */
Test(workload_fb, zero_ports_are_refused_one_reads)
{
    expect_fail_text("0 1\n1 0 1 0 1 0:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EINVAL, 1,
                     "0 ports, expected at least 1", NULL);
    cr_assert_eq(expect_read_text("1 1\n1 0 1 0 1 0:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL), 1);
}

/* Columns on line 1 count the byte-order mark's 3 bytes, as an editor that
 * shows the raw bytes does. */
Test(workload_text, columns_after_a_byte_order_mark_count_it)
{
    expect_fail_text("\xEF\xBB\xBF" "4\x01 1\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 1,
                     "found a binary byte 0x01 at column 5", NULL);
    expect_fail_text("\xEF\xBB\xBF" "weft-workload 1\rx\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_EPARSE, 1, "a carriage return (CR) without a line feed at column 19",
                     NULL);
}

/* An empty number in a task name ("M2_", "R_1", "J3__1") makes it an
 * independent task, numbered after the job's largest task, in file order. */
Test(workload_alibaba, an_empty_number_makes_a_task_independent)
{
    const char *csv = "0,j_1,M1,1,,,1\n0,j_1,M2_,1,,,1\n0,j_1,R_1,1,,,1\n0,j_1,J3__1,1,,,1\n";
    coflow_workload_t wl;
    read_ok(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.n_coflows, 4);
    for (size_t c = 0; c < 4; c++) {
        cr_assert_eq(wl.coflows[c].id, (int64_t)c + 1);
        cr_assert_eq(wl.coflows[c].n_parents, 0);
    }
    coflow_workload_destroy(&wl);
}

/* The FB header must end its line, as every coflow line must: "4 0" cut
 * from "4 0\n" (or from "4 05\n...") reads as nothing. */
Test(workload_fb, a_header_without_a_newline_is_truncated)
{
    expect_fail_text("4 0", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_ETRUNC, 1,
                     "the last line has no newline: the file looks truncated", NULL);
    cr_assert_eq(expect_read_text("4 0\n", ".txt", WORKLOAD_FORMAT_FB, NULL), 0);
}

/* A model's magic is recognised only where a model starts: the same bytes
 * on a later line of a workload are a NUL in a damaged file. */
Test(workload_fb, a_model_magic_on_a_later_line_is_a_nul_byte)
{
    static const char text[] = "4 1\n\xaaweft-model\0\n";
    expect_fail_bytes(text, sizeof text - 1, ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                      "a NUL byte at column 12: not a text file, or a damaged one", NULL);
    static const char model[] = "\xaaweft-model\0\n";
    expect_fail_bytes(model, sizeof model - 1, ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 0,
                      "a weft model file (a learned policy's: weft model FILE reads it), not a "
                      "workload", NULL);
}

/* A weft file with nothing but blank lines and comments ends before its
 * header: the line named is the one after the last. */
Test(workload_text, an_empty_file_names_the_line_after_its_last)
{
    expect_fail_text("", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_ETRUNC, 1,
                     "expected 'weft-workload 1', found an empty file", NULL);
    expect_fail_text("# only a comment\n\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_ETRUNC, 3,
                     "expected 'weft-workload 1', found an empty file", NULL);
}

/* A file of exactly 2^60 bytes is within the cap; the next double above it
 * is not. */
Test(workload_wfcommons, a_file_of_2_to_60_bytes_reads)
{
    coflow_workload_t wl;
    read_ok(WF_ABC("1152921504606846976", "0", "0", "1", "1"), ".json", WORKLOAD_FORMAT_AUTO,
            &wl);
    cr_assert_eq(wl.n_coflows, 1);
    cr_assert_eq(wl.coflows[0].total_bytes, 0x1p60);
    coflow_workload_destroy(&wl);
    expect_fail_text(WF_ABC("1152921504606847232", "0", "0", "1", "1"), ".json",
                     WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "files[0].sizeInBytes: 1.1529215046068472e+18 bytes, more than 2^60", NULL);
}

/* Version 0 is as foreign as version 2. */
Test(workload_text, version_0_is_refused)
{
    expect_fail_text("weft-workload 0\n" "ports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\nend 1\n",
                     ".weft", WORKLOAD_FORMAT_WEFT, NULL, WEFT_EVERSION, 1,
                     "weft workload format version 0, but this build of weft reads only version "
                     "1", NULL);
}

/* The FB trace has no comments: a '#' line is a coflow id that is not one
 * (the weft format's comments are its own). */
Test(workload_fb, a_comment_line_is_not_skipped)
{
    expect_fail_text("4 1\n# a comment\n1 0 1 0 1 1:1\n", ".txt", WORKLOAD_FORMAT_FB, NULL,
                     WEFT_EPARSE, 2, "expected a coflow id, found '#'", NULL);
}

/* A file id or task id twice names the later one and, as "also", the
 * earlier, whatever order the sort leaves equal ids in. */
Test(workload_wfcommons, an_id_twice_names_both_places)
{
    expect_fail_text(WF_HEAD "\"files\": [{\"id\": \"x\", \"sizeInBytes\": 1}, {\"id\": \"y\", "
                             "\"sizeInBytes\": 1}, {\"id\": \"x\", \"sizeInBytes\": 2}], "
                             "\"tasks\": []}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "workflow.specification.files[2]: file id \"x\" appears twice (also "
                     "files[0])", NULL);
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": [{\"id\": \"a\"}, {\"id\": \"b\"}, "
                             "{\"id\": \"a\"}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_EINVAL, 0,
                     "workflow.specification.tasks[2]: task id \"a\" appears twice (also "
                     "tasks[0])", NULL);
}

/* A weft file that ends after its header names the line after it. */
Test(workload_text, a_file_ending_after_its_header_names_the_next_line)
{
    expect_fail_text("weft-workload 1\n# ports next\n", ".weft", WORKLOAD_FORMAT_WEFT, NULL,
                     WEFT_ETRUNC, 3, "expected 'ports <n>', found end of file", NULL);
}

/* A row of 8 fields is refused as one of 6 is, not read without its last. */
Test(workload_alibaba, a_row_of_too_many_fields_is_refused)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n0,j_1,M2_1,5,50,0.1,2,9\n", ".csv",
                     WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 2,
                     "expected 7 comma-separated fields", "found 8", NULL);
}

/* "j_" has no number: it is no job name, not job 0. */
Test(workload_alibaba, a_job_name_without_its_number_is_refused)
{
    expect_fail_text("0,j_,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE,
                     1, "field 2: expected a job name 'j_<number>', found 'j_'", NULL);
}

/* A job number of 18 digits is read; one of 19 may not fit, and is refused
 * saying so (it is a j_<number>: the message says which limit it passes). */
Test(workload_alibaba, job_numbers_up_to_18_digits)
{
    coflow_workload_t wl;
    read_ok("0,j_999999999999999999,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.jobs[0].id, 999999999999999999);
    coflow_workload_destroy(&wl);
    expect_fail_text("0,j_1000000000000000000,M1,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA,
                     NULL, WEFT_EPARSE, 1,
                     "field 2: expected a job name 'j_<number>' whose number has at most 18 "
                     "digits, found 'j_1000000000000000000'",
                     NULL);
}

/* Stages whose names are prefixes one of the other are apart, and sort by
 * name: "a" (of a_ID1, 4 bytes from r) before "ab" (of ab_ID2, 8 bytes),
 * as "x" (of x_ID3, 8 bytes) before "x_ID1" (of x_ID1_ID2, 4 bytes), and
 * "a" (of a_ID1) before "a_ID1" (of a_ID1_ID2, whose name starts with the
 * other task's whole id). */
Test(workload_wfcommons, stages_named_by_a_prefix_are_apart_and_sorted)
{
    static const char *names[][2] = {
        {"a_ID1", "ab_ID2"}, {"x_ID1_ID2", "x_ID3"}, {"a_ID1", "a_ID1_ID2"}};
    static const double first_bytes[] = {4, 8, 4};
    for (size_t i = 0; i < 3; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": 4}, {\"id\": \"g\", "
                         "\"sizeInBytes\": 8}], \"tasks\": ["
                         "{\"id\": \"r\", \"outputFiles\": [\"f\", \"g\"]},"
                         "{\"id\": \"%s\", \"parents\": [\"r\"], \"inputFiles\": [\"f\"]},"
                         "{\"id\": \"%s\", \"parents\": [\"r\"], \"inputFiles\": [\"g\"]}]}}}",
                 names[i][0], names[i][1]);
        coflow_workload_t wl;
        read_ok(json, ".json", WORKLOAD_FORMAT_AUTO, &wl);
        cr_assert_eq(wl.n_coflows, 2, "%s and %s", names[i][0], names[i][1]);
        cr_assert_eq(wl.flows[wl.coflows[0].first_flow].bytes, first_bytes[i], "%s",
                     names[i][0]);
        coflow_workload_destroy(&wl);
    }
}

/* Reads a workflow of task r writing file f (4 bytes) and two children of
 * r reading it, each given by its first fields ("\"id\": ..."). */
static void read_r_and_two_children(const char *a, const char *b, coflow_workload_t *wl)
{
    char json[1024];
    snprintf(json, sizeof json,
             WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": 4}], \"tasks\": ["
                     "{\"id\": \"r\", \"outputFiles\": [\"f\"]},"
                     "{%s, \"parents\": [\"r\"], \"inputFiles\": [\"f\"]},"
                     "{%s, \"parents\": [\"r\"], \"inputFiles\": [\"f\"]}]}}}",
             a, b);
    read_ok(json, ".json", WORKLOAD_FORMAT_AUTO, wl);
}

/* A stage's name ends before its last "_ID": "x_ID1_ID2" is of stage
 * "x_ID1", not of stage "x" with "x_ID3", so r sends two coflows. */
Test(workload_wfcommons, a_stage_name_ends_at_its_last_id)
{
    coflow_workload_t wl;
    read_r_and_two_children("\"id\": \"x_ID1_ID2\"", "\"id\": \"x_ID3\"", &wl);
    cr_assert_eq(wl.n_coflows, 2);
    cr_assert_eq(wl.coflows[0].n_flows, 1);
    cr_assert_eq(wl.coflows[1].n_flows, 1);
    coflow_workload_destroy(&wl);
    /* and "x" is of stage "x", as "x_ID3" is: one coflow of two flows */
    read_r_and_two_children("\"id\": \"x\"", "\"id\": \"x_ID3\"", &wl);
    cr_assert_eq(wl.n_coflows, 1);
    cr_assert_eq(wl.coflows[0].n_flows, 2);
    coflow_workload_destroy(&wl);
}

/* An error that already says the file looks truncated gets no second hint
 * that it may be. */
Test(workload_fb, a_truncation_is_said_once)
{
    char *path = temp_file("4 0", ".txt");
    coflow_workload_t wl;
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_FB, NULL), WEFT_ETRUNC);
    char want[256];
    snprintf(want, sizeof want, "%s:1: the last line has no newline: the file looks truncated "
             "(if it is complete, end it with a newline)", path);
    cr_assert_str_eq(weft_last_error(), want);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* A task that is its own parent is named where it says so. */
Test(workload_wfcommons, a_task_its_own_parent_is_named)
{
    expect_fail_text(WF_HEAD "\"files\": [], \"tasks\": [{\"id\": \"b\"}, "
                             "{\"id\": \"a\", \"parents\": [\"b\", \"a\"]}]}}}",
                     ".json", WORKLOAD_FORMAT_AUTO, NULL, WEFT_ECYCLE, 0,
                     "workflow.specification.tasks[1]: task \"a\" lists itself as a parent",
                     NULL);
}

/* An empty task name is refused, not read as an independent task. */
Test(workload_alibaba, an_empty_task_name_is_refused)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n0,j_1,,5,50,0.1,2\n", ".csv", WORKLOAD_FORMAT_ALIBABA,
                     NULL, WEFT_EPARSE, 2, "field 3: expected a task name, found ''", NULL);
}

/* A parent listed twice is one edge: one flow, its file's bytes once. */
Test(workload_wfcommons, a_parent_listed_twice_is_one_edge)
{
    coflow_workload_t wl;
    read_ok(WF_HEAD "\"files\": [{\"id\": \"f\", \"sizeInBytes\": 4}], \"tasks\": ["
                    "{\"id\": \"a\", \"outputFiles\": [\"f\"]},"
                    "{\"id\": \"b\", \"parents\": [\"a\", \"a\"], \"inputFiles\": [\"f\"]}]}}}",
            ".json", WORKLOAD_FORMAT_AUTO, &wl);
    cr_assert_eq(wl.n_flows, 1);
    cr_assert_eq(wl.flows[0].bytes, 4.0);
    coflow_workload_destroy(&wl);
}

/* a -> b moves no bytes: the coflow b -> c starts after both their
 * runtimes, not after b's alone. */
Test(workload_wfcommons, a_zero_byte_edge_delays_the_next_coflow_by_its_runtime)
{
    coflow_workload_t wl;
    read_ok(WF_ABC("0", "0", "3", "2", "5"), ".json", WORKLOAD_FORMAT_AUTO, &wl);
    cr_assert_eq(wl.n_coflows, 1);
    cr_assert_eq(wl.coflows[0].compute_s, 2.0 + 5.0);
    cr_assert_eq(wl.coflows[0].total_bytes, 3.0);
    coflow_workload_destroy(&wl);
}

/* A child that shares no file with its parent, in a stage another child
 * gets bytes in, is a dependency only: the coflow has no flow of 0 bytes
 * (which the builder refuses) for it. */
Test(workload_wfcommons, a_task_edge_without_bytes_in_a_coflow_has_no_flow)
{
    coflow_workload_t wl;
    read_ok(WF_HEAD "\"files\": [{\"id\": \"x\", \"sizeInBytes\": 10}], \"tasks\": ["
                    "{\"id\": \"a_ID1\", \"outputFiles\": [\"x\"]},"
                    "{\"id\": \"b_ID2\", \"parents\": [\"a_ID1\"], \"inputFiles\": [\"x\"]},"
                    "{\"id\": \"b_ID3\", \"parents\": [\"a_ID1\"]}]}}}",
            ".json", WORKLOAD_FORMAT_AUTO, &wl);
    cr_assert_eq(wl.n_coflows, 1);
    cr_assert_eq(wl.n_flows, 1);
    cr_assert_eq(wl.flows[0].bytes, 10.0);
    coflow_workload_destroy(&wl);
}

/* Two jobs are put in the order of their arrivals as more are, not of
 * their numbers: max_jobs 1 keeps the first to arrive. */
Test(workload_alibaba, two_jobs_are_ordered_by_arrival)
{
    const char *csv = "5,j_1,M1,1,50,0.1,1\n0,j_2,M1,1,50,0.1,1\n";
    coflow_workload_t wl;
    read_ok(csv, ".csv", WORKLOAD_FORMAT_ALIBABA, &wl);
    cr_assert_eq(wl.n_jobs, 2);
    cr_assert_eq(wl.jobs[0].id, 2);
    cr_assert_eq(wl.jobs[0].arrival_s, 0.0);
    cr_assert_eq(wl.jobs[1].id, 1);
    cr_assert_eq(wl.jobs[1].arrival_s, 5.0);
    coflow_workload_destroy(&wl);
    workload_read_opts_t o;
    workload_read_opts_default(&o);
    o.max_jobs = 1;
    char *path = temp_file(csv, ".csv");
    cr_assert_eq(workload_read(&wl, path, WORKLOAD_FORMAT_ALIBABA, &o), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(wl.n_jobs, 1);
    cr_assert_eq(wl.jobs[0].id, 2);
    coflow_workload_destroy(&wl);
    unlink(path);
    free(path);
}

/* The Alibaba trace has no comments either: a '#' line is a row of one
 * field, not a line skipped. */
Test(workload_alibaba, a_comment_line_is_not_skipped)
{
    expect_fail_text("0,j_1,M1,5,50,0.1,2\n# a note\n0,j_1,R2_1,5,50,0.1,2\n", ".csv",
                     WORKLOAD_FORMAT_ALIBABA, NULL, WEFT_EPARSE, 2,
                     "expected 7 comma-separated fields", "found 1", NULL);
}

/* The writer's summary comment says one of a thing in the singular, as
 * weft's summaries do, and more in the plural. */
Test(workload_text, the_written_summary_counts_one_job_in_the_singular)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 2);
    add_one_flow_job(&wl, 1, 0, 0, 0, 5);
    for (int n = 1; n <= 2; n++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        cr_assert_eq(workload_write_weft(&wl, f), WEFT_OK, "%s", weft_last_error());
        fclose(f);
        const char *want = n == 1 ? "\n# 1 job, 1 coflow, 1 flow; format: "
                                  : "\n# 2 jobs, 2 coflows, 2 flows; format: ";
        cr_assert(strstr(text, want), "%s", text);
        free(text);
        add_one_flow_job(&wl, 2, 0, 0, 0, 5);
    }
    coflow_workload_destroy(&wl);
}

/* A reducer is one field '<port>:<MB>': a blank after the ':', a space or
 * a tab (fields are separated by either), is refused where it is, not
 * skipped as if the MB were the next field. */
Test(workload_fb, a_blank_after_a_reducers_colon_is_refused)
{
    expect_fail_text("4 1\n1 0 1 0 1 1: 5\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE, 2,
                     "coflow 1: expected the MB of reducer 1 right after ':', found a blank",
                     NULL);
    expect_fail_text("4 1\n1 0 1 0 1 1:\t5\n", ".txt", WORKLOAD_FORMAT_FB, NULL, WEFT_EPARSE,
                     2, "coflow 1: expected the MB of reducer 1 right after ':', found a blank",
                     NULL);
}

/* A stage is named by its tasks' names, not their ids: children t2 and t3,
 * named b_ID2 and b_ID3, are one stage, so r sends them one coflow of two
 * flows (their ids alone, with no "_ID", would make two stages). */
Test(workload_wfcommons, stages_come_from_the_task_names_not_the_ids)
{
    coflow_workload_t wl;
    read_r_and_two_children("\"id\": \"t2\", \"name\": \"b_ID2\"",
                            "\"id\": \"t3\", \"name\": \"b_ID3\"", &wl);
    cr_assert_eq(wl.n_coflows, 1);
    cr_assert_eq(wl.coflows[0].n_flows, 2);
    cr_assert_eq(wl.coflows[0].total_bytes, 8.0);
    coflow_workload_destroy(&wl);
}
