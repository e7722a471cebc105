/*
 * workload.h - reading, writing, generating and summarising workloads.
 *
 * Readers fill an uninitialised coflow_workload_t and either succeed with
 * the whole file or fail with a detail "file:line: what was expected, what
 * was found" (weft_last_error()) and leave *wl empty: a truncated file is an
 * error, never a shorter workload. Every reader finishes with dag_analyze()
 * on a default fabric of wl->n_ports 1 Gbit/s ports, so derived fields are
 * filled and cycles are reported.
 */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <stdio.h>

#include "../coflow/coflow.h"

typedef enum {
    WORKLOAD_FORMAT_AUTO = 0, /* guess from the first bytes / extension */
    WORKLOAD_FORMAT_WEFT,     /* weft's own text format, docs/workload-format.md */
    WORKLOAD_FORMAT_FB,       /* Facebook coflow benchmark */
    WORKLOAD_FORMAT_ALIBABA,  /* Alibaba cluster-trace-v2018 batch_task CSV */
    WORKLOAD_FORMAT_WFCOMMONS /* WfCommons WfFormat JSON */
} workload_format_t;

/* The largest fabric a workload file may declare (weft's `ports <n>`, the FB
 * header's <ports>). Every reader allocates O(n_ports) for the fabric and
 * dag_analyze()'s scratch, so without a cap a 14-byte header could ask for
 * 64 GB; 2^20 ports is far beyond any trace (FB has 150). */
#define WORKLOAD_MAX_PORTS ((size_t)1 << 20)

/* The largest flow, and the largest sum of a coflow's or a job's flows, a
 * workload file may give: 2^60 bytes (about 1.15e18, an exabyte). Beyond it
 * sums of sizes over a workload come near DBL_MAX and turn into inf; no
 * trace comes near (FB's whole hour is 3.7e13 bytes). */
#define WORKLOAD_MAX_BYTES 0x1p60
/* The latest arrival, and the longest compute time, a workload file may
 * give: 1e9 s (about 31.7 years). Near 1e9 a double still resolves 1.2e-7 s
 * (15 bytes at 1 Gbit/s), so finish - arrival keeps a job's duration; near
 * 1e15 it resolves 0.125 s and a small job's JCT rounds to 0. */
#define WORKLOAD_MAX_TIME_S 1e9

/* What a reader repaired or skipped in a trace it accepted; all zero for a
 * clean file. Only the foreign-trace readers repair (docs/workload-format.md);
 * weft's own format is strict and never does. With max_jobs, only the
 * Alibaba jobs read and the skipped ones ordered before the last of them
 * count. */
typedef struct {
    size_t alibaba_dropped_deps;     /* dependencies dropped: on a task absent
                                        from the job, on the task itself, or
                                        listed twice */
    size_t alibaba_cyclic_jobs;      /* jobs skipped: their dependencies cycle */
    size_t alibaba_duplicate_jobs;   /* jobs skipped: one task number twice */
    size_t alibaba_skipped_tasks;    /* independent tasks left out
                                        (alibaba_keep_independent false) */
    size_t alibaba_skipped_jobs;     /* jobs left with no task, so skipped */
    size_t wf_zero_byte_edges;       /* stage edges moving no bytes, kept as
                                        pure dependencies */
} workload_read_report_t;

