/*
 * gateway.h - the live gateway (DESIGN §7, docs/protocol.md): the online
 * scheduler it runs (rpc_sched_t), its journal (rpc_journal_t) and the
 * libevent server (rpc_gateway_t) behind `weft serve`.
 *
 * The scheduler keeps the registered jobs in one workload (`all`; the flows of
 * a job have consecutive gateway ids from its jfid, given out in
 * registration order and the same after a journal replay) and, for
 * deciding, a compact workload of the jobs not yet finished (`live`) with
 * the emulator's coflow_state_t over it: the very
 * orderings and allocators of coflow/ run on it, unchanged. The live state
 * is updated in place by progress and completions, and rebuilt when the set
 * of unfinished jobs changes (a registration, a job finishing). A rebuild
 * costs the flows and coflows of every unfinished job, so once one takes
 * more than RPC_REBUILD_FREE_S the next may wait (rebuild_defer): a new job
 * is left out of decisions, and a finished one (all its coflows done, which
 * no ordering looks at) kept in, until the wait has lasted rebuild_defer
 * times the last rebuild's cost. Rebuilding then takes at most about
 * 1 / (1 + rebuild_defer) of the gateway's time however fast jobs come and
 * go, where rebuilding at every registration grew with the square of the
 * jobs in flight. Reports about a job left out go to the authoritative
 * arrays alone (the rebuild takes them from there); a cancel or a
 * compaction still rebuilds at the next use.
 *
 * Ports without an agent (rpc_sched_set_port_present): their bytes cannot
 * move, so the live state decides on a fabric where such a port keeps
 * RPC_ABSENT_CAP_SHARE of its rate (orderings and allocators need every
 * capacity positive). Its flows get next to nothing, which the flows
 * beside them on their other port take, and the orderings see the coflows
 * that need it as nearly endless; its flows are pushed rate 0. A port
 * coming or going makes the live state stale like a registration (a
 * rebuild reads the presence), and the rates pushed for its flows change
 * at the next decision, rebuilt or not.
 *
 * Compaction: once the finished jobs are at least half of `all`,
 * rpc_sched_compact drops them, wherever they are (a job that never
 * finishes holds back nothing but itself), and keeps of each only its id,
 * first flow id and JCT (`gone`), so a long-running gateway holds the jobs
 * in flight, not every job it ever
 * saw; the journal is rewritten the same way when it has doubled
 * (rpc_journal_rewrite).
 *
 * Retention (weft serve --keep-finished N, keep_finished): of the finished
 * jobs, held or in gone, only the N that finished last are remembered
 * (rpc_sched_retain); an older one is forgotten: its record goes (at once
 * from gone and the id map; from all at the next compaction), and only its
 * id stays, in runs of consecutive ids (forgot_lo/hi), so that a job
 * finished and forgotten is told from one never registered: O(1) memory
 * when job ids are consecutive, as weft's workloads number them; 16 bytes
 * per run of them otherwise. Live jobs are never forgotten.
 */
#ifndef RPC_GATEWAY_H
#define RPC_GATEWAY_H

#include <stdbool.h>
#include <stdio.h>

#include "attention/attn.h"
#include "coflow/coflow.h"
#include "rpc/client.h"
#include "rpc/rpc.h"

/* ------------------------------------------------------------ scheduler */

/* One flow whose rate or priority class changed at a decision (or which its
 * sending agent has not been told about yet: is_new). */
typedef struct {
    uint64_t fid;   /* gateway flow id */
    uint32_t src;   /* sending port = agent id */
    uint32_t dst;   /* receiving port */
    double bytes;   /* flow size, bytes */
    double sent;    /* bytes reported sent so far */
    double rate;    /* assigned rate, bytes/s (0: wait) */
    uint32_t cls;   /* priority class: rank of its coflow among the coflows its
                       sender sends for, in the policy's order (0 = first) */
    bool is_new;    /* the agent must be told dst, bytes and sent */
    bool drop;      /* its job was cancelled: the agent stops it and forgets
                       it (only fid and src are set) */
} rpc_change_t;

typedef struct {
    double t;   /* gateway clock, seconds */
    size_t idx; /* coflow (release) or job (finish) index in `all` */
    bool job;
} rpc_timed_t;

