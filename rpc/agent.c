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
 * Resumption: the agent keeps, per flow, the bytes delivered (below); after
 * a reconnect, once the welcome says the gateway is of the same epoch (its
 * journal kept the flows), it re-reports them for every unfinished flow
 * (and every completion the gateway has not acknowledged) before anything
 * else, and when the gateway re-announces a flow it keeps the larger of its
 * own count and the gateway's. A gateway of another epoch lost the flows
 * and may give their ids to others: the agent drops them all. A flow of a
 * job cancelled while it was away is never re-announced: the gateway
 * answers its report with a drop. A restarted agent has no count and takes
 * the gateway's: the bytes delivered after the last report before a crash
 * are sent again. The data listener binds by default to the address this host
 * reaches the gateway from, which is where the gateway tells peers to send.
 *
 * Delivery: a byte counts, in progress and done reports, once the receiving
 * agent has read it. A receiver writes back, on each data connection its
 * sender opened with DATA_HELLO, ACK_HELLO and then the count of bytes it
 * has read there (8 bytes, big-endian, cumulative) whenever a poll pass
 * drains the connection and after every ACK_EVERY bytes, without blocking:
 * an ack the socket does not take whole waits, and a newer count goes out
 * only after its last byte. A sender keeps, per connection, the (flow,
 * bytes) segments it wrote in order and credits them to the flows as the
 * counts arrive. So per flow `sent` (what its connection took: the token
 * buckets pace it) and `acked` (what its receiver read: reported), with
 * acked <= sent; the segments of a connection hold written - acked bytes,
 * a flow's sent - acked of them. A connection that breaks (the receiver
 * died, or closed it idle), or answers with anything but ACK_HELLO and
 * counts that never go back nor past what was written, is closed and each
 * of its flows' sent rolled back to acked: those bytes go again on the
 * next connection. The gateway relays which agents ack (hello "acks", in
 * `peers`): to a peer that does not (an older agent, a service of one's
 * own) no DATA_HELLO is sent and a byte counts once written, as before.
 *
 * Bytes received, counted once: the bytes a sender sends again after a
 * broken connection may have been read already (their count was lost with
 * it). So the bytes a sender writes to a peer, over all its connections
 * there, are one stream, named by a random id of the sender's: what was
 * acknowledged on a connection is never written again, and the next one
 * starts at the sum of those counts. Version 2's DATA_HELLO carries the id
 * and that offset; a receiver keeps, per stream, the furthest offset read
 * (MAX_STREAMS of them, the least recently used forgotten) and counts only
 * bytes past it. Once a stream's bytes are all acknowledged, what it
 * counted is what it was sent, each byte once.
 *
 * Timeouts: a receiver whose machine vanished (powered off, cable pulled)
 * sends no reset, and Linux retransmits for about 15 minutes (tcp_retries2)
 * before failing the connection. Every data connection, both ways, has
 * TCP_USER_TIMEOUT (bytes written and unacknowledged by the peer's TCP,
 * or a window held shut, for that long: since Linux 5.x it bounds
 * zero-window probing too, and a connect) and keepalive probes from a
 * third of it on (an idle one, whose flows are paused): it then fails
 * with ETIMEDOUT and takes the path of a reset connection (peer_close,
 * reconnect after 0.1 s).
 *
 * TLS (rpc_agent_opts_t.data_cert): every data connection, both ways, is
 * mutual TLS (data_tls.h) carrying the very bytes above; the gateway relays
 * which agents take TLS (hello "data_tls", `peers` "tls"), and an agent
 * never sends in clear to one that does, nor over TLS to one that does not:
 * it says so and holds those flows. A TLS sender takes the receiver only
 * if its certificate names the address the gateway relayed for it (as a
 * client checks a server's name), else says so and holds its flows; a
 * stolen certificate then serves only at the address it was made for. A
 * TLS receiver refuses a connection whose first byte is not a TLS
 * handshake's, a plain one a connection whose first byte is (neither ever
 * counts it), naming its address. A TLS receiver takes a sender only if
 * its certificate names the address the gateway relayed for the agent its
 * version 3 DATA_HELLO says it is (else a machine holding one agent's
 * certificate could push bytes as another): one that says none, an agent
 * it has no address for yet, or another address is closed before any of
 * its payload counts, and its sender tries again (peer_broke). A SIGHUP
 * reads the certificate, key and CA again for the connections opened
 * after it (data_tls_reload): a renewed certificate without a restart; one
 * already expired or not valid yet is refused, as peers would refuse it. At
 * start and on a reload, one that has expired, expires within
 * RPC_TLS_RENEW_DAYS or is not valid yet is said, as weft serve says of its
 * own (rpc_tls_expiry).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "data_tls.h"

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
#define REPORT_BATCH 256           /* flows a done message, or a progress call
                                      (split further to fit the frame cap) */
/* A data connection's acknowledgment, version RPC_DATA_ACKS: what a
 * sender writes first, what a receiver answers before its first count
 * (readable in a packet capture; the first byte is never the zero an older
 * sender's payload begins with), and how often a receiver acks a
 * connection that keeps it reading without a pause (one it drains is
 * acked at once). 1 MiB, not 64 KiB: a read takes up to 64 KiB, so 64 KiB
 * meant an ack per read at full speed, 30,500 acks and 36,000 reads of
 * them for 2 GB on loopback (strace), against 2,100 and 3,400; the count
 * lags at most 8 ms at 1 Gbit/s, under the 10 ms report period. */
#define DATA_HELLO "weft-d1\n"  /* the version's digit at HELLO_VERSION_AT */
#define ACK_HELLO "weft-a1\n"
#define HELLO_LEN 8
#define HELLO_VERSION_AT 6
/* Version 2's DATA_HELLO: then the stream's id and the offset in it of the
 * connection's first payload byte, 8 bytes each, big-endian. */
#define HELLO2_LEN (HELLO_LEN + 16)
/* Version 3's: then the sender's agent id, 8 bytes, big-endian. */
#define HELLO3_LEN (HELLO2_LEN + 8)
#define MAX_STREAMS (2 * MAX_RECEIVERS)
#define ACK_EVERY (1024 * 1024)
/* After a receiver answered garbage, its connection is tried again this
 * much later (it may not be a weft agent at all: a port reused). */
#define GARBAGE_RETRY_S 1.0
/* rpc_agent_opts_t.data_timeout_s when not given: long enough for a
 * congested path's retransmissions, short against the 15 minutes of
 * tcp_retries2. */
#define DATA_TIMEOUT_S 30.0

typedef struct {
    uint64_t fid;
    uint32_t dst;
    double bytes;      /* size; sent as ceil(bytes) real bytes */
    double sent;       /* bytes written to the data connection (paced) */
    double acked;      /* of those, read by the receiver (delivered; all of
                          sent for a peer that does not ack): reported */
    double reported;   /* acked at the last progress report */
    double rate;       /* bytes/s */
    uint32_t cls;
    double tokens;     /* bytes it may send now */
    bool done, done_reported, done_acked;
    bool logged_start; /* its first send was logged (verbose) */
    int64_t done_seq;  /* the done message that reported it */
} aflow_t;

/* Bytes of one flow written back to back on a data connection. */
typedef struct {
    uint64_t fid;      /* NO_FLOW: of a flow forgotten since */
    uint64_t bytes;
} seg_t;

#define NO_FLOW UINT64_MAX /* flow ids are below 2^63 */

