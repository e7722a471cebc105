/*
 * cli_util.c - what the subcommands share: option parsing with messages
 * naming the option, reading a list of workloads, drawing with gnuplot,
 * and finding the shipped model and data.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "coflow/learned.h"
#include "dag/dag.h"
#include "netsim/netsim.h"
#include "train/train.h"
#include "workload/workload.h"

bool cli_is_decimal(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int cli_parse_size_in(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                      size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool digits = cli_is_decimal(s);
    if (!digits || errno || v < min || v > max) {
        /* a number past the range says how far it may go, not only where
           it starts */
        bool over = digits && (errno == ERANGE || v > max);
        if (max == SIZE_MAX && !over)
            fprintf(stderr, "weft %s: %s '%s': expected an integer >= %zu\n", cmd, opt, s, min);
        else
            fprintf(stderr, "weft %s: %s '%s': expected an integer %zu..%zu\n", cmd, opt, s,
                    min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t *out)
{
    return cli_parse_size_in(cmd, opt, s, min, SIZE_MAX, out);
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!cli_is_decimal(s) || errno) {
        fprintf(stderr, "weft %s: %s '%s': expected an integer 0..%llu in decimal\n", cmd, opt,
                s, (unsigned long long)UINT64_MAX);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, bool strict,
                     double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < min || (strict && v == min)) {
        fprintf(stderr, "weft %s: %s '%s': expected a number %s %g\n", cmd, opt, s,
                strict ? ">" : ">=", min);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_port_cap(const char *cmd, const char *s, size_t *port, double *rate)
{
    const char *eq = strchr(s, '=');
    char *end;
    errno = 0;
    unsigned long long p = strtoull(s, &end, 10);
    if (!eq || end != eq || end == s || errno || s[0] < '0' || s[0] > '9' || p > SIZE_MAX) {
        fprintf(stderr, "weft %s: --port-cap '%s': expected PORT=RATE, e.g. 3=10Gbps\n", cmd, s);
        return -1;
    }
    if (netsim_parse_rate(eq + 1, rate)) {
        fprintf(stderr, "weft %s: --port-cap %s: %s\n", cmd, s, weft_last_error());
        return -1;
    }
    *port = (size_t)p;
    return 0;
}

int cli_read_workload(const char *cmd, coflow_workload_t *wl, const char *path,
                      workload_format_t fmt, const workload_read_opts_t *opts)
{
    workload_read_opts_t o;
    workload_read_report_t rep;
    if (opts)
        o = *opts;
    else
        workload_read_opts_default(&o);
    if (!o.report)
        o.report = &rep;
    weft_err_t err = workload_read(wl, path, fmt, &o);
    if (!err)
        err = workload_require_jobs(wl, path, o.report);
    if (err) {
        cli_report(cmd, err);
        coflow_workload_destroy(wl);
        coflow_workload_init(wl, 0);
        return -1;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "weft %s: ", cmd);
    workload_read_report_print(o.report, prefix, stderr);
    return 0;
}

int cli_read_workloads(const char *cmd, char *const *paths, size_t n, double port_rate,
                       coflow_workload_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (cli_read_workload(cmd, &out[i], paths[i], WORKLOAD_FORMAT_AUTO, NULL)) {
            for (size_t k = 0; k < i; k++)
                coflow_workload_destroy(&out[k]);
            return -1;
        }
        coflow_fabric_t fab = {0};
        weft_err_t err = coflow_fabric_init(&fab, out[i].n_ports, port_rate);
        if (!err)
            err = dag_analyze(&out[i], &fab);
        if (!err)
            err = netsim_check_clock(&out[i], &fab);
        coflow_fabric_destroy(&fab);
        if (err) {
            weft_wrap(err, "%s: ", workload_input_name(paths[i])); /* which of them */
            cli_report(cmd, err);
            for (size_t k = 0; k <= i; k++)
                coflow_workload_destroy(&out[k]);
            return -1;
        }
    }
    return 0;
}

int cli_next_option(int argc, char *const *argv, const struct option *longopts, char *name,
                    size_t len)
{
    int li = -1; /* set by getopt_long only for a long option it took */
    int ch = getopt_long(argc, argv, ":h", longopts, &li);
    if (ch == -1)
        return ch;
    if (li >= 0)
        snprintf(name, len, "--%s", longopts[li].name);
    else
        snprintf(name, len, "%s", argv[optind - 1]);
    return ch;
}

