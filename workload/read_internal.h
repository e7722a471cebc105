/*
 * read_internal.h - what the workload readers (read.c, fb.c, alibaba.c,
 * wfcommons.c, text.c) share and nobody else needs: a line reader that
 * knows its file name and line number, strict number scanners that report
 * "file:line: expected X, found 'Y'", and the common ending of every read.
 */
#ifndef WORKLOAD_READ_INTERNAL_H
#define WORKLOAD_READ_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "workload.h"

/* One text file read a line at a time with getline(): buf holds the current
 * line without its newline (and without a trailing '\r'), line its 1-based
 * number. A UTF-8 byte-order mark at the start of the file is dropped. */
typedef struct {
    FILE *f;
    const char *path; /* borrowed, for messages */
    char *buf;
    size_t cap;
    size_t len;
    size_t line;
    size_t col0;  /* columns of line `line` dropped before buf (a BOM: 3) */
    bool newline; /* the current line ended with '\n' (false only for the
                     file's last line, when the file does not end with one) */
    bool comments; /* the format has '#' comments (weft's): a token with a '#'
                      glued to it that does not parse gets a hint */
} wl_lines_t;

/* While workload_read reads an input that can be read only once (standard
 * input as "-", a pipe, a FIFO), it holds the input's bytes in memory under
 * the name it hands the reader: true, with those bytes, when path is that
 * name (the same address). wl_lines_open reads them from there; a reader
 * that loads the file otherwise asks here first. */
bool wl_spooled(const char *path, const char **data, size_t *len);

/* Opens path (or the bytes wl_spooled holds for it); EIO naming the file
 * and the system's reason on failure. */
weft_err_t wl_lines_open(wl_lines_t *l, const char *path);
/* Reads the next line: 1 if there is one, 0 at end of file, EIO (negative)
 * on a read error, EPARSE "path:line: ..." for a line no text file has: one
 * holding a NUL byte, or a carriage return inside it (CR-only line ends). */
int wl_lines_next(wl_lines_t *l);
void wl_lines_close(wl_lines_t *l);

/* Skips spaces, tabs and '\r'. */
const char *wl_skip_blank(const char *p);
/* True if only blanks remain (or, with comments, blanks then '#...'). */
bool wl_at_eol(const char *p, bool comments);
/* Fails with ETRUNC "path:line: the last line has no newline" if the
 * current line did not end with '\n': the readers of formats without a
 * trailer call it on every line that parses, so a file cut inside its last
 * number is refused rather than read with that number cut short (a line
 * cut elsewhere fails to parse, naming what is missing, and wl_hint_cut
 * adds that the file may be cut). */
weft_err_t wl_require_newline(const wl_lines_t *l);
/* A failure on the last line of a file that does not end with a newline
 * may be where the file was cut, not a typo: appends " (the last line has
 * no newline: is the file truncated?)" to the detail when it is about that
 * line ("path:line: ..."). The readers call it on every failure while the
 * file is open; a failure about another line, or one that already speaks
 * of truncation, is left as it is. Returns err. */
weft_err_t wl_hint_cut(const wl_lines_t *l, weft_err_t err);
/* EINVAL "path:line: AT WHAT V s is beyond 1e9 s ...": a time of the
 * current line above WORKLOAD_MAX_TIME_S (at: where in the line, "" or
 * "field 3: "). V as weft_fmt_exact prints it. */
weft_err_t wl_time_beyond(const wl_lines_t *l, const char *at, const char *what, double v);

/* Writes a printable description of what is at p (in l's current line) into
 * out: "'token'" (the token up to the next blank, cut at 40 characters),
 * "end of line", or for a token holding a byte no text has "a binary byte
 * 0x89 at column 1 (not a text file?)". */
void wl_describe(const wl_lines_t *l, const char *p, char *out, size_t n);
/* The same for the len bytes at p (a CSV field). */
void wl_describe_span(const wl_lines_t *l, const char *p, size_t len, char *out, size_t n);

/* Strict scanners: skip blanks at *p, read one number that must end at a
 * blank, the end of the line or one of the characters in `stops`, and move
 * *p past it. On failure EPARSE "path:line: expected <what>, found <...>". */
weft_err_t wl_scan_u64(const wl_lines_t *l, const char **p, const char *what,
                       const char *stops, uint64_t max, uint64_t *out);
weft_err_t wl_scan_i64(const wl_lines_t *l, const char **p, const char *what,
                       const char *stops, int64_t *out);
/* Any strtod() number, including nan and inf: callers check ranges. A
 * number too large for a double (strtod's overflow: 1e999, 400 digits) is
 * EINVAL "expected <what>, found '...', a number too large for a double"
 * rather than read as inf; one that underflows reads (as 0 or a subnormal,
 * as the writer's %.17g of a subnormal must). */
weft_err_t wl_scan_double(const wl_lines_t *l, const char **p, const char *what,
                          const char *stops, double *out);

/* An id a file gave and the line it was on, for the duplicate check. */
typedef struct {
    int64_t id;
    size_t line;
} wl_id_line_t;

/* Sorts ids[0..n) by id, then line; returns the index i of the first
 * entry whose id the entry before it (i - 1) has too, or 0 when every id
 * is unique. O(n log n). */
size_t wl_first_repeat(wl_id_line_t *ids, size_t n);
/* Sorts ids[0..n) by id, then line, and fails with EINVAL
 * "path:L: <what> id X appears twice (lines K and L)" naming the first
 * repeat, lines as in the file. O(n log n). */
weft_err_t wl_check_unique_ids(wl_id_line_t *ids, size_t n, const char *path, const char *what);

/* Every reader's first step: *opts pointed at the defaults (written into
 * *def) when NULL, *wl initialised empty, and the report to fill zeroed:
 * (*opts)->report, else *local (NULL: the reader keeps no report of its
 * own). Returns that report, or NULL. */
workload_read_report_t *wl_start_read(coflow_workload_t *wl, const workload_read_opts_t **opts,
                                      workload_read_opts_t *def, workload_read_report_t *local);
/* Every reader's last step: dag_analyze() on wl->n_ports ports at
 * WEFT_GBPS_BYTES (cycles, waves, iso times, bounds); a failure's detail
 * begins "path: ". */
weft_err_t wl_finish_read(coflow_workload_t *wl, const char *path);
/* Every reader's failure path: frees *wl and leaves it empty (n_ports 0),
 * then returns err. */
weft_err_t wl_fail_read(coflow_workload_t *wl, weft_err_t err);
/* The line readers' ending, success or not: err given wl_hint_cut's hint,
 * *l closed, and on failure wl_fail_read(wl, err). Returns err. */
weft_err_t wl_end_lines_read(wl_lines_t *l, coflow_workload_t *wl, weft_err_t err);

#endif