typedef struct {
    coflow_fabric_t fab;                 /* owned: n_ports at port_rate */
    coflow_fabric_t dec_fab;             /* what st decides on: fab with every
                                            absent port at RPC_ABSENT_CAP_SHARE */
    uint8_t *absent;                     /* [n_ports] no agent (header) */
    const coflow_ordering_t *ord;
    const coflow_allocator_t *alloc;
    coflow_workload_t all;               /* the jobs registered and not compacted
                                            away, in registration order */
    uint64_t next_fid;                   /* gateway id of the next flow registered;
                                            ids below it not held by a job of all
                                            are of jobs compacted away */
    size_t n_jdone;                      /* jobs of all finished */
    /* Jobs compacted away (finished), in the order they were dropped: */
    int64_t *gone_id;
    uint64_t *gone_fid;                  /* first flow id */
    double *gone_jct;                    /* seconds */
    uint8_t *gone_cancelled;
    size_t n_gone, cap_gone;
    size_t gone_head;                    /* entries of gone before it were forgotten;
                                            one after it whose id no longer maps to it
                                            too (forgotten by a journal record) */
    size_t n_gone_dead;                  /* entries of gone forgotten, before
                                            gone_head or after it */
    /* Retention (header): */
    size_t keep_finished;                /* finished jobs remembered at most
                                            (SIZE_MAX, rpc_sched_init's: all) */
    size_t n_retained;                   /* finished jobs remembered, held or gone */
    int64_t *fin_q;                      /* ids of jobs of all that finished since
                                            the last compaction, in the order they
                                            finished (of finish_s), from fin_head on */
    size_t fin_head, n_fin_q, cap_fin_q;
    int64_t *forgot_lo, *forgot_hi;      /* the ids of the jobs forgotten: runs
                                            lo..hi sorted, neither overlapping nor
                                            adjacent */
    size_t n_forgot_runs, cap_forgot_runs;
    uint64_t n_forgotten;                /* jobs forgotten (the journal's included) */
    size_t n_forgot_held;                /* of them, still in all (jforgot) */
    int64_t *forgot_now;                 /* ids forgotten since the caller last
                                            cleared n_forgot_now (to journal) */
    size_t n_forgot_now, cap_forgot_now;
    uint64_t n_shed;                     /* jobs compacted away or forgotten: a
                                            journal rewritten since holds less */
    /* The gone entry of the highest first flow id a replay has read, and
     * where, for the check once every record is read
     * (rpc_gateway_load_journal): */
    bool replay_gone_any;
    uint64_t replay_gone_fid, replay_gone_record, replay_gone_end;
    int64_t replay_gone_job;
    uint32_t replay_gone_entry;
    uint64_t replay_record, replay_end;  /* the record being replayed: its number
                                            and the byte it ends at (0: unknown) */
    /* Job id -> index in all, or RPC_GONE | index in gone: open
     * addressing with linear probing, at most half full, no deletions. */
    int64_t *map_key;
    uint64_t *map_val;                   /* 0: empty slot, else value + 1 */
    size_t map_cap, map_n;
    /* per flow of all, [cap_f] */
    double *sent;                        /* bytes reported sent */
    uint8_t *fdone;                      /* 0 open, else RPC_FLOW_FINISHED or
                                            RPC_FLOW_DROPPED (by its job's
                                            cancel): either way no longer
                                            scheduled */
    uint8_t *announced;                  /* its agent's connection knows it (for a
                                            flow of a cancelled job: its drop
                                            still waits in drops) */
    double *push_rate;                   /* last rate pushed, bytes/s */
    uint32_t *push_cls;                  /* last class pushed */
    size_t *fcoflow;                     /* owning coflow in all */
    size_t *g2l;                         /* index in live, valid for live jobs */
    size_t cap_f;
    /* per coflow of all, [cap_c] */
    uint8_t *cstatus;                    /* coflow_status_t */
    double *release_s;                   /* gateway clock */
    double *ready_s;                     /* last parent finish so far */
    size_t *parents_left;
    size_t *g2l_c;
    size_t *cleft;                       /* flows not finished */
    double *cfinish_s;                   /* gateway clock, once DONE (not by a
                                            cancel) */
    size_t *crank;                       /* its place in the order of the last
                                            decision that ordered it (1 = first;
                                            0: none): current while last_out
                                            holds its key there (rpc_sched_rank) */
    size_t cap_c;
    /* per job of all, [cap_j] */
    double *arrival_s, *finish_s;        /* gateway clock */
    size_t *left;                        /* coflows not yet done */
    uint8_t *jdone;
    uint64_t *jfid;                      /* gateway id of its first flow */
    uint8_t *jcancelled;                 /* finished by rpc_sched_cancel */
    uint8_t *jlive;                      /* in live (g2l, g2l_c index it) */
    uint8_t *jforgot;                    /* finished and forgotten: out of the id
                                            map, dropped at the next compaction */
    size_t cap_j;
    rpc_timed_t *pend;                   /* releases and job ends waiting for
                                            compute time to pass */
    size_t n_pend, cap_pend;
    /* the live state */
    coflow_workload_t live;
    coflow_state_t st;
    void *ctx;                           /* the ordering's */
    bool have_live, dirty;
    bool need_rebuild;                   /* live is wrong: rebuilt at next use */
    bool stale;                          /* live leaves out a registered job,
                                            keeps a finished one or decides on
                                            ports present then (header) */
    double stale_since;                  /* weft_mono_s() when it became stale */
    double rebuild_cost_s;               /* the last rebuild's wall time */
    double rebuild_defer;                /* how long a stale live may serve, in
                                            last rebuilds (0: never) */
    double rate_rel_tol;                 /* RPC_RATE_REL_TOL, 0 in tests that
                                            push every change */
    const void *policy_hook;             /* borrowed: the live state's (the
                                            learned ordering's model) */
    size_t *l2g_flow, *l2g_coflow, *l2g_job, *ids;
    size_t cap_lf, cap_lc, cap_lj;
    /* The last decision's coflows, as the ordering was given them and as
     * it ordered them, each by the gateway id of its first flow (which
     * compaction keeps): carried into the ordering created at a rebuild
     * (coflow_ordering_t.carry_order; last_in is kept only for orderings
     * that take it, n_last of them), and job_status's ranks (n_ranked). */
    uint64_t *last_in, *last_out;
    size_t n_last, n_ranked, cap_last_in, cap_last_out;
    /* [n_ranked] the score that placed each coflow of last_out, if scored
     * (coflow_ordering_t.last_scores): the last decision's alone */
    double *last_score;
    size_t cap_last_score;
    bool scored;
    size_t *port_rank, *port_last;       /* [n_ports] decision scratch */
    /* outputs, consumed by the caller */
    rpc_change_t *changes;               /* of the last decision */
    size_t n_changes, cap_changes;
    rpc_change_t *drops;                 /* announced flows of cancelled jobs,
                                            for the next decision's changes */
    size_t n_drops, cap_drops;
    int64_t *jobs_done;                  /* ids of jobs finished since the
                                            caller last cleared n_jobs_done */
    size_t n_jobs_done, cap_jobs_done;
    size_t n_decisions, n_rebuilds;
    /* The wall clock (weft_wall_s) at gateway clock 0, so journal records
     * carry times that a restart maps back onto its own clock (their
     * "at"); 0: unknown, and replay applies every record at its `now`. */
    double wall_at_zero;
} rpc_sched_t;

/* A rebuild this fast is never put off (rpc_sched_t.rebuild_defer). */
#define RPC_REBUILD_FREE_S 1e-3

/* A rate differing from the pushed one by less than this share is not
 * pushed again: MADD re-paces from progress reports 10 ms old, which would
 * otherwise move every rate by a hair at every tick. So the rates pushed
 * on a port add up to at most its rate / (1 - RPC_RATE_REL_TOL). */
#define RPC_RATE_REL_TOL 1e-3

/* The share of its rate a port without an agent keeps in decisions: so
 * small that its flows' rates are lost in their other port's rounding. */
