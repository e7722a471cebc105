/*
 * weft.h - what every module of weft shares: the error codes, the
 * detail message that goes with the last error, checked allocation and
 * writing an output file.
 *
 * Convention: a fallible function returns weft_err_t (0 success, negative
 * error) and, on failure, records a human-readable detail with weft_fail()
 * naming what was wrong and where (file:line, job, coflow, value, expected).
 * The detail is thread-local, so emulator runs on several threads do not
 * clobber each other's messages.
 */
#ifndef WEFT_H
#define WEFT_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef enum {
    WEFT_OK = 0,
    WEFT_ENOMEM = -1,    /* allocation failed or size overflowed */
    WEFT_EIO = -2,       /* file could not be opened, read or written */
    WEFT_EPARSE = -3,    /* malformed input: expected one thing, found another */
    WEFT_ETRUNC = -4,    /* input ended before it said it would */
    WEFT_ECYCLE = -5,    /* a job's coflow DAG has a cycle */
    WEFT_EINVAL = -6,    /* a value out of range (port, size, weight, option) */
    WEFT_EVERSION = -7,  /* a file of another format version */
    WEFT_ENOTFOUND = -8, /* a reference to something that does not exist */
    WEFT_EPROTO = -9,    /* protocol violation on the wire */
    WEFT_EAUTH = -10,    /* authentication failed */
    WEFT_EINTERNAL = -11 /* a bug: an invariant of weft itself was broken */
} weft_err_t;

/* Short name of an error code ("parse error"); never NULL. */
const char *weft_strerror(weft_err_t err);

/* Records a detail message for the calling thread and returns err, so a
 * function can `return weft_fail(WEFT_EPARSE, "%s:%zu: ...", ...)`. An
 * argument may be weft_last_error() itself (the detail it replaces). */
