/*
 * read.c - the entry point of the workload readers (format names, options,
 * guessing a file's format) and the line reader and number scanners the
 * text readers share (read_internal.h).
 *
 * Every reader either returns the whole file as a finished, analysed
 * workload or fails with "file:line: what was expected, what was found" and
 * leaves *wl empty; none of them aborts on anything a file can contain.
 */
#include "read_internal.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attention/attn.h" /* ATTN_MODEL_MAGIC */
#include "dag/dag.h"

/* ---------------------------------------------------------- input read once */

/* What workload_read is reading, when it can be read only once (standard
 * input, a pipe, a FIFO): its bytes, and the name the reader was handed
 * for it, matched by address so a file that happens to be called the same
 * is never taken for it. One per thread, as parallel reads may run. */
static _Thread_local struct {
    const char *name;
    char *data;
    size_t len;
} spool;

static const char stdin_name[] = "<stdin>";

const char *workload_input_name(const char *path)
{
    return strcmp(path, "-") ? path : stdin_name;
}

bool wl_spooled(const char *path, const char **data, size_t *len)
{
    if (!spool.data || path != spool.name)
        return false;
    *data = spool.data;
    *len = spool.len;
    return true;
}

/* Reads all of f into the spool under name; EIO or ENOMEM naming it. */
static weft_err_t spool_all(FILE *f, const char *name)
{
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap);
    if (!data)
        return weft_fail(WEFT_ENOMEM, "%s: out of memory reading the input", name);
    for (;;) {
        len += fread(data + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *more = cap <= SIZE_MAX / 2 ? realloc(data, cap * 2) : NULL;
        if (!more) {
            free(data);
            return weft_fail(WEFT_ENOMEM, "%s: out of memory after %zu bytes of input", name,
                             len);
        }
        data = more;
        cap *= 2;
    }
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        free(data);
        return weft_fail(WEFT_EIO, "%s: read error after %zu bytes: %s", name, len,
                         strerror(e));
    }
    spool.name = name;
    spool.data = data;
    spool.len = len;
    return WEFT_OK;
}

static void spool_drop(void)
{
    free(spool.data);
    memset(&spool, 0, sizeof spool);
}

/* "-" is standard input. A path that is neither a regular file nor a
 * directory (a pipe, a FIFO, /dev/stdin, bash's <(...)) would give the
 * reader only what guessing its format left, so it is read into the
 * spool first. A directory is refused here: it opens for reading, and
 * the readers' first read would blame its line 1 ("DIR:1: read error").
 * *name: what the readers and their messages call it. */
static weft_err_t open_input(const char *path, const char **name)
{
    *name = path;
    if (!strcmp(path, "-")) {
        *name = stdin_name;
        errno = 0;
        return spool_all(stdin, stdin_name);
    }
    struct stat sb;
    bool found = stat(path, &sb) == 0;
    if (found && S_ISDIR(sb.st_mode))
        return weft_fail(WEFT_EIO, "%s: is a directory, expected a workload file", path);
    if (!found || S_ISREG(sb.st_mode))
        return WEFT_OK; /* the readers open it (and say why they cannot) */
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_fail(WEFT_EIO, "%s: cannot open: %s", path, strerror(errno));
    errno = 0;
    weft_err_t err = spool_all(f, path);
    fclose(f);
    return err;
}

/* ---------------------------------------------------------- lines */

weft_err_t wl_lines_open(wl_lines_t *l, const char *path)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    const char *data;
    size_t len;
    /* glibc's fmemopen takes a size of 0 since 2.22: an empty stream */
    l->f = wl_spooled(path, &data, &len) ? fmemopen((void *)data, len, "r") : fopen(path, "r");
    if (!l->f)
        return weft_fail(WEFT_EIO, "%s: cannot open: %s", path, strerror(errno));
    return WEFT_OK;
}

