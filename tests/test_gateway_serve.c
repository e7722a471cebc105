/*
 * test_gateway_serve.c - a real `weft serve` process on a loopback port
 * ($WEFT_BIN, started per test), seen from outside: the test speaks as a
 * client or plays an agent through the client library, and runs `weft
 * submit`, `weft agent`, `weft status` and `weft journal` against it.
 * Hostile input: garbage, an oversized length, a 5-byte map32 header
 * declaring 2^32 - 1 entries, a wrong token, messages before hello, a
 * slow-loris hello, unknown ids; each gets an error frame naming the
 * problem (and a close where the stream cannot continue), and afterwards
 * a well-behaved client is still served and the gateway's memory stays
 * bounded; `weft submit` and `weft agent` stop at once on a wrong token.
 * The journal across restarts (the epoch, no id given out twice,
 * compaction, a job registered as short as the protocol allows rewritten
 * and read back, a rewrite that fails, --keep-finished, JCTs). Journal
 * files at start: a corrupted length or a damaged record is refused and
 * the file left as it was, a torn tail is kept aside with a warning, a
 * journal of format 1 that cannot be rewritten is served as it is, one of
 * a newer format is refused as such, a record of a larger --max-frame
 * names the --max-frame that reads it, a FIFO is refused at once, and
 * `weft journal` checks one without changing it; through the journal's
 * API, the edges found by mutation testing (which tails are torn, the
 * header read to its newline, a bad epoch record, a format 1 journal
 * sealed from its first sealed record, a record sealed to exactly the
 * cap, what an append takes). The limits: connections, idle and frame timeouts.
 * TLS, with certificates made by the openssl command: agents, submit and
 * status over it, certificates that do not verify, SIGHUP renewals, CA
 * files read again, what serve and the agent say of a certificate that
 * has expired, soon will or is not valid yet (at start and on SIGHUP,
 * which refuses one expired or not valid yet). A weft serve ends with the
 * test process that started it, cleanup or not (tied_child.h). Helpers
 * shared with the other gateway tests: gateway_support.h.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc/client.h"
#include "rpc/gateway.h"
#include "tests/gateway_support.h"
#include "workload/workload.h"

/* -------------------------------------------------------- hostile input */

TestSuite(gateway_hostile, .init = server_default, .fini = stop_server, .timeout = 30);

static void send_raw(rpc_client_t *c, const void *bytes, size_t n)
{
    cr_assert_eq(send(c->fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The gateway closed the connection: reads end with EOF. */
static void expect_closed(rpc_client_t *c)
{
    const msgpack_object *m;
    int r = wait_msg(c, &m);
    cr_assert_lt(r, 0, "connection still open (r=%d)", r);
}

static long server_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server_pid);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

Test(gateway_hostile, garbage)
{
    rpc_client_t c;
    connect_to(&c);
    const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_raw(&c, http, sizeof http - 1);
    /* "GET " read as a length is 1195725856 bytes */
    expect_error(&c, "protocol", "frame of 1195725856 bytes exceeds the 1048576-byte cap");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

/* A peer the gateway closes on an error, and which goes on sending for a
 * moment (its next frames were on their way), must still be able to read
 * the error frame: the gateway ends its side (FIN) and drains what comes
 * for a moment instead of closing on unread input, which would reset the
 * connection, fail the peer's next send, and make `weft submit` or `weft
 * agent` retry rather than stop on the error. The peer sends an oversized
 * length, then 100 ms later 64 KiB more, then reads. */
Test(gateway_hostile, a_peer_still_sending_reads_its_error)
{
    for (int round = 0; round < 3; round++) {
        rpc_client_t c;
        connect_to(&c);
        const unsigned char h[] = {0x7f, 0xff, 0xff, 0xff, 0x81};
        send_raw(&c, h, sizeof h);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        static unsigned char more[64 * 1024];
        ssize_t w = send(c.fd, more, sizeof more, MSG_NOSIGNAL | MSG_DONTWAIT);
        cr_assert(w > 0, "round %d: the send after the error failed: %s", round,
                  w < 0 ? strerror(errno) : "0 bytes");
        nanosleep(&ts, NULL);
        w = send(c.fd, more, sizeof more, MSG_NOSIGNAL | MSG_DONTWAIT);
        cr_assert(w > 0 || (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)),
                  "round %d: the second send after the error failed: %s", round,
                  w < 0 ? strerror(errno) : "0 bytes");
        expect_error(&c, "protocol", "exceeds the 1048576-byte cap");
        expect_closed(&c);
        rpc_client_destroy(&c);
    }
    still_serving();
}

Test(gateway_hostile, oversized_length)
{
    rpc_client_t c;
    connect_to(&c);
    const unsigned char h[] = {0x7f, 0xff, 0xff, 0xff, 0x81};
    send_raw(&c, h, sizeof h);
    expect_error(&c, "protocol", "exceeds the 1048576-byte cap");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, map32_header_declaring_2_to_the_32_entries)
{
    rpc_client_t c;
    connect_to(&c);
    const unsigned char bomb[] = {0, 0, 0, 5, 0xdf, 0xff, 0xff, 0xff, 0xff};
    send_raw(&c, bomb, sizeof bomb);
    expect_error(&c, "protocol", "map declares 4294967295 entries but only 0 bytes follow");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, wrong_token)
{
    rpc_client_t c;
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN "x"), WEFT_OK);
    expect_error(&c, "auth", "wrong token");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, message_before_hello)
{
    rpc_client_t c;
    connect_to(&c);
    uint64_t fid = 0;
    double sent = 1;
    cr_assert_eq(rpc_client_progress(&c, &fid, &sent, 1), WEFT_OK);
    expect_error(&c, "auth", "expected hello first, got 'progress'");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

/* A message type and a role are peers' words the gateway echoes: C0 and
 * C1 controls in them (U+009B as UTF-8, 0x9b alone: CSI, which starts a
 * terminal's escape sequence) come back escaped, other UTF-8 as it is. */
Test(gateway_hostile, peer_words_are_echoed_with_controls_escaped)
{
    const char *word = "x\x1b[2J\xc2\x9b" "31m\x9b\xc3\xa9";
    const char *shown = "'x\\x1b[2J\\xc2\\x9b" "31m\\x9b\xc3\xa9'";
    char want[128];
    rpc_client_t c;
    connect_to(&c);
    rpc_pack_simple(&c.out, word, -1);
    snprintf(want, sizeof want, "expected hello first, got %s", shown);
    expect_error(&c, "auth", want);
    expect_closed(&c);
    rpc_client_destroy(&c);
    connect_to(&c);
    size_t mark;
    cr_assert_eq(rpc_frame_begin(&c.out, &mark), WEFT_OK);
    msgpack_pack_map(&c.pk, 4);
    rpc_pack_cstr(&c.pk, "type"), rpc_pack_cstr(&c.pk, "hello");
    rpc_pack_cstr(&c.pk, "v"), msgpack_pack_int(&c.pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(&c.pk, "token"), rpc_pack_cstr(&c.pk, TOKEN);
    rpc_pack_cstr(&c.pk, "role"), rpc_pack_cstr(&c.pk, word);
    cr_assert_eq(rpc_frame_end(&c.out, mark, 0), WEFT_OK);
    snprintf(want, sizeof want, "hello: role %s, expected 'agent' or 'client'", shown);
    expect_error(&c, "protocol", want);
    expect_closed(&c);
    rpc_client_destroy(&c);
    connect_to(&c);
    hello_client(&c);
    rpc_pack_simple(&c.out, word, -1);
    snprintf(want, sizeof want, "unknown message type %s", shown);
    expect_error(&c, "unknown-type", want);
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, slow_loris_hello)
{
    /* A valid hello trickled one byte per 100 ms would take seconds; the
     * gateway (--hello-timeout 1) closes it after 1 s whatever arrives. */
    rpc_client_t c;
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN), WEFT_OK);
    bool closed = false;
    for (size_t i = 0; i < c.out.size && !closed; i++) {
        if (send(c.fd, c.out.data + i, 1, MSG_NOSIGNAL) != 1)
            closed = true;
        struct pollfd p = {c.fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 1)
            closed = true; /* the gateway spoke: it can only be the error */
    }
    cr_assert(closed, "the whole hello trickled in without the gateway closing");
    c.out.size = 0;
    expect_error(&c, "timeout", "no valid hello within 1 s");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, unknown_ids_get_an_error_and_the_connection_stays)
{
    rpc_client_t a;
    connect_to(&a);
    cr_assert_eq(rpc_client_hello_agent(&a, TOKEN, 1, 9999), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(&a, &m), 1);
    uint64_t fid = 123456;
    double sent = 10;
    cr_assert_eq(rpc_client_progress(&a, &fid, &sent, 1), WEFT_OK);
    expect_error(&a, "unknown-id", "flow 123456 does not exist (0 flows registered)");
    cr_assert_eq(rpc_client_done(&a, 3, &fid, 1), WEFT_OK);
    expect_error(&a, "unknown-id", "flow 123456 does not exist");
    /* the done is still acknowledged: nothing of it was kept */
    cr_assert_eq(wait_msg(&a, &m), 1);
    char type[32];
    cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "ack");
    expect_pong(&a, 5);
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    int64_t job = 99;
    cr_assert_eq(rpc_client_watch(&c, &job, 1), WEFT_OK);
    expect_error(&c, "unknown-id", "job 99 was never registered");
    rpc_pack_simple(&c.out, "frobnicate", -1);
    expect_error(&c, "unknown-type", "unknown message type 'frobnicate'");
    expect_pong(&c, 6);
    rpc_client_destroy(&c);
    rpc_client_destroy(&a);
}

Test(gateway_hostile, register_validates_and_is_idempotent)
{
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 8); /* port 6 does not exist on the 4-port gateway */
    coflow_workload_add_job(&wl, 42, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 6, 1000);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(rpc_client_register(&c, 1, &wl, 0), WEFT_OK);
    expect_error(&c, "invalid-job", "job 42");
    wl.flows[0].dst = 3;
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(rpc_client_register(&c, 2 + k, &wl, 0), WEFT_OK);
        const msgpack_object *m;
        cr_assert_eq(wait_msg(&c, &m), 1);
        char type[32];
        cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "ack");
        int64_t seq, first;
        cr_assert_eq(rpc_get_int(m, "seq", 0, 100, &seq), WEFT_OK);
        cr_assert_eq(seq, 2 + k);
        cr_assert_eq(rpc_get_int(m, "first_flow", 0, 100, &first), WEFT_OK);
        cr_assert_eq(first, 0);
        const msgpack_object *dup = rpc_map_get(m, "dup");
        cr_assert(dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean == (k == 1));
    }
    /* another job under id 42 is refused, not acknowledged as a resend
       that would never run; the job registered stays, resends of it too */
    wl.flows[0].bytes = 2000;
    cr_assert_eq(rpc_client_register(&c, 4, &wl, 0), WEFT_OK);
    expect_error(&c, "invalid-job", "job 42 is registered already with other contents");
    wl.flows[0].bytes = 1000;
    bool dup;
    cr_assert_eq(register_job(&c, &wl, 0, &dup), 0);
    cr_assert(dup);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&c);
}

/* Job 4343 on wl: coflows 1 to 5 (one flow each), coflow 5 with the parents
 * par[0..3) in that order. */
static void five_coflows(coflow_workload_t *wl, const int64_t par[3])
{
    coflow_workload_init(wl, 4);
    coflow_workload_add_job(wl, 4343, 0, 1, 0);
    for (int64_t k = 1; k <= 5; k++) {
        coflow_workload_add_coflow(wl, k, 0);
        coflow_workload_add_flow(wl, 0, 1, 1000);
    }
    for (int i = 0; i < 3; i++)
        coflow_workload_add_parent(wl, par[i]);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

Test(gateway_hostile, a_resend_may_list_the_parents_in_another_order)
{
    /* A parents list is a set: a client that builds it from a hash map
     * may list it in another order when it registers again. That resend
     * was refused as another job under the id (before 2026-12-06) though
     * the job was registered and ran. */
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    coflow_workload_t wl;
    bool dup;
    five_coflows(&wl, (const int64_t[]){1, 2, 3});
    uint64_t first = register_job(&c, &wl, 0, &dup);
    cr_assert(!dup);
    coflow_workload_destroy(&wl);
    five_coflows(&wl, (const int64_t[]){1, 3, 2});
    cr_assert_eq(register_job(&c, &wl, 0, &dup), first);
    cr_assert(dup);
    coflow_workload_destroy(&wl);
    five_coflows(&wl, (const int64_t[]){3, 2, 1});
    cr_assert_eq(register_job(&c, &wl, 0, &dup), first);
    cr_assert(dup);
    coflow_workload_destroy(&wl);
    /* as many parents, but another one: another job */
    five_coflows(&wl, (const int64_t[]){1, 4, 2});
    cr_assert_eq(rpc_client_register(&c, 5, &wl, 0), WEFT_OK);
    expect_error(&c, "invalid-job", "job 4343 is registered already with other contents");
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&c);
}

/* Queues on c {"type": type, "seq": seq}, seq packed as an int or, with
 * as_str, as the string "1". */
static void queue_with_seq(rpc_client_t *c, const char *type, int64_t seq, bool as_str)
{
    size_t mark;
    cr_assert_eq(rpc_frame_begin(&c->out, &mark), WEFT_OK);
    msgpack_pack_map(&c->pk, 2);
    rpc_pack_cstr(&c->pk, "type"), rpc_pack_cstr(&c->pk, type);
    rpc_pack_cstr(&c->pk, "seq");
    as_str ? rpc_pack_cstr(&c->pk, "1") : msgpack_pack_int64(&c->pk, seq);
    cr_assert_eq(rpc_frame_end(&c->out, mark, 0), WEFT_OK);
}

Test(gateway_hostile, ping_and_status_echo_any_integer_seq)
{
    /* seq is an int (docs/protocol.md): a negative one was left out of the
     * pong, and closed the connection with a protocol error in status */
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    int64_t got;
    queue_with_seq(&c, "ping", -7, false);
    const msgpack_object *m = wait_type(&c, "pong");
    cr_assert(rpc_get_int(m, "seq", INT64_MIN, INT64_MAX, &got) == WEFT_OK && got == -7);
    queue_with_seq(&c, "status", INT64_MIN, false);
    m = wait_type(&c, "status");
    cr_assert(rpc_get_int(m, "seq", INT64_MIN, INT64_MAX, &got) == WEFT_OK && got == INT64_MIN);
    expect_pong(&c, 3);
    /* and a seq that is no integer is a protocol error, as in status */
    queue_with_seq(&c, "ping", 0, true);
    expect_error(&c, "protocol", "ping: field 'seq' is not an integer");
    rpc_client_destroy(&c);
    still_serving();
}

Test(gateway_hostile, keeps_serving_with_bounded_memory)
{
    /* Twenty connections each hold a frame just under the 1 MiB cap, three
     * more send bombs: the gateway holds at most cap + 4 bytes each, and
     * answers a good client meanwhile. */
    long before = server_rss_kb();
    enum { N = 20 };
    rpc_client_t c[N];
    unsigned char *chunk = calloc(1, 1 << 20);
    cr_assert(chunk);
    chunk[0] = 0x00, chunk[1] = 0x10, chunk[2] = 0x00, chunk[3] = 0x00; /* 1 MiB frame */
    for (int i = 0; i < N; i++) {
        connect_to(&c[i]);
        size_t off = 0, n = (1 << 20) - 4096; /* all but the last 4 KiB */
        while (off < n) {
            ssize_t w = send(c[i].fd, chunk + off, n - off, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                struct pollfd p = {c[i].fd, POLLOUT, 0};
                poll(&p, 1, 1000);
                continue;
            }
            cr_assert_gt(w, 0);
            off += (size_t)w;
        }
    }
    still_serving();
    long during = server_rss_kb();
    cr_assert_lt(during - before, 64 * 1024,
                 "gateway RSS grew by %ld kB holding 20 partial 1 MiB frames", during - before);
    for (int i = 0; i < N; i++)
        rpc_client_destroy(&c[i]);
    free(chunk);
}

Test(gateway_hostile, a_burst_beyond_the_budget_is_handled_completely)
{
    /* 5000 pings in one write: the gateway handles 64 per read event and
     * comes back for the rest (a budget that forgot to resume would stall
     * here), and a second client is answered in between. */
    rpc_client_t c, other;
    connect_to(&c);
    hello_client(&c);
    connect_to(&other);
    hello_client(&other);
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(rpc_client_ping(&c, i), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&c), WEFT_OK);
    expect_pong(&other, 1);
    for (int i = 0; i < 5000; i++) {
        const msgpack_object *m;
        cr_assert_eq(wait_msg(&c, &m), 1, "pong %d of 5000 missing", i);
        int64_t seq;
        cr_assert_eq(rpc_get_int(m, "seq", 0, INT64_MAX, &seq), WEFT_OK);
        cr_assert_eq(seq, i, "pongs out of order");
    }
    rpc_client_destroy(&other);
    rpc_client_destroy(&c);
}

/* A wrong token is refused on every connection: weft submit and weft agent
 * stop at once with the gateway's message and exit status 1 instead of
 * reconnecting until --timeout (submit: 483 reconnects in 25 s) or
 * forever (agent). The suite's timeout catches a retry loop. */
Test(gateway_hostile, submit_and_agent_stop_on_a_wrong_token)
{
    char gw[32], out[4096];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                            "not-" TOKEN, "--timeout", "60", NULL};
    int st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 1, "submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "authentication failed") && strstr(out, "wrong token"), "%s", out);
    cr_assert(!strstr(out, "timeout"), "%s", out);
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", "not-" TOKEN,
                           NULL};
    st = run_weft(out, sizeof out, agent);
    cr_assert_eq(st, 1, "agent: exit status %d: %s", st, out);
    cr_assert(strstr(out, "authentication failed") && strstr(out, "wrong token"), "%s", out);
    /* status and cancel: the gateway's reason, named as agent and submit
       name it, and no line after it that blames the gateway (they added
       "closed the exchange") */
    const char *status[] = {"status", "--gateway", gw, "--token", "not-" TOKEN, NULL};
    const char *cancel[] = {"cancel", "7", "--gateway", gw, "--token", "not-" TOKEN, NULL};
    const char *const *asks[] = {status, cancel};
    for (int i = 0; i < 2; i++) {
        st = run_weft(out, sizeof out, asks[i]);
        cr_assert_eq(st, 1, "%s: exit status %d: %s", asks[i][0], st, out);
        char refused[160];
        snprintf(refused, sizeof refused, "authentication failed: gateway %s refused this "
                 "connection (error auth): hello: wrong token", gw);
        cr_assert(strstr(out, refused), "no '%s' in: %s", refused, out);
        cr_assert(!strstr(out, "closed the exchange"), "%s", out);
    }
    still_serving();
}

/* Runs weft submit of a one-job workload (job id, 2 MB from port 0 to 1;
 * no agent moves it) written into dir, with --out out and its stdout (and
 * stderr, with both) into log, and cancels the job once it is registered:
 * submit then ends, with status 0. */
static void submit_one_and_cancel(const char *dir, int id, const char *out, const char *log,
                                  bool both)
{
    char gw[32], wl[96], msg[4096], want[64];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(wl, sizeof wl, "%s/one.weft", dir);
    FILE *f = fopen(wl, "w");
    cr_assert(f);
    fprintf(f, "weft-workload 1\nports 4\njob %d 0 1 0 1\ncoflow 1 0 1 -\n0 1 2000000\n"
            "end 1\n", id);
    fclose(f);
    pid_t pid = fork_tied(SIGTERM);
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        if (both)
            dup2(fd, 2);
        const char *bin = getenv("WEFT_BIN");
        execl(bin, bin, "submit", wl, "--gateway", gw, "--token", TOKEN, "--out", out,
              "--timeout", "20", (char *)NULL);
        _exit(127);
    }
    snprintf(want, sizeof want, "job %d registered", id);
    for (int i = 0; i < 500 && !file_has(log, want); i++)
        usleep(10 * 1000);
    cr_assert(file_has(log, want), "weft submit did not register job %d", id);
    snprintf(want, sizeof want, "%d", id);
    cr_assert_eq(run_cancel(want, msg, sizeof msg), 0, "weft cancel: %s", msg);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "weft submit: status %#x", status);
    unlink(wl);
}

/* weft submit keeps a cancelled job apart: its time to the cancel is no
 * JCT, so the average leaves it out and --out marks it (before, it was a
 * row like any finished job's and made the average look better). And an
 * --out it cannot write stops it before any job is registered (before, it
 * ran every job to the end, then failed). No agent: the job waits until
 * its cancel. */
Test(gateway_hostile, submit_keeps_a_cancelled_job_apart)
{
    char gw[32], out[4096], dir[] = "/tmp/weft-submit-XXXXXX", csv[96], log[96], bad[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(csv, sizeof csv, "%s/jct.csv", dir);
    snprintf(log, sizeof log, "%s/submit.out", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir.csv", dir);
    const char *refused[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                             TOKEN, "--out", bad, NULL};
    int st = run_weft(out, sizeof out, refused);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "cannot write '") && strstr(out, "no/such/dir.csv"), "%s", out);
    cr_assert_null(strstr(out, "registered"), "%s", out);

    submit_one_and_cancel(dir, 77, csv, log, true);
    cr_assert(file_has(log, "1 jobs, 1 cancelled; no JCT to average"),
              "weft submit's report");
    cr_assert(file_has(csv, "job,arrival_s,jct_s,cancelled"));
    char line[256];
    cr_assert(file_line(csv, "77,", line, sizeof line), "no row for job 77");
    cr_assert(line[strlen(line) - 2] == '1', "job 77 not marked cancelled: %s", line);
    unlink(csv), unlink(log);
    cr_assert_eq(rmdir(dir), 0);
}

/* weft submit whose jobs do not finish within its --timeout, though the
 * gateway answered: its error counts the jobs finished and does not say
 * no gateway was reached (test_gateway.c's
 * submit_without_a_gateway_says_so_at_its_timeout has that case). No
 * agent: no job moves. */
Test(gateway_hostile, submit_timeout_after_a_welcome_counts_the_jobs_finished)
{
    char gw[32], out[8192];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                          TOKEN, "--timeout", "1", NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "timeout: 0 of 5 jobs finished after 1 s"), "%s", out);
    cr_assert_null(strstr(out, "no gateway"), "%s", out);
}

/* weft submit --out /dev/stdout with stdout redirected to a file: the
 * report, then the CSV. fopen("/dev/stdout", "w") emptied that file, so
 * the lines printed before the CSV were lost (NUL bytes in their place)
 * and the CSV came first. */
Test(gateway_hostile, submit_out_on_stdout_keeps_the_report)
{
    char dir[] = "/tmp/weft-submit-XXXXXX", log[96], text[4096];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/submit.out", dir);
    submit_one_and_cancel(dir, 78, "/dev/stdout", log, false);
    size_t n = read_file(log, text, sizeof text - 1);
    text[n] = '\0';
    cr_assert_eq(strlen(text), n, "NUL bytes in: %s", text);
    cr_assert(!strncmp(text, "job 78 registered", 17), "%s", text);
    const char *report = strstr(text, "\n1 jobs, 1 cancelled; ");
    cr_assert(report && strstr(report, "\njob,arrival_s,jct_s,cancelled\n78,0,"), "%s", text);
    unlink(log);
    cr_assert_eq(rmdir(dir), 0);
}

/* The status message itself: refused before hello like anything else,
 * answered with the request's seq, and answered to an agent too. */
Test(gateway_hostile, status_message)
{
    rpc_client_t c;
    connect_to(&c);
    cr_assert_eq(rpc_client_status(&c, 1), WEFT_OK);
    expect_error(&c, "auth", "expected hello first, got 'status'");
    rpc_client_destroy(&c);
    connect_to(&c);
    hello_client(&c);
    cr_assert_eq(rpc_client_status(&c, 5), WEFT_OK);
    const msgpack_object *m = wait_type(&c, "status");
    int64_t v;
    cr_assert_eq(rpc_get_int(m, "seq", 0, INT64_MAX, &v), WEFT_OK);
    cr_assert_eq(v, 5);
    cr_assert_eq(rpc_get_int(m, "agents", 0, INT64_MAX, &v), WEFT_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(rpc_get_int(m, "conns", 0, INT64_MAX, &v), WEFT_OK);
    cr_assert_eq(v, 1);
    const msgpack_object *j = rpc_map_get(m, "journal");
    cr_assert(j && j->type == MSGPACK_OBJECT_NIL, "a journal without --journal");
    rpc_client_t a;
    connect_to(&a);
    cr_assert_eq(rpc_client_hello_agent(&a, TOKEN, 3, 9), WEFT_OK);
    cr_assert_eq(rpc_client_status(&a, -1), WEFT_OK);
    m = wait_type(&a, "status");
    cr_assert(!rpc_map_get(m, "seq"), "a seq that was not asked for");
    const msgpack_object *ap = rpc_map_get(m, "agent_ports");
    cr_assert(ap && ap->type == MSGPACK_OBJECT_ARRAY && ap->via.array.size == 1 &&
              rpc_obj_int(&ap->via.array.ptr[0], &v) && v == 3, "agent_ports is not [3]");
    cr_assert_eq(rpc_get_int(m, "conns", 0, INT64_MAX, &v), WEFT_OK);
    cr_assert_eq(v, 2);
    rpc_client_destroy(&a);
    rpc_client_destroy(&c);
    still_serving();
}

/* ------------------------------------------ the journal across restarts */

static char journal_path[64];

static void server_journal(void)
{
    snprintf(journal_path, sizeof journal_path, "/tmp/weft-gw-journal-%d", (int)getpid());
    start_server4("--journal", journal_path, "--no-fsync", NULL);
}

static void stop_server_journal(void)
{
    stop_server();
    unlink(journal_path);
}

/* Sends a ping on agent connection c and reads up to its pong: the
 * schedules in between must tell it to drop exactly want[0..n), in "drop"
 * alone, and no error may come. */
static void expect_drops(rpc_client_t *c, int64_t seq, const uint64_t *want, size_t n)
{
    cr_assert_eq(rpc_client_ping(c, seq), WEFT_OK);
    size_t got = 0;
    for (;;) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(c, 5.0, &m), 1, "no pong: %s", weft_last_error());
        char type[32];
        rpc_msg_type(m, type, sizeof type);
        cr_assert(strcmp(type, "error"), "an error frame");
        if (!strcmp(type, "pong"))
            break;
        const msgpack_object *d = rpc_map_get(m, "drop");
        if (strcmp(type, "schedule") || !d)
            continue;
        const msgpack_object_array *fl;
        cr_assert_eq(rpc_get_array(m, "flows", &fl), WEFT_OK);
        cr_assert_eq(fl->size, 0, "a drop answering a report lists no rate");
        cr_assert_eq(d->type, MSGPACK_OBJECT_ARRAY);
        for (uint32_t i = 0; i < d->via.array.size; i++, got++) {
            cr_assert_lt(got, n, "more drops than expected");
            cr_assert_eq(d->via.array.ptr[i].via.u64, want[got], "drop #%zu", got);
        }
    }
    cr_assert_eq(got, n, "%zu drops of %zu", got, n);
}

/* A gateway's epoch (in every welcome) is kept by its journal: the same
 * after a restart from it, another after a start without it, which agents
 * and clients take as "what this gateway told you is gone". */
Test(gateway_journal, the_epoch_survives_a_restart_from_the_journal_only,
     .init = server_journal, .fini = stop_server_journal, .timeout = 30)
{
    rpc_client_t c;
    connect_to(&c);
    int64_t first = hello_client(&c);
    rpc_client_destroy(&c);
    stop_server();
    /* weft journal names it as weft status does, in hex, so that a copy
       can be matched with the gateway it came from (it printed decimal) */
    char out[4096], want[64];
    const char *check[] = {"journal", journal_path, "--ports", "4", NULL};
    cr_assert_eq(run_weft(out, sizeof out, check), 0, "%s", out);
    snprintf(want, sizeof want, "\n  epoch        %llx\n", (unsigned long long)first);
    cr_assert(strstr(out, want), "no '%s' in:\n%s", want + 1, out);
    start_server4("--journal", journal_path, "--no-fsync", NULL);
    connect_to(&c);
    cr_assert_eq(hello_client(&c), first, "a restart from the journal changed the epoch");
    rpc_client_destroy(&c);
    stop_server();
    start_server(NULL, NULL);
    connect_to(&c);
    cr_assert_neq(hello_client(&c), first, "a gateway without the journal kept its epoch");
    rpc_client_destroy(&c);
}

/* A journal restored from an older copy forgot job 2, whose flows agent 0
 * holds (same epoch: the copy has it). Restarted from it, the gateway gives
 * new flows ids from a random base past everything the journal had, so job
 * 3 does not take job 2's ids, and agent 0's report about job 2's flow is
 * answered with a drop (a running job's flow is not). Before, job 3 got job
 * 2's ids, and agent 0's reports about its old flow counted for the new
 * one. Another restart moves the base again. */
Test(gateway_journal, a_journal_restored_from_an_older_copy_gives_out_no_id_twice,
     .init = server_journal, .fini = stop_server_journal, .timeout = 30)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    for (int j = 1; j <= 4; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 0), WEFT_OK);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, 1e9);
        coflow_workload_add_flow(&wl, 0, 2, 1e9);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    char copy[80];
    snprintf(copy, sizeof copy, "%s.copy", journal_path);
    rpc_client_t cl, ag;
    bool dup;
    connect_to(&cl);
    int64_t epoch = hello_client(&cl);
    uint64_t f1 = register_job(&cl, &wl, 0, &dup);
    copy_file(journal_path, copy);
    uint64_t f2 = register_job(&cl, &wl, 1, &dup);
    cr_assert_eq(f2, f1 + 2);
    rpc_client_destroy(&cl);
    stop_server();
    copy_file(copy, journal_path);
    unlink(copy);
    start_server4("--journal", journal_path, "--no-fsync", NULL);
    connect_to(&cl);
    cr_assert_eq(hello_client(&cl), epoch);
    uint64_t f3 = register_job(&cl, &wl, 2, &dup);
    cr_assert(!dup);
    cr_assert_geq(f3, f2 + 2 + ((uint64_t)1 << 32), "job 3 got ids from %llu, job 2 had %llu",
                  (unsigned long long)f3, (unsigned long long)f2);
    connect_to(&ag);
    hello_agent0(&ag);
    uint64_t fids[3] = {f2, f2 + 1, f3};
    double sent[3] = {1e6, 0, 0};
    cr_assert_eq(rpc_client_progress(&ag, fids, sent, 3), WEFT_OK);
    expect_drops(&ag, 1, fids, 2);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    stop_server();
    start_server4("--journal", journal_path, "--no-fsync", NULL);
    connect_to(&cl);
    hello_client(&cl);
    cr_assert_eq(register_job(&cl, &wl, 2, &dup), f3); /* replayed as it was */
    cr_assert(dup);
    uint64_t f4 = register_job(&cl, &wl, 3, &dup);
    cr_assert_geq(f4, f3 + 2 + ((uint64_t)1 << 32));
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* One job (id 77) of one coflow of n flows on 4 ports, each a different
 * size: a registration of about 8 bytes a flow. */
