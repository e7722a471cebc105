/*
 * journal.c - the gateway's append-only journal (gateway.h).
 *
 * Records are frames (rpc.h), appended with one write() each and, under
 * the default policy, made durable with fdatasync() before the gateway
 * acknowledges what they record: one fdatasync per event-loop pass covers
 * every record of that pass (group commit, server.c). A crash can therefore leave at most one
 * torn record at the end; replay cuts it off (the peer never got its ack
 * and will send it again), after copying its bytes to PATH.torn-OFFSET.
 * A torn record is told from damage by its shape: a length within the
 * record cap and bytes that can begin a record (rpc_payload_prefix_ok).
 * A corrupted length that runs past the end of the file fails that test
 * (the records it swallowed end where a map ends, short of the length),
 * as does anything else that does not decode, a whole last record whose
 * length alone was damaged to say more included (its map ends short of
 * it). Each complete record's seal (gateway.h) catches the damage that
 * still decodes. Damage stops the gateway with the record number and
 * byte offset and leaves the file untouched.
 *
 * Rewriting (compaction): once the file has doubled since it was last
 * written whole, the gateway replaces it with the records of its state -
 * the jobs compacted away, then every job it holds (each preceded by a
 * flow id base where compacted jobs' ids come before it) and their done
 * flows - through a temporary file renamed over it, so the file
 * follows the jobs in flight rather than every job ever registered. A
 * journal reached through a symbolic link is rewritten where the link
 * leads; one on a device (no file to compact) never is. Anything else but
 * a regular file or a device - a FIFO, a socket, a directory - is refused
 * at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client.h"

#include "gateway.h"

static weft_err_t write_all(int fd, const char *path, const msgpack_sbuffer *b);

/* Format 2's first bytes: 0xff first, so that an older gateway reads a
 * length past any record cap and refuses the file rather than misread it. */
const unsigned char rpc_journal_header[RPC_JOURNAL_HEADER_BYTES] = "\xffweft journal 2\n";

/* A seal's bytes before the digest: the key "sum" and a uint64's marker. */
static const unsigned char seal_key[5] = {0xa3, 's', 'u', 'm', 0xcf};
#define SEAL_BYTES (sizeof seal_key + 8)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* SHA-256 fetched once, and each journal's context made once and reused:
 * a fetch and a context per record took a third of an append and two
 * thirds of a replay (about 0.35 us a record each). */
static EVP_MD *sha256_md;
static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

/* The first 8 bytes of the SHA-256 of the seal before (chain: the 8 bytes
 * of the previous sealed record's, zeros for the first), a 4-byte frame
 * header and body[n], into out, with j's digest context: seal_begin with
 * chain and head, seal_more with the body in as many pieces as it comes,
 * seal_end. Chained, a record's seal also says which record came before
 * it, so a record lost, repeated or moved inside the file is found too. */
static weft_err_t seal_begin(rpc_journal_t *j, const unsigned char chain[8],
                             const unsigned char head[4])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha256);
    if (!j->digest)
        j->digest = EVP_MD_CTX_new();
    EVP_MD_CTX *md = j->digest;
    bool ok = md && sha256_md && EVP_DigestInit_ex(md, sha256_md, NULL) == 1 &&
              EVP_DigestUpdate(md, chain, 8) == 1 && EVP_DigestUpdate(md, head, 4) == 1;
    return ok ? WEFT_OK : weft_fail(WEFT_ENOMEM, "SHA-256 (OpenSSL) failed");
}

static weft_err_t seal_more(rpc_journal_t *j, const void *body, size_t n)
{
    if (EVP_DigestUpdate(j->digest, body, n) != 1)
        return weft_fail(WEFT_ENOMEM, "SHA-256 (OpenSSL) failed");
    return WEFT_OK;
}

static weft_err_t seal_end(rpc_journal_t *j, unsigned char out[8])
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(j->digest, sum, &len) != 1 || len != 32)
        return weft_fail(WEFT_ENOMEM, "SHA-256 (OpenSSL) failed");
    memcpy(out, sum, 8);
    return WEFT_OK;
}

static weft_err_t seal_digest(rpc_journal_t *j, const unsigned char chain[8],
                              const unsigned char head[4], const void *body, size_t n,
                              unsigned char out[8])
{
    weft_err_t err = seal_begin(j, chain, head);
    if (!err)
        err = seal_more(j, body, n);
    return err ? err : seal_end(j, out);
}

/* Appends frame[n] sealed after chain (seal_digest) to out (size *len,
 * room *cap, grown as needed): its map one entry larger, the "sum" entry
 * after the others, the length fixed; chain becomes its seal. EINVAL if
 * frame is not one frame holding a map, or if the sealed record would pass
 * cap_record bytes of payload. */