/* Options for readers whose formats leave choices open. */
typedef struct {
    /* FB: bytes in one MB of the trace (default 1048576). */
    double fb_mb_bytes;
    /* Alibaba: keep independent tasks as one-coflow jobs (true) or skip them. */
    bool alibaba_keep_independent;
    /* Alibaba: bytes of a flow made from a task's instances when no sizes are
     * drawn from elsewhere (the shape reader's placeholder; default 1 MiB). */
    double alibaba_bytes_per_instance;
    /* Any format: keep the first this many jobs in the order read (0 =
     * all): Alibaba's by arrival, then id (its reader keeps them itself);
     * the others' as in the file (workload_read drops the rest), which the
     * FB trace's and weft gen's give by arrival. The file is read whole. */
    size_t max_jobs;
    /* WfCommons: number of ports tasks are placed on (default 16) and the
     * seed of the placement rule (see docs/workload-format.md). */
    size_t wf_ports;
    uint64_t wf_seed;
    /* Optional out (default NULL): zeroed, then filled by the reader. */
    workload_read_report_t *report;
    /* Optional (default NULL): called by workload_read with the format once
     * it is known (given, or guessed), before the input is parsed; an error
     * it returns ends the read. A caller refuses there options the format
     * does not read, before the work of reading it. */
    weft_err_t (*check_format)(workload_format_t fmt, void *arg);
    void *check_format_arg;
} workload_read_opts_t;

/* Defaults for every field above. */
void workload_read_opts_default(workload_read_opts_t *o);

/* Parses "auto", "weft", "fb", "alibaba", "wfcommons"; EINVAL otherwise. */
weft_err_t workload_format_parse(const char *s, workload_format_t *out);
const char *workload_format_name(workload_format_t f);

/* Reads path in the given format (AUTO guesses). opts may be NULL. "-" is
 * standard input (named "<stdin>" in messages); standard input, pipes and
 * FIFOs are read into memory once, so their format can be guessed too.
 * Numbers are read as the C locale writes them ("1.5") whatever locale
 * the program set (weft_c_numbers_begin). */
weft_err_t workload_read(coflow_workload_t *wl, const char *path, workload_format_t fmt,
                         const workload_read_opts_t *opts);

/* How messages and summaries name the input path: "<stdin>" for "-". */
const char *workload_input_name(const char *path);

/* Writes one line "PREFIXnote: ...\n" to out for each repair or skip rep
 * counts ("weft sim: note: skipped 2 jobs whose dependencies form a
 * cycle"), nothing for a clean read. prefix is e.g. "weft sim: ". */
void workload_read_report_print(const workload_read_report_t *rep, const char *prefix,
                                FILE *out);

/* WEFT_OK if wl has a job; else EINVAL "NAME: no jobs, expected at least
 * 1", NAME being workload_input_name(path), or, when rep (may be NULL)
 * counts jobs the reader skipped, "NAME: no jobs: all 3 jobs were skipped
 * (2 whose dependencies form a cycle, 1 that uses a task number twice)".
 * The readers accept a workload without jobs (an empty CSV, an FB header
 * announcing 0 coflows, weft's "end 0"): it round-trips, and shape files
 * pooled by `weft gen` may each hold none. The commands that simulate,
 * summarise or convert a workload call this, as an empty one is always a
 * mistake there. */
weft_err_t workload_require_jobs(const coflow_workload_t *wl, const char *path,
                                 const workload_read_report_t *rep);

/* The readers workload_read calls, for the fuzzers and tests: in the
 * calling thread's locale (a program that set one with a decimal comma
 * calls workload_read). */
weft_err_t workload_read_fb(coflow_workload_t *wl, const char *path,
                            const workload_read_opts_t *opts);
weft_err_t workload_read_alibaba(coflow_workload_t *wl, const char *path,
                                 const workload_read_opts_t *opts);
weft_err_t workload_read_wfcommons(coflow_workload_t *wl, const char *path,
                                   const workload_read_opts_t *opts);
weft_err_t workload_read_weft(coflow_workload_t *wl, const char *path);

/* Writes wl in weft's text format; reading it back gives the same workload
 * bit for bit (doubles printed with %.17g). A workload the reader would
 * refuse (a fabric outside 1..WORKLOAD_MAX_PORTS ports, a time beyond
 * WORKLOAD_MAX_TIME_S, sizes beyond WORKLOAD_MAX_BYTES, a job id twice:
 * the model allows them) is EINVAL naming the job, before anything is
 * written. EIO if writing fails. Numbers as the C locale writes them,
 * whatever locale the program set. */
