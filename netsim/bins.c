/*
 * bins.c - a run's coflows by category, as coflow papers (Varys, Aalo, as
 * recalled) report them besides the overall average: short or long by the
 * longest flow, narrow or wide by the number of flows (SN, LN, SW, LW).
 */
#include "netsim.h"

#include <math.h>
#include <string.h>

const char *const netsim_bin_names[NETSIM_N_BINS] = {"SN", "LN", "SW", "LW"};

/* The bin of coflow c of wl. */
static int coflow_bin(const coflow_workload_t *wl, size_t c, double length_bytes,
                      size_t width_flows)
{
    const coflow_coflow_t *co = &wl->coflows[c];
    double longest = 0;
    for (size_t k = 0; k < co->n_flows; k++)
        longest = fmax(longest, wl->flows[co->first_flow + k].bytes);
    return (longest < length_bytes ? 0 : 1) + (co->n_flows <= width_flows ? 0 : 2);
}

weft_err_t netsim_bins(const coflow_workload_t *wl, const netsim_result_t *r,
                       double length_bytes, size_t width_flows, netsim_bins_t *out)
{
    if (!r->coflow_release_s || r->n_coflows != wl->n_coflows)
        return weft_fail(WEFT_EINVAL, "the result does not belong to this workload "
                         "(%zu coflows in the result, %zu in the workload)",
                         r->n_coflows, wl->n_coflows);
    memset(out, 0, sizeof *out);
    out->length_bytes = length_bytes;
    out->width_flows = width_flows;
    double sum[NETSIM_N_BINS] = {0};
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        int b = coflow_bin(wl, c, length_bytes, width_flows);
        out->count[b]++;
        for (size_t k = 0; k < co->n_flows; k++)
            out->bytes[b] += wl->flows[co->first_flow + k].bytes;
        sum[b] += r->coflow_finish_s[c] - r->coflow_release_s[c];
    }
    for (int b = 0; b < NETSIM_N_BINS; b++)
        out->avg_cct_s[b] = out->count[b] ? sum[b] / (double)out->count[b] : NAN;
    return WEFT_OK;
}