static weft_err_t seal_frame(rpc_journal_t *j, unsigned char chain[8],
                             const unsigned char *frame, size_t n, size_t cap_record,
                             unsigned char **out, size_t *len, size_t *cap)
{
    if (n < RPC_HEADER_BYTES + 1 || be32(frame) != n - RPC_HEADER_BYTES)
        return weft_fail(WEFT_EINVAL, "a journal record must be one whole frame (%zu bytes)",
                         n);
    const unsigned char *p = frame + RPC_HEADER_BYTES;
    size_t plen = n - RPC_HEADER_BYTES, head;
    uint64_t count;
    if ((p[0] & 0xf0) == 0x80)
        count = p[0] & 0x0f, head = 1;
    else if (p[0] == 0xde && plen >= 3)
        count = (uint64_t)p[1] << 8 | p[2], head = 3;
    else if (p[0] == 0xdf && plen >= 5)
        count = be32(p + 1), head = 5;
    else
        return weft_fail(WEFT_EINVAL, "a journal record must hold a map (it starts with "
                         "byte 0x%02x)", p[0]);
    count++;
    if (count > UINT32_MAX)
        return weft_fail(WEFT_EINVAL, "a journal record's map has too many entries to seal");
    unsigned char grown[5];
    size_t new_head = count <= 15 ? 1 : count <= 0xffff ? 3 : 5;
    if (new_head == 1) {
        grown[0] = (unsigned char)(0x80 | count);
    } else if (new_head == 3) {
        grown[0] = 0xde, grown[1] = (unsigned char)(count >> 8), grown[2] = (unsigned char)count;
    } else {
        grown[0] = 0xdf;
        put_be32(grown + 1, (uint32_t)count);
    }
    size_t sealed = plen - head + new_head + SEAL_BYTES;
    if (sealed > cap_record)
        return weft_fail(WEFT_EINVAL, "a journal record of %zu bytes sealed passes the "
                         "%zu-byte record cap", sealed, cap_record);
    size_t need = *len + RPC_HEADER_BYTES + sealed;
    if (need > *cap) {
        size_t grow = *cap ? *cap : 256;
        while (grow < need)
            grow *= 2;
        unsigned char *b = realloc(*out, grow);
        if (!b)
            return weft_fail(WEFT_ENOMEM, "out of memory sealing a journal record");
        *out = b, *cap = grow;
    }
    unsigned char *r = *out + *len;
    put_be32(r, (uint32_t)sealed);
    memcpy(r + RPC_HEADER_BYTES, grown, new_head);
    memcpy(r + RPC_HEADER_BYTES + new_head, p + head, plen - head);
    unsigned char *tail = r + RPC_HEADER_BYTES + sealed - SEAL_BYTES;
    memcpy(tail, seal_key, sizeof seal_key);
    weft_err_t err =
        seal_digest(j, chain, r, r + RPC_HEADER_BYTES, sealed - 8, tail + sizeof seal_key);
    if (!err) {
        *len = need;
        memcpy(chain, tail + sizeof seal_key, 8);
    }
    return err;
}

/* Whether the record with payload p[n], decoded as map rec, is sealed:
 * the map's last entry is "sum" with a uint64 in its 9-byte form, which
 * are then the payload's last bytes. */
static bool is_sealed(const msgpack_object *rec, const char *p, size_t n)
{
    if (rec->type != MSGPACK_OBJECT_MAP || rec->via.map.size == 0 || n < SEAL_BYTES + 1 ||
        memcmp(p + n - SEAL_BYTES, seal_key, sizeof seal_key))
        return false;
    const msgpack_object_kv *last = &rec->via.map.ptr[rec->via.map.size - 1];
    return last->key.type == MSGPACK_OBJECT_STR && last->key.via.str.size == 3 &&
           !memcmp(last->key.via.str.ptr, "sum", 3) &&
           last->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

/* Whether the seal of the record with payload p[n] matches its bytes and
 * the seal before it (j->chain, which then becomes its); EPROTO with both
 * digests if not. */
static weft_err_t check_seal(rpc_journal_t *j, const char *p, size_t n)
{
    unsigned char head[4], want[8];
    put_be32(head, (uint32_t)n);
    weft_err_t err = seal_digest(j, j->chain, head, p, n - 8, want);
    if (err)
        return err;
    if (!memcmp(want, p + n - 8, 8)) {
        memcpy(j->chain, want, 8);
        return WEFT_OK;
    }
    char said[17], is[17];
    for (int i = 0; i < 8; i++) {
        snprintf(said + 2 * i, 3, "%02x", (unsigned char)p[n - 8 + i]);
        snprintf(is + 2 * i, 3, "%02x", want[i]);
    }
    return weft_fail(WEFT_EPROTO, "its checksum does not match its bytes and the record "
                     "before it (its \"sum\" says %s, its %zu bytes give %s): the record, or "
                     "its place in the file, is damaged", said, n + RPC_HEADER_BYTES - 8, is);
}

/* Whether the n bytes p left after the last complete record can be the
 * start of one record cut short by a crash mid-write: a length within the
 * record cap (the decoder checked a whole one) and a payload prefix that
 * rpc_payload_prefix_ok accepts under the object cap a whole record has
 * (the default one called a torn registration of 100,000 flows damage).
 * Anything else is damage: EPROTO with the detail. */
static weft_err_t check_torn(const unsigned char *p, size_t n, size_t cap)
{
    uint64_t len = 0;
    for (size_t i = 0; i < RPC_HEADER_BYTES; i++)
        len = len << 8 | (i < n ? p[i] : 0);
    if (n < RPC_HEADER_BYTES) {
        if (len > cap)
            return weft_fail(WEFT_EPROTO, "its first %zu length bytes already exceed the "
                             "%zu-byte record cap", n, cap);
        return WEFT_OK;
    }
    weft_err_t err = rpc_payload_prefix_ok(p + RPC_HEADER_BYTES, n - RPC_HEADER_BYTES,
                                           (size_t)len, rpc_objects_for(cap));
    if (err)
        return weft_wrap(err, "it declares %llu bytes and %zu follow: ",
                         (unsigned long long)len, n - RPC_HEADER_BYTES);
    return WEFT_OK;
}

/* For record #record at byte `at` of j's file, whose length is over the
 * record cap `cap`: EINVAL naming the --max-frame that reads it if the file
 * holds all of its bytes and, where it is sealed (as it must be with
 * must_seal), its seal matches them and the record before it, so that it
 * is no damage but a record of a gateway with a larger --max-frame; else
 * WEFT_OK, for the caller to report damage. Reads the record in pieces:
 * O(its length) time, O(1) memory. */
static weft_err_t check_oversized(rpc_journal_t *j, uint64_t at, size_t cap, bool must_seal,
                                  uint64_t record)
{
    unsigned char head[RPC_HEADER_BYTES], tail[SEAL_BYTES], seal[8], piece[1 << 14];
    struct stat st;
    if (pread(j->fd, head, sizeof head, (off_t)at) != (ssize_t)sizeof head ||
        fstat(j->fd, &st) != 0)
        return WEFT_OK;
    uint64_t len = be32(head), body = at + RPC_HEADER_BYTES;
    if (len <= cap || body + len > (uint64_t)st.st_size ||
        pread(j->fd, tail, sizeof tail, (off_t)(body + len - sizeof tail)) !=
            (ssize_t)sizeof tail)
        return WEFT_OK;
    bool sealed = !memcmp(tail, seal_key, sizeof seal_key);
    if (!sealed && must_seal)
        return WEFT_OK;
    if (sealed) {
        weft_err_t err = seal_begin(j, j->chain, head);
        for (uint64_t off = 0; !err && off < len - 8;) {
            size_t n = len - 8 - off < sizeof piece ? (size_t)(len - 8 - off) : sizeof piece;
            ssize_t got = pread(j->fd, piece, n, (off_t)(body + off));
            if (got <= 0)
                return WEFT_OK;
            err = seal_more(j, piece, (size_t)got);
            off += (uint64_t)got;
        }
        if (err || (err = seal_end(j, seal)))
            return err;
        if (memcmp(seal, tail + sizeof seal_key, sizeof seal))
            return WEFT_OK;
    }
    return weft_fail(WEFT_EINVAL, "journal %s: record #%llu (byte %llu) is of %llu bytes, more "
                     "than the %zu-byte record cap, and whole%s: a gateway with a larger "
                     "--max-frame wrote it; read the journal with --max-frame %llu or more "
                     "(it is left as it is)", j->path, (unsigned long long)record,
                     (unsigned long long)at, (unsigned long long)len, cap,
                     sealed ? ", its checksum matching" : " (from before checksums: unchecked)",
                     (unsigned long long)(len - RPC_JOURNAL_SEAL_MAX));
}

/* Copies the torn tail p[n] (at byte `at` of the journal) to a new file
 * PATH.torn-AT (or PATH.torn-AT.K if that exists), durably, and stores its
 * name in j->torn_path. */
static weft_err_t keep_torn(rpc_journal_t *j, const unsigned char *p, size_t n, uint64_t at)
{
    size_t cap = strlen(j->path) + 48;
    char *name = malloc(cap);
    char *dir = strdup(j->path);
    weft_err_t err = WEFT_OK;
    int fd = -1, dfd = -1;
    if (!name || !dir)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory keeping journal %s's torn tail",
                             j->path));
    for (int k = 1; fd < 0 && k <= 100; k++) {
        if (k == 1)
            snprintf(name, cap, "%s.torn-%llu", j->path, (unsigned long long)at);
        else
            snprintf(name, cap, "%s.torn-%llu.%d", j->path, (unsigned long long)at, k);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: keeping its torn tail in %s: %s", j->path,
                             name, strerror(errno)));
    msgpack_sbuffer b = {n, (char *)p, n};
    WEFT_CHECK(write_all(fd, name, &b));
    if (fdatasync(fd) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: fdatasync: %s", name, strerror(errno)));
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: syncing its directory: %s", j->path,
                             strerror(errno)));
    j->torn_path = name;
    name = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (err && name && fd >= 0)
        unlink(name);
    free(name);
    free(dir);
    return err;
}

