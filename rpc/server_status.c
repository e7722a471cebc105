/*
 * server_status.c - the gateway's read-only views for operators: the status
 * and job_status messages (answered to agents and clients alike, like ping),
 * GET /metrics and /healthz (--metrics), and rpc_gateway_stats. Nothing here
 * changes the job table, the connections or the journal. Split from
 * server.c, whose structs it reads (server_internal.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server_internal.h"

static int cmp_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Marks in waits[n_ports] (zeroed by the caller) the ports a released,
 * unfinished flow sends from or to while no agent speaks for them: what
 * stuck jobs wait for. Returns how many. O(flows held). */
static size_t ports_waiting(const rpc_gateway_t *gw, uint8_t *waits)
{
    const rpc_sched_t *s = &gw->sched;
    for (size_t k = 0; k < s->all.n_coflows; k++) {
        if (s->cstatus[k] != COFLOW_ACTIVE)
            continue;
        const coflow_coflow_t *co = &s->all.coflows[k];
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++)
            if (!s->fdone[f])
                waits[s->all.flows[f].src] = waits[s->all.flows[f].dst] = 1;
    }
    size_t n = 0;
    for (size_t p = 0; p < s->fab.n_ports; p++) {
        waits[p] = waits[p] && !gw->agents[p];
        n += waits[p];
    }
    return n;
}

/* Answers a job_status request: where one job stands, coflow by coflow
 * (state, flows done, bytes sent, the rates pushed to its unfinished flows,
 * the parents it waits on, its place in the last decision's order and the
 * score that placed it), so an operator can see why it is slow.
 * Read-only, like status. O(the job's coflows, flows and parents). */
