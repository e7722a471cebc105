/*
 * gateway_support.h - what the gateway's test files (test_gateway.c,
 * test_gateway_agent.c, test_gateway_serve.c) share: a real `weft serve`
 * on a loopback port ($WEFT_BIN, one a test) and the clients that talk to
 * it, `weft agent` and other `weft` runs as child processes, frames written
 * by hand, and small file helpers. Static functions: included by the test
 * files that need them, one copy each, marked unused for the files that
 * do not call them all.
 */
#ifndef WEFT_TESTS_GATEWAY_SUPPORT_H
#define WEFT_TESTS_GATEWAY_SUPPORT_H

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coflow/learned.h"
#include "rpc/client.h"
#include "rpc/gateway.h"
#include "tests/tied_child.h"

#define TOKEN "hostile-test-token"

/* ---------------------------------------------------- a real weft serve */

static pid_t server_pid;
static int server_port;
static char port_file[64];
static const char *server_stderr; /* a file for the next server's stderr; NULL: the test's */
static const char *server_stdout; /* and for its stdout; NULL: /dev/null */
static bool server_std_closed;    /* the next server starts with fds 1 and 2 closed */

/* Starts `weft serve` on 4 ports with the extra arguments extra[] (up to
 * the first NULL, at most 12). */
__attribute__((unused))
static void start_server_args(const char *const *extra)
{
    const char *bin = getenv("WEFT_BIN");
    cr_assert(bin, "WEFT_BIN is not set (run through ctest)");
    snprintf(port_file, sizeof port_file, "/tmp/weft-gw-test-%d.port", (int)getpid());
    unlink(port_file);
    server_pid = fork_tied(SIGTERM); /* stops as by hand if the test dies first */
    cr_assert(server_pid >= 0);
    if (server_pid == 0) {
        dup2(server_stdout ? open(server_stdout, O_WRONLY | O_CREAT | O_TRUNC, 0600)
                           : open("/dev/null", O_WRONLY), 1);
        /* stderr stays: sanitizer reports reach the test log */
        if (server_stderr)
            dup2(open(server_stderr, O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
        if (server_std_closed)
            close(1), close(2);
        const char *argv[32] = {bin, "serve", "--listen", "127.0.0.1:0", "--ports", "4",
                                "--token", TOKEN, "--port-file", port_file, "--hello-timeout",
                                "1"};
        for (int i = 0; i < 12 && extra[i]; i++)
            argv[12 + i] = extra[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", &server_port);
            fclose(f);
            if (ok == 1 && server_port > 0)
                return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("weft serve did not start");
}

__attribute__((unused))
static void start_server4(const char *extra1, const char *extra2, const char *extra3,
                          const char *extra4)
{
    const char *extra[] = {extra1, extra2, extra3, extra4, NULL};
    start_server_args(extra);
}

__attribute__((unused))
static void start_server(const char *extra1, const char *extra2)
{
    start_server4(extra1, extra2, NULL, NULL);
}

__attribute__((unused))
static void stop_server(void)
{
    unlink(port_file);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        int st = 0;
        waitpid(server_pid, &st, 0);
        server_pid = 0;
        /* it survived everything and stopped cleanly on SIGTERM */
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "weft serve did not exit cleanly (status %#x)", st);
    }
}

__attribute__((unused))
static void server_default(void) { start_server(NULL, NULL); }

/* ---------------------------------------------------------- its clients */

__attribute__((unused))
static void connect_to(rpc_client_t *c)
{
    rpc_client_init(c);
    cr_assert_eq(rpc_client_connect(c, "127.0.0.1", server_port, 2.0), WEFT_OK, "%s",
                 weft_last_error());
}

/* The next frame that is not an unsolicited push (peers, schedule),
 * within timeout_s of silence. */
__attribute__((unused))
static int wait_msg_for(rpc_client_t *c, const msgpack_object **m, double timeout_s)
{
    for (;;) {
        int r = rpc_client_wait(c, timeout_s, m);
        char type[32];
        if (r != 1 || (strcmp(rpc_msg_type(*m, type, sizeof type), "peers") &&
                       strcmp(type, "schedule")))
            return r;
    }
}

__attribute__((unused))
static int wait_msg(rpc_client_t *c, const msgpack_object **m)
{
    return wait_msg_for(c, m, 5.0);
}

/* The next message of this type on c, others skipped. */
__attribute__((unused))
static const msgpack_object *wait_type(rpc_client_t *c, const char *type)
{
    for (;;) {
        const msgpack_object *m;
        cr_assert_eq(wait_msg(c, &m), 1, "no '%s': %s", type, weft_last_error());
        char t[32];
        if (!strcmp(rpc_msg_type(m, t, sizeof t), type))
            return m;
    }
}

/* Waits for the next frame and checks it is an error with this code whose
 * message contains `needle`. */
__attribute__((unused))
static void expect_error(rpc_client_t *c, const char *code, const char *needle)
{
    const msgpack_object *m;
    int r = wait_msg(c, &m);
    cr_assert_eq(r, 1, "no frame (r=%d: %s)", r, weft_last_error());
    char type[32];
    cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "error");
    const char *s;
    size_t n;
    cr_assert_eq(rpc_get_str(m, "code", &s, &n), WEFT_OK);
    cr_assert(n == strlen(code) && !memcmp(s, code, n), "code '%.*s', expected '%s'", (int)n,
              s, code);
    cr_assert_eq(rpc_get_str(m, "message", &s, &n), WEFT_OK);
    char msg[600];
    snprintf(msg, sizeof msg, "%.*s", (int)n, s);
    cr_assert(strstr(msg, needle), "message '%s' lacks '%s'", msg, needle);
}

/* Says hello as a client and takes the welcome; returns its epoch. */
__attribute__((unused))
static int64_t hello_client(rpc_client_t *c)
{
    cr_assert_eq(rpc_client_hello_client(c, TOKEN), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(c, &m), 1, "%s", weft_last_error());
    char type[32];
    cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "welcome");
    int64_t epoch;
    cr_assert_eq(rpc_get_int(m, "epoch", 1, INT64_MAX, &epoch), WEFT_OK, "%s",
                 weft_last_error());
    return epoch;
}

