/*
 * agent.c - `weft agent` (client.h): enforces the gateway's rates on real
 * bytes.
 *
 * One thread, one poll loop over: the gateway connection, the data
 * listener, the connections peers opened to send us data (drained and
 * counted), and one outgoing connection per destination agent, shared by
 * every flow to it. Each flow has a token bucket filled at its assigned
 * rate (capped at BURST_S worth of bytes, so a late wake-up catches up but
 * an idle flow does not hoard); a flow sends only what its bucket holds.
 *
 * Priority classes: flows are served in the order of the class the gateway
 * pushed (0 first), and once a data connection's socket buffer is full no
 * flow of a later class writes to it in that pass. The rates already
 * follow the policy's order; the classes keep that order when the real
 * path is slower than the configured port rate and the flows to one
 * destination compete for its connection.
 *
 * Resumption: the agent keeps, per flow, the bytes it sent; after a
 * reconnect, once the welcome says the gateway is of the same epoch (its
 * journal kept the flows), it re-reports them for every unfinished flow
 * (and every completion the gateway has not acknowledged) before anything
 * else, and when the gateway re-announces a flow it keeps the larger of its
 * own count and the gateway's. A gateway of another epoch lost the flows
 * and may give their ids to others: the agent drops them all. A flow of a
 * job cancelled while it was away is never re-announced: the gateway
 * answers its report with a drop. A restarted agent has no count and takes
 * the gateway's: the bytes sent after the last report before a crash are
 * sent again. The data listener binds by default to the address this host
 * reaches the gateway from, which is where the gateway tells peers to send.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"

#define BURST_S 0.02               /* token bucket depth, seconds of rate */
#define MIN_BURST 16384.0          /* ... but at least this many bytes */
#define WRITE_CHUNK (256 * 1024)   /* bytes per write call */
#define MAX_RECEIVERS 1024
/* A data connection silent this long gives its slot to a new one when all
 * are taken: the port is unauthenticated, so strangers that connect and
 * say nothing must not keep peers out. */
#define RECV_IDLE_S 2.0
#define BACKOFF_MIN_S 0.05
#define BACKOFF_MAX_S 2.0
#define REPORT_BATCH 256           /* flows a progress or done message */

typedef struct {
    uint64_t fid;
    uint32_t dst;
    double bytes;      /* size; sent as ceil(bytes) real bytes */
    double sent;       /* bytes written to the data connection */
    double reported;   /* sent at the last progress report */
    double rate;       /* bytes/s */
    uint32_t cls;
    double tokens;     /* bytes it may send now */
    bool done, done_reported, done_acked;
    bool logged_start; /* its first send was logged (verbose) */
    int64_t done_seq;  /* the done message that reported it */
} aflow_t;

typedef struct {
    char host[64];
    int port;          /* 0: unknown */
    int fd;            /* -1: not connected */
    bool connecting;
    uint64_t full_pass; /* the pace pass in which its socket buffer filled */
    double retry_at;
    bool failing;       /* its last connect failed (logged once) */
} peer_t;

typedef struct {
    const rpc_agent_opts_t *o;
    rpc_client_t gw;
    bool welcomed;
    bool refused;     /* the gateway sent an error no reconnect can cure: stop */
    double next_try, backoff;
    aflow_t *flows;
    size_t n_flows, cap_flows;
    uint64_t *serve;   /* [n_flows] (class << 32 | index), serving order */
    size_t cap_serve;
    bool serve_stale;  /* classes or flows changed since serve was sorted */
    uint64_t pass;     /* pace passes so far */
    size_t *slot;      /* open-addressing fid -> flows index + 1, [n_slot] */
    size_t n_slot;
    peer_t *peers;
    size_t n_peers;
    int lfd;
    char data_host[64]; /* the address the data listener is bound to */
    int data_port;
    int recv_fd[MAX_RECEIVERS];
    double recv_at[MAX_RECEIVERS]; /* when each last received a byte (or was taken) */
    size_t n_recv;
    uint64_t recv_evicted, recv_refused; /* connections let go when all slots were taken */
    double listen_after; /* out of descriptors: the data listener waits till then */
    uint64_t bytes_received;
    int64_t seq;
    double last_report, last_ping;
    double keepalive_s;  /* a ping this often (rpc_keepalive_s of the welcome) */
    uint64_t epoch;      /* of the gateway that gave the flows; 0: none yet */
    char token[RPC_TOKEN_MAX]; /* presented in hello: o->token, or what
                                  o->token_file held at the last connection */
    unsigned char *zeros;
} agent_t;