void rpc_gw_handle_job_status(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    const rpc_sched_t *s = &gw->sched;
    int64_t seq = -1, id;
    if (rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq) ||
        rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &id))
        return rpc_gw_conn_fail(c, "protocol", "job_status: %s", weft_last_error());
    size_t j = rpc_sched_find_job(s, id);
    uint64_t first;
    double jct = 0;
    bool gone = j == SIZE_MAX && rpc_sched_find_gone(s, id, &first, &jct);
    /* forgotten (--keep-finished): known to have finished, nothing more */
    bool forgotten = j == SIZE_MAX && !gone && rpc_sched_forgotten(s, id);
    if (j == SIZE_MAX && !gone && !forgotten)
        return rpc_gw_conn_error_job(c, "unknown-id",
                                     weft_fail(WEFT_ENOTFOUND, "job_status: job %lld was never "
                                               "registered", (long long)id), id);
    bool done = gone || forgotten || s->jdone[j];
    const char *state = !done ? "running" : rpc_sched_cancelled(s, id) ? "cancelled"
                                                                       : "finished";
    if (j != SIZE_MAX && done)
        jct = s->finish_s[j] - s->arrival_s[j];
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    bool listed = !gone && !forgotten; /* its coflows, and "of" for their ranks */
    msgpack_pack_map(&pk, forgotten || listed ? 7 : 6);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "job_status");
    pack_kv_int(&pk, "seq", seq);
    pack_kv_int(&pk, "job", id);
    rpc_pack_cstr(&pk, "state"), rpc_pack_cstr(&pk, state);
    if (forgotten) { /* and the limit that forgot it, instead of its time */
        rpc_pack_cstr(&pk, "forgotten"), msgpack_pack_true(&pk);
        rpc_pack_cstr(&pk, "keep_finished"); /* nil: forgotten under an earlier limit */
        if (s->keep_finished == SIZE_MAX)
            msgpack_pack_nil(&pk);
        else
            msgpack_pack_uint64(&pk, s->keep_finished);
    } else { /* a finished job's time; a running one's so far */
        rpc_pack_cstr(&pk, done ? "jct" : "age");
        msgpack_pack_double(&pk, done ? jct : gw_now(gw) - s->arrival_s[j]);
    }
    if (listed) /* the coflows the last decision ordered (added 2026-12-07) */
        pack_kv_int(&pk, "of", (int64_t)s->n_ranked);
    rpc_pack_cstr(&pk, "coflows");
    if (gone || forgotten) { /* compacted away: only its id and time are kept */
        msgpack_pack_nil(&pk);
    } else {
        const coflow_job_t *job = &s->all.jobs[j];
        msgpack_pack_array(&pk, job->n_coflows);
        for (size_t k = job->first_coflow; k < job->first_coflow + job->n_coflows; k++) {
            const coflow_coflow_t *co = &s->all.coflows[k];
            size_t n_done = 0, n_dropped = 0;
            double bytes = 0, sent = 0, rate = 0;
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                double b = s->all.flows[f].bytes;
                bytes += b;
                if (s->fdone[f] == RPC_FLOW_FINISHED) {
                    n_done++;
                    sent += b;
                } else if (s->fdone[f] == RPC_FLOW_DROPPED) {
                    sent += s->sent[f]; /* what was reported before the cancel */
                    n_dropped++;
                } else {
                    sent += s->sent[f];
                    if (s->announced[f] && s->push_rate[f] > 0)
                        rate += s->push_rate[f];
                }
            }
            size_t n_wait = 0;
            for (size_t q = 0; q < co->n_parents; q++)
                n_wait += s->cstatus[s->all.parents[co->first_parent + q]] != COFLOW_DONE;
            uint8_t st = s->cstatus[k];
            double score;
            size_t rank = rpc_sched_rank(s, k, &score);
            msgpack_pack_map(&pk, 8 + (rank > 0) + !isnan(score));
            pack_kv_int(&pk, "id", co->id);
            rpc_pack_cstr(&pk, "state");
            rpc_pack_cstr(&pk, n_dropped ? "cancelled" : st == COFLOW_DONE ? "done"
                                             : st == COFLOW_ACTIVE         ? "active"
                                                                           : "waiting");
            pack_kv_int(&pk, "flows", (int64_t)co->n_flows);
            pack_kv_int(&pk, "flows_done", (int64_t)n_done);
            rpc_pack_cstr(&pk, "bytes"), msgpack_pack_double(&pk, bytes);
            rpc_pack_cstr(&pk, "sent"), msgpack_pack_double(&pk, sent);
            /* the rates last pushed to its unfinished flows, bytes/s */
            rpc_pack_cstr(&pk, "rate"), msgpack_pack_double(&pk, rate);
            rpc_pack_cstr(&pk, "waits_on"), msgpack_pack_array(&pk, n_wait);
            for (size_t q = 0; q < co->n_parents; q++) {
                size_t p = s->all.parents[co->first_parent + q];
                if (s->cstatus[p] != COFLOW_DONE)
                    msgpack_pack_int64(&pk, s->all.coflows[p].id);
            }
            if (rank > 0) /* 1 = first of "of" */
                pack_kv_int(&pk, "rank", (int64_t)rank);
            if (!isnan(score))
                rpc_pack_cstr(&pk, "score"), msgpack_pack_double(&pk, score);
        }
    }
    if (rpc_frame_end(&gw->out, mark, gw->o.max_frame) == WEFT_OK)
        rpc_gw_conn_send(c);
    else
        rpc_gw_conn_error_job(c, "invalid",
                              weft_fail(WEFT_EINVAL, "job_status: job %lld is too large for "
                                        "one frame (--max-frame)", (long long)id), id);
    gw->out.size = 0;
}

/* Answers a status request with the counters (rpc_gateway_stats) and the
 * configuration an operator asks about. Read-only: answered to agents as
 * well as clients, like ping. */
