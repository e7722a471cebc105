/*
 * server.c - the gateway's libevent server (gateway.h, docs/protocol.md).
 *
 * One event loop, one bufferevent per connection, memcached's shape: each
 * connection has an explicit state (conn_state_t, named by conn_state_name
 * and changed only by conn_set_state); a read event handles at most
 * `budget` frames before yielding to the others; a protocol violation gets
 * an error frame and a close once it is written; EMFILE pauses accepting.
 *
 * Bounds on what a peer can make the gateway hold: its decoder buffer
 * (frame cap + 4 bytes, checked before buffering), libevent's input buffer
 * (read watermark), its output queue (max_output, else dropped), and the
 * connection count (max_conns). An unauthenticated connection is closed
 * hello_timeout after it was accepted whatever it sends (slow-loris), an
 * authenticated one after idle_timeout of silence or when a frame it began
 * is not complete frame_timeout after its first bytes arrived (a trickled
 * frame resets no deadline).
 *
 * Durability (group commit): registrations and completions are appended
 * to the journal while their messages are handled, and the decision event
 * fdatasyncs them before it pushes anything. Acknowledgements queued by
 * the handlers cannot leave earlier: a socket bufferevent only schedules
 * its write event when data is queued, and write events run after the
 * next epoll, while the decision event was activated in the current pass
 * and runs in it. So nothing of a pass reaches a peer before its records
 * are durable, and one fdatasync serves every message of the pass.
 *
 * Scheduling: every handled message that changes the state activates one
 * decision event, which runs after the read events already queued in the
 * same loop pass (so a burst of reports costs one decision); the tick
 * timer takes due releases and decides if anything moved since. A
 * decision's changes are grouped by sending port and pushed to that agent.
 *
 * TLS (opts tls_cert / tls_key): every accepted socket gets an OpenSSL
 * bufferevent instead, the handshake done by libevent; the hello timeout
 * runs from the accept, so it bounds the handshake too. An OpenSSL socket
 * bufferevent also only schedules its write event when data is queued (it
 * writes nothing from bufferevent_write itself), so the group commit
 * above holds for it as well. Before it, peek_cb looks at the first byte:
 * a plain client gets a protocol error in plain (so that it stops rather
 * than retries). A peer that fails the handshake (a client that rejects
 * the certificate, TLS older than 1.2) is closed at once. SIGHUP reads the
 * certificate and key again into a new context (rpc_gateway_reload_tls),
 * unless its certificate has expired or is not valid yet: a connection's
 * SSL holds a reference to the context it began with, so connections
 * already in keep theirs.
 *
 * The operator's read-only views (status, job_status, /metrics, /healthz)
 * are in server_status.c; what is read from files at start and again on
 * SIGHUP (the model, the secrets, the TLS certificate) in server_reload.c;
 * what those files share with this one in server_internal.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <libgen.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "server_internal.h"

#define READ_HIGH_WATER (256 * 1024) /* bytes libevent buffers per connection */
#define CLOSE_GRACE_S 1.0            /* time to flush an error frame */
/* Connections draining after their error frame at once, at most: past it,
 * one is closed as soon as its frame is flushed. They hold no --max-conns
 * slot, so this bounds the descriptors a crowd of bad peers takes beyond
 * --max-conns (cli/cmd_serve.c's spare files count them). */
#define CLOSING_MAX 16
#define SCHEDULE_CHUNK 8192          /* entries per schedule frame */
#define PEERS_CHUNK 4096             /* entries per peers frame */
/* Connections the kernel queues before accept (capped by net.core.somaxconn):
 * every agent reconnects at once after a gateway restart, and with 128 the
 * SYNs beyond it were dropped and retried 1 s and 3 s later (1,000 agents
 * took 2.6-4.7 s to connect where 400 took 0.08 s). */
#define ACCEPT_BACKLOG SOMAXCONN

static const char *const conn_state_name[] = {"hello", "agent", "client", "closing"};

static struct timeval tv_of(double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - floor(s)) * 1e6)};
    return tv;
}

bool rpc_token_equal(const char *expected, size_t n_expected, const char *got, size_t n_got)
{
    /* Walk the expected token's length whatever was presented, folding every
     * difference into one accumulator: no early exit reveals a prefix. */
    volatile unsigned char diff = (unsigned char)(n_expected != n_got);
    for (size_t i = 0; i < n_expected; i++) {
        unsigned char g = i < n_got ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)((unsigned char)expected[i] ^ g);
    }
    return diff == 0;
}

/* ---------------------------------------------------------- connections */

static void conn_set_state(conn_t *c, conn_state_t s)
{
    if (c->gw->o.log && c->state != s)
        fprintf(c->gw->o.log, "weft serve: connection %llu (%s): %s -> %s\n",
                (unsigned long long)c->serial, c->host, conn_state_name[c->state],
                conn_state_name[s]);
    c->state = s;
}

static void request_decision(rpc_gateway_t *gw)
{
    if (!event_pending(gw->decide_ev, EV_TIMEOUT, NULL))
        event_active(gw->decide_ev, EV_TIMEOUT, 1);
}

static void conn_free(conn_t *c)
{
    rpc_gateway_t *gw = c->gw;
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: connection %llu (%s) closed in state %s\n",
                (unsigned long long)c->serial, c->host, conn_state_name[c->state]);
    if (c->agent >= 0 && gw->agents[c->agent] == c) {
        gw->agents[c->agent] = NULL; /* peers keep its address until it is back */
        rpc_sched_set_port_present(&gw->sched, (uint32_t)c->agent, false);
        request_decision(gw);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    gw->stats.conns_open--;
    if (c->lingering)
        gw->stats.conns_closing--;
    if (c->hello_timer)
        event_free(c->hello_timer);
    if (c->resume)
        event_free(c->resume);
    if (c->close_timer)
        event_free(c->close_timer);
    if (c->frame_timer)
        event_free(c->frame_timer);
    if (c->peek)
        event_free(c->peek);
    if (c->bev)
        bufferevent_free(c->bev);
    else if (c->fd >= 0)
        evutil_closesocket(c->fd);
    rpc_decoder_destroy(&c->dec);
    rpc_frame_destroy(&c->fr);
    free(c);
}

/* Counts `frames` queued to c, and closes c if its queue is now over
 * max_output. */
static void conn_sent(conn_t *c, uint64_t frames)
{
    rpc_gateway_t *gw = c->gw;
    gw->stats.frames_out += frames;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > gw->o.max_output) {
        gw->stats.slow_readers++;
        rpc_gw_conn_fail(c, "slow-reader",
                         "more than %zu bytes queued to a peer that does not read",
                         gw->o.max_output);
    }
}

/* Queues n bytes of frames (`frames` of them) to c. */
static void conn_send_bytes(conn_t *c, const void *bytes, size_t n, uint64_t frames)
{
    if (c->state == CONN_CLOSING || n == 0)
        return;
    bufferevent_write(c->bev, bytes, n);
    conn_sent(c, frames);
}

/* Frames packed once and queued to many connections by reference, freed
 * when the last of them has sent (or dropped) them: a full peers list to
 * each of thousands of agents connecting at once was a copy each. */
typedef struct {
    size_t refs;
    msgpack_sbuffer sb;
} shared_frames_t;

static shared_frames_t *shared_frames_new(void)
{
    shared_frames_t *s = weft_calloc(1, sizeof *s);
    if (s) {
        msgpack_sbuffer_init(&s->sb);
        s->refs = 1;
    }
    return s;
}

static void shared_frames_unref(const void *data, size_t len, void *arg)
{
    (void)data, (void)len;
    shared_frames_t *s = arg;
    if (s && --s->refs == 0) {
        msgpack_sbuffer_destroy(&s->sb);
        free(s);
    }
}

/* conn_send_bytes of s's frames (`frames` of them), by reference. */
static void conn_send_shared(conn_t *c, shared_frames_t *s, uint64_t frames)
{
    if (c->state == CONN_CLOSING || s->sb.size == 0)
        return;
    s->refs++;
    if (evbuffer_add_reference(bufferevent_get_output(c->bev), s->sb.data, s->sb.size,
                               shared_frames_unref, s) != 0) {
        s->refs--; /* no memory for the reference: a copy, as before */
        conn_send_bytes(c, s->sb.data, s->sb.size, frames);
        return;
    }
    conn_sent(c, frames);
}

/* Queues the frame in gw->out to c (and empties gw->out: bufferevent_write
 * copies it at once, so rpc_gw_conn_fail may pack its error frame there). */
void rpc_gw_conn_send(conn_t *c)
{
    rpc_gateway_t *gw = c->gw;
    size_t n = gw->out.size;
    gw->out.size = 0;
    conn_send_bytes(c, gw->out.data, n, 1);
}

static void close_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_free(arg);
}

/* A closing connection's input, drained until the peer's end or the close
 * timer (lingering close, below). */
static void closing_read_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return; /* a TLS handshake that ends after the hello timeout's
                   rpc_gw_conn_fail: the error frame goes out now */
    conn_free(arg); /* the peer's end, an error or a timeout: done */
}

/* The error frame is written: end our side (FIN) and drain the peer's
 * bytes until it closes too or the close timer fires (CLOSE_GRACE_S from
 * the error), rather than close at once. Closing with unread input would
 * reset the connection, and a peer whose next frames were on their way
 * would then fail its next send and retry instead of reading the error
 * that says why it must stop. Its --max-conns slot is free from here:
 * held for the second, a crowd of bad peers kept good ones out. */
static void closing_write_cb(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0 || shutdown(fd, SHUT_WR) != 0 || c->gw->stats.conns_closing >= CLOSING_MAX)
        return conn_free(c);
    c->lingering = true;
    c->gw->stats.conns_closing++;
    bufferevent_setcb(bev, closing_read_cb, NULL, closing_event_cb, c);
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    bufferevent_enable(bev, EV_READ);
    bufferevent_disable(bev, EV_WRITE);
}

/* Sends an error frame, with why's fields unless it is NULL, and closes c
 * once it is written (or after a grace period). Never frees c at once, so
 * callers may keep using it. */
static void conn_fail_v(conn_t *c, const char *code, const rpc_error_why_t *why,
                        const char *fmt, va_list ap)
{
    rpc_gateway_t *gw = c->gw;
    if (c->state == CONN_CLOSING)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: connection %llu (%s): %s: %s\n",
                (unsigned long long)c->serial, c->host, code, msg);
    /* every close for a bad frame or message, or a protocol version this
       gateway does not speak (the "auth" ones are counted where they are
       found: a reload's change of secret is no failure of the peer's) */
    if (!strcmp(code, "protocol") || !strcmp(code, "version"))
        gw->stats.protocol_errors++;
    size_t keep = gw->out.size; /* a caller may be midway through packing */
    msgpack_sbuffer saved = gw->out;
    msgpack_sbuffer_init(&gw->out);
    if (rpc_pack_error_why(&gw->out, code, msg, why) == WEFT_OK &&
        bufferevent_write(c->bev, gw->out.data, gw->out.size) == 0)
        gw->stats.frames_out++; /* a frame sent like any other */
    msgpack_sbuffer_destroy(&gw->out);
    gw->out = saved;
    gw->out.size = keep;
    conn_set_state(c, CONN_CLOSING);
    /* closed for this reason: the hello and frame deadlines are moot (one
       that fired within the grace below counted the close again, in
       timeouts) */
    event_del(c->hello_timer);
    event_del(c->frame_timer);
    bufferevent_disable(c->bev, EV_READ);
    /* a peer already gone fails the write: nothing to wait for */
    bufferevent_setcb(c->bev, NULL, closing_write_cb, closing_event_cb, c);
    bufferevent_enable(c->bev, EV_WRITE);
    struct timeval tv = tv_of(CLOSE_GRACE_S);
    event_add(c->close_timer, &tv);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        event_active(c->close_timer, EV_TIMEOUT, 1);
}