static void alog(agent_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void alog(agent_t *a, const char *fmt, ...)
{
    if (!a->o->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(a->o->log, "weft agent %u: ", a->o->id);
    vfprintf(a->o->log, fmt, ap);
    fputc('\n', a->o->log);
    va_end(ap);
}

/* ------------------------------------------------------------ flow map */

static size_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static aflow_t *find_flow(agent_t *a, uint64_t fid)
{
    if (!a->n_slot)
        return NULL;
    for (size_t i = hash64(fid) & (a->n_slot - 1);; i = (i + 1) & (a->n_slot - 1)) {
        if (!a->slot[i])
            return NULL;
        if (a->flows[a->slot[i] - 1].fid == fid)
            return &a->flows[a->slot[i] - 1];
    }
}

static void slot_put(agent_t *a, size_t idx)
{
    size_t i = hash64(a->flows[idx].fid) & (a->n_slot - 1);
    while (a->slot[i])
        i = (i + 1) & (a->n_slot - 1);
    a->slot[i] = idx + 1;
}

/* A fresh fid -> index table of n slots (a power of two) over the flows. */
static weft_err_t rebuild_slots(agent_t *a, size_t n)
{
    size_t *s = weft_calloc(n, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu flows", a->n_flows);
    free(a->slot);
    a->slot = s;
    a->n_slot = n;
    for (size_t i = 0; i < a->n_flows; i++)
        slot_put(a, i);
    return WEFT_OK;
}

/* Forgets the flows whose completion the gateway acknowledged (it never
 * announces them again), once they are at least half of the table, so a
 * long-running agent's per-pass work follows its open flows, not every
 * flow it ever sent. */
static weft_err_t prune_flows(agent_t *a)
{
    size_t acked = 0;
    for (size_t i = 0; i < a->n_flows; i++)
        acked += a->flows[i].done_acked;
    if (acked < 64 || 2 * acked < a->n_flows)
        return WEFT_OK;
    size_t k = 0;
    for (size_t i = 0; i < a->n_flows; i++)
        if (!a->flows[i].done_acked)
            a->flows[k++] = a->flows[i];
    a->n_flows = k;
    a->serve_stale = true;
    alog(a, "forgot %zu flows the gateway acknowledged as done; %zu open", acked, k);
    size_t n = 64;
    while (2 * a->n_flows > n)
        n *= 2;
    return rebuild_slots(a, n);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Sorts the serving order: by class, then by arrival at this agent. */
static weft_err_t sort_serve(agent_t *a)
{
    weft_err_t err = weft_grow((void **)&a->serve, &a->cap_serve, a->n_flows, sizeof *a->serve);
    if (err)
        return err;
    for (size_t i = 0; i < a->n_flows; i++) {
        uint64_t cls = a->flows[i].cls > UINT32_MAX - 1 ? UINT32_MAX - 1 : a->flows[i].cls;
        a->serve[i] = cls << 32 | (uint64_t)i;
    }
    if (a->n_flows > 1) /* serve may still be NULL with no flow (qsort wants a pointer) */
        qsort(a->serve, a->n_flows, sizeof *a->serve, cmp_u64);
    a->serve_stale = false;
    return WEFT_OK;
}

static weft_err_t add_flow(agent_t *a, const aflow_t *f)
{
    weft_err_t err = weft_grow((void **)&a->flows, &a->cap_flows, a->n_flows + 1, sizeof *f);
    if (err)
        return err;
    a->flows[a->n_flows++] = *f;
    a->serve_stale = true;
    if (2 * a->n_flows > a->n_slot) { /* keep the table at most half full */
        size_t n = a->n_slot ? 2 * a->n_slot : 64;
        while (2 * a->n_flows > n)
            n *= 2;
        return rebuild_slots(a, n);
    } else {
        slot_put(a, a->n_flows - 1);
    }
    return WEFT_OK;
}

/* --------------------------------------------------------------- peers */

static void peer_close(peer_t *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->connecting = false;
}

static void peer_connect(agent_t *a, peer_t *p, double now)
{
    if (p->fd >= 0 || !p->port || now < p->retry_at)
        return;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", p->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(p->host, ps, &hints, &res) || !res) {
        p->retry_at = now + 0.5;
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (connect(fd, res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS)) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        p->fd = fd;
        p->connecting = true;
    } else {
        if (fd >= 0)
            close(fd);
        p->retry_at = now + 0.1;
        alog(a, "cannot connect to peer %s:%d: %s", p->host, p->port, strerror(errno));
    }
    freeaddrinfo(res);
}

/* --------------------------------------------------------- gateway I/O */

static void gw_lost(agent_t *a, const char *why)
{
    alog(a, "gateway connection lost: %s; retrying in %.2f s", why, a->backoff);
    rpc_client_close(&a->gw);
    a->welcomed = false;
    a->next_try = weft_mono_s() + a->backoff;
    a->backoff = fmin(a->backoff * 2, BACKOFF_MAX_S);
    for (size_t i = 0; i < a->n_flows; i++) {
        a->flows[i].rate = 0; /* wait for the gateway's word again */
        a->flows[i].done_reported = a->flows[i].done_acked;
    }
}

/* Queues the bytes sent of the unfinished flows, REPORT_BATCH a message:
 * of all of them, or only of those whose count moved since it was last
 * reported. */
static weft_err_t report_progress(agent_t *a, bool all)
{
    uint64_t fids[REPORT_BATCH];
    double sent[REPORT_BATCH];
    size_t n = 0;
    weft_err_t err = WEFT_OK;
    for (size_t i = 0; !err && i < a->n_flows; i++) {
        aflow_t *f = &a->flows[i];
        if (f->done || (!all && f->sent == f->reported))
            continue;
        fids[n] = f->fid;
        sent[n++] = f->sent;
        f->reported = f->sent;
        if (n == REPORT_BATCH) {
            err = rpc_client_progress(&a->gw, fids, sent, n);
            n = 0;
        }
    }
    if (!err && n)
        err = rpc_client_progress(&a->gw, fids, sent, n);
    return err;
}

/* After (re)connecting: hello. The welcome (gw_welcome) says whether the
 * gateway still knows this agent's flows. */
static weft_err_t gw_resume(agent_t *a)
{
    bool changed;
    if (a->o->token_file) { /* rotated on disk (weft serve reloads on SIGHUP) */
        if (rpc_token_reread(a->o->token_file, a->token, &changed))
            alog(a, "%s; presenting the token read before", weft_last_error());
        else if (changed)
            alog(a, "token file %s holds a new token: presenting it", a->o->token_file);
    }
    return rpc_client_hello_agent(&a->gw, a->token, a->o->id, a->data_port);
}

/* The welcome of a (re)connection. A gateway of another epoch than the one
 * that gave this agent its flows lost them (it started without the journal
 * that held them): their ids may now name other flows, so they are all
 * dropped rather than reported. Otherwise everything the gateway may have
 * missed is reported: the count of every unfinished flow, 0 included, so
 * that it can tell which belong to jobs cancelled meanwhile (it answers
 * with a drop). A gateway without epochs (older) keeps the flows. */
static weft_err_t gw_welcome(agent_t *a, const msgpack_object *m)
{
    int64_t epoch = 0;
    if (rpc_get_int_opt(m, "epoch", 1, INT64_MAX, &epoch))
        return weft_fail(WEFT_EPROTO, "welcome: %s", weft_last_error());
    if (a->epoch && epoch && (uint64_t)epoch != a->epoch && a->n_flows) {
        size_t open = 0;
        for (size_t i = 0; i < a->n_flows; i++)
            open += !a->flows[i].done_acked;
        alog(a, "the gateway lost its state (started without the journal that held it): "
                "dropping the %zu flows it had given this agent", open);
        a->n_flows = 0;
        a->serve_stale = true;
        weft_err_t err = rebuild_slots(a, 64);
        if (err)
            return err;
    }
    if (epoch)
        a->epoch = (uint64_t)epoch;
    return report_progress(a, true);
}

static void set_peers(agent_t *a, const msgpack_object *m)
{
    const msgpack_object_array *arr;
    if (rpc_get_array(m, "peers", &arr))
        return;
    for (uint32_t i = 0; i < arr->size; i++) {
        const msgpack_object *e = &arr->ptr[i];
        int64_t id, port;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
            !rpc_obj_int(&e->via.array.ptr[0], &id) ||
            e->via.array.ptr[1].type != MSGPACK_OBJECT_STR ||
            !rpc_obj_int(&e->via.array.ptr[2], &port) || id < 0 || (size_t)id >= a->n_peers)
            continue;
        peer_t *p = &a->peers[id];
        char host[64];
        snprintf(host, sizeof host, "%.*s", (int)e->via.array.ptr[1].via.str.size,
                 e->via.array.ptr[1].via.str.ptr);
        if (p->port != port || strcmp(p->host, host)) {
            peer_close(p);
            snprintf(p->host, sizeof p->host, "%s", host);
            p->port = (int)port;
            p->retry_at = 0;
        }
    }
}

static weft_err_t apply_schedule(agent_t *a, const msgpack_object *m)
{
    const msgpack_object_array *nw, *fl;
    if (rpc_get_array(m, "new", &nw) || rpc_get_array(m, "flows", &fl))
        return weft_fail(WEFT_EPROTO, "schedule: %s", weft_last_error());
    for (uint32_t i = 0; i < nw->size; i++) {
        const msgpack_object *e = &nw->ptr[i];
        int64_t fid, dst;
        double bytes, sent;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 4 ||
            !rpc_obj_int(&e->via.array.ptr[0], &fid) ||
            !rpc_obj_int(&e->via.array.ptr[1], &dst) ||
            !rpc_obj_num(&e->via.array.ptr[2], &bytes) ||
            !rpc_obj_num(&e->via.array.ptr[3], &sent) || fid < 0 || dst < 0)
            return weft_fail(WEFT_EPROTO, "schedule: new entry #%u is malformed", i);
        if ((size_t)dst >= a->n_peers)
            return weft_fail(WEFT_EPROTO, "schedule: new entry #%u: flow %lld to port %lld, "
                             "but the gateway's welcome said %zu ports", i, (long long)fid,
                             (long long)dst, a->n_peers);
        /* what the pacing computes with: a NaN would never finish, a
           negative size finish at once */
        if (!(isfinite(bytes) && bytes > 0 && isfinite(sent) && sent >= 0))
            return weft_fail(WEFT_EPROTO, "schedule: new entry #%u: flow %lld of %g bytes, %g "
                             "sent: expected a finite size > 0 and a finite count >= 0", i,
                             (long long)fid, bytes, sent);
        if (sent > bytes) /* no more than all of it (a gateway never says more) */
            sent = bytes;
        aflow_t *f = find_flow(a, (uint64_t)fid);
        if (f && f->done_acked) {
            /* A gateway restarted from a journal older than its word on
             * this flow (a copy from a backup) holds it as open again:
             * sent whole, its completion is told again; dropped (its job
             * cancelled, or unknown to the gateway then), it moves again.
             * Else it would wait for the flow for good. */
            bool whole = f->sent >= f->bytes;
            f->done = whole;
            f->done_reported = f->done_acked = false;
            a->serve_stale = true;
            alog(a, "flow %lld: the gateway announced it again (its journal is older): %s",
                 (long long)fid, whole ? "reporting it done again" : "sending the rest");
        }
        if (f) {
            if (sent > f->sent)
                f->sent = f->reported = fmin(sent, f->bytes);
            continue;
        }
        aflow_t nf = {.fid = (uint64_t)fid, .dst = (uint32_t)dst, .bytes = bytes,
                      .sent = sent, .reported = sent};
        if (sent > 0)
            alog(a, "flow %lld: resuming at %.0f of %.0f bytes", (long long)fid, sent, bytes);
        weft_err_t err = add_flow(a, &nf);
        if (err)
            return err;
    }
    for (uint32_t i = 0; i < fl->size; i++) {
        const msgpack_object *e = &fl->ptr[i];
        int64_t fid, cls;
        double rate;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
            !rpc_obj_int(&e->via.array.ptr[0], &fid) ||
            !rpc_obj_num(&e->via.array.ptr[1], &rate) ||
            !rpc_obj_int(&e->via.array.ptr[2], &cls) || fid < 0)
            return weft_fail(WEFT_EPROTO, "schedule: flow entry #%u is malformed", i);
        if (!(isfinite(rate) && rate >= 0))
            return weft_fail(WEFT_EPROTO, "schedule: flow entry #%u: flow %lld at %g bytes/s: "
                             "expected a finite rate >= 0", i, (long long)fid, rate);
        aflow_t *f = find_flow(a, (uint64_t)fid);
        if (!f)
            return weft_fail(WEFT_EPROTO, "schedule: flow %lld was never announced",
                             (long long)fid);
        f->rate = rate;
        if (f->cls != (uint32_t)cls)
            a->serve_stale = true;
        f->cls = (uint32_t)cls;
        if (rate == 0)
            f->tokens = 0; /* a paused flow does not keep credit */
    }
    const msgpack_object *drop = rpc_map_get(m, "drop"); /* flows of cancelled jobs */
    if (!drop)
        return WEFT_OK;
    if (drop->type != MSGPACK_OBJECT_ARRAY)
        return weft_fail(WEFT_EPROTO, "schedule: field 'drop' is not an array");
    for (uint32_t i = 0; i < drop->via.array.size; i++) {
        int64_t fid;
        if (!rpc_obj_int(&drop->via.array.ptr[i], &fid))
            return weft_fail(WEFT_EPROTO, "schedule: drop entry #%u is not a flow id", i);
        aflow_t *f = find_flow(a, (uint64_t)fid);
        if (!f || f->done)
            continue;
        /* stopped, never reported, forgotten with the acknowledged ones */
        f->done = f->done_reported = f->done_acked = true;
        f->rate = f->tokens = 0;
        alog(a, "flow %lld: dropped at %.0f of %.0f bytes (job cancelled, or unknown to the "
                "gateway)", (long long)fid, f->sent, f->bytes);
    }
    return prune_flows(a);
}

