/*
 * fuzz_common.h - what the libFuzzer targets of fuzz/ share: the input as a
 * file (the readers take paths) or byte by byte (the targets that build
 * their input from it), the "every error has a detail" check and the
 * invariants of a workload a reader accepted.
 *
 * The input goes into one memfd per process, created once and rewritten
 * (pwrite + ftruncate) for every input; the readers open it by the path
 * /proc/self/fd/N, which gives a fresh offset each time. Where memfd_create
 * is unavailable, a mkstemp file in $TMPDIR (default /tmp), unlinked at exit,
 * does the same. Anything that breaks a check calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/weft.h"
#include "coflow/coflow.h"
#include "workload/workload.h"

typedef struct {
    int fd;
    char path[256];
    int unlink_at_exit; /* a mkstemp file, not a memfd */
} fuzz_file_t;

static fuzz_file_t fuzz_files[2]; /* [0] the input, [1] a round trip's output */

static inline void fuzz_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz check failed: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static inline void fuzz_unlink_files(void)
{
    for (size_t i = 0; i < sizeof fuzz_files / sizeof *fuzz_files; i++)
        if (fuzz_files[i].unlink_at_exit)
            unlink(fuzz_files[i].path);
}

/* The bytes of an input taken one at a time; 0 once they run out. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_input_t;

static inline unsigned fuzz_next(fuzz_input_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    /* cppcheck-suppress ctunullpointer ; NULL only where no byte is read (write_secrets) */
    return *in->p++;
}

/* Creates fuzz_files[i]; on failure the target cannot run at all. */
static inline void fuzz_file_open(size_t i, const char *name)
{
    fuzz_file_t *f = &fuzz_files[i];
    f->fd = memfd_create(name, 0);
    if (f->fd >= 0) {
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
        if (access(f->path, R_OK) == 0)
            return;
        close(f->fd); /* no /proc: fall back to a file */
    }
    const char *dir = getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/weft-%s-XXXXXX", dir && *dir ? dir : "/tmp", name);
    f->fd = mkstemp(f->path);
    if (f->fd < 0) {
        perror("fuzz: mkstemp");
        exit(1);
    }
    if (!f->unlink_at_exit) {
        f->unlink_at_exit = 1;
        atexit(fuzz_unlink_files);
    }
}

/* Replaces the contents of fuzz_files[i] by data [size]; returns its path. */
static inline const char *fuzz_file_set(size_t i, const uint8_t *data, size_t size)
{
    fuzz_file_t *f = &fuzz_files[i];
    if (ftruncate(f->fd, 0) != 0)
        fuzz_die("ftruncate", NULL);
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(f->fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            fuzz_die("pwrite", NULL);
        done += (size_t)n;
    }
    return f->path;
}

/* A reader's error must say something beyond the "path: " or "path:line: "
 * prefix it is wrapped in: a failure with no detail is a bug. */
static inline void fuzz_check_error(weft_err_t err, const char *path)
{
    if (err >= 0)
        fuzz_die("fuzz_check_error on success", NULL);
    const char *msg = weft_last_error();
    if (!msg[0])
        fuzz_die("a reader failed with an empty error detail", weft_strerror(err));
    size_t plen = strlen(path);
    if (!strncmp(msg, path, plen)) {
        const char *rest = msg + plen;
        while (*rest == ':' || *rest == ' ' || (*rest >= '0' && *rest <= '9'))
            rest++;
        if (!*rest)
            fuzz_die("a reader failed with only a location as its detail", msg);
    }
}

/* The structure every accepted workload has (coflow.h): contiguous ranges
 * that add up, ports inside the fabric, sizes in range, parents inside their
 * own job, derived sizes consistent. O(flows + parents). */
static inline void fuzz_check_workload(const coflow_workload_t *wl)
{
    if (wl->job_open)
        fuzz_die("workload: a job is still open", NULL);
    if (wl->n_jobs && wl->n_ports == 0)
        fuzz_die("workload: jobs on 0 ports", NULL);
    size_t next_coflow = 0, next_flow = 0, next_parent = 0;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        if (job->first_coflow != next_coflow || job->n_coflows == 0)
            fuzz_die("workload: job coflow ranges are not contiguous and non-empty", NULL);
        if (!isfinite(job->arrival_s) || job->arrival_s < 0 || !isfinite(job->weight) ||
            !(job->weight > 0) || !isfinite(job->final_compute_s) || job->final_compute_s < 0)
            fuzz_die("workload: job arrival, weight or final compute out of range", NULL);
        if (job->depth < 1 || job->depth > job->n_coflows || !(job->lower_bound_s >= 0))
            fuzz_die("workload: job depth or lower bound out of range", NULL);
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
            if (c >= wl->n_coflows)
                fuzz_die("workload: job coflows past n_coflows", NULL);
            const coflow_coflow_t *co = &wl->coflows[c];
            if (co->job != j || co->first_flow != next_flow || co->n_flows == 0 ||
                co->first_parent != next_parent)
                fuzz_die("workload: coflow ranges are not contiguous", NULL);
            if (!isfinite(co->compute_s) || co->compute_s < 0)
                fuzz_die("workload: coflow compute time out of range", NULL);
            if (co->wave >= job->depth || !(co->iso_s >= 0) || !(co->cp_below_s >= co->iso_s))
                fuzz_die("workload: derived coflow fields out of range", NULL);
            double total = 0;
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                if (f >= wl->n_flows)
                    fuzz_die("workload: coflow flows past n_flows", NULL);
                const coflow_flow_t *fl = &wl->flows[f];
                if (fl->src >= wl->n_ports || fl->dst >= wl->n_ports)
                    fuzz_die("workload: a flow port is >= n_ports", NULL);
                if (!isfinite(fl->bytes) || !(fl->bytes > 0))
                    fuzz_die("workload: a flow size is not finite and > 0", NULL);
                total += fl->bytes;
            }
            if (total != co->total_bytes)
                fuzz_die("workload: coflow total_bytes is not the sum of its flows", NULL);
            if (co->n_senders < 1 || co->n_senders > co->n_flows || co->n_receivers < 1 ||
                co->n_receivers > co->n_flows)
                fuzz_die("workload: sender/receiver counts out of range", NULL);
            for (size_t p = co->first_parent; p < co->first_parent + co->n_parents; p++) {
                if (p >= wl->n_parents)
                    fuzz_die("workload: coflow parents past n_parents", NULL);
                size_t par = wl->parents[p];
                if (par < job->first_coflow || par >= job->first_coflow + job->n_coflows ||
                    par == c)
                    fuzz_die("workload: a parent outside its job, or the coflow itself", NULL);
                if (wl->coflows[par].wave >= co->wave)
                    fuzz_die("workload: a parent's wave is not below its child's", NULL);
            }
            next_flow += co->n_flows;
            next_parent += co->n_parents;
        }
        next_coflow += job->n_coflows;
    }
    if (next_coflow != wl->n_coflows)
        fuzz_die("workload: n_coflows is not the sum of the jobs' n_coflows", NULL);
    if (next_flow != wl->n_flows)
        fuzz_die("workload: n_flows is not the sum of the coflows' n_flows", NULL);
    if (next_parent != wl->n_parents)
        fuzz_die("workload: n_parents is not the sum of the coflows' n_parents", NULL);
}

