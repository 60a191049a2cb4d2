/* main.c - the gridedge program's entry point. */
#include "config.h"

#include <signal.h>

#include "cli.h"

int main(int argc, char **argv)
{
    /* A peer that closes a connection must give an error return, not kill the program. */
    signal(SIGPIPE, SIG_IGN);
    return gw_main(argc, argv);
}