weft_err_t workload_write_weft(const coflow_workload_t *wl, FILE *out);
/* workload_write_weft into the file path, as weft_save_file writes one: a
 * regular file is replaced whole or, on any failure, left as it was. */
weft_err_t workload_save_weft(const coflow_workload_t *wl, const char *path);

/* ---------------------------------------------------------- generator */

typedef enum {
    WORKLOAD_SHAPE_RANDOM = 0, /* random layered DAGs */
    WORKLOAD_SHAPE_ALIBABA,    /* DAG shapes of Alibaba jobs */
    WORKLOAD_SHAPE_WFCOMMONS   /* stage graphs of WfCommons workflows */
} workload_shape_t;

typedef enum {
    WORKLOAD_WEIGHT_UNIFORM_INT = 0, /* integers weight_min..weight_max uniform */
    WORKLOAD_WEIGHT_ONE,             /* every job weight 1 */
    WORKLOAD_WEIGHT_PARETO           /* weight_min * Pareto(x_m 1, alpha 2) (for
                                        weight_min 1: 1 + Lomax(2)), capped at
                                        weight_max; mean
                                        weight_min * (2 - weight_min / weight_max) */
} workload_weight_dist_t;

/* The most jobs workload_generate makes (each takes some KB of memory and
 * text; more is a typo, not a workload). */
#define WORKLOAD_GEN_MAX_JOBS ((size_t)1000000)

/* Beyond this a random DAG is no longer a plausible job, and depth * width
 * coflows a job would exhaust memory long before being useful. */
#define WORKLOAD_GEN_MAX_LAYERS 10000

typedef struct {
    uint64_t seed;
    size_t n_jobs;               /* jobs to generate, 1..WORKLOAD_GEN_MAX_JOBS */
    size_t n_ports;              /* fabric size, 1..WORKLOAD_MAX_PORTS; FB ports
                                    are remapped to it */
    double port_rate;            /* bytes/s per port, for the offered load */
    double load;                 /* target offered load, > 0 (usually <= 1):
                                    total bytes / (arrival span * n_ports *
                                    port_rate); one so small the arrivals
                                    pass 1e9 s, or so large their gaps round
                                    to 0, fails (EINVAL) */
    bool exact_load;             /* true (default): the Poisson gaps are scaled
                                    so the span gives exactly `load`; false:
                                    gaps exponential with mean total bytes /
                                    (load * n_ports * port_rate * n_jobs), so
                                    the realised load varies ~1/sqrt(n_jobs) */
    workload_shape_t shape;
    /* Shape sources (borrowed): DAGs whose structure is reused. For
     * ALIBABA and WFCOMMONS, shapes must be non-NULL. */
    const coflow_workload_t *shapes;
    const coflow_workload_t *fb;  /* coflow pool, borrowed, required */
    /* RANDOM shape: layers in [1, max_depth], coflows a layer in
     * [1, max_width] (each at most WORKLOAD_GEN_MAX_LAYERS), each coflow
     * below the first layer gets 1..2 parents from the layer above. */
    size_t max_depth, max_width;
    workload_weight_dist_t weights;
    double weight_min, weight_max;
    /* Compute times: if > 0, each coflow's compute_s is drawn exponential with
     * this mean (seconds); 0 = none, or the shape's own when it has them. */
    double compute_mean_s;
    bool keep_shape_compute;     /* use the shape's compute times if present */
    double max_coflow_bytes;     /* skip FB coflows larger than this (0 = no cap) */
    size_t max_flows;            /* the most flows it may make; 0 (default):
                                    what fits in a fraction of this machine's
                                    memory (WORKLOAD_GEN_BYTES_PER_FLOW) */
} workload_gen_opts_t;

/* With max_flows 0, the generator makes at most physical memory / this many
 * flows: a flow takes 16 bytes, the array doubling as it grows takes up to
 * three times that for a moment, and a user's next step (weft sim) takes
 * several times more; so a workload that fits leaves room for its run. */
