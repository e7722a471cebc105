/*
 * test_train.c - the trainer (train/): a few seconds of REINFORCE from a
 * random model measurably improve a toy workload whose best order is known
 * (Smith's rule); imitation fits the teacher; a run resumed from a
 * checkpoint ends with the same parameters, bit for bit, as an
 * uninterrupted one, and so does a run on another number of threads; a
 * decision's imitation gradient through the scorer and the encoder agrees
 * with finite differences through the emulator; bad
 * checkpoints and settings are refused with messages naming what is wrong;
 * and `weft train` / `weft eval` do the same from the command line.
 *
 * The toy: J jobs, all arriving at 0, each one coflow of one flow from
 * port 0 to port 1 (so only one moves at a time under greedy rates) with
 * sizes and weights chosen so that the order matters a lot. On one link,
 * the weighted completion time is minimised by Smith's rule: descending
 * weight / size (Smith 1956), which gives the optimum computed below.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "suite_tmpdir.h"
#include "dag/dag.h"
#include "attention/attn.h"
#include "netsim/netsim.h"
#include "train/loss.h"
#include "train/train.h"
#include "train/train_internal.h"
#include "workload/workload.h"

#define TIMEOUT 120
#define TOY_JOBS 8

static coflow_workload_t toy;

/* Sizes in bytes (at 1 Gbit/s: 8 ms per MB) and weights of the toy jobs. */
static const double toy_mb[TOY_JOBS] = {40, 2, 30, 4, 25, 3, 35, 5};
static const double toy_w[TOY_JOBS] = {1, 5, 1, 4, 2, 5, 1, 3};

/* The toy: its jobs all arriving at 0 (gap 0), or job j at j * gap
 * seconds, listed in that order or, with reversed, last to first (a file
 * may list its jobs in any order). */
static void build_toy_arriving(coflow_workload_t *w, double gap, bool reversed)
{
    coflow_workload_init(w, 2);
    for (size_t i = 0; i < TOY_JOBS; i++) {
        size_t j = reversed ? TOY_JOBS - 1 - i : i;
        cr_assert_eq(coflow_workload_add_job(w, (int64_t)j, (double)j * gap, toy_w[j], 0),
                     WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(w, 0, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(w, 0, 1, toy_mb[j] * 1e6), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(w), WEFT_OK, "%s", weft_last_error());
    }
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(w, &fab), WEFT_OK, "%s", weft_last_error());
    coflow_fabric_destroy(&fab);
}

static void build_toy(coflow_workload_t *w) { build_toy_arriving(w, 0, false); }

/* Average weighted JCT of the toy under Smith's rule, by hand. */
static double smith_optimum(void)
{
    size_t idx[TOY_JOBS];
    for (size_t i = 0; i < TOY_JOBS; i++)
        idx[i] = i;
    for (size_t i = 0; i < TOY_JOBS; i++) /* selection sort by w / size, descending */
        for (size_t k = i + 1; k < TOY_JOBS; k++)
            if (toy_w[idx[k]] / toy_mb[idx[k]] > toy_w[idx[i]] / toy_mb[idx[i]]) {
                size_t x = idx[i];
                idx[i] = idx[k];
                idx[k] = x;
            }
    double t = 0, s = 0;
    for (size_t i = 0; i < TOY_JOBS; i++) {
        t += toy_mb[idx[i]] * 1e6 / WEFT_GBPS_BYTES;
        s += toy_w[idx[i]] * t;
    }
    return s / TOY_JOBS;
}

static void setup(void)
{
    build_toy(&toy);
    tmpdir_make("weft-train");
}

static void teardown(void)
{
    tmpdir_remove();
    coflow_workload_destroy(&toy);
}

TestSuite(train, .init = setup, .fini = teardown, .timeout = TIMEOUT);

static void toy_config(train_config_t *c)
{
    train_config_default(c);
    c->seed = 3;
    c->imitate_iters = c->dagger_iters = 0;
    c->episodes = 2;
    c->rollouts = 6;
    c->jobs_min = c->jobs_max = TOY_JOBS;
    c->curriculum_iters = 0;
    c->lr_rl = 1e-2;
    c->entropy = 0;
    c->differential = false;
}

static void start(train_t *t, const train_config_t *c, uint64_t model_seed)
{
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, model_seed), WEFT_OK);
    cr_assert_eq(train_init(t, c, &m, &toy, 1), WEFT_OK, "%s", weft_last_error());
}

static double greedy_wjct(const coflow_learned_model_t *m)
{
    double w;
    cr_assert_eq(train_evaluate(m, "greedy", &toy, 1, 1, &w, NULL), WEFT_OK, "%s",
                 weft_last_error());
    return w;
}

Test(train, reinforce_improves_toy_towards_smith_rule)
{
    train_config_t c;
    toy_config(&c);
    c.iterations = 40;
    /* the worst of 20 random models on the toy, so there is room to learn */
    uint64_t worst = 0;
    double worst_w = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        coflow_learned_model_t m;
        cr_assert_eq(coflow_learned_model_random(&m, seed), WEFT_OK);
        m.set_changes_only = true;
        double w = greedy_wjct(&m);
        if (w > worst_w)
            worst_w = w, worst = seed;
        coflow_learned_model_destroy(&m);
    }
    train_t t;
    start(&t, &c, worst);
    double opt = smith_optimum(), before = greedy_wjct(&t.model);
    cr_assert(before > opt * 1.2, "random init already near optimal: %g vs %g", before, opt);
    train_stats_t s;
    for (size_t i = 0; i < c.iterations; i++)
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(s.replay_mismatches, 0, "replays diverged from their first pass");
    double after = greedy_wjct(&t.model);
    cr_log_info("toy: random %g -> trained %g, optimum %g", before, after, opt);
    cr_assert(after >= opt * (1 - 1e-9), "better than the optimum? %g < %g", after, opt);
    /* at least half of the gap to the optimum closed */
    cr_assert(after - opt < 0.5 * (before - opt),
              "avg weighted JCT %g -> %g, optimum %g: not improved enough", before, after, opt);
    train_destroy(&t);
}

Test(train, imitation_fits_the_teacher)
{
    train_config_t c;
    toy_config(&c);
    c.teacher = "sincronia"; /* weighted: on one link it is Smith's rule */
    c.imitate_iters = 25;
    c.iterations = 25;
    c.lr_imitate = 1e-2;
    train_t t;
    start(&t, &c, 5);
    train_stats_t s;
    double first_loss = NAN;
    for (size_t i = 0; i < c.iterations; i++) {
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(s.phase, TRAIN_IMITATE);
        if (i == 0)
            first_loss = s.loss;
    }
    cr_assert(s.loss < 0.5 * first_loss, "NLL %g -> %g", first_loss, s.loss);
    double sinc;
    cr_assert_eq(train_evaluate_policy("sincronia", "greedy", NULL, &toy, 1, 1, WEFT_GBPS_BYTES,
                                       &sinc, NULL),
                 WEFT_OK);
    double after = greedy_wjct(&t.model);
    cr_assert(after <= sinc * 1.05, "imitation gives %g, the teacher %g", after, sinc);
    train_destroy(&t);
}

static void assert_same_params(const coflow_learned_model_t *a, const coflow_learned_model_t *b)
{
    cr_assert_eq(a->gp.n, b->gp.n);
    cr_assert_eq(a->ap.n, b->ap.n);
    cr_assert(memcmp(a->gp.memory, b->gp.memory, a->gp.n * sizeof *a->gp.memory) == 0,
              "encoder parameters differ");
    cr_assert(memcmp(a->ap.memory, b->ap.memory, a->ap.n * sizeof *a->ap.memory) == 0,
              "scorer parameters differ");
}

/* One iteration of each phase and two of REINFORCE, on a multi-job
 * window so the curriculum and windows matter. */
static void mixed_config(train_config_t *c)
{
    toy_config(c);
    c->imitate_iters = 1;
    c->dagger_iters = 1;
    c->iterations = 5;
    c->rollouts = 3;
    c->jobs_min = 4;
    c->curriculum_iters = 3;
    c->entropy = 0.05;
    c->differential = true;
    c->lr_rl_end = 1e-3; /* the schedule depends on the iteration only */
}

/* Runs t's iterations up to n. */
static void iterate_to(train_t *t, size_t n)
{
    train_stats_t s;
    while (t->iter < n)
        cr_assert_eq(train_iteration(t, &s), WEFT_OK, "%s", weft_last_error());
}

/* A run of config c from model 9 stopped at iteration n, its checkpoint
 * written to path; into a, the same run to c's end. */
static void run_and_stop(train_t *a, const train_config_t *c, size_t n, const char *path)
{
    start(a, c, 9);
    iterate_to(a, n);
    cr_assert_eq(train_checkpoint_save(a, path), WEFT_OK, "%s", weft_last_error());
    iterate_to(a, c->iterations);
}

Test(train, resumed_run_ends_with_the_same_parameters)
{
    train_config_t c;
    mixed_config(&c);
    train_t a, b;
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    run_and_stop(&a, &c, 3, path);

    start(&b, &c, 1234); /* other parameters: the checkpoint must replace them */
    cr_assert_eq(train_checkpoint_load(&b, path), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(b.iter, 3);
    iterate_to(&b, c.iterations);
    assert_same_params(&a.model, &b.model);
    cr_assert_eq(a.step, b.step);
    train_destroy(&a);
    train_destroy(&b);
}

Test(train, thread_count_does_not_change_the_result)
{
    train_config_t c;
    mixed_config(&c);
    c.iterations = 3;
    train_t a, b;
    train_stats_t s;
    c.threads = 1;
    start(&a, &c, 2);
    c.threads = 3;
    start(&b, &c, 2);
    for (size_t i = 0; i < c.iterations; i++) {
        cr_assert_eq(train_iteration(&a, &s), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(train_iteration(&b, &s), WEFT_OK, "%s", weft_last_error());
    }
    assert_same_params(&a.model, &b.model);
    train_destroy(&a);
    train_destroy(&b);
}

/* Trains c from random model 4 until an iteration fails; checks the error
 * names that iteration (1-based), its phase and `what`, and that the
 * trainer is left as the iteration before it left it. */
static void expect_divergence(const train_config_t *c, size_t fail_at, const char *phase,
                              const char *what)
{
    train_t t;
    train_stats_t s;
    start(&t, c, 4);
    for (size_t i = 1; i < fail_at; i++)
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "iteration %zu: %s", i,
                     weft_last_error());
    coflow_learned_model_t before;
    cr_assert_eq(coflow_learned_model_copy(&before, &t.model), WEFT_OK);
    uint64_t step = t.step;
    cr_assert_eq(train_iteration(&t, &s), WEFT_EINVAL, "iteration %zu did not fail", fail_at);
    char want[64];
    snprintf(want, sizeof want, "iteration %zu (%s)", fail_at, phase);
    const char *msg = weft_last_error();
    cr_assert(strstr(msg, want) && strstr(msg, what) && strstr(msg, "diverged"), "%s", msg);
    cr_assert_eq(t.iter, fail_at - 1, "the failed iteration was counted");
    cr_assert_eq(t.step, step, "the failed iteration took an Adam step");
    assert_same_params(&before, &t.model);
    coflow_learned_model_destroy(&before);
    train_destroy(&t);
}

Test(train, divergence_stops_with_the_iteration_and_phase)
{
    train_config_t c;
    mixed_config(&c);
    /* huge but finite parameters after the first step: scores overflow,
       and the next imitation loss is NaN */
    c.lr_imitate = 1e30;
    expect_divergence(&c, 2, "dagger", "the loss is nan");
    /* a step so large the parameters themselves overflow float */
    c.lr_imitate = 1e300;
    expect_divergence(&c, 1, "imitate", "the encoder's parameters would hold a NaN");
    /* REINFORCE: no loss, the gradient norm tells */
    mixed_config(&c);
    c.imitate_iters = c.dagger_iters = 0;
    c.lr_rl = 1e30;
    expect_divergence(&c, 2, "reinforce", "the gradient norm is nan");
}

Test(train, bad_checkpoints_are_refused)
{
    train_config_t c;
    mixed_config(&c);
    train_t t;
    start(&t, &c, 1);
    char path[128], msg[512];

    snprintf(path, sizeof path, "%s/none.msgpack", tmpdir);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_EIO);
    cr_assert(strstr(weft_last_error(), path), "%s", weft_last_error());

    /* a directory: said so, not "9223372036854775807 bytes" */
    cr_assert_eq(train_checkpoint_load(&t, tmpdir), WEFT_EIO);
    snprintf(msg, sizeof msg, "%s", weft_last_error());
    cr_assert(strstr(msg, "is a directory") && strstr(msg, tmpdir), "%s", msg);

    /* a plain model file is not a checkpoint */
    snprintf(path, sizeof path, "%s/model.msgpack", tmpdir);
    cr_assert_eq(coflow_learned_model_save(&t.model, path), WEFT_OK);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_ENOTFOUND);
    snprintf(msg, sizeof msg, "%s", weft_last_error());
    cr_assert(strstr(msg, "not a training checkpoint") && strstr(msg, path), "%s", msg);

    /* another seed's checkpoint */
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK);
    train_destroy(&t);
    c.seed = 99;
    start(&t, &c, 1);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_EINVAL);
    snprintf(msg, sizeof msg, "%s", weft_last_error());
    cr_assert(strstr(msg, "seed 3") && strstr(msg, "seed 99"), "%s", msg);

    /* garbage */
    snprintf(path, sizeof path, "%s/junk.msgpack", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("not msgpack at all", f);
    fclose(f);
    cr_assert_lt(train_checkpoint_load(&t, path), 0);
    cr_assert(strstr(weft_last_error(), path), "%s", weft_last_error());
    cr_assert_eq(t.iter, 0, "a failed load changed the trainer");
    train_destroy(&t);
}

Test(train, checkpoint_carries_the_best_model)
{
    train_config_t c;
    mixed_config(&c);
    train_t t, u;
    train_stats_t s;
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    start(&t, &c, 9);
    coflow_learned_model_t m;
    cr_assert_eq(train_best_model(&t, &m), WEFT_ENOTFOUND, "a best model before any");
    cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert(train_keep_best(&t, 0.9));
    coflow_learned_model_t at1;
    cr_assert_eq(coflow_learned_model_copy(&at1, &t.model), WEFT_OK);
    cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert_not(train_keep_best(&t, 0.95), "a worse ratio became the best");
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());

    start(&u, &c, 1234);
    cr_assert_eq(train_checkpoint_load(&u, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(u.has_best && u.best_val == 0.9 && u.best_iter == 1, "best %g @%zu", u.best_val,
              u.best_iter);
    cr_assert_eq(train_best_model(&u, &m), WEFT_OK, "%s", weft_last_error());
    assert_same_params(&m, &at1); /* iteration 1's, not the current model */
    cr_assert(m.set_changes_only && m.prior == at1.prior);
    coflow_learned_model_destroy(&m);
    coflow_learned_model_destroy(&at1);
    train_destroy(&u);
    /* a checkpoint made before any validation has none */
    train_destroy(&t);
    start(&t, &c, 9);
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    start(&u, &c, 9);
    cr_assert(train_keep_best(&u, 0.5));
    cr_assert_eq(train_checkpoint_load(&u, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(!u.has_best && isinf(u.best_val), "the loaded trainer kept a best model");
    train_destroy(&t);
    train_destroy(&u);
}

/* Saves a checkpoint of a fresh trainer of config c (model 1, prior p). */
static void save_checkpoint(const train_config_t *c, float prior, const char *path)
{
    train_t t;
    start(&t, c, 1);
    t.model.prior = prior;
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    train_destroy(&t);
}

/* Loads path into a trainer of config c (on pool[n_pool]); checks it fails
 * with err and a message holding a and b, and leaves the trainer as it was. */
static void expect_refused(const train_config_t *c, const coflow_workload_t *pool,
                           size_t n_pool, const char *path, weft_err_t want, const char *a,
                           const char *b)
{
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 2), WEFT_OK);
    train_t t;
    cr_assert_eq(train_init(&t, c, &m, pool, n_pool), WEFT_OK, "%s", weft_last_error());
    float first = t.gm.memory[0];
    cr_assert_eq(train_checkpoint_check(&t, path), want, "%s", weft_last_error());
    weft_err_t err = train_checkpoint_load(&t, path);
    const char *msg = weft_last_error();
    cr_assert_eq(err, want, "got %d (%s), wanted %d", err, msg, want);
    cr_assert(strstr(msg, path) && strstr(msg, a) && (!b || strstr(msg, b)), "%s", msg);
    cr_assert(t.iter == 0 && t.gm.memory[0] == first, "a failed load changed the trainer");
    train_destroy(&t);
}

Test(train, resume_refuses_other_settings)
{
    train_config_t c, d;
    mixed_config(&c);
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    save_checkpoint(&c, 0, path);
    d = c;
    d.rollouts = 4;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "rollouts 3 (--rollouts), this run has 4",
                   NULL);
    d = c;
    d.teacher = "sincronia";
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "teacher jsebf (--teacher)", "sincronia");
    d = c;
    d.lr_rl = 2e-2;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "lr_rl 0.01 (--lr-rl)", "has 0.02");
    d = c;
    d.differential = false;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "differential on", "has off");
    d = c;
    d.allocator = "greedy";
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "allocator madd (--allocator)", "greedy");
    /* the REINFORCE learning rate decays over --iters: they must match */
    d = c;
    d.iterations = 9;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "iterations 5 (--iters), this run has 9",
                   NULL);
    /* other training workloads: here the toy twice */
    coflow_workload_t two[2] = {toy, toy};
    expect_refused(&c, two, 2, path, WEFT_EINVAL, "other training workloads (1", "has 2");
    /* the teacher prior lives in the model: --prior must match too */
    save_checkpoint(&c, 3, path);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "prior 3", "this run's 0");
    /* a constant learning rate: more iterations continue the same run;
       threads never change the result */
    c.lr_rl_end = 0;
    save_checkpoint(&c, 0, path);
    d = c;
    d.iterations = 9;
    d.threads = 1;
    train_t t;
    start(&t, &d, 2);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_OK, "%s", weft_last_error());
    train_destroy(&t);
}

/* The settings only imitation and DAgger read (--teacher, --lr-imitate,
 * --topk) are not compared on a resume of a run with neither phase: a
 * resume with others ends with the parameters of an uninterrupted run
 * (it was refused, "checkpoint was made with teacher jsebf", though no
 * iteration reads the teacher). With a phase that reads them they are. */
Test(train, resume_without_imitation_takes_other_imitation_settings)
{
    train_config_t c, d;
    toy_config(&c);
    c.iterations = 4;
    train_t a, b;
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    run_and_stop(&a, &c, 2, path);
    d = c;
    d.teacher = "sincronia";
    d.lr_imitate = 0.5;
    d.imitate_topk = 2;
    start(&b, &d, 1234);
    cr_assert_eq(train_checkpoint_load(&b, path), WEFT_OK, "%s", weft_last_error());
    iterate_to(&b, d.iterations);
    assert_same_params(&a.model, &b.model);
    train_destroy(&a);
    train_destroy(&b);
    /* a DAgger phase reads them all */
    c.dagger_iters = 1;
    save_checkpoint(&c, 0, path);
    d.dagger_iters = 1;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "teacher jsebf (--teacher)", "sincronia");
    d.teacher = c.teacher;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "lr_imitate 0.003 (--lr-imitate)", "0.5");
    d.lr_imitate = c.lr_imitate;
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "imitate_topk 8 (--topk)", "has 2");
}

/* Rewrites the checkpoint at path with its int `name` removed (drop) or
 * set to value, and/or float k of vector vec set to x, or with drop the
 * vectors whose names start with vec removed (there must be one). */
static void edit_checkpoint(const char *path, const char *name, bool drop, int64_t value,
                            const char *vec, size_t k, float x)
{
    attn_model_file_t mf, out;
    attn_model_init(&mf);
    attn_model_init(&out);
    cr_assert_eq(attn_model_load(path, &mf), WEFT_OK, "%s", weft_last_error());
    for (size_t i = 0; i < mf.n_ints; i++)
        if (!(drop && name && !strcmp(mf.ints[i].name, name)))
            cr_assert_eq(attn_model_set_int(&out, mf.ints[i].name,
                                            name && !strcmp(mf.ints[i].name, name)
                                                ? value : mf.ints[i].value), WEFT_OK);
    size_t dropped = 0;
    for (size_t i = 0; i < mf.n_vecs; i++) {
        if (drop && vec && !strncmp(mf.vecs[i].name, vec, strlen(vec))) {
            dropped++;
            continue;
        }
        if (vec && !strcmp(mf.vecs[i].name, vec))
            mf.vecs[i].data[k] = x;
        cr_assert_eq(attn_model_set_vector(&out, mf.vecs[i].name, mf.vecs[i].data,
                                           mf.vecs[i].n), WEFT_OK);
    }
    cr_assert(!(drop && vec) || dropped > 0, "no vector %s* in %s", vec, path);
    for (size_t i = 0; i < mf.n_tensors; i++)
        cr_assert_eq(attn_model_set_tensor(&out, mf.tensors[i].name, mf.tensors[i].ndim,
                                           mf.tensors[i].shape, mf.tensors[i].data), WEFT_OK);
    cr_assert_eq(attn_model_save(path, &out), WEFT_OK);
    attn_model_destroy(&mf);
    attn_model_destroy(&out);
}