/* The long option that name (without its "--", up to a '=') picks: an
 * exact match, else the only one it begins; NULL if none, and *ambiguous
 * set when it begins several. */
static const struct option *long_option_named(const struct option *longopts, const char *name,
                                              bool *ambiguous)
{
    size_t len = strcspn(name, "=");
    const struct option *found = NULL;
    size_t n_found = 0;
    for (const struct option *o = longopts; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        if (strlen(o->name) == len) {
            *ambiguous = false;
            return o;
        }
        found = o;
        n_found++;
    }
    *ambiguous = n_found > 1;
    return n_found == 1 ? found : NULL;
}

void cli_bad_option(const char *cmd, int ch, const struct option *longopts, char *const *argv)
{
    const char *arg = argv[optind - 1];
    bool is_long = !strncmp(arg, "--", 2), ambiguous = false;
    const struct option *lo = is_long ? long_option_named(longopts, arg + 2, &ambiguous) : NULL;
    int len = is_long ? (int)strcspn(arg, "=") : 0;
    if (ch == ':') { /* the option was the last argument: arg is it */
        if (is_long)
            fprintf(stderr, "weft %s: option '%.*s' needs a value\n", cmd, len, arg);
        else
            fprintf(stderr, "weft %s: option '-%c' needs a value\n", cmd, optopt);
    } else if (optopt == 0) { /* a long option getopt did not find, or found several of */
        fprintf(stderr, "weft %s: %s option '%.*s'\n", cmd, ambiguous ? "ambiguous" : "unknown",
                len, arg);
    } else if (lo && lo->has_arg == no_argument && lo->val == optopt && arg[len] == '=') {
        /* --check=1; a good option before an unknown short one never
           looks so, since it took no value */
        fprintf(stderr, "weft %s: option '--%s' takes no value\n", cmd, lo->name);
    } else {
        fprintf(stderr, "weft %s: unknown option '-%c'\n", cmd, optopt);
    }
}

void cli_usage_hint(const char *cmd, void (*usage)(FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        usage(m);
        fclose(m);
    }
    /* the synopsis: up to the blank line after it, else the first line */
    const char *end = text ? strstr(text, "\n\n") : NULL;
    size_t n = !text ? 0 : end ? (size_t)(end - text) : strcspn(text, "\n");
    if (n)
        fprintf(stderr, "%.*s\n", (int)n, text);
    fprintf(stderr, "(weft %s --help lists every option)\n", cmd);
    free(text);
}

int cli_one_file(const char *cmd, const char *kind, int argc, void (*usage)(FILE *))
{
    if (argc - optind == 1)
        return 0;
    if (argc - optind == 0)
        fprintf(stderr, "weft %s: which file? give one %s file\n", cmd, kind);
    else
        fprintf(stderr, "weft %s: one %s file at a time\n", cmd, kind);
    cli_usage_hint(cmd, usage);
    return -1;
}

