/*
 * train.c - the trainer of the learned ordering: phases, rollouts on
 * pthreads, gradients through the hook of coflow/learned.h, Adam, and
 * checkpoints. train.h describes the algorithm.
 *
 * Invariants:
 *  - a task (one emulator episode) owns its gradient block, buffers and
 *    generator; nothing it writes is shared, so tasks run on any thread in
 *    any order and the reduction (in task order) is the same every time;
 *  - gradients in tasks are ascent directions of the objective (log-
 *    likelihood, or advantage-weighted log-probability plus entropy);
 *    train_iteration negates them once before Adam, which minimises.
 */
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dag.h"
#include "netsim/netsim.h"
#include "train/loss.h"
#include "train/train_internal.h"

/* Decimal-free domain separators for the seed streams. */
#define STREAM_EPISODE 0x45504953ULL
#define STREAM_ROLLOUT 0x524f4c4cULL

/* A seed from a tuple: splitmix64 folded over the parts. */
static uint64_t seed_of(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t s = a, parts[3] = {b, c, d};
    uint64_t z = weft_splitmix64(&s);
    for (size_t i = 0; i < 3; i++) {
        s = z ^ parts[i];
        z = weft_splitmix64(&s);
    }
    return z;
}

const char *train_phase_name(train_phase_t p)
{
    static const char *const names[] = {"imitate", "dagger", "reinforce"};
    return p <= TRAIN_REINFORCE ? names[p] : "?";
}

void train_config_default(train_config_t *c)
{
    *c = (train_config_t){.seed = 1, .threads = 2, .iterations = 60, .imitate_iters = 20,
                          .dagger_iters = 20, .teacher = "jsebf", .episodes = 4, .rollouts = 4,
                          .jobs_min = 10, .jobs_max = 40, .curriculum_iters = 30,
                          .lr_imitate = 3e-3, .imitate_topk = 8, .lr_rl = 3e-4, .clip = 1,
                          .entropy = 0.01, .entropy_decay = 0.97, .differential = true,
                          .allocator = "madd", .validate_every = 5};
}

weft_err_t train_config_check(const train_config_t *c)
{
    /* each message names weft train's option too: the user typed that */
    if (c->threads < 1 || c->threads > 1024)
        return weft_fail(WEFT_EINVAL, "threads %zu (--threads), expected 1..1024", c->threads);
    if (c->episodes < 1)
        return weft_fail(WEFT_EINVAL, "episodes per iteration %zu (--episodes), expected >= 1",
                         c->episodes);
    if (c->rollouts < 2)
        return weft_fail(WEFT_EINVAL, "rollouts %zu (--rollouts), expected >= 2 (their mean "
                         "is the baseline)", c->rollouts);
    if (c->rollouts > TRAIN_MAX_RUNS / c->episodes)
        return weft_fail(WEFT_EINVAL, "%zu episodes of %zu rollouts an iteration (--episodes, "
                         "--rollouts), expected at most %d emulator runs an iteration",
                         c->episodes, c->rollouts, TRAIN_MAX_RUNS);
    if (c->jobs_min < 1 || c->jobs_max < c->jobs_min)
        return weft_fail(WEFT_EINVAL, "episode jobs %zu..%zu (--jobs-min, --jobs-max), "
                         "expected 1 <= min <= max", c->jobs_min, c->jobs_max);
    if (!(c->lr_imitate > 0) || !(c->lr_rl > 0) || !isfinite(c->lr_imitate) ||
        !isfinite(c->lr_rl))
        return weft_fail(WEFT_EINVAL, "learning rates %g and %g (--lr-imitate, --lr-rl), "
                         "expected finite and > 0", c->lr_imitate, c->lr_rl);
    if (!(c->lr_rl_end >= 0) || !isfinite(c->lr_rl_end))
        return weft_fail(WEFT_EINVAL, "final REINFORCE learning rate %g (--lr-rl-end), expected "
                         "finite and >= 0 (0: constant)", c->lr_rl_end);
    if (c->lr_rl_end > c->lr_rl) /* a slip of a digit, as likely as not */
        return weft_fail(WEFT_EINVAL, "final REINFORCE learning rate %g (--lr-rl-end) above "
                         "the first, %g (--lr-rl): the rate decays to it (0: constant)",
                         c->lr_rl_end, c->lr_rl);
    if (c->imitate_topk < 1)
        return weft_fail(WEFT_EINVAL, "imitation top-k %zu (--topk), expected >= 1",
                         c->imitate_topk);
    if (!(c->clip > 0) || !isfinite(c->clip))
        return weft_fail(WEFT_EINVAL, "gradient clip %g (--clip), expected finite and > 0",
                         c->clip);
    if (!(c->entropy >= 0) || !isfinite(c->entropy))
        return weft_fail(WEFT_EINVAL, "entropy bonus %g (--entropy), expected finite and >= 0",
                         c->entropy);
    if (!(c->entropy_decay > 0 && c->entropy_decay <= 1))
        return weft_fail(WEFT_EINVAL, "entropy decay %g (--entropy-decay), expected in (0, 1]",
                         c->entropy_decay);
    if (c->validate_every < 1)
        return weft_fail(WEFT_EINVAL, "validation every %zu iterations (--validate-every), "
                         "expected >= 1", c->validate_every);
    const coflow_ordering_t *o = coflow_ordering_find(c->teacher ? c->teacher : "");
    if (!o || !strcmp(o->name, "learned"))
        return weft_fail(WEFT_EINVAL, "teacher '%s' (--teacher) is not a heuristic ordering "
                         "(see `weft sim --help`)", c->teacher ? c->teacher : "");
    if (!coflow_allocator_find(c->allocator ? c->allocator : ""))
        return weft_fail(WEFT_EINVAL, "unknown allocator '%s' (--allocator)",
                         c->allocator ? c->allocator : "");
    return WEFT_OK;
}

train_phase_t train_phase(const train_config_t *cfg, size_t i)
{
    if (i < cfg->imitate_iters)
        return TRAIN_IMITATE;
    if (i < cfg->imitate_iters + cfg->dagger_iters)
        return TRAIN_DAGGER;
    return TRAIN_REINFORCE;
}

size_t train_jobs(const train_config_t *cfg, size_t i)
{
    if (cfg->curriculum_iters == 0 || i >= cfg->curriculum_iters)
        return cfg->jobs_max;
    return cfg->jobs_min + (cfg->jobs_max - cfg->jobs_min) * i / cfg->curriculum_iters;
}

/* ------------------------------------------------------------- workloads */

weft_err_t train_window(coflow_workload_t *dst, const coflow_workload_t *src, size_t first,
                        size_t n, const coflow_fabric_t *fab)
{
    coflow_workload_init(dst, src->n_ports);
    if (first >= src->n_jobs || n == 0)
        return weft_fail(WEFT_EINVAL, "job window %zu+%zu of a workload of %zu jobs", first, n,
                         src->n_jobs);
    if (n > src->n_jobs - first)
        n = src->n_jobs - first;
    /* a workload may list its jobs in any order (the reader and the
       emulator take it): windowed by index, a later job's arrival was
       taken as the window's start and earlier ones clamped to it */
    size_t *by_arrival = weft_calloc(src->n_jobs, sizeof *by_arrival);
    weft_err_t err = by_arrival ? coflow_workload_arrival_order(src, by_arrival)
                                : weft_fail(WEFT_ENOMEM, "out of memory for a window of %zu "
                                            "jobs", src->n_jobs);
    if (err) {
        free(by_arrival);
        return err;
    }
    double a0 = src->jobs[by_arrival[first]].arrival_s;
    for (size_t i = first; i < first + n; i++) {
        const coflow_job_t *job = &src->jobs[by_arrival[i]];
        WEFT_CHECK(coflow_workload_add_job(dst, job->id, job->arrival_s - a0, job->weight,
                                           job->final_compute_s));
        for (size_t q = 0; q < job->n_coflows; q++) {
            const coflow_coflow_t *co = &src->coflows[job->first_coflow + q];
            WEFT_CHECK(coflow_workload_add_coflow(dst, co->id, co->compute_s));
            for (size_t f = 0; f < co->n_flows; f++) {
                const coflow_flow_t *fl = &src->flows[co->first_flow + f];
                WEFT_CHECK(coflow_workload_add_flow(dst, fl->src, fl->dst, fl->bytes));
            }
            for (size_t p = 0; p < co->n_parents; p++)
                WEFT_CHECK(coflow_workload_add_parent(
                    dst, src->coflows[src->parents[co->first_parent + p]].id));
        }
        WEFT_CHECK(coflow_workload_finish_job(dst));
    }
    WEFT_CHECK(dag_analyze(dst, fab));
    free(by_arrival);
    return WEFT_OK;
cleanup:
    free(by_arrival);
    coflow_workload_destroy(dst);
    coflow_workload_init(dst, src->n_ports);
    return err;
}