static weft_err_t gw_handle(agent_t *a, const msgpack_object *m)
{
    char type[32];
    rpc_msg_type(m, type, sizeof type);
    if (!strcmp(type, "welcome")) {
        int64_t ports = 0;
        if (rpc_get_int(m, "ports", 1, (int64_t)RPC_MAX_PORTS, &ports))
            return weft_fail(WEFT_EPROTO, "welcome: %s", weft_last_error());
        /* A gateway restarted with more ports (the fabric grew) sends to
         * and from the new ones: their peers are added. Fewer ports leave
         * peers that no flow names. */
        if ((size_t)ports > a->n_peers) {
            peer_t *grown = weft_reallocarray(a->peers, (size_t)ports, sizeof *grown);
            if (!grown)
                return weft_fail(WEFT_ENOMEM, "out of memory for %lld peers", (long long)ports);
            for (size_t i = a->n_peers; i < (size_t)ports; i++)
                grown[i] = (peer_t){.fd = -1};
            if (a->n_peers)
                alog(a, "the gateway has %lld ports now (%zu before)", (long long)ports,
                     a->n_peers);
            a->peers = grown;
            a->n_peers = (size_t)ports;
        }
        a->welcomed = true;
        a->keepalive_s = rpc_keepalive_s(m);
        a->backoff = BACKOFF_MIN_S;
        alog(a, "connected to the gateway");
        return gw_welcome(a, m);
    } else if (!strcmp(type, "peers")) {
        set_peers(a, m);
    } else if (!strcmp(type, "schedule")) {
        return apply_schedule(a, m);
    } else if (!strcmp(type, "ack")) {
        int64_t seq;
        if (rpc_get_int(m, "seq", INT64_MIN, INT64_MAX, &seq) == WEFT_OK)
            for (size_t i = 0; i < a->n_flows; i++)
                if (a->flows[i].done_reported && a->flows[i].done_seq == seq)
                    a->flows[i].done_acked = true;
        return prune_flows(a);
    } else if (!strcmp(type, "error")) {
        rpc_error_msg_t e;
        rpc_msg_error(m, &e);
        alog(a, "gateway error %s: %s", e.code, e.message);
        weft_err_t err = rpc_msg_error_permanent(&e, a->o->gateway_host, a->o->gateway_port);
        /* Another agent connected as this port (a restart takes over that
         * way): reconnecting would take the port back, and the two would
         * replace each other for ever. The newer one keeps it. */
        if (!err && !strcmp(e.code, "replaced"))
            err = weft_fail(WEFT_EINVAL, "gateway %s:%d: another agent connected as port %d "
                            "and took it over (%s); this one stops",
                            a->o->gateway_host, a->o->gateway_port, (int)a->o->id, e.message);
        if (err)
            a->refused = true; /* a wrong token, version, a newer agent: reconnecting
                                  cannot help */
        return err;
    }
    return WEFT_OK;
}

