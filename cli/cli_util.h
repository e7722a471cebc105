/*
 * cli_util.h - helpers shared by subcommands (cli/cli_util.c).
 */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "coflow/coflow.h"
#include "coflow/learned.h"
#include "workload/workload.h"

/* File name of the shipped model of the learned policy, in models/. */
#define CLI_MODEL_NAME "weft-policy.msgpack"

/* True when s is a whole number written in decimal digits alone: no sign,
 * blank, base prefix or exponent (strtoull would take " -1" as 2^64 - 1
 * and 010 as 8 in base 0). */
bool cli_is_decimal(const char *s);

/* Parse an option's value; on error print "weft CMD: OPT 'S': expected ..."
 * and return -1. Integers are decimal (cli_is_decimal). */
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t *out);
/* The same within [min, max]: "expected an integer MIN..MAX". */
int cli_parse_size_in(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                      size_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, bool strict,
                     double *out);
/* --port-cap's PORT=RATE (RATE as --port-rate: "10Gbps", "1e9", ...) into
 * *port and *rate (bytes/s); on error prints "weft CMD: --port-cap ..."
 * and returns -1. Whether the port exists is the caller's to check. */
int cli_parse_port_cap(const char *cmd, const char *s, size_t *port, double *rate);

/* Reads one workload for command cmd: workload_read(wl, path, fmt, opts)
 * (opts NULL: the defaults; a report of its own unless opts has one), then
 * the reader's notes on stderr ("weft CMD: note: skipped 2 jobs whose
 * dependencies form a cycle", workload_read_report_print), and a workload
 * without jobs refused (workload_require_jobs). 0, or -1 after reporting
 * the error, *wl then empty (initialised). */
int cli_read_workload(const char *cmd, coflow_workload_t *wl, const char *path,
                      workload_format_t fmt, const workload_read_opts_t *opts);

/* Reads paths[0..n) (any format weft reads, as cli_read_workload) into
 * out[0..n), each analysed for its own ports at port_rate bytes/s, and
 * each flow checked timeable there (netsim_check_clock). On error reports
 * it and frees what was read; returns -1. */
int cli_read_workloads(const char *cmd, char *const *paths, size_t n, double port_rate,
                       coflow_workload_t *out);

/* getopt_long(argc, argv, ":h", longopts) for a command whose messages
 * name the option as given: the option's character (-1 after the last),
 * and into name[len] "--NAME" of a long option, else the argument as
 * typed. The caller sets optind = 1 and opterr = 0 before the first. */
struct option;
int cli_next_option(int argc, char *const *argv, const struct option *longopts, char *name,
                    size_t len);

/* Prints "weft CMD: ..." for an option getopt_long (opterr 0, optstring
 * starting with ':') refused with ch '?' or ':': "unknown option '-z'"
 * (from optopt: inside a cluster such as -zq, argv[optind - 1] is the
 * argument before it), "unknown option '--foo'", "option '--pro' is
 * ambiguous", "option '--check' takes no value" or "option '--out' needs
 * a value". */
void cli_bad_option(const char *cmd, int ch, const struct option *longopts,
                    char *const *argv);

/* After a usage error (its message printed): the command's synopsis, the
 * first paragraph of what usage writes for --help, and "weft CMD --help
 * lists every option", on stderr. The whole text there scrolled the one
 * line that says what was wrong off a terminal. */
void cli_usage_hint(const char *cmd, void (*usage)(FILE *));

/* For a command that takes one file after its options (argv[optind]): 0
 * when there is exactly one; else "weft CMD: which file? give one KIND
 * file" (none) or "one KIND file at a time" and the usage hint, and -1. */
int cli_one_file(const char *cmd, const char *kind, int argc, void (*usage)(FILE *));

/* Appends --policy's value to list[0..*n) (at most max): the spec as given,
 * or for "all" the name of every ordering of the registry, in its order.
 * Past max prints "weft CMD: at most MAX policies" and returns -1. */
int cli_add_policy(const char *cmd, const char *arg, const char **list, size_t *n, size_t max);

