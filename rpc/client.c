/*
 * client.c - the gateway client library (client.h). One non-blocking
 * socket, an output queue of frames, and the shared frame decoder; with
 * rpc_client_tls, an OpenSSL session over that socket, driven the same
 * non-blocking way (WANT_READ / WANT_WRITE wait for the socket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"

const char *rpc_tls_reason(char *buf, size_t n, const char *fallback)
{
    unsigned long e = ERR_get_error(); /* the earliest queued: the root cause */
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r)
        snprintf(buf, n, "%s", r);
    else if (e)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "%s", fallback);
    ERR_clear_error();
    return buf;
}

weft_err_t rpc_reread_will_not_wait(const char *what, const char *path)
{
    const char *kind = weft_waits_for_peer(path);
    if (kind)
        return weft_fail(WEFT_EINVAL, "%s %s is %s, not a file: not read again while running "
                         "(its read would wait for a writer, serving nothing meanwhile); put a "
                         "regular file there", what, path, kind);
    return WEFT_OK;
}

weft_err_t rpc_tls_file_check(const char *what, const char *path)
{
    /* read twice (here, then by OpenSSL), and again at a reload or a
       reconnection: a FIFO held the process in open() for a writer */
    const char *kind = weft_waits_for_peer(path);
    if (kind)
        return weft_fail(WEFT_EIO, "TLS %s %s: is %s, expected a PEM file", what, path, kind);
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_fail(WEFT_EIO, "TLS %s %s: %s", what, path, strerror(errno));
    struct stat sb;
    bool got = fstat(fileno(f), &sb) == 0;
    fclose(f);
    /* a CA directory such as /etc/ssl/certs: its bundle is a file in it */
    if (got && S_ISDIR(sb.st_mode))
        return weft_fail(WEFT_EIO, "TLS %s %s: is a directory, expected a PEM file", what,
                         path);
    if (got && S_ISREG(sb.st_mode) && !sb.st_size) /* OpenSSL: "no start line", "unsupported" */
        return weft_fail(WEFT_EIO, "TLS %s %s is empty, expected a PEM file", what, path);
    return WEFT_OK;
}

rpc_tls_pair_t rpc_tls_use_cert_key(struct ssl_ctx_st *ctx, const char *cert, const char *key)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return RPC_TLS_PAIR_BAD_CERT;
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        /* a key of the certificate's type but another pair fails as it loads */
        return ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH
                   ? RPC_TLS_PAIR_OTHER_KEY
                   : RPC_TLS_PAIR_BAD_KEY;
    return SSL_CTX_check_private_key(ctx) == 1 ? RPC_TLS_PAIR_OK : RPC_TLS_PAIR_OTHER_KEY;
}

const char *rpc_tls_date(char *buf, size_t n, int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!unix_s || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, n, "an unreadable date");
    return buf;
}

/* One of ctx's certificate's dates (X509_get0_notBefore, _notAfter) in Unix
 * seconds; 0 if there is none or it cannot be read. */