void rpc_gw_conn_fail(conn_t *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conn_fail_v(c, code, NULL, fmt, ap);
    va_end(ap);
}

void rpc_gw_conn_fail_why(conn_t *c, const char *code, const rpc_error_why_t *why,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conn_fail_v(c, code, why, fmt, ap);
    va_end(ap);
}

/* An error the peer caused but that does not break the stream: an error
 * frame, and the connection stays; about job id (a "job" key in the frame)
 * unless it is INT64_MIN. */
void rpc_gw_conn_error_job(conn_t *c, const char *code, weft_err_t err, int64_t job)
{
    rpc_gateway_t *gw = c->gw;
    size_t keep = gw->out.size;
    msgpack_sbuffer saved = gw->out;
    msgpack_sbuffer_init(&gw->out);
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", weft_strerror(err), weft_last_error());
    if (rpc_pack_error_job(&gw->out, code, msg, job) == WEFT_OK)
        rpc_gw_conn_send(c);
    msgpack_sbuffer_destroy(&gw->out);
    gw->out = saved;
    gw->out.size = keep;
}

static void conn_error(conn_t *c, const char *code, weft_err_t err)
{
    rpc_gw_conn_error_job(c, code, err, INT64_MIN);
}

/* ------------------------------------------------------------- messages */

static void send_welcome(conn_t *c)
{
    rpc_gateway_t *gw = c->gw;
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    msgpack_pack_map(&pk, 7);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "welcome");
    /* so a client sends registrations up to it (rpc_client_welcome) */
    pack_kv_int(&pk, "max_frame", (int64_t)gw->o.max_frame);
    /* agents drop, and clients register again, what an earlier epoch had */
    rpc_pack_cstr(&pk, "epoch"), msgpack_pack_uint64(&pk, gw->epoch);
    pack_kv_int(&pk, "v", RPC_PROTOCOL_VERSION);
    pack_kv_int(&pk, "ports", (int64_t)gw->sched.fab.n_ports);
    rpc_pack_cstr(&pk, "rate"), msgpack_pack_double(&pk, gw->o.port_rate);
    /* so a peer with nothing to say pings often enough (rpc_keepalive_s) */
    rpc_pack_cstr(&pk, "idle"), msgpack_pack_double(&pk, gw->o.idle_timeout_s);
    rpc_frame_end(&gw->out, mark, 0);
    rpc_gw_conn_send(c);
}

/* An agent's hello: the port it speaks for (0..max_id) and its data port. */
static weft_err_t hello_agent_ids(const msgpack_object *m, int64_t max_id, int64_t *id,
                                  int64_t *port)
{
    weft_err_t err = rpc_get_int(m, "id", 0, max_id, id);
    return err ? err : rpc_get_int(m, "port", 1, 65535, port);
}

/* The port whose --agent-tokens secret tok is, or SIZE_MAX (each secret
 * compared in constant time). */
static size_t port_secret_owner(const rpc_gateway_t *gw, const char *tok, size_t ntok)
{
    size_t found = SIZE_MAX;
    for (size_t p = 0; p < gw->sched.fab.n_ports; p++)
        if (gw->port_secrets[p] &&
            rpc_token_equal(gw->port_secrets[p], strlen(gw->port_secrets[p]), tok, ntok))
            found = p;
    return found;
}

/* Whether a token that failed for its role (agent or client) is another
 * valid secret here, and if so whose, into whose[n]: the other role's, or
 * under --agent-tokens another port's. The holder of a valid secret given
 * to the wrong command or port is told so, where "wrong token" left it
 * guessing; a token that is no secret here learns nothing more. */
static bool other_roles_token(const rpc_gateway_t *gw, bool agent, const char *tok, size_t ntok,
                              char *whose, size_t n)
{
    bool split = gw->port_secrets || strcmp(gw->agent_token, gw->client_token);
    if (!split)
        return false;
    if (agent && rpc_token_equal(gw->client_token, strlen(gw->client_token), tok, ntok)) {
        snprintf(whose, n, "the clients' token");
        return true;
    }
    if (!gw->port_secrets) {
        snprintf(whose, n, "the agents' token");
        return !agent && rpc_token_equal(gw->agent_token, strlen(gw->agent_token), tok, ntok);
    }
    size_t found = port_secret_owner(gw, tok, ntok);
    if (found != SIZE_MAX)
        snprintf(whose, n, "the agent secret of port %zu (weft serve --agent-tokens)", found);
    return found != SIZE_MAX;
}

static void handle_hello(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    const char *tok, *role = "agent";
    size_t ntok, nrole = 5;
    int64_t v, id = -1, port = 0, acks = 0, data_tls = 0;
    weft_err_t err;
    if ((err = rpc_get_int(m, "v", 0, INT32_MAX, &v)))
        return rpc_gw_conn_fail(c, "protocol", "hello: %s", weft_last_error());
    if (v != RPC_PROTOCOL_VERSION)
        return rpc_gw_conn_fail(c, "version",
                                "hello: protocol version %lld, this gateway speaks %d",
                                (long long)v, RPC_PROTOCOL_VERSION);
    if ((err = rpc_get_str(m, "token", &tok, &ntok)))
        return rpc_gw_conn_fail(c, "protocol", "hello: %s", weft_last_error());
    if (rpc_map_get(m, "role") && (err = rpc_get_str(m, "role", &role, &nrole)))
        return rpc_gw_conn_fail(c, "protocol", "hello: %s", weft_last_error());
    bool agent = nrole == 5 && !memcmp(role, "agent", 5);
    char shown[RPC_SHOWN_LEN];
    if (!agent && !(nrole == 6 && !memcmp(role, "client", 6)))
        return rpc_gw_conn_fail(c, "protocol", "hello: role '%s', expected 'agent' or 'client'",
                                RPC_SHOWN(role, nrole, shown));
    /* With a secret per port, the port claimed picks the secret: read it
       first (a port beyond the gateway's is one without a secret, so the
       range is not told before the secret is checked). Otherwise a wrong
       token is told before a bad id. */
    bool by_port = agent && gw->port_secrets;
    if (by_port && (err = hello_agent_ids(m, INT64_MAX, &id, &port)))
        return rpc_gw_conn_fail(c, "protocol", "hello: %s", weft_last_error());
    const char *want = !agent    ? gw->client_token
                       : by_port ? ((size_t)id < gw->sched.fab.n_ports ? gw->port_secrets[id]
                                                                       : NULL)
                                 : gw->agent_token;
    if (!want) {
        gw->stats.auth_failures++;
        const rpc_error_why_t why = {.why = RPC_WHY_PORT_NO_AGENT};
        return rpc_gw_conn_fail_why(c, "auth", &why, "hello: port %lld takes no agent on this "
                                    "gateway (it has no secret of its own)", (long long)id);
    }
    if (!rpc_token_equal(want, strlen(want), tok, ntok)) {
        gw->stats.auth_failures++;
        char whose[96];
        if (other_roles_token(gw, agent, tok, ntok, whose, sizeof whose))
            return rpc_gw_conn_fail(c, "auth", "hello: wrong token: that is %s; %s", whose,
                                    agent ? (by_port ? "an agent needs its port's secret "
                                                       "(weft serve --agent-tokens)"
                                                     : "agents need the agents' token "
                                                       "(weft serve --agent-token-file, "
                                                       "else its --token)")
                                          : "clients need the clients' token (weft serve "
                                            "--client-token-file, else its --token)");
        return rpc_gw_conn_fail(c, "auth", "hello: wrong token");
    }
    if (agent) {
        int64_t max_id = (int64_t)gw->sched.fab.n_ports - 1;
        if (!by_port && (err = hello_agent_ids(m, max_id, &id, &port))) {
            /* an id that is an integer out of range: the range, for the agent to act on */
            int64_t bad;
            const msgpack_object *o = rpc_map_get(m, "id");
            const rpc_error_why_t range = {RPC_WHY_ID_RANGE, true, 0, max_id};
            bool out = o && rpc_obj_int(o, &bad) && (bad < 0 || bad > max_id);
            return rpc_gw_conn_fail_why(c, "protocol", out ? &range : NULL, "hello: %s",
                                        weft_last_error());
        }
        /* optional: agents from before data acks say nothing (0) */
        if ((err = rpc_get_int_opt(m, "acks", 0, INT32_MAX, &acks)) ||
            (err = rpc_get_int_opt(m, "data_tls", 0, 1, &data_tls)))
            return rpc_gw_conn_fail(c, "protocol", "hello: %s", weft_last_error());
        conn_t *old = gw->agents[id];
        if (old && old != c) {
            old->agent = -1; /* its flows now belong to the new connection */
            gw->stats.replaced++;
            rpc_gw_conn_fail(old, "replaced", "agent %lld connected again", (long long)id);
        }
        gw->agents[id] = c;
        rpc_sched_set_port_present(&gw->sched, (uint32_t)id, true);
        c->agent = id;
        c->data_port = (int)port;
        c->data_acks = (int)acks;
        c->data_tls = data_tls == 1;
        rpc_sched_forget_port(&gw->sched, (uint32_t)id);
        c->peers_all = true; /* and the others are told of it */
        gw->peers_dirty = true;
    }
    event_del(c->hello_timer);
    struct timeval idle = tv_of(gw->o.idle_timeout_s);
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    conn_set_state(c, agent ? CONN_AGENT : CONN_CLIENT);
    send_welcome(c);
    request_decision(gw);
}

/* An ack; for a job, its first flow id and whether it was there already.
 * A job forgotten (--keep-finished) is there already, its first flow id
 * unknown: "forgotten": true instead of "first_flow". */
static void send_job_ack(conn_t *c, int64_t seq, int64_t job, uint64_t first_fid, bool dup,
                         bool forgotten)
{
    rpc_gateway_t *gw = c->gw;
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    msgpack_pack_map(&pk, job == INT64_MIN ? 2 : 5);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "ack");
    pack_kv_int(&pk, "seq", seq);
    if (job != INT64_MIN) {
        pack_kv_int(&pk, "job", job);
        if (forgotten)
            rpc_pack_cstr(&pk, "forgotten"), msgpack_pack_true(&pk);
        else
            rpc_pack_cstr(&pk, "first_flow"), msgpack_pack_uint64(&pk, first_fid);
        rpc_pack_cstr(&pk, "dup"), dup ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    rpc_frame_end(&gw->out, mark, 0);
    rpc_gw_conn_send(c);
}

static void send_ack(conn_t *c, int64_t seq, int64_t job, uint64_t first_fid, bool dup)
{
    send_job_ack(c, seq, job, first_fid, dup, false);
}

/* Appends one journal record: {"r": "job", "job": job} when job is given,
 * else {"r": "done", "flows": fids[0..n)}; or, with cancel_id not
 * INT64_MIN, {"r": "cancel", "job": cancel_id (, "sent": sent[0..n_sent)
 * of job cj, from its flow *from on)}. Each with "at", the wall-clock time
 * `at` (now on the gateway's clock), which a restart maps back onto its
 * own (rpc_gateway_replay_record), so JCTs outlive the process. */
static weft_err_t append_record(rpc_gateway_t *gw, double at, const msgpack_object *job,
                                const uint64_t *fids, size_t n, int64_t cancel_id, size_t cj,
                                size_t *from, size_t n_sent)
{
    bool cancel = cancel_id != INT64_MIN;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t mark;
    weft_err_t err = rpc_frame_begin(&sb, &mark);
    if (!err) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, n_sent ? 4 : 3);
        rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, at);
        rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, cancel ? "cancel" : job ? "job" : "done");
        if (cancel) {
            pack_kv_int(&pk, "job", cancel_id);
            if (n_sent) { /* what job_status reports of its dropped flows */
                rpc_pack_cstr(&pk, "sent"), msgpack_pack_array(&pk, n_sent);
                rpc_sched_pack_cancel_sent(&gw->sched, cj, from, n_sent, &pk);
            }
        } else if (job) {
            rpc_pack_cstr(&pk, "job"), msgpack_pack_object(&pk, *job);
        } else {
            rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, n);
            for (size_t i = 0; i < n; i++)
                msgpack_pack_uint64(&pk, fids[i]);
        }
        err = rpc_frame_end(&sb, mark, gw->journal.max_record); /* >= a register frame */
    }
    if (!err)
        err = rpc_journal_append(&gw->journal, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return err;
}

