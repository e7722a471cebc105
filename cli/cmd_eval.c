/*
 * cmd_eval.c - `weft eval`: the learned policy against every heuristic over
 * a set of workloads (several seeds of each kind), with means and 95%
 * confidence intervals, as a table, a CSV and a bar plot. The runs go
 * through train_evaluate_policy (all cores); this file only groups,
 * averages and prints.
 *
 * Workloads are grouped by file name with a trailing "-s<digits>" (the
 * seed) removed, so alibaba-l0.7-s1001.weft and alibaba-l0.7-s1002.weft
 * form the group alibaba-l0.7.
 */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "train/train.h"

static const char *const default_policies[] = {"learned", "fifo", "scf",       "ncf",
                                               "lcf",     "sebf", "aalo",      "sincronia",
                                               "wcp",     "jsebf", "jsebf-cp", NULL};

#define MAX_POLICIES 32

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft eval [options] WORKLOAD...\n"
            "\n"
            "Replays every workload under the learned policy and the coflow heuristics\n"
            "(each with its paper's allocator; --policy picks others) and compares average\n"
            "weighted JCT: per policy the mean over workloads with a 95%% confidence\n"
            "interval (Student t), the mean ratio to the best heuristic B (the one with\n"
            "the lowest mean ratio to the per-workload best over all the workloads, the\n"
            "first given on a tie) and to the per-workload best heuristic, overall and\n"
            "per group (the file name without its extension and a trailing -s<seed>;\n"
            "each group's ratios are to the same B). Under the tables, a line for each\n"
            "learned policy: its mean ratio to B as \"N%% lower\" or \"higher\" (\"the same\n"
            "within 0.05%%\" where N rounds to 0.0) with the ratio's interval.\n"
            "Each WORKLOAD once (a file twice would count twice); - reads standard input.\n"
            "\n"
            "options:\n"
            "  --model FILE       the learned policy's model (default: the shipped one,\n"
            "                     models/%s, found as `weft sim` does)\n"
            "  --policy SPEC      a policy, NAME or NAME:ALLOCATOR (repeatable; all:\n"
            "                     every ordering; default: learned, fifo, scf, ncf, lcf,\n"
            "                     sebf, aalo, sincronia, wcp, jsebf and jsebf-cp, not\n"
            "                     the per-flow fair and srf; one ordering and allocator\n"
            "                     twice is refused; runs under fair, or under srf, are one\n"
            "                     schedule, which a note says)\n"
            "  --csv FILE         per-workload results: policy, workload, group, avg_wjct_s,\n"
            "                     ratio_to_B, ratio_to_best, B (the yardstick's name;\n"
            "                     the LP row's policy lp-bound; a field with a comma or\n"
            "                     a quote quoted, its quotes doubled; a file: standard output\n"
            "                     holds the table). A FILE there already must be such\n"
            "                     a CSV: a workload, or anything else, is not replaced\n"
            "  --plot FILE        bar chart of the ratios with their intervals (.png/.svg)\n"
            "  --threads N        parallel runs (default: all cores)\n"
            "  --progress         a line on stderr as each policy starts (on a terminal it\n"
            "                     is shown anyway, in place, and wiped before the table)\n"
            "  --port-rate RATE   every port's rate each way, as in weft sim (default\n"
            "                     1Gbps, the rate weft gen's --load and training assume)\n"
            "  --lp-bound         add a row for a lower bound no schedule beats: per\n"
            "                     workload the linear program of dag/lpbound.c (DAG order,\n"
            "                     release, isolation and compute times, and every port's\n"
            "                     contention), so its \"vs B\" is the most any policy could\n"
            "                     gain over B on average (the line \"no schedule vs B\")\n"
            "  -h, --help         this text\n",
            CLI_MODEL_NAME);
}

/* A half-width for the tables: "-" when there is none (one workload). */
static const char *half_str(double h, char buf[16])
{
    if (isnan(h))
        return "-";
    snprintf(buf, 16, "%.4f", h);
    return buf;
}

/* A mean ratio and its 95% half-width for the closing lines: "M ± H", or
 * for one workload "M; one workload, so no interval" (it read "M ± -"). */
