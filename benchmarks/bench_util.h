/* What every benchmark program needs: a monotonic clock, allocation and
 * error checks that end the program, a median, strict parsing of a count,
 * tests of --only's list of names, and a seeded generator that gives the
 * same workload on every run.
 *
 * Define BENCH_NAME (the program's name, for messages) before including. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coflow/coflow.h"
#include "common/weft.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

static inline void *bench_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, BENCH_NAME ": out of memory\n");
        exit(1);
    }
    return p;
}

/* Ends the program with weft's message if err is set. */
static inline void bench_check(weft_err_t err, const char *what)
{
    if (err) {
        fprintf(stderr, BENCH_NAME ": %s: %s: %s\n", what, weft_strerror(err),
                weft_last_error());
        exit(1);
    }
}

/* Says what was wrong with the command line; returns the exit status 2. */
static inline int bench_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int bench_refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, BENCH_NAME ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place; n >= 1. */
static inline double bench_median(double *v, size_t n)
{
    assert(n > 0);
    /* cppcheck-suppress uninitvar ; the callers fill v[0..n), n their rounds */
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Whether name is one of the comma-separated names in list (--only). */
static inline bool bench_in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

/* A whole number from lo to hi, digits only (no sign, no trailing text: atoi
 * would take "abc" as 0 and "3x" as 3). False, *out untouched, otherwise. */
static inline bool bench_parse_count(const char *s, unsigned long lo, unsigned long hi,
                                     unsigned long *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The first name in --only's comma-separated list that is no ordering weft
 * knows (an empty one included), copied into bad (n bytes); false when
 * every name is known. A typo would otherwise select nothing, silently. */
static inline bool bench_only_unknown(const char *list, char *bad, size_t n)
{
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ","), kept = len < n ? len : n - 1;
        memcpy(bad, p, kept);
        bad[kept] = '\0';
        if (!len || len >= n || !coflow_ordering_find(bad))
            return true;
        p += len;
        if (!*p)
            return false;
    }
}

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double bench_unif(uint64_t *s) { return (double)(bench_rand(s) >> 11) * 0x1.0p-53; }

/* Uniform in 0..n-1. */
static inline size_t bench_below(uint64_t *s, size_t n)
{
    return (size_t)(bench_unif(s) * (double)n);
}

#endif
