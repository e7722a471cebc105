/*
 * sort.c - the deterministic sort every key-based ordering uses.
 */
#include "coflow.h"

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