#define RPC_ABSENT_CAP_SHARE 1e-12

/* An empty scheduler for n_ports ports of port_rate bytes/s each way, with
 * ordering ord and allocator alloc (NULL: the ordering's default). Every
 * port counts as present until rpc_sched_set_port_present says otherwise. */
weft_err_t rpc_sched_init(rpc_sched_t *s, size_t n_ports, double port_rate,
                          const coflow_ordering_t *ord, const coflow_allocator_t *alloc);
void rpc_sched_destroy(rpc_sched_t *s);

#define RPC_GONE ((uint64_t)1 << 63)

/* rpc_sched_t.fdone: a flow sent whole, or one its job's cancel stopped
 * (which job_status must not count as sent). */
enum { RPC_FLOW_FINISHED = 1, RPC_FLOW_DROPPED = 2 };

/* Whether job j is the one job of tmp (a parsed registration) as far as
 * scheduling goes: weight, final compute, and its coflows' ids, compute
 * times and flows, in order (they fix the flow ids), and each coflow's
 * parents in any order. O(its coflows and flows, and p log p for a coflow
 * of p parents listed in another order). */
bool rpc_sched_same_job(const rpc_sched_t *s, size_t j, const coflow_workload_t *tmp);

/* WEFT_OK if tmp is job j again (rpc_sched_same_job: a resend), else
 * EINVAL naming its id: another job under it would be taken for a resend
 * and never run. The live register and the journal's job record use it. */
weft_err_t rpc_sched_check_resend(const rpc_sched_t *s, size_t j, const coflow_workload_t *tmp);

/* Index in all of the job with this id, or SIZE_MAX (also for a job
 * compacted away: see rpc_sched_find_gone). O(1). */
size_t rpc_sched_find_job(const rpc_sched_t *s, int64_t id);
/* Whether job id was compacted away; if so its first flow id and JCT. */
bool rpc_sched_find_gone(const rpc_sched_t *s, int64_t id, uint64_t *first_fid, double *jct);
/* Gateway id of the first flow of job j: its flows are first .. + n. */
uint64_t rpc_sched_first_fid(const rpc_sched_t *s, size_t j);
/* One past the gateway id of job j's last flow. */
uint64_t rpc_sched_end_fid(const rpc_sched_t *s, size_t j);
/* Index in all of the flow with gateway id fid: 1 and *f, 0 for a flow of a
 * job compacted away, or ENOTFOUND for an id never given out. O(log jobs). */
int rpc_sched_flow_index(const rpc_sched_t *s, uint64_t fid, size_t *f);
/* Gateway id of flow f of all. */
uint64_t rpc_sched_flow_gid(const rpc_sched_t *s, size_t f);
/* A cancel record's "sent": job j's unfinished flows (open before its
 * cancel, dropped after it) with bytes reported, which no agent reports
 * again once dropped. From all's flow *from on (0: the job's first), at
 * most max of them: packs [[flow id, bytes], ...] when pk is not NULL,
 * moves *from past the last one taken (to the end of the job's flows once
 * all are) and returns how many. O(the flows passed). */
size_t rpc_sched_pack_cancel_sent(const rpc_sched_t *s, size_t j, size_t *from, size_t max,
                                  msgpack_packer *pk);
/* Entries of "sent" a cancel record holds: 19 bytes at most each, so a
 * record stays under 1.3 MB, within the journal's least record cap (4
 * MiB); a job with more is cancelled by its first record and the others
 * carry the rest (a cancel of a job already cancelled only adds "sent"). */
#define RPC_CANCEL_SENT_CHUNK 65536
/* Replays a cancel record's "sent" once its job is cancelled: each
 * dropped flow's bytes as reported before the cancel. EPARSE for an entry
 * that is not [flow id, bytes] with 0 <= bytes <= the flow's size. */
weft_err_t rpc_sched_replay_cancel_sent(rpc_sched_t *s, const msgpack_object_array *a);
/* Drops the finished jobs of all once they are at least half of it (and
 * at least min_jobs), wherever they are, keeping their ids, first flow ids
 * and JCTs in gone; the kept jobs keep their order and flow ids. Returns
 * how many were dropped. O(jobs and flows kept), so amortised O(1) per job.
 * Call it where no job index is held (after the decision's job_done
 * pushes). */
size_t rpc_sched_compact(rpc_sched_t *s, size_t min_jobs);
/* Records job id as compacted away (a journal's "gone" record). */
weft_err_t rpc_sched_add_gone(rpc_sched_t *s, int64_t id, uint64_t first_fid, double jct,
                              bool cancelled);
/* Forgets the finished jobs remembered beyond keep_finished, those that
 * finished first (gone's, then those held in all), and lists their ids in
 * forgot_now for the caller to journal. Amortised O(1) per job forgotten,
 * plus O(runs of forgotten ids) to insert one in the middle of them. */
weft_err_t rpc_sched_retain(rpc_sched_t *s);
/* Forgets finished job id now (a journal's "forget" record), whatever
 * keep_finished says; nothing if it was forgotten already. EPARSE for a
 * job not finished or never registered. */
weft_err_t rpc_sched_forget_job(rpc_sched_t *s, int64_t id);
/* Records the ids lo..hi (lo <= hi) as of jobs forgotten (a rewritten
 * journal's "forgotten" record; the caller counts them in n_forgotten). */
weft_err_t rpc_sched_add_forgotten(rpc_sched_t *s, int64_t lo, int64_t hi);
/* Whether gone entry g (gone_head <= g < n_gone) is remembered: its id
 * still maps to it. O(1). */
bool rpc_sched_gone_kept(const rpc_sched_t *s, size_t g);
/* Whether job id finished and was forgotten. O(log runs). */
bool rpc_sched_forgotten(const rpc_sched_t *s, int64_t id);
/* Whether job id (held or compacted away) finished by being cancelled. */
bool rpc_sched_cancelled(const rpc_sched_t *s, int64_t id);
/* Cancels job id at now: its unfinished flows count as done, its waiting
 * coflows are never released, it finishes now (in jobs_done), and the
 * flows already announced to their agents are listed as drops in the next
 * decision's changes. Returns 1, 0 if the job had already finished (held
 * or compacted away, or forgotten: nothing changes), or ENOTFOUND. */
