/*
 * test_gen.c - the workload generator, its random numbers and the workload
 * summary: published rng vectors, determinism, load calibration, coflows
 * that come whole from the pool, port remapping, DAG shapes kept, weight
 * distributions, random-DAG bounds, exact stats on a hand-built workload,
 * and the same on the real traces in data/; `weft gen` and `weft convert`
 * on bad options and failing writes, and -o through a FIFO, a symbolic
 * link and a character device.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dag/dag.h"
#include "tests/cli_run.h"
#include "workload/workload.h"

#define FB_PATH "data/FB2010-1Hr-150-0.txt"
#define ALIBABA_PATH "data/alibaba/sample_tasks.csv"
#define WF_BLAST "data/wfcommons/blast-chameleon-small-001.json"
#define WF_SRA "data/wfcommons/srasearch-chameleon-10a-001.json"

/* ------------------------------------------------------------- helpers */

/* A hand-built FB-like pool on 10 ports: 12 one-coflow jobs, coflow k has
 * (k % 4) + 1 mappers and (k % 3) + 1 reducers, mapper i on port (k + i) % 10,
 * reducer r on port (k + 3 + 2r) % 10, flow bytes (k + 1) * 1e6 * (1 + i + r),
 * so every coflow has a distinct total. */
static void build_pool(coflow_workload_t *pool)
{
    coflow_workload_init(pool, 10);
    for (int k = 0; k < 12; k++) {
        cr_assert_eq(coflow_workload_add_job(pool, k, k * 1.0, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(pool, 0, 0), WEFT_OK);
        for (int i = 0; i <= k % 4; i++)
            for (int r = 0; r <= k % 3; r++)
                cr_assert_eq(coflow_workload_add_flow(pool, (uint32_t)((k + i) % 10),
                                                      (uint32_t)((k + 3 + 2 * r) % 10),
                                                      (k + 1) * 1e6 * (1 + i + r)),
                             WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(pool), WEFT_OK, "%s", weft_last_error());
    }
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 10, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(pool, &fab), WEFT_OK);
    coflow_fabric_destroy(&fab);
}

/* One shape job (id 42): ids 10..15 with
 *   11 <- 10, 12 <- 10, 13 <- 11 12, 14 <- 13, 15 (alone, a root)
 * waves: 10:0 11:1 12:1 13:2 14:3 15:0; compute times 0.5 * id; final 7. */
static void build_shape(coflow_workload_t *sh)
{
    coflow_workload_init(sh, 4);
    static const int64_t parents[6][2] = {{-1, -1}, {10, -1}, {10, -1},
                                          {11, 12}, {13, -1}, {-1, -1}};
    cr_assert_eq(coflow_workload_add_job(sh, 42, 0, 1, 7.0), WEFT_OK);
    for (int64_t id = 10; id < 16; id++) {
        cr_assert_eq(coflow_workload_add_coflow(sh, id, 0.5 * (double)id), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(sh, 0, 1, 1), WEFT_OK);
        for (int k = 0; k < 2; k++)
            if (parents[id - 10][k] >= 0)
                cr_assert_eq(coflow_workload_add_parent(sh, parents[id - 10][k]), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(sh), WEFT_OK, "%s", weft_last_error());
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 4, 1.0), WEFT_OK);
    cr_assert_eq(dag_analyze(sh, &fab), WEFT_OK);
    coflow_fabric_destroy(&fab);
}

/* The weft text of wl, malloc'ed; *len its length. */
static char *to_text(const coflow_workload_t *wl, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    cr_assert_not_null(f);
    cr_assert_eq(workload_write_weft(wl, f), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(fclose(f), 0);
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of the pool coflow with the same flow count, widths and total bytes
 * (relative 1e-12: merged flows sum in another order), or -1. */
static long find_source(const coflow_workload_t *pool, const coflow_coflow_t *c,
                        bool same_widths)
{
    for (size_t k = 0; k < pool->n_coflows; k++) {
        const coflow_coflow_t *p = &pool->coflows[k];
        if (fabs(p->total_bytes - c->total_bytes) > 1e-12 * p->total_bytes)
            continue;
        if (same_widths && (p->n_flows != c->n_flows || p->n_senders != c->n_senders ||
                            p->n_receivers != c->n_receivers))
            continue;
        return (long)k;
    }
    return -1;
}

/* Same coflow ids in the same order and the same parent ids. */
static bool same_structure(const coflow_workload_t *a, size_t ja, const coflow_workload_t *b,
                           size_t jb)
{
    const coflow_job_t *x = &a->jobs[ja], *y = &b->jobs[jb];
    if (x->n_coflows != y->n_coflows)
        return false;
    for (size_t i = 0; i < x->n_coflows; i++) {
        const coflow_coflow_t *cx = &a->coflows[x->first_coflow + i];
        const coflow_coflow_t *cy = &b->coflows[y->first_coflow + i];
        if (cx->id != cy->id || cx->n_parents != cy->n_parents || cx->wave != cy->wave)
            return false;
        for (size_t p = 0; p < cx->n_parents; p++)
            if (a->coflows[a->parents[cx->first_parent + p]].id !=
                b->coflows[b->parents[cy->first_parent + p]].id)
                return false;
    }
    return true;
}

static coflow_workload_t pool, shapes, out, out2;

static void setup(void)
{
    memset(&pool, 0, sizeof pool);
    memset(&shapes, 0, sizeof shapes);
    memset(&out, 0, sizeof out);
    memset(&out2, 0, sizeof out2);
}

static void teardown(void)
{
    coflow_workload_destroy(&pool);
    coflow_workload_destroy(&shapes);
    coflow_workload_destroy(&out);
    coflow_workload_destroy(&out2);
}

/* Default options on the hand pool, 10 ports. */
static workload_gen_opts_t pool_opts(void)
{
    workload_gen_opts_t o;
    workload_gen_opts_default(&o);
    o.fb = &pool;
    o.n_ports = 10;
    return o;
}

static void load_fb(void)
{
    cr_assert_eq(workload_read_fb(&pool, FB_PATH, NULL), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(pool.n_coflows, 526);
}

/* ----------------------------------------------------------------- rng */

TestSuite(gen_rng, .timeout = 10);

Test(gen_rng, published_vectors)
{
    /* splitmix64 from 0: the first four outputs are the state (Vigna's
     * splitmix64.c reference values). */
    workload_rng_t r;
    workload_rng_seed(&r, 0);
    cr_assert_eq(r.s[0], UINT64_C(0xe220a8397b1dcdaf));
    cr_assert_eq(r.s[1], UINT64_C(0x6e789e6aa1b965f4));
    cr_assert_eq(r.s[2], UINT64_C(0x06c45d188009454f));
    cr_assert_eq(r.s[3], UINT64_C(0xf88bb8a8724c81ec));
    /* xoshiro256** on from there, every bit of the state in use (the
     * reference xoshiro256starstar.c, transcribed to Python): a rotation
     * off by one shows only once high bits are set, which {1, 2, 3, 4}
     * below never reaches in four draws. */
    cr_assert_eq(workload_rng_next(&r), UINT64_C(0x99ec5f36cb75f2b4));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(0xbf6e1f784956452a));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(0x1a5f849d4933e6e0));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(0x6aa594f1262d2d2c));
    /* xoshiro256** from the state {1, 2, 3, 4}. */
    r = (workload_rng_t){{1, 2, 3, 4}};
    cr_assert_eq(workload_rng_next(&r), UINT64_C(11520));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(0));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(1509978240));
    cr_assert_eq(workload_rng_next(&r), UINT64_C(1215971899390074240));
}

Test(gen_rng, same_seed_same_stream)
{
    workload_rng_t a, b, c;
    workload_rng_seed(&a, 12345);
    workload_rng_seed(&b, 12345);
    workload_rng_seed(&c, 12346);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = workload_rng_next(&a);
        cr_assert_eq(x, workload_rng_next(&b));
        differ += x != workload_rng_next(&c);
    }
    cr_assert_eq(differ, 1000);
}

Test(gen_rng, below_hits_every_value_evenly)
{
    workload_rng_t r;
    workload_rng_seed(&r, 7);
    size_t count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        size_t v = workload_rng_below(&r, 7);
        cr_assert_lt(v, 7);
        count[v]++;
    }
    /* 10,000 expected each, sd ~93: 5 sd either way */
    for (int v = 0; v < 7; v++)
        cr_assert(count[v] > 9530 && count[v] < 10470, "value %d drawn %zu times", v, count[v]);
    cr_assert_eq(workload_rng_below(&r, 1), 0);
    /* Just above 2^63 almost half the raw draws are rejected: still in range. */
    size_t big = (size_t)1 << 63 | 1;
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(workload_rng_below(&r, big), big);
}

/* Just above 2^63 a raw draw below 2^64 mod n (2^63 - 1) is rejected
 * and the next taken, however it would fall: the value drawn is the
 * first raw draw at or above that, mod n. */
Test(gen_rng, below_rejects_the_draws_under_2_to_the_64_mod_n)
{
    uint64_t big = UINT64_C(1) << 63 | 1, low = (UINT64_C(1) << 63) - 1;
    int rejected = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        workload_rng_t r, raw;
        workload_rng_seed(&r, seed);
        workload_rng_seed(&raw, seed);
        uint64_t x;
        while ((x = workload_rng_next(&raw)) < low)
            rejected++;
        cr_assert_eq(workload_rng_below(&r, (size_t)big), x % big, "seed %" PRIu64, seed);
        cr_assert_eq(workload_rng_next(&r), workload_rng_next(&raw), "seed %" PRIu64, seed);
    }
    cr_assert_gt(rejected, 0);
}

Test(gen_rng, uniform_and_exponential)
{
    workload_rng_t r;
    workload_rng_seed(&r, 99);
    double su = 0, se = 0, lo = 1, hi = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = workload_rng_uniform(&r);
        cr_assert(u >= 0 && u < 1);
        cr_assert_eq(u, ldexp(floor(ldexp(u, 53)), -53), "not a multiple of 2^-53");
        lo = fmin(lo, u);
        hi = fmax(hi, u);
        su += u;
        double e = workload_rng_exp(&r, 2.5);
        cr_assert(e >= 0 && isfinite(e));
        se += e;
    }
    cr_assert_float_eq(su / n, 0.5, 0.005);  /* sd of the mean 0.0009 */
    cr_assert_float_eq(se / n, 2.5, 0.04);   /* sd of the mean 0.008 */
    cr_assert_lt(lo, 1e-3);
    cr_assert_gt(hi, 1 - 1e-3);
}

/* ---------------------------------------------------------------- stats */

TestSuite(gen_stats, .init = setup, .fini = teardown, .timeout = 10);