void rpc_gw_handle_status(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    int64_t seq = 0; /* any integer, echoed (a negative one closed the connection) */
    if (rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq))
        return rpc_gw_conn_fail(c, "protocol", "status: %s", weft_last_error());
    bool has_seq = rpc_map_get(m, "seq") != NULL;
    rpc_gateway_stats_t st;
    rpc_gateway_stats(gw, &st);
    size_t n_ports = gw->sched.fab.n_ports;
    bool list = n_ports <= RPC_STATUS_MAX_AGENT_LIST;
    uint8_t *waits = weft_calloc(n_ports, 1);
    if (!waits)
        return rpc_gw_conn_fail(c, "internal", "status: out of memory");
    size_t n_waiting = ports_waiting(gw, waits);
    const rpc_sched_t *s = &gw->sched;
    size_t n_own_rate = 0; /* ports at a rate of their own (--port-cap) */
    for (size_t p = 0; p < n_ports; p++)
        n_own_rate += s->fab.cap_out[p] != gw->o.port_rate;
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    msgpack_pack_map(&pk, 36 + has_seq + list);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "status");
    if (has_seq)
        pack_kv_int(&pk, "seq", seq);
    rpc_pack_cstr(&pk, "version"), rpc_pack_cstr(&pk, gw->o.build ? gw->o.build : "unknown");
    rpc_pack_cstr(&pk, "uptime"), msgpack_pack_double(&pk, st.uptime_s);
    rpc_pack_cstr(&pk, "epoch"), msgpack_pack_uint64(&pk, gw->epoch);
    rpc_pack_cstr(&pk, "policy"), rpc_pack_cstr(&pk, gw->sched.ord->name);
    rpc_pack_cstr(&pk, "allocator"), rpc_pack_cstr(&pk, gw->sched.alloc->name);
    pack_kv_int(&pk, "ports", (int64_t)n_ports);
    rpc_pack_cstr(&pk, "rate"), msgpack_pack_double(&pk, gw->o.port_rate);
    pack_kv_int(&pk, "ports_own_rate", (int64_t)n_own_rate);
    size_t listed_rates =
        n_own_rate < RPC_STATUS_MAX_AGENT_LIST ? n_own_rate : RPC_STATUS_MAX_AGENT_LIST;
    rpc_pack_cstr(&pk, "port_rates"), msgpack_pack_array(&pk, listed_rates);
    for (size_t p = 0, k = 0; p < n_ports && k < listed_rates; p++)
        if (s->fab.cap_out[p] != gw->o.port_rate) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, p), msgpack_pack_double(&pk, s->fab.cap_out[p]);
            k++;
        }
    pack_kv_int(&pk, "conns", (int64_t)st.conns_open);
    pack_kv_int(&pk, "agents", (int64_t)st.agents);
    if (list) {
        rpc_pack_cstr(&pk, "agent_ports"), msgpack_pack_array(&pk, st.agents);
        for (size_t p = 0; p < n_ports; p++)
            if (gw->agents[p])
                msgpack_pack_uint64(&pk, p);
    }
    pack_kv_int(&pk, "ports_waiting", (int64_t)n_waiting);
    size_t listed = n_waiting < RPC_STATUS_MAX_AGENT_LIST ? n_waiting : RPC_STATUS_MAX_AGENT_LIST;
    rpc_pack_cstr(&pk, "waiting_ports"), msgpack_pack_array(&pk, listed);
    for (size_t p = 0, k = 0; p < n_ports && k < listed; p++)
        if (waits[p])
            msgpack_pack_uint64(&pk, p), k++;
    free(waits);
    pack_kv_int(&pk, "jobs", (int64_t)st.jobs);
    pack_kv_int(&pk, "jobs_held", (int64_t)st.jobs_held);
    pack_kv_int(&pk, "jobs_finished", (int64_t)st.jobs_finished);
    pack_kv_int(&pk, "jobs_in_flight", (int64_t)(st.jobs - st.jobs_finished));
    pack_kv_int(&pk, "jobs_forgotten", (int64_t)st.jobs_forgotten);
    rpc_pack_cstr(&pk, "keep_finished"); /* nil: every finished job is remembered */
    if (gw->sched.keep_finished == SIZE_MAX)
        msgpack_pack_nil(&pk);
    else
        msgpack_pack_uint64(&pk, gw->sched.keep_finished);
    pack_kv_int(&pk, "flows_unfinished", (int64_t)st.flows_unfinished);
    pack_kv_int(&pk, "decisions", (int64_t)st.decisions);
    pack_kv_int(&pk, "rebuilds", (int64_t)st.rebuilds);
    pack_kv_int(&pk, "changes_pushed", (int64_t)st.changes_pushed);
    pack_kv_int(&pk, "frames_in", (int64_t)st.frames_in);
    pack_kv_int(&pk, "protocol_errors", (int64_t)st.protocol_errors);
    pack_kv_int(&pk, "auth_failures", (int64_t)st.auth_failures);
    pack_kv_int(&pk, "timeouts", (int64_t)st.timeouts);
    pack_kv_int(&pk, "slow_readers", (int64_t)st.slow_readers);
    pack_kv_int(&pk, "replaced", (int64_t)st.replaced);
    /* how long the last decisions took: median, 99th percentile, largest */
    rpc_pack_cstr(&pk, "decision_s");
    size_t n_rec = gw->n_recent < RPC_STATUS_RECENT_DECISIONS ? (size_t)gw->n_recent
                                                               : RPC_STATUS_RECENT_DECISIONS;
    double rec[RPC_STATUS_RECENT_DECISIONS];
    memcpy(rec, gw->recent_s, n_rec * sizeof *rec);
    qsort(rec, n_rec, sizeof *rec, cmp_seconds);
    if (!n_rec) {
        msgpack_pack_nil(&pk);
    } else { /* nearest rank: the smallest with at least p of them at or below */
        msgpack_pack_map(&pk, 4);
        pack_kv_int(&pk, "n", (int64_t)n_rec);
        rpc_pack_cstr(&pk, "p50"), msgpack_pack_double(&pk, rec[(n_rec - 1) / 2]);
        rpc_pack_cstr(&pk, "p99"), msgpack_pack_double(&pk, rec[(99 * n_rec + 99) / 100 - 1]);
        rpc_pack_cstr(&pk, "max"), msgpack_pack_double(&pk, rec[n_rec - 1]);
    }
    rpc_pack_cstr(&pk, "model");
    if (!st.model_path) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_map(&pk, 3);
        rpc_pack_cstr(&pk, "path"), rpc_pack_cstr(&pk, st.model_path);
        rpc_pack_cstr(&pk, "sha256"), rpc_pack_cstr(&pk, st.model_sha256);
        pack_kv_int(&pk, "reloads", (int64_t)st.model_reloads);
    }
    rpc_pack_cstr(&pk, "token_files"); /* secrets read again on SIGHUP */
    if (!st.token_files) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_map(&pk, 1);
        pack_kv_int(&pk, "reloads", (int64_t)st.token_reloads);
    }
    rpc_pack_cstr(&pk, "tls"); /* certificate read again on SIGHUP */
    if (!st.tls) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_map(&pk, 2);
        pack_kv_int(&pk, "not_after", st.tls_not_after);
        pack_kv_int(&pk, "reloads", (int64_t)st.tls_reloads);
    }
    rpc_pack_cstr(&pk, "agent_secrets"); /* one per port (--agent-tokens) */
    if (!gw->port_secrets) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_map(&pk, 3);
        rpc_pack_cstr(&pk, "path");
        st.port_secrets_file ? rpc_pack_cstr(&pk, st.port_secrets_file) : msgpack_pack_nil(&pk);
        pack_kv_int(&pk, "ports", (int64_t)st.port_secrets_listed);
        pack_kv_int(&pk, "reloads", (int64_t)st.port_secrets_reloads);
    }
    rpc_pack_cstr(&pk, "journal");
    if (gw->journal.fd < 0) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_map(&pk, 5);
        rpc_pack_cstr(&pk, "path"), rpc_pack_cstr(&pk, gw->journal.path);
        pack_kv_int(&pk, "records", (int64_t)st.journal_records);
        pack_kv_int(&pk, "syncs", (int64_t)st.journal_syncs);
        pack_kv_int(&pk, "rewrites", (int64_t)st.journal_rewrites);
        pack_kv_int(&pk, "format", st.journal_format);
    }
    /* bounded (the lists are capped) but for the journal's path: a small
       --max-frame is answered with why, not a silence the client waits out */
    if (rpc_frame_end(&gw->out, mark, gw->o.max_frame) == WEFT_OK)
        rpc_gw_conn_send(c);
    else
        rpc_gw_conn_error_job(c, "invalid",
                              weft_fail(WEFT_EINVAL, "status: the answer is larger than this "
                                        "gateway's --max-frame of %zu bytes", gw->o.max_frame),
                              INT64_MIN);
    gw->out.size = 0;
}

