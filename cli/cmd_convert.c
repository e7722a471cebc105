/*
 * cmd_convert.c - `weft convert INPUT [-f FMT] [-o FILE]`: read a trace in
 * any supported format and write it in weft's own text format
 * (docs/workload-format.md), to stdout by default.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "workload/workload.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft convert INPUT [options]\n"
            "\n"
            "Reads INPUT (a Facebook coflow benchmark trace, an Alibaba batch_task CSV, a\n"
            "WfCommons WfFormat JSON file or a weft workload; - for standard input) and\n"
            "writes it in weft's workload format (docs/workload-format.md).\n"
            "\n"
            "options:\n"
            "  -f, --format FMT      input format: auto (default: .json is wfcommons, .csv\n"
            "                        alibaba, else by the first line: 'weft-workload' weft,\n"
            "                        '<ports> <coflows>' fb, '{' wfcommons), weft, fb,\n"
            "                        alibaba, wfcommons\n"
            "  -o, --output FILE     write here instead of stdout (-: stdout)\n"
            "      --fb-mb-bytes B   FB: bytes in one MB of the trace (default 1048576)\n"
            "      --skip-independent  Alibaba: leave out tasks whose names carry no\n"
            "                        dependencies (default: keep them as parentless coflows)\n"
            "      --max-jobs N      keep the first N jobs (default all): Alibaba's by\n"
            "                        arrival, the other formats' as in the file\n"
            "      --wf-ports N      WfCommons: ports to place tasks on (default 16)\n"
            "      --wf-seed S       WfCommons: seed of the task placement (default 1)\n"
            "  -h, --help            this help\n"
            "\n"
            "An option of one format (FB:, Alibaba:, WfCommons:) given for INPUT of another\n"
            "is a usage error.\n"
            "\n"
            "exit status: 0 success, 1 error, 2 usage error\n");
}

/* The reading options only one format reads: given for another format
 * they would be ignored, and the output not what was asked. */
enum { OPT_FB_MB = 256, OPT_SKIP_IND, OPT_MAX_JOBS, OPT_WF_PORTS, OPT_WF_SEED };
static const struct {
    int opt;
    const char *name;
    workload_format_t fmt; /* the format that reads it */
} format_options[] = {
    {OPT_FB_MB, "--fb-mb-bytes", WORKLOAD_FORMAT_FB},
    {OPT_SKIP_IND, "--skip-independent", WORKLOAD_FORMAT_ALIBABA},
    {OPT_WF_PORTS, "--wf-ports", WORKLOAD_FORMAT_WFCOMMONS},
    {OPT_WF_SEED, "--wf-seed", WORKLOAD_FORMAT_WFCOMMONS},
};
#define N_FORMAT_OPTIONS (sizeof format_options / sizeof *format_options)

typedef struct {
    bool given[N_FORMAT_OPTIONS];
    bool fmt_given; /* by --format, not guessed */
    const char *input;
    bool refused;   /* an option the format does not read: a usage error */
} format_check_t;

/* "FB traces", or with one "an FB trace". */
static const char *format_noun(workload_format_t f, bool one)
{
    switch (f) {
    case WORKLOAD_FORMAT_FB: return one ? "an FB trace" : "FB traces";
    case WORKLOAD_FORMAT_ALIBABA: return one ? "an Alibaba trace" : "Alibaba traces";
    case WORKLOAD_FORMAT_WFCOMMONS: return one ? "a WfCommons workflow" : "WfCommons workflows";
    default: return one ? "a weft workload" : "weft workloads";
    }
}

/* workload_read_opts_t.check_format: refuses an option fmt does not read,
 * before the input is read. */