/* dag_analyze() of out on n_ports ports at rate bytes/s: workload_stats
 * reads the waves it fills. */
static void analyse_out(size_t n_ports, double rate)
{
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, n_ports, rate), WEFT_OK);
    cr_assert_eq(dag_analyze(&out, &fab), WEFT_OK);
    coflow_fabric_destroy(&fab);
}

/* workload_stats_print's report of s, malloc'ed. */
static char *stats_text(const workload_stats_t *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    workload_stats_print(s, f);
    cr_assert_eq(fclose(f), 0);
    return text;
}

/* Job 5 (arrival 2, weight 1): the diamond a(0->1 4B, 0->2 2B), b(1->2 3B),
 * c(2->0 5B), d(0->0 1B) with b, c <- a and d <- b, c: depth 3, width 2.
 * Job 6 (arrival 12, weight 3): one coflow 3->3 of 10 bytes.
 * On 8 ports at 2 bytes/s: 25 bytes over a span of 10 s:
 * load = 25 / (10 * 8 * 2) = 0.15625; ports used {0, 1, 2, 3}. */
Test(gen_stats, hand_built_exact)
{
    coflow_workload_init(&out, 8);
    cr_assert_eq(coflow_workload_add_job(&out, 5, 2, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 0, 1, 4), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 0, 2, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 2, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 1, 2, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&out, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 3, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 2, 0, 5), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&out, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 4, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 0, 0, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&out, 2), WEFT_OK);
    cr_assert_eq(coflow_workload_add_parent(&out, 3), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    cr_assert_eq(coflow_workload_add_job(&out, 6, 12, 3, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 3, 3, 10), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    analyse_out(8, 2.0);

    workload_stats_t s;
    workload_stats(&out, 2.0, &s);
    cr_assert_eq(s.n_jobs, 2);
    cr_assert_eq(s.n_coflows, 5);
    cr_assert_eq(s.n_flows, 6);
    cr_assert_eq(s.n_edges, 4);
    cr_assert_eq(s.n_ports_used, 4);
    cr_assert_eq(s.n_ports, 8);
    cr_assert_float_eq(s.total_bytes, 25, 1e-12);
    cr_assert_float_eq(s.first_arrival_s, 2, 1e-12);
    cr_assert_float_eq(s.last_arrival_s, 12, 1e-12);
    cr_assert_float_eq(s.offered_load, 0.15625, 1e-15);
    cr_assert_eq(s.max_depth, 3);
    cr_assert_eq(s.max_width, 2);
    size_t depth[17] = {[0] = 1, [2] = 1}, width[17] = {[0] = 1, [1] = 1};
    cr_assert_arr_eq(s.depth_hist, depth, sizeof depth);
    cr_assert_arr_eq(s.width_hist, width, sizeof width);
    cr_assert_float_eq(s.mean_weight, 2, 1e-15);

    char *text = stats_text(&s);
    cr_assert(strstr(text, "25 B ") && strstr(text, "   25 bytes"), "%s", text);
    cr_assert(strstr(text, "0.1562"), "%s", text);
    cr_assert(strstr(text, "16 bit/s"), "%s", text);
    free(text);
    /* a light load in three digits (it read 0.0000) */
    s.offered_load = 1.5e-6;
    text = stats_text(&s);
    cr_assert(strstr(text, " 1.5e-06 ") && !strstr(text, "0.0000"), "%s", text);
    free(text);
}

/* A load or a mean weight far from 1 in a few significant digits: a
 * load of 8e297 (1e6 bytes over a span of 1e-300 s) printed "%.4f" ran
 * to 298 digits, cut at the buffer to 63 of them (a number 10^235 too
 * small), a mean weight of 1e15 pushed its column out, and one of 5e-301
 * read 0.000. */
Test(gen_stats, far_loads_and_weights_in_few_digits)
{
    workload_stats_t s;
    memset(&s, 0, sizeof s);
    s.n_jobs = 2;
    s.n_ports = 2;
    s.port_rate = 1.25e8;
    const struct {
        double load, weight;
        const char *load_text, *weight_text;
    } cases[] = {
        {8e297, 1e15, " 8e+297 ", " 1e+15\n"},
        {0.15625, 5e-301, " 0.1562", " 5e-301\n"},
        {1.5e-6, 2.5, " 1.5e-06 ", " 2.500\n"},
        {123456.5, 0.25, " 123456.5000 ", " 0.250\n"},
        {2e6, 3e6, " 2e+06 ", " 3e+06\n"},
        {0.005, 2.5, " 0.005 ", " 2.500\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s.offered_load = cases[i].load;
        s.mean_weight = cases[i].weight;
        char *text = stats_text(&s);
        cr_assert(strstr(text, cases[i].load_text), "load %g: %s", cases[i].load, text);
        cr_assert(strstr(text, cases[i].weight_text), "weight %g: %s", cases[i].weight, text);
        free(text);
    }
}

Test(gen_stats, empty_and_simultaneous)
{
    workload_stats_t s;
    coflow_workload_init(&out, 3);
    workload_stats(&out, 1, &s);
    cr_assert_eq(s.n_jobs, 0);
    cr_assert_eq(s.offered_load, 0);
    char *text = stats_text(&s); /* no "0.00 per job", no arrivals */
    cr_assert(!strstr(text, "per job") && !strstr(text, "arrival") && strstr(text, "(no jobs)"),
              "%s", text);
    free(text);
    /* one job: span 0, load 0 rather than a division by zero */
    cr_assert_eq(coflow_workload_add_job(&out, 0, 5, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 2, 1, 7), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    workload_stats(&out, 1, &s);
    cr_assert_eq(s.offered_load, 0);
    cr_assert_eq(s.n_ports_used, 2);
    cr_assert_eq(s.depth_hist[0], 1);
    text = stats_text(&s);
    cr_assert(strstr(text, "offered load                  -   every job arrives at once\n"),
              "%s", text);
    free(text);
}

Test(gen_stats, deep_job_goes_to_last_bucket)
{
    /* a chain of 20 coflows: depth 20 -> bucket [16], width 1 */
    coflow_workload_init(&out, 2);
    cr_assert_eq(coflow_workload_add_job(&out, 0, 0, 1, 0), WEFT_OK);
    for (int64_t id = 0; id < 20; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&out, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&out, 0, 1, 1), WEFT_OK);
        if (id)
            cr_assert_eq(coflow_workload_add_parent(&out, id - 1), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    analyse_out(2, 1.0);
    workload_stats_t s;
    workload_stats(&out, 1, &s);
    cr_assert_eq(s.max_depth, 20);
    cr_assert_eq(s.depth_hist[16], 1);
    cr_assert_eq(s.width_hist[0], 1);
    char *text = stats_text(&s);
    cr_assert(strstr(text, "\n    1-16 ") && strstr(text, "\n     17+ #"), "%s", text);
    free(text);
}

/* Job 0: a chain of 1000 coflows, with 4 more hanging below coflow 299, so
 * wave 300 holds 5: depth 1000, width 5 (deeper than the 256 waves
 * workload_stats counts on its stack, so its waves are counted in one
 * pass over a heap array). Job 1: 3 roots above a chain of 2, depth 3,
 * width 3 (counted on the stack). */
Test(gen_stats, job_deeper_than_a_window_of_waves)
{
    coflow_workload_init(&out, 2);
    cr_assert_eq(coflow_workload_add_job(&out, 0, 0, 1, 0), WEFT_OK);
    for (int64_t id = 0; id < 1004; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&out, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&out, 0, 1, 1), WEFT_OK);
        if (id > 0)
            cr_assert_eq(coflow_workload_add_parent(&out, id < 1000 ? id - 1 : 299), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    cr_assert_eq(coflow_workload_add_job(&out, 1, 1, 1, 0), WEFT_OK);
    for (int64_t id = 0; id < 5; id++) {
        cr_assert_eq(coflow_workload_add_coflow(&out, id, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&out, 1, 0, 1), WEFT_OK);
        if (id == 3)
            for (int64_t p = 0; p < 3; p++)
                cr_assert_eq(coflow_workload_add_parent(&out, p), WEFT_OK);
        if (id == 4)
            cr_assert_eq(coflow_workload_add_parent(&out, 3), WEFT_OK);
    }
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK);
    analyse_out(2, 1.0);
    workload_stats_t s;
    workload_stats(&out, 1, &s);
    cr_assert_eq(s.max_depth, 1000);
    cr_assert_eq(s.max_width, 5);
    size_t depth[17] = {[2] = 1, [16] = 1}, width[17] = {[2] = 1, [4] = 1};
    cr_assert_arr_eq(s.depth_hist, depth, sizeof depth);
    cr_assert_arr_eq(s.width_hist, width, sizeof width);
}

/* Ports are counted in windows of 65,536: ports 65,535 and 65,536 on either
 * side of the first edge count once each, and a workload whose one flow is
 * port 0 to itself uses one port. */
Test(gen_stats, ports_used_counted_across_windows)
{
    coflow_workload_init(&out, 70000);
    cr_assert_eq(coflow_workload_add_job(&out, 0, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 65535, 65536, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 0, 65536, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 1, 1, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK, "%s", weft_last_error());
    workload_stats_t s;
    workload_stats(&out, 1.0, &s);
    cr_assert_eq(s.n_ports_used, 4);
    coflow_workload_destroy(&out);
    coflow_workload_init(&out, 4);
    cr_assert_eq(coflow_workload_add_job(&out, 0, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&out, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&out, 0, 0, 1), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&out), WEFT_OK, "%s", weft_last_error());
    workload_stats(&out, 1.0, &s);
    cr_assert_eq(s.n_ports_used, 1);
}

/* Bytes in three significant digits: a value that rounds up to the next
 * power of 1000 takes the next unit (999.6 B is "1.00 kB", not "1000 B"),
 * and one that rounds up to the next power of 10 one decimal fewer. */
Test(gen_stats, bytes_rounding_up_take_the_next_unit_or_digit)
{
    workload_stats_t s;
    memset(&s, 0, sizeof s);
    const struct {
        double bytes;
        const char *text;
    } cases[] = {
        {999.4, " 999 B   "},       {999.6, " 1.00 kB   "},    {999600, " 1.00 MB   "},
        {9994000, " 9.99 MB   "},   {9996000, " 10.0 MB   "},  {99940000, " 99.9 MB   "},
        {99960000, " 100 MB   "},   {1e21, " 1000 EB   "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s.total_bytes = cases[i].bytes;
        char *text = stats_text(&s);
        cr_assert(strstr(text, cases[i].text), "%.17g bytes, not '%s': %s", cases[i].bytes,
                  cases[i].text, text);
        free(text);
    }
}

/* A histogram's bars are rounded up (1 job of 3 at the top: 14 marks of
 * 40, not 13); one empty bucket between two full ones has a line of its
 * own, and a run of two or more shares one ("4-5"). */
Test(gen_stats, histogram_bars_round_up_and_empty_runs_share_a_line)
{
    workload_stats_t s;
    memset(&s, 0, sizeof s);
    s.n_jobs = 5;
    s.depth_hist[0] = 3, s.depth_hist[2] = 1, s.depth_hist[5] = 1;
    char *text = stats_text(&s);
    char want[160];
    snprintf(want, sizeof want, "\n       3 %.14s%26s %9d %6.1f%%\n",
             "##############", "", 1, 20.0);
    cr_assert(strstr(text, want), "no '%s' in: %s", want, text);
    snprintf(want, sizeof want, "\n       2 %40s %9d %6.1f%%\n", "", 0, 0.0);
    cr_assert(strstr(text, want), "no '%s' in: %s", want, text);
    snprintf(want, sizeof want, "\n     4-5 %40s %9d %6.1f%%\n", "", 0, 0.0);
    cr_assert(strstr(text, want), "no '%s' in: %s", want, text);
    free(text);
}

/* ------------------------------------------------------------ generator */

TestSuite(gen_gen, .init = setup, .fini = teardown, .timeout = 10);

Test(gen_gen, deterministic_text)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.seed = 77;
    o.compute_mean_s = 3;
    o.weights = WORKLOAD_WEIGHT_PARETO;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(workload_generate(&out2, &o), WEFT_OK, "%s", weft_last_error());
    size_t la, lb;
    char *a = to_text(&out, &la), *b = to_text(&out2, &lb);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(a, b, la), 0, "same seed, different text");
    free(b);
    coflow_workload_destroy(&out2);
    o.seed = 78;
    cr_assert_eq(workload_generate(&out2, &o), WEFT_OK, "%s", weft_last_error());
    b = to_text(&out2, &lb);
    cr_assert(la != lb || memcmp(a, b, la) != 0, "another seed, same text");
    free(a);
    free(b);
}

Test(gen_gen, ids_arrivals_and_derived_fields)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 300;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(out.n_jobs, 300);
    cr_assert_eq(out.n_ports, 10);
    cr_assert_eq(out.jobs[0].arrival_s, 0);
    for (size_t j = 0; j < out.n_jobs; j++) {
        const coflow_job_t *job = &out.jobs[j];
        cr_assert_eq(job->id, (int64_t)j);
        if (j)
            cr_assert_geq(job->arrival_s, out.jobs[j - 1].arrival_s);
        cr_assert_gt(job->lower_bound_s, 0, "dag_analyze not run");
        cr_assert_geq(job->depth, 1);
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++)
            for (size_t d = c + 1; d < job->first_coflow + job->n_coflows; d++)
                cr_assert_neq(out.coflows[c].id, out.coflows[d].id);
    }
}