/* Journals a registration (job) or the completions fids[0..n). */
static weft_err_t journal_record(rpc_gateway_t *gw, const msgpack_object *job,
                                 const uint64_t *fids, size_t n)
{
    if (gw->journal.fd < 0 || (!job && n == 0))
        return WEFT_OK;
    return append_record(gw, gw->sched.wall_at_zero + gw_now(gw), job, fids, n, INT64_MIN,
                         SIZE_MAX, NULL, 0);
}

/* Journals the cancel of job id: one record, and more for a "sent" longer
 * than RPC_CANCEL_SENT_CHUNK entries (a replayed cancel of a cancelled job
 * only adds "sent"), each within the record cap. */
static weft_err_t journal_cancel(rpc_gateway_t *gw, int64_t id)
{
    if (gw->journal.fd < 0)
        return WEFT_OK;
    size_t cj = rpc_sched_find_job(&gw->sched, id), from = 0, upto = 0;
    double at = gw->sched.wall_at_zero + gw_now(gw); /* the same in each */
    weft_err_t err = WEFT_OK;
    for (bool first = true; !err; first = false) {
        size_t n_sent = cj == SIZE_MAX ? 0
                                       : rpc_sched_pack_cancel_sent(&gw->sched, cj, &upto,
                                                                    RPC_CANCEL_SENT_CHUNK, NULL);
        if (!first && !n_sent)
            break;
        err = append_record(gw, at, NULL, NULL, 0, id, cj, &from, n_sent);
    }
    return err;
}

/* Forgets the finished jobs beyond --keep-finished (rpc_sched_retain) and
 * journals their ids, {"r": "forget", "jobs": [id, ...], "at": T}, so that
 * a restart forgets exactly these (not whichever its replay finished
 * first). Durable with the pass's records: nothing says "forgotten" to a
 * peer before the next sync. */
static weft_err_t retain(rpc_gateway_t *gw)
{
    rpc_sched_t *s = &gw->sched;
    weft_err_t err = rpc_sched_retain(s);
    enum { CHUNK = 16384 }; /* ids per record: well under the record cap */
    for (size_t a = 0; !err && gw->journal.fd >= 0 && a < s->n_forgot_now; a += CHUNK) {
        size_t n = s->n_forgot_now - a < CHUNK ? s->n_forgot_now - a : CHUNK, mark;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        if (!(err = rpc_frame_begin(&sb, &mark))) {
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_map(&pk, 3);
            rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, s->wall_at_zero + gw_now(gw));
            rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "forget");
            rpc_pack_cstr(&pk, "jobs"), msgpack_pack_array(&pk, n);
            for (size_t i = a; i < a + n; i++)
                msgpack_pack_int64(&pk, s->forgot_now[i]);
            err = rpc_frame_end(&sb, mark, gw->journal.max_record);
        }
        if (!err)
            err = rpc_journal_append(&gw->journal, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    s->n_forgot_now = 0;
    return err;
}

/* A journal failure leaves the gateway unable to keep its promise: stop. */
static void fatal(rpc_gateway_t *gw, weft_err_t err)
{
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: fatal: %s: %s\n", weft_strerror(err),
                weft_last_error());
    gw->fatal = err;
    event_base_loopbreak(gw->base);
}

static void handle_register(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    int64_t seq = 0;
    weft_err_t err;
    if ((err = rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq)))
        return rpc_gw_conn_fail(c, "protocol", "register: %s", weft_last_error());
    const msgpack_object *job = rpc_map_get(m, "job");
    int64_t id;
    if (!job || job->type != MSGPACK_OBJECT_MAP ||
        rpc_get_int(job, "id", INT64_MIN, INT64_MAX, &id) != WEFT_OK)
        return rpc_gw_conn_fail(c, "protocol", "register: field 'job' must be a map with an "
                                "integer 'id'");
    uint64_t gone_fid;
    double gone_jct;
    if (rpc_sched_find_gone(&gw->sched, id, &gone_fid, &gone_jct)) /* finished long ago */
        return send_ack(c, seq, id, gone_fid, true);
    if (rpc_sched_forgotten(&gw->sched, id)) /* and forgotten since (--keep-finished) */
        return send_job_ack(c, seq, id, 0, true, true);
    coflow_workload_t tmp;
    err = rpc_job_parse(&gw->sched.fab, job, &tmp);
    size_t j = rpc_sched_find_job(&gw->sched, id);
    if (!err && j != SIZE_MAX) /* a resend is the same job */
        err = rpc_sched_check_resend(&gw->sched, j, &tmp);
    if (err) {
        weft_wrap(err, "register (seq %lld): ", (long long)seq);
        conn_error(c, "invalid-job", err);
        coflow_workload_destroy(&tmp);
        return;
    }
    if (j != SIZE_MAX) { /* a resend after a reconnect: already durable */
        coflow_workload_destroy(&tmp);
        return send_ack(c, seq, id, rpc_sched_first_fid(&gw->sched, j), true);
    }
    uint64_t first;
    if ((err = journal_record(gw, job, NULL, 0)) ||
        (err = rpc_sched_commit_job(&gw->sched, &tmp, gw_now(gw), &first))) {
        coflow_workload_destroy(&tmp);
        return fatal(gw, err);
    }
    coflow_workload_destroy(&tmp);
    send_ack(c, seq, id, first, false); /* leaves after the pass's fdatasync */
    request_decision(gw);
}

/* Validates that agent c may report flow fid; *held is its index in the
 * scheduler's table, SIZE_MAX for a flow of a job compacted away. */
static weft_err_t own_flow(conn_t *c, uint64_t fid, size_t *held)
{
    const rpc_sched_t *s = &c->gw->sched;
    size_t f;
    *held = SIZE_MAX;
    int r = rpc_sched_flow_index(s, fid, &f);
    if (r <= 0) /* 0: of a job compacted away, a stale report, ignored */
        return (weft_err_t)r;
    *held = f;
    uint32_t src = s->all.flows[f].src;
    if (src != (uint32_t)c->agent)
        return weft_fail(WEFT_EINVAL, "flow %llu is sent by agent %u, not by agent %lld",
                         (unsigned long long)fid, src, (long long)c->agent);
    return WEFT_OK;
}

static const char *code_of(weft_err_t err)
{
    return err == WEFT_ENOTFOUND ? "unknown-id" : "invalid";
}

/* Completes fids[0..n): journal first, then the state. */
static void complete(rpc_gateway_t *gw, const uint64_t *fids, size_t n)
{
    weft_err_t err = journal_record(gw, NULL, fids, n);
    for (size_t i = 0; !err && i < n; i++)
        err = rpc_sched_finish(&gw->sched, fids[i], gw_now(gw));
    if (err)
        fatal(gw, err);
}

/* After the frame of entries [a, b) came out over --max-frame: halves
 * *chunk, the entries a frame takes, and returns where the next frame
 * starts (a again). A frame over the cap is never sent, and what it held
 * would be lost silently (a schedule's flows are marked announced). One
 * entry always fits (RPC_MIN_FRAME); if one does not, it is logged and
 * passed, so the caller's loop still ends. */
static size_t fewer_a_frame(rpc_gateway_t *gw, const char *what, size_t a, size_t b,
                            size_t *chunk)
{
    if (b - a > 1) {
        *chunk = (b - a) / 2;
        return a;
    }
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: a %s entry alone exceeds --max-frame %zu: not sent\n",
                what, gw->o.max_frame);
    return b;
}

/* Tells agent c to drop flows fids[0..n) that it reported and this gateway
 * does not hold unfinished (of cancelled jobs whose drop it missed, of jobs
 * compacted away, or never given out): a schedule with them in "drop" only.
 * Not in "flows" at rate 0 as a decision's drops are: the agent may have
 * dropped and forgotten a flow already (a report sent just before a drop
 * reached it), and a rate for a flow it does not hold is a protocol error
 * to it; an agent that ignores "drop" has held them at rate 0 since it
 * reconnected, or since the drop it ignored. */
static void send_drops(conn_t *c, const uint64_t *fids, size_t n)
{
    rpc_gateway_t *gw = c->gw;
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: connection %llu (%s): agent %lld reported %zu flow%s "
                "this gateway does not hold unfinished (of cancelled or finished jobs, or "
                "unknown to its journal): told to drop them\n", (unsigned long long)c->serial,
                c->host, (long long)c->agent, n, n == 1 ? "" : "s");
    size_t chunk = SCHEDULE_CHUNK;
    for (size_t a = 0; a < n;) {
        size_t b = a + chunk < n ? a + chunk : n, mark;
        msgpack_packer pk;
        rpc_frame_begin_packer(&gw->out, &mark, &pk);
        msgpack_pack_map(&pk, 4);
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "schedule");
        rpc_pack_cstr(&pk, "new"), msgpack_pack_array(&pk, 0);
        rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, 0);
        rpc_pack_cstr(&pk, "drop"), msgpack_pack_array(&pk, b - a);
        for (size_t i = a; i < b; i++)
            msgpack_pack_uint64(&pk, fids[i]);
        if (rpc_frame_end(&gw->out, mark, gw->o.max_frame) == WEFT_OK) {
            rpc_gw_conn_send(c);
            a = b;
        } else {
            a = fewer_a_frame(gw, "drop", a, b, &chunk);
        }
        gw->out.size = 0;
    }
}

static bool entry_fid(const msgpack_object *o, uint64_t *fid)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *fid = o->via.u64;
    return true;
}

static void handle_progress(conn_t *c, const msgpack_object *m, bool done)
{
    rpc_gateway_t *gw = c->gw;
    const char *what = done ? "done" : "progress";
    if (c->state != CONN_AGENT)
        return rpc_gw_conn_fail(c, "protocol", "%s: only agents report flows", what);
    const msgpack_object_array *a;
    int64_t seq = -1;
    if (rpc_get_array(m, "flows", &a) || rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq))
        return rpc_gw_conn_fail(c, "protocol", "%s: %s", what, weft_last_error());
    /* fin[0..n_fin): completed; drop[0..n_drop): for the agent to forget */
    uint64_t stack[128], *fin = a->size <= 64 ? stack : weft_calloc(2 * (size_t)a->size,
                                                                     sizeof *fin);
    if (!fin)
        return fatal(gw, weft_fail(WEFT_ENOMEM, "out of memory for %u flows", a->size));
    uint64_t *drop = fin + (a->size <= 64 ? 64 : a->size);
    size_t n_fin = 0, n_drop = 0;
    bool reported = false;
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *e = &a->ptr[i];
        uint64_t fid;
        double sent = 0;
        bool ok = done ? entry_fid(e, &fid)
                       : e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2 &&
                             entry_fid(&e->via.array.ptr[0], &fid) &&
                             rpc_obj_num(&e->via.array.ptr[1], &sent);
        if (!ok) {
            rpc_gw_conn_fail(c, "protocol", "%s: entry #%u is not %s", what, i,
                             done ? "a flow id" : "[flow id, bytes sent]");
            break;
        }
        size_t f; /* fid's index in the scheduler, SIZE_MAX if not held */
        weft_err_t err = own_flow(c, fid, &f);
        int r = 0;
        if (!err)
            r = done ? rpc_sched_check_done(&gw->sched, fid)
                     : rpc_sched_progress(&gw->sched, fid, sent);
        /* The agent sends a flow this gateway does not hold (of a job
           compacted away, or never given out by this gateway's journal,
           which is older than the agent's flows: FID_SKIP_MIN), or one of a
           cancelled job whose drop it missed: it must forget it. A live
           flow's report needs no second look. */
        if (!done && (!err || err == WEFT_ENOTFOUND) &&
            (f == SIZE_MAX || (gw->sched.fdone[f] && rpc_sched_missed_drop(&gw->sched, fid))))
            drop[n_drop++] = fid;
        if (r < 0 || err) {
            if (!reported) /* one error frame per message */
                conn_error(c, code_of(err ? err : (weft_err_t)r),
                           err ? err : (weft_err_t)r);
            reported = true;
            continue;
        }
        if (r == 1) /* stale and repeated reports are not journaled */
            fin[n_fin++] = fid;
    }
    if (n_drop > 0 && c->state == CONN_AGENT)
        send_drops(c, drop, n_drop);
    complete(gw, fin, n_fin);
    if (fin != stack)
        free(fin);
    if (done && seq >= 0 && c->state != CONN_CLOSING)
        send_ack(c, seq, INT64_MIN, 0, false);
    request_decision(gw);
}

