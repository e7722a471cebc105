/*
 * report.c - writing a run's results: per-coflow and per-job CSV, and a
 * summary JSON object. Times are printed with %.17g so a reader gets back
 * exactly the doubles the emulator computed; non-finite numbers (never
 * produced by a successful run) become empty CSV cells and JSON null. Numbers
 * are written as the C locale writes them whatever locale the program set.
 */
#include "netsim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Ends a writer that began with weft_c_numbers_begin (numbers as "1.5" in
 * every locale, as the readers take them), giving the caller's back. */
static weft_err_t finish_write(FILE *out, const char *what, locale_t prev)
{
    weft_c_numbers_end(prev);
    if (fflush(out) != 0 || ferror(out))
        return weft_fail(WEFT_EIO, "writing the %s failed: %s", what,
                         strerror(errno ? errno : EIO));
    return WEFT_OK;
}

/* A number for CSV: empty if not finite. */
static void csv_num(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.17g", x);
}

weft_err_t netsim_write_coflows_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                    FILE *out)
{
    if (!r->coflow_release_s || r->n_coflows != wl->n_coflows)
        return weft_fail(WEFT_EINVAL, "the result does not belong to this workload "
                         "(%zu coflows in the result, %zu in the workload)",
                         r->n_coflows, wl->n_coflows);
    locale_t prev = weft_c_numbers_begin();
    fputs("job,coflow,release_s,finish_s,cct_s,iso_s\n", out);
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        fprintf(out, "%lld,%lld,", (long long)wl->jobs[co->job].id, (long long)co->id);
        csv_num(out, r->coflow_release_s[c]);
        fputc(',', out);
        csv_num(out, r->coflow_finish_s[c]);
        fputc(',', out);
        csv_num(out, r->coflow_finish_s[c] - r->coflow_release_s[c]);
        fputc(',', out);
        csv_num(out, co->iso_s);
        fputc('\n', out);
    }
    return finish_write(out, "coflows CSV", prev);
}

weft_err_t netsim_write_jobs_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                 FILE *out)
{
    if (!r->job_finish_s || r->n_jobs != wl->n_jobs)
        return weft_fail(WEFT_EINVAL, "the result does not belong to this workload "
                         "(%zu jobs in the result, %zu in the workload)",
                         r->n_jobs, wl->n_jobs);
    locale_t prev = weft_c_numbers_begin();
    fputs("job,arrival_s,finish_s,jct_s,weight,lower_bound_s\n", out);
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        fprintf(out, "%lld,", (long long)job->id);
        csv_num(out, job->arrival_s);
        fputc(',', out);
        csv_num(out, r->job_finish_s[j]);
        fputc(',', out);
        csv_num(out, r->job_finish_s[j] - job->arrival_s);
        fputc(',', out);
        csv_num(out, job->weight);
        fputc(',', out);
        csv_num(out, job->lower_bound_s);
        fputc('\n', out);
    }
    return finish_write(out, "jobs CSV", prev);
}

weft_err_t netsim_write_flows_csv(const coflow_workload_t *wl, const netsim_result_t *r,
                                  FILE *out)
{
    if (!r->coflow_release_s || r->n_coflows != wl->n_coflows || r->n_flows != wl->n_flows)
        return weft_fail(WEFT_EINVAL, "the result does not belong to this workload "
                         "(%zu flows in the result, %zu in the workload)",
                         r->n_flows, wl->n_flows);
    if (!r->flow_finish_s)
        return weft_fail(WEFT_EINVAL, "the run did not record its flows (record_flows)");
    locale_t prev = weft_c_numbers_begin();
    fputs("job,coflow,flow,src,dst,bytes,release_s,finish_s,fct_s\n", out);
    for (size_t c = 0; c < wl->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        for (size_t k = 0; k < co->n_flows; k++) {
            const coflow_flow_t *fl = &wl->flows[co->first_flow + k];
            double fin = r->flow_finish_s[co->first_flow + k];
            fprintf(out, "%lld,%lld,%zu,%u,%u,", (long long)wl->jobs[co->job].id,
                    (long long)co->id, k, (unsigned)fl->src, (unsigned)fl->dst);
            csv_num(out, fl->bytes);
            fputc(',', out);
            csv_num(out, r->coflow_release_s[c]);
            fputc(',', out);
            csv_num(out, fin);
            fputc(',', out);
            csv_num(out, fin - r->coflow_release_s[c]);
            fputc('\n', out);
        }
    }
    return finish_write(out, "flows CSV", prev);
}

/* s as a JSON string. A byte that is not part of valid UTF-8 (a file name
 * may hold any; weft_utf8_len) is written as \u00XX, the code point of the
 * same number: the file stays valid JSON and shows the byte, though a
 * reader cannot tell it from the character U+00XX (JSON has no raw bytes). */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (const unsigned char *end = p + strlen((const char *)p); p < end;) {
        size_t n = weft_utf8_len(p, (size_t)(end - p));
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || n == 0)
            fprintf(out, "\\u%04x", *p);
        else
            fwrite(p, 1, n, out);
        p += n ? n : 1;
    }
    fputc('"', out);
}

static void json_num(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.17g", x);
    else
        fputs("null", out);
}

