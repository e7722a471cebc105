/*
 * client.h - the small C client library of the gateway protocol
 * (docs/protocol.md), linked by `weft agent`, `weft submit` and users' own
 * shuffle services.
 *
 * A client is one TCP connection: message builders append frames to an
 * output queue, rpc_client_flush writes what the socket takes, and
 * rpc_client_read / rpc_client_next yield the gateway's frames, decoded and
 * validated by the same decoder the gateway uses. The socket is
 * non-blocking, so an event loop (poll, libevent) can drive it with
 * rpc_client_fd, rpc_client_want_write and rpc_client_pending;
 * rpc_client_wait is the blocking convenience for simple programs.
 *
 * With rpc_client_tls the connection is TLS (OpenSSL, 1.2 or later): the
 * gateway's certificate is verified against a CA file and must name the
 * host (DNS name or IP address) the client connects to.
 */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "coflow/coflow.h"
#include "rpc/rpc.h"

struct ssl_st;
struct ssl_ctx_st;
struct sockaddr;

/* The numeric address of an IPv4 or IPv6 socket address into buf[n]
 * (unchanged for another family). */
void rpc_sockaddr_text(const struct sockaddr *sa, char *buf, size_t n);
/* The port listening socket fd is bound to, into *port; what names the
 * socket begins the error. */
weft_err_t rpc_bound_port(int fd, const char *what, int *port);
/* Room for rpc_host_port's text: a host of up to 255 bytes, the brackets
 * of an IPv6 address, ':' and a port. */
#define RPC_HOST_PORT_LEN 280
/* "host:port" into buf[n], or "[host]:port" for an IPv6 address (a host
 * with a ':'), as --gateway and --listen take it: "::1:7000" could be ::1
 * port 7000 or ::1:7000 without a port. Every message and log line that
 * names an address and its port writes it so. Returns buf. */
const char *rpc_host_port(char *buf, size_t n, const char *host, int port);
/* rpc_host_port in a buffer of its own that lasts to the end of the
 * enclosing block: an argument of one message. */
#define RPC_HOST_PORT(host, port)                                                                  \
    rpc_host_port((char[RPC_HOST_PORT_LEN]){0}, RPC_HOST_PORT_LEN, (host), (port))

typedef struct {
    int fd;               /* -1 when not connected */
    struct ssl_ctx_st *tls_ctx; /* set by rpc_client_tls; NULL: plain TCP */
    struct ssl_st *tls;   /* the connection's TLS session, NULL when plain */
    bool tls_read_wants_write; /* SSL_read could not go on: the socket must
                                  take bytes first (rpc_client_flush retries) */
    bool tls_frames_read; /* rpc_client_flush did that read: frames may wait
                             in the decoder with nothing left for poll */
    bool permanent;       /* the last connect failed in a way a retry cannot
                             cure (rpc_client_permanent) */
    uint64_t bytes_in;    /* bytes received on this connection */
    size_t max_frame;     /* the gateway's frame cap, from its welcome
                             (rpc_client_welcome); 0 until then, and for a
                             gateway that does not say: RPC_MAX_FRAME_DEFAULT */
    char peer[RPC_HOST_PORT_LEN]; /* "host:port" of the last connect (rpc_host_port) */
    rpc_decoder_t dec;    /* the gateway's frames */
    rpc_frame_t fr;       /* the last frame yielded */
    msgpack_sbuffer out;  /* queued frames: out.data[out_off .. out.size) unwritten */
    size_t out_off;
    msgpack_packer pk;    /* packs into out */
} rpc_client_t;

void rpc_client_init(rpc_client_t *c);
/* Takes what a welcome says that the library uses: the gateway's frame cap,
 * so that messages up to it are sent (a register of a large job). */
void rpc_client_welcome(rpc_client_t *c, const msgpack_object *welcome);
void rpc_client_destroy(rpc_client_t *c);

/* Connects to host:port within timeout_s (blocking), then leaves the socket
 * non-blocking with TCP_NODELAY. Drops any earlier connection, its queued
 * output and undecoded input. EIO with the reason on failure. */
