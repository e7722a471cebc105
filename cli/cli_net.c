/*
 * cli_net.c - what the gateway's commands (serve, agent, submit, cancel,
 * status) share: parsing addresses, durations and token files, and the
 * connect / hello / wait of a short-lived client.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

bool cli_parse_hostport(const char *cmd, const char *opt, const char *s, char *host, size_t n,
                        int *port, int min_port)
{
    const char *colon = strrchr(s, ':');
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t hl = colon ? (size_t)(colon - s) : 0;
    if (!colon || hl == 0 || hl >= n || !colon[1] || *end || p < min_port || p > 65535) {
        fprintf(stderr, "weft %s: %s '%s': expected HOST:PORT with PORT %d..65535\n", cmd, opt,
                s, min_port);
        return false;
    }
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']')
        snprintf(host, n, "%.*s", (int)(hl - 2), s + 1);
    else
        snprintf(host, n, "%.*s", (int)hl, s);
    *port = (int)p;
    return true;
}

bool cli_parse_whole(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                     size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod also takes blanks, signs, hex (0x10) and inf: not numbers
       written in decimal */
    bool decimal = *s >= '0' && *s <= '9' && strspn(s, "0123456789.eE+-") == strlen(s);
    if (!decimal || errno || end == s || *end || !(v >= (double)min) || v > (double)max ||
        v != (double)(size_t)v) {
        fprintf(stderr, "weft %s: %s '%s': expected a whole number from %zu to %zu\n", cmd, opt,
                s, min, max);
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool cli_parse_seconds(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || !(v >= 1e-6) || v > 1e9) {
        fprintf(stderr, "weft %s: %s '%s': expected a number of seconds > 0 (1e-6 to 1e9)\n",
                cmd, opt, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_read_token(const char *cmd, const char *path, char *buf, size_t n)
{
    if (rpc_token_read(path, buf, n)) {
        fprintf(stderr, "weft %s: %s\n", cmd, weft_last_error());
        return false;
    }
    return true;
}

int cli_gw_option(const char *cmd, int ch, cli_gw_opts_t *o, const struct option *longopts,
                  char *const *argv, void (*usage)(FILE *))
{
    const char *arg = optarg;
    if ((ch == 'T' || ch == 'C') &&
        cli_check_name(cmd, ch == 'T' ? "--token-file" : "--tls-ca", arg, "file"))
        return CLI_USAGE;
    switch (ch) {
    case 'g':
        return cli_parse_hostport(cmd, "--gateway", arg, o->host, sizeof o->host, &o->port, 1)
                   ? CLI_OK
                   : CLI_USAGE;
    case 't':
        snprintf(o->token, sizeof o->token, "%s", arg);
        o->token_file = NULL; /* the later of the two wins */
        return CLI_OK;
    case 'T':
        o->token_file = arg;
        return cli_read_token(cmd, arg, o->token, sizeof o->token) ? CLI_OK : CLI_ERROR;
    case 'C': o->tls_ca = arg; return CLI_OK;
    case 'x': return cli_parse_seconds(cmd, "--timeout", arg, &o->timeout_s) ? CLI_OK : CLI_USAGE;
    default:
        cli_bad_option(cmd, ch, longopts, argv);
        cli_usage_hint(cmd, usage);
        return CLI_USAGE;
    }
}

bool cli_gw_complete(const char *cmd, const cli_gw_opts_t *o)
{
    if (o->port && *o->token)
        return true;
    fprintf(stderr, "weft %s: %s is required\n", cmd,
            !o->port ? "--gateway HOST:PORT" : "--token or --token-file");
    return false;
}

weft_err_t cli_gateway_open(rpc_client_t *c, const char *host, int port, const char *token,
                            const char *tls_ca, double timeout_s)
{
    weft_err_t err = WEFT_OK;
    if (tls_ca) {
        signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2) */
        err = rpc_client_tls(c, tls_ca);
    }
    if (!err)
        err = rpc_client_connect(c, host, port, timeout_s);
    return err ? err : rpc_client_hello_client(c, token);
}

int cli_gateway_answer(const char *cmd, rpc_client_t *c, double deadline,
                       const msgpack_object **m, char *type, size_t n, rpc_error_msg_t *e)
{
    for (;;) {
        double now = weft_mono_s();
        if (now >= deadline)
            return 0;
        int r = rpc_client_wait(c, deadline - now, m);
        if (r <= 0)
            return r;
        rpc_msg_type(*m, type, n);
        if (!strcmp(type, "welcome") || !strcmp(type, "job_done"))
            continue;
        if (!strcmp(type, "error")) {
            /* named as weft agent and submit name it: which gateway, and
               for a refusal no retry cures, what kind */
            rpc_msg_error(*m, e);
            weft_err_t refused = rpc_msg_error_permanent(e, c->peer);
            if (refused)
                fprintf(stderr, "weft %s: %s: %s\n", cmd, weft_strerror(refused),
                        weft_last_error());
            else
                fprintf(stderr, "weft %s: gateway %s: error %s: %s\n", cmd, c->peer, e->code,
                        e->message);
        }
        return 1;
    }
}
