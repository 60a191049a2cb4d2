/* cli.c - global flags, subcommand dispatch, help and version output. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gridedge/gridedge.h>

#include "cli.h"

const gw_command_t *gw_command_find(const char *name)
{
    for (const gw_command_t *c = gw_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out,
            "usage: gridedge [--version] [--help] SUBCOMMAND [ARGS...]\n"
            "\n"
            "gridedge connects distributed energy resources (PV, batteries, EV chargers) to utility\n"
            "programs over IEEE 2030.5 (CSIP, CSIP-AUS) and OpenADR.\n"
            "\n"
            "Subcommands:\n");
    for (const gw_command_t *c = gw_commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nRun `gridedge help SUBCOMMAND` for the options of one subcommand.\n");
}

int gw_usage_error(const gw_command_t *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "gridedge%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd)
        fprintf(stderr, "usage: %s", cmd->usage);
    else
        print_overview(stderr);
    return GW_EXIT_USAGE;
}

int gw_cmd_version(int argc, char **argv)
{
    if (argc > 1)
        return gw_usage_error(gw_command_find("version"), "unexpected argument '%s'", argv[1]);
    printf("gridedge %s (libgridedge %s)\n", PACKAGE_VERSION, ge_version());
    return GW_EXIT_OK;
}

int gw_cmd_help(int argc, char **argv)
{
    const gw_command_t *c;

    if (argc < 2) {
        print_overview(stdout);
        return GW_EXIT_OK;
    }
    if (argc > 2)
        return gw_usage_error(gw_command_find("help"), "unexpected argument '%s'", argv[2]);
    c = gw_command_find(argv[1]);
    if (!c)
        return gw_usage_error(NULL, "unknown subcommand '%s'", argv[1]);
    printf("usage: %s", c->usage);
    return GW_EXIT_OK;
}

int gw_main(int argc, char **argv)
{
    const gw_command_t *c;

    if (argc < 2)
        return gw_usage_error(NULL, "no subcommand given");
    /* Global flags stand alone before any subcommand. */
    if (argv[1][0] == '-') {
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
            return gw_cmd_version(1, argv);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            print_overview(stdout);
            return GW_EXIT_OK;
        }
        return gw_usage_error(NULL, "unknown option '%s'", argv[1]);
    }
    c = gw_command_find(argv[1]);
    if (!c)
        return gw_usage_error(NULL, "unknown subcommand '%s'", argv[1]);
    return c->run(argc - 1, argv + 1);
}
