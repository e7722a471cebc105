/*
 * test_common.c - the shared helpers of common/weft.h that no module test
 * covers on its own: weft_parallel_for, and how weft_save_file writes a
 * file (its temporary file, the mode of the file it replaces, a signal in
 * the middle of a write, the names of descriptors, which error comes
 * first; test_workload.c has a write that fails); the error detail,
 * allocation, the clocks, links followed, exact numbers and checksums.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/weft.h"
#include "tests/tied_child.h"

/* Each test takes milliseconds: one that hangs (a size that doubles
 * for ever) fails in 10 s. */
TestSuite(common, .timeout = 10);

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

/* In a child: writes path `before` times with write_new, then with fn,
 * which is to raise SIGTERM; the child has to die of it (within 10 s: a
 * handler that never lets it die leaves no process spinning behind). */
static void save_in_a_child_that_dies(const char *path, int before, weft_write_fn fn,
                                      const void *arg)
{
    pid_t pid = fork_tied(SIGKILL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        alarm(10);
        signal(SIGTERM, SIG_DFL);
        for (int i = 0; i < before; i++)
            if (weft_save_file(path, write_new, NULL))
                _exit(1);
        weft_save_file(path, fn, arg);
        _exit(0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
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
    save_in_a_child_that_dies(path, 0, write_then_die, NULL);
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

/* weft_wrap puts the whole prefix first and cuts the old detail's tail,
 * so the message fills its 1024 bytes with the NUL and no more, right at
 * the edge; a prefix of 1024 characters is cut itself to 1023 and nothing
 * of the old detail stays. weft_clear_error leaves "". */
Test(common, wrap_fills_the_detail_to_its_last_byte_and_no_further)
{
    static char old[1001], prefix[1025], want[1024];
    memset(old, 'o', 1000);
    memset(prefix, 'p', 24);
    memcpy(want, prefix, 24);
    memset(want + 24, 'o', 999);
    weft_fail(WEFT_EPARSE, "%s", old);
    cr_assert_eq(weft_wrap(WEFT_EPARSE, "%s", prefix), WEFT_EPARSE);
    cr_assert_eq(strlen(weft_last_error()), 1023);
    cr_assert_str_eq(weft_last_error(), want);
    memset(prefix, 'p', 1024);
    memset(want, 'p', 1023);
    weft_fail(WEFT_EPARSE, "%s", old);
    cr_assert_eq(weft_wrap(WEFT_EIO, "%s", prefix), WEFT_EIO);
    cr_assert_str_eq(weft_last_error(), want);
    weft_fail(WEFT_EIO, "a.txt:3: bad");
    weft_clear_error();
    cr_assert_str_eq(weft_last_error(), "");
}

/* n elements of size bytes whose product overflows are refused (NULL,
 * the block kept), and 0 elements give a block still to free, as
 * realloc(p, 0) would not (it frees p and returns NULL). */
Test(common, reallocarray_refuses_an_overflow_and_keeps_a_block_for_zero)
{
    char *p = malloc(8);
    cr_assert_not_null(p);
    cr_assert_null(weft_reallocarray(p, SIZE_MAX / 2 + 2, 2));
    p = weft_reallocarray(p, 0, 8);
    cr_assert_not_null(p);
    free(p);
}

/* weft_grow starts at 16 elements, doubles to the first power of two at
 * or above need, keeps the elements, leaves an array big enough alone,
 * and refuses a size past half the address space without looping. */
Test(common, grow_doubles_from_16_and_stops_at_the_address_space)
{
    int *p = NULL;
    size_t cap = 0;
    cr_assert_eq(weft_grow((void **)&p, &cap, 1, sizeof *p), WEFT_OK);
    cr_assert_not_null(p);
    cr_assert_eq(cap, 16);
    p[15] = 7;
    cr_assert_eq(weft_grow((void **)&p, &cap, 16, sizeof *p), WEFT_OK);
    cr_assert_eq(cap, 16);
    cr_assert_eq(weft_grow((void **)&p, &cap, 17, sizeof *p), WEFT_OK);
    cr_assert_eq(cap, 32);
    cr_assert_eq(weft_grow((void **)&p, &cap, 64, sizeof *p), WEFT_OK);
    cr_assert_eq(cap, 64);
    p[63] = 1;
    cr_assert_eq(p[15], 7);
    int *kept = p;
    cr_assert_eq(weft_grow((void **)&p, &cap, SIZE_MAX, 1), WEFT_ENOMEM);
    cr_assert(p == kept && cap == 64);
    cr_assert(strstr(weft_last_error(), "cannot grow array"), "%s", weft_last_error());
    free(p);
}

/* Both clocks count seconds: the wall clock is the epoch's (time()), and
 * 20 ms of sleep are 20 ms on the monotonic one. */
Test(common, clocks_count_seconds)
{
    double wall = weft_wall_s();
    time_t now = time(NULL);
    cr_assert(wall > (double)now - 2 && wall < (double)now + 2, "%f against %ld", wall,
              (long)now);
    double t0 = weft_mono_s();
    struct timespec nap = {0, 20000000};
    cr_assert_eq(nanosleep(&nap, NULL), 0);
    double slept = weft_mono_s() - t0;
    cr_assert(slept >= 0.019 && slept < 5, "%f s", slept);
}

/* %g's 6 digits where they read back, else the fewest more, up to 17. */
Test(common, fmt_exact_prints_the_fewest_digits_that_read_back)
{
    char buf[WEFT_FMT_LEN];
    cr_assert_str_eq(weft_fmt_exact(1e6, buf, sizeof buf), "1e+06");
    cr_assert_str_eq(weft_fmt_exact(0.1, buf, sizeof buf), "0.1");
    cr_assert_str_eq(weft_fmt_exact(1000000001, buf, sizeof buf), "1000000001");
    cr_assert_str_eq(weft_fmt_exact(0.1 + 0.2, buf, sizeof buf), "0.30000000000000004");
}

/* C0 controls, DEL, the C1 controls as UTF-8 (U+009B, CSI) and as a lone
 * byte (0x9b), and a byte of no character, escaped a byte each; printable
 * ASCII and other UTF-8 (é, U+00A0 the first past C1) as they are. Cut
 * between characters: at max bytes, and where out is full. */
Test(common, shown_escapes_c0_and_c1_controls_and_cuts_between_characters)
{
    char out[128];
    const char *in = "a\x1b[2J\x7f\xc2\x9b" "1m\x9b\xc3\xa9\xc2\xa0\xff\tz";
    cr_assert_str_eq(weft_shown(in, strlen(in), SIZE_MAX, out, sizeof out),
                     "a\\x1b[2J\\x7f\\xc2\\x9b" "1m\\x9b\xc3\xa9\xc2\xa0\\xff\\x09z");
    cr_assert_str_eq(weft_shown("ab\xc3\xa9", 4, 3, out, sizeof out), "ab"); /* é cut */
    cr_assert_str_eq(weft_shown("ab\xc3\xa9", 4, 4, out, sizeof out), "ab\xc3\xa9");
    cr_assert_str_eq(weft_shown("a\x01", 2, SIZE_MAX, out, 5), "a"); /* \x01 and NUL: 6 */
    cr_assert_str_eq(weft_shown("a\x01", 2, SIZE_MAX, out, 6), "a\\x01");
    cr_assert_str_eq(weft_shown("\xc2\x9b", 2, SIZE_MAX, out, 8), ""); /* both bytes, or none */
    /* "\xc2" alone is cut short: no character, so a byte escaped */
    cr_assert_str_eq(weft_shown("\xc2", 1, SIZE_MAX, out, sizeof out), "\\xc2");
}

/* What RFC 3629 leaves out of UTF-8 is no character, a byte each escaped:
 * overlong forms (E0 80 9B and F0 80 80 9B are ESC, E0 82 9B is U+009B,
 * to a decoder that does not check), surrogates and code points past
 * U+10FFFF; the first and last characters of each range around them are
 * characters. */
Test(common, shown_escapes_overlong_forms_surrogates_and_past_u10ffff)
{
    char out[64];
    const struct {
        const char *in, *want;
    } cases[] = {
        {"\xe0\x80\x9b", "\\xe0\\x80\\x9b"},
        {"\xe0\x82\x9b", "\\xe0\\x82\\x9b"},
        {"\xf0\x80\x80\x9b", "\\xf0\\x80\\x80\\x9b"},
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},         /* U+D800 */
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},         /* U+DFFF */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* U+110000 */
        {"\xe0\xa0\x80", "\xe0\xa0\x80"},             /* U+0800 */
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},             /* U+D7FF */
        {"\xee\x80\x80", "\xee\x80\x80"},             /* U+E000 */
        {"\xf0\x90\x80\x80", "\xf0\x90\x80\x80"},     /* U+10000 */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},     /* U+10FFFF */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        cr_expect_str_eq(weft_shown(cases[k].in, strlen(cases[k].in), SIZE_MAX, out, sizeof out),
                         cases[k].want, "case %zu", k);
    cr_assert_eq(weft_utf8_len((const unsigned char *)"\xe0\x80\x9b", 3), 0);
    cr_assert_eq(weft_utf8_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
}

/* The smallest buffers: cap 0 writes nothing at all, not even the NUL;
 * cap 1 only the NUL; a max of 0 shows nothing of s. */
Test(common, shown_into_a_cap_of_0_or_1)
{
    char out[4] = "ZZZ";
    cr_assert_eq(weft_shown("a", 1, SIZE_MAX, out, 0), out);
    cr_assert_str_eq(out, "ZZZ");
    cr_assert_str_eq(weft_shown("a", 1, SIZE_MAX, out, 1), "");
    cr_assert_eq(out[1], 'Z');
    cr_assert_str_eq(weft_shown("ab", 2, 0, out, sizeof out), "");
}

/* The checksum is sha256sum's ("abc" is FIPS 180-2's example); a
 * directory, which fopen opens but cannot read, has none. */
Test(common, file_sha256_is_sha256sum_s)
{
    char dir[] = "/tmp/weft-test-sha-XXXXXX", path[64], hex[65];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/abc", dir);
    put_text(path, "abc");
    cr_assert_eq(weft_file_sha256(path, hex), WEFT_OK, "%s", weft_last_error());
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_eq(weft_file_sha256(dir, hex), WEFT_EIO);
    cr_assert(strstr(weft_last_error(), "cannot read it to the end"), "%s", weft_last_error());
    unlink(path);
    rmdir(dir);
}

/* Links are followed as the kernel does, 40 of them and no more: the
 * 41st names the link it could not follow. A relative one is read from
 * its own directory, and the name each gives is taken whole, even where
 * it is shorter than the one before (a name longer than its link
 * once read on past the link's end). */
Test(common, link_target_follows_40_links_and_names_the_41st)
{
    char dir[] = "/tmp/weft-test-links-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[96], next[16], want[256], *target = NULL;
    for (int i = 1; i <= 41; i++) {
        snprintf(path, sizeof path, "%s/l%d", dir, i);
        snprintf(next, sizeof next, "l%d", i + 1);
        cr_assert_eq(symlink(i == 41 ? "f" : next, path), 0);
    }
    snprintf(path, sizeof path, "%s/l2", dir);
    cr_assert_eq(weft_link_target(path, &target), WEFT_OK, "%s", weft_last_error());
    snprintf(want, sizeof want, "%s/f", dir);
    cr_assert_str_eq(target, want);
    free(target);
    snprintf(path, sizeof path, "%s/l1", dir);
    cr_assert_eq(weft_link_target(path, &target), WEFT_EIO);
    snprintf(want, sizeof want, "%s: cannot follow the link %s/l41: %s", path, dir,
             strerror(ELOOP));
    cr_assert_str_eq(weft_last_error(), want);
    /* xxxxx -> yyy...y -> b: b's name is made in the block xxxxx's was */
    snprintf(path, sizeof path, "%s/xxxxx", dir);
    cr_assert_eq(symlink("yyyyyyyyyyyyyyyyyyyy", path), 0);
    snprintf(want, sizeof want, "%s/yyyyyyyyyyyyyyyyyyyy", dir);
    cr_assert_eq(symlink("b", want), 0);
    cr_assert_eq(weft_link_target(path, &target), WEFT_OK, "%s", weft_last_error());
    snprintf(want, sizeof want, "%s/b", dir);
    cr_assert_str_eq(target, want);
    free(target);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The file a test descriptor leads to, opened for appending with "old\n"
 * in it. */
static int open_old(const char *path)
{
    put_text(path, "old\n");
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 3, "%s: %s", path, strerror(errno));
    return fd;
}

/* /proc/self/fd/N and /dev/stderr are written into the descriptor itself
 * (">>" keeps appending), while /dev/fd/+N, /dev/fd/Nx and a descriptor
 * past INT_MAX name none: nothing is written into N, and a descriptor
 * that is not open is "cannot write". */
Test(common, save_file_reads_a_descriptor_s_number_whole)
{
    char dir[] = "/tmp/weft-test-fdname-XXXXXX", path[64], name[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open_old(path);
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    cr_assert_eq(weft_save_file(name, write_new, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_str_eq(text_of(path), "old\nnew\n");
    static const char *const not_numbers[] = {"/dev/fd/+%d", "/dev/fd/%dx"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(name, sizeof name, not_numbers[i], fd);
        cr_assert_eq(weft_save_file(name, write_new, NULL), WEFT_EIO, "%s", name);
        cr_assert_str_eq(text_of(path), "old\nnew\n", "%s", name);
    }
    close(fd);
    cr_assert_eq(weft_save_file("/dev/fd/2147483647", write_new, NULL), WEFT_EIO);
    cr_assert_str_eq(weft_last_error(), "/dev/fd/2147483647: cannot write: Bad file descriptor");
    fd = open_old(path);
    int saved = dup(2);
    cr_assert_geq(saved, 0);
    cr_assert_eq(dup2(fd, 2), 2);
    weft_err_t err = weft_save_file("/dev/stderr", write_new, NULL);
    cr_assert_eq(dup2(saved, 2), 2);
    close(saved);
    close(fd);
    cr_assert_eq(err, WEFT_OK, "%s", weft_last_error());
    cr_assert_str_eq(text_of(path), "old\nnew\n");
    unlink(path);
    rmdir(dir);
}

/* What was printed on stdout before goes to /dev/stdout first. */
Test(common, save_file_to_dev_stdout_comes_after_what_was_printed)
{
    char dir[] = "/tmp/weft-test-stdout-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out", dir);
    fflush(stdout);
    pid_t pid = fork_tied(SIGKILL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) != 1 || setvbuf(stdout, NULL, _IOFBF, BUFSIZ))
            _exit(2);
        fputs("table\n", stdout);
        _exit(weft_save_file("/dev/stdout", write_new, NULL) ? 1 : 0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    cr_assert_str_eq(text_of(path), "table\nnew\n");
    unlink(path);
    rmdir(dir);
}

static weft_err_t write_then_refuse(FILE *f, const void *arg)
{
    (void)arg;
    fputs("new\n", f);
    return weft_fail(WEFT_EINVAL, "the writer's own error");
}

/* A stream error that fflush does not repeat (here a read on a stream
 * open for writing only, its errno lost after). */
static weft_err_t write_then_break_the_stream(FILE *f, const void *arg)
{
    (void)arg;
    fputs("new\n", f);
    /* cppcheck-suppress IOWithoutPositioning ; the broken stream is the point */
    fgetc(f);
    errno = 0;
    return WEFT_OK;
}

/* The writer's own error is the one returned, though writing what it
 * left and closing then fail too (/dev/full); a stream that went wrong
 * is an error even when the last flush went through, and without an
 * errno it reads as an I/O error, not "Success". */
Test(common, save_file_reports_the_first_error)
{
    cr_assert_eq(weft_save_file("/dev/full", write_then_refuse, NULL), WEFT_EINVAL);
    cr_assert_str_eq(weft_last_error(), "/dev/full: the writer's own error");
    cr_assert_eq(weft_save_file("/dev/null", write_then_break_the_stream, NULL), WEFT_EIO);
    cr_assert_str_eq(weft_last_error(), "/dev/null: writing failed: Input/output error");
}

static weft_err_t write_inner_then_die(FILE *f, const void *arg)
{
    fputs("outer\n", f);
    fflush(f);
    return weft_save_file(arg, write_then_die, NULL);
}

/* A signal removes every temporary file being written, two at once
 * (nested here, as two threads would write them) after twenty writes
 * (each gives its slot back). */
Test(common, save_file_signal_removes_both_temporaries_after_many_writes)
{
    char dir[] = "/tmp/weft-test-slots-XXXXXX", path[64], inner[64], first[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/w.weft", dir);
    snprintf(inner, sizeof inner, "%s/inner.weft", dir);
    save_in_a_child_that_dies(path, 20, write_inner_then_die, inner);
    cr_assert_eq(entries_in(dir, first), 1, "left behind: %s", first);
    cr_assert_str_eq(first, "w.weft");
    cr_assert_str_eq(text_of(path), "new\n");
    unlink(path);
    rmdir(dir);
}

/* Each of the six random characters is a letter or a digit, drawn from
 * all 62 of them and nothing else (a NUL drawn cut the name short). */
Test(common, tmp_create_names_have_six_letters_or_digits)
{
    char dir[] = "/tmp/weft-test-tmpchars-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char target[64], *tmp;
    snprintf(target, sizeof target, "%s/t", dir);
    size_t n = strlen(target) + 5;
    for (int i = 0; i < 100; i++) {
        int fd = weft_tmp_create(target, O_WRONLY, 0600, &tmp);
        cr_assert_geq(fd, 0, "%s", strerror(errno));
        close(fd);
        cr_assert_eq(strlen(tmp), n + 6, "%s", tmp);
        for (size_t k = n; k < n + 6; k++)
            cr_assert(isalnum((unsigned char)tmp[k]), "%s", tmp);
        unlink(tmp);
        free(tmp);
    }
    rmdir(dir);
}

/* A path under a regular file is refused before any work, saying that
 * the file is not a directory (not that it cannot be written into). */
Test(common, save_check_says_a_file_is_not_a_directory)
{
    char dir[] = "/tmp/weft-test-check-XXXXXX", file[64], path[96], want[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(path, sizeof path, "%s/out.csv", file);
    put_text(file, "a file\n");
    cr_assert_eq(weft_save_check(path), WEFT_EIO);
    snprintf(want, sizeof want, "%s: '%s' is not a directory", path, file);
    cr_assert_str_eq(weft_last_error(), want);
    unlink(file);
    rmdir(dir);
}

/* As a user who cannot write into / or /dev (nobody, when the tests run
 * as root): a relative name is checked in the working directory, a name
 * in / in /, and a device is written as it is, its directory unasked. */
Test(common, save_check_asks_the_directory_the_file_goes_into)
{
    char dir[] = "/tmp/weft-test-where-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0777), 0);
    pid_t pid = fork(); /* not fork_tied: setuid clears the tie, and it ends at once */
    cr_assert(pid >= 0);
    if (pid == 0) {
        if ((getuid() == 0 && (setgid(65534) || setuid(65534))) || chdir(dir))
            _exit(9);
        if (weft_save_check("out.csv"))
            _exit(1);
        if (weft_save_check("/out.csv") != WEFT_EIO ||
            strcmp(weft_last_error(), "/out.csv: cannot write into '/': Permission denied"))
            _exit(2);
        _exit(weft_save_check("/dev/null") ? 3 : 0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    rmdir(dir);
}

/* Each code has its own short name, and one outside the enum "unknown
 * error". */
Test(common, strerror_names_each_code)
{
    static const struct {
        weft_err_t err;
        const char *name;
    } names[] = {
        {WEFT_OK, "success"},
        {WEFT_ENOMEM, "out of memory"},
        {WEFT_EIO, "input/output error"},
        {WEFT_EPARSE, "parse error"},
        {WEFT_ETRUNC, "truncated input"},
        {WEFT_ECYCLE, "cycle in DAG"},
        {WEFT_EINVAL, "invalid value"},
        {WEFT_EVERSION, "unsupported version"},
        {WEFT_ENOTFOUND, "not found"},
        {WEFT_EPROTO, "protocol error"},
        {WEFT_EAUTH, "authentication failed"},
        {WEFT_EINTERNAL, "internal error"},
        {(weft_err_t)-12, "unknown error"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        cr_assert_str_eq(weft_strerror(names[i].err), names[i].name);
}

/* The 95% Student t quantile against its definition's values: df 1 and 2
 * in closed form (tan(0.475 pi); sqrt(2 x 0.95^2 / (1 - 0.95^2))), the
 * rest from the series of P(|T| < t) solved in double (scripts/
 * eval_check.py, R's qt(0.975, df) to the digits it prints), and the
 * expansion beyond 1000 against the series at 1001 and 5000. `weft eval`
 * used a table of three decimals (4.303 for 2, 2.069 for 23) and 1.96 +
 * 2.5 / df beyond 30 (2.0225 for 40, 2.0132 for 47), so its intervals,
 * printed to four decimals, were wide by up to 0.07%. */
Test(common, t95_is_the_student_t_quantile)
{
    static const struct {
        size_t df;
        double t;
    } cases[] = {{1, 12.706204736174696}, {2, 4.302652729749464}, {3, 3.1824463052837064},
                 {5, 2.5705818356363146}, {10, 2.228138851986274}, {23, 2.068657610419047},
                 {30, 2.042272456301238}, {31, 2.0395134463964073}, {40, 2.0210753903062715},
                 {47, 2.0117405137297606}, {100, 1.983971518523556},
                 {1000, 1.962339080826423}, {1001, 1.9623367052809004},
                 {5000, 1.9604385517064862}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double t = weft_t95(cases[i].df);
        cr_assert(fabs(t - cases[i].t) <= 1e-12 * cases[i].t, "df %zu: %.17g, want %.17g",
                  cases[i].df, t, cases[i].t);
    }
    cr_assert(isnan(weft_t95(0)));
    /* the normal quantile in the limit, from above */
    double big = weft_t95((size_t)1 << 50);
    cr_assert(big >= 1.959963984540054 && big - 1.959963984540054 < 1e-14, "%.17g", big);
}