void cli_gp_quote(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\%03o", ch); /* octal: gnuplot reads it back as the byte */
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

int cli_check_plot_name(const char *cmd, const char *opt, const char *file)
{
    const char *ext = strrchr(file, '.');
    if (ext && (!strcmp(ext, ".png") || !strcmp(ext, ".svg")))
        return 0;
    fprintf(stderr, "weft %s: %s '%s': expected a file name ending in .png or .svg\n", cmd, opt,
            file);
    return -1;
}

int cli_check_name(const char *cmd, const char *opt, const char *value, const char *what)
{
    if (*value)
        return 0;
    fprintf(stderr, "weft %s: %s '': expected %s %s name\n", cmd, opt,
            strchr("aeiou", what[0]) ? "an" : "a", what);
    return -1;
}

bool cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cli_output_not_input(const char *cmd, const char *opt, const char *out,
                         char *const *in, size_t n, const char *what)
{
    for (size_t i = 0; out && strcmp(out, "-") && i < n; i++)
        if (strcmp(in[i], "-") && (!strcmp(out, in[i]) || cli_same_file(out, in[i]))) {
            fprintf(stderr, "weft %s: %s '%s' is the %s '%s' given: the output would "
                    "replace it\n", cmd, opt, out, what, in[i]);
            return -1;
        }
    return 0;
}

int cli_output_not_read(const char *cmd, const char *opt, const char *out,
                        const char *const reads[][2], size_t n)
{
    for (size_t i = 0; out && i < n; i++)
        if (reads[i][1] &&
            cli_output_not_input(cmd, opt, out, (char *const *)&reads[i][1], 1, reads[i][0]))
            return -1;
    return 0;
}

/* file's directory ("dir/" as given, "." for none) into parent[len]; its
 * last name returned. */
static const char *split_parent(const char *file, char *parent, size_t len)
{
    const char *slash = strrchr(file, '/');
    snprintf(parent, len, "%.*s", slash ? (int)(slash - file) + 1 : 1, slash ? file : ".");
    return slash ? slash + 1 : file;
}

bool cli_file_in_dir(const char *file, const char *dir, const char *const *names, size_t n)
{
    char parent[4096];
    const char *base = split_parent(file, parent, sizeof parent);
    if (!cli_same_file(parent, dir))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(base, names[i]))
            return true;
    return false;
}

bool cli_same_output(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    if (!strcmp(a, b) || cli_same_file(a, b))
        return true;
    char dir[4096];
    const char *base = split_parent(b, dir, sizeof dir);
    return cli_file_in_dir(a, dir, &base, 1);
}

int cli_check_writable(const char *cmd, const char *file)
{
    /* What the try creates, to remove again: file, or for a link to
     * nothing yet the file its links end at (where weft_save_file and
     * cli_gnuplot write; unlinking file took the link and left that) */
    char *made = NULL;
    struct stat sb;
    if (stat(file, &sb) != 0 && weft_link_target(file, &made)) {
        fprintf(stderr, "weft %s: cannot write '%s': %s\n", cmd, file, weft_last_error());
        return -1;
    }
    FILE *f = fopen(made ? made : file, "a"); /* creates it, but truncates nothing */
    if (!f) {
        fprintf(stderr, "weft %s: cannot write '%s': %s\n", cmd, file, strerror(errno));
        free(made);
        return -1;
    }
    fclose(f);
    if (made)
        unlink(made);
    free(made);
    return 0;
}

/* Whether the first i of dir's n bytes name a directory mkdir -p makes:
 * a prefix ending before a '/' (the first of a run of them), or the whole. */
static bool dir_prefix_end(const char *dir, size_t n, size_t i)
{
    return i == n || (i > 0 && dir[i] == '/' && dir[i - 1] != '/');
}

int cli_make_dirs(const char *cmd, const char *opt, const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        fprintf(stderr, "weft %s: %s '%s': expected a directory name of 1 to %zu bytes\n", cmd,
                opt, dir, sizeof path - 1);
        return -1;
    }
    memcpy(path, dir, n + 1);
    /* each prefix ending before a '/', then the whole name: mkdir -p */
    for (size_t i = 1; i <= n; i++) {
        if (!dir_prefix_end(path, n, i))
            continue;
        char keep = path[i];
        path[i] = '\0';
        struct stat sb;
        int made = mkdir(path, 0777) == 0 ? 0 : errno;
        if (made && made != EEXIST) {
            fprintf(stderr, "weft %s: %s: cannot create directory '%s': %s\n", cmd, opt, path,
                    strerror(made));
            return -1;
        }
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "weft %s: %s: '%s' exists and is not a directory\n", cmd, opt,
                    path);
            return -1;
        }
        path[i] = keep;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "weft %s: %s: cannot write into '%s': %s\n", cmd, opt, dir,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether dir has a component "." or "..": a prefix past it may name a
 * directory that existed (new/../keep is keep), which no undo may take. */
static bool has_dot_component(const char *dir)
{
    for (const char *c = dir; *c;) {
        size_t len = strcspn(c, "/");
        if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return true;
        c += len + (c[len] == '/');
    }
    return false;
}

size_t cli_dirs_missing(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n >= sizeof path || has_dot_component(dir))
        return 0;
    memcpy(path, dir, n + 1);
    struct stat sb;
    for (size_t i = 1; i <= n; i++) {
        if (!dir_prefix_end(dir, n, i))
            continue;
        path[i] = '\0';
        bool missing = stat(path, &sb) != 0;
        path[i] = dir[i];
        if (missing)
            return i;
    }
    return 0;
}