Test(train, resume_refuses_old_format_and_bad_values)
{
    train_config_t c;
    mixed_config(&c);
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    /* a checkpoint of format 1 recorded no settings: refused as such */
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, "train.format", true, 0, NULL, 0, 0);
    expect_refused(&c, &toy, 1, path, WEFT_EVERSION, "format 1", "settings");
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, "train.format", false, 3, NULL, 0, 0);
    expect_refused(&c, &toy, 1, path, WEFT_EVERSION, "format 3", NULL);
    /* Adam's moments: finite, the second ones >= 0 */
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, NULL, false, 0, "train.adam_m.attn", 5, NAN);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "train.adam_m.attn element 5 is nan", NULL);
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, NULL, false, 0, "train.adam_v.gnn", 7, -1);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "train.adam_v.gnn element 7 is -1", ">= 0");
    /* the reward average and the counters */
    double inf = INFINITY;
    int64_t bits;
    memcpy(&bits, &inf, sizeof bits);
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, "train.rate_ema_bits", false, bits, NULL, 0, 0);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "reward average is inf", NULL);
    save_checkpoint(&c, 0, path);
    edit_checkpoint(path, "train.step", false, 4, NULL, 0, 0);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "Adam step 4", "iteration 0");
}

Test(train, bad_settings_are_refused)
{
    train_config_t c;
    toy_config(&c);
    c.rollouts = 1;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "rollouts 1"), "%s", weft_last_error());
    toy_config(&c);
    c.teacher = "learned";
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "teacher 'learned'"), "%s", weft_last_error());
    /* a typo's million million episodes: refused at once, not out of
       memory after the reference runs (the product overflows no size_t) */
    toy_config(&c);
    c.episodes = 1000000000000;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "1000000000000 episodes of"), "%s", weft_last_error());
    c.episodes = TRAIN_MAX_RUNS / c.rollouts;
    cr_assert_eq(train_config_check(&c), WEFT_OK, "%s", weft_last_error());
    c.rollouts = SIZE_MAX;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    /* the rate decays to --lr-rl-end: one above --lr-rl is a slip */
    toy_config(&c);
    c.lr_rl_end = 10 * c.lr_rl;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "above the first"), "%s", weft_last_error());
    c.lr_rl_end = c.lr_rl;
    cr_assert_eq(train_config_check(&c), WEFT_OK, "%s", weft_last_error());
    toy_config(&c);
    c.jobs_min = 9;
    c.jobs_max = 3;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    toy_config(&c);
    c.entropy_decay = 0;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    toy_config(&c);
    c.lr_rl_end = -1e-3;
    cr_assert_eq(train_config_check(&c), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "final REINFORCE learning rate"), "%s",
              weft_last_error());
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    train_t t;
    toy_config(&c);
    cr_assert_eq(train_init(&t, &c, &m, &toy, 0), WEFT_EINVAL); /* no workloads */
    cr_assert(strstr(weft_last_error(), "no training workloads"), "%s", weft_last_error());
}

Test(train, window_takes_consecutive_jobs_from_time_zero)
{
    coflow_workload_t w;
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(train_window(&w, &toy, 2, 3, &fab), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(w.n_jobs, 3);
    for (size_t j = 0; j < 3; j++) {
        cr_assert_eq(w.jobs[j].weight, toy_w[j + 2]);
        cr_assert_eq(w.flows[w.coflows[w.jobs[j].first_coflow].first_flow].bytes,
                     toy_mb[j + 2] * 1e6);
    }
    coflow_workload_destroy(&w);
    cr_assert_eq(train_window(&w, &toy, TOY_JOBS, 1, &fab), WEFT_EINVAL);
    coflow_workload_destroy(&w);
    coflow_fabric_destroy(&fab);
}

/* Windows are taken by arrival whatever order the workload lists its
 * jobs in: a run on the toy listed last to first trains exactly as on the
 * toy in arrival order (windows by index took a later job's arrival as the
 * start and clamped the earlier ones to it: 1311.000 s against 1374.573 s
 * for one imitation episode of a reviewer's workload). */
Test(train, windows_follow_arrival_whatever_the_job_order)
{
    coflow_workload_t in_order, reversed, w;
    build_toy_arriving(&in_order, 0.01, false);
    build_toy_arriving(&reversed, 0.01, true);
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(train_window(&w, &reversed, 2, 3, &fab), WEFT_OK, "%s", weft_last_error());
    for (size_t j = 0; j < 3; j++) {
        cr_assert_eq(w.jobs[j].id, (int64_t)j + 2);
        cr_assert_eq(w.jobs[j].weight, toy_w[j + 2]);
        cr_assert(fabs(w.jobs[j].arrival_s - 0.01 * (double)j) < 1e-12, "job %zu at %g s", j,
                  w.jobs[j].arrival_s);
    }
    coflow_workload_destroy(&w);
    coflow_fabric_destroy(&fab);
    /* every phase, and windows of 4 to 8 jobs from drawn positions */
    train_config_t c;
    mixed_config(&c);
    coflow_learned_model_t m;
    train_t a, b;
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    cr_assert_eq(train_init(&a, &c, &m, &in_order, 1), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    cr_assert_eq(train_init(&b, &c, &m, &reversed, 1), WEFT_OK, "%s", weft_last_error());
    while (a.iter < c.iterations) {
        train_stats_t sa, sb;
        cr_assert_eq(train_iteration(&a, &sa), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(train_iteration(&b, &sb), WEFT_OK, "%s", weft_last_error());
        cr_assert(sa.avg_wjct == sb.avg_wjct && sa.jobs == sb.jobs,
                  "iteration %zu: %zu jobs, avg wJCT %.9g s in arrival order; listed last to "
                  "first %zu jobs, %.9g s", sa.iter + 1, sa.jobs, sa.avg_wjct, sb.jobs,
                  sb.avg_wjct);
    }
    assert_same_params(&a.model, &b.model);
    train_destroy(&a);
    train_destroy(&b);
    coflow_workload_destroy(&in_order);
    coflow_workload_destroy(&reversed);
}


/* The encoder's and the scorer's parameters and Adam first moments, in one
 * block [gp | ap | gm | am], taken before an iteration for adam_step_seen. */
static weft_real_t *adam_state_copy(const train_t *t)
{
    size_t ng = t->model.gp.n, na = t->model.ap.n;
    weft_real_t *x = malloc(2 * (ng + na) * sizeof *x);
    cr_assert(x);
    memcpy(x, t->model.gp.memory, ng * sizeof *x);
    memcpy(x + ng, t->model.ap.memory, na * sizeof *x);
    memcpy(x + ng + na, t->gm.memory, ng * sizeof *x);
    memcpy(x + 2 * ng + na, t->am.memory, na * sizeof *x);
    return x;
}

/* What t's last Adam step did, read off its state before (adam_state_copy)
 * and after: the learning rate (least squares over the moves, each
 * lr · m̂ / (√v̂ + 1e-8)) and the norm of the gradient it was given (from
 * the first moments, m = 0.9 m0 + 0.1 g). */
static void adam_step_seen(const train_t *t, const weft_real_t *before, double *lr,
                           double *gnorm)
{
    size_t ng = t->model.gp.n, na = t->model.ap.n;
    const weft_real_t *p1[2] = {t->model.gp.memory, t->model.ap.memory};
    const weft_real_t *m1[2] = {t->gm.memory, t->am.memory}, *v1[2] = {t->gv.memory, t->av.memory};
    const weft_real_t *p0[2] = {before, before + ng}, *m0[2] = {before + ng + na,
                                                               before + 2 * ng + na};
    size_t n[2] = {ng, na};
    double c1 = 1 - pow(0.9, (double)t->step), c2 = 1 - pow(0.999, (double)t->step);
    double num = 0, den = 0, gg = 0;
    for (size_t b = 0; b < 2; b++)
        for (size_t i = 0; i < n[b]; i++) {
            double u = (m1[b][i] / c1) / (sqrt(v1[b][i] / c2) + 1e-8);
            double g = ((double)m1[b][i] - 0.9 * m0[b][i]) / 0.1;
            num += ((double)p0[b][i] - p1[b][i]) * u;
            den += u * u;
            gg += g * g;
        }
    cr_assert(den > 0, "Adam moved nothing");
    *lr = num / den;
    *gnorm = sqrt(gg);
}

/* Each iteration steps at its phase's learning rate (imitation and DAgger
 * from --lr-imitate down by 0.9 · i / their length, REINFORCE from --lr-rl
 * to --lr-rl-end at the last iteration) with the gradient clipped to
 * --clip, and says what it did: its phase, episode length (the curriculum
 * from 2 to 8 jobs over 3 iterations), emulator runs, the teacher's ratio
 * (1 while the episodes follow the teacher) and minus the average weighted
 * JCT as the return. */
Test(train, each_iteration_steps_at_its_learning_rate_and_clip)
{
    train_config_t c;
    mixed_config(&c);
    c.jobs_min = 2;
    train_t t;
    train_stats_t s;
    start(&t, &c, 9);
    const double want_lr[5] = {3e-3, 3e-3 * (1 - 0.9 / 2), 1e-2, 1e-2 - 9e-3 / 2, 1e-3};
    const size_t want_jobs[5] = {2, 4, 6, 8, 8}, want_runs[5] = {2, 2, 6, 6, 6};
    size_t clipped = 0;
    for (size_t i = 0; i < c.iterations; i++) {
        weft_real_t *before = adam_state_copy(&t);
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
        double lr, gnorm;
        adam_step_seen(&t, before, &lr, &gnorm);
        free(before);
        cr_assert(fabs(lr - want_lr[i]) < 1e-3 * want_lr[i], "iteration %zu: lr %g, wanted %g",
                  i + 1, lr, want_lr[i]);
        double want = s.grad_norm < c.clip ? s.grad_norm : c.clip;
        clipped += s.grad_norm > c.clip;
        cr_assert(fabs(gnorm - want) < 1e-4 * want, "iteration %zu: gradient norm %g given "
                  "to Adam, %g measured, clip %g", i + 1, gnorm, s.grad_norm, c.clip);
        cr_assert(s.iter == i && s.phase == train_phase(&c, i), "iteration %zu", i + 1);
        cr_assert(s.jobs == want_jobs[i] && s.rollouts == want_runs[i],
                  "iteration %zu: %zu jobs, %zu runs", i + 1, s.jobs, s.rollouts);
        cr_assert(s.mean_return == -s.avg_wjct && s.avg_wjct > 0);
        cr_assert(s.decisions >= s.rollouts && s.entropy > 0 && s.entropy < log((double)s.jobs),
                  "iteration %zu: %zu decisions, entropy %g", i + 1, s.decisions, s.entropy);
        if (s.phase == TRAIN_REINFORCE)
            cr_assert(isnan(s.loss) && isnan(s.teacher_ratio));
        else
            cr_assert(s.loss > 0 && isfinite(s.loss));
    }
    cr_assert(clipped > 0 && clipped < c.iterations, "%zu of %zu clipped", clipped,
              c.iterations);
    train_destroy(&t);
    /* imitation follows the teacher: the same JCT as the teacher's */
    c.imitate_iters = 1;
    start(&t, &c, 9);
    cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert(s.phase == TRAIN_IMITATE && s.teacher_ratio == 1, "imitation ratio %.17g",
              s.teacher_ratio);
    cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert(s.phase == TRAIN_DAGGER && s.teacher_ratio > 1, "DAgger ratio %.17g",
              s.teacher_ratio);
    train_destroy(&t);
}

/* With differential rewards the run keeps the average weighted number of
 * jobs in the system: on the toy (every job at 0, one link busy until the
 * last finishes) Σ w·JCT / makespan, that is jobs × average weighted JCT /
 * makespan, its first value taken whole and later ones at 0.1; a checkpoint
 * carries it. */
Test(train, the_reward_average_follows_the_episodes)
{
    train_config_t c;
    toy_config(&c);
    c.differential = true;
    c.iterations = 3;
    train_t t;
    train_stats_t s;
    start(&t, &c, 9);
    double makespan = 0, want = NAN;
    for (size_t j = 0; j < TOY_JOBS; j++)
        makespan += toy_mb[j] * 1e6 / WEFT_GBPS_BYTES;
    cr_assert(isnan(t.rate_ema));
    for (size_t i = 0; i < c.iterations; i++) {
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
        double w = TOY_JOBS * s.avg_wjct / makespan;
        want = i == 0 ? w : 0.9 * want + 0.1 * w;
        cr_assert(fabs(t.rate_ema - want) < 1e-9 * want, "iteration %zu: %.17g, wanted %.17g",
                  i + 1, t.rate_ema, want);
    }
    /* a resume goes on with it */
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    double kept = t.rate_ema;
    train_destroy(&t);
    start(&t, &c, 9);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(t.rate_ema == kept, "resumed with %.17g, saved %.17g", t.rate_ema, kept);
    train_destroy(&t);
}

/* Runs trainers a and b to iteration n - 1, where their parameters must
 * agree, then to n, where their scorers' must not (else: why), and
 * destroys them. */
static void agree_then_differ(train_t *a, train_t *b, size_t n, const char *why)
{
    iterate_to(a, n - 1);
    iterate_to(b, n - 1);
    assert_same_params(&a->model, &b->model);
    iterate_to(a, n);
    iterate_to(b, n);
    cr_assert(memcmp(a->model.ap.memory, b->model.ap.memory,
                     a->model.ap.n * sizeof *a->model.ap.memory) != 0, "%s", why);
    train_destroy(a);
    train_destroy(b);
}

/* Differential rewards count once the first REINFORCE iteration has
 * estimated the jobs in the system: on the toy with a compute phase after
 * each job's flow (so the last finish depends on the order), a run with
 * them and one without take the same first step and another second one. */
Test(train, differential_rewards_count_from_the_second_reinforce_iteration)
{
    coflow_workload_t w;
    coflow_workload_init(&w, 2);
    for (size_t j = 0; j < TOY_JOBS; j++) {
        cr_assert_eq(coflow_workload_add_job(&w, (int64_t)j, 0, toy_w[j], 0.05 * (double)j),
                     WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&w, 0, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&w, 0, 1, toy_mb[j] * 1e6), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&w), WEFT_OK, "%s", weft_last_error());
    }
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(&w, &fab), WEFT_OK, "%s", weft_last_error());
    coflow_fabric_destroy(&fab);
    train_config_t c;
    toy_config(&c);
    c.iterations = 2;
    train_t a, b;
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 9), WEFT_OK);
    cr_assert_eq(train_init(&a, &c, &m, &w, 1), WEFT_OK, "%s", weft_last_error());
    c.differential = true;
    cr_assert_eq(coflow_learned_model_random(&m, 9), WEFT_OK);
    cr_assert_eq(train_init(&b, &c, &m, &w, 1), WEFT_OK, "%s", weft_last_error());
    agree_then_differ(&a, &b, 2, "differential rewards changed nothing");
    coflow_workload_destroy(&w);
}

/* The entropy bonus starts at --entropy at the first REINFORCE iteration
 * and decays from there: after a DAgger iteration, a run decaying by 0.5
 * takes the same first REINFORCE step as one that does not decay, and
 * another second one. */
Test(train, entropy_bonus_decays_from_the_first_reinforce_iteration)
{
    train_config_t c;
    toy_config(&c);
    c.dagger_iters = 1;
    c.iterations = 3;
    c.entropy = 1;
    train_t a, b;
    start(&a, &c, 9);
    c.entropy_decay = 0.5;
    start(&b, &c, 9);
    agree_then_differ(&a, &b, 3, "the bonus did not decay");
}

/* The defaults are the ones train.h documents (weft train's too). */
Test(train, defaults_are_the_documented_ones)
{
    train_config_t c;
    memset(&c, 0xff, sizeof c);
    train_config_default(&c);
    cr_assert(c.seed == 1 && c.threads == 2 && c.iterations == 60 && c.imitate_iters == 20 &&
              c.dagger_iters == 20 && !strcmp(c.teacher, "jsebf") && c.episodes == 4 &&
              c.rollouts == 4 && c.jobs_min == 10 && c.jobs_max == 40 &&
              c.curriculum_iters == 30 && c.validate_every == 5);
    cr_assert(c.lr_imitate == 3e-3 && c.lr_rl == 3e-4 && c.lr_rl_end == 0 &&
              c.imitate_topk == 8 && c.clip == 1 && c.entropy == 0.01 &&
              c.entropy_decay == 0.97 && c.differential && !strcmp(c.allocator, "madd"));
    cr_assert_eq(train_config_check(&c), WEFT_OK, "%s", weft_last_error());
}

/* Every bound of a setting is its own: the last value taken and the first
 * refused. */
Test(train, settings_at_their_bounds)
{
    train_config_t c;
    toy_config(&c);
    c.threads = 1024;
    c.imitate_topk = 1;
    c.entropy_decay = 1;
    c.validate_every = 1;
    c.episodes = 1;
    c.rollouts = 2;
    c.jobs_min = c.jobs_max = 1;
    c.entropy = 0;
    cr_assert_eq(train_config_check(&c), WEFT_OK, "%s", weft_last_error());
    const struct {
        const char *field, *message;
        double value;
    } refused[] = {{"threads", "threads 1025 (--threads)", 1025},
                   {"lr_imitate", "learning rates 0 and", 0},
                   {"lr_rl", "learning rates 0.003 and 0 (", 0},
                   {"clip", "gradient clip 0 (--clip)", 0},
                   {"entropy_decay", "entropy decay 1.001 (--entropy-decay)", 1.001}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        train_config_default(&c);
        if (!strcmp(refused[i].field, "threads"))
            c.threads = (size_t)refused[i].value;
        else if (!strcmp(refused[i].field, "lr_imitate"))
            c.lr_imitate = refused[i].value;
        else if (!strcmp(refused[i].field, "lr_rl"))
            c.lr_rl = refused[i].value;
        else if (!strcmp(refused[i].field, "clip"))
            c.clip = refused[i].value;
        else
            c.entropy_decay = refused[i].value;
        cr_assert_eq(train_config_check(&c), WEFT_EINVAL, "%s taken", refused[i].field);
        cr_assert(strstr(weft_last_error(), refused[i].message), "%s", weft_last_error());
    }
}

/* A validation ratio as good as the best, not better, leaves the best
 * where it was; the best model decides when the set of coflows changes,
 * as every trained model does. */
Test(train, a_tie_does_not_move_the_best)
{
    train_config_t c;
    toy_config(&c);
    train_t t;
    train_stats_t s;
    start(&t, &c, 9);
    cr_assert(train_keep_best(&t, 1.5), "a first ratio above 1 is a best too");
    cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
    cr_assert_not(train_keep_best(&t, 1.5));
    cr_assert(t.best_iter == 0 && t.best_val == 1.5, "best %g at %zu", t.best_val, t.best_iter);
    coflow_learned_model_t m;
    cr_assert_eq(train_best_model(&t, &m), WEFT_OK, "%s", weft_last_error());
    cr_assert(m.set_changes_only, "the trained model decides at every event");
    coflow_learned_model_destroy(&m);
    train_destroy(&t);
}

/* A window of one job is a window; one running past the last job ends
 * there; none, or one starting past the end, is an error. */
