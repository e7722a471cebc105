/*
 * job.c - a job as the protocol carries it (docs/protocol.md, "register"):
 * one msgpack map of the job, its coflows, their flows and parents.
 * rpc_job_pack writes one from a workload, rpc_job_parse reads one back
 * with the same checks as weft's workload readers (coflow_workload_add_*
 * and dag_analyze), so what the gateway accepts is what `weft sim` would.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "dag/dag.h"

static weft_err_t parse_coflow(const msgpack_object *co, coflow_workload_t *wl, size_t k)
{
    weft_err_t err;
    if (co->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EPROTO, "coflow #%zu is not a map", k);
    int64_t id;
    double compute = 0;
    const msgpack_object_array *flows;
    if ((err = rpc_get_int(co, "id", INT64_MIN, INT64_MAX, &id)))
        return weft_wrap(err, "coflow #%zu: ", k);
    /* named by its id, as every later check names it (by its place in the
       job, "coflow #0", before 2026-12-06) */
    if ((err = rpc_get_num_opt(co, "compute", 0, 1e12, &compute)) ||
        (err = rpc_get_array(co, "flows", &flows)))
        return weft_wrap(err, "coflow %lld: ", (long long)id);
    if ((err = coflow_workload_add_coflow(wl, id, compute)))
        return err;
    if (flows->size == 0)
        return weft_fail(WEFT_EPROTO, "coflow %lld has no flows", (long long)id);
    for (uint32_t i = 0; i < flows->size; i++) {
        const msgpack_object *f = &flows->ptr[i];
        int64_t src, dst;
        double bytes;
        const msgpack_object *b = f->type == MSGPACK_OBJECT_ARRAY && f->via.array.size == 3
                                      ? &f->via.array.ptr[2] : NULL;
        if (!b || !rpc_obj_int(&f->via.array.ptr[0], &src) ||
            !rpc_obj_int(&f->via.array.ptr[1], &dst) ||
            (b->type != MSGPACK_OBJECT_FLOAT32 && b->type != MSGPACK_OBJECT_FLOAT64 &&
             !rpc_obj_num(b, &bytes)))
            return weft_fail(WEFT_EPROTO,
                             "coflow %lld: flow #%u is not [src port, dst port, bytes]",
                             (long long)id, i);
        if (!rpc_obj_num(b, &bytes)) /* a float, but NaN or infinite */
            return weft_fail(WEFT_EINVAL, "coflow %lld: flow #%u: bytes must be a finite "
                             "number > 0, got %g", (long long)id, i, b->via.f64);
        if (src < 0 || dst < 0 || src > UINT32_MAX || dst > UINT32_MAX)
            return weft_fail(WEFT_EINVAL, "coflow %lld: flow #%u: port %lld is negative or "
                             "too large", (long long)id, i, (long long)(src < 0 ? src : dst));
        if ((err = coflow_workload_add_flow(wl, (uint32_t)src, (uint32_t)dst, bytes)))
            return err;
    }
    const msgpack_object *par = rpc_map_get(co, "parents");
    if (par) {
        if (par->type != MSGPACK_OBJECT_ARRAY)
            return weft_fail(WEFT_EPROTO, "coflow %lld: field 'parents' is not an array",
                             (long long)id);
        for (uint32_t i = 0; i < par->via.array.size; i++) {
            int64_t p;
            if (!rpc_obj_int(&par->via.array.ptr[i], &p))
                return weft_fail(WEFT_EPROTO, "coflow %lld: parent #%u is not an integer",
                                 (long long)id, i);
            if ((err = coflow_workload_add_parent(wl, p)))
                return err;
        }
    }
    return WEFT_OK;
}

/* Whether msg names job id: "job ID" followed by a space, a colon, a comma
 * or its end. */
static bool names_job(const char *msg, int64_t id)
{
    char name[32];
    int n = snprintf(name, sizeof name, "job %lld", (long long)id);
    for (const char *p = strstr(msg, name); p; p = strstr(p + 1, name))
        if (p[n] == '\0' || strchr(" :,", p[n]))
            return true;
    return false;
}

