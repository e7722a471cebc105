/*
 * frame.c - the wire frame decoder and encoder of rpc.h: a 4-byte
 * big-endian length, then one msgpack map of that many bytes.
 *
 * Invariants of rpc_decoder_t:
 *   - start <= scan <= len <= buf_cap <= max_frame + 4 (buf_cap grows by
 *     doubling as bytes arrive, never from a length the peer declared);
 *   - every frame header in buf[start .. scan) has been checked against
 *     max_frame, and those frames are complete; at scan begins a frame
 *     whose header or payload is still incomplete (or nothing);
 *   - feed compacts (moves buf[start .. len) to the front) before copying,
 *     so a full buffer (len == max_frame + 4) always begins with a complete
 *     frame: feed can stop taking bytes and next can always make progress;
 *   - err != 0 means poisoned: buf is no longer read or written and every
 *     call replays err with errmsg.
 *
 * msgpack-c allocates from the counts a container declares (msgpack-c issue
 * #1013; STYLE.md), so a payload is walked structurally before msgpack-c
 * sees it (the same idea as attention/model.c's file walker, with the
 * limits of a frame): one map, every length and count within the bytes left
 * (an entry takes at least one byte), depth <= RPC_MAX_DEPTH, at most
 * max_objects objects, no trailing bytes. The walk is O(payload bytes) and
 * recursion is bounded by RPC_MAX_DEPTH.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"

#define INITIAL_BUF 4096 /* first allocation of a decoder's buffer, bytes */

/* ------------------------------------------------------------ walker */

typedef struct {
    const unsigned char *b; /* [have] the payload's bytes present */
    size_t len;         /* the payload's declared length */
    size_t have;        /* bytes present: len, or fewer for a prefix
                           (rpc_payload_prefix_ok) */
    size_t pos;         /* next byte */
    size_t objects;     /* objects seen so far, <= max_objects */
    size_t max_objects;
} walk_t;

/* Returned through the walk when it reaches the end of the bytes present
 * (only before the declared end, so only when checking a prefix): the
 * payload is fine so far. Not an error code: never leaves this file. */
#define WALK_SHORT ((weft_err_t)1)

/* The msgpack family of a type byte, in the spec's words. */
static const char *family(unsigned t)
{
    if (t <= 0x7f || t >= 0xe0) return "int";
    if (t <= 0x8f || t == 0xde || t == 0xdf) return "map";
    if (t <= 0x9f || t == 0xdc || t == 0xdd) return "array";
    if (t <= 0xbf || (t >= 0xd9 && t <= 0xdb)) return "str";
    switch (t) {
    case 0xc0: return "nil";
    case 0xc1: return "never-used byte 0xc1";
    case 0xc2: case 0xc3: return "bool";
    case 0xc4: case 0xc5: case 0xc6: return "bin";
    case 0xca: case 0xcb: return "float";
    case 0xcc: case 0xcd: case 0xce: case 0xcf: return "uint";
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return "int";
    default: return "ext"; /* 0xc7-0xc9, 0xd4-0xd8 */
    }
}

/* Reads the k-byte big-endian length field of the object at `at`. */
static weft_err_t walk_len(walk_t *w, size_t k, size_t at, unsigned t, uint64_t *v)
{
    if (w->len - w->pos < k)
        return weft_fail(WEFT_EPROTO,
                         "%s header at payload byte %zu needs %zu length bytes but only %zu follow",
                         family(t), at, k, w->len - w->pos);
    if (w->have - w->pos < k)
        return WALK_SHORT;
    *v = weft_read_be(w->b + w->pos, k);
    w->pos += k;
    return WEFT_OK;
}

/* Skips the `bytes` data bytes of the object at `at`. */
static weft_err_t walk_skip(walk_t *w, uint64_t bytes, size_t at, unsigned t)
{
    if (bytes > w->len - w->pos)
        return weft_fail(WEFT_EPROTO,
                         "%s declares %llu bytes but only %zu bytes follow (payload byte %zu)",
                         family(t), (unsigned long long)bytes, w->len - w->pos, at);
    if (bytes > w->have - w->pos)
        return WALK_SHORT;
    w->pos += (size_t)bytes;
    return WEFT_OK;
}

