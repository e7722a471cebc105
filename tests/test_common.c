/*
 * test_common.c - the shared helpers of common/weft.h that no module test
 * covers on its own: weft_parallel_for, and how weft_save_file writes a
 * file (its temporary file, the mode of the file it replaces, a signal in
 * the middle of a write; test_workload.c has a write that fails).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/weft.h"

static atomic_size_t done_calls;

static void count_done(void) { atomic_fetch_add(&done_calls, 1); }

/* Each index adds its own number to its slot: a slot visited twice, or
 * not at all, shows. */
static void visit(void *arg, size_t i)
{
    atomic_size_t *seen = arg;
    atomic_fetch_add(&seen[i], i + 1);
}

static void check(size_t n, size_t threads)
{
    atomic_size_t *seen = calloc(n ? n : 1, sizeof *seen);
    cr_assert_not_null(seen);
    for (size_t i = 0; i < n; i++)
        atomic_init(&seen[i], 0);
    atomic_store(&done_calls, 0);
    cr_assert_eq(weft_parallel_for(n, threads, visit, seen, count_done), WEFT_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(atomic_load(&seen[i]), i + 1, "n=%zu threads=%zu: index %zu", n, threads,
                     i);
    /* every thread that ran, the caller's included, and no more than asked
       or than there were indices for */
    size_t want = threads < n ? threads : n;
    size_t got = atomic_load(&done_calls);
    cr_assert(got >= 1 && got <= (want ? want : 1), "n=%zu threads=%zu: %zu thread ends", n,
              threads, got);
    free(seen);
}

Test(common, parallel_for_visits_every_index_once)
{
    size_t sizes[] = {0, 1, 2, 7, 1000};
    size_t threads[] = {1, 2, 3, 8};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof threads / sizeof *threads; b++)
            check(sizes[a], threads[b]);
}

/* One thread asked: everything runs on the caller's, which ends once. */
static pthread_t caller;
static atomic_int others;

static void on_which(void *arg, size_t i)
{
    (void)arg;
    (void)i;
    if (!pthread_equal(pthread_self(), caller))
        atomic_fetch_add(&others, 1);
}

Test(common, parallel_for_one_thread_is_the_callers)
{
    caller = pthread_self();
    atomic_store(&others, 0);
    atomic_store(&done_calls, 0);
    cr_assert_eq(weft_parallel_for(100, 1, on_which, NULL, count_done), WEFT_OK);
    cr_assert_eq(atomic_load(&others), 0);
    cr_assert_eq(atomic_load(&done_calls), 1);
}

static weft_err_t write_new(FILE *f, const void *arg)
{
    (void)arg;
    return fputs("new\n", f) < 0 ? WEFT_EIO : WEFT_OK;
}

/* An empty name is refused before anything is written: it made FILE.tmp
 * "./.tmp", so a file of that name in the working directory was
 * overwritten and then removed when the rename to "" failed. */
Test(common, save_file_refuses_an_empty_name)
{
    char dir[] = "/tmp/weft-test-empty-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chdir(dir), 0);
    FILE *f = fopen(".tmp", "w");
    cr_assert_not_null(f);
    fputs("someone's\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(weft_save_check(""), WEFT_EINVAL);
    cr_assert_eq(weft_save_file("", write_new, NULL), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "empty file name"), "%s", weft_last_error());
    char buf[32] = "";
    f = fopen(".tmp", "r");
    cr_assert_not_null(f, ".tmp was removed");
    cr_assert_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "someone's\n");
    unlink(".tmp");
    cr_assert_eq(rmdir(dir), 0);
}

/* weft_save_file replaces a regular file by renaming FILE.tmp over it:
 * the new file has the old one's permissions (a private 0600 workload or
 * model stays private, an executable stays so), not the umask's 0644; a
 * file that did not exist gets the umask's. */
Test(common, save_file_keeps_the_replaced_file_s_mode)
{
    char dir[] = "/tmp/weft-test-save-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64], fresh[64];
    snprintf(path, sizeof path, "%s/priv.weft", dir);
    snprintf(fresh, sizeof fresh, "%s/fresh.weft", dir);
    umask(022);
    static const mode_t modes[] = {0600, 0640, 0755, 0444};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs("old\n", f);
        fclose(f);
        cr_assert_eq(chmod(path, modes[i]), 0);
        cr_assert_eq(weft_save_file(path, write_new, NULL), WEFT_OK, "%s", weft_last_error());
        struct stat sb;
        cr_assert_eq(stat(path, &sb), 0);
        cr_assert_eq(sb.st_mode & 07777, modes[i], "mode %o became %o", (unsigned)modes[i],
                     (unsigned)(sb.st_mode & 07777));
        char text[8] = "";
        f = fopen(path, "r");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(text, sizeof text, f));
        fclose(f);
        cr_assert_str_eq(text, "new\n");
        unlink(path);
    }
    cr_assert_eq(weft_save_file(fresh, write_new, NULL), WEFT_OK, "%s", weft_last_error());
    struct stat sb;
    cr_assert_eq(stat(fresh, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0644);
    unlink(fresh);
    rmdir(dir);
}

