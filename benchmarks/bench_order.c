/*
 * bench_order.c - what the policies' per-decision bookkeeping costs on a
 * workload with many coflows active at once, each shortcut off (as weft
 * was until 2026-12-03) and on, alternately in one process so both see
 * the same spells of a shared host:
 *   sort: the key-based orderings sort each decision's coflows from
 *         scratch (qsort) or from the last decision's order
 *         (coflow_keyctx_sort);
 *   walk: the greedy walk (greedy's rates, MADD's backfill) walks every
 *         coflow, or passes over one that got nothing while its ports with
 *         room stay among those it had then (coflow.h, room_seen);
 *   iso:  the remaining bottleneck time the DAG-aware and SEBF-like
 *         orderings read at every decision is computed from each coflow's
 *         ports, or remembered for the coflows that did not move since
 *         (coflow_state_keep_iso).
 *
 * usage: bench_order [WORKLOAD] [--compare sort|walk|iso|all] [--rounds R]
 *                    [--only P1,P2,...]
 * Without WORKLOAD, the multi-stage workload of `weft gen --shape
 * wfcommons --jobs 100 --ports 64 --load 0.9 --seed 3`, built in-process
 * from data/ (run from the source tree): 2,680 coflows, about 200 active
 * at once under aalo. Each policy runs with its default allocator on 1
 * Gbit/s ports (learned with the shipped model), R rounds (default 3) of
 * one run each way; times are the CPU time of the run's thread, medians
 * over the rounds. Both ways must give every coflow the same finish to
 * the bit, or the benchmark fails. Output: a readable table, then one
 * `BENCH key=value ...` line per comparison and policy.
 */
#include <cblas.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coflow/coflow_internal.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

#define BENCH_NAME "bench_order"
#include "benchmarks/bench_util.h"

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

#define SHIPPED_MODEL "models/weft-policy.msgpack"

/* One run with *knob set to `off` (the shortcut off when true); its
 * thread's CPU seconds, or a negative number on failure. */
static double timed_run(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                        const coflow_ordering_t *ord, bool *knob, bool off,
                        netsim_result_t *res)
{
    *knob = off;
    netsim_opts_t o = {.ordering = ord};
    if (!strcmp(ord->name, "learned"))
        o.model_path = SHIPPED_MODEL;
    netsim_result_init(res);
    double t0 = thread_cpu_s();
    weft_err_t err = netsim_run(wl, fab, &o, res);
    double t = thread_cpu_s() - t0;
    *knob = false;
    if (err) {
        fprintf(stderr, "bench_order: %s: %s\n", ord->name, weft_last_error());
        return -1;
    }
    return t;
}

/* One shortcut compared: its switch and the policies it serves. */
typedef struct {
    const char *name;
    bool *off;
    const char *const *policies;
} compare_t;

/* R rounds of one policy with the shortcut off and on, alternately; its
 * row and BENCH line. Nonzero on a failed run or different finishes. */
static int compare_one(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                       const compare_t *cmp, const char *policy, size_t rounds)
{
    const coflow_ordering_t *ord = coflow_ordering_find(policy);
    if (!ord) {
        fprintf(stderr, "bench_order: no policy '%s'\n", policy);
        return 1;
    }
    double t_off[99], t_on[99];
    bool same = true;
    size_t decisions = 0;
    double avg_cct = 0;
    for (size_t r = 0; r < rounds; r++) {
        /* alternate which goes first, so neither always follows the other */
        bool off_first = r % 2 == 0;
        netsim_result_t a, b;
        double t1 = timed_run(wl, fab, ord, cmp->off, off_first, &a);
        double t2 = t1 < 0 ? -1 : timed_run(wl, fab, ord, cmp->off, !off_first, &b);
        if (t1 < 0 || t2 < 0) {
            netsim_result_destroy(&a);
            if (t1 >= 0)
                netsim_result_destroy(&b);
            return 1;
        }
        t_off[r] = off_first ? t1 : t2;
        t_on[r] = off_first ? t2 : t1;
        for (size_t c = 0; c < wl->n_coflows; c++)
            /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): both ran */
            same &= a.coflow_finish_s[c] == b.coflow_finish_s[c];
        decisions = a.n_decisions;
        avg_cct = a.cct.avg;
        netsim_result_destroy(&a);
        netsim_result_destroy(&b);
    }
    double m_off = bench_median(t_off, rounds), m_on = bench_median(t_on, rounds);
    const char *alloc = ord->default_allocator;
    printf("%-7s %-9s %-7s %9zu %11.4f %9.3f %9.3f %7.2f %12s\n", cmp->name, policy, alloc,
           decisions, avg_cct, m_off, m_on, m_on / m_off, same ? "yes" : "NO");
    printf("BENCH bench=order compare=%s policy=%s alloc=%s rounds=%zu decisions=%zu "
           "avg_cct_s=%.6f off_s=%.4f on_s=%.4f ratio=%.3f same=%d\n",
           cmp->name, policy, alloc, rounds, decisions, avg_cct, m_off, m_on, m_on / m_off,
           (int)same);
    fflush(stdout);
    if (!same)
        fprintf(stderr, "bench_order: %s: %s off and on gave different schedules\n", policy,
                cmp->name);
    return !same;
}

