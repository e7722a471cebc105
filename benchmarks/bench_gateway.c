/*
 * bench_gateway.c - the live gateway under load (docs/performance.md,
 * "Gateway"): 64 agent connections on loopback send progress reports; how
 * many per second the gateway sustains, and how long from a report to the
 * schedule push it causes.
 *
 * A `weft serve` gateway (rpc_gateway_t, in a child process: its own
 * core) with 64 ports; job i is a chain of K (--chain, 300) coflows of one flow each from
 * port i to port i+1 (mod 64), so each agent always has one flow with the
 * whole port. Agents report growing byte counts for it; every M-th report
 * says the flow is complete, which releases the next coflow of the chain
 * and makes the gateway push that agent a schedule with the next flow's
 * rate. Latency = time from packing that report to reading the push (both
 * in this process, CLOCK_MONOTONIC). Pushes caused by plain progress do not
 * exist under this workload (rates stay the same), so the latency is the
 * report -> decision -> push path with the completion in it (and, with
 * --journal, its fdatasync).
 *
 * Two phases, each --seconds long:
 *  1. paced: the agents together offer --rate reports per second (default
 *     100,000); achieved rate and p50/p99/max latency;
 *  2. saturation: every agent writes as fast as its socket takes; at the
 *     end a ping per connection (answered after everything sent before it)
 *     closes the window: reports handled / elapsed, and latency under
 *     saturation.
 *
 * Each phase also reports the CPU the gateway and this process used (share
 * of one core, user + system).
 *
 * usage: bench_gateway [--agents N] [--seconds S] [--rate R] [--every M]
 *                      [--journal FILE] [--policy P] [--tick S] [--chain K]
 *                      [--model FILE]
 * --model: the learned policy's model (default the shipped one,
 * models/weft-policy.msgpack, run from the source directory).
 * Output: a table and one `BENCH gateway ...` line per phase.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_NAME "bench_gateway"
#include "bench_util.h"
#include "rpc/client.h"
#include "rpc/gateway.h"

#define TOKEN "bench-token"
#define FLOW_BYTES 1e12      /* never completed by plain progress */
#define STEP 1000.0          /* bytes added per report */


/* CPU seconds (user + system) used so far by this process, or by pid. */
static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static double cpu_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    unsigned long ut = 0, st = 0;
    /* fields 14 and 15 (utime, stime in clock ticks), after "(comm)" */
    int ok = fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                    &ut, &st);
    fclose(f);
    return ok == 2 ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : NAN;
}

/* The gateway's process, in the parent while it runs: ended at exit, so a
 * benchmark that fails does not leave a gateway listening behind it. */
static pid_t gateway_pid;

static void stop_gateway(void)
{
    if (gateway_pid > 0) {
        kill(gateway_pid, SIGTERM);
        waitpid(gateway_pid, NULL, 0);
        gateway_pid = 0;
    }
}

static void die(const char *what)
{
    fprintf(stderr, "bench_gateway: %s: %s\n", what, weft_last_error());
    exit(1);
}

typedef struct {
    rpc_client_t c;
    uint64_t first, cur;   /* first fid of its chain, the flow it reports */
    bool have_flow;        /* cur is announced with a positive rate */
    double sent;
    bool marker;           /* a completion is out, waiting for the push */
    double t_marker;
    uint64_t n_sent, chain_pos;
    uint64_t n_phase;      /* reports sent in the current phase */
    bool pong;
} bagent_t;

typedef struct {
    double *v;
    size_t n, cap;
} samples_t;

static void sample(samples_t *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            exit(1);
    }
    s->v[s->n++] = x;
}


static double pct(samples_t *s, double p)
{
    if (!s->n)
        return NAN;
    qsort(s->v, s->n, sizeof *s->v, bench_cmp_double);
    size_t r = (size_t)ceil(p * (double)s->n - 1e-9);
    return s->v[(r ? r : 1) - 1];
}

/* Handles the gateway's frames for agent a. */
static void drain(bagent_t *a, samples_t *lat)
{
    if (rpc_client_read(&a->c))
        die("agent connection");
    const msgpack_object *m;
    int r;
    while ((r = rpc_client_next(&a->c, &m)) == 1) {
        char type[32];
        rpc_msg_type(m, type, sizeof type);
        if (!strcmp(type, "pong")) {
            a->pong = true;
            continue;
        }
        if (!strcmp(type, "error"))
            die("the gateway sent an error");
        if (strcmp(type, "schedule"))
            continue;
        const msgpack_object_array *fl;
        if (rpc_get_array(m, "flows", &fl))
            die("schedule");
        for (uint32_t i = 0; i < fl->size; i++) {
            const msgpack_object *e = fl->ptr[i].via.array.ptr;
            int64_t fid;
            double rate;
            if (!rpc_obj_int(&e[0], &fid) || !rpc_obj_num(&e[1], &rate) || rate <= 0)
                continue;
            if (!a->have_flow || (uint64_t)fid == a->cur + 1) {
                if (a->marker)
                    sample(lat, weft_mono_s() - a->t_marker);
                a->marker = false;
                a->cur = (uint64_t)fid;
                a->have_flow = true;
                a->sent = 0;
            }
        }
    }
    if (r < 0)
        die("decoding the gateway's frames");
}