/* Bytes the decoder needs to complete the record it is reading: the rest
 * of its header, or of its (checked) length. */
static size_t record_need(const rpc_decoder_t *dec)
{
    size_t have = rpc_decoder_pending(dec);
    if (have < RPC_HEADER_BYTES)
        return RPC_HEADER_BYTES - have;
    return RPC_HEADER_BYTES + (size_t)be32(dec->buf + dec->start) - have;
}

/* The error for damage found after record #records (ending at byte good):
 * where, what (`what`, then the last detail), and what the operator can do;
 * at byte 0 (neither a header nor a record), that it may be no journal.
 * Nothing has been written to the file. */
static weft_err_t damaged(weft_err_t err, const char *path, uint64_t records, uint64_t good,
                          const char *what)
{
    char detail[640], keep[96] = "";
    snprintf(detail, sizeof detail, "%s", weft_last_error());
    if (records == 1)
        snprintf(keep, sizeof keep, " (its first %llu bytes hold record #1)",
                 (unsigned long long)good);
    else if (records > 1)
        snprintf(keep, sizeof keep, " (its first %llu bytes hold records #1-#%llu)",
                 (unsigned long long)good, (unsigned long long)records);
    if (good == 0) /* no header and no record: a wrong file named as likely as damage */
        return weft_fail(err, "journal %s: not a journal weft wrote, or one damaged from its "
                         "first byte (byte 0): %s%s; the file is left as it is (a journal: "
                         "restore it from a copy, or move it away to start without its jobs)",
                         path, what, detail);
    return weft_fail(err, "journal %s: damaged after record #%llu (byte %llu): %s%s; the journal "
                     "is left as it is: restore it from a copy, or move it away to start "
                     "without its jobs%s", path, (unsigned long long)records,
                     (unsigned long long)good, what, detail, keep);
}

/* The error for a journal whose first n bytes p start with 0xff but not
 * with rpc_journal_header: no file of format 1 (its first record's length
 * would pass any record cap), so the header of a later format (EVERSION,
 * naming it) or damage (EPROTO). */
