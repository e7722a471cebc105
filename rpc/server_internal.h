/*
 * server_internal.h - private to rpc/server*.c, the gateway's source files:
 * the connection and gateway structs, and the few functions one of them
 * defines and another calls (named rpc_gw_*; gateway.h is the public API).
 *
 *   server.c         connections and the event loop, the handlers that
 *                    change state, journal records and replay, decisions,
 *                    construction
 *   server_status.c  the read-only views: status, job_status, /metrics,
 *                    /healthz, rpc_gateway_stats
 *   server_reload.c  what is read from files at start and on SIGHUP: the
 *                    model, the tokens and agents' secrets, TLS
 */
#ifndef RPC_SERVER_INTERNAL_H
#define RPC_SERVER_INTERNAL_H

#include <event2/event.h>
#include <msgpack.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "coflow/learned.h"
#include "rpc/gateway.h"

/* A connection's state, named by conn_state_name and changed only by
 * conn_set_state (server.c). */
typedef enum { CONN_HELLO, CONN_AGENT, CONN_CLIENT, CONN_CLOSING } conn_state_t;

typedef struct conn {
    rpc_gateway_t *gw;
    struct bufferevent *bev; /* NULL while a TLS gateway peeks (peek_cb) */
    evutil_socket_t fd;
    struct event *peek;      /* TLS: waits for the first byte */
    struct event *hello_timer, *resume, *close_timer, *frame_timer;
    rpc_decoder_t dec;
    rpc_frame_t fr;
    conn_state_t state;
    int64_t agent;     /* port id of an agent, -1 otherwise */
    int data_port;     /* an agent's data port */
    int data_acks;     /* the data-connection ack version it speaks as a
                          receiver (hello "acks"; 0: it does not ack) */
    bool data_tls;     /* its data port takes TLS only (hello "data_tls") */
    bool peers_all;    /* an agent not yet told every peer (the next push does) */
    char host[64];     /* peer address */
    uint64_t serial;
    uint64_t frame_mark; /* dec.frames when the frame deadline was armed */
    bool lingering;      /* its error frame flushed: draining, slot freed */
    struct conn *prev, *next;
} conn_t;

struct rpc_gateway {
    rpc_gateway_opts_t o;
    char *agent_token, *client_token; /* the secret of each role */
    char **port_secrets;  /* [n_ports] or NULL: each agent's own (opts) */
    bool split_roles; /* the two differ: agents may not touch jobs */
    struct event_base *base;
    struct evconnlistener *lis;
    SSL_CTX *tls;    /* NULL: plain TCP */
    int64_t tls_not_before, tls_not_after; /* its certificate's validity, Unix seconds */
    uint64_t tls_reloads;  /* rpc_gateway_reload_tls' that took */
    struct event *tick, *decide_ev, *sigint, *sigterm, *sighup, *accept_resume;
    rpc_sched_t sched;
    coflow_learned_model_t model; /* the learned ordering's, loaded at start
                                     and by rpc_gateway_reload_model */
    coflow_learned_hook_t hook;   /* hands it to every rebuild's ordering */
    char model_sha256[65];        /* of the file model was read from */
    uint64_t model_reloads;
    uint64_t port_secrets_reloads; /* rpc_gateway_reload_port_secrets' that took */
    uint64_t token_reloads;        /* rpc_gateway_reload_tokens' that changed a secret */
    struct evhttp *http;          /* --metrics, or NULL */
    struct evhttp_connection *http_conns[RPC_HTTP_MAX_CONNS]; /* those with a
                                     place (stats.http_open of them), or NULL */
    int metrics_port;
    rpc_histogram_t decision_s;   /* how long decide_cb's decisions took */
    double recent_s[RPC_STATUS_RECENT_DECISIONS]; /* the last ones, a ring */
    uint64_t n_recent;            /* decisions put in it so far */
    rpc_journal_t journal;
    uint64_t shed_at_rewrite;  /* sched.n_shed when the journal was last
                                  written whole */
    uint64_t rewrites_failed;  /* in a row, since the last that took (warned
                                  about at the first) */
    double journal_seen_at;    /* gw_now when the journal's path was last
                                  checked to name its file (check_journal_path) */
    bool journal_elsewhere;    /* the path names another file: warned once */
    bool journal_not_file;     /* the path names a FIFO, a device...: warned once */
    bool journal_unwritable;   /* the path names none, and a rewrite there
                                  failed: warned once */
    uint64_t epoch;  /* this job table's identity, in every welcome: kept in
                        the journal, new at every start without one, so a
                        peer can tell a gateway that lost what it told it */
    conn_t *conns;
    conn_t **agents; /* [n_ports] the connection of each agent, or NULL */
    msgpack_sbuffer out;
    double t0;       /* weft_mono_s() at the gateway clock's zero: this start,
                        or the journal's first start (rpc_gateway_load_journal) */
    double started;  /* weft_mono_s() at this start */
    int port;
    uint64_t serial;
    bool peers_dirty;
    weft_err_t fatal;
    rpc_gateway_stats_t stats;
};

static inline double gw_now(const rpc_gateway_t *gw) { return weft_mono_s() - gw->t0; }

static inline void pack_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    rpc_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

/* server.c: sending to a connection (each one's comment is there) */
void rpc_gw_conn_send(conn_t *c);
void rpc_gw_conn_fail(conn_t *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rpc_gw_conn_fail_why(conn_t *c, const char *code, const rpc_error_why_t *why,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void rpc_gw_conn_error_job(conn_t *c, const char *code, weft_err_t err, int64_t job);

/* server_status.c */
void rpc_gw_handle_status(conn_t *c, const msgpack_object *m);
void rpc_gw_handle_job_status(conn_t *c, const msgpack_object *m);
weft_err_t rpc_gw_metrics_setup(rpc_gateway_t *gw, const char *host, int port);

/* server_reload.c */
/* Refuses secrets of their own for agents and clients that are the same
 * (a file copied over the other): the roles would be one, an agent able to
 * register and cancel jobs. The error names the two files when given. */
weft_err_t rpc_gw_check_role_secrets(const char *agent, const char *client,
                                     const char *agent_file, const char *client_file);
weft_err_t rpc_gw_load_model_file(const char *path, coflow_learned_model_t *m, char sha[65],
                                  attn_model_file_t *mf);
weft_err_t rpc_gw_check_port_secrets(const char *const *secrets, size_t n_ports,
                                     const char *clients, const char *file);
weft_err_t rpc_gw_copy_port_secrets(const char *const *secrets, size_t n_ports, char ***out);
weft_err_t rpc_gw_tls_setup(rpc_gateway_t *gw);
void rpc_gw_sighup_cb(evutil_socket_t fd, short what, void *arg);

#endif /* RPC_SERVER_INTERNAL_H */
