/*
 * client.c - the gateway client library (client.h). One non-blocking
 * socket, an output queue of frames, and the shared frame decoder.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"

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
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    rpc_decoder_destroy(&c->dec);
    rpc_decoder_init(&c->dec, NULL);
    c->out.size = 0;
    c->out_off = 0;
}

void rpc_client_destroy(rpc_client_t *c)
{
    rpc_client_close(c);
    rpc_decoder_destroy(&c->dec);
    rpc_frame_destroy(&c->fr);
    msgpack_sbuffer_destroy(&c->out);
}

weft_err_t rpc_client_connect(rpc_client_t *c, const char *host, int port, double timeout_s)
{
    rpc_client_close(c);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai)
        return weft_fail(WEFT_EIO, "%s:%d: %s", host, port, gai_strerror(gai));
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
        return weft_fail(WEFT_EIO, "cannot connect to %s:%d: %s", host, port, strerror(e));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
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

void rpc_msg_error(const msgpack_object *msg, rpc_error_msg_t *e)
{
    const char *s;
    size_t n;
    e->code[0] = e->message[0] = 0;
    if (rpc_get_str(msg, "code", &s, &n) == WEFT_OK)
        snprintf(e->code, sizeof e->code, "%.*s", (int)n, s);
    if (rpc_get_str(msg, "message", &s, &n) == WEFT_OK)
        snprintf(e->message, sizeof e->message, "%.*s", (int)n, s);
}

weft_err_t rpc_msg_error_permanent(const rpc_error_msg_t *e, const char *host, int port)
{
    weft_err_t err = !strcmp(e->code, "auth")       ? WEFT_EAUTH
                     : !strcmp(e->code, "version")  ? WEFT_EVERSION
                     : !strcmp(e->code, "protocol") ? WEFT_EPROTO
                                                    : WEFT_OK;
    if (!err)
        return WEFT_OK;
    return weft_fail(err, "gateway %s:%d refused this connection (error %s): %s; not retrying, "
                     "the same request would be refused again", host, port, e->code,
                     e->message);
}

/* ------------------------------------------------------------ builders */

#define BEGIN(c)                                                        \
    size_t mark_;                                                       \
    weft_err_t err_ = rpc_frame_begin(&(c)->out, &mark_);               \
    if (err_)                                                           \
        return err_;                                                    \
    msgpack_packer *pk = &(c)->pk
#define END(c) rpc_frame_end(&(c)->out, mark_, 0)

weft_err_t rpc_client_hello_agent(rpc_client_t *c, const char *token, uint32_t id,
                                  int data_port)
{
    BEGIN(c);
    msgpack_pack_map(pk, 6);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "hello");
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, token);
    rpc_pack_cstr(pk, "role"), rpc_pack_cstr(pk, "agent");
    rpc_pack_cstr(pk, "id"), msgpack_pack_uint32(pk, id);
    rpc_pack_cstr(pk, "port"), msgpack_pack_int(pk, data_port);
    return END(c);
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

weft_err_t rpc_client_register(rpc_client_t *c, int64_t seq, const coflow_workload_t *wl,
                               size_t j)
{
    BEGIN(c);
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "register");
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "job");
    rpc_job_pack(pk, wl, j);
    weft_err_t err = END(c);
    return err ? weft_wrap(err, "job %lld: ", (long long)wl->jobs[j].id) : err;
}

weft_err_t rpc_client_progress(rpc_client_t *c, const uint64_t *fids, const double *sent,
                               size_t n)
{
    BEGIN(c);
    msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "progress");
    rpc_pack_cstr(pk, "flows"), msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_uint64(pk, fids[i]);
        msgpack_pack_double(pk, sent[i]);
    }
    return END(c);
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

weft_err_t rpc_client_cancel(rpc_client_t *c, int64_t seq, int64_t job)
{
    BEGIN(c);
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "cancel");
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "job"), msgpack_pack_int64(pk, job);
    return END(c);
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

weft_err_t rpc_client_flush(rpc_client_t *c)
{
    if (c->fd < 0)
        return weft_fail(WEFT_EIO, "not connected");
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

weft_err_t rpc_client_read(rpc_client_t *c)
{
    if (c->fd < 0)
        return weft_fail(WEFT_EIO, "not connected");
    unsigned char buf[65536];
    for (;;) {
        /* Take from the socket only what the decoder has room for: bytes
         * received and not fed would be lost, and the stream after them
         * misread. A decoder full of complete frames waits for the caller
         * to drain them (rpc_client_next); the rest stays in the socket. */
        size_t room = c->dec.max_frame + RPC_HEADER_BYTES - (c->dec.len - c->dec.start);
        size_t want = room < sizeof buf ? room : sizeof buf;
        if (want == 0)
            return WEFT_OK;
        ssize_t n = recv(c->fd, buf, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return WEFT_OK;
        if (n < 0)
            return weft_fail(WEFT_EIO, "receive from the gateway: %s", strerror(errno));
        if (n == 0)
            return weft_fail(WEFT_EIO, "the gateway closed the connection");
        for (size_t off = 0; off < (size_t)n;) {
            size_t taken;
            weft_err_t err = rpc_decoder_feed(&c->dec, buf + off, (size_t)n - off, &taken);
            if (err)
                return err;
            if (taken == 0) /* buffer full of complete frames: the caller drains */
                return weft_fail(WEFT_EPROTO, "more than %zu bytes of frames unread",
                                 c->dec.max_frame);
            off += taken;
        }
        if ((size_t)n < want)
            return WEFT_OK;
    }
}

int rpc_client_next(rpc_client_t *c, const msgpack_object **msg)
{
    int r = rpc_decoder_next(&c->dec, &c->fr);
    if (r == 1)
        *msg = &c->fr.msg.data;
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
        int pr = poll(&p, 1, (int)ceil(left * 1000));
        if (pr < 0 && errno != EINTR)
            return weft_fail(WEFT_EIO, "poll: %s", strerror(errno));
        if (pr > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            if ((err = rpc_client_read(c))) {
                /* frames that came before a close are still delivered */
                int r2 = rpc_client_next(c, msg);
                return r2 == 1 ? 1 : err;
            }
    }
}
