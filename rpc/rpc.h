/*
 * rpc.h - the gateway's wire frames (DESIGN §7, docs/protocol.md).
 *
 * A frame is a 4-byte big-endian payload length followed by exactly that
 * many bytes holding ONE msgpack map. rpc_decoder_t is fed the bytes of one
 * connection as they arrive, in chunks of any size, and yields complete,
 * validated frames one at a time. It never trusts the peer:
 *
 *   - the payload length is checked against the frame cap as soon as the
 *     4 header bytes are present, before any payload byte is buffered; the
 *     decoder's buffer never holds more than cap + 4 bytes;
 *   - before msgpack-c sees a payload, a walker checks that it is exactly
 *     one msgpack map (no trailing bytes), that every declared str/bin/ext
 *     length and array/map count fits in the bytes present, that containers
 *     nest at most RPC_MAX_DEPTH deep and that the frame holds at most
 *     max_objects objects, so msgpack-c's allocation is bounded by the
 *     frame's size;
 *   - any violation is WEFT_EPROTO (WEFT_ENOMEM when memory runs out) with a
 *     detail naming the value and the limit, and poisons the decoder: every
 *     later call returns the same error with the same detail. The server
 *     answers with an error frame and closes the connection.
 *
 * The messages carried in frames (docs/protocol.md) are read with the
 * rpc_get_* helpers below, which name the message and field in every
 * error; the gateway itself is rpc/gateway.h, the client library
 * rpc/client.h.
 */
#ifndef RPC_H
#define RPC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/weft.h"

#define RPC_HEADER_BYTES 4                     /* the big-endian payload length */
#define RPC_MAX_FRAME_DEFAULT ((size_t)1 << 20) /* payload bytes per frame: 1 MiB */
/* The least frame cap a gateway takes (--max-frame): a hello with the
 * longest token, and any one entry of a message it splits (schedule,
 * peers), fit in it. */
#define RPC_MIN_FRAME ((size_t)4096)
/* Ports a gateway may have, the bound of workload files too
 * (WORKLOAD_MAX_PORTS): an agent told of more by a welcome refuses it
 * rather than allocate a peer table for them. */
#define RPC_MAX_PORTS ((size_t)1 << 20)
#define RPC_MAX_OBJECTS_DEFAULT ((size_t)1 << 18) /* msgpack objects per frame */
/* The object cap that goes with a frame cap: half its bytes, at least the
 * default. A job's flow is 4 objects in about 8 bytes, so a frame full of
 * flows fits; the default alone refused jobs of 65,536 flows (about 0.5 MB)
 * under a 1 MiB frame cap. Unpacked memory stays bounded by the payload. */
static inline size_t rpc_objects_for(size_t max_frame)
{
    return max_frame / 2 > RPC_MAX_OBJECTS_DEFAULT ? max_frame / 2 : RPC_MAX_OBJECTS_DEFAULT;
}
#define RPC_MAX_DEPTH 32 /* containers nested in a frame, the top map being depth 1 */

/* Limits of one decoder; a zero field takes its default. */
typedef struct {
    size_t max_frame;   /* payload bytes per frame (header excluded), at most
                           UINT32_MAX; 0: RPC_MAX_FRAME_DEFAULT */
    size_t max_objects; /* msgpack objects per frame (the map, its keys, values
                           and everything nested); 0: RPC_MAX_OBJECTS_DEFAULT */
} rpc_limits_t;

/* One decoded frame. The caller initialises it once with rpc_frame_init,
 * passes it to rpc_decoder_next any number of times and destroys it once.
 * Everything in it - msg.data and every string, bin and nested object it
 * points to - is valid until the next rpc_decoder_next on this frame or
 * rpc_frame_destroy; feeding the decoder more bytes does not invalidate it
 * (the frame owns a copy of its payload). Copy out what you keep. */
typedef struct {
    msgpack_unpacked msg; /* msg.data: the frame's map (type MSGPACK_OBJECT_MAP);
                             objects live in msg.zone, strings and bins point
                             into payload */
    char *payload;        /* [size] the frame's payload bytes, owned */
    size_t size;          /* payload bytes of the current frame (header excluded) */
    size_t payload_cap;   /* bytes allocated at payload */
} rpc_frame_t;

/* The decoding state of one connection. Fields are read-only for callers
 * (tests read buf_cap to check the memory bound). */