Test(train, window_bounds)
{
    coflow_workload_t w;
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(train_window(&w, &toy, TOY_JOBS - 1, 1, &fab), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(w.n_jobs == 1 && w.jobs[0].id == TOY_JOBS - 1 && w.jobs[0].arrival_s == 0);
    coflow_workload_destroy(&w);
    cr_assert_eq(train_window(&w, &toy, TOY_JOBS - 2, 5, &fab), WEFT_OK, "%s",
                 weft_last_error());
    cr_assert(w.n_jobs == 2 && w.jobs[1].id == TOY_JOBS - 1);
    coflow_workload_destroy(&w);
    cr_assert_eq(train_window(&w, &toy, 0, 0, &fab), WEFT_EINVAL);
    cr_assert(strstr(weft_last_error(), "job window 0+0 of a workload of 8 jobs"), "%s",
              weft_last_error());
    coflow_workload_destroy(&w);
    coflow_fabric_destroy(&fab);
}

/* The episodes of an iteration are windows drawn anew every iteration,
 * from every workload of the pool: on the toy and the toy ten times as
 * large, 3-job windows of 8 iterations of imitation (which follows the
 * teacher, so an iteration's JCT is the teacher's on its window) give
 * several JCTs, from both workloads, each the teacher's on one of the
 * windows. */
Test(train, episodes_are_windows_drawn_from_every_workload)
{
    coflow_workload_t pool[2];
    build_toy(&pool[0]);
    coflow_workload_init(&pool[1], 2);
    for (size_t j = 0; j < TOY_JOBS; j++) {
        cr_assert_eq(coflow_workload_add_job(&pool[1], (int64_t)j, 0, toy_w[j], 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&pool[1], 0, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&pool[1], 0, 1, toy_mb[j] * 1e7), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&pool[1]), WEFT_OK);
    }
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 2, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(&pool[1], &fab), WEFT_OK, "%s", weft_last_error());
    /* the teacher's JCT on each window */
    enum { N_WIN = TOY_JOBS - 2 };
    double win[2][N_WIN];
    for (size_t p = 0; p < 2; p++)
        for (size_t f = 0; f < N_WIN; f++) {
            coflow_workload_t w;
            cr_assert_eq(train_window(&w, &pool[p], f, 3, &fab), WEFT_OK);
            cr_assert_eq(train_evaluate_policy("jsebf", "madd", NULL, &w, 1, 1,
                                               WEFT_GBPS_BYTES, &win[p][f], NULL),
                         WEFT_OK);
            coflow_workload_destroy(&w);
        }
    coflow_fabric_destroy(&fab);
    train_config_t c;
    toy_config(&c);
    c.imitate_iters = c.iterations = 8;
    c.episodes = 1;
    c.jobs_min = c.jobs_max = 3;
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    train_t t;
    cr_assert_eq(train_init(&t, &c, &m, pool, 2), WEFT_OK, "%s", weft_last_error());
    size_t from[2] = {0, 0}, distinct = 0;
    double seen[8];
    for (size_t i = 0; i < c.iterations; i++) {
        train_stats_t s;
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
        bool found = false;
        for (size_t p = 0; p < 2; p++)
            for (size_t f = 0; f < N_WIN; f++)
                if (fabs(s.avg_wjct - win[p][f]) < 1e-9 * win[p][f]) {
                    from[p]++;
                    found = true;
                }
        cr_assert(found, "iteration %zu: avg wJCT %.17g is no window's", i + 1, s.avg_wjct);
        size_t k = 0;
        while (k < distinct && seen[k] != s.avg_wjct)
            k++;
        if (k == distinct)
            seen[distinct++] = s.avg_wjct;
    }
    cr_assert(from[0] > 0 && from[1] > 0 && distinct >= 4,
              "windows of the toy %zu, of the large toy %zu, %zu distinct", from[0], from[1],
              distinct);
    train_destroy(&t);
    coflow_workload_destroy(&pool[0]);
    coflow_workload_destroy(&pool[1]);
}

/* A run without imitation or DAgger still keeps every other setting on a
 * resume: each one changed is refused, named with its option. */
Test(train, resume_without_imitation_keeps_every_other_setting)
{
    train_config_t c, d;
    toy_config(&c);
    c.iterations = 4;
    c.lr_rl_end = 1e-3;
    c.curriculum_iters = 2;
    c.jobs_min = 4;
    c.entropy = 0.02;
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    save_checkpoint(&c, 0, path);
    const char *const want[] = {
        "episodes 2 (--episodes), this run has 3", "rollouts 6 (--rollouts), this run has 7",
        "jobs_min 4 (--jobs-min), this run has 5", "jobs_max 8 (--jobs-max), this run has 9",
        "curriculum_iters 2 (--curriculum), this run has 3",
        "lr_rl 0.01 (--lr-rl), this run has 0.02",
        "lr_rl_end 0.001 (--lr-rl-end), this run has 0.002",
        "clip 1 (--clip), this run has 2", "entropy 0.02 (--entropy), this run has 0.04",
        "entropy_decay 0.97 (--entropy-decay), this run has 0.5",
        "differential off (--no-differential), this run has on",
        "allocator madd (--allocator), this run has greedy"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        d = c;
        switch (i) {
        case 0: d.episodes++; break;
        case 1: d.rollouts++; break;
        case 2: d.jobs_min++; break;
        case 3: d.jobs_max++; break;
        case 4: d.curriculum_iters++; break;
        case 5: d.lr_rl *= 2; break;
        case 6: d.lr_rl_end *= 2; break;
        case 7: d.clip *= 2; break;
        case 8: d.entropy *= 2; break;
        case 9: d.entropy_decay = 0.5; break;
        case 10: d.differential = true; break;
        default: d.allocator = "greedy";
        }
        expect_refused(&d, &toy, 1, path, WEFT_EINVAL, want[i], NULL);
    }
    /* a REINFORCE rate that differs beyond %g's digits says so */
    d = c;
    d.lr_rl = nextafter(c.lr_rl, 1);
    expect_refused(&d, &toy, 1, path, WEFT_EINVAL, "lr_rl 0.01 (--lr-rl)",
                   "this run has 0.010000000000000002");
}

/* Saves a checkpoint of a fresh trainer of config c (model 1) validating on
 * val [n_val] (none: NULL, 0) after keep_best(ratio) when ratio > 0, with
 * the model's path prior pp (over a teacher prior of 1 when pp > 0: a model
 * file's path prior needs one). */
static void save_validated_checkpoint(const train_config_t *c, const coflow_workload_t *val,
                                      size_t n_val, double ratio, float pp, const char *path)
{
    train_t t;
    start(&t, c, 1);
    t.val = val;
    t.n_val = n_val;
    t.model.prior_path = pp;
    if (pp > 0)
        t.model.prior = 1;
    if (ratio > 0)
        cr_assert(train_keep_best(&t, ratio));
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    train_destroy(&t);
}

/* expect_refused with a trainer validating on val [n_val] (model 2). */
static void expect_refused_validating(const train_config_t *c, const coflow_workload_t *val,
                                      size_t n_val, const char *path, const char *a)
{
    train_t t;
    start(&t, c, 2);
    t.val = val;
    t.n_val = n_val;
    float first = t.gm.memory[0];
    weft_err_t err = train_checkpoint_load(&t, path);
    cr_assert_eq(err, WEFT_EINVAL, "got %d (%s)", err, weft_last_error());
    cr_assert(strstr(weft_last_error(), a), "%s", weft_last_error());
    cr_assert(t.iter == 0 && t.gm.memory[0] == first, "a failed load changed the trainer");
    train_destroy(&t);
}

/* Rewrites the checkpoint at path with its vector `name` one value short. */
static void shorten_checkpoint_vector(const char *path, const char *name)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    cr_assert_eq(attn_model_load(path, &mf), WEFT_OK, "%s", weft_last_error());
    size_t i = 0;
    while (i < mf.n_vecs && strcmp(mf.vecs[i].name, name))
        i++;
    cr_assert(i < mf.n_vecs && mf.vecs[i].n > 0, "no vector %s in %s", name, path);
    mf.vecs[i].n--;
    cr_assert_eq(attn_model_save(path, &mf), WEFT_OK, "%s", weft_last_error());
    attn_model_destroy(&mf);
}

/* Every damaged counter, moment or best model of a checkpoint is refused
 * by name, and so is a checkpoint of another validation set or period,
 * path prior or scorer size; a best found at the checkpoint's own
 * iteration is taken (only checked, it is not). */
Test(train, resume_refuses_damaged_checkpoints)
{
    train_config_t c;
    mixed_config(&c);
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    double inf = INFINITY, neg = -0.5;
    int64_t inf_bits, neg_bits;
    memcpy(&inf_bits, &inf, sizeof inf_bits);
    memcpy(&neg_bits, &neg, sizeof neg_bits);
    const struct {
        const char *name; /* int set to value, or with drop the vectors named so */
        int64_t value;
        bool drop;
        const char *vec; /* float k set to x */
        size_t k;
        float x;
        weft_err_t err;
        const char *msg;
    } rows[] = {
        {"train.format", 1, false, NULL, 0, 0, WEFT_EVERSION, "checkpoint format 1"},
        {"train.step", -1, false, NULL, 0, 0, WEFT_EINVAL, "negative iteration or step"},
        {"train.best_iter", -1, false, NULL, 0, 0, WEFT_EINVAL, "negative iteration or step"},
        {"train.step", 1, false, NULL, 0, 0, WEFT_EINVAL, "Adam step 1 or best iteration 0 is "
                                                          "past its iteration 0"},
        {"train.best_iter", 1, false, NULL, 0, 0, WEFT_EINVAL, "best iteration 1 is past"},
        {"train.best_val_bits", neg_bits, false, NULL, 0, 0, WEFT_EINVAL,
         "best validation ratio is -0.5"},
        {NULL, 0, false, "train.adam_m.gnn", 3, NAN, WEFT_EINVAL,
         "train.adam_m.gnn element 3 is nan"},
        {NULL, 0, false, "train.adam_v.attn", 2, -1, WEFT_EINVAL,
         "train.adam_v.attn element 2 is -1"},
        {NULL, 0, false, "train.best.attn", 4, INFINITY, WEFT_EINVAL,
         "train.best.attn element 4 is inf"},
        {NULL, 0, true, "train.best.attn", 0, 0, WEFT_EINVAL,
         "has train.best.gnn but not train.best.attn"},
        {"train.best_val_bits", inf_bits, false, NULL, 0, 0, WEFT_EINVAL,
         "has a best model but no best validation ratio"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        save_validated_checkpoint(&c, NULL, 0, 0.8, 0, path);
        edit_checkpoint(path, rows[i].name, rows[i].drop, rows[i].value, rows[i].vec, rows[i].k,
                        rows[i].x);
        expect_refused(&c, &toy, 1, path, rows[i].err, rows[i].msg, NULL);
    }
    const char *const vecs[] = {"train.adam_m.gnn", "train.best.attn"};
    for (size_t i = 0; i < 2; i++) {
        save_validated_checkpoint(&c, NULL, 0, 0.8, 0, path);
        shorten_checkpoint_vector(path, vecs[i]);
        expect_refused(&c, &toy, 1, path, WEFT_EINVAL, vecs[i], "values, the model needs");
    }
    /* kept at the checkpoint's own iteration: taken */
    save_validated_checkpoint(&c, NULL, 0, 0.8, 0, path);
    train_t t;
    start(&t, &c, 2);
    cr_assert_eq(train_checkpoint_check(&t, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(!t.has_best, "a check took the checkpoint");
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(t.has_best && t.best_iter == 0 && t.best_val == 0.8);
    train_destroy(&t);
    /* a model file without the entry decides at every event; a trainer
       never does */
    edit_checkpoint(path, "learned.set_changes_only", true, 0, NULL, 0, 0);
    start(&t, &c, 2);
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(t.model.set_changes_only);
    train_destroy(&t);
    /* validated on the toy arriving one by one: not on another set of as
       many workloads, nor every 4 iterations */
    coflow_workload_t other;
    build_toy_arriving(&other, 0.01, false);
    save_validated_checkpoint(&c, &other, 1, 0.8, 0, path);
    expect_refused_validating(&c, &toy, 1, path, "validated on other workloads (1, hash");
    c.validate_every = 4;
    expect_refused_validating(&c, &other, 1, path, "validated every 5 iterations");
    c.validate_every = 5;
    coflow_workload_destroy(&other);
    /* the path prior lives in the model too */
    save_validated_checkpoint(&c, NULL, 0, 0, 0.5f, path);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "prior 1 and prior_path 0.5",
                   "this run's 0 and 0");
    start(&t, &c, 2); /* the teacher prior alike, the path prior not */
    t.model.prior = 1;
    cr_assert_eq(train_checkpoint_load(&t, path), WEFT_EINVAL, "%s", weft_last_error());
    cr_assert(strstr(weft_last_error(), "this run's 1 and 0"), "%s", weft_last_error());
    train_destroy(&t);
    /* a scorer of other sizes, the encoder's the same */
    coflow_learned_model_t m, wide;
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    cr_assert_eq(coflow_learned_model_copy(&wide, &m), WEFT_OK);
    attn_params_destroy(&wide.ap);
    wide.acfg.M *= 2;
    cr_assert_eq(attn_params_init(&wide.ap, &wide.acfg), WEFT_OK);
    cr_assert_eq(train_init(&t, &c, &wide, &toy, 1), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    train_destroy(&t);
    expect_refused(&c, &toy, 1, path, WEFT_EINVAL, "other layer sizes", NULL);
    coflow_learned_model_destroy(&m);
}

/* With every score equal (the score head zeroed, no prior) each order is as
 * likely as any other, so the imitation loss counts orders: a decision
 * among n coflows (one per job on the toy, so a run of the teacher's job
 * order is one coflow) costs log n(n-1)...(n-k+1) for the teacher's first
 * k picks plus log n! for its order of jobs; the toy's decisions are at
 * its start and as each job finishes, among 8, 7, ..., 1 coflows. */
Test(train, imitation_loss_of_equal_scores_counts_orders)
{
    train_config_t c;
    toy_config(&c);
    c.imitate_iters = c.iterations = 1;
    c.episodes = 1;
    for (size_t k = 1; k <= TOY_JOBS + 1; k += 3) {
        c.imitate_topk = k;
        coflow_learned_model_t m;
        cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
        cr_assert_eq(coflow_learned_model_make_residual(&m, 1, 0), WEFT_OK);
        m.prior = 0;
        train_t t;
        train_stats_t s;
        cr_assert_eq(train_init(&t, &c, &m, &toy, 1), WEFT_OK, "%s", weft_last_error());
        cr_assert_eq(train_iteration(&t, &s), WEFT_OK, "%s", weft_last_error());
        double want = 0;
        for (size_t n = 1; n <= TOY_JOBS; n++)
            for (size_t i = 0; i < n; i++)
                want += log((double)(n - i)) * (i < k ? 2 : 1);
        want /= TOY_JOBS;
        cr_assert_eq(s.decisions, TOY_JOBS);
        cr_assert(fabs(s.loss - want) < 1e-9 * want, "top-%zu: loss %.17g, wanted %.17g", k,
                  s.loss, want);
        train_destroy(&t);
    }
}

/* Describes the checkpoint at path (as `weft model` does) into progress
 * and options. */
static void describe_checkpoint(const char *path, char progress[512], char options[1024])
{
    attn_model_file_t mf;
    coflow_learned_model_t m;
    attn_model_init(&mf);
    cr_assert_eq(coflow_learned_model_read(&m, &mf, path), WEFT_OK, "%s", weft_last_error());
    cr_assert(train_file_is_checkpoint(&mf));
    cr_assert_eq(train_checkpoint_describe(&mf, path, &m, progress, 512, options, 1024),
                 WEFT_OK, "%s", weft_last_error());
    coflow_learned_model_destroy(&m);
    attn_model_destroy(&mf);
}

/* A checkpoint's description names what its run had, and only that: a
 * run without --val has no --validate-every, one without a prior no
 * --prior, one without a path prior no --prior-path; a prior a float holds
 * only with 9 digits keeps them. A model file is no checkpoint. */
Test(train, checkpoint_describes_its_run)
{
    train_config_t c;
    toy_config(&c);
    c.iterations = 4;
    char path[128], progress[512], options[1024];
    snprintf(path, sizeof path, "%s/ckpt.msgpack", tmpdir);
    save_checkpoint(&c, 0, path);
    describe_checkpoint(path, progress, options);
    cr_assert_str_eq(progress, "iteration 0 of 4 (Adam step 0); no best validation; 1 training "
                               "and 0 --val workloads (recorded as hashes)");
    cr_assert_str_eq(options, "--seed 3 --iters 4 --imitate 0 --dagger 0 --teacher jsebf "
                              "--episodes 2 --rollouts 6 --jobs-min 8 --jobs-max 8 "
                              "--curriculum 0 --lr-imitate 0.003 --topk 8 --lr-rl 0.01 "
                              "--lr-rl-end 0 --clip 1 --entropy 0 --entropy-decay 0.97 "
                              "--no-differential --allocator madd");
    train_t t;
    start(&t, &c, 1);
    t.val = &toy;
    t.n_val = 1;
    t.model.prior = 0.100000024f; /* 8 digits read back as another float */
    cr_assert(train_keep_best(&t, 0.8));
    cr_assert_eq(train_checkpoint_save(&t, path), WEFT_OK, "%s", weft_last_error());
    describe_checkpoint(path, progress, options);
    cr_assert_str_eq(progress, "iteration 0 of 4 (Adam step 0); best validation 0.8000 at "
                               "iteration 0; 1 training and 1 --val workloads (recorded as "
                               "hashes)");
    cr_assert(strstr(options, "--iters 4 --validate-every 5 --imitate 0") &&
                  strstr(options, "--allocator madd --prior 0.100000024") &&
                  !strstr(options, "--prior-path"),
              "%s", options);
    cr_assert_eq(coflow_learned_model_save(&t.model, path), WEFT_OK);
    train_destroy(&t);
    attn_model_file_t mf;
    attn_model_init(&mf);
    cr_assert_eq(attn_model_load(path, &mf), WEFT_OK, "%s", weft_last_error());
    cr_assert_not(train_file_is_checkpoint(&mf));
    attn_model_destroy(&mf);
}

/* ------------------------------------------------------------------ CLI */

static int run_cmd(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    size_t n = 0;
    for (int ch; (ch = fgetc(f)) != EOF;)
        n += ch == '\n';
    fclose(f);
    return n;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[8192];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    buf[k] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

/* On a terminal, weft train rewrites its progress line in place at each
 * iteration and keeps the last one (script(1) gives it a terminal). */
Test(train, cli_progress_on_a_terminal_is_rewritten_in_place)
{
    cli_open("train-tty");
    if (!cli_bin) {
        cli_teardown();
        NEED_BIN();
    }
    char wl[160], args[1024];
    snprintf(wl, sizeof wl, "%s/toy.weft", cli_dir);
    cr_assert_eq(workload_save_weft(&toy, wl), WEFT_OK, "%s", weft_last_error());
    snprintf(args, sizeof args, "train %s --val %s --out %s/out --iters 3 --imitate 1 "
             "--dagger 1 --episodes 1 --rollouts 2 --jobs-min 8 --threads 2 "
             "--teacher sincronia", wl, wl, cli_dir);
    cr_assert_eq(cli_tty(args), 0, "%s", cli_file("tty"));
    const char *out = cli_file("tty");
    cr_assert_eq(lines_in_place(out, "iter ", true, "best validation ratio"), 3, "%s", out);
    cr_assert_not_null(strstr(out, "\r\033[Kiter 3/3 reinforce"), "%s", out);
    /* the last line has no time left, and shows its validation */
    cr_assert_not_null(strstr(out, " left 0m00s  val "), "%s", out);
    /* its replays decide as they sampled: no warning of replay mismatches */
    cr_assert_null(strstr(out, "warning"), "%s", out);
    cli_teardown();
}

Test(train, cli_trains_resumes_evaluates_and_refuses_bad_input)
{
    const char *bin = getenv("WEFT_BIN");
    if (!bin) {
        fprintf(stderr, "note: WEFT_BIN not set (run through ctest): CLI not checked\n");
        return;
    }
    char wl[128], out[128], err[128], cmd[2048], path[256];
    snprintf(wl, sizeof wl, "%s/toy.weft", tmpdir);
    snprintf(out, sizeof out, "%s/out", tmpdir);
    snprintf(err, sizeof err, "%s/err.txt", tmpdir);
    cr_assert_eq(workload_save_weft(&toy, wl), WEFT_OK, "%s", weft_last_error());
    const char *common = "--imitate 1 --dagger 1 --episodes 1 --rollouts 2 --jobs-min 8 "
                         "--threads 2 --teacher sincronia --checkpoint-every 1";

    snprintf(cmd, sizeof cmd, "%s train %s --val %s --out %s --iters 3 %s >/dev/null 2>%s", bin,
             wl, wl, out, common, err);
    cr_assert_eq(run_cmd(cmd), 0, "weft train failed: see %s", err);
    snprintf(path, sizeof path, "%s/train.csv", out);
    cr_assert_eq(count_lines(path), 4, "header + 3 iterations expected in %s", path);
    const char *models[] = {"best.msgpack", "final.msgpack", "checkpoint.msgpack"};
    for (size_t i = 0; i < 3; i++) { /* all three are models `weft sim` reads */
        coflow_learned_model_t m;
        snprintf(path, sizeof path, "%s/%s", out, models[i]);
        cr_assert_eq(coflow_learned_model_load(&m, path), WEFT_OK, "%s", weft_last_error());
        cr_assert(m.set_changes_only);
        coflow_learned_model_destroy(&m);
    }

    snprintf(cmd, sizeof cmd, "%s train %s --val %s --out %s --iters 5 %s --resume "
             "%s/checkpoint.msgpack >/dev/null 2>%s", bin, wl, wl, out, common, out, err);
    cr_assert_eq(run_cmd(cmd), 0, "resumed weft train failed: see %s", err);
    snprintf(path, sizeof path, "%s/train.csv", out);
    cr_assert_eq(count_lines(path), 6, "the resumed run appends iterations 4 and 5");

    /* other validation workloads: refused, as the best ratio was measured
       on the checkpoint's (the training pool twice is another set) */
    snprintf(cmd, sizeof cmd, "%s train %s --val %s --val %s --out %s --iters 6 %s --resume "
             "%s/checkpoint.msgpack >/dev/null 2>%s", bin, wl, wl, wl, out, common, out, err);
    cr_assert_eq(run_cmd(cmd), 1, "a resume with other --val was accepted");
    cr_assert(file_contains(err, "checkpoint was validated on other workloads (1, hash"),
              "message does not say the validation set differs");
    /* another setting than the checkpoint's: refused, naming it */
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --iters 6 %s --rollouts 3 --resume "
             "%s/checkpoint.msgpack >/dev/null 2>%s", bin, wl, out, common, out, err);
    cr_assert_eq(run_cmd(cmd), 1, "a resume with --rollouts 3 was accepted");
    cr_assert(file_contains(err, "rollouts 2 (--rollouts), this run has 3"),
              "message does not name the setting");
    /* past --iters: an error, and a fresh --out stays empty */
    snprintf(cmd, sizeof cmd, "%s train %s --val %s --out %s/fresh --iters 4 %s --resume "
             "%s/checkpoint.msgpack >/dev/null 2>%s", bin, wl, wl, out, common, out, err);
    cr_assert_eq(run_cmd(cmd), 1, "a resume past --iters did not fail");
    cr_assert(file_contains(err, "checkpoint is at iteration 5, past --iters 4"),
              "no 'past --iters' message");
    snprintf(path, sizeof path, "%s/fresh", out);
    cr_assert(access(path, F_OK) != 0, "%s was created", path);
    snprintf(path, sizeof path, "%s/train.csv", out);
    cr_assert_eq(count_lines(path), 6, "a refused resume changed train.csv");
    /* at --iters: it finishes a run stopped after its last checkpoint (here
     * final.msgpack taken away): the same final model again, and
     * --model-out the best. It used to say "nothing to do" and exit 1, so
     * such a run could not be finished. */
    char final[256], kept[256], mout[256];
    snprintf(final, sizeof final, "%s/final.msgpack", out);
    snprintf(kept, sizeof kept, "%s/final.kept", tmpdir);
    snprintf(mout, sizeof mout, "%s/model-out.msgpack", tmpdir);
    cr_assert_eq(rename(final, kept), 0);
    snprintf(cmd, sizeof cmd, "%s train %s --val %s --out %s --iters 5 %s --model-out %s "
             "--resume %s/checkpoint.msgpack >/dev/null 2>%s", bin, wl, wl, out, common, mout,
             out, err);
    cr_assert_eq(run_cmd(cmd), 0, "a resume at --iters failed: see %s", err);
    cr_assert(file_contains(err, "checkpoint is at --iters 5: writing what the run ends with"),
              "no note");
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", final, kept);
    cr_assert_eq(run_cmd(cmd), 0, "the final model differs from the run's own");
    snprintf(cmd, sizeof cmd, "cmp -s %s %s/best.msgpack", mout, out);
    cr_assert_eq(run_cmd(cmd), 0, "--model-out is not the best model");
    snprintf(path, sizeof path, "%s/train.csv", out);
    cr_assert_eq(count_lines(path), 6, "finishing the run changed train.csv");
    /* weft model says which file is a checkpoint (it read as a plain model,
       whose parameters are the last iteration's, not the best) */
    snprintf(cmd, sizeof cmd, "%s model %s/checkpoint.msgpack >%s 2>&1", bin, out, err);
    cr_assert_eq(run_cmd(cmd), 0);
    cr_assert(file_contains(err, "a training checkpoint (weft train --resume)") &&
                  file_contains(err, "the best are in best.msgpack beside it"), "no kind");
    snprintf(cmd, sizeof cmd, "%s model %s/best.msgpack >%s 2>&1", bin, out, err);
    cr_assert_eq(run_cmd(cmd), 0);
    cr_assert(!file_contains(err, "checkpoint"), "best.msgpack called a checkpoint");

    char wl2[128]; /* a second sample: the same file twice is refused */
    snprintf(wl2, sizeof wl2, "%s/toy2.weft", tmpdir);
    cr_assert_eq(workload_save_weft(&toy, wl2), WEFT_OK, "%s", weft_last_error());
    snprintf(cmd, sizeof cmd, "%s eval --model %s/best.msgpack --policy learned --policy "
             "sincronia --policy fifo --threads 2 %s %s >%s/eval.txt 2>%s", bin, out, wl, wl2,
             tmpdir, err);
    cr_assert_eq(run_cmd(cmd), 0, "weft eval failed: see %s", err);
    snprintf(path, sizeof path, "%s/eval.txt", tmpdir);
    cr_assert(file_contains(path, "learned vs sincronia"), "no headline in %s", path);

    /* usage errors: 2, with the option named */
    snprintf(cmd, sizeof cmd, "%s train >/dev/null 2>%s", bin, err);
    cr_assert_eq(run_cmd(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s train %s --rollouts 1 >/dev/null 2>%s", bin, wl, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "--rollouts '1'"), "message does not name the option");
    snprintf(cmd, sizeof cmd, "%s train %s --episodes 1000000000000 >/dev/null 2>%s", bin, wl,
             err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "emulator runs an iteration"), "no limit named");
    snprintf(cmd, sizeof cmd, "%s train %s --teacher learned >/dev/null 2>%s", bin, wl, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "teacher 'learned'"), "message does not name the teacher");
    snprintf(cmd, sizeof cmd, "%s train %s --prior -1 >/dev/null 2>%s", bin, wl, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "--prior '-1'"), "message does not name the option");
    snprintf(cmd, sizeof cmd, "%s train %s --prior-path 0.5 >/dev/null 2>%s", bin, wl, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "--prior-path 0.5 needs --prior"), "no message for a lone "
              "--prior-path");
    /* a residual of the teacher: its start is validated and kept as the best */
    snprintf(cmd, sizeof cmd, "%s train %s --val %s --out %s/res --iters 1 --imitate 0 "
             "--dagger 0 --rollouts 2 --episodes 1 --jobs-min 8 --threads 2 --prior 3 "
             "--prior-path 0.6 >%s/res.txt 2>%s", bin, wl, wl, out, tmpdir, err);
    cr_assert_eq(run_cmd(cmd), 0, "weft train --prior failed: see %s", err);
    snprintf(path, sizeof path, "%s/res.txt", tmpdir);
    cr_assert(file_contains(path, "iteration 0: validation"), "no validation at iteration 0");
    coflow_learned_model_t rm;
    snprintf(path, sizeof path, "%s/res/best.msgpack", out);
    cr_assert_eq(coflow_learned_model_load(&rm, path), WEFT_OK, "%s", weft_last_error());
    cr_assert_float_eq(rm.prior, 3.0f, 1e-6);
    cr_assert_float_eq(rm.prior_path, 0.6f, 1e-6);
    coflow_learned_model_destroy(&rm);
    snprintf(cmd, sizeof cmd, "%s eval --policy nope %s >/dev/null 2>%s", bin, wl, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "unknown ordering 'nope'"));
    /* nothing to compare with: a usage error before any run (it ran the
       learned policy on every workload first, then exited 1) */
    snprintf(cmd, sizeof cmd, "%s eval --policy learned --model %s/best.msgpack %s >%s/o "
             "2>%s", bin, out, wl, out, err);
    cr_assert_eq(run_cmd(cmd), 2);
    cr_assert(file_contains(err, "give at least one heuristic to compare with"));
    snprintf(path, sizeof path, "%s/o", out);
    cr_assert(!file_contains(path, "learned"), "eval ran before refusing");
    /* errors: 1, naming the file */
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --resume %s/none.msgpack >/dev/null 2>%s",
             bin, wl, out, tmpdir, err);
    cr_assert_eq(run_cmd(cmd), 1);
    /* and the option, as weft sim's --model: which of the files given it is */
    cr_assert(file_contains(err, "weft train: --resume: input/output error: ") &&
                  file_contains(err, "none.msgpack"), "message does not name the checkpoint");
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --init %s/none.msgpack >/dev/null 2>%s",
             bin, wl, out, tmpdir, err);
    cr_assert_eq(run_cmd(cmd), 1);
    cr_assert(file_contains(err, "weft train: --init: input/output error: ") &&
                  file_contains(err, "none.msgpack"), "message does not name the model");
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --resume %s --iters 1 >/dev/null 2>%s", bin,
             wl, out, wl, err);
    cr_assert_eq(run_cmd(cmd), 1, "a workload accepted as a checkpoint");
    /* divergence: exit 1 naming the iteration; the checkpoint of the
       last good iteration stays */
    snprintf(cmd, sizeof cmd, "%s train %s --out %s/div --iters 3 %s --lr-imitate 1e30 "
             ">/dev/null 2>%s", bin, wl, out, common, err);
    cr_assert_eq(run_cmd(cmd), 1, "a diverging run exited 0");
    cr_assert(file_contains(err, "iteration 2 (dagger): the loss is nan: training diverged"),
              "no divergence message");
    coflow_learned_model_t dm;
    snprintf(path, sizeof path, "%s/div/checkpoint.msgpack", out);
    cr_assert_eq(coflow_learned_model_load(&dm, path), WEFT_OK, "%s", weft_last_error());
    coflow_learned_model_destroy(&dm);
    snprintf(path, sizeof path, "%s/div/final.msgpack", out);
    cr_assert(access(path, F_OK) != 0, "a diverged run wrote %s", path);
    snprintf(cmd, sizeof cmd, "%s eval --model %s/none.msgpack %s >/dev/null 2>%s", bin, tmpdir,
             wl, err);
    cr_assert_eq(run_cmd(cmd), 1);
    cr_assert(file_contains(err, "none.msgpack"));
}

