/*
 * cmd_gen.c - `weft gen`: a multi-stage workload from real traces
 * (workload_generate), written in weft's text format. Parses options, reads
 * the FB pool and the shape files, and prints; the generator is library code.
 */
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

#define DEFAULT_FB "data/FB2010-1Hr-150-0.txt"
#define DEFAULT_ALIBABA "data/alibaba/sample_tasks.csv"
#define DEFAULT_WFCOMMONS_DIR "data/wfcommons"
#define DEFAULT_WFCOMMONS_GLOB DEFAULT_WFCOMMONS_DIR "/*.json"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft gen [options] [-o FILE]\n"
            "\n"
            "Generates a multi-stage workload the way the DRL coflow papers do: each job\n"
            "gets a DAG shape, each coflow of the DAG is a coflow drawn uniformly from the\n"
            "Facebook trace (its flows: width, per-flow sizes, ports), jobs arrive as a\n"
            "Poisson process scaled to the target offered load, and get weights. The same\n"
            "options and seed give the same workload, byte for byte. One expected to hold\n"
            "more flows than a 128th of this machine's memory in bytes is refused at once\n"
            "(the mean flows of a job times --jobs; a random job of up to D layers of up\n"
            "to W coflows has (D+1)/2 x (W+1)/2 coflows on average).\n"
            "\n"
            "options:\n"
            "  --shape KIND        random (default): layered DAGs; alibaba: the dependency\n"
            "                      DAG of a uniformly drawn Alibaba job; wfcommons: the\n"
            "                      stage graph of a uniformly drawn WfCommons workflow\n"
            "  --shapes FILE...    shape files (repeatable; further file arguments are\n"
            "                      taken as shape files too). Defaults: %s\n"
            "                      for alibaba (its independent tasks left out), every\n"
            "                      %s for wfcommons\n"
            "  --fb FILE           coflow pool: the FB trace (default %s),\n"
            "                      or any workload file weft reads (its every coflow)\n"
            "                      The default files are looked for in the current\n"
            "                      directory, then next to the weft program (as the model\n"
            "                      of `weft sim`) and in the source tree\n"
            "  --jobs N            jobs to generate, at most %zu (default 100)\n"
            "  --ports N           fabric ports, at most %zu (default 150). When it\n"
            "                      differs from the FB trace's P ports, FB port p becomes\n"
            "                      floor(p * N / P); on fewer ports (N < P) the flows of\n"
            "                      a coflow that land on one pair are merged into one, on\n"
            "                      as many or more they are kept as the pool has them (a\n"
            "                      --fb workload's two flows on one pair stay two)\n"
            "  --port-rate RATE    each port's rate (default 1Gbps); a number with a unit:\n"
            "                      bps, Kbps, Mbps, Gbps, Tbps, Kibps.., or B/s with the\n"
            "                      same prefixes; a plain number is bytes/s\n"
            "  --load L            target offered load: total bytes / (arrival span x\n"
            "                      ports x rate), > 0 (default 0.7)\n"
            "  --free-span         draw the Poisson gaps at the target rate and keep them\n"
            "                      (the realised load then varies by ~1/sqrt(jobs));\n"
            "                      by default the gaps are scaled to give exactly L\n"
            "  --seed S            random seed (default 1)\n"
            "  --max-depth D       random shapes: at most D layers (default 5; 1..10000)\n"
            "  --max-width W       random shapes: at most W coflows a layer (default 4; 1..10000)\n"
            "  --weights DIST      uniform (integers min..max, default), one (all 1), or\n"
            "                      pareto (min x Pareto(alpha 2), capped at max)\n"
            "  --weight-min W      smallest weight (default 1)\n"
            "  --weight-max W      largest weight (default 5)\n"
            "  --compute-mean S    draw every stage's compute time exponential with mean S\n"
            "                      seconds (default 0: none, or the shape's own)\n"
            "  --no-shape-compute  ignore the compute times recorded in the shapes\n"
            "  --max-coflow-bytes B  leave out FB coflows larger than B bytes (0: none left\n"
            "                        out, the default)\n"
            "  -o, --output FILE   write here instead of stdout (-: stdout), then a summary\n"
            "                      of FILE on stderr, as weft inspect prints (not for stdout)\n"
            "  -h, --help          this text\n",
            DEFAULT_ALIBABA, DEFAULT_WFCOMMONS_GLOB, DEFAULT_FB, WORKLOAD_GEN_MAX_JOBS,
            WORKLOAD_MAX_PORTS);
}