/* Offered load within 5% of the target with free Poisson gaps over 2,000
 * jobs (sd of the span ~2.2%), and exact with the default scaled gaps. */
typedef struct {
    double load;
    bool exact;
} load_case_t;

ParameterizedTestParameters(gen_gen, load_calibration)
{
    static load_case_t cases[] = {{0.5, false}, {0.9, false}, {0.5, true},
                                  {0.9, true},  {0.2, true},  {1.5, true}};
    return cr_make_param_array(load_case_t, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(load_case_t *lc, gen_gen, load_calibration)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 2000;
    o.max_depth = 3;
    o.max_width = 3;
    o.load = lc->load;
    o.exact_load = lc->exact;
    o.port_rate = 10e9 / 8;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    workload_stats_t s;
    workload_stats(&out, o.port_rate, &s);
    double tol = lc->exact ? 1e-9 : 0.05;
    cr_assert(fabs(s.offered_load / lc->load - 1) < tol, "load %g, target %g (exact %d)",
              s.offered_load, lc->load, lc->exact);
    if (!lc->exact) /* the Poisson arrivals' own span, not scaled to the target's */
        cr_assert(fabs(s.offered_load / lc->load - 1) > 1e-9, "load %.17g exactly the target",
                  s.offered_load);
    /* The gaps are exponential: their coefficient of variation is about 1. */
    double mean = s.last_arrival_s / 1999, var = 0;
    for (size_t j = 1; j < out.n_jobs; j++) {
        double g = out.jobs[j].arrival_s - out.jobs[j - 1].arrival_s;
        var += (g - mean) * (g - mean);
    }
    double cv = sqrt(var / 1998) / mean;
    cr_assert(cv > 0.9 && cv < 1.1, "gap coefficient of variation %g", cv);
}

/* --free-span draws the gaps at the target rate: n jobs have n - 1 gaps, so
 * their span averages the span the target load asks for, total / (load x
 * ports x rate). Gaps drawn at n jobs a span left it (n-1)/n of that: with 3
 * jobs the mean span was 2/3 of it (the load 1.5 x the target on average). */
Test(gen_gen, free_span_keeps_the_target_on_average)
{
    build_pool(&pool);
    double ratio = 0;
    const int runs = 400;
    for (int i = 0; i < runs; i++) {
        workload_gen_opts_t o = pool_opts();
        o.n_jobs = 3;
        o.max_depth = 1;
        o.max_width = 1;
        o.exact_load = false;
        o.seed = (uint64_t)i + 1;
        cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
        double target = coflow_workload_total_bytes(&out) / (o.load * 10 * o.port_rate);
        ratio += out.jobs[2].arrival_s / target / runs;
        coflow_workload_destroy(&out);
    }
    /* span / target is Gamma(2, 1/2): mean 1, sd 0.71, so 0.035 for the mean */
    cr_assert(fabs(ratio - 1) < 0.15, "mean span %g of the target's", ratio);
}

Test(gen_gen, coflows_come_whole_from_pool)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 200;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    bool used[12] = {false};
    for (size_t c = 0; c < out.n_coflows; c++) {
        const coflow_coflow_t *co = &out.coflows[c];
        long k = find_source(&pool, co, true);
        cr_assert_geq(k, 0, "coflow %zu (%g bytes) matches no pool coflow", c, co->total_bytes);
        used[k] = true;
        /* same ports, same per-flow sizes, in the same order */
        const coflow_coflow_t *p = &pool.coflows[k];
        for (size_t i = 0; i < co->n_flows; i++) {
            const coflow_flow_t *a = &out.flows[co->first_flow + i];
            const coflow_flow_t *b = &pool.flows[p->first_flow + i];
            cr_assert(a->src == b->src && a->dst == b->dst && a->bytes == b->bytes);
        }
    }
    for (int k = 0; k < 12; k++)
        cr_assert(used[k], "pool coflow %d never drawn", k);
}

Test(gen_gen, size_cap)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.max_coflow_bytes = 40e6; /* pool coflows 0..3 (4 MB .. 40 MB) and no more */
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < out.n_coflows; c++)
        cr_assert_leq(out.coflows[c].total_bytes, 40e6);
    coflow_workload_destroy(&out);
    o.max_coflow_bytes = 1; /* nothing fits: an error naming the cap and the smallest */
    cr_assert_eq(workload_generate(&out, &o), WEFT_EINVAL);
    double smallest = INFINITY;
    for (size_t c = 0; c < pool.n_coflows; c++)
        smallest = fmin(smallest, pool.coflows[c].total_bytes);
    char want[96];
    snprintf(want, sizeof want, "the size cap); the smallest has %.17g bytes", smallest);
    cr_assert(strstr(weft_last_error(), want), "%s", weft_last_error());
    cr_assert_eq(out.n_jobs, 0);
    o.max_coflow_bytes = smallest; /* a coflow of exactly the cap is in */
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < out.n_coflows; c++)
        cr_assert_eq(out.coflows[c].total_bytes, smallest);
}

/* 10 pool ports onto 5: p -> p * 5 / 10 = p / 2; flows folded onto one pair
 * merge, so bytes are conserved and widths can only shrink. */
Test(gen_gen, ports_fold_onto_smaller_fabric)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_ports = 5;
    o.n_jobs = 200;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(out.n_ports, 5);
    for (size_t c = 0; c < out.n_coflows; c++) {
        const coflow_coflow_t *co = &out.coflows[c];
        long k = find_source(&pool, co, false);
        cr_assert_geq(k, 0, "coflow %zu: %g bytes, no pool coflow has as many", c,
                      co->total_bytes);
        const coflow_coflow_t *p = &pool.coflows[k];
        cr_assert_leq(co->n_flows, p->n_flows);
        cr_assert_leq(co->n_senders, p->n_senders);
        cr_assert_leq(co->n_receivers, p->n_receivers);
        /* every pool flow lands on an existing pair carrying at least its bytes */
        for (size_t i = 0; i < p->n_flows; i++) {
            const coflow_flow_t *b = &pool.flows[p->first_flow + i];
            bool found = false;
            for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++) {
                const coflow_flow_t *a = &out.flows[f];
                cr_assert(a->src < 5 && a->dst < 5);
                if (a->src == b->src / 2 && a->dst == b->dst / 2 && a->bytes >= b->bytes)
                    found = true;
            }
            cr_assert(found, "pool flow %u->%u missing after folding", b->src, b->dst);
        }
        /* and no pair twice */
        for (size_t f = co->first_flow; f < co->first_flow + co->n_flows; f++)
            for (size_t g = f + 1; g < co->first_flow + co->n_flows; g++)
                cr_assert(out.flows[f].src != out.flows[g].src ||
                          out.flows[f].dst != out.flows[g].dst);
    }
}

/* 10 pool ports onto 25: p -> floor(2.5 p), injective, nothing merges. */
Test(gen_gen, ports_spread_onto_larger_fabric)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_ports = 25;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < out.n_coflows; c++) {
        const coflow_coflow_t *co = &out.coflows[c];
        long k = find_source(&pool, co, true);
        cr_assert_geq(k, 0);
        const coflow_coflow_t *p = &pool.coflows[k];
        for (size_t i = 0; i < co->n_flows; i++) {
            const coflow_flow_t *a = &out.flows[co->first_flow + i];
            const coflow_flow_t *b = &pool.flows[p->first_flow + i];
            cr_assert_eq(a->src, b->src * 5 / 2);
            cr_assert_eq(a->dst, b->dst * 5 / 2);
            cr_assert_eq(a->bytes, b->bytes);
        }
    }
}