static weft_err_t other_header(const char *path, const unsigned char *p, size_t n)
{
    const size_t prefix = RPC_JOURNAL_HEADER_BYTES - 2; /* "\xffweft journal " */
    unsigned long format = 0;
    size_t k = prefix;
    if (n > prefix && !memcmp(p, rpc_journal_header, prefix))
        while (k < n && k < prefix + 6 && p[k] >= '0' && p[k] <= '9')
            format = format * 10 + (unsigned long)(p[k++] - '0');
    if (k > prefix && k < n && p[k] == '\n' && format > RPC_JOURNAL_FORMAT)
        return weft_fail(WEFT_EVERSION, "journal %s is of format %lu, and this weft reads "
                         "formats 1 and %d: a newer weft wrote it; run that one on it (the "
                         "journal is left as it is)", path, format, RPC_JOURNAL_FORMAT);
    weft_fail(WEFT_EPROTO, "it starts with byte 0xff, as a journal header does (\"\\xffweft "
              "journal %d\\n\"), but holds no header this weft knows", RPC_JOURNAL_FORMAT);
    return damaged(WEFT_EPROTO, path, 0, 0, "");
}

/* True if rec is an epoch record, whose id it then keeps in j->epoch (*err
 * set if it is malformed). */
static bool read_epoch(rpc_journal_t *j, const msgpack_object *rec, weft_err_t *err)
{
    const char *r;
    size_t nr;
    if (rpc_get_str(rec, "r", &r, &nr) || nr != 5 || memcmp(r, "epoch", 5))
        return false;
    int64_t id;
    double at = 0;
    *err = rpc_get_int(rec, "id", 1, INT64_MAX, &id);
    if (!*err)
        *err = rpc_get_num_opt(rec, "at", 0, INFINITY, &at);
    if (!*err) {
        j->epoch = (uint64_t)id;
        j->epoch_at = at;
        j->epochs++;
    }
    return true;
}

/* Packs {"r": kind, key: v} into b as one record, with "at": at if at > 0. */
static weft_err_t u64_record(msgpack_sbuffer *b, const char *kind, const char *key, uint64_t v,
                             double at)
{
    size_t mark;
    weft_err_t err = rpc_frame_begin(b, &mark);
    if (err)
        return err;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, at > 0 ? 3 : 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, kind);
    rpc_pack_cstr(&pk, key), msgpack_pack_uint64(&pk, v);
    if (at > 0)
        rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, at);
    return rpc_frame_end(b, mark, RPC_JOURNAL_MAX_RECORD);
}

weft_err_t rpc_journal_base_record(msgpack_sbuffer *b, uint64_t next_fid)
{
    return u64_record(b, "base", "fid", next_fid, 0);
}

weft_err_t rpc_journal_epoch_record(msgpack_sbuffer *b, uint64_t epoch, double origin)
{
    return u64_record(b, "epoch", "id", epoch, origin);
}

weft_err_t rpc_journal_open(rpc_journal_t *j, const char *path, bool sync,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            void *arg)
{
    return rpc_journal_open_cap(j, path, sync, RPC_JOURNAL_MAX_RECORD, replay, arg);
}

/* Makes the journal's first bytes the header, the file being empty or
 * holding the first have bytes of it (a crash while it was written). */
static weft_err_t write_header(rpc_journal_t *j, size_t have)
{
    if (have && ftruncate(j->fd, 0) != 0)
        return weft_fail(WEFT_EIO, "journal %s: truncate: %s", j->path, strerror(errno));
    msgpack_sbuffer h = {RPC_JOURNAL_HEADER_BYTES, (char *)rpc_journal_header,
                         RPC_JOURNAL_HEADER_BYTES};
    weft_err_t err = write_all(j->fd, j->path, &h);
    if (!err && j->sync && fdatasync(j->fd) != 0)
        err = weft_fail(WEFT_EIO, "journal %s: fdatasync: %s", j->path, strerror(errno));
    return err;
}

/* Reads what the journal holds into buf[cap] until it has the header's
 * length or the file ends: *have bytes, *eof whether it ended. */
static weft_err_t read_start(rpc_journal_t *j, unsigned char *buf, size_t cap, size_t *have,
                             bool *eof)
{
    *have = 0;
    *eof = false;
    while (*have < RPC_JOURNAL_HEADER_BYTES && !*eof) {
        ssize_t n = read(j->fd, buf + *have, cap - *have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return weft_fail(WEFT_EIO, "journal %s: read: %s", j->path, strerror(errno));
        *eof = n == 0;
        *have += (size_t)n;
    }
    return WEFT_OK;
}

/* The checks of format 2 on a complete record (payload p[n], map rec):
 * sealed where it must be, and the seal matching. *sealed_from_here
 * becomes true at the first sealed record. */
static weft_err_t check_record(rpc_journal_t *j, const msgpack_object *rec, const char *p,
                               size_t n, bool *sealed_from_here)
{
    bool sealed = is_sealed(rec, p, n);
    if (!sealed && (j->format == 2 || *sealed_from_here))
        return weft_fail(WEFT_EPROTO, "the record has no checksum (no \"sum\" entry last), "
                         "and %s", j->format == 2 ? "every record of a journal of format 2 "
                         "has one" : "every record after the first with one has one");
    if (!sealed) {
        j->unchecked++;
        return WEFT_OK;
    }
    *sealed_from_here = true;
    return check_seal(j, p, n);
}

/* One gateway to a journal: two appending to one file would interleave
 * their records and break the seals' chain, losing what both
 * acknowledged. The lock is the open file's (flock), so it goes with the
 * process, and a rewrite locks the new file before renaming it over the
 * old. Checked before anything is read or written. */
static weft_err_t lock_journal(int fd, const char *path)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return WEFT_OK;
    if (errno == EWOULDBLOCK)
        return weft_fail(WEFT_EINVAL, "journal %s is in use by another weft serve (it holds "
                         "the file's lock); a journal has one gateway", path);
    return weft_fail(WEFT_EIO, "journal %s: lock: %s", path, strerror(errno));
}

/* A journal is a regular file, or a device (never rewritten): EINVAL for
 * anything else of mode `mode` at path - a FIFO, whose reads would wait for
 * a writer for ever, a socket, a directory - naming what it is. */