/* ---------------------------------------------------------------- loop */

/* The local address this host would use to reach the gateway, as text in
 * buf: what the gateway sees it connect from (absent NAT), and so where it
 * tells peers to send to. Found by connecting a UDP socket, which sends
 * nothing. "127.0.0.1" if the gateway's address does not resolve (yet). */
static const char *address_toward_gateway(const agent_t *a, char *buf, size_t n)
{
    snprintf(buf, n, "127.0.0.1");
    char ps[16];
    snprintf(ps, sizeof ps, "%d", a->o->gateway_port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(a->o->gateway_host, ps, &hints, &res) || !res)
        return buf;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        rpc_sockaddr_text((struct sockaddr *)&ss, buf, n);
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return buf;
}

static weft_err_t open_listener(agent_t *a)
{
    char toward[INET6_ADDRSTRLEN];
    const char *host = a->o->data_host ? a->o->data_host
                                       : address_toward_gateway(a, toward, sizeof toward);
    snprintf(a->data_host, sizeof a->data_host, "%s", host);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", a->o->data_port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, ps, &hints, &res) || !res)
        return weft_fail(WEFT_EINVAL, "data listener: cannot resolve %s", host);
    a->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (a->lfd >= 0)
        setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->lfd < 0 || bind(a->lfd, res->ai_addr, res->ai_addrlen) || listen(a->lfd, 64)) {
        freeaddrinfo(res);
        return weft_fail(WEFT_EIO, "data listener on %s:%d: %s", host, a->o->data_port,
                         strerror(errno));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(a->lfd, (struct sockaddr *)&ss, &len);
    a->data_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
    return WEFT_OK;
}

