/*
 * weft.c - error codes, thread-local error details, checked allocation and
 * writing an output file.
 */
#include "weft.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DETAIL_MAX 1024

static _Thread_local char detail[DETAIL_MAX];

const char *weft_strerror(weft_err_t err)
{
    switch (err) {
    case WEFT_OK: return "success";
    case WEFT_ENOMEM: return "out of memory";
    case WEFT_EIO: return "input/output error";
    case WEFT_EPARSE: return "parse error";
    case WEFT_ETRUNC: return "truncated input";
    case WEFT_ECYCLE: return "cycle in DAG";
    case WEFT_EINVAL: return "invalid value";
    case WEFT_EVERSION: return "unsupported version";
    case WEFT_ENOTFOUND: return "not found";
    case WEFT_EPROTO: return "protocol error";
    case WEFT_EAUTH: return "authentication failed";
    case WEFT_EINTERNAL: return "internal error";
    }
    return "unknown error";
}

weft_err_t (weft_fail)(weft_err_t err, const char *fmt, ...) /* not weft.h's macro */
{
    /* formatted aside first: an argument may be weft_last_error() itself
       (vsnprintf into the buffer it reads is undefined, and garbled it) */
    char msg[DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(detail, msg, sizeof detail);
    return err;
}

weft_err_t weft_wrap(weft_err_t err, const char *fmt, ...)
{
    char prefix[DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = n < 0 ? 0 : (size_t)n >= sizeof prefix ? sizeof prefix - 1 : (size_t)n;
    size_t dlen = strlen(detail);
    if (plen + dlen >= DETAIL_MAX) /* keep the prefix, cut the old detail's tail */
        dlen = DETAIL_MAX - 1 - plen;
    memmove(detail + plen, detail, dlen);
    memcpy(detail, prefix, plen);
    detail[plen + dlen] = '\0';
    return err;
}

const char *weft_last_error(void) { return detail; }

void weft_clear_error(void) { detail[0] = '\0'; }

void *weft_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *weft_reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}

weft_err_t weft_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return WEFT_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return weft_fail(WEFT_ENOMEM, "cannot grow array to %zu elements", need);
        ncap *= 2;
    }
    void *np = weft_reallocarray(*p, ncap, size);
    if (!np)
        return weft_fail(WEFT_ENOMEM, "out of memory growing array to %zu elements of %zu bytes",
                         ncap, size);
    *p = np;
    *cap = ncap;
    return WEFT_OK;
}

double weft_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double weft_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    size_t n;
    atomic_size_t next;
    void (*fn)(void *arg, size_t i);
    void *arg;
    void (*thread_done)(void);
} parallel_t;

static void *parallel_worker(void *arg)
{
    parallel_t *p = arg;
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
        p->fn(p->arg, i);
    if (p->thread_done)
        p->thread_done();
    return NULL;
}

weft_err_t weft_parallel_for(size_t n, size_t threads, void (*fn)(void *arg, size_t i),
                             void *arg, void (*thread_done)(void))
{
    size_t extra = threads > 1 && n > 1 ? (threads < n ? threads : n) - 1 : 0;
    pthread_t *th = weft_calloc(extra ? extra : 1, sizeof *th);
    if (!th)
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu threads", extra + 1);
    parallel_t p = {.n = n, .fn = fn, .arg = arg, .thread_done = thread_done};
    atomic_init(&p.next, 0);
    size_t started = 0;
    for (; started < extra; started++)
        if (pthread_create(&th[started], NULL, parallel_worker, &p))
            break;
    parallel_worker(&p); /* the calling thread works too */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return WEFT_OK;
}

/* Symbolic links followed before giving up, as the kernel's limit. */
#define LINK_HOPS 40

