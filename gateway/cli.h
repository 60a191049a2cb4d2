/* cli.h - the gridedge program's subcommand table and the helpers every subcommand uses to
 * report usage errors the same way (usage on stderr, exit status 2). */
#ifndef GATEWAY_CLI_H
#define GATEWAY_CLI_H

/* Exit statuses shared by all subcommands. */
enum {
    GW_EXIT_OK = 0,
    GW_EXIT_FAIL = 1,  /* the command ran and failed (bad input, a failed check) */
    GW_EXIT_USAGE = 2  /* bad command line or configuration */
};

typedef struct gw_command {
    const char *name;
    const char *summary; /* one line for `gridedge --help` */
    const char *usage;   /* the full synopsis and options for `gridedge help NAME` */
    /* ARGV[0] is the subcommand's name; returns the process exit status. */
    int (*run)(int argc, char **argv);
} gw_command_t;

/* The table, ended by an entry with a NULL name.  Subcommands are added in gateway/commands.c. */
extern const gw_command_t gw_commands[];

const gw_command_t *gw_command_find(const char *name);

/* Print "gridedge NAME: MESSAGE" and the command's usage on stderr; returns GW_EXIT_USAGE. */
int gw_usage_error(const gw_command_t *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subcommand entry points, one per table entry. */
int gw_cmd_help(int argc, char **argv);
int gw_cmd_version(int argc, char **argv);
int gw_cmd_pki(int argc, char **argv);
int gw_cmd_conformance(int argc, char **argv);
int gw_cmd_sep(int argc, char **argv);
int gw_cmd_demo(int argc, char **argv);
int gw_cmd_gateway(int argc, char **argv);
int gw_cmd_xml(int argc, char **argv);
int gw_cmd_oadr(int argc, char **argv);

/* The program's dispatch: global flags, then the subcommand. */
int gw_main(int argc, char **argv);

#endif
