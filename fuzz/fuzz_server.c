/*
 * fuzz_server.c - libFuzzer target for the gateway's message handlers
 * (rpc/server.c): a real gateway, its peers on socketpairs it adopts
 * (rpc_gateway_adopt) and speaking through the client library, driven by
 * the input, the loop run by rpc_gateway_poll between operations.
 *
 * Input: byte 0 sets the gateway up (policy; one secret or one per role,
 * or one per port for the agents; a journal or not; a frame cap of 1 MiB
 * or 4 KiB; a budget of 64 frames or 2; room for 16 connections or 2).
 * Then one operation per byte, its arguments in the bytes after it, on one
 * of 4 peer slots:
 *   connect a slot; close it; hello as an agent (a port, or one past the
 *   last) or as a client, with the right secret or not; register a job (a
 *   new id or one used before; no compute times, so that nothing waits on
 *   the clock and an input replays the same way); progress and
 *   done reports about flow ids acknowledged (or just past them), with
 *   byte counts that may be negative, NaN or past the flow's size; watch,
 *   cancel, status, job_status, ping; a message of a known or unknown
 *   type whose fields are of any msgpack type; raw bytes (garbage frames,
 *   half frames); a new agent secrets file (each port's secret kept,
 *   changed, dropped, given, or another port's; or garbage) and SIGHUP's
 *   reload of it; running the loop and reading every slot's replies.
 * Checks:
 *   - every frame the gateway sends decodes with the client library's
 *     decoder (the gateway's own) under the cap it announced, and is a
 *     map with a string "type";
 *   - no peer makes the gateway stop (rpc_gateway_poll stays WEFT_OK);
 *   - once every peer has closed, the gateway holds no connection;
 *   - with a journal: a gateway started from it holds every job whose
 *     registration was acknowledged, and the same counts of jobs, finished
 *     jobs and unfinished flows as the gateway that wrote it (nothing that
 *     was accepted is lost, nothing is made up).
 * Sanitizers catch the rest (and leaks at the end of each input). With
 * FUZZ_SERVER_LOG set, the gateway logs what it does to stderr, and every
 * frame a peer receives is printed there.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coflow/coflow.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_rpc.h"
#include "rpc/client.h"
#include "rpc/gateway.h"

#define PORTS 4
#define SLOTS 4
#define MAX_JOBS 32
#define AGENT_TOKEN "fuzz-agent-secret"
#define CLIENT_TOKEN "fuzz-client-secret"

typedef struct {
    rpc_client_t cl;
    bool open;
} slot_t;

typedef struct {
    int64_t id;
    size_t n_flows;
    bool acked;       /* an ack for this id came back */
    uint64_t first;   /* its first flow id, from the ack */
} job_t;

static struct {
    rpc_gateway_t *gw;
    slot_t slot[SLOTS];
    job_t jobs[MAX_JOBS]; /* registrations sent; seq = index */
    size_t n_jobs;
    const char *client_token; /* the gateway's: its own, or the agents' */
    bool by_port;             /* the agents have a secret per port: */
    char secret[PORTS][32];   /* each port's now ("": none), as in */
    char secrets_file[96];    /* the file rpc_gateway_reload_port_secrets reads */
    char dir[64];         /* the journal's directory, made at init */
    char journal[96];
} F;

static const char *const types[] = {"hello",  "register",   "progress", "done",   "watch",
                                    "cancel", "job_status", "status",   "ping",   "welcome",
                                    "",       "schedule"};
static const char *const keys[] = {"type", "v",    "token", "role", "id",  "port",
                                   "seq",  "job",  "flows", "jobs", "sent", "coflows"};
#define N_TYPES (sizeof types / sizeof *types)
#define N_KEYS (sizeof keys / sizeof *keys)

/* Empties the journal's directory (the journal, a rewrite's leftovers, a
 * torn tail kept aside). */
