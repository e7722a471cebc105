/*
 * fuzz_sched.c - libFuzzer target for the gateway's online scheduler
 * (rpc/sched.c): the input is a program of the calls the gateway makes
 * (rpc/server.c), on 4 ports, with the values an agent or a client could
 * send, and after every decision the rates pushed must obey the fabric.
 *
 * Input: byte 0 picks the policy (the learned one with a random model that
 * keeps its order while its coflows stay the same, so the order carried
 * over each rebuild is exercised too), byte 1 whether rebuilds count as slow
 * (so the live state is rebuilt late and decisions run on a stale one, as
 * with many jobs in flight); then one operation per byte, its arguments
 * in the bytes after it:
 *   register a job (1-3 coflows of 1-3 flows, parents among the earlier
 *     coflows, compute times), packed as a register message carries it and
 *     parsed by rpc_job_parse; an id already used or compacted away is not
 *     registered again (the gateway acknowledges it instead);
 *   progress / done reports about a flow id given out, or just past one;
 *   cancel a job; an agent going or coming (rpc_sched_set_port_present, and
 *     rpc_sched_forget_port when it comes, as at its hello); a port's rate;
 *     a model reload (rpc_sched_renew_ordering); rpc_sched_forget;
 *   a tick and a decision at a later time, its changes taken as pushed,
 *     job_done cleared and finished jobs compacted, as decide_cb does.
 * Checks after each decision (on a live state that is not stale, whose
 * capacities are the ports' current ones): every rate pushed is finite and
 * >= 0; no unfinished flow of a port without an agent has a rate; on each
 * port the rates of the unfinished flows add up to at most its rate (over
 * by the share a rate may lag, as one within RPC_RATE_REL_TOL of the last
 * pushed is not pushed again).
 * Sanitizers catch the rest (and leaks at the end of each input).
 */
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coflow/coflow.h"
#include "coflow/learned.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_rpc.h"
#include "rpc/client.h"
#include "rpc/gateway.h"

#define PORTS 4
#define MAX_JOBS 64

/* A job from the input: packed into a register message's map and parsed
 * as the gateway parses it. 0 and tmp, or an error (a refused job). */
static weft_err_t make_job(fuzz_input_t *in, const coflow_fabric_t *fab, int64_t id,
                           coflow_workload_t *tmp)
{
    coflow_workload_t wl;
    weft_err_t err = fuzz_build_job(in, PORTS, id, true, &wl);
    if (!err)
        err = fuzz_pack_and_parse(&wl, 0, fab, tmp);
    coflow_workload_destroy(&wl);
    return err;
}