static void big_job(coflow_workload_t *wl, size_t n)
{
    coflow_workload_init(wl, 4);
    cr_assert_eq(coflow_workload_add_job(wl, 77, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(wl, 1, 0);
    for (size_t f = 0; f < n; f++)
        coflow_workload_add_flow(wl, (uint32_t)(f % 4), (uint32_t)(f / 4 % 4), 1e6 + (double)f);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

/* A job of 80,000 flows fits the default frame cap (the gateway used to
 * refuse it for its 320,000 msgpack objects). A job whose registration is
 * larger than the default frame cap (1 MiB) and the journal's default
 * record cap (4 MiB): a gateway started with a
 * larger --max-frame says so in its welcome, the client library then sends
 * it, the gateway journals it (its record cap follows --max-frame) and
 * replays it after a restart. weft submit tells a gateway of the default
 * cap's user which --max-frame would take the job, and registers it with
 * one whose cap is large enough. Before, the client refused anything over
 * 1 MiB whatever the gateway took, and a record over 4 MiB stopped the
 * gateway. */
static void make_journal_path(void)
{
    snprintf(journal_path, sizeof journal_path, "/tmp/weft-gw-journal-%d", (int)getpid());
    unlink(journal_path);
}

Test(gateway_journal, a_registration_larger_than_the_default_caps, .init = make_journal_path,
     .fini = stop_server_journal, .timeout = 120)
{
    coflow_workload_t wl;
    big_job(&wl, 600000);
    char big_file[64], out[4096], gw[32];
    snprintf(big_file, sizeof big_file, "/tmp/weft-gw-big-%d.weft", (int)getpid());
    cr_assert_eq(workload_save_weft(&wl, big_file), WEFT_OK, "%s", weft_last_error());

    start_server(NULL, NULL);
    /* Under the default frame cap: 80,000 flows, 0.96 MB, 320,000 objects
       (the object cap used to be 262,144 whatever the frame cap) */
    coflow_workload_t mid;
    big_job(&mid, 80000);
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    bool dup;
    register_job(&c, &mid, 0, &dup);
    cr_assert(!dup);
    rpc_client_destroy(&c);
    coflow_workload_destroy(&mid);
    /* Over it: refused by weft submit, with the remedy */
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", big_file, "--gateway", gw, "--token", TOKEN,
                            "--timeout", "20", NULL};
    int st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 1, "submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "job 77: its registration is ") &&
              strstr(out, "(600000 flows), more than the gateway's 1048576-byte frame cap: "
                          "start weft serve with --max-frame "), "%s", out);
    stop_server();

    start_server4("--max-frame", "8388608", "--journal", journal_path);
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN), WEFT_OK);
    const msgpack_object *m = wait_type(&c, "welcome");
    rpc_client_welcome(&c, m);
    cr_assert_eq(c.max_frame, (size_t)8388608);
    size_t before = c.out.size;
    cr_assert_eq(rpc_client_register(&c, 0, &wl, 0), WEFT_OK, "%s", weft_last_error());
    cr_assert_gt(c.out.size - before, RPC_JOURNAL_MAX_RECORD, "only %zu bytes",
                 c.out.size - before);
    /* 600,000 flows parsed, analysed and journaled (fdatasync'ed): seconds
       under the sanitizers on a busy machine, where 5 s once ran out */
    int r = wait_msg_for(&c, &m, 60.0);
    cr_assert_eq(r, 1, "no ack of the large job: %s", weft_last_error());
    char t[32];
    cr_assert_str_eq(rpc_msg_type(m, t, sizeof t), "ack");
    int64_t first;
    cr_assert_eq(rpc_get_int(m, "first_flow", 0, INT64_MAX, &first), WEFT_OK);
    rpc_client_destroy(&c);
    cr_assert_gt(file_size(journal_path), (long)RPC_JOURNAL_MAX_RECORD);
    stop_server();

    /* replayed: the job is known, with its flow ids */
    start_server4("--max-frame", "8388608", "--journal", journal_path);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN), WEFT_OK);
    rpc_client_welcome(&c, wait_type(&c, "welcome"));
    cr_assert_eq(register_job(&c, &wl, 0, &dup), (uint64_t)first);
    cr_assert(dup, "the journal lost the large job");
    rpc_client_destroy(&c);
    const char *again[] = {"submit", big_file, "--gateway", gw, "--token", TOKEN,
                           "--timeout", "3", NULL};
    st = run_weft(out, sizeof out, again);
    /* a duplicate, acknowledged, and said to be one: its JCT is not its own */
    cr_assert(strstr(out, "job 77 registered before this run: its JCT is the gateway's"), "%s",
              out);
    cr_assert(!strstr(out, "frame cap"), "%s", out);
    unlink(big_file);
    coflow_workload_destroy(&wl);
}

/* The next job_done on c (other messages skipped): its job id. */
static int64_t next_job_done(rpc_client_t *c)
{
    int64_t id;
    cr_assert_eq(rpc_get_int(wait_type(c, "job_done"), "job", INT64_MIN, INT64_MAX, &id),
                 WEFT_OK);
    return id;
}

/* Waits until job_done has come for every job in [lo, hi). */
static void wait_jobs_done(rpc_client_t *c, int64_t lo, int64_t hi)
{
    bool seen[256] = {false};
    cr_assert(hi - lo <= 256);
    for (int64_t left = hi - lo; left > 0;) {
        int64_t id = next_job_done(c);
        if (id >= lo && id < hi && !seen[id - lo]) {
            seen[id - lo] = true;
            left--;
        }
    }
}

/* Jobs 7000 .. + n_jobs on 4 ports, of one coflow of n_flows flows of
 * 100,000 bytes each (8 bytes a flow registered: the journal tests need
 * their records to fill 64 KiB), all sent by port 0. */
static void one_coflow_jobs(coflow_workload_t *wl, int n_jobs, int n_flows)
{
    coflow_workload_init(wl, 4);
    for (int j = 0; j < n_jobs; j++) {
        coflow_workload_add_job(wl, 7000 + j, 0, 1, 0);
        coflow_workload_add_coflow(wl, 1, 0);
        for (int f = 0; f < n_flows; f++)
            coflow_workload_add_flow(wl, 0, 1 + (uint32_t)(f % 3), 100000);
        cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
    }
}

/* Queues on c {"type": "register", "seq": seq, "job": {"id": id,
 * "coflows": [{"id": k, "flows": [[2, 3, 1]]} for k in 0 .. n)}}: every
 * coflow as short as the protocol allows (its bytes an integer, no compute,
 * no parents), as a client other than weft submit may send it. Returns the
 * frame's length. */
static size_t queue_short_registration(rpc_client_t *c, int64_t seq, int64_t id, int n)
{
    size_t mark, start = c->out.size;
    cr_assert_eq(rpc_frame_begin(&c->out, &mark), WEFT_OK);
    msgpack_packer *pk = &c->pk;
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "type"), rpc_pack_cstr(pk, "register");
    rpc_pack_cstr(pk, "seq"), msgpack_pack_int64(pk, seq);
    rpc_pack_cstr(pk, "job"), msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "id"), msgpack_pack_int64(pk, id);
    rpc_pack_cstr(pk, "coflows"), msgpack_pack_array(pk, (size_t)n);
    for (int k = 0; k < n; k++) {
        msgpack_pack_map(pk, 2);
        rpc_pack_cstr(pk, "id"), msgpack_pack_int(pk, k);
        rpc_pack_cstr(pk, "flows"), msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        msgpack_pack_int(pk, 2), msgpack_pack_int(pk, 3), msgpack_pack_int(pk, 1);
    }
    cr_assert_eq(rpc_frame_end(&c->out, mark, c->max_frame), WEFT_OK, "%s", weft_last_error());
    return c->out.size - start;
}

/* A client of a gateway of --max-frame 2000000 (c, after the welcome)
 * registers job 1 as queue_short_registration does with 100,000 coflows
 * (1.87 MB): its first flow id, and whether it was a duplicate. */
static uint64_t register_short_job(rpc_client_t *c, bool *dup)
{
    size_t n = queue_short_registration(c, 1, 1, 100000);
    cr_assert(n > 1800000 && n < 2000000, "a registration of %zu bytes", n);
    const msgpack_object *m;
    cr_assert_eq(wait_msg_for(c, &m, 60.0), 1, "no ack of job 1: %s", weft_last_error());
    char t[32];
    cr_assert_str_eq(rpc_msg_type(m, t, sizeof t), "ack");
    int64_t first;
    cr_assert_eq(rpc_get_int(m, "first_flow", 0, INT64_MAX, &first), WEFT_OK);
    const msgpack_object *d = rpc_map_get(m, "dup");
    *dup = d && d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean;
    return (uint64_t)first;
}

/* A gateway of --max-frame 2000000 takes job 1 as short as the protocol
 * allows (1.87 MB: 100,000 coflows of one flow from port 2, which has no
 * agent, so it keeps running); 40 one-flow jobs finish after it, are
 * compacted away and the journal is rewritten with job 1 in it; weft
 * journal and a restart with the same --max-frame read it back. The
 * rewrite packed job 1 with its bytes as float64s and its default compute
 * and parents written out, 5.3 MB, past the record cap: the gateway
 * stopped ("frame of 5268628 bytes exceeds the 4194304-byte cap") without
 * sending the 40 job_done. */
Test(gateway_journal, a_job_registered_short_is_rewritten_and_read_back,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 120)
{
    enum { SMALL = 40 };
    const char *args[] = {"--max-frame", "2000000", "--journal", journal_path, "--no-fsync",
                          NULL};
    start_server_args(args);
    rpc_client_t cl, ag;
    connect_to(&cl);
    cr_assert_eq(rpc_client_hello_client(&cl, TOKEN), WEFT_OK);
    rpc_client_welcome(&cl, wait_type(&cl, "welcome"));
    bool dup;
    uint64_t first = register_short_job(&cl, &dup);
    cr_assert(!dup);
    coflow_workload_t wl;
    one_coflow_jobs(&wl, SMALL, 1);
    uint64_t fids[SMALL];
    for (int j = 0; j < SMALL; j++)
        fids[j] = register_job(&cl, &wl, (size_t)j, &dup);
    struct stat before, after;
    cr_assert_eq(stat(journal_path, &before), 0);
    connect_to(&ag);
    hello_agent0(&ag);
    cr_assert_eq(rpc_client_done(&ag, -1, fids, SMALL), WEFT_OK);
    expect_pong(&ag, 1);
    wait_jobs_done(&cl, 7000, 7000 + SMALL);
    expect_pong(&cl, 2); /* the pass that compacts has run */
    cr_assert_eq(stat(journal_path, &after), 0);
    cr_assert_neq(after.st_ino, before.st_ino, "the journal was not rewritten");
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    stop_server();

    char out[4096];
    const char *check[] = {"journal", journal_path, "--ports", "4", "--max-frame", "2000000",
                           NULL};
    cr_assert_eq(run_weft(out, sizeof out, check), 0, "%s", out);
    cr_assert(strstr(out, "records      4: 1 epoch, 1 job, 0 done, 0 cancel, 1 gone, 1 base") &&
                  strstr(out, "jobs         1 in the table, 0 of them finished (0 cancelled); "
                              "40 compacted away"), "%s", out);
    start_server_args(args);
    connect_to(&cl);
    cr_assert_eq(rpc_client_hello_client(&cl, TOKEN), WEFT_OK);
    rpc_client_welcome(&cl, wait_type(&cl, "welcome"));
    cr_assert_eq(register_short_job(&cl, &dup), first);
    cr_assert(dup, "the rewritten journal lost job 1");
    cr_assert_eq(register_job(&cl, &wl, 3, &dup), fids[3]);
    cr_assert(dup, "the rewritten journal lost job 7003");
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* The journal's fdatasyncs in the status of the gateway c speaks to. */
static int64_t journal_syncs(rpc_client_t *c)
{
    cr_assert_eq(rpc_client_status(c, 31), WEFT_OK);
    const msgpack_object *j = rpc_map_get(wait_type(c, "status"), "journal");
    int64_t n;
    cr_assert(j && rpc_get_int(j, "syncs", 0, INT64_MAX, &n) == WEFT_OK, "no journal syncs");
    return n;
}

/* 200 jobs of 60 flows are registered, job 1 cancelled and jobs 2 to 189
 * completed (job 0 is left waiting at the front): the gateway drops them
 * from its table and rewrites its journal smaller. Restarted from that journal, it still knows
 * the 189 (a re-sent registration is a duplicate with the same first flow
 * id, watch answers with job_done, a late report about their flows is
 * ignored, but one about a flow of the cancelled job is answered with a
 * drop, before and after the restart) and the 11 kept jobs keep their flow
 * ids and complete. */
Test(gateway_journal, rewritten_after_compaction_and_replayed, .init = server_journal,
     .fini = stop_server_journal, .timeout = 60)
{
    enum { JOBS = 200, DONE = 190, FLOWS = 60 };
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, FLOWS);
    rpc_client_t cl, ag;
    connect_to(&cl);
    int64_t epoch = hello_client(&cl);
    uint64_t first[JOBS];
    bool dup;
    for (int j = 0; j < JOBS; j++) {
        first[j] = register_job(&cl, &wl, (size_t)j, &dup);
        cr_assert(!dup);
    }
    long before = file_size(journal_path);
    cr_assert_gt(before, (long)RPC_JOURNAL_REWRITE_MIN, "journal only %ld bytes", before);
    cr_assert_eq(journal_syncs(&cl), 0, "--no-fsync synced the journal");
    connect_to(&ag);
    hello_agent0(&ag);
    cr_assert_eq(rpc_client_cancel(&cl, 1000, 7001), WEFT_OK);
    wait_type(&cl, "ack");
    uint64_t fids[FLOWS];
    for (int j = 2; j < DONE; j++) {
        for (int f = 0; f < FLOWS; f++)
            fids[f] = first[j] + (uint64_t)f;
        cr_assert_eq(rpc_client_done(&ag, -1, fids, FLOWS), WEFT_OK); /* no ack wanted */
    }
    expect_pong(&ag, 1); /* every completion handled */
    wait_jobs_done(&cl, 7001, 7000 + DONE);
    expect_pong(&cl, 2); /* the pass that compacts has run */
    long after = file_size(journal_path);
    /* Rewritten when jobs were first compacted away (it had doubled from
     * nothing); what came after it is appended, so it ends well below the
     * size it had with every job's record and completions. */
    cr_assert_lt(after, before * 3 / 4, "journal %ld bytes before, %ld after", before, after);
    /* Late reports about flows of jobs compacted away (7001 cancelled, 7002
     * finished) get a drop; about a running job's (7000) not; and none is
     * journaled. */
    uint64_t late[4] = {first[1], first[2], first[1] + FLOWS - 1, first[0] + FLOWS - 1};
    double late_sent[4] = {10, 0, 0, 0};
    cr_assert_eq(rpc_client_progress(&ag, late, late_sent, 4), WEFT_OK);
    expect_drops(&ag, 10, late, 3);
    cr_assert_eq(file_size(journal_path), after, "a late report was journaled");
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);

    stop_server();
    start_server4("--journal", journal_path, "--no-fsync", NULL);
    connect_to(&cl);
    cr_assert_eq(hello_client(&cl), epoch, "the rewritten journal lost the gateway's epoch");
    cr_assert_eq(register_job(&cl, &wl, 5, &dup), first[5]); /* compacted away */
    cr_assert(dup);
    cr_assert_eq(register_job(&cl, &wl, DONE + 3, &dup), first[DONE + 3]); /* kept */
    cr_assert(dup);
    cr_assert_eq(register_job(&cl, &wl, 0, &dup), first[0]); /* kept, in front */
    cr_assert(dup);
    done_watch_t w5 = {.job = 7005}, w1 = {.job = 7001};
    int64_t watch[2] = {7005, 7001};
    cr_assert_eq(rpc_client_watch(&cl, watch, 2), WEFT_OK);
    while (!w5.seen || !w1.seen) {
        const msgpack_object *m = wait_type(&cl, "job_done");
        watch_done(m, &w5);
        watch_done(m, &w1);
    }
    cr_assert(!w5.cancelled && w1.cancelled); /* through the gone record */
    /* job_status: a job compacted away has its state and JCT but no
       coflows; one kept has them */
    const char *want_state[3] = {"finished", "cancelled", "running"};
    const int64_t ids[3] = {7005, 7001, 7000};
    for (int k = 0; k < 3; k++) {
        const msgpack_object *m = job_status_of(&cl, ids[k]), *co = rpc_map_get(m, "coflows");
        const char *s;
        size_t n;
        double t;
        cr_assert(rpc_get_str(m, "state", &s, &n) == WEFT_OK && n == strlen(want_state[k]) &&
                      !memcmp(s, want_state[k], n),
                  "job %lld: '%.*s'", (long long)ids[k], (int)n, s);
        cr_assert_eq(rpc_get_num_opt(m, k < 2 ? "jct" : "age", 0, 1e9, &t), WEFT_OK);
        cr_assert(co && (k < 2 ? co->type == MSGPACK_OBJECT_NIL
                               : co->type == MSGPACK_OBJECT_ARRAY && co->via.array.size == 1),
                  "job %lld: coflows", (long long)ids[k]);
    }
    connect_to(&ag);
    hello_agent0(&ag);
    /* Replayed from "gone" records: reports about the jobs compacted away
     * still get a drop, a running job's not. */
    uint64_t late2[3] = {first[3], first[1] + FLOWS - 1, first[0]};
    double late2_sent[3] = {50, 0, 0};
    cr_assert_eq(rpc_client_progress(&ag, late2, late2_sent, 3), WEFT_OK);
    expect_drops(&ag, 11, late2, 2);
    /* Completions the gateway already has, of a compacted job and of a
     * kept one, are acknowledged but not journaled again. */
    uint64_t old_done[2] = {first[3], first[DONE] + 1};
    cr_assert_eq(rpc_client_done(&ag, -1, old_done + 1, 1), WEFT_OK);
    expect_pong(&ag, 3);
    long replayed_size = file_size(journal_path);
    cr_assert_eq(rpc_client_done(&ag, -1, old_done, 2), WEFT_OK);
    expect_pong(&ag, 4);
    cr_assert_eq(file_size(journal_path), replayed_size, "a repeated completion was journaled");
    for (int f = 0; f < FLOWS; f++)
        fids[f] = first[0] + (uint64_t)f;
    cr_assert_eq(rpc_client_done(&ag, -1, fids, FLOWS), WEFT_OK);
    expect_pong(&ag, 5); /* sends what the client queued */
    wait_jobs_done(&cl, 7000, 7001);
    for (int j = DONE; j < JOBS; j++) {
        for (int f = 0; f < FLOWS; f++)
            fids[f] = first[j] + (uint64_t)f;
        cr_assert_eq(rpc_client_done(&ag, -1, fids, FLOWS), WEFT_OK); /* no ack wanted */
    }
    expect_pong(&ag, 6); /* no error frame came before the pong */
    wait_jobs_done(&cl, 7000 + DONE, 7000 + JOBS);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* Jobs [lo, hi) of wl (one_coflow_jobs', of `flows` flows) registered on
 * client cl, their first flow ids into first[], and finished by agent 0's
 * done on ag; returns once their job_done have come and a pass after them
 * has run. */
static void run_jobs(rpc_client_t *cl, rpc_client_t *ag, const coflow_workload_t *wl, int lo,
                     int hi, int flows, uint64_t *first)
{
    for (int j = lo; j < hi; j++) {
        bool dup;
        first[j] = register_job(cl, wl, (size_t)j, &dup);
        cr_assert(!dup);
    }
    uint64_t fids[64];
    cr_assert_leq(flows, 64);
    for (int j = lo; j < hi; j++) {
        for (int f = 0; f < flows; f++)
            fids[f] = first[j] + (uint64_t)f;
        cr_assert_eq(rpc_client_done(ag, -1, fids, (size_t)flows), WEFT_OK);
    }
    expect_pong(ag, hi);
    wait_jobs_done(cl, 7000 + lo, 7000 + hi);
    expect_pong(cl, hi); /* the pass that compacts them has run */
}

/* A rewrite that fails (JOURNAL.tmp is a directory, so it cannot be made)
 * stops nothing: the gateway warns once, naming the journal and why, sends
 * every job_done and goes on appending to the journal as it was, trying
 * again each time it has doubled; once the directory is gone a rewrite
 * takes, saying how many failed before it, and a restart knows every job.
 * A failed rewrite used to stop the gateway. */
Test(gateway_journal, a_failed_rewrite_warns_once_and_loses_nothing, .init = make_journal_path,
     .fini = stop_server_journal, .timeout = 120)
{
    enum { JOBS = 800, BATCH = 20, FLOWS = 60 };
    char tmp[80], err_path[64], out[8192];
    snprintf(tmp, sizeof tmp, "%s.tmp", journal_path);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-rewrite-%d.err", (int)getpid());
    cr_assert_eq(mkdir(tmp, 0700), 0, "%s: %s", tmp, strerror(errno));
    const char *args[] = {"--journal", journal_path, "--no-fsync", NULL};
    server_stderr = err_path;
    start_server_args(args);
    server_stderr = NULL;
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, FLOWS);
    uint64_t first[JOBS];
    rpc_client_t cl, ag;
    connect_to(&cl);
    hello_client(&cl);
    connect_to(&ag);
    hello_agent0(&ag);
    struct stat st0, st;
    cr_assert_eq(stat(journal_path, &st0), 0);
    /* until it has failed, and then until the journal has doubled (it
       failed again: the second try) */
    int n = 0;
    long failed_at = 0;
    char warning[256];
    snprintf(warning, sizeof warning, "weft serve: warning: journal %s: not rewritten: %s: ",
             journal_path, tmp);
    for (; n < JOBS && (!failed_at || file_size(journal_path) < 2 * failed_at); n += BATCH) {
        run_jobs(&cl, &ag, &wl, n, n + BATCH, FLOWS, first);
        if (!failed_at && file_has(err_path, warning))
            failed_at = file_size(journal_path);
    }
    cr_assert_gt(failed_at, 0, "no warning after %d jobs", n);
    cr_assert_lt(n, JOBS, "the journal did not double in %d jobs", n);
    cr_assert_eq(stat(journal_path, &st), 0);
    cr_assert_eq(st.st_ino, st0.st_ino, "the journal was replaced");
    out[read_file(err_path, out, sizeof out - 1)] = 0;
    char *w = strstr(out, warning);
    cr_assert(w && strstr(w, "; it stays as it was and records are still appended to it "
                             "(nothing is lost)"), "%s", out);
    cr_assert(!strstr(w + strlen(warning), "not rewritten"), "warned twice: %s", out);
    /* the directory gone, the next rewrite takes */
    cr_assert_eq(rmdir(tmp), 0);
    int before = n;
    for (; n < JOBS && (stat(journal_path, &st), st.st_ino == st0.st_ino); n += BATCH)
        run_jobs(&cl, &ag, &wl, n, n + BATCH, FLOWS, first);
    cr_assert_neq(st.st_ino, st0.st_ino, "not rewritten in %d jobs more", n - before);
    char note[160];
    snprintf(note, sizeof note, "weft serve: journal %s rewritten, after 2 failed tries\n",
             journal_path);
    cr_assert(file_has(err_path, note), "no '%s' in the log", note);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    stop_server();
    /* every job is known after a restart, with its flow ids */
    start_server_args(args);
    connect_to(&cl);
    hello_client(&cl);
    for (int j = 0; j < n; j += 7) {
        bool dup;
        cr_assert_eq(register_job(&cl, &wl, (size_t)j, &dup), first[j], "job %d", 7000 + j);
        cr_assert(dup, "job %d was lost", 7000 + j);
    }
    rpc_client_destroy(&cl);
    unlink(err_path);
    coflow_workload_destroy(&wl);
}

/* Stops weft serve and starts it again with args (its --journal), which
 * must hold jobs 0 to n - 1 of wl, registered before under first flow ids
 * first[]: each registered again is a duplicate of the same. */
static void restart_holds_jobs(const char *const *args, const coflow_workload_t *wl,
                               const uint64_t *first, int n)
{
    stop_server();
    start_server_args(args);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    for (int j = 0; j < n; j++) {
        cr_assert_eq(register_job(&cl, wl, (size_t)j, &dup), first[j], "job %d", j);
        cr_assert(dup, "job %d was lost", j);
    }
    rpc_client_destroy(&cl);
}

/* A journal moved away while the gateway runs (mv, an operator tidying up)
 * is written again at its path, whole, saying so: a restart from that path
 * knows every job registered, before the move and after it; another file
 * renamed over the path is left as it is, with a warning. Before, the
 * records went on to the moved file and the restart began an empty journal,
 * every job lost without a word. */
Test(gateway_journal, a_journal_moved_away_is_written_again_at_its_path,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 60)
{
    enum { JOBS = 6 };
    char moved[80], err_path[64], want[200], log[8192];
    snprintf(moved, sizeof moved, "%s.moved", journal_path);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-moved-%d.err", (int)getpid());
    const char *args[] = {"--journal", journal_path, "--no-fsync", NULL};
    server_stderr = err_path;
    start_server_args(args);
    server_stderr = NULL;
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, 2);
    uint64_t first[JOBS];
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    for (int j = 0; j < JOBS / 2; j++)
        first[j] = register_job(&cl, &wl, (size_t)j, &dup);
    cr_assert_eq(rename(journal_path, moved), 0, "%s", strerror(errno));
    snprintf(want, sizeof want, "weft serve: warning: journal %s was removed or moved away "
             "while in use: written there again whole", journal_path);
    wait_in_file(err_path, want, 1, log, sizeof log);
    for (int j = JOBS / 2; j < JOBS; j++)
        first[j] = register_job(&cl, &wl, (size_t)j, &dup);
    rpc_client_destroy(&cl);
    unlink(moved);
    restart_holds_jobs(args, &wl, first, JOBS);
    /* another file renamed over it is left there, named once */
    stop_server();
    server_stderr = err_path;
    start_server_args(args);
    server_stderr = NULL;
    write_text(moved, "another file\n");
    cr_assert_eq(rename(moved, journal_path), 0, "%s", strerror(errno));
    snprintf(want, sizeof want, "weft serve: warning: journal %s now names another file than "
             "the one this gateway writes", journal_path);
    wait_in_file(err_path, want, 1, log, sizeof log);
    struct timespec ts = {2, 200 * 1000 * 1000}; /* two more checks, each a second apart */
    nanosleep(&ts, NULL);
    log[read_file(err_path, log, sizeof log - 1)] = 0;
    const char *once = strstr(log, "now names another file");
    cr_assert(once && !strstr(once + 1, "now names another file"), "%s", log);
    char back[32] = "";
    back[read_file(journal_path, back, sizeof back - 1)] = 0;
    cr_assert_str_eq(back, "another file\n");
    unlink(err_path);
    coflow_workload_destroy(&wl);
}

/* Waits until weft serve's stderr (err_path) says the journal at path was
 * written there again whole, and checks that `said`, of the warning before
 * it, came once, not at each check of the path. */
static void written_again_said_once(const char *err_path, const char *path, const char *said,
                                    char *log, size_t n)
{
    char want[300];
    snprintf(want, sizeof want, "weft serve: warning: journal %s was removed or moved away "
             "while in use: written there again whole", path);
    wait_in_file(err_path, want, 1, log, n);
    const char *once = strstr(log, said);
    cr_assert(once && !strstr(once + 1, said), "%s", log);
}

/* The journal's path replaced while in use by what is no regular file, a
 * FIFO or a link to /dev/null: said once, with what to do (the next start
 * refuses the path, so "restart now to start from the one there", said of
 * another file, was wrong), the gateway still serving and not blocked on
 * the FIFO (a job registered then goes to the file it opened); once that
 * is removed, the journal is written there again whole
 * and a restart has every job. */
Test(gateway_journal, a_journal_path_replaced_by_a_fifo_or_dev_null_is_said_so,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 60)
{
    char moved[80], err_path[64], want[300], log[8192];
    snprintf(moved, sizeof moved, "%s.moved", journal_path);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-nofile-%d.err", (int)getpid());
    const char *args[] = {"--journal", journal_path, "--no-fsync", NULL};
    coflow_workload_t wl;
    one_coflow_jobs(&wl, 4, 2);
    uint64_t first[4];
    const char *kinds[2] = {"a FIFO", "a character device"};
    for (int k = 0; k < 2; k++) {
        server_stderr = err_path;
        start_server_args(args);
        server_stderr = NULL;
        rpc_client_t cl;
        connect_to(&cl);
        hello_client(&cl);
        bool dup;
        first[2 * k] = register_job(&cl, &wl, (size_t)(2 * k), &dup);
        cr_assert_eq(rename(journal_path, moved), 0, "%s", strerror(errno));
        cr_assert_eq(k == 0 ? mkfifo(journal_path, 0600) : symlink("/dev/null", journal_path),
                     0, "%s", strerror(errno));
        snprintf(want, sizeof want, "weft serve: warning: journal %s is now %s, not a regular "
                 "file (replaced while in use); records go on to the file this gateway "
                 "opened, and a restart would refuse the path: remove what is there",
                 journal_path, kinds[k]);
        wait_in_file(err_path, want, 1, log, sizeof log);
        cr_assert(!strstr(log, "now names another file"), "%s", log);
        /* serving, not waiting on the FIFO, its records in the file it opened */
        first[2 * k + 1] = register_job(&cl, &wl, (size_t)(2 * k + 1), &dup);
        struct timespec ts = {1, 200 * 1000 * 1000}; /* the next check: said once */
        nanosleep(&ts, NULL);
        unlink(journal_path);
        written_again_said_once(err_path, journal_path, "not a regular file", log, sizeof log);
        rpc_client_destroy(&cl);
        unlink(moved);
        restart_holds_jobs(args, &wl, first, 2 * k + 2);
        stop_server();
    }
    unlink(err_path);
    coflow_workload_destroy(&wl);
}