/* job_done for job id, finished after jct seconds; NAN: forgotten
 * (--keep-finished), its JCT and whether it was cancelled unknown, said
 * by "forgotten": true in place of "jct". */
static void send_job_done(conn_t *c, int64_t id, double jct)
{
    rpc_gateway_t *gw = c->gw;
    bool cancelled = rpc_sched_cancelled(&gw->sched, id);
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    msgpack_pack_map(&pk, cancelled ? 4 : 3);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "job_done");
    pack_kv_int(&pk, "job", id);
    if (isnan(jct))
        rpc_pack_cstr(&pk, "forgotten"), msgpack_pack_true(&pk);
    else
        rpc_pack_cstr(&pk, "jct"), msgpack_pack_double(&pk, jct);
    if (cancelled)
        rpc_pack_cstr(&pk, "cancelled"), msgpack_pack_true(&pk);
    rpc_frame_end(&gw->out, mark, 0);
    rpc_gw_conn_send(c);
}

static void handle_watch(conn_t *c, const msgpack_object *m)
{
    const msgpack_object_array *a;
    if (rpc_get_array(m, "jobs", &a))
        return rpc_gw_conn_fail(c, "protocol", "watch: %s", weft_last_error());
    for (uint32_t i = 0; i < a->size; i++) {
        int64_t id;
        if (!rpc_obj_int(&a->ptr[i], &id))
            return rpc_gw_conn_fail(c, "protocol", "watch: entry #%u is not a job id", i);
        const rpc_sched_t *s = &c->gw->sched;
        size_t j = rpc_sched_find_job(s, id);
        uint64_t first;
        double jct;
        if (j != SIZE_MAX && s->jdone[j])
            send_job_done(c, id, s->finish_s[j] - s->arrival_s[j]);
        else if (j == SIZE_MAX && rpc_sched_find_gone(s, id, &first, &jct))
            send_job_done(c, id, jct);
        else if (j == SIZE_MAX && rpc_sched_forgotten(s, id))
            send_job_done(c, id, NAN);
        else if (j == SIZE_MAX) /* the job named, so a client can register it again */
            rpc_gw_conn_error_job(c, "unknown-id",
                                  weft_fail(WEFT_ENOTFOUND, "watch: job %lld was never "
                                            "registered", (long long)id), id);
    }
}

/* Cancels a job: journaled, then applied; acknowledged after the pass's
 * sync with "dup": true if it had already finished (nothing changes). */
static void handle_cancel(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    rpc_sched_t *s = &gw->sched;
    int64_t seq = 0, id;
    weft_err_t err;
    if ((err = rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq)) ||
        (err = rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &id)))
        return rpc_gw_conn_fail(c, "protocol", "cancel: %s", weft_last_error());
    size_t j = rpc_sched_find_job(s, id);
    uint64_t first;
    double jct;
    if (j == SIZE_MAX && rpc_sched_find_gone(s, id, &first, &jct))
        return send_ack(c, seq, id, first, true);
    if (j == SIZE_MAX && rpc_sched_forgotten(s, id))
        return send_job_ack(c, seq, id, 0, true, true);
    if (j == SIZE_MAX)
        return conn_error(c, "unknown-id", weft_fail(WEFT_ENOTFOUND, "cancel: job %lld was "
                                                     "never registered", (long long)id));
    first = rpc_sched_first_fid(s, j);
    if (s->jdone[j])
        return send_ack(c, seq, id, first, true);
    int r;
    if ((err = journal_cancel(gw, id)) ||
        (r = rpc_sched_cancel(s, id, gw_now(gw))) < 0)
        return fatal(gw, err ? err : (weft_err_t)r);
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: job %lld cancelled\n", (long long)id);
    send_ack(c, seq, id, first, false);
    request_decision(gw);
}

/* pong, with the ping's seq if it had one: any integer, as the document
 * says (a negative one was left out, where status closed the connection
 * on it); a seq that is not one is a protocol error, as for status. */
static void handle_ping(conn_t *c, const msgpack_object *m)
{
    int64_t seq = 0;
    if (rpc_get_int_opt(m, "seq", INT64_MIN, INT64_MAX, &seq))
        return rpc_gw_conn_fail(c, "protocol", "ping: %s", weft_last_error());
    rpc_pack_simple_seq(&c->gw->out, "pong", rpc_map_get(m, "seq") != NULL, seq);
    rpc_gw_conn_send(c);
}

static void handle(conn_t *c, const msgpack_object *m)
{
    rpc_gateway_t *gw = c->gw;
    const char *type;
    size_t nt;
    char shown[RPC_SHOWN_LEN];
    if (rpc_get_str(m, "type", &type, &nt) != WEFT_OK)
        return rpc_gw_conn_fail(c, "protocol", "message #%llu: %s",
                                (unsigned long long)c->dec.frames, weft_last_error());
#define IS(s) (nt == sizeof(s) - 1 && !memcmp(type, s, nt))
    if (c->state == CONN_HELLO) {
        if (!IS("hello")) {
            gw->stats.auth_failures++;
            return rpc_gw_conn_fail(c, "auth", "expected hello first, got '%s'",
                                    RPC_SHOWN(type, nt, shown));
        }
        return handle_hello(c, m);
    }
    if (IS("ping")) /* before the job messages: answered to every role */
        return handle_ping(c, m);
    if (gw->split_roles && c->state == CONN_AGENT &&
        (IS("register") || IS("watch") || IS("cancel")))
        return conn_error(c, "forbidden",
                          weft_fail(WEFT_EPROTO, "%.*s: agents may not touch jobs on this "
                                    "gateway (its clients have a secret of their own)",
                                    (int)nt, type));
    if (IS("register"))
        return handle_register(c, m);
    if (IS("progress"))
        return handle_progress(c, m, false);
    if (IS("done"))
        return handle_progress(c, m, true);
    if (IS("watch"))
        return handle_watch(c, m);
    if (IS("cancel"))
        return handle_cancel(c, m);
    if (IS("status"))
        return rpc_gw_handle_status(c, m);
    if (IS("job_status"))
        return rpc_gw_handle_job_status(c, m);
    if (IS("hello"))
        return rpc_gw_conn_fail(c, "protocol", "hello sent twice");
    conn_error(c, "unknown-type", weft_fail(WEFT_EPROTO, "unknown message type '%s'",
                                            RPC_SHOWN(type, nt, shown)));
#undef IS
}

/* ------------------------------------------------------------- reading */

static void conn_process_frames(conn_t *c)
{
    rpc_gateway_t *gw = c->gw;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    unsigned budget = gw->o.budget;
    while (c->state != CONN_CLOSING) {
        int r = 0;
        while (budget > 0 && c->state != CONN_CLOSING &&
               (r = rpc_decoder_next(&c->dec, &c->fr)) == 1) {
            gw->stats.frames_in++;
            budget--;
            handle(c, &c->fr.msg.data);
        }
        if (c->state == CONN_CLOSING)
            return;
        if (r < 0) {
            return rpc_gw_conn_fail(c, "protocol", "%s", c->dec.errmsg);
        }
        if (budget == 0) { /* let the others have a turn; come back */
            bufferevent_disable(c->bev, EV_READ);
            event_active(c->resume, EV_TIMEOUT, 1);
            return;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return;
        size_t taken;
        if (rpc_decoder_feed(&c->dec, v.iov_base, v.iov_len, &taken) != WEFT_OK) {
            return rpc_gw_conn_fail(c, "protocol", "%s", c->dec.errmsg);
        }
        evbuffer_drain(in, taken);
    }
}

/* Keeps the frame deadline: armed while bytes of an unfinished frame are
 * buffered, restarted whenever a frame was yielded since it was armed (the
 * bytes now pending belong to a later frame), disarmed when nothing is. */
static void frame_deadline(conn_t *c)
{
    if (c->state == CONN_CLOSING)
        return;
    bool armed = evtimer_pending(c->frame_timer, NULL);
    if (rpc_decoder_pending(&c->dec) == 0) {
        if (armed)
            evtimer_del(c->frame_timer);
    } else if (!armed || c->dec.frames != c->frame_mark) {
        c->frame_mark = c->dec.frames;
        struct timeval tv = tv_of(c->gw->o.frame_timeout_s);
        evtimer_add(c->frame_timer, &tv);
    }
}

static void conn_process(conn_t *c)
{
    conn_process_frames(c);
    frame_deadline(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_t *c = arg;
    if (c->state == CONN_CLOSING)
        return;
    bufferevent_enable(c->bev, EV_READ);
    conn_process(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn_t *c = arg;
    if (what & BEV_EVENT_TIMEOUT) {
        c->gw->stats.timeouts++;
        if (c->state == CONN_CLOSING)
            return conn_free(c);
        return rpc_gw_conn_fail(c, "timeout", "idle for %g s", c->gw->o.idle_timeout_s);
    }
    if (what & BEV_EVENT_CONNECTED)
        return; /* the TLS handshake is done: the hello comes next */
    unsigned long e;
    bool logged = false;
    while (c->gw->tls && (e = bufferevent_get_openssl_error(bev)) != 0)
        if (c->gw->o.log && !logged && ERR_reason_error_string(e)) {
            fprintf(c->gw->o.log, "weft serve: connection %llu (%s): TLS: %s\n",
                    (unsigned long long)c->serial, c->host, ERR_reason_error_string(e));
            logged = true;
        }
    conn_free(c);
}

static void frame_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_t *c = arg;
    if (rpc_decoder_pending(&c->dec) == 0 || c->dec.frames != c->frame_mark)
        return; /* completed meanwhile: conn_process keeps the deadline */
    c->gw->stats.timeouts++;
    rpc_gw_conn_fail(c, "timeout", "a frame was still incomplete %g s after it began",
                     c->gw->o.frame_timeout_s);
}

static void hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_t *c = arg;
    c->gw->stats.timeouts++;
    if (!c->bev) /* TLS, and not a byte yet: nothing to say it in */
        return conn_free(c);
    rpc_gw_conn_fail(c, "timeout", "no valid hello within %g s", c->gw->o.hello_timeout_s);
}

/* Reads and handles c's frames once its bufferevent exists. */
static void conn_start(conn_t *c)
{
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH_WATER);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* A TLS gateway's first look at a connection: a TLS client begins with a
 * handshake record (content type 22), which no frame does (its 4-byte
 * length would be over 369 MB). Anything else is a plain client: it gets
 * the protocol error saying why, in plain, and the close. */
static void peek_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    conn_t *c = arg;
    rpc_gateway_t *gw = c->gw;
    unsigned char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(c->peek, NULL);
        return;
    }
    if (r <= 0)
        return conn_free(c);
    if (b == 22) {
        SSL *ssl = SSL_new(gw->tls);
        c->bev = ssl ? bufferevent_openssl_socket_new(gw->base, fd, ssl,
                                                      BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (!c->bev) { /* out of memory: libevent freed ssl (CLOSE_ON_FREE) and
                          may have closed fd; rather leak it than close it twice */
            if (ssl)
                c->fd = -1;
            return conn_free(c);
        }
        /* peers close without close_notify: an end, not an error */
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        return conn_start(c);
    }
    if (!(c->bev = bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE)))
        return conn_free(c);
    conn_start(c);
    rpc_gw_conn_fail(c, "protocol", "this gateway serves TLS only: connect with TLS (--tls-ca)");
}

