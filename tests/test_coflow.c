/*
 * test_coflow.c - every ordering and allocator of coflow/, one decision at
 * a time, on states built by hand.
 *
 * Orderings: exact orders on cases where the definitions disagree, so a
 * policy reading the wrong key (or the static size instead of the remaining
 * one, or ignoring weights, waiting coflows or ties) fails. Allocators:
 * exact rates on 3-6 port cases worked out in the comments, and the rated
 * list (exactly the flows given a rate). Invariants on random states for
 * every ordering x allocator: a permutation comes back, every open flow gets
 * a finite rate >= 0, no port exceeds its capacity, every open flow has a
 * saturated port (work conservation) and the scratch arrays are zero again.
 *
 * Every fabric here runs at 1 byte/s per port unless a test says otherwise;
 * flows are numbered in the order they are added.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coflow/coflow.h"
#include "dag/dag.h"

#define N_PORTS 6

static coflow_workload_t wl;
static coflow_fabric_t fab;
static coflow_state_t st;
static bool st_ready;

static void setup(void)
{
    coflow_workload_init(&wl, N_PORTS);
    cr_assert_eq(coflow_fabric_init(&fab, N_PORTS, 1.0), WEFT_OK);
    st_ready = false;
}

static void teardown(void)
{
    if (st_ready)
        coflow_state_destroy(&st);
    coflow_workload_destroy(&wl);
    coflow_fabric_destroy(&fab);
}

TestSuite(coflow_order, .init = setup, .fini = teardown, .timeout = 20);
TestSuite(coflow_alloc, .init = setup, .fini = teardown, .timeout = 20);
TestSuite(coflow_invariant, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(coflow_registry, .timeout = 10);

/* ------------------------------------------------------------- builders */

#define OK(expr) cr_assert_eq((expr), WEFT_OK, "%s: %s", #expr, weft_last_error())

static void job(int64_t id, double arrival, double weight)
{
    OK(coflow_workload_add_job(&wl, id, arrival, weight, 0));
}
static void cof(int64_t id, double compute) { OK(coflow_workload_add_coflow(&wl, id, compute)); }
static void flow(uint32_t s, uint32_t d, double bytes)
{
    OK(coflow_workload_add_flow(&wl, s, d, bytes));
}
static void parent(int64_t id) { OK(coflow_workload_add_parent(&wl, id)); }
static void end_job(void) { OK(coflow_workload_finish_job(&wl)); }

/* A job with one coflow; returns nothing, the coflow index is the number of
 * coflows added before it. */
static void single(int64_t id, double weight)
{
    job(id, 0, weight);
    cof(1, 0);
}

static void ready(void)
{
    OK(dag_analyze(&wl, &fab));
    OK(coflow_state_init(&st, &wl, &fab));
    st_ready = true;
}

static size_t coflow_of_flow(size_t f)
{
    for (size_t c = 0; c < wl.n_coflows; c++)
        if (f >= wl.coflows[c].first_flow && f < wl.coflows[c].first_flow + wl.coflows[c].n_flows)
            return c;
    cr_assert_fail("flow %zu has no coflow", f);
    return 0;
}

/* Says flow f has `left` bytes left (the rest counted as sent by its job). */
static void set_remaining(size_t f, double left)
{
    size_t c = coflow_of_flow(f);
    double sent = st.flow_remaining[f] - left;
    st.flow_remaining[f] = left;
    st.coflow_remaining[c] -= sent;
    st.job_sent[wl.coflows[c].job] += sent;
}

/* The ACTIVE coflows by (release time, index): what orderings receive. */
static size_t active_ids(size_t *ids)
{
    size_t n = 0;
    for (size_t c = 0; c < wl.n_coflows; c++) {
        if (st.status[c] != COFLOW_ACTIVE)
            continue;
        size_t i = n++;
        while (i > 0 && (st.release_s[ids[i - 1]] > st.release_s[c]))
            ids[i] = ids[i - 1], i--;
        ids[i] = c;
    }
    return n;
}

static void run_order(const char *name, size_t *ids, size_t n)
{
    const coflow_ordering_t *o = coflow_ordering_find(name);
    cr_assert_not_null(o, "ordering %s is not registered", name);
    void *ctx = NULL;
    if (o->create)
        OK(o->create(&ctx, &st));
    o->order(ctx, &st, ids, n);
    if (o->destroy)
        o->destroy(ctx);
}

static void fmt_ids(char *buf, size_t cap, const size_t *ids, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%zu", i ? " " : "", ids[i]);
}

/* Orders the active coflows with `name` and compares with want[0..n). */
static void expect_order(const char *name, const size_t *want, size_t n)
{
    size_t ids[64];
    size_t got = active_ids(ids);
    cr_assert_eq(got, n, "%s: %zu active coflows, expected %zu", name, got, n);
    run_order(name, ids, n);
    char g[256], w[256];
    fmt_ids(g, sizeof g, ids, n);
    fmt_ids(w, sizeof w, want, n);
    cr_assert_str_eq(g, w, "%s ordered [%s], expected [%s]", name, g, w);
}

/* Checks the allocator's list of rated flows (coflow.h contract): exactly
 * the flows with a nonzero rate, each once, each > 0 and finite. */
static void check_rated(const char *name)
{
    size_t positive = 0;
    for (size_t f = 0; f < wl.n_flows; f++) {
        double r = st.flow_rate[f];
        cr_assert(isfinite(r) && r >= 0, "%s gave flow %zu rate %g", name, f, r);
        positive += r != 0;
    }
    cr_assert_eq(st.n_rated, positive, "%s listed %zu flows as rated, %zu have a rate", name,
                 st.n_rated, positive);
    for (size_t i = 0; i < st.n_rated; i++) {
        cr_assert(st.flow_rate[st.rated[i]] > 0, "%s listed flow %zu with rate 0", name,
                  st.rated[i]);
        for (size_t k = 0; k < i; k++)
            cr_assert_neq(st.rated[k], st.rated[i], "%s listed flow %zu twice", name,
                          st.rated[i]);
    }
}

/* Allocates with `name` for order[0..n) from the state the driver promises
 * (every rate 0, nothing rated), then checks the rated list. */
static void run_alloc(const char *name, const size_t *order, size_t n)
{
    const coflow_allocator_t *a = coflow_allocator_find(name);
    cr_assert_not_null(a, "allocator %s is not registered", name);
    for (size_t f = 0; f < wl.n_flows; f++)
        st.flow_rate[f] = 0;
    st.n_rated = 0;
    a->allocate(&st, order, n);
    check_rated(name);
}

static void expect_rate(size_t f, double want)
{
    double r = st.flow_rate[f];
    cr_assert(fabs(r - want) <= 1e-9 * fmax(1, want), "flow %zu: rate %.12g, expected %.12g", f,
              r, want);
}

/* -------------------------------------------------- orderings disagree */

/*
 * Three single-coflow jobs on ports 0-3 (weights 1):
 *   X (coflow 0): 0->1 3, 0->2 3, 0->3 3   length 3, width 1, bytes 9, iso 9
 *   Y (coflow 1): 1->0 5                   length 5, width 1, bytes 5, iso 5
 *   Z (coflow 2): 2->1 4, 3->2 4           length 4, width 2, bytes 8, iso 4
 * released Z at 0, X at 1, Y at 2. Then
 *   fifo  Z X Y (release)         scf  X Z Y (length 3 < 4 < 5)
 *   ncf   X Y Z (width 1 = 1 < 2, the tie by release: X before Y)
 *   lcf   Y Z X (bytes 5 < 8 < 9)  sebf Z Y X (iso 4 < 5 < 9)
 *   aalo  Z X Y (nothing sent: one queue, FIFO)
 *   sincronia: port loads out0 9 (X), in1 3+4, in2 3+4, in3 3, out1 5,
 *     in0 5, out2 4, out3 4; the most loaded, out0, carries only X: X last;
 *     then out1/in0 (5) only Y: Y before it; Z first: Z Y X.
 *   wcp, jsebf: one coflow per job, so job path = job work = remaining iso:
 *     Z Y X.
 */
static void build_xyz(void)
{
    single(10, 1);
    flow(0, 1, 3);
    flow(0, 2, 3);
    flow(0, 3, 3);
    end_job();
    single(11, 1);
    flow(1, 0, 5);
    end_job();
    single(12, 1);
    flow(2, 1, 4);
    flow(3, 2, 4);
    end_job();
    ready();
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 0, 1);
    coflow_state_release(&st, 1, 2);
    st.now = 2;
}

Test(coflow_order, keys_disagree)
{
    build_xyz();
    expect_order("fifo", (size_t[]){2, 0, 1}, 3);
    expect_order("scf", (size_t[]){0, 2, 1}, 3);
    expect_order("ncf", (size_t[]){0, 1, 2}, 3);
    expect_order("lcf", (size_t[]){1, 2, 0}, 3);
    expect_order("sebf", (size_t[]){2, 1, 0}, 3);
    expect_order("aalo", (size_t[]){2, 0, 1}, 3);
    expect_order("sincronia", (size_t[]){2, 1, 0}, 3);
    expect_order("wcp", (size_t[]){2, 1, 0}, 3);
    expect_order("jsebf", (size_t[]){2, 1, 0}, 3);
}

/* Y has sent all but 1 byte: its remaining iso is 1, so SEBF (and the
 * remaining-size policies) move it first, while SCF/NCF/LCF keep using the
 * coflows' sizes as given (Varys' definitions): unchanged. */
Test(coflow_order, sebf_reads_remaining_scf_reads_size)
{
    build_xyz();
    set_remaining(3, 1);
    expect_order("sebf", (size_t[]){1, 2, 0}, 3);
    expect_order("wcp", (size_t[]){1, 2, 0}, 3);
    expect_order("jsebf", (size_t[]){1, 2, 0}, 3);
    expect_order("scf", (size_t[]){0, 2, 1}, 3);
    expect_order("ncf", (size_t[]){0, 1, 2}, 3);
    expect_order("lcf", (size_t[]){1, 2, 0}, 3);
    /* X down to 1 byte per flow: iso 3 < Z's 4 */
    set_remaining(0, 1);
    set_remaining(1, 1);
    set_remaining(2, 1);
    expect_order("sebf", (size_t[]){1, 0, 2}, 3);
    expect_order("lcf", (size_t[]){1, 2, 0}, 3);
}

/* Releases coflows 0 and 1 at 0 s: their remaining bottleneck times must
 * be iso0 and iso1, and SEBF must order them as `want`. */
static void expect_two_isos(double iso0, double iso1, const size_t *want)
{
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), iso0);
    cr_assert_eq(coflow_state_remaining_iso(&st, 1), iso1);
    expect_order("sebf", want, 2);
}

/* A port's two sides have capacities of their own: A (coflow 0) sends 6
 * bytes 0->1, where port 0 sends at 3 bytes/s (receives at 1) and port 1
 * receives at 3 (sends at 1): 6/3 = 2 s each side, iso 2. B (coflow 1)
 * sends 4 bytes 2->3 at 1 byte/s: iso 4. SEBF puts A first; read with the
 * other side's capacities, A's ports would give 6/1 = 6 s and B would go
 * first. The fabric's capacities differ, so no shortcut of one capacity a
 * side applies. */