int wl_lines_next(wl_lines_t *l)
{
    errno = 0;
    ssize_t n = getline(&l->buf, &l->cap, l->f);
    if (n < 0) {
        if (ferror(l->f))
            return weft_fail(WEFT_EIO, "%s:%zu: read error: %s", l->path, l->line + 1,
                             strerror(errno ? errno : EIO));
        if (errno == ENOMEM)
            return weft_fail(WEFT_ENOMEM, "%s:%zu: out of memory reading a line", l->path,
                             l->line + 1);
        return 0;
    }
    l->line++;
    size_t len = (size_t)n;
    l->newline = len && l->buf[len - 1] == '\n';
    l->col0 = 0;
    if (l->line == 1 && len >= 3 && !memcmp(l->buf, "\xEF\xBB\xBF", 3)) {
        /* a UTF-8 byte-order mark (Windows editors write one): not content */
        memmove(l->buf, l->buf + 3, len - 3 + 1);
        len -= 3;
        l->col0 = 3;
    }
    /* getline() reads past a NUL, but every scanner stops at one: the rest
     * of the line would be silently ignored. */
    const char *nul = memchr(l->buf, '\0', len);
    /* a learned policy's model file given where a workload goes (weft
       train's and eval's arguments, --val, inspect): its first bytes are
       the msgpack string (0xa0 | 10 bytes) of ATTN_MODEL_MAGIC */
    static const char model_magic[] = "\xaa" ATTN_MODEL_MAGIC;
    if (nul && l->line == 1 && len >= sizeof model_magic - 1 &&
        !memcmp(l->buf, model_magic, sizeof model_magic - 1))
        return weft_fail(WEFT_EPARSE, "%s: a weft model file (a learned policy's: weft model "
                         "FILE reads it), not a workload", l->path);
    if (nul)
        return weft_fail(WEFT_EPARSE,
                         "%s:%zu: a NUL byte at column %zu: not a text file, or a damaged one",
                         l->path, l->line, l->col0 + (size_t)(nul - l->buf) + 1);
    while (len && (l->buf[len - 1] == '\n' || l->buf[len - 1] == '\r'))
        l->buf[--len] = '\0';
    const char *cr = memchr(l->buf, '\r', len);
    if (cr)
        return weft_fail(WEFT_EPARSE,
                         "%s:%zu: a carriage return (CR) without a line feed at column %zu: "
                         "the file has old Mac line ends (CR only); convert them to LF or "
                         "CRLF",
                         l->path, l->line, l->col0 + (size_t)(cr - l->buf) + 1);
    l->len = len;
    return 1;
}

weft_err_t wl_time_beyond(const wl_lines_t *l, const char *at, const char *what, double v)
{
    char vs[WEFT_FMT_LEN];
    return weft_fail(WEFT_EINVAL,
                     "%s:%zu: %s%s %s s is beyond %g s (about 31 years): times that large "
                     "lose the precision job times need; shift the times so they start "
                     "near 0",
                     l->path, l->line, at, what, weft_fmt_exact(v, vs, sizeof vs),
                     WORKLOAD_MAX_TIME_S);
}

weft_err_t wl_hint_cut(const wl_lines_t *l, weft_err_t err)
{
    if (err >= 0 || err == WEFT_ENOMEM || err == WEFT_EIO || l->line == 0 || l->newline)
        return err;
    const char *msg = weft_last_error();
    char at[64];
    int n = snprintf(at, sizeof at, ":%zu: ", l->line);
    size_t plen = strlen(l->path);
    if (strncmp(msg, l->path, plen) || strncmp(msg + plen, at, (size_t)n) ||
        strstr(msg + plen, "truncated"))
        return err;
    return weft_fail(err, "%s (the last line has no newline: is the file truncated?)", msg);
}

weft_err_t wl_require_newline(const wl_lines_t *l)
{
    if (l->newline)
        return WEFT_OK;
    return weft_fail(WEFT_ETRUNC,
                     "%s:%zu: the last line has no newline: the file looks truncated (if it "
                     "is complete, end it with a newline)",
                     l->path, l->line);
}

void wl_lines_close(wl_lines_t *l)
{
    if (l->f)
        fclose(l->f);
    free(l->buf);
    memset(l, 0, sizeof *l);
}

/* ---------------------------------------------------------- scanners */

const char *wl_skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

bool wl_at_eol(const char *p, bool comments)
{
    p = wl_skip_blank(p);
    return *p == '\0' || (comments && *p == '#');
}

