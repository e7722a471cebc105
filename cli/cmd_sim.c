/* cmd_sim.c - `weft sim` (placeholder until its module lands). */
#include <stdio.h>

#include "cli.h"

int cmd_sim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "weft sim: not built yet\n");
    return CLI_ERROR;
}