static void clear_dir(void)
{
    DIR *d = opendir(F.dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", F.dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void remove_dir(void)
{
    clear_dir();
    rmdir(F.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(F.dir, sizeof F.dir, "%s/weft-fuzz-server-XXXXXX", base);
    if (!mkdtemp(F.dir))
        fuzz_die("cannot make the journal's directory", strerror(errno));
    snprintf(F.journal, sizeof F.journal, "%s/journal", F.dir);
    snprintf(F.secrets_file, sizeof F.secrets_file, "%s/secrets", F.dir);
    atexit(remove_dir);
    return 0;
}

/* A msgpack value of any type from the input (arrays and maps nest at most
 * `depth` deep). */
static void pack_any(msgpack_packer *pk, fuzz_input_t *in, int depth)
{
    unsigned b = fuzz_next(in);
    switch (b % 12) {
    case 0: msgpack_pack_nil(pk); break;
    case 1: b & 16 ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case 2: msgpack_pack_uint64(pk, fuzz_next(in)); break;
    case 3: msgpack_pack_uint64(pk, UINT64_MAX - fuzz_next(in)); break;
    case 4: msgpack_pack_int64(pk, -1 - (int64_t)fuzz_next(in)); break;
    case 5: msgpack_pack_int64(pk, INT64_MIN + fuzz_next(in)); break;
    case 6: {
        static const double d[] = {0.5, -1, 1e300, -0.0, NAN, INFINITY, -INFINITY, 4e9};
        msgpack_pack_double(pk, d[fuzz_next(in) % 8]);
        break;
    }
    case 7: {
        const char *s = fuzz_next(in) % 2 ? types[fuzz_next(in) % N_TYPES]
                                          : keys[fuzz_next(in) % N_KEYS];
        rpc_pack_cstr(pk, s);
        break;
    }
    case 8: {
        unsigned n = fuzz_next(in) % 8;
        msgpack_pack_bin(pk, n);
        uint8_t buf[8] = {0};
        msgpack_pack_bin_body(pk, buf, n);
        break;
    }
    case 9:
    case 10: {
        unsigned n = depth > 0 ? fuzz_next(in) % 4 : 0;
        msgpack_pack_array(pk, n);
        for (unsigned i = 0; i < n; i++)
            pack_any(pk, in, depth - 1);
        break;
    }
    default: {
        unsigned n = depth > 0 ? fuzz_next(in) % 3 : 0;
        msgpack_pack_map(pk, n);
        for (unsigned i = 0; i < n; i++) {
            rpc_pack_cstr(pk, keys[fuzz_next(in) % N_KEYS]);
            pack_any(pk, in, depth - 1);
        }
        break;
    }
    }
}

/* A frame of a known (or unknown) type whose other fields hold anything. */
static void send_hostile(rpc_client_t *cl, fuzz_input_t *in)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t mark;
    if (rpc_frame_begin(&sb, &mark) != WEFT_OK)
        fuzz_die("rpc_frame_begin", weft_last_error());
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    unsigned n = fuzz_next(in) % 5;
    msgpack_pack_map(&pk, n + 1);
    rpc_pack_cstr(&pk, "type");
    rpc_pack_cstr(&pk, types[fuzz_next(in) % N_TYPES]);
    for (unsigned i = 0; i < n; i++) {
        rpc_pack_cstr(&pk, keys[fuzz_next(in) % N_KEYS]);
        pack_any(&pk, in, 2);
    }
    if (rpc_frame_end(&sb, mark, (size_t)1 << 30) == WEFT_OK)
        msgpack_sbuffer_write(&cl->out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* A new peer in slot s: one end of a socketpair for the client library,
 * the other adopted by the gateway as if accepted. */
static void slot_connect(slot_t *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        fuzz_die("socketpair", strerror(errno));
    rpc_client_init(&s->cl);
    s->cl.fd = sv[0];
    s->open = true;
    if (rpc_gateway_adopt(F.gw, sv[1], "fuzz") != WEFT_OK)
        fuzz_die("a socketpair end was not adopted", weft_last_error());
}

static void slot_close(slot_t *s)
{
    if (s->open)
        rpc_client_destroy(&s->cl);
    s->open = false;
}

/* An ack of a registration (seq = its index in F.jobs): every
 * registration of that job id learns its first flow id. */
static void take_ack(const msgpack_object *m)
{
    int64_t seq, id;
    const msgpack_object *first = rpc_map_get(m, "first_flow");
    if (rpc_get_int(m, "seq", 0, (int64_t)F.n_jobs - 1, &seq) != WEFT_OK ||
        rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &id) != WEFT_OK || id != F.jobs[seq].id ||
        !first || first->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return; /* another ack (of a done report or a cancel) */
    for (size_t k = 0; k < F.n_jobs; k++)
        if (F.jobs[k].id == id && !F.jobs[k].acked) {
            F.jobs[k].acked = true;
            F.jobs[k].first = first->via.u64;
        }
}

/* What the gateway sent to slot s: each frame must decode and name its
 * type; acks tell the flow ids of the jobs registered. */
static void drain(slot_t *s)
{
    if (!s->open)
        return;
    (void)rpc_client_flush(&s->cl);
    weft_err_t rerr = rpc_client_read(&s->cl); /* EIO once the gateway closed */
    const msgpack_object *m;
    int r;
    while ((r = rpc_client_next(&s->cl, &m)) == 1) {
        const char *type = "";
        size_t nt = 0;
        if (m->type != MSGPACK_OBJECT_MAP || rpc_get_str(m, "type", &type, &nt) != WEFT_OK)
            fuzz_die("the gateway sent a frame that is not a map with a string type", NULL);
        if (getenv("FUZZ_SERVER_LOG")) {
            fprintf(stderr, "slot %d got ", (int)(s - F.slot));
            msgpack_object_print(stderr, *m);
            fputc('\n', stderr);
        }
        if (nt == 7 && !memcmp(type, "welcome", 7)) {
            rpc_client_welcome(&s->cl, m);
        } else if (nt == 3 && !memcmp(type, "ack", 3)) {
            take_ack(m);
        }
    }
    if (r < 0 || rerr == WEFT_EPROTO) {
        char d[256];
        snprintf(d, sizeof d, "%s", r < 0 ? s->cl.dec.errmsg : weft_last_error());
        fuzz_die("the gateway sent a frame its client cannot decode", d);
    }
    if (rerr) /* the gateway closed the connection */
        slot_close(s);
}

static void pump(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        for (size_t k = 0; k < SLOTS; k++)
            if (F.slot[k].open)
                (void)rpc_client_flush(&F.slot[k].cl);
        weft_err_t err = rpc_gateway_poll(F.gw);
        if (err)
            fuzz_die("a peer stopped the gateway", weft_last_error());
        for (size_t k = 0; k < SLOTS; k++)
            drain(&F.slot[k]);
    }
}

static const job_t *pick_acked(fuzz_input_t *in)
{
    size_t n = 0, which = fuzz_next(in);
    for (size_t k = 0; k < F.n_jobs; k++)
        n += F.jobs[k].acked;
    if (!n)
        return NULL;
    which %= n;
    for (size_t k = 0; k < F.n_jobs; k++)
        if (F.jobs[k].acked && which-- == 0)
            return &F.jobs[k];
    return NULL;
}

/* Writes the agents' secrets file: F.secret's, or up to 16 bytes of the
 * input with garbage. */
static void write_secrets(fuzz_input_t *in, bool garbage, char next[PORTS][32])
{
    FILE *f = fopen(F.secrets_file, "w");
    if (!f)
        fuzz_die("cannot write the secrets file", strerror(errno));
    if (garbage) {
        for (unsigned i = 0, n = fuzz_next(in) % 17; i < n; i++)
            fputc((int)fuzz_next(in), f);
    } else {
        for (size_t p = 0; p < PORTS; p++)
            if (*next[p])
                fprintf(f, "%zu %s\n", p, next[p]);
    }
    if (fclose(f) != 0)
        fuzz_die("cannot write the secrets file", strerror(errno));
}

/* A new secrets file and SIGHUP's reload: each port's secret kept,
 * changed, dropped or given (or the file garbled); the gateway's answer
 * decides which secrets hellos present from now on. */
static void reload_secrets(fuzz_input_t *in)
{
    char next[PORTS][32];
    unsigned b = fuzz_next(in);
    for (size_t p = 0; p < PORTS; p++) {
        unsigned v = fuzz_next(in) % 4;
        if (v == 0)
            snprintf(next[p], sizeof next[p], "%s", F.secret[p]);
        else if (v == 1)
            next[p][0] = 0;
        else /* a new one, or another port's (refused: one secret, two ports) */
            snprintf(next[p], sizeof next[p], "fuzz-port-%zu-%u", v == 2 ? p : 0, b);
    }
    write_secrets(in, b % 8 == 0, next);
    size_t dropped;
    weft_err_t err = rpc_gateway_reload_port_secrets(F.gw, &dropped);
    if (err == WEFT_OK)
        memcpy(F.secret, next, sizeof next);
    else if (err != WEFT_EINVAL)
        fuzz_die("a secrets file was refused other than as invalid", weft_last_error());
}

static void op(fuzz_input_t *in)
{
    unsigned code = fuzz_next(in) % 15;
    slot_t *s = &F.slot[fuzz_next(in) % SLOTS];
    if (code == 0) { /* connect */
        if (s->open)
            return;
        slot_connect(s);
        return;
    }
    if (code == 12) {
        pump(1 + fuzz_next(in) % 3);
        return;
    }
    if (code == 14) {
        reload_secrets(in);
        return;
    }
    if (!s->open)
        return;
    rpc_client_t *cl = &s->cl;
    weft_err_t err = WEFT_OK;
    switch (code) {
    case 1: slot_close(s); return;
    case 2: { /* hello */
        unsigned b = fuzz_next(in);
        bool agent = b & 1, wrong = (b & 6) == 6;
        unsigned id = (b >> 3) % (PORTS + 1);
        const char *tok = !agent ? F.client_token
                          : F.by_port ? F.secret[id % PORTS] /* port 4: 0's */
                                      : AGENT_TOKEN;
        if (wrong) /* another role's or port's secret, or none */
            tok = !agent ? "nope" : F.by_port ? F.secret[(id + 1) % PORTS] : CLIENT_TOKEN;
        err = agent ? rpc_client_hello_agent(cl, *tok ? tok : "none", id, 1 + (int)fuzz_next(in))
                    : rpc_client_hello_client(cl, tok);
        break;
    }
    case 3: { /* register */
        if (F.n_jobs == MAX_JOBS)
            return;
        int64_t id = (int64_t)F.n_jobs;
        if (fuzz_next(in) % 4 == 0 && F.n_jobs) /* an id used before */
            id = F.jobs[fuzz_next(in) % F.n_jobs].id;
        coflow_workload_t wl;
        if (fuzz_build_job(in, PORTS, id, false, &wl) == WEFT_OK) {
            size_t seq = F.n_jobs++;
            F.jobs[seq] = (job_t){id, wl.n_flows, false, 0};
            err = rpc_client_register(cl, (int64_t)seq, &wl, 0);
        }
        coflow_workload_destroy(&wl);
        break;
    }
    case 4:
    case 5: { /* progress, done */
        const job_t *j = pick_acked(in);
        if (!j)
            return;
        size_t n = 1 + fuzz_next(in) % 3;
        uint64_t fids[3];
        double sent[3];
        static const double odd[] = {-1, NAN, INFINITY, 1e300};
        for (size_t i = 0; i < n; i++) {
            fids[i] = j->first + fuzz_next(in) % (j->n_flows + 1); /* or one past */
            unsigned b = fuzz_next(in);
            sent[i] = b >= 252 ? odd[b - 252] : 1e3 * b;
        }
        err = code == 4 ? rpc_client_progress(cl, fids, sent, n)
                        : rpc_client_done(cl, (int64_t)fuzz_next(in), fids, n);
        break;
    }
    case 6:
    case 7:
    case 8: { /* watch, cancel, job_status: a job registered, or not */
        const job_t *j = pick_acked(in);
        int64_t id = j && fuzz_next(in) % 4 ? j->id : (int64_t)fuzz_next(in) - 8;
        err = code == 6   ? rpc_client_watch(cl, &id, 1)
              : code == 7 ? rpc_client_cancel(cl, (int64_t)fuzz_next(in), id)
                          : rpc_client_job_status(cl, (int64_t)fuzz_next(in) - 1, id);
        break;
    }
    case 9: err = fuzz_next(in) % 2 ? rpc_client_status(cl, (int64_t)fuzz_next(in) - 1)
                                    : rpc_client_ping(cl, (int64_t)fuzz_next(in));
        break;
    case 10: send_hostile(cl, in); break;
    case 11: { /* raw bytes: a garbage or half frame */
        uint8_t raw[16];
        size_t n = 1 + fuzz_next(in) % sizeof raw;
        for (size_t i = 0; i < n; i++)
            raw[i] = (uint8_t)fuzz_next(in);
        msgpack_sbuffer_write(&cl->out, (const char *)raw, n);
        break;
    }
    default: /* shut the writing half: the gateway reads an end */
        (void)rpc_client_flush(cl);
        shutdown(cl->fd, SHUT_WR);
        break;
    }
    if (err)
        fuzz_die("the client library refused a message", weft_last_error());
}

static rpc_gateway_t *start(const rpc_gateway_opts_t *o)
{
    rpc_gateway_t *gw;
    if (rpc_gateway_new(&gw, o) != WEFT_OK)
        fuzz_die("the gateway did not start", weft_last_error());
    return gw;
}

/* F.secret written to the secrets file, read back and set in o (for a
 * gateway to start with); the array is the caller's to free. */
static char **secrets_in_force(rpc_gateway_opts_t *o)
{
    char **secrets;
    write_secrets(NULL, false, F.secret);
    if (rpc_port_secrets_read(F.secrets_file, PORTS, &secrets) != WEFT_OK)
        fuzz_die("the secrets in force were refused", weft_last_error());
    o->port_secrets = (const char *const *)secrets;
    o->port_secrets_file = F.secrets_file;
    return secrets;
}

/* With a journal: what a gateway restarted from it holds. */
static void check_restart(rpc_gateway_opts_t *o)
{
    rpc_gateway_stats_t before, after;
    rpc_gateway_stats(F.gw, &before);
    rpc_gateway_free(F.gw);
    char **secrets = F.by_port ? secrets_in_force(o) : NULL;
    F.gw = start(o);
    rpc_port_secrets_free(secrets, PORTS);
    rpc_gateway_stats(F.gw, &after);
    char d[600];
    if (after.jobs != before.jobs || after.jobs_finished != before.jobs_finished ||
        after.flows_unfinished != before.flows_unfinished) {
        snprintf(d, sizeof d, "jobs %zu -> %zu, finished %zu -> %zu, unfinished flows %zu -> %zu",
                 before.jobs, after.jobs, before.jobs_finished, after.jobs_finished,
                 before.flows_unfinished, after.flows_unfinished);
        fuzz_die("a gateway restarted from the journal holds other counts", d);
    }
    /* every acknowledged registration, asked for over the protocol */
    slot_t *s = &F.slot[0];
    slot_connect(s);
    if (rpc_client_hello_client(&s->cl, F.client_token) != WEFT_OK)
        fuzz_die("hello", weft_last_error());
    for (size_t k = 0; k < F.n_jobs; k++)
        if (F.jobs[k].acked && rpc_client_job_status(&s->cl, (int64_t)k, F.jobs[k].id))
            fuzz_die("job_status", weft_last_error());
    for (int round = 0; round < 64 && s->open; round++) {
        (void)rpc_client_flush(&s->cl);
        if (rpc_gateway_poll(F.gw) != WEFT_OK)
            fuzz_die("the restarted gateway stopped", weft_last_error());
        (void)rpc_client_read(&s->cl);
        const msgpack_object *m;
        char type[32];
        while (rpc_client_next(&s->cl, &m) == 1)
            if (!strcmp(rpc_msg_type(m, type, sizeof type), "error")) {
                rpc_error_msg_t e;
                rpc_msg_error(m, &e);
                snprintf(d, sizeof d, "%s: %s", e.code, e.message);
                fuzz_die("a gateway restarted from the journal does not know an acknowledged "
                         "job", d);
            }
    }
    slot_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const policies[][2] = {
        {"sebf", NULL}, {"fifo", "greedy"}, {"aalo", NULL}, {"fifo", "fair"}};
    fuzz_input_t in = {data, size};
    unsigned setup = fuzz_next(&in);
    const char *const *pol = policies[setup % 4];
    rpc_gateway_opts_t o = {0};
    o.host = "127.0.0.1";
    o.n_ports = PORTS;
    o.port_rate = 1e6;
    o.ord = coflow_ordering_find(pol[0]);
    o.alloc = pol[1] ? coflow_allocator_find(pol[1]) : NULL;
    o.agent_token = AGENT_TOKEN;
    o.client_token = F.client_token = setup & 4 ? CLIENT_TOKEN : AGENT_TOKEN;
    /* decisions come from the messages, not the clock: no tick, no compute
       times (fuzz_build_job), no rebuild put off */
    o.tick_s = 3600;
    o.rebuild_defer = -1;
    o.journal = setup & 8 ? F.journal : NULL;
    o.journal_nosync = true;
    o.max_frame = setup & 16 ? 4096 : 0;
    o.budget = setup & 32 ? 2 : 0;
    o.max_conns = setup & 64 ? 2 : 16;
    o.log = getenv("FUZZ_SERVER_LOG") ? stderr : NULL; /* to see what an input does */
    /* with a secret per port, ports 0-2 have one and port 3 none */
    F.by_port = setup & 128;
    char **secrets = NULL;
    if (F.by_port) {
        for (size_t p = 0; p < PORTS; p++)
            snprintf(F.secret[p], sizeof F.secret[p], "fuzz-port-%zu", p);
        F.secret[PORTS - 1][0] = 0;
        secrets = secrets_in_force(&o);
    }
    if (!o.ord || (pol[1] && !o.alloc))
        fuzz_die("a policy is not registered", pol[0]);
    clear_dir();
    memset(F.slot, 0, sizeof F.slot);
    F.n_jobs = 0;
    F.gw = start(&o);
    rpc_port_secrets_free(secrets, PORTS); /* the gateway keeps a copy */
    while (in.n)
        op(&in);
    pump(4);
    for (size_t k = 0; k < SLOTS; k++)
        slot_close(&F.slot[k]);
    rpc_gateway_stats_t st;
    for (int round = 0; round < 64; round++) {
        if (rpc_gateway_poll(F.gw) != WEFT_OK)
            fuzz_die("a peer stopped the gateway", weft_last_error());
        rpc_gateway_stats(F.gw, &st);
        if (st.conns_open == 0)
            break;
    }
    if (st.conns_open != 0) {
        char d[64];
        snprintf(d, sizeof d, "%zu still open", st.conns_open);
        fuzz_die("the gateway holds connections its peers closed", d);
    }
    if (o.journal)
        check_restart(&o);
    rpc_gateway_free(F.gw);
    F.gw = NULL;
    return 0;
}
