/*
 * fuzz_journal.c - libFuzzer target for the gateway's journal reader
 * (rpc/journal.c), what `weft serve --journal FILE` reads at start. The
 * input is the file: it is written to a file of its own and opened with
 * rpc_journal_open, whose replay callback parses every record the way the
 * gateway's does (job maps on an 8-port fabric, flow id lists, job ids).
 * Checks:
 *   - rpc_journal_check (the read-only reading weft journal does) leaves
 *     the file as it was and agrees with the open that follows: refused by
 *     both, or read by both with the same records and torn tail;
 *   - a refusal has a non-empty detail and leaves the file as it was;
 *   - an accepted file keeps exactly its complete records: the file is cut
 *     to j.bytes, and a torn tail (j.torn_bytes) is kept byte for byte in
 *     the file j.torn_path names, the two adding up to the input;
 *   - an empty input, or one holding the start of format 2's header, is
 *     a new journal: the header alone;
 *   - a record appended after it (sealed) reads back at the next open,
 *     after the same records, the journal of the same format.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpc/gateway.h"

#define PORTS 8

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz check failed: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* The journal reader links the rewrite, which this harness never calls
 * (it needs the scheduler, not linked here). */
uint64_t rpc_sched_end_fid(const rpc_sched_t *s, size_t j)
{
    (void)s, (void)j;
    die("rpc_sched_end_fid called", NULL);
    return 0;
}
uint64_t rpc_sched_flow_gid(const rpc_sched_t *s, size_t f)
{
    (void)s, (void)f;
    die("rpc_sched_flow_gid called", NULL);
    return 0;
}
size_t rpc_sched_pack_cancel_sent(const rpc_sched_t *s, size_t j, size_t *from, size_t max,
                                  msgpack_packer *pk)
{
    (void)s, (void)j, (void)from, (void)max, (void)pk;
    die("rpc_sched_pack_cancel_sent called", NULL);
    return 0;
}
bool rpc_sched_gone_kept(const rpc_sched_t *s, size_t g)
{
    (void)s, (void)g;
    die("rpc_sched_gone_kept called", NULL);
    return false;
}
size_t rpc_sched_find_job(const rpc_sched_t *s, int64_t id)
{
    (void)s, (void)id;
    die("rpc_sched_find_job called", NULL);
    return 0;
}

typedef struct {
    coflow_fabric_t fab;
    uint64_t records;
} replay_t;

/* What the gateway's replay checks of each kind of record (rpc/server.c),
 * without a scheduler to commit them to. */
static weft_err_t replay(void *arg, const msgpack_object *rec)
{
    replay_t *r = arg;
    const char *kind;
    size_t n;
    weft_err_t err = rpc_get_str(rec, "r", &kind, &n);
    if (err)
        return err;
    r->records++;
    if (n == 3 && !memcmp(kind, "job", 3)) {
        coflow_workload_t wl;
        err = rpc_job_parse(&r->fab, rpc_map_get(rec, "job"), &wl);
        coflow_workload_destroy(&wl); /* refused or not, as the gateway does */
        return err;
    }
    if ((n == 4 && !memcmp(kind, "base", 4)) || (n == 6 && !memcmp(kind, "cancel", 6))) {
        int64_t v;
        return rpc_get_int(rec, n == 4 ? "fid" : "job", INT64_MIN, INT64_MAX, &v);
    }
    if ((n == 4 && !memcmp(kind, "done", 4)) || (n == 4 && !memcmp(kind, "gone", 4)) ||
        (n == 6 && !memcmp(kind, "forget", 6)) || (n == 9 && !memcmp(kind, "forgotten", 9))) {
        const msgpack_object_array *a;
        return rpc_get_array(rec, kind[0] == 'd' ? "flows" : n == 9 ? "runs" : "jobs", &a);
    }
    return weft_fail(WEFT_EPARSE, "unknown record kind '%.*s'", (int)(n > 32 ? 32 : n), kind);
}

static char dir[64], path[128];

static void write_file(const char *p, const uint8_t *data, size_t size)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd))
        die("cannot write the input", strerror(errno));
}

