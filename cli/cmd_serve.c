/*
 * cmd_serve.c - `weft serve`: the live gateway (rpc/gateway.h). Parses
 * options, prints the bound address, runs until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "netsim/netsim.h"
#include "rpc/gateway.h"
#include "weft_version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft serve --ports N (--token T | --token-file F) [options]\n"
            "       weft serve --ports N --agent-token-file F1 --client-token-file F2 ...\n"
            "\n"
            "Runs the online coflow scheduler: agents (weft agent) and clients (weft submit)\n"
            "connect over TCP (docs/protocol.md); on every event and tick the gateway orders\n"
            "the released coflows and allocates rates like `weft sim`, and pushes to each\n"
            "agent the rates and priority classes that changed. Exit status 1 if it cannot\n"
            "start or stops on an error, 2 on a usage error.\n"
            "\n"
            "options:\n"
            "  --listen HOST:PORT  address to bind (default 127.0.0.1:7470; an IP address,\n"
            "                      [IPv6], or a name: its first IPv4 address; PORT 0 picks a\n"
            "                      free port, printed on stdout). Binding anything but\n"
            "                      loopback exposes the gateway: use a strong token\n"
            "  --token T           shared secret agents and clients present in hello\n"
            "  --token-file F      read the token from the first line of F\n"
            "  --agent-token-file F   the agents' own secret (first line of F), instead\n"
            "                      of the token. With a client secret of another value,\n"
            "                      agents cannot touch jobs nor clients act as agents\n"
            "  --client-token-file F  the clients' own secret (weft submit, cancel,\n"
            "                      status), instead of the token. SIGHUP reads every\n"
            "                      token file again: peers connecting from then on need\n"
            "                      the new secrets, those in keep going (weft agent and\n"
            "                      submit read their --token-file again to reconnect)\n"
            "  --agent-tokens F    a secret per agent instead: lines 'PORT SECRET' (# for\n"
            "                      comments, on a line or after the secret). An agent\n"
            "                      is let in only with its port's secret, so a machine\n"
            "                      speaks for its own port alone; a port not listed\n"
            "                      takes no agent. The token is then the clients'\n"
            "                      alone. SIGHUP reads F again: an agent whose port's\n"
            "                      secret changed or went is dropped\n"
            "  --ports N           fabric ports = agent ids 0..N-1 (required; at most\n"
            "                      1048576)\n"
            "  --port-rate RATE    every port's rate each way (default 1Gbps; units as in\n"
            "                      weft sim --help)\n"
            "  --port-cap PORT=RATE  port PORT's rate each way instead (repeatable): a\n"
            "                      faster or slower NIC\n"
            "  --policy P          ORDERING or ORDERING:ALLOCATOR (default sebf)\n"
            "  --model FILE        model of --policy learned, loaded at start. Default: the\n"
            "                      shipped trained model, models/" CLI_MODEL_NAME "\n"
            "                      ($WEFT_MODEL, else found as weft sim finds it). On\n"
            "                      SIGHUP the file is read again and, if it is a model this\n"
            "                      build takes, decides from the next decision on (a\n"
            "                      training checkpoint is noted, as at start)\n"
            "  --tick S            decision tick in seconds (default 0.01)\n"
            "  --journal FILE      append registrations and completions to FILE before\n"
            "                      acknowledging them, fdatasync'ed; replay it at start.\n"
            "                      Rewritten (atomically) without the finished jobs once\n"
            "                      it has doubled. A regular file: not /dev/null, a FIFO\n"
            "                      or a socket, which keep nothing for the next start\n"
            "  --no-fsync          do not fdatasync journal records (faster, not durable\n"
            "                      against a power loss; a SIGKILL loses nothing)\n"
            "  --keep-finished N   remember the records of at most the N jobs that finished\n"
            "                      last (default: every one; 0 forgets each at once), in\n"
            "                      memory and, from its next rewrite, in the journal. A\n"
            "                      job forgotten is known only to have finished (weft\n"
            "                      status --job, a register or cancel of its id)\n"
            "  --max-conns N       connection limit (default 1024; at most 1e9). The soft\n"
            "                      limit of open files (ulimit -n) is raised to match, up\n"
            "                      to the hard one (a warning says when that is short)\n"
            "  --max-frame BYTES   frame payload cap (default 1048576; 4096 to 1e9)\n"
            "  --hello-timeout S   close connections without a valid hello after S s (5)\n"
            "  --idle-timeout S    close silent authenticated connections after S s (60)\n"
            "  --frame-timeout S   close a connection whose frame is still incomplete S s\n"
            "                      after its first bytes arrived (10)\n"
            "  --tls-cert FILE     serve TLS (1.2 or later) on every connection: FILE is the\n"
            "                      PEM certificate (chain) clients verify (weft agent,\n"
            "                      submit, cancel, status --tls-ca). The data connections\n"
            "                      between agents are TLS with weft agent --data-cert\n"
            "                      only. SIGHUP reads it and\n"
            "                      the key again (a renewed certificate): new\n"
            "                      connections get it, those already in keep theirs\n"
            "  --tls-key FILE      its PEM private key (required with --tls-cert)\n"
            "  --metrics HOST:PORT serve the counters and a histogram of decision times\n"
            "                      at http://HOST:PORT/metrics in Prometheus's text format,\n"
            "                      and \"ok\" at /healthz for a liveness probe\n"
            "                      (plain HTTP, no token: keep it on loopback or a trusted\n"
            "                      network; PORT 0 picks a free port, printed on stdout).\n"
            "                      16 connections kept open at most, apart from\n"
            "                      --max-conns: past them /metrics is answered 503\n"
            "  --port-file FILE    write the bound port number to FILE once listening (and\n"
            "                      the metrics port on a second line): last at start, after\n"
            "                      the \"listening on\" line, whole (renamed into place;\n"
            "                      a FIFO is refused: it would wait for a reader)\n"
            "  -v, --verbose       log connection events to stderr\n"
            "  -h, --help          this text\n");
}

/* "--NAME" of the long option whose val is ch. */
static const char *opt_name(const struct option *opts, int ch)
{
    static char name[40];
    for (; opts->name; opts++)
        if (opts->val == ch) {
            snprintf(name, sizeof name, "--%s", opts->name);
            return name;
        }
    return "option";
}