/* Checks one complete object at w->pos (a container at `depth`) and moves
 * past it. */
static weft_err_t walk_object(walk_t *w, int depth)
{
    size_t at = w->pos;
    if (w->pos >= w->len)
        return weft_fail(WEFT_EPROTO, "payload ends at byte %zu where an object should start",
                         w->len);
    if (w->pos >= w->have)
        return WALK_SHORT;
    if (w->objects >= w->max_objects)
        return weft_fail(WEFT_EPROTO, "payload byte %zu: frame holds more than %zu msgpack objects",
                         at, w->max_objects);
    w->objects++;
    unsigned t = w->b[w->pos++];
    uint64_t n = 0, entries;
    weft_err_t err;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return WEFT_OK; /* fixint, nil, bool */
    if (t >= 0xa0 && t <= 0xbf)
        return walk_skip(w, t & 0x1f, at, t); /* fixstr */
    if (t >= 0x80 && t <= 0x9f) {             /* fixmap, fixarray */
        n = t & 0x0f;
        entries = t <= 0x8f ? 2 * n : n;
        goto container;
    }
    switch (t) {
    case 0xc1:
        return weft_fail(WEFT_EPROTO, "payload byte %zu: 0xc1 is not a msgpack type", at);
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
        if ((err = walk_len(w, (size_t)1 << (t - 0xc4), at, t, &n)))
            return err;
        return walk_skip(w, n, at, t);
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        if ((err = walk_len(w, (size_t)1 << (t - 0xd9), at, t, &n)))
            return err;
        return walk_skip(w, n, at, t);
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: length, type byte, data */
        if ((err = walk_len(w, (size_t)1 << (t - 0xc7), at, t, &n)))
            return err;
        return walk_skip(w, n + 1, at, t);
    case 0xca: return walk_skip(w, 4, at, t);
    case 0xcb: return walk_skip(w, 8, at, t);
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        return walk_skip(w, (uint64_t)1 << (t - 0xcc), at, t);
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        return walk_skip(w, (uint64_t)1 << (t - 0xd0), at, t);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: type + 1..16 */
        return walk_skip(w, 1 + ((uint64_t)1 << (t - 0xd4)), at, t);
    case 0xdc: case 0xdd: /* array 16/32 */
        if ((err = walk_len(w, t == 0xdc ? 2 : 4, at, t, &n)))
            return err;
        entries = n;
        goto container;
    case 0xde: case 0xdf: /* map 16/32 */
        if ((err = walk_len(w, t == 0xde ? 2 : 4, at, t, &n)))
            return err;
        entries = 2 * n;
        goto container;
    default:
        return weft_fail(WEFT_EINTERNAL, "payload byte %zu: unhandled msgpack type 0x%02x", at, t);
    }
container:
    /* checked before anything loops over the count or allocates for it */
    if (depth > RPC_MAX_DEPTH)
        return weft_fail(WEFT_EPROTO, "payload byte %zu: containers nested deeper than %d", at,
                         RPC_MAX_DEPTH);
    if (entries > w->len - w->pos)
        return weft_fail(WEFT_EPROTO,
                         "%s declares %llu entries but only %zu bytes follow (payload byte %zu)",
                         family(t), (unsigned long long)n, w->len - w->pos, at);
    if (entries > w->max_objects - w->objects)
        return weft_fail(WEFT_EPROTO,
                         "%s declares %llu entries: frame holds more than %zu msgpack objects "
                         "(payload byte %zu)",
                         family(t), (unsigned long long)n, w->max_objects, at);
    for (uint64_t i = 0; i < entries; i++)
        if ((err = walk_object(w, depth + 1)))
            return err;
    return WEFT_OK;
}

/* The whole check of one payload of len bytes of which the first `have`
 * are present: exactly one map, nothing after it; with have < len, that
 * the bytes present could begin such a payload. */
