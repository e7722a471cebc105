/*
 * cmd_submit.c - `weft submit`: options and printing around
 * rpc_submit_run (rpc/client.h), which registers a workload's jobs with
 * the gateway at their arrival times and measures their JCTs.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "rpc/client.h"
#include "workload/workload.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft submit WORKLOAD --gateway HOST:PORT (--token T | --token-file F)\n"
            "                   [--out FILE.csv] [--timeout S] [--format FMT]\n"
            "                   [--tls-ca FILE]\n"
            "\n"
            "Registers every job of WORKLOAD with the gateway at its arrival time (counted\n"
            "from now), waits until all have finished, and prints each job's JCT measured\n"
            "here: arrival time to the gateway's job_done (a cancelled job's time to its cancel,\n"
            "left out of the average; a job registered before this run, the gateway's JCT,\n"
            "from its acceptance, which reads a few ms less than this clock's for a job,\n"
            "its line ending \"(the gateway's clock)\";\n"
            "none for one it finished and forgot: weft serve --keep-finished).\n"
            "--out writes job,arrival_s,jct_s,cancelled (jct_s empty where unknown).\n"
            "A gateway not reached is tried again until the timeout; a wrong token, or an\n"
            "address whose server answers with bytes that are no weft frame, ends it at once.\n"
            "Exit status 1 if a job is refused, the connection is, or the timeout (default\n"
            "600 s) passes, 2 on a usage error.\n"
            "WORKLOAD - reads standard input.\n"
            "\n"
            "options:\n"
            CLI_CLIENT_GATEWAY_HELP
            "  --token-file F      read the token from the first line of F, again at each\n"
            "                      reconnection (a token rotated on disk is the next one)\n"
            "  --out FILE.csv      write job,arrival_s,jct_s,cancelled per job (checked\n"
            "                      before any job is registered)\n"
            "  --timeout S         give up after S seconds (default 600)\n"
            "  --format FMT        WORKLOAD's format: auto, weft, fb, alibaba, wfcommons\n"
            "                      (default auto)\n"
            CLI_TLS_CA_HELP
            "  -h, --help          this text\n");
}

typedef struct {
    const coflow_workload_t *wl;
    const double *jct;          /* [n_jobs] seconds, NAN where unknown */
    const uint8_t *cancelled;   /* [n_jobs] */
} jcts_t;

/* --out's CSV (a weft_write_fn). */
static weft_err_t write_jcts(FILE *f, const void *arg)
{
    const jcts_t *r = arg;
    fprintf(f, "job,arrival_s,jct_s,cancelled\n");
    for (size_t j = 0; j < r->wl->n_jobs; j++) {
        fprintf(f, "%lld,%.9g,", (long long)r->wl->jobs[j].id, r->wl->jobs[j].arrival_s);
        if (!isnan(r->jct[j])) /* empty: forgotten by the gateway, unknown */
            fprintf(f, "%.9g", r->jct[j]);
        fprintf(f, ",%d\n", r->cancelled[j]);
    }
    return WEFT_OK;
}