/* Sends what each flow's bucket allows, in class order. */
static weft_err_t pace(agent_t *a, double dt, double now)
{
    if (a->serve_stale) {
        weft_err_t err = sort_serve(a);
        if (err)
            return err;
    }
    a->pass++;
    for (size_t k = 0; k < a->n_flows; k++) {
        aflow_t *f = &a->flows[a->serve[k] & UINT32_MAX];
        if (f->done || f->rate <= 0)
            continue;
        peer_t *p = &a->peers[f->dst];
        if (p->fd < 0 || p->connecting) {
            peer_connect(a, p, now);
            continue;
        }
        f->tokens = fmin(f->tokens + f->rate * dt, fmax(f->rate * BURST_S, MIN_BURST));
        if (p->full_pass == a->pass) /* an earlier class filled it */
            continue;
        double total = ceil(f->bytes);
        double want = fmin(floor(f->tokens), total - f->sent);
        if (want >= 1 && !f->logged_start) {
            /* Start and end of each flow in the verbose log: the end-to-end
             * test waits for a flow caught half way before killing an agent. */
            f->logged_start = true;
            alog(a, "flow %llu: sending to agent %u from byte %.0f of %.0f",
                 (unsigned long long)f->fid, f->dst, f->sent, f->bytes);
        }
        while (want >= 1) {
            size_t n = want > WRITE_CHUNK ? WRITE_CHUNK : (size_t)want;
            ssize_t w = send(p->fd, a->zeros, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    p->full_pass = a->pass;
                else if (errno != EINTR) {
                    alog(a, "data connection to agent %u: %s", f->dst, strerror(errno));
                    peer_close(p);
                    p->retry_at = now + 0.1;
                }
                break;
            }
            f->sent += (double)w;
            f->tokens -= (double)w;
            want -= (double)w;
            if ((size_t)w < n) { /* a short write: the buffer is full */
                p->full_pass = a->pass;
                break;
            }
        }
        if (f->sent >= total || f->sent >= f->bytes) { /* the latter: a count resumed
                                                          from the gateway */
            f->sent = f->bytes;
            f->done = true;
            alog(a, "flow %llu: all %.0f bytes sent", (unsigned long long)f->fid, f->bytes);
        }
    }
    return WEFT_OK;
}