static weft_err_t check_kind(const char *path, mode_t mode)
{
    if (S_ISREG(mode) || S_ISCHR(mode) || S_ISBLK(mode))
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "journal %s is %s, not a file: a journal must be a regular "
                     "file or a device", path, weft_file_kind(mode));
}

/* Opens the journal at path (j->path) into j->fd, read-only or to append
 * (made if missing), refused unless check_kind takes it: opened without
 * waiting, as a FIFO's open for reading would for a writer, then made
 * blocking again. */
static weft_err_t open_journal(rpc_journal_t *j, const char *path, bool read_only)
{
    struct stat st;
    j->fd = read_only ? open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                      : open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        int e = errno; /* ENXIO for a socket */
        weft_err_t kind = stat(path, &st) == 0 ? check_kind(path, st.st_mode) : WEFT_OK;
        return kind ? kind : weft_fail(WEFT_EIO, "journal %s: %s", path, strerror(e));
    }
    if (fstat(j->fd, &st) != 0)
        return weft_fail(WEFT_EIO, "journal %s: %s", path, strerror(errno));
    weft_err_t err = check_kind(path, st.st_mode);
    /* a character device (/dev/null, a terminal) has nothing fdatasync
       makes durable, and refuses it (EINVAL): it is written through */
    if (S_ISCHR(st.st_mode))
        j->sync = false;
    int flags = err ? 0 : fcntl(j->fd, F_GETFL);
    if (!err && (flags < 0 || fcntl(j->fd, F_SETFL, flags & ~O_NONBLOCK) != 0))
        err = weft_fail(WEFT_EIO, "journal %s: %s", path, strerror(errno));
    return err;
}

/* With read_only, the file is opened for reading only and neither given a
 * header nor cut. */
weft_err_t rpc_journal_read(rpc_journal_t *j, const char *path, bool sync, size_t max_record,
                            bool read_only,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            weft_err_t (*end)(void *arg), void *arg)
{
    weft_err_t err = WEFT_OK;
    memset(j, 0, sizeof *j);
    j->fd = -1;
    j->sync = sync;
    j->max_record = max_record > RPC_JOURNAL_MAX_RECORD ? max_record : RPC_JOURNAL_MAX_RECORD;
    /* sealing adds a few bytes to the records the gateway caps */
    size_t cap_read = j->max_record + RPC_JOURNAL_SEAL_MAX;
    rpc_decoder_t dec;
    rpc_frame_t fr;
    rpc_limits_t lim = {cap_read, rpc_objects_for(cap_read)};
    rpc_decoder_init(&dec, &lim);
    rpc_frame_init(&fr);
    unsigned char *buf = NULL;
    enum { CHUNK = 1 << 16 };
    j->path = strdup(path);
    buf = malloc(CHUNK);
    if (!j->path || !buf)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory opening journal %s", path));
    WEFT_CHECK(open_journal(j, path, read_only));
    if (!read_only)
        WEFT_CHECK(lock_journal(j->fd, path));
    size_t have, off = 0;
    bool eof, sealed_from_here = false;
    WEFT_CHECK(read_start(j, buf, CHUNK, &have, &eof));
    uint64_t good = 0; /* bytes of the header and complete records */
    if (have >= RPC_JOURNAL_HEADER_BYTES &&
        !memcmp(buf, rpc_journal_header, RPC_JOURNAL_HEADER_BYTES)) {
        j->format = 2;
        off = good = RPC_JOURNAL_HEADER_BYTES;
    } else if (eof && !memcmp(buf, rpc_journal_header, have)) {
        /* a new journal, or the header cut short by a crash: no record */
        j->format = 2;
        if (read_only) {
            off = good = have;
        } else {
            WEFT_CHECK(write_header(j, have));
            off = have = good = RPC_JOURNAL_HEADER_BYTES;
        }
    } else if (buf[0] == 0xff) {
        WEFT_CHECK(other_header(path, buf, have));
    } else {
        j->format = 1;
    }
    for (;;) {
        while (off < have) {
            /* Fed up to the end of one record at a time, the decoder checks
             * no header past the record being read: damage is found in
             * file order and placed after the records before it. */
            size_t taken, give = record_need(&dec);
            if (give > have - off)
                give = have - off;
            err = rpc_decoder_feed(&dec, buf + off, give, &taken);
            int r;
            while (!err && (r = rpc_decoder_next(&dec, &fr)) == 1) {
                msgpack_object rec = fr.msg.data;
                bool epoch = false; /* the journal's own record, not the caller's */
                if (!(err = check_record(j, &rec, fr.payload, fr.size, &sealed_from_here))) {
                    if (sealed_from_here)
                        rec.via.map.size--; /* replay gets the record as it was built */
                    epoch = read_epoch(j, &rec, &err);
                }
                if (err) { /* placed before the record, which is not one of the good ones */
                    char what[96];
                    snprintf(what, sizeof what, "record #%llu, %zu bytes: ",
                             (unsigned long long)j->records + 1, RPC_HEADER_BYTES + fr.size);
                    WEFT_CHECK(damaged(err, path, j->records, good, what));
                }
                good += RPC_HEADER_BYTES + fr.size;
                j->records++;
                j->bytes = good; /* where it ends, for the replay to name it */
                /* A record whole and sealed that replay refuses is no
                 * damage (whatever its error, EPROTO for a field): named
                 * as it is, not after the records before it. */
                if (!epoch && (err = replay(arg, &rec)))
                    WEFT_CHECK(weft_wrap(err, "journal %s: record #%llu ending at byte %llu: ",
                                         path, (unsigned long long)j->records,
                                         (unsigned long long)good));
            }
            if (!err && r < 0)
                err = (weft_err_t)r;
            if (err && err != WEFT_EPROTO && err != WEFT_ENOMEM)
                goto cleanup;
            if (err == WEFT_EPROTO) /* a length over the cap, maybe of a larger --max-frame */
                WEFT_CHECK(check_oversized(j, good, cap_read, j->format == 2 || sealed_from_here,
                                           j->records + 1));
            if (err)
                WEFT_CHECK(damaged(err, path, j->records, good, ""));
            off += taken;
        }
        if (eof)
            break;
        ssize_t n = read(j->fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: read: %s", path, strerror(errno)));
        eof = n == 0;
        have = (size_t)n, off = 0;
    }
    j->bytes = j->rewritten_bytes = good;
    if (end && (err = end(arg))) /* before a torn tail is cut: the file stays as it is */
        WEFT_CHECK(weft_wrap(err, "journal %s: ", path));
    size_t pending = rpc_decoder_pending(&dec);
    if (pending > 0) {
        /* All the complete records were yielded: what is left is one
         * incomplete record at byte `good`. Under the fdatasync policy it was
         * never acknowledged if a crash cut it short; if it is not the start
         * of a record, the damage may hide acknowledged ones: refuse. */
        const unsigned char *tail = dec.buf + dec.start;
        if ((err = check_torn(tail, pending, cap_read))) {
            char what[128];
            snprintf(what, sizeof what, "the %zu bytes from there to the end of the file are "
                     "not a record cut short by a crash: ", pending);
            WEFT_CHECK(damaged(err, path, j->records, good, what));
        }
        if (!read_only) {
            WEFT_CHECK(keep_torn(j, tail, pending, good));
            if (ftruncate(j->fd, (off_t)good) != 0 || fdatasync(j->fd) != 0)
                WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: truncate: %s", path,
                                     strerror(errno)));
        }
        j->torn_at = good;
        j->torn_bytes = pending;
    }
    if (read_only) {
        close(j->fd);
        j->fd = -1;
    }