/* Whether --compare `which` runs comparison c. */
static bool compares_in(const char *which, const compare_t *c)
{
    return !strcmp(which, "all") || !strcmp(which, c->name);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *only = NULL, *which = "all";
    size_t rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: bench_order [WORKLOAD] [--compare sort|walk|iso|all] [--rounds R]\n"
                   "                   [--only P1,P2,...]\n"
                   "Times the orderings' sorts from scratch and from the last order, and\n"
                   "the greedy walk with and without its memory of coflows that got\n"
                   "nothing, and the remaining bottleneck times computed at every decision\n"
                   "or remembered, alternately; default workload: weft gen --shape wfcommons\n"
                   "--jobs 100 --ports 64 --load 0.9 --seed 3.\n");
            return 0;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            unsigned long r;
            if (!bench_parse_count(argv[++i], 1, 99, &r))
                return bench_refuse("--rounds '%s': 1 to 99", argv[i]);
            rounds = r;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--compare") && i + 1 < argc) {
            which = argv[++i];
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return bench_refuse("unknown option or a second workload: '%s'", argv[i]);
        }
    }
    if (strcmp(which, "sort") && strcmp(which, "walk") && strcmp(which, "iso") &&
        strcmp(which, "all"))
        return bench_refuse("--compare '%s': sort, walk, iso or all", which);
    static const char *const sorted[] = {"scf",  "ncf", "lcf",   "sebf",    "aalo",
                                         "wcp",  "jsebf", "jsebf-cp", NULL};
    static const char *const walked[] = {"fifo", "sebf", "aalo", "sincronia", "jsebf-cp",
                                         "learned", NULL};
    static const char *const isoed[] = {"sebf", "wcp", "jsebf", "jsebf-cp", "learned", NULL};
    const compare_t compares[] = {{"sort", &coflow_keyctx_sort_fresh, sorted},
                                  {"walk", &coflow_walk_memory_off, walked},
                                  {"iso", &coflow_iso_memo_off, isoed}};
    char bad[64];
    if (only && bench_only_unknown(only, bad, sizeof bad))
        return bench_refuse("--only '%s': no policy '%s'", only, bad);
    size_t selected = 0;
    for (size_t k = 0; k < sizeof compares / sizeof *compares; k++)
        for (const char *const *p = compares[k].policies; *p; p++)
            selected += compares_in(which, &compares[k]) && (!only || bench_in_list(only, *p));
    if (!selected)
        return bench_refuse("--only '%s': --compare %s times none of these", only, which);
    openblas_set_num_threads(1); /* as weft does (cli/main.c) */
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
    printf("%-7s %-9s %-7s %9s %11s %9s %9s %7s %12s\n", "compare", "policy", "alloc",
           "decisions", "avg CCT (s)", "off (s)", "on (s)", "ratio", "same finish");
    int rc = 0;
    for (size_t k = 0; k < sizeof compares / sizeof *compares && !rc; k++) {
        if (!compares_in(which, &compares[k]))
            continue;
        for (const char *const *p = compares[k].policies; *p && !rc; p++)
            if (!only || bench_in_list(only, *p))
                rc = compare_one(&wl, &fab, &compares[k], *p, rounds);
    }
    coflow_fabric_destroy(&fab);
    coflow_workload_destroy(&wl);
    return rc;
}