static const char *ratio_ci(double m, double h, char buf[64])
{
    if (isnan(h))
        snprintf(buf, 64, "%.4f; one workload, so no interval", m);
    else
        snprintf(buf, 64, "%.4f ± %.4f", m, h);
    return buf;
}

/* Whether a workload of paths[0..n) is given twice, by name or as another
 * name of one file, after a message naming both: a file twice (an
 * overlapping glob) counts twice in every mean, and its copies' equal
 * results narrow the intervals; standard input twice read empty the second
 * time. Each path is looked up once (a lookup per pair took 15 s over
 * 3,000 workloads). */
static bool given_twice(char *const *paths, size_t n)
{
    struct stat *sb = calloc(n ? n : 1, sizeof *sb);
    bool *found = calloc(n ? n : 1, sizeof *found), twice = false;
    if (!sb || !found) {
        free(sb), free(found);
        return false; /* the reads that follow say it */
    }
    for (size_t i = 0; i < n; i++)
        found[i] = strcmp(paths[i], "-") != 0 && stat(paths[i], &sb[i]) == 0;
    for (size_t i = 1; i < n && !twice; i++)
        for (size_t k = 0; k < i && !twice; k++) {
            twice = found[i] && found[k] ? sb[i].st_dev == sb[k].st_dev &&
                                               sb[i].st_ino == sb[k].st_ino
                                         : !found[i] && !found[k] && !strcmp(paths[i], paths[k]);
            if (twice)
                fprintf(stderr, "weft eval: workload '%s' given twice (as '%s' before it): "
                        "each would count twice in the means and intervals\n", paths[i],
                        paths[k]);
        }
    free(sb), free(found);
    return twice;
}

/* Mean and 95% half-width of x[idx[0..n)] (or of x[0..n) when idx NULL). */
static void mean_ci(const double *x, const size_t *idx, size_t n, double *mean, double *half)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += x[idx ? idx[i] : i];
    double m = n ? s / (double)n : NAN;
    for (size_t i = 0; i < n; i++) {
        double d = x[idx ? idx[i] : i] - m;
        ss += d * d;
    }
    *mean = m;
    *half = n > 1 ? weft_t95(n - 1) * sqrt(ss / (double)(n - 1)) / sqrt((double)n) : NAN;
}

/* A workload's group: its file name without the extension and a
 * trailing -s<seed> (docs/usage.md, "Sweeps: `weft eval`"). The extension is
 * a last dot after the last dash, followed by a letter: in x-l0.7-s1 the
 * dot belongs to the load, not to an extension. */
static void group_of(const char *path, char *buf, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(buf, len, "%s", base);
    char *dot = strrchr(buf, '.'), *last_dash = strrchr(buf, '-');
    if (dot && (!last_dash || dot > last_dash) && isalpha((unsigned char)dot[1]))
        *dot = '\0';
    char *dash = strrchr(buf, '-');
    if (dash && dash[1] == 's' && dash[2]) {
        bool digits = true;
        for (const char *p = dash + 2; *p; p++)
            digits = digits && *p >= '0' && *p <= '9';
        if (digits)
            *dash = '\0';
    }
}

typedef struct {
    const char *const *names;
    const double *ratio, *half;
    size_t n;
} bars_t;

static void bars_script(FILE *gp, const void *arg)
{
    const bars_t *b = arg;
    fputs("set title 'weft eval: avg weighted JCT / best heuristic (mean, 95% CI)'\n"
          "set style fill solid 0.6\nset boxwidth 0.7\nset grid ytics\nunset key\n"
          "set xtics rotate by -30\nset ylabel 'ratio (lower is better)'\n"
          "set yrange [0:*]\n",
          gp);
    fprintf(gp, "set xrange [-0.6:%g]\nset arrow from -0.6,1 to %g,1 nohead dt 2\n",
            (double)b->n - 0.4, (double)b->n - 0.4);
    fputs("plot '-' using 0:2:3:xtic(1) with boxerrorbars lc rgb '#4a7ab5'\n", gp);
    for (size_t i = 0; i < b->n; i++)
        fprintf(gp, "\"%s\" %.9g %.9g\n", b->names[i], b->ratio[i],
                isnan(b->half[i]) ? 0 : b->half[i]);
    fputs("e\n", gp);
}

