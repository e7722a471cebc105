/*
 * cmd_sim.c - `weft sim`: replay a workload on the emulated fabric under one
 * or more policies and compare them side by side.
 *
 * The workload and fabric are read and analysed once, then shared read-only
 * by one emulator run per policy, up to nproc runs at a time (weft_parallel_for)
 * (netsim_run keeps all of its state per run; error details are
 * thread-local). Output: a table on stdout; optionally per-policy CSV/JSON
 * files (--out) and a CDF plot of JCT, CCT or slowdown drawn by gnuplot
 * (--plot, --plot-metric).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

#define MAX_POLICIES 64
/* The shortest --tick: a decision every microsecond is already more than
 * any run needs; shorter ones only make the run endless. */
#define SIM_MIN_TICK_S 1e-6
/* --progress-every's floor: the progress thread naps a quarter of it, so
 * below this it would spin on the clock and flood stderr. */
#define SIM_MIN_PROGRESS_S 0.01
#define MAX_PORT_CAPS 1024

typedef struct {
    char spec[260];  /* as given: "sebf" or "sebf:greedy"; with --alloc
                        other than the ordering's own, "sebf:greedy" */
    char label[260]; /* file-name prefix: "sebf" or "sebf-greedy" */
    const coflow_ordering_t *ord;
    const coflow_allocator_t *alloc;
    netsim_result_t res;
    weft_err_t err;
    char errmsg[1024];
    _Atomic size_t coflows_done; /* as the run goes (netsim_opts_t) */
    bool binned;                 /* --bins: bins holds its coflows by bin */
    netsim_bins_t bins;
} sim_task_t;

typedef struct {
    const coflow_workload_t *wl;
    const coflow_fabric_t *fab;
    double tick_s;
    bool check;
    bool flows; /* --flows: record every flow's finish */
    const char *model_path; /* --model, NULL if none */
    uint64_t seed;          /* --seed */
    FILE *scores;           /* --scores, NULL if none */
    sim_task_t *tasks;
    size_t n_tasks;
    bool progress;          /* --progress */
    double progress_s;      /* --progress-every */
    weft_err_t run_err;     /* run_with_scores's run_pool */
    size_t *start_order; /* the tasks in the order they start */
} sim_pool_t;

typedef struct {
    size_t port;
    double rate;
} port_cap_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft sim WORKLOAD --policy P [--policy P2 ...] [options]\n"
            "\n"
            "Replays WORKLOAD on a non-blocking fabric (each port sends and receives at its\n"
            "own rate; a flow from a port to itself uses both) under every policy given,\n"
            "several at once on all cores, and prints a side-by-side table of completion\n"
            "times in seconds. WORKLOAD - reads standard input (weft gen | weft sim -).\n"
            "\n"
            "options:\n"
            "  --format FMT        auto (default), weft, fb, alibaba, wfcommons\n"
            "  --policy P          an ordering, or ORDERING:ALLOCATOR (e.g. sebf:greedy);\n"
            "                      all: every ordering below, each with its allocator\n"
            "                      (or --alloc's);\n"
            "                      repeat to compare. The name of an allocator alone (fair,\n"
            "                      srf) runs that allocator under fifo: the per-flow\n"
            "                      baselines ignore the coflow order anyway (a note says\n"
            "                      so when several runs share one). One ordering and\n"
            "                      allocator twice, under any names, is refused.\n"
            "  --alloc A           allocator for every policy given without one\n"
            "                      (default: each ordering's own)\n"
            "  --port-rate RATE    every port's rate each way (default 1Gbps). RATE is a\n"
            "                      number with a unit: bps, Kbps, Mbps, Gbps, Tbps (powers\n"
            "                      of 1000), Kibps, Mibps, Gibps (powers of 1024), or B/s\n"
            "                      with the same prefixes; a plain number is bytes/s\n"
            "  --port-cap PORT=RATE  one port's rate each way (repeatable)\n"
            "  --tick S            also take a decision every S seconds (at least 1e-6; 0:\n"
            "                      only the ordering's own, the default)\n"
            "  --check             verify the invariants (capacity at every decision, bytes\n"
            "                      conserved, each flow sent its bytes as it finishes, DAG\n"
            "                      order, releases and job finishes on time, CCT >= isolation\n"
            "                      time, JCT >= bound);\n"
            "                      any violation makes the exit status 1\n"
            "  --lp-bound          also a lower bound no schedule beats, from a linear\n"
            "                      program (DAG order, release, isolation and compute\n"
            "                      times, and every port's contention; GLPK), and each\n"
            "                      policy's avg wJCT over it (\"vs LP\")\n"
            "  --out DIR           write <policy>-coflows.csv, <policy>-jobs.csv and\n"
            "                      <policy>-summary.json for every policy\n"
            "                      (<ordering>-<allocator>-... for ORDERING:ALLOCATOR,\n"
            "                      or an --alloc other than the ordering's own);\n"
            "                      DIR and its parents are made before the runs\n"
            "                      (removed again if sim fails, or is stopped by ^C,\n"
            "                      before writing there)\n"
            "  --flows             with --out, also <policy>-flows.csv: every flow's finish\n"
            "                      and completion time (8 bytes of memory a flow)\n"
            "  --progress          the share of coflows each run finished, a line a second\n"
            "                      on stderr, and a last one at the end (on a terminal it\n"
            "                      is shown anyway, in place, and wiped before the table)\n"
            "  --progress-every S  show it every S seconds instead (>= 0.01); off a\n"
            "                      terminal it implies --progress (e.g. 60 for the log of\n"
            "                      a long sweep)\n"
            "  --bins              also the average CCT by coflow bin, as coflow papers\n"
            "                      report it: short (longest flow < --bin-length) or long,\n"
            "                      narrow (at most --bin-width flows) or wide: SN, LN, SW,\n"
            "                      LW; each policy's over the first one's; with --out, a\n"
            "                      \"bins\" object in every summary\n"
            "  --bin-length SIZE   the short/long threshold (implies --bins; default 5MB).\n"
            "                      SIZE is a number with a unit: B, KB, MB, GB, TB (powers\n"
            "                      of 1000; of 1024 under --varys, as the trace's MB),\n"
            "                      KiB, MiB, GiB, TiB (powers of 1024); a plain number is\n"
            "                      bytes\n"
            "  --bin-width N       the narrow/wide threshold in flows (implies --bins;\n"
            "                      default 50)\n"
            "  --plot FILE         draw the CDF of JCT per policy into FILE.png or FILE.svg\n"
            "                      (needs gnuplot); with --out, also its data there,\n"
            "                      <policy>-jct-cdf.dat, and its script, plot.gp\n"
            "  --plot-metric M     the CDF --plot draws: jct (the default), cct (a point a\n"
            "                      coflow) or slowdown (a point a job: its JCT over its\n"
            "                      lower bound, the jobs CSV's lower_bound_s); its data\n"
            "                      files are then <policy>-M-cdf.dat\n"
            "  --model FILE        model of the learned policy (msgpack, see `--policy\n"
            "                      learned`). Default: the shipped trained model,\n"
            "                      models/" CLI_MODEL_NAME " ($WEFT_MODEL, else found next to\n"
            "                      the weft program or in the source tree)\n"
            "  --seed S            random parameters from this seed instead of a model\n"
            "                      (not with --model, unless for --save-model: the\n"
            "                      learned policy then runs --model's)\n"
            "  --save-model FILE   write the random model of --seed to FILE (with no\n"
            "                      WORKLOAD, only that)\n"
            "  --scores FILE       with one --policy, learned: write FILE, a CSV row per\n"
            "                      coflow of the live jobs at every decision the network\n"
            "                      scores: decision, time_s, job, coflow, status, the 20\n"
            "                      features before log1p, the 20 (x_...) the network got,\n"
            "                      net_score (the scorer's), score (plus the priors) and\n"
            "                      rank (1 first; the three empty if not schedulable)\n"
            "  --varys             the classic Varys/CoflowSim setting for the Facebook\n"
            "                      trace: ports of 2^30 bit/s (1Gibps), 1 MB = 2^20 bytes,\n"
            "                      each reducer's bytes split evenly over its mappers\n"
            "                      (a --port-rate given too sets the ports' rate instead)\n"
            "  -h, --help          this text\n"
            "\n"
            "Columns: CCT = coflow finish - release; JCT = job finish (last coflow plus final\n"
            "compute) - arrival; wJCT = sum of weight * JCT / jobs; vs bound = avg wJCT over\n"
            "the same average of the jobs' lower bounds (critical path of isolation times).\n");
    fprintf(out, "\norderings:\n");
    const coflow_ordering_t *const *ords = coflow_orderings();
    for (size_t i = 0; ords[i]; i++)
        fprintf(out, "  %-12s %s (allocator: %s%s)\n", ords[i]->name, ords[i]->description,
                ords[i]->default_allocator ? ords[i]->default_allocator : "none",
                ords[i]->clairvoyant ? "" : "; non-clairvoyant");
    fprintf(out, "\nallocators:\n");
    const coflow_allocator_t *const *allocs = coflow_allocators();
    for (size_t i = 0; allocs[i]; i++)
        fprintf(out, "  %-12s %s\n", allocs[i]->name, allocs[i]->description);
}