static void json_dist(FILE *out, const char *name, const netsim_dist_t *d)
{
    fprintf(out, "  \"%s\": {\"avg\": ", name);
    json_num(out, d->avg);
    fputs(", \"p50\": ", out);
    json_num(out, d->p50);
    fputs(", \"p95\": ", out);
    json_num(out, d->p95);
    fputs(", \"p99\": ", out);
    json_num(out, d->p99);
    fputs(", \"max\": ", out);
    json_num(out, d->max);
    fputs("},\n", out);
}

static void json_field(FILE *out, const char *name, double x, bool last)
{
    fprintf(out, "  \"%s\": ", name);
    json_num(out, x);
    fputs(last ? "\n" : ",\n", out);
}

/* "name": s followed by ",\n", nothing when s is NULL. */
static void json_str_field(FILE *out, const char *name, const char *s)
{
    if (!s)
        return;
    fprintf(out, "  \"%s\": ", name);
    json_str(out, s);
    fputs(",\n", out);
}

/* The run's settings (netsim_run_info_t), each field followed by ",\n". */
static void json_run_info(FILE *out, const netsim_run_info_t *info)
{
    json_str_field(out, "workload", info->workload);
    if (info->fab) {
        const coflow_fabric_t *fab = info->fab;
        fprintf(out, "  \"n_ports\": %zu,\n", fab->n_ports);
        json_field(out, "port_rate_bytes_per_s", info->port_rate, false);
        fputs("  \"port_caps\": [", out); /* [port, bytes/s each way] off the common rate */
        for (size_t p = 0, n = 0; p < fab->n_ports; p++)
            if (fab->cap_out[p] != info->port_rate || fab->cap_in[p] != info->port_rate) {
                fprintf(out, "%s[%zu, ", n++ ? ", " : "", p);
                json_num(out, fab->cap_out[p]);
                fputc(']', out);
            }
        fputs("],\n", out);
    }
    json_field(out, "tick_s", info->tick_s, false);
    json_str_field(out, "model", info->model);
    if (info->random_model)
        fprintf(out, "  \"model_seed\": %" PRIu64 ",\n", info->model_seed);
}

/* "bins": the thresholds, then each bin's count, bytes and average CCT
 * (null when empty), the last field. */
static void json_bins(FILE *out, const netsim_bins_t *b)
{
    fputs("  \"bins\": {\"length_bytes\": ", out);
    json_num(out, b->length_bytes);
    fprintf(out, ", \"width_flows\": %zu", b->width_flows);
    for (int i = 0; i < NETSIM_N_BINS; i++) {
        fprintf(out, ",\n    \"%s\": {\"count\": %zu, \"bytes\": ", netsim_bin_names[i],
                b->count[i]);
        json_num(out, b->bytes[i]);
        fputs(", \"avg_cct_s\": ", out);
        json_num(out, b->avg_cct_s[i]);
        fputc('}', out);
    }
    fputs("}\n", out);
}

weft_err_t netsim_write_summary_json(const netsim_result_t *r, const char *policy,
                                     const char *allocator, const netsim_run_info_t *info,
                                     FILE *out)
{
    locale_t prev = weft_c_numbers_begin();
    fputs("{\n  \"policy\": ", out);
    json_str(out, policy);
    fputs(",\n  \"allocator\": ", out);
    json_str(out, allocator);
    fputs(",\n", out);
    if (info)
        json_run_info(out, info);
    fputs("  \"checked\": ", out);
    fputs(r->checked ? "true" : "false", out);
    fprintf(out, ",\n  \"n_jobs\": %zu,\n  \"n_coflows\": %zu,\n  \"n_flows\": %zu,\n",
            r->n_jobs, r->n_coflows, r->n_flows);
    json_field(out, "total_bytes", r->total_bytes, false);
    json_dist(out, "cct_s", &r->cct);
    json_dist(out, "jct_s", &r->jct);
    json_field(out, "avg_weighted_jct_s", r->avg_weighted_jct, false);
    json_field(out, "weighted_bound_s", r->weighted_bound, false);
    json_field(out, "slowdown_vs_bound", r->slowdown_vs_bound, false);
    /* null unless computed (dag_lp_bound) */
    json_field(out, "lp_bound_s",
               r->scaled_lp_bound > 0 ? ldexp(r->scaled_lp_bound, r->weight_exp) : NAN, false);
    json_field(out, "slowdown_vs_lp_bound", netsim_vs_lp_bound(r), false);
    json_field(out, "makespan_s", r->makespan_s, false);
    json_field(out, "port_utilization", r->port_utilization, false);
    fprintf(out, "  \"n_decisions\": %zu,\n  \"n_events\": %zu,\n  \"max_active_flows\": %zu,\n",
            r->n_decisions, r->n_events, r->max_active_flows);
    fprintf(out, "  \"n_rated_total\": %zu,\n  \"n_paced_total\": %zu,\n", r->n_rated_total,
            r->n_paced_total);
    /* null when not checked: 0 would read as checked and clean */
    if (r->checked)
        fprintf(out, "  \"n_violations\": %zu,\n", r->n_violations);
    else
        fputs("  \"n_violations\": null,\n", out);
    fputs("  \"first_violation\": ", out);
    json_str(out, r->first_violation);
    fputs(",\n", out);
    const netsim_bins_t *bins = info ? info->bins : NULL;
    json_field(out, "wall_s", r->wall_s, !bins);
    if (bins)
        json_bins(out, bins);
    fputs("}\n", out);
    return finish_write(out, "summary JSON", prev);
}