cleanup:
    free(buf);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    if (err)
        rpc_journal_close(j);
    return err;
}

weft_err_t rpc_journal_open_cap(rpc_journal_t *j, const char *path, bool sync,
                                size_t max_record,
                                weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                                void *arg)
{
    return rpc_journal_read(j, path, sync, max_record, false, replay, NULL, arg);
}

weft_err_t rpc_journal_check(rpc_journal_t *j, const char *path, size_t max_record,
                             weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                             void *arg)
{
    return rpc_journal_read(j, path, false, max_record, true, replay, NULL, arg);
}

weft_err_t rpc_journal_append(rpc_journal_t *j, const void *frame, size_t n)
{
    if (j->fd < 0)
        return WEFT_OK;
    size_t len = 0;
    unsigned char chain[8]; /* the journal's moves on once the record is written */
    memcpy(chain, j->chain, sizeof chain);
    weft_err_t err = seal_frame(j, chain, frame, n, j->max_record + RPC_JOURNAL_SEAL_MAX,
                                &j->seal_buf, &len, &j->seal_cap);
    if (err)
        return weft_wrap(err, "journal %s: ", j->path);
    const unsigned char *p = j->seal_buf;
    for (size_t left = len; left > 0;) {
        ssize_t w = write(j->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return weft_fail(WEFT_EIO, "journal %s: write: %s", j->path, strerror(errno));
        p += w;
        left -= (size_t)w;
    }
    memcpy(j->chain, chain, sizeof chain);
    j->unsynced = true;
    j->records++;
    j->bytes += len;
    return WEFT_OK;
}

weft_err_t rpc_journal_sync(rpc_journal_t *j)
{
    if (j->dir_unsynced) { /* a rewrite's rename, before what was appended since */
        if (fsync(j->dir_fd) != 0)
            return weft_fail(WEFT_EIO, "journal %s: syncing its directory after its "
                             "rewrite: %s", j->path, strerror(errno));
        close(j->dir_fd);
        j->dir_unsynced = false;
    }
    if (j->fd < 0 || !j->unsynced || !j->sync)
        return WEFT_OK;
    if (fdatasync(j->fd) != 0)
        return weft_fail(WEFT_EIO, "journal %s: fdatasync: %s", j->path, strerror(errno));
    j->unsynced = false;
    j->syncs++;
    return WEFT_OK;
}

void rpc_journal_close(rpc_journal_t *j)
{
    if (j->fd >= 0) {
        rpc_journal_sync(j);
        close(j->fd);
    }
    if (j->dir_unsynced)
        close(j->dir_fd);
    free(j->path);
    free(j->torn_path);
    free(j->seal_buf);
    EVP_MD_CTX_free(j->digest);
    memset(j, 0, sizeof *j);
    j->fd = -1;
}

bool rpc_journal_wants_rewrite(const rpc_journal_t *j)
{
    return j->fd >= 0 && j->bytes >= RPC_JOURNAL_REWRITE_MIN && j->bytes >= 2 * j->rewritten_bytes;
}

/* Writes buffer b to fd whole. */
static weft_err_t write_all(int fd, const char *path, const msgpack_sbuffer *b)
{
    for (size_t off = 0; off < b->size;) {
        ssize_t w = write(fd, b->data + off, b->size - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return weft_fail(WEFT_EIO, "journal %s: write: %s", path, strerror(errno));
        off += (size_t)w;
    }
    return WEFT_OK;
}

/* Packs the records of s into b, one frame each. */
static weft_err_t pack_state(msgpack_sbuffer *b, const rpc_sched_t *s, size_t max_record)
{
    weft_err_t err;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    size_t mark;
#define FRAME(body)                                                                         \
    do {                                                                                    \
        if ((err = rpc_frame_begin(b, &mark)))                                              \
            return err;                                                                     \
        body;                                                                               \
        if ((err = rpc_frame_end(b, mark, max_record)))                                     \
            return err;                                                                     \
    } while (0)
#define BASE(fid)                                                                           \
    FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "base");    \
          rpc_pack_cstr(&pk, "fid"); msgpack_pack_uint64(&pk, fid))
    enum { CHUNK = 16384 }; /* entries per record: well under the record cap */
    /* The ids of the jobs forgotten, as runs; the first record counts
     * them (a job id names one job, so the runs may hold fewer ids). */
    for (size_t r = 0; r < s->n_forgot_runs; r += CHUNK) {
        size_t n = s->n_forgot_runs - r < CHUNK ? s->n_forgot_runs - r : CHUNK;
        FRAME(msgpack_pack_map(&pk, 3); rpc_pack_cstr(&pk, "r");
              rpc_pack_cstr(&pk, "forgotten"); rpc_pack_cstr(&pk, "jobs");
              msgpack_pack_uint64(&pk, r == 0 ? s->n_forgotten : 0);
              rpc_pack_cstr(&pk, "runs"); msgpack_pack_array(&pk, n);
              for (size_t i = r; i < r + n; i++) {
                  msgpack_pack_array(&pk, 2);
                  msgpack_pack_int64(&pk, s->forgot_lo[i]);
                  msgpack_pack_int64(&pk, s->forgot_hi[i]);
              });
    }
    /* gone's remembered entries, in the order they finished */
    for (size_t g = s->gone_head; g < s->n_gone;) {
        size_t n = 0, end = g;
        while (end < s->n_gone && n < CHUNK)
            n += rpc_sched_gone_kept(s, end++);
        if (n > 0)
            FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r");
                  rpc_pack_cstr(&pk, "gone"); rpc_pack_cstr(&pk, "jobs");
                  msgpack_pack_array(&pk, n);
                  for (size_t i = g; i < end; i++) {
                      if (!rpc_sched_gone_kept(s, i))
                          continue;
                      msgpack_pack_array(&pk, s->gone_cancelled[i] ? 4 : 3);
                      msgpack_pack_int64(&pk, s->gone_id[i]);
                      msgpack_pack_uint64(&pk, s->gone_fid[i]);
                      msgpack_pack_double(&pk, s->gone_jct[i]);
                      if (s->gone_cancelled[i]) msgpack_pack_true(&pk);
                  });
        g = end;
    }
    /* Replay gives a job the flow ids from the counter on; a base record
     * moves the counter over the ids of jobs compacted away.
     * Each record that starts or ends a job says when ("at", wall clock;
     * rpc_gateway_replay_record), so a restart replays its JCT: a job
     * record its arrival, a cancel record its end, and the done records of
     * a finished job the last completion, its end less the final compute
     * that followed it; those of an unfinished job its coflow's finish,
     * or its release while it runs (they move releases). */
    bool timed = s->wall_at_zero > 0;
