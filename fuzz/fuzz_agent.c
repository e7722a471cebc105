/*
 * fuzz_agent.c - libFuzzer target for what `weft agent` does with the
 * gateway's messages (rpc/agent.c's gw_handle): welcome, peers, schedule
 * (new flows, rates and classes, drops), ack and error, with fields that
 * may hold anything, as a buggy gateway or a man in the middle of a plain
 * connection could send. rpc/agent.c is included whole, so its handlers
 * run on an agent without a network: no listener, and each peer's data
 * connection is a socketpair the harness drains (made before every pacing
 * pass, so the pacing loop never connects anywhere, whatever peers the
 * input names); its reports go to a socketpair nobody reads.
 *
 * Input: one step after another: byte 0 of a step picks a pacing pass
 * (1 in 4), a receiver's answer (1 in 8, below) or a message; for a
 * message, the next byte picks its type and the bytes after it fill its
 * fields (ports, epochs, flow ids among a few,
 * ports, sizes, byte counts and rates that may be negative, NaN, infinite
 * or huge, classes, drop lists, ack sequences, error codes, messages in an
 * older gateway's words, whys and ranges of any number), or build a
 * map of any msgpack values under a known type; or a pacing pass (the
 * agent's token buckets and sends, dt from the input) and a report.
 * Checks after every message: the flow table's index finds every flow;
 * every flow's destination is a peer the agent has; its size, byte count
 * and rate are finite and >= 0 (what the pacing loop computes with); an
 * error has a detail; after a pacing pass, no flow has sent more than its
 * size rounded up, nor does a flow it paced hold more tokens than a burst. Sanitizers catch
 * the rest (and leaks at the end).
 *
 * The data connections' acknowledgments (peers' "acks"): a step may also
 * be what a receiver writes back on a peer's connection (its hello, a
 * count within or beyond what was written, a count going back, any bytes,
 * cut anywhere) or its end, read by the agent's peer_read. Checked after
 * every step: 0 <= acked <= sent for every flow; a connection that acks
 * holds in its segments exactly its bytes written and not acknowledged,
 * no fewer than its flows' sent - acked; to a peer without one, every
 * flow's sent equals its acked (nothing is in flight unseen).
 */
/* NOLINTNEXTLINE(bugprone-suspicious-include): its static functions */
#include "rpc/agent.c"

#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_rpc.h"

static double odd_number(fuzz_input_t *in)
{
    static const double d[] = {0, 1, 1500, 1e6, -1, NAN, INFINITY, -INFINITY, 1e300, 4e9};
    unsigned b = fuzz_next(in);
    return b < 10 ? d[b] : (double)b * 1000;
}

static void pack_num(msgpack_packer *pk, fuzz_input_t *in)
{
    unsigned b = fuzz_next(in);
    if (b % 4 == 0)
        msgpack_pack_int64(pk, -(int64_t)fuzz_next(in));
    else if (b % 4 == 1)
        msgpack_pack_double(pk, odd_number(in));
    else
        msgpack_pack_uint64(pk, fuzz_next(in) % 8);
}

/* An entry of n numbers, or (1 in 8) something else. */
static void pack_entry(msgpack_packer *pk, fuzz_input_t *in, unsigned n)
{
    unsigned b = fuzz_next(in);
    if (b % 8 == 0) {
        msgpack_pack_nil(pk);
        return;
    }
    if (b % 8 == 1)
        n = fuzz_next(in) % 5;
    msgpack_pack_array(pk, n);
    for (unsigned i = 0; i < n; i++)
        pack_num(pk, in);
}

static void pack_kv_num(msgpack_packer *pk, const char *k, fuzz_input_t *in)
{
    rpc_pack_cstr(pk, k);
    pack_num(pk, in);
}

