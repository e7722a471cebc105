/*
 * cmd_agent.c - `weft agent`: one port's agent (rpc/client.h,
 * rpc_agent_run). Parses options and runs until SIGINT/SIGTERM; SIGHUP
 * reloads the data certificate.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "cli.h"
#include "cli_util.h"
#include "rpc/client.h"

/* the agent is one thread: a volatile sig_atomic_t is what its handler may set */
static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* SIGHUP's default would end the agent and its connections: the loop reloads instead */
static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft agent --id N --gateway HOST:PORT (--token T | --token-file F)\n"
            "                  [--data-port P] [--data-host H] [--data-timeout S]\n"
            "                  [--report S] [--tls-ca FILE]\n"
            "                  [--data-cert FILE --data-key FILE] [-v]\n"
            "\n"
            "Speaks for port N: takes the flows the gateway assigns to it, sends their real\n"
            "bytes over TCP to the destination agents paced to the assigned rates, reports\n"
            "progress every S seconds (default 0.01), and drains what peers send to it on\n"
            "its data port. A byte counts as sent once the destination agent acknowledged\n"
            "reading it (once written, to an agent too old to acknowledge); what a receiver\n"
            "lost with a broken connection is sent again. Reconnects with back-off and\n"
            "resumes its flows when the gateway restarts; stops at once on a wrong token or\n"
            "an address whose server answers with bytes that are no weft frame. Exit status\n"
            "1 if it stops on an error, 2 on a usage error.\n"
            "\n"
            "SIGHUP reads --data-cert, --data-key and --tls-ca again, to renew the data\n"
            "certificate without a restart: data connections opened after it present and\n"
            "verify with the new files, those open keep theirs. Files it cannot use are\n"
            "named (stderr) and the certificate read before stays in force.\n"
            "\n"
            "options:\n"
            "  --id N              the fabric port this agent speaks for (0..ports-1; an N\n"
            "                      the gateway does not have stops it, naming its ports)\n"
            "  --gateway HOST:PORT the gateway's address (weft serve --listen)\n"
            "  --token T           the agents' secret: weft serve's --token, its\n"
            "                      --agent-token-file's, or this port's line of its\n"
            "                      --agent-tokens (the clients' is refused, saying so)\n"
            "  --token-file F      read the token from the first line of F, again at each\n"
            "                      reconnection (a token rotated on disk is the next one;\n"
            "                      refused after the gateway changed this port's secret,\n"
            "                      it reconnects once F holds the new one)\n"
            "  --data-port P       TCP port peers send this port's bytes to (default: free)\n"
            "  --data-host H       address the data port binds to. Peers reach it at the\n"
            "                      address the gateway sees this agent connect from, so\n"
            "                      the default is this host's address toward the gateway\n"
            "                      (127.0.0.1 for a gateway on loopback); give H behind\n"
            "                      NAT, or 0.0.0.0 for every interface\n"
            "  --data-timeout S    a data connection whose receiving machine acknowledges\n"
            "                      nothing for S seconds (gone without a reset: powered off,\n"
            "                      unplugged; or its window held shut) is closed and opened\n"
            "                      again, its unacknowledged bytes sent again (default 30;\n"
            "                      TCP_USER_TIMEOUT, keepalive probes from S/3 idle seconds)\n"
            "  --report S          progress report period in seconds (default 0.01)\n"
            CLI_TLS_CA_HELP
            "  --data-cert FILE    with --data-key and --tls-ca: the data connections, both\n"
            "                      ways, are TLS only: this agent presents the certificate\n"
            "                      in FILE (PEM) and takes peers only with a certificate\n"
            "                      the --tls-ca file verifies (mutual); it sends only to,\n"
            "                      and takes bytes only from, an agent whose certificate\n"
            "                      names the address the gateway gives for it (a sender\n"
            "                      says which agent it is; subjectAltName IP:ADDR, or\n"
            "                      DNS:NAME), so each agent's must name its own address\n"
            "                      as the gateway sees it. Give it to every agent or to\n"
            "                      none: it never sends in clear to an agent with it, nor\n"
            "                      over TLS to one without (it says so, and holds those\n"
            "                      flows). Default: plain TCP\n"
            "  --data-key FILE     the private key of --data-cert (PEM)\n"
            "  -v, --verbose       log connections and flows to stderr (without it, only\n"
            "                      errors and the gateway's outages, each said once)\n"
            "  -h, --help          this text\n");
}

