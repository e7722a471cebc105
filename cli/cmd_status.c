/*
 * cmd_status.c - `weft status`: asks a running gateway for its counters
 * (the "status" message, docs/protocol.md) and prints them as a table or
 * as one JSON object. Read-only: it changes nothing on the gateway.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft status --gateway HOST:PORT (--token T | --token-file F) [--json]\n"
            "                   [--job ID] [--timeout S] [--tls-ca FILE]\n"
            "\n"
            "Prints what a running gateway is doing: its uptime, policy, ports, the agents\n"
            "connected, the jobs in flight and their unfinished flows, and its counters\n"
            "(decisions, frames, errors, timeouts, journal). Exit status 1 if the gateway\n"
            "cannot be reached, refuses the token or does not answer within the timeout\n"
            "(default 10 s), 2 on a usage error.\n"
            "\n"
            "options:\n"
            CLI_CLIENT_GATEWAY_HELP
            "  --token-file F      read the token from the first line of F\n"
            "  --job ID            where job ID stands instead: its state and, coflow by\n"
            "                      coflow, flows done, bytes sent, the rate it gets, its\n"
            "                      place in the last decision's priority order (and the\n"
            "                      score that placed it, under the learned policy) and\n"
            "                      the parents it waits on (exit status 1 if the gateway\n"
            "                      does not know the job)\n"
            "  --json              one JSON object: the gateway's answer as it is, with the\n"
            "                      keys of docs/protocol.md (\"status\", \"job_status\")\n"
            "  --timeout S         give up after S seconds (default 10)\n"
            CLI_TLS_CA_HELP
            "  -h, --help          this text\n");
}

/* A msgpack object as JSON (the protocol's types: no bin or ext). */
static json_t *to_json(const msgpack_object *o)
{
    int64_t v;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return rpc_obj_int(o, &v) ? json_integer(v) : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            json_array_append_new(a, to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR)
                json_object_setn_new(m, k->via.str.ptr, k->via.str.size,
                                     to_json(&o->via.map.ptr[i].val));
        }
        return m;
    }
    default: return json_null();
    }
}

static int64_t get_i(const msgpack_object *m, const char *key)
{
    int64_t v = -1;
    rpc_get_int_opt(m, key, INT64_MIN, INT64_MAX, &v);
    return v;
}

static double get_d(const msgpack_object *m, const char *key)
{
    double d = -1;
    rpc_get_num_opt(m, key, -1e300, 1e300, &d);
    return d;
}

static const char *get_s(const msgpack_object *m, const char *key, char *buf, size_t n)
{
    const char *s;
    size_t ns;
    snprintf(buf, n, "?");
    if (rpc_get_str(m, key, &s, &ns) == WEFT_OK) /* controls escaped */
        weft_shown(s, ns, SIZE_MAX, buf, n);
    return buf;
}

/* A row of a count (key `count`) and the ports it lists (key `list`, which
 * may hold fewer than the count), after `what`: "on ports 0, 1, 2". */
static void print_count_ports(const msgpack_object *m, const char *label, const char *count,
                              const char *list, const char *what)
{
    long long n = (long long)get_i(m, count);
    printf("  %-20s %12lld", label, n);
    const msgpack_object *l = rpc_map_get(m, list);
    if (l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size > 0) {
        printf("   %s port%s", what, n == 1 ? "" : "s");
        for (uint32_t i = 0; i < l->via.array.size; i++) {
            int64_t p = -1;
            rpc_obj_int(&l->via.array.ptr[i], &p);
            printf("%s %lld", i ? "," : "", (long long)p);
        }
        if ((long long)l->via.array.size < n)
            printf(", ...");
    }
    printf("\n");
}

/* The answer as `weft inspect` lays out its report: a key, a value right
 * aligned, and a remark. */
/* What forgot finished jobs' records, from a status or job_status answer's
 * keep_finished: "--keep-finished N" (true), or, with no limit now, "by an
 * earlier --keep-finished" (the journal's gateway had one; false). */
static bool forgotten_by(const msgpack_object *m, char *why, size_t n)
{
    const msgpack_object *keep = rpc_map_get(m, "keep_finished");
    bool limited = keep && keep->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (limited)
        snprintf(why, n, "--keep-finished %llu", (unsigned long long)keep->via.u64);
    else
        snprintf(why, n, "by an earlier --keep-finished");
    return limited;
}