/* Resolves a --policy spec; prints the problem and returns false if bad. */
static bool resolve_policy(sim_task_t *t, const char *spec, const char *default_alloc)
{
    char name[128];
    snprintf(t->spec, sizeof t->spec, "%s", spec);
    snprintf(name, sizeof name, "%s", spec);
    char *colon = strchr(name, ':');
    const char *alloc_name = default_alloc;
    if (colon) {
        *colon = '\0';
        alloc_name = colon + 1;
        if (!*alloc_name) {
            fprintf(stderr, "weft sim: policy '%s': no allocator after ':' (give "
                    "ORDERING:ALLOCATOR, or the ordering alone for its own)\n", spec);
            return false;
        }
    }
    t->ord = coflow_ordering_find(name);
    if (!t->ord && !colon && coflow_allocator_find(name) && coflow_ordering_find("fifo")) {
        /* a per-flow baseline named by its allocator */
        t->ord = coflow_ordering_find("fifo");
        alloc_name = name;
    }
    if (!t->ord) {
        fprintf(stderr, "weft sim: unknown policy '%s'; orderings:", name);
        for (const coflow_ordering_t *const *o = coflow_orderings(); *o; o++)
            fprintf(stderr, " %s", (*o)->name);
        fprintf(stderr, " (see weft sim --help)\n");
        return false;
    }
    if (!alloc_name) /* neither an empty --alloc nor "ORDERING:" come here */
        alloc_name = t->ord->default_allocator;
    t->alloc = alloc_name ? coflow_allocator_find(alloc_name) : NULL;
    if (!t->alloc) {
        fprintf(stderr, "weft sim: policy '%s': unknown allocator '%s'; allocators:", spec,
                alloc_name ? alloc_name : "(none)");
        for (const coflow_allocator_t *const *a = coflow_allocators(); *a; a++)
            fprintf(stderr, " %s", (*a)->name);
        fprintf(stderr, "\n");
        return false;
    }
    if (!colon && (!t->ord->default_allocator ||
                   strcmp(t->alloc->name, t->ord->default_allocator) != 0) &&
        coflow_ordering_find(name) == t->ord) {
        /* --alloc replaced the ordering's own: named as ORDERING:ALLOCATOR
           would be, so the files, the legend and the messages say which
           allocator ran, and another --alloc into the same --out does not
           overwrite this one's files */
        snprintf(t->spec, sizeof t->spec, "%s:%s", name, t->alloc->name);
        snprintf(t->label, sizeof t->label, "%s-%s", name, t->alloc->name);
    } else if (colon) {
        snprintf(t->label, sizeof t->label, "%s-%s", name, colon + 1);
    } else {
        snprintf(t->label, sizeof t->label, "%s", spec);
    }
    return true;
}

/* The i-th run to start (weft_parallel_for). */
static void sim_run_task(void *arg, size_t i)
{
    sim_pool_t *p = arg;
    sim_task_t *t = &p->tasks[p->start_order[i]];
    netsim_opts_t o = {.ordering = t->ord, .allocator = t->alloc, .tick_s = p->tick_s,
                       .check = p->check, .record_flows = p->flows,
                       .model_path = p->model_path,
                       .policy_seed = p->seed, .scores_out = p->scores,
                       .coflows_done = &t->coflows_done};
    weft_clear_error();
    t->err = netsim_run(p->wl, p->fab, &o, &t->res);
    if (t->err)
        snprintf(t->errmsg, sizeof t->errmsg, "%s", weft_last_error());
}

/* The progress line: on a terminal, rewritten in place every second (or
 * --progress-every) while the runs go and wiped before the table; with
 * --progress elsewhere, a line each time and a last one once all runs
 * ended. */
typedef struct {
    const sim_task_t *tasks;
    size_t n_tasks, n_coflows;
    bool tty;
    double every_s; /* --progress-every */
    atomic_bool stop;
} sim_progress_t;

static void progress_print(const sim_progress_t *p)
{
    fprintf(stderr, "%sweft sim: progress:", p->tty ? "\r\033[K" : "");
    for (size_t i = 0; i < p->n_tasks; i++) {
        size_t done = atomic_load_explicit(&p->tasks[i].coflows_done, memory_order_relaxed);
        fprintf(stderr, "%s %s %.0f%%", i ? "," : "", p->tasks[i].spec,
                p->n_coflows ? 100.0 * (double)done / (double)p->n_coflows : 100.0);
    }
    fputs(p->tty ? "" : "\n", stderr);
    fflush(stderr);
}

static void *progress_main(void *arg)
{
    sim_progress_t *p = arg;
    double last = weft_mono_s();
    /* naps of at most 50 ms, so the runs' end is seen at once */
    double nap_s = p->every_s < 0.2 ? p->every_s / 4 : 0.05;
    struct timespec nap = {0, (long)(nap_s * 1e9)};
    while (!atomic_load(&p->stop)) {
        nanosleep(&nap, NULL);
        if (!atomic_load(&p->stop) && weft_mono_s() - last >= p->every_s) {
            progress_print(p);
            last = weft_mono_s();
        }
    }
    return NULL;
}

