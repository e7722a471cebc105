/*
 * test_common.c - the shared helpers of common/weft.h that no module test
 * covers on its own: weft_parallel_for, and the mode of a file
 * weft_save_file replaces.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