typedef struct {
    char host[64];
    int port;          /* 0: unknown */
    int acks;          /* the data-ack version its agent speaks (peers); 0: none */
    int tls_said;      /* its data port takes TLS only (peers "tls"): 1, 0, or
                          -1 when the gateway did not say (one from before) */
    bool mismatch_said; /* that it does not take what this agent sends (logged once) */
    int fd;            /* -1: not connected */
    struct ssl_st *tls; /* the connection's TLS session (with fd), NULL: plain */
    bool connecting;
    uint64_t full_pass; /* the pace pass in which its socket buffer filled */
    double retry_at;
    bool failing;       /* its last connect failed (logged once) */
    /* this connection's acknowledgment: the version spoken (the lower of
       acks at connect and RPC_DATA_ACKS), 0 for none */
    int acking;
    unsigned char hello[HELLO3_LEN]; /* its DATA_HELLO, hello_len bytes */
    size_t hello_len, hello_out;     /* of which hello_out written */
    uint64_t stream;    /* offset of its first payload byte in the stream to
                           this peer: the sum of the earlier ones' acked */
    bool answered;      /* ACK_HELLO was read */
    unsigned char in[8]; /* an ack (or ACK_HELLO) read in part */
    size_t n_in;
    uint64_t written;   /* payload bytes written */
    uint64_t acked;     /* of which acknowledged */
    seg_t *seg;         /* [seg_head, n_seg): the unacknowledged ones, in order */
    size_t seg_head, n_seg, cap_seg;
} peer_t;

/* A sender's stream of bytes to this agent (version 2): how far in it the
 * bytes read reach, over all its connections. */
typedef struct {
    uint64_t id;
    uint64_t hi;       /* stream offset past the last byte read */
    double used;       /* when bytes of it were last read */
} stream_t;

/* A connection a peer opened to send us data. */
typedef enum { RECV_NEW, RECV_PLAIN, RECV_ACKED } recv_mode_t;

typedef struct {
    int fd;            /* -1: closed (compacted out after the pass) */
    struct ssl_st *tls; /* its TLS session, once its first byte said TLS */
    double at;         /* when it last received a byte (or was taken) */
    recv_mode_t mode;  /* NEW: its first bytes may be DATA_HELLO; PLAIN: an
                          older sender's (no acks); ACKED */
    unsigned char hello[HELLO3_LEN]; /* DATA_HELLO, n_hello bytes read (NEW) */
    size_t n_hello;
    int version;       /* of the acknowledgment asked for (ACKED) */
    uint64_t sid, base; /* version 2: the stream and offset its payload starts at */
    size_t stream;     /* its index in agent_t.streams, if that still holds sid */
    uint64_t got;      /* payload bytes read */
    uint64_t acked;    /* the last count queued in out */
    unsigned char out[8]; /* ACK_HELLO or a count, out_off of out_len written */
    size_t out_off, out_len;
} recv_t;

typedef struct {
    const rpc_agent_opts_t *o;
    rpc_client_t gw;
    bool welcomed;
    bool refused;     /* the gateway sent an error no reconnect can cure: stop */
    bool rotating;    /* the gateway said this port's secret changed: with a token
                         file, a refused token waits for the file to hold the
                         new one (until a welcome) instead of stopping */
    double next_try, backoff;
    double lost_at;    /* when the gateway connection was lost (or its first try
                          failed) and not yet back; 0: connected or not yet tried */
    char gw_said[160]; /* the gateway's last error that reconnecting may cure
                          ("busy: connection limit reached"), for the notice */
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
    double data_timeout_s; /* TCP_USER_TIMEOUT of the data connections */
    struct ssl_ctx_st *tls_ctx; /* TLS data connections (o->data_cert); NULL: plain */
    char tls_why[256];   /* why the last TLS call failed (errno EPROTO) */
    uint64_t refusals;   /* data connections refused for speaking TLS or not */
    recv_t recv[MAX_RECEIVERS];
    size_t n_recv;
    uint64_t recv_evicted, recv_refused; /* connections let go when all slots were taken */
    double listen_after; /* out of descriptors: the data listener waits till then */
    uint64_t bytes_received; /* payload bytes read, those of a stream once */
    stream_t *streams;       /* [n_streams], at most MAX_STREAMS */
    size_t n_streams;
    uint64_t stream_id;      /* this agent's streams' (random) */
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

static void be64_put(unsigned char b[8], uint64_t v)
{
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)(v >> (56 - 8 * k));
}

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
    alog(a, "forgot %zu %s the gateway acknowledged as done; %zu open", acked,
         weft_plural(acked, "flow", "flows"), k);
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

/* Marks f done once its receiver has all its bytes (or the gateway's count
 * says so: a count resumed from it); acknowledged: its receiver said so. */
static void flow_check_done(agent_t *a, aflow_t *f, bool acknowledged)
{
    if (f->done || !(f->acked >= ceil(f->bytes) || f->acked >= f->bytes))
        return;
    f->sent = f->acked = f->bytes;
    f->done = true;
    if (acknowledged)
        alog(a, "flow %llu: all %.0f bytes sent, acknowledged by agent %u",
             (unsigned long long)f->fid, f->bytes, f->dst);
    else
        alog(a, "flow %llu: all %.0f bytes sent", (unsigned long long)f->fid, f->bytes);
}

/* --------------------------------------------------------------- peers */

/* Bounds how long data connection fd waits on a silent peer (see the top
 * of this file): TCP_USER_TIMEOUT of t seconds, and keepalive probes from
 * t / 3 idle seconds on, every t / 3 s (whole seconds, 1 to the kernel's
 * 32767). A failure leaves the kernel's defaults on that connection. */
static void data_timeouts(int fd, double t)
{
    int ms = t * 1000 >= INT_MAX ? INT_MAX : (int)ceil(t * 1000);
    int one = 1, probe = (int)fmin(fmax(t / 3, 1), 32767);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &probe, sizeof probe);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &probe, sizeof probe);
}

/* Why a data connection failed with errno e, for the log: a timeout says
 * for how long the receiver's machine took nothing (data_timeouts). */
static const char *conn_error(const agent_t *a, int e, char *buf, size_t n)
{
    if (e == EPROTO && a->tls_ctx)
        return a->tls_why;
    if (e != ETIMEDOUT)
        return strerror(e);
    snprintf(buf, n, "its machine acknowledged nothing for %g s (%s)", a->data_timeout_s,
             strerror(e));
    return buf;
}

/* send(2) and recv(2) on a data connection, through its TLS session if it
 * has one (a failure's reason then in a->tls_why, errno EPROTO). */
