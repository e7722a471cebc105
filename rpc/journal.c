/*
 * journal.c - the gateway's append-only journal (gateway.h).
 *
 * Records are frames (rpc.h), appended with one write() each and, under
 * the default policy, made durable with fdatasync() before the gateway
 * acknowledges what they record: one fdatasync per event-loop pass covers
 * every record of that pass (group commit, server.c). A crash can therefore leave at most one
 * torn record at the end; replay cuts it off (the peer never got its ack
 * and will send it again), after copying its bytes to PATH.torn-OFFSET.
 * The lengths carry no checksum, so a torn record is told from damage by
 * its shape: a length within the record cap and bytes that can begin a
 * record (rpc_payload_prefix_ok). A corrupted length that runs past the
 * end of the file fails that test (the records it swallowed end where a
 * map ends, short of the length), as does anything else that does not
 * decode: damage stops the gateway with the record number and byte
 * offset and leaves the file untouched.
 *
 * Rewriting (compaction): once the file has doubled since it was last
 * written whole, the gateway replaces it with the records of its state -
 * the jobs compacted away, then every job it holds (each preceded by a
 * flow id base where compacted jobs' ids come before it) and their done
 * flows - through a temporary file renamed over it, so the file
 * follows the jobs in flight rather than every job ever registered. A
 * journal reached through a symbolic link is rewritten where the link
 * leads; one on a device or FIFO (no file to compact) never is.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

#include "gateway.h"

static weft_err_t write_all(int fd, const char *path, const msgpack_sbuffer *b);

/* Whether the n bytes p left after the last complete record can be the
 * start of one record cut short by a crash mid-write: a length within the
 * record cap (the decoder checked a whole one) and a payload prefix that
 * rpc_payload_prefix_ok accepts. Anything else is damage: EPROTO with the
 * detail. */
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
                                           (size_t)len, 0);
    if (err)
        return weft_wrap(err, "it declares %llu bytes and %zu follow: ",
                         (unsigned long long)len, n - RPC_HEADER_BYTES);
    return WEFT_OK;
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
    const unsigned char *h = dec->buf + dec->start;
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    return RPC_HEADER_BYTES + len - have;
}

/* The error for damage found after record #records (ending at byte good):
 * where, what (`what`, then the last detail), and what the operator can do.
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
    return weft_fail(err, "journal %s: damaged after record #%llu (byte %llu): %s%s; the journal "
                     "is left as it is: restore it from a copy, or move it away to start "
                     "without its jobs%s", path, (unsigned long long)records,
                     (unsigned long long)good, what, detail, keep);
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
    *err = rpc_get_int(rec, "id", 1, INT64_MAX, &id);
    if (!*err)
        j->epoch = (uint64_t)id;
    return true;
}

/* Packs {"r": kind, key: v} into b as one record. */
static weft_err_t u64_record(msgpack_sbuffer *b, const char *kind, const char *key, uint64_t v)
{
    size_t mark;
    weft_err_t err = rpc_frame_begin(b, &mark);
    if (err)
        return err;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, kind);
    rpc_pack_cstr(&pk, key), msgpack_pack_uint64(&pk, v);
    return rpc_frame_end(b, mark, RPC_JOURNAL_MAX_RECORD);
}

weft_err_t rpc_journal_base_record(msgpack_sbuffer *b, uint64_t next_fid)
{
    return u64_record(b, "base", "fid", next_fid);
}

weft_err_t rpc_journal_epoch_record(msgpack_sbuffer *b, uint64_t epoch)
{
    return u64_record(b, "epoch", "id", epoch);
}

weft_err_t rpc_journal_open(rpc_journal_t *j, const char *path, bool sync,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            void *arg)
{
    return rpc_journal_open_cap(j, path, sync, RPC_JOURNAL_MAX_RECORD, replay, arg);
}