/* Settings of a quick `weft train` on the toy (a second or so a run). */
#define QUICK "--imitate 1 --dagger 1 --episodes 1 --rollouts 2 --jobs-min 8 --threads 2 " \
              "--teacher sincronia --checkpoint-every 1"

/* cli_open(tag) and the toy in cli_dir/toy.weft; false, after a note,
 * without WEFT_BIN. */
static bool cli_toy(const char *tag)
{
    cli_open(tag);
    if (!cli_bin) {
        cli_teardown();
        fprintf(stderr, "note: WEFT_BIN not set (run through ctest): CLI not checked\n");
        return false;
    }
    char wl[160];
    snprintf(wl, sizeof wl, "%s/toy.weft", cli_dir);
    cr_assert_eq(workload_save_weft(&toy, wl), WEFT_OK, "%s", weft_last_error());
    return true;
}

/* The iteration column of cli_dir/NAME (a train.csv) as "1 2 3", "" for a
 * missing file; *header: whether its first line is train.csv's header. */
static const char *csv_iters(const char *name, bool *header)
{
    static char out[1024];
    const char *text = cli_file(name);
    *header = strncmp(text, "iter,phase,", 11) == 0;
    out[0] = '\0';
    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        if (*p < '0' || *p > '9')
            continue;
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%s%ld", n ? " " : "", strtol(p, NULL, 10));
    }
    return out;
}

/* scripts/train.sh takes an absolute build directory (it ran .//abs/weft,
 * "not built"), and a weft gen that fails stops it with gen's message and
 * its own (gen's stderr went to /dev/null: it stopped saying nothing).
 * Here a stand-in weft that fails at once, so nothing trains. */
Test(train, train_script_takes_an_absolute_build_dir_and_shows_gen_errors)
{
    cli_open("train-script");
    cli_write("weft", "#!/bin/sh\necho \"stand-in weft: $1 refused\" >&2\nexit 3\n");
    char path[160], cmd[512];
    snprintf(path, sizeof path, "%s/weft", cli_dir);
    cr_assert_eq(chmod(path, 0755), 0);
    snprintf(cmd, sizeof cmd, "OUT=%s/out MODEL=%s/m.msgpack sh scripts/train.sh %s "
             ">%s/out.txt 2>%s/err", cli_dir, cli_dir, cli_dir, cli_dir, cli_dir);
    cr_assert_eq(run_cmd(cmd), 1, "%s", cli_file("err"));
    const char *err = cli_file("err");
    cr_assert(!strstr(err, "not built"), "%s", err);
    cr_assert(strstr(err, "stand-in weft: gen refused") &&
              strstr(err, "train.sh: weft gen failed making"), "%s", err);
    cli_teardown();
}

/* scripts/train.sh, benchmarks/eval.sh and generalize.sh with an OUT whose
 * path holds a blank: they gathered the --val or workload paths in one
 * string, split again at every blank, so weft was given halves of names.
 * A stand-in weft fails on a .weft argument that is no file. */
Test(train, scripts_keep_a_blank_in_their_paths)
{
    cli_open("scripts-blank");
    cli_write("weft", "#!/bin/sh\n"
              "cmd=$1\n"
              "for a in \"$@\"; do\n"
              "    case $prev in --jobs) jobs=$a ;; -o) out=$a ;; esac\n"
              "    case $cmd:$a in gen:*|*:-*) ;; *.weft) [ -f \"$a\" ] || "
              "{ echo \"stand-in weft: no file '$a'\" >&2; exit 4; } ;; esac\n"
              "    prev=$a\n"
              "done\n"
              "[ \"$cmd\" != gen ] || echo \"end $jobs\" >\"$out\"\n");
    char path[160], cmd[1024];
    snprintf(path, sizeof path, "%s/weft", cli_dir);
    cr_assert_eq(chmod(path, 0755), 0);
    const char *runs[] = {"MODEL=\"%s/b d/m.msgpack\" OUT=\"%s/b d/train\" sh scripts/train.sh",
                          "SEEDS=1 OUT=\"%s/b d/eval\" sh benchmarks/eval.sh",
                          "SEEDS=1 OUT=\"%s/b d/gen\" sh benchmarks/generalize.sh"};
    for (size_t i = 0; i < 3; i++) {
        int k = snprintf(cmd, sizeof cmd, runs[i], cli_dir, cli_dir);
        snprintf(cmd + k, sizeof cmd - (size_t)k, " %s >%s/out 2>%s/err", cli_dir, cli_dir,
                 cli_dir);
        cr_assert_eq(run_cmd(cmd), 0, "%s: %s", runs[i], cli_file("err"));
    }
    cli_teardown();
}

/* benchmarks/eval.sh makes its workloads once and reuses them, but only
 * those made for the JOBS asked: a second run with another JOBS evaluated
 * the first run's files (their names do not hold JOBS). Each file of the
 * second run must end "end 3", as weft gen ends a workload of 3 jobs, and
 * the first run's seed the second has not are gone: room.sh reads them
 * all. */
Test(train, eval_script_remakes_workloads_made_for_another_jobs)
{
#ifdef __SANITIZE_ADDRESS__
    /* a shell script's logic, 20 s of weft gen and eval under ASan, which
       other tests put through the sanitizers already */
    SKIP_TEST("benchmarks/eval.sh's logic: the plain build's run checks it");
#endif
    if (!cli_toy("eval-script"))
        return;
    char build[160], cmd[1024];
    snprintf(build, sizeof build, "%s", cli_bin);
    *strrchr(build, '/') = '\0';
    for (int jobs = 2; jobs <= 3; jobs++) {
        snprintf(cmd, sizeof cmd, "JOBS=%d SEEDS=%d OUT=%s/out sh benchmarks/eval.sh %s "
                 ">%s/eval.txt 2>%s/err", jobs, 4 - jobs, cli_dir, build, cli_dir, cli_dir);
        cr_assert_eq(run_cmd(cmd), 0, "%s", cli_file("err"));
    }
    const char *shapes[] = {"alibaba", "wfcommons"}, *loads[] = {"0.5", "0.7", "0.9"};
    for (size_t s = 0; s < 2; s++)
        for (size_t l = 0; l < 3; l++) {
            char path[256], tail[8] = "";
            snprintf(path, sizeof path, "%s/out/data/%s-l%s-s1001.weft", cli_dir, shapes[s],
                     loads[l]);
            FILE *f = fopen(path, "rb"); /* its last 6 bytes: cli_file keeps 64 kB */
            cr_assert_not_null(f, "%s", path);
            cr_assert_eq(fseek(f, -6, SEEK_END), 0);
            tail[fread(tail, 1, 6, f)] = '\0';
            fclose(f);
            cr_assert_str_eq(tail, "end 3\n", "%s", path);
            char kept[64];
            snprintf(kept, sizeof kept, "out/data/%s-l%s-s1002.weft", shapes[s], loads[l]);
            cr_assert(!cli_exists(kept), "%s: made for JOBS=2, kept", kept);
        }
    cli_teardown();
}

/* train.csv's text (cli_dir/NAME) without its wall_s column, which no two
 * runs share. */
static const char *csv_without_wall_time(const char *name)
{
    static char out[2][1 << 16];
    static int which;
    char *o = out[which ^= 1];
    size_t n = 0;
    int col = 1;
    for (const char *p = cli_file(name); *p && n + 1 < sizeof out[0]; p++) {
        col = *p == '\n' ? 1 : col + (*p == ',');
        if (col != 13 || *p == '\n') /* wall_s and the comma before it */
            o[n++] = *p;
    }
    o[n] = '\0';
    return o;
}

/* Loads cli_dir/NAME as a model into empty m. */
static void cli_model(const char *name, coflow_learned_model_t *m)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    cr_assert_eq(coflow_learned_model_load(m, path), WEFT_OK, "%s", weft_last_error());
}

static void assert_same_model_files(const char *a, const char *b)
{
    coflow_learned_model_t ma, mb;
    cli_model(a, &ma);
    cli_model(b, &mb);
    assert_same_params(&ma, &mb);
    coflow_learned_model_destroy(&ma);
    coflow_learned_model_destroy(&mb);
}

/* Rewrites the checkpoint cli_dir/NAME without its best model, as older
 * builds wrote them. */
static void drop_best_model(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    edit_checkpoint(path, NULL, true, 0, "train.best.", 0, 0);
}

/* A run resumed into another --out: its best.msgpack, --model-out and
 * train.csv (header, the checkpoint's rows, its own) are those of an
 * uninterrupted run. */
Test(train, cli_resume_into_another_out_gives_complete_outputs)
{
    if (!cli_toy("train-resume-out"))
        return;
    const char *d = cli_dir;
    /* validated at every iteration, so stopping at 3 validates nothing more */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/U --iters 4 " QUICK
                     " --validate-every 1", d, d, d), 0, "%s", cli_file("err"));
    /* on the toy's one link Smith's rule, a heuristic's order, is optimal: its
       JCT is the best heuristic's, and a model's ratio to it is at least 1 */
    const char *out = cli_file("out"), *jct = strstr(out, "avg weighted JCT ");
    const char *ratio = strstr(out, "\niteration 0: validation ");
    cr_assert(jct && ratio, "%s", out);
    cr_assert_float_eq(strtod(jct + 17, NULL), smith_optimum(), 1e-4, "%s", out);
    cr_assert_geq(strtod(ratio + 25, NULL), 1.0, "%s", out);
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/B --iters 3 " QUICK
                     " --validate-every 1", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/F --iters 4 " QUICK
                     " --validate-every 1 --resume %s/B/checkpoint.msgpack "
                     "--model-out %s/F/m.msgpack", d, d, d, d, d), 0, "%s", cli_file("err"));
    char want[512];
    snprintf(want, sizeof want, "%s/F/train.csv: rows of iterations up to 3 taken from "
             "%s/B/train.csv\n", d, d);
    cr_assert(strstr(cli_file("out"), want), "%s", cli_file("out"));
    bool header;
    cr_assert_str_eq(csv_iters("F/train.csv", &header), "1 2 3 4");
    cr_assert(header, "no header: %s", cli_file("F/train.csv"));
    assert_same_model_files("F/best.msgpack", "U/best.msgpack");
    assert_same_model_files("F/m.msgpack", "U/best.msgpack");
    assert_same_model_files("F/final.msgpack", "U/final.msgpack");
    /* a checkpoint without its best model (an older weft's): the best is
       looked for again from the checkpoint, said so */
    drop_best_model("B/checkpoint.msgpack");
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/G --iters 4 " QUICK
                     " --validate-every 1 --resume %s/B/checkpoint.msgpack", d, d, d, d), 0,
                 "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "holds no best model"), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "iteration 3: validation"), "%s", cli_file("out"));
    cr_assert(cli_exists("G/best.msgpack"));
    /* the same into the --out of another run, whose best.msgpack is not
       the checkpoint's run's */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/U --iters 4 " QUICK
                     " --validate-every 1 --resume %s/B/checkpoint.msgpack", d, d, d, d), 0,
                 "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "holds no best model"), "%s", cli_file("err"));
    assert_same_model_files("U/best.msgpack", "G/best.msgpack");
    cli_teardown();
}