#define WORKLOAD_GEN_BYTES_PER_FLOW 128

/* seed 1, 100 jobs, 150 ports of 1 Gbit/s, load 0.7 (exact), RANDOM shapes
 * up to 5 deep and 4 wide, integer weights 1..5, no compute times but the
 * shape's own, no size cap; shapes and fb NULL (the caller sets them). */
void workload_gen_opts_default(workload_gen_opts_t *o);

/* Generates a workload into uninitialised *wl. Same opts and seed give an
 * identical workload (and so byte-identical weft text). Jobs get ids
 * 0..n_jobs-1 in arrival order, the first arriving at 0. FB ports p are
 * mapped to p * n_ports / fb->n_ports (rounded down) when the sizes differ;
 * when that folds several flows of a coflow onto one (src, dst) pair they are
 * merged into one flow of their summed bytes. Fails (EINVAL) at once when
 * the flows expected (jobs x mean coflows a job x mean flows a pool
 * coflow) pass the flow budget (max_flows), and as soon as the flows made
 * do. On error *wl is left empty (initialised). O(flows generated, times
 * log of a coflow's flows when ports fold) plus dag_analyze(). */
weft_err_t workload_generate(coflow_workload_t *wl, const workload_gen_opts_t *opts);

/* Appends every job of src to dst (both finished, dst->n_ports raised to
 * src's if smaller), renumbering the appended jobs' ids to dst's job count
 * at the time each is added, so ids stay unique when dst's are 0..n-1.
 * Coflow ids, parents, flows and every derived field are kept as in src.
 * Used to pool shapes from several files. On error dst keeps what it had.
 * O(size of src). */
weft_err_t workload_append(coflow_workload_t *dst, const coflow_workload_t *src);

/* ---------------------------------------------------------- inspection */

typedef struct {
    size_t n_jobs, n_coflows, n_flows, n_edges;
    size_t n_ports_used;        /* ports that any flow touches */
    double total_bytes;
    double first_arrival_s, last_arrival_s;
    double offered_load;        /* total bytes / (arrival span * ports * rate);
                                   0 if the span is 0 */
    size_t max_depth;           /* deepest job DAG (waves) */
    size_t max_width;           /* widest wave of any job */
    size_t depth_hist[17];      /* jobs by depth 1..16, [16] = deeper */
    size_t width_hist[17];      /* jobs by widest wave 1..16, [16] = wider */
    double mean_weight;
    size_t n_ports;             /* the workload's fabric size */
    double port_rate;           /* bytes/s per port the load was computed for */
} workload_stats_t;

/* Summarises wl assuming every port runs at port_rate bytes/s. Depth and
 * width come from the coflows' waves, so wl must have been through
 * dag_analyze() (readers and the generator do it). Never fails. Allocates
 * only for a job deeper than 256 waves (a count per wave, freed before it
 * returns): O(flows + coflows); if that allocation fails, such a job's
 * waves are counted in passes of 256, O(its coflows * depth / 256). */
void workload_stats(const coflow_workload_t *wl, double port_rate, workload_stats_t *s);
/* Prints the stats as a readable report. */
void workload_stats_print(const workload_stats_t *s, FILE *out);

/* ---------------------------------------------------------- randomness */

/* A small seeded generator (splitmix64 seeding xoshiro256**), the same on
 * every platform, so generated workloads repeat exactly. */
typedef struct {
    uint64_t s[4];
} workload_rng_t;

void workload_rng_seed(workload_rng_t *r, uint64_t seed);
uint64_t workload_rng_next(workload_rng_t *r);
double workload_rng_uniform(workload_rng_t *r); /* in [0, 1) */
size_t workload_rng_below(workload_rng_t *r, size_t n); /* in [0, n) */
double workload_rng_exp(workload_rng_t *r, double mean);

#endif