/* Answers req with status code (reason) and body, of content_type. A HEAD
 * gets the headers a GET would, Content-Length included, and no body:
 * libevent 2.1 writes a reply's body after the headers of a HEAD too,
 * without a Content-Length, so a client that kept the connection read it
 * as the start of its next answer. */
static void send_text(struct evhttp_request *req, int code, const char *reason,
                      struct evbuffer *body, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_send_reply(req, code, reason, body);
        return;
    }
    char len[32];
    snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
    evhttp_add_header(h, "Content-Length", len);
    evhttp_send_reply(req, code, reason, NULL);
}

/* send_text of a plain-text body printed from fmt; 500 if there is no
 * memory for it. */
static void send_line(struct evhttp_request *req, int code, const char *reason, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static void send_line(struct evhttp_request *req, int code, const char *reason, const char *fmt,
                      ...)
{
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(body, fmt, ap);
    va_end(ap);
    send_text(req, code, reason, body, "text/plain; charset=utf-8");
    evbuffer_free(body);
}

/* A --metrics connection's close: its place is free. */
static void http_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    rpc_gateway_t *gw = arg;
    for (size_t i = 0; i < RPC_HTTP_MAX_CONNS; i++)
        if (gw->http_conns[i] == evcon) {
            gw->http_conns[i] = NULL;
            gw->stats.http_open--;
        }
}