static int64_t tls_cert_time(const struct ssl_ctx_st *ctx, bool end)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    struct tm tm;
    if (!x || ASN1_TIME_to_tm(end ? X509_get0_notAfter(x) : X509_get0_notBefore(x), &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

int64_t rpc_tls_not_after(const struct ssl_ctx_st *ctx) { return tls_cert_time(ctx, true); }

int64_t rpc_tls_not_before(const struct ssl_ctx_st *ctx) { return tls_cert_time(ctx, false); }

rpc_tls_expiry_t rpc_tls_expiry(char *buf, size_t n, const char *what, const char *path,
                                const char *peers, int64_t not_before, int64_t not_after,
                                int64_t now)
{
    char date[40];
    buf[0] = 0;
    if (not_before > now) { /* OpenSSL's verify takes it from not_before itself on */
        snprintf(buf, n, "the %s %s becomes valid on %s: %s refuse it until then; use one "
                 "valid now (or check the clock) and send SIGHUP", what, path,
                 rpc_tls_date(date, sizeof date, not_before), peers);
        return RPC_TLS_NOT_YET;
    }
    double days = difftime((time_t)not_after, (time_t)now) / 86400;
    if (!not_after || days >= RPC_TLS_RENEW_DAYS)
        return RPC_TLS_IN_DATE;
    rpc_tls_date(date, sizeof date, not_after);
    if (not_after <= now) { /* OpenSSL's verify refuses it from not_after itself on */
        snprintf(buf, n, "the %s %s expired on %s: %s refuse it; renew it and send SIGHUP",
                 what, path, date, peers);
        return RPC_TLS_EXPIRED;
    }
    snprintf(buf, n, "the %s %s expires on %s, in %.1f days: renew it and send SIGHUP", what,
             path, date, days);
    return RPC_TLS_DUE;
}

void rpc_client_init(rpc_client_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    rpc_decoder_init(&c->dec, NULL);
    rpc_frame_init(&c->fr);
    msgpack_sbuffer_init(&c->out);
    msgpack_packer_init(&c->pk, &c->out, msgpack_sbuffer_write);
}

void rpc_client_close(rpc_client_t *c)
{
    if (c->tls) {
        SSL_shutdown(c->tls); /* best effort: one close_notify, not waited for */
        SSL_free(c->tls);
        c->tls = NULL;
        ERR_clear_error();
    }
    c->tls_read_wants_write = c->tls_frames_read = false;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    rpc_decoder_destroy(&c->dec);
    rpc_decoder_init(&c->dec, NULL);
    c->out.size = 0;
    c->out_off = 0;
    c->max_frame = 0; /* the next gateway's welcome says */
}

void rpc_client_welcome(rpc_client_t *c, const msgpack_object *welcome)
{
    int64_t cap = 0; /* a malformed cap: the default, as from an older gateway */
    if (rpc_get_int_opt(welcome, "max_frame", 1, UINT32_MAX, &cap) == WEFT_OK && cap > 0) {
        c->max_frame = (size_t)cap;
        /* the gateway's answers are up to its cap too (a job_status of a
           large job): read them, where the default cap refused them */
        rpc_decoder_raise_cap(&c->dec, (size_t)cap);
    }
}

void rpc_client_destroy(rpc_client_t *c)
{
    rpc_client_close(c);
    SSL_CTX_free(c->tls_ctx);
    c->tls_ctx = NULL;
    rpc_decoder_destroy(&c->dec);
    rpc_frame_destroy(&c->fr);
    msgpack_sbuffer_destroy(&c->out);
}

/* What an operator does about verify result v of a gateway's certificate,
 * after OpenSSL's words, which say what failed but not what to change. */
static const char *verify_hint(long v)
{
    switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return " (the CA in --tls-ca did not sign the gateway's certificate: give --tls-ca "
               "the CA that did)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return " (the gateway's certificate does not name this --gateway host: use a host "
               "it names, or give weft serve a certificate naming this one)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return " (renew the gateway's certificate and send weft serve a SIGHUP)";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return " (check this machine's clock, or give weft serve a certificate valid now)";
    default:
        return "";
    }
}

weft_err_t rpc_client_tls(rpc_client_t *c, const char *ca_file)
{
    weft_err_t err = rpc_tls_file_check("CA file", ca_file);
    if (err)
        return err;
    ERR_clear_error();
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return weft_fail(WEFT_ENOMEM, "TLS: %s", rpc_tls_reason(why, sizeof why, "SSL_CTX_new"));
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        SSL_CTX_free(ctx);
        return weft_fail(WEFT_EIO, "TLS CA file %s: %s", ca_file,
                         rpc_tls_reason(why, sizeof why, "no certificate in it"));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* the gateway closes connections without close_notify: that is an end
       of stream, not an attack on a stream whose framing says where it ends */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* partial writes, retried from where out.data is then (it may grow) */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_free(c->tls_ctx);
    c->tls_ctx = ctx;
    return WEFT_OK;
}

void rpc_sockaddr_text(const struct sockaddr *sa, char *buf, size_t n)
{
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)n);
}

weft_err_t rpc_bound_port(int fd, const char *what, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    /* unchecked, a failure left ss unset and its garbage taken for the port */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return weft_fail(WEFT_EIO, "%s: cannot read the port it is bound to: %s", what,
                         strerror(errno));
    /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): getsockname set ss */
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return WEFT_OK;
}

const char *rpc_host_port(char *buf, size_t n, const char *host, int port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, n, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return buf;
}

bool rpc_client_pending(const rpc_client_t *c)
{
    return c->tls && (c->tls_frames_read || SSL_has_pending(c->tls));
}

/* The TLS handshake on the connected socket c->fd, before end (weft_mono_s),
 * checking the certificate names host; errors name c->peer. */
