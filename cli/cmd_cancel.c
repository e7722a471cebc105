/*
 * cmd_cancel.c - `weft cancel`: asks the gateway to cancel jobs (for a job
 * that can never finish, e.g. its sender is gone for good) and prints what
 * became of each. Cancelling is idempotent, so running it again after a
 * lost connection is safe.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "rpc/client.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft cancel JOB_ID... --gateway HOST:PORT (--token T | --token-file F)\n"
            "                   [--timeout S] [--tls-ca FILE]\n"
            "\n"
            "Cancels each job: its flows stop (their agents drop them), its waiting coflows\n"
            "are never released, and it finishes now (job_done with \"cancelled\": true).\n"
            "A job that has already finished is left as it is. A gateway not listening, or\n"
            "gone before it answered (a restart), is tried again within the timeout\n"
            "(default 10 s). Exit status 1 if a job id is unknown or the gateway does not\n"
            "answer within the timeout, 2 on a usage error.\n"
            "\n"
            "options:\n"
            CLI_CLIENT_GATEWAY_HELP
            "  --token-file F      read the token from the first line of F\n"
            "  --timeout S         give up after S seconds (default 10)\n"
            CLI_TLS_CA_HELP
            "  -h, --help          this text\n");
}

/* Reads the answers on c, one per job not answered yet: an ack, or an
 * unknown-id error (in order, as the gateway handles a connection's
 * messages in order), printing each; another error ends it (*said: the
 * gateway's line says why). WEFT_EIO when the connection is lost or
 * silent till the deadline. */
static weft_err_t cancel_answers(rpc_client_t *c, const int64_t *ids, bool *answered, size_t n,
                                 size_t *left, size_t *next_error, double deadline,
                                 double timeout, bool *said, int *status)
{
    while (*left > 0) {
        const msgpack_object *m;
        char type[32];
        rpc_error_msg_t e;
        int r = cli_gateway_answer("cancel", c, deadline, &m, type, sizeof type, &e);
        if (r < 0)
            return (weft_err_t)r;
        if (r == 0)
            return weft_fail(WEFT_EIO, "no answer for %zu of %zu jobs within %g s", *left, n,
                             timeout);
        int64_t seq;
        if (!strcmp(type, "ack") &&
            rpc_get_int(m, "seq", 0, (int64_t)n - 1, &seq) == WEFT_OK && !answered[seq]) {
            bool finished = rpc_map_true(m, "dup");
            bool forgot = rpc_map_true(m, "forgotten");
            printf("job %lld %s\n", (long long)ids[seq],
                   forgot     ? "had already finished (its record forgotten: --keep-finished)"
                   : finished ? "had already finished: left as it is"
                              : "cancelled");
            fflush(stdout); /* said before a retry's lines */
            answered[seq] = true;
            (*left)--;
        } else if (!strcmp(type, "error")) {
            if (strcmp(e.code, "unknown-id")) { /* a wrong token, say: it ends here */
                *said = true;
                return WEFT_EPROTO;
            }
            while (*next_error < n && answered[*next_error])
                (*next_error)++;
            if (*next_error < n) { /* the earliest unanswered job is the unknown one */
                answered[*next_error] = true;
                (*left)--;
            }
            *status = CLI_ERROR;
        }
    }
    return WEFT_OK;
}

int cmd_cancel(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_GW_OPTIONS, CLI_GW_TIMEOUT_OPTION,
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_gw_opts_t g = {.timeout_s = 10};
    optind = 1;
    opterr = 0; /* weft's own messages: cli_gw_option */
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return CLI_OK;
        }
        int r = cli_gw_option("cancel", ch, &g, longopts, argv, usage);
        if (r != CLI_OK)
            return r;
    }
    size_t n = optind < argc ? (size_t)(argc - optind) : 0;
    if (n == 0)
        fprintf(stderr, "weft cancel: a JOB_ID is required\n");
    if (n == 0 || !cli_gw_complete("cancel", &g)) {
        cli_usage_hint("cancel", usage);
        return CLI_USAGE;
    }
    const char *host = g.host, *token = g.token, *tls_ca = g.tls_ca;
    int port = g.port;
    double timeout = g.timeout_s;
    int64_t *ids = calloc(n, sizeof *ids);
    bool *answered = calloc(n, sizeof *answered);
    if (!ids || !answered) {
        free(ids), free(answered);
        cli_report("cancel", WEFT_ENOMEM);
        return CLI_ERROR;
    }
    int status = CLI_OK;
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0; /* out of range: strtoll clamps, and would cancel another job */
        long long v = strtoll(argv[optind + (int)i], &end, 10);
        if (errno || end == argv[optind + (int)i] || *end) {
            fprintf(stderr, "weft cancel: job id '%s': expected an integer (a job id: "
                    "-2^63..2^63-1)\n", argv[optind + (int)i]);
            free(ids), free(answered);
            return CLI_USAGE;
        }
        ids[i] = v;
    }
    rpc_client_t c;
    rpc_client_init(&c);
    /* A gateway not listening, or gone before it answered every job (a
     * restart from its journal), is tried again within the timeout, as
     * weft submit does: the jobs not answered yet are sent again (a cancel
     * is idempotent). Before, a gateway restarting left the job running. */
    double deadline = weft_mono_s() + timeout, backoff = 0.05;
    size_t left = n, next_error = 0;
    bool said = false; /* the gateway's error is on stderr already */
    weft_err_t err = WEFT_EIO;
    while (err == WEFT_EIO && left > 0) {
        err = cli_gateway_open(&c, host, port, token, tls_ca, deadline - weft_mono_s());
        for (size_t i = 0; !err && i < n; i++)
            if (!answered[i])
                err = rpc_client_cancel(&c, (int64_t)i, ids[i]);
        if (!err)
            err = rpc_client_flush(&c);
        if (!err)
            err = cancel_answers(&c, ids, answered, n, &left, &next_error, deadline, timeout,
                                 &said, &status);
        double now = weft_mono_s();
        if (err != WEFT_EIO || left == 0 || now + backoff >= deadline)
            break;
        fprintf(stderr, "weft cancel: %s; retrying in %.2f s\n", weft_last_error(), backoff);
        rpc_client_destroy(&c);
        rpc_client_init(&c);
        usleep((useconds_t)(backoff * 1e6));
        backoff = backoff * 2 < 1 ? backoff * 2 : 1;
    }
    if (err) {
        if (!said)
            cli_report("cancel", err);
        status = CLI_ERROR;
    }
    rpc_client_destroy(&c);
    free(ids), free(answered);
    return status;
}