/* For runs specs[0..n) under allocs[0..n): a note on stderr for each
 * allocator that ignores the coflow order (per-flow fair and srf) and that
 * two or more of them share, naming them, since they run one schedule. */
void cli_note_order_blind(const char *cmd, const char *const *specs,
                          const coflow_allocator_t *const *allocs, size_t n);

/* Writes s as a gnuplot double-quoted string, its backslashes, quotes and
 * control characters escaped (a newline in a single-quoted one ended the
 * line of the script). */
void cli_gp_quote(FILE *out, const char *s);

/* The lines that start every plot script after `set terminal`: text is
 * shown as written, not as gnuplot's markup (an underscore in a workload's
 * name made a subscript). */
#define CLI_GP_PLAIN_TEXT "set termoption noenhanced\n"

/* A plot file's name must end in .png or .svg; else prints "weft CMD: OPT
 * 'FILE': expected ..." and returns -1. */
int cli_check_plot_name(const char *cmd, const char *opt, const char *file);

/* An output option's value must name something: '' prints "weft CMD: OPT
 * '': expected a WHAT name" and returns -1 (a usage error; found later,
 * it failed as a file or directory named '' that could not be made). */
int cli_check_name(const char *cmd, const char *opt, const char *value, const char *what);

/* Whether paths a and b name one file that exists (false for a NULL). */
bool cli_same_file(const char *a, const char *b);

/* An output file given as one of the n inputs (a slip of a glob or of a
 * paste), which the output would replace: prints "weft CMD: OPT 'OUT' is
 * the WHAT 'IN' given: ... would replace it" and returns -1; else 0. "-"
 * (a standard stream) is no file here. */
int cli_output_not_input(const char *cmd, const char *opt, const char *out,
                         char *const *in, size_t n, const char *what);

/* The same for the files n other options read: reads[i] is {option, its
 * file or NULL}, and the message names the option ("is the --journal"). */
int cli_output_not_read(const char *cmd, const char *opt, const char *out,
                        const char *const reads[][2], size_t n);

/* Whether file is DIR/NAME for one of the n names, its directory compared
 * with dir as a file (o/../o/x is o's x), whether or not it exists yet. */
bool cli_file_in_dir(const char *file, const char *dir, const char *const *names, size_t n);

/* Whether paths a and b name one file, whether or not it exists yet: the
 * same file, or the same name in one directory (./x and x; false for a
 * NULL). cli_same_file alone misses two outputs not written yet. */
bool cli_same_output(const char *a, const char *b);

/* Whether file can be created or written (tried without truncating it; a
 * file that did not exist is removed again, and for a link to nothing yet
 * that is the file at its end: the link stays): 0, or -1 after "weft CMD:
 * cannot write 'FILE': REASON". */
int cli_check_writable(const char *cmd, const char *file);

/* Makes directory dir and any missing parents (mkdir -p) and checks
 * that files can be created in it: 0, or -1 after "weft CMD: OPT: ..."
 * naming the part of the path that failed and why. Run before the work,
 * so a bad --out stops a run before it starts, not after. */
int cli_make_dirs(const char *cmd, const char *opt, const char *dir);

/* Where cli_make_dirs(dir) would start making directories: the length of
 * dir's shortest prefix (ending before a '/', or dir itself) that does not
 * exist; 0 when dir exists, its name is too long to make, or it has a "."
 * or ".." component (undoing nothing then: past one, a prefix may name a
 * directory that existed). */
size_t cli_dirs_missing(const char *dir);

/* Undoes cli_make_dirs(dir) for a command that failed before writing
 * there: removes dir, then its parents down to the prefix of length from
 * (cli_dirs_missing's before cli_make_dirs), each only while empty
 * (rmdir), so nothing anyone wrote goes. from 0: nothing was made. */
void cli_unmake_dirs(const char *dir, size_t from);

/* From now on SIGINT, SIGTERM or SIGHUP, where their action is not to
 * ignore them, first remove the file weft_save_file is writing and
 * cli_unmake_dirs(dir, from) (only directories left empty go), then end
 * weft by the action they had. Called before cli_make_dirs(dir), so no
 * signal comes between; a command that catches them itself does so after,
 * and hands them on to this. from 0: nothing to undo, nothing installed. */