Test(coflow_order, remaining_iso_reads_each_sides_capacity)
{
    for (int64_t c = 0; c < 2; c++) {
        single(c, 1);
        flow(2 * (uint32_t)c, 2 * (uint32_t)c + 1, 6 - 2 * (double)c); /* 0->1 6, 2->3 4 */
        end_job();
    }
    fab.cap_out[0] = 3;
    fab.cap_in[1] = 3;
    expect_two_isos(2, 4, (size_t[]){0, 1});
    set_remaining(0, 3); /* half sent: 1 s left */
    coflow_state_bytes_changed(&st, 0);
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 1);
}

/* Every port sends at 2 bytes/s and receives at 1: one capacity a side,
 * each its own. A (coflow 0) sends 4 bytes 0->1: 4/2 = 2 s out, 4/1 = 4 s
 * in, iso 4. B (coflow 1) sends 1.5 bytes from port 2 to each of 3, 4, 5:
 * 4.5/2 = 2.25 s out, 1.5 s in, iso 2.25. SEBF puts B first; receivers
 * read at the send rate would give A 2 s and put it first. */
Test(coflow_order, remaining_iso_reads_one_capacity_a_side)
{
    single(0, 1);
    flow(0, 1, 4);
    end_job();
    single(1, 1);
    for (uint32_t d = 3; d <= 5; d++)
        flow(2, d, 1.5);
    end_job();
    for (size_t p = 0; p < N_PORTS; p++) {
        fab.cap_out[p] = 2;
        fab.cap_in[p] = 1;
    }
    expect_two_isos(4, 2.25, (size_t[]){1, 0});
}

/* Every port sends at 4 bytes/s; port 1 receives at 1, the others at 4.
 * A (coflow 0) sends 4 bytes 0->1: 1 s out, 4 s in, iso 4; B (coflow 1)
 * 8 bytes 2->3: iso 2. SEBF puts B first; receivers read at port 0's
 * rate, as if theirs were one as the senders' is, A would read 1 s. */
Test(coflow_order, remaining_iso_reads_each_receiver_under_one_send_rate)
{
    for (int64_t c = 0; c < 2; c++) {
        single(c, 1);
        flow(2 * (uint32_t)c, 2 * (uint32_t)c + 1, 4 + 4 * (double)c); /* 0->1 4, 2->3 8 */
        end_job();
    }
    for (size_t p = 0; p < N_PORTS; p++)
        fab.cap_out[p] = fab.cap_in[p] = 4;
    fab.cap_in[1] = 1;
    expect_two_isos(4, 2, (size_t[]){1, 0});
}

/* coflow_state_keep_iso: a coflow's remaining bottleneck time is
 * remembered until the driver says its bytes moved, or the state's own
 * functions change them (a finished flow). coflow_state_iso_stale finds a
 * change nobody announced, whether the stamps show it or only the bytes
 * do. X (coflow 0) sends 3 + 3 + 3 bytes from port 0: iso 9. */
Test(coflow_order, remembered_iso_lasts_until_the_coflow_moves)
{
    build_xyz();
    OK(coflow_state_keep_iso(&st));
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 9);
    cr_assert(!coflow_state_iso_stale(&st, 0));
    set_remaining(0, 1); /* 2 bytes sent, not announced */
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 9, "the remembered time");
    cr_assert(coflow_state_iso_stale(&st, 0), "the stamps moved");
    coflow_state_bytes_changed(&st, 0);
    cr_assert(!coflow_state_iso_stale(&st, 0), "nothing remembered, nothing stale");
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 7);
    double *out0 = &st.cport_bytes[st.cport_start[0]];
    *out0 = 5; /* the bytes alone, stamps current */
    cr_assert(coflow_state_iso_stale(&st, 0), "the bytes moved");
    coflow_state_bytes_changed(&st, 0);
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 5);
    set_remaining(1, 0);
    coflow_state_finish_flow(&st, 1); /* announces itself */
    cr_assert_eq(coflow_state_remaining_iso(&st, 0), 4, "1 + 3 bytes left from port 0");
    coflow_iso_memo_off = true;
    *out0 = 2;
    double off = coflow_state_remaining_iso(&st, 0);
    coflow_iso_memo_off = false;
    cr_assert_eq(off, 3, "switched off: from the bytes (port 3 receives 3)");
}

/* FIFO ties: coflow 0 (job 20, arrival 1, compute 1) and coflow 1 (job 21,
 * arrival 0, compute 2) are both released at 2; the job that arrived first
 * goes first although its coflow has the higher index. A third coflow
 * released at 1.5 comes before both. */
Test(coflow_order, fifo_ties_by_job_arrival)
{
    job(20, 1, 1);
    cof(1, 1);
    flow(0, 1, 1);
    end_job();
    job(21, 0, 1);
    cof(1, 2);
    flow(2, 3, 1);
    end_job();
    job(22, 0, 1);
    cof(1, 1.5);
    flow(4, 5, 1);
    end_job();
    ready();
    coflow_state_release(&st, 0, 2);
    coflow_state_release(&st, 1, 2);
    coflow_state_release(&st, 2, 1.5);
    expect_order("fifo", (size_t[]){2, 1, 0}, 3);
}

/* NCF counts the smaller of senders and receivers: coflow 0 has 1 sender
 * and 3 receivers (width 1), coflow 1 has 2 senders, 2 receivers (width 2),
 * coflow 2 has 3 senders and 2 receivers (width 2), released 2, 1, 0 ... */
Test(coflow_order, ncf_min_of_senders_receivers)
{
    single(1, 1);
    flow(0, 1, 1);
    flow(0, 2, 1);
    flow(0, 3, 1);
    end_job();
    single(2, 1);
    flow(1, 2, 1);
    flow(2, 3, 1);
    end_job();
    single(3, 1);
    flow(3, 4, 1);
    flow(4, 5, 1);
    flow(5, 5, 1);
    end_job();
    ready();
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 1, 1);
    coflow_state_release(&st, 0, 2);
    /* widths 1, 2, 2: coflow 0 first, then 2 (released 0) before 1 */
    expect_order("ncf", (size_t[]){0, 2, 1}, 3);
}

/* -------------------------------------------------------------- aalo */

#define MiB 1048576.0

/*
 * Three one-flow jobs released at 0, 1, 2 (coflows 0, 1, 2). Job 1 has sent
 * 20 MiB (queue 1: 10 MiB <= sent < 100 MiB), jobs 0 and 2 less than 10 MiB
 * (queue 0): order 0 2 1 (queue 0 FIFO, then queue 1).
 * next_change with rates 1, 10, 1 MiB/s and sent 0, 20, 5 MiB at now = 2:
 *   job 0 reaches 10 MiB at 2 + 10 = 12, job 1 100 MiB at 2 + 8 = 10,
 *   job 2 10 MiB at 2 + 5 = 7:  7.
 * Then job 2 crosses 10 MiB: queue 1, behind job 1 (released earlier).
 */
Test(coflow_order, aalo_queues_and_next_change)
{
    for (int j = 0; j < 3; j++) {
        single(j, 1);
        flow((uint32_t)j, (uint32_t)j + 3, 1000 * MiB);
        end_job();
    }
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, (double)c);
    st.now = 2;
    set_remaining(1, 1000 * MiB - 20 * MiB);
    set_remaining(2, 1000 * MiB - 5 * MiB);
    expect_order("aalo", (size_t[]){0, 2, 1}, 3);

    const coflow_ordering_t *o = coflow_ordering_find("aalo");
    cr_assert_not_null(o->next_change);
    cr_assert(!o->clairvoyant);
    void *ctx = NULL;
    if (o->create)
        OK(o->create(&ctx, &st));
    size_t ids[3];
    size_t n = active_ids(ids);
    o->order(ctx, &st, ids, n);
    st.flow_rate[0] = 1 * MiB;
    st.flow_rate[1] = 10 * MiB;
    st.flow_rate[2] = 1 * MiB;
    double t = o->next_change(ctx, &st);
    cr_assert(fabs(t - 7) < 1e-9, "next_change %.12g, expected 7", t);
    /* nothing moves: no change ever */
    st.flow_rate[0] = st.flow_rate[1] = st.flow_rate[2] = 0;
    n = active_ids(ids);
    o->order(ctx, &st, ids, n);
    t = o->next_change(ctx, &st);
    cr_assert(isinf(t) && t > 0, "next_change %.12g with no rate, expected inf", t);
    if (o->destroy)
        o->destroy(ctx);

    /* job 2 at exactly 10 MiB: queue 1 */
    set_remaining(2, 1000 * MiB - 10 * MiB);
    expect_order("aalo", (size_t[]){0, 1, 2}, 3);
}

/* Aalo counts bytes over the whole job: a job's second coflow starts in the
 * queue its job's earlier coflows earned. Coflow 1 (job 0's child, released
 * at 3) is behind coflow 2 (fresh job) although released earlier. */
Test(coflow_order, aalo_counts_the_whole_job)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 50 * MiB);
    cof(2, 0);
    flow(0, 1, 1 * MiB);
    parent(1);
    end_job();
    single(1, 1);
    flow(2, 3, 1 * MiB);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    set_remaining(0, 0); /* sent all 50 MiB */
    st.now = 3;
    coflow_state_finish_flow(&st, 0);
    coflow_state_release(&st, 1, 3);
    coflow_state_release(&st, 2, 4);
    expect_order("aalo", (size_t[]){2, 1}, 2);
    expect_order("fifo", (size_t[]){1, 2}, 2);
}

/* ---------------------------------------------------------- sincronia */

/* One bottleneck: BSSI is Smith's rule. A (job 0): 0->1 2 bytes, B (job 1):
 * 0->1 4 bytes. Port out0 carries 6: ratios w/d: A w/2, B w_B/4.
 *   w_B = 1: B's 1/4 < A's 1/2, B goes last: A B.
 *   w_B = 3: A's 1/2 < B's 3/4, A goes last: B A. */
static void build_two(double wb)
{
    single(0, 1);
    flow(0, 1, 2);
    end_job();
    single(1, wb);
    flow(0, 1, 4);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
}

Test(coflow_order, sincronia_unweighted_smallest_first)
{
    build_two(1);
    expect_order("sincronia", (size_t[]){0, 1}, 2);
}

Test(coflow_order, sincronia_weight_changes_order)
{
    build_two(3);
    expect_order("sincronia", (size_t[]){1, 0}, 2);
    /* weighted DAG heuristics follow the weight too: B 4/3 < A 2 */
    expect_order("wcp", (size_t[]){1, 0}, 2);
    expect_order("jsebf", (size_t[]){1, 0}, 2);
    /* ... and the unweighted ones do not */
    expect_order("sebf", (size_t[]){0, 1}, 2);
}

/* Equal ratios: the earlier-released of two identical coflows goes first
 * (FIFO among equals), as with the key-based orderings' ties. */
Test(coflow_order, sincronia_ties_fifo)
{
    single(0, 1);
    flow(0, 1, 3);
    end_job();
    single(1, 1);
    flow(0, 1, 3);
    end_job();
    ready();
    coflow_state_release(&st, 1, 0);
    coflow_state_release(&st, 0, 1);
    expect_order("sincronia", (size_t[]){1, 0}, 2);
    expect_order("sebf", (size_t[]){1, 0}, 2);
}

