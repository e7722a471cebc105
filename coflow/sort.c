/*
 * sort.c - the deterministic sort every key-based ordering uses, and the
 * allocation-free merge sort of srf (by key, ties by index) and aalo (by index).
 */
#include "coflow_internal.h"

#include <stdlib.h>

/* qsort has no context argument in C11; the comparison reads these. A
 * thread-local pair keeps parallel emulator runs independent. */
static _Thread_local const double *sort_key;
static _Thread_local const double *sort_release;

static int cmp_by_key(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (sort_key[x] != sort_key[y])
        return sort_key[x] < sort_key[y] ? -1 : 1;
    if (sort_release[x] != sort_release[y])
        return sort_release[x] < sort_release[y] ? -1 : 1;
    return (x > y) - (x < y);
}

void coflow_sort_by_key(const coflow_state_t *st, size_t *ids, size_t n, const double *key)
{
    sort_key = key;
    sort_release = st->release_s;
    qsort(ids, n, sizeof *ids, cmp_by_key);
}

static _Thread_local const coflow_keyctx_t *jp_k;
static _Thread_local const coflow_state_t *jp_st;

static int cmp_job_then_path(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const coflow_workload_t *wl = jp_st->wl;
    double jx = jp_k->job_acc[wl->coflows[x].job], jy = jp_k->job_acc[wl->coflows[y].job];
    if (jx != jy)
        return jx < jy ? -1 : 1;
    double px = jp_k->key[x], py = jp_k->key[y];
    if (px != py)
        return px > py ? -1 : 1; /* longer own path first */
    double rx = jp_st->release_s[x], ry = jp_st->release_s[y];
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return (x > y) - (x < y);
}

void coflow_sort_job_then_path(const coflow_state_t *st, const coflow_keyctx_t *k, size_t *ids,
                               size_t n)
{
    jp_k = k;
    jp_st = st;
    qsort(ids, n, sizeof *ids, cmp_job_then_path);
}

void coflow_merge_sort_by(size_t *a, size_t *buf, size_t m, const double *key)
{
    size_t *src = a, *dst = buf;
    for (size_t width = 1; width < m; width *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * width) {
            size_t mid = lo + width < m ? lo + width : m;
            size_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            size_t i = lo, j = mid, o = lo;
            if (key)
                while (i < mid && j < hi) {
                    double kj = key[src[j]], ki = key[src[i]];
                    bool jfirst = kj < ki || (kj == ki && src[j] < src[i]);
                    dst[o++] = jfirst ? src[j++] : src[i++];
                }
            else
                while (i < mid && j < hi)
                    dst[o++] = src[j] < src[i] ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        size_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        for (size_t i = 0; i < m; i++)
            a[i] = src[i];
}
