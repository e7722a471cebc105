/*
 * cmd_submit.c - `weft submit`: registers a workload's jobs with the
 * gateway at their arrival times (relative to the start), waits for every
 * job to finish and prints each JCT as this client measured it: from the
 * job's arrival time to the job_done message. Survives a gateway restart:
 * it reconnects with back-off, registers again what was not acknowledged
 * (registration is idempotent by job id) and asks for the jobs it still
 * waits for (watch).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rpc/client.h"
#include "workload/workload.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft submit WORKLOAD --gateway HOST:PORT (--token T | --token-file F)\n"
            "                   [--out FILE.csv] [--timeout S] [--format FMT]\n"
            "\n"
            "Registers every job of WORKLOAD with the gateway at its arrival time (counted\n"
            "from now), waits until all have finished, and prints each job's JCT measured\n"
            "here: arrival time to the gateway's job_done. --out writes job,arrival_s,jct_s.\n"
            "Exit status 1 if a job is refused or the timeout (default 600 s) passes.\n");
}

typedef struct {
    bool sent, acked, done;
    double jct;
} job_state_t;

/* Connects, says hello, registers again what is not acknowledged and
 * watches what is not done. */
static weft_err_t connect_all(rpc_client_t *c, const char *host, int port, const char *token,
                              const coflow_workload_t *wl, const job_state_t *js)
{
    weft_err_t err = rpc_client_connect(c, host, port, 1.0);
    if (!err)
        err = rpc_client_hello_client(c, token);
    for (size_t j = 0; !err && j < wl->n_jobs; j++)
        if (js[j].sent && !js[j].acked)
            err = rpc_client_register(c, (int64_t)j, wl, j);
    for (size_t j = 0; !err && j < wl->n_jobs; j++)
        if (js[j].acked && !js[j].done)
            err = rpc_client_watch(c, &wl->jobs[j].id, 1);
    if (!err)
        err = rpc_client_flush(c);
    return err;
}