int rpc_sched_cancel(rpc_sched_t *s, int64_t id, double now);
/* Whether an agent that reports flow fid as unfinished must be told to drop
 * it: this gateway does not hold it (a flow of a job compacted away, which
 * finished or was cancelled; or an id it never gave out, as after a restart
 * from a journal older than the agent's flows), or it is of a job forgotten
 * (--keep-finished, held until compacted away), or it is of a cancelled job
 * and no drop of it waits for the next decision (that one tells the agent:
 * it was not connected then, or the flow was never announced). O(log
 * jobs). */
bool rpc_sched_missed_drop(const rpc_sched_t *s, uint64_t fid);
/* Adds the single job of tmp (rpc_job_parse on s->fab), arrived at now; its roots are
 * released (after their compute time). *first_fid: its first flow id. */
weft_err_t rpc_sched_commit_job(rpc_sched_t *s, const coflow_workload_t *tmp, double now,
                                uint64_t *first_fid);

/* A flow's sender reports `sent` bytes in total. Returns 0 (recorded, or
 * stale and ignored), 1 if that completes the flow (the caller journals the
 * completion, then calls rpc_sched_finish), or an error: ENOTFOUND for an
 * unknown flow, EINVAL for one not released yet or more bytes than it has. */
int rpc_sched_progress(rpc_sched_t *s, uint64_t fid, double sent);
/* Validates a completion report: 1 if it completes the flow (to be
 * journaled), 0 if the flow is already done or of a job compacted away
 * (ignored), or ENOTFOUND / EINVAL as above. */
int rpc_sched_check_done(const rpc_sched_t *s, uint64_t fid);
/* Flow fid finished at now (idempotent): releases children, finishes jobs
 * (their ids are appended to jobs_done). */
weft_err_t rpc_sched_finish(rpc_sched_t *s, uint64_t fid, double now);
/* Takes the releases and job ends due by now, each at its due time. */
weft_err_t rpc_sched_tick(rpc_sched_t *s, double now);
/* One decision at now: ordering + allocation over the live state; fills
 * changes[0..n_changes) with what differs from what was pushed. Marks every
 * change as pushed: call rpc_sched_forget for the flows of an agent that is
 * not connected. O(open flows of released coflows) + the policy's cost. */
weft_err_t rpc_sched_decide(rpc_sched_t *s, double now);

/* Coflow c of all's place in the last decision's order: 1 = first, of
 * n_ranked; 0 if it is not active now or that decision did not order it
 * (released since, or its job left out of a stale live state). *score is
 * the score that placed it, NAN if the ordering gave none. O(1). */
size_t rpc_sched_rank(const rpc_sched_t *s, size_t c, double *score);

/* Forgets what was pushed for fid (its agent is gone), so the next
 * decision announces it again. */
void rpc_sched_forget(rpc_sched_t *s, uint64_t fid);
/* Forgets every released, unfinished flow sent by port src and marks the
 * state dirty: the next decision tells that agent everything. O(flows). */
void rpc_sched_forget_port(rpc_sched_t *s, uint32_t src);
/* Port p's agent connected (present) or went away: decisions give the
 * flows from or to a port without one nothing and their share to the
 * others (header). A change marks the state dirty and stale. O(1). */
void rpc_sched_set_port_present(rpc_sched_t *s, uint32_t p, bool present);
/* Port p sends and receives at rate bytes/s (> 0) from now on, instead of
 * rpc_sched_init's port_rate (a faster or slower NIC): the next decision
 * allocates on it. The jobs held keep the analysis of their registration
 * (iso_s, cp_below_s: jsebf-cp, wcp and learned read them), which a
 * restart redoes on the new rate: weft serve sets its rates before any job
 * (--port-cap, before the journal's replay). Marks the state dirty and
 * stale. WEFT_EINVAL for a port out of range or a rate that is not finite
 * and positive. */
weft_err_t rpc_sched_set_port_rate(rpc_sched_t *s, uint32_t p, double rate);
/* Drops the live state now, its ordering (and whatever model the ordering
 * borrowed from policy_hook) with it: the next decision rebuilds it with
 * the ordering created anew from policy_hook, so the caller may free or
 * replace the hook's model once this returns (a model reloaded while the
 * gateway runs). Marks the state dirty. */
void rpc_sched_renew_ordering(rpc_sched_t *s);

/* -------------------------------------------------------------- journal */

/* An append-only file of frames (rpc.h framing), one record each:
 * {"r": "epoch", "id": N, "at": T0} first (the gateway's identity,
 * rpc_journal_t.epoch, and the wall-clock time of its clock's zero),
 * {"r": "job", "job": <job map as registered>, "at": T},
 * {"r": "cancel", "job": id, "at": T},
 * {"r": "done", "flows": [fid, ...], "at": T}, and in a rewritten journal
 * {"r": "gone", "jobs": [[id, first fid, jct], ...]} for the jobs compacted
 * away and {"r": "base", "fid": next flow id} where their ids are skipped;
 * under a retention limit, {"r": "forget", "jobs": [id, ...], "at": T} for
 * the jobs forgotten (rpc_sched_retain) and in a rewritten journal
 * {"r": "forgotten", "jobs": count, "runs": [[first id, last id], ...]}.
 *
 * Format 2 (since 2026-12-04): the file starts with the 16 bytes of
 * rpc_journal_header, and every record is sealed: its map's last entry is
 * "sum", a uint64 in its 9-byte form holding the first 8 bytes of the
 * SHA-256 of the previous sealed record's 8 (zeros for the first sealed
 * record) followed by the record's frame (length included) up to those 8
 * bytes, so damage to any byte of a record is found, and a record lost,
 * repeated or moved within the file too. Format 1, a file without the
 * header, is read as before: its records up to the first sealed one are
 * taken unchecked (what an older gateway wrote), every one from there on
 * must be sealed. The callers build records unsealed; rpc_journal_append
 * and the rewrite seal them, and replay gets them without the entry. */
