/*
 * bench_journal.c - what the gateway journal's seals (journal format 2,
 * rpc/gateway.h) cost per record, side by side in one run: appending a
 * sealed record against writing the same record unsealed with one write()
 * (what an append was before format 2), and replaying a journal of sealed
 * records against one of the same records unsealed (format 1, read
 * unchecked). No fdatasync: the gateway syncs once per event-loop pass,
 * for all its records, so the seal's cost is measured against the write
 * alone. Each phase runs --rounds times, alternating, and the median is
 * reported.
 *
 *   ./build/bench_journal [--records N] [--rounds R] [--flows K]
 */
#define BENCH_NAME "bench_journal"

#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include "benchmarks/bench_util.h"
#include "rpc/gateway.h"

static weft_err_t count(void *arg, const msgpack_object *rec)
{
    (void)rec;
    ++*(size_t *)arg;
    return WEFT_OK;
}

/* A done record of k flow ids, as the gateway journals a completion. */
static void done_record(msgpack_sbuffer *b, size_t k)
{
    size_t mark;
    bench_check(rpc_frame_begin(b, &mark), "frame");
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    rpc_pack_cstr(&pk, "r"), rpc_pack_cstr(&pk, "done");
    rpc_pack_cstr(&pk, "flows"), msgpack_pack_array(&pk, k);
    for (size_t i = 0; i < k; i++)
        msgpack_pack_uint64(&pk, ((uint64_t)1 << 32) + 1000 * i + 17);
    bench_check(rpc_frame_end(b, mark, 0), "frame");
}

static double now_s(void) { return weft_mono_s(); }

/* The two journals, removed however the program ends (bench_check exits). */
static char raw[256], sealed[256];

static void remove_journals(void)
{
    unlink(raw);
    unlink(sealed);
}

int main(int argc, char **argv)
{
    size_t records = 200000, rounds = 5, flows = 1;
    static const struct option longopts[] = {{"records", required_argument, NULL, 'n'},
                                             {"rounds", required_argument, NULL, 'r'},
                                             {"flows", required_argument, NULL, 'k'},
                                             {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        size_t *into = c == 'n' ? &records : c == 'r' ? &rounds : c == 'k' ? &flows : NULL;
        unsigned long v;
        /* each up to what a run can hold: --records -1 was 2^64 - 1 and
           ended in "out of memory", --records 5x was 5 */
        if (!into)
            return bench_refuse("usage: bench_journal [--records N] [--rounds R] [--flows K]");
        if (!bench_parse_count(optarg, 1, 100000000, &v))
            return bench_refuse("--%s '%s': expected a whole number from 1 to 100000000",
                                c == 'n' ? "records" : c == 'r' ? "rounds" : "flows", optarg);
        *into = v;
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(raw, sizeof raw, "%s/bench-journal-%d.raw", tmp, (int)getpid());
    snprintf(sealed, sizeof sealed, "%s/bench-journal-%d.sealed", tmp, (int)getpid());
    atexit(remove_journals);
    msgpack_sbuffer rec;
    msgpack_sbuffer_init(&rec);
    done_record(&rec, flows);
    double *t_write = bench_calloc(rounds, sizeof *t_write),
           *t_append = bench_calloc(rounds, sizeof *t_append),
           *t_replay1 = bench_calloc(rounds, sizeof *t_replay1),
           *t_replay2 = bench_calloc(rounds, sizeof *t_replay2);
    uint64_t sealed_bytes = 0;
    for (size_t r = 0; r < rounds; r++) {
        /* unsealed: one write() a record, a journal of format 1 */
        unlink(raw);
        int fd = open(raw, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the process ends */
            perror(raw);
            return 1;
        }
        double t0 = now_s();
        for (size_t i = 0; i < records; i++)
            if (write(fd, rec.data, rec.size) != (ssize_t)rec.size) {
                perror(raw);
                return 1;
            }
        t_write[r] = now_s() - t0;
        close(fd);
        /* sealed: rpc_journal_append on a new journal (format 2) */
        unlink(sealed);
        rpc_journal_t j;
        size_t n = 0;
        bench_check(rpc_journal_open(&j, sealed, false, count, &n), "open");
        t0 = now_s();
        for (size_t i = 0; i < records; i++)
            bench_check(rpc_journal_append(&j, rec.data, rec.size), "append");
        t_append[r] = now_s() - t0;
        sealed_bytes = j.bytes;
        rpc_journal_close(&j);
        /* replays: the unsealed file read unchecked, the sealed one checked */
        n = 0;
        t0 = now_s();
        bench_check(rpc_journal_open(&j, raw, false, count, &n), "replay format 1");
        t_replay1[r] = now_s() - t0;
        if (n != records || j.format != 1) {
            fprintf(stderr, BENCH_NAME ": format 1 replayed %zu of %zu records\n", n, records);
            return 1;
        }
        rpc_journal_close(&j);
        n = 0;
        t0 = now_s();
        bench_check(rpc_journal_open(&j, sealed, false, count, &n), "replay format 2");
        t_replay2[r] = now_s() - t0;
        if (n != records || j.format != 2) {
            fprintf(stderr, BENCH_NAME ": format 2 replayed %zu of %zu records\n", n, records);
            return 1;
        }
        rpc_journal_close(&j);
    }
    double per = 1e6 / (double)records;
    double w = bench_median(t_write, rounds) * per, a = bench_median(t_append, rounds) * per,
           r1 = bench_median(t_replay1, rounds) * per, r2 = bench_median(t_replay2, rounds) * per;
    printf("%zu done records of %zu flow id(s): %zu bytes unsealed, %.1f sealed; median of %zu "
           "rounds\n",
           records, flows, rec.size,
           (double)(sealed_bytes - RPC_JOURNAL_HEADER_BYTES) / (double)records, rounds);
    printf("%-34s %10s\n", "phase", "us/record");
    printf("%-34s %10.3f\n", "write() unsealed (format 1 append)", w);
    printf("%-34s %10.3f\n", "rpc_journal_append (sealed)", a);
    printf("%-34s %10.3f\n", "replay, format 1 (unchecked)", r1);
    printf("%-34s %10.3f\n", "replay, format 2 (seals checked)", r2);
    printf("BENCH bench=journal records=%zu flows=%zu rounds=%zu write_us=%.4f append_us=%.4f "
           "replay1_us=%.4f replay2_us=%.4f\n",
           records, flows, rounds, w, a, r1, r2);
    msgpack_sbuffer_destroy(&rec);
    free(t_write);
    free(t_append);
    free(t_replay1);
    free(t_replay2);
    return 0;
}