/* One message from the input into sb (unpacked by the caller). */
static void make_message(msgpack_sbuffer *sb, fuzz_input_t *in)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    unsigned kind = fuzz_next(in) % 6;
    switch (kind) {
    case 0: /* welcome */
        msgpack_pack_map(&pk, 3);
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "welcome");
        pack_kv_num(&pk, "ports", in);
        pack_kv_num(&pk, "epoch", in);
        break;
    case 1: { /* peers, with "acks" and "tls" (1 in 2 each), of n entries or another count */
        unsigned n = fuzz_next(in) % 4, acks = fuzz_next(in), tls = fuzz_next(in);
        msgpack_pack_map(&pk, 2 + acks % 2 + tls % 2);
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "peers");
        rpc_pack_cstr(&pk, "peers"), msgpack_pack_array(&pk, n);
        for (unsigned i = 0; i < n; i++) {
            msgpack_pack_array(&pk, 3);
            pack_num(&pk, in);
            rpc_pack_cstr(&pk, fuzz_next(in) % 2 ? "127.0.0.1" : "");
            pack_num(&pk, in);
        }
        if (acks % 2) {
            unsigned na = acks % 8 == 1 ? fuzz_next(in) % 5 : n;
            rpc_pack_cstr(&pk, "acks"), msgpack_pack_array(&pk, na);
            for (unsigned i = 0; i < na; i++)
                pack_num(&pk, in);
        }
        if (tls % 2) {
            unsigned nt = tls % 8 == 1 ? fuzz_next(in) % 5 : n;
            rpc_pack_cstr(&pk, "tls"), msgpack_pack_array(&pk, nt);
            for (unsigned i = 0; i < nt; i++)
                pack_num(&pk, in);
        }
        break;
    }
    case 2: { /* schedule */
        unsigned nn = fuzz_next(in) % 4, nf = fuzz_next(in) % 4, nd = fuzz_next(in) % 3;
        msgpack_pack_map(&pk, 3 + (nd > 0));
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "schedule");
        rpc_pack_cstr(&pk, "new"), msgpack_pack_array(&pk, nn);
        for (unsigned i = 0; i < nn; i++)
            pack_entry(&pk, in, 4); /* fid, dst, bytes, sent */
        rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, nf);
        for (unsigned i = 0; i < nf; i++)
            pack_entry(&pk, in, 3); /* fid, rate, class */
        if (nd > 0) {
            rpc_pack_cstr(&pk, "drop"), msgpack_pack_array(&pk, nd);
            for (unsigned i = 0; i < nd; i++)
                pack_num(&pk, in);
        }
        break;
    }
    case 3: /* ack */
        msgpack_pack_map(&pk, 2);
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "ack");
        pack_kv_num(&pk, "seq", in);
        break;
    case 4: { /* error: a message in an older gateway's words or not; a why (none, a
                 string, or a number), with lo and hi of any number or without */
        static const char *const codes[] = {"protocol", "replaced", "auth", "busy", "timeout"};
        static const char *const says[] = {"fuzz", "hello: field 'id' is 0, expected 0..3",
                                           "port 0 takes no agent any more",
                                           "the secret of port 0 changed"};
        static const char *const whys[] = {RPC_WHY_ID_RANGE, RPC_WHY_PORT_NO_AGENT,
                                           RPC_WHY_SECRET_ROTATED, "later"};
        unsigned w = fuzz_next(in) % 4;
        msgpack_pack_map(&pk, 3 + (w > 0) + 2 * (w > 1));
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "error");
        rpc_pack_cstr(&pk, "code"), rpc_pack_cstr(&pk, codes[fuzz_next(in) % 5]);
        rpc_pack_cstr(&pk, "message"), rpc_pack_cstr(&pk, says[fuzz_next(in) % 4]);
        if (w == 3)
            pack_kv_num(&pk, "why", in);
        else if (w > 0)
            rpc_pack_cstr(&pk, "why"), rpc_pack_cstr(&pk, whys[fuzz_next(in) % 4]);
        if (w > 1)
            pack_kv_num(&pk, "lo", in), pack_kv_num(&pk, "hi", in);
        break;
    }
    default: { /* a known type, its fields of any type */
        static const char *const types[] = {"welcome", "peers", "schedule", "ack"};
        static const char *const keys[] = {"ports", "epoch", "peers", "new", "flows", "drop",
                                           "seq"};
        unsigned n = fuzz_next(in) % 3;
        msgpack_pack_map(&pk, n + 1);
        rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, types[fuzz_next(in) % 4]);
        for (unsigned i = 0; i < n; i++) {
            rpc_pack_cstr(&pk, keys[fuzz_next(in) % 7]);
            unsigned b = fuzz_next(in) % 4;
            if (b == 0)
                msgpack_pack_nil(&pk);
            else if (b == 1)
                rpc_pack_cstr(&pk, "x");
            else if (b == 2)
                pack_num(&pk, in);
            else
                pack_entry(&pk, in, 2);
        }
        break;
    }
    }
}