static weft_err_t tls_handshake(rpc_client_t *c, const char *host, double end)
{
    char why[256];
    ERR_clear_error();
    SSL *s = SSL_new(c->tls_ctx);
    if (!s || !SSL_set_fd(s, c->fd)) {
        SSL_free(s);
        return weft_fail(WEFT_ENOMEM, "TLS: %s", rpc_tls_reason(why, sizeof why, "SSL_new"));
    }
    c->tls = s;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host)
                   : SSL_set1_host(s, host) && SSL_set_tlsext_host_name(s, host);
    if (!ok)
        return weft_fail(WEFT_EINVAL, "TLS: cannot check the gateway's name %s: %s", host,
                         rpc_tls_reason(why, sizeof why, "rejected"));
    for (;;) {
        int r = SSL_connect(s);
        if (r == 1)
            return WEFT_OK;
        int e = SSL_get_error(s, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            double left = end - weft_mono_s();
            struct pollfd p = {c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
            int pr = left > 0 ? poll(&p, 1, (int)ceil(left * 1000)) : 0;
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                return weft_fail(WEFT_EIO, "TLS handshake with gateway %s: %s", c->peer,
                                 pr == 0 ? "timed out" : strerror(errno));
            continue;
        }
        long v = SSL_get_verify_result(s);
        if (v != X509_V_OK) {
            c->permanent = true;
            ERR_clear_error();
            return weft_fail(WEFT_EAUTH, "gateway %s: TLS certificate verify failed: %s%s; "
                             "not retrying", c->peer, X509_verify_cert_error_string(v),
                             verify_hint(v));
        }
        if (e == SSL_ERROR_SSL) {
            /* the peer answered, but not with TLS we accept: e.g. a plain
               gateway, or TLS older than 1.2 */
            c->permanent = true;
            return weft_fail(WEFT_EPROTO, "TLS handshake with gateway %s failed: %s (is it "
                             "serving TLS? weft serve --tls-cert); not retrying", c->peer,
                             rpc_tls_reason(why, sizeof why, "protocol error"));
        }
        int en = errno;
        ERR_clear_error();
        return weft_fail(WEFT_EIO, "TLS handshake with gateway %s: %s", c->peer,
                         e == SSL_ERROR_SYSCALL && en ? strerror(en)
                                                      : "the gateway closed the connection");
    }
}

weft_err_t rpc_client_connect(rpc_client_t *c, const char *host, int port, double timeout_s)
{
    rpc_client_close(c);
    double end = weft_mono_s() + timeout_s;
    c->permanent = false;
    c->bytes_in = 0;
    rpc_host_port(c->peer, sizeof c->peer, host, port);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai)
        return weft_fail(WEFT_EIO, "%s: %s", c->peer, gai_strerror(gai));
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int r = poll(&p, 1, (int)(timeout_s * 1000));
            socklen_t len = sizeof e;
            if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
                break;
            if (r == 0)
                e = ETIMEDOUT;
        } else {
            e = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return weft_fail(WEFT_EIO, "cannot connect to %s: %s", c->peer, strerror(e));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    if (c->tls_ctx) {
        weft_err_t err = tls_handshake(c, host, end);
        if (err) {
            bool permanent = c->permanent;
            rpc_client_close(c);
            c->permanent = permanent;
            return err;
        }
    }
    return WEFT_OK;
}

const char *rpc_msg_type(const msgpack_object *msg, char *buf, size_t n)
{
    const char *t;
    size_t nt;
    buf[0] = 0;
    if (rpc_get_str(msg, "type", &t, &nt) == WEFT_OK)
        snprintf(buf, n, "%.*s", (int)nt, t);
    return buf;
}

/* The why an older gateway's message says in words, into e (none if it
 * says none of them). Kept so that an agent still understands a gateway
 * from before the "why" field. */
static void why_from_text(rpc_error_msg_t *e)
{
    long long got, lo, hi;
    char tail;
    const char *why = NULL;
    if (!strcmp(e->code, "protocol") &&
        sscanf(e->message, "hello: field 'id' is %lld, expected %lld..%lld%c", &got, &lo, &hi,
               &tail) == 3 && lo <= hi) {
        why = RPC_WHY_ID_RANGE;
        e->has_range = true, e->lo = lo, e->hi = hi;
    } else if (!strcmp(e->code, "auth") && strstr(e->message, "takes no agent")) {
        why = RPC_WHY_PORT_NO_AGENT;
    } else if (!strcmp(e->code, "auth") && strstr(e->message, "secret of port") &&
               strstr(e->message, "changed")) {
        why = RPC_WHY_SECRET_ROTATED;
    }
    if (why)
        snprintf(e->why, sizeof e->why, "%s", why);
}