void cli_unmake_dirs(const char *dir, size_t from)
{
    char path[4096];
    size_t n = strlen(dir);
    if (from == 0 || n >= sizeof path)
        return;
    memcpy(path, dir, n + 1);
    /* deepest first; "a/b/" names "a/b" twice, so one already gone is passed */
    for (size_t i = n; i >= from; i--) {
        if (!dir_prefix_end(dir, n, i))
            continue;
        path[i] = '\0';
        if (rmdir(path) != 0 && errno != ENOENT)
            return;
    }
}

/* ^C, SIGTERM or SIGHUP during a long run (minutes of weft sim on a large
 * trace) left the --out directories made for it behind, empty. Caught
 * where they would end weft, they go as after a failure, and the signal
 * is handed on to the action before (weft_save_file's, or the default)
 * and ends weft as it would have. The file half written goes first:
 * removed only by the action handed on to, it kept its directory from
 * going (a signal during sim's --scores run or its first result file
 * left --out). */
static const int unmake_signals[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction unmake_old[3];
static const char *unmake_dir;
static size_t unmake_from;

static void unmake_and_resend(int sig)
{
    weft_save_remove_partial();
    cli_unmake_dirs(unmake_dir, unmake_from); /* strlen, memcpy, rmdir: signal-safe */
    for (size_t i = 0; i < 3; i++)
        if (unmake_signals[i] == sig)
            sigaction(sig, &unmake_old[i], NULL);
    raise(sig); /* pending until this handler returns */
}

void cli_unmake_on_signals(const char *dir, size_t from)
{
    if (!from)
        return; /* nothing made */
    unmake_dir = dir;
    unmake_from = from;
    weft_save_signals(); /* the action handed on to */
    struct sigaction sa = {.sa_handler = unmake_and_resend};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 3; i++)
        if (sigaction(unmake_signals[i], NULL, &unmake_old[i]) == 0 &&
            unmake_old[i].sa_handler != SIG_IGN) /* a background job's ^C stays ignored */
            sigaction(unmake_signals[i], &sa, NULL);
}