static ssize_t data_send(agent_t *a, int fd, struct ssl_st *tls, const void *buf, size_t n)
{
    if (tls)
        return rpc_data_tls_send(tls, fd, buf, n, a->tls_why, sizeof a->tls_why);
    return send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t data_recv(agent_t *a, int fd, struct ssl_st *tls, void *buf, size_t n)
{
    if (tls)
        return rpc_data_tls_recv(tls, fd, buf, n, a->tls_why, sizeof a->tls_why);
    return recv(fd, buf, n, 0);
}

/* A data connection refused for speaking TLS or not, or for its
 * certificate: said with -v, and without it on o->notice the first time
 * and every 100th (a stranger may knock for ever). */
static void refusal(agent_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refusal(agent_t *a, const char *fmt, ...)
{
    FILE *out = a->o->log ? a->o->log : a->refusals % 100 == 0 ? a->o->notice : NULL;
    a->refusals++;
    if (!out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(out, "weft agent %u: ", a->o->id);
    vfprintf(out, fmt, ap);
    if (!a->o->log && a->refusals > 1)
        fprintf(out, " (%llu refused so far)", (unsigned long long)a->refusals);
    fputc('\n', out);
    va_end(ap);
}

/* Closes p's connection. The bytes it took that its receiver did not
 * acknowledge are lost with it: each flow to p goes back to what was
 * acknowledged and sends the rest again on the next connection (a dropped
 * one too, in case the gateway announces it again). With why, logged if
 * bytes of open flows were lost or `always`. O(flows). */
static void peer_close(agent_t *a, peer_t *p, const char *why, bool always)
{
    if (p->fd < 0)
        return;
    rpc_data_tls_free(p->tls);
    p->tls = NULL;
    close(p->fd);
    p->fd = -1;
    p->connecting = false;
    p->stream += p->acked; /* never written again: the next connection's start */
    uint32_t dst = (uint32_t)(p - a->peers);
    double lost = 0;
    for (size_t i = 0; i < a->n_flows; i++) {
        aflow_t *f = &a->flows[i];
        if (f->dst != dst || !(f->sent > f->acked))
            continue;
        lost += f->done ? 0 : f->sent - f->acked;
        f->sent = f->acked;
    }
    if (why && (lost > 0 || always))
        alog(a, "data connection to agent %u at %s: %s; closed, %.0f bytes it took "
                "unacknowledged to send again", dst, RPC_HOST_PORT(p->host, p->port), why, lost);
    p->seg_head = p->n_seg = 0;
}

/* p's connection failed with errno e (0: it ended): closed as peer_close
 * does (logged if bytes were lost or `always`). Over TLS before the
 * receiver's ACK_HELLO, the likely cause is that it refused this agent's
 * certificate (TLS 1.3 tells the client only after its handshake, and the
 * alert is often lost to a reset): said so, and tried again a second
 * later, as a TLS failure is, rather than ten times a second. */
static void peer_broke(agent_t *a, peer_t *p, int e, bool always, double now)
{
    char buf[128], why[512];
    if (e == EPROTO && rpc_data_tls_name_refused(p->tls)) {
        /* nothing was sent: the handshake failed before any payload */
        refusal(a, "not sending to agent %u at %s: %s, the address the gateway relayed for "
                "it; its flows wait (each agent's certificate must name its own address)",
                (uint32_t)(p - a->peers), RPC_HOST_PORT(p->host, p->port), a->tls_why);
        peer_close(a, p, NULL, false);
        p->retry_at = now + GARBAGE_RETRY_S;
        return;
    }
    const char *reason = e ? conn_error(a, e, buf, sizeof buf) : "closed by the receiver";
    bool unanswered = p->tls && !p->answered;
    if (unanswered)
        snprintf(why, sizeof why, "%s, before its agent took the TLS connection (did it refuse "
                 "this agent's certificate, or find it names another address than the one the "
                 "gateway relayed for this agent? its log says)", reason);
    peer_close(a, p, unanswered ? why : reason, always || unanswered || e == EPROTO);
    p->retry_at = now + (unanswered || e == EPROTO ? GARBAGE_RETRY_S : 0.1);
}

/* Room for one more segment in p's list, taken before a write so that what
 * the connection takes is always recorded. */
static weft_err_t peer_reserve(peer_t *p)
{
    if (p->seg_head && p->n_seg == p->cap_seg && 2 * p->seg_head >= p->n_seg) { /* slide */
        memmove(p->seg, p->seg + p->seg_head, (p->n_seg - p->seg_head) * sizeof *p->seg);
        p->n_seg -= p->seg_head;
        p->seg_head = 0;
    }
    return weft_grow((void **)&p->seg, &p->cap_seg, p->n_seg + 1, sizeof *p->seg);
}

/* n bytes of flow fid written on p's connection (after peer_reserve). */
static void peer_wrote(peer_t *p, uint64_t fid, uint64_t n)
{
    p->written += n;
    if (p->n_seg > p->seg_head && p->seg[p->n_seg - 1].fid == fid)
        p->seg[p->n_seg - 1].bytes += n;
    else
        p->seg[p->n_seg++] = (seg_t){.fid = fid, .bytes = n};
}

/* p's receiver has read n more bytes: the oldest segments' flows are
 * credited, in the order they were written. O(segments consumed). */
static void peer_credit(agent_t *a, peer_t *p, uint64_t n)
{
    while (n && p->seg_head < p->n_seg) {
        seg_t *s = &p->seg[p->seg_head];
        uint64_t take = s->bytes < n ? s->bytes : n;
        aflow_t *f = s->fid == NO_FLOW ? NULL : find_flow(a, s->fid);
        if (f) { /* else forgotten since; a dropped one is credited too, so
                    that sent - acked stays what is in flight */
            f->acked = fmin(f->acked + (double)take, f->sent);
            flow_check_done(a, f, true);
        }
        s->bytes -= take;
        n -= take;
        if (!s->bytes)
            p->seg_head++;
    }
    if (p->seg_head == p->n_seg)
        p->seg_head = p->n_seg = 0;
}

/* Writes what is left of p->hello on an acking connection: true once it
 * is all out, false while the socket does not take it (or it broke). */
static bool peer_hello(agent_t *a, peer_t *p, double now)
{
    while (p->acking && p->hello_out < p->hello_len) {
        ssize_t w = data_send(a, p->fd, p->tls, &p->hello[p->hello_out],
                              p->hello_len - p->hello_out);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                peer_broke(a, p, errno, true, now);
            return false;
        }
        p->hello_out += (size_t)w;
    }
    return true;
}

/* An 8-byte ack as text for the log: hex, then the printable characters. */
static const char *ack_text(const unsigned char b[8], char *buf, size_t n)
{
    char txt[9];
    for (int i = 0; i < 8; i++)
        txt[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
    txt[8] = 0;
    snprintf(buf, n, "%02x %02x %02x %02x %02x %02x %02x %02x (\"%s\")", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], txt);
    return buf;
}

/* Whether p's connection is polled for what its receiver writes back:
 * counts, or TLS records (the handshake, alerts). */
static bool peer_polled(const peer_t *p)
{
    return p->fd >= 0 && !p->connecting && (p->acking || p->tls);
}

/* Reads what p's receiver wrote back: ACK_HELLO, then counts. A count
 * below the last one or above the bytes written, or anything but
 * ACK_HELLO first, is not a weft agent's acknowledgment: the connection is
 * closed (peer_close) and tried again GARBAGE_RETRY_S later. So are an end
 * of stream and an error, sooner. */
static void peer_read(agent_t *a, peer_t *p, double now)
{
    unsigned char buf[1024];
    char why[160], hex[64];
    for (;;) {
        ssize_t n = data_recv(a, p->fd, p->tls, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) { /* a timeout is logged even with nothing lost: an idle one */
            int e = n < 0 ? errno : 0;
            peer_broke(a, p, e, e == ETIMEDOUT, now);
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            p->in[p->n_in++] = buf[i];
            if (p->n_in < sizeof p->in)
                continue;
            p->n_in = 0;
            if (!p->answered) {
                char ack_hello[] = ACK_HELLO; /* in the version asked in */
                ack_hello[HELLO_VERSION_AT] = (char)('0' + p->acking);
                if (memcmp(p->in, ack_hello, HELLO_LEN)) {
                    snprintf(why, sizeof why, "it answered %s, not a weft agent's "
                             "acknowledgment", ack_text(p->in, hex, sizeof hex));
                    goto garbage;
                }
                p->answered = true;
                continue;
            }
            uint64_t v = weft_read_be(p->in, 8);
            if (v < p->acked) {
                snprintf(why, sizeof why, "it acknowledged %llu bytes after %llu (a count "
                         "never goes back)", (unsigned long long)v, (unsigned long long)p->acked);
                goto garbage;
            }
            if (v > p->written) {
                snprintf(why, sizeof why, "it acknowledged %llu bytes of the %llu written",
                         (unsigned long long)v, (unsigned long long)p->written);
                goto garbage;
            }
            peer_credit(a, p, v - p->acked);
            p->acked = v;
        }
    }
garbage:
    peer_close(a, p, why, true);
    p->retry_at = now + GARBAGE_RETRY_S;
}

/* A new connection fd to p, connecting: acknowledged if p's agent acks,
 * as the gateway last said, in the lower of its version and this agent's,
 * with nothing written or read on it yet. */
static void peer_opened(agent_t *a, peer_t *p, int fd)
{
    p->fd = fd;
    p->connecting = true;
    p->acking = p->acks < RPC_DATA_ACKS ? p->acks : RPC_DATA_ACKS;
    memcpy(p->hello, DATA_HELLO, HELLO_LEN);
    p->hello[HELLO_VERSION_AT] = (unsigned char)('0' + p->acking);
    p->hello_len = HELLO_LEN;
    if (p->acking >= 2) {
        be64_put(p->hello + HELLO_LEN, a->stream_id);
        be64_put(p->hello + HELLO_LEN + 8, p->stream);
        p->hello_len = HELLO2_LEN;
    }
    if (p->acking >= 3) {
        be64_put(p->hello + HELLO2_LEN, a->o->id);
        p->hello_len = HELLO3_LEN;
    }
    p->hello_out = p->n_in = 0;
    p->answered = false;
    p->written = p->acked = 0;
    p->seg_head = p->n_seg = 0;
}

static void peer_connect(agent_t *a, peer_t *p, double now)
{
    if (p->fd >= 0 || !p->port || now < p->retry_at)
        return;
    /* never in clear to a TLS port, and never over TLS to a plain one (it
       would read the handshake as payload): held until the gateway says
       the agent there changed */
    bool tls = a->tls_ctx != NULL;
    if (p->tls_said == !tls) {
        if (!p->mismatch_said)
            refusal(a, "not sending to agent %zu at %s: %s; its flows wait until both "
                    "agents are started alike", (size_t)(p - a->peers),
                    RPC_HOST_PORT(p->host, p->port),
                    tls ? "its data port is plain TCP and this agent sends over TLS only "
                          "(--data-cert)"
                        : "its data port takes TLS only and this agent has no --data-cert");
        p->mismatch_said = true;
        p->retry_at = now + 1.0;
        return;
    }
    char ps[16];
    snprintf(ps, sizeof ps, "%d", p->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(p->host, ps, &hints, &res) || !res) {
        p->retry_at = now + 0.5;
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) /* before connect: it bounds the handshake too */
        data_timeouts(fd, a->data_timeout_s);
    if (fd >= 0 && (connect(fd, res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS)) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        peer_opened(a, p, fd);
    } else {
        if (fd >= 0)
            close(fd);
        p->retry_at = now + 0.1;
        alog(a, "cannot connect to peer %s: %s", RPC_HOST_PORT(p->host, p->port),
             strerror(errno));
    }
    freeaddrinfo(res);
}

/* --------------------------------------------------------- gateway I/O */

/* Without -v, an agent that cannot reach its gateway (a wrong address, a
 * gateway down) said nothing while it retried for ever. On o->notice, each
 * outage is now said once when it starts and once when it ends; -v logs
 * every try instead. */
static FILE *outage_notice(const agent_t *a) { return a->o->log ? NULL : a->o->notice; }

static void gw_lost(agent_t *a, const char *why)
{
    alog(a, "gateway connection lost: %s; retrying in %.2f s", why, a->backoff);
    double now = weft_mono_s();
    if (a->lost_at == 0) {
        FILE *notice = outage_notice(a);
        if (notice)
            fprintf(notice, "weft agent %u: no gateway connection (%s%s%s); reconnecting every "
                    "%g s at most, quietly (-v: each try)\n", a->o->id, why,
                    *a->gw_said ? ", after its error " : "", a->gw_said, BACKOFF_MAX_S);
        a->lost_at = now;
    }
    rpc_client_close(&a->gw);
    a->welcomed = false;
    a->next_try = now + a->backoff;
    a->backoff = fmin(a->backoff * 2, BACKOFF_MAX_S);
    for (size_t i = 0; i < a->n_flows; i++) {
        a->flows[i].rate = 0; /* wait for the gateway's word again */
        a->flows[i].done_reported = a->flows[i].done_acked;
    }
}

/* Queues the bytes delivered (acked) of the unfinished flows, REPORT_BATCH
 * a message: of all of them, or only of those whose count moved since it
 * was last reported. */
static weft_err_t report_progress(agent_t *a, bool all)
{
    uint64_t fids[REPORT_BATCH];
    double sent[REPORT_BATCH];
    size_t n = 0;
    weft_err_t err = WEFT_OK;
    for (size_t i = 0; !err && i < a->n_flows; i++) {
        aflow_t *f = &a->flows[i];
        if (f->done || (!all && f->acked == f->reported))
            continue;
        fids[n] = f->fid;
        sent[n++] = f->acked;
        f->reported = f->acked;
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
    return rpc_client_hello_agent_data(&a->gw, a->token, a->o->id, a->data_port, RPC_DATA_ACKS,
                                       a->tls_ctx != NULL);
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
                "dropping the %zu %s it had given this agent",
             open, weft_plural(open, "flow", "flows"));
        a->n_flows = 0;
        /* their ids may come back naming other flows: bytes in flight
           for them are no one's */
        for (size_t i = 0; i < a->n_peers; i++)
            for (size_t k = a->peers[i].seg_head; k < a->peers[i].n_seg; k++)
                a->peers[i].seg[k].fid = NO_FLOW;
        a->serve_stale = true;
        weft_err_t err = rebuild_slots(a, 64);
        if (err)
            return err;
    }
    if (epoch)
        a->epoch = (uint64_t)epoch;
    return report_progress(a, true);
}

/* Where the peers' agents listen, and whether they ack ("acks", parallel
 * to "peers"; absent from an older gateway: none does, as far as this
 * agent can tell, so none is waited for). A peer whose address or ack
 * version changed is another agent: its connection is closed. */
static void set_peers(agent_t *a, const msgpack_object *m)
{
    const msgpack_object_array *arr, *acks = NULL, *tls = NULL;
    if (rpc_get_array(m, "peers", &arr))
        return;
    if (rpc_map_get(m, "tls") && (rpc_get_array(m, "tls", &tls) || tls->size != arr->size)) {
        alog(a, "peers: 'tls' is not an array of %u entries; taking the peers' data ports "
             "to speak as this agent's", arr->size);
        tls = NULL;
    }
    if (rpc_map_get(m, "acks") && (rpc_get_array(m, "acks", &acks) || acks->size != arr->size)) {
        alog(a, "peers: 'acks' is not an array of %u entries; taking no peer as acknowledging",
             arr->size);
        acks = NULL;
    }
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
        int64_t ack = 0;
        if (acks && (!rpc_obj_int(&acks->ptr[i], &ack) || ack < 0 || ack > INT32_MAX))
            ack = 0;
        int64_t said = -1; /* not said: an older gateway */
        if (tls && (!rpc_obj_int(&tls->ptr[i], &said) || said < 0 || said > 1))
            said = -1;
        if (p->port != port || strcmp(p->host, host) || p->acks != (int)ack ||
            p->tls_said != (int)said) {
            peer_close(a, p, "its agent moved or restarted", false);
            snprintf(p->host, sizeof p->host, "%s", host);
            p->port = (int)port;
            p->acks = (int)ack;
            p->tls_said = (int)said;
            p->mismatch_said = false;
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
            bool whole = f->acked >= f->bytes;
            f->done = whole;
            f->done_reported = f->done_acked = false;
            a->serve_stale = true;
            alog(a, "flow %lld: the gateway announced it again (its journal is older): %s",
                 (long long)fid, whole ? "reporting it done again" : "sending the rest");
        }
        if (f) { /* the gateway's count is one this agent reported delivered, or
                    a previous one's: the larger holds */
            if (sent > f->acked)
                f->acked = f->reported = fmin(sent, f->bytes);
            f->sent = fmax(f->sent, f->acked);
            continue;
        }
        aflow_t nf = {.fid = (uint64_t)fid, .dst = (uint32_t)dst, .bytes = bytes,
                      .sent = sent, .acked = sent, .reported = sent};
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
                "gateway)", (long long)fid, f->acked, f->bytes);
    }
    return prune_flows(a);
}