static weft_err_t walk_payload(const unsigned char *b, size_t have, size_t len,
                               size_t max_objects)
{
    if (len == 0)
        return weft_fail(WEFT_EPROTO, "payload is empty, expected a map");
    if (have == 0)
        return WEFT_OK;
    unsigned t = b[0];
    if (!((t >= 0x80 && t <= 0x8f) || t == 0xde || t == 0xdf))
        return weft_fail(WEFT_EPROTO, "payload is a%s %s, expected a map",
                         strchr("aeiou", family(t)[0]) ? "n" : "", family(t));
    walk_t w = {b, len, have, 0, 0, max_objects};
    weft_err_t err = walk_object(&w, 1);
    if (err == WALK_SHORT)
        return WEFT_OK;
    if (err)
        return err;
    if (w.pos != len && have < len)
        return weft_fail(WEFT_EPROTO, "the map ends at payload byte %zu, short of the %zu "
                         "bytes declared", w.pos, len);
    if (w.pos != len)
        return weft_fail(WEFT_EPROTO, "%zu trailing bytes after the map (payload byte %zu)",
                         len - w.pos, w.pos);
    return WEFT_OK;
}

weft_err_t rpc_payload_prefix_ok(const void *bytes, size_t have, size_t len,
                                 size_t max_objects)
{
    if (have > len)
        return weft_fail(WEFT_EINVAL, "%zu bytes present of a %zu-byte payload", have, len);
    return walk_payload(bytes, have, len, max_objects ? max_objects : RPC_MAX_OBJECTS_DEFAULT);
}

/* ------------------------------------------------------------ decoder */

weft_err_t rpc_decoder_init(rpc_decoder_t *dec, const rpc_limits_t *limits)
{
    memset(dec, 0, sizeof *dec);
    dec->max_frame = limits && limits->max_frame ? limits->max_frame : RPC_MAX_FRAME_DEFAULT;
    dec->max_objects =
        limits && limits->max_objects ? limits->max_objects : RPC_MAX_OBJECTS_DEFAULT;
    if (dec->max_frame > UINT32_MAX)
        return weft_fail(WEFT_EINVAL, "frame cap of %zu bytes exceeds the 4-byte length's %lu",
                         dec->max_frame, (unsigned long)UINT32_MAX);
    return WEFT_OK;
}

void rpc_decoder_raise_cap(rpc_decoder_t *dec, size_t max_frame)
{
    if (max_frame <= dec->max_frame || max_frame > UINT32_MAX)
        return;
    dec->max_frame = max_frame;
    if (rpc_objects_for(max_frame) > dec->max_objects)
        dec->max_objects = rpc_objects_for(max_frame);
}

void rpc_decoder_destroy(rpc_decoder_t *dec)
{
    free(dec->buf);
    memset(dec, 0, sizeof *dec);
}

size_t rpc_decoder_pending(const rpc_decoder_t *dec) { return dec->len - dec->start; }

size_t rpc_decoder_first_frame_missing(const rpc_decoder_t *dec)
{
    size_t have = dec->len - dec->start;
    if (have < RPC_HEADER_BYTES)
        return RPC_HEADER_BYTES - have;
    /* a length over the cap poisoned the decoder when it was fed */
    size_t whole =
        RPC_HEADER_BYTES + (size_t)weft_read_be(dec->buf + dec->start, RPC_HEADER_BYTES);
    return have < whole ? whole - have : 0;
}

/* Poisons the decoder with err and the calling thread's detail, prefixed by
 * the number of the frame at fault (1 for the first). Returns err. */
static weft_err_t poison(rpc_decoder_t *dec, weft_err_t err, uint64_t frame)
{
    weft_wrap(err, "frame #%llu: ", (unsigned long long)frame);
    snprintf(dec->errmsg, sizeof dec->errmsg, "%s", weft_last_error());
    if (!dec->errmsg[0])
        snprintf(dec->errmsg, sizeof dec->errmsg, "frame #%llu: %s", (unsigned long long)frame,
                 weft_strerror(err));
    dec->err = err;
    return err;
}

static weft_err_t replay(const rpc_decoder_t *dec)
{
    return weft_fail(dec->err, "%s", dec->errmsg);
}