/* A SIGPIPE came while cli_pipe_hold held it off (lock-free: the handler
 * may run on any thread). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler uses only lock-free atomics");
static _Atomic int pipe_noted;

static void note_pipe(int sig)
{
    (void)sig;
    atomic_store(&pipe_noted, 1);
}

bool cli_pipe_hold(struct sigaction *old)
{
    struct sigaction note = {.sa_handler = note_pipe, .sa_flags = SA_RESTART};
    sigemptyset(&note.sa_mask);
    atomic_store(&pipe_noted, 0);
    return sigaction(SIGPIPE, NULL, old) == 0 && old->sa_handler != SIG_IGN &&
           sigaction(SIGPIPE, &note, NULL) == 0;
}

void cli_flush_stdout(void)
{
    if (fflush(stdout) != 0)
        cli_stdout_flush_failed(errno);
}

void cli_pipe_release(bool held, const struct sigaction *old)
{
    cli_flush_stdout();
    if (held) {
        sigaction(SIGPIPE, old, NULL);
        if (atomic_load(&pipe_noted))
            raise(SIGPIPE);
    }
}

int cli_gnuplot(const char *cmd, const char *file, cli_plot_fn script, const void *arg)
{
    /* gnuplot that cannot open its output draws on stdout instead */
    if (cli_check_writable(cmd, file))
        return -1;
    /* A regular file or a new one is drawn into a new FILE.tmp-XXXXXX
     * beside what a link leads to (made here, so gnuplot opens a file of
     * weft's and nothing planted there), and renamed over it once drawn, so
     * a failed drawing leaves what was there (gnuplot empties its output
     * when it opens it); a device or FIFO is drawn into as it is. A signal
     * that ends weft while gnuplot draws removes it (weft_save_file's
     * handler), and gnuplot opens it through weft's descriptor, which it
     * inherits: by its name, gnuplot made it again once removed, and left
     * it there, whole. */
    struct stat sb;
    char *target = NULL, *tmp = NULL;
    const char *out = file;
    char fd_name[32];
    int fd = -1, slot = -1;
    if (stat(file, &sb) != 0 || S_ISREG(sb.st_mode)) {
        if (weft_link_target(file, &target)) {
            fprintf(stderr, "weft %s: cannot draw '%s': %s\n", cmd, file, weft_last_error());
            return -1;
        }
        fd = weft_tmp_create_tracked(target, O_WRONLY, 0666, &tmp, &slot);
        if (fd < 0 || fcntl(fd, F_SETFD, 0) != 0) {
            fprintf(stderr, "weft %s: cannot draw '%s': cannot create a file beside it: %s\n",
                    cmd, file, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            weft_tmp_untrack(slot);
            free(tmp);
            free(target);
            return -1;
        }
        snprintf(fd_name, sizeof fd_name, "/dev/fd/%d", fd);
        out = fd_name;
    }
    const char *ext = strrchr(file, '.');
    bool svg = ext && !strcmp(ext, ".svg");
    /* pngcairo draws better; plain png (libgd) is the fallback, and only the
       last try's complaints are shown */
    const char *terms[2] = {svg ? "svg dynamic" : "pngcairo", svg ? NULL : "png"};
    int status = -1;
    bool missing = false;
    /* a shell that found no gnuplot exits unread: writing to it would
       raise SIGPIPE and end weft with its table unprinted and this file
       left, so the write fails instead and pclose tells why */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    for (int k = 0; k < 2 && terms[k]; k++) {
        bool last = k == 1 || !terms[k + 1];
        FILE *gp = popen(last ? "gnuplot >/dev/null" : "gnuplot >/dev/null 2>&1", "w");
        if (!gp) {
            missing = true;
            break;
        }
        fprintf(gp, "set terminal %s size 960,600\n" CLI_GP_PLAIN_TEXT "set output ", terms[k]);
        cli_gp_quote(gp, out);
        fputc('\n', gp);
        script(gp, arg);
        fputs("\nunset output\n", gp);
        status = pclose(gp);
        if (status == 0)
            break;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            missing = true; /* the shell found no gnuplot */
            break;
        }
    }
    sigaction(SIGPIPE, &old_pipe, NULL);
    if (target) {
        close(fd);
        if (status == 0 && rename(tmp, target) != 0) {
            fprintf(stderr, "weft %s: cannot rename '%s' over '%s': %s\n", cmd, tmp, target,
                    strerror(errno));
            status = -2;
        }
        if (status != 0)
            unlink(tmp);
        weft_tmp_untrack(slot);
        free(target);
        free(tmp);
    }
    if (status == 0)
        return 0;
    if (status == -2)
        return -1;
    if (missing)
        fprintf(stderr, "weft %s: cannot draw '%s': gnuplot could not be run (is it "
                "installed?)\n", cmd, file);
    else if (status != -1 && WIFEXITED(status))
        fprintf(stderr, "weft %s: gnuplot failed to draw '%s' (exit status %d)\n", cmd, file,
                WEXITSTATUS(status));
    else
        fprintf(stderr, "weft %s: gnuplot failed to draw '%s'\n", cmd, file);
    return -1;
}

static bool exists_as(const char *p, bool want_dir)
{
    struct stat sb;
    return stat(p, &sb) == 0 && (want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
}

/* The directories shipped files are looked for in, into dirs[0..); their
 * number. */
#define SHIPPED_MAX 4
static size_t shipped_dirs(char dirs[SHIPPED_MAX][PATH_MAX])
{
    size_t n = 0;
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        /* build/weft -> ./; bin/weft -> share/weft/; next to it */
        const char *rel[] = {"/..", "/../share/weft", ""};
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
            snprintf(dirs[n++], PATH_MAX, "%s%s", exe, rel[i]);
    }
#ifdef WEFT_SOURCE_DIR
    snprintf(dirs[n++], PATH_MAX, "%s", WEFT_SOURCE_DIR);
#endif
    return n;
}

const char *cli_find_shipped(const char *rel, bool want_dir, char *buf, size_t len)
{
    char dirs[SHIPPED_MAX][PATH_MAX];
    size_t n = shipped_dirs(dirs);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, len, "%s/%s", dirs[i], rel);
        if (exists_as(buf, want_dir))
            return buf;
    }
    return NULL;
}

