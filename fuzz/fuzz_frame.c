/*
 * fuzz_frame.c - libFuzzer target for the gateway's frame decoder
 * (rpc/rpc.h). The input is a byte stream from a peer: its first byte picks
 * how it is cut into chunks (fixed sizes 1..64, or pseudo-random sizes
 * seeded by it), the rest is fed to a decoder with a 4096-byte cap,
 * draining frames after every feed. Checks:
 *   - the buffer never exceeds cap + 4 bytes, and feed takes every byte
 *     unless the buffer is full of complete frames;
 *   - every frame is a map whose payload fits the cap, and packs back with
 *     msgpack_pack_object into a frame the decoder accepts again, decoding
 *     to the same bytes (the round trip the gateway's own messages make);
 *   - an error has a non-empty detail and poisons: feed and next replay it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/weft.h"
#include "rpc/rpc.h"

#define CAP 4096

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz check failed: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void check_error(rpc_decoder_t *dec, weft_err_t err)
{
    const char *msg = weft_last_error();
    if (err != WEFT_EPROTO && err != WEFT_ENOMEM)
        die("the decoder failed with an unexpected code", msg);
    if (!msg[0])
        die("the decoder failed with an empty error detail", weft_strerror(err));
    char first[256];
    snprintf(first, sizeof first, "%s", msg);
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    weft_clear_error();
    if (rpc_decoder_next(dec, &fr) != err || strcmp(weft_last_error(), first) || fr.size)
        die("a poisoned decoder's next did not replay its error", first);
    size_t taken = 1;
    weft_clear_error();
    if (rpc_decoder_feed(dec, "x", 1, &taken) != err || taken || strcmp(weft_last_error(), first))
        die("a poisoned decoder's feed did not replay its error", first);
    rpc_frame_destroy(&fr);
}

static void pack(msgpack_sbuffer *sb, const msgpack_object *o)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *o))
        die("msgpack_pack_object failed", NULL);
}

/* An accepted frame packs back into one the decoder accepts, unchanged. */
static void check_round_trip(const rpc_frame_t *fr)
{
    msgpack_sbuffer once, twice;
    msgpack_sbuffer_init(&once);
    msgpack_sbuffer_init(&twice);
    if (rpc_frame_encode(&once, &fr->msg.data, CAP))
        die("rpc_frame_encode of an accepted frame failed", weft_last_error());
    rpc_decoder_t dec;
    rpc_limits_t lim = {.max_frame = CAP};
    if (rpc_decoder_init(&dec, &lim))
        die("rpc_decoder_init", weft_last_error());
    rpc_frame_t back;
    rpc_frame_init(&back);
    size_t taken;
    if (rpc_decoder_feed(&dec, once.data, once.size, &taken) || taken != once.size)
        die("a re-encoded frame was not taken", weft_last_error());
    if (rpc_decoder_next(&dec, &back) != 1)
        die("a re-encoded frame does not decode", weft_last_error());
    if (rpc_decoder_pending(&dec))
        die("a re-encoded frame left bytes behind", NULL);
    pack(&twice, &back.msg.data);
    if (twice.size != once.size - 4 || memcmp(twice.data, once.data + 4, twice.size))
        die("a re-encoded frame decodes to other bytes", NULL);
    rpc_frame_destroy(&back);
    rpc_decoder_destroy(&dec);
    msgpack_sbuffer_destroy(&once);
    msgpack_sbuffer_destroy(&twice);
}

/* Drains every complete frame; returns 0 or the error. */
static weft_err_t drain(rpc_decoder_t *dec, rpc_frame_t *fr)
{
    int r;
    while ((r = rpc_decoder_next(dec, fr)) == 1) {
        if (fr->msg.data.type != MSGPACK_OBJECT_MAP || fr->size == 0 || fr->size > CAP)
            die("a frame is not a map within the cap", NULL);
        check_round_trip(fr);
    }
    if (r == 0 && fr->size)
        die("next returned 0 with a frame", NULL);
    return r < 0 ? (weft_err_t)r : WEFT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned pick = data[0];
    data++, size--;
    uint64_t state = pick * 0x9e3779b97f4a7c15ULL + 1;
    rpc_decoder_t dec;
    rpc_limits_t lim = {.max_frame = CAP};
    if (rpc_decoder_init(&dec, &lim))
        die("rpc_decoder_init", weft_last_error());
    rpc_frame_t fr;
    rpc_frame_init(&fr);
    weft_clear_error();
    weft_err_t err = WEFT_OK;
    size_t off = 0;
    while (!err && off < size) {
        size_t chunk;
        if (pick < 128) {
            chunk = 1 + pick % 64;
        } else { /* xorshift: sizes 1..CAP+100, so chunks cross frames */
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            chunk = 1 + state % (pick & 1 ? 16 : CAP + 100);
        }
        if (chunk > size - off)
            chunk = size - off;
        size_t taken;
        err = rpc_decoder_feed(&dec, data + off, chunk, &taken);
        if (dec.buf_cap > CAP + 4 || dec.len > dec.buf_cap)
            die("the buffer grew past cap + 4", NULL);
        if (err)
            break;
        if (taken > chunk || (taken < chunk && rpc_decoder_pending(&dec) != CAP + 4))
            die("feed took fewer bytes with room left", NULL);
        off += taken;
        err = drain(&dec, &fr);
    }
    if (err)
        check_error(&dec, err);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    return 0;
}
