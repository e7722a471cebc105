/*
 * test_rpc.c - the gateway's wire frames (rpc/rpc.h): maps round-trip
 * through rpc_frame_encode and the decoder whatever the chunking (byte by
 * byte, one chunk, random splits, several frames per chunk); hostile input
 * (an oversized length, a map32 declaring 2^32-1 entries, garbage, a str
 * instead of a map, a 1000-deep array bomb, trailing bytes, too many
 * objects) is refused with a clear message and poisons the decoder; a
 * truncated frame waits; the buffer stays within cap + 4 bytes; the
 * prefix check the journal tells a torn record from damage with. The
 * edges found by mutation testing: type bytes at the ends of their
 * families, a map running out of entries, the object cap over nested
 * objects, the decoder's caps and the frame number of a bad header; the
 * field readers of msg.c at the edges of their types and ranges. Error
 * frames: their machine-readable why and range read from the fields
 * whatever the message says, from an older gateway's words without them,
 * and a malformed one refused naming its field. What is said of a TLS
 * certificate's end of validity (rpc_tls_expiry), at its edges. The port a
 * listener is bound to, and the error on a descriptor that is no socket.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/client.h"
#include "rpc/rpc.h"

TestSuite(rpc, .timeout = 60);

static uint64_t rng_state = 12345;

static uint64_t rng(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Initialises sb, and pk to pack into it, and packs a map header of n entries. */
static void start_map(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t n)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, n);
}

/* Appends test map number i (0..N_MAPS-1) as a frame to sb. */
#define N_MAPS 6
static void pack_map(msgpack_sbuffer *sb, int i)
{
    size_t mark;
    cr_assert_eq(rpc_frame_begin(sb, &mark), WEFT_OK);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    switch (i) {
    case 0: /* empty map */
        msgpack_pack_map(&pk, 0);
        break;
    case 1: /* a hello-like message */
        msgpack_pack_map(&pk, 3);
        pack_str(&pk, "type"), pack_str(&pk, "hello");
        pack_str(&pk, "token"), pack_str(&pk, "s3cr3t");
        pack_str(&pk, "version"), msgpack_pack_uint32(&pk, 1);
        break;
    case 2: /* every scalar type, nested containers */
        msgpack_pack_map(&pk, 8);
        pack_str(&pk, "neg"), msgpack_pack_int64(&pk, -1234567890123LL);
        pack_str(&pk, "u64"), msgpack_pack_uint64(&pk, UINT64_MAX);
        pack_str(&pk, "f64"), msgpack_pack_double(&pk, 3.25);
        pack_str(&pk, "f32"), msgpack_pack_float(&pk, -0.5f);
        pack_str(&pk, "nil"), msgpack_pack_nil(&pk);
        pack_str(&pk, "bool"), msgpack_pack_true(&pk);
        pack_str(&pk, "bin"), msgpack_pack_bin(&pk, 3), msgpack_pack_bin_body(&pk, "\0\1\2", 3);
        pack_str(&pk, "flows");
        msgpack_pack_array(&pk, 2);
        for (int f = 0; f < 2; f++) {
            msgpack_pack_map(&pk, 2);
            pack_str(&pk, "src"), msgpack_pack_int(&pk, f);
            pack_str(&pk, "bytes"), msgpack_pack_double(&pk, 1e6 * (f + 1));
        }
        break;
    case 3: /* map16: 40 entries */
        msgpack_pack_map(&pk, 40);
        for (int k = 0; k < 40; k++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", k);
            pack_str(&pk, key), msgpack_pack_int(&pk, k * 1000);
        }
        break;
    case 4: { /* a 70000-byte str (str32) and a 300-element array16 */
        char *big = malloc(70000);
        cr_assert_not_null(big);
        for (size_t k = 0; k < 70000; k++)
            big[k] = (char)('a' + k % 26);
        msgpack_pack_map(&pk, 2);
        pack_str(&pk, "big"), msgpack_pack_str(&pk, 70000), msgpack_pack_str_body(&pk, big, 70000);
        pack_str(&pk, "arr"), msgpack_pack_array(&pk, 300);
        for (int k = 0; k < 300; k++)
            msgpack_pack_int(&pk, -k);
        free(big);
        break;
    }
    case 5: /* integer keys, an ext */
        msgpack_pack_map(&pk, 2);
        msgpack_pack_int(&pk, 7), msgpack_pack_ext(&pk, 2, 5), msgpack_pack_ext_body(&pk, "ab", 2);
        msgpack_pack_int(&pk, -7), msgpack_pack_map(&pk, 0);
        break;
    }
    cr_assert_eq(rpc_frame_end(sb, mark, 0), WEFT_OK, "%s", weft_last_error());
}

/* The stream of all test maps, N times over, and the offsets of each frame. */
typedef struct {
    msgpack_sbuffer sb;
    size_t offs[64]; /* [n + 1] frame starts in sb, then the end */
    size_t n;
} stream_t;

static void make_stream(stream_t *s, int times)
{
    msgpack_sbuffer_init(&s->sb);
    s->n = 0;
    for (int t = 0; t < times; t++)
        for (int i = 0; i < N_MAPS; i++) {
            s->offs[s->n++] = s->sb.size;
            pack_map(&s->sb, i);
        }
    s->offs[s->n] = s->sb.size;
}

/* Checks that frame matches frame k of s: same payload bytes, and the
 * decoded object packs back to them. */
static void check_frame(const stream_t *s, size_t k, const rpc_frame_t *fr)
{
    cr_assert_lt(k, s->n, "more frames than were sent");
    size_t len = s->offs[k + 1] - s->offs[k] - 4;
    cr_assert_eq(fr->size, len, "frame %zu: %zu bytes, expected %zu", k, fr->size, len);
    cr_assert_eq(fr->msg.data.type, MSGPACK_OBJECT_MAP);
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    cr_assert_eq(msgpack_pack_object(&pk, fr->msg.data), 0);
    cr_assert_eq(again.size, len);
    cr_assert(!memcmp(again.data, s->sb.data + s->offs[k] + 4, len), "frame %zu differs", k);
    msgpack_sbuffer_destroy(&again);
}

/* Feeds s in chunks chosen by split(offset, remaining) -> chunk size,
 * draining after every feed; checks every frame and that all arrive. */
static void feed_stream(const stream_t *s, size_t (*split)(size_t off, size_t left),
                        const rpc_limits_t *limits)
{
    rpc_decoder_t dec;
    cr_assert_eq(rpc_decoder_init(&dec, limits), WEFT_OK);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t got = 0, off = 0;
    while (off < s->sb.size) {
        size_t chunk = split(off, s->sb.size - off);
        size_t done = 0;
        while (done < chunk) {
            size_t taken;
            weft_err_t err = rpc_decoder_feed(&dec, s->sb.data + off + done, chunk - done, &taken);
            cr_assert_eq(err, WEFT_OK, "%s", weft_last_error());
            done += taken;
            int r;
            while ((r = rpc_decoder_next(&dec, &fr)) == 1)
                check_frame(s, got++, &fr);
            cr_assert_eq(r, 0, "%s", weft_last_error());
            cr_assert_leq(dec.buf_cap, dec.max_frame + 4);
        }
        off += chunk;
    }
    cr_assert_eq(got, s->n, "%zu frames of %zu", got, s->n);
    cr_assert_eq(rpc_decoder_pending(&dec), 0);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
}