static weft_err_t refuse_unread_options(workload_format_t fmt, void *arg)
{
    format_check_t *c = arg;
    for (size_t i = 0; i < N_FORMAT_OPTIONS; i++) {
        if (!c->given[i] || format_options[i].fmt == fmt)
            continue;
        c->refused = true;
        return weft_fail(WEFT_EINVAL, "%s applies to %s only, but %s is %s (%s%s)",
                         format_options[i].name, format_noun(format_options[i].fmt, false),
                         workload_input_name(c->input), format_noun(fmt, true),
                         c->fmt_given ? "--format " : "guessed; --format sets another",
                         c->fmt_given ? workload_format_name(fmt) : "");
    }
    return WEFT_OK;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"fb-mb-bytes", required_argument, NULL, OPT_FB_MB},
        {"skip-independent", no_argument, NULL, OPT_SKIP_IND},
        {"max-jobs", required_argument, NULL, OPT_MAX_JOBS},
        {"wf-ports", required_argument, NULL, OPT_WF_PORTS},
        {"wf-seed", required_argument, NULL, OPT_WF_SEED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    workload_format_t fmt = WORKLOAD_FORMAT_AUTO;
    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    const char *output = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    format_check_t check = {.refused = false};
    while ((ch = getopt_long(argc, argv, ":f:o:h", long_opts, NULL)) != -1) {
        char *end;
        size_t n;
        for (size_t i = 0; i < N_FORMAT_OPTIONS; i++)
            check.given[i] = check.given[i] || format_options[i].opt == ch;
        switch (ch) {
        case 'f':
            if (workload_format_parse(optarg, &fmt)) {
                fprintf(stderr,
                        "weft convert: unknown format '%s' (auto, weft, fb, alibaba, "
                        "wfcommons)\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 'o':
            if (cli_check_name("convert", "--output", optarg, "file"))
                return CLI_USAGE;
            output = strcmp(optarg, "-") ? optarg : NULL; /* - stdout */
            break;
        case OPT_FB_MB:
            errno = 0;
            ro.fb_mb_bytes = strtod(optarg, &end);
            if (errno || *end || end == optarg || !isfinite(ro.fb_mb_bytes) ||
                ro.fb_mb_bytes <= 0) {
                fprintf(stderr, "weft convert: --fb-mb-bytes '%s': expected a number > 0\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_SKIP_IND: ro.alibaba_keep_independent = false; break;
        case OPT_MAX_JOBS:
            if (cli_parse_size("convert", "--max-jobs", optarg, 1, &n))
                return CLI_USAGE;
            ro.max_jobs = n;
            break;
        case OPT_WF_PORTS:
            if (cli_parse_size_in("convert", "--wf-ports", optarg, 1, WORKLOAD_MAX_PORTS, &n))
                return CLI_USAGE;
            ro.wf_ports = n;
            break;
        case OPT_WF_SEED:
            if (cli_parse_size("convert", "--wf-seed", optarg, 0, &n))
                return CLI_USAGE;
            ro.wf_seed = (uint64_t)n;
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("convert", ch, long_opts, argv);
            cli_usage_hint("convert", usage);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "weft convert: %s\n",
                optind == argc ? "expected an INPUT file" : "expected exactly one INPUT file");
        cli_usage_hint("convert", usage);
        return CLI_USAGE;
    }
    const char *input = argv[optind];
    weft_err_t err = output ? weft_save_check(output) : WEFT_OK; /* before reading */
    if (err) {
        cli_report("convert", err);
        return CLI_ERROR;
    }

    check.fmt_given = fmt != WORKLOAD_FORMAT_AUTO;
    check.input = input;
    ro.check_format = refuse_unread_options;
    ro.check_format_arg = &check;
    coflow_workload_t wl;
    if (cli_read_workload("convert", &wl, input, fmt, &ro))
        return check.refused ? CLI_USAGE : CLI_ERROR;
    /* through FILE.tmp: a failed write leaves FILE as it was */
    err = output ? workload_save_weft(&wl, output) : workload_write_weft(&wl, stdout);
    if (err) {
        cli_report("convert", err);
        if (!output)
            cli_stdout_failure_reported();
        coflow_workload_destroy(&wl);
        return CLI_ERROR;
    }
    if (output)
        fprintf(stderr, "weft convert: %s -> %s: %zu %s, %zu %s, %zu %s, %.17g bytes\n",
                workload_input_name(input), output, wl.n_jobs,
                weft_plural(wl.n_jobs, "job", "jobs"), wl.n_coflows,
                weft_plural(wl.n_coflows, "coflow", "coflows"), wl.n_flows,
                weft_plural(wl.n_flows, "flow", "flows"), coflow_workload_total_bytes(&wl));
    coflow_workload_destroy(&wl);
    return CLI_OK;
}
