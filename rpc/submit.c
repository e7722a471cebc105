/*
 * submit.c - rpc_submit_run (client.h), what `weft submit` does: registers
 * a workload's jobs with the gateway at their arrival times (counted from
 * the call), waits for every job_done and measures each JCT here, from the
 * job's arrival time to its job_done. Survives a gateway restart: it
 * reconnects with back-off, registers again what was not acknowledged
 * (registration is idempotent by job id) and watches the jobs it still
 * waits for, also those a duplicate ack reveals as registered before the
 * connection was lost. Only lost connections are retried: an error the
 * gateway would repeat on any connection (a wrong token, another protocol
 * version, a frame it cannot take) ends the run at once, and so does a TLS
 * failure a retry cannot cure (a certificate that does not verify).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

/* After the time of a job registered before this run: its JCT is the
 * gateway's, where the others' are this run's own clock, a few ms longer
 * (docs/gateway.md, "`weft submit`: its output, retries and clocks"). */
#define GW_CLOCK " (the gateway's clock)"

typedef struct {
    bool sent, acked, done;
    bool before;    /* registered before this run (its first try a dup): its
                       JCT is the gateway's, which counts from its arrival */
    unsigned tries; /* register messages sent for it by this run */
    double jct;
} job_state_t;

/* Sends job j's registration (again), counting it. */
static weft_err_t send_register(rpc_client_t *c, const coflow_workload_t *wl, job_state_t *js,
                                size_t j)
{
    js[j].tries++;
    return rpc_client_register(c, (int64_t)j, wl, j);
}

/* Connects and says hello; what is registered and watched waits for the
 * welcome (on_welcome). */
static weft_err_t connect_all(rpc_client_t *c, const char *host, int port, const char *token)
{
    weft_err_t err = rpc_client_connect(c, host, port, 1.0);
    if (!err)
        err = rpc_client_hello_client(c, token);
    if (!err)
        err = rpc_client_flush(c);
    return err;
}

/* EINVAL naming the first job not yet acknowledged that the gateway of
 * this welcome would refuse when it is due, maybe hours into the run with
 * the jobs before it registered and running: one with a flow on a port at
 * or past its ports, or whose registration is over its frame cap (c's,
 * from the welcome). For the cap, every job is weighed first, so that the
 * --max-frame the message asks for takes the largest of them, not just the
 * first (an operator restarting the gateway with the first one's size met
 * the next one over it). Each job is packed once (a lone one over the cap
 * twice, for its message), and taken out of c's output again. O(flows). */
static weft_err_t jobs_fit(rpc_client_t *c, const coflow_workload_t *wl, const job_state_t *js,
                           size_t ports)
{
    size_t cap = c->max_frame ? c->max_frame : RPC_MAX_FRAME_DEFAULT;
    size_t n_over = 0, first = 0, largest = 0, first_bytes = 0, largest_bytes = 0;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        if (js[j].acked)
            continue;
        const coflow_job_t *job = &wl->jobs[j];
        for (size_t k = job->first_coflow; ports && k < job->first_coflow + job->n_coflows;
             k++) {
            const coflow_coflow_t *co = &wl->coflows[k];
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                const coflow_flow_t *fl = &wl->flows[f];
                if (fl->src < ports && fl->dst < ports)
                    continue;
                return weft_fail(WEFT_EINVAL, "job %lld coflow %lld: flow %u->%u uses port %u, "
                                 "but the gateway at %s has ports 0..%zu (weft serve --ports "
                                 "%zu): it would refuse the job when due",
                                 (long long)job->id, (long long)co->id, fl->src, fl->dst,
                                 fl->src >= ports ? fl->src : fl->dst, c->peer, ports - 1,
                                 ports);
            }
        }
        size_t bytes;
        weft_err_t err = rpc_client_register_bytes(c, (int64_t)j, wl, j, &bytes);
        if (err)
            return err;
        if (bytes <= cap) /* cap <= UINT32_MAX (rpc_client_welcome), a frame's most */
            continue;
        if (!n_over++)
            first = j, first_bytes = bytes;
        if (bytes > largest_bytes)
            largest = j, largest_bytes = bytes;
    }
    if (!n_over)
        return WEFT_OK;
    if (n_over == 1) { /* its own message, as when it is due */
        size_t queued = c->out.size; /* frames not yet written stay */
        weft_err_t err = rpc_client_register(c, (int64_t)first, wl, first);
        c->out.size = queued;
        return err;
    }
    size_t flows = 0;
    return weft_fail(WEFT_EINVAL, "job %lld: its registration is %zu bytes (%zu flows), "
                     "more than the gateway's %zu-byte frame cap; %zu jobs are over it, the "
                     "largest job %lld (%zu bytes, %zu flows): start weft serve with "
                     "--max-frame %zu or more", (long long)wl->jobs[first].id, first_bytes,
                     coflow_job_flows(wl, first, &flows), cap, n_over,
                     (long long)wl->jobs[largest].id, largest_bytes,
                     coflow_job_flows(wl, largest, &flows), largest_bytes);
}