/* A journal whose directory is moved away cannot be written again at its
 * path: said once (not each second it is tried), and written there once
 * the directory is back, every job kept. */
Test(gateway_journal, a_journal_whose_directory_went_is_written_once_it_is_back,
     .fini = stop_server, .timeout = 60)
{
    char dir[64], moved[72], path[96], err_path[64], want[300], log[8192];
    snprintf(dir, sizeof dir, "/tmp/weft-gw-jdir-%d", (int)getpid());
    snprintf(moved, sizeof moved, "%s.moved", dir);
    snprintf(path, sizeof path, "%s/gw.journal", dir);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-jdir-%d.err", (int)getpid());
    cr_assert_eq(mkdir(dir, 0700), 0, "%s", strerror(errno));
    const char *args[] = {"--journal", path, "--no-fsync", NULL};
    server_stderr = err_path;
    start_server_args(args);
    server_stderr = NULL;
    coflow_workload_t wl;
    one_coflow_jobs(&wl, 2, 2);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    uint64_t first = register_job(&cl, &wl, 0, &dup);
    cr_assert_eq(rename(dir, moved), 0, "%s", strerror(errno));
    snprintf(want, sizeof want, "weft serve: warning: journal %s was removed or moved away "
             "while in use, and cannot be written there again (", path);
    wait_in_file(err_path, want, 1, log, sizeof log);
    struct timespec ts = {2, 200 * 1000 * 1000}; /* two more tries, each a second apart */
    nanosleep(&ts, NULL);
    cr_assert_eq(mkdir(dir, 0700), 0, "%s", strerror(errno));
    written_again_said_once(err_path, path, "cannot be written there again", log, sizeof log);
    rpc_client_destroy(&cl);
    stop_server();
    start_server_args(args);
    connect_to(&cl);
    hello_client(&cl);
    cr_assert_eq(register_job(&cl, &wl, 0, &dup), first);
    cr_assert(dup, "the job was lost");
    rpc_client_destroy(&cl);
    stop_server();
    char rm[200];
    snprintf(rm, sizeof rm, "rm -rf %s %s", dir, moved);
    (void)!system(rm);
    unlink(err_path);
    coflow_workload_destroy(&wl);
}

/* A journal that reaches the file size limit (ulimit -f; here 16 KiB)
 * stops the gateway with status 1, saying why and naming the journal, and
 * every job acknowledged before is there after a restart. weft was killed
 * by SIGXFSZ instead, without a word. */
Test(gateway_journal, a_journal_at_the_file_size_limit_stops_the_gateway_saying_so,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 60)
{
    enum { JOBS = 200, FLOWS = 30 };
    char err_path[64], out[4096];
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-fsize-%d.err", (int)getpid());
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rlim_t soft = rl.rlim_cur;
    rl.rlim_cur = 16384; /* the server inherits it; this process writes nothing till after */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    const char *args[] = {"--journal", journal_path, "--no-fsync", NULL};
    server_stderr = err_path;
    start_server_args(args);
    server_stderr = NULL;
    rl.rlim_cur = soft;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, FLOWS);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    int acked = 0;
    for (; acked < JOBS; acked++) {
        const msgpack_object *m;
        if (rpc_client_register(&cl, 7000 + acked, &wl, (size_t)acked) != WEFT_OK ||
            wait_msg(&cl, &m) != 1)
            break;
        char type[16];
        cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "ack");
    }
    rpc_client_destroy(&cl);
    cr_assert(acked > 0 && acked < JOBS, "%d jobs acknowledged", acked);
    int st = 0;
    cr_assert_eq(waitpid(server_pid, &st, 0), server_pid);
    server_pid = 0;
    out[read_file(err_path, out, sizeof out - 1)] = '\0';
    unlink(err_path);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x: %s", st, out);
    char want[128];
    snprintf(want, sizeof want, "weft serve: input/output error: journal %s: write: %s\n",
             journal_path, strerror(EFBIG));
    cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
    start_server_args(args);
    connect_to(&cl);
    hello_client(&cl);
    for (int j = 0; j < acked; j++) {
        bool dup;
        register_job(&cl, &wl, (size_t)j, &dup);
        cr_assert(dup, "job %d was acknowledged, then lost", 7000 + j);
    }
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
    char torn[96]; /* the record cut short by the limit, kept aside at the restart */
    snprintf(torn, sizeof torn, "%s.torn-*", journal_path);
    glob_t g;
    if (glob(torn, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
    globfree(&g);
}

/* A gateway started with standard output and error closed (`>&- 2>&-`)
 * keeps descriptors 1 and 2 on /dev/null: they were the next ones opened,
 * its epoll descriptor and libevent's signal pipe, which -v's log lines
 * were written into. It journals and serves as any other. */
Test(gateway_journal, closed_standard_descriptors_are_held_not_reused, .init = make_journal_path,
     .fini = stop_server_journal, .timeout = 30)
{
    const char *args[] = {"--journal", journal_path, "-v", NULL};
    server_std_closed = true;
    start_server_args(args);
    server_std_closed = false;
    for (int fd = 1; fd <= 2; fd++) {
        char link[64], to[256] = "";
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)server_pid, fd);
        cr_assert_gt(readlink(link, to, sizeof to - 1), 0, "%s: %s", link, strerror(errno));
        cr_assert_str_eq(to, "/dev/null", "%s", link);
    }
    coflow_workload_t wl;
    one_coflow_jobs(&wl, 1, 2);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    register_job(&cl, &wl, 0, &dup);
    cr_assert(!dup);
    rpc_client_destroy(&cl);
    kill(server_pid, SIGTERM);
    int st = 0;
    cr_assert_eq(waitpid(server_pid, &st, 0), server_pid);
    server_pid = 0;
    /* 1: its "listening on" line could not be written, and it says so */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);
    start_server_args(args); /* the journal is whole: the job is there */
    connect_to(&cl);
    hello_client(&cl);
    register_job(&cl, &wl, 0, &dup);
    cr_assert(dup, "the job journaled with fds 1 and 2 closed is lost");
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* The status counters of the gateway c speaks to: jobs, finished,
 * forgotten, held (into v[4]). */
static void job_counts(rpc_client_t *c, int64_t v[4])
{
    cr_assert_eq(rpc_client_status(c, 21), WEFT_OK);
    const msgpack_object *m = wait_type(c, "status");
    const char *keys[4] = {"jobs", "jobs_finished", "jobs_forgotten", "jobs_held"};
    for (int k = 0; k < 4; k++)
        cr_assert_eq(rpc_get_int(m, keys[k], 0, INT64_MAX, &v[k]), WEFT_OK, "%s", keys[k]);
}

/* Gateway c's counts (job_counts) into v, polled for up to 5 s until n
 * jobs are forgotten: the pass after the last job_done forgets. */
static void wait_forgotten(rpc_client_t *c, int64_t n, int64_t v[4])
{
    for (int i = 0; i < 500; i++) {
        job_counts(c, v);
        if (v[2] == n)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* What gateway c says of jobs 7000 + [0, n): each one finished and
 * forgotten (job_status "forgotten": true, no JCT) but the jobs kept[0..2),
 * which it remembers finished with their JCT, and the running ones from
 * first_running on. */
static void expect_forgotten_but(rpc_client_t *c, int n, int first_running, const int kept[2])
{
    for (int j = 0; j < n; j++) {
        const msgpack_object *m = job_status_of(c, 7000 + j), *f = rpc_map_get(m, "forgotten");
        bool forgotten = f && f->type == MSGPACK_OBJECT_BOOLEAN && f->via.boolean;
        bool want = j < first_running && j != kept[0] && j != kept[1];
        cr_assert_eq(forgotten, want, "job %d: forgotten %d", 7000 + j, forgotten);
        const char *s;
        size_t ns;
        double t;
        cr_assert_eq(rpc_get_str(m, "state", &s, &ns), WEFT_OK);
        const char *state = j < first_running ? "finished" : "running";
        cr_assert(ns == strlen(state) && !memcmp(s, state, ns), "job %d: '%.*s'", 7000 + j,
                  (int)ns, s);
        cr_assert_eq(rpc_get_num_opt(m, "jct", 0, 1e9, &t) == WEFT_OK &&
                         rpc_map_get(m, "jct") != NULL,
                     j < first_running && !want, "job %d: a JCT", 7000 + j);
    }
}

/* The ack of a register or cancel of job id (seq) on c: whether it said
 * "dup" and "forgotten". */
static void expect_forgotten_ack(rpc_client_t *c, int64_t id)
{
    const msgpack_object *m = wait_type(c, "ack"), *d = rpc_map_get(m, "dup"),
                         *f = rpc_map_get(m, "forgotten");
    int64_t job;
    cr_assert(rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &job) == WEFT_OK && job == id);
    cr_assert(d && d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean, "job %lld: no dup",
              (long long)id);
    cr_assert(f && f->type == MSGPACK_OBJECT_BOOLEAN && f->via.boolean,
              "job %lld: not forgotten", (long long)id);
}

/* weft serve --keep-finished 2: of 190 jobs finished (200 registered,
 * each of 60 flows), the gateway remembers the last 2 and knows the
 * others as finished and forgotten (job_status, watch, a registration or
 * cancel of their ids, weft status --job), not as unknown; a late done
 * about a flow of one is acknowledged and not journaled; its table holds
 * the jobs in flight. Restarted from its journal (rewritten meanwhile),
 * with the same limit and then with none, it remembers the same 2 and
 * forgets the same 188, journaling none of their forget records again. */
Test(gateway_journal, keep_finished_forgets_the_oldest_and_a_restart_the_same,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 60)
{
    enum { JOBS = 200, DONE = 190, FLOWS = 60 };
    const char *args[] = {"--journal", journal_path, "--no-fsync", "--keep-finished", "2", NULL};
    start_server_args(args);
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, FLOWS);
    rpc_client_t cl, ag;
    connect_to(&cl);
    hello_client(&cl);
    connect_to(&ag);
    hello_agent0(&ag);
    uint64_t first[JOBS], fids[FLOWS];
    bool dup;
    long written = 0; /* bytes journaled, rewrites aside: at least a record a job */
    for (int j = 0; j < JOBS; j++) { /* each finished in turn: 7188, 7189 last */
        long size = file_size(journal_path);
        first[j] = register_job(&cl, &wl, (size_t)j, &dup);
        long grown = file_size(journal_path) - size;
        written += grown > 0 ? grown : 0;
        if (j >= DONE)
            continue;
        for (int f = 0; f < FLOWS; f++)
            fids[f] = first[j] + (uint64_t)f;
        cr_assert_eq(rpc_client_done(&ag, -1, fids, FLOWS), WEFT_OK);
        expect_pong(&ag, j); /* handled */
        wait_jobs_done(&cl, 7000 + j, 7001 + j);
    }
    int64_t v[4];
    wait_forgotten(&cl, DONE - 2, v);
    cr_assert(v[0] == JOBS && v[1] == DONE && v[2] == DONE - 2,
              "%lld jobs, %lld finished, %lld forgotten", (long long)v[0], (long long)v[1],
              (long long)v[2]);
    cr_assert_leq(v[3], 2 * (JOBS - DONE) + 16, "%lld jobs held", (long long)v[3]);
    const int kept[2] = {DONE - 2, DONE - 1};
    expect_forgotten_but(&cl, JOBS, DONE, kept);
    /* rewritten without the forgotten jobs as it grew */
    long after = file_size(journal_path);
    cr_assert_lt(after, written / 2, "journal %ld bytes, of %ld registered", after, written);
    char out[4096], gw[64];
    const char *check[] = {"journal", journal_path, "--ports", "4", NULL};
    cr_assert_eq(run_weft(out, sizeof out, check), 0, "%s", out);
    cr_assert(strstr(out, "; 188 finished and forgotten\n"), "%s", out);
    /* the forget records, which a restart must not write again */
    const char *forget = strstr(out, " forget, ");
    cr_assert(forget, "%s", out);
    while (forget > out && forget[-1] >= '0' && forget[-1] <= '9')
        forget--;
    long forgets = strtol(forget, NULL, 10);
    /* a late done about a forgotten job's flow: acknowledged, no error,
       nothing journaled; its registration, cancel and watch: finished */
    uint64_t late = first[3] + 7;
    cr_assert_eq(rpc_client_done(&ag, 77, &late, 1), WEFT_OK);
    const msgpack_object *m = wait_type(&ag, "ack");
    int64_t seq;
    cr_assert(rpc_get_int(m, "seq", 0, INT64_MAX, &seq) == WEFT_OK && seq == 77);
    expect_pong(&ag, 78); /* and no error frame before it */
    cr_assert_eq(file_size(journal_path), after, "a late completion was journaled");
    cr_assert_eq(rpc_client_register(&cl, 5, &wl, 5), WEFT_OK);
    expect_forgotten_ack(&cl, 7005);
    cr_assert_eq(rpc_client_cancel(&cl, 6, 7006), WEFT_OK);
    expect_forgotten_ack(&cl, 7006);
    int64_t watched = 7004;
    cr_assert_eq(rpc_client_watch(&cl, &watched, 1), WEFT_OK);
    m = wait_type(&cl, "job_done");
    const msgpack_object *f = rpc_map_get(m, "forgotten");
    cr_assert(f && f->type == MSGPACK_OBJECT_BOOLEAN && f->via.boolean && !rpc_map_get(m, "jct"));
    job_counts(&cl, v);
    cr_assert(v[0] == JOBS && v[1] == DONE && v[2] == DONE - 2, "nothing ran again");
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *st[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "7012", NULL};
    cr_assert_eq(run_weft(out, sizeof out, st), 0, "%s", out);
    cr_assert(strstr(out, "job 7012: finished, record forgotten (--keep-finished 2)"), "%s",
              out);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);

    const char *again[2][6] = {
        {"--journal", journal_path, "--no-fsync", "--keep-finished", "2", NULL},
        {"--journal", journal_path, "--no-fsync", NULL}};
    for (int r = 0; r < 2; r++) {
        stop_server();
        start_server_args(again[r]);
        connect_to(&cl);
        hello_client(&cl);
        job_counts(&cl, v);
        cr_assert(v[0] == JOBS && v[1] == DONE && v[2] == DONE - 2,
                  "restart %d: %lld jobs, %lld finished, %lld forgotten", r, (long long)v[0],
                  (long long)v[1], (long long)v[2]);
        expect_forgotten_but(&cl, JOBS, DONE, kept);
        rpc_client_destroy(&cl);
        cr_assert_eq(run_weft(out, sizeof out, check), 0, "%s", out);
        char want[64];
        snprintf(want, sizeof want, ", %ld forget, ", forgets);
        cr_assert(strstr(out, want), "restart %d: no '%s' in: %s", r, want + 2, out);
    }
    coflow_workload_destroy(&wl);
}

/* A client (cl) and agent 0 (ag) connected to the test's gateway, welcomed. */
static void client_and_agent0(rpc_client_t *cl, rpc_client_t *ag)
{
    connect_to(cl);
    hello_client(cl);
    connect_to(ag);
    hello_agent0(ag);
}

/* A gateway restarted without --keep-finished from a journal that forgot
 * a job: it still counts that job forgotten in weft status's table, and
 * weft status --job says its record was forgotten by no limit it has now.
 * job_status used to give keep_finished as SIZE_MAX cast to an int (-1),
 * printed "--keep-finished -1", and the table left the count out. */
Test(gateway_journal, a_restart_without_a_limit_still_says_what_was_forgotten,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 30)
{
    const char *args[] = {"--journal", journal_path, "--no-fsync", "--keep-finished", "0", NULL};
    start_server_args(args);
    coflow_workload_t wl;
    one_coflow_jobs(&wl, 1, 2);
    rpc_client_t cl, ag;
    client_and_agent0(&cl, &ag);
    bool dup;
    uint64_t first = register_job(&cl, &wl, 0, &dup), fids[2] = {first, first + 1};
    cr_assert_eq(rpc_client_done(&ag, -1, fids, 2), WEFT_OK);
    expect_pong(&ag, 1);
    int64_t v[4];
    wait_forgotten(&cl, 1, v);
    cr_assert_eq(v[2], 1);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    stop_server();
    const char *none[] = {"--journal", journal_path, "--no-fsync", NULL};
    start_server_args(none);
    char out[4096], gw[64];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *job[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "7000", NULL};
    cr_assert_eq(run_weft(out, sizeof out, job), 0, "%s", out);
    cr_assert(strstr(out, "job 7000: finished, record forgotten (by an earlier "
                          "--keep-finished)\n"), "%s", out);
    const char *table[] = {"status", "--gateway", gw, "--token", TOKEN, NULL};
    cr_assert_eq(run_weft(out, sizeof out, table), 0, "%s", out);
    cr_assert(strstr(out, "jobs forgotten"), "%s", out);
    coflow_workload_destroy(&wl);
}

/* The next message of type `type` for client c of in-process gateway gw,
 * polling it; *job_done counts the job_done messages passed on the way. */
static const msgpack_object *driven_wait(rpc_gateway_t *gw, rpc_client_t *c, const char *type,
                                         int *job_done)
{
    double t0 = weft_mono_s();
    while (weft_mono_s() - t0 < 5) {
        cr_assert_eq(rpc_gateway_poll(gw), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(rpc_client_flush(c), WEFT_OK);
        cr_assert_eq(rpc_client_read(c), WEFT_OK, "%s", weft_last_error());
        const msgpack_object *m;
        while (rpc_client_next(c, &m) == 1) {
            char t[32];
            rpc_msg_type(m, t, sizeof t);
            if (!strcmp(t, type))
                return m;
            *job_done += !strcmp(t, "job_done");
        }
    }
    cr_assert_fail("no '%s' within 5 s", type);
    return NULL;
}

/* What a restart from the journal keeps besides the jobs themselves:
 * - each job's JCT, and a running job's age, on one clock across the
 *   restart (the records carry their wall-clock time). Before, every job
 *   replayed arrived and finished at the restart: JCT 0;
 * - the journal to one gateway: a second `weft serve` on it is refused
 *   before it writes a byte. Before, it appended a record before finding
 *   its address taken, breaking the seals' chain, and the first gateway's
 *   acknowledged jobs could no longer be replayed;
 * - quiet about the jobs that finished before it: no job_done to the
 *   first client to connect (before, it got one for every such job). */
Test(gateway_journal, a_restart_keeps_jcts_and_one_gateway_holds_the_journal,
     .init = server_journal, .fini = stop_server_journal, .timeout = 60)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 2);
    for (int j = 0; j < 3; j++) {
        cr_assert_eq(coflow_workload_add_job(&wl, 41 + j, 0, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&wl, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&wl, 0, 1, 100), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    rpc_client_t cl, ag;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    uint64_t first41 = register_job(&cl, &wl, 0, &dup);
    register_job(&cl, &wl, 1, &dup); /* 42 runs on */
    connect_to(&ag);
    hello_agent0(&ag);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(rpc_client_done(&ag, -1, &first41, 1), WEFT_OK);
    expect_pong(&ag, 1);
    wait_jobs_done(&cl, 41, 42);
    double jct = 0;
    cr_assert_eq(rpc_get_num_opt(job_status_of(&cl, 41), "jct", 0, 1e9, &jct), WEFT_OK);
    cr_assert_gt(jct, 0.29, "JCT %g s", jct);
    /* weft submit of a job that finished before it ran reports the
       gateway's JCT, not 0 s counted from its own start */
    char one[96], sub_out[4096], gwa[32];
    snprintf(one, sizeof one, "%s.41.weft", journal_path);
    FILE *wf = fopen(one, "w");
    cr_assert(wf);
    fputs("weft-workload 1\nports 2\njob 41 0 1 0 1\ncoflow 1 0 1 -\n0 1 100\nend 1\n", wf);
    fclose(wf);
    snprintf(gwa, sizeof gwa, "127.0.0.1:%d", server_port);
    const char *resubmit[] = {"submit", one, "--gateway", gwa, "--token", TOKEN, "--timeout",
                              "10", NULL};
    int sst = run_weft(sub_out, sizeof sub_out, resubmit);
    unlink(one);
    cr_assert_eq(sst, 0, "weft submit: %s", sub_out);
    const char *done = strstr(sub_out, "job 41 done: JCT ");
    cr_assert(done, "%s", sub_out);
    char *end;
    cr_assert_float_eq(strtod(done + strlen("job 41 done: JCT "), &end), jct, 2e-3, "%s",
                       sub_out);
    /* and says whose clock it is, which a fresh run's line leaves out */
    cr_assert(!strncmp(end, " s (the gateway's clock)\n", 25), "%s", sub_out);

    long size = file_size(journal_path);
    char out[4096], addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", server_port); /* as a restart that came
                                                                  too soon would */
    const char *second[] = {"serve", "--listen", addr, "--ports", "4", "--token", TOKEN,
                            "--journal", journal_path, NULL};
    int st = run_weft(out, sizeof out, second);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    cr_assert(strstr(out, journal_path) && strstr(out, "is in use by another weft serve"),
              "%s", out);
    cr_assert_eq(file_size(journal_path), size, "the refused gateway wrote to the journal");
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    stop_server();
    ts.tv_nsec = 400 * 1000 * 1000;
    nanosleep(&ts, NULL);

    rpc_gateway_opts_t o = {0};
    o.n_ports = 4;
    o.port_rate = 1e6;
    o.ord = coflow_ordering_find("sebf");
    o.token = TOKEN;
    o.tick_s = 3600; /* decides when a registration asks */
    o.journal = journal_path;
    o.journal_nosync = true;
    rpc_gateway_t *gw;
    cr_assert_eq(rpc_gateway_new(&gw, &o), WEFT_OK, "%s", weft_last_error());
    rpc_client_t c;
    rpc_client_init(&c);
    c.fd = adopted_peer(gw);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN), WEFT_OK);
    int job_done = 0;
    driven_wait(gw, &c, "welcome", &job_done);
    cr_assert_eq(rpc_client_register(&c, 5, &wl, 2), WEFT_OK); /* 43: a decision */
    driven_wait(gw, &c, "ack", &job_done);
    cr_assert_eq(rpc_client_ping(&c, 6), WEFT_OK);
    driven_wait(gw, &c, "pong", &job_done);
    cr_assert_eq(job_done, 0, "job_done for a job that finished before the restart");
    double again = 0, age = 0;
    cr_assert_eq(rpc_client_job_status(&c, 7, 41), WEFT_OK);
    cr_assert_eq(rpc_get_num_opt(driven_wait(gw, &c, "job_status", &job_done), "jct", 0, 1e9,
                                 &again), WEFT_OK);
    cr_assert_float_eq(again, jct, 1e-3, "JCT %g s before the restart, %g s after", jct, again);
    cr_assert_eq(rpc_client_job_status(&c, 8, 42), WEFT_OK);
    cr_assert_eq(rpc_get_num_opt(driven_wait(gw, &c, "job_status", &job_done), "age", 0, 1e9,
                                 &age), WEFT_OK);
    cr_assert_gt(age, jct + 0.39, "job 42 is %g s old, though it ran %g s before a restart "
                 "0.4 s later", age, jct);
    rpc_client_destroy(&c);
    rpc_gateway_free(gw);
    coflow_workload_destroy(&wl);
}

/* weft submit on jobs a gateway under --keep-finished 1 finished before
 * the run and forgot but the last: their job_done says "forgotten" in
 * place of a JCT, so submit has none to print (it printed the time from
 * their arrival in this run to the answer: "JCT 0.000 s", averaged in) and
 * leaves them out of the average and the CSV's jct_s; the job remembered
 * keeps the gateway's JCT. */
Test(gateway_journal, submit_has_no_jct_for_a_job_the_gateway_forgot,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 60)
{
    enum { JOBS = 3, FLOWS = 2 };
    const char *args[] = {"--keep-finished", "1", NULL};
    start_server_args(args);
    coflow_workload_t wl;
    one_coflow_jobs(&wl, JOBS, FLOWS);
    char file[64], csv[64], out[4096], gw[32];
    snprintf(file, sizeof file, "/tmp/weft-gw-forgot-%d.weft", (int)getpid());
    snprintf(csv, sizeof csv, "/tmp/weft-gw-forgot-%d.csv", (int)getpid());
    cr_assert_eq(workload_save_weft(&wl, file), WEFT_OK, "%s", weft_last_error());
    rpc_client_t cl, ag;
    connect_to(&cl);
    hello_client(&cl);
    connect_to(&ag);
    hello_agent0(&ag);
    for (int j = 0; j < JOBS; j++) { /* each finished in turn: 7002 last */
        bool dup;
        uint64_t first = register_job(&cl, &wl, (size_t)j, &dup), fids[FLOWS];
        for (int f = 0; f < FLOWS; f++)
            fids[f] = first + (uint64_t)f;
        cr_assert_eq(rpc_client_done(&ag, -1, fids, FLOWS), WEFT_OK);
        expect_pong(&ag, j);
        wait_jobs_done(&cl, 7000 + j, 7001 + j);
    }
    int64_t v[4];
    wait_forgotten(&cl, JOBS - 1, v);
    cr_assert_eq(v[2], JOBS - 1, "%lld forgotten", (long long)v[2]);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);

    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", file, "--gateway", gw, "--token", TOKEN,
                            "--timeout", "10", "--out", csv, NULL};
    int st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 0, "submit: exit status %d: %s", st, out);
    for (int j = 0; j < JOBS - 1; j++) {
        char line[128];
        snprintf(line, sizeof line,
                 "job %d done: JCT unknown (its record forgotten: --keep-finished)\n", 7000 + j);
        cr_assert(strstr(out, line), "no '%s' in:\n%s", line, out);
    }
    cr_assert(strstr(out, "job 7002 done: JCT ") && !strstr(out, "job 7002 done: JCT unknown"),
              "%s", out);
    cr_assert(strstr(out, "3 jobs, 2 of unknown JCT (records forgotten: --keep-finished); "
                          "average JCT ") &&
                  strstr(out, " s over the 1 timed\n"),
              "%s", out);
    FILE *f = fopen(csv, "r");
    cr_assert(f);
    size_t got = fread(out, 1, sizeof out - 1, f);
    out[got] = 0;
    fclose(f);
    cr_assert(strstr(out, "\n7000,0,,0\n7001,0,,0\n7002,0,"), "%s", out);
    unlink(file);
    unlink(csv);
    coflow_workload_destroy(&wl);
}

/* A cancelled job's unfinished flows keep the bytes reported before the
 * cancel through restarts: the cancel record carries them, as no agent
 * reports a dropped flow again (a rewritten journal too:
 * journal_rewrite_keeps_when_jobs_arrived_and_ended). Before, job_status
 * read 0 for them after a restart. */
Test(gateway_journal, a_cancelled_jobs_bytes_sent_survive_a_restart,
     .init = server_journal, .fini = stop_server_journal, .timeout = 30)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 1e9);
    coflow_workload_add_flow(&wl, 0, 2, 1e9);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    rpc_client_t cl, ag;
    bool dup;
    connect_to(&cl);
    hello_client(&cl);
    uint64_t f = register_job(&cl, &wl, 0, &dup);
    connect_to(&ag);
    hello_agent0(&ag);
    uint64_t fids[2] = {f, f + 1};
    double sent[2] = {3e5, 0};
    cr_assert_eq(rpc_client_progress(&ag, fids, sent, 2), WEFT_OK);
    cr_assert_eq(rpc_client_ping(&ag, 5), WEFT_OK);
    wait_type(&ag, "pong"); /* the report is in */
    cr_assert_eq(rpc_client_cancel(&cl, 13, 5), WEFT_OK);
    wait_type(&cl, "ack");
    rpc_client_destroy(&ag);
    char state[16];
    double v[4];
    for (int run = 0; run < 3; run++) { /* live, restarted, restarted again */
        coflow_row(job_status_of(&cl, 5), 0, state, v);
        cr_assert(!strcmp(state, "cancelled") && v[0] == 0 && v[1] == 3e5,
                  "run %d: %s, %g flows done, %g bytes sent", run, state, v[0], v[1]);
        rpc_client_destroy(&cl);
        stop_server();
        start_server4("--journal", journal_path, "--no-fsync", NULL);
        connect_to(&cl);
        hello_client(&cl);
    }
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* A cancel whose "sent" is longer than one record takes (300,000 flows
 * with bytes reported: 4.5 MB of [flow id, bytes] against the record cap
 * of 4 MiB, the larger of that and --max-frame) is journaled in several
 * cancel records, which weft journal reads and a restart replays: every
 * byte is known. The one record was over the cap: the cancel stopped the
 * gateway. */
Test(gateway_journal, a_cancel_with_a_long_sent_is_journaled_in_parts,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 120)
{
    enum { BIG = 300000 };
    /* a frame cap of 1.5 million objects, for the 1.2 million of the job */
    const char *args[] = {"--max-frame", "3000000", "--journal", journal_path, "--no-fsync",
                          NULL};
    start_server_args(args);
    rpc_client_t cl, ag;
    connect_to(&cl);
    hello_client(&cl);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_workload_add_job(&wl, 9000, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(&wl, 1, 0);
    for (int f = 0; f < BIG; f++)
        coflow_workload_add_flow(&wl, 0, 1, 100);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    bool dup;
    uint64_t first = register_job(&cl, &wl, 0, &dup);
    connect_to(&ag);
    hello_agent0(&ag);
    static uint64_t fids[BIG];
    static double sent[BIG];
    for (int f = 0; f < BIG; f++)
        fids[f] = first + (uint64_t)f, sent[f] = 50;
    for (int a = 0; a < BIG; a += 100000) /* 1.5 MB a report */
        cr_assert_eq(rpc_client_progress(&ag, fids + a, sent + a, 100000), WEFT_OK, "%s",
                     weft_last_error());
    expect_pong(&ag, 1); /* the reports are in */
    rpc_client_destroy(&ag);
    cr_assert_eq(rpc_client_cancel(&cl, 2, 9000), WEFT_OK);
    wait_type(&cl, "ack");
    char state[16], out[4096];
    double v[4];
    for (int run = 0; run < 2; run++) { /* live, then restarted from the journal */
        coflow_row(job_status_of(&cl, 9000), 0, state, v);
        cr_assert(!strcmp(state, "cancelled") && v[1] == 50.0 * BIG,
                  "run %d: %s, %g bytes sent", run, state, v[1]);
        rpc_client_destroy(&cl);
        stop_server();
        const char *check[] = {"journal", journal_path, "--ports", "4", "--max-frame",
                               "3000000", NULL};
        cr_assert_eq(run_weft(out, sizeof out, check), 0, "%s", out);
        cr_assert(strstr(out, " 1 job, 0 done, 5 cancel"), "%s", out); /* 65,536 a record */
        start_server_args(args);
        connect_to(&cl);
        hello_client(&cl);
    }
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* ----------------------------------------------- journal files at start */

/* Three journal records registering jobs 7, 8 and 9 (one flow each on
 * 4 ports); starts[k] is where record k begins. */
static void three_job_records(coflow_workload_t *wl, msgpack_sbuffer *sb, size_t starts[3])
{
    coflow_workload_init(wl, 4);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(coflow_workload_add_job(wl, 7 + k, 0, 1, 0), WEFT_OK);
        coflow_workload_add_coflow(wl, 1, 0);
        coflow_workload_add_flow(wl, 0, 1, 1000);
        cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
    }
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    for (size_t k = 0; k < 3; k++) {
        size_t mark;
        starts[k] = sb->size;
        cr_assert_eq(rpc_frame_begin(sb, &mark), WEFT_OK);
        msgpack_pack_map(&pk, 2);
        rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "job");
        rpc_pack_cstr(&pk, "job"), rpc_job_pack(&pk, wl, k);
        cr_assert_eq(rpc_frame_end(sb, mark, 0), WEFT_OK);
    }
}

