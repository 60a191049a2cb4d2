/* caselib.c - find and parse the case files: built into the program (conformance/cases/SUITE/),
 * or from a directory the user names (`--case-dir`), with their `include`d fragments. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "gateway/embedded.h"

extern const gw_embedded_t gw_embedded_cases[];

/* The text of FILE (ID.case or NAME.inc): from CASE_DIR when given, else built in.  *TEXT is
 * malloc'd (then *OWNED is 1) or points into the program.  NAME gets the path for messages.
 * Returns 0, or GE_ERR_NOTFOUND when there is no such file. */
static int case_text(const char *case_dir, const char *suite, const char *file, char **text, size_t *len, int *owned,
                     char *name, size_t name_len)
{
    if (case_dir) {
        FILE *f;
        long n;
        snprintf(name, name_len, "%s/%s", case_dir, file);
        if (!(f = fopen(name, "rb")))
            return errno == ENOENT ? GE_ERR_NOTFOUND : GE_ERR_IO;
        if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (long)CF_CASE_MAX_BYTES || fseek(f, 0, SEEK_SET) < 0) {
            fclose(f);
            return GE_ERR_LIMIT;
        }
        *text = malloc((size_t)n + 1);
        if (!*text) {
            fclose(f);
            return GE_ERR_NOMEM;
        }
        *len = fread(*text, 1, (size_t)n, f);
        (*text)[*len] = '\0';
        fclose(f);
        *owned = 1;
        return 0;
    }
    {
        char key[256];
        const gw_embedded_t *e;
        snprintf(key, sizeof(key), "%s/%s", suite, file);
        snprintf(name, name_len, "conformance/cases/%s", key);
        e = gw_embedded_find(gw_embedded_cases, key);
        if (!e)
            return GE_ERR_NOTFOUND;
        *text = (char *)e->data;
        *len = e->len;
        *owned = 0;
        return 0;
    }
}

/* Fragments for `include NAME`: CASE_DIR/NAME.inc when there is a case dir and it has one, else
 * the built-in NAME.inc of the suite. */
typedef struct includes {
    const char *case_dir, *suite;
    char *loaded[16];
    size_t n_loaded;
} includes_t;

static int resolve_include(void *ud, const char *name, const char **text, size_t *len)
{
    includes_t *inc = ud;
    char file[128], path[700];
    int owned = 0, rc;
    char *t = NULL;

    if (strchr(name, '/') || strlen(name) > 100 || inc->n_loaded == sizeof(inc->loaded) / sizeof(inc->loaded[0]))
        return GE_ERR_NOTFOUND;
    snprintf(file, sizeof(file), "%s.inc", name);
    rc = case_text(inc->case_dir, inc->suite, file, &t, len, &owned, path, sizeof(path));
    /* a user's cases may build on our fragments */
    if (rc == GE_ERR_NOTFOUND && inc->case_dir)
        rc = case_text(NULL, inc->suite, file, &t, len, &owned, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (owned)
        inc->loaded[inc->n_loaded++] = t;
    *text = t;
    return 0;
}

int cf_case_load(const char *suite, const char *id, const char *case_dir, ge_arena_t *arena, cf_case_t *out,
                 char *err, size_t errlen)
{
    includes_t inc = { case_dir, suite, { NULL }, 0 };
    char file[64], name[700];
    char *text = NULL;
    size_t len = 0;
    int owned = 0, rc;

    if (strlen(id) >= CF_ID_MAX || strchr(id, '/'))
        return GE_ERR_NOTFOUND;
    snprintf(file, sizeof(file), "%s.case", id);
    rc = case_text(case_dir, suite, file, &text, &len, &owned, name, sizeof(name));
    if (rc == GE_ERR_NOTFOUND)
        return rc;
    if (rc < 0) {
        snprintf(err, errlen, "%s: error: cannot read: %s", name, ge_strerror(rc));
        return rc;
    }
    rc = cf_case_parse(name, text, len, arena, resolve_include, &inc, out, err, errlen);
    if (rc == 0 && strcmp(out->id, id) != 0) {
        snprintf(err, errlen, "%s: error: says 'case %s', not %s", name, out->id, id);
        rc = GE_ERR_PARSE;
    }
    for (size_t k = 0; k < inc.n_loaded; k++)
        free(inc.loaded[k]);
    if (owned)
        free(text);
    return rc;
}