static weft_err_t report(agent_t *a)
{
    weft_err_t err = report_progress(a, false);
    uint64_t fids[REPORT_BATCH];
    size_t n = 0;
    a->seq++;
    for (size_t i = 0; !err && i < a->n_flows; i++) {
        aflow_t *f = &a->flows[i];
        if (!f->done || f->done_reported)
            continue;
        fids[n++] = f->fid;
        f->done_reported = true;
        f->done_seq = a->seq;
        if (n == REPORT_BATCH) {
            err = rpc_client_done(&a->gw, a->seq, fids, n);
            n = 0;
        }
    }
    if (!err && n)
        err = rpc_client_done(&a->gw, a->seq, fids, n);
    return err;
}

/* The data connection silent longest, if it has been for RECV_IDLE_S
 * (SIZE_MAX if none; then what happens to the new one is `otherwise`).
 * Logged the first time and every 1,000th after. */
static size_t silent_receiver(agent_t *a, double now, const char *why, const char *otherwise)
{
    size_t old = 0;
    for (size_t k = 1; k < a->n_recv; k++)
        if (a->recv_at[k] < a->recv_at[old])
            old = k;
    bool evict = a->n_recv > 0 && now - a->recv_at[old] >= RECV_IDLE_S;
    uint64_t *count = evict ? &a->recv_evicted : &a->recv_refused;
    if ((*count)++ % 1000 == 0)
        alog(a, "data port: %s; %s (%llu so far)", why,
             evict ? "closed the connection silent longest for a new one" : otherwise,
             (unsigned long long)*count);
    return evict ? old : SIZE_MAX;
}

