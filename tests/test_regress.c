/*
 * test_regress.c - every input the fuzzers of fuzz/ ever crashed on, kept in
 * tests/regress/<target>/, fed again to its reader: each must either read
 * (and then keep the workload's invariants) or fail with a detail that says
 * more than where. A crash or a sanitizer report fails the test (Criterion
 * runs each test in its own process; scripts/test.sh runs the suites under
 * ASan + UBSan too). The seed corpora fuzz/corpus/<target>/ must read.
 *
 * Plus one test per bug found, stating exactly what the fixed reader now
 * answers. Run from the repository root, like the other suites.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn.h"
#include "workload/workload.h"

/* 0 on success; otherwise the error (its detail in weft_last_error()). The
 * workload's invariants are checked here, on success. */
static weft_err_t read_input(const char *target, const char *path)
{
    if (!strcmp(target, "model")) {
        attn_model_file_t mf;
        attn_model_init(&mf);
        weft_err_t err = attn_model_load(path, &mf);
        for (size_t i = 0; !err && i < mf.n_tensors; i++) {
            size_t n = 1;
            for (size_t d = 0; d < mf.tensors[i].ndim; d++)
                n *= mf.tensors[i].shape[d];
            cr_assert_eq(n, mf.tensors[i].n, "%s: tensor %s", path, mf.tensors[i].name);
        }
        attn_model_destroy(&mf);
        return err;
    }
    coflow_workload_t wl;
    weft_err_t err;
    if (!strcmp(target, "fb"))
        err = workload_read_fb(&wl, path, NULL);
    else if (!strcmp(target, "alibaba"))
        err = workload_read_alibaba(&wl, path, NULL);
    else if (!strcmp(target, "wfcommons"))
        err = workload_read_wfcommons(&wl, path, NULL);
    else
        err = workload_read_weft(&wl, path);
    if (err) {
        cr_assert_eq(wl.n_jobs, 0, "%s: a failed read left jobs", path);
        cr_assert_eq(wl.n_flows, 0, "%s: a failed read left flows", path);
        return err;
    }
    size_t coflows = 0, flows = 0;
    for (size_t j = 0; j < wl.n_jobs; j++)
        coflows += wl.jobs[j].n_coflows;
    for (size_t c = 0; c < wl.n_coflows; c++)
        flows += wl.coflows[c].n_flows;
    cr_assert_eq(coflows, wl.n_coflows, "%s", path);
    cr_assert_eq(flows, wl.n_flows, "%s", path);
    for (size_t f = 0; f < wl.n_flows; f++)
        cr_assert(wl.flows[f].src < wl.n_ports && wl.flows[f].dst < wl.n_ports,
                  "%s: flow %zu outside the fabric of %zu ports", path, f, wl.n_ports);
    coflow_workload_destroy(&wl);
    return WEFT_OK;
}

/* The detail must not be empty, nor only "path:line: ". */
static void assert_detail(const char *path)
{
    const char *msg = weft_last_error();
    cr_assert(msg[0], "%s: an error without a detail", path);
    size_t plen = strlen(path);
    if (!strncmp(msg, path, plen)) {
        const char *rest = msg + plen;
        while (*rest == ':' || *rest == ' ' || (*rest >= '0' && *rest <= '9'))
            rest++;
        cr_assert(*rest, "%s: the detail is only a location: '%s'", path, msg);
    }
}

/* Feeds every file of <root>/<target>/ to the target's reader: with
 * must_read, each must read; otherwise each must read or fail with a
 * detail. The file name goes to stderr first, so a crash names its input. */
static void feed_dir(const char *root, const char *target, bool must_read)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", root, target);
    DIR *d = opendir(dir);
    if (!d) /* a target the fuzzers never crashed has no folder */
        return;
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fprintf(stderr, "regress: %s\n", path);
        weft_clear_error();
        weft_err_t err = read_input(target, path);
        if (must_read)
            cr_assert_eq(err, WEFT_OK, "%s: %s", path, weft_last_error());
        else if (err)
            assert_detail(path);
        n++;
    }
    closedir(d);
    if (must_read)
        cr_assert_gt(n, 0, "%s: no seed inputs", dir);
}