weft_err_t rpc_job_parse(const coflow_fabric_t *fab, const msgpack_object *job,
                         coflow_workload_t *tmp)
{
    weft_err_t err = WEFT_OK;
    coflow_workload_init(tmp, fab->n_ports);
    if (!job || job->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EPROTO, "field 'job' is missing or not a map");
    int64_t id;
    double weight = 1, final_compute = 0;
    const msgpack_object_array *cos;
    if ((err = rpc_get_int(job, "id", INT64_MIN, INT64_MAX, &id)))
        return weft_wrap(err, "job: ");
    if ((err = rpc_get_num_opt(job, "weight", 1e-300, 1e300, &weight)) ||
        (err = rpc_get_num_opt(job, "final_compute", 0, 1e12, &final_compute)) ||
        (err = rpc_get_array(job, "coflows", &cos)))
        return weft_wrap(err, "job %lld: ", (long long)id);
    if (cos->size == 0)
        return weft_fail(WEFT_EPROTO, "job %lld has no coflows", (long long)id);
    WEFT_CHECK(coflow_workload_add_job(tmp, id, 0, weight, final_compute));
    for (uint32_t k = 0; k < cos->size; k++)
        WEFT_CHECK(parse_coflow(&cos->ptr[k], tmp, k));
    WEFT_CHECK(coflow_workload_finish_job(tmp));
    WEFT_CHECK(dag_analyze(tmp, fab));
    return WEFT_OK;
cleanup:
    /* coflow_workload_add_* and dag_analyze name the job already ("job 5
       coflow 1: ...", "cycle in job 5"): wrapped, it read "job 5: job 5 ..." */
    return names_job(weft_last_error(), id) ? err : weft_wrap(err, "job %lld: ", (long long)id);
}

int64_t rpc_job_max_port(const msgpack_object *job)
{
    int64_t top = -1, port;
    const msgpack_object_array *cos, *flows;
    if (!job || job->type != MSGPACK_OBJECT_MAP || rpc_get_array(job, "coflows", &cos))
        return -1;
    for (uint32_t k = 0; k < cos->size; k++) {
        if (cos->ptr[k].type != MSGPACK_OBJECT_MAP || rpc_get_array(&cos->ptr[k], "flows", &flows))
            continue;
        for (uint32_t i = 0; i < flows->size; i++) {
            const msgpack_object *f = &flows->ptr[i];
            if (f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size != 3)
                continue;
            for (int e = 0; e < 2; e++)
                if (rpc_obj_int(&f->via.array.ptr[e], &port) && port <= UINT32_MAX &&
                    port > top)
                    top = port;
        }
    }
    return top;
}

/* Packs v (finite) in the smallest msgpack form that holds it exactly: an
 * integer of 1 to 5 bytes, a float32, an integer or float64 of 9. So a
 * number re-packed is never longer than it came in whatever form a client
 * chose, and a job re-packed never longer than its registration (the
 * journal's rewrite re-packs every job it holds under the record cap). */
static void pack_number(msgpack_packer *pk, double v)
{
    if (v == floor(v) && v >= -2147483648.0 && v < 4294967296.0) {
        if (v < 0)
            msgpack_pack_int64(pk, (int64_t)v);
        else
            msgpack_pack_uint64(pk, (uint64_t)v);
    } else if (fabs(v) <= FLT_MAX && (double)(float)v == v) {
        msgpack_pack_float(pk, (float)v);
    } else {
        msgpack_pack_double(pk, v);
    }
}

void rpc_job_pack(msgpack_packer *pk, const coflow_workload_t *wl, size_t j)
{
    const coflow_job_t *job = &wl->jobs[j];
    /* the defaults left out, as a registration may */
    bool weighted = job->weight != 1, final = job->final_compute_s != 0;
    msgpack_pack_map(pk, 2 + weighted + final);
    rpc_pack_cstr(pk, "id"), msgpack_pack_int64(pk, job->id);
    if (weighted)
        rpc_pack_cstr(pk, "weight"), pack_number(pk, job->weight);
    if (final)
        rpc_pack_cstr(pk, "final_compute"), pack_number(pk, job->final_compute_s);
    rpc_pack_cstr(pk, "coflows"), msgpack_pack_array(pk, job->n_coflows);
    for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
        const coflow_coflow_t *co = &wl->coflows[c];
        bool computes = co->compute_s != 0;
        msgpack_pack_map(pk, 2 + computes + (co->n_parents > 0));
        rpc_pack_cstr(pk, "id"), msgpack_pack_int64(pk, co->id);
        if (computes)
            rpc_pack_cstr(pk, "compute"), pack_number(pk, co->compute_s);
        if (co->n_parents > 0) {
            rpc_pack_cstr(pk, "parents"), msgpack_pack_array(pk, co->n_parents);
            for (size_t k = 0; k < co->n_parents; k++)
                msgpack_pack_int64(pk, wl->coflows[wl->parents[co->first_parent + k]].id);
        }
        rpc_pack_cstr(pk, "flows"), msgpack_pack_array(pk, co->n_flows);
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
            msgpack_pack_array(pk, 3);
            msgpack_pack_uint32(pk, wl->flows[f].src);
            msgpack_pack_uint32(pk, wl->flows[f].dst);
            pack_number(pk, wl->flows[f].bytes);
        }
    }
}