/* A resume reads the whole of a train.csv longer than one read (4 kB, some
 * 60 rows), for the rows up to its checkpoint. */
Test(train, cli_resume_takes_every_row_of_a_long_train_csv)
{
    if (!cli_toy("train-resume-long-csv"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/B --iters 70 " QUICK " --checkpoint-every 70",
                     d, d), 0, "%s", cli_file("err"));
    cr_assert(strlen(cli_file("B/train.csv")) > 4500, "%s", cli_file("B/train.csv"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/F --iters 71 " QUICK " --checkpoint-every 70 "
                     "--resume %s/B/checkpoint.msgpack", d, d, d), 0, "%s", cli_file("err"));
    char want[1024] = "";
    for (int i = 1; i <= 71; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i > 1 ? " " : "", i);
    bool header;
    cr_assert_str_eq(csv_iters("F/train.csv", &header), want);
    cli_teardown();
}

/* A resume takes the rows up to its checkpoint from the train.csv beside
 * it first, and from its --out's only when that holds the same run: a
 * saved copy resumed into its run's --out, whose train.csv lost them, gets
 * the copy's; a checkpoint alone resumed into another run's --out gets
 * none (not the other run's), and says so. */
Test(train, cli_resume_takes_its_rows_from_beside_its_checkpoint_first)
{
    if (!cli_toy("train-resume-rows-beside"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    /* a run without --val keeps no best model, and weft model says so of
       its checkpoint (it said "the best are in best.msgpack beside it") */
    cr_assert_eq(cli("model %s/run/checkpoint.msgpack", d), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "its run had no --val, so it keeps no best model"), "%s",
              cli_file("out"));
    cr_assert_str_eq(cli_file("run/best.msgpack"), "");
    cr_assert_eq(cli("train %s/toy.weft --out %s/other --iters 3 " QUICK " --seed 9", d, d), 0,
                 "%s", cli_file("err"));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir %s/save %s/lone && cp %s/run/checkpoint.msgpack "
             "%s/run/train.csv %s/save && cp %s/run/checkpoint.msgpack %s/lone", d, d, d, d, d,
             d, d);
    cr_assert_eq(run_cmd(cmd), 0);
    cli_write("run/train.csv", "");
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 3 " QUICK " --resume "
                     "%s/save/checkpoint.msgpack", d, d, d), 0, "%s", cli_file("err"));
    bool header;
    cr_assert_str_eq(csv_iters("run/train.csv", &header), "1 2 3");
    cr_assert_eq(cli("train %s/toy.weft --out %s/other --iters 3 " QUICK " --resume "
                     "%s/lone/checkpoint.msgpack", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_str_eq(csv_iters("other/train.csv", &header), "3");
    cr_assert(strstr(cli_file("err"), "rows of 0 of the checkpoint's 2 iterations found"), "%s",
              cli_file("err"));
    cli_teardown();
}

/* A run resumed into the --out of another, finished run takes its first
 * train.csv rows from the train.csv next to its checkpoint, never from the
 * other run's (it kept that run's rows 1 and 2 before its own 3 and 4);
 * its files end as an uninterrupted run's (validated at the same
 * iterations: every second, the checkpoint's at its --iters 2 included). */
Test(train, cli_resume_into_another_runs_out_takes_its_own_rows)
{
    if (!cli_toy("train-resume-other-rows"))
        return;
    const char *d = cli_dir;
#define RUN "train %s/toy.weft --val %s/toy.weft " QUICK " --validate-every 2"
    cr_assert_eq(cli(RUN " --out %s/B --iters 4 --seed 7", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli(RUN " --out %s/U --iters 4", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli(RUN " --out %s/C --iters 2", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli(RUN " --out %s/B --iters 4 --resume %s/C/checkpoint.msgpack", d, d, d, d),
                 0, "%s", cli_file("err"));
#undef RUN
    static char whole[1 << 16];
    snprintf(whole, sizeof whole, "%s", csv_without_wall_time("U/train.csv"));
    cr_assert_str_eq(csv_without_wall_time("B/train.csv"), whole);
    assert_same_model_files("B/best.msgpack", "U/best.msgpack");
    assert_same_model_files("B/final.msgpack", "U/final.msgpack");
    assert_same_model_files("B/checkpoint.msgpack", "U/checkpoint.msgpack");
    cli_teardown();
}

/* A resume validates at the iterations the run did: another
 * --validate-every would keep another best.msgpack than an uninterrupted
 * run's, and is refused naming both; weft model prints the run's. A run
 * without --val validated nothing, and one resumed with --val may pick. */
Test(train, cli_resume_keeps_the_validation_period)
{
    if (!cli_toy("train-resume-validate-every"))
        return;
    const char *d = cli_dir;
#define RUN "train %s/toy.weft " QUICK
    cr_assert_eq(cli(RUN " --out %s/run --iters 2 --val %s/toy.weft --validate-every 2", d, d, d),
                 0, "%s", cli_file("err"));
    cr_assert_eq(cli(RUN " --out %s/run --iters 3 --val %s/toy.weft --resume "
                     "%s/run/checkpoint.msgpack", d, d, d, d), 1);
    cr_assert(strstr(cli_file("err"), "checkpoint was validated every 2 iterations "
                     "(--validate-every), this run every 5"), "%s", cli_file("err"));
    cr_assert_eq(cli("model %s/run/checkpoint.msgpack", d), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("out"), "--iters 2 --validate-every 2 "), "%s", cli_file("out"));
    cr_assert_eq(cli(RUN " --out %s/run --iters 3 --val %s/toy.weft --resume "
                     "%s/run/checkpoint.msgpack --validate-every 2", d, d, d, d), 0, "%s",
                 cli_file("err"));
    /* in place: said on stdout; its files are its own, its rows all there */
    char want[256];
    snprintf(want, sizeof want, "\nresumed from %s/run/checkpoint.msgpack at iteration 2\n", d);
    cr_assert(strstr(cli_file("out"), want), "%s", cli_file("out"));
    cr_assert_str_eq(cli_file("err"), "");
    cr_assert_eq(cli(RUN " --out %s/bare --iters 2", d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli(RUN " --out %s/bare --iters 3 --val %s/toy.weft --validate-every 3 "
                     "--resume %s/bare/checkpoint.msgpack", d, d, d, d), 0, "%s",
                 cli_file("err"));
#undef RUN
    cli_teardown();
}

/* --model-out is checked before the first iteration, not after them all. */
Test(train, cli_model_out_is_checked_before_training)
{
    if (!cli_toy("train-model-out"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK
                     " --model-out %s/none/m.msgpack", d, d, d), 1);
    char want[160];
    snprintf(want, sizeof want, "cannot write '%s/none/m.msgpack'", d);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cr_assert(!cli_exists("run"), "--out left behind, empty, by a run that never started");
    /* the parents it made go too; a directory that was there stays */
    char kept[160];
    snprintf(kept, sizeof kept, "%s/kept", d);
    cr_assert_eq(mkdir(kept, 0755), 0);
    cr_assert_eq(cli("train %s/toy.weft --out %s/kept/a/b --iters 2 " QUICK
                     " --model-out %s/none/m.msgpack", d, d, d), 1);
    cr_assert(!cli_exists("kept/a") && cli_exists("kept"), "--out's parents left behind");
    /* new/../kept is kept, which was there: it stays (it was removed, being
       empty, as a directory the run had made) */
    cr_assert_eq(cli("train %s/toy.weft --out %s/new/../kept --iters 2 " QUICK
                     " --model-out %s/none/m.msgpack", d, d, d), 1);
    cr_assert(cli_exists("kept"), "a directory that was there was removed");
    /* without --val the model is the final one */
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK
                     " --model-out %s/m.msgpack", d, d, d), 0, "%s", cli_file("err"));
    assert_same_model_files("m.msgpack", "run/final.msgpack");
    char said[256];
    snprintf(said, sizeof said, "\nmodel: %s/m.msgpack (%s/run/final.msgpack)\n", d, d);
    cr_assert(strstr(cli_file("out"), said), "%s", cli_file("out"));
    cli_teardown();
}

/* A run interrupted after its checkpoint at iteration 2 had written rows 3
 * and 4; resumed from that checkpoint, train.csv reads 1..N once. */
Test(train, cli_resume_drops_the_rows_after_the_checkpoint)
{
    if (!cli_toy("train-resume-csv"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp %s/run/checkpoint.msgpack %s/ck2.msgpack", d, d);
    cr_assert_eq(system(cmd), 0);
    for (int round = 0; round < 2; round++) /* the second: as after an interruption */
        cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 4 " QUICK
                         " --resume %s/ck2.msgpack", d, d, d), 0, "%s", cli_file("err"));
    bool header;
    cr_assert_str_eq(csv_iters("run/train.csv", &header), "1 2 3 4");
    cr_assert(header);
    cli_teardown();
}

/* --prior 0 and --prior-path 0 are the defaults the help names. */
Test(train, cli_prior_zero_is_the_network_alone)
{
    if (!cli_toy("train-prior0"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --prior 0", d, d), 0,
                 "%s", cli_file("err"));
    coflow_learned_model_t m;
    cli_model("run/final.msgpack", &m);
    cr_assert(m.prior == 0 && m.prior_path == 0, "prior %g, path %g", (double)m.prior,
              (double)m.prior_path);
    coflow_learned_model_destroy(&m);
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --prior-path 0", d, d),
                 0, "%s", cli_file("err"));
    /* so are the other zeros it names: no curriculum, a constant rate, no
       entropy bonus */
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --curriculum 0 "
                     "--lr-rl-end 0 --entropy 0", d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --prior 0 "
                     "--prior-path 0.5", d, d), 2);
    cr_assert(strstr(cli_file("err"), "--prior-path 0.5 needs --prior > 0"), "%s",
              cli_file("err"));
    cli_teardown();
}

/* Prior weights a model's floats cannot hold are usage errors: --prior
 * 1e39 became infinity (a best.msgpack no weft loads, then "gradient norm
 * is nan"), --prior 1e-50 became 0 (no prior, yet the head zeroed, and
 * --prior-path taken without one). */
Test(train, cli_prior_weights_a_float_cannot_hold_are_usage_errors)
{
    if (!cli_toy("train-prior-range"))
        return;
    const char *d = cli_dir;
    static const char *const bad[][2] = {
        {"--prior 1e39", "--prior 1e+39: expected 0 or a weight from"},
        {"--prior 1e-50 --prior-path 0.6", "--prior 1e-50: expected 0 or a weight from"},
        {"--prior 3 --prior-path 1e-50", "--prior-path 1e-50: expected 0 or a weight from"},
        {"--prior 3 --prior-path 1e39", "--prior-path 1e+39: expected 0 or a weight from"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " %s", d, d,
                         bad[i][0]), 2, "%s: %s", bad[i][0], cli_file("err"));
        cr_assert(strstr(cli_file("err"), bad[i][1]), "%s", cli_file("err"));
        cr_assert(!cli_exists("run"), "%s: --out made before refusing", bad[i][0]);
    }
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --prior 1e30 "
                     "--prior-path 1.2e-38", d, d), 0, "%s", cli_file("err"));
    /* and what it wrote loads: 1e30 as a float (1.00000002e30) was past the
       loader's double 1e30 until 2026-12-07 */
    cr_assert_eq(cli("model %s/run/final.msgpack", d), 0, "%s", cli_file("err"));
    cli_teardown();
}

/* The learning curve draws only the curves with points, and none when
 * neither has one (no --val, no imitation or DAgger): no gnuplot error. */
Test(train, cli_learning_curve_skips_empty_curves)
{
    if (!cli_toy("train-curve"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/a --iters 1 " QUICK " --imitate 0 --dagger 0",
                     d, d), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "nothing to draw"), "%s", cli_file("err"));
    cr_assert(!strstr(cli_file("err"), "gnuplot"), "%s", cli_file("err"));
    cr_assert(!cli_exists("a/learning-curve.png"));
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "note: no gnuplot: the curves with points not checked\n");
        cli_teardown();
        return;
    }
    /* validation only, one point */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/b --iters 1 " QUICK
                     " --imitate 0 --dagger 0", d, d, d), 0, "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("err"), "");
    cr_assert(cli_exists("b/learning-curve.png"));
    /* imitation only */
    cr_assert_eq(cli("train %s/toy.weft --out %s/c --iters 2 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    cr_assert_str_eq(cli_file("err"), "");
    cr_assert(cli_exists("c/learning-curve.png"));
    cli_teardown();
}

/* A new run that starts from a model of its --out's finished run (--init
 * train-out/best.msgpack with the default --out, the natural next run) is
 * refused before it writes anything: it deleted or replaced that model,
 * with a note, once its first iteration was done. Into another --out it
 * runs. */
Test(train, cli_init_from_a_model_the_run_replaces_is_refused)
{
    if (!cli_toy("train-init-out"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 2 " QUICK, d, d,
                     d), 0, "%s", cli_file("err"));
    const char *models[] = {"best.msgpack", "final.msgpack", "checkpoint.msgpack"};
    char cmd[512], want[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "cp %s/run/%s %s/keep", d, models[i], d);
        cr_assert_eq(run_cmd(cmd), 0);
        cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK " --seed 9 "
                         "--init %s/run/%s", d, d, d, models[i]), 1, "%s", cli_file("err"));
        snprintf(want, sizeof want, "--init %s/run/%s is the %s of --out %s/run, which this "
                 "run replaces", d, models[i], models[i], d);
        cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
        snprintf(cmd, sizeof cmd, "cmp -s %s/run/%s %s/keep", d, models[i], d);
        cr_assert_eq(run_cmd(cmd), 0, "%s changed", models[i]);
    }
    cr_assert_eq(cli("train %s/toy.weft --out %s/next --iters 2 " QUICK " --seed 9 "
                     "--init %s/run/best.msgpack", d, d, d), 0, "%s", cli_file("err"));
    cli_teardown();
}

/* --init of a residual (the shipped model is one) with --prior: refused,
 * as --prior zeroes the score head its training learned (it did, and the
 * run went on from the untrained residual); without --prior the model's
 * own priors are kept. */
Test(train, cli_prior_on_a_residual_init_is_refused)
{
    if (!cli_toy("train-init-residual"))
        return;
    const char *d = cli_dir;
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 5), WEFT_OK);
    cr_assert_eq(coflow_learned_model_make_residual(&m, 3, 0.6), WEFT_OK);
    char path[160];
    snprintf(path, sizeof path, "%s/res.msgpack", d);
    cr_assert_eq(coflow_learned_model_save(&m, path), WEFT_OK, "%s", weft_last_error());
    coflow_learned_model_destroy(&m);
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --init %s/res.msgpack "
                     "--prior 3 --prior-path 0.6", d, d, d), 2, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "is already a residual (prior 3, path 0.6)"), "%s",
              cli_file("err"));
    cr_assert(!cli_exists("run"), "--out made before refusing");
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --init %s/res.msgpack",
                     d, d, d), 0, "%s", cli_file("err"));
    cli_model("run/final.msgpack", &m);
    cr_assert(m.prior == 3.0f && m.prior_path == 0.6f, "prior %g, path %g", (double)m.prior,
              (double)m.prior_path);
    coflow_learned_model_destroy(&m);
    cli_teardown();
}

/* A run without --val resumed with one: validation starts at the
 * checkpoint (there is no best ratio to compare with another set's; it was
 * refused as "validated on other workloads (0, ...)"), and the parameters
 * are those of a run that never validated. */
Test(train, cli_resume_without_val_may_add_it)
{
    if (!cli_toy("train-resume-add-val"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/U --iters 3 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK
                     " --resume %s/run/checkpoint.msgpack", d, d, d, d), 0, "%s",
                 cli_file("err"));
    cr_assert(strstr(cli_file("out"), "iteration 2: validation"), "%s", cli_file("out"));
    cr_assert(cli_exists("run/best.msgpack"));
    assert_same_model_files("run/final.msgpack", "U/final.msgpack");
    cli_teardown();
}

/* A run started from an --init model of other layer sizes, resumed
 * without it (weft model's options cannot name that file): the message
 * gives both sizes and says to give --init again; parameter counts alone
 * ("3032 + 27713 parameters, the trainer's 9224 + 29249") did not say
 * why. With --init it resumes. */
Test(train, cli_resume_of_a_run_from_another_size_needs_its_init)
{
    if (!cli_toy("train-init-size"))
        return;
    const char *d = cli_dir;
    coflow_learned_model_t m, small;
    cr_assert_eq(coflow_learned_model_random(&m, 1), WEFT_OK);
    coflow_learned_model_init(&small);
    small.gcfg = m.gcfg;
    small.acfg = m.acfg;
    small.gcfg.D = small.gcfg.S = m.gcfg.D / 2;
    small.acfg.E = gnn_out_dim(&small.gcfg);
    cr_assert_eq(gnn_params_init(&small.gp, &small.gcfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&small.ap, &small.acfg), WEFT_OK);
    gnn_params_init_random(&small.gp, &small.gcfg, 3);
    attn_params_init_random(&small.ap, &small.acfg, 4);
    memcpy(small.mean, m.mean, sizeof m.mean);
    memcpy(small.std, m.std, sizeof m.std);
    char path[160];
    snprintf(path, sizeof path, "%s/small.msgpack", d);
    cr_assert_eq(coflow_learned_model_save(&small, path), WEFT_OK, "%s", weft_last_error());
    char want[160];
    snprintf(want, sizeof want, "other layer sizes (gnn.D %zu, gnn.L %zu, gnn.S %zu,",
             small.gcfg.D, small.gcfg.L, small.gcfg.S);
    coflow_learned_model_destroy(&small);
    coflow_learned_model_destroy(&m);
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK " --init %s", d, d, path),
                 0, "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 3 " QUICK " --resume "
                     "%s/run/checkpoint.msgpack", d, d, d), 1, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "a run started with --init FILE resumes with it again"),
              "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 3 " QUICK " --init %s --resume "
                     "%s/run/checkpoint.msgpack", d, d, path, d), 0, "%s", cli_file("err"));
    cli_teardown();
}

/* weft model on a checkpoint prints its run's options readably, and they
 * resume it as they are (a resume compares every setting exactly); it
 * printed the doubles as their bits ("train.cfg.lr_rl 4554169646866313825")
 * and the teacher and allocator not at all. */
Test(train, cli_model_prints_a_checkpoints_options_that_resume_it)
{
    if (!cli_toy("train-model-options"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 2 " QUICK " --prior 3 "
                     "--prior-path 0.6 --lr-rl 3e-4 --lr-rl-end 3e-5 --clip 0.5 --entropy 0.001 "
                     "--allocator greedy --no-differential", d, d), 0, "%s", cli_file("err"));
    cr_assert_eq(cli("model %s/run/checkpoint.msgpack", d), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    cr_assert(!strstr(out, "train.cfg."), "%s", out);
    cr_assert(strstr(out, "progress          iteration 2 of 2 (Adam step 2); no best "
                     "validation; 1 training and 0 --val workloads"), "%s", out);
    const char *opt = strstr(out, "options           ");
    cr_assert_not_null(opt, "%s", out);
    char options[1024];
    snprintf(options, sizeof options, "%.*s", (int)strcspn(opt + 18, "\n"), opt + 18);
    cr_assert(strstr(options, "--teacher sincronia") && strstr(options, "--lr-rl 0.0003 ") &&
              strstr(options, "--no-differential --allocator greedy --prior 3 "
                     "--prior-path 0.6"), "%s", options);
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --threads 1 --resume "
                     "%s/run/checkpoint.msgpack %s", d, d, d, options), 0, "%s",
                 cli_file("err"));
    cr_assert(strstr(cli_file("err"), "checkpoint is at --iters 2"), "%s", cli_file("err"));
    cli_teardown();
}

/* A checkpoint given where a model goes runs its last iteration's
 * parameters, not the best: sim, eval, serve and train --init say so,
 * naming the file and the run's models beside it (they ran it without a
 * word); a model proper gets no such note. */
