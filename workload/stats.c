/*
 * stats.c - a workload's summary: counts, bytes, ports, arrivals, offered
 * load and the DAG shapes (depth and width histograms), and its printed
 * report for `weft inspect` and `weft gen`.
 *
 * Depth and width are read from the coflows' topological waves (filled by
 * dag_analyze()): a job's depth is 1 + its largest wave, its width the most
 * coflows sharing one wave. Nothing here allocates: ports and waves are
 * counted in fixed-size stack windows, several passes when a fabric or a
 * job is larger than one window. The one exception: a job deeper than one
 * window of waves has its waves counted in a heap array of its depth,
 * since a pass per window costs O(coflows * depth / window), quadratic on a
 * long chain (a chain of 200,000 coflows took 0.7 s in 782 passes); the
 * passes remain the fallback if that array cannot be had.
 */
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATS_PORT_WINDOW 65536 /* ports counted per pass (an 8 KiB bitmap) */
#define STATS_WAVE_WINDOW 256   /* waves counted per pass */
#define STATS_HIST 17

/* Distinct ports any flow touches, in passes over windows of ports. */
static size_t count_ports_used(const coflow_workload_t *wl)
{
    uint32_t max_port = 0;
    for (size_t i = 0; i < wl->n_flows; i++) {
        if (wl->flows[i].src > max_port)
            max_port = wl->flows[i].src;
        if (wl->flows[i].dst > max_port)
            max_port = wl->flows[i].dst;
    }
    if (wl->n_flows == 0)
        return 0;
    unsigned char seen[STATS_PORT_WINDOW / 8];
    size_t used = 0;
    for (uint64_t lo = 0; lo <= max_port; lo += STATS_PORT_WINDOW) {
        memset(seen, 0, sizeof seen);
        for (size_t i = 0; i < wl->n_flows; i++) {
            uint64_t ends[2] = {wl->flows[i].src, wl->flows[i].dst};
            for (int e = 0; e < 2; e++) {
                if (ends[e] < lo || ends[e] >= lo + STATS_PORT_WINDOW)
                    continue;
                size_t b = (size_t)(ends[e] - lo);
                if (!(seen[b / 8] & (1u << (b % 8)))) {
                    seen[b / 8] |= (unsigned char)(1u << (b % 8));
                    used++;
                }
            }
        }
    }
    return used;
}

/* Job j's depth (waves) and width (most coflows in one wave). */
static void job_shape(const coflow_workload_t *wl, size_t j, size_t *depth, size_t *width)
{
    const coflow_job_t *job = &wl->jobs[j];
    const coflow_coflow_t *co = &wl->coflows[job->first_coflow];
    size_t d = 0;
    for (size_t i = 0; i < job->n_coflows; i++)
        if ((size_t)co[i].wave + 1 > d)
            d = (size_t)co[i].wave + 1;
    size_t counts[STATS_WAVE_WINDOW], w = 0;
    size_t *all = d > STATS_WAVE_WINDOW ? weft_calloc(d, sizeof *all) : NULL;
    if (all) { /* one pass; d <= n_coflows, so O(n_coflows) */
        for (size_t i = 0; i < job->n_coflows; i++)
            if (++all[co[i].wave] > w)
                w = all[co[i].wave];
        free(all);
        *depth = d;
        *width = w;
        return;
    }
    for (size_t lo = 0; lo < d; lo += STATS_WAVE_WINDOW) {
        memset(counts, 0, sizeof counts);
        for (size_t i = 0; i < job->n_coflows; i++)
            if (co[i].wave >= lo && co[i].wave < lo + STATS_WAVE_WINDOW)
                counts[co[i].wave - lo]++;
        for (size_t k = 0; k < STATS_WAVE_WINDOW; k++)
            if (counts[k] > w)
                w = counts[k];
    }
    *depth = d;
    *width = w;
}

void workload_stats(const coflow_workload_t *wl, double port_rate, workload_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->n_jobs = wl->n_jobs;
    s->n_coflows = wl->n_coflows;
    s->n_flows = wl->n_flows;
    s->n_edges = wl->n_parents;
    s->n_ports = wl->n_ports;
    s->port_rate = port_rate;
    s->n_ports_used = count_ports_used(wl);
    s->total_bytes = coflow_workload_total_bytes(wl);
    if (wl->n_jobs == 0)
        return;
    double first = INFINITY, last = -INFINITY, weights = 0;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        const coflow_job_t *job = &wl->jobs[j];
        if (job->arrival_s < first)
            first = job->arrival_s;
        if (job->arrival_s > last)
            last = job->arrival_s;
        weights += job->weight;
        if (job->n_coflows == 0)
            continue;
        size_t depth, width;
        job_shape(wl, j, &depth, &width);
        if (depth > s->max_depth)
            s->max_depth = depth;
        if (width > s->max_width)
            s->max_width = width;
        s->depth_hist[depth < STATS_HIST ? depth - 1 : STATS_HIST - 1]++;
        s->width_hist[width < STATS_HIST ? width - 1 : STATS_HIST - 1]++;
    }
    s->first_arrival_s = first;
    s->last_arrival_s = last;
    s->mean_weight = weights / (double)wl->n_jobs;
    double span = last - first;
    if (span > 0 && wl->n_ports > 0 && port_rate > 0)
        s->offered_load = s->total_bytes / (span * (double)wl->n_ports * port_rate);
}

/* "35.5 TB"-style: powers of 1000, three significant digits. */
static void human_bytes(double b, char *buf, size_t n)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    size_t u = 0;
    while (b >= 999.5 && u + 1 < sizeof units / sizeof *units) {
        b /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f B", b);
    else
        snprintf(buf, n, "%.*f %s", b < 9.995 ? 2 : b < 99.95 ? 1 : 0, b, units[u]);
}