/* The entries of dir, but . and .., and the first of them by name
 * (into first, when there is one). */
static size_t entries_in(const char *dir, char first[256])
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    size_t n = 0;
    first[0] = '\0';
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!n++ || strcmp(e->d_name, first) < 0)
            snprintf(first, 256, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static const char *text_of(const char *path)
{
    static char buf[64];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
        fclose(f);
    }
    return buf;
}

static void put_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* A file already named FILE.tmp (someone's, or a link planted there to
 * another file) is neither written nor removed: weft_save_file wrote
 * FILE.tmp with fopen(, "w"), which emptied that file or wrote through the
 * link into the file it led to, then renamed it over FILE. */
Test(common, save_file_leaves_a_file_named_like_its_temporary_alone)
{
    char dir[] = "/tmp/weft-test-tmpname-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[64], mine[64], link_out[64], link[64], victim[64];
    snprintf(out, sizeof out, "%s/out.csv", dir);
    snprintf(mine, sizeof mine, "%s/out.csv.tmp", dir);
    snprintf(link_out, sizeof link_out, "%s/l.csv", dir);
    snprintf(link, sizeof link, "%s/l.csv.tmp", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    put_text(mine, "mine\n");
    put_text(victim, "victim\n");
    cr_assert_eq(symlink(victim, link), 0);
    cr_assert_eq(weft_save_file(out, write_new, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(weft_save_file(link_out, write_new, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_str_eq(text_of(out), "new\n");
    cr_assert_str_eq(text_of(link_out), "new\n");
    cr_assert_str_eq(text_of(mine), "mine\n");
    cr_assert_str_eq(text_of(victim), "victim\n");
    struct stat sb;
    cr_assert(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the planted link was replaced");
    char first[256];
    cr_assert_eq(entries_in(dir, first), 5, "a temporary file left behind");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static weft_err_t write_then_die(FILE *f, const void *arg)
{
    (void)arg;
    fputs("half of it\n", f);
    fflush(f);
    raise(SIGTERM);
    return WEFT_OK;
}

/* A signal that ends a write (Ctrl-C in a large `weft convert`) removes
 * the temporary file it was writing, and the process still dies of it;
 * the partial file used to stay. */
Test(common, save_file_signal_mid_write_removes_the_temporary)
{
    char dir[] = "/tmp/weft-test-signal-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64], first[256];
    snprintf(path, sizeof path, "%s/w.weft", dir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        weft_save_file(path, write_then_die, NULL);
        _exit(0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
    cr_assert_eq(entries_in(dir, first), 0, "left behind: %s", first);
    rmdir(dir);
}

/* weft_tmp_create makes TARGET.tmp-XXXXXX, a new file at each call (never
 * one that exists), with the mode asked less the umask; a directory that
 * is not there is its errno. */
Test(common, tmp_create_makes_a_new_file_each_call)
{
    char dir[] = "/tmp/weft-test-mktmp-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char target[64], *tmp[3];
    snprintf(target, sizeof target, "%s/t.csv", dir);
    umask(027);
    for (int i = 0; i < 3; i++) {
        int fd = weft_tmp_create(target, O_WRONLY, 0666, &tmp[i]);
        cr_assert_geq(fd, 0, "%s", strerror(errno));
        struct stat sb;
        cr_assert_eq(fstat(fd, &sb), 0);
        cr_assert(S_ISREG(sb.st_mode) && sb.st_size == 0);
        cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", (unsigned)(sb.st_mode & 0777));
        close(fd);
        size_t n = strlen(target);
        cr_assert(!strncmp(tmp[i], target, n) && !strncmp(tmp[i] + n, ".tmp-", 5) &&
                      strlen(tmp[i] + n + 5) == 6,
                  "%s", tmp[i]);
        for (int k = 0; k < i; k++)
            cr_assert_str_neq(tmp[i], tmp[k]);
    }
    char first[256];
    cr_assert_eq(entries_in(dir, first), 3);
    for (int i = 0; i < 3; i++) {
        unlink(tmp[i]);
        free(tmp[i]);
    }
    char *none;
    snprintf(target, sizeof target, "%s/gone/t.csv", dir);
    cr_assert_eq(weft_tmp_create(target, O_WRONLY, 0666, &none), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_null(none);
    rmdir(dir);
}
