/* commands.c - the table of subcommands.  A new subcommand adds its entry here and its
 * implementation in a file of its own under gateway/. */
#include "config.h"

#include <stddef.h>

#include "cli.h"

const gw_command_t gw_commands[] = {
    { "help", "show help for a subcommand",
      "gridedge help [SUBCOMMAND]\n"
      "    Without SUBCOMMAND, list the subcommands; with it, show its usage.\n",
      gw_cmd_help },
    { "version", "print the program and library versions",
      "gridedge version\n"
      "    Same as `gridedge --version`.\n",
      gw_cmd_version },
    { NULL, NULL, NULL, NULL }
};