/* Moves scan past every complete frame, checking each header it reaches. */
static weft_err_t advance_scan(rpc_decoder_t *dec)
{
    while (dec->len - dec->scan >= RPC_HEADER_BYTES) {
        uint64_t plen = weft_read_be(dec->buf + dec->scan, RPC_HEADER_BYTES);
        if (plen > dec->max_frame) {
            weft_fail(WEFT_EPROTO, "frame of %llu bytes exceeds the %zu-byte cap",
                      (unsigned long long)plen, dec->max_frame);
            return poison(dec, WEFT_EPROTO, dec->scanned + 1);
        }
        if (dec->len - dec->scan - RPC_HEADER_BYTES < plen)
            break;
        dec->scan += RPC_HEADER_BYTES + (size_t)plen;
        dec->scanned++;
    }
    return WEFT_OK;
}

weft_err_t rpc_decoder_feed(rpc_decoder_t *dec, const void *bytes, size_t n, size_t *taken)
{
    *taken = 0;
    if (dec->err)
        return replay(dec);
    if (dec->start) { /* compact: the yielded bytes are gone */
        memmove(dec->buf, dec->buf + dec->start, dec->len - dec->start);
        dec->len -= dec->start;
        dec->scan -= dec->start;
        dec->start = 0;
    }
    const unsigned char *in = bytes;
    size_t limit = dec->max_frame + RPC_HEADER_BYTES;
    weft_err_t err = advance_scan(dec);
    while (!err && *taken < n) {
        size_t have = dec->len - dec->scan, want;
        if (have < RPC_HEADER_BYTES)
            want = RPC_HEADER_BYTES - have;
        else /* advance_scan left an incomplete payload of a checked length */
            want = RPC_HEADER_BYTES +
                   (size_t)weft_read_be(dec->buf + dec->scan, RPC_HEADER_BYTES) - have;
        if (want > n - *taken)
            want = n - *taken;
        if (want > limit - dec->len)
            want = limit - dec->len;
        if (want == 0)
            break; /* full of complete frames: the caller drains first */
        if (dec->len + want > dec->buf_cap) {
            size_t cap = dec->buf_cap ? dec->buf_cap : INITIAL_BUF;
            while (cap < dec->len + want)
                cap = cap > limit / 2 ? limit : 2 * cap;
            if (cap > limit)
                cap = limit;
            unsigned char *nb = realloc(dec->buf, cap);
            if (!nb) {
                weft_fail(WEFT_ENOMEM, "cannot grow the frame buffer to %zu bytes", cap);
                return poison(dec, WEFT_ENOMEM, dec->scanned + 1);
            }
            dec->buf = nb;
            dec->buf_cap = cap;
        }
        memcpy(dec->buf + dec->len, in + *taken, want);
        dec->len += want;
        *taken += want;
        dec->bytes_in += want;
        err = advance_scan(dec);
    }
    if (err)
        *taken = 0;
    return err;
}

void rpc_frame_init(rpc_frame_t *frame)
{
    memset(frame, 0, sizeof *frame);
    msgpack_unpacked_init(&frame->msg);
}

void rpc_frame_destroy(rpc_frame_t *frame)
{
    msgpack_unpacked_destroy(&frame->msg);
    free(frame->payload);
    memset(frame, 0, sizeof *frame);
}

