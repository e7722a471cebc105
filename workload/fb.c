/*
 * fb.c - reader of the Facebook coflow benchmark (coflow/coflow-benchmark,
 * the input of the Varys, Aalo and Sincronia evaluations).
 *
 *   line 1:  <ports> <coflows>
 *   then:    <id> <arrival ms> <#mappers> <mapper port>... <#reducers> <port>:<MB>...
 *
 * Conventions (docs/workload-format.md): one line = one job with one
 * coflow, both with the trace's id; arrival = ms / 1000; weight 1; no
 * compute time. A reducer's MB is what it receives in total; as in
 * CoflowSim it is split evenly over the coflow's mappers, one flow per
 * mapper-reducer pair, bytes = MB * fb_mb_bytes / #mappers. Flows are
 * stored reducer by reducer, mappers in the line's order within a reducer.
 *
 * Speed: one getline() buffer for the whole file and in-place scanning, no
 * allocation per token; 706,397 flows read in well under half a second.
 */
#include "read_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ETRUNC "path:line: coflow ID: expected N <what>, found end of line after
 * K" when the line ends at p, before entry K (from 0) of the N that the
 * coflow's line announced. */
static weft_err_t entry_on_line(const wl_lines_t *l, const char *p, int64_t id, size_t n,
                                size_t k, const char *what)
{
    if (!wl_at_eol(p, false))
        return WEFT_OK;
    return weft_fail(WEFT_ETRUNC,
                     "%s:%zu: coflow %lld: expected %zu %s, found end of line after %zu",
                     l->path, l->line, (long long)id, n, what, k);
}

/* EINVAL "path:line: coflow ID: <role> port P is outside the fabric (ports
 * 0..N-1)" unless port < n_ports. */
static weft_err_t port_in_fabric(const wl_lines_t *l, int64_t id, const char *role,
                                 uint64_t port, uint64_t n_ports)
{
    if (port < n_ports)
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL,
                     "%s:%zu: coflow %lld: %s port %zu is outside the fabric (ports 0..%zu)",
                     l->path, l->line, (long long)id, role, (size_t)port, (size_t)n_ports - 1);
}