#define AT(t) (rpc_pack_cstr(&pk, "at"), msgpack_pack_double(&pk, s->wall_at_zero + (t)))
    uint64_t next = 0;
    for (size_t j = 0; j < s->all.n_jobs; j++) {
        if (s->jforgot[j]) /* not until the next compaction drops it */
            continue;
        if (s->jfid[j] != next)
            BASE(s->jfid[j]);
        FRAME(msgpack_pack_map(&pk, timed ? 3 : 2); rpc_pack_cstr(&pk, "r");
              rpc_pack_cstr(&pk, "job"); rpc_pack_cstr(&pk, "job");
              rpc_job_pack(&pk, &s->all, j); if (timed) AT(s->arrival_s[j]));
        next = rpc_sched_end_fid(s, j);
    }
    if (s->next_fid != next)
        BASE(s->next_fid);
    /* The done records, a job's together (its flows are contiguous in
     * all; a cancelled job's dropped ones are not: its cancel drops them
     * again). The unfinished jobs' first, then the finished ones' in the
     * order they finished, a cancelled one's cancel record before them
     * (replayed after them, its flows would finish it normally first): so
     * a restart finishes them in that order and forgets the same ones
     * first (rpc_sched_retain). */
    size_t n_fin = 0, n_order = s->all.n_jobs + (s->n_fin_q - s->fin_head);
    for (size_t k = 0; k < n_order; k++) {
        size_t j = k;
        if (k >= s->all.n_jobs) {
            j = rpc_sched_find_job(s, s->fin_q[s->fin_head + (k - s->all.n_jobs)]);
            if (j == SIZE_MAX) /* forgotten */
                continue;
            n_fin++;
        } else if (s->jdone[j]) {
            continue;
        }
        /* a cancel record, and more for a "sent" longer than a record takes */
        size_t from = 0, upto = 0; /* where this record's "sent" starts, and the next's */
        for (bool first = true; s->jcancelled[j]; first = false) {
            size_t n_sent = rpc_sched_pack_cancel_sent(s, j, &upto, RPC_CANCEL_SENT_CHUNK, NULL);
            if (!first && !n_sent)
                break;
            FRAME(msgpack_pack_map(&pk, (timed ? 3 : 2) + (n_sent > 0));
                  rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "cancel");
                  rpc_pack_cstr(&pk, "job"); msgpack_pack_int64(&pk, s->all.jobs[j].id);
                  if (timed) AT(s->finish_s[j]);
                  if (n_sent) {
                      rpc_pack_cstr(&pk, "sent");
                      msgpack_pack_array(&pk, n_sent);
                      rpc_sched_pack_cancel_sent(s, j, &from, n_sent, &pk);
                  });
        }
        const coflow_job_t *job = &s->all.jobs[j];
        size_t lo, hi = coflow_job_flows(&s->all, j, &lo);
        hi += lo;
        bool ended = timed && s->jdone[j] && !s->jcancelled[j];
        bool running = timed && !s->jdone[j];
        double last = s->finish_s[j] - job->final_compute_s;
        for (size_t f = lo; f < hi;) {
            size_t n = 0, end = f, c = s->fcoflow[f];
            /* a running job's records go by coflow, a done one's at its
               finish, a running one's at its release: a restart releases
               each coflow when it was released (FIFO's order), not at the
               restart (a completion releases a coflow still waiting out
               its compute time) */
            const coflow_coflow_t *co = &s->all.coflows[c];
            size_t stop = running ? co->first_flow + co->n_flows : hi;
            double at_c = s->cstatus[c] == COFLOW_DONE ? s->cfinish_s[c] : s->release_s[c];
            while (end < stop && n < CHUNK)
                n += s->fdone[end++] == RPC_FLOW_FINISHED;
            if (n > 0)
                FRAME(msgpack_pack_map(&pk, ended || running ? 3 : 2); rpc_pack_cstr(&pk, "r");
                      rpc_pack_cstr(&pk, "done"); rpc_pack_cstr(&pk, "flows");
                      msgpack_pack_array(&pk, n);
                      for (size_t i = f; i < end; i++) {
                          if (s->fdone[i] == RPC_FLOW_FINISHED)
                              msgpack_pack_uint64(&pk, rpc_sched_flow_gid(s, i));
                      }
                      if (ended) AT(last);
                      else if (running) AT(at_c));
            f = end;
        }
    }
    if (n_fin != s->n_jdone - s->n_forgot_held) /* a finished job would be lost */
        return weft_fail(WEFT_EINTERNAL, "%zu finished jobs held, %zu of them in the order "
                         "they finished", s->n_jdone - s->n_forgot_held, n_fin);
