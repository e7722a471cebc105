/*
 * bench_order.c - what the key-based orderings' sorts cost on a workload
 * with many coflows active at once, sorting each decision's coflows from
 * scratch (qsort, as weft did until 2026-12-03) and from the last
 * decision's order (coflow_keyctx_sort), alternately in one process so
 * both see the same spells of a shared host.
 *
 * usage: bench_order [WORKLOAD] [--rounds R] [--only P1,P2,...]
 * Without WORKLOAD, the multi-stage workload of `weft gen --shape
 * wfcommons --jobs 100 --ports 64 --load 0.9 --seed 3`, built in-process
 * from data/ (run from the source tree): 2,680 coflows, about 200 active
 * at once under aalo. Each ordering runs with its default allocator on 1
 * Gbit/s ports, R rounds (default 3) of one run each way; times are the
 * CPU time of the run's thread, medians over the rounds. Both ways must
 * give every coflow the same finish to the bit, or the benchmark fails.
 * Output: a readable table, then one `BENCH key=value ...` line per
 * ordering.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coflow/coflow_internal.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

#define FB_TRACE "data/FB2010-1Hr-150-0.txt"
#define WF_SHAPES "data/wfcommons/*.json"

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* `weft gen --shape wfcommons --jobs 100 --ports 64 --load 0.9 --seed 3`. */
static int default_workload(coflow_workload_t *wl)
{
    coflow_workload_t fb, shapes;
    if (workload_read(&fb, FB_TRACE, WORKLOAD_FORMAT_AUTO, NULL)) {
        fprintf(stderr, "bench_order: %s (run from the source tree)\n", weft_last_error());
        return -1;
    }
    glob_t gl;
    if (glob(WF_SHAPES, 0, NULL, &gl) != 0) {
        fprintf(stderr, "bench_order: no %s (run from the source tree)\n", WF_SHAPES);
        coflow_workload_destroy(&fb);
        return -1;
    }
    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    coflow_workload_init(&shapes, 1);
    int rc = 0;
    for (size_t i = 0; i < gl.gl_pathc && !rc; i++) {
        coflow_workload_t one;
        if (workload_read_wfcommons(&one, gl.gl_pathv[i], &ro) ||
            workload_append(&shapes, &one)) {
            fprintf(stderr, "bench_order: %s\n", weft_last_error());
            rc = -1;
        }
        coflow_workload_destroy(&one);
    }
    globfree(&gl);
    if (!rc) {
        workload_gen_opts_t go;
        workload_gen_opts_default(&go);
        go.shape = WORKLOAD_SHAPE_WFCOMMONS;
        go.n_jobs = 100;
        go.n_ports = 64;
        go.load = 0.9;
        go.seed = 3;
        go.shapes = &shapes;
        go.fb = &fb;
        if (workload_generate(wl, &go)) {
            fprintf(stderr, "bench_order: %s\n", weft_last_error());
            rc = -1;
        }
    }
    coflow_workload_destroy(&shapes);
    coflow_workload_destroy(&fb);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Whether name is one of the comma-separated names in list. */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

/* One run; its thread's CPU seconds, or a negative number on failure. */
static double timed_run(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                        const coflow_ordering_t *ord, bool fresh, netsim_result_t *res)
{
    coflow_keyctx_sort_fresh = fresh;
    netsim_opts_t o = {.ordering = ord};
    netsim_result_init(res);
    double t0 = thread_cpu_s();
    weft_err_t err = netsim_run(wl, fab, &o, res);
    double t = thread_cpu_s() - t0;
    coflow_keyctx_sort_fresh = false;
    if (err) {
        fprintf(stderr, "bench_order: %s: %s\n", ord->name, weft_last_error());
        return -1;
    }
    return t;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *only = NULL;
    size_t rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: bench_order [WORKLOAD] [--rounds R] [--only P1,P2,...]\n"
                   "Times the key-based orderings' sorts from scratch and from the last\n"
                   "decision's order, alternately; default workload: weft gen --shape\n"
                   "wfcommons --jobs 100 --ports 64 --load 0.9 --seed 3.\n");
            return 0;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = (size_t)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fprintf(stderr, "bench_order: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > 99) {
        fprintf(stderr, "bench_order: --rounds: 1 to 99\n");
        return 2;
    }
    coflow_workload_t wl;
    if (path ? workload_read(&wl, path, WORKLOAD_FORMAT_AUTO, NULL) != WEFT_OK
             : default_workload(&wl) != 0) {
        if (path)
            fprintf(stderr, "bench_order: %s\n", weft_last_error());
        return 1;
    }
    coflow_fabric_t fab;
    if (coflow_fabric_init(&fab, wl.n_ports, 1.25e8) || dag_analyze(&wl, &fab)) {
        fprintf(stderr, "bench_order: %s\n", weft_last_error());
        return 1;
    }
    printf("workload %s: %zu jobs, %zu coflows, %zu flows on %zu ports; %zu rounds\n",
           path ? path : "(weft gen --shape wfcommons --jobs 100 --ports 64 --load 0.9 "
                         "--seed 3)",
           wl.n_jobs, wl.n_coflows, wl.n_flows, wl.n_ports, rounds);
    printf("%-9s %-7s %9s %11s %12s %12s %7s %12s\n", "policy", "alloc", "decisions",
           "avg CCT (s)", "scratch (s)", "kept (s)", "ratio", "same finish");
    static const char *const names[] = {"scf", "ncf",   "lcf",  "sebf",
                                        "aalo", "wcp", "jsebf", "jsebf-cp"};
    int rc = 0;
    for (size_t p = 0; p < sizeof names / sizeof *names; p++) {
        if (only && !in_list(only, names[p]))
            continue;
        const coflow_ordering_t *ord = coflow_ordering_find(names[p]);
        double t_fresh[99], t_kept[99];
        bool same = true;
        netsim_result_t a, b;
        size_t decisions = 0;
        double avg_cct = 0;
        for (size_t r = 0; r < rounds && rc == 0; r++) {
            /* alternate which goes first, so neither always follows the other */
            bool fresh_first = r % 2 == 0;
            double t1 = timed_run(&wl, &fab, ord, fresh_first, &a);
            double t2 = t1 < 0 ? -1 : timed_run(&wl, &fab, ord, !fresh_first, &b);
            if (t1 < 0 || t2 < 0) {
                rc = 1;
            } else {
                t_fresh[r] = fresh_first ? t1 : t2;
                t_kept[r] = fresh_first ? t2 : t1;
                for (size_t c = 0; c < wl.n_coflows; c++)
                    same &= a.coflow_finish_s[c] == b.coflow_finish_s[c];
                decisions = a.n_decisions;
                avg_cct = a.cct.avg;
                netsim_result_destroy(&b);
            }
            netsim_result_destroy(&a);
        }
        if (rc)
            break;
        double mf = median(t_fresh, rounds), mk = median(t_kept, rounds);
        printf("%-9s %-7s %9zu %11.4f %12.3f %12.3f %7.2f %12s\n", names[p],
               ord->default_allocator, decisions, avg_cct, mf, mk, mk / mf,
               same ? "yes" : "NO");
        printf("BENCH bench=order policy=%s alloc=%s rounds=%zu decisions=%zu "
               "avg_cct_s=%.6f scratch_s=%.4f kept_s=%.4f ratio=%.3f same=%d\n",
               names[p], ord->default_allocator, rounds, decisions, avg_cct, mf, mk, mk / mf,
               (int)same);
        fflush(stdout);
        if (!same) {
            fprintf(stderr, "bench_order: %s: the two sorts gave different schedules\n",
                    names[p]);
            rc = 1;
            break;
        }
    }
    coflow_fabric_destroy(&fab);
    coflow_workload_destroy(&wl);
    return rc;
}
