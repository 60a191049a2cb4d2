# gateway: the gridedge program.
gridedge_SOURCES += gateway/main.c gateway/cli.c gateway/cli.h gateway/commands.c