/*
 * Where the scaling step decides (weights 1, ports 1-3):
 *   A (coflow 0): 1->2 5, 1->3 2   loads out1 7, in2 5, in3 2
 *   B (coflow 1): 2->3 6           loads out2 6, in3 6
 *   C (coflow 2): 2->1 5, 1->1 2   loads out2 5, in1 7, out1 2
 * Totals: out1 9, in1 7, out2 11, in2 5, in3 8.
 * Round 1: bottleneck out2 (11): B 1/6 < C 1/5, so B goes last; scale
 *   w_C = 1 - 1 * 5/6 = 1/6.
 * Round 2 (B removed): out1 9 is the most loaded: A 1/7 vs C (1/6)/2 =
 *   1/12: C goes last of the two. Order A C B.
 * Without the scaling C's ratio would be 1/2 and the order C A B.
 */
Test(coflow_order, sincronia_scaling_step)
{
    single(0, 1);
    flow(1, 2, 5);
    flow(1, 3, 2);
    end_job();
    single(1, 1);
    flow(2, 3, 6);
    end_job();
    single(2, 1);
    flow(2, 1, 5);
    flow(1, 1, 2);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    expect_order("sincronia", (size_t[]){0, 2, 1}, 3);
}

/*
 * A port whose last bytes go changes which column comes first. A (coflow
 * 0): 0->1 1 byte and 2->3 4 bytes; B (coflow 1): 4->1 4 bytes; senders at
 * out_cap, receivers at 1 byte/s. Once A's 0->1 is done, in1 holds B's 4
 * and in3 A's 4, the heaviest; the first touched of the two is in3 (A's
 * ports come first and A no longer touches in1), so A goes last: B A. An
 * ordering that kept A's spent place on in1 would find in1 first: A B.
 * The second decision is taken on the first one's context, so it must
 * notice the lost port. out_cap 4 makes every capacity a power of two
 * (sincronia multiplies by 1/cap), 3 does not (it divides).
 */
static void expect_lost_port_reorders(double out_cap)
{
    single(0, 1);
    flow(0, 1, 1);
    flow(2, 3, 4);
    end_job();
    single(1, 1);
    flow(4, 1, 4);
    end_job();
    for (size_t p = 0; p < N_PORTS; p++)
        fab.cap_out[p] = out_cap;
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    const coflow_ordering_t *o = coflow_ordering_find("sincronia");
    void *ctx = NULL;
    OK(o->create(&ctx, &st));
    size_t ids[2] = {0, 1};
    o->order(ctx, &st, ids, 2);
    st.coflow_remaining[0] -= st.flow_remaining[0];
    coflow_state_finish_flow(&st, 0);
    ids[0] = 0;
    ids[1] = 1;
    o->order(ctx, &st, ids, 2);
    cr_assert(ids[0] == 1 && ids[1] == 0, "out cap %g: [%zu %zu], expected [1 0]", out_cap,
              ids[0], ids[1]);
    o->destroy(ctx);
}

Test(coflow_order, sincronia_lost_port_reorders_powers_of_two) { expect_lost_port_reorders(4); }

Test(coflow_order, sincronia_lost_port_reorders_quotients) { expect_lost_port_reorders(3); }

/*
 * What is left of a column's total below 2^-50 of where it started counts
 * as none, however long it is in seconds. Ports 1 byte/s. X (coflow 0)
 * sends 2^20 bytes 0->1, Y (1) 2^-31 bytes 0->1, W (2) 2^-40 bytes 2->4;
 * weights 1. out0 and in1 hold 2^20 + 2^-31 (exact): the bottleneck; X's
 * ratio 2^-20 is the least, X goes last. Without X, out0 and in1 hold
 * 2^-31 (exact), below their residue (2^20 + 2^-31) * 2^-50, about 2^-30:
 * zeroed. out2 (2^-40) is then the bottleneck, W goes second: Y W X. Read
 * as a load (an absolute floor of 1e-15 s did), 2^-31 would make out0 the
 * bottleneck and put Y second: W Y X.
 */
Test(coflow_order, sincronia_a_residue_is_none_in_any_units)
{
    static const struct { uint32_t s, d; double bytes; } f[] = {
        {0, 1, 0x1p20}, {0, 1, 0x1p-31}, {2, 4, 0x1p-40},
    };
    for (size_t c = 0; c < 3; c++) {
        single((int64_t)c, 1);
        flow(f[c].s, f[c].d, f[c].bytes);
        end_job();
    }
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    expect_order("sincronia", (size_t[]){1, 2, 0}, 3);
}

/*
 * The residue is 2^-50 of the first total itself: what is left at exactly
 * that share is a load. X (coflow 0) sends 1 - 2^-50 bytes 0->1, Y (1)
 * 2^-50 bytes 0->1, W (2) 2^-60 bytes 2->4; weights 1. out0 and in1 hold
 * exactly 1: X's ratio is the least, X goes last; without X they hold
 * exactly 2^-50, their residue: a load, the bottleneck, and Y goes second:
 * W Y X. Zeroed, it would leave out2 the bottleneck and W second: Y W X.
 */
Test(coflow_order, sincronia_a_total_at_its_residue_is_a_load)
{
    static const struct { uint32_t s, d; double bytes; } f[] = {
        {0, 1, 1 - 0x1p-50}, {0, 1, 0x1p-50}, {2, 4, 0x1p-60},
    };
    for (size_t c = 0; c < 3; c++) {
        single((int64_t)c, 1);
        flow(f[c].s, f[c].d, f[c].bytes);
        end_job();
    }
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    cr_assert((1 - 0x1p-50) + 0x1p-50 == 1, "the premise: the loads add up to 1");
    expect_order("sincronia", (size_t[]){2, 1, 0}, 3);
}

/*
 * A total however small is a load until a removal takes it to its residue.
 * X (coflow 0): 2->2 1 byte; A (coflow 1) and B (coflow 2): 2->0 0.6e-16
 * and 0.4e-16 bytes; weights 1. Columns out2 (X's, 1 + 1e-16: fl 1), in2
 * (1), in0 (1e-16), the tiny one last. Round 1: out2: X's ratio 1 is the
 * least, X goes last; A's weight becomes 1 - 0.6e-16, B's 1 - 0.4e-16
 * (both about 1). out2 and in2 fall to 0. Round 2: in0 (1e-16, untouched)
 * is the bottleneck: A's ratio about 1/0.6e-16 < B's 1/0.4e-16: A goes
 * second: B A X. Missing the tiny total, the rounds would find no
 * bottleneck and put the later index, B, second: A B X.
 */
Test(coflow_order, sincronia_a_tiny_total_is_a_load)
{
    single(0, 1);
    flow(2, 2, 1);
    end_job();
    single(1, 1);
    flow(2, 0, 0.6e-16);
    end_job();
    single(2, 1);
    flow(2, 0, 0.4e-16);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    expect_order("sincronia", (size_t[]){2, 1, 0}, 3);
}

/*
 * A weight the scaling takes a rounding below zero is zero. S (coflow 0)
 * and P (coflow 2) weigh 3 and send 0.1 bytes 0->1, U (coflow 1) weighs 1
 * and sends 1/30 bytes 0->1. On out0 all three ratios are fl(30): P, the
 * last entry, goes last. Scaling: S's 3 - fl(fl(3 * 0.1) / 0.1) = 3 -
 * 3.0000000000000004 = -4.4e-16, held at 0; U's 1 - fl(fl(3 / 30) / 0.1)
 * = 0 exactly. Their ratios tie at 0: the later entry, U, goes second: S U
 * P. Left below zero, S's ratio would be the least: U S P.
 */
Test(coflow_order, sincronia_holds_a_scaled_weight_at_zero)
{
    job(0, 0, 3);
    cof(1, 0);
    flow(0, 1, 0.1);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(0, 1, 1.0 / 30);
    end_job();
    job(2, 0, 3);
    cof(1, 0);
    flow(0, 1, 0.1);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    cr_assert(3 - 3 * 0.1 / 0.1 < 0 && 1 - 3 * (1.0 / 30) / 0.1 == 0,
              "the premise: S's scaled weight falls below zero, U's to zero");
    expect_order("sincronia", (size_t[]){0, 1, 2}, 3);
}

/*
 * A tie only the quotients have: A (coflow 0) 0->2 5 bytes, B (coflow 1)
 * 1->3 fl(5/3) bytes; out0 at 3 bytes/s, out1 at 1, in2 and in3 at 4.
 * Loads out0 fl(5/3) and out1 fl(5/3) tie, so the port touched first (out0,
 * A's) is the bottleneck and A goes last: B A. 5 times fl(1/3) is an ulp
 * below fl(5/3): sincronia multiplies by 1/cap only when every capacity is
 * a power of two, and doing it here would make out1 heavier: A B.
 * Decided twice on one context, so both the first build of the loads and
 * their refresh at the next decision are tried.
 */
Test(coflow_order, sincronia_divides_where_a_capacity_is_no_power_of_two)
{
    single(0, 1);
    flow(0, 2, 5);
    end_job();
    single(1, 1);
    flow(1, 3, 5.0 / 3);
    end_job();
    fab.cap_out[0] = 3;
    fab.cap_in[2] = fab.cap_in[3] = 4;
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    cr_assert(5 * (1.0 / 3) < 5.0 / 3, "the premise: the product is below the quotient");
    /* twice on one context: the second decision refreshes the kept loads */
    const coflow_ordering_t *o = coflow_ordering_find("sincronia");
    void *ctx = NULL;
    OK(o->create(&ctx, &st));
    for (int decision = 0; decision < 2; decision++) {
        size_t ids[2] = {0, 1};
        o->order(ctx, &st, ids, 2);
        cr_assert(ids[0] == 1 && ids[1] == 0, "decision %d: [%zu %zu], expected [1 0]",
                  decision, ids[0], ids[1]);
    }
    o->destroy(ctx);
}

/* -------------------------------------------------- DAG-aware orderings */

/*
 * Job P (weight wp): p1 (coflow 0) 0->1 2 bytes; p2 (coflow 1, after p1,
 *   compute 1) 0->1 1 byte. Remaining critical path 2 + 1 + 1 = 4, work
 *   (sum of iso) 2 + 1 = 3.
 * Job Q (weight wq): q1 (coflow 2) 2->3 3 bytes, q2 (coflow 3) 4->5 3
 *   bytes, in parallel: critical path 3, work 6.
 * p1, q1, q2 active at 0.
 */
static void build_pq(double wp, double wq)
{
    job(0, 0, wp);
    cof(1, 0);
    flow(0, 1, 2);
    cof(2, 1);
    flow(0, 1, 1);
    parent(1);
    end_job();
    job(1, 0, wq);
    cof(1, 0);
    flow(2, 3, 3);
    cof(2, 0);
    flow(4, 5, 3);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 3, 0);
}

/* Unweighted: wcp puts Q first (path 3 < 4), jsebf P (work 3 < 6). */
Test(coflow_order, wcp_and_jsebf_disagree)
{
    build_pq(1, 1);
    expect_order("wcp", (size_t[]){2, 3, 0}, 3);
    expect_order("jsebf", (size_t[]){0, 2, 3}, 3);
}

/* wq = 3: jsebf Q 6/3 = 2 < P 3: Q first too. */
Test(coflow_order, jsebf_weighted)
{
    build_pq(1, 3);
    expect_order("jsebf", (size_t[]){2, 3, 0}, 3);
    expect_order("wcp", (size_t[]){2, 3, 0}, 3);
}

/* wq = 1.5: Q 6/1.5 = 4 > P 3: P first, in both. Q's work is divided by
 * its weight once, not once for each of its two active coflows (6/1.5^2
 * = 2.67 would put Q first). */