/* ----------------------------------------------------------------- tasks */

typedef enum {
    MODE_GREEDY = 0,   /* argsort: evaluation */
    MODE_IMITATE,      /* follow the teacher, gradient of log PL(teacher order) */
    MODE_DAGGER,       /* follow own greedy order, same gradient */
    MODE_SAMPLE,       /* REINFORCE pass 1: sample, record times and hashes */
    MODE_REPLAY        /* REINFORCE pass 2: sample again, gradient with advantages */
} task_mode_t;

typedef struct {
    /* inputs */
    const coflow_workload_t *wl;       /* analysed */
    const coflow_learned_model_t *model;
    const coflow_ordering_t *teacher;  /* IMITATE, DAGGER */
    const coflow_ordering_t *ordering; /* a heuristic run instead of the model, or NULL */
    const coflow_allocator_t *alloc;   /* NULL: the ordering's default */
    const char *model_path;            /* learned ordering run from a file, not a hook */
    double port_rate;                  /* bytes/s of every port; 0: WEFT_GBPS_BYTES */
    task_mode_t mode;
    uint64_t seed;                     /* sampling stream */
    double entropy_coef;               /* REPLAY: bonus weight per decision */
    bool want_grad;
    /* outputs */
    gnn_params_t gg;                   /* ascent direction, summed over decisions */
    attn_params_t ga;
    double wjct;                       /* average weighted JCT */
    double scaled_wjct;                /* the same over the workload's scaled weights
                                          (netsim_result_t.scaled_avg_weighted_jct) */
    double makespan;                   /* last finish */
    double *job_finish;                /* [n_jobs] */
    size_t n_dec;                      /* decisions scored */
    double nll, entropy;               /* sums over decisions */
    double *dec_t;                     /* [n_dec] SAMPLE: decision times */
    uint64_t *dec_hash;                /* [n_dec] SAMPLE: order hashes */
    size_t cap_dec;
    const double *adv;                 /* [n_dec of SAMPLE] REPLAY: advantages */
    size_t n_adv;
    size_t mismatches;                 /* REPLAY: decisions whose order changed */
    weft_err_t err;
    char errmsg[256];
    /* scratch */
    attn_rng_t rng;
    void *tctx;                        /* teacher's context, made at the first decision */
    size_t *tbuf, *row_of, *tord;      /* [n_coflows] */
    double *work;                      /* [n_coflows] */
    uint8_t *mask;                     /* [n_coflows] */
    size_t topk;                       /* IMITATE, DAGGER: picks of the teacher fitted */
    weft_real_t *dscores;              /* [n_coflows] */
    weft_real_t *dX, *dOut;            /* [n_coflows * E] */
} task_t;

static uint64_t order_hash(const size_t *order, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint64_t)order[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void train_step_backward(const coflow_learned_step_t *s, const weft_real_t *dscores,
                         weft_real_t *dX, weft_real_t *dOut, gnn_params_t *gg, attn_params_t *ga)
{
    const coflow_learned_model_t *m = s->model;
    size_t E = gnn_out_dim(&m->gcfg), n = s->n;
    memset(dX, 0, n * E * sizeof *dX);
    attn_backward(ga, dX, dscores, s->acache, &m->ap, &m->acfg);
    memset(dOut, 0, s->n_nodes * E * sizeof *dOut);
    for (size_t i = 0; i < n; i++) {
        weft_real_t *o = dOut + s->row_node[i] * E;
        const weft_real_t *d = dX + i * E;
        for (size_t e = 0; e < E; e++)
            o[e] += d[e];
    }
    gnn_backward(gg, NULL, dOut, s->gcache, &m->gp, &m->gcfg, s->plan);
}

/* Back-propagates dscores [n] of the step into the task's gradients. */
static void backprop(task_t *k, const coflow_learned_step_t *s)
{
    train_step_backward(s, k->dscores, k->dX, k->dOut, &k->gg, &k->ga);
}

/* The teacher's order of the step's rows into k->tord. */
static bool teacher_order(task_t *k, const coflow_learned_step_t *s)
{
    if (!k->tctx && k->teacher->create) {
        weft_err_t err = k->teacher->create(&k->tctx, s->st);
        if (err) {
            k->err = err;
            snprintf(k->errmsg, sizeof k->errmsg, "teacher %s: %s", k->teacher->name,
                     weft_last_error());
            return false;
        }
    }
    memcpy(k->tbuf, s->ids, s->n * sizeof *k->tbuf);
    weft_err_t err = k->teacher->order(k->tctx, s->st, k->tbuf, s->n);
    if (err) {
        k->err = err;
        snprintf(k->errmsg, sizeof k->errmsg, "teacher %s: %s", k->teacher->name,
                 weft_last_error());
        return false;
    }
    for (size_t i = 0; i < s->n; i++)
        k->row_of[s->ids[i]] = i;
    for (size_t i = 0; i < s->n; i++)
        k->tord[i] = k->row_of[k->tbuf[i]];
    return true;
}

static bool grow_decisions(task_t *k)
{
    if (k->n_dec < k->cap_dec)
        return true;
    size_t cap = k->cap_dec ? 2 * k->cap_dec : 256;
    double *t = weft_reallocarray(k->dec_t, cap, sizeof *t);
    if (!t)
        return false;
    k->dec_t = t;
    uint64_t *h = weft_reallocarray(k->dec_hash, cap, sizeof *h);
    if (!h)
        return false;
    k->dec_hash = h;
    k->cap_dec = cap;
    return true;
}

static void task_decide(void *arg, const coflow_learned_step_t *s, size_t *order)
{
    task_t *k = arg;
    size_t n = s->n;
    if (k->err || k->mode == MODE_GREEDY) {
        attn_argsort_desc(s->scores, n, order);
        return;
    }
    k->entropy += attn_pl_first_entropy(s->scores, n);
    if (k->mode == MODE_IMITATE || k->mode == MODE_DAGGER) {
        if (!teacher_order(k, s)) {
            attn_argsort_desc(s->scores, n, order);
            return;
        }
        if (n > 1) {
            memset(k->dscores, 0, n * sizeof *k->dscores);
            for (size_t i = 0; i < n; i++)
                k->tbuf[i] = s->st->wl->coflows[s->ids[i]].job;
            double lp_head, lp_runs;
            train_imitation_grad(s->scores, n, k->tord, k->tbuf, k->topk, k->dscores, k->mask,
                                 &lp_head, &lp_runs);
            k->nll -= lp_head;
            k->nll -= lp_runs;
            backprop(k, s);
        }
        if (k->mode == MODE_IMITATE)
            memcpy(order, k->tord, n * sizeof *order);
        else
            attn_argsort_desc(s->scores, n, order);
        k->n_dec++;
        return;
    }
    attn_gumbel_topk(s->scores, n, &k->rng, order, k->work);
    uint64_t h = order_hash(order, n);
    if (k->mode == MODE_SAMPLE) {
        if (!grow_decisions(k)) {
            k->err = WEFT_ENOMEM;
            snprintf(k->errmsg, sizeof k->errmsg, "out of memory for %zu decisions", k->n_dec);
            return;
        }
        k->dec_t[k->n_dec] = s->st->now;
        k->dec_hash[k->n_dec] = h;
        k->n_dec++;
        return;
    }
    /* MODE_REPLAY */
    if (k->n_dec >= k->n_adv || k->dec_hash[k->n_dec] != h)
        k->mismatches++;
    double a = k->n_dec < k->n_adv ? k->adv[k->n_dec] : 0;
    k->n_dec++;
    if (n > 1) {
        memset(k->dscores, 0, n * sizeof *k->dscores);
        train_reinforce_grad(s->scores, n, order, a, k->entropy_coef, k->dscores, k->work);
        backprop(k, s);
    }
}

static weft_err_t task_alloc(task_t *k)
{
    size_t nc = k->wl->n_coflows ? k->wl->n_coflows : 1;
    k->tbuf = weft_calloc(nc, sizeof *k->tbuf);
    k->row_of = weft_calloc(nc, sizeof *k->row_of);
    k->tord = weft_calloc(nc, sizeof *k->tord);
    k->work = weft_calloc(nc, sizeof *k->work);
    k->mask = weft_calloc(nc, sizeof *k->mask);
    k->dscores = weft_calloc(nc, sizeof *k->dscores);
    if (!k->job_finish) /* kept from a first pass for the replay */
        k->job_finish = weft_calloc(k->wl->n_jobs ? k->wl->n_jobs : 1, sizeof *k->job_finish);
    if (!k->tbuf || !k->row_of || !k->tord || !k->work || !k->mask || !k->dscores || !k->job_finish)
        return weft_fail(WEFT_ENOMEM, "out of memory for a rollout of %zu coflows", nc);
    if (k->want_grad && k->model) {
        size_t E = gnn_out_dim(&k->model->gcfg);
        k->dX = weft_calloc(nc * E, sizeof *k->dX);
        k->dOut = weft_calloc(nc * E, sizeof *k->dOut);
        if (!k->dX || !k->dOut)
            return weft_fail(WEFT_ENOMEM, "out of memory for gradients of %zu coflows", nc);
    }
    if (k->want_grad && k->model && !k->gg.memory) {
        weft_err_t err = gnn_params_init(&k->gg, &k->model->gcfg);
        if (!err)
            err = attn_params_init(&k->ga, &k->model->acfg);
        if (err)
            return err;
    }
    return WEFT_OK;
}

static void task_free_scratch(task_t *k)
{
    free(k->tbuf);
    free(k->row_of);
    free(k->tord);
    free(k->work);
    free(k->mask);
    free(k->dscores);
    free(k->dX);
    free(k->dOut);
    k->tbuf = k->row_of = k->tord = NULL;
    k->work = NULL;
    k->mask = NULL;
    k->dscores = k->dX = k->dOut = NULL;
}

static void task_destroy(task_t *k)
{
    task_free_scratch(k);
    free(k->job_finish);
    free(k->dec_t);
    free(k->dec_hash);
    gnn_params_destroy(&k->gg);
    attn_params_destroy(&k->ga);
}

/* Runs one episode. Errors land in k->err / k->errmsg. */
static void task_run(task_t *k)
{
    coflow_fabric_t fab = {0};
    netsim_result_t res;
    netsim_result_init(&res);
    weft_err_t err = coflow_fabric_init(&fab, k->wl->n_ports,
                                        k->port_rate > 0 ? k->port_rate : WEFT_GBPS_BYTES);
    if (!err)
        err = task_alloc(k);
    if (err) {
        k->err = err;
        snprintf(k->errmsg, sizeof k->errmsg, "%s", weft_last_error());
        goto done;
    }
    attn_rng_seed(&k->rng, k->seed);
    k->n_dec = 0;
    k->nll = k->entropy = 0;
    k->mismatches = 0;
    coflow_learned_hook_t hook = {.model = k->model, .decide = task_decide, .arg = k};
    netsim_opts_t o = {.ordering = k->ordering ? k->ordering : coflow_ordering_find("learned"),
                       .allocator = k->alloc, .model_path = k->model_path,
                       .policy_hook = k->ordering ? NULL : &hook};
    err = netsim_run(k->wl, &fab, &o, &res);
    if (k->tctx && k->teacher->destroy)
        k->teacher->destroy(k->tctx);
    k->tctx = NULL;
    if (err && !k->err) {
        k->err = err;
        snprintf(k->errmsg, sizeof k->errmsg, "%s", weft_last_error());
    }
    if (!err) {
        k->wjct = res.avg_weighted_jct;
        k->scaled_wjct = res.scaled_avg_weighted_jct;
        memcpy(k->job_finish, res.job_finish_s, k->wl->n_jobs * sizeof *k->job_finish);
        k->makespan = 0;
        for (size_t j = 0; j < k->wl->n_jobs; j++)
            k->makespan = res.job_finish_s[j] > k->makespan ? res.job_finish_s[j] : k->makespan;
    }
done:
    netsim_result_destroy(&res);
    coflow_fabric_destroy(&fab);
    task_free_scratch(k);
}

static void task_run_at(void *tasks, size_t i) { task_run(&((task_t *)tasks)[i]); }

const char *train_blas_kernels(void) { return openblas_get_corename(); }

/* Runs tasks on up to `threads` threads; the first task error (in task
 * order) is returned with its message. */
static weft_err_t run_tasks(task_t *tasks, size_t n, size_t threads)
{
    openblas_set_num_threads(1); /* parallelism is across episodes */
    weft_err_t err = weft_parallel_for(n, threads, task_run_at, tasks, NULL);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++)
        if (tasks[i].err)
            return weft_fail(tasks[i].err, "%s", tasks[i].errmsg);
    return WEFT_OK;
}

