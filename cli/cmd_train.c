/*
 * cmd_train.c - `weft train`: trains the learned ordering (train/) on a
 * pool of workload files, validates on fixed ones, keeps the best model,
 * writes checkpoints, a CSV log and a learning-curve plot, and shows a live
 * progress line on a terminal. Option parsing and printing only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_util.h"
#include "train/train.h"

/* The heuristics a learned model must beat (each with its paper's allocator). */
static const char *const heuristics[] = {"fifo", "scf",       "ncf", "lcf",   "sebf",
                                         "aalo", "sincronia", "wcp", "jsebf",
                                         "jsebf-cp", NULL};

static void usage(FILE *out)
{
    train_config_t d;
    train_config_default(&d);
    fprintf(out,
            "usage: weft train [options] TRAIN_WORKLOAD...\n"
            "\n"
            "Trains the learned policy in the emulator: imitation of a teacher heuristic,\n"
            "then DAgger, then REINFORCE with several rollouts per arrival sequence (see\n"
            "docs/training.md, How it trains). Episodes are windows of consecutive jobs, by\n"
            "arrival, of the training workloads (weft gen output). Deterministic for a seed\n"
            "and the inputs, whatever --threads.\n"
            "\n"
            "output (in --out DIR): checkpoint.msgpack (every --checkpoint-every iterations\n"
            "and at the end), best.msgpack (the model with the best validation so far),\n"
            "final.msgpack, train.csv (one row per iteration), learning-curve.png (the\n"
            "validation and imitation ratios; none when neither has a point). A resumed run\n"
            "writes best.msgpack from the checkpoint and keeps train.csv's rows up to the\n"
            "checkpoint's iteration (rows written after it by an interrupted run are\n"
            "dropped); with another --out they come from the train.csv next to the\n"
            "checkpoint. A new run, or one resumed from another checkpoint, into an --out\n"
            "whose checkpoint is an unfinished run's is refused (--resume it, or remove it).\n"
            "A run locks --out: a second one into it while the first goes on is refused.\n"
            "A run writes nothing into --out before its first iteration is done, so one that\n"
            "fails at once leaves the files there as they were; then it replaces them all,\n"
            "the other run's checkpoint, final model and plot included.\n"
            "\n"
            "Ctrl-C (SIGINT), SIGTERM, SIGHUP (a closed terminal or ssh session) or SIGPIPE\n"
            "(the reader of its output gone: weft train ... | head) stops the run at the end\n"
            "of its iteration: it writes the checkpoint at that iteration (its train.csv row\n"
            "is written already) and says which --resume continues it; a second one stops\n"
            "it at once. Before the first iteration (the heuristics' runs on --val) it stops\n"
            "after the heuristic it is running, leaving --out as it was.\n"
            "\n"
            "exit status: 0 success, 1 error, 2 usage error; a run stopped by SIGINT, SIGTERM,\n"
            "SIGHUP or SIGPIPE dies of it once its checkpoint is written (a shell reports 130,\n"
            "143, 129 or 141, and a script running it stops as at any Ctrl-C)\n"
            "\n"
            "options:\n"
            "  --out DIR             output directory (default train-out)\n"
            "  --model-out FILE      also copy the best model here at the end (checked\n"
            "                        writable before the first iteration)\n"
            "  --val FILE            a validation workload (repeatable); the best model is\n"
            "                        the one with the lowest mean of avg weighted JCT over\n"
            "                        the best heuristic's on each validation workload\n"
            "                        (one file: a note names the workloads after it that\n"
            "                        look like its glob's, --val v*.weft, which train)\n"
            "  --validate-every N    iterations between validations (default 5; a resume of\n"
            "                        a run with --val must repeat it)\n"
            "  --checkpoint-every N  iterations between checkpoints (default 5)\n"
            "  --resume FILE         continue from a checkpoint (same seed, settings,\n"
            "                        training and --val workloads; --iters may grow unless\n"
            "                        --lr-rl-end; without imitation or DAgger, --teacher,\n"
            "                        --lr-imitate and --topk may differ), into its --out\n"
            "                        or another\n"
            "  --init FILE           start from this model instead of random parameters;\n"
            "                        a residual keeps its own priors (no --prior then);\n"
            "                        not a model in --out that the run replaces\n"
            "  --iters N             iterations in all (default %zu)\n"
            "  --imitate N           imitation iterations first (default %zu), at most --iters\n"
            "  --dagger N            DAgger iterations next (default %zu), at most --iters;\n"
            "                        REINFORCE after\n"
            "  --teacher NAME        heuristic imitated (default %s)\n"
            "  --episodes N          arrival sequences per iteration (default %zu)\n"
            "  --rollouts K          REINFORCE rollouts per sequence, >= 2 (default %zu);\n"
            "                        N x K at most %d\n"
            "  --jobs-min N          curriculum: jobs per episode at first (default %zu)\n"
            "  --jobs-max N          ... growing to this (default %zu)\n"
            "  --curriculum N        ... over N iterations (default %zu)\n"
            "  --lr-imitate X        Adam learning rate, imitation and DAgger (default %g)\n"
            "  --lr-rl X             Adam learning rate, REINFORCE (default %g)\n"
            "  --lr-rl-end X         ... decaying linearly to X at the last iteration\n"
            "                        (default 0: constant)\n"
            "  --topk K              imitation fits the teacher's first K picks, and its\n"
            "                        order of jobs (default %zu)\n"
            "  --clip X              gradient norm bound (default %g)\n"
            "  --entropy X           entropy bonus at the first REINFORCE iteration (default %g)\n"
            "  --entropy-decay X     its factor per iteration, in (0, 1] (default %g)\n"
            "  --no-differential     plain returns instead of differential rewards\n"
            "  --allocator NAME      rate allocation in training and validation (default %s;\n"
            "                        not in the model file: run it as learned:NAME)\n"
            "  --prior X             residual of the teacher: the score is the network's plus\n"
            "                        X * -log(job remaining work / weight) (jsebf's key), the\n"
            "                        score head starting at zero, so training starts at\n"
            "                        jsebf's order (default 0: the network alone; else\n"
            "                        from 1.2e-38 to 1e30, as --prior-path)\n"
            "  --prior-path X        with --prior: the score also gets X * log(the coflow's\n"
            "                        remaining path), preferring inside a job the coflow\n"
            "                        that gates the longest chain, as jsebf-cp (default 0)\n"
            "  --seed S              seed of everything (default %llu)\n"
            "  --threads N           rollout threads (default: all cores; 1..1024)\n"
            "  -h, --help            this text\n",
            d.iterations, d.imitate_iters, d.dagger_iters, d.teacher, d.episodes, d.rollouts,
            TRAIN_MAX_RUNS, d.jobs_min, d.jobs_max, d.curriculum_iters, d.lr_imitate, d.lr_rl,
            d.imitate_topk, d.clip, d.entropy, d.entropy_decay, d.allocator,
            (unsigned long long)d.seed);
}

/* Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal or ssh session closed
 * under a run of hours) and SIGPIPE (the reader of its output gone, as
 * `weft train ... | head` leaves it: killed by the first write after, a
 * run lost every iteration since its last checkpoint) stop a run between
 * two iterations, with its checkpoint: stop_signal is the one that came
 * (0: none), read after each iteration. Caught from before the
 * heuristics' reference runs on --val (minutes on a large one), which it
 * stops between two heuristics: killed there, a run left the --out it had
 * made. The first restores the actions
 * they had before (cli_unmake_on_signals': a half-written FILE.tmp and the
 * --out made while still empty removed, then the default), so a second
 * stops the run at once. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define N_STOP_SIGNALS (sizeof stop_signals / sizeof *stop_signals)
static struct sigaction stop_old[N_STOP_SIGNALS];
static bool stop_caught[N_STOP_SIGNALS];
/* Atomics, not volatile sig_atomic_t: the handler may run on another
 * thread than the one reading or writing them (OpenBLAS's workers can take
 * a signal), and C11 orders a volatile access only within one thread. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler uses only lock-free atomics");
static _Atomic int stop_signal;
static _Atomic int stop_iterating; /* 1 once the first iteration began */
static bool stop_tty; /* the notes start on a line of their own, below the progress */

/* Puts back the actions stop_catch replaced. Async-signal-safe. */
static void stop_release(void)
{
    for (size_t i = 0; i < N_STOP_SIGNALS; i++)
        if (stop_caught[i])
            sigaction(stop_signals[i], &stop_old[i], NULL);
}

static void on_stop(int sig)
{
    int saved = errno;
    stop_signal = sig;
    stop_release();
    /* A Ctrl-C reaches a whole pipeline (weft train | tee log): with its
       reader gone, the note below or the iteration's output would die of
       SIGPIPE before the checkpoint. Their writes fail quietly instead. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);
    static const char iterating[] = "\nweft train: stopping after this iteration, with its "
                                    "checkpoint (again: at once)\n",
                      starting[] = "\nweft train: stopping before the first iteration, "
                                   "leaving --out as it was (again: at once)\n";
    const char *note = stop_iterating ? iterating : starting;
    note += !stop_tty;
    if (write(STDERR_FILENO, note, strlen(note)) < 0) {
        /* nothing to do about a stderr that is gone */
    }
    errno = saved;
}

/* Catches SIGINT, SIGTERM and SIGHUP, except where they are ignored (a
 * background job of a shell without job control is started with SIGINT
 * ignored, and should stay deaf to the terminal's Ctrl-C; nohup ignores
 * SIGHUP). On a terminal the note starts on a line of its own, below the
 * progress line. */
static void stop_catch(bool tty)
{
    stop_tty = tty;
    weft_save_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_STOP_SIGNALS; i++)
        sigaddset(&sa.sa_mask, stop_signals[i]);
    for (size_t i = 0; i < N_STOP_SIGNALS; i++)
        stop_caught[i] = sigaction(stop_signals[i], NULL, &stop_old[i]) == 0 &&
                         stop_old[i].sa_handler != SIG_IGN &&
                         sigaction(stop_signals[i], &sa, NULL) == 0;
}

static const char *stop_name(int sig)
{
    return sig == SIGINT    ? "SIGINT"
           : sig == SIGTERM ? "SIGTERM"
           : sig == SIGHUP  ? "SIGHUP"
                            : "SIGPIPE";
}

/* Whether a stop signal came before the first iteration: its number, said
 * on stderr, or 0; with `starting` (the first iteration is next), a signal
 * from then on stops the run after its iteration. The signals are held
 * over the test, so that the handler's note says what the run does. */
static int stopped_before_start(bool starting)
{
    sigset_t hold, old;
    sigemptyset(&hold);
    for (size_t i = 0; i < N_STOP_SIGNALS; i++)
        sigaddset(&hold, stop_signals[i]);
    sigprocmask(SIG_BLOCK, &hold, &old);
    int sig = stop_signal;
    if (!sig && starting)
        stop_iterating = 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (sig)
        fprintf(stderr, "weft train: stopped by %s before the first iteration: nothing "
                "written\n", stop_name(sig));
    return sig;
}

static const char csv_header[] =
    "iter,phase,jobs,rollouts,mean_return,avg_wjct,teacher_ratio,loss,entropy,grad_norm,"
    "decisions,replay_mismatches,wall_s,val_ratio\n";
#define CSV_TEACHER_COL 7 /* 1-based columns of the two curves */
#define CSV_VAL_COL 14

typedef struct {
    const char *csv;
    bool val, teacher;  /* the curves with points */
    double ymin, ymax;  /* over both */
} curve_arg_t;

/* Which curves the CSV at a->csv has points for (finite and > 0: the axis
 * is logarithmic), and their range: gnuplot fails on a plot whose every
 * curve is empty, and warns about a range of one value. */
static void curve_scan(curve_arg_t *a)
{
    a->val = a->teacher = false;
    a->ymin = INFINITY;
    a->ymax = -INFINITY;
    FILE *f = fopen(a->csv, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        for (int col = 1; p && col <= CSV_VAL_COL; col++) {
            double y = strtod(p, &end);
            if ((col == CSV_TEACHER_COL || col == CSV_VAL_COL) && end != p && isfinite(y) &&
                y > 0) {
                *(col == CSV_VAL_COL ? &a->val : &a->teacher) = true;
                a->ymin = y < a->ymin ? y : a->ymin;
                a->ymax = y > a->ymax ? y : a->ymax;
            }
            if ((p = strchr(p, ',')))
                p++;
        }
    }
    fclose(f);
}