Test(coflow_order, jsebf_divides_a_job_s_work_by_its_weight_once)
{
    build_pq(1, 1.5);
    expect_order("jsebf", (size_t[]){0, 2, 3}, 3);
    expect_order("jsebf-cp", (size_t[]){0, 2, 3}, 3);
}

/*
 * jsebf-cp: jsebf between jobs, longest remaining path first inside one.
 * Job A (weight 1): a1 (coflow 0) 0->1 1 byte and a2 (coflow 1) 2->3 1
 *   byte, both roots released at 0; a3 (coflow 2, after a2) 4->5 5 bytes.
 *   Work 1 + 1 + 5 = 7; a1's path 1, a2's 1 + 5 = 6.
 * Job B (weight 1): b1 (coflow 3) 1->0 3 bytes, released at 0: work 3.
 * Both put B first (3 < 7); inside A jsebf keeps release order (a1, the
 * lower index), jsebf-cp puts a2 first: it gates a3.
 */
Test(coflow_order, jsebf_cp_puts_the_gating_coflow_first)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 0);
    flow(2, 3, 1);
    cof(3, 0);
    flow(4, 5, 5);
    parent(2);
    end_job();
    job(1, 0, 1);
    cof(1, 0);
    flow(1, 0, 3);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    coflow_state_release(&st, 3, 0);
    expect_order("jsebf", (size_t[]){3, 0, 1}, 3);
    expect_order("jsebf-cp", (size_t[]){3, 1, 0}, 3);
}

/* jsebf-cp ranks jobs as jsebf: P first unweighted (work 3 < 6), Q first
 * with wq = 3 (6/3 = 2 < 3; q1 and q2 tie on path 3: release, index). */
Test(coflow_order, jsebf_cp_ranks_jobs_as_jsebf)
{
    build_pq(1, 1);
    expect_order("jsebf-cp", (size_t[]){0, 2, 3}, 3);
}

Test(coflow_order, jsebf_cp_weighted)
{
    build_pq(1, 3);
    expect_order("jsebf-cp", (size_t[]){2, 3, 0}, 3);
}

/* wp = 2: wcp P 4/2 = 2 < Q 3: P first. */
Test(coflow_order, wcp_weighted)
{
    build_pq(2, 1);
    expect_order("wcp", (size_t[]){0, 2, 3}, 3);
    expect_order("jsebf", (size_t[]){0, 2, 3}, 3);
}

/* Within a job wcp puts the coflow on the longer remaining path first: with
 * q1 down to 1 byte (path 1), q2 (path 3) gates job Q and goes first; Q's
 * key is still max(1, 3) = 3 < P's 4. */
Test(coflow_order, wcp_critical_coflow_first_in_job)
{
    build_pq(1, 1);
    set_remaining(2, 1); /* q1 down to 1 byte: q2 (3 bytes) is critical */
    expect_order("wcp", (size_t[]){3, 2, 0}, 3);
}

/*
 * A waiting coflow whose inputs are ready but whose compute is still
 * running counts toward the job's remaining critical path:
 * Job R: r1 (coflow 0) 0->1 1 byte, active; r2 (coflow 1) a root with
 *   compute 5, 2->3 1 byte, waiting. Job S: s1 (coflow 2) 4->5 4 bytes.
 * At now = 0: R's path = max(1, 5 + 1) = 6 > S's 4: S first.
 *   jsebf: R's work 1 + 1 = 2 < 4: R first.
 * At now = 4.5 (r2's compute has 0.5 s left): R's path max(1, 1.5) = 1.5
 *   < 4: R first.
 */
Test(coflow_order, wcp_counts_waiting_coflows)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 5);
    flow(2, 3, 1);
    end_job();
    single(1, 1);
    flow(4, 5, 4);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 2, 0);
    st.now = 0;
    expect_order("wcp", (size_t[]){2, 0}, 2);
    expect_order("jsebf", (size_t[]){0, 2}, 2);
    st.now = 4.5;
    expect_order("wcp", (size_t[]){0, 2}, 2);
}

/* Job j's ready list (coflow_state_ready_waiting) as a sorted string. */
static void ready_list(size_t j, char *buf, size_t cap)
{
    const size_t *list;
    size_t n = coflow_state_ready_waiting(&st, j, &list), ids[16];
    cr_assert_leq(n, 16);
    memcpy(ids, list, n * sizeof *ids);
    for (size_t a = 1; a < n; a++) /* insertion sort: the list has no order */
        for (size_t b = a; b > 0 && ids[b - 1] > ids[b]; b--) {
            size_t t = ids[b];
            ids[b] = ids[b - 1];
            ids[b - 1] = t;
        }
    fmt_ids(buf, cap, ids, n);
}

static void expect_frontier(size_t j, const char *want_ready, double want_waiting)
{
    char got[128];
    ready_list(j, got, sizeof got);
    cr_assert_str_eq(got, want_ready, "job %zu: ready [%s], expected [%s]", j, got, want_ready);
    cr_assert(coflow_state_waiting_iso(&st, j) == want_waiting,
              "job %zu: waiting work %.17g, expected %.17g", j, coflow_state_waiting_iso(&st, j),
              want_waiting);
}

/* Every flow of active coflow c sent and finished: c becomes DONE. */
static void finish_coflow(size_t c)
{
    size_t first = wl.coflows[c].first_flow, end = first + wl.coflows[c].n_flows;
    for (size_t f = first; f < end; f++) {
        set_remaining(f, 0);
        coflow_state_finish_flow(&st, f);
    }
    cr_assert_eq(st.status[c], COFLOW_DONE);
}

/*
 * Each job's frontier, as the state keeps it for wcp and jsebf. Job A
 * (coflows 0-5, isolation times 1, 2, 4, 8, 16, 32 s on 1 byte/s ports):
 * a (0) and b (1) roots, c (2) below both, d (3) below c, e (4) below f
 * (5), which is listed after it. Job B: one coflow (6), 0.25 s.
 * Ready: the WAITING coflows whose parents are all DONE; waiting work: the
 * WAITING coflows' isolation times.
 */
Test(coflow_order, frontier_follows_releases_and_finishes)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 0);
    flow(1, 2, 2);
    cof(3, 0);
    flow(2, 3, 4);
    parent(1);
    parent(2);
    cof(4, 0);
    flow(3, 4, 8);
    parent(3);
    cof(5, 0);
    flow(4, 5, 16);
    parent(6);
    cof(6, 0);
    flow(5, 0, 32);
    end_job();
    single(1, 1);
    flow(0, 2, 0.25);
    end_job();
    ready();
    expect_frontier(0, "0 1 5", 63);
    expect_frontier(1, "6", 0.25);
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    coflow_state_release(&st, 0, 0); /* again: nothing leaves twice */
    expect_frontier(0, "5", 60);
    st.now = 1;
    finish_coflow(0);
    expect_frontier(0, "5", 60); /* c still waits for b */
    st.now = 2;
    finish_coflow(1);
    expect_frontier(0, "2 5", 60);
    coflow_state_release(&st, 5, 2);
    expect_frontier(0, "2", 28);
    st.now = 34;
    finish_coflow(5);
    expect_frontier(0, "2 4", 28);
    coflow_state_release(&st, 2, 2);
    coflow_state_release(&st, 4, 34);
    expect_frontier(0, "", 8);
    st.now = 50;
    finish_coflow(4);
    finish_coflow(2);
    expect_frontier(0, "3", 8);
    coflow_state_release(&st, 3, 50);
    expect_frontier(0, "", 0);
    expect_frontier(1, "6", 0.25);

    /* A state rebuilt from another (the gateway): coflows marked DONE
       without running, in index order, so e is released before f is
       marked; marking one twice changes nothing. */
    coflow_state_destroy(&st);
    OK(coflow_state_init(&st, &wl, &fab));
    coflow_state_mark_done(&st, 0);
    coflow_state_mark_done(&st, 0);
    expect_frontier(0, "1 5", 62);
    coflow_state_release(&st, 4, 0);
    coflow_state_mark_done(&st, 1);
    coflow_state_mark_done(&st, 5);
    expect_frontier(0, "2", 12);
    cr_assert_eq(st.status[5], COFLOW_DONE);
    cr_assert(st.coflow_remaining[5] == 0);
}

/*
 * A job's waiting work counts in units of 2^-62 of its largest coflow's
 * isolation time, so it is exact at any scale: job 0's coflows take 3 *
 * 2^-40 s and 2^-40 s (ports of 1 byte/s), job 1's 2^70 s and 2^68 s, and
 * their sums 2^-38 s and 5 * 2^68 s are the work's, to the bit. A fixed
 * unit of 2^-32 s read job 0's as none and capped job 1's at 2^62 s; a
 * unit common to all jobs would truncate the small one's to nothing.
 */
Test(coflow_order, waiting_work_is_exact_at_any_scale)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 3 * 0x1p-40);
    cof(2, 0);
    flow(1, 2, 0x1p-40);
    parent(1);
    end_job();
    job(1, 0, 1);
    cof(3, 0);
    flow(2, 3, 0x1p70);
    cof(4, 0);
    flow(3, 4, 0x1p68);
    parent(3);
    end_job();
    ready();
    expect_frontier(0, "0", 0x1p-38);
    expect_frontier(1, "2", 5 * 0x1p68);
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 2, 0);
    expect_frontier(0, "", 0x1p-40);
    expect_frontier(1, "", 0x1p68);
}

/* A workload whose parent index points past its coflows (one not made by
 * coflow_workload_finish_job) is refused by name, not read out of bounds. */
Test(coflow_order, state_refuses_a_parent_index_past_the_coflows)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 0);
    flow(1, 2, 1);
    parent(1);
    end_job();
    wl.parents[wl.coflows[1].first_parent] = 7;
    coflow_state_t bad;
    cr_assert_eq(coflow_state_init(&bad, &wl, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "coflow 1 has parent index 7 of 2 coflows"), "%s",
              weft_last_error());
    wl.parents[wl.coflows[1].first_parent] = 0;
}

/* A done coflow counts for nothing: P's p1 finished, p2 active. */
Test(coflow_order, dag_keys_skip_done_coflows)
{
    build_pq(1, 1);
    st.now = 2;
    set_remaining(0, 0);
    coflow_state_finish_flow(&st, 0);
    coflow_state_release(&st, 1, 3);
    st.now = 3;
    /* P: path 1, work 1; Q: path 3, work 6: P first for both */
    expect_order("wcp", (size_t[]){1, 2, 3}, 3);
    expect_order("jsebf", (size_t[]){1, 2, 3}, 3);
}

/* ---------------------------------------------------------- allocators */

/*
 * greedy on ports 0-2. A (coflow 0): flow 0 0->1 5. B (coflow 1): flows
 * 1 0->2, 2 2->1, 3 2->0 (1 byte each).
 * Order A B: A's flow takes out0 and in1; B's 0->2 finds out0 full (0),
 *   2->1 finds in1 full (0), 2->0 gets 1.
 * Order B A: B is walked by receiver (2 senders x 3 receivers either way),
 *   its receivers in port order, not as listed: 2->0 gets 1 (out2 full),
 *   2->1 finds out2 full (0), 0->2 gets 1 (out0 full); A 0.
 */
