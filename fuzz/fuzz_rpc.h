/*
 * fuzz_rpc.h - what the gateway's fuzz targets share: a job packed into
 * a register message's map (rpc_job_pack) and parsed back as the gateway
 * parses it (rpc_job_parse).
 */
#ifndef FUZZ_RPC_H
#define FUZZ_RPC_H

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>

#include "rpc/client.h"

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