/* A hello refused for the port it claims is said in the words the user
 * typed, `--id N`, with the gateway's ports, rather than as the hello's
 * field ("hello: field 'id' is 4, expected 0..3", the gateway's message;
 * under --agent-tokens, "port 4 takes no agent on this gateway"): the
 * error's why says which (rpc_msg_error reads an older gateway's text for
 * it). Any other refusal: err as rpc_msg_error_permanent made it. */
static weft_err_t id_refused(const agent_t *a, const rpc_error_msg_t *e, weft_err_t err)
{
    /* A range that holds this agent's own id contradicts the refusal:
     * "--id 2 is not one of ports 0..3" would mislead, so the gateway's
     * own words are given, with what does not add up. */
    if (!strcmp(e->why, RPC_WHY_ID_RANGE) && e->lo <= (int64_t)a->o->id &&
        (int64_t)a->o->id <= e->hi)
        return weft_fail(WEFT_EPROTO, "the gateway at %s refused --id %u as outside its "
                         "ports, yet names the range %lld..%lld, which holds it: %s: %s; not "
                         "retrying", a->gw.peer, a->o->id, (long long)e->lo, (long long)e->hi,
                         e->code, e->message);
    if (!strcmp(e->why, RPC_WHY_ID_RANGE)) {
        /* the gateway's word: its hi + 1 would overflow at INT64_MAX */
        char ports[48] = "";
        if (e->hi < INT64_MAX)
            snprintf(ports, sizeof ports, " (weft serve --ports %lld)", (long long)e->hi + 1);
        return weft_fail(WEFT_EINVAL, "--id %u is not one of the gateway's ports: the gateway "
                         "at %s has ports %lld..%lld%s; not retrying", a->o->id, a->gw.peer,
                         (long long)e->lo, (long long)e->hi, ports);
    }
    if (!strcmp(e->why, RPC_WHY_PORT_NO_AGENT))
        return weft_fail(WEFT_EAUTH, "--id %u: the gateway at %s takes no agent for port %u: "
                         "its --agent-tokens file gives that port no secret (or the gateway "
                         "has fewer ports); not retrying", a->o->id, a->gw.peer, a->o->id);
    return err;
}