Test(coflow_alloc, greedy_exact)
{
    single(0, 1);
    flow(0, 1, 5);
    end_job();
    single(1, 1);
    flow(0, 2, 1);
    flow(2, 1, 1);
    flow(2, 0, 1);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("greedy", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    expect_rate(1, 0);
    expect_rate(2, 0);
    expect_rate(3, 1);
    run_alloc("greedy", (size_t[]){1, 0}, 2);
    expect_rate(0, 0);
    expect_rate(1, 1);
    expect_rate(2, 0);
    expect_rate(3, 1);
}

/* A coflow left out of order[] keeps whatever the caller had (the emulator
 * zeroes it); capacities other than 1 are honoured: port 0 sends at 3. */
Test(coflow_alloc, greedy_capacities)
{
    fab.cap_out[0] = 3;
    fab.cap_in[2] = 0.5;
    single(0, 1);
    flow(0, 1, 5); /* in1 is 1: gets 1 */
    flow(0, 2, 5); /* in2 is 0.5: gets 0.5 */
    flow(0, 3, 5); /* out0 has 1.5 left, in3 1: gets 1 */
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    run_alloc("greedy", (size_t[]){0}, 1);
    expect_rate(0, 1);
    expect_rate(1, 0.5);
    expect_rate(2, 1);
}

/*
 * madd paces a coflow so its flows finish together. A (coflow 0): 0->1 4,
 * 0->2 2; B (coflow 1): 1->2 3. Order A B.
 *   A: Gamma = max(out0 6/1, in1 4/1, in2 2/1) = 6: rates 4/6, 2/6 (both
 *      done at 6).
 *   B: in2 has 1 - 1/3 = 2/3 free, out1 1: Gamma = max(3/1, 3/(2/3)) = 4.5:
 *      rate 2/3.
 *   Backfill: A's flows find out0 full; B's 1->2 finds in2 full. Done.
 */
Test(coflow_alloc, madd_paces_to_bottleneck)
{
    single(0, 1);
    flow(0, 1, 4);
    flow(0, 2, 2);
    end_job();
    single(1, 1);
    flow(1, 2, 3);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("madd", (size_t[]){0, 1}, 2);
    expect_rate(0, 4.0 / 6);
    expect_rate(1, 2.0 / 6);
    expect_rate(2, 2.0 / 3);
    cr_assert(fabs(st.flow_remaining[0] / st.flow_rate[0] -
                   st.flow_remaining[1] / st.flow_rate[1]) < 1e-9,
              "A's flows do not finish together");
}

/*
 * Pacing leaves room for the next coflow where greedy would not:
 * A (coflow 0): 0->1 4, 2->3 1; B (coflow 1): 4->3 6. Order A B.
 *   madd: A's Gamma 4: rates 1 and 1/4; B: in3 has 3/4 left: Gamma 8,
 *     rate 3/4; backfill finds nothing. Rates 1, 1/4, 3/4.
 *   greedy: A takes 1 and 1, B finds in3 full: 1, 1, 0.
 */
Test(coflow_alloc, madd_leaves_room_greedy_does_not)
{
    single(0, 1);
    flow(0, 1, 4);
    flow(2, 3, 1);
    end_job();
    single(1, 1);
    flow(4, 3, 6);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("madd", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    expect_rate(1, 0.25);
    expect_rate(2, 0.75);
    run_alloc("greedy", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    expect_rate(1, 1);
    expect_rate(2, 0);
}

/*
 * A coflow with a full port waits (Gamma infinite), and the leftover goes
 * out greedily in priority order:
 * A (coflow 0): 0->1 4, 2->3 1; C (coflow 1): 0->3 2, 4->5 2. Order A C.
 *   A: Gamma 4: 1 and 1/4. C: out0 is full: Gamma infinite, nothing.
 *   Backfill: A's 0->1 nothing left; A's 2->3 gets out2/in3's 3/4 (-> 1);
 *   C's 0->3 nothing (out0 full); C's 4->5 gets 1.
 */
Test(coflow_alloc, madd_backfills_in_order)
{
    single(0, 1);
    flow(0, 1, 4);
    flow(2, 3, 1);
    end_job();
    single(1, 1);
    flow(0, 3, 2);
    flow(4, 5, 2);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("madd", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    expect_rate(1, 1);
    expect_rate(2, 0);
    expect_rate(3, 1);
}

/*
 * Max-min fair per flow, whatever the order: A (coflow 0): 0->1, 0->2;
 * B (coflow 1): 0->3, 4->1. out0 carries three flows: 1/3 each; 4->1 then
 * has in1 with 1 - 1/3 left: 2/3.
 */
Test(coflow_alloc, fair_equal_shares)
{
    single(0, 1);
    flow(0, 1, 5);
    flow(0, 2, 5);
    end_job();
    single(1, 1);
    flow(0, 3, 5);
    flow(4, 1, 5);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    for (int pass = 0; pass < 2; pass++) {
        run_alloc("fair", pass ? (size_t[]){1, 0} : (size_t[]){0, 1}, 2);
        expect_rate(0, 1.0 / 3);
        expect_rate(1, 1.0 / 3);
        expect_rate(2, 1.0 / 3);
        expect_rate(3, 2.0 / 3);
    }
}

/* The same on ports of 2^-40 bytes/s: every rate is the one above in
 * units 2^40 times smaller, to the bit, as each step of the filling
 * scales exactly (the level cap / 3, what in1 has left after it, the
 * allocator's trim of 1e-12). A level kept as -1 - level while frozen
 * came back rounded to the ulps of 1: 3e-13 with 4 digits. */
Test(coflow_alloc, fair_rates_keep_their_digits_far_below_one)
{
    single(0, 1);
    flow(0, 1, 5);
    flow(0, 2, 5);
    end_job();
    single(1, 1);
    flow(0, 3, 5);
    flow(4, 1, 5);
    end_job();
    for (size_t p = 0; p < N_PORTS; p++)
        fab.cap_out[p] = fab.cap_in[p] = 0x1p-40;
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("fair", (size_t[]){0, 1}, 2);
    double third = 1.0 / 3, trim = 1 - 1e-12;
    double want[4] = {third * trim, third * trim, third * trim, (1 - third) * trim};
    for (size_t f = 0; f < 4; f++)
        cr_assert(st.flow_rate[f] == ldexp(want[f], -40), "flow %zu: %a bytes/s, want %a", f,
                  st.flow_rate[f], ldexp(want[f], -40));
}

/* Two levels and a self-flow: 0->0 uses out0 and in0. Flows 0->0, 0->1,
 * 2->1, 3->1, 2->4: in1 has three flows (1/3 each) and is the tightest;
 * then out0 has 0->0 and 0->1 (1/3 fixed): 0->0 gets 2/3; out2 has 2->1
 * (1/3): 2->4 gets 2/3. */
Test(coflow_alloc, fair_two_levels)
{
    single(0, 1);
    flow(0, 0, 5);
    flow(0, 1, 5);
    flow(2, 1, 5);
    flow(3, 1, 5);
    flow(2, 4, 5);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    run_alloc("fair", (size_t[]){0}, 1);
    expect_rate(0, 2.0 / 3);
    expect_rate(1, 1.0 / 3);
    expect_rate(2, 1.0 / 3);
    expect_rate(3, 1.0 / 3);
    expect_rate(4, 2.0 / 3);
}

/*
 * srf favours the shortest flow whatever the coflow order: A (coflow 0):
 * 0->1 5 bytes; B (coflow 1): 0->2 2, 3->1 1. Order A B.
 * By bytes left: 3->1 (1) gets 1, 0->2 (2) gets 1, 0->1 (5) finds out0 and
 * in1 full: 0. (greedy in order A B would give 1, 0, 0.)
 */
Test(coflow_alloc, srf_shortest_first)
{
    single(0, 1);
    flow(0, 1, 5);
    end_job();
    single(1, 1);
    flow(0, 2, 2);
    flow(3, 1, 1);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("srf", (size_t[]){0, 1}, 2);
    expect_rate(0, 0);
    expect_rate(1, 1);
    expect_rate(2, 1);
    /* remaining, not size: 0->1 down to 0.5 bytes now goes first */
    set_remaining(0, 0.5);
    run_alloc("srf", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    expect_rate(1, 0);
    expect_rate(2, 0);
}

/* The srf pair form's rates after opening every open flow, st->rated
 * checked against them. */
static void run_srf_pairs(void)
{
    coflow_srf_pairs_t *sp = NULL;
    OK(coflow_srf_pairs_new(&sp, &st));
    for (size_t c = 0; c < wl.n_coflows; c++)
        if (st.status[c] == COFLOW_ACTIVE)
            for (size_t j = 0; j < st.n_open[c]; j++)
                coflow_srf_pairs_open(sp, &st, st.open_flows[wl.coflows[c].first_flow + j]);
    for (size_t f = 0; f < wl.n_flows; f++)
        st.flow_rate[f] = 0;
    st.n_rated = 0;
    coflow_srf_pairs_allocate(sp, &st);
    size_t positive = 0;
    for (size_t f = 0; f < wl.n_flows; f++)
        positive += st.flow_rate[f] > 0;
    cr_assert_eq(positive, st.n_rated, "%zu flows rated, %zu listed", positive, st.n_rated);
    coflow_srf_pairs_free(sp);
}

/*
 * A port is full within COFLOW_RATE_EPS (1e-9) of its own capacity, not
 * of the smaller of a flow's two. One coflow: f0 0->1 1 byte, f1 0->2 2,
 * f2 3->2 3, f3 4->2 4 (srf takes them in that order); in1 runs at 1 -
 * 1e-7 bytes/s, in2 at 1000, out3 at 1000 - 6e-7, the others at 1.
 *   f0: min(out0 1, in1 1 - 1e-7): 1 - 1e-7; out0 has 1e-7 left, more
 *     than 1e-9 of its 1: not full.
 *   f1: min(out0's 1e-7, in2's 1000): 1e-7, though below 1e-9 of in2's
 *     capacity (1e-6).
 *   f2: min(out3 1000 - 6e-7, in2 1000 - 1e-7): 1000 - 6e-7; in2 has 5e-7
 *     left, within 1e-9 of its 1000: full.
 *   f3: in2 is full: exactly 0, though its 5e-7 are more than 1e-9 of
 *     out4's capacity.
 * The pair form agrees.
 */
Test(coflow_alloc, srf_a_port_is_full_by_its_own_capacity)
{
    single(0, 1);
    flow(0, 1, 1);
    flow(0, 2, 2);
    flow(3, 2, 3);
    flow(4, 2, 4);
    end_job();
    fab.cap_in[1] = 1 - 1e-7;
    fab.cap_in[2] = 1000;
    fab.cap_out[3] = 1000 - 6e-7;
    ready();
    coflow_state_release(&st, 0, 0);
    for (int form = 0; form < 2; form++) {
        if (form == 0)
            run_alloc("srf", (size_t[]){0}, 1);
        else
            run_srf_pairs();
        expect_rate(0, 1 - 1e-7);
        expect_rate(1, 1e-7);
        expect_rate(2, 1000 - 6e-7);
        cr_assert(st.flow_rate[3] == 0, "form %d: f3 trickles at %.17g bytes/s into a full "
                  "port", form, st.flow_rate[3]);
    }
}

/*
 * Ties in bytes left go to the lower flow index, whatever the coflow order
 * and the flows' places in the open lists: A (coflow 0): 0->2 4 bytes, 1->3
 * 3; B (coflow 1): 1->2 4 bytes, 0->3 3. The 3-byte flows (1 and 3) come
 * first: 1->3 gets 1, then 0->3 finds in3 full. Then the 4-byte flows tie:
 * flow 0 (0->2) gets 1, flow 2 (1->2) finds out1 and in2 full. Rates 1, 1,
 * 0, 0 in the order A B and in the order B A; the pair form agrees.
 */
/* The four flows' rates under srf in the coflow orders A B and B A and in
 * the pair form. */
static void expect_srf_everywhere(const double want[4])
{
    const size_t orders[2][2] = {{0, 1}, {1, 0}};
    for (int o = 0; o < 3; o++) {
        if (o < 2)
            run_alloc("srf", orders[o], 2);
        else
            run_srf_pairs();
        for (size_t f = 0; f < 4; f++)
            expect_rate(f, want[f]);
    }
}

Test(coflow_alloc, srf_ties_by_flow_index)
{
    single(0, 1);
    flow(0, 2, 4);
    flow(1, 3, 3);
    end_job();
    single(1, 1);
    flow(1, 2, 4);
    flow(0, 3, 3);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    expect_srf_everywhere((double[]){1, 1, 0, 0});
    /* flows 1 and 3 down to 2 bytes each: still flow 1 first (and then
     * 0->2, as 0->3 finds in3 full) */
    set_remaining(1, 2);
    set_remaining(3, 2);
    expect_srf_everywhere((double[]){1, 1, 0, 0});
    /* flow 3 below flow 1: 0->3 first, then 1->2 (out0 is full, so 0->2
     * gets nothing, and 1->3 finds in3 full) */
    set_remaining(3, 1);
    expect_srf_everywhere((double[]){0, 0, 1, 1});
}

/* An empty order is fine for every allocator. */
Test(coflow_alloc, empty_order)
{
    single(0, 1);
    flow(0, 1, 5);
    end_job();
    ready();
    for (const coflow_allocator_t *const *a = coflow_allocators(); *a; a++)
        (*a)->allocate(&st, NULL, 0);
}

/* ---------------------------------------------------------- invariants */

static uint64_t rng_state;

static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static size_t rnd_below(size_t n) { return (size_t)(rnd() * (double)n) % n; }

/*
 * A random state: heterogeneous port capacities, jobs that are chains of 1-3
 * coflows with 1-6 flows each; in every job the first k coflows are done,
 * the next is active with some bytes already sent, the rest wait.
 */
static void build_random(uint64_t seed)
{
    rng_state = seed;
    for (size_t p = 0; p < N_PORTS; p++) {
        fab.cap_out[p] = 0.5 + 2 * rnd();
        fab.cap_in[p] = 0.5 + 2 * rnd();
    }
    size_t n_jobs = 4 + rnd_below(12);
    for (size_t j = 0; j < n_jobs; j++) {
        job((int64_t)j, rnd() * 3, 0.5 + 3 * rnd());
        size_t len = 1 + rnd_below(3);
        for (size_t k = 0; k < len; k++) {
            cof((int64_t)k, rnd() < 0.3 ? rnd() : 0);
            size_t nf = 1 + rnd_below(6);
            for (size_t f = 0; f < nf; f++)
                flow((uint32_t)rnd_below(N_PORTS), (uint32_t)rnd_below(N_PORTS),
                     1 + 100 * rnd());
            if (k > 0)
                parent((int64_t)k - 1);
        }
        end_job();
    }
    ready();
    st.now = 10;
    for (size_t j = 0; j < wl.n_jobs; j++) {
        const coflow_job_t *jb = &wl.jobs[j];
        size_t done = rnd_below(jb->n_coflows);
        for (size_t k = 0; k <= done; k++) {
            size_t c = jb->first_coflow + k;
            coflow_state_release(&st, c, (double)k + rnd());
            if (k < done)
                for (size_t i = 0; i < wl.coflows[c].n_flows; i++) {
                    size_t f = wl.coflows[c].first_flow + i;
                    set_remaining(f, 0);
                    coflow_state_finish_flow(&st, f);
                }
        }
        size_t c = jb->first_coflow + done;
        for (size_t i = 0; i < wl.coflows[c].n_flows; i++) {
            size_t f = wl.coflows[c].first_flow + i;
            if (rnd() < 0.5)
                set_remaining(f, st.flow_remaining[f] * (0.01 + 0.98 * rnd()));
        }
    }
}

static void check_decision(const coflow_ordering_t *o, const coflow_allocator_t *a,
                           uint64_t seed)
{
    size_t ids[256], before[256];
    size_t n = active_ids(ids);
    memcpy(before, ids, n * sizeof *ids);
    void *ctx = NULL;
    if (o->create)
        OK(o->create(&ctx, &st));
    o->order(ctx, &st, ids, n);
    /* a permutation of the active coflows */
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t k = 0; k < n; k++)
            hits += ids[k] == before[i];
        cr_assert_eq(hits, 1, "seed %llu: %s lost or doubled coflow %zu",
                     (unsigned long long)seed, o->name, before[i]);
    }
    for (size_t f = 0; f < wl.n_flows; f++)
        st.flow_rate[f] = 0;
    st.n_rated = 0;
    a->allocate(&st, ids, n);
    check_rated(a->name);
    double out[N_PORTS] = {0}, in[N_PORTS] = {0};
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl.coflows[ids[i]];
        for (size_t k = 0; k < st.n_open[ids[i]]; k++) {
            size_t f = st.open_flows[co->first_flow + k];
            double r = st.flow_rate[f];
            cr_assert(isfinite(r) && r >= 0, "seed %llu: %s/%s gave flow %zu rate %g",
                      (unsigned long long)seed, o->name, a->name, f, r);
            out[wl.flows[f].src] += r;
            in[wl.flows[f].dst] += r;
        }
    }
    for (size_t p = 0; p < N_PORTS; p++) {
        cr_assert(out[p] <= fab.cap_out[p] * (1 + 1e-9),
                  "seed %llu: %s/%s: port %zu sends %.17g > %.17g", (unsigned long long)seed,
                  o->name, a->name, p, out[p], fab.cap_out[p]);
        cr_assert(in[p] <= fab.cap_in[p] * (1 + 1e-9),
                  "seed %llu: %s/%s: port %zu receives %.17g > %.17g",
                  (unsigned long long)seed, o->name, a->name, p, in[p], fab.cap_in[p]);
        cr_assert(st.scratch_out[p] == 0 && st.scratch_in[p] == 0 && st.free_out[p] == 0 &&
                      st.free_in[p] == 0,
                  "seed %llu: %s/%s left port scratch non-zero", (unsigned long long)seed,
                  o->name, a->name);
    }
    /* Work conservation: every open flow has a saturated port (for fair:
     * its bottleneck; for the others: nothing was left to give it). */
    for (size_t i = 0; i < n; i++) {
        const coflow_coflow_t *co = &wl.coflows[ids[i]];
        for (size_t k = 0; k < st.n_open[ids[i]]; k++) {
            size_t f = st.open_flows[co->first_flow + k];
            uint32_t s = wl.flows[f].src, d = wl.flows[f].dst;
            bool full = out[s] >= fab.cap_out[s] * (1 - 1e-6) ||
                        in[d] >= fab.cap_in[d] * (1 - 1e-6);
            cr_assert(full, "seed %llu: %s/%s: flow %zu (%u->%u) could send more",
                      (unsigned long long)seed, o->name, a->name, f, s, d);
        }
    }
    if (o->next_change) {
        double t = o->next_change(ctx, &st);
        cr_assert(t > st.now, "seed %llu: %s next_change %g at now %g",
                  (unsigned long long)seed, o->name, t, st.now);
    }
    if (o->destroy)
        o->destroy(ctx);
}

Test(coflow_invariant, capacity_on_random_states)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        build_random(seed);
        for (const coflow_ordering_t *const *o = coflow_orderings(); *o; o++)
            for (const coflow_allocator_t *const *a = coflow_allocators(); *a; a++)
                check_decision(*o, *a, seed);
        coflow_state_destroy(&st);
        st_ready = false;
        coflow_workload_destroy(&wl);
        coflow_workload_init(&wl, N_PORTS);
    }
}

