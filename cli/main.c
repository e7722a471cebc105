/*
 * main.c - `weft CMD ...`: dispatch to a subcommand. Every capability lives
 * in the library; the subcommands only parse options and print.
 */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "common/weft.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"sim", cmd_sim, "replay a workload on the emulated fabric under one or more policies"},
    {"gen", cmd_gen, "generate a multi-stage workload from real traces"},
    {"inspect", cmd_inspect, "summarise a workload: jobs, coflows, bytes, DAG shapes, load"},
    {"convert", cmd_convert, "convert a trace to weft's workload format"},
    {"serve", cmd_serve, "run the live gateway: online scheduling for real transfers"},
    {"agent", cmd_agent, "move a port's real bytes at the rates the gateway assigns"},
    {"submit", cmd_submit, "register a workload's jobs with the gateway and time them"},
    {"cancel", cmd_cancel, "cancel jobs registered with the gateway"},
    {"status", cmd_status, "show a running gateway's agents, jobs and counters"},
    {"train", cmd_train, "train the learned policy in the emulator"},
    {"eval", cmd_eval, "compare the learned policy with every heuristic over many workloads"},
    {"model", cmd_model, "check a model file as the commands load it; rewrite it with -o"},
    {"journal", cmd_journal, "check a gateway journal as weft serve reads it, unchanged"},
    {"version", cmd_version, "weft's version and commit, its formats and libraries (--version)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: weft COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-9s %s\n", "help", "this list; `weft COMMAND --help` for one command");
}

void cli_report_option(const char *cmd, const char *opt, int err)
{
    const char *detail = weft_last_error();
    fprintf(stderr, "weft %s: %s%s%s%s%s\n", cmd, opt ? opt : "", opt ? ": " : "",
            weft_strerror((weft_err_t)err), *detail ? ": " : "", detail);
}

void cli_report(const char *cmd, int err) { cli_report_option(cmd, NULL, err); }

static bool stdout_failure_reported;
static bool stdout_closed_at_start;

/* A descriptor 0, 1 or 2 closed at start (`>&-`, a careless supervisor) was
 * the next one opened: in weft serve, fd 1 became its epoll descriptor and
 * fd 2 libevent's signal pipe, into which -v's log lines went, and could as
 * well be the journal or a peer's socket. Each is held by /dev/null opened
 * the other way round, so that writes to standard output or error still
 * fail (EBADF) as they did, and nothing else takes its number. */
static void hold_closed_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int held = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY); /* the lowest free */
        if (held > fd)
            close(held); /* cannot be: every lower one is open */
        stdout_closed_at_start |= fd == 1 && held == fd;
    }
}

void cli_stdout_failure_reported(void) { stdout_failure_reported = true; }

static int stdout_flush_errno; /* cli_stdout_flush_failed's */

void cli_stdout_flush_failed(int err) { stdout_flush_errno = err; }

/* What a command printed to standard output is only known written once it
 * is flushed: a full disk or a closed pipe behind `> FILE` must not end in
 * status 0 with the table or report lost. Said once: not again when the
 * command named the failed write itself (convert, gen). */
static int flush_stdout(const char *cmd, int status)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return status;
    if (!errno)
        errno = stdout_flush_errno;
    if (stdout_failure_reported)
        return status == CLI_OK ? CLI_ERROR : status;
    fprintf(stderr, "weft %s: writing standard output: %s\n", cmd,
            errno                    ? strerror(errno)
            : stdout_closed_at_start ? "it was closed when weft started"
                                     : "write error");
    return status == CLI_OK ? CLI_ERROR : status;
}

/* OpenBLAS's (pthreads build) own: ends its worker threads. Weak, as
 * other builds of the library do not have it. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

int main(int argc, char **argv)
{
    /* weft's matrices are small (a row per schedulable coflow, 16 to 64
     * columns) and its parallelism is its own (policies, episodes,
     * workloads on threads of their own): OpenBLAS's worker threads
     * gained nothing there, and after each call spun on sched_yield on
     * the other core, where `weft sim` runs the next policy
     * (docs/performance.md, OpenBLAS's threads). The library starts them before main, and they spin
     * for about 0.1 s even unused, so they are ended here; with one
     * thread OpenBLAS never starts them again. OPENBLAS_NUM_THREADS,
     * when set, still decides. */
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        /* Under an address-space limit (ulimit -v, as clusters set), the
         * workers' buffers take room the run needs, and a worker whose
         * buffer did not fit never ends: the join below hung weft before
         * it said a word (and at exit, where OpenBLAS joins them too).
         * weft then runs itself again with one thread asked for, so that
         * OpenBLAS starts none; the second run has the variable set. */
        struct rlimit as;
        bool limited = getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
        if (limited && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0)
            execv("/proc/self/exe", argv); /* returns only if it failed: go on, unjoined */
        openblas_set_num_threads(1);
        if (blas_thread_shutdown_ && !limited)
            blas_thread_shutdown_();
    }
    /* A file grown past the size limit (ulimit -f, systemd's LimitFSIZE)
     * killed weft with SIGXFSZ: weft serve vanished mid-run, its journal
     * write unreported. Ignored, the write fails with EFBIG, which every
     * writer reports by name, as it reports a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    hold_closed_standard_fds();
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        name = "version";
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2) {
            for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return flush_stdout(argv[2], commands[i].run(2, hargv));
                }
            fprintf(stderr, "weft: unknown command '%s'\n", argv[2]);
            usage(stderr);
            return CLI_USAGE;
        }
        usage(stdout);
        return flush_stdout("help", CLI_OK);
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, name)) {
            /* argv[0] names the command as every message starts ("weft
               serve"), should getopt ever print one of its own (every
               command sets opterr 0 and says it in weft's words) */
            char prog[32];
            snprintf(prog, sizeof prog, "weft %s", commands[i].name);
            argv[1] = prog;
            return flush_stdout(name, commands[i].run(argc - 1, argv + 1));
        }
    fprintf(stderr, "weft: unknown command '%s'\n", name);
    usage(stderr);
    return CLI_USAGE;
}
