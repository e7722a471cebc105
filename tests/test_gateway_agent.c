/*
 * test_gateway_agent.c - a real `weft serve` ($WEFT_BIN, started per test)
 * with real `weft agent` processes and the data connections between them
 * (the test sometimes plays one agent, or reads a connection itself).
 * Flows sharing a slow data connection go in priority-class order; flows
 * the gateway acknowledged are forgotten without losing later ones; an
 * agent stopped while its job was cancelled drops the job's flows once it
 * reconnects, and a gone agent's flows give their share to the flows
 * beside them; peers are told to newcomers whole and to the others by
 * change. SIGHUP reloads the model, the secrets and the token files, and
 * agents and `weft submit` read their files again to reconnect; each role
 * has its own secret; `weft status`, job_status and the metrics follow
 * the gateway. On the data connections: strangers past an agent's
 * descriptors, a receiver counting only what it read (stopped, killed,
 * sent garbage, or given a stream over several connections), and a relay
 * the test runs that holds or cuts the bytes. Helpers shared with the
 * other gateway tests: gateway_support.h.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpc/client.h"
#include "tests/gateway_support.h"

/* ------------------------------------- a real agent and priority classes */

static void server_scf_fair_120(void)
{
    start_server4("--policy", "scf:fair", "--port-rate", "120MB/s");
}
static void server_fifo_fair(void) { start_server4("--policy", "fifo:fair", NULL, NULL); }
static void server_plain(void) { start_server(NULL, NULL); }

/* The exit status of the child *pid once it ends, waiting s seconds at
 * most (-1 if it has not ended by then; it is left running); *pid is
 * forgotten when it ended. */
static int wait_exit(pid_t *pid, double s)
{
    int st = -1;
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < s; usleep(20000))
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            *pid = 0;
            return st;
        }
    return -1;
}

/* The test itself as agent 1, the receiver: its gateway connection and a
 * data listener (receive buffer rcvbuf bytes; 0: the default), and a
 * client connection that registers jobs and hears job_done. */
typedef struct {
    int lfd, dfd;
    rpc_client_t me, cl;
    double read_total;
} receiver_t;