/* Length of the valid UTF-8 character at s[0..len) (1 for ASCII text), or 0
 * if s starts with a byte no text has: a control character other than tab,
 * or a byte that does not start a well-formed UTF-8 sequence. */
static size_t text_char(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) || c == '\t' ? 1 : 0;
    return weft_utf8_len(s, len);
}

void wl_describe_span(const wl_lines_t *l, const char *p, size_t len, char *out, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    for (size_t i = 0, k; i < len; i += k) {
        size_t col = l && p >= l->buf && p <= l->buf + l->len
                         ? l->col0 + (size_t)(p - l->buf) + i + 1
                         : 0;
        char at[48] = "";
        if (col)
            snprintf(at, sizeof at, " at column %zu", col);
        k = text_char(u + i, len - i);
        if (k == 0) {
            snprintf(out, n, "a binary byte 0x%02X%s (not a text file?)", u[i], at);
            return;
        }
        if (k == 3 && !memcmp(u + i, "\xEF\xBB\xBF", 3)) {
            snprintf(out, n, "a UTF-8 byte-order mark (U+FEFF)%s", at);
            return;
        }
        /* U+0080 to U+009F: valid UTF-8, but a terminal may act on them
           (U+009B starts an escape sequence), so named, not echoed */
        if (k == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0) {
            snprintf(out, n, "a control character U+%04X%s (not a text file?)", u[i + 1], at);
            return;
        }
    }
    if (len > 40) {
        int cut = 40; /* not inside a character: back to its first byte */
        while (cut > 0 && (u[cut] & 0xC0) == 0x80)
            cut--;
        snprintf(out, n, "'%.*s...'", cut, p);
    } else
        snprintf(out, n, "'%.*s'", (int)len, p);
}

void wl_describe(const wl_lines_t *l, const char *p, char *out, size_t n)
{
    p = wl_skip_blank(p);
    if (*p == '\0') {
        snprintf(out, n, "end of line");
        return;
    }
    size_t len = 0;
    while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\r')
        len++;
    wl_describe_span(l, p, len, out, n);
}

static bool ends_token(char c, const char *stops)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\r' || (stops && c && strchr(stops, c));
}

static weft_err_t expected(const wl_lines_t *l, const char *p, const char *what)
{
    char found[80];
    wl_describe(l, p, found, sizeof found);
    /* "500#x": the format's comments start after a blank */
    const char *s = wl_skip_blank(p);
    size_t len = strcspn(s, " \t\r");
    bool glued = l->comments && memchr(s, '#', len);
    return weft_fail(WEFT_EPARSE, "%s:%zu: expected %s, found %s%s", l->path, l->line, what,
                     found, glued ? " (a comment needs a blank before '#')" : "");
}

weft_err_t wl_scan_u64(const wl_lines_t *l, const char **p, const char *what,
                       const char *stops, uint64_t max, uint64_t *out)
{
    const char *s = wl_skip_blank(*p), *q = s;
    uint64_t v = 0;
    bool overflow = false;
    while (*q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
        q++;
    }
    if (q == s || !ends_token(*q, stops))
        return expected(l, s, what);
    if (overflow || v > max) {
        char found[80];
        wl_describe(l, s, found, sizeof found);
        return weft_fail(WEFT_EPARSE, "%s:%zu: expected %s (at most %" PRIu64 "), found %s",
                         l->path, l->line, what, max, found);
    }
    *out = v;
    *p = q;
    return WEFT_OK;
}