/* The welcome of a (re)connection (whose frame cap, the largest
 * registration the gateway takes, rpc_client_next took): the jobs due and
 * not acknowledged
 * are registered (again); those acknowledged and not done are watched, as
 * the gateway may have finished them while no one listened, or, if the
 * gateway is of another epoch than the one that acknowledged them (it
 * started without the journal that held them), registered again: it lost
 * them. *epoch: the epoch seen last, 0 before the first. */
static weft_err_t on_welcome(rpc_client_t *c, const msgpack_object *m,
                             const coflow_workload_t *wl, job_state_t *js, uint64_t *epoch,
                             FILE *out)
{
    int64_t e = 0, ports = 0;
    if (rpc_get_int_opt(m, "epoch", 1, INT64_MAX, &e) ||
        rpc_get_int_opt(m, "ports", 1, INT64_MAX, &ports))
        return weft_fail(WEFT_EPROTO, "welcome: %s", weft_last_error());
    weft_err_t err = jobs_fit(c, wl, js, (size_t)ports); /* 0: a welcome without ports */
    if (err)
        return err;
    bool lost = *epoch && e && (uint64_t)e != *epoch;
    if (e)
        *epoch = (uint64_t)e;
    for (size_t j = 0; !err && j < wl->n_jobs; j++) {
        if (js[j].sent && !js[j].acked) {
            err = send_register(c, wl, js, j);
            continue;
        }
        if (!js[j].acked || js[j].done)
            continue;
        if (!lost) {
            err = rpc_client_watch(c, &wl->jobs[j].id, 1);
            continue;
        }
        if (out)
            fprintf(out, "job %lld: the gateway lost it (it started without its journal); "
                         "registering it again\n", (long long)wl->jobs[j].id);
        js[j].acked = false;
        err = send_register(c, wl, js, j);
    }
    if (out)
        fflush(out);
    return err ? err : rpc_client_flush(c);
}

