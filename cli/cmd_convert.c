/* cmd_convert.c - `weft convert` (placeholder until its module lands). */
#include <stdio.h>

#include "cli.h"

int cmd_convert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "weft convert: not built yet\n");
    return CLI_ERROR;
}
