/*
 * cmd_model.c - `weft model FILE [-o OUT]`: checks a learned policy's model
 * file the way sim, eval and serve load it (format, checksum, feature set,
 * shapes, finite weights), summarises it, and with -o writes it again in
 * this build's format (version 2, with its SHA-256): what an operator runs
 * before handing a new model to a running gateway (SIGHUP), and how a
 * version 1 file gets a checksum.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attention/attn.h"
#include "cli.h"
#include "cli_util.h"
#include "coflow/learned.h"
#include "train/train.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: weft model FILE [-o OUT]\n"
            "\n"
            "Checks a learned policy's model file as weft sim, eval and serve load it:\n"
            "its format, its SHA-256 (format version 2), its feature set, every tensor's\n"
            "shape and every weight finite. Prints the format, the file's SHA-256 (as\n"
            "sha256sum and weft status print it) and what the model holds; for a\n"
            "training checkpoint, also its iteration and the weft train options of its\n"
            "run (a --resume must repeat them).\n"
            "\n"
            "options:\n"
            "  -o, --out OUT       write the model again to OUT in this build's format\n"
            "                      (version 2, ending with its SHA-256), its entries\n"
            "                      unchanged: gives a version 1 file a checksum (OUT is\n"
            "                      checked writable before the model is read)\n"
            "  -h, --help          this text\n"
            "\n"
            "The summary goes to standard output, or with -o to standard error.\n"
            "\n"
            "exit status: 0 the model loads (and OUT was written), 1 it does not (the\n"
            "message names what is wrong and where), 2 a usage error.\n");
}

/* Past this many ints besides a checkpoint's train.*, the config line holds
 * the network's alone and a line of their own counts the others, with a
 * head of OTHER_INTS_SHOWN: 4,096 ints made one line of 47 KB. */
#define CONFIG_INTS_INLINE 16
#define OTHER_INTS_SHOWN 4

static bool is_network_int(const char *name)
{
    /* the ints the network reads (attention/attn.h's table); a file may
       hold others, kept and ignored (docs/learned-policy.md) */
    for (size_t k = 0; k < ATTN_N_NET_INTS; k++)
        if (!strcmp(name, attn_model_net_int_names[k]))
            return true;
    return false;
}

/* The config integers, "name value, name value, ...", as one line (a long
 * list: the network's, then a count and a head of the others); a
 * checkpoint's train.* ones (doubles among them stored as their bits) are
 * the kind, progress and options lines. */
static void print_ints(FILE *o, const attn_model_file_t *mf)
{
    size_t n_listed = 0, n_other = 0;
    for (size_t i = 0; i < mf->n_ints; i++)
        if (strncmp(mf->ints[i].name, "train.", 6)) {
            n_listed++;
            n_other += !is_network_int(mf->ints[i].name);
        }
    bool split = n_listed > CONFIG_INTS_INLINE && n_other;
    fprintf(o, "  %-18s", "config");
    const char *sep = "";
    for (size_t i = 0; i < mf->n_ints; i++)
        if (strncmp(mf->ints[i].name, "train.", 6) &&
            (!split || is_network_int(mf->ints[i].name))) {
            fprintf(o, "%s%s %lld", sep, mf->ints[i].name, (long long)mf->ints[i].value);
            sep = ", ";
        }
    fprintf(o, "\n");
    if (!split)
        return;
    fprintf(o, "  %-18s%zu the network does not read (-o keeps them): ", "other ints", n_other);
    size_t shown = 0;
    for (size_t i = 0; i < mf->n_ints && shown < OTHER_INTS_SHOWN; i++)
        if (strncmp(mf->ints[i].name, "train.", 6) && !is_network_int(mf->ints[i].name))
            fprintf(o, "%s%s %lld", shown++ ? ", " : "", mf->ints[i].name,
                    (long long)mf->ints[i].value);
    fprintf(o, "%s\n", n_other > shown ? ", ..." : "");
}

/* The summary, on o. */
static int describe(FILE *o, const char *path, const attn_model_file_t *mf,
                    const coflow_learned_model_t *m)
{
    char sha[65];
    if (weft_file_sha256(path, sha)) {
        cli_report("model", WEFT_EIO);
        return CLI_ERROR;
    }
    size_t floats = 0;
    for (size_t i = 0; i < mf->n_tensors; i++)
        floats += mf->tensors[i].n;
    fprintf(o, "%s: loads; format version %u, %s\n", path, mf->version,
            mf->version >= 2 ? "its SHA-256 checked"
                             : "no checksum, unchecked (weft model FILE -o NEW adds one)");
    fprintf(o, "  %-18s%s\n", "sha256", sha);
    print_ints(o, mf);
    fprintf(o, "  %-18sjsebf %g, path %g\n", "priors", (double)m->prior, (double)m->prior_path);
    fprintf(o, "  %-18s%s\n", "decides",
            m->set_changes_only ? "when the set of schedulable coflows changes"
                                : "at every emulator decision");
    fprintf(o, "  %-18s%zu tensors, %zu floats; %zu vectors\n", "weights", mf->n_tensors,
            floats, mf->n_vecs);
    if (train_file_is_checkpoint(mf)) {
        fprintf(o, "  %-18sa training checkpoint (weft train --resume): its parameters "
                "are the last iteration's; %s\n", "kind",
                train_checkpoint_has_best(mf)
                    ? "the best are in best.msgpack beside it"
                    : "its run had no --val, so it keeps no best model (best.msgpack)");
        char progress[512], options[1024];
        if (train_checkpoint_describe(mf, path, m, progress, sizeof progress, options,
                                      sizeof options) == WEFT_OK)
            fprintf(o, "  %-18s%s\n  %-18s%s\n", "progress", progress, "options", options);
        else
            fprintf(o, "  %-18s%s\n", "settings", weft_last_error());
    }
    return CLI_OK;
}

int cmd_model(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if (cli_check_name("model", "--out", optarg, "file"))
                return CLI_USAGE;
            out = optarg;
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: /* '?', or ':' for a missing value (optstring's leading ':') */
            cli_bad_option("model", ch, longopts, argv);
            cli_usage_hint("model", usage);
            return CLI_USAGE;
        }
    }
    if (cli_one_file("model", "model", argc, usage))
        return CLI_USAGE;
    const char *path = argv[optind];
    /* before the summary, as the other commands check their outputs: a
       directory -o was refused only after it */
    if (out && cli_check_writable("model", out))
        return CLI_ERROR;
    attn_model_file_t mf;
    attn_model_init(&mf);
    coflow_learned_model_t m;
    /* the container for the format and the entries, then the learned
       policy's own checks on it: one read of the file */
    weft_err_t err = coflow_learned_model_read(&m, &mf, path);
    int rc = CLI_ERROR;
    if (err) {
        cli_report("model", err);
    } else {
        /* with -o the model may go to standard output (-o /dev/stdout):
           the summary then goes to standard error, as gen's and convert's */
        rc = describe(out ? stderr : stdout, path, &mf, &m);
        if (rc == CLI_OK && out) {
            err = attn_model_save(out, &mf);
            if (err) {
                cli_report("model", err);
                rc = CLI_ERROR;
            } else {
                fprintf(stderr, "written to %s, format version %d\n", out, ATTN_MODEL_VERSION);
            }
        }
    }
    coflow_learned_model_destroy(&m);
    attn_model_destroy(&mf);
    return rc;
}