/* Whether bytes[0..n) are exactly one journal record {"r": "epoch", "id": N}. */
static bool is_epoch_record(const char *bytes, size_t n)
{
    rpc_decoder_t dec;
    rpc_frame_t fr;
    rpc_decoder_init(&dec, NULL);
    rpc_frame_init(&fr);
    size_t taken;
    const char *r;
    size_t nr;
    int64_t id;
    bool ok = rpc_decoder_feed(&dec, bytes, n, &taken) == WEFT_OK && taken == n &&
              rpc_decoder_next(&dec, &fr) == 1 && rpc_decoder_pending(&dec) == 0 &&
              rpc_get_str(&fr.msg.data, "r", &r, &nr) == WEFT_OK && nr == 5 &&
              !memcmp(r, "epoch", 5) &&
              rpc_get_int(&fr.msg.data, "id", 1, INT64_MAX, &id) == WEFT_OK;
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    return ok;
}

/* A byte of record 2's length set so that the record runs past the end of
 * the file (the audit's case: jobs 8 and 9 swallowed by it) or past the
 * record cap: weft serve refuses to start, names the journal, the record
 * and the byte offset, and leaves the file as it was. It used to take the
 * first for a torn tail and cut jobs 8 and 9 off without a word. */
Test(gateway_journal_files, serve_refuses_a_corrupted_length, .timeout = 90)
{
    coflow_workload_t wl;
    msgpack_sbuffer sb;
    size_t at[3];
    three_job_records(&wl, &sb, at);
    char path[64], torn[96], out[2048], back[512];
    snprintf(path, sizeof path, "/tmp/weft-gw-badlen-%d.journal", (int)getpid());
    snprintf(torn, sizeof torn, "%s.torn-%zu", path, at[1]);
    const struct {
        size_t byte;         /* of record 2's 4-byte length */
        unsigned char value;
    } cases[] = {{2, 0xff}, {1, 0x7f}, {0, 0xff}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        unsigned char saved = (unsigned char)sb.data[at[1] + cases[k].byte];
        sb.data[at[1] + cases[k].byte] = (char)cases[k].value;
        write_file(path, sb.data, sb.size);
        const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token",
                              TOKEN, "--journal", path, NULL};
        int st = run_weft(out, sizeof out, args);
        cr_assert_eq(st, 1, "case %zu: exit status %d: %s", k, st, out);
        char where[160];
        snprintf(where, sizeof where, "journal %s: damaged after record #1 (byte %zu)", path,
                 at[1]);
        cr_assert(strstr(out, where), "case %zu: '%s' lacks '%s'", k, out, where);
        cr_assert(strstr(out, "move it away"), "case %zu: no way out in '%s'", k, out);
        cr_assert_eq(read_file(path, back, sizeof back), sb.size, "case %zu: the file was cut",
                     k);
        cr_assert(!memcmp(back, sb.data, sb.size), "case %zu: the file changed", k);
        cr_assert_neq(access(torn, F_OK), 0, "case %zu: %s was written", k, torn);
        sb.data[at[1] + cases[k].byte] = (char)saved;
    }
    unlink(path);
    msgpack_sbuffer_destroy(&sb);
    coflow_workload_destroy(&wl);
}

/* A new journal at path written by a real weft serve: jobs[n] of
 * three_job_records' workload (left in *wl) registered, then the gateway
 * stopped. */
static void journal_of_jobs(const char *path, coflow_workload_t *wl, const size_t *jobs,
                            size_t n)
{
    msgpack_sbuffer sb;
    size_t at[3];
    three_job_records(wl, &sb, at);
    msgpack_sbuffer_destroy(&sb);
    unlink(path);
    start_server4("--journal", path, NULL, NULL);
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    for (size_t k = 0; k < n; k++) {
        bool dup;
        register_job(&c, wl, jobs[k], &dup);
        cr_assert(!dup, "job %zu was in the new journal", jobs[k]);
    }
    cr_assert_geq(journal_syncs(&c), (int64_t)n, "fewer fdatasyncs than registrations acked");
    rpc_client_destroy(&c);
    stop_server();
}

/* One bit of a job record in the journal of a real gateway changed where
 * the record still decodes (the last byte of the job map): weft serve
 * refuses to start, naming the journal, the record, its byte offset and
 * the checksum, and leaves the file as it was. Before journal format 2 the
 * gateway started with the changed job. */
Test(gateway_journal_files, serve_refuses_a_record_damaged_where_it_still_decodes,
     .timeout = 30)
{
    coflow_workload_t wl;
    char path[64], out[2048], file[4096], back[4096];
    snprintf(path, sizeof path, "/tmp/weft-gw-sealed-%d.journal", (int)getpid());
    journal_of_jobs(path, &wl, (size_t[]){1}, 1);
    size_t size = read_file(path, file, sizeof file), job_at = 0, job_n = 0, k = 0;
    cr_assert(!memcmp(file, rpc_journal_header, RPC_JOURNAL_HEADER_BYTES));
    for (size_t p = RPC_JOURNAL_HEADER_BYTES; p < size; k++) {
        size_t n = RPC_HEADER_BYTES + frame_length((unsigned char *)file + p);
        if (memmem(file + p, n, "\xa1r\xa3job", 6))
            job_at = p, job_n = n;
        p += n;
    }
    cr_assert_gt(job_n, 0, "no job record in the journal");
    file[job_at + job_n - 14] ^= 1;
    /* it still decodes */
    rpc_decoder_t dec;
    rpc_frame_t fr;
    rpc_decoder_init(&dec, NULL);
    rpc_frame_init(&fr);
    size_t taken;
    cr_assert_eq(rpc_decoder_feed(&dec, file + job_at, job_n, &taken), WEFT_OK);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 1, "the damaged record no longer decodes");
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    write_file(path, file, size);
    const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token", TOKEN,
                          "--journal", path, NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    char where[160];
    snprintf(where, sizeof where, "journal %s: damaged after record #1 (byte %zu): record #2",
             path, job_at);
    cr_assert(strstr(out, where), "'%s' lacks '%s'", out, where);
    cr_assert(strstr(out, "checksum does not match") && strstr(out, "move it away"), "%s", out);
    cr_assert_eq(read_file(path, back, sizeof back), size, "the file was cut");
    cr_assert(!memcmp(back, file, size), "the file changed");
    unlink(path);
    coflow_workload_destroy(&wl);
}

/* A restart with fewer --ports than the journal's jobs use is told the
 * --ports that reads the whole journal: its later job's ports (0..6), not
 * only those of the first job refused (0..2), which was a lower bound, so
 * an operator who followed it was refused again. Given that, it starts. */
Test(gateway_journal_files, fewer_ports_are_told_the_ports_of_the_whole_journal,
     .init = make_journal_path, .fini = stop_server_journal, .timeout = 30)
{
    coflow_workload_t wl;
    coflow_workload_init(&wl, 8);
    for (uint32_t j = 0; j < 2; j++) { /* job 0 on ports 0 and 2, job 1 on 0 and 6 */
        cr_assert_eq(coflow_workload_add_job(&wl, j, 0, 1, 0), WEFT_OK);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 2 + 4 * j, 1000);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    const char *wide[] = {"--journal", journal_path, "--ports", "8", NULL};
    start_server_args(wide);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    uint64_t first[2];
    for (size_t j = 0; j < 2; j++)
        first[j] = register_job(&cl, &wl, j, &dup);
    rpc_client_destroy(&cl);
    stop_server();
    const char *serve[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "2", "--token",
                           TOKEN, "--journal", journal_path, NULL};
    const char *check[] = {"journal", journal_path, "--ports", "2", NULL};
    const char *const *runs[2] = {serve, check};
    char out[2048];
    for (int r = 0; r < 2; r++) {
        int st = run_weft(out, sizeof out, runs[r]);
        cr_assert_eq(st, 1, "weft %s: exit status %d: %s", runs[r][0], st, out);
        cr_assert(strstr(out, "job 0 coflow 1: flow 0->2 uses port 2 outside the fabric "
                              "(ports 0..1): the journal was written with more ports; give "
                              "--ports 7 or more (its jobs use ports 0..6), or move it away to "
                              "start without its jobs\n"), "weft %s: %s", runs[r][0], out);
    }
    const char *seven[] = {"--journal", journal_path, "--ports", "7", NULL};
    start_server_args(seven);
    connect_to(&cl);
    hello_client(&cl);
    for (size_t j = 0; j < 2; j++) {
        cr_assert_eq(register_job(&cl, &wl, j, &dup), first[j], "job %zu", j);
        cr_assert(dup, "job %zu was lost", j);
    }
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* weft journal FILE --ports N reads a real gateway's journal as weft serve
 * would at start and leaves it byte for byte as it was: it names what the
 * gateway would start with (records by kind, jobs, flows), reports a torn
 * tail without cutting it or writing the .torn file, refuses a changed
 * bit and a job outside the fabric with the gateway's messages (status 1),
 * and leaves an empty file empty. */
Test(gateway_journal_files, weft_journal_checks_a_journal_without_changing_it, .timeout = 30)
{
    coflow_workload_t wl;
    char path[64], out[4096], file[4096], back[4096], torn[96];
    snprintf(path, sizeof path, "/tmp/weft-gw-check-%d.journal", (int)getpid());
    journal_of_jobs(path, &wl, (size_t[]){0, 2}, 2);
    size_t size = read_file(path, file, sizeof file);
    const char *args[] = {"journal", path, "--ports", "4", NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "weft serve would start with it; format 2, every record's checksum "
                          "matches"), "%s", out);
    cr_assert(strstr(out, "records      3: 1 epoch, 2 job, 0 done"), "%s", out);
    cr_assert(strstr(out, "jobs         2 in the table, 0 of them finished"), "%s", out);
    cr_assert(strstr(out, "flows        2 in the table, 0 of them done, 0 dropped by "
                          "cancels; next flow id 2"), "%s", out);
    cr_assert(!strstr(out, "torn"), "%s", out);
    /* a torn tail: reported, not cut, not kept */
    size_t last = RPC_JOURNAL_HEADER_BYTES, n = 0;
    for (size_t p = last; p < size; p += n)
        last = p, n = RPC_HEADER_BYTES + frame_length((unsigned char *)file + p);
    memcpy(file + size, file + last, 5);
    write_file(path, file, size + 5);
    st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    char want[240];
    snprintf(want, sizeof want, "torn tail    5 bytes at byte %zu", size);
    cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
    cr_assert_eq(read_file(path, back, sizeof back), size + 5, "the torn tail was cut");
    snprintf(torn, sizeof torn, "%s.torn-%zu", path, size);
    cr_assert_neq(access(torn, F_OK), 0, "%s was written", torn);
    /* a job outside the fabric */
    const char *narrow[] = {"journal", path, "--ports", "1", NULL};
    st = run_weft(out, sizeof out, narrow);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "record #2") && strstr(out, "outside the fabric"), "%s", out);
    /* and says which --ports reads it: one past the largest port of its
       jobs (0 and 2), from the workload, not from the message */
    size_t top = 0;
    for (size_t j = 0; j < 3; j += 2) {
        size_t first, nf = coflow_job_flows(&wl, j, &first);
        for (size_t f = first; f < first + nf; f++) {
            top = wl.flows[f].src > top ? wl.flows[f].src : top;
            top = wl.flows[f].dst > top ? wl.flows[f].dst : top;
        }
    }
    snprintf(want, sizeof want, "the journal was written with more ports; give --ports %zu or "
             "more (its jobs use ports 0..%zu), or move it away to start without its jobs\n",
             top + 1, top);
    cr_assert(top > 0 && strstr(out, want), "'%s' lacks '%s'", out, want);
    /* a changed bit in the last record */
    file[last + n - 14] ^= 1;
    write_file(path, file, size);
    st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    snprintf(want, sizeof want, "journal %s: damaged after record #2 (byte %zu): record #3",
             path, last);
    cr_assert(strstr(out, want) && strstr(out, "checksum does not match"), "'%s' lacks '%s'",
              out, want);
    snprintf(want, sizeof want, "(its first %zu bytes hold records #1-#2)", last);
    cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
    cr_assert_eq(read_file(path, back, sizeof back), size);
    cr_assert(!memcmp(back, file, size), "the damaged journal changed");
    /* an empty file stays empty */
    write_file(path, "", 0);
    st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "no records; weft serve would start a new journal here"), "%s", out);
    struct stat sb_path;
    cr_assert_eq(stat(path, &sb_path), 0);
    cr_assert_eq(sb_path.st_size, 0, "the empty journal was given a header");
    unlink(path);
    coflow_workload_destroy(&wl);
}

/* weft journal takes the gateway's --ports and --max-frame as weft serve
 * took them: 8e6 was refused ("expected a whole number") by the command
 * meant to read that gateway's journal, and --max-frame 1 taken. Neither
 * takes hex, which serve read as 16 from --ports 0x10. */
Test(gateway_journal_files, weft_journal_takes_the_numbers_weft_serve_took, .timeout = 30)
{
    coflow_workload_t wl;
    char path[64], out[4096], plain[4096];
    snprintf(path, sizeof path, "/tmp/weft-gw-nums-%d.journal", (int)getpid());
    journal_of_jobs(path, &wl, (size_t[]){0, 2}, 2);
    const char *args[] = {"journal", path, "--ports", "4", NULL};
    cr_assert_eq(run_weft(plain, sizeof plain, args), 0, "%s", plain);
    const char *as_serve[] = {"journal", path, "--ports", "4e0", "--max-frame", "8e6", NULL};
    int st = run_weft(out, sizeof out, as_serve);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    cr_assert_str_eq(out, plain);
    const char *small[] = {"journal", path, "--ports", "4", "--max-frame", "4095", NULL};
    st = run_weft(out, sizeof out, small);
    cr_assert_eq(st, 2, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "--max-frame '4095': expected a whole number from 4096 to 1000000000"),
              "%s", out);
    const char *hex[] = {"serve", "--ports", "0x10", "--token", TOKEN, NULL};
    st = run_weft(out, sizeof out, hex);
    cr_assert_eq(st, 2, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "--ports '0x10': expected a whole number from 1 to"), "%s", out);
    unlink(path);
    coflow_workload_destroy(&wl);
}

/* weft journal names a bad option as weft model, eval and the workload
 * commands do; it gave getopt's "unrecognized option" and "requires an
 * argument". */
Test(gateway_journal_files, weft_journal_names_a_bad_option_as_the_others_do, .timeout = 30)
{
    char out[4096];
    const char *unknown[] = {"journal", "j", "--ports", "4", "--bogus", NULL};
    cr_assert_eq(run_weft(out, sizeof out, unknown), 2, "%s", out);
    cr_assert(!strncmp(out, "weft journal: unknown option '--bogus'\nusage: ", 46), "%s", out);
    const char *bare[] = {"journal", "j", "--ports", NULL};
    cr_assert_eq(run_weft(out, sizeof out, bare), 2, "%s", out);
    cr_assert(!strncmp(out, "weft journal: option '--ports' needs a value\n", 45), "%s", out);
}

/* The last record cut short as by a crash mid-write: weft serve warns with
 * the offset and byte count, keeps the bytes in JOURNAL.torn-OFFSET, cuts
 * them off, and knows the two complete jobs (registering them again is a
 * duplicate) but not the torn one. It used to cut the tail without a
 * word. */
Test(gateway_journal_files, serve_keeps_a_torn_tail_and_serves_the_complete_jobs,
     .fini = stop_server, .timeout = 30)
{
    coflow_workload_t wl;
    msgpack_sbuffer sb;
    size_t at[3];
    three_job_records(&wl, &sb, at);
    char path[64], torn[96], err_path[64], out[2048], back[512];
    snprintf(path, sizeof path, "/tmp/weft-gw-torn-%d.journal", (int)getpid());
    snprintf(torn, sizeof torn, "%s.torn-%zu", path, at[2]);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-torn-%d.err", (int)getpid());
    unlink(torn);
    size_t cut = sb.size - 5, n_torn = cut - at[2];
    write_file(path, sb.data, cut);
    server_stderr = err_path;
    start_server4("--journal", path, NULL, NULL);
    server_stderr = NULL;
    size_t n = read_file(err_path, out, sizeof out - 1);
    out[n] = 0;
    char warning[256];
    snprintf(warning, sizeof warning, "warning: journal %s: cut off a torn last record, %zu "
             "bytes at byte %zu", path, n_torn, at[2]);
    cr_assert(strstr(out, warning), "'%s' lacks '%s'", out, warning);
    cr_assert(strstr(out, torn), "'%s' does not say where the bytes are", out);
    cr_assert_eq(read_file(torn, back, sizeof back), n_torn);
    cr_assert(!memcmp(back, sb.data + at[2], n_torn), "the kept bytes differ");
    /* a journal from before checksums is rewritten in format 2 at start,
       with the epoch record a journal from before epochs gets */
    snprintf(warning, sizeof warning, "journal %s: 2 records from before checksums (journal "
             "format 1) were read unchecked; the journal was rewritten in format 2", path);
    cr_assert(strstr(out, warning), "'%s' lacks '%s'", out, warning);
    char kept[4096];
    size_t n_kept = read_file(path, kept, sizeof kept);
    cr_assert_gt(n_kept, RPC_JOURNAL_HEADER_BYTES);
    cr_assert(!memcmp(kept, rpc_journal_header, RPC_JOURNAL_HEADER_BYTES));
    size_t first = RPC_JOURNAL_HEADER_BYTES, n_first = RPC_HEADER_BYTES + frame_length(
                                                 (unsigned char *)kept + first);
    cr_assert(is_epoch_record(kept + first, n_first), "the rewritten journal's first record");
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    bool dup;
    register_job(&c, &wl, 0, &dup);
    cr_assert(dup, "job 7 was lost");
    register_job(&c, &wl, 1, &dup);
    cr_assert(dup, "job 8 was lost");
    register_job(&c, &wl, 2, &dup);
    cr_assert(!dup, "job 9 came from its torn record");
    rpc_client_destroy(&c);
    unlink(path);
    unlink(torn);
    unlink(err_path);
    msgpack_sbuffer_destroy(&sb);
    coflow_workload_destroy(&wl);
}

static weft_err_t replay_nothing(void *arg, const msgpack_object *rec)
{
    (void)arg, (void)rec;
    return WEFT_OK;
}

/* path[64] := /tmp/weft-gw-NAME-PID.journal, a journal of this test's own. */
static void scratch_journal(char path[64], const char *name)
{
    snprintf(path, 64, "/tmp/weft-gw-%s-%d.journal", name, (int)getpid());
}

/* Counts the records replayed into *(size_t *)arg; a record reaches the
 * replay as it was built, without its seal's "sum". */
static weft_err_t replay_count(void *arg, const msgpack_object *rec)
{
    cr_assert_null(rpc_map_get(rec, "sum"), "a record was replayed with its seal");
    ++*(size_t *)arg;
    return WEFT_OK;
}

/* Appends the record {"r": "base", "fid": fid} through the journal. */
static void append_base(rpc_journal_t *j, uint64_t fid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(rpc_journal_base_record(&sb, fid), WEFT_OK);
    cr_assert_eq(rpc_journal_append(j, sb.data, sb.size), WEFT_OK, "%s", weft_last_error());
    msgpack_sbuffer_destroy(&sb);
}

/* Appends bytes[n] to the file at path. */
static void add_to_file(const char *path, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

/* A new journal at path (format 2) of n base records; returns its size. */
static size_t journal_of_bases(const char *path, int n)
{
    unlink(path);
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK, "%s",
                 weft_last_error());
    for (int k = 0; k < n; k++)
        append_base(&j, (uint64_t)k);
    rpc_journal_close(&j);
    return (size_t)file_size(path);
}

/* Checks the journal at path read-only: status `want`, and (for damage)
 * the message naming record #records at byte `at` and holding `needle`. */
static void expect_check(const char *path, weft_err_t want, uint64_t records, size_t at,
                         const char *needle)
{
    rpc_journal_t j;
    size_t n = 0;
    weft_err_t err = rpc_journal_check(&j, path, 0, replay_count, &n);
    cr_assert_eq(err, want, "got %d: %s", (int)err, weft_last_error());
    char where[160];
    snprintf(where, sizeof where, "journal %s: damaged after record #%llu (byte %zu): ", path,
             (unsigned long long)records, at);
    if (want == WEFT_EPROTO)
        cr_assert(strstr(weft_last_error(), where), "'%s' lacks '%s'", weft_last_error(), where);
    if (needle)
        cr_assert(strstr(weft_last_error(), needle), "'%s' lacks '%s'", weft_last_error(),
                  needle);
    if (!err) {
        cr_assert_eq(n, records, "%zu records replayed, expected %llu", n,
                     (unsigned long long)records);
        rpc_journal_close(&j); /* a check that fails has closed it */
    }
}

/* Closes j, then checks its journal at path: whole, of `records` records. */
static void close_and_expect(rpc_journal_t *j, const char *path, uint64_t records)
{
    rpc_journal_close(j);
    expect_check(path, WEFT_OK, records, 0, NULL);
}

/* Points pk at sb (initialised here) and begins a frame there holding a
 * map of n entries; *mark is the frame's start for rpc_frame_end. */
static void begin_map_frame(msgpack_sbuffer *sb, msgpack_packer *pk, size_t *mark, uint32_t n)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    cr_assert_eq(rpc_frame_begin(sb, mark), WEFT_OK);
    msgpack_pack_map(pk, n);
}

/* A frame of {"r": "base", "pad": bin} of `bytes` (> 270) payload bytes, as a
 * gateway of a larger --max-frame journals a large record, unsealed, into
 * sb (initialised here). */
static void pad_record(msgpack_sbuffer *sb, size_t bytes)
{
    msgpack_packer pk;
    size_t mark, bin = bytes - 12 - 5; /* map, "r", "base", "pad"; a bin32 header */
    if (bin < 65536)
        bin = bytes - 12 - 3; /* a bin16 header: bytes from 271 */
    char *pad = calloc(1, bin);
    cr_assert_not_null(pad);
    begin_map_frame(sb, &pk, &mark, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "base");
    rpc_pack_cstr(&pk, "pad"), msgpack_pack_bin(&pk, bin), msgpack_pack_bin_body(&pk, pad, bin);
    cr_assert_eq(rpc_frame_end(sb, mark, 1u << 30), WEFT_OK);
    cr_assert_eq(sb->size - mark, RPC_HEADER_BYTES + bytes);
    free(pad);
}

/* What is left after the last complete record is cut off as torn only if
 * it can begin a record: one byte of a length is (and a record appended
 * after the cut reads back), and so are two bytes of a length within the
 * cap whatever the decoder's buffer held after them; one byte already over
 * the record cap, or a payload whose last byte present is no msgpack type,
 * is damage, the file left as it is. */
Test(gateway_journal_files, a_tail_is_cut_off_only_if_it_can_start_a_record, .timeout = 30)
{
    char path[64];
    scratch_journal(path, "tails");
    size_t size = journal_of_bases(path, 2);
    const struct {
        const char *bytes;
        size_t n;
        const char *why;
    } damage[] = {
        {"\xff", 1, "its first 1 length bytes already exceed the 4194319-byte record cap"},
        {"\0\0\0\x0a\x81\xa1" "a\xc1", 8, "payload byte 3: 0xc1 is not a msgpack type"},
    };
    for (size_t k = 0; k < sizeof damage / sizeof *damage; k++) {
        cr_assert_eq(truncate(path, (off_t)size), 0);
        add_to_file(path, damage[k].bytes, damage[k].n);
        expect_check(path, WEFT_EPROTO, 2, size, damage[k].why);
        cr_assert_eq(file_size(path), (long)(size + damage[k].n), "case %zu: cut", k);
    }
    cr_assert_eq(truncate(path, (off_t)size), 0);
    add_to_file(path, "\0", 1);
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(j.torn_at, size);
    cr_assert_eq(j.torn_bytes, 1);
    cr_assert_not_null(j.torn_path);
    unlink(j.torn_path);
    append_base(&j, 2);
    close_and_expect(&j, path, 3);
    /* two bytes of a length just under the cap, after a record of over 255
       bytes, whose third header byte is not 0: the missing bytes count as 0 */
    msgpack_sbuffer sb;
    pad_record(&sb, 300);
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK, "%s", weft_last_error());
    rpc_journal_close(&j);
    msgpack_sbuffer_destroy(&sb);
    size = (size_t)file_size(path);
    add_to_file(path, "\0\x40", 2);
    cr_assert_eq(rpc_journal_check(&j, path, 0, replay_nothing, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(j.torn_at, size);
    cr_assert_eq(j.torn_bytes, 2);
    rpc_journal_close(&j);
    unlink(path);
}

/* A journal's header is read digit by digit to its newline: format 12 is
 * a newer format, named as such; "3X" and "02" are no header this weft
 * knows. A header cut short by a crash while a journal was made is
 * replaced by the whole one (not written after it), and the records
 * appended then read back. An epoch record of id 0 is damage in that
 * record, placed before it; it was placed after it, as one of the records
 * the operator could keep. A kind "epochs" is not taken for "epoch". */
Test(gateway_journal_files, a_journals_header_and_epoch_are_read_exactly, .timeout = 30)
{
    char path[64];
    scratch_journal(path, "header");
    const char *const headers[3] = {"\xffweft journal 12\n", "\xffweft journal 3X\n",
                                    "\xffweft journal 02\n"};
    rpc_journal_t j;
    for (int k = 0; k < 3; k++) {
        write_file(path, headers[k], strlen(headers[k]));
        weft_err_t err = rpc_journal_check(&j, path, 0, replay_nothing, NULL);
        cr_assert_eq(err, k == 0 ? WEFT_EVERSION : WEFT_EPROTO, "case %d: %d: %s", k,
                     (int)err, weft_last_error());
        cr_assert(strstr(weft_last_error(), k == 0 ? "is of format 12," : "holds no header "
                         "this weft knows"), "case %d: %s", k, weft_last_error());
    }
    write_file(path, rpc_journal_header, 7);
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK, "%s",
                 weft_last_error());
    append_base(&j, 5);
    close_and_expect(&j, path, 1);
    size_t size = journal_of_bases(path, 1);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(rpc_journal_epoch_record(&sb, 0, 0), WEFT_OK);
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
    rpc_journal_close(&j);
    expect_check(path, WEFT_EPROTO, 1, size, "record #2, ");
    cr_assert(strstr(weft_last_error(), "field 'id' is 0, expected 1..") &&
              strstr(weft_last_error(), "hold record #1)"), "%s", weft_last_error());
    msgpack_sbuffer_destroy(&sb);
    /* a kind that only begins with "epoch" is no epoch record */
    unlink(path);
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    msgpack_packer pk;
    size_t mark;
    begin_map_frame(&sb, &pk, &mark, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "epochs");
    rpc_pack_cstr(&pk, "id"), msgpack_pack_int(&pk, 5);
    cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
    rpc_journal_close(&j);
    msgpack_sbuffer_destroy(&sb);
    char out[2048];
    const char *args[] = {"journal", path, "--ports", "4", NULL};
    cr_assert_eq(run_weft(out, sizeof out, args), 1, "%s", out);
    cr_assert(strstr(out, "unknown record kind 'epochs'"), "%s", out);
    unlink(path);
}

/* A record whole and sealed whose field the replay refuses ({"r": "job"}
 * without its job map) stops weft serve naming that record and the byte it
 * ends at, as any refused record, and leaves the file as it was. It was
 * called damage after it, counted among the good records ("its first B
 * bytes hold records #1-#2"), with the journal named twice. */
/* Runs weft serve on the journal at path, which it must refuse (status 1)
 * saying want, and leave byte for byte; returns what it printed. */
static const char *serve_refuses(const char *path, const char *want)
{
    static char out[2048];
    char file[512], back[512];
    size_t size = read_file(path, file, sizeof file);
    cr_assert_lt(size, sizeof file);
    const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token", TOKEN,
                          "--journal", path, NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
    cr_assert_eq(read_file(path, back, sizeof back), size, "the file was cut or grew");
    cr_assert(!memcmp(back, file, size), "the file changed");
    return out;
}

Test(gateway_journal_files, serve_names_a_record_whose_field_it_refuses, .timeout = 30)
{
    char path[64];
    struct stat st;
    scratch_journal(path, "field");
    unlink(path);
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    append_base(&j, 5);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t mark;
    begin_map_frame(&sb, &pk, &mark, 1);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "job");
    cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
    rpc_journal_close(&j);
    msgpack_sbuffer_destroy(&sb);
    cr_assert_eq(stat(path, &st), 0);
    char want[160];
    snprintf(want, sizeof want, "protocol error: journal %s: record #2 ending at byte %zu: "
             "field 'job' is missing or not a map\n", path, (size_t)st.st_size);
    const char *out = serve_refuses(path, want);
    cr_assert(!strstr(out, "damaged"), "'%s' calls the journal damaged", out);
    unlink(path);
}

/* A gone record whose job's first flow id (7) is at the next flow id the
 * journal ends with (a base record after it moves the counter to 7 only):
 * no flow of it was given out, so the journal is damaged. weft serve refuses
 * it naming the record, its end, the entry, the job and both ids, and
 * leaves the file byte for byte, the torn record after it included (which
 * it would otherwise have cut off and kept beside the file). */
