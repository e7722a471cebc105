/* What every benchmark program needs: a monotonic clock, allocation and
 * error checks that end the program, a median, a test of --only's list of
 * names, and a seeded generator that gives the same workload on every run.
 *
 * Define BENCH_NAME (the program's name, for messages) before including. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. */
static inline double bench_median(double *v, size_t n)
{
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
static inline size_t bench_below(uint64_t *s, size_t n) { return (size_t)(bench_unif(s) * (double)n); }

#endif