__attribute__((unused))
static void expect_pong(rpc_client_t *c, int64_t seq)
{
    cr_assert_eq(rpc_client_ping(c, seq), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(c, &m), 1, "%s", weft_last_error());
    char type[32];
    cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "pong");
    int64_t got;
    cr_assert_eq(rpc_get_int(m, "seq", 0, INT64_MAX, &got), WEFT_OK);
    cr_assert_eq(got, seq);
}

/* A fresh, well-behaved client is served. */
__attribute__((unused))
static void still_serving(void)
{
    rpc_client_t c;
    connect_to(&c);
    hello_client(&c);
    expect_pong(&c, 77);
    rpc_client_destroy(&c);
}

/* Says hello as agent 0 (data port 9, never used) and takes the welcome. */
__attribute__((unused))
static void hello_agent0(rpc_client_t *c)
{
    cr_assert_eq(rpc_client_hello_agent(c, TOKEN, 0, 9), WEFT_OK);
    const msgpack_object *m;
    cr_assert_eq(wait_msg(c, &m), 1, "%s", weft_last_error());
    char type[32];
    cr_assert_str_eq(rpc_msg_type(m, type, sizeof type), "welcome");
}

/* Registers job j of wl and returns its first flow id and whether the
 * gateway called it a duplicate. */
__attribute__((unused))
static uint64_t register_job(rpc_client_t *c, const coflow_workload_t *wl, size_t j, bool *dup)
{
    cr_assert_eq(rpc_client_register(c, (int64_t)j, wl, j), WEFT_OK);
    const msgpack_object *m = wait_type(c, "ack");
    int64_t first;
    cr_assert_eq(rpc_get_int(m, "first_flow", 0, INT64_MAX, &first), WEFT_OK);
    const msgpack_object *d = rpc_map_get(m, "dup");
    *dup = d && d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean;
    return (uint64_t)first;
}

