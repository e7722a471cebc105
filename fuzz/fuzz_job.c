/*
 * fuzz_job.c - libFuzzer target for the gateway's job maps (rpc/job.c),
 * what a `register` message carries. The input is one frame payload: it
 * goes through the frame decoder first (as on the wire: a 4-byte length is
 * put in front, cap 8192), and a frame that passes is parsed as a job map
 * (its "job" value if it has one, as in a register message, else the map
 * itself) on an 8-port fabric. Checks:
 *   - a refusal has a non-empty detail;
 *   - an accepted job is one finished job whose ports are below 8, whose
 *     bytes are finite and > 0, and whose parents are coflows of the job;
 *   - it packs back (rpc_job_pack) into a map that parses to the same job:
 *     ids, weight, compute times, flows and parents.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_rpc.h"
#include "rpc/client.h"

#define CAP 8192
#define PORTS 8

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz check failed: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void check_same(const coflow_workload_t *a, const coflow_workload_t *b)
{
    if (a->n_jobs != 1 || b->n_jobs != 1 || a->n_coflows != b->n_coflows ||
        a->n_flows != b->n_flows || a->n_parents != b->n_parents)
        die("the job did not survive pack and parse (sizes)", NULL);
    const coflow_job_t *ja = &a->jobs[0], *jb = &b->jobs[0];
    if (ja->id != jb->id || ja->weight != jb->weight ||
        ja->final_compute_s != jb->final_compute_s)
        die("the job did not survive pack and parse (job fields)", NULL);
    for (size_t c = 0; c < a->n_coflows; c++) {
        const coflow_coflow_t *x = &a->coflows[c], *y = &b->coflows[c];
        if (x->id != y->id || x->compute_s != y->compute_s || x->n_flows != y->n_flows ||
            x->n_parents != y->n_parents)
            die("the job did not survive pack and parse (coflow)", NULL);
        for (size_t k = 0; k < x->n_parents; k++)
            if (a->parents[x->first_parent + k] != b->parents[y->first_parent + k])
                die("the job did not survive pack and parse (parents)", NULL);
    }
    for (size_t f = 0; f < a->n_flows; f++)
        if (a->flows[f].src != b->flows[f].src || a->flows[f].dst != b->flows[f].dst ||
            a->flows[f].bytes != b->flows[f].bytes)
            die("the job did not survive pack and parse (flow)", NULL);
}

static void check_job(const coflow_workload_t *wl)
{
    if (wl->n_jobs != 1 || wl->job_open || wl->jobs[0].n_coflows != wl->n_coflows)
        die("an accepted job is not one finished job", NULL);
    for (size_t f = 0; f < wl->n_flows; f++)
        if (wl->flows[f].src >= PORTS || wl->flows[f].dst >= PORTS ||
            !(wl->flows[f].bytes > 0) || !isfinite(wl->flows[f].bytes))
            die("an accepted flow has a bad port or size", NULL);
    for (size_t k = 0; k < wl->n_parents; k++)
        if (wl->parents[k] >= wl->n_coflows)
            die("an accepted parent is not a coflow of the job", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CAP)
        return 0;
    unsigned char h[4] = {(unsigned char)(size >> 24), (unsigned char)(size >> 16),
                          (unsigned char)(size >> 8), (unsigned char)size};
    rpc_limits_t lim = {CAP, 0};
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, &lim);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t taken;
    coflow_fabric_t fab;
    if (coflow_fabric_init(&fab, PORTS, 1e9))
        die("fabric", NULL);
    if (rpc_decoder_feed(&dec, h, 4, &taken) == WEFT_OK &&
        rpc_decoder_feed(&dec, data, size, &taken) == WEFT_OK &&
        rpc_decoder_next(&dec, &fr) == 1) {
        const msgpack_object *job = rpc_map_get(&fr.msg.data, "job");
        if (!job)
            job = &fr.msg.data;
        coflow_workload_t wl;
        weft_clear_error();
        weft_err_t err = rpc_job_parse(&fab, job, &wl);
        if (err && !weft_last_error()[0])
            die("a refused job has an empty detail", weft_strerror(err));
        if (!err) {
            check_job(&wl);
            coflow_workload_t again;
            if (fuzz_pack_and_parse(&wl, 0, &fab, &again))
                die("a packed job is refused", weft_last_error());
            check_same(&wl, &again);
            coflow_workload_destroy(&again);
        }
        coflow_workload_destroy(&wl);
    }
    coflow_fabric_destroy(&fab);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    return 0;
}