static void check_agent(agent_t *a)
{
    for (size_t i = 0; i < a->n_flows; i++) {
        const aflow_t *f = &a->flows[i];
        if (find_flow(a, f->fid) != f)
            fuzz_die("the flow table does not find a flow it holds", NULL);
        if (f->dst >= a->n_peers)
            fuzz_die("a flow goes to a port the agent has no peer for", NULL);
        if (!(isfinite(f->bytes) && f->bytes >= 0 && isfinite(f->sent) && f->sent >= 0 &&
              isfinite(f->rate) && f->rate >= 0 && f->acked >= 0 && f->acked <= f->sent)) {
            char d[160];
            snprintf(d, sizeof d, "flow %llu: %g bytes, %g sent, %g acked, rate %g",
                     (unsigned long long)f->fid, f->bytes, f->sent, f->acked, f->rate);
            fuzz_die("a flow holds a size, count or rate the pacing cannot use", d);
        }
    }
    for (size_t k = 0; k < a->n_peers; k++) {
        const peer_t *p = &a->peers[k];
        bool acking = p->fd >= 0 && p->acking;
        double segs = 0, flying = 0;
        for (size_t j = p->seg_head; j < p->n_seg; j++)
            segs += (double)p->seg[j].bytes;
        for (size_t i = 0; i < a->n_flows; i++)
            if (a->flows[i].dst == k)
                flying += a->flows[i].sent - a->flows[i].acked;
        char d[160];
        snprintf(d, sizeof d, "peer %zu (%s): %llu written, %llu acked, %.17g in segments, "
                 "%.17g in its flows", k, acking ? "acking" : "not acking",
                 (unsigned long long)p->written, (unsigned long long)p->acked, segs, flying);
        if (acking && (p->acked > p->written || segs != (double)(p->written - p->acked) ||
                       flying > segs))
            fuzz_die("a connection's segments are not its bytes unacknowledged", d);
        if (!acking && (flying != 0 || p->seg_head != p->n_seg))
            fuzz_die("bytes in flight to a peer without an acknowledged connection", d);
    }
}

/* The harness's ends of the peers' data connections. */
static int peer_end[64];

/* Every peer without a data connection gets a socketpair (up to 64 peers;
 * a pass with more is not run). */
static bool connect_peers(agent_t *a)
{
    if (a->n_peers > 64)
        return false;
    for (size_t i = 0; i < a->n_peers; i++) {
        peer_t *p = &a->peers[i];
        if (p->fd >= 0 && !p->connecting)
            continue;
        if (p->fd >= 0)
            close(p->fd);
        if (peer_end[i] >= 0)
            close(peer_end[i]);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
            fuzz_die("socketpair", strerror(errno));
        peer_opened(a, p, sv[0]);
        p->connecting = false;
        peer_end[i] = sv[1];
    }
    return true;
}

/* Reads away what waits at the harness's ends. */
static void drain_peers(const agent_t *a)
{
    static unsigned char sink[65536];
    for (size_t i = 0; i < a->n_peers && i < 64; i++)
        while (peer_end[i] >= 0 && recv(peer_end[i], sink, sizeof sink, 0) > 0)
            ;
}

/* What a receiver writes back on a peer's connection, read by the agent:
 * its hello, a count (within what was written, past it, or back), bytes
 * from the input, or the end of the connection (the harness's end
 * closed). The peer is picked by the input among those connected. */
