/*
 * data_tls.c - TLS on the agents' data connections (data_tls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "data_tls.h"

/* The subject of the last certificate refused (set by verify_cb): said in
 * the refusal, so the operator knows whose it was. One thread per agent,
 * and read right after the failing call. */
static _Thread_local char refused_subject[160];
/* Its DNS and IP names, when it was refused for not naming the receiver's
 * address: the operator sees whose address it was made for. */
static _Thread_local char refused_names[256];

static bool name_mismatch(long v)
{
    return v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH;
}

/* cert's subjectAltName entries of DNS and IP names, "DNS:a, IP:10.0.0.7",
 * in buf[n]; bytes a log should not hold shown as '?'. */
static void cert_names(X509 *cert, char *buf, size_t n)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < sk_GENERAL_NAME_num(sans) && used + 1 < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        char one[300] = "";
        if (g->type == GEN_DNS) {
            const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
            int len = ASN1_STRING_length(g->d.dNSName);
            int k = snprintf(one, sizeof one, "DNS:");
            for (int j = 0; j < len && k + 1 < (int)sizeof one; j++)
                one[k++] = d[j] > 0x20 && d[j] < 0x7f ? (char)d[j] : '?';
            one[k] = '\0';
        } else if (g->type == GEN_IPADD) {
            int len = ASN1_STRING_length(g->d.iPAddress);
            char ip[INET6_ADDRSTRLEN] = "?";
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress),
                          ip, sizeof ip);
            snprintf(one, sizeof one, "IP:%s", ip);
        } else {
            continue;
        }
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", one);
        used = w < 0 ? n : used + (size_t)w;
    }
    GENERAL_NAMES_free(sans);
    if (!buf[0])
        snprintf(buf, n, "no DNS or IP name");
}

static int verify_cb(int ok, X509_STORE_CTX *store)
{
    if (!ok && X509_STORE_CTX_get_error_depth(store) == 0) {
        X509 *cert = X509_STORE_CTX_get_current_cert(store);
        if (cert) {
            X509_NAME_oneline(X509_get_subject_name(cert), refused_subject,
                              sizeof refused_subject);
            if (name_mismatch(X509_STORE_CTX_get_error(store)))
                cert_names(cert, refused_names, sizeof refused_names);
        }
    }
    return ok;
}

weft_err_t rpc_data_tls_ctx(struct ssl_ctx_st **out, const char *cert, const char *key,
                            const char *ca)
{
    char why[256];
    weft_err_t err;
    if ((err = rpc_tls_file_check("data certificate", cert)) ||
        (err = rpc_tls_file_check("data key", key)) || (err = rpc_tls_file_check("CA file", ca)))
        return err;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        return weft_fail(WEFT_ENOMEM, "TLS: %s", rpc_tls_reason(why, sizeof why, "SSL_CTX_new"));
    /* a failure to set the version is said of the certificate, the first file */
    rpc_tls_pair_t pair = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
                              ? rpc_tls_use_cert_key(ctx, cert, key)
                              : RPC_TLS_PAIR_BAD_CERT;
    if (pair != RPC_TLS_PAIR_OK || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        SSL_CTX_free(ctx);
        rpc_tls_reason(why, sizeof why, "cannot load it");
        if (pair == RPC_TLS_PAIR_OTHER_KEY)
            return weft_fail(WEFT_EIO, "TLS data connections: key %s is not the key of "
                             "certificate %s (%s)", key, cert, why);
        return weft_fail(WEFT_EIO, "TLS data connections: %s: %s",
                         pair == RPC_TLS_PAIR_BAD_CERT  ? cert
                         : pair == RPC_TLS_PAIR_BAD_KEY ? key
                                                        : ca,
                         why);
    }
    /* mutual: a sender without a certificate of the CA is refused too */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* a record's header and body in one read, and more records with them:
       a read call per 16 kB record had two; what it reads ahead is
       decrypted by the reads that follow, which go on until WANT_READ */
    SSL_CTX_set_read_ahead(ctx, 1);
    *out = ctx;
    return WEFT_OK;
}

void rpc_data_tls_ctx_free(struct ssl_ctx_st *ctx) { SSL_CTX_free(ctx); }

struct ssl_st *rpc_data_tls_new(struct ssl_ctx_st *ctx, int fd, bool accepting)
{
    SSL *s = SSL_new(ctx);
    BIO *in = BIO_new_socket(fd, BIO_NOCLOSE), *out = BIO_new(BIO_s_mem());
    if (!s || !in || !out) {
        SSL_free(s);
        BIO_free(in);
        BIO_free(out);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(s, in, out); /* s owns both */
    if (accepting)
        SSL_set_accept_state(s);
    else
        SSL_set_connect_state(s);
    return s;
}

/* host as a certificate names it: an IPv4 agent as a dual-stack gateway
 * sees it (::ffff:a.b.c.d) is checked as a.b.c.d (in v4), the IP its
 * certificate names. *is_ip: whether it is an IP address. */
static const char *checked_host(const char *host, char v4[INET_ADDRSTRLEN], bool *is_ip)
{
    unsigned char ip[16];
    if (inet_pton(AF_INET6, host, ip) == 1 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)ip) &&
        inet_ntop(AF_INET, ip + 12, v4, INET_ADDRSTRLEN))
        host = v4;
    *is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    return host;
}