/* Whether req's connection has a place among the RPC_HTTP_MAX_CONNS kept
 * open, given one if it is free; if not, req's answer closes it (scrapers
 * keeping their connections could take every descriptor the process may
 * open, the agents' too). */
static bool http_place(rpc_gateway_t *gw, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    size_t free_at = RPC_HTTP_MAX_CONNS;
    for (size_t i = 0; i < RPC_HTTP_MAX_CONNS; i++) {
        if (gw->http_conns[i] == evcon)
            return true;
        if (!gw->http_conns[i] && free_at == RPC_HTTP_MAX_CONNS)
            free_at = i;
    }
    if (free_at == RPC_HTTP_MAX_CONNS) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        return false;
    }
    gw->http_conns[free_at] = evcon;
    gw->stats.http_open++;
    evhttp_connection_set_closecb(evcon, http_closed_cb, gw);
    return true;
}

/* GET /healthz: 200 "ok" from the gateway's own event loop (the one that
 * handles agents and decides), so a liveness probe that gets no answer in
 * time has found the loop stuck; it runs only after the journal is
 * replayed and the gateway listens. Answered past the connections' cap
 * too (then closing): scrapers must not fail the probe. */
static void healthz(struct evhttp_request *req)
{
    send_line(req, HTTP_OK, "OK", "ok\n");
}

/* GET /metrics: the counters in Prometheus's text format (metrics.c);
 * /healthz above; anything else 404. evhttp answers methods other than GET
 * and HEAD with 501 (Not Implemented) and a malformed request with 400 by
 * itself. */
static void metrics_cb(struct evhttp_request *req, void *arg)
{
    rpc_gateway_t *gw = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    bool placed = http_place(gw, req);
    if (path && !strcmp(path, "/healthz")) {
        healthz(req);
        return;
    }
    if (!placed) {
        gw->stats.http_refused++;
        send_line(req, HTTP_SERVUNAVAIL, "Service Unavailable",
                  "weft serve: %d --metrics connections are open already; try again once one "
                  "closes\n", RPC_HTTP_MAX_CONNS);
        return;
    }
    if (!path || strcmp(path, "/metrics") != 0) {
        send_line(req, HTTP_NOTFOUND, "Not Found", "weft serve has /metrics and /healthz only\n");
        return;
    }
    size_t n_ports = gw->sched.fab.n_ports;
    uint8_t *waits = weft_calloc(n_ports, 1);
    struct evbuffer *body = evbuffer_new();
    if (!waits || !body) {
        free(waits);
        if (body)
            evbuffer_free(body);
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    rpc_gateway_stats_t st;
    rpc_gateway_stats(gw, &st);
    rpc_metrics_t m = {.st = &st, .ports = n_ports, .ports_waiting = ports_waiting(gw, waits),
                       .port_rate = gw->o.port_rate, .policy = gw->sched.ord->name,
                       .allocator = gw->sched.alloc->name, .decision = &gw->decision_s,
                       .build = gw->o.build ? gw->o.build : "unknown"};
    free(waits);
    rpc_metrics_render(body, &m);
    send_text(req, HTTP_OK, "OK", body, "text/plain; version=0.0.4; charset=utf-8");
    evbuffer_free(body);
}

static void metrics_accept_resume_cb(evutil_socket_t fd, short what, void *lis)
{
    (void)fd, (void)what;
    evconnlistener_enable(lis);
}

/* evhttp's listener has no error callback of its own: out of descriptors,
 * libevent warned on stderr and tried again at once, a loop that flooded
 * the log (and hung the gateway behind a full stderr pipe). So, as for the
 * agents' listener, accepting pauses for 0.1 s; the scrape that waits in
 * the backlog is answered once descriptors are free. The timer is libevent's
 * own (event_base_once): the callback's argument is evhttp's, not ours. */
static void metrics_accept_error_cb(struct evconnlistener *lis, void *http)
{
    (void)http;
    int e = EVUTIL_SOCKET_ERROR();
    if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
        return;
    evconnlistener_disable(lis);
    struct timeval pause = {.tv_sec = 0, .tv_usec = 100 * 1000};
    if (event_base_once(evconnlistener_get_base(lis), -1, EV_TIMEOUT, metrics_accept_resume_cb,
                        lis, &pause) != 0)
        evconnlistener_enable(lis); /* no timer: retrying beats never answering again */
}

/* Serves --metrics on host:port (port 0: an ephemeral one). */
weft_err_t rpc_gw_metrics_setup(rpc_gateway_t *gw, const char *host, int port)
{
    if (port < 0 || port > 65535)
        return weft_fail(WEFT_EINVAL, "--metrics port %d: expected 0..65535", port);
    gw->http = evhttp_new(gw->base);
    if (!gw->http)
        return weft_fail(WEFT_ENOMEM, "out of memory for the metrics server");
    evhttp_set_allowed_methods(gw->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(gw->http, 10);
    evhttp_set_max_headers_size(gw->http, 8192);
    evhttp_set_max_body_size(gw->http, 1024);
    evhttp_set_gencb(gw->http, metrics_cb, gw);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(gw->http, host, (uint16_t)port);
    if (!bs)
        return weft_fail(WEFT_EIO, "--metrics: cannot listen on %s port %d: %s", host, port,
                         strerror(errno));
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bs), metrics_accept_error_cb);
    return rpc_bound_port(evhttp_bound_socket_get_fd(bs), "--metrics", &gw->metrics_port);
}

