/* test_xml_common.c - see test_xml_common.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_xml_common.h"

const char *txml_srcdir(void)
{
    const char *s = getenv("GE_SRCDIR");
    return s && *s ? s : GE_SRCDIR;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *txml_schemas_dir(void)
{
    static char buf[4096];
    const char *env = getenv("GE_SHARED_SCHEMAS");

    if (env && *env && is_dir(env))
        return env;
    snprintf(buf, sizeof(buf), "%s/../shared/schemas", txml_srcdir());
    if (is_dir(buf))
        return buf;
    return NULL;
}

char *txml_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[n] = '\0';
            if (len)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

char *txml_read_data(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/data/xml/%s", txml_srcdir(), name);
    return txml_read_file(path, len);
}
