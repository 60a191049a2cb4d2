/* main.c - the gridedge program's entry point. */
#include "config.h"

#include "cli.h"

int main(int argc, char **argv)
{
    return gw_main(argc, argv);
}