weft_err_t rpc_journal_open_cap(rpc_journal_t *j, const char *path, bool sync,
                                size_t max_record,
                                weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                                void *arg)
{
    weft_err_t err = WEFT_OK;
    memset(j, 0, sizeof *j);
    j->fd = -1;
    j->sync = sync;
    j->max_record = max_record > RPC_JOURNAL_MAX_RECORD ? max_record : RPC_JOURNAL_MAX_RECORD;
    rpc_decoder_t dec;
    rpc_frame_t fr;
    rpc_limits_t lim = {j->max_record, rpc_objects_for(j->max_record)};
    rpc_decoder_init(&dec, &lim);
    rpc_frame_init(&fr);
    unsigned char *buf = NULL;
    j->path = strdup(path);
    buf = malloc(1 << 16);
    if (!j->path || !buf)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory opening journal %s", path));
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: %s", path, strerror(errno)));
    uint64_t good = 0; /* bytes of complete records */
    for (;;) {
        ssize_t n = read(j->fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: read: %s", path, strerror(errno)));
        if (n == 0)
            break;
        for (size_t off = 0; off < (size_t)n;) {
            /* Fed up to the end of one record at a time, the decoder checks
             * no header past the record being read: damage is found in
             * file order and placed after the records before it. */
            size_t taken, give = record_need(&dec);
            if (give > (size_t)n - off)
                give = (size_t)n - off;
            err = rpc_decoder_feed(&dec, buf + off, give, &taken);
            int r;
            while (!err && (r = rpc_decoder_next(&dec, &fr)) == 1) {
                good += RPC_HEADER_BYTES + fr.size;
                j->records++;
                if (read_epoch(j, &fr.msg.data, &err))
                    ; /* the journal's own record, not the caller's */
                else if ((err = replay(arg, &fr.msg.data)))
                    err = weft_wrap(err, "journal %s: record #%llu ending at byte %llu: ",
                                    path, (unsigned long long)j->records,
                                    (unsigned long long)good);
            }
            if (!err && r < 0)
                err = (weft_err_t)r;
            if (err && err != WEFT_EPROTO && err != WEFT_ENOMEM)
                goto cleanup;
            if (err)
                WEFT_CHECK(damaged(err, path, j->records, good, ""));
            off += taken;
        }
    }
    j->bytes = j->rewritten_bytes = good;
    size_t pending = rpc_decoder_pending(&dec);
    if (pending > 0) {
        /* All the complete records were yielded: what is left is one
         * incomplete record at byte `good`. Under the fdatasync policy it was
         * never acknowledged if a crash cut it short; if it is not the start
         * of a record, the damage may hide acknowledged ones: refuse. */
        const unsigned char *tail = dec.buf + dec.start;
        if ((err = check_torn(tail, pending, j->max_record))) {
            char what[128];
            snprintf(what, sizeof what, "the %zu bytes from there to the end of the file are "
                     "not a record cut short by a crash: ", pending);
            WEFT_CHECK(damaged(err, path, j->records, good, what));
        }
        WEFT_CHECK(keep_torn(j, tail, pending, good));
        if (ftruncate(j->fd, (off_t)good) != 0 || fdatasync(j->fd) != 0)
            WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: truncate: %s", path, strerror(errno)));
        j->torn_at = good;
        j->torn_bytes = pending;
    }
cleanup:
    free(buf);
    rpc_frame_destroy(&fr);
    rpc_decoder_destroy(&dec);
    if (err)
        rpc_journal_close(j);
    return err;
}

weft_err_t rpc_journal_append(rpc_journal_t *j, const void *frame, size_t n)
{
    if (j->fd < 0)
        return WEFT_OK;
    const char *p = frame;
    size_t total = n;
    while (n > 0) {
        ssize_t w = write(j->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return weft_fail(WEFT_EIO, "journal %s: write: %s", j->path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    j->unsynced = true;
    j->records++;
    j->bytes += total;
    return WEFT_OK;
}

weft_err_t rpc_journal_sync(rpc_journal_t *j)
{
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
    free(j->path);
    free(j->torn_path);
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
    for (size_t g = 0; g < s->n_gone; g += CHUNK) {
        size_t n = s->n_gone - g < CHUNK ? s->n_gone - g : CHUNK;
        FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "gone");
              rpc_pack_cstr(&pk, "jobs"); msgpack_pack_array(&pk, n);
              for (size_t i = g; i < g + n; i++) {
                  msgpack_pack_array(&pk, s->gone_cancelled[i] ? 4 : 3);
                  msgpack_pack_int64(&pk, s->gone_id[i]);
                  msgpack_pack_uint64(&pk, s->gone_fid[i]);
                  msgpack_pack_double(&pk, s->gone_jct[i]);
                  if (s->gone_cancelled[i]) msgpack_pack_true(&pk);
              });
    }
    /* Replay gives a job the flow ids from the counter on; a base record
     * moves the counter over the ids of jobs compacted away. */
    uint64_t next = 0;
    for (size_t j = 0; j < s->all.n_jobs; j++) {
        if (s->jfid[j] != next)
            BASE(s->jfid[j]);
        FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "job");
              rpc_pack_cstr(&pk, "job"); rpc_job_pack(&pk, &s->all, j));
        next = rpc_sched_end_fid(s, j);
    }
    if (s->next_fid != next)
        BASE(s->next_fid);
    /* before the done records: replayed after them, a cancelled job's
     * flows would finish it normally first */
    for (size_t j = 0; j < s->all.n_jobs; j++)
        if (s->jcancelled[j])
            FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "cancel");
                  rpc_pack_cstr(&pk, "job"); msgpack_pack_int64(&pk, s->all.jobs[j].id));
    for (size_t f = 0; f < s->all.n_flows;) {
        size_t n = 0, end = f;
        while (end < s->all.n_flows && n < CHUNK)
            n += s->fdone[end++];
        if (n > 0)
            FRAME(msgpack_pack_map(&pk, 2); rpc_pack_cstr(&pk, "r"); rpc_pack_cstr(&pk, "done");
                  rpc_pack_cstr(&pk, "flows"); msgpack_pack_array(&pk, n);
                  for (size_t i = f; i < end; i++) if (s->fdone[i])
                      msgpack_pack_uint64(&pk, rpc_sched_flow_gid(s, i)));
        f = end;
    }
