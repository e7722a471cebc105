/*
 * cmd_agent.c - `weft agent`: one port's agent (rpc/client.h,
 * rpc_agent_run). Parses options and runs until SIGINT/SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "cli.h"
#include "rpc/client.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft agent --id N --gateway HOST:PORT (--token T | --token-file F)\n"
            "                  [--data-port P] [--data-host H] [--report S]\n"
            "                  [--tls-ca FILE] [-v]\n"
            "\n"
            "Speaks for port N: takes the flows the gateway assigns to it, sends their real\n"
            "bytes over TCP to the destination agents paced to the assigned rates, reports\n"
            "progress every S seconds (default 0.01), and drains what peers send to it on\n"
            "its data port (default: a free port on 127.0.0.1). Reconnects with back-off\n"
            "and resumes its flows when the gateway restarts.\n"
            "\n"
            "options:\n"
            "  --id N              the fabric port this agent speaks for (0..ports-1)\n"
            "  --gateway HOST:PORT the gateway's address (weft serve --listen)\n"
            "  --token T           the gateway's shared secret\n"
            "  --token-file F      read the token from the first line of F\n"
            "  --data-port P       TCP port peers send this port's bytes to (default: free)\n"
            "  --data-host H       address the data port binds to (default 127.0.0.1);\n"
            "                      peers reach it at the address the gateway sees this\n"
            "                      agent connect from\n"
            "  --report S          progress report period in seconds (default 0.01)\n"
            CLI_TLS_CA_HELP
            "                      (the data connections between agents stay plain TCP)\n"
            "  -v, --verbose       log connections and flows to stderr\n"
            "  -h, --help          this text\n");
}

int cmd_agent(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"id", required_argument, NULL, 'i'},         {"gateway", required_argument, NULL, 'g'},
        {"token", required_argument, NULL, 't'},      {"token-file", required_argument, NULL, 'T'},
        {"data-port", required_argument, NULL, 'd'},  {"data-host", required_argument, NULL, 'D'},
        {"report", required_argument, NULL, 'r'},
        {"tls-ca", required_argument, NULL, 'C'},     {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    rpc_agent_opts_t o = {0};
    char host[256] = "", token[1024] = "";
    long id = -1;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'i':
            id = strtol(optarg, &end, 10);
            if (*end || id < 0 || id > UINT32_MAX) {
                fprintf(stderr, "weft agent: --id '%s': expected a port number >= 0\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'g':
            if (!cli_parse_hostport("agent", "--gateway", optarg, host, sizeof host,
                                    &o.gateway_port, 1))
                return CLI_USAGE;
            break;
        case 't': snprintf(token, sizeof token, "%s", optarg); break;
        case 'T':
            if (!cli_read_token("agent", optarg, token, sizeof token))
                return CLI_ERROR;
            break;
        case 'd':
            o.data_port = (int)strtol(optarg, &end, 10);
            if (*end || o.data_port < 0 || o.data_port > 65535) {
                fprintf(stderr, "weft agent: --data-port '%s': expected 0..65535\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'D': o.data_host = optarg; break;
        case 'r':
            if (!cli_parse_seconds("agent", "--report", optarg, &o.report_s))
                return CLI_USAGE;
            break;
        case 'C': o.tls_ca = optarg; break;
        case 'v': o.log = stderr; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc || id < 0 || !o.gateway_port || !*token) {
        fprintf(stderr, "weft agent: %s\n",
                optind < argc        ? "unexpected argument"
                : id < 0             ? "--id N is required"
                : !o.gateway_port    ? "--gateway HOST:PORT is required"
                                     : "--token or --token-file is required");
        usage(stderr);
        return CLI_USAGE;
    }
    o.gateway_host = host;
    o.token = token;
    o.id = (uint32_t)id;
    o.stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    weft_err_t err = rpc_agent_run(&o);
    if (err) {
        cli_report("agent", err);
        return CLI_ERROR;
    }
    return CLI_OK;
}