Test(gen_gen, shape_structure_and_compute_kept)
{
    build_pool(&pool);
    build_shape(&shapes);
    workload_gen_opts_t o = pool_opts();
    o.shape = WORKLOAD_SHAPE_ALIBABA;
    o.shapes = &shapes;
    o.n_jobs = 50;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    workload_stats_t s;
    workload_stats(&out, o.port_rate, &s);
    cr_assert_eq(s.n_edges, 50 * 5);
    cr_assert_eq(s.depth_hist[3], 50); /* depth 4 */
    cr_assert_eq(s.width_hist[1], 50); /* widest wave 2 */
    for (size_t j = 0; j < out.n_jobs; j++) {
        cr_assert(same_structure(&out, j, &shapes, 0), "job %zu lost the shape", j);
        cr_assert_eq(out.jobs[j].final_compute_s, 7.0);
        for (size_t c = 0; c < 6; c++) {
            const coflow_coflow_t *co = &out.coflows[out.jobs[j].first_coflow + c];
            cr_assert_eq(co->compute_s, 0.5 * (double)co->id);
        }
    }
    /* A drawn mean replaces the shape's times; keep_shape_compute off drops them. */
    coflow_workload_destroy(&out);
    o.compute_mean_s = 100;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    double sum = 0;
    for (size_t c = 0; c < out.n_coflows; c++)
        sum += out.coflows[c].compute_s;
    cr_assert(fabs(sum / (double)out.n_coflows - 100) < 20, "mean compute %g",
              sum / (double)out.n_coflows);
    coflow_workload_destroy(&out);
    o.compute_mean_s = 0;
    o.keep_shape_compute = false;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < out.n_coflows; c++)
        cr_assert_eq(out.coflows[c].compute_s, 0);
    cr_assert_eq(out.jobs[0].final_compute_s, 0);
}

Test(gen_gen, random_shapes_bounded_and_covering)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 1000;
    o.max_depth = 6;
    o.max_width = 3;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    workload_stats_t s;
    workload_stats(&out, o.port_rate, &s);
    cr_assert_eq(s.max_depth, 6);
    cr_assert_eq(s.max_width, 3);
    for (int d = 0; d < 6; d++) /* depth uniform on 1..6: ~167 each */
        cr_assert(s.depth_hist[d] > 100 && s.depth_hist[d] < 240, "depth %d: %zu jobs", d + 1,
                  s.depth_hist[d]);
    for (size_t j = 0; j < out.n_jobs; j++) {
        const coflow_job_t *job = &out.jobs[j];
        cr_assert_leq(job->n_coflows, job->depth * 3);
        for (size_t c = job->first_coflow; c < job->first_coflow + job->n_coflows; c++) {
            const coflow_coflow_t *co = &out.coflows[c];
            cr_assert_leq(co->n_parents, 2);
            cr_assert_eq(co->n_parents == 0, co->wave == 0);
        }
    }
    /* one layer of one coflow: single-stage jobs */
    coflow_workload_destroy(&out);
    o.max_depth = o.max_width = 1;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(out.n_coflows, out.n_jobs);
}

typedef struct {
    workload_weight_dist_t dist;
    double lo, hi, mean, tol;
} weight_case_t;

ParameterizedTestParameters(gen_gen, weights)
{
    static weight_case_t cases[] = {
        {WORKLOAD_WEIGHT_UNIFORM_INT, 1, 5, 3.0, 0.1}, /* sd 1.41/sqrt(2000) = 0.03 */
        {WORKLOAD_WEIGHT_ONE, 1, 5, 1.0, 0},
        {WORKLOAD_WEIGHT_PARETO, 1, 5, 1.8, 0.1},      /* 2 - 1/5; sd 0.022 */
        {WORKLOAD_WEIGHT_PARETO, 2, 100, 3.96, 0.4},   /* 2 * (2 - 2/100); sd 0.1 */
    };
    return cr_make_param_array(weight_case_t, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(weight_case_t *wc, gen_gen, weights)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 2000;
    o.max_depth = o.max_width = 1;
    o.weights = wc->dist;
    o.weight_min = wc->lo;
    o.weight_max = wc->hi;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    bool hit[6] = {false};
    double sum = 0;
    for (size_t j = 0; j < out.n_jobs; j++) {
        double w = out.jobs[j].weight;
        sum += w;
        if (wc->dist == WORKLOAD_WEIGHT_ONE)
            cr_assert_eq(w, 1.0);
        else
            cr_assert(w >= wc->lo && w <= wc->hi, "weight %g outside [%g, %g]", w, wc->lo,
                      wc->hi);
        if (wc->dist == WORKLOAD_WEIGHT_UNIFORM_INT) {
            cr_assert_eq(w, floor(w));
            hit[(int)w] = true;
        }
    }
    if (wc->dist == WORKLOAD_WEIGHT_UNIFORM_INT)
        for (int w = 1; w <= 5; w++)
            cr_assert(hit[w], "weight %d never drawn", w);
    double mean = sum / (double)out.n_jobs;
    cr_assert(fabs(mean - wc->mean) <= wc->tol, "mean weight %g, expected %g", mean, wc->mean);
}

Test(gen_gen, bad_options_rejected)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    workload_gen_opts_t b;
    b = o, b.fb = NULL;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "pool"), "%s", weft_last_error());
    b = o, b.load = 0;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.load = NAN;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.n_jobs = 0;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.n_ports = 0;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.n_ports = WORKLOAD_MAX_PORTS + 1; /* more than the readers take back */
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "ports"), "%s", weft_last_error());
    b = o, b.n_jobs = WORKLOAD_GEN_MAX_JOBS + 1;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "jobs"), "%s", weft_last_error());
    b = o, b.load = 1e-308; /* positive, but the arrivals overflow */
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "load 1e-308"), "%s", weft_last_error());
    b = o, b.load = 1e-12; /* finite arrivals, but beyond what the readers take back */
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "beyond the 1e+09 s the readers accept"), "%s",
              weft_last_error());
    /* so large that load x ports x rate is inf, or finite but the mean gap
     * (bytes / (it x jobs)) rounds to 0: every job arrived at 0 */
    b = o, b.load = 1e300;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "offered load 1e+300: ") &&
                  strstr(weft_last_error(), "expected a smaller load"),
              "%s", weft_last_error());
    b = o, b.load = 1e298;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "offered load 1e+298: "), "%s", weft_last_error());
    b = o, b.compute_mean_s = 1e20; /* valid, but its draws are beyond the readers' too */
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "mean compute time 1e+20 s: job 0 drew a compute time") &&
                  strstr(weft_last_error(), "beyond the 1e+09 s the readers accept"),
              "%s", weft_last_error());
    b = o, b.compute_mean_s = 1e7; /* every draw within what the readers accept */
    cr_assert_eq(workload_generate(&out, &b), WEFT_OK, "%s", weft_last_error());
    coflow_workload_destroy(&out);
    b = o, b.port_rate = -1;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.shape = WORKLOAD_SHAPE_WFCOMMONS;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "shapes"), "%s", weft_last_error());
    b = o, b.max_depth = 0;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.weight_min = 2.2, b.weight_max = 2.8; /* no integer inside */
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.weight_min = 0;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    b = o, b.compute_mean_s = -1;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    cr_assert_eq(out.n_jobs, 0);
    cr_assert_eq(out.n_flows, 0);
    coflow_workload_destroy(&out); /* empty but safe to destroy */
}

/* A workload past the flow budget is refused before it is made when its
 * expected flows pass it, and as soon as it does when a draw goes past
 * it: nothing is kept either way. */
Test(gen_gen, flows_past_the_budget_refused)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    double pool_flows = 0; /* 10 ports: no folding */
    for (size_t c = 0; c < pool.n_coflows; c++)
        pool_flows += (double)pool.coflows[c].n_flows;
    pool_flows /= (double)pool.n_coflows;
    double expected = (double)o.n_jobs * ((double)o.max_depth + 1) / 2 *
                      (((double)o.max_width + 1) / 2) * pool_flows;
    workload_gen_opts_t b = o;
    b.max_flows = (size_t)(expected * 0.99);
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "about %.3g flows expected", expected);
    cr_assert(strstr(weft_last_error(), want) && strstr(weft_last_error(), "fewer jobs"), "%s",
              weft_last_error());
    cr_assert_eq(out.n_flows, 0);
    /* a seed drawing well above the expected, then a budget just below it */
    size_t made = 0;
    for (b.seed = 1; b.seed < 200; b.seed++) {
        b.max_flows = 0;
        cr_assert_eq(workload_generate(&out, &b), WEFT_OK, "%s", weft_last_error());
        made = out.n_flows;
        coflow_workload_destroy(&out);
        if ((double)made > expected * 1.05)
            break;
    }
    cr_assert((double)made > expected * 1.05, "no seed drew 5%% more flows than expected");
    b.max_flows = made - 1;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    snprintf(want, sizeof want, "%zu flows made, more than the %zu", made, made - 1);
    cr_assert(strstr(weft_last_error(), want), "%s", weft_last_error());
    cr_assert_eq(out.n_flows, 0);
    b.max_flows = made; /* exactly enough */
    cr_assert_eq(workload_generate(&out, &b), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(out.n_flows, made);
}

/* Each refused option is named in the words of its own check, not those of
 * a later one it would also trip (no jobs: a load whose gap is not a
 * number; a port rate of 0: arrivals beyond the readers). */
Test(gen_gen, bad_options_named_by_their_own_check)
{
    build_pool(&pool);
    build_shape(&shapes);
    coflow_workload_t no_shapes, open_pool;
    coflow_workload_init(&no_shapes, 4);
    coflow_workload_init(&open_pool, 10);
    cr_assert_eq(coflow_workload_add_job(&open_pool, 0, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&open_pool, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&open_pool, 0, 1, 1), WEFT_OK);
    const workload_gen_opts_t o = pool_opts();
    workload_gen_opts_t b[9];
    for (size_t i = 0; i < 9; i++)
        b[i] = o;
    b[0].n_jobs = 0;
    b[1].port_rate = 0;
    b[2].load = 0;
    b[3].weight_min = 0;
    b[4].fb = &open_pool;
    b[5].shape = WORKLOAD_SHAPE_ALIBABA, b[5].shapes = &no_shapes;
    b[6].max_coflow_bytes = INFINITY;
    b[7].weight_min = 1, b[7].weight_max = 0x1p52 + 1;
    b[8].n_jobs = WORKLOAD_GEN_MAX_JOBS, b[8].max_flows = 1; /* allowed: the budget says no */
    const char *want[9] = {
        "number of jobs 0, expected 1..1000000",
        "port rate 0 bytes/s, expected a finite number > 0",
        "offered load 0, expected a finite number > 0",
        "minimum weight 0, expected a finite number > 0",
        "the coflow pool or shapes workload has an unfinished job",
        "alibaba shapes need a shapes workload with at least one job",
        "coflow size cap inf bytes, expected a finite number >= 0 (0 = none)",
        "integer weight range 1..4.5036e+15 is too wide",
        "flows expected (1000000 jobs of ",
    };
    for (size_t i = 0; i < 9; i++) {
        cr_assert_eq(workload_generate(&out, &b[i]), WEFT_EINVAL, "case %zu", i);
        cr_assert(strstr(weft_last_error(), want[i]), "case %zu: '%s', not '%s'", i,
                  weft_last_error(), want[i]);
        cr_assert_eq(out.n_jobs, 0, "case %zu", i);
    }
    coflow_workload_destroy(&no_shapes);
    coflow_workload_destroy(&open_pool);
}

