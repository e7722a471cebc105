/*
 * msg.c - reading and writing the fields of protocol messages
 * (docs/protocol.md). Frames reaching these helpers were already validated
 * by the decoder (frame.c): every count fits in the bytes present, so the
 * helpers only check presence, types and ranges, and name the field in
 * every error.
 */
#include <math.h>
#include <string.h>

#include "rpc.h"

const msgpack_object *rpc_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            !memcmp(k->via.str.ptr, key, n))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool rpc_map_true(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = rpc_map_get(map, key);
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

bool rpc_obj_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return false;
        *v = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    return false;
}

bool rpc_obj_num(const msgpack_object *o, double *d)
{
    int64_t v;
    if (rpc_obj_int(o, &v)) {
        *d = (double)v;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *d = (double)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) {
        *d = o->via.f64;
        return isfinite(*d);
    }
    return false;
}

/* The field key of map, which must be there and of msgpack type `type`
 * (named `what` in the error). */
static weft_err_t get_typed(const msgpack_object *map, const char *key, msgpack_object_type type,
                            const char *what, const msgpack_object **out)
{
    const msgpack_object *o = rpc_map_get(map, key);
    if (!o)
        return weft_fail(WEFT_EPROTO, "field '%s' is missing", key);
    if (o->type != type)
        return weft_fail(WEFT_EPROTO, "field '%s' is not %s", key, what);
    *out = o;
    return WEFT_OK;
}

weft_err_t rpc_get_str(const msgpack_object *map, const char *key, const char **s, size_t *n)
{
    const msgpack_object *o = NULL;
    weft_err_t err = get_typed(map, key, MSGPACK_OBJECT_STR, "a string", &o);
    if (err)
        return err;
    *s = o->via.str.ptr;
    *n = o->via.str.size;
    return WEFT_OK;
}

static weft_err_t get_int(const msgpack_object *map, const char *key, int64_t lo, int64_t hi,
                          int64_t *out, bool required)
{
    const msgpack_object *o = rpc_map_get(map, key);
    if (!o)
        return required ? weft_fail(WEFT_EPROTO, "field '%s' is missing", key) : WEFT_OK;
    int64_t v;
    if (!rpc_obj_int(o, &v))
        return weft_fail(WEFT_EPROTO, "field '%s' is not an integer", key);
    if (v < lo || v > hi)
        return weft_fail(WEFT_EPROTO, "field '%s' is %lld, expected %lld..%lld", key,
                         (long long)v, (long long)lo, (long long)hi);
    *out = v;
    return WEFT_OK;
}

weft_err_t rpc_get_int(const msgpack_object *map, const char *key, int64_t lo, int64_t hi,
                       int64_t *out)
{
    return get_int(map, key, lo, hi, out, true);
}

weft_err_t rpc_get_int_opt(const msgpack_object *map, const char *key, int64_t lo, int64_t hi,
                           int64_t *out)
{
    return get_int(map, key, lo, hi, out, false);
}

weft_err_t rpc_get_num_opt(const msgpack_object *map, const char *key, double lo, double hi,
                           double *out)
{
    const msgpack_object *o = rpc_map_get(map, key);
    if (!o)
        return WEFT_OK;
    double d;
    if (!rpc_obj_num(o, &d))
        return weft_fail(WEFT_EPROTO, "field '%s' is not a finite number", key);
    if (d < lo || d > hi)
        return weft_fail(WEFT_EPROTO, "field '%s' is %g, expected %g..%g", key, d, lo, hi);
    *out = d;
    return WEFT_OK;
}

double rpc_keepalive_s(const msgpack_object *welcome)
{
    double idle = 0;
    if (rpc_get_num_opt(welcome, "idle", 0, 1e9, &idle) || !(idle > 0))
        return RPC_KEEPALIVE_S;
    return idle / 3 < RPC_KEEPALIVE_S ? idle / 3 : RPC_KEEPALIVE_S;
}

weft_err_t rpc_get_array(const msgpack_object *map, const char *key,
                         const msgpack_object_array **out)
{
    const msgpack_object *o = NULL;
    weft_err_t err = get_typed(map, key, MSGPACK_OBJECT_ARRAY, "an array", &o);
    if (err)
        return err;
    *out = &o->via.array;
    return WEFT_OK;
}

void rpc_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* An error frame, with "job" unless job is INT64_MIN, and why's fields
 * unless it is NULL. */
static weft_err_t pack_error(msgpack_sbuffer *out, const char *code, const char *message,
                             int64_t job, const rpc_error_why_t *why)
{
    size_t mark;
    msgpack_packer pk;
    weft_err_t err = rpc_frame_begin_packer(out, &mark, &pk);
    if (err)
        return err;
    size_t n = 3 + (job != INT64_MIN) + (why ? 1 + 2 * why->has_range : 0);
    msgpack_pack_map(&pk, n);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, "error");
    rpc_pack_cstr(&pk, "code"), rpc_pack_cstr(&pk, code);
    rpc_pack_cstr(&pk, "message"), rpc_pack_cstr(&pk, message);
    if (job != INT64_MIN)
        rpc_pack_cstr(&pk, "job"), msgpack_pack_int64(&pk, job);
    if (why)
        rpc_pack_cstr(&pk, "why"), rpc_pack_cstr(&pk, why->why);
    if (why && why->has_range) {
        rpc_pack_cstr(&pk, "lo"), msgpack_pack_int64(&pk, why->lo);
        rpc_pack_cstr(&pk, "hi"), msgpack_pack_int64(&pk, why->hi);
    }
    return rpc_frame_end(out, mark, 0);
}

weft_err_t rpc_pack_error(msgpack_sbuffer *out, const char *code, const char *message)
{
    return pack_error(out, code, message, INT64_MIN, NULL);
}

weft_err_t rpc_pack_error_why(msgpack_sbuffer *out, const char *code, const char *message,
                              const rpc_error_why_t *why)
{
    return pack_error(out, code, message, INT64_MIN, why);
}

weft_err_t rpc_pack_error_job(msgpack_sbuffer *out, const char *code, const char *message,
                              int64_t job)
{
    return pack_error(out, code, message, job, NULL);
}

weft_err_t rpc_pack_simple_seq(msgpack_sbuffer *out, const char *type, bool has_seq,
                               int64_t seq)
{
    size_t mark;
    msgpack_packer pk;
    weft_err_t err = rpc_frame_begin_packer(out, &mark, &pk);
    if (err)
        return err;
    msgpack_pack_map(&pk, has_seq ? 2 : 1);
    rpc_pack_cstr(&pk, "type"), rpc_pack_cstr(&pk, type);
    if (has_seq)
        rpc_pack_cstr(&pk, "seq"), msgpack_pack_int64(&pk, seq);
    return rpc_frame_end(out, mark, 0);
}

weft_err_t rpc_pack_simple(msgpack_sbuffer *out, const char *type, int64_t seq)
{
    return rpc_pack_simple_seq(out, type, seq >= 0, seq);
}