weft_err_t weft_link_target(const char *path, char **target)
{
    char *cur = strdup(path);
    char link[PATH_MAX];
    for (int hops = 0; cur; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode))
            break; /* no link: a file, or none yet (creating it will say why it cannot be) */
        ssize_t k = hops < LINK_HOPS ? readlink(cur, link, sizeof link) : (errno = ELOOP, -1);
        if (k == (ssize_t)sizeof link)
            k = -1, errno = ENAMETOOLONG;
        if (k < 0) {
            weft_err_t err = strcmp(cur, path)
                ? weft_fail(WEFT_EIO, "%s: cannot follow the link %s: %s", path, cur,
                            strerror(errno))
                : weft_fail(WEFT_EIO, "%s: cannot follow the link: %s", path, strerror(errno));
            free(cur);
            return err;
        }
        /* a relative link is read from the directory that holds it */
        const char *slash = link[0] == '/' ? NULL : strrchr(cur, '/');
        size_t dir = slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = malloc(dir + (size_t)k + 1);
        if (next) {
            memcpy(next, cur, dir);
            memcpy(next + dir, link, (size_t)k);
            next[dir + (size_t)k] = '\0';
        }
        free(cur);
        cur = next;
    }
    if (!cur)
        return weft_fail(WEFT_ENOMEM, "%s: out of memory following links", path);
    *target = cur;
    return WEFT_OK;
}

/* fn writes into f, which is then closed whatever happened: the first
 * error. */
static weft_err_t write_and_close(FILE *f, weft_write_fn fn, const void *arg)
{
    errno = 0; /* a stream error without an errno is reported as EIO */
    weft_err_t err = fn(f, arg);
    if (!err && (fflush(f) != 0 || ferror(f)))
        err = weft_fail(WEFT_EIO, "writing failed: %s", strerror(errno ? errno : EIO));
    if (fclose(f) != 0 && !err)
        err = weft_fail(WEFT_EIO, "closing failed: %s", strerror(errno));
    return err;
}

/* fn writes into descriptor fd (-1: it could not be had, errno says why)
 * of path, as it is: no temporary file, nothing replaced. */