/* The bounds themselves are allowed: one integer weight (2..2) gives every
 * job that weight. */
Test(gen_gen, a_weight_range_of_one_integer_gives_it_to_every_job)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.weight_min = 2, o.weight_max = 2;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t j = 0; j < out.n_jobs; j++)
        cr_assert_eq(out.jobs[j].weight, 2.0, "job %zu", j);
}

/* The draws come in the order gen.c's header gives (per job: weight, final
 * compute, the layer sizes, then per coflow: its compute, its pool coflow),
 * so a seed makes the same workload from one version to the next. Redrawn
 * here from the stream itself: one layer of one coflow draws no layer size
 * (below(1) takes nothing), and the pool coflows' totals are all distinct. */
Test(gen_gen, the_draws_come_in_the_documented_order)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.seed = 2026, o.n_jobs = 3, o.max_depth = 1, o.max_width = 1, o.compute_mean_s = 2;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    workload_rng_t r;
    workload_rng_seed(&r, 2026);
    for (size_t j = 0; j < 3; j++) {
        const coflow_job_t *job = &out.jobs[j];
        double weight = 1 + (double)workload_rng_below(&r, 5);
        double final_s = workload_rng_exp(&r, 2);
        double compute_s = workload_rng_exp(&r, 2);
        size_t pick = workload_rng_below(&r, pool.n_coflows);
        cr_assert_eq(job->n_coflows, 1);
        cr_assert_eq(job->weight, weight, "job %zu", j);
        cr_assert_eq(job->final_compute_s, final_s, "job %zu", j);
        cr_assert_eq(out.coflows[job->first_coflow].compute_s, compute_s, "job %zu", j);
        cr_assert_eq(out.coflows[job->first_coflow].total_bytes, pool.coflows[pick].total_bytes,
                     "job %zu", j);
    }
}

/* On a fabric of 2 ports a pool coflow folds onto at most 4 port pairs, so
 * the flow budget expects at most 4 flows of it, not its width. */
Test(gen_gen, the_flow_budget_counts_a_coflow_folded_onto_few_ports)
{
    build_pool(&pool);
    workload_gen_opts_t b = pool_opts();
    b.n_ports = 2, b.max_flows = 1;
    double folded = 0;
    for (size_t c = 0; c < pool.n_coflows; c++)
        folded += fmin((double)pool.coflows[c].n_flows, 4);
    folded /= (double)pool.n_coflows;
    cr_assert_eq(workload_generate(&out, &b), WEFT_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "of %.4g flows on average)", folded);
    cr_assert(strstr(weft_last_error(), want), "'%s', not '%s'", weft_last_error(), want);
}

/* A mean compute time whose draws pass the readers' 1e9 s now and then:
 * every workload made has every compute time, a job's final one included,
 * within it, and the seeds that drew one beyond are refused. */
Test(gen_gen, compute_times_beyond_the_readers_are_refused_whichever_drew_them)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.n_jobs = 1, o.compute_mean_s = 3e8; /* a draw passes 1e9 s with odds e^-10/3 */
    int refused = 0, finals_near = 0;
    for (o.seed = 1; o.seed <= 150; o.seed++) {
        weft_err_t err = workload_generate(&out, &o);
        if (err) {
            cr_assert_eq(err, WEFT_EINVAL);
            cr_assert(strstr(weft_last_error(), "beyond the 1e+09 s the readers accept"), "%s",
                      weft_last_error());
            refused++;
            continue;
        }
        const coflow_job_t *job = &out.jobs[0];
        cr_assert_leq(job->final_compute_s, WORKLOAD_MAX_TIME_S, "seed %llu",
                      (unsigned long long)o.seed);
        finals_near += job->final_compute_s > 0.5 * WORKLOAD_MAX_TIME_S;
        for (size_t c = 0; c < out.n_coflows; c++)
            cr_assert_leq(out.coflows[c].compute_s, WORKLOAD_MAX_TIME_S, "seed %llu",
                          (unsigned long long)o.seed);
        coflow_workload_destroy(&out);
    }
    cr_assert(refused > 0 && finals_near > 0, "%d refused, %d finals near the bound", refused,
              finals_near);
}

/* A random DAG's coflow below a layer of two coflows may have both as its
 * parents (a layer of two is the narrowest that allows it). */
Test(gen_gen, a_coflow_below_a_layer_of_two_may_have_both_as_parents)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.max_depth = 2, o.max_width = 2, o.n_jobs = 100;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    size_t both = 0;
    for (size_t c = 0; c < out.n_coflows; c++)
        both += out.coflows[c].n_parents == 2;
    cr_assert_gt(both, 0, "no coflow has two parents in %zu jobs", out.n_jobs);
}

/* With a mean compute time, a job's final compute time is drawn (an
 * exponential of that mean), like its coflows', not the mean itself. */
Test(gen_gen, final_compute_times_are_drawn_around_their_mean)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    o.compute_mean_s = 2, o.n_jobs = 400;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    double sum = 0, lo = INFINITY, hi = 0;
    for (size_t j = 0; j < out.n_jobs; j++) {
        double f = out.jobs[j].final_compute_s;
        sum += f, lo = fmin(lo, f), hi = fmax(hi, f);
    }
    /* an exponential's mean of 400 draws is within 15% of its own (3 sd) */
    cr_assert(fabs(sum / 400 / 2 - 1) < 0.15, "mean final compute %g s", sum / 400);
    cr_assert(lo < 0.5 && hi > 6, "final computes %g..%g s", lo, hi);
}

/* A load that puts the last arrival at 1.5e9 s, past the 1e9 s the readers
 * accept, is refused, as one far beyond is. */
Test(gen_gen, arrivals_just_beyond_the_readers_are_refused)
{
    build_pool(&pool);
    workload_gen_opts_t o = pool_opts();
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    double total = coflow_workload_total_bytes(&out); /* the same jobs at any load */
    coflow_workload_destroy(&out);
    o.load = total / (1.5e9 * (double)o.n_ports * o.port_rate);
    cr_assert_eq(workload_generate(&out, &o), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "beyond the 1e+09 s the readers accept; expected a "
                                        "larger load"), "%s", weft_last_error());
    o.load *= 1.6; /* the last arrival at 0.94e9 s */
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    cr_assert_leq(out.jobs[out.n_jobs - 1].arrival_s, WORKLOAD_MAX_TIME_S);
}