/* job_status of job id on c: the answer (its frame valid until the next
 * wait on c), after checking its seq and job. */
__attribute__((unused))
static const msgpack_object *job_status_of(rpc_client_t *c, int64_t id)
{
    cr_assert_eq(rpc_client_job_status(c, 11, id), WEFT_OK);
    const msgpack_object *m = wait_type(c, "job_status");
    int64_t seq, job;
    cr_assert(rpc_get_int(m, "seq", INT64_MIN, INT64_MAX, &seq) == WEFT_OK && seq == 11);
    cr_assert(rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &job) == WEFT_OK && job == id);
    return m;
}

/* Coflow k of a job_status answer: its state into state[16], and its
 * flows_done, sent, rate and the first parent it waits on (-1: none). */
__attribute__((unused))
static void coflow_row(const msgpack_object *m, uint32_t k, char state[16], double v[4])
{
    const msgpack_object_array *cs;
    cr_assert_eq(rpc_get_array(m, "coflows", &cs), WEFT_OK);
    cr_assert_lt(k, cs->size);
    const msgpack_object *c = &cs->ptr[k];
    const char *s;
    size_t n;
    int64_t done;
    const msgpack_object_array *w;
    cr_assert(rpc_get_str(c, "state", &s, &n) == WEFT_OK && n < 16);
    memcpy(state, s, n);
    state[n] = 0;
    cr_assert(rpc_get_int(c, "flows_done", 0, 100, &done) == WEFT_OK &&
              rpc_get_num_opt(c, "sent", 0, 1e300, &v[1]) == WEFT_OK &&
              rpc_get_num_opt(c, "rate", 0, 1e300, &v[2]) == WEFT_OK &&
              rpc_get_array(c, "waits_on", &w) == WEFT_OK);
    v[0] = (double)done;
    int64_t p = -1;
    if (w->size)
        cr_assert(rpc_obj_int(&w->ptr[0], &p));
    v[3] = (double)p;
}

typedef struct {
    int64_t job;       /* the job_done awaited */
    bool seen, cancelled;
} done_watch_t;

__attribute__((unused))
static void watch_done(const msgpack_object *m, void *arg)
{
    done_watch_t *w = arg;
    char type[32];
    int64_t id;
    if (strcmp(rpc_msg_type(m, type, sizeof type), "job_done") ||
        rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &id) || id != w->job)
        return;
    const msgpack_object *c = rpc_map_get(m, "cancelled");
    w->seen = true;
    w->cancelled = c && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean;
}

/* ---------------------------------------------------------------- files */

__attribute__((unused))
static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Waits up to timeout_s for a line of the file at path holding needle. */
__attribute__((unused))
static bool wait_file_has(const char *path, const char *needle, double timeout_s)
{
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < timeout_s; usleep(10 * 1000))
        if (file_has(path, needle))
            return true;
    return false;
}

/* The line of the file at path that contains needle, into line[n]. */
__attribute__((unused))
static bool file_line(const char *path, const char *needle, char *line, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool found = false;
    while (!found && fgets(line, (int)n, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Copies the file at from over the file at to. */
__attribute__((unused))
static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out, "copy %s to %s", from, to);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

__attribute__((unused))
static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

__attribute__((unused))
static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

__attribute__((unused))
static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* The whole file at path into buf[n]; returns its size. */
__attribute__((unused))
static size_t read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got;
}

/* Waits (10 s at most) until the file at path holds want at least n times;
 * returns its text in buf[size]. */
__attribute__((unused))
static void wait_in_file(const char *path, const char *want, int n, char *buf, size_t size)
{
    int seen = 0;
    for (double t0 = weft_mono_s(); weft_mono_s() - t0 < 10; usleep(20000)) {
        buf[read_file(path, buf, size - 1)] = 0;
        seen = 0;
        for (const char *p = buf; (p = strstr(p, want)); p++)
            seen++;
        if (seen >= n)
            return;
    }
    cr_assert_fail("%s: '%s' %d times of %d: %s", path, want, seen, n, buf);
}

/* Writes to path a random model (seed) whose encoder has width D: of
 * another shape than the shipped model (D = 16) when D differs, so an
 * ordering still holding caches made for the old model would misbehave. */
__attribute__((unused))
static void save_model_of_width(const char *path, size_t D, uint64_t seed)
{
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, seed), WEFT_OK);
    gnn_params_destroy(&m.gp);
    attn_params_destroy(&m.ap);
    m.gcfg.D = D;
    m.acfg.E = gnn_out_dim(&m.gcfg);
    cr_assert_eq(gnn_params_init(&m.gp, &m.gcfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&m.ap, &m.acfg), WEFT_OK);
    gnn_params_init_random(&m.gp, &m.gcfg, seed);
    attn_params_init_random(&m.ap, &m.acfg, seed + 1);
    cr_assert_eq(coflow_learned_model_save(&m, path), WEFT_OK, "%s", weft_last_error());
    coflow_learned_model_destroy(&m);
}

