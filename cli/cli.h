/*
 * cli.h - the subcommands of the `weft` program. Each takes the arguments
 * after its name (argv[0] is the subcommand) and returns the exit status:
 * 0 success, 1 an error (message on stderr), 2 a usage error.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rpc/client.h"

#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_journal(int argc, char **argv);

/* Parses HOST:PORT (HOST may be [v6]) into host[n] and *port, with PORT in
 * min_port..65535; prints "weft CMD: OPT 'VALUE': expected HOST:PORT" and
 * returns false if it is not one. */
bool cli_parse_hostport(const char *cmd, const char *opt, const char *s, char *host, size_t n,
                        int *port, int min_port);
/* The most cli_parse_whole takes (serve's --max-conns and --max-frame). */
#define CLI_WHOLE_MAX ((size_t)1000000000)
/* Parses a whole number from min to max, in decimal and perhaps with a
 * fraction of zeros or an exponent (8e6), as weft serve's
 * --ports, --max-conns and --max-frame take it and weft journal reads the
 * gateway's values, into *out; prints "weft CMD: OPT 'VALUE': expected a
 * whole number from MIN to MAX" and returns false if it is not one. */
bool cli_parse_whole(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                     size_t *out);
/* Parses a number of seconds, finite, in [1e-6, 1e9], into *out; prints
 * "weft CMD: OPT 'VALUE': expected ..." and returns false if it is not one. */
bool cli_parse_seconds(const char *cmd, const char *opt, const char *s, double *out);
/* Reads the first line of path (a token file) into buf[n], without its line
 * end; prints the problem and returns false if it cannot or it is empty. */
bool cli_read_token(const char *cmd, const char *path, char *buf, size_t n);

/* The options every peer of the gateway takes (agent, submit, cancel,
 * status): --gateway HOST:PORT, --token T or --token-file F, --tls-ca FILE,
 * and --timeout S where the command lists CLI_GW_TIMEOUT_OPTION. */
typedef struct {
    char host[256];
    int port;          /* 0: no --gateway yet */
    char token[1024];  /* "": no token yet */
    const char *token_file; /* --token-file's, NULL after --token: read again
                            by weft agent and submit at each reconnection */
    const char *tls_ca;
    double timeout_s;  /* the command's default until --timeout */
} cli_gw_opts_t;
#define CLI_GW_OPTIONS                                                                      \
    {"gateway", required_argument, NULL, 'g'}, {"token", required_argument, NULL, 't'},     \
        {"token-file", required_argument, NULL, 'T'}, {"tls-ca", required_argument, NULL, 'C'}
#define CLI_GW_TIMEOUT_OPTION {"timeout", required_argument, NULL, 'x'}
/* Takes getopt_long's result ch (its argument in optarg) into o if it is
 * one of those options: CLI_OK, or CLI_USAGE / CLI_ERROR after a message
 * naming the option. Any other ch is getopt_long's '?' or ':' (opterr 0,
 * optstring starting with ':', as every command parses): CLI_USAGE after
 * cli_bad_option's message, from longopts and argv, and cli_usage_hint's
 * synopsis from usage. */
struct option;
int cli_gw_option(const char *cmd, int ch, cli_gw_opts_t *o, const struct option *longopts,
                  char *const *argv, void (*usage)(FILE *));
/* After the options: false, after "weft CMD: --gateway HOST:PORT is
 * required" (or the token's), if o lacks the gateway or the token. */
bool cli_gw_complete(const char *cmd, const cli_gw_opts_t *o);

/* A short-lived client of the gateway (weft cancel, weft status): connects
 * to host:port within timeout_s (with TLS verified against tls_ca unless it
 * is NULL) and queues hello as a client (c is rpc_client_init'ed; the first
 * wait sends it). */
weft_err_t cli_gateway_open(rpc_client_t *c, const char *host, int port, const char *token,
                            const char *tls_ca, double timeout_s);
/* The help lines of --gateway and a client's --token, shared by submit,
 * cancel and status. */
#define CLI_CLIENT_GATEWAY_HELP                                                            \
    "  --gateway HOST:PORT the gateway's address (weft serve --listen)\n"                  \
    "  --token T           the clients' secret: weft serve's --token, or its\n"            \
    "                      --client-token-file's (the agents' is refused, saying so)\n"
/* The help line of --tls-ca, shared by agent, submit, cancel and status. */
#define CLI_TLS_CA_HELP                                                                    \
    "  --tls-ca FILE       connect with TLS (to weft serve --tls-cert): verify the\n"       \
    "                      gateway's certificate against the CA certificates (PEM)\n"      \
    "                      in FILE and that it names the --gateway host or IP\n"      \
    "                      (agent and submit read FILE again to reconnect)\n"
/* The gateway's next answer on c before deadline (weft_mono_s), welcome and
 * job_done skipped: 1 with *m and its type in type[n], 0 once the deadline
 * has passed, or a negative error (connection lost or refused). An "error"
 * answer is printed as "weft CMD: gateway error CODE: MESSAGE" and its
 * code and message are left in *e. */
int cli_gateway_answer(const char *cmd, rpc_client_t *c, double deadline,
                       const msgpack_object **m, char *type, size_t n, rpc_error_msg_t *e);

/* Prints "weft CMD: <weft_strerror>: <detail>" for a failed library call. */
void cli_report(const char *cmd, int err);
/* The same for a file an option named: "weft CMD: OPT: <kind>: <detail>", so
 * the user sees which of the files given it is (--model, --init, --resume). */
void cli_report_option(const char *cmd, const char *opt, int err);
/* The command has reported a failed write to standard output itself: main
 * does not report it a second time. */
void cli_stdout_failure_reported(void);
/* The command flushed standard output itself and the flush failed with
 * errno err (cli_flush_stdout): main's check, which then finds only the
 * stream's error flag, names err. */
void cli_stdout_flush_failed(int err);

#endif