static weft_err_t gw_handle(agent_t *a, const msgpack_object *m)
{
    char type[32];
    rpc_msg_type(m, type, sizeof type);
    if (!strcmp(type, "welcome")) {
        a->rotating = false;
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
                grown[i] = (peer_t){.fd = -1, .tls_said = -1};
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
        if (a->lost_at > 0 && outage_notice(a))
            fprintf(outage_notice(a), "weft agent %u: connected to the gateway at %s, %.1f s "
                    "after the connection failed\n", a->o->id, a->gw.peer,
                    weft_mono_s() - a->lost_at);
        a->lost_at = 0;
        *a->gw_said = '\0';
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
        weft_err_t bad = rpc_msg_error(m, &e);
        char bad_why[256];
        snprintf(bad_why, sizeof bad_why, "%s", bad ? weft_last_error() : "");
        alog(a, "gateway error %s: %s", e.code, e.message);
        snprintf(a->gw_said, sizeof a->gw_said, "%.30s: %.120s", e.code, e.message);
        weft_err_t err = rpc_msg_error_permanent(&e, a->gw.peer);
        /* A garbled machine-readable part: what the gateway meant is not
         * known, so nothing is acted on but its code (stop, or reconnect). */
        if (bad) {
            a->refused = err != WEFT_OK;
            return weft_fail(WEFT_EPROTO, "gateway %s sent a malformed error (%s): %s: %s%s",
                             a->gw.peer, bad_why, e.code, e.message,
                             a->refused ? "; not retrying" : "");
        }
        if (err)
            err = id_refused(a, &e, err);
        /* Another agent connected as this port (a restart takes over that
         * way): reconnecting would take the port back, and the two would
         * replace each other for ever. The newer one keeps it. */
        if (!err && !strcmp(e.code, "replaced"))
            err = weft_fail(WEFT_EINVAL, "gateway %s: another agent connected as port %d "
                            "and took it over (%s); this one stops",
                            RPC_HOST_PORT(a->o->gateway_host, a->o->gateway_port),
                            (int)a->o->id, e.message);
        /* A secret rotated on the gateway (weft serve --agent-tokens, then
         * SIGHUP) drops the agents of the ports whose secret changed, and
         * refuses the old one: whichever of the gateway's file and this
         * agent's was written first, an agent with a token file reconnects
         * once its file holds the new secret (it reads it at every hello). */
        if (err && !strcmp(e.code, "auth") && a->o->token_file) {
            bool file_changed = false;
            char now_in_file[RPC_TOKEN_MAX];
            snprintf(now_in_file, sizeof now_in_file, "%s", a->token);
            if (rpc_token_reread(a->o->token_file, now_in_file, &file_changed) == WEFT_OK &&
                file_changed)
                a->rotating = true; /* written first: the next hello presents it */
            if (!strcmp(e.why, RPC_WHY_SECRET_ROTATED))
                a->rotating = true;
            if (a->rotating) {
                alog(a, "the gateway refused this port's secret (%s): reconnecting with what "
                     "token file %s holds", e.message, a->o->token_file);
                err = WEFT_OK;
            }
        }
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
    /* Peers are told the address the gateway sees this agent connect from,
     * not this one: bound elsewhere, their bytes never arrive, and nothing
     * but their -v logs would say why. */
    if (a->o->data_host && strcmp(host, "0.0.0.0") && strcmp(host, "::") &&
        strcmp(host, address_toward_gateway(a, toward, sizeof toward)))
        fprintf(stderr, "weft agent %u: note: --data-host %s: peers send to the address the "
                "gateway sees this agent connect from (%s from here, absent NAT), which the "
                "data port must be reachable at; --data-host 0.0.0.0 binds every "
                "interface\n", a->o->id, host, toward);
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
        return weft_fail(WEFT_EIO, "data listener on %s: %s",
                         RPC_HOST_PORT(host, a->o->data_port), strerror(errno));
    }
    freeaddrinfo(res);
    return rpc_bound_port(a->lfd, "data listener", &a->data_port);
}

/* Sends what each flow's bucket allows, in class order. A flow to a peer
 * that acks is done when acknowledged (peer_credit), else once written. */
