/*
 * bench_sim.c - wall time and peak memory of the emulator on the Facebook
 * coflow benchmark under every ordering (with its default allocator) and the
 * per-flow baselines, and the growth of time with workload size.
 *
 * Each run happens in a forked child so its peak resident memory
 * (ru_maxrss from wait4) is its own, including reading the trace. Runs are
 * sequential: timing several at once on a 2-core machine would measure the
 * neighbours.
 *
 * usage: bench_sim [FB_TRACE] [--scale-only | --policies-only] [--limit S]
 *                  [--only P1,P2,...] [--scales K1,K2,...] [--in-time] [--eager]
 *                  [--model FILE | --model random]
 * --limit S stops a run after S seconds of wall time (default 300) and
 * reports it as "over S s"; --only runs just the named orderings;
 * --scales runs the growth runs at just those numbers of copies (default
 * 1,4,16). The growth runs fifo, sincronia and sebf, and fair and srf
 * (the per-flow baselines) when --only names them. --in-time puts the
 * copies one after another on the trace's own ports instead (the events grow
 * k-fold, the active flows at each decision stay those of one copy; see
 * time_workload). --eager turns lazy
 * pacing and per-pair fair off (netsim_opts_t.eager_pacing). The learned
 * policy runs the model `weft sim` runs: $WEFT_MODEL, else the shipped
 * models/weft-policy.msgpack (from the current directory, as the trace);
 * --model FILE another, --model random the random one of seed 0.
 * Output: a readable table, then one `BENCH key=value ...` line per run.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coflow/learned.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

#define BENCH_NAME "bench_sim"
#include "benchmarks/bench_util.h"

/* k copies of the trace. With shift_s == 0 side by side: copy i uses ports
 * [i*P, (i+1)*P), so per-port load (and so the number of active flows per
 * port) stays that of the original, and the total grows k-fold. With
 * shift_s > 0 one after another on the same P ports: copy i arrives
 * i * shift_s later. */
static int scale_workload(coflow_workload_t *out, const coflow_workload_t *in, size_t k,
                          double shift_s)
{
    bool side_by_side = shift_s == 0;
    coflow_workload_init(out, side_by_side ? in->n_ports * k : in->n_ports);
    for (size_t copy = 0; copy < k; copy++)
        for (size_t j = 0; j < in->n_jobs; j++) {
            const coflow_job_t *job = &in->jobs[j];
            if (coflow_workload_add_job(out, (int64_t)(copy * in->n_jobs + j),
                                        job->arrival_s + (double)copy * shift_s, job->weight,
                                        job->final_compute_s))
                return -1;
            for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
                const coflow_coflow_t *co = &in->coflows[c];
                if (coflow_workload_add_coflow(out, co->id, co->compute_s))
                    return -1;
                for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                    const coflow_flow_t *fl = &in->flows[f];
                    uint32_t off = side_by_side ? (uint32_t)(copy * in->n_ports) : 0;
                    if (coflow_workload_add_flow(out, fl->src + off, fl->dst + off, fl->bytes))
                        return -1;
                }
                for (size_t p = 0; p < co->n_parents; p++)
                    if (coflow_workload_add_parent(
                            out, in->coflows[in->parents[co->first_parent + p]].id))
                        return -1;
            }
            if (coflow_workload_finish_job(out))
                return -1;
        }
    return 0;
}

typedef struct {
    double read_s, sim_s;
    double cpu_s; /* user + system CPU time of the whole child (trace read
                     included): what the run cost, whatever the load */
    long maxrss_kb; /* ru_maxrss: KiB on Linux, printed as MiB (/ 1024) */
    size_t events, decisions, flows, coflows;
    size_t rated, paced; /* summed over decisions (netsim_result_t) */
    double avg_cct, avg_jct;
    int ok;
    int timed_out;
} run_t;

/* the model `weft sim --policy learned` runs from a checkout */
#define SHIPPED_MODEL "models/weft-policy.msgpack"
#define DEFAULT_TRACE "data/FB2010-1Hr-150-0.txt"

static unsigned run_limit_s = 300;
/* --in-time: the growth runs' copies one after another (time_workload) */
static bool in_time;
/* --eager: netsim_opts_t.eager_pacing, every flow rated and advanced one by
 * one, as for an ordering with reads_flows (the cost docs/adding-a-policy.md
 * quotes). */
static bool eager_pacing;
/* the learned policy's model file, NULL for the random one of seed 0 */
static const char *model_path;

