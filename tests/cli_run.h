/*
 * cli_run.h - running the `weft` program from a Criterion test: the binary
 * is $WEFT_BIN (ctest sets it), each run's stdout and stderr go to files
 * `out` and `err` of a fresh directory. Static functions: included by the
 * test files that need them, one copy each.
 */
#ifndef WEFT_TESTS_CLI_RUN_H
#define WEFT_TESTS_CLI_RUN_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_left.h"
#include "tied_child.h"

static char cli_dir[64];
static const char *cli_bin;

/* Reads WEFT_BIN and makes the run directory /tmp/weft-test-TAG-XXXXXX. */
__attribute__((unused)) static void cli_open(const char *tag)
{
    cli_bin = getenv("WEFT_BIN");
    snprintf(cli_dir, sizeof cli_dir, "/tmp/weft-test-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(cli_dir));
}

__attribute__((unused)) static void cli_teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cli_dir);
    cr_assert_eq(system(cmd), 0);
}

/* When nonzero, the size in 512-byte blocks past which cli()'s weft cannot
 * write a file (ulimit -f, SIGXFSZ ignored): the write fails with EFBIG, as
 * on a full disk. */
static unsigned cli_file_blocks;

/* Runs `weft ARGS` (a printf format: pass cli_dir for each %s that names
 * the run directory) from the current directory; its exit status, -1 if it
 * did not exit. */
static int cli(const char *args_fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int cli(const char *args_fmt, ...)
{
    char args[2048], cmd[4096], limit[64] = "";
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    if (cli_file_blocks)
        snprintf(limit, sizeof limit, "trap '' XFSZ; ulimit -f %u; ", cli_file_blocks);
    /* a regression that hangs ends here, not as a stray process */
    snprintf(cmd, sizeof cmd, "%stimeout 30 %s %s >%s/out 2>%s/err", limit, cli_bin, args,
             cli_dir, cli_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The contents of cli_dir/NAME ("" if missing), in one of two buffers, so
 * two can be compared. */
__attribute__((unused)) static const char *cli_file(const char *name)
{
    static char bufs[2][1 << 16];
    static int which;
    char *buf = bufs[which ^= 1];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(buf, 1, sizeof bufs[0] - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

__attribute__((unused)) static bool cli_exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    return access(path, F_OK) == 0;
}

/* Whether a temporary file of cli_dir/NAME (NAME.tmp-XXXXXX, beside it)
 * is left behind. */
__attribute__((unused)) static bool cli_temp_left(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    return temp_left_beside(path);
}

__attribute__((unused)) static void cli_write(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* `weft ARGS` on a pseudo-terminal (script(1), from util-linux): what it
 * wrote to the terminal (stdout and stderr, each newline as "\r\n") is
 * left in cli_dir/tty; returns its exit status. */
__attribute__((unused)) static int cli_tty(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 200 script -qec '%s %s' /dev/null >%s/tty 2>&1", cli_bin,
             args, cli_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The progress lines of `out` (text a terminal got), each "\r\033[K" then
 * `prefix`: every one ends where the next erase begins, with no newline
 * (rewritten in place); then either the last erase is followed by
 * `after` (the line wiped before what comes next), or, with kept_last,
 * the last line ends with a newline and `after` follows it. Returns how
 * many. */
__attribute__((unused)) static size_t lines_in_place(const char *out, const char *prefix,
                                                     bool kept_last, const char *after)
{
    static const char erase[] = "\r\033[K";
    char want[160];
    snprintf(want, sizeof want, "%s%s", erase, prefix);
    size_t n = 0;
    const char *rest = NULL; /* after the kept last line */
    for (const char *p = strstr(out, want); p; p = strstr(p, want)) {
        p += strlen(erase);
        const char *next = strstr(p, erase), *nl = strchr(p, '\n');
        if (kept_last && !strstr(p, want)) {
            cr_assert(nl && (!next || next > nl), "the last progress line is not kept: %s", p);
            rest = nl + 1;
        } else {
            cr_assert_not_null(next, "a progress line is never erased: %s", p);
            cr_assert(!nl || nl > next, "a progress line ends with a newline: %.*s",
                      (int)(nl ? nl - p : 0), p);
        }
        n++;
    }
    if (!kept_last) {
        rest = out;
        for (const char *e; (e = strstr(rest, erase));)
            rest = e + strlen(erase);
        if (rest == out)
            rest = NULL;
    }
    cr_assert(rest && !strncmp(rest, after, strlen(after)),
              "what follows the progress is not '%s': %s", after, out);
    return n;
}

/* Starts `weft ARGS` (as cli's, formatted already) in the background, its
 * stdout and stderr into cli_dir's `out` and `err`, or, with rd, into a
 * pipe whose read end (non-blocking) goes to *rd, as in `weft ... 2>&1 |
 * tee`; its process id (the shell execs it, so a signal sent there
 * reaches weft). SIGINT's action is the default, as in a foreground
 * command (a test run from a script's background job inherits it
 * ignored). */
__attribute__((unused)) static pid_t cli_start_to(const char *args, int *rd)
{
    char cmd[4096];
    int fds[2] = {-1, -1};
    if (rd) {
        cr_assert_eq(pipe(fds), 0);
        snprintf(cmd, sizeof cmd, "exec %s %s 2>&1", cli_bin, args);
    } else {
        snprintf(cmd, sizeof cmd, "exec %s %s >%s/out 2>%s/err", cli_bin, args, cli_dir,
                 cli_dir);
        /* gone at once, so that a wait for the run's output never reads the
           last run's before the shell has replaced it */
        char path[256];
        snprintf(path, sizeof path, "%s/out", cli_dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/err", cli_dir);
        unlink(path);
    }
    fflush(NULL);
    pid_t pid = fork_tied(SIGTERM); /* the shell execs weft, which keeps the tie */
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        if (rd) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (rd) {
        close(fds[1]);
        cr_assert_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
        *rd = fds[0];
    }
    return pid;
}

__attribute__((unused)) static pid_t cli_start(const char *args)
{
    return cli_start_to(args, NULL);
}

/* Whether process pid (cli_start's) has ended, left to be reaped. */
__attribute__((unused)) static bool cli_ended(pid_t pid)
{
    siginfo_t si = {0};
    cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
    return si.si_pid == pid;
}

/* Waits, polling every 10 ms, until cli_dir/NAME holds text or process pid
 * has ended, for at most `seconds`: whether the text came. */
__attribute__((unused)) static bool cli_wait_for(const char *name, const char *text, pid_t pid,
                                                double seconds)
{
    for (double waited = 0; waited < seconds; waited += 0.01) {
        if (strstr(cli_file(name), text))
            return true;
        if (cli_ended(pid))
            return strstr(cli_file(name), text) != NULL;
        usleep(10000);
    }
    return false;
}

/* Reaps process pid, waiting at most `seconds` (then killing it, and
 * failing); its wait status. */
__attribute__((unused)) static int cli_reap(pid_t pid, double seconds)
{
    int st;
    for (double waited = 0; waited < seconds; waited += 0.01) {
        pid_t got = waitpid(pid, &st, WNOHANG);
        cr_assert(got >= 0, "waitpid failed");
        if (got == pid)
            return st;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    cr_assert_fail("weft did not end in %g s: %s", seconds, cli_file("err"));
    return -1;
}

/* Skips a test run outside ctest, saying so. */
#define NEED_BIN()                                                                        \
    do {                                                                                  \
        if (!cli_bin) /* skipped, not passed: it checked nothing */                     \
            cr_skip_test("WEFT_BIN not set (run through ctest, or set it to build/weft)");  \
    } while (0)

#endif