int cmd_submit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'T'}, {"out", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 'x'}, {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char host[256] = "", token[1024] = "";
    int port = 0;
    const char *out_path = NULL;
    double timeout = 600;
    workload_format_t fmt = WORKLOAD_FORMAT_AUTO;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'g':
            if (!cli_parse_hostport("submit", "--gateway", optarg, host, sizeof host, &port, 1))
                return CLI_USAGE;
            break;
        case 't': snprintf(token, sizeof token, "%s", optarg); break;
        case 'T':
            if (!cli_read_token("submit", optarg, token, sizeof token))
                return CLI_ERROR;
            break;
        case 'o': out_path = optarg; break;
        case 'x': timeout = atof(optarg); break;
        case 'f':
            if (workload_format_parse(optarg, &fmt)) {
                fprintf(stderr, "weft submit: %s\n", weft_last_error());
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind + 1 != argc || !port || !*token || !(timeout > 0)) {
        usage(stderr);
        return CLI_USAGE;
    }
    coflow_workload_t wl;
    weft_err_t err = workload_read(&wl, argv[optind], fmt, NULL);
    if (err) {
        cli_report("submit", err);
        return CLI_ERROR;
    }
    int status = CLI_ERROR;
    job_state_t *js = weft_calloc(wl.n_jobs ? wl.n_jobs : 1, sizeof *js);
    rpc_client_t c;
    rpc_client_init(&c);
    double t0 = mono(), backoff = 0.05, retry_at = 0, last_ping = 0;
    size_t n_done = 0;
    bool up = false;
    if (!js)
        goto cleanup;
    while (n_done < wl.n_jobs) {
        double now = mono() - t0;
        if (now > timeout) {
            fprintf(stderr, "weft submit: timeout: %zu of %zu jobs finished after %g s\n",
                    n_done, wl.n_jobs, timeout);
            goto cleanup;
        }
        if (!up && now >= retry_at) {
            if (connect_all(&c, host, port, token, &wl, js) == WEFT_OK) {
                up = true;
                backoff = 0.05;
            } else {
                fprintf(stderr, "weft submit: %s; retrying in %.2f s\n", weft_last_error(),
                        backoff);
                rpc_client_close(&c);
                retry_at = now + backoff;
                backoff = fmin(backoff * 2, 2.0);
            }
        }
        double next = now + 0.05;
        for (size_t j = 0; j < wl.n_jobs; j++) {
            if (js[j].sent)
                continue;
            if (wl.jobs[j].arrival_s <= now) {
                js[j].sent = true;
                if (up && rpc_client_register(&c, (int64_t)j, &wl, j)) {
                    cli_report("submit", WEFT_EINVAL);
                    goto cleanup;
                }
            } else if (wl.jobs[j].arrival_s < next) {
                next = wl.jobs[j].arrival_s;
            }
        }
        if (!up) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (now - last_ping >= 5.0) { /* keeps the connection from timing out as idle */
            last_ping = now;
            rpc_client_ping(&c, -1);
        }
        const msgpack_object *m;
        int r = rpc_client_wait(&c, fmax(next - now, 0.001), &m);
        if (r < 0) {
            fprintf(stderr, "weft submit: %s; reconnecting\n", weft_last_error());
            rpc_client_close(&c);
            up = false;
            retry_at = mono() - t0 + backoff;
            /* connect_all registers again what was not acknowledged
               (idempotent) and watches what was but is not done */
            continue;
        }
        if (r == 0)
            continue;
        char type[32];
        rpc_msg_type(m, type, sizeof type);
        int64_t v;
        if (!strcmp(type, "ack") && rpc_get_int(m, "seq", 0, (int64_t)wl.n_jobs - 1, &v) == 0) {
            js[v].acked = true;
            const msgpack_object *dup = rpc_map_get(m, "dup");
            /* registered before a lost connection: it may have finished
               while no one listened, so ask */
            if (dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean && !js[v].done)
                rpc_client_watch(&c, &wl.jobs[v].id, 1);
        } else if (!strcmp(type, "job_done") &&
                   rpc_get_int(m, "job", INT64_MIN, INT64_MAX, &v) == 0) {
            for (size_t j = 0; j < wl.n_jobs; j++)
                if (wl.jobs[j].id == v && js[j].sent && !js[j].done) {
                    js[j].done = true;
                    js[j].jct = mono() - t0 - wl.jobs[j].arrival_s;
                    n_done++;
                    printf("job %lld done: JCT %.3f s\n", (long long)v, js[j].jct);
                    fflush(stdout);
                }
        } else if (!strcmp(type, "error")) {
            const char *msg = "", *code = "";
            size_t nm = 0, nc = 0;
            rpc_get_str(m, "message", &msg, &nm);
            rpc_get_str(m, "code", &code, &nc);
            fprintf(stderr, "weft submit: gateway error %.*s: %.*s\n", (int)nc, code, (int)nm,
                    msg);
            if (nc == 11 && !memcmp(code, "invalid-job", 11))
                goto cleanup;
        }
    }
    double sum = 0;
    for (size_t j = 0; j < wl.n_jobs; j++)
        sum += js[j].jct;
    printf("%zu jobs, average JCT %.3f s\n", wl.n_jobs, wl.n_jobs ? sum / (double)wl.n_jobs : 0);
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        if (!f) {
            fprintf(stderr, "weft submit: %s: %s\n", out_path, strerror(errno));
            goto cleanup;
        }
        fprintf(f, "job,arrival_s,jct_s\n");
        for (size_t j = 0; j < wl.n_jobs; j++)
            fprintf(f, "%lld,%.9g,%.9g\n", (long long)wl.jobs[j].id, wl.jobs[j].arrival_s,
                    js[j].jct);
        if (fclose(f) != 0)
            goto cleanup;
    }
    status = CLI_OK;
cleanup:
    rpc_client_destroy(&c);
    free(js);
    coflow_workload_destroy(&wl);
    return status;
}