static weft_err_t write_through(const char *path, int fd, const char *failing, weft_write_fn fn,
                                const void *arg)
{
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        /* fdopen's EINVAL: a descriptor open for reading only (/dev/fd/0,
           or a closed stdout that main holds on /dev/null), which write(2)
           would refuse with EBADF */
        weft_err_t err = weft_fail(WEFT_EIO, "%s: %s: %s", path, failing,
                                   strerror(errno == EINVAL ? EBADF : errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    weft_err_t err = write_and_close(f, fn, arg);
    return err ? weft_wrap(err, "%s: ", path) : WEFT_OK;
}

/* The descriptor a path names ("/dev/stdout", "/dev/stderr", "/dev/fd/N",
 * "/proc/self/fd/N"), or -1 when it names none. */
static int named_descriptor(const char *path)
{
    if (!strcmp(path, "/dev/stdout"))
        return 1;
    if (!strcmp(path, "/dev/stderr"))
        return 2;
    const char *num = !strncmp(path, "/dev/fd/", 8)          ? path + 8
                      : !strncmp(path, "/proc/self/fd/", 14) ? path + 14
                                                             : NULL;
    if (!num || *num < '0' || *num > '9')
        return -1;
    char *end;
    errno = 0;
    long fd = strtol(num, &end, 10);
    return *end || errno || fd > INT_MAX ? -1 : (int)fd;
}

int weft_tmp_create(const char *target, int flags, mode_t mode, char **tmp)
{
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = strlen(target) + sizeof ".tmp-XXXXXX";
    *tmp = malloc(n);
    if (!*tmp) {
        errno = ENOMEM;
        return -1;
    }
    /* the name only has to be free: the random part makes a collision
     * rare, O_EXCL makes one harmless (another try); without the kernel's
     * randomness, the process and the clock tell runs apart */
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts = {0, 0};
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)getpid() << 32 ^
               ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r = weft_splitmix64(&seed);
        char suffix[7];
        for (int i = 0; i < 6; i++, r /= sizeof letters - 1)
            suffix[i] = letters[r % (sizeof letters - 1)];
        suffix[6] = '\0';
        snprintf(*tmp, n, "%s.tmp-%s", target, suffix);
        int fd = open(*tmp, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    int why = errno;
    free(*tmp);
    *tmp = NULL;
    errno = why;
    return -1;
}

/* The temporary files weft_save_file is writing, removed if SIGINT,
 * SIGTERM or SIGHUP ends the process first (a Ctrl-C in the middle of a
 * large `weft convert` left a partial OUT.tmp). Paths are copied into
 * static slots, so the handler reads no memory another thread may free;
 * it only unlinks (async-signal-safe), then dies of the signal as before.
 * Installed only where the signal's disposition is the default, so a
 * command that handles a signal itself keeps its handler. */
enum { SAVE_SLOTS = 16, SAVE_PATH = 1024 };
static char saving_path[SAVE_SLOTS][SAVE_PATH];
/* A slot is marked used after its path is written, and the handler, which
 * may run on another thread, reads the mark before the path: atomics (a
 * store that releases the path, a load that acquires it), which C11 lets
 * a handler use when they are lock-free; a volatile sig_atomic_t orders
 * nothing between threads. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler uses only lock-free atomics");
static _Atomic int saving_used[SAVE_SLOTS];
static pthread_mutex_t saving_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t saving_once = PTHREAD_ONCE_INIT;
static const int saving_signals[] = {SIGINT, SIGTERM, SIGHUP};

void weft_save_remove_partial(void)
{
    for (int i = 0; i < SAVE_SLOTS; i++)
        if (saving_used[i])
            unlink(saving_path[i]);
}

static void remove_partial_files(int sig)
{
    weft_save_remove_partial();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_partial_cleanup(void)
{
    for (size_t i = 0; i < sizeof saving_signals / sizeof *saving_signals; i++) {
        struct sigaction old;
        if (sigaction(saving_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = remove_partial_files;
            sigemptyset(&sa.sa_mask);
            sigaction(saving_signals[i], &sa, NULL);
        }
    }
}

void weft_save_signals(void)
{
    pthread_once(&saving_once, install_partial_cleanup);
}

/* A slot holding tmp, or -1 (no slot free, or a path too long: the file
 * is then not removed on a signal, as before). */
static int track_partial(const char *tmp)
{
    weft_save_signals();
    if (strlen(tmp) >= SAVE_PATH)
        return -1;
    int slot = -1;
    pthread_mutex_lock(&saving_lock);
    for (int i = 0; i < SAVE_SLOTS && slot < 0; i++)
        if (!saving_used[i]) {
            memcpy(saving_path[i], tmp, strlen(tmp) + 1);
            saving_used[i] = 1;
            slot = i;
        }
    pthread_mutex_unlock(&saving_lock);
    return slot;
}

void weft_tmp_untrack(int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&saving_lock);
    saving_used[slot] = 0;
    pthread_mutex_unlock(&saving_lock);
}

int weft_tmp_create_tracked(const char *target, int flags, mode_t mode, char **tmp, int *slot)
{
    weft_save_signals();
    sigset_t held, prev;
    sigemptyset(&held);
    for (size_t i = 0; i < sizeof saving_signals / sizeof *saving_signals; i++)
        sigaddset(&held, saving_signals[i]);
    pthread_sigmask(SIG_BLOCK, &held, &prev);
    int fd = weft_tmp_create(target, flags, mode, tmp), why = errno;
    *slot = fd >= 0 ? track_partial(*tmp) : -1;
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    errno = why;
    return fd;
}

/* An empty name would write the whole output into a temporary file in the
 * working directory ("./.tmp" once, someone's file overwritten), only to
 * fail at the rename to "". */
static weft_err_t refuse_empty_name(const char *path)
{
    return *path ? WEFT_OK : weft_fail(WEFT_EINVAL, "an empty file name");
}

weft_err_t weft_save_file(const char *path, weft_write_fn fn, const void *arg)
{
    if (refuse_empty_name(path))
        return WEFT_EINVAL;
    int named = named_descriptor(path);
    if (named >= 0) {
        /* Written into the open descriptor itself, so the shell's
         * redirection holds (">>" appends): reopening the file it leads
         * to, or replacing that file, would not. What the program printed
         * on stdout before goes first, not after (it may be the same file:
         * eval's table, then --csv /dev/stdout). */
        fflush(stdout);
        return write_through(path, fcntl(named, F_DUPFD_CLOEXEC, 3), "cannot write", fn, arg);
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* A device, FIFO or socket cannot be replaced by a file, and is no
         * file to truncate: written as it is (a directory fails here with
         * EISDIR). */
        return write_through(path, open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC), "cannot open",
                             fn, arg);
    }
    char *target = NULL, *tmp = NULL;
    weft_err_t err = weft_link_target(path, &target);
    if (err)
        return err;
    /* the file replaced keeps its permissions (a private 0600 file stays
     * private), as sed -i keeps them; a new one gets the umask's */
    struct stat old;
    bool replaces = stat(target, &old) == 0 && S_ISREG(old.st_mode);
    int slot;
    int fd = weft_tmp_create_tracked(target, O_WRONLY, 0666, &tmp, &slot), why = errno;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd < 0) {
        err = weft_fail(WEFT_EIO, "cannot create a file beside %s to write: %s", target,
                        strerror(why));
    } else if (!f) {
        err = weft_fail(WEFT_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        close(fd);
        remove(tmp);
    } else if (replaces && fchmod(fd, old.st_mode & 0777) != 0) {
        err = weft_fail(WEFT_EIO, "%s: cannot give it the mode %o of %s: %s", tmp,
                        (unsigned)(old.st_mode & 0777), target, strerror(errno));
        fclose(f);
        remove(tmp);
    } else {
        err = write_and_close(f, fn, arg);
        if (!err && rename(tmp, target) != 0)
            err = weft_fail(WEFT_EIO, "cannot rename %s over %s: %s", tmp, target,
                            strerror(errno));
        if (err)
            remove(tmp);
    }
    weft_tmp_untrack(slot);
    free(tmp);
    free(target);
    return err ? weft_wrap(err, "%s: ", path) : WEFT_OK;
}