/* The machine-readable part of an error frame into e: 0, or EPROTO naming
 * the field at fault. */
static weft_err_t read_why(const msgpack_object *msg, rpc_error_msg_t *e)
{
    const char *s;
    size_t n;
    weft_err_t err = rpc_get_str(msg, "why", &s, &n);
    if (err)
        return err;
    weft_shown(s, n, SIZE_MAX, e->why, sizeof e->why);
    bool has_lo = rpc_map_get(msg, "lo"), has_hi = rpc_map_get(msg, "hi");
    if (has_lo != has_hi)
        return weft_fail(WEFT_EPROTO, "field '%s' comes without field '%s'",
                         has_lo ? "lo" : "hi", has_lo ? "hi" : "lo");
    if (has_lo && ((err = rpc_get_int(msg, "lo", INT64_MIN, INT64_MAX, &e->lo)) ||
                   (err = rpc_get_int(msg, "hi", e->lo, INT64_MAX, &e->hi))))
        return err;
    e->has_range = has_lo;
    if (!strcmp(e->why, RPC_WHY_ID_RANGE) && !has_lo)
        return weft_fail(WEFT_EPROTO, "why '%s' comes without fields 'lo' and 'hi'", e->why);
    return WEFT_OK;
}

weft_err_t rpc_msg_error(const msgpack_object *msg, rpc_error_msg_t *e)
{
    const char *s;
    size_t n;
    e->code[0] = e->message[0] = e->why[0] = 0;
    e->has_range = false;
    e->lo = e->hi = 0;
    /* printed as the gateway gave them: controls escaped (a hostile or
       broken one's C0 or C1 could drive the terminal) */
    if (rpc_get_str(msg, "code", &s, &n) == WEFT_OK)
        weft_shown(s, n, SIZE_MAX, e->code, sizeof e->code);
    if (rpc_get_str(msg, "message", &s, &n) == WEFT_OK)
        weft_shown(s, n, SIZE_MAX, e->message, sizeof e->message);
    const msgpack_object *job = rpc_map_get(msg, "job");
    e->has_job = job && rpc_obj_int(job, &e->job);
    if (!rpc_map_get(msg, "why")) {
        if (rpc_map_get(msg, "lo") || rpc_map_get(msg, "hi"))
            return weft_fail(WEFT_EPROTO, "error frame: fields 'lo' and 'hi' come without "
                             "field 'why'");
        why_from_text(e);
        return WEFT_OK;
    }
    weft_err_t err = read_why(msg, e);
    if (!err)
        return WEFT_OK;
    e->why[0] = 0;
    e->has_range = false;
    return weft_fail(err, "error frame: %s", weft_last_error());
}

weft_err_t rpc_msg_error_permanent(const rpc_error_msg_t *e, const char *peer)
{
    weft_err_t err = !strcmp(e->code, "auth")       ? WEFT_EAUTH
                     : !strcmp(e->code, "version")  ? WEFT_EVERSION
                     : !strcmp(e->code, "protocol") ? WEFT_EPROTO
                                                    : WEFT_OK;
    if (!err)
        return WEFT_OK;
    return weft_fail(err, "gateway %s refused this connection (error %s): %s; not retrying, "
                     "the same request would be refused again", peer, e->code, e->message);
}

weft_err_t rpc_token_read(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_fail(WEFT_EIO, "token file %s: %s", path, strerror(errno));
    char line[RPC_TOKEN_MAX + 2];
    errno = 0;
    bool got = fgets(line, sizeof line, f) != NULL;
    int e = errno; /* EISDIR: a directory opens for reading */
    bool failed = ferror(f);
    fclose(f);
    if (failed)
        return weft_fail(WEFT_EIO, "token file %s: read error: %s", path, strerror(e ? e : EIO));
    size_t len = got ? strcspn(line, "\r\n") : 0; /* past n - 1 if the line is longer */
    if (!len)
        return weft_fail(WEFT_EINVAL, "token file %s is empty", path);
    line[len] = 0;
    if (rpc_token_blank(line))
        return weft_fail(WEFT_EINVAL, "token file %s: its first line is blank (spaces or tabs "
                         "only), which is no secret", path);
    /* a TLS file given for the token file (--token-file gw.key) made the
       secret its armour line, the same in every PEM file */
    if (!strncmp(line, "-----BEGIN ", 11))
        return weft_fail(WEFT_EINVAL, "token file %s holds a PEM file (its first line is "
                         "\"%.60s\"), which is no secret: give the file that holds the "
                         "secret, not a certificate or key", path, line);
    if (len >= n)
        return weft_fail(WEFT_EINVAL, "token file %s: its first line is longer than %zu bytes",
                         path, n - 1);
    memcpy(buf, line, len);
    buf[len] = 0;
    return WEFT_OK;
}