/* ------------------------------------------------------------ evaluation */

static weft_err_t evaluate(const coflow_learned_model_t *model, const coflow_ordering_t *ord,
                           const coflow_allocator_t *alloc, const char *model_path,
                           const coflow_workload_t *wls, size_t n, size_t threads,
                           double port_rate, double *wjct, double *scaled_wjct)
{
    task_t *tasks = weft_calloc(n ? n : 1, sizeof *tasks);
    if (!tasks)
        return weft_fail(WEFT_ENOMEM, "out of memory for %zu evaluations", n);
    for (size_t i = 0; i < n; i++)
        tasks[i] = (task_t){.wl = &wls[i], .model = model, .ordering = ord, .alloc = alloc,
                            .model_path = model_path, .port_rate = port_rate,
                            .mode = MODE_GREEDY};
    weft_err_t err = run_tasks(tasks, n, threads);
    for (size_t i = 0; i < n; i++) {
        wjct[i] = tasks[i].wjct;
        if (scaled_wjct)
            scaled_wjct[i] = tasks[i].scaled_wjct;
        task_destroy(&tasks[i]);
    }
    free(tasks);
    return err;
}

weft_err_t train_evaluate(const coflow_learned_model_t *model, const char *allocator,
                          const coflow_workload_t *wls, size_t n, size_t threads, double *wjct,
                          double *scaled_wjct)
{
    const coflow_allocator_t *a = allocator ? coflow_allocator_find(allocator) : NULL;
    if (allocator && !a)
        return weft_fail(WEFT_EINVAL, "unknown allocator '%s'", allocator);
    return evaluate(model, NULL, a, NULL, wls, n, threads, WEFT_GBPS_BYTES, wjct, scaled_wjct);
}

weft_err_t train_evaluate_policy(const char *ordering, const char *allocator,
                                 const char *model_path, const coflow_workload_t *wls, size_t n,
                                 size_t threads, double port_rate, double *wjct,
                                 double *scaled_wjct)
{
    const coflow_ordering_t *o = coflow_ordering_find(ordering);
    if (!o)
        return weft_fail(WEFT_EINVAL, "unknown ordering '%s'", ordering);
    const coflow_allocator_t *a = allocator ? coflow_allocator_find(allocator) : NULL;
    if (allocator && !a)
        return weft_fail(WEFT_EINVAL, "unknown allocator '%s'", allocator);
    return evaluate(NULL, o, a, model_path, wls, n, threads, port_rate, wjct, scaled_wjct);
}

/* -------------------------------------------------------------- trainer */

weft_err_t train_init(train_t *t, const train_config_t *cfg, coflow_learned_model_t *model,
                      const coflow_workload_t *pool, size_t n_pool)
{
    memset(t, 0, sizeof *t);
    t->model = *model;
    coflow_learned_model_init(model);
    t->model.set_changes_only = true;
    t->cfg = *cfg;
    t->pool = pool;
    t->n_pool = n_pool;
    t->rate_ema = NAN;
    t->best_val = INFINITY;
    weft_err_t err = train_config_check(cfg);
    if (!err && n_pool == 0)
        err = weft_fail(WEFT_EINVAL, "no training workloads");
    for (size_t i = 0; i < n_pool && !err; i++)
        if (pool[i].n_jobs == 0)
            err = weft_fail(WEFT_EINVAL, "training workload %zu has no jobs", i);
    const gnn_config_t *g = &t->model.gcfg;
    const attn_config_t *a = &t->model.acfg;
    if (!err)
        err = gnn_params_init(&t->gm, g);
    if (!err)
        err = gnn_params_init(&t->gv, g);
    if (!err)
        err = gnn_params_init(&t->gg, g);
    if (!err)
        err = attn_params_init(&t->am, a);
    if (!err)
        err = attn_params_init(&t->av, a);
    if (!err)
        err = attn_params_init(&t->ga, a);
    if (!err)
        err = gnn_params_init(&t->bg, g);
    if (!err)
        err = attn_params_init(&t->ba, a);
    if (err)
        train_destroy(t);
    return err;
}

void train_destroy(train_t *t)
{
    coflow_learned_model_destroy(&t->model);
    gnn_params_destroy(&t->gm);
    gnn_params_destroy(&t->gv);
    gnn_params_destroy(&t->gg);
    attn_params_destroy(&t->am);
    attn_params_destroy(&t->av);
    attn_params_destroy(&t->ga);
    gnn_params_destroy(&t->bg);
    attn_params_destroy(&t->ba);
}

bool train_keep_best(train_t *t, double ratio)
{
    if (!(ratio < t->best_val))
        return false;
    t->best_val = ratio;
    t->best_iter = t->iter;
    memcpy(t->bg.memory, t->model.gp.memory, t->bg.n * sizeof *t->bg.memory);
    memcpy(t->ba.memory, t->model.ap.memory, t->ba.n * sizeof *t->ba.memory);
    t->has_best = true;
    return true;
}

