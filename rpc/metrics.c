/*
 * metrics.c - the gateway's counters in the Prometheus text exposition
 * format (version 0.0.4), which `weft serve --metrics HOST:PORT` serves at
 * /metrics for a monitoring system to scrape, and the histogram of how
 * long decisions take.
 *
 * Format (prometheus.io, "Exposition formats"): per metric a `# HELP`
 * line, a `# TYPE` line (counter, gauge or histogram) and its samples,
 * `name{label="value"} number`; a label value escapes backslash, double
 * quote and line feed; a histogram gives cumulative `_bucket{le="..."}`
 * counts ending with le="+Inf", then `_sum` and `_count`.
 */
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>

#include "gateway.h"

const double rpc_decision_bucket_le[RPC_DECISION_BUCKETS] = {
    1e-5,   2.5e-5, 5e-5,  1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
    5e-3,   1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1};

void rpc_histogram_observe(rpc_histogram_t *h, double seconds)
{
    size_t b = 0; /* the first bucket whose bound holds it; the last: none */
    while (b < RPC_DECISION_BUCKETS && !(seconds <= rpc_decision_bucket_le[b]))
        b++;
    h->count[b]++;
    h->n++;
    h->sum_s += seconds;
}

/* A label value between double quotes, escaped. */
static void label_value(struct evbuffer *out, const char *s)
{
    evbuffer_add(out, "\"", 1);
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            evbuffer_add_printf(out, "\\%c", *s);
        else if (*s == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, s, 1);
    }
    evbuffer_add(out, "\"", 1);
}