/* ------------------------------------------------- other weft processes */

static pid_t agent_pid;

/* Ends the child *pid if there is one (woken first: a test may have failed
 * while it was stopped) and forgets it. */
__attribute__((unused))
static void end_child(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGCONT);
    kill(*pid, SIGTERM);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

/* Also when an assertion ended the test early: no agent outlives it. */
__attribute__((unused))
static void stop_agent_and_server(void)
{
    end_child(&agent_pid);
    stop_server();
}

/* Starts a real `weft agent --id 0` on the test's gateway, with the option
 * opt and its value val unless opt is NULL; with log_path, verbose, its
 * stderr going there. */
__attribute__((unused))
static void start_agent0_opt(const char *log_path, const char *opt, const char *val)
{
    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    agent_pid = fork_tied(SIGKILL); /* SIGKILL: a test may have stopped it */
    cr_assert(agent_pid >= 0);
    if (agent_pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 2);
        }
        const char *bin = getenv("WEFT_BIN");
        const char *argv[12] = {bin, "agent", "--id", "0", "--gateway", gw, "--token", TOKEN};
        size_t n = 8;
        if (opt)
            argv[n++] = opt, argv[n++] = val;
        if (log_path)
            argv[n++] = "-v";
        execv(bin, (char *const *)argv);
        _exit(127);
    }
}

__attribute__((unused))
static void start_agent0(const char *log_path)
{
    start_agent0_opt(log_path, NULL, NULL);
}

__attribute__((unused))
/* The bytes a stopped agent's log says it received (its last line, written
 * once it stopped: SIGTERM). */
static unsigned long long bytes_received(pid_t *pid, const char *log)
{
    cr_assert_eq(kill(*pid, SIGTERM), 0);
    waitpid(*pid, NULL, 0);
    *pid = 0;
    char line[512];
    unsigned long long n = 0;
    cr_assert(file_line(log, "stopping: ", line, sizeof line), "no 'stopping' in %s", log);
    cr_assert_eq(sscanf(strstr(line, "stopping: "), "stopping: %llu bytes received", &n), 1,
                 "%s", line);
    return n;
}

__attribute__((unused))
/* The data port a real agent's verbose log (at path log) says it has. */
static int agent_data_port(const char *log)
{
    char line[512];
    int port = 0;
    cr_assert(wait_file_has(log, "data port ", 5) && file_line(log, "data port ", line, sizeof line)
              && sscanf(strstr(line, "data port "), "data port %d", &port) == 1,
              "no data port in %s", log);
    return port;
}

/* Runs $WEFT_BIN with args (NULL-terminated), its stdout and stderr into
 * out[n]; returns its exit status (-1 if it did not exit). A run that has
 * not ended after 20 s (a gateway that started, a client that retries) is
 * killed, so that a failing test leaves no process behind. */
__attribute__((unused))
static int run_weft(char *out, size_t n, const char *const *args)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-run-test-%d.out", (int)getpid());
    const char *bin = getenv("WEFT_BIN");
    cr_assert(bin, "WEFT_BIN is not set (run through ctest)");
    pid_t pid = fork_tied(SIGTERM);
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        alarm(20);
        const char *argv[24] = {bin};
        for (int i = 0; i < 22 && args[i]; i++)
            argv[i + 1] = args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    size_t got = fread(out, 1, n - 1, f);
    out[got] = 0;
    fclose(f);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs `weft cancel ID --gateway (the test's) --token`, its stdout and
 * stderr into out[n]; returns its exit status. */