typedef struct {
    const char *const *spec; /* [n_pol] */
    char *const *paths;      /* [n] */
    const char (*grp)[128];  /* [n] */
    const double *w, *r, *rb; /* [n_pol][n] */
    const char *b;            /* the yardstick B */
    size_t n_pol, n;
} csv_arg_t;

/* The LP bound of each workload (one index of weft_parallel_for), with
 * its error and message where it fails. */
typedef struct {
    const coflow_workload_t *wls;
    double port_rate;
    dag_lp_bound_t *lb;
    weft_err_t *err;
    char (*msg)[256];
} lp_jobs_t;

static void lp_one(void *arg, size_t i)
{
    lp_jobs_t *p = arg;
    coflow_fabric_t fab = {0};
    weft_err_t err = coflow_fabric_init(&fab, p->wls[i].n_ports, p->port_rate);
    if (!err)
        err = dag_lp_bound(&p->wls[i], &fab, &p->lb[i]);
    coflow_fabric_destroy(&fab);
    if ((p->err[i] = err))
        snprintf(p->msg[i], sizeof p->msg[i], "%s", weft_last_error());
}

/* Fills lb[0..n) on up to `threads` threads (GLPK keeps its state per
 * thread, freed by dag_lp_thread_done); on an error, returns the first (in
 * workload order) with its index in *failed and its message in msg. */
static weft_err_t lp_bounds(const coflow_workload_t *wls, size_t n, size_t threads,
                            double port_rate, dag_lp_bound_t *lb, size_t *failed, char msg[256])
{
    *failed = 0;
    weft_err_t *err = calloc(n, sizeof *err);
    char(*msgs)[256] = calloc(n, sizeof *msgs);
    lp_jobs_t p = {.wls = wls, .port_rate = port_rate, .lb = lb, .err = err, .msg = msgs};
    weft_err_t first = err && msgs ? weft_parallel_for(n, threads, lp_one, &p,
                                                       dag_lp_thread_done)
                                   : WEFT_ENOMEM;
    if (first)
        snprintf(msg, 256, "out of memory for the bounds of %zu workloads", n);
    for (size_t i = 0; i < n && !first; i++)
        if ((first = err[i])) {
            *failed = i;
            snprintf(msg, 256, "%s", msgs[i]);
        }
    free(err);
    free(msgs);
    return first;
}

/* s as one CSV field, then sep: quoted (quotes doubled) when it holds a
 * comma, a quote or a line break, as RFC 4180 has it (a workload's path
 * may). */
static void csv_field(FILE *f, const char *s, char sep)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fprintf(f, "%s%c", s, sep);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fprintf(f, "\"%c", sep);
}

/* The first line of --csv's file. */
static const char csv_header[] = "policy,workload,group,avg_wjct_s,ratio_to_B,ratio_to_best,B";

/* The per-workload results as CSV (a weft_write_fn). */
static weft_err_t write_csv(FILE *f, const void *arg)
{
    const csv_arg_t *a = arg;
    size_t n = a->n;
    fprintf(f, "%s\n", csv_header);
    for (size_t p = 0; p < a->n_pol; p++)
        for (size_t i = 0; i < n; i++) {
            csv_field(f, a->spec[p], ',');
            csv_field(f, a->paths[i], ',');
            csv_field(f, a->grp[i], ',');
            fprintf(f, "%.17g,%.17g,%.17g,", a->w[p * n + i], a->r[p * n + i],
                    a->rb[p * n + i]);
            csv_field(f, a->b, '\n');
        }
    return WEFT_OK;
}

/* Whether --csv names a regular file that holds something else than
 * results this command wrote (a workload, above all), after a message:
 * `--csv *.weft` takes the glob's first workload for the CSV, and when that
 * is not among the workloads given (below), the results replaced it. An
 * empty file, a CSV of results and a device (/dev/stdout) are written as
 * asked. */