weft_err_t train_best_model(const train_t *t, coflow_learned_model_t *out)
{
    coflow_learned_model_init(out);
    if (!t->has_best)
        return weft_fail(WEFT_ENOTFOUND, "no best model yet (nothing validated)");
    weft_err_t err = coflow_learned_model_copy(out, &t->model);
    if (err)
        return err;
    memcpy(out->gp.memory, t->bg.memory, t->bg.n * sizeof *t->bg.memory);
    memcpy(out->ap.memory, t->ba.memory, t->ba.n * sizeof *t->ba.memory);
    return WEFT_OK;
}

/* -G_r(t): weighted job time still to come after t in a rollout. */
static double to_come(const coflow_workload_t *wl, const double *finish, double t)
{
    double s = 0;
    for (size_t j = 0; j < wl->n_jobs; j++) {
        double a = wl->jobs[j].arrival_s, from = a > t ? a : t;
        if (finish[j] > from)
            s += wl->jobs[j].weight * (finish[j] - from);
    }
    return s;
}

/* Return-to-go of rollout k at time t, differential when rate >= 0:
 * -(weighted time to come) + rate * (time left in the episode). */
static double ret_to_go(const task_t *k, double t, double rate)
{
    double g = -to_come(k->wl, k->job_finish, t);
    if (rate >= 0 && k->makespan > t)
        g += rate * (k->makespan - t);
    return g;
}

/* Advantages of the rollouts of one episode (tasks[0..K)), into adv[k]
 * (allocated here, freed by the caller). */
static weft_err_t advantages(task_t *tasks, size_t K, double rate, double **adv)
{
    double scale = 0;
    for (size_t r = 0; r < K; r++)
        scale += to_come(tasks[r].wl, tasks[r].job_finish, 0) / (double)K;
    scale = scale > 0 ? scale : 1;
    for (size_t r = 0; r < K; r++) {
        task_t *k = &tasks[r];
        adv[r] = weft_calloc(k->n_dec ? k->n_dec : 1, sizeof **adv);
        if (!adv[r])
            return weft_fail(WEFT_ENOMEM, "out of memory for %zu advantages", k->n_dec);
        for (size_t d = 0; d < k->n_dec; d++) {
            double t = k->dec_t[d], base = 0;
            for (size_t q = 0; q < K; q++)
                base += ret_to_go(&tasks[q], t, rate) / (double)K;
            adv[r][d] = (ret_to_go(k, t, rate) - base) / scale;
        }
    }
    return WEFT_OK;
}

/* One Adam step on a flat block (the encoder's block has the same layout
 * rule as the scorer's, so attn_adam_step's flat loop serves both). */
static void adam_flat(weft_real_t *p, const weft_real_t *g, weft_real_t *m, weft_real_t *v,
                      size_t n, double lr, uint64_t step)
{
    attn_params_t P = {.memory = p, .n = n}, G = {.memory = (weft_real_t *)g, .n = n},
                  Mm = {.memory = m, .n = n}, V = {.memory = v, .n = n};
    attn_adam_step(&P, &G, &Mm, &V, lr, 0.9, 0.999, 1e-8, 0, step);
}

/* The blocks an Adam step changes: parameters and both moments. */
static void adam_blocks(train_t *t, weft_real_t *blk[6], size_t n[6])
{
    weft_real_t *b[6] = {t->model.gp.memory, t->gm.memory, t->gv.memory,
                         t->model.ap.memory, t->am.memory, t->av.memory};
    size_t k[6] = {t->gg.n, t->gg.n, t->gg.n, t->ga.n, t->ga.n, t->ga.n};
    memcpy(blk, b, sizeof b);
    memcpy(n, k, sizeof k);
}

static weft_err_t snapshot_take(train_t *t, weft_real_t **snap)
{
    weft_real_t *blk[6];
    size_t n[6], total = 3 * (t->gg.n + t->ga.n);
    adam_blocks(t, blk, n);
    *snap = weft_calloc(total ? total : 1, sizeof **snap);
    if (!*snap)
        return weft_fail(WEFT_ENOMEM, "out of memory for a copy of %zu parameters", total);
    for (size_t b = 0, o = 0; b < 6; o += n[b], b++)
        memcpy(*snap + o, blk[b], n[b] * sizeof **snap);
    return WEFT_OK;
}

static void snapshot_restore(train_t *t, const weft_real_t *snap)
{
    weft_real_t *blk[6];
    size_t n[6];
    adam_blocks(t, blk, n);
    for (size_t b = 0, o = 0; b < 6; o += n[b], b++)
        memcpy(blk[b], snap + o, n[b] * sizeof *snap);
}

/* What holds a NaN or an infinity after a step ("the encoder's parameters",
 * ...), or NULL. */
static const char *first_non_finite(train_t *t)
{
    static const char *const what[6] = {
        "the encoder's parameters", "the encoder's Adam first moments",
        "the encoder's Adam second moments", "the scorer's parameters",
        "the scorer's Adam first moments", "the scorer's Adam second moments"};
    weft_real_t *blk[6];
    size_t n[6];
    adam_blocks(t, blk, n);
    for (size_t b = 0; b < 6; b++)
        for (size_t q = 0; q < n[b]; q++)
            if (!isfinite(blk[b][q]))
                return what[b];
    return NULL;
}

/* EINVAL for a run that diverged at (0-based) iteration it; what: "the
 * loss is nan", ... */
static weft_err_t diverged(size_t it, train_phase_t phase, const char *what, double lr)
{
    return weft_fail(WEFT_EINVAL, "iteration %zu (%s): %s: training diverged at learning "
                     "rate %g (a lower one may help); this iteration's update was not applied",
                     it + 1, train_phase_name(phase), what, lr);
}