#define RPC_JOURNAL_FORMAT 2 /* written; format 1 is read too */
#define RPC_JOURNAL_HEADER_BYTES 16
extern const unsigned char rpc_journal_header[RPC_JOURNAL_HEADER_BYTES];
/* Bytes sealing adds to a record at most: the "sum" entry (13) and a map
 * header grown by one entry past a size class (2). */
#define RPC_JOURNAL_SEAL_MAX 15
typedef struct {
    int fd;          /* -1: no journal */
    char *path;
    bool sync;       /* records must be fdatasync'ed before they are
                        acknowledged (the default policy) */
    bool unsynced;   /* appended since the last rpc_journal_sync */
    uint64_t records;/* records replayed + appended */
    uint64_t syncs;  /* fdatasync calls made */
    uint64_t bytes;  /* size of the file */
    uint64_t rewritten_bytes; /* its size after the last rewrite (or open, or
                                 failed rewrite) */
    uint64_t rewrites;
    uint64_t torn_at;    /* byte offset of the torn last record cut off at
                            open (when torn_bytes > 0) */
    uint64_t torn_bytes; /* its bytes; 0: the file ended with a record */
    size_t max_record;   /* record cap: RPC_JOURNAL_MAX_RECORD, or more
                            (rpc_journal_open_cap) */
    uint64_t epoch;      /* the id of the gateway state the journal holds, from
                            its epoch record (not passed to replay); 0: none
                            yet (a new journal, or one older than the record) */
    double epoch_at;     /* the wall-clock time (weft_wall_s) of the gateway
                            clock's zero, from the epoch record's "at", which
                            a restart's clock continues from; 0: none (a
                            journal from before 2026-12-04's times) */
    uint64_t epochs;     /* epoch records read at open (the last one counts) */
    char *torn_path;     /* the file keeping those bytes (PATH.torn-OFFSET);
                            NULL if none, owned */
    int format;          /* 2, or 1: a file from before the header, until
                            its first rewrite */
    uint64_t unchecked;  /* records replayed without a seal (format 1) */
    unsigned char *seal_buf; /* [seal_cap] where appends are sealed, owned */
    size_t seal_cap;
    void *digest;        /* the seals' SHA-256 context (EVP_MD_CTX), owned */
    unsigned char chain[8]; /* the last sealed record's seal (zeros: none),
                            which the next one's covers */
    bool dir_unsynced;   /* a rewrite renamed the file, and its directory
                            could not be synced then: rpc_journal_sync does
                            it, through dir_fd (owned), before anything else */
    int dir_fd;
} rpc_journal_t;

/* A journal is rewritten once it is this large and twice its size after
 * the previous rewrite (and jobs were compacted away since), so rewriting
 * costs O(1) per byte appended. */
#define RPC_JOURNAL_REWRITE_MIN ((uint64_t)64 << 10)

#define RPC_JOURNAL_MAX_RECORD ((size_t)4 << 20) /* bytes per record, at least */

/* Opens (creating) path; calls replay(arg, record map) for every complete
 * record in order. An empty file (or one holding less than the header, the
 * start of it) gets the header and is of format 2. A torn last record -
 * bytes after the last complete one that are the start of a record within
 * the record cap, as a crash
 * mid-write leaves - is copied to PATH.torn-OFFSET (synced), then cut off;
 * torn_at, torn_bytes and torn_path say so, for the caller to report. Any
 * other damage (an impossible length, bytes that cannot begin a record, a
 * bad record before the end, a record whose seal does not match its bytes
 * or that lacks one where it must have it) fails with EPROTO naming the journal,
 * the record and byte offset, and leaves the file as it was; so does a
 * header of a later format (file starting "\xffweft journal N\n", N > 2),
 * with EVERSION naming the format, and a record over the cap that the file
 * holds whole, its seal matching, with EINVAL naming the max_record (the
 * --max-frame) that reads it. path must be a regular file or a device: a
 * FIFO (whose reads would wait for a writer), a socket or a directory is
 * refused at once, EINVAL naming what it is. */
weft_err_t rpc_journal_open(rpc_journal_t *j, const char *path, bool sync,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            void *arg);
/* The same with a record cap of max_record bytes if that is more than
 * RPC_JOURNAL_MAX_RECORD: a gateway whose frames may be larger (--max-frame)
 * journals registrations as large, and must read them back. */
weft_err_t rpc_journal_open_cap(rpc_journal_t *j, const char *path, bool sync,
                                size_t max_record,
                                weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                                void *arg);
/* Reads path as rpc_journal_open_cap does, replay included, without
 * changing it: no header is written to an empty file (format 2, bytes the
 * file's size, no record) and a torn last record is only reported
 * (torn_at, torn_bytes; torn_path NULL). On return the file is closed
 * (fd -1); rpc_journal_close frees the rest. */
weft_err_t rpc_journal_check(rpc_journal_t *j, const char *path, size_t max_record,
                             weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                             void *arg);
/* rpc_journal_open_cap, or with read_only rpc_journal_check, calling
 * replay(arg, record) for each record (j->records its number and j->bytes the
 * byte it ends at, during the call) and then, if end is not NULL, end(arg)
 * once every complete record is replayed: before a torn tail is cut off, so
 * that end's error refuses the journal, naming it, with the file left as it
 * is (an empty file has its header by then: no record is lost). */
weft_err_t rpc_journal_read(rpc_journal_t *j, const char *path, bool sync, size_t max_record,
                            bool read_only,
                            weft_err_t (*replay)(void *arg, const msgpack_object *rec),
                            weft_err_t (*end)(void *arg), void *arg);
/* Appends one record, a complete frame whose payload is a map, sealed
 * (above), with one write(2); EINVAL if frame[n] is not one such frame or
 * sealed it would pass the record cap. Durable only after
 * the next rpc_journal_sync: the gateway appends every record of one event
 * loop pass, then syncs once before anything of that pass is sent (group
 * commit). */
weft_err_t rpc_journal_append(rpc_journal_t *j, const void *frame, size_t n);
/* fdatasyncs what was appended, if the policy asks for it and anything
 * was; first, whatever the policy, the directory of a rewrite that could
 * not sync it after its rename (dir_unsynced). O(1) when there is nothing
 * to sync. */
