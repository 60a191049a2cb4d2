/* catalogue.h - the list of conformance cases of each suite (ID, title, notes), read from the
 * catalogue files conformance/catalogue/SUITE.tsv that are compiled into the program. */
#ifndef CONFORMANCE_CATALOGUE_H
#define CONFORMANCE_CATALOGUE_H

#include <stddef.h>

#define CF_ID_MAX 32
#define CF_TITLE_MAX 192
#define CF_NOTE_MAX 96
#define CF_WHY_MAX 192

typedef struct cf_case_info {
    char id[CF_ID_MAX];       /* as in the certification procedure, or GE-... for ours */
    char title[CF_TITLE_MAX];
    char note[CF_NOTE_MAX];   /* third column: classes, transport; may be empty */
    char unscripted[CF_WHY_MAX]; /* fourth column: why the suite has no script for it, or empty */
} cf_case_info_t;

typedef struct cf_catalogue {
    cf_case_info_t *cases;    /* malloc'd; cf_catalogue_free() */
    size_t n;
} cf_catalogue_t;

/* The suites, NULL-terminated: "csip", "csip-aus", "oadr20b", "oadr3". */
extern const char *const cf_suites[];

/* Non-zero when SUITE names a known suite. */
int cf_suite_known(const char *suite);

/* Parse catalogue TEXT (LEN bytes) named NAME.  Lines: "ID<TAB>TITLE[<TAB>NOTE[<TAB>WHY]]", where
 * WHY says why the case is not scripted (it then runs as SKIP with that reason); '#' lines and
 * blank lines are skipped.  On error returns a negative ge_err and writes "NAME:LINE: MESSAGE" to
 * ERR.  OUT is empty on error. */
int cf_catalogue_parse(const char *name, const char *text, size_t len, cf_catalogue_t *out, char *err,
                       size_t errlen);

/* The built-in catalogue of SUITE. */
int cf_catalogue_load(const char *suite, cf_catalogue_t *out, char *err, size_t errlen);

/* The case called ID, or NULL. */
const cf_case_info_t *cf_catalogue_find(const cf_catalogue_t *cat, const char *id);

void cf_catalogue_free(cf_catalogue_t *cat);

#endif