weft_err_t train_iteration(train_t *t, train_stats_t *st)
{
    double t0 = weft_mono_s();
    const train_config_t *cfg = &t->cfg;
    size_t it = t->iter;
    train_phase_t phase = train_phase(cfg, it);
    size_t jobs = train_jobs(cfg, it), E = cfg->episodes;
    size_t K = phase == TRAIN_REINFORCE ? cfg->rollouts : 1;
    memset(st, 0, sizeof *st);
    st->iter = it;
    st->phase = phase;
    st->jobs = jobs;
    st->teacher_ratio = st->loss = NAN;

    const coflow_ordering_t *teacher = coflow_ordering_find(cfg->teacher);
    const coflow_allocator_t *alloc = coflow_allocator_find(cfg->allocator);
    coflow_workload_t *wls = weft_calloc(E, sizeof *wls);
    size_t ntask = E * K;
    task_t *tasks = weft_calloc(ntask, sizeof *tasks);
    task_t *ref = phase != TRAIN_REINFORCE ? weft_calloc(E, sizeof *ref) : NULL;
    double **adv = weft_calloc(ntask, sizeof *adv);
    weft_real_t *snap = NULL; /* the state before the Adam step */
    size_t n_wl = 0;
    weft_err_t err = WEFT_OK;
    if (!wls || !tasks || !adv || (phase != TRAIN_REINFORCE && !ref)) {
        err = weft_fail(WEFT_ENOMEM, "out of memory for iteration %zu", it);
        goto cleanup;
    }
    /* the episodes: windows of the pool drawn from (seed, iteration) */
    uint64_t es = seed_of(cfg->seed, STREAM_EPISODE, it, 0);
    for (size_t e = 0; e < E; e++, n_wl++) {
        const coflow_workload_t *src = &t->pool[weft_splitmix64(&es) % t->n_pool];
        size_t n = jobs < src->n_jobs ? jobs : src->n_jobs;
        size_t first = weft_splitmix64(&es) % (src->n_jobs - n + 1);
        coflow_fabric_t fab;
        WEFT_CHECK(coflow_fabric_init(&fab, src->n_ports, WEFT_GBPS_BYTES));
        err = train_window(&wls[e], src, first, n, &fab);
        coflow_fabric_destroy(&fab);
        if (err)
            goto cleanup;
    }
    double ent_coef = cfg->entropy;
    if (phase == TRAIN_REINFORCE)
        ent_coef *= pow(cfg->entropy_decay,
                        (double)(it - cfg->imitate_iters - cfg->dagger_iters));
    for (size_t e = 0; e < E; e++)
        for (size_t r = 0; r < K; r++) {
            task_t *k = &tasks[e * K + r];
            *k = (task_t){.wl = &wls[e], .model = &t->model, .teacher = teacher,
                          .alloc = alloc, .want_grad = phase != TRAIN_REINFORCE,
                          .topk = cfg->imitate_topk,
                          .seed = seed_of(cfg->seed, STREAM_ROLLOUT, it, e * K + r)};
            k->mode = phase == TRAIN_IMITATE  ? MODE_IMITATE
                      : phase == TRAIN_DAGGER ? MODE_DAGGER
                                              : MODE_SAMPLE;
        }
    if (ref) /* the teacher itself on the same episodes, for the ratio */
        for (size_t e = 0; e < E; e++)
            ref[e] = (task_t){.wl = &wls[e], .ordering = teacher, .alloc = alloc,
                              .mode = MODE_GREEDY};
    WEFT_CHECK(run_tasks(tasks, ntask, cfg->threads));
    if (ref)
        WEFT_CHECK(run_tasks(ref, E, cfg->threads));

    double rate = -1, rate_ema = t->rate_ema; /* the latter stored on success only */
    if (phase == TRAIN_REINFORCE) {
        if (cfg->differential && isfinite(t->rate_ema))
            rate = t->rate_ema;
        for (size_t e = 0; e < E; e++)
            WEFT_CHECK(advantages(&tasks[e * K], K, rate, &adv[e * K]));
        for (size_t i = 0; i < ntask; i++) {
            task_t *k = &tasks[i];
            k->adv = adv[i];
            k->n_adv = k->n_dec;
            k->mode = MODE_REPLAY;
            k->want_grad = true;
            k->entropy_coef = k->n_dec ? ent_coef / (double)k->n_dec : 0;
            st->decisions += k->n_dec;
        }
        /* the stats of the first pass: the replay repeats them */
        for (size_t i = 0; i < ntask; i++) {
            st->avg_wjct += tasks[i].wjct / (double)ntask;
            st->entropy += tasks[i].entropy;
        }
        st->entropy /= st->decisions ? (double)st->decisions : 1;
        WEFT_CHECK(run_tasks(tasks, ntask, cfg->threads));
        for (size_t i = 0; i < ntask; i++)
            st->replay_mismatches += tasks[i].mismatches > 0;
        /* the average weighted jobs in the system, for differential rewards */
        double w = 0;
        for (size_t i = 0; i < ntask; i++)
            w += tasks[i].makespan > 0
                     ? to_come(tasks[i].wl, tasks[i].job_finish, 0) / tasks[i].makespan
                     : 0;
        w /= (double)ntask;
        rate_ema = isfinite(t->rate_ema) ? 0.9 * t->rate_ema + 0.1 * w : w;
    } else {
        double nll = 0, tr = 0;
        for (size_t i = 0; i < ntask; i++) {
            st->avg_wjct += tasks[i].wjct / (double)ntask;
            st->decisions += tasks[i].n_dec;
            st->entropy += tasks[i].entropy;
            nll += tasks[i].nll;
            tr += ref[i].wjct > 0 ? tasks[i].wjct / ref[i].wjct / (double)ntask : 0;
        }
        double d = st->decisions ? (double)st->decisions : 1;
        st->loss = nll / d;
        st->entropy /= d;
        st->teacher_ratio = tr;
    }
    st->rollouts = ntask;
    st->mean_return = -st->avg_wjct;

    /* reduce in task order, normalise, clip, descend */
    gnn_params_zero(&t->gg);
    attn_params_zero(&t->ga);
    for (size_t i = 0; i < ntask; i++) {
        for (size_t q = 0; q < t->gg.n; q++)
            t->gg.memory[q] += tasks[i].gg.memory[q];
        for (size_t q = 0; q < t->ga.n; q++)
            t->ga.memory[q] += tasks[i].ga.memory[q];
    }
    double norm_by = phase == TRAIN_REINFORCE ? (double)ntask
                                              : (st->decisions ? (double)st->decisions : 1);
    double ss = 0;
    for (size_t q = 0; q < t->gg.n; q++)
        ss += (double)t->gg.memory[q] * t->gg.memory[q];
    for (size_t q = 0; q < t->ga.n; q++)
        ss += (double)t->ga.memory[q] * t->ga.memory[q];
    double norm = sqrt(ss) / norm_by;
    st->grad_norm = norm;
    double scale = -1.0 / norm_by; /* ascent direction -> descent on the loss */
    if (norm > cfg->clip)
        scale *= cfg->clip / norm;
    double lr = cfg->lr_rl;
    size_t rl0 = cfg->imitate_iters + cfg->dagger_iters;
    if (phase == TRAIN_REINFORCE && cfg->lr_rl_end > 0 && cfg->iterations > rl0 + 1)
        lr += (cfg->lr_rl_end - cfg->lr_rl) * (double)(it - rl0) /
              (double)(cfg->iterations - rl0 - 1);
    if (phase != TRAIN_REINFORCE) { /* linear decay to a tenth over phases 1-2 */
        double span = (double)(cfg->imitate_iters + cfg->dagger_iters);
        lr = cfg->lr_imitate * (1 - 0.9 * (double)it / span);
    }
    /* a NaN or infinity here would spread through every later iteration:
       stop with the trainer as it was before this one */
    char what[96];
    if (phase != TRAIN_REINFORCE && !isfinite(st->loss)) {
        snprintf(what, sizeof what, "the loss is %s", isnan(st->loss) ? "nan" : "infinite");
        err = diverged(it, phase, what, lr);
        goto cleanup;
    }
    if (!isfinite(norm)) {
        snprintf(what, sizeof what, "the gradient norm is %s", isnan(norm) ? "nan" : "infinite");
        err = diverged(it, phase, what, lr);
        goto cleanup;
    }
    attn_params_scale(&t->ga, scale);
    for (size_t q = 0; q < t->gg.n; q++)
        t->gg.memory[q] = (weft_real_t)(t->gg.memory[q] * scale);
    WEFT_CHECK(snapshot_take(t, &snap));
    t->step++;
    adam_flat(t->model.gp.memory, t->gg.memory, t->gm.memory, t->gv.memory, t->gg.n, lr,
              t->step);
    adam_flat(t->model.ap.memory, t->ga.memory, t->am.memory, t->av.memory, t->ga.n, lr,
              t->step);
    const char *bad = first_non_finite(t);
    if (bad) {
        snapshot_restore(t, snap);
        t->step--;
        snprintf(what, sizeof what, "%s would hold a NaN or infinity", bad);
        err = diverged(it, phase, what, lr);
        goto cleanup;
    }
    t->rate_ema = rate_ema;
    t->iter++;

cleanup:
    free(snap);
    for (size_t i = 0; tasks && i < ntask; i++)
        task_destroy(&tasks[i]);
    for (size_t i = 0; ref && i < E; i++)
        task_destroy(&ref[i]);
    for (size_t i = 0; adv && i < ntask; i++)
        free(adv[i]);
    for (size_t e = 0; e < n_wl; e++)
        coflow_workload_destroy(&wls[e]);
    free(adv);
    free(ref);
    free(tasks);
    free(wls);
    st->wall_s = weft_mono_s() - t0;
    return err;
}

/* ------------------------------------------------------------ checkpoints */

/* Bumped when what a checkpoint holds changes; 1 (no train.format) did not
 * record the settings, so a resume could not check them. */
#define CHECKPOINT_FORMAT 2

/* The settings a run's result depends on (all of train_config_t but the
 * thread count, which does not change it, and seed and iterations, checked
 * on their own), each stored as "train.cfg.<key>": an int, a double's bits,
 * or a name as a vector of its byte values (the container has no strings). */
typedef enum { SET_SIZE, SET_BOOL, SET_REAL, SET_NAME } set_kind_t;

static const struct {
    const char *key;    /* field of train_config_t */
    const char *option; /* weft train's option for it */
    set_kind_t kind;
    size_t off;
    bool imitation;     /* read by imitation and DAgger only */
} settings[] = {
#define S(field, opt, kind) {#field, opt, kind, offsetof(train_config_t, field), false}
#define S_IMITATION(field, opt, kind) {#field, opt, kind, offsetof(train_config_t, field), true}
    S(imitate_iters, "--imitate", SET_SIZE),
    S(dagger_iters, "--dagger", SET_SIZE),
    S_IMITATION(teacher, "--teacher", SET_NAME),
    S(episodes, "--episodes", SET_SIZE),
    S(rollouts, "--rollouts", SET_SIZE),
    S(jobs_min, "--jobs-min", SET_SIZE),
    S(jobs_max, "--jobs-max", SET_SIZE),
    S(curriculum_iters, "--curriculum", SET_SIZE),
    S_IMITATION(lr_imitate, "--lr-imitate", SET_REAL),
    S_IMITATION(imitate_topk, "--topk", SET_SIZE),
    S(lr_rl, "--lr-rl", SET_REAL),
    S(lr_rl_end, "--lr-rl-end", SET_REAL),
    S(clip, "--clip", SET_REAL),
    S(entropy, "--entropy", SET_REAL),
    S(entropy_decay, "--entropy-decay", SET_REAL),
    S(differential, "--no-differential", SET_BOOL),
    S(allocator, "--allocator", SET_NAME),
#undef S
#undef S_IMITATION
};
#define N_SETTINGS (sizeof settings / sizeof *settings)

static weft_err_t put_block(attn_model_file_t *mf, const char *name, const weft_real_t *x,
                            size_t n)
{
    float *tmp = weft_calloc(n ? n : 1, sizeof *tmp);
    if (!tmp)
        return weft_fail(WEFT_ENOMEM, "out of memory for %s", name);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float)x[i];
    weft_err_t err = attn_model_set_vector(mf, name, tmp, n);
    free(tmp);
    return err;
}