weft_err_t rpc_token_reread(const char *path, char *token, bool *changed)
{
    char fresh[RPC_TOKEN_MAX];
    *changed = false;
    weft_err_t err = rpc_reread_will_not_wait("token file", path);
    if (!err)
        err = rpc_token_read(path, fresh, sizeof fresh);
    if (!err && strcmp(fresh, token)) {
        memcpy(token, fresh, strlen(fresh) + 1);
        *changed = true;
    }
    return err;
}

/* ------------------------------------------------------------ builders */

#define BEGIN(c)                                                        \
    size_t mark_;                                                       \
    weft_err_t err_ = rpc_frame_begin(&(c)->out, &mark_);               \
    if (err_)                                                           \
        return err_;                                                    \
    msgpack_packer *pk = &(c)->pk
#define END(c) rpc_frame_end(&(c)->out, mark_, (c)->max_frame)

weft_err_t rpc_client_hello_agent_data(rpc_client_t *c, const char *token, uint32_t id,
                                       int data_port, int acks, bool data_tls)
{
    BEGIN(c);
    msgpack_pack_map(pk, 6 + (acks > 0) + data_tls);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "hello");
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, token);
    rpc_pack_cstr(pk, "role"), rpc_pack_cstr(pk, "agent");
    rpc_pack_cstr(pk, "id"), msgpack_pack_uint32(pk, id);
    rpc_pack_cstr(pk, "port"), msgpack_pack_int(pk, data_port);
    if (acks > 0)
        rpc_pack_cstr(pk, "acks"), msgpack_pack_int(pk, acks);
    if (data_tls)
        rpc_pack_cstr(pk, "data_tls"), msgpack_pack_int(pk, 1);
    return END(c);
}

weft_err_t rpc_client_hello_agent_acks(rpc_client_t *c, const char *token, uint32_t id,
                                       int data_port, int acks)
{
    return rpc_client_hello_agent_data(c, token, id, data_port, acks, false);
}

weft_err_t rpc_client_hello_agent(rpc_client_t *c, const char *token, uint32_t id,
                                  int data_port)
{
    return rpc_client_hello_agent_acks(c, token, id, data_port, 0);
}

weft_err_t rpc_client_hello_client(rpc_client_t *c, const char *token)
{
    BEGIN(c);
    msgpack_pack_map(pk, 4);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "hello");
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, token);
    rpc_pack_cstr(pk, "role"), rpc_pack_cstr(pk, "client");
    return END(c);
}

/* Packs the register message of job j after the frame header at mark in
 * c's output; returns its payload's bytes. */
static size_t pack_register(rpc_client_t *c, size_t mark, int64_t seq,
                            const coflow_workload_t *wl, size_t j)
{
    msgpack_packer *pk = &c->pk;
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "register");
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "job");
    rpc_job_pack(pk, wl, j);
    return c->out.size - mark - RPC_HEADER_BYTES;
}

weft_err_t rpc_client_register_bytes(rpc_client_t *c, int64_t seq, const coflow_workload_t *wl,
                                     size_t j, size_t *bytes)
{
    size_t mark;
    weft_err_t err = rpc_frame_begin(&c->out, &mark);
    if (err)
        return err;
    *bytes = pack_register(c, mark, seq, wl, j);
    c->out.size = mark;
    return WEFT_OK;
}

weft_err_t rpc_client_register(rpc_client_t *c, int64_t seq, const coflow_workload_t *wl,
                               size_t j)
{
    BEGIN(c);
    (void)pk;
    size_t payload = pack_register(c, mark_, seq, wl, j);
    size_t cap = c->max_frame ? c->max_frame : RPC_MAX_FRAME_DEFAULT;
    weft_err_t err = END(c);
    if (err && payload > cap)
        return weft_fail(WEFT_EINVAL, "job %lld: its registration is %zu bytes (%zu flows), "
                         "more than the gateway's %zu-byte frame cap: start weft serve "
                         "with --max-frame %zu or more", (long long)wl->jobs[j].id, payload,
                         coflow_job_flows(wl, j, &(size_t){0}), cap, payload);
    return err ? weft_wrap(err, "job %lld: ", (long long)wl->jobs[j].id) : err;
}