int cmd_agent(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_GW_OPTIONS, {"id", required_argument, NULL, 'i'},
        {"data-port", required_argument, NULL, 'd'}, {"data-host", required_argument, NULL, 'D'},
        {"data-timeout", required_argument, NULL, 'U'},
        {"data-cert", required_argument, NULL, 'E'}, {"data-key", required_argument, NULL, 'K'},
        {"report", required_argument, NULL, 'r'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    rpc_agent_opts_t o = {0};
    cli_gw_opts_t g = {0};
    long id = -1;
    optind = 1;
    opterr = 0; /* weft's own messages: cli_gw_option */
    int ch;
    while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        char *end;
        if ((ch == 'E' || ch == 'K') &&
            cli_check_name("agent", ch == 'E' ? "--data-cert" : "--data-key", optarg, "file"))
            return CLI_USAGE;
        switch (ch) {
        case 'i':
            id = strtol(optarg, &end, 10);
            if (!cli_is_decimal(optarg) || *end || id < 0 || id >= (long)RPC_MAX_PORTS) {
                fprintf(stderr, "weft agent: --id '%s': expected a port number from 0 to %zu\n",
                        optarg, RPC_MAX_PORTS - 1);
                return CLI_USAGE;
            }
            break;
        case 'd':
            errno = 0;
            long dp = strtol(optarg, &end, 10);
            if (!cli_is_decimal(optarg) || *end || errno || dp > 65535) {
                fprintf(stderr, "weft agent: --data-port '%s': expected 0..65535\n", optarg);
                return CLI_USAGE;
            }
            o.data_port = (int)dp;
            break;
        case 'D': o.data_host = optarg; break;
        case 'E': o.data_cert = optarg; break;
        case 'K': o.data_key = optarg; break;
        case 'U': /* TCP_USER_TIMEOUT takes whole milliseconds, up to INT_MAX */
            if (!cli_parse_seconds("agent", "--data-timeout", optarg, &o.data_timeout_s))
                return CLI_USAGE;
            if (o.data_timeout_s < 0.001 || o.data_timeout_s > 2147483) {
                fprintf(stderr, "weft agent: --data-timeout '%s': expected 0.001 to 2147483 "
                        "seconds\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'r':
            if (!cli_parse_seconds("agent", "--report", optarg, &o.report_s))
                return CLI_USAGE;
            break;
        case 'v': o.log = stderr; break;
        case 'h': usage(stdout); return CLI_OK;
        default: {
            int r = cli_gw_option("agent", ch, &g, longopts, argv, usage);
            if (r != CLI_OK)
                return r;
        }
        }
    }
    if (optind < argc || id < 0) {
        if (optind < argc)
            fprintf(stderr, "weft agent: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "weft agent: --id N is required\n");
        cli_usage_hint("agent", usage);
        return CLI_USAGE;
    }
    if (!cli_gw_complete("agent", &g)) {
        cli_usage_hint("agent", usage);
        return CLI_USAGE;
    }
    if ((o.data_cert || o.data_key) && !(o.data_cert && o.data_key && g.tls_ca)) {
        fprintf(stderr, "weft agent: %s: TLS data connections take --data-cert, --data-key and "
                "--tls-ca (the CA that verifies the peers' certificates and the gateway's)\n",
                o.data_cert ? (o.data_key ? "--tls-ca is missing" : "--data-key is missing")
                            : "--data-cert is missing");
        cli_usage_hint("agent", usage);
        return CLI_USAGE;
    }
    o.gateway_host = g.host;
    o.gateway_port = g.port;
    o.token = g.token;
    o.token_file = g.token_file;
    o.tls_ca = g.tls_ca;
    o.id = (uint32_t)id;
    o.notice = stderr;
    o.stop = &stop_flag;
    o.reload = &reload_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_hup);
    signal(SIGPIPE, SIG_IGN);
    weft_err_t err = rpc_agent_run(&o);
    if (err) {
        cli_report("agent", err);
        return CLI_ERROR;
    }
    return CLI_OK;
}
