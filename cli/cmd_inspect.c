/* cmd_inspect.c - `weft inspect` (placeholder until its module lands). */
#include <stdio.h>

#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "weft inspect: not built yet\n");
    return CLI_ERROR;
}