/* Bytes msgpack packs unsigned v in. */
static size_t uint_packed_size(uint64_t v)
{
    return v < 128 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

/* A progress message's bytes besides its entries: the map, its two keys,
 * "progress" and the array's header at its largest. */
#define PROGRESS_HEAD_BYTES 32

weft_err_t rpc_client_progress(rpc_client_t *c, const uint64_t *fids, const double *sent,
                               size_t n)
{
    /* As many messages as the gateway's frame cap needs: an entry takes
       10 to 19 bytes, so a batch that fits with small flow ids may not
       with large ones (progress carries totals, so a split loses nothing) */
    size_t cap = c->max_frame ? c->max_frame : RPC_MAX_FRAME_DEFAULT;
    for (size_t from = 0;;) {
        size_t upto = from, bytes = PROGRESS_HEAD_BYTES;
        while (upto < n && (upto == from || bytes + 10 + uint_packed_size(fids[upto]) <= cap))
            bytes += 10 + uint_packed_size(fids[upto++]); /* one at least: END judges it */
        BEGIN(c);
        msgpack_pack_map(pk, 2);
        rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "progress");
        rpc_pack_cstr(pk, "flows"), msgpack_pack_array(pk, (uint32_t)(upto - from));
        for (size_t i = from; i < upto; i++) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_uint64(pk, fids[i]);
            msgpack_pack_double(pk, sent[i]);
        }
        weft_err_t err = END(c);
        if (err || upto == n)
            return err;
        from = upto;
    }
}

weft_err_t rpc_client_done(rpc_client_t *c, int64_t seq, const uint64_t *fids, size_t n)
{
    BEGIN(c);
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "done");
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "flows"), msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_uint64(pk, fids[i]);
    return END(c);
}

weft_err_t rpc_client_watch(rpc_client_t *c, const int64_t *jobs, size_t n)
{
    BEGIN(c);
    msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "watch");
    rpc_pack_cstr(pk, "jobs"), msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int64(pk, jobs[i]);
    return END(c);
}

/* {"type": type, "seq": seq, "job": job} */
static weft_err_t job_request(rpc_client_t *c, const char *type, int64_t seq, int64_t job)
{
    BEGIN(c);
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, type);
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "job"), msgpack_pack_int64(pk, job);
    return END(c);
}

weft_err_t rpc_client_cancel(rpc_client_t *c, int64_t seq, int64_t job)
{
    return job_request(c, "cancel", seq, job);
}

weft_err_t rpc_client_job_status(rpc_client_t *c, int64_t seq, int64_t job)
{
    return job_request(c, "job_status", seq, job);
}

weft_err_t rpc_client_ping(rpc_client_t *c, int64_t seq)
{
    return rpc_pack_simple(&c->out, "ping", seq);
}

weft_err_t rpc_client_status(rpc_client_t *c, int64_t seq)
{
    return rpc_pack_simple(&c->out, "status", seq);
}

/* ----------------------------------------------------------------- I/O */

/* The failure of SSL_read / SSL_write returning r as a weft error; 0 if it
 * only has to wait for the socket (*wait: which way). */
static weft_err_t tls_io_error(rpc_client_t *c, int r, const char *what, int *wait)
{
    int e = SSL_get_error(c->tls, r);
    char why[256];
    *wait = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (*wait)
        return WEFT_OK;
    if (e == SSL_ERROR_ZERO_RETURN)
        return weft_fail(WEFT_EIO, "the gateway closed the connection");
    if (e == SSL_ERROR_SYSCALL) {
        int en = errno;
        ERR_clear_error();
        return weft_fail(WEFT_EIO, "%s the gateway: %s", what,
                         en ? strerror(en) : "the connection ended");
    }
    return weft_fail(WEFT_EIO, "%s the gateway: TLS: %s", what,
                     rpc_tls_reason(why, sizeof why, "error"));
}