/* Checks the vector `name` has n finite values (>= 0 if nonneg: Adam's
 * second moments, whose square root it takes). */
static weft_err_t check_block(const attn_model_file_t *mf, const char *path, const char *name,
                              size_t n, bool nonneg)
{
    const attn_model_vec_t *v = attn_model_find_vector(mf, name);
    if (!v)
        return weft_fail(WEFT_ENOTFOUND, "%s: checkpoint has no vector %s (a model file, not "
                         "a checkpoint?)", path, name);
    if (v->n != n)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint vector %s has %zu values, the model "
                         "needs %zu", path, name, v->n, n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v->data[i]) || (nonneg && v->data[i] < 0))
            return weft_fail(WEFT_EINVAL, "%s: checkpoint vector %s element %zu is %g, "
                             "expected a finite number%s", path, name, i, (double)v->data[i],
                             nonneg ? " >= 0" : "");
    return WEFT_OK;
}

static void get_block(const attn_model_file_t *mf, const char *name, weft_real_t *x, size_t n)
{
    const attn_model_vec_t *v = attn_model_find_vector(mf, name);
    for (size_t i = 0; i < n; i++)
        x[i] = (weft_real_t)v->data[i];
}

static int64_t dbl_bits(double d)
{
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double bits_dbl(int64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* FNV-1a over the bytes of x. */
static void hash_bytes(uint64_t *h, const void *x, size_t n)
{
    const unsigned char *p = x;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ p[i]) * 0x100000001b3ULL;
}

/* A hash of workloads as the run reads them (jobs, coflows, flows,
 * parents, in order), the training pool or the validation set: a resume on
 * other workloads would be another run. */
static uint64_t pool_hash(const coflow_workload_t *pool, size_t n_pool)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    hash_bytes(&h, &n_pool, sizeof n_pool);
    for (size_t w = 0; w < n_pool; w++) {
        const coflow_workload_t *wl = &pool[w];
        hash_bytes(&h, &wl->n_ports, sizeof wl->n_ports);
        hash_bytes(&h, &wl->n_jobs, sizeof wl->n_jobs);
        for (size_t j = 0; j < wl->n_jobs; j++) {
            const coflow_job_t *job = &wl->jobs[j];
            double d[3] = {job->arrival_s, job->weight, job->final_compute_s};
            hash_bytes(&h, &job->id, sizeof job->id);
            hash_bytes(&h, d, sizeof d);
            hash_bytes(&h, &job->n_coflows, sizeof job->n_coflows);
        }
        for (size_t c = 0; c < wl->n_coflows; c++) {
            const coflow_coflow_t *co = &wl->coflows[c];
            hash_bytes(&h, &co->id, sizeof co->id);
            hash_bytes(&h, &co->compute_s, sizeof co->compute_s);
            hash_bytes(&h, &co->n_flows, sizeof co->n_flows);
            hash_bytes(&h, &co->n_parents, sizeof co->n_parents);
        }
        for (size_t f = 0; f < wl->n_flows; f++) {
            const coflow_flow_t *fl = &wl->flows[f];
            hash_bytes(&h, &fl->src, sizeof fl->src);
            hash_bytes(&h, &fl->dst, sizeof fl->dst);
            hash_bytes(&h, &fl->bytes, sizeof fl->bytes);
        }
        if (wl->n_parents)
            hash_bytes(&h, wl->parents, wl->n_parents * sizeof *wl->parents);
    }
    return h;
}

static weft_err_t put_settings(attn_model_file_t *mf, const train_config_t *cfg)
{
    weft_err_t err = WEFT_OK;
    for (size_t i = 0; i < N_SETTINGS && !err; i++) {
        const char *field = (const char *)cfg + settings[i].off;
        char name[ATTN_MODEL_NAME_MAX];
        snprintf(name, sizeof name, "train.cfg.%s", settings[i].key);
        switch (settings[i].kind) {
        case SET_SIZE: err = attn_model_set_int(mf, name, (int64_t)*(const size_t *)field); break;
        case SET_BOOL: err = attn_model_set_int(mf, name, *(const bool *)field); break;
        /* cppcheck-suppress invalidPointerCast ; field points at a double of the config */
        case SET_REAL: err = attn_model_set_int(mf, name, dbl_bits(*(const double *)field)); break;
        case SET_NAME: {
            const char *str = *(const char *const *)field;
            float bytes[ATTN_MODEL_NAME_MAX];
            size_t n = strlen(str);
            if (n >= ATTN_MODEL_NAME_MAX)
                return weft_fail(WEFT_EINVAL, "%s '%s' is too long to record", settings[i].key,
                                 str);
            for (size_t k = 0; k < n; k++)
                bytes[k] = (unsigned char)str[k];
            err = attn_model_set_vector(mf, name, bytes, n);
            break;
        }
        }
    }
    return err;
}

/* The name setting `name` of a checkpoint (a vector of byte values) into
 * out (n bytes, cut there), its length into *len. ENOTFOUND, or EINVAL for
 * a value no byte has; path prefixes the message. */
static weft_err_t get_name(const attn_model_file_t *mf, const char *path, const char *name,
                           char *out, size_t n, size_t *len)
{
    const attn_model_vec_t *v = attn_model_find_vector(mf, name);
    if (!v)
        return weft_fail(WEFT_ENOTFOUND, "%s: checkpoint has no %s", path, name);
    for (size_t k = 0; k < v->n; k++)
        if (!(v->data[k] >= 1 && v->data[k] <= 255 && v->data[k] == floorf(v->data[k])))
            return weft_fail(WEFT_EINVAL, "%s: checkpoint's %s element %zu is %g, expected a "
                             "byte value 1..255", path, name, k, (double)v->data[k]);
    size_t k = 0;
    for (; k < v->n && k + 1 < n; k++)
        out[k] = (char)(unsigned char)v->data[k];
    out[k] = '\0';
    *len = v->n;
    return WEFT_OK;
}

/* Compares setting i of the checkpoint with cfg's: EINVAL naming the
 * setting, its option and both values. */
static weft_err_t check_setting(const attn_model_file_t *mf, const char *path, size_t i,
                                const train_config_t *cfg)
{
    const char *field = (const char *)cfg + settings[i].off;
    char name[ATTN_MODEL_NAME_MAX], have[96], want[96];
    snprintf(name, sizeof name, "train.cfg.%s", settings[i].key);
    bool same = true;
    if (settings[i].kind == SET_NAME) {
        size_t k = 0; /* get_name sets it; GCC cannot see that */
        weft_err_t err = get_name(mf, path, name, have, sizeof have, &k);
        if (err)
            return err;
        snprintf(want, sizeof want, "%s", *(const char *const *)field);
        same = k < sizeof have && strcmp(have, want) == 0;
    } else {
        int64_t x;
        weft_err_t err = attn_model_get_int(mf, name, &x);
        if (err)
            return weft_wrap(err, "%s: ", path);
        switch (settings[i].kind) {
        case SET_SIZE:
            same = x >= 0 && (uint64_t)x == *(const size_t *)field;
            snprintf(have, sizeof have, "%lld", (long long)x);
            snprintf(want, sizeof want, "%zu", *(const size_t *)field);
            break;
        case SET_BOOL:
            same = (x != 0) == *(const bool *)field;
            snprintf(have, sizeof have, "%s", x ? "on" : "off");
            snprintf(want, sizeof want, "%s", *(const bool *)field ? "on" : "off");
            break;
        default: {
            /* cppcheck-suppress invalidPointerCast ; field points at a double of the config */
            double a = bits_dbl(x), b = *(const double *)field;
            same = a == b;
            snprintf(have, sizeof have, "%g", a);
            snprintf(want, sizeof want, "%g", b);
            if (!same && strcmp(have, want) == 0) { /* differ beyond %g's digits */
                snprintf(have, sizeof have, "%.17g", a);
                snprintf(want, sizeof want, "%.17g", b);
            }
        }
        }
    }
    if (!same)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint was made with %s %s (%s), this run has "
                         "%s: a resumed run must keep the settings", path, settings[i].key, have,
                         settings[i].option, want);
    return WEFT_OK;
}