static void curve_script(FILE *gp, const void *arg)
{
    const curve_arg_t *a = arg;
    /* episodes differ in size and load, so their raw JCTs are not a curve;
       the ratios are. x from 0 (the start is iteration 0's model), so one
       iteration is not a range of one value */
    fputs("set title 'weft train: learning curve'\nset xlabel 'iteration'\n"
          "set ylabel 'avg weighted JCT ratio (lower is better)'\nset grid\n"
          "set key top right\nset datafile separator ','\nset datafile missing 'nan'\n"
          "set logscale y\nset xrange [0:*]\n",
          gp);
    if (a->ymin == a->ymax)
        fprintf(gp, "set yrange [%.9g:%.9g]\n", a->ymin / 1.01, a->ymax * 1.01);
    fputs("plot ", gp);
    if (a->val) {
        cli_gp_quote(gp, a->csv);
        fprintf(gp, " using 1:%d with linespoints pointtype 7 linewidth 2 "
                "title 'validation: learned / best heuristic per workload'%s", CSV_VAL_COL,
                a->teacher ? ", \\\n     " : "\n");
    }
    if (a->teacher) {
        cli_gp_quote(gp, a->csv);
        fprintf(gp, " using 1:%d with lines linewidth 1 "
                "title 'imitation, DAgger episodes: learned / teacher'\n", CSV_TEACHER_COL);
    }
}

static void fmt_time(char *buf, size_t len, double s)
{
    if (!(s >= 0) || !isfinite(s))
        snprintf(buf, len, "?");
    else if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

/* names[0..n) comma-separated on o, the first 4 and a count of the rest */
static void print_names(FILE *o, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n && i < 4; i++)
        fprintf(o, "%s%s", i ? ", " : "", names[i]);
    if (n > 4)
        fprintf(o, " and %zu more", n - 4);
}

/* Whether path b looks like another file of a shell glob that gave a
 * (`v*.weft`): the same directory and extension, and a name that starts
 * with a's first character. */
static bool same_glob(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t da = sa ? (size_t)(sa - a) + 1 : 0, db = sb ? (size_t)(sb - b) + 1 : 0;
    if (da != db || strncmp(a, b, da))
        return false;
    a += da, b += db;
    const char *ea = strrchr(a, '.'), *eb = strrchr(b, '.');
    if (!ea != !eb || (ea && strcmp(ea, eb)))
        return false;
    return a[0] && a[0] == b[0];
}

/* Mean over validation workloads of learned / best heuristic. */
static int validate(const train_t *t, const coflow_workload_t *val, size_t n_val,
                    const double *scaled_best_ref, double *ratio)
{
    double *w = calloc(2 * n_val, sizeof *w);
    if (!w)
        return -1;
    double *sw = w + n_val; /* only now: NULL + n is undefined */
    weft_err_t err =
        train_evaluate(&t->model, t->cfg.allocator, val, n_val, t->cfg.threads, w, sw);
    if (err) {
        free(w);
        cli_report("train", err);
        return -1;
    }
    double s = 0;
    for (size_t i = 0; i < n_val; i++)
        s += sw[i] / scaled_best_ref[i];
    *ratio = s / (double)n_val;
    free(w);
    return 0;
}

/* Writes t's best model to out_dir/best.msgpack: 0, or -1 after a message. */
static int save_best(const train_t *t, const char *out_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/best.msgpack", out_dir);
    coflow_learned_model_t best;
    weft_err_t err = train_best_model(t, &best);
    if (!err)
        err = coflow_learned_model_save(&best, path);
    coflow_learned_model_destroy(&best);
    if (err) {
        cli_report("train", err);
        return -1;
    }
    return 0;
}

/* The whole of a small text file, NUL-terminated, to free; NULL with
 * errno set when it cannot be read (ENOENT: there is none). */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = b;
        }
        size_t k = fread(buf + n, 1, 4096, f);
        n += k;
        if (k < 4096)
            break;
    }
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) {
        free(buf);
        errno = bad;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* For each iteration 1..iter, the last row of it in text (a run resumed
 * after an interruption wrote its rows again), into row[1..iter] (NULL:
 * none); rows are cut at their newline. How many were found. */
static size_t csv_rows(char *text, size_t iter, char **row)
{
    for (size_t k = 0; k <= iter; k++)
        row[k] = NULL;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n'), *end;
        if (nl)
            *nl = '\0';
        errno = 0;
        unsigned long long k = p[0] >= '0' && p[0] <= '9' ? strtoull(p, &end, 10) : 0;
        if (k >= 1 && k <= iter && errno == 0 && *end == ',')
            row[k] = p;
        p = nl ? nl + 1 : p + strlen(p);
    }
    size_t found = 0;
    for (size_t k = 1; k <= iter; k++)
        found += row[k] != NULL;
    return found;
}

/* The header and rows row[1..iter] (a NULL one left out) of a train.csv. */
typedef struct {
    char **row;
    size_t iter;
} csv_rows_t;

static weft_err_t write_csv_rows(FILE *f, const void *arg)
{
    const csv_rows_t *r = arg;
    fputs(csv_header, f);
    for (size_t k = 1; k <= r->iter; k++)
        if (r->row[k])
            fprintf(f, "%s\n", r->row[k]);
    return WEFT_OK;
}

/* The train.csv of a run resumed at iteration iter from checkpoint ckpt:
 * rewrites csv_path as the header and the rows of iterations 1..iter, so
 * the run's rows follow them once. The rows are the checkpoint's run's:
 * those of the train.csv next to the checkpoint (csv_path itself when the
 * run resumes in its directory), else, when that has none, csv_path's if
 * out_same_run (the --out's checkpoint is another of the run's: a copy of
 * one resumed into its run's --out); never those of another run, which
 * csv_path may hold. Says where rows are missing. 0, or -1 after a
 * message. */