weft_err_t rpc_journal_sync(rpc_journal_t *j);
void rpc_journal_close(rpc_journal_t *j);
/* Whether the journal has grown enough to be rewritten. */
bool rpc_journal_wants_rewrite(const rpc_journal_t *j);
/* Replaces the journal with the records of s's state (base, gone, every
 * job of all and the done flows): written to PATH.tmp, fdatasync'ed,
 * renamed over PATH, and the directory synced, so a crash leaves either
 * the old journal or the new one (of format 2) whole. Appends then go
 * to the new file. Where PATH is a symbolic link, PATH is the file it leads to (the link
 * stays); a journal on a device is left as it is (WEFT_OK). On failure
 * (naming the journal) nothing has changed - appends go on into the
 * journal as it was - and rpc_journal_wants_rewrite waits until the file
 * has doubled again. A directory that cannot be synced after the rename
 * is no failure of the rewrite: rpc_journal_sync syncs it (or fails). */
weft_err_t rpc_journal_rewrite(rpc_journal_t *j, const rpc_sched_t *s);
/* Applies one journal record (without its seal) to s as `weft serve`
 * does when it replays its journal at start, now its clock: the record
 * checks of the gateway. WEFT_EPARSE (or the scheduler's error) names
 * what is wrong. */
weft_err_t rpc_gateway_replay_record(rpc_sched_t *s, double now, const msgpack_object *rec);
/* Records a journal's replay took, by kind (rpc_gateway_load_journal; the
 * epoch records are rpc_journal_t.epochs). */
typedef struct {
    size_t job, done, cancel, gone, base, forget, forgotten;
} rpc_journal_kinds_t;
/* Reads the journal at path into s, freshly initialised, as `weft serve
 * --journal` does at start and `weft journal` checks it, so that the two
 * cannot disagree: rpc_journal_read(j, path, sync, max_record, read_only)
 * replays every record with rpc_gateway_replay_record's checks (an error
 * names the record and the byte it ends at), on the clock whose zero is the
 * weft_mono_s() reading *t0, moved (*t0 and s->wall_at_zero) to the
 * journal's first start once its epoch record is read; then the checks that
 * need every record read (each gone entry's first flow id below the next
 * flow id the replay ends with: WEFT_EPARSE naming the record, the entry,
 * the job and both ids), with the file left as it is; then one
 * rpc_sched_tick for the releases and job ends due by now, none of which is
 * announced (n_jobs_done, n_forgot_now cleared). kinds, if not NULL, gets
 * the count of each kind. On failure j is closed. O(bytes of the file) and
 * the replay's work. */
weft_err_t rpc_gateway_load_journal(rpc_sched_t *s, double *t0, rpc_journal_t *j,
                                    const char *path, bool sync, size_t max_record,
                                    bool read_only, rpc_journal_kinds_t *kinds);
/* Packs the epoch record of id epoch (> 0, < 2^63) into b, with the
 * wall-clock time of the gateway clock's zero as its "at" when origin > 0. */
weft_err_t rpc_journal_epoch_record(msgpack_sbuffer *b, uint64_t epoch, double origin);
/* Packs a base record (the next flow id is next_fid, < 2^63) into b. */
weft_err_t rpc_journal_base_record(msgpack_sbuffer *b, uint64_t next_fid);

/* --------------------------------------------------------------- server */

#define RPC_MAX_CONNS_DEFAULT 1024 /* open connections a gateway serves at most */

/* A port with a rate of its own, bytes/s each way. */
typedef struct {
    size_t port;
    double rate;
} rpc_port_rate_t;

