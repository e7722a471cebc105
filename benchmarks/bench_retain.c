/*
 * bench_retain.c - what a finished job costs a long-running gateway's
 * memory (docs/gateway.md, "Durability": --keep-finished), side by side in
 * one run: N finished jobs given to the scheduler as compacted records
 * (rpc_sched_add_gone, as a journal replay or a compaction leaves them),
 * with rpc_sched_retain after every 1,000 as the gateway's passes (which
 * journal the ids it forgot and clear that list), under
 * three settings: every record kept (the default), the last K kept with
 * ids in order (as weft's workloads number jobs), and the last K kept with
 * every other id (each forgotten id a run of its own). Heap in use is read
 * with mallinfo2 before and after each setting.
 *
 *   ./build/bench_retain [--jobs N] [--keep K]
 */
#define BENCH_NAME "bench_retain"

#include <getopt.h>
#include <malloc.h>

#include "benchmarks/bench_util.h"
#include "rpc/gateway.h"

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Heap bytes the scheduler holds after n finished jobs, ids first + k *
 * stride, keeping keep of them (SIZE_MAX: all). */
static size_t finished_jobs_heap(size_t n, size_t keep, int64_t stride, uint64_t *forgotten,
                                 size_t *runs)
{
    size_t before = heap_in_use();
    rpc_sched_t s;
    bench_check(rpc_sched_init(&s, 16, 1.25e8, coflow_ordering_find("sebf"),
                               coflow_allocator_find("madd")),
                "scheduler");
    s.keep_finished = keep;
    for (size_t k = 0; k < n; k++) {
        bench_check(rpc_sched_add_gone(&s, 1 + (int64_t)k * stride, 4 * k, 1.5, false),
                    "finished job");
        if ((k + 1) % 1000 == 0) {
            bench_check(rpc_sched_retain(&s), "retain");
            s.n_forgot_now = 0; /* journaled by the gateway's pass */
        }
    }
    bench_check(rpc_sched_retain(&s), "retain");
    s.n_forgot_now = 0;
    size_t held = heap_in_use() - before;
    *forgotten = s.n_forgotten;
    *runs = s.n_forgot_runs;
    rpc_sched_destroy(&s);
    return held;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, keep = 1000;
    static const struct option longopts[] = {{"jobs", required_argument, NULL, 'n'},
                                             {"keep", required_argument, NULL, 'k'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        unsigned long long v = optarg ? strtoull(optarg, &end, 10) : 0;
        if (c == '?' || !end || *end || v == 0) {
            fprintf(stderr, "usage: bench_retain [--jobs N] [--keep K] (N, K >= 1)\n");
            return 2;
        }
        if (c == 'n')
            n = (size_t)v;
        else
            keep = (size_t)v;
    }
    struct {
        const char *name;
        size_t keep;
        int64_t stride;
    } runs[] = {{"all kept", SIZE_MAX, 1}, {"keep K, ids in order", keep, 1},
                {"keep K, every other id", keep, 2}};
    printf("%zu finished jobs, K = %zu\n", n, keep);
    printf("%-24s %12s %12s %10s %14s\n", "setting", "heap_MB", "bytes/job", "forgotten",
           "forgotten_runs");
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        uint64_t forgotten;
        size_t n_runs;
        size_t held = finished_jobs_heap(n, runs[i].keep, runs[i].stride, &forgotten, &n_runs);
        printf("%-24s %12.2f %12.1f %10llu %14zu\n", runs[i].name, held / 1e6,
               (double)held / (double)n, (unsigned long long)forgotten, n_runs);
        printf("BENCH bench=retain setting=%zu jobs=%zu keep=%zu stride=%lld heap_bytes=%zu "
               "forgotten=%llu runs=%zu\n",
               i, n, runs[i].keep == SIZE_MAX ? 0 : runs[i].keep, (long long)runs[i].stride,
               held, (unsigned long long)forgotten, n_runs);
    }
    return 0;
}