Test(gateway_journal_files, serve_refuses_a_gone_job_past_the_last_flow_id, .timeout = 30)
{
    char path[64];
    rpc_journal_t j;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t mark;
    scratch_journal(path, "gonepast");
    unlink(path);
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    begin_map_frame(&sb, &pk, &mark, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "gone");
    rpc_pack_cstr(&pk, "jobs"), msgpack_pack_array(&pk, 2);
    msgpack_pack_array(&pk, 3), msgpack_pack_int64(&pk, 3), msgpack_pack_uint64(&pk, 2),
        msgpack_pack_double(&pk, 1.5);
    msgpack_pack_array(&pk, 3), msgpack_pack_int64(&pk, 4), msgpack_pack_uint64(&pk, 7),
        msgpack_pack_double(&pk, 2.5);
    cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
    uint64_t gone_end = j.bytes;
    append_base(&j, 7);
    rpc_journal_close(&j);
    msgpack_sbuffer_destroy(&sb);
    add_to_file(path, "\0\0\0\x20\x82", 5); /* a torn record */
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    char want[320];
    snprintf(want, sizeof want, "parse error: journal %s: record #1 ending at byte %llu: gone "
             "job #1: job 4's first flow id 7 is at or past the next flow id the journal ends "
             "with, 7,", path, (unsigned long long)gone_end);
    serve_refuses(path, want);
    char torn[80];
    snprintf(torn, sizeof torn, "%s.torn-%llu", path, (unsigned long long)st.st_size - 5);
    cr_assert(access(torn, F_OK) != 0, "the torn tail was kept in %s", torn);
    unlink(path);
}

/* Appends {"r": "done", "flows": [fid], "at": at} to j. */
static void append_done_at(rpc_journal_t *j, uint64_t fid, double at)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t mark;
    begin_map_frame(&sb, &pk, &mark, 3);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "done");
    rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, 1), msgpack_pack_uint64(&pk, fid);
    rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, at);
    cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
    cr_assert_eq(rpc_journal_append(j, sb.data, sb.size), WEFT_OK, "%s", weft_last_error());
    msgpack_sbuffer_destroy(&sb);
}

/* A job whose one flow's done record is of 2023 and whose final compute
 * (5 s) ended long before now: weft serve takes the end its replay left
 * pending at start and starts with the job finished, and weft journal,
 * which said "0 of them finished", says so too. With a final compute that
 * ends in 2055 both say it has not finished. */
Test(gateway_journal_files, weft_journal_takes_the_ends_due_as_serve_does, .fini = stop_server,
     .timeout = 30)
{
    char path[64], out_path[80], out[2048], want[128];
    scratch_journal(path, "ends");
    snprintf(out_path, sizeof out_path, "%s.out", path);
    const double final_s[2] = {5, 1e9}, t0 = 1.7e9;
    for (int k = 0; k < 2; k++) {
        coflow_workload_t wl;
        coflow_workload_init(&wl, 4);
        cr_assert_eq(coflow_workload_add_job(&wl, 1, 0, 1, final_s[k]), WEFT_OK);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, 1000);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
        unlink(path);
        rpc_journal_t j;
        cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t mark;
        msgpack_sbuffer_init(&sb);
        cr_assert_eq(rpc_journal_epoch_record(&sb, 0xbeef, t0), WEFT_OK);
        cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
        msgpack_sbuffer_destroy(&sb);
        begin_map_frame(&sb, &pk, &mark, 3);
        rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "job");
        rpc_pack_cstr(&pk, "job"), rpc_job_pack(&pk, &wl, 0);
        rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, t0 + 1);
        cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
        cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK);
        msgpack_sbuffer_destroy(&sb);
        append_done_at(&j, 0, t0 + 2);
        rpc_journal_close(&j);
        coflow_workload_destroy(&wl);
        const char *args[] = {"journal", path, "--ports", "4", NULL};
        int st = run_weft(out, sizeof out, args);
        cr_assert_eq(st, 0, "case %d: exit status %d: %s", k, st, out);
        snprintf(want, sizeof want, "jobs         1 in the table, %d of them finished", !k);
        cr_assert(strstr(out, want), "case %d: '%s' lacks '%s'", k, out, want);
        server_stdout = out_path;
        start_server4("--journal", path, NULL, NULL);
        server_stdout = NULL;
        stop_server();
        out[read_file(out_path, out, sizeof out - 1)] = '\0';
        snprintf(want, sizeof want, "journal %s: 4 records, 1 jobs, %d finished", path, !k);
        cr_assert(strstr(out, want), "case %d: weft serve said '%s', not '%s'", k, out, want);
    }
    unlink(path);
    unlink(out_path);
}

/* A journal of format 1 (unsealed records) to which a gateway appended
 * sealed records: the replay gets those without their "sum", and a record
 * after them must be sealed too. A record over the record cap is named as
 * one of a larger --max-frame, unchecked, while no record before it is
 * sealed, and is damage after a sealed one. */
Test(gateway_journal_files, a_format_1_journal_is_sealed_from_its_first_sealed_record,
     .timeout = 30)
{
    char path[64];
    scratch_journal(path, "sealed-from");
    msgpack_sbuffer raw, big;
    msgpack_sbuffer_init(&raw);
    cr_assert_eq(rpc_journal_base_record(&raw, 0), WEFT_OK);
    size_t over = RPC_JOURNAL_MAX_RECORD + RPC_JOURNAL_SEAL_MAX + 1;
    pad_record(&big, over);
    write_file(path, raw.data, raw.size);
    add_to_file(path, big.data, big.size);
    char want[160];
    snprintf(want, sizeof want, "is of %zu bytes, more than the 4194319-byte record cap, and "
             "whole (from before checksums: unchecked)", over);
    expect_check(path, WEFT_EINVAL, 0, 0, want);
    write_file(path, raw.data, raw.size);
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(j.format, 1);
    append_base(&j, 1);
    rpc_journal_close(&j);
    expect_check(path, WEFT_OK, 2, 0, NULL);
    size_t size = (size_t)file_size(path);
    add_to_file(path, raw.data, raw.size);
    expect_check(path, WEFT_EPROTO, 2, size, "every record after the first with one has one");
    cr_assert_eq(truncate(path, (off_t)size), 0);
    add_to_file(path, big.data, big.size);
    expect_check(path, WEFT_EPROTO, 2, size, "exceeds the 4194319-byte cap");
    unlink(path);
    msgpack_sbuffer_destroy(&raw);
    msgpack_sbuffer_destroy(&big);
}

/* A record whose sealed size is exactly the record cap is appended and
 * read back, one byte more is refused; with a map of 14 or 65534 entries,
 * whose seal's entry keeps the map's header at 1 or 3 bytes. */
Test(gateway_journal_files, a_record_sealed_to_exactly_the_record_cap_is_kept, .timeout = 60)
{
    char path[64];
    scratch_journal(path, "exact");
    const size_t cap = RPC_JOURNAL_MAX_RECORD + RPC_JOURNAL_SEAL_MAX;
    const uint32_t counts[2] = {14, 65534};
    char *pad = calloc(1, cap);
    cr_assert_not_null(pad);
    for (int c = 0; c < 2; c++) {
        unlink(path);
        rpc_journal_t j;
        cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
        for (size_t extra = 0; extra < 2; extra++) {
            /* counts[c] - 1 entries nil: nil, then nil: bin32 */
            size_t head = counts[c] <= 15 ? 1 : 3, bin = cap - 13 - head -
                                                          2 * (counts[c] - 1) - 6 + extra;
            msgpack_sbuffer sb;
            msgpack_packer pk;
            size_t mark;
            begin_map_frame(&sb, &pk, &mark, counts[c]);
            for (uint32_t e = 0; e + 1 < counts[c]; e++)
                msgpack_pack_nil(&pk), msgpack_pack_nil(&pk);
            msgpack_pack_nil(&pk), msgpack_pack_bin(&pk, bin), msgpack_pack_bin_body(&pk, pad, bin);
            cr_assert_eq(rpc_frame_end(&sb, mark, 1u << 30), WEFT_OK);
            weft_err_t err = rpc_journal_append(&j, sb.data, sb.size);
            cr_assert_eq(err, extra ? WEFT_EINVAL : WEFT_OK, "%u entries, %zu over: %s",
                         counts[c], extra, weft_last_error());
            msgpack_sbuffer_destroy(&sb);
        }
        close_and_expect(&j, path, 1);
    }
    free(pad);
    unlink(path);
}

/* rpc_journal_append takes one whole frame holding a map: a bare header
 * (read no further, whatever follows it), a header saying more bytes than
 * the frame has and an array are refused; a map16 of no entries, three
 * bytes, is a map, and reads back. */
Test(gateway_journal_files, the_journal_appends_one_whole_frame_holding_a_map, .timeout = 30)
{
    char path[64];
    scratch_journal(path, "append");
    unlink(path);
    const struct {
        const char *bytes;
        size_t n;
        const char *why; /* NULL: taken */
    } cases[] = {
        {"\0\0\0\0\x80", 4, "a journal record must be one whole frame (4 bytes)"},
        {"\0\0\0\3\x80\xc0", 6, "a journal record must be one whole frame (6 bytes)"},
        {"\0\0\0\2\x91\x01", 6, "a journal record must hold a map (it starts with byte 0x91)"},
        {"\0\0\0\3\xde\0\0", 7, NULL},
    };
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open(&j, path, false, replay_nothing, NULL), WEFT_OK);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        weft_err_t err = rpc_journal_append(&j, cases[k].bytes, cases[k].n);
        cr_assert_eq(err, cases[k].why ? WEFT_EINVAL : WEFT_OK, "case %zu: %s", k,
                     weft_last_error());
        if (cases[k].why)
            cr_assert(strstr(weft_last_error(), cases[k].why), "case %zu: %s", k,
                      weft_last_error());
    }
    close_and_expect(&j, path, 1);
    unlink(path);
}

/* rpc_journal_sync calls fdatasync only for a journal opened with sync
 * that has appends not yet synced: not on a character device (/dev/null
 * refuses it), nor with sync off, nor twice for one append. A journal asks
 * to be rewritten only from RPC_JOURNAL_REWRITE_MIN bytes, however much it
 * grew since it was last written whole. */
Test(gateway_journal_files, a_journal_syncs_and_asks_for_a_rewrite_only_when_due, .timeout = 30)
{
    char path[64];
    scratch_journal(path, "due");
    const char *const paths[3] = {"/dev/null", path, path};
    const bool sync[3] = {true, false, true};
    for (int k = 0; k < 3; k++) {
        if (k)
            unlink(path);
        rpc_journal_t j;
        cr_assert_eq(rpc_journal_open(&j, paths[k], sync[k], replay_nothing, NULL), WEFT_OK,
                     "%s", weft_last_error());
        for (int r = 0; r < 2; r++) {
            append_base(&j, (uint64_t)r);
            cr_assert_eq(rpc_journal_sync(&j), WEFT_OK, "%s: %s", paths[k], weft_last_error());
            cr_assert_eq(rpc_journal_sync(&j), WEFT_OK, "%s: %s", paths[k], weft_last_error());
            cr_assert_eq(j.syncs, k == 2 ? (uint64_t)r + 1 : 0, "case %d", k);
        }
        cr_assert_geq(j.bytes, 2 * j.rewritten_bytes, "case %d", k);
        cr_assert(!rpc_journal_wants_rewrite(&j), "case %d", k);
        rpc_journal_close(&j);
    }
    unlink(path);
}

/* A record is sealed only by a last entry "sum" whose uint64 in its 9-byte
 * form ends the payload: one whose "sum" is a fixint, or whose last key
 * only begins with "sum" (and ends in the seal's bytes), has no checksum,
 * which a journal of format 2 refuses as such. */
Test(gateway_journal_files, a_record_is_sealed_only_by_a_sum_of_its_own, .timeout = 30)
{
    char path[64];
    scratch_journal(path, "sum");
    const char *const records[2] = {
        "\0\0\0\x12\x83\xa1r\xa4" "base\xa3" "fid\0\xa3sum\x01",
        "\0\0\0\x19\x82\xa1r\xa4" "base\xa7sum\xa3sum\xcf" "01234567",
    };
    const size_t n[2] = {22, 29};
    for (int k = 0; k < 2; k++) {
        size_t size = journal_of_bases(path, 1);
        add_to_file(path, records[k], n[k]);
        expect_check(path, WEFT_EPROTO, 1, size, "the record has no checksum");
    }
    unlink(path);
}

/* A journal holding a record over the default record cap, as a gateway of
 * --max-frame 8000000 writes one (job 77's 600,000 flows, 4.8 MB): weft
 * journal and weft serve without that --max-frame say the record is whole,
 * its checksum matching, and which --max-frame reads it, without calling
 * the journal damaged, and leave it as it is; with that --max-frame it
 * reads, with one less it does not. The record with a byte changed, or
 * cut short, is damage as before. They called the intact journal damaged
 * and told the operator to move it away. */
Test(gateway_journal_files, a_record_of_a_larger_max_frame_names_the_max_frame_it_needs,
     .timeout = 120)
{
    coflow_workload_t wl;
    big_job(&wl, 600000);
    char path[64], out[4096], want[320], needed[24], fewer[24];
    snprintf(path, sizeof path, "/tmp/weft-gw-bigrec-%d.journal", (int)getpid());
    unlink(path);
    rpc_journal_t j;
    cr_assert_eq(rpc_journal_open_cap(&j, path, false, 8000000, replay_nothing, NULL), WEFT_OK,
                 "%s", weft_last_error());
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t mark;
    begin_map_frame(&sb, &pk, &mark, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "job");
    rpc_pack_cstr(&pk, "job"), rpc_job_pack(&pk, &wl, 0);
    cr_assert_eq(rpc_frame_end(&sb, mark, 8000000), WEFT_OK);
    cr_assert_eq(rpc_journal_append(&j, sb.data, sb.size), WEFT_OK, "%s", weft_last_error());
    rpc_journal_close(&j);
    msgpack_sbuffer_destroy(&sb);
    long fsize = file_size(path);
    cr_assert_gt(fsize, 0, "%s: no size", path); /* -1 made a malloc(0) */
    size_t size = (size_t)fsize;
    char *file = malloc(size + 1), *back = malloc(size + 1);
    cr_assert(file && back);
    cr_assert_eq(read_file(path, file, size + 1), size);
    size_t len = frame_length((unsigned char *)file + RPC_JOURNAL_HEADER_BYTES);
    cr_assert_gt(len, RPC_JOURNAL_MAX_RECORD + RPC_JOURNAL_SEAL_MAX);
    snprintf(needed, sizeof needed, "%zu", len - RPC_JOURNAL_SEAL_MAX);
    snprintf(fewer, sizeof fewer, "%zu", len - RPC_JOURNAL_SEAL_MAX - 1);
    snprintf(want, sizeof want, "journal %s: record #1 (byte %d) is of %zu bytes, more than "
             "the %zu-byte record cap, and whole, its checksum matching: a gateway with a "
             "larger --max-frame wrote it; read the journal with --max-frame %s or more", path,
             RPC_JOURNAL_HEADER_BYTES, len, RPC_JOURNAL_MAX_RECORD + RPC_JOURNAL_SEAL_MAX,
             needed);
    const char *check[] = {"journal", path, "--ports", "4", NULL};
    const char *serve[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token", TOKEN,
                           "--journal", path, NULL};
    const char *const *runs[2] = {check, serve};
    for (int r = 0; r < 2; r++) {
        int st = run_weft(out, sizeof out, runs[r]);
        cr_assert_eq(st, 1, "weft %s: exit status %d: %s", runs[r][0], st, out);
        cr_assert(strstr(out, want), "weft %s: '%s' lacks '%s'", runs[r][0], out, want);
        cr_assert(!strstr(out, "damaged") && !strstr(out, "move it away"), "%s", out);
        cr_assert_eq(read_file(path, back, size + 1), size, "the journal's size changed");
        cr_assert(!memcmp(back, file, size), "the journal changed");
    }
    const char *enough[] = {"journal", path, "--ports", "4", "--max-frame", needed, NULL};
    int st = run_weft(out, sizeof out, enough);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "jobs         1 in the table"), "%s", out);
    const char *short_of_it[] = {"journal", path, "--ports", "4", "--max-frame", fewer, NULL};
    st = run_weft(out, sizeof out, short_of_it);
    cr_assert(st == 1 && strstr(out, needed), "exit status %d: %s", st, out);
    /* a byte of the record changed, or its end cut off: damage */
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            file[RPC_JOURNAL_HEADER_BYTES + len / 2] ^= 1;
        write_file(path, file, k == 0 ? size : size - 10);
        st = run_weft(out, sizeof out, check);
        cr_assert_eq(st, 1, "case %d: exit status %d: %s", k, st, out);
        snprintf(want, sizeof want, "journal %s: damaged after record #0 (byte %d): frame #1: "
                 "frame of %zu bytes exceeds the", path, RPC_JOURNAL_HEADER_BYTES, len);
        cr_assert(strstr(out, want) && strstr(out, "move it away"), "case %d: '%s' lacks '%s'",
                  k, out, want);
        if (k == 0)
            file[RPC_JOURNAL_HEADER_BYTES + len / 2] ^= 1;
    }
    unlink(path);
    free(file);
    free(back);
    coflow_workload_destroy(&wl);
}

/* A journal whose header names a newer format (3) is refused by weft
 * serve and weft journal as such, unchanged, and not called damaged; one
 * whose header is no header this weft knows is damage. The first used to
 * be read as format 1, its header as a record of 4,286,014,822 bytes:
 * "damaged after record #0 ... move it away to start without its jobs". */
Test(gateway_journal_files, a_journal_of_a_newer_format_is_refused_as_such, .timeout = 30)
{
    char path[64], out[2048], back[64];
    snprintf(path, sizeof path, "/tmp/weft-gw-newer-%d.journal", (int)getpid());
    const char newer[] = "\xffweft journal 3\n\0\0\0\5abcde", other[] = "\xffweft journal 2X";
    write_file(path, newer, sizeof newer - 1);
    const char *serve[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token", TOKEN,
                           "--journal", path, NULL};
    const char *check[] = {"journal", path, "--ports", "4", NULL};
    const char *const *runs[2] = {serve, check};
    char want[320];
    snprintf(want, sizeof want, "unsupported version: journal %s is of format 3, and this weft "
             "reads formats 1 and 2: a newer weft wrote it", path);
    for (int r = 0; r < 2; r++) {
        int st = run_weft(out, sizeof out, runs[r]);
        cr_assert_eq(st, 1, "weft %s: exit status %d: %s", runs[r][0], st, out);
        cr_assert(strstr(out, want), "weft %s: '%s' lacks '%s'", runs[r][0], out, want);
        cr_assert(!strstr(out, "damaged") && !strstr(out, "move it away"), "%s", out);
        cr_assert_eq(read_file(path, back, sizeof back), sizeof newer - 1);
        cr_assert(!memcmp(back, newer, sizeof newer - 1), "the journal changed");
    }
    write_file(path, other, sizeof other - 1);
    int st = run_weft(out, sizeof out, serve);
    cr_assert_eq(st, 1, "exit status %d: %s", st, out);
    snprintf(want, sizeof want, "journal %s: not a journal weft wrote, or one damaged from its "
             "first byte (byte 0): it starts with byte 0xff, as a journal header does", path);
    cr_assert(strstr(out, want) && strstr(out, "move it away"), "'%s' lacks '%s'", out, want);
    unlink(path);
}

/* Another file given as the journal (a workload, the token file) is
 * refused by weft serve and weft journal as perhaps no journal, unchanged;
 * they called it "damaged after record #0 (byte 0)" and said only to
 * restore it from a copy. */
Test(gateway_journal_files, a_file_that_is_no_journal_is_named_as_perhaps_none, .timeout = 30)
{
    char path[64], out[2048], back[128], want[192];
    snprintf(path, sizeof path, "/tmp/weft-gw-nojournal-%d.weft", (int)getpid());
    const char text[] = "weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 9\nend 1\n";
    write_file(path, text, sizeof text - 1);
    const char *serve[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token", TOKEN,
                           "--journal", path, NULL};
    const char *check[] = {"journal", path, "--ports", "4", NULL};
    const char *const *runs[2] = {serve, check};
    snprintf(want, sizeof want, "journal %s: not a journal weft wrote, or one damaged from its "
             "first byte (byte 0): frame #1: frame of ", path);
    for (int r = 0; r < 2; r++) {
        int st = run_weft(out, sizeof out, runs[r]);
        cr_assert_eq(st, 1, "weft %s: exit status %d: %s", runs[r][0], st, out);
        cr_assert(strstr(out, want) && strstr(out, "the file is left as it is"),
                  "weft %s: '%s' lacks '%s'", runs[r][0], out, want);
        cr_assert_eq(read_file(path, back, sizeof back), sizeof text - 1);
        cr_assert(!memcmp(back, text, sizeof text - 1), "the file changed");
    }
    unlink(path);
}

/* A FIFO given as the journal, a socket, a directory, /dev/null or a link
 * to it, is refused at once by weft serve, a usage error (status 2; no
 * port file written) saying what it is and how to serve without a
 * journal, and by weft journal (status 1), naming what it is. On a FIFO
 * both waited in read() for a writer for ever, weft serve with no listener
 * and no port file; on /dev/null weft serve ran, every job it accepted
 * lost at the next start. */
Test(gateway_journal_files, a_journal_that_is_no_file_is_refused_at_once, .timeout = 90)
{
    char dir[] = "/tmp/weft-gw-nofile-XXXXXX", paths[5][64], pf[64], out[2048], want[512];
    cr_assert_not_null(mkdtemp(dir));
    const char *names[5] = {"fifo", "sock", "dir", "null", "link"};
    const char *kinds[5] = {"a FIFO", "a socket", "a directory", "a character device",
                            "a character device"};
    for (int k = 0; k < 5; k++)
        snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
    snprintf(paths[3], sizeof paths[3], "/dev/null");
    snprintf(pf, sizeof pf, "%s/port", dir);
    cr_assert_eq(mkfifo(paths[0], 0600), 0, "%s", strerror(errno));
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", paths[1]);
    cr_assert_eq(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0, "%s", strerror(errno));
    cr_assert_eq(mkdir(paths[2], 0700), 0);
    cr_assert_eq(symlink("/dev/null", paths[4]), 0, "%s", strerror(errno));
    for (int k = 0; k < 5; k++) {
        const char *serve[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4", "--token",
                               TOKEN, "--journal", paths[k], "--port-file", pf, NULL};
        const char *check[] = {"journal", paths[k], "--ports", "4", NULL};
        int st = run_weft(out, sizeof out, serve);
        cr_assert_eq(st, 2, "weft serve on %s: exit status %d: %s", paths[k], st, out);
        snprintf(want, sizeof want, "weft serve: --journal %s is %s, not a regular file: a "
                 "journal must be a regular file, which the next start reads back; give a "
                 "file's path, or leave --journal out to serve without one", paths[k],
                 kinds[k]);
        cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
        cr_assert_neq(access(pf, F_OK), 0, "weft serve wrote its port file");
        st = run_weft(out, sizeof out, check);
        cr_assert_eq(st, 1, "weft journal on %s: exit status %d: %s", paths[k], st, out);
        snprintf(want, sizeof want, "weft journal: %s is %s, not a regular file: weft serve "
                 "refuses it as its --journal", paths[k], kinds[k]);
        cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
    }
    struct stat sb;
    cr_assert(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode), "/dev/null was replaced");
    close(sock);
    snprintf(out, sizeof out, "rm -rf %s", dir);
    cr_assert_eq(system(out), 0);
}

/* A journal of format 1 whose rewrite at start fails (JOURNAL.tmp is a
 * directory) is served all the same, with a warning: its jobs are known,
 * and the records appended to it are sealed, so the next start reads it
 * and rewrites it in format 2. A failed rewrite used to stop the start. */
Test(gateway_journal_files, serve_starts_on_a_format_1_journal_it_cannot_rewrite,
     .fini = stop_server, .timeout = 30)
{
    coflow_workload_t wl;
    msgpack_sbuffer sb;
    size_t at[3];
    three_job_records(&wl, &sb, at);
    char path[64], tmp[80], err_path[64], out[4096];
    snprintf(path, sizeof path, "/tmp/weft-gw-format1-%d.journal", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-format1-%d.err", (int)getpid());
    write_file(path, sb.data, at[2]); /* jobs 7 and 8 */
    cr_assert_eq(mkdir(tmp, 0700), 0, "%s: %s", tmp, strerror(errno));
    server_stderr = err_path;
    start_server4("--journal", path, NULL, NULL);
    server_stderr = NULL;
    out[read_file(err_path, out, sizeof out - 1)] = 0;
    char want[256];
    snprintf(want, sizeof want, "weft serve: warning: journal %s: not rewritten: %s: ", path,
             tmp);
    cr_assert(strstr(out, want), "'%s' lacks '%s'", out, want);
    cr_assert(strstr(out, "(journal format 1) were read unchecked; it stays as it is (on a "
                          "device, or not rewritten: see the warning above)"), "%s", out);
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    bool dup;
    register_job(&c, &wl, 1, &dup);
    cr_assert(dup, "job 8 was lost");
    register_job(&c, &wl, 2, &dup);
    cr_assert(!dup);
    rpc_client_destroy(&c);
    stop_server();
    cr_assert_eq(rmdir(tmp), 0);
    start_server4("--journal", path, NULL, NULL);
    connect_to(&c);
    hello_client(&c);
    register_job(&c, &wl, 2, &dup);
    cr_assert(dup, "job 9, registered after the failed rewrite, was lost");
    rpc_client_destroy(&c);
    char head[RPC_JOURNAL_HEADER_BYTES];
    cr_assert_eq(read_file(path, head, sizeof head), sizeof head);
    cr_assert(!memcmp(head, rpc_journal_header, sizeof head), "not rewritten in format 2");
    unlink(path);
    unlink(err_path);
    msgpack_sbuffer_destroy(&sb);
    coflow_workload_destroy(&wl);
}

/* --------------------------------------------------------------- limits */

/* The ids of the flows a schedule frame m announces ("new") into seen
 * (indexed by fid - base, n of them); returns how many were new to seen. */
static size_t note_announced(const msgpack_object *m, uint64_t base, bool *seen, size_t n)
{
    const msgpack_object_array *nw;
    cr_assert_eq(rpc_get_array(m, "new", &nw), WEFT_OK);
    size_t fresh = 0;
    for (uint32_t i = 0; i < nw->size; i++) {
        const msgpack_object *e = &nw->ptr[i];
        cr_assert(e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 4);
        uint64_t fid = e->via.array.ptr[0].via.u64;
        cr_assert(fid >= base && fid - base < n, "flow %llu is not the job's",
                  (unsigned long long)fid);
        fresh += !seen[fid - base];
        seen[fid - base] = true;
    }
    return fresh;
}

/* What the gateway splits into frames (a schedule's entries, the peers
 * list) is split to fit --max-frame: under a cap of 4096 bytes, a
 * schedule of 250 flows (about 14 KB) and the peers of 400 agents (about
 * 6 KB) reach the agents in several frames. Before, a frame over the cap
 * was never sent: the agent never heard of the flows, which the gateway
 * held as announced, and the job hung with nothing logged. */
Test(gateway_limits, messages_over_max_frame_go_out_in_smaller_frames, .fini = stop_server,
     .timeout = 60)
{
    enum { N_FLOWS = 250, N_AGENTS = 400 };
    const char *extra[] = {"--max-frame", "4096", "--ports", "400", NULL};
    start_server_args(extra);
    static rpc_client_t agents[N_AGENTS];
    for (uint32_t p = 0; p < N_AGENTS; p++) {
        connect_to(&agents[p]);
        cr_assert_eq(rpc_client_hello_agent(&agents[p], TOKEN, p, 9), WEFT_OK);
        wait_type(&agents[p], "welcome");
    }
    /* The last agent to connect is told of every agent: 400 entries */
    rpc_client_t *last = &agents[N_AGENTS - 1];
    size_t peers = 0, frames = 0;
    while (peers < N_AGENTS) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(last, 10.0, &m), 1, "%zu peers of %d in %zu frames: %s",
                     peers, N_AGENTS, frames, weft_last_error());
        char type[32];
        if (strcmp(rpc_msg_type(m, type, sizeof type), "peers"))
            continue;
        const msgpack_object_array *pa;
        cr_assert_eq(rpc_get_array(m, "peers", &pa), WEFT_OK);
        peers += pa->size, frames++;
    }
    cr_assert_eq(peers, N_AGENTS);
    cr_assert_gt(frames, 1, "the peers of %d agents in one frame under a 4096-byte cap",
                 N_AGENTS);

    /* One coflow of 250 flows from port 0 to port 1 (a 3 KB registration) */
    coflow_workload_t wl;
    coflow_workload_init(&wl, N_AGENTS);
    cr_assert_eq(coflow_workload_add_job(&wl, 5, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(&wl, 1, 0);
    for (size_t f = 0; f < N_FLOWS; f++)
        coflow_workload_add_flow(&wl, 0, 1, 1e9);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    uint64_t first = register_job(&cl, &wl, 0, &dup);
    static bool seen[N_FLOWS];
    size_t announced = 0;
    frames = 0;
    while (announced < N_FLOWS) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(&agents[0], 10.0, &m), 1,
                     "%zu flows of %d announced to agent 0 in %zu frames: %s", announced,
                     N_FLOWS, frames, weft_last_error());
        char type[32];
        if (strcmp(rpc_msg_type(m, type, sizeof type), "schedule"))
            continue;
        announced += note_announced(m, first, seen, N_FLOWS);
        frames++;
    }
    cr_assert_gt(frames, 1);
    rpc_client_destroy(&cl);
    for (uint32_t p = 0; p < N_AGENTS; p++)
        rpc_client_destroy(&agents[p]);
    coflow_workload_destroy(&wl);
}

/* A status answer over --max-frame (it is bounded but for the journal's
 * path: one of 3,800 bytes under a cap of 4096) is answered with an error
 * saying so, which weft status prints. Before, no answer came and weft
 * status waited out its --timeout. */