Test(gen_gen, append_renumbers_and_keeps_structure)
{
    build_shape(&shapes);
    build_pool(&pool);
    coflow_workload_init(&out, 2);
    cr_assert_eq(workload_append(&out, &shapes), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(workload_append(&out, &pool), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(workload_append(&out, &shapes), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(out.n_jobs, 14);
    cr_assert_eq(out.n_ports, 10);
    for (size_t j = 0; j < out.n_jobs; j++)
        cr_assert_eq(out.jobs[j].id, (int64_t)j);
    cr_assert(same_structure(&out, 0, &shapes, 0));
    cr_assert(same_structure(&out, 13, &shapes, 0));
    cr_assert_eq(out.jobs[13].depth, 4);
    for (size_t k = 0; k < shapes.n_coflows; k++) { /* job 0's, copied, not recomputed */
        cr_assert_eq(out.coflows[k].cp_below_s, shapes.coflows[k].cp_below_s, "coflow %zu", k);
        cr_assert_eq(out.coflows[k].iso_s, shapes.coflows[k].iso_s, "coflow %zu", k);
    }
    cr_assert_eq(out.jobs[5].arrival_s, pool.jobs[4].arrival_s);
    cr_assert_float_eq(coflow_workload_total_bytes(&out),
                       coflow_workload_total_bytes(&pool) + 12, 1e-6);
}

/* ------------------------------------------------------ real traces */

TestSuite(gen_data, .init = setup, .fini = teardown, .timeout = 10);

/* FB pool on its own 150 ports: every coflow is a whole FB coflow. */
Test(gen_data, fb_coflows_whole)
{
    load_fb();
    workload_gen_opts_t o;
    workload_gen_opts_default(&o);
    o.fb = &pool;
    o.n_jobs = 60;
    o.max_depth = 3;
    o.max_width = 2;
    o.max_coflow_bytes = 20e9; /* keeps the test small: the biggest coflows go */
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t c = 0; c < out.n_coflows; c++) {
        long k = find_source(&pool, &out.coflows[c], true);
        cr_assert_geq(k, 0, "coflow %zu matches no FB coflow", c);
    }
    cr_assert_eq(workload_generate(&out2, &o), WEFT_OK);
    size_t la, lb;
    char *a = to_text(&out, &la), *b = to_text(&out2, &lb);
    cr_assert(la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
}

/* FB onto 16 ports: bytes per coflow conserved, ports in range, the FB
 * coflows' size distribution survives in the calibrated load. */
Test(gen_data, fb_remapped_to_16_ports)
{
    load_fb();
    workload_gen_opts_t o;
    workload_gen_opts_default(&o);
    o.fb = &pool;
    o.n_ports = 16;
    o.n_jobs = 100;
    o.max_depth = 2;
    o.max_width = 2;
    o.load = 0.9;
    o.max_coflow_bytes = 20e9;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    for (size_t f = 0; f < out.n_flows; f++)
        cr_assert(out.flows[f].src < 16 && out.flows[f].dst < 16);
    double *totals = calloc(pool.n_coflows, sizeof *totals);
    for (size_t k = 0; k < pool.n_coflows; k++)
        totals[k] = pool.coflows[k].total_bytes;
    qsort(totals, pool.n_coflows, sizeof *totals, cmp_double);
    for (size_t c = 0; c < out.n_coflows; c++) {
        const coflow_coflow_t *co = &out.coflows[c];
        cr_assert_geq(find_source(&pool, co, false), 0, "coflow %zu: %.17g bytes", c,
                      co->total_bytes);
        cr_assert_leq(co->n_senders, 16);
        cr_assert_leq(co->n_receivers, 16);
    }
    free(totals);
    workload_stats_t s;
    workload_stats(&out, o.port_rate, &s);
    cr_assert_float_eq(s.offered_load, 0.9, 1e-9);
    cr_assert_leq(s.n_ports_used, 16);
}

/* Alibaba shapes: every generated job has the structure of some shape job. */
Test(gen_data, alibaba_shapes_preserved)
{
    build_pool(&pool);
    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    ro.alibaba_keep_independent = false;
    ro.max_jobs = 300;
    cr_assert_eq(workload_read_alibaba(&shapes, ALIBABA_PATH, &ro), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert_gt(shapes.n_jobs, 0);
    workload_gen_opts_t o = pool_opts();
    o.shape = WORKLOAD_SHAPE_ALIBABA;
    o.shapes = &shapes;
    o.n_jobs = 200;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    size_t multi = 0;
    for (size_t j = 0; j < out.n_jobs; j++) {
        bool found = false;
        for (size_t k = 0; k < shapes.n_jobs && !found; k++)
            found = same_structure(&out, j, &shapes, k) &&
                    out.jobs[j].depth == shapes.jobs[k].depth;
        cr_assert(found, "generated job %zu has no source shape", j);
        multi += out.jobs[j].n_coflows > 1;
    }
    cr_assert_gt(multi, 100, "only %zu of 200 jobs are multi-stage", multi);
}

/* WfCommons shapes from two files pooled with workload_append (what
 * `weft gen --shape wfcommons` does): both stage graphs show up, kept whole,
 * with the workflows' compute times. */
Test(gen_data, wfcommons_two_files_pooled)
{
    build_pool(&pool);
    coflow_workload_t one;
    coflow_workload_init(&shapes, 1);
    const char *files[] = {WF_BLAST, WF_SRA};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(workload_read_wfcommons(&one, files[i], NULL), WEFT_OK, "%s",
                     weft_last_error());
        cr_assert_eq(workload_append(&shapes, &one), WEFT_OK, "%s", weft_last_error());
        coflow_workload_destroy(&one);
    }
    cr_assert_eq(shapes.n_jobs, 2);
    workload_gen_opts_t o = pool_opts();
    o.shape = WORKLOAD_SHAPE_WFCOMMONS;
    o.shapes = &shapes;
    o.n_jobs = 40;
    cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
    size_t from[2] = {0, 0};
    for (size_t j = 0; j < out.n_jobs; j++) {
        int k = same_structure(&out, j, &shapes, 0) ? 0
                : same_structure(&out, j, &shapes, 1) ? 1 : -1;
        cr_assert_geq(k, 0, "generated job %zu has no source workflow", j);
        from[k]++;
        cr_assert_eq(out.jobs[j].final_compute_s, shapes.jobs[k].final_compute_s);
        for (size_t c = 0; c < out.jobs[j].n_coflows; c++)
            cr_assert_eq(out.coflows[out.jobs[j].first_coflow + c].compute_s,
                         shapes.coflows[shapes.jobs[k].first_coflow + c].compute_s);
    }
    cr_assert(from[0] > 5 && from[1] > 5, "draws %zu / %zu", from[0], from[1]);
}

/* ------------------------------------------------------------------ CLI */

/* `weft gen` and `weft convert` through the program (WEFT_BIN, set by
 * ctest): each run's stdout and stderr go to files in a fresh directory. */
static void cli_setup(void)
{
    cli_open("gen");
}

TestSuite(gen_cli, .init = cli_setup, .fini = cli_teardown, .timeout = 60);

/* Parameters the rest of weft cannot use are refused, naming the option,
 * and the output file is left alone: more ports than the readers take, a
 * load so small the arrivals overflow or so large they all round to 0, an
 * unbounded job count. */
Test(gen_cli, parameters_beyond_the_readers_refused)
{
    NEED_BIN();
    cli_write("w.weft", "old\n");
    cr_assert_eq(cli("gen --jobs 2 --ports 2000000 -o %s/w.weft", cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "--ports '2000000'") &&
                  strstr(cli_file("err"), "1048576"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("gen --jobs 99999999999999 -o %s/w.weft", cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "--jobs") && strstr(cli_file("err"), "1000000"), "%s",
              cli_file("err"));
    /* past what an integer holds: the same range, not only its start */
    cr_assert_eq(cli("gen --jobs 99999999999999999999 -o %s/w.weft", cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "expected an integer 1..1000000"), "%s", cli_file("err"));
    cr_assert_eq(cli("convert %s --wf-ports 99999999999 -o %s/w.weft", WF_SRA, cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "--wf-ports '99999999999': expected an integer 1..1048576"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("gen --jobs 4 --load 1e-308 -o %s/w.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "load 1e-308"), "%s", cli_file("err"));
    cr_assert_eq(cli("gen --jobs 4 --load 1e300 -o %s/w.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "offered load 1e+300: ") &&
                  strstr(cli_file("err"), "expected a smaller load"),
              "%s", cli_file("err"));
    /* both shape limits allowed, together a job of 25 million coflows: it
       grew past 24 GB before the kernel killed it */
    cr_assert_eq(cli("gen --max-depth 10000 --max-width 10000 --jobs 2 -o %s/w.weft", cli_dir),
                 1);
    cr_assert(strstr(cli_file("err"), "flows expected (2 jobs of 2.501e+07 coflows"), "%s",
              cli_file("err"));
    cr_assert_str_eq(cli_file("w.weft"), "old\n");
    cr_assert(!cli_temp_left("w.weft"));
    /* the limits themselves are fine (no run of a million jobs here) */
    cr_assert_eq(cli("gen --jobs 2 --ports 1048576 --seed 3"), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "ports 1048576\n"));
}

/* A job whose drawn coflows move more than the 2^60 bytes the readers take
 * is refused, naming it, and no file is written: gen wrote one that every
 * command then refused. One such coflow a job is still written, and reads
 * back. */
Test(gen_cli, a_job_beyond_the_readers_bytes_refused)
{
    NEED_BIN();
    cli_write("big.weft", "weft-workload 1\nports 4\njob 1 0 1 0 1\ncoflow 1 0 1 -\n"
                          "0 1 1152921504606846976\nend 1\n");
    cr_assert_eq(cli("gen --fb %s/big.weft --ports 4 --jobs 2 --max-depth 3 --load 1000 "
                     "-o %s/g.weft", cli_dir, cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "job 0: its drawn coflows' flows reach "
                                      "2.305843009213694e+18 bytes") &&
                  strstr(cli_file("err"), "more than the 2^60 bytes"),
              "%s", cli_file("err"));
    cr_assert(!cli_exists("g.weft") && !cli_temp_left("g.weft"));
    cr_assert_eq(cli("gen --fb %s/big.weft --ports 4 --jobs 2 --max-depth 1 --max-width 1 "
                     "--load 1000 -o %s/g.weft", cli_dir, cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("inspect %s/g.weft", cli_dir), 0, "%s", cli_file("err"));
}

/* An -o that cannot be written (a missing directory, a file where a
 * directory should be, a link into a missing one) is found before the
 * work, not after generating or reading all of it. */
Test(gen_cli, an_output_that_cannot_be_written_stops_before_the_work)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 3 --ports 4 -o %s/nodir/x.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "cannot write into '") &&
                  strstr(cli_file("err"), "nodir': No such file or directory"),
              "%s", cli_file("err"));
    cli_write("file", "");
    cr_assert_eq(cli("gen --jobs 3 --ports 4 -o %s/file/x.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "file' is not a directory"), "%s", cli_file("err"));
    char link[256], to[256];
    snprintf(link, sizeof link, "%s/lnk", cli_dir);
    snprintf(to, sizeof to, "%s/gone/y.weft", cli_dir);
    cr_assert_eq(symlink(to, link), 0);
    cr_assert_eq(cli("gen --jobs 3 --ports 4 -o %s/lnk", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "gone': No such file"), "%s", cli_file("err"));
    struct stat sb;
    cr_assert_eq(lstat(link, &sb), 0, "the link was removed");
    /* convert alike: the output's problem, before the (truncated) input is read */
    cli_write("cut.txt", "150 2\n1 0 1 22 1 65:1.0\n");
    cr_assert_eq(cli("convert %s/cut.txt -o %s/nodir/y.weft", cli_dir, cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "nodir': No such file or directory"), "%s",
              cli_file("err"));
}

/* An -o naming the trace or a shape file gen reads is a usage error, the
 * file left as it was: the workload was written over the --fb trace or
 * the --shapes file it came from. */
Test(gen_cli, an_output_that_is_an_input_is_refused)
{
    NEED_BIN();
    const char *fb = "weft-workload 1\nports 4\njob 1 0 1 0 1\ncoflow 1 0 2 -\n0 1 5e6\n"
                     "2 3 5e6\nend 1\n";
    cli_write("fb.weft", fb);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s %s/sra.json", WF_SRA, cli_dir);
    cr_assert_eq(system(cmd), 0);
    char sra[1 << 16];
    snprintf(sra, sizeof sra, "%s", cli_file("sra.json"));
    cr_assert_eq(cli("gen --fb %s/fb.weft --ports 4 --jobs 2 -o %s/./fb.weft", cli_dir, cli_dir),
                 2);
    cr_assert(strstr(cli_file("err"), "fb.weft' is the --fb '"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("fb.weft"), fb);
    cr_assert_eq(cli("gen --fb %s/fb.weft --shape wfcommons --shapes %s/sra.json --ports 4 "
                     "--jobs 2 -o %s/sra.json", cli_dir, cli_dir, cli_dir), 2);
    cr_assert(strstr(cli_file("err"), "sra.json' is the --shapes file '"), "%s",
              cli_file("err"));
    cr_assert_str_eq(cli_file("sra.json"), sra);
    cr_assert_eq(cli("gen --fb %s/fb.weft --shape wfcommons --shapes %s/sra.json --ports 4 "
                     "--jobs 2 -o %s/g.weft", cli_dir, cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
}

/* Integers are decimal digits alone. strtoull took " -1" (a blank before
 * the sign) as 2^64 - 1, and --seed, read in base 0, 010 as 8 and 0x10 as
 * 16, while --jobs read 010 as 10. Numbers are taken up to their bounds,
 * strict or not, and no further. */
Test(gen_cli, integers_are_decimal_digits_alone)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs ' -1' --ports 4"), 2);
    cr_assert(strstr(cli_file("err"), "--jobs ' -1': expected an integer"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed ' -1'"), 2);
    cr_assert(strstr(cli_file("err"), "--seed ' -1': expected an integer 0..") &&
                  strstr(cli_file("err"), "in decimal"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 0x10"), 2);
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed ''"), 2);
    /* the largest seed is taken, one more is refused with the range */
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 18446744073709551615 -o %s/max.weft",
                     cli_dir), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 18446744073709551616"), 2);
    cr_assert(strstr(cli_file("err"), "expected an integer 0..18446744073709551615"), "%s",
              cli_file("err"));
    /* a number option's bound: --load and --weight-min must be above 0, --compute-mean
       and --max-coflow-bytes may be 0 */
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --load 0"), 2);
    cr_assert(strstr(cli_file("err"), "--load '0': expected a number > 0"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --weight-min 0"), 2);
    cr_assert(strstr(cli_file("err"), "--weight-min '0': expected a number > 0"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --compute-mean 0 --max-coflow-bytes 0 -o %s/c0.weft",
                     cli_dir), 0, "%s", cli_file("err"));
    /* a usage error with its range, not an error of the generator (status 1) */
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --max-width 100000"), 2);
    cr_assert(strstr(cli_file("err"), "--max-width '100000': expected an integer 1..10000"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("sim - --policy fifo --seed 0x10 < /dev/null"), 2);
    cr_assert(strstr(cli_file("err"), "--seed '0x10'"), "%s", cli_file("err"));
    /* 010 is ten: the same workload as --seed 10 */
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 010 -o %s/a.weft", cli_dir), 0);
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 10 -o %s/b.weft", cli_dir), 0);
    cr_assert_str_eq(cli_file("a.weft"), cli_file("b.weft"));
}

/* --shapes - reads the shapes from standard input, as every workload
 * argument takes "-" (it opened a file named "-"). */
Test(gen_cli, shapes_from_standard_input)
{
    NEED_BIN();
    const char *gen = "gen --shape alibaba --jobs 3 --ports 8 --seed 1";
    cr_assert_eq(cli("%s --shapes - -o %s/a.weft < data/alibaba/sample_tasks.csv", gen, cli_dir),
                 0, "%s", cli_file("err"));
    cr_assert_eq(cli("%s --shapes data/alibaba/sample_tasks.csv -o %s/b.weft", gen, cli_dir), 0);
    cr_assert_str_eq(cli_file("a.weft"), cli_file("b.weft"));
    /* shape files for random shapes, which take none, are a slip */
    cr_assert_eq(cli("gen --jobs 3 --shapes %s", WF_SRA), 2);
    cr_assert(strstr(cli_file("err"), "but --shape is random"), "%s", cli_file("err"));
}

/* What a command prints is only written once flushed: a report to a full
 * disk ends in status 1 naming standard output, not 0 with the report lost
 * (as it did for inspect, sim, model, eval and version). */
Test(gen_cli, a_report_that_cannot_be_written_is_an_error)
{
    NEED_BIN();
    const char *cmds[] = {"version", "inspect " WF_SRA, "sim " WF_SRA " --policy fifo"};
    for (int i = 0; i < 3; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s %s >/dev/full 2>%s/err", cli_bin, cmds[i], cli_dir);
        int st = system(cmd);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "weft %s: status %#x", cmds[i], st);
        cr_assert(strstr(cli_file("err"), "writing standard output: No space left on device"),
                  "weft %s: %s", cmds[i], cli_file("err"));
    }
    cr_assert_eq(cli("version"), 0, "%s", cli_file("err"));
    /* convert and gen name their failed write once, not a second time as
       standard output's */
    const char *writers[] = {"convert " WF_SRA, "gen --shape alibaba --jobs 2 --ports 4"};
    for (int i = 0; i < 2; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s %s >/dev/full 2>%s/err", cli_bin, writers[i], cli_dir);
        int st = system(cmd);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "weft %s: status %#x", writers[i], st);
        const char *err = cli_file("err");
        cr_assert(strstr(err, "writing the workload failed: No space left on device"),
                  "weft %s: %s", writers[i], err);
        cr_assert_null(strstr(err, "writing standard output"), "weft %s: %s", writers[i], err);
    }
}

/* -o writes a new FILE.tmp-XXXXXX and renames it: a write that fails
 * (past the file size limit, as on a full disk) leaves the old FILE whole
 * and no temporary file, and says why; -o into a missing directory names
 * the file. */
Test(gen_cli, output_replaced_only_when_written)
{
    NEED_BIN();
    cli_write("w.weft", "old\n");
    cli_file_blocks = 1; /* 512 bytes: less than either workload */
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/w.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "w.weft") && strstr(cli_file("err"), "File too large"),
              "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("w.weft"), "old\n");
    cr_assert(!cli_temp_left("w.weft"), "temporary file left behind");

    cr_assert_eq(cli("convert %s -f fb -o %s/w.weft", FB_PATH, cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "File too large"), "%s", cli_file("err"));
    cli_file_blocks = 0;
    cr_assert_str_eq(cli_file("w.weft"), "old\n");
    cr_assert(!cli_temp_left("w.weft"), "temporary file left behind");

    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/nodir/w.weft", cli_dir), 1);
    cr_assert(strstr(cli_file("err"), "nodir/w.weft") &&
                  strstr(cli_file("err"), "No such file or directory"),
              "%s", cli_file("err"));

    /* and a good write replaces it */
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/w.weft", cli_dir), 0);
    cr_assert(!strncmp(cli_file("w.weft"), "weft-workload 1\n", 16));
    cr_assert(!cli_temp_left("w.weft"));
}

/* cli_dir/NAME, in one of two buffers. */
static const char *in_dir(const char *name)
{
    static char bufs[2][256];
    static int which;
    char *p = bufs[which ^= 1];
    snprintf(p, sizeof bufs[0], "%s/%s", cli_dir, name);
    return p;
}

/* An -o naming a directory (or a link to one) is refused before the work:
 * it passed the early check, so gen made all 5,000 jobs (22 s) and convert
 * read all of its input before failing to open it. Here the work would
 * fail (a missing pool or input): the message is the directory's. */
Test(gen_cli, an_output_that_is_a_directory_stops_before_the_work)
{
    NEED_BIN();
    cr_assert_eq(mkdir(in_dir("d"), 0700), 0);
    cr_assert_eq(symlink("d", in_dir("dl")), 0);
    const char *outs[] = {"d", "dl", "d/"};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
        cr_assert_eq(cli("gen --jobs 3 --fb %s/none.txt -o %s/%s", cli_dir, cli_dir, outs[i]),
                     1);
        cr_assert(strstr(cli_file("err"), outs[i]) &&
                      strstr(cli_file("err"), ": cannot write: Is a directory"),
                  "-o %s: %s", outs[i], cli_file("err"));
        cr_assert_eq(cli("convert %s/none.txt -o %s/%s", cli_dir, cli_dir, outs[i]), 1);
        cr_assert(strstr(cli_file("err"), ": cannot write: Is a directory"), "-o %s: %s",
                  outs[i], cli_file("err"));
    }
    struct stat sb;
    cr_assert(lstat(in_dir("dl"), &sb) == 0 && S_ISLNK(sb.st_mode));
    cr_assert(!cli_temp_left("d") && !cli_temp_left("d/"));
}

/* -o '' is a usage error (as sim --out '' is), before any work: it used
 * to write the whole output into ".tmp" in the current directory (a file
 * of that name there was overwritten, then removed) and fail after the
 * work with "cannot rename .tmp over : No such file or directory". */
Test(gen_cli, an_empty_output_name_is_a_usage_error)
{
    NEED_BIN();
    cr_assert_eq(chdir(cli_dir), 0); /* where a ".tmp" would be written */
    cli_write(".tmp", "mine\n");
    cli_write("in.weft", "weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 5\n"
                         "end 1\n");
    cr_assert_eq(cli("convert in.weft -o ''"), 2, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "weft convert: --output '': expected a file name"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("gen --jobs 2 --ports 4 --seed 1 -o ''"), 2, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "weft gen: --output '': expected a file name"), "%s",
              cli_file("err"));
    cr_assert_str_eq(cli_file(".tmp"), "mine\n");
}

/* -o FIFO writes into the FIFO (a reader in another process gets every
 * byte of what -o FILE writes) and leaves it a FIFO: a FILE.tmp renamed
 * over it used to replace the FIFO, and its reader got nothing. */
Test(gen_cli, output_written_through_a_fifo)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/ref.weft", cli_dir), 0);
    const char *fifo = in_dir("f");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "%s", strerror(errno));
    pid_t reader = fork_tied(SIGKILL); /* it may wait on the FIFO for ever */
    cr_assert_neq(reader, -1);
    if (reader == 0) { /* copies what it reads from the FIFO into `got` */
        int in = open(fifo, O_RDONLY), out = creat(in_dir("got"), 0600);
        char buf[4096];
        ssize_t n = -1;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                break;
        _exit(n == 0 ? 0 : 1);
    }
    int rc = cli("gen --jobs 4 --ports 8 --seed 3 -o %s", fifo);
    struct stat sb;
    bool still_fifo = lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode);
    if (still_fifo) { /* a reader still waiting for a writer gets its end of file */
        int w = open(fifo, O_WRONLY | O_NONBLOCK);
        if (w >= 0)
            close(w);
    } else {
        kill(reader, SIGKILL); /* waiting on a FIFO no one can open any more */
    }
    int st;
    cr_assert_eq(waitpid(reader, &st, 0), reader);
    cr_assert_eq(rc, 0, "%s", cli_file("err"));
    cr_assert(still_fifo, "the FIFO was replaced by a regular file");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader failed");
    cr_assert(!strncmp(cli_file("ref.weft"), "weft-workload 1\n", 16));
    cr_assert_str_eq(cli_file("got"), cli_file("ref.weft"));
    cr_assert(!cli_temp_left("f"), "temporary file left behind");
}

/* -o LINK writes the file the link leads to, atomically (through its
 * TARGET.tmp), and leaves the link a link; a link to a file that does not
 * exist yet makes that file. */
Test(gen_cli, output_through_a_symlink_reaches_its_target)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/ref.weft", cli_dir), 0);
    cr_assert_eq(mkdir(in_dir("sub"), 0700), 0);
    cli_write("sub/target.weft", "old\n");
    cr_assert_eq(symlink("sub/target.weft", in_dir("out.weft")), 0); /* relative */
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/out.weft", cli_dir), 0, "%s",
                 cli_file("err"));
    struct stat sb;
    cr_assert(lstat(in_dir("out.weft"), &sb) == 0 && S_ISLNK(sb.st_mode),
              "the link was replaced");
    cr_assert_str_eq(cli_file("sub/target.weft"), cli_file("ref.weft"));
    cr_assert(!cli_temp_left("out.weft") && !cli_temp_left("sub/target.weft"),
              "temporary file left behind");

    /* a link to nothing yet, through a second link */
    cr_assert_eq(symlink("sub/new.weft", in_dir("dangling")), 0);
    cr_assert_eq(symlink("dangling", in_dir("twice")), 0);
    cr_assert_eq(cli("convert %s/ref.weft -o %s/twice", cli_dir, cli_dir), 0, "%s",
                 cli_file("err"));
    cr_assert(lstat(in_dir("twice"), &sb) == 0 && S_ISLNK(sb.st_mode), "the link was replaced");
    cr_assert(lstat(in_dir("dangling"), &sb) == 0 && S_ISLNK(sb.st_mode),
              "the link was replaced");
    cr_assert_str_eq(cli_file("sub/new.weft"), cli_file("ref.weft"));
}

/* -o naming an open descriptor (/dev/fd/N, /dev/stdout) writes into it, so
 * a ">>" redirection appends: following its link to the file and
 * replacing that would lose what the file held. */
Test(gen_cli, output_to_a_named_descriptor_keeps_its_redirection)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/ref.weft", cli_dir), 0);
    char want[1 << 16];
    snprintf(want, sizeof want, "kept\n%s", cli_file("ref.weft"));
    cli_write("app.weft", "kept\n");
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o /dev/fd/9 9>>%s/app.weft", cli_dir), 0,
                 "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("app.weft"), want);
    cli_write("out", "");
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o /dev/stdout"), 0, "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("out"), cli_file("ref.weft"));
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o /dev/fd/9"), 1); /* not open */
    cr_assert(strstr(cli_file("err"), "/dev/fd/9: cannot write: Bad file descriptor"), "%s",
              cli_file("err"));
    /* closed: weft holds fd 1 on /dev/null, read-only, so that no file takes it */
    char closed[1024];
    snprintf(closed, sizeof closed, "%s gen --jobs 4 --ports 8 --seed 3 -o /dev/stdout 2>%s/err "
             ">&-", cli_bin, cli_dir);
    int st = system(closed);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);
    cr_assert(strstr(cli_file("err"), "/dev/stdout: cannot write: Bad file descriptor"), "%s",
              cli_file("err"));
}

/* -o - is standard output, as an INPUT of - is standard input (it wrote a
 * file named "-" in the current directory). */
Test(gen_cli, output_dash_is_standard_output)
{
    NEED_BIN();
#define GEN_10G "gen --jobs 4 --ports 8 --seed 3 --port-rate 10Gbps --load 0.5"
    cr_assert_eq(cli(GEN_10G " -o %s/ref.weft", cli_dir), 0);
    char wrote[128]; /* the summary, on stderr, comes with a file only */
    snprintf(wrote, sizeof wrote, "weft gen: wrote %s/ref.weft\n  jobs ", cli_dir);
    cr_assert(!strncmp(cli_file("err"), wrote, strlen(wrote)), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "offered load             0.5000   bytes / (span x 8 ports "
                                      "x 10 Gbit/s)\n"), "%s", cli_file("err"));
    const char *cmds[] = {GEN_10G " -o -", "convert %s/ref.weft -o -"};
#undef GEN_10G
    for (int i = 0; i < 2; i++) {
        unlink("-");
        cr_assert_eq(cli(cmds[i], cli_dir), 0, "%s: %s", cmds[i], cli_file("err"));
        cr_assert_str_eq(cli_file("err"), "", "%s", cmds[i]);
        bool file = access("-", F_OK) == 0;
        unlink("-");
        cr_assert(!file, "%s wrote a file named -", cmds[i]);
        cr_assert_str_eq(cli_file("out"), cli_file("ref.weft"), "%s", cmds[i]);
    }
}

/* -o DEVICE writes through the device and leaves it one. Not /dev/null
 * itself (a regression would replace it for the whole machine): a node of
 * the same device in the test's directory, where root may make one. */
Test(gen_cli, output_to_a_character_device_keeps_the_device)
{
    NEED_BIN();
    const char *null = in_dir("null");
    if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        fprintf(stderr, "note: mknod %s: %s: -o into a device not checked\n", null,
                strerror(errno));
        return;
    }
    cr_assert_eq(cli("convert %s -f fb -o %s", FB_PATH, null), 0, "%s", cli_file("err"));
    struct stat sb;
    cr_assert(lstat(null, &sb) == 0 && S_ISCHR(sb.st_mode),
              "the character device was replaced by a regular file");
    cr_assert(!cli_temp_left("null"), "temporary file left behind");
}

