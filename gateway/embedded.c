/* embedded.c - lookup in the tables that gateway/embed_files.py generates. */
#include "config.h"

#include <string.h>

#include "gateway/embedded.h"

const gw_embedded_t *gw_embedded_find(const gw_embedded_t *table, const char *name)
{
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}