#undef BASE
#undef FRAME
    return WEFT_OK;
}

weft_err_t rpc_journal_rewrite(rpc_journal_t *j, const rpc_sched_t *s)
{
    /* A journal on a device or FIFO is no file to compact, and a rename
     * would replace the device itself: it is left as it is. */
    struct stat sb;
    if (j->fd < 0 || (fstat(j->fd, &sb) == 0 && !S_ISREG(sb.st_mode)))
        return WEFT_OK;
    weft_err_t err = WEFT_OK;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    char *target = NULL, *tmp = NULL, *dir = NULL;
    int fd = -1, dfd = -1;
    /* through a symbolic link, the file it leads to is replaced (in its
     * directory); the link stays */
    if ((err = weft_link_target(j->path, &target)))
        WEFT_CHECK(weft_wrap(err, "journal "));
    size_t n = strlen(target) + sizeof ".tmp";
    tmp = malloc(n);
    dir = strdup(target);
    if (!tmp || !dir)
        WEFT_CHECK(weft_fail(WEFT_ENOMEM, "out of memory rewriting journal %s", j->path));
    snprintf(tmp, n, "%s.tmp", target);
    if (j->epoch) /* first, as in the journal it replaces */
        WEFT_CHECK(rpc_journal_epoch_record(&b, j->epoch));
    WEFT_CHECK(pack_state(&b, s, j->max_record));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: %s", tmp, strerror(errno)));
    WEFT_CHECK(write_all(fd, tmp, &b));
    if (fdatasync(fd) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: fdatasync: %s", tmp, strerror(errno)));
    if (rename(tmp, target) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: rename to %s: %s", tmp, target,
                             strerror(errno)));
    /* The rename is durable once the directory is. */
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: syncing its directory: %s", j->path,
                             strerror(errno)));
    close(j->fd);
    j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->fd < 0)
        WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: reopening: %s", j->path, strerror(errno)));
    j->bytes = j->rewritten_bytes = b.size;
    j->unsynced = false;
    j->rewrites++;
cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (err && tmp)
        unlink(tmp);
    free(target);
    free(tmp);
    free(dir);
    msgpack_sbuffer_destroy(&b);
    return err;
}