static bool csv_replaces_other(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        return false;
    char line[sizeof csv_header + 1] = "";
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (!strcmp(line, csv_header))
        return false;
    for (char *c = line; *c; c++) /* quoted below: a binary file's bytes too */
        if (!isprint((unsigned char)*c))
            *c = '?';
    fprintf(stderr, "weft eval: --csv '%s' is a file that holds no results of weft eval (its "
            "first line is '%.40s'): they would replace it; before a glob, --csv takes its "
            "first file. Name another file, or remove this one\n", path, line);
    return true;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},  {"policy", required_argument, NULL, 'p'},
        {"csv", required_argument, NULL, 'c'},    {"plot", required_argument, NULL, 'P'},
        {"threads", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"lp-bound", no_argument, NULL, 'L'},     {"progress", no_argument, NULL, 'g'},
        {"port-rate", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *csv_path = NULL, *plot = NULL;
    const char *spec[MAX_POLICIES + 1];
    size_t n_pol = 0;
    bool lp_bound = false, progress = false;
    double port_rate = WEFT_GBPS_BYTES;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = nproc > 0 ? (size_t)nproc : 1;
    optind = 1;
    opterr = 0;
    int ch;
    char optname[64];
    while ((ch = cli_next_option(argc, argv, longopts, optname, sizeof optname)) != -1) {
        const char *opt = optname;
        switch (ch) {
        case 'm': model = optarg; break;
        case 'p':
            if (cli_add_policy("eval", optarg, spec, &n_pol, MAX_POLICIES))
                return CLI_USAGE;
            break;
        case 'c':
            if (cli_check_name("eval", opt, optarg, "file"))
                return CLI_USAGE;
            if (!strcmp(optarg, "-")) { /* it wrote a file named "-", where gen's -o - is stdout */
                fprintf(stderr, "weft eval: --csv -: standard output holds the table; give "
                        "the CSV a file name\n");
                return CLI_USAGE;
            }
            csv_path = optarg;
            break;
        case 'g': progress = true; break;
        case 'P':
            if (cli_check_plot_name("eval", opt, optarg))
                return CLI_USAGE;
            plot = optarg;
            break;
        case 't':
            if (cli_parse_size("eval", opt, optarg, 1, &threads))
                return CLI_USAGE;
            break;
        case 'h': usage(stdout); return CLI_OK;
        case 'L': lp_bound = true; break;
        case 'r':
            if (netsim_parse_rate(optarg, &port_rate)) {
                fprintf(stderr, "weft eval: --port-rate: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case ':':
            cli_bad_option("eval", ch, longopts, argv);
            return CLI_USAGE;
        default:
            cli_bad_option("eval", ch, longopts, argv);
            cli_usage_hint("eval", usage);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "weft eval: no workloads given\n");
        cli_usage_hint("eval", usage);
        return CLI_USAGE;
    }
    if (n_pol == 0)
        for (; default_policies[n_pol]; n_pol++)
            spec[n_pol] = default_policies[n_pol];
    /* split NAME:ALLOC and check them before any run */
    char name[MAX_POLICIES][64], alloc[MAX_POLICIES][64];
    bool uses_learned = false, heuristic = false;
    for (size_t p = 0; p < n_pol; p++) {
        const char *colon = strchr(spec[p], ':');
        size_t k = colon ? (size_t)(colon - spec[p]) : strlen(spec[p]);
        snprintf(name[p], sizeof name[p], "%.*s", (int)k, spec[p]);
        snprintf(alloc[p], sizeof alloc[p], "%s", colon ? colon + 1 : "");
        const coflow_ordering_t *o = coflow_ordering_find(name[p]);
        if (!o) {
            fprintf(stderr, "weft eval: --policy '%s': unknown ordering '%s' (see weft sim "
                    "--help)\n", spec[p], name[p]);
            return CLI_USAGE;
        }
        if (colon && !*alloc[p]) {
            fprintf(stderr, "weft eval: --policy '%s': no allocator after ':' (give "
                    "NAME:ALLOCATOR, or the name alone for its own)\n", spec[p]);
            return CLI_USAGE;
        }
        if (colon && !coflow_allocator_find(alloc[p])) {
            fprintf(stderr, "weft eval: --policy '%s': unknown allocator '%s'\n", spec[p],
                    alloc[p]);
            return CLI_USAGE;
        }
        if (!colon)
            snprintf(alloc[p], sizeof alloc[p], "%s", o->default_allocator);
        for (size_t q = 0; q < p; q++) /* the same run twice: a slip, as in weft sim */
            if (!strcmp(name[q], name[p]) && !strcmp(alloc[q], alloc[p])) {
                if (!strcmp(spec[q], spec[p]))
                    fprintf(stderr, "weft eval: policy '%s' given twice\n", spec[p]);
                else
                    fprintf(stderr, "weft eval: policy '%s' given twice (as '%s': the same "
                            "ordering and allocator)\n", spec[p], spec[q]);
                return CLI_USAGE;
            }
        if (!strcmp(name[p], "learned"))
            uses_learned = true;
        else
            heuristic = true;
    }
    if (!heuristic) { /* the table's yardstick B is the best of them */
        fprintf(stderr, "weft eval: give at least one heuristic to compare with (every "
                "--policy is learned)\n");
        return CLI_USAGE;
    }
    if (given_twice(argv + optind, (size_t)(argc - optind)))
        return CLI_USAGE;
    /* `--csv *.weft` takes the glob's first file for the CSV, which
       the results replaced once the runs were done */
    if (cli_output_not_input("eval", "--csv", csv_path, argv + optind,
                             (size_t)(argc - optind), "workload"))
        return CLI_USAGE;
    if (csv_path && csv_replaces_other(csv_path))
        return CLI_USAGE;
    /* the plot, drawn last, replaced the CSV, status 0 */
    if (cli_same_output(csv_path, plot)) {
        fprintf(stderr, "weft eval: --csv '%s' and --plot '%s' are one file: give each its "
                "own\n", csv_path, plot);
        return CLI_USAGE;
    }
    const coflow_allocator_t *allocs[MAX_POLICIES];
    for (size_t p = 0; p < n_pol; p++)
        allocs[p] = coflow_allocator_find(alloc[p]);
    cli_note_order_blind("eval", spec, allocs, n_pol);
    if (model && !uses_learned)
        fprintf(stderr, "weft eval: note: --model is used by the learned policy only, and no "
                "--policy is learned; ignored\n");
    /* before the runs, which take a while */
    if ((plot && cli_check_writable("eval", plot)) ||
        (csv_path && cli_check_writable("eval", csv_path)))
        return CLI_ERROR;
    char mbuf[4096];
    const char *model_origin = "--model";
    if (uses_learned && !model) {
        model = cli_default_model(mbuf, sizeof mbuf, &model_origin);
        if (!model) {
            fprintf(stderr, "weft eval: no --model and no shipped model (models/%s) found\n",
                    CLI_MODEL_NAME);
            return CLI_ERROR;
        }
    }
    if (uses_learned && !cli_check_model("eval", model, model_origin))
        return CLI_ERROR;

    int rc = CLI_ERROR;
    /* a reader gone (| head) raised SIGPIPE at the tables and lost --csv and
       the plot written after them: held off until they are (done); without
       them, it ends the runs no one will see */
    struct sigaction old_pipe;
    bool pipe_held = (csv_path || plot) && cli_pipe_hold(&old_pipe);
    size_t n = (size_t)(argc - optind);
    char *const *paths = argv + optind;
    /* the rows: the policies, then the bound (not a policy: never B) */
    size_t n_rows = n_pol + lp_bound;
    if (lp_bound)
        spec[n_pol] = "lp-bound";
    coflow_workload_t *wls = calloc(n, sizeof *wls);
    double *w = calloc(n_rows * n, sizeof *w);      /* [row][workload] */
    /* the same over each workload's scaled weights: the ratios are of these, right
       for weights down to 5e-324 (until 2026-12-07 fifo's 4.16 of scf read 4.3333
       with weights of 1 and 20 times the least double) */
    double *sw = calloc(n_rows * n, sizeof *sw);
    double *r = calloc(n_rows * n, sizeof *r);      /* ratio to B */
    double *rb = calloc(n_rows * n, sizeof *rb);    /* ratio to per-workload best */
    double *best = calloc(n, sizeof *best);
    size_t *idx = calloc(n, sizeof *idx);
    char (*grp)[128] = calloc(n, sizeof *grp);
    dag_lp_bound_t *lbs = calloc(n, sizeof *lbs);
    bool have_wls = false;
    if (!wls || !w || !sw || !r || !rb || !best || !idx || !grp || !lbs) {
        fprintf(stderr, "weft eval: out of memory\n");
        goto done;
    }
    if (cli_read_workloads("eval", paths, n, port_rate, wls))
        goto done;
    have_wls = true;
    if (uses_learned)
        printf("model: %s\n", model);
    printf("%zu %s, %zu %s, ports at %g bytes/s each way\n", n,
           weft_plural(n, "workload", "workloads"), n_pol,
           weft_plural(n_pol, "policy", "policies"), port_rate);
    cli_flush_stdout();
    bool tty = !progress && isatty(STDERR_FILENO); /* the line in place */
    for (size_t p = 0; p < n_pol; p++) {
        if (progress || tty)
            fprintf(stderr, "%sweft eval: progress: policy %zu of %zu, %s, on %zu %s%s",
                    tty ? "\r\033[K" : "", p + 1, n_pol, spec[p], n,
                    weft_plural(n, "workload", "workloads"), tty ? "" : "\n");
        weft_err_t err = train_evaluate_policy(name[p], alloc[p], model, wls, n, threads,
                                               port_rate, w + p * n, sw + p * n);
        if (tty && (err || p + 1 == n_pol))
            fputs("\r\033[K", stderr);
        if (err) {
            fprintf(stderr, "weft eval: policy %s: %s: %s\n", spec[p], weft_strerror(err),
                    weft_last_error());
            goto done;
        }
    }
    if (lp_bound) {
        size_t failed;
        char msg[256];
        if (progress || tty) /* up to a second a workload: say so */
            fprintf(stderr, "%sweft eval: progress: the LP bounds of %zu %s%s",
                    tty ? "\r\033[K" : "", n, weft_plural(n, "workload", "workloads"),
                    tty ? "" : "\n");
        weft_err_t err = lp_bounds(wls, n, threads, port_rate, lbs, &failed, msg);
        if (tty)
            fputs("\r\033[K", stderr);
        if (err == WEFT_EINVAL) { /* no bound for a workload: the policies still count */
            printf("LP bound: none for %s (%s); no lp-bound row\n", paths[failed], msg);
            lp_bound = false;
            n_rows = n_pol;
        } else if (err) {
            fprintf(stderr, "weft eval: %s: %s: %s\n", paths[failed], weft_strerror(err), msg);
            goto done;
        }
    }
    for (size_t i = 0; lp_bound && i < n; i++) {
        w[n_pol * n + i] = lbs[i].avg_weighted_jct;
        sw[n_pol * n + i] = lbs[i].scaled_avg_weighted_jct;
        if (!lbs[i].converged)
            fprintf(stderr, "weft eval: note: %s: the LP bound stopped after %zu rounds of "
                    "cuts (%zu cuts) with cuts left to add; it is a bound, not the "
                    "tightest\n", paths[i], lbs[i].n_rounds, lbs[i].n_cuts);
    }
    /* per-workload best heuristic, then B: the heuristic closest to it on average */
    for (size_t i = 0; i < n; i++) {
        best[i] = INFINITY;
        for (size_t p = 0; p < n_pol; p++)
            if (strcmp(name[p], "learned") && sw[p * n + i] < best[i])
                best[i] = sw[p * n + i];
        if (!(best[i] > 0 && best[i] < INFINITY)) { /* every ratio to it nan */
            fprintf(stderr, "weft eval: %s: the best heuristic's average weighted JCT is %g "
                    "s, so no ratio to it can be taken; expected jobs that take time\n",
                    paths[i], best[i]);
            goto done;
        }
    }
    size_t B = n_pol;
    double bscore = INFINITY;
    for (size_t p = 0; p < n_pol; p++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += (rb[p * n + i] = sw[p * n + i] / best[i]);
        if (strcmp(name[p], "learned") && s < bscore)
            bscore = s, B = p;
    }
    if (B == n_pol) {
        fprintf(stderr, "weft eval: no heuristic has a finite mean ratio to the best per "
                "workload\n");
        goto done;
    }
    for (size_t p = 0; p < n_rows; p++)
        for (size_t i = 0; i < n; i++) {
            r[p * n + i] = sw[p * n + i] / sw[B * n + i];
            rb[p * n + i] = sw[p * n + i] / best[i];
        }

    for (size_t i = 0; i < n; i++)
        group_of(paths[i], grp[i], sizeof grp[i]);
    /* the whole set first, then each group in order of first appearance */
    for (size_t g = 0; g <= n; g++) {
        size_t m = 0;
        const char *label = "all workloads";
        if (g == 0) {
            for (size_t i = 0; i < n; i++)
                idx[m++] = i;
        } else {
            size_t first = g - 1;
            bool seen = false;
            for (size_t i = 0; i < first && !seen; i++)
                seen = !strcmp(grp[i], grp[first]);
            if (seen)
                continue;
            label = grp[first];
            for (size_t i = 0; i < n; i++)
                if (!strcmp(grp[i], grp[first]))
                    idx[m++] = i;
            if (m == n)
                continue; /* one group: the same as the whole set */
        }
        printf("\n%s (%zu %s); B = %s\n", label, m, weft_plural(m, "workload", "workloads"),
               spec[B]);
        /* "±" is two bytes and one column: its fields one byte wider */
        printf("%-22s %12s %10s %10s %10s %10s %10s\n", "policy", "avgwJCT(s)", "±95%",
               "vs B", "±95%", "vs best/wl", "±95%");
        for (size_t p = 0; p < n_rows; p++) {
            double mw, hw, mr, hr, mb, hb;
            mean_ci(w + p * n, idx, m, &mw, &hw);
            mean_ci(r + p * n, idx, m, &mr, &hr);
            mean_ci(rb + p * n, idx, m, &mb, &hb);
            char chw[16], chr[16], chb[16];
            printf("%-22s %12.4f %9s %10.4f %9s %10.4f %9s\n", spec[p], mw, half_str(hw, chw),
                   mr, half_str(hr, chr), mb, half_str(hb, chb));
        }
    }
    for (size_t p = 0; p < n_pol; p++)
        if (!strcmp(name[p], "learned")) {
            double mr, hr;
            mean_ci(r + p * n, NULL, n, &mr, &hr);
            char chr[64];
            char diff[48]; /* a tie, or within what one decimal shows, is no direction */
            if (fabs(1 - mr) < 5e-4)
                snprintf(diff, sizeof diff, "the same within 0.05%%");
            else
                snprintf(diff, sizeof diff, "%.1f%% %s", fabs(1 - mr) * 100,
                         mr < 1 ? "lower" : "higher");
            printf("\n%s vs %s: avg weighted JCT %s on average over %zu %s (%s %s)\n",
                   spec[p], spec[B], diff, n, weft_plural(n, "workload", "workloads"),
                   isnan(hr) ? "the ratio" : "95% CI of the ratio", ratio_ci(mr, hr, chr));
        }
    if (lp_bound) {
        double mr, hr, mb, hb;
        mean_ci(r + n_pol * n, NULL, n, &mr, &hr);
        mean_ci(rb + n_pol * n, NULL, n, &mb, &hb);
        char chr[64];
        printf("\nno schedule vs %s: at most %.1f%% lower on average over %zu %s (the LP "
               "bound's mean ratio %s; to each workload's best heuristic %.4f)\n",
               spec[B], (1 - mr) * 100, n, weft_plural(n, "workload", "workloads"),
               ratio_ci(mr, hr, chr), mb);
    }
    if (csv_path) {
        csv_arg_t ca = {.spec = spec, .paths = paths, .grp = grp, .w = w, .r = r, .rb = rb,
                        .b = spec[B], .n_pol = n_rows, .n = n};
        weft_err_t err = weft_save_file(csv_path, write_csv, &ca);
        if (err) {
            cli_report("eval", err);
            goto done;
        }
    }
    if (plot) {
        double mr[MAX_POLICIES + 1], hr[MAX_POLICIES + 1];
        for (size_t p = 0; p < n_rows; p++)
            mean_ci(r + p * n, NULL, n, &mr[p], &hr[p]);
        bars_t b = {.names = spec, .ratio = mr, .half = hr, .n = n_rows};
        if (cli_gnuplot("eval", plot, bars_script, &b))
            goto done;
    }
    rc = CLI_OK;
done:
    for (size_t i = 0; have_wls && i < n; i++)
        coflow_workload_destroy(&wls[i]);
    free(wls);
    free(w);
    free(sw);
    free(r);
    free(rb);
    free(best);
    free(idx);
    free(grp);
    free(lbs);
    cli_pipe_release(pipe_held, &old_pipe);
    return rc;
}
