/*
 * cmd_version.c - `weft version` (also `weft --version`, `-V`): weft's
 * version and git commit, the file and wire formats it reads and writes,
 * and the versions of the libraries it runs with, as loaded (not as
 * compiled against): what a bug report needs.
 */
#include <cblas.h>
#include <event2/event.h>
#include <glpk.h>
#include <igraph/igraph_version.h>
#include <jansson.h>
#include <msgpack.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "attention/attn.h"
#include "cli.h"
#include "rpc/gateway.h"
#include "rpc/rpc.h"
#include "weft_version.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: weft version   (or weft --version, weft -V)\n\n"
               "Prints weft's version and git commit, the formats it reads and writes,\n"
               "and the versions of the libraries it runs with.\n\n"
               "options:\n"
               "  -h, --help          this text\n");
        return CLI_OK;
    }
    if (argc > 1) { /* an option is called one, as by the other commands */
        fprintf(stderr, "weft version: %s '%s'\n",
                argv[1][0] == '-' && argv[1][1] ? "unknown option" : "unexpected argument",
                argv[1]);
        return CLI_USAGE;
    }
    const char *igraph = NULL;
    int major, minor, patch;
    igraph_version(&igraph, &major, &minor, &patch);
    printf("weft %s\n", WEFT_BUILD);
    printf("formats: workload 1, model %d (reads versions %d to %d), gateway protocol %d, "
           "gateway journal %d (reads 1 to %d), agent data acks %d\n",
           ATTN_MODEL_VERSION, ATTN_MODEL_VERSION_MIN, ATTN_MODEL_VERSION, RPC_PROTOCOL_VERSION,
           RPC_JOURNAL_FORMAT, RPC_JOURNAL_FORMAT, RPC_DATA_ACKS);
    printf("libraries: igraph %s, %s (kernels %s), libevent %s, msgpack-c %s, "
           "%s, Jansson %s, GLPK %s\n",
           igraph, openblas_get_config(), openblas_get_corename(), event_get_version(),
           msgpack_version(), OpenSSL_version(OPENSSL_VERSION), jansson_version_str(),
           glp_version());
    return CLI_OK;
}