static size_t split_bytes(size_t off, size_t left) { (void)off, (void)left; return 1; }
static size_t split_whole(size_t off, size_t left) { (void)off; return left; }
static size_t split_random(size_t off, size_t left)
{
    (void)off;
    size_t k = 1 + rng() % (rng() % 2 ? 16 : 20000);
    return k < left ? k : left;
}

/* A detail may quote the one it replaces, as the agent's "welcome: %s"
 * does: that garbled it ("welcome: welcome: rts' is ...") before weft_fail
 * formatted aside. */
Test(rpc, an_error_may_quote_the_one_before)
{
    weft_fail(WEFT_EPROTO, "field '%s' is %d, expected 1..%d", "ports", 1048577, 1048576);
    weft_fail(WEFT_EPROTO, "welcome: %s", weft_last_error());
    cr_assert_str_eq(weft_last_error(), "welcome: field 'ports' is 1048577, expected 1..1048576");
    weft_fail(WEFT_EPROTO, "%s; %s", weft_last_error(), weft_last_error());
    cr_assert_str_eq(weft_last_error(), "welcome: field 'ports' is 1048577, expected 1..1048576; "
                                        "welcome: field 'ports' is 1048577, expected 1..1048576");
}

Test(rpc, round_trip_byte_by_byte)
{
    stream_t s;
    make_stream(&s, 1);
    feed_stream(&s, split_bytes, NULL);
    msgpack_sbuffer_destroy(&s.sb);
}

Test(rpc, round_trip_one_chunk)
{
    stream_t s;
    make_stream(&s, 2);
    feed_stream(&s, split_whole, NULL);
    msgpack_sbuffer_destroy(&s.sb);
}

Test(rpc, round_trip_random_splits)
{
    stream_t s;
    make_stream(&s, 3);
    for (int rep = 0; rep < 50; rep++)
        feed_stream(&s, split_random, NULL);
    msgpack_sbuffer_destroy(&s.sb);
}

Test(rpc, round_trip_with_a_full_buffer)
{
    /* a cap just above the largest frame: one chunk holding all frames
     * cannot be taken at once, feed takes what fits and next drains */
    stream_t s;
    make_stream(&s, 2);
    size_t largest = 0;
    for (size_t k = 0; k < s.n; k++)
        if (s.offs[k + 1] - s.offs[k] - 4 > largest)
            largest = s.offs[k + 1] - s.offs[k] - 4;
    rpc_limits_t lim = {.max_frame = largest};
    feed_stream(&s, split_whole, &lim);
    for (int rep = 0; rep < 20; rep++)
        feed_stream(&s, split_random, &lim);
    msgpack_sbuffer_destroy(&s.sb);
}

Test(rpc, two_frames_in_one_chunk)
{
    stream_t s;
    msgpack_sbuffer_init(&s.sb);
    s.offs[0] = 0;
    pack_map(&s.sb, 1);
    s.offs[1] = s.sb.size;
    pack_map(&s.sb, 2);
    s.offs[2] = s.sb.size;
    s.n = 2;
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t taken;
    cr_assert_eq(rpc_decoder_feed(&dec, s.sb.data, s.sb.size, &taken), WEFT_OK);
    cr_assert_eq(taken, s.sb.size);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 1);
    check_frame(&s, 0, &fr);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 1);
    check_frame(&s, 1, &fr);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 0);
    cr_assert_eq(fr.size, 0);
    cr_assert_eq(dec.frames, 2);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    msgpack_sbuffer_destroy(&s.sb);
}

/* Feeds bytes [n] in one call and drains; returns the first error or the
 * number of frames. */
static int feed_drain(rpc_decoder_t *dec, const void *bytes, size_t n)
{
    size_t taken;
    weft_err_t err = rpc_decoder_feed(dec, bytes, n, &taken);
    if (err)
        return err;
    cr_assert_eq(taken, n);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    int r, frames = 0;
    while ((r = rpc_decoder_next(dec, &fr)) == 1)
        frames++;
    rpc_frame_destroy(&fr);
    return r < 0 ? r : frames;
}

/* One frame around payload [n] with its true length. */
static int decode_payload(const void *payload, size_t n, const rpc_limits_t *lim)
{
    unsigned char *b = malloc(n + 4);
    cr_assert_not_null(b);
    b[0] = (unsigned char)(n >> 24), b[1] = (unsigned char)(n >> 16);
    b[2] = (unsigned char)(n >> 8), b[3] = (unsigned char)n;
    if (n)
        memcpy(b + 4, payload, n);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, lim);
    weft_clear_error();
    int r = feed_drain(&dec, b, n + 4);
    rpc_decoder_destroy(&dec);
    free(b);
    return r;
}

#define assert_error(r, needle)                                                                  \
    do {                                                                                         \
        cr_assert_eq((r), WEFT_EPROTO, "got %d (%s)", (int)(r), weft_last_error());              \
        cr_assert(strstr(weft_last_error(), (needle)), "message \"%s\" lacks \"%s\"",            \
                  weft_last_error(), (needle));                                                  \
    } while (0)

Test(rpc, oversized_length_refused_before_payload)
{
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    const unsigned char hdr[4] = {0x00, 0x4c, 0x4b, 0x40}; /* 5000000 */
    size_t taken;
    cr_assert_eq(rpc_decoder_feed(&dec, hdr, 2, &taken), WEFT_OK);
    cr_assert_eq(taken, 2);
    weft_err_t err = rpc_decoder_feed(&dec, hdr + 2, 2, &taken);
    assert_error(err, "frame of 5000000 bytes exceeds the 1048576-byte cap");
    cr_assert_eq(taken, 0);
    cr_assert_leq(rpc_decoder_pending(&dec), 4, "no payload byte was buffered");
    rpc_decoder_destroy(&dec);

    /* in one chunk with payload behind it: still refused, nothing taken */
    rpc_decoder_init(&dec, NULL);
    unsigned char *big = calloc(1, 4 + 200000);
    memcpy(big, hdr, 4);
    err = rpc_decoder_feed(&dec, big, 4 + 200000, &taken);
    assert_error(err, "frame of 5000000 bytes exceeds the 1048576-byte cap");
    cr_assert_leq(dec.buf_cap, 4096, "payload was buffered: capacity %zu", dec.buf_cap);
    free(big);
    rpc_decoder_destroy(&dec);

    /* a configured cap: 4097 > 4096 refused, exactly 4096 accepted */
    rpc_limits_t lim = {.max_frame = 4096};
    rpc_decoder_init(&dec, &lim);
    const unsigned char h2[4] = {0, 0, 0x10, 0x01};
    assert_error(rpc_decoder_feed(&dec, h2, 4, &taken),
                 "frame of 4097 bytes exceeds the 4096-byte cap");
    rpc_decoder_destroy(&dec);
    unsigned char pl[4096] = {0x81, 0xa1, 'b', 0xc5, 0x0f, 0xfa}; /* {"b": bin16 of 4090} */
    cr_assert_eq(decode_payload(pl, sizeof pl, &lim), 1, "%s", weft_last_error());
    cr_assert_eq(rpc_decoder_init(&dec, &(rpc_limits_t){.max_frame = (size_t)UINT32_MAX + 1}),
                 WEFT_EINVAL);
}