weft_err_t weft_fail(weft_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* clang-tidy's analyzer sees one file at a time: without this it takes a
 * failure's return for WEFT_OK and follows the success path with the NULL
 * or unset value that failed (scripts/static.sh) */
#define weft_fail(err, ...) (weft_fail((err), __VA_ARGS__), (err))
#endif

/* Prepends context ("file.txt:12: ") to the calling thread's detail message
 * and returns err unchanged. */
weft_err_t weft_wrap(weft_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The detail of the calling thread's last weft_fail(), or "" if none. */
const char *weft_last_error(void);

/* Clears the calling thread's detail message. */
void weft_clear_error(void);

/* Propagates an error: needs `weft_err_t err` and a `cleanup:` label. */
#define WEFT_CHECK(expr)                                                     \
    do {                                                                     \
        weft_err_t check_err_ = (expr);                                      \
        if (check_err_ < 0) {                                                \
            err = check_err_;                                                \
            goto cleanup;                                                    \
        }                                                                    \
    } while (0)

/* calloc/realloc of n elements of size bytes; NULL on overflow or failure. */
void *weft_calloc(size_t n, size_t size);
void *weft_reallocarray(void *p, size_t n, size_t size);

/* Grows *p (holding *cap elements of size bytes) so it holds at least need
 * elements, doubling. Returns WEFT_ENOMEM (with a detail) on failure and
 * leaves *p untouched. */
weft_err_t weft_grow(void **p, size_t *cap, size_t need, size_t size);

/* Seconds on the monotonic clock (for durations, deadlines and timing). */
double weft_mono_s(void);

/* Seconds since the Unix epoch on the system's wall clock (for times that
 * must mean the same to another process, e.g. after a restart). */
double weft_wall_s(void);

/* Calls fn(arg, i) once for every i in [0, n), on up to `threads` threads
 * (the caller's among them) taking the next i as they finish, so in no set
 * order; every thread that ran calls thread_done() (if not NULL) at its
 * end. Where a thread cannot be started, the others do its share.
 * WEFT_ENOMEM if there is no memory for the threads' handles (nothing
 * ran). */
weft_err_t weft_parallel_for(size_t n, size_t threads, void (*fn)(void *arg, size_t i),
                             void *arg, void (*thread_done)(void));

/* Writes the output file path as a Unix tool does: fn writes the bytes
 * into f (its errors are returned, with "path: " before the detail).
 *   - A name of an open descriptor (/dev/stdout, /dev/stderr, /dev/fd/N,
 *     /proc/self/fd/N) is written into that descriptor, so the shell's
 *     redirection holds (">>" appends to its file).
 *   - A path that exists and is no regular file (a character device such
 *     as /dev/null, a FIFO) is written straight through: opened for
 *     writing as it is, never created nor replaced.
 *   - A symbolic link is followed to the file it leads to (which need not
 *     exist yet; weft_link_target), written as below; the link stays.
 *   - A regular file or a new path is written atomically: into a new
 *     FILE.tmp-XXXXXX in the same directory (weft_tmp_create), renamed
 *     over FILE once written and closed. On any failure FILE is left as
 *     it was and the temporary file removed. A file replaced keeps its
 *     permission bits (0777 of its mode); a new one gets the umask's.
 * EIO naming the path and the OS's reason, or fn's error. */
typedef weft_err_t (*weft_write_fn)(FILE *f, const void *arg);
weft_err_t weft_save_file(const char *path, weft_write_fn fn, const void *arg);

/* Whether weft_save_file(path) could create its temporary file, before
 * any work whose result it will write: EIO naming path and the OS's reason (a
 * missing or unwritable directory, or path a directory itself), EOK for
 * what it writes as it is (a named descriptor, a device, a FIFO), whose
 * errors come at the write. */
weft_err_t weft_save_check(const char *path);

/* What a file of mode `mode` is, to name it where a regular file was
 * expected: "a FIFO", "a character device", "a directory" and so on; NULL
 * for a regular file. */
const char *weft_file_kind(mode_t mode);

/* "a FIFO" or "a socket" when path is one, whose open or read waits for a
 * peer (a FIFO with no writer held weft serve in open(), deaf to SIGTERM);
 * NULL otherwise, or for a NULL path. */
const char *weft_waits_for_peer(const char *path);

/* Installs now what weft_save_file installs at its first file: on SIGINT,
 * SIGTERM or SIGHUP, where their action is the default, a handler that
 * removes the temporary file being written, then dies of the signal. A
 * command that catches one of them itself calls this first, so that the
 * handler it replaces, and hands a signal on to, is that one. */
void weft_save_signals(void);

/* Removes the temporary files weft_save_file is writing now, as its
 * handler does; async-signal-safe (unlink only). For a handler of its own
 * that must remove them first: a directory made for them (sim's --out)
 * can go only once they are gone. */
void weft_save_remove_partial(void);

/* Numbers as the C locale writes them ("1.5", never "1,5") for the
 * calling thread, whatever setlocale() a program embedding weft made, so
 * weft's files read and write alike in every locale: switches the thread
 * to the C locale (uselocale) and returns the locale to hand back to
 * weft_c_numbers_end(). Without memory for the C locale (once, at the
 * first call) the thread's locale is left as it is. */
locale_t weft_c_numbers_begin(void);
void weft_c_numbers_end(locale_t prev);

/* v as %g prints it when its 6 significant digits read back as v, else
 * with the fewest more (up to 17) that do; into buf (WEFT_FMT_LEN bytes
 * are enough); returns buf. A value just above a limit then never prints
 * as the limit: 1000000001 is "1000000001", not %g's "1e+09", while 1e15
 * stays "1e+15" and -100 "-100"; and what it prints reads back as v. */
#define WEFT_FMT_LEN 32
const char *weft_fmt_exact(double v, char *buf, size_t n);

/* The two-sided 95% quantile of Student's t with df degrees of freedom
 * (P(|T| < t) = 0.95: 12.7062 for 1, 2.0687 for 23, 1.9600 in the limit),
 * to within a few units in the last place; NAN for df 0. The half-width of
 * a 95% interval of a mean over n samples is weft_t95(n - 1) s / sqrt(n).
 * O(min(df, 1000)) each of 64 steps. */
double weft_t95(size_t df);

/* one when n is 1, else many: "%zu %s" for the counts of the summaries
 * and notes people read ("1 job", "2 jobs"); not in CSV, JSON or the
 * lines that scripts parse, which keep their words whatever the count. */
static inline const char *weft_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* The length of the UTF-8 character at s[0..len) (1 for an ASCII byte,
 * control characters included), or 0 where none starts: a byte no
 * character starts with, a sequence cut short or without its continuation
 * bytes, an overlong form, a surrogate or past U+10FFFF. len >= 1. */
size_t weft_utf8_len(const unsigned char *s, size_t len);

/* s[0..n) to echo in a message, when a peer or a file gave it: printable
 * ASCII and other UTF-8 characters as they are; C0 controls, DEL, the C1
 * controls U+0080..U+009F (a terminal may act on them: U+009B starts an
 * escape sequence) and bytes of no character as \xNN, a byte each. The
 * whole characters within its first max bytes that fit out[0..cap);
 * returns out. */
const char *weft_shown(const char *s, size_t n, size_t max, char *out, size_t cap);

/* The SHA-256 of the file at path in lowercase hex, as sha256sum prints
 * it (OpenSSL). EIO naming the path. */
weft_err_t weft_file_sha256(const char *path, char hex[65]);

/* The file that writing path replaces: path with symbolic links followed
 * (up to 40, each relative one from the directory of the link), into
 * *target (malloc'ed; the caller frees it); a copy of path where it is
 * no link. The last link may lead to nothing yet. EIO (a loop, an
 * unreadable link) or ENOMEM, naming path. */
weft_err_t weft_link_target(const char *path, char **target);

/* A new file beside target, to be renamed over it once written: named
 * TARGET.tmp-XXXXXX (six random letters or digits) and made by this call
 * alone (O_CREAT | O_EXCL | O_NOFOLLOW, with flags such as O_WRONLY and
 * mode, less the umask), so an existing TARGET.tmp-XXXXXX, a symbolic
 * link planted there or another writer of the same target is never
 * written through. Its descriptor, its name in *tmp (malloc'ed; the
 * caller frees it); -1 with errno set (*tmp NULL) when it cannot be
 * made. */
int weft_tmp_create(const char *target, int flags, mode_t mode, char **tmp);

/* weft_tmp_create, its file then removed by SIGINT, SIGTERM or SIGHUP (as
 * weft_save_file's is) until weft_tmp_untrack(*slot); the signals are held
 * off while it is made and tracked, so none leaves it behind. *slot is -1
 * when it cannot be tracked (a name too long, no slot free). */
int weft_tmp_create_tracked(const char *target, int flags, mode_t mode, char **tmp, int *slot);
void weft_tmp_untrack(int slot);

/* splitmix64 (Steele, Lea & Flood 2014): the next value of a tiny
 * full-period generator whose state is *s. Seeds the generators and draws
 * initial weights; the same stream on every platform. */
static inline uint64_t weft_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The unsigned big-endian integer in p[0..k), k <= 8: the length fields
 * of msgpack (model files, RPC payloads) and of RPC frame headers. */
static inline uint64_t weft_read_be(const unsigned char *p, size_t k)
{
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

/* Bytes per second of 1 Gbit/s, the default port rate. */
#define WEFT_GBPS_BYTES (1e9 / 8.0)

/* 1 where GCC can build a function twice, for x86-64-v3 and generic
 * x86-64, the dynamic loader picking one through an ifunc at the first
 * call (target_clones); the attention kernels' ATTN_CLONES and
 * WEFT_HOT_CLONES below use it. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WEFT_CAN_CLONE 1
#else
#define WEFT_CAN_CLONE 0
#endif

/* The emulator's per-flow loops get a second build for x86-64-v3 (BMI's
 * tzcnt and blsr for the bit sets, three-operand AVX forms) beside the
 * generic x86-64 one. Floats are the same in both: -std=c11 contracts no
 * multiply-add. With other compilers or -DWEFT_NO_CLONES, one build. */
#if WEFT_CAN_CLONE && !defined(WEFT_NO_CLONES)
#define WEFT_HOT_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WEFT_HOT_CLONES
#endif

#endif
