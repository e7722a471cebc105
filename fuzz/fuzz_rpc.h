/*
 * fuzz_rpc.h - what the gateway's fuzz targets share: a job packed into
 * a register message's map (rpc_job_pack) and parsed back as the gateway
 * parses it (rpc_job_parse).
 */
#ifndef FUZZ_RPC_H
#define FUZZ_RPC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz_common.h"
#include "rpc/client.h"

/* A job with id `id` on `ports` ports built from the input into wl
 * (initialised here): 1-3 coflows of 1-3 flows, parents among the earlier
 * coflows, a weight, and compute times if `timed` (without, the same
 * bytes are read and the times are 0: nothing waits on the clock).
 * Returns coflow_workload_finish_job's verdict; wl is to be destroyed
 * either way. */
static inline weft_err_t fuzz_build_job(fuzz_input_t *in, size_t ports, int64_t id, bool timed,
                                        coflow_workload_t *wl)
{
    coflow_workload_init(wl, ports);
    unsigned nc = 1 + fuzz_next(in) % 3;
    double t = timed ? 1 : 0;
    coflow_workload_add_job(wl, id, 0, 1 + fuzz_next(in) % 3, t * (fuzz_next(in) % 4) * 0.01);
    for (unsigned c = 0; c < nc; c++) {
        coflow_workload_add_coflow(wl, (int64_t)c, t * (fuzz_next(in) % 3) * 0.005);
        unsigned nf = 1 + fuzz_next(in) % 3;
        for (unsigned f = 0; f < nf; f++) {
            unsigned b = fuzz_next(in);
            coflow_workload_add_flow(wl, b % ports, (b / ports) % ports,
                                     1e3 * (1 + fuzz_next(in)));
        }
        if (c > 0 && fuzz_next(in) % 2)
            coflow_workload_add_parent(wl, (int64_t)(fuzz_next(in) % c));
    }
    return coflow_workload_finish_job(wl);
}

/* Job j of wl, packed and parsed on fab into out: rpc_job_parse's result
 * (a job a reader or builder accepted may still be refused, for a port
 * beyond fab). Aborts if the packed map does not unpack. */
static inline weft_err_t fuzz_pack_and_parse(const coflow_workload_t *wl, size_t j,
                                             const coflow_fabric_t *fab, coflow_workload_t *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rpc_job_pack(&pk, wl, j);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "fuzz check failed: a packed job does not unpack\n");
        abort();
    }
    weft_err_t err = rpc_job_parse(fab, &up.data, out);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return err;
}

#endif