Test(gateway_limits, a_status_over_max_frame_is_answered_with_why, .fini = stop_server,
     .timeout = 60)
{
    char dir[4096], name[251];
    memset(name, 'd', 250);
    name[250] = 0;
    int len = snprintf(dir, sizeof dir, "/tmp/weft-gw-long-%d", (int)getpid());
    cr_assert(mkdir(dir, 0700) == 0 || errno == EEXIST);
    for (int i = 0; i < 15; i++) {
        len += snprintf(dir + len, sizeof dir - (size_t)len, "/%s", name);
        cr_assert(mkdir(dir, 0700) == 0 || errno == EEXIST, "%s", strerror(errno));
    }
    char journal[4096];
    snprintf(journal, sizeof journal, "%.4000s/j", dir);
    start_server4("--max-frame", "4096", "--journal", journal);
    char gw[32], out[4096];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--timeout", "20", NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "weft status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "status: the answer is larger than this gateway's --max-frame of "
                          "4096 bytes"), "%s", out);
    stop_server();
    unlink(journal);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(rmdir(dir), 0, "%s: %s", dir, strerror(errno));
        *strrchr(dir, '/') = 0;
    }
}

/* A client reads what its gateway sends up to the cap the welcome gives,
 * not the library's default (1 MiB): the job_status of a job of 30,000
 * coflows (about 2.2 MB) from a gateway of --max-frame 8388608, by the
 * library and by weft status. Before, the answer was refused as over the
 * 1 MiB cap. */
Test(gateway_limits, a_client_reads_answers_up_to_the_welcomes_cap, .fini = stop_server,
     .timeout = 60)
{
    start_server("--max-frame", "8388608");
    enum { N_COFLOWS = 30000 };
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    cr_assert_eq(coflow_workload_add_job(&wl, 42, 0, 1, 0), WEFT_OK);
    for (int k = 0; k < N_COFLOWS; k++) {
        coflow_workload_add_coflow(&wl, k, 0);
        coflow_workload_add_flow(&wl, 2, 3, 1e6); /* no agent on port 2: it waits */
    }
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    rpc_client_t c;
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_client(&c, TOKEN), WEFT_OK);
    rpc_client_welcome(&c, wait_type(&c, "welcome")); /* a registration over 1 MiB */
    bool dup;
    register_job(&c, &wl, 0, &dup);
    rpc_client_destroy(&c);

    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "42", "--json",
                          NULL};
    static char out[1 << 23];
    int st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 0, "weft status --job: exit status %d: %.2000s", st, out);

    /* the library takes the welcome's cap by itself, as agents need */
    connect_to(&c);
    hello_client(&c);
    cr_assert_eq(c.max_frame, (size_t)8388608);
    const msgpack_object *m = job_status_of(&c, 42);
    const msgpack_object_array *cs;
    cr_assert_eq(rpc_get_array(m, "coflows", &cs), WEFT_OK);
    cr_assert_eq(cs->size, N_COFLOWS);
    cr_assert_gt(c.fr.size, RPC_MAX_FRAME_DEFAULT, "the answer is only %zu bytes", c.fr.size);
    rpc_client_destroy(&c);
    coflow_workload_destroy(&wl);
}

static void server_max4(void) { start_server("--max-conns", "4"); }

Test(gateway_limits, connection_limit, .init = server_max4, .fini = stop_server,
     .timeout = 30)
{
    rpc_client_t c[4], extra;
    for (int i = 0; i < 4; i++) {
        connect_to(&c[i]);
        hello_client(&c[i]);
    }
    connect_to(&extra);
    expect_error(&extra, "busy", "connection limit reached");
    expect_closed(&extra);
    rpc_client_destroy(&extra);
    expect_pong(&c[3], 1);
    rpc_client_destroy(&c[0]);
    /* a slot is free again once the gateway has seen the close */
    bool served = false;
    for (int attempt = 0; attempt < 50 && !served; attempt++) {
        connect_to(&extra);
        cr_assert_eq(rpc_client_hello_client(&extra, TOKEN), WEFT_OK);
        const msgpack_object *m;
        char type[32];
        served = rpc_client_wait(&extra, 5.0, &m) == 1 &&
                 !strcmp(rpc_msg_type(m, type, sizeof type), "welcome");
        rpc_client_destroy(&extra);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert(served);
    for (int i = 1; i < 4; i++)
        rpc_client_destroy(&c[i]);
}

/* Sends peer c what this gateway closes it for: a hello with a wrong
 * token (odd i) or four bytes that are no frame; reads the error. */
static void be_refused(rpc_client_t *c, int i)
{
    connect_to(c);
    if (i % 2)
        cr_assert_eq(rpc_client_hello_client(c, "not the token"), WEFT_OK);
    else
        cr_assert_eq(send(c->fd, "\xff\xff\xff\xff", 4, MSG_NOSIGNAL), 4);
    expect_error(c, i % 2 ? "auth" : "protocol", "");
}

/* Peers closed after an error - a frame the decoder refuses, a hello with a
 * wrong token - that keep their end open free their --max-conns slots once
 * the error frame is flushed: a good client is welcome at once after four
 * of them filled the four slots. It was refused busy while they lingered
 * (up to 1 s, draining them). Then 20 more such peers, one after another,
 * each keeping its end open: past the 16 that may linger at once, the rest
 * are closed as soon as their frame is out, and none is refused busy. */
Test(gateway_limits, bad_peers_free_their_slots_once_their_error_is_out, .init = server_max4,
     .fini = stop_server, .timeout = 30)
{
    enum { N_MORE = 20 };
    rpc_client_t bad[4 + N_MORE], good;
    for (int i = 0; i < 4; i++)
        be_refused(&bad[i], i);
    connect_to(&good);
    hello_client(&good);
    for (int i = 4; i < 4 + N_MORE; i++)
        be_refused(&bad[i], i);
    expect_pong(&good, 1);
    for (int i = 0; i < 4 + N_MORE; i++)
        rpc_client_destroy(&bad[i]);
    rpc_client_destroy(&good);
}

static void server_idle1(void) { start_server("--idle-timeout", "1"); }

Test(gateway_limits, idle_connection_times_out, .init = server_idle1, .fini = stop_server,
     .timeout = 30)
{
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    expect_pong(&c, 1);
    /* silent from here: closed after --idle-timeout 1 s with a reason */
    expect_error(&c, "timeout", "idle for 1 s");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

static void server_frame1(void) { start_server("--frame-timeout", "1"); }

Test(gateway_limits, slow_loris_frame_after_hello, .init = server_frame1, .fini = stop_server,
     .timeout = 30)
{
    /* Authenticated, then a frame trickled one byte per 100 ms: each byte
     * resets the idle timeout, but the frame has 1 s from its first byte. */
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    cr_assert_eq(rpc_client_ping(&c, 9), WEFT_OK);
    /* all but the last byte, 100 ms apart, until the gateway speaks */
    bool spoke = false;
    struct pollfd p = {c.fd, POLLIN, 0};
    for (size_t i = 0; i + 1 < c.out.size && !spoke; i++) {
        cr_assert_eq(send(c.fd, c.out.data + i, 1, MSG_NOSIGNAL), 1);
        spoke = poll(&p, 1, 100) == 1;
    }
    cr_assert(spoke || poll(&p, 1, 5000) == 1, "the gateway kept waiting for the frame");
    c.out.size = 0;
    expect_error(&c, "timeout", "a frame was still incomplete 1 s after it began");
    expect_closed(&c);
    rpc_client_destroy(&c);
    still_serving();
}

/* The gateway's timeouts counter, asked on a fresh client. */
static int64_t status_timeouts(void)
{
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    cr_assert_eq(rpc_client_status(&c, 1), WEFT_OK);
    int64_t n;
    cr_assert_eq(rpc_get_int(wait_type(&c, "status"), "timeouts", 0, INT64_MAX, &n), WEFT_OK);
    rpc_client_destroy(&c);
    return n;
}

Test(gateway_limits, a_connection_closed_for_a_timeout_counts_once, .fini = stop_server,
     .timeout = 30)
{
    /* No hello, and 100 ms in the first bytes of a frame: the hello timeout
     * (0.2 s) closes it, and the frame's (0.3 s from its first byte) ran
     * out within the close's grace while the peer held its end open. Both
     * counted the one connection, in status's timeouts. */
    start_server4("--hello-timeout", "0.2", "--frame-timeout", "0.3");
    rpc_client_t c;
    connect_to(&c);
    struct pollfd p = {c.fd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 100), 0);
    cr_assert_eq(send(c.fd, "\0\0\0\x0b\x81", 5, MSG_NOSIGNAL), 5);
    expect_error(&c, "timeout", "no valid hello within 0.2 s");
    poll(NULL, 0, 300); /* past the frame's deadline, our end still open */
    cr_assert_eq(status_timeouts(), 1);
    rpc_client_destroy(&c);
}

Test(gateway_limits, frames_split_across_sends_are_not_a_slow_loris, .init = server_frame1,
     .fini = stop_server, .timeout = 30)
{
    /* For 2.5 s (over twice the frame timeout) a frame is always half-sent:
     * each send carries the end of one ping and the start of the next. The
     * deadline restarts with every completed frame, so nothing is closed. */
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    msgpack_sbuffer one;
    msgpack_sbuffer_init(&one);
    cr_assert_eq(rpc_pack_simple(&one, "ping", 1), WEFT_OK);
    size_t half = one.size / 2;
    cr_assert_eq(send(c.fd, one.data, half, MSG_NOSIGNAL), (ssize_t)half);
    int pongs = 0;
    for (int i = 0; i < 25; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        char buf[64];
        memcpy(buf, one.data + half, one.size - half);
        memcpy(buf + one.size - half, one.data, half);
        cr_assert_eq(send(c.fd, buf, one.size, MSG_NOSIGNAL), (ssize_t)one.size);
        const msgpack_object *m;
        cr_assert_eq(wait_msg(&c, &m), 1, "closed after %d pongs: %s", pongs,
                     weft_last_error());
        char type[32];
        cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "pong");
        pongs++;
    }
    cr_assert_eq(pongs, 25);
    msgpack_sbuffer_destroy(&one);
    rpc_client_destroy(&c);
}

/* weft serve --keep-finished 0: a job its agent's done finished between
 * two decision passes is forgotten by the next pass, but its job_done goes
 * out first, with its JCT. The pass used to forget it first, and then read
 * the JCT of a job gone from the table (index SIZE_MAX: out of bounds). */
Test(gateway_limits, keep_finished_0_sends_job_done_with_its_jct_first, .fini = stop_server,
     .timeout = 30)
{
    start_server("--keep-finished", "0");
    coflow_workload_t wl;
    one_coflow_jobs(&wl, 1, 4);
    rpc_client_t cl, ag;
    client_and_agent0(&cl, &ag);
    bool dup;
    uint64_t first = register_job(&cl, &wl, 0, &dup), fids[4];
    struct timespec ts = {0, 100 * 1000 * 1000}; /* a JCT of at least 0.1 s */
    nanosleep(&ts, NULL);
    for (int f = 0; f < 4; f++)
        fids[f] = first + (uint64_t)f;
    cr_assert_eq(rpc_client_done(&ag, -1, fids, 4), WEFT_OK);
    expect_pong(&ag, 1); /* handled */
    const msgpack_object *m = wait_type(&cl, "job_done");
    double jct = -1;
    cr_assert(!rpc_map_get(m, "forgotten"), "job_done said forgotten");
    cr_assert_eq(rpc_get_num_opt(m, "jct", -1e300, 1e300, &jct), WEFT_OK);
    cr_assert(jct >= 0.1 && jct < 10, "JCT %g s, expected 0.1 s or a little more", jct);
    int64_t v[4];
    wait_forgotten(&cl, 1, v);
    cr_assert(v[0] == 1 && v[1] == 1 && v[2] == 1, "%lld jobs, %lld finished, %lld forgotten",
              (long long)v[0], (long long)v[1], (long long)v[2]);
    /* forgotten, though held until compacted away: a late report of one of
       its flows gets a drop, as docs/protocol.md says (it got nothing) */
    double sent = 10;
    cr_assert_eq(rpc_client_progress(&ag, fids, &sent, 1), WEFT_OK);
    expect_drops(&ag, 2, fids, 1);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* ------------------------------------------------------------------ TLS */

/* Certificates made at test time with the real openssl CLI in tls_dir: a
 * CA (ca.pem) and a server certificate it signed for IP 127.0.0.1
 * (server.pem, server.key), and an unrelated CA (other.pem). */
static char tls_dir[64], tls_ca[128], tls_other[128], tls_cert[128], tls_key[128];

static void make_certs(void)
{
    snprintf(tls_dir, sizeof tls_dir, "/tmp/weft-tls-test-XXXXXX");
    cr_assert(mkdtemp(tls_dir), "mkdtemp: %s", strerror(errno));
    snprintf(tls_ca, sizeof tls_ca, "%s/ca.pem", tls_dir);
    snprintf(tls_other, sizeof tls_other, "%s/other.pem", tls_dir);
    snprintf(tls_cert, sizeof tls_cert, "%s/server.pem", tls_dir);
    snprintf(tls_key, sizeof tls_key, "%s/server.key", tls_dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $EC -keyout ca.key -out ca.pem -days 2 -subj /CN=weft-test-ca "
             "&& openssl req $EC -keyout server.key -out server.csr -subj /CN=127.0.0.1 "
             "&& printf 'subjectAltName=IP:127.0.0.1\\n' >ext "
             "&& openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 20 -extfile ext "
             "&& openssl req -x509 $EC -keyout other.key -out other.pem -days 2 "
             "-subj /CN=other-ca",
             tls_dir);
    char quiet[2200];
    snprintf(quiet, sizeof quiet, "(%s) >%s/openssl.log 2>&1", cmd, tls_dir);
    cr_assert_eq(system(quiet), 0, "openssl failed: see %s/openssl.log", tls_dir);
}

static void remove_certs(void)
{
    if (!tls_dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
    (void)!system(cmd);
    tls_dir[0] = 0;
}

static pid_t tls_agents[2];

static void server_tls(void)
{
    make_certs();
    const char *extra[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, NULL};
    start_server_args(extra);
}

static void stop_tls(void)
{
    for (int i = 0; i < 2; i++)
        end_child(&tls_agents[i]);
    stop_server();
    remove_certs();
}

static void server_plain_and_certs(void)
{
    make_certs();
    start_server(NULL, NULL);
}

/* A real `weft agent --id ID --tls-ca ca` on the test's gateway. */
static pid_t start_tls_agent(const char *id, const char *ca)
{
    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    pid_t pid = fork_tied(SIGTERM);
    cr_assert(pid >= 0);
    if (pid == 0) {
        const char *bin = getenv("WEFT_BIN");
        execl(bin, bin, "agent", "--id", id, "--gateway", gw, "--token", TOKEN, "--tls-ca",
              ca, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* `weft status` against the test's gateway at host (127.0.0.1 or a name),
 * with --tls-ca ca unless it is NULL; stdout and stderr into out[n]. */
static int run_status_tls(const char *host, const char *ca, char *out, size_t n)
{
    char gw[300];
    snprintf(gw, sizeof gw, "%s:%d", host, server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--timeout", "5",
                          ca ? "--tls-ca" : NULL, ca, NULL};
    return run_weft(out, n, args);
}

/* A TLS gateway, two TLS agents and a TLS `weft submit` of one job of one
 * 2 MB flow 0 -> 1: the job completes, and `weft status --tls-ca` sees it
 * finished and both agents connected. */
Test(gateway_tls, agents_submit_and_status_over_tls, .init = server_tls, .fini = stop_tls,
     .timeout = 30)
{
    char wl_path[160], out[8192], gw[32];
    snprintf(wl_path, sizeof wl_path, "%s/one.weft", tls_dir);
    FILE *f = fopen(wl_path, "w");
    cr_assert(f);
    fprintf(f, "weft-workload 1\nports 4\njob 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 2000000\nend 1\n");
    fclose(f);
    tls_agents[0] = start_tls_agent("0", tls_ca);
    tls_agents[1] = start_tls_agent("1", tls_ca);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", wl_path, "--gateway", gw, "--token", TOKEN, "--tls-ca",
                            tls_ca, "--timeout", "15", NULL};
    int st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 0, "weft submit --tls-ca: exit status %d: %s", st, out);
    cr_assert(strstr(out, "job 0 done: JCT") && strstr(out, "1 jobs, average JCT"), "%s", out);
    st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
    cr_assert_eq(st, 0, "weft status --tls-ca: exit status %d: %s", st, out);
    cr_assert_eq(table_value(out, "jobs registered"), 1, "%s", out);
    cr_assert_eq(table_value(out, "jobs finished"), 1, "%s", out);
    cr_assert_eq(table_value(out, "agents connected"), 2, "%s", out);
    cr_assert_eq(table_value(out, "protocol errors"), 0, "%s", out);
}

/* A certificate that does not verify is an error naming the gateway and
 * OpenSSL's reason, at once: signed by another CA (submit, agent, status),
 * or not naming the host connected to (status to localhost, the
 * certificate names IP 127.0.0.1 only), with what to change. Neither submit nor the agent
 * retries until its timeout. */
Test(gateway_tls, a_certificate_that_does_not_verify_stops_the_client_at_once,
     .init = server_tls, .fini = stop_tls, .timeout = 30)
{
    char out[8192], gw[32], addr[64];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(addr, sizeof addr, "gateway %s", gw);
    const char *submit[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                            TOKEN, "--tls-ca", tls_other, "--timeout", "15", NULL};
    double t0 = weft_mono_s();
    int st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 1, "submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "certificate verify failed") && strstr(out, addr), "%s", out);
    cr_assert(!strstr(out, "retrying in") && !strstr(out, "timeout"), "%s", out);
    cr_assert_lt(weft_mono_s() - t0, 3.0, "submit took %.1f s", weft_mono_s() - t0);
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", TOKEN,
                           "--tls-ca", tls_other, NULL};
    t0 = weft_mono_s();
    st = run_weft(out, sizeof out, agent);
    cr_assert_eq(st, 1, "agent: exit status %d: %s", st, out);
    cr_assert(strstr(out, "certificate verify failed") && strstr(out, addr), "%s", out);
    cr_assert_lt(weft_mono_s() - t0, 3.0, "agent took %.1f s", weft_mono_s() - t0);
    st = run_status_tls("127.0.0.1", tls_other, out, sizeof out);
    cr_assert_eq(st, 1, "status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "certificate verify failed: unable to get local issuer"), "%s", out);
    /* each says what to change, not only what OpenSSL refused */
    cr_assert(strstr(out, "(the CA in --tls-ca did not sign the gateway's certificate: give "
                          "--tls-ca the CA that did)"), "%s", out);
    st = run_status_tls("localhost", tls_ca, out, sizeof out);
    cr_assert_eq(st, 1, "status to localhost: exit status %d: %s", st, out);
    cr_assert(strstr(out, "certificate verify failed: hostname mismatch (the gateway's "
                          "certificate does not name this --gateway host: use a host it "
                          "names"), "%s", out);
    /* and the right CA at the right address works */
    st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
    cr_assert_eq(st, 0, "status: exit status %d: %s", st, out);
}

/* The hints of two more verify failures, each from a gateway of its own:
 * a certificate naming a host name but not the IP address connected to
 * (the test above asks a name of one naming an address), and one signed
 * by itself, the other CA's. */
Test(gateway_tls, a_misnamed_or_self_signed_certificate_says_what_to_change, .fini = stop_tls,
     .timeout = 30)
{
    make_certs();
    char cmd[1024], out[8192], cert[300], key[300];
    snprintf(cmd, sizeof cmd,
             "(cd %s && printf 'subjectAltName=DNS:localhost\\n' >dns.ext && openssl x509 "
             "-req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out dns.pem "
             "-days 2 -extfile dns.ext) >>%s/openssl.log 2>&1", tls_dir, tls_dir);
    cr_assert_eq(system(cmd), 0, "openssl failed: see %s/openssl.log", tls_dir);
    static const char *const cases[][3] = {
        {"dns.pem", "server.key", "IP address mismatch (the gateway's certificate does not "
                                  "name this --gateway host"},
        {"other.pem", "other.key", "(the CA in --tls-ca did not sign the gateway's "
                                   "certificate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(cert, sizeof cert, "%s/%s", tls_dir, cases[i][0]);
        snprintf(key, sizeof key, "%s/%s", tls_dir, cases[i][1]);
        const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
        start_server_args(extra);
        int st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
        cr_assert(st == 1 && strstr(out, "certificate verify failed: ") &&
                      strstr(out, cases[i][2]), "%s: status %d: %s", cases[i][0], st, out);
        stop_server();
    }
}

/* Plain clients of a TLS gateway are told so and stop within a second
 * (submit and the agent do not retry); the gateway goes on serving TLS. */
Test(gateway_tls, plain_clients_are_told_the_gateway_serves_tls, .init = server_tls,
     .fini = stop_tls, .timeout = 30)
{
    char out[8192], gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    double t0 = weft_mono_s();
    int st = run_status_tls("127.0.0.1", NULL, out, sizeof out);
    cr_assert_eq(st, 1, "plain status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "serves TLS only"), "%s", out);
    const char *submit[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                            TOKEN, "--timeout", "15", NULL};
    st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 1, "plain submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "serves TLS only") && strstr(out, "not retrying"), "%s", out);
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", TOKEN, NULL};
    st = run_weft(out, sizeof out, agent);
    cr_assert_eq(st, 1, "plain agent: exit status %d: %s", st, out);
    cr_assert(strstr(out, "serves TLS only"), "%s", out);
    cr_assert_lt(weft_mono_s() - t0, 3.0, "plain clients took %.1f s", weft_mono_s() - t0);
    /* a raw plain connection that says nothing is closed by the hello
       timeout (1 s here), the handshake being part of it */
    rpc_client_t c;
    connect_to(&c);
    struct pollfd p = {c.fd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 3000), 1, "a silent connection was not closed");
    char b;
    cr_assert_leq(recv(c.fd, &b, 1, 0), 0, "a silent plain connection got bytes");
    rpc_client_destroy(&c);
    st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
    cr_assert_eq(st, 0, "TLS status after plain clients: exit status %d: %s", st, out);
    cr_assert_eq(table_value(out, "protocol errors"), 3, "%s", out); /* none retried */
    cr_assert_eq(table_value(out, "timeouts"), 1, "%s", out);
}

/* `weft status --tls-ca ca` of the test's gateway, until it answers with
 * `agents connected` n (10 s at most); its output in out[size]. */
static void wait_tls_status_agents(const char *ca, long long n, char *out, size_t size)
{
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10; usleep(50000))
        if (run_status_tls("127.0.0.1", ca, out, size) == 0 &&
            table_value(out, "agents connected") == n)
            return;
    cr_assert_fail("no status with %lld agents connected: %s", n, out);
}

/* Runs the shell commands `steps` in tls_dir, $EC holding openssl's options
 * for a new P-256 key, their output appended to openssl.log. */
static void openssl_in_tls_dir(const char *steps)
{
    char cmd[2048], quiet[2200];
    snprintf(cmd, sizeof cmd,
             "cd %s && EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && %s",
             tls_dir, steps);
    snprintf(quiet, sizeof quiet, "(%s) >>%s/openssl.log 2>&1", cmd, tls_dir);
    cr_assert_eq(system(quiet), 0, "openssl failed: see %s/openssl.log", tls_dir);
}

/* A new key and a certificate for 127.0.0.1 signed by the other CA, valid
 * 30 days, written over server.key and server.pem (each by a rename, as
 * an operator renewing it would). */
static void sign_with_other_ca(void)
{
    openssl_in_tls_dir("openssl req $EC -keyout new.key -out new.csr -subj /CN=127.0.0.1 "
                       "&& openssl x509 -req -in new.csr -CA other.pem -CAkey other.key "
                       "-CAcreateserial -out new.pem -days 30 -extfile ext "
                       "&& mv new.key server.key && mv new.pem server.pem");
}

/* The days from now to the end of validity out gives after `before`: `weft
 * status` on its "tls reloads" row ("it is valid until "), a reload's log
 * line ("(valid until "). */
static double tls_days_left(const char *out, const char *before)
{
    const char *at = strstr(out, before);
    cr_assert(at, "no '%s' in: %s", before, out);
    struct tm tm = {0};
    cr_assert(strptime(at + strlen(before), "%Y-%m-%d %H:%M:%S", &tm), "%s", at);
    return difftime(timegm(&tm), time(NULL)) / 86400;
}

/* The end of validity of the certificate in file path, in Unix seconds, as
 * openssl reads it: a reference that is not weft's reading. */
static double cert_not_after(const char *path)
{
    char cmd[400], line[128] = "";
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -enddate -dateopt iso_8601 -in '%s'", path);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    bool got = fgets(line, sizeof line, p) != NULL;
    pclose(p);
    struct tm tm = {0};
    cr_assert(got && strptime(line, "notAfter=%Y-%m-%d %H:%M:%SZ", &tm), "openssl: %s", line);
    return (double)timegm(&tm);
}

/* SIGHUP makes weft serve read its certificate and key again: with a
 * certificate from another CA written over them, new connections verify
 * with that CA only, the agent connected before keeps its connection, and
 * status gives the reload and the new end of validity (30 days, where the
 * first had 20; in --metrics to the second as openssl reads it, on a
 * gateway whose local time is not UTC). A file it cannot load is named,
 * and the renewed certificate stays in force. */
Test(gateway_tls, sighup_renews_the_certificate_for_new_connections, .fini = stop_tls,
     .timeout = 90)
{
    make_certs();
    char err_path[160], log[8192], out[8192], want[300];
    snprintf(err_path, sizeof err_path, "%s/serve.err", tls_dir);
    server_stderr = err_path;
    const char *extra[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, "--metrics",
                           "127.0.0.1:0", NULL};
    /* a gateway whose local time is not UTC (5 h 45 min ahead): a
       certificate's dates are UTC all the same */
    setenv("TZ", "NPT-5:45", 1);
    start_server_args(extra);
    server_stderr = NULL;
    FILE *pf = fopen(port_file, "r");
    cr_assert(pf);
    int main_port = 0;
    cr_assert(fscanf(pf, "%d %d", &main_port, &metrics_port) == 2, "no metrics port");
    fclose(pf);
    /* a certificate of 20 days: renewal is due (under 30), and the log says so */
    snprintf(want, sizeof want, "weft serve: note: the TLS certificate %s expires on ", tls_cert);
    wait_in_file(err_path, want, 1, log, sizeof log);
    cr_assert(strstr(log, " days: renew it and send SIGHUP"), "%s", log);
    tls_agents[0] = start_tls_agent("0", tls_ca);
    wait_tls_status_agents(tls_ca, 1, out, sizeof out);
    cr_assert_eq(table_value(out, "tls reloads"), 0, "%s", out);
    double days = tls_days_left(out, "it is valid until ");
    cr_assert(days > 19 && days < 21, "%g days left: %s", days, out);
    cr_assert_neq(run_status_tls("127.0.0.1", tls_other, out, sizeof out), 0, "%s", out);

    sign_with_other_ca();
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "SIGHUP: TLS certificate %s reloaded (valid until ", tls_cert);
    wait_in_file(err_path, want, 1, log, sizeof log);
    cr_assert(strstr(log, "new connections get it, those already in keep theirs"), "%s", log);
    wait_tls_status_agents(tls_other, 1, out, sizeof out); /* the agent stayed */
    cr_assert_eq(table_value(out, "tls reloads"), 1, "%s", out);
    days = tls_days_left(out, "it is valid until ");
    cr_assert(days > 29 && days < 31, "%g days left: %s", days, out);
    static char text[65536];
    http_get(metrics_port, "GET /metrics HTTP/1.0\r\n\r\n", text, sizeof text);
    cr_assert(strstr(text, "\nweft_tls_reloads_total 1\n"), "%s", text);
    const char *g = strstr(text, "\nweft_tls_certificate_expiry_seconds ");
    cr_assert(g, "%s", text);
    double expiry = strtod(g + strlen("\nweft_tls_certificate_expiry_seconds "), NULL);
    cr_assert(fabs(expiry - (time(NULL) + 30 * 86400.0)) < 86400, "%s", text);
    cr_assert_eq(expiry, cert_not_after(tls_cert), "%.17g s, openssl says %.17g s", expiry,
                 cert_not_after(tls_cert));
    cr_assert_neq(run_status_tls("127.0.0.1", tls_ca, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "certificate verify failed"), "%s", out);

    write_text(tls_cert, "not a certificate\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: TLS certificate not reloaded", 1, log, sizeof log);
    snprintf(want, sizeof want, "TLS certificate %s: ", tls_cert);
    cr_assert(strstr(log, want) && strstr(log, "still serving the one read before"), "%s", log);
    wait_tls_status_agents(tls_other, 1, out, sizeof out);
    cr_assert_eq(table_value(out, "tls reloads"), 1, "%s", out);
}

/* A new key and a certificate for IP 127.0.0.1 signed by the test's CA, as
 * NAME.key and NAME.pem in tls_dir, valid from `start` to `end` (UTC,
 * YYYYMMDDHHMMSSZ). OpenSSL 3.0's `openssl x509 -req` makes none that
 * ended in the past or begins in the future (-not_before and -not_after
 * came in 3.4; -days -1 ends it before it begins), `openssl ca` does, from
 * a minimal config, with -startdate and -enddate. */
static void cert_for_loopback_dated(const char *name, const char *start, const char *end)
{
    char steps[1400];
    snprintf(steps, sizeof steps, "openssl req $EC -keyout %s.key -out %s.csr "
             "-subj /CN=127.0.0.1 && "
             "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
             "serial=serial\\npolicy=p\\ndefault_md=sha256\\nunique_subject=no\\n[p]\\n"
             "commonName=supplied\\n' >ca.cnf && touch index.txt "
             "&& { [ -f serial ] || echo 01 >serial; } && openssl ca -batch -config ca.cnf "
             "-cert ca.pem -keyfile ca.key -in %s.csr -out %s.pem -notext -extfile ext "
             "-startdate %s -enddate %s", name, name, name, name, start, end);
    openssl_in_tls_dir(steps);
}

/* As cert_for_loopback_dated, valid `days` from now; with days 0, one that
 * expired on 2025-02-01 00:00:00 UTC (valid from 2025-01-01). */
static void cert_for_loopback(const char *name, int days)
{
    if (!days) {
        cert_for_loopback_dated(name, "20250101000000Z", "20250201000000Z");
        return;
    }
    char steps[1400];
    snprintf(steps, sizeof steps, "openssl req $EC -keyout %s.key -out %s.csr "
             "-subj /CN=127.0.0.1 && openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
             "-CAcreateserial -out %s.pem -days %d -extfile ext", name, name, name, name, days);
    openssl_in_tls_dir(steps);
}

/* One valid from 2099-01-01 00:00:00 UTC: made ahead of time, or on a
 * machine whose clock runs ahead; peers refuse it as not valid yet. */
static void cert_for_loopback_future(const char *name)
{
    cert_for_loopback_dated(name, "20990101000000Z", "21000101000000Z");
}

/* SIGHUP with the token file and the TLS certificate replaced by FIFOs
 * (nothing writing them): each refused, named, and the gateway serves on,
 * over TLS, and stops on SIGTERM. It waited in open() for a writer, serving
 * no one and deaf to SIGTERM. A FIFO as --tls-cert at start is refused
 * likewise (it waited too). */
Test(gateway_tls, sighup_refuses_fifos_and_serves_on, .fini = stop_tls, .timeout = 60)
{
    make_certs();
    char err_path[160], tokf[160], moved[160], log[8192], out[8192], want[512];
    snprintf(err_path, sizeof err_path, "%s/serve.err", tls_dir);
    snprintf(tokf, sizeof tokf, "%s/token", tls_dir);
    snprintf(moved, sizeof moved, "%s/moved.pem", tls_dir);
    write_text(tokf, TOKEN "\n");
    const char *fifo_cert[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "4",
                               "--token-file", tokf, "--tls-cert", moved, "--tls-key",
                               tls_key, NULL};
    cr_assert_eq(mkfifo(moved, 0600), 0, "%s", strerror(errno));
    int st = run_weft(out, sizeof out, fifo_cert);
    snprintf(want, sizeof want, "TLS certificate %s: is a FIFO, expected a PEM file", moved);
    cr_assert(st == 1 && strstr(out, want), "status %d: '%s' lacks '%s'", st, out, want);
    unlink(moved);
    server_stderr = err_path;
    const char *extra[] = {"--token-file", tokf, "--tls-cert", tls_cert, "--tls-key", tls_key,
                           NULL};
    start_server_args(extra);
    server_stderr = NULL;
    cr_assert_eq(rename(tls_cert, moved), 0, "%s", strerror(errno));
    cr_assert_eq(mkfifo(tls_cert, 0600), 0, "%s", strerror(errno));
    unlink(tokf);
    cr_assert_eq(mkfifo(tokf, 0600), 0, "%s", strerror(errno));
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "weft serve: SIGHUP: TLS certificate not reloaded: TLS "
             "certificate %s: is a FIFO, expected a PEM file; still serving the one read "
             "before", tls_cert);
    bool said = false;
    for (double t0 = weft_mono_s(); !said && weft_mono_s() - t0 < 10; usleep(20000))
        said = file_has(err_path, want);
    if (!said) { /* held in open(): SIGTERM would not end it */
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
        log[read_file(err_path, log, sizeof log - 1)] = 0;
        cr_assert_fail("'%s' lacks '%s'", log, want);
    }
    log[read_file(err_path, log, sizeof log - 1)] = 0;
    snprintf(want, sizeof want, "weft serve: SIGHUP: tokens not reloaded: token file %s is a "
             "FIFO, not a file: not read again while running (its read would wait for a "
             "writer, serving nothing meanwhile); put a regular file there; still letting "
             "peers in with the ones read before", tokf);
    cr_assert(strstr(log, want), "'%s' lacks '%s'", log, want);
    st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
    cr_assert_eq(st, 0, "weft status: %d: %s", st, out);
    cr_assert_eq(table_value(out, "tls reloads"), 0, "%s", out);
}
/* What `weft serve` says of its certificate at start, on stderr, after it
 * listens: a warning for one that has expired (and clients do refuse it:
 * `weft status` fails on it), a note for one that expires in 2 days,
 * nothing for one of 400 days, and a warning naming the date for one not
 * valid until 2099 (refused by clients too). */
Test(gateway_tls, serve_says_at_start_that_its_certificate_expired_is_due_or_not_valid_yet,
     .init = make_certs, .fini = stop_tls, .timeout = 60)
{
    char err_path[160], cert[160], key[160], log[8192], out[8192], want[400];
    snprintf(err_path, sizeof err_path, "%s/serve.err", tls_dir);
    const char *names[] = {"expired", "soon", "long", "future"};
    const int days[] = {0, 2, 400};
    for (int i = 0; i < 4; i++) {
        if (i < 3)
            cert_for_loopback(names[i], days[i]);
        else
            cert_for_loopback_future(names[i]);
        snprintf(cert, sizeof cert, "%s/%s.pem", tls_dir, names[i]);
        snprintf(key, sizeof key, "%s/%s.key", tls_dir, names[i]);
        const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
        server_stderr = err_path;
        start_server_args(extra); /* said before the port file is written */
        server_stderr = NULL;
        log[read_file(err_path, log, sizeof log - 1)] = 0;
        if (i == 0) {
            snprintf(want, sizeof want, "weft serve: warning: the TLS certificate %s expired on "
                     "2025-02-01 00:00:00 UTC: clients refuse it; renew it and send SIGHUP\n",
                     cert);
            cr_assert(strstr(log, want), "no '%s' in: %s", want, log);
            cr_assert_eq(run_status_tls("127.0.0.1", tls_ca, out, sizeof out), 1, "%s", out);
            cr_assert(strstr(out, "certificate verify failed: certificate has expired (renew "
                          "the gateway's certificate and send weft serve a SIGHUP)"), "%s", out);
        } else if (i == 1) {
            snprintf(want, sizeof want, "weft serve: note: the TLS certificate %s expires on ",
                     cert);
            cr_assert(strstr(log, want), "no '%s' in: %s", want, log);
            double left = tls_days_left(log, want);
            cr_assert(left > 1.9 && left < 2.1, "%g days left: %s", left, log);
            cr_assert(strstr(log, " UTC, in 2.0 days: renew it and send SIGHUP\n"), "%s", log);
        } else if (i == 2) {
            cr_assert(!strstr(log, "certificate"), "a certificate of 400 days: %s", log);
        } else {
            snprintf(want, sizeof want, "weft serve: warning: the TLS certificate %s becomes "
                     "valid on 2099-01-01 00:00:00 UTC: clients refuse it until then; use one "
                     "valid now (or check the clock) and send SIGHUP\n", cert);
            cr_assert(strstr(log, want), "no '%s' in: %s", want, log);
            cr_assert_eq(run_status_tls("127.0.0.1", tls_ca, out, sizeof out), 1, "%s", out);
            cr_assert(strstr(out, "certificate verify failed: certificate is not yet valid "
                          "(check this machine's clock, or give weft serve a certificate valid "
                          "now)"), "%s", out);
        }
        if (i == 1 || i == 2)
            cr_assert_eq(run_status_tls("127.0.0.1", tls_ca, out, sizeof out), 0, "%s", out);
        stop_server();
    }
}

/* Writes tls_dir's NAME.key and NAME.pem (cert_for_loopback's) over weft
 * serve's key and certificate, as an operator renewing them would, and
 * sends it a SIGHUP. */
static void sighup_serve_with(const char *name)
{
    char from[160];
    snprintf(from, sizeof from, "%s/%s.key", tls_dir, name);
    copy_file(from, tls_key);
    snprintf(from, sizeof from, "%s/%s.pem", tls_dir, name);
    copy_file(from, tls_cert);
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
}

/* `weft status` over TLS, with new connections, from the test's gateway
 * must give `reloads` TLS reloads, the agent connected before and about
 * `days` left to the certificate new connections get. */
static void expect_tls_status(long long reloads, double days)
{
    char out[8192];
    wait_tls_status_agents(tls_ca, 1, out, sizeof out);
    cr_assert_eq(table_value(out, "tls reloads"), reloads, "%s", out);
    double left = tls_days_left(out, "it is valid until ");
    cr_assert(fabs(left - days) < 0.1, "%g days left, not %g: %s", left, days, out);
}

/* A SIGHUP to a certificate that has already expired is refused, naming
 * the file and the date it expired, and so is one not valid until 2099,
 * naming that date: weft serve goes on serving the one it had to new
 * connections (status over TLS still verifies it, 20 days left, no reload
 * counted) and the agent connected before stays. One that expires in 2
 * days is taken, with the note. */
Test(gateway_tls, sighup_refuses_an_expired_or_not_yet_valid_certificate_keeping_the_one_in_use,
     .init = make_certs, .fini = stop_tls, .timeout = 60)
{
    char err_path[160], log[8192], want[400];
    snprintf(err_path, sizeof err_path, "%s/serve.err", tls_dir);
    server_stderr = err_path;
    const char *extra[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, NULL};
    start_server_args(extra);
    server_stderr = NULL;
    tls_agents[0] = start_tls_agent("0", tls_ca);
    expect_tls_status(0, 20);

    cert_for_loopback("expired", 0);
    sighup_serve_with("expired");
    snprintf(want, sizeof want, "weft serve: SIGHUP: TLS certificate not reloaded: the TLS "
             "certificate %s expired on 2025-02-01 00:00:00 UTC: clients refuse it; renew it "
             "and send SIGHUP; still serving the one read before\n", tls_cert);
    wait_in_file(err_path, want, 1, log, sizeof log);
    expect_tls_status(0, 20);

    cert_for_loopback_future("future");
    sighup_serve_with("future");
    snprintf(want, sizeof want, "weft serve: SIGHUP: TLS certificate not reloaded: the TLS "
             "certificate %s becomes valid on 2099-01-01 00:00:00 UTC: clients refuse it until "
             "then; use one valid now (or check the clock) and send SIGHUP; still serving the "
             "one read before\n", tls_cert);
    wait_in_file(err_path, want, 1, log, sizeof log);
    expect_tls_status(0, 20);

    cert_for_loopback("soon", 2);
    sighup_serve_with("soon");
    snprintf(want, sizeof want, "weft serve: SIGHUP: note: the TLS certificate %s expires on ",
             tls_cert);
    wait_in_file(err_path, want, 1, log, sizeof log);
    double left = tls_days_left(log, want);
    cr_assert(left > 1.9 && left < 2.1, "%g days left: %s", left, log);
    snprintf(want, sizeof want, "SIGHUP: TLS certificate %s reloaded (valid until ", tls_cert);
    cr_assert(strstr(log, want), "%s", log);
    expect_tls_status(1, 2);
}

/* Writes the test CA into path, and the other CA after it if also_other
 * (a peer's --tls-ca file while the gateway moves to the other CA). */
static void write_ca_file(const char *path, bool also_other)
{
    char both[8192];
    size_t n = read_file(tls_ca, both, sizeof both - 1);
    if (also_other)
        n += read_file(tls_other, both + n, sizeof both - n - 1);
    both[n] = 0;
    write_text(path, both);
}

/* A gateway moved to the other CA under a peer: the peer's CA file gets
 * both CAs, then the gateway is stopped, given a certificate from the
 * other CA and started again with again[] (its port; NULL-ended), so
 * that the peer has to reconnect. */
static void move_gateway_to_other_ca(const char *peer_ca, const char *const *again)
{
    write_ca_file(peer_ca, true);
    stop_server();
    sign_with_other_ca();
    start_server_args(again);
}

/* A CA changed without restarting the agents: weft agent --tls-ca reads
 * its file again when it reconnects. The agent's file gets the new CA
 * beside the old, the gateway a certificate from the new one and a
 * restart on the same port: the agent, disconnected, verifies it and is
 * back, where before it kept the CA read at start and stopped ("certificate
 * verify failed"). */
Test(gateway_tls, an_agent_reads_its_ca_file_again_to_reconnect, .fini = stop_tls,
     .timeout = 60)
{
    make_certs();
    char agent_ca[160], agent_log[160], log[8192], out[8192], gw[32];
    snprintf(agent_ca, sizeof agent_ca, "%s/agent-ca.pem", tls_dir);
    snprintf(agent_log, sizeof agent_log, "%s/agent.log", tls_dir);
    write_ca_file(agent_ca, false);
    const char *extra[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, NULL};
    start_server_args(extra);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", TOKEN,
                           "--tls-ca", agent_ca, "-v", NULL};
    spawn_weft_logged(agent_log, agent);
    tls_agents[0] = agent_pid;
    agent_pid = 0;
    wait_in_file(agent_log, "connected to the gateway", 1, log, sizeof log);

    const char *again[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, "--listen", gw, NULL};
    move_gateway_to_other_ca(agent_ca, again);
    wait_in_file(agent_log, "connected to the gateway", 2, log, sizeof log);
    wait_tls_status_agents(tls_other, 1, out, sizeof out);
    cr_assert_eq(waitpid(tls_agents[0], NULL, WNOHANG), 0, "the agent ended: %s", log);
}

