/* cmd_conformance.c - `gridedge conformance list|run`: the conformance head-end's command line,
 * the per-case result lines, and the JSON and JUnit reports. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "conformance/headend.h"
#include "gateway/cli.h"
#include "gateway/daemon.h"

#define MAX_CASE_ARGS 512

static int parse_suite(const gw_command_t *cmd, const char *suite)
{
    if (!suite)
        return gw_usage_error(cmd, "--suite csip|csip-aus|oadr20b|oadr3 is required");
    if (!cf_suite_known(suite))
        return gw_usage_error(cmd, "unknown suite '%s'", suite);
    return 0;
}

static int conformance_list(const gw_command_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = { { "suite", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
    const char *suite = NULL;
    cf_catalogue_t cat;
    char err[256];
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 's')
            suite = optarg;
        else
            return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = parse_suite(cmd, suite)) != 0)
        return rc;
    if (cf_catalogue_load(suite, &cat, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge conformance: %s\n", err);
        return GW_EXIT_FAIL;
    }
    for (size_t i = 0; i < cat.n; i++)
        printf("%s\t%s\n", cat.cases[i].id, cat.cases[i].title);
    cf_catalogue_free(&cat);
    return GW_EXIT_OK;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

static const char *result_name(cf_result r)
{
    return r == CF_PASS ? "pass" : r == CF_FAIL ? "fail" : "skip";
}

typedef struct run_report {
    json_t *cases;
    FILE *junit_body; /* testcase elements, collected in memory */
    char *junit_buf;
    size_t junit_len;
} run_report_t;

static void report_case(run_report_t *rep, const char *suite, const cf_case_info_t *info, const cf_outcome_t *o)
{
    json_t *ev = NULL, *obj;

    if (o->evidence_json)
        ev = json_loads(o->evidence_json, 0, NULL);
    obj = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", info->id, "title", info->title, "result",
                    result_name(o->result), "detail", o->detail, "evidence", ev ? ev : json_array());
    if (obj)
        json_array_append_new(rep->cases, obj);
    if (rep->junit_body) {
        fprintf(rep->junit_body, "  <testcase classname=\"conformance.%s\" name=\"", suite);
        xml_escape(rep->junit_body, info->id);
        fputs(" ", rep->junit_body);
        xml_escape(rep->junit_body, info->title);
        fputs("\">", rep->junit_body);
        if (o->result == CF_FAIL) {
            fputs("<failure message=\"", rep->junit_body);
            xml_escape(rep->junit_body, o->detail);
            fputs("\"/>", rep->junit_body);
        } else if (o->result == CF_SKIP) {
            fputs("<skipped message=\"", rep->junit_body);
            xml_escape(rep->junit_body, o->detail);
            fputs("\"/>", rep->junit_body);
        }
        fputs("</testcase>\n", rep->junit_body);
    }
}

static int write_reports(run_report_t *rep, const char *suite, const char *json_path, const char *junit_path,
                         unsigned n_pass, unsigned n_fail, unsigned n_skip)
{
    int ok = 1;

    if (json_path) {
        json_t *root = json_pack("{s:s, s:O}", "suite", suite, "cases", rep->cases);
        if (!root || json_dump_file(root, json_path, JSON_INDENT(2)) < 0) {
            fprintf(stderr, "gridedge conformance: cannot write %s\n", json_path);
            ok = 0;
        }
        json_decref(root);
    }
    if (junit_path) {
        FILE *f = fopen(junit_path, "w");
        if (rep->junit_body)
            fflush(rep->junit_body);
        if (!f) {
            fprintf(stderr, "gridedge conformance: cannot write %s: %s\n", junit_path, strerror(errno));
            return 0;
        }
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<testsuite name=\"conformance.%s\" tests=\"%u\" failures=\"%u\" skipped=\"%u\">\n",
                suite, n_pass + n_fail + n_skip, n_fail, n_skip);
        if (rep->junit_buf)
            fwrite(rep->junit_buf, 1, rep->junit_len, f);
        fputs("</testsuite>\n", f);
        if (fclose(f) != 0)
            ok = 0;
    }
    return ok;
}

