/*
 * cli.h - the subcommands of the `weft` program. Each takes the arguments
 * after its name (argv[0] is the subcommand) and returns the exit status:
 * 0 success, 1 an error (message on stderr), 2 a usage error.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>

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
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Parses HOST:PORT (HOST may be [v6]) into host[n] and *port, with PORT in
 * min_port..65535; prints "weft CMD: OPT 'VALUE': expected HOST:PORT" and
 * returns false if it is not one. */
bool cli_parse_hostport(const char *cmd, const char *opt, const char *s, char *host, size_t n,
                        int *port, int min_port);
/* Parses a number of seconds, finite, in [1e-6, 1e9], into *out; prints
 * "weft CMD: OPT 'VALUE': expected ..." and returns false if it is not one. */
bool cli_parse_seconds(const char *cmd, const char *opt, const char *s, double *out);
/* Reads the first line of path (a token file) into buf[n], without its line
 * end; prints the problem and returns false if it cannot or it is empty. */
bool cli_read_token(const char *cmd, const char *path, char *buf, size_t n);

/* Prints "weft CMD: <weft_strerror>: <detail>" for a failed library call. */
void cli_report(const char *cmd, int err);

#endif
