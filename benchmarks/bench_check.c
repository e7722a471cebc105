/*
 * bench_check.c - a sweep of the emulator's own checks: random multi-stage
 * workloads, every ordering with every allocator, each run with netsim's
 * shortcuts (lazy pacing, port pairs) and again flow by flow, --check on.
 * Reports the runs whose check found a violation or that failed, and how
 * far the two ways' coflow finish times are apart (max over coflows of
 * |difference| / (1 + finish), worst over the runs). Too long for the test
 * suite (about 30 s a 1,000 seeds); the tests keep a few of its kinds of
 * workload (tests/test_props.c).
 *
 * usage: bench_check [--kind wide|spread|ties] [--seeds FIRST-LAST] [--tick S]
 *   wide    3-6 ports of 0.5 or 1 Gbit/s, flows log-uniform 100 B..1e12 B
 *   spread  ports of 1 KB/s, 1 MB/s, 1 Gbit/s or 1 Tbit/s each way, flows
 *           log-uniform 1 B..1e12 B
 *   ties    1 Gbit/s ports, flows of 1-4 MB, jobs arriving on whole seconds
 *           without compute times: exact ties between coflows' keys
 */
#define BENCH_NAME "bench_check"
#include "bench_util.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "coflow/coflow.h"
#include "dag/dag.h"
#include "netsim/netsim.h"

typedef enum { KIND_WIDE, KIND_SPREAD, KIND_TIES } kind_t;

/* 2-6 jobs of 1-4 layers of 1-3 coflows, each below the first with 1-2
 * parents in the layer above, 1-5 flows each. */