static int csv_resume(const char *csv_path, const char *ckpt, size_t iter, bool out_same_run)
{
    char side[4096];
    const char *slash = strrchr(ckpt, '/');
    int dir_len = slash ? (int)(slash - ckpt + 1) : 0;
    snprintf(side, sizeof side, "%.*strain.csv", dir_len, ckpt);
    char **row = calloc(iter + 1, sizeof *row);
    if (!row) {
        fprintf(stderr, "weft train: out of memory\n");
        return -1;
    }
    int rc = -1;
    bool side_is_out = cli_same_file(csv_path, side);
    const char *src[2] = {side, out_same_run && !side_is_out ? csv_path : NULL}, *from = NULL;
    size_t found = 0;
    char *text = NULL;
    for (size_t i = 0; i < 2 && src[i] && !found; i++) {
        free(text);
        if (!(text = read_text(src[i])) && errno != ENOENT) {
            fprintf(stderr, "weft train: cannot read '%s': %s\n", src[i], strerror(errno));
            goto done;
        }
        from = src[i];
        found = text ? csv_rows(text, iter, row) : 0;
    }
    csv_rows_t rows = {row, iter};
    if (weft_save_file(csv_path, write_csv_rows, &rows)) {
        fprintf(stderr, "weft train: cannot write %s\n", weft_last_error());
        goto done;
    }
    if (found && from == side && !side_is_out)
        printf("%s: rows of iterations up to %zu taken from %s\n", csv_path, iter, side);
    if (found < iter)
        fprintf(stderr, "weft train: note: %s: rows of %zu of the checkpoint's %zu iterations "
                "found (in %s%s%s); the others are left out\n", csv_path, found, iter, side,
                src[1] ? " or " : "", src[1] ? src[1] : "");
    rc = 0;
done:
    free(text);
    free(row);
    return rc;
}

/* Whether ckpt, the checkpoint a run into its directory would write, is
 * that of a run that has not reached its --iters, said on stderr: a new
 * run there, or one resumed from another checkpoint (resume), would
 * overwrite it, its best.msgpack and its train.csv (both lost them all).
 * The caller leaves out the run continuing in place (resume is ckpt). A
 * checkpoint that does not load cannot be resumed, and is no reason to
 * stop. */
static bool unfinished_run(const char *ckpt, const char *resume)
{
    if (access(ckpt, F_OK) != 0)
        return false;
    attn_model_file_t mf;
    attn_model_init(&mf);
    int64_t iter, iters;
    bool unfinished = attn_model_load(ckpt, &mf) == WEFT_OK &&
                      attn_model_get_int(&mf, "train.iter", &iter) == WEFT_OK &&
                      attn_model_get_int(&mf, "train.iterations", &iters) == WEFT_OK &&
                      iter < iters;
    attn_model_destroy(&mf);
    if (unfinished)
        fprintf(stderr, "weft train: %s holds a run stopped at iteration %lld of %lld, which "
                "this run%s%s%s would overwrite with its best.msgpack and train.csv: --resume "
                "%s continues it; to %s, remove it or give another --out\n", ckpt,
                (long long)iter, (long long)iters, resume ? " (--resume " : "",
                resume ? resume : "", resume ? ")" : "", ckpt,
                resume ? "resume another run there" : "start afresh");
    return unfinished;
}

/* The files of another run in --out that a run not continuing there
 * removes as it begins (outputs_begin); the models first. */
static const char *const other_runs[] = {"checkpoint.msgpack", "final.msgpack", "best.msgpack",
                                         "learning-curve.png"};
#define N_OTHER_RUNS (sizeof other_runs / sizeof *other_runs)
#define N_OTHER_MODELS 3

/* Whether init, the --init model, is one of the models of another run in
 * out_dir that this run replaces, said on stderr: `--init
 * train-out/best.msgpack` with the default --out, the natural next run,
 * deleted the model it started from. */
static bool init_replaced(const char *init, const char *out_dir)
{
    char path[4096];
    for (size_t i = 0; i < N_OTHER_MODELS; i++) {
        snprintf(path, sizeof path, "%s/%s", out_dir, other_runs[i]);
        if (cli_same_file(init, path)) {
            fprintf(stderr, "weft train: --init %s is the %s of --out %s, which this run "
                    "replaces with its own: copy it elsewhere first, or give another --out\n",
                    init, other_runs[i], out_dir);
            return true;
        }
    }
    return false;
}

/* Locks dir, the --out, for this run (flock, dropped with the process):
 * 0 with the descriptor in *fd (-1: not locked), or -1 after a message
 * when another run holds it. Two runs into one --out (a sweep started in
 * the background with the default one) replaced each other's models and
 * interleaved train.csv, and both exited 0. A file system without locks
 * gets a note: no run is refused for it. */
static int lock_out(const char *dir, int *fd)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd >= 0 && flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int e = errno;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    if (e == EWOULDBLOCK) {
        fprintf(stderr, "weft train: --out %s is in use by another weft train (it holds the "
                "directory's lock): give another --out\n", dir);
        return -1;
    }
    fprintf(stderr, "weft train: note: --out %s cannot be locked (%s): another run into it "
            "would not be noticed\n", dir, strerror(e));
    return 0;
}

/* Where a run's results go, and whose files the --out holds. */
typedef struct {
    const char *dir;    /* --out */
    const char *csv;    /* dir/train.csv */
    const char *resume; /* the --resume checkpoint, or NULL */
    size_t resumed_at;  /* its iteration */
    bool in_place;      /* resume is dir's checkpoint: the run goes on there */
    bool same_run;      /* not in place, yet dir's checkpoint is one of resume's run */
} out_t;

/* The run's first writes into o->dir, once it has something to show (its
 * first iteration done, or a resume that only finishes the run): until
 * then a run that fails leaves the directory as it found it (a new run
 * into a finished run's --out that diverged at once replaced its
 * best.msgpack and train.csv). Unless the run goes on in place, the files
 * there it does not write at once go first (checkpoint, final and best
 * model, plot), so the directory never holds two runs' files. Then
 * train.csv (its header, and on a resume the rows up to the checkpoint's
 * iteration) and best.msgpack, when a best is known. train.csv open for
 * appending, or NULL after a message. */
static FILE *outputs_begin(const train_t *t, const out_t *o)
{
    char path[4096];
    size_t removed = 0;
    for (size_t i = 0; !o->in_place && i < N_OTHER_RUNS; i++) {
        snprintf(path, sizeof path, "%s/%s", o->dir, other_runs[i]);
        if (unlink(path) == 0)
            removed++;
        else if (errno != ENOENT) {
            fprintf(stderr, "weft train: cannot remove '%s' of the run %s held: %s\n", path,
                    o->dir, strerror(errno));
            return NULL;
        }
    }
    if (removed)
        fprintf(stderr, "weft train: note: %s: the checkpoint, models and plot it held are "
                "replaced by this run's\n", o->dir);
    if (o->resume && csv_resume(o->csv, o->resume, o->resumed_at, o->same_run) != 0)
        return NULL;
    FILE *csv = fopen(o->csv, o->resume ? "a" : "w");
    if (!csv) {
        fprintf(stderr, "weft train: cannot write '%s': %s\n", o->csv, strerror(errno));
        return NULL;
    }
    if (!o->resume)
        fputs(csv_header, csv);
    if (t->has_best && save_best(t, o->dir) != 0) {
        fclose(csv);
        return NULL;
    }
    return csv;
}