/* The same for weft submit --tls-ca: its job waiting for agents that never
 * come, the gateway gets a certificate from the new CA and is restarted
 * from its journal on the same port; submit, whose CA file now holds both
 * CAs, reconnects and hears its job cancelled, exit status 0. */
Test(gateway_tls, submit_reads_its_ca_file_again_to_reconnect, .fini = stop_tls, .timeout = 60)
{
    make_certs();
    char sub_ca[160], sub_log[160], wl_path[160], journal[160], log[8192], gw[32];
    snprintf(sub_ca, sizeof sub_ca, "%s/submit-ca.pem", tls_dir);
    snprintf(sub_log, sizeof sub_log, "%s/submit.log", tls_dir);
    snprintf(wl_path, sizeof wl_path, "%s/one.weft", tls_dir);
    snprintf(journal, sizeof journal, "%s/gw.journal", tls_dir);
    write_text(wl_path,
               "weft-workload 1\nports 4\njob 7 0 1 0 1\ncoflow 1 0 1 -\n0 1 1000\nend 1\n");
    write_ca_file(sub_ca, false);
    const char *extra[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, "--journal", journal,
                           NULL};
    start_server_args(extra);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", wl_path, "--gateway", gw, "--token", TOKEN, "--tls-ca",
                            sub_ca, "--timeout", "40", NULL};
    spawn_weft_logged(sub_log, submit);
    pid_t sub = agent_pid;
    tls_agents[0] = sub;
    agent_pid = 0;
    wait_in_file(sub_log, "job 7 registered", 1, log, sizeof log);

    const char *again[] = {"--tls-cert", tls_cert, "--tls-key", tls_key, "--journal", journal,
                           "--listen", gw, NULL};
    move_gateway_to_other_ca(sub_ca, again);
    const char *cancel[] = {"cancel", "7", "--gateway", gw, "--token", TOKEN, "--tls-ca",
                            tls_other, NULL};
    char out[1024];
    int st = run_weft(out, sizeof out, cancel);
    cr_assert_eq(st, 0, "weft cancel: status %d: %s", st, out);
    int sub_st;
    cr_assert_eq(waitpid(sub, &sub_st, 0), sub);
    tls_agents[0] = 0;
    log[read_file(sub_log, log, sizeof log - 1)] = 0;
    cr_assert(WIFEXITED(sub_st) && WEXITSTATUS(sub_st) == 0, "submit status %#x: %s", sub_st,
              log);
    cr_assert(strstr(log, "job 7 cancelled") && !strstr(log, "verify failed"), "%s", log);
}

/* The reverse: a TLS client of a plain gateway fails the handshake, says
 * so and stops. */
Test(gateway_tls, tls_clients_of_a_plain_gateway_stop, .init = server_plain_and_certs,
     .fini = stop_tls, .timeout = 30)
{
    char out[8192], gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    double t0 = weft_mono_s();
    int st = run_status_tls("127.0.0.1", tls_ca, out, sizeof out);
    cr_assert_eq(st, 1, "TLS status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "TLS handshake with gateway") && strstr(out, gw), "%s", out);
    const char *submit[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                            TOKEN, "--tls-ca", tls_ca, "--timeout", "15", NULL};
    st = run_weft(out, sizeof out, submit);
    cr_assert_eq(st, 1, "TLS submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "TLS handshake with gateway") && strstr(out, "not retrying"), "%s",
              out);
    cr_assert_lt(weft_mono_s() - t0, 3.0, "TLS clients took %.1f s", weft_mono_s() - t0);
    still_serving();
}

/* weft serve with a certificate or key it cannot load: exit status 1 and
 * a message naming the file and why; a key that is another certificate's,
 * of its type (other.key) or not (an RSA key), is refused too. */
Test(gateway_tls, serve_refuses_a_key_it_cannot_load, .init = make_certs, .fini = remove_certs,
     .timeout = 30)
{
    char out[8192], missing[160], garbage[160], other_key[160], rsa_key[160];
    snprintf(missing, sizeof missing, "%s/missing.key", tls_dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.key", tls_dir);
    snprintf(other_key, sizeof other_key, "%s/other.key", tls_dir);
    snprintf(rsa_key, sizeof rsa_key, "%s/rsa.key", tls_dir);
    write_file(garbage, "not a key\n", 10);
    openssl_in_tls_dir("openssl genpkey -algorithm RSA -out rsa.key");
    const char *bad[][2] = {{tls_cert, missing},   {tls_cert, garbage},
                            {garbage, tls_key},    {tls_cert, tls_other},
                            {tls_cert, other_key}, {tls_cert, rsa_key}};
    const char *why[] = {"No such file or directory", "", "no start line", "",
                         ": key values mismatch\n", ": no certificate assigned\n"};
    char gone[300]; /* a key file that is not there: the system's reason, not OpenSSL's */
    snprintf(gone, sizeof gone, "TLS private key %s: No such file or directory\n", missing);
    for (int i = 0; i < 6; i++) {
        const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "2", "--token",
                              TOKEN, "--tls-cert", bad[i][0], "--tls-key", bad[i][1], NULL};
        int st = run_weft(out, sizeof out, args);
        cr_assert_eq(st, 1, "case %d: exit status %d: %s", i, st, out);
        const char *named = i == 2 ? garbage : bad[i][1];
        char key_why[300]; /* the other keys: the file, then OpenSSL's reason */
        snprintf(key_why, sizeof key_why, "TLS private key %s%s", named, why[i]);
        cr_assert(strstr(out, "weft serve:") && strstr(out, named) && strstr(out, why[i]) &&
                      (i || strstr(out, gone)) && (i < 4 || strstr(out, key_why)),
                  "case %d: %s", i, out);
    }
}

/* The client library itself over TLS: rpc_client_tls, then 3000 status
 * requests queued at once; the answers (more than the decoder's 1 MiB)
 * all arrive, in order, through rpc_client_wait, which must take bytes
 * that TLS has buffered and poll does not see. */
Test(gateway_tls, the_client_library_reads_a_backlog_over_tls, .init = server_tls,
     .fini = stop_tls, .timeout = 30)
{
    rpc_client_t c;
    rpc_client_init(&c);
    cr_assert_eq(rpc_client_tls(&c, tls_ca), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(rpc_client_connect(&c, "127.0.0.1", server_port, 5.0), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(c.tls, "not a TLS connection");
    hello_client(&c);
    enum { N = 6000 };
    for (int i = 0; i < N; i++)
        cr_assert_eq(rpc_client_status(&c, i), WEFT_OK);
    while (rpc_client_want_write(&c)) {
        cr_assert_eq(rpc_client_flush(&c), WEFT_OK, "%s", weft_last_error());
        struct pollfd p = {c.fd, POLLOUT, 0};
        poll(&p, 1, 100);
    }
    usleep(500 * 1000); /* let the answers pile up unread */
    size_t bytes = 0;
    for (int i = 0; i < N; i++) {
        const msgpack_object *m = wait_type(&c, "status");
        int64_t seq;
        cr_assert_eq(rpc_get_int(m, "seq", 0, N, &seq), WEFT_OK);
        cr_assert_eq(seq, i);
        bytes += c.fr.size;
    }
    cr_assert_gt(bytes, (size_t)1 << 20, "only %zu bytes of answers", bytes);
    rpc_client_destroy(&c);
}

/* A TLS server of one connection, in a thread: it writes `n` bytes to its
 * client in one SSL_write (one TLS record), then reads until the client
 * closes. */
typedef struct {
    int lfd;                   /* listening socket */
    const unsigned char *bytes;
    size_t n;
} tls_burst_t;

static void *tls_burst_server(void *arg)
{
    tls_burst_t *b = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int fd = accept(b->lfd, NULL, NULL);
    if (ctx && fd >= 0 && SSL_CTX_use_certificate_chain_file(ctx, tls_cert) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, tls_key, SSL_FILETYPE_PEM) == 1) {
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1 && SSL_write(ssl, b->bytes, (int)b->n) == (int)b->n) {
            char byte;
            while (SSL_read(ssl, &byte, 1) > 0)
                ;
        }
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return NULL;
}

/* Frames that reach the client in one TLS record larger than its decoder:
 * the read takes what the decoder has room for and OpenSSL keeps the rest
 * of the record, which poll cannot see (the socket is empty: the server
 * sends nothing more). rpc_client_wait must take those bytes without
 * waiting on the socket (rpc_client_pending), or it would wait out its
 * timeout with the frames still unread. */
Test(gateway_tls, frames_buffered_inside_tls_are_read_without_waiting, .init = make_certs,
     .fini = remove_certs, .timeout = 30)
{
    enum { FRAMES = 6, PAD = 480, CAP = 1024 };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    static char pad[PAD];
    for (int i = 0; i < FRAMES; i++)
        cr_assert_eq(pack_blob(&sb, i, pad, sizeof pad, CAP), WEFT_OK);
    /* more than the decoder holds, less than one record (16 KiB) */
    cr_assert_gt(sb.size, 2 * (CAP + RPC_HEADER_BYTES));
    cr_assert_lt(sb.size, (size_t)16384);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 1) == 0 &&
              getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
    tls_burst_t burst = {lfd, (const unsigned char *)sb.data, sb.size};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, tls_burst_server, &burst), 0);

    rpc_client_t c;
    rpc_client_init(&c);
    cr_assert_eq(rpc_client_tls(&c, tls_ca), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(rpc_client_connect(&c, "127.0.0.1", ntohs(sa.sin_port), 5.0), WEFT_OK, "%s",
                 weft_last_error());
    rpc_decoder_destroy(&c.dec); /* a decoder smaller than the record */
    rpc_limits_t lim = {.max_frame = CAP};
    cr_assert_eq(rpc_decoder_init(&c.dec, &lim), WEFT_OK);
    usleep(200 * 1000); /* the whole record is in the client's socket */
    for (int i = 0; i < FRAMES; i++) {
        const msgpack_object *m;
        double t0 = weft_mono_s();
        int r = rpc_client_wait(&c, 3.0, &m);
        cr_assert_eq(r, 1, "frame %d: r=%d after %.1f s: %s", i, r, weft_mono_s() - t0,
                     r < 0 ? weft_last_error() : "timed out");
        int64_t seq;
        cr_assert_eq(rpc_get_int(m, "seq", 0, FRAMES, &seq), WEFT_OK);
        cr_assert_eq(seq, i);
    }
    rpc_client_destroy(&c);
    pthread_join(th, NULL);
    close(lfd);
    msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------- TLS data connections */

/* Besides make_certs' files: an agent's certificate of the test's CA for
 * the address the gateway sees the agents at, IP 127.0.0.1 (agent.pem,
 * agent.key), one of the same CA made for another agent's address, IP
 * 10.9.9.9 (elsewhere.pem, elsewhere.key), and one of the other CA
 * (rogue.pem, rogue.key). */
static char agent_cert[128], agent_key[128], rogue_cert[128], rogue_key[128];
static char elsewhere_cert[128], elsewhere_key[128];
static char data_log[2][128];
static pid_t data_agents[2];

static void make_data_certs(void)
{
    snprintf(agent_cert, sizeof agent_cert, "%s/agent.pem", tls_dir);
    snprintf(agent_key, sizeof agent_key, "%s/agent.key", tls_dir);
    snprintf(rogue_cert, sizeof rogue_cert, "%s/rogue.pem", tls_dir);
    snprintf(rogue_key, sizeof rogue_key, "%s/rogue.key", tls_dir);
    snprintf(elsewhere_cert, sizeof elsewhere_cert, "%s/elsewhere.pem", tls_dir);
    snprintf(elsewhere_key, sizeof elsewhere_key, "%s/elsewhere.key", tls_dir);
    for (int i = 0; i < 2; i++)
        snprintf(data_log[i], sizeof data_log[i], "%s/agent%d.log", tls_dir, i);
    openssl_in_tls_dir("openssl req $EC -keyout agent.key -out agent.csr -subj /CN=weft-agent "
                       "&& printf 'subjectAltName=IP:127.0.0.1\\n' >agent.ext "
                       "&& openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key "
                       "-CAcreateserial -out agent.pem -days 2 -extfile agent.ext "
                       "&& openssl req $EC -keyout elsewhere.key -out elsewhere.csr "
                       "-subj /CN=agent-10.9.9.9 "
                       "&& printf 'subjectAltName=IP:10.9.9.9\\n' >elsewhere.ext "
                       "&& openssl x509 -req -in elsewhere.csr -CA ca.pem -CAkey ca.key "
                       "-CAcreateserial -out elsewhere.pem -days 2 -extfile elsewhere.ext "
                       "&& openssl req $EC -keyout rogue.key -out rogue.csr -subj "
                       "/CN=rogue-agent && openssl x509 -req -in rogue.csr -CA other.pem "
                       "-CAkey other.key -CAcreateserial -out rogue.pem -days 2");
}

static void server_tls_data(void)
{
    server_tls();
    make_data_certs();
}

static void certs_and_data_certs(void)
{
    make_certs();
    make_data_certs();
}

static void stop_tls_data(void)
{
    for (int i = 0; i < 2; i++)
        end_child(&data_agents[i]);
    stop_tls();
}

/* A real verbose `weft agent --id K` (K 0 or 1) on the TLS gateway, its
 * data connections TLS with cert and key (plain if cert is NULL), its
 * stderr in data_log[K]. */
static void spawn_data_agent(int k, const char *cert, const char *key)
{
    char gw[32], id[4];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(id, sizeof id, "%d", k);
    write_text(data_log[k], "");
    data_agents[k] = fork_tied(SIGTERM);
    cr_assert(data_agents[k] >= 0);
    if (data_agents[k] == 0) {
        int fd = open(data_log[k], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        const char *bin = getenv("WEFT_BIN");
        const char *argv[16] = {bin, "agent", "--id", id, "--gateway", gw, "--token", TOKEN,
                                "--tls-ca", tls_ca, "-v"};
        size_t n = 11;
        if (cert)
            argv[n++] = "--data-cert", argv[n++] = cert, argv[n++] = "--data-key",
            argv[n++] = key;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
}

/* `weft submit --tls-ca` of job `job`: a flow of `bytes` 0 -> 1, and 1 -> 0
 * too when `both`; its exit status, its output in out[n]. */
static int submit_data_job(int job, double bytes, bool both, const char *timeout, char *out,
                           size_t n)
{
    char wl_path[160], gw[32];
    snprintf(wl_path, sizeof wl_path, "%s/data.weft", tls_dir);
    FILE *f = fopen(wl_path, "w");
    cr_assert(f);
    fprintf(f, "weft-workload 1\nports 2\njob %d 0 1 0 1\ncoflow 1 0 %d -\n0 1 %.0f\n", job,
            both ? 2 : 1, bytes);
    if (both)
        fprintf(f, "1 0 %.0f\n", bytes);
    fprintf(f, "end 1\n");
    fclose(f);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", wl_path, "--gateway", gw, "--token", TOKEN, "--tls-ca",
                            tls_ca, "--timeout", timeout, NULL};
    return run_weft(out, n, submit);
}

/* Agents 0 and 1 as spawn_data_agent starts them (cert0 and cert1 with
 * their keys), then submit_data_job. */
static int data_job(const char *cert0, const char *key0, const char *cert1, const char *key1,
                    double bytes, bool both, const char *timeout, char *out, size_t n)
{
    spawn_data_agent(0, cert0, key0);
    spawn_data_agent(1, cert1, key1);
    return submit_data_job(0, bytes, both, timeout, out, n);
}

/* Two agents given --data-cert move a job's bytes both ways over mutual
 * TLS, acknowledged, and each receives every byte sent to it. The data
 * port takes nothing in clear: a stranger writing a weft sender's plain
 * hello and payload there is refused by name, answered nothing (a plain
 * agent answers "weft-a1\n") and counted nothing. */
Test(gateway_tls, data_connections_move_the_bytes_over_tls, .init = server_tls_data,
     .fini = stop_tls_data, .timeout = 30)
{
    char out[8192];
    int st = data_job(agent_cert, agent_key, agent_cert, agent_key, 3e6, true, "15", out,
                             sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "job 0 done: JCT"), "%s", out);
    cr_assert(file_has(data_log[0], "TLS only") && file_has(data_log[1], "TLS only"));
    cr_assert(file_has(data_log[0], "all 3000000 bytes sent, acknowledged by agent 1"));
    cr_assert(file_has(data_log[1], "all 3000000 bytes sent, acknowledged by agent 0"));

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)agent_data_port(data_log[1]))};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    char plain[1008] = "weft-d1\n", said[128];
    cr_assert_eq(send(fd, plain, sizeof plain, MSG_NOSIGNAL), (ssize_t)sizeof plain);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char answer[16];
    ssize_t got = recv(fd, answer, sizeof answer, 0);
    close(fd);
    cr_assert(got <= 0, "the TLS data port answered %zd bytes in clear", got);
    snprintf(said, sizeof said, "refused a data connection from 127.0.0.1:%d: it sent plain "
             "bytes", ntohs(sa.sin_port));
    cr_assert(wait_file_has(data_log[1], said, 5), "no '%s' in agent 1's log", said);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 3000000);
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 3000000);
}

/* data_job of 1 MB 0 -> 1 (and back with `both`) with these certificates,
 * which must not finish in submit's 0.8 s, then the line of agent k's log
 * that says why, which must say who too (waited for: submit's timeout does
 * not wait for the agents, and a loaded machine may be late). */
static void unfinished_job_logs(const char *cert0, const char *key0, const char *cert1,
                                const char *key1, bool both, int k, const char *why,
                                const char *who)
{
    char out[8192], line[512];
    int st = data_job(cert0, key0, cert1, key1, 1e6, both, "0.8", out, sizeof out);
    cr_assert_eq(st, 1, "weft submit: exit status %d: %s", st, out);
    cr_assert(strstr(out, "timeout: 0 of 1 jobs finished"), "%s", out);
    cr_assert(wait_file_has(data_log[k], why, 10) && file_line(data_log[k], why, line,
                                                               sizeof line),
              "no '%s' in agent %d's log", why, k);
    cr_assert(strstr(line, who), "%s", line);
}

/* A sender whose certificate another CA signed gets nothing through: the
 * receiver refuses it naming its address, its certificate's subject and
 * why, counts nothing, and the job does not finish. */