/* Serves fd, a connected stream socket from host: the listener's and
 * rpc_gateway_adopt's way in alike. Takes fd (closes it if refused). */
static void conn_accept(rpc_gateway_t *gw, evutil_socket_t fd, const char *host)
{
    if (gw->stats.conns_open - gw->stats.conns_closing >= gw->o.max_conns) {
        gw->stats.conns_refused++;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        /* best effort, non-blocking; a TLS peer could not read it */
        if (!gw->tls && rpc_pack_error(&sb, "busy", "connection limit reached") == WEFT_OK &&
            write(fd, sb.data, sb.size) == (ssize_t)sb.size)
            gw->stats.frames_out++;
        msgpack_sbuffer_destroy(&sb);
        evutil_closesocket(fd);
        return;
    }
    conn_t *c = weft_calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->gw = gw;
    c->agent = -1;
    c->serial = ++gw->serial;
    snprintf(c->host, sizeof c->host, "%s", host);
    rpc_limits_t lim = {gw->o.max_frame, rpc_objects_for(gw->o.max_frame)};
    rpc_decoder_init(&c->dec, &lim);
    rpc_frame_init(&c->fr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    if (gw->tls)
        c->peek = event_new(gw->base, fd, EV_READ, peek_cb, c);
    else
        c->bev = bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->hello_timer = evtimer_new(gw->base, hello_timeout_cb, c);
    c->resume = event_new(gw->base, -1, 0, resume_cb, c);
    c->close_timer = evtimer_new(gw->base, close_timer_cb, c);
    c->frame_timer = evtimer_new(gw->base, frame_timeout_cb, c);
    c->next = gw->conns;
    if (gw->conns)
        gw->conns->prev = c;
    gw->conns = c;
    gw->stats.conns_open++;
    gw->stats.conns_accepted++;
    if (!(c->bev || c->peek) || !c->hello_timer || !c->resume || !c->close_timer ||
        !c->frame_timer) {
        conn_free(c); /* closes fd */
        return;
    }
    if (c->peek)
        event_add(c->peek, NULL);
    else
        conn_start(c);
    struct timeval tv = tv_of(gw->o.hello_timeout_s);
    evtimer_add(c->hello_timer, &tv);
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: connection %llu from %s\n",
                (unsigned long long)c->serial, c->host);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lis, (void)salen;
    char host[64] = "?";
    rpc_sockaddr_text(sa, host, sizeof host);
    conn_accept(arg, fd, host);
}

weft_err_t rpc_gateway_adopt(rpc_gateway_t *gw, int fd, const char *peer)
{
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
        weft_err_t err = weft_fail(WEFT_EINVAL, "adopt: descriptor %d is not a stream socket",
                                   fd);
        close(fd);
        return err;
    }
    evutil_make_socket_nonblocking(fd);
    conn_accept(gw, fd, peer ? peer : "adopted");
    return WEFT_OK;
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    evconnlistener_enable(((rpc_gateway_t *)arg)->lis);
}

static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
    rpc_gateway_t *gw = arg;
    int e = EVUTIL_SOCKET_ERROR();
    if (gw->o.log)
        fprintf(gw->o.log, "weft serve: accept: %s\n", evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment instead of
           spinning on a listener that stays readable. */
        evconnlistener_disable(lis);
        struct timeval tv = tv_of(0.1);
        evtimer_add(gw->accept_resume, &tv);
    }
}

/* ------------------------------------------------------------ decisions */

/* Whether the agent at port p goes in a peers message of every connected
 * agent (all) or only of the newcomers (peers_all: not yet told). */
static bool peer_listed(const rpc_gateway_t *gw, size_t p, bool all)
{
    return gw->agents[p] && (all || gw->agents[p]->peers_all);
}

/* Packs port p's entry of a peers message: [agent id, host, data port]. */
static void pack_peer_entry(const rpc_gateway_t *gw, msgpack_packer *pk, size_t p)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint64(pk, p);
    rpc_pack_cstr(pk, gw->agents[p]->host);
    msgpack_pack_int(pk, gw->agents[p]->data_port);
}

/* Packs the peers message of the agents peer_listed(all) at ports
 * [k, end) into b: rpc_frame_end's verdict (b is left as it was when the
 * frame is over --max-frame). With tls, the "tls" key too. */
static weft_err_t pack_peers_frame(rpc_gateway_t *gw, msgpack_sbuffer *b, bool all, size_t k,
                                   size_t end, size_t entries, bool tls)
{
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(b, &mark, &pk);
    msgpack_pack_map(&pk, tls ? 4 : 3);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "peers");
    rpc_pack_cstr(&pk, "peers"), msgpack_pack_array(&pk, entries);
    for (size_t i = k; i < end; i++)
        if (peer_listed(gw, i, all))
            pack_peer_entry(gw, &pk, i);
    /* A key of its own, parallel to "peers": agents from before
       data acks take only entries of 3 and ignore unknown keys. */
    rpc_pack_cstr(&pk, "acks"), msgpack_pack_array(&pk, entries);
    for (size_t i = k; i < end; i++)
        if (peer_listed(gw, i, all))
            msgpack_pack_int(&pk, gw->agents[i]->data_acks);
    if (tls) { /* the same, for whose data port takes TLS only */
        rpc_pack_cstr(&pk, "tls"), msgpack_pack_array(&pk, entries);
        for (size_t i = k; i < end; i++)
            if (peer_listed(gw, i, all))
                msgpack_pack_int(&pk, gw->agents[i]->data_tls);
    }
    return rpc_frame_end(b, mark, gw->o.max_frame);
}

/* Bytes of a msgpack array header for n entries. */
static size_t array_head_bytes(size_t n)
{
    return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/* Packs peers messages of the agents peer_listed(all) into b, each as full
 * as --max-frame allows (and at most PEERS_CHUNK entries): an entry's bytes
 * are measured as packed, so a frame takes entries while the next one
 * still fits; returns the frames. Halving the count of a frame that came
 * out over the cap, as schedules do, left the frames about half full. */
static uint64_t pack_peers(rpc_gateway_t *gw, msgpack_sbuffer *b, bool all)
{
    size_t total = gw->sched.fab.n_ports, k = 0;
    uint64_t frames = 0;
    msgpack_sbuffer one; /* an entry packed alone, to measure it */
    msgpack_sbuffer_init(&one);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &one, msgpack_sbuffer_write);
    /* "tls" only on a gateway with a TLS data port: the messages of one
       without stay as they were */
    bool tls = false;
    for (size_t i = 0; i < total && !tls; i++)
        tls = peer_listed(gw, i, true) && gw->agents[i]->data_tls;
    /* the payload of a message of no entry: its map, keys and empty arrays */
    size_t bare = 0;
    if (pack_peers_frame(gw, &one, all, 0, 0, 0, tls) == WEFT_OK)
        bare = one.size - RPC_HEADER_BYTES;
    size_t limit = PEERS_CHUNK;
    while (k < total) {
        size_t entries = 0, bytes = bare, end = k;
        for (; end < total && entries < limit; end++) {
            if (!peer_listed(gw, end, all))
                continue;
            one.size = 0;
            pack_peer_entry(gw, &pk, end);
            msgpack_pack_int(&pk, gw->agents[end]->data_acks);
            if (tls)
                msgpack_pack_int(&pk, gw->agents[end]->data_tls);
            /* every array's header may grow with the entry */
            size_t grown = bytes + one.size + (tls ? 3 : 2) * (array_head_bytes(entries + 1) -
                                                               array_head_bytes(entries));
            if (entries > 0 && grown > gw->o.max_frame)
                break;
            bytes = grown;
            entries++;
        }
        if (!entries || pack_peers_frame(gw, b, all, k, end, entries, tls) == WEFT_OK) {
            frames += entries > 0;
            k = end;
            limit = PEERS_CHUNK;
        } else if (fewer_a_frame(gw, "peers", 0, entries, &limit) == entries) {
            k = end; /* one entry over the cap (a --max-frame holds one): passed */
        } /* else measured short (never seen): halved as a schedule is */
    }
    msgpack_sbuffer_destroy(&one);
    return frames;
}

/* Tells the agents where their peers are (docs/protocol.md, `peers`): an
 * agent that connected since the last push every connected agent, the
 * others only those that connected since. Each message is packed once for
 * all its receivers, so a push costs O(agents), where a full list to every
 * agent at every connect cost the square of the agents in bytes. */
static void push_peers(rpc_gateway_t *gw)
{
    shared_frames_t *delta = shared_frames_new(), *all = shared_frames_new();
    if (!delta || !all) { /* tried again at the next push */
        shared_frames_unref(NULL, 0, delta);
        shared_frames_unref(NULL, 0, all);
        return;
    }
    uint64_t n_delta = pack_peers(gw, &delta->sb, false), n_all = 0;
    bool all_packed = false;
    for (size_t q = 0; q < gw->sched.fab.n_ports; q++) {
        conn_t *c = gw->agents[q];
        if (!c)
            continue;
        if (c->peers_all) {
            if (!all_packed) {
                n_all = pack_peers(gw, &all->sb, true);
                all_packed = true;
            }
            conn_send_shared(c, all, n_all);
            c->peers_all = false;
        } else {
            conn_send_shared(c, delta, n_delta);
        }
    }
    shared_frames_unref(NULL, 0, delta);
    shared_frames_unref(NULL, 0, all);
    gw->peers_dirty = false;
}

static int cmp_change(const void *a, const void *b)
{
    const rpc_change_t *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return (x->fid > y->fid) - (x->fid < y->fid);
}

/* Packs changes ch[a..b) (one sending port) as one schedule frame into
 * gw->out: rpc_frame_end's verdict (gw->out is left as it was when the
 * frame is over --max-frame). */
static weft_err_t pack_schedule(rpc_gateway_t *gw, const rpc_change_t *ch, size_t a, size_t b)
{
    size_t n_new = 0, n_drop = 0;
    for (size_t i = a; i < b; i++) {
        n_new += ch[i].is_new;
        n_drop += ch[i].drop;
    }
    size_t mark;
    msgpack_packer pk;
    rpc_frame_begin_packer(&gw->out, &mark, &pk);
    msgpack_pack_map(&pk, n_drop ? 4 : 3);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "schedule");
    rpc_pack_cstr(&pk, "new"), msgpack_pack_array(&pk, n_new);
    for (size_t i = a; i < b; i++) {
        if (!ch[i].is_new)
            continue;
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint64(&pk, ch[i].fid);
        msgpack_pack_uint32(&pk, ch[i].dst);
        msgpack_pack_double(&pk, ch[i].bytes);
        msgpack_pack_double(&pk, ch[i].sent);
    }
    /* a dropped flow is also listed at rate 0, so an agent that does
     * not know "drop" at least stops sending it */
    rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, b - a);
    for (size_t i = a; i < b; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, ch[i].fid);
        msgpack_pack_double(&pk, ch[i].rate);
        msgpack_pack_uint32(&pk, ch[i].cls);
    }
    if (n_drop) {
        rpc_pack_cstr(&pk, "drop"), msgpack_pack_array(&pk, n_drop);
        for (size_t i = a; i < b; i++)
            if (ch[i].drop)
                msgpack_pack_uint64(&pk, ch[i].fid);
    }
    return rpc_frame_end(&gw->out, mark, gw->o.max_frame);
}

