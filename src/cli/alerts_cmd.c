/* alerts_cmd.c — placeholder until the owning issue lands; replaced whole by it. */
#include "cli/commands.h"

#include <stdio.h>

int cmd_alerts(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "maillog %s: not built yet\n", argv[0]);
    return 1;
}