static void print_table(const char *host, int port, const msgpack_object *m)
{
    char a[512], b[512];
    printf("gateway %s\n", RPC_HOST_PORT(host, port));
    printf("  %-20s weft %s\n", "version", get_s(m, "version", a, sizeof a));
    printf("  %-20s %12.1f s\n", "uptime", get_d(m, "uptime"));
    printf("  %-20s %16llx\n", "epoch", (unsigned long long)get_i(m, "epoch"));
    printf("  %-20s %12s   allocator %s\n", "policy", get_s(m, "policy", a, sizeof a),
           get_s(m, "allocator", b, sizeof b));
    printf("  %-20s %12lld   at %.6g MB/s each way\n", "ports", (long long)get_i(m, "ports"),
           get_d(m, "rate") / 1e6);
    int64_t n_own = get_i(m, "ports_own_rate");
    const msgpack_object *own = rpc_map_get(m, "port_rates");
    if (n_own > 0 && own && own->type == MSGPACK_OBJECT_ARRAY) { /* absent from older gateways */
        printf("  %-20s %12lld  ", "ports at own rate", (long long)n_own);
        for (uint32_t i = 0; i < own->via.array.size; i++) {
            const msgpack_object *e = &own->via.array.ptr[i];
            int64_t p = -1;
            double r = 0;
            if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2)
                rpc_obj_int(&e->via.array.ptr[0], &p), rpc_obj_num(&e->via.array.ptr[1], &r);
            printf("%s %lld at %.6g MB/s", i ? "," : "", (long long)p, r / 1e6);
        }
        if ((int64_t)own->via.array.size < n_own)
            printf(", ...");
        printf("\n");
    }
    printf("  %-20s %12lld\n", "connections open", (long long)get_i(m, "conns"));
    print_count_ports(m, "agents connected", "agents", "agent_ports", "on");
    print_count_ports(m, "ports without agent", "ports_waiting", "waiting_ports",
                      "flows wait on");
    static const struct {
        const char *key, *label;
    } rows[] = {
        {"jobs", "jobs registered"},    {"jobs_held", "jobs held"},
        {"jobs_finished", "jobs finished"}, {"jobs_in_flight", "jobs in flight"},
        {"flows_unfinished", "flows unfinished"}, {"decisions", "decisions"},
        {"rebuilds", "rebuilds"},       {"changes_pushed", "changes pushed"},
        {"frames_in", "frames in"},     {"protocol_errors", "protocol errors"},
        {"auth_failures", "auth failures"}, {"timeouts", "timeouts"},
        {"slow_readers", "slow readers"}, {"replaced", "replaced"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        printf("  %-20s %12lld\n", rows[i].label, (long long)get_i(m, rows[i].key));
        char why[64];
        /* under a limit, or forgotten under one before a restart without */
        if (!strcmp(rows[i].key, "jobs_finished") &&
            (forgotten_by(m, why, sizeof why) || get_i(m, "jobs_forgotten") > 0))
            printf("  %-20s %12lld   records of finished jobs forgotten (%s)\n",
                   "jobs forgotten", (long long)get_i(m, "jobs_forgotten"), why);
    }
    const msgpack_object *ds = rpc_map_get(m, "decision_s");
    if (ds && ds->type == MSGPACK_OBJECT_MAP) /* absent from older gateways */
        printf("  %-20s %12.3f   ms, median of the last %lld; 99th percentile %.3f ms, "
               "largest %.3f ms\n", "decision time", 1e3 * get_d(ds, "p50"),
               (long long)get_i(ds, "n"), 1e3 * get_d(ds, "p99"), 1e3 * get_d(ds, "max"));
    const msgpack_object *mo = rpc_map_get(m, "model");
    if (mo && mo->type == MSGPACK_OBJECT_MAP) { /* the learned policy's */
        printf("  %-20s %12lld   reloads of %s\n", "model", (long long)get_i(mo, "reloads"),
               get_s(mo, "path", a, sizeof a));
        printf("  %-20s %s\n", "model sha256", get_s(mo, "sha256", b, sizeof b));
    }
    const msgpack_object *tf = rpc_map_get(m, "token_files");
    if (tf && tf->type == MSGPACK_OBJECT_MAP) /* read again on SIGHUP */
        printf("  %-20s %12lld   reloads of the token files (SIGHUP)\n", "token reloads",
               (long long)get_i(tf, "reloads"));
    const msgpack_object *tl = rpc_map_get(m, "tls");
    if (tl && tl->type == MSGPACK_OBJECT_MAP) { /* read again on SIGHUP */
        char when[40];
        printf("  %-20s %12lld   reloads of the certificate (SIGHUP); it is valid until %s\n",
               "tls reloads", (long long)get_i(tl, "reloads"),
               rpc_tls_date(when, sizeof when, get_i(tl, "not_after")));
    }
    const msgpack_object *as = rpc_map_get(m, "agent_secrets");
    if (as && as->type == MSGPACK_OBJECT_MAP) /* --agent-tokens */
        printf("  %-20s %12lld   ports with one of their own, from %s; %lld reloads\n",
               "agent secrets", (long long)get_i(as, "ports"), get_s(as, "path", a, sizeof a),
               (long long)get_i(as, "reloads"));
    const msgpack_object *j = rpc_map_get(m, "journal");
    if (!j || j->type != MSGPACK_OBJECT_MAP) {
        printf("  %-20s %12s\n", "journal", "none");
        return;
    }
    printf("  %-20s %12lld   records in %s\n", "journal", (long long)get_i(j, "records"),
           get_s(j, "path", a, sizeof a));
    printf("  %-20s %12lld\n", "journal syncs", (long long)get_i(j, "syncs"));
    printf("  %-20s %12lld\n", "journal rewrites", (long long)get_i(j, "rewrites"));
    int64_t format = get_i(j, "format");
    if (format > 0) /* a gateway from before the field says nothing */
        printf("  %-20s %12lld   %s\n", "journal format", (long long)format,
               format >= 2 ? "every record with a checksum"
                           : "records without checksums (on a device: never rewritten)");
}