typedef struct {
    unsigned char *buf; /* [buf_cap] bytes received and not yet yielded: the
                           unconsumed data is buf[start .. len) */
    size_t start;       /* offset of the first byte not yet yielded */
    size_t len;         /* end of the received data in buf */
    size_t buf_cap;     /* bytes allocated at buf; grows as data arrives, by
                           doubling, never past max_frame + RPC_HEADER_BYTES */
    size_t scan;        /* offset in buf of the first frame whose header has
                           not been checked yet; <= len */
    size_t max_frame;   /* payload cap in bytes (rpc_limits_t) */
    size_t max_objects; /* object cap per frame (rpc_limits_t) */
    uint64_t frames;    /* frames yielded so far */
    uint64_t scanned;   /* frames found complete by feed so far (>= frames) */
    uint64_t bytes_in;  /* bytes taken by rpc_decoder_feed so far */
    weft_err_t err;     /* 0, or the error that poisoned the decoder */
    char errmsg[256];   /* the poisoning error's detail, replayed on each call */
} rpc_decoder_t;

/* Sets up an empty decoder with the given limits (NULL: the defaults).
 * Allocates nothing. WEFT_EINVAL if max_frame exceeds UINT32_MAX. */
weft_err_t rpc_decoder_init(rpc_decoder_t *dec, const rpc_limits_t *limits);

/* Frees the buffer; dec may be initialised again. */
void rpc_decoder_destroy(rpc_decoder_t *dec);

/* Raises the frame cap to max_frame (and the object cap with it,
 * rpc_objects_for) if it is larger and at most UINT32_MAX; never lowers
 * them. Frames whose headers were already checked against the old cap are
 * unaffected: raise it before their bytes are fed. */
void rpc_decoder_raise_cap(rpc_decoder_t *dec, size_t max_frame);

/* Takes bytes [n] received from the peer (copied; the caller keeps its
 * buffer). *taken receives how many were taken: all n, unless the buffer
 * holds cap + 4 bytes, which then hold at least one complete frame - drain
 * with rpc_decoder_next and feed the rest. Frame headers are checked here,
 * as soon as their 4 bytes are present: an oversized length is an error
 * at once, before a byte of its payload is buffered. Returns 0, or the
 * (poisoning) error; after an error *taken is 0. */
weft_err_t rpc_decoder_feed(rpc_decoder_t *dec, const void *bytes, size_t n, size_t *taken);

/* Yields the next complete frame into out (rpc_frame_init'ed; its previous
 * frame is released): returns 1 for a frame, 0 when more bytes are needed,
 * or a negative weft_err_t (WEFT_EPROTO for a bad frame, WEFT_ENOMEM) that
 * poisons the decoder. On 0 or an error, out holds no frame (out->size 0). */
int rpc_decoder_next(rpc_decoder_t *dec, rpc_frame_t *out);

/* Bytes buffered and not yet yielded as frames. */
size_t rpc_decoder_pending(const rpc_decoder_t *dec);
/* Bytes still missing from the first frame not yet yielded (its header's
 * first, then its payload's): 0 once it is complete. */
size_t rpc_decoder_first_frame_missing(const rpc_decoder_t *dec);

/* Whether bytes[0 .. have) could be the start of a valid payload of len
 * bytes (have <= len): the checks of rpc_decoder_next on what is present,
 * every declared length and count within len, and no map ending before
 * len. 0, or WEFT_EPROTO naming the payload byte at fault. The journal
 * tells a torn last record from damage with it. O(have). */
weft_err_t rpc_payload_prefix_ok(const void *bytes, size_t have, size_t len,
                                 size_t max_objects);

void rpc_frame_init(rpc_frame_t *frame);
void rpc_frame_destroy(rpc_frame_t *frame);

/* Encoding, for the server and the tests: appends frames to out.
 *
 * rpc_frame_begin appends a 4-byte placeholder and stores its offset in
 * *mark; the caller then packs one map into out (msgpack_packer on
 * msgpack_sbuffer_write); rpc_frame_end patches the length in. WEFT_EINVAL
 * if the payload exceeds max_frame (0: RPC_MAX_FRAME_DEFAULT) - out is then
 * truncated back to *mark. The payload is not validated: pack one map. */
weft_err_t rpc_frame_begin(msgpack_sbuffer *out, size_t *mark);
/* rpc_frame_begin, and *pk made to pack into out: set up whatever the
 * begin returns, as the server's callers pack on without looking. */
weft_err_t rpc_frame_begin_packer(msgpack_sbuffer *out, size_t *mark, msgpack_packer *pk);
weft_err_t rpc_frame_end(msgpack_sbuffer *out, size_t mark, size_t max_frame);

/* Appends one frame holding map (which must be a MSGPACK_OBJECT_MAP; else
 * WEFT_EINVAL) packed with msgpack_pack_object. */
weft_err_t rpc_frame_encode(msgpack_sbuffer *out, const msgpack_object *map, size_t max_frame);

/* ------------------------------------------------------------ messages */

/* True if secret s is empty or only spaces and tabs: no secret (a token
 * file of a blank line, --token ' '). */
static inline bool rpc_token_blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