weft_err_t wl_scan_i64(const wl_lines_t *l, const char **p, const char *what,
                       const char *stops, int64_t *out)
{
    const char *s = wl_skip_blank(*p), *q = s;
    bool neg = *q == '-';
    if (neg)
        q++;
    uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool overflow = false;
    const char *digits = q;
    while (*q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q - '0');
        if (v > (max - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
        q++;
    }
    if (q == digits || !ends_token(*q, stops))
        return expected(l, s, what);
    if (overflow) {
        char found[80];
        wl_describe(l, s, found, sizeof found);
        return weft_fail(WEFT_EPARSE, "%s:%zu: expected %s (a 64-bit integer), found %s",
                         l->path, l->line, what, found);
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    *p = q;
    return WEFT_OK;
}

weft_err_t wl_scan_double(const wl_lines_t *l, const char **p, const char *what,
                          const char *stops, double *out)
{
    const char *s = wl_skip_blank(*p);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !ends_token(*end, stops))
        return expected(l, s, what);
    if (errno == ERANGE && isinf(v)) { /* "inf" itself sets no ERANGE */
        char found[80];
        wl_describe(l, s, found, sizeof found);
        return weft_fail(WEFT_EINVAL,
                         "%s:%zu: expected %s, found %s, a number too large for a double "
                         "(above %g in magnitude)",
                         l->path, l->line, what, found, DBL_MAX);
    }
    *out = v;
    *p = end;
    return WEFT_OK;
}

/* ---------------------------------------------------------- endings */

workload_read_report_t *wl_start_read(coflow_workload_t *wl, const workload_read_opts_t **opts,
                                      workload_read_opts_t *def, workload_read_report_t *local)
{
    if (!*opts) {
        workload_read_opts_default(def);
        *opts = def;
    }
    workload_read_report_t *rep = (*opts)->report ? (*opts)->report : local;
    if (rep)
        memset(rep, 0, sizeof *rep);
    coflow_workload_init(wl, 0);
    return rep;
}

weft_err_t wl_finish_read(coflow_workload_t *wl, const char *path)
{
    if (wl->n_ports == 0)
        return WEFT_OK; /* nothing was read, nothing to analyse */
    coflow_fabric_t fab;
    weft_err_t err = coflow_fabric_init(&fab, wl->n_ports, WEFT_GBPS_BYTES);
    if (err)
        return weft_wrap(err, "%s: ", path);
    err = dag_analyze(wl, &fab);
    coflow_fabric_destroy(&fab);
    if (err)
        weft_wrap(err, "%s: ", path);
    return err;
}

weft_err_t wl_fail_read(coflow_workload_t *wl, weft_err_t err)
{
    coflow_workload_destroy(wl);
    coflow_workload_init(wl, 0);
    return err;
}

weft_err_t wl_end_lines_read(wl_lines_t *l, coflow_workload_t *wl, weft_err_t err)
{
    if (err)
        err = wl_hint_cut(l, err);
    wl_lines_close(l);
    if (err)
        return wl_fail_read(wl, err);
    return WEFT_OK;
}

/* ---------------------------------------------------------- entry */

void workload_read_opts_default(workload_read_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->fb_mb_bytes = 1048576.0;
    o->alibaba_keep_independent = true;
    o->alibaba_bytes_per_instance = 1048576.0;
    o->max_jobs = 0;
    o->wf_ports = 16;
    o->wf_seed = 1;
    o->report = NULL;
}

static const char *const format_names[] = {
    [WORKLOAD_FORMAT_AUTO] = "auto",         [WORKLOAD_FORMAT_WEFT] = "weft",
    [WORKLOAD_FORMAT_FB] = "fb",             [WORKLOAD_FORMAT_ALIBABA] = "alibaba",
    [WORKLOAD_FORMAT_WFCOMMONS] = "wfcommons",
};

weft_err_t workload_format_parse(const char *s, workload_format_t *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof *format_names; i++)
        if (!strcmp(s, format_names[i])) {
            *out = (workload_format_t)i;
            return WEFT_OK;
        }
    return weft_fail(WEFT_EINVAL,
                     "unknown workload format '%s', expected auto, weft, fb, alibaba or "
                     "wfcommons",
                     s);
}