weft_err_t train_checkpoint_save(const train_t *t, const char *path)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_err_t err = WEFT_OK;
    WEFT_CHECK(coflow_learned_model_to_file(&t->model, &mf));
    WEFT_CHECK(put_block(&mf, "train.adam_m.gnn", t->gm.memory, t->gm.n));
    WEFT_CHECK(put_block(&mf, "train.adam_v.gnn", t->gv.memory, t->gv.n));
    WEFT_CHECK(put_block(&mf, "train.adam_m.attn", t->am.memory, t->am.n));
    WEFT_CHECK(put_block(&mf, "train.adam_v.attn", t->av.memory, t->av.n));
    if (t->has_best) {
        WEFT_CHECK(put_block(&mf, "train.best.gnn", t->bg.memory, t->bg.n));
        WEFT_CHECK(put_block(&mf, "train.best.attn", t->ba.memory, t->ba.n));
    }
    WEFT_CHECK(attn_model_set_int(&mf, "train.format", CHECKPOINT_FORMAT));
    WEFT_CHECK(attn_model_set_int(&mf, "train.iter", (int64_t)t->iter));
    WEFT_CHECK(attn_model_set_int(&mf, "train.step", (int64_t)t->step));
    WEFT_CHECK(attn_model_set_int(&mf, "train.seed", (int64_t)t->cfg.seed));
    WEFT_CHECK(attn_model_set_int(&mf, "train.rate_ema_bits", dbl_bits(t->rate_ema)));
    WEFT_CHECK(attn_model_set_int(&mf, "train.best_val_bits", dbl_bits(t->best_val)));
    WEFT_CHECK(attn_model_set_int(&mf, "train.best_iter", (int64_t)t->best_iter));
    WEFT_CHECK(attn_model_set_int(&mf, "train.iterations", (int64_t)t->cfg.iterations));
    WEFT_CHECK(attn_model_set_int(&mf, "train.pool_size", (int64_t)t->n_pool));
    WEFT_CHECK(attn_model_set_int(&mf, "train.pool_hash",
                                  (int64_t)pool_hash(t->pool, t->n_pool)));
    WEFT_CHECK(attn_model_set_int(&mf, "train.val_size", (int64_t)t->n_val));
    WEFT_CHECK(attn_model_set_int(&mf, "train.val_hash", (int64_t)pool_hash(t->val, t->n_val)));
    WEFT_CHECK(attn_model_set_int(&mf, "train.validate_every", (int64_t)t->cfg.validate_every));
    WEFT_CHECK(put_settings(&mf, &t->cfg));
    WEFT_CHECK(attn_model_save(path, &mf));
cleanup:
    attn_model_destroy(&mf);
    return err;
}

/* Every check of a checkpoint's train.* entries against t, before any of
 * them is taken: v holds train.iter, step, seed, rate_ema_bits,
 * best_val_bits, best_iter. */
static weft_err_t check_run(const attn_model_file_t *mf, const char *path, const train_t *t,
                            const coflow_learned_model_t *m, const int64_t v[6])
{
    const train_config_t *cfg = &t->cfg;
    int64_t format;
    if (!attn_model_find_int(mf, "train.format"))
        return weft_fail(WEFT_EVERSION, "%s: checkpoint of format 1 (an older weft), which "
                         "does not record its training settings, so resuming it could "
                         "silently change the run; this build resumes format %d: start a new "
                         "run (or --init from its model)", path, CHECKPOINT_FORMAT);
    weft_err_t err = attn_model_get_int(mf, "train.format", &format);
    if (err)
        return err;
    if (format != CHECKPOINT_FORMAT)
        return weft_fail(WEFT_EVERSION, "%s: checkpoint format %lld, this build resumes "
                         "format %d", path, (long long)format, CHECKPOINT_FORMAT);
    if ((uint64_t)v[2] != cfg->seed)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint was made with seed %llu, this run has "
                         "seed %llu", path, (unsigned long long)v[2],
                         (unsigned long long)cfg->seed);
    if (v[0] < 0 || v[1] < 0 || v[5] < 0)
        return weft_fail(WEFT_EINVAL, "%s: negative iteration or step in the checkpoint", path);
    if (v[1] > v[0] || v[5] > v[0])
        return weft_fail(WEFT_EINVAL, "%s: checkpoint's Adam step %lld or best iteration %lld "
                         "is past its iteration %lld", path, (long long)v[1], (long long)v[5],
                         (long long)v[0]);
    double rate = bits_dbl(v[3]), best = bits_dbl(v[4]);
    if (!(isnan(rate) || (isfinite(rate) && rate >= 0)))
        return weft_fail(WEFT_EINVAL, "%s: checkpoint's reward average is %g, expected a "
                         "finite number >= 0 (or nan: none yet)", path, rate);
    if (!(best >= 0))
        return weft_fail(WEFT_EINVAL, "%s: checkpoint's best validation ratio is %g, expected "
                         "a number >= 0 (or inf: none yet)", path, best);
    /* no iteration of a run without imitation or DAgger reads imitation's
       settings, so a resume may have others (--imitate and --dagger come
       first in the table: the checkpoint's are 0 too when they are reached) */
    bool imitates = cfg->imitate_iters + cfg->dagger_iters > 0;
    for (size_t i = 0; i < N_SETTINGS; i++)
        if ((imitates || !settings[i].imitation) && (err = check_setting(mf, path, i, cfg)))
            return err;
    int64_t iters, n_pool, hash;
    if ((err = attn_model_get_int(mf, "train.iterations", &iters)) ||
        (err = attn_model_get_int(mf, "train.pool_size", &n_pool)) ||
        (err = attn_model_get_int(mf, "train.pool_hash", &hash)))
        return weft_wrap(err, "%s: ", path);
    if (cfg->lr_rl_end > 0 && (uint64_t)iters != cfg->iterations)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint was made with iterations %lld (--iters), "
                         "this run has %zu: with --lr-rl-end the learning rate decays over "
                         "them, so a resumed run must keep them", path, (long long)iters,
                         cfg->iterations);
    uint64_t h = pool_hash(t->pool, t->n_pool);
    if ((uint64_t)n_pool != t->n_pool || (uint64_t)hash != h)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint was made on other training workloads "
                         "(%lld, hash %016llx), this run has %zu (hash %016llx): a resumed run "
                         "must read the same workloads in the same order", path,
                         (long long)n_pool, (unsigned long long)hash, t->n_pool,
                         (unsigned long long)h);
    /* the best ratio was measured on the checkpoint's validation workloads:
       compared with another set's, it would keep or drop models for nothing
       (a run without --val compares nothing, nor does a checkpoint of one,
       which measured no best, so validation may start at a resume;
       checkpoints from before 2026-12-04 do not say, and are taken) */
    int64_t n_val = 0, val_hash;
    if (t->n_val > 0 && attn_model_find_int(mf, "train.val_hash")) {
        if ((err = attn_model_get_int(mf, "train.val_size", &n_val)) ||
            (err = attn_model_get_int(mf, "train.val_hash", &val_hash)))
            return weft_wrap(err, "%s: ", path);
        uint64_t vh = pool_hash(t->val, t->n_val);
        if ((n_val > 0 || best < INFINITY) && ((uint64_t)n_val != t->n_val ||
                                               (uint64_t)val_hash != vh))
            return weft_fail(WEFT_EINVAL, "%s: checkpoint was validated on other workloads "
                             "(%lld, hash %016llx), this run has %zu --val (hash %016llx): its "
                             "best ratio would be compared with another set's; a resumed run "
                             "must validate on the same workloads", path, (long long)n_val,
                             (unsigned long long)val_hash, t->n_val, (unsigned long long)vh);
    }
    /* which iterations are validated decides which models can be the best:
       resumed with another period, a run would keep another best.msgpack
       than an uninterrupted one (a run without --val validated none) */
    int64_t every;
    if (t->n_val > 0 && n_val > 0 && attn_model_find_int(mf, "train.validate_every")) {
        if ((err = attn_model_get_int(mf, "train.validate_every", &every)))
            return weft_wrap(err, "%s: ", path);
        if (every < 0 || (uint64_t)every != cfg->validate_every)
            return weft_fail(WEFT_EINVAL, "%s: checkpoint was validated every %lld iterations "
                             "(--validate-every), this run every %zu: a resumed run must keep "
                             "them, as they decide which models can be the best", path,
                             (long long)every, cfg->validate_every);
    }
    if (m->prior != t->model.prior || m->prior_path != t->model.prior_path)
        return weft_fail(WEFT_EINVAL, "%s: checkpoint's model has prior %g and prior_path %g "
                         "(--prior, --prior-path, or the --init model's), this run's %g and %g",
                         path, (double)m->prior, (double)m->prior_path,
                         (double)t->model.prior, (double)t->model.prior_path);
    return WEFT_OK;
}

/* m's layer sizes, "gnn.D 16, gnn.L 2, ...", into buf (len bytes). */
static void sizes_str(char *buf, size_t len, const coflow_learned_model_t *m)
{
    snprintf(buf, len, "gnn.D %zu, gnn.L %zu, gnn.S %zu, attn.M %zu, attn.H %zu, attn.B %zu",
             m->gcfg.D, m->gcfg.L, m->gcfg.S, m->acfg.M, m->acfg.H, m->acfg.B);
}

/* Every check train_checkpoint_load makes of the checkpoint at path
 * against t, leaving the file in empty mf, its model in empty m, its
 * counters in v (as check_run's) and whether it holds a best model in
 * *has_best, for the caller to destroy whatever it returns. */