weft_err_t weft_save_check(const char *path)
{
    if (refuse_empty_name(path))
        return WEFT_EINVAL;
    struct stat sb;
    if (named_descriptor(path) >= 0)
        return WEFT_OK;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) /* weft_save_file's open would fail */
        return weft_fail(WEFT_EIO, "%s: cannot write: %s", path, strerror(EISDIR));
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return WEFT_OK;
    char *target = NULL;
    weft_err_t err = weft_link_target(path, &target);
    if (err)
        return err;
    char *slash = strrchr(target, '/');
    const char *dir = slash ? target : ".";
    if (slash == target)
        dir = "/";
    else if (slash)
        *slash = '\0';
    if (stat(dir, &sb) != 0)
        /* NOLINTNEXTLINE(bugprone-branch-clone): one message, two causes */
        err = weft_fail(WEFT_EIO, "%s: cannot write into '%s': %s", path, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        err = weft_fail(WEFT_EIO, "%s: '%s' is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        err = weft_fail(WEFT_EIO, "%s: cannot write into '%s': %s", path, dir, strerror(errno));
    free(target);
    return err;
}

const char *weft_file_kind(mode_t mode)
{
    return S_ISREG(mode)    ? NULL
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISDIR(mode)  ? "a directory"
                            : "of another kind";
}

const char *weft_waits_for_peer(const char *path)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
        return NULL;
    return weft_file_kind(sb.st_mode);
}

/* The C locale, made once and kept for the process's life (uselocale
 * needs it while any thread uses it). All of it, not only LC_NUMERIC: the
 * formats are ASCII, and weft's messages English. */
static locale_t c_numbers;
static pthread_once_t c_numbers_once = PTHREAD_ONCE_INIT;