Test(gateway_tls, a_sender_with_another_cas_certificate_is_refused, .init = server_tls_data,
     .fini = stop_tls_data, .timeout = 30)
{
    unfinished_job_logs(rogue_cert, rogue_key, agent_cert, agent_key, false, 1,
                        "its certificate (/CN=rogue-agent) was refused: unable to get local "
                        "issuer certificate",
                        "refused a data connection from 127.0.0.1:");
    cr_assert(wait_file_has(data_log[0], "data connection to agent 1 at 127.0.0.1:", 5),
              "agent 0 did not say its connection to agent 1 failed");
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 0);
}

/* A receiver whose certificate the CA signed, but for another address
 * (10.9.9.9) than the one the gateway relays for it (127.0.0.1), as a
 * machine that took another agent's address with its own certificate
 * would present: agent 0 does not send to it, saying whose certificate
 * names what, and agent 1 receives nothing. The other way, agent 0 as a
 * receiver refuses the same certificate from agent 1, for the address
 * relayed for the agent it says it is, and receives nothing either. */
Test(gateway_tls, a_receiver_whose_certificate_names_another_address_gets_nothing,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    unfinished_job_logs(agent_cert, agent_key, elsewhere_cert, elsewhere_key, true, 0,
                        "its certificate (/CN=agent-10.9.9.9) names IP:10.9.9.9, not "
                        "127.0.0.1, the address the gateway relayed for it; its flows wait",
                        "not sending to agent 1 at 127.0.0.1:");
    cr_assert(wait_file_has(data_log[0], "it says it is agent 1, and its certificate "
                                         "(/CN=agent-10.9.9.9) names IP:10.9.9.9, not "
                                         "127.0.0.1, the address the gateway relayed for agent "
                                         "1", 10),
              "agent 0 did not refuse agent 1's certificate as a receiver");
    cr_assert(!file_has(data_log[0], "sending to agent 1 from byte"),
              "agent 0 began its flow to agent 1");
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 0);
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 0);
}

/* A gateway listening on [::] takes IPv4 agents on a dual-stack socket and
 * relays their addresses as it sees them, ::ffff:127.0.0.1: a sender
 * checks that as 127.0.0.1, the IP the receiver's certificate names, and
 * the bytes move (compared as IPv6, the address would match no IPv4 name
 * and every agent behind such a gateway would be refused). A gateway that
 * took no IPv4 on [::] (bindv6only) would fail the test, not pass it. */
static void dual_stack_server_tls_data(void)
{
    make_certs();
    const char *extra[] = {"--listen", "[::]:0", "--tls-cert", tls_cert, "--tls-key", tls_key,
                           NULL};
    start_server_args(extra);
    make_data_certs();
}

Test(gateway_tls, a_dual_stack_gateways_ipv4_mapped_address_is_checked_as_ipv4,
     .init = dual_stack_server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    char out[8192];
    int st = data_job(agent_cert, agent_key, agent_cert, agent_key, 1e6, false, "15", out,
                      sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);
    cr_assert(file_has(data_log[0], "all 1000000 bytes sent, acknowledged by agent 1"));
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 1000000);
}

/* The test as a TLS sender to the real agent at 127.0.0.1:port, with cert
 * and key: a version 3 data hello saying it is agent `claimed`, stream
 * `stream` from offset 0, and `payload` zero bytes in the same write. True
 * if the receiver answered "weft-a3\n" and then counted all the payload;
 * false if it closed the connection unanswered (a refusal). */
static bool pose_as_sender(int port, const char *cert, const char *key, uint64_t claimed,
                           uint64_t stream, size_t payload)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert(ctx && SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
              SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
              SSL_CTX_load_verify_locations(ctx, tls_ca, NULL) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    cr_assert_eq(SSL_connect(ssl), 1, "the TLS handshake with agent 1 failed");
    size_t n = 32 + payload;
    unsigned char *out = calloc(n, 1), answer[8];
    cr_assert(out);
    memcpy(out, "weft-d3\n", 8);
    for (int k = 0; k < 8; k++) {
        out[8 + k] = (unsigned char)(stream >> (56 - 8 * k));
        out[24 + k] = (unsigned char)(claimed >> (56 - 8 * k));
    }
    signal(SIGPIPE, SIG_IGN); /* a refusal may close the socket under the write */
    bool written = SSL_write(ssl, out, (int)n) == (int)n;
    free(out);
    size_t got = 0;
    while (written && got < 8) {
        int r = SSL_read(ssl, answer + got, (int)(8 - got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    bool taken = got == 8;
    if (taken) {
        cr_assert(!memcmp(answer, "weft-a3\n", 8), "agent 1 answered %.8s", answer);
        uint64_t count = 0; /* cumulative counts, until they cover the payload */
        while (count < payload && SSL_read(ssl, answer, 8) == 8) {
            count = 0;
            for (int k = 0; k < 8; k++)
                count = count << 8 | answer[k];
        }
        cr_assert_eq(count, payload, "agent 1 counted %llu of %zu bytes",
                     (unsigned long long)count, payload);
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return taken;
}

/* A sender's certificate must name the address the gateway relayed for
 * the agent its data hello says it is. The test poses as senders to a
 * real TLS agent 1: as agent 0 before the gateway has relayed any address
 * for it, refused (not taken on trust); once the test has also said
 * hello as agent 0 (from 127.0.0.1), with the certificate for 127.0.0.1,
 * taken and counted; then, as a machine holding the CA's certificate of
 * another agent (10.9.9.9) claiming to be agent 0, refused with its
 * address, the id it claimed, the address expected and its certificate's
 * names, answered nothing, and none of its payload counted. */
Test(gateway_tls, a_sender_claiming_another_agents_id_is_refused, .init = server_tls_data,
     .fini = stop_tls_data, .timeout = 30)
{
    spawn_data_agent(1, agent_cert, agent_key);
    int port = agent_data_port(data_log[1]);
    cr_assert(wait_file_has(data_log[1], "connected to the gateway", 5));
    cr_assert(!pose_as_sender(port, agent_cert, agent_key, 0, 1, 1000),
              "agent 1 took a sender as agent 0 with no address relayed for agent 0");
    cr_assert(wait_file_has(data_log[1], "it says it is agent 0, for which the gateway has "
                                         "relayed no address yet", 5));

    rpc_client_t me;
    rpc_client_init(&me);
    cr_assert_eq(rpc_client_tls(&me, tls_ca), WEFT_OK);
    cr_assert_eq(rpc_client_connect(&me, "127.0.0.1", server_port, 2.0), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(rpc_client_hello_agent_data(&me, TOKEN, 0, 1, RPC_DATA_ACKS, true), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&me), WEFT_OK);
    /* agent 1 learns agent 0's address from the gateway's next peers */
    bool taken = false;
    for (int tries = 0; !taken && tries < 50; tries++) {
        taken = pose_as_sender(port, agent_cert, agent_key, 0, 2, 5000);
        if (!taken)
            usleep(20000);
    }
    cr_assert(taken, "agent 1 never took agent 0's certificate for 127.0.0.1");

    cr_assert(!pose_as_sender(port, elsewhere_cert, elsewhere_key, 0, 3, 100000),
              "agent 1 took a certificate for 10.9.9.9 as agent 0, at 127.0.0.1");
    const char *said = "it says it is agent 0, and its certificate (/CN=agent-10.9.9.9) names "
                       "IP:10.9.9.9, not 127.0.0.1, the address the gateway relayed for agent 0";
    char line[1024];
    cr_assert(wait_file_has(data_log[1], said, 5) && file_line(data_log[1], said, line,
                                                               sizeof line),
              "no '%s' in agent 1's log", said);
    cr_assert(strstr(line, "refused a data connection from 127.0.0.1:"), "%s", line);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 5000);
    rpc_client_destroy(&me);
}

/* A plain agent and a TLS one exchange nothing: each says, naming the
 * other, why it does not send (the gateway relays who takes TLS), neither
 * receives a byte. */
Test(gateway_tls, a_plain_agent_and_a_tls_agent_send_each_other_nothing,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    unfinished_job_logs(NULL, NULL, agent_cert, agent_key, true, 0,
                        "its data port takes TLS only and this agent has no --data-cert",
                        "not sending to agent 1 at 127.0.0.1:");
    cr_assert(wait_file_has(data_log[1], "not sending to agent 0 at 127.0.0.1:", 10));
    cr_assert(file_has(data_log[1], "its data port is plain TCP and this agent sends over TLS "
                                    "only"));
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 0);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 0);
}

/* On the wire: the test, as agent 1 saying its data port takes TLS, reads
 * what a real TLS agent 0 writes there for a job: a TLS handshake record
 * (22, version 3.x), and nowhere the "weft-d" a plain sender begins with. */
Test(gateway_tls, what_a_tls_agent_writes_is_tls_from_its_first_byte, .init = server_tls_data,
     .fini = stop_tls_data, .timeout = 30)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(lfd >= 0 && !bind(lfd, (struct sockaddr *)&sa, sizeof sa) && !listen(lfd, 4) &&
              !getsockname(lfd, (struct sockaddr *)&sa, &len));
    rpc_client_t me;
    rpc_client_init(&me);
    cr_assert_eq(rpc_client_tls(&me, tls_ca), WEFT_OK);
    cr_assert_eq(rpc_client_connect(&me, "127.0.0.1", server_port, 2.0), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(rpc_client_hello_agent_data(&me, TOKEN, 1, ntohs(sa.sin_port), RPC_DATA_ACKS,
                                             true), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&me), WEFT_OK);
    spawn_data_agent(0, agent_cert, agent_key);
    char out[8192];
    submit_data_job(0, 1e6, false, "0.3", out, sizeof out); /* registered; not finished */
    struct pollfd p = {lfd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 5000), 1, "agent 0 did not connect to the test's data port");
    int fd = accept(lfd, NULL, NULL);
    unsigned char first[4096];
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t got = recv(fd, first, sizeof first, 0);
    cr_assert_geq(got, 3, "agent 0 wrote %zd bytes", got);
    cr_assert(first[0] == 22 && first[1] == 3, "its first bytes are %02x %02x, not a TLS "
              "handshake record", first[0], first[1]);
    cr_assert(!memmem(first, (size_t)got, "weft-d", 6), "'weft-d' in clear on the wire");
    close(fd);
    close(lfd);
    rpc_client_destroy(&me);
}

/* A data certificate or key `weft agent` cannot use stops it at start,
 * before it connects anywhere (no gateway listens here), with status 1
 * naming the file and why; --data-cert without --tls-ca is a usage error
 * (status 2) naming what is missing. */
Test(gateway_tls, an_agent_stops_on_a_data_certificate_it_cannot_use,
     .init = certs_and_data_certs, .fini = remove_certs, .timeout = 30)
{
    char out[4096], missing[160], mismatch[400], rsa_key[160], rsa_mismatch[400];
    snprintf(missing, sizeof missing, "%s/none.pem", tls_dir);
    snprintf(mismatch, sizeof mismatch, "key %s is not the key of certificate %s", rogue_key,
             agent_cert);
    /* a key of another type loads beside the certificate, not as its key */
    snprintf(rsa_key, sizeof rsa_key, "%s/rsa.key", tls_dir);
    openssl_in_tls_dir("openssl genpkey -algorithm RSA -out rsa.key");
    snprintf(rsa_mismatch, sizeof rsa_mismatch, "key %s is not the key of certificate %s",
             rsa_key, agent_cert);
    /* a key file that OpenSSL cannot read: named, not the CA file after it */
    char garbage[160], garbage_named[300];
    snprintf(garbage, sizeof garbage, "%s/garbage.key", tls_dir);
    write_file(garbage, "not a key\n", 10);
    snprintf(garbage_named, sizeof garbage_named, "TLS data connections: %s: ", garbage);
    const struct {
        const char *cert, *key, *ca;
        int status;
        const char *says;
    } cases[] = {
        {agent_cert, rogue_key, tls_ca, 1, mismatch},
        {agent_cert, rsa_key, tls_ca, 1, rsa_mismatch},
        {missing, agent_key, tls_ca, 1, "none.pem: No such file or directory"},
        {agent_key, agent_key, tls_ca, 1, "agent.key: no start line"},
        {agent_cert, garbage, tls_ca, 1, garbage_named},
        {agent_cert, agent_key, NULL, 2, "--tls-ca is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[] = {"agent", "--id", "0", "--gateway", "127.0.0.1:1", "--token",
                              TOKEN, "--data-cert", cases[i].cert, "--data-key", cases[i].key,
                              cases[i].ca ? "--tls-ca" : NULL, cases[i].ca, NULL};
        int st = run_weft(out, sizeof out, args);
        cr_assert_eq(st, cases[i].status, "case %zu: exit status %d: %s", i, st, out);
        cr_assert(strstr(out, cases[i].says), "case %zu: no '%s' in: %s", i, cases[i].says,
                  out);
    }
}

/* ----------------------------------------- a data certificate renewed by SIGHUP */

/* Agent 1's own --data-cert and --data-key files, which the tests write
 * over as an operator renewing them would. */
static char own_cert[160], own_key[160];

/* Copies cert and key over agent 1's own files. */
static void own_data_files(const char *cert, const char *key)
{
    snprintf(own_cert, sizeof own_cert, "%s/own.pem", tls_dir);
    snprintf(own_key, sizeof own_key, "%s/own.key", tls_dir);
    copy_file(cert, own_cert);
    copy_file(key, own_key);
}

/* Sends agent 1 a SIGHUP, waits for the n-th line of its log holding
 * `says` (what the reload logged) and gives it in line[size]; agent 1 must
 * still be running. */
static void sighup_agent1(const char *says, int n, char *line, size_t size)
{
    static char log[1 << 18];
    /* a stopped agent's pid is 0, and kill(0, ...) signals this test's own group */
    cr_assert(data_agents[1] > 0, "agent 1 is not running");
    cr_assert_eq(kill(data_agents[1], SIGHUP), 0);
    wait_in_file(data_log[1], says, n, log, sizeof log);
    const char *at = strstr(log, says); /* not log - 1: before an array is undefined */
    for (int i = 1; i < n; i++)
        at = strstr(at + 1, says);
    while (at > log && at[-1] != '\n')
        at--;
    snprintf(line, size, "%.*s", (int)strcspn(at, "\n"), at);
    cr_assert_eq(waitpid(data_agents[1], NULL, WNOHANG), 0, "agent 1 ended: %s", log);
}

/* The line of agent k's log that holds `why` (waited for), which must say
 * who too. */
static void agent_says(int k, const char *why, const char *who)
{
    char line[1024];
    cr_assert(wait_file_has(data_log[k], why, 10) && file_line(data_log[k], why, line,
                                                               sizeof line),
              "no '%s' in agent %d's log", why, k);
    cr_assert(strstr(line, who), "%s", line);
}

/* SIGHUP makes an agent read its data certificate, key and CA again: the
 * data connections open keep the certificate they began with, and those
 * opened after, both ways, get the new one. Agent 1's files, the CA's
 * certificate for 127.0.0.1, are written over with the CA's certificate
 * for 10.9.9.9 after a first job: a second job still moves both ways over
 * the connections the first opened; then agent 0, restarted so that every
 * connection is new, refuses agent 1's new certificate by its subject as a
 * sender and as a receiver, and a third job waits. A certificate for
 * 127.0.0.1 valid 30 days written over them and a SIGHUP, and that job's
 * held flows go through. Each reload's line names the file and the end of
 * validity of the certificate it read. */
Test(gateway_tls, sighup_renews_an_agents_data_certificate_for_new_connections,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 90)
{
    char out[8192], line[1024], want[300];
    static char log[1 << 18];
    own_data_files(agent_cert, agent_key);
    int st = data_job(agent_cert, agent_key, own_cert, own_key, 1e6, true, "15", out,
                      sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);

    own_data_files(elsewhere_cert, elsewhere_key);
    snprintf(want, sizeof want, "weft agent 1: SIGHUP: data certificate %s reloaded (valid "
             "until ", own_cert);
    sighup_agent1(want, 1, line, sizeof line);
    cr_assert(strstr(line, "; new data connections get it, those open keep theirs"), "%s", line);
    double days = tls_days_left(line, "(valid until ");
    cr_assert(days > 1.9 && days < 2.1, "%g days left: %s", days, line);
    st = submit_data_job(1, 1e6, true, "15", out, sizeof out);
    cr_assert_eq(st, 0, "the connections open before the reload: exit status %d: %s", st, out);

    end_child(&data_agents[0]);
    spawn_data_agent(0, agent_cert, agent_key);
    st = submit_data_job(2, 1e6, true, "0.8", out, sizeof out);
    cr_assert_eq(st, 1, "weft submit: exit status %d: %s", st, out);
    agent_says(0, "its certificate (/CN=agent-10.9.9.9) names IP:10.9.9.9, not 127.0.0.1, the "
                  "address the gateway relayed for it",
               "not sending to agent 1 at 127.0.0.1:");
    agent_says(0, "it says it is agent 1, and its certificate (/CN=agent-10.9.9.9) names "
                  "IP:10.9.9.9, not 127.0.0.1",
               "refused a data connection from 127.0.0.1:");
    cr_assert(!file_has(data_log[0], "acknowledged by agent 1"), "agent 0 sent to agent 1");

    openssl_in_tls_dir("openssl req $EC -keyout renewed.key -out renewed.csr "
                       "-subj /CN=weft-agent-renewed && openssl x509 -req -in renewed.csr "
                       "-CA ca.pem -CAkey ca.key -CAcreateserial -out renewed.pem -days 30 "
                       "-extfile agent.ext");
    char renewed_cert[160], renewed_key[160];
    snprintf(renewed_cert, sizeof renewed_cert, "%s/renewed.pem", tls_dir);
    snprintf(renewed_key, sizeof renewed_key, "%s/renewed.key", tls_dir);
    own_data_files(renewed_cert, renewed_key);
    sighup_agent1(want, 2, line, sizeof line);
    days = tls_days_left(line, "(valid until ");
    cr_assert(days > 29.9 && days < 30.1, "%g days left: %s", days, line);
    wait_in_file(data_log[0], "all 1000000 bytes sent, acknowledged by agent 1", 1, log,
                 sizeof log);
    wait_in_file(data_log[1], "all 1000000 bytes sent, acknowledged by agent 0", 3, log,
                 sizeof log);
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 1000000);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 3000000);
}

/* A reload that fails leaves the certificate read before in force: agent
 * 1's key written over with another certificate's, its certificate cut in
 * half, then removed, then put back with the CA file broken, each followed
 * by a SIGHUP: each time one line names the file and why, and the agent
 * goes on; a job then moves both ways, every byte received, with the
 * certificate agent 1 read at start (no reload took). */
Test(gateway_tls, a_failed_data_certificate_reload_keeps_the_one_before,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 60)
{
    char out[8192], line[1024], pem[8192];
    own_data_files(agent_cert, agent_key);
    spawn_data_agent(0, agent_cert, agent_key);
    spawn_data_agent(1, own_cert, own_key);
    cr_assert(wait_file_has(data_log[1], "connected to the gateway", 10), "agent 1 is not in");
    size_t n = read_file(agent_cert, pem, sizeof pem);
    char mismatch[400], half[300], missing[300], bad_ca[300], ca[8192];
    snprintf(mismatch, sizeof mismatch, "key %s is not the key of certificate %s", own_key,
             own_cert);
    snprintf(half, sizeof half, "TLS data connections: %s: ", own_cert);
    snprintf(missing, sizeof missing, "TLS data certificate %s: No such file or directory",
             own_cert);
    snprintf(bad_ca, sizeof bad_ca, "TLS data connections: %s: ", tls_ca);
    const char *says[] = {mismatch, half, missing, bad_ca};
    size_t n_ca = read_file(tls_ca, ca, sizeof ca);
    for (int i = 0; i < 4; i++) {
        if (i == 0)
            copy_file(rogue_key, own_key);
        else if (i == 1) {
            copy_file(agent_key, own_key);
            write_file(own_cert, pem, n / 2);
        } else if (i == 2)
            cr_assert_eq(unlink(own_cert), 0);
        else { /* the certificate back, and the CA file (all agents read it) no CA's */
            copy_file(agent_cert, own_cert);
            write_file(tls_ca, "not a certificate\n", 18);
        }
        sighup_agent1("weft agent 1: SIGHUP: data certificate not reloaded: ", i + 1, line,
                      sizeof line);
        if (i == 3)
            write_file(tls_ca, ca, n_ca);
        cr_assert(strstr(line, says[i]), "case %d: no '%s' in: %s", i, says[i], line);
        cr_assert(strstr(line, "; new data connections still get the one read before"), "%s",
                  line);
    }
    int st = submit_data_job(0, 1e6, true, "15", out, sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);
    cr_assert(!file_has(data_log[1], "reloaded (valid until"), "a broken file was taken");
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 1000000);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 1000000);
}

/* SIGHUP's default action ends a process, and it ended `weft agent` until
 * 2026-12-07: an agent without --data-cert, quiet (no -v), says on stderr
 * that it has nothing to reload and goes on; a job's flow from it then
 * arrives whole. */
Test(gateway_tls, sighup_to_an_agent_without_a_data_certificate_leaves_it_running,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    char gw[32], err_path[160], log[8192], out[8192];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(err_path, sizeof err_path, "%s/quiet.log", tls_dir);
    const char *quiet[] = {"agent", "--id",  "0",    "--gateway", gw,
                           "--token", TOKEN, "--tls-ca", tls_ca, NULL};
    spawn_weft_logged(err_path, quiet);
    data_agents[0] = agent_pid;
    agent_pid = 0;
    spawn_data_agent(1, NULL, NULL);
    wait_tls_status_agents(tls_ca, 2, out, sizeof out);
    cr_assert_eq(kill(data_agents[0], SIGHUP), 0);
    wait_in_file(err_path, "weft agent 0: SIGHUP: nothing to reload: no --data-cert (the "
                           "--tls-ca and --token-file files are read again at each connection "
                           "to the gateway)", 1, log, sizeof log);
    cr_assert_eq(waitpid(data_agents[0], NULL, WNOHANG), 0, "agent 0 ended: %s", log);
    int st = submit_data_job(0, 1e5, false, "15", out, sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 100000);
}

/* ------------------------------ a data certificate's end of validity */

/* What `weft agent` says at start of its data certificate, as weft serve
 * of its own: a warning for one that has expired, a note for one that
 * expires in 2 days (agent.pem). The expired one is truly refused: agent
 * 1 refuses agent 0 as a sender for it, and the job's flow waits. */
Test(gateway_tls, an_agent_says_at_start_that_its_data_certificate_expired_or_is_due,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    char expired_cert[160], expired_key[160], want[400], line[1024];
    cert_for_loopback("expired", 0);
    snprintf(expired_cert, sizeof expired_cert, "%s/expired.pem", tls_dir);
    snprintf(expired_key, sizeof expired_key, "%s/expired.key", tls_dir);
    unfinished_job_logs(expired_cert, expired_key, agent_cert, agent_key, false, 1,
                        "its certificate (/CN=127.0.0.1) was refused: certificate has expired",
                        "refused a data connection from 127.0.0.1:");
    snprintf(want, sizeof want, "weft agent 0: warning: the data certificate %s expired on "
             "2025-02-01 00:00:00 UTC: the other agents refuse it; renew it and send SIGHUP",
             expired_cert);
    cr_assert(file_has(data_log[0], want), "no '%s' in agent 0's log", want);
    snprintf(want, sizeof want, "weft agent 1: note: the data certificate %s expires on ",
             agent_cert);
    cr_assert(file_line(data_log[1], want, line, sizeof line), "no '%s' in agent 1's log",
              want);
    double left = tls_days_left(line, want);
    cr_assert(left > 1.9 && left < 2.1, "%g days left: %s", left, line);
    cr_assert(strstr(line, " UTC, in 2.0 days: renew it and send SIGHUP"), "%s", line);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 0);
}

/* An agent whose data certificate is not valid until 2099 says so at
 * start, naming the file and the date, and is truly refused: agent 1
 * refuses agent 0 as a sender for it, and the job's flow waits. */
Test(gateway_tls, an_agent_says_at_start_that_its_data_certificate_is_not_valid_yet,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 30)
{
    char cert[160], key[160], want[400];
    cert_for_loopback_future("future");
    snprintf(cert, sizeof cert, "%s/future.pem", tls_dir);
    snprintf(key, sizeof key, "%s/future.key", tls_dir);
    unfinished_job_logs(cert, key, agent_cert, agent_key, false, 1,
                        "its certificate (/CN=127.0.0.1) was refused: certificate is not yet "
                        "valid", "refused a data connection from 127.0.0.1:");
    snprintf(want, sizeof want, "weft agent 0: warning: the data certificate %s becomes valid "
             "on 2099-01-01 00:00:00 UTC: the other agents refuse it until then; use one valid "
             "now (or check the clock) and send SIGHUP", cert);
    cr_assert(file_has(data_log[0], want), "no '%s' in agent 0's log", want);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 0);
}

/* A SIGHUP to a data certificate that has already expired is refused,
 * naming the file and the date it expired, and so is one not valid until
 * 2099, naming that date: agent 1, started with a certificate of 400 days
 * (of which it says nothing), goes on presenting it, so a job then moves
 * both ways, every byte received, over data connections all opened after
 * the signals (agent 0 would refuse either). One that expires in 2 days
 * is then taken, with the note. */
Test(gateway_tls, sighup_refuses_an_expired_or_not_yet_valid_data_certificate_keeping_the_old,
     .init = server_tls_data, .fini = stop_tls_data, .timeout = 60)
{
    char out[8192], line[1024], want[400], cert[160], key[160];
    cert_for_loopback("long", 400);
    cert_for_loopback("expired", 0);
    cert_for_loopback_future("future");
    snprintf(cert, sizeof cert, "%s/long.pem", tls_dir);
    snprintf(key, sizeof key, "%s/long.key", tls_dir);
    own_data_files(cert, key);
    spawn_data_agent(0, agent_cert, agent_key);
    spawn_data_agent(1, own_cert, own_key);
    cr_assert(wait_file_has(data_log[1], "connected to the gateway", 10), "agent 1 is not in");
    cr_assert(!file_has(data_log[1], "data certificate"), "said of a certificate of 400 days");

    const char *refused[] = {"expired", "future"};
    const char *says[] = {"expired on 2025-02-01 00:00:00 UTC: the other agents refuse it; "
                          "renew it and send SIGHUP",
                          "becomes valid on 2099-01-01 00:00:00 UTC: the other agents refuse "
                          "it until then; use one valid now (or check the clock) and send "
                          "SIGHUP"};
    for (int i = 0; i < 2; i++) {
        snprintf(cert, sizeof cert, "%s/%s.pem", tls_dir, refused[i]);
        snprintf(key, sizeof key, "%s/%s.key", tls_dir, refused[i]);
        own_data_files(cert, key);
        sighup_agent1("weft agent 1: SIGHUP: data certificate not reloaded: ", i + 1, line,
                      sizeof line);
        snprintf(want, sizeof want, "not reloaded: the data certificate %s %s; new data "
                 "connections still get the one read before", own_cert, says[i]);
        cr_assert(strstr(line, want), "no '%s' in: %s", want, line);
    }
    int st = submit_data_job(0, 1e6, true, "15", out, sizeof out);
    cr_assert_eq(st, 0, "weft submit: exit status %d: %s", st, out);
    cr_assert(file_has(data_log[0], "all 1000000 bytes sent, acknowledged by agent 1"));
    cr_assert(file_has(data_log[1], "all 1000000 bytes sent, acknowledged by agent 0"));
    cr_assert(!file_has(data_log[1], "reloaded (valid until"), "a refused one was taken");

    own_data_files(agent_cert, agent_key);
    snprintf(want, sizeof want, "weft agent 1: SIGHUP: note: the data certificate %s expires "
             "on ", own_cert);
    sighup_agent1(want, 1, line, sizeof line);
    double left = tls_days_left(line, want);
    cr_assert(left > 1.9 && left < 2.1, "%g days left: %s", left, line);
    snprintf(want, sizeof want, "weft agent 1: SIGHUP: data certificate %s reloaded (valid "
             "until ", own_cert);
    cr_assert(file_has(data_log[1], want), "no '%s' in agent 1's log", want);
    /* last: bytes_received stops the agent */
    cr_assert_eq(bytes_received(&data_agents[0], data_log[0]), 1000000);
    cr_assert_eq(bytes_received(&data_agents[1], data_log[1]), 1000000);
}

/* ------------------------------------------------ a test's children end with it */

/* Whether process pid has ended: no such process, or a zombie that its
 * new parent has not reaped yet. */
static bool process_gone(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return kill(pid, 0) != 0 && errno == ESRCH;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *state = strrchr(stat, ')'); /* after the name, which may hold anything */
    return state && (state[2] == 'Z' || state[2] == 'X');
}

/* A test that ends without its cleanup (a crash, a check that fails in
 * a child, Criterion's timeout) takes the weft serve it started with it:
 * here a middle process starts one as a test does, hands over its pid and
 * _exit()s. The serve gets SIGTERM and stops as it would by hand, saying
 * so. Before, it served on as an orphan, holding its ports, for ever. */
Test(gateway_children, a_serve_ends_with_the_process_that_started_it, .timeout = 30)
{
    cr_assert(getenv("WEFT_BIN"), "WEFT_BIN is not set (run through ctest)");
    char log[64], port_path[64];
    snprintf(log, sizeof log, "/tmp/weft-orphan-%d.log", (int)getpid());
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t middle = fork_tied(SIGKILL);
    cr_assert(middle >= 0);
    if (middle == 0) {
        close(fds[0]);
        server_stderr = log;
        start_server(NULL, NULL);
        _exit(write(fds[1], &server_pid, sizeof server_pid) == sizeof server_pid ? 0 : 1);
    }
    close(fds[1]);
    pid_t serve = 0;
    ssize_t got = read(fds[0], &serve, sizeof serve);
    close(fds[0]);
    cr_assert_eq(waitpid(middle, NULL, 0), middle);
    snprintf(port_path, sizeof port_path, "/tmp/weft-gw-test-%d.port", (int)middle);
    unlink(port_path);
    cr_assert(got == sizeof serve && serve > 0, "the middle process started no weft serve");
    bool gone = false;
    for (int i = 0; i < 500 && !(gone = process_gone(serve)); i++)
        usleep(10 * 1000);
    if (!gone)
        kill(serve, SIGKILL); /* this test leaves no orphan either */
    bool stopped = file_has(log, "weft serve: stopped: ");
    unlink(log);
    cr_assert(gone, "weft serve (pid %d) outlived the process that started it", (int)serve);
    cr_assert(stopped, "weft serve did not stop as it does on SIGTERM");
}