static weft_err_t pace(agent_t *a, double dt, double now)
{
    weft_err_t err;
    if (a->serve_stale && (err = sort_serve(a)))
        return err;
    a->pass++;
    for (size_t k = 0; k < a->n_flows; k++) {
        aflow_t *f = &a->flows[a->serve[k] & UINT32_MAX];
        if (f->done || f->rate <= 0)
            continue;
        flow_check_done(a, f, false); /* a count resumed from the gateway */
        if (f->done)
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
        if (want < 1) /* paced, or all written and waiting for the acks */
            continue;
        /* over TLS, no payload before the receiver's ACK_HELLO: it took this
           agent's certificate (a refused one gets nothing but the hello) */
        if (!peer_hello(a, p, now) || (p->tls && p->acking && !p->answered)) {
            p->full_pass = a->pass;
            continue;
        }
        if (!f->logged_start) {
            /* Start and end of each flow in the verbose log: the end-to-end
             * test waits for a flow caught half way before killing an agent. */
            f->logged_start = true;
            alog(a, "flow %llu: sending to agent %u from byte %.0f of %.0f",
                 (unsigned long long)f->fid, f->dst, f->sent, f->bytes);
        }
        bool acking = p->acking;
        while (want >= 1) {
            if (acking && (err = peer_reserve(p)))
                return err;
            size_t n = want > WRITE_CHUNK ? WRITE_CHUNK : (size_t)want;
            ssize_t w = data_send(a, p->fd, p->tls, a->zeros, n);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    p->full_pass = a->pass;
                else if (errno != EINTR)
                    peer_broke(a, p, errno, true, now);
                break;
            }
            f->sent += (double)w;
            f->tokens -= (double)w;
            want -= (double)w;
            if (acking)
                peer_wrote(p, f->fid, (uint64_t)w);
            else
                f->acked = f->sent; /* no receiver's word to wait for */
            /* a short write, or TLS records the socket did not take: full */
            if ((size_t)w < n || rpc_data_tls_unsent(p->tls)) {
                p->full_pass = a->pass;
                break;
            }
        }
        if (!acking)
            flow_check_done(a, f, false);
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
        if (a->recv[k].at < a->recv[old].at)
            old = k;
    bool evict = a->n_recv > 0 && now - a->recv[old].at >= RECV_IDLE_S;
    uint64_t *count = evict ? &a->recv_evicted : &a->recv_refused;
    if ((*count)++ % 1000 == 0)
        alog(a, "data port: %s; %s (%llu so far)", why,
             evict ? "closed the connection silent longest for a new one" : otherwise,
             (unsigned long long)*count);
    return evict ? old : SIZE_MAX;
}

/* Closes receiver r's connection (its slot is the caller's to reuse). */
static void recv_close(recv_t *r)
{
    rpc_data_tls_free(r->tls);
    r->tls = NULL;
    close(r->fd);
    r->fd = -1;
}

/* A connection accepted on the data port: a free slot, else that of the
 * connection silent longest (silent_receiver), else it is closed. */
static void take_receiver(agent_t *a, int fd, double now)
{
    data_timeouts(fd, a->data_timeout_s); /* a sender whose machine vanished lets it go */
    if (a->n_recv < MAX_RECEIVERS) {
        a->recv[a->n_recv++] = (recv_t){.fd = fd, .at = now};
        return;
    }
    size_t old = silent_receiver(a, now, "all connections taken",
                                 "closed a new one, none being silent for 2 s");
    if (old == SIZE_MAX) {
        close(fd);
        return;
    }
    recv_close(&a->recv[old]);
    a->recv[old] = (recv_t){.fd = fd, .at = now};
}

/* Out of descriptors (accept: EMFILE): the connection silent longest is
 * closed to make room, as take_receiver does. False if none may go. */
static bool free_a_descriptor(agent_t *a, double now)
{
    size_t old = silent_receiver(a, now, "out of file descriptors",
                                 "new ones wait in the backlog, none being silent for 2 s");
    if (old == SIZE_MAX)
        return false;
    recv_close(&a->recv[old]);
    a->recv[old] = a->recv[--a->n_recv];
    return true;
}

/* Writes what r's ack queue holds, then r's count if it moved since the
 * last ack, without blocking: what the socket does not take waits for
 * POLLOUT, and a newer count goes out only after every byte of the one
 * begun, so the stream stays 8-byte framed. False if the connection broke. */
static bool recv_ack(agent_t *a, recv_t *r)
{
    if (r->tls && rpc_data_tls_flush(r->tls, r->fd) < 0)
        return false;
    for (;;) {
        if (r->out_off < r->out_len) {
            ssize_t w = data_send(a, r->fd, r->tls, r->out + r->out_off, r->out_len - r->out_off);
            if (w < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
            r->out_off += (size_t)w;
            continue;
        }
        if (r->mode != RECV_ACKED || r->got == r->acked)
            return true;
        be64_put(r->out, r->got);
        r->out_off = 0;
        r->out_len = 8;
        r->acked = r->got;
    }
}

/* The stream r's payload belongs to (version 2), found by its id, or made
 * at offset `at` (the least recently used forgotten when MAX_STREAMS are
 * kept: its bytes sent again would then count again). O(streams) unless
 * r's index still holds it. */
static stream_t *recv_stream(agent_t *a, recv_t *r, uint64_t at, double now)
{
    if (r->stream < a->n_streams && a->streams[r->stream].id == r->sid)
        return &a->streams[r->stream];
    size_t k = 0, old = 0;
    while (k < a->n_streams && a->streams[k].id != r->sid) {
        if (a->streams[k].used < a->streams[old].used)
            old = k;
        k++;
    }
    if (k == a->n_streams) {
        k = a->n_streams < MAX_STREAMS ? a->n_streams++ : old;
        a->streams[k] = (stream_t){.id = r->sid, .hi = at, .used = now};
    }
    r->stream = k;
    return &a->streams[k];
}

/* Counts r's payload bytes read since its count stood at `before`: of a
 * stream, those past the furthest read of it on any connection. */
static void recv_count(agent_t *a, recv_t *r, uint64_t before, double now)
{
    if (r->mode != RECV_ACKED || r->version < 2) {
        a->bytes_received += r->got - before;
        return;
    }
    uint64_t end = r->base > UINT64_MAX - r->got ? UINT64_MAX : r->base + r->got;
    stream_t *s = recv_stream(a, r, end - (r->got - before), now);
    s->used = now;
    if (end > s->hi) {
        a->bytes_received += end - s->hi;
        s->hi = end;
    }
}

/* The address of accepted connection fd's sender, "host:port", in buf. */
static const char *sender_address(int fd, char *buf, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        rpc_sockaddr_text((struct sockaddr *)&ss, host, sizeof host);
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): getpeername set ss */
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return rpc_host_port(buf, n, host, port);
}

/* Over TLS, once r's hello is read (or found missing): whether the
 * sender's certificate names the address the gateway relayed for the
 * agent the hello says it is. If not, refused, saying from where, as
 * whom, what was expected and what the certificate names. */
static bool recv_sender_named(agent_t *a, recv_t *r)
{
    if (!r->tls)
        return true;
    char why[600], cert_why[400], from[RPC_HOST_PORT_LEN];
    bool says = r->mode == RECV_ACKED && r->version >= 3;
    uint64_t id = says ? weft_read_be(r->hello + HELLO2_LEN, 8) : 0;
    const peer_t *p = id < a->n_peers ? &a->peers[id] : NULL;
    if (!says)
        snprintf(why, sizeof why, "its data hello names no agent (version %d; a TLS receiver "
                 "takes 3 or later)", r->mode == RECV_ACKED ? r->version : 0);
    else if (!p)
        snprintf(why, sizeof why, "it says it is agent %llu, and the gateway has %zu ports",
                 (unsigned long long)id, a->n_peers);
    else if (!p->port || !*p->host)
        snprintf(why, sizeof why, "it says it is agent %llu, for which the gateway has relayed "
                 "no address yet to check its certificate against", (unsigned long long)id);
    else if (!rpc_data_tls_peer_named(r->tls, p->host, cert_why, sizeof cert_why))
        snprintf(why, sizeof why, "it says it is agent %llu, and %s, the address the gateway "
                 "relayed for agent %llu", (unsigned long long)id, cert_why,
                 (unsigned long long)id);
    else
        return true;
    refusal(a, "refused a data connection from %s: %s; nothing of it counted",
            sender_address(r->fd, from, sizeof from), why);
    return false;
}