int rpc_decoder_next(rpc_decoder_t *dec, rpc_frame_t *out)
{
    msgpack_unpacked_destroy(&out->msg);
    msgpack_unpacked_init(&out->msg);
    out->size = 0;
    if (dec->err)
        return replay(dec);
    size_t avail = dec->len - dec->start;
    if (avail < RPC_HEADER_BYTES)
        return 0;
    uint64_t plen = weft_read_be(dec->buf + dec->start, RPC_HEADER_BYTES);
    if (plen > dec->max_frame) { /* feed checks every header; kept as a guard */
        weft_fail(WEFT_EINTERNAL, "unchecked frame of %llu bytes over the %zu-byte cap",
                  (unsigned long long)plen, dec->max_frame);
        return poison(dec, WEFT_EINTERNAL, dec->frames + 1);
    }
    if (avail - RPC_HEADER_BYTES < plen)
        return 0; /* truncated so far: wait for more */
    const unsigned char *p = dec->buf + dec->start + RPC_HEADER_BYTES;
    size_t len = (size_t)plen;
    weft_err_t err = walk_payload(p, len, len, dec->max_objects);
    if (err)
        return poison(dec, err, dec->frames + 1);
    if (len > out->payload_cap) {
        size_t cap = out->payload_cap ? out->payload_cap : 256;
        while (cap < len)
            cap *= 2;
        char *nb = realloc(out->payload, cap);
        if (!nb) {
            weft_fail(WEFT_ENOMEM, "cannot allocate %zu bytes for a frame's payload", cap);
            return poison(dec, WEFT_ENOMEM, dec->frames + 1);
        }
        out->payload = nb;
        out->payload_cap = cap;
    }
    memcpy(out->payload, p, len);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&out->msg, out->payload, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len || out->msg.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&out->msg);
        msgpack_unpacked_init(&out->msg);
        if (rc == MSGPACK_UNPACK_NOMEM_ERROR) {
            weft_fail(WEFT_ENOMEM, "msgpack-c ran out of memory unpacking %zu bytes", len);
            return poison(dec, WEFT_ENOMEM, dec->frames + 1);
        }
        weft_fail(WEFT_EINTERNAL,
                  "msgpack-c refused a payload of %zu bytes the walker accepted (code %d, %zu "
                  "bytes used)",
                  len, (int)rc, off);
        return poison(dec, WEFT_EINTERNAL, dec->frames + 1);
    }
    out->size = len;
    dec->start += RPC_HEADER_BYTES + len;
    dec->frames++;
    if (dec->start == dec->len) /* empty: reuse the buffer from its start */
        dec->start = dec->scan = dec->len = 0;
    return 1;
}

/* ------------------------------------------------------------ encoder */

weft_err_t rpc_frame_begin(msgpack_sbuffer *out, size_t *mark)
{
    *mark = out->size;
    if (msgpack_sbuffer_write(out, "\0\0\0\0", RPC_HEADER_BYTES))
        return weft_fail(WEFT_ENOMEM, "cannot grow the output buffer for a frame header");
    return WEFT_OK;
}

weft_err_t rpc_frame_begin_packer(msgpack_sbuffer *out, size_t *mark, msgpack_packer *pk)
{
    weft_err_t err = rpc_frame_begin(out, mark);
    msgpack_packer_init(pk, out, msgpack_sbuffer_write);
    return err;
}

weft_err_t rpc_frame_end(msgpack_sbuffer *out, size_t mark, size_t max_frame)
{
    if (!max_frame)
        max_frame = RPC_MAX_FRAME_DEFAULT;
    if (mark > out->size || out->size - mark < RPC_HEADER_BYTES)
        return weft_fail(WEFT_EINVAL, "frame mark %zu is not a header in a buffer of %zu bytes",
                         mark, out->size);
    size_t len = out->size - mark - RPC_HEADER_BYTES;
    if (len > max_frame || len > UINT32_MAX) {
        out->size = mark;
        return weft_fail(WEFT_EINVAL, "frame of %zu bytes exceeds the %zu-byte cap", len,
                         max_frame);
    }
    unsigned char *h = (unsigned char *)out->data + mark;
    h[0] = (unsigned char)(len >> 24);
    h[1] = (unsigned char)(len >> 16);
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    return WEFT_OK;
}

weft_err_t rpc_frame_encode(msgpack_sbuffer *out, const msgpack_object *map, size_t max_frame)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EINVAL, "a frame holds a map, not msgpack object type %d",
                         (int)map->type);
    size_t mark;
    msgpack_packer pk;
    weft_err_t err = rpc_frame_begin_packer(out, &mark, &pk);
    if (err)
        return err;
    if (msgpack_pack_object(&pk, *map)) {
        out->size = mark;
        return weft_fail(WEFT_ENOMEM, "cannot grow the output buffer for a frame");
    }
    return rpc_frame_end(out, mark, max_frame);
}