/* Each of gen's options reaches the generator: what `weft gen` prints is,
 * byte for byte, what workload_generate makes with that option set (3 jobs
 * of the hand pool on 8 ports, seed 5; the shapes read as gen reads them,
 * Alibaba's independent tasks left out). */
static void gen_option(workload_gen_opts_t *o, int which)
{
    workload_read_opts_t ro;
    workload_read_opts_default(&ro);
    ro.alibaba_keep_independent = false;
    const char *wf[] = {WF_BLAST, WF_SRA};
    char ali[128];
    coflow_workload_t one;
    switch (which) {
    case 0:
        o->exact_load = false, o->compute_mean_s = 0.5, o->max_coflow_bytes = 2.5e7;
        o->port_rate = 1.25e9, o->load = 0.5, o->max_depth = 2, o->max_width = 3;
        break;
    case 1: o->weights = WORKLOAD_WEIGHT_ONE, o->n_ports = 1; break;
    case 2:
        o->weights = WORKLOAD_WEIGHT_PARETO;
        o->weight_min = o->weight_max = 2;
        break;
    case 3:
        o->shape = WORKLOAD_SHAPE_ALIBABA, o->keep_shape_compute = false;
        snprintf(ali, sizeof ali, "%s/ali.csv", cli_dir);
        cr_assert_eq(workload_read(&shapes, ali, WORKLOAD_FORMAT_ALIBABA, &ro), WEFT_OK, "%s",
                     weft_last_error());
        o->shapes = &shapes;
        break;
    default:
        o->shape = WORKLOAD_SHAPE_WFCOMMONS;
        coflow_workload_init(&shapes, 1);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(workload_read(&one, wf[i], WORKLOAD_FORMAT_WFCOMMONS, &ro), WEFT_OK);
            cr_assert_eq(workload_append(&shapes, &one), WEFT_OK, "%s", weft_last_error());
            coflow_workload_destroy(&one);
        }
        o->shapes = &shapes;
    }
}