/* Runs every task of p on all cores, with the progress line when asked
 * (or on a terminal): weft_parallel_for's error; each run's own in its
 * task. */
static weft_err_t run_pool(sim_pool_t *p)
{
    sim_progress_t prog = {.tasks = p->tasks, .n_tasks = p->n_tasks,
                           .n_coflows = p->wl->n_coflows,
                           .tty = !p->progress && isatty(STDERR_FILENO),
                           .every_s = p->progress_s};
    atomic_init(&prog.stop, false);
    pthread_t prog_thread;
    bool prog_running = (p->progress || prog.tty) &&
                        pthread_create(&prog_thread, NULL, progress_main, &prog) == 0;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    weft_err_t err = weft_parallel_for(p->n_tasks, nproc > 0 ? (size_t)nproc : 1, sim_run_task,
                                       p, NULL);
    if (prog_running) {
        atomic_store(&prog.stop, true);
        pthread_join(prog_thread, NULL);
        if (prog.tty)
            fputs("\r\033[K", stderr);
        else
            progress_print(&prog);
        fflush(stderr);
    }
    return err;
}

/* weft_save_file's writer for --scores (one task): the run itself, its
 * scores into f. A run that failed fails the file too (its error is the
 * task's, reported with the others), so no partial CSV is left. */
static weft_err_t run_with_scores(FILE *f, const void *arg)
{
    sim_pool_t *p = (sim_pool_t *)arg;
    p->scores = f;
    p->run_err = run_pool(p);
    p->scores = NULL;
    if (p->run_err)
        return p->run_err;
    for (size_t i = 0; i < p->n_tasks; i++)
        if (p->tasks[i].err)
            return weft_fail(p->tasks[i].err, "%s", p->tasks[i].errmsg);
    return WEFT_OK;
}

/* How long a task's run tends to take, longest 0: the per-flow allocators
 * rate every open flow (or port pair) at each decision, the learned
 * ordering runs its networks, MADD rates about twice the flows of greedy
 * (docs/performance.md, "The Facebook trace table's columns"). */
static int expected_cost_rank(const sim_task_t *t)
{
    const coflow_allocator_t *a = t->alloc;
    if (!a && t->ord->default_allocator)
        a = coflow_allocator_find(t->ord->default_allocator);
    const char *name = a ? a->name : "";
    if (!strcmp(name, "fair"))
        return 0;
    if (!strcmp(name, "srf"))
        return 1;
    if (!strcmp(t->ord->name, "learned"))
        return 2;
    return strcmp(name, "madd") ? 4 : 3;
}

/* The slowest kinds of run start first, so that with more policies than
 * cores the last one to start is a short one (the table keeps the order
 * given). */
static void plan_start_order(sim_pool_t *p)
{
    size_t n = 0;
    for (int rank = 0; rank <= 4; rank++)
        for (size_t i = 0; i < p->n_tasks; i++)
            if (expected_cost_rank(&p->tasks[i]) == rank)
                p->start_order[n++] = i;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(x))
        return false;
    *out = x;
    return true;
}

typedef struct {
    const char *suffix; /* coflows.csv, jobs.csv, flows.csv or summary.json */
    const sim_task_t *t;
    const coflow_workload_t *wl;
    const netsim_run_info_t *info; /* for the summary */
} result_file_t;

static weft_err_t write_result(FILE *f, const void *arg)
{
    const result_file_t *r = arg;
    if (!strcmp(r->suffix, "coflows.csv"))
        return netsim_write_coflows_csv(r->wl, &r->t->res, f);
    if (!strcmp(r->suffix, "jobs.csv"))
        return netsim_write_jobs_csv(r->wl, &r->t->res, f);
    if (!strcmp(r->suffix, "flows.csv"))
        return netsim_write_flows_csv(r->wl, &r->t->res, f);
    netsim_run_info_t info = *r->info;
    if (strcmp(r->t->ord->name, "learned") != 0) {
        info.model = NULL;
        info.random_model = false;
    }
    info.bins = r->t->binned ? &r->t->bins : NULL;
    return netsim_write_summary_json(&r->t->res, r->t->ord->name, r->t->alloc->name, &info, f);
}

/* Writes one file of a task's results (through a temporary file, so a
 * failed write leaves the last run's file whole); returns 0 or prints and
 * returns -1. */