int cmd_train(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"model-out", required_argument, NULL, 'O'},
        {"val", required_argument, NULL, 'V'},
        {"validate-every", required_argument, NULL, 'v'},
        {"checkpoint-every", required_argument, NULL, 'c'},
        {"resume", required_argument, NULL, 'r'},
        {"init", required_argument, NULL, 'i'},
        {"iters", required_argument, NULL, 'n'},
        {"imitate", required_argument, NULL, 'I'},
        {"dagger", required_argument, NULL, 'D'},
        {"teacher", required_argument, NULL, 'T'},
        {"episodes", required_argument, NULL, 'e'},
        {"rollouts", required_argument, NULL, 'k'},
        {"jobs-min", required_argument, NULL, 'j'},
        {"jobs-max", required_argument, NULL, 'J'},
        {"curriculum", required_argument, NULL, 'C'},
        {"lr-imitate", required_argument, NULL, 'l'},
        {"lr-rl", required_argument, NULL, 'L'},
        {"lr-rl-end", required_argument, NULL, 'E'},
        {"topk", required_argument, NULL, 'K'},
        {"clip", required_argument, NULL, 'g'},
        {"entropy", required_argument, NULL, 'H'},
        {"entropy-decay", required_argument, NULL, 'd'},
        {"no-differential", no_argument, NULL, 'N'},
        {"allocator", required_argument, NULL, 'a'},
        {"prior", required_argument, NULL, 'P'},
        {"prior-path", required_argument, NULL, 'Q'},
        {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    train_config_t cfg;
    train_config_default(&cfg);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = nproc > 0 ? (size_t)nproc : 1;
    const char *out_dir = "train-out", *model_out = NULL, *resume = NULL, *init = NULL;
    size_t ckpt_every = 5;
    bool iters_given = false, phase_given[2] = {false, false}; /* --imitate, --dagger */
    double prior = 0, prior_path = 0;
    char **val_paths = calloc((size_t)argc + 1, sizeof *val_paths);
    size_t n_val = 0;
    /* the workloads right after each --val's file that look like its
       glob's others (glob_n[i] of them after val_paths[i]), in order */
    const char **globbed = calloc((size_t)argc + 1, sizeof *globbed);
    size_t *glob_n = calloc((size_t)argc + 1, sizeof *glob_n), n_globbed = 0;
    if (!val_paths || !globbed || !glob_n) {
        free(val_paths), free(globbed), free(glob_n);
        return CLI_ERROR;
    }
    int rc = CLI_USAGE;
    int stopped_by = 0; /* the signal a stop at the end of an iteration took */
    const char *C = "train";

    optind = 1;
    opterr = 0;
    int ch;
    char optname[64];
    while ((ch = cli_next_option(argc, argv, longopts, optname, sizeof optname)) != -1) {
        int bad = 0;
        const char *opt = optname;
        switch (ch) {
        case 'o': out_dir = optarg; break;
        case 'O': model_out = optarg; break;
        case 'V':
            /* argv[optind..) is still as given: what followed the file */
            for (int i = optind; i < argc && argv[i][0] != '-' && same_glob(optarg, argv[i]);
                 i++, glob_n[n_val]++)
                globbed[n_globbed++] = argv[i];
            val_paths[n_val++] = optarg;
            break;
        case 'v': bad = cli_parse_size(C, opt, optarg, 1, &cfg.validate_every); break;
        case 'c': bad = cli_parse_size(C, opt, optarg, 1, &ckpt_every); break;
        case 'r': resume = optarg; break;
        case 'i': init = optarg; break;
        case 'n':
            bad = cli_parse_size(C, opt, optarg, 1, &cfg.iterations);
            iters_given = true;
            break;
        case 'I':
            bad = cli_parse_size(C, opt, optarg, 0, &cfg.imitate_iters);
            phase_given[0] = true;
            break;
        case 'D':
            bad = cli_parse_size(C, opt, optarg, 0, &cfg.dagger_iters);
            phase_given[1] = true;
            break;
        case 'T': cfg.teacher = optarg; break;
        case 'e': bad = cli_parse_size(C, opt, optarg, 1, &cfg.episodes); break;
        case 'k': bad = cli_parse_size(C, opt, optarg, 2, &cfg.rollouts); break;
        case 'j': bad = cli_parse_size(C, opt, optarg, 1, &cfg.jobs_min); break;
        case 'J': bad = cli_parse_size(C, opt, optarg, 1, &cfg.jobs_max); break;
        case 'C': bad = cli_parse_size(C, opt, optarg, 0, &cfg.curriculum_iters); break;
        case 'l': bad = cli_parse_double(C, opt, optarg, 0, true, &cfg.lr_imitate); break;
        case 'K': bad = cli_parse_size(C, opt, optarg, 1, &cfg.imitate_topk); break;
        case 'L': bad = cli_parse_double(C, opt, optarg, 0, true, &cfg.lr_rl); break;
        case 'E': bad = cli_parse_double(C, opt, optarg, 0, false, &cfg.lr_rl_end); break;
        case 'g': bad = cli_parse_double(C, opt, optarg, 0, true, &cfg.clip); break;
        case 'H': bad = cli_parse_double(C, opt, optarg, 0, false, &cfg.entropy); break;
        case 'd': bad = cli_parse_double(C, opt, optarg, 0, true, &cfg.entropy_decay); break;
        case 'N': cfg.differential = false; break;
        case 'a': cfg.allocator = optarg; break;
        case 'P': bad = cli_parse_double(C, opt, optarg, 0, false, &prior); break;
        case 'Q': bad = cli_parse_double(C, opt, optarg, 0, false, &prior_path); break;
        case 's': bad = cli_parse_u64(C, opt, optarg, &cfg.seed); break;
        case 't': bad = cli_parse_size(C, opt, optarg, 1, &cfg.threads); break;
        case 'h':
            usage(stdout);
            rc = CLI_OK;
            goto done_usage;
        case ':':
            cli_bad_option("train", ch, longopts, argv);
            goto done_usage;
        default:
            cli_bad_option("train", ch, longopts, argv);
            cli_usage_hint("train", usage);
            goto done_usage;
        }
        if (bad)
            goto done_usage;
    }
    if (optind >= argc) {
        fprintf(stderr, "weft train: no training workloads given\n");
        cli_usage_hint("train", usage);
        goto done_usage;
    }
    if (cli_check_name(C, "--out", out_dir, "directory") ||
        (model_out && cli_check_name(C, "--model-out", model_out, "file")))
        goto done_usage;
    if (cli_output_not_input(C, "--model-out", model_out, argv + optind,
                             (size_t)(argc - optind), "training workload") ||
        cli_output_not_input(C, "--model-out", model_out, val_paths, n_val,
                             "validation workload"))
        goto done_usage;
    if (train_config_check(&cfg)) {
        fprintf(stderr, "weft train: %s\n", weft_last_error());
        goto done_usage;
    }
    /* a phase given longer than the whole run: the run would end inside it
       (a slip of a digit, or of --iters). The two together may be longer:
       a short run of both, resumed with more --iters, is one. */
    for (int p = 0; p < 2; p++) {
        size_t n = p ? cfg.dagger_iters : cfg.imitate_iters;
        if (phase_given[p] && n > cfg.iterations) {
            fprintf(stderr, "weft train: %s %zu is more than --iters %zu%s: the run would "
                    "end inside that phase\n", p ? "--dagger" : "--imitate", n,
                    cfg.iterations, iters_given ? "" : " (the default)");
            goto done_usage;
        }
    }
    /* phases left at their defaults that fill the run: `--iters 30` alone
       imitates and runs DAgger to the end and never reaches REINFORCE */
    if ((!phase_given[0] || !phase_given[1]) && cfg.imitate_iters + cfg.dagger_iters > 0 &&
        cfg.imitate_iters + cfg.dagger_iters >= cfg.iterations)
        fprintf(stderr, "weft train: note: --imitate %zu%s and --dagger %zu%s take all %zu "
                "iterations (--iters): no REINFORCE iteration; give them to change that\n",
                cfg.imitate_iters, phase_given[0] ? "" : " (the default)", cfg.dagger_iters,
                phase_given[1] ? "" : " (the default)", cfg.iterations);
    if (coflow_learned_check_prior("--prior", prior) ||
        coflow_learned_check_prior("--prior-path", prior_path)) {
        fprintf(stderr, "weft train: %s\n", weft_last_error());
        goto done_usage;
    }
    if (prior_path > 0 && !(prior > 0)) {
        fprintf(stderr, "weft train: --prior-path %g needs --prior > 0 (a residual of the "
                "teacher)\n", prior_path);
        goto done_usage;
    }
    /* `--val v*.weft` validates on the glob's first file and trains on the
       others: said, not refused (workloads there are legitimate) */
    for (size_t i = 0, k = 0; i < n_val; k += glob_n[i++]) {
        if (!glob_n[i])
            continue;
        fprintf(stderr, "weft train: note: --val %s: the %zu %s after it (", val_paths[i],
                glob_n[i], weft_plural(glob_n[i], "workload", "workloads"));
        print_names(stderr, globbed + k, glob_n[i]);
        fprintf(stderr, ") look like its glob's and train: a glob after --val (--val v*.weft) "
                "validates on its first file only; give --val before each file to validate "
                "on\n");
    }

    rc = CLI_ERROR;
    size_t n_pool = (size_t)(argc - optind);
    coflow_workload_t *pool = calloc(n_pool, sizeof *pool);
    coflow_workload_t *val = calloc(n_val ? n_val : 1, sizeof *val);
    double *ref = calloc(n_val ? n_val : 1, sizeof *ref);
    double *w = calloc(n_val ? n_val : 1, sizeof *w);
    /* the same over each workload's scaled weights: the validation ratios
       are of these, right for weights down to 5e-324 as weft eval's */
    double *sref = calloc(n_val ? n_val : 1, sizeof *sref);
    double *sw = calloc(n_val ? n_val : 1, sizeof *sw);
    const char **best_name = calloc(n_val ? n_val : 1, sizeof *best_name); /* of ref[i] */
    bool have_pool = false, have_val = false, have_t = false;
    size_t made_from = 0; /* cli_dirs_missing(out_dir) before making it */
    int out_lock = -1;    /* lock_out(out_dir)'s descriptor */
    FILE *csv = NULL; /* train.csv, once the run's outputs begin (outputs_begin) */
    train_t t;
    char path[4096], csv_path[4096];
    out_t out = {.dir = out_dir, .csv = csv_path, .resume = resume};
    if (!pool || !val || !ref || !w || !sref || !sw || !best_name) {
        fprintf(stderr, "weft train: out of memory\n");
        goto done;
    }
    if (cli_read_workloads(C, argv + optind, n_pool, WEFT_GBPS_BYTES, pool))
        goto done;
    have_pool = true;
    if (cli_read_workloads(C, val_paths, n_val, WEFT_GBPS_BYTES, val))
        goto done;
    have_val = true;
    /* which file is which: a shell glob after --val (`--val v*.weft`)
       gives it the first file only, and the others train */
    printf("training on %zu %s (", n_pool, weft_plural(n_pool, "workload", "workloads"));
    print_names(stdout, (const char *const *)(argv + optind), n_pool);
    printf(")");
    if (n_val) {
        printf("; validating on %zu (", n_val);
        print_names(stdout, (const char *const *)val_paths, n_val);
        printf(")");
    }
    printf("\n");
    /* the model and the checkpoint before anything is written, so a bad
       one leaves --out as it was */
    coflow_learned_model_t m;
    weft_err_t err = init ? cli_load_model(C, init, "--init", &m)
                          : coflow_learned_model_random(&m, cfg.seed);
    if (err && init) { /* which of the files given it is, as weft sim's --model */
        cli_report_option(C, "--init", err);
        goto done;
    }
    /* --prior zeroes the score head: on a residual that would throw away
       what its training learned (the shipped model is one) */
    if (!err && prior > 0 && m.prior > 0) {
        fprintf(stderr, "weft train: --prior %g: the --init model %s is already a residual "
                "(prior %g, path %g) with a trained score head, which --prior would zero; "
                "drop --prior and --prior-path to train it on with its own\n", prior, init,
                (double)m.prior, (double)m.prior_path);
        coflow_learned_model_destroy(&m);
        rc = CLI_USAGE;
        goto done;
    }
    if (!err && prior > 0 && (err = coflow_learned_model_make_residual(&m, prior, prior_path)))
        coflow_learned_model_destroy(&m);
    if (!err)
        err = train_init(&t, &cfg, &m, pool, n_pool);
    if (err) {
        cli_report(C, err);
        goto done;
    }
    have_t = true;
    t.val = val, t.n_val = n_val;
    if (resume) {
        err = train_checkpoint_load(&t, resume);
        if (err) {
            cli_report_option(C, "--resume", err);
            goto done;
        }
        out.resumed_at = t.iter;
        if (t.iter > cfg.iterations) {
            fprintf(stderr, "weft train: %s: checkpoint is at iteration %zu, past --iters "
                    "%zu\n", resume, t.iter, cfg.iterations);
            goto done;
        }
        /* at --iters it only finishes the run: what a run stopped after its
           last checkpoint did not write (final model, --model-out, plot) */
        if (t.iter == cfg.iterations)
            fprintf(stderr, "weft train: %s: checkpoint is at --iters %zu: writing what the "
                    "run ends with\n", resume, t.iter);
    }
    /* where the results go, before the first iteration; locked first, so
       the checks below do not read the files of a run going on there */
    bool tty = isatty(fileno(stderr));
    made_from = cli_dirs_missing(out_dir);
    /* the action a second signal finds: a second ^C before the first
       iteration left the --out made, empty */
    cli_unmake_on_signals(out_dir, made_from);
    stop_catch(tty);
    if (cli_make_dirs(C, "--out", out_dir) || lock_out(out_dir, &out_lock))
        goto done;
    snprintf(path, sizeof path, "%s/checkpoint.msgpack", out_dir);
    out.in_place = cli_same_file(resume, path);
    if (!out.in_place && (unfinished_run(path, resume) || (init && init_replaced(init, out_dir))))
        goto done;
    /* a copy of a checkpoint resumed into its run's --out: the rows there
       are the run's */
    out.same_run = resume && !out.in_place && train_checkpoint_check(&t, path) == WEFT_OK;
    /* --model-out as a file of the run's own was written over it, or it
       over the model, status 0 (best.msgpack is the same model: taken) */
    static const char *const run_writes[] = {"train.csv", "checkpoint.msgpack", "final.msgpack",
                                             "learning-curve.png"};
    if (model_out && cli_file_in_dir(model_out, out_dir, run_writes, 4)) {
        fprintf(stderr, "weft train: --model-out %s is a file this run writes into --out %s: "
                "give it another name\n", model_out, out_dir);
        rc = CLI_USAGE;
        goto done;
    }
    snprintf(csv_path, sizeof csv_path, "%s/train.csv", out_dir);
    if (cli_check_writable(C, csv_path) || (model_out && cli_check_writable(C, model_out)))
        goto done;

    printf("BLAS kernels: OpenBLAS %s (OPENBLAS_CORETYPE picks others; a model is reproducible "
           "bit for bit only with the same kernels)\n",
           train_blas_kernels());
    fflush(stdout); /* the reference runs below may take minutes */
    /* the best heuristic on each validation workload */
    for (size_t i = 0; i < n_val; i++)
        ref[i] = sref[i] = INFINITY;
    for (size_t h = 0; heuristics[h] && n_val; h++) {
        err = train_evaluate_policy(heuristics[h], NULL, NULL, val, n_val, cfg.threads,
                                    WEFT_GBPS_BYTES, w, sw);
        if (err) {
            cli_report(C, err);
            goto done;
        }
        if ((stopped_by = stopped_before_start(false)))
            goto done;
        for (size_t i = 0; i < n_val; i++)
            if (sw[i] < sref[i]) {
                ref[i] = w[i];
                sref[i] = sw[i];
                best_name[i] = heuristics[h];
            }
    }
    for (size_t i = 0; i < n_val; i++) {
        /* the ratio to it would be nan at every validation: no best model,
           and --model-out failing after the whole run */
        if (!(sref[i] > 0 && sref[i] < INFINITY)) {
            fprintf(stderr, "weft train: --val %s: the best heuristic (%s) has an average "
                    "weighted JCT of %g s, so no ratio to it can be taken; expected jobs "
                    "that take time\n", val_paths[i], best_name[i] ? best_name[i] : "none",
                    ref[i]);
            goto done;
        }
        printf("validation %s: best heuristic %s, avg weighted JCT %.4f s\n", val_paths[i],
               best_name[i], ref[i]);
    }
    if (resume) {
        printf("resumed from %s at iteration %zu\n", resume, t.iter);
        /* a checkpoint of an older weft holds no best model: it is then
           out_dir's best.msgpack, if the run is there (outputs_begin
           removes another run's) */
        snprintf(path, sizeof path, "%s/best.msgpack", out_dir);
        if (!t.has_best && n_val && t.best_val < INFINITY &&
            (!out.in_place || access(path, F_OK) != 0)) {
            fprintf(stderr, "weft train: note: %s holds no best model (an older weft wrote "
                    "it); the best is looked for again from iteration %zu\n", resume, t.iter);
            t.best_val = INFINITY;
        }
    }
    /* with no best known, the start is a candidate too (a residual starts at
       the teacher) */
    if (n_val && !(t.best_val < INFINITY)) {
        double vr;
        if (validate(&t, val, n_val, sref, &vr))
            goto done;
        train_keep_best(&t, vr);
        printf("iteration %zu: validation %.4f\n", t.iter, vr);
    }
    if ((stopped_by = stopped_before_start(true)))
        goto done;
    double iter_s = NAN; /* moving average of an iteration's wall time */
    while (t.iter < cfg.iterations) {
        train_stats_t s;
        err = train_iteration(&t, &s);
        if (err) {
            if (tty)
                fputc('\n', stderr);
            cli_report(C, err);
            goto done;
        }
        iter_s = isnan(iter_s) ? s.wall_s : 0.8 * iter_s + 0.2 * s.wall_s;
        double vr = NAN;
        bool better = false;
        if (n_val && (t.iter % cfg.validate_every == 0 || t.iter == cfg.iterations)) {
            if (validate(&t, val, n_val, sref, &vr))
                goto done;
            better = train_keep_best(&t, vr);
        }
        if (!csv) { /* the first iteration is done: the run's outputs begin */
            if (!(csv = outputs_begin(&t, &out)))
                goto done;
        } else if (better && save_best(&t, out_dir) != 0) {
            goto done;
        }
        fprintf(csv, "%zu,%s,%zu,%zu,%.9g,%.9g,%.6g,%.6g,%.6g,%.6g,%zu,%zu,%.4f,%.6g\n",
                s.iter + 1, train_phase_name(s.phase), s.jobs, s.rollouts, s.mean_return,
                s.avg_wjct, s.teacher_ratio, s.loss, s.entropy, s.grad_norm, s.decisions,
                s.replay_mismatches, s.wall_s, vr);
        if (fflush(csv) != 0 || ferror(csv)) { /* a full disk: stop, not lose rows */
            fprintf(stderr, "%sweft train: cannot write '%s' (iteration %zu): %s\n",
                    tty ? "\n" : "", csv_path, t.iter, strerror(errno));
            goto done;
        }
        /* a replay follows its first pass's seed, so it must make the same
           decisions; one that did not took its gradient on orders whose
           returns were never measured (train.h) */
        if (s.replay_mismatches)
            fprintf(stderr, "%sweft train: warning: iteration %zu: %zu of %zu rollouts made other "
                    "decisions when replayed for their gradient than when sampled (the same "
                    "seed should give the same orders): their updates weigh decisions by "
                    "returns they did not earn; the scoring or the emulator is not "
                    "deterministic, a bug (train.csv: replay_mismatches)\n", tty ? "\n" : "",
                    s.iter + 1, s.replay_mismatches, s.rollouts);
        char left[32];
        fmt_time(left, sizeof left, iter_s * (double)(cfg.iterations - t.iter));
        char line[256];
        snprintf(line, sizeof line,
                 "iter %zu/%zu %-9s jobs %zu  return %.3f  avg wJCT %.3f s  H %.3f  "
                 "%.1f rollouts/s  left %s",
                 t.iter, cfg.iterations, train_phase_name(s.phase), s.jobs, s.mean_return,
                 s.avg_wjct, s.entropy, (double)s.rollouts * (s.phase == TRAIN_REINFORCE ? 2 : 1) /
                 (s.wall_s > 0 ? s.wall_s : 1e-9), left);
        if (tty) {
            fprintf(stderr, "\r\033[K%s", line);
            if (!isnan(vr))
                fprintf(stderr, "  val %.4f (best %.4f @%zu)", vr, t.best_val, t.best_iter);
        } else {
            printf("%s", line);
            if (!isnan(vr))
                printf("  val %.4f (best %.4f @%zu)", vr, t.best_val, t.best_iter);
            putchar('\n');
            fflush(stdout);
        }
        /* a signal during the last iteration lets the run finish */
        int stop = t.iter < cfg.iterations ? stop_signal : 0;
        if (stop || t.iter % ckpt_every == 0 || t.iter == cfg.iterations) {
            snprintf(path, sizeof path, "%s/checkpoint.msgpack", out_dir);
            if ((err = train_checkpoint_save(&t, path))) {
                cli_report(C, err);
                goto done;
            }
        }
        if (stop) {
            fprintf(stderr, "%sweft train: stopped by %s after iteration %zu of %zu: the same "
                    "command with --resume %s continues it", tty ? "\n" : "",
                    stop_name(stop), t.iter,
                    cfg.iterations, path);
            if (resume && strcmp(resume, path) != 0)
                fprintf(stderr, " (in place of --resume %s)", resume);
            fputc('\n', stderr);
            stopped_by = stop;
            goto done;
        }
    }
    stop_release();
    if (tty)
        fputc('\n', stderr);
    /* a resume at --iters ran no iteration */
    if (!csv && !(csv = outputs_begin(&t, &out)))
        goto done;
    snprintf(path, sizeof path, "%s/final.msgpack", out_dir);
    if ((err = coflow_learned_model_save(&t.model, path))) {
        cli_report(C, err);
        goto done;
    }
    if (model_out) {
        coflow_learned_model_t best;
        snprintf(path, sizeof path, "%s/%s.msgpack", out_dir, n_val ? "best" : "final");
        err = coflow_learned_model_load(&best, path);
        if (!err)
            err = coflow_learned_model_save(&best, model_out);
        coflow_learned_model_destroy(&best);
        if (err) {
            cli_report(C, err);
            goto done;
        }
        printf("model: %s (%s)\n", model_out, path);
    }
    if (n_val)
        printf("best validation ratio %.4f at iteration %zu\n", t.best_val, t.best_iter);
    /* the model file holds no allocator: sim and eval would run it, and
       show its figures, under another than the one it was chosen with */
    const char *own = coflow_ordering_find("learned")->default_allocator;
    if (strcmp(cfg.allocator, own) != 0)
        fprintf(stderr, "weft train: note: trained and validated with --allocator %s, which "
                "the model file does not record: weft sim and eval run it with %s unless "
                "given --policy learned:%s\n", cfg.allocator, own, cfg.allocator);
    int closed = fclose(csv);
    csv = NULL;
    if (closed != 0) {
        fprintf(stderr, "weft train: cannot write '%s': %s\n", csv_path, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%s/learning-curve.png", out_dir);
    curve_arg_t ca = {.csv = csv_path};
    curve_scan(&ca);
    if (ca.val || ca.teacher)
        cli_gnuplot(C, path, curve_script, &ca); /* a missing gnuplot is not fatal */
    else
        fprintf(stderr, "weft train: note: no %s: nothing to draw (its curves are the "
                "validation ratio, with --val, and the imitation and DAgger ratio)\n", path);
    rc = CLI_OK;
done:
    stop_release();
    if (csv)
        fclose(csv);
    /* a run refused before it wrote anything (a bad --model-out, a --val
       with no ratio) leaves no empty --out behind */
    if (rc != CLI_OK)
        cli_unmake_dirs(out_dir, made_from);
    if (out_lock >= 0)
        close(out_lock);
    if (have_t)
        train_destroy(&t);
    for (size_t i = 0; have_pool && i < n_pool; i++)
        coflow_workload_destroy(&pool[i]);
    for (size_t i = 0; have_val && i < n_val; i++)
        coflow_workload_destroy(&val[i]);
    free(pool);
    free(val);
    free(ref);
    free(w);
    free(sref);
    free(sw);
    free(best_name);
done_usage:
    free(val_paths);
    free(globbed);
    free(glob_n);
    if (stopped_by) {
        /* die of the signal, its checkpoint written, so that a shell script
           running this stops as at any Ctrl-C: bash goes on after a child
           that exited 130 (it handled the signal) */
        rc = 128 + stopped_by; /* as a shell reports it, should the raise not end it */
        fflush(NULL);
        signal(stopped_by, SIG_DFL);
        raise(stopped_by);
    }
    return rc;
}