static void make_c_numbers(void)
{
    c_numbers = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t weft_c_numbers_begin(void)
{
    pthread_once(&c_numbers_once, make_c_numbers);
    return c_numbers ? uselocale(c_numbers) : (locale_t)0;
}

void weft_c_numbers_end(locale_t prev)
{
    if (prev)
        uselocale(prev);
}

/* P(|T| < t) for Student's t with df degrees of freedom, in closed form
 * (Abramowitz and Stegun 26.7.3 and 26.7.4): with th = atan(t / sqrt(df))
 * and c = cos^2 th, for odd df (2/pi)(th + sin th cos th (1 + 2/3 c +
 * 2.4/(3.5) c^2 + ... up to c^((df-3)/2))), for even df sin th (1 + 1/2 c +
 * 1.3/(2.4) c^2 + ... up to c^((df-2)/2)). */
static double t_two_sided(double t, size_t df)
{
    double th = atan(t / sqrt((double)df)), c = cos(th) * cos(th), sum = 1, term = 1;
    if (df % 2) {
        if (df == 1)
            return 2 / M_PI * th;
        for (size_t k = 1; k <= (df - 3) / 2; k++) {
            term *= c * (double)(2 * k) / (double)(2 * k + 1);
            sum += term;
        }
        return 2 / M_PI * (th + sin(th) * cos(th) * sum);
    }
    for (size_t k = 1; k <= (df - 2) / 2; k++) {
        term *= c * (double)(2 * k - 1) / (double)(2 * k);
        sum += term;
    }
    return sin(th) * sum;
}

size_t weft_utf8_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                                          : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || k > len)
        return 0;
    /* the second byte's range past E0, ED, F0 and F4 (RFC 3629): no overlong
       form (E0 80 9B is U+001B, ESC, to a lax decoder), surrogate or code
       point past U+10FFFF */
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

const char *weft_shown(const char *s, size_t n, size_t max, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0, k; i < n; i += k) {
        k = weft_utf8_len(u + i, n - i);
        bool raw = k == 1 ? u[i] >= 0x20 && u[i] != 0x7f
                          : k > 1 && !(k == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0);
        k = k ? k : 1; /* a byte of no character: that byte */
        size_t need = raw ? k : 4 * k;
        if (i + k > max || o + need >= cap)
            break;
        if (raw)
            memcpy(out + o, u + i, k);
        else
            for (size_t b = 0; b < k; b++)
                snprintf(out + o + 4 * b, 5, "\\x%02x", u[i + b]);
        o += need;
    }
    if (cap)
        out[o] = '\0';
    return out;
}

double weft_t95(size_t df)
{
    if (df == 0)
        return NAN;
    if (df > 1000) {
        /* Cornish-Fisher's expansion in 1/df around the normal quantile z
         * (Abramowitz and Stegun 26.7.5): its next term is below 1e-15 here */
        const double z = 1.959963984540054, z2 = z * z, v = (double)df;
        double g1 = (z2 + 1) * z / 4, g2 = ((5 * z2 + 16) * z2 + 3) * z / 96,
               g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384,
               g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
        return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v;
    }
    /* P(|T| < t) rises with t from 0: bisect [0, 13.0] (12.71 for df 1) */
    double lo = 0, hi = 13.0;
    for (int i = 0; i < 64 && lo < hi; i++) {
        double mid = (lo + hi) / 2;
        if (mid == lo || mid == hi)
            break;
        if (t_two_sided(mid, df) < 0.95)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

const char *weft_fmt_exact(double v, char *buf, size_t n)
{
    for (int digits = 6; digits <= 17; digits++) { /* %g's 6 when they do */
        snprintf(buf, n, "%.*g", digits, v);
        if (!isfinite(v) || strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

weft_err_t weft_file_sha256(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return weft_fail(WEFT_EIO, "%s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], sum[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (size_t n; ok && (n = fread(buf, 1, sizeof buf, f)) > 0;)
        ok = EVP_DigestUpdate(md, buf, n) == 1;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, sum, &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    fclose(f);
    if (!ok)
        return weft_fail(WEFT_EIO, "%s: cannot read it to the end for its checksum", path);
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    return WEFT_OK;
}