static weft_err_t tls_flush(rpc_client_t *c)
{
    if (c->tls_read_wants_write) { /* a read waited for the socket to take bytes */
        c->tls_read_wants_write = false;
        weft_err_t err = rpc_client_read(c);
        if (err)
            return err;
        c->tls_frames_read = true; /* the caller's next pass takes them */
    }
    while (c->out_off < c->out.size) {
        size_t n = c->out.size - c->out_off;
        ERR_clear_error();
        int w = SSL_write(c->tls, c->out.data + c->out_off, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) {
            int wait;
            weft_err_t err = tls_io_error(c, w, "send to", &wait);
            if (err)
                return err;
            break; /* POLLIN (a key update) or POLLOUT: the caller polls both */
        }
        c->out_off += (size_t)w;
    }
    if (c->out_off == c->out.size)
        c->out.size = c->out_off = 0;
    return WEFT_OK;
}

weft_err_t rpc_client_flush(rpc_client_t *c)
{
    if (c->fd < 0)
        return weft_fail(WEFT_EIO, "not connected");
    if (c->tls)
        return tls_flush(c);
    while (c->out_off < c->out.size) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.size - c->out_off,
                         MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w < 0)
            return weft_fail(WEFT_EIO, "send to the gateway: %s", strerror(errno));
        c->out_off += (size_t)w;
    }
    if (c->out_off == c->out.size)
        c->out.size = c->out_off = 0;
    return WEFT_OK;
}

/* err, met in the first frame of a connection: said with the bytes that
 * came (those in c's decoder, and on a plain connection what else is there
 * to read now, up to SHOWN_BYTES), as the address is likely another
 * service's (an HTTP server, the gateway's --metrics port, ssh, nc), whose
 * answer read as a frame length was only "frame of 1213486160 bytes
 * exceeds the 1048576-byte cap". Such a peer will not become a gateway by
 * asking again: c is marked permanent (rpc_client_permanent), so that
 * weft agent and weft submit stop rather than retry it for ever. */
#define SHOWN_BYTES 24
static weft_err_t not_a_gateway(rpc_client_t *c, weft_err_t err)
{
    char why[256], shown[4 * SHOWN_BYTES + 1] = "";
    snprintf(why, sizeof why, "%s", weft_last_error());
    unsigned char bytes[SHOWN_BYTES];
    size_t nb = 0;
    for (size_t i = c->dec.start; i < c->dec.len && nb < SHOWN_BYTES; i++)
        bytes[nb++] = c->dec.buf[i];
    if (!c->tls && c->fd >= 0 && nb < SHOWN_BYTES) { /* the connection is done with */
        ssize_t more = recv(c->fd, bytes + nb, SHOWN_BYTES - nb, MSG_DONTWAIT);
        nb += more > 0 ? (size_t)more : 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        unsigned char b = bytes[i];
        if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\')
            shown[k++] = (char)b;
        else if (b == '\r' || b == '\n' || b == '\t')
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\%c",
                                  b == '\r' ? 'r' : b == '\n' ? 'n' : 't');
        else
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", b);
    }
    shown[k] = 0;
    c->permanent = true;
    weft_fail(err, "the server at %s does not speak weft's protocol (is it a weft serve "
              "--listen address?): its first bytes read \"%s\" (%s)", c->peer, shown, why);
    /* the decoder (poisoned) replays this, not its own detail, to every caller */
    c->dec.err = err;
    snprintf(c->dec.errmsg, sizeof c->dec.errmsg, "%s", weft_last_error());
    return err;
}

/* Whether the bytes of c's first frame received so far, fewer than its
 * 4-byte length, already make a length over the cap: "hi" from nc, say,
 * which would wait for a third and fourth byte that may never come. */
static bool first_length_too_long(const rpc_client_t *c)
{
    size_t have = c->dec.len - c->dec.start;
    if (c->dec.scanned || c->dec.err || have == 0 || have >= RPC_HEADER_BYTES)
        return false;
    uint64_t least = 0;
    for (size_t i = 0; i < RPC_HEADER_BYTES; i++)
        least = least << 8 | (i < have ? c->dec.buf[c->dec.start + i] : 0);
    return least > c->dec.max_frame;
}