Test(rpc, map32_declaring_2_to_the_32_entries)
{
    const unsigned char p[5] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_error(decode_payload(p, 5, NULL),
                 "map declares 4294967295 entries but only 0 bytes follow");
    /* the same inside a map, and an array32 and a str32 */
    const unsigned char q[8] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_error(decode_payload(q, 8, NULL),
                 "array declares 4294967295 entries but only 0 bytes follow (payload byte 3)");
    const unsigned char r[9] = {0x81, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xff, 'z'};
    assert_error(decode_payload(r, 9, NULL),
                 "str declares 4294967295 bytes but only 1 bytes follow (payload byte 3)");
    const unsigned char t[5] = {0x81, 0xa1, 'x', 0xdf, 0xff};
    assert_error(decode_payload(t, 5, NULL), "needs 4 length bytes but only 1 follow");
}

Test(rpc, garbage)
{
    /* an HTTP request: "GET " as a length */
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_error(feed_drain(&dec, http, strlen(http)), "frame of 1195725856 bytes exceeds");
    rpc_decoder_destroy(&dec);
    const unsigned char c1[3] = {0x81, 0xc1, 0x00};
    assert_error(decode_payload(c1, 3, NULL), "0xc1 is not a msgpack type");
    assert_error(decode_payload("", 0, NULL), "payload is empty, expected a map");
    /* random payloads behind true lengths: a frame or an error with a
     * message, never a crash */
    unsigned char buf[64];
    for (int rep = 0; rep < 20000; rep++) {
        size_t n = 1 + rng() % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)rng();
        if (rep % 2)
            buf[0] = (unsigned char)(0x80 | (rng() % 16)); /* start like a map */
        int r = decode_payload(buf, n, NULL);
        if (r < 0)
            cr_assert(weft_last_error()[0], "an error without a message");
        else
            cr_assert_eq(r, 1);
    }
}

Test(rpc, str_instead_of_a_map)
{
    assert_error(decode_payload("\xa3" "abc", 4, NULL), "payload is a str, expected a map");
    assert_error(decode_payload("\x92\x01\x02", 3, NULL), "payload is an array, expected a map");
    assert_error(decode_payload("\x2a", 1, NULL), "payload is an int, expected a map");
}

/* {"a": [[[ ... ]]]} with `levels` arrays, the innermost holding a 1. */
static int nested(size_t levels)
{
    size_t n = 3 + levels + 1;
    unsigned char *p = malloc(n);
    p[0] = 0x81, p[1] = 0xa1, p[2] = 'a';
    memset(p + 3, 0x91, levels);
    p[n - 1] = 0x01;
    int r = decode_payload(p, n, NULL);
    free(p);
    return r;
}

Test(rpc, depth_bomb)
{
    assert_error(nested(1000), "containers nested deeper than 32");
    assert_error(nested(32), "containers nested deeper than 32"); /* depth 33 */
    cr_assert_eq(nested(31), 1, "depth 32 must pass: %s", weft_last_error());
}

Test(rpc, trailing_bytes)
{
    assert_error(decode_payload("\x80\x01\x02\x03", 4, NULL),
                 "3 trailing bytes after the map");
    assert_error(decode_payload("\x80\x80", 2, NULL), "1 trailing bytes after the map");
}

Test(rpc, object_cap)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    start_map(&sb, &pk, 20);
    for (int k = 0; k < 20; k++)
        msgpack_pack_int(&pk, k), msgpack_pack_nil(&pk);
    rpc_limits_t lim = {.max_objects = 40};
    assert_error(decode_payload(sb.data, sb.size, &lim), "more than 40 msgpack objects");
    lim.max_objects = 41; /* the map and its 40 keys and values */
    cr_assert_eq(decode_payload(sb.data, sb.size, &lim), 1, "%s", weft_last_error());
    msgpack_sbuffer_destroy(&sb);
}

Test(rpc, truncated_frame_waits)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_map(&sb, 2);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t taken;
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 0); /* nothing yet */
    cr_assert_eq(rpc_decoder_feed(&dec, sb.data, 3, &taken), WEFT_OK);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 0); /* partial header */
    cr_assert_eq(rpc_decoder_feed(&dec, sb.data + 3, sb.size - 4, &taken), WEFT_OK);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 0); /* one byte short */
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 0);
    cr_assert_eq(rpc_decoder_feed(&dec, sb.data + sb.size - 1, 1, &taken), WEFT_OK);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 1, "%s", weft_last_error());
    cr_assert_eq(fr.size, sb.size - 4);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    msgpack_sbuffer_destroy(&sb);
}

Test(rpc, poisoned_after_error)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_map(&sb, 1);
    const unsigned char bad[8] = {0, 0, 0, 4, 0xa3, 'a', 'b', 'c'};
    msgpack_sbuffer_write(&sb, (const char *)bad, sizeof bad);
    pack_map(&sb, 1);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t taken;
    cr_assert_eq(rpc_decoder_feed(&dec, sb.data, sb.size, &taken), WEFT_OK);
    cr_assert_eq(rpc_decoder_next(&dec, &fr), 1);
    int r = rpc_decoder_next(&dec, &fr);
    assert_error(r, "frame #2: payload is a str, expected a map");
    char first[256];
    snprintf(first, sizeof first, "%s", weft_last_error());
    cr_assert_eq(fr.size, 0);
    for (int k = 0; k < 3; k++) {
        weft_clear_error();
        cr_assert_eq(rpc_decoder_next(&dec, &fr), WEFT_EPROTO);
        cr_assert_str_eq(weft_last_error(), first);
        weft_clear_error();
        cr_assert_eq(rpc_decoder_feed(&dec, sb.data, sb.size, &taken), WEFT_EPROTO);
        cr_assert_eq(taken, 0);
        cr_assert_str_eq(weft_last_error(), first);
    }
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    msgpack_sbuffer_destroy(&sb);
}