static int conformance_run(const gw_command_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        { "suite", required_argument, NULL, 's' },  { "case", required_argument, NULL, 'c' },
        { "report", required_argument, NULL, 'r' }, { "junit", required_argument, NULL, 'j' },
        { "case-dir", required_argument, NULL, 'd' }, { "work-dir", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 }
    };
    const char *suite = NULL, *report = NULL, *junit = NULL, *case_dir = NULL, *work_dir = NULL;
    const char *only[MAX_CASE_ARGS];
    size_t n_only = 0;
    char tmp_dir[] = "/tmp/gridedge-conformance-XXXXXX";
    cf_catalogue_t cat;
    run_report_t rep = { 0 };
    unsigned n_pass = 0, n_fail = 0, n_skip = 0;
    char err[256];
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 's': suite = optarg; break;
        case 'c':
            if (n_only == MAX_CASE_ARGS)
                return gw_usage_error(cmd, "too many --case options");
            only[n_only++] = optarg;
            break;
        case 'r': report = optarg; break;
        case 'j': junit = optarg; break;
        case 'd': case_dir = optarg; break;
        case 'w': work_dir = optarg; break;
        default: return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if ((rc = parse_suite(cmd, suite)) != 0)
        return rc;
    if (optind >= argc)
        return gw_usage_error(cmd, "run needs the client command after --");
    if (strcmp(argv[optind - 1], "--") != 0)
        return gw_usage_error(cmd, "put -- before the client command");
    if (cf_catalogue_load(suite, &cat, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge conformance: %s\n", err);
        return GW_EXIT_FAIL;
    }
    for (size_t i = 0; i < n_only; i++)
        if (!cf_catalogue_find(&cat, only[i])) {
            cf_catalogue_free(&cat);
            return gw_usage_error(cmd, "suite %s has no case '%s' (see `gridedge conformance list --suite %s`)",
                                  suite, only[i], suite);
        }
    if (!work_dir) {
        if (!mkdtemp(tmp_dir)) {
            fprintf(stderr, "gridedge conformance: cannot make a scratch directory: %s\n", strerror(errno));
            cf_catalogue_free(&cat);
            return GW_EXIT_FAIL;
        }
    } else if (mkdir(work_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "gridedge conformance: cannot make %s: %s\n", work_dir, strerror(errno));
        cf_catalogue_free(&cat);
        return GW_EXIT_FAIL;
    }
    rep.cases = json_array();
    if (junit)
        rep.junit_body = open_memstream(&rep.junit_buf, &rep.junit_len);

    cf_run_opts_t ro = { suite, argv + optind, work_dir ? work_dir : tmp_dir, 3.0, NULL };
    for (size_t i = 0; i < cat.n; i++) {
        const cf_case_info_t *info = &cat.cases[i];
        cf_outcome_t o = { 0 };
        int wanted = n_only == 0;

        for (size_t k = 0; k < n_only && !wanted; k++)
            wanted = strcmp(only[k], info->id) == 0;
        if (!wanted)
            continue;
        ge_arena_t *arena = NULL;
        cf_case_t cs;

        if (ge_arena_new(&arena, NULL, 0, 4u * 1024u * 1024u) < 0) {
            o.result = CF_FAIL;
            snprintf(o.detail, sizeof(o.detail), "out of memory");
        } else if ((rc = cf_case_load(suite, info->id, case_dir, arena, &cs, o.detail, sizeof(o.detail))) ==
                   GE_ERR_NOTFOUND) {
            o.result = CF_SKIP;
            snprintf(o.detail, sizeof(o.detail), "not scripted: %s",
                     info->unscripted[0] ? info->unscripted : "no script for this case yet");
        } else if (rc < 0) {
            o.result = CF_FAIL;
        } else {
            cf_run_case(&ro, info, &cs, &o);
        }
        ge_arena_free(arena);
        printf("%s %s %s%s%s\n", o.result == CF_PASS ? "PASS" : o.result == CF_FAIL ? "FAIL" : "SKIP", info->id,
               info->title, o.result == CF_PASS ? "" : ": ", o.result == CF_PASS ? "" : o.detail);
        fflush(stdout);
        n_pass += o.result == CF_PASS;
        n_fail += o.result == CF_FAIL;
        n_skip += o.result == CF_SKIP;
        report_case(&rep, suite, info, &o);
        cf_outcome_free(&o);
    }
    printf("conformance: %u passed, %u failed, %u skipped\n", n_pass, n_fail, n_skip);
    rc = write_reports(&rep, suite, report, junit, n_pass, n_fail, n_skip);
    if (rep.junit_body)
        fclose(rep.junit_body);
    free(rep.junit_buf);
    json_decref(rep.cases);
    cf_catalogue_free(&cat);
    if (!work_dir)
        gw_rm_tree(tmp_dir);
    if (!rc)
        return GW_EXIT_FAIL;
    return n_fail ? GW_EXIT_FAIL : GW_EXIT_OK;
}

int gw_cmd_conformance(int argc, char **argv)
{
    const gw_command_t *cmd = gw_command_find("conformance");

    if (argc < 2)
        return gw_usage_error(cmd, "missing action: list or run");
    if (strcmp(argv[1], "list") == 0)
        return conformance_list(cmd, argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return conformance_run(cmd, argc - 1, argv + 1);
    return gw_usage_error(cmd, "unknown action '%s'", argv[1]);
}