static int write_result_file(const char *dir, const sim_task_t *t, const char *suffix,
                             const coflow_workload_t *wl, const netsim_run_info_t *info)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%s", dir, t->label, suffix);
    result_file_t r = {.suffix = suffix, .t = t, .wl = wl, .info = info};
    weft_err_t err = weft_save_file(path, write_result, &r);
    if (err) {
        cli_report("sim", err);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --plot-metric: what the CDF is of, one point a job or a coflow. */
typedef enum { METRIC_JCT, METRIC_CCT, METRIC_SLOWDOWN } plot_metric_kind_t;

typedef struct {
    const char *name;   /* as --plot-metric takes it; the data files' <label>-<name>-cdf.dat */
    plot_metric_kind_t kind;
    const char *column; /* the data files' header */
    const char *what;   /* the title's "CDF of <what>: <workload>" */
    const char *xlabel, *ylabel;
} plot_metric_t;

static const plot_metric_t plot_metrics[] = {
    {"jct", METRIC_JCT, "jct_s fraction_of_jobs", "job completion time",
     "job completion time (s)", "fraction of jobs"},
    {"cct", METRIC_CCT, "cct_s fraction_of_coflows", "coflow completion time",
     "coflow completion time (s)", "fraction of coflows"},
    {"slowdown", METRIC_SLOWDOWN, "slowdown fraction_of_jobs", "job slowdown",
     "slowdown (JCT / lower bound)", "fraction of jobs"},
};
enum { N_PLOT_METRICS = sizeof plot_metrics / sizeof *plot_metrics };

typedef struct {
    const char *dir; /* where the <label>-<metric>-cdf.dat files are; NULL: in the script */
    const plot_metric_t *m;
    const sim_task_t *tasks;
    size_t n;
    const coflow_workload_t *wl;
    double *v; /* room for a value a job or a coflow, to sort them in */
    const char *workload;
} plot_arg_t;

/* Fills a->v with task t's values of the metric; returns how many. A job
 * whose slowdown is no finite number (a lower bound of 0, which the clock
 * guard leaves no job: every flow takes 2.2e-308 s at least) cannot be
 * placed on the axis: it is left out, and counted in *left_out. */
static size_t metric_values(const plot_arg_t *a, const sim_task_t *t, size_t *left_out)
{
    const coflow_workload_t *wl = a->wl;
    const netsim_result_t *r = &t->res;
    size_t n = 0;
    *left_out = 0;
    if (a->m->kind == METRIC_CCT) {
        for (size_t c = 0; c < wl->n_coflows; c++)
            a->v[n++] = r->coflow_finish_s[c] - r->coflow_release_s[c];
        return n;
    }
    for (size_t j = 0; j < wl->n_jobs; j++) {
        double jct = r->job_finish_s[j] - wl->jobs[j].arrival_s;
        if (a->m->kind == METRIC_JCT) {
            a->v[n++] = jct;
            continue;
        }
        double s = jct / wl->jobs[j].lower_bound_s;
        if (wl->jobs[j].lower_bound_s > 0 && isfinite(s))
            a->v[n++] = s;
        else
            ++*left_out;
    }
    return n;
}

/* Where --out DIR gets task t's CDF of metric m: <label>-<metric>-cdf.dat. */
static void cdf_path(char *buf, size_t n, const char *dir, const sim_task_t *t,
                     const plot_metric_t *m)
{
    snprintf(buf, n, "%s/%s-%s-cdf.dat", dir, t->label, m->name);
}

/* Task t's CDF, as <label>-<metric>-cdf.dat holds it. */
static void write_cdf(FILE *f, const plot_arg_t *a, const sim_task_t *t)
{
    size_t left_out, n = metric_values(a, t, &left_out);
    qsort(a->v, n, sizeof *a->v, cmp_double);
    fprintf(f, "# %s (%s)", a->m->column, t->spec);
    if (left_out)
        fprintf(f, "; %zu %s without a finite slowdown (a lower bound of 0) left out", left_out,
                weft_plural(left_out, "job", "jobs"));
    fputc('\n', f);
    /* the CDF starts at 0 at the first value, so "with steps" draws its
       first rise (one job's CDF, all of a WfCommons workload's, was
       only that rise: a blank plot) */
    if (n > 0)
        fprintf(f, "%.17g 0\n", a->v[0]);
    for (size_t j = 0; j < n; j++)
        fprintf(f, "%.17g %.17g\n", a->v[j], (double)(j + 1) / (double)n);
}

/* The plot after `set terminal` and `set output` (a cli_plot_fn). Without
 * a directory the CDFs go in the script, as gnuplot's data blocks: in a
 * directory of /tmp, a signal while gnuplot drew left them there. */
static void write_plot_body(FILE *out, const void *arg)
{
    const plot_arg_t *a = arg;
    for (size_t i = 0; !a->dir && i < a->n; i++) {
        fprintf(out, "$cdf%zu << EOD\n", i);
        write_cdf(out, a, &a->tasks[i]);
        fputs("EOD\n", out);
    }
    fputs("set title ", out);
    char title[512];
    snprintf(title, sizeof title, "CDF of %s: %s", a->m->what, a->workload);
    cli_gp_quote(out, title);
    fprintf(out, "\nset xlabel '%s'\nset ylabel '%s'\n", a->m->xlabel, a->m->ylabel);
    fputs("set logscale x\nset yrange [0:1]\nset grid\nset key bottom right\nplot ", out);
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            fputs(", \\\n     ", out);
        if (a->dir) {
            char path[4096];
            cdf_path(path, sizeof path, a->dir, &a->tasks[i], a->m);
            cli_gp_quote(out, path);
        } else {
            fprintf(out, "$cdf%zu", i);
        }
        /* gnuplot's colours repeat after 8: the next 8 dashed, and so on,
           so no two curves look alike (make run draws ten) */
        fprintf(out, " using 1:2 with steps linewidth 2 linecolor %zu dashtype %zu title ",
                i % 8 + 1, i / 8 + 1);
        cli_gp_quote(out, a->tasks[i].spec);
    }
}

/* The plot's files in --out, each whole or not at all (weft_save_file):
 * written with fopen, a signal or a full disk left one cut short, which a
 * redraw by hand from plot.gp would read without a word. */
typedef struct {
    const plot_arg_t *a;
    const sim_task_t *t;
} cdf_file_t;

static weft_err_t write_cdf_file(FILE *f, const void *arg)
{
    const cdf_file_t *cf = arg;
    write_cdf(f, cf->a, cf->t);
    return WEFT_OK;
}

typedef struct {
    const plot_arg_t *a;
    const char *file; /* the plot it draws */
    bool svg;
} gp_file_t;

static weft_err_t write_gp_file(FILE *f, const void *arg)
{
    const gp_file_t *gf = arg;
    fprintf(f, "set terminal %s size 960,600\n" CLI_GP_PLAIN_TEXT "set output ",
            gf->svg ? "svg dynamic" : "pngcairo");
    cli_gp_quote(f, gf->file);
    fputc('\n', f);
    write_plot_body(f, gf->a);
    fputs("\nunset output\n", f);
    return WEFT_OK;
}

/* weft_save_file(path), its error printed: 0 or -1. */
static int plot_save(const char *path, weft_write_fn fn, const void *arg)
{
    weft_err_t err = weft_save_file(path, fn, arg);
    if (err)
        cli_report("sim", err);
    return err ? -1 : 0;
}

/* Draws the CDFs of metric m with gnuplot. Their data files go to out_dir
 * if given (and stay), otherwise into the script. */
static int plot_cdf(const char *file, const char *out_dir, const plot_metric_t *m,
                    const sim_task_t *tasks, size_t n, const coflow_workload_t *wl,
                    const char *workload)
{
    const char *ext = strrchr(file, '.');
    bool svg = ext && !strcmp(ext, ".svg");
    int rc = 0;
    size_t room = wl->n_jobs > wl->n_coflows ? wl->n_jobs : wl->n_coflows;
    double *v = calloc(room ? room : 1, sizeof *v);
    if (!v) {
        fprintf(stderr, "weft sim: out of memory for the plot\n");
        return -1;
    }
    plot_arg_t pa = {.dir = out_dir, .m = m, .tasks = tasks, .n = n, .wl = wl, .v = v,
                     .workload = workload};
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t left_out, placed = metric_values(&pa, &tasks[i], &left_out);
        if (left_out)
            fprintf(stderr, "weft sim: note: --plot-metric %s: policy %s: %zu %s without a "
                    "finite slowdown (a lower bound of 0) left out of its CDF\n", m->name,
                    tasks[i].spec, left_out, weft_plural(left_out, "job", "jobs"));
        if (!placed) { /* gnuplot would fail on the empty curve, saying less */
            fprintf(stderr, "weft sim: --plot-metric %s: policy %s has no point to plot\n",
                    m->name, tasks[i].spec);
            rc = -1;
        }
    }
    for (size_t i = 0; out_dir && i < n && rc == 0; i++) {
        char path[4096];
        cdf_path(path, sizeof path, out_dir, &tasks[i], m);
        cdf_file_t cf = {&pa, &tasks[i]};
        rc = plot_save(path, write_cdf_file, &cf);
    }
    if (rc == 0 && cli_gnuplot("sim", file, write_plot_body, &pa))
        rc = -1;
    if (rc == 0 && out_dir) { /* the script, to redraw by hand */
        char path[4096];
        snprintf(path, sizeof path, "%s/plot.gp", out_dir);
        gp_file_t gf = {&pa, file, svg};
        rc = plot_save(path, write_gp_file, &gf);
    }
    free(v);
    return rc;
}

/* A table cell: 4 decimals, or 4 significant digits in %g's form where
 * the decimals would take more than 16 digits (times of 1e12 s and more,
 * from absurd rates) or keep fewer than 3 of them (below 0.01 s, as CCTs of
 * microseconds at 100 Gbit/s, which read 0.0000). */