weft_err_t rpc_client_read(rpc_client_t *c)
{
    if (c->fd < 0)
        return weft_fail(WEFT_EIO, "not connected");
    c->tls_frames_read = false;
    unsigned char buf[65536];
    for (;;) {
        /* Take from the socket only what the decoder has room for: bytes
         * received and not fed would be lost, and the stream after them
         * misread. A decoder full of complete frames waits for the caller
         * to drain them (rpc_client_next); the rest stays in the socket. */
        size_t room = c->dec.max_frame + RPC_HEADER_BYTES - (c->dec.len - c->dec.start);
        if (c->dec.frames == 0) {
            /* not a byte past the connection's first frame before it is
               yielded: a welcome there raises the cap the frames after it
               are checked against */
            size_t first = rpc_decoder_first_frame_missing(&c->dec);
            room = first < room ? first : room;
        }
        size_t want = room < sizeof buf ? room : sizeof buf;
        if (want == 0)
            return WEFT_OK;
        ssize_t n;
        if (c->tls) {
            /* TLS: read until it would block. It hands over at most a
               record per call, and what it has buffered poll does not see
               (rpc_client_pending). */
            ERR_clear_error();
            int r = SSL_read(c->tls, buf, (int)want);
            if (r <= 0) {
                int wait;
                weft_err_t err = tls_io_error(c, r, "receive from", &wait);
                if (err)
                    return err;
                c->tls_read_wants_write = wait == POLLOUT;
                return WEFT_OK;
            }
            n = r;
        } else {
            n = recv(c->fd, buf, want, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return WEFT_OK;
            /* A TLS gateway closes a plain connection without a word */
            if (n <= 0 && c->bytes_in == 0)
                return weft_fail(WEFT_EIO, "the gateway at %s closed the connection before "
                                 "answering (%s; if it serves TLS, give --tls-ca)", c->peer,
                                 n < 0 ? strerror(errno) : "end of stream");
            if (n < 0)
                return weft_fail(WEFT_EIO, "receive from the gateway: %s", strerror(errno));
            if (n == 0 && c->dec.scanned == 0 && !c->permanent)
                /* a gateway writes its first frame whole, then maybe closes */
                return not_a_gateway(c, weft_fail(WEFT_EPROTO, "it closed the connection "
                                                  "after %llu bytes, short of a whole frame",
                                                  (unsigned long long)c->bytes_in));
            if (n == 0)
                return weft_fail(WEFT_EIO, "the gateway closed the connection");
        }
        c->bytes_in += (uint64_t)n;
        for (size_t off = 0; off < (size_t)n;) {
            size_t taken;
            weft_err_t err = rpc_decoder_feed(&c->dec, buf + off, (size_t)n - off, &taken);
            if (err == WEFT_EPROTO && c->dec.frames == 0 && !c->permanent)
                return not_a_gateway(c, err);
            if (err)
                return err;
            if (taken == 0) /* buffer full of complete frames: the caller drains */
                return weft_fail(WEFT_EPROTO, "more than %zu bytes of frames unread",
                                 c->dec.max_frame);
            off += taken;
        }
        if (first_length_too_long(c))
            return not_a_gateway(c, weft_fail(WEFT_EPROTO, "frame #1: a length beginning "
                                              "with these bytes exceeds the %zu-byte cap",
                                              c->dec.max_frame));
        if ((size_t)n < want && !c->tls)
            return WEFT_OK;
    }
}

int rpc_client_next(rpc_client_t *c, const msgpack_object **msg)
{
    int r = rpc_decoder_next(&c->dec, &c->fr);
    if (r == WEFT_EPROTO && c->dec.frames == 0 && !c->permanent) /* e.g. not msgpack */
        return not_a_gateway(c, (weft_err_t)r);
    if (r == 1) {
        *msg = &c->fr.msg.data;
        const char *type;
        size_t n;
        /* a connection's first frame: the welcome's cap holds for what follows */
        if (c->dec.frames == 1 && rpc_get_str(*msg, "type", &type, &n) == WEFT_OK &&
            n == 7 && !memcmp(type, "welcome", 7))
            rpc_client_welcome(c, *msg);
    }
    return r;
}

int rpc_client_wait(rpc_client_t *c, double timeout_s, const msgpack_object **msg)
{
    double end = weft_mono_s() + timeout_s;
    for (;;) {
        int r = rpc_client_next(c, msg);
        if (r != 0)
            return r;
        weft_err_t err = rpc_client_flush(c);
        if (err)
            return err;
        double left = end - weft_mono_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {c->fd, (short)(POLLIN | (rpc_client_want_write(c) ? POLLOUT : 0)), 0};
        bool pending = rpc_client_pending(c);
        int pr = poll(&p, 1, pending ? 0 : (int)ceil(left * 1000));
        if (pr < 0 && errno != EINTR)
            return weft_fail(WEFT_EIO, "poll: %s", strerror(errno));
        if (pending || (pr > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))))
            if ((err = rpc_client_read(c))) {
                /* frames that came before a close are still delivered */
                int r2 = rpc_client_next(c, msg);
                return r2 == 1 ? 1 : err;
            }
    }
}
