/*
 * dag.h - job DAGs of coflows on igraph: validation (cycles), topological
 * waves, children and descendants, isolation times and critical paths.
 *
 * Vertex i of a job's graph is the job's i-th coflow (global index
 * job.first_coflow + i); an edge goes from a parent to its child.
 */
#ifndef DAG_H
#define DAG_H

#include <igraph.h>

#include "../coflow/coflow.h"

/* Builds job j's coflow DAG into *g (uninitialised on entry; the caller
 * igraph_destroy()s it on success). O(coflows + edges of the job). The
 * other dag_* functions may be called from any thread (their igraph calls
 * take a lock); what the caller does with g is its own: Debian 12's igraph
 * must not run on two threads at once. */
weft_err_t dag_job_graph(const coflow_workload_t *wl, size_t j, igraph_t *g);

/* Writes job j's coflows as global indices in a topological order (parents
 * first, ties by index) into order[0..n_coflows). Fails with ECYCLE naming
 * the job and the coflows of one cycle. */
weft_err_t dag_topo_order(const coflow_workload_t *wl, size_t j, size_t *order);

/* Names vertex v (of the graph given to dag_cycle_text) into out. */
typedef void (*dag_name_fn)(const void *ctx, size_t v, char *out, size_t size);

/* Writes one cycle of a graph of n vertices into buf, for an error message:
 * "a -> b -> c -> a", in edge order (parent first) from its lowest vertex,
 * each vertex named by name(ctx, v, ...); past 8 vertices, "-> ... and 58
 * more -> a". next[v] is, for each vertex a topological sort left out, one
 * parent of v it left out too (there is one, or v would have been sorted),
 * and SIZE_MAX for the others; walking next from a vertex left out must
 * come back to one already walked. work is [n] scratch. A buf too small
 * for the whole text keeps whole names and arrows and ends in "..." (as
 * much of it as fits in a buf under 4), never half a name. Returns the length
 * of the cycle, or 0 (buf "") if next holds none. O(n). */
size_t dag_cycle_text(size_t n, const size_t *next, size_t *work, dag_name_fn name,
                      const void *ctx, char *buf, size_t size);

/* Checks every job for cycles and fills the derived fields of every coflow
 * (wave, n_children, n_descendants, iso_s, cp_below_s) and job (depth,
 * lower_bound_s) for fabric fab. Stops at the first bad job with ECYCLE.
 * O(flows + coflows + edges) plus the descendant counts' searches: about
 * linear on chains, trees and series-parallel DAGs, where the search below a
 * coflow stops at the coflows that dominate all theirs; at worst (many
 * coflows whose descendants are also reached from elsewhere)
 * O(sum over jobs of coflows * (coflows + edges)). No recursion, so a job
 * may be a chain of any length. */
weft_err_t dag_analyze(coflow_workload_t *wl, const coflow_fabric_t *fab);

/* iso time of coflow c on fab: max over ports of bytes through it over the
 * port's capacity. scratch_out/scratch_in are zeroed [n_ports] arrays that are
 * zero again on return. O(flows of c). */
double dag_coflow_iso(const coflow_workload_t *wl, const coflow_fabric_t *fab, size_t c,
                      double *scratch_out, double *scratch_in);

/* The mean of the jobs' lower bounds weighted by weight: sum w*LB / n_jobs,
 * the denominator of "slowdown vs bound". Needs dag_analyze(). */
double dag_weighted_bound(const coflow_workload_t *wl);

/* A lower bound on the average weighted JCT (sum of weight * JCT over the
 * jobs / n_jobs, as netsim reports it) of every schedule of the workload on
 * fab, from a linear program over the coflows' completion times (GLPK):
 * release times and DAG order with isolation and compute times (the
 * critical-path bound dag_weighted_bound() is its first round's value at
 * most), each job's own work on each port, and for each side of each port,
 * Queyranne's parallel inequalities shifted by release, which count the
 * contention of all the coflows that share the port, added as cuts round by
 * round (lpbound.c). Needs dag_analyze(). */

typedef struct {
    double avg_weighted_jct;  /* the bound, seconds */
    double scaled_avg_weighted_jct; /* the same over the weights scaled by
                                       coflow_workload_weight_exp: the one
                                       to divide a scaled average by */
    double avg_weighted_path; /* the first round's: DAG order, release and
                                 isolation times, and each job's own work on
                                 each port (each job as if alone) */
    size_t n_rounds, n_cuts;
    bool converged;           /* the last round found no violated cut, or
                                 three rounds of cuts, each within the
                                 simplex's tolerance, no longer raised it
                                 (else a plateau, the round limit, 200, or
                                 the solver stopped it: still a bound) */
    bool plateau;             /* dag_lp_plateau_rounds rounds of real cuts
                                 in a row left the bound where it was: the
                                 cuts stopped there, not converged (still a
                                 bound, perhaps below the LP's optimum) */
    bool solver_stopped;      /* GLPK's simplex found no optimum of a round
                                 after the first, even scaled: the bound is
                                 the round before's (lpbound.c, solve) */
    double seconds;           /* wall time */
} dag_lp_bound_t;

/* Fails (EINVAL) on a workload without jobs, a fabric smaller than the
 * workload, or a workload not analysed, and when GLPK's simplex finds no
 * optimum of the first round's LP (sizes spanning too many orders of
 * magnitude). */
weft_err_t dag_lp_bound(const coflow_workload_t *wl, const coflow_fabric_t *fab,
                        dag_lp_bound_t *out);

/* Rounds without a gain, each adding only cuts within the simplex's
 * tolerance, after which dag_lp_bound() calls its cuts converged
 * (default 3; at most 16). 0 turns that stop off, so only a
 * round without a violated cut, or the round limit, ends the cuts: for
 * tests, which compare the two. */
extern size_t dag_lp_stall_rounds;
/* Rounds in a row without a gain, whatever their cuts, after which
 * dag_lp_bound() stops with the bound it has and says so (plateau):
 * real cuts may leave the bound flat for a few rounds and then raise it,
 * but a long plateau ran to the round limit (default 20; 0: no such
 * stop). */
extern size_t dag_lp_plateau_rounds;
/* The largest violation, relative to 1 + the cut's bound, of a round's cuts
 * for that round to count towards a stall (1e-6: within the simplex's
 * tolerance; a test sets 1 to make every round count). */
extern double dag_lp_stall_violation;
/* Simplex iterations a round may take per row and column of its LP (50;
 * a test sets 0 to see the fallbacks when GLPK finds no optimum). */
extern int dag_lp_iterations_per_row;

/* GLPK keeps an environment per thread (thread-local storage): a thread
 * that called dag_lp_bound() calls this before it ends, or that memory is
 * lost. Harmless where GLPK was never used. */
void dag_lp_thread_done(void);

#endif