typedef struct {
    const char *host;          /* address to bind; NULL: 127.0.0.1 */
    int port;                  /* 0: an ephemeral port (rpc_gateway_port) */
    const char *token;         /* shared secret agents and clients present in
                                  hello, unless the role has its own: */
    const char *agent_token;   /* NULL: token. The agents' own secret */
    const char *client_token;  /* NULL: token. The clients' own secret. When
                                  the two roles' secrets differ, an agent
                                  connection may not register, watch or
                                  cancel jobs (code "forbidden"): a worker
                                  machine's secret moves flows, not jobs */
    const char *const *port_secrets; /* [n_ports] or NULL: the agents' secrets
                                  one per port (rpc_port_secrets_read),
                                  instead of agent_token / token. An agent
                                  is let in only with the secret of the port
                                  it claims, and a port whose entry is NULL
                                  takes no agent; the roles count as split,
                                  and no port's secret may be the clients'.
                                  Copied: the caller's array is not kept */
    const char *port_secrets_file; /* the file port_secrets came from, read
                                  again by rpc_gateway_reload_port_secrets
                                  (weft serve on SIGHUP); must outlive the
                                  gateway. NULL: nothing to reload */
    const char *token_file;    /* the files token, agent_token and client_token */
    const char *agent_token_file; /* came from (weft serve --token-file and the
                                  like), read again by rpc_gateway_reload_tokens
                                  (SIGHUP); each must outlive the gateway.
                                  NULL: that secret was given as it is */
    const char *client_token_file;
    const char *tls_cert;      /* PEM certificate (chain) and private key: */
    const char *tls_key;       /* every connection is TLS 1.2+; both NULL:
                                  plain TCP. rpc_gateway_new fails naming the
                                  file that cannot be loaded */
    size_t n_ports;            /* fabric ports = agent ids 0 .. n_ports-1 */
    double port_rate;          /* bytes/s each way */
    const rpc_port_rate_t *port_rates; /* [n_port_rates] ports at a rate of
                                  their own instead (weft serve --port-cap);
                                  a port out of range fails rpc_gateway_new */
    size_t n_port_rates;
    const coflow_ordering_t *ord;
    const coflow_allocator_t *alloc; /* NULL: the ordering's default */
    const char *model_path;    /* the learned ordering's model, loaded at start
                                  (rpc_gateway_new fails naming the file and
                                  what is wrong) and read again by
                                  rpc_gateway_reload_model, so it must outlive
                                  the gateway; required for it */
    /* Called when rpc_gateway_reload_model has taken a model, with the
     * file's entries (a training checkpoint's train.* among them), before
     * it returns, so the program can say what it read (weft serve notes a
     * checkpoint, as at start); NULL: nothing is called */
    void (*model_read)(void *ctx, const char *path, const attn_model_file_t *mf);
    void *model_read_ctx;      /* its first argument */
    double tick_s;             /* decision tick; 0: 10 ms */
    double hello_timeout_s;    /* close a connection not authenticated by
                                  then, whatever it sends; 0: 5 s */
    double idle_timeout_s;     /* close an authenticated connection silent
                                  this long; 0: 60 s */
    double frame_timeout_s;    /* close a connection whose started frame is
                                  not complete this long after its first
                                  byte arrived (slow-loris after hello);
                                  0: 10 s */
    double rebuild_defer;      /* how long a stale live state may serve, in
                                  last rebuilds (rpc_sched_t); 0: 4; < 0:
                                  never put a rebuild off, so every decision
                                  sees every job however slow the last
                                  rebuild was (the handler fuzzer's gateway
                                  decides without waiting for a tick) */
    size_t max_conns;          /* 0: RPC_MAX_CONNS_DEFAULT */
    size_t max_frame;          /* payload cap, bytes; 0: 1 MiB */
    unsigned budget;           /* frames handled per connection per read
                                  event before others get a turn; 0: 64 */
    size_t max_output;         /* bytes queued to a peer that does not read
                                  before it is dropped; 0: 16 MiB */
    bool limit_finished;       /* remember at most keep_finished finished jobs */
    size_t keep_finished;      /* (weft serve --keep-finished; rpc_sched_t):
                                  those that finished last; 0 forgets each at
                                  once. Without limit_finished, every one */
    const char *journal;       /* NULL: no journal */
    bool journal_nosync;       /* do not fdatasync records (benchmarks) */
    bool handle_signals;       /* stop cleanly on SIGINT / SIGTERM; on
                                  SIGHUP, rpc_gateway_reload_model */
    FILE *log;                 /* one line per connection event; NULL: quiet */
    const char *metrics_host;  /* serve GET /metrics (Prometheus text) over
                                  plain HTTP on metrics_host:metrics_port
                                  (0: an ephemeral port, rpc_gateway_metrics_port);
                                  NULL: no metrics */
    int metrics_port;
    const char *build;         /* the gateway program's version, e.g. "0.1.0
                                  (git 6c73b1eca6ed)", shown by status and
                                  metrics; must outlive the gateway. NULL:
                                  "unknown" */
} rpc_gateway_opts_t;

typedef struct rpc_gateway rpc_gateway_t;

/* How long decisions take, as a Prometheus histogram: count[b] decisions
 * took at most rpc_decision_bucket_le[b] seconds and more than the bound
 * before; count[RPC_DECISION_BUCKETS] more than the largest. */
#define RPC_DECISION_BUCKETS 16
extern const double rpc_decision_bucket_le[RPC_DECISION_BUCKETS];
typedef struct {
    uint64_t count[RPC_DECISION_BUCKETS + 1];
    uint64_t n;
    double sum_s;
} rpc_histogram_t;
void rpc_histogram_observe(rpc_histogram_t *h, double seconds);

/* --metrics connections kept open at once: one takes a place at its first
 * request and keeps it until it closes; past them, /metrics is answered 503
 * and /healthz 200, each with the connection's close. Within the spare
 * descriptors weft serve allows beside --max-conns (cli/cmd_serve.c). */
#define RPC_HTTP_MAX_CONNS 16

/* Counters of a running gateway. */
typedef struct {
    uint64_t frames_in, frames_out, decisions, changes_pushed, conns_accepted,
        conns_refused, protocol_errors, auth_failures, timeouts;
    uint64_t slow_readers;      /* connections closed with more than
                                   max_output bytes queued (slow-reader) */
    uint64_t replaced;          /* agent connections closed because the agent
                                   connected again (replaced) */
    uint64_t rebuilds;          /* of the live state (rpc_sched_t) */
    double rebuild_s;           /* the last one's wall time */
    size_t conns_open;
    size_t conns_closing;       /* of them, closed after an error frame that
                                   was flushed, draining the peer's bytes for
                                   up to 1 s: they hold no --max-conns slot */
    size_t http_open;           /* --metrics HTTP connections open */
    uint64_t http_refused;      /* /metrics requests answered 503 on a connection
                                   past RPC_HTTP_MAX_CONNS */
    size_t agents;              /* agents connected (ports with an agent) */
    size_t jobs, jobs_finished; /* registered (journal included), finished */
    size_t jobs_held;           /* of which held in full (not compacted) */
    uint64_t jobs_forgotten;    /* finished, and forgotten beyond --keep-finished
                                   (counted in jobs and jobs_finished) */
    size_t flows_unfinished;     /* flows of the held jobs not done (a
                                   cancelled job's count as done) */
    double uptime_s;            /* since rpc_gateway_new */
    uint64_t journal_records;   /* replayed + appended */
    const char *model_path;     /* the learned ordering's model file, or NULL */
    char model_sha256[65];      /* of the model deciding now, hex ("" if none) */
    uint64_t model_reloads;     /* rpc_gateway_reload_model's that took */
    const char *port_secrets_file; /* --agent-tokens' file, or NULL */
    size_t port_secrets_listed; /* ports with a secret of their own now */
    uint64_t port_secrets_reloads; /* rpc_gateway_reload_port_secrets' that took */
    bool token_files;           /* a token came from a file (read again on SIGHUP) */
    uint64_t token_reloads;     /* rpc_gateway_reload_tokens' that changed a secret */
    bool tls;                   /* the gateway serves TLS */
    uint64_t tls_reloads;       /* rpc_gateway_reload_tls' that took */
    int64_t tls_not_before;     /* its certificate's start of validity, Unix
                                   seconds (0: unreadable) */
    int64_t tls_not_after;      /* its end of validity, the same way */
    uint64_t journal_rewrites;
    uint64_t journal_syncs;     /* fdatasync calls (one per loop pass at most) */
    uint64_t journal_torn_at;   /* offset of a torn last record cut off at start */
    uint64_t journal_torn_bytes;/* its bytes; 0: none */
    const char *journal_torn_path; /* where they were kept; NULL: none. Owned
                                      by the gateway */
    int journal_format;         /* 2, or 1 on a device never rewritten; 0: none */
    uint64_t journal_unchecked; /* records read at start without a seal (a
                                   journal of format 1, rewritten sealed then) */
} rpc_gateway_stats_t;