static void shipped_places(const char *rel, char *buf, size_t len)
{
    char dirs[SHIPPED_MAX][PATH_MAX];
    size_t n = shipped_dirs(dirs), at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        int w = snprintf(buf + at, len - at, "%s%s/%s", i ? ", " : "", dirs[i], rel);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

const char *cli_find_default(const char *cmd, const char *rel, bool want_dir, const char *opt,
                             char *buf, size_t len)
{
    if (exists_as(rel, want_dir)) {
        snprintf(buf, len, "%s", rel);
        return buf;
    }
    if (cli_find_shipped(rel, want_dir, buf, len))
        return buf;
    char places[4 * PATH_MAX];
    shipped_places(rel, places, sizeof places);
    fprintf(stderr, "weft %s: no %s found: looked in the current directory and at %s; %s "
            "picks %s\n", cmd, rel, places, opt, want_dir ? "the files" : "a file");
    return NULL;
}

const char *cli_default_model(char *buf, size_t len, const char **origin)
{
    const char *env = getenv("WEFT_MODEL");
    if (origin)
        *origin = env && *env ? "$WEFT_MODEL" : "the shipped model";
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    return cli_find_shipped("models/" CLI_MODEL_NAME, false, buf, len);
}

weft_err_t cli_load_model(const char *cmd, const char *path, const char *origin,
                          coflow_learned_model_t *m)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_err_t err = coflow_learned_model_read(m, &mf, path);
    if (!err)
        cli_note_checkpoint(cmd, origin, path, &mf);
    attn_model_destroy(&mf);
    return err;
}

void cli_note_checkpoint(const char *cmd, const char *origin, const char *path,
                         const attn_model_file_t *mf)
{
    /* a checkpoint loads as a model, and may be meant (a look at a run
       under way), but its parameters are the last iteration's, not the
       best, which a run writes beside it */
    if (!train_file_is_checkpoint(mf))
        return;
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    fprintf(stderr, "weft %s: note: %s %s is a training checkpoint: its last iteration's "
            "parameters are used, not the best; its run writes %.*sbest.msgpack (best "
            "validation, with --val) and %.*sfinal.msgpack (at its end)\n", cmd, origin,
            path, dir, path, dir, path);
}

bool cli_check_model(const char *cmd, const char *path, const char *origin)
{
    coflow_learned_model_t m;
    weft_clear_error();
    weft_err_t err = cli_load_model(cmd, path, origin, &m);
    coflow_learned_model_destroy(&m);
    if (!err)
        return true;
    cli_report_option(cmd, origin, err); /* the loader's message names the path already */
    return false;
}

int cli_add_policy(const char *cmd, const char *arg, const char **list, size_t *n, size_t max)
{
    const coflow_ordering_t *const *ords = coflow_orderings();
    bool all = !strcmp(arg, "all");
    for (size_t i = 0; all ? ords[i] != NULL : i < 1; i++) {
        if (*n == max) {
            fprintf(stderr, "weft %s: at most %zu policies\n", cmd, max);
            return -1;
        }
        list[(*n)++] = all ? ords[i]->name : arg;
    }
    return 0;
}

void cli_note_order_blind(const char *cmd, const char *const *specs,
                          const coflow_allocator_t *const *allocs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const coflow_allocator_t *a = allocs[i];
        if (!a || !(a->per_pair_fair || a->per_pair_srf))
            continue;
        bool noted = false; /* at its first run */
        for (size_t k = 0; k < i; k++)
            noted = noted || allocs[k] == a;
        if (noted)
            continue;
        size_t count = 0;
        for (size_t k = i; k < n; k++)
            count += allocs[k] == a;
        if (count < 2)
            continue;
        fprintf(stderr, "weft %s: note: the %s allocator ignores the coflow order, so ",
                cmd, a->name);
        for (size_t k = 0, said = 0; k < n; k++) {
            if (allocs[k] != a)
                continue;
            said++;
            fprintf(stderr, "%s'%s'", said == 1 ? "" : said == count ? " and " : ", ",
                    specs[k]);
        }
        fprintf(stderr, " run the same schedule\n");
    }
}