/* Reads every shape file with the shape kind's reader into one pool. */
static int read_shapes(coflow_workload_t *shapes, workload_shape_t kind, char **files,
                       size_t n_files)
{
    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    ro.alibaba_keep_independent = false; /* shapes are the DAGs, not lone tasks */
    coflow_workload_init(shapes, 1);
    for (size_t i = 0; i < n_files; i++) {
        coflow_workload_t one;
        /* through workload_read, which takes "-" (standard input) and pipes */
        weft_err_t err = workload_read(&one, files[i],
                                       kind == WORKLOAD_SHAPE_ALIBABA ? WORKLOAD_FORMAT_ALIBABA
                                                                      : WORKLOAD_FORMAT_WFCOMMONS,
                                       &ro);
        if (err) {
            cli_report("gen", err);
            return -1;
        }
        err = workload_append(shapes, &one);
        coflow_workload_destroy(&one);
        if (err) {
            weft_wrap(err, "%s: ", files[i]);
            cli_report("gen", err);
            return -1;
        }
    }
    if (shapes->n_jobs == 0) {
        fprintf(stderr, "weft gen: the shape files hold no job with a DAG\n");
        return -1;
    }
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"shape", required_argument, NULL, 'S'},
        {"shapes", required_argument, NULL, 's'},
        {"fb", required_argument, NULL, 'f'},
        {"jobs", required_argument, NULL, 'n'},
        {"ports", required_argument, NULL, 'p'},
        {"port-rate", required_argument, NULL, 'r'},
        {"load", required_argument, NULL, 'l'},
        {"free-span", no_argument, NULL, 'F'},
        {"seed", required_argument, NULL, 'e'},
        {"max-depth", required_argument, NULL, 'd'},
        {"max-width", required_argument, NULL, 'w'},
        {"weights", required_argument, NULL, 'W'},
        {"weight-min", required_argument, NULL, 'm'},
        {"weight-max", required_argument, NULL, 'M'},
        {"compute-mean", required_argument, NULL, 'c'},
        {"no-shape-compute", no_argument, NULL, 'C'},
        {"max-coflow-bytes", required_argument, NULL, 'B'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    workload_gen_opts_t go;
    workload_gen_opts_default(&go);
    const char *fb_path = NULL, *out_path = NULL; /* NULL: the default, found */
    static char fb_buf[PATH_MAX], ali_buf[PATH_MAX], wf_buf[PATH_MAX];
    char **shape_files = calloc((size_t)argc + 1, sizeof *shape_files);
    size_t n_shape_files = 0;
    glob_t gl;
    bool globbed = false;
    coflow_workload_t fb, shapes, wl;
    bool have_fb = false, have_shapes = false, have_wl = false;
    int rc = CLI_USAGE;
    if (!shape_files) {
        fprintf(stderr, "weft gen: out of memory\n");
        return CLI_ERROR;
    }

    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'S':
            if (!strcmp(optarg, "random"))
                go.shape = WORKLOAD_SHAPE_RANDOM;
            else if (!strcmp(optarg, "alibaba"))
                go.shape = WORKLOAD_SHAPE_ALIBABA;
            else if (!strcmp(optarg, "wfcommons"))
                go.shape = WORKLOAD_SHAPE_WFCOMMONS;
            else {
                fprintf(stderr, "weft gen: --shape: '%s', expected random, alibaba or "
                                "wfcommons\n", optarg);
                goto done;
            }
            break;
        case 's': shape_files[n_shape_files++] = optarg; break;
        case 'f': fb_path = optarg; break;
        case 'n':
            if (cli_parse_size_in("gen", "--jobs", optarg, 1, WORKLOAD_GEN_MAX_JOBS, &go.n_jobs))
                goto done;
            break;
        case 'p': /* at most what weft reads back */
            if (cli_parse_size_in("gen", "--ports", optarg, 1, WORKLOAD_MAX_PORTS, &go.n_ports))
                goto done;
            break;
        case 'r':
            if (netsim_parse_rate(optarg, &go.port_rate)) {
                fprintf(stderr, "weft gen: --port-rate: %s\n", weft_last_error());
                goto done;
            }
            break;
        case 'l':
            if (cli_parse_double("gen", "--load", optarg, 0, true, &go.load)) goto done;
            break;
        case 'F': go.exact_load = false; break;
        case 'e': if (cli_parse_u64("gen", "--seed", optarg, &go.seed)) goto done; break;
        case 'd':
            if (cli_parse_size_in("gen", "--max-depth", optarg, 1, WORKLOAD_GEN_MAX_LAYERS,
                                  &go.max_depth))
                goto done;
            break;
        case 'w':
            if (cli_parse_size_in("gen", "--max-width", optarg, 1, WORKLOAD_GEN_MAX_LAYERS,
                                  &go.max_width))
                goto done;
            break;
        case 'W':
            if (!strcmp(optarg, "uniform"))
                go.weights = WORKLOAD_WEIGHT_UNIFORM_INT;
            else if (!strcmp(optarg, "one"))
                go.weights = WORKLOAD_WEIGHT_ONE;
            else if (!strcmp(optarg, "pareto"))
                go.weights = WORKLOAD_WEIGHT_PARETO;
            else {
                fprintf(stderr, "weft gen: --weights: '%s', expected uniform, one or pareto\n",
                        optarg);
                goto done;
            }
            break;
        case 'm':
            if (cli_parse_double("gen", "--weight-min", optarg, 0, true, &go.weight_min)) goto done;
            break;
        case 'M':
            if (cli_parse_double("gen", "--weight-max", optarg, 0, true, &go.weight_max)) goto done;
            break;
        case 'c':
            if (cli_parse_double("gen", "--compute-mean", optarg, 0, false, &go.compute_mean_s))
                goto done;
            break;
        case 'C': go.keep_shape_compute = false; break;
        case 'B':
            if (cli_parse_double("gen", "--max-coflow-bytes", optarg, 0, false,
                                 &go.max_coflow_bytes))
                goto done;
            break;
        case 'o':
            if (cli_check_name("gen", "--output", optarg, "file"))
                goto done;
            out_path = strcmp(optarg, "-") ? optarg : NULL; /* - stdout */
            break;
        case 'h':
            usage(stdout);
            rc = CLI_OK;
            goto done;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("gen", ch, longopts, argv);
            cli_usage_hint("gen", usage);
            goto done;
        }
    }
    for (int i = optind; i < argc; i++) /* `--shapes a.json b.json ...` */
        shape_files[n_shape_files++] = argv[i];
    if (go.shape == WORKLOAD_SHAPE_RANDOM && n_shape_files) {
        fprintf(stderr, "weft gen: shape files given ('%s') but --shape is random; add "
                        "--shape alibaba or --shape wfcommons\n", shape_files[0]);
        goto done;
    }
    if (go.weight_max < go.weight_min) {
        fprintf(stderr, "weft gen: --weight-max %g is below --weight-min %g\n", go.weight_max,
                go.weight_min);
        goto done;
    }

    rc = CLI_ERROR;
    weft_err_t err = out_path ? weft_save_check(out_path) : WEFT_OK; /* before the work */
    if (err) {
        cli_report("gen", err);
        goto done;
    }
    if (!fb_path &&
        !(fb_path = cli_find_default("gen", DEFAULT_FB, false, "--fb", fb_buf, sizeof fb_buf)))
        goto done;
    if (go.shape == WORKLOAD_SHAPE_ALIBABA && n_shape_files == 0) {
        if (!cli_find_default("gen", DEFAULT_ALIBABA, false, "--shapes", ali_buf, sizeof ali_buf))
            goto done;
        shape_files[n_shape_files++] = ali_buf;
    }
    if (go.shape == WORKLOAD_SHAPE_WFCOMMONS && n_shape_files == 0) {
        char pattern[PATH_MAX + 16];
        if (!cli_find_default("gen", DEFAULT_WFCOMMONS_DIR, true, "--shapes", wf_buf,
                              sizeof wf_buf))
            goto done;
        snprintf(pattern, sizeof pattern, "%s/*.json", wf_buf);
        int g = glob(pattern, 0, NULL, &gl);
        if (g != 0) {
            globfree(&gl);
            fprintf(stderr, "weft gen: no %s found; --shapes FILE... picks shape files\n",
                    pattern);
            goto done;
        }
        globbed = true;
        free(shape_files);
        shape_files = gl.gl_pathv;
        n_shape_files = gl.gl_pathc;
    }

    /* nor over the trace or a shape file it is made from (the defaults too) */
    const char *const fb_read[][2] = {{"--fb", fb_path}};
    if (cli_output_not_read("gen", "--output", out_path, fb_read, 1) ||
        cli_output_not_input("gen", "--output", out_path, shape_files, n_shape_files,
                             "--shapes file")) {
        rc = CLI_USAGE;
        goto done;
    }
    err = workload_read(&fb, fb_path, WORKLOAD_FORMAT_AUTO, NULL);
    if (err) {
        cli_report("gen", err);
        goto done;
    }
    have_fb = true;
    if (go.shape != WORKLOAD_SHAPE_RANDOM) {
        have_shapes = true;
        if (read_shapes(&shapes, go.shape, shape_files, n_shape_files))
            goto done;
        go.shapes = &shapes;
    }
    go.fb = &fb;
    err = workload_generate(&wl, &go);
    have_wl = true;
    if (err) {
        cli_report("gen", err);
        goto done;
    }
    /* through FILE.tmp: a failed write leaves FILE as it was */
    err = out_path ? workload_save_weft(&wl, out_path) : workload_write_weft(&wl, stdout);
    if (!err && !out_path && fflush(stdout) != 0)
        err = weft_fail(WEFT_EIO, "writing to standard output failed");
    if (err) {
        cli_report("gen", err);
        if (!out_path)
            cli_stdout_failure_reported();
        goto done;
    }
    if (out_path) {
        workload_stats_t st;
        workload_stats(&wl, go.port_rate, &st);
        fprintf(stderr, "weft gen: wrote %s\n", out_path);
        workload_stats_print(&st, stderr);
    }
    rc = CLI_OK;
done:
    if (have_wl)
        coflow_workload_destroy(&wl);
    if (have_shapes)
        coflow_workload_destroy(&shapes);
    if (have_fb)
        coflow_workload_destroy(&fb);
    if (globbed)
        globfree(&gl);
    else
        free(shape_files);
    return rc;
}
