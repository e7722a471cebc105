/*
 * journal.c - the gateway's append-only journal (gateway.h).
 *
 * Records are frames (rpc.h), appended with one write() each and, under
 * the default policy, made durable with fdatasync() before the gateway
 * acknowledges what they record: one fdatasync per event-loop pass covers
 * every record of that pass (group commit, server.c). A crash can therefore leave at most one
 * torn record at the end; replay cuts it off (the peer never got its ack
 * and will send it again). Anything else that does not decode is damage
 * and stops the gateway with the record number and byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

weft_err_t rpc_journal_open(rpc_journal_t *j, const char *path, bool sync,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            void *arg, FILE *log)
{
    weft_err_t err = WEFT_OK;
    memset(j, 0, sizeof *j);
    j->fd = -1;
    j->sync = sync;
    rpc_decoder_t dec;
    rpc_frame_t fr;
    rpc_limits_t lim = {RPC_JOURNAL_MAX_RECORD, 0};
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
            size_t taken;
            err = rpc_decoder_feed(&dec, buf + off, (size_t)n - off, &taken);
            int r;
            while (!err && (r = rpc_decoder_next(&dec, &fr)) == 1) {
                good += RPC_HEADER_BYTES + fr.size;
                j->records++;
                if ((err = replay(arg, &fr.msg.data)))
                    err = weft_wrap(err, "journal %s: record #%llu ending at byte %llu: ",
                                    path, (unsigned long long)j->records,
                                    (unsigned long long)good);
            }
            if (!err && r < 0)
                err = (weft_err_t)r;
            if (err && err != WEFT_EPROTO && err != WEFT_ENOMEM)
                goto cleanup;
            if (err)
                WEFT_CHECK(weft_wrap(err, "journal %s: damaged after record #%llu (byte %llu): ",
                                     path, (unsigned long long)j->records,
                                     (unsigned long long)good));
            off += taken;
        }
    }
    if (rpc_decoder_pending(&dec) > 0) {
        if (log)
            fprintf(log, "weft serve: journal %s: cutting off a torn last record (%zu bytes "
                    "after byte %llu)\n", path, rpc_decoder_pending(&dec),
                    (unsigned long long)good);
        if (ftruncate(j->fd, (off_t)good) != 0)
            WEFT_CHECK(weft_fail(WEFT_EIO, "journal %s: truncate: %s", path, strerror(errno)));
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
    memset(j, 0, sizeof *j);
    j->fd = -1;
}