/* Sends changes[a..b) (one sending port) to its agent, in frames of at
 * most SCHEDULE_CHUNK entries, and fewer when those would exceed
 * --max-frame: a frame over the cap is never sent, and its flows, marked
 * announced already, would never run. */
static void push_schedule(rpc_gateway_t *gw, conn_t *c, const rpc_change_t *ch, size_t n)
{
    size_t chunk = SCHEDULE_CHUNK;
    for (size_t a = 0; a < n;) {
        size_t b = a + chunk < n ? a + chunk : n;
        if (pack_schedule(gw, ch, a, b) == WEFT_OK) {
            rpc_gw_conn_send(c);
            a = b;
        } else {
            a = fewer_a_frame(gw, "schedule", a, b, &chunk);
        }
        gw->out.size = 0;
    }
    gw->stats.changes_pushed += n;
}

/* Finished jobs at the front of the table are compacted away once they are
 * this many and at least half of it. */
#define COMPACT_MIN_JOBS 16

/* job_done to every client for the jobs finished since the last call, which
 * are all still held (rpc_sched_retain has not forgotten them yet). */
static void send_jobs_done(rpc_gateway_t *gw)
{
    rpc_sched_t *s = &gw->sched;
    for (size_t k = 0; k < s->n_jobs_done; k++) {
        size_t j = rpc_sched_find_job(s, s->jobs_done[k]);
        for (conn_t *c = gw->conns; c; c = c->next)
            if (c->state == CONN_CLIENT)
                send_job_done(c, s->jobs_done[k], s->finish_s[j] - s->arrival_s[j]);
    }
    s->n_jobs_done = 0;
}

/* Rewrites the journal, true if it took. A failed rewrite loses nothing
 * (the journal stays as it was and records are still appended to it), so
 * the gateway goes on: warned about once, until one takes again, and
 * tried again once the file has doubled again (rpc_journal_rewrite). */
static bool rewrite_journal(rpc_gateway_t *gw)
{
    if (rpc_journal_rewrite(&gw->journal, &gw->sched)) {
        if (gw->rewrites_failed++ == 0)
            fprintf(stderr, "weft serve: warning: %s; it stays as it was and records are "
                    "still appended to it (nothing is lost); it is tried again once it has "
                    "doubled\n", weft_last_error());
        return false;
    }
    if (gw->rewrites_failed)
        fprintf(stderr, "weft serve: journal %s rewritten, after %llu failed tr%s\n",
                gw->o.journal, (unsigned long long)gw->rewrites_failed,
                gw->rewrites_failed == 1 ? "y" : "ies");
    gw->rewrites_failed = 0;
    return true;
}

/* Whether the directory a journal path names is there and writable. */
static bool journal_dir_writable(const char *path)
{
    char *copy = strdup(path);
    bool ok = copy && access(dirname(copy), W_OK) == 0;
    free(copy);
    return ok;
}

/* The journal removed or moved away while in use (an operator tidying up):
 * records went on to a file no restart reads, and the next start began an
 * empty journal, every job accepted lost. Once a second the path is checked
 * to name the file appended to; if nothing is there any more, the whole
 * state is written there again (the rewrite's temporary file and rename),
 * so a restart has every job. Another file there (a copy put back over the
 * path) is left to the operator: warned once. */
static void check_journal_path(rpc_gateway_t *gw, double now)
{
    struct stat at, open_sb;
    if (gw->journal.fd < 0 || now - gw->journal_seen_at < 1)
        return;
    gw->journal_seen_at = now;
    if (fstat(gw->journal.fd, &open_sb) != 0 || !S_ISREG(open_sb.st_mode))
        return;
    if (stat(gw->o.journal, &at) == 0) {
        bool same = at.st_dev == open_sb.st_dev && at.st_ino == open_sb.st_ino;
        /* a FIFO or a device there (a link to /dev/null) is refused by the
           next start: no restart "from the one there" */
        const char *kind = same ? NULL : weft_file_kind(at.st_mode);
        if (kind && !gw->journal_not_file)
            fprintf(stderr, "weft serve: warning: journal %s is now %s, not a regular file "
                    "(replaced while in use); records go on to the file this gateway "
                    "opened, and a restart would refuse the path: remove what is there, and "
                    "the journal is written there again whole within a second\n",
                    gw->o.journal, kind);
        else if (!same && !kind && !gw->journal_elsewhere)
            fprintf(stderr, "weft serve: warning: journal %s now names another file than the "
                    "one this gateway writes (replaced while in use); records go on to the "
                    "one it opened, and a restart would read the other: put it back, or "
                    "restart now to start from the one there\n", gw->o.journal);
        gw->journal_elsewhere = !same && !kind;
        gw->journal_not_file = kind != NULL;
        return;
    }
    if (errno != ENOENT)
        return;
    /* after a failed rewrite, tried again only once the directory is back:
       a rewrite packs the whole state before it opens its file */
    if (gw->journal_unwritable && !journal_dir_writable(gw->o.journal))
        return;
    /* not rewrite_journal: its warning (nothing lost, tried again once the
       journal has doubled) is not this case's */
    if (!rpc_journal_rewrite(&gw->journal, &gw->sched)) {
        fprintf(stderr, "weft serve: warning: journal %s was removed or moved away while in "
                "use: written there again whole, so a restart still has every job; take "
                "a copy with cp, not mv\n", gw->o.journal);
        gw->journal_unwritable = false;
    } else if (!gw->journal_unwritable) { /* tried again each second, said once */
        fprintf(stderr, "weft serve: warning: journal %s was removed or moved away while in "
                "use, and cannot be written there again (%s): a restart there would start "
                "without its jobs; make the path writable or put the journal back\n",
                gw->o.journal, weft_last_error());
        gw->journal_unwritable = true;
    }
}

static void decide_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    rpc_gateway_t *gw = arg;
    rpc_sched_t *s = &gw->sched;
    double now = gw_now(gw);
    /* the jobs that finished in earlier passes, once every job_done for
       them is out: those finished by reports and cancels handled since
       the last pass first (they leave after this pass's fdatasync too) */
    send_jobs_done(gw);
    weft_err_t err = retain(gw);
    if (!err)
        err = rpc_journal_sync(&gw->journal);
    if (!err)
        check_journal_path(gw, now);
    if (!err)
        err = rpc_sched_tick(s, now);
    if (err)
        return fatal(gw, err);
    if (gw->peers_dirty)
        push_peers(gw);
    if (s->dirty) {
        double t0 = weft_mono_s();
        if ((err = rpc_sched_decide(s, now)))
            return fatal(gw, err);
        double took = weft_mono_s() - t0;
        rpc_histogram_observe(&gw->decision_s, took);
        gw->recent_s[gw->n_recent++ % RPC_STATUS_RECENT_DECISIONS] = took;
        if (s->n_changes > 1)
            qsort(s->changes, s->n_changes, sizeof *s->changes, cmp_change);
        for (size_t a = 0, b; a < s->n_changes; a = b) {
            for (b = a; b < s->n_changes && s->changes[b].src == s->changes[a].src; b++)
                ;
            conn_t *c = gw->agents[s->changes[a].src];
            if (c && c->state == CONN_AGENT) {
                push_schedule(gw, c, s->changes + a, b - a);
            } else { /* tell it all when it connects */
                for (size_t i = a; i < b; i++)
                    rpc_sched_forget(s, s->changes[i].fid);
            }
        }
    }
    send_jobs_done(gw);
    /* With no job index held any more: drop the finished jobs at the front,
     * and rewrite the journal once it has doubled, if jobs were dropped
     * since its last rewrite (otherwise the rewrite would hold as much). */
    rpc_sched_compact(s, COMPACT_MIN_JOBS);
    if (s->n_shed > gw->shed_at_rewrite && rpc_journal_wants_rewrite(&gw->journal) &&
        rewrite_journal(gw))
        gw->shed_at_rewrite = s->n_shed;
}

/* ---------------------------------------------------------------- setup */

weft_err_t rpc_gateway_replay_record(rpc_sched_t *s, double now, const msgpack_object *rec)
{
    const char *r;
    size_t nr;
    weft_err_t err;
    if ((err = rpc_get_str(rec, "r", &r, &nr)))
        return err;
    /* When it happened, on this gateway's clock (its wall-clock time less
     * the clock's zero), within [0, now] (a wall clock set back since). A
     * record without one (from before 2026-12-04) happens now. */
    double at = NAN;
    if ((err = rpc_get_num_opt(rec, "at", 0, INFINITY, &at)))
        return err;
    if (s->wall_at_zero > 0 && at - s->wall_at_zero < now)
        now = at > s->wall_at_zero ? at - s->wall_at_zero : 0;
    if (nr == 3 && !memcmp(r, "job", 3)) {
        coflow_workload_t tmp;
        err = rpc_job_parse(&s->fab, rpc_map_get(rec, "job"), &tmp);
        uint64_t first;
        uint64_t gf;
        double gj;
        size_t held = err ? SIZE_MAX : rpc_sched_find_job(s, tmp.jobs[0].id);
        /* a job held is refused under another's contents, as the live
           register refuses it; one gone or forgotten is not compared (its
           contents are gone with it) */
        if (held != SIZE_MAX)
            err = rpc_sched_check_resend(s, held, &tmp);
        else if (!err && !rpc_sched_find_gone(s, tmp.jobs[0].id, &gf, &gj) &&
                 !rpc_sched_forgotten(s, tmp.jobs[0].id))
            err = rpc_sched_commit_job(s, &tmp, now, &first);
        coflow_workload_destroy(&tmp);
        return err;
    }
    if (nr == 4 && !memcmp(r, "base", 4)) {
        int64_t base;
        if ((err = rpc_get_int(rec, "fid", 0, INT64_MAX, &base)))
            return err;
        if ((uint64_t)base < s->next_fid) /* ids are never given out twice */
            return weft_fail(WEFT_EPARSE, "a 'base' record moves the next flow id back from "
                             "%llu to %lld", (unsigned long long)s->next_fid,
                             (long long)base);
        s->next_fid = (uint64_t)base;
        return WEFT_OK;
    }
    if (nr == 4 && !memcmp(r, "gone", 4)) {
        const msgpack_object_array *a;
        uint64_t gf;
        double gj;
        if ((err = rpc_get_array(rec, "jobs", &a)))
            return err;
        for (uint32_t i = 0; i < a->size; i++) {
            const msgpack_object *e = &a->ptr[i];
            int64_t id;
            uint64_t fid;
            double jct;
            if (e->type != MSGPACK_OBJECT_ARRAY ||
                (e->via.array.size != 3 && e->via.array.size != 4) ||
                !rpc_obj_int(&e->via.array.ptr[0], &id) ||
                !entry_fid(&e->via.array.ptr[1], &fid) ||
                !rpc_obj_num(&e->via.array.ptr[2], &jct))
                return weft_fail(WEFT_EPARSE, "gone job #%u is not [job id, first flow id, "
                                 "jct (, cancelled)]", i);
            const msgpack_object *cancelled = e->via.array.size == 4 ? &e->via.array.ptr[3] : NULL;
            if (cancelled && cancelled->type != MSGPACK_OBJECT_BOOLEAN)
                return weft_fail(WEFT_EPARSE, "gone job #%u: its 4th element (cancelled) is not "
                                 "a boolean", i);
            /* a job id names one job: held, gone or forgotten, never two of them */
            const char *twice = rpc_sched_find_job(s, id) != SIZE_MAX ? "in the table"
                                : rpc_sched_find_gone(s, id, &gf, &gj) ? "compacted away"
                                : rpc_sched_forgotten(s, id)           ? "forgotten"
                                                                       : NULL;
            if (twice)
                return weft_fail(WEFT_EPARSE, "gone job #%u: job %lld is %s already", i,
                                 (long long)id, twice);
            if ((err = rpc_sched_add_gone(s, id, fid, jct, cancelled && cancelled->via.boolean)))
                return err;
            if (!s->replay_gone_any || fid > s->replay_gone_fid) {
                s->replay_gone_any = true;
                s->replay_gone_fid = fid, s->replay_gone_job = id, s->replay_gone_entry = i;
                s->replay_gone_record = s->replay_record, s->replay_gone_end = s->replay_end;
            }
        }
        return WEFT_OK;
    }
    if (nr == 6 && !memcmp(r, "forget", 6)) {
        const msgpack_object_array *a;
        if ((err = rpc_get_array(rec, "jobs", &a)))
            return err;
        for (uint32_t i = 0; i < a->size; i++) {
            int64_t id;
            if (!rpc_obj_int(&a->ptr[i], &id))
                return weft_fail(WEFT_EPARSE, "job #%u is not a job id", i);
            if ((err = rpc_sched_forget_job(s, id)))
                return err;
        }
        return WEFT_OK;
    }
    if (nr == 9 && !memcmp(r, "forgotten", 9)) {
        const msgpack_object_array *a;
        int64_t n;
        if ((err = rpc_get_int(rec, "jobs", 0, INT64_MAX, &n)) ||
            (err = rpc_get_array(rec, "runs", &a)))
            return err;
        for (uint32_t i = 0; i < a->size; i++) {
            const msgpack_object *e = &a->ptr[i];
            int64_t lo, hi;
            if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
                !rpc_obj_int(&e->via.array.ptr[0], &lo) ||
                !rpc_obj_int(&e->via.array.ptr[1], &hi) || lo > hi)
                return weft_fail(WEFT_EPARSE, "run #%u is not [first job id, last job id]",
                                 i);
            if ((err = rpc_sched_add_forgotten(s, lo, hi)))
                return err;
        }
        s->n_forgotten += (uint64_t)n;
        return WEFT_OK;
    }
    if (nr == 6 && !memcmp(r, "cancel", 6)) {
        int64_t id;
        if ((err = rpc_get_int(rec, "job", INT64_MIN, INT64_MAX, &id)))
            return err;
        int c = rpc_sched_cancel(s, id, now);
        if (c < 0)
            return (weft_err_t)c;
        const msgpack_object *sent = rpc_map_get(rec, "sent"); /* since 2026-12-04 */
        if (!sent)
            return WEFT_OK;
        if (sent->type != MSGPACK_OBJECT_ARRAY)
            return weft_fail(WEFT_EPARSE, "field 'sent' is not an array");
        return rpc_sched_replay_cancel_sent(s, &sent->via.array);
    }
    if (nr == 4 && !memcmp(r, "done", 4)) {
        const msgpack_object_array *a;
        if ((err = rpc_get_array(rec, "flows", &a)))
            return err;
        for (uint32_t i = 0; i < a->size; i++) {
            uint64_t fid;
            if (!entry_fid(&a->ptr[i], &fid))
                return weft_fail(WEFT_EPARSE, "flow #%u is not a flow id", i);
            if ((err = rpc_sched_finish(s, fid, now)))
                return err;
        }
        return WEFT_OK;
    }
    char shown[RPC_SHOWN_LEN];
    return weft_fail(WEFT_EPARSE, "unknown record kind '%s'", RPC_SHOWN(r, nr, shown));
}