weft_err_t rpc_submit_run(const rpc_submit_opts_t *o, const coflow_workload_t *wl,
                          double *jct_s)
{
    weft_err_t err = WEFT_OK;
    const char *host = o->gateway_host;
    char current[RPC_TOKEN_MAX]; /* o->token, or what o->token_file last held */
    snprintf(current, sizeof current, "%s", o->token);
    int port = o->gateway_port;
    double timeout = o->timeout_s > 0 ? o->timeout_s : 600;
    FILE *log = o->log;
    job_state_t *js = weft_calloc(wl->n_jobs ? wl->n_jobs : 1, sizeof *js);
    if (!js)
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu jobs", wl->n_jobs);
    rpc_client_t c;
    rpc_client_init(&c);
    if (o->tls_ca)
        WEFT_CHECK(rpc_client_tls(&c, o->tls_ca));
    double t0 = weft_mono_s(), backoff = 0.05, retry_at = 0, last_ping = 0;
    double keepalive = RPC_KEEPALIVE_S; /* until the welcome says */
    uint64_t epoch = 0;                 /* the gateway's, at the last welcome */
    bool welcomed = false;              /* this connection's welcome came */
    bool ever_welcomed = false;         /* some connection's did */
    char why[1024] = "";                /* the last failed connection's error, whole:
                                           it names the address (up to 280 bytes) */
    size_t n_done = 0;
    bool up = false;
    while (n_done < wl->n_jobs) {
        double now = weft_mono_s() - t0;
        if (now > timeout && !ever_welcomed) /* not a slow job: no gateway */
            WEFT_CHECK(*why ? weft_fail(WEFT_EIO, "timeout: no gateway reached in %g s (%s)",
                                        timeout, why)
                            : weft_fail(WEFT_EIO, "timeout: no gateway at %s answered in %g s",
                                        RPC_HOST_PORT(host, port), timeout));
        if (now > timeout)
            WEFT_CHECK(weft_fail(WEFT_EIO, "timeout: %zu of %zu jobs finished after %g s",
                                 n_done, wl->n_jobs, timeout));
        if (!up && now >= retry_at) {
            bool changed; /* rotated on disk (weft serve reloads on SIGHUP) */
            if (o->token_file && rpc_token_reread(o->token_file, current, &changed) && log)
                fprintf(log, "weft submit: %s; presenting the token read before\n",
                        weft_last_error());
            if (o->tls_ca && rpc_client_tls(&c, o->tls_ca) && log) /* the CA file too */
                fprintf(log, "weft submit: %s; verifying with the CA read before\n",
                        weft_last_error());
            weft_err_t cerr = connect_all(&c, host, port, current);
            if (cerr == WEFT_OK) {
                up = true;
                backoff = 0.05;
            } else if (rpc_client_permanent(&c)) { /* e.g. the certificate does not verify */
                WEFT_CHECK(cerr);
            } else {
                snprintf(why, sizeof why, "%s", weft_last_error());
                if (log)
                    fprintf(log, "weft submit: %s; retrying in %.2f s\n", weft_last_error(),
                            backoff);
                rpc_client_close(&c);
                retry_at = now + backoff;
                backoff = fmin(backoff * 2, 2.0);
            }
        }
        double next = now + 0.05;
        for (size_t j = 0; j < wl->n_jobs; j++) {
            if (js[j].sent)
                continue;
            if (wl->jobs[j].arrival_s <= now) {
                js[j].sent = true;
                if (welcomed) /* else at the welcome */
                    WEFT_CHECK(send_register(&c, wl, js, j));
            } else if (wl->jobs[j].arrival_s < next) {
                next = wl->jobs[j].arrival_s;
            }
        }
        if (!up) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (now - last_ping >= keepalive) { /* keeps the connection from timing out as idle */
            last_ping = now;
            rpc_client_ping(&c, -1);
        }
        const msgpack_object *m;
        int r = rpc_client_wait(&c, fmax(next - now, 0.001), &m);
        if (r < 0 && rpc_client_permanent(&c)) /* not a gateway: asking again will not help */
            WEFT_CHECK(weft_fail((weft_err_t)r, "%s; not retrying", weft_last_error()));
        if (r < 0) {
            if (log)
                fprintf(log, "weft submit: %s; reconnecting\n", weft_last_error());
            rpc_client_close(&c);
            up = welcomed = false;
            retry_at = weft_mono_s() - t0 + backoff;
            continue;
        }
        if (r == 0)
            continue;
        char type[32];
        rpc_msg_type(m, type, sizeof type);
        int64_t v;
        if (!strcmp(type, "welcome")) {
            keepalive = rpc_keepalive_s(m);
            welcomed = ever_welcomed = true;
            if ((err = on_welcome(&c, m, wl, js, &epoch, o->out))) {
                if (err == WEFT_EPROTO || err == WEFT_EINVAL) /* a job over the frame cap */
                    goto cleanup;
                if (log) /* a lost connection: retried */
                    fprintf(log, "weft submit: %s; reconnecting\n", weft_last_error());
                err = WEFT_OK;
                rpc_client_close(&c);
                up = welcomed = false;
                retry_at = weft_mono_s() - t0 + backoff;
                continue;
            }
        } else if (!strcmp(type, "ack") &&
                   rpc_get_int(m, "seq", 0, (int64_t)wl->n_jobs - 1, &v) == 0) {
            bool was_dup = rpc_map_true(m, "dup");
            if (o->out && !js[v].acked) {
                /* a duplicate of this run's first try was registered before
                   it ran (another run, another client): counted here, its
                   JCT would start at this run's start, so the gateway's is
                   taken (job_done) */
                if (was_dup && js[v].tries == 1)
                    fprintf(o->out, "job %lld registered before this run: its JCT is the "
                                    "gateway's, from that registration\n",
                            (long long)wl->jobs[v].id);
                else
                    fprintf(o->out, "job %lld registered\n", (long long)wl->jobs[v].id);
                fflush(o->out);
            }
            if (!js[v].acked && was_dup && js[v].tries == 1)
                js[v].before = true;
            js[v].acked = true;
            /* registered before a lost connection: it may have finished
               while no one listened, so ask */
            if (was_dup && !js[v].done)
                rpc_client_watch(&c, &wl->jobs[v].id, 1);
        } else if (!strcmp(type, "job_done") &&
                   rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &v) == 0) {
            for (size_t j = 0; j < wl->n_jobs; j++)
                if (wl->jobs[j].id == v && js[j].sent && !js[j].done) {
                    js[j].done = true;
                    jct_s[j] = weft_mono_s() - t0 - wl->jobs[j].arrival_s;
                    /* counted here, a job registered before would count from now */
                    if (js[j].before)
                        (void)rpc_get_num_opt(m, "jct", 0, INFINITY, &jct_s[j]);
                    /* finished while no one listened, and forgotten since
                       (--keep-finished): its JCT is not known anywhere */
                    bool was_forgotten = rpc_map_true(m, "forgotten");
                    if (was_forgotten)
                        jct_s[j] = NAN;
                    n_done++;
                    bool was_cancelled = rpc_map_true(m, "cancelled");
                    if (o->cancelled)
                        o->cancelled[j] = was_cancelled;
                    if (o->out) {
                        /* the gateway we ship never says cancelled and forgotten both
                           (it forgets whether a forgotten job was cancelled), but the
                           protocol allows it */
                        if (was_forgotten)
                            fprintf(o->out, "job %lld %s: %s unknown (its record forgotten: "
                                    "--keep-finished)\n", (long long)v,
                                    was_cancelled ? "cancelled" : "done",
                                    was_cancelled ? "when" : "JCT");
                        else if (was_cancelled)
                            fprintf(o->out, "job %lld cancelled after %.3f s%s\n",
                                    (long long)v, jct_s[j], js[j].before ? GW_CLOCK : "");
                        else
                            fprintf(o->out, "job %lld done: JCT %.3f s%s\n", (long long)v,
                                    jct_s[j], js[j].before ? GW_CLOCK : "");
                        fflush(o->out);
                    }
                }
        } else if (!strcmp(type, "error")) {
            rpc_error_msg_t e;
            rpc_msg_error(m, &e);
            if (!strcmp(e.code, "invalid-job"))
                WEFT_CHECK(weft_fail(WEFT_EINVAL, "the gateway refused a job: %s", e.message));
            /* a wrong token or version is refused again on every connection */
            WEFT_CHECK(rpc_msg_error_permanent(&e, c.peer));
            if (log)
                fprintf(log, "weft submit: gateway %s: error %s: %s\n", c.peer, e.code, e.message);
            /* A job it acknowledged and no longer knows (a watch after a
               reconnect): restarted from a journal older than the job, of
               the same epoch. It lost the job: register it again. */
            for (size_t j = 0; e.has_job && !strcmp(e.code, "unknown-id") && j < wl->n_jobs; j++)
                if (wl->jobs[j].id == e.job && js[j].acked && !js[j].done) {
                    if (o->out)
                        fprintf(o->out, "job %lld: the gateway does not know it (its journal "
                                        "is older than the job); registering it again\n",
                                (long long)e.job);
                    js[j].acked = false;
                    WEFT_CHECK(send_register(&c, wl, js, j)); /* sent by the next wait */
                }
        }
    }
cleanup:
    rpc_client_destroy(&c);
    free(js);
    return err;
}
