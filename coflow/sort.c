/*
 * sort.c - the deterministic sort every key-based ordering uses, and the
 * allocation-free merge sort of srf (by key, ties by index).
 */
#include "coflow_internal.h"

#include <stdlib.h>
#include <string.h>

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

bool coflow_keyctx_sort_fresh = false;

/* The sort of coflow_keyctx_sort and coflow_sort_job_then_path
 * (coflow_internal.h), under cmp, a total order on ids[0..n) (no two ids
 * compare equal): the order qsort gives, starting from the last one.
 * `scratch` (cmp is no order: a NaN key), coflow_keyctx_sort_fresh or an
 * id given twice: qsort over ids as given, keeping no order. Inlined so
 * each caller's comparison is inlined into its copy. */
static inline __attribute__((always_inline)) void
sort_from_last(coflow_keyctx_t *k, size_t *ids, size_t n, int (*cmp)(const void *, const void *),
               bool scratch)
{
    size_t *seq = k->seq, m = 0;
    if (!scratch && !coflow_keyctx_sort_fresh) {
        /* Each call stamps with two values of its own; a coflow of the
         * last order that is not in ids holds one of the last call's two,
         * so it never reads as `now` (also when the count wraps around). */
        uint32_t now = k->epoch + 1, taken = k->epoch + 2;
        k->epoch = taken;
        for (size_t i = 0; i < n; i++)
            k->stamp[ids[i]] = now;
        /* the last order's coflows that are still here, in that order,
           then the new ones in the order given */
        for (size_t i = 0; i < k->n_sorted; i++) {
            size_t c = k->sorted[i];
            if (k->stamp[c] == now) {
                k->stamp[c] = taken;
                seq[m++] = c;
            }
        }
        for (size_t i = 0; i < n; i++)
            if (k->stamp[ids[i]] == now)
                seq[m++] = ids[i];
    }
    if (m != n) { /* from scratch, or ids not a set */
        k->n_sorted = 0;
        qsort(ids, n, sizeof *ids, cmp);
        return;
    }
    /* Keep a sorted subsequence in place: each coflow that comes after
     * the last one kept and before the next in line (so one whose key
     * moved it later is taken out, rather than holding back all it
     * passed); the rest is sorted apart and merged in. */
    size_t *rest = k->rest, n_kept = 0, n_rest = 0;
    for (size_t i = 0; i < m; i++) {
        size_t c = seq[i];
        bool after = n_kept == 0 || cmp(&ids[n_kept - 1], &c) < 0;
        bool before = i + 1 == m || cmp(&c, &seq[i + 1]) < 0;
        if (after && before)
            ids[n_kept++] = c;
        else
            rest[n_rest++] = c;
    }
    qsort(rest, n_rest, sizeof *rest, cmp);
    /* merge from the back, in place: ids[0..n_kept) and rest[0..n_rest) */
    size_t i = n_kept, j = n_rest, o = n;
    while (j > 0) {
        if (i > 0 && cmp(&ids[i - 1], &rest[j - 1]) > 0)
            ids[--o] = ids[--i];
        else
            ids[--o] = rest[--j];
    }
    memcpy(k->sorted, ids, n * sizeof *ids);
    k->n_sorted = n;
}

/* True if some key of ids[0..n) is NaN: then the comparisons are no order
 * and the sorts below fall back to qsort over ids as given, as before. */
static bool any_nan(const double *key, const size_t *ids, size_t n)
{
    bool nan = false;
    for (size_t i = 0; i < n; i++)
        nan |= key[ids[i]] != key[ids[i]];
    return nan;
}

void coflow_keyctx_sort(coflow_keyctx_t *k, const coflow_state_t *st, size_t *ids, size_t n)
{
    sort_key = k->key;
    sort_release = st->release_s;
    sort_from_last(k, ids, n, cmp_by_key, any_nan(k->key, ids, n));
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

void coflow_sort_job_then_path(coflow_keyctx_t *k, const coflow_state_t *st, size_t *ids,
                               size_t n)
{
    jp_k = k;
    jp_st = st;
    bool nan = any_nan(k->key, ids, n);
    for (size_t i = 0; i < n && !nan; i++) {
        double a = k->job_acc[st->wl->coflows[ids[i]].job];
        nan = a != a;
    }
    sort_from_last(k, ids, n, cmp_job_then_path, nan);
}

void coflow_merge_sort_by(size_t *a, size_t *buf, size_t m, const double *key)
{
    size_t *src = a, *dst = buf;
    for (size_t width = 1; width < m; width *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * width) {
            size_t mid = lo + width < m ? lo + width : m;
            size_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                double kj = key[src[j]], ki = key[src[i]];
                bool jfirst = kj < ki || (kj == ki && src[j] < src[i]);
                dst[o++] = jfirst ? src[j++] : src[i++];
            }
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
