/* version.c - the library's version string. */
#include "config.h"

#include <gridedge/gridedge.h>

const char *ge_version(void)
{
    return PACKAGE_VERSION;
}
