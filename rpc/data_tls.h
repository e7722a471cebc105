/*
 * data_tls.h - TLS on `weft agent`'s data connections (rpc/agent.c).
 *
 * Mutual TLS (1.2 or later): each end presents its certificate and
 * verifies the other's against the CA file, so only agents holding a
 * certificate of the operator's CA send or receive shuffle bytes; a
 * sender also checks that the receiver's names the address the gateway
 * relayed for it (rpc_data_tls_expect), and a receiver that the sender's
 * names the address relayed for the agent it says it is
 * (rpc_data_tls_peer_named). A
 * connection's SSL reads the socket itself and writes into a memory
 * buffer that rpc_data_tls_flush drains to the socket: SSL_write then
 * takes every byte it is given at once, so a write that the socket does
 * not take is never retried with other arguments (which OpenSSL refuses),
 * and the pacing's accounting of bytes per flow stays exact. A caller
 * writes only when nothing is left in that buffer.
 */
#ifndef WEFT_RPC_DATA_TLS_H
#define WEFT_RPC_DATA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/weft.h"

struct ssl_ctx_st;
struct ssl_st;

/* The first byte of a TLS connection (a handshake record): what a
 * TLS-only data port expects, and what no plain sender writes first. */
#define RPC_DATA_TLS_FIRST_BYTE 0x16

/* A context for both ends of data connections: certificate cert and its
 * key (PEM), peers verified against ca. Fails naming the file and
 * OpenSSL's reason (a key that does not match the certificate too). */
weft_err_t rpc_data_tls_ctx(struct ssl_ctx_st **ctx, const char *cert, const char *key,
                            const char *ca);
void rpc_data_tls_ctx_free(struct ssl_ctx_st *ctx);

/* A TLS session on connected socket fd, as the connecting end (a sender)
 * or the accepting one; NULL when out of memory. */
struct ssl_st *rpc_data_tls_new(struct ssl_ctx_st *ctx, int fd, bool accepting);
/* Before a sender's handshake: the receiver's certificate must name host,
 * the address the gateway relayed for it, as a TLS client checks a
 * server's name (an IP address among its IP subjectAltNames, a host name
 * among its DNS ones), so that a certificate made for another agent's
 * address is refused. False, why in why[n], if host cannot be checked
 * (empty, or refused by OpenSSL): nothing is to be sent then. */
bool rpc_data_tls_expect(struct ssl_st *s, const char *host, char *why, size_t n);
/* After an accepting end's handshake: whether the sender's certificate
 * names host, the address the gateway relayed for the agent it says it
 * is, by rpc_data_tls_expect's rule (IP or DNS subjectAltName, an
 * IPv4-mapped host as IPv4). If not, why in why[n], naming the
 * certificate's subject and names and the address expected. */
bool rpc_data_tls_peer_named(struct ssl_st *s, const char *host, char *why, size_t n);
/* Whether s failed because the receiver's certificate did not name the
 * address expected (its why then names both). */
bool rpc_data_tls_name_refused(struct ssl_st *s);
void rpc_data_tls_free(struct ssl_st *s);

/* Like send(2) and recv(2) on fd through s: bytes taken / read, 0 at the
 * end of the stream (recv), or -1 with errno: EAGAIN to wait for the
 * socket (the handshake included), EPROTO for a TLS failure, its reason
 * (for a certificate refused: why, and whose) in why[n]. */
ssize_t rpc_data_tls_send(struct ssl_st *s, int fd, const void *buf, size_t len, char *why,
                          size_t n);
ssize_t rpc_data_tls_recv(struct ssl_st *s, int fd, void *buf, size_t len, char *why,
                          size_t n);
/* Writes what s has encrypted and the socket did not take yet: 1 when all
 * is out, 0 while the socket takes no more, -1 with errno. */
int rpc_data_tls_flush(struct ssl_st *s, int fd);
/* Whether encrypted bytes wait for the socket (poll it for POLLOUT);
 * false for a plain connection (s NULL). */
bool rpc_data_tls_unsent(struct ssl_st *s);

#endif