/* The invariants of what the decision just pushed (see the top). */
static void check_pushed(const rpc_sched_t *s, const bool *absent)
{
    for (size_t i = 0; i < s->n_changes; i++)
        if (!s->changes[i].drop && !(isfinite(s->changes[i].rate) && s->changes[i].rate >= 0))
            fuzz_die("a pushed rate is not finite and >= 0", NULL);
    if (s->stale || s->need_rebuild)
        return; /* decided on capacities of before: checked once rebuilt */
    double out[PORTS] = {0}, in[PORTS] = {0};
    for (size_t f = 0; f < s->all.n_flows; f++) {
        if (s->fdone[f] || !s->announced[f] || s->push_rate[f] <= 0)
            continue;
        uint32_t src = s->all.flows[f].src, dst = s->all.flows[f].dst;
        if (absent[src] || absent[dst])
            fuzz_die("a flow of a port without an agent has a rate", NULL);
        out[src] += s->push_rate[f];
        in[dst] += s->push_rate[f];
    }
    double over = (1 + 1e-9) / (1 - RPC_RATE_REL_TOL);
    for (size_t p = 0; p < PORTS; p++)
        if (out[p] > s->fab.cap_out[p] * over || in[p] > s->fab.cap_in[p] * over) {
            char d[128];
            snprintf(d, sizeof d, "port %zu: %.17g out, %.17g in, rate %.17g", p, out[p], in[p],
                     s->fab.cap_out[p]);
            fuzz_die("a port is given more than its rate", d);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const policies[][2] = {
        {"sebf", NULL}, {"fifo", "greedy"}, {"fifo", "fair"}, {"sincronia", NULL},
        {"aalo", NULL}, {"jsebf-cp", NULL}, {"scf", "srf"},   {"wcp", "greedy"},
        {"learned", NULL}};
    /* the learned ordering's model, drawn once for the process */
    static coflow_learned_model_t model;
    static coflow_learned_hook_t hook = {.model = &model};
    static bool have_model;
    if (!have_model) {
        if (coflow_learned_model_random(&model, 7))
            fuzz_die("coflow_learned_model_random", weft_last_error());
        model.set_changes_only = true;
        have_model = true;
    }
    fuzz_input_t in = {data, size};
    unsigned pick = fuzz_next(&in) % (sizeof policies / sizeof *policies);
    unsigned flags = fuzz_next(&in);
    bool slow = flags % 2;
    /* finished jobs remembered (--keep-finished): 0, 1, 2 or all */
    size_t keep = (flags >> 1) % 4 == 3 ? SIZE_MAX : (flags >> 1) % 4;
    const coflow_ordering_t *ord = coflow_ordering_find(policies[pick][0]);
    const coflow_allocator_t *alloc =
        policies[pick][1] ? coflow_allocator_find(policies[pick][1]) : NULL;
    if (!ord || (policies[pick][1] && !alloc))
        fuzz_die("a policy is not registered", policies[pick][0]);
    rpc_sched_t s;
    if (rpc_sched_init(&s, PORTS, 1e6, ord, alloc))
        fuzz_die("rpc_sched_init", weft_last_error());
    s.policy_hook = &hook; /* read by the learned ordering only */
    s.rebuild_defer = 4;
    s.keep_finished = keep;
    bool absent[PORTS] = {false};
    int64_t ids[MAX_JOBS];
    uint64_t first[MAX_JOBS], end[MAX_JOBS];
    size_t n_ids = 0;
    double now = 0;
    weft_err_t err = WEFT_OK;
    while (in.n && !err) {
        unsigned op = fuzz_next(&in) % 11;
        if (op == 0 && n_ids < MAX_JOBS) { /* register */
            int64_t id = (int64_t)n_ids;
            if (fuzz_next(&in) % 8 == 0 && n_ids) /* a resend: acknowledged, not added */
                id = ids[fuzz_next(&in) % n_ids];
            uint64_t gf;
            double gj;
            if (rpc_sched_find_job(&s, id) != SIZE_MAX || rpc_sched_find_gone(&s, id, &gf, &gj) ||
                rpc_sched_forgotten(&s, id))
                continue;
            coflow_workload_t tmp;
            if (make_job(&in, &s.fab, id, &tmp) == WEFT_OK) {
                err = rpc_sched_commit_job(&s, &tmp, now, &first[n_ids]);
                end[n_ids] = first[n_ids] + tmp.n_flows;
                ids[n_ids++] = id;
            }
            coflow_workload_destroy(&tmp);
        } else if ((op == 1 || op == 2) && n_ids) { /* progress, done */
            size_t j = fuzz_next(&in) % n_ids;
            uint64_t fid = first[j] + fuzz_next(&in) % (end[j] - first[j] + 1); /* or one past */
            size_t f;
            int r;
            if (op == 1) {
                double frac = fuzz_next(&in) / 200.0; /* up to 1.275: past the end too */
                r = rpc_sched_flow_index(&s, fid, &f) == 1
                        ? rpc_sched_progress(&s, fid, frac * s.all.flows[f].bytes)
                        : rpc_sched_progress(&s, fid, 1);
            } else {
                r = rpc_sched_check_done(&s, fid);
            }
            if (r == 1)
                err = rpc_sched_finish(&s, fid, now);
            (void)rpc_sched_missed_drop(&s, fid);
        } else if (op == 3 && n_ids) { /* cancel */
            int r = rpc_sched_cancel(&s, ids[fuzz_next(&in) % n_ids], now);
            if (r < 0 && r != WEFT_ENOTFOUND)
                err = r;
        } else if (op == 4) { /* an agent goes or comes */
            unsigned b = fuzz_next(&in), p = b % PORTS;
            bool present = b & 4;
            absent[p] = !present;
            rpc_sched_set_port_present(&s, p, present);
            if (present)
                rpc_sched_forget_port(&s, p);
        } else if (op == 5) { /* a port's own rate */
            unsigned b = fuzz_next(&in);
            /* NOLINTNEXTLINE(bugprone-integer-division): whole steps */
            if (rpc_sched_set_port_rate(&s, b % PORTS, 1e5 * (1 + b / PORTS)))
                fuzz_die("a positive rate refused", weft_last_error());
        } else if (op == 6) {
            rpc_sched_renew_ordering(&s);
        } else if (op == 7 && n_ids) {
            size_t j = fuzz_next(&in) % n_ids;
            rpc_sched_forget(&s, first[j] + fuzz_next(&in) % (end[j] - first[j]));
        } else { /* a tick and a decision */
            now += 1e-3 * (1 + fuzz_next(&in));
            if (slow) /* the last rebuild took long: the next ones may wait */
                s.rebuild_cost_s = 1;
            if (!(err = rpc_sched_tick(&s, now)) && s.dirty &&
                !(err = rpc_sched_decide(&s, now))) {
                check_pushed(&s, absent);
                for (size_t i = 0; i < s.n_changes; i++) /* to an agent not there */
                    if (absent[s.changes[i].src])
                        rpc_sched_forget(&s, s.changes[i].fid);
            }
            s.n_jobs_done = 0;
            if (!err && !(err = rpc_sched_retain(&s)) && s.n_retained > keep)
                fuzz_die("more finished jobs remembered than kept", NULL);
            s.n_forgot_now = 0;
            rpc_sched_compact(&s, 2);
        }
    }
    if (err)
        fuzz_die("the scheduler failed", weft_last_error());
    rpc_sched_destroy(&s);
    return 0;
}