/* The file at p into a malloc'ed buffer; *n its size. */
static uint8_t *read_back(const char *p, size_t *n)
{
    struct stat sb;
    if (stat(p, &sb))
        die("cannot stat", p);
    uint8_t *b = malloc((size_t)sb.st_size + 1);
    int fd = open(p, O_RDONLY);
    if (!b || fd < 0 || read(fd, b, (size_t)sb.st_size) != sb.st_size)
        die("cannot read back", p);
    close(fd);
    *n = (size_t)sb.st_size;
    return b;
}

/* The journal and its directory go when the fuzzer ends normally (a
 * failed check aborts and keeps them for a look). */
static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/fuzz-journal-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
            die("mkdtemp", strerror(errno));
        snprintf(path, sizeof path, "%s/j", dir);
        atexit(remove_dir);
    }
    write_file(path, data, size);
    replay_t r = {.records = 0};
    if (coflow_fabric_init(&r.fab, PORTS, 1e9))
        die("fabric", NULL);
    /* first the read-only check (weft journal): the file unchanged, and
       then the same verdict and records as the open */
    rpc_journal_t j;
    weft_clear_error();
    weft_err_t check_err = rpc_journal_check(&j, path, 0, replay, &r);
    uint64_t check_records = j.records, check_torn = j.torn_bytes, check_replayed = r.records;
    if (!check_err)
        rpc_journal_close(&j);
    size_t n;
    uint8_t *now = read_back(path, &n);
    if (n != size || (size && memcmp(now, data, size)))
        die("the read-only check changed the file", weft_last_error());
    free(now);
    r.records = 0;
    weft_clear_error();
    weft_err_t err = rpc_journal_open(&j, path, false, replay, &r);
    if (!err != !check_err)
        die("the check and the open disagree", weft_last_error());
    if (!err && (j.records != check_records || j.torn_bytes != check_torn ||
                 r.records != check_replayed))
        die("the check and the open read different records", NULL);
    now = read_back(path, &n);
    if (err) {
        if (!weft_last_error()[0])
            die("a refused journal has an empty detail", weft_strerror(err));
        if (n != size || (size && memcmp(now, data, size)))
            die("a refused journal was changed", weft_last_error());
        free(now);
        coflow_fabric_destroy(&r.fab);
        return 0;
    }
    /* an empty file, or the header cut short, is a new journal of format 2 */
    bool fresh = size < RPC_JOURNAL_HEADER_BYTES && !memcmp(data, rpc_journal_header, size);
    if (fresh && (j.format != 2 || n != RPC_JOURNAL_HEADER_BYTES || j.bytes != n ||
                  j.torn_bytes || memcmp(now, rpc_journal_header, n)))
        die("a new journal does not hold the header alone", NULL);
    if (!fresh && (n != j.bytes || j.bytes + j.torn_bytes != size || memcmp(now, data, n)))
        die("the kept records are not the input's complete records", NULL);
    free(now);
    if (j.torn_bytes) {
        if (!j.torn_path || j.torn_at != j.bytes)
            die("a torn tail without its file or offset", NULL);
        size_t tn;
        uint8_t *torn = read_back(j.torn_path, &tn);
        if (tn != j.torn_bytes || memcmp(torn, data + j.bytes, tn))
            die("the torn tail was not kept byte for byte", j.torn_path);
        free(torn);
        unlink(j.torn_path);
    }
    /* one more record, read back after the same ones */
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    if (rpc_journal_epoch_record(&b, 42, 0) || rpc_journal_append(&j, b.data, b.size))
        die("cannot append", weft_last_error());
    msgpack_sbuffer_destroy(&b);
    rpc_journal_close(&j);
    uint64_t before = r.records;
    r.records = 0;
    if (rpc_journal_open(&j, path, false, replay, &r))
        die("a journal it wrote is refused", weft_last_error());
    if (r.records != before || j.epoch != 42 || j.torn_bytes)
        die("the appended record did not read back after the same records", NULL);
    if (j.format != (fresh || (size >= RPC_JOURNAL_HEADER_BYTES &&
                               !memcmp(data, rpc_journal_header, RPC_JOURNAL_HEADER_BYTES))
                         ? 2
                         : 1))
        die("the journal's format changed at an append", NULL);
    rpc_journal_close(&j);
    coflow_fabric_destroy(&r.fab);
    return 0;
}