Test(rpc, memory_bounded)
{
    const size_t cap = 4096, total = 4u << 20;
    rpc_limits_t lim = {.max_frame = cap};
    static char filler[4096];
    memset(filler, 'q', sizeof filler);
    /* 4 MB of valid frames of all sizes up to the cap, fed in 64 KiB chunks */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t nframes = 0;
    while (sb.size < total) {
        size_t mark;
        rpc_frame_begin(&sb, &mark);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        size_t blen = rng() % (cap - 16);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_int(&pk, 1);
        msgpack_pack_bin(&pk, blen);
        msgpack_pack_bin_body(&pk, filler, blen); /* any bytes */
        cr_assert_eq(rpc_frame_end(&sb, mark, cap), WEFT_OK, "%s", weft_last_error());
        nframes++;
    }
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, &lim);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    size_t got = 0;
    for (size_t off = 0; off < sb.size;) {
        size_t chunk = sb.size - off < 65536 ? sb.size - off : 65536, taken;
        cr_assert_eq(rpc_decoder_feed(&dec, sb.data + off, chunk, &taken), WEFT_OK);
        cr_assert_leq(dec.buf_cap, cap + 4, "capacity %zu", dec.buf_cap);
        cr_assert_gt(taken, 0);
        off += taken;
        int r;
        while ((r = rpc_decoder_next(&dec, &fr)) == 1)
            got++;
        cr_assert_eq(r, 0, "%s", weft_last_error());
    }
    cr_assert_eq(got, nframes);
    cr_assert_leq(fr.payload_cap, 2 * cap);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    msgpack_sbuffer_destroy(&sb);

    /* 4 MB of junk in a loop: refused at the first header, nothing grows */
    unsigned char junk[65536];
    for (size_t k = 0; k < sizeof junk; k++)
        junk[k] = (unsigned char)rng();
    junk[0] = 0x7f; /* a length far over the cap */
    rpc_decoder_init(&dec, &lim);
    for (size_t fed = 0; fed < total; fed += sizeof junk) {
        size_t taken;
        cr_assert_eq(rpc_decoder_feed(&dec, junk, sizeof junk, &taken), WEFT_EPROTO);
        cr_assert_leq(dec.buf_cap, cap + 4);
    }
    rpc_decoder_destroy(&dec);

    /* a peer trickling a frame that never completes: buffer stays at cap + 4 */
    rpc_decoder_init(&dec, &lim);
    const unsigned char hdr[4] = {0, 0, 0x10, 0}; /* exactly the cap */
    size_t taken;
    cr_assert_eq(rpc_decoder_feed(&dec, hdr, 4, &taken), WEFT_OK);
    for (size_t k = 0; k < cap - 1; k++) {
        cr_assert_eq(rpc_decoder_feed(&dec, junk + 1 + (k % 1000), 1, &taken), WEFT_OK);
        cr_assert_eq(rpc_decoder_next(&dec, &fr), 0);
    }
    cr_assert_leq(dec.buf_cap, cap + 4);
    rpc_decoder_destroy(&dec);
}

Test(rpc, encode_errors)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 3};
    cr_assert_eq(rpc_frame_encode(&sb, &o, 0), WEFT_EINVAL);
    msgpack_object m = {.type = MSGPACK_OBJECT_MAP};
    cr_assert_eq(rpc_frame_encode(&sb, &m, 0), WEFT_OK);
    cr_assert_eq(sb.size, 5);
    cr_assert(!memcmp(sb.data, "\0\0\0\1\x80", 5));
    /* over the cap: refused and cut back */
    size_t mark;
    cr_assert_eq(rpc_frame_begin(&sb, &mark), WEFT_OK);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str(&pk, 100);
    char text[100];
    memset(text, 't', sizeof text);
    msgpack_pack_str_body(&pk, text, 100);
    cr_assert_eq(rpc_frame_end(&sb, mark, 64), WEFT_EINVAL);
    cr_assert_eq(sb.size, 5);
    /* at the cap exactly: {1: str8 of k} is 1 + 1 + 2 + k bytes, so k = 60
       fills a 64-byte cap and k = 61 passes it by one (the cap is the
       payload's, not the frame's with its 4-byte header) */
    for (size_t k = 60; k <= 61; k++) {
        cr_assert_eq(rpc_frame_begin(&sb, &mark), WEFT_OK);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_int(&pk, 1);
        msgpack_pack_str(&pk, k);
        msgpack_pack_str_body(&pk, text, k);
        cr_assert_eq(rpc_frame_end(&sb, mark, 64), k == 60 ? WEFT_OK : WEFT_EINVAL,
                     "a payload of %zu bytes", 4 + k);
        cr_assert_eq(sb.size, 5 + 68, "%zu", sb.size);
    }
    cr_assert(!memcmp(sb.data + 5, "\0\0\0\x40", 4));
    msgpack_sbuffer_destroy(&sb);
}

/* rpc_payload_prefix_ok (the journal's torn-tail test): every prefix of a
 * valid payload passes, at the true length and at a larger one only while
 * the map is incomplete; a map that ends short of the declared length, a
 * count or length past it and a bad byte are refused. */
Test(rpc, payload_prefixes)
{
    for (int i = 0; i < N_MAPS; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        pack_map(&sb, i);
        const char *p = sb.data + RPC_HEADER_BYTES;
        size_t len = sb.size - RPC_HEADER_BYTES;
        for (size_t have = 0; have <= len; have++)
            cr_assert_eq(rpc_payload_prefix_ok(p, have, len, 0), WEFT_OK,
                         "map %d, %zu of %zu bytes: %s", i, have, len, weft_last_error());
        /* whole, the map ends short of a larger declared length */
        cr_assert_eq(rpc_payload_prefix_ok(p, len, len + 10, 0), WEFT_EPROTO, "map %d", i);
        cr_assert(strstr(weft_last_error(), "short of the"), "%s", weft_last_error());
        msgpack_sbuffer_destroy(&sb);
    }
    /* a str of 20 bytes in a payload declared 10 bytes long */
    const unsigned char str[] = {0x81, 0xa1, 'k', 0xb4, 'a', 'b'};
    cr_assert_eq(rpc_payload_prefix_ok(str, sizeof str, 10, 0), WEFT_EPROTO);
    cr_assert_eq(rpc_payload_prefix_ok(str, sizeof str, 30, 0), WEFT_OK);
    const unsigned char bad[] = {0x81, 0xc1};
    cr_assert_eq(rpc_payload_prefix_ok(bad, sizeof bad, 10, 0), WEFT_EPROTO);
    const unsigned char notmap[] = {0x91};
    cr_assert_eq(rpc_payload_prefix_ok(notmap, 1, 10, 0), WEFT_EPROTO);
}

/* An agent's progress report under the smallest frame cap: 256 entries of
 * flow ids past 2^32 (19 bytes each) overflow 4096 bytes in one message, so
 * rpc_client_progress sends them in several frames, each within the cap,
 * every entry once and in order; small ids still go in one. */
static size_t progress_frames(rpc_client_t *c, const uint64_t *fids, const double *sent,
                              size_t n)
{
    rpc_decoder_t dec;
    cr_assert_eq(rpc_decoder_init(&dec, &(rpc_limits_t){.max_frame = RPC_MIN_FRAME}), WEFT_OK);
    size_t taken, frames = 0, got = 0;
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    for (size_t off = 0; off < c->out.size; off += taken) {
        cr_assert_eq(rpc_decoder_feed(&dec, c->out.data + off, c->out.size - off, &taken),
                     WEFT_OK, "%s", weft_last_error());
        int r;
        while ((r = rpc_decoder_next(&dec, &fr)) == 1) {
            frames++;
            cr_assert_leq(fr.size, RPC_MIN_FRAME);
            const msgpack_object_array *a;
            cr_assert_eq(rpc_get_array(&fr.msg.data, "flows", &a), WEFT_OK);
            for (uint32_t i = 0; i < a->size; i++, got++) {
                cr_assert_lt(got, n);
                const msgpack_object *e = a->ptr[i].via.array.ptr;
                cr_assert_eq(e[0].via.u64, fids[got]);
                cr_assert_eq(e[1].via.f64, sent[got]);
            }
        }
        cr_assert_eq(r, 0, "%s", weft_last_error());
    }
    cr_assert_eq(got, n);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    return frames;
}