Test(train, cli_a_checkpoint_used_as_a_model_is_noted)
{
    if (!cli_toy("train-checkpoint-as-model"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    const char *runs[] = {
        "sim %s/toy.weft --policy learned --model %s/run/%s",
        "eval %s/toy.weft --policy learned --policy fifo --model %s/run/%s",
        /* stops at the missing secrets, after the model is read */
        "serve --ports 8 --token t --policy learned --agent-tokens %s/none --model %s/run/%s",
        "train %s/toy.weft --init %s/run/%s --out %s/again --iters 1 " QUICK,
    }; /* each with d, d, the file and d (unused but by train) */
    const char *cmds[] = {"sim", "eval", "serve", "train"};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        char want[512];
        snprintf(want, sizeof want, "weft %s: note: %s %s/run/checkpoint.msgpack is a training "
                 "checkpoint: its last iteration's parameters are used, not the best; its run "
                 "writes %s/run/best.msgpack (best validation, with --val) and "
                 "%s/run/final.msgpack (at its end)\n", cmds[i], i < 3 ? "--model" : "--init",
                 d, d, d);
        int st = cli(runs[i], d, d, "checkpoint.msgpack", d);
        cr_assert_eq(st, i == 2 ? 1 : 0, "%s: %s", cmds[i], cli_file("err"));
        cr_assert(strstr(cli_file("err"), want), "%s: %s", cmds[i], cli_file("err"));
        cli(runs[i], d, d, "final.msgpack", d);
        cr_assert(!strstr(cli_file("err"), "training checkpoint"), "%s: %s", cmds[i],
                  cli_file("err"));
    }
    cli_teardown();
}

/* A model file where a workload goes (--val, a training workload, weft
 * eval's): said so, not "a NUL byte at column 174: not a text file, or a
 * damaged one", which sent one looking for damage in a good model. */
Test(train, cli_model_file_given_as_a_workload_is_named_as_one)
{
    if (!cli_toy("train-model-as-workload"))
        return;
    const char *d = cli_dir;
    char path[160];
    snprintf(path, sizeof path, "%s/m.msgpack", d);
    cr_assert_eq(coflow_learned_save_random(path, 1), WEFT_OK, "%s", weft_last_error());
    const char *want = "m.msgpack: a weft model file (a learned policy's: weft model FILE "
                       "reads it), not a workload";
    cr_assert_eq(cli("train %s/toy.weft --val %s --out %s/run " QUICK, d, path, d), 1);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cr_assert(!cli_exists("run"), "--out made before refusing");
    cr_assert_eq(cli("eval --policy jsebf --policy fifo %s/toy.weft %s", d, path), 1);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cli_teardown();
}

/* A new run into an --out whose checkpoint is an unfinished run's (here
 * one that diverged after its checkpoint at iteration 1 of 3) is refused
 * before it writes anything: it truncated train.csv and replaced
 * best.msgpack at once, and the checkpoint at its first one. A finished
 * run's outputs may be replaced. */
Test(train, cli_new_run_does_not_overwrite_an_unfinished_one)
{
    if (!cli_toy("train-unfinished"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK
                     " --lr-imitate 1e30", d, d, d), 1, "%s", cli_file("err"));
    static char csv[1 << 16];
    snprintf(csv, sizeof csv, "%s", cli_file("run/train.csv"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/run/best.msgpack %s/best.keep", d, d);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK, d, d,
                     d), 1);
    cr_assert(strstr(cli_file("err"), "run/checkpoint.msgpack holds a run stopped at "
                     "iteration 1 of 3"), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "continues it; to start afresh, remove it or give "
                     "another --out\n"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("run/train.csv"), csv);
    snprintf(cmd, sizeof cmd, "cmp -s %s/run/best.msgpack %s/best.keep", d, d);
    cr_assert_eq(system(cmd), 0, "best.msgpack changed");
    cr_assert_eq(cli("train %s/toy.weft --out %s/done --iters 1 " QUICK, d, d), 0);
    cr_assert_eq(cli("train %s/toy.weft --out %s/done --iters 1 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    cli_teardown();
}

/* A run resumed from another run's checkpoint into an --out holding an
 * unfinished run is refused as a new run there is, leaving its files as
 * they were (it overwrote its checkpoint, best.msgpack and train.csv);
 * the unfinished run itself resumes in place. */
Test(train, cli_resume_does_not_overwrite_another_unfinished_run)
{
    if (!cli_toy("train-resume-unfinished"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 2 " QUICK, d, d,
                     d), 0, "%s", cli_file("err"));
    char path[160];
    snprintf(path, sizeof path, "%s/run/checkpoint.msgpack", d);
    edit_checkpoint(path, "train.iterations", false, 3, NULL, 0, 0); /* stopped at 2 of 3 */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/other --iters 1 " QUICK
                     " --seed 9", d, d, d), 0, "%s", cli_file("err"));
    static char csv[1 << 16];
    snprintf(csv, sizeof csv, "%s", cli_file("run/train.csv"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/run/best.msgpack %s/best.keep && cp %s/run/checkpoint.msgpack "
             "%s/ckpt.keep", d, d, d, d);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK
                     " --seed 9 --resume %s/other/checkpoint.msgpack", d, d, d, d), 1);
    char want[512];
    snprintf(want, sizeof want, "run/checkpoint.msgpack holds a run stopped at iteration 2 of "
             "3, which this run (--resume %s/other/checkpoint.msgpack) would overwrite", d);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "continues it; to resume another run there, remove it "
                     "or give another --out\n"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("run/train.csv"), csv);
    snprintf(cmd, sizeof cmd, "cmp -s %s/run/best.msgpack %s/best.keep && "
             "cmp -s %s/run/checkpoint.msgpack %s/ckpt.keep", d, d, d, d);
    cr_assert_eq(system(cmd), 0, "best.msgpack or checkpoint.msgpack changed");
    /* ./run/checkpoint.msgpack is the --out's own: the same run continuing */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK
                     " --resume %s/./run/checkpoint.msgpack", d, d, d, d), 0, "%s",
                 cli_file("err"));
    bool header;
    cr_assert_str_eq(csv_iters("run/train.csv", &header), "1 2 3");
    cli_teardown();
}

/* A new run into a finished run's --out writes nothing there before its
 * first iteration is done, so one that fails in it leaves the finished
 * run's files as they were (it replaced best.msgpack and train.csv at
 * once, and left the old checkpoint and final model beside them); one
 * that fails later leaves its own files alone, none of the other run's. */
Test(train, cli_a_failed_new_run_does_not_mix_with_a_finished_one)
{
    if (!cli_toy("train-failed-new-run"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 2 " QUICK, d, d,
                     d), 0, "%s", cli_file("err"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r %s/run %s/keep", d, d);
    cr_assert_eq(system(cmd), 0);
    /* diverges in iteration 1: its parameters would overflow a float */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 2 " QUICK
                     " --seed 5 --lr-imitate 1e39", d, d, d), 1);
    cr_assert(strstr(cli_file("err"), "iteration 1 (imitate)"), "%s", cli_file("err"));
    snprintf(cmd, sizeof cmd, "diff -r %s/run %s/keep", d, d);
    cr_assert_eq(system(cmd), 0, "a run that failed at once changed the finished run's files");
    /* diverges in iteration 2, before any checkpoint of its own */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters 3 " QUICK
                     " --seed 5 --lr-imitate 1e30 --checkpoint-every 5", d, d, d), 1);
    cr_assert(strstr(cli_file("err"), "iteration 2 (dagger)"), "%s", cli_file("err"));
    char want[256];
    snprintf(want, sizeof want, "note: %s/run: the checkpoint, models and plot it held are "
             "replaced by this run's\n", d);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    bool header;
    cr_assert_str_eq(csv_iters("run/train.csv", &header), "1");
    cr_assert(header);
    cr_assert(!cli_exists("run/checkpoint.msgpack") && !cli_exists("run/final.msgpack") &&
              !cli_exists("run/learning-curve.png"), "the finished run's files left beside");
    snprintf(cmd, sizeof cmd, "cmp -s %s/run/best.msgpack %s/keep/best.msgpack", d, d);
    cr_assert_neq(system(cmd), 0, "best.msgpack is the finished run's");
    cli_teardown();
}

/* A validation or evaluation workload whose best heuristic takes 0 s on
 * average (two jobs of 1e-200 bytes, which a clock at 5 s cannot see)
 * gives no ratio: refused, naming it, before training (by the check of
 * the clock every workload read passes, netsim_check_clock). The run went
 * on with a nan ratio at every validation, kept no best model and failed
 * at the end on --model-out; eval said "give at least one heuristic to
 * compare with" though two were given. */
Test(train, cli_val_workload_of_zero_jct_is_refused)
{
    if (!cli_toy("train-zero-val"))
        return;
    const char *d = cli_dir;
    coflow_workload_t z;
    coflow_workload_init(&z, 2);
    for (int j = 0; j < 2; j++) {
        cr_assert_eq(coflow_workload_add_job(&z, j, 5 + j, 1, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_coflow(&z, 0, 0), WEFT_OK);
        cr_assert_eq(coflow_workload_add_flow(&z, 0, 1, 1e-200), WEFT_OK);
        cr_assert_eq(coflow_workload_finish_job(&z), WEFT_OK, "%s", weft_last_error());
    }
    char path[160];
    snprintf(path, sizeof path, "%s/zero.weft", d);
    cr_assert_eq(workload_save_weft(&z, path), WEFT_OK, "%s", weft_last_error());
    coflow_workload_destroy(&z);
    cr_assert_eq(cli("train %s/toy.weft --val %s --out %s/run --iters 2 " QUICK
                     " --model-out %s/m.msgpack", d, path, d, d), 1);
    cr_assert(strstr(cli_file("err"), "zero.weft: job 0 coflow 0: its flow 0->1 of 1e-200 "
                     "bytes takes 8e-209 s alone, but the clock steps by"), "%s",
              cli_file("err"));
    cr_assert(!cli_exists("run"), "--out left behind by a run refused before training");
    cr_assert_eq(cli("eval --policy jsebf --policy fifo %s/toy.weft %s", d, path), 1);
    cr_assert(strstr(cli_file("err"), "zero.weft: job 0 coflow 0: its flow"), "%s",
              cli_file("err"));
    cli_teardown();
}

/* Each --val workload's line names its best heuristic, however many there
 * are: past the 64th they said "best heuristic ?". Here all are one file,
 * so every line must be the first's. */
Test(train, cli_every_val_workload_names_its_best_heuristic)
{
    if (!cli_toy("train-many-val"))
        return;
    enum { N_VAL = 66 };
    char cmd[4096];
    int k = snprintf(cmd, sizeof cmd, "cd %s && timeout 60 %s train toy.weft", cli_dir,
                     cli_bin);
    for (int i = 0; i < N_VAL; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --val toy.weft");
    snprintf(cmd + k, sizeof cmd - (size_t)k, " --out run --iters 1 --imitate 0 --dagger 0 "
             "--episodes 1 --rollouts 2 --jobs-min 8 --threads 2 >out 2>err");
    cr_assert_eq(run_cmd(cmd), 0, "%s", cli_file("err"));
    const char *out = cli_file("out"), *first = strstr(out, "validation toy.weft: ");
    cr_assert_not_null(first, "%s", out);
    size_t len = strcspn(first, "\n"), n = 0;
    for (const char *p = first; (p = strstr(p, "validation toy.weft: ")); p += len, n++)
        cr_assert(!strncmp(p, first, len + 1), "line %zu: %.*s, the first: %.*s", n + 1,
                  (int)strcspn(p, "\n"), p, (int)len, first);
    cr_assert_eq(n, N_VAL, "%s", out);
    cr_assert(strstr(out, "training on 1 workload (toy.weft); validating on 66 (toy.weft, "
                          "toy.weft, toy.weft, toy.weft and 62 more)\n"), "%s", out);
    cli_teardown();
}

/* A --val workload of one flow, which every order runs alike: each
 * heuristic ties, and the first of the list (fifo) is named its best; the
 * start validates at a ratio of 1 on each, so at their mean 1 too, printed
 * at iteration 0. */
Test(train, cli_val_ties_name_the_first_heuristic_and_ratios_are_a_mean)
{
    if (!cli_toy("train-val-tie"))
        return;
    const char *d = cli_dir;
    coflow_workload_t one;
    coflow_workload_init(&one, 2);
    cr_assert_eq(coflow_workload_add_job(&one, 0, 0, 1, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_coflow(&one, 0, 0), WEFT_OK);
    cr_assert_eq(coflow_workload_add_flow(&one, 0, 1, 1e6), WEFT_OK);
    cr_assert_eq(coflow_workload_finish_job(&one), WEFT_OK, "%s", weft_last_error());
    char path[160];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/one%d.weft", d, i);
        cr_assert_eq(workload_save_weft(&one, path), WEFT_OK, "%s", weft_last_error());
    }
    coflow_workload_destroy(&one);
    cr_assert_eq(cli("train %s/toy.weft --val %s/one0.weft --val %s/one1.weft --out %s/run "
                     "--iters 1 " QUICK, d, d, d, d), 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    char plan[512];
    snprintf(plan, sizeof plan, "training on 1 workload (%s/toy.weft); validating on 2 "
             "(%s/one0.weft, %s/one1.weft)\n", d, d, d);
    cr_assert(strstr(out, plan), "%s", out);
    for (int i = 0; i < 2; i++) {
        char want[256];
        snprintf(want, sizeof want, "validation %s/one%d.weft: best heuristic fifo, ", d, i);
        cr_assert(strstr(out, want), "%s", out);
    }
    cr_assert(strstr(out, "\niteration 0: validation 1.0000\n"), "%s", out);
    /* the progress line of an iteration validated shows it (here the last) */
    cr_assert(strstr(out, " left 0m00s  val 1.0000 (best 1.0000 @"), "%s", out);
    cli_teardown();
}

/* `--val v*.weft` validates on v0 only and trains on v1 and v2: a note
 * names those two (not a refusal: the run goes on with them), and not the
 * workload after the second --val, which no glob of its file gives. */
Test(train, cli_val_followed_by_its_globs_other_files_is_noted)
{
    if (!cli_toy("train-val-glob"))
        return;
    const char *d = cli_dir;
    const char *names[] = {"v0", "v1", "v2", "w0", "toy2"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s.weft", d, names[i]);
        cr_assert_eq(workload_save_weft(&toy, path), WEFT_OK, "%s", weft_last_error());
    }
    cr_assert_eq(cli("train %s/toy.weft --val %s/v0.weft %s/v1.weft %s/v2.weft --val "
                     "%s/w0.weft %s/toy2.weft --out %s/run --iters 1 " QUICK, d, d, d, d, d, d,
                     d), 0, "%s", cli_file("err"));
    char want[512];
    snprintf(want, sizeof want, "weft train: note: --val %s/v0.weft: the 2 workloads after it "
             "(%s/v1.weft, %s/v2.weft) look like its glob's and train: a glob after --val "
             "(--val v*.weft) validates on its first file only; give --val before each file "
             "to validate on\n", d, d, d);
    const char *err = cli_file("err"), *note = strstr(err, "note: --val ");
    cr_assert(note && note == strstr(err, want) + strlen("weft train: "), "%s", err);
    cr_assert_null(strstr(note + 1, "note: --val "), "%s", err);
    snprintf(want, sizeof want, "training on 4 workloads (%s/toy.weft, %s/v1.weft, "
             "%s/v2.weft, %s/toy2.weft); validating on 2 (%s/v0.weft, %s/w0.weft)\n", d, d, d,
             d, d, d);
    cr_assert(strstr(cli_file("out"), want), "%s", cli_file("out"));
    cli_teardown();
}

/* Validation ratios hold for weights down to the least double (5e-324),
 * as weft eval's: they are taken over each workload's scaled weights. On
 * one link, jobs of 4 s and 1 s at 0, with weights of 1 and 20 units of
 * 5e-324 (a) or 20 and 1 (b): the big job first gives (4 + 20 x 5) / 2 =
 * 52 units in a and (20 x 4 + 5) / 2 = 42.5 in b, the small one first
 * 12.5 and 50.5. Each of a and b is its heuristics' best (ratio 1) or the
 * other order (52 / 12.5 in a, 50.5 / 42.5 in b), whichever the network
 * takes (it reads the weights as 0.25 and 5, learned-policy.md, "Weights
 * in other units"); c, a job of 0.25 s and weight 5e-324 alone, is 1. So
 * the mean ratio is one of four; the averages themselves rounded to whole
 * units (the first read 1.0952 for two workloads, 1.0941 right), and c's
 * to 0, which refused the workload as one whose jobs take no time. */
Test(train, cli_val_ratios_hold_for_weights_down_to_the_least_double)
{
    if (!cli_toy("train-val-tiny"))
        return;
    const char *d = cli_dir;
    cli_write("a.weft", "weft-workload 1\nports 2\njob 0 0 5e-324 0 1\ncoflow 0 0 1 -\n"
                        "0 1 500000000\njob 1 0 1e-322 0 1\ncoflow 0 0 1 -\n0 1 125000000\n"
                        "end 2\n");
    cli_write("b.weft", "weft-workload 1\nports 2\njob 0 0 1e-322 0 1\ncoflow 0 0 1 -\n"
                        "0 1 500000000\njob 1 0 5e-324 0 1\ncoflow 0 0 1 -\n0 1 125000000\n"
                        "end 2\n");
    cli_write("c.weft", "weft-workload 1\nports 2\njob 0 0 5e-324 0 1\ncoflow 0 0 1 -\n"
                        "0 1 31250000\nend 1\n");
    cr_assert_eq(cli("train %s/toy.weft --val %s/a.weft --val %s/b.weft --val %s/c.weft "
                     "--out %s/run --iters 1 --imitate 0 --dagger 0 --episodes 1 "
                     "--rollouts 2 --jobs-min 3 --threads 2", d, d, d, d, d), 0, "%s",
                 cli_file("err"));
    const char *out = cli_file("out"), *at = strstr(out, "\niteration 0: validation ");
    cr_assert_not_null(at, "%s", out);
    double got = strtod(at + strlen("\niteration 0: validation "), NULL);
    const double ra[2] = {1, 52 / 12.5}, rb[2] = {1, 50.5 / 42.5};
    bool one_of = false;
    for (int i = 0; i < 4; i++)
        one_of = one_of || fabs(got - (ra[i & 1] + rb[i >> 1] + 1) / 3) < 1e-4;
    cr_assert(one_of, "validation %.4f, expected (1 or %.4f + 1 or %.4f + 1) / 3\n%s", got,
              ra[1], rb[1], out);
    cli_teardown();
}

/* A train.csv that can no longer be written (a full disk: here a link to
 * /dev/full) stops the run at that iteration, naming the file; it went on
 * to the end, its rows lost. */
Test(train, cli_a_learning_curve_that_cannot_be_written_stops_the_run)
{
    if (!cli_toy("train-full"))
        return;
    const char *d = cli_dir;
    char dir[512], link[600];
    snprintf(dir, sizeof dir, "%s/run", d);
    snprintf(link, sizeof link, "%s/train.csv", dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(symlink("/dev/full", link), 0);
    cr_assert_eq(cli("train %s/toy.weft --out %s --iters 2 " QUICK, d, dir), 1);
    cr_assert(strstr(cli_file("err"), "train.csv' (iteration 1): No space left on device"),
              "%s", cli_file("err"));
    cli_teardown();
}

/* A train.csv in --out that cannot be written (here a directory) is found
 * before the first iteration: refused, the finished run's files there left
 * as they were (found after it, they were removed first). */
Test(train, cli_a_train_csv_that_cannot_be_written_is_refused_before_training)
{
    if (!cli_toy("train-csv-unwritable"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK, d, d), 0, "%s",
                 cli_file("err"));
    char path[160];
    snprintf(path, sizeof path, "%s/run/train.csv", d);
    cr_assert(unlink(path) == 0 && mkdir(path, 0755) == 0);
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK, d, d), 1);
    char want[192];
    snprintf(want, sizeof want, "cannot write '%s': ", path);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    cr_assert(cli_exists("run/final.msgpack") && cli_exists("run/checkpoint.msgpack"),
              "the finished run's models were removed");
    cli_teardown();
}

/* A setting out of range that the option parser cannot see alone (a
 * bound, two options together, a name) is a usage error whose message
 * names the option typed: it named the field ("threads 5000, expected
 * 1..1024", "episode jobs 20..10"). */
Test(train, cli_settings_out_of_range_name_their_options)
{
    if (!cli_toy("train-setting-names"))
        return;
    static const char *const cases[][2] = {
        {"--threads 5000", "threads 5000 (--threads), expected 1..1024"},
        {"--episodes 500000 --rollouts 4", "500000 episodes of 4 rollouts an iteration "
         "(--episodes, --rollouts)"},
        {"--jobs-min 20 --jobs-max 10", "episode jobs 20..10 (--jobs-min, --jobs-max)"},
        {"--entropy-decay 1.5", "entropy decay 1.5 (--entropy-decay)"},
        {"--lr-rl-end 1", "learning rate 1 (--lr-rl-end) above the first, 0.0003 (--lr-rl)"},
        {"--teacher bogus", "teacher 'bogus' (--teacher)"},
        {"--allocator bogus", "unknown allocator 'bogus' (--allocator)"},
        {"--checkpoint-every 0", "--checkpoint-every '0': expected an integer >= 1"},
        {"--iters 0", "--iters '0': expected an integer >= 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(cli("train %s/toy.weft --out %s/run %s", cli_dir, cli_dir, cases[i][0]), 2,
                     "%s: %s", cases[i][0], cli_file("err"));
        cr_assert(strstr(cli_file("err"), cases[i][1]), "%s: %s", cases[i][0],
                  cli_file("err"));
        cr_assert(!cli_exists("run"), "%s: --out made before refusing", cases[i][0]);
    }
    cli_teardown();
}

/* A model trained with another --allocator than learned's own (madd) is
 * run with madd by weft sim and eval, as the model file does not record
 * it: the run ends saying so, and how to run it as trained. */
Test(train, cli_another_allocator_is_noted_at_the_end)
{
    if (!cli_toy("train-allocator"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/greedy --iters 2 " QUICK " --allocator greedy",
                     d, d), 0, "%s", cli_file("err"));
    cr_assert(strstr(cli_file("err"), "note: trained and validated with --allocator greedy, "
                     "which the model file does not record: weft sim and eval run it with "
                     "madd unless given --policy learned:greedy"), "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/madd --iters 2 " QUICK " --allocator madd", d,
                     d), 0, "%s", cli_file("err"));
    cr_assert(!strstr(cli_file("err"), "--allocator"), "%s", cli_file("err"));
    cli_teardown();
}

/* An --imitate or --dagger longer than the whole run is a usage error
 * naming both values: it was taken, the run ended inside that phase and
 * REINFORCE never came. Both phases together may be longer (a short run
 * of imitation then DAgger, resumed with more --iters, is one). */
Test(train, cli_a_phase_longer_than_the_run_is_a_usage_error)
{
    if (!cli_toy("train-phases"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out %s/run " QUICK " --iters 3 --imitate 5", d, d),
                 2);
    cr_assert(strstr(cli_file("err"), "--imitate 5 is more than --iters 3: the run would end "
                     "inside that phase\n"), "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run " QUICK " --iters 3 --dagger 4", d, d), 2);
    cr_assert(strstr(cli_file("err"), "--dagger 4 is more than --iters 3"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run " QUICK " --imitate 61", d, d), 2);
    cr_assert(strstr(cli_file("err"), "--imitate 61 is more than --iters 60 (the default)"),
              "%s", cli_file("err"));
    cr_assert(!cli_exists("run"), "--out made before refusing");
    /* a phase left at its default that fills the run is taken, with a note
       (--iters 2 alone never reached REINFORCE, silently); none when both
       are given */
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --episodes 1 --rollouts 2 --jobs-min 8 "
                     "--threads 2 --teacher sincronia --iters 2 --imitate 1", d, d), 0, "%s",
                 cli_file("err"));
    cr_assert(strstr(cli_file("err"), "note: --imitate 1 and --dagger 20 (the default) take "
                     "all 2 iterations (--iters): no REINFORCE iteration"), "%s",
              cli_file("err"));
    /* its checkpoint is written at its end, though 2 is no multiple of
       --checkpoint-every's default 5 */
    cr_assert(cli_exists("run/checkpoint.msgpack"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/both " QUICK " --iters 2", d, d), 0, "%s",
                 cli_file("err"));
    cr_assert(!strstr(cli_file("err"), "note:"), "%s", cli_file("err"));
    /* phases that end with the run exactly fill it too (the note comes
       before the checks of the priors, which refuse this one at once) */
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 21 --imitate 1 --prior-path 1", d,
                     d), 2);
    cr_assert(strstr(cli_file("err"), "note: --imitate 1 and --dagger 20 (the default) take "
                     "all 21 iterations (--iters)"), "%s", cli_file("err"));
    cli_teardown();
}

