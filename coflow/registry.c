/*
 * registry.c - the list of orderings and allocators, looked up by name.
 * Each policy lives in its own file (coflow/sebf.c defines coflow_sebf) and
 * is added here.
 */
#include "coflow_internal.h"

#include <string.h>

static const coflow_ordering_t *const orderings[] = {
    &coflow_fifo, &coflow_scf,  &coflow_ncf,  &coflow_lcf,  &coflow_sebf, &coflow_aalo,
    &coflow_sincronia, &coflow_wcp, &coflow_jsebf, &coflow_jsebf_cp, &coflow_fair, &coflow_srf,
    &coflow_learned, NULL,
};

static const coflow_allocator_t *const allocators[] = {
    &coflow_alloc_greedy, &coflow_alloc_madd, &coflow_alloc_fair, &coflow_alloc_srf, NULL,
};

const coflow_ordering_t *const *coflow_orderings(void) { return orderings; }
const coflow_allocator_t *const *coflow_allocators(void) { return allocators; }

const coflow_ordering_t *coflow_ordering_find(const char *name)
{
    for (size_t i = 0; orderings[i]; i++)
        if (!strcmp(orderings[i]->name, name))
            return orderings[i];
    return NULL;
}

const coflow_allocator_t *coflow_allocator_find(const char *name)
{
    for (size_t i = 0; allocators[i]; i++)
        if (!strcmp(allocators[i]->name, name))
            return allocators[i];
    return NULL;
}
