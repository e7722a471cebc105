/*
 * cli.h - the subcommands of the `weft` program. Each takes the arguments
 * after its name (argv[0] is the subcommand) and returns the exit status:
 * 0 success, 1 an error (message on stderr), 2 a usage error.
 */
#ifndef CLI_H
#define CLI_H

#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Prints "weft CMD: <weft_strerror>: <detail>" for a failed library call. */
void cli_report(const char *cmd, int err);

#endif