/* An empty --out or --model-out is a usage error (status 2) naming the
 * option; --out '' exited 1 after trying to make a directory named ''. */
Test(train, cli_empty_out_or_model_out_is_a_usage_error)
{
    if (!cli_toy("train-empty-names"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("train %s/toy.weft --out '' --iters 1 " QUICK, d), 2);
    cr_assert(strstr(cli_file("err"), "--out '': expected a directory name"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --out %s/run --iters 1 " QUICK " --model-out ''", d, d),
                 2);
    cr_assert(strstr(cli_file("err"), "--model-out '': expected a file name"), "%s",
              cli_file("err"));
    cr_assert(!cli_exists("run"), "--out made before refusing");
    cli_teardown();
}

/* So are eval's --csv '' (and -) and sim's --save-model '', as every other output
 * option's: they exited 1, "cannot write ''" after reading the model, and
 * "invalid value: an empty file name" naming no option. */
Test(train, cli_empty_csv_or_save_model_is_a_usage_error)
{
    if (!cli_toy("eval-empty-names"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("eval %s/toy.weft --policy fifo --csv ''", d), 2);
    cr_assert(strstr(cli_file("err"), "--csv '': expected a file name"), "%s", cli_file("err"));
    /* and "-", which wrote a file named "-" (gen's -o - is standard output,
       but eval's holds the table) */
    cr_assert_eq(cli("eval %s/toy.weft --policy fifo --csv -", d), 2);
    cr_assert(strstr(cli_file("err"), "--csv -: standard output holds the table"), "%s",
              cli_file("err"));
    cr_assert_eq(cli("sim --seed 1 --save-model ''"), 2);
    cr_assert(strstr(cli_file("err"), "--save-model '': expected a file name"), "%s",
              cli_file("err"));
    cli_teardown();
}

/* A workload given twice to eval is a usage error naming both arguments:
 * it counted twice in every mean, and its copies' equal results narrowed
 * the intervals (to 0 for one file twice); standard input given twice read
 * empty the second time. */
Test(train, cli_eval_refuses_a_workload_given_twice)
{
    if (!cli_toy("eval-twice"))
        return;
    const char *d = cli_dir;
    cr_assert_eq(cli("eval %s/toy.weft %s/../%s/toy.weft --policy fifo --policy sebf", d, d,
                     strrchr(d, '/') + 1), 2);
    cr_assert(strstr(cli_file("err"), "toy.weft' given twice (as '"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("out"), "");
    cr_assert_eq(cli("eval - - --policy fifo --policy sebf <%s/toy.weft", d), 2);
    cr_assert(strstr(cli_file("err"), "workload '-' given twice (as '-' before it)"), "%s",
              cli_file("err"));
    /* another file of the same content is another sample */
    char copy[192];
    snprintf(copy, sizeof copy, "cp %s/toy.weft %s/copy.weft", d, d);
    cr_assert_eq(system(copy), 0);
    cr_assert_eq(cli("eval %s/toy.weft %s/copy.weft --policy fifo --policy sebf", d, d), 0,
                 "%s", cli_file("err"));
    cli_teardown();
}

/* eval --csv naming one of its workloads is a usage error, the workload
 * left as it was: `--csv *.weft` took the glob's first file for the
 * CSV and replaced that workload with the results. So is a --csv that is
 * a file holding anything but eval's results, such as the glob's first
 * workload, which is not among the workloads given: that one was still
 * replaced. A CSV of results is replaced, as asked. */
Test(train, cli_eval_csv_never_replaces_a_workload)
{
    if (!cli_toy("eval-csv-input"))
        return;
    const char *d = cli_dir;
    char cmd[256], toy[32768];
    snprintf(cmd, sizeof cmd, "cp %s/toy.weft %s/copy.weft", d, d);
    cr_assert_eq(system(cmd), 0);
    snprintf(toy, sizeof toy, "%s", cli_file("toy.weft"));
    cr_assert_eq(cli("eval --csv %s/toy.weft %s/copy.weft --policy fifo --policy sebf", d, d),
                 2); /* `--csv *.weft` of toy.weft and copy.weft */
    cr_assert(strstr(cli_file("err"), "toy.weft' is a file that holds no results of weft eval "
                                      "(its first line is 'weft-workload 1')"),
              "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("toy.weft"), toy);
    cr_assert_eq(cli("eval --csv %s/r.csv %s/copy.weft --policy fifo", d, d), 0, "%s",
                 cli_file("err"));
    cr_assert_eq(cli("eval --csv %s/r.csv %s/copy.weft --policy sebf", d, d), 0, "%s",
                 cli_file("err")); /* its own results again */
    cr_assert(strstr(cli_file("r.csv"), "\nsebf,"), "%s", cli_file("r.csv"));
    cr_assert_eq(cli("eval --csv %s/toy.weft %s/copy.weft %s/toy.weft --policy fifo --policy "
                     "sebf", d, d, d), 2);
    cr_assert(strstr(cli_file("err"), "toy.weft' is the workload"), "%s", cli_file("err"));
    cr_assert_str_eq(cli_file("toy.weft"), toy);
    /* a name not yet a file, given as both, is refused alike */
    cr_assert_eq(cli("eval --csv %s/none.weft %s/none.weft --policy fifo", d, d), 2);
    cr_assert(strstr(cli_file("err"), "none.weft' is the workload"), "%s", cli_file("err"));
    /* nor may the plot replace the CSV, by its name or another */
    cr_assert_eq(cli("eval --csv %s/r.svg %s/copy.weft --policy fifo --plot %s/./r.svg", d, d,
                     d), 2);
    cr_assert(strstr(cli_file("err"), "r.svg' are one file"), "%s", cli_file("err"));
    cr_assert(!cli_exists("r.svg"), "a file was written");
    cli_teardown();
}

/* An output file that is a workload given, under another name too, is a
 * usage error in every command that writes one, the workload left as it
 * was: each of these wrote its results over the workload (submit after
 * the whole live run), and sim --save-model its random model over the
 * trained one given as --model (here a workload: it is not read). */
Test(train, no_output_file_replaces_an_input_workload)
{
    if (!cli_toy("output-is-input"))
        return;
    const char *d = cli_dir;
    char cmd[256], toy[32768];
    snprintf(cmd, sizeof cmd, "cp %s/toy.weft %s/v.weft && echo secret > %s/token", d, d, d);
    cr_assert_eq(system(cmd), 0);
    snprintf(toy, sizeof toy, "%s", cli_file("toy.weft"));
    static const struct {
        const char *args, *said;
    } runs[] = {
        {"sim %s/toy.weft --policy learned --scores %s/./toy.weft",
         "--scores '%s/./toy.weft' is the workload '%s/toy.weft' given"},
        {"sim %s/toy.weft --policy sebf --save-model %s/toy.weft",
         "--save-model '%s/toy.weft' is the workload"},
        {"sim %s/v.weft --policy learned --model %s/toy.weft --seed 3 --save-model %s/toy.weft",
         "--save-model '%s/toy.weft' is the --model '%s/toy.weft'"},
        {"sim %s/v.weft --policy learned --model %s/toy.weft --scores %s/./toy.weft",
         "--scores '%s/./toy.weft' is the --model '%s/toy.weft'"},
        {"train %s/v.weft %s/toy.weft --iters 1 --model-out %s/toy.weft",
         "--model-out '%s/toy.weft' is the training workload"},
        {"train %s/v.weft --val %s/toy.weft --iters 1 --model-out %s/toy.weft",
         "--model-out '%s/toy.weft' is the validation workload"},
        {"submit %s/toy.weft --gateway 127.0.0.1:1 --token-file %s/token --out %s/toy.weft",
         "--out '%s/toy.weft' is the workload"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        cr_assert_eq(cli(runs[i].args, d, d, d), 2, "%s: %s", runs[i].args, cli_file("err"));
        char said[256];
        snprintf(said, sizeof said, runs[i].said, d, d);
        cr_assert(strstr(cli_file("err"), said), "%s: %s", runs[i].args, cli_file("err"));
        cr_assert_str_eq(cli_file("toy.weft"), toy, "%s", runs[i].args);
    }
    cli_teardown();
}

/* --model-out naming a file the run writes into its --out is a usage
 * error, with no --out left: the model replaced train.csv, the checkpoint
 * or final.msgpack, or the learning curve replaced the model, status 0.
 * best.msgpack, the same model, is taken. */
Test(train, model_out_is_no_file_of_the_run)
{
    if (!cli_toy("model-out-in-out"))
        return;
    const char *d = cli_dir;
    static const char *const own[] = {"train.csv", "checkpoint.msgpack", "final.msgpack",
                                      "learning-curve.png"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
        cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/R --iters 2 " QUICK
                         " --model-out %s/R/../R/%s", d, d, d, d, own[i]), 2, "%s: %s", own[i],
                     cli_file("err"));
        cr_assert(strstr(cli_file("err"), "is a file this run writes into --out"), "%s",
                  cli_file("err"));
        char out[128];
        snprintf(out, sizeof out, "%s/R", d);
        cr_assert_neq(access(out, F_OK), 0, "%s: --out made", own[i]);
    }
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/R --iters 2 " QUICK
                     " --model-out %s/R/best.msgpack", d, d, d, d), 0, "%s", cli_file("err"));
    cr_assert(!strncmp(cli_file("R/train.csv"), "iter,phase,", 11), "%s", cli_file("R/train.csv"));
    cli_teardown();
}

/* eval's closing lines on one workload, which gives no interval, say so;
 * they read "95% CI of the ratio 0.9527 ± -". */
Test(train, cli_eval_of_one_workload_says_it_has_no_interval)
{
    if (!cli_toy("eval-one"))
        return;
    cr_assert_eq(cli("eval %s/toy.weft --policy learned --policy fifo --lp-bound", cli_dir), 0,
                 "%s", cli_file("err"));
    const char *out = cli_file("out"), *learned = strstr(out, "\nlearned vs fifo: ");
    cr_assert(learned && strstr(learned, " over 1 workload (the ratio 0.") &&
                  strstr(learned, "; one workload, so no interval)\n"), "%s", out);
    cr_assert(strstr(out, "bound's mean ratio 0.") &&
                  strstr(out, "; one workload, so no interval; to each workload's"), "%s", out);
    cr_assert(!strstr(out, "± -"), "%s", out);
    cli_teardown();
}

/* eval --help names the policies a run without --policy compares, in the
 * table's order: it said "learned and every heuristic", and the per-flow
 * fair and srf are not run. */
Test(train, cli_eval_help_names_the_default_policies_it_runs)
{
    if (!cli_toy("eval-defaults"))
        return;
    cr_assert_eq(cli("eval --help"), 0);
    char help[1024] = "", *w = help; /* --policy's default, its blanks collapsed */
    const char *at = strstr(cli_file("out"), "--policy SPEC");
    cr_assert(at && (at = strstr(at, "default: ")), "%s", cli_file("out"));
    for (at += 9; *at && *at != ')' && w < help + sizeof help - 1; at++)
        if (*at != ' ' && *at != '\n')
            *w++ = *at;
        else if (w > help && w[-1] != ' ')
            *w++ = ' ';
    *w = '\0';
    char *not = strstr(help, ", not the per-flow fair and srf");
    cr_assert(not, "%s", help);
    *not = '\0';
    char *and = strstr(help, " and ");
    cr_assert(and, "%s", help);
    memcpy(and, ",   ", 4); /* "a, b and c" -> "a, b,   c" */
    cr_assert_eq(cli("eval %s/toy.weft --threads 2", cli_dir), 0, "%s", cli_file("err"));
    const char *row = strstr(cli_file("out"), "vs best/wl");
    cr_assert(row, "%s", cli_file("out"));
    size_t n = 0;
    for (char *name = strtok(help, ", "); name; name = strtok(NULL, ", "), n++) {
        row = strchr(row, '\n');
        cr_assert(row && !strncmp(row + 1, name, strlen(name)) && row[1 + strlen(name)] == ' ',
                  "help's default %s is not row %zu of:\n%s", name, n + 1, cli_file("out"));
        row++;
    }
    cr_assert_eq(n, 11);
    cr_assert(row[strcspn(row, "\n") + 1] == '\n', "rows past the help's: %s", row);
    cli_teardown();
}

/* eval --csv /dev/stdout: the CSV comes after the table printed before it;
 * it went into the descriptor while the table still sat in stdout's
 * buffer, so it came out inside the report, after its first line. */
Test(train, cli_eval_csv_on_stdout_follows_the_table)
{
    if (!cli_toy("eval-csv-stdout"))
        return;
    cr_assert_eq(cli("eval %s/toy.weft --policy fifo --policy sebf --csv /dev/stdout", cli_dir),
                 0, "%s", cli_file("err"));
    const char *out = cli_file("out");
    const char *table = strstr(out, "all workloads"), *csv = strstr(out, "policy,workload,");
    cr_assert(table && csv && csv > table, "%s", out);
    cr_assert(strstr(csv, "\nsebf,"), "%s", out);
    cli_teardown();
}

/* The iteration a checkpoint (cli_dir/NAME) holds. */
static int64_t checkpoint_iter(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    attn_model_file_t mf;
    attn_model_init(&mf);
    int64_t iter = -1;
    cr_assert_eq(attn_model_load(path, &mf), WEFT_OK, "%s", weft_last_error());
    cr_assert_eq(attn_model_get_int(&mf, "train.iter", &iter), WEFT_OK);
    attn_model_destroy(&mf);
    return iter;
}

/* The iteration of the checkpoint of a run stopped in cli_dir/OUT, checked
 * to be that of train.csv's last row, with every row before it there. */
static int64_t stopped_at(const char *out)
{
    char name[160], iters[1024] = "";
    snprintf(name, sizeof name, "%s/checkpoint.msgpack", out);
    int64_t k = checkpoint_iter(name);
    cr_assert(k >= 1 && k < 200, "%s at iteration %lld", name, (long long)k);
    for (int64_t i = 1; i <= k; i++)
        snprintf(iters + strlen(iters), sizeof iters - strlen(iters), "%s%lld", i > 1 ? " " : "",
                 (long long)i);
    bool header;
    snprintf(name, sizeof name, "%s/train.csv", out);
    cr_assert_str_eq(csv_iters(name, &header), iters);
    cr_assert(header);
    return k;
}

/* QUICK but iterations of 32 episodes (some 25 ms each, so a signal comes
 * within a few), validated at each, checkpointed at the end only. */
#define SLOW QUICK " --validate-every 1 --checkpoint-every 1000000 --episodes 32"

/* Starts a run of SLOW and MORE into cli_dir/OUT that would take hours,
 * and waits for its first train.csv row; its process. With rd, its output
 * goes to a pipe (cli_start_to), drained while waiting. */
static pid_t start_long_run(const char *out, const char *more, int *rd)
{
    const char *d = cli_dir;
    char args[1024], csv[160];
    snprintf(args, sizeof args, "train %s/toy.weft --val %s/toy.weft --out %s/%s --iters 100000 "
             SLOW " %s", d, d, d, out, more);
    snprintf(csv, sizeof csv, "%s/train.csv", out);
    pid_t pid = cli_start_to(args, rd);
    bool row = false;
    for (double waited = 0; waited < 60 && !row && !cli_ended(pid); waited += 0.01) {
        char sink[4096];
        while (rd && read(*rd, sink, sizeof sink) > 0) {
        }
        row = strstr(cli_file(csv), "\n1,") != NULL;
        usleep(10000);
    }
    cr_assert(row, "no first row: %s", cli_file("err"));
    return pid;
}

/* Whether a run stopped by signal sig died of it, as a shell script needs
 * to stop too (an exit 128 + sig it takes as handled). */
static bool died_of(int st, int sig)
{
    return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* Ctrl-C (SIGINT), SIGTERM or SIGHUP stops a run at the end of its
 * iteration with its checkpoint and train.csv at that iteration, says how
 * to resume, and
 * dies of the signal (it exited 130, and a script went on to its next
 * command); the resumed run ends as an uninterrupted one, bit for bit. A
 * Ctrl-C lost every iteration since the last --checkpoint-every. The same
 * through a pipe whose reader the Ctrl-C ended too (it died of SIGPIPE,
 * without its checkpoint). A second Ctrl-C stops at once. */
Test(train, cli_interrupted_run_saves_its_checkpoint_and_resumes, .timeout = 300)
{
    if (!cli_toy("train-sigint"))
        return;
    const char *d = cli_dir;
    pid_t pid = start_long_run("run", "", NULL);
    cr_assert_eq(kill(pid, SIGINT), 0);
    int st = cli_reap(pid, 60);
    cr_assert(died_of(st, SIGINT), "wait status %#x: %s", st, cli_file("err"));
    /* said at once, on a line of its own (not a terminal: no blank line) */
    cr_assert(!strncmp(cli_file("err"), "weft train: stopping after this iteration, with its "
                       "checkpoint (again: at once)\n", 73), "%s", cli_file("err"));
    int64_t k = stopped_at("run");
    char want[512];
    snprintf(want, sizeof want, "weft train: stopped by SIGINT after iteration %lld of 100000: "
             "the same command with --resume %s/run/checkpoint.msgpack continues it",
             (long long)k, d);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
    /* resumed to 2 iterations past it (the learning rate is constant, so
       --iters may change), as a run of that many uninterrupted */
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/run --iters %lld " SLOW
                     " --resume %s/run/checkpoint.msgpack", d, d, d, (long long)k + 2, d), 0,
                 "%s", cli_file("err"));
    cr_assert_eq(cli("train %s/toy.weft --val %s/toy.weft --out %s/whole --iters %lld " SLOW,
                     d, d, d, (long long)k + 2), 0, "%s", cli_file("err"));
    static char whole[1 << 16];
    snprintf(whole, sizeof whole, "%s", csv_without_wall_time("whole/train.csv"));
    cr_assert_str_eq(csv_without_wall_time("run/train.csv"), whole);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp %s/run/final.msgpack %s/whole/final.msgpack && "
             "cmp %s/run/best.msgpack %s/whole/best.msgpack", d, d, d, d);
    cr_assert_eq(system(cmd), 0, "the resumed run's models differ from the whole run's");

    /* SIGTERM, and SIGHUP (the terminal or ssh session closed): the same;
       SIGHUP killed it mid-iteration, without a checkpoint */
    static const int others[] = {SIGTERM, SIGHUP};
    static const char *const names[] = {"SIGTERM", "SIGHUP"};
    for (size_t i = 0; i < 2; i++) {
        pid = start_long_run(names[i], "", NULL);
        cr_assert_eq(kill(pid, others[i]), 0);
        st = cli_reap(pid, 60);
        cr_assert(died_of(st, others[i]), "%s: wait status %#x: %s", names[i], st,
                  cli_file("err"));
        snprintf(want, sizeof want, "stopped by %s", names[i]);
        cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
        stopped_at(names[i]);
    }
    /* resumed into another --out and stopped: its own checkpoint resumes it,
       in place of the one it was resumed from */
    char from[192];
    snprintf(from, sizeof from, "--resume %s/SIGTERM/checkpoint.msgpack", d);
    pid = start_long_run("moved", from, NULL);
    cr_assert_eq(kill(pid, SIGINT), 0);
    st = cli_reap(pid, 60);
    cr_assert(died_of(st, SIGINT), "wait status %#x: %s", st, cli_file("err"));
    snprintf(want, sizeof want, "continues it (in place of --resume %s/SIGTERM/checkpoint.msgpack)"
             "\n", d);
    cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));

    /* weft train ... 2>&1 | tee: the Ctrl-C ends the reader too */
    int rd;
    pid = start_long_run("piped", "", &rd);
    cr_assert_eq(kill(pid, SIGINT), 0);
    close(rd);
    st = cli_reap(pid, 60);
    cr_assert(died_of(st, SIGINT), "wait status %#x (SIGPIPE is %d)", st, SIGPIPE);
    stopped_at("piped");

    /* a second Ctrl-C, once the first is taken, stops it at once: without
       a checkpoint (none is due before iteration 1,000,000). Were the run
       to end its iteration first, it would write one: tried again then,
       with longer iterations */
    bool died = false;
    for (int round = 0; round < 3 && !died; round++) {
        char more[64], out[32];
        snprintf(more, sizeof more, "--episodes %d", 128 << (2 * round));
        snprintf(out, sizeof out, "twice%d", round);
        pid = start_long_run(out, more, NULL);
        cr_assert_eq(kill(pid, SIGINT), 0);
        cr_assert(cli_wait_for("err", "(again: at once)", pid, 60), "%s", cli_file("err"));
        kill(pid, SIGINT);
        st = cli_reap(pid, 60);
        cr_assert(died_of(st, SIGINT), "wait status %#x: %s", st, cli_file("err"));
        char ck[64];
        snprintf(ck, sizeof ck, "%s/checkpoint.msgpack", out);
        died = !cli_exists(ck);
    }
    cr_assert(died, "a second SIGINT did not stop the run at once");
    cli_teardown();
}