/* A connection accepted on the data port: a free slot, else that of the
 * connection silent longest (silent_receiver), else it is closed. */
static void take_receiver(agent_t *a, int fd, double now)
{
    if (a->n_recv < MAX_RECEIVERS) {
        a->recv_at[a->n_recv] = now;
        a->recv_fd[a->n_recv++] = fd;
        return;
    }
    size_t old = silent_receiver(a, now, "all connections taken",
                                 "closed a new one, none being silent for 2 s");
    if (old == SIZE_MAX) {
        close(fd);
        return;
    }
    close(a->recv_fd[old]);
    a->recv_fd[old] = fd;
    a->recv_at[old] = now;
}

/* Out of descriptors (accept: EMFILE): the connection silent longest is
 * closed to make room, as take_receiver does. False if none may go. */
static bool free_a_descriptor(agent_t *a, double now)
{
    size_t old = silent_receiver(a, now, "out of file descriptors",
                                 "new ones wait in the backlog, none being silent for 2 s");
    if (old == SIZE_MAX)
        return false;
    close(a->recv_fd[old]);
    a->recv_fd[old] = a->recv_fd[--a->n_recv];
    a->recv_at[old] = a->recv_at[a->n_recv];
    return true;
}

weft_err_t rpc_agent_run(const rpc_agent_opts_t *o)
{
    weft_err_t err = WEFT_OK;
    agent_t a;
    memset(&a, 0, sizeof a);
    a.o = o;
    snprintf(a.token, sizeof a.token, "%s", o->token);
    a.lfd = -1;
    a.backoff = BACKOFF_MIN_S;
    rpc_client_init(&a.gw);
    double report_s = o->report_s > 0 ? o->report_s : 0.01;
    a.zeros = weft_calloc(WRITE_CHUNK, 1);
    struct pollfd *pfd = weft_calloc(MAX_RECEIVERS + 8, sizeof *pfd);
    if (!a.zeros || !pfd)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory for the agent"));
    if (o->tls_ca)
        WEFT_CHECK(rpc_client_tls(&a.gw, o->tls_ca));
    WEFT_CHECK(open_listener(&a));
    alog(&a, "data port %d on %s", a.data_port, a.data_host);
    double last = weft_mono_s();
    unsigned char sink[65536];
    while (!*o->stop) {
        double now = weft_mono_s();
        if (a.gw.fd < 0 && now >= a.next_try) {
            /* the CA file read again, as the token: a gateway's certificate
               from a new CA is verified once the file holds it too */
            if (o->tls_ca && rpc_client_tls(&a.gw, o->tls_ca))
                alog(&a, "%s; verifying with the CA read before", weft_last_error());
            weft_err_t cerr = rpc_client_connect(&a.gw, o->gateway_host, o->gateway_port, 1.0);
            if (cerr && rpc_client_permanent(&a.gw)) { /* e.g. its certificate does not
                                                          verify: stop, as on EAUTH */
                alog(&a, "%s", weft_last_error());
                err = cerr;
                goto cleanup;
            }
            if (cerr || gw_resume(&a))
                gw_lost(&a, weft_last_error());
        }
        size_t np = 0;
        pfd[np++] = (struct pollfd){a.lfd, weft_mono_s() >= a.listen_after ? POLLIN : 0, 0};
        pfd[np++] = (struct pollfd){a.gw.fd, (short)(POLLIN | (rpc_client_want_write(&a.gw)
                                                                ? POLLOUT : 0)), 0};
        for (size_t i = 0; i < a.n_recv; i++)
            pfd[np++] = (struct pollfd){a.recv_fd[i], POLLIN, 0};
        bool moving = false;
        for (size_t i = 0; i < a.n_flows && !moving; i++)
            moving = !a.flows[i].done && a.flows[i].rate > 0;
        int timeout = moving ? 1 : 10;
        bool tls_pending = rpc_client_pending(&a.gw); /* bytes poll cannot see */
        if (tls_pending)
            timeout = 0;
        if (poll(pfd, np, timeout) < 0 && errno != EINTR)
            WEFT_CHECK(weft_fail(WEFT_EIO, "poll: %s", strerror(errno)));
        /* pfd[2 + k] is receiver k: new connections are taken after this */
        double now_recv = weft_mono_s();
        for (size_t i = 2, k = 0; i < np; i++, k++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n;
            while ((n = recv(pfd[i].fd, sink, sizeof sink, 0)) > 0) {
                a.bytes_received += (uint64_t)n;
                a.recv_at[k] = now_recv;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(pfd[i].fd);
                a.recv_fd[k] = -1;
            }
        }
        size_t kept = 0; /* the closed ones out, in order */
        for (size_t k = 0; k < a.n_recv; k++)
            if (a.recv_fd[k] >= 0) {
                a.recv_at[kept] = a.recv_at[k];
                a.recv_fd[kept++] = a.recv_fd[k];
            }
        a.n_recv = kept;
        if (pfd[0].revents & POLLIN) {
            int fd;
            for (;;) {
                if ((fd = accept4(a.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    take_receiver(&a, fd, now_recv);
                    continue;
                }
                if (errno != EMFILE && errno != ENFILE)
                    break;
                if (free_a_descriptor(&a, now_recv))
                    continue;
                /* what cannot be accepted waits in the backlog: the listener
                   is not polled for a while, rather than spun on */
                a.listen_after = now_recv + 0.1;
                break;
            }
        }
        if (a.gw.fd >= 0 && (tls_pending || (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))) {
            weft_err_t rerr = rpc_client_read(&a.gw);
            const msgpack_object *m;
            int r;
            while ((r = rpc_client_next(&a.gw, &m)) == 1)
                if ((err = gw_handle(&a, m)) == WEFT_ENOMEM || a.refused)
                    goto cleanup;
            if (rerr || r < 0 || err) {
                gw_lost(&a, weft_last_error());
                err = WEFT_OK;
            }
        }
        for (size_t i = 0; i < a.n_peers; i++) { /* finish non-blocking connects */
            peer_t *p = &a.peers[i];
            if (!p->connecting)
                continue;
            struct pollfd q = {p->fd, POLLOUT, 0};
            if (poll(&q, 1, 0) == 1) {
                int e = 0;
                socklen_t len = sizeof e;
                getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len);
                if (e) {
                    if (!p->failing) /* once until it connects: it retries 10 times a second */
                        alog(&a, "cannot connect to port %zu's agent at %s:%d: %s; retrying", i,
                             p->host, p->port, strerror(e));
                    p->failing = true;
                    peer_close(p);
                    p->retry_at = now + 0.1;
                } else {
                    p->connecting = false;
                    p->failing = false;
                }
            }
        }
        now = weft_mono_s();
        if (a.welcomed && (err = pace(&a, now - last, now)))
            goto cleanup;
        last = now;
        if (a.welcomed && now - a.last_report >= report_s) {
            a.last_report = now;
            if (report(&a))
                gw_lost(&a, weft_last_error());
        }
        if (a.welcomed && now - a.last_ping >= a.keepalive_s) {
            a.last_ping = now;
            if (rpc_client_ping(&a.gw, -1))
                gw_lost(&a, weft_last_error());
        }
        if (a.gw.fd >= 0 && rpc_client_want_write(&a.gw) && rpc_client_flush(&a.gw))
            gw_lost(&a, weft_last_error());
    }
cleanup:
    alog(&a, "stopping: %llu bytes received", (unsigned long long)a.bytes_received);
    for (size_t i = 0; i < a.n_peers; i++)
        peer_close(&a.peers[i]);
    for (size_t i = 0; i < a.n_recv; i++)
        close(a.recv_fd[i]);
    if (a.lfd >= 0)
        close(a.lfd);
    rpc_client_destroy(&a.gw);
    free(a.flows);
    free(a.serve);
    free(a.slot);
    free(a.peers);
    free(a.zeros);
    free(pfd);
    return err;
}