static void gen_cli_teardown(void)
{
    teardown();
    cli_teardown();
}

Test(gen_cli, each_option_reaches_the_generator, .fini = gen_cli_teardown)
{
    NEED_BIN();
    static const char *const args[] = {
        "--free-span --compute-mean 0.5 --max-coflow-bytes 2.5e7 --port-rate 10Gbps --load 0.5 "
        "--max-depth 2 --max-width 3",
        "--weights one --ports 1", "--weights pareto --weight-min 2 --weight-max 2",
        "--shape alibaba --shapes %s/ali.csv --no-shape-compute",
        "--shape wfcommons --shapes " WF_BLAST " --shapes " WF_SRA};
    build_pool(&pool);
    char fb[128];
    snprintf(fb, sizeof fb, "%s/pool.weft", cli_dir);
    cr_assert_eq(workload_save_weft(&pool, fb), WEFT_OK, "%s", weft_last_error());
    /* a job of three tasks, one of them independent, and one of an
       independent task alone: one shape, which is enough */
    cli_write("ali.csv", "0,j_1,M1,2,,,3\n0,j_1,R2_1,1,,,4\n0,j_1,task_x,1,,,5\n"
                         "1,j_2,task_y,1,,,6\n");
    for (int k = 0; k < (int)(sizeof args / sizeof *args); k++) {
        char arg[256];
        snprintf(arg, sizeof arg, args[k], cli_dir);
        cr_assert_eq(cli("gen --fb %s --jobs 3 --ports 8 --seed 5 %s", fb, arg), 0, "%s: %s",
                     arg, cli_file("err"));
        workload_gen_opts_t o = pool_opts();
        o.n_ports = 8, o.n_jobs = 3, o.seed = 5;
        gen_option(&o, k);
        cr_assert_eq(workload_generate(&out, &o), WEFT_OK, "%s", weft_last_error());
        size_t len;
        char *want = to_text(&out, &len);
        cr_assert_str_eq(cli_file("out"), want, "%s", arg);
        free(want);
        coflow_workload_destroy(&out);
        coflow_workload_destroy(&shapes);
        memset(&out, 0, sizeof out);
        memset(&shapes, 0, sizeof shapes);
    }
}

/* Converting a weft workload prints no notes: the reader's report starts
 * zeroed whatever the format (it held stack garbage for all but FB). */
Test(gen_cli, convert_weft_prints_no_made_up_notes)
{
    NEED_BIN();
    cr_assert_eq(cli("gen --jobs 4 --ports 8 --seed 3 -o %s/small.weft", cli_dir), 0);
    cr_assert_eq(cli("convert %s/small.weft -o %s/x.weft", cli_dir, cli_dir), 0,
                 "%s", cli_file("err"));
    cr_assert_null(strstr(cli_file("err"), "note:"), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "4 jobs"), "%s", cli_file("err"));
}

/* The default FB trace (and shapes) are found next to the program or in
 * the source tree, as the shipped model is, not only from the current
 * directory. */
Test(gen_cli, default_trace_found_outside_the_source_tree)
{
    NEED_BIN();
    char bin[4096];
    cr_assert_not_null(realpath(cli_bin, bin));
    char cmd[3 * sizeof bin];
    snprintf(cmd, sizeof cmd, "cd %s && %s gen --jobs 2 --ports 8 >out 2>err", cli_dir, bin);
    cr_assert_eq(system(cmd), 0, "%s", cli_file("err"));
    cr_assert(!strncmp(cli_file("out"), "weft-workload 1\n", 16), "%s", cli_file("err"));
    snprintf(cmd, sizeof cmd,
             "cd %s && %s gen --shape alibaba --jobs 2 --ports 8 >out 2>err && "
             "%s gen --shape wfcommons --jobs 2 --ports 8 >out 2>err",
             cli_dir, bin, bin);
    cr_assert_eq(system(cmd), 0, "%s", cli_file("err"));
}

/* A report longer than standard output's buffer (train's --help, 5 kB)
 * whose first part failed to reach a full disk is an error as well, though
 * the flush at the end had nothing left to write (only the stream's error
 * flag said it). */
Test(gen_cli, a_report_whose_first_part_was_lost_is_an_error)
{
    NEED_BIN();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s train --help >/dev/full 2>%s/err", cli_bin, cli_dir);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);
    cr_assert(strstr(cli_file("err"), "weft train: writing standard output: "), "%s",
              cli_file("err"));
}