/* Queues one report for a (a completion every `every`-th). */
static void report(bagent_t *a, unsigned every, int chain)
{
    double sent = a->sent + STEP;
    bool complete = every && a->n_sent % every == every - 1 && a->chain_pos + 1 < (uint64_t)chain;
    if (complete) {
        sent = FLOW_BYTES;
        a->marker = true;
        a->t_marker = weft_mono_s();
        a->have_flow = false;
        a->chain_pos++;
    }
    a->sent = sent;
    if (rpc_client_progress(&a->c, &a->cur, &sent, 1))
        die("packing");
    a->n_sent++;
}

int main(int argc, char **argv)
{
    size_t n = 64;
    double seconds = 5, rate = 100000;
    unsigned every = 200;
    const char *journal = NULL, *policy = "sebf", *model = "models/weft-policy.msgpack";
    double tick = 0; /* the gateway's default, 10 ms */
    int chain = 300; /* coflows per job: bounds the completions per agent */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long count = 0;
        char *end = NULL;
        bool is_count = !strcmp(a, "--agents") || !strcmp(a, "--every") || !strcmp(a, "--chain");
        bool is_real = !strcmp(a, "--seconds") || !strcmp(a, "--rate") || !strcmp(a, "--tick");
        bool is_text = !strcmp(a, "--journal") || !strcmp(a, "--policy") || !strcmp(a, "--model");
        if (!is_count && !is_real && !is_text)
            return bench_refuse("unknown option '%s'; usage: bench_gateway [--agents N] "
                                "[--seconds S] [--rate R] [--every M] [--journal FILE] "
                                "[--policy P] [--tick S] [--chain K] [--model FILE]", a);
        if (!v)
            return bench_refuse("%s needs a value", a);
        i++;
        /* the lower bounds: two agents make a ring, a completion needs a
           report before it, a chain a coflow to release */
        if (is_count && !bench_parse_count(v, 2, !strcmp(a, "--agents") ? 1000 : INT_MAX,
                                           &count))
            return bench_refuse("%s '%s': expected a whole number, at least 2%s", a, v,
                                !strcmp(a, "--agents") ? " and at most 1000" : "");
        double real = is_real ? strtod(v, &end) : 0;
        if (is_real && (end == v || *end || !isfinite(real) || real < 0 ||
                        (real == 0 && strcmp(a, "--tick"))))
            return bench_refuse("%s '%s': expected a positive number%s", a, v,
                                !strcmp(a, "--tick") ? " of seconds, or 0 for the default" : "");
        if (!strcmp(a, "--agents"))
            n = count;
        else if (!strcmp(a, "--every"))
            every = (unsigned)count;
        else if (!strcmp(a, "--chain"))
            chain = (int)count;
        else if (!strcmp(a, "--seconds"))
            seconds = real;
        else if (!strcmp(a, "--rate"))
            rate = real;
        else if (!strcmp(a, "--tick"))
            tick = real;
        else if (!strcmp(a, "--journal"))
            journal = v;
        else if (!strcmp(a, "--policy"))
            policy = v;
        else
            model = v;
    }
    if (!coflow_ordering_find(policy))
        return bench_refuse("--policy '%s': no such policy (weft sim --help lists them)",
                            policy);
    if (journal)
        unlink(journal);
    int pfd[2];
    if (pipe(pfd))
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(pfd[0]);
        /* the parent killed outright runs no atexit: end with it */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() == 1)
            _exit(1);
        rpc_gateway_opts_t o = {0};
        o.token = TOKEN;
        o.n_ports = n;
        o.port_rate = WEFT_GBPS_BYTES;
        o.ord = coflow_ordering_find(policy);
        o.model_path = model;
        o.journal = journal;
        o.tick_s = tick;
        o.handle_signals = true;
        rpc_gateway_t *gw;
        if (!o.ord || rpc_gateway_new(&gw, &o))
            die("starting the gateway");
        int port = rpc_gateway_port(gw);
        if (write(pfd[1], &port, sizeof port) != sizeof port)
            _exit(1);
        close(pfd[1]);
        weft_err_t err = rpc_gateway_run(gw);
        rpc_gateway_stats_t st;
        rpc_gateway_stats(gw, &st);
        fprintf(stderr, "gateway: %llu frames in, %llu decisions, %llu rebuilds (the last "
                "%.3f s), %llu changes pushed, %llu journal records, %llu fdatasyncs\n",
                (unsigned long long)st.frames_in, (unsigned long long)st.decisions,
                (unsigned long long)st.rebuilds, st.rebuild_s,
                (unsigned long long)st.changes_pushed, (unsigned long long)st.journal_records,
                (unsigned long long)st.journal_syncs);
        rpc_gateway_free(gw);
        _exit(err ? 1 : 0);
    }
    if (child < 0)
        return 1;
    gateway_pid = child;
    atexit(stop_gateway);
    close(pfd[1]);
    int port;
    if (read(pfd[0], &port, sizeof port) != sizeof port) {
        fprintf(stderr, "bench_gateway: the gateway did not start\n");
        return 1;
    }
    close(pfd[0]);

    /* Register the chains from a client connection. */
    coflow_workload_t wl;
    coflow_workload_init(&wl, n);
    for (size_t i = 0; i < n; i++) {
        coflow_workload_add_job(&wl, (int64_t)i, 0, 1, 0);
        for (int k = 0; k < chain; k++) {
            coflow_workload_add_coflow(&wl, k, 0);
            coflow_workload_add_flow(&wl, (uint32_t)i, (uint32_t)((i + 1) % n), FLOW_BYTES);
            if (k)
                coflow_workload_add_parent(&wl, k - 1);
        }
        if (coflow_workload_finish_job(&wl))
            die("building the chains");
    }
    rpc_client_t cl;
    rpc_client_init(&cl);
    if (rpc_client_connect(&cl, "127.0.0.1", port, 2) || rpc_client_hello_client(&cl, TOKEN))
        die("client");
    double t_reg = weft_mono_s();
    for (size_t i = 0; i < n; i++)
        if (rpc_client_register(&cl, (int64_t)i, &wl, i))
            die("register");
    bagent_t *ag = calloc(n, sizeof *ag);
    struct pollfd *pf = calloc(n, sizeof *pf);
    if (!ag || !pf)
        return 1;
    size_t acks = 0;
    while (acks < n) {
        const msgpack_object *m;
        int r = rpc_client_wait(&cl, 30, &m);
        if (r != 1)
            die("waiting for acks");
        char type[32];
        int64_t seq, first;
        if (!strcmp(rpc_msg_type(m, type, sizeof type), "ack") &&
            !rpc_get_int(m, "seq", 0, (int64_t)n - 1, &seq) &&
            !rpc_get_int(m, "first_flow", 0, INT64_MAX, &first)) {
            ag[seq].first = (uint64_t)first;
            acks++;
        }
    }
    t_reg = weft_mono_s() - t_reg;
    samples_t lat = {0};
    double t_conn = weft_mono_s();
    for (size_t i = 0; i < n; i++) {
        rpc_client_init(&ag[i].c);
        if (rpc_client_connect(&ag[i].c, "127.0.0.1", port, 2) ||
            rpc_client_hello_agent(&ag[i].c, TOKEN, (uint32_t)i, 1) ||
            rpc_client_flush(&ag[i].c))
            die("agent connect");
    }
    /* Wait until every agent holds its first flow. */
    for (double t_end = weft_mono_s() + 30;;) {
        size_t ready = 0;
        for (size_t i = 0; i < n; i++) {
            pf[i] = (struct pollfd){ag[i].c.fd, POLLIN, 0};
            ready += ag[i].have_flow;
        }
        if (ready == n)
            break;
        if (weft_mono_s() > t_end) {
            fprintf(stderr, "bench_gateway: only %zu of %zu agents got a flow\n", ready, n);
            return 1;
        }
        poll(pf, n, 100);
        for (size_t i = 0; i < n; i++)
            if (pf[i].revents)
                drain(&ag[i], &lat);
    }
    lat.n = 0;
    t_conn = weft_mono_s() - t_conn;

    printf("gateway: %zu agents on loopback, policy %s, a completion every %u reports%s\n",
           n, policy, every, journal ? ", journal with fdatasync" : ", no journal");
    printf("registering %zu jobs of %d coflows (all acknowledged): %.3f s\n", n, chain, t_reg);
    printf("BENCH gateway phase=register jobs=%zu coflows_per_job=%d seconds=%.4f\n", n, chain,
           t_reg);
    printf("connecting %zu agents until each holds its first flow: %.3f s\n", n, t_conn);
    printf("BENCH gateway phase=connect agents=%zu seconds=%.4f\n", n, t_conn);
    printf("%-11s %12s %12s %10s %10s %10s %10s %8s %8s\n", "phase", "offered/s", "handled/s",
           "pushes", "p50(ms)", "p99(ms)", "max(ms)", "gw cpu", "bench cpu");
    for (int phase = 0; phase < 2; phase++) {
        bool paced = phase == 0;
        double per_agent = rate / (double)n;
        uint64_t total0 = 0;
        for (size_t i = 0; i < n; i++) {
            total0 += ag[i].n_sent;
            ag[i].n_phase = 0;
        }
        lat.n = 0;
        double t0 = weft_mono_s(), t_stop = t0 + seconds, cg0 = cpu_of(child), cs0 = cpu_self();
        for (;;) {
            double t = weft_mono_s();
            if (t >= t_stop)
                break;
            for (size_t i = 0; i < n; i++) {
                bagent_t *a = &ag[i];
                if (a->have_flow) {
                    if (paced) {
                        /* reports due since the phase began, on a steady clock */
                        uint64_t due = (uint64_t)((t - t0) * per_agent) + 1;
                        while (a->have_flow && a->n_phase < due) {
                            report(a, every, chain);
                            a->n_phase++;
                        }
                    } else if (!rpc_client_want_write(&a->c)) {
                        for (int k = 0; k < 64 && a->have_flow; k++)
                            report(a, every, chain);
                    }
                }
                if (rpc_client_flush(&a->c))
                    die("send");
                pf[i] = (struct pollfd){
                    a->c.fd, (short)(POLLIN | (rpc_client_want_write(&a->c) ? POLLOUT : 0)), 0};
            }
            poll(pf, n, paced ? 1 : 0);
            for (size_t i = 0; i < n; i++)
                if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                    drain(&ag[i], &lat);
        }
        /* Close the window: a ping behind everything sent. */
        for (size_t i = 0; i < n; i++) {
            ag[i].pong = false;
            if (rpc_client_ping(&ag[i].c, 1))
                die("ping");
        }
        for (size_t done = 0; done < n;) {
            done = 0;
            for (size_t i = 0; i < n; i++) {
                if (rpc_client_flush(&ag[i].c))
                    die("send");
                pf[i] = (struct pollfd){
                    ag[i].c.fd, (short)(POLLIN | (rpc_client_want_write(&ag[i].c) ? POLLOUT : 0)),
                    0};
                done += ag[i].pong;
            }
            if (done < n && poll(pf, n, 1000) > 0)
                for (size_t i = 0; i < n; i++)
                    if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                        drain(&ag[i], &lat);
        }
        double elapsed = weft_mono_s() - t0;
        double gw_cpu = (cpu_of(child) - cg0) / elapsed, me_cpu = (cpu_self() - cs0) / elapsed;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += ag[i].n_sent;
        total -= total0;
        size_t pushes = lat.n;
        double p50 = pct(&lat, 0.5) * 1e3, p99 = pct(&lat, 0.99) * 1e3,
               mx = lat.n ? lat.v[lat.n - 1] * 1e3 : NAN;
        const char *name = paced ? "paced" : "saturation";
        char offered[32];
        snprintf(offered, sizeof offered, paced ? "%.0f" : "max", rate);
        /* No push timed: every chain reached its last flow before this
           phase (the last flow never completes), so there is no latency
           to report: "-" rather than nan. */
        char lat_s[3][16], lat_b[3][16];
        const double lv[3] = {p50, p99, mx};
        for (int k = 0; k < 3; k++) {
            snprintf(lat_s[k], sizeof lat_s[k], pushes ? "%.3f" : "-", lv[k]);
            snprintf(lat_b[k], sizeof lat_b[k], pushes ? "%.4f" : "-", lv[k]);
        }
        if (!pushes)
            fprintf(stderr, "bench_gateway: phase %s: no completion was pushed (every chain "
                    "had reached its last coflow); raise --chain to time this phase\n", name);
        printf("%-11s %12s %12.0f %10zu %10s %10s %10s %7.0f%% %8.0f%%\n", name, offered,
               (double)total / elapsed, pushes, lat_s[0], lat_s[1], lat_s[2], 100 * gw_cpu,
               100 * me_cpu);
        printf("BENCH gateway phase=%s agents=%zu offered=%s handled_per_s=%.0f pushes=%zu "
               "p50_ms=%s p99_ms=%s max_ms=%s journal=%d gateway_cpu=%.3f bench_cpu=%.3f\n",
               name, n, offered, (double)total / elapsed, pushes, lat_b[0], lat_b[1], lat_b[2],
               journal != NULL, gw_cpu, me_cpu);
        fflush(stdout);
    }
    for (size_t i = 0; i < n; i++)
        rpc_client_destroy(&ag[i].c);
    rpc_client_destroy(&cl);
    coflow_workload_destroy(&wl);
    free(ag);
    free(pf);
    free(lat.v);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    gateway_pid = 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