/* ------------------------------------------------------------ registry */

Test(coflow_registry, every_policy_is_complete)
{
    static const char *const want_ord[] = {"fifo", "scf", "ncf", "lcf", "sebf", "aalo",
                                          "sincronia", "wcp", "jsebf", "jsebf-cp"};
    static const char *const want_alloc[] = {"greedy", "madd", "fair", "srf"};
    for (size_t i = 0; i < sizeof want_ord / sizeof *want_ord; i++)
        cr_assert_not_null(coflow_ordering_find(want_ord[i]), "%s missing", want_ord[i]);
    for (size_t i = 0; i < sizeof want_alloc / sizeof *want_alloc; i++)
        cr_assert_not_null(coflow_allocator_find(want_alloc[i]), "%s missing", want_alloc[i]);
    for (const coflow_ordering_t *const *o = coflow_orderings(); *o; o++) {
        cr_assert((*o)->description && *(*o)->description, "%s has no description", (*o)->name);
        cr_assert_not_null((*o)->order);
        cr_assert(((*o)->create == NULL) == ((*o)->destroy == NULL), "%s", (*o)->name);
        cr_assert_not_null(coflow_allocator_find((*o)->default_allocator),
                           "%s's default allocator %s is not registered", (*o)->name,
                           (*o)->default_allocator);
    }
    for (const coflow_allocator_t *const *a = coflow_allocators(); *a; a++)
        cr_assert((*a)->description && *(*a)->description && (*a)->allocate, "%s",
                  (*a)->name);
    cr_assert_null(coflow_ordering_find("nope"));
    cr_assert_null(coflow_allocator_find("nope"));
    cr_assert(!coflow_ordering_find("fifo")->clairvoyant);
    cr_assert(!coflow_ordering_find("aalo")->clairvoyant);
    cr_assert(coflow_ordering_find("sebf")->clairvoyant);
    cr_assert_str_eq(coflow_ordering_find("fifo")->default_allocator, "greedy");
    cr_assert_str_eq(coflow_ordering_find("sebf")->default_allocator, "madd");
    cr_assert_str_eq(coflow_ordering_find("aalo")->default_allocator, "greedy");
    cr_assert_str_eq(coflow_ordering_find("sincronia")->default_allocator, "greedy");
}

/* ------------------------------------------------ pinned by mutation */

/*
 * The tests below each pin a behaviour that a hand-made mutant of coflow/
 * changed without any other test noticing (2026-12-05).
 */

/* Orders the active coflows twice on one context (as the emulator does,
 * decision after decision) and compares both orders with want[0..n). */
static void expect_order_twice(const char *name, const size_t *want, size_t n)
{
    const coflow_ordering_t *o = coflow_ordering_find(name);
    cr_assert_not_null(o, "ordering %s is not registered", name);
    void *ctx = NULL;
    if (o->create)
        OK(o->create(&ctx, &st));
    for (int decision = 0; decision < 2; decision++) {
        size_t ids[64];
        cr_assert_eq(active_ids(ids), n);
        o->order(ctx, &st, ids, n);
        char g[256], w[256];
        fmt_ids(g, sizeof g, ids, n);
        fmt_ids(w, sizeof w, want, n);
        cr_assert_str_eq(g, w, "%s, decision %d: ordered [%s], expected [%s]", name, decision,
                         g, w);
    }
    if (o->destroy)
        o->destroy(ctx);
}