weft_err_t rpc_client_connect(rpc_client_t *c, const char *host, int port, double timeout_s);
void rpc_client_close(rpc_client_t *c);
/* Makes every later rpc_client_connect of c a TLS connection whose server
 * certificate must verify against the PEM certificates in ca_file and name
 * the host given to rpc_client_connect. The connect then also does the TLS
 * handshake within its timeout. A certificate that does not verify fails
 * the connect with EAUTH ("certificate verify failed: REASON"), a peer that
 * does not speak TLS with EPROTO; both set rpc_client_permanent. EIO naming
 * ca_file if it cannot be read or holds no certificate. The socket layer
 * writes with write(2): a program using TLS should ignore SIGPIPE. */
weft_err_t rpc_client_tls(rpc_client_t *c, const char *ca_file);
/* OpenSSL's reason for its last failure, the earliest queued (the root
 * cause), into buf[n]; `fallback` if it queued none. Empties its error
 * queue. Shared by the client and the gateway's TLS set-up. */
const char *rpc_tls_reason(char *buf, size_t n, const char *fallback);
/* WEFT_OK if PEM file path (a TLS `what`: "CA file", "certificate",
 * "private key") can be opened as a file; else EIO naming it and why: the
 * system's reason, or that it is a directory (which opens, and OpenSSL then
 * calls "no start line"). Shared by the client and the gateway. */
weft_err_t rpc_tls_file_check(const char *what, const char *path);
/* What rpc_tls_use_cert_key found wrong, if anything. */
typedef enum {
    RPC_TLS_PAIR_OK,
    RPC_TLS_PAIR_BAD_CERT,  /* OpenSSL cannot load the certificate (chain) */
    RPC_TLS_PAIR_BAD_KEY,   /* nor the private key */
    RPC_TLS_PAIR_OTHER_KEY, /* the key loads but is not the certificate's */
} rpc_tls_pair_t;
/* Loads PEM certificate (chain) cert and its private key key into ctx and
 * checks that they belong together (a key of another type loads into a
 * slot of its own, beside the certificate's). On failure OpenSSL's reason
 * stays queued for rpc_tls_reason; the caller names the file. Shared by
 * the gateway and the agents' data connections. */
rpc_tls_pair_t rpc_tls_use_cert_key(struct ssl_ctx_st *ctx, const char *cert, const char *key);
/* A certificate's end of validity (Unix seconds, as the status answer's
 * tls.not_after gives it) as "YYYY-MM-DD HH:MM:SS UTC" into buf[n]; "an
 * unreadable date" for 0. */
const char *rpc_tls_date(char *buf, size_t n, int64_t unix_s);
/* The end of validity of ctx's certificate, in Unix seconds (0 if it
 * cannot be read): what a reload says, shared by serve and the agent. */
int64_t rpc_tls_not_after(const struct ssl_ctx_st *ctx);
/* Its start of validity, the same way: peers refuse it before then. */
int64_t rpc_tls_not_before(const struct ssl_ctx_st *ctx);
/* Renewal is due when fewer days than this are left. */
#define RPC_TLS_RENEW_DAYS 30
/* Where a certificate stands against its dates of validity. */
typedef enum {
    RPC_TLS_IN_DATE, /* RPC_TLS_RENEW_DAYS or more left, or its dates unreadable (0) */
    RPC_TLS_DUE,     /* fewer left: renew it soon */
    RPC_TLS_EXPIRED, /* its end has passed: every peer refuses it */
    RPC_TLS_NOT_YET, /* its start is still to come: every peer refuses it until then */
} rpc_tls_expiry_t;
/* Where the certificate in file `path`, valid from not_before to not_after
 * (Unix seconds, rpc_tls_not_before and rpc_tls_not_after), stands at
 * `now`, and unless it is in date, what to tell its operator, into buf[n]:
 * "the WHAT PATH becomes valid on DATE: PEERS refuse it until then; use
 * one valid now (or check the clock) and send SIGHUP", "the WHAT PATH
 * expired on DATE: PEERS refuse it; renew it and send SIGHUP" or "the WHAT
 * PATH expires on DATE, in 2.0 days: renew it and send SIGHUP" (what: "TLS
 * certificate", "data certificate"; peers: who verifies it). buf is ""
 * when in date. Shared by serve and the agent, at start and on SIGHUP,
 * which refuses one expired or not valid yet. */
#define RPC_TLS_EXPIRY_LEN 1024 /* room for it with a path of 900 bytes; longer is cut */
rpc_tls_expiry_t rpc_tls_expiry(char *buf, size_t n, const char *what, const char *path,
                                const char *peers, int64_t not_before, int64_t not_after,
                                int64_t now);
