/*
 * cmd_inspect.c - `weft inspect FILE`: reads a workload in any format and
 * prints workload_stats_print()'s report (counts, bytes, ports, arrivals,
 * offered load, DAG depth and width histograms).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "netsim/netsim.h"
#include "workload/workload.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft inspect FILE [--format FMT] [--port-rate RATE]\n"
            "\n"
            "Summarises a workload: jobs, coflows, flows, DAG edges (parent links), bytes\n"
            "(in kB, MB.. to 3 digits, then exactly), ports used, arrivals, the offered\n"
            "load (total bytes / (arrival span x ports x rate)), the mean weight and\n"
            "histograms of the jobs' DAG depth (topological waves: a root's wave is 1,\n"
            "another coflow's 1 + its latest parent's) and width (most coflows in one\n"
            "wave): a row for each value 1..16, then 17+, up to the largest, a run of\n"
            "empty rows shown as one (5-8), bars scaled to the fullest row.\n"
            "FILE - reads standard input.\n"
            "\n"
            "options:\n"
            "  --format FMT        auto (default), weft, fb, alibaba, wfcommons\n"
            "  --port-rate RATE    each port's rate for the offered load (default 1Gbps);\n"
            "                      a number with a unit: bps, Kbps, Mbps, Gbps, Tbps,\n"
            "                      Kibps.., or B/s with the same prefixes; a plain number\n"
            "                      is bytes/s\n"
            "  -h, --help          this text\n");
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"port-rate", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    workload_format_t fmt = WORKLOAD_FORMAT_AUTO;
    double rate = WEFT_GBPS_BYTES;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            if (workload_format_parse(optarg, &fmt)) {
                fprintf(stderr, "weft inspect: --format: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'r':
            if (netsim_parse_rate(optarg, &rate)) {
                fprintf(stderr, "weft inspect: --port-rate: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("inspect", ch, longopts, argv);
            cli_usage_hint("inspect", usage);
            return CLI_USAGE;
        }
    }
    if (cli_one_file("inspect", "workload", argc, usage))
        return CLI_USAGE;
    const char *path = argv[optind];
    coflow_workload_t wl;
    if (cli_read_workload("inspect", &wl, path, fmt, NULL))
        return CLI_ERROR;
    workload_stats_t st;
    workload_stats(&wl, rate, &st);
    printf("%s\n", workload_input_name(path)); /* as messages name it */
    workload_stats_print(&st, stdout);
    coflow_workload_destroy(&wl);
    return CLI_OK;
}