static inline int fuzz_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Job ids are unique in a workload (coflow.h). O(jobs log jobs). */
static inline void fuzz_check_job_ids(const coflow_workload_t *wl)
{
    if (wl->n_jobs < 2)
        return;
    int64_t *ids = malloc(wl->n_jobs * sizeof *ids);
    if (!ids)
        fuzz_die("out of memory", NULL);
    for (size_t j = 0; j < wl->n_jobs; j++)
        ids[j] = wl->jobs[j].id;
    qsort(ids, wl->n_jobs, sizeof *ids, fuzz_cmp_i64);
    for (size_t j = 1; j < wl->n_jobs; j++)
        if (ids[j] == ids[j - 1])
            fuzz_die("workload: a job id appears twice", NULL);
    free(ids);
}

/* What `weft convert` does: an accepted workload written in weft's format
 * must read back (fuzz_files[1]) as the same workload, bit for bit
 * (workload.h). Needs fuzz_file_open(1, ...) in LLVMFuzzerInitialize. */
static inline void fuzz_check_roundtrip(const coflow_workload_t *wl)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        fuzz_die("open_memstream", NULL);
    weft_err_t err = workload_write_weft(wl, mem);
    fclose(mem);
    if (err)
        fuzz_die("workload_write_weft failed", weft_last_error());
    const char *path = fuzz_file_set(1, (const uint8_t *)buf, len);
    free(buf);
    coflow_workload_t back;
    weft_clear_error();
    err = workload_read_weft(&back, path);
    if (err)
        fuzz_die("a workload written by workload_write_weft does not read back",
                 weft_last_error());
    if (back.n_ports != wl->n_ports || back.n_jobs != wl->n_jobs ||
        back.n_coflows != wl->n_coflows || back.n_flows != wl->n_flows ||
        back.n_parents != wl->n_parents)
        fuzz_die("round trip: counts differ", NULL);
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *a = &wl->jobs[j], *b = &back.jobs[j];
        if (a->id != b->id || a->arrival_s != b->arrival_s || a->weight != b->weight ||
            a->final_compute_s != b->final_compute_s || a->n_coflows != b->n_coflows)
            fuzz_die("round trip: a job differs", NULL);
    }
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *a = &wl->coflows[c], *b = &back.coflows[c];
        if (a->id != b->id || a->compute_s != b->compute_s || a->n_flows != b->n_flows ||
            a->n_parents != b->n_parents)
            fuzz_die("round trip: a coflow differs", NULL);
    }
    for (size_t f = 0; f < wl->n_flows; f++)
        if (memcmp(&wl->flows[f], &back.flows[f], sizeof back.flows[f]))
            fuzz_die("round trip: a flow differs", NULL);
    for (size_t p = 0; p < wl->n_parents; p++)
        if (wl->parents[p] != back.parents[p])
            fuzz_die("round trip: a parent differs", NULL);
    coflow_workload_destroy(&back);
}

/* The body of every workload target: read data as a file with read(), then
 * check the error detail or the workload. */
typedef weft_err_t (*fuzz_reader_t)(coflow_workload_t *wl, const char *path);

static inline void fuzz_workload_input(fuzz_reader_t read, const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_set(0, data, size);
    coflow_workload_t wl;
    weft_clear_error();
    weft_err_t err = read(&wl, path);
    if (err) {
        fuzz_check_error(err, path);
        if (wl.n_jobs || wl.n_coflows || wl.n_flows || wl.jobs || wl.coflows || wl.flows)
            fuzz_die("a failed read left a non-empty workload", NULL);
        return;
    }
    fuzz_check_workload(&wl);
    fuzz_check_job_ids(&wl);
    fuzz_check_roundtrip(&wl);
    coflow_workload_destroy(&wl);
}

#endif