/* The trace's copies one after another, each arriving once the copy
 * before has finished: the 1x run under the same options (not timed)
 * gives the last finish, and the copies are that plus 1% apart (the
 * margin covers a shifted copy's schedule not being the same to the last
 * float: its clock reads larger numbers). So a decision sees one copy's
 * active flows, and the events grow k-fold. */
static int time_workload(coflow_workload_t *out, const coflow_workload_t *in, size_t k,
                         const coflow_fabric_t *fab, const netsim_opts_t *o)
{
    netsim_result_t res;
    netsim_result_init(&res);
    if (netsim_run(in, fab, o, &res))
        return -1;
    double last = 0;
    for (size_t j = 0; j < in->n_jobs; j++)
        last = fmax(last, res.job_finish_s[j]);
    double shift = ceil(last * 1.01 + 1);
    netsim_result_destroy(&res);
    return scale_workload(out, in, k, shift);
}

/* Runs one (policy, allocator, scale) in a child; results come back over a
 * pipe, peak memory from wait4. */
static run_t run_child(const char *trace, const char *policy, const char *alloc, size_t scale)
{
    run_t r = {0};
    int fd[2];
    if (pipe(fd))
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        alarm(run_limit_s); /* default SIGALRM action ends the child */
        run_t c = {0};
        double t0 = weft_mono_s();
        coflow_workload_t base, wl;
        workload_read_opts_t ro;
        workload_read_opts_default(&ro);
        ro.fb_mb_bytes = 1048576.0;
        if (workload_read_fb(&base, trace, &ro)) {
            fprintf(stderr, "bench_sim: %s\n", weft_last_error());
            _exit(1);
        }
        netsim_opts_t o = {.ordering = coflow_ordering_find(policy),
                           .allocator = alloc ? coflow_allocator_find(alloc) : NULL,
                           .eager_pacing = eager_pacing, .model_path = model_path};
        if (!o.ordering)
            _exit(1);
        coflow_fabric_t fab;
        /* the Varys/CoflowSim setting: 2^30 bit/s ports */
        const double port_rate = 1073741824.0 / 8.0;
        if (scale > 1 && in_time) {
            if (coflow_fabric_init(&fab, base.n_ports, port_rate) || dag_analyze(&base, &fab) ||
                time_workload(&wl, &base, scale, &fab, &o)) {
                fprintf(stderr, "bench_sim: copies in time: %s\n", weft_last_error());
                _exit(1);
            }
            coflow_workload_destroy(&base);
            coflow_fabric_destroy(&fab);
            t0 = weft_mono_s(); /* read_s: building the copies, not the 1x run */
        } else if (scale > 1) {
            if (scale_workload(&wl, &base, scale, 0)) {
                fprintf(stderr, "bench_sim: scaling: %s\n", weft_last_error());
                _exit(1);
            }
            coflow_workload_destroy(&base);
        } else {
            wl = base;
        }
        if (coflow_fabric_init(&fab, wl.n_ports, port_rate) || dag_analyze(&wl, &fab))
            _exit(1);
        c.read_s = weft_mono_s() - t0;
        netsim_result_t res;
        netsim_result_init(&res);
        t0 = weft_mono_s();
        if (netsim_run(&wl, &fab, &o, &res)) {
            fprintf(stderr, "bench_sim: %s: %s\n", policy, weft_last_error());
            _exit(1);
        }
        c.sim_s = weft_mono_s() - t0;
        c.events = res.n_events;
        c.decisions = res.n_decisions;
        c.rated = res.n_rated_total;
        c.paced = res.n_paced_total;
        c.flows = wl.n_flows;
        c.coflows = wl.n_coflows;
        c.avg_cct = res.cct.avg;
        c.avg_jct = res.jct.avg;
        c.ok = 1;
        if (write(fd[1], &c, sizeof c) != (ssize_t)sizeof c)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = 0;
    close(fd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    r.maxrss_kb = ru.ru_maxrss;
    r.cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
              (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        r.ok = 0;
    r.timed_out = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
    return r;
}

/* Simulation time over the flows rated at all decisions: what one rated
 * flow costs, flat if time grows as events times active flows. */
static double ns_per_rated(const run_t *r)
{
    return r->rated ? r->sim_s / (double)r->rated * 1e9 : 0;
}

static void report(const char *policy, const char *alloc, size_t scale, const run_t *r)
{
    if (!r->ok) {
        if (r->timed_out)
            printf("%-10s %-7s %5zux  over %u s (stopped)\n", policy,
                   alloc ? alloc : "default", scale, run_limit_s);
        else
            printf("%-10s %-7s %5zux  FAILED\n", policy, alloc ? alloc : "default", scale);
        fflush(stdout);
        return;
    }
    double per = r->decisions ? 1.0 / (double)r->decisions : 0;
    printf("%-10s %-7s %5zux %9zu %8zu %9zu %9.1f %9.2f %9.3f %9.3f %9.3f %9.1f %8.1f %10.3f\n",
           policy, alloc ? alloc : "default", scale, r->flows, r->events, r->decisions,
           (double)r->rated * per, (double)r->paced * per, r->read_s, r->sim_s, r->cpu_s,
           ns_per_rated(r), (double)r->maxrss_kb / 1024.0, r->avg_cct);
    fflush(stdout);
}

static void bench_line(const char *policy, const char *alloc, size_t scale, const run_t *r)
{
    printf("BENCH bench=sim policy=%s alloc=%s eager=%d scale=%zu copies=%s ok=%d timed_out=%d "
           "limit_s=%u flows=%zu events=%zu decisions=%zu rated=%zu paced=%zu read_s=%.4f "
           "sim_s=%.4f cpu_s=%.3f ns_per_rated=%.2f maxrss_mib=%.1f avg_cct_s=%.6f model=%s\n",
           policy, alloc ? alloc : "default", (int)eager_pacing, scale,
           scale == 1 ? "one" : in_time ? "in-time" : "side-by-side", r->ok, r->timed_out,
           run_limit_s, r->flows, r->events, r->decisions, r->rated, r->paced,
           r->read_s, r->sim_s, r->cpu_s, ns_per_rated(r), (double)r->maxrss_kb / 1024.0,
           r->avg_cct, strcmp(policy, "learned") ? "-" : model_path ? model_path : "random");
}

/* --scales: up to 8 numbers of copies from 1 to 64, comma-separated. */
static bool parse_scales(const char *list, size_t *ks, size_t *nk)
{
    *nk = 0;
    for (const char *p = list;; p++) {
        char one[8];
        size_t len = strcspn(p, ",");
        unsigned long k;
        if (len >= sizeof one || *nk == 8)
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!bench_parse_count(one, 1, 64, &k))
            return false;
        ks[(*nk)++] = k;
        p += len;
        if (!*p)
            return true;
    }
}

/* the growth runs' orderings: the first three by default, the per-flow
   baselines only when --only names them (at 16x they take minutes) */
static const char *const scale_policies[] = {"fifo", "sincronia", "sebf", "fair", "srf"};
enum { N_SCALE_POLICIES = sizeof scale_policies / sizeof *scale_policies, N_SCALE_DEFAULT = 3 };

int main(int argc, char **argv)
{
    const char *trace = NULL;
    int do_policies = 1, do_scale = 1;
    const char *only = NULL, *scale_list = "1,4,16";
    const char *model = getenv("WEFT_MODEL");
    if (!model || !*model)
        model = SHIPPED_MODEL;
    /* everything is checked here, before the first run: a typo found after
       minutes of runs, or taken as "nothing to run", wastes the session */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes_value = !strcmp(a, "--limit") || !strcmp(a, "--only") ||
                           !strcmp(a, "--scales") || !strcmp(a, "--model");
        if (takes_value && i + 1 == argc)
            return bench_refuse("%s needs a value", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: bench_sim [FB_TRACE] [--scale-only | --policies-only] [--limit S]\n"
                   "                 [--only P1,P2,...] [--scales K1,K2,...] [--in-time]\n"
                   "                 [--eager] [--model FILE | --model random]\n"
                   "Times the emulator on the Facebook trace (default %s) under every\n"
                   "ordering and the per-flow baselines, then on K side-by-side copies of\n"
                   "it (default 1,4,16; --in-time: K copies one after another on its own\n"
                   "ports); each run in its own process, stopped after S s (default 300).\n"
                   "The learned policy runs $WEFT_MODEL, else %s; --model FILE\n"
                   "another, --model random the random model of seed 0.\n",
                   DEFAULT_TRACE, SHIPPED_MODEL);
            return 0;
        } else if (!strcmp(a, "--limit")) {
            unsigned long s;
            if (!bench_parse_count(argv[++i], 1, UINT_MAX, &s))
                return bench_refuse("--limit '%s': expected whole seconds, 1 or more",
                                    argv[i]);
            run_limit_s = (unsigned)s;
        } else if (!strcmp(a, "--only"))
            only = argv[++i];
        else if (!strcmp(a, "--scales"))
            scale_list = argv[++i];
        else if (!strcmp(a, "--scale-only"))
            do_policies = 0;
        else if (!strcmp(a, "--policies-only"))
            do_scale = 0;
        else if (!strcmp(a, "--in-time"))
            in_time = true;
        else if (!strcmp(a, "--eager"))
            eager_pacing = true;
        else if (!strcmp(a, "--model"))
            model = argv[++i];
        else if (a[0] == '-')
            return bench_refuse("unknown option '%s' (--help lists them)", a);
        else if (trace)
            return bench_refuse("one trace only: '%s', then '%s'", trace, a);
        else
            trace = a;
    }
    if (!trace)
        trace = DEFAULT_TRACE;
    size_t ks[8], nk = 0;
    if (do_scale && !parse_scales(scale_list, ks, &nk))
        return bench_refuse("--scales '%s': expected up to 8 numbers of copies from 1 to 64, "
                            "comma-separated", scale_list);
    char bad[64];
    if (only && bench_only_unknown(only, bad, sizeof bad))
        return bench_refuse("--only '%s': no ordering '%s' (weft sim --help lists them)", only,
                            bad);
    bool scale_selected = false;
    for (size_t p = 0; only && p < N_SCALE_POLICIES; p++)
        scale_selected |= bench_in_list(only, scale_policies[p]);
    if (only && !do_policies && !scale_selected)
        return bench_refuse("--only '%s': the growth runs time only fifo, sincronia, sebf, "
                            "fair and srf", only);
    FILE *tf = fopen(trace, "r");
    if (!tf)
        return bench_refuse("%s: cannot read the trace: %s", trace, strerror(errno));
    fclose(tf);
    model_path = strcmp(model, "random") ? model : NULL;
    if (model_path && do_policies && (!only || bench_in_list(only, "learned"))) {
        /* refused here rather than as a failed run after the others */
        coflow_learned_model_t m;
        coflow_learned_model_init(&m);
        weft_err_t err = coflow_learned_model_load(&m, model_path);
        coflow_learned_model_destroy(&m);
        if (err)
            return bench_refuse("the learned policy's model: %s (--model FILE picks another, "
                                "--model random the random one)", weft_last_error());
    }
    static const char *baselines[][2] = {{"fifo", "fair"}, {"fifo", "srf"}};
    run_t runs[64];
    const char *names[64], *allocs[64];
    size_t scales[64], nr = 0;
    /* rated/dec and paced/dec: flows rated one by one and coflows paced
       whole, per decision (netsim_result_t); ns/rated: ns_per_rated() */
    const char *hdr = "policy     alloc    scale     flows   events decisions rated/dec "
                      "paced/dec    read_s     sim_s     cpu_s  ns/rated  rss_MiB avg_cct_s\n";
    if (do_policies) {
        printf("== full FB trace, every ordering (default allocator) and per-flow baselines\n%s",
               hdr);
        const coflow_ordering_t *const *ords = coflow_orderings();
        for (size_t i = 0; ords[i] && nr < 48; i++) {
            /* fair and srf are the per-flow baselines, run below */
            if (!strcmp(ords[i]->name, "fair") || !strcmp(ords[i]->name, "srf"))
                continue;
            if (only && !bench_in_list(only, ords[i]->name))
                continue;
            runs[nr] = run_child(trace, ords[i]->name, NULL, 1);
            names[nr] = ords[i]->name, allocs[nr] = NULL, scales[nr] = 1;
            report(names[nr], allocs[nr], 1, &runs[nr]);
            nr++;
        }
        for (size_t i = 0; i < 2; i++) {
            if (only && !bench_in_list(only, baselines[i][1]))
                continue;
            runs[nr] = run_child(trace, baselines[i][0], baselines[i][1], 1);
            names[nr] = baselines[i][0], allocs[nr] = baselines[i][1], scales[nr] = 1;
            report(names[nr], allocs[nr], 1, &runs[nr]);
            nr++;
        }
    }
    if (do_scale) {
        printf(in_time ? "== growth with time: k copies of the trace one after another\n%s"
                       : "== growth with size: k copies of the trace on k*150 ports\n%s",
               hdr);
        for (size_t p = 0; p < N_SCALE_POLICIES; p++)
            for (size_t i = 0; i < nk && nr < 64; i++) {
                if (only ? !bench_in_list(only, scale_policies[p]) : p >= N_SCALE_DEFAULT)
                    continue;
                runs[nr] = run_child(trace, scale_policies[p], NULL, ks[i]);
                names[nr] = scale_policies[p], allocs[nr] = NULL, scales[nr] = ks[i];
                report(names[nr], NULL, ks[i], &runs[nr]);
                nr++;
            }
    }
    for (size_t i = 0; i < nr; i++)
        bench_line(names[i], allocs[i], scales[i], &runs[i]);
    int failed = 0;
    for (size_t i = 0; i < nr; i++)
        failed |= !runs[i].ok;
    return failed;
}