static void generate(coflow_workload_t *wl, coflow_fabric_t *fab, kind_t kind, uint64_t seed)
{
    uint64_t rs = seed;
    size_t ports = 3 + bench_below(&rs, 4);
    coflow_workload_init(wl, ports);
    bench_check(coflow_fabric_init(fab, ports, 1.25e8), "fabric");
    const double spread[4] = {1e3, 1e6, 1.25e8, 1.25e11};
    for (size_t p = 0; p < ports; p++) {
        if (kind == KIND_SPREAD) {
            fab->cap_out[p] = spread[bench_below(&rs, 4)];
            fab->cap_in[p] = spread[bench_below(&rs, 4)];
        } else if (kind == KIND_WIDE) {
            fab->cap_out[p] = bench_below(&rs, 2) ? 1.25e8 : 6.25e7;
            fab->cap_in[p] = bench_below(&rs, 2) ? 1.25e8 : 6.25e7;
        }
    }
    size_t jobs = 2 + bench_below(&rs, 5);
    for (size_t j = 0; j < jobs; j++) {
        double arrival = kind == KIND_TIES ? (double)bench_below(&rs, 3) : 10 * bench_unif(&rs);
        double weight = 1.0 + (double)bench_below(&rs, 5);
        double final_compute = kind == KIND_TIES ? 0 : 2 * bench_unif(&rs);
        bench_check(coflow_workload_add_job(wl, (int64_t)j, arrival, weight, final_compute),
                    "job");
        size_t layers = 1 + bench_below(&rs, 4), id = 0, prev_first = 0, prev_n = 0;
        for (size_t l = 0; l < layers; l++) {
            size_t width = 1 + bench_below(&rs, 3), first = id;
            for (size_t k = 0; k < width; k++, id++) {
                double compute = kind == KIND_TIES ? 0 : 2 * bench_unif(&rs);
                bench_check(coflow_workload_add_coflow(wl, (int64_t)id, compute), "coflow");
                size_t flows = 1 + bench_below(&rs, 5);
                for (size_t f = 0; f < flows; f++) {
                    uint32_t src = (uint32_t)bench_below(&rs, ports),
                             dst = (uint32_t)bench_below(&rs, ports);
                    double u = bench_unif(&rs);
                    double bytes = kind == KIND_TIES   ? 1e6 * (double)(1 + (size_t)(4 * u))
                                   : kind == KIND_WIDE ? pow(10, 2 + 10 * u)
                                                       : pow(10, 12 * u);
                    bench_check(coflow_workload_add_flow(wl, src, dst, bytes), "flow");
                }
                if (l > 0) {
                    size_t a = bench_below(&rs, prev_n), b = bench_below(&rs, prev_n);
                    bench_check(coflow_workload_add_parent(wl, (int64_t)(prev_first + a)),
                                "parent");
                    if (b != a)
                        bench_check(coflow_workload_add_parent(wl, (int64_t)(prev_first + b)),
                                    "parent");
                }
            }
            prev_first = first;
            prev_n = width;
        }
        bench_check(coflow_workload_finish_job(wl), "job");
    }
    bench_check(dag_analyze(wl, fab), "dag_analyze");
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_check [--kind wide|spread|ties] [--seeds FIRST-LAST] "
                    "[--tick S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    kind_t kind = KIND_WIDE;
    const char *kind_name = "wide";
    unsigned long long first = 1, last = 1000;
    double tick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            kind_name = argv[++i];
            if (!strcmp(kind_name, "wide"))
                kind = KIND_WIDE;
            else if (!strcmp(kind_name, "spread"))
                kind = KIND_SPREAD;
            else if (!strcmp(kind_name, "ties"))
                kind = KIND_TIES;
            else
                usage();
        } else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            /* digits only: %llu took "-5" as 2^64 - 5 */
            const char *v = argv[++i], *dash = strchr(v, '-');
            char lo[24];
            unsigned long a, b;
            if (!dash || (size_t)(dash - v) >= sizeof lo)
                usage();
            memcpy(lo, v, (size_t)(dash - v));
            lo[dash - v] = '\0';
            if (!bench_parse_count(lo, 0, ULONG_MAX, &a) ||
                !bench_parse_count(dash + 1, 0, ULONG_MAX, &b) || a > b)
                usage();
            first = a, last = b;
        } else if (!strcmp(argv[i], "--tick") && i + 1 < argc) {
            char *end;
            tick = strtod(argv[++i], &end);
            if (*end || !(tick >= 1e-6))
                usage();
        } else {
            usage();
        }
    }
    const coflow_ordering_t *const *ords = coflow_orderings();
    const coflow_allocator_t *const *allocs = coflow_allocators();
    size_t runs = 0, violating = 0, failed = 0, shown = 0;
    double worst = 0, t0 = weft_mono_s();
    for (unsigned long long seed = first; seed <= last; seed++) {
        coflow_workload_t wl;
        coflow_fabric_t fab;
        generate(&wl, &fab, kind, seed);
        for (size_t o = 0; ords[o]; o++)
            for (size_t a = 0; allocs[a]; a++) {
                netsim_result_t r[2];
                for (int eager = 0; eager < 2; eager++) {
                    netsim_opts_t opts = {.ordering = ords[o], .allocator = allocs[a],
                                          .check = true, .policy_seed = seed,
                                          .eager_pacing = eager, .tick_s = tick};
                    netsim_result_init(&r[eager]);
                    weft_err_t err = netsim_run(&wl, &fab, &opts, &r[eager]);
                    runs++;
                    const char *what = err ? weft_last_error()
                                           : r[eager].n_violations ? r[eager].first_violation
                                                                   : NULL;
                    failed += err != WEFT_OK;
                    violating += !err && r[eager].n_violations;
                    if (what && shown++ < 10)
                        printf("seed %llu %s:%s%s: %s\n", seed, ords[o]->name,
                               allocs[a]->name, eager ? " (flow by flow)" : "", what);
                }
                for (size_t c = 0; r[0].coflow_finish_s && r[1].coflow_finish_s &&
                                   c < wl.n_coflows;
                     c++) {
                    double x = r[0].coflow_finish_s[c], y = r[1].coflow_finish_s[c];
                    worst = fmax(worst, fabs(x - y) / (1 + y));
                }
                netsim_result_destroy(&r[0]);
                netsim_result_destroy(&r[1]);
            }
        coflow_workload_destroy(&wl);
        coflow_fabric_destroy(&fab);
    }
    printf("BENCH bench=check kind=%s seeds=%llu-%llu tick_s=%g runs=%zu violating=%zu "
           "failed=%zu worst_finish_rel=%.3g wall_s=%.1f\n",
           kind_name, first, last, tick, runs, violating, failed, worst, weft_mono_s() - t0);
    return violating || failed ? 1 : 0;
}