/* An integer with thousands separators ("706,397"); exact up to 2^53. */
static void grouped(double v, char *buf, size_t n)
{
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && digits[i - 1] != '-')
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

/* v with `decimals` decimals where that takes a few digits (0, or 0.01 <=
 * v < 1e6), else in three significant digits: fixed point made a load of
 * 8e297 298 digits, cut at the buffer, and a weight of 1e-300 read 0. */
static void fixed_or_g(double v, int decimals, char *buf, size_t n)
{
    if (v == 0 || (v >= 0.01 && v < 1e6))
        snprintf(buf, n, "%.*f", decimals, v);
    else
        snprintf(buf, n, "%.3g", v);
}

/* A rate in bytes/s as network people say it: "1 Gbit/s". */
static void human_rate(double bytes_per_s, char *buf, size_t n)
{
    static const char *const units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    double b = bytes_per_s * 8;
    size_t u = 0;
    while (b >= 1000 && u + 1 < sizeof units / sizeof *units) {
        b /= 1000;
        u++;
    }
    snprintf(buf, n, "%.4g %s", b, units[u]);
}

static void print_hist(FILE *out, const char *what, const char *meaning, const size_t *hist,
                       size_t n_jobs)
{
    enum { BAR_MAX = 40 };
    static const char bar[BAR_MAX + 1] = "########################################";
    size_t top = 0, last = 0;
    for (size_t k = 0; k < STATS_HIST; k++) {
        if (hist[k] > top)
            top = hist[k];
        if (hist[k])
            last = k;
    }
    fprintf(out, "  %-6s %-*s %9s %7s\n", what, BAR_MAX, meaning, "jobs", "share");
    if (top == 0) {
        fprintf(out, "  (no jobs)\n");
        return;
    }
    for (size_t k = 0; k <= last; k++) {
        char label[24];
        size_t run = 0; /* empty buckets from k on: two or more share one line */
        while (hist[k + run] == 0) /* stops at `last`, which is not empty */
            run++;
        if (run >= 2) {
            snprintf(label, sizeof label, "%zu-%zu", k + 1, k + run);
            fprintf(out, "  %6s %-*s %9d %6.1f%%\n", label, BAR_MAX, "", 0, 0.0);
            k += run - 1;
            continue;
        }
        if (k + 1 < STATS_HIST)
            snprintf(label, sizeof label, "%zu", k + 1);
        else
            snprintf(label, sizeof label, "%d+", STATS_HIST);
        /* rounded up, so a single job still shows */
        int len = (int)((hist[k] * (size_t)BAR_MAX + top - 1) / top);
        fprintf(out, "  %6s %-*.*s %9zu %6.1f%%\n", label, BAR_MAX, len, bar, hist[k],
                100.0 * (double)hist[k] / (double)n_jobs);
    }
}

/* One "  name   value   note" line of the report. */
static void line(FILE *out, const char *name, const char *value, const char *note)
{
    fprintf(out, "  %-14s %16s%s%s\n", name, value, *note ? "   " : "", note);
}

void workload_stats_print(const workload_stats_t *s, FILE *out)
{
    char v[64], note[160], tmp[64];
    grouped((double)s->n_jobs, v, sizeof v);
    line(out, "jobs", v, "");
    grouped((double)s->n_coflows, v, sizeof v);
    snprintf(note, sizeof note, "%.2f per job",
             s->n_jobs ? (double)s->n_coflows / (double)s->n_jobs : 0);
    line(out, "coflows", v, s->n_jobs ? note : "");
    grouped((double)s->n_flows, v, sizeof v);
    snprintf(note, sizeof note, "%.1f per coflow",
             s->n_coflows ? (double)s->n_flows / (double)s->n_coflows : 0);
    line(out, "flows", v, s->n_coflows ? note : "");
    grouped((double)s->n_edges, v, sizeof v);
    line(out, "DAG edges", v, "");
    grouped((double)s->n_ports_used, v, sizeof v);
    snprintf(note, sizeof note, "of %zu in the fabric", s->n_ports);
    line(out, "ports used", v, note);
    human_bytes(s->total_bytes, v, sizeof v);
    grouped(s->total_bytes, tmp, sizeof tmp);
    snprintf(note, sizeof note, "%s bytes", tmp);
    line(out, "bytes", v, note);
    if (s->n_jobs) {
        snprintf(v, sizeof v, "%.6g s", s->first_arrival_s);
        line(out, "first arrival", v, "");
        snprintf(v, sizeof v, "%.6g s", s->last_arrival_s);
        snprintf(note, sizeof note, "span %.6g s", s->last_arrival_s - s->first_arrival_s);
        line(out, "last arrival", v, note);
        human_rate(s->port_rate, tmp, sizeof tmp);
        if (s->offered_load > 0) {
            fixed_or_g(s->offered_load, 4, v, sizeof v); /* a light load not 0.0000 */
            snprintf(note, sizeof note, "bytes / (span x %zu ports x %s)", s->n_ports, tmp);
            line(out, "offered load", v, note);
        } else {
            line(out, "offered load", "-", "every job arrives at once");
        }
        fixed_or_g(s->mean_weight, 3, v, sizeof v);
        line(out, "mean weight", v, "");
        snprintf(v, sizeof v, "%zu", s->max_depth);
        line(out, "max depth", v, "waves");
        snprintf(v, sizeof v, "%zu", s->max_width);
        line(out, "max width", v, "coflows in one wave");
    }
    fputc('\n', out);
    print_hist(out, "depth", "(waves in a job's DAG)", s->depth_hist, s->n_jobs);
    fputc('\n', out);
    print_hist(out, "width", "(most coflows in one wave of a job)", s->width_hist, s->n_jobs);
}