/* Whether the last failed connect (or TLS read) failed in a way that
 * connecting again cannot cure (the certificate does not verify, the peer
 * does not speak TLS), or the connection's first bytes were no weft frame
 * (rpc_client_read, rpc_client_next: "the server at HOST:PORT does not
 * speak weft's protocol"): callers that retry should stop instead. */
static inline bool rpc_client_permanent(const rpc_client_t *c) { return c->permanent; }
static inline int rpc_client_fd(const rpc_client_t *c) { return c->fd; }
static inline bool rpc_client_want_write(const rpc_client_t *c)
{
    return c->out_off < c->out.size || c->tls_read_wants_write;
}
/* Whether TLS holds received bytes that poll cannot see (decrypted, read
 * ahead from the socket, or already decoded by a read that rpc_client_flush
 * had to finish): call rpc_client_read and rpc_client_next without waiting
 * for POLLIN. Always false on a plain connection. */
bool rpc_client_pending(const rpc_client_t *c);

/* Message builders: each appends one frame to the output queue. */
weft_err_t rpc_client_hello_agent(rpc_client_t *c, const char *token, uint32_t id,
                                  int data_port);
/* The same, saying the agent acknowledges what it reads on its data
 * connections, in data-ack version `acks` (RPC_DATA_ACKS; docs/protocol.md,
 * "Data connections"): the gateway tells the other agents, whose flows to
 * it then count a byte only once acknowledged. 0: as rpc_client_hello_agent,
 * for a service that does not ack (its senders count bytes as written). */
weft_err_t rpc_client_hello_agent_acks(rpc_client_t *c, const char *token, uint32_t id,
                                       int data_port, int acks);
/* The same, with data_tls: its data port takes TLS only (hello "data_tls",
 * relayed in `peers` as "tls"), so that senders do not try it in clear. */
weft_err_t rpc_client_hello_agent_data(rpc_client_t *c, const char *token, uint32_t id,
                                       int data_port, int acks, bool data_tls);
weft_err_t rpc_client_hello_client(rpc_client_t *c, const char *token);
/* Registers job j of wl (its coflows, flows, parents, compute times). */
weft_err_t rpc_client_register(rpc_client_t *c, int64_t seq, const coflow_workload_t *wl,
                               size_t j);
/* *bytes: the payload of the frame rpc_client_register(c, seq, wl, j) would
 * send, to check it against the gateway's cap; c's output is left as it was. */
weft_err_t rpc_client_register_bytes(rpc_client_t *c, int64_t seq, const coflow_workload_t *wl,
                                     size_t j, size_t *bytes);
/* Reports sent[i] bytes sent in total for flow fids[i], in as many
 * messages as the gateway's frame cap needs. */
weft_err_t rpc_client_progress(rpc_client_t *c, const uint64_t *fids, const double *sent,
                               size_t n);
weft_err_t rpc_client_done(rpc_client_t *c, int64_t seq, const uint64_t *fids, size_t n);
weft_err_t rpc_client_watch(rpc_client_t *c, const int64_t *jobs, size_t n);
/* Asks the gateway to cancel job `job` (acknowledged with seq). */
weft_err_t rpc_client_cancel(rpc_client_t *c, int64_t seq, int64_t job);
weft_err_t rpc_client_ping(rpc_client_t *c, int64_t seq);
/* Asks for the gateway's counters: answered with a "status" message
 * (docs/protocol.md) carrying seq (none when seq < 0). */
weft_err_t rpc_client_status(rpc_client_t *c, int64_t seq);
/* Asks where job `job` stands: answered with a "job_status" message
 * (docs/protocol.md) carrying seq, or an unknown-id error. */
weft_err_t rpc_client_job_status(rpc_client_t *c, int64_t seq, int64_t job);

/* Packs job j of wl as the protocol's job map (rpc/job.c): each number in
 * the smallest msgpack form that holds it exactly, the keys at their
 * defaults (weight 1, compute 0, no parents) left out. So it is never
 * longer than any registration of the same job the gateway accepted. */
void rpc_job_pack(msgpack_packer *pk, const coflow_workload_t *wl, size_t j);
/* Parses and validates a job map into tmp (uninitialised on entry; destroy
 * it after, also on error): one job on fab's ports, its DAG checked for
 * cycles and analysed on fab. Errors (EPROTO, EINVAL, ECYCLE, ENOTFOUND)
 * name the job, coflow and field. O(size of the job + dag_analyze). */