static void table_cell(char *buf, size_t n, double v)
{
    double a = fabs(v);
    snprintf(buf, n, (a < 1e12 && (a >= 0.01 || a == 0)) || !isfinite(v) ? "%.4f" : "%.4g", v);
}

enum { TABLE_NUMS = 7 };

/* lp: an LP bound in the results (a "vs LP" column). Each number column is
 * as wide as its header or its widest cell, so times past 1e6 s keep the
 * columns in line. */
/* Task t's policy as typed, without its allocator ("sebf" of "sebf:greedy"),
 * as the tables name it. */
static void policy_name(char *buf, size_t n, const sim_task_t *t)
{
    snprintf(buf, n, "%s", t->spec);
    buf[strcspn(buf, ":")] = '\0';
}

static void print_table(const sim_task_t *tasks, size_t n, bool check, bool lp)
{
    static const char *const head[TABLE_NUMS] = {"avgCCT(s)", "p95CCT(s)", "avgJCT(s)",
                                                 "p95JCT(s)", "p99JCT(s)", "avgwJCT(s)",
                                                 "vs bound"};
    int width[TABLE_NUMS] = {10, 10, 10, 10, 10, 11, 9};
    char (*cell)[TABLE_NUMS][32] = calloc(n ? n : 1, sizeof *cell);
    if (!cell) {
        fprintf(stderr, "weft sim: out of memory for the table\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const netsim_result_t *r = &tasks[i].res;
        const double v[TABLE_NUMS] = {r->cct.avg, r->cct.p95, r->jct.avg, r->jct.p95,
                                      r->jct.p99, r->avg_weighted_jct, r->slowdown_vs_bound};
        for (int k = 0; k < TABLE_NUMS && !tasks[i].err; k++) {
            table_cell(cell[i][k], sizeof cell[i][k], v[k]);
            if ((int)strlen(cell[i][k]) > width[k])
                width[k] = (int)strlen(cell[i][k]);
        }
    }
    printf("%-16s %-7s", "policy", "alloc");
    for (int k = 0; k < TABLE_NUMS; k++)
        printf(" %*s", width[k], head[k]);
    if (lp)
        printf(" %7s", "vs LP");
    printf(" %8s\n", "wall(s)");
    for (size_t i = 0; i < n; i++) {
        const sim_task_t *t = &tasks[i];
        char name[260];
        policy_name(name, sizeof name, t);
        if (t->err) {
            printf("%-16s %-7s  failed: %s\n", name, t->alloc->name, t->errmsg);
            continue;
        }
        printf("%-16s %-7s", name, t->alloc->name);
        for (int k = 0; k < TABLE_NUMS; k++)
            printf(" %*s", width[k], cell[i][k]);
        if (lp)
            printf(" %7.4f", netsim_vs_lp_bound(&t->res));
        printf(" %8.3f\n", t->res.wall_s);
    }
    free(cell);
    if (check)
        for (size_t i = 0; i < n; i++)
            if (!tasks[i].err)
                printf("check %s: %zu violations%s%s\n", tasks[i].spec,
                       tasks[i].res.n_violations, tasks[i].res.n_violations ? "; first: " : "",
                       tasks[i].res.first_violation);
}

/* --bins: each policy's average CCT in each bin, then over the first
 * policy's in the same bin ("normalized CCT"); "-" for an empty bin, or a
 * ratio with no reference. The counts are the workload's, the same for
 * every policy. Each column is as wide as its header or widest cell. */
static void print_bins(const sim_task_t *tasks, size_t n)
{
    enum { COLS = 2 * NETSIM_N_BINS };
    const netsim_bins_t *b = NULL;
    for (size_t i = 0; i < n && !b; i++)
        b = tasks[i].binned ? &tasks[i].bins : NULL;
    char (*cell)[COLS][32] = calloc(n, sizeof *cell);
    if (!b || !cell) {
        if (b)
            fprintf(stderr, "weft sim: out of memory for the bins' table\n");
        free(cell);
        return;
    }
    char ref[260]; /* the first policy, as the main table names it */
    policy_name(ref, sizeof ref, &tasks[0]);
    char head[COLS][300];
    int width[COLS];
    for (int k = 0; k < COLS; k++) {
        const char *bin = netsim_bin_names[k % NETSIM_N_BINS];
        if (k < NETSIM_N_BINS)
            snprintf(head[k], sizeof head[k], "%s(s)", bin);
        else
            snprintf(head[k], sizeof head[k], "%s/%s", bin, ref);
        width[k] = (int)strlen(head[k]) < 10 ? 10 : (int)strlen(head[k]);
    }
    const netsim_bins_t *rb = tasks[0].binned ? &tasks[0].bins : NULL;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < COLS && tasks[i].binned; k++) {
            const netsim_bins_t *tb = &tasks[i].bins;
            int bin = k % NETSIM_N_BINS;
            double v = k < NETSIM_N_BINS ? tb->avg_cct_s[bin]
                       : rb          ? tb->avg_cct_s[bin] / rb->avg_cct_s[bin]
                                     : NAN;
            if (isfinite(v))
                table_cell(cell[i][k], sizeof cell[i][k], v);
            else
                snprintf(cell[i][k], sizeof cell[i][k], "-");
            if ((int)strlen(cell[i][k]) > width[k])
                width[k] = (int)strlen(cell[i][k]);
        }
    printf("\ncoflow bins: short = longest flow < %.15g bytes, narrow = at most %zu %s\n",
           b->length_bytes, b->width_flows, weft_plural(b->width_flows, "flow", "flows"));
    printf("coflows:");
    for (int k = 0; k < NETSIM_N_BINS; k++)
        printf("%s %s %zu", k ? "," : "", netsim_bin_names[k], b->count[k]);
    printf("; avg CCT (s) by bin, and over the first policy's: %s (%s)\n", ref,
           tasks[0].alloc->name);
    printf("%-16s %-7s", "policy", "alloc");
    for (int k = 0; k < COLS; k++)
        printf(" %*s", width[k], head[k]);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const sim_task_t *t = &tasks[i];
        char name[260];
        policy_name(name, sizeof name, t);
        printf("%-16s %-7s", name, t->alloc->name);
        if (!t->binned)
            printf("  failed");
        for (int k = 0; k < COLS && t->binned; k++)
            printf(" %*s", width[k], cell[i][k]);
        printf("\n");
    }
    free(cell);
}

/* --save-model FILE: a model of random parameters from seed. */
static int save_random_model(const char *file, uint64_t seed)
{
    weft_err_t err = coflow_learned_save_random(file, seed);
    if (err) {
        cli_report("sim", err);
        return CLI_ERROR;
    }
    printf("model: %s (random, seed %llu)\n", file, (unsigned long long)seed);
    return CLI_OK;
}

/* Whether --scores FILE is one of the files --out DIR gets for task t,
 * which replaced the scores with status 0: the CSVs, the summary, the
 * CDF's data (of metric m) or plot.gp. */