/* Descriptors the gateway holds beside its connections: listeners, the
 * journal and its rewrite, the metrics' HTTP connections (16 kept,
 * RPC_HTTP_MAX_CONNS), connections draining after their error frame (16 at
 * most, rpc/server.c's CLOSING_MAX), files read on SIGHUP, libevent's own. */
#define SERVE_SPARE_FILES 64

/* Raises the soft limit of open files to what max_conns connections need,
 * up to the hard limit, and warns when that is short. Started from a login
 * shell (1024), the gateway stopped accepting at about 1,000 agents whatever
 * --max-conns said (EMFILE pauses accepting), the others left unanswered
 * with nothing logged. */
static void raise_open_files(size_t max_conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t need = (rlim_t)max_conns + SERVE_SPARE_FILES;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
        rl = raised;
    if (rl.rlim_cur < need)
        fprintf(stderr, "weft serve: warning: --max-conns %zu needs about %llu open files, "
                "and this process may open %llu (hard limit %llu, ulimit -Hn): connections "
                "past about %llu wait unanswered until others close\n", max_conns,
                (unsigned long long)need, (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max,
                (unsigned long long)(rl.rlim_cur > SERVE_SPARE_FILES
                                         ? rl.rlim_cur - SERVE_SPARE_FILES : 0));
}

/* rpc_gateway_opts_t.model_read: the note weft serve gives at start for a
 * training checkpoint (cli_load_model), for the file SIGHUP read; ctx is
 * where the path came from ("--model", ...). */
static void note_reloaded_model(void *ctx, const char *path, const attn_model_file_t *mf)
{
    cli_note_checkpoint("serve: SIGHUP", ctx, path, mf);
}

/* What serve() allocates, freed by cmd_serve, so that every return there
 * may leave it: --port-cap's list, --agent-tokens' secrets. */
typedef struct {
    rpc_port_rate_t *caps;
    char **secrets;
    size_t n_ports;
} serve_owned_t;

/* --port-file's lines (a weft_write_fn, whose caller checks the writes):
 * the gateway's port, then the metrics port if any (ports[1] > 0). */
static weft_err_t write_port_file(FILE *f, const void *arg)
{
    const int *ports = arg;
    fprintf(f, "%d\n", ports[0]);
    if (ports[1] > 0)
        fprintf(f, "%d\n", ports[1]);
    return WEFT_OK;
}

static int serve(int argc, char **argv, serve_owned_t *own)
{
    rpc_port_rate_t **caps = &own->caps;
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},   {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'T'}, {"ports", required_argument, NULL, 'n'},
        {"port-rate", required_argument, NULL, 'r'}, {"policy", required_argument, NULL, 'p'},
        {"tick", required_argument, NULL, 'k'},     {"journal", required_argument, NULL, 'j'},
        {"no-fsync", no_argument, NULL, 'F'},       {"max-conns", required_argument, NULL, 'c'},
        {"max-frame", required_argument, NULL, 'm'},
        {"hello-timeout", required_argument, NULL, 'H'},
        {"idle-timeout", required_argument, NULL, 'I'},
        {"frame-timeout", required_argument, NULL, 'W'},
        {"tls-cert", required_argument, NULL, 'C'}, {"tls-key", required_argument, NULL, 'K'},
        {"port-file", required_argument, NULL, 'P'}, {"verbose", no_argument, NULL, 'v'},
        {"metrics", required_argument, NULL, 'E'},
        {"agent-token-file", required_argument, NULL, 'A'},
        {"agent-tokens", required_argument, NULL, 'G'},
        {"client-token-file", required_argument, NULL, 'B'},
        {"model", required_argument, NULL, 'M'},   {"port-cap", required_argument, NULL, 'R'},
        {"keep-finished", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    rpc_gateway_opts_t o = {.build = WEFT_BUILD};
    char host[256] = "127.0.0.1", token[1024] = "", policy[128] = "sebf";
    char agent_token[1024] = "", client_token[1024] = "";
    const char *port_file = NULL, *agent_tokens = NULL;
    char metrics_host[256] = "";
    int port = 7470;
    double d;
    o.port_rate = WEFT_GBPS_BYTES;
    size_t n_caps = 0; /* --port-cap, in the order given (a later one wins) */
    optind = 1;
    opterr = 0; /* weft's own messages, as the other commands' */
    int ch;
    while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        /* an empty file name (a setting left blank in /etc/default/weft-serve)
           is a usage error, which systemd does not retry, not a missing file */
        if (ch > 0 && strchr("TjPGABMCK", ch) &&
            cli_check_name("serve", opt_name(longopts, ch), optarg, "file"))
            return CLI_USAGE;
        switch (ch) {
        case 'l':
            if (!cli_parse_hostport("serve", "--listen", optarg, host, sizeof host, &port, 0))
                return CLI_USAGE;
            break;
        case 't':
            snprintf(token, sizeof token, "%s", optarg);
            o.token_file = NULL; /* the later of the two wins */
            break;
        case 'T':
            if (!cli_read_token("serve", optarg, token, sizeof token))
                return CLI_ERROR;
            o.token_file = optarg;
            break;
        case 'n':
            if (!cli_parse_whole("serve", "--ports", optarg, 1, RPC_MAX_PORTS, &o.n_ports))
                return CLI_USAGE;
            break;
        case 'r':
            if (netsim_parse_rate(optarg, &o.port_rate)) {
                fprintf(stderr, "weft serve: --port-rate: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'p': snprintf(policy, sizeof policy, "%s", optarg); break;
        case 'k':
        case 'H':
        case 'I':
        case 'W':
            if (!cli_parse_seconds("serve", opt_name(longopts, ch), optarg, &d))
                return CLI_USAGE;
            *(ch == 'k'   ? &o.tick_s
              : ch == 'H' ? &o.hello_timeout_s
              : ch == 'I' ? &o.idle_timeout_s
                          : &o.frame_timeout_s) = d;
            break;
        case 'j': o.journal = optarg; break;
        case 'F': o.journal_nosync = true; break;
        case 'c':
        case 'm':
            if (!cli_parse_whole("serve", opt_name(longopts, ch), optarg,
                                 ch == 'm' ? RPC_MIN_FRAME : 1, CLI_WHOLE_MAX,
                                 ch == 'c' ? &o.max_conns : &o.max_frame))
                return CLI_USAGE;
            break;
        case 'N':
            if (cli_parse_size("serve", "--keep-finished", optarg, 0, &o.keep_finished))
                return CLI_USAGE;
            o.limit_finished = true;
            break;
        case 'P': port_file = optarg; break;
        case 'G': agent_tokens = optarg; break;
        case 'A':
        case 'B':
            if (!cli_read_token("serve", optarg, ch == 'A' ? agent_token : client_token,
                                sizeof token))
                return CLI_ERROR;
            *(ch == 'A' ? &o.agent_token_file : &o.client_token_file) = optarg;
            break;
        case 'E':
            if (!cli_parse_hostport("serve", "--metrics", optarg, metrics_host,
                                    sizeof metrics_host, &o.metrics_port, 0))
                return CLI_USAGE;
            o.metrics_host = metrics_host;
            break;
        case 'M': o.model_path = optarg; break;
        case 'R': {
            rpc_port_rate_t *grown = realloc(*caps, (n_caps + 1) * sizeof **caps);
            if (!grown) {
                fprintf(stderr, "weft serve: out of memory\n");
                return CLI_ERROR;
            }
            *caps = grown;
            if (cli_parse_port_cap("serve", optarg, &grown[n_caps].port, &grown[n_caps].rate))
                return CLI_USAGE;
            for (size_t i = 0; i < n_caps; i++)
                if (grown[i].port == grown[n_caps].port) {
                    fprintf(stderr, "weft serve: --port-cap %s: port %zu given twice\n", optarg,
                            grown[i].port);
                    return CLI_USAGE;
                }
            n_caps++;
            break;
        }
        case 'C': o.tls_cert = optarg; break;
        case 'K': o.tls_key = optarg; break;
        case 'v': o.log = stderr; break;
        case 'h': usage(stdout); return CLI_OK;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("serve", ch, longopts, argv);
            cli_usage_hint("serve", usage);
            return CLI_USAGE;
        }
    }
    if (!o.tls_cert != !o.tls_key) {
        fprintf(stderr, "weft serve: %s needs %s too\n", o.tls_cert ? "--tls-cert" : "--tls-key",
                o.tls_cert ? "--tls-key" : "--tls-cert");
        return CLI_USAGE;
    }
    if (agent_tokens && *agent_token) {
        fprintf(stderr, "weft serve: --agent-tokens and --agent-token-file: give one (a secret "
                "per agent, or one for all)\n");
        return CLI_USAGE;
    }
    bool agents_secret = *token || *agent_token || agent_tokens,
         clients_secret = *token || *client_token;
    if (optind < argc || !o.n_ports || !agents_secret || !clients_secret) {
        if (optind < argc) /* named, as weft status names it */
            fprintf(stderr, "weft serve: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "weft serve: %s\n",
                    !o.n_ports       ? "--ports N is required"
                    : !agents_secret ? "agents have no secret: give --token, --token-file or "
                                       "--agent-token-file"
                                     : "clients have no secret: give --token, --token-file or "
                                       "--client-token-file");
        cli_usage_hint("serve", usage);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < n_caps; i++)
        if ((*caps)[i].port >= o.n_ports) {
            fprintf(stderr, "weft serve: --port-cap: port %zu, but --ports %zu numbers them "
                    "0..%zu\n", (*caps)[i].port, o.n_ports, o.n_ports - 1);
            return CLI_USAGE;
        }
    /* a device (/dev/null), a FIFO, a socket or a directory as the journal
       keeps nothing a restart reads back: every job accepted would be lost
       at the next start while the gateway looked durable */
    struct stat jst;
    const char *kind = o.journal && stat(o.journal, &jst) == 0 ? weft_file_kind(jst.st_mode)
                                                               : NULL;
    if (kind) {
        fprintf(stderr, "weft serve: --journal %s is %s, not a regular file: a journal must "
                "be a regular file, which the next start reads back; give a file's path, or "
                "leave --journal out to serve without one (no job kept across a restart)\n",
                o.journal, kind);
        return CLI_USAGE;
    }
    char *colon = strchr(policy, ':');
    if (colon)
        *colon = 0;
    o.ord = coflow_ordering_find(policy);
    o.alloc = colon ? coflow_allocator_find(colon + 1) : NULL;
    if (!o.ord || (colon && !o.alloc)) {
        fprintf(stderr, "weft serve: unknown %s '%s' (see weft sim --help)\n",
                !o.ord ? "ordering" : "allocator", !o.ord ? policy : colon + 1);
        return CLI_USAGE;
    }
    char model_buf[4096];
    bool learned = o.ord == coflow_ordering_find("learned");
    if (!learned && o.model_path)
        fprintf(stderr, "weft serve: note: --model is used by --policy learned only; ignored\n");
    const char *model_origin = "--model";
    if (learned && !o.model_path &&
        !(o.model_path = cli_default_model(model_buf, sizeof model_buf, &model_origin))) {
        fprintf(stderr, "weft serve: --policy learned: no trained model found (models/%s); "
                "give --model FILE\n", CLI_MODEL_NAME);
        return CLI_ERROR;
    }
    if (learned && !cli_check_model("serve", o.model_path, model_origin))
        return CLI_ERROR;
    if (learned) { /* the same note for what SIGHUP reads */
        o.model_read = note_reloaded_model;
        o.model_read_ctx = (void *)model_origin;
    }
    if (agent_tokens) {
        weft_err_t e = rpc_port_secrets_read(agent_tokens, o.n_ports, &own->secrets);
        if (e) {
            cli_report("serve", e);
            return CLI_ERROR;
        }
        own->n_ports = o.n_ports;
        o.port_secrets = (const char *const *)own->secrets;
        o.port_secrets_file = agent_tokens; /* read again on SIGHUP */
    }
    o.port_rates = *caps;
    o.n_port_rates = n_caps;
    o.host = host;
    o.port = port;
    o.token = token;
    o.agent_token = *agent_token ? agent_token : NULL;
    o.client_token = *client_token ? client_token : NULL;
    o.handle_signals = true;
    /* --port-file is written once the gateway listens, after its start
       messages; that it can be (its directory takes the new file renamed
       over it) is checked before the gateway binds or touches its journal,
       so a bad one stops weft serve before it says "listening on". A file
       there (another gateway's) is left as it is. */
    /* a --port-file named as a file the gateway reads was renamed over it:
       the journal (every job accepted) or a secret became a port number */
    const char *const reads[][2] = {
        {"--journal", o.journal},       {"--token-file", o.token_file},
        {"--agent-token-file", o.agent_token_file},
        {"--client-token-file", o.client_token_file},
        {"--agent-tokens", agent_tokens}, {"--model", o.model_path},
        {"--tls-cert", o.tls_cert},     {"--tls-key", o.tls_key},
    };
    if (cli_output_not_read("serve", "--port-file", port_file, reads,
                            sizeof reads / sizeof *reads))
        return CLI_USAGE;
    /* a FIFO is written through (weft_save_file): its open waited for a
       reader, the gateway listening but serving no one, deaf to SIGTERM */
    const char *peer = weft_waits_for_peer(port_file);
    if (peer) {
        fprintf(stderr, "weft serve: --port-file %s is %s: the gateway would wait for a "
                "reader before serving; give a regular file's path (written whole, renamed "
                "into place)\n", port_file, peer);
        return CLI_USAGE;
    }
    weft_err_t err = port_file ? weft_save_check(port_file) : WEFT_OK;
    if (err) {
        cli_report_option("serve", "--port-file", err);
        return CLI_ERROR;
    }
    raise_open_files(o.max_conns ? o.max_conns : RPC_MAX_CONNS_DEFAULT);
    rpc_gateway_t *gw;
    err = rpc_gateway_new(&gw, &o);
    if (err) {
        cli_report("serve", err);
        return CLI_ERROR;
    }
    rpc_gateway_stats_t st;
    rpc_gateway_stats(gw, &st);
    if (st.journal_torn_bytes)
        fprintf(stderr, "weft serve: warning: journal %s: cut off a torn last record, %llu "
                "bytes at byte %llu (a crash mid-write; never acknowledged when fdatasync'ed); "
                "they are kept in %s\n", o.journal, (unsigned long long)st.journal_torn_bytes,
                (unsigned long long)st.journal_torn_at, st.journal_torn_path);
    if (st.journal_unchecked)
        fprintf(stderr, "weft serve: journal %s: %llu records from before checksums (journal "
                "format 1) were read unchecked; %s\n", o.journal,
                (unsigned long long)st.journal_unchecked,
                st.journal_format == 2 ? "the journal was rewritten in format 2, every record "
                                         "with a checksum"
                                       : "it stays as it is (on a device, or not rewritten: "
                                         "see the warning above), its new records with one");
    printf("weft serve: listening on %s%s (%zu ports at %.6g bytes/s",
           RPC_HOST_PORT(host, rpc_gateway_port(gw)), o.tls_cert ? " with TLS" : "", o.n_ports,
           o.port_rate);
    if (n_caps) /* each port capped once: a port given twice was refused */
        printf(", %zu at a rate of their own", n_caps);
    printf(", policy %s%s%s)", policy, colon ? ":" : "", colon ? colon + 1 : "");
    if (own->secrets) {
        size_t listed = 0;
        for (size_t p = 0; p < o.n_ports; p++)
            listed += own->secrets[p] != NULL;
        printf("; a secret per agent, %zu of %zu ports listed", listed, o.n_ports);
    }
    if (o.journal)
        printf("; journal %s: %llu records, %zu jobs, %zu finished", o.journal,
               (unsigned long long)st.journal_records, st.jobs, st.jobs_finished);
    if (learned)
        printf("; model %s (sha256 %s)", o.model_path, st.model_sha256);
    if (o.metrics_host)
        printf("; metrics on http://%s/metrics",
               RPC_HOST_PORT(metrics_host, rpc_gateway_metrics_port(gw)));
    printf("\n");
    fflush(stdout);
    char due[RPC_TLS_EXPIRY_LEN]; /* a renewal due soon, or missed, or a start to come */
    rpc_tls_expiry_t ex = st.tls ? rpc_tls_expiry(due, sizeof due, "TLS certificate",
                                                  o.tls_cert, "clients", st.tls_not_before,
                                                  st.tls_not_after, (int64_t)time(NULL))
                                 : RPC_TLS_IN_DATE;
    if (ex != RPC_TLS_IN_DATE)
        fprintf(stderr, "weft serve: %s: %s\n", ex == RPC_TLS_DUE ? "note" : "warning", due);
    /* The port file last, once the gateway listens and has said so: whoever
       waits for it finds the "listening on" line there too. Written whole
       and renamed into place, so one that polls for it never reads it
       empty or half written. */
    if (port_file) {
        int ports[2] = {rpc_gateway_port(gw), o.metrics_host ? rpc_gateway_metrics_port(gw) : 0};
        err = weft_save_file(port_file, write_port_file, ports);
        if (err) {
            cli_report_option("serve", "--port-file", err);
            rpc_gateway_free(gw);
            return CLI_ERROR;
        }
    }
    err = rpc_gateway_run(gw);
    rpc_gateway_stats(gw, &st);
    fprintf(stderr, "weft serve: stopped: %llu connections, %llu frames in, %llu decisions, "
            "%llu rebuilds, %llu changes pushed, %llu protocol errors, %llu auth failures, "
            "%llu timeouts\n",
            (unsigned long long)st.conns_accepted, (unsigned long long)st.frames_in,
            (unsigned long long)st.decisions, (unsigned long long)st.rebuilds,
            (unsigned long long)st.changes_pushed,
            (unsigned long long)st.protocol_errors, (unsigned long long)st.auth_failures,
            (unsigned long long)st.timeouts);
    rpc_gateway_free(gw);
    if (err) {
        cli_report("serve", err);
        return CLI_ERROR;
    }
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    serve_owned_t own = {0};
    int rc = serve(argc, argv, &own);
    free(own.caps);
    rpc_port_secrets_free(own.secrets, own.n_ports);
    return rc;
}
