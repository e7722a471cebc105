/*
 * cmd_journal.c - `weft journal FILE --ports N`: checks a gateway journal
 * the way `weft serve --journal FILE --ports N` reads it at start (its
 * format, every record's checksum, every record replayed into a scheduler
 * of N ports with the gateway's own record checks), without changing the
 * file, and says what the gateway would start with: what an operator runs
 * on a copy before restoring it, or on a journal a gateway refused. The
 * reading is weft serve's own call (rpc_gateway_load_journal), read-only.
 */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_util.h"
#include "rpc/gateway.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft journal FILE --ports N [--max-frame BYTES]\n"
            "\n"
            "Checks a gateway journal as `weft serve --journal FILE --ports N` reads it\n"
            "at start, without changing the file: its format, every record's checksum\n"
            "(format 2), and every record replayed as the gateway replays it (job maps on\n"
            "N ports, flow ids, cancellations). Prints what the gateway would start with.\n"
            "weft serve's --policy, --port-rate and --port-cap change none of it.\n"
            "\n"
            "options:\n"
            "  --ports N           the gateway's port count (as weft serve --ports)\n"
            "  --max-frame BYTES   the gateway's --max-frame, if it was larger than the\n"
            "                      4 MiB record cap (its registrations were journaled whole)\n"
            "  -h, --help          this text\n"
            "\n"
            "exit status: 0 weft serve would start with it (a torn last record included,\n"
            "which it would cut off and keep beside the file), 1 it would refuse it (the\n"
            "message names the record and the byte where the damage is), 2 a usage error.\n");
}

/* The summary of a journal that reads. */
static void describe(const char *path, const rpc_journal_t *j, const rpc_sched_t *s,
                     const rpc_journal_kinds_t *k)
{
    if (j->format == 2 && j->bytes < RPC_JOURNAL_HEADER_BYTES) {
        printf("%s: no records; weft serve would start a new journal here\n", path);
        return;
    }
    if (j->format == 2)
        printf("%s: weft serve would start with it; format 2, every record's checksum "
               "matches\n", path);
    else
        printf("%s: weft serve would start with it; format 1 (from before checksums): its %llu "
               "records read unchecked, weft serve would rewrite it in format 2\n",
               path, (unsigned long long)j->unchecked);
    if (j->epoch) /* in hex, as weft status prints the gateway's */
        printf("  %-13s%llx\n", "epoch", (unsigned long long)j->epoch);
    else
        printf("  %-13snone (weft serve would journal a new one)\n", "epoch");
    printf("  %-13s%llu: ", "records", (unsigned long long)j->records);
    if (j->epochs) /* each one, so that the kinds add up to the records */
        printf("%llu epoch, ", (unsigned long long)j->epochs);
    printf("%zu job, %zu done, %zu cancel, %zu gone, %zu base", k->job, k->done, k->cancel,
           k->gone, k->base);
    if (k->forget || k->forgotten) /* --keep-finished */
        printf(", %zu forget, %zu forgotten", k->forget, k->forgotten);
    printf("; %llu bytes\n", (unsigned long long)j->bytes);
    size_t cancelled = 0, flows_done = 0, flows_dropped = 0;
    for (size_t k = 0; k < s->all.n_jobs; k++)
        cancelled += s->jcancelled[k] && !s->jforgot[k];
    for (size_t f = 0; f < s->all.n_flows; f++) {
        flows_done += s->fdone[f] == RPC_FLOW_FINISHED;
        flows_dropped += s->fdone[f] == RPC_FLOW_DROPPED;
    }
    size_t gone = 0;
    for (size_t g = s->gone_head; g < s->n_gone; g++)
        gone += rpc_sched_gone_kept(s, g);
    printf("  %-13s%zu in the table, %zu of them finished (%zu cancelled); %zu compacted "
           "away", "jobs", s->all.n_jobs - s->n_forgot_held, s->n_jdone - s->n_forgot_held,
           cancelled, gone);
    if (s->n_forgotten) /* --keep-finished */
        printf("; %llu finished and forgotten", (unsigned long long)s->n_forgotten);
    printf("\n");
    printf("  %-13s%zu in the table, %zu of them done, %zu dropped by cancels; next flow id "
           "%llu\n", "flows", s->all.n_flows, flows_done, flows_dropped,
           (unsigned long long)s->next_fid);
    if (j->torn_bytes)
        printf("  %-13s%llu bytes at byte %llu, a record cut short by a crash: weft serve "
               "would cut them off and keep them in %s.torn-%llu\n", "torn tail",
               (unsigned long long)j->torn_bytes, (unsigned long long)j->torn_at, path,
               (unsigned long long)j->torn_at);
}

int cmd_journal(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ports", required_argument, NULL, 'p'},
        {"max-frame", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t ports = 0, max_frame = 0;
    optind = 1;
    opterr = 0; /* the messages the other commands give, not getopt's own */
    for (int c; (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1;) {
        switch (c) {
        case 'p':
            if (!cli_parse_whole("journal", "--ports", optarg, 1, RPC_MAX_PORTS, &ports))
                return CLI_USAGE;
            break;
        case 'm': /* the range weft serve takes */
            if (!cli_parse_whole("journal", "--max-frame", optarg, RPC_MIN_FRAME, CLI_WHOLE_MAX,
                                 &max_frame))
                return CLI_USAGE;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            cli_bad_option("journal", c, longopts, argv);
            cli_usage_hint("journal", usage);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1 || !ports) {
        fprintf(stderr, optind != argc - 1 ? "weft journal: expected one FILE\n"
                                           : "weft journal: --ports N is required (the "
                                             "gateway's, as weft serve --ports)\n");
        cli_usage_hint("journal", usage);
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    struct stat st; /* weft serve's own refusal (a device would read as empty) */
    const char *kind = stat(path, &st) == 0 ? weft_file_kind(st.st_mode) : NULL;
    if (kind) {
        fprintf(stderr, "weft journal: %s is %s, not a regular file: weft serve refuses it as "
                "its --journal (a journal must be a regular file)\n", path, kind);
        return CLI_ERROR;
    }
    rpc_sched_t s;
    /* any policy and rate: the replay never decides (rpc_sched_decide) and
       checks no record against a port's rate, so serve's change nothing */
    weft_err_t err = rpc_sched_init(&s, ports, 1e9, coflow_ordering_find("fifo"), NULL);
    if (err) {
        cli_report("journal", err);
        return CLI_ERROR;
    }
    rpc_journal_t j;
    rpc_journal_kinds_t kinds;
    double t0 = weft_mono_s(); /* weft serve's clock, were it started now */
    err = rpc_gateway_load_journal(&s, &t0, &j, path, false, max_frame, true, &kinds);
    if (err) {
        cli_report("journal", err);
        rpc_sched_destroy(&s);
        return CLI_ERROR;
    }
    describe(path, &j, &s, &kinds);
    rpc_journal_close(&j);
    rpc_sched_destroy(&s);
    return CLI_OK;
}