#define RPC_PROTOCOL_VERSION 1 /* the "v" of hello; bumped on incompatible changes */
/* The data connections' acknowledgment version weft agents speak (hello
 * "acks", docs/protocol.md "Data connections"); optional within protocol 1.
 * 2: the sender's hello names its stream and where in it the connection
 * starts, so that a receiver counts bytes sent again once. 3: and the
 * sender's agent id, which a TLS receiver checks its certificate against. */
#define RPC_DATA_ACKS 3

/* A word a peer or a journal gave (a message type, a role, a record kind)
 * in a message: its first 32 bytes, controls escaped (weft_shown), into
 * buf of RPC_SHOWN_LEN bytes. */
#define RPC_SHOWN_LEN (4 * 32 + 1)
#define RPC_SHOWN(s, n, buf) weft_shown((s), (n), 32, (buf), RPC_SHOWN_LEN)

/* The value of key in map (a MSGPACK_OBJECT_MAP), or NULL if absent or map
 * is not a map. Keys are compared as strings. O(entries). */
const msgpack_object *rpc_map_get(const msgpack_object *map, const char *key);
/* Whether key in map is the boolean true (a flag such as "dup"; absent or
 * anything else: false). */
bool rpc_map_true(const msgpack_object *map, const char *key);

/* Typed field readers. Each fails with WEFT_EPROTO, naming the field, when
 * the field is missing (unless a default is allowed: the *_opt forms leave
 * *out untouched then) or has the wrong type. */
weft_err_t rpc_get_str(const msgpack_object *map, const char *key, const char **s, size_t *n);
/* An integer (positive or negative fixint/int/uint) in [lo, hi]. */
weft_err_t rpc_get_int(const msgpack_object *map, const char *key, int64_t lo, int64_t hi,
                       int64_t *out);
weft_err_t rpc_get_int_opt(const msgpack_object *map, const char *key, int64_t lo, int64_t hi,
                           int64_t *out);
/* A finite number (integer or float) in [lo, hi]. */
weft_err_t rpc_get_num_opt(const msgpack_object *map, const char *key, double lo, double hi,
                           double *out);
weft_err_t rpc_get_array(const msgpack_object *map, const char *key,
                         const msgpack_object_array **out);

/* Converts one object: an integer into *v (false if not an integer or out of
 * int64 range); a number (integer or float) into *d (false if not one or
 * not finite). */
bool rpc_obj_int(const msgpack_object *o, int64_t *v);
bool rpc_obj_num(const msgpack_object *o, double *d);

/* How often a peer with nothing to say pings the gateway that sent
 * welcome: RPC_KEEPALIVE_S, or a third of the gateway's idle timeout (the
 * welcome's optional "idle") if that is shorter, so it is not closed as
 * idle; RPC_KEEPALIVE_S for a missing or malformed "idle". */
#define RPC_KEEPALIVE_S 5.0
double rpc_keepalive_s(const msgpack_object *welcome);

/* Packs a NUL-terminated string. */
void rpc_pack_cstr(msgpack_packer *pk, const char *s);

/* The machine-readable part of an error frame (docs/protocol.md, "Errors"):
 * the cases a peer acts on, named so that rewording the message changes
 * nothing. Sent as "why" and, for a range, "lo" and "hi". */
#define RPC_WHY_ID_RANGE "id-range"             /* hello's id is not in lo..hi */
#define RPC_WHY_PORT_NO_AGENT "port-no-agent"   /* that port has no agent secret */
#define RPC_WHY_SECRET_ROTATED "secret-rotated" /* that port's secret changed */
typedef struct {
    const char *why; /* one of RPC_WHY_*; NULL: the frame has no why */
    bool has_range;  /* lo and hi are sent (RPC_WHY_ID_RANGE) */
    int64_t lo, hi;  /* the range, lo <= hi */
} rpc_error_why_t;

/* Appends the frame {"type": "error", "code": code, "message": message}. */
weft_err_t rpc_pack_error(msgpack_sbuffer *out, const char *code, const char *message);
/* The same with the machine-readable part why (NULL: none). */
weft_err_t rpc_pack_error_why(msgpack_sbuffer *out, const char *code, const char *message,
                              const rpc_error_why_t *why);
/* The same with "job": job, the job id the error is about. */
weft_err_t rpc_pack_error_job(msgpack_sbuffer *out, const char *code, const char *message,
                              int64_t job);

/* Appends the frame {"type": type} plus, when seq >= 0, "seq": seq. */
weft_err_t rpc_pack_simple(msgpack_sbuffer *out, const char *type, int64_t seq);

/* The same with "seq": seq whenever has_seq, any integer (the gateway
 * echoes a request's seq, negative ones too). */
weft_err_t rpc_pack_simple_seq(msgpack_sbuffer *out, const char *type, bool has_seq,
                               int64_t seq);

#endif