bool rpc_data_tls_expect(struct ssl_st *s, const char *host, char *why, size_t n)
{
    /* an empty name would turn the check off (SSL_set1_host) */
    if (!*host) {
        snprintf(why, n, "the gateway relayed no address for it to check its certificate "
                 "against");
        return false;
    }
    char v4[INET_ADDRSTRLEN];
    bool is_ip;
    host = checked_host(host, v4, &is_ip);
    ERR_clear_error();
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host)
              : SSL_set1_host(s, host) && SSL_set_tlsext_host_name(s, host))
        return true;
    char reason[200];
    snprintf(why, n, "TLS: cannot check its certificate against %s: %s", host,
             rpc_tls_reason(reason, sizeof reason, "rejected"));
    return false;
}

bool rpc_data_tls_peer_named(struct ssl_st *s, const char *host, char *why, size_t n)
{
    X509 *cert = SSL_get0_peer_certificate(s);
    if (!cert) { /* not after a handshake that verified one */
        snprintf(why, n, "it presented no certificate");
        return false;
    }
    char v4[INET_ADDRSTRLEN], subject[160], names[256];
    bool is_ip;
    const char *h = checked_host(host, v4, &is_ip);
    /* the sender's rule (rpc_data_tls_expect): an IP among the IP names,
       a host name among the DNS ones; an empty one matches nothing */
    if (*h && (is_ip ? X509_check_ip_asc(cert, h, 0) : X509_check_host(cert, h, 0, 0, NULL)) == 1)
        return true;
    ERR_clear_error();
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    cert_names(cert, names, sizeof names);
    snprintf(why, n, "its certificate (%s) names %s, not %s", subject, names, h);
    return false;
}

bool rpc_data_tls_name_refused(struct ssl_st *s)
{
    return s && name_mismatch(SSL_get_verify_result(s));
}

void rpc_data_tls_free(struct ssl_st *s) { SSL_free(s); }

bool rpc_data_tls_unsent(struct ssl_st *s) { return s && BIO_ctrl_pending(SSL_get_wbio(s)) > 0; }

int rpc_data_tls_flush(struct ssl_st *s, int fd)
{
    BIO *out = SSL_get_wbio(s);
    char *data;
    long len;
    while ((len = BIO_get_mem_data(out, &data)) > 0) {
        ssize_t w = send(fd, data, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (w == len) { /* all out: emptied without copying it */
            (void)BIO_reset(out);
            break;
        }
        char sink[16384]; /* consumed: a mem BIO is read from its front */
        for (ssize_t done = 0; done < w;) {
            int r = BIO_read(out, sink, (int)(w - done < (ssize_t)sizeof sink ? w - done
                                                                        : (ssize_t)sizeof sink));
            if (r <= 0)
                break;
            done += r;
        }
    }
    return 1;
}

/* The failure of an SSL call that returned r as send(2)/recv(2) would: -1
 * with errno (EAGAIN: wait), or 0 for the end of the stream. */
static ssize_t tls_failure(SSL *s, int r, char *why, size_t n)
{
    int e = SSL_get_error(s, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_SYSCALL) {
        int en = errno;
        ERR_clear_error();
        errno = en ? en : ECONNRESET;
        return en ? -1 : 0;
    }
    char reason[200];
    rpc_tls_reason(reason, sizeof reason, "protocol error");
    long v = SSL_get_verify_result(s);
    if (name_mismatch(v)) { /* a sender's check of the receiver's address */
        X509_VERIFY_PARAM *param = SSL_get0_param(s);
        char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);
        const char *name = X509_VERIFY_PARAM_get0_host(param, 0);
        snprintf(why, n, "TLS: its certificate (%s) names %s, not %s", refused_subject,
                 refused_names, ip ? ip : name ? name : "?");
        OPENSSL_free(ip);
    } else if (v != X509_V_OK) /* this end refused the other's certificate */
        snprintf(why, n, "TLS: its certificate (%s) was refused: %s", refused_subject,
                 X509_verify_cert_error_string(v));
    else
        snprintf(why, n, "TLS: %s", reason);
    errno = EPROTO;
    return -1;
}

ssize_t rpc_data_tls_send(struct ssl_st *s, int fd, const void *buf, size_t len, char *why,
                          size_t n)
{
    int f = rpc_data_tls_flush(s, fd);
    if (f <= 0) {
        if (f == 0)
            errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    *refused_subject = *refused_names = '\0';
    int w = SSL_write(s, buf, len > 1 << 30 ? 1 << 30 : (int)len);
    if (w <= 0) {
        ssize_t r = tls_failure(s, w, why, n);
        if (r == 0) { /* an end while writing: as send(2) says it */
            errno = EPIPE;
            r = -1;
        }
        if (errno == EAGAIN && rpc_data_tls_flush(s, fd) < 0) /* handshake bytes */
            return -1;
        return r;
    }
    if (rpc_data_tls_flush(s, fd) < 0)
        return -1;
    return w;
}

ssize_t rpc_data_tls_recv(struct ssl_st *s, int fd, void *buf, size_t len, char *why,
                          size_t n)
{
    ERR_clear_error();
    *refused_subject = *refused_names = '\0';
    int r = SSL_read(s, buf, len > 1 << 30 ? 1 << 30 : (int)len);
    /* what the read made it write (the handshake, an alert, a ticket) */
    int f = rpc_data_tls_flush(s, fd), flush_errno = errno;
    if (r > 0)
        return r;
    ssize_t res = tls_failure(s, r, why, n);
    if (res < 0 && errno == EAGAIN && f < 0) {
        errno = flush_errno;
        return -1;
    }
    return res;
}