/* The first bytes of a new connection: DATA_HELLO (version 1 to
 * RPC_DATA_ACKS, and then its stream and offset for 2, and the sender's
 * agent id for 3) makes it one to ack (ACK_HELLO of that version queued);
 * anything else is an older sender's payload. Returns how many bytes of
 * b[n] were DATA_HELLO, or SIZE_MAX if the connection is refused
 * (recv_sender_named, before its stream is touched or a byte counted). */
static size_t recv_hello(agent_t *a, recv_t *r, const unsigned char *b, size_t n, double now)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = r->n_hello;
        bool ok = k >= HELLO_LEN || (k == HELLO_VERSION_AT
                                         ? b[i] >= '1' && b[i] <= '0' + RPC_DATA_ACKS
                                         : b[i] == (unsigned char)DATA_HELLO[k]);
        if (!ok) {
            r->mode = RECV_PLAIN;
            if (!recv_sender_named(a, r))
                return SIZE_MAX;
            r->got += k; /* what looked like its start was payload */
            return i;
        }
        r->hello[r->n_hello++] = b[i];
        if (k < HELLO_VERSION_AT)
            continue;
        r->version = r->hello[HELLO_VERSION_AT] - '0';
        if (r->n_hello == (r->version >= 3   ? HELLO3_LEN
                           : r->version >= 2 ? HELLO2_LEN
                                             : HELLO_LEN)) {
            r->mode = RECV_ACKED;
            if (!recv_sender_named(a, r))
                return SIZE_MAX;
            memcpy(r->out, ACK_HELLO, HELLO_LEN);
            r->out[HELLO_VERSION_AT] = (unsigned char)('0' + r->version);
            if (r->version >= 2) {
                r->sid = weft_read_be(r->hello + HELLO_LEN, 8);
                r->base = weft_read_be(r->hello + HELLO_LEN + 8, 8);
                stream_t *s = recv_stream(a, r, r->base, now);
                if (s->hi < r->base) /* bytes before it went to another receiver */
                    s->hi = r->base;
            }
            r->out_off = 0;
            r->out_len = HELLO_LEN;
            int one = 1; /* acks are small writes: not held back by Nagle */
            setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return i + 1;
        }
    }
    return n;
}

/* A new connection's first byte, which says whether its sender speaks TLS
 * (a handshake record's first byte no plain sender writes first): a TLS
 * agent takes it only with TLS, a plain one only without. False if it
 * ended or was refused (logged, naming its address and why). */
static bool recv_first_byte(agent_t *a, recv_t *r)
{
    unsigned char b;
    ssize_t n = recv(r->fd, &b, 1, MSG_PEEK);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0)
        return false;
    bool tls_hello = b == RPC_DATA_TLS_FIRST_BYTE;
    if (tls_hello == (a->tls_ctx != NULL)) {
        if (a->tls_ctx && !(r->tls = rpc_data_tls_new(a->tls_ctx, r->fd, true))) {
            alog(a, "out of memory for a TLS data connection: closed");
            return false;
        }
        return true;
    }
    char from[RPC_HOST_PORT_LEN];
    refusal(a, "refused a data connection from %s: %s", sender_address(r->fd, from, sizeof from),
            tls_hello ? "it began a TLS handshake, and this agent's data port is plain TCP "
                        "(no --data-cert)"
                      : "it sent plain bytes, and this agent's data port takes TLS only "
                        "(--data-cert): is the sender's agent without --data-cert?");
    return false;
}

/* Reads everything r's peer sent, acking every ACK_EVERY bytes and once
 * drained (recv_ack). False at its end or an error: close it. */