static void answer(agent_t *a, fuzz_input_t *in)
{
    size_t k = fuzz_next(in) % 64;
    if (k >= a->n_peers || a->peers[k].fd < 0 || peer_end[k] < 0)
        return;
    peer_t *p = &a->peers[k];
    unsigned char b[24];
    size_t n = 0;
    unsigned what = fuzz_next(in) % 6;
    if (what == 0 || what == 1) { /* the hello of its version, then (1) a count */
        memcpy(b, ACK_HELLO, 8), n = 8;
        b[HELLO_VERSION_AT] = (unsigned char)('0' + p->acking);
    }
    if (what >= 1 && what <= 3) { /* a count: within, past, or back */
        uint64_t span = p->written - p->acked, v = p->acked + span * fuzz_next(in) / 255;
        if (what == 2)
            v = p->written + 1 + fuzz_next(in);
        if (what == 3)
            v = p->acked - 1 - fuzz_next(in) % 4; /* wraps past 2^64 from 0: past, too */
        for (int j = 0; j < 8; j++)
            b[n++] = (unsigned char)(v >> (56 - 8 * j));
    }
    if (what == 4) /* any bytes, a few */
        for (unsigned m = fuzz_next(in) % 12; m--;)
            b[n++] = (unsigned char)fuzz_next(in);
    if (what == 5) {
        close(peer_end[k]);
        peer_end[k] = -1;
    } else if (n) {
        size_t cut = 1 + fuzz_next(in) % n; /* a count cut short is finished by
                                                what the next answer writes */
        if (write(peer_end[k], b, cut) < 0)
            return;
    }
    peer_read(a, p, 1 + fuzz_next(in));
}

/* A pacing pass of dt seconds and a report, checked. */
static void pace_and_report(agent_t *a, fuzz_input_t *in)
{
    static const double dts[] = {0, 1e-3, 0.02, 1, 1e9};
    if (!connect_peers(a))
        return;
    double now = 1 + fuzz_next(in);
    if (pace(a, dts[fuzz_next(in) % 5], now) != WEFT_OK)
        fuzz_die("pace failed", weft_last_error());
    drain_peers(a);
    for (size_t i = 0; i < a->n_flows; i++) {
        const aflow_t *f = &a->flows[i];
        /* a flow paced in this pass had its tokens capped at its burst
           before sending; one that was not keeps what it had (its rate may
           have fallen since), capped when it is next paced */
        bool paced = !f->done && f->rate > 0;
        if (f->sent > ceil(f->bytes) ||
            (paced && !(f->tokens <= fmax(f->rate * BURST_S, MIN_BURST))))
        {
            char d[200];
            snprintf(d, sizeof d, "flow %llu: %.17g bytes, %.17g sent, %.17g tokens, rate %.17g",
                     (unsigned long long)f->fid, f->bytes, f->sent, f->tokens, f->rate);
            fuzz_die("a flow sent more than its size, or holds more tokens than a burst", d);
        }
    }
    (void)report(a);
    (void)rpc_client_flush(&a->gw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rpc_agent_opts_t o = {.gateway_host = "127.0.0.1", .gateway_port = 1, .token = "t", .id = 0};
    agent_t a;
    memset(&a, 0, sizeof a);
    a.o = &o;
    a.lfd = -1;
    a.backoff = BACKOFF_MIN_S;
    rpc_client_init(&a.gw);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        fuzz_die("socketpair", strerror(errno));
    a.gw.fd = sv[0];
    fuzz_input_t in = {data, size};
    a.zeros = weft_calloc(WRITE_CHUNK, 1);
    for (size_t i = 0; i < 64; i++)
        peer_end[i] = -1;
    while (in.n && !a.refused) {
        unsigned step = fuzz_next(&in) % 8; /* pacing as before (% 4 == 0): the seeds */
        if (step % 4 == 0) {
            pace_and_report(&a, &in);
            check_agent(&a);
            continue;
        }
        if (step == 1) {
            answer(&a, &in);
            check_agent(&a);
            continue;
        }
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        make_message(&sb, &in);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) != MSGPACK_UNPACK_SUCCESS)
            fuzz_die("a packed message does not unpack", NULL);
        weft_err_t err = gw_handle(&a, &up.data);
        if (err && !*weft_last_error())
            fuzz_die("an error without a detail", weft_strerror(err));
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
        check_agent(&a);
        (void)rpc_client_flush(&a.gw); /* the reports; the buffer may fill */
    }
    close(sv[1]);
    for (size_t i = 0; i < a.n_peers; i++) {
        peer_close(&a, &a.peers[i], NULL, false);
        free(a.peers[i].seg);
    }
    for (size_t i = 0; i < 64; i++)
        if (peer_end[i] >= 0)
            close(peer_end[i]);
    free(a.zeros);
    rpc_client_destroy(&a.gw);
    free(a.flows);
    free(a.serve);
    free(a.slot);
    free(a.peers);
    return 0;
}