/* Every test reads a few small files: 30 s is generous even under ASan. One
 * suite-wide timeout: per-test .timeout options made LeakSanitizer report a
 * leak inside libcriterion's runner under --jobs 2 (test.sh would fail). */
TestSuite(regress, .timeout = 30);

/* The crash inputs: no crash, no sanitizer report, a detail on failure. */
Test(regress, fb_inputs) { feed_dir("tests/regress", "fb", false); }
Test(regress, alibaba_inputs) { feed_dir("tests/regress", "alibaba", false); }
Test(regress, wfcommons_inputs) { feed_dir("tests/regress", "wfcommons", false); }
Test(regress, weft_inputs) { feed_dir("tests/regress", "weft", false); }
Test(regress, model_inputs) { feed_dir("tests/regress", "model", false); }

/* The seeds are real files and what weft writes: all of them read. */
Test(regress, fb_seeds) { feed_dir("fuzz/corpus", "fb", true); }
Test(regress, alibaba_seeds) { feed_dir("fuzz/corpus", "alibaba", true); }
Test(regress, wfcommons_seeds) { feed_dir("fuzz/corpus", "wfcommons", true); }
Test(regress, weft_seeds) { feed_dir("fuzz/corpus", "weft", true); }
Test(regress, model_seeds) { feed_dir("fuzz/corpus", "model", true); }

/* ------------------------------------------------ the bugs, one by one */

/* An empty CSV has no job: the reader used to qsort(NULL, 0) its job list
 * (UBSan: null pointer passed to qsort). It reads as an empty workload. */
Test(regress, alibaba_empty_file)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read_alibaba(&wl, "tests/regress/alibaba/empty-file-qsort-null.csv",
                                       NULL),
                 WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(wl.n_jobs, 0);
    coflow_workload_destroy(&wl);
}

/* A task whose first file list is empty ("outputFiles": []) before any file
 * id was stored: the reader did pointer arithmetic on a NULL array (UBSan:
 * applying zero offset to null pointer). */
Test(regress, wfcommons_empty_file_list)
{
    const char *path = "tests/regress/wfcommons/empty-output-list-null-offset.json";
    coflow_workload_t wl;
    weft_clear_error();
    weft_err_t err = workload_read_wfcommons(&wl, path, NULL);
    if (err)
        assert_detail(path);
    else
        coflow_workload_destroy(&wl);
}

/* A 13-byte FB header declaring 4294967295 ports used to allocate 4 arrays
 * of that many doubles (64 GB) for the fabric and dag_analyze(). */
Test(regress, fb_port_count_capped)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read_fb(&wl, "tests/regress/fb/header-4294967295-ports.txt", NULL),
                 WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "at most 1048576"), "%s", weft_last_error());
}

Test(regress, weft_port_count_capped)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read_weft(&wl, "tests/regress/weft/ports-4294967296.weft"),
                 WEFT_EPARSE);
    cr_assert(strstr(weft_last_error(), "at most 1048576"), "%s", weft_last_error());
}

/* Two FB lines with one id made two jobs with one id (coflow.h: unique),
 * which `weft convert` then wrote into a file weft's reader refuses. */
Test(regress, fb_duplicate_id)
{
    coflow_workload_t wl;
    cr_assert_eq(workload_read_fb(&wl, "tests/regress/fb/duplicate-coflow-id.txt", NULL),
                 WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), ":3: coflow id 1 appears twice (lines 2 and 3)"), "%s",
              weft_last_error());
}

/* No task lists any input or output file, but tasks have parents: the
 * per-edge byte count did pointer arithmetic on the NULL file-index array
 * (UBSan: applying zero offset to null pointer). Such a workflow moves no
 * bytes, so it is refused, with a reason. */
Test(regress, wfcommons_no_file_lists)
{
    const char *path = "tests/regress/wfcommons/no-file-lists-shared-bytes-null.json";
    coflow_workload_t wl;
    weft_clear_error();
    weft_err_t err = workload_read_wfcommons(&wl, path, NULL);
    cr_assert_neq(err, WEFT_OK);
    assert_detail(path);
}