weft_err_t rpc_job_parse(const coflow_fabric_t *fab, const msgpack_object *job,
                         coflow_workload_t *tmp);
/* The largest port a flow of job map `job` names, -1 if none does (flows
 * that are no [src, dst, bytes] of two ports 0..UINT32_MAX are skipped). */
int64_t rpc_job_max_port(const msgpack_object *job);

/* Writes as much queued output as the socket takes now (and, on TLS, lets
 * a read that waited for the socket to take bytes go on). EIO if the
 * connection is broken. */
weft_err_t rpc_client_flush(rpc_client_t *c);
/* Reads what is available now into the decoder, as much as it has room
 * for (frames not yet taken with rpc_client_next hold up to 1 MiB; the
 * rest waits in the socket). EIO on a closed or broken connection, EPROTO
 * on a bad frame. */
weft_err_t rpc_client_read(rpc_client_t *c);
/* The next complete frame: 1 and *msg (a map, valid until the next call),
 * 0 if none is complete yet, or a negative error. */
int rpc_client_next(rpc_client_t *c, const msgpack_object **msg);
/* Blocking: flushes, then waits up to timeout_s for the next frame.
 * 1 and *msg, 0 on timeout, or a negative error. */
int rpc_client_wait(rpc_client_t *c, double timeout_s, const msgpack_object **msg);
/* The "type" of a message, or "" if it has none. */
const char *rpc_msg_type(const msgpack_object *msg, char *buf, size_t n);
/* The code and message of an "error" message, NUL-terminated (cut to fit;
 * "" where missing), the job it is about, if it names one, and its
 * machine-readable part (rpc_error_why_t). */
typedef struct {
    char code[32];
    char message[512];
    bool has_job;
    int64_t job;
    char why[32];   /* an RPC_WHY_* (or a case this build does not know); "" if none */
    bool has_range; /* lo..hi given (always with RPC_WHY_ID_RANGE) */
    int64_t lo, hi;
} rpc_error_msg_t;
/* Reads msg into *e. The why of an older gateway, which said these cases
 * in its message only, is recognised from that text ("hello: field 'id' is
 * N, expected LO..HI", "takes no agent on this gateway", "the secret of
 * port P changed"). Returns 0, or WEFT_EPROTO naming the field if "why",
 * "lo" or "hi" is malformed (not a string, not an integer, lo without hi,
 * lo > hi, id-range without a range): *e then holds the code and message
 * and no why. */
weft_err_t rpc_msg_error(const msgpack_object *msg, rpc_error_msg_t *e);
/* For an error the same messages would get again on any connection (codes
 * auth, version, protocol), the weft error it stands for (EAUTH, EVERSION,
 * EPROTO), with the detail naming the gateway (peer, "host:port"), the code
 * and the gateway's message; 0 for the others, which a reconnect may cure. */
weft_err_t rpc_msg_error_permanent(const rpc_error_msg_t *e, const char *peer);

/* A secret's file (--token-file and the like): its first line, without
 * the line end, into buf[n] (at most RPC_TOKEN_MAX). EIO naming the file if it cannot be read,
 * EINVAL if its first line is empty or does not fit buf. The agent and
 * weft submit read theirs again at each reconnection, so a secret rotated
 * on disk (and by SIGHUP in weft serve) is the one they present next. */
#define RPC_TOKEN_MAX 1024 /* bytes of a secret, its terminating zero included */
weft_err_t rpc_token_read(const char *path, char *buf, size_t n);
/* What a reconnecting peer presents: token[RPC_TOKEN_MAX] (the token read
 * before) becomes path's secret if it reads, and *changed says whether it
 * differs; otherwise token stays and the error says why. */
weft_err_t rpc_token_reread(const char *path, char *token, bool *changed);
/* WEFT_OK unless path, a file read again while running (what: "token
 * file", "model", ...), is a FIFO or a socket: its open would wait for a
 * writer, and a gateway or agent in it served no one, deaf to SIGTERM
 * (the token file given as `<(...)` is read once, at start). EINVAL naming
 * it. rpc_token_reread checks it. */
weft_err_t rpc_reread_will_not_wait(const char *what, const char *path);

/* --------------------------------------------------------------- submit */

