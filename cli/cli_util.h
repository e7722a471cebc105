/*
 * cli_util.h - helpers shared by subcommands (cli/cli_util.c).
 */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "coflow/coflow.h"

/* File name of the shipped model of the learned policy, in models/. */
#define CLI_MODEL_NAME "weft-policy.msgpack"

/* Parse an option's value; on error print "weft CMD: OPT 'S': expected ..."
 * and return -1. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, bool strict,
                     double *out);

/* Reads paths[0..n) (any format weft reads) into out[0..n), each analysed
 * for its own ports at 1 Gbit/s. On error reports it and frees what was
 * read; returns -1. */
int cli_read_workloads(const char *cmd, char *const *paths, size_t n, coflow_workload_t *out);

/* The option getopt_long just returned, for messages: "--NAME" of long
 * option li (>= 0), else the argument as typed. Into buf. */
struct option;
const char *cli_optname(const struct option *longopts, int li, char *const *argv, int optind_,
                        char *buf, size_t len);

/* Writes s as a gnuplot single-quoted string. */
void cli_gp_quote(FILE *out, const char *s);

/* Draws file (.png, or .svg) with gnuplot: sets the terminal and output,
 * then script writes the rest. 0, or -1 with a message. */
typedef void (*cli_plot_fn)(FILE *gp, const void *arg);
int cli_gnuplot(const char *cmd, const char *file, cli_plot_fn script, const void *arg);

/* The shipped model: $WEFT_MODEL if set; else the first of
 * <dir of weft>/../models/, <dir>/../share/weft/models/, <dir>/models/ and
 * the source tree's models/ holding CLI_MODEL_NAME. Written into buf;
 * NULL if none exists. */
const char *cli_default_model(char *buf, size_t len);

#endif