int cmd_submit(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_GW_OPTIONS, CLI_GW_TIMEOUT_OPTION, {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_gw_opts_t g = {.timeout_s = 600};
    const char *out_path = NULL;
    workload_format_t fmt = WORKLOAD_FORMAT_AUTO;
    optind = 1;
    opterr = 0; /* weft's own messages: cli_gw_option */
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if (cli_check_name("submit", "--out", optarg, "file"))
                return CLI_USAGE;
            out_path = optarg;
            break;
        case 'f':
            if (workload_format_parse(optarg, &fmt)) {
                fprintf(stderr, "weft submit: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: {
            int r = cli_gw_option("submit", ch, &g, longopts, argv, usage);
            if (r != CLI_OK)
                return r;
        }
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "weft submit: %s\n", optind >= argc
                                                ? "a WORKLOAD file is required"
                                                : "one WORKLOAD file expected, got more arguments");
        cli_usage_hint("submit", usage);
        return CLI_USAGE;
    }
    if (!cli_gw_complete("submit", &g)) {
        cli_usage_hint("submit", usage);
        return CLI_USAGE;
    }
    /* before any job is registered: a run that cannot keep its result
       must not start real transfers */
    /* nor may its results replace the workload, the secret or the CA */
    const char *const reads[][2] = {{"--token-file", g.token_file}, {"--tls-ca", g.tls_ca}};
    if (cli_output_not_input("submit", "--out", out_path, argv + optind, 1, "workload") ||
        cli_output_not_read("submit", "--out", out_path, reads, 2))
        return CLI_USAGE;
    if (out_path && cli_check_writable("submit", out_path))
        return CLI_ERROR;
    const char *tls_ca = g.tls_ca;
    coflow_workload_t wl;
    if (cli_read_workload("submit", &wl, argv[optind], fmt, NULL))
        return CLI_ERROR;
    weft_err_t err;
    int status = CLI_ERROR;
    if (tls_ca)
        signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2) */
    double *jct = weft_calloc(wl.n_jobs ? wl.n_jobs : 1, sizeof *jct);
    uint8_t *cancelled = weft_calloc(wl.n_jobs ? wl.n_jobs : 1, 1);
    rpc_submit_opts_t o = {.gateway_host = g.host, .gateway_port = g.port, .token = g.token,
                           .token_file = g.token_file, .tls_ca = tls_ca,
                           .timeout_s = g.timeout_s, .out = stdout, .log = stderr,
                           .cancelled = cancelled};
    if (!jct || !cancelled) {
        cli_report("submit", WEFT_ENOMEM);
        goto cleanup;
    }
    if ((err = rpc_submit_run(&o, &wl, jct))) {
        cli_report("submit", err);
        goto cleanup;
    }
    /* a cancelled job's time is to its cancel, not a JCT, and a job the
       gateway forgot (--keep-finished) has none (NAN): left out */
    double sum = 0;
    size_t n_cancelled = 0, n_unknown = 0;
    for (size_t j = 0; j < wl.n_jobs; j++) {
        n_cancelled += cancelled[j];
        n_unknown += !cancelled[j] && isnan(jct[j]);
        sum += cancelled[j] || isnan(jct[j]) ? 0 : jct[j];
    }
    size_t n_done = wl.n_jobs - n_cancelled, n_timed = n_done - n_unknown;
    if (n_unknown) {
        printf("%zu jobs, ", wl.n_jobs);
        if (n_cancelled)
            printf("%zu cancelled, ", n_cancelled);
        printf("%zu of unknown JCT (records forgotten: --keep-finished); ", n_unknown);
        if (n_timed)
            printf("average JCT %.3f s over the %zu timed\n", sum / (double)n_timed, n_timed);
        else
            printf("no JCT to average\n");
    } else if (n_cancelled && n_done)
        printf("%zu jobs, %zu cancelled; average JCT %.3f s over the %zu finished\n", wl.n_jobs,
               n_cancelled, sum / (double)n_done, n_done);
    else if (n_cancelled)
        printf("%zu jobs, %zu cancelled; no JCT to average\n", wl.n_jobs, n_cancelled);
    else
        printf("%zu jobs, average JCT %.3f s\n", wl.n_jobs,
               wl.n_jobs ? sum / (double)wl.n_jobs : 0);
    /* into a new file renamed over OUT once written, as gen's and eval's:
       fopen(OUT, "w") emptied a good file before a failed write, and with
       --out /dev/stdout the file stdout is redirected to, report and all */
    jcts_t rows = {&wl, jct, cancelled};
    if (out_path && (err = weft_save_file(out_path, write_jcts, &rows))) {
        cli_report("submit", err);
        goto cleanup;
    }
    status = CLI_OK;
cleanup:
    free(jct);
    free(cancelled);
    coflow_workload_destroy(&wl);
    return status;
}