static void receiver_up(receiver_t *r, int rcvbuf)
{
    memset(r, 0, sizeof *r);
    r->dfd = -1;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(r->lfd >= 0);
    if (rcvbuf > 0)
        setsockopt(r->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(r->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(r->lfd, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(r->lfd, (struct sockaddr *)&sa, &len);
    connect_to(&r->me);
    cr_assert_eq(rpc_client_hello_agent(&r->me, TOKEN, 1, ntohs(sa.sin_port)), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r->me), WEFT_OK);
    connect_to(&r->cl);
    hello_client(&r->cl);
}

/* One pass: accepts agent 0's data connection, drains the pushes to agent
 * 1, hands each message on the client connection to on_msg, and reads at
 * most may_read data bytes. */
static void receiver_step(receiver_t *r, double may_read,
                          void (*on_msg)(const msgpack_object *m, void *arg), void *arg)
{
    static unsigned char sink[65536];
    struct pollfd p[4] = {{r->lfd, POLLIN, 0}, {r->me.fd, POLLIN, 0}, {r->cl.fd, POLLIN, 0},
                          {r->dfd, POLLIN, 0}};
    poll(p, r->dfd >= 0 ? 4 : 3, 2);
    if ((p[0].revents & POLLIN) && r->dfd < 0)
        r->dfd = accept(r->lfd, NULL, NULL);
    const msgpack_object *m;
    if (p[1].revents) {
        cr_assert_eq(rpc_client_read(&r->me), WEFT_OK, "%s", weft_last_error());
        while (rpc_client_next(&r->me, &m) == 1)
            ;
    }
    if (p[2].revents) {
        cr_assert_eq(rpc_client_read(&r->cl), WEFT_OK, "%s", weft_last_error());
        while (rpc_client_next(&r->cl, &m) == 1)
            on_msg(m, arg);
    }
    while (r->dfd >= 0 && may_read >= 1) {
        size_t want = may_read > sizeof sink ? sizeof sink : (size_t)may_read;
        ssize_t n = recv(r->dfd, sink, want, MSG_DONTWAIT);
        if (n <= 0)
            break;
        r->read_total += (double)n;
        may_read -= (double)n;
    }
}

static void receiver_down(receiver_t *r)
{
    if (r->dfd >= 0)
        close(r->dfd);
    close(r->lfd);
    rpc_client_destroy(&r->me);
    rpc_client_destroy(&r->cl);
}

/* The test as receiver (agent 1, receiver_up), a real agent 0 logging to
 * log_path (NULL: no log) and an empty workload of 4 ports for the jobs. */
static void receiver_and_agent0(receiver_t *r, const char *log_path, coflow_workload_t *wl)
{
    receiver_up(r, 0);
    start_agent0(log_path);
    coflow_workload_init(wl, 4);
}

/* job_done of jobs 10, 11 and 12: their JCTs into arg[0], arg[1], arg[2]. */
static void three_jcts(const msgpack_object *m, void *arg)
{
    double *jct = arg, v;
    char type[32];
    int64_t id;
    const msgpack_object *o = rpc_map_get(m, "jct");
    if (!strcmp(rpc_msg_type(m, type, sizeof type), "job_done") &&
        rpc_get_int(m, "job", 10, 12, &id) == WEFT_OK && o && rpc_obj_num(o, &v))
        jct[id - 10] = v;
}

/* Three jobs, each one flow from port 0 to port 1, reach a real `weft
 * agent` 0 whose only path to port 1 is a data connection this test reads
 * at 80 MB/s (fast enough that the few MB the sockets buffer soon fill).
 * Per-flow fair rates give each flow a third of the gateway's 120 MB/s
 * port, 40 MB/s, so the classes order them on the shared connection, and
 * the flow of class 0, paced at its rate, leaves half of the connection
 * to the next class. SCF puts the small job (60 MB) in class 0, the
 * medium one (70 MB) in 1 and the big one (160 MB) in 2. The big one is
 * registered first and announced alone, the other two once its first MB
 * is read. Served in class order, the medium job takes the 40 MB/s the
 * small one leaves and finishes at about 1.7 s, just after the small one
 * (1.5 s), and the big one last. An agent serving in arrival order, or
 * telling classes 1 and 2 apart no better than that, would give those
 * 40 MB/s to the big one, and the medium job would take until about 2.7 s
 * (2.3-2.5 s measured: the buffers). */
Test(gateway_agent, classes_order_flows_sharing_a_slow_connection, .init = server_scf_fair_120,
     .fini = stop_agent_and_server, .timeout = 60)
{
    const double size[3] = {160e6, 70e6, 60e6}, read_rate = 80e6; /* jobs 10, 11, 12 */
    receiver_t r;
    receiver_up(&r, 64 * 1024);
    start_agent0(NULL);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    for (int j = 0; j < 3; j++) {
        coflow_workload_add_job(&wl, 10 + j, 0, 1, 0);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, size[j]);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    cr_assert_eq(rpc_client_register(&r.cl, 0, &wl, 0), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    double jct[3] = {-1, -1, -1}, t0 = weft_mono_s();
    bool all_registered = false;
    while ((jct[0] < 0 || jct[1] < 0 || jct[2] < 0) && weft_mono_s() - t0 < 40) {
        receiver_step(&r, read_rate * (weft_mono_s() - t0) - r.read_total, three_jcts, jct);
        if (!all_registered && r.read_total >= 1e6) {
            all_registered = true;
            for (int j = 1; j < 3; j++)
                cr_assert_eq(rpc_client_register(&r.cl, j, &wl, (size_t)j), WEFT_OK);
            cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
        }
    }
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    cr_assert(jct[0] > 0 && jct[1] > 0 && jct[2] > 0, "jobs not done in 40 s (JCTs %g, %g, %g)",
              jct[0], jct[1], jct[2]);
    /* JCTs from registration: small 1.5, medium 1.7, big 3.6 s in class
       order; small 1.5, medium 2.3-2.5 s with classes 1 and 2 tied */
    cr_assert_lt(jct[2], 0.6 * jct[0], "small job (class 0) %.3f s, big job %.3f s", jct[2],
                 jct[0]);
    cr_assert_lt(jct[1], 1.35 * jct[2], "medium job (class 1) %.3f s, small job %.3f s", jct[1],
                 jct[2]);
}

static void server_aalo_fair_60(void)
{
    start_server4("--policy", "aalo:fair", "--port-rate", "60MB/s");
}

/* Classes that change while no flow comes or goes reorder the flows: two
 * jobs of one flow each, A (30 MB, registered first) and B (20 MB), from
 * a real agent 0 over a data connection this test reads at 20 MB/s; fair
 * rates of 30 MB/s each, so the classes decide. Under Aalo both start in
 * queue 0, A first (FIFO); once A has sent 10 MiB it drops to queue 1 and
 * B goes first, until B has sent 10 MiB too and follows A again. So A
 * ends at about 2.0 s and B at 2.5 s; an agent that sorted its flows
 * only when they came would send A whole first, A ending at 1.5 s. */
Test(gateway_agent, a_class_change_reorders_the_flows_it_has, .init = server_aalo_fair_60,
     .fini = stop_agent_and_server, .timeout = 60)
{
    const double size[2] = {30e6, 20e6}, read_rate = 20e6; /* jobs 10 (A), 11 (B) */
    receiver_t r;
    receiver_up(&r, 64 * 1024);
    start_agent0(NULL);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    for (int j = 0; j < 2; j++) {
        coflow_workload_add_job(&wl, 10 + j, 0, 1, 0);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, size[j]);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    for (int j = 0; j < 2; j++)
        cr_assert_eq(rpc_client_register(&r.cl, j, &wl, (size_t)j), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    double jct[3] = {-1, -1, -1}, t0 = weft_mono_s();
    while ((jct[0] < 0 || jct[1] < 0) && weft_mono_s() - t0 < 40)
        receiver_step(&r, read_rate * (weft_mono_s() - t0) - r.read_total, three_jcts, jct);
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    cr_assert(jct[0] > 0 && jct[1] > 0, "jobs not done in 40 s (JCTs %g, %g)", jct[0], jct[1]);
    /* A/B: 0.8 reordered, 0.6 in arrival order */
    cr_assert_gt(jct[0], 0.7 * jct[1], "A %.3f s, B %.3f s: A was sent whole first", jct[0],
                 jct[1]);
}

static void count_done(const msgpack_object *m, void *arg)
{
    char type[32];
    *(int *)arg += !strcmp(rpc_msg_type(m, type, sizeof type), "job_done");
}

/* A real `weft agent` sends 2 x 120 small one-flow jobs, the second batch
 * registered after the first is done: it forgets the first batch's flows
 * once the gateway has acknowledged them (its log says so), and the
 * flows announced after that, kept in the rebuilt table, all complete
 * without a protocol error or a lost connection. */
Test(gateway_agent, acknowledged_flows_are_forgotten_and_later_ones_still_complete,
     .init = server_plain, .fini = stop_agent_and_server, .timeout = 60)
{
    enum { BATCH = 120 };
    char log_path[64];
    snprintf(log_path, sizeof log_path, "/tmp/weft-agent-test-%d.log", (int)getpid());
    receiver_t r;
    coflow_workload_t wl;
    receiver_and_agent0(&r, log_path, &wl);
    for (int j = 0; j < 2 * BATCH; j++) {
        coflow_workload_add_job(&wl, j, 0, 1, 0);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, 20000);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    int done = 0, registered = 0;
    double t0 = weft_mono_s();
    while (done < 2 * BATCH && weft_mono_s() - t0 < 40) {
        if (registered == done && registered < 2 * BATCH) { /* the next batch */
            for (int j = registered; j < registered + BATCH; j++)
                cr_assert_eq(rpc_client_register(&r.cl, j, &wl, (size_t)j), WEFT_OK);
            registered += BATCH;
            cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
        }
        receiver_step(&r, 1e12, count_done, &done);
    }
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    cr_assert_eq(done, 2 * BATCH, "%d of %d jobs done in 40 s", done, 2 * BATCH);
    stop_agent_and_server();
    FILE *f = fopen(log_path, "r");
    cr_assert(f);
    char line[512];
    bool forgot = false, trouble = false;
    while (fgets(line, sizeof line, f)) {
        forgot |= strstr(line, "forgot ") != NULL;
        if (strstr(line, "connection lost") || strstr(line, "error")) {
            trouble = true;
            cr_log_error("agent: %s", line);
        }
    }
    fclose(f);
    unlink(log_path);
    cr_assert(forgot, "the agent never forgot acknowledged flows");
    cr_assert(!trouble, "the agent lost its gateway connection or got an error");
}

/* Flows of fractional sizes (a workload's bytes are doubles: 1000.5, 0.5)
 * sent by a real `weft agent`: each goes as the whole bytes that cover it,
 * 1001 and 1, and the job completes, where a flow paced to its size would
 * stop half a byte short of it and never end. */
Test(gateway_agent, flows_of_fractional_bytes_complete, .init = server_plain,
     .fini = stop_agent_and_server, .timeout = 30)
{
    receiver_t r;
    coflow_workload_t wl;
    receiver_and_agent0(&r, NULL, &wl);
    coflow_workload_add_job(&wl, 1, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    static const double sizes[2] = {1000.5, 0.5}; /* 1001 + 1 whole bytes */
    for (size_t k = 0; k < 2; k++)
        coflow_workload_add_flow(&wl, 0, 1, sizes[k]);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(rpc_client_register(&r.cl, 1, &wl, 0), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    int done = 0;
    /* the bytes were written before the agent reported the flows done:
       the last of them may still be on their way */
    for (double t0 = weft_mono_s(); !(done && r.read_total >= 1002) && weft_mono_s() - t0 < 20;)
        receiver_step(&r, 1e12, count_done, &done);
    receiver_step(&r, 1e12, count_done, &done); /* and nothing after them */
    double got = r.read_total;
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    cr_assert_eq(done, 1, "the job was not done in 20 s (%.0f bytes read)", got);
    cr_assert_eq(got, 1002, "%.0f bytes read", got);
}

static char cancel_journal[64];

static void server_cancel_journal(void)
{
    snprintf(cancel_journal, sizeof cancel_journal, "/tmp/weft-gw-cancel-%d", (int)getpid());
    unlink(cancel_journal);
    start_server4("--journal", cancel_journal, "--no-fsync", NULL);
}

static void stop_agent_server_journal(void)
{
    stop_agent_and_server();
    unlink(cancel_journal);
}

/* `weft cancel` on a job whose 400 MB flow a real `weft agent` is sending
 * to a connection this test reads slowly: the client hears job_done with
 * "cancelled", the agent drops the flow (its log says so), a job
 * registered after it completes, and a gateway restarted from its journal
 * still reports the job as cancelled. Cancelling it again leaves it as it
 * is; an unknown id fails. */
Test(gateway_agent, cancel_stops_a_job_for_good, .init = server_cancel_journal,
     .fini = stop_agent_server_journal, .timeout = 60)
{
    char log_path[64], out[1024];
    snprintf(log_path, sizeof log_path, "/tmp/weft-agent-cancel-%d.log", (int)getpid());
    receiver_t r;
    receiver_up(&r, 64 * 1024);
    start_agent0(log_path);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    coflow_workload_add_job(&wl, 20, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 400e6);
    coflow_workload_add_coflow(&wl, 2, 0); /* waits for coflow 1: never released */
    coflow_workload_add_flow(&wl, 0, 1, 1e6);
    coflow_workload_add_parent(&wl, 1);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    coflow_workload_add_job(&wl, 21, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 2e6);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(rpc_client_register(&r.cl, 0, &wl, 0), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    done_watch_t w = {.job = 20};
    double t0 = weft_mono_s();
    while (!file_has(log_path, "flow 0: sending") && weft_mono_s() - t0 < 20)
        receiver_step(&r, 1e5, watch_done, &w); /* about 50 MB/s at most */
    cr_assert(file_has(log_path, "flow 0: sending"), "the agent never started flow 0");
    cr_assert_eq(run_cancel("20", out, sizeof out), 0, "weft cancel: %s", out);
    cr_assert(strstr(out, "job 20 cancelled"), "%s", out);
    while (!(w.seen && file_has(log_path, "flow 0: dropped")) && weft_mono_s() - t0 < 30)
        receiver_step(&r, 1e6, watch_done, &w);
    cr_assert(w.seen && w.cancelled, "no job_done with cancelled for job 20");
    cr_assert(file_has(log_path, "flow 0: dropped"), "the agent did not drop flow 0");
    cr_assert(r.read_total < 400e6, "all of the cancelled flow arrived");
    /* The port is free for the next job. */
    cr_assert_eq(rpc_client_register(&r.cl, 1, &wl, 1), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    done_watch_t w21 = {.job = 21};
    while (!w21.seen && weft_mono_s() - t0 < 45)
        receiver_step(&r, 1e12, watch_done, &w21);
    cr_assert(w21.seen && !w21.cancelled, "job 21 did not complete after the cancel");
    cr_assert_eq(run_cancel("20", out, sizeof out), 0, "weft cancel: %s", out);
    cr_assert(strstr(out, "job 20 had already finished"), "%s", out);
    cr_assert_eq(run_cancel("999", out, sizeof out), 1, "weft cancel: %s", out);
    cr_assert(strstr(out, "unknown-id") && strstr(out, "999"), "%s", out);
    /* an id out of range is a slip, not job 2^63-1 (strtoll's clamp) */
    cr_assert_eq(run_cancel("99999999999999999999", out, sizeof out), 2, "weft cancel: %s", out);
    cr_assert(strstr(out, "job id '99999999999999999999': expected an integer"), "%s", out);
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    unlink(log_path);
    /* Replayed from the journal, the job is still cancelled. */
    stop_agent_and_server();
    start_server4("--journal", cancel_journal, "--no-fsync", NULL);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    int64_t id = 20;
    cr_assert_eq(rpc_client_watch(&cl, &id, 1), WEFT_OK);
    done_watch_t again = {.job = 20};
    while (!again.seen) /* job 21's job_done may come first */
        watch_done(wait_type(&cl, "job_done"), &again);
    cr_assert(again.cancelled, "job 20 is not cancelled after the journal's replay");
    rpc_client_destroy(&cl);
}

/* One receiver pass that also keeps the test's two gateway connections
 * from being closed as idle (a ping on each every 0.25 s). */
static void receiver_step_alive(receiver_t *r, double *last_ping,
                                void (*on_msg)(const msgpack_object *m, void *arg), void *arg)
{
    double now = weft_mono_s();
    if (now - *last_ping >= 0.25) {
        *last_ping = now;
        cr_assert_eq(rpc_client_ping(&r->me, -1), WEFT_OK);
        cr_assert_eq(rpc_client_flush(&r->me), WEFT_OK);
        cr_assert_eq(rpc_client_ping(&r->cl, -1), WEFT_OK);
        cr_assert_eq(rpc_client_flush(&r->cl), WEFT_OK);
    }
    receiver_step(r, 1e12, on_msg, arg);
}

static char drop_journal[64], drop_serve_log[64];

/* Connections silent for 1 s are closed; ports of 2 MB/s, so a 400 MB
 * flow stays in flight; a journal, and the gateway's log in a file. */
static void server_idle_drop(void)
{
    snprintf(drop_journal, sizeof drop_journal, "/tmp/weft-gw-drop-%d", (int)getpid());
    snprintf(drop_serve_log, sizeof drop_serve_log, "/tmp/weft-gw-drop-%d.log", (int)getpid());
    unlink(drop_journal);
    const char *extra[] = {"--idle-timeout", "1", "--port-rate", "2MB/s", "--journal",
                           drop_journal, "--no-fsync", "-v", NULL};
    server_stderr = drop_serve_log;
    start_server_args(extra);
    server_stderr = NULL;
}

static void stop_idle_drop(void)
{
    stop_agent_and_server(); /* wakes an agent a failed test left stopped */
    unlink(drop_journal);
    unlink(drop_serve_log);
}

/* A real `weft agent` is sending job 30's 400 MB flow 0 (2 MB/s ports)
 * when it is stopped (SIGSTOP); job 30's flow 1 goes to port 2, where no
 * agent listens, and has not sent a byte. The agent's gateway connection
 * goes silent and the gateway closes it after --idle-timeout 1 s. Job 30
 * is cancelled with `weft cancel` while the agent cannot hear it, so the
 * schedule that drops its flows never reaches it. Resumed (SIGCONT), the
 * agent reconnects and re-reports both flows; the gateway answers with a
 * drop, the agent drops them (its log says so), the gateway journals
 * nothing for them, and job 31, registered afterwards, completes through
 * the same agent. */
Test(gateway_agent, an_agent_away_at_a_cancel_drops_the_flow_when_it_reconnects,
     .init = server_idle_drop, .fini = stop_idle_drop, .timeout = 60)
{
    char log_path[64], out[1024], line[512];
    snprintf(log_path, sizeof log_path, "/tmp/weft-agent-drop-%d.log", (int)getpid());
    receiver_t r;
    coflow_workload_t wl;
    receiver_and_agent0(&r, log_path, &wl);
    coflow_workload_add_job(&wl, 30, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 400e6);
    coflow_workload_add_flow(&wl, 0, 2, 1e6); /* no agent 2: never starts */
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    coflow_workload_add_job(&wl, 31, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 1e6);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    cr_assert_eq(rpc_client_register(&r.cl, 0, &wl, 0), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    done_watch_t w30 = {.job = 30};
    double t0 = weft_mono_s(), ping = t0;
    while (!file_has(log_path, "flow 0: sending") && weft_mono_s() - t0 < 10)
        receiver_step_alive(&r, &ping, watch_done, &w30);
    cr_assert(file_has(log_path, "flow 0: sending"), "the agent never started flow 0");
    /* The agent goes silent; the gateway closes its connection. */
    cr_assert_eq(kill(agent_pid, SIGSTOP), 0);
    double t1 = weft_mono_s();
    while (!file_has(drop_serve_log, "timeout: idle for 1 s") && weft_mono_s() - t1 < 10)
        receiver_step_alive(&r, &ping, watch_done, &w30);
    cr_assert(file_has(drop_serve_log, "timeout: idle for 1 s"),
              "the gateway did not close the stopped agent's connection");
    cr_assert_eq(run_cancel("30", out, sizeof out), 0, "weft cancel: %s", out);
    cr_assert(strstr(out, "job 30 cancelled"), "%s", out);
    long journal = file_size(drop_journal);
    cr_assert_gt(journal, 0);
    /* Back, it reconnects, re-reports its flows and is told to drop them. */
    cr_assert_eq(kill(agent_pid, SIGCONT), 0);
    double t2 = weft_mono_s();
    while (!(w30.seen && file_has(log_path, "flow 0: dropped at") &&
             file_has(log_path, "flow 1: dropped at")) && weft_mono_s() - t2 < 8)
        receiver_step_alive(&r, &ping, watch_done, &w30);
    cr_assert(w30.seen && w30.cancelled, "no job_done with cancelled for job 30");
    cr_assert(file_line(log_path, "flow 0: dropped at", line, sizeof line),
              "the agent kept flow 0 of cancelled job 30 after reconnecting");
    cr_assert(strstr(line, "of 400000000 bytes (job cancelled, or unknown to the gateway)"), "%s",
              line);
    cr_assert(file_line(log_path, "flow 1: dropped at", line, sizeof line),
              "the agent kept flow 1 (no byte sent) of cancelled job 30 after reconnecting");
    cr_assert(strstr(line, "dropped at 0 of 1000000 bytes (job cancelled, or unknown to the "
                           "gateway)"), "%s", line);
    cr_assert(file_has(log_path, "connected to the gateway"), "the agent never reconnected");
    cr_assert_eq(file_size(drop_journal), journal, "a report about a cancelled job's flow "
                 "was journaled");
    /* The port is free: job 31 completes through the same agent. */
    cr_assert_eq(rpc_client_register(&r.cl, 1, &wl, 1), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&r.cl), WEFT_OK);
    done_watch_t w31 = {.job = 31};
    double t3 = weft_mono_s();
    while (!w31.seen && weft_mono_s() - t3 < 10)
        receiver_step_alive(&r, &ping, watch_done, &w31);
    cr_assert(w31.seen && !w31.cancelled, "job 31 did not complete after the reconnect");
    cr_assert(file_has(log_path, "flow 2: all 1000000 bytes sent"), "not sent by agent 0");
    cr_assert(!file_has(log_path, "gateway error invalid") &&
              !file_has(log_path, "gateway error unknown-id") &&
              !file_has(log_path, "gateway error protocol"), "the agent got an error");
    receiver_down(&r);
    coflow_workload_destroy(&wl);
    unlink(log_path);
}

static char idle_serve_log[64];

/* Silent connections closed after 2 s; the gateway's log in a file. (1 s
 * closed a peer whose ping, a third of it, came late on a machine running
 * two test suites at once: the test asks for a ping within the timeout,
 * not for a scheduler's promptness.) */
static void server_idle2_logged(void)
{
    snprintf(idle_serve_log, sizeof idle_serve_log, "/tmp/weft-gw-idle-%d.log", (int)getpid());
    const char *extra[] = {"--idle-timeout", "2", "-v", NULL};
    server_stderr = idle_serve_log;
    start_server_args(extra);
    server_stderr = NULL;
}

static void stop_idle_logged(void)
{
    stop_agent_and_server();
    unlink(idle_serve_log);
}

/* Under --idle-timeout 2 a real `weft agent` with no flow and a real
 * `weft submit` waiting 5 s for a job that cannot move (its flow leaves
 * port 1, which has no agent) have nothing to say: both ping within the
 * timeout, a third of it, which the welcome tells them, and the gateway
 * closes neither. (With a fixed 5 s ping, both were closed every 2 s
 * and reconnected.) */
Test(gateway_agent, quiet_peers_ping_within_a_short_idle_timeout, .init = server_idle2_logged,
     .fini = stop_idle_logged, .timeout = 40)
{
    char log_path[64], wl_path[64], gw[32], out[4096];
    snprintf(log_path, sizeof log_path, "/tmp/weft-agent-idle-%d.log", (int)getpid());
    snprintf(wl_path, sizeof wl_path, "/tmp/weft-idle-%d.weft", (int)getpid());
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    FILE *f = fopen(wl_path, "w");
    cr_assert(f);
    fprintf(f, "weft-workload 1\nports 4\njob 5 0 1 0 1\ncoflow 1 0 1 -\n1 2 1000\nend 1\n");
    fclose(f);
    start_agent0(log_path);
    const char *args[] = {"submit", wl_path, "--gateway", gw, "--token", TOKEN,
                          "--timeout", "5", NULL};
    int rc = run_weft(out, sizeof out, args);
    cr_assert_eq(rc, 1, "weft submit should time out: %s", out);
    cr_assert(strstr(out, "timeout: 0 of 1 jobs finished"), "%s", out);
    cr_assert(!strstr(out, "reconnecting"), "weft submit was closed as idle: %s", out);
    cr_assert(!file_has(idle_serve_log, "timeout: idle"),
              "the gateway closed a connection as idle");
    /* the agent, up all along, connected once */
    char line[512];
    int connects = 0;
    FILE *lg = fopen(log_path, "r");
    cr_assert(lg);
    while (fgets(line, sizeof line, lg))
        connects += strstr(line, "connected to the gateway") != NULL;
    fclose(lg);
    cr_assert_eq(connects, 1, "the agent connected %d times", connects);
    unlink(wl_path);
    unlink(log_path);
}

/* ----------------------------------------------- peers and their shares */

/* The next peers message on c (others skipped), as "id:port,id:port" in
 * the order given, into out[n]. */
static void next_peers(rpc_client_t *c, char *out, size_t n)
{
    for (;;) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(c, 5.0, &m), 1, "no peers: %s", weft_last_error());
        char type[32];
        if (strcmp(rpc_msg_type(m, type, sizeof type), "peers"))
            continue;
        const msgpack_object_array *a;
        cr_assert_eq(rpc_get_array(m, "peers", &a), WEFT_OK);
        size_t len = 0;
        out[0] = 0;
        for (uint32_t i = 0; i < a->size; i++) {
            const msgpack_object *e = &a->ptr[i];
            cr_assert(e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 3);
            int64_t id, port;
            cr_assert(rpc_obj_int(&e->via.array.ptr[0], &id) &&
                      rpc_obj_int(&e->via.array.ptr[2], &port));
            len += (size_t)snprintf(out + len, n - len, "%s%lld:%lld", i ? "," : "",
                                    (long long)id, (long long)port);
        }
        return;
    }
}

/* Checks that the next peers message on c says `want` ("id:port,..."). */
static void told_peers(rpc_client_t *c, const char *want)
{
    char got[256];
    next_peers(c, got, sizeof got);
    cr_assert_str_eq(got, want);
}

/* Connects c as agent id with this data port, and checks what it is told. */
static void agent_joins(rpc_client_t *c, uint32_t id, int data_port, const char *want)
{
    connect_to(c);
    cr_assert_eq(rpc_client_hello_agent(c, TOKEN, id, data_port), WEFT_OK);
    told_peers(c, want);
}

/* An agent that connects is told every connected peer; those already
 * connected are told only the newcomer (they keep what they were told), so
 * agents connecting one by one cost the gateway O(agents) each, not the
 * square; one that connects again with another data port is announced
 * anew, and one that leaves is not announced at all. */
Test(gateway_agent, peers_are_told_to_newcomers_whole_and_to_the_others_by_change,
     .init = server_default, .fini = stop_server, .timeout = 30)
{
    rpc_client_t a0, a1, a2;
    agent_joins(&a0, 0, 1000, "0:1000");
    agent_joins(&a1, 1, 1001, "0:1000,1:1001");
    told_peers(&a0, "1:1001");
    agent_joins(&a2, 2, 1002, "0:1000,1:1001,2:1002");
    told_peers(&a0, "2:1002");
    told_peers(&a1, "2:1002");
    /* agent 1 leaves: nothing is pushed; it comes back on another port */
    rpc_client_destroy(&a1);
    usleep(100 * 1000); /* the gateway sees it gone, and decides */
    cr_assert_eq(rpc_client_ping(&a0, 1), WEFT_OK);
    const msgpack_object *m;
    char type[32];
    do /* a decision may push a schedule; no peers may come */
        cr_assert_eq(rpc_client_wait(&a0, 5.0, &m), 1, "%s", weft_last_error());
    while (!strcmp(rpc_msg_type(m, type, sizeof type), "schedule"));
    cr_assert_str_eq(type, "pong", "a leave pushed a %s", type);
    agent_joins(&a1, 1, 2001, "0:1000,1:2001,2:1002");
    told_peers(&a0, "1:2001");
    told_peers(&a2, "1:2001");
    rpc_client_destroy(&a0);
    rpc_client_destroy(&a1);
    rpc_client_destroy(&a2);
}

/* Reads c's pushes until the last rates pushed for flows fid and fid + 1
 * (r[0], r[1], kept from earlier calls) are want[0], want[1] to within
 * 1e-6 of want[2] (a decision put off, as a slow rebuild may be, pushes
 * them in two steps). Fails after 5 s. */
static void wait_pair_rates(rpc_client_t *c, uint64_t fid, double r[2], const double want[3])
{
    double until = weft_mono_s() + 5;
    while (fabs(r[0] - want[0]) > 1e-6 * want[2] || fabs(r[1] - want[1]) > 1e-6 * want[2]) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(c, fmax(until - weft_mono_s(), 0.01), &m), 1,
                     "rates %g and %g, want %g and %g: %s", r[0], r[1], want[0], want[1],
                     weft_last_error());
        char type[32];
        if (strcmp(rpc_msg_type(m, type, sizeof type), "schedule"))
            continue;
        const msgpack_object_array *fl;
        cr_assert_eq(rpc_get_array(m, "flows", &fl), WEFT_OK);
        for (uint32_t i = 0; i < fl->size; i++) {
            cr_assert(fl->ptr[i].type == MSGPACK_OBJECT_ARRAY && fl->ptr[i].via.array.size == 3);
            const msgpack_object *e = fl->ptr[i].via.array.ptr;
            uint64_t f = e[0].via.u64;
            if (f == fid || f == fid + 1)
                cr_assert(rpc_obj_num(&e[1], &r[f - fid]));
        }
    }
}

/* Appends to wl job id: one coflow of two flows of 1e12 bytes, from port
 * src to ports d1 and d2. */
static void add_two_flow_job(coflow_workload_t *wl, int64_t id, uint32_t src, uint32_t d1,
                             uint32_t d2)
{
    cr_assert_eq(coflow_workload_add_job(wl, id, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(wl, 1, 0);
    coflow_workload_add_flow(wl, src, d1, 1e12);
    coflow_workload_add_flow(wl, src, d2, 1e12);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

/* Agents 0, 1 and 2 join as a[0..3), a client cl says hello, and it
 * registers a job (in wl) of two flows from port 0, to ports 1 and 2:
 * returns its first flow id. */
static uint64_t three_agents_and_a_job(rpc_client_t a[3], rpc_client_t *cl,
                                       coflow_workload_t *wl)
{
    agent_joins(&a[0], 0, 1000, "0:1000");
    agent_joins(&a[1], 1, 1001, "0:1000,1:1001");
    agent_joins(&a[2], 2, 1002, "0:1000,1:1001,2:1002");
    coflow_workload_init(wl, 4);
    add_two_flow_job(wl, 1, 0, 1, 2);
    connect_to(cl);
    hello_client(cl);
    bool dup;
    return register_job(cl, wl, 0, &dup);
}

static void close_agents_and_client(rpc_client_t a[3], rpc_client_t *cl, coflow_workload_t *wl)
{
    coflow_workload_destroy(wl);
    for (int i = 0; i < 3; i++)
        rpc_client_destroy(&a[i]);
    rpc_client_destroy(cl);
}

/* A real gateway (per-flow fair) with agents 0, 1 and 2 connected: a job
 * of two flows from port 0, to ports 1 and 2, gets half of port 0 for each.
 * Agent 2 goes away: its flow is pushed to agent 0 at rate 0 and the other
 * one at the whole port; agent 2 is back, and they share again. */
Test(gateway_agent, a_gone_agents_flows_give_their_share_to_the_others,
     .init = server_fifo_fair, .fini = stop_server, .timeout = 30)
{
    rpc_client_t a[3], cl;
    coflow_workload_t wl;
    uint64_t f = three_agents_and_a_job(a, &cl, &wl);
    const double port = WEFT_GBPS_BYTES, half[3] = {port / 2, port / 2, port},
                 alone[3] = {port, 0, port};
    double r[2] = {-1, -1};
    wait_pair_rates(&a[0], f, r, half);
    rpc_client_destroy(&a[2]);
    wait_pair_rates(&a[0], f, r, alone);
    cr_assert_eq(r[1], 0, "flow 0->2 at %g with no agent at port 2", r[1]);
    agent_joins(&a[2], 2, 1002, "0:1000,1:1001,2:1002");
    wait_pair_rates(&a[0], f, r, half);
    close_agents_and_client(a, &cl, &wl);
}

/* A real gateway (per-flow fair) whose port 2 runs at a quarter of the
 * others' rate (--port-cap 2=250Mbps): a job of two flows from port 0, to
 * ports 1 and 2, gets a quarter of port 0 for the flow to port 2, which is
 * all port 2 carries, and the other three quarters for the flow to port 1
 * (a half each with every port alike); status lists port 2's rate. */
static void server_fair_port2_quarter(void)
{
    start_server4("--policy", "fifo:fair", "--port-cap", "2=250Mbps");
}

Test(gateway_agent, a_port_at_its_own_rate_carries_what_its_nic_can,
     .init = server_fair_port2_quarter, .fini = stop_server, .timeout = 30)
{
    rpc_client_t a[3], cl;
    coflow_workload_t wl;
    uint64_t f = three_agents_and_a_job(a, &cl, &wl);
    const double port = WEFT_GBPS_BYTES, want[3] = {port * 3 / 4, port / 4, port};
    double r[2] = {-1, -1};
    wait_pair_rates(&a[0], f, r, want);
    cr_assert_eq(rpc_client_status(&cl, 9), WEFT_OK);
    const msgpack_object *m = wait_type(&cl, "status"), *pr = rpc_map_get(m, "port_rates");
    int64_t n_own = -1, p = -1;
    double rate = 0, dflt = 0;
    cr_assert_eq(rpc_get_int(m, "ports_own_rate", 0, 100, &n_own), WEFT_OK);
    cr_assert_eq(n_own, 1);
    cr_assert_eq(rpc_get_num_opt(m, "rate", 0, 1e300, &dflt), WEFT_OK);
    cr_assert_eq(dflt, port, "the other ports' rate %g", dflt);
    cr_assert(pr && pr->type == MSGPACK_OBJECT_ARRAY && pr->via.array.size == 1);
    const msgpack_object *e = &pr->via.array.ptr[0];
    cr_assert(e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2 &&
              rpc_obj_int(&e->via.array.ptr[0], &p) && rpc_obj_num(&e->via.array.ptr[1], &rate));
    cr_assert(p == 2 && rate == port / 4, "port_rates [[%lld, %g]]", (long long)p, rate);
    close_agents_and_client(a, &cl, &wl);
}

/* ------------------------------------- SIGHUP reloads and reconnections */

/* SHA-256 of the file at path in hex, as sha256sum prints it. */
static void sha256_of_file(const char *path, char hex[65])
{
    static char buf[1 << 20];
    size_t n = read_file(path, buf, sizeof buf);
    unsigned char sum[32];
    unsigned len = 0;
    cr_assert_eq(EVP_Digest(buf, n, sum, &len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

/* The status answer's model path, sha256 and reloads (c: a client). */
static void status_model(rpc_client_t *c, char sha[65], int64_t *reloads)
{
    cr_assert_eq(rpc_client_status(c, 3), WEFT_OK);
    const msgpack_object *m = rpc_map_get(wait_type(c, "status"), "model");
    cr_assert(m && m->type == MSGPACK_OBJECT_MAP, "status has no model map");
    const char *s;
    size_t n;
    cr_assert_eq(rpc_get_str(m, "sha256", &s, &n), WEFT_OK);
    cr_assert_eq(n, 64);
    memcpy(sha, s, 64);
    sha[64] = 0;
    cr_assert_eq(rpc_get_int(m, "reloads", 0, INT64_MAX, reloads), WEFT_OK);
}

/* weft serve --policy learned reads its model file again on SIGHUP: a
 * garbage or truncated file is refused with a line naming it and the model
 * it keeps deciding with (status: the same sha256, no reload), and the
 * gateway goes on; a model of another shape is taken (status: its sha256,
 * one reload) and the next job gets its rates; a training checkpoint is
 * taken with the note it gets at start. */
Test(gateway_agent, sighup_reloads_the_model_or_keeps_the_one_it_has, .fini = stop_server,
     .timeout = 60)
{
    char model[64], err_path[64], log[8192], shipped[65], sha[65], want[512];
    snprintf(model, sizeof model, "/tmp/weft-gw-reload-%d.msgpack", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-reload-%d.err", (int)getpid());
    copy_file("models/weft-policy.msgpack", model);
    sha256_of_file(model, shipped);
    server_stderr = err_path;
    start_server4("--policy", "learned", "--model", model);
    server_stderr = NULL;
    rpc_client_t a[3], cl;
    coflow_workload_t wl;
    uint64_t f = three_agents_and_a_job(a, &cl, &wl);
    int64_t reloads = -1;
    status_model(&cl, sha, &reloads);
    cr_assert_str_eq(sha, shipped);
    cr_assert_eq(reloads, 0);
    const double port = WEFT_GBPS_BYTES, half[3] = {port / 2, port / 2, port};
    double r[2] = {-1, -1}, r2[2] = {-1, -1};
    wait_pair_rates(&a[0], f, r, half);

    /* garbage, then a truncated model: refused, the gateway goes on */
    write_file(model, "not a model\n", 12);
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: model not reloaded", 1, log, sizeof log);
    snprintf(want, sizeof want, "%s: not a weft model file", model);
    cr_assert(strstr(log, want), "%s", log);
    snprintf(want, sizeof want, "still deciding with the model loaded before (sha256 %s)",
             shipped);
    cr_assert(strstr(log, want), "%s", log);
    copy_file("models/weft-policy.msgpack", model);
    cr_assert_eq(truncate(model, file_size(model) / 2), 0);
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: model not reloaded", 2, log, sizeof log);
    status_model(&cl, sha, &reloads);
    cr_assert_str_eq(sha, shipped, "a refused file replaced the model");
    cr_assert_eq(reloads, 0);

    /* a model of another shape: taken, and the next job is served */
    save_model_of_width(model, 8, 5);
    char fresh[65];
    sha256_of_file(model, fresh);
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "SIGHUP: model %s reloaded (sha256 %s)", model, fresh);
    wait_in_file(err_path, want, 1, log, sizeof log);
    status_model(&cl, sha, &reloads);
    cr_assert_str_eq(sha, fresh);
    cr_assert_eq(reloads, 1);
    add_two_flow_job(&wl, 2, 1, 0, 2);
    bool dup;
    uint64_t f2 = register_job(&cl, &wl, 1, &dup);
    wait_pair_rates(&a[1], f2, r2, half);
    cr_assert(!strstr(log, "training checkpoint"), "%s", log);

    /* a training checkpoint: taken, with the note weft serve gives at
       start (it was taken without a word) */
    attn_model_file_t mf;
    attn_model_init(&mf);
    cr_assert_eq(attn_model_load(model, &mf), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_model_set_int(&mf, "train.iter", 3), WEFT_OK);
    cr_assert_eq(attn_model_save(model, &mf), WEFT_OK, "%s", weft_last_error());
    attn_model_destroy(&mf);
    sha256_of_file(model, fresh);
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "SIGHUP: model %s reloaded (sha256 %s)", model, fresh);
    wait_in_file(err_path, want, 1, log, sizeof log);
    snprintf(want, sizeof want, "weft serve: SIGHUP: note: --model %s is a training checkpoint: "
             "its last iteration's parameters are used, not the best; its run writes "
             "/tmp/best.msgpack (best validation, with --val) and /tmp/final.msgpack (at its "
             "end)\n", model);
    cr_assert(strstr(log, want), "%s", log);

    close_agents_and_client(a, &cl, &wl);
    unlink(model);
    unlink(err_path);
}

/* The status answer's agent_secrets: "path" (file), "ports" and "reloads"
 * checked. */
static void expect_secrets_status(rpc_client_t *cl, const char *file, int64_t ports,
                                  int64_t reloads)
{
    cr_assert_eq(rpc_client_status(cl, 4), WEFT_OK);
    const msgpack_object *m = rpc_map_get(wait_type(cl, "status"), "agent_secrets");
    cr_assert(m && m->type == MSGPACK_OBJECT_MAP, "status has no agent_secrets map");
    const char *path;
    size_t n;
    cr_assert(rpc_get_str(m, "path", &path, &n) == WEFT_OK && n == strlen(file) &&
              !memcmp(path, file, n), "agent_secrets names no path %s", file);
    int64_t p, r;
    cr_assert_eq(rpc_get_int(m, "ports", 0, INT64_MAX, &p), WEFT_OK);
    cr_assert_eq(rpc_get_int(m, "reloads", 0, INT64_MAX, &r), WEFT_OK);
    cr_assert(p == ports && r == reloads, "agent_secrets: %lld ports, %lld reloads; expected "
              "%lld and %lld", (long long)p, (long long)r, (long long)ports,
              (long long)reloads);
}

/* Reads the error m into e, which must carry its machine-readable part
 * itself: a why rpc_msg_error recognised from an older gateway's words
 * would pass for one otherwise. */
static void read_error_with_why(const msgpack_object *m, rpc_error_msg_t *e)
{
    const msgpack_object *why = rpc_map_get(m, "why");
    cr_assert(why && why->type == MSGPACK_OBJECT_STR, "the error has no string 'why'");
    cr_assert_eq(rpc_msg_error(m, e), WEFT_OK, "%s", weft_last_error());
}

/* weft serve --agent-tokens reads its file again on SIGHUP: a bad file is
 * named and the secrets stay, a good one takes, and the agents whose
 * secret went or changed are dropped, each error saying which (its why);
 * status counts the ports and the reloads. */
Test(gateway_agent, sighup_reloads_the_agent_secrets, .fini = stop_server, .timeout = 60)
{
    char secrets[64], err_path[64], log[8192], want[256];
    snprintf(secrets, sizeof secrets, "/tmp/weft-gw-secrets-%d.txt", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-secrets-%d.err", (int)getpid());
    write_text(secrets, "0 s0\n1 s1\n");
    server_stderr = err_path;
    start_server("--agent-tokens", secrets);
    server_stderr = NULL;
    rpc_client_t a;
    rpc_client_init(&a);
    cr_assert_eq(rpc_client_connect(&a, "127.0.0.1", server_port, 5), WEFT_OK);
    cr_assert_eq(rpc_client_hello_agent(&a, "s1", 1, 9000), WEFT_OK);
    wait_type(&a, "welcome");
    rpc_client_t b;
    connect_to(&b);
    cr_assert_eq(rpc_client_hello_agent(&b, "s0", 0, 9001), WEFT_OK);
    wait_type(&b, "welcome");
    rpc_client_t cl;
    rpc_client_init(&cl);
    cr_assert_eq(rpc_client_connect(&cl, "127.0.0.1", server_port, 5), WEFT_OK);
    cr_assert_eq(rpc_client_hello_client(&cl, TOKEN), WEFT_OK);
    wait_type(&cl, "welcome");
    expect_secrets_status(&cl, secrets, 2, 0);

    write_text(secrets, "0 s0\n7 s7\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: agent secrets not reloaded", 1, log, sizeof log);
    snprintf(want, sizeof want, "%s:2: port 7, but the gateway has ports 0..3; still letting "
             "agents in with the ones read before", secrets);
    cr_assert(strstr(log, want), "%s", log);
    expect_secrets_status(&cl, secrets, 2, 0);

    write_text(secrets, "0 s0-new\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "SIGHUP: agent secrets reloaded from %s; 2 agents dropped",
             secrets);
    wait_in_file(err_path, want, 1, log, sizeof log);
    rpc_error_msg_t e;
    read_error_with_why(wait_type(&a, "error"), &e);
    cr_assert_str_eq(e.code, "auth");
    cr_assert(strstr(e.message, "port 1 takes no agent any more"), "%s", e.message);
    cr_assert_str_eq(e.why, RPC_WHY_PORT_NO_AGENT);
    read_error_with_why(wait_type(&b, "error"), &e);
    cr_assert_str_eq(e.code, "auth");
    cr_assert(strstr(e.message, "the secret of port 0 changed"), "%s", e.message);
    cr_assert_str_eq(e.why, RPC_WHY_SECRET_ROTATED);
    expect_secrets_status(&cl, secrets, 1, 1);
    rpc_client_destroy(&cl);
    rpc_client_destroy(&b);
    rpc_client_destroy(&a);
    unlink(secrets);
    unlink(err_path);
}

/* A new client connection saying hello with token: the type of the first
 * message it gets ("welcome", or "error" with its code in code[32]). */
static const char *hello_with(rpc_client_t *c, const char *token, char type[32],
                              char code[32])
{
    connect_to(c);
    cr_assert_eq(rpc_client_hello_client(c, token), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(c, &m), 1, "%s", weft_last_error());
    rpc_msg_type(m, type, 32);
    code[0] = 0;
    if (!strcmp(type, "error")) {
        rpc_error_msg_t e;
        rpc_msg_error(m, &e);
        snprintf(code, 32, "%s", e.code);
    }
    return type;
}

/* Whether a client with token gets in (welcome) or is refused as wrong. */
static bool gets_in(const char *token)
{
    rpc_client_t c;
    char type[32], code[32];
    bool in = !strcmp(hello_with(&c, token, type, code), "welcome");
    cr_assert(in || !strcmp(code, "auth"), "'%s' got %s %s", token, type, code);
    rpc_client_destroy(&c);
    return in;
}

/* The token_files reloads in a connected client's status answer. */
static int64_t token_reloads(rpc_client_t *c)
{
    cr_assert_eq(rpc_client_status(c, 7), WEFT_OK);
    const msgpack_object *t = rpc_map_get(wait_type(c, "status"), "token_files");
    cr_assert(t && t->type == MSGPACK_OBJECT_MAP, "status has no token_files map");
    int64_t n;
    cr_assert_eq(rpc_get_int(t, "reloads", 0, INT64_MAX, &n), WEFT_OK);
    return n;
}

/* weft serve reads its token files again on SIGHUP: from then on peers
 * need the new secret and the old one is refused, while a client already
 * in keeps being answered; a file that cannot be used (empty) is named and
 * the secrets stay. Before, a rotated secret needed a restart. */
Test(gateway_agent, sighup_reloads_the_token_files, .fini = stop_server, .timeout = 60)
{
    char tok[64], err_path[64], log[8192], want[256];
    snprintf(tok, sizeof tok, "/tmp/weft-gw-token-%d.txt", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-token-%d.err", (int)getpid());
    write_text(tok, "first-secret\n");
    server_stderr = err_path;
    start_server("--token-file", tok); /* after the harness's --token: the file wins */
    server_stderr = NULL;
    cr_assert(!gets_in(TOKEN));
    rpc_client_t in;
    char type[32], code[32];
    cr_assert_str_eq(hello_with(&in, "first-secret", type, code), "welcome");

    write_text(tok, "second-secret\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: tokens reloaded: the agents' changed, the clients' "
                 "changed; connections already in keep going", 1, log, sizeof log);
    cr_assert(!gets_in("first-secret"), "the old secret still lets clients in");
    cr_assert(gets_in("second-secret"));
    /* the client already in is still served, and the status counts the reload */
    cr_assert_eq(token_reloads(&in), 1);
    /* a SIGHUP that finds the same secret (one for a certificate or a model)
       is no rotation: not counted */
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "tokens reloaded: the agents' unchanged, the clients' unchanged", 1,
                 log, sizeof log);
    cr_assert_eq(token_reloads(&in), 1, "a reload that changed nothing was counted");

    write_text(tok, "\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    snprintf(want, sizeof want, "SIGHUP: tokens not reloaded: token file %s is empty; still "
             "letting peers in with the ones read before", tok);
    wait_in_file(err_path, want, 1, log, sizeof log);
    cr_assert(gets_in("second-secret"));
    cr_assert_eq(token_reloads(&in), 1, "a reload that failed was counted");
    rpc_client_destroy(&in);
    unlink(tok);
    unlink(err_path);
}

/* Of --token-file and --token, the later wins, SIGHUP included: a --token
 * given after the file is not replaced by the file's secret on SIGHUP,
 * there being no token file left to read. */
Test(gateway_agent, a_token_given_after_a_token_file_outlives_a_sighup, .fini = stop_server,
     .timeout = 60)
{
    char tok[64], err_path[64], log[8192];
    snprintf(tok, sizeof tok, "/tmp/weft-gw-token-%d.txt", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-token-%d.err", (int)getpid());
    write_text(tok, "file-secret\n");
    server_stderr = err_path;
    start_server4("--token-file", tok, "--token", "later-secret");
    server_stderr = NULL;
    cr_assert(gets_in("later-secret") && !gets_in("file-secret"));
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "SIGHUP: nothing to reload", 1, log, sizeof log);
    cr_assert(gets_in("later-secret"), "a SIGHUP read the token file given before --token");
    unlink(tok);
    unlink(err_path);
}

/* The agents in a connected client's status answer. */
static int64_t status_agents(rpc_client_t *c)
{
    cr_assert_eq(rpc_client_status(c, 9), WEFT_OK);
    int64_t n;
    cr_assert_eq(rpc_get_int(wait_type(c, "status"), "agents", 0, INT64_MAX, &n), WEFT_OK);
    return n;
}

/* A secret rotated everywhere: the new one in the gateway's file and the
 * peer's, a SIGHUP, then the gateway restarted with extra[] (its port and
 * file; NULL-ended), so that the peer has to reconnect. */
static void rotate_and_restart(const char *tok, const char *peer_tok, const char *const *extra)
{
    write_text(tok, "second-secret\n");
    write_text(peer_tok, "second-secret\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    stop_server();
    start_server_args(extra);
}

/* A token rotated on disk, everywhere, without restarting the agents:
 * weft agent --token-file reads its file again when it reconnects. Its
 * gateway takes the new secret on SIGHUP, then is restarted on the same
 * port (with the new secret only): the agent, disconnected, comes back
 * with the new token instead of being refused for good with the old one,
 * which ended it before. */
Test(gateway_agent, an_agent_reads_its_token_file_again_to_reconnect,
     .fini = stop_agent_and_server, .timeout = 60)
{
    char tok[64], agent_tok[64], agent_log[64], log[8192], gw[32];
    snprintf(tok, sizeof tok, "/tmp/weft-gw-rot-%d.txt", (int)getpid());
    snprintf(agent_tok, sizeof agent_tok, "/tmp/weft-gw-rot-agent-%d.txt", (int)getpid());
    snprintf(agent_log, sizeof agent_log, "/tmp/weft-gw-rot-agent-%d.log", (int)getpid());
    write_text(tok, "first-secret\n");
    write_text(agent_tok, "first-secret\n");
    start_server("--token-file", tok);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token-file", agent_tok,
                           "-v", NULL};
    spawn_weft_logged(agent_log, agent);
    wait_in_file(agent_log, "connected to the gateway", 1, log, sizeof log);

    const char *again[] = {"--token-file", tok, "--listen", gw, NULL};
    rotate_and_restart(tok, agent_tok, again);
    wait_in_file(agent_log, "connected to the gateway", 2, log, sizeof log);
    char want[160];
    snprintf(want, sizeof want, "token file %s holds a new token: presenting it", agent_tok);
    cr_assert(strstr(log, want), "%s", log);
    rpc_client_t c;
    char type[32], code[32];
    cr_assert_str_eq(hello_with(&c, "second-secret", type, code), "welcome");
    cr_assert_eq(status_agents(&c), 1, "the agent is not back: %s", log);
    rpc_client_destroy(&c);
    cr_assert_eq(waitpid(agent_pid, NULL, WNOHANG), 0, "the agent ended: %s", log);
    kill(agent_pid, SIGTERM);
    int st;
    waitpid(agent_pid, &st, 0);
    agent_pid = 0;
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent status %#x", st);
    unlink(tok);
    unlink(agent_tok);
    unlink(agent_log);
}

/* Waits (10 s at most) until the gateway counts n agents (a client's
 * status), or fails with the agent's log. */
static void wait_agents(rpc_client_t *c, int64_t n, const char *agent_log)
{
    int64_t got = -1;
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10; usleep(50000))
        if ((got = status_agents(c)) == n)
            return;
    char log[8192];
    log[read_file(agent_log, log, sizeof log - 1)] = 0;
    cr_assert_fail("%lld agents, not %lld: %s", (long long)got, (long long)n, log);
}

/* --data-host binds the data port only: peers are still told the address
 * the gateway sees the agent connect from, so an agent bound elsewhere
 * says so at start (before, a job to it hung with nothing but the
 * senders' -v logs to tell why); one bound there, or everywhere, does not. */
Test(gateway_agent, a_data_host_peers_cannot_reach_is_named_at_start,
     .fini = stop_agent_and_server, .timeout = 30)
{
    char agent_log[64], log[8192], gw[32];
    snprintf(agent_log, sizeof agent_log, "/tmp/weft-gw-dh-%d.log", (int)getpid());
    start_server(NULL, NULL);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    static const char *const hosts[] = {"127.0.0.3", "127.0.0.1", "0.0.0.0"};
    for (int i = 0; i < 3; i++) {
        const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", TOKEN,
                               "--data-host", hosts[i], "-v", NULL};
        spawn_weft_logged(agent_log, agent);
        wait_in_file(agent_log, "connected to the gateway", 1, log, sizeof log);
        bool noted = strstr(log, "note: --data-host") != NULL;
        cr_assert_eq(noted, i == 0, "%s: %s", hosts[i], log);
        if (i == 0)
            cr_assert(strstr(log, "peers send to the address the gateway sees this agent "
                                  "connect from (127.0.0.1"), "%s", log);
        end_child(&agent_pid);
    }
    unlink(agent_log);
}

/* weft cancel while its gateway restarts: a refused connection is tried
 * again within --timeout, as weft submit does, until the gateway answers
 * (here: the job is unknown to it). Before, it gave up at once and a job
 * meant to be cancelled went on running (found by a soak test). */
Test(gateway_agent, cancel_waits_out_a_gateway_restart, .fini = stop_agent_and_server,
     .timeout = 30)
{
    char gw[32], cancel_log[64], log[8192];
    snprintf(cancel_log, sizeof cancel_log, "/tmp/weft-gw-cancel-%d.log", (int)getpid());
    start_server(NULL, NULL);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    stop_server(); /* its port is free: nothing listens there now */
    const char *cancel[] = {"cancel", "424242", "--gateway", gw, "--token", TOKEN,
                            "--timeout", "20", NULL};
    spawn_weft_logged(cancel_log, cancel);
    wait_in_file(cancel_log, "Connection refused; retrying in", 2, log, sizeof log);
    const char *again[] = {"--listen", gw, NULL};
    start_server_args(again);
    int st = wait_exit(&agent_pid, 15);
    log[read_file(cancel_log, log, sizeof log - 1)] = 0;
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "cancel status %#x: %s", st, log);
    cr_assert(strstr(log, ": error unknown-id: not found"), "it never reached the gateway: %s",
              log);
    unlink(cancel_log);
}

/* One machine's secret rotated under --agent-tokens, its agent left
 * running with --token-file: whether the gateway's file and SIGHUP come
 * before the agent's file or after, the agent is dropped, then comes back
 * with the new secret once its file holds it. Before, it stopped for good
 * at the drop ("the secret of port 1 changed ...; not retrying"). */
Test(gateway_agent, a_rotated_port_secret_brings_its_agent_back_either_way,
     .fini = stop_agent_and_server, .timeout = 60)
{
    char secrets[64], err_path[64], agent_tok[64], agent_log[64], log[8192], gw[32];
    snprintf(secrets, sizeof secrets, "/tmp/weft-gw-prot-%d.txt", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-prot-%d.err", (int)getpid());
    snprintf(agent_tok, sizeof agent_tok, "/tmp/weft-gw-prot-agent-%d.txt", (int)getpid());
    snprintf(agent_log, sizeof agent_log, "/tmp/weft-gw-prot-agent-%d.log", (int)getpid());
    write_text(secrets, "0 s0\n1 s1\n");
    write_text(agent_tok, "s1\n");
    server_stderr = err_path;
    start_server("--agent-tokens", secrets);
    server_stderr = NULL;
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *agent[] = {"agent", "--id", "1", "--gateway", gw, "--token-file", agent_tok,
                           "-v", NULL};
    spawn_weft_logged(agent_log, agent);
    rpc_client_t c;
    char type[32], code[32];
    cr_assert_str_eq(hello_with(&c, TOKEN, type, code), "welcome");
    wait_agents(&c, 1, agent_log);

    /* the gateway first: dropped, refused while its file holds the old one */
    write_text(secrets, "0 s0\n1 s1-new\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "1 agent dropped", 1, log, sizeof log);
    wait_in_file(agent_log, "the gateway refused this port's secret", 2, log, sizeof log);
    cr_assert_eq(waitpid(agent_pid, NULL, WNOHANG), 0, "the agent ended: %s", log);
    cr_assert_eq(status_agents(&c), 0);
    write_text(agent_tok, "s1-new\n");
    wait_agents(&c, 1, agent_log);

    /* the agent's file first */
    write_text(agent_tok, "s1-newer\n");
    write_text(secrets, "0 s0\n1 s1-newer\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "1 agent dropped", 2, log, sizeof log);
    wait_in_file(agent_log, "connected to the gateway", 3, log, sizeof log);
    wait_agents(&c, 1, agent_log);
    cr_assert_eq(waitpid(agent_pid, NULL, WNOHANG), 0, "the agent ended: %s", log);

    /* a port revoked (no secret any more) still stops its agent */
    write_text(secrets, "0 s0\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    int st = wait_exit(&agent_pid, 10);
    log[read_file(agent_log, log, sizeof log - 1)] = 0;
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "agent status %#x: %s", st, log);
    cr_assert(strstr(log, "port 1 takes no agent any more"), "%s", log);
    rpc_client_destroy(&c);
    unlink(secrets);
    unlink(err_path);
    unlink(agent_tok);
    unlink(agent_log);
}

/* The same for weft submit --token-file: its job waiting for agents that
 * never come, the gateway takes a new secret (SIGHUP) and is restarted
 * from its journal on the same port with it; submit reconnects with the
 * new token from its file and hears its job cancelled (weft cancel, with
 * the new token), exit status 0. Before, it was refused with the old
 * token and ended at once, "authentication failed". */
Test(gateway_agent, submit_reads_its_token_file_again_to_reconnect,
     .fini = stop_agent_and_server, .timeout = 60)
{
    char tok[64], sub_tok[64], sub_log[64], wl_path[64], journal[64], log[8192], gw[32];
    snprintf(tok, sizeof tok, "/tmp/weft-gw-rots-%d.txt", (int)getpid());
    snprintf(sub_tok, sizeof sub_tok, "/tmp/weft-gw-rots-sub-%d.txt", (int)getpid());
    snprintf(sub_log, sizeof sub_log, "/tmp/weft-gw-rots-sub-%d.log", (int)getpid());
    snprintf(wl_path, sizeof wl_path, "/tmp/weft-gw-rots-%d.weft", (int)getpid());
    snprintf(journal, sizeof journal, "/tmp/weft-gw-rots-%d.journal", (int)getpid());
    unlink(journal);
    write_text(wl_path,
               "weft-workload 1\nports 4\njob 7 0 1 0 1\ncoflow 1 0 1 -\n0 1 1000\nend 1\n");
    write_text(tok, "first-secret\n");
    write_text(sub_tok, "first-secret\n");
    start_server4("--token-file", tok, "--journal", journal);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *submit[] = {"submit", wl_path, "--gateway", gw, "--token-file", sub_tok,
                            "--timeout", "40", NULL};
    spawn_weft_logged(sub_log, submit);
    wait_in_file(sub_log, "job 7 registered", 1, log, sizeof log);
    const char *again[] = {"--token-file", tok, "--journal", journal, "--listen", gw, NULL};
    rotate_and_restart(tok, sub_tok, again);
    const char *cancel[] = {"cancel", "7", "--gateway", gw, "--token", "second-secret", NULL};
    char out[1024];
    int st = run_weft(out, sizeof out, cancel);
    cr_assert_eq(st, 0, "weft cancel: status %d: %s", st, out);
    int sub_st;
    cr_assert_eq(waitpid(agent_pid, &sub_st, 0), agent_pid);
    agent_pid = 0;
    log[read_file(sub_log, log, sizeof log - 1)] = 0;
    cr_assert(WIFEXITED(sub_st) && WEXITSTATUS(sub_st) == 0, "submit status %#x: %s", sub_st,
              log);
    cr_assert(strstr(log, "job 7 cancelled") && !strstr(log, "authentication failed"), "%s",
              log);
    unlink(tok);
    unlink(sub_tok);
    unlink(sub_log);
    unlink(wl_path);
    unlink(journal);
}

/* -------------------------------------------------- threads and metrics */

/* The value of metric line `name value` in text, or -1 if none. */
static double metric_value(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void server_metrics(void)
{
    start_server4("--metrics", "127.0.0.1:0", NULL, NULL);
    FILE *f = fopen(port_file, "r");
    cr_assert(f);
    int main_port = 0;
    cr_assert(fscanf(f, "%d %d", &main_port, &metrics_port) == 2, "no metrics port in %s",
              port_file);
    fclose(f);
}

/* weft serve --metrics answers GET /metrics with the gateway's counters in
 * Prometheus's text format, which follow what happens (agents, a job and
 * its decisions); another path is 404, a malformed request 400, and the
 * gateway serves on. */
/* The entries of /proc/PID/SUB (task: its threads; fd: its descriptors). */
static int proc_entries(pid_t pid, const char *sub)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, sub);
    DIR *d = opendir(path);
    cr_assert(d, "%s: %s", path, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The CPU time process pid has used (user and system), in s. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *after = strrchr(text, ')'); /* the name may hold spaces */
    unsigned long utime = 0, stime = 0;
    cr_assert(after && sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                              &utime, &stime) == 2, "%s", text);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* weft ends OpenBLAS's worker threads at start (cli/main.c), which would
 * otherwise spin on the other core for about 0.1 s even unused: a running
 * weft serve is one thread, unless OPENBLAS_NUM_THREADS asks for more. */
Test(gateway_agent, weft_runs_on_one_thread_unless_openblas_is_asked_for_more,
     .fini = stop_server, .timeout = 30)
{
    unsetenv("OPENBLAS_NUM_THREADS");
    start_server(NULL, NULL);
    cr_assert_eq(proc_entries(server_pid, "task"), 1);
    stop_server();
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return; /* OpenBLAS starts no more threads than CPUs */
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    start_server(NULL, NULL);
    unsetenv("OPENBLAS_NUM_THREADS");
    cr_assert_eq(proc_entries(server_pid, "task"), 2, "OPENBLAS_NUM_THREADS=2 gave no worker");
}

/* `weft CMD` under an address-space limit of kib KiB, OPENBLAS_NUM_THREADS
 * set to threads (NULL: unset), 20 s at most: its exit status. */
static int weft_under_as_limit(const char *cmd, int kib, const char *threads)
{
    char sh[1024], env[64] = "-u OPENBLAS_NUM_THREADS";
    if (threads)
        snprintf(env, sizeof env, "OPENBLAS_NUM_THREADS=%s", threads);
    snprintf(sh, sizeof sh, "env %s sh -c 'ulimit -v %d; exec timeout 20 %s %s' >/dev/null 2>&1",
             env, kib, getenv("WEFT_BIN"), cmd);
    int st = system(sh);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Under `ulimit -v` below OpenBLAS's worker buffers plus weft, a worker
 * whose buffer did not fit never ended, and weft, joining it at start, hung
 * before a word; it now runs itself again asking OpenBLAS for one thread. */
Test(gateway_agent, weft_starts_under_a_small_address_space_limit, .timeout = 60)
{
    const char *gen = "gen --jobs 4 --ports 8 --seed 1 -o /dev/null";
    if (weft_under_as_limit(gen, 120000, "1") != 0) {
        fprintf(stderr, "note: weft does not start under 120 MB at all (a sanitizer build?)\n");
        return;
    }
    cr_assert_eq(weft_under_as_limit(gen, 120000, NULL), 0, "status 124: it hung");
}

/* What `weft --version` says of $WEFT_BIN on its first line, "weft X (git
 * Y)", as the gateway reports it: "X (git Y)". */
static void weft_build(char *out, size_t n)
{
    const char *bin = getenv("WEFT_BIN");
    cr_assert(bin, "WEFT_BIN is not set (run through ctest)");
    char cmd[512], line[160] = "";
    snprintf(cmd, sizeof cmd, "%s --version", bin);
    FILE *p = popen(cmd, "r");
    cr_assert(p && fgets(line, sizeof line, p), "%s gave nothing", cmd);
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    cr_assert(!strncmp(line, "weft ", 5) && strstr(line, " (git "), "%s", line);
    snprintf(out, n, "%s", line + 5);
}

Test(gateway_agent, metrics_follow_the_gateway_over_http, .init = server_metrics,
     .fini = stop_server, .timeout = 30)
{
    static char text[65536];
    http_get(metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             text, sizeof text);
    cr_assert(!strncmp(text, "HTTP/1.1 200 OK\r\n", 17), "%.200s", text);
    cr_assert(strstr(text, "Content-Type: text/plain; version=0.0.4"), "%.300s", text);
    cr_assert_eq(metric_value(text, "weft_ports"), 4);
    char build[200], info[300];
    weft_build(build, sizeof build);
    snprintf(info, sizeof info, "\nweft_build_info{version=\"%s\"} 1\n", build);
    cr_assert(strstr(text, info), "no '%s' in %s", info, text);
    cr_assert_eq(metric_value(text, "weft_agents_connected"), 0);
    cr_assert_eq(metric_value(text, "weft_jobs_registered_total"), 0);
    rpc_client_t a0, a1, cl;
    agent_joins(&a0, 0, 1000, "0:1000");
    agent_joins(&a1, 1, 1001, "0:1000,1:1001");
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    add_two_flow_job(&wl, 1, 0, 1, 2); /* port 2 has no agent */
    connect_to(&cl);
    hello_client(&cl);
    bool dup;
    uint64_t f = register_job(&cl, &wl, 0, &dup);
    const double port = WEFT_GBPS_BYTES, alone[3] = {port, 0, port};
    double r[2] = {-1, -1};
    wait_pair_rates(&a0, f, r, alone);
    http_get(metrics_port, "GET /metrics HTTP/1.0\r\n\r\n", text, sizeof text);
    cr_assert_eq(metric_value(text, "weft_agents_connected"), 2, "%s", text);
    cr_assert_eq(metric_value(text, "weft_connections_open"), 3);
    cr_assert_eq(metric_value(text, "weft_jobs_registered_total"), 1);
    cr_assert_eq(metric_value(text, "weft_jobs_in_flight"), 1);
    cr_assert_eq(metric_value(text, "weft_flows_unfinished"), 2);
    cr_assert_eq(metric_value(text, "weft_ports_waiting"), 1, "port 2 waits for an agent");
    double decisions = metric_value(text, "weft_decisions_total");
    cr_assert_geq(decisions, 1);
    cr_assert_geq(metric_value(text, "weft_decision_seconds_count"), decisions);
    cr_assert_gt(metric_value(text, "weft_decision_seconds_sum"), 0);
    http_get(metrics_port, "GET /healthz HTTP/1.0\r\n\r\n", text, sizeof text);
    cr_assert(strstr(text, " 200 ") && strstr(text, "\r\n\r\nok\n"), "%.200s", text);
    http_get(metrics_port, "GET /other HTTP/1.0\r\n\r\n", text, sizeof text);
    cr_assert(strstr(text, " 404 "), "%.100s", text);
    http_get(metrics_port, "garbage\r\n\r\n", text, sizeof text);
    cr_assert(strstr(text, " 400 "), "%.100s", text);
    cr_assert_eq(rpc_client_ping(&cl, 42), WEFT_OK); /* the gateway serves on */
    wait_type(&cl, "pong");
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&a0);
    rpc_client_destroy(&a1);
    rpc_client_destroy(&cl);
}

/* Scrapes that take a gateway's last descriptors pause its --metrics
 * listener and do not loop on accept: evhttp's listener, left without an
 * error callback, warned "Error from accept() call" on stderr and tried again
 * at once, in a loop (a 64 KiB pipe full within 2 s; a gateway whose stderr is a pipe
 * nobody drained hung on it). Once the scrapes close, /healthz answers. */
Test(gateway_agent, metrics_pause_without_a_flood_when_out_of_descriptors,
     .fini = stop_server, .timeout = 30)
{
    enum { NOFILE = 64, SCRAPES = 96 };
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < SCRAPES + 64 &&
        (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= SCRAPES + 64)) {
        rl.rlim_cur = SCRAPES + 64;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    char log[64];
    snprintf(log, sizeof log, "/tmp/weft-gw-nofile-%d.log", (int)getpid());
    server_stderr = log;
    server_metrics();
    server_stderr = NULL;
    /* Limited once running, hard limit too: weft serve raises a soft limit
       it inherits to what --max-conns needs. */
    struct rlimit few = {NOFILE, NOFILE};
    cr_assert_eq(prlimit(server_pid, RLIMIT_NOFILE, &few, NULL), 0, "prlimit: %s",
                 strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fds[SCRAPES];
    for (int i = 0; i < SCRAPES; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        cr_assert(fds[i] >= 0, "socket: %s", strerror(errno));
        cr_assert(connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS,
                  "connect: %s", strerror(errno));
    }
    int held = 0;
    for (double t0 = weft_mono_s(); held < NOFILE && weft_mono_s() - t0 < 10; usleep(20000))
        held = proc_entries(server_pid, "fd");
    cr_assert_geq(held, NOFILE, "the gateway holds %d descriptors", held);
    /* out of descriptors with connections waiting, for 1 s: paused, the
       gateway tries 10 accepts, where one that retried at once (with its
       error callback silent, or re-enabled without a pause) spun a core */
    double cpu0 = proc_cpu_s(server_pid);
    usleep(1000 * 1000);
    double cpu = proc_cpu_s(server_pid) - cpu0;
    cr_assert_lt(cpu, 0.2, "the gateway used %.2f s of CPU in 1 s out of descriptors", cpu);
    for (int i = 0; i < SCRAPES; i++)
        close(fds[i]);
    char text[4096];
    http_get(metrics_port, "GET /healthz HTTP/1.0\r\n\r\n", text, sizeof text);
    cr_assert(strstr(text, " 200 ") && strstr(text, "\r\n\r\nok\n"), "%.200s", text);
    char head[512];
    head[read_file(log, head, sizeof head - 1)] = '\0';
    long size = file_size(log);
    unlink(log);
    cr_assert(!strstr(head, "accept()") && size < 512, "%ld bytes of stderr: %s", size, head);
}

/* ----------------------------- a secret for each role, a replaced agent */

/* A gateway whose agents and clients have secrets of their own (files). */
static char agent_secret_path[64], client_secret_path[64];

static void server_split_secrets(void)
{
    snprintf(agent_secret_path, sizeof agent_secret_path, "/tmp/weft-gw-agent-%d.token",
             (int)getpid());
    snprintf(client_secret_path, sizeof client_secret_path, "/tmp/weft-gw-client-%d.token",
             (int)getpid());
    write_file(agent_secret_path, "agent-secret\n", 13);
    write_file(client_secret_path, "client-secret\n", 14);
    start_server4("--agent-token-file", agent_secret_path, "--client-token-file",
                  client_secret_path);
}

static void stop_split_secrets(void)
{
    stop_server();
    unlink(agent_secret_path);
    unlink(client_secret_path);
}

/* hello as role ("agent": for port 0) with token: the next frame's type,
 * or the error's code, into out[n]. */
static void hello_as(rpc_client_t *c, bool agent, const char *token, char *out, size_t n)
{
    connect_to(c);
    cr_assert_eq(agent ? rpc_client_hello_agent(c, token, 0, 1000)
                       : rpc_client_hello_client(c, token),
                 WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(c, &m), 1, "%s", weft_last_error());
    rpc_msg_type(m, out, n);
    const char *code;
    size_t nc;
    if (!strcmp(out, "error") && rpc_get_str(m, "code", &code, &nc) == WEFT_OK)
        snprintf(out, n, "error %.*s", (int)nc, code);
}

/* With --agent-token-file and --client-token-file, each role is let in
 * with its own secret only (not the other's, nor --token's), and an agent
 * connection cannot register, watch or cancel a job (code forbidden, the
 * connection kept), while the client's job is scheduled to it as usual. */
Test(gateway_agent, each_role_has_its_own_secret_and_agents_touch_no_jobs,
     .init = server_split_secrets, .fini = stop_split_secrets, .timeout = 30)
{
    const struct {
        bool agent;
        const char *token, *want;
    } cases[] = {{true, "client-secret", "error auth"}, {true, TOKEN, "error auth"},
                 {false, "agent-secret", "error auth"}, {false, TOKEN, "error auth"},
                 {true, "agent-secret", "welcome"},    {false, "client-secret", "welcome"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rpc_client_t c;
        char got[64];
        hello_as(&c, cases[i].agent, cases[i].token, got, sizeof got);
        cr_assert_str_eq(got, cases[i].want, "%s with '%s'", cases[i].agent ? "agent" : "client",
                         cases[i].token);
        rpc_client_destroy(&c);
    }
    rpc_client_t ag, cl;
    char got[64];
    hello_as(&ag, true, "agent-secret", got, sizeof got);
    hello_as(&cl, false, "client-secret", got, sizeof got);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    add_two_flow_job(&wl, 5, 0, 1, 2);
    cr_assert_eq(rpc_client_register(&ag, 1, &wl, 0), WEFT_OK);
    expect_error(&ag, "forbidden", "register: agents may not touch jobs");
    int64_t job = 5;
    cr_assert_eq(rpc_client_watch(&ag, &job, 1), WEFT_OK);
    expect_error(&ag, "forbidden", "watch: agents may not touch jobs");
    bool dup;
    uint64_t f = register_job(&cl, &wl, 0, &dup); /* the client may */
    cr_assert_eq(rpc_client_cancel(&ag, 2, 5), WEFT_OK);
    expect_error(&ag, "forbidden", "cancel: agents may not touch jobs");
    /* the agent is still connected, and gets its flows (ports 1 and 2
       have no agent: rate 0) */
    double r[2] = {-1, -1};
    const double none[3] = {0, 0, WEFT_GBPS_BYTES};
    wait_pair_rates(&ag, f, r, none);
    expect_pong(&ag, 7);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&ag);
    rpc_client_destroy(&cl);
}

/* A client (weft status, cancel, submit) given the agents' secret, and an
 * agent given the clients', is told that the token is the other role's and
 * which one it needs, and stops at once; they read only "hello: wrong
 * token". A token that is no secret here is told no more than that. */
Test(gateway_agent, a_secret_of_the_other_role_is_named_as_such,
     .init = server_split_secrets, .fini = stop_split_secrets, .timeout = 60)
{
    char gw[32], out[4096];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *status[] = {"status", "--gateway", gw, "--token", "agent-secret", NULL};
    const char *cancel[] = {"cancel", "7", "--gateway", gw, "--token", "agent-secret", NULL};
    const char *submit[] = {"submit", "tests/gateway/small.weft", "--gateway", gw, "--token",
                            "agent-secret", "--timeout", "15", NULL};
    const char *const *clients[] = {status, cancel, submit};
    for (size_t i = 0; i < 3; i++) {
        int st = run_weft(out, sizeof out, clients[i]);
        cr_assert_eq(st, 1, "%s: exit status %d: %s", clients[i][0], st, out);
        cr_assert(strstr(out, "(error auth): hello: wrong token: that is the agents' token; "
                              "clients need the clients' token (weft serve "
                              "--client-token-file, else its --token); not retrying"),
                  "%s: %s", clients[i][0], out);
    }
    const char *agent[] = {"agent", "--id", "0", "--gateway", gw, "--token", "client-secret",
                           NULL};
    int st = run_weft(out, sizeof out, agent);
    cr_assert_eq(st, 1, "agent: exit status %d: %s", st, out);
    cr_assert(strstr(out, "(error auth): hello: wrong token: that is the clients' token; agents "
                          "need the agents' token (weft serve --agent-token-file, else its "
                          "--token); not retrying"), "%s", out);
    const char *stranger[] = {"status", "--gateway", gw, "--token", TOKEN, NULL};
    st = run_weft(out, sizeof out, stranger);
    cr_assert_eq(st, 1, "status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "(error auth): hello: wrong token; not retrying"), "%s", out);
}

/* An agent's hello for port id with token is refused with code and the
 * machine-readable why (and, for RPC_WHY_ID_RANGE, lo..hi), which is what
 * weft agent acts on. */
static void hello_refused_why(uint32_t id, const char *token, const char *code, const char *why,
                              int64_t lo, int64_t hi)
{
    rpc_client_t c;
    connect_to(&c);
    cr_assert_eq(rpc_client_hello_agent(&c, token, id, 1000), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(&c, &m), 1, "%s", weft_last_error());
    rpc_error_msg_t e;
    read_error_with_why(m, &e);
    cr_assert_str_eq(e.code, code);
    cr_assert_str_eq(e.why, why, "%s", e.message);
    bool range = !strcmp(why, RPC_WHY_ID_RANGE);
    cr_assert(e.has_range == range && (!range || (e.lo == lo && e.hi == hi)),
              "%s: range %d %lld..%lld", e.message, e.has_range, (long long)e.lo,
              (long long)e.hi);
    rpc_client_destroy(&c);
}

/* weft agent --id past the gateway's ports is told so in its option's
 * words, with the gateway's ports, and stops at once (exit status 1); it
 * reads them from the error's why and range ("id-range", 0..3), no longer
 * from the message "hello: field 'id' is 4, expected 0..3". */
Test(gateway_agent, an_id_past_the_gateways_ports_is_named_as_the_option,
     .init = server_split_secrets, .fini = stop_split_secrets, .timeout = 30)
{
    char gw[32], out[4096], want[256];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    hello_refused_why(4, "agent-secret", "protocol", RPC_WHY_ID_RANGE, 0, 3);
    const char *agent[] = {"agent", "--id", "4", "--gateway", gw, "--token", "agent-secret",
                           NULL};
    int st = run_weft(out, sizeof out, agent);
    cr_assert_eq(st, 1, "agent: exit status %d: %s", st, out);
    snprintf(want, sizeof want, "weft agent: invalid value: --id 4 is not one of the gateway's "
             "ports: the gateway at %s has ports 0..3 (weft serve --ports 4); not retrying\n",
             gw);
    cr_assert_str_eq(out, want);
}

/* weft agent --id of a port the gateway's --agent-tokens gives no secret
 * is told so in its option's words and stops at once (exit status 1),
 * from the error's why "port-no-agent"; so is one past the gateway's
 * ports (the range is not told before the secret is checked). */
Test(gateway_agent, a_port_without_a_secret_is_named_as_the_option, .fini = stop_server,
     .timeout = 30)
{
    char secrets[64], gw[32], out[4096], want[320];
    snprintf(secrets, sizeof secrets, "/tmp/weft-gw-nosecret-%d.txt", (int)getpid());
    write_text(secrets, "0 s0\n1 s1\n");
    start_server("--agent-tokens", secrets);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    hello_refused_why(2, "s1", "auth", RPC_WHY_PORT_NO_AGENT, 0, 0);
    hello_refused_why(9, "s1", "auth", RPC_WHY_PORT_NO_AGENT, 0, 0);
    for (int id = 2; id <= 9; id += 7) {
        char ids[8];
        snprintf(ids, sizeof ids, "%d", id);
        const char *agent[] = {"agent", "--id", ids, "--gateway", gw, "--token", "s1", NULL};
        int st = run_weft(out, sizeof out, agent);
        cr_assert_eq(st, 1, "agent: exit status %d: %s", st, out);
        snprintf(want, sizeof want, "weft agent: authentication failed: --id %d: the gateway at "
                 "%s takes no agent for port %d: its --agent-tokens file gives that port no "
                 "secret (or the gateway has fewer ports); not retrying\n", id, gw, id);
        cr_assert_str_eq(out, want);
    }
    unlink(secrets);
}

/* With a token file for each role, a SIGHUP names the role whose secret
 * changed, and that one only: the clients' first, then the agents'; the
 * roles stay apart (agents may still not touch jobs), also when one file
 * is copied over the other, which is refused. */
Test(gateway_agent, sighup_names_the_role_whose_token_file_changed, .fini = stop_server,
     .timeout = 60)
{
    char agent_tok[64], client_tok[64], err_path[64], log[8192];
    snprintf(agent_tok, sizeof agent_tok, "/tmp/weft-gw-agent-tok-%d.txt", (int)getpid());
    snprintf(client_tok, sizeof client_tok, "/tmp/weft-gw-client-tok-%d.txt", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/weft-gw-roles-%d.err", (int)getpid());
    write_text(agent_tok, "agent-secret\n");
    write_text(client_tok, "client-secret\n");
    server_stderr = err_path;
    start_server4("--agent-token-file", agent_tok, "--client-token-file", client_tok);
    server_stderr = NULL;
    write_text(client_tok, "client-secret-2\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "tokens reloaded: the agents' unchanged, the clients' changed", 1,
                 log, sizeof log);
    write_text(agent_tok, "agent-secret-2\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    wait_in_file(err_path, "tokens reloaded: the agents' changed, the clients' unchanged", 1,
                 log, sizeof log);
    rpc_client_t ag;
    char got[64];
    hello_as(&ag, true, "agent-secret-2", got, sizeof got);
    cr_assert_str_eq(got, "welcome");
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    add_two_flow_job(&wl, 5, 0, 1, 2);
    cr_assert_eq(rpc_client_register(&ag, 1, &wl, 0), WEFT_OK);
    expect_error(&ag, "forbidden", "register: agents may not touch jobs");
    /* one role's file copied over the other's: refused, the roles kept
       apart with the secrets read before (the agents' still may not touch
       jobs), at a SIGHUP as at a start */
    write_text(client_tok, "agent-secret-2\n");
    cr_assert_eq(kill(server_pid, SIGHUP), 0);
    char want[300];
    snprintf(want, sizeof want, "SIGHUP: tokens not reloaded: the agents' secret (%s) and the "
             "clients' (%s) are the same: an agent could register and cancel jobs; give each "
             "role its own", agent_tok, client_tok);
    wait_in_file(err_path, want, 1, log, sizeof log);
    cr_assert_eq(rpc_client_register(&ag, 2, &wl, 0), WEFT_OK);
    expect_error(&ag, "forbidden", "register: agents may not touch jobs");
    rpc_client_t cl;
    hello_as(&cl, false, "client-secret-2", got, sizeof got);
    cr_assert_str_eq(got, "welcome");
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&ag);
    char out[4096];
    const char *same[] = {"serve", "--listen", "127.0.0.1:0", "--ports", "2",
                          "--agent-token-file", agent_tok, "--client-token-file", client_tok,
                          NULL};
    int st = run_weft(out, sizeof out, same);
    cr_assert(st == 1 && strstr(out, "are the same: an agent could register and cancel jobs"),
              "status %d: %s", st, out);
    unlink(agent_tok);
    unlink(client_tok);
    unlink(err_path);
}

/* A second agent connecting as port 0 takes it over (a restart does that):
 * the first is told `replaced` and stops with a message saying so, instead
 * of reconnecting and taking the port back, which made two agents of one
 * port replace each other for ever. */
Test(gateway_agent, a_replaced_agent_stops, .init = server_plain, .fini = stop_agent_and_server,
     .timeout = 30)
{
    char log_path[64], log[8192] = "";
    snprintf(log_path, sizeof log_path, "/tmp/weft-agent-replaced-%d.log", (int)getpid());
    start_agent0(log_path);
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10;) {
        if (access(log_path, F_OK) == 0)
            log[read_file(log_path, log, sizeof log - 1)] = '\0';
        if (strstr(log, "connected to the gateway"))
            break;
        usleep(20000);
    }
    cr_assert(strstr(log, "connected to the gateway"), "agent 0 never connected: %s", log);
    rpc_client_t b;
    connect_to(&b);
    hello_agent0(&b);
    int status = 0;
    pid_t got = 0;
    for (double t0 = weft_mono_s(); !got && weft_mono_s() - t0 < 10;) {
        got = waitpid(agent_pid, &status, WNOHANG);
        if (!got)
            usleep(20000);
    }
    cr_assert_eq(got, agent_pid, "the replaced agent is still running after 10 s");
    agent_pid = 0;
    log[read_file(log_path, log, sizeof log - 1)] = '\0';
    unlink(log_path);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, log);
    cr_assert(strstr(log, "another agent connected as port 0"), "%s", log);
    rpc_client_destroy(&b);
    still_serving();
}

/* ------------------------------------------------------------ weft status */

static char status_journal[64];

static void server_status(void)
{
    snprintf(status_journal, sizeof status_journal, "/tmp/weft-gw-status-%d", (int)getpid());
    unlink(status_journal);
    start_server4("--policy", "sebf", "--journal", status_journal);
}

static void stop_status(void)
{
    stop_agent_and_server();
    unlink(status_journal);
}

/* Runs `weft status --gateway (the test's) --token token [extra]`, its
 * output into out[n]; its exit status. */
static int run_status(const char *token, const char *extra, char *out, size_t n)
{
    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", token, extra, NULL};
    return run_weft(out, n, args);
}

/* Agents 0 and 1 (the test playing them) and a client, connected. */
static void agents01_and_client(rpc_client_t *a0, rpc_client_t *a1, rpc_client_t *cl)
{
    agent_joins(a0, 0, 1000, "0:1000");
    agent_joins(a1, 1, 1001, "0:1000,1:1001");
    connect_to(cl);
    hello_client(cl);
}

/* Appends to wl job id of coflows 1 and 2, coflow k one flow of bytes[k]
 * from port src[k] to dst[k]; coflow 2 waits on coflow 1 if chained. */
static void add_two_coflow_job(coflow_workload_t *wl, int64_t id, const uint32_t src[2],
                               const uint32_t dst[2], const double bytes[2], bool chained)
{
    cr_assert_eq(coflow_workload_add_job(wl, id, 0, 1, 0), WEFT_OK);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(coflow_workload_add_coflow(wl, k + 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(wl, src[k], dst[k], bytes[k]), WEFT_OK);
    }
    if (chained)
        cr_assert_eq(coflow_workload_add_parent(wl, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

/* job_status (and weft status --job) tells where a two-stage job stands:
 * its first coflow active at its port's rate and the second waiting on
 * it; then the bytes an agent reports; then, the first done, the second
 * active. An unknown job is an unknown-id error naming it, and weft
 * status --job exits 1 with the gateway's one line. */
Test(gateway_agent, job_status_tells_where_a_job_stands, .init = server_default,
     .fini = stop_server, .timeout = 30)
{
    rpc_client_t a0, a1, cl;
    agents01_and_client(&a0, &a1, &cl);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    add_two_coflow_job(&wl, 77, (const uint32_t[]){0, 1}, (const uint32_t[]){1, 0},
                       (const double[]){1e12, 2e12}, true);
    bool dup;
    double t_reg = weft_mono_s();
    uint64_t f = register_job(&cl, &wl, 0, &dup);
    const double port = WEFT_GBPS_BYTES, whole[3] = {port, 0, port};
    double r[2] = {-1, -1}, v[4];
    char state[16];
    wait_pair_rates(&a0, f, r, whole);
    const msgpack_object *m = job_status_of(&cl, 77);
    /* a running job's age: since its registration, on the gateway's clock */
    double age = -1, since = weft_mono_s() - t_reg;
    cr_assert_eq(rpc_get_num_opt(m, "age", 0, 1e9, &age), WEFT_OK);
    cr_assert(age >= 0 && age <= since, "age %g s, %g s since the registration", age, since);
    coflow_row(m, 0, state, v);
    cr_assert(!strcmp(state, "active") && v[0] == 0 && v[1] == 0 &&
                  fabs(v[2] - port) <= 1e-6 * port && v[3] == -1,
              "coflow 1: %s, %g done, %g sent, rate %.17g, waits on %g", state, v[0], v[1], v[2],
              v[3]);
    coflow_row(m, 1, state, v);
    cr_assert(!strcmp(state, "waiting") && v[2] == 0 && v[3] == 1, "coflow 2: %s, waits on %g",
              state, v[3]);
    double sent = 4e5;
    cr_assert_eq(rpc_client_progress(&a0, &f, &sent, 1), WEFT_OK);
    expect_pong(&a0, 5); /* the report is in */
    coflow_row(job_status_of(&cl, 77), 0, state, v);
    cr_assert_eq(v[1], 4e5, "coflow 1 sent %g", v[1]);
    cr_assert_eq(rpc_client_done(&a0, 6, &f, 1), WEFT_OK);
    wait_type(&a0, "ack");
    m = job_status_of(&cl, 77);
    coflow_row(m, 0, state, v);
    cr_assert(!strcmp(state, "done") && v[0] == 1 && v[1] == 1e12 && v[2] == 0, "coflow 1: %s",
              state);
    coflow_row(m, 1, state, v);
    cr_assert(!strcmp(state, "active") && v[3] == -1, "coflow 2: %s, waits on %g", state, v[3]);
    const char *s;
    size_t n;
    cr_assert(rpc_get_str(m, "state", &s, &n) == WEFT_OK && n == 7 && !memcmp(s, "running", 7));

    cr_assert_eq(rpc_client_job_status(&cl, 12, 78), WEFT_OK);
    expect_error(&cl, "unknown-id", "job_status: job 78 was never registered");
    char out[4096], gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "77", NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert(st == 0 && strstr(out, "job 77: running for ") &&
                  strstr(out, "; 1 of 2 coflows done\n") && strstr(out, "   active  "),
              "status %d: %s", st, out);
    args[6] = "78";
    st = run_weft(out, sizeof out, args);
    cr_assert(st == 1 && strstr(out, "job_status: job 78 was never registered") &&
                  !strstr(out, "does not know"),
              "status %d: %s", st, out);
    args[6] = "x";
    cr_assert_eq(run_weft(out, sizeof out, args), 2, "%s", out);

    /* Cancelled with its second coflow 3e5 bytes in: that coflow reads
     * cancelled, none of its flows done and only those bytes sent (before,
     * its dropped flow counted as done and sent whole); the first stays
     * done. */
    uint64_t f2 = f + 1;
    sent = 3e5;
    cr_assert_eq(rpc_client_progress(&a1, &f2, &sent, 1), WEFT_OK);
    expect_pong(&a1, 7);
    cr_assert_eq(rpc_client_cancel(&cl, 13, 77), WEFT_OK);
    wait_type(&cl, "ack");
    m = job_status_of(&cl, 77);
    cr_assert(rpc_get_str(m, "state", &s, &n) == WEFT_OK && n == 9 &&
              !memcmp(s, "cancelled", 9));
    coflow_row(m, 0, state, v);
    cr_assert(!strcmp(state, "done") && v[0] == 1 && v[1] == 1e12, "coflow 1: %s, %g done, "
              "%g sent", state, v[0], v[1]);
    coflow_row(m, 1, state, v);
    cr_assert(!strcmp(state, "cancelled") && v[0] == 0 && v[1] == 3e5 && v[2] == 0,
              "coflow 2: %s, %g done, %g sent, rate %g", state, v[0], v[1], v[2]);
    args[6] = "77";
    st = run_weft(out, sizeof out, args);
    cr_assert(st == 0 && strstr(out, "job 77: cancelled in ") &&
                  strstr(out, "; 1 of 2 coflows done\n") &&
                  strstr(out, " cancelled       0 of 1     0.30 of 2000000.00 "),
              "status %d: %s", st, out);

    /* A coflow of 4 KB reads in as many decimals as three digits of it
     * need (it read "0.00 of 0.00") */
    coflow_workload_t tiny;
    coflow_workload_init(&tiny, 4);
    cr_assert_eq(coflow_workload_add_job(&tiny, 79, 0, 1, 0), WEFT_OK);
    coflow_workload_add_coflow(&tiny, 1, 0);
    coflow_workload_add_flow(&tiny, 2, 3, 4000); /* no agents there: it waits */
    cr_assert_eq(coflow_workload_finish_job(&tiny), WEFT_OK);
    register_job(&cl, &tiny, 0, &dup);
    args[6] = "79";
    st = run_weft(out, sizeof out, args);
    cr_assert(st == 0 && strstr(out, "   active       0 of 1     0.00000 of 0.00400 "),
              "status %d: %s", st, out);
    coflow_workload_destroy(&tiny);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&a0);
    rpc_client_destroy(&a1);
    rpc_client_destroy(&cl);
}

/* Coflow k of a job_status answer: its rank (0: none) and its score into
 * *score (NAN: none). */
static int64_t coflow_rank(const msgpack_object *m, uint32_t k, double *score)
{
    const msgpack_object_array *cs;
    cr_assert_eq(rpc_get_array(m, "coflows", &cs), WEFT_OK);
    cr_assert_lt(k, cs->size);
    int64_t rank = 0;
    *score = NAN;
    cr_assert_eq(rpc_get_int_opt(&cs->ptr[k], "rank", 1, INT64_MAX, &rank), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_eq(rpc_get_num_opt(&cs->ptr[k], "score", -INFINITY, INFINITY, score), WEFT_OK);
    return rank;
}

/* job_status of job id once its coflow k has a rank of "of" = want_of,
 * asked again until then (10 s at most): decisions come on the gateway's
 * timer. */
static const msgpack_object *ranked_status(rpc_client_t *c, int64_t id, uint32_t k,
                                           int64_t want_of)
{
    int64_t of = -1, rank = 0;
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10; usleep(10 * 1000)) {
        const msgpack_object *m = job_status_of(c, id);
        double score;
        of = -1;
        cr_assert_eq(rpc_get_int_opt(m, "of", 0, INT64_MAX, &of), WEFT_OK);
        cr_assert_geq(of, 0, "job %lld: no \"of\"", (long long)id);
        if ((rank = coflow_rank(m, k, &score)) > 0 && of == want_of)
            return m;
    }
    cr_assert_fail("job %lld coflow #%u: rank %lld of %lld, want one of %lld", (long long)id,
                   k, (long long)rank, (long long)of, (long long)want_of);
    return NULL;
}

/* job_status of job id once its coflow k has a rank of want_of
 * (ranked_status): its two coflows' ranks are want[] (0: none), and
 * neither has a score. */
static void expect_ranks(rpc_client_t *c, int64_t id, uint32_t k, int64_t want_of,
                         const int64_t want[2])
{
    const msgpack_object *m = ranked_status(c, id, k, want_of);
    for (k = 0; k < 2; k++) {
        double score;
        int64_t rank = coflow_rank(m, k, &score);
        cr_assert(rank == want[k] && isnan(score), "job %lld coflow #%u: rank %lld (score %g), "
                  "want %lld", (long long)id, k, (long long)rank, score, (long long)want[k]);
    }
}

static void server_sebf(void) { start_server4("--policy", "sebf", NULL, NULL); }

/* job_status gives each active coflow its place in the last decision's
 * order. Under SEBF, smallest bottleneck first, on ports 0 and 1: job 51's
 * coflows of 1 and 2 TB, then job 50's first of 3 TB; its second (1 TB)
 * waits on it, unranked. Job 51's first done, the next decision moves the
 * others up (a rank kept from the decision before would read 2 and 3);
 * job 50's first done, its second, smaller than job 51's, goes first.
 * weft status --job prints the places, "-" for the others, and no score
 * column (not a learned policy). */
Test(gateway_agent, job_status_ranks_coflows_as_the_last_decision_ordered,
     .init = server_sebf, .fini = stop_server, .timeout = 60)
{
    rpc_client_t a0, a1, cl;
    agents01_and_client(&a0, &a1, &cl);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    add_two_coflow_job(&wl, 50, (const uint32_t[]){0, 0}, (const uint32_t[]){1, 1},
                       (const double[]){3e12, 1e12}, true);
    add_two_coflow_job(&wl, 51, (const uint32_t[]){0, 1}, (const uint32_t[]){1, 0},
                       (const double[]){1e12, 2e12}, false);
    bool dup;
    uint64_t f50 = register_job(&cl, &wl, 0, &dup), f51 = register_job(&cl, &wl, 1, &dup);

    expect_ranks(&cl, 51, 1, 3, (const int64_t[]){1, 2});
    expect_ranks(&cl, 50, 0, 3, (const int64_t[]){3, 0});
    char out[4096], gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "50", NULL};
    int st = run_weft(out, sizeof out, args);
    cr_assert(st == 0 && strstr(out, "rate (MB/s)     priority   waits on\n") &&
                  strstr(out, "      3 of 3\n") && strstr(out, "            -   1\n") &&
                  !strstr(out, "score"),
              "status %d: %s", st, out);

    cr_assert_eq(rpc_client_done(&a0, 6, &f51, 1), WEFT_OK);
    wait_type(&a0, "ack");
    expect_ranks(&cl, 51, 1, 2, (const int64_t[]){0, 1});
    expect_ranks(&cl, 50, 0, 2, (const int64_t[]){2, 0});

    cr_assert_eq(rpc_client_done(&a0, 7, &f50, 1), WEFT_OK);
    wait_type(&a0, "ack");
    expect_ranks(&cl, 50, 1, 2, (const int64_t[]){0, 1});
    expect_ranks(&cl, 51, 1, 2, (const int64_t[]){0, 2});
    args[6] = "51";
    st = run_weft(out, sizeof out, args);
    cr_assert(st == 0 && strstr(out, "            -\n") && strstr(out, "      2 of 2\n"),
              "status %d: %s", st, out);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&a0);
    rpc_client_destroy(&a1);
    rpc_client_destroy(&cl);
}

static void server_learned(void)
{
    start_server4("--policy", "learned", "--model", "models/weft-policy.msgpack");
}

/* The ranks and scores of job id's two coflows, each ranked, into rank[2]
 * and score[2]. */
static void learned_ranks(rpc_client_t *c, int64_t id, int64_t want_of, int64_t rank[2],
                          double score[2])
{
    const msgpack_object *m = ranked_status(c, id, 1, want_of);
    for (uint32_t k = 0; k < 2; k++) {
        rank[k] = coflow_rank(m, k, &score[k]);
        cr_assert(rank[k] > 0 && isfinite(score[k]), "job %lld coflow #%u: rank %lld, "
                  "score %g", (long long)id, k, (long long)rank[k], score[k]);
    }
}

/* Under the learned policy job_status also gives the score that placed
 * each coflow: four coflows of two jobs with ranks 1..4 once each, the
 * scores descending with them (the policy's order); weft status --job
 * prints a score column. An agent connecting rebuilds the live state, and
 * the model (set_changes_only) keeps its order for the same coflows
 * without scoring them again: the same ranks and scores still read. */
Test(gateway_agent, job_status_gives_the_learned_policys_scores, .init = server_learned,
     .fini = stop_server, .timeout = 60)
{
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    const double bytes[2][2] = {{4e12, 1e12}, {3e12, 2e12}};
    for (uint32_t j = 0; j < 2; j++)
        add_two_coflow_job(&wl, 60 + j, (const uint32_t[]){0, 1}, (const uint32_t[]){2 + j, 2 + j},
                           bytes[j], false);
    bool dup;
    register_job(&cl, &wl, 0, &dup);
    register_job(&cl, &wl, 1, &dup);
    int64_t rank[4];
    double score[4];
    learned_ranks(&cl, 60, 4, rank, score);
    learned_ranks(&cl, 61, 4, rank + 2, score + 2);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            cr_assert(a == b || (rank[a] != rank[b] && (rank[a] > rank[b] || score[a] >= score[b])),
                      "coflow #%d rank %lld score %g, #%d rank %lld score %g", a,
                      (long long)rank[a], score[a], b, (long long)rank[b], score[b]);
    char out[4096], gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--job", "61", NULL};
    int st = run_weft(out, sizeof out, args);
    char row[64];
    snprintf(row, sizeof row, "%lld of 4 %10.4g\n", (long long)rank[3], score[3]);
    cr_assert(st == 0 && strstr(out, "     priority      score   waits on\n") && strstr(out, row),
              "status %d, no '%s': %s", st, row, out);

    cr_assert_eq(rpc_client_status(&cl, 3), WEFT_OK);
    int64_t rebuilds = -1, now = -1;
    cr_assert_eq(rpc_get_int(wait_type(&cl, "status"), "rebuilds", 0, INT64_MAX, &rebuilds),
                 WEFT_OK);
    rpc_client_t a0;
    agent_joins(&a0, 0, 1000, "0:1000");
    for (double t0 = weft_mono_s(); now <= rebuilds && weft_mono_s() - t0 < 10;) {
        cr_assert_eq(rpc_client_status(&cl, 4), WEFT_OK);
        cr_assert_eq(rpc_get_int(wait_type(&cl, "status"), "rebuilds", 0, INT64_MAX, &now),
                     WEFT_OK);
    }
    cr_assert_gt(now, rebuilds, "no rebuild once agent 0 connected");
    int64_t rank2[4];
    double score2[4];
    learned_ranks(&cl, 60, 4, rank2, score2);
    learned_ranks(&cl, 61, 4, rank2 + 2, score2 + 2);
    for (int a = 0; a < 4; a++)
        cr_assert(rank2[a] == rank[a] && score2[a] == score[a], "coflow #%d: rank %lld score %g, "
                  "before the rebuild %lld, %g", a, (long long)rank2[a], score2[a],
                  (long long)rank[a], score[a]);
    coflow_workload_destroy(&wl);
    rpc_client_destroy(&a0);
    rpc_client_destroy(&cl);
}

/* `weft status --json`, parsed. */
static json_t *status_json(void)
{
    char out[4096];
    int st = run_status(TOKEN, "--json", out, sizeof out);
    cr_assert_eq(st, 0, "weft status --json: exit status %d: %s", st, out);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    cr_assert(o && json_is_object(o), "not one JSON object (%s): %s", e.text, out);
    return o;
}

/* The rest of a hello as agent 4 (of a 4-port gateway), and one of
 * protocol version 2, for send_raw_message: 4 pairs each. */
static void hello_of_port_4(msgpack_packer *pk, const void *arg)
{
    (void)arg;
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(pk, "role"), rpc_pack_cstr(pk, "agent");
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, TOKEN);
    rpc_pack_cstr(pk, "id"), msgpack_pack_int(pk, 4);
}

static void hello_of_v2(msgpack_packer *pk, const void *arg)
{
    (void)arg;
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION + 1);
    rpc_pack_cstr(pk, "role"), rpc_pack_cstr(pk, "agent");
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, TOKEN);
    rpc_pack_cstr(pk, "id"), msgpack_pack_int(pk, 0);
}

static long long jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "key '%s' missing or not an integer", key);
    return (long long)json_integer_value(v);
}

/* A real `weft agent` on port 0 and one job of one flow 0 -> 1 (no agent
 * on port 1, so it stays in flight until cancelled): `weft status` prints
 * the gateway's real counters, as a table and as JSON, and they move when
 * the job is cancelled; a wrong token is an auth failure it names (and
 * counts); no gateway is an error naming the address. */
Test(gateway_agent, status_prints_the_live_counters, .init = server_status,
     .fini = stop_status, .timeout = 30)
{
    char out[4096];
    start_agent0(NULL);
    json_t *o = NULL;
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10; usleep(20000)) {
        o = status_json();
        if (jint(o, "agents") == 1)
            break;
        json_decref(o), o = NULL;
    }
    cr_assert(o, "agent 0 not connected after 10 s");
    json_decref(o);
    rpc_client_t cl;
    connect_to(&cl);
    int64_t epoch = hello_client(&cl);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    coflow_workload_add_job(&wl, 42, 0, 1, 0);
    coflow_workload_add_coflow(&wl, 1, 0);
    coflow_workload_add_flow(&wl, 0, 1, 1e6);
    cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    bool dup;
    register_job(&cl, &wl, 0, &dup);
    cr_assert(!dup);

    int st = run_status(TOKEN, NULL, out, sizeof out);
    cr_assert_eq(st, 0, "weft status: exit status %d: %s", st, out);
    cr_assert(strstr(out, "\n  policy ") && strstr(out, " sebf   allocator madd\n"), "%s", out);
    cr_assert_eq(table_value(out, "ports"), 4, "%s", out);
    cr_assert_eq(table_value(out, "agents connected"), 1, "%s", out);
    cr_assert(strstr(out, "   on port 0\n"), "%s", out);
    cr_assert_eq(table_value(out, "connections open"), 3, "%s", out); /* agent, cl, status */
    cr_assert_eq(table_value(out, "jobs registered"), 1, "%s", out);
    cr_assert_eq(table_value(out, "jobs finished"), 0, "%s", out);
    cr_assert_eq(table_value(out, "jobs in flight"), 1, "%s", out);
    cr_assert_eq(table_value(out, "flows unfinished"), 1, "%s", out);
    /* its flow goes from port 0 (an agent) to port 1 (none) */
    cr_assert_eq(table_value(out, "ports without agent"), 1, "%s", out);
    cr_assert(strstr(out, "   flows wait on port 1\n"), "%s", out);
    cr_assert_gt(table_value(out, "decisions"), 0, "%s", out);
    cr_assert(strstr(out, "\n  decision time ") && strstr(out, " ms, median of the last "),
              "%s", out);
    cr_assert_eq(table_value(out, "auth failures"), 0, "%s", out);
    cr_assert_eq(table_value(out, "journal"), 2, "%s", out); /* the epoch's, the job's */
    cr_assert(strstr(out, status_journal), "%s", out);
    cr_assert_eq(table_value(out, "journal format"), 2, "%s", out);
    char epoch_row[64];
    snprintf(epoch_row, sizeof epoch_row, "  %-20s %16llx\n", "epoch",
             (unsigned long long)epoch);
    cr_assert(strstr(out, epoch_row), "'%s' lacks '%s'", out, epoch_row);
    char build[200], version_row[300];
    weft_build(build, sizeof build);
    snprintf(version_row, sizeof version_row, "  %-20s weft %s\n", "version", build);
    cr_assert(strstr(out, version_row), "'%s' lacks '%s'", out, version_row);

    o = status_json();
    const json_t *ap = json_object_get(o, "agent_ports");
    cr_assert(json_is_array(ap) && json_array_size(ap) == 1 &&
              json_integer_value(json_array_get(ap, 0)) == 0, "agent_ports is not [0]");
    cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "status");
    cr_assert_str_eq(json_string_value(json_object_get(o, "version")), build);
    cr_assert_str_eq(json_string_value(json_object_get(o, "policy")), "sebf");
    cr_assert_str_eq(json_string_value(json_object_get(o, "allocator")), "madd");
    cr_assert_eq(jint(o, "ports"), 4);
    cr_assert_eq(jint(o, "agents"), 1);
    cr_assert_eq(jint(o, "jobs"), 1);
    cr_assert_eq(jint(o, "jobs_finished"), 0);
    cr_assert_eq(jint(o, "jobs_in_flight"), 1);
    cr_assert_eq(jint(o, "flows_unfinished"), 1);
    cr_assert_gt(jint(o, "frames_in"), 0);
    const json_t *up = json_object_get(o, "uptime");
    cr_assert(json_is_number(up) && json_number_value(up) > 0 &&
              json_number_value(up) < 30, "uptime");
    const json_t *j = json_object_get(o, "journal");
    cr_assert(json_is_object(j), "no journal object");
    cr_assert_str_eq(json_string_value(json_object_get(j, "path")), status_journal);
    cr_assert_eq(jint(j, "records"), 2); /* the epoch's, the job's */
    cr_assert_eq(jint(j, "format"), 2);
    cr_assert_eq(jint(o, "epoch"), epoch);
    cr_assert_eq(jint(o, "ports_waiting"), 1);
    const json_t *wp = json_object_get(o, "waiting_ports");
    cr_assert(json_is_array(wp) && json_array_size(wp) == 1 &&
                  json_integer_value(json_array_get(wp, 0)) == 1, "waiting_ports is not [1]");
    /* the last decisions' times: as many as decisions (fewer than 1,024
       here), in order, and plausible */
    const json_t *ds = json_object_get(o, "decision_s");
    cr_assert(json_is_object(ds), "no decision_s");
    cr_assert_eq(jint(ds, "n"), jint(o, "decisions"));
    double p50 = json_number_value(json_object_get(ds, "p50")),
           p99 = json_number_value(json_object_get(ds, "p99")),
           mx = json_number_value(json_object_get(ds, "max"));
    cr_assert(p50 > 0 && p50 <= p99 && p99 <= mx && mx < 5, "p50 %g p99 %g max %g", p50, p99, mx);
    json_decref(o);

    /* The job finishes by a cancel: the counters follow. */
    cr_assert_eq(run_cancel("42", out, sizeof out), 0, "weft cancel: %s", out);
    o = status_json();
    cr_assert_eq(jint(o, "jobs"), 1);
    cr_assert_eq(jint(o, "jobs_finished"), 1);
    cr_assert_eq(jint(o, "jobs_in_flight"), 0);
    cr_assert_eq(jint(o, "flows_unfinished"), 0);
    cr_assert_eq(jint(o, "ports_waiting"), 0); /* nothing waits for port 1 any more */
    cr_assert_eq(jint(json_object_get(o, "journal"), "records"), 3); /* and the cancel's */
    json_decref(o);

    st = run_status("not-" TOKEN, NULL, out, sizeof out);
    cr_assert_eq(st, 1, "wrong token: exit status %d: %s", st, out);
    cr_assert(strstr(out, "authentication failed: gateway 127.0.0.1:") &&
                  strstr(out, "(error auth): hello: wrong token"), "%s", out);
    o = status_json();
    cr_assert_eq(jint(o, "auth_failures"), 1);
    long long protocol_errors = jint(o, "protocol_errors");
    json_decref(o);

    /* Closes for a message the gateway refuses (a hello for a port it does
     * not have) or a protocol version it does not speak count as protocol
     * errors, as the decoder's do: they used to count nowhere. */
    void (*bad_hello[2])(msgpack_packer *, const void *) = {hello_of_port_4, hello_of_v2};
    const char *code[2] = {"protocol", "version"};
    for (int i = 0; i < 2; i++) {
        rpc_client_t bad;
        connect_to(&bad);
        send_raw_message(bad.fd, "hello", 4, bad_hello[i], NULL);
        expect_error(&bad, code[i], "hello");
        rpc_client_destroy(&bad);
        o = status_json();
        cr_assert_eq(jint(o, "protocol_errors"), protocol_errors + 1 + i, "after a '%s' close",
                     code[i]);
        cr_assert_eq(jint(o, "auth_failures"), 1);
        json_decref(o);
    }

    /* a port nothing listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    char gw[32], addr[64];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", ntohs(sa.sin_port));
    snprintf(addr, sizeof addr, "connect to %s", gw);
    const char *args[] = {"status", "--gateway", gw, "--token", TOKEN, "--timeout", "2", NULL};
    st = run_weft(out, sizeof out, args);
    cr_assert_eq(st, 1, "no gateway: exit status %d: %s", st, out);
    cr_assert(strstr(out, "weft status:") && strstr(out, addr), "%s", out);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* ------------------------------------------ strangers on an agent's port */

static pid_t stranger_agents[2];
static char stranger_log[64];

static void stop_stranger_test(void)
{
    for (int i = 0; i < 2; i++)
        end_child(&stranger_agents[i]);
    stop_server();
    unlink(stranger_log);
}

/* A real `weft agent --id ID`, with --data-port port when it is not 0 and
 * its verbose log into log when it is not NULL, and at most nofile
 * descriptors when that is not 0. */
static pid_t spawn_agent(const char *id, int port, const char *log, rlim_t nofile)
{
    char gw[32], dp[16];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    snprintf(dp, sizeof dp, "%d", port);
    pid_t pid = fork_tied(SIGTERM);
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 2);
        }
        struct rlimit rl;
        if (nofile && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = nofile;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        const char *bin = getenv("WEFT_BIN");
        if (port)
            execl(bin, bin, "agent", "--id", id, "--gateway", gw, "--token", TOKEN,
                  "--data-port", dp, "-v", (char *)NULL);
        else
            execl(bin, bin, "agent", "--id", id, "--gateway", gw, "--token", TOKEN,
                  (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* An agent without -v whose gateway is not there says so once, not at
 * each try, and says when it connects; a gateway that goes away later is
 * said once again. Before, it retried in silence for ever. */
Test(gateway_agent, an_agent_says_each_gateway_outage_once_without_v,
     .fini = stop_agent_and_server, .timeout = 30)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(s, (struct sockaddr *)&sa, &len);
    close(s); /* a port nobody listens on, for now */
    server_port = ntohs(sa.sin_port);
    char log[64], listen[32], text[4096];
    snprintf(log, sizeof log, "/tmp/weft-outage-%d.log", (int)getpid());
    snprintf(listen, sizeof listen, "127.0.0.1:%d", server_port);
    write_text(log, ""); /* there before the agent opens it */
    agent_pid = spawn_agent("0", 0, log, 0);
    wait_in_file(log, "weft agent 0: no gateway connection (cannot connect to ", 1, text,
                 sizeof text);
    usleep(400 * 1000); /* three tries more */
    start_server4("--listen", listen, NULL, NULL);
    char back[96];
    snprintf(back, sizeof back, "weft agent 0: connected to the gateway at %s, ", listen);
    wait_in_file(log, back, 1, text, sizeof text);
    cr_assert_eq(strstr(strstr(text, "no gateway connection") + 1, "no gateway connection"),
                 NULL, "a line at each try: %s", text);
    stop_server();
    wait_in_file(log, "no gateway connection (", 2, text, sizeof text);
    unlink(log);
}

/* A gateway whose one connection (--max-conns 1) is taken tells the agent
 * "busy" and closes: the agent's notice gives that error with the outage,
 * and says when it gets in once the slot is free. */
Test(gateway_agent, an_agent_s_outage_notice_gives_the_gateways_error,
     .fini = stop_agent_and_server, .timeout = 30)
{
    start_server4("--max-conns", "1", NULL, NULL);
    rpc_client_t cl;
    connect_to(&cl);
    hello_client(&cl); /* the only slot, held before the agent tries */
    char log[64], text[4096];
    snprintf(log, sizeof log, "/tmp/weft-busy-%d.log", (int)getpid());
    write_text(log, "");
    agent_pid = spawn_agent("0", 0, log, 0);
    /* closed or reset, as the race of its close and the agent's hello falls */
    wait_in_file(log, ", after its error busy: connection limit reached); reconnecting", 1, text,
                 sizeof text);
    cr_assert(!strncmp(text, "weft agent 0: no gateway connection (", 37), "%s", text);
    rpc_client_destroy(&cl);
    wait_in_file(log, "weft agent 0: connected to the gateway at 127.0.0.1:", 1, text,
                 sizeof text);
    unlink(log);
}

/* 300 connections that say nothing hold agent 1's data port (plain TCP,
 * unauthenticated) past its descriptors (at most nofile); agent 0 must
 * still get its bytes through once they have been silent for 2 s: the
 * agent closes the connection silent longest for a new one, and says so.
 * Before, new connections waited in its backlog while the strangers stayed
 * (and past its 1,024 slots, which take the same path to a free one, it
 * closed every new one), so agent 0's flow never finished. A few hundred
 * connections, not the 1,025 that fill the slots: that many connects at
 * once overflow the kernel's queues on a loaded machine. */
static void strangers_then_a_flow(rlim_t nofile)
{
    enum { STRANGERS = 300 }; /* well past its descriptors */
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < STRANGERS + 64) {
        fprintf(stderr, "note: at most %llu descriptors: strangers not checked\n",
                (unsigned long long)rl.rlim_max);
        return;
    }
    /* a free port for agent 1's data listener */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(s, (struct sockaddr *)&sa, &len);
    close(s);
    int port = ntohs(sa.sin_port);
    snprintf(stranger_log, sizeof stranger_log, "/tmp/weft-strangers-%d.log", (int)getpid());
    stranger_agents[1] = spawn_agent("1", port, stranger_log, nofile);
    stranger_agents[0] = spawn_agent("0", 0, NULL, 0);
    rlim_t soft = rl.rlim_cur;
    if (soft < STRANGERS + 64) {
        rl.rlim_cur = STRANGERS + 64;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    sa.sin_port = htons((uint16_t)port);
    bool listening = false; /* a blocking connect succeeds once it listens */
    for (int tries = 0; tries < 250 && !listening; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        listening = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (!listening)
            usleep(20 * 1000);
    }
    cr_assert(listening, "agent 1 never listened on port %d", port);
    int *fds = calloc(STRANGERS, sizeof *fds);
    cr_assert_not_null(fds);
    size_t n = 0;
    for (; n < STRANGERS; n++) {
        fds[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        cr_assert(fds[n] >= 0, "socket: %s", strerror(errno));
        cr_assert(connect(fds[n], (struct sockaddr *)&sa, sizeof sa) == 0 ||
                  errno == EINPROGRESS, "connect: %s", strerror(errno));
    }
    /* till agent 1 holds its 1,024 connections, or nearly all its
       descriptors (connects past its backlog of 64 are retried after 1, 3,
       7 s): counted in /proc, not from its log, so that an agent that
       never says so is caught by the flow below */
    size_t want = nofile - 16 < 1024 ? (size_t)nofile - 16 : 1024, held = 0;
    for (double t0 = weft_mono_s(); held < want && weft_mono_s() - t0 < 30;) {
        usleep(100 * 1000);
        held = (size_t)proc_entries(stranger_agents[1], "fd");
    }
    cr_assert_geq(held, want, "agent 1 holds %zu descriptors (nofile %llu)", held,
                  (unsigned long long)nofile);
    sleep(3); /* silent for longer than RECV_IDLE_S */
    char wl[96], out[8192], gw[32];
    snprintf(wl, sizeof wl, "/tmp/weft-strangers-%d.weft", (int)getpid());
    FILE *f = fopen(wl, "w");
    cr_assert(f);
    fprintf(f, "weft-workload 1\nports 4\njob 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 2000000\nend 1\n");
    fclose(f);
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"submit", wl, "--gateway", gw, "--token", TOKEN, "--timeout", "30",
                          NULL};
    int st = run_weft(out, sizeof out, args);
    unlink(wl);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    rl.rlim_cur = soft;
    setrlimit(RLIMIT_NOFILE, &rl);
    cr_assert_eq(st, 0, "the flow to the crowded agent did not finish: %s", out);
    FILE *lg = fopen(stranger_log, "r");
    cr_assert(lg);
    char line[512];
    bool said = false;
    while (!said && fgets(line, sizeof line, lg))
        said = strstr(line, "data port: ") &&
               strstr(line, "closed the connection silent longest for a new one");
    fclose(lg);
    cr_assert(said, "agent 1 did not say it made room");
}

Test(gateway_agent, strangers_past_an_agents_descriptors_do_not_keep_peers_out,
     .init = server_plain, .fini = stop_stranger_test, .timeout = 90)
{
    strangers_then_a_flow(64);
}

/* ------------------------------------------------ data acknowledgments */

/* The data connections' acknowledgment (docs/protocol.md, "Data
 * connections"): an agent counts a byte once the receiving agent has read
 * it, not once its connection took it. */

/* The next peers message on c as "id:port/acks,..." into out[n]. */
static void next_peers_acks(rpc_client_t *c, char *out, size_t n)
{
    for (;;) {
        const msgpack_object *m;
        cr_assert_eq(rpc_client_wait(c, 5.0, &m), 1, "no peers: %s", weft_last_error());
        char type[32];
        if (strcmp(rpc_msg_type(m, type, sizeof type), "peers"))
            continue;
        const msgpack_object_array *p, *a;
        cr_assert_eq(rpc_get_array(m, "peers", &p), WEFT_OK);
        cr_assert_eq(rpc_get_array(m, "acks", &a), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(a->size, p->size);
        size_t len = 0;
        out[0] = 0;
        for (uint32_t i = 0; i < p->size; i++) {
            int64_t id, port, ack;
            cr_assert(rpc_obj_int(&p->ptr[i].via.array.ptr[0], &id) &&
                      rpc_obj_int(&p->ptr[i].via.array.ptr[2], &port) &&
                      rpc_obj_int(&a->ptr[i], &ack));
            len += (size_t)snprintf(out + len, n - len, "%s%lld:%lld/%lld", i ? "," : "",
                                    (long long)id, (long long)port, (long long)ack);
        }
        return;
    }
}

static void told_acks(rpc_client_t *c, const char *want)
{
    char got[256];
    next_peers_acks(c, got, sizeof got);
    cr_assert_str_eq(got, want);
}

static void hello_acks_str(msgpack_packer *pk, const void *arg)
{
    (void)arg;
    rpc_pack_cstr(pk, "v"), msgpack_pack_int(pk, RPC_PROTOCOL_VERSION);
    rpc_pack_cstr(pk, "token"), rpc_pack_cstr(pk, TOKEN);
    rpc_pack_cstr(pk, "id"), msgpack_pack_int(pk, 2);
    rpc_pack_cstr(pk, "port"), msgpack_pack_int(pk, 1002);
    rpc_pack_cstr(pk, "acks"), rpc_pack_cstr(pk, "yes");
}

/* An agent says in its hello that it acknowledges what it reads ("acks":
 * the version), and the gateway tells the other agents so, in `peers`
 * ("acks", one entry per peer, 0 for an agent that said nothing, as an
 * older one): a sender waits for acknowledgments only from receivers that
 * send them. An "acks" that is not an integer is a protocol error. */
Test(gateway_agent, peers_say_which_agents_acknowledge, .init = server_default,
     .fini = stop_server, .timeout = 30)
{
    rpc_client_t a0, a1, a2;
    connect_to(&a0);
    cr_assert_eq(rpc_client_hello_agent_acks(&a0, TOKEN, 0, 1000, 1), WEFT_OK);
    told_acks(&a0, "0:1000/1");
    connect_to(&a1);
    cr_assert_eq(rpc_client_hello_agent(&a1, TOKEN, 1, 1001), WEFT_OK);
    told_acks(&a1, "0:1000/1,1:1001/0");
    told_acks(&a0, "1:1001/0");
    connect_to(&a2);
    send_raw_message(a2.fd, "hello", 5, hello_acks_str, NULL);
    expect_error(&a2, "protocol", "acks");
    rpc_client_destroy(&a0);
    rpc_client_destroy(&a1);
    rpc_client_destroy(&a2);
}

static pid_t ack_agents[2];    /* real agents 0 and 1 */
static char ack_log[3][64];    /* agent 0's log, agent 1's, a restarted agent 1's */

static void stop_ack_test(void)
{
    for (int i = 0; i < 2; i++)
        end_child(&ack_agents[i]);
    stop_agent_and_server(); /* agent_pid too: the garbage test's agent 0 */
    for (int i = 0; i < 3; i++)
        if (ack_log[i][0])
            unlink(ack_log[i]);
}

static void name_ack_logs(void)
{
    for (int i = 0; i < 3; i++)
        snprintf(ack_log[i], sizeof ack_log[i], "/tmp/weft-ack-%d-%d.log", (int)getpid(), i);
}

/* A real `weft agent --id id -v` on a free data port, logging to log, with
 * the option opt and its value val unless opt is NULL. */
static pid_t spawn_agent_opt(const char *id, const char *log, const char *opt, const char *val)
{
    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    write_text(log, "");
    pid_t pid = fork_tied(SIGKILL); /* SIGKILL: tests stop these */
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(open(log, O_WRONLY | O_TRUNC), 2);
        const char *bin = getenv("WEFT_BIN");
        execl(bin, bin, "agent", "--id", id, "--gateway", gw, "--token", TOKEN, "-v", opt, val,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_agent_v(const char *id, const char *log)
{
    return spawn_agent_opt(id, log, NULL, NULL);
}

/* A client on the test's gateway, once n agents are connected. */
static void client_with_agents(rpc_client_t *c, int64_t n)
{
    connect_to(c);
    hello_client(c);
    for (double t0 = weft_mono_s(); status_agents(c) < n; usleep(20 * 1000))
        cr_assert_lt(weft_mono_s() - t0, 10, "fewer than %lld agents connected in 10 s",
                     (long long)n);
}

/* Job id: one flow of `bytes` from port 0 to port 1. */
static void one_flow_job(coflow_workload_t *wl, int64_t id, double bytes)
{
    coflow_workload_init(wl, 4);
    coflow_workload_add_job(wl, id, 0, 1, 0);
    coflow_workload_add_coflow(wl, 1, 0);
    coflow_workload_add_flow(wl, 0, 1, bytes);
    cr_assert_eq(coflow_workload_finish_job(wl), WEFT_OK);
}

/* Whether job_done for job comes on c within timeout_s (others skipped). */
static bool job_done_within(rpc_client_t *c, int64_t job, double timeout_s)
{
    double until = weft_mono_s() + timeout_s, left;
    while ((left = until - weft_mono_s()) > 0) {
        const msgpack_object *m;
        int r = rpc_client_wait(c, left, &m);
        cr_assert_geq(r, 0, "client connection: %s", weft_last_error());
        char t[32];
        int64_t id;
        if (r == 1 && !strcmp(rpc_msg_type(m, t, sizeof t), "job_done") &&
            rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &id) == WEFT_OK && id == job)
            return true;
    }
    return false;
}

/* The bytes job's first coflow has sent, as the gateway knows them. */
static double coflow_sent(rpc_client_t *c, int64_t job)
{
    char state[16];
    double v[4];
    coflow_row(job_status_of(c, job), 0, state, v);
    return v[1];
}

/* A real agent 1 stopped (SIGSTOP) before a flow of 50 KB from agent 0
 * starts: agent 0's data connection takes the whole flow (it fits in the
 * socket buffers) but agent 1 reads none of it, so the job must not
 * finish, nor the gateway count a byte, while agent 1 is stopped; once it
 * runs again (SIGCONT) and acknowledges, the job finishes. Before, agent 0
 * reported the flow done as soon as its connection took it, and the job
 * finished with its receiver stopped. */
Test(gateway_agent, a_flow_to_a_stopped_receiver_is_not_done_until_it_reads,
     .init = server_plain, .fini = stop_ack_test, .timeout = 30)
{
    name_ack_logs();
    ack_agents[1] = spawn_agent_v("1", ack_log[1]);
    ack_agents[0] = spawn_agent_v("0", ack_log[0]);
    rpc_client_t cl;
    client_with_agents(&cl, 2);
    cr_assert_eq(kill(ack_agents[1], SIGSTOP), 0);
    coflow_workload_t wl;
    one_flow_job(&wl, 0, 50e3);
    bool dup;
    uint64_t fid = register_job(&cl, &wl, 0, &dup);
    char sending[64], acked[96];
    snprintf(sending, sizeof sending, "flow %llu: sending", (unsigned long long)fid);
    cr_assert(wait_file_has(ack_log[0], sending, 5), "agent 0 never sent flow %llu",
              (unsigned long long)fid);
    cr_assert(!job_done_within(&cl, 0, 1.5), "the job finished while its receiver was stopped");
    cr_assert_eq(coflow_sent(&cl, 0), 0, "the gateway counts bytes agent 1 never read");
    cr_assert_eq(kill(ack_agents[1], SIGCONT), 0);
    cr_assert(job_done_within(&cl, 0, 5), "the job did not finish once its receiver ran");
    snprintf(acked, sizeof acked, "flow %llu: all 50000 bytes sent, acknowledged by agent 1",
             (unsigned long long)fid);
    cr_assert(file_has(ack_log[0], acked), "agent 0 did not log '%s'", acked);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* The line number in the file at path of its first line holding needle
 * (0 if none). */
static int line_number_of(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    char line[512];
    int n = 0, at = 0;
    while (!at && fgets(line, sizeof line, f)) {
        n++;
        if (strstr(line, needle))
            at = n;
    }
    fclose(f);
    return at;
}

/* Two flows from a real agent 0 to a real agent 1 at once, at per-flow
 * fair rates: their bytes interleave on agent 0's one data connection to
 * agent 1, and agent 1's counts of what it read must be credited to each
 * flow in the order its bytes were written. Both jobs finish, and agent 0
 * logs each flow acknowledged at its own size. Credit for one flow's bytes
 * given to the other (capped at what the other sent) would leave the first
 * unfinished for good. */
Test(gateway_agent, flows_sharing_a_data_connection_are_each_credited_their_own_bytes,
     .init = server_fifo_fair, .fini = stop_ack_test, .timeout = 40)
{
    const double size[2] = {30e6, 20e6};
    name_ack_logs();
    ack_agents[1] = spawn_agent_v("1", ack_log[1]);
    ack_agents[0] = spawn_agent_v("0", ack_log[0]);
    rpc_client_t cl;
    client_with_agents(&cl, 2);
    coflow_workload_t wl;
    coflow_workload_init(&wl, 4);
    for (int j = 0; j < 2; j++) {
        coflow_workload_add_job(&wl, j, 0, 1, 0);
        coflow_workload_add_coflow(&wl, 1, 0);
        coflow_workload_add_flow(&wl, 0, 1, size[j]);
        cr_assert_eq(coflow_workload_finish_job(&wl), WEFT_OK);
    }
    bool dup, done[2] = {false, false};
    uint64_t fid[2];
    for (size_t j = 0; j < 2; j++)
        fid[j] = register_job(&cl, &wl, j, &dup);
    for (double until = weft_mono_s() + 20; !(done[0] && done[1]) && weft_mono_s() < until;) {
        const msgpack_object *m;
        int r = rpc_client_wait(&cl, until - weft_mono_s(), &m);
        cr_assert_geq(r, 0, "client connection: %s", weft_last_error());
        char t[32];
        int64_t id;
        if (r == 1 && !strcmp(rpc_msg_type(m, t, sizeof t), "job_done") &&
            rpc_get_int(m, "job", 0, 1, &id) == WEFT_OK)
            done[id] = true;
    }
    cr_assert(done[0] && done[1], "jobs done in 20 s: 0 %s, 1 %s", done[0] ? "yes" : "no",
              done[1] ? "yes" : "no");
    int first_end = 0;
    for (int j = 0; j < 2; j++) {
        char acked[96];
        snprintf(acked, sizeof acked, "flow %llu: all %.0f bytes sent, acknowledged by agent 1",
                 (unsigned long long)fid[j], size[j]);
        int at = line_number_of(ack_log[0], acked);
        cr_assert(at, "agent 0 did not log '%s'", acked);
        first_end = !first_end || at < first_end ? at : first_end;
    }
    for (int j = 0; j < 2; j++) { /* they shared the connection */
        char sending[64];
        snprintf(sending, sizeof sending, "flow %llu: sending", (unsigned long long)fid[j]);
        int at = line_number_of(ack_log[0], sending);
        cr_assert(at && at < first_end, "flow %llu did not start before the first one ended",
                  (unsigned long long)fid[j]);
    }
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* A receiving agent killed mid-flow: agent 1 is stopped before a 24 MB
 * flow to it starts, so whatever agent 0 writes waits unread in socket
 * buffers (megabytes on loopback), and killed (SIGKILL) once agent 0 is
 * sending: those bytes die with it. A new agent 1 takes its port; the job
 * finishes, and the new agent 1 received the whole flow: agent 0 sent
 * again everything the dead one never acknowledged (and says so). Before,
 * agent 0 had counted the buffered bytes as sent, and the new agent 1 got
 * only the rest. */
Test(gateway_agent, bytes_a_dead_receiver_never_read_are_sent_again,
     .init = server_plain, .fini = stop_ack_test, .timeout = 40)
{
    const double size = 24e6;
    name_ack_logs();
    ack_agents[1] = spawn_agent_v("1", ack_log[1]);
    ack_agents[0] = spawn_agent_v("0", ack_log[0]);
    rpc_client_t cl;
    client_with_agents(&cl, 2);
    cr_assert_eq(kill(ack_agents[1], SIGSTOP), 0);
    coflow_workload_t wl;
    one_flow_job(&wl, 0, size);
    bool dup;
    uint64_t fid = register_job(&cl, &wl, 0, &dup);
    char sending[64];
    snprintf(sending, sizeof sending, "flow %llu: sending", (unsigned long long)fid);
    cr_assert(wait_file_has(ack_log[0], sending, 5), "agent 0 never sent flow %llu",
              (unsigned long long)fid);
    cr_assert(!job_done_within(&cl, 0, 0.5), "the job finished while its receiver was stopped");
    cr_assert_eq(kill(ack_agents[1], SIGKILL), 0);
    waitpid(ack_agents[1], NULL, 0);
    ack_agents[1] = spawn_agent_v("1", ack_log[2]);
    cr_assert(job_done_within(&cl, 0, 20), "the job did not finish after agent 1's restart");
    unsigned long long got = bytes_received(&ack_agents[1], ack_log[2]);
    cr_assert_geq((double)got, size, "the new agent 1 received %llu of the flow's %.0f bytes",
                  got, size);
    cr_assert(file_has(ack_log[0], "unacknowledged to send again"),
              "agent 0 did not say it sends the lost bytes again");
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* What the test, as agent 1, writes back on agent 0's data connection. */
typedef struct {
    char name[24];
    unsigned char bytes[32];
    size_t n;
    double acked;      /* of it, a valid acknowledgment of this many bytes */
    char needle[64];   /* in agent 0's log line */
} garbage_t;

ParameterizedTestParameters(gateway_agent, garbage_on_a_data_connection_counts_nothing)
{
    static garbage_t cases[] = {
        {"not a weft agent", "HTTP/1.1 400 Bad Request\r\n\r\n", 28, 0,
         "not a weft agent's acknowledgment"},
        {"a count going back", "weft-a1\n\0\0\0\0\0\0\x03\xe8\0\0\0\0\0\0\x01\xf4", 24, 1000,
         "acknowledged 500 bytes after 1000"},
        /* each count the total so far: 3000 acknowledged, not 1000 + 3000 */
        {"two counts, then back", "weft-a1\n\0\0\0\0\0\0\x03\xe8\0\0\0\0\0\0\x0b\xb8"
         "\0\0\0\0\0\0\x07\xd0", 32, 3000, "acknowledged 2000 bytes after 3000"},
        /* 200001: one past all of the flow, which is all agent 0 wrote */
        {"past what was written", "weft-a1\n\0\0\0\0\0\x03\x0d\x41", 16, 0,
         "acknowledged 200001 bytes of the 200000 written"},
    };
    return cr_make_param_array(garbage_t, cases, sizeof cases / sizeof *cases);
}

/* Reads n bytes of fd into buf within timeout_s; false at an end of stream
 * or an error before. */
static bool read_full(int fd, void *buf, size_t n, double timeout_s)
{
    size_t got = 0;
    double t0 = weft_mono_s();
    while (got < n && weft_mono_s() - t0 < timeout_s) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 10);
        ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return false;
        if (r > 0)
            got += (size_t)r;
    }
    return got == n;
}

/* Accepts agent 0's next data connection on lfd and checks it opens with
 * the acknowledgment's hello. */
static int accept_acked(int lfd)
{
    struct pollfd p = {lfd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 5000), 1, "agent 0 did not connect to the test's data port");
    int fd = accept(lfd, NULL, NULL);
    cr_assert(fd >= 0);
    char hello[8];
    cr_assert(read_full(fd, hello, 8, 5), "agent 0 wrote fewer than 8 bytes");
    cr_assert(!memcmp(hello, "weft-d1\n", 8), "agent 0 did not open its data connection with "
              "the acknowledgment's hello (first bytes %02x %02x ...)", (unsigned char)hello[0],
              (unsigned char)hello[1]);
    return fd;
}

/* The test is agent 1, one that says it acks in version 1 (as an agent
 * from before streams, which a newer one must answer in kind): agent 0 (a
 * real one) sends it a 200 KB flow, which it reads whole, and then writes
 * back garbage:
 * not a weft agent's answer, a count that goes back (after one count or
 * two), or one past what was written. Agent 0 must close the connection,
 * say why in a line naming agent 1 and its address, count no byte the
 * garbage claimed (the gateway holds only the valid acknowledgments'),
 * wait a second, and send on a new connection exactly what was not validly
 * acknowledged; acknowledged properly there, the job finishes. */
ParameterizedTest(garbage_t *g, gateway_agent, garbage_on_a_data_connection_counts_nothing,
                  .init = server_plain, .fini = stop_ack_test, .timeout = 30)
{
    const size_t size = 200000;
    name_ack_logs();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    rpc_client_t me, cl;
    connect_to(&me);
    cr_assert_eq(rpc_client_hello_agent_acks(&me, TOKEN, 1, ntohs(sa.sin_port), 1), WEFT_OK);
    cr_assert_eq(rpc_client_flush(&me), WEFT_OK);
    start_agent0(ack_log[0]);
    client_with_agents(&cl, 2);
    coflow_workload_t wl;
    one_flow_job(&wl, 0, (double)size);
    bool dup;
    register_job(&cl, &wl, 0, &dup);
    int fd = accept_acked(lfd);
    static unsigned char sink[1 << 20];
    cr_assert(read_full(fd, sink, size, 5), "the flow did not arrive whole");
    cr_assert_eq(send(fd, g->bytes, g->n, MSG_NOSIGNAL), (ssize_t)g->n);
    bool closed = false; /* agent 0 closes the connection */
    for (double t0 = weft_mono_s(); !closed && weft_mono_s() - t0 < 5;) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 10);
        ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        closed = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    close(fd);
    cr_assert(closed, "%s: agent 0 kept the connection", g->name);
    /* and waits a second before it connects again: a port that answers
       garbage may be no weft agent at all */
    struct pollfd again = {lfd, POLLIN, 0};
    cr_assert_eq(poll(&again, 1, 300), 0, "%s: agent 0 connected again at once", g->name);
    char line[512], peer[64];
    snprintf(peer, sizeof peer, "data connection to agent 1 at 127.0.0.1:%d: ",
             ntohs(sa.sin_port));
    cr_assert(wait_file_has(ack_log[0], g->needle, 2) &&
              file_line(ack_log[0], g->needle, line, sizeof line),
              "%s: agent 0 did not log '%s'", g->name, g->needle);
    cr_assert(strstr(line, peer), "%s: the line does not name the peer: %s", g->name, line);
    char lost[96];
    snprintf(lost, sizeof lost, "closed, %.0f bytes it took unacknowledged to send again",
             (double)size - g->acked);
    cr_assert(strstr(line, lost), "%s: %s", g->name, line);
    usleep(100 * 1000); /* a report or two */
    cr_assert(!job_done_within(&cl, 0, 0.2), "%s: the job finished on garbage", g->name);
    cr_assert_eq(coflow_sent(&cl, 0), g->acked, "%s: the gateway counts %g bytes", g->name,
                 coflow_sent(&cl, 0));
    /* agent 0 comes back (after 1 s): a receiver that acknowledges */
    fd = accept_acked(lfd);
    cr_assert_eq(send(fd, "weft-a1\n", 8, MSG_NOSIGNAL), 8);
    uint64_t got = 0;
    bool done = false;
    for (double t0 = weft_mono_s(); !done && weft_mono_s() - t0 < 5;) {
        ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r > 0) {
            got += (uint64_t)r;
            unsigned char ack[8];
            for (int k = 0; k < 8; k++)
                ack[k] = (unsigned char)(got >> (56 - 8 * k));
            cr_assert_eq(send(fd, ack, 8, MSG_NOSIGNAL), 8);
        }
        done = job_done_within(&cl, 0, 0.005);
    }
    cr_assert(done, "%s: the job did not finish (%llu bytes on the second connection)", g->name,
              (unsigned long long)got);
    cr_assert_eq((double)got, (double)size - g->acked, "%s: %llu bytes sent again", g->name,
                 (unsigned long long)got);
    close(fd);
    close(lfd);
    rpc_client_destroy(&me);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* A plain TCP connection to 127.0.0.1:port, blocking. */
static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
              "connect to port %d: %s", port, strerror(errno));
    return fd;
}

/* A real agent 1 (ack_agents[1], its log ack_log[1]); returns its data
 * port. */
static int real_agent1(void)
{
    name_ack_logs();
    ack_agents[1] = spawn_agent_v("1", ack_log[1]);
    return agent_data_port(ack_log[1]);
}

/* The receiving side, from a sender's seat: a real agent 1 answers a data
 * connection opened with the acknowledgment's hello with its own, then
 * with counts of the payload it read (the hello not counted), growing to
 * all of it; one that starts with zeros, as an older agent's, gets nothing
 * back, and its bytes are counted all the same. */
Test(gateway_agent, a_receiver_acks_only_senders_that_ask, .init = server_plain,
     .fini = stop_ack_test, .timeout = 30)
{
    enum { N = 100000 };
    int port = real_agent1();
    static unsigned char zeros[N];
    int asks = connect_port(port), plain = connect_port(port);
    cr_assert_eq(send(asks, "weft-d1\n", 8, MSG_NOSIGNAL), 8);
    cr_assert_eq(send(asks, zeros, N, MSG_NOSIGNAL), N);
    cr_assert_eq(send(plain, zeros, N, MSG_NOSIGNAL), N);
    unsigned char b[8];
    cr_assert(read_full(asks, b, 8, 5), "no answer to the hello");
    cr_assert(!memcmp(b, "weft-a1\n", 8), "answered %02x %02x ... to the hello", b[0], b[1]);
    uint64_t last = 0;
    while (last < N) {
        cr_assert(read_full(asks, b, 8, 5), "acknowledged %llu of %d bytes",
                  (unsigned long long)last, N);
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | b[k];
        cr_assert(v > last && v <= N, "count %llu after %llu (of %d)", (unsigned long long)v,
                  (unsigned long long)last, N);
        last = v;
    }
    usleep(300 * 1000);
    cr_assert_lt(recv(plain, b, 1, MSG_DONTWAIT), 0, "a plain sender got bytes back");
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "%s", strerror(errno));
    close(asks);
    close(plain);
    usleep(100 * 1000); /* the agent reads both ends */
    cr_assert_eq(bytes_received(&ack_agents[1], ack_log[1]), 2 * N);
}

/* Opens a version-2 data connection to port: its hello names stream sid
 * and the offset `at` of its first payload byte; then writes n zeros and
 * reads the answer to the hello and the counts until one covers them. */
static void send_on_stream(int port, uint64_t sid, uint64_t at, size_t n)
{
    static unsigned char zeros[1 << 20];
    unsigned char hello[24] = "weft-d2\n", b[8];
    for (int k = 0; k < 8; k++) {
        hello[8 + k] = (unsigned char)(sid >> (56 - 8 * k));
        hello[16 + k] = (unsigned char)(at >> (56 - 8 * k));
    }
    int fd = connect_port(port);
    cr_assert_eq(send(fd, hello, sizeof hello, MSG_NOSIGNAL), (ssize_t)sizeof hello);
    cr_assert(n <= sizeof zeros && send(fd, zeros, n, MSG_NOSIGNAL) == (ssize_t)n);
    cr_assert(read_full(fd, b, 8, 5) && !memcmp(b, "weft-a2\n", 8), "no answer in version 2");
    for (uint64_t v = 0; v < n;) {
        cr_assert(read_full(fd, b, 8, 5), "acknowledged %llu of %zu bytes",
                  (unsigned long long)v, n);
        v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | b[k];
    }
    close(fd);
}

/* A receiver counts each byte of a sender's stream once, whatever the
 * connections that brought it: a second connection of a stream starting
 * half way into what the first brought (what a sender sends again after
 * its acknowledgments were lost) counts only the half past it, and a
 * stream new to it but begun elsewhere (at another agent that had the
 * port) counts from where it starts here. */
Test(gateway_agent, a_receiver_counts_each_byte_of_a_stream_once, .init = server_plain,
     .fini = stop_ack_test, .timeout = 30)
{
    enum { N = 100000 };
    int port = real_agent1();
    send_on_stream(port, 7, 0, N);
    send_on_stream(port, 7, N / 2, N);
    send_on_stream(port, 8, 5 * N, N);
    usleep(100 * 1000); /* the agent reads the ends */
    cr_assert_eq(bytes_received(&ack_agents[1], ack_log[1]), N + N / 2 + N);
}

/* A receiver keeps where at most 2,048 streams reached, the one used
 * least recently forgotten: stream 1's first 1,000 bytes, one byte on each
 * of 2,048 other streams, then stream 1's first 1,000 bytes again, which
 * count again (where it reached was forgotten), and once more, which do
 * not (it is known again). Forgetting the one used most recently, or
 * keeping them all (past the table), or counting a connection into the
 * stream its slot held before, would count 3,048 bytes or fewer. */
Test(gateway_agent, a_receiver_forgets_the_stream_used_least_recently, .init = server_plain,
     .fini = stop_ack_test, .timeout = 60)
{
    int port = real_agent1();
    send_on_stream(port, 1, 0, 1000);
    for (uint64_t sid = 2; sid < 2 + 2048; sid++)
        send_on_stream(port, sid, 0, 1);
    send_on_stream(port, 1, 0, 1000);
    send_on_stream(port, 1, 0, 1000);
    usleep(100 * 1000); /* the agent reads the ends */
    cr_assert_eq(bytes_received(&ack_agents[1], ack_log[1]), 1000 + 2048 + 1000);
}

/* A TCP relay between a sending agent and a receiving one, on a thread of
 * the test: it listens on a port the test announces to the gateway as
 * agent 1's data port, and forwards the connection the sender opens there
 * to the receiver's data port (a real agent's), both ways, one connection
 * at a time (a new one from the sender replaces the last). On the test's
 * command it turns on the connection open then: from then on it throws the
 * receiver's acknowledgments away and forwards `more` bytes of the
 * sender's, then holds (no longer reads the sender: its window shuts, as
 * a machine that takes nothing) or cuts (resets the sender's side, closes
 * the receiver's). */
typedef enum { RELAY_FORWARD, RELAY_HOLD, RELAY_CUT } relay_mode_t;

typedef struct {
    int lfd, port;               /* the relay's listener, on 127.0.0.1 */
    int to_port;                 /* the receiver's data port */
    unsigned long long more;     /* see above */
    pthread_t th;
    atomic_int mode;             /* relay_mode_t, of the connection open now */
    atomic_int stop;
    atomic_int accepted;         /* connections the sender opened */
    atomic_ullong forwarded;     /* bytes sent on to the receiver, all connections */
} relay_t;

static relay_t relay;

/* Writes all of b[n] to the blocking socket fd; false if it broke. */
static bool send_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* Closes the relay's pair (*s the sender's side, reset when `reset`). */
static void relay_close(int *s, int *d, bool reset)
{
    if (*s >= 0 && reset) {
        struct linger lg = {1, 0};
        setsockopt(*s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (*s >= 0)
        close(*s);
    if (*d >= 0)
        close(*d);
    *s = *d = -1;
}

static void *relay_run(void *arg)
{
    relay_t *r = arg;
    int s = -1, d = -1, mode = RELAY_FORWARD;
    unsigned long long budget = 0; /* bytes of the sender's still forwarded once turned */
    static char buf[65536];
    while (!atomic_load(&r->stop)) {
        if (s >= 0 && mode == RELAY_FORWARD && (mode = atomic_load(&r->mode)) != RELAY_FORWARD)
            budget = r->more;
        bool reading = mode == RELAY_FORWARD || budget > 0;
        struct pollfd p[3] = {{r->lfd, POLLIN, 0}, {s, reading ? POLLIN : 0, 0}, {d, POLLIN, 0}};
        poll(p, 3, 10);
        if (p[0].revents & POLLIN) {
            int fd = accept(r->lfd, NULL, NULL);
            if (fd < 0)
                continue;
            relay_close(&s, &d, false);
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(r->to_port),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            s = fd;
            d = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (connect(d, (struct sockaddr *)&sa, sizeof sa))
                relay_close(&s, &d, true);
            atomic_store(&r->mode, mode = RELAY_FORWARD);
            atomic_fetch_add(&r->accepted, 1);
            continue;
        }
        if (s < 0)
            continue;
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && (reading || !(p[1].revents & POLLIN))) {
            ssize_t n = reading ? recv(s, buf, mode == RELAY_FORWARD || budget > sizeof buf
                                                   ? sizeof buf : budget, 0) : -1;
            if (n <= 0 || !send_all(d, buf, (size_t)n)) {
                relay_close(&s, &d, false);
                continue;
            }
            atomic_fetch_add(&r->forwarded, (unsigned long long)n);
            budget -= mode == RELAY_FORWARD ? 0 : (unsigned long long)n;
            if (mode == RELAY_CUT && !budget)
                relay_close(&s, &d, true);
        }
        if (d >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv(d, buf, sizeof buf, 0); /* acknowledgments */
            if (n <= 0 || (mode == RELAY_FORWARD && !send_all(s, buf, (size_t)n)))
                relay_close(&s, &d, false);
        }
    }
    relay_close(&s, &d, false);
    return NULL;
}

static void relay_up(relay_t *r, unsigned long long more)
{
    memset(r, 0, sizeof *r);
    r->more = more;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(r->lfd >= 0 && !bind(r->lfd, (struct sockaddr *)&sa, sizeof sa) &&
              !listen(r->lfd, 4) && !getsockname(r->lfd, (struct sockaddr *)&sa, &len));
    r->port = ntohs(sa.sin_port);
}

static void relay_start(relay_t *r, int to_port)
{
    r->to_port = to_port;
    cr_assert_eq(pthread_create(&r->th, NULL, relay_run, r), 0);
}

static void relay_down(relay_t *r)
{
    if (r->th) {
        atomic_store(&r->stop, 1);
        pthread_join(r->th, NULL);
    }
    if (r->lfd > 0)
        close(r->lfd);
    memset(r, 0, sizeof *r);
}

static rpc_client_t relay_me; /* the test as agent 1, announcing the relay's port */

static void stop_relay_test(void)
{
    relay_down(&relay);
    rpc_client_destroy(&relay_me);
    stop_ack_test();
}

static void server_20mb(void) { start_server("--port-rate", "20MB/s"); }

/* A flow of `size` bytes from a real agent 0 (--data-timeout `timeout`, or
 * the default if NULL) through the relay to a real agent 2 that speaks for
 * port 1 behind it; returns once the relay has forwarded `first` bytes of
 * it, with cl a client on the gateway. The flow's id in *fid. */
static void relayed_flow(rpc_client_t *cl, coflow_workload_t *wl, double size, double first,
                         unsigned long long more, const char *timeout, uint64_t *fid)
{
    name_ack_logs();
    relay_up(&relay, more);
    rpc_client_init(&relay_me);
    connect_to(&relay_me);
    cr_assert_eq(rpc_client_hello_agent_acks(&relay_me, TOKEN, 1, relay.port, RPC_DATA_ACKS),
                 WEFT_OK);
    cr_assert_eq(rpc_client_flush(&relay_me), WEFT_OK);
    ack_agents[1] = spawn_agent_v("2", ack_log[1]);
    relay_start(&relay, agent_data_port(ack_log[1]));
    ack_agents[0] = spawn_agent_opt("0", ack_log[0], timeout ? "--data-timeout" : NULL, timeout);
    client_with_agents(cl, 3);
    one_flow_job(wl, 0, size);
    bool dup;
    *fid = register_job(cl, wl, 0, &dup);
    for (double t0 = weft_mono_s(); atomic_load(&relay.forwarded) < first; usleep(1000))
        cr_assert_lt(weft_mono_s() - t0, 10, "the relay forwarded %llu bytes in 10 s",
                     (unsigned long long)atomic_load(&relay.forwarded));
}

/* A receiver's machine that takes nothing more (the relay holds: the
 * sender's window shuts, acknowledgments stop) must not hold the flow for
 * the 15 minutes of Linux's tcp_retries2 or for good: agent 0, given
 * --data-timeout 2, closes the connection between 1.5 and 20 s later,
 * saying why and how many bytes it sends again, and opens a new one, on
 * which the job finishes. Before, agent 0 kept writing into the held
 * connection, and the job never finished. */
Test(gateway_agent, a_receiver_that_takes_nothing_is_let_go_at_the_data_timeout,
     .init = server_20mb, .fini = stop_relay_test, .timeout = 30)
{
    rpc_client_t cl;
    coflow_workload_t wl;
    uint64_t fid;
    relayed_flow(&cl, &wl, 40e6, 2e6, 0, "2", &fid);
    atomic_store(&relay.mode, RELAY_HOLD);
    double t0 = weft_mono_s();
    const char *why = "its machine acknowledged nothing for 2 s (Connection timed out)";
    cr_assert(wait_file_has(ack_log[0], why, 20), "agent 0 did not let the connection go in 20 "
              "s (no '%s' in its log)", why);
    double dt = weft_mono_s() - t0;
    cr_assert_geq(dt, 1.5, "agent 0 let the connection go %.2f s after the hold", dt);
    char line[512], lost[160];
    file_line(ack_log[0], why, line, sizeof line);
    snprintf(lost, sizeof lost, "agent 1 at 127.0.0.1:%d: %s; closed, ", relay.port, why);
    double again = 0;
    cr_assert(strstr(line, lost) && sscanf(strstr(line, lost) + strlen(lost), "%lf", &again) == 1
              && again > 0, "%s", line);
    cr_assert(job_done_within(&cl, 0, 15), "the job did not finish on a new connection");
    cr_assert_geq(atomic_load(&relay.accepted), 2, "agent 0 opened no new connection");
    cr_log_info("let go %.2f s after the hold, %.0f bytes to send again", dt, again);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}

/* Bytes a sender sends again after a broken connection are received once:
 * the relay throws away the receiver's acknowledgments of 4 MB it
 * forwards, then cuts the connection, so agent 0 sends those 4 MB again
 * (to the same agent 2) on its next one. Agent 2's count of bytes
 * received, at its stop, must be the flow's size. Before, it counted the
 * 4 MB and more twice. */
Test(gateway_agent, bytes_sent_again_are_received_once, .init = server_20mb,
     .fini = stop_relay_test, .timeout = 30)
{
    const double size = 20e6;
    rpc_client_t cl;
    coflow_workload_t wl;
    uint64_t fid;
    relayed_flow(&cl, &wl, size, 2e6, 4000000, NULL, &fid);
    atomic_store(&relay.mode, RELAY_CUT);
    cr_assert(job_done_within(&cl, 0, 20), "the job did not finish after the cut");
    cr_assert(file_has(ack_log[0], "unacknowledged to send again"),
              "agent 0 did not say it sends the lost bytes again");
    cr_assert_geq(atomic_load(&relay.accepted), 2, "agent 0 opened no new connection");
    unsigned long long got = bytes_received(&ack_agents[1], ack_log[1]);
    cr_assert_eq((double)got, size, "agent 2 received %llu bytes of a flow of %.0f (%llu "
                 "forwarded)", got, size, (unsigned long long)atomic_load(&relay.forwarded));
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
}