static weft_err_t checkpoint_check(const train_t *t, const char *path, attn_model_file_t *mf,
                                   coflow_learned_model_t *m, int64_t v[6], bool *has_best)
{
    weft_err_t err = attn_model_load(path, mf);
    if (err)
        return err;
    if ((err = coflow_learned_model_from_file(m, mf, path)))
        return err;
    if (m->gp.n != t->model.gp.n || m->ap.n != t->model.ap.n) {
        /* the sizes, as `weft model` prints them: a run started from an
           --init model of other sizes resumes only with it again, and its
           options (weft model's) cannot name that file */
        char have[128], want[128];
        sizes_str(have, sizeof have, m);
        sizes_str(want, sizeof want, &t->model);
        return weft_fail(WEFT_EINVAL, "%s: checkpoint's model has other layer sizes (%s) than "
                         "this run's (%s): a run started with --init FILE resumes with it "
                         "again", path, have, want);
    }
    const char *ints[] = {"train.iter", "train.step", "train.seed", "train.rate_ema_bits",
                          "train.best_val_bits", "train.best_iter"};
    for (size_t i = 0; i < 6; i++)
        if ((err = attn_model_get_int(mf, ints[i], &v[i])))
            return weft_wrap(err, "%s: not a training checkpoint: ", path);
    if ((err = check_run(mf, path, t, m, v)) ||
        (err = check_block(mf, path, "train.adam_m.gnn", t->gm.n, false)) ||
        (err = check_block(mf, path, "train.adam_v.gnn", t->gv.n, true)) ||
        (err = check_block(mf, path, "train.adam_m.attn", t->am.n, false)) ||
        (err = check_block(mf, path, "train.adam_v.attn", t->av.n, true)))
        return err;
    /* the best model: both parts or neither (a checkpoint of an older build) */
    *has_best = train_checkpoint_has_best(mf);
    if (*has_best != (attn_model_find_vector(mf, "train.best.attn") != NULL))
        return weft_fail(WEFT_EINVAL, "%s: checkpoint has train.best.%s but not "
                         "train.best.%s", path, *has_best ? "gnn" : "attn",
                         *has_best ? "attn" : "gnn");
    if (*has_best && !(bits_dbl(v[4]) < INFINITY))
        return weft_fail(WEFT_EINVAL, "%s: checkpoint has a best model but no best validation "
                         "ratio", path);
    if (*has_best && ((err = check_block(mf, path, "train.best.gnn", t->bg.n, false)) ||
                      (err = check_block(mf, path, "train.best.attn", t->ba.n, false))))
        return err;
    return WEFT_OK;
}

/* train_checkpoint_load(into, path) with into t, or with into NULL its
 * checks alone (train_checkpoint_check). */
static weft_err_t checkpoint_read(const train_t *t, const char *path, train_t *into)
{
    attn_model_file_t mf;
    attn_model_init(&mf);
    coflow_learned_model_t m;
    coflow_learned_model_init(&m);
    int64_t v[6];
    bool has_best = false;
    weft_err_t err = checkpoint_check(t, path, &mf, &m, v, &has_best);
    if (err || !into)
        goto cleanup;
    /* all checked: from here on nothing fails */
    get_block(&mf, "train.adam_m.gnn", into->gm.memory, into->gm.n);
    get_block(&mf, "train.adam_v.gnn", into->gv.memory, into->gv.n);
    get_block(&mf, "train.adam_m.attn", into->am.memory, into->am.n);
    get_block(&mf, "train.adam_v.attn", into->av.memory, into->av.n);
    if (has_best) {
        get_block(&mf, "train.best.gnn", into->bg.memory, into->bg.n);
        get_block(&mf, "train.best.attn", into->ba.memory, into->ba.n);
    }
    into->has_best = has_best;
    coflow_learned_model_destroy(&into->model);
    into->model = m;
    coflow_learned_model_init(&m);
    into->model.set_changes_only = true;
    into->iter = (size_t)v[0];
    into->step = (uint64_t)v[1];
    into->rate_ema = bits_dbl(v[3]);
    into->best_val = bits_dbl(v[4]);
    into->best_iter = (size_t)v[5];
cleanup:
    coflow_learned_model_destroy(&m);
    attn_model_destroy(&mf);
    return err;
}

weft_err_t train_checkpoint_load(train_t *t, const char *path)
{
    return checkpoint_read(t, path, t);
}

weft_err_t train_checkpoint_check(const train_t *t, const char *path)
{
    return checkpoint_read(t, path, NULL);
}

/* Appends printf output to buf (n bytes, *len used so far), cut at its end. */
static void put_text(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_text(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    *len = k < 0 ? n : *len + (size_t)k;
}

/* attn_model_get_int, its message prefixed with path. */
static weft_err_t get_int(const attn_model_file_t *mf, const char *path, const char *name,
                          int64_t *x)
{
    weft_err_t err = attn_model_get_int(mf, name, x);
    return err ? weft_wrap(err, "%s: ", path) : WEFT_OK;
}

/* f with the fewest significant digits that read back as the same float
 * (0.6f is "0.6", as --prior 0.6 gave it). */
static const char *fmt_float(float f, char *buf, size_t n)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    return buf;
}

bool train_file_is_checkpoint(const attn_model_file_t *mf)
{
    for (size_t i = 0; i < mf->n_ints; i++)
        if (!strncmp(mf->ints[i].name, "train.", 6))
            return true;
    return false;
}

bool train_checkpoint_has_best(const attn_model_file_t *mf)
{
    return attn_model_find_vector(mf, "train.best.gnn") != NULL;
}

weft_err_t train_checkpoint_describe(const attn_model_file_t *mf, const char *path,
                                     const coflow_learned_model_t *m, char *progress,
                                     size_t n_progress, char *options, size_t n_options)
{
    const char *names[] = {"train.format", "train.iter", "train.step", "train.iterations",
                           "train.best_val_bits", "train.best_iter", "train.seed",
                           "train.pool_size"};
    int64_t v[8];
    weft_err_t err = WEFT_OK;
    if (!attn_model_find_int(mf, "train.format"))
        return weft_fail(WEFT_EVERSION, "%s: a checkpoint of format 1 (an older weft), which "
                         "records no settings", path);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        WEFT_CHECK(get_int(mf, path, names[i], &v[i]));
    int64_t n_val = 0;
    if (attn_model_find_int(mf, "train.val_size"))
        WEFT_CHECK(get_int(mf, path, "train.val_size", &n_val));
    size_t len = 0;
    double best = bits_dbl(v[4]);
    put_text(progress, n_progress, &len, "iteration %lld of %lld (Adam step %lld); ",
             (long long)v[1], (long long)v[3], (long long)v[2]);
    if (best < INFINITY)
        put_text(progress, n_progress, &len, "best validation %.4f at iteration %lld",
                 best, (long long)v[5]);
    else
        put_text(progress, n_progress, &len, "no best validation");
    put_text(progress, n_progress, &len, "; %lld training and %lld --val workloads "
             "(recorded as hashes)", (long long)v[7], (long long)n_val);
    len = 0;
    char num[WEFT_FMT_LEN];
    put_text(options, n_options, &len, "--seed %llu --iters %lld", (unsigned long long)v[6],
             (long long)v[3]);
    int64_t every;
    if (n_val > 0 && attn_model_find_int(mf, "train.validate_every")) {
        WEFT_CHECK(get_int(mf, path, "train.validate_every", &every));
        put_text(options, n_options, &len, " --validate-every %lld", (long long)every);
    }
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char name[ATTN_MODEL_NAME_MAX];
        snprintf(name, sizeof name, "train.cfg.%s", settings[i].key);
        if (settings[i].kind == SET_NAME) {
            char str[ATTN_MODEL_NAME_MAX];
            size_t n;
            WEFT_CHECK(get_name(mf, path, name, str, sizeof str, &n));
            put_text(options, n_options, &len, " %s %s", settings[i].option, str);
            continue;
        }
        int64_t x;
        WEFT_CHECK(get_int(mf, path, name, &x));
        if (settings[i].kind == SET_SIZE)
            put_text(options, n_options, &len, " %s %lld", settings[i].option, (long long)x);
        else if (settings[i].kind == SET_REAL)
            put_text(options, n_options, &len, " %s %s", settings[i].option,
                     weft_fmt_exact(bits_dbl(x), num, sizeof num));
        else if (!x) /* the one flag: --no-differential */
            put_text(options, n_options, &len, " %s", settings[i].option);
    }
    if (m->prior > 0) {
        put_text(options, n_options, &len, " --prior %s",
                 fmt_float(m->prior, num, sizeof num));
        if (m->prior_path > 0)
            put_text(options, n_options, &len, " --prior-path %s",
                     fmt_float(m->prior_path, num, sizeof num));
    }
cleanup:
    return err;
}