/*
 * FIFO's ties in a burst of more than 32 simultaneous releases (fifo.c
 * sorts such a run with qsort, a shorter one by insertion): 36 one-coflow
 * jobs, all released at 20; coflow c's job arrives at floor((35 - c) / 2),
 * so coflows 34 and 35 at 0, 32 and 33 at 1, ..., 0 and 1 at 17. By job
 * arrival, equal arrivals by index: 34 35 32 33 ... 0 1.
 */
Test(coflow_order, fifo_burst_ties_by_job_arrival_then_index)
{
    for (int c = 0; c < 36; c++) {
        /* NOLINTNEXTLINE(bugprone-integer-division): floor, as said */
        job(c, (35 - c) / 2, 1);
        cof(1, 0);
        flow(0, 1, 1);
        end_job();
    }
    ready();
    for (size_t c = 0; c < 36; c++)
        coflow_state_release(&st, c, 20);
    size_t want[36];
    for (size_t i = 0; i < 36; i++)
        want[i] = 34 - 2 * (i / 2) + i % 2;
    expect_order("fifo", want, 36);
}

/*
 * Inside a job, equal remaining paths go by release time before index:
 * job J (weight 1): j1 (coflow 0) 0->1 2 bytes, compute 1 (released at
 * 1); j2 (coflow 1) 2->3 2 bytes (released at 0). Job K: k1 (coflow 2)
 * 4->5 5 bytes. wcp: J's path max(2, 2) = 2 < K's 5; jsebf-cp: J's work
 * 2 + 2 = 4 < 5. Inside J both paths are 2: j2 (released 0) before j1.
 */
Test(coflow_order, job_then_path_ties_by_release)
{
    job(0, 0, 1);
    cof(1, 1);
    flow(0, 1, 2);
    cof(2, 0);
    flow(2, 3, 2);
    end_job();
    single(1, 1);
    flow(4, 5, 5);
    end_job();
    ready();
    coflow_state_release(&st, 1, 0);
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 0, 1);
    st.now = 1;
    expect_order("wcp", (size_t[]){1, 0, 2}, 3);
    expect_order("jsebf-cp", (size_t[]){1, 0, 2}, 3);
}

/*
 * A job's keys are the same at the next decision on the same context
 * (the per-job marks are cleared after each one). build_pq(1, 3): jsebf
 * and jsebf-cp, P 3/1 = 3 > Q 6/3 = 2: Q first, twice. build_pq(2, 1):
 * wcp, P 4/2 = 2 < Q 3: P first, twice. (With the marks left set, the
 * second decision read P's work without p2's waiting 1 and unweighted:
 * 2 < 6, and wcp's P path 4 unweighted > 3.)
 */
Test(coflow_order, dag_keys_the_same_at_a_second_decision)
{
    build_pq(1, 3);
    expect_order_twice("jsebf", (size_t[]){2, 3, 0}, 3);
    expect_order_twice("jsebf-cp", (size_t[]){2, 3, 0}, 3);
    coflow_state_destroy(&st);
    st_ready = false;
    coflow_workload_destroy(&wl);
    coflow_workload_init(&wl, N_PORTS);
    build_pq(2, 1);
    expect_order_twice("wcp", (size_t[]){0, 2, 3}, 3);
}

/*
 * wcp's waiting coflow is ready when its LAST parent finished. Job R: r0
 * (coflow 0) 0->1 1 byte, r1 (1) 1->2 1 byte, r2 (2) 2->3 1 byte, roots;
 * r3 (3) after r1 and r2, compute 5, 3->4 1 byte. Job S: s1 (4) 5->0 5
 * bytes. r1 finishes at 1, r2 at 3; at now = 3 r3 is ready (computing
 * until 8): its path max(0, 3 + 5 - 3) + 1 = 6; r0's 1: R's path 6 > S's
 * 5: S first. (From the first parent's finish, 1 + 5 - 3 + 1 = 4 < 5.)
 */
Test(coflow_order, wcp_waits_for_the_last_parent)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 0);
    flow(1, 2, 1);
    cof(3, 0);
    flow(2, 3, 1);
    cof(4, 5);
    flow(3, 4, 1);
    parent(2);
    parent(3);
    end_job();
    single(1, 1);
    flow(5, 0, 5);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    coflow_state_release(&st, 4, 0);
    st.now = 1;
    finish_coflow(1);
    st.now = 3;
    finish_coflow(2);
    expect_order("wcp", (size_t[]){4, 0}, 2);
}

/*
 * Job R (arriving at `arrival`): r0 (coflow 0) 0->1 1 byte, released then;
 * r1 (1) a root with compute 5, 2->3 r1_bytes bytes, waiting. Job S (at
 * 0): s1 (2) 4->5 2 bytes, released at 0.
 */
static void build_waiting_root(double arrival, double r1_bytes)
{
    job(0, arrival, 1);
    cof(1, 0);
    flow(0, 1, 1);
    cof(2, 5);
    flow(2, 3, r1_bytes);
    end_job();
    single(1, 1);
    flow(4, 5, 2);
    end_job();
    ready();
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 0, arrival);
}

/*
 * A waiting root's inputs are ready at its job's arrival, not at 0:
 * build_waiting_root(10, 1) at now = 12: r1 computes until 15, R's path
 * max(1, 15 - 12 + 1) = 4 > S's 2: S first. (From 0, r1's compute would
 * be over: R's path 1 < 2.)
 */
Test(coflow_order, wcp_root_computes_from_the_jobs_arrival)
{
    build_waiting_root(10, 1);
    st.now = 12;
    expect_order("wcp", (size_t[]){2, 0}, 2);
}

/*
 * A driver may decide before it releases a coflow whose compute is over
 * (the gateway's timers): its remaining compute counts as 0, not less.
 * build_waiting_root(0, 3), r1 still waiting at now = 7: R's path
 * max(1, max(0, 5 - 7) + 3) = 3 > S's 2: S first. (Unclamped, -2 + 3 = 1:
 * R first.)
 */
Test(coflow_order, wcp_late_release_counts_no_negative_compute)
{
    build_waiting_root(0, 3);
    st.now = 7;
    expect_order("wcp", (size_t[]){2, 0}, 2);
}

/*
 * Aalo's queues past the second threshold (10 MiB x 10^k): jobs 0, 1, 2
 * (coflows released at 0, 1, 2) have sent 150, 50 and 1 MiB: queues 2
 * (100 <= 150 < 1000), 1 and 0: order 2 1 0.
 * next_change at now = 2 with rates 100, 1 and 0.1 MiB/s: job 0 reaches
 * 1000 MiB at 2 + 850 / 100 = 10.5, job 1 100 MiB at 2 + 50 = 52, job 2
 * 10 MiB at 2 + 9 / 0.1 = 92: 10.5.
 */
Test(coflow_order, aalo_queues_past_100_mib)
{
    for (int j = 0; j < 3; j++) {
        single(j, 1);
        flow((uint32_t)j, (uint32_t)j + 3, 1000 * MiB);
        end_job();
    }
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, (double)c);
    st.now = 2;
    set_remaining(0, 850 * MiB);
    set_remaining(1, 950 * MiB);
    set_remaining(2, 999 * MiB);
    expect_order("aalo", (size_t[]){2, 1, 0}, 3);

    const coflow_ordering_t *o = coflow_ordering_find("aalo");
    void *ctx = NULL;
    OK(o->create(&ctx, &st));
    size_t ids[3];
    size_t n = active_ids(ids);
    o->order(ctx, &st, ids, n);
    st.flow_rate[0] = 100 * MiB;
    st.flow_rate[1] = 1 * MiB;
    st.flow_rate[2] = 0.1 * MiB;
    double t = o->next_change(ctx, &st);
    cr_assert(fabs(t - 10.5) < 1e-9, "next_change %.12g, expected 10.5", t);
    o->destroy(ctx);
}

/*
 * A job's rate toward its next threshold is all its coflows' rates: job 0
 * has two active coflows (0: 0->3, 1: 1->4, 100 MiB each) at 1 MiB/s
 * each, job 1 one (2: 2->5, 100 MiB) at 1.5 MiB/s, nothing sent, now 0.
 * Job 0 reaches 10 MiB at 10 / 2 = 5, job 1 at 10 / 1.5 = 6.67: 5.
 */
Test(coflow_order, aalo_next_change_adds_a_jobs_coflows)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 3, 100 * MiB);
    cof(2, 0);
    flow(1, 4, 100 * MiB);
    end_job();
    single(1, 1);
    flow(2, 5, 100 * MiB);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    const coflow_ordering_t *o = coflow_ordering_find("aalo");
    void *ctx = NULL;
    OK(o->create(&ctx, &st));
    size_t ids[3];
    size_t n = active_ids(ids);
    o->order(ctx, &st, ids, n);
    st.flow_rate[0] = st.flow_rate[1] = 1 * MiB;
    st.flow_rate[2] = 1.5 * MiB;
    double t = o->next_change(ctx, &st);
    cr_assert(fabs(t - 5) < 1e-9, "next_change %.12g, expected 5", t);
    o->destroy(ctx);
}

/*
 * The same from the allocator's list of rated flows, with a job's coflows
 * apart in the list. Job 0: coflow 0 (f0 0->3) released at 0, coflow 1
 * (f1 1->4, f2 2->5) at 1; job 1: coflow 2 (f3 3->0) at 0; 100 MiB each,
 * nothing sent, now 1. The list is 0 2 1; f0, f1, f2 are rated at 1 MiB/s,
 * f3 at 2.5. Job 0 moves at 1 + 1 + 1 = 3 MiB/s and reaches 10 MiB at 1 +
 * 10/3; job 1 at 1 + 10/2.5 = 5: 1 + 10/3. Counting one flow of coflow 1,
 * or job 0's coflows after the gap alone, gives 2 MiB/s and 6, so 5.
 */
Test(coflow_order, aalo_next_change_from_the_rated_list)
{
    job(0, 0, 1);
    cof(1, 0);
    flow(0, 3, 100 * MiB);
    cof(2, 0);
    flow(1, 4, 100 * MiB);
    flow(2, 5, 100 * MiB);
    end_job();
    single(1, 1);
    flow(3, 0, 100 * MiB);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 2, 0);
    coflow_state_release(&st, 1, 1);
    st.now = 1;
    const coflow_ordering_t *o = coflow_ordering_find("aalo");
    void *ctx = NULL;
    OK(o->create(&ctx, &st));
    size_t ids[3];
    size_t n = active_ids(ids);
    cr_assert(n == 3 && ids[0] == 0 && ids[1] == 2 && ids[2] == 1, "the premise: list 0 2 1");
    o->order(ctx, &st, ids, n);
    static const double rate[4] = {1, 1, 1, 2.5};
    st.n_rated = 0;
    for (size_t f = 0; f < 4; f++) {
        st.flow_rate[f] = rate[f] * MiB;
        st.rated[st.n_rated++] = f;
    }
    double t = o->next_change(ctx, &st);
    cr_assert(fabs(t - (1 + 10.0 / 3)) < 1e-9, "next_change %.12g, expected %.12g", t,
              1 + 10.0 / 3);
    o->destroy(ctx);
}

/*
 * Given coflows released together out of index order (not as coflow.h
 * promises), aalo still orders them by index within a queue: 1 0 comes
 * back 0 1.
 */
