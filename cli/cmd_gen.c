/* cmd_gen.c - `weft gen` (placeholder until its module lands). */
#include <stdio.h>

#include "cli.h"

int cmd_gen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "weft gen: not built yet\n");
    return CLI_ERROR;
}