static bool an_out_file(const char *file, const char *dir, const sim_task_t *t,
                        const plot_metric_t *m)
{
    char cdf[300];
    snprintf(cdf, sizeof cdf, "%s-cdf.dat", m->name);
    const char *const suffixes[] = {"coflows.csv", "jobs.csv", "summary.json", "flows.csv",
                                    cdf};
    enum { N = sizeof suffixes / sizeof *suffixes };
    char names[N][300];
    const char *list[N + 1] = {"plot.gp"};
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "%s-%s", t->label, suffixes[i]);
        list[i + 1] = names[i];
    }
    return cli_file_in_dir(file, dir, list, N + 1);
}

int cmd_sim(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"policy", required_argument, NULL, 'p'},
        {"alloc", required_argument, NULL, 'a'},
        {"port-rate", required_argument, NULL, 'r'},
        {"port-cap", required_argument, NULL, 'c'},
        {"tick", required_argument, NULL, 't'},
        {"check", no_argument, NULL, 'k'},
        {"lp-bound", no_argument, NULL, 'L'},
        {"flows", no_argument, NULL, 'F'},
        {"progress", no_argument, NULL, 'g'},
        {"progress-every", required_argument, NULL, 'G'},
        {"out", required_argument, NULL, 'o'},
        {"plot", required_argument, NULL, 'P'},
        {"plot-metric", required_argument, NULL, 'M'},
        {"varys", no_argument, NULL, 'v'},
        {"model", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},
        {"save-model", required_argument, NULL, 'S'},
        {"scores", required_argument, NULL, 'x'},
        {"bins", no_argument, NULL, 'b'},
        {"bin-length", required_argument, NULL, 'l'},
        {"bin-width", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    workload_format_t fmt = WORKLOAD_FORMAT_AUTO;
    const char *policies[MAX_POLICIES];
    size_t n_pol = 0;
    const char *alloc = NULL, *out_dir = NULL, *plot = NULL;
    const plot_metric_t *metric = &plot_metrics[0], *metric_given = NULL;
    const char *model_path = NULL, *save_model = NULL, *scores_path = NULL;
    uint64_t seed = 1;
    bool seed_given = false;
    double port_rate = 0, tick_s = 0, progress_s = 1;
    bool check = false, varys = false, flows = false, lp_bound = false, progress = false;
    bool bins = false;
    const char *bin_length_arg = "5MB"; /* read once --varys is known */
    double bin_length = 0;
    size_t bin_width = 50;
    double scaled_lp = 0; /* the LP bound over the scaled weights, when asked for */
    static port_cap_t caps[MAX_PORT_CAPS];
    size_t n_caps = 0;

    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            if (workload_format_parse(optarg, &fmt)) {
                fprintf(stderr, "weft sim: --format: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'p':
            if (cli_add_policy("sim", optarg, policies, &n_pol, MAX_POLICIES))
                return CLI_USAGE;
            break;
        case 'a':
            /* refused as "sebf:" is (it ran each ordering's own) */
            if (cli_check_name("sim", "--alloc", optarg, "allocator"))
                return CLI_USAGE;
            alloc = optarg;
            break;
        case 'r':
            if (netsim_parse_rate(optarg, &port_rate)) {
                fprintf(stderr, "weft sim: --port-rate: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'c':
            if (n_caps == MAX_PORT_CAPS) {
                fprintf(stderr, "weft sim: at most %d --port-cap options\n", MAX_PORT_CAPS);
                return CLI_USAGE;
            }
            if (cli_parse_port_cap("sim", optarg, &caps[n_caps].port, &caps[n_caps].rate))
                return CLI_USAGE;
            for (size_t i = 0; i < n_caps; i++)
                if (caps[i].port == caps[n_caps].port) {
                    fprintf(stderr, "weft sim: --port-cap %s: port %zu given twice\n", optarg,
                            caps[i].port);
                    return CLI_USAGE;
                }
            n_caps++;
            break;
        case 't':
            if (!parse_double(optarg, &tick_s) || tick_s < 0 ||
                (tick_s > 0 && tick_s < SIM_MIN_TICK_S)) {
                fprintf(stderr, "weft sim: --tick '%s': expected 0 (the ordering's own) or "
                        "seconds >= %g\n", optarg, SIM_MIN_TICK_S);
                return CLI_USAGE;
            }
            break;
        case 'F':
            flows = true;
            break;
        case 'g':
            progress = true;
            break;
        case 'G':
            if (!parse_double(optarg, &progress_s) || !(progress_s >= SIM_MIN_PROGRESS_S)) {
                fprintf(stderr, "weft sim: --progress-every '%s': expected seconds >= %g\n",
                        optarg, SIM_MIN_PROGRESS_S);
                return CLI_USAGE;
            }
            /* off a terminal a period asks for the log (it printed nothing) */
            progress = progress || !isatty(STDERR_FILENO);
            break;
        case 'k':
            check = true;
            break;
        case 'L':
            lp_bound = true;
            break;
        case 'o':
            if (cli_check_name("sim", "--out", optarg, "directory"))
                return CLI_USAGE;
            out_dir = optarg;
            break;
        case 'P':
            if (cli_check_plot_name("sim", "--plot", optarg))
                return CLI_USAGE;
            plot = optarg;
            break;
        case 'M':
            metric_given = NULL; /* the last one given counts, as elsewhere */
            for (size_t i = 0; i < N_PLOT_METRICS && !metric_given; i++)
                if (!strcmp(optarg, plot_metrics[i].name))
                    metric_given = &plot_metrics[i];
            if (!metric_given) {
                fprintf(stderr, "weft sim: --plot-metric '%s': expected jct, cct or slowdown\n",
                        optarg);
                return CLI_USAGE;
            }
            metric = metric_given;
            break;
        case 'v':
            varys = true;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 'S':
            if (cli_check_name("sim", "--save-model", optarg, "file"))
                return CLI_USAGE;
            save_model = optarg;
            break;
        case 'x':
            if (cli_check_name("sim", "--scores", optarg, "file"))
                return CLI_USAGE;
            scores_path = optarg;
            break;
        case 's':
            if (cli_parse_u64("sim", "--seed", optarg, &seed))
                return CLI_USAGE;
            seed_given = true;
            break;
        case 'b':
            bins = true;
            break;
        case 'l':
            bin_length_arg = optarg;
            bins = true;
            break;
        case 'w':
            if (cli_parse_size("sim", "--bin-width", optarg, 1, &bin_width))
                return CLI_USAGE;
            bins = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("sim", ch, long_opts, argv);
            cli_usage_hint("sim", usage);
            return CLI_USAGE;
        }
    }
    /* a binary MB under --varys, as the trace's */
    if (bins && netsim_parse_size(bin_length_arg, varys, &bin_length)) {
        fprintf(stderr, "weft sim: --bin-length: %s\n", weft_last_error());
        return CLI_USAGE;
    }
    /* --save-model alone writes its file and ends; with a workload only
       once the command line and the workload are checked, so a usage
       error replaces no model */
    /* the random model (or the scores) over the trained one given */
    const char *const model_read[][2] = {{"--model", model_path}};
    if (cli_output_not_read("sim", "--save-model", save_model, model_read, 1) ||
        cli_output_not_read("sim", "--scores", scores_path, model_read, 1))
        return CLI_USAGE;
    if (save_model && optind >= argc && !scores_path)
        return save_random_model(save_model, seed);
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? "weft sim: no workload given\n"
                                       : "weft sim: exactly one workload expected\n");
        cli_usage_hint("sim", usage);
        return CLI_USAGE;
    }
    if (n_pol == 0) {
        fprintf(stderr, "weft sim: give at least one --policy (see weft sim --help)\n");
        return CLI_USAGE;
    }
    if (flows && !out_dir) {
        fprintf(stderr, "weft sim: --flows writes <policy>-flows.csv into --out DIR; give "
                "--out\n");
        return CLI_USAGE;
    }
    if (metric_given && !plot) {
        fprintf(stderr, "weft sim: --plot-metric chooses what --plot draws; give --plot FILE\n");
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    /* the scores or the random model written over the workload they came from */
    if (cli_output_not_input("sim", "--scores", scores_path, argv + optind, 1, "workload") ||
        cli_output_not_input("sim", "--save-model", save_model, argv + optind, 1, "workload"))
        return CLI_USAGE;

    sim_task_t *tasks = calloc(n_pol, sizeof *tasks);
    if (!tasks) {
        fprintf(stderr, "weft sim: out of memory\n");
        return CLI_ERROR;
    }
    int rc = CLI_OK;
    bool pipe_held = false; /* cli_pipe_hold's */
    struct sigaction old_pipe;
    for (size_t i = 0; i < n_pol; i++) {
        netsim_result_init(&tasks[i].res);
        atomic_init(&tasks[i].coflows_done, 0);
        if (!resolve_policy(&tasks[i], policies[i], alloc))
            rc = CLI_USAGE;
    }
    /* the same run twice is a slip, under one name or two ('sebf' and
       'sebf:madd'), as in weft eval */
    for (size_t i = 0; i < n_pol && rc == CLI_OK; i++)
        for (size_t k = 0; k < i && rc == CLI_OK; k++)
            if (!strcmp(tasks[i].label, tasks[k].label) ||
                (tasks[i].ord == tasks[k].ord && tasks[i].alloc == tasks[k].alloc)) {
                if (!strcmp(tasks[i].spec, tasks[k].spec))
                    fprintf(stderr, "weft sim: policy '%s' given twice\n", tasks[i].spec);
                else
                    fprintf(stderr, "weft sim: policy '%s' given twice (as '%s': the same "
                            "ordering and allocator)\n", tasks[i].spec, tasks[k].spec);
                rc = CLI_USAGE;
            }
    if (rc != CLI_OK) {
        free(tasks);
        return rc;
    }
    const char *specs[MAX_POLICIES];
    const coflow_allocator_t *allocs[MAX_POLICIES];
    for (size_t i = 0; i < n_pol; i++) {
        specs[i] = tasks[i].spec;
        allocs[i] = tasks[i].alloc;
    }
    cli_note_order_blind("sim", specs, allocs, n_pol);
    bool uses_learned = false;
    for (size_t i = 0; i < n_pol; i++)
        uses_learned = uses_learned || !strcmp(tasks[i].ord->name, "learned");
    if (scores_path && (n_pol != 1 || !uses_learned)) {
        fprintf(stderr, "weft sim: --scores writes the learned policy's scores: give exactly "
                "one --policy, learned (or learned:ALLOCATOR), not %s%s\n",
                n_pol == 1 ? "--policy " : "", n_pol == 1 ? tasks[0].spec : "several");
        free(tasks);
        return CLI_USAGE;
    }
    if (model_path && seed_given && !save_model && uses_learned) {
        fprintf(stderr, "weft sim: --model and --seed both set the learned policy's "
                "parameters (trained from a file, or random from a seed); give one\n");
        free(tasks);
        return CLI_USAGE;
    }
    if (uses_learned && model_path && seed_given) /* with --save-model, or refused above */
        fprintf(stderr, "weft sim: note: the learned policy runs --model %s; --seed %llu makes "
                "only --save-model's\n", model_path, (unsigned long long)seed);
    if (!uses_learned && model_path)
        fprintf(stderr, "weft sim: note: --model is used by --policy learned only; ignored\n");
    if (!uses_learned && seed_given && !save_model)
        fprintf(stderr, "weft sim: note: --seed is used by --policy learned only; ignored\n");
    coflow_workload_t wl;
    coflow_fabric_t fab;
    coflow_workload_init(&wl, 0);
    memset(&fab, 0, sizeof fab);
    /* a reader gone (| head) raised SIGPIPE at the table past stdio's 4 KiB,
       or at the header flushed before the runs, and lost every run's --out
       files and plot: held off until they are written (cleanup); with none
       to write, it ends the runs no one will see */
    pipe_held = (out_dir || plot || scores_path) && cli_pipe_hold(&old_pipe);
    /* where the results go is settled before the runs, however long; the
       plot and the scores may go into the --out directory made here, which
       a run that fails before writing there takes back (cleanup) */
    size_t out_made_from = out_dir ? cli_dirs_missing(out_dir) : 0;
    /* before the directories are made: a signal between the two would
       leave them (the handler passes over those not made yet) */
    if (out_dir)
        cli_unmake_on_signals(out_dir, out_made_from);
    if ((out_dir && cli_make_dirs("sim", "--out", out_dir)) ||
        (plot && cli_check_writable("sim", plot)) ||
        (scores_path && cli_check_writable("sim", scores_path))) {
        rc = CLI_ERROR;
        goto cleanup;
    }
    bool scores_plotted = cli_same_output(scores_path, plot);
    if (scores_plotted ||
        (scores_path && out_dir && an_out_file(scores_path, out_dir, tasks, metric))) {
        fprintf(stderr, "weft sim: --scores '%s' is a file %s writes: give it another name\n",
                scores_path, scores_plotted ? "--plot" : "--out");
        rc = CLI_USAGE;
        goto cleanup;
    }
    char model_buf[4096];
    const char *model_origin = "--model";
    for (size_t i = 0; i < n_pol && !model_path && !seed_given; i++)
        if (!strcmp(tasks[i].ord->name, "learned")) {
            model_path = cli_default_model(model_buf, sizeof model_buf, &model_origin);
            if (model_path)
                printf("model: %s\n", model_path);
            else
                fprintf(stderr, "weft sim: no trained model found (models/%s); the learned "
                        "policy runs with random parameters from seed %llu\n", CLI_MODEL_NAME,
                        (unsigned long long)seed);
            break;
        }
    if (uses_learned && model_path && !cli_check_model("sim", model_path, model_origin)) {
        rc = CLI_ERROR;
        goto cleanup;
    }

    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    if (varys) {
        ro.fb_mb_bytes = 1048576.0;
        if (port_rate == 0)
            port_rate = 1073741824.0 / 8.0;
    }
    if (port_rate == 0)
        port_rate = WEFT_GBPS_BYTES;
    if (cli_read_workload("sim", &wl, path, fmt, &ro)) {
        rc = CLI_ERROR;
        goto cleanup;
    }
    weft_err_t err = coflow_fabric_init(&fab, wl.n_ports, port_rate);
    for (size_t i = 0; i < n_caps && !err; i++) {
        if (caps[i].port >= fab.n_ports)
            err = weft_fail(WEFT_EINVAL, "--port-cap: port %zu, but the workload has ports "
                            "0..%zu", caps[i].port, fab.n_ports - 1);
        else
            fab.cap_out[caps[i].port] = fab.cap_in[caps[i].port] = caps[i].rate;
    }
    if (!err)
        err = dag_analyze(&wl, &fab);
    if (!err && (err = netsim_check_clock(&wl, &fab))) /* always, not only with --check */
        weft_wrap(err, "%s: ", workload_input_name(path));
    if (err) {
        cli_report("sim", err);
        rc = CLI_ERROR;
        goto cleanup;
    }
    if (save_model && (rc = save_random_model(save_model, seed)) != CLI_OK)
        goto cleanup;

    /* as the summary's port_caps: only the caps that differ from the rate */
    size_t n_other = 0;
    for (size_t i = 0; i < n_caps; i++)
        n_other += caps[i].rate != port_rate;
    printf("workload %s: %zu %s, %zu %s, %zu %s, %.6g bytes on %zu %s at %.6g bytes/s",
           workload_input_name(path), wl.n_jobs, weft_plural(wl.n_jobs, "job", "jobs"),
           wl.n_coflows, weft_plural(wl.n_coflows, "coflow", "coflows"), wl.n_flows,
           weft_plural(wl.n_flows, "flow", "flows"), coflow_workload_total_bytes(&wl),
           fab.n_ports, weft_plural(fab.n_ports, "port", "ports"), port_rate);
    if (n_other)
        printf(" (%zu %s another rate by --port-cap)", n_other,
               weft_plural(n_other, "port set to", "ports set to"));
    printf("\n");
    printf("bound: average weighted lower bound of JCT %.6g s\n", dag_weighted_bound(&wl));
    if (lp_bound) {
        dag_lp_bound_t b;
        if (wl.n_coflows > 10000) /* the Alibaba sample's 67,634: about 100 s */
            fprintf(stderr, "weft sim: the LP bound over %zu coflows may take minutes\n",
                    wl.n_coflows);
        err = dag_lp_bound(&wl, &fab, &b);
        if (err == WEFT_EINVAL && wl.n_jobs > 0) { /* no bound: the runs still count */
            printf("LP bound: none: %s\n", weft_last_error());
            err = WEFT_OK;
        } else if (err) {
            cli_report("sim", err);
            rc = CLI_ERROR;
            goto cleanup;
        } else {
            scaled_lp = b.scaled_avg_weighted_jct;
            char plateau[64];
            snprintf(plateau, sizeof plateau, "no gain in its last %zu rounds",
                     dag_lp_plateau_rounds);
            printf("LP bound: no schedule's average weighted JCT is below %.6g s (%zu cuts in "
                   "%zu rounds, %s, %.2f s)\n", b.avg_weighted_jct, b.n_cuts, b.n_rounds,
                   b.converged        ? "converged"
                   : b.solver_stopped ? "the solver stopped: the round before's bound"
                   : b.plateau        ? plateau
                                      : "stopped at the round limit",
                   b.seconds);
        }
    }
    printf("\n");
    cli_flush_stdout();

    size_t start_order[MAX_POLICIES];
    sim_pool_t pool = {.wl = &wl, .fab = &fab, .tick_s = tick_s, .check = check, .flows = flows,
                       .model_path = model_path, .seed = seed, .tasks = tasks,
                       .n_tasks = n_pol, .start_order = start_order,
                       .progress = progress, .progress_s = progress_s};
    plan_start_order(&pool);
    if (scores_path) {
        /* the scores stream into a temporary file beside FILE, renamed over
           it once the run ends: a failed or interrupted run leaves FILE as
           it was, never a partial CSV */
        err = weft_save_file(scores_path, run_with_scores, &pool);
        if (err && !pool.run_err && !tasks[0].err) { /* writing them failed */
            fprintf(stderr, "weft sim: --scores %s\n", weft_last_error());
            rc = CLI_ERROR;
            goto cleanup;
        }
        err = pool.run_err;
    } else {
        err = run_pool(&pool);
    }
    if (err) {
        cli_report("sim", err);
        rc = CLI_ERROR;
        goto cleanup;
    }

    for (size_t i = 0; i < n_pol; i++) {
        tasks[i].res.scaled_lp_bound = scaled_lp; /* for the summary JSON */
        tasks[i].binned = bins && !tasks[i].err &&
                          !netsim_bins(&wl, &tasks[i].res, bin_length, bin_width, &tasks[i].bins);
    }
    print_table(tasks, n_pol, check, scaled_lp > 0);
    print_bins(tasks, n_pol);
    for (size_t i = 0; i < n_pol; i++) {
        if (tasks[i].err) {
            fprintf(stderr, "weft sim: policy %s: %s: %s\n", tasks[i].spec,
                    weft_strerror(tasks[i].err), tasks[i].errmsg);
            rc = CLI_ERROR;
        } else if (check && tasks[i].res.n_violations) {
            rc = CLI_ERROR;
        }
    }

    /* what the learned policy ran: the model file whenever there is one
       (--seed then only made --save-model's), else random parameters */
    netsim_run_info_t info = {.workload = path, .fab = &fab, .port_rate = port_rate,
                              .tick_s = tick_s, .model = model_path,
                              .random_model = !model_path, .model_seed = seed};
    if (out_dir) /* made before the runs (cli_make_dirs) */
        for (size_t i = 0; i < n_pol; i++) {
            if (tasks[i].err)
                continue;
            if (write_result_file(out_dir, &tasks[i], "coflows.csv", &wl, &info) ||
                write_result_file(out_dir, &tasks[i], "jobs.csv", &wl, &info) ||
                write_result_file(out_dir, &tasks[i], "summary.json", &wl, &info) ||
                (flows && write_result_file(out_dir, &tasks[i], "flows.csv", &wl, &info)))
                rc = CLI_ERROR;
        }
    if (plot) {
        bool all_ok = true;
        for (size_t i = 0; i < n_pol; i++)
            all_ok = all_ok && !tasks[i].err;
        if (!all_ok) {
            fprintf(stderr, "weft sim: not plotting: a policy failed\n");
            rc = CLI_ERROR;
        } else if (plot_cdf(plot, out_dir && rc == CLI_OK ? out_dir : NULL, metric, tasks,
                            n_pol, &wl, path)) {
            rc = CLI_ERROR;
        } else {
            printf("plot: %s\n", plot);
        }
    }

cleanup:
    if (rc != CLI_OK && out_dir) /* only directories still empty go */
        cli_unmake_dirs(out_dir, out_made_from);
    for (size_t i = 0; i < n_pol; i++)
        netsim_result_destroy(&tasks[i].res);
    free(tasks);
    coflow_fabric_destroy(&fab);
    coflow_workload_destroy(&wl);
    cli_pipe_release(pipe_held, &old_pipe);
    return rc;
}