/* rpc_gateway_replay_record for the record journal j is replaying (j->records
 * its number, j->bytes the byte it ends at), which check_gone_ids then names
 * if it finds the record damaged. */
static weft_err_t replay_journaled(rpc_sched_t *s, double now, const msgpack_object *rec,
                                   const rpc_journal_t *j)
{
    s->replay_record = j->records, s->replay_end = j->bytes;
    weft_err_t err = rpc_gateway_replay_record(s, now, rec);
    s->replay_record = s->replay_end = 0;
    return err;
}

/* The checks that need every record replayed: each gone entry's first flow
 * id below the next flow id the replay ends with (a rewrite writes its gone
 * records before the base records that move the counter past them, so no
 * check at the record can tell). */
static weft_err_t check_gone_ids(const rpc_sched_t *s)
{
    /* every job has a flow, so a gone job's first id is below the counter */
    if (!s->replay_gone_any || s->replay_gone_fid < s->next_fid)
        return WEFT_OK;
    char where[80] = "";
    if (s->replay_gone_record)
        snprintf(where, sizeof where, "record #%llu ending at byte %llu: ",
                 (unsigned long long)s->replay_gone_record,
                 (unsigned long long)s->replay_gone_end);
    return weft_fail(WEFT_EPARSE, "%sgone job #%u: job %lld's first flow id %llu is at or past "
                     "the next flow id the journal ends with, %llu, so no flow of it was ever "
                     "given out: the journal is damaged; it is left as it is: restore it from "
                     "a copy, or move it away to start without its jobs", where,
                     s->replay_gone_entry, (long long)s->replay_gone_job,
                     (unsigned long long)s->replay_gone_fid, (unsigned long long)s->next_fid);
}

/* Sets the gateway clock's zero to wall-clock time origin (the journal's
 * first start) and returns the weft_mono_s() reading of that zero, so the
 * times replayed from the journal's records, and the JCTs of jobs that span
 * a restart, read on one clock. Never after now: a wall clock set back
 * since leaves the zero at this start. */
static double continue_clock(rpc_sched_t *s, double origin)
{
    double wall = weft_wall_s(), mono = weft_mono_s();
    if (origin > wall)
        origin = wall;
    s->wall_at_zero = origin;
    return mono - (wall - origin);
}

/* One rpc_gateway_load_journal's state while rpc_journal_read replays. */
typedef struct {
    rpc_sched_t *s;
    const rpc_journal_t *j;
    double *t0;                /* the caller's clock zero, moved by continue_clock */
    bool clock_set;            /* the epoch record, first, has been read */
    rpc_journal_kinds_t *kinds;
    bool ports_short;          /* a job refused for a port past the fabric's */
} load_t;

/* Once the epoch record is read (it comes first), or after the last record
 * if it is the only one: the clock continues from the journal's first start. */
static void load_clock(load_t *l)
{
    if (!l->clock_set && l->j->epoch_at > 0)
        *l->t0 = continue_clock(l->s, l->j->epoch_at);
    l->clock_set = true;
}

static weft_err_t load_record(void *arg, const msgpack_object *rec)
{
    load_t *l = arg;
    load_clock(l);
    weft_err_t err = replay_journaled(l->s, weft_mono_s() - *l->t0, rec, l->j);
    l->ports_short = err == WEFT_EINVAL &&
                     rpc_job_max_port(rpc_map_get(rec, "job")) >= (int64_t)l->s->fab.n_ports;
    if (err || !l->kinds)
        return err;
    /* the replay took it, so it is one of these kinds (by the whole name:
       "forget" and "cancel" are both six letters) */
    static const char *const names[] = {"job",  "done",   "cancel",   "gone",
                                        "base", "forget", "forgotten"};
    rpc_journal_kinds_t *k = l->kinds;
    size_t *counts[] = {&k->job, &k->done, &k->cancel, &k->gone, &k->base, &k->forget,
                        &k->forgotten};
    const char *r;
    size_t n;
    if (rpc_get_str(rec, "r", &r, &n) == WEFT_OK)
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (strlen(names[i]) == n && !memcmp(r, names[i], n))
                ++*counts[i];
    return WEFT_OK;
}

static weft_err_t load_end(void *arg)
{
    return check_gone_ids(((load_t *)arg)->s);
}

/* rpc_journal_check's replay for ports_hint: the largest port of any job. */
static weft_err_t top_port(void *arg, const msgpack_object *rec)
{
    int64_t *top = arg, p = rpc_job_max_port(rpc_map_get(rec, "job"));
    *top = p > *top ? p : *top;
    return WEFT_OK;
}

/* err, a journal's job refused for a port past the fabric's (a restart with
 * a smaller --ports), with the --ports that reads the whole journal: the
 * largest port of every job record, read again, so that an operator who
 * gives it is not refused again at a later job. */
static weft_err_t ports_hint(weft_err_t err, const char *path, size_t max_record)
{
    char *was = strdup(weft_last_error());
    int64_t top = -1;
    rpc_journal_t all;
    rpc_journal_check(&all, path, max_record, top_port, &top); /* up to any damage */
    rpc_journal_close(&all);
    err = weft_fail(err, "%s: the journal was written with more ports; give --ports %lld or "
                    "more (its jobs use ports 0..%lld), or move it away to start without "
                    "its jobs", was ? was : "", (long long)top + 1, (long long)top);
    free(was);
    return err;
}

weft_err_t rpc_gateway_load_journal(rpc_sched_t *s, double *t0, rpc_journal_t *j,
                                    const char *path, bool sync, size_t max_record,
                                    bool read_only, rpc_journal_kinds_t *kinds)
{
    load_t l = {.s = s, .j = j, .t0 = t0, .kinds = kinds};
    if (kinds)
        *kinds = (rpc_journal_kinds_t){0};
    /* this start's zero, until the journal's epoch record moves it: records
       that carry their time ("at") are placed on it */
    s->wall_at_zero = weft_wall_s() - (weft_mono_s() - *t0);
    weft_err_t err = rpc_journal_read(j, path, sync, max_record, read_only, load_record,
                                      load_end, &l);
    if (err && l.ports_short)
        return ports_hint(err, path, max_record);
    if (err)
        return err;
    load_clock(&l);
    /* the ends the replay left pending that were due before this start (a
       job's final compute after its last flow's done record) are taken
       now, at their times: the job had finished before the restart */
    if ((err = rpc_sched_tick(s, weft_mono_s() - *t0))) {
        rpc_journal_close(j);
        return err;
    }
    /* the jobs the replay finished had finished before this start: no
       job_done for them to whoever connects first (a watch still gets it) */
    s->n_jobs_done = 0;
    s->n_forgot_now = 0; /* forgotten by the journal's own records */
    return WEFT_OK;
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    rpc_gateway_stop(arg);
}

/* A random id in 1 .. 2^63 - 1 (msgpack readers take it as an int64). */
static uint64_t new_epoch(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)getpid() << 40);
    }
    v &= INT64_MAX;
    return v ? v : 1;
}

/* Flow ids skipped at each start from a journal: 2^32 plus a random share of
 * 2^40. A journal restored from an older copy (or one that lost its unsynced
 * tail, --no-fsync) forgot registrations whose flows agents still hold; its
 * new registrations would give their ids to other flows, and the agents'
 * reports about the old ones would count for the new. From a random base,
 * the new ids miss the old ones unless a branch of the journal's history
 * registered about 2^39 flows; reports about the old ones find flows this
 * gateway does not hold, and the agents are told to drop them. 2^63 ids
 * last eight million starts. */
#define FID_SKIP_MIN ((uint64_t)1 << 32)
#define FID_SKIP_SPAN ((uint64_t)1 << 40)

/* Appends and syncs the record packed into b (packed: how its packing went),
 * and frees b. */
static weft_err_t journal_synced(rpc_gateway_t *gw, msgpack_sbuffer *b, weft_err_t packed)
{
    weft_err_t err = packed;
    if (!err)
        err = rpc_journal_append(&gw->journal, b->data, b->size);
    msgpack_sbuffer_destroy(b);
    return err ? err : rpc_journal_sync(&gw->journal);
}

/* The address --listen HOST:PORT names: a numeric IPv4 or IPv6 address,
 * or a host name, as --metrics and the clients take (its first IPv4
 * address if it has one: "localhost" is ::1 first, which a host without
 * IPv6 cannot bind). */