Test(coflow_order, aalo_sorts_ids_given_out_of_order)
{
    for (int j = 0; j < 2; j++) {
        single(j, 1);
        flow((uint32_t)j, (uint32_t)j + 3, MiB);
        end_job();
    }
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    size_t ids[2] = {1, 0};
    run_order("aalo", ids, 2);
    cr_assert(ids[0] == 0 && ids[1] == 1, "aalo ordered [%zu %zu], expected [0 1]", ids[0],
              ids[1]);
}

/*
 * Sincronia's loads are times, bytes over the port's capacity: A (coflow
 * 0) 0->1 4 bytes through out0 and in1 at cap bytes/s (cap = 4: loads 1;
 * cap 3 with 3 bytes: 1), B (coflow 1) 2->3 2 bytes at 1 byte/s (loads 2).
 * The bottleneck is out2 (2, touched before in3): B goes last: A B. In
 * bytes A's 4 (or 3) would be the heaviest: B A. Twice on one context:
 * the first build of the loads and their refresh.
 */
static void expect_loads_are_times(double cap)
{
    single(0, 1);
    flow(0, 1, cap);
    end_job();
    single(1, 1);
    flow(2, 3, 2);
    end_job();
    fab.cap_out[0] = fab.cap_in[1] = cap;
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    expect_order_twice("sincronia", (size_t[]){0, 1}, 2);
}

Test(coflow_order, sincronia_loads_are_times_powers_of_two) { expect_loads_are_times(4); }

Test(coflow_order, sincronia_loads_are_times_quotients) { expect_loads_are_times(3); }

/*
 * The scaling step takes w* d(c,b) / d(c*,b) from each other coflow on b
 * (weights 1, ports 1-3):
 *   A (coflow 0): 1->2 5, 1->3 2   loads out1 7, in2 5, in3 2
 *   B (coflow 1): 2->3 6           loads out2 6, in3 6
 *   C (coflow 2): 2->1 5, 1->1 1   loads out2 5, in1 6, out1 1
 * Totals: out1 8, in1 6, out2 11, in2 5, in3 8.
 * Round 1: out2 (11): B 1/6 < C 1/5: B last; w_C = 1 - 5/6 = 1/6.
 * Round 2 (B gone): out1 8 is the most loaded: A 1/7 < C (1/6)/1: A goes
 *   last of the two. Order C A B. (Scaled by 6/5 instead, w_C would be
 *   below 0, held at 0, and C would go last: A C B.)
 */
Test(coflow_order, sincronia_scales_by_the_ratio_of_loads)
{
    single(0, 1);
    flow(1, 2, 5);
    flow(1, 3, 2);
    end_job();
    single(1, 1);
    flow(2, 3, 6);
    end_job();
    single(2, 1);
    flow(2, 1, 5);
    flow(1, 1, 1);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    expect_order("sincronia", (size_t[]){2, 0, 1}, 3);
}

/*
 * A coflow behind a full port waits under MADD: no trickle from the
 * rounding residue the first coflow's pace (a hair below its bottleneck)
 * leaves on that port. A (coflow 0): 0->1 4 bytes: Gamma 4, rate a hair
 * below 1, out0 left with about 1e-12 of its capacity: full (below
 * COFLOW_RATE_EPS). C (coflow 1): 0->3 2 bytes, 4->5 2 bytes: out0 is
 * full, so Gamma is infinite and C is not paced; the backfill finds out0
 * full for 0->3 (exactly 0, not listed) and gives 4->5 all of out4: 1.
 * (Paced over the residue, 0->3 would trickle at 2 / (2 / 1e-12).)
 */
Test(coflow_alloc, madd_behind_a_full_port_gets_exactly_nothing)
{
    single(0, 1);
    flow(0, 1, 4);
    end_job();
    single(1, 1);
    flow(0, 3, 2);
    flow(4, 5, 2);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    run_alloc("madd", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    cr_assert(st.flow_rate[1] == 0, "C's 0->3 trickles at %.17g bytes/s", st.flow_rate[1]);
    expect_rate(2, 1);
    cr_assert_eq(st.n_rated, 2);
}

/* Finishes flow f with `residue` of its bytes not subtracted from its
 * coflow's cached per-port sums (as a large flow's rounding can leave them,
 * coflow.h, cport_comp), which stay current. */
static void finish_leaving(size_t f, double residue)
{
    coflow_state_port_bytes(&st, coflow_of_flow(f));
    st.flow_remaining[f] -= residue;
    coflow_state_finish_flow(&st, f);
}

/*
 * A full port whose bytes left are only in their rounding compensation
 * still blocks a coflow. C (coflow 1): 0->3 1e16 bytes, 0->4 1, 2->5 1:
 * out0 sums to 1e16 (1e16 + 1 rounds to it) with 1 in cport_comp. 0->3
 * leaves, and the cache's subtraction leaves out0 at 0 bytes and 1 of
 * compensation. A (coflow 0): 0->1 4 is paced to 1 - 1e-12, which fills
 * out0 within COFLOW_RATE_EPS. So C waits (out2 free, it can move) and the
 * backfill gives 2->5 all of out2 and 0->4 exactly nothing; a test of the
 * sum's rounded half alone would pace C over out0's residue of 1e-12.
 */
Test(coflow_alloc, madd_blocks_on_bytes_left_in_the_compensation)
{
    single(0, 1);
    flow(0, 1, 4);
    end_job();
    single(1, 1);
    flow(0, 3, 1e16);
    flow(0, 4, 1);
    flow(2, 5, 1);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    const double *bytes = coflow_state_port_bytes(&st, 1);
    size_t out0 = 0; /* C's senders come first in its cports, in port order */
    cr_assert(bytes[out0] == 1e16 && st.cport_comp[st.cport_start[1] + out0] == 1,
              "out0 sums to %.17g + %.17g", bytes[out0], st.cport_comp[st.cport_start[1]]);
    finish_leaving(1, 0);
    bytes = coflow_state_port_bytes(&st, 1);
    cr_assert(bytes[out0] == 0 && st.cport_comp[st.cport_start[1] + out0] == 1,
              "out0 keeps %.17g + %.17g", bytes[out0], st.cport_comp[st.cport_start[1]]);
    run_alloc("madd", (size_t[]){0, 1}, 2);
    expect_rate(0, 1);
    cr_assert(st.flow_rate[2] == 0, "C's 0->4 trickles at %.17g bytes/s", st.flow_rate[2]);
    expect_rate(3, 1);
    cr_assert_eq(st.n_rated, 2);
}

/*
 * A port of a coflow with no open flow left holds it back in nothing, even
 * with bytes left in its sum and no capacity free. A (coflow 0): 0->1 4,
 * 3->5 4, paced to 1 - 1e-12: out0 and in5 full. C (coflow 1): 0->5 1,
 * 2->3 1, 2->4 1; 0->5 leaves with 2^-20 of its byte not subtracted from
 * the sums, a residue at out0 (a pair of C's senders, out0 out2) and in5
 * (after the pair in3 in4 of its receivers). D (coflow 2): 5->3 1.
 *   C: Gamma = out2's 2 / 1 = 2: 2->3 and 2->4 get 1/2.
 *   D: in3 has 1/2 free: Gamma 2, rate 1/2. The backfill finds no room.
 * Counted, either residue over its port's 1e-12 free would pace C to a
 * millionth, and D would take in3.
 */
Test(coflow_alloc, madd_a_port_without_open_flows_sets_no_pace)
{
    single(0, 1);
    flow(0, 1, 4);
    flow(3, 5, 4);
    end_job();
    single(1, 1);
    flow(0, 5, 1);
    flow(2, 3, 1);
    flow(2, 4, 1);
    end_job();
    single(2, 1);
    flow(5, 3, 1);
    end_job();
    ready();
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    finish_leaving(2, 0x1p-20);
    const double *bytes = coflow_state_port_bytes(&st, 1);
    cr_assert(bytes[0] == 0x1p-20 && bytes[4] == 0x1p-20, "residues %g %g", bytes[0], bytes[4]);
    run_alloc("madd", (size_t[]){0, 1, 2}, 3);
    expect_rate(3, 0.5);
    expect_rate(4, 0.5);
    expect_rate(5, 0.5);
}

/*
 * Under lazy pacing (coflow.h) the same holds for the use madd counts:
 * C (coflow 0): 0->5 1, 2->3 1; 0->5 leaves with 2^-20 of its byte not
 * subtracted, a residue at out0 and in5. D (coflow 1): 0->4 4.
 *   C: Gamma 1 (out2, in3), pace (1 - 1e-12) / 1; out0 is not its to use.
 *   D: out0 all free: Gamma 4, pace (1 - 1e-12) / 4.
 * Counting the residue's use at out0 would slow D to (1 - 2^-20) / 4.
 */
Test(coflow_alloc, madd_lazy_counts_no_use_at_a_port_without_open_flows)
{
    single(0, 1);
    flow(0, 5, 1);
    flow(2, 3, 1);
    end_job();
    single(1, 1);
    flow(0, 4, 4);
    end_job();
    ready();
    coflow_state_release(&st, 0, 0);
    coflow_state_release(&st, 1, 0);
    finish_leaving(0, 0x1p-20);
    double pace[2] = {0, 0};
    size_t paced[2];
    st.pace = pace;
    st.paced = paced;
    st.n_paced = 0;
    run_alloc("madd", (size_t[]){0, 1}, 2);
    cr_assert_eq(st.n_paced, 2);
    cr_assert(fabs(pace[0] - (1 - 1e-12)) < 1e-15, "C's pace %.17g", pace[0]);
    cr_assert(fabs(pace[1] - (1 - 1e-12) / 4) < 1e-15, "D's pace %.17g", pace[1]);
    st.pace = NULL;
}

/*
 * The greedy allocator's memory of its last pass (coflow_state_keep_greedy_
 * prefix) replays no more of it than the last pass walked. A (coflow 0):
 * 0->1; B (coflow 1): 2->3, 4->5; C (coflow 2): 4->0.
 *   A B C: 0->1, 2->3 and 4->5 get 1; C finds out4 full.
 *   4->5 finishes; A B (C left out): A replayed, B walked: 2->3 gets 1.
 *   A B C: A and B replayed; C walked: out4 and in0 are free: 4->0 gets 1.
 * C is where it stood in the first pass, with the same open flows, but
 * what that pass gave it followed B's flows then: replayed, it would hand
 * the finished 4->5 its old rate and C nothing.
 */
Test(coflow_alloc, greedy_replays_no_more_than_its_last_pass)
{
    single(0, 1);
    flow(0, 1, 1);
    end_job();
    single(1, 1);
    flow(2, 3, 1);
    flow(4, 5, 1);
    end_job();
    single(2, 1);
    flow(4, 0, 1);
    end_job();
    ready();
    OK(coflow_state_keep_greedy_prefix(&st));
    for (size_t c = 0; c < 3; c++)
        coflow_state_release(&st, c, 0);
    run_alloc("greedy", (size_t[]){0, 1, 2}, 3);
    expect_rate(2, 1);
    expect_rate(3, 0);
    coflow_state_finish_flow(&st, 2);
    run_alloc("greedy", (size_t[]){0, 1}, 2);
    run_alloc("greedy", (size_t[]){0, 1, 2}, 3);
    expect_rate(0, 1);
    expect_rate(1, 1);
    expect_rate(2, 0);
    expect_rate(3, 1);
    size_t replayed, walked;
    coflow_greedy_prefix_counts(&st, &replayed, &walked);
    cr_assert_eq(replayed, 3, "replayed %zu coflows", replayed);
}