__attribute__((unused))
static int run_cancel(const char *id, char *out, size_t n)
{
    char gw[32];
    snprintf(gw, sizeof gw, "127.0.0.1:%d", server_port);
    const char *args[] = {"cancel", id, "--gateway", gw, "--token", TOKEN, NULL};
    return run_weft(out, n, args);
}

/* Starts `weft` with args[] (NULL-ended) in the background as agent_pid
 * (stop_agent_and_server ends it if a check fails), its stdout and stderr
 * in log, made first so that waits on it find a file. */
__attribute__((unused))
static void spawn_weft_logged(const char *log, const char *const *args)
{
    write_text(log, "");
    agent_pid = fork_tied(SIGTERM);
    cr_assert(agent_pid >= 0);
    if (agent_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *bin = getenv("WEFT_BIN");
        const char *argv[16] = {bin};
        for (int i = 0; i < 14 && args[i]; i++)
            argv[i + 1] = args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
}

/* ----------------------------------------------- frames written by hand */

__attribute__((unused))
static uint32_t frame_length(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends the frame {"type": "blob", "seq": seq, "pad": <n bytes>} to sb
 * (payload cap `cap`, 0: the default). Asserts nothing: a writer thread
 * calls it too. */
__attribute__((unused))
static weft_err_t pack_blob(msgpack_sbuffer *sb, int seq, const char *pad, size_t n, size_t cap)
{
    size_t mark;
    rpc_frame_begin(sb, &mark);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "blob");
    rpc_pack_cstr(&pk, "seq"), msgpack_pack_int(&pk, seq);
    rpc_pack_cstr(&pk, "pad"), msgpack_pack_bin(&pk, n);
    msgpack_pack_bin_body(&pk, pad, n);
    return rpc_frame_end(sb, mark, cap);
}

/* Frames a message {"type": type, ...} with the key-value pairs packed by
 * body (given the packer) and writes it to fd. */
__attribute__((unused))
static void send_raw_message(int fd, const char *type, size_t n_more,
                             void (*body)(msgpack_packer *, const void *), const void *arg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t mark;
    cr_assert_eq(rpc_frame_begin(&sb, &mark), WEFT_OK);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1 + n_more);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, type);
    body(&pk, arg);
    cr_assert_eq(rpc_frame_end(&sb, mark, 0), WEFT_OK);
    cr_assert_eq(write(fd, sb.data, sb.size), (ssize_t)sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* The gateway's end of a new socketpair, adopted; returns the peer's end. */
__attribute__((unused))
static int adopted_peer(rpc_gateway_t *gw)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    cr_assert_eq(rpc_gateway_adopt(gw, sv[1], "test"), WEFT_OK, "%s", weft_last_error());
    return sv[0];
}

/* -------------------------------------------- metrics and status tables */

/* GET request (the whole request text) to 127.0.0.1:port; the answer,
 * headers and body, into buf[n]. */
__attribute__((unused))
static void http_get(int port, const char *request, char *buf, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
    cr_assert_eq(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    size_t got = 0;
    for (ssize_t r; got < n - 1 && (r = recv(fd, buf + got, n - 1 - got, 0)) > 0;)
        got += (size_t)r;
    buf[got] = 0;
    close(fd);
}

/* The port of the test's gateway's --metrics listener, read by the test. */
__attribute__((unused)) static int metrics_port;

/* The number on the table line that begins with label ("  jobs held  1"). */
__attribute__((unused))
static long long table_value(const char *out, const char *label)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\n  %s ", label);
    const char *at = strstr(out, needle);
    cr_assert(at, "no line '%s' in:\n%s", label, out);
    long long v;
    cr_assert_eq(sscanf(at + strlen(needle), "%lld", &v), 1, "line '%s': %s", label, out);
    return v;
}

#endif