static weft_err_t listen_address(const char *host, int port, struct sockaddr_storage *ss,
                                 socklen_t *len)
{
    if (port < 0 || port > 65535)
        return weft_fail(WEFT_EINVAL, "listen port %d: expected 0..65535", port);
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM},
                           *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = evutil_getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res)
        return weft_fail(WEFT_EINVAL, "listen address '%s': %s (expected an IP address, or a "
                         "name this machine resolves)", host,
                         rc ? evutil_gai_strerror(rc) : "no address");
    const struct evutil_addrinfo *pick = res;
    for (const struct evutil_addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = (socklen_t)pick->ai_addrlen;
    evutil_freeaddrinfo(res);
    return WEFT_OK;
}

weft_err_t rpc_gateway_new(rpc_gateway_t **out, const rpc_gateway_opts_t *opts)
{
    weft_err_t err = WEFT_OK;
    *out = NULL;
    rpc_gateway_t *gw = weft_calloc(1, sizeof *gw);
    if (!gw)
        return weft_fail(WEFT_ENOMEM, "out of memory for the gateway");
    gw->o = *opts;
    gw->journal.fd = -1;
    msgpack_sbuffer_init(&gw->out);
    rpc_gateway_opts_t *o = &gw->o;
    if (!o->host)
        o->host = "127.0.0.1";
    if (!(o->tick_s > 0))
        o->tick_s = 0.01;
    if (!(o->hello_timeout_s > 0))
        o->hello_timeout_s = 5;
    if (!(o->idle_timeout_s > 0))
        o->idle_timeout_s = 60;
    if (!(o->frame_timeout_s > 0))
        o->frame_timeout_s = 10;
    if (!o->max_conns)
        o->max_conns = RPC_MAX_CONNS_DEFAULT;
    if (!o->max_frame)
        o->max_frame = RPC_MAX_FRAME_DEFAULT;
    /* before the journal's replay, which may take a while, is wasted on an
       address that cannot be listened on */
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    WEFT_CHECK(listen_address(o->host, o->port, &ss, &sslen));
    if (o->max_frame < RPC_MIN_FRAME || o->max_frame > UINT32_MAX)
        WEFT_CHECK(weft_fail(WEFT_EINVAL, "frame cap of %zu bytes: expected %zu to %lu",
                             o->max_frame, RPC_MIN_FRAME, (unsigned long)UINT32_MAX));
    if (!o->budget)
        o->budget = 64;
    if (!o->max_output)
        o->max_output = (size_t)16 << 20;
    const char *secrets[2] = {o->agent_token ? o->agent_token : o->token,
                              o->client_token ? o->client_token : o->token};
    for (int r = 0; r < 2; r++)
        if ((r || !o->port_secrets) && (!secrets[r] || rpc_token_blank(secrets[r])))
            WEFT_CHECK(weft_fail(WEFT_EINVAL, "the gateway needs a token for its %s that is "
                                 "not empty or blank", r ? "clients" : "agents"));
    /* two files of their own holding one secret (one copied over the
       other); a caller giving one string for both roles means one secret */
    if (!o->port_secrets && o->agent_token_file && o->client_token_file)
        WEFT_CHECK(rpc_gw_check_role_secrets(o->agent_token, o->client_token,
                                             o->agent_token_file, o->client_token_file));
    gw->agent_token = strdup(secrets[0] ? secrets[0] : "");
    gw->client_token = strdup(secrets[1]);
    gw->split_roles = strcmp(secrets[0] ? secrets[0] : "", secrets[1]) != 0;
    if (o->port_secrets) {
        WEFT_CHECK(rpc_gw_check_port_secrets(o->port_secrets, o->n_ports, secrets[1],
                                             o->port_secrets_file));
        WEFT_CHECK(rpc_gw_copy_port_secrets(o->port_secrets, o->n_ports, &gw->port_secrets));
        gw->split_roles = true;
    }
    o->port_secrets = NULL; /* the caller's array: not kept */
    gw->t0 = gw->started = weft_mono_s();
    if (o->n_ports < 1 || o->n_ports > RPC_MAX_PORTS)
        WEFT_CHECK(weft_fail(WEFT_EINVAL, "%zu ports: a gateway has 1..%zu", o->n_ports,
                             RPC_MAX_PORTS));
    WEFT_CHECK(rpc_sched_init(&gw->sched, o->n_ports, o->port_rate, o->ord, o->alloc));
    for (size_t i = 0; i < o->n_port_rates; i++) {
        const rpc_port_rate_t *pr = &o->port_rates[i];
        if (pr->port >= o->n_ports)
            WEFT_CHECK(weft_fail(WEFT_EINVAL, "--port-cap: port %zu, but the gateway has ports "
                                 "0..%zu (--ports %zu)", pr->port, o->n_ports - 1, o->n_ports));
        WEFT_CHECK(rpc_sched_set_port_rate(&gw->sched, (uint32_t)pr->port, pr->rate));
    }
    o->port_rates = NULL; /* the caller's array: not kept */
    o->n_port_rates = 0;
    if (o->ord == coflow_ordering_find("learned")) {
        /* loaded once, and refused at start rather than at a decision */
        if (!o->model_path)
            WEFT_CHECK(weft_fail(WEFT_EINVAL, "the learned policy needs a model file"));
        WEFT_CHECK(rpc_gw_load_model_file(o->model_path, &gw->model, gw->model_sha256, NULL));
        gw->hook = (coflow_learned_hook_t){.model = &gw->model};
        gw->sched.policy_hook = &gw->hook;
    }
    for (size_t p = 0; p < o->n_ports; p++) /* until its agent connects */
        rpc_sched_set_port_present(&gw->sched, (uint32_t)p, false);
    /* By default a slow rebuild may wait four of its own lengths (gateway.h): at most
       a fifth of the gateway's time goes to rebuilding while jobs stream
       in, and a job waits for its first rates at most that long. */
    gw->sched.rebuild_defer = o->rebuild_defer < 0   ? 0
                              : o->rebuild_defer > 0 ? o->rebuild_defer
                                                     : 4;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
    gw->agents = weft_calloc(o->n_ports, sizeof *gw->agents);
    gw->base = event_base_new();
    if (!gw->agent_token || !gw->client_token || !gw->agents || !gw->base)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory for the gateway"));
    WEFT_CHECK(rpc_gw_tls_setup(gw));
    /* what `weft journal` checks, by the same call */
    if (o->journal)
        WEFT_CHECK(rpc_gateway_load_journal(&gw->sched, &gw->t0, &gw->journal, o->journal,
                                            !o->journal_nosync, o->max_frame, false, NULL));
    else
        gw->sched.wall_at_zero = weft_wall_s() - gw_now(gw);
    gw->epoch = gw->journal.epoch;
    if (!gw->epoch) { /* a new job table: a new identity, journaled before any job */
        gw->epoch = new_epoch();
        if (gw->journal.fd >= 0) {
            msgpack_sbuffer b;
            msgpack_sbuffer_init(&b);
            WEFT_CHECK(journal_synced(gw, &b, rpc_journal_epoch_record(
                                                  &b, gw->epoch, gw->sched.wall_at_zero)));
            gw->journal.epoch = gw->epoch;
        }
    } else if (gw->sched.next_fid <= (uint64_t)INT64_MAX - FID_SKIP_MIN - FID_SKIP_SPAN) {
        /* restarted from a journal, which may be older than what its agents
           hold: new flows get ids no other start from it gives out */
        uint64_t base = gw->sched.next_fid + FID_SKIP_MIN + new_epoch() % FID_SKIP_SPAN;
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        WEFT_CHECK(journal_synced(gw, &b, rpc_journal_base_record(&b, base)));
        gw->sched.next_fid = base;
    }
    /* the zero in use, which a rewrite's epoch record keeps (a journal from
       before its times gets it at its first rewrite) */
    gw->journal.epoch_at = gw->sched.wall_at_zero;
    /* A journal from before seals (format 1) is rewritten whole now, in
     * format 2, so that from here on damage to any record is found (if
     * that fails, records appended are sealed all the same). */
    if (gw->journal.fd >= 0 && gw->journal.format == 1)
        rewrite_journal(gw);
    /* what the journal remembers beyond --keep-finished (a smaller one
       than its gateway's, or jobs that finished in its last pass) */
    gw->sched.keep_finished = o->limit_finished ? o->keep_finished : SIZE_MAX;
    WEFT_CHECK(retain(gw));
    WEFT_CHECK(rpc_journal_sync(&gw->journal));
    char addr[128];
    snprintf(addr, sizeof addr, "%s port %d", o->host, o->port);
    gw->lis = evconnlistener_new_bind(gw->base, accept_cb, gw,
                                      LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
                                          LEV_OPT_CLOSE_ON_EXEC,
                                      ACCEPT_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
    if (!gw->lis)
        WEFT_CHECK(weft_fail(WEFT_EIO, "cannot listen on %s: %s", addr, strerror(errno)));
    evconnlistener_set_error_cb(gw->lis, accept_error_cb);
    WEFT_CHECK(rpc_bound_port(evconnlistener_get_fd(gw->lis), addr, &gw->port));
    if (o->metrics_host)
        WEFT_CHECK(rpc_gw_metrics_setup(gw, o->metrics_host, o->metrics_port));
    gw->tick = event_new(gw->base, -1, EV_PERSIST, decide_cb, gw);
    gw->decide_ev = event_new(gw->base, -1, 0, decide_cb, gw);
    gw->accept_resume = evtimer_new(gw->base, accept_resume_cb, gw);
    if (!gw->tick || !gw->decide_ev || !gw->accept_resume)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory for the gateway's events"));
    struct timeval tick = tv_of(o->tick_s);
    event_add(gw->tick, &tick);
    if (o->handle_signals) {
        gw->sigint = evsignal_new(gw->base, SIGINT, signal_cb, gw);
        gw->sigterm = evsignal_new(gw->base, SIGTERM, signal_cb, gw);
        gw->sighup = evsignal_new(gw->base, SIGHUP, rpc_gw_sighup_cb, gw);
        if (gw->sigint)
            event_add(gw->sigint, NULL);
        if (gw->sigterm)
            event_add(gw->sigterm, NULL);
        if (gw->sighup)
            event_add(gw->sighup, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    gw->sched.dirty = gw->sched.all.n_jobs > 0;
    *out = gw;
    return WEFT_OK;
cleanup:
    rpc_gateway_free(gw);
    return err;
}

int rpc_gateway_port(const rpc_gateway_t *gw) { return gw->port; }

int rpc_gateway_metrics_port(const rpc_gateway_t *gw) { return gw->http ? gw->metrics_port : -1; }

weft_err_t rpc_gateway_run(rpc_gateway_t *gw)
{
    event_base_dispatch(gw->base);
    return gw->fatal;
}

void rpc_gateway_stop(rpc_gateway_t *gw) { event_base_loopexit(gw->base, NULL); }

weft_err_t rpc_gateway_poll(rpc_gateway_t *gw)
{
    if (!gw->fatal)
        event_base_loop(gw->base, EVLOOP_NONBLOCK);
    return gw->fatal;
}

void rpc_gateway_free(rpc_gateway_t *gw)
{
    if (!gw)
        return;
    while (gw->conns)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): conn_free unlinks it */
        conn_free(gw->conns);
    if (gw->lis)
        evconnlistener_free(gw->lis);
    SSL_CTX_free(gw->tls);
    struct event *evs[] = {gw->tick,   gw->decide_ev, gw->sigint,
                           gw->sigterm, gw->sighup,   gw->accept_resume};
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++)
        if (evs[i])
            event_free(evs[i]);
    if (gw->http)
        evhttp_free(gw->http);
    if (gw->base)
        event_base_free(gw->base);
    rpc_journal_close(&gw->journal);
    rpc_sched_destroy(&gw->sched);
    coflow_learned_model_destroy(&gw->model);
    msgpack_sbuffer_destroy(&gw->out);
    free(gw->agents);
    free(gw->agent_token);
    free(gw->client_token);
    rpc_port_secrets_free(gw->port_secrets, gw->o.n_ports);
    free(gw);
}