/* weft train ... 2>&1 | head: the reader leaves by itself, no signal sent.
 * The run's next line of output raises SIGPIPE, which stops it as a Ctrl-C
 * does, with its checkpoint and train.csv at that iteration, and it dies of
 * SIGPIPE (a shell reports 141). It was killed at that write, losing every
 * iteration since its last --checkpoint-every (none here). Its notes went
 * to the pipe too, so they are not read here (docs/training.md's words for them are
 * the other signals', checked above). */
Test(train, cli_run_whose_reader_leaves_saves_its_checkpoint, .timeout = 120)
{
    if (!cli_toy("train-sigpipe"))
        return;
    int rd;
    pid_t pid = start_long_run("headed", "", &rd);
    close(rd);
    int st = cli_reap(pid, 60);
    cr_assert(died_of(st, SIGPIPE), "wait status %#x: %s", st, cli_file("err"));
    stopped_at("headed");
    cli_teardown();
}

/* A stop signal before the first iteration, in the heuristics' reference
 * runs on --val (minutes on a large one), stops the run after the heuristic
 * it is running and removes the --out it made, its parents too; an --out
 * that was there stays as it was. The signal killed the run there, leaving
 * the empty directories. */
Test(train, cli_stop_before_the_first_iteration_leaves_out_as_it_was, .timeout = 120)
{
    if (!cli_toy("train-stop-early"))
        return;
    const char *d = cli_dir;
    /* a --val whose reference runs take seconds */
    cr_assert_eq(cli("gen --jobs 20 --seed 1 -o %s/val.weft", d), 0, "%s", cli_file("err"));
    char kept[160];
    snprintf(kept, sizeof kept, "%s/kept", d);
    cr_assert_eq(mkdir(kept, 0755), 0);
    cli_write("kept/mine", "mine\n");
    static const char *const outs[] = {"new/run", "kept"};
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        char args[512];
        snprintf(args, sizeof args, "train %s/toy.weft --val %s/val.weft --out %s/%s "
                 "--iters 2 " QUICK, d, d, d, outs[i]);
        pid_t pid = cli_start(args);
        /* said once --out is made and locked, before the reference runs */
        cr_assert(cli_wait_for("out", "BLAS kernels", pid, 60), "%s", cli_file("err"));
        cr_assert_eq(kill(pid, sigs[i]), 0);
        int st = cli_reap(pid, 60);
        cr_assert(died_of(st, sigs[i]), "wait status %#x: %s", st, cli_file("err"));
        char want[128];
        snprintf(want, sizeof want, "stopped by %s before the first iteration: nothing written",
                 sigs[i] == SIGINT ? "SIGINT" : "SIGTERM");
        cr_assert(strstr(cli_file("err"), want), "%s", cli_file("err"));
        cr_assert(!strncmp(cli_file("err"), "weft train: stopping before the first iteration, "
                           "leaving --out as it was (again: at once)\n", 88), "%s",
                  cli_file("err"));
    }
    cr_assert(!cli_exists("new"), "--out and its parent left behind by a stopped run");
    cr_assert_str_eq(cli_file("kept/mine"), "mine\n");
    cr_assert(!cli_exists("kept/train.csv"), "an --out that was there changed");
    cli_teardown();
}

/* A second stop signal before the first iteration ends the run at once,
 * and still takes back the --out it made, its parents too: the first
 * signal had handed the signals back to weft_save_file's action, and the
 * second left the empty directories. Should the run stop after its
 * heuristic before the second comes, it is tried again with a longer
 * --val. */
Test(train, cli_second_stop_before_the_first_iteration_leaves_no_out, .timeout = 300)
{
    if (!cli_toy("train-stop-twice"))
        return;
    const char *d = cli_dir;
    bool at_once = false;
    for (int round = 0; round < 3 && !at_once; round++) {
        cr_assert_eq(cli("gen --jobs %d --seed 1 -o %s/val.weft", 20 << (2 * round), d), 0,
                     "%s", cli_file("err"));
        char args[512];
        snprintf(args, sizeof args, "train %s/toy.weft --val %s/val.weft --out %s/new/run "
                 "--iters 2 " QUICK, d, d, d);
        pid_t pid = cli_start(args);
        cr_assert(cli_wait_for("out", "BLAS kernels", pid, 60), "%s", cli_file("err"));
        cr_assert_eq(kill(pid, SIGTERM), 0);
        cr_assert(cli_wait_for("err", "(again: at once)", pid, 60), "%s", cli_file("err"));
        kill(pid, SIGTERM);
        int st = cli_reap(pid, 60);
        cr_assert(died_of(st, SIGTERM), "wait status %#x: %s", st, cli_file("err"));
        at_once = !strstr(cli_file("err"), "nothing written");
        cr_assert(!cli_exists("new"), "round %d: --out and its parent left behind", round);
    }
    cr_assert(at_once, "the second SIGTERM did not stop the run at once");
    cli_teardown();
}

/* A run into an --out another run is writing is refused before it writes
 * anything (the directory is locked): the second run of a sweep left in
 * the background with the default --out replaced the first's models and
 * interleaved train.csv, and both exited 0. The first run goes on, and
 * stops with its files its own. */
Test(train, cli_a_run_into_an_out_in_use_is_refused, .timeout = 300)
{
    if (!cli_toy("train-busy-out"))
        return;
    const char *d = cli_dir;
    int rd;
    pid_t pid = start_long_run("run", "", &rd);
    int rc = cli("train %s/toy.weft --out %s/run --iters 2 " QUICK, d, d);
    char want[256], sink[4096];
    snprintf(want, sizeof want, "--out %s/run is in use by another weft train", d);
    bool refused = strstr(cli_file("err"), want) != NULL;
    cr_assert_eq(kill(pid, SIGTERM), 0);
    while (read(rd, sink, sizeof sink) > 0) {
    }
    int st = cli_reap(pid, 60);
    close(rd);
    cr_assert_eq(rc, 1, "%s", cli_file("err"));
    cr_assert(refused, "%s", cli_file("err"));
    cr_assert(died_of(st, SIGTERM), "wait status %#x", st);
    stopped_at("run");
    cli_teardown();
}

/* ------------------------------------------ a decision's gradient, whole */

/* The imitation gradient of the first decision of an episode through the
 * scorer and the encoder (train_step_backward), against central finite
 * differences of the same decision's loss, the model's parameters moved
 * one at a time and along random directions. Everything up to the first
 * decision (the state at time 0, the features) is the same in every run,
 * so a run of the emulator with a moved parameter gives that loss anew.
 * The workload: 4 jobs of 4 coflows, two roots and a chain below them, so
 * half the encoder's nodes are not scored (not schedulable yet) and the
 * rows, sorted by remaining path, are not in node order. */

#define CHAIN_JOBS 4

typedef struct {
    bool grad;       /* back-propagate at the first decision */
    size_t calls;
    size_t n, n_nodes, moved_rows; /* rows, encoder nodes, rows not at their node's index */
    double loglik;   /* of the teacher's order at the first decision */
    size_t teacher[4 * CHAIN_JOBS]; /* that order, set by the first run, kept after */
    bool have_teacher;
    gnn_params_t gg; /* its gradient */
    attn_params_t ga;
} chain_t;

static void chain_decide(void *arg, const coflow_learned_step_t *s, size_t *order)
{
    chain_t *c = arg;
    size_t n = s->n, E = gnn_out_dim(&s->model->gcfg);
    attn_argsort_desc(s->scores, n, order);
    if (c->calls++ > 0)
        return;
    size_t *tord = calloc(n, sizeof *tord), *job = calloc(n, sizeof *job);
    uint8_t *mask = calloc(n, 1);
    weft_real_t *dscores = calloc(n, sizeof *dscores);
    weft_real_t *dX = calloc(n * E, sizeof *dX), *dOut = calloc(s->n_nodes * E, sizeof *dOut);
    cr_assert(tord && job && mask && dscores && dX && dOut);
    /* a teacher against the scores: their order reversed, as the first run
       found it; moved parameters may reorder close scores, and a teacher
       that followed them would change the loss the differences take */
    cr_assert(n <= 4 * CHAIN_JOBS && (!c->have_teacher || n == c->n));
    for (size_t i = 0; i < n; i++) {
        if (!c->have_teacher)
            c->teacher[i] = order[n - 1 - i];
        tord[i] = c->teacher[i];
        job[i] = s->st->wl->coflows[s->ids[i]].job;
        c->moved_rows += s->row_node[i] != i;
    }
    c->have_teacher = true;
    double head, runs;
    train_imitation_grad(s->scores, n, tord, job, 3, dscores, mask, &head, &runs);
    c->loglik = head + runs;
    c->n = n;
    c->n_nodes = s->n_nodes;
    if (c->grad)
        train_step_backward(s, dscores, dX, dOut, &c->gg, &c->ga);
    free(tord);
    free(job);
    free(mask);
    free(dscores);
    free(dX);
    free(dOut);
}

static void build_chain_jobs(coflow_workload_t *w)
{
    coflow_workload_init(w, 4);
    for (size_t j = 0; j < CHAIN_JOBS; j++) {
        cr_assert_eq(coflow_workload_add_job(w, (int64_t)j, 0, 1 + (double)j, 0), WEFT_OK);
        for (int64_t q = 0; q < 4; q++) { /* 0 and 1 roots, 2 below both, 3 below 2 */
            cr_assert_eq(coflow_workload_add_coflow(w, q, q < 2 ? 0 : 0.01), WEFT_OK);
            double mb = 1 + (double)((j * 7 + (size_t)q * 3) % 11);
            cr_assert_eq(coflow_workload_add_flow(w, (uint32_t)q, (uint32_t)(3 - j % 4),
                                                  mb * 1e6), WEFT_OK);
            if (q >= 2)
                cr_assert_eq(coflow_workload_add_parent(w, q - 1), WEFT_OK);
            if (q == 2)
                cr_assert_eq(coflow_workload_add_parent(w, 0), WEFT_OK);
        }
        cr_assert_eq(coflow_workload_finish_job(w), WEFT_OK, "%s", weft_last_error());
    }
    coflow_fabric_t fab;
    cr_assert_eq(coflow_fabric_init(&fab, 4, WEFT_GBPS_BYTES), WEFT_OK);
    cr_assert_eq(dag_analyze(w, &fab), WEFT_OK, "%s", weft_last_error());
    coflow_fabric_destroy(&fab);
}

/* One episode of m on w under the hook; the first decision's loss. */
static double chain_run(const coflow_workload_t *w, const coflow_learned_model_t *m, chain_t *c)
{
    coflow_fabric_t fab;
    netsim_result_t res;
    netsim_result_init(&res);
    cr_assert_eq(coflow_fabric_init(&fab, w->n_ports, WEFT_GBPS_BYTES), WEFT_OK);
    coflow_learned_hook_t hook = {.model = m, .decide = chain_decide, .arg = c};
    netsim_opts_t o = {.ordering = coflow_ordering_find("learned"), .policy_hook = &hook};
    c->calls = 0;
    cr_assert_eq(netsim_run(w, &fab, &o, &res), WEFT_OK, "%s", weft_last_error());
    netsim_result_destroy(&res);
    coflow_fabric_destroy(&fab);
    cr_assert_gt(c->calls, 0);
    return c->loglik;
}

/* Central difference of the loss along dir [n] of the block p [n], steps
 * of h × dir, under ref's teacher; into *analytic the change g [n]
 * predicts. The moved values are floats, so both are over what they moved
 * by, not h × dir. */
static double chain_fd(const coflow_workload_t *w, coflow_learned_model_t *m, const chain_t *ref,
                       weft_real_t *p, const weft_real_t *g, const double *dir, size_t n,
                       double h, double *analytic)
{
    weft_real_t *keep = malloc(n * sizeof *keep);
    cr_assert_not_null(keep);
    memcpy(keep, p, n * sizeof *p);
    chain_t c = {.n = ref->n, .have_teacher = true};
    memcpy(c.teacher, ref->teacher, sizeof c.teacher);
    double lp[2];
    *analytic = 0;
    for (int side = 0; side < 2; side++) {
        double sign = side ? -1 : 1;
        for (size_t q = 0; q < n; q++)
            if (dir[q] != 0) {
                p[q] = (weft_real_t)(keep[q] + sign * h * dir[q]);
                *analytic += sign * ((double)p[q] - keep[q]) * g[q] / (2 * h);
            }
        lp[side] = chain_run(w, m, &c);
        memcpy(p, keep, n * sizeof *p);
    }
    free(keep);
    return (lp[0] - lp[1]) / (2 * h);
}

Test(train, decision_gradient_through_scorer_and_encoder, .timeout = TIMEOUT)
{
    coflow_workload_t w;
    build_chain_jobs(&w);
    coflow_learned_model_t m;
    cr_assert_eq(coflow_learned_model_random(&m, 12), WEFT_OK, "%s", weft_last_error());
    chain_t c = {.grad = true};
    cr_assert_eq(gnn_params_init(&c.gg, &m.gcfg), WEFT_OK);
    cr_assert_eq(attn_params_init(&c.ga, &m.acfg), WEFT_OK);
    chain_run(&w, &m, &c);
    cr_assert_eq(c.n, 2 * CHAIN_JOBS, "rows at the first decision: %zu", c.n);
    cr_assert_eq(c.n_nodes, 4 * CHAIN_JOBS, "encoder nodes: %zu", c.n_nodes);
    cr_assert_gt(c.moved_rows, 0, "every row at its node's index: the test sees no gather");
    /* float forward passes: the loss carries ~1e-6 of rounding, ~1e-4 in
     * a difference over steps of 1e-2, whose truncation error (h^2/6 × a
     * third derivative of the smooth GELU/tanh network) is of that order
     * too. Measured: 0.13% at most on the largest entries (1 to 2.8), and
     * 1.8e-4 on a direction; every one of the 38,473 entries alone is
     * within 3% + 2e-3 (checked once, 80 s). 1% + 5e-4 holds that, while a
     * gradient sent to another node, or left out, is off by its size. */
    const double h = 1e-2, rtol = 0.01, atol = 5e-4;
    struct {
        const char *name;
        weft_real_t *p, *g;
        size_t n;
    } blocks[2] = {{"encoder", m.gp.memory, c.gg.memory, c.gg.n},
                   {"scorer", m.ap.memory, c.ga.memory, c.ga.n}};
    attn_rng_t rng;
    attn_rng_seed(&rng, 99);
    for (size_t b = 0; b < 2; b++) {
        size_t n = blocks[b].n;
        double *dir = calloc(n, sizeof *dir), gnorm = 0, worst = 0;
        bool *taken = calloc(n, sizeof *taken);
        cr_assert(dir && taken);
        /* the 6 largest analytic entries, one at a time */
        for (int pick = 0; pick < 6; pick++) {
            size_t best = 0;
            while (taken[best])
                best++;
            for (size_t q = best + 1; q < n; q++)
                if (!taken[q] && fabs(blocks[b].g[q]) > fabs(blocks[b].g[best]))
                    best = q;
            taken[best] = true;
            memset(dir, 0, n * sizeof *dir);
            dir[best] = 1;
            double g, num = chain_fd(&w, &m, &c, blocks[b].p, blocks[b].g, dir, n, h, &g);
            worst = fmax(worst, fabs(g - num));
            cr_assert(fabs(g - num) <= atol + rtol * fabs(num), "%s parameter %zu: analytic "
                      "%.6g numeric %.6g", blocks[b].name, best, g, num);
        }
        /* random directions over the whole block: the sum of every entry */
        for (size_t q = 0; q < n; q++)
            gnorm += (double)blocks[b].g[q] * blocks[b].g[q];
        cr_assert_gt(gnorm, 1e-4, "%s: no gradient to check (%g)", blocks[b].name, gnorm);
        for (int d = 0; d < 3; d++) {
            for (size_t q = 0; q < n; q++)
                dir[q] = (2 * attn_rng_uniform(&rng) - 1) / sqrt((double)n);
            double want, num = chain_fd(&w, &m, &c, blocks[b].p, blocks[b].g, dir, n, h,
                                        &want);
            worst = fmax(worst, fabs(want - num));
            cr_assert(fabs(want - num) <= atol + rtol * fabs(num), "%s direction %d: "
                      "analytic %.6g numeric %.6g", blocks[b].name, d, want, num);
            fprintf(stderr, "train fd decision, %s direction %d: analytic %.6g numeric %.6g\n",
                    blocks[b].name, d, want, num);
        }
        fprintf(stderr, "train fd decision, %s: worst |analytic - numeric| %.2e\n",
                blocks[b].name, worst);
        free(taken);
        free(dir);
    }
    gnn_params_destroy(&c.gg);
    attn_params_destroy(&c.ga);
    coflow_learned_model_destroy(&m);
    coflow_workload_destroy(&w);
}