static bool recv_drain(agent_t *a, recv_t *r, unsigned char *sink, size_t size, double now)
{
    if (r->mode == RECV_NEW && r->n_hello == 0 && !r->tls) { /* nothing read yet */
        if (!recv_first_byte(a, r))
            return false;
        if (a->tls_ctx && !r->tls)
            return true; /* its first byte is still to come */
    }
    for (;;) {
        ssize_t n = data_recv(a, r->fd, r->tls, sink, size);
        if (n < 0 && errno == EPROTO) { /* its handshake or certificate failed */
            char from[RPC_HOST_PORT_LEN];
            refusal(a, "refused a data connection from %s: %s",
                    sender_address(r->fd, from, sizeof from), a->tls_why);
            return false;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return recv_ack(a, r);
        if (n <= 0)
            return false;
        r->at = now;
        uint64_t before = r->got;
        size_t skip = r->mode == RECV_NEW ? recv_hello(a, r, sink, (size_t)n, now) : 0;
        if (skip == SIZE_MAX)
            return false;
        r->got += (uint64_t)n - skip;
        recv_count(a, r, before, now);
        if (r->mode == RECV_ACKED && r->got - r->acked >= ACK_EVERY && !recv_ack(a, r))
            return false;
    }
}

/* Where the data certificate of ctx stands against its dates of validity,
 * and what to say of it into due[RPC_TLS_EXPIRY_LEN] (rpc_tls_expiry). */
static rpc_tls_expiry_t data_cert_expiry(const agent_t *a, const struct ssl_ctx_st *ctx,
                                         char *due)
{
    return rpc_tls_expiry(due, RPC_TLS_EXPIRY_LEN, "data certificate", a->o->data_cert,
                          "the other agents", rpc_tls_not_before(ctx), rpc_tls_not_after(ctx),
                          (int64_t)time(NULL));
}

/* On o->reload (SIGHUP): the data certificate, its key and the CA read
 * again into a new context, which the data connections opened from now on
 * take, both ways; those open keep theirs (an SSL holds a reference to its
 * context, so the old one is released at once). One that cannot be built,
 * or whose certificate has expired or is not valid yet, leaves the old in
 * force: nothing open is lost, and the agent goes on.
 * Said on log, or on notice without it. */
static void data_tls_reload(agent_t *a)
{
    const rpc_agent_opts_t *o = a->o;
    FILE *out = o->log ? o->log : o->notice;
    struct ssl_ctx_st *fresh = NULL;
    if (!a->tls_ctx) {
        if (out)
            fprintf(out, "weft agent %u: SIGHUP: nothing to reload: no --data-cert%s\n", o->id,
                    o->tls_ca || o->token_file ? " (the --tls-ca and --token-file files are "
                    "read again at each connection to the gateway)" : "");
        return;
    }
    char due[RPC_TLS_EXPIRY_LEN];
    rpc_tls_expiry_t ex = RPC_TLS_IN_DATE;
    weft_err_t err = rpc_data_tls_ctx(&fresh, o->data_cert, o->data_key, o->tls_ca);
    /* one expired or not valid yet would only fail every new data connection */
    if (!err && ((ex = data_cert_expiry(a, fresh, due)) == RPC_TLS_EXPIRED ||
                 ex == RPC_TLS_NOT_YET)) {
        rpc_data_tls_ctx_free(fresh);
        err = weft_fail(WEFT_EINVAL, "%s", due);
    }
    if (err) {
        if (out)
            fprintf(out, "weft agent %u: SIGHUP: data certificate not reloaded: %s; new data "
                    "connections still get the one read before\n", o->id, weft_last_error());
        return;
    }
    rpc_data_tls_ctx_free(a->tls_ctx);
    a->tls_ctx = fresh;
    char until[40];
    if (out)
        fprintf(out, "weft agent %u: SIGHUP: data certificate %s reloaded (valid until %s); new "
                "data connections get it, those open keep theirs\n", o->id, o->data_cert,
                rpc_tls_date(until, sizeof until, rpc_tls_not_after(fresh)));
    if (out && ex == RPC_TLS_DUE)
        fprintf(out, "weft agent %u: SIGHUP: note: %s\n", o->id, due);
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
    a.data_timeout_s = o->data_timeout_s > 0 ? o->data_timeout_s : DATA_TIMEOUT_S;
    rpc_client_init(&a.gw);
    double report_s = o->report_s > 0 ? o->report_s : 0.01;
    a.zeros = weft_calloc(WRITE_CHUNK, 1);
    a.streams = weft_calloc(MAX_STREAMS, sizeof *a.streams);
    struct pollfd *pfd = NULL;
    size_t cap_pfd = 0;
    if (!a.zeros || !a.streams)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory for the agent"));
    /* unique to this run: a restarted agent's streams are others (what it
       sends again counts again: the receiver cannot tell it from new) */
    if (getrandom(&a.stream_id, sizeof a.stream_id, 0) != (ssize_t)sizeof a.stream_id)
        a.stream_id = (uint64_t)getpid() << 32 ^ (uint64_t)(weft_mono_s() * 1e9);
    if (o->tls_ca)
        WEFT_CHECK(rpc_client_tls(&a.gw, o->tls_ca));
    if (o->data_cert || o->data_key) {
        if (!o->data_cert || !o->data_key || !o->tls_ca)
            WEFT_CHECK(weft_fail(WEFT_EINVAL, "TLS data connections take a certificate, its "
                                 "key and the CA that verifies peers' (--data-cert, --data-key, "
                                 "--tls-ca)"));
        WEFT_CHECK(rpc_data_tls_ctx(&a.tls_ctx, o->data_cert, o->data_key, o->tls_ca));
    }
    WEFT_CHECK(open_listener(&a));
    alog(&a, "data port %d on %s%s", a.data_port, a.data_host, a.tls_ctx ? ", TLS only" : "");
    if (a.tls_ctx) { /* as weft serve says of its certificate: a renewal due soon, or missed */
        char due[RPC_TLS_EXPIRY_LEN];
        rpc_tls_expiry_t ex = data_cert_expiry(&a, a.tls_ctx, due);
        FILE *out = o->log ? o->log : o->notice;
        if (ex != RPC_TLS_IN_DATE && out)
            fprintf(out, "weft agent %u: %s: %s\n", o->id,
                    ex == RPC_TLS_DUE ? "note" : "warning", due);
    }
    double last = weft_mono_s();
    unsigned char sink[65536];
    while (!*o->stop) {
        if (o->reload && *o->reload) {
            *o->reload = 0; /* before the files: a signal while they are read reads again */
            data_tls_reload(&a);
        }
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
        /* the listener, the gateway, the receivers, the peers that ack */
        WEFT_CHECK(weft_grow((void **)&pfd, &cap_pfd, 2 + MAX_RECEIVERS + a.n_peers,
                             sizeof *pfd));
        size_t np = 0;
        pfd[np++] = (struct pollfd){a.lfd, weft_mono_s() >= a.listen_after ? POLLIN : 0, 0};
        pfd[np++] = (struct pollfd){a.gw.fd, (short)(POLLIN | (rpc_client_want_write(&a.gw)
                                                                ? POLLOUT : 0)), 0};
        for (size_t i = 0; i < a.n_recv; i++) {
            bool queued = a.recv[i].out_off < a.recv[i].out_len || /* an ack waits */
                          rpc_data_tls_unsent(a.recv[i].tls);
            pfd[np++] = (struct pollfd){a.recv[i].fd, (short)(POLLIN | (queued ? POLLOUT : 0)),
                                        0};
        }
        size_t np_recv = np;
        for (size_t i = 0; i < a.n_peers; i++)
            if (peer_polled(&a.peers[i]))
                pfd[np++] = (struct pollfd){
                    a.peers[i].fd,
                    (short)(POLLIN | (rpc_data_tls_unsent(a.peers[i].tls) ? POLLOUT : 0)), 0};
        bool moving = false; /* bytes to write (not only acks to wait for) */
        for (size_t i = 0; i < a.n_flows && !moving; i++)
            moving = !a.flows[i].done && a.flows[i].rate > 0 &&
                     a.flows[i].sent < ceil(a.flows[i].bytes);
        int timeout = moving ? 1 : 10;
        bool tls_pending = rpc_client_pending(&a.gw); /* bytes poll cannot see */
        if (tls_pending)
            timeout = 0;
        if (poll(pfd, np, timeout) < 0 && errno != EINTR)
            WEFT_CHECK(weft_fail(WEFT_EIO, "poll: %s", strerror(errno)));
        /* pfd[2 + k] is receiver k: new connections are taken after this */
        double now_recv = weft_mono_s();
        for (size_t i = 2, k = 0; i < np_recv; i++, k++) {
            recv_t *r = &a.recv[k];
            bool ok = true;
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                ok = recv_drain(&a, r, sink, sizeof sink, now_recv);
            else if (pfd[i].revents & POLLOUT)
                ok = recv_ack(&a, r);
            if (!ok)
                recv_close(r);
        }
        size_t kept = 0; /* the closed ones out, in order */
        for (size_t k = 0; k < a.n_recv; k++)
            if (a.recv[k].fd >= 0)
                a.recv[kept++] = a.recv[k];
        a.n_recv = kept;
        /* acks, in the order the peers were polled (nothing changed them since) */
        for (size_t i = 0, j = np_recv; i < a.n_peers && j < np; i++) {
            peer_t *p = &a.peers[i];
            if (p->fd != pfd[j].fd || !peer_polled(p))
                continue;
            short ev = pfd[j++].revents;
            if (ev & (POLLIN | POLLHUP | POLLERR))
                peer_read(&a, p, now_recv);
            if (p->fd >= 0 && p->tls && (ev & POLLOUT) && rpc_data_tls_flush(p->tls, p->fd) < 0)
                peer_broke(&a, p, errno, true, now_recv);
        }
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
            if ((rerr || r < 0) && rpc_client_permanent(&a.gw)) { /* not a gateway */
                err = weft_fail(rerr ? rerr : (weft_err_t)r, "%s; not retrying",
                                weft_last_error());
                alog(&a, "%s", weft_last_error());
                goto cleanup;
            }
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
                        alog(&a, "cannot connect to port %zu's agent at %s: %s; retrying", i,
                             RPC_HOST_PORT(p->host, p->port), strerror(e));
                    p->failing = true;
                    peer_close(&a, p, NULL, false); /* nothing written yet */
                    p->retry_at = now + 0.1;
                } else if (a.tls_ctx && !(p->tls = rpc_data_tls_new(a.tls_ctx, p->fd, false))) {
                    peer_close(&a, p, "out of memory for its TLS session", true);
                    p->retry_at = now + 0.1;
                } else if (p->tls &&
                           !rpc_data_tls_expect(p->tls, p->host, a.tls_why, sizeof a.tls_why)) {
                    refusal(&a, "not sending to agent %zu at %s: %s; its flows wait", i,
                            RPC_HOST_PORT(p->host, p->port), a.tls_why);
                    peer_close(&a, p, NULL, false);
                    p->retry_at = now + GARBAGE_RETRY_S;
                } else {
                    p->connecting = false;
                    p->failing = false;
                    peer_hello(&a, p, now); /* what it does not take, pace finishes; over
                                               TLS, it begins the handshake */
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
    for (size_t i = 0; i < a.n_peers; i++) {
        peer_close(&a, &a.peers[i], NULL, false);
        free(a.peers[i].seg);
    }
    for (size_t i = 0; i < a.n_recv; i++)
        recv_close(&a.recv[i]);
    if (a.lfd >= 0)
        close(a.lfd);
    rpc_client_destroy(&a.gw);
    rpc_data_tls_ctx_free(a.tls_ctx);
    free(a.flows);
    free(a.serve);
    free(a.slot);
    free(a.peers);
    free(a.zeros);
    free(a.streams);
    free(pfd);
    return err;
}