Test(rpc, progress_split_to_the_frame_cap)
{
    enum { N = 256 };
    uint64_t fids[N];
    double sent[N];
    for (size_t i = 0; i < N; i++)
        fids[i] = ((uint64_t)1 << 40) + 7 * i, sent[i] = 1e6 + (double)i;
    rpc_client_t c;
    rpc_client_init(&c);
    c.max_frame = RPC_MIN_FRAME;
    cr_assert_eq(rpc_client_progress(&c, fids, sent, N), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(progress_frames(&c, fids, sent, N), 2);
    rpc_client_destroy(&c);

    for (size_t i = 0; i < N; i++)
        fids[i] = 1000 + i;
    rpc_client_init(&c);
    c.max_frame = RPC_MIN_FRAME;
    cr_assert_eq(rpc_client_progress(&c, fids, sent, N), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(progress_frames(&c, fids, sent, N), 1);
    rpc_client_destroy(&c);
}

/* Type bytes at the edges of their msgpack families are read as the spec
 * says: 0x7f (127) and 0xe0 (-32) are ints, 0xbf a str of 31 bytes, 0xc7
 * an ext8 whose type byte follows its length, a str8 whose length byte
 * ends the payload is whole; a payload starting with any of them is named
 * by its family, and a fixmap of 15 entries (0x8f) declares 30 objects. */
Test(rpc, type_bytes_at_the_edges_of_their_families)
{
    unsigned char p[64] = {0x84, 0xa1, 'a', 0x7f, 0xe0, 0xbf};
    size_t n = 6 + 31;
    memset(p + 6, 'x', 31);
    const unsigned char rest[] = {0xa1, 'e', 0xc7, 3, 5, 'x', 'y', 'z', 0xa1, 's', 0xd9, 0};
    memcpy(p + n, rest, sizeof rest);
    n += sizeof rest;
    cr_assert_eq(decode_payload(p, n, NULL), 1, "%s", weft_last_error());
    assert_error(decode_payload("\x7f", 1, NULL), "payload is an int, expected a map");
    assert_error(decode_payload("\xe0", 1, NULL), "payload is an int, expected a map");
    assert_error(decode_payload(p + 5, 32, NULL), "payload is a str, expected a map");
    /* 15 entries are 30 objects: 20 bytes are too few */
    unsigned char m15[21] = {0x8f};
    memset(m15 + 1, 0xc0, 20);
    assert_error(decode_payload(m15, sizeof m15, NULL),
                 "map declares 15 entries but only 20 bytes follow (payload byte 0)");
}

/* A map whose entries run out with the payload ({"a": "b"} declaring two
 * entries, four bytes for four objects) is refused by the walker, naming
 * the byte; it is not handed to msgpack-c, whose refusal is an internal
 * error. */
Test(rpc, a_map_that_runs_out_of_entries_is_refused_by_the_walker)
{
    assert_error(decode_payload("\x82\xa1" "a\xa1" "b", 5, NULL),
                 "payload ends at byte 5 where an object should start");
}

/* The object cap counts nested objects, not only each container's
 * entries: {"a": [1], "b": 2} is 6 objects, refused under a cap of 5 at
 * its last one (every container's count fits what is left) and read
 * under a cap of 6. */
Test(rpc, the_object_cap_counts_nested_objects)
{
    const char p[] = "\x82\xa1" "a\x91\x01\xa1" "b\x02";
    rpc_limits_t lim = {.max_objects = 5};
    assert_error(decode_payload(p, sizeof p - 1, &lim),
                 "payload byte 7: frame holds more than 5 msgpack objects");
    lim.max_objects = 6;
    cr_assert_eq(decode_payload(p, sizeof p - 1, &lim), 1, "%s", weft_last_error());
}

/* rpc_payload_prefix_ok reads none of the bytes past `have` (the caller's
 * buffer may go on with anything: here 0xc1, or an array where the map
 * starts) and keeps a caller's object cap. */
Test(rpc, a_payload_prefix_is_checked_on_its_bytes_alone)
{
    const unsigned char p[] = {0x81, 0xa1, 'a', 0xc1};
    cr_assert_eq(rpc_payload_prefix_ok(p, 3, 10, 0), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(rpc_payload_prefix_ok(p, 4, 10, 0), WEFT_EPROTO);
    const unsigned char array[] = {0x91};
    cr_assert_eq(rpc_payload_prefix_ok(array, 0, 10, 0), WEFT_OK, "%s", weft_last_error());
    const unsigned char three[] = {0x81, 0xa1, 'a', 0x01}; /* 3 objects */
    cr_assert_eq(rpc_payload_prefix_ok(three, 4, 4, 3), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(rpc_payload_prefix_ok(three, 4, 4, 2), WEFT_EPROTO);
}

/* The decoder's caps at their bounds: a frame cap of exactly UINT32_MAX is
 * taken; raising the cap raises the object cap with it (to half the new
 * cap), and raising it to the cap it has, or lower, changes neither; a cap
 * below the first allocation bounds the buffer all the same; the bytes
 * missing from the first frame count down through its header and payload;
 * the encoder takes a frame of exactly its cap. */
Test(rpc, the_decoders_caps_at_their_bounds)
{
    rpc_decoder_t dec;
    cr_assert_eq(rpc_decoder_init(&dec, &(rpc_limits_t){.max_frame = UINT32_MAX}), WEFT_OK);
    rpc_decoder_destroy(&dec);
    rpc_decoder_init(&dec, NULL);
    rpc_decoder_raise_cap(&dec, 8000000);
    cr_assert_eq(dec.max_frame, 8000000);
    cr_assert_eq(dec.max_objects, 4000000);
    rpc_decoder_raise_cap(&dec, 4096);
    cr_assert_eq(dec.max_frame, 8000000);
    rpc_decoder_destroy(&dec);
    rpc_decoder_init(&dec, &(rpc_limits_t){.max_frame = 8000000, .max_objects = 10});
    rpc_decoder_raise_cap(&dec, 8000000);
    cr_assert_eq(dec.max_objects, 10, "the same cap raised the object cap");
    rpc_decoder_destroy(&dec);

    rpc_decoder_init(&dec, &(rpc_limits_t){.max_frame = 64});
    const unsigned char f[8] = {0, 0, 0, 4, 0x81, 0xa1, 'a', 0x01};
    cr_assert_eq(rpc_decoder_first_frame_missing(&dec), 4);
    size_t taken, want[8] = {3, 2, 1, 4, 3, 2, 1, 0};
    for (size_t k = 0; k < sizeof f; k++) {
        cr_assert_eq(rpc_decoder_feed(&dec, f + k, 1, &taken), WEFT_OK);
        cr_assert_eq(rpc_decoder_first_frame_missing(&dec), want[k], "after %zu bytes", k + 1);
    }
    cr_assert_leq(dec.buf_cap, 64 + 4, "capacity %zu", dec.buf_cap);
    rpc_decoder_destroy(&dec);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t mark;
    cr_assert_eq(rpc_frame_begin(&sb, &mark), WEFT_OK);
    msgpack_sbuffer_write(&sb, "\x81\xa1" "a\x01", 4);
    cr_assert_eq(rpc_frame_end(&sb, mark, 4), WEFT_OK, "%s", weft_last_error());
    cr_assert(!memcmp(sb.data, "\0\0\0\4", 4));
    msgpack_sbuffer_destroy(&sb);
}

/* A header over the cap is refused naming its frame's number when frames
 * before it are still buffered: the second frame of one chunk is #2. */
Test(rpc, an_oversized_header_names_its_frame)
{
    const unsigned char two[12] = {0, 0, 0, 4, 0x81, 0xa1, 'a', 0x01, 0x7f, 0, 0, 0};
    rpc_decoder_t dec;
    rpc_decoder_init(&dec, NULL);
    size_t taken;
    assert_error(rpc_decoder_feed(&dec, two, sizeof two, &taken),
                 "frame #2: frame of 2130706432 bytes exceeds the 1048576-byte cap");
    rpc_decoder_destroy(&dec);
}

/* Unpacks sb's bytes (one map, no frame header) into u. */
static const msgpack_object *unpack_map(msgpack_unpacked *u, const msgpack_sbuffer *sb)
{
    msgpack_unpacked_init(u);
    size_t off = 0;
    cr_assert_eq(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(u->data.type, MSGPACK_OBJECT_MAP);
    return &u->data;
}

/* The field readers of msg.c on the values at their edges: a key is
 * matched whole and as a str only ("types" and a bin "type" are not
 * "type"); false is not true; INT64_MAX is an integer and INT64_MAX + 1
 * is not (but is a number); NaN is no number and a float32 is one; a str
 * is not an int; both ends of a range are in it; a missing optional field
 * leaves the value as it was, a missing required one is named. */
Test(rpc, field_readers_at_their_edges)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    start_map(&sb, &pk, 10);
    pack_str(&pk, "types"), msgpack_pack_int(&pk, 1);
    msgpack_pack_bin(&pk, 4), msgpack_pack_bin_body(&pk, "type", 4), msgpack_pack_int(&pk, 2);
    pack_str(&pk, "f"), msgpack_pack_false(&pk);
    pack_str(&pk, "big"), msgpack_pack_int64(&pk, INT64_MAX);
    pack_str(&pk, "over"), msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
    pack_str(&pk, "nan"), msgpack_pack_double(&pk, NAN);
    pack_str(&pk, "f32"), msgpack_pack_float(&pk, 0.5f);
    pack_str(&pk, "lo"), msgpack_pack_int(&pk, 3);
    pack_str(&pk, "hi"), msgpack_pack_int(&pk, 9);
    pack_str(&pk, "s"), pack_str(&pk, "x");
    msgpack_unpacked u;
    const msgpack_object *m = unpack_map(&u, &sb);
    cr_assert_null(rpc_map_get(m, "type"));
    cr_assert_not_null(rpc_map_get(m, "types"));
    cr_assert(!rpc_map_true(m, "f"));
    int64_t v = 0;
    cr_assert_eq(rpc_get_int(m, "big", 0, INT64_MAX, &v), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(v, INT64_MAX);
    assert_error(rpc_get_int(m, "over", 0, INT64_MAX, &v), "field 'over' is not an integer");
    double d = 0;
    cr_assert_eq(rpc_get_num_opt(m, "over", 0, 1e300, &d), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(d, 9223372036854775808.0);
    assert_error(rpc_get_num_opt(m, "nan", -1e300, 1e300, &d),
                 "field 'nan' is not a finite number");
    cr_assert_eq(rpc_get_num_opt(m, "f32", 0, 1, &d), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(d, 0.5);
    const char *s;
    size_t ns;
    assert_error(rpc_get_str(m, "lo", &s, &ns), "field 'lo' is not a string");
    cr_assert_eq(rpc_get_int(m, "lo", 3, 9, &v), WEFT_OK);
    cr_assert_eq(rpc_get_int(m, "hi", 3, 9, &v), WEFT_OK);
    assert_error(rpc_get_int(m, "lo", 4, 9, &v), "field 'lo' is 3, expected 4..9");
    assert_error(rpc_get_int(m, "hi", 3, 8, &v), "field 'hi' is 9, expected 3..8");
    cr_assert_eq(rpc_get_num_opt(m, "lo", 3, 9, &d), WEFT_OK);
    cr_assert_eq(rpc_get_num_opt(m, "hi", 3, 9, &d), WEFT_OK);
    assert_error(rpc_get_num_opt(m, "lo", 3.5, 9, &d), "field 'lo' is 3, expected 3.5..9");
    assert_error(rpc_get_num_opt(m, "hi", 3, 8.5, &d), "field 'hi' is 9, expected 3..8.5");
    v = 42;
    cr_assert_eq(rpc_get_int_opt(m, "missing", 0, 9, &v), WEFT_OK);
    cr_assert_eq(v, 42);
    assert_error(rpc_get_int(m, "missing", 0, 9, &v), "field 'missing' is missing");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* rpc_keepalive_s: a third of the welcome's idle timeout when that is
 * below RPC_KEEPALIVE_S, else RPC_KEEPALIVE_S, as it is for an idle of 0
 * (no timeout) or none. */
Test(rpc, keepalive_is_a_third_of_the_idle_timeout)
{
    const double idle[4] = {-1, 0, 3, 60}, want[4] = {RPC_KEEPALIVE_S, RPC_KEEPALIVE_S, 1,
                                                      RPC_KEEPALIVE_S};
    for (int k = 0; k < 4; k++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        start_map(&sb, &pk, idle[k] < 0 ? 0 : 1);
        if (idle[k] >= 0)
            pack_str(&pk, "idle"), msgpack_pack_double(&pk, idle[k]);
        msgpack_unpacked u;
        cr_assert_eq(rpc_keepalive_s(unpack_map(&u, &sb)), want[k], "idle %g", idle[k]);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Reads the error frame framed[] (header and payload) with rpc_msg_error. */
static weft_err_t read_error(const msgpack_sbuffer *framed, rpc_error_msg_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = RPC_HEADER_BYTES;
    cr_assert_eq(msgpack_unpack_next(&u, framed->data, framed->size, &off),
                 MSGPACK_UNPACK_SUCCESS);
    memset(e, 0x55, sizeof *e); /* nothing is left from before */
    weft_err_t err = rpc_msg_error(&u.data, e);
    msgpack_unpacked_destroy(&u);
    return err;
}

/* The frame rpc_pack_error_why writes (or rpc_pack_error's, why NULL) of
 * code and message, as rpc_msg_error reads it. */
static weft_err_t error_round_trip(const char *code, const char *message,
                                   const rpc_error_why_t *why, rpc_error_msg_t *e)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(rpc_pack_error_why(&sb, code, message, why), WEFT_OK);
    weft_err_t err = read_error(&sb, e);
    msgpack_sbuffer_destroy(&sb);
    return err;
}

/* An error's why and range are read from its fields, whatever its message
 * says: a reworded message, or one in another case's old words, changes
 * nothing. Without a why (an older gateway), the three cases an agent acts
 * on are read from the words that gateway used, and only from those. */
Test(rpc, an_errors_why_comes_from_its_fields_else_from_an_older_gateways_words)
{
    rpc_error_msg_t e;
    const rpc_error_why_t range = {RPC_WHY_ID_RANGE, true, 0, 3};
    cr_assert_eq(error_round_trip("protocol", "no such port, friend", &range, &e), WEFT_OK);
    cr_assert_str_eq(e.code, "protocol");
    cr_assert_str_eq(e.message, "no such port, friend");
    cr_assert_str_eq(e.why, "id-range");
    cr_assert(e.has_range && e.lo == 0 && e.hi == 3 && !e.has_job, "%lld..%lld",
              (long long)e.lo, (long long)e.hi);
    const rpc_error_why_t none = {.why = RPC_WHY_PORT_NO_AGENT};
    cr_assert_eq(error_round_trip("auth", "hello: field 'id' is 4, expected 0..3", &none, &e),
                 WEFT_OK);
    cr_assert_str_eq(e.why, "port-no-agent");
    cr_assert(!e.has_range);
    const rpc_error_why_t rotated = {.why = RPC_WHY_SECRET_ROTATED};
    cr_assert_eq(error_round_trip("auth", "new key, please", &rotated, &e), WEFT_OK);
    cr_assert_str_eq(e.why, "secret-rotated");
    const rpc_error_why_t later = {.why = "a-case-of-later"}; /* kept, matches nothing */
    cr_assert_eq(error_round_trip("auth", "port 2 takes no agent", &later, &e), WEFT_OK);
    cr_assert_str_eq(e.why, "a-case-of-later");

    struct {
        const char *code, *message, *why;
        long long lo, hi;
    } old[] = {
        {"protocol", "hello: field 'id' is 7, expected 0..3", "id-range", 0, 3},
        {"protocol", "hello: field 'id' is -1, expected 2..9", "id-range", 2, 9},
        {"protocol", "hello: field 'id' is 1, expected 0..0", "id-range", 0, 0}, /* one port */
        {"protocol", "hello: field 'id' is 7, expected 0..3 (or so)", "", 0, 0},
        {"protocol", "hello: field 'port' is 0, expected 1..65535", "", 0, 0},
        {"protocol", "hello: field 'id' is 7, expected 5..3", "", 0, 0},
        {"auth", "hello: field 'id' is 7, expected 0..3", "", 0, 0},
        {"auth", "hello: port 4 takes no agent on this gateway (it has no secret of its own)",
         "port-no-agent", 0, 0},
        {"auth", "port 1 takes no agent any more", "port-no-agent", 0, 0},
        {"protocol", "port 1 takes no agent any more", "", 0, 0},
        {"auth", "the secret of port 1 changed: connect with the new one", "secret-rotated", 0,
         0},
        {"auth", "the secret of port 1 is the same", "", 0, 0},
        {"auth", "hello: wrong token", "", 0, 0},
    };
    for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
        cr_assert_eq(error_round_trip(old[i].code, old[i].message, NULL, &e), WEFT_OK);
        cr_assert_str_eq(e.why, old[i].why, "%s: %s", old[i].code, old[i].message);
        cr_assert_eq(e.has_range, !strcmp(old[i].why, "id-range"), "%s", old[i].message);
        cr_assert(!e.has_range || (e.lo == old[i].lo && e.hi == old[i].hi), "%s: %lld..%lld",
                  old[i].message, (long long)e.lo, (long long)e.hi);
    }
}

/* A gateway's code, message and why reach the terminal through the
 * clients: C0 and C1 controls in them (U+009B as UTF-8 and 0x9b alone are
 * CSI) are read escaped, other UTF-8 as it is; a message longer than the
 * field is cut between characters. */
Test(rpc, an_errors_controls_are_read_escaped)
{
    rpc_error_msg_t e;
    const rpc_error_why_t why = {.why = "w\x1b\xc2\x9b"};
    cr_assert_eq(error_round_trip("c\x9b", "m\x1b[2J\xc2\x9b" "31m \xc3\xa9", &why, &e),
                 WEFT_OK);
    cr_assert_str_eq(e.code, "c\\x9b");
    cr_assert_str_eq(e.message, "m\\x1b[2J\\xc2\\x9b" "31m \xc3\xa9");
    cr_assert_str_eq(e.why, "w\\x1b\\xc2\\x9b");
    char longer[sizeof e.message + 8];
    memset(longer, 'a', sizeof e.message - 2);
    strcpy(longer + sizeof e.message - 2, "\xc3\xa9"); /* its last byte past the field */
    cr_assert_eq(error_round_trip("c", longer, NULL, &e), WEFT_OK);
    cr_assert_eq(strlen(e.message), sizeof e.message - 2, "%s", e.message);
}

/* Begins in sb an error frame of code and message and n_more fields
 * after them, which the caller packs with pk. */
static void begin_error(msgpack_sbuffer *sb, msgpack_packer *pk, size_t *mark, size_t n_more,
                        const char *code, const char *message)
{
    msgpack_sbuffer_init(sb);
    cr_assert_eq(rpc_frame_begin(sb, mark), WEFT_OK);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, 3 + n_more);
    pack_str(pk, "type"), pack_str(pk, "error");
    pack_str(pk, "code"), pack_str(pk, code);
    pack_str(pk, "message"), pack_str(pk, message);
}

/* Ends the frame begun in sb and reads it: refused with exactly detail,
 * its code and message read, no why and no range taken. Frees sb. */
static void expect_malformed(msgpack_sbuffer *sb, size_t mark, const char *detail,
                             const char *code, const char *message)
{
    cr_assert_eq(rpc_frame_end(sb, mark, 0), WEFT_OK);
    rpc_error_msg_t e;
    assert_error(read_error(sb, &e), detail);
    cr_assert_str_eq(weft_last_error(), detail);
    cr_assert_str_eq(e.code, code);
    cr_assert_str_eq(e.message, message);
    cr_assert_str_eq(e.why, "", "%s", detail);
    cr_assert(!e.has_range, "%s", detail);
    msgpack_sbuffer_destroy(sb);
}

/* A malformed machine-readable part is refused, naming the field, and
 * nothing of it is taken (no why, no range), while the code and message
 * are still read; an older gateway's words do not stand in for it. */
Test(rpc, a_malformed_why_is_refused_naming_its_field)
{
    struct {
        int kind;
        const char *detail;
    } cases[] = {
        {0, "error frame: field 'lo' is not an integer"},
        {1, "error frame: field 'why' is not a string"},
        {2, "error frame: field 'lo' comes without field 'hi'"},
        {3, "error frame: field 'hi' is 2, expected 5..9223372036854775807"},
        {4, "error frame: why 'id-range' comes without fields 'lo' and 'hi'"},
        {5, "error frame: fields 'lo' and 'hi' come without field 'why'"},
        {6, "error frame: field 'hi' is not an integer"},
    };
    /* the old words of id-range: a malformed why is not read from them */
    const char *id_range = "hello: field 'id' is 7, expected 0..3";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int k = cases[i].kind;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t mark;
        begin_error(&sb, &pk, &mark, k == 2 || k == 5 ? 2 : k == 4 ? 1 : 3, "protocol",
                    id_range);
        if (k == 1)
            pack_str(&pk, "why"), msgpack_pack_int(&pk, 1);
        else if (k != 5)
            pack_str(&pk, "why"), pack_str(&pk, "id-range");
        if (k == 0)
            pack_str(&pk, "lo"), pack_str(&pk, "0");
        else if (k != 4)
            pack_str(&pk, "lo"), msgpack_pack_int(&pk, k == 3 ? 5 : 0);
        if (k == 6)
            pack_str(&pk, "hi"), msgpack_pack_double(&pk, 3.0);
        else if (k != 2 && k != 4)
            pack_str(&pk, "hi"), msgpack_pack_int(&pk, k == 3 ? 2 : 3);
        expect_malformed(&sb, mark, cases[i].detail, "protocol", id_range);
    }
    /* one of lo and hi alone: beside a why that takes no range, or with no
       why and an older gateway's words for one */
    struct {
        const char *why, *field, *detail;
    } alone[] = {
        {"port-no-agent", "hi", "error frame: field 'hi' comes without field 'lo'"},
        {NULL, "lo", "error frame: fields 'lo' and 'hi' come without field 'why'"},
        {NULL, "hi", "error frame: fields 'lo' and 'hi' come without field 'why'"},
    };
    const char *no_agent = "port 2 takes no agent any more";
    for (size_t i = 0; i < sizeof alone / sizeof *alone; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t mark;
        begin_error(&sb, &pk, &mark, alone[i].why ? 2 : 1, "auth", no_agent);
        if (alone[i].why)
            pack_str(&pk, "why"), pack_str(&pk, alone[i].why);
        pack_str(&pk, alone[i].field), msgpack_pack_int(&pk, 3);
        expect_malformed(&sb, mark, alone[i].detail, "auth", no_agent);
    }
}

/* Where a certificate stands against its dates (rpc_tls_expiry, which
 * serve and the agent say at start and on SIGHUP, one expired or not valid
 * yet refused there): at the edges, now 2026-12-07 00:00:00 UTC, valid
 * from a year before unless said. Its last second is already expired, as
 * OpenSSL's verify has it; 30 days left exactly is in date, a second less
 * is due; a start a second ahead is not valid yet, whatever its end, a
 * start now is valid; dates that could not be read (0) say nothing. */
Test(rpc, a_certificates_dates_make_it_expired_due_not_yet_valid_or_in_date)
{
    const int64_t now = 1796601600, day = 86400, year_ago = now - 365 * day;
    const struct {
        int64_t not_before, not_after;
        rpc_tls_expiry_t want;
        const char *says;
    } cases[] = {
        {year_ago, now - 400 * day, RPC_TLS_EXPIRED,
         "the data certificate a.pem expired on 2025-11-02 00:00:00 UTC: the other agents "
         "refuse it; renew it and send SIGHUP"},
        {year_ago, now, RPC_TLS_EXPIRED,
         "the data certificate a.pem expired on 2026-12-07 00:00:00 UTC: the other agents "
         "refuse it; renew it and send SIGHUP"},
        {year_ago, now + 1, RPC_TLS_DUE,
         "the data certificate a.pem expires on 2026-12-07 00:00:01 UTC, in 0.0 days: renew it "
         "and send SIGHUP"},
        {year_ago, now + 2 * day, RPC_TLS_DUE,
         "the data certificate a.pem expires on 2026-12-09 00:00:00 UTC, in 2.0 days: renew it "
         "and send SIGHUP"},
        {year_ago, now + 30 * day - 1, RPC_TLS_DUE,
         "the data certificate a.pem expires on 2027-01-05 23:59:59 UTC, in 30.0 days: renew "
         "it and send SIGHUP"},
        {year_ago, now + 30 * day, RPC_TLS_IN_DATE, ""},
        {0, 0, RPC_TLS_IN_DATE, ""},
        {now + 1, now + 400 * day, RPC_TLS_NOT_YET,
         "the data certificate a.pem becomes valid on 2026-12-07 00:00:01 UTC: the other "
         "agents refuse it until then; use one valid now (or check the clock) and send SIGHUP"},
        {now + 400 * day, now + 401 * day, RPC_TLS_NOT_YET,
         "the data certificate a.pem becomes valid on 2028-01-11 00:00:00 UTC: the other "
         "agents refuse it until then; use one valid now (or check the clock) and send SIGHUP"},
        {now + 1, now + 2 * day, RPC_TLS_NOT_YET, /* not "due": it cannot be used yet */
         "the data certificate a.pem becomes valid on 2026-12-07 00:00:01 UTC: the other "
         "agents refuse it until then; use one valid now (or check the clock) and send SIGHUP"},
        {now, now + 400 * day, RPC_TLS_IN_DATE, ""},
        {0, now + 400 * day, RPC_TLS_IN_DATE, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[RPC_TLS_EXPIRY_LEN] = "left over";
        rpc_tls_expiry_t got = rpc_tls_expiry(buf, sizeof buf, "data certificate", "a.pem",
                                              "the other agents", cases[i].not_before,
                                              cases[i].not_after, now);
        cr_assert_eq(got, cases[i].want, "case %zu: %d", i, (int)got);
        cr_assert_str_eq(buf, cases[i].says, "case %zu", i);
    }
}

/* The port a listening socket is bound to (rpc_bound_port, what the
 * gateway, its metrics listener and an agent's data listener report): the
 * kernel's choice for port 0, in both families; on a descriptor that is no
 * socket an error naming it, where an unchecked getsockname left the port
 * to whatever the stack held. */
Test(rpc, the_bound_port_is_the_kernels_choice_and_a_non_socket_is_refused)
{
    int families[] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
        int fd = socket(families[i], SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 && families[i] == AF_INET6)
            continue; /* no IPv6 on this host */
        cr_assert(fd >= 0);
        struct sockaddr_storage ss = {0};
        socklen_t len = families[i] == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6);
        ss.ss_family = (sa_family_t)families[i]; /* the loopback's or any address, port 0 */
        if (families[i] == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
            /* an unbound socket would listen on a port of the kernel's anyway */
            cr_assert_eq(families[i], AF_INET6, "bind 127.0.0.1 port 0: %s", strerror(errno));
            close(fd);
            continue;
        }
        cr_assert_eq(listen(fd, 1), 0);
        struct sockaddr_storage got;
        socklen_t glen = sizeof got;
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&got, &glen), 0);
        /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): getsockname set got */
        int want = ntohs(families[i] == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                : ((struct sockaddr_in6 *)&got)->sin6_port);
        int port = -1;
        cr_assert_eq(rpc_bound_port(fd, "the test's listener", &port), WEFT_OK, "%s",
                     weft_last_error());
        cr_assert(port > 0 && port == want, "family %d: port %d, the kernel says %d",
                  families[i], port, want);
        close(fd);
    }
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int port = -7;
    cr_assert_eq(rpc_bound_port(p[0], "a pipe", &port), WEFT_EIO);
    cr_assert(strstr(weft_last_error(), "a pipe: cannot read the port it is bound to: "),
              "%s", weft_last_error());
    cr_assert_eq(port, -7, "the port was written: %d", port);
    close(p[0]);
    close(p[1]);
}