static void head(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
    head(out, name, "counter", help);
    evbuffer_add_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(struct evbuffer *out, const char *name, const char *help, double v)
{
    head(out, name, "gauge", help);
    evbuffer_add_printf(out, "%s %.17g\n", name, v);
}

void rpc_metrics_render(struct evbuffer *out, const rpc_metrics_t *m)
{
    const rpc_gateway_stats_t *st = m->st;
    head(out, "weft_info", "gauge", "The gateway's policy (ordering and allocator); always 1.");
    evbuffer_add_printf(out, "weft_info{policy=");
    label_value(out, m->policy);
    evbuffer_add_printf(out, ",allocator=");
    label_value(out, m->allocator);
    evbuffer_add_printf(out, "} 1\n");
    head(out, "weft_build_info", "gauge", "The gateway program's version; always 1.");
    evbuffer_add_printf(out, "weft_build_info{version=");
    label_value(out, m->build ? m->build : "unknown");
    evbuffer_add_printf(out, "} 1\n");
    gauge(out, "weft_uptime_seconds", "Seconds since the gateway started.", st->uptime_s);
    gauge(out, "weft_ports", "Fabric ports (agent ids 0 .. ports-1).", (double)m->ports);
    gauge(out, "weft_port_rate_bytes", "Each port's rate each way, bytes/s, but for those "
          "at a rate of their own (--port-cap).", m->port_rate);
    gauge(out, "weft_agents_connected", "Ports with an agent connected.", (double)st->agents);
    gauge(out, "weft_ports_waiting", "Ports a released, unfinished flow sends from or to "
          "while no agent is connected for them.", (double)m->ports_waiting);
    gauge(out, "weft_connections_open", "Connections open.", (double)st->conns_open);
    counter(out, "weft_connections_accepted_total", "Connections accepted.",
            st->conns_accepted);
    counter(out, "weft_connections_refused_total", "Connections refused over --max-conns.",
            st->conns_refused);
    gauge(out, "weft_connections_closing", "Connections closed after an error frame, "
          "draining the peer for up to 1 s; they hold no --max-conns slot.",
          (double)st->conns_closing);
    gauge(out, "weft_http_connections_open", "--metrics connections holding one of the "
          "places kept open.", (double)st->http_open);
    counter(out, "weft_http_refused_total", "/metrics requests answered 503 because every "
            "place for a --metrics connection was taken.", st->http_refused);
    counter(out, "weft_frames_in_total", "Frames received.", st->frames_in);
    counter(out, "weft_frames_out_total", "Frames sent.", st->frames_out);
    counter(out, "weft_protocol_errors_total", "Connections closed for a bad frame or message, "
            "or a protocol version not spoken.",
            st->protocol_errors);
    counter(out, "weft_auth_failures_total", "Connections closed for a wrong token or a "
            "message before hello.", st->auth_failures);
    counter(out, "weft_timeouts_total", "Connections closed for a timeout.", st->timeouts);
    counter(out, "weft_slow_readers_total", "Connections closed for not reading what was "
            "queued to them (error slow-reader).", st->slow_readers);
    counter(out, "weft_connections_replaced_total", "Agent connections closed because the "
            "agent connected again.", st->replaced);
    counter(out, "weft_jobs_registered_total", "Jobs registered (replayed from the journal "
            "included).", st->jobs);
    counter(out, "weft_jobs_finished_total", "Jobs finished (cancelled ones included).",
            st->jobs_finished);
    counter(out, "weft_jobs_forgotten_total", "Finished jobs whose record was forgotten "
            "(--keep-finished; replayed from the journal included).", st->jobs_forgotten);
    gauge(out, "weft_jobs_finished_kept", "Finished jobs whose record is kept.",
          (double)(st->jobs_finished - st->jobs_forgotten));
    gauge(out, "weft_jobs_in_flight", "Jobs registered and not finished.",
          (double)(st->jobs - st->jobs_finished));
    gauge(out, "weft_flows_unfinished", "Flows of the jobs held that are not done.",
          (double)st->flows_unfinished);
    counter(out, "weft_decisions_total", "Scheduling decisions taken.", st->decisions);
    counter(out, "weft_rebuilds_total", "Rebuilds of the live state.", st->rebuilds);
    gauge(out, "weft_last_rebuild_seconds", "Wall time of the last rebuild.", st->rebuild_s);
    counter(out, "weft_changes_pushed_total", "Flow entries sent in schedule messages.",
            st->changes_pushed);
    counter(out, "weft_journal_records_total", "Journal records replayed and appended.",
            st->journal_records);
    counter(out, "weft_journal_syncs_total", "fdatasync calls on the journal.",
            st->journal_syncs);
    counter(out, "weft_journal_rewrites_total", "Journal rewrites (compactions).",
            st->journal_rewrites);
    if (st->model_path) {
        head(out, "weft_model_info", "gauge",
             "The learned policy's model deciding now (file, SHA-256); always 1.");
        evbuffer_add_printf(out, "weft_model_info{path=");
        label_value(out, st->model_path);
        evbuffer_add_printf(out, ",sha256=");
        label_value(out, st->model_sha256);
        evbuffer_add_printf(out, "} 1\n");
        counter(out, "weft_model_reloads_total", "Model reloads (SIGHUP) that took.",
                st->model_reloads);
    }
    if (st->port_secrets_listed) {
        gauge(out, "weft_agent_secret_ports", "Ports whose agent has a secret of its own "
              "(--agent-tokens).", (double)st->port_secrets_listed);
        counter(out, "weft_agent_secret_reloads_total",
                "Reloads of the agents' secrets (SIGHUP) that took.", st->port_secrets_reloads);
    }
    if (st->token_files)
        counter(out, "weft_token_reloads_total",
                "Reloads of the token files (SIGHUP) that changed a secret.", st->token_reloads);
    if (st->tls) {
        counter(out, "weft_tls_reloads_total",
                "Reloads of the TLS certificate and key (SIGHUP) that took.", st->tls_reloads);
        if (st->tls_not_after)
            gauge(out, "weft_tls_certificate_expiry_seconds",
                  "End of validity of the certificate served to new connections, Unix "
                  "seconds.", (double)st->tls_not_after);
    }
    const rpc_histogram_t *h = m->decision;
    head(out, "weft_decision_seconds", "histogram",
         "Wall time of a decision (ordering and rates; a rebuild it needed included).");
    uint64_t below = 0;
    for (size_t b = 0; b < RPC_DECISION_BUCKETS; b++) {
        below += h->count[b];
        evbuffer_add_printf(out, "weft_decision_seconds_bucket{le=\"%g\"} %llu\n",
                            rpc_decision_bucket_le[b], (unsigned long long)below);
    }
    evbuffer_add_printf(out, "weft_decision_seconds_bucket{le=\"+Inf\"} %llu\n",
                        (unsigned long long)h->n);
    evbuffer_add_printf(out, "weft_decision_seconds_sum %.17g\n", h->sum_s);
    evbuffer_add_printf(out, "weft_decision_seconds_count %llu\n", (unsigned long long)h->n);
}