void cli_unmake_on_signals(const char *dir, size_t from);

/* Draws file (.png, or .svg) with gnuplot: sets the terminal and output,
 * then script writes the rest. First makes sure file can be created (an
 * error naming it and the reason otherwise: gnuplot would draw on stdout);
 * gnuplot's stdout goes nowhere. 0, or -1 with a message that blames
 * gnuplot's absence only when it could not be run. */
typedef void (*cli_plot_fn)(FILE *gp, const void *arg);
int cli_gnuplot(const char *cmd, const char *file, cli_plot_fn script, const void *arg);

/* A reader of standard output gone (weft sim ... | head) raised SIGPIPE at
 * the first write after, and lost the files the command writes after its
 * tables (sim's --out and plot, eval's --csv and plot). cli_pipe_hold
 * catches it from then on (unless it is ignored: the writes fail and main
 * names why), and returns whether it did, old its action before;
 * cli_pipe_release flushes standard output (cli_flush_stdout), puts old
 * back and, if a SIGPIPE came meanwhile, from any write or from kill,
 * raises it: the command ends as it would have, its files written. Caught,
 * not ignored, so that nothing exec'ed inherits it and a failed flush
 * before, whose buffer stdio dropped, still counts. Held only when there
 * are such files: else the signal ends runs whose output no one reads. */
bool cli_pipe_hold(struct sigaction *old);
void cli_pipe_release(bool held, const struct sigaction *old);
/* fflush(stdout), its errno left for main's message if it fails: stdio
 * drops what it could not write, and main's flush then finds only the
 * stream's error flag. */
void cli_flush_stdout(void);

/* A file (or directory, want_dir) shipped with weft, rel being e.g.
 * "models/x" or "data/y": the first of <dir of weft>/../rel,
 * <dir>/../share/weft/rel, <dir>/rel and the source tree's rel that
 * exists, written into buf; NULL if none. */
const char *cli_find_shipped(const char *rel, bool want_dir, char *buf, size_t len);

/* A default input file (or directory) rel: in the current directory, else
 * shipped with weft (cli_find_shipped). Into buf; NULL after "weft CMD: no
 * REL found: looked in ...; OPT picks a file". */
const char *cli_find_default(const char *cmd, const char *rel, bool want_dir, const char *opt,
                             char *buf, size_t len);

/* The shipped model: $WEFT_MODEL if set; else cli_find_shipped of
 * models/CLI_MODEL_NAME. Written into buf; NULL if none exists. *origin,
 * unless origin is NULL, says which ("$WEFT_MODEL" or "the shipped
 * model"), for cli_check_model's messages. */
const char *cli_default_model(char *buf, size_t len, const char **origin);

/* Reads the model file at path into m (coflow_learned_model_load; m empty
 * on error, the error left for the caller to report), and notes on stderr
 * when it is a training checkpoint: "weft CMD: note: ORIGIN PATH is a
 * training checkpoint: its last iteration's parameters are used, not the
 * best; its run writes DIR/best.msgpack (...) and DIR/final.msgpack ...". */
weft_err_t cli_load_model(const char *cmd, const char *path, const char *origin,
                          coflow_learned_model_t *m);

/* cli_load_model's note, for the entries mf of a model file read at path
 * (weft serve's on SIGHUP, CMD "serve: SIGHUP"); nothing unless it is a
 * training checkpoint. */
void cli_note_checkpoint(const char *cmd, const char *origin, const char *path,
                         const attn_model_file_t *mf);

/* Reads the model file at path once (cli_load_model), so that a bad one stops CMD before
 * any run (not after the other policies' have taken their time): "weft
 * CMD: ORIGIN PATH: what is wrong", ORIGIN saying where the path came
 * from ("--model", "$WEFT_MODEL", ...). False after the message. */
bool cli_check_model(const char *cmd, const char *path, const char *origin);

#endif