/* A job_status answer as a table, a coflow a row. */
static void print_job(const msgpack_object *m)
{
    char state[32];
    int64_t id = get_i(m, "job");
    get_s(m, "state", state, sizeof state);
    const msgpack_object *cs = rpc_map_get(m, "coflows");
    if (rpc_map_true(m, "forgotten")) {
        char why[64];
        forgotten_by(m, why, sizeof why);
        printf("job %lld: %s, record forgotten (%s)\n", (long long)id, state, why);
        return;
    }
    bool running = !strcmp(state, "running");
    printf("job %lld: %s %s %.3f s", (long long)id, state, running ? "for" : "in",
           get_d(m, running ? "age" : "jct"));
    if (!cs || cs->type != MSGPACK_OBJECT_ARRAY) {
        printf(" (compacted away: its coflows are no longer held)\n");
        return;
    }
    size_t n = cs->via.array.size, n_done = 0;
    char st[16];
    /* the places in the last decision's order (absent from older
       gateways), and the scores that gave them (the learned policy's) */
    int64_t of = get_i(m, "of");
    bool scores = false;
    for (size_t i = 0; i < n; i++) {
        n_done += !strcmp(get_s(&cs->via.array.ptr[i], "state", st, sizeof st), "done");
        scores |= rpc_map_get(&cs->via.array.ptr[i], "score") != NULL;
    }
    printf("; %zu of %zu coflows done\n", n_done, n);
    printf("  %10s %9s %12s %22s %12s", "coflow", "state", "flows done", "MB sent of total",
           "rate (MB/s)");
    if (of >= 0)
        printf(" %12s", "priority");
    if (scores)
        printf(" %10s", "score");
    printf("   %s\n", "waits on");
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *c = &cs->via.array.ptr[i];
        char done[32], sent[48];
        snprintf(done, sizeof done, "%lld of %lld", (long long)get_i(c, "flows_done"),
                 (long long)get_i(c, "flows"));
        /* two decimals, or as many as a total under 1 MB needs for three
           digits (a 4 KB coflow read "0.00 of 0.00"), at most 6: 1 byte */
        double total_mb = get_d(c, "bytes") / 1e6;
        int decimals = 2;
        while (decimals < 6 && total_mb > 0 && total_mb < pow(10, 2 - decimals))
            decimals++;
        snprintf(sent, sizeof sent, "%.*f of %.*f", decimals, get_d(c, "sent") / 1e6, decimals,
                 total_mb);
        printf("  %10lld %9s %12s %22s %12.3f", (long long)get_i(c, "id"),
               get_s(c, "state", st, sizeof st), done, sent, get_d(c, "rate") / 1e6);
        int64_t rank = get_i(c, "rank");
        char place[48] = "-"; /* not in the last decision's order */
        if (rank > 0)
            snprintf(place, sizeof place, "%lld of %lld", (long long)rank, (long long)of);
        if (of >= 0)
            printf(" %12s", place);
        if (scores && rpc_map_get(c, "score"))
            printf(" %10.4g", get_d(c, "score"));
        else if (scores)
            printf(" %10s", "-");
        const msgpack_object *w = rpc_map_get(c, "waits_on");
        bool waits = w && w->type == MSGPACK_OBJECT_ARRAY && w->via.array.size > 0;
        for (uint32_t k = 0; waits && k < w->via.array.size; k++) {
            int64_t p = 0;
            rpc_obj_int(&w->via.array.ptr[k], &p);
            printf("%s%lld", k ? ", " : "   ", (long long)p);
        }
        /* waiting with no parent left: the compute time after its parents
           (or after the job's arrival, for a first stage) */
        if (!waits && !strcmp(st, "waiting"))
            printf("   its compute time");
        printf("\n");
    }
}

int cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_GW_OPTIONS, CLI_GW_TIMEOUT_OPTION, {"json", no_argument, NULL, 'j'},
        {"job", required_argument, NULL, 'J'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_gw_opts_t g = {.timeout_s = 10};
    bool json = false, one_job = false;
    int64_t job = 0;
    optind = 1;
    opterr = 0; /* weft's own messages: cli_gw_option */
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'J': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "weft status: --job '%s': expected a job id (an integer)\n",
                        optarg);
                return CLI_USAGE;
            }
            job = v;
            one_job = true;
            break;
        }
        case 'h': usage(stdout); return CLI_OK;
        default: {
            int r = cli_gw_option("status", ch, &g, longopts, argv, usage);
            if (r != CLI_OK)
                return r;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "weft status: unexpected argument '%s'\n", argv[optind]);
        cli_usage_hint("status", usage);
        return CLI_USAGE;
    }
    if (!cli_gw_complete("status", &g)) {
        cli_usage_hint("status", usage);
        return CLI_USAGE;
    }
    const char *host = g.host;
    int port = g.port;
    double timeout = g.timeout_s;
    rpc_client_t c;
    rpc_client_init(&c);
    weft_err_t err = cli_gateway_open(&c, host, port, g.token, g.tls_ca, timeout);
    if (!err)
        err = one_job ? rpc_client_job_status(&c, 1, job) : rpc_client_status(&c, 1);
    const char *want = one_job ? "job_status" : "status";
    bool said = false; /* the error is already on stderr */
    double deadline = weft_mono_s() + timeout;
    while (!err) {
        const msgpack_object *m;
        char type[32];
        rpc_error_msg_t e;
        int r = cli_gateway_answer("status", &c, deadline, &m, type, sizeof type, &e);
        if (r <= 0) {
            err = r < 0 ? (weft_err_t)r
                        : weft_fail(WEFT_EIO, "no status from %s within %g s",
                                    RPC_HOST_PORT(host, port), timeout);
        } else if (!strcmp(type, "error")) {
            /* the gateway's line above says it all (an unknown job, a wrong
               token), but for a gateway too old to know the question */
            said = strcmp(e.code, "unknown-type") != 0;
            err = said ? (one_job && !strcmp(e.code, "unknown-id") ? WEFT_ENOTFOUND
                                                                   : WEFT_EPROTO)
                       : weft_fail(WEFT_EPROTO, "the gateway at %s predates weft status%s",
                                   RPC_HOST_PORT(host, port), one_job ? " --job" : "");
        } else if (!strcmp(type, want)) {
            if (json) {
                json_t *o = to_json(m);
                json_dumpf(o, stdout, JSON_COMPACT);
                printf("\n");
                json_decref(o);
            } else if (one_job) {
                print_job(m);
            } else {
                print_table(host, port, m);
            }
            break;
        }
    }
    rpc_client_destroy(&c);
    if (err) {
        if (!said)
            cli_report("status", err);
        return CLI_ERROR;
    }
    return CLI_OK;
}