weft_err_t workload_read_fb(coflow_workload_t *wl, const char *path,
                            const workload_read_opts_t *opts)
{
    workload_read_opts_t def;
    wl_start_read(wl, &opts, &def, NULL);
    if (!isfinite(opts->fb_mb_bytes) || opts->fb_mb_bytes <= 0)
        return weft_fail(WEFT_EINVAL, "bytes per MB %g, expected a finite number > 0",
                         opts->fb_mb_bytes);

    wl_lines_t l;
    weft_err_t err = wl_lines_open(&l, path);
    if (err)
        return err;
    uint32_t *mappers = NULL;
    size_t cap_mappers = 0, cap_ids = 0;
    wl_id_line_t *ids = NULL;
    int r = wl_lines_next(&l);
    if (r <= 0) {
        err = r < 0 ? (weft_err_t)r
                    : weft_fail(WEFT_ETRUNC,
                                "%s:1: expected the header '<ports> <coflows>', found an "
                                "empty file",
                                path);
        goto cleanup;
    }
    const char *p = l.buf;
    uint64_t n_ports, n_coflows;
    WEFT_CHECK(wl_scan_u64(&l, &p, "the number of ports (header '<ports> <coflows>')", NULL,
                           WORKLOAD_MAX_PORTS, &n_ports));
    WEFT_CHECK(wl_scan_u64(&l, &p, "the number of coflows (header '<ports> <coflows>')", NULL,
                           SIZE_MAX, &n_coflows));
    if (!wl_at_eol(p, false)) {
        char found[80];
        wl_describe(&l, p, found, sizeof found);
        err = weft_fail(WEFT_EPARSE, "%s:1: expected end of line after the header, found %s",
                        path, found);
        goto cleanup;
    }
    if (n_ports == 0) {
        err = weft_fail(WEFT_EINVAL, "%s:1: 0 ports, expected at least 1", path);
        goto cleanup;
    }
    /* The trace has no trailer: a file cut inside the last number of a line
     * would read with that number cut short. Every line that reads must end
     * with a newline, as the trace's do. */
    WEFT_CHECK(wl_require_newline(&l));
    wl->n_ports = (size_t)n_ports;

    size_t done = 0;
    while (done < n_coflows) {
        r = wl_lines_next(&l);
        if (r < 0) {
            err = (weft_err_t)r;
            goto cleanup;
        }
        if (r == 0) {
            err = weft_fail(WEFT_ETRUNC,
                            "%s:%zu: the header (line 1) announces %zu coflows, but the file "
                            "ends after %zu",
                            path, l.line + 1, (size_t)n_coflows, done);
            goto cleanup;
        }
        if (wl_at_eol(l.buf, false))
            continue;
        p = l.buf;
        int64_t id;
        double arrival_ms;
        uint64_t n_map, n_red;
        WEFT_CHECK(wl_scan_i64(&l, &p, "a coflow id", NULL, &id));
        WEFT_CHECK(wl_scan_double(&l, &p, "an arrival time in ms", NULL, &arrival_ms));
        char ms[WEFT_FMT_LEN];
        /* in the file's unit: the model's own check would say seconds */
        if (!isfinite(arrival_ms) || arrival_ms < 0) {
            err = weft_fail(WEFT_EINVAL,
                            "%s:%zu: coflow %lld arrives at %s ms, expected a finite number "
                            "of ms >= 0",
                            path, l.line, (long long)id, weft_fmt_exact(arrival_ms, ms, sizeof ms));
            goto cleanup;
        }
        if (arrival_ms / 1000.0 > WORKLOAD_MAX_TIME_S) {
            err = weft_fail(WEFT_EINVAL,
                            "%s:%zu: coflow %lld arrives at %s ms, beyond %g ms (%g s, about "
                            "31 years): times that large lose the precision job times need; "
                            "shift the arrivals so they start near 0",
                            path, l.line, (long long)id, weft_fmt_exact(arrival_ms, ms, sizeof ms),
                            WORKLOAD_MAX_TIME_S * 1000.0, WORKLOAD_MAX_TIME_S);
            goto cleanup;
        }
        WEFT_CHECK(wl_scan_u64(&l, &p, "the number of mappers", NULL, SIZE_MAX, &n_map));
        if (n_map == 0) {
            err = weft_fail(WEFT_EINVAL, "%s:%zu: coflow %lld has 0 mappers, expected at least 1",
                            path, l.line, (long long)id);
            goto cleanup;
        }
        /* A line of n mappers has at least 2n characters: never trust a
         * count the line itself cannot hold. */
        if (n_map > l.len) {
            err = weft_fail(WEFT_ETRUNC,
                            "%s:%zu: coflow %lld announces %zu mappers, but the line is only "
                            "%zu characters long",
                            path, l.line, (long long)id, (size_t)n_map, l.len);
            goto cleanup;
        }
        WEFT_CHECK(weft_grow((void **)&mappers, &cap_mappers, (size_t)n_map, sizeof *mappers));
        for (size_t k = 0; k < n_map; k++) {
            WEFT_CHECK(entry_on_line(&l, p, id, (size_t)n_map, k, "mapper ports"));
            uint64_t port;
            WEFT_CHECK(wl_scan_u64(&l, &p, "a mapper port", NULL, UINT32_MAX, &port));
            WEFT_CHECK(port_in_fabric(&l, id, "mapper", port, n_ports));
            mappers[k] = (uint32_t)port;
        }
        if (wl_at_eol(p, false)) {
            err = weft_fail(WEFT_ETRUNC,
                            "%s:%zu: coflow %lld: expected the number of reducers after %zu "
                            "mappers, found end of line",
                            path, l.line, (long long)id, (size_t)n_map);
            goto cleanup;
        }
        WEFT_CHECK(wl_scan_u64(&l, &p, "the number of reducers", NULL, SIZE_MAX, &n_red));
        if (n_red == 0) {
            err = weft_fail(WEFT_EINVAL,
                            "%s:%zu: coflow %lld has 0 reducers, expected at least 1", path,
                            l.line, (long long)id);
            goto cleanup;
        }
        err = coflow_workload_add_job(wl, id, arrival_ms / 1000.0, 1.0, 0.0);
        if (!err)
            err = coflow_workload_add_coflow(wl, id, 0.0);
        if (err) {
            weft_wrap(err, "%s:%zu: ", path, l.line);
            goto cleanup;
        }
        double coflow_bytes = 0;
        for (size_t k = 0; k < n_red; k++) {
            WEFT_CHECK(entry_on_line(&l, p, id, (size_t)n_red, k, "reducers 'port:MB'"));
            uint64_t port;
            double mb;
            WEFT_CHECK(wl_scan_u64(&l, &p, "a reducer 'port:MB'", ":", UINT32_MAX, &port));
            if (*p != ':') {
                /* a blank before the ':' is named: wl_describe would show the ':' past it */
                char found[80] = "a blank";
                if (*p != ' ' && *p != '\t')
                    wl_describe(&l, p, found, sizeof found);
                err = weft_fail(WEFT_EPARSE,
                                "%s:%zu: coflow %lld: expected ':' right after reducer port "
                                "%zu, found %s",
                                path, l.line, (long long)id, (size_t)port, found);
                goto cleanup;
            }
            p++;
            if (*p == ' ' || *p == '\t' || *p == '\0') {
                err = weft_fail(*p ? WEFT_EPARSE : WEFT_ETRUNC,
                                "%s:%zu: coflow %lld: expected the MB of reducer %zu right "
                                "after ':', found %s",
                                path, l.line, (long long)id, (size_t)port,
                                *p ? "a blank" : "end of line");
                goto cleanup;
            }
            WEFT_CHECK(wl_scan_double(&l, &p, "a reducer's MB", NULL, &mb));
            WEFT_CHECK(port_in_fabric(&l, id, "reducer", port, n_ports));
            double bytes = mb * opts->fb_mb_bytes / (double)n_map;
            if (!isfinite(mb) || !(mb > 0) || !isfinite(bytes) || !(bytes > 0)) {
                err = weft_fail(WEFT_EINVAL,
                                "%s:%zu: coflow %lld: reducer %zu receives %g MB, expected a "
                                "finite number > 0",
                                path, l.line, (long long)id, (size_t)port, mb);
                goto cleanup;
            }
            /* what the reducer receives, and the coflow's sum so far: the
             * first one above 2^60 stops the read, so the sum stays finite */
            double received = mb * opts->fb_mb_bytes;
            coflow_bytes += received;
            if (received > WORKLOAD_MAX_BYTES || coflow_bytes > WORKLOAD_MAX_BYTES) {
                char who[64], bs[WEFT_FMT_LEN];
                if (received > WORKLOAD_MAX_BYTES)
                    snprintf(who, sizeof who, "reducer %zu receives", (size_t)port);
                else
                    snprintf(who, sizeof who, "its reducers up to %zu receive", (size_t)port);
                err = weft_fail(WEFT_EINVAL,
                                "%s:%zu: coflow %lld: %s %s bytes, more than 2^60 bytes (%g, "
                                "about an exabyte)",
                                path, l.line, (long long)id, who,
                                weft_fmt_exact(received > WORKLOAD_MAX_BYTES ? received
                                                                           : coflow_bytes,
                                             bs, sizeof bs),
                                WORKLOAD_MAX_BYTES);
                goto cleanup;
            }
            for (size_t m = 0; m < n_map; m++) {
                err = coflow_workload_add_flow(wl, mappers[m], (uint32_t)port, bytes);
                if (err) {
                    weft_wrap(err, "%s:%zu: ", path, l.line);
                    goto cleanup;
                }
            }
        }
        if (!wl_at_eol(p, false)) {
            char found[80];
            wl_describe(&l, p, found, sizeof found);
            err = weft_fail(WEFT_EPARSE,
                            "%s:%zu: coflow %lld: expected end of line after %zu reducers, "
                            "found %s",
                            path, l.line, (long long)id, (size_t)n_red, found);
            goto cleanup;
        }
        WEFT_CHECK(wl_require_newline(&l));
        err = coflow_workload_finish_job(wl);
        if (err) {
            weft_wrap(err, "%s:%zu: ", path, l.line);
            goto cleanup;
        }
        WEFT_CHECK(weft_grow((void **)&ids, &cap_ids, done + 1, sizeof *ids));
        ids[done] = (wl_id_line_t){.id = id, .line = l.line};
        done++;
    }
    while ((r = wl_lines_next(&l)) == 1)
        if (!wl_at_eol(l.buf, false)) {
            char found[80];
            wl_describe(&l, l.buf, found, sizeof found);
            err = weft_fail(WEFT_EPARSE,
                            "%s:%zu: expected end of file after the %zu coflows the header "
                            "announces, found %s",
                            path, l.line, (size_t)n_coflows, found);
            goto cleanup;
        }
    if (r < 0) {
        err = (weft_err_t)r;
        goto cleanup;
    }
    /* ids are job ids, unique in a workload (coflow.h): a repeat is refused. */
    err = wl_check_unique_ids(ids, done, path, "coflow");
    if (err)
        goto cleanup;
    err = wl_finish_read(wl, path);

cleanup:
    free(mappers);
    free(ids);
    return wl_end_lines_read(&l, wl, err);
}