void rpc_gateway_stats(const rpc_gateway_t *gw, rpc_gateway_stats_t *out)
{
    *out = gw->stats;
    out->decisions = gw->sched.n_decisions;
    out->rebuilds = gw->sched.n_rebuilds;
    out->rebuild_s = gw->sched.rebuild_cost_s;
    const rpc_sched_t *s = &gw->sched;
    out->jobs_forgotten = s->n_forgotten;
    out->jobs_finished = s->n_retained + (size_t)s->n_forgotten;
    out->jobs = s->all.n_jobs - s->n_jdone + out->jobs_finished;
    out->jobs_held = s->all.n_jobs - s->n_forgot_held;
    out->journal_rewrites = gw->journal.rewrites;
    out->flows_unfinished = 0;
    for (size_t f = 0; f < gw->sched.all.n_flows; f++)
        out->flows_unfinished += !gw->sched.fdone[f];
    out->agents = 0;
    for (size_t p = 0; p < gw->sched.fab.n_ports; p++)
        out->agents += gw->agents[p] != NULL;
    out->uptime_s = weft_mono_s() - gw->started;
    out->journal_records = gw->journal.records;
    out->journal_syncs = gw->journal.syncs;
    out->model_path = gw->sched.policy_hook == &gw->hook ? gw->o.model_path : NULL;
    memcpy(out->model_sha256, gw->model_sha256, sizeof out->model_sha256);
    out->model_reloads = gw->model_reloads;
    out->port_secrets_file = gw->port_secrets ? gw->o.port_secrets_file : NULL;
    out->port_secrets_listed = 0;
    for (size_t p = 0; gw->port_secrets && p < gw->o.n_ports; p++)
        out->port_secrets_listed += gw->port_secrets[p] != NULL;
    out->port_secrets_reloads = gw->port_secrets_reloads;
    out->token_files = gw->o.token_file || gw->o.agent_token_file || gw->o.client_token_file;
    out->token_reloads = gw->token_reloads;
    out->tls = gw->tls != NULL;
    out->tls_reloads = gw->tls_reloads;
    out->tls_not_before = gw->tls_not_before;
    out->tls_not_after = gw->tls_not_after;
    out->journal_torn_at = gw->journal.torn_at;
    out->journal_torn_bytes = gw->journal.torn_bytes;
    out->journal_torn_path = gw->journal.torn_path;
    out->journal_format = gw->journal.fd >= 0 ? gw->journal.format : 0;
    out->journal_unchecked = gw->journal.unchecked;
}