const char *workload_format_name(workload_format_t f)
{
    if ((size_t)f < sizeof format_names / sizeof *format_names)
        return format_names[f];
    return "unknown";
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* By extension (.json, .csv), else by the first line that is not blank or a
 * '#' comment: "weft-workload ..." is weft, two integers are the FB header,
 * '{' opens WfFormat JSON (standard input and pipes have no extension). */
static weft_err_t guess_format(const char *path, workload_format_t *out)
{
    if (has_suffix(path, ".json")) {
        *out = WORKLOAD_FORMAT_WFCOMMONS;
        return WEFT_OK;
    }
    if (has_suffix(path, ".csv")) {
        *out = WORKLOAD_FORMAT_ALIBABA;
        return WEFT_OK;
    }
    wl_lines_t l;
    weft_err_t err = wl_lines_open(&l, path);
    if (err)
        return err;
    int r;
    while ((r = wl_lines_next(&l)) == 1 && wl_at_eol(l.buf, true))
        ;
    if (r < 0) {
        wl_lines_close(&l);
        return (weft_err_t)r;
    }
    if (r == 0) {
        size_t lines = l.line;
        wl_lines_close(&l);
        if (lines == 0)
            return weft_fail(WEFT_EPARSE, "%s: the input is empty, so its format cannot be "
                             "told", path);
        return weft_fail(WEFT_EPARSE, "%s: the input holds only blank lines and comments "
                         "(%zu lines), so its format cannot be told", path, lines);
    }
    const char *p = wl_skip_blank(l.buf);
    uint64_t a, b;
    if (!strncmp(p, "weft-workload", 13) && ends_token(p[13], NULL)) {
        *out = WORKLOAD_FORMAT_WEFT;
    } else if (*p == '{') {
        *out = WORKLOAD_FORMAT_WFCOMMONS;
    } else if (l.line == 1 && !wl_scan_u64(&l, &p, "", NULL, UINT64_MAX, &a) &&
               !wl_scan_u64(&l, &p, "", NULL, UINT64_MAX, &b) && wl_at_eol(p, false)) {
        *out = WORKLOAD_FORMAT_FB;
    } else {
        char found[80];
        wl_describe(&l, l.buf, found, sizeof found);
        err = weft_fail(WEFT_EPARSE,
                        "%s:%zu: cannot tell the format: expected 'weft-workload 1', a "
                        "Facebook benchmark header '<ports> <coflows>' (on line 1) or "
                        "WfFormat JSON, found %s (give the format explicitly)",
                        path, l.line, found);
    }
    wl_lines_close(&l);
    return err;
}

/* Keeps wl's first n jobs: each job's coflows, flows and parents are
 * stored after the previous job's, and its parents point inside it, so
 * the rest is a tail to cut, and what stays keeps its derived fields. */
static void keep_first_jobs(coflow_workload_t *wl, size_t n)
{
    if (wl->n_jobs <= n)
        return;
    size_t c0 = wl->jobs[n].first_coflow; /* every job has a coflow */
    wl->n_flows = wl->coflows[c0].first_flow;
    wl->n_parents = wl->coflows[c0].first_parent;
    wl->n_coflows = c0;
    wl->n_jobs = n;
}

weft_err_t workload_read(coflow_workload_t *wl, const char *path, workload_format_t fmt,
                         const workload_read_opts_t *opts)
{
    coflow_workload_init(wl, 0);
    if (opts && opts->report) /* zero for every format, weft's too */
        memset(opts->report, 0, sizeof *opts->report);
    const char *name;
    weft_err_t err = open_input(path, &name);
    if (!err && fmt == WORKLOAD_FORMAT_AUTO)
        err = guess_format(name, &fmt);
    if (!err && opts && opts->check_format)
        err = opts->check_format(fmt, opts->check_format_arg);
    locale_t prev = weft_c_numbers_begin(); /* strtod's "1.5" in every locale */
    if (!err) {
        switch (fmt) {
        case WORKLOAD_FORMAT_WEFT: err = workload_read_weft(wl, name); break;
        case WORKLOAD_FORMAT_FB: err = workload_read_fb(wl, name, opts); break;
        case WORKLOAD_FORMAT_ALIBABA: err = workload_read_alibaba(wl, name, opts); break;
        case WORKLOAD_FORMAT_WFCOMMONS: err = workload_read_wfcommons(wl, name, opts); break;
        default: err = weft_fail(WEFT_EINVAL, "unknown workload format %d", (int)fmt);
        }
    }
    weft_c_numbers_end(prev);
    if (!err && opts && opts->max_jobs && fmt != WORKLOAD_FORMAT_ALIBABA)
        keep_first_jobs(wl, opts->max_jobs);
    spool_drop();
    return err;
}

void workload_read_report_print(const workload_read_report_t *rep, const char *prefix,
                                FILE *out)
{
    if (rep->alibaba_dropped_deps)
        fprintf(out, "%snote: dropped %zu %s on tasks absent from their job, on the task "
                     "itself, or repeated\n",
                prefix, rep->alibaba_dropped_deps,
                weft_plural(rep->alibaba_dropped_deps, "dependency", "dependencies"));
    if (rep->alibaba_cyclic_jobs)
        fprintf(out, "%snote: skipped %zu %s whose dependencies form a cycle\n", prefix,
                rep->alibaba_cyclic_jobs, weft_plural(rep->alibaba_cyclic_jobs, "job", "jobs"));
    if (rep->alibaba_duplicate_jobs)
        fprintf(out, "%snote: skipped %zu %s a task number twice\n", prefix,
                rep->alibaba_duplicate_jobs,
                weft_plural(rep->alibaba_duplicate_jobs, "job that uses", "jobs that use"));
    if (rep->alibaba_skipped_tasks)
        fprintf(out, "%snote: left out %zu independent %s, and %zu %s no other task\n", prefix,
                rep->alibaba_skipped_tasks,
                weft_plural(rep->alibaba_skipped_tasks, "task", "tasks"),
                rep->alibaba_skipped_jobs,
                weft_plural(rep->alibaba_skipped_jobs, "job that had", "jobs that had"));
    if (rep->wf_zero_byte_edges)
        fprintf(out, "%snote: %zu stage %s no bytes; kept as dependencies only\n", prefix,
                rep->wf_zero_byte_edges,
                weft_plural(rep->wf_zero_byte_edges, "edge moves", "edges move"));
}

weft_err_t workload_require_jobs(const coflow_workload_t *wl, const char *path,
                                 const workload_read_report_t *rep)
{
    if (wl->n_jobs)
        return WEFT_OK;
    const char *name = workload_input_name(path);
    size_t cyclic = rep ? rep->alibaba_cyclic_jobs : 0,
           twice = rep ? rep->alibaba_duplicate_jobs : 0,
           taskless = rep ? rep->alibaba_skipped_jobs : 0, skipped = cyclic + twice + taskless;
    if (skipped == 0)
        return weft_fail(WEFT_EINVAL, "%s: no jobs, expected at least 1", name);
    char why[256] = "";
    size_t at = 0;
    if (cyclic)
        at += (size_t)snprintf(why + at, sizeof why - at, "%zu whose dependencies form a cycle",
                               cyclic);
    if (twice && at < sizeof why)
        at += (size_t)snprintf(why + at, sizeof why - at, "%s%zu that %s a task number twice",
                               at ? ", " : "", twice, twice == 1 ? "uses" : "use");
    if (taskless && at < sizeof why)
        snprintf(why + at, sizeof why - at,
                 "%s%zu with independent tasks only, which were left out", at ? ", " : "",
                 taskless);
    if (skipped == 1)
        return weft_fail(WEFT_EINVAL, "%s: no jobs: its only job was skipped (%s)", name, why);
    return weft_fail(WEFT_EINVAL, "%s: no jobs: all %zu jobs were skipped (%s)", name, skipped,
                     why);
}

static int cmp_id_line(const void *a, const void *b)
{
    const wl_id_line_t *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->line > y->line) - (x->line < y->line);
}

size_t wl_first_repeat(wl_id_line_t *ids, size_t n)
{
    if (n < 2)
        return 0;
    qsort(ids, n, sizeof *ids, cmp_id_line);
    for (size_t i = 1; i < n; i++)
        if (ids[i].id == ids[i - 1].id)
            return i;
    return 0;
}

weft_err_t wl_check_unique_ids(wl_id_line_t *ids, size_t n, const char *path, const char *what)
{
    size_t i = wl_first_repeat(ids, n);
    if (i)
        return weft_fail(WEFT_EINVAL, "%s:%zu: %s id %lld appears twice (lines %zu and %zu)",
                         path, ids[i].line, what, (long long)ids[i].id, ids[i - 1].line,
                         ids[i].line);
    return WEFT_OK;
}