#undef AT
#undef BASE
#undef FRAME
    return WEFT_OK;
}

weft_err_t rpc_journal_rewrite(rpc_journal_t *j, const rpc_sched_t *s)
{
    /* A journal on a device is no file to compact, and a rename would
     * replace the device itself: it is left as it is. */
    struct stat sb;
    if (j->fd < 0 || (fstat(j->fd, &sb) == 0 && !S_ISREG(sb.st_mode)))
        return WEFT_OK;
    weft_err_t err = WEFT_OK;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    char *target = NULL, *tmp = NULL, *dir = NULL;
    unsigned char *sealed = NULL, chain[8] = {0}; /* the new file's seals' */
    size_t sealed_len = 0, sealed_cap = 0;
    int fd = -1, dfd = -1;
    /* through a symbolic link, the file it leads to is replaced (in its
     * directory); the link stays */
    WEFT_CHECK(weft_link_target(j->path, &target));
    size_t n = strlen(target) + sizeof ".tmp";
    tmp = malloc(n);
    dir = strdup(target);
    if (!tmp || !dir)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory"));
    snprintf(tmp, n, "%s.tmp", target);
    if (j->epoch) /* first, as in the journal it replaces */
        WEFT_CHECK(rpc_journal_epoch_record(&b, j->epoch, j->epoch_at));
    WEFT_CHECK(pack_state(&b, s, j->max_record));
    /* the header, then each record sealed */
    sealed_cap = b.size + RPC_JOURNAL_HEADER_BYTES + 64;
    if (!(sealed = malloc(sealed_cap)))
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory"));
    memcpy(sealed, rpc_journal_header, RPC_JOURNAL_HEADER_BYTES);
    sealed_len = RPC_JOURNAL_HEADER_BYTES;
    for (size_t at = 0; at < b.size;) {
        size_t n = RPC_HEADER_BYTES + be32((const unsigned char *)b.data + at);
        WEFT_CHECK(seal_frame(j, chain, (const unsigned char *)b.data + at, n,
                              j->max_record + RPC_JOURNAL_SEAL_MAX, &sealed, &sealed_len,
                              &sealed_cap));
        at += n;
    }
    /* opened to be the journal's descriptor after the rename, and locked
       before it: another gateway never finds the new file unlocked */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "%s: %s", tmp, strerror(errno)));
    WEFT_CHECK(lock_journal(fd, tmp));
    msgpack_sbuffer whole = {sealed_len, (char *)sealed, sealed_cap};
    WEFT_CHECK(write_all(fd, tmp, &whole));
    if (fdatasync(fd) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "%s: fdatasync: %s", tmp, strerror(errno)));
    /* opened before the rename, so that nothing can fail between it and
       the switch to the new file but the directory's sync */
    const char *in = dirname(dir);
    dfd = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "its directory %s: %s", in, strerror(errno)));
    if (rename(tmp, target) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "rename %s to %s: %s", tmp, target, strerror(errno)));
    /* The new file is the journal now (the old one is gone) and holds
     * everything: appends go to it. The rename is durable once the
     * directory is: if it cannot be synced now, rpc_journal_sync tries
     * again before anything appended is acknowledged. */
    close(j->fd); /* and its lock */
    j->fd = fd;
    fd = -1;
    if (j->dir_unsynced)
        close(j->dir_fd);
    j->dir_unsynced = fsync(dfd) != 0;
    if (j->dir_unsynced)
        j->dir_fd = dfd, dfd = -1;
    j->bytes = j->rewritten_bytes = sealed_len;
    j->format = 2;
    memcpy(j->chain, chain, sizeof chain);
    j->unsynced = false;
    j->rewrites++;
cleanup:
    if (fd >= 0) { /* made here, and not renamed */
        close(fd);
        unlink(tmp);
    }
    if (dfd >= 0)
        close(dfd);
    if (err) {
        /* Nothing changed: appends go on into the journal as it was. The
           next try waits until it has doubled again, as after a rewrite. */
        j->rewritten_bytes = j->bytes;
        weft_wrap(err, "journal %s: not rewritten: ", j->path);
    }
    free(target);
    free(tmp);
    free(dir);
    free(sealed);
    msgpack_sbuffer_destroy(&b);
    return err;
}