typedef struct {
    const char *gateway_host;
    int gateway_port;
    const char *token;
    const char *token_file; /* where token came from, read again at each
                           reconnection (rpc_token_read); NULL: token is fixed */
    const char *tls_ca; /* connect with TLS, verifying the gateway against this
                           CA file (rpc_client_tls); NULL: plain TCP */
    double timeout_s;   /* give up after this long; 0: 600 s */
    FILE *out;          /* a line per job acknowledged and per job finished;
                           NULL: quiet */
    FILE *log;          /* a line per lost connection and retry; NULL: quiet */
    uint8_t *cancelled; /* [n_jobs], caller's: 1 for each job that ended
                           cancelled (its jct_s is then the time to the
                           cancel); NULL: not kept */
} rpc_submit_opts_t;

/* `weft submit`: registers every job of wl with the gateway at its
 * arrival_s counted from the call, and waits until all have finished;
 * jct_s[j] (caller-allocated, [n_jobs]) receives job j's JCT measured here,
 * from its arrival time to the job_done message (NAN for a job the gateway
 * had finished and forgotten: "forgotten", --keep-finished). Reconnects with back-off
 * when the connection is lost (see submit.c). EINVAL with the gateway's
 * message if it refuses a job, EAUTH / EVERSION / EPROTO at once if it
 * refuses the connection (rpc_msg_error_permanent), its TLS certificate
 * does not verify or the address answers with bytes that are no weft frame
 * (rpc_client_permanent), EIO on timeout. The JCT of a job registered
 * before the call (a duplicate on its first try) is the gateway's instead,
 * from its acceptance of that registration (job_done's "jct"). */
weft_err_t rpc_submit_run(const rpc_submit_opts_t *o, const coflow_workload_t *wl,
                          double *jct_s);

/* ---------------------------------------------------------------- agent */

/* `weft agent`: one port's sender and receiver. */
typedef struct {
    const char *gateway_host;   /* the gateway's address */
    int gateway_port;
    const char *token;
    const char *token_file;     /* where token came from, read again at each
                                   reconnection (rpc_token_read); NULL: fixed */
    const char *tls_ca;         /* TLS to the gateway, verified against this CA
                                   file (rpc_client_tls); NULL: plain TCP */
    const char *data_cert;      /* with data_key (PEM): the data connections,
                                   both ways, are TLS only, mutual, each end's
                                   certificate verified against tls_ca (which
                                   must then be set); NULL: plain TCP */
    const char *data_key;
    uint32_t id;                /* the port it speaks for */
    const char *data_host;      /* address to bind the data listener; NULL: the
                                   local address of the route to the gateway
                                   (what the gateway sees, so what peers are
                                   told), 127.0.0.1 if it does not resolve */
    int data_port;              /* 0: a free port */
    double report_s;            /* progress report period; 0: 10 ms */
    double data_timeout_s;      /* seconds a data connection waits on a peer
                                   whose machine acknowledges nothing (bytes
                                   written, a window held shut, keepalive
                                   probes when idle) before it is closed and
                                   opened again: TCP_USER_TIMEOUT; 0: 30 s */
    FILE *log;                  /* connection events; NULL: quiet */
    FILE *notice;               /* without log: each outage of the gateway
                                   connection, once as it starts and once as
                                   it ends, what a reload did, and at start
                                   a data certificate expired, due for
                                   renewal or not valid yet
                                   (rpc_tls_expiry); NULL: quiet */
    volatile sig_atomic_t *stop; /* set non-zero (e.g. by a signal) to return */
    volatile sig_atomic_t *reload; /* set non-zero (SIGHUP) to read data_cert,
                                      data_key and tls_ca again for the data
                                      connections opened after (a certificate
                                      expired or not valid yet is refused);
                                      the agent clears it. NULL: never */
} rpc_agent_opts_t;

/* Runs the agent until *stop: connects to the gateway (again with back-off
 * from 50 ms to 2 s whenever the connection is lost), re-reports what its
 * flows sent, accepts peers' data connections, drains and acknowledges
 * them, and sends every flow it is told about over a TCP connection to the
 * destination agent, paced by a token bucket to the assigned rate, counting
 * a byte sent once that agent acknowledged it (docs/protocol.md, "Data
 * connections"; once written, to an agent that does not). Returns 0, or an
 * error that is not a lost connection (data listener, memory, an error
 * from the gateway that reconnecting cannot cure: rpc_msg_error_permanent,
 * said as --id N with the gateway's ports for an id past them; or a TLS
 * failure that cannot either, or a peer that is no gateway:
 * rpc_client_permanent). */
weft_err_t rpc_agent_run(const rpc_agent_opts_t *opts);

#endif