/* What weft serve --metrics serves at /metrics (rpc/metrics.c). */
typedef struct {
    const rpc_gateway_stats_t *st;
    size_t ports, ports_waiting;
    double port_rate;
    const char *policy, *allocator;
    const rpc_histogram_t *decision;
    const char *build; /* weft_build_info's version label */
} rpc_metrics_t;
struct evbuffer;
/* Appends m in the Prometheus text exposition format (0.0.4) to out. */
void rpc_metrics_render(struct evbuffer *out, const rpc_metrics_t *m);

/* A status answer gives the median, 99th percentile and largest of the
 * last this many decisions' wall times ("decision_s"). */
#define RPC_STATUS_RECENT_DECISIONS 1024

/* A status answer lists the ports with an agent ("agent_ports") only on a
 * gateway of at most this many ports; a larger one gives the count alone. */
#define RPC_STATUS_MAX_AGENT_LIST 64

/* Reads the agents' secrets one per port from `path` (weft serve
 * --agent-tokens): lines "PORT SECRET", a port below n_ports and a secret
 * without spaces; blank lines and lines starting with # are skipped.
 * *secrets gets n_ports entries, NULL for a port the file does not list.
 * A malformed line, a port out of range or listed twice, two ports with
 * one secret (either machine could speak for the other) or a file without
 * any port is refused, naming path and line (EINVAL); a file that cannot
 * be read, EIO. */
weft_err_t rpc_port_secrets_read(const char *path, size_t n_ports, char ***secrets);
void rpc_port_secrets_free(char **secrets, size_t n_ports);

/* Binds, replays the journal, and is ready to run. */
weft_err_t rpc_gateway_new(rpc_gateway_t **gw, const rpc_gateway_opts_t *opts);
/* The bound TCP port. */
int rpc_gateway_port(const rpc_gateway_t *gw);
/* The port --metrics listens on, or -1 without it. */
int rpc_gateway_metrics_port(const rpc_gateway_t *gw);
/* Reads the learned ordering's model file (opts.model_path) again and
 * decides with it from the next decision on: what the retrainer ships
 * goes live without a restart (weft serve does this on SIGHUP). A file
 * it cannot use (missing, garbage, truncated, another feature set, being
 * written) is refused with an error naming it and what is wrong, and the
 * gateway goes on with the model it had. EINVAL if the policy is not
 * learned. */
weft_err_t rpc_gateway_reload_model(rpc_gateway_t *gw);
/* Reads the token files of the options again (token_file, and the roles'
 * own, which take precedence as at start) and lets peers in with the
 * secrets they now hold; connections already in keep going (their peers
 * read their own files again when they reconnect: rpc_token_read). A file
 * that cannot be read, an empty one, or secrets the gateway would refuse
 * at start (the clients' secret one of a port's) are refused naming the
 * file, and the secrets stay as they were. *changed gets bit 0 if the
 * agents' secret changed, bit 1 if the clients' did. EINVAL if no token
 * came from a file. */
weft_err_t rpc_gateway_reload_tokens(rpc_gateway_t *gw, unsigned *changed);
/* Reads the TLS certificate (chain) and private key files of the options
 * again into a new context: a certificate is renewed without a restart.
 * New connections get it; those already in keep the one they began with.
 * Files that cannot be read, or a key that does not match the
 * certificate, are refused naming the file and OpenSSL's reason, and the
 * gateway goes on serving what it had; so is a certificate already expired
 * or not valid yet (EINVAL, naming the file and the date: clients would
 * refuse it). EINVAL if it serves no TLS. */
weft_err_t rpc_gateway_reload_tls(rpc_gateway_t *gw);
/* Reads opts.port_secrets_file again and lets agents in with the secrets
 * it holds now: a machine's secret is changed or revoked without a
 * restart. An agent connected for a port whose secret changed or went is
 * told so (code auth) and closed; *dropped counts them. A file that
 * rpc_port_secrets_read refuses, or one giving a port the clients' secret,
 * is refused naming it, and the secrets stay as they were. EINVAL without
 * such a file. */
weft_err_t rpc_gateway_reload_port_secrets(rpc_gateway_t *gw, size_t *dropped);

/* Serves until rpc_gateway_stop or a handled signal. */
weft_err_t rpc_gateway_run(rpc_gateway_t *gw);
/* From a callback of the gateway's own loop (or a signal handler event). */
void rpc_gateway_stop(rpc_gateway_t *gw);
/* For a program that drives the gateway itself instead of rpc_gateway_run
 * (the handler fuzzer, fuzz/fuzz_server.c, over socketpairs):
 * rpc_gateway_adopt serves fd, a connected stream socket, exactly as one
 * accepted on the listener (connection limit, hello timeout, TLS peek),
 * `peer` naming it in the log; it takes fd, and closes it if it is not a
 * stream socket (EINVAL). rpc_gateway_poll runs what is ready in the
 * loop once without waiting and returns the error that stopped the
 * gateway (as rpc_gateway_run would), WEFT_OK while it serves. */
weft_err_t rpc_gateway_adopt(rpc_gateway_t *gw, int fd, const char *peer);
weft_err_t rpc_gateway_poll(rpc_gateway_t *gw);
/* The counters now. O(jobs and flows held): the gateway answers a client's
 * "status" message with them (docs/protocol.md). */
void rpc_gateway_stats(const rpc_gateway_t *gw, rpc_gateway_stats_t *out);
void rpc_gateway_free(rpc_gateway_t *gw);

/* Compares a presented token with the expected one in time that depends
 * only on their lengths, never on where they first differ. */
bool rpc_token_equal(const char *expected, size_t n_expected, const char *got, size_t n_got);

#endif
